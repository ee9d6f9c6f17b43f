/*
 * ops: the operations one GPU runs for its part of a micro-batch, with
 * their FLOPs, bytes and time (the simulator's cost of work; skrull(7)).
 *
 * A CP rank's part of a micro-batch is its local sequences (whole) and its
 * 1/N shard of each sharded sequence.  Per transformer layer the forward
 * runs, in order, on the compute stream: attention norm, QKV projection,
 * RoPE, local attention, sharded attention, output projection, MLP norm,
 * gate and up projections, SwiGLU, down projection; the K/V all-gather of
 * the sharded sequences runs on the communication stream after RoPE and
 * before the sharded attention, overlapping the local attention (the paper's
 * Eq. 2).  Backward mirrors it (two GEMMs per projection: input and weight
 * gradients), the dK/dV reduce-scatter after the sharded attention's
 * backward overlapping the local attention's backward.  Recompute
 * (selective: the attention forward; full: the whole layer forward) runs
 * before a layer's backward.  The model head (final norm, logits,
 * cross-entropy) runs once after the last layer, forward and backward.
 *
 * Time of a compute op: max(FLOPs / (peak x eff), bytes / (hbm_bw x
 * mem_eff)) + launch (struct cluster_eff), eff by the GEMM's rows or, for
 * attention, per sequence by its key length: a varlen attention kernel
 * is one launch whose time is the sum over its sequences.
 *
 * Pure functions of the job; units: FLOPs, bytes, seconds, tokens.
 */
#ifndef SKRULL_OPS_H
#define SKRULL_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "job.h"

enum op_id {
	/* forward, per layer */
	OP_NORM_ATTN = 0, OP_QKV, OP_ROPE, OP_ATTN_LOCAL, OP_ATTN_SHARD,
	OP_OPROJ, OP_NORM_MLP, OP_GATE_UP, OP_SWIGLU, OP_DOWN,
	/* backward, per layer (run in this order) */
	OP_DOWN_B, OP_SWIGLU_B, OP_GATE_UP_B, OP_NORM_MLP_B, OP_OPROJ_B,
	OP_ATTN_SHARD_B, OP_ATTN_LOCAL_B, OP_ROPE_B, OP_QKV_B, OP_NORM_ATTN_B,
	/* model head, once per micro-batch */
	OP_HEAD, OP_HEAD_B,
	/* optimizer step, once per iteration */
	OP_OPTIMIZER,
	OP_NCOMPUTE
};

/* One CP rank's part of a micro-batch. */
struct ops_part {
	const uint32_t *local;  /* lengths of the sequences held whole, tokens */
	size_t nlocal;
	const uint32_t *shard;  /* full lengths of the sharded sequences */
	size_t nshard;
	int N;                  /* CP degree: this rank runs 1/N of each shard */
};

struct ops_cost {
	double flops[OP_NCOMPUTE];  /* FLOPs of one execution */
	double bytes[OP_NCOMPUTE];  /* HBM bytes moved */
	double sec[OP_NCOMPUTE];    /* seconds, 0 for an op with no work (it
	                               is then not launched) */
	double recompute_sec;       /* per layer, in backward (ops_mb_time
	                               says where) */
	double recompute_flops;
	double ag_bytes;            /* K/V all-gather per layer (nccl-tests
	                               size), 0 without sharded sequences */
	double ag_sec;              /* its time over the CP group */
	double rs_bytes, rs_sec;    /* dK/dV reduce-scatter per layer */
	double tokens;              /* tokens this rank holds: local + shards */
	double act_bytes;           /* activation bytes this part keeps until its
	                               backward (cost_act_bytes of tokens) */
};

/* Costs of one CP rank's part of a micro-batch (per layer where the op is
 * per layer).  OP_OPTIMIZER is filled for the iteration's step. */
void ops_part_cost(const struct job *j, const struct ops_part *part,
                   struct ops_cost *c);

/*
 * The sums over a CP rank's sequences that its costs depend on: the same
 * costs as ops_part_cost, built one sequence at a time (a planner adds and
 * compares without listing lengths).  Add the sequences in the order
 * ops_part_cost would (locals, then shards) for bit-identical sums.
 */
struct ops_load {
	double local_tokens;   /* tokens of the sequences held whole */
	double local_flops;    /* their attention FLOPs per layer forward */
	double local_math;     /* ... seconds, each at its own efficiency */
	double shard_queries;  /* this rank's share of the sharded: sum S / N */
	double shard_keys;     /* their full lengths: sum S, tokens */
	double shard_flops;    /* this rank's sharded attention FLOPs per layer */
	double shard_math;     /* ... seconds at the shards' efficiency */
	size_t nlocal, nshard;
	int N;                 /* CP degree, >= 1 */
	/* Collectives added group by group (ops_load_coll), per layer; while
	 * ncoll is 0, ops_load_cost times one all-gather of shard_keys over N
	 * ranks instead. */
	double coll_ag, coll_rs;  /* s */
	double coll_bytes;        /* all-gather bytes (nccl-tests size) */
	size_t ncoll;
};
void ops_load_init(struct ops_load *l, int N);
void ops_load_local(const struct job *j, struct ops_load *l, double S);
void ops_load_shard(const struct job *j, struct ops_load *l, double S);
/* A sequence of S tokens sharded over a group of d >= 2 ranks (not
 * necessarily N): this rank's S / d queries against its S keys. */
void ops_load_shard_d(const struct job *j, struct ops_load *l, double S,
                      int d);
