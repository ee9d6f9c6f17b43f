/* synth: see synth.h. */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "err.h"
#include "mem.h"
#include "synth.h"

/* Longest item of a CDF specification, in bytes. */
#define ITEM_MAX 128

/*
 * Parse a decimal number at s into *x, *end past it.  strtod alone would
 * also take leading spaces, signs, hexadecimal, "inf" and "nan".
 */
static int
decimal(const char *s, double *x, char **end)
{
	if (!isdigit((unsigned char)s[0]) && s[0] != '.')
		return -1;
	if (strpbrk(s, "xX") != NULL)
		return -1;
	*x = strtod(s, end);
	return *end == s || !isfinite(*x) ? -1 : 0;
}

/*
 * Parse a length in tokens: a positive number with an optional K or M
 * suffix (x1024, x1048576), an integer unless frac, at most TRACE_LEN_MAX.
 * Returns 0, or -1 with *why saying what is wrong.
 */
static int
parse_len(const char *s, int frac, double *out, const char **why)
{
	double x, mult = 1;
	char *end;

	*why = frac ? "expected a positive number of tokens with an "
	    "optional K or M suffix" : "expected a positive integer number "
	    "of tokens with an optional K or M suffix";
	if (frac) {
		if (decimal(s, &x, &end) != 0)
			return -1;
	} else {
		if (!isdigit((unsigned char)s[0]))
			return -1;
		errno = 0;
		x = (double)strtoull(s, &end, 10);
		if (errno != 0)
			x = HUGE_VAL;
	}
	if (*end == 'K' || *end == 'k') {
		mult = 1024;
		end++;
	} else if (*end == 'M' || *end == 'm') {
		mult = 1048576;
		end++;
	}
	if (*end != '\0')
		return -1;
	x *= mult;
	if (!(x > 0)) {
		*why = "a length must be positive";
		return -1;
	}
	if (x > TRACE_LEN_MAX) {
		*why = "a length must be at most 2147483647 tokens";
		return -1;
	}
	*out = x;
	return 0;
}

/* Parse a number, or a percentage "87.88%" into its hundredth when pct. */
static int
parse_num(const char *s, int pct, double *out)
{
	char *end;
	double x;

	if (decimal(s, &x, &end) != 0)
		return -1;
	if (*end == '%') {
		if (pct)
			x /= 100;
		end++;
	}
	if (*end != '\0')
		return -1;
	*out = x;
	return 0;
}

