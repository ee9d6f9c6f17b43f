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
 *   - lognormal: median (tokens) and sigma (of the natural log);
 *   - trace:    an existing trace, sampled uniformly with replacement.
 * Component counts are the exact proportions of N (largest remainder), and
 * the result is shuffled; so "99.89% from A, 0.11% from B" holds exactly.
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
 * Parse "L1:F1,...,max:LMAX" (optional leading "min:L0,").  L may carry a
 * K or M suffix (x1024, x1048576); F is a fraction in [0,1] or a percentage
 * "87.88%".  Lengths must increase and shares must not decrease.
 * Errors (SK_ERR_ARG) name the offending item by position.
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
 * number or a percentage ("99.89%"), default 1.  For trace components the
 * caller loads c->path and sets c->trace.
 */
int synth_component_parse(const char *arg, struct synth_component *c);

/*
 * Draw n lengths from the mixture into out (replaced), clamped to
 * [lo, hi] tokens (1 <= lo <= hi <= TRACE_LEN_MAX).
 */
int synth_generate(const struct synth_component *c, size_t k, size_t n,
                   unsigned long seed, uint32_t lo, uint32_t hi,
                   struct trace *out);

/*
 * Subsample: n lengths of in into out (replaced).  Without replacement
 * (n <= in->n) the original order is kept unless shuffle; with replacement
 * samples are drawn uniformly and independently.  n == in->n with shuffle
 * is a permutation.
 */
int synth_sample(const struct trace *in, size_t n, unsigned long seed,
                 int replace, int shuffle, struct trace *out);

#endif
