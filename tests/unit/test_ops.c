/*
 * Unit tests of ops, the simulator's per-operation cost model: numbers
 * worked by hand for a small made-up model on a cluster of round numbers,
 * zero-work operations, recompute modes, the data-parallel collectives, a
 * monotonicity property over random parts, a published figure (the
 * FlashAttention-2 curve on H100) and an estimate (a thin shard's time per
 * layer), and the cluster's "efficiency" JSON member.
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
#include <gsl/gsl_rng.h>

#include "cluster.h"
#include "cost.h"
#include "err.h"
#include "job.h"
#include "ops.h"
#include "tutil.h"

/* Fail unless a is within a relative 1e-12 of b (b != 0) or equals it. */
#define assert_rel(a, b) do {						\
	double a_ = (a), b_ = (b);					\
	if (!(fabs(a_ - b_) <= 1e-12 * fabs(b_)))			\
		fail_msg("%s = %.17g, expected %.17g", #a, a_, b_);	\
} while (0)

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

static const uint32_t two_local[] = { 100, 200 };
static const uint32_t two_shard[] = { 400, 800 };

static void
test_names(void **state)
{
	int i, k;

	assert_string_equal(ops_name(OP_QKV), "qkv");
	assert_string_equal(ops_name(OP_ATTN_SHARD_B), "attn_shard_b");
	assert_string_equal(ops_name(OP_OPTIMIZER), "optimizer");
	assert_string_equal(ops_name(OP_NCOMPUTE), "unknown");
	for (i = 0; i < OP_NCOMPUTE; i++)
		for (k = 0; k < i; k++)
			assert_true(strcmp(ops_name(i), ops_name(k)) != 0);
}

static void
test_eff_curves(void **state)
{
	struct job j;

	tutil_small_job(&j);
	/* 0.5 x 100 / 200, 0.5 x 300 / 400 */
	assert_rel(ops_gemm_eff(&j.cluster.eff, 100), 0.25);
	assert_rel(ops_gemm_eff(&j.cluster.eff, 300), 0.375);
	assert_true(ops_gemm_eff(&j.cluster.eff, 0) == 0);
	assert_true(ops_gemm_eff(&j.cluster.eff, -5) == 0);
	/* 0.4 x 200 / 400, 0.4 x 600 / 800 */
	assert_rel(ops_attn_eff(&j.cluster.eff, 200), 0.2);
	assert_rel(ops_attn_eff(&j.cluster.eff, 600), 0.3);
	assert_true(ops_attn_eff(&j.cluster.eff, 0) == 0);
}

/*
 * The H100 default curve against the figure it was fitted to: the
 * FlashAttention-2 causal forward, head dim 128, H100 SXM5 bars of Shah
 * et al. 2024 ("FlashAttention-3", Figure 5): 191, 260, 298, 319, 333,
 * 335 TFLOP/s at 512 ... 16K tokens.  The two-parameter curve stays
 * within 5% of every bar.
 */
static void
test_eff_published(void **state)
{
	static const double S[] = { 512, 1024, 2048, 4096, 8192, 16384 };
	static const double tf[] = { 191, 260, 298, 319, 333, 335 };
	struct cluster c;
	double got;
	size_t i;

	assert_int_equal(cluster_preset("h100", &c), SK_OK);
	for (i = 0; i < NELEM(S); i++) {
		got = ops_attn_eff(&c.eff, S[i]) * c.gpu.peak_flops / 1e12;
		if (fabs(got / tf[i] - 1) > 0.05)
			fail_msg("%g tokens: %g TFLOP/s, figure %g", S[i], got,
			    tf[i]);
	}
	/* a large GEMM: Bekman's MAMF, 794.5 of 989 TFLOP/s, to 1.5% */
	got = ops_gemm_eff(&c.eff, 16384) * c.gpu.peak_flops / 1e12;
	assert_true(fabs(got / 794.5 - 1) < 0.015);
}

