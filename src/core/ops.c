/* ops: see ops.h and the section "Simulator cost of operations" of skrull(7). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cluster.h"
#include "cost.h"
#include "job.h"
#include "model.h"
#include "ops.h"

static const char *const names[OP_NCOMPUTE] = {
	"norm_attn", "qkv", "rope", "attn_local", "attn_shard",
	"oproj", "norm_mlp", "gate_up", "swiglu", "down",
	"down_b", "swiglu_b", "gate_up_b", "norm_mlp_b", "oproj_b",
	"attn_shard_b", "attn_local_b", "rope_b", "qkv_b", "norm_attn_b",
	"head", "head_b", "optimizer"
};

/*
 * FLOPs per element of the memory-bound element-wise kernels: recorded
 * for the totals, never their time, which their bytes set.
 *   RMSNorm: square, sum, scale by 1/rms, scale by the weight.
 *   RoPE: x cos + rotate(x) sin.
 *   SwiGLU: silu(g) = g / (1 + exp(-g)) (4) times u (1), per output.
 *   Cross-entropy: max, subtract, exp, sum, log per logit.
 *   AdamW: m (3), v (4), the two bias corrections (2), sqrt, + eps,
 *   divide (3), weight decay (2) and the update (2), per parameter.
 */
#define NORM_FLOPS 4
#define ROPE_FLOPS 3
#define SWIGLU_FLOPS 5
#define CE_FLOPS 5
#define ADAM_FLOPS 16
#define FP32 4  /* bytes */

/*
 * AdamW step bytes per parameter of this GPU's shard, read and written
 * once each: mixed precision reads the fp32 master weight, m and v (12)
 * and the bf16/fp16 gradient (2), writes master, m and v (12) and the
 * bf16/fp16 weight (2); fp32 reads weight, m, v, gradient (16) and
 * writes weight, m, v (12).  28 either way.
 */
#define ADAM_BYTES 28

/*
 * Backward against forward: a GEMM's input and weight gradients are two
 * GEMMs of the forward's size; FlashAttention-2's backward does 2.5 times
 * the forward's FLOPs (it recomputes P; Dao 2023, section 4 counts it so)
 * in three kernels (flash_bwd_dot_do_o, the main dq_dk_dv kernel and
 * convert_dq, flash-attn's flash_bwd_launch_template.h); element-wise
 * kernels move twice the bytes (the saved input and the incoming
 * gradient in, the gradient out).
 */
#define ATTN_BWD_FLOPS 2.5
#define ATTN_BWD_LAUNCHES 3

double
ops_curve(double max, double half, double x)
{
	return x > 0 ? max * x / (x + half) : 0;
}

double
ops_gemm_eff(const struct cluster_eff *e, double rows)
{
	return ops_curve(e->gemm_max, e->gemm_half, rows);
}

double
ops_attn_eff(const struct cluster_eff *e, double keys)
{
	return ops_curve(e->attn_max, e->attn_half, keys);
}

/* Seconds to stream bytes through HBM. */
static double
mem_time(const struct cluster *c, double bytes)
{
	return bytes / (c->gpu.hbm_bw * c->eff.mem_eff);
}

/* Seconds of flops at eff of peak; no FLOPs take none. */
static double
math_time(const struct cluster *c, double flops, double eff)
{
	return flops > 0 ? flops / (c->gpu.peak_flops * eff) : 0;
}

static void
set(struct ops_cost *c, enum op_id op, double flops, double bytes,
    double sec)
{
	c->flops[op] = flops;
	c->bytes[op] = bytes;
	c->sec[op] = sec;
}

/*
 * A linear layer of T tokens, in -> out features: 2 T in out FLOPs at the
 * GEMM efficiency of T rows; it reads its weight (in x out) and input
 * (T x in) and writes its output (T x out), e bytes each.  Backward: two
 * GEMMs of the same size, two launches.
 */
static void
gemm(const struct job *j, double T, double in, double out, enum op_id fwd,
    enum op_id bwd, struct ops_cost *c)
{
	const struct cluster *cl = &j->cluster;
	double e = cost_elem_bytes(j), flops, bytes, busy;

