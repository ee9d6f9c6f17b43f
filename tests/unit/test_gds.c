/*
 * Unit tests of gds (the skrull policy): one global batch worked by hand.
 *
 * Model: one layer, hidden 64, one 64-wide head, so the paper's FLOPs are
 * 768 S (S + 384) (see test_dacp.c); the walks use f(S) = S (S + 384):
 *   f(10) = 3940    f(15) = 5985    f(40) = 16960   f(50) = 21700
 *   f(95) = 45505   f(135) = 70065  f(140) = 73360  f(195) = 112905
 * Job: dp 2, batch 4, cp N = 2, bucket C = 100: a micro-batch holds at most
 * N x C = 200 tokens, and RB starts at 200 per CP rank (tokens x N).
 * Trace (one global batch of 8), by index:
 *   #0 10   #1 140   #2 15   #3 135   #4 50   #5 40   #6 95   #7 195
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "plan.h"
#include "sched.h"
#include "tutil.h"

#define S_ PLAN_SHARDED

static const uint32_t batch8[] = { 10, 140, 15, 135, 50, 40, 95, 195 };

/* The plan's one iteration holds exactly w[0..n), in order, with nmb[d]
 * micro-batches on DP rank d; it passes plan_validate. */
static void
expect_shape(const struct plan *pl, const struct trace *t,
    const struct tutil_want *w, size_t n, const size_t *nmb)
{
	assert_int_equal(pl->niter, 1);
	tutil_expect_iter(pl, 0, t, w, n, nmb);
}

static void
expect_plan(const struct plan *pl, const struct trace *t,
    const struct tutil_want *w, size_t n, const size_t *nmb)
{
	if (plan_validate(pl, t) != SK_OK)
		fail_msg("%s", err_msg());
	expect_shape(pl, t, w, n, nmb);
}

static void
plan8(const struct sched_params *p, struct plan *pl, struct trace *t)
{
	struct job j;

	tutil_job64(&j, 2, 4, 2, 100);
	tutil_trace(t, batch8, 8);
	plan_init(pl);
	assert_int_equal(sched_plan(&j, p, "skrull-paper", t, "batch8", pl), SK_OK);
}

/*
 * LPT over the 2 DP ranks, heaviest (longest) first, into the lighter bin
 * (bin 0 on a tie):
 *   195 -> 0 (0 = 0)              bins 112905 / 0
 *   140 -> 1                           112905 / 73360
 *   135 -> 1 (73360 < 112905)          112905 / 143425
 *   95  -> 0                           158410 / 143425
 *   50  -> 1                           158410 / 165125
 *   40  -> 0                           175370 / 165125
 *   15  -> 1                           175370 / 171110
 *   10  -> 1 (171110 < 175370)         175370 / 175050
 * DP rank 0 gets {40, 95, 195}, rank 1 {10, 15, 50, 135, 140}: balanced
 * FLOPs, unequal counts.
 *
 * Rank 0: 330 tokens, m = ceil(330 / 200) = 2: strided {40, 195} = 235 >
 * 200 fails; m = 3: {40}, {95}, {195} fit.  DACP: 40 and 95 local on CP
 * rank 0 (2 x 95 = 190 <= 200); 195 needs 390 > 200 whole, so sharded
 * (195 <= 200).
 *
 * Rank 1: 350 tokens, m = 2: strided {10, 50, 140} = 200 (exactly full)
 * and {15, 135} = 150 fit at once.  DACP on {10, 50, 140}:
 *   10 -> CP rank 0 (RB 180 200, L 3940 0); 50 -> rank 1 (RB 180 100,
 *   L 3940 21700); 140: rank 0 (least-loaded, roomiest) has 180 < 280;
 *   the tightest, rank 1, has 100 < 140: roll back its 50:
 *   RB = 180 - 50, 100 + 100 - 50 = 130 150; L = 14790 10850.
 *   Retry: rank 1 (least-loaded, roomiest) 150 < 280; tightest rank 0,
 *   130 < 140: roll back its 10: RB = 140 140, L = 12820 12820.
 *   Retry: no room whole; tightest (rank 0 on the tie) 140 >= 140: shard.
 *   All three sharded, 200 tokens: each CP rank exactly full.
 * DACP on {15, 135}: 15 -> rank 0 (RB 170 200); 135: least-loaded rank 1
 *   200 < 270, roomiest rank 1 the same; tightest rank 0, 170 >= 135:
 *   shard.
 */
static void
test_gds_hand(void **state)
{
	static const struct tutil_want w[] = {
		{ 0, 0, 5, 0 }, { 0, 1, 6, 0 }, { 0, 2, 7, S_ },
		{ 1, 0, 0, S_ }, { 1, 0, 4, S_ }, { 1, 0, 1, S_ },
		{ 1, 1, 2, 0 }, { 1, 1, 3, S_ },
	};
	static const size_t nmb[] = { 3, 2 };
	struct sched_params p;
	struct plan pl;
	struct trace t;

	sched_params_default(&p);
	plan8(&p, &pl, &t);
	expect_plan(&pl, &t, w, 8, nmb);
	assert_string_equal(pl.policy, "skrull-paper");
	assert_int_equal(pl.dropped, 0);
	plan_free(&pl);
	trace_free(&t);
}

/*
 * Without roll-back GDS still splits by tokens (rank 0 again needs m = 3:
 * {40, 195} = 235 > 200), but DACP keeps what it placed whole: on
 * {10, 50, 140}, 10 -> CP rank 0 (RB 180), 50 -> rank 1 (RB 100), and 140
 * (whole nowhere: 180 < 280) is sharded although the tightest rank has
 * 100 < 140.  CP rank 1 then holds 50 + 140 / 2 = 120 tokens > C = 100
 * (2 x 50 + 140 = 240 > 200): the plan is made but fails plan_validate,
 * the paper's OOM without roll-back.
 */
