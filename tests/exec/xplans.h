/*
 * xplans: hand-built plans for the executor's schedule-invariance tests
 * (tests/unit/test_exec_loop.c over the loopback, tests/exec/test_exec_mpi.c
 * over MPI): one global batch of the tests' 16 samples regrouped onto shard
 * groups of every size a grid has (2 at every aligned first rank, 3 where
 * the grid has 6 ranks, all of a micro-batch's ranks), micro-batches
 * spanning DP ranks with groups over all their ranks and groups across
 * the boundary of two CP groups, and overlapping groups of different
 * micro-batches (made by different splits).  Plain C, no test framework:
 * errors are plan.h's codes.
 */
#ifndef SKRULL_XPLANS_H
#define SKRULL_XPLANS_H

#include <stddef.h>
#include <stdint.h>

#include "job.h"
#include "plan.h"

#define XPLAN_MB_MAX 10

/* A sample of a hand-built micro-batch: its index in the trace, whole on
 * rank first of the micro-batch (size 1), or sharded over its ranks
 * [first, first + size). */
struct xplan_sample {
	int index, first, size;
};

/* A micro-batch: the DP rank listing it, the DP ranks it spans, its
 * samples. */
struct xplan_mb {
	int dp, span, n;
	struct xplan_sample s[XPLAN_MB_MAX];
};

/* A plan of one iteration on a dp x cp grid: its micro-batches in the
 * order plan.h lists them (by DP rank; a rank's spanning ones first). */
struct xplan {
	const char *name;
	int dp, cp;
	size_t nmb;
	const struct xplan_mb *mb;
};

/* The plans, and how many. */
extern const struct xplan xplans[];
extern const size_t xplan_count;

/* The plan called name, or NULL. */
const struct xplan *xplan_find(const char *name);

/* The trace's sample lengths, tokens, XPLAN_SAMPLES of them: the global
 * batch of every plan here. */
#define XPLAN_SAMPLES 16
extern const uint32_t xplan_lens[XPLAN_SAMPLES];

/*
 * Build x into p (plan_init'ed here) with job j's model and cluster, x's
 * grid, a batch of XPLAN_SAMPLES / dp per DP rank and BucketSize 128: one
 * iteration whose global batch is samples 0 .. XPLAN_SAMPLES - 1.  SK_OK
 * or plan.h's error; plan_validate is the caller's.
 */
int xplan_build(const struct xplan *x, const struct job *j, struct plan *p);

#endif