int
synth_cdf_parse(const char *spec, struct synth_cdf *cdf)
{
	char item[ITEM_MAX], *val;
	const char *p = spec, *why;
	size_t len, pos = 0, n = 0, maxpos = 0;
	double x, f;

	memset(cdf, 0, sizeof *cdf);
	cdf->len[0] = 1;
	cdf->cdf[0] = 0;
	/* Messages quote the item from spec (len bytes at p); item is the
	 * copy that parsing cuts at the ':'. */
	for (;; p += len + 1) {
		len = strcspn(p, ",");
		pos++;
		if (maxpos != 0)
			return err_set(SK_ERR_ARG, "cdf item %zu '%.*s': nothing "
			    "may follow 'max:LMAX'", pos, (int)len, p);
		if (len >= sizeof item)
			return err_set(SK_ERR_ARG, "cdf item %zu '%.*s...': "
			    "too long", pos, 16, p);
		memcpy(item, p, len);
		item[len] = '\0';
		if ((val = strchr(item, ':')) == NULL)
			return err_set(SK_ERR_ARG, "cdf item %zu '%s': expected "
			    "LENGTH:SHARE, min:LENGTH or max:LENGTH", pos, item);
		*val++ = '\0';

		if (strcmp(item, "min") == 0) {
			if (pos != 1)
				return err_set(SK_ERR_ARG, "cdf item %zu '%.*s': "
				    "'min' may only be the first item", pos,
				    (int)len, p);
			if (parse_len(val, 0, &x, &why) != 0)
				return err_set(SK_ERR_ARG, "cdf item %zu '%.*s': "
				    "%s", pos, (int)len, p, why);
			cdf->len[0] = x;
		} else if (strcmp(item, "max") == 0) {
			if (parse_len(val, 0, &x, &why) != 0)
				return err_set(SK_ERR_ARG, "cdf item %zu '%.*s': "
				    "%s", pos, (int)len, p, why);
			if (x <= cdf->len[n])
				return err_set(SK_ERR_ARG, "cdf item %zu '%.*s': "
				    "max %.0f is not above the point %.0f of "
				    "item %zu; list only the points below max",
				    pos, (int)len, p, x, cdf->len[n],
				    pos - 1);
			n++;
			cdf->len[n] = x;
			cdf->cdf[n] = 1;
			maxpos = pos;
		} else {
			if (parse_len(item, 0, &x, &why) != 0)
				return err_set(SK_ERR_ARG, "cdf item %zu '%.*s': "
				    "%s", pos, (int)len, p, why);
			if (parse_num(val, 1, &f) != 0 || f < 0 || f > 1)
				return err_set(SK_ERR_ARG, "cdf item %zu '%.*s': "
				    "share '%s' is not a fraction in [0,1] or a "
				    "percentage in [0%%,100%%]", pos, (int)len, p,
				    val);
			if (x <= cdf->len[n])
				return err_set(SK_ERR_ARG, "cdf item %zu '%.*s': "
				    "length %.0f is not above the previous %.0f",
				    pos, (int)len, p, x, cdf->len[n]);
			if (f < cdf->cdf[n])
				return err_set(SK_ERR_ARG, "cdf item %zu '%.*s': "
				    "share %g is below the previous %g", pos,
				    (int)len, p, f, cdf->cdf[n]);
			/* Leave room for the max point. */
			if (n + 1 == SYNTH_CDF_MAX)
				return err_set(SK_ERR_ARG, "cdf item %zu '%.*s': "
				    "more than %d points", pos, (int)len, p,
				    SYNTH_CDF_MAX);
			n++;
			cdf->len[n] = x;
			cdf->cdf[n] = f;
		}
		if (p[len] == '\0')
			break;
	}
	if (maxpos == 0)
		return err_set(SK_ERR_ARG, "cdf '%s': the last item must be "
		    "'max:LMAX'", spec);
	cdf->n = n;
	return SK_OK;
}

int
synth_component_parse(const char *arg, struct synth_component *c)
{
	const char *eq, *colon, *kind, *params, *why;
	char buf[ITEM_MAX], *sigma, pre[ERR_MSG_MAX / 2];
	size_t klen;

	memset(c, 0, sizeof *c);
	c->weight = 1;
	/* An '=' after the kind's ':' belongs to the parameters (a path). */
	eq = strchr(arg, '=');
	colon = strchr(arg, ':');
	if (eq != NULL && (colon == NULL || eq < colon)) {
		/* Weights are relative: "99.89%" is the weight 99.89. */
		klen = (size_t)(eq - arg);
		snprintf(buf, sizeof buf, "%.*s", (int)klen, arg);
		if (klen >= sizeof buf || parse_num(buf, 0, &c->weight) != 0 ||
		    !(c->weight > 0))
			return err_set(SK_ERR_ARG, "component '%s': weight "
			    "'%.*s' is not a positive number or percentage",
			    arg, (int)(eq - arg), arg);
		kind = eq + 1;
	} else
		kind = arg;
	if (colon == NULL)
		return err_set(SK_ERR_ARG, "component '%s': expected "
		    "[WEIGHT=]KIND:PARAMS with KIND cdf, lognormal or trace",
		    arg);
	klen = (size_t)(colon - kind);
	params = colon + 1;

	if (klen == 3 && strncmp(kind, "cdf", 3) == 0) {
		c->kind = SYNTH_CDF;
		if (synth_cdf_parse(params, &c->cdf) != SK_OK) {
			snprintf(pre, sizeof pre, "component '%s'", arg);
			err_prefix(pre);
			return SK_ERR_ARG;
		}
	} else if (klen == 9 && strncmp(kind, "lognormal", 9) == 0) {
		c->kind = SYNTH_LOGNORMAL;
		if ((size_t)snprintf(buf, sizeof buf, "%s", params) >=
		    sizeof buf || (sigma = strchr(buf, ':')) == NULL)
			return err_set(SK_ERR_ARG, "component '%s': expected "
			    "lognormal:MEDIAN:SIGMA", arg);
		*sigma++ = '\0';
		if (parse_len(buf, 1, &c->median, &why) != 0)
			return err_set(SK_ERR_ARG, "component '%s': median "
			    "'%s': %s", arg, buf, why);
		if (parse_num(sigma, 0, &c->sigma) != 0 ||
		    strchr(sigma, '%') != NULL || !(c->sigma > 0))
			return err_set(SK_ERR_ARG, "component '%s': sigma '%s' "
			    "is not a positive number", arg, sigma);
	} else if (klen == 5 && strncmp(kind, "trace", 5) == 0) {
		c->kind = SYNTH_TRACE;
		if (*params == '\0')
			return err_set(SK_ERR_ARG, "component '%s': expected "
			    "trace:PATH", arg);
		c->path = params;
	} else
		return err_set(SK_ERR_ARG, "component '%s': unknown kind "
		    "'%.*s' (expected cdf, lognormal or trace)", arg,
		    (int)klen, kind);
	return SK_OK;
}

