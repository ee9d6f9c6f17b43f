/*
 * Unit tests of opt: the MILP's optimum against brute force, every
 * placement of tiny micro-batches enumerated and timed by mbtime_eval
 * (an independent derivation: the MILP is opt.c's own writing of the
 * time model, the enumeration only calls mbtime), and cases small enough
 * to check by hand; and skrull's heuristic placement (skrull_gplace)
 * against the same brute force.
 */
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <glpk.h>
#include <gsl/gsl_rng.h>

#include "err.h"
#include "job.h"
#include "mbtime.h"
#include "opt.h"
#include "plan.h"
#include "sched.h"
#include "tutil.h"
#include "ws.h"

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
		for (c = 0; c < tutil_scale(shape[s].cases); c++) {
			n = 1 + gsl_rng_uniform_int(r, shape[s].nmax);
			random_case(r, &j, shape[s].W, n, len, &g0);
			check_case(&j, shape[s].W, g0, len, n, "case", c);
		}
	gsl_rng_free(r);
}

static double
eval(const struct job *j, int W, const struct mbt_item *it, size_t n)
{
	struct mbtime mt;
	double t;

	assert_int_equal(mbtime_init(&mt, W, n), SK_OK);
	t = mbtime_eval(&mt, j, W, 0, it, n, NULL);
	mbtime_free(&mt);
	return t;
}

/* By hand, on the small model (tutil_small_job, BucketSize 4096). */
static void
test_by_hand(void **state)
{
	struct job j;
	struct opt_result res;
	struct mbt_item out[3], one = { 2500, 0, 1 }, half = { 2500, 0, 2 };
	const uint32_t big[1] = { 6000 }, two[2] = { 2500, 2500 };
	const uint32_t three[3] = { 4096, 4096, 1 };

	tutil_small_job(&j);
	/* Longer than the bucket: only the block of both ranks holds it. */
	assert_int_equal(opt_place(&j, 2, 0, big, 1, 0, NULL, out, &res),
	    SK_OK);
	assert_int_equal(res.status, OPT_OPTIMAL);
	assert_int_equal(out[0].first, 0);
	assert_int_equal(out[0].size, 2);
	assert_int_equal(out[0].len, 6000);
	assert_true(res.gap == 0 && res.bound == res.time);
	assert_true(res.model_err < 1e-15);

	/* Two equal samples on two ranks: one whole on each, each rank's
	 * time that of one sample alone; both sharded (thinner attention,
	 * the collectives) or both on one rank (twice the work) are
	 * slower. */
	assert_int_equal(opt_place(&j, 2, 0, two, 2, 0, NULL, out, &res),
	    SK_OK);
	assert_int_equal(res.status, OPT_OPTIMAL);
	assert_int_equal(out[0].size, 1);
	assert_int_equal(out[1].size, 1);
	assert_int_not_equal(out[0].first, out[1].first);
	assert_near(res.time, eval(&j, 2, &one, 1), 1e-15 * res.time);
	assert_true(eval(&j, 2, &half, 1) > 0);
	half.len = 5000;
	assert_true(res.time < eval(&j, 2, &half, 1));
	one.len = 5000;
	assert_true(res.time < eval(&j, 2, &one, 1));
	/* The start (here the slower all-sharded) is reported beside it. */
	assert_true(res.start_time > res.time && res.improved == 1);

	/* Two full buckets and a token on two ranks: memory leaves one
	 * bucket per rank (or both sharded, 4096 on each); the optimum
	 * is what brute force finds, and fits. */
	assert_int_equal(opt_place(&j, 2, 0, three, 3, 0, NULL, out, &res),
	    SK_ERR_RANGE);
	assert_int_equal(opt_place(&j, 2, 0, three, 2, 0, NULL, out, &res),
	    SK_OK);
	assert_true(out[0].size == 2 || out[0].first != out[1].first);
}

