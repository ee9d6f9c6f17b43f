/* Unit tests of synth: parsing, the distributions drawn, exact mixtures,
 * determinism and subsampling. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "synth.h"
#include "tutil.h"

/* The Wikipedia row of the paper's Table 1, longest sample 78K. */
#define WIKI "1024:0.8788,4096:0.9934,8192:0.9992,32768:0.9999,max:78000"

/* Samples of t shorter than len tokens. */
static size_t
below(const struct trace *t, uint32_t len)
{
	size_t i, c = 0;

	for (i = 0; i < t->n; i++)
		c += t->len[i] < len;
	return c;
}

/*
 * Assert that c of n samples is a plausible binomial count for share p:
 * within 5 standard errors.
 */
static void
assert_share(size_t c, size_t n, double p)
{
	double se = sqrt(p * (1 - p) / (double)n);

	assert_near((double)c / (double)n, p, 5 * se + 1e-12);
}

static void
test_cdf_parse_good(void **state)
{
	struct synth_cdf c;

	assert_int_equal(synth_cdf_parse(WIKI, &c), SK_OK);
	assert_int_equal(c.n, 5);
	assert_near(c.len[0], 1, 0);
	assert_near(c.cdf[0], 0, 0);
	assert_near(c.len[1], 1024, 0);
	assert_near(c.cdf[1], 0.8788, 0);
	assert_near(c.len[4], 32768, 0);
	assert_near(c.cdf[4], 0.9999, 0);
	assert_near(c.len[5], 78000, 0);
	assert_near(c.cdf[5], 1, 0);

	/* min, suffixes, percentages, a share of exactly 1 before max. */
	assert_int_equal(synth_cdf_parse("min:16,1K:87.88%,4k:100%,max:1M",
	    &c), SK_OK);
	assert_int_equal(c.n, 3);
	assert_near(c.len[0], 16, 0);
	assert_near(c.len[1], 1024, 0);
	assert_near(c.cdf[1], 0.8788, 1e-15);
	assert_near(c.len[2], 4096, 0);
	assert_near(c.cdf[2], 1, 0);
	assert_near(c.len[3], 1048576, 0);

	/* max alone: log-uniform from 1. */
	assert_int_equal(synth_cdf_parse("max:78000", &c), SK_OK);
	assert_int_equal(c.n, 1);
	assert_near(c.len[0], 1, 0);
	assert_near(c.len[1], 78000, 0);
	assert_near(c.cdf[1], 1, 0);
}

