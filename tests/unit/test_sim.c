/*
 * Unit tests of sim: two schedules worked by hand to the microsecond,
 * invariants over plans of every policy on a random trace, the bound
 * below each of their iterations, determinism across runs and thread
 * counts, and the timeline file.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "cost.h"
#include "err.h"
#include "ops.h"
#include "plan.h"
#include "report.h"
#include "sched.h"
#include "sim.h"
#include "tutil.h"

/* One sample of a hand-built plan. */
struct hs {
	int d;           /* DP rank */
	int mb;          /* micro-batch of that rank */
	uint32_t index, len;
	int32_t place;
};

/* A one-iteration plan of the n samples s[], grouped in order by rank and
 * micro-batch. */
static void
hand_plan(struct plan *p, const struct job *j, const struct hs *s, size_t n)
{
	uint32_t batch[64];
	size_t i;
	int d, m;

	plan_init(p);
	p->job = *j;
	assert_true(n <= 64);
	assert_int_equal(plan_reserve(p, 1, n, n), SK_OK);
	for (i = 0; i < n; i++)
		batch[i] = s[i].index;
	assert_int_equal(plan_iter_begin(p, batch, n), SK_OK);
	for (d = 0; d < j->dp; d++) {
		assert_int_equal(plan_rank_begin(p), SK_OK);
		m = -1;
		for (i = 0; i < n; i++) {
			if (s[i].d != d)
				continue;
			if (s[i].mb != m) {
				assert_int_equal(plan_mb_begin(p), SK_OK);
				m = s[i].mb;
			}
			assert_int_equal(plan_push(p, s[i].index, s[i].len,
			    s[i].place), SK_OK);
		}
	}
}

/* sim_run with threads and an optional timeline of iterations [a, b]. */
static int
simulate(const struct plan *p, int threads, const char *tl, size_t a,
    size_t b, struct report *r, uint64_t *events)
{
	struct sim_opts o;

	sim_opts_default(&o);
	o.threads = threads;
	o.timeline = tl;
	o.tl_first = a;
	o.tl_last = b;
	o.events = events;
	return sim_run(p, &o, r);
}

static void
assert_cell(struct report *r, int gpu, long long busy, long long comm,
    long long wait)
{
	const struct report_cell *c = report_cell(r, 0, gpu);

	assert_int_equal(tutil_ns(c->busy), busy);
	assert_int_equal(tutil_ns(c->comm), comm);
	assert_int_equal(tutil_ns(c->wait), wait);
}

/* The launch counts hand_job's comment relies on. */
static void
test_hand_costs(void **state)
{
	static const uint32_t loc[] = { 50 }, sh[] = { 8 };
	static const int fwd[] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
	static const int bwd[] = { 2, 1, 2, 1, 2, 3, 3, 1, 2, 1 };
	struct ops_part part = { loc, 1, sh, 1, 2 };
	struct ops_cost c;
	struct ops_dp d;
	struct job j;
	int k;

	tutil_hand_job(&j, 1, 2, 2, 0);
	ops_part_cost(&j, &part, &c);
	for (k = 0; k < 10; k++) {
		assert_int_equal(tutil_ns(c.sec[OP_NORM_ATTN + k]), 1000 * fwd[k]);
		assert_int_equal(tutil_ns(c.sec[OP_DOWN_B + k]), 1000 * bwd[k]);
	}
	assert_int_equal(tutil_ns(c.sec[OP_HEAD]), 3000);
	assert_int_equal(tutil_ns(c.sec[OP_HEAD_B]), 4000);
	assert_int_equal(tutil_ns(c.sec[OP_OPTIMIZER]), 1000);
	assert_int_equal(tutil_ns(c.recompute_sec), 0);
	assert_int_equal(tutil_ns(c.ag_sec), 3000);
	assert_int_equal(tutil_ns(c.rs_sec), 3000);
	/* no local samples: no local attention */
	part.nlocal = 0;
	ops_part_cost(&j, &part, &c);
	assert_int_equal(tutil_ns(c.sec[OP_ATTN_LOCAL]), 0);
	assert_int_equal(tutil_ns(c.sec[OP_ATTN_LOCAL_B]), 0);
	ops_dp_cost(&j, &d);
	/* 2 GPUs: one hop */
	assert_int_equal(tutil_ns(d.grad_sec), 3000);
	assert_int_equal(tutil_ns(d.head_grad_sec), 3000);
	assert_int_equal(tutil_ns(d.param_sec), 0);
	j.zero = 1;
	ops_dp_cost(&j, &d);
	assert_int_equal(tutil_ns(d.param_sec), 3000);
}