/*
 * Local sequences 100 and 200: T = 300 tokens.
 * QKV: h = 256 -> h_q + 2 h_kv = 512.
 *   FLOPs 2 x 300 x 256 x 512 = 78643200 at 0.375 of 1e14: 2.09715e-6 s;
 *   bytes 2 (256 x 512 + 300 (256 + 512)) = 2 (131072 + 230400) = 722944,
 *   7.22944e-7 s; so compute-bound: 2.097152e-6 + 5e-6 = 7.097152e-6 s.
 *   Backward: two such GEMMs, 157286400 FLOPs, 1445888 bytes,
 *   1.4194304e-5 s.
 * Local attention: 2 h_q S (S + 1) = 512 S (S + 1):
 *   S = 100: 5171200 FLOPs at 0.4 x 100/300 = 2/15: 3.8784e-7 s;
 *   S = 200: 20582400 FLOPs at 0.4 x 200/400 = 0.2: 1.02912e-6 s;
 *   together 25753600 FLOPs, 1.41696e-6 s; bytes 2 x 300 x (2 x 256 +
 *   2 x 128) + 4 x 4 heads x 300 = 465600, 4.656e-7 s: 6.41696e-6 s.
 *   Backward: 2.5 x: 64384000 FLOPs, 3.5424e-6 s, 931200 bytes, three
 *   launches: 1.85424e-5 s.
 * Head: final norm 2 x 2 x 300 x 256 = 307200 bytes, 3.072e-7 s; logits
 *   2 x 300 x 256 x 1000 = 153600000 FLOPs at 0.375: 4.096e-6 s (its
 *   2 (256000 + 300 x 1256) = 1265600 bytes take less); cross-entropy
 *   300 x 1000 x (2 + 4) = 1800000 bytes, 1.8e-6 s; 6.2032e-6 s busy +
 *   3 launches = 2.12032e-5 s; backward 2 x 6.2032e-6 + 4 launches =
 *   3.24064e-5 s.
 */
static void
test_local_by_hand(void **state)
{
	struct ops_part p = { two_local, 2, NULL, 0, 4 };
	struct ops_cost c;
	struct job j;

	tutil_small_job(&j);
	ops_part_cost(&j, &p, &c);
	assert_rel(c.tokens, 300);
	assert_rel(c.flops[OP_QKV], 78643200);
	assert_rel(c.bytes[OP_QKV], 722944);
	assert_rel(c.sec[OP_QKV], 7.097152e-6);
	assert_rel(c.flops[OP_QKV_B], 157286400);
	assert_rel(c.bytes[OP_QKV_B], 1445888);
	assert_rel(c.sec[OP_QKV_B], 1.4194304e-5);

	assert_rel(c.flops[OP_ATTN_LOCAL], 25753600);
	assert_rel(c.bytes[OP_ATTN_LOCAL], 465600);
	assert_rel(c.sec[OP_ATTN_LOCAL], 6.41696e-6);
	assert_rel(c.flops[OP_ATTN_LOCAL_B], 64384000);
	assert_rel(c.bytes[OP_ATTN_LOCAL_B], 931200);
	assert_rel(c.sec[OP_ATTN_LOCAL_B], 1.85424e-5);

	assert_rel(c.sec[OP_HEAD], 2.12032e-5);
	assert_rel(c.sec[OP_HEAD_B], 3.24064e-5);
	/* 307200 + 1265600 + 1800000 */
	assert_rel(c.bytes[OP_HEAD], 3372800);
	assert_rel(c.act_bytes, cost_act_bytes(&j, 300));
}

/*
 * Shards of 400 and 800 tokens over N = 4: this rank runs q = 100 and 200
 * queries, T = 300 tokens.  FLOPs 512 S (S + 1) / 4: 20531200 and
 * 82022400, at the efficiency of q (2/15 and 0.2, not of the keys' 400
 * and 800, which would give 4/15 and 0.32): 1.53984e-6 + 4.10112e-6 =
 * 5.64096e-6 s; bytes 2 (2 x 256 x 300 + 2 x 128 x 1200) + 16 x 300 =
 * 926400, 9.264e-7 s: 1.064096e-5 s.
 * All-gather of K and V of 1200 tokens: 2 x 1200 x 128 x 2 = 614400
 * bytes; ring inside the node: 3 x 2 us + 3/4 x 614400 / 1e11 =
 * 6e-6 + 4.608e-6 = 1.0608e-5 s; the reduce-scatter the same.
 * Over N = 16 (two nodes): 15 x 4 us + 15/16 x 614400 / 2e10 = 6e-5 +
 * 2.88e-5 = 8.88e-5 s.
 */
static void
test_shard_by_hand(void **state)
{
	struct ops_part p = { NULL, 0, two_shard, 2, 4 };
	struct ops_cost c;
	struct job j;

	tutil_small_job(&j);
	ops_part_cost(&j, &p, &c);
	assert_rel(c.tokens, 300);
	assert_rel(c.flops[OP_ATTN_SHARD], 102553600);
	assert_rel(c.bytes[OP_ATTN_SHARD], 926400);
	assert_rel(c.sec[OP_ATTN_SHARD], 1.064096e-5);
	assert_rel(c.ag_bytes, 614400);
	assert_rel(c.rs_bytes, 614400);
	assert_rel(c.ag_sec, 1.0608e-5);
	assert_rel(c.rs_sec, 1.0608e-5);
	/* the same token count as the local part: the same GEMMs */
	assert_rel(c.sec[OP_QKV], 7.097152e-6);

	j.cluster.nodes = 2;
	p.N = 16;
	ops_part_cost(&j, &p, &c);
	assert_rel(c.ag_sec, 8.88e-5);
	assert_rel(c.rs_sec, 8.88e-5);
}

