/*
 * tutil: helpers shared by the cmocka unit tests in tests/unit/.
 *
 * A per-program temporary directory (made by the group setup, emptied and
 * removed by the group teardown), files written into it, paths under the
 * source tree, small builders of traces and jobs, and a check of a plan's
 * samples.  Every helper checks its own I/O with cmocka assertions, so a
 * failure ends the current test with the reason rather than returning an
 * error.  Paths come back in static buffers that are reused after four more
 * calls of the same helper.
 */
#ifndef SKRULL_TUTIL_H
#define SKRULL_TUTIL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "job.h"
#include "plan.h"
#include "trace.h"

/*
 * Fail unless |a - b| <= tol, printing both values to 17 digits.  Named
 * like cmocka's own assert_* macros, beside which it is used.
 */
#define assert_near(a, b, tol) do {					\
	double a_ = (a), b_ = (b);					\
	if (!(fabs(a_ - b_) <= (tol)))					\
		fail_msg("%s = %.17g, expected %.17g +- %g", #a, a_,	\
		    b_, (double)(tol));					\
} while (0)

/*
 * cmocka group setup: make the directory $TMPDIR/PROGRAM.XXXXXX (/tmp when
 * TMPDIR is unset or empty), PROGRAM being the test program's name.
 * Returns 0, or -1 when it cannot be made.
 */
int tutil_setup_tmp(void **state);

/* cmocka group teardown: unlink every entry of the directory, remove it.
 * Returns 0, or -1 when it cannot be read or removed. */
int tutil_teardown_tmp(void **state);

/* The path of name inside the temporary directory. */
const char *tutil_path(const char *name);

/* Write text (NUL-terminated) to name in the temporary directory; its path. */
const char *tutil_put(const char *name, const char *text);

/* Write the n bytes at p to name in the temporary directory; its path. */
const char *tutil_put_bytes(const char *name, const void *p, size_t n);

/* The path of relpath under $top_srcdir ("." when unset). */
const char *tutil_data(const char *relpath);

/* Entries of directory dir, not counting "." and "..". */
int tutil_count_entries(const char *dir);

/*
 * The whole file at path in a malloc'd buffer (the caller frees it) with a
 * NUL after the last byte; *n is its size in bytes, the NUL not counted.
 */
char *tutil_slurp(const char *path, size_t *n);

/* Initialise t to the n lengths v[0..n), tokens; trace_free releases it. */
void tutil_trace(struct trace *t, const uint32_t *v, size_t n);

/*
 * job_default (the paper's model and cluster, left as they are) with DP
 * degree dp, CP degree cp, batch samples per DP rank per iteration and a
 * fixed BucketSize of bucket tokens.
 */
void tutil_job(struct job *j, int dp, int batch, int cp, uint32_t bucket);

/*
 * The hand-worked scheduler tests' job: model "test-64", one layer of hidden
 * 64 with one 64-wide query and KV head (ffn 256, vocabulary 1000), so its
 * forward FLOPs per layer are 256 S (S + 384) for S tokens; DP degree dp,
 * CP degree cp, batch samples per DP rank per iteration, BucketSize bucket
 * tokens; every other field (the cluster included) 0.
 */
void tutil_job64(struct job *j, int dp, int batch, int cp, uint32_t bucket);

/*
 * The small model of the worked cost examples: 2 layers, h = 256, 4 query
 * heads and 2 KV heads of 64 (h_q = 256, h_kv = 128), ffn 512, vocabulary
 * 1000, untied, no biases; bf16.  The cluster: peak 1e14 FLOP/s, HBM 80 GB
 * at 1e12 B/s, launch 5 us, gemm_max 0.5, gemm_half 100, attn_max 0.4,
 * attn_half 200, mem_eff 1; 8 GPUs a node, NVLink 1e11 B/s and 2 us,
 * InfiniBand 2e10 B/s and 4 us, no collective table (the ring model).
 * DP 2 x CP 4, batch 8, ZeRO-2, selective recompute, BucketSize 4096.
 */
void tutil_small_job(struct job *j);

/* One expected sample of a plan: where it lies and how it is placed. */
struct tutil_want {
	int d;           /* DP rank */
	size_t m;        /* micro-batch of that DP rank */
	uint32_t index;  /* the sample's index in the trace */
	int32_t place;   /* CP rank holding it whole, or PLAN_SHARDED */
};

/*
 * Fail unless iteration it of pl holds exactly w[0..n), in order of DP
 * rank, micro-batch and sample.  Unless nmb is NULL, DP rank d must hold
 * nmb[d] micro-batches; unless t is NULL, every sample's length must be
 * its length in t, tokens.
 */
void tutil_expect_iter(const struct plan *pl, size_t it,
    const struct trace *t, const struct tutil_want *w, size_t n,
    const size_t *nmb);

/* Seconds to whole nanoseconds: every simulated time is one. */
long long tutil_ns(double sec);

/*
 * The hand-worked job of the simulator's tests: model test-64
 * (tutil_job64) with `layers` layers on one node of dp x cp GPUs so fast
 * (10^30 FLOP/s and bytes/s) that every kernel costs exactly its launch,
 * 1 us, and every collective its ring latency, (group - 1) x 3 us; no
 * measured table, no recompute, bf16, ZeRO stage `zero`.  Per part, in
 * launches (core/ops.c): forward norm_attn 1, qkv 1, rope 1, attn_local 1
 * (with local samples), attn_shard 1 (with sharded ones), oproj,
 * norm_mlp, gate_up, swiglu, down 1 each; head 3 (norm, logits, loss),
 * head_b 4; backward: the GEMMs (down, gate_up, oproj, qkv) 2 each, the
 * element-wise ones (swiglu, norms, rope) 1 each, each attention 3; the
 * optimizer 1.  test_sim's test_hand_costs checks these.
 */
void tutil_hand_job(struct job *j, int dp, int cp, int layers, int zero);

/* n, or a tenth of it (at least 1) when SKRULL_TEST_QUICK is set: the
 * random sweeps of the property tests shrink under valgrind (.ci/run),
 * where every planned batch costs fifty times as much. */
size_t tutil_scale(size_t n);

/* A progress callback's calls (the library's progress hooks: sim_run,
 * calib_measure, sched_plan_progress): their count, the last done, the
 * total, and calls out of order (done not one more than before, or a
 * total that changed).  tutil_count_progress records one; ctx is a
 * struct tutil_calls, zeroed before. */
struct tutil_calls {
	size_t n, last, total, bad;
};
void tutil_count_progress(void *ctx, size_t done, size_t total);

#endif
