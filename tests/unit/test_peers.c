/*
 * Unit tests of the peer systems' policies (src/sched/wlb.c, flexsp.c,
 * hdp.c, peers.c) and of the batcher's parts they brought (the mesh reach,
 * WLB-LLM's outlier delay): small cases worked by hand on the small job of
 * tutil_small_job, whose GPU-seconds have a closed form, refusals, and
 * properties over a few thousand seeded random global batches checked by
 * an independent reading of the plan (skrull-plan(5) version 2: shard
 * groups of any aligned size, micro-batches spanning DP ranks).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "err.h"
#include "job.h"
#include "mbtime.h"
#include "ops.h"
#include "plan.h"
#include "sched.h"
#include "trace.h"
#include "tutil.h"

static const char *const peers[] = { "wlb", "flexsp", "hdp" };
#define NPEERS (sizeof peers / sizeof peers[0])

/*
 * The small job's GPU-seconds of a sequence of S tokens over d ranks
 * (test_ops.c, test_rate_by_hand): token_sec 2.3328576e-7 s a token, and
 * attention 512 S (S + 1) FLOPs a layer, 2 layers x 4.5 passes, at 1e14 x
 * 0.4 q / (q + 200) with q = S / d queries a rank:
 *   ops_seq_sec(S, d) = 2.3328576e-7 S + 1.152e-10 (S + 1) (S + 200 d).
 */
static double
seq_sec(double S, int d)
{
	return 2.3328576e-7 * S + 1.152e-10 * (S + 1) * (S + 200.0 * d);
}

/* The small job at DP dp x CP cp, batch samples per DP rank, BucketSize
 * bucket, on one node of dp x cp GPUs. */
static void
small(struct job *j, int dp, int cp, int batch, uint32_t bucket)
{
	tutil_small_job(j);
	j->dp = dp;
	j->cp = cp;
	j->batch = batch;
	j->bucket = bucket;
	j->cluster.gpus_per_node = dp * cp;
}

static void
plan_of(const struct job *j, const struct sched_params *sp,
    const char *policy, const uint32_t *v, size_t n, struct trace *t,
    struct plan *pl)
{
	tutil_trace(t, v, n);
	plan_init(pl);
	if (sched_plan(j, sp, policy, t, NULL, pl) != SK_OK)
		fail_msg("%s: %s", policy, err_msg());
	if (plan_validate(pl, t) != SK_OK)
		fail_msg("%s: %s", policy, err_msg());
}

/* Micro-batch m of DP rank d in iteration it. */
static const struct plan_mb *
mb_at(const struct plan *pl, size_t it, int d, size_t m)
{
	const struct plan_rank *rk = &pl->ranks[it * (size_t)pl->job.dp + d];

	assert_true(m < rk->n);
	return &pl->mbs[rk->first + m];
}

/* Sample k of a micro-batch: its index and block. */
static void
expect_sample(const struct plan *pl, const struct plan_mb *mb, size_t k,
    uint32_t index, int first, int size)
{
	const struct plan_sample *s = &pl->samples[mb->first + k];

	assert_true(k < mb->n);
	assert_int_equal(s->index, index);
	assert_int_equal(s->first, first);
	assert_int_equal(s->size, size);
	assert_int_equal(s->place, size > 1 ? PLAN_SHARDED : first);
}

/* The mbtime estimate of micro-batch mb of DP rank d (W ranks from GPU
 * d x cp). */
static double
mb_sec(const struct plan *pl, int d, const struct plan_mb *mb)
{
	struct mbt_item it[16];
	struct mbtime m;
	double t;
	size_t k;

	assert_true(mb->n <= 16);
	for (k = 0; k < mb->n; k++) {
		it[k].len = pl->samples[mb->first + k].len;
		it[k].first = pl->samples[mb->first + k].first;
		it[k].size = pl->samples[mb->first + k].size;
	}
	assert_int_equal(mbtime_init(&m, plan_mb_width(pl, mb), 16), SK_OK);
	t = mbtime_eval(&m, &pl->job, plan_mb_width(pl, mb), d * pl->job.cp,
	    it, mb->n, NULL);
	mbtime_free(&m);
	return t;
}

