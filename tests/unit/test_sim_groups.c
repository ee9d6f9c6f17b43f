/*
 * Unit tests of sim with plan version 2: shard groups smaller than the CP
 * group, nested groups, micro-batches spanning DP ranks, the topology of
 * a group's collectives, version-1 plans built through the group builder,
 * and the structures the simulator refuses.  Schedules are worked by hand
 * to the microsecond on a job where every kernel costs its launch, or
 * checked against ops_group_time and mbtime_eval.
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
#include "mbtime.h"
#include "ops.h"
#include "plan.h"
#include "report.h"
#include "sched.h"
#include "sim.h"
#include "tutil.h"

/*
 * tutil_hand_job on nodes of gpn GPUs (every collective its ring latency,
 * (group - 1) x 3 us, on NVLink and the network alike), ZeRO 0 (gradients
 * all-reduced, no parameter all-gather).  Per part, in us: forward
 * 8 + 1 with local samples + 1 with shards, head 7, backward 12 + 3 with
 * local samples + 3 with shards (test_sim's test_hand_costs); the
 * optimizer 1.
 */
static void
hand_job(struct job *j, int dp, int cp, int layers, int gpn)
{
	tutil_hand_job(j, dp, cp, layers, 0);
	j->cluster.gpus_per_node = gpn;
	j->cluster.nodes = dp * cp / gpn;
}

/* One sample of a hand-built plan: listed by DP rank d in its micro-batch
 * mb (spanning span DP ranks), whole on rank first (size 1) or sharded
 * over ranks [first, first + size). */
struct gs {
	int d, mb, span;
	uint32_t index, len;
	int first, size;
};

/* A one-iteration plan of the n samples s[], grouped in order by listing
 * rank and micro-batch. */
static void
group_plan(struct plan *p, const struct job *j, const struct gs *s, size_t n)
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
				assert_int_equal(plan_mb_begin_span(p, s[i].span),
				    SK_OK);
				m = s[i].mb;
			}
			assert_int_equal(plan_push_group(p, s[i].index, s[i].len,
			    s[i].first, s[i].size), SK_OK);
		}
	}
}

static int
simulate(const struct plan *p, int threads, const char *tl,
    struct report *r)
{
	struct sim_opts o;