/* x rounded to the nearest token and clamped to [lo, hi]. */
static uint32_t
clamp_round(double x, uint32_t lo, uint32_t hi)
{
	/* Clamping first keeps lround in range; both bounds are integers,
	 * so the order does not change the result. */
	if (!(x >= lo))
		x = lo;
	else if (x > hi)
		x = hi;
	return (uint32_t)lround(x);
}

/* One length from a CDF, log-linear inside the bin u falls in. */
static double
cdf_draw(const struct synth_cdf *cdf, double u)
{
	size_t a = 1, b = cdf->n, m;

	/* Smallest i with u < cdf[i]; cdf[n] = 1 > u, so one exists, and
	 * cdf[i-1] <= u < cdf[i] means bin i has non-zero width. */
	while (a < b) {
		m = a + (b - a) / 2;
		if (u < cdf->cdf[m])
			b = m;
		else
			a = m + 1;
	}
	return exp(log(cdf->len[a - 1]) + (u - cdf->cdf[a - 1]) /
	    (cdf->cdf[a] - cdf->cdf[a - 1]) *
	    (log(cdf->len[a]) - log(cdf->len[a - 1])));
}

/*
 * The exact quota n * w / wsum of a component of weight w <= wsum.  A
 * weight near DBL_MAX makes n * w infinite (and floor(inf) converted to
 * size_t is undefined), so then the weight is normalised first; otherwise
 * the product comes first, as it always has, so that counts do not change.
 */
static double
quota(size_t n, double w, double wsum)
{
	double q = (double)n * w;

	return isfinite(q) ? q / wsum : (double)n * (w / wsum);
}

/*
 * Samples of component i among n: largest remainder of the exact quotas
 * n * w_i / W, the leftover units going to the largest remainders, ties to
 * the lower index.  Recomputes the ranks instead of storing them: k is
 * small and this needs no allocation.
 */
static size_t
share(const struct synth_component *c, size_t k, size_t n, double wsum,
    size_t i)
{
	double q, r, rj;
	size_t j, floors = 0, rank = 0;

	for (j = 0; j < k; j++)
		floors += (size_t)floor(quota(n, c[j].weight, wsum));
	q = quota(n, c[i].weight, wsum);
	r = q - floor(q);
	for (j = 0; j < k; j++) {
		rj = quota(n, c[j].weight, wsum);
		rj -= floor(rj);
		if (rj > r || (rj == r && j < i))
			rank++;
	}
	return (size_t)floor(q) + (rank < n - floors ? 1 : 0);
}