static void
test_table(void **state)
{
	const struct sched_policy *p;
	size_t i;

	(void)state;
	for (i = 0; i < NPEERS; i++) {
		assert_non_null(p = sched_policy_find(peers[i]));
		assert_string_equal(p->name, peers[i]);
		assert_true(strlen(p->summary) > 10);
		assert_int_equal(p->batching, BATCHING_ORDER);
		assert_int_equal(p->reach, i == 2 ? REACH_MESH : REACH_CP);
	}
	assert_non_null(p = sched_policy_find("skrull"));
	assert_int_equal(p->reach, REACH_CP);
}

/*
 * wlb, DP 2 x CP 2, batch 3, on {#0 1000, #1 3000, #2..#5 1000}: every
 * sample sharded over the 2 CP ranks weighs seq_sec(S, 2):
 *   1000: 2.3328576e-4 + 1.152e-10 x 1001 x 1400 = 3.9472704e-4 s,
 *   3000: 6.9985728e-4 + 1.152e-10 x 3001 x 3400 = 1.87528896e-3 s.
 * 8000 tokens; one micro-batch per DP rank, M = 2, holds them when a
 * micro-batch takes up to 2 x bucket tokens.
 *
 * Bucket 2500 (5000 tokens a micro-batch): #1 opens micro-batch 0, the
 * 1000s in position order go to the lighter one: micro-batch 1 stays
 * lighter until it holds all five (5 x 3.9472704e-4 = 1.9736352e-3 s,
 * 5000 tokens, after 4 x = 1.57890816e-3 < 1.87528896e-3): 5000 and 3000
 * tokens, the heavier to DP rank 0.  Its slowest micro-batch, 1.97e-3 s,
 * beats the token-balanced {3000, 1000} | {4 x 1000}: 2.270016e-3 s.
 *
 * Bucket 2000 (4000 tokens): micro-batch 1 is full after four 1000s
 * (#0, #2, #3, #4), so #5 joins #1: {3000, 1000}, 2.270016e-3 s, to DP
 * rank 0, and the four to rank 1.
 */
static void
test_wlb_by_hand(void **state)
{
	static const uint32_t v[] = { 1000, 3000, 1000, 1000, 1000, 1000 };
	struct sched_params sp;
	struct ops_rate r;
	struct trace t;
	struct plan pl;
	struct job j;
	const struct plan_mb *mb;
	size_t k;

	(void)state;
	sched_params_default(&sp);
	small(&j, 2, 2, 3, 2500);
	ops_rate_init(&r, &j);
	assert_near(ops_seq_sec(&r, 1000, 2), 3.9472704e-4, 1e-15);
	assert_near(ops_seq_sec(&r, 3000, 2), 1.87528896e-3, 1e-14);
	assert_near(seq_sec(3000, 2), 1.87528896e-3, 1e-14);
	plan_of(&j, &sp, "wlb", v, 6, &t, &pl);
	assert_int_equal(pl.nmbs, 2);
	mb = mb_at(&pl, 0, 0, 0);
	assert_int_equal(mb->n, 5);
	for (k = 0; k < 5; k++)
		expect_sample(&pl, mb, k, k == 0 ? 0 : (uint32_t)k + 1, 0, 2);
	mb = mb_at(&pl, 0, 1, 0);
	assert_int_equal(mb->n, 1);
	expect_sample(&pl, mb, 0, 1, 0, 2);
	plan_free(&pl);
	trace_free(&t);

	small(&j, 2, 2, 3, 2000);
	plan_of(&j, &sp, "wlb", v, 6, &t, &pl);
	mb = mb_at(&pl, 0, 0, 0);
	assert_int_equal(mb->n, 2);
	expect_sample(&pl, mb, 0, 1, 0, 2);
	expect_sample(&pl, mb, 1, 5, 0, 2);
	mb = mb_at(&pl, 0, 1, 0);
	assert_int_equal(mb->n, 4);
	for (k = 0; k < 4; k++)
		expect_sample(&pl, mb, k, k == 0 ? 0 : (uint32_t)k + 1, 0, 2);
	plan_free(&pl);
	trace_free(&t);
}

/* A micro-batch's mbtime estimate with the samples v[0..n) placed in
 * blocks first[k], size[k] over W ranks of the small job; rank (unless
 * NULL) gets each rank's. */
