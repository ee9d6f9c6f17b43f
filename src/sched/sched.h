/*
 * sched: the scheduling policies.  A policy turns one global batch into
 * micro-batches per DP rank with a placement per sample and appends them to
 * a plan.  Policies are chosen by name from one table (sched_policies);
 * their knobs are listed in one table (sched_knobs) that drives option
 * parsing, `skrull plan -h`, the man page's list and the plan's record of
 * parameters.
 *
 * Planning allocates only in sched_ws_new(): the inner loops use the
 * workspace.  Nothing is printed.
 */
#ifndef SKRULL_SCHED_H
#define SKRULL_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "job.h"
#include "plan.h"
#include "trace.h"

enum sched_binpack { BINPACK_LPT = 0, BINPACK_NONE };      /* GDS DP assignment */
enum sched_interleave { INTERLEAVE_STRIDED = 0, INTERLEAVE_BLOCKED };
enum sched_flops { FLOPS_PAPER = 0, FLOPS_EXACT };        /* FLOPs estimate used */
enum sched_order { ORDER_DATASET = 0, ORDER_SHUFFLE };     /* global batches */

/* Scheduler parameters: every field is a knob of sched_knobs. */
struct sched_params {
	uint64_t mb_tokens;   /* baselines: micro-batch token budget; 0 = bucket x cp */
	int mb_samples;       /* baselines: samples per micro-batch; 0 = pack by tokens */
	int rollback;         /* DACP/RR roll-back on (1) or off (0) */
	enum sched_binpack binpack;
	enum sched_interleave interleave;
	enum sched_flops flops;
	enum sched_order order;
	uint64_t seed;        /* shuffle and sorted-batching runs */
	int drop_last;        /* drop the last partial global batch */
	int drop_overlong;    /* drop samples longer than the policy can place
	                         (sched_policy.reach), counted */
	uint64_t outlier_delay;  /* WLB-LLM's outlier delay: samples longer
	                            than this many tokens wait for dp of them
	                            (the batcher); 0 = off */
	int opt_ms;           /* optimal: time limit per micro-batch, ms; 0 = none */
};

void sched_params_default(struct sched_params *p);

/* ---- the knob table ---- */

enum knob_type { KNOB_UINT, KNOB_BOOL, KNOB_ENUM };

struct sched_knob {
	const char *name;     /* option name without "--" */
	enum knob_type type;
	const char *deflt;    /* default, as text */
	uint64_t lo, hi;      /* KNOB_UINT range */
	const char *const *choices;  /* KNOB_ENUM: NULL-terminated names */
	size_t offset;        /* of the field in struct sched_params */
	const char *help;     /* one line */
	size_t size;          /* of the field: sizeof (int), or sizeof
	                         (uint64_t) for a KNOB_UINT that needs it */
};

extern const struct sched_knob sched_knobs[];
extern const size_t sched_nknobs;

/* Set knob k from text (CLI or plan file); SK_ERR_ARG naming the knob and
 * its allowed values or range. */
int sched_knob_set(struct sched_params *p, const struct sched_knob *k,
                   const char *text);
const struct sched_knob *sched_knob_find(const char *name);
/* The value of knob k in p as sched_knob_set reads it back ("on", "lpt",
 * "4096"); SK_ERR_RANGE if it does not fit n bytes. */
int sched_knob_text(const struct sched_params *p, const struct sched_knob *k,
                    char *buf, size_t n);
/* Record every knob's value in the plan (plan_param). */
int sched_params_record(const struct sched_params *p, struct plan *pl);

/* ---- policies ---- */

struct sched_ws;  /* workspace, opaque */

/* How the batcher forms a policy's global batches from the kept samples. */
enum sched_batching {
	BATCHING_ORDER = 0,  /* consecutive runs in dataset order, or seeded
	                        shuffle order (knob order) */
	BATCHING_SORTED      /* LongAlign's sorted batching: runs of the
	                        length-sorted samples in seeded random order */
};

/* The longest sample a policy can place. */
enum sched_reach {
	REACH_CP = 0,  /* what its CP group holds: bucket x cp */
	REACH_MESH     /* what the whole dp x cp mesh holds, bucket x cp x dp,
	                  through micro-batches spanning DP ranks */
};

struct sched_policy {
	const char *name;
	const char *summary;  /* one line */
	enum sched_batching batching;
	enum sched_reach reach;
	/* Schedule one global batch: n samples (trace indices idx[], lengths
	 * len[]) into the plan (plan_iter_begin already done by the caller). */
	int (*run)(struct sched_ws *ws, const uint32_t *idx, const uint32_t *len,
	           size_t n, struct plan *out);
};

/* The table holds pointers: each policy file defines its own struct. */
extern const struct sched_policy *const sched_policies[];
extern const size_t sched_npolicies;
const struct sched_policy *sched_policy_find(const char *name);

/* Workspace for global batches of up to max_batch samples. */
struct sched_ws *sched_ws_new(const struct job *j, const struct sched_params *p,
                              size_t max_batch);
void sched_ws_free(struct sched_ws *ws);

/*
 * Plan a whole trace: cut it into global batches of dp x batch samples
 * as the policy's batching says (dataset order or seeded shuffle, then
 * WLB-LLM's outlier delay when outlier_delay is set; or LongAlign's sorted
 * batching), drop or keep the last partial batch, drop samples longer
 * than the policy's reach if asked (else SK_ERR_RANGE naming the first),
 * and run the policy on each.
 * The plan gets the job, the policy name, the parameters and the trace.
 * out must be initialised (plan_init); it is replaced, and left empty on
 * failure.
 */
int sched_plan(const struct job *j, const struct sched_params *p,
               const char *policy, const struct trace *t, const char *trace_path,
               struct plan *out);

/* sched_plan, calling progress (unless NULL) with ctx after each global
 * batch planned: done batches of total, on the calling thread. */
int sched_plan_progress(const struct job *j, const struct sched_params *p,
                        const char *policy, const struct trace *t,
                        const char *trace_path, struct plan *out,
                        void (*progress)(void *ctx, size_t done,
                                         size_t total),
                        void *ctx);

#endif