/*
 * CP 2 (GPUs 0 and 1), DP 1, 2 layers, ZeRO 0 (gradients all-reduced, no
 * parameter all-gather).  Micro-batch 0: sample 0 (100 tokens) whole on
 * CP rank 0, nothing on rank 1.  Micro-batch 1: sample 1 (8 tokens)
 * sharded, sample 2 (50 tokens) whole on rank 1.  Times in us.
 *
 * Part costs: GPU 0 mb 0 (local only): forward 9 per layer, head 7,
 * backward 15 per layer.  GPU 0 mb 1 (shard only): 9, 7, 15.  GPU 1 mb 0:
 * nothing.  GPU 1 mb 1 (local + shard): 10, 7, 18.  All-gather,
 * reduce-scatter, gradient and head gradient collectives: 3 each.
 *
 * GPU 0 runs micro-batch 0 from 0 to 2 x 9 + 7 + 2 x 15 = 55, then
 * norm_attn, qkv, rope 55-58: it reaches the layer-0 all-gather at 58.
 * GPU 1 reaches it at 3 (its mb 0 is empty), runs attn_local 3-4 and
 * waits: the all-gather waits for its slowest member, runs 58-61.
 * Both: attn_shard 61-62, oproj .. down 62-67, layer 1 norm_attn, qkv,
 * rope 67-70; all-gather 70-73, overlapping GPU 1's attn_local 70-71;
 * attn_shard 73-74, the rest 74-79, head 79-82, head_b 82-86.
 * Backward layer 1: down_b .. oproj_b 86-94, attn_shard_b 94-97; the
 * reduce-scatter 97-100, overlapping GPU 1's attn_local_b 97-100;
 * rope_b 100-101, qkv_b 101-103, norm_attn_b 103-104; layer 1's gradient
 * all-reduce 104-107 overlaps layer 0's backward: down_b .. oproj_b
 * 104-112, attn_shard_b 112-115, reduce-scatter 115-118 (GPU 1:
 * attn_local_b 115-118), rope_b 118-119, qkv_b 119-121, norm_attn_b
 * 121-122; gradient 122-125, head gradient 125-128, optimizer 128-129.
 *
 * Iteration: 129.  GPU 0: busy 55 + 55 + 1 = 111; communication alone
 * 58-61, 70-73, 97-100, 115-118, 122-128: 18; waiting 0.  GPU 1: busy
 * 2 x 10 + 7 + 2 x 18 + 1 = 64; communication alone 58-61, 71-73,
 * 122-128: 11; waiting 129 - 64 - 11 = 54 (4-58).
 */
static void
test_hand_cp(void **state)
{
	static const struct hs s[] = {
		{ 0, 0, 0, 100, 0 },
		{ 0, 1, 1, 8, PLAN_SHARDED }, { 0, 1, 2, 50, 1 },
	};
	struct plan p;
	struct report r;
	struct job j;
	struct cost_mem mem;
	uint64_t events = 0;
	cJSON *tl, *ev;
	char *text;
	size_t n;
	int found = 0;

	tutil_hand_job(&j, 1, 2, 2, 0);
	hand_plan(&p, &j, s, 3);
	assert_int_equal(simulate(&p, 1, tutil_path("cp.json"), 0, 0, &r,
	    &events), SK_OK);
	assert_int_equal(r.niter, 1);
	assert_int_equal(tutil_ns(r.time[0]), 129000);
	assert_cell(&r, 0, 111000, 18000, 0);
	assert_cell(&r, 1, 64000, 11000, 54000);
	assert_int_equal(r.tokens[0], 158);
	/*
	 * One event per compute operation and per collective.  GPU 0: per
	 * micro-batch 9 forward and 9 backward operations per layer and 2
	 * of the head, 2 x (2 x 18 + 2) = 76, and the optimizer: 77.  GPU 1:
	 * 2 x 20 + 2 + 1 = 43.  Collectives: 2 all-gathers, 2 reduce-scatters,
	 * 2 gradients, 1 head gradient.  127 in all.
	 */
	assert_int_equal(events, 127);
	cost_memory(&j, &mem);
	assert_true(report_cell(&r, 0, 0)->peak ==
	    mem.statics + cost_act_bytes(&j, 100));
	assert_true(report_cell(&r, 0, 1)->peak ==
	    mem.statics + cost_act_bytes(&j, 54));
	assert_int_equal(r.noom, 0);

	/* The timeline shows the all-gathers where worked out above, and
	 * GPU 1's local attention under the second (tid 5: GPU 1's comm
	 * stream, 4: its compute stream). */
	assert_non_null(text = tutil_slurp(tutil_path("cp.json"), &n));
	assert_non_null(tl = cJSON_Parse(text));
	free(text);
	cJSON_ArrayForEach(ev, cJSON_GetObjectItem(tl, "traceEvents")) {
		const char *name = cJSON_GetObjectItem(ev, "name")->valuestring;
		int tid = cJSON_GetObjectItem(ev, "tid") != NULL ?
		    cJSON_GetObjectItem(ev, "tid")->valueint : 0;
		cJSON *ts = cJSON_GetObjectItem(ev, "ts");

		if (strcmp(name, "cp_allgather") == 0 && tid == 5) {
			assert_true(ts->valuedouble == 58 ||
			    ts->valuedouble == 70);
			assert_true(cJSON_GetObjectItem(ev, "dur")->valuedouble == 3);
			found++;
		}
		if (strcmp(name, "attn_local") == 0 && tid == 4) {
			assert_true(ts->valuedouble == 3 ||
			    ts->valuedouble == 70);
			found++;
		}
	}
	assert_int_equal(found, 4);
	cJSON_Delete(tl);
	report_free(&r);
	plan_free(&p);
}