static double
est(const struct job *j, int W, const uint32_t *v, const int *first,
    const int *size, size_t n, double *rank)
{
	struct mbt_item it[8];
	struct mbtime m;
	double t;
	size_t k;

	for (k = 0; k < n; k++) {
		it[k].len = v[k];
		it[k].first = first[k];
		it[k].size = size[k];
	}
	assert_int_equal(mbtime_init(&m, W, 8), SK_OK);
	t = mbtime_eval(&m, j, W, 0, it, n, rank);
	mbtime_free(&m);
	return t;
}

/*
 * flexsp, DP 1 x CP 4, bucket 1000 (a micro-batch holds 4000 tokens).
 *
 * {3000}: ceil(3000 / 1000) = 3 ranks, rounded up to a divisor of 4: a
 * group of all 4, the only size that large.
 *
 * {#0 1500, #1 1000, #2 1000, #3 500}: 4000 tokens, one micro-batch, full.
 * #0 needs 2 ranks (ceil 1.5), #3 and the 1000s 1.  Heaviest first:
 *   #0: a block of 2, [0, 2) (the first of two idle ones), or all 4.
 *     With all 4 every rank is busy for t4, so the estimate is at least
 *     t4 + w1000 (the next 1000, whole, on the least loaded rank); with
 *     [0, 2) it is max(t2, (2 t2 + rest) / 4, w1000 + launch), rest =
 *     2 w1000 + w500 (an idle rank pays a micro-batch's launches).  The
 *     times below (mbtime, outside the policy's code) make the first the
 *     larger: [0, 2), ranks 0 and 1 keep 1000 - 750 = 250 tokens each.
 *   #1: whole on rank 2 (ranks 0 and 1 have 250 free), over [2, 4), or
 *     over all 4 (250 each): whole, as the estimates below confirm (two
 *     1000s sharded over [2, 4) add a collective and halve each one's
 *     queries: ranks 2 and 3 slower).
 *   #2: only whole on rank 3 fits (rank 2 is full, ranks 0 and 1 have
 *     250, a group of 2 over [2, 4) needs 500 on rank 2).
 *   #3: whole it fits nowhere (250, 250, 0, 0 free); as a group of 2 it
 *     needs 250 on each of [0, 2): it joins #0's group.
 * The estimate of this placement is below the alternatives'.
 */
static void
test_flexsp_by_hand(void **state)
{
	static const uint32_t one = 3000, v[] = { 1500, 1000, 1000, 500 };
	static const int f0[] = { 0, 2, 3, 0 }, s0[] = { 2, 1, 1, 2 };
	static const int f1[] = { 0, 2, 2, 0 }, s1[] = { 2, 2, 2, 2 };
	static const int f2[] = { 0, 0, 0, 0 }, s2[] = { 4, 4, 4, 4 };
	static const int fa[] = { 0 }, sa2[] = { 2 }, sa4[] = { 4 };
	struct sched_params sp;
	struct ops_rate r;
	struct trace t;
	struct plan pl;
	struct job j;
	const struct plan_mb *mb;
	double t2, t4, w1000, w500, rest, r0[4], r1[4];

	(void)state;
	sched_params_default(&sp);
	small(&j, 1, 4, 1, 1000);
	plan_of(&j, &sp, "flexsp", &one, 1, &t, &pl);
	expect_sample(&pl, mb_at(&pl, 0, 0, 0), 0, 0, 0, 4);
	plan_free(&pl);
	trace_free(&t);

	small(&j, 1, 4, 4, 1000);
	ops_rate_init(&r, &j);
	t2 = est(&j, 4, v, fa, sa2, 1, NULL);
	t4 = est(&j, 4, v, fa, sa4, 1, NULL);
	w1000 = seq_sec(1000, 1);
	w500 = seq_sec(500, 1);
	rest = 2 * w1000 + w500;
	assert_near(ops_seq_sec(&r, 500, 1), w500, 1e-15);
	assert_true(t2 < t4 + w1000);
	assert_true((2 * t2 + rest) / 4 < t4 + w1000);
	assert_true(w1000 + r.launch_sec < t4 + w1000);
	plan_of(&j, &sp, "flexsp", v, 4, &t, &pl);
	assert_int_equal(pl.nmbs, 1);
	mb = mb_at(&pl, 0, 0, 0);
	assert_int_equal(mb->n, 4);
	expect_sample(&pl, mb, 0, 0, 0, 2);
	expect_sample(&pl, mb, 1, 1, 2, 1);
	expect_sample(&pl, mb, 2, 2, 3, 1);
	expect_sample(&pl, mb, 3, 3, 0, 2);
	assert_near(mb_sec(&pl, 0, mb), est(&j, 4, v, f0, s0, 4, r0), 1e-12);
	/* Ranks 0 and 1 set both makespans; rank 2 is faster whole. */
	assert_near(est(&j, 4, v, f1, s1, 4, r1), r0[0], 1e-12);
	assert_true(r0[2] < r1[2]);
	assert_true(r0[0] < est(&j, 4, v, f2, s2, 4, NULL));
	plan_free(&pl);
	trace_free(&t);
}

