/*
 * Unit tests of dacp (Algorithm 1 with the corrected roll-back) and of the
 * RR placement beside it: micro-batches walked by hand.
 *
 * The model is one layer of hidden 64 with one 64-wide head (h_kv = 64), so
 * the paper's FLOPs (its Appendix C.2) are, per layer forward,
 *   20 h^2 S + 4 h h_kv S + 4 h S^2 = 81920 S + 16384 S + 256 S^2
 *                                   = 256 S (S + 384),
 * and x 1 layer x 3 (forward + backward) = 768 S (S + 384).  Only their
 * order matters, so the walks use f(S) = S (S + 384):
 *   f(60) = 26640     f(120) = 60480     f(200) = 116800
 *   f(300) = 205200   f(350) = 256900    f(400) = 313600
 *   f(700) = 758800   f(800) = 947200    f(900) = 1155600
 *   f(1400) = 2497600
 * A shard adds f/N to every rank.  RB (remaining bucket) is in tokens x N:
 * N x C at the start, a local S takes N x S from its rank, a shard takes S
 * from every rank.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dacp.h"
#include "err.h"
#include "sched.h"
#include "tutil.h"
#include "ws.h"

#define S_ PLAN_SHARDED

static struct sched_ws *
make_ws(int N, uint32_t C, int rollback, size_t max)
{
	struct job j;
	struct sched_params p;
	struct sched_ws *ws;

	tutil_job64(&j, 1, (int)max, N, C);
	sched_params_default(&p);
	p.rollback = rollback;
	ws = sched_ws_new(&j, &p, max);
	assert_non_null(ws);
	return ws;
}

/* N x local tokens + sharded tokens on each rank, the bound's left side. */
static void
loads(const uint32_t *len, const int32_t *place, size_t k, int N,
    uint64_t *out)
{
	uint64_t sh = 0;
	size_t i;
	int r;

	for (r = 0; r < N; r++)
		out[r] = 0;
	for (i = 0; i < k; i++) {
		if (place[i] == PLAN_SHARDED)
			sh += len[i];
		else
			out[place[i]] += (uint64_t)N * len[i];
	}
	for (r = 0; r < N; r++)
		out[r] += sh;
}

static void
expect(const int32_t *got, const int32_t *want, size_t k)
{
	size_t i;

	for (i = 0; i < k; i++)
		if (got[i] != want[i])
			fail_msg("place[%zu] = %d, expected %d", i,
			    (int)got[i], (int)want[i]);
}

/*
 * N = 4, C = 1000 (RB starts at 4000).  Given {350, 1200, 60, 700, 120};
 * sorted: 60 (#2), 120 (#4), 350 (#0), 700 (#3), 1200 (#1).
 *   60:   least-loaded is rank 0 (all 0, lowest index); 4000 >= 240:
 *         local 0.  RB = 3760 4000 4000 4000, L = 26640 0 0 0.
 *   120:  least-loaded rank 1; local.  RB1 = 4000 - 480 = 3520,
 *         L1 = 60480.
 *   350:  rank 2; RB2 = 4000 - 1400 = 2600, L2 = 256900.
 *   700:  rank 3; RB3 = 4000 - 2800 = 1200, L3 = 758800.
 *   1200: least-loaded rank 0 has 3760 < 4800; the roomiest is rank 0
 *         too; the tightest is rank 3 with 1200 >= 1200: shard.
 *         RB = 2560 2320 1400 0: rank 3 exactly full.
 */
static void
test_dacp_simple(void **state)
{
	static const uint32_t len[] = { 350, 1200, 60, 700, 120 };
	static const int32_t want[] = { 2, S_, 0, 3, 1 };
	struct sched_ws *ws = make_ws(4, 1000, 1, 8);
	int32_t place[5];
	uint64_t ld[4];

	assert_int_equal(dacp_place(ws, len, 5, place), SK_OK);
	expect(place, want, 5);
	loads(len, place, 5, 4, ld);
	/* 4 x 60 + 1200, 4 x 120 + 1200, 4 x 350 + 1200, 4 x 700 + 1200 */
	assert_int_equal(ld[0], 1440);
	assert_int_equal(ld[1], 1680);
	assert_int_equal(ld[2], 2600);
	assert_int_equal(ld[3], 4000);
	sched_ws_free(ws);
}