/*
 * Both: local 100, 200 and shards 400, 800 over 4, T = 600.
 * Selective: the two attentions again, 6.41696e-6 + 1.064096e-5 =
 * 1.705792e-5 s.  Full: the whole layer forward at T = 600 (GEMM
 * efficiency 0.5 x 600/700 = 3/7):
 *   two norms, 2 x 2 x 600 x 256 = 614400 bytes each: 2 x 5.6144e-6
 *   QKV 157286400 FLOPs: 3.670016e-6 + 5e-6 = 8.670016e-6
 *   RoPE 2 x 2 x 600 x 384 = 921600 bytes: 5.9216e-6
 *   attention 6.41696e-6 + 1.064096e-5
 *   O projection 78643200 FLOPs: 6.835008e-6
 *   gate and up 314572800 FLOPs: 1.2340032e-5
 *   SwiGLU 3 x 2 x 600 x 512 = 1843200 bytes: 6.8432e-6
 *   down 157286400 FLOPs: 8.670016e-6
 *   sum 7.7566592e-5 s.
 */
static void
test_recompute(void **state)
{
	struct ops_part p = { two_local, 2, two_shard, 2, 4 };
	struct ops_cost c;
	struct job j;

	tutil_small_job(&j);
	ops_part_cost(&j, &p, &c);
	assert_rel(c.tokens, 600);
	assert_rel(c.recompute_sec, 1.705792e-5);
	assert_rel(c.recompute_flops, 25753600 + 102553600);
	assert_rel(c.sec[OP_GATE_UP], 1.2340032e-5);

	j.recompute = RECOMPUTE_FULL;
	ops_part_cost(&j, &p, &c);
	assert_rel(c.recompute_sec, 7.7566592e-5);

	j.recompute = RECOMPUTE_NONE;
	ops_part_cost(&j, &p, &c);
	assert_true(c.recompute_sec == 0 && c.recompute_flops == 0);
}

/* An operation with no work costs nothing, launch included. */
static void
test_zero_work(void **state)
{
	static const uint32_t one[] = { 1000 };
	struct ops_part none = { NULL, 0, NULL, 0, 8 };
	struct ops_part loc = { two_local, 2, NULL, 0, 4 };
	struct ops_part sh = { NULL, 0, two_shard, 2, 4 };
	struct ops_part whole = { NULL, 0, one, 1, 1 };
	struct ops_cost c;
	struct job j;
	int op;

	tutil_small_job(&j);
	ops_part_cost(&j, &none, &c);
	for (op = 0; op < OP_OPTIMIZER; op++)
		if (c.sec[op] != 0 || c.flops[op] != 0 || c.bytes[op] != 0)
			fail_msg("%s costs %g s with no tokens", ops_name(op),
			    c.sec[op]);
	assert_true(c.tokens == 0 && c.ag_sec == 0 && c.rs_sec == 0 &&
	    c.recompute_sec == 0);
	assert_true(c.sec[OP_OPTIMIZER] > 0);

	ops_part_cost(&j, &loc, &c);
	assert_true(c.sec[OP_ATTN_SHARD] == 0 && c.sec[OP_ATTN_SHARD_B] == 0);
	assert_true(c.ag_bytes == 0 && c.ag_sec == 0 && c.rs_sec == 0);
	assert_rel(c.recompute_sec, c.sec[OP_ATTN_LOCAL]);

	ops_part_cost(&j, &sh, &c);
	assert_true(c.sec[OP_ATTN_LOCAL] == 0 && c.sec[OP_ATTN_LOCAL_B] == 0);
	assert_rel(c.recompute_sec, c.sec[OP_ATTN_SHARD]);

	/* N = 1: the "shard" is the whole sequence, nothing to gather */
	ops_part_cost(&j, &whole, &c);
	assert_true(c.ag_sec == 0 && c.rs_sec == 0 && c.ag_bytes == 0);
	assert_rel(c.flops[OP_ATTN_SHARD], 512.0 * 1000 * 1001);
}

