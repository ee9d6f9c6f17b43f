/*
 * kern: the math kernels, behind one plain-C header that the CPU reference
 * (.c) and the CUDA implementation (.cu, extern "C") both implement.
 *
 * This layer sits below everything else and includes nothing of skrull's:
 * functions return 0 on success and a nonzero code on failure, and
 * kern_cuda_error() tells the reason of the last CUDA failure.
 *
 * For now it holds the CUDA probe that proves the toolchain end to end (a
 * kernel compiled by nvcc for sm_90, linked into the C program, launched
 * when a GPU is present); the training kernels arrive with the executor.
 */
#ifndef SKRULL_KERN_H
#define SKRULL_KERN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Number of CUDA devices visible to this process (0 when there is none or
 * no driver: that is not an error).  Returns 0. */
int kern_cuda_device_count(int *count);

/* CUDA runtime version as reported by cudaRuntimeGetVersion (e.g. 13000). */
int kern_cuda_runtime_version(int *version);

/* y[i] = a * x[i] + y[i] for i < n, computed on device 0; x and y are host
 * arrays of n floats.  Returns nonzero (see kern_cuda_error) on any CUDA
 * failure, including the absence of a device. */
int kern_cuda_axpy(float a, const float *x, float *y, size_t n);

/* Message of the last failed kern_cuda_* call on this thread ("" if none). */
const char *kern_cuda_error(void);

/* Element type of activation buffers on the device. */
enum kern_dtype { KERN_F32 = 0, KERN_BF16 = 1 };

/* A host thread's handle on one device: cuBLAS handle bound to the
 * thread's compute stream, a small device scratch.  The compute stream is
 * the per-thread default stream (cudaStreamPerThread) so that other modules
 * (the NCCL communicator) can order work against it without a handle. */
struct kcuda;

/* All kcuda_* functions return 0 on success, nonzero on failure with the
 * reason in kern_cuda_error() (the failed call, its file:line, the CUDA /
 * cuBLAS error string).  Launchers are asynchronous on the compute stream;
 * errors of a kernel that already ran show up at kcuda_sync. */
int kcuda_open(int device, struct kcuda **out);   /* cudaSetDevice + cuBLAS handle */
void kcuda_close(struct kcuda *k);
int kcuda_sync(struct kcuda *k);                  /* wait for the compute stream */

/* Device memory, bytes. */
int kcuda_alloc(struct kcuda *k, size_t bytes, void **p);
void kcuda_free(struct kcuda *k, void *p);
int kcuda_memset0(struct kcuda *k, void *p, size_t bytes);
int kcuda_copy(struct kcuda *k, void *dst, const void *src, size_t bytes);  /* device to device, async */
int kcuda_upload(struct kcuda *k, void *dev, const void *host, size_t bytes);   /* returns when host may be reused */
int kcuda_download(struct kcuda *k, void *host, const void *dev, size_t bytes); /* synchronous */

/* Elementwise and row ops, fp32 buffers (the executor's storage). */
int kcuda_add(struct kcuda *k, size_t n, const float *x, float *y);            /* y += x */
int kcuda_gather_rows(struct kcuda *k, size_t n, size_t w, const int32_t *idx,
    const float *src, float *dst);                                              /* idx on device */
int kcuda_scatter_rows(struct kcuda *k, size_t n, size_t w, const int32_t *idx,
    const float *src, float *dst);
int kcuda_embed_fwd(struct kcuda *k, size_t T, size_t w, const int32_t *tok,
    const float *table, float *x);
int kcuda_embed_bwd(struct kcuda *k, size_t T, size_t w, const int32_t *tok,
    const float *dx, float *dtable);                                            /* accumulates */

/* The model kernels: same arguments and meaning as the kcpu_* function of the
 * same name, plus the handle and the element type dt of the activation
 * buffers (void *: float or bf16 per dt).  Statistics and accumulators are
 * fp32 whatever dt is: rstd, lse, dw (rmsnorm_bwd), the loss.  All pointers
 * are device memory, index arrays (pos, cu_q, cu_k, qpos, target) included.
 * bf16 storage, fp32 accumulation everywhere. */
int kcuda_gemm(struct kcuda *k, enum kern_dtype dt, int ta, int tb, size_t m,
    size_t n, size_t kk, float alpha, const void *A, const void *B, float beta,
    void *C);                    /* row-major like kcpu_gemm; cuBLAS, fp32 compute, no TF32 for KERN_F32 */
int kcuda_rmsnorm_fwd(struct kcuda *k, enum kern_dtype dt, size_t T, size_t d,
    const void *x, const float *w, float eps, void *y, float *rstd);
int kcuda_rmsnorm_bwd(struct kcuda *k, enum kern_dtype dt, size_t T, size_t d,
    const void *x, const float *w, const float *rstd, const void *dy, void *dx,
    float *dw);
int kcuda_rope_fwd(struct kcuda *k, enum kern_dtype dt, size_t T, size_t nh,
    size_t hd, const int32_t *pos, double theta, void *x);
int kcuda_rope_bwd(struct kcuda *k, enum kern_dtype dt, size_t T, size_t nh,
    size_t hd, const int32_t *pos, double theta, void *dx);
int kcuda_swiglu_fwd(struct kcuda *k, enum kern_dtype dt, size_t n,
    const void *g, const void *u, void *h);
int kcuda_swiglu_bwd(struct kcuda *k, enum kern_dtype dt, size_t n,
    const void *g, const void *u, const void *dh, void *dg, void *du);
/* max_q, max_k: the largest query / key count of one sequence (host values,
 * for the launch grid; the caller knows them from its host copy of cu_q, cu_k). */
int kcuda_attn_fwd(struct kcuda *k, enum kern_dtype dt, size_t nseq,
    const int32_t *cu_q, const int32_t *cu_k, const int32_t *qpos,
    size_t max_q, size_t max_k, size_t nh, size_t nkv, size_t hd,
    const void *q, const void *kk, const void *v, void *o, float *lse);
int kcuda_attn_bwd(struct kcuda *k, enum kern_dtype dt, size_t nseq,
    const int32_t *cu_q, const int32_t *cu_k, const int32_t *qpos,
    size_t max_q, size_t max_k, size_t nh, size_t nkv, size_t hd,
    const void *q, const void *kk, const void *v, const void *o,
    const float *lse, const void *dout, void *dq, void *dk, void *dv);
    /* dq overwritten; dk, dv accumulated (added into), as kcpu_attn_bwd */
int kcuda_xent(struct kcuda *k, enum kern_dtype dt, size_t T, size_t V,
    const void *logits, const int32_t *target, float scale, void *dlogits,
    double *loss);               /* loss: host pointer, the sum (waits for it) */
int kcuda_adamw(struct kcuda *k, size_t n, float *p, const float *g, float *m,
    float *v, float lr, float beta1, float beta2, float eps, float wd, long t);

#ifdef __cplusplus
}
#endif

#endif
