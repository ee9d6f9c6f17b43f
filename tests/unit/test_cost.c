/*
 * Unit tests of cost: FLOPs against the paper's independently published
 * ratios and by hand; memory and buckets by hand from published parameter
 * counts and against the paper's BucketSizes; communication by hand from
 * the paper's Table 5.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cost.h"
#include "err.h"
#include "ops.h"
#include "tutil.h"

#define assert_rel(a, b, rel) assert_near((a), (b), fabs((double)(b)) * (rel))

/* The paper's setting with the named model. */
static void
paper_job(struct job *j, const char *model)
{
	job_default(j);
	assert_int_equal(model_preset(model, &j->model), SK_OK);
}

/*
 * A model small enough to count by hand: 3 layers, h = 6, 3 query heads and
 * 1 KV head of dimension 2 (h_q = 6, h_kv = 2), ffn 10, vocabulary 7.
 */
static void
tiny_job(struct job *j)
{
	job_default(j);
	memset(&j->model, 0, sizeof j->model);
	strcpy(j->model.name, "tiny");
	j->model.layers = 3;
	j->model.hidden = 6;
	j->model.heads = 3;
	j->model.kv_heads = 1;
	j->model.head_dim = 2;
	j->model.ffn = 10;
	j->model.vocab = 7;
}

/*
 * The paper's motivation (its section 1): with h = 896, h_kv = 128 (Qwen2.5-0.5B), FLOPs(32K) /
 * FLOPs(4K) = 34.35 and the linear and quadratic terms are equal at S =
 * 4608; for 7B (h = 3584, h_kv = 512) 18.18 and 18432.
 */
static void
test_paper_flops(void **state)
{
	struct model m;
	double f1, f2, a, b;

	assert_int_equal(model_preset("qwen2.5-0.5b", &m), SK_OK);
	assert_near(cost_flops_paper(&m, 32768) / cost_flops_paper(&m, 4096),
	    34.35, 0.005);
	/*
	 * 20 * 896^2 + 4 * 896 * 128 = 16515072 per token, 4 * 896 = 3584
	 * per token^2: at 4096, 16515072 * 4096 + 3584 * 4096^2 =
	 * 67645734912 + 60129542144.
	 */
	assert_near(cost_flops_paper(&m, 4096), 127775277056.0, 0.5);
	/* F(S) = aS + bS^2: b = F(2)/2 - F(1), a = F(1) - b; equal at a/b. */
	f1 = cost_flops_paper(&m, 1);
	f2 = cost_flops_paper(&m, 2);
	b = f2 / 2 - f1;
	a = f1 - b;
	assert_near(a / b, 4608, 1e-9);

	assert_int_equal(model_preset("qwen2.5-7b", &m), SK_OK);
	assert_near(cost_flops_paper(&m, 32768) / cost_flops_paper(&m, 4096),
	    18.18, 0.005);
	f1 = cost_flops_paper(&m, 1);
	f2 = cost_flops_paper(&m, 2);
	b = f2 / 2 - f1;
	a = f1 - b;
	assert_near(a / b, 18432, 1e-9);
}

/*
 * The tiny model at S = 5 (h = 6, h_q = 6, h_kv = 2, ffn 10, vocab 7):
 *   Q  2 * 5 * 6 * 6       = 360
 *   K, V 2 * (2 * 5 * 6 * 2) = 240
 *   O  2 * 5 * 6 * 6       = 360
 *   SwiGLU 3 * 2 * 5 * 6 * 10 = 1800
 *   attention: 15 causal pairs (1 + 2 + 3 + 4 + 5) per head, QK^T and PV
 *     2 * head_dim = 4 FLOPs per pair each, 3 heads: 15 * 4 * 2 * 3 = 360
 *   layer 3120; logits 2 * 5 * 6 * 7 = 420
 *   forward 3 * 3120 + 420 = 9780, backward 19560
 *   recompute: selective 3 * 360 = 1080, full 3 * 3120 = 9360
 */
