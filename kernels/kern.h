/*
 * kern: the math kernels, behind one plain-C header: the CPU reference
 * (kern_cpu.c, fp32, kcpu_*) and the CUDA kernels (kcuda.cu, kcuda_attn.cu,
 * extern "C", kcuda_*) implement the same operations; the CUDA probe
 * (probe.cu, kcuda_*) proves the toolchain end to end.
 *
 * This layer sits below everything else and includes nothing of skrull's.
 *
 * The CPU reference kernels: every kernel is a pure function of its
 * arguments: row-major arrays, sizes in elements, no allocation inside
 * (callers size workspaces once), no printing; they cannot fail on valid
 * arguments and return nothing.
 *
 * The CUDA functions return 0 on success and a nonzero code on failure;
 * kcuda_error() tells the reason of the last CUDA failure of the
 * calling thread.
 *
 * Packed micro-batches: T tokens of several samples laid end to end;
 * cu_seqlens[0..nseq] holds the offsets (cu_seqlens[0] = 0,
 * cu_seqlens[nseq] = T); attention never crosses samples.
 */
#ifndef SKRULL_KERN_H
#define SKRULL_KERN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The CPU reference kernels (kern_cpu.c), fp32. */

/* C[m x n] = alpha op(A) op(B) + beta C (op: transpose when ta/tb), through
 * GSL's CBLAS (gsl_blas_sgemm).  With beta = 0, C is not read (it may hold
 * anything, NaN included). */
void kcpu_gemm(int ta, int tb, size_t m, size_t n, size_t k, float alpha,
               const float *A, const float *B, float beta, float *C);

/* RMSNorm over rows of width d: y = x / rms(x) * w, rms = sqrt(mean(x^2) +
 * eps); rstd[t] = 1 / rms (saved for backward). */
void kcpu_rmsnorm_fwd(size_t T, size_t d, const float *x, const float *w,
                      float eps, float *y, float *rstd);
/* dx (overwritten), dw (accumulated). */
void kcpu_rmsnorm_bwd(size_t T, size_t d, const float *x, const float *w,
                      const float *rstd, const float *dy, float *dx, float *dw);

/* Rotary embedding in place on T rows of nh heads of width hd (even),
 * position of token t = pos[t] (its index in its sample), base theta
 * (10000 for Llama-2 style; 1e6 for Qwen2.5), rotate-half convention (as
 * Hugging Face's Llama/Qwen).  bwd applies the inverse rotation to dY. */
void kcpu_rope_fwd(size_t T, size_t nh, size_t hd, const int32_t *pos,
                   double theta, float *x);
void kcpu_rope_bwd(size_t T, size_t nh, size_t hd, const int32_t *pos,
                   double theta, float *dx);

/* SwiGLU: h = silu(g) * u over n elements; bwd gives dg, du (overwritten). */
void kcpu_swiglu_fwd(size_t n, const float *g, const float *u, float *h);
void kcpu_swiglu_bwd(size_t n, const float *g, const float *u, const float *dh,
                     float *dg, float *du);

/*
 * Causal attention with grouped-query heads over packed samples.
 * Queries q[Tq x nh x hd] of samples given by cu_q (nseq + 1 offsets);
 * keys and values k, v [Tk x nkv x hd] with cu_k; query j of sample s sits
 * at absolute position qpos[j] (within its sample) and attends to keys at
 * positions 0..qpos[j] of the same sample (key i of sample s is at position
 * i - cu_k[s]).  This covers a whole local sample (qpos = 0..S-1) and a CP
 * shard's queries against gathered keys (qpos = the shard's positions).
 * Head h uses kv head h / (nh / nkv).  Scale 1/sqrt(hd).  o[Tq x nh x hd];
 * lse[Tq x nh] the log-sum-exp of the scaled scores (for backward and for
 * merging partial results).  Online softmax over key blocks: memory linear
 * in length.  Outputs (o, lse; dq, dk, dv) do not overlap the inputs.
 */
void kcpu_attn_fwd(size_t nseq, const int32_t *cu_q, const int32_t *cu_k,
                   const int32_t *qpos, size_t nh, size_t nkv, size_t hd,
                   const float *q, const float *k, const float *v,
                   float *o, float *lse);