	sim_opts_default(&o);
	o.threads = threads;
	o.timeline = tl;
	o.tl_first = 0;
	o.tl_last = 0;
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

/* The "X" events of a timeline file, parsed; cJSON_Delete frees it. */
static cJSON *
timeline_of(const char *path)
{
	cJSON *tl;
	char *text;
	size_t n;

	assert_non_null(text = tutil_slurp(path, &n));
	assert_non_null(tl = cJSON_Parse(text));
	free(text);
	return tl;
}

/*
 * (a) CP 4, DP 1, 2 layers, one micro-batch: sample 0 (8 tokens) sharded
 * over the group of ranks [0, 2), sample 1 (20) whole on rank 0, sample 2
 * (50) on rank 2, sample 3 (30) on rank 3.  Times in us.
 *
 * Parts: rank 0 local + shard (forward 10, head 7, backward 18), rank 1
 * shard (9, 7, 15), ranks 2 and 3 local (9, 7, 15).  The group's
 * all-gather and reduce-scatter over 2 GPUs: 3 each; the DP gradient
 * all-reduce and head gradient over 4: 9 each.
 *
 * Ranks 0 and 1 reach the layer-0 all-gather at 3 (norm_attn, qkv, rope):
 * 3-6, rank 0's attn_local 3-4 under it; attn_shard 6-7, oproj .. down
 * 7-12, layer 1's norm .. rope 12-15, all-gather 15-18 (attn_local 15-16),
 * attn_shard 18-19, the rest 19-24, head 24-31.  Backward layer 1: down_b
 * .. oproj_b 31-39, attn_shard_b 39-42, reduce-scatter 42-45 (rank 0's
 * attn_local_b 42-45), rope_b .. norm_attn_b 45-49: both reach the layer's
 * gradient collective at 49.  Ranks 2 and 3 reach it at 2 x 9 + 7 + 15 =
 * 40 and run layer 0's backward 40-55: it runs 49-58, under ranks 0 and
 * 1's layer 0 backward 49-60 (8 + attn_shard_b 3); their reduce-scatter
 * 60-63 (rank 0: attn_local_b), rope_b .. norm_attn_b 63-67; layer 0's
 * gradient 67-76, head gradient 76-85, optimizer 85-86.  Iteration 86.
 *
 * Rank 0: busy 2 (10 + 18) + 7 + 1 = 64; communication alone 4-6, 16-18,
 * 67-85: 22; waiting 0.  Rank 1: busy 2 (9 + 15) + 7 + 1 = 56;
 * communication alone 3-6, 15-18, 42-45, 60-63, 67-85: 30; waiting 0.
 * Ranks 2 and 3: busy 56; communication alone 55-58 and 67-85: 21;
 * waiting for layer 0's gradient 58-67: 9.
 *
 * Second method: ranks 0 and 1 end their micro-batch at 67 = ops_mb_time
 * of their load (2 x (28 + the all-gather's 2 not under attn_local) + 7,
 * and 2 x (24 + 3 + 3) + 7), the gradient of layer 1 hidden under layer
 * 0's backward: the iteration is mbtime_eval's time of the micro-batch
 * (the largest rank's) + the last gradient + the head gradient + the
 * optimizer.
 */
static void
test_small_group(void **state)
{
	static const struct gs s[] = {
		{ 0, 0, 1, 0, 8, 0, 2 }, { 0, 0, 1, 1, 20, 0, 1 },
		{ 0, 0, 1, 2, 50, 2, 1 }, { 0, 0, 1, 3, 30, 3, 1 },
	};
	static const long long want_rank[] = { 67000, 67000, 55000, 55000 };
	struct mbt_item items[4];
	struct mbtime mt;
	struct ops_dp dpc;
	struct cost_mem mem;
	struct report r;
	struct plan p;
	struct job j;
	double rank[4], mbsec;
	size_t i;
	int q;

	(void)state;
	hand_job(&j, 1, 4, 2, 4);
	group_plan(&p, &j, s, 4);
	assert_int_equal(plan_validate(&p, NULL), SK_OK);
	assert_int_equal(simulate(&p, 1, NULL, &r), SK_OK);
	assert_int_equal(tutil_ns(r.time[0]), 86000);
	assert_cell(&r, 0, 64000, 22000, 0);
	assert_cell(&r, 1, 56000, 30000, 0);
	assert_cell(&r, 2, 56000, 21000, 9000);
	assert_cell(&r, 3, 56000, 21000, 9000);
	/* memory: each member holds half the shard */
	cost_memory(&j, &mem);
	assert_true(report_cell(&r, 0, 0)->peak ==
	    mem.statics + cost_act_bytes(&j, 20 + 8.0 / 2));
	assert_true(report_cell(&r, 0, 1)->peak ==
	    mem.statics + cost_act_bytes(&j, 8.0 / 2));
	assert_true(report_cell(&r, 0, 2)->peak ==
	    mem.statics + cost_act_bytes(&j, 50));

	for (i = 0; i < 4; i++) {
		items[i].len = s[i].len;
		items[i].first = s[i].first;
		items[i].size = s[i].size;
	}
	assert_int_equal(mbtime_init(&mt, 4, 4), SK_OK);
	mbsec = mbtime_eval(&mt, &j, 4, 0, items, 4, rank);
	mbtime_free(&mt);
	for (q = 0; q < 4; q++)
		assert_int_equal(tutil_ns(rank[q]), want_rank[q]);
	ops_dp_cost(&j, &dpc);
	assert_int_equal(tutil_ns(r.time[0]), tutil_ns(mbsec) + tutil_ns(dpc.grad_sec) +
	    tutil_ns(dpc.head_grad_sec) + 1000);
	report_free(&r);
	plan_free(&p);
}

/*
 * Nested groups: CP 4, DP 1, 1 layer.  Sample 0 (8 tokens) over [0, 2),
 * sample 1 (8) over [0, 4), sample 2 (50) whole on rank 3.  Ranks 0 and 1
 * meet the 2-rank group's collectives (3 us) before the 4-rank group's
 * (9), in the order of (first, size); ranks 2 and 3 only the latter.
 *
 * Forward: all reach the all-gathers at 3; ranks 0, 1: [0, 2) 3-6, then
 * [0, 4) 6-15, which ranks 2 and 3 wait for from 3 (rank 3 runs its
 * attn_local 3-4).  The sharded attention waits for both: 15-16 on every
 * rank, the rest 16-21, head 21-28, backward down_b .. oproj_b 28-36,
 * attn_shard_b 36-39; ranks 0, 1: reduce-scatter [0, 2) 39-42, [0, 4)
 * 42-51, which ranks 2 and 3 wait for from 39 (rank 3: attn_local_b
 * 39-42); rope_b .. norm_attn_b 51-55, gradient 55-64, head gradient
 * 64-73, optimizer 73-74.  Iteration 74.
 *
 * Ranks 0, 1: busy 9 + 7 + 15 + 1 = 32, communication alone 3-15,
 * 39-51, 55-73: 42, waiting 0.  Rank 2: busy 32, communication alone
 * 6-15, 42-51, 55-73: 36, waiting 3-6, 39-42: 6.  Rank 3: busy
 * 10 + 7 + 18 + 1 = 36, communication 36, waiting 4-6: 2.
 */
static void
test_nested_groups(void **state)
{
	static const struct gs s[] = {
		{ 0, 0, 1, 0, 8, 0, 2 }, { 0, 0, 1, 1, 8, 0, 4 },
		{ 0, 0, 1, 2, 50, 3, 1 },
	};
	struct cost_mem mem;
	struct report r;
	struct plan p;
	struct job j;

	(void)state;
	hand_job(&j, 1, 4, 1, 4);
	group_plan(&p, &j, s, 3);
	assert_int_equal(plan_validate(&p, NULL), SK_OK);
	assert_int_equal(simulate(&p, 1, NULL, &r), SK_OK);
	assert_int_equal(tutil_ns(r.time[0]), 74000);
	assert_cell(&r, 0, 32000, 42000, 0);
	assert_cell(&r, 1, 32000, 42000, 0);
	assert_cell(&r, 2, 32000, 36000, 6000);
	assert_cell(&r, 3, 36000, 36000, 2000);
	cost_memory(&j, &mem);
	assert_true(report_cell(&r, 0, 0)->peak ==
	    mem.statics + cost_act_bytes(&j, 8.0 / 2 + 8.0 / 4));
	assert_true(report_cell(&r, 0, 3)->peak ==
	    mem.statics + cost_act_bytes(&j, 50 + 8.0 / 4));
	report_free(&r);
	plan_free(&p);
}

/*
 * (b) A micro-batch spanning DP ranks 0 and 1 (DP 2 x CP 2, 1 layer; DP
 * rank 0 = GPUs 0, 1, DP rank 1 = GPUs 2, 3, one node).  DP rank 0 lists
 * two spanning micro-batches and none of its own; DP rank 1 has one of
 * its own.  Times in us.
 *
 *   W (span 2): sample 0 (100 tokens) whole on rank 0, sample 1 (60) on
 *       rank 1: ranks 2 and 3 (DP rank 1's GPUs) have nothing in it;
 *   X (span 2): sample 2 (8) sharded over all 4 ranks, sample 3 (30)
 *       whole on rank 2;
 *   Z (DP rank 1's own): sample 4 (20) whole on its CP rank 0 (GPU 2).
 *
 * GPUs 0 and 1 run W 0-31 (9 + 7 + 15), then X: norm .. rope 31-34, and
 * reach X's all-gather (over 4 GPUs: 9) at 34.  GPUs 2 and 3 have nothing
 * in W: they reach it at 3 (GPU 2 runs its attn_local 3-4) and wait for
 * their borrowers to 34: GPU 2 idle 4-34, GPU 3 3-34.  All-gather 34-43;
 * attn_shard 43-44, the rest 44-49, head 49-56, down_b .. oproj_b 56-64,
 * attn_shard_b 64-67, reduce-scatter 67-76 (GPU 2: attn_local_b 67-70),
 * rope_b .. norm_attn_b 76-80.  X is GPUs 0 and 1's last micro-batch:
 * they issue their gradient collective in its backward, on the DP
 * stream, at 80, though DP rank 1 runs on; GPU 2 runs Z 80-111 and
 * reaches it at 111, GPU 3 (nothing in Z) at 80.  Gradient 111-120, head
 * gradient 120-129, optimizer 129-130.
 *
 * GPUs 0, 1: busy 31 + 31 + 1 = 63, communication alone 34-43, 67-76,
 * 111-129: 36, waiting 80-111: 31.  GPU 2: busy 35 + 31 + 1 = 67,
 * communication alone 34-43, 70-76, 111-129: 33, waiting 4-34: 30 (the
 * borrowed rank waiting at the group's all-gather).  GPU 3: busy 31 + 1,
 * communication 36, waiting 3-34 and 80-111: 62.
 */
static void
test_spanning(void **state)
{
	static const struct gs s[] = {
		{ 0, 0, 2, 0, 100, 0, 1 }, { 0, 0, 2, 1, 60, 1, 1 },
		{ 0, 1, 2, 2, 8, 0, 4 }, { 0, 1, 2, 3, 30, 2, 1 },
		{ 1, 0, 1, 4, 20, 0, 1 },
	};
	const char *path = tutil_path("span.json");
	struct cost_mem mem;
	struct report r;
	struct plan p;
	struct job j;
	cJSON *tl, *ev;
	int found = 0;

	(void)state;
	hand_job(&j, 2, 2, 1, 4);
	group_plan(&p, &j, s, 5);
	assert_int_equal(plan_validate(&p, NULL), SK_OK);
	assert_int_equal(simulate(&p, 2, path, &r), SK_OK);
	assert_int_equal(tutil_ns(r.time[0]), 130000);
	assert_cell(&r, 0, 63000, 36000, 31000);
	assert_cell(&r, 1, 63000, 36000, 31000);
	assert_cell(&r, 2, 67000, 33000, 30000);
	assert_cell(&r, 3, 32000, 36000, 62000);
	/* every sample counted once */
	assert_int_equal(r.tokens[0], 218);
	cost_memory(&j, &mem);
	assert_true(report_cell(&r, 0, 0)->peak ==
	    mem.statics + cost_act_bytes(&j, 100));
	assert_true(report_cell(&r, 0, 2)->peak ==
	    mem.statics + cost_act_bytes(&j, 30 + 8.0 / 4));
	assert_true(report_cell(&r, 0, 3)->peak ==
	    mem.statics + cost_act_bytes(&j, 8.0 / 4));

	/* The timeline: X's all-gather on GPU 3 (tid 11 of node 0: its comm
	 * stream) at 34 for 9, its group all 4 GPUs from GPU 0, X being
	 * GPU 3's micro-batch 1; GPU 2's attn_local in X at 3 and in Z (its
	 * micro-batch 2) at 83. */
	tl = timeline_of(path);
	cJSON_ArrayForEach(ev, cJSON_GetObjectItem(tl, "traceEvents")) {
		const char *name = cJSON_GetObjectItem(ev, "name")->valuestring;
		cJSON *tid = cJSON_GetObjectItem(ev, "tid");
		cJSON *args = cJSON_GetObjectItem(ev, "args"), *g;

		if (strcmp(name, "cp_allgather") == 0 && tid->valueint == 11) {
			assert_true(cJSON_GetObjectItem(ev, "ts")->valuedouble ==
			    34);
			assert_true(cJSON_GetObjectItem(ev, "dur")->valuedouble ==
			    9);
			assert_int_equal(cJSON_GetObjectItem(args, "mb")->valueint,
			    1);
			assert_non_null(g = cJSON_GetObjectItem(args, "group"));
			assert_int_equal(cJSON_GetObjectItem(g, "gpu")->valueint, 0);
			assert_int_equal(cJSON_GetObjectItem(g, "size")->valueint,
			    4);
			found++;
		}
		if (strcmp(name, "attn_local") == 0 && tid->valueint == 7) {
			double ts = cJSON_GetObjectItem(ev, "ts")->valuedouble;

			assert_true(ts == 3 || ts == 83);
			assert_int_equal(cJSON_GetObjectItem(args, "mb")->valueint,
			    ts == 3 ? 1 : 2);
			found++;
		}
	}
	assert_int_equal(found, 3);
	cJSON_Delete(tl);
	report_free(&r);
	plan_free(&p);
}

/*
 * (c) Topology: DP 4 x CP 1 on 2 nodes of 2 GPUs, NVLink 1e11 B/s and
 * 3 us, the network 2e10 B/s and 7 us.  One micro-batch spanning 2 DP
 * ranks holds sample 0 (4000 tokens) sharded over both; listed by DP
 * rank 0 it runs on GPUs 0 and 1 (node 0), listed by DP rank 1 on GPUs 1
 * and 2 (nodes 0 and 1).  Nothing hides the collectives (no local
 * attention) and the rest of the iteration is the same (the span's GPUs
 * issue their gradients in its backward, after its reduce-scatter, the
 * two others, which run nothing, in their tails; DP collectives over all
 * 4), so the second takes longer by the network's all-gather and
 * reduce-scatter less NVLink's, as ops_group_time gives them; the
 * timeline shows those durations.
 */
static void
test_topology(void **state)
{
	struct gs s[] = { { 0, 0, 2, 0, 4000, 0, 2 } };
	const char *path = tutil_path("topo.json");
	long long t[2], ag[2], rs[2], dur;
	double a, b;
	struct report r;
	struct plan p;
	struct job j;
	cJSON *tl, *ev;
	int v, found;

	(void)state;
	hand_job(&j, 4, 1, 1, 2);
	j.bucket = 2000;  /* half the sample on each member */
	j.cluster.nvlink_bw = 1e11;
	j.cluster.ib_bw = 2e10;
	j.cluster.ib_lat = 7e-6;
	for (v = 0; v < 2; v++) {
		ops_group_time(&j, 4000, 2, v, &a, &b);
		ag[v] = tutil_ns(a);
		rs[v] = tutil_ns(b);
	}
	/* 4000 x 64 x 2 (K, V) x 2 bytes over 2 GPUs: 512 KB one way */
	assert_int_equal(ag[0], 3000 + 5120);
	assert_int_equal(ag[1], 7000 + 25600);
	assert_int_equal(ops_spans_nodes(&j, 0, 2), 0);
	assert_int_equal(ops_spans_nodes(&j, 1, 2), 1);
	for (v = 0; v < 2; v++) {
		s[0].d = v;
		group_plan(&p, &j, s, 1);
		assert_int_equal(plan_validate(&p, NULL), SK_OK);
		assert_int_equal(simulate(&p, 1, path, &r), SK_OK);
		t[v] = tutil_ns(r.time[0]);
		/* the members' collectives fully exposed */
		assert_int_equal(tutil_ns(report_cell(&r, 0, v)->comm) -
		    tutil_ns(report_cell(&r, 0, 3)->comm), ag[v] + rs[v]);
		tl = timeline_of(path);
		found = 0;
		cJSON_ArrayForEach(ev, cJSON_GetObjectItem(tl, "traceEvents")) {
			const char *name =
			    cJSON_GetObjectItem(ev, "name")->valuestring;

			if (strcmp(name, "cp_allgather") != 0 &&
			    strcmp(name, "cp_reducescatter") != 0)
				continue;
			dur = llround(cJSON_GetObjectItem(ev, "dur")->valuedouble *
			    1000);
			assert_int_equal(dur, name[3] == 'a' ? ag[v] : rs[v]);
			found++;
		}
		assert_int_equal(found, 4);
		cJSON_Delete(tl);
		report_free(&r);
		plan_free(&p);
	}
	assert_int_equal(t[1] - t[0], ag[1] + rs[1] - ag[0] - rs[0]);
}

/*
 * Gradients after a span, 3 layers on one node of 4 GPUs (collectives
 * over 4: 9 us).  A micro-batch spanning DP ranks 0 and 1 (cp 2, W = 4):
 * sample 0 (90 tokens) sharded over all 4 ranks, sample 1 (40) whole on
 * rank 1, sample 2 (25) on rank 3.  Ranks 0 and 2 hold a shard (forward 9,
 * backward 15 a layer), ranks 1 and 3 a shard and a whole sample (10, 18),
 * but every rank waits at the all-gather (3-12) and the reduce-scatter:
 * a layer takes 18 forward (norm .. rope 3, the all-gather to 12, the
 * sharded attention 1, the rest 5) and 24 backward (8 to the sharded
 * attention's backward, its 3, the reduce-scatter 9, rope_b .. norm_attn_b
 * 4), the head 7: the span ends at 3 x 18 + 7 + 3 x 24 = 133, its
 * backward layers at 85, 109, 133.
 *
 * As the last micro-batch of both DP ranks it issues the gradient
 * collectives in its backward, as an own micro-batch does: layer 2's
 * 85-94 and layer 1's 109-118 under the backward (on the DP stream), layer
 * 0's 133-142, head gradient 142-151, optimizer 151-152.  152, and the
 * same four GPUs as one CP group of 4 (dp 1) with the same samples give
 * the same, since the gradient collective spans dp x cp = 4 GPUs either
 * way.
 *
 * When DP rank 1 runs on with a micro-batch of its own (sample 3, 70
 * tokens, on its CP rank 0: GPU 2 runs it 133-212, its layers' backward
 * ending at 182, 197, 212; GPU 3 has nothing in it), GPUs 0 and 1 still
 * issue their gradients in the span's backward, but each layer's
 * collective waits for GPU 2: 182-191, 197-206, 212-221, head gradient
 * 221-230, optimizer 230-231.  231.
 */
static void
test_span_gradients(void **state)
{
	static const struct gs span[] = {
		{ 0, 0, 2, 0, 90, 0, 4 }, { 0, 0, 2, 1, 40, 1, 1 },
		{ 0, 0, 2, 2, 25, 3, 1 },
	};
	static const struct gs cp4[] = {
		{ 0, 0, 1, 0, 90, 0, 4 }, { 0, 0, 1, 1, 40, 1, 1 },
		{ 0, 0, 1, 2, 25, 3, 1 },
	};
	static const struct gs after[] = {
		{ 0, 0, 2, 0, 90, 0, 4 }, { 0, 0, 2, 1, 40, 1, 1 },
		{ 0, 0, 2, 2, 25, 3, 1 }, { 1, 1, 1, 3, 70, 0, 1 },
	};
	struct report r1, r2, r3;
	struct plan p;
	struct job j;

	(void)state;
	hand_job(&j, 2, 2, 3, 4);
	group_plan(&p, &j, span, 3);
	assert_int_equal(plan_validate(&p, NULL), SK_OK);
	assert_int_equal(simulate(&p, 1, NULL, &r1), SK_OK);
	plan_free(&p);
	hand_job(&j, 1, 4, 3, 4);
	group_plan(&p, &j, cp4, 3);
	assert_int_equal(plan_validate(&p, NULL), SK_OK);
	assert_int_equal(simulate(&p, 1, NULL, &r2), SK_OK);
	plan_free(&p);
	assert_int_equal(tutil_ns(r1.time[0]), 152000);
	assert_int_equal(tutil_ns(r2.time[0]), 152000);
	hand_job(&j, 2, 2, 3, 4);
	group_plan(&p, &j, after, 4);
	assert_int_equal(plan_validate(&p, NULL), SK_OK);
	assert_int_equal(simulate(&p, 1, NULL, &r3), SK_OK);
	plan_free(&p);
	assert_int_equal(tutil_ns(r3.time[0]), 231000);
	report_free(&r1);
	report_free(&r2);
	report_free(&r3);
}

/* The timeline's event on GPU gpu named name starting at ts us: its
 * duration in ns, or -1 when there is none. */
static long long
tl_dur(const cJSON *tl, int gpu, int gpn, const char *name, double ts)
{
	const cJSON *ev;

	cJSON_ArrayForEach(ev, cJSON_GetObjectItem(tl, "traceEvents")) {
		const cJSON *n = cJSON_GetObjectItem(ev, "name");
		const cJSON *t = cJSON_GetObjectItem(ev, "ts");
		const cJSON *pid = cJSON_GetObjectItem(ev, "pid");
		const cJSON *tid = cJSON_GetObjectItem(ev, "tid");

		if (t == NULL || tid == NULL || strcmp(n->valuestring, name) != 0 ||
		    pid->valueint != gpu / gpn + 1 ||
		    (tid->valueint - 1) / 3 != gpu % gpn ||
		    llround(t->valuedouble * 1000) != llround(ts * 1000))
			continue;
		return llround(cJSON_GetObjectItem(ev, "dur")->valuedouble *
		    1000);
	}
	return -1;
}

/*
 * The DP stream.  DP 2 x CP 2 on 2 nodes of 2 GPUs, 2 layers, ZeRO 0: the
 * CP groups inside a node (3 us over 2 GPUs), the DP group of 4 across
 * both, its latency 5 us a hop: gradient and head gradient 3 x 5 = 15.
 * DP rank 0 (GPUs 0, 1): sample 0 (8 tokens) sharded over its CP group,
 * samples 1 and 2 (20 each) whole on ranks 0 and 1: forward 10, head 7,
 * backward 18 a layer on both.  DP rank 1 (GPUs 2, 3): samples 3 and 4
 * (30 each) whole on its ranks 0 and 1: 9, 7, 15.  Times in us.
 *
 * GPUs 0, 1: norm .. rope 0-3, all-gather 3-6 (attn_local 3-4),
 * attn_shard 6-7, the rest 7-12; layer 1 12-24 likewise; head 24-31;
 * layer 1's backward: down_b .. oproj_b 31-39, attn_shard_b 39-42,
 * reduce-scatter 42-45 (attn_local_b), rope_b .. norm_attn_b 45-49: they
 * reach layer 1's gradient collective at 49, GPUs 2 and 3 at 2 x 9 + 7 +
 * 15 = 40 (their layer 0 backward 40-55).  It runs 49-64 on the DP
 * stream while GPUs 0 and 1 run layer 0's backward: down_b .. oproj_b
 * 49-57, attn_shard_b 57-60, and the reduce-scatter 60-63 on the
 * communication stream, at the same time as the gradient collective on
 * the same GPU; rope_b .. norm_attn_b 63-67.  Layer 0's gradient 67-82,
 * head gradient 82-97, optimizer 97-98.  Iteration 98.  (On one stream
 * the reduce-scatter would have waited for the gradient collective,
 * 64-67, and the iteration taken 102.)
 *
 * GPUs 0, 1: busy 2 x 10 + 7 + 2 x 18 + 1 = 64; communication alone 4-6,
 * 16-18, 67-97: 34; waiting 0.  GPUs 2, 3: busy 2 x 9 + 7 + 2 x 15 + 1 =
 * 56; communication alone 55-64, 67-97: 39; waiting 64-67: 3.
 *
 * Second method: GPUs 0 and 1's micro-batch ends at 67, mbtime_eval's
 * time for it alone (2 x (28 + 2) + 7, the all-gather's 2 not under
 * attn_local): nothing of the DP collectives delays it, and the iteration
 * is that + the last gradient + the head gradient + the optimizer.
 *
 * With bandwidth on the links (NVLink 1.024e9 B/s: a collective of
 * sample 0's 2048 bytes over 2 moves 1024, 1 us, so 4; the network
 * 9.8496e9 B/s: the gradient all-reduce moves 1.5 x 131328 bytes, 20 us,
 * so 35), GPUs 0 and 1 reach layer 1's gradient at 52 (each all-gather
 * and reduce-scatter 1 longer), it moves its bytes 52-72 and ends at 87;
 * layer 0's reduce-scatter moves its bytes 63-64 over NVLink beside it:
 * links of two kinds, neither slows the other: 63-67 and 52-87 as alone.
 * Layer 0's gradient waits for the DP stream, 87-122, then the head
 * gradient (ops_dp_cost) and the optimizer.
 */
static void
test_dp_stream(void **state)
{
	static const struct gs s[] = {
		{ 0, 0, 1, 0, 8, 0, 2 }, { 0, 0, 1, 1, 20, 0, 1 },
		{ 0, 0, 1, 2, 20, 1, 1 },
		{ 1, 0, 1, 3, 30, 0, 1 }, { 1, 0, 1, 4, 30, 1, 1 },
	};
	const char *path = tutil_path("dpstream.json");
	struct mbt_item items[3];
	struct mbtime mt;
	struct ops_dp dpc;
	struct report r;
	struct plan p;
	struct job j;
	double rank[2], mbsec;
	cJSON *tl;
	size_t i;

	(void)state;
	hand_job(&j, 2, 2, 2, 2);
	j.cluster.ib_lat = 5e-6;
	group_plan(&p, &j, s, 5);
	assert_int_equal(plan_validate(&p, NULL), SK_OK);
	assert_int_equal(simulate(&p, 1, path, &r), SK_OK);
	assert_int_equal(tutil_ns(r.time[0]), 98000);
	assert_cell(&r, 0, 64000, 34000, 0);
	assert_cell(&r, 1, 64000, 34000, 0);
	assert_cell(&r, 2, 56000, 39000, 3000);
	assert_cell(&r, 3, 56000, 39000, 3000);
	/* the two collectives at once on GPU 0: its DP stream and its
	 * communication stream */
	tl = timeline_of(path);
	assert_int_equal(tl_dur(tl, 0, 2, "dp_grad", 49), 15000);
	assert_int_equal(tl_dur(tl, 0, 2, "cp_reducescatter", 60), 3000);
	cJSON_Delete(tl);
	report_free(&r);

	for (i = 0; i < 3; i++) {
		items[i].len = s[i].len;
		items[i].first = s[i].first;
		items[i].size = s[i].size;
	}
	assert_int_equal(mbtime_init(&mt, 2, 3), SK_OK);
	mbsec = mbtime_eval(&mt, &j, 2, 0, items, 3, rank);
	mbtime_free(&mt);
	assert_int_equal(tutil_ns(mbsec), 67000);
	ops_dp_cost(&j, &dpc);
	assert_int_equal(98000, tutil_ns(mbsec) + tutil_ns(dpc.grad_sec) +
	    tutil_ns(dpc.head_grad_sec) + 1000);

	j.cluster.nvlink_bw = 1.024e9;
	j.cluster.ib_bw = 9.8496e9;
	p.job = j;
	ops_dp_cost(&j, &dpc);
	assert_int_equal(tutil_ns(dpc.grad_sec), 35000);
	assert_int_equal(simulate(&p, 1, path, &r), SK_OK);
	assert_int_equal(tutil_ns(r.time[0]), 52000 + 2 * 35000 +
	    tutil_ns(dpc.head_grad_sec) + 1000);
	tl = timeline_of(path);
	assert_int_equal(tl_dur(tl, 0, 2, "dp_grad", 52), 35000);
	assert_int_equal(tl_dur(tl, 0, 2, "cp_reducescatter", 63), 4000);
	cJSON_Delete(tl);
	report_free(&r);
	plan_free(&p);
}

/*
 * A shared link.  DP 1 x CP 2 on 2 nodes of 1 GPU, 2 layers, ZeRO 0: the
 * CP group and the DP group are the same two GPUs, both across the
 * network, 6.4e9 B/s and 3 us a hop.  Sample 0 (400 tokens) sharded over
 * both, 102400 bytes of K/V: its all-gather and reduce-scatter move half,
 * 8 us, so 11; samples 1 and 2 (20 each) whole on ranks 0 and 1: forward
 * 10, head 7, backward 18 a layer on both.  The gradient all-reduce over
 * 2 moves its 131328 bytes, 20.52 us, so 23.52; the head gradient's
 * 256128 bytes, 40.02 us, so 43.02.  Times in us.
 *
 * Both GPUs alike: norm .. rope 0-3, all-gather 3-14 (attn_local 3-4),
 * attn_shard 14-15, the rest 15-20; layer 1 20-40; head 40-47; layer 1's
 * backward 47-55, attn_shard_b 55-58, reduce-scatter 58-69, rope_b ..
 * norm_attn_b 69-73.  Layer 1's gradient starts at 73 and moves bytes
 * alone until layer 0's reduce-scatter starts at 84 (73-81, attn_shard_b
 * 81-84): 11 of its 20.52 done.  From 84 the two share each GPU's link,
 * each at half speed: the reduce-scatter's 8 take 16, to 100, while the
 * gradient moves 8 more; then it moves its last 1.52 alone, to 101.52.
 * (Second method: the link carries 9.52 + 8 = 17.52 of bytes from 84,
 * at full rate between the two, so the last bytes leave at 101.52.)
 * Each then pays its latency: the reduce-scatter ends at 103, the
 * gradient at 104.52.  rope_b .. norm_attn_b 103-107; layer 0's gradient
 * 107-130.52 alone, head gradient 130.52-173.54, optimizer 173.54-174.54.
 * Iteration 174.54 (without the sharing 166.54, on one stream 179.06).
 *
 * Each GPU: busy 2 x 10 + 7 + 2 x 18 + 1 = 64; communication alone 4-14,
 * 24-34, 61-69, 87-103, 107-173.54: 110.54; waiting 0.  On one node of 2
 * GPUs with NVLink of the same bandwidth and latency, the two groups
 * share NVLink alike: the same iteration.
 */
static void
test_shared_link(void **state)
{
	static const struct gs s[] = {
		{ 0, 0, 1, 0, 400, 0, 2 }, { 0, 0, 1, 1, 20, 0, 1 },
		{ 0, 0, 1, 2, 20, 1, 1 },
	};
	const char *path = tutil_path("shared.json");
	struct ops_dp dpc;
	struct report r;
	struct plan p;
	struct job j;
	double ag, rs;
	cJSON *tl;
	int v;

	(void)state;
	for (v = 0; v < 2; v++) {
		hand_job(&j, 1, 2, 2, v == 0 ? 1 : 2);
		j.cluster.ib_bw = 6.4e9;
		if (v == 1)
			j.cluster.nvlink_bw = 6.4e9;
		ops_group_time(&j, 400, 2, v == 0, &ag, &rs);
		assert_int_equal(tutil_ns(ag), 11000);
		assert_int_equal(tutil_ns(rs), 11000);
		ops_dp_cost(&j, &dpc);
		assert_int_equal(dpc.spans, v == 0);
		assert_int_equal(tutil_ns(dpc.grad_sec), 23520);
		assert_int_equal(tutil_ns(dpc.head_grad_sec), 43020);
		group_plan(&p, &j, s, 3);
		assert_int_equal(plan_validate(&p, NULL), SK_OK);
		assert_int_equal(simulate(&p, 1, path, &r), SK_OK);
		assert_int_equal(tutil_ns(r.time[0]), 174540);
		assert_cell(&r, 0, 64000, 110540, 0);
		assert_cell(&r, 1, 64000, 110540, 0);
		/* stretched by the sharing: 84-103 and 73-104.52 */
		tl = timeline_of(path);
		assert_int_equal(tl_dur(tl, 1, v == 0 ? 1 : 2,
		    "cp_reducescatter", 84), 19000);
		assert_int_equal(tl_dur(tl, 1, v == 0 ? 1 : 2, "dp_grad", 73),
		    31520);
		cJSON_Delete(tl);
		report_free(&r);
		plan_free(&p);
	}
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
 * (d) A version-1 plan rebuilt with plan_push_group(first 0, size cp) for
 * every sharded sample (and (q, 1) for the whole ones) simulates to the
 * same report and the same timeline, byte for byte, as the scheduler's
 * own plan_push(PLAN_SHARDED) plan: Qwen2.5-0.5B on 2 nodes of 4, DP 2 x
 * CP 4, a long-tailed trace.
 */
static void
test_v1_shape(void **state)
{
	static const char *const pols[] = { "deepspeed", "skrull-cp" };
	struct sched_params sp;
	struct report r, q;
	struct plan p, g;
	struct trace t;
	struct job j;
	uint32_t v[48];
	uint64_t x = 977;
	size_t i, it, m, k, n1, n2;
	char *a, *b;
	int d, pi;

	(void)state;
	tutil_job(&j, 2, 6, 4, 4096);
	j.cluster.nodes = 2;
	j.cluster.gpus_per_node = 4;
	for (i = 0; i < 48; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		v[i] = (x >> 33) % 6 == 0 ? 1 + (uint32_t)((x >> 36) % 12288) :
		    16 + (uint32_t)((x >> 36) % 2032);
	}
	tutil_trace(&t, v, 48);
	for (pi = 0; pi < 2; pi++) {
		sched_params_default(&sp);
		plan_init(&p);
		assert_int_equal(sched_plan(&j, &sp, pols[pi], &t, NULL, &p),
		    SK_OK);
		plan_init(&g);
		g.job = p.job;
		assert_int_equal(plan_reserve(&g, p.niter, p.nsamples, p.nmbs),
		    SK_OK);
		for (it = 0; it < p.niter; it++) {
			assert_int_equal(plan_iter_begin(&g, p.batch +
			    p.batch_first[it], p.batch_first[it + 1] -
			    p.batch_first[it]), SK_OK);
			for (d = 0; d < j.dp; d++) {
				const struct plan_rank *rk =
				    &p.ranks[it * (size_t)j.dp + (size_t)d];

				assert_int_equal(plan_rank_begin(&g), SK_OK);
				for (m = 0; m < rk->n; m++) {
					const struct plan_mb *mb =
					    &p.mbs[rk->first + m];

					assert_int_equal(mb->span, 1);
					assert_int_equal(plan_mb_begin(&g), SK_OK);
					for (k = 0; k < mb->n; k++) {
						const struct plan_sample *s =
						    &p.samples[mb->first + k];
						int sh = s->place == PLAN_SHARDED;

						assert_int_equal(plan_push_group(&g,
						    s->index, s->len,
						    sh ? 0 : s->place, sh ? j.cp : 1),
						    SK_OK);
					}
				}
			}
		}
		assert_int_equal(simulate(&p, 2, tutil_path("v1a.json"), &r),
		    SK_OK);
		assert_int_equal(simulate(&g, 3, tutil_path("v1b.json"), &q),
		    SK_OK);
		a = report_text(&r);
		b = report_text(&q);
		assert_string_equal(a, b);
		free(a);
		free(b);
		a = tutil_slurp(tutil_path("v1a.json"), &n1);
		b = tutil_slurp(tutil_path("v1b.json"), &n2);
		assert_int_equal(n1, n2);
		assert_memory_equal(a, b, n1);
		/* a whole CP group's collectives name no group */
		assert_null(strstr(a, "\"group\""));
		assert_non_null(strstr(a, "cp_allgather"));
		free(a);
		free(b);
		report_free(&r);
		report_free(&q);
		plan_free(&p);
		plan_free(&g);
	}
	trace_free(&t);
}

/*
 * (e) Structures the simulator cannot run are refused, naming iteration,
 * DP rank and micro-batch; a plan over its memory bound is simulated
 * (the sim shows OOMs).
 */
static void
test_refusals(void **state)
{
	static const struct gs s[] = {
		{ 0, 0, 1, 0, 30, 0, 1 },
		{ 1, 0, 1, 1, 40, 0, 2 }, { 1, 0, 1, 2, 20, 1, 1 },
		{ 1, 1, 1, 3, 10, 0, 1 },
	};
	struct cost_mem mem;
	struct report r;
	struct plan p;
	struct job j;

	(void)state;
	hand_job(&j, 2, 2, 1, 4);
	group_plan(&p, &j, s, 4);
	assert_int_equal(simulate(&p, 1, NULL, &r), SK_OK);
	report_free(&r);

	/* a group not aligned, and one outside the micro-batch */
	p.samples[1].first = 1;
	assert_int_equal(simulate(&p, 1, NULL, &r), SK_ERR_FORMAT);
	assert_non_null(strstr(err_msg(), "sim: iteration 0, DP rank 1, "
	    "micro-batch 0: shard group [1, 3) is not an aligned block of 2 "
	    "or more of its 2 ranks"));
	assert_null(r.cell);
	p.samples[1].first = 0;
	p.samples[1].size = 4;
	assert_int_equal(simulate(&p, 1, NULL, &r), SK_ERR_FORMAT);
	assert_non_null(strstr(err_msg(), "DP rank 1, micro-batch 0: shard "
	    "group [0, 4)"));
	p.samples[1].size = 2;

	/* a whole sample outside the micro-batch's ranks */
	p.samples[2].place = 2;
	assert_int_equal(simulate(&p, 1, NULL, &r), SK_ERR_FORMAT);
	assert_non_null(strstr(err_msg(), "iteration 0, DP rank 1, "
	    "micro-batch 0: placement 2 is not in [-1, 1]"));
	p.samples[2].place = 1;

	/* a span past the last DP rank */
	p.mbs[2].span = 2;
	assert_int_equal(simulate(&p, 1, NULL, &r), SK_ERR_FORMAT);
	assert_non_null(strstr(err_msg(), "iteration 0, DP rank 1, "
	    "micro-batch 1: spans 2 DP ranks, outside the job's dp 2"));
	p.mbs[2].span = 1;

	/* a spanning micro-batch after one of the rank's own: DP rank 0's
	 * own micro-batch then a spanning one */
	p.ranks[0].n = 2;
	p.ranks[1].first = 2;
	p.ranks[1].n = 1;
	p.mbs[1].span = 2;
	assert_int_equal(simulate(&p, 1, NULL, &r), SK_ERR_FORMAT);
	assert_non_null(strstr(err_msg(), "iteration 0, DP rank 0, "
	    "micro-batch 1: spans 2 DP ranks but follows one of the rank's "
	    "own"));
	/* listed first it runs: its placements are then in [0, 4) */
	p.mbs[0] = p.mbs[1];
	p.mbs[1].first = 0;
	p.mbs[1].n = 1;
	p.mbs[1].span = 1;
	assert_int_equal(simulate(&p, 1, NULL, &r), SK_OK);
	report_free(&r);

	/* a sample of 3000 tokens whole on GPU 0, bucket 1000: over its
	 * memory bound, simulated, and an OOM on GPU 0 alone once memory
	 * holds a bucket's activations */
	p.samples[0].len = 3000;
	assert_int_not_equal(plan_validate(&p, NULL), SK_OK);
	cost_memory(&p.job, &mem);
	p.job.reserve = 0;
	p.job.cluster.gpu.hbm_bytes = mem.statics + cost_act_bytes(&p.job,
	    1000);
	assert_int_equal(simulate(&p, 1, NULL, &r), SK_OK);
	assert_int_equal(r.noom, 1);
	assert_int_equal(r.oom[0].gpu, 0);
	assert_true(r.oom[0].need == mem.statics + cost_act_bytes(&p.job,
	    3000));
	report_free(&r);
	plan_free(&p);
}

/* ---- random plans of version 2 ---- */

static uint64_t rng = 20260603;

static uint32_t
rnd(uint32_t n)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)((rng >> 33) % n);
}