static void
test_exact_flops(void **state)
{
	struct job j;

	tiny_job(&j);
	assert_near(cost_layer_attn_fwd(&j.model, 5), 360, 1e-9);
	assert_near(cost_layer_fwd(&j.model, 5), 3120, 1e-9);
	assert_near(cost_logits_fwd(&j.model, 5), 420, 1e-9);
	assert_near(cost_seq_flops(&j, 5, COST_FWD), 9780, 1e-9);
	assert_near(cost_seq_flops(&j, 5, COST_BWD), 19560, 1e-9);

	j.recompute = RECOMPUTE_NONE;
	assert_near(cost_seq_flops(&j, 5, COST_RECOMPUTE), 0, 0);
	assert_near(cost_seq_flops_total(&j, 5), 29340, 1e-9);
	j.recompute = RECOMPUTE_SELECTIVE;
	assert_near(cost_seq_flops(&j, 5, COST_RECOMPUTE), 1080, 1e-9);
	assert_near(cost_seq_flops_total(&j, 5), 30420, 1e-9);
	j.recompute = RECOMPUTE_FULL;
	assert_near(cost_seq_flops(&j, 5, COST_RECOMPUTE), 9360, 1e-9);
	assert_near(cost_seq_flops_total(&j, 5), 38700, 1e-9);
}

static void
test_shard(void **state)
{
	struct job j;
	double whole;

	tiny_job(&j);
	/* 30420 / 4 */
	assert_near(cost_shard_flops_total(&j, 5, 4), 7605, 1e-9);
	assert_near(cost_shard_flops_total(&j, 5, 1), 30420, 1e-9);

	paper_job(&j, "qwen2.5-7b");
	whole = cost_seq_flops_total(&j, 37813);
	assert_rel(cost_shard_flops_total(&j, 37813, 8) * 8, whole, 1e-15);
	assert_rel(cost_shard_flops_total(&j, 37813, 16) * 16, whole, 1e-15);
}

/*
 * A back-of-envelope estimate of the paper's baseline: about 3 GFLOP per
 * token for forward + backward of the dense part of Qwen2.5-0.5B, the
 * vocabulary projection about a quarter of it.  By hand, per token: a
 * layer's products 2 * 896 * 896 * 2 (Q, O) + 4 * 896 * 128 (K, V) + 6 *
 * 896 * 4864 (SwiGLU) = 29818880, times 24 = 715653120; logits 2 * 896 *
 * 151936 = 272269312; forward 987922432, forward + backward 2963767296;
 * the logits' share 0.2756.
 */
static void
test_dense_per_token(void **state)
{
	struct job j;
	double S = 1024, attn, dense;

	paper_job(&j, "qwen2.5-0.5b");
	attn = 3 * j.model.layers * cost_layer_attn_fwd(&j.model, S);
	dense = (cost_seq_flops(&j, S, COST_FWD) +
	    cost_seq_flops(&j, S, COST_BWD) - attn) / S;
	assert_near(dense, 2963767296.0, 1e-3);
	assert_rel(dense, 3e9, 0.15);
	assert_rel(3 * cost_logits_fwd(&j.model, S) / S / dense, 0.25, 0.15);
}

/*
 * Qwen2.5-7B has 7615616512 parameters (its published count; by hand:
 * embedding and untied output 2 * 152064 * 3584 = 1089994752; per layer
 * Q 3584^2 + 3584 bias = 12848640, K and V 2 * (3584 * 512 + 512) =
 * 3671040, O 3584^2 = 12845056, SwiGLU 3 * 3584 * 18944 = 203685888, two
 * norms 7168, together 233057792, times 28 = 6525618176; final norm 3584).
 * ZeRO-2 over 4 * 8 = 32 ranks, bf16:
 *   weights    2P      = 15231233024
 *   grads      2P / 32 =   475976032
 *   optimizer 12P / 32 =  2855856192
 *   statics            = 18563065248
 */
static void
test_statics_7b(void **state)
{
	struct job j;
	struct cost_mem mem;
	double P = 7615616512.0;

	paper_job(&j, "qwen2.5-7b");
	assert_near((double)model_params(&j.model), P, 0);
	cost_memory(&j, &mem);
	assert_near(mem.weights, 15231233024.0, 1e-3);
	assert_near(mem.grads, 475976032.0, 1e-3);
	assert_near(mem.optimizer, 2855856192.0, 1e-3);
	assert_near(mem.statics, 18563065248.0, 1e-3);

	/* ZeRO-3: weights 2P / 32 too; ZeRO-0: nothing sharded, 16P. */
	j.zero = 3;
	cost_memory(&j, &mem);
	assert_near(mem.weights, 475976032.0, 1e-3);
	j.zero = 0;
	cost_memory(&j, &mem);
	assert_near(mem.statics, 16 * P, 1e-3);
	/* fp32, ZeRO-1: 4P weights, 4P grads, Adam m and v 8P / 32. */
	j.zero = 1;
	j.precision = PRECISION_FP32;
	cost_memory(&j, &mem);
	assert_near(mem.weights, 30462466048.0, 1e-3);
	assert_near(mem.grads, 30462466048.0, 1e-3);
	assert_near(mem.optimizer, 1903904128.0, 1e-3);
}

