// kcuda: the CUDA kernels of kern.h except attention (kcuda_attn.cu): the
// handle, device memory, row gathers, embedding, RMSNorm, RoPE, SwiGLU,
// cross-entropy, AdamW and the cuBLAS GEMM.  The model kernels are templates
// over the storage type (float, __nv_bfloat16) and compute in fp32; each
// mirrors the kcpu_* function of the same name in kern_cpu.c.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "kcuda_impl.h"

static thread_local char last_error[512];

int
kcuda_fail(const char *what, const char *file, int line, const char *why)
{
	snprintf(last_error, sizeof last_error, "%s at %s:%d: %s", what, file,
	    line, why);
	return 1;
}

extern "C" const char *
kcuda_error(void)
{
	return last_error;
}

int
kcuda_scratch(struct kcuda *k, size_t bytes, void **p)
{
	void *n = NULL;

	if (bytes > k->scratch_bytes) {
		// Kernels queued earlier may still read the old scratch.
		KC_CUDA(cudaStreamSynchronize(KC_STREAM));
		KC_CUDA(cudaFree(k->scratch));
		k->scratch = NULL;
		k->scratch_bytes = 0;
		KC_CUDA(cudaMalloc(&n, bytes));
		k->scratch = n;
		k->scratch_bytes = bytes;
	}
	*p = k->scratch;
	return 0;
}

// Run call with E the storage type of dt; an unknown dt is an error.
#define KC_DISPATCH(dt, call) do {					\
	switch (dt) {							\
	case KERN_F32: { typedef float E; return call; }		\
	case KERN_BF16: { typedef __nv_bfloat16 E; return call; }	\
	}								\
	return kcuda_fail(__func__, __FILE__, __LINE__,			\
	    "unknown element type");					\
} while (0)

// ---- the handle and memory ----

extern "C" int
kcuda_open(int device, struct kcuda **out)
{
	struct kcuda *k;
	cublasStatus_t s;
	cudaError_t e;

	*out = NULL;
	if ((e = cudaSetDevice(device)) != cudaSuccess)
		return kcuda_fail("cudaSetDevice", __FILE__, __LINE__,
		    cudaGetErrorString(e));
	if ((k = (struct kcuda *)calloc(1, sizeof *k)) == NULL)
		return kcuda_fail("calloc", __FILE__, __LINE__, "out of memory");
	k->device = device;
	if ((s = cublasCreate(&k->blas)) != CUBLAS_STATUS_SUCCESS) {
		free(k);
		return kcuda_fail("cublasCreate", __FILE__, __LINE__,
		    cublasGetStatusString(s));
	}
	// The handle follows the thread's stream; split-K reductions keep
	// fp32 (no reduced-precision reduction for bf16 outputs).
	if ((s = cublasSetStream(k->blas, KC_STREAM)) != CUBLAS_STATUS_SUCCESS ||
	    (s = cublasSetMathMode(k->blas, (cublasMath_t)(CUBLAS_DEFAULT_MATH |
	    CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION))) !=
	    CUBLAS_STATUS_SUCCESS) {
		cublasDestroy(k->blas);
		free(k);
		return kcuda_fail("cublasSetStream/cublasSetMathMode", __FILE__,
		    __LINE__, cublasGetStatusString(s));
	}
	*out = k;
	return 0;
}

extern "C" void
kcuda_close(struct kcuda *k)
{
	cudaError_t e;

	if (k == NULL)
		return;
	// Nothing to return: a failure is only recorded.
	if ((e = cudaFree(k->scratch)) != cudaSuccess)
		kcuda_fail("cudaFree", __FILE__, __LINE__, cudaGetErrorString(e));
	cublasDestroy(k->blas);
	free(k);
}

extern "C" int
kcuda_sync(struct kcuda *k)
{
	KC_CUDA(cudaStreamSynchronize(KC_STREAM));
	return 0;
}

extern "C" int
kcuda_alloc(struct kcuda *k, size_t bytes, void **p)
{
	*p = NULL;
	if (bytes == 0)
		return 0;
	KC_CUDA(cudaMalloc(p, bytes));
	return 0;
}

extern "C" void
kcuda_free(struct kcuda *k, void *p)
{
	cudaError_t e;

	if (p != NULL && (e = cudaFree(p)) != cudaSuccess)
		kcuda_fail("cudaFree", __FILE__, __LINE__, cudaGetErrorString(e));
}

