/*
 * Unit tests of the `skrull` policy (cost-driven DACP, time-balanced GDS;
 * src/sched/cdacp.c, tgds.c) on the small job of tutil_small_job, with the
 * simulator as the second method: degenerate layouts with iteration times
 * worked by hand, placements the simulator confirms are the faster, the
 * planner's estimate held between two bounds derived from the simulator's
 * schedule, and the lower bound below every simulated iteration of every
 * policy.
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
#include "ops.h"
#include "plan.h"
#include "report.h"
#include "sched.h"
#include "sim.h"
#include "trace.h"
#include "tutil.h"

/* The simulator keeps integer nanoseconds: each operation of an iteration
 * (about 60 in two layers, a few more per micro-batch) loses less than one
 * to rounding, seconds. */
#define NS_TOL 1e-7

/* The small job at DP dp x CP cp on one node of dp x cp GPUs. */
static void
small(struct job *j, int dp, int cp, int batch)
{
	tutil_small_job(j);
	j->dp = dp;
	j->cp = cp;
	j->batch = batch;
	j->cluster.gpus_per_node = dp * cp;
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

static void
simulate(const struct plan *pl, struct report *r)
{
	struct sim_opts o;

	sim_opts_default(&o);
	o.threads = 1;
	if (sim_run(pl, &o, r) != SK_OK)
		fail_msg("sim: %s", err_msg());
}

/*
 * CP 1, DP 1: nothing to shard, both samples whole on the one rank.  Its
 * micro-batch at T = 300 (locals 100 and 200), per layer: forward norms
 * 2 x 5.3072, QKV 7.097152, RoPE 5.4608, attention 6.41696, O 6.048576,
 * gate and up 9.194304, SwiGLU 5.9216, down 7.097152: 57.850944 us;
 * backward GEMMs 2 x 29.437184, norms 2 x 5.6144, RoPE 5.9216, SwiGLU
 * 6.8432, attention 18.5424: 101.410368 us; recompute 6.41696 us;
 * 165.678272 us, two layers 331.356544 us; head 21.2032 + 32.4064 us;
 * 384.966144 us.  One GPU: no collective; AdamW over all 1692928
 * parameters, 47401984 bytes: 52.401984 us.  437.368128 us.
 */
static void
test_cp1_by_hand(void **state)
{
	static const uint32_t v[] = { 100, 200 };
	struct trace t;
	struct plan pl;
	struct report r;
	struct job j;

	(void)state;
	small(&j, 1, 1, 2);
	plan_of(&j, "skrull", v, 2, &t, &pl);
	assert_int_equal(pl.nmbs, 1);
	assert_int_equal(pl.samples[0].place, 0);
	assert_int_equal(pl.samples[1].place, 0);
	simulate(&pl, &r);
	assert_near(r.time[0], 437.368128e-6, NS_TOL);
	assert_true(r.bounds[0] > 0 && r.bounds[0] <= r.time[0]);
	report_free(&r);
	plan_free(&pl);
	trace_free(&t);
}

/* Iteration time of a one-sample plan of length S placed as given. */
static double
time_placed(const struct job *j, uint32_t S, int32_t place)
{
	struct trace t;
	struct plan pl;
	struct report r;
	double sec;

	plan_of(j, "deepspeed", &S, 1, &t, &pl);
	pl.samples[0].place = place;
	pl.samples[0].first = (uint16_t)(place == PLAN_SHARDED ? 0 : place);
	pl.samples[0].size = (uint16_t)(place == PLAN_SHARDED ? j->cp : 1);
	assert_int_equal(plan_validate(&pl, &t), SK_OK);
	simulate(&pl, &r);
	sec = r.time[0];
	report_free(&r);
	plan_free(&pl);
	trace_free(&t);
	return sec;
}

/*
 * One sample per global batch, DP 1 x CP 4: a short sample is cheaper
 * whole (sharding it adds an all-gather a layer that nothing hides, and
 * layer 0's reduce-scatter, to kernels that are launch-bound either way;
 * at 100 tokens the two were within 0.5%, since selective recompute
 * hides the other reduce-scatters), a long one sharded (its attention
 * grows as S^2); the planner must pick what the simulator finds faster,
 * and the simulated times differ enough that the pick is not a tie.
 */
static void
test_one_sample(void **state)
{
	static const uint32_t lens[] = { 37, 3000, 4000 };
	struct trace t;
	struct plan pl;
	struct job j;
	double whole, sharded;
	size_t i;

	(void)state;
	small(&j, 1, 4, 1);
	for (i = 0; i < 3; i++) {
		whole = time_placed(&j, lens[i], 0);
		sharded = time_placed(&j, lens[i], PLAN_SHARDED);
		if (!(fabs(whole - sharded) > 0.01 * whole))
			fail_msg("%u tokens: whole %.9g s, sharded %.9g s",
			    lens[i], whole, sharded);
		plan_of(&j, "skrull-cp", &lens[i], 1, &t, &pl);
		assert_int_equal(pl.samples[0].place, whole < sharded ? 0 :
		    PLAN_SHARDED);
		plan_free(&pl);
		trace_free(&t);
	}
	/* 37 tokens whole, 3000 and 4000 sharded: the case is not one
	 * sided. */
	assert_true(time_placed(&j, 37, 0) < time_placed(&j, 37, -1));
	assert_true(time_placed(&j, 4000, -1) < time_placed(&j, 4000, 0));
}

/*
 * Eight equal samples of 300 tokens on DP 1 x CP 4: two whole on each CP
 * rank, none sharded (every rank the same load: nothing for a shard to
 * balance, only collectives to add).  Every rank then runs the same
 * program, so the simulator waits nowhere and its iteration is exactly
 * one rank's micro-batch (ops_mb_time) and the tail.  By hand, T = 600:
 * forward as in test_ops.c's test_recompute but the attention, two of
 * 512 x 300 x 301 FLOPs at 0.4 x 300/500: 3.8528 + 5 us launch; 69.361472
 * us; backward GEMMs 73.030144, norms 12.4576, RoPE 6.8432, SwiGLU 8.6864,
 * attention 2.5 x 3.8528 + 15 = 24.632: 125.649344 us; recompute 8.8528;
 * two layers 407.727232 us; head 26.3824 + 42.7648 us: 476.874432 us.
 * Tail over 4 GPUs of a node: gradients 3 x 2 us + 3/4 x 1180672 B / 1e11
 * = 14.85504 us (and each of the 2 parameter gathers), head gradients
 * 6 + 7.68384 = 13.68384 us, AdamW on 1692928 / 4 parameters x 28 B:
 * 16.850496 us; 75.099456 us.  551.973888 us in all.
 */
static void
test_all_equal(void **state)
{
	static const uint32_t v[] = { 300, 300, 300, 300, 300, 300, 300, 300 };
	struct ops_rate rate;
	struct ops_load l;
	struct ops_cost c;
	struct trace t;
	struct plan pl;
	struct report r;
	struct job j;
	int cnt[4] = { 0 }, k;

	(void)state;
	small(&j, 1, 4, 8);
	plan_of(&j, "skrull", v, 8, &t, &pl);
	assert_int_equal(pl.nmbs, 1);
	for (k = 0; k < 8; k++) {
		assert_true(pl.samples[k].place >= 0);
		cnt[pl.samples[k].place]++;
	}
	for (k = 0; k < 4; k++)
		assert_int_equal(cnt[k], 2);
	simulate(&pl, &r);
	ops_load_init(&l, 4);
	ops_load_local(&j, &l, 300);
	ops_load_local(&j, &l, 300);
	ops_load_cost(&j, &l, &c);
	ops_rate_init(&rate, &j);
	assert_near(r.time[0], 551.973888e-6, NS_TOL);
	assert_near(r.time[0], ops_mb_time(&j, &c) + rate.tail_sec, NS_TOL);
	report_free(&r);
	plan_free(&pl);
	trace_free(&t);
}

/*
 * DP 2 x CP 1: the global batch {3000, 1000, 1000, 1000} balanced by
 * GPU-seconds (test_ops.c: 1.80614592e-3 s for 3000 tokens, 3.71664e-4 s
 * for 1000): LPT puts 3000 on rank 0 and the three 1000s on rank 1
 * (1.114992e-3 s < 1.80614592e-3 s), which no move or swap improves.
 */
static void
test_dp_balance(void **state)
{
	static const uint32_t v[] = { 1000, 3000, 1000, 1000 };
	struct trace t;
	struct plan pl;
	struct job j;

	(void)state;
	small(&j, 2, 1, 2);
	plan_of(&j, "skrull-cp", v, 4, &t, &pl);
	assert_int_equal(pl.ranks[0].n, 1);
	assert_int_equal(pl.ranks[1].n, 1);
	assert_int_equal(pl.mbs[pl.ranks[0].first].n, 1);
	assert_int_equal(pl.samples[pl.mbs[pl.ranks[0].first].first].index, 1);
	assert_int_equal(pl.mbs[pl.ranks[1].first].n, 3);
	plan_free(&pl);
	trace_free(&t);
}

/*
 * A micro-batch's seconds between two bounds derived from the simulator's
 * schedule (sim.h), per CP rank j from its ops (ops_part_cost):
 *   lower: rank j runs its operations one after another and can hide no
 *     more of a collective than its local attention, so it needs at least
 *     ops_mb_time_j; an iteration takes at least the largest sum over a
 *     rank's micro-batches, then the tail (after every GPU's backward);
 *   upper: per layer the ranks meet at the K/V all-gather (after RoPE) and
 *     at the reduce-scatter (after the sharded attention's backward), so a
 *     layer takes at most the slowest rank's piece between each pair of
 *     meetings, summed: P1 (norm, QKV, RoPE), P2 (max(all-gather, local
 *     attention), the rest of the forward), P3 (recompute, the backward to
 *     the sharded attention's), P4 (max(reduce-scatter, local attention's
 *     backward), the rest); the head once; micro-batches one after the
 *     other; in the last one each layer's DP gradient collective, on the
 *     DP stream, can slow the reduce-scatters that share its link (one
 *     node here: all on NVLink) by at most its length, and after the last
 *     backward the gradients can queue behind one another by as much
 *     again; then the tail.
 * The planner's own estimate, ops_mb_time of the slowest rank summed over
 * micro-batches, must lie between them too: lower <= estimate <= upper.
 */
struct bounds {
	double lower, upper, estimate;
};

static void
mb_bounds(const struct job *j, const struct plan *pl, size_t it,
    struct bounds *b)
{
	struct ops_rate rate;
	struct ops_load l[8];
	struct ops_cost c;
	struct ops_dp dp;
	double rank_sum[8], up, est, mx[5], p[5];
	size_t m, k;
	int d, r, q, N = j->cp, L = j->model.layers;

	ops_rate_init(&rate, j);
	ops_dp_cost(j, &dp);
	b->lower = b->upper = b->estimate = 0;
	for (d = 0; d < j->dp; d++) {
		const struct plan_rank *rk = &pl->ranks[it * (size_t)j->dp +
		    (size_t)d];

		up = est = 0;
		for (r = 0; r < N; r++)
			rank_sum[r] = 0;
		for (m = 0; m < rk->n; m++) {
			const struct plan_mb *mb = &pl->mbs[rk->first + m];
			double worst = 0;

			for (r = 0; r < N; r++)
				ops_load_init(&l[r], N);
			for (k = 0; k < mb->n; k++) {
				const struct plan_sample *s =
				    &pl->samples[mb->first + k];

				if (s->place != PLAN_SHARDED)
					ops_load_local(j, &l[s->place], s->len);
			}
			for (k = 0; k < mb->n; k++) {
				const struct plan_sample *s =
				    &pl->samples[mb->first + k];

				if (s->place == PLAN_SHARDED)
					for (r = 0; r < N; r++)
						ops_load_shard(j, &l[r], s->len);
			}
			for (q = 0; q < 5; q++)
				mx[q] = 0;
			for (r = 0; r < N; r++) {
				ops_load_cost(j, &l[r], &c);
				p[0] = c.sec[OP_NORM_ATTN] + c.sec[OP_QKV] +
				    c.sec[OP_ROPE];
				p[1] = fmax(c.ag_sec, c.sec[OP_ATTN_LOCAL]) +
				    c.sec[OP_ATTN_SHARD] + c.sec[OP_OPROJ] +
				    c.sec[OP_NORM_MLP] + c.sec[OP_GATE_UP] +
				    c.sec[OP_SWIGLU] + c.sec[OP_DOWN];
				p[2] = c.recompute_sec + c.sec[OP_DOWN_B] +
				    c.sec[OP_SWIGLU_B] + c.sec[OP_GATE_UP_B] +
				    c.sec[OP_NORM_MLP_B] + c.sec[OP_OPROJ_B] +
				    c.sec[OP_ATTN_SHARD_B];
				p[3] = fmax(c.rs_sec, c.sec[OP_ATTN_LOCAL_B]) +
				    c.sec[OP_ROPE_B] + c.sec[OP_QKV_B] +
				    c.sec[OP_NORM_ATTN_B];
				p[4] = c.sec[OP_HEAD] + c.sec[OP_HEAD_B];
				for (q = 0; q < 5; q++)
					mx[q] = fmax(mx[q], p[q]);
				rank_sum[r] += ops_mb_time(j, &c);
				worst = fmax(worst, ops_mb_time(j, &c));
			}
			up += L * (mx[0] + mx[1] + mx[2] + mx[3]) + mx[4];
			est += worst;
		}
		if (rk->n > 0)
			up += 2 * L * dp.grad_sec;
		for (r = 0; r < N; r++)
			b->lower = fmax(b->lower, rank_sum[r]);
		b->upper = fmax(b->upper, up);
		b->estimate = fmax(b->estimate, est);
	}
	b->lower += rate.tail_sec;
	b->upper += rate.tail_sec;
	b->estimate += rate.tail_sec;
}

/* Lengths with some entropy: a long-tail mix, seeded. */
static void
long_tail(uint32_t *v, size_t n, uint32_t seed)
{
	uint32_t x = seed;
	size_t i;

	for (i = 0; i < n; i++) {
		x = x * 1664525u + 1013904223u;
		v[i] = 20 + (x >> 8) % 400;
		if (i % 7 == 3)
			v[i] *= 5 + (x >> 4) % 7;
	}
}

static void
test_estimate_vs_sim(void **state)
{
	static const char *const policies[] = {
		"skrull-cp", "skrull-paper", "deepspeed", "dacp"
	};
	uint32_t v[96];
	struct bounds b;
	struct trace t;
	struct plan pl;
	struct report r;
	struct job j;
	size_t it, k, seen = 0;

	(void)state;
	small(&j, 2, 4, 12);
	long_tail(v, 96, 20261203);
	for (k = 0; k < sizeof policies / sizeof policies[0]; k++) {
		plan_of(&j, policies[k], v, 96, &t, &pl);
		simulate(&pl, &r);
		for (it = 0; it < r.niter; it++) {
			mb_bounds(&j, &pl, it, &b);
			if (!(b.lower <= r.time[it] + NS_TOL &&
			    r.time[it] <= b.upper + NS_TOL &&
			    b.lower <= b.estimate + 1e-15 &&
			    b.estimate <= b.upper + 1e-15))
				fail_msg("%s iteration %zu: lower %.9g, estimate "
				    "%.9g, simulated %.9g, upper %.9g",
				    policies[k], it, b.lower, b.estimate,
				    r.time[it], b.upper);
			/* the bound of report.h is lower still */
			assert_true(r.bounds[it] <= b.lower);
			seen++;
		}
		report_free(&r);
		plan_free(&pl);
		trace_free(&t);
	}
	assert_int_equal(seen, 16);
}

/*
 * The skrull policy against the paper's, on the same global batches:
 * never a plan that simulates slower in total.
 */
static void
test_not_slower_than_paper(void **state)
{
	uint32_t v[96];
	struct trace t;
	struct plan pl;
	struct report a, b;
	struct job j;
	int seed;

	(void)state;
	small(&j, 2, 4, 12);
	for (seed = 1; seed <= 4; seed++) {
		long_tail(v, 96, (uint32_t)seed * 7919u);
		plan_of(&j, "skrull", v, 96, &t, &pl);
		simulate(&pl, &a);
		plan_free(&pl);
		trace_free(&t);
		plan_of(&j, "skrull-paper", v, 96, &t, &pl);
		simulate(&pl, &b);
		plan_free(&pl);
		trace_free(&t);
		if (!(a.total <= b.total))
			fail_msg("seed %d: skrull %.9g s, skrull-paper %.9g s",
			    seed, a.total, b.total);
		report_free(&a);
		report_free(&b);
	}
}

/*
 * Spans.  DP 2 x CP 4, one 4000-token sample among seven of 100 to 400:
 * over its CP group alone it takes longer than the whole batch's work
 * spread over the 8 GPUs (test_ops's numbers: 4000 over 4 ranks is about
 * 3 ms of GPU-seconds, the rest a tenth of that), so skrull gives it a
 * micro-batch spanning both DP ranks, sharded over all 8 GPUs, and the
 * iteration simulates faster than skrull-cp's, which can spread it over
 * only 4.
 */
static void
test_span(void **state)
{
	static const uint32_t v[] = { 170, 4000, 260, 110, 390, 230, 140, 320 };
	struct trace t;
	struct plan pl;
	struct report a, b;
	struct job j;
	size_t m, k, spanning = 0;

	(void)state;
	small(&j, 2, 4, 4);
	j.bucket = 4096;
	plan_of(&j, "skrull", v, 8, &t, &pl);
	for (m = 0; m < pl.nmbs; m++) {
		if (pl.mbs[m].span < 2)
			continue;
		spanning++;
		assert_int_equal(pl.mbs[m].span, 2);
		for (k = 0; k < pl.mbs[m].n; k++)
			if (pl.samples[pl.mbs[m].first + k].len == 4000) {
				assert_int_equal(pl.samples[pl.mbs[m].first +
				    k].place, PLAN_SHARDED);
				assert_int_equal(pl.samples[pl.mbs[m].first +
				    k].size, 8);
			}
	}
	assert_int_equal(spanning, 1);
	simulate(&pl, &a);
	plan_free(&pl);
	trace_free(&t);
	plan_of(&j, "skrull-cp", v, 8, &t, &pl);
	simulate(&pl, &b);
	plan_free(&pl);
	trace_free(&t);
	if (!(a.time[0] < b.time[0]))
		fail_msg("skrull %.9g s, skrull-cp %.9g s", a.time[0],
		    b.time[0]);
	report_free(&a);
	report_free(&b);
}

/* A sample longer than the CP group holds is refused, named; dropped on
 * request, the rest plans, a sample longer than BucketSize sharded. */
static void
test_refusals(void **state)
{
	static const uint32_t v[] = { 5000, 3000, 200 };
	struct sched_params sp;
	struct trace t;
	struct plan pl;
	struct job j;

	(void)state;
	small(&j, 1, 4, 3);
	sched_params_default(&sp);
	tutil_trace(&t, v, 3);
	plan_init(&pl);
	/* 5000 > 4 x 1024: over the CP group's capacity. */
	j.bucket = 1024;
	assert_int_equal(sched_plan(&j, &sp, "skrull", &t, "v.txt", &pl),
	    SK_ERR_RANGE);
	assert_non_null(strstr(err_msg(), "sample 0 (5,000 tokens) exceeds"));
	assert_int_equal(pl.niter, 0);
	/* Dropped, the rest plans: 3000 > bucket is sharded. */
	sp.drop_overlong = 1;
	assert_int_equal(sched_plan(&j, &sp, "skrull", &t, "v.txt", &pl),
	    SK_OK);
	assert_int_equal(pl.dropped, 1);
	assert_int_equal(plan_validate(&pl, &t), SK_OK);
	assert_int_equal(pl.samples[0].len, 3000);
	assert_int_equal(pl.samples[0].place, PLAN_SHARDED);
	plan_free(&pl);
	trace_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cp1_by_hand),
		cmocka_unit_test(test_one_sample),
		cmocka_unit_test(test_all_equal),
		cmocka_unit_test(test_dp_balance),
		cmocka_unit_test(test_estimate_vs_sim),
		cmocka_unit_test(test_not_slower_than_paper),
		cmocka_unit_test(test_span),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
