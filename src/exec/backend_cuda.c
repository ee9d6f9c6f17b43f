/*
 * backend_cuda: the CUDA backend of backend.h, over the launchers of
 * kernels/kern.h (built only with CUDA).
 *
 * Storage is fp32 (KERN_F32 launches), so that results match the CPU
 * reference to rounding.  Each host thread has its own state (kcuda handle,
 * index scratch, first failure) behind thread-local variables: open makes
 * it, close releases it.  Ops queue work on the thread's compute stream and
 * return at once; the void ops record their first failure, which sync
 * returns and clears.
 *
 * Index arrays arrive in host memory: an op packs the ones it needs into a
 * host staging buffer and uploads them in one copy into a device scratch;
 * both grow (doubling) only when too small, so ops allocate nothing once
 * the largest has run.  Reusing the scratch at the next op is safe because
 * the upload and the kernels are ordered on the one compute stream.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "err.h"
#include "kern.h"

/* The longest failure message kept for sync, bytes. */
#define FAIL_MAX 512

/* This thread's state; k is NULL until open. */
static _Thread_local struct kcuda *k;
static _Thread_local int opens;        /* open calls not yet closed */
static _Thread_local int device_of;    /* the device k is bound to */
static _Thread_local int32_t *scratch; /* device, cap int32 */
static _Thread_local int32_t *staging; /* host, cap int32 */
static _Thread_local size_t cap;
static _Thread_local int fail_code;    /* first failure since sync */
static _Thread_local char fail_msg[FAIL_MAX];

/* Record the failure of op (the reason in kcuda_error(), or why when
 * given), unless an earlier one is waiting for sync. */
static void
fail(const char *op, const char *why)
{
	if (fail_code != SK_OK)
		return;
	fail_code = why != NULL ? SK_ERR_ARG : SK_ERR_IO;
	snprintf(fail_msg, sizeof fail_msg, "backend \"cuda\": %s: %s", op,
	    why != NULL ? why : kcuda_error());
}

/* The thread's handle, or NULL after recording that op ran unopened. */
static struct kcuda *
handle(const char *op)
{
	if (k == NULL)
		fail(op, "this thread has not opened the backend");
	return k;
}

/* Check rc of a kcuda call made by op. */
static void
check(const char *op, int rc)
{
	if (rc != 0)
		fail(op, NULL);
}

/* Make room for n int32 in the scratch and the staging buffer. */
static int
reserve(const char *op, size_t n)
{
	void *d = NULL;
	int32_t *h;
	size_t c;

	if (n <= cap)
		return 0;
	c = cap > 0 ? cap : 1024;
	while (c < n)
		c *= 2;
	if ((h = malloc(c * sizeof *h)) == NULL) {
		fail(op, "out of host memory for the index staging buffer");
		return -1;
	}
	if (kcuda_alloc(k, c * sizeof *h, &d) != 0) {
		free(h);
		fail(op, NULL);
		return -1;
	}
	if (scratch != NULL)
		kcuda_free(k, scratch);
	free(staging);
	scratch = d;
	staging = h;
	cap = c;
	return 0;
}

/* Upload the host index array a[0..n) into the scratch: its device copy,
 * or NULL after recording a failure. */
static const int32_t *
put(const char *op, const int32_t *a, size_t n)
{
	if (reserve(op, n) != 0)
		return NULL;
	if (n > 0 && kcuda_upload(k, scratch, a, n * sizeof *a) != 0) {
		fail(op, NULL);
		return NULL;
	}
	return scratch;
}

static int
cuda_devices(int *n)
{
	if (kcuda_device_count(n) != 0)
		return err_set(SK_ERR_IO, "backend \"cuda\": %s",
		    kcuda_error());
	return SK_OK;
}

static int
cuda_open(int device)
{
	struct kcuda *h;

	if (k != NULL) {
		/* Nested opens on one device are counted (the executor opens
		 * for its own use what a caller may have opened already). */
		if (device != device_of)
			return err_set(SK_ERR_ARG, "backend \"cuda\": this thread "
			    "is bound to device %d, cannot open device %d",
			    device_of, device);
		opens++;
		return SK_OK;
	}
	if (kcuda_open(device, &h) != 0)
		return err_set(SK_ERR_IO, "backend \"cuda\": device %d: %s",
		    device, kcuda_error());
	k = h;
	opens = 1;
	device_of = device;
	fail_code = SK_OK;
	return SK_OK;
}

