/*
 * Unit tests of the `skrull` policy's GPU-first composition and its
 * iteration estimate (src/sched/mesh.c): the clock step worked by hand,
 * group sizes and placements worked by hand on the small job of
 * tutil_small_job (whose GPU-seconds have a closed form), the estimate
 * against the cost model summed rank by rank, and the policy against its
 * DP-first form and ByteScale's mesh (hdp) on seeded batches of long
 * samples, simulated.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "job.h"
#include "mbtime.h"
#include "ops.h"
#include "plan.h"
#include "report.h"
#include "sched.h"
#include "sim.h"
#include "trace.h"
#include "tutil.h"
#include "ws.h"

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

/*
 * The small job's GPU-seconds of a sequence of S tokens over d ranks
 * (test_peers.c, from test_ops.c's test_rate_by_hand):
 *   ops_seq_sec(S, d) = 2.3328576e-7 S + 1.152e-10 (S + 1) (S + 200 d).
 */
static double
seq_sec(double S, int d)
{
	return 2.3328576e-7 * S + 1.152e-10 * (S + 1) * (S + 200.0 * d);
}

/*
 * A workspace for n samples of len[] as tgds_compose hands them to
 * mesh_compose: no spans, and each sample's seconds whole (ws->mw).
 */
static struct sched_ws *
prepare(const struct job *j, const uint32_t *len, size_t n)
{
	struct sched_params p;
	struct sched_ws *ws;
	size_t i;
	int d;

	sched_params_default(&p);
	assert_non_null(ws = sched_ws_new(j, &p, n));
	for (i = 0; i < n; i++) {
		ws->spanat[i] = -1;
		ws->mw[i] = ops_seq_sec(&ws->rate, len[i], 1);
		assert_near(ws->mw[i], seq_sec(len[i], 1), 1e-12 * ws->mw[i]);
	}
	for (d = 0; d < j->dp; d++)
		ws->pre[d] = 0;
	return ws;
}

/*
 * The clock step: ranks in no group add their own seconds; a group's
 * ranks, and those of groups overlapping it, all end at the latest start
 * plus the slowest seconds.
 */
static void
test_clock_by_hand(void **state)
{
	/* W 4: whole on 0, a group on [1, 3), whole on 3:
	 * 0.5 + 1 = 1.5; max(1, 0) + max(2, 3) = 4 on 1 and 2; 2 + 4 = 6 */
	static const struct mbt_item a[] = {
		{ 10, 0, 1 }, { 20, 1, 2 }, { 30, 3, 1 }
	};
	/* W 4: nested groups [0, 2) and [0, 4): all at max(0..3) + 4 = 7 */
	static const struct mbt_item b[] = { { 10, 0, 2 }, { 20, 0, 4 } };
	/* W 6: [2, 4) and [3, 6) overlap without nesting: [2, 6) at
	 * max(0, 2, 0, 0) + 5 = 7; 0 and 1 in no group: 0 + 1 */
	static const struct mbt_item c[] = {
		{ 10, 0, 1 }, { 20, 2, 2 }, { 30, 3, 3 }
	};
	double ra[] = { 1, 2, 3, 4 }, ka[] = { 0.5, 1, 0, 2 };
	double kb[] = { 0, 1, 2, 3 };
	double rc[] = { 1, 1, 1, 1, 1, 5 }, kc[] = { 0, 0, 0, 2, 0, 0 };
	int32_t reach[6];

	(void)state;
	mesh_clock(a, 3, ra, 4, reach, ka);
	assert_true(ka[0] == 1.5 && ka[1] == 4 && ka[2] == 4 && ka[3] == 6);
	mesh_clock(b, 2, ra, 4, reach, kb);
	assert_true(kb[0] == 7 && kb[1] == 7 && kb[2] == 7 && kb[3] == 7);
	mesh_clock(c, 3, rc, 6, reach, kc);
	assert_true(kc[0] == 1 && kc[1] == 1);
	assert_true(kc[2] == 7 && kc[3] == 7 && kc[4] == 7 && kc[5] == 7);
}

/*
 * The estimate's second method, mbtime.h's model written out: rank q's
 * load is its whole samples (ops_part_cost's order: whole, then shards),
 * its 1/size of each group's and one collective per group that holds it
 * (the groups here hold one sample each); the slowest rank.
 */
static double
makespan(const struct job *j, const struct mbt_item *it, size_t k, int W)
{
	struct ops_load l;
	struct ops_cost c;
	double most = 0;
	size_t i;
	int q;

	for (q = 0; q < W; q++) {
		ops_load_init(&l, W);
		for (i = 0; i < k; i++)
			if (it[i].size == 1 && it[i].first == q)
				ops_load_local(j, &l, it[i].len);
		for (i = 0; i < k; i++)
			if (it[i].size > 1 && it[i].first <= q &&
			    q < it[i].first + it[i].size) {
				ops_load_shard_d(j, &l, it[i].len, it[i].size);
				ops_load_coll(j, &l, it[i].len, it[i].size, 0);
			}
		ops_load_cost(j, &l, &c);
		most = fmax(most, ops_mb_time(j, &c));
	}
	return most;
}