static void
test_cdf_parse_bad(void **state)
{
	static const struct {
		const char *spec, *msg;
	} bad[] = {
		{ "", "cdf item 1 '': expected LENGTH:SHARE, min:LENGTH or "
		    "max:LENGTH" },
		{ "1024,max:5000", "cdf item 1 '1024': expected LENGTH:SHARE, "
		    "min:LENGTH or max:LENGTH" },
		{ "1024:0.5,,max:5000", "cdf item 2 '': expected LENGTH:SHARE, "
		    "min:LENGTH or max:LENGTH" },
		{ "1024:0.8788,2048:0.9,4096:0.5,max:10000", "cdf item 3 "
		    "'4096:0.5': share 0.5 is below the previous 0.9" },
		{ "1024:0.5,1024:0.6,max:5000", "cdf item 2 '1024:0.6': length "
		    "1024 is not above the previous 1024" },
		{ "2048:0.5,1K:0.6,max:5000", "cdf item 2 '1K:0.6': length "
		    "1024 is not above the previous 2048" },
		{ "min:2000,1024:0.5,max:5000", "cdf item 2 '1024:0.5': length "
		    "1024 is not above the previous 2000" },
		{ "1024:1.5,max:5000", "cdf item 1 '1024:1.5': share '1.5' is "
		    "not a fraction in [0,1] or a percentage in [0%,100%]" },
		{ "1024:150%,max:5000", "cdf item 1 '1024:150%': share '150%' "
		    "is not a fraction in [0,1] or a percentage in "
		    "[0%,100%]" },
		{ "1024:-0.1,max:5000", "cdf item 1 '1024:-0.1': share '-0.1' "
		    "is not a fraction in [0,1] or a percentage in "
		    "[0%,100%]" },
		{ "1024:nan,max:5000", "cdf item 1 '1024:nan': share 'nan' is "
		    "not a fraction in [0,1] or a percentage in [0%,100%]" },
		{ "1024:0x1,max:5000", "cdf item 1 '1024:0x1': share '0x1' is "
		    "not a fraction in [0,1] or a percentage in [0%,100%]" },
		{ "1024:,max:5000", "cdf item 1 '1024:': share '' is not a "
		    "fraction in [0,1] or a percentage in [0%,100%]" },
		{ "1.5K:0.5,max:5000", "cdf item 1 '1.5K:0.5': expected a "
		    "positive integer number of tokens with an optional K or M "
		    "suffix" },
		{ "-5:0.5,max:5000", "cdf item 1 '-5:0.5': expected a positive "
		    "integer number of tokens with an optional K or M suffix" },
		{ "1024G:0.5,max:5000", "cdf item 1 '1024G:0.5': expected a "
		    "positive integer number of tokens with an optional K or M "
		    "suffix" },
		{ "0:0.5,max:5000", "cdf item 1 '0:0.5': a length must be "
		    "positive" },
		{ "2048M:0.5,max:4096M", "cdf item 1 '2048M:0.5': a length must "
		    "be at most 2147483647 tokens" },
		{ "99999999999999999999999:0.5,max:5000", "cdf item 1 "
		    "'99999999999999999999999:0.5': a length must be at most "
		    "2147483647 tokens" },
		{ "max:abc", "cdf item 1 'max:abc': expected a positive "
		    "integer number of tokens with an optional K or M suffix" },
		{ "min:0,max:10", "cdf item 1 'min:0': a length must be "
		    "positive" },
		{ "1024:0.5", "cdf '1024:0.5': the last item must be "
		    "'max:LMAX'" },
		{ "1024:0.5,max:1000", "cdf item 2 'max:1000': max 1000 is not "
		    "above the point 1024 of item 1; list only the points below "
		    "max" },
		{ "1024:0.8788,128K:100.0%,max:78000", "cdf item 3 'max:78000': "
		    "max 78000 is not above the point 131072 of item 2; list "
		    "only the points below max" },
		{ "1024:0.5,max:5000,2048:0.6", "cdf item 3 '2048:0.6': nothing "
		    "may follow 'max:LMAX'" },
		{ "max:5000,", "cdf item 2 '': nothing may follow 'max:LMAX'" },
		{ "1024:0.5,min:1,max:5000", "cdf item 2 'min:1': 'min' may "
		    "only be the first item" },
	};
	struct synth_cdf c;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err_clear();
		if (synth_cdf_parse(bad[i].spec, &c) != SK_ERR_ARG)
			fail_msg("accepted '%s'", bad[i].spec);
		assert_string_equal(err_msg(), bad[i].msg);
	}
}

/* SYNTH_CDF_MAX points in all, max included, and not one more. */
static void
test_cdf_parse_limit(void **state)
{
	char spec[2048];
	struct synth_cdf c;
	size_t off = 0;
	int i;

	for (i = 1; i < SYNTH_CDF_MAX; i++)
		off += (size_t)snprintf(spec + off, sizeof spec - off,
		    "%d:%g,", 10 * i, i / 100.0);
	snprintf(spec + off, sizeof spec - off, "max:100000");
	assert_int_equal(synth_cdf_parse(spec, &c), SK_OK);
	assert_int_equal(c.n, SYNTH_CDF_MAX);
	assert_near(c.len[SYNTH_CDF_MAX], 100000, 0);

	snprintf(spec + off, sizeof spec - off, "99999:0.99,max:100000");
	assert_int_equal(synth_cdf_parse(spec, &c), SK_ERR_ARG);
	assert_string_equal(err_msg(), "cdf item 64 '99999:0.99': more than "
	    "64 points");
}

static void
test_component_parse(void **state)
{
	struct synth_component c;
	const char *arg;

	assert_int_equal(synth_component_parse("cdf:" WIKI, &c), SK_OK);
	assert_int_equal(c.kind, SYNTH_CDF);
	assert_near(c.weight, 1, 0);
	assert_int_equal(c.cdf.n, 5);

	assert_int_equal(synth_component_parse("99.89%=lognormal:1.5K:0.8",
	    &c), SK_OK);
	assert_int_equal(c.kind, SYNTH_LOGNORMAL);
	assert_near(c.weight, 99.89, 0);
	assert_near(c.median, 1536, 0);
	assert_near(c.sigma, 0.8, 0);

	/* An '=' in a path is not a weight. */
	arg = "0.11%=trace:/data/a=b.txt";
	assert_int_equal(synth_component_parse(arg, &c), SK_OK);
	assert_int_equal(c.kind, SYNTH_TRACE);
	assert_near(c.weight, 0.11, 0);
	assert_ptr_equal(c.path, arg + 12);
	assert_string_equal(c.path, "/data/a=b.txt");
	assert_null(c.trace);
	assert_int_equal(synth_component_parse("trace:x=y", &c), SK_OK);
	assert_near(c.weight, 1, 0);
	assert_string_equal(c.path, "x=y");
}