/* Arguments and starts opt_place refuses. */
static void
test_refusals(void **state)
{
	struct job j;
	struct opt_result res;
	struct mbt_item out[2], st[2];
	const uint32_t len[2] = { 3000, 3000 };

	tutil_small_job(&j);
	assert_int_equal(opt_place(&j, 0, 0, len, 2, 0, NULL, out, &res),
	    SK_ERR_ARG);
	assert_int_equal(opt_place(&j, 2, 0, len, 2, -1, NULL, out, &res),
	    SK_ERR_ARG);
	st[0] = (struct mbt_item){ 3000, 0, 1 };
	st[1] = (struct mbt_item){ 3000, 0, 1 };  /* 6000 on rank 0 */
	assert_int_equal(opt_place(&j, 2, 0, len, 2, 0, st, out, &res),
	    SK_ERR_ARG);
	assert_non_null(strstr(err_msg(), "memory"));
	st[0] = (struct mbt_item){ 3000, 1, 2 };  /* misaligned */
	assert_int_equal(opt_place(&j, 2, 0, len, 2, 0, st, out, &res),
	    SK_ERR_ARG);
	st[0] = (struct mbt_item){ 2999, 1, 1 };  /* not its length */
	assert_int_equal(opt_place(&j, 2, 0, len, 2, 0, st, out, &res),
	    SK_ERR_ARG);
	j.cluster.gpu.peak_flops = 0;
	assert_int_equal(opt_place(&j, 2, 0, len, 2, 0, NULL, out, &res),
	    SK_ERR_ARG);
	/* No samples: nothing to place, at once. */
	tutil_small_job(&j);
	assert_int_equal(opt_place(&j, 2, 0, len, 0, 0, NULL, out, &res),
	    SK_OK);
	assert_true(res.status == OPT_OPTIMAL && res.time == 0);
}

/* Eight samples on 8 ranks of the default job take GLPK seconds to
 * prove (24 s here): stopped after 50 ms, the result is the better of the
 * start and what it found, within memory, with a bound below it and the
 * gap between them. */
static void
test_time_limit(void **state)
{
	static const uint32_t len[8] = {
		7001, 6120, 5433, 4891, 3777, 3102, 2950, 2411
	};
	struct job j;
	struct opt_result res;
	struct mbt_item st[8], out[8];
	uint64_t scratch[8];
	size_t i;

	job_default(&j);
	j.bucket = 8000;
	j.bucket_auto = 0;
	/* The start: the two longest over four ranks each, the rest
	 * whole, the heaviest with the lightest. */
	for (i = 0; i < 8; i++) {
		st[i].len = len[i];
		st[i].first = i < 2 ? 4 * (int)i : (int)(i - 2) % 8;
		st[i].size = i < 2 ? 4 : 1;
	}
	assert_true(mbtime_fits(&j, 8, st, 8, scratch));
	assert_int_equal(opt_place(&j, 8, 0, len, 8, 0.05, st, out, &res),
	    SK_OK);
	assert_int_equal(res.status, OPT_LIMIT);
	assert_true(mbtime_fits(&j, 8, out, 8, scratch));
	assert_near(res.time, eval(&j, 8, out, 8), 0);
	assert_near(res.start_time, eval(&j, 8, st, 8), 0);
	assert_true(res.time <= res.start_time);
	/* A bound once the relaxation is solved (0 before: a slow
	 * machine, valgrind), never above the time. */
	assert_true(res.bound >= 0 && res.bound <= res.time);
	assert_near(res.gap, (res.time - res.bound) / res.time, 1e-15);
	assert_true(res.gap > 0);
}

/*
 * Nothing reaches standard output, from a normal solve, a time-limited
 * one, or a GLPK fatal error (its memory limit of 1 MiB exceeded by 400
 * samples on 8 ranks), which returns the start flagged OPT_FAILED with
 * GLPK's message.
 */
static void
test_silent_failure(void **state)
{
	static const uint32_t small[3] = { 900, 2000, 3100 };
	struct job j;
	struct opt_result res;
	struct mbt_item out[400];
	uint32_t len[400];
	struct stat sb;
	const char *path = tutil_path("stdout");
	size_t i;
	int fd, saved;

	for (i = 0; i < 400; i++)
		len[i] = 10 + (uint32_t)(i * 7919 % 200);
	job_default(&j);
	j.bucket = 8000;
	j.bucket_auto = 0;
	fflush(stdout);
	assert_true((saved = dup(1)) >= 0);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >=
	    0);
	assert_true(dup2(fd, 1) == 1);
	close(fd);

	assert_int_equal(opt_place(&j, 4, 0, small, 3, 0, NULL, out, &res),
	    SK_OK);
	assert_int_equal(res.status, OPT_OPTIMAL);
	assert_int_equal(opt_place(&j, 8, 0, len, 40, 0.01, NULL, out, &res),
	    SK_OK);
	assert_int_equal(res.status, OPT_LIMIT);
	glp_mem_limit(1);
	assert_int_equal(opt_place(&j, 8, 0, len, 400, 0, NULL, out, &res),
	    SK_OK);
	assert_int_equal(res.status, OPT_FAILED);
	assert_string_equal(res.why,
	    "GLPK: glp_alloc: memory allocation limit exceeded");
	for (i = 0; i < 400; i++)
		assert_true(out[i].first == 0 && out[i].size == 8);
	assert_true(res.time == res.start_time && res.bound == 0 &&
	    res.gap == 1);
	/* GLPK's environment went with the error: a fresh one, no limit. */
	assert_int_equal(opt_place(&j, 4, 0, small, 3, 0, NULL, out, &res),
	    SK_OK);
	assert_int_equal(res.status, OPT_OPTIMAL);

	fflush(stdout);
	assert_true(dup2(saved, 1) == 1);
	close(saved);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 0);
}