/*
 * One roll-back.  N = 4, C = 1000.  Given {900, 400, 200, 700, 300, 350};
 * sorted: 200 (#2), 300 (#4), 350 (#5), 400 (#1), 700 (#3), 900 (#0).
 *   200 -> rank 0 (RB0 3200, L0 116800); 300 -> rank 1 (RB1 2800,
 *   L1 205200); 350 -> rank 2 (RB2 2600, L2 256900); 400 -> rank 3
 *   (RB3 2400, L3 313600).
 *   700: least-loaded rank 0, 3200 >= 2800: local 0.  RB0 = 400,
 *        L0 = 116800 + 758800 = 875600.
 *   900: least-loaded rank 1 (205200): 2800 < 3600; roomiest rank 1, no;
 *        tightest rank 0: 400 < 900.  Roll back on rank 0: its first
 *        (shortest) local sequence is 200 (#2), now sharded:
 *          RB0 += 4 x 200 - 200 -> 400 + 600 = 1000;
 *          RB1..3 -= 200 -> 2600 2400 2200;
 *          L0 += 116800 / 4 - 116800 -> 788000; L1..3 += 29200.
 *        Retry 900: least-loaded rank 1 (234400): 2600 < 3600; roomiest
 *        rank 1, no; tightest rank 0: 1000 >= 900: shard.
 *        RB = 100 1700 1500 1300.
 */
static const uint32_t rb_len[] = { 900, 400, 200, 700, 300, 350 };

static void
test_dacp_rollback(void **state)
{
	static const int32_t want[] = { S_, 3, S_, 0, 1, 2 };
	struct sched_ws *ws = make_ws(4, 1000, 1, 8);
	int32_t place[6];
	uint64_t ld[4];

	assert_int_equal(dacp_place(ws, rb_len, 6, place), SK_OK);
	expect(place, want, 6);
	/* Remaining buckets as walked above. */
	assert_int_equal(ws->rb[0], 100);
	assert_int_equal(ws->rb[1], 1700);
	assert_int_equal(ws->rb[2], 1500);
	assert_int_equal(ws->rb[3], 1300);
	/* L in units of 768 FLOPs: 788000 + 1155600 / 4 = 1076900 on rank 0,
	 * 234400 + 288900 = 523300 on rank 1. */
	assert_true(ws->load[0] == 768.0 * 1076900);
	assert_true(ws->load[1] == 768.0 * 523300);
	/* 4 x 700 + 200 + 900 = 3900 */
	loads(rb_len, place, 6, 4, ld);
	assert_int_equal(ld[0], 3900);
	sched_ws_free(ws);
}

/*
 * Without roll-back the same micro-batch shards 900 although its shard
 * does not fit rank 0 (RB0 400 < 900): rank 0 carries
 * 4 x (200 + 700) + 900 = 4500 > 4000, over its bucket (the paper's OOM),
 * and dacp_place still succeeds.
 */
static void
test_dacp_no_rollback(void **state)
{
	static const int32_t want[] = { S_, 3, 0, 0, 1, 2 };
	struct sched_ws *ws = make_ws(4, 1000, 0, 8);
	int32_t place[6];
	uint64_t ld[4];

	assert_int_equal(dacp_place(ws, rb_len, 6, place), SK_OK);
	expect(place, want, 6);
	loads(rb_len, place, 6, 4, ld);
	assert_int_equal(ld[0], 4500);
	assert_true(ld[0] > 4000);
	sched_ws_free(ws);
}