/* dq (overwritten), dk and dv (accumulated: shards add into gathered
 * buffers), from o, lse and do. */
void kcpu_attn_bwd(size_t nseq, const int32_t *cu_q, const int32_t *cu_k,
                   const int32_t *qpos, size_t nh, size_t nkv, size_t hd,
                   const float *q, const float *k, const float *v,
                   const float *o, const float *lse, const float *dout,
                   float *dq, float *dk, float *dv);

/* Cross-entropy of logits[T x V] against target[t] (-1: ignored); returns
 * the sum of losses; dlogits = (softmax - onehot) * scale (scale = 1 / the
 * number of tokens the loss is averaged over, globally), rows of ignored
 * tokens zero.  dlogits may be logits (in place: saves a T x V buffer). */
double kcpu_xent(size_t T, size_t V, const float *logits, const int32_t *target,
                 float scale, float *dlogits);

/* AdamW step t (1-based) on n parameters: m, v moments; decoupled weight
 * decay wd (Loshchilov & Hutter 2019). */
void kcpu_adamw(size_t n, float *p, const float *g, float *m, float *v,
                float lr, float beta1, float beta2, float eps, float wd,
                long t);

/* The CUDA toolchain probe (probe.cu). */

/* Number of CUDA devices visible to this process (0 when there is none or
 * no driver: that is not an error).  Returns 0. */
int kcuda_device_count(int *count);

/* CUDA runtime version as reported by cudaRuntimeGetVersion (e.g. 13000). */
int kcuda_runtime_version(int *version);

/* y[i] = a * x[i] + y[i] for i < n, computed on device 0; x and y are host
 * arrays of n floats.  Returns nonzero (see kcuda_error) on any CUDA
 * failure, including the absence of a device. */
int kcuda_axpy(float a, const float *x, float *y, size_t n);

/* Message of the last failed kcuda_* or kcuda_* call on this thread
 * ("" if none). */
const char *kcuda_error(void);

/*
 * The CUDA kernels (kcuda.cu, kcuda_attn.cu).  All pointers are device
 * memory unless said otherwise, index arrays (idx, tok, pos, cu_q, cu_k,
 * qpos, target) included; sizes are in elements unless they say bytes.
 * Launchers are asynchronous on the compute stream: errors of a kernel that
 * already ran show up at kcuda_sync (or at the next synchronous call).
 * Index values (idx, tok, pos, cu_q, cu_k) must be in range: the device
 * does not check them.  The calling thread's current device is the one
 * kcuda_open set.
 */

/* Element type of activation buffers on the device. */
enum kern_dtype { KERN_F32 = 0, KERN_BF16 = 1 };

/* A host thread's handle on one device: cuBLAS handle bound to the
 * thread's compute stream, a small device scratch.  The compute stream is
 * the per-thread default stream (cudaStreamPerThread) so that other modules
 * (the NCCL communicator) can order work against it without a handle. */
struct kcuda;

/* All kcuda_* functions return 0 on success, nonzero on failure with the
 * reason in kcuda_error() (the failed call, its file:line, the CUDA /
 * cuBLAS error string). */
int kcuda_open(int device, struct kcuda **out);   /* cudaSetDevice + cuBLAS handle */
void kcuda_close(struct kcuda *k);                /* NULL is a no-op */
int kcuda_sync(struct kcuda *k);                  /* wait for the compute stream */

/* Device memory, bytes. */
int kcuda_alloc(struct kcuda *k, size_t bytes, void **p);
void kcuda_free(struct kcuda *k, void *p);        /* NULL is a no-op */
int kcuda_memset0(struct kcuda *k, void *p, size_t bytes);
int kcuda_copy(struct kcuda *k, void *dst, const void *src, size_t bytes);  /* device to device, async */
int kcuda_upload(struct kcuda *k, void *dev, const void *host, size_t bytes);   /* returns when host may be reused */
int kcuda_download(struct kcuda *k, void *host, const void *dev, size_t bytes); /* synchronous */

/* Elementwise and row ops, fp32 buffers (the executor's storage). */
int kcuda_add(struct kcuda *k, size_t n, const float *x, float *y);            /* y += x */
/* dst[r * w + c] = src[idx[r] * w + c] for r < n, c < w (idx on device). */
int kcuda_gather_rows(struct kcuda *k, size_t n, size_t w, const int32_t *idx,
    const float *src, float *dst);