	if (!(T > 0))
		return;
	flops = 2 * T * in * out;
	bytes = e * (in * out + T * (in + out));
	busy = fmax(math_time(cl, flops, ops_gemm_eff(&cl->eff, T)),
	    mem_time(cl, bytes));
	set(c, fwd, flops, bytes, busy + cl->eff.launch);
	set(c, bwd, 2 * flops, 2 * bytes, 2 * (busy + cl->eff.launch));
}

/* A memory-bound element-wise kernel moving `bytes`; backward twice the
 * bytes and FLOPs, one launch each. */
static void
elementwise(const struct job *j, double flops, double bytes, enum op_id fwd,
    enum op_id bwd, struct ops_cost *c)
{
	const struct cluster *cl = &j->cluster;
	double busy;

	if (!(bytes > 0))
		return;
	busy = mem_time(cl, bytes);
	set(c, fwd, flops, bytes, busy + cl->eff.launch);
	set(c, bwd, 2 * flops, 2 * bytes, 2 * busy + cl->eff.launch);
}

/*
 * One varlen FlashAttention call over sequences whose queries attend to
 * keys: `math` is the sum over sequences of their FLOPs at their own
 * efficiency, bytes its HBM traffic (Q and O of the queries, K and V of
 * the keys, e bytes each, and an fp32 log-sum-exp per query and head).
 */
static void
attention(const struct job *j, double flops, double math, double queries,
    double keys, enum op_id fwd, enum op_id bwd, struct ops_cost *c)
{
	const struct cluster *cl = &j->cluster;
	const struct model *m = &j->model;
	double hq = (double)m->heads * m->head_dim;
	double hkv = (double)m->kv_heads * m->head_dim;
	double e = cost_elem_bytes(j), bytes;

	if (!(flops > 0))
		return;
	bytes = e * (2 * hq * queries + 2 * hkv * keys) +
	    FP32 * (double)m->heads * queries;
	set(c, fwd, flops, bytes, fmax(math, mem_time(cl, bytes)) +
	    cl->eff.launch);
	set(c, bwd, ATTN_BWD_FLOPS * flops, 2 * bytes,
	    fmax(ATTN_BWD_FLOPS * math, mem_time(cl, 2 * bytes)) +
	    ATTN_BWD_LAUNCHES * cl->eff.launch);
}

/*
 * The model head on T tokens, three kernels forward: the final RMSNorm,
 * the logits GEMM (h -> vocab) and the cross-entropy, which reads the
 * logits (e bytes) and writes their fp32 log-softmax (4 bytes) per logit.
 * Backward: twice each, the GEMM as two GEMMs: four launches.
 */
static void
head(const struct job *j, double T, struct ops_cost *c)
{
	const struct cluster *cl = &j->cluster;
	const struct model *m = &j->model;
	double h = m->hidden, V = m->vocab, e = cost_elem_bytes(j);
	double nf, nb, gf, gb, cf, cb, busy;

	if (!(T > 0))
		return;
	nf = NORM_FLOPS * T * h;
	nb = 2 * e * T * h;
	gf = 2 * T * h * V;
	gb = e * (h * V + T * (h + V));
	cf = CE_FLOPS * T * V;
	cb = (e + FP32) * T * V;
	busy = mem_time(cl, nb) +
	    fmax(math_time(cl, gf, ops_gemm_eff(&cl->eff, T)), mem_time(cl, gb)) +
	    mem_time(cl, cb);
	set(c, OP_HEAD, nf + gf + cf, nb + gb + cb, busy + 3 * cl->eff.launch);
	set(c, OP_HEAD_B, 2 * (nf + gf + cf), 2 * (nb + gb + cb),
	    2 * busy + 4 * cl->eff.launch);
}