/*
 * A plan of 5 iterations on DP 4 x CP 2 (2 nodes of 4), random structure:
 * each DP rank lists 0 to 2 micro-batches spanning 2 or 3 DP ranks (as
 * many as remain), then 0 to 2 of its own; each holds 1 to 6 samples of
 * 16 to 3000 tokens, each whole on a random rank or sharded over a random
 * aligned block.  Memory is not respected (the simulator runs it), nor
 * are global batches recorded (it does not read them).
 */
static void
random_plan(struct plan *p, const struct job *j)
{
	static const int divs[] = { 2, 3, 4, 6, 8 };
	uint32_t index = 0;
	size_t it;
	int d, m, nsp, nown, span, W, n, z, i, q;

	plan_init(p);
	p->job = *j;
	assert_int_equal(plan_reserve(p, 5, 5 * 4 * 4 * 6, 5 * 4 * 4), SK_OK);
	for (it = 0; it < 5; it++) {
		assert_int_equal(plan_iter_begin(p, NULL, 0), SK_OK);
		for (d = 0; d < j->dp; d++) {
			assert_int_equal(plan_rank_begin(p), SK_OK);
			nsp = d < j->dp - 1 ? (int)rnd(3) : 0;
			nown = (int)rnd(3);
			for (m = 0; m < nsp + nown; m++) {
				span = m < nsp ? 2 + (int)rnd(2) : 1;
				if (span > j->dp - d)
					span = j->dp - d;
				W = span * j->cp;
				assert_int_equal(plan_mb_begin_span(p, span), SK_OK);
				n = 1 + (int)rnd(6);
				for (i = 0; i < n; i++) {
					z = rnd(2) ? divs[rnd(5)] : 1;
					q = (int)rnd(8);
					if (W % z == 0) {
						q = q % (W / z) * z;
					} else {
						z = 1;
						q %= W;
					}
					assert_int_equal(plan_push_group(p, index++,
					    16 + rnd(2985), q, z), SK_OK);
				}
			}
		}
	}
}

