/*
 * synth: seeded, reproducible synthesis and subsampling of length traces.
 *
 * A synthetic trace is drawn from a mixture of components, each with a
 * weight:
 *   - cdf:      a published cumulative distribution given as points
 *               "L1:F1,L2:F2,...,max:LMAX" (share F of samples below L
 *               tokens); inside a bin the length is log-linear in the
 *               cumulative share (log L interpolated linearly in F);
 *               the first bin starts at "min:L0" when given, else 1 token;
 *               the last bin, up to LMAX, takes the share left above the
 *               last point;
 *   - lognormal: median (tokens) and sigma (of the natural log);
 *   - trace:    an existing trace, sampled uniformly with replacement.
 * Every drawn length is rounded to the nearest token and clamped to the
 * caller's [lo, hi].  Component counts are the exact proportions of N
 * (largest remainder), and the result is shuffled; so "99.89% from A, 0.11%
 * from B" holds exactly.
 *
 * Randomness: GSL's MT19937 seeded with the given seed, so one seed gives the
 * same trace on every platform.  Nothing is printed.
 */
#ifndef SKRULL_SYNTH_H
#define SKRULL_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "trace.h"

/* Most points in a CDF specification. */
#define SYNTH_CDF_MAX 64

struct synth_cdf {
	size_t n;                     /* points, >= 1, the last one is "max" */
	double len[SYNTH_CDF_MAX + 1];  /* len[0] = lower bound (min, default 1);
	                                   len[i], i = 1..n: bin upper bounds, tokens */
	double cdf[SYNTH_CDF_MAX + 1];  /* cdf[0] = 0; cdf[i]: share below len[i];
	                                   cdf[n] = 1 */
};

/*
 * Parse "L1:F1,...,max:LMAX" (optional leading "min:L0,").  L is a positive
 * integer with an optional K or M suffix (x1024, x1048576), at most
 * TRACE_LEN_MAX; F is a fraction in [0,1] or a percentage "87.88%".
 * Lengths must increase strictly from L0 (default 1) to LMAX and shares
 * must not decrease; at most SYNTH_CDF_MAX points, max included.  Every
 * point must lie below max: list only the points below the longest sample
 * (a published table with "<128K: 100%" and a longest sample of 78K is
 * written "...,max:78000", without the 128K point).  "max:LMAX" alone is
 * log-uniform from L0 to LMAX.  A share of 1 before max is allowed (the
 * bins after it are empty).  Errors (SK_ERR_ARG) name the offending item by
 * its 1-based position and text.
 */
int synth_cdf_parse(const char *spec, struct synth_cdf *cdf);

enum synth_kind { SYNTH_CDF, SYNTH_LOGNORMAL, SYNTH_TRACE };

struct synth_component {
	double weight;          /* relative weight, > 0 */
	enum synth_kind kind;
	struct synth_cdf cdf;   /* SYNTH_CDF */
	double median, sigma;   /* SYNTH_LOGNORMAL: median tokens, sigma of ln */
	const char *path;       /* SYNTH_TRACE: file named in the spec (points
	                           into the parsed string) */
	const struct trace *trace;  /* SYNTH_TRACE: filled in by the caller */
};

/*
 * Parse one component "[WEIGHT=]KIND:PARAMS" where KIND:PARAMS is
 * "cdf:POINTS", "lognormal:MEDIAN:SIGMA" or "trace:PATH"; WEIGHT is a
 * positive number or a percentage ("99.89%" is the weight 99.89), default
 * 1.  MEDIAN is a positive number of tokens with an optional K or M suffix,
 * SIGMA a positive number.  An '=' after the kind belongs to PARAMS.  For
 * trace components c->path points into arg, which must outlive c; the
 * caller loads it and sets c->trace (NULL here).  Errors are SK_ERR_ARG.
 */
int synth_component_parse(const char *arg, struct synth_component *c);

/*
 * Draw n >= 1 lengths from the k >= 1 components c into out (replaced),
 * clamped to [lo, hi] tokens (1 <= lo <= hi <= TRACE_LEN_MAX).  Weights
 * must be positive and trace components must have a non-empty trace that
 * is not out.  Component i's samples are drawn in order, then the whole is
 * shuffled, all from one generator.  On error out is left as it was.
 */
int synth_generate(const struct synth_component *c, size_t k, size_t n,
                   unsigned long seed, uint32_t lo, uint32_t hi,
                   struct trace *out);

/*
 * Subsample: n >= 1 lengths of the non-empty in into out (replaced; out !=
 * in).  Without replacement (n <= in->n, else SK_ERR_ARG) the original
 * order is kept unless shuffle; with replacement samples are drawn
 * uniformly and independently and shuffle is moot.  n == in->n with
 * shuffle is a permutation.  On error out is left as it was.
 */
int synth_sample(const struct trace *in, size_t n, unsigned long seed,
                 int replace, int shuffle, struct trace *out);

#endif