/* AdamW over this GPU's parameters: its 1 / (dp cp) shard under ZeRO >= 1. */
static void
optimizer(const struct job *j, struct ops_cost *c)
{
	const struct cluster *cl = &j->cluster;
	double P = (double)model_params(&j->model);

	if (j->zero >= 1)
		P /= (double)j->dp * j->cp;
	set(c, OP_OPTIMIZER, ADAM_FLOPS * P, ADAM_BYTES * P,
	    mem_time(cl, ADAM_BYTES * P) + cl->eff.launch);
}

void
ops_load_init(struct ops_load *l, int N)
{
	memset(l, 0, sizeof *l);
	l->N = N > 0 ? N : 1;
}

/*
 * Local attention: each whole sequence of S tokens, causal, 2 h_q S (S + 1)
 * FLOPs (cost_layer_attn_fwd) at the efficiency of its length.
 */
void
ops_load_local(const struct job *j, struct ops_load *l, double S)
{
	double f = cost_layer_attn_fwd(&j->model, S);

	l->local_tokens += S;
	l->local_flops += f;
	l->local_math += math_time(&j->cluster, f,
	    ops_attn_eff(&j->cluster.eff, S));
	l->nlocal++;
}

/*
 * Sharded attention: this rank's S / N queries of each sharded sequence
 * (two chunks under causal load balancing, 1/N of the pairs) against the
 * gathered S keys.  Its efficiency is that of the shard's query count
 * q = S / N, not of the S keys: FlashAttention parallelises over query
 * blocks and heads, and a thin shard leaves most of the GPU idle however
 * long the keys are (the paper's Figure 1b, efficiency falling with the CP
 * degree).
 */
void
ops_load_shard(const struct job *j, struct ops_load *l, double S)
{
	ops_load_shard_d(j, l, S, l->N);
}

void
ops_load_shard_d(const struct job *j, struct ops_load *l, double S, int d)
{
	double q = S / d, f = cost_layer_attn_fwd(&j->model, S) / d;

	l->shard_queries += q;
	l->shard_keys += S;
	l->shard_flops += f;
	l->shard_math += math_time(&j->cluster, f,
	    ops_attn_eff(&j->cluster.eff, q));
	l->nshard++;
}

void
ops_load_coll(const struct job *j, struct ops_load *l, double keys, int d,
    int spans)
{
	double ag, rs;

	ops_group_time(j, keys, d, spans, &ag, &rs);
	l->coll_ag += ag;
	l->coll_rs += rs;
	l->coll_bytes += cost_cp_bytes(j, keys);
	l->ncoll++;
}

void
ops_load_merge(struct ops_load *dst, const struct ops_load *src)
{
	dst->local_tokens += src->local_tokens;
	dst->local_flops += src->local_flops;
	dst->local_math += src->local_math;
	dst->shard_queries += src->shard_queries;
	dst->shard_keys += src->shard_keys;
	dst->shard_flops += src->shard_flops;
	dst->shard_math += src->shard_math;
	dst->nlocal += src->nlocal;
	dst->nshard += src->nshard;
	dst->coll_ag += src->coll_ag;
	dst->coll_rs += src->coll_rs;
	dst->coll_bytes += src->coll_bytes;
	dst->ncoll += src->ncoll;
}

void
ops_load_cost(const struct job *j, const struct ops_load *l,
    struct ops_cost *c)
{
	const struct model *m = &j->model;
	double h = m->hidden, ffn = m->ffn, e = cost_elem_bytes(j);
	double hq = (double)m->heads * m->head_dim;
	double hkv = (double)m->kv_heads * m->head_dim;
	double T = l->local_tokens + l->shard_queries;
	int op;

	memset(c, 0, sizeof *c);
	attention(j, l->local_flops, l->local_math, l->local_tokens,
	    l->local_tokens, OP_ATTN_LOCAL, OP_ATTN_LOCAL_B, c);
	attention(j, l->shard_flops, l->shard_math, l->shard_queries,
	    l->shard_keys, OP_ATTN_SHARD, OP_ATTN_SHARD_B, c);