/*
 * Parameters: embeddings and output 2 x 1000 x 256 = 512000, per layer
 * 256 x 256 + 2 x 256 x 128 + 256 x 256 + 3 x 256 x 512 + 2 x 256 =
 * 590336, two layers 1180672, final norm 256: 1692928.
 * AdamW, ZeRO-2 over 8 GPUs: 211616 parameters x 28 bytes = 5925248,
 * 5.925248e-6 + 5e-6 = 1.0925248e-5 s; ZeRO-0: all 1692928 x 28 =
 * 47401984 bytes, 5.2401984e-5 s.
 * Gradients per layer 590336 x 2 = 1180672 bytes over 8 GPUs in one
 * node: reduce-scatter 7 x 2 us + 7/8 x 1180672 / 1e11 = 1.4e-5 +
 * 1.033088e-5 = 2.433088e-5 s, the parameter all-gather the same;
 * embeddings and head (512000 + 256) x 2 = 1024512 bytes: 1.4e-5 +
 * 8.96448e-6 = 2.296448e-5 s.  ZeRO-0: all-reduce, 1.4e-5 + 2 x
 * 1.033088e-5 = 3.466176e-5 s, no gather.  DP 4 x CP 4 on two nodes:
 * 15 x 4 us + 15/16 x 1180672 / 2e10 = 6e-5 + 5.5344e-5 = 1.15344e-4 s.
 * The latency floors are the hop terms: 1.4e-5 s in one node (none for
 * the gather without ZeRO), 6e-5 s across two; a group of 4 GPUs' 3 x
 * 2 us in a node, 3 x 4 us across.
 */
static void
test_optimizer_dp(void **state)
{
	struct ops_part none = { NULL, 0, NULL, 0, 4 };
	struct ops_cost c;
	struct ops_dp d;
	struct job j;
	double ag, rs;

	tutil_small_job(&j);
	ops_part_cost(&j, &none, &c);
	assert_rel(c.bytes[OP_OPTIMIZER], 5925248);
	assert_rel(c.sec[OP_OPTIMIZER], 1.0925248e-5);
	ops_dp_cost(&j, &d);
	assert_rel(d.grad_bytes, 1180672);
	assert_rel(d.grad_sec, 2.433088e-5);
	assert_rel(d.param_bytes, 1180672);
	assert_rel(d.param_sec, 2.433088e-5);
	assert_rel(d.head_grad_bytes, 1024512);
	assert_rel(d.head_grad_sec, 2.296448e-5);
	assert_rel(d.grad_floor, 1.4e-5);
	assert_rel(d.param_floor, 1.4e-5);
	assert_int_equal(d.spans, 0);
	ops_group_floor(&j, 4, 0, &ag, &rs);
	assert_rel(ag, 6e-6);
	assert_rel(rs, 6e-6);
	ops_group_floor(&j, 4, 1, &ag, &rs);
	assert_rel(ag, 1.2e-5);
	assert_rel(rs, 1.2e-5);

	j.zero = 0;
	ops_part_cost(&j, &none, &c);
	assert_rel(c.sec[OP_OPTIMIZER], 5.2401984e-5);
	ops_dp_cost(&j, &d);
	assert_rel(d.grad_sec, 3.466176e-5);
	assert_rel(d.grad_floor, 1.4e-5);
	assert_true(d.param_bytes == 0 && d.param_sec == 0 &&
	    d.param_floor == 0);

	j.zero = 2;
	j.cluster.nodes = 2;
	j.dp = 4;
	ops_dp_cost(&j, &d);
	assert_rel(d.grad_sec, 1.15344e-4);
	assert_rel(d.grad_floor, 6e-5);
	assert_int_equal(d.spans, 1);
}

static void
random_part(gsl_rng *r, struct ops_part *p, uint32_t *local, uint32_t *shard)
{
	static const int degrees[] = { 1, 2, 4, 8, 16 };
	size_t i;

	p->nlocal = gsl_rng_uniform_int(r, 6);
	p->nshard = gsl_rng_uniform_int(r, 4);
	for (i = 0; i < p->nlocal; i++)
		local[i] = 1 + (uint32_t)gsl_rng_uniform_int(r, 8000);
	for (i = 0; i < p->nshard; i++)
		shard[i] = 1 + (uint32_t)gsl_rng_uniform_int(r, 60000);
	p->local = local;
	p->shard = shard;
	p->N = degrees[gsl_rng_uniform_int(r, NELEM(degrees))];
}

/* More peak FLOP/s or more HBM bandwidth never makes an operation slower,
 * and changes neither its FLOPs nor its bytes. */
static void
test_monotone(void **state)
{
	uint32_t local[8], shard[8];
	struct ops_part p;
	struct ops_cost base, fast;
	struct job j, k;
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	int n, op, which;

	assert_non_null(r);
	gsl_rng_set(r, 20250526);
	for (n = 0; n < 400; n++) {
		job_default(&j);
		j.recompute = (enum recompute)gsl_rng_uniform_int(r, 3);
		random_part(r, &p, local, shard);
		ops_part_cost(&j, &p, &base);
		for (which = 0; which < 2; which++) {
			k = j;
			if (which == 0)
				k.cluster.gpu.peak_flops *= 1 + 3 * gsl_rng_uniform(r);
			else
				k.cluster.gpu.hbm_bw *= 1 + 3 * gsl_rng_uniform(r);
			ops_part_cost(&k, &p, &fast);
			for (op = 0; op < OP_NCOMPUTE; op++) {
				if (fast.sec[op] > base.sec[op])
					fail_msg("case %d: %s %.17g s > %.17g s", n,
					    ops_name(op), fast.sec[op], base.sec[op]);
				assert_true(fast.flops[op] == base.flops[op]);
				assert_true(fast.bytes[op] == base.bytes[op]);
			}
			assert_true(fast.recompute_sec <= base.recompute_sec);
			assert_true(fast.ag_sec == base.ag_sec);
		}
	}
	gsl_rng_free(r);
}