/*
 * hdp, DP 4 x CP 2, bucket 1000, batch 2: {#0 6000, #1 500, #2 400,
 * #3 300, #4 200, #5 100, #6 50, #7 20}.
 *
 * #0 needs ceil(6000 / 1000) = 6 GPUs, more than a CP group: 3 DP ranks,
 * a micro-batch spanning them with #0 over all 6 ranks, each holding
 * 1000 tokens of it: its share seq_sec(6000, 6) / 6 = (1.39971456e-3 +
 * 1.152e-10 x 6001 x 7200) / 6 = 1.062864e-3 s on GPUs 0..5 (DP ranks
 * 0..2: all idle, the first).  The rest are whole (each <= 1000 tokens),
 * shares seq_sec(S, 1): 500 1.5704352e-4, 400 1.21031424e-4, 300
 * 8.7323328e-5, 200 5.5919232e-5, 100 2.6819136e-5, 50 1.3133088e-5,
 * 20 5.1979392e-6 s, heaviest first onto the least busy GPU, all far
 * below GPUs 0..5: 500 GPU 6, 400 GPU 7, 300 GPU 7 (1.21e-4 < 1.57e-4),
 * 200 GPU 6 (1.57e-4 < 2.08e-4), 100 GPU 7 (2.08e-4 < 2.13e-4), 50 GPU 6
 * (2.13e-4 < 2.35e-4), 20 GPU 6 (2.26e-4 < 2.35e-4).  GPU 6 (DP rank 3,
 * CP rank 0) holds 770 tokens, GPU 7 800: one micro-batch of DP rank 3.
 * DP ranks 1 and 2 list nothing: they run rank 0's spanning one.
 */
static void
test_hdp_by_hand(void **state)
{
	static const uint32_t v[] = { 6000, 500, 400, 300, 200, 100, 50, 20 };
	static const int q[] = { 0, 1, 1, 0, 1, 0, 0 };
	struct sched_params sp;
	struct ops_rate r;
	struct trace t;
	struct plan pl;
	struct job j;
	const struct plan_mb *mb;
	size_t k;

	(void)state;
	sched_params_default(&sp);
	small(&j, 4, 2, 2, 1000);
	ops_rate_init(&r, &j);
	assert_near(ops_seq_sec(&r, 6000, 6) / 6, 1.062864e-3, 1e-14);
	assert_near(ops_seq_sec(&r, 20, 1), 5.1979392e-6, 1e-17);
	plan_of(&j, &sp, "hdp", v, 8, &t, &pl);
	assert_int_equal(pl.nmbs, 2);
	assert_int_equal(pl.ranks[0].n, 1);
	assert_int_equal(pl.ranks[1].n, 0);
	assert_int_equal(pl.ranks[2].n, 0);
	assert_int_equal(pl.ranks[3].n, 1);
	mb = mb_at(&pl, 0, 0, 0);
	assert_int_equal(mb->span, 3);
	assert_int_equal(mb->n, 1);
	expect_sample(&pl, mb, 0, 0, 0, 6);
	mb = mb_at(&pl, 0, 3, 0);
	assert_int_equal(mb->span, 1);
	assert_int_equal(mb->n, 7);
	for (k = 0; k < 7; k++)
		expect_sample(&pl, mb, k, (uint32_t)k + 1, q[k], 1);
	plan_free(&pl);
	trace_free(&t);
}

/*
 * The edges of the layout: CP 1 (a DP rank is one GPU) and DP 1, a
 * single-sample last batch, and samples that fit only sharded.
 *
 * hdp, DP 4 x CP 1, bucket 1000, batch 1, {#0 10, #1 20, #2 30, #3 40,
 * #4 2500}: the first batch is four whole samples, one a GPU (heaviest
 * first onto the idle GPUs in order: 40 on DP rank 0, 30 on 1, 20 on 2,
 * 10 on 3); the last holds #4 alone, which needs ceil(2.5) = 3 GPUs:
 * three DP ranks of one GPU, a micro-batch of span 3 from DP rank 0.
 * wlb and flexsp refuse #4 at CP 1 (the batcher: longer than the CP
 * group's 1000); at DP 1 x CP 4 it is sharded (wlb over all 4; flexsp
 * over its smallest group, 4 as well: 3 rounded up).
 */