static void
test_component_parse_bad(void **state)
{
	static const struct {
		const char *arg, *msg;
	} bad[] = {
		{ "cdf", "component 'cdf': expected [WEIGHT=]KIND:PARAMS with "
		    "KIND cdf, lognormal or trace" },
		{ "normal:1:2", "component 'normal:1:2': unknown kind 'normal' "
		    "(expected cdf, lognormal or trace)" },
		{ "2=gamma:1", "component '2=gamma:1': unknown kind 'gamma' "
		    "(expected cdf, lognormal or trace)" },
		{ "0=cdf:max:10", "component '0=cdf:max:10': weight '0' is not "
		    "a positive number or percentage" },
		{ "-1=cdf:max:10", "component '-1=cdf:max:10': weight '-1' is "
		    "not a positive number or percentage" },
		{ "abc=trace:x", "component 'abc=trace:x': weight 'abc' is not "
		    "a positive number or percentage" },
		{ "=trace:x", "component '=trace:x': weight '' is not a "
		    "positive number or percentage" },
		{ "trace:", "component 'trace:': expected trace:PATH" },
		{ "lognormal:1K", "component 'lognormal:1K': expected "
		    "lognormal:MEDIAN:SIGMA" },
		{ "lognormal:0:1", "component 'lognormal:0:1': median '0': a "
		    "length must be positive" },
		{ "lognormal:x:1", "component 'lognormal:x:1': median 'x': "
		    "expected a positive number of tokens with an optional K "
		    "or M suffix" },
		{ "lognormal:1K:0", "component 'lognormal:1K:0': sigma '0' is "
		    "not a positive number" },
		{ "lognormal:1K:-1", "component 'lognormal:1K:-1': sigma '-1' "
		    "is not a positive number" },
		{ "lognormal:1K:1:2", "component 'lognormal:1K:1:2': sigma "
		    "'1:2' is not a positive number" },
		{ "lognormal:1K:50%", "component 'lognormal:1K:50%': sigma "
		    "'50%' is not a positive number" },
		{ "cdf:1024:2,max:10", "component 'cdf:1024:2,max:10': cdf item "
		    "1 '1024:2': share '2' is not a fraction in [0,1] or a "
		    "percentage in [0%,100%]" },
	};
	struct synth_component c;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err_clear();
		if (synth_component_parse(bad[i].arg, &c) != SK_ERR_ARG)
			fail_msg("accepted '%s'", bad[i].arg);
		assert_string_equal(err_msg(), bad[i].msg);
	}
}

/*
 * n = 200000 from the Wikipedia CDF.  Rounding to the nearest token makes
 * "below L" mean a drawn value below L - 0.5, so the expected share below
 * L inside bin i is the log-linear cdf at L - 0.5; a bin edge L(i) then
 * expects F(i-1) + (F(i) - F(i-1)) * log((L(i) - 0.5) / L(i-1)) /
 * log(L(i) / L(i-1)), and 32 inside the first bin tests the log-linearity.
 */
static void
test_generate_cdf(void **state)
{
	static const double L[] = { 1, 1024, 4096, 8192, 32768, 78000 };
	static const double F[] = { 0, 0.8788, 0.9934, 0.9992, 0.9999, 1 };
	struct synth_component c;
	struct trace t;
	size_t i, n = 200000;
	uint32_t mx = 0, mn = TRACE_LEN_MAX;
	double p;

	assert_int_equal(synth_component_parse("cdf:" WIKI, &c), SK_OK);
	trace_init(&t);
	assert_int_equal(synth_generate(&c, 1, n, 42, 1, TRACE_LEN_MAX, &t),
	    SK_OK);
	assert_int_equal(t.n, n);
	for (i = 0; i < n; i++) {
		mx = t.len[i] > mx ? t.len[i] : mx;
		mn = t.len[i] < mn ? t.len[i] : mn;
	}
	assert_true(mx <= 78000);
	assert_true(mx > 32768);
	assert_true(mn >= 1);
	for (i = 1; i <= 4; i++) {
		p = F[i - 1] + (F[i] - F[i - 1]) * log((L[i] - 0.5) / L[i - 1]) /
		    log(L[i] / L[i - 1]);
		assert_share(below(&t, (uint32_t)L[i]), n, p);
		/* The plain table share holds as well. */
		assert_share(below(&t, (uint32_t)L[i]), n, F[i]);
	}
	assert_share(below(&t, 32), n, F[1] * log(31.5) / log(1024));
	trace_free(&t);
}