/*
 * DP 1 x CP 2, BucketSize 4096: 1000, 3000, 1000, 2000 tokens.  By
 * seq_sec, whole: 3000 1.8062e-3 s, 2000 9.737e-4, 1000 3.717e-4; the
 * balanced share of the 2 GPUs is 3.5233e-3 / 2 = 1.7617e-3, below the
 * 3000's, which goes over 2 ranks: seq_sec(3000, 2) / 2 = 9.376e-4 plus
 * its collectives (tens of microseconds), within the share.  Heaviest
 * first: the 3000 on GPUs 0 and 1 (9.76e-4 each), 2000 on GPU 0 (the
 * lower on the tie), the two 1000 on GPU 1 (1.35e-3, then 1.72e-3
 * against GPU 0's 1.95e-3).  Moves: GPU 0 holds 2000 whole, heavier than
 * the gap 2.3e-4, as is its difference from a 1000: none narrows it.
 * Memory, scaled by 2: the 3000 takes 3000 of each rank's 8192, the 2000
 * 4000 more on rank 0, the 1000s 2000 each on rank 1: one micro-batch,
 * the group first, then 2000, 1000, 1000.
 */
static void
test_compose_by_hand(void **state)
{
	static const uint32_t len[] = { 1000, 3000, 1000, 2000 };
	static const int first[] = { 1, 0, 1, 0 }, size[] = { 1, 2, 1, 1 };
	static const uint32_t order[] = { 1, 3, 0, 2 };
	struct sched_ws *ws;
	struct job j;
	double est;
	size_t q;

	(void)state;
	small(&j, 1, 2, 4, 4096);
	assert_true(seq_sec(3000, 1) > (seq_sec(3000, 1) + seq_sec(2000, 1) +
	    2 * seq_sec(1000, 1)) / 2);
	ws = prepare(&j, len, 4);
	est = mesh_compose(ws, len, 4);
	for (q = 0; q < 4; q++) {
		assert_int_equal(ws->msize[q], size[q]);
		assert_int_equal(ws->mgpu[q], first[q]);
	}
	assert_int_equal(ws->mmb0[1], 1);
	assert_int_equal(ws->mmbfirst[1], 4);
	for (q = 0; q < 4; q++) {
		assert_int_equal(ws->marr[q], order[q]);
		assert_int_equal(ws->mitems[q].first, first[order[q]]);
		assert_int_equal(ws->mitems[q].size, size[order[q]]);
	}
	assert_near(est, makespan(&j, ws->mitems, 4, 2), 1e-15);
	assert_near(ws->mmbt[0], est, 1e-15);
	sched_ws_free(ws);
}

/*
 * DP 2 x CP 2, BucketSize 1500: eight samples of 1000 tokens.  LPT on
 * equal seconds fills the GPUs in index order, twice (sample i on GPU
 * i mod 4); a GPU's 2000 tokens exceed its 1500 of a micro-batch, so
 * each DP rank runs two, its first samples (0, 1 on DP rank 0) in the
 * first.  Both micro-batches of a rank cost the same, so the estimate is
 * twice the makespan of one.
 */
static void
test_memory_by_hand(void **state)
{
	uint32_t len[8];
	struct sched_ws *ws;
	struct job j;
	double est;
	size_t q;

	(void)state;
	small(&j, 2, 2, 4, 1500);
	for (q = 0; q < 8; q++)
		len[q] = 1000;
	ws = prepare(&j, len, 8);
	est = mesh_compose(ws, len, 8);
	for (q = 0; q < 8; q++)
		assert_int_equal(ws->mgpu[q], (int)(q % 4));
	assert_int_equal(ws->mmb0[1], 2);
	assert_int_equal(ws->mmb0[2], 4);
	for (q = 0; q <= 4; q++)
		assert_int_equal(ws->mmbfirst[q], 2 * q);
	assert_int_equal(ws->marr[0], 0);
	assert_int_equal(ws->marr[1], 1);
	assert_int_equal(ws->marr[2], 4);
	assert_int_equal(ws->marr[3], 5);
	assert_near(est, 2 * makespan(&j, ws->mitems, 2, 2), 1e-15);
	sched_ws_free(ws);
}