/*
 * A rank's part built one sequence at a time (ops_load_*), or a sequence's
 * load computed once and merged, gives ops_part_cost's costs bit for bit
 * when the sequences come in its order (locals, then shards).
 */
static void
test_load_equals_part(void **state)
{
	uint32_t local[8], shard[8];
	struct ops_part p;
	struct ops_cost a, b, m;
	struct ops_load l, one, merged;
	struct job j;
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	size_t i;
	int n;

	assert_non_null(r);
	gsl_rng_set(r, 20261203);
	for (n = 0; n < 300; n++) {
		job_default(&j);
		j.recompute = (enum recompute)gsl_rng_uniform_int(r, 3);
		random_part(r, &p, local, shard);
		ops_part_cost(&j, &p, &a);
		ops_load_init(&l, p.N);
		ops_load_init(&merged, p.N);
		for (i = 0; i < p.nlocal; i++) {
			ops_load_local(&j, &l, local[i]);
			ops_load_init(&one, p.N);
			ops_load_local(&j, &one, local[i]);
			ops_load_merge(&merged, &one);
		}
		for (i = 0; i < p.nshard; i++) {
			ops_load_shard(&j, &l, shard[i]);
			ops_load_init(&one, p.N);
			ops_load_shard(&j, &one, shard[i]);
			ops_load_merge(&merged, &one);
		}
		ops_load_cost(&j, &l, &b);
		ops_load_cost(&j, &merged, &m);
		assert_memory_equal(&a, &b, sizeof a);
		assert_memory_equal(&a, &m, sizeof a);
	}
	gsl_rng_free(r);
}

/*
 * ops_mb_time of the part with locals 100, 200 and shards 400, 800 over
 * N = 4 (T = 600; the forward ops as worked for test_recompute, the
 * attentions as for test_local_by_hand and test_shard_by_hand):
 *   forward per layer 7.7566592e-5 s;
 *   backward: GEMMs twice their forward, 2 x (8.670016 + 6.835008 +
 *     12.340032 + 8.670016) us = 73.030144 us; element-wise kernels
 *     twice their busy time + one launch: norms 2 x (2 x 0.6144 + 5),
 *     RoPE 2 x 0.9216 + 5, SwiGLU 2 x 1.8432 + 5: 27.9872 us; local
 *     attention 18.5424 us; sharded attention 2.5 x 5.64096 + 3 x 5 =
 *     29.1024 us; in all 148.662144 us;
 *   selective recompute 17.05792 us;
 *   the all-gather's 10.608 us less the local attention's 6.41696 us
 *     shows, 4.19104 us; the reduce-scatter hides under the local
 *     attention's backward (18.5424 us);
 *   per layer 247.477696 us, two layers 494.955392 us;
 *   head at T = 600: norm 2 x 2 x 600 x 256 B = 0.6144 us, logits
 *     2 x 600 x 256 x 1000 FLOPs at 0.5 x 600/700: 7.168 us, loss
 *     600 x 1000 x 6 B = 3.6 us; 11.3824 us busy: forward + 3 launches
 *     26.3824 us, backward 2 x busy + 4 launches 42.7648 us.
 * Total 564.102592 us.
 */
static void
test_mb_time_by_hand(void **state)
{
	struct ops_part p = { two_local, 2, two_shard, 2, 4 };
	struct ops_cost c;
	struct job j;
	double busy;
	int op, full;

	tutil_small_job(&j);
	ops_part_cost(&j, &p, &c);
	assert_rel(ops_mb_time(&j, &c), 564.102592e-6);

	/* Without local attention the shards alone pay both all-gathers,
	 * 2 x 1.0608e-5 s; layer 1's reduce-scatter (1.0608e-5 s) hides under
	 * layer 0's selective recompute, the sharded attention's forward
	 * (5.64096 + 5 = 10.64096 us), layer 0's shows: 3.1824e-5 s above
	 * their ops' seconds.  A full recompute stays at the start of its
	 * layer's backward, so both collectives show on both layers:
	 * 4 x 1.0608e-5 s. */
	p.nlocal = 0;
	for (full = 0; full < 2; full++) {
		j.recompute = full ? RECOMPUTE_FULL : RECOMPUTE_SELECTIVE;
		ops_part_cost(&j, &p, &c);
		busy = c.recompute_sec;
		for (op = OP_NORM_ATTN; op <= OP_NORM_ATTN_B; op++)
			busy += c.sec[op];
		assert_rel(ops_mb_time(&j, &c) - 2 * busy - c.sec[OP_HEAD] -
		    c.sec[OP_HEAD_B], full ? 4.2432e-5 : 3.1824e-5);
	}
}