/* The plan's parameter name, which must be there. */
static double
param(const struct plan *p, const char *name)
{
	int i;

	for (i = 0; i < p->nparams; i++)
		if (strcmp(p->params[i].name, name) == 0)
			return p->params[i].value;
	fail_msg("the plan has no parameter %s", name);
	return NAN;
}

/* A micro-batch of a plan as mbtime reads it. */
static size_t
items(const struct plan *p, const struct plan_mb *mb, struct mbt_item *it)
{
	size_t i;

	for (i = 0; i < mb->n; i++) {
		it[i].len = p->samples[mb->first + i].len;
		it[i].first = p->samples[mb->first + i].first;
		it[i].size = p->samples[mb->first + i].size;
	}
	return mb->n;
}

/*
 * The `optimal` policy on 48 samples (CP 4, 12 an iteration; one DP rank,
 * so no spans, whose merging depends on the placements): the
 * micro-batches of `skrull` (the same composition), each placed no slower
 * by mbtime_eval, every one proven optimal within the limit, the figures
 * recorded.  skrull's own placement is skrull_gplace's or FlexSP's rival,
 * the faster: opt-improved (against skrull_gplace) counts at least the
 * micro-batches faster than it.
 */
static void
test_policy(void **state)
{
	struct job j;
	struct sched_params p;
	struct trace t;
	struct plan a, b;
	struct mbt_item ia[64], ib[64];
	struct mbtime mt;
	uint32_t v[48];
	size_t i, r, m, n, faster = 0;
	double ta, tb;
	int W;

	for (i = 0; i < 48; i++)
		v[i] = 200 + (uint32_t)(i * 104729 % 9001) * (i % 5 == 0 ? 3 : 1);
	tutil_trace(&t, v, 48);
	tutil_job(&j, 1, 12, 4, 8192);
	sched_params_default(&p);
	p.opt_ms = 60000;
	plan_init(&a);
	plan_init(&b);
	if (sched_plan(&j, &p, "optimal", &t, NULL, &a) != SK_OK ||
	    sched_plan(&j, &p, "skrull", &t, NULL, &b) != SK_OK)
		fail_msg("%s", err_msg());
	assert_int_equal(plan_validate(&a, &t), SK_OK);
	assert_string_equal(a.policy, "optimal");
	assert_true(param(&a, "opt-ms") == 60000);
	assert_true(param(&a, "opt-gap") >= 0 &&
	    param(&a, "opt-gap") < 1e-9);
	assert_true(param(&a, "opt-limited") == 0);
	assert_true(param(&a, "opt-failed") == 0);
	assert_int_equal(a.niter, b.niter);
	assert_int_equal(a.nranks, b.nranks);
	assert_int_equal(a.nmbs, b.nmbs);
	assert_int_equal(mbtime_init(&mt, 8, 64), SK_OK);
	for (r = 0; r < a.nranks; r++) {
		assert_int_equal(a.ranks[r].n, b.ranks[r].n);
		for (m = 0; m < a.ranks[r].n; m++) {
			const struct plan_mb *ma = &a.mbs[a.ranks[r].first + m];
			const struct plan_mb *mb = &b.mbs[b.ranks[r].first + m];

			assert_int_equal(ma->n, mb->n);
			assert_int_equal(ma->span, mb->span);
			for (i = 0; i < ma->n; i++)
				assert_int_equal(a.samples[ma->first + i].index,
				    b.samples[mb->first + i].index);
			W = plan_mb_width(&a, ma);
			n = items(&a, ma, ia);
			items(&b, mb, ib);
			ta = mbtime_eval(&mt, &j, W, 0, ia, n, NULL);
			tb = mbtime_eval(&mt, &j, W, 0, ib, n, NULL);
			assert_true(ta <= tb);
			faster += ta < tb;
		}
	}
	assert_true(faster > 0 && param(&a, "opt-improved") >= (double)faster);
	mbtime_free(&mt);
	plan_free(&a);
	plan_free(&b);
	trace_free(&t);
}