extern "C" int
kcuda_memset0(struct kcuda *k, void *p, size_t bytes)
{
	if (bytes == 0)
		return 0;
	KC_CUDA(cudaMemsetAsync(p, 0, bytes, KC_STREAM));
	return 0;
}

extern "C" int
kcuda_copy(struct kcuda *k, void *dst, const void *src, size_t bytes)
{
	if (bytes == 0)
		return 0;
	KC_CUDA(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice,
	    KC_STREAM));
	return 0;
}

// Waiting for the stream is what makes host reusable for pinned memory too
// (an asynchronous copy from pageable memory only stages it).
extern "C" int
kcuda_upload(struct kcuda *k, void *dev, const void *host, size_t bytes)
{
	if (bytes == 0)
		return 0;
	KC_CUDA(cudaMemcpyAsync(dev, host, bytes, cudaMemcpyHostToDevice,
	    KC_STREAM));
	KC_CUDA(cudaStreamSynchronize(KC_STREAM));
	return 0;
}

extern "C" int
kcuda_download(struct kcuda *k, void *host, const void *dev, size_t bytes)
{
	if (bytes == 0)
		return 0;
	KC_CUDA(cudaMemcpyAsync(host, dev, bytes, cudaMemcpyDeviceToHost,
	    KC_STREAM));
	KC_CUDA(cudaStreamSynchronize(KC_STREAM));
	return 0;
}

// ---- elementwise and row ops, fp32 ----

__global__ static void
add_kernel(size_t n, const float *x, float *y)
{
	size_t i;

	for (i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
	    i += (size_t)gridDim.x * blockDim.x)
		y[i] += x[i];
}

extern "C" int
kcuda_add(struct kcuda *k, size_t n, const float *x, float *y)
{
	if (n == 0)
		return 0;
	add_kernel<<<kcuda_blocks(n), KC_THREADS, 0, KC_STREAM>>>(n, x, y);
	KC_LAUNCHED("add_kernel");
	return 0;
}

// dst row r = src row idx[r] (gather) or dst row idx[r] = src row r
// (scatter), rows of w floats.
__global__ static void
rows_kernel(size_t n, size_t w, const int32_t *idx, const float *src,
    float *dst, int scatter)
{
	size_t i, r, c;

	for (i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n * w;
	    i += (size_t)gridDim.x * blockDim.x) {
		r = i / w;
		c = i % w;
		if (scatter)
			dst[(size_t)idx[r] * w + c] = src[i];
		else
			dst[i] = src[(size_t)idx[r] * w + c];
	}
}

extern "C" int
kcuda_gather_rows(struct kcuda *k, size_t n, size_t w, const int32_t *idx,
    const float *src, float *dst)
{
	if (n == 0 || w == 0)
		return 0;
	rows_kernel<<<kcuda_blocks(n * w), KC_THREADS, 0, KC_STREAM>>>(n, w, idx,
	    src, dst, 0);
	KC_LAUNCHED("rows_kernel");
	return 0;
}

extern "C" int
kcuda_scatter_rows(struct kcuda *k, size_t n, size_t w, const int32_t *idx,
    const float *src, float *dst)
{
	if (n == 0 || w == 0)
		return 0;
	rows_kernel<<<kcuda_blocks(n * w), KC_THREADS, 0, KC_STREAM>>>(n, w, idx,
	    src, dst, 1);
	KC_LAUNCHED("rows_kernel");
	return 0;
}

extern "C" int
kcuda_embed_fwd(struct kcuda *k, size_t T, size_t w, const int32_t *tok,
    const float *table, float *x)
{
	return kcuda_gather_rows(k, T, w, tok, table, x);
}

__global__ static void
embed_bwd_kernel(size_t T, size_t w, const int32_t *tok, const float *dx,
    float *dtable)
{
	size_t i;

	for (i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < T * w;
	    i += (size_t)gridDim.x * blockDim.x)
		atomicAdd(&dtable[(size_t)tok[i / w] * w + i % w], dx[i]);
}

extern "C" int
kcuda_embed_bwd(struct kcuda *k, size_t T, size_t w, const int32_t *tok,
    const float *dx, float *dtable)
{
	if (T == 0 || w == 0)
		return 0;
	embed_bwd_kernel<<<kcuda_blocks(T * w), KC_THREADS, 0, KC_STREAM>>>(T, w,
	    tok, dx, dtable);
	KC_LAUNCHED("embed_bwd_kernel");
	return 0;
}

// ---- RMSNorm ----

// Rows per launch stride: blocks loop over rows beyond the grid.
static unsigned
row_blocks(size_t T)
{
	return (unsigned)(T < 65536 ? T : 65536);
}

