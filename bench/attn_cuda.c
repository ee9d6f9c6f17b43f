/*
 * attn_cuda: throughput of the CUDA attention kernels (kern.h's
 * kcuda_attn_fwd and kcuda_attn_bwd) in bf16, causal, one sequence of S
 * tokens with Qwen2.5-7B's heads (28 query heads, 4 KV heads, width 128),
 * for S = 1K, 8K, 32K and 128K (or those up to MAXTOKENS).
 *
 * Each direction is timed with CUDA events on the kernels' stream: one
 * warm-up pass at the smallest size (module loading, first launches), then
 * the median of 5 runs (3 at 32K, 1 at 128K to keep the whole under a
 * minute).  FLOPs are counted as FlashAttention does: causal forward
 * 2 S^2 nh hd (half of 4 S^2 nh hd), backward 2.5 times the forward.
 * Prints one line per size on stdout; exits 77 without a GPU.
 *
 * usage: attn_cuda [MAXTOKENS]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime.h>

#include "kern.h"

#define NH 28
#define NKV 4
#define HD 128

static const size_t sizes[] = { 1024, 8192, 32768, 131072 };

/* The kernels' stream (kern.h: the per-thread default stream). */
#define STREAM cudaStreamPerThread

struct bufs {
	void *q, *k, *v, *o, *dout, *dq, *dk, *dv;
	float *lse;
	int32_t *cu, *qpos;
};

static int
check(int rc, const char *what)
{
	if (rc != 0)
		fprintf(stderr, "attn_cuda: %s: %s\n", what, kcuda_error());
	return rc;
}

static int
cuda_check(cudaError_t e, const char *what)
{
	if (e != cudaSuccess)
		fprintf(stderr, "attn_cuda: %s: %s\n", what,
		    cudaGetErrorString(e));
	return e != cudaSuccess;
}

static int
cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

/* One pass of fwd (bwd = 0) or bwd over S tokens, in milliseconds. */
static int
run(struct kcuda *k, struct bufs *b, size_t S, int bwd, cudaEvent_t e0,
    cudaEvent_t e1, float *ms)
{
	int rc;

	if (cuda_check(cudaEventRecord(e0, STREAM), "cudaEventRecord"))
		return 1;
	if (bwd)
		rc = kcuda_attn_bwd(k, KERN_BF16, 1, b->cu, b->cu, b->qpos, S,
		    S, NH, NKV, HD, b->q, b->k, b->v, b->o, b->lse, b->dout,
		    b->dq, b->dk, b->dv);
	else
		rc = kcuda_attn_fwd(k, KERN_BF16, 1, b->cu, b->cu, b->qpos, S,
		    S, NH, NKV, HD, b->q, b->k, b->v, b->o, b->lse);
	if (check(rc, bwd ? "kcuda_attn_bwd" : "kcuda_attn_fwd"))
		return 1;
	if (cuda_check(cudaEventRecord(e1, STREAM), "cudaEventRecord") ||
	    cuda_check(cudaEventSynchronize(e1), "cudaEventSynchronize") ||
	    cuda_check(cudaEventElapsedTime(ms, e0, e1),
	    "cudaEventElapsedTime"))
		return 1;
	return 0;
}

/* Median time of reps passes of one direction at S tokens. */
static int
timed(struct kcuda *k, struct bufs *b, size_t S, int bwd, int reps,
    cudaEvent_t e0, cudaEvent_t e1, float *med)
{
	float t[8];
	int i;

	for (i = 0; i < reps; i++)
		if (run(k, b, S, bwd, e0, e1, &t[i]) != 0)
			return 1;
	qsort(t, (size_t)reps, sizeof t[0], cmp_float);
	*med = t[reps / 2];
	return 0;
}