static void
test_edges(void **state)
{
	static const uint32_t v[] = { 10, 20, 30, 40, 2500 };
	struct sched_params sp;
	struct trace t;
	struct plan pl;
	struct job j;
	const struct plan_mb *mb;
	int d;

	(void)state;
	sched_params_default(&sp);
	small(&j, 4, 1, 1, 1000);
	plan_of(&j, &sp, "hdp", v, 5, &t, &pl);
	assert_int_equal(pl.niter, 2);
	for (d = 0; d < 4; d++)
		expect_sample(&pl, mb_at(&pl, 0, d, 0), 0, 3 - (uint32_t)d, 0,
		    1);
	mb = mb_at(&pl, 1, 0, 0);
	assert_int_equal(mb->span, 3);
	expect_sample(&pl, mb, 0, 4, 0, 3);
	assert_int_equal(pl.ranks[5].n + pl.ranks[6].n + pl.ranks[7].n, 0);
	plan_free(&pl);
	trace_free(&t);

	tutil_trace(&t, v, 5);
	plan_init(&pl);
	assert_int_equal(sched_plan(&j, &sp, "wlb", &t, NULL, &pl),
	    SK_ERR_RANGE);
	assert_non_null(strstr(err_msg(), "sample 4 (2,500 tokens) exceeds "
	    "the CP group's capacity 1 x 1,000"));
	assert_int_equal(sched_plan(&j, &sp, "flexsp", &t, NULL, &pl),
	    SK_ERR_RANGE);
	trace_free(&t);

	small(&j, 1, 4, 4, 1000);
	plan_of(&j, &sp, "wlb", v, 5, &t, &pl);
	expect_sample(&pl, mb_at(&pl, 1, 0, 0), 0, 4, 0, 4);
	plan_free(&pl);
	trace_free(&t);
	plan_of(&j, &sp, "flexsp", v, 5, &t, &pl);
	expect_sample(&pl, mb_at(&pl, 1, 0, 0), 0, 4, 0, 4);
	plan_free(&pl);
	trace_free(&t);
}

/*
 * A policy called on a sample it cannot place (the batcher keeps those
 * out) refuses with SK_ERR_RANGE naming the sample; the batcher refuses
 * what exceeds the mesh for hdp.
 */
static void
test_refusals(void **state)
{
	static const uint32_t idx[] = { 7, 9 }, len[] = { 100, 4001 };
	static const uint32_t big[] = { 10, 8001 };
	struct sched_params sp;
	struct sched_ws *ws;
	struct trace t;
	struct plan pl;
	struct job j;
	size_t i;

	(void)state;
	sched_params_default(&sp);
	small(&j, 2, 4, 1, 1000);
	assert_non_null(ws = sched_ws_new(&j, &sp, 2));
	for (i = 0; i < NPEERS; i++) {
		plan_init(&pl);
		pl.job = j;
		assert_int_equal(plan_reserve(&pl, 1, 2, 2), SK_OK);
		assert_int_equal(plan_iter_begin(&pl, idx, 2), SK_OK);
		/* 4001 > 4 x 1000; hdp's mesh holds 8000 */
		assert_int_equal(sched_policy_find(peers[i])->run(ws, idx,
		    i == 2 ? big : len, 2, &pl), SK_ERR_RANGE);
		assert_non_null(strstr(err_msg(), i == 2 ? "sample 9 (8001 "
		    "tokens) is longer than the mesh holds, 2 x 4 x 1000" :
		    "sample 9 (4001 tokens) is longer than its CP group "
		    "holds, 4 x 1000"));
		plan_free(&pl);
	}
	sched_ws_free(ws);

	tutil_trace(&t, big, 2);
	plan_init(&pl);
	assert_int_equal(sched_plan(&j, &sp, "hdp", &t, NULL, &pl),
	    SK_ERR_RANGE);
	assert_string_equal(err_msg(), "sample 1 (8,001 tokens) exceeds the "
	    "DP x CP mesh's capacity 2 x 4 x 1,000 = 8,000 tokens; "
	    "--drop-overlong drops such samples");
	sp.drop_overlong = 1;
	assert_int_equal(sched_plan(&j, &sp, "hdp", &t, NULL, &pl), SK_OK);
	assert_int_equal(pl.dropped, 1);
	plan_free(&pl);
	trace_free(&t);
}