/*
 * Selective recompute beside the reduce-scatter: CP 2, DP 1, 2 layers,
 * ZeRO 0, one micro-batch of sample 0 (8 tokens) sharded over both GPUs,
 * which then run alike.  Times in us.  A part costs forward 9 per layer
 * (no local attention), head 7 (3 + 4), backward 15 per layer, and the
 * selective recompute reruns the sharded attention: 1 per layer.
 *
 * Forward layer 0: norm_attn, qkv, rope 0-3, all-gather 3-6, attn_shard
 * 6-7, oproj .. down 7-12; layer 1: 12-15, all-gather 15-18, 18-19,
 * 19-24.  Head 24-27, head_b 27-31, then layer 1's recompute 31-32.
 * Backward layer 1: down_b .. oproj_b 32-40, attn_shard_b 40-43; its
 * reduce-scatter 43-46 with layer 0's recompute 43-44 beside it; rope_b
 * 46-47, qkv_b 47-49, norm_attn_b 49-50; layer 1's gradient 50-53 beside
 * layer 0's backward: down_b .. oproj_b 50-58, attn_shard_b 58-61,
 * reduce-scatter 61-64 (nothing beside it: no layer below), rope_b
 * 64-65, qkv_b 65-67, norm_attn_b 67-68; gradient 68-71, head gradient
 * 71-74, optimizer 74-75.
 *
 * Iteration 75; each recompute at the start of its layer's backward
 * (where it used to be, and where a full recompute stays) would make it
 * 76: layer 0's would no longer hide.  Each GPU: busy 18 + 7 + 2 + 30 +
 * 1 = 58; communication alone 3-6, 15-18, 44-46, 61-64, 68-74: 17;
 * waiting 0.  Events: per GPU 18 forward, 2 head, 2 recompute, 18
 * backward and the optimizer, 41; collectives 2 all-gathers, 2
 * reduce-scatters, 2 gradients, 1 head gradient: 89 in all.
 */
static void
test_hand_recompute(void **state)
{
	static const struct hs s[] = { { 0, 0, 0, 8, PLAN_SHARDED } };
	struct plan p;
	struct report r;
	struct job j;
	uint64_t events = 0;
	cJSON *tl, *ev, *args, *layer;
	char *text;
	size_t n;
	int found = 0;

	(void)state;
	tutil_hand_job(&j, 1, 2, 2, 0);
	j.recompute = RECOMPUTE_SELECTIVE;
	hand_plan(&p, &j, s, 1);
	assert_int_equal(simulate(&p, 1, tutil_path("rc.json"), 0, 0, &r,
	    &events), SK_OK);
	assert_int_equal(tutil_ns(r.time[0]), 75000);
	assert_cell(&r, 0, 58000, 17000, 0);
	assert_cell(&r, 1, 58000, 17000, 0);
	assert_int_equal(events, 89);

	/* GPU 0's recomputes (tid 1): layer 1's at 31, layer 0's at 43. */
	assert_non_null(text = tutil_slurp(tutil_path("rc.json"), &n));
	assert_non_null(tl = cJSON_Parse(text));
	free(text);
	cJSON_ArrayForEach(ev, cJSON_GetObjectItem(tl, "traceEvents")) {
		const char *name = cJSON_GetObjectItem(ev, "name")->valuestring;
		cJSON *tid = cJSON_GetObjectItem(ev, "tid");

		if (strcmp(name, "recompute") != 0 || tid == NULL ||
		    tid->valueint != 1)
			continue;
		assert_non_null(args = cJSON_GetObjectItem(ev, "args"));
		assert_non_null(layer = cJSON_GetObjectItem(args, "layer"));
		assert_true(cJSON_GetObjectItem(ev, "dur")->valuedouble == 1);
		assert_true(cJSON_GetObjectItem(ev, "ts")->valuedouble ==
		    (layer->valueint == 1 ? 31 : 43));
		found++;
	}
	assert_int_equal(found, 2);
	cJSON_Delete(tl);
	report_free(&r);
	plan_free(&p);

	/* A full recompute reruns the layer's whole forward (9, not 1) at
	 * the start of its backward, where it stays: 76 + 2 x 8 = 92. */
	j.recompute = RECOMPUTE_FULL;
	hand_plan(&p, &j, s, 1);
	assert_int_equal(simulate(&p, 1, NULL, 0, 0, &r, NULL), SK_OK);
	assert_int_equal(tutil_ns(r.time[0]), 92000);
	report_free(&r);
	plan_free(&p);
}