/* "min:100,max:10000": log-uniform, half below 1000. */
static void
test_generate_min(void **state)
{
	struct synth_component c;
	struct trace t;
	size_t i, n = 50000;

	assert_int_equal(synth_component_parse("cdf:min:100,max:10000", &c),
	    SK_OK);
	trace_init(&t);
	assert_int_equal(synth_generate(&c, 1, n, 3, 1, TRACE_LEN_MAX, &t),
	    SK_OK);
	for (i = 0; i < n; i++)
		assert_in_range(t.len[i], 100, 10000);
	assert_share(below(&t, 1000), n, log(999.5 / 100) / log(100));
	trace_free(&t);
}

/* Lognormal: the share below median * e^z is Phi(z) (less half a token of
 * rounding). */
static void
test_generate_lognormal(void **state)
{
	struct synth_component c;
	struct trace t;
	size_t n = 100001;
	double z, x;
	int k;

	assert_int_equal(synth_component_parse("lognormal:2K:0.7", &c),
	    SK_OK);
	trace_init(&t);
	assert_int_equal(synth_generate(&c, 1, n, 9, 1, TRACE_LEN_MAX, &t),
	    SK_OK);
	for (k = -2; k <= 2; k++) {
		x = round(2048 * exp(0.7 * k));
		z = log((x - 0.5) / 2048) / 0.7;
		assert_share(below(&t, (uint32_t)x), n,
		    0.5 * erfc(-z / sqrt(2)));
	}
	trace_free(&t);
}

/*
 * Exact counts: 99.89% from a trace of 100s and 0.11% from lengths in
 * [1000, 2000], disjoint, so the 110 of 100000 can be counted; the result
 * is shuffled, so they are not all at the end.
 */
static void
test_generate_mixture(void **state)
{
	struct synth_component c[3];
	struct trace src, t;
	size_t i, n = 100000, big = 0, first = n;

	trace_init(&src);
	for (i = 0; i < 10; i++)
		assert_int_equal(trace_push(&src, 100), SK_OK);
	assert_int_equal(synth_component_parse("99.89%=trace:hundreds",
	    &c[0]), SK_OK);
	c[0].trace = &src;
	assert_int_equal(synth_component_parse("0.11%=cdf:min:1000,max:2000",
	    &c[1]), SK_OK);
	trace_init(&t);
	assert_int_equal(synth_generate(c, 2, n, 5, 1, TRACE_LEN_MAX, &t),
	    SK_OK);
	for (i = 0; i < n; i++) {
		if (t.len[i] == 100)
			continue;
		assert_in_range(t.len[i], 1000, 2000);
		if (big++ == 0)
			first = i;
	}
	assert_int_equal(big, 110);
	assert_true(first < n - 1000);

	/*
	 * Equal weights, 100 samples: quotas 33.33 each, the one leftover
	 * to the lowest index: 34, 33, 33.  Lognormal 1M:0.1 lies above 2000
	 * by 60 sigma.
	 */
	assert_int_equal(synth_component_parse("lognormal:1M:0.1", &c[2]),
	    SK_OK);
	c[0].weight = c[1].weight = c[2].weight = 2.5;
	assert_int_equal(synth_generate(c, 3, 100, 5, 1, TRACE_LEN_MAX, &t),
	    SK_OK);
	assert_int_equal(t.n, 100);
	assert_int_equal(below(&t, 101), 34);
	assert_int_equal(below(&t, 2001) - below(&t, 1000), 33);
	assert_int_equal(t.n - below(&t, 100000), 33);
	/* Two samples of three equal parts: 1, 1, 0. */
	assert_int_equal(synth_generate(c, 3, 2, 5, 1, TRACE_LEN_MAX, &t),
	    SK_OK);
	assert_int_equal(below(&t, 101), 1);
	assert_int_equal(below(&t, 2001) - below(&t, 1000), 1);
	/* Remainders 0.6, 0.2, 0.2 of quotas 4.6, 0.2, 0.2: 5, 0, 0. */
	c[0].weight = 23, c[1].weight = 1, c[2].weight = 1;
	assert_int_equal(synth_generate(c, 3, 5, 5, 1, TRACE_LEN_MAX, &t),
	    SK_OK);
	assert_int_equal(below(&t, 101), 5);
	trace_free(&t);
	trace_free(&src);
}

