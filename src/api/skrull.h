/*
 * skrull.h: libskrull, the public C API of the skrull scheduler
 * (libskrull(3)).  Build a job, plan one global batch from an array of
 * sample lengths with any policy, walk the plan (per DP rank its
 * micro-batches, per micro-batch its samples and their placement), read,
 * write and validate plan files (skrull-plan(5)), simulate a plan and get
 * its report.
 *
 * Conventions: every function that can fail returns an int, SKRULL_OK (0)
 * or a code of enum skrull_err, and records a one-line message naming the
 * file, place and problem, which skrull_last_error() returns on the same
 * thread.  Results come back through pointer arguments.  Nothing prints,
 * nothing exits.  Handles are opaque; each *_free accepts NULL.  Lengths
 * are in tokens, times in seconds, memory in bytes.
 *
 * Compatibility: the shared library's soname is libskrull.so.MAJOR.  The
 * major version changes only when an existing function's signature or
 * meaning changes, or a struct of this header changes its layout;
 * additions (functions, enum values at the end) bump the minor; fixes bump
 * the patch.  A program built against MAJOR.MINOR runs with any library of
 * the same MAJOR and a MINOR at least as large.
 */
#ifndef SKRULL_H
#define SKRULL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SKRULL_VERSION_MAJOR 0
#define SKRULL_VERSION_MINOR 1
#define SKRULL_VERSION_PATCH 0

/* The library's version at run time, "MAJOR.MINOR.PATCH"; *major, *minor
 * and *patch receive its parts unless NULL. */
const char *skrull_version(int *major, int *minor, int *patch);

/* ---- errors ---- */

enum skrull_err {
	SKRULL_OK = 0,
	SKRULL_ERR_IO,          /* a file could not be opened, read or written */
	SKRULL_ERR_FORMAT,      /* an input is malformed for its format */
	SKRULL_ERR_RANGE,       /* a value lies outside its allowed range */
	SKRULL_ERR_NOMEM,       /* an allocation failed */
	SKRULL_ERR_ARG,         /* an argument is invalid (NULL, unknown name) */
	SKRULL_ERR_UNSUPPORTED  /* a well-formed input uses a missing feature */
};

/* The message of this thread's last failure ("" when none), valid until
 * the thread's next call into the library. */
const char *skrull_last_error(void);

/* A short name of a code: "ok", "io", "format", "range", "nomem", "arg",
 * "unsupported"; "unknown" for anything else. */
const char *skrull_strerror(int code);

/* Release memory the library returned (skrull_report_json's text). */
void skrull_free(void *p);

/* ---- jobs: model, cluster, layout, memory, schedule (skrull_job(3)) ---- */

typedef struct skrull_job skrull_job;

/* The defaults (skrull-job(5)): Qwen2.5-0.5B on 4 x 8 H100, DP 4, CP 8,
 * batch 64, ZeRO-2, selective recompute, bf16, BucketSize auto, policy
 * "skrull" with its knobs' defaults. */
int skrull_job_new(skrull_job **out);
/* A job file (skrull-job(5)); its schedule, if any, becomes the job's
 * policy and knobs. */
int skrull_job_read(const char *path, skrull_job **out);
/* The job as skrull-job(5) JSON, with its schedule; atomic. */
int skrull_job_write(const skrull_job *job, const char *path);
void skrull_job_free(skrull_job *job);

/* A model or cluster preset by name or alias ("qwen2.5-7b", "h100"), or a
 * JSON file's path (skrull-job(5)). */
int skrull_job_set_model(skrull_job *job, const char *name_or_path);
int skrull_job_set_cluster(skrull_job *job, const char *name_or_path);
/* The cluster's shape: nodes x gpus_per_node GPUs. */
int skrull_job_set_nodes(skrull_job *job, int nodes, int gpus_per_node);
/* DP x CP degrees; their product must be the cluster's GPUs when planning. */
int skrull_job_set_layout(skrull_job *job, int dp, int cp);
/* Samples per DP rank per global batch (global batch: dp x batch). */
int skrull_job_set_batch(skrull_job *job, int batch);
/* BucketSize C, tokens of activations per GPU; 0: derived from memory. */
int skrull_job_set_bucket(skrull_job *job, uint32_t tokens);
/* ZeRO stage 0..3. */
int skrull_job_set_zero(skrull_job *job, int stage);
/* "none", "selective" or "full". */
int skrull_job_set_recompute(skrull_job *job, const char *name);
/* "bf16", "fp16" or "fp32". */
int skrull_job_set_precision(skrull_job *job, const char *name);
/* The policy, a name of `skrull plan -h` ("skrull", "dacp", "wlb", ...). */
int skrull_job_set_policy(skrull_job *job, const char *name);
/* A policy knob by name, its value as text ("rollback", "off"); as the
 * option --NAME of skrull-plan(1). */
int skrull_job_set_knob(skrull_job *job, const char *name, const char *value);