/*
 * DP 2, CP 1 (GPU 0 = DP rank 0, GPU 1 = DP rank 1), 1 layer, ZeRO 1:
 * gradients reduce-scattered, parameters all-gathered after the step, 3 us
 * each over the 2 GPUs.  Rank 0: one micro-batch (sample 0, 30 tokens);
 * rank 1: two (samples 1 and 2, 40 and 20 tokens).  A local part costs
 * forward 9, head 7, backward 15: 31 us per micro-batch.
 *
 * GPU 0 finishes its backward at 31 and reaches the layer's gradient
 * collective; GPU 1 reaches it at 62: it runs 62-65 (the slowest member
 * again), the head gradient 65-68, the optimizer 68-69 on both, the
 * parameter all-gather 69-72.  Iteration 72.  GPU 0: busy 32, exposed
 * communication 9, waiting 31 (31-62).  GPU 1: busy 63, communication 9,
 * waiting 0.
 */
static void
test_hand_dp(void **state)
{
	static const struct hs s[] = {
		{ 0, 0, 0, 30, 0 },
		{ 1, 0, 1, 40, 0 }, { 1, 1, 2, 20, 0 },
	};
	struct plan p;
	struct report r;
	struct job j;
	struct cost_mem mem;
	uint64_t events = 0;

	tutil_hand_job(&j, 2, 1, 1, 1);
	hand_plan(&p, &j, s, 3);
	assert_int_equal(simulate(&p, 2, NULL, 0, 0, &r, &events), SK_OK);
	assert_int_equal(tutil_ns(r.time[0]), 72000);
	assert_cell(&r, 0, 32000, 9000, 31000);
	assert_cell(&r, 1, 63000, 9000, 0);
	/* GPU 0: 9 + 2 + 9 + 1 = 21 operations, GPU 1: 2 x 20 + 1 = 41;
	 * 3 collectives */
	assert_int_equal(events, 65);
	assert_int_equal(r.tokens[0], 90);
	/* model FLOPs: forward + backward of each sample, no recompute */
	assert_true(r.model_flops[0] ==
	    cost_seq_flops(&j, 30, COST_FWD) + cost_seq_flops(&j, 30, COST_BWD) +
	    cost_seq_flops(&j, 40, COST_FWD) + cost_seq_flops(&j, 40, COST_BWD) +
	    cost_seq_flops(&j, 20, COST_FWD) + cost_seq_flops(&j, 20, COST_BWD));
	cost_memory(&j, &mem);
	assert_true(report_cell(&r, 0, 1)->peak ==
	    mem.statics + cost_act_bytes(&j, 40));
	report_free(&r);
	plan_free(&p);
}

/* ---- invariants over random plans ---- */

static const char *const policies[] = {
	"deepspeed", "sorted", "dacp", "rr", "skrull-cp"
};
#define NPOLICIES (sizeof policies / sizeof policies[0])

/*
 * The invariants' job: Qwen2.5-0.5B (24 layers) on 2 nodes of 4 H100s,
 * DP 2 x CP 4 (the CP groups inside a node, the DP collectives across
 * nodes, both on the ring model: the measured table is for 8 GPUs),
 * 6 samples per DP rank, BucketSize 4096, ZeRO-2, selective recompute.
 */
static void
inv_job(struct job *j)
{
	tutil_job(j, 2, 6, 4, 4096);
	j->cluster.nodes = 2;
	j->cluster.gpus_per_node = 4;
}

