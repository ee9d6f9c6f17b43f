/*
 * Unit tests of opt: the MILP's optimum against brute force, every
 * placement of tiny micro-batches enumerated and timed by mbtime_eval
 * (an independent derivation: the MILP is opt.c's own writing of the
 * time model, the enumeration only calls mbtime), and cases small enough
 * to check by hand.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <gsl/gsl_rng.h>

#include "err.h"
#include "job.h"
#include "mbtime.h"
#include "opt.h"
#include "tutil.h"

/* GLPK's objective tolerance is 1e-9 of the incumbent (opt.h); the
 * optimum it returns is timed by mbtime_eval, as the brute force's is. */
#define REL 1e-9

/* The options of W ranks: whole on each rank, then every aligned block. */
static size_t
options(int W, struct mbt_item *o)
{
	size_t k = 0;
	int d, a;

	for (a = 0; a < W; a++) {
		o[k].first = a;
		o[k++].size = 1;
	}
	for (d = 2; d <= W; d++)
		for (a = 0; W % d == 0 && a < W; a += d) {
			o[k].first = a;
			o[k++].size = d;
		}
	return k;
}

/* The least mbtime_eval over every placement that fits; INFINITY when
 * none does. */
static double
brute(const struct job *j, int W, int g0, const uint32_t *len, size_t n,
    struct mbt_item *best)
{
	struct mbt_item o[64], it[8];
	struct mbtime mt;
	uint64_t scratch[64];
	size_t no = options(W, o), k[8], i;
	double t, least = INFINITY;

	assert_true(n <= 8);
	assert_int_equal(mbtime_init(&mt, W, n), SK_OK);
	memset(k, 0, sizeof k);
	for (;;) {
		for (i = 0; i < n; i++) {
			it[i] = o[k[i]];
			it[i].len = len[i];
		}
		if (mbtime_fits(j, W, it, n, scratch)) {
			t = mbtime_eval(&mt, j, W, g0, it, n, NULL);
			if (t < least) {
				least = t;
				memcpy(best, it, n * sizeof *it);
			}
		}
		for (i = 0; i < n && ++k[i] == no; i++)
			k[i] = 0;
		if (i == n)
			break;
	}
	mbtime_free(&mt);
	return least;
}

/* A collective table for groups of `group` GPUs, rows neither convex nor
 * concave: 2 to 6 byte sizes from 20 to 20000 tokens' K/V of the small
 * model (512 bytes each), latencies rising by a random factor per row. */
static void
random_table(gsl_rng *r, struct cluster *c, int group)
{
	int k, n = 2 + (int)gsl_rng_uniform_int(r, 5);
	double b = 1e4, s = 2e-5 + 3e-5 * gsl_rng_uniform(r);

	c->coll.n = n;
	c->coll.group = group;
	for (k = 0; k < n; k++) {
		b *= 2 + 8 * gsl_rng_uniform(r);
		s *= 1.05 + 2.5 * gsl_rng_uniform(r);
		c->coll.bytes[k] = b;
		c->coll.sec[COLL_ALLGATHER][k] = s;
		c->coll.sec[COLL_REDUCESCATTER][k] = s * (0.8 + 0.4 *
		    gsl_rng_uniform(r));
	}
}

/* One random case: W ranks, n samples, a job drawn from the small model
 * or the default (Qwen2.5-0.5B on H100, Table 5 for 8 GPUs), its
 * recompute, precision, bucket, node size and first GPU random. */
static void
random_case(gsl_rng *r, struct job *j, int W, size_t n, uint32_t *len,
    int *g0)
{
	static const int per[] = { 2, 4, 8 };
	uint64_t tok;
	size_t i;

	if (gsl_rng_uniform_int(r, 2) == 0) {
		tutil_small_job(j);
		if (gsl_rng_uniform_int(r, 2) == 0)
			random_table(r, &j->cluster, 2 << gsl_rng_uniform_int(r,
			    2));
	} else {
		job_default(j);
	}
	j->recompute = (enum recompute)gsl_rng_uniform_int(r, 3);
	j->precision = gsl_rng_uniform_int(r, 4) == 0 ? PRECISION_FP32 :
	    PRECISION_BF16;
	j->cluster.gpus_per_node = per[gsl_rng_uniform_int(r, 3)];
	j->bucket = 200 + (uint32_t)gsl_rng_uniform_int(r, 30000);
	j->bucket_auto = 0;
	*g0 = (int)gsl_rng_uniform_int(r, 16);
	do {
		tok = 0;
		for (i = 0; i < n; i++) {
			/* Log-uniform from 1 token to twice the bucket; now
			 * and then an empty sample. */
			len[i] = gsl_rng_uniform_int(r, 40) == 0 ? 0 :
			    (uint32_t)exp(gsl_rng_uniform(r) *
			    log(2.0 * j->bucket));
			tok += len[i];
		}
	} while (tok > (uint64_t)W * j->bucket);
}

static void
check_case(const struct job *j, int W, int g0, const uint32_t *len,
    size_t n, const char *what, size_t c)
{
	struct mbt_item want[8], got[8];
	struct opt_result res;
	double least = brute(j, W, g0, len, n, want);

	assert_true(isfinite(least));
	if (opt_place(j, W, g0, len, n, 0, NULL, got, &res) != SK_OK)
		fail_msg("%s %zu: %s", what, c, err_msg());
	if (res.status != OPT_OPTIMAL)
		fail_msg("%s %zu: status %d (%s)", what, c, (int)res.status,
		    res.why);
	if (!(fabs(res.time - least) <= REL * least))
		fail_msg("%s %zu: W %d, n %zu: opt %.17g, brute force %.17g "
		    "(%+.3g)", what, c, W, n, res.time, least,
		    (res.time - least) / least);
	assert_true(res.bound <= res.time && res.bound >= least * (1 - REL));
	assert_true(res.model_err < REL);
}

/* Hundreds of random tiny micro-batches on 2, 4, 6 and 8 ranks. */
static void
test_brute_force(void **state)
{
	static const struct { int W; size_t nmax, cases; } shape[] = {
		{ 2, 6, 120 }, { 4, 5, 200 }, { 6, 3, 40 }, { 8, 3, 60 }
	};
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	struct job j;
	uint32_t len[8];
	size_t s, c, n;
	int g0;

	assert_non_null(r);
	gsl_rng_set(r, 20250519);
	for (s = 0; s < sizeof shape / sizeof shape[0]; s++)
		for (c = 0; c < shape[s].cases; c++) {
			n = 1 + gsl_rng_uniform_int(r, shape[s].nmax);
			random_case(r, &j, shape[s].W, n, len, &g0);
			check_case(&j, shape[s].W, g0, len, n, "case", c);
		}
	gsl_rng_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_brute_force),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
