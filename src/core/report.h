/*
 * report: the metrics of a run, simulated or measured, in one schema, so
 * that a simulated and a measured run of one plan compare line by line.
 * Every metric is defined in skrull(7) and computed here only.
 *
 * Per iteration and GPU: wall time and its breakdown into compute busy,
 * exposed communication (a communication stream, the shard groups' or the
 * DP collectives', busy while the compute stream idles) and waiting
 * (every stream idle: imbalance and dependencies), which add up to the
 * iteration time; FLOPs done; peak memory.
 * Aggregates (report_finish): mean, p50, p95, p99 iteration time; tokens/s;
 * MFU; the ideal (every FLOP at the best GEMM efficiency) and the bound
 * (the best possible iteration, ops.h) with the distance from each; OOM
 * count.
 *
 * Units: seconds, FLOPs, bytes, tokens.
 */
#ifndef SKRULL_REPORT_H
#define SKRULL_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "job.h"
#include "model.h"

/* Version 2 added "model"; version 1 is still read. */
#define REPORT_VERSION 2

struct report_cell {       /* one GPU in one iteration */
	double busy;           /* compute stream busy, s */
	double comm;           /* exposed communication, s */
	double wait;           /* neither: waiting, s */
	double flops;          /* FLOPs executed (with recompute) */
	double peak;           /* peak memory, bytes */
};

struct report_oom {
	size_t iter;           /* iteration index in the plan */
	int gpu;               /* global GPU index: dp rank x cp + cp rank */
	double need, avail;    /* bytes */
};

struct report {
	char source[8];        /* "sim" or "run" */
	char comm[8];          /* the communicator of a run: "mpi", "loop",
	                          "nccl"; "" when none was named (simulations,
	                          older reports) */
	int emulated;          /* 1 when the communication was emulated (the
	                          loopback communicator: ranks as threads of
	                          one process, copies in memory), else 0 */
	struct model model;    /* the model's shape as simulated or run (a
	                          scaled-down run's, not its plan's) */
	int model_known;       /* model is set: report_finish, or read from
	                          a version 2 report (0 for version 1) */
	int ngpus;
	size_t niter;          /* iterations reported */
	size_t first;          /* plan index of the first one */
	double *time;          /* niter: iteration time, s */
	uint64_t *tokens;      /* niter: tokens trained */
	double *model_flops;   /* niter: model FLOPs (forward + backward, no
	                          recompute) of the iteration's samples */
	double *bounds;        /* niter: the best possible iteration time at
	                          the job's layout (ops_bound_sec), s; 0 when
	                          not known (report_bounds not called, or an
	                          older report read back) */
	struct report_cell *cell;   /* niter x ngpus, row-major by iteration */
	struct report_oom *oom;
	size_t noom, cap_oom;
	/* aggregates, filled by report_finish */
	double mean, p50, p95, p99;     /* iteration time, s */
	double total;                   /* sum of iteration times, s */
	double tokens_per_s;
	double mfu;                     /* model FLOPs / (total x GPUs x peak) */
	double ideal;                   /* mean ideal iteration time, s */
	double ideal_ratio;             /* mean / ideal */
	double bound;                   /* mean of the iterations' bounds, s */
	double bound_ratio;             /* mean / bound, 0 when bound is 0 */
	double peak_max;                /* largest peak memory, bytes */
	double busy_frac, comm_frac, wait_frac;  /* shares of GPU time */
};

void report_init(struct report *r);
int report_alloc(struct report *r, const char *source, int ngpus,
                 size_t first, size_t niter);
void report_free(struct report *r);

static inline struct report_cell *
report_cell(struct report *r, size_t it, int gpu)
{
	return &r->cell[it * (size_t)r->ngpus + (size_t)gpu];
}

/* Record an OOM (thread-safe only if callers serialise; sim does). */
int report_add_oom(struct report *r, size_t iter, int gpu, double need,
                   double avail);

/* The bound of each reported iteration of plan p (ops_bound_sec over the
 * samples of its global batch, with the plan's job), before
 * report_finish.  SK_ERR_FORMAT when r's iterations are not the plan's. */
struct plan;
int report_bounds(struct report *r, const struct plan *p);

/* Aggregates from the per-iteration data and the job (peak FLOP/s, GPU
 * count, best efficiency cluster.eff.gemm_max for the ideal bound); the
 * job's model becomes the report's. */
int report_finish(struct report *r, const struct job *j);

/* JSON: {"format":"skrull-report","version":2,"source":...,
 * "model":{skrull-job(5)'s model object} (when model_known),
 * "communication":{"communicator","emulated"} (when comm is not ""),
 * "summary":{...},
 * "iterations":[{"index","time","tokens","bound","gpus":[{busy,comm,wait,flops,
 * peak}] (when per_gpu)}], "ooms":[...]}. */
int report_to_json(const struct report *r, cJSON *obj, int per_gpu);

/* Read a report file (skrull-report JSON, version 1 or 2): source,
 * communication (optional: older reports lack it), the model (version 2;
 * model_known 0 for version 1), summary aggregates and per-iteration times and
 * tokens; per-GPU rows and OOMs are not read. */
int report_read(const char *path, struct report *r);

#endif