template <typename E>
__global__ static void
rmsnorm_fwd_kernel(size_t T, size_t d, const E *x, const float *w, float eps,
    E *y, float *rstd)
{
	__shared__ float sh[32];
	size_t t, i;
	float ss, r, xi;

	for (t = blockIdx.x; t < T; t += gridDim.x) {
		ss = 0.0f;
		for (i = threadIdx.x; i < d; i += blockDim.x) {
			xi = kcuda_ld(x, t * d + i);
			ss = fmaf(xi, xi, ss);
		}
		ss = kcuda_block_sum(ss, sh);
		r = (float)(1.0 / sqrt((double)ss / (double)d + eps));
		if (threadIdx.x == 0)
			rstd[t] = r;
		for (i = threadIdx.x; i < d; i += blockDim.x)
			kcuda_st(y, t * d + i, w[i] * (kcuda_ld(x, t * d + i) * r));
	}
}

template <typename E>
static int
rmsnorm_fwd(size_t T, size_t d, const E *x, const float *w, float eps, E *y,
    float *rstd)
{
	rmsnorm_fwd_kernel<E><<<row_blocks(T), KC_THREADS, 0, KC_STREAM>>>(T,
	    d, x, w, eps, y, rstd);
	KC_LAUNCHED("rmsnorm_fwd_kernel");
	return 0;
}

extern "C" int
kcuda_rmsnorm_fwd(struct kcuda *k, enum kern_dtype dt, size_t T, size_t d,
    const void *x, const float *w, float eps, void *y, float *rstd)
{
	if (T == 0 || d == 0)
		return 0;
	KC_DISPATCH(dt, rmsnorm_fwd<E>(T, d, (const E *)x, w, eps, (E *)y,
	    rstd));
}

// dx of one row per block (the formula of kcpu_rmsnorm_bwd).
template <typename E>
__global__ static void
rmsnorm_dx_kernel(size_t T, size_t d, const E *x, const float *w,
    const float *rstd, const E *dy, E *dx)
{
	__shared__ float sh[32];
	size_t t, i;
	float sum, r, c;

	for (t = blockIdx.x; t < T; t += gridDim.x) {
		r = rstd[t];
		sum = 0.0f;
		for (i = threadIdx.x; i < d; i += blockDim.x)
			sum = fmaf(w[i] * kcuda_ld(dy, t * d + i),
			    kcuda_ld(x, t * d + i), sum);
		sum = kcuda_block_sum(sum, sh);
		c = sum * r * r / (float)d;
		for (i = threadIdx.x; i < d; i += blockDim.x)
			kcuda_st(dx, t * d + i, r * (w[i] * kcuda_ld(dy, t * d + i) -
			    kcuda_ld(x, t * d + i) * c));
	}
}

// dw over a 32 x 8 block: 32 columns, 8 row phases whose partial sums add
// in a fixed order (deterministic, no atomics).
#define DW_COLS 32
#define DW_PHASES 8

template <typename E>
__global__ static void
rmsnorm_dw_kernel(size_t T, size_t d, const E *x, const float *rstd,
    const E *dy, float *dw)
{
	__shared__ float part[DW_PHASES][DW_COLS];
	size_t i = (size_t)blockIdx.x * DW_COLS + threadIdx.x, t;
	float acc = 0.0f;
	int p;

	if (i < d)
		for (t = threadIdx.y; t < T; t += DW_PHASES)
			acc = fmaf(kcuda_ld(dy, t * d + i) * kcuda_ld(x, t * d + i),
			    rstd[t], acc);
	part[threadIdx.y][threadIdx.x] = acc;
	__syncthreads();
	if (threadIdx.y == 0 && i < d) {
		acc = 0.0f;
		for (p = 0; p < DW_PHASES; p++)
			acc += part[p][threadIdx.x];
		dw[i] += acc;
	}
}

template <typename E>
static int
rmsnorm_bwd(size_t T, size_t d, const E *x, const float *w,
    const float *rstd, const E *dy, E *dx, float *dw)
{
	rmsnorm_dx_kernel<E><<<row_blocks(T), KC_THREADS, 0, KC_STREAM>>>(T, d,
	    x, w, rstd, dy, dx);
	KC_LAUNCHED("rmsnorm_dx_kernel");
	rmsnorm_dw_kernel<E><<<(unsigned)((d + DW_COLS - 1) / DW_COLS),
	    dim3(DW_COLS, DW_PHASES), 0, KC_STREAM>>>(T, d, x, rstd, dy, dw);
	KC_LAUNCHED("rmsnorm_dw_kernel");
	return 0;
}