/*
 * The rates of the small job.  token_sec, per layer: the four GEMMs'
 * 2 (256 x 512 + 256 x 256 + 256 x 1024 + 512 x 256) = 1179648 FLOPs per
 * token, forward and twice backward, at 0.5 x 1e14: 7.077888e-8 s (their
 * bytes, 2 (in + out) per token, stream faster); the element-wise kernels'
 * bytes once forward and twice backward, norms 2 x 1024, RoPE 1536,
 * SwiGLU 3072: 3 x 6656 = 19968 B, 1.9968e-8 s; two layers 1.8149376e-7 s.
 * Head: norm 1024 B, 1.024e-9 s; logits 512000 FLOPs, 1.024e-8 s; loss
 * 6000 B, 6e-9 s; 1.7264e-8 forward, twice backward: 5.1792e-8 s.
 * token_sec = 2.3328576e-7 s.  Selective recompute: attention 1 + 2.5 + 1
 * = 4.5 passes.  Launches: 2 x (9 + 15 + 1) + 7 = 57, 2.85e-4 s.  Tail:
 * gradient 2.433088e-5 + head gradient 2.296448e-5 + AdamW 1.0925248e-5
 * + 2 parameter gathers 4.866176e-5 = 1.06882368e-4 s (test_optimizer_dp).
 *
 * Sequences, attention 512 S (S + 1) FLOPs a layer:
 *   1000 whole: 512512000 at 0.4 x 1000/1200 = 1/3: 1.537536e-5 s, x 2
 *     layers x 4.5 = 1.3837824e-4 s, + 1000 token_sec: 3.71664e-4 s;
 *   1000 over 4 ranks: queries 250, efficiency 2/9: 2.306304e-5 s,
 *     2.0756736e-4 + 2.3328576e-4 = 4.4085312e-4 s;
 *   3000 whole: 4609536000 at 0.375: 1.2292096e-4 s, x 9 = 1.10628864e-3,
 *     + 6.9985728e-4 = 1.80614592e-3 s;
 *   3000 over 4: queries 750, efficiency 0.4 x 750/950: 1.4596864e-4 s,
 *     x 9 = 1.31371776e-3, + 6.9985728e-4 = 2.01357504e-3 s;
 *   5000 over 2 (the fewest ranks a bucket of 4096 allows): queries
 *     2500, efficiency 0.4 x 2500/2700: 12802560000 x 2700 / 1e17 =
 *     3.4566912e-4 s, x 9 = 3.11102208e-3, + 1.1664288e-3 =
 *     4.27745088e-3 s.
 */
static void
test_rate_by_hand(void **state)
{
	struct ops_rate r;
	struct job j;

	tutil_small_job(&j);
	ops_rate_init(&r, &j);
	assert_near(r.token_sec, 2.3328576e-7, 1e-18);
	assert_rel(r.attn_passes, 4.5);
	assert_rel(r.launch_sec, 2.85e-4);
	assert_rel(r.tail_sec, 1.06882368e-4);
	assert_near(ops_seq_sec(&r, 1000, 1), 3.71664e-4, 1e-15);
	assert_near(ops_seq_sec(&r, 1000, 4), 4.4085312e-4, 1e-15);
	assert_near(ops_seq_sec(&r, 3000, 1), 1.80614592e-3, 1e-14);
	assert_near(ops_seq_sec(&r, 3000, 4), 2.01357504e-3, 1e-14);
	assert_near(ops_seq_sec(&r, 5000, 2), 4.27745088e-3, 1e-14);

	/* Without recompute attention runs 3.5 times and 2 x 24 + 7 = 55
	 * kernels launch; with full recompute
	 * the forward GEMMs run again too (a steeper token_sec). */
	j.recompute = RECOMPUTE_NONE;
	ops_rate_init(&r, &j);
	assert_rel(r.attn_passes, 3.5);
	assert_rel(r.launch_sec, 2.75e-4);
	j.recompute = RECOMPUTE_FULL;
	ops_rate_init(&r, &j);
	assert_rel(r.attn_passes, 4.5);
	assert_true(r.token_sec > 2.3328576e-7 * 1.2);
}