	elementwise(j, NORM_FLOPS * T * h, 2 * e * T * h, OP_NORM_ATTN,
	    OP_NORM_ATTN_B, c);
	gemm(j, T, h, hq + 2 * hkv, OP_QKV, OP_QKV_B, c);
	elementwise(j, ROPE_FLOPS * T * (hq + hkv), 2 * e * T * (hq + hkv),
	    OP_ROPE, OP_ROPE_B, c);
	gemm(j, T, hq, h, OP_OPROJ, OP_OPROJ_B, c);
	elementwise(j, NORM_FLOPS * T * h, 2 * e * T * h, OP_NORM_MLP,
	    OP_NORM_MLP_B, c);
	gemm(j, T, h, 2 * ffn, OP_GATE_UP, OP_GATE_UP_B, c);
	elementwise(j, SWIGLU_FLOPS * T * ffn, 3 * e * T * ffn, OP_SWIGLU,
	    OP_SWIGLU_B, c);
	gemm(j, T, ffn, h, OP_DOWN, OP_DOWN_B, c);
	head(j, T, c);
	optimizer(j, c);

	switch (j->recompute) {
	case RECOMPUTE_SELECTIVE:
		c->recompute_sec = c->sec[OP_ATTN_LOCAL] + c->sec[OP_ATTN_SHARD];
		c->recompute_flops = c->flops[OP_ATTN_LOCAL] +
		    c->flops[OP_ATTN_SHARD];
		break;
	case RECOMPUTE_FULL:
		for (op = OP_NORM_ATTN; op <= OP_DOWN; op++) {
			c->recompute_sec += c->sec[op];
			c->recompute_flops += c->flops[op];
		}
		break;
	case RECOMPUTE_NONE:
		break;
	}

	if (l->ncoll > 0) {
		c->ag_bytes = c->rs_bytes = l->coll_bytes;
		c->ag_sec = l->coll_ag;
		c->rs_sec = l->coll_rs;
	} else if (l->nshard > 0 && l->N > 1) {
		c->ag_bytes = cost_cp_bytes(j, l->shard_keys);
		c->rs_bytes = c->ag_bytes;
		ops_cp_time(j, l->shard_keys, l->N, &c->ag_sec, &c->rs_sec);
	}
	c->tokens = T;
	c->act_bytes = cost_act_bytes(j, T);
}

void
ops_cp_time(const struct job *j, double keys, int N, double *ag, double *rs)
{
	ops_group_time(j, keys, N, N > j->cluster.gpus_per_node, ag, rs);
}

void
ops_group_time(const struct job *j, double keys, int d, int spans,
    double *ag, double *rs)
{
	const struct cluster *cl = &j->cluster;
	double bytes = cost_cp_bytes(j, keys);

	*ag = cluster_coll_time(cl, COLL_ALLGATHER, bytes, d, spans);
	*rs = cluster_coll_time(cl, COLL_REDUCESCATTER, bytes, d, spans);
}

void
ops_group_floor(const struct job *j, int d, int spans, double *ag,
    double *rs)
{
	const struct cluster *cl = &j->cluster;

	*ag = cluster_coll_time(cl, COLL_ALLGATHER, 0, d, spans);
	*rs = cluster_coll_time(cl, COLL_REDUCESCATTER, 0, d, spans);
}

int
ops_spans_nodes(const struct job *j, int g0, int n)
{
	int per = j->cluster.gpus_per_node > 0 ? j->cluster.gpus_per_node : 1;

	return n > 0 && g0 / per != (g0 + n - 1) / per;
}

void
ops_part_cost(const struct job *j, const struct ops_part *p,
    struct ops_cost *c)
{
	struct ops_load l;
	size_t i;

	ops_load_init(&l, p->N);
	for (i = 0; i < p->nlocal; i++)
		ops_load_local(j, &l, p->local[i]);
	for (i = 0; i < p->nshard; i++)
		ops_load_shard(j, &l, p->shard[i]);
	ops_load_cost(j, &l, c);
}