extern "C" int
kcuda_rmsnorm_bwd(struct kcuda *k, enum kern_dtype dt, size_t T, size_t d,
    const void *x, const float *w, const float *rstd, const void *dy, void *dx,
    float *dw)
{
	if (T == 0 || d == 0)
		return 0;
	KC_DISPATCH(dt, rmsnorm_bwd<E>(T, d, (const E *)x, w, rstd,
	    (const E *)dy, (E *)dx, dw));
}

// ---- RoPE ----

// One thread per (token, pair i < hd/2) turns that pair in every head; the
// angle in double as in kern_cpu.c.
template <typename E>
__global__ static void
rope_kernel(size_t T, size_t nh, size_t hd, const int32_t *pos, double theta,
    E *x, double sign)
{
	size_t half = hd / 2, n, t, i, h, a, b;
	double ang, sn, cs;
	float c, s, x1, x2;

	for (n = (size_t)blockIdx.x * blockDim.x + threadIdx.x; n < T * half;
	    n += (size_t)gridDim.x * blockDim.x) {
		t = n / half;
		i = n % half;
		ang = pos[t] * pow(theta, -2.0 * (double)i / (double)hd);
		sincos(ang, &sn, &cs);
		c = (float)cs;
		s = (float)(sign * sn);
		for (h = 0; h < nh; h++) {
			a = (t * nh + h) * hd + i;
			b = a + half;
			x1 = kcuda_ld(x, a);
			x2 = kcuda_ld(x, b);
			kcuda_st(x, a, x1 * c - x2 * s);
			kcuda_st(x, b, x2 * c + x1 * s);
		}
	}
}

template <typename E>
static int
rope(size_t T, size_t nh, size_t hd, const int32_t *pos, double theta, E *x,
    double sign)
{
	rope_kernel<E><<<kcuda_blocks(T * (hd / 2)), KC_THREADS, 0, KC_STREAM>>>(
	    T, nh, hd, pos, theta, x, sign);
	KC_LAUNCHED("rope_kernel");
	return 0;
}

extern "C" int
kcuda_rope_fwd(struct kcuda *k, enum kern_dtype dt, size_t T, size_t nh,
    size_t hd, const int32_t *pos, double theta, void *x)
{
	KC_ARG(hd % 2 == 0, "rope: hd must be even");
	if (T == 0 || nh == 0 || hd == 0)
		return 0;
	KC_DISPATCH(dt, rope<E>(T, nh, hd, pos, theta, (E *)x, 1.0));
}

extern "C" int
kcuda_rope_bwd(struct kcuda *k, enum kern_dtype dt, size_t T, size_t nh,
    size_t hd, const int32_t *pos, double theta, void *dx)
{
	KC_ARG(hd % 2 == 0, "rope: hd must be even");
	if (T == 0 || nh == 0 || hd == 0)
		return 0;
	KC_DISPATCH(dt, rope<E>(T, nh, hd, pos, theta, (E *)dx, -1.0));
}

// ---- SwiGLU ----

template <typename E>
__global__ static void
swiglu_fwd_kernel(size_t n, const E *g, const E *u, E *h)
{
	size_t i;
	float gi;

	for (i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
	    i += (size_t)gridDim.x * blockDim.x) {
		gi = kcuda_ld(g, i);
		kcuda_st(h, i, gi / (1.0f + expf(-gi)) * kcuda_ld(u, i));
	}
}

template <typename E>
__global__ static void
swiglu_bwd_kernel(size_t n, const E *g, const E *u, const E *dh, E *dg,
    E *du)
{
	size_t i;
	float gi, sg, d;

	for (i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
	    i += (size_t)gridDim.x * blockDim.x) {
		gi = kcuda_ld(g, i);
		d = kcuda_ld(dh, i);
		sg = 1.0f / (1.0f + expf(-gi));
		kcuda_st(du, i, d * gi * sg);
		kcuda_st(dg, i, d * kcuda_ld(u, i) * sg * (1.0f + gi * (1.0f - sg)));
	}
}

template <typename E>
static int
swiglu_fwd(size_t n, const E *g, const E *u, E *h)
{
	swiglu_fwd_kernel<E><<<kcuda_blocks(n), KC_THREADS, 0, KC_STREAM>>>(n, g,
	    u, h);
	KC_LAUNCHED("swiglu_fwd_kernel");
	return 0;
}

