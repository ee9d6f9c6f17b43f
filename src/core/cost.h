/*
 * cost: the cost model, pure functions of the job.  Every formula is
 * written next to its function and in skrull(7).  Units: FLOPs (floating
 * point operations, a multiply-add counts 2), bytes, seconds, tokens.
 *
 * S is a sequence length in tokens (a double, so shards S/N are exact).
 */
#ifndef SKRULL_COST_H
#define SKRULL_COST_H

#include <stdint.h>

#include "job.h"

/* ---- FLOPs ---- */

/* The paper's per-layer forward estimate (arXiv 2505.19609, Appendix C.2, b = 1):
 * 20 h^2 S + 4 h h_kv S + 4 h S^2, with h_kv = kv_heads * head_dim. */
double cost_flops_paper(const struct model *m, double S);

/* Exact per-layer forward FLOPs for the model's real shapes:
 * Q, K, V, O projections, SwiGLU (3 matrices of h x ffn), and causal
 * attention (QK^T and PV over the causal half: 2 x 2 x S(S+1)/2 x h_q). */
double cost_layer_fwd(const struct model *m, double S);

/* Attention part of cost_layer_fwd alone (the S^2 term). */
double cost_layer_attn_fwd(const struct model *m, double S);

/* Vocabulary projection (logits) forward FLOPs: 2 S h vocab. */
double cost_logits_fwd(const struct model *m, double S);

enum cost_pass { COST_FWD = 0, COST_BWD, COST_RECOMPUTE };

/* Whole-model FLOPs of a sequence for one pass: layers x layer FLOPs
 * + logits; backward = 2 x forward; recompute = the forward work redone in
 * backward under job->recompute (none: 0; selective: attention; full:
 * the whole layer forward). */
double cost_seq_flops(const struct job *j, double S, enum cost_pass p);

/* Forward + backward + recompute of a whole sequence. */
double cost_seq_flops_total(const struct job *j, double S);

/* Per-rank FLOPs of a sequence sharded over N ranks with causal load
 * balancing (2N chunks, chunk i and 2N-1-i on rank i): exactly 1/N of the
 * whole sequence's FLOPs. */
double cost_shard_flops_total(const struct job *j, double S, int N);

/* ---- memory (per GPU) ---- */

struct cost_mem {
	double weights;    /* bytes: parameters in the training precision */
	double grads;      /* bytes: gradients (sharded under ZeRO >= 2) */
	double optimizer;  /* bytes: fp32 master weights + Adam m and v
	                      (sharded under ZeRO >= 1) */
	double statics;    /* weights + grads + optimizer */
	double alpha;      /* activation bytes per token (all layers + logits
	                      and loss) under job->recompute */
	double beta;       /* activation bytes independent of tokens */
	double free;       /* hbm - reserve - statics - beta: for activations */
};

/* Static and activation memory of the job's model on one GPU. */
void cost_memory(const struct job *j, struct cost_mem *m);

/* BucketSize C derived from memory: floor(free / alpha) tokens, or 0 when
 * nothing fits (the caller reports it). */
uint32_t cost_bucket(const struct job *j);

/* Activation bytes of a rank holding `tokens` tokens: alpha tokens + beta. */
double cost_act_bytes(const struct job *j, double tokens);

/* ---- context-parallel communication ---- */

/* Bytes all-gathered per layer forward for a sequence sharded N ways:
 * K and V of the whole sequence, 2 x S x h_kv x element bytes (the
 * nccl-tests size of the all-gather).  The backward reduce-scatter of dK and
 * dV has the same size. */
double cost_cp_bytes(const struct job *j, double S);

/* Bytes per element of the training precision (2 for bf16/fp16, 4 fp32). */
int cost_elem_bytes(const struct job *j);

#endif