/* One shard group's collectives this rank takes part in: `keys` tokens of
 * the group's sharded sequences over d ranks, spanning nodes or not
 * (ops_group_time). */
void ops_load_coll(const struct job *j, struct ops_load *l, double keys,
                   int d, int spans);
void ops_load_cost(const struct job *j, const struct ops_load *l,
                   struct ops_cost *c);
/* dst += src, every sum and count (the same N): a planner computes each
 * sequence's load once and adds it to candidate ranks. */
void ops_load_merge(struct ops_load *dst, const struct ops_load *src);

/* The CP group's K/V all-gather and dK/dV reduce-scatter per layer for
 * sharded sequences of `keys` tokens in all over N ranks, seconds. */
void ops_cp_time(const struct job *j, double keys, int N, double *ag,
                 double *rs);
/* The same over any group of d ranks: spans says whether its GPUs lie on
 * more than one node (the network's rows of the collective table, else
 * NVLink's).  ops_cp_time is the CP group's case. */
void ops_group_time(const struct job *j, double keys, int d, int spans,
                    double *ag, double *rs);
/* Their latency floors: the same collectives' times at 0 bytes, the part
 * of ops_group_time that does not move bytes over a link, seconds. */
void ops_group_floor(const struct job *j, int d, int spans, double *ag,
                     double *rs);
/* Whether GPUs g0 .. g0 + n - 1 (global numbering, CP innermost) lie on
 * more than one node of the job's cluster. */
int ops_spans_nodes(const struct job *j, int g0, int n);

/*
 * Seconds one CP rank spends on its part of a micro-batch, every layer
 * forward, recompute and backward plus the head, with the part of the CP
 * collectives its local attention does not hide (the paper's Eq. 2): the
 * simulator's time for the micro-batch alone on its group when every rank
 * reaches each collective together.  The optimizer and DP synchronisation
 * are not included.
 */
double ops_mb_time(const struct job *j, const struct ops_cost *c);

/*
 * Rates the planner and the lower bound read per job (ops_rate_init):
 * token_sec, the seconds per token of everything but attention where every
 * op is saturated (the slope of ops_mb_time); attn_passes, how many times
 * an attention forward's work one layer runs (forward, backward,
 * recompute); launch_sec, the launch cost of one micro-batch on a GPU
 * that holds tokens.  j must outlive r.
 */
struct ops_rate {
	const struct job *j;
	double token_sec;    /* s per token */
	double attn_passes;  /* forward-equivalents of attention work */
	double launch_sec;   /* s per micro-batch */
	double tail_sec;     /* s after the last backward op of an iteration:
	                        the first layer's DP gradient collective, the
	                        embedding and head gradients', the optimizer
	                        step and the parameter all-gathers (ZeRO >= 1) */
};
void ops_rate_init(struct ops_rate *r, const struct job *j);

/*
 * GPU-seconds of a sequence of S tokens spread over d ranks (d = 1: whole),
 * all ranks together, at saturation: token_sec x S plus its attention at
 * the efficiency of its S / d queries per rank.  No launches, no
 * communication, no half-efficiency offsets: a lower bound of what any
 * placement of it costs, and the planner's weight.
 */
double ops_seq_sec(const struct ops_rate *r, double S, int d);

/*
 * The best possible iteration at the job's layout (skrull(7), "bound"): no
 * plan of these samples can take less in the simulator.  Accumulate an
 * iteration's samples with ops_bound_add (b zeroed first), then
 *   bound = launch_sec + max(work / (dp cp), single) + tail_sec,
 * work the sum of each sample's ops_seq_sec over the fewest ranks its
 * memory allows (ceil(S / bucket): whole when it fits), single the largest
 * ops_seq_sec(S, G) / G, G = dp x cp (a plan may shard a sample over
 * every GPU of the job: skrull-plan(5) version 2).
 */
struct ops_bound {
	double work;    /* GPU-seconds, s */
	double single;  /* s */
};
void ops_bound_add(const struct ops_rate *r, struct ops_bound *b, double S);
double ops_bound_sec(const struct ops_rate *r, const struct ops_bound *b);

/* The saturating efficiency curve of every kernel kind: max x / (x + half)
 * for x > 0, else 0 (the calibration fits it, exec/calib.c). */
double ops_curve(double max, double half, double x);

/* Efficiency of a GEMM of `rows` tokens and of attention over a key length
 * (fractions of peak, from cluster_eff). */
double ops_gemm_eff(const struct cluster_eff *e, double rows);
double ops_attn_eff(const struct cluster_eff *e, double keys);

/* Data-parallel gradient synchronisation per layer under the job's ZeRO
 * stage (ZeRO paper, section 7.2.1: from stage 1 on, a reduce-scatter of
 * the layer's gradients and, after the step, an all-gather of its updated
 * parameters; stage 0, an all-reduce): bytes and seconds over the dp x cp
 * group. */
struct ops_dp {
	double grad_bytes, grad_sec;    /* per layer */
	double param_bytes, param_sec;  /* per layer, after the step; 0 if none */
	double head_grad_bytes, head_grad_sec;  /* embeddings and head */
	double grad_floor, param_floor; /* latency floors (the times at 0
	                                   bytes) of the gradient and head
	                                   gradient collectives, and of the
	                                   parameter all-gather, s */
	int spans;                      /* the dp x cp GPUs span nodes: the
	                                   network's rows, else NVLink's */
};
void ops_dp_cost(const struct job *j, struct ops_dp *d);

const char *ops_name(enum op_id op);

#endif