/* skrull_gplace's placement of len on W ranks (the job's CP degree), with
 * tgds.c's weights (whole where it fits one rank), timed by mbtime_eval. */
static double
heuristic(struct job *j, int W, int g0, const uint32_t *len, size_t n)
{
	struct sched_params sp;
	struct sched_ws *ws;
	struct mbt_item it[8];
	double w[8], t;
	size_t i;

	j->dp = 1;
	j->cp = W;
	j->batch = (int)n;
	sched_params_default(&sp);
	assert_non_null(ws = sched_ws_new(j, &sp, n));
	for (i = 0; i < n; i++)
		w[i] = ops_seq_sec(&ws->rate, len[i], len[i] > j->bucket ? W : 1);
	if (skrull_gplace(ws, len, w, n, W, g0, it) != SK_OK)
		fail_msg("skrull_gplace: %s", err_msg());
	assert_true(mbtime_fits(j, W, it, n, ws->qmem));
	t = mbtime_eval(&ws->mbt, j, W, g0, it, n, NULL);
	sched_ws_free(ws);
	return t;
}

/*
 * skrull's placement against the optimum by brute force.  Three micro-
 * batches on one node of 8 H100 (the default model), where every sample
 * must be sharded and the optimum splits the GPUs into disjoint groups,
 * each sample's collectives among fewer of them: skrull used to shard
 * everything over all 8, or take the widest block first, 11%, 25% and 32%
 * slower (bench/optgap.sh, seed 1); now within rounding.  Then random
 * micro-batches on 8 ranks of up to 4 samples (random_case's jobs: the
 * small model with rows neither convex nor concave, or the default):
 * within 10% of the optimum on all, within 3% on at least 95% (issue 14's
 * targets, which bench/optgap.sh measures on the bundled traces).
 */
static void
test_heuristic_gap(void **state)
{
	static const struct { uint32_t bucket; size_t n; uint32_t len[4]; }
	    hard[] = {
		{ 2429, 3, { 6942, 4053, 6907 } },
		{ 1324, 4, { 3436, 300, 1762, 2852 } },
		{ 678, 4, { 435, 1499, 2262, 498 } },
	};
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	struct mbt_item best[8];
	struct job j;
	uint32_t len[8];
	size_t c, n, cases = tutil_scale(60), near = 0;
	double opt, got;
	int g0;

	(void)state;
	for (c = 0; c < sizeof hard / sizeof hard[0]; c++) {
		job_default(&j);
		j.cluster.nodes = 1;
		j.bucket = hard[c].bucket;
		j.bucket_auto = 0;
		opt = brute(&j, 8, 0, hard[c].len, hard[c].n, best);
		got = heuristic(&j, 8, 0, hard[c].len, hard[c].n);
		if (!(got <= opt * (1 + 1e-9)))
			fail_msg("case %zu: skrull %.9g, optimum %.9g", c, got,
			    opt);
	}
	assert_non_null(r);
	gsl_rng_set(r, 26051996);
	for (c = 0; c < cases; c++) {
		n = 2 + gsl_rng_uniform_int(r, 3);
		random_case(r, &j, 8, n, len, &g0);
		opt = brute(&j, 8, g0, len, n, best);
		got = heuristic(&j, 8, g0, len, n);
		if (!(got <= opt * 1.10))
			fail_msg("random %zu: skrull %.9g, optimum %.9g (%+.3g)",
			    c, got, opt, got / opt - 1);
		near += got <= opt * 1.03;
	}
	assert_true(near >= 0.95 * cases);
	gsl_rng_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_brute_force),
		cmocka_unit_test(test_by_hand),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_time_limit),
		cmocka_unit_test(test_silent_failure),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_heuristic_gap),
	};

	return cmocka_run_group_tests(tests, tutil_setup_tmp,
	    tutil_teardown_tmp);
}