/*
 * The simulator's program per layer (sim.h): the forward ops in order,
 * the K/V all-gather issued after RoPE overlapping the local attention
 * (the sharded attention waits for it), and in backward the dK/dV
 * reduce-scatter after the sharded attention's backward overlapping the
 * local attention's backward (RoPE's backward waits for it) and, under
 * selective recompute, the next layer's recompute, issued there (the
 * last layer's after the head; layer 0's reduce-scatter has none to
 * hide behind).  Alone on its CP group, with the collectives starting at
 * once, a rank spends per layer its ops' seconds plus the part of each
 * collective the work beside it does not hide.
 */
double
ops_mb_time(const struct job *j, const struct ops_cost *c)
{
	double L = j->model.layers, layer = c->recompute_sec, rs, shown;
	int op;

	for (op = OP_NORM_ATTN; op <= OP_NORM_ATTN_B; op++)
		layer += c->sec[op];
	layer += fmax(0, c->ag_sec - c->sec[OP_ATTN_LOCAL]);
	/* the reduce-scatter beyond the local attention's backward */
	rs = c->rs_sec - c->sec[OP_ATTN_LOCAL_B];
	if (j->recompute == RECOMPUTE_SELECTIVE)
		shown = fmax(0, rs) + (L - 1) * fmax(0, rs - c->recompute_sec);
	else
		shown = L * fmax(0, rs);
	return L * layer + shown + c->sec[OP_HEAD] + c->sec[OP_HEAD_B];
}

/*
 * The slope of ops_mb_time in tokens where every op is saturated: a load
 * of T tokens without attention is affine in T once T is far above every
 * GEMM's half-efficiency point and every weight read (max of two affine
 * functions, the steeper wins), so two such loads give its slope exactly
 * up to rounding.
 */
static double
token_sec(const struct job *j)
{
	const double t1 = 1073741824.0, t2 = 2 * t1;  /* 2^30, 2^31 tokens */
	struct ops_load l;
	struct ops_cost c;
	double y1, y2;

	ops_load_init(&l, 1);
	l.local_tokens = t1;
	ops_load_cost(j, &l, &c);
	y1 = ops_mb_time(j, &c);
	l.local_tokens = t2;
	ops_load_cost(j, &l, &c);
	y2 = ops_mb_time(j, &c);
	return (y2 - y1) / (t2 - t1);
}

/*
 * Launches of one micro-batch on a GPU that holds tokens: per layer
 * forward the nine ops (one attention kernel at least), backward two per
 * GEMM (4 GEMMs), one per element-wise kernel (4), ATTN_BWD_LAUNCHES for
 * the attention; recompute re-launches the attention (selective) or the
 * whole forward (full); the head three forward, four backward.
 */
static double
mb_launches(const struct job *j)
{
	double fwd = 9, bwd = 2 * 4 + 4 + ATTN_BWD_LAUNCHES, rec = 0;

	if (j->recompute == RECOMPUTE_SELECTIVE)
		rec = 1;
	else if (j->recompute == RECOMPUTE_FULL)
		rec = fwd;
	return j->model.layers * (fwd + bwd + rec) + 3 + 4;
}

/*
 * What follows the last backward op of an iteration on every GPU in the
 * simulator (sim.h): that layer's gradient collective, then the embedding
 * and head gradients' (both over all dp x cp GPUs, so after the slowest
 * GPU's backward), the optimizer step, then under ZeRO >= 1 one parameter
 * all-gather per layer, all in sequence.
 */
static double
tail_sec(const struct job *j)
{
	struct ops_load l;
	struct ops_cost c;
	struct ops_dp d;

	ops_dp_cost(j, &d);
	ops_load_init(&l, 1);
	ops_load_cost(j, &l, &c);
	return d.grad_sec + d.head_grad_sec + c.sec[OP_OPTIMIZER] +
	    j->model.layers * d.param_sec;
}

/*
 * Attention of one layer runs forward, backward (ATTN_BWD_FLOPS times the
 * forward's FLOPs) and, under recompute of either kind, forward again.
 */