/* The samples of iteration it, in the batch's order. */
static void
expect_batch(const struct plan *pl, size_t it, const uint32_t *want,
    size_t n)
{
	size_t i, a = pl->batch_first[it];

	assert_int_equal(pl->batch_first[it + 1] - a, n);
	for (i = 0; i < n; i++)
		assert_int_equal(pl->batch[a + i], want[i]);
}

/*
 * WLB-LLM's outlier delay, threshold 100 tokens (#0, #3, #8 over it).
 * DP 2 x batch 2 (G 4, release 2): #0 waits; #1, #2 start batch 0; #3
 * waits (two now, but batch 0 has begun); #4, #5 close batch 0; batch 1
 * opens with #0, #3 and takes #6, #7; #8 waits; #9, #10, #11 and, at the
 * end, #8 make batch 2.  DP 2 x batch 1 (G 2 = the release): #0, #1 wait,
 * batch 0 is the two; #2, #3; #4, #5 wait, batch 2 is the two; #6 alone.
 * Off (the default), the dataset order; the plan records the knob.
 */
static void
test_outlier_delay(void **state)
{
	static const uint32_t v[] = {
		500, 10, 20, 600, 30, 40, 50, 60, 700, 70, 80, 90
	};
	static const uint32_t w[] = { 500, 600, 10, 20, 700, 800, 30 };
	static const uint32_t b0[] = { 1, 2, 4, 5 }, b1[] = { 0, 3, 6, 7 };
	static const uint32_t b2[] = { 9, 10, 11, 8 };
	static const uint32_t c0[] = { 0, 1 }, c1[] = { 2, 3 };
	static const uint32_t c2[] = { 4, 5 }, c3[] = { 6 };
	static const uint32_t plain[] = { 0, 1, 2, 3 };
	struct sched_params sp;
	struct trace t;
	struct plan pl;
	struct job j;
	int k, found = 0;

	(void)state;
	sched_params_default(&sp);
	small(&j, 2, 2, 2, 1000);
	plan_of(&j, &sp, "wlb", v, 12, &t, &pl);
	expect_batch(&pl, 0, plain, 4);
	plan_free(&pl);
	trace_free(&t);
	assert_int_equal(sched_knob_set(&sp, sched_knob_find("outlier-delay"),
	    "100"), SK_OK);
	assert_int_equal(sp.outlier_delay, 100);
	plan_of(&j, &sp, "wlb", v, 12, &t, &pl);
	expect_batch(&pl, 0, b0, 4);
	expect_batch(&pl, 1, b1, 4);
	expect_batch(&pl, 2, b2, 4);
	for (k = 0; k < pl.nparams; k++)
		if (strcmp(pl.params[k].name, "outlier-delay") == 0) {
			assert_true(pl.params[k].value == 100);
			found = 1;
		}
	assert_true(found);
	plan_free(&pl);
	trace_free(&t);

	small(&j, 2, 2, 1, 1000);
	plan_of(&j, &sp, "hdp", w, 7, &t, &pl);
	expect_batch(&pl, 0, c0, 2);
	expect_batch(&pl, 1, c1, 2);
	expect_batch(&pl, 2, c2, 2);
	expect_batch(&pl, 3, c3, 1);
	plan_free(&pl);
	trace_free(&t);
}

/* ---- properties ---- */

/* The smallest divisor of cp that is ceil(len / bucket) or more, else 0. */
static int
gmin(int cp, uint32_t len, uint32_t bucket)
{
	uint64_t k = ((uint64_t)len + bucket - 1) / bucket;
	int s;

	for (s = 1; s <= cp; s++)
		if (cp % s == 0 && (uint64_t)s >= k)
			return s;
	return 0;
}

/*
 * Independent checks of a version-2 plan against its trace and the
 * policy's own rules: every sample of each global batch once, in it, with
 * its length; micro-batches non-empty, spans inside the grid and listed
 * first; each block aligned, of a size dividing the micro-batch's W
 * ranks; per rank W x local + sum of (W / size) x length <= W x bucket,
 * no whole sample over bucket.  wlb: one CP group, every sample over all
 * of it, and sum of micro-batches = min(dp x the most a rank has, n).
 * flexsp: one CP group, blocks of its smallest size or larger.  hdp:
 * exactly the smallest (a divisor of cp, or whole DP ranks beyond cp).
 */
