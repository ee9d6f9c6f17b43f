/*
 * backend: the compute operations of the executor, one versioned ops table
 * per device kind: the CPU one (backend_cpu.c, the kernels of
 * kernels/kern.h's kcpu_*) and the CUDA one (backend_cuda.c, its kcuda_*).
 * The executor and the model (xformer.c) touch float buffers only through
 * this table.
 *
 * Memory: float buffers come from alloc and live on the backend's device
 * (host memory for "cpu"); index arrays (token ids, targets, positions,
 * sample offsets, row maps: int32) are always host memory, which a device
 * backend copies in itself.  Sizes and counts are in elements unless named
 * bytes.  The ops cannot fail on valid arguments and return nothing, except
 * alloc (NULL when out of memory) and xent (the loss sum).  A device
 * backend runs them asynchronously and records the first failure, which
 * sync returns.
 *
 * Threads: a backend's state is per host thread (a CUDA backend's stream
 * and cuBLAS handle): a thread calls open before its first op and close
 * after its last; buffers may be shared between threads of one process
 * (ranks emulated on one device) once the writer has called sync.
 *
 * The communicator (comm.h) works on the same buffers: a backend and a
 * communicator must agree on where memory lives (cpu with MPI; CUDA with
 * NCCL).
 */
#ifndef SKRULL_BACKEND_H
#define SKRULL_BACKEND_H

#include <stddef.h>
#include <stdint.h>

/* The ops table layout this header describes; another is refused
 * (backend_check). */
#define BACKEND_OPS_VERSION 2

struct backend_ops {
	int version;       /* BACKEND_OPS_VERSION */
	const char *name;  /* "cpu", "cuda" */

	/* The devices this process can use (the CPU: 1; CUDA: the visible
	 * GPUs, 0 when there is none or no driver, which is not an error);
	 * 0 or an SK_ERR_* code with a message. */
	int (*devices)(int *n);
	/* Bind the calling thread to device number device (0-based among the
	 * backend's devices; the CPU has one, 0) and make its state; 0 or an
	 * SK_ERR_* code with a message.  close releases it (NULL-safe: a
	 * thread that never opened may call it). */
	int (*open)(int device);
	void (*close)(void);
	/* Wait until every op this thread queued has finished; 0, or the code
	 * of the first op that failed since the last sync (its message names
	 * the op and the reason). */
	int (*sync)(void);

	/* n floats of device memory (contents undefined), NULL when out of
	 * memory; free(NULL) does nothing. */
	float *(*alloc)(size_t n);
	void (*free)(float *p);
	/* x[0..n) = 0; dst[0..n) = src[0..n) (no overlap); y += x. */
	void (*zero)(float *x, size_t n);
	void (*copy)(float *dst, const float *src, size_t n);
	void (*add)(size_t n, const float *x, float *y);
	/* Host memory to device memory and back, n floats. */
	void (*upload)(float *dev, const float *host, size_t n);
	void (*download)(float *host, const float *dev, size_t n);
	/* Rows of width w: dst[i] = src[idx[i]] (gather) for i < n;
	 * dst[idx[i]] = src[i] (scatter; idx distinct). */
	void (*gather_rows)(size_t n, size_t w, const int32_t *idx,
	    const float *src, float *dst);
	void (*scatter_rows)(size_t n, size_t w, const int32_t *idx,
	    const float *src, float *dst);
	/* Embedding: x[t] = table[tok[t]] (rows of width w); backward
	 * dtable[tok[t]] += dx[t]. */
	void (*embed_fwd)(size_t T, size_t w, const int32_t *tok,
	    const float *table, float *x);
	void (*embed_bwd)(size_t T, size_t w, const int32_t *tok,
	    const float *dx, float *dtable);

	/* The kernels, with kern.h's kcpu_* arguments and meaning (empty sizes
	 * allowed everywhere). */
	void (*gemm)(int ta, int tb, size_t m, size_t n, size_t k, float alpha,
	    const float *A, const float *B, float beta, float *C);
	void (*rmsnorm_fwd)(size_t T, size_t d, const float *x, const float *w,
	    float eps, float *y, float *rstd);
	void (*rmsnorm_bwd)(size_t T, size_t d, const float *x, const float *w,
	    const float *rstd, const float *dy, float *dx, float *dw);
	void (*rope_fwd)(size_t T, size_t nh, size_t hd, const int32_t *pos,
	    double theta, float *x);
	void (*rope_bwd)(size_t T, size_t nh, size_t hd, const int32_t *pos,
	    double theta, float *dx);
	void (*swiglu_fwd)(size_t n, const float *g, const float *u, float *h);
	void (*swiglu_bwd)(size_t n, const float *g, const float *u,
	    const float *dh, float *dg, float *du);
	void (*attn_fwd)(size_t nseq, const int32_t *cu_q, const int32_t *cu_k,
	    const int32_t *qpos, size_t nh, size_t nkv, size_t hd,
	    const float *q, const float *k, const float *v, float *o,
	    float *lse);
	void (*attn_bwd)(size_t nseq, const int32_t *cu_q, const int32_t *cu_k,
	    const int32_t *qpos, size_t nh, size_t nkv, size_t hd,
	    const float *q, const float *k, const float *v, const float *o,
	    const float *lse, const float *dout, float *dq, float *dk,
	    float *dv);
	double (*xent)(size_t T, size_t V, const float *logits,
	    const int32_t *target, float scale, float *dlogits);
	void (*adamw)(size_t n, float *p, const float *g, float *m, float *v,
	    float lr, float beta1, float beta2, float eps, float wd, long t);
};

/* SK_ERR_ARG when b is NULL, SK_ERR_UNSUPPORTED unless its version is
 * BACKEND_OPS_VERSION (the message names the backend). */
int backend_check(const struct backend_ops *b);

/* The CPU reference backend (kernels/kern.h). */
extern const struct backend_ops backend_cpu_ops;

/* The backend called name ("cpu"; "cuda" in CUDA builds) into *out;
 * SK_ERR_ARG naming the backends this build has otherwise (backend.c). */
int backend_find(const char *name, const struct backend_ops **out);
/*
 * The CUDA backend (backend_cuda.c, built only with HAVE_CUDA, over the
 * kcuda_* launchers of kernels/kern.h): device is a CUDA device number;
 * each thread's ops run on its per-thread default stream
 * (cudaStreamPerThread), which the NCCL communicator orders its traffic
 * against.  Nested open calls on one device are counted (close releases
 * at the last).  Storage is fp32, so results match "cpu" to rounding.
 *
 * bf16: the kernels also run on bf16 activations (KERN_BF16; fp32
 * statistics, accumulators, weights' master copy), used by calibration
 * and benchmarks, but this table is typed float *.  A bf16 backend needs
 * a table whose activation buffers are untyped (void *) with an element
 * size, alloc in elements of that size, upload / download converting
 * from and to fp32 host data, and the communicator's counts and dtype
 * (ncclBfloat16) following the buffers; weights, gradients and AdamW
 * moments stay fp32, so the executor needs a cast op between the two.
 */
extern const struct backend_ops backend_cuda_ops;

#endif
