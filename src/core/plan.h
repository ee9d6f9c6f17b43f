/*
 * plan: a schedule as data.  For every iteration (one global batch), every
 * DP rank, every micro-batch: the samples (index into the trace, length)
 * and each sample's placement: whole on one rank of the micro-batch, or
 * sharded over a shard group of its ranks.  The simulator and the
 * executors consume it; skrull-plan(5) documents its versioned JSON form.
 *
 * The ranks of a micro-batch: a micro-batch of DP rank d spans `span`
 * DP ranks, d .. d + span - 1 (1: its own CP group), and its W = span x cp
 * ranks are numbered q = 0 .. W - 1, GPU d x cp + q (CP innermost).  A
 * shard group is the aligned block [first, first + size) of them, size
 * >= 2 dividing W and first a multiple of size.  A micro-batch that spans
 * several DP ranks (the ByteScale mesh) is listed under its first DP rank,
 * before that rank's own micro-batches; in an iteration every DP rank runs
 * first the spanning micro-batches that cover it, in the order of the DP
 * rank listing them and their position there, then its own
 * (plan_rank_mbs).
 *
 * Storage is flat, so building a plan allocates only in plan_reserve():
 *   ranks[it * dp + d]  -> a run of micro-batches in mbs[]
 *   mbs[m]              -> a run of samples in samples[]
 * Iterations, ranks and micro-batches are appended in order with
 * plan_iter_begin / plan_rank_begin / plan_mb_begin / plan_push.
 *
 * Ownership: a plan owns its arrays; plan_free() releases them.
 */
#ifndef SKRULL_PLAN_H
#define SKRULL_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "job.h"
#include "trace.h"

#define PLAN_VERSION 2         /* written; 1 and 2 are read */
#define PLAN_SHARDED (-1)      /* placement: sharded over a shard group */
#define PLAN_POLICY_MAX 32
#define PLAN_PARAMS_MAX 24

struct plan_sample {
	uint32_t index;  /* position in the trace, 0-based */
	uint32_t len;    /* tokens */
	int32_t place;   /* PLAN_SHARDED, or the rank q (0..W-1) of its
	                    micro-batch holding it whole */
	uint16_t first;  /* PLAN_SHARDED: its shard group, ranks [first, */
	uint16_t size;   /* first + size) of the micro-batch; else q, 1 */
};

struct plan_mb {
	size_t first;  /* into samples[] */
	size_t n;      /* samples in this micro-batch, >= 1 */
	int span;      /* DP ranks it spans from the one listing it, >= 1 */
};

struct plan_rank {
	size_t first;  /* into mbs[] */
	size_t n;      /* micro-batches of this DP rank in this iteration */
};

/* A named scheduler parameter as recorded in the plan (numbers only; enums
 * are recorded by their index and name). */
struct plan_param {
	char name[32];
	double value;
	char text[32];  /* "" or the symbolic value ("lpt", "on") */
};

struct plan {
	struct job job;                 /* bucket resolved (never auto here) */
	char policy[PLAN_POLICY_MAX];
	struct plan_param params[PLAN_PARAMS_MAX];
	int nparams;
	char trace[256];                /* trace file as given ("" if none) */
	uint64_t trace_n;               /* samples in the trace */
	uint64_t dropped;               /* samples dropped (partial batch, overlong) */
	size_t niter;
	struct plan_rank *ranks;  size_t nranks, cap_ranks;     /* niter * dp */
	struct plan_mb *mbs;      size_t nmbs, cap_mbs;
	struct plan_sample *samples; size_t nsamples, cap_samples;
	/* Global-batch boundaries: iteration it holds trace samples listed in
	 * batch[batch_first[it] .. batch_first[it + 1]) (indices), recorded by
	 * the batcher so validation can check membership. */
	uint32_t *batch;          size_t nbatch, cap_batch;
	size_t *batch_first;      /* niter + 1 entries */
	size_t cap_batch_first;
};

void plan_init(struct plan *p);
void plan_free(struct plan *p);

/* Allocate room for iterations, samples and micro-batches up front. */
int plan_reserve(struct plan *p, size_t niter, size_t nsamples, size_t nmbs);

/* Building, in order.  plan_iter_begin takes the global batch's sample
 * indices (copied), then for each DP rank 0..dp-1 plan_rank_begin, and for
 * each of its micro-batches plan_mb_begin followed by plan_push per sample.
 * They fail only when the reserved room is exceeded (SK_ERR_RANGE). */
int plan_iter_begin(struct plan *p, const uint32_t *batch, size_t n);
int plan_rank_begin(struct plan *p);
int plan_mb_begin(struct plan *p);
/* A micro-batch spanning `span` DP ranks from the current one (>= 1;
 * plan_mb_begin is span 1).  SK_ERR_ARG if span is out of [1, 65535 / cp]. */
int plan_mb_begin_span(struct plan *p, int span);
/* place: the rank q holding the sample whole, or PLAN_SHARDED for all W
 * ranks of the micro-batch. */
int plan_push(struct plan *p, uint32_t index, uint32_t len, int32_t place);
/* Sharded over ranks [first, first + size) of the micro-batch (size 1:
 * whole on rank first).  plan_validate checks the block. */
int plan_push_group(struct plan *p, uint32_t index, uint32_t len, int first,
                    int size);

/* Ranks of micro-batch mb: span x cp. */
static inline int
plan_mb_width(const struct plan *p, const struct plan_mb *mb)
{
	return mb->span * p->job.cp;
}

/*
 * The micro-batches DP rank d runs in iteration it, in the order it runs
 * them (skrull-plan(5)): mb[i] indexes p->mbs, off[i] is the rank of the
 * micro-batch that d's CP rank 0 is ((d - a) cp for a micro-batch listed
 * by DP rank a; 0 for its own).  Fills at most cap entries and returns how
 * many there are.  The plan's structure must be valid (plan_validate).
 */
size_t plan_rank_mbs(const struct plan *p, size_t it, int d, size_t *mb,
                     int *off, size_t cap);

/* Record a parameter (policy knob). */
int plan_param(struct plan *p, const char *name, double value, const char *text);

/*
 * Check the plan: structure (dp ranks per iteration, no empty micro-batch,
 * spans inside the grid and listed first, placements and shard groups in
 * range and aligned); every sample of each global batch appears exactly
 * once and only inside it; per micro-batch of W ranks and rank q,
 * W x local_tokens(q) + sum over the groups holding q of (W / size) x
 * length <= W x bucket (exact integer form of local + 1/size of each
 * shard <= BucketSize); no local sample longer than bucket.  With t, lengths must match the trace
 * and indices lie inside it.  The first violation is the error
 * (SK_ERR_FORMAT), naming iteration, DP rank, micro-batch and sample.
 */
int plan_validate(const struct plan *p, const struct trace *t);

/* JSON (skrull-plan(5)).  plan_read validates structure and the job; call
 * plan_validate for the schedule itself. */
int plan_write(const char *path, const struct plan *p);
int plan_read(const char *path, struct plan *p);

/*
 * A 64-bit digest (FNV-1a) of what the plan schedules: its job (as
 * skrull-plan(5) writes it), policy name, and every iteration's global
 * batch, micro-batches and samples with their placements; not the trace's
 * path or the policy's parameters.  Equal plans give equal digests on
 * every host; for telling whether the ranks of a job hold the same plan.
 * SK_ERR_NOMEM.
 */
int plan_digest(const struct plan *p, uint64_t *out);

#endif
