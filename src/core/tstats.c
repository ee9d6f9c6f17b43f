/* tstats: see tstats.h. */
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_histogram.h>
#include <gsl/gsl_statistics_uint.h>

#include "err.h"
#include "mem.h"
#include "tstats.h"

const uint32_t tstats_thresh[TSTATS_NTHRESH] = {
	1024, 4096, 8192, 32768, 131072
};

/*
 * Sort n lengths with an LSD radix sort by 11-bit digits, using tmp (n
 * entries) as the second buffer; returns the buffer that holds the result.
 * Why not GSL: gsl_sort_uint (heapsort) and libc qsort each take ~135 ms
 * on a million lengths, this takes a few; GSL still computes every
 * statistic from the sorted data.
 */
#define RADIX_BITS 11
#define RADIX_PASSES 3  /* 3 * 11 >= 32 bits */
#define RADIX_SIZE (1u << RADIX_BITS)

static uint32_t *
radix_sort(uint32_t *v, uint32_t *tmp, size_t n)
{
	size_t count[RADIX_PASSES][RADIX_SIZE] = { { 0 } };
	size_t i, sum, c;
	uint32_t *swap;
	int p, shift;
	unsigned d;

	for (i = 0; i < n; i++)
		for (p = 0; p < RADIX_PASSES; p++)
			count[p][(v[i] >> (p * RADIX_BITS)) & (RADIX_SIZE - 1)]++;
	for (p = 0; p < RADIX_PASSES; p++) {
		shift = p * RADIX_BITS;
		/* A digit all keys share orders nothing: skip the pass. */
		if (count[p][(v[0] >> shift) & (RADIX_SIZE - 1)] == n)
			continue;
		for (d = 0, sum = 0; d < RADIX_SIZE; d++) {
			c = count[p][d];
			count[p][d] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			tmp[count[p][(v[i] >> shift) & (RADIX_SIZE - 1)]++] = v[i];
		swap = v;
		v = tmp;
		tmp = swap;
	}
	return v;
}

/* A log2 histogram: bin k spans [2^k, 2^(k+1)) tokens. */
static gsl_histogram *
log2_histogram(void)
{
	double range[TSTATS_NBINS + 1];
	gsl_histogram *h;
	int k;

	if ((h = gsl_histogram_alloc(TSTATS_NBINS)) == NULL)
		return NULL;
	for (k = 0; k <= TSTATS_NBINS; k++)
		range[k] = (double)((uint64_t)1 << k);
	gsl_histogram_set_ranges(h, range, TSTATS_NBINS + 1);
	return h;
}

int
tstats_compute(const struct trace *t, struct tstats *s)
{
	gsl_histogram *hs = NULL, *ht = NULL;
	uint32_t *buf = NULL, *v;
	uint64_t above_s[TSTATS_NTHRESH] = { 0 }, above_t[TSTATS_NTHRESH] = { 0 };
	/* Sums of S^2 reach n * 2^62: beyond uint64, so long double. */
	long double attn = 0, above_a[TSTATS_NTHRESH] = { 0 };
	size_t n = t->n, i, j;
	int k, rc = SK_OK;

	if (n == 0)
		return err_set(SK_ERR_ARG, "statistics of an empty trace");
	memset(s, 0, sizeof *s);
	if ((rc = mem_check("trace statistics", (double)n * MEM_STATS_BYTES,
	    n)) != SK_OK)
		return rc;
	buf = malloc(2 * n * sizeof *buf);
	hs = log2_histogram();
	ht = log2_histogram();
	if (buf == NULL || hs == NULL || ht == NULL) {
		rc = err_set(SK_ERR_NOMEM, "statistics of %zu samples: out of "
		    "memory", n);
		goto out;
	}
	memcpy(buf, t->len, n * sizeof *buf);
	v = radix_sort(buf, buf + n, n);
	if (v[0] == 0) {
		rc = err_set(SK_ERR_RANGE, "statistics: a sample of length 0");
		goto out;
	}

	s->n = n;
	s->min = v[0];
	s->max = v[n - 1];
	s->mean = gsl_stats_uint_mean(v, 1, n);
	/* GSL divides by n - 1: undefined for one sample. */
	s->sd = n < 2 ? 0 : gsl_stats_uint_sd_m(v, 1, n, s->mean);
	s->p50 = gsl_stats_uint_quantile_from_sorted_data(v, 1, n, 0.5);
	s->p90 = gsl_stats_uint_quantile_from_sorted_data(v, 1, n, 0.9);
	s->p99 = gsl_stats_uint_quantile_from_sorted_data(v, 1, n, 0.99);
	s->p999 = gsl_stats_uint_quantile_from_sorted_data(v, 1, n, 0.999);

	/*
	 * One pass over the runs of equal lengths of the sorted copy: real
	 * traces repeat lengths a lot, so this touches the histograms once
	 * per distinct length, not once per sample.  Their double counts are
	 * exact up to 2^53 samples or tokens per bin.
	 */
	for (i = 0; i < n; i = j) {
		uint64_t c, tok;
		long double a;

		for (j = i + 1; j < n && v[j] == v[i]; j++)
			continue;
		c = j - i;
		tok = (uint64_t)v[i] * c;
		a = (long double)v[i] * v[i] * c;
		s->tokens += tok;
		attn += a;
		gsl_histogram_accumulate(hs, v[i], (double)c);
		gsl_histogram_accumulate(ht, v[i], (double)tok);
		/* The thresholds ascend: stop at the first not passed. */
		for (k = 0; k < TSTATS_NTHRESH && v[i] > tstats_thresh[k]; k++) {
			above_s[k] += c;
			above_t[k] += tok;
			above_a[k] += a;
		}
	}
	for (k = 0; k < TSTATS_NTHRESH; k++) {
		s->above_samples[k] = (double)above_s[k] / (double)n;
		s->above_tokens[k] = (double)above_t[k] / (double)s->tokens;
		s->above_attn[k] = (double)(above_a[k] / attn);
	}
	s->bin_lo = -1;
	for (k = 0; k < TSTATS_NBINS; k++) {
		s->bin_samples[k] = (uint64_t)gsl_histogram_get(hs, (size_t)k);
		s->bin_tokens[k] = (uint64_t)gsl_histogram_get(ht, (size_t)k);
		if (s->bin_samples[k] > 0) {
			if (s->bin_lo < 0)
				s->bin_lo = k;
			s->bin_hi = k;
		}
	}

out:
	gsl_histogram_free(ht);
	gsl_histogram_free(hs);
	free(buf);
	return rc;
}

/* Add a number; nonzero when cJSON could not allocate. */
static int
num(cJSON *obj, const char *name, double x)
{
	return cJSON_AddNumberToObject(obj, name, x) == NULL;
}

int
tstats_json(const struct tstats *s, cJSON *obj)
{
	cJSON *arr, *o;
	int k, bad;

	bad = num(obj, "samples", (double)s->n) |
	    num(obj, "tokens", (double)s->tokens) |
	    num(obj, "mean", s->mean) |
	    num(obj, "std", s->sd) |
	    num(obj, "min", s->min) |
	    num(obj, "p50", s->p50) |
	    num(obj, "p90", s->p90) |
	    num(obj, "p99", s->p99) |
	    num(obj, "p99_9", s->p999) |
	    num(obj, "max", s->max);
	if (bad)
		goto nomem;

	if ((arr = cJSON_AddArrayToObject(obj, "above")) == NULL)
		goto nomem;
	for (k = 0; k < TSTATS_NTHRESH; k++) {
		if ((o = cJSON_CreateObject()) == NULL)
			goto nomem;
		if (!cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			goto nomem;
		}
		if (num(o, "threshold", tstats_thresh[k]) |
		    num(o, "samples", s->above_samples[k]) |
		    num(o, "tokens", s->above_tokens[k]) |
		    num(o, "attention", s->above_attn[k]))
			goto nomem;
	}

	if ((arr = cJSON_AddArrayToObject(obj, "histogram")) == NULL)
		goto nomem;
	for (k = s->bin_lo; k >= 0 && k <= s->bin_hi; k++) {
		if ((o = cJSON_CreateObject()) == NULL)
			goto nomem;
		if (!cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			goto nomem;
		}
		if (num(o, "lo", (double)((uint64_t)1 << k)) |
		    num(o, "hi", (double)((uint64_t)1 << (k + 1))) |
		    num(o, "samples", (double)s->bin_samples[k]) |
		    num(o, "tokens", (double)s->bin_tokens[k]))
			goto nomem;
	}
	return SK_OK;

nomem:
	return err_set(SK_ERR_NOMEM, "statistics JSON: out of memory");
}
