/*
 * profile: a calibration profile (skrull-profile(5)), what `skrull
 * calibrate` measured on one device kind and the simulator's cost curves
 * fitted to it.  `--profile FILE` applies one over a job's cluster
 * (profile_apply) in place of the preset's datasheet figures and
 * published efficiencies.
 *
 * Contents: the device (name, backend, count, element type measured); the
 * peak FLOP/s and HBM bandwidth the efficiencies are fractions of, and
 * the efficiencies themselves (struct cluster_eff); the collective table
 * when two or more devices were measured (struct coll_table; all-to-all
 * is not measured); the fits (parameters, standard errors, residual RMS);
 * the raw measurements, so that a user can refit or plot them.
 *
 * "Peak" is the reference the fractions are of: a cluster preset's
 * datasheet figure when calibrate was given one (--cluster), else the
 * fitted asymptote itself: the larger of the GEMM and attention
 * asymptotes for FLOP/s (so that fraction is 1), the measured copy
 * bandwidth for HBM (mem_eff 1).  A CPU profile always uses the latter.
 *
 * Ownership: a struct profile owns its measurement array; profile_init
 * before use, profile_free after.  Units: FLOP/s, bytes, bytes/s,
 * seconds, tokens.
 */
#ifndef SKRULL_PROFILE_H
#define SKRULL_PROFILE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "cluster.h"
#include "model.h"

/* Version 2 added "shape"; version 1 is still read. */
#define PROFILE_VERSION 2
#define PROFILE_NAME_MAX 64

/* What a raw measurement timed. */
enum profile_kind {
	PROF_GEMM = 0,       /* x: tokens (rows); work: FLOPs */
	PROF_ATTN_FWD,       /* x: key length, tokens; work: FLOPs */
	PROF_ATTN_BWD,       /* x: key length; work: FLOPs (2.5 x forward) */
	PROF_LAUNCH,         /* x: ops timed together; work: 0 */
	PROF_COPY,           /* x: bytes copied; work: bytes moved (2 x) */
	PROF_ALLGATHER,      /* x, work: nccl-tests size, bytes */
	PROF_REDUCESCATTER,
	PROF_ALLREDUCE,
	PROF_NKINDS
};

struct profile_meas {
	enum profile_kind kind;
	char shape[16];  /* GEMM: "qkv", "o", "gate_up", "down"; else "" */
	double x;        /* the curve's abscissa, units by kind */
	double work;     /* FLOPs or bytes, units by kind */
	double sec;      /* median seconds of one operation */
};

/* The fits: throughput(x) = P x / (x + h), by weighted least squares on
 * relative residuals.  "attn" is forward and backward together (the
 * curve the simulator uses for both); the others are reported only. */
enum profile_fit_id {
	PROF_FIT_GEMM = 0, PROF_FIT_ATTN, PROF_FIT_ATTN_FWD, PROF_FIT_ATTN_BWD,
	PROF_NFITS
};

struct profile_fit {
	int n;          /* points fitted; 0: no fit recorded */
	double P, P_se; /* asymptote and its standard error, FLOP/s */
	double h, h_se; /* half-throughput abscissa and its standard error,
	                   tokens */
	double rms;     /* root mean square of (fit - measured) / measured */
};

struct profile {
	char device[PROFILE_NAME_MAX];   /* "cpu", "NVIDIA H200", ... */
	char backend[16];                /* "cpu" or "cuda" */
	int count;                       /* devices measured (>= 1) */
	char dtype[16];                  /* element type measured: "fp32" */
	char model[PROFILE_NAME_MAX];    /* model whose shapes were measured */
	struct model shape;              /* its dimensions as measured (a
	                                    scaled-down model's, with the
	                                    shape options) */
	int shape_known;                 /* shape is set (0: a version 1
	                                    profile, or none recorded) */
	double peak_flops;               /* FLOP/s, the reference of eff */
	double hbm_bw;                   /* bytes/s, the reference of mem_eff */
	struct cluster_eff eff;
	struct coll_table coll;          /* n = 0: none; alltoall unused */
	struct profile_fit fit[PROF_NFITS];
	struct profile_meas *meas;       /* raw measurements, owned */
	size_t nmeas, cap_meas;
};

void profile_init(struct profile *p);
void profile_free(struct profile *p);

/* Append a measurement (the array grows); SK_ERR_NOMEM. */
int profile_add(struct profile *p, enum profile_kind kind, const char *shape,
                double x, double work, double sec);

/*
 * Check p; where names it in messages ("prof.json").  Errors name the JSON
 * path: non-positive or non-finite values, fractions outside (0, 1], a
 * collective table whose bytes are not strictly ascending or whose latency
 * falls as the size grows, a group below 2, more rows than
 * CLUSTER_COLL_MAX.  SK_ERR_RANGE.
 */
int profile_validate(const struct profile *p, const char *where);

/* Read and validate a profile file ("-": standard input; gzip allowed).
 * A wrong format or version, a missing or unknown member is SK_ERR_FORMAT
 * naming the file and path.  *p is replaced only on success. */
int profile_read(const char *path, struct profile *p);

/* The JSON object of skrull-profile(5); write it atomically to path. */
int profile_to_json(const struct profile *p, cJSON *obj);
int profile_write(const char *path, const struct profile *p);

/* Whether the profile was measured at model m's shape: 1 yes, 0 no, -1
 * not known (no shape recorded). */
int profile_shape_matches(const struct profile *p, const struct model *m);

/*
 * Replace c's gpu.peak_flops, gpu.hbm_bw and eff with the profile's and,
 * when the profile has a collective table, c's table (all-to-all taken as
 * the all-gather's latency, the same bytes per rank on a ring).  The
 * GPU's name becomes "NAME (profile)"; memory, nodes and links are kept.
 */
void profile_apply(const struct profile *p, struct cluster *c);

const char *profile_kind_name(enum profile_kind k);
const char *profile_fit_name(enum profile_fit_id f);

#endif