/*
 * Activation bytes per token (cost.c derives each term), bf16, e = 2.
 * Qwen2.5-0.5B (h = h_q = 896, h_kv = 128, ffn 4864, 14 heads, 24 layers,
 * vocab 151936):
 *   layer, none: 2 * (4 * 896 + 2 * 896 + 2 * 128 + 4 * 4864) + 4 * 14 + 8
 *     = 2 * 25088 + 64 = 50240; selective drops the 56 B of log-sum-exp:
 *     50184
 *   head: final norm 2 * 2 * 896 + 4 = 3588, logits 151936 * (2 + 4 + 4)
 *     = 1519360; together 1522948
 *   alpha: none 24 * 50240 + 1522948 = 2728708; selective 24 * 50184 +
 *     1522948 = 2727364; full 24 * 896 * 2 + 50240 + 1522948 = 1616196
 * fp32, none: 4 * 25088 + 64 = 100416 a layer; head 4 * 2 * 896 + 4 +
 *   151936 * (4 + 4) = 1222660; alpha 24 * 100416 + 1222660 = 3632644.
 */
static void
test_alpha(void **state)
{
	struct job j;
	struct cost_mem mem;

	paper_job(&j, "qwen2.5-0.5b");
	cost_memory(&j, &mem);
	assert_near(mem.alpha, 2727364, 1e-6);
	assert_near(mem.beta, 0, 0);
	assert_near(cost_act_bytes(&j, 1000), 2727364000.0, 1e-3);
	j.recompute = RECOMPUTE_NONE;
	cost_memory(&j, &mem);
	assert_near(mem.alpha, 2728708, 1e-6);
	j.recompute = RECOMPUTE_FULL;
	cost_memory(&j, &mem);
	assert_near(mem.alpha, 1616196, 1e-6);
	j.recompute = RECOMPUTE_NONE;
	j.precision = PRECISION_FP32;
	cost_memory(&j, &mem);
	assert_near(mem.alpha, 3632644, 1e-6);
}

/*
 * BucketSize on H100-80GB (hbm 81559 MiB = 85520809984 B as the driver
 * reports it), reserve 4 GiB = 4294967296 B, ZeRO-2 over 32, selective:
 *   0.5B: statics 16 B/param on 494032768 params with grads and optimizer
 *     / 32: 988065536 + 30877048 + 185262288 = 1204204872; free
 *     85520809984 - 4294967296 - 1204204872 = 80021637816; / 2727364 =
 *     29340.3 -> 29340
 *   7B: free 85520809984 - 4294967296 - 18563065248 = 62662777440; alpha
 *     28 * (2 * 98304 + 8) + 2 * 2 * 3584 + 4 + 152064 * 10 = 5505248 +
 *     1534980 = 7040228; 62662777440 / 7040228 = 8900.7 -> 8900
 * The paper uses 26K and 13K (K = 1024: 26624 and 13312): 0.5B lands 10%
 * above, 7B 33% below.  cost.c explains the gap (the paper's own Table 4
 * says its stack keeps about 2/3 of the bytes counted here); the
 * tolerances state how far this model is from the paper, not a target.
 */
static void
test_bucket(void **state)
{
	struct job j;

	paper_job(&j, "qwen2.5-0.5b");
	assert_near(j.cluster.gpu.hbm_bytes, 85520809984.0, 0);
	assert_near(j.reserve, 4294967296.0, 0);
	assert_int_equal(cost_bucket(&j), 29340);
	assert_rel(cost_bucket(&j), 26624, 0.15);

	paper_job(&j, "qwen2.5-7b");
	assert_int_equal(cost_bucket(&j), 8900);
	assert_rel(cost_bucket(&j), 13312, 0.35);

	/* Statics above the HBM: nothing fits. */
	j.zero = 0;
	assert_int_equal(cost_bucket(&j), 0);
}