/* dst[idx[r] * w + c] = src[r * w + c]; the idx[r] must be distinct. */
int kcuda_scatter_rows(struct kcuda *k, size_t n, size_t w, const int32_t *idx,
    const float *src, float *dst);
/* x[t * w + c] = table[tok[t] * w + c] for t < T. */
int kcuda_embed_fwd(struct kcuda *k, size_t T, size_t w, const int32_t *tok,
    const float *table, float *x);
/* dtable[tok[t] * w + c] += dx[t * w + c] (accumulates).  Through atomicAdd:
 * rows of a repeated token add in an unspecified order, so the result is
 * not bitwise deterministic (fp32 rounding differs between runs). */
int kcuda_embed_bwd(struct kcuda *k, size_t T, size_t w, const int32_t *tok,
    const float *dx, float *dtable);

/* The model kernels: same arguments and meaning as the kcpu_* function of the
 * same name, plus the handle and the element type dt of the activation
 * buffers (void *: float or bf16 per dt).  Statistics and accumulators are
 * fp32 whatever dt is: rstd, lse, dw (rmsnorm_bwd), the loss.  All pointers
 * are device memory, index arrays (pos, cu_q, cu_k, qpos, target) included.
 * bf16 storage, fp32 accumulation everywhere. */
/* Row-major like kcpu_gemm; cuBLAS (cublasGemmEx), fp32 compute, no TF32
 * for KERN_F32 (CUBLAS_COMPUTE_32F_PEDANTIC); A, B, C of type dt. */
int kcuda_gemm(struct kcuda *k, enum kern_dtype dt, int ta, int tb, size_t m,
    size_t n, size_t kk, float alpha, const void *A, const void *B, float beta,
    void *C);
int kcuda_rmsnorm_fwd(struct kcuda *k, enum kern_dtype dt, size_t T, size_t d,
    const void *x, const float *w, float eps, void *y, float *rstd);
/* dx overwritten, dw accumulated (deterministic: fixed-order sums, no
 * atomics). */
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
/*
 * Attention as kcpu_attn_fwd / kcpu_attn_bwd (FlashAttention-2 tiling,
 * deterministic backward: no atomics).  max_q, max_k: the largest query /
 * key count of one sequence (host values, for the launch grid; the caller
 * knows them from its host copy of cu_q, cu_k).  hd must be even and at
 * most 128 (nonzero return otherwise); nh a multiple of nkv.  A query
 * whose visible keys lie past its sample's keys sees only those that
 * exist; one that sees none gets o = 0 and lse = -inf (and contributes no
 * gradient), where the CPU reference reads out of bounds.
 */
int kcuda_attn_fwd(struct kcuda *k, enum kern_dtype dt, size_t nseq,
    const int32_t *cu_q, const int32_t *cu_k, const int32_t *qpos,
    size_t max_q, size_t max_k, size_t nh, size_t nkv, size_t hd,
    const void *q, const void *kk, const void *v, void *o, float *lse);
/* dq overwritten; dk, dv accumulated (added into), as kcpu_attn_bwd. */
int kcuda_attn_bwd(struct kcuda *k, enum kern_dtype dt, size_t nseq,
    const int32_t *cu_q, const int32_t *cu_k, const int32_t *qpos,
    size_t max_q, size_t max_k, size_t nh, size_t nkv, size_t hd,
    const void *q, const void *kk, const void *v, const void *o,
    const float *lse, const void *dout, void *dq, void *dk, void *dv);
/* loss: host pointer, the sum over rows (waits for it).  dlogits may be
 * logits, as for kcpu_xent.  A target outside [0, V) counts as -1
 * (ignored).  Uses the handle's scratch (T + 1 doubles). */
int kcuda_xent(struct kcuda *k, enum kern_dtype dt, size_t T, size_t V,
    const void *logits, const int32_t *target, float scale, void *dlogits,
    double *loss);
/* fp32 master weights, gradients and moments. */
int kcuda_adamw(struct kcuda *k, size_t n, float *p, const float *g, float *m,
    float *v, float lr, float beta1, float beta2, float eps, float wd, long t);

#ifdef __cplusplus
}
#endif

#endif
