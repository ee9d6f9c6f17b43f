/*
 * kern_cpu: the CPU reference kernels of the executor, fp32, behind plain C
 * (the CUDA kernels of kern.h implement the same operations later).  Every
 * kernel is a pure function of its arguments: row-major arrays, sizes in
 * elements, no allocation inside (callers size workspaces once), no
 * printing; they cannot fail on valid arguments and return nothing.
 *
 * Packed micro-batches: T tokens of several samples laid end to end;
 * cu_seqlens[0..nseq] holds the offsets (cu_seqlens[0] = 0,
 * cu_seqlens[nseq] = T); attention never crosses samples.
 */
#ifndef SKRULL_KERN_CPU_H
#define SKRULL_KERN_CPU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

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

#ifdef __cplusplus
}
#endif

#endif