template <typename E>
static int
swiglu_bwd(size_t n, const E *g, const E *u, const E *dh, E *dg, E *du)
{
	swiglu_bwd_kernel<E><<<kcuda_blocks(n), KC_THREADS, 0, KC_STREAM>>>(n, g,
	    u, dh, dg, du);
	KC_LAUNCHED("swiglu_bwd_kernel");
	return 0;
}

extern "C" int
kcuda_swiglu_fwd(struct kcuda *k, enum kern_dtype dt, size_t n,
    const void *g, const void *u, void *h)
{
	if (n == 0)
		return 0;
	KC_DISPATCH(dt, swiglu_fwd<E>(n, (const E *)g, (const E *)u, (E *)h));
}

extern "C" int
kcuda_swiglu_bwd(struct kcuda *k, enum kern_dtype dt, size_t n,
    const void *g, const void *u, const void *dh, void *dg, void *du)
{
	if (n == 0)
		return 0;
	KC_DISPATCH(dt, swiglu_bwd<E>(n, (const E *)g, (const E *)u,
	    (const E *)dh, (E *)dg, (E *)du));
}

// ---- cross-entropy ----

// One row per block: the row's maximum and sum of exponentials, its loss
// into rowloss[t] (double), then dlogits.  logits and dlogits may be the
// same array: every thread reads the target logit before the first
// reduction, and the reductions' barriers put every read of the row before
// the first write.  Targets outside [0, V) are ignored like -1.
template <typename E>
__global__ static void
xent_kernel(size_t T, size_t V, const E *logits, const int32_t *target,
    float scale, E *dlogits, double *rowloss)
{
	__shared__ float sh[32];
	size_t t, c, y;
	float mx, sum, l, z, zt;
	double ld;

	for (t = blockIdx.x; t < T; t += gridDim.x) {
		if (target[t] < 0 || (size_t)target[t] >= V) {
			for (c = threadIdx.x; c < V; c += blockDim.x)
				kcuda_st(dlogits, t * V + c, 0.0f);
			if (threadIdx.x == 0)
				rowloss[t] = 0.0;
			continue;
		}
		y = (size_t)target[t];
		zt = kcuda_ld(logits, t * V + y);
		mx = -INFINITY;
		for (c = threadIdx.x; c < V; c += blockDim.x)
			mx = fmaxf(mx, kcuda_ld(logits, t * V + c));
		mx = kcuda_block_max(mx, sh);
		sum = 0.0f;
		for (c = threadIdx.x; c < V; c += blockDim.x)
			sum += expf(kcuda_ld(logits, t * V + c) - mx);
		sum = kcuda_block_sum(sum, sh);
		ld = (double)mx + log((double)sum);
		l = (float)ld;
		if (threadIdx.x == 0)
			rowloss[t] = ld - zt;
		for (c = threadIdx.x; c < V; c += blockDim.x) {
			z = kcuda_ld(logits, t * V + c);
			kcuda_st(dlogits, t * V + c,
			    (expf(z - l) - (c == y ? 1.0f : 0.0f)) * scale);
		}
	}
}

// The sum of n doubles by one block, in a fixed order.
__global__ static void
sum_kernel(size_t n, const double *a, double *out)
{
	__shared__ double part[KC_THREADS];
	double s = 0.0;
	size_t i;
	int j;

	for (i = threadIdx.x; i < n; i += blockDim.x)
		s += a[i];
	part[threadIdx.x] = s;
	__syncthreads();
	if (threadIdx.x == 0) {
		for (j = 1; j < (int)blockDim.x; j++)
			s += part[j];
		*out = s;
	}
}

template <typename E>
static int
xent(struct kcuda *k, size_t T, size_t V, const E *logits,
    const int32_t *target, float scale, E *dlogits, double *loss)
{
	double *rowloss;
	void *p;

	if (kcuda_scratch(k, (T + 1) * sizeof(double), &p) != 0)
		return 1;
	rowloss = (double *)p;
	xent_kernel<E><<<row_blocks(T), KC_THREADS, 0, KC_STREAM>>>(T, V,
	    logits, target, scale, dlogits, rowloss);
	KC_LAUNCHED("xent_kernel");
	sum_kernel<<<1, KC_THREADS, 0, KC_STREAM>>>(T, rowloss, rowloss + T);
	KC_LAUNCHED("sum_kernel");
	return kcuda_download(k, loss, rowloss + T, sizeof *loss);
}