/*
 * The peak memory of GPU g = d cp + r in iteration it by a second method:
 * its micro-batches from plan_rank_mbs, in each its rank q = off + r
 * holding its whole samples and 1/size of each group holding it (summed
 * as ops.c does: whole lengths, then shards, in plan order).
 */
static double
peak_of(const struct plan *p, size_t it, int d, int r)
{
	const struct job *j = &p->job;
	struct cost_mem mem;
	size_t mbs[32], n, i, k;
	int off[32], q;
	double best = 0, loc, sh, a;

	cost_memory(j, &mem);
	n = plan_rank_mbs(p, it, d, mbs, off, 32);
	assert_true(n <= 32);
	for (i = 0; i < n; i++) {
		const struct plan_mb *mb = &p->mbs[mbs[i]];

		q = off[i] + r;
		loc = sh = 0;
		for (k = 0; k < mb->n; k++) {
			const struct plan_sample *s = &p->samples[mb->first + k];

			if (s->place == PLAN_SHARDED) {
				if (q >= s->first && q < s->first + s->size)
					sh += (double)s->len / s->size;
			} else if (s->place == q) {
				loc += s->len;
			}
		}
		a = cost_act_bytes(j, loc + sh);
		if (a > best)
			best = a;
	}
	return mem.statics + best;
}