static void
cuda_close(void)
{
	if (k == NULL || --opens > 0)
		return;
	if (scratch != NULL)
		kcuda_free(k, scratch);
	free(staging);
	kcuda_close(k);
	k = NULL;
	scratch = NULL;
	staging = NULL;
	cap = 0;
	fail_code = SK_OK;
}

static int
cuda_sync(void)
{
	int code;

	if (handle("sync") != NULL && kcuda_sync(k) != 0)
		fail("sync", NULL);
	if ((code = fail_code) == SK_OK)
		return SK_OK;
	fail_code = SK_OK;
	return err_set(code, "%s", fail_msg);
}

static float *
cuda_alloc(size_t n)
{
	void *p = NULL;

	/* The caller reports a NULL as out of memory; a call on an
	 * unopened thread also leaves a failure for sync. */
	if (handle("alloc") == NULL || n > SIZE_MAX / sizeof (float))
		return NULL;
	if (kcuda_alloc(k, (n > 0 ? n : 1) * sizeof (float), &p) != 0)
		return NULL;
	return p;
}

static void
cuda_free(float *p)
{
	if (p != NULL && handle("free") != NULL)
		kcuda_free(k, p);
}

static void
cuda_zero(float *x, size_t n)
{
	if (n > 0 && handle("zero") != NULL)
		check("zero", kcuda_memset0(k, x, n * sizeof *x));
}

static void
cuda_copy(float *dst, const float *src, size_t n)
{
	if (n > 0 && handle("copy") != NULL)
		check("copy", kcuda_copy(k, dst, src, n * sizeof *dst));
}

static void
cuda_add(size_t n, const float *x, float *y)
{
	if (n > 0 && handle("add") != NULL)
		check("add", kcuda_add(k, n, x, y));
}

static void
cuda_upload(float *dev, const float *host, size_t n)
{
	if (n > 0 && handle("upload") != NULL)
		check("upload", kcuda_upload(k, dev, host, n * sizeof *dev));
}

static void
cuda_download(float *host, const float *dev, size_t n)
{
	if (n > 0 && handle("download") != NULL)
		check("download", kcuda_download(k, host, dev, n * sizeof *host));
}

static void
cuda_gather_rows(size_t n, size_t w, const int32_t *idx, const float *src,
    float *dst)
{
	const int32_t *d;

	if (n == 0 || handle("gather_rows") == NULL ||
	    (d = put("gather_rows", idx, n)) == NULL)
		return;
	check("gather_rows", kcuda_gather_rows(k, n, w, d, src, dst));
}

static void
cuda_scatter_rows(size_t n, size_t w, const int32_t *idx, const float *src,
    float *dst)
{
	const int32_t *d;

	if (n == 0 || handle("scatter_rows") == NULL ||
	    (d = put("scatter_rows", idx, n)) == NULL)
		return;
	check("scatter_rows", kcuda_scatter_rows(k, n, w, d, src, dst));
}

static void
cuda_embed_fwd(size_t T, size_t w, const int32_t *tok, const float *table,
    float *x)
{
	const int32_t *d;

	if (T == 0 || handle("embed_fwd") == NULL ||
	    (d = put("embed_fwd", tok, T)) == NULL)
		return;
	check("embed_fwd", kcuda_embed_fwd(k, T, w, d, table, x));
}

static void
cuda_embed_bwd(size_t T, size_t w, const int32_t *tok, const float *dx,
    float *dtable)
{
	const int32_t *d;

	if (T == 0 || handle("embed_bwd") == NULL ||
	    (d = put("embed_bwd", tok, T)) == NULL)
		return;
	check("embed_bwd", kcuda_embed_bwd(k, T, w, d, dx, dtable));
}