int
synth_generate(const struct synth_component *c, size_t k, size_t n,
    unsigned long seed, uint32_t lo, uint32_t hi, struct trace *out)
{
	gsl_rng *r;
	double wsum = 0, mu;
	size_t i, j, cnt, pos = 0;
	uint32_t *len;
	int rc;

	if (k < 1)
		return err_set(SK_ERR_ARG, "synthesis needs at least one "
		    "component");
	if (n < 1)
		return err_set(SK_ERR_ARG, "synthesis needs at least one "
		    "sample");
	if (lo < 1 || lo > hi || hi > TRACE_LEN_MAX)
		return err_set(SK_ERR_ARG, "length bounds [%u, %u] are not "
		    "within 1 <= lo <= hi <= %u tokens", lo, hi, TRACE_LEN_MAX);
	for (i = 0; i < k; i++) {
		if (!(c[i].weight > 0) || !isfinite(c[i].weight))
			return err_set(SK_ERR_ARG, "component %zu: weight %g is "
			    "not a positive finite number", i + 1, c[i].weight);
		if (c[i].kind == SYNTH_TRACE) {
			if (c[i].trace == NULL || c[i].trace->n == 0)
				return err_set(SK_ERR_ARG, "component %zu: empty "
				    "trace", i + 1);
			if (c[i].trace == out)
				return err_set(SK_ERR_ARG, "component %zu: the "
				    "trace is also the output", i + 1);
			/* gsl_rng_uniform_int draws below 2^32 only. */
			if (c[i].trace->n > 0xffffffffUL)
				return err_set(SK_ERR_RANGE, "component %zu: "
				    "more than 2^32 - 1 samples", i + 1);
		}
		wsum += c[i].weight;
	}
	if (!isfinite(wsum))
		return err_set(SK_ERR_RANGE, "the component weights sum to "
		    "more than %g", DBL_MAX);
	if ((rc = mem_check("synthesis", (double)n * MEM_TRACE_BYTES, n)) !=
	    SK_OK || (rc = trace_reserve(out, n)) != SK_OK)
		return rc;
	/* Nothing fails after this allocation, so r has one way out. */
	if ((r = gsl_rng_alloc(gsl_rng_mt19937)) == NULL)
		return err_set(SK_ERR_NOMEM, "random generator: out of memory");
	gsl_rng_set(r, seed);

	len = out->len;
	for (i = 0; i < k; i++) {
		cnt = share(c, k, n, wsum, i);
		switch (c[i].kind) {
		case SYNTH_CDF:
			for (j = 0; j < cnt; j++)
				len[pos++] = clamp_round(cdf_draw(&c[i].cdf,
				    gsl_rng_uniform(r)), lo, hi);
			break;
		case SYNTH_LOGNORMAL:
			mu = log(c[i].median);
			for (j = 0; j < cnt; j++)
				len[pos++] = clamp_round(gsl_ran_lognormal(r, mu,
				    c[i].sigma), lo, hi);
			break;
		case SYNTH_TRACE:
			for (j = 0; j < cnt; j++)
				len[pos++] = clamp_round(c[i].trace->len[
				    gsl_rng_uniform_int(r, c[i].trace->n)], lo,
				    hi);
			break;
		}
	}
	gsl_ran_shuffle(r, len, n, sizeof *len);
	out->n = n;
	gsl_rng_free(r);
	return SK_OK;
}

int
synth_sample(const struct trace *in, size_t n, unsigned long seed,
    int replace, int shuffle, struct trace *out)
{
	gsl_rng *r;
	int rc;

	if (in == out)
		return err_set(SK_ERR_ARG, "sampling a trace into itself");
	if (n < 1)
		return err_set(SK_ERR_ARG, "sample size must be at least 1");
	if (in->n == 0)
		return err_set(SK_ERR_ARG, "cannot sample an empty trace");
	if (!replace && n > in->n)
		return err_set(SK_ERR_ARG, "cannot draw %zu of %zu samples "
		    "without replacement", n, in->n);
	/* gsl_ran_sample draws indices with gsl_rng_uniform_int: < 2^32. */
	if (replace && in->n > 0xffffffffUL)
		return err_set(SK_ERR_RANGE, "cannot sample with replacement "
		    "from more than 2^32 - 1 samples");
	if ((rc = mem_check("sampling", (double)n * MEM_TRACE_BYTES, n)) !=
	    SK_OK || (rc = trace_reserve(out, n)) != SK_OK)
		return rc;
	/* Nothing fails after this allocation, so r has one way out. */
	if ((r = gsl_rng_alloc(gsl_rng_mt19937)) == NULL)
		return err_set(SK_ERR_NOMEM, "random generator: out of memory");
	gsl_rng_set(r, seed);

	if (replace)
		gsl_ran_sample(r, out->len, n, in->len, in->n, sizeof *in->len);
	else {
		gsl_ran_choose(r, out->len, n, in->len, in->n, sizeof *in->len);
		if (shuffle)
			gsl_ran_shuffle(r, out->len, n, sizeof *out->len);
	}
	out->n = n;
	gsl_rng_free(r);
	return SK_OK;
}