/*
 * The bound, DP 2 x CP 4 (8 GPUs), numbers of test_rate_by_hand:
 *   {1000, 3000}: work (3.71664e-4 + 1.80614592e-3) / 8 = 2.7222624e-4 s
 *     is below the 3000-token sample over all 8 GPUs: queries 375,
 *     efficiency 0.4 x 375/575, 4609536000 x 575 / 1.5e16 = 1.7669888e-4
 *     s, x 9 = 1.59028992e-3, + 6.9985728e-4 = 2.2901472e-3 GPU-seconds,
 *     / 8 = 2.862684e-4 s: bound 2.85e-4 + 2.862684e-4 + 1.06882368e-4 =
 *     6.78150768e-4 s;
 *   {3000 x 8, 1000}: work (8 x 1.80614592e-3 + 3.71664e-4) / 8 =
 *     1.85260392e-3 s sets it: 2.85e-4 + 1.85260392e-3 + 1.06882368e-4 =
 *     2.244486288e-3 s;
 *   5000 > bucket 4096 spreads over at least 2 ranks: work 4.27745088e-3.
 */
static void
test_bound_by_hand(void **state)
{
	struct ops_rate r;
	struct ops_bound b;
	struct job j;
	int i;

	tutil_small_job(&j);
	ops_rate_init(&r, &j);
	memset(&b, 0, sizeof b);
	assert_true(ops_bound_sec(&r, &b) == 0);
	ops_bound_add(&r, &b, 1000);
	ops_bound_add(&r, &b, 3000);
	assert_near(b.work, 2.17780992e-3, 1e-14);
	assert_near(b.single, 2.862684e-4, 1e-15);
	assert_near(ops_bound_sec(&r, &b), 6.78150768e-4, 1e-14);

	memset(&b, 0, sizeof b);
	for (i = 0; i < 8; i++)
		ops_bound_add(&r, &b, 3000);
	ops_bound_add(&r, &b, 1000);
	assert_near(ops_bound_sec(&r, &b), 2.244486288e-3, 1e-14);

	memset(&b, 0, sizeof b);
	ops_bound_add(&r, &b, 5000);
	assert_near(b.work, 4.27745088e-3, 1e-14);
}

/*
 * A back-of-envelope estimate of the paper's baseline: Qwen2.5-0.5B on
 * H100, a 1K-token sample sharded over CP 8 leaves a 128-token shard whose
 * layer, forward and backward, costs roughly 0.3 ms, launches and the
 * collectives' latency floor included.  The per-layer total here (forward,
 * backward, selective recompute, all-gather and reduce-scatter) must lie
 * within a factor of 2 of it, and launches must be most of the compute: 9
 * forward kernels (no local attention), 8 GEMM + 4 element-wise + 3
 * attention kernels backward, 1 recompute, 25 x 5 us.
 */
static void
test_thin_shard_published(void **state)
{
	static const uint32_t sample[] = { 1024 };
	struct ops_part p = { NULL, 0, sample, 1, 8 };
	struct ops_cost c;
	struct job j;
	double compute = 0, total;
	int op;

	job_default(&j);
	ops_part_cost(&j, &p, &c);
	assert_rel(c.tokens, 128);
	for (op = OP_NORM_ATTN; op < OP_HEAD; op++)
		compute += c.sec[op];
	compute += c.recompute_sec;
	total = compute + c.ag_sec + c.rs_sec;
	if (!(total > 0.15e-3 && total < 0.6e-3))
		fail_msg("a 128-token shard's layer takes %g ms, not 0.3 ms "
		    "within a factor of 2", total * 1e3);
	assert_true(25 * j.cluster.eff.launch > 0.5 * compute);
	/* the collectives sit at their floor: 0.5 MiB, below Table 5's rows */
	assert_rel(c.ag_bytes, 524288);
	assert_true(c.ag_sec > 20e-6 && c.ag_sec < 53.29e-6);
}

static int
apply(const char *text, struct cluster *c)
{
	cJSON *obj = cJSON_Parse(text);
	int e;

	assert_non_null(obj);
	e = cluster_from_json(obj, "c.json", c);
	cJSON_Delete(obj);
	return e;
}

static void
test_eff_presets(void **state)
{
	struct cluster c;

	assert_int_equal(cluster_preset("h100", &c), SK_OK);
	assert_true(c.eff.gemm_max == 0.80 && c.eff.gemm_half == 128 &&
	    c.eff.attn_max == 0.35 && c.eff.attn_half == 400 &&
	    c.eff.mem_eff == 0.83 && c.eff.launch == 5e-6);
	assert_int_equal(cluster_preset("h200", &c), SK_OK);
	assert_true(c.eff.gemm_max == 0.80 && c.eff.attn_max == 0.35);
	assert_int_equal(cluster_preset("a100", &c), SK_OK);
	assert_true(c.eff.gemm_max == 0.87 && c.eff.attn_max == 0.70 &&
	    c.eff.launch == 5e-6);
}