static void
test_gds_no_rollback(void **state)
{
	static const struct tutil_want w[] = {
		{ 0, 0, 5, 0 }, { 0, 1, 6, 0 }, { 0, 2, 7, S_ },
		{ 1, 0, 0, 0 }, { 1, 0, 4, 1 }, { 1, 0, 1, S_ },
		{ 1, 1, 2, 0 }, { 1, 1, 3, S_ },
	};
	static const size_t nmb[] = { 3, 2 };
	struct sched_params p;
	struct plan pl;
	struct trace t;

	sched_params_default(&p);
	p.rollback = 0;
	plan8(&p, &pl, &t);
	expect_shape(&pl, &t, w, 8, nmb);
	assert_int_equal(plan_validate(&pl, &t), SK_ERR_FORMAT);
	assert_non_null(strstr(err_msg(), "DP rank 1, micro-batch 0, CP rank "
	    "1: 120 tokens exceed BucketSize 100"));
	plan_free(&pl);
	trace_free(&t);
}

/*
 * Blocked interleave (the ablation): micro-batch j takes the j-th of m
 * contiguous runs of the sorted samples, runs [c j / m, c (j + 1) / m).
 * Rank 0 {40, 95, 195}: m = 2: {40}, {95, 195} = 290 fails; m = 3 fits
 * (as strided).  Rank 1 {10, 15, 50, 135, 140}: m = 2: {10, 15},
 * {50, 135, 140} = 325 fails; m = 3: {10}, {15, 50}, {135, 140} = 275
 * fails; m = 4: {10}, {15}, {50}, {135, 140} fails; m = 5: one each.
 * 10, 15, 50 local on CP rank 0; 135 and 140 too long whole (> C):
 * sharded.
 */
static void
test_gds_blocked(void **state)
{
	static const struct tutil_want w[] = {
		{ 0, 0, 5, 0 }, { 0, 1, 6, 0 }, { 0, 2, 7, S_ },
		{ 1, 0, 0, 0 }, { 1, 1, 2, 0 }, { 1, 2, 4, 0 },
		{ 1, 3, 3, S_ }, { 1, 4, 1, S_ },
	};
	static const size_t nmb[] = { 3, 5 };
	struct sched_params p;
	struct plan pl;
	struct trace t;

	sched_params_default(&p);
	p.interleave = INTERLEAVE_BLOCKED;
	plan8(&p, &pl, &t);
	expect_plan(&pl, &t, w, 8, nmb);
	plan_free(&pl);
	trace_free(&t);
}

/*
 * No bin-packing: contiguous slices, rank 0 #0..#3 = {10, 140, 15, 135},
 * rank 1 #4..#7 = {50, 40, 95, 195}.
 * Rank 0 sorted {10, 15, 135, 140}, 300 tokens: m = 2: {10, 135} = 145 and
 * {15, 140} = 155 fit.  DACP: 10 -> CP rank 0 (RB 180 200); 135 whole
 * needs 270 > 200 anywhere, tightest 180 >= 135: shard.  Likewise 15 -> 0
 * and 140 sharded (170 >= 140).
 * Rank 1 sorted {40, 50, 95, 195}, 380 tokens: m = 2: {50, 195} = 245
 * fails; m = 3: {40, 195} = 235 fails; m = 4: one each: 40, 50, 95 local
 * on CP rank 0, 195 sharded.  The retry goes two steps here.
 */
static void
test_gds_nobinpack(void **state)
{
	static const struct tutil_want w[] = {
		{ 0, 0, 0, 0 }, { 0, 0, 3, S_ },
		{ 0, 1, 2, 0 }, { 0, 1, 1, S_ },
		{ 1, 0, 5, 0 }, { 1, 1, 4, 0 }, { 1, 2, 6, 0 }, { 1, 3, 7, S_ },
	};
	static const size_t nmb[] = { 2, 4 };
	struct sched_params p;
	struct plan pl;
	struct trace t;

	sched_params_default(&p);
	p.binpack = BINPACK_NONE;
	plan8(&p, &pl, &t);
	expect_plan(&pl, &t, w, 8, nmb);
	plan_free(&pl);
	trace_free(&t);
}

/*
 * A global batch smaller than dp: 3 samples, dp 4.  LPT gives each of
 * ranks 0..2 one sample (longest first) and rank 3 none: a DP rank with no
 * micro-batch is a valid plan.  Trace {30, 20, 10}, cp 2, bucket 100.
 */
static void
test_gds_small_batch(void **state)
{
	static const uint32_t v[] = { 30, 20, 10 };
	static const struct tutil_want w[] = {
		{ 0, 0, 0, 0 }, { 1, 0, 1, 0 }, { 2, 0, 2, 0 },
	};
	static const size_t nmb[] = { 1, 1, 1, 0 };
	struct sched_params p;
	struct plan pl;
	struct trace t;
	struct job j;

	sched_params_default(&p);
	tutil_job64(&j, 4, 2, 2, 100);
	tutil_trace(&t, v, 3);
	plan_init(&pl);
	assert_int_equal(sched_plan(&j, &p, "skrull-paper", &t, NULL, &pl), SK_OK);
	expect_plan(&pl, &t, w, 3, nmb);
	plan_free(&pl);
	trace_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gds_hand),
		cmocka_unit_test(test_gds_no_rollback),
		cmocka_unit_test(test_gds_blocked),
		cmocka_unit_test(test_gds_nobinpack),
		cmocka_unit_test(test_gds_small_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