static void
check_plan(const struct plan *pl, const struct trace *t, const char *pol,
    uint8_t *seen, uint64_t *mem)
{
	const struct job *j = &pl->job;
	const struct plan_sample *s;
	const struct plan_mb *mb;
	const struct plan_rank *rk;
	uint64_t B = j->bucket, W, k;
	size_t it, m, x, i, n, nm, most;
	int d, q, own, g;

	memset(seen, 0, t->n);
	for (i = 0; i < pl->nbatch; i++) {
		assert_int_equal(seen[pl->batch[i]], 0);
		seen[pl->batch[i]] = 1;
	}
	assert_int_equal(pl->nbatch + pl->dropped, t->n);
	for (it = 0; it < pl->niter; it++) {
		n = pl->batch_first[it + 1] - pl->batch_first[it];
		for (i = pl->batch_first[it]; i < pl->batch_first[it + 1]; i++)
			seen[pl->batch[i]] = 2;
		nm = 0;
		most = 0;
		for (d = 0; d < j->dp; d++) {
			rk = &pl->ranks[it * (size_t)j->dp + (size_t)d];
			nm += rk->n;
			most = rk->n > most ? rk->n : most;
			for (m = 0, own = 0; m < rk->n; m++) {
				mb = &pl->mbs[rk->first + m];
				assert_true(mb->n > 0);
				assert_true(mb->span >= 1 &&
				    d + mb->span <= j->dp);
				assert_false(own && mb->span > 1);
				own |= mb->span == 1;
				W = (uint64_t)mb->span * (uint64_t)j->cp;
				memset(mem, 0, W * sizeof *mem);
				for (x = 0; x < mb->n; x++) {
					s = &pl->samples[mb->first + x];
					assert_int_equal(seen[s->index], 2);
					seen[s->index] = 3;
					n--;
					assert_int_equal(s->len, t->len[s->index]);
					assert_true(s->size >= 1 && W % s->size ==
					    0 && s->first % s->size == 0 &&
					    s->first + s->size <= W);
					assert_true(s->size > 1 ||
					    s->len <= B);
					for (q = s->first; q < s->first + s->size;
					    q++)
						mem[q] += W / s->size * s->len;
					g = gmin(j->cp, s->len, (uint32_t)B);
					if (strcmp(pol, "wlb") == 0) {
						assert_int_equal(mb->span, 1);
						assert_int_equal(s->size, j->cp);
					} else if (strcmp(pol, "flexsp") == 0) {
						assert_int_equal(mb->span, 1);
						assert_true(g > 0 && s->size >= g);
					} else if (g > 0) {
						assert_int_equal(mb->span, 1);
						assert_int_equal(s->size, g);
					} else {
						k = (s->len + B - 1) / B;
						assert_int_equal(mb->span,
						    (k + j->cp - 1) / j->cp);
						assert_int_equal(s->size, W);
					}
				}
				for (q = 0; q < (int)W; q++)
					assert_true(mem[q] <= W * B);
			}
		}
		assert_int_equal(n, 0);
		if (strcmp(pol, "wlb") == 0) {
			n = pl->batch_first[it + 1] - pl->batch_first[it];
			assert_int_equal(nm, most * (size_t)j->dp < n ?
			    most * (size_t)j->dp : n);
		}
	}
}

struct source {
	const char *path;   /* under top_srcdir, or NULL: log-normal */
	const char *field;  /* trace_read_opts.field */
};

static const struct source sources[] = {
	{ "traces/wikipedia.txt.gz", NULL },
	{ "traces/mooncake_conversation.jsonl.gz",
	  "input_length+output_length" },
	{ "traces/synth-chatqa2-long-sft.txt.gz", NULL },
	{ NULL, NULL },
};

static const uint32_t buckets[] = { 2048, 4096, 8192, 13000, 26000 };
static const int cps[] = { 1, 2, 3, 4, 6, 8 };