static void
test_eff_json(void **state)
{
	struct cluster c, back;
	const cJSON *eff;
	cJSON *obj;
	int i;

	for (i = 0; i < cluster_preset_count(); i++) {
		assert_int_equal(cluster_preset(cluster_preset_name(i), &c),
		    SK_OK);
		c.eff.gemm_max = 0.61;
		c.eff.gemm_half = 77.5;
		c.eff.attn_max = 0.29;
		c.eff.attn_half = 1234;
		c.eff.mem_eff = 0.91;
		c.eff.launch = 7.25e-6;
		obj = cJSON_CreateObject();
		assert_non_null(obj);
		assert_int_equal(cluster_to_json(&c, obj), SK_OK);
		eff = cJSON_GetObjectItemCaseSensitive(obj, "efficiency");
		assert_true(cJSON_IsObject(eff));
		assert_true(cJSON_GetObjectItemCaseSensitive(eff,
		    "attn_half")->valuedouble == 1234);
		/* from another preset: the six values must come back */
		assert_int_equal(cluster_preset(i == 0 ? "a100" : "h100", &back),
		    SK_OK);
		assert_int_equal(cluster_from_json(obj, "rt", &back), SK_OK);
		assert_memory_equal(&c.eff, &back.eff, sizeof c.eff);
		cJSON_Delete(obj);
	}

	/* a partial object overrides its members only */
	assert_int_equal(cluster_preset("h100", &c), SK_OK);
	assert_int_equal(apply("{\"efficiency\": {\"launch\": 1.5e-5, "
	    "\"attn_half\": 1}}", &c), SK_OK);
	assert_true(c.eff.launch == 1.5e-5 && c.eff.attn_half == 1);
	assert_true(c.eff.gemm_max == 0.80 && c.eff.mem_eff == 0.83);
	/* a preset name restarts from the preset's efficiencies */
	assert_int_equal(apply("{\"name\": \"a100\"}", &c), SK_OK);
	assert_true(c.eff.gemm_max == 0.87 && c.eff.launch == 5e-6);
}

static void
test_eff_errors(void **state)
{
	struct cluster c, keep;

	assert_int_equal(cluster_preset("h100", &c), SK_OK);
	keep = c;
	assert_int_equal(apply("{\"efficiency\": {\"gemm_max\": 0}}", &c),
	    SK_ERR_RANGE);
	assert_string_equal(err_msg(), "c.json: efficiency.gemm_max: 0 is not "
	    "in (0, 1]");
	assert_int_equal(apply("{\"efficiency\": {\"mem_eff\": 1.2}}", &c),
	    SK_ERR_RANGE);
	assert_string_equal(err_msg(), "c.json: efficiency.mem_eff: 1.2 is not "
	    "in (0, 1]");
	assert_int_equal(apply("{\"efficiency\": {\"attn_half\": -1}}", &c),
	    SK_ERR_RANGE);
	/* microseconds given as seconds' count: 5 s per kernel */
	assert_int_equal(apply("{\"efficiency\": {\"launch\": 5}}", &c),
	    SK_ERR_RANGE);
	assert_string_equal(err_msg(), "c.json: efficiency.launch: 5 is not "
	    "in (0, 1]");
	assert_int_equal(apply("{\"efficiency\": {\"gemm_min\": 0.5}}", &c),
	    SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "c.json: efficiency: unknown member "
	    "'gemm_min'");
	assert_int_equal(apply("{\"efficiency\": 0.8}", &c), SK_ERR_FORMAT);
	assert_memory_equal(&c, &keep, sizeof c);

	c.eff.attn_max = 1.5;
	assert_int_equal(cluster_validate(&c, "x"), SK_ERR_RANGE);
	assert_string_equal(err_msg(), "x: efficiency.attn_max: 1.5 is not in "
	    "(0, 1]");
	c = keep;
	c.eff.launch = -1e-6;
	assert_int_equal(cluster_validate(&c, "x"), SK_ERR_RANGE);
	c = keep;
	c.eff.gemm_half = NAN;
	assert_int_equal(cluster_validate(&c, "x"), SK_ERR_RANGE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_eff_curves),
		cmocka_unit_test(test_eff_published),
		cmocka_unit_test(test_local_by_hand),
		cmocka_unit_test(test_shard_by_hand),
		cmocka_unit_test(test_recompute),
		cmocka_unit_test(test_zero_work),
		cmocka_unit_test(test_optimizer_dp),
		cmocka_unit_test(test_monotone),
		cmocka_unit_test(test_load_equals_part),
		cmocka_unit_test(test_mb_time_by_hand),
		cmocka_unit_test(test_rate_by_hand),
		cmocka_unit_test(test_bound_by_hand),
		cmocka_unit_test(test_thin_shard_published),
		cmocka_unit_test(test_eff_presets),
		cmocka_unit_test(test_eff_json),
		cmocka_unit_test(test_eff_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
