/*
 * tstats: descriptive statistics of a length trace, the numbers behind
 * `skrull trace stats` (each defined in skrull-trace(1)).
 *
 * Quantiles follow GSL's gsl_stats_quantile_from_sorted_data (linear
 * interpolation between order statistics, as NumPy's default).  "Above T"
 * means strictly longer than T tokens.  Attention work of a sample of S
 * tokens is S^2 (causal attention FLOPs are proportional to it).
 *
 * Pure computation: nothing is printed; the caller owns both structs.
 */
#ifndef SKRULL_TSTATS_H
#define SKRULL_TSTATS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "trace.h"

/* Thresholds for the "share above" figures: 1K, 4K, 8K, 32K, 128K tokens. */
#define TSTATS_NTHRESH 5
extern const uint32_t tstats_thresh[TSTATS_NTHRESH];

/* Histogram bins: bin k holds lengths in [2^k, 2^(k+1)) tokens, k = 0..31. */
#define TSTATS_NBINS 32

struct tstats {
	size_t n;                /* samples */
	uint64_t tokens;         /* sum of lengths, tokens */
	double mean;             /* tokens */
	double sd;               /* sample standard deviation (n-1), tokens; 0 if n < 2 */
	uint32_t min, max;       /* tokens */
	double p50, p90, p99, p999;  /* quantiles 0.5, 0.9, 0.99, 0.999, tokens */
	/* Fractions in [0,1] of samples, tokens, and attention work (sum S^2)
	 * held by samples longer than tstats_thresh[i]. */
	double above_samples[TSTATS_NTHRESH];
	double above_tokens[TSTATS_NTHRESH];
	double above_attn[TSTATS_NTHRESH];
	uint64_t bin_samples[TSTATS_NBINS];  /* samples per log2 bin */
	uint64_t bin_tokens[TSTATS_NBINS];   /* tokens per log2 bin */
	int bin_lo, bin_hi;      /* first and last non-empty bin */
};

/* Compute the statistics of t (t->n >= 1; SK_ERR_ARG otherwise; a length of
 * 0 is SK_ERR_RANGE).  Uses a sorted copy of the lengths and a sorting
 * buffer (8 bytes per sample in all) that it frees. */
int tstats_compute(const struct trace *t, struct tstats *s);

/*
 * Add the statistics of s to the JSON object obj, the one place their JSON
 * is written: samples, tokens, mean, std, min, p50, p90, p99, p99_9, max
 * (tokens); "above", an array of {threshold (tokens), samples, tokens,
 * attention (fractions)}, one per tstats_thresh; "histogram", an array of
 * {lo, hi (tokens, hi exclusive), samples, tokens} for bins bin_lo..bin_hi.
 * SK_ERR_NOMEM if an allocation fails; obj may then hold some of the fields.
 */
int tstats_json(const struct tstats *s, cJSON *obj);

#endif