/* The layout and the BucketSize planning uses (resolved when auto), after
 * the same checks as planning; each pointer may be NULL. */
int skrull_job_layout(const skrull_job *job, int *dp, int *cp, int *batch,
                      uint32_t *bucket);

/* ---- plans (skrull_plan(3)) ---- */

typedef struct skrull_plan skrull_plan;

/*
 * Plan one global batch: n = dp x batch samples of lengths[i] tokens
 * (1 .. 2^31 - 1; 0 is refused naming its index) with the job's policy
 * and knobs, exactly as `skrull plan` plans a trace holding those lengths
 * (samples the policy cannot place are an error, unless the job's
 * drop-overlong knob is on).  trace_name, NULL for none, is recorded as the
 * plan's trace path.
 */
int skrull_plan_batch(const skrull_job *job, const uint32_t *lengths,
                      size_t n, const char *trace_name, skrull_plan **out);
/* A plan file (skrull-plan(5), version 1 or 2), structure checked. */
int skrull_plan_read(const char *path, skrull_plan **out);
/* Version 2, atomic: the file is whole or not written. */
int skrull_plan_write(const skrull_plan *plan, const char *path);
/* The schedule's checks (each sample once in its global batch, groups
 * aligned, memory per rank within BucketSize); SKRULL_ERR_FORMAT naming
 * the iteration, DP rank, micro-batch and sample. */
int skrull_plan_validate(const skrull_plan *plan);
void skrull_plan_free(skrull_plan *plan);

/* The plan's shape: iterations (global batches), DP and CP degrees. */
int skrull_plan_shape(const skrull_plan *plan, size_t *iterations, int *dp,
                      int *cp);

/* A micro-batch as one DP rank runs it. */
struct skrull_mb {
	uint64_t id;       /* the plan's index of it, for skrull_plan_sample */
	uint32_t nsamples; /* samples, >= 1 */
	int32_t owner;     /* the DP rank listing it */
	int32_t span;      /* DP ranks it covers: owner .. owner + span - 1 */
	int32_t width;     /* its ranks, span x cp, numbered 0 .. width - 1 */
	int32_t offset;    /* the number of this DP rank's CP rank 0 in it:
	                      CP rank c of this DP rank is rank offset + c */
};

enum skrull_place {
	SKRULL_WHOLE = 0,   /* whole on rank first of the micro-batch */
	SKRULL_SHARDED = 1  /* sharded over ranks first .. first + size - 1 */
};

/* A sample of a micro-batch and where it is placed. */
struct skrull_sample {
	uint32_t index;   /* its position in the input array (trace) */
	uint32_t length;  /* tokens */
	int32_t place;    /* enum skrull_place */
	int32_t first;    /* the micro-batch's rank holding it whole, or its
	                     shard group's first rank */
	int32_t size;     /* 1 (whole), or the shard group's ranks (a
	                     divisor of width, first a multiple of it) */
};

/* The micro-batches DP rank dp_rank runs in iteration iter, in the order
 * it runs them (those spanning it first, then its own). */
int skrull_plan_mb_count(const skrull_plan *plan, size_t iter, int dp_rank,
                         size_t *count);
int skrull_plan_mb(const skrull_plan *plan, size_t iter, int dp_rank,
                   size_t i, struct skrull_mb *out);
/* Sample k (0 .. nsamples - 1) of the micro-batch with id mb_id. */
int skrull_plan_sample(const skrull_plan *plan, uint64_t mb_id, size_t k,
                       struct skrull_sample *out);

/* ---- simulation and its report (skrull_report(3)) ---- */

typedef struct skrull_report skrull_report;

/* Simulate every iteration of the plan on its job's cluster model
 * (skrull-sim(1)); threads 0: the online CPUs.  The result does not
 * depend on threads. */
int skrull_simulate(const skrull_plan *plan, int threads,
                    skrull_report **out);
void skrull_report_free(skrull_report *report);

/* The aggregates (skrull(7) defines each). */
struct skrull_summary {
	uint64_t iterations;  /* iterations simulated */
	uint64_t ooms;        /* (iteration, GPU) pairs over memory */
	double mean;          /* mean iteration time, s */
	double p50, p99;      /* iteration time quantiles, s */
	double bound;         /* mean of the iterations' bounds, s */
	double tokens_per_s;  /* tokens per second of the whole run */
	double mfu;           /* model FLOPs utilisation, 0..1 */
	double peak_max;      /* largest peak memory of a GPU, bytes */
};
int skrull_report_summary(const skrull_report *report,
                          struct skrull_summary *out);
/* Iteration i's time and bound, s. */
int skrull_report_iteration(const skrull_report *report, size_t i,
                            double *time, double *bound);
/* The report as the JSON object `skrull sim --json` prints (less its
 * "dropped") (per GPU rows when per_gpu);
 * release it with skrull_free. */
int skrull_report_json(const skrull_report *report, int per_gpu,
                       char **text);

#ifdef __cplusplus
}
#endif

#endif