/* Every length is clamped into [lo, hi]. */
static void
test_generate_clamp(void **state)
{
	struct synth_component c;
	struct trace t;
	size_t i, lo = 0, hi = 0;

	assert_int_equal(synth_component_parse("cdf:" WIKI, &c), SK_OK);
	trace_init(&t);
	assert_int_equal(synth_generate(&c, 1, 10000, 1, 300, 2000, &t),
	    SK_OK);
	for (i = 0; i < t.n; i++) {
		assert_in_range(t.len[i], 300, 2000);
		lo += t.len[i] == 300;
		hi += t.len[i] == 2000;
	}
	assert_true(lo > 0 && hi > 0);
	trace_free(&t);
}

static void
test_generate_deterministic(void **state)
{
	struct synth_component c[2];
	struct trace a, b;

	assert_int_equal(synth_component_parse("3=cdf:" WIKI, &c[0]), SK_OK);
	assert_int_equal(synth_component_parse("1=lognormal:8K:1.2", &c[1]),
	    SK_OK);
	trace_init(&a);
	trace_init(&b);
	assert_int_equal(synth_generate(c, 2, 10000, 77, 1, TRACE_LEN_MAX, &a),
	    SK_OK);
	assert_int_equal(synth_generate(c, 2, 10000, 77, 1, TRACE_LEN_MAX, &b),
	    SK_OK);
	assert_int_equal(a.n, b.n);
	assert_memory_equal(a.len, b.len, a.n * sizeof *a.len);
	assert_int_equal(synth_generate(c, 2, 10000, 78, 1, TRACE_LEN_MAX, &b),
	    SK_OK);
	assert_memory_not_equal(a.len, b.len, a.n * sizeof *a.len);
	trace_free(&a);
	trace_free(&b);
}

static void
test_generate_errors(void **state)
{
	struct synth_component c;
	struct trace t, empty;

	assert_int_equal(synth_component_parse("cdf:max:100", &c), SK_OK);
	trace_init(&t);
	trace_init(&empty);
	assert_int_equal(synth_generate(&c, 0, 10, 1, 1, 100, &t), SK_ERR_ARG);
	assert_string_equal(err_msg(), "synthesis needs at least one "
	    "component");
	assert_int_equal(synth_generate(&c, 1, 0, 1, 1, 100, &t), SK_ERR_ARG);
	assert_string_equal(err_msg(), "synthesis needs at least one sample");
	assert_int_equal(synth_generate(&c, 1, 10, 1, 0, 100, &t), SK_ERR_ARG);
	assert_string_equal(err_msg(), "length bounds [0, 100] are not within "
	    "1 <= lo <= hi <= 2147483647 tokens");
	assert_int_equal(synth_generate(&c, 1, 10, 1, 101, 100, &t),
	    SK_ERR_ARG);
	assert_int_equal(synth_generate(&c, 1, 10, 1, 1, TRACE_LEN_MAX + 1u,
	    &t), SK_ERR_ARG);
	c.weight = 0;
	assert_int_equal(synth_generate(&c, 1, 10, 1, 1, 100, &t), SK_ERR_ARG);
	assert_string_equal(err_msg(), "component 1: weight 0 is not a "
	    "positive finite number");
	c.weight = INFINITY;
	assert_int_equal(synth_generate(&c, 1, 10, 1, 1, 100, &t), SK_ERR_ARG);
	assert_int_equal(synth_component_parse("trace:x", &c), SK_OK);
	assert_int_equal(synth_generate(&c, 1, 10, 1, 1, 100, &t), SK_ERR_ARG);
	assert_string_equal(err_msg(), "component 1: empty trace");
	c.trace = &empty;
	assert_int_equal(synth_generate(&c, 1, 10, 1, 1, 100, &t), SK_ERR_ARG);
	assert_int_equal(trace_push(&t, 5), SK_OK);
	c.trace = &t;
	assert_int_equal(synth_generate(&c, 1, 10, 1, 1, 100, &t), SK_ERR_ARG);
	assert_string_equal(err_msg(), "component 1: the trace is also the "
	    "output");
	/* Failures leave the output as it was. */
	assert_int_equal(t.n, 1);
	trace_free(&t);
}