/*
 * A long-tailed trace of 61 samples from a linear congruential generator:
 * one in eight up to 3 x 4096 tokens (sharded or alone), the rest 16 to
 * 2047.  Five global batches of 12 and a partial one of 1 (the last, or
 * for sorted batching any), in which a DP rank has nothing to do: it still
 * joins the gradient collectives.
 */
static void
inv_plan(struct plan *p, const struct job *j, const char *policy)
{
	struct sched_params sp;
	struct trace t;
	uint32_t v[61];
	uint64_t x = 20260529;
	size_t i, empty;

	for (i = 0; i < 61; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		v[i] = (x >> 33) % 8 == 0 ? 1 + (uint32_t)((x >> 36) % 12288) :
		    16 + (uint32_t)((x >> 36) % 2032);
	}
	tutil_trace(&t, v, 61);
	sched_params_default(&sp);
	plan_init(p);
	assert_int_equal(sched_plan(j, &sp, policy, &t, NULL, p), SK_OK);
	assert_int_equal(p->niter, 6);
	for (i = 0, empty = 0; i < p->nranks; i++)
		empty += p->ranks[i].n == 0;
	assert_int_equal(empty, 1);
	trace_free(&t);
}

/*
 * The peak memory of GPU (d, r) in iteration it by a second method: the
 * static bytes plus the largest activations of its parts, a part holding
 * its local tokens plus 1/cp of each sharded sample (summed as ops.c
 * does: local lengths, then shards, in plan order).
 */
static double
peak_of(const struct plan *p, size_t it, int d, int r)
{
	const struct job *j = &p->job;
	const struct plan_rank *rk = &p->ranks[it * (size_t)j->dp + (size_t)d];
	struct cost_mem mem;
	double best = 0, loc, sh, a;
	size_t m, k;

	cost_memory(j, &mem);
	for (m = 0; m < rk->n; m++) {
		const struct plan_mb *mb = &p->mbs[rk->first + m];

		loc = sh = 0;
		for (k = 0; k < mb->n; k++) {
			const struct plan_sample *s = &p->samples[mb->first + k];

			if (s->place == PLAN_SHARDED)
				sh += (double)s->len / j->cp;
			else if (s->place == r)
				loc += s->len;
		}
		a = cost_act_bytes(j, loc + sh);
		if (a > best)
			best = a;
	}
	return mem.statics + best;
}

static void
test_invariants(void **state)
{
	struct report r, f;
	struct plan p;
	struct job j, base;
	size_t pi, it, v;
	int g;

	inv_job(&j);
	for (pi = 0; pi < NPOLICIES; pi++) {
		inv_plan(&p, &j, policies[pi]);
		assert_int_equal(simulate(&p, 1, NULL, 0, 0, &r, NULL), SK_OK);
		assert_int_equal(r.niter, 6);
		for (it = 0; it < r.niter; it++) {
			assert_true(r.time[it] > 0);
			for (g = 0; g < r.ngpus; g++) {
				const struct report_cell *c = report_cell(&r, it, g);

				/* exact in nanoseconds */
				assert_int_equal(tutil_ns(c->busy) + tutil_ns(c->comm) +
				    tutil_ns(c->wait), tutil_ns(r.time[it]));
				assert_true(c->peak == peak_of(&p, it,
				    g / j.cp, g % j.cp));
			}
		}
		/* Faster links, faster math, faster memory: never slower. */
		base = p.job;
		for (v = 0; v < 3; v++) {
			p.job = base;
			if (v == 0) {
				p.job.cluster.nvlink_bw *= 4;
				p.job.cluster.ib_bw *= 4;
			} else if (v == 1) {
				p.job.cluster.gpu.peak_flops *= 2;
			} else {
				p.job.cluster.gpu.hbm_bw *= 2;
			}
			assert_int_equal(simulate(&p, 2, NULL, 0, 0, &f, NULL),
			    SK_OK);
			for (it = 0; it < r.niter; it++)
				assert_true(tutil_ns(f.time[it]) <= tutil_ns(r.time[it]));
			/* and strictly faster somewhere */
			assert_true(f.total < r.total);
			report_free(&f);
		}
		p.job = base;
		report_free(&r);
		plan_free(&p);
	}
}

/*
 * The bound (report_bounds, ops_bound_sec) below every simulated
 * iteration of every policy but optimal (a solver per micro-batch, too
 * slow here), on inv_plan's trace at the invariants' layout (the DP
 * collectives across the two nodes, skrull's and hdp's spans too) and on
 * 4 nodes of 2 GPUs (CP groups and spans across nodes, beside the DP
 * collectives on the same links): no plan beats it, the DP stream's
 * overlap included.  The simulator rounds each operation to the
 * nanosecond: a few hundred of them per iteration, under 1e-7 s.
 */