static void
cuda_gemm(int ta, int tb, size_t m, size_t n, size_t kk, float alpha,
    const float *A, const float *B, float beta, float *C)
{
	if (handle("gemm") != NULL)
		check("gemm", kcuda_gemm(k, KERN_F32, ta, tb, m, n, kk, alpha, A,
		    B, beta, C));
}

static void
cuda_rmsnorm_fwd(size_t T, size_t d, const float *x, const float *w,
    float eps, float *y, float *rstd)
{
	if (handle("rmsnorm_fwd") != NULL)
		check("rmsnorm_fwd", kcuda_rmsnorm_fwd(k, KERN_F32, T, d, x, w,
		    eps, y, rstd));
}

static void
cuda_rmsnorm_bwd(size_t T, size_t d, const float *x, const float *w,
    const float *rstd, const float *dy, float *dx, float *dw)
{
	if (handle("rmsnorm_bwd") != NULL)
		check("rmsnorm_bwd", kcuda_rmsnorm_bwd(k, KERN_F32, T, d, x, w,
		    rstd, dy, dx, dw));
}

static void
cuda_rope_fwd(size_t T, size_t nh, size_t hd, const int32_t *pos,
    double theta, float *x)
{
	const int32_t *d;

	if (T == 0 || handle("rope_fwd") == NULL ||
	    (d = put("rope_fwd", pos, T)) == NULL)
		return;
	check("rope_fwd", kcuda_rope_fwd(k, KERN_F32, T, nh, hd, d, theta, x));
}

static void
cuda_rope_bwd(size_t T, size_t nh, size_t hd, const int32_t *pos,
    double theta, float *dx)
{
	const int32_t *d;

	if (T == 0 || handle("rope_bwd") == NULL ||
	    (d = put("rope_bwd", pos, T)) == NULL)
		return;
	check("rope_bwd", kcuda_rope_bwd(k, KERN_F32, T, nh, hd, d, theta,
	    dx));
}

static void
cuda_swiglu_fwd(size_t n, const float *g, const float *u, float *h)
{
	if (handle("swiglu_fwd") != NULL)
		check("swiglu_fwd", kcuda_swiglu_fwd(k, KERN_F32, n, g, u, h));
}

static void
cuda_swiglu_bwd(size_t n, const float *g, const float *u, const float *dh,
    float *dg, float *du)
{
	if (handle("swiglu_bwd") != NULL)
		check("swiglu_bwd", kcuda_swiglu_bwd(k, KERN_F32, n, g, u, dh, dg,
		    du));
}

/*
 * The attention's index arrays on the device, rebased: the caller's cu_q
 * and cu_k may start past 0 (one sample of a packed batch), and qpos is
 * indexed by absolute query row.  The scratch gets cu_q - cu_q[0], cu_k -
 * cu_k[0] and qpos[cu_q[0] .. cu_q[nseq]), and *q0, *k0 the rows to add to
 * the row pointers, so that only the rows in use travel.  Also the
 * largest query and key count of a sequence.  0, or -1 after recording a
 * failure.
 */
struct attn_idx {
	const int32_t *cu_q, *cu_k, *qpos;  /* device */
	size_t q0, k0, max_q, max_k;
};

static int
attn_put(const char *op, size_t nseq, const int32_t *cu_q,
    const int32_t *cu_k, const int32_t *qpos, struct attn_idx *a)
{
	const size_t tq = (size_t)(cu_q[nseq] - cu_q[0]);
	const size_t n = 2 * (nseq + 1) + tq;
	size_t s, c;

	if (reserve(op, n) != 0)
		return -1;
	a->q0 = (size_t)cu_q[0];
	a->k0 = (size_t)cu_k[0];
	a->max_q = 0;
	a->max_k = 0;
	for (s = 0; s <= nseq; s++) {
		staging[s] = cu_q[s] - cu_q[0];
		staging[nseq + 1 + s] = cu_k[s] - cu_k[0];
		if (s < nseq) {
			c = (size_t)(cu_q[s + 1] - cu_q[s]);
			a->max_q = c > a->max_q ? c : a->max_q;
			c = (size_t)(cu_k[s + 1] - cu_k[s]);
			a->max_k = c > a->max_k ? c : a->max_k;
		}
	}
	if (tq > 0)
		memcpy(staging + 2 * (nseq + 1), qpos + a->q0, tq * sizeof *qpos);
	if (kcuda_upload(k, scratch, staging, n * sizeof *staging) != 0) {
		fail(op, NULL);
		return -1;
	}
	a->cu_q = scratch;
	a->cu_k = scratch + nseq + 1;
	a->qpos = scratch + 2 * (nseq + 1);
	return 0;
}