/*
 * Roll-backs that push another rank over for a moment.  N = 4, C = 1000,
 * given {900, 120, 350, 800, 60, 1400} (3630 tokens of 4000); sorted
 * 60 (#4), 120 (#1), 350 (#2), 800 (#3), 900 (#0), 1400 (#5).
 *   60 -> 0, 120 -> 1, 350 -> 2, 800 -> 3 (each on the least-loaded rank,
 *   lowest index first): RB = 3760 3520 2600 800.
 *   900: least-loaded rank 0 (26640), 3760 >= 3600: local 0; RB0 = 160,
 *        L = 1182240 60480 256900 947200.
 *   1400: ranks 1 (least-loaded, roomiest) has 3520 < 5600; the tightest,
 *        rank 0, has 160 < 1400: roll back its 60:
 *          RB = 160 + 180, 3520 - 60, 2600 - 60, 800 - 60
 *             = 340 3460 2540 740.
 *        Retry: still no room, tightest rank 0 (340 < 1400): roll back
 *        its 900:  RB = 340 + 2700, 3460 - 900, 2540 - 900, 740 - 900
 *                     = 3040 2560 1640 -160.
 *        Rank 3 is over its bucket for now; 1400 still fits whole
 *        nowhere, and rank 3 is the tightest: roll back its 800:
 *          RB = 3040 - 800, 2560 - 800, 1640 - 800, -160 + 2400
 *             = 2240 1760 840 2240.
 *        Retry: tightest rank 2 (840 < 1400): roll back its 350:
 *          RB = 1890 1410 1890 1890.
 *        Retry: no rank has 5600; tightest rank 1 has 1410 >= 1400:
 *        shard.  RB = 490 10 490 490.
 *   Only 120 stays local (rank 1: 4 x 120 + 3510 = 3990).
 */
static void
test_dacp_rollbacks(void **state)
{
	static const uint32_t len[] = { 900, 120, 350, 800, 60, 1400 };
	static const int32_t want[] = { S_, 1, S_, S_, S_, S_ };
	struct sched_ws *ws = make_ws(4, 1000, 1, 8);
	int32_t place[6];

	assert_int_equal(dacp_place(ws, len, 6, place), SK_OK);
	expect(place, want, 6);
	assert_int_equal(ws->rb[0], 490);
	assert_int_equal(ws->rb[1], 10);
	assert_int_equal(ws->rb[2], 490);
	assert_int_equal(ws->rb[3], 490);
	sched_ws_free(ws);
}

/*
 * {900, 120, 350, 800, 60, 2600} holds 4830 tokens, more than the CP
 * group's 4 x 1000: whatever is local or sharded, some rank overflows, and
 * roll-back ends on a rank with nothing left to roll back.
 */
static void
test_dacp_fail(void **state)
{
	static const uint32_t len[] = { 900, 120, 350, 800, 60, 2600 };
	static const uint32_t one[] = { 4001 };
	struct sched_ws *ws = make_ws(4, 1000, 1, 8);
	int32_t place[6];

	assert_int_equal(dacp_place(ws, len, 6, place), SK_ERR_RANGE);
	assert_non_null(strstr(err_msg(), "no local sequence to roll back"));
	/* One sequence of 4001 tokens: its shard, 4001 / 4, exceeds C. */
	assert_int_equal(dacp_place(ws, one, 1, place), SK_ERR_RANGE);
	/* More sequences than the workspace holds. */
	assert_int_equal(dacp_place(ws, len, 9, place), SK_ERR_RANGE);
	sched_ws_free(ws);
}

/*
 * Ties: three sequences of 500 tokens, N = 2, C = 1000 (RB 2000).  In
 * position order: #0 -> rank 0 (both loads 0), #1 -> rank 1, #2 -> rank 0
 * (loads equal again, lowest index).  RB = 0 1000.
 */
static void
test_dacp_ties(void **state)
{
	static const uint32_t len[] = { 500, 500, 500 };
	static const int32_t want[] = { 0, 1, 0 };
	struct sched_ws *ws = make_ws(2, 1000, 1, 4);
	int32_t place[3];

	assert_int_equal(dacp_place(ws, len, 3, place), SK_OK);
	expect(place, want, 3);
	assert_int_equal(ws->rb[0], 0);
	assert_int_equal(ws->rb[1], 1000);
	sched_ws_free(ws);
}