static void
test_bound(void **state)
{
	struct sched_params sp;
	struct report r;
	struct plan p;
	struct trace t;
	struct job j;
	uint32_t v[61];
	uint64_t x = 20260529;
	size_t i, q, it, seen = 0;
	int lay;

	for (i = 0; i < 61; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		v[i] = (x >> 33) % 8 == 0 ? 1 + (uint32_t)((x >> 36) % 12288) :
		    16 + (uint32_t)((x >> 36) % 2032);
	}
	tutil_trace(&t, v, 61);
	for (lay = 0; lay < 2; lay++) {
		inv_job(&j);
		if (lay == 1) {
			j.cluster.nodes = 4;
			j.cluster.gpus_per_node = 2;
		}
		for (q = 0; q < sched_npolicies; q++) {
			const char *pol = sched_policies[q]->name;

			if (strcmp(pol, "optimal") == 0)
				continue;
			sched_params_default(&sp);
			plan_init(&p);
			if (sched_plan(&j, &sp, pol, &t, NULL, &p) != SK_OK)
				fail_msg("%s: %s", pol, err_msg());
			assert_int_equal(simulate(&p, 2, NULL, 0, 0, &r, NULL),
			    SK_OK);
			for (it = 0; it < r.niter; it++) {
				if (!(r.bounds[it] > 0 &&
				    r.bounds[it] <= r.time[it] + 1e-7))
					fail_msg("%s, layout %d, iteration %zu: "
					    "bound %.9g s, simulated %.9g s", pol, lay,
					    it, r.bounds[it], r.time[it]);
				seen++;
			}
			report_free(&r);
			plan_free(&p);
		}
	}
	assert_true(seen >= 2 * 6 * (sched_npolicies - 1));
	trace_free(&t);
}

/* The report as JSON text, every GPU included. */
static char *
report_text(const struct report *r)
{
	cJSON *o = cJSON_CreateObject();
	char *s;

	assert_non_null(o);
	assert_int_equal(report_to_json(r, o, 1), SK_OK);
	assert_non_null(s = cJSON_PrintUnformatted(o));
	cJSON_Delete(o);
	return s;
}

/*
 * Identical inputs, identical reports, whatever the thread count; with
 * OOMs (the GPU's memory cut to the median peak) listed in (iteration,
 * GPU) order; a sub-range gives the same rows as the whole run.
 */


static void
test_determinism(void **state)
{
	struct tutil_calls calls;
	static const char *const pols[] = { "deepspeed", "skrull" };
	static const int threads[] = { 2, 3, 1, 0 };
	struct report r, q;
	struct sim_opts o;
	struct plan p;
	struct job j;
	double peaks[6 * 8], avail;
	char *a, *b;
	size_t pi, i, k, n;

	inv_job(&j);
	for (pi = 0; pi < 2; pi++) {
		inv_plan(&p, &j, pols[pi]);
		assert_int_equal(simulate(&p, 1, NULL, 0, 0, &r, NULL), SK_OK);
		assert_int_equal(r.noom, 0);
		/* HBM cut so that about half the GPUs run out */
		for (i = 0; i < 6 * 8; i++)
			peaks[i] = r.cell[i].peak;
		for (i = 1; i < 6 * 8; i++)
			for (k = i; k > 0 && peaks[k - 1] > peaks[k]; k--) {
				double t = peaks[k];

				peaks[k] = peaks[k - 1];
				peaks[k - 1] = t;
			}
		report_free(&r);
		p.job.cluster.gpu.hbm_bytes = p.job.reserve + peaks[24];
		avail = peaks[24];

		assert_int_equal(simulate(&p, 1, NULL, 0, 0, &r, NULL), SK_OK);
		a = report_text(&r);
		for (n = 0, i = 0; i < 6 * 8; i++)
			n += r.cell[i].peak > avail;
		assert_true(n > 0);
		assert_int_equal(r.noom, n);
		for (i = 0; i < r.noom; i++) {
			assert_true(r.oom[i].need > r.oom[i].avail);
			assert_true(r.oom[i].need ==
			    report_cell(&r, r.oom[i].iter, r.oom[i].gpu)->peak);
			if (i > 0)
				assert_true(r.oom[i - 1].iter < r.oom[i].iter ||
				    (r.oom[i - 1].iter == r.oom[i].iter &&
				    r.oom[i - 1].gpu < r.oom[i].gpu));
		}
		for (k = 0; k < sizeof threads / sizeof threads[0]; k++) {
			assert_int_equal(simulate(&p, threads[k], NULL, 0, 0, &q,
			    NULL), SK_OK);
			b = report_text(&q);
			assert_string_equal(a, b);
			free(b);
			report_free(&q);
		}
		free(a);

		/* iterations 2 to 4 alone, on 3 threads: progress is called
		 * once per iteration, 1, 2, 3 of 3, in order */
		sim_opts_default(&o);
		o.first = 2;
		o.count = 3;
		o.threads = 3;
		memset(&calls, 0, sizeof calls);
		o.progress = tutil_count_progress;
		o.progress_ctx = &calls;
		assert_int_equal(sim_run(&p, &o, &q), SK_OK);
		assert_int_equal(calls.n, 3);
		assert_int_equal(calls.last, 3);
		assert_int_equal(calls.total, 3);
		assert_int_equal(calls.bad, 0);
		assert_int_equal(q.first, 2);
		assert_int_equal(q.niter, 3);
		for (i = 0; i < 3; i++) {
			assert_true(q.time[i] == r.time[2 + i]);
			assert_memory_equal(report_cell(&q, i, 0),
			    report_cell(&r, 2 + i, 0), 8 * sizeof *q.cell);
		}
		report_free(&q);
		report_free(&r);
		plan_free(&p);
	}
}