/*
 * The kernel choices on the paper's setting (bf16, e = 2, selective), from
 * the per-layer and head terms of test_alpha and test_bucket.
 * fused-swiglu saves 3 ffn, not 4: e * ffn bytes less per layer.
 * fused-ce keeps the logits and their gradient, 2 e vocab, not
 * (e + 4 + 4) vocab.
 * Qwen2.5-0.5B (ffn 4864, vocab 151936, 24 layers):
 *   layer, selective: 50184; fused-swiglu 50184 - 2 * 4864 = 40456
 *   head: 1522948; fused-ce 2 * 2 * 896 + 4 + 2 * 2 * 151936 = 3588 +
 *     607744 = 611332
 *   alpha: fused-swiglu 24 * 40456 + 1522948 = 970944 + 1522948 = 2493892
 *          fused-ce     24 * 50184 + 611332 = 1204416 + 611332 = 1815748
 *          both         970944 + 611332 = 1582276
 *   C = floor(80021637816 / alpha):
 *          fused-swiglu 2493892 * 32087 = 80021512604 <= free <
 *                       2493892 * 32088 = 80024006496: 32087
 *          fused-ce     1815748 * 44070 = 80020014360, * 44071 =
 *                       80021830108: 44070
 *          both         1582276 * 50573 = 80020444148, * 50574 =
 *                       80022026424: 50573
 *   at 26K tokens with both: 26624 * 1582276 + statics 1204204872 =
 *   42126516224 + 1204204872 = 43330721096 B, the 43 GB cost.c quotes
 *   (the paper measured at most 51 GB; the default gives 74 GB)
 * Qwen2.5-7B (ffn 18944, vocab 152064, 28 layers):
 *   layer, selective: 2 * 98304 + 8 = 196616; fused-swiglu 2 * (98304 -
 *     18944) + 8 = 158728
 *   head: 1534980; fused-ce 2 * 2 * 3584 + 4 + 2 * 2 * 152064 = 14340 +
 *     608256 = 622596
 *   alpha: fused-swiglu 28 * 158728 + 1534980 = 4444384 + 1534980 = 5979364
 *          fused-ce     28 * 196616 + 622596 = 5505248 + 622596 = 6127844
 *          both         4444384 + 622596 = 5066980 (cost.c's figure)
 *   C = floor(62662777440 / alpha):
 *          fused-swiglu 5979364 * 10479 = 62657755356, * 10480 =
 *                       62663734720: 10479
 *          fused-ce     6127844 * 10225 = 62657204900, * 10226 =
 *                       62663332744: 10225
 *          both         5066980 * 12366 = 62658274680, * 12367 =
 *                       62663341660: 12366 (cost.c's figure, 7% below
 *                       the paper's 13K, 13312)
 */
static void
test_kernels(void **state)
{
	struct job j;
	struct cost_mem mem;

	paper_job(&j, "qwen2.5-0.5b");
	j.kernels = KERNEL_FUSED_SWIGLU;
	cost_memory(&j, &mem);
	assert_near(mem.alpha, 2493892, 1e-6);
	assert_int_equal(cost_bucket(&j), 32087);
	j.kernels = KERNEL_FUSED_CE;
	cost_memory(&j, &mem);
	assert_near(mem.alpha, 1815748, 1e-6);
	assert_int_equal(cost_bucket(&j), 44070);
	j.kernels = KERNEL_FUSED_SWIGLU | KERNEL_FUSED_CE;
	cost_memory(&j, &mem);
	assert_near(mem.alpha, 1582276, 1e-6);
	assert_int_equal(cost_bucket(&j), 50573);
	assert_near(mem.statics + cost_act_bytes(&j, 26624), 43330721096.0,
	    1e-3);

	paper_job(&j, "qwen2.5-7b");
	j.kernels = KERNEL_FUSED_SWIGLU;
	cost_memory(&j, &mem);
	assert_near(mem.alpha, 5979364, 1e-6);
	assert_int_equal(cost_bucket(&j), 10479);
	j.kernels = KERNEL_FUSED_CE;
	cost_memory(&j, &mem);
	assert_near(mem.alpha, 6127844, 1e-6);
	assert_int_equal(cost_bucket(&j), 10225);
	j.kernels = KERNEL_FUSED_SWIGLU | KERNEL_FUSED_CE;
	cost_memory(&j, &mem);
	assert_near(mem.alpha, 5066980, 1e-6);
	assert_int_equal(cost_bucket(&j), 12366);
	assert_rel(cost_bucket(&j), 13312, 0.08);
	/* the statics do not depend on the kernels */
	assert_near(mem.statics, 18563065248.0, 1e-3);
}

