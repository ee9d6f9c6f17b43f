/* Unit tests of tstats: numbers worked by hand, and a second method. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "tstats.h"
#include "tutil.h"

/*
 * Eight lengths, given unsorted; sorted they are
 *   x(0..7) = 5, 347, 2112, 4096, 4097, 10919, 131073, 1823777.
 */
static const uint32_t eight[] = {
	347, 10919, 2112, 1823777, 5, 4096, 4097, 131073
};

static void
test_eight_moments(void **state)
{
	struct trace t;
	struct tstats s;

	tutil_trace(&t, eight, 8);
	assert_int_equal(tstats_compute(&t, &s), SK_OK);
	assert_int_equal(s.n, 8);
	/* 5 + 347 + 2112 + 4096 + 4097 + 10919 + 131073 + 1823777 */
	assert_int_equal(s.tokens, 1976426);
	/* 1976426 / 8 */
	assert_near(s.mean, 247053.25, 1e-9);
	/*
	 * Deviations from the mean: -247048.25, -246706.25, -244941.25,
	 * -242957.25, -242956.25, -236134.25, -115980.25, 1576723.75; their
	 * squares sum to 2855217578537.5, / 7 = 407888225505.357..., whose
	 * root is 638661.276034.
	 */
	assert_near(s.sd, 638661.2760339843, 1e-6);
	assert_int_equal(s.min, 5);
	assert_int_equal(s.max, 1823777);
	/*
	 * Quantile f: h = f * (n - 1) = 7f, x(floor h) + (h - floor h) *
	 * (x(floor h + 1) - x(floor h)).
	 *   p50:  h = 3.5:   4096 + 0.5 * 1 = 4096.5
	 *   p90:  h = 6.3:   131073 + 0.3 * 1692704 = 638884.2
	 *   p99:  h = 6.93:  131073 + 0.93 * 1692704 = 1705287.72
	 *   p999: h = 6.993: 131073 + 0.993 * 1692704 = 1811928.072
	 */
	assert_near(s.p50, 4096.5, 1e-9);
	assert_near(s.p90, 638884.2, 1e-6);
	assert_near(s.p99, 1705287.72, 1e-6);
	assert_near(s.p999, 1811928.072, 1e-6);
	trace_free(&t);
}

static void
test_eight_above(void **state)
{
	struct trace t;
	struct tstats s;
	/* Sum of squares: 25 + 120409 + 4460544 + 16777216 + 16785409 +
	 * 119224561 + 17180131329 + 3326162545729 */
	const double sq = 3343500045222.0;

	tutil_trace(&t, eight, 8);
	assert_int_equal(tstats_compute(&t, &s), SK_OK);
	/* > 1024: all but 5 and 347: 6 samples, 1976426 - 352 tokens,
	 * attention sq - 25 - 120409. */
	assert_near(s.above_samples[0], 6 / 8.0, 1e-15);
	assert_near(s.above_tokens[0], 1976074 / 1976426.0, 1e-15);
	assert_near(s.above_attn[0], 3343499924788.0 / sq, 1e-15);
	/* > 4096 is strict: 4096 is out, 4097 in. */
	assert_near(s.above_samples[1], 4 / 8.0, 1e-15);
	assert_near(s.above_tokens[1], 1969866 / 1976426.0, 1e-15);
	assert_near(s.above_attn[1], 3343478687028.0 / sq, 1e-15);
	/* > 8192: 10919, 131073, 1823777. */
	assert_near(s.above_samples[2], 3 / 8.0, 1e-15);
	assert_near(s.above_tokens[2], 1965769 / 1976426.0, 1e-15);
	assert_near(s.above_attn[2], 3343461901619.0 / sq, 1e-15);
	/* > 32768 and > 131072: 131073 and 1823777 both times. */
	assert_near(s.above_samples[3], 2 / 8.0, 1e-15);
	assert_near(s.above_tokens[3], 1954850 / 1976426.0, 1e-15);
	assert_near(s.above_attn[3], 3343342677058.0 / sq, 1e-15);
	assert_near(s.above_samples[4], 2 / 8.0, 1e-15);
	assert_near(s.above_tokens[4], 1954850 / 1976426.0, 1e-15);
	assert_near(s.above_attn[4], 3343342677058.0 / sq, 1e-15);
	trace_free(&t);
}

static void
test_eight_histogram(void **state)
{
	struct trace t;
	struct tstats s;
	uint64_t ns[TSTATS_NBINS] = { 0 }, nt[TSTATS_NBINS] = { 0 };
	int k;

	tutil_trace(&t, eight, 8);
	assert_int_equal(tstats_compute(&t, &s), SK_OK);
	/* floor(log2 x): 5 -> 2, 347 -> 8, 2112 -> 11, 4096 and 4097 -> 12,
	 * 10919 -> 13, 131073 -> 17, 1823777 -> 20. */
	ns[2] = 1, nt[2] = 5;
	ns[8] = 1, nt[8] = 347;
	ns[11] = 1, nt[11] = 2112;
	ns[12] = 2, nt[12] = 8193;
	ns[13] = 1, nt[13] = 10919;
	ns[17] = 1, nt[17] = 131073;
	ns[20] = 1, nt[20] = 1823777;
	for (k = 0; k < TSTATS_NBINS; k++) {
		assert_int_equal(s.bin_samples[k], ns[k]);
		assert_int_equal(s.bin_tokens[k], nt[k]);
	}
	assert_int_equal(s.bin_lo, 2);
	assert_int_equal(s.bin_hi, 20);
	trace_free(&t);
}