/* in: 1, 2, ..., n, so order and identity can be read off the values. */
static void
iota(struct trace *t, size_t n)
{
	size_t i;

	trace_init(t);
	for (i = 1; i <= n; i++)
		assert_int_equal(trace_push(t, (uint32_t)i), SK_OK);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static void
test_sample(void **state)
{
	struct trace in, out, again;
	size_t i, seen[11] = { 0 };

	iota(&in, 1000);
	trace_init(&out);
	trace_init(&again);

	/* Without replacement, in order: a strictly increasing subsequence. */
	assert_int_equal(synth_sample(&in, 100, 1, 0, 0, &out), SK_OK);
	assert_int_equal(out.n, 100);
	for (i = 0; i < out.n; i++) {
		assert_in_range(out.len[i], 1, 1000);
		if (i > 0)
			assert_true(out.len[i] > out.len[i - 1]);
	}

	/* Shuffled: distinct values, not in order. */
	assert_int_equal(synth_sample(&in, 100, 1, 0, 1, &out), SK_OK);
	for (i = 1; i < out.n && out.len[i] > out.len[i - 1]; i++)
		continue;
	assert_true(i < out.n);
	qsort(out.len, out.n, sizeof *out.len, cmp_u32);
	for (i = 1; i < out.n; i++)
		assert_true(out.len[i] > out.len[i - 1]);

	/* All of them shuffled: a permutation. */
	assert_int_equal(synth_sample(&in, 1000, 2, 0, 1, &out), SK_OK);
	assert_memory_not_equal(out.len, in.len, 1000 * sizeof *in.len);
	qsort(out.len, out.n, sizeof *out.len, cmp_u32);
	assert_memory_equal(out.len, in.len, 1000 * sizeof *in.len);

	/* With replacement: more than in->n, values from in, reproducible. */
	trace_free(&in);
	iota(&in, 10);
	assert_int_equal(synth_sample(&in, 5000, 3, 1, 0, &out), SK_OK);
	assert_int_equal(out.n, 5000);
	for (i = 0; i < out.n; i++) {
		assert_in_range(out.len[i], 1, 10);
		seen[out.len[i]]++;
	}
	for (i = 1; i <= 10; i++)
		assert_share(seen[i], 5000, 0.1);
	assert_int_equal(synth_sample(&in, 5000, 3, 1, 0, &again), SK_OK);
	assert_memory_equal(out.len, again.len, 5000 * sizeof *out.len);

	trace_free(&in);
	trace_free(&out);
	trace_free(&again);
}

static void
test_sample_errors(void **state)
{
	struct trace in, out;

	iota(&in, 1000);
	trace_init(&out);
	assert_int_equal(synth_sample(&in, 1001, 1, 0, 0, &out), SK_ERR_ARG);
	assert_string_equal(err_msg(), "cannot draw 1001 of 1000 samples "
	    "without replacement");
	assert_int_equal(synth_sample(&in, 0, 1, 1, 0, &out), SK_ERR_ARG);
	assert_string_equal(err_msg(), "sample size must be at least 1");
	assert_int_equal(synth_sample(&in, 10, 1, 0, 0, &in), SK_ERR_ARG);
	assert_string_equal(err_msg(), "sampling a trace into itself");
	assert_int_equal(synth_sample(&out, 1, 1, 1, 0, &in), SK_ERR_ARG);
	assert_string_equal(err_msg(), "cannot sample an empty trace");
	assert_int_equal(in.n, 1000);
	trace_free(&in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cdf_parse_good),
		cmocka_unit_test(test_cdf_parse_bad),
		cmocka_unit_test(test_cdf_parse_limit),
		cmocka_unit_test(test_component_parse),
		cmocka_unit_test(test_component_parse_bad),
		cmocka_unit_test(test_generate_cdf),
		cmocka_unit_test(test_generate_min),
		cmocka_unit_test(test_generate_lognormal),
		cmocka_unit_test(test_generate_mixture),
		cmocka_unit_test(test_generate_clamp),
		cmocka_unit_test(test_generate_deterministic),
		cmocka_unit_test(test_generate_errors),
		cmocka_unit_test(test_sample),
		cmocka_unit_test(test_sample_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
