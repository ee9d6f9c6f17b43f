/*
 * mbtime: the planner's time model of one micro-batch whose samples are
 * whole on one rank or sharded over shard groups of any size
 * (skrull-plan(5) version 2), shared by the policies that choose group
 * sizes and by the exact optimum (opt.c), so that a heuristic and the
 * optimum are measured by one yardstick.
 *
 * The micro-batch runs on W ranks, GPUs g0 .. g0 + W - 1.  A rank's
 * seconds are ops_mb_time of its load: the sequences whole on it
 * (ops_load_local), its 1/size share of each shard group's sequences that
 * holds it (ops_load_shard_d), and one all-gather and reduce-scatter per
 * such group, of the group's keys over its size on NVLink or the network
 * (ops_load_coll, ops_spans_nodes).  The micro-batch's time is the largest
 * over its ranks.  Seconds, tokens.
 */
#ifndef SKRULL_SCHED_MBTIME_H
#define SKRULL_SCHED_MBTIME_H

#include <stddef.h>
#include <stdint.h>

#include "job.h"
#include "ops.h"

/* One sample's placement: ranks [first, first + size) of the micro-batch;
 * size 1 is whole on rank first. */
struct mbt_item {
	uint32_t len;  /* tokens */
	int first, size;
};

/* Workspace for micro-batches of up to W ranks and n samples. */
struct mbtime {
	int wmax;
	size_t nmax;
	struct ops_load *load;  /* wmax */
	double *keys;           /* nmax: keys of group g */
	int *gfirst, *gsize;    /* nmax: group g's block */
};

int mbtime_init(struct mbtime *m, int wmax, size_t nmax);
void mbtime_free(struct mbtime *m);

/* The micro-batch's time under the model above, seconds; `rank` (may be
 * NULL) gets the W ranks' seconds.  n <= nmax, W <= wmax, every item
 * inside [0, W). */
double mbtime_eval(struct mbtime *m, const struct job *j, int W, int g0,
                   const struct mbt_item *it, size_t n, double *rank);

/* Whether the placement fits memory: every rank's W x local + sum of
 * (W / size) x len over its groups <= W x bucket (plan_validate's rule),
 * and no whole sample longer than bucket.  Every size divides W. */
int mbtime_fits(const struct job *j, int W, const struct mbt_item *it,
                size_t n, uint64_t *scratch);

#endif