static void
test_eight_json(void **state)
{
	struct trace t;
	struct tstats s;
	cJSON *o, *a, *e;

	tutil_trace(&t, eight, 8);
	assert_int_equal(tstats_compute(&t, &s), SK_OK);
	assert_non_null(o = cJSON_CreateObject());
	assert_int_equal(tstats_json(&s, o), SK_OK);
	assert_near(cJSON_GetObjectItem(o, "samples")->valuedouble, 8, 0);
	assert_near(cJSON_GetObjectItem(o, "tokens")->valuedouble, 1976426, 0);
	assert_near(cJSON_GetObjectItem(o, "mean")->valuedouble, 247053.25, 0);
	assert_near(cJSON_GetObjectItem(o, "std")->valuedouble, s.sd, 0);
	assert_near(cJSON_GetObjectItem(o, "min")->valuedouble, 5, 0);
	assert_near(cJSON_GetObjectItem(o, "p50")->valuedouble, 4096.5, 0);
	assert_near(cJSON_GetObjectItem(o, "p90")->valuedouble, s.p90, 0);
	assert_near(cJSON_GetObjectItem(o, "p99")->valuedouble, s.p99, 0);
	assert_near(cJSON_GetObjectItem(o, "p99_9")->valuedouble, s.p999, 0);
	assert_near(cJSON_GetObjectItem(o, "max")->valuedouble, 1823777, 0);

	a = cJSON_GetObjectItem(o, "above");
	assert_true(cJSON_IsArray(a));
	assert_int_equal(cJSON_GetArraySize(a), TSTATS_NTHRESH);
	e = cJSON_GetArrayItem(a, 1);
	assert_near(cJSON_GetObjectItem(e, "threshold")->valuedouble, 4096, 0);
	assert_near(cJSON_GetObjectItem(e, "samples")->valuedouble, 0.5, 0);
	assert_near(cJSON_GetObjectItem(e, "tokens")->valuedouble,
	    s.above_tokens[1], 0);
	assert_near(cJSON_GetObjectItem(e, "attention")->valuedouble,
	    s.above_attn[1], 0);

	/* Bins 2..20, the empty ones between included. */
	a = cJSON_GetObjectItem(o, "histogram");
	assert_int_equal(cJSON_GetArraySize(a), 19);
	e = cJSON_GetArrayItem(a, 0);
	assert_near(cJSON_GetObjectItem(e, "lo")->valuedouble, 4, 0);
	assert_near(cJSON_GetObjectItem(e, "hi")->valuedouble, 8, 0);
	assert_near(cJSON_GetObjectItem(e, "samples")->valuedouble, 1, 0);
	assert_near(cJSON_GetObjectItem(e, "tokens")->valuedouble, 5, 0);
	e = cJSON_GetArrayItem(a, 12 - 2);
	assert_near(cJSON_GetObjectItem(e, "lo")->valuedouble, 4096, 0);
	assert_near(cJSON_GetObjectItem(e, "hi")->valuedouble, 8192, 0);
	assert_near(cJSON_GetObjectItem(e, "samples")->valuedouble, 2, 0);
	assert_near(cJSON_GetObjectItem(e, "tokens")->valuedouble, 8193, 0);
	e = cJSON_GetArrayItem(a, 3 - 2);
	assert_near(cJSON_GetObjectItem(e, "samples")->valuedouble, 0, 0);
	e = cJSON_GetArrayItem(a, 18);
	assert_near(cJSON_GetObjectItem(e, "lo")->valuedouble, 1048576, 0);
	assert_near(cJSON_GetObjectItem(e, "tokens")->valuedouble, 1823777, 0);
	cJSON_Delete(o);
	trace_free(&t);
}

/* One sample: sd is 0 (not GSL's 0/0), every quantile is the sample. */
static void
test_one(void **state)
{
	static const uint32_t one[] = { 777 };
	struct trace t;
	struct tstats s;

	tutil_trace(&t, one, 1);
	assert_int_equal(tstats_compute(&t, &s), SK_OK);
	assert_near(s.mean, 777, 0);
	assert_near(s.sd, 0, 0);
	assert_near(s.p50, 777, 0);
	assert_near(s.p999, 777, 0);
	assert_int_equal(s.bin_lo, 9);
	assert_int_equal(s.bin_hi, 9);
	trace_free(&t);
}

/*
 * The extremes: 1 token (bin 0) and TRACE_LEN_MAX (bin 30), whose tokens
 * pass 2^32 and whose squares, 2^62 each, pass 2^64 in sum.
 */