/*
 * The timeline of iterations 1 to 3: valid JSON; on every stream (pid,
 * tid) the operations never overlap; every operation and span belongs to
 * those iterations and lies inside its iteration's time, which starts at
 * the sum of the times of the iterations before it; each GPU has one
 * "iteration N" span per iteration (the spans' nesting is
 * test_timeline's and tests/timeline.sh's).
 */
static void
test_timeline(void **state)
{
	struct report r;
	struct plan p;
	struct job j;
	cJSON *tl, *ev, *args;
	char *text;
	size_t n, nx = 0, i, k;
	long long start[6], *ts, *dur, *key, t;
	int span, nit = 0;
	const char *path = tutil_path("timeline.json");

	inv_job(&j);
	inv_plan(&p, &j, "skrull");
	assert_int_equal(simulate(&p, 2, path, 1, 3, &r, NULL), SK_OK);
	for (start[0] = 0, i = 1; i < 6; i++)
		start[i] = start[i - 1] + tutil_ns(r.time[i - 1]);

	assert_non_null(text = tutil_slurp(path, &n));
	assert_non_null(tl = cJSON_Parse(text));
	free(text);
	n = (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(tl, "traceEvents"));
	ts = calloc(n, sizeof *ts);
	dur = calloc(n, sizeof *dur);
	key = calloc(n, sizeof *key);
	assert_true(ts != NULL && dur != NULL && key != NULL);
	cJSON_ArrayForEach(ev, cJSON_GetObjectItem(tl, "traceEvents")) {
		if (strcmp(cJSON_GetObjectItem(ev, "ph")->valuestring, "X") != 0)
			continue;
		args = cJSON_GetObjectItem(ev, "args");
		k = (size_t)cJSON_GetObjectItem(args, "iter")->valueint;
		span = strcmp(cJSON_GetObjectItem(ev, "cat")->valuestring,
		    "span") == 0;
		if (span && strncmp(cJSON_GetObjectItem(ev,
		    "name")->valuestring, "iteration ", 10) == 0)
			nit++;
		assert_true(k >= 1 && k <= 3);
		/* microseconds with three decimals: whole nanoseconds */
		ts[nx] = llround(cJSON_GetObjectItem(ev, "ts")->valuedouble *
		    1000);
		dur[nx] = llround(cJSON_GetObjectItem(ev, "dur")->valuedouble *
		    1000);
		assert_true(ts[nx] >= start[k]);
		assert_true(ts[nx] + dur[nx] <= start[k] + tutil_ns(r.time[k]));
		/* spans nest on their own track: kept out of the overlap check */
		if (span)
			continue;
		key[nx] = cJSON_GetObjectItem(ev, "pid")->valueint * 1000 +
		    cJSON_GetObjectItem(ev, "tid")->valueint;
		nx++;
	}
	assert_true(nx > 1000);
	/* 3 iterations x the job's GPUs */
	assert_int_equal(nit, 3 * j.dp * j.cp);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(tl,
	    "otherData"), "skrull_dropped_events")->valueint, 0);
	/* sort by (stream, start): insertion sort over an index-free copy */
	for (i = 1; i < nx; i++)
		for (k = i; k > 0 && (key[k - 1] > key[k] ||
		    (key[k - 1] == key[k] && ts[k - 1] > ts[k])); k--) {
			t = key[k]; key[k] = key[k - 1]; key[k - 1] = t;
			t = ts[k]; ts[k] = ts[k - 1]; ts[k - 1] = t;
			t = dur[k]; dur[k] = dur[k - 1]; dur[k - 1] = t;
		}
	for (i = 1; i < nx; i++)
		if (key[i] == key[i - 1])
			assert_true(ts[i - 1] + dur[i - 1] <= ts[i]);
	free(ts);
	free(dur);
	free(key);
	cJSON_Delete(tl);
	report_free(&r);
	plan_free(&p);
}