/*
 * For each source (three bundled traces and log-normal lengths, median
 * e^8 = 2981 tokens, sigma 1.5), 60 random configurations (dp 1..4, cp
 * 1..8 with 3 and 6 among them, batch 1..8, bucket 2K..26K, order,
 * drop-last and the outlier delay at random, overlong samples dropped);
 * each plans a sub-trace of 20 random global batches and part of one
 * under the three policies: 4 x 60 x about 21 less what the dropped
 * samples leave out, more than 3000 global batches per policy (4224 for
 * wlb and flexsp, 4558 for hdp, whose mesh drops fewer), each checked by
 * plan_validate and check_plan, and planned twice to the same plan.
 */
static void
test_properties(void **state)
{
	struct trace_read_opts o;
	struct trace full, sub;
	struct sched_params p;
	struct plan a, b;
	struct job j;
	uint8_t *seen;
	uint64_t *mem;
	gsl_rng *r;
	size_t s, c, i, n, q, batches[NPEERS] = { 0 };

	(void)state;
	assert_non_null(r = gsl_rng_alloc(gsl_rng_mt19937));
	gsl_rng_set(r, 2412);
	assert_non_null(mem = malloc(4 * 8 * sizeof *mem));
	plan_init(&a);
	plan_init(&b);
	for (s = 0; s < sizeof sources / sizeof sources[0]; s++) {
		trace_init(&full);
		if (sources[s].path != NULL) {
			memset(&o, 0, sizeof o);
			o.field = sources[s].field;
			if (trace_read(tutil_data(sources[s].path), &o, &full,
			    NULL) != SK_OK)
				fail_msg("%s", err_msg());
		} else
			for (i = 0; i < 100000; i++)
				assert_int_equal(trace_push(&full, 1 +
				    (uint32_t)gsl_ran_lognormal(r, 8, 1.5)),
				    SK_OK);
		for (c = 0; c < tutil_scale(60); c++) {
			tutil_job(&j, 1 + (int)gsl_rng_uniform_int(r, 4),
			    1 + (int)gsl_rng_uniform_int(r, 8),
			    cps[gsl_rng_uniform_int(r, 6)],
			    buckets[gsl_rng_uniform_int(r, 5)]);
			sched_params_default(&p);
			p.order = (enum sched_order)gsl_rng_uniform_int(r, 2);
			p.seed = gsl_rng_get(r);
			p.drop_overlong = 1;
			p.drop_last = (int)gsl_rng_uniform_int(r, 2);
			p.outlier_delay = gsl_rng_uniform_int(r, 2) ? 0 :
			    j.bucket;
			n = 20 * (size_t)j.dp * (size_t)j.batch + 1 +
			    gsl_rng_uniform_int(r, (unsigned long)j.dp * j.batch);
			trace_init(&sub);
			for (i = 0; i < n; i++)
				assert_int_equal(trace_push(&sub, full.len[
				    gsl_rng_uniform_int(r, full.n)]), SK_OK);
			assert_non_null(seen = malloc(n));
			for (q = 0; q < NPEERS; q++) {
				if (sched_plan(&j, &p, peers[q], &sub, "sub",
				    &a) != SK_OK)
					fail_msg("%s, %s: %s", sources[s].path,
					    peers[q], err_msg());
				if (plan_validate(&a, &sub) != SK_OK)
					fail_msg("%s, %s: %s", sources[s].path,
					    peers[q], err_msg());
				check_plan(&a, &sub, peers[q], seen, mem);
				batches[q] += a.niter;
				assert_int_equal(sched_plan(&j, &p, peers[q],
				    &sub, "sub", &b), SK_OK);
				assert_int_equal(a.nsamples, b.nsamples);
				assert_int_equal(a.nmbs, b.nmbs);
				assert_memory_equal(a.samples, b.samples,
				    a.nsamples * sizeof *a.samples);
			}
			free(seen);
			trace_free(&sub);
		}
		trace_free(&full);
	}
	for (q = 0; q < NPEERS; q++)
		if (batches[q] < tutil_scale(3000))
			fail_msg("%s: %zu global batches", peers[q], batches[q]);
	plan_free(&a);
	plan_free(&b);
	free(mem);
	gsl_rng_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_wlb_by_hand),
		cmocka_unit_test(test_flexsp_by_hand),
		cmocka_unit_test(test_hdp_by_hand),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_outlier_delay),
		cmocka_unit_test(test_properties),
	};

	return cmocka_run_group_tests(tests, tutil_setup_tmp,
	    tutil_teardown_tmp);
}