static void
test_extremes(void **state)
{
	static const uint32_t v[] = {
		TRACE_LEN_MAX, 1, TRACE_LEN_MAX, TRACE_LEN_MAX, TRACE_LEN_MAX
	};
	const double m = TRACE_LEN_MAX;
	struct trace t;
	struct tstats s;

	tutil_trace(&t, v, 5);
	assert_int_equal(tstats_compute(&t, &s), SK_OK);
	assert_int_equal(s.tokens, 4 * (uint64_t)TRACE_LEN_MAX + 1);
	assert_int_equal(s.min, 1);
	assert_int_equal(s.max, TRACE_LEN_MAX);
	assert_int_equal(s.bin_lo, 0);
	assert_int_equal(s.bin_hi, 30);
	assert_int_equal(s.bin_samples[30], 4);
	assert_int_equal(s.bin_tokens[30], 4 * (uint64_t)TRACE_LEN_MAX);
	/* h = 0.5 * 4 = 2: x(2) = TRACE_LEN_MAX. */
	assert_near(s.p50, m, 0);
	assert_near(s.above_samples[4], 0.8, 1e-15);
	assert_near(s.above_attn[4], 4 * m * m / (4 * m * m + 1), 1e-15);
	assert_near(s.above_tokens[4], 4 * m / (4 * m + 1), 1e-15);
	trace_free(&t);
}

static void
test_errors(void **state)
{
	static const uint32_t zero[] = { 3, 0 };
	struct trace t;
	struct tstats s;

	trace_init(&t);
	assert_int_equal(tstats_compute(&t, &s), SK_ERR_ARG);
	assert_string_equal(err_msg(), "statistics of an empty trace");
	tutil_trace(&t, zero, 2);
	assert_int_equal(tstats_compute(&t, &s), SK_ERR_RANGE);
	trace_free(&t);
}

/* The k-th smallest of v (0-based) by counting, without sorting. */
static double
order_stat(const uint32_t *v, size_t n, size_t k)
{
	size_t i, j, less, equal;

	for (i = 0; i < n; i++) {
		less = equal = 0;
		for (j = 0; j < n; j++) {
			less += v[j] < v[i];
			equal += v[j] == v[i];
		}
		if (less <= k && k < less + equal)
			return v[i];
	}
	fail();
	return 0;
}

static double
naive_quantile(const uint32_t *v, size_t n, double f)
{
	double h = f * (double)(n - 1), lo;
	size_t k = (size_t)h;

	lo = order_stat(v, n, k);
	return k + 1 < n ? lo + (h - k) * (order_stat(v, n, k + 1) - lo) : lo;
}

/*
 * A second method on a random trace with repeats and a heavy tail:
 * quantiles from order statistics found by counting, moments and shares by
 * direct sums, bins by repeated halving.
 */
static void
test_second_method(void **state)
{
	enum { N = 1501 };
	uint32_t v[N];
	struct trace t;
	struct tstats s;
	long double sum = 0, dev = 0, mean;
	uint64_t bins[TSTATS_NBINS] = { 0 };
	size_t i, above;
	int k, b;
	uint32_t x;

	srand(7);
	for (i = 0; i < N; i++) {
		/* Log-uniform-ish over 1..2^24 with many ties below 64. */
		x = (uint32_t)rand() % 25;
		v[i] = 1 + (uint32_t)rand() % (1u << x);
	}
	tutil_trace(&t, v, N);
	assert_int_equal(tstats_compute(&t, &s), SK_OK);
	assert_near(s.p50, naive_quantile(v, N, 0.5), 1e-9 * s.max);
	assert_near(s.p90, naive_quantile(v, N, 0.9), 1e-9 * s.max);
	assert_near(s.p99, naive_quantile(v, N, 0.99), 1e-9 * s.max);
	assert_near(s.p999, naive_quantile(v, N, 0.999), 1e-9 * s.max);
	assert_near(s.min, naive_quantile(v, N, 0), 0);
	assert_near(s.max, naive_quantile(v, N, 1), 0);

	for (i = 0; i < N; i++)
		sum += v[i];
	mean = sum / N;
	for (i = 0; i < N; i++)
		dev += (v[i] - mean) * (v[i] - mean);
	assert_int_equal(s.tokens, (uint64_t)sum);
	assert_near(s.mean, (double)mean, 1e-9 * s.mean);
	assert_near(s.sd, sqrtl(dev / (N - 1)), 1e-9 * s.sd);

	for (k = 0; k < TSTATS_NTHRESH; k++) {
		for (i = 0, above = 0; i < N; i++)
			above += v[i] > tstats_thresh[k];
		assert_near(s.above_samples[k], (double)above / N, 1e-15);
	}
	for (i = 0; i < N; i++) {
		for (b = 0, x = v[i]; x > 1; x /= 2)
			b++;
		bins[b]++;
	}
	for (k = 0; k < TSTATS_NBINS; k++)
		assert_int_equal(s.bin_samples[k], bins[k]);
	trace_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eight_moments),
		cmocka_unit_test(test_eight_above),
		cmocka_unit_test(test_eight_histogram),
		cmocka_unit_test(test_eight_json),
		cmocka_unit_test(test_one),
		cmocka_unit_test(test_extremes),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_second_method),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