/*
 * Qwen2.5-0.5B, both kernels, under the other settings:
 *   full recompute: the block inputs 24 * 896 * 2 = 43008, one block's
 *     whole set with the fused SwiGLU 2 * (25088 - 4864) + 64 = 40512, the
 *     fused loss's head 611332: 694852
 *   fp32, no recompute: a layer 4 * (25088 - 4864) + 64 = 80960; the head
 *     4 * 2 * 896 + 4 + 2 * 4 * 151936 = 1222660, the default's (fp32
 *     keeps no fp32 copy of the logits to drop): 24 * 80960 + 1222660 =
 *     3165700
 */
static void
test_kernels_modes(void **state)
{
	struct job j;
	struct cost_mem mem, plain;
	double flops;

	paper_job(&j, "qwen2.5-0.5b");
	j.kernels = KERNEL_FUSED_SWIGLU | KERNEL_FUSED_CE;
	j.recompute = RECOMPUTE_FULL;
	cost_memory(&j, &mem);
	assert_near(mem.alpha, 694852, 1e-6);
	j.recompute = RECOMPUTE_NONE;
	j.precision = PRECISION_FP32;
	cost_memory(&j, &mem);
	assert_near(mem.alpha, 3165700, 1e-6);
	/* fused-ce alone changes nothing in fp32 */
	j.kernels = KERNEL_FUSED_CE;
	cost_memory(&j, &mem);
	j.kernels = 0;
	cost_memory(&j, &plain);
	assert_near(mem.alpha, plain.alpha, 0);
	assert_near(plain.alpha, 3632644, 1e-6);
	/* nor do the kernels change any FLOPs (the time model) */
	flops = cost_seq_flops_total(&j, 4096);
	j.kernels = KERNEL_FUSED_SWIGLU | KERNEL_FUSED_CE;
	assert_near(cost_seq_flops_total(&j, 4096), flops, 0);
}

/*
 * Qwen2.5-0.5B, bf16, S = 40960: K and V of 40960 tokens, 2 * 40960 * 128
 * * 2 = 20971520 B = 20 MiB, a quarter of the way from the 16 MiB to the
 * 32 MiB row of Table 5:
 *   all-gather      199.3 + (286.2 - 199.3) / 4 = 221.025 us
 *   reduce-scatter  177.4 + (269.5 - 177.4) / 4 = 200.425 us
 * per layer (ops_cp_time).
 */
static void
test_cp(void **state)
{
	struct job j;
	double ag, rs;

	paper_job(&j, "qwen2.5-0.5b");
	assert_near(cost_elem_bytes(&j), 2, 0);
	assert_near(cost_cp_bytes(&j, 40960), 20971520, 0);
	ops_cp_time(&j, 40960, j.cp, &ag, &rs);
	assert_near(ag, 221.025e-6, 1e-12);
	assert_near(rs, 200.425e-6, 1e-12);

	/*
	 * CP 16 spans two 8-GPU nodes: the ring model on InfiniBand, with
	 * 25 GB/s and 4 us set here: 15 * 4 us + 15/16 * 20971520 / 25e9 s =
	 * 60 + 786.432 = 846.432 us for each collective.
	 */
	j.dp = 2;
	j.cp = 16;
	j.cluster.ib_bw = 25e9;
	j.cluster.ib_lat = 4e-6;
	ops_cp_time(&j, 40960, j.cp, &ag, &rs);
	assert_near(ag, 846.432e-6, 1e-12);
	assert_near(rs, 846.432e-6, 1e-12);

	/* No CP, no communication. */
	ops_cp_time(&j, 40960, 1, &ag, &rs);
	assert_near(ag + rs, 0, 0);

	/* fp32 doubles the bytes. */
	j.precision = PRECISION_FP32;
	assert_near(cost_elem_bytes(&j), 4, 0);
	assert_near(cost_cp_bytes(&j, 40960), 41943040, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paper_flops),
		cmocka_unit_test(test_exact_flops),
		cmocka_unit_test(test_shard),
		cmocka_unit_test(test_dense_per_token),
		cmocka_unit_test(test_statics_7b),
		cmocka_unit_test(test_alpha),
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_kernels),
		cmocka_unit_test(test_kernels_modes),
		cmocka_unit_test(test_cp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