/*
 * RR takes the sequences in input order, each whole on the roomiest rank
 * (lowest index on ties).  N = 4, C = 1000 (RB 4000), rb_len
 * {900, 400, 200, 700, 300, 350}:
 *   900 -> rank 0 (RB0 4000 - 3600 = 400); 400 -> rank 1 (RB1 2400);
 *   200 -> rank 2 (RB2 3200); 700 -> rank 3 (RB3 1200);
 *   300 -> rank 2, the roomiest (RB2 2000); 350 -> rank 1 (RB1 1000).
 * No roll-back; DACP, by FLOPs and in ascending order, rolled back 900.
 *
 * N = 2, C = 1000, {300, 300, 310, 600} (already ascending, so RR and DACP
 * see the same order and agree):
 *   RR:   300 -> 0 (tie, lowest index), 300 -> 1 (roomier), both RB 1400,
 *         310 -> 0 (tie), RB0 = 780; 600: roomiest rank 1, 1400 >= 1200.
 *   DACP: 300 -> 0, 300 -> 1, 310 -> 0 (loads tie), 600 -> 1 (L1 = f(300)
 *         < L0 = f(300) + f(310)), 1400 >= 1200.
 *
 * N = 2, C = 1000 (RB 2000), {700, 800, 450}:
 *   700 -> rank 0 (RB0 600); 800 -> rank 1 (RB1 400);
 *   450: fits whole nowhere (600 < 900), its shard not on rank 1
 *   (400 < 450): rank 1 rolls back 800: RB1 400 + 1600 - 800 = 1200,
 *   RB0 600 - 800 = -200.  Rank 0 is now over its bucket, so it rolls back
 *   700: RB0 -200 + 1400 - 700 = 500, RB1 1200 - 700 = 500.  450 then fits
 *   whole nowhere (500 < 900) and is sharded: RB 50 and 50.  All three
 *   sharded, 1950 tokens on each rank <= 2000.  (Without the second
 *   roll-back 450 would go whole to rank 1 and leave rank 0 at
 *   2 x 700 + 800 = 2200 > 2000.)
 */
static void
test_rr(void **state)
{
	static const int32_t want[] = { 0, 1, 2, 3, 2, 1 };
	static const uint32_t len2[] = { 300, 300, 310, 600 };
	static const int32_t want2[] = { 0, 1, 0, 1 };
	static const uint32_t len3[] = { 700, 800, 450 };
	static const int32_t want3[] = { S_, S_, S_ };
	struct sched_ws *ws = make_ws(4, 1000, 1, 8), *ws2;
	int32_t place[6];
	uint64_t ld[2];

	assert_int_equal(rr_place(ws, rb_len, NULL, 6, place), SK_OK);
	expect(place, want, 6);
	assert_int_equal(ws->rb[0], 400);
	assert_int_equal(ws->rb[1], 1000);
	assert_int_equal(ws->rb[2], 2000);
	assert_int_equal(ws->rb[3], 1200);
	sched_ws_free(ws);

	ws2 = make_ws(2, 1000, 1, 8);
	assert_int_equal(rr_place(ws2, len3, NULL, 3, place), SK_OK);
	expect(place, want3, 3);
	assert_int_equal(ws2->rb[0], 50);
	assert_int_equal(ws2->rb[1], 50);
	loads(len3, place, 3, 2, ld);
	assert_int_equal(ld[0], 1950);
	sched_ws_free(ws2);

	ws2 = make_ws(2, 1000, 1, 8);
	assert_int_equal(rr_place(ws2, len2, NULL, 4, place), SK_OK);
	expect(place, want2, 4);
	assert_int_equal(dacp_place(ws2, len2, 4, place), SK_OK);
	expect(place, want2, 4);
	sched_ws_free(ws2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dacp_simple),
		cmocka_unit_test(test_dacp_rollback),
		cmocka_unit_test(test_dacp_no_rollback),
		cmocka_unit_test(test_dacp_rollbacks),
		cmocka_unit_test(test_dacp_fail),
		cmocka_unit_test(test_dacp_ties),
		cmocka_unit_test(test_rr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
