/*
 * pstats: the summary metrics of a plan, as `skrull plan` prints them and
 * skrull(7) defines them.  FLOPs are the cost model's exact whole-sequence
 * FLOPs (forward, backward and recompute; cost_seq_flops_total), a sharded
 * sample counting its 1/size share on each rank of its shard group; memory
 * is activation tokens per rank (local tokens + 1/size of each shard it
 * holds), against BucketSize.  A micro-batch's ranks are its W = span x cp
 * (skrull-plan(5)).
 */
#ifndef SKRULL_PSTATS_H
#define SKRULL_PSTATS_H

#include <stddef.h>
#include <stdint.h>

#include "plan.h"

struct pstats {
	size_t iterations;
	size_t micro_batches;        /* in the whole plan */
	double mb_per_rank_mean;     /* micro-batches per DP rank per iteration */
	size_t mb_per_rank_max;
	size_t mb_spanning;          /* micro-batches spanning DP ranks */
	uint64_t samples_local, samples_sharded;
	uint64_t tokens_local, tokens_sharded;
	double flops;                /* whole plan, FLOPs */
	double dp_balance;           /* mean over iterations of max/mean over DP
	                                ranks of the rank's FLOPs (sum over the
	                                micro-batches it runs, spanning ones
	                                included, of their busiest rank) */
	double cp_balance;           /* mean over micro-batches of max/mean over
	                                their ranks of FLOPs */
	double mem_balance;          /* mean over micro-batches of max/mean over
	                                their ranks of activation tokens */
	double mem_peak;             /* max over micro-batches and ranks of
	                                activation tokens / BucketSize */
};

/* Compute the metrics of a plan (structure assumed valid: plan_read or a
 * scheduler produced it). */
int pstats_compute(const struct plan *p, struct pstats *s);

#endif