static void
cuda_attn_fwd(size_t nseq, const int32_t *cu_q, const int32_t *cu_k,
    const int32_t *qpos, size_t nh, size_t nkv, size_t hd, const float *q,
    const float *kk, const float *v, float *o, float *lse)
{
	struct attn_idx a;
	size_t qr, kr;

	if (nseq == 0 || handle("attn_fwd") == NULL ||
	    attn_put("attn_fwd", nseq, cu_q, cu_k, qpos, &a) != 0)
		return;
	qr = a.q0 * nh * hd;
	kr = a.k0 * nkv * hd;
	check("attn_fwd", kcuda_attn_fwd(k, KERN_F32, nseq, a.cu_q, a.cu_k,
	    a.qpos, a.max_q, a.max_k, nh, nkv, hd, q + qr, kk + kr, v + kr,
	    o + qr, lse + a.q0 * nh));
}

static void
cuda_attn_bwd(size_t nseq, const int32_t *cu_q, const int32_t *cu_k,
    const int32_t *qpos, size_t nh, size_t nkv, size_t hd, const float *q,
    const float *kk, const float *v, const float *o, const float *lse,
    const float *dout, float *dq, float *dk, float *dv)
{
	struct attn_idx a;
	size_t qr, kr;

	if (nseq == 0 || handle("attn_bwd") == NULL ||
	    attn_put("attn_bwd", nseq, cu_q, cu_k, qpos, &a) != 0)
		return;
	qr = a.q0 * nh * hd;
	kr = a.k0 * nkv * hd;
	check("attn_bwd", kcuda_attn_bwd(k, KERN_F32, nseq, a.cu_q, a.cu_k,
	    a.qpos, a.max_q, a.max_k, nh, nkv, hd, q + qr, kk + kr, v + kr,
	    o + qr, lse + a.q0 * nh, dout + qr, dq + qr, dk + kr, dv + kr));
}

/* The loss sum; NaN when it failed (sync tells why). */
static double
cuda_xent(size_t T, size_t V, const float *logits, const int32_t *target,
    float scale, float *dlogits)
{
	const int32_t *d;
	double loss = 0;

	if (T == 0)
		return 0;
	if (handle("xent") == NULL || (d = put("xent", target, T)) == NULL)
		return NAN;
	if (kcuda_xent(k, KERN_F32, T, V, logits, d, scale, dlogits,
	    &loss) != 0) {
		fail("xent", NULL);
		return NAN;
	}
	return loss;
}

static void
cuda_adamw(size_t n, float *p, const float *g, float *m, float *v, float lr,
    float beta1, float beta2, float eps, float wd, long t)
{
	if (handle("adamw") != NULL)
		check("adamw", kcuda_adamw(k, n, p, g, m, v, lr, beta1, beta2, eps,
		    wd, t));
}

const struct backend_ops backend_cuda_ops = {
	BACKEND_OPS_VERSION,
	"cuda",
	cuda_devices,
	cuda_open,
	cuda_close,
	cuda_sync,
	cuda_alloc,
	cuda_free,
	cuda_zero,
	cuda_copy,
	cuda_add,
	cuda_upload,
	cuda_download,
	cuda_gather_rows,
	cuda_scatter_rows,
	cuda_embed_fwd,
	cuda_embed_bwd,
	cuda_gemm,
	cuda_rmsnorm_fwd,
	cuda_rmsnorm_bwd,
	cuda_rope_fwd,
	cuda_rope_bwd,
	cuda_swiglu_fwd,
	cuda_swiglu_bwd,
	cuda_attn_fwd,
	cuda_attn_bwd,
	cuda_xent,
	cuda_adamw
};