/*
 * Group sizes, DP 1 x CP 4, BucketSize 4096.  6000 tokens need 2 ranks
 * (ceil(6000 / 4096)), 9000 need 3, so 4 (3 does not divide 4); beside
 * forty of 1000 tokens (3.717e-4 s each by seq_sec) the balanced share
 * is above 14.9e-3 / 4 = 3.7e-3 s, and neither's member seconds (6000 over
 * 2: 2.912e-3 s, 9000 over 4: 3.065e-3, each plus collectives of about
 * 0.1 ms) reach it: both keep the smallest group, the heavier (9000) on
 * GPUs 0-3.  Then 4000 tokens beside three of 100: the
 * share is (2.869e-3 + 3 x 2.68e-5) / 4 = 7.37e-4 s; whole it takes
 * 2.869e-3, over 2 ranks 1.480e-3 and over 4 7.86e-4 (seq_sec / d), each
 * above the share, so the least: 4 ranks (the collectives of 4000 tokens'
 * K/V, 2 MB a layer, take tens of microseconds, not the 0.7 ms between).
 */
static void
test_groups_by_hand(void **state)
{
	uint32_t len[42];
	static const uint32_t b[] = { 4000, 100, 100, 100 };
	struct sched_ws *ws;
	struct job j;
	size_t q;

	(void)state;
	small(&j, 1, 4, 42, 4096);
	len[0] = 6000;
	len[1] = 9000;
	for (q = 2; q < 42; q++)
		len[q] = 1000;
	ws = prepare(&j, len, 42);
	mesh_compose(ws, len, 42);
	assert_int_equal(ws->msize[0], 2);
	assert_int_equal(ws->msize[1], 4);
	for (q = 2; q < 42; q++)
		assert_int_equal(ws->msize[q], 1);
	assert_int_equal(ws->mgpu[0] % 2, 0);
	assert_int_equal(ws->mgpu[1], 0);
	sched_ws_free(ws);
	assert_true(seq_sec(4000, 4) / 4 > (seq_sec(4000, 1) + 3 *
	    seq_sec(100, 1)) / 4);
	ws = prepare(&j, b, 4);
	mesh_compose(ws, b, 4);
	assert_int_equal(ws->msize[0], 4);
	sched_ws_free(ws);
}

static void
plan_of(const struct job *j, const char *policy, const uint32_t *v,
    size_t n, struct trace *t, struct plan *pl)
{
	struct sched_params sp;

	sched_params_default(&sp);
	tutil_trace(t, v, n);
	plan_init(pl);
	if (sched_plan(j, &sp, policy, t, NULL, pl) != SK_OK)
		fail_msg("%s: %s", policy, err_msg());
	assert_int_equal(plan_validate(pl, t), SK_OK);
}

/* The simulated seconds of all iterations of policy's plan. */
static double
total(const struct job *j, const char *policy, const uint32_t *v, size_t n)
{
	struct sim_opts o;
	struct trace t;
	struct plan pl;
	struct report r;
	double sec = 0;
	size_t it;

	plan_of(j, policy, v, n, &t, &pl);
	sim_opts_default(&o);
	o.threads = 1;
	if (sim_run(&pl, &o, &r) != SK_OK)
		fail_msg("sim: %s", err_msg());
	for (it = 0; it < r.niter; it++)
		sec += r.time[it];
	report_free(&r);
	plan_free(&pl);
	trace_free(&t);
	return sec;
}

/*
 * The diagnosis of issue 14 on the small job, DP 2 x CP 4, BucketSize
 * 2048: global batches of long samples (a quarter between one and three
 * BucketSizes, the rest up to one), few collectives.  The DP-first
 * composition fills micro-batches to the memory bound and balances each
 * by its makespan, so it shards; the GPU-first one balances each GPU's
 * total over the iteration.  skrull, which keeps the faster by its
 * estimate, simulates faster in total than skrull-cp and than hdp.
 */
static void
test_long_samples(void **state)
{
	uint32_t v[320], x = 20260514;
	double sk, cp, hdp;
	struct job j;
	size_t i;

	(void)state;
	small(&j, 2, 4, 32, 2048);
	for (i = 0; i < 320; i++) {
		x = x * 1664525u + 1013904223u;
		v[i] = 100 + (x >> 8) % 1900;
		if (i % 4 == 1)
			v[i] = 2048 + (x >> 4) % 4096;
	}
	sk = total(&j, "skrull", v, 320);
	cp = total(&j, "skrull-cp", v, 320);
	hdp = total(&j, "hdp", v, 320);
	if (!(sk < cp && sk <= hdp))
		fail_msg("skrull %.9g s, skrull-cp %.9g, hdp %.9g", sk, cp, hdp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clock_by_hand),
		cmocka_unit_test(test_compose_by_hand),
		cmocka_unit_test(test_memory_by_hand),
		cmocka_unit_test(test_groups_by_hand),
		cmocka_unit_test(test_long_samples),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