void
ops_rate_init(struct ops_rate *r, const struct job *j)
{
	r->j = j;
	r->token_sec = token_sec(j);
	r->attn_passes = 1 + ATTN_BWD_FLOPS +
	    (j->recompute != RECOMPUTE_NONE ? 1 : 0);
	r->launch_sec = mb_launches(j) * j->cluster.eff.launch;
	r->tail_sec = tail_sec(j);
}

double
ops_seq_sec(const struct ops_rate *r, double S, int d)
{
	const struct cluster *cl = &r->j->cluster;
	double f = cost_layer_attn_fwd(&r->j->model, S);

	if (d < 1)
		d = 1;
	return r->token_sec * S + r->j->model.layers * r->attn_passes *
	    math_time(cl, f, ops_attn_eff(&cl->eff, S / d));
}

void
ops_bound_add(const struct ops_rate *r, struct ops_bound *b, double S)
{
	const struct job *j = r->j;
	int G = j->dp * j->cp;
	double d = ceil(S / j->bucket), t;

	if (d < 1)
		d = 1;
	if (d > G)
		d = G;
	b->work += ops_seq_sec(r, S, (int)d);
	/* ops_seq_sec(S, d) / d = (a S + f (1 + half d / S) / max) / d falls
	 * with d: a sample is fastest over every GPU of the job. */
	t = ops_seq_sec(r, S, G) / G;
	if (t > b->single)
		b->single = t;
}

double
ops_bound_sec(const struct ops_rate *r, const struct ops_bound *b)
{
	double G = (double)r->j->dp * r->j->cp;

	if (!(b->work > 0))
		return 0;
	return r->launch_sec + fmax(b->work / G, b->single) + r->tail_sec;
}

/*
 * Data-parallel synchronisation over all D = dp x cp GPUs (every one holds
 * a replica; ZeRO shards over all of them, cost.c), as the ZeRO paper
 * counts it (Rajbhandari et al. 2020, section 7.2.1): without ZeRO the
 * gradients are all-reduced; from stage 1 on each GPU updates only its
 * 1/D of the parameters, so the gradients are reduce-scattered and the
 * updated parameters all-gathered after the step, the same volume as one
 * all-reduce.  Stage 3 gathers the parameters before each use in forward
 * and backward instead; only the gather after the step is counted here.
 * Element bytes of the training precision for both.
 */
void
ops_dp_cost(const struct job *j, struct ops_dp *d)
{
	const struct cluster *cl = &j->cluster;
	const struct model *m = &j->model;
	double h = m->hidden, ffn = m->ffn, V = m->vocab;
	double hq = (double)m->heads * m->head_dim;
	double hkv = (double)m->kv_heads * m->head_dim;
	double e = cost_elem_bytes(j), layer, outside;
	enum coll_kind k = j->zero >= 1 ? COLL_REDUCESCATTER : COLL_ALLREDUCE;
	int D = j->dp * j->cp, spans = D > cl->gpus_per_node;

	memset(d, 0, sizeof *d);
	/* model_params' per-layer count: Q, K, V, O, SwiGLU, two norms. */
	layer = h * hq + 2 * h * hkv + hq * h + 3 * h * ffn + 2 * h +
	    (m->qkv_bias ? hq + 2 * hkv : 0);
	outside = V * h * (m->tied ? 1 : 2) + h;
	d->grad_bytes = e * layer;
	d->grad_sec = cluster_coll_time(cl, k, d->grad_bytes, D, spans);
	if (j->zero >= 1) {
		d->param_bytes = e * layer;
		d->param_sec = cluster_coll_time(cl, COLL_ALLGATHER,
		    d->param_bytes, D, spans);
	}
	d->head_grad_bytes = e * outside;
	d->head_grad_sec = cluster_coll_time(cl, k, d->head_grad_bytes, D,
	    spans);
	d->grad_floor = cluster_coll_time(cl, k, 0, D, spans);
	if (j->zero >= 1)
		d->param_floor = cluster_coll_time(cl, COLL_ALLGATHER, 0, D,
		    spans);
	d->spans = spans;
}

const char *
ops_name(enum op_id op)
{
	return (unsigned)op < OP_NCOMPUTE ? names[op] : "unknown";
}
