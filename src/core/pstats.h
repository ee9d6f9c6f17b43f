/*
 * pstats: the summary metrics of a plan, as `skrull plan` prints them and
 * skrull(7) defines them.  FLOPs are the cost model's exact whole-sequence
 * FLOPs (forward, backward and recompute; cost_seq_flops_total), a sharded
 * sample counting 1/N on each CP rank; memory is activation tokens per CP
 * rank (local tokens + 1/N of each sharded sample), against BucketSize.
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
	uint64_t samples_local, samples_sharded;
	uint64_t tokens_local, tokens_sharded;
	double flops;                /* whole plan, FLOPs */
	double dp_balance;           /* mean over iterations of max/mean over DP
	                                ranks of the rank's FLOPs (sum over its
	                                micro-batches of the busiest CP rank) */
	double cp_balance;           /* mean over micro-batches of max/mean over
	                                CP ranks of FLOPs */
	double mem_balance;          /* mean over micro-batches of max/mean over
	                                CP ranks of activation tokens */
	double mem_peak;             /* max over micro-batches and CP ranks of
	                                activation tokens / BucketSize */
};

/* Compute the metrics of a plan (structure assumed valid: plan_read or a
 * scheduler produced it). */
int pstats_compute(const struct plan *p, struct pstats *s);

#endif