int
main(int argc, char **argv)
{
	struct kcuda *k = NULL;
	struct bufs b;
	cudaEvent_t e0 = NULL, e1 = NULL;
	uint16_t *h = NULL;
	int32_t *pos = NULL, cu[2];
	size_t maxs = sizes[3], nq, nk, i, si;
	uint64_t x = 0x9e3779b97f4a7c15u;
	double fl;
	float tf, tb, f;
	int ndev = 0, rc = 1, reps;
	uint32_t u;

	memset(&b, 0, sizeof b);
	if (argc > 2 || (argc == 2 && (maxs = strtoul(argv[1], NULL, 10)) <
	    sizes[0])) {
		fprintf(stderr, "usage: attn_cuda [MAXTOKENS >= %zu]\n",
		    sizes[0]);
		return 2;
	}
	kcuda_device_count(&ndev);
	if (ndev == 0) {
		printf("attn_cuda: no CUDA device, nothing to time\n");
		return 77;
	}
	if (maxs > sizes[3])
		maxs = sizes[3];
	nq = maxs * NH * HD;
	nk = maxs * NKV * HD;
	if (check(kcuda_open(0, &k), "kcuda_open"))
		goto out;
	if (check(kcuda_alloc(k, nq * 2, &b.q), "kcuda_alloc") ||
	    check(kcuda_alloc(k, nq * 2, &b.o), "kcuda_alloc") ||
	    check(kcuda_alloc(k, nq * 2, &b.dout), "kcuda_alloc") ||
	    check(kcuda_alloc(k, nq * 2, &b.dq), "kcuda_alloc") ||
	    check(kcuda_alloc(k, nk * 2, &b.k), "kcuda_alloc") ||
	    check(kcuda_alloc(k, nk * 2, &b.v), "kcuda_alloc") ||
	    check(kcuda_alloc(k, nk * 2, &b.dk), "kcuda_alloc") ||
	    check(kcuda_alloc(k, nk * 2, &b.dv), "kcuda_alloc") ||
	    check(kcuda_alloc(k, maxs * NH * sizeof(float), (void **)&b.lse),
	    "kcuda_alloc") ||
	    check(kcuda_alloc(k, 2 * sizeof(int32_t), (void **)&b.cu),
	    "kcuda_alloc") ||
	    check(kcuda_alloc(k, maxs * sizeof(int32_t), (void **)&b.qpos),
	    "kcuda_alloc"))
		goto out;

	/* bf16 values in [-1, 1) from xorshift64 (the top bits of a float:
	 * truncation is fine for timing data). */
	if ((h = malloc((nq + 8) * sizeof *h)) == NULL ||
	    (pos = malloc(maxs * sizeof *pos)) == NULL) {
		fprintf(stderr, "attn_cuda: out of memory\n");
		goto out;
	}
	for (i = 0; i < nq + 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		f = (float)(x >> 40) * (2.0f / 16777216.0f) - 1.0f;
		memcpy(&u, &f, sizeof u);
		h[i] = (uint16_t)(u >> 16);
	}
	for (i = 0; i < maxs; i++)
		pos[i] = (int32_t)i;
	if (check(kcuda_upload(k, b.q, h, nq * 2), "kcuda_upload") ||
	    check(kcuda_upload(k, b.dout, h + 1, nq * 2), "kcuda_upload") ||
	    check(kcuda_upload(k, b.k, h + 3, nk * 2), "kcuda_upload") ||
	    check(kcuda_upload(k, b.v, h + 7, nk * 2), "kcuda_upload") ||
	    check(kcuda_upload(k, b.qpos, pos, maxs * sizeof *pos),
	    "kcuda_upload") ||
	    check(kcuda_memset0(k, b.dk, nk * 2), "kcuda_memset0") ||
	    check(kcuda_memset0(k, b.dv, nk * 2), "kcuda_memset0"))
		goto out;
	if (cuda_check(cudaEventCreate(&e0), "cudaEventCreate") ||
	    cuda_check(cudaEventCreate(&e1), "cudaEventCreate"))
		goto out;

	printf("# bf16 causal attention, 1 sequence, nh %d nkv %d hd %d; "
	    "median ms and TFLOP/s (fwd 2 S^2 nh hd, bwd 2.5x)\n", NH, NKV,
	    HD);
	for (si = 0; si < sizeof sizes / sizeof sizes[0] && sizes[si] <= maxs;
	    si++) {
		cu[0] = 0;
		cu[1] = (int32_t)sizes[si];
		if (check(kcuda_upload(k, b.cu, cu, sizeof cu), "kcuda_upload"))
			goto out;
		if (si == 0 && (run(k, &b, sizes[0], 0, e0, e1, &tf) != 0 ||
		    run(k, &b, sizes[0], 1, e0, e1, &tb) != 0))
			goto out;
		reps = sizes[si] >= 131072 ? 1 : sizes[si] >= 32768 ? 3 : 5;
		if (timed(k, &b, sizes[si], 0, reps, e0, e1, &tf) != 0 ||
		    timed(k, &b, sizes[si], 1, reps, e0, e1, &tb) != 0)
			goto out;
		fl = 2.0 * (double)sizes[si] * (double)sizes[si] * NH * HD;
		printf("S %6zu  runs %d  fwd %10.3f ms %7.2f TFLOP/s  "
		    "bwd %10.3f ms %7.2f TFLOP/s\n", sizes[si], reps,
		    (double)tf, fl / (tf * 1e-3) / 1e12, (double)tb,
		    2.5 * fl / (tb * 1e-3) / 1e12);
		fflush(stdout);
	}
	rc = 0;
out:
	if (e0 != NULL)
		cudaEventDestroy(e0);
	if (e1 != NULL)
		cudaEventDestroy(e1);
	free(h);
	free(pos);
	if (k != NULL) {
		kcuda_free(k, b.q);
		kcuda_free(k, b.k);
		kcuda_free(k, b.v);
		kcuda_free(k, b.o);
		kcuda_free(k, b.dout);
		kcuda_free(k, b.dq);
		kcuda_free(k, b.dk);
		kcuda_free(k, b.dv);
		kcuda_free(k, b.lse);
		kcuda_free(k, b.cu);
		kcuda_free(k, b.qpos);
		kcuda_close(k);
	}
	return rc;
}