extern "C" int
kcuda_xent(struct kcuda *k, enum kern_dtype dt, size_t T, size_t V,
    const void *logits, const int32_t *target, float scale, void *dlogits,
    double *loss)
{
	*loss = 0.0;
	if (T == 0)
		return 0;
	KC_ARG(V > 0, "xent: empty vocabulary");
	KC_DISPATCH(dt, xent<E>(k, T, V, (const E *)logits, target, scale,
	    (E *)dlogits, loss));
}

// ---- AdamW ----

// kcpu_adamw's arithmetic, in double per element; bc1, bc2 the bias
// corrections 1 - beta^t (from the host, in double).
__global__ static void
adamw_kernel(size_t n, float *p, const float *g, float *m, float *v, float lr,
    float beta1, float beta2, float eps, float wd, double bc1, double bc2)
{
	size_t i;
	double pi, mi, vi;

	for (i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
	    i += (size_t)gridDim.x * blockDim.x) {
		pi = (double)p[i] * (1.0 - (double)lr * wd);
		mi = (double)beta1 * m[i] + (1.0 - beta1) * g[i];
		vi = (double)beta2 * v[i] + (1.0 - beta2) * (double)g[i] * g[i];
		m[i] = (float)mi;
		v[i] = (float)vi;
		p[i] = (float)(pi - lr * (m[i] / bc1) / (sqrt(v[i] / bc2) +
		    eps));
	}
}

extern "C" int
kcuda_adamw(struct kcuda *k, size_t n, float *p, const float *g, float *m,
    float *v, float lr, float beta1, float beta2, float eps, float wd, long t)
{
	if (n == 0)
		return 0;
	adamw_kernel<<<kcuda_blocks(n), KC_THREADS, 0, KC_STREAM>>>(n, p, g, m, v,
	    lr, beta1, beta2, eps, wd, 1.0 - pow(beta1, (double)t),
	    1.0 - pow(beta2, (double)t));
	KC_LAUNCHED("adamw_kernel");
	return 0;
}

// ---- GEMM ----

// C = beta C over n elements (beta 0: C = 0 without reading it): the
// product with an empty inner dimension, which cuBLAS's leading-dimension
// rules do not cover.
template <typename E>
__global__ static void
scale_kernel(size_t n, float beta, E *C)
{
	size_t i;

	for (i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
	    i += (size_t)gridDim.x * blockDim.x)
		kcuda_st(C, i, beta == 0.0f ? 0.0f : beta * kcuda_ld(C, i));
}

template <typename E>
static int
gemm_scale(size_t n, float beta, E *C)
{
	scale_kernel<E><<<kcuda_blocks(n), KC_THREADS, 0, KC_STREAM>>>(n, beta, C);
	KC_LAUNCHED("scale_kernel");
	return 0;
}

// Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: cuBLAS
// gets B first, and a row-major matrix is its own transpose column-major,
// so each op flag carries over unchanged, with leading dimensions the row
// lengths.
extern "C" int
kcuda_gemm(struct kcuda *k, enum kern_dtype dt, int ta, int tb, size_t m,
    size_t n, size_t kk, float alpha, const void *A, const void *B, float beta,
    void *C)
{
	cudaDataType_t ty;
	cublasComputeType_t ct;

	switch (dt) {
	case KERN_F32:
		ty = CUDA_R_32F;
		ct = CUBLAS_COMPUTE_32F_PEDANTIC;  // no TF32, no reduced precision
		break;
	case KERN_BF16:
		ty = CUDA_R_16BF;
		ct = CUBLAS_COMPUTE_32F;
		break;
	default:
		return kcuda_fail(__func__, __FILE__, __LINE__,
		    "unknown element type");
	}
	KC_ARG(m <= INT32_MAX && n <= INT32_MAX && kk <= INT32_MAX,
	    "gemm: a dimension exceeds cuBLAS's int");
	if (m == 0 || n == 0)
		return 0;
	if (kk == 0)
		KC_DISPATCH(dt, gemm_scale<E>(m * n, beta, (E *)C));
	KC_BLAS(cublasGemmEx(k->blas, tb ? CUBLAS_OP_T : CUBLAS_OP_N,
	    ta ? CUBLAS_OP_T : CUBLAS_OP_N, (int)n, (int)m, (int)kk, &alpha,
	    B, ty, tb ? (int)kk : (int)n, A, ty, ta ? (int)m : (int)kk, &beta,
	    C, ty, (int)n, ct, CUBLAS_GEMM_DEFAULT));
	return 0;
}