/*
 * Random structures run to the end (no collective order crosses another:
 * no stall), with busy + comm + wait the iteration time exactly on every
 * GPU, each GPU's peak memory that of its parts by plan_rank_mbs, every
 * sample's tokens counted once, and the same report on 1 and 3 threads.
 */
static void
test_random(void **state)
{
	struct report r, q;
	struct plan p;
	struct job j;
	uint64_t tok;
	size_t it, k, m, round;
	char *a, *b;
	int g, d;

	(void)state;
	tutil_job(&j, 4, 6, 2, 4096);
	j.model.layers = 2;
	j.cluster.nodes = 2;
	j.cluster.gpus_per_node = 4;
	for (round = 0; round < 4; round++) {
		random_plan(&p, &j);
		assert_int_equal(simulate(&p, 1, NULL, &r), SK_OK);
		for (it = 0; it < 5; it++) {
			for (g = 0; g < r.ngpus; g++) {
				const struct report_cell *c = report_cell(&r, it, g);

				assert_int_equal(tutil_ns(c->busy) + tutil_ns(c->comm) +
				    tutil_ns(c->wait), tutil_ns(r.time[it]));
				assert_true(c->peak == peak_of(&p, it, g / j.cp,
				    g % j.cp));
			}
			/* the iteration's samples, each once */
			tok = 0;
			for (d = 0; d < j.dp; d++) {
				const struct plan_rank *rk =
				    &p.ranks[it * (size_t)j.dp + (size_t)d];

				for (m = 0; m < rk->n; m++)
					for (k = 0; k < p.mbs[rk->first + m].n;
					    k++)
						tok += p.samples[p.mbs[rk->first +
						    m].first + k].len;
			}
			assert_int_equal(r.tokens[it], tok);
		}
		assert_int_equal(simulate(&p, 3, NULL, &q), SK_OK);
		a = report_text(&r);
		b = report_text(&q);
		assert_string_equal(a, b);
		free(a);
		free(b);
		report_free(&r);
		report_free(&q);
		plan_free(&p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_group),
		cmocka_unit_test(test_nested_groups),
		cmocka_unit_test(test_spanning),
		cmocka_unit_test(test_topology),
		cmocka_unit_test(test_span_gradients),
		cmocka_unit_test(test_dp_stream),
		cmocka_unit_test(test_shared_link),
		cmocka_unit_test(test_v1_shape),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, tutil_setup_tmp,
	    tutil_teardown_tmp);
}