/* Bad ranges and plans: errors, and an empty report. */
static void
test_errors(void **state)
{
	static const struct hs s[] = {
		{ 0, 0, 0, 30, 0 }, { 1, 0, 1, 40, 0 },
	};
	struct sim_opts o;
	struct report r;
	struct plan p;
	struct job j;

	tutil_hand_job(&j, 2, 1, 1, 1);
	hand_plan(&p, &j, s, 2);
	sim_opts_default(&o);
	o.first = 0;
	o.count = 2;
	assert_int_equal(sim_run(&p, &o, &r), SK_ERR_RANGE);
	assert_int_equal(r.niter, 0);
	assert_null(r.cell);
	o.first = 2;
	o.count = 0;
	assert_int_equal(sim_run(&p, &o, &r), SK_ERR_RANGE);
	o.first = 0;
	p.samples[1].place = 1;  /* CP rank 1 of a CP group of 1 */
	assert_int_equal(sim_run(&p, &o, &r), SK_ERR_FORMAT);
	assert_non_null(strstr(err_msg(), "iteration 0, DP rank 1, "
	    "micro-batch 0: placement 1"));
	assert_null(r.cell);
	plan_free(&p);
}

/*
 * sim_predict: the executor's run of a one-GPU, one-sample plan.  On
 * hand_job's cluster every kernel costs its launch and a group of one GPU
 * communicates for nothing, so an iteration is its launches (hand_job's
 * comment): per layer 9 forward (one local attention, no shard) and 15
 * backward (GEMMs 2 each: down, gate_up, oproj, qkv; swiglu, the two
 * norms, rope 1 each; attention 3), the head 3 + 4, the optimizer 1.  One
 * layer: 32 launches; the plan's selective recompute adds the attention
 * forward again, 33.  Predicted with a model of 2 layers, the selective
 * recompute the executor runs too, and launches of 2 us: 2 (2 x 25 + 8) =
 * 116 us; for a plan of full recompute, which the executor does not run,
 * as without: 2 (2 x 24 + 8) = 112 us.
 */
static void
test_predict(void **state)
{
	static const struct hs s[] = { { 0, 0, 0, 300, 0 } };
	struct cluster c;
	struct report r;
	struct model m;
	struct plan p;
	struct job j;
	double sec[1] = { -1 };

	(void)state;
	tutil_hand_job(&j, 1, 1, 1, 0);
	j.recompute = RECOMPUTE_SELECTIVE;
	hand_plan(&p, &j, s, 1);
	assert_int_equal(simulate(&p, 1, NULL, 0, 0, &r, NULL), SK_OK);
	assert_int_equal(tutil_ns(r.time[0]), 33000);
	report_free(&r);

	m = j.model;
	m.layers = 2;
	c = j.cluster;
	c.eff.launch = 2e-6;
	assert_int_equal(sim_predict(&p, &m, PRECISION_FP32, &c, 0, 1, 1, sec, NULL),
	    SK_OK);
	assert_int_equal(tutil_ns(sec[0]), 116000);
	/* the plan itself is left as it was */
	assert_int_equal(p.job.model.layers, 1);
	assert_int_equal(p.job.recompute, RECOMPUTE_SELECTIVE);
	p.job.recompute = RECOMPUTE_FULL;
	assert_int_equal(sim_predict(&p, &m, PRECISION_FP32, &c, 0, 1, 1, sec, NULL),
	    SK_OK);
	assert_int_equal(tutil_ns(sec[0]), 112000);

	assert_int_equal(sim_predict(&p, &m, PRECISION_FP32, &c, 0, 0, 1, sec, NULL),
	    SK_ERR_RANGE);
	assert_int_equal(sim_predict(&p, &m, PRECISION_FP32, &c, 0, 2, 1, sec, NULL),
	    SK_ERR_RANGE);
	plan_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hand_costs),
		cmocka_unit_test(test_hand_cp),
		cmocka_unit_test(test_hand_recompute),
		cmocka_unit_test(test_hand_dp),
		cmocka_unit_test(test_invariants),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_timeline),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_predict),
	};

	return cmocka_run_group_tests(tests, tutil_setup_tmp,
	    tutil_teardown_tmp);
}
