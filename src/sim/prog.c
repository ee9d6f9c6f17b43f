/*
 * prog: building each GPU's program from the plan, see sim_int.h.
 *
 * ---- Programs ----
 *
 * GPU g = d x cp + r runs the micro-batches covering DP rank d in
 * plan_rank_mbs order: the spanning ones (in order of listing DP rank and
 * position), then d's own.  In a micro-batch of DP ranks a .. a + span - 1
 * (W = span x cp ranks) it is rank q = (d - a) cp + r; its part is the
 * samples placed whole on q and its 1/size of each shard group's samples
 * whose group holds q, costed as ops_part_cost would (ops_load_local, then
 * ops_load_shard_d, in plan order): the activations and the attention of
 * S / size queries per shard.  Each of its three streams (compute;
 * communication, the shard groups' collectives; DP, the data-parallel
 * collectives) walks one program, laid out on a common axis of program
 * positions (keys) so that a dependency between two streams is one
 * integer comparison.  A micro-batch spans T = (FW + BW) L + 3 keys:
 *
 *   forward, layer l = 0..L-1, keys FW l + slot:
 *     0 norm_attn  1 qkv  2 rope  3 [all-gathers]  4 attn_local
 *     5 attn_shard (waits for 3)  6 oproj  7 norm_mlp  8 gate_up
 *     9 swiglu  10 down  11 (memory: one layer's activations allocated)
 *   head, keys FW L + 0, 1, 2: head, head_b, recompute of layer L-1
 *     (selective)
 *   backward, i = 0..L-1 for layer L-1-i, keys FW L + 3 + BW i + slot:
 *     0 recompute (full)  1 down_b  2 swiglu_b  3 gate_up_b  4 norm_mlp_b
 *     5 oproj_b  6 attn_shard_b  7 [reduce-scatters]  8 attn_local_b
 *     9 recompute of layer L-2-i (selective; none after layer 0)
 *     10 rope_b (waits for 7)  11 qkv_b  12 norm_attn_b
 *     13 (memory: one layer's activations freed)
 *     14 {DP gradient collective of the layer}, last micro-batch only
 *
 * Where the recompute goes: selective recompute re-runs a layer's core
 * attention from its saved Q, K and V (cost.c), which nothing in the
 * backward of the layers above changes, so each layer's rerun is issued
 * as soon as the layer above has finished its attention backward: it
 * runs while that layer's dK/dV reduce-scatter is in flight, which
 * otherwise only the local attention's backward hides (a sample sharded
 * across nodes pays its reduce-scatter over the network).  The rerun
 * holds its layer's log-sum-exp (4 heads bytes per token) one layer
 * early, far below the vocabulary buffers freed by then, so the peak
 * (the loss backward, cost.c) stays.  A full recompute re-runs the whole
 * block, whose working set the memory model holds for one block at a
 * time, so it stays at the start of its layer's backward.
 *
 * Slots 3 and 7 hold one collective per shard group holding q, K/V
 * all-gather and dK/dV reduce-scatter of the group's samples over its
 * members, each the group's ops_group_time (NVLink, or the network when
 * its GPUs span nodes: ops_spans_nodes), in the order of the groups'
 * (first, size): every member meets them in that order, so their
 * entries share a slot and the sharded attention (RoPE's backward) waits
 * for all of them; a rank in no group has none.  The micro-batches of a
 * GPU that the plan lists spanning DP ranks are met in the same order by
 * every member (plan_rank_mbs), which with the order inside a
 * micro-batch makes one total order of every group's collectives over
 * all GPUs.  A member waits at a collective for the slowest of its group
 * (the borrowed DP ranks of a spanning micro-batch for the others' work),
 * idle unless its compute stream has work.
 *
 * Micro-batch m occupies keys m T .. m T + T - 1; after the last one
 * (m = M) comes the tail: {head/embedding gradient collective}, the
 * optimizer step (waits for it), {parameter all-gather} per layer.  A
 * rank without micro-batches (a short last global batch) still takes
 * part in every DP collective: its tail starts with the L gradient
 * collectives.  Bracketed entries run on the communication stream, braced
 * ones on the DP stream, the others on the compute stream.  An entry that
 * depends on another stream stores "need" and that stream (dep), and may
 * start once that stream's position is at least base + need: every entry
 * of it before the key base + need - 1, that one included, is complete.
 * The compute stream waits for the communication stream at the sharded
 * attention and RoPE's backward and for the DP stream only at the
 * optimizer step; both communication streams wait for the compute stream
 * alone.  Operations whose time is 0 (no work) are left out of the lists,
 * so they cost no event; a dependency on a left-out entry holds once the
 * other stream has passed it, and an entry whose peer is absent (no
 * sharded samples: no all-gather) does not wait at all.
 *
 * Why the DP collectives have a stream of their own: data-parallel
 * frameworks reduce gradients on the DP process group's communicator
 * (Megatron-LM's DDP with overlap_grad_reduce, DeepSpeed ZeRO), and NCCL
 * runs each communicator's kernels on a stream of its own, so a shard
 * group's collectives and the gradient reduction run at once.  Sharing
 * one stream, a layer's gradient collective, a barrier over every GPU,
 * held the GPU's next reduce-scatter until the slowest DP rank reached
 * it; and a micro-batch spanning DP ranks of which one runs on after it
 * had to leave its gradients to the tail, since a member issuing them in
 * its backward would wait there for a rank that joins them only after the
 * span's remaining reduce-scatters, which that member would never reach:
 * a deadlock.  Now nothing but the optimizer waits for a DP collective,
 * so the DP stream's order (the L gradients from the last layer down, the
 * head's, the L parameter all-gathers: the same on every GPU) and the
 * shard groups' order cannot cross, and every GPU issues its gradients
 * in its last micro-batch's backward, spanning or not.
 *
 * Storage: the parts of DP rank d's GPUs lie at positions part0[d] ..
 * part0[d] + nrun[d] - 1 of w->parts, cp parts a position (the GPU's CP
 * rank r at r), so a GPU walks its parts with stride cp.  A part's
 * compute lists lie in the part; its communication lists (a few entries
 * per group) in the worker's cent[], beside cgrp[], their groups; its DP
 * list, the gradient collective of the last micro-batch or nothing, is
 * the context's one entry (x->grad), the same on every GPU.
 *
 * All layers of a part cost the same, so a part keeps one list per stream
 * and phase (forward layer, head, backward layer) and the cursor repeats
 * it L times: the work per event is a few comparisons, and the part's
 * costs (ops_load_cost) are computed once per iteration.
 *
 * Durations are rounded to integer nanoseconds once per part and
 * operation (at least 1 ns for an operation with work), so sums and
 * differences of times are exact.  So are the collectives' latency floors
 * (ops_group_floor, ops_dp_cost), which the engine needs to share links
 * (engine.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cost.h"
#include "err.h"
#include "ops.h"
#include "sim_int.h"

static sim_ns
to_ns(double sec)
{
	long long v;

	if (!(sec > 0))
		return 0;
	v = llround(sec * 1e9);
	return v < 1 ? 1 : (sim_ns)v;
}

/* Seconds from ops, checked: a time must be finite and below a day. */
static int
ns_of(double sec, const char *what, sim_ns *ns)
{
	if (!(sec >= 0 && sec < 86400))
		return err_set(SK_ERR_RANGE, "%s would take %g s, beyond the "
		    "simulator's limit of a day for one operation: the job's "
		    "rates (the GPU's peak FLOP/s and HBM bandwidth, the "
		    "efficiencies, the links) are not a machine's", what, sec);
	*ns = to_ns(sec);
	return SK_OK;
}

const char *
prog_ent_name(const struct ent *e)
{
	switch (e->kind) {
	case K_OP:
		return ops_name((enum op_id)e->op);
	case K_RECOMP:
		return "recompute";
	case K_AG:
		return "cp_allgather";
	case K_RS:
		return "cp_reducescatter";
	case K_GRAD:
		return "dp_grad";
	case K_HEAD_GRAD:
		return "dp_head_grad";
	case K_PARAM:
		return "dp_param_allgather";
	}
	return "memory";
}

/* Entry e: kind and op, at slot, needing stream dep at need (NEED_NONE:
 * nothing), for dur ns. */
static void
put_ent(struct ent *e, uint8_t kind, int op, uint16_t slot, uint16_t need,
    int dep, sim_ns dur)
{
	e->dur = dur;
	e->slot = slot;
	e->need = need;
	e->kind = kind;
	e->op = (uint8_t)op;
	e->dep = (uint8_t)dep;
}

/* ---- setup ---- */

void
prog_free(struct ctx *x)
{
	int s, v;

	for (s = 0; s < NSTREAM; s++)
		for (v = 0; v < 2; v++)
			free(x->tail[s][v]);
}

/*
 * The distinct shard groups of the n samples s[] into gf[] and gs[] (room
 * for n), ordered by (first, size): the order every member meets their
 * collectives in.  Unless keys is NULL, keys[g] gets the tokens of group
 * g, its samples' lengths summed in plan order.  Returns their count.
 */
static size_t
mb_groups(const struct plan_sample *s, size_t n, uint16_t *gf, uint16_t *gs,
    double *keys)
{
	size_t k, i, lo, hi, mid, ng = 0, at = 0;
	uint16_t f, z;

	for (k = 0; k < n; k++) {
		if (s[k].place != PLAN_SHARDED)
			continue;
		f = s[k].first;
		z = s[k].size;
		/* a group's samples tend to be listed together */
		if (ng == 0 || gf[at] != f || gs[at] != z) {
			lo = 0;
			hi = ng;
			while (lo < hi) {
				mid = lo + (hi - lo) / 2;
				if (gf[mid] < f || (gf[mid] == f && gs[mid] < z))
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo == ng || gf[lo] != f || gs[lo] != z) {
				for (i = ng; i > lo; i--) {
					gf[i] = gf[i - 1];
					gs[i] = gs[i - 1];
					if (keys != NULL)
						keys[i] = keys[i - 1];
				}
				gf[lo] = f;
				gs[lo] = z;
				if (keys != NULL)
					keys[lo] = 0;
				ng++;
			}
			at = lo;
		}
		if (keys != NULL)
			keys[at] += s[k].len;
	}
	return ng;
}

/* Micro-batch m of DP rank d in iteration it: a structure the simulator
 * can run (own: one of d's own micro-batches came before it). */
static int
scan_mb(const struct ctx *x, const struct plan_mb *mb, size_t it, int d,
    size_t m, int own)
{
	const struct plan *p = x->p;
	const struct plan_sample *s;
	size_t k;
	int W, f, z;

	if (mb->n == 0 || mb->first > p->nsamples ||
	    mb->n > p->nsamples - mb->first)
		return err_set(SK_ERR_FORMAT, "sim: iteration %zu, DP rank %d, "
		    "micro-batch %zu: no samples or samples outside the plan",
		    it, d, m);
	if (mb->span < 1 || mb->span > x->dp - d)
		return err_set(SK_ERR_FORMAT, "sim: iteration %zu, DP rank %d, "
		    "micro-batch %zu: spans %d DP ranks, outside the job's dp "
		    "%d", it, d, m, mb->span, x->dp);
	if (mb->span > 1 && own)
		return err_set(SK_ERR_FORMAT, "sim: iteration %zu, DP rank %d, "
		    "micro-batch %zu: spans %d DP ranks but follows one of the "
		    "rank's own (spanning micro-batches come first)", it, d, m,
		    mb->span);
	if (mb->span > W_MAX / x->cp)
		return err_set(SK_ERR_FORMAT, "sim: iteration %zu, DP rank %d, "
		    "micro-batch %zu: %d x %d ranks are more than %d", it, d, m,
		    mb->span, x->cp, W_MAX);
	W = mb->span * x->cp;
	s = &p->samples[mb->first];
	for (k = 0; k < mb->n; k++) {
		if (s[k].place != PLAN_SHARDED) {
			if (s[k].place < 0 || s[k].place >= W)
				return err_set(SK_ERR_FORMAT, "sim: iteration "
				    "%zu, DP rank %d, micro-batch %zu: placement "
				    "%d is not in [-1, %d]", it, d, m,
				    (int)s[k].place, W - 1);
			continue;
		}
		f = s[k].first;
		z = s[k].size;
		if (z < 2 || f + z > W || W % z != 0 || f % z != 0)
			return err_set(SK_ERR_FORMAT, "sim: iteration %zu, DP "
			    "rank %d, micro-batch %zu: shard group [%d, %d) is "
			    "not an aligned block of 2 or more of its %d ranks",
			    it, d, m, f, f + z, W);
	}
	return SK_OK;
}

/*
 * Check the plan's structure over [first, end) and size the workspaces:
 * a first pass checks every micro-batch and finds the largest, a second
 * counts each iteration's parts, shard groups and communication entries
 * (per group an all-gather and a reduce-scatter on each member; the DP
 * stream's entries are the context's).
 */
int
prog_scan(struct ctx *x, size_t first, size_t end)
{
	const struct plan *p = x->p;
	const struct plan_mb *mb;
	uint16_t *gf = NULL, *gs = NULL;
	uint32_t *nrun = NULL;
	size_t it, m, g, ng, parts, grp, cent;
	int d, a, own, e = SK_OK;

	if (p->nranks < end * (size_t)x->dp)
		return err_set(SK_ERR_FORMAT, "sim: the plan has %zu DP ranks "
		    "for %zu iterations of dp %d", p->nranks, p->niter, x->dp);
	x->max_parts = x->max_n = x->max_grp = x->max_cent = 1;
	x->max_w = 1;
	for (it = first; it < end; it++)
		for (d = 0; d < x->dp; d++) {
			const struct plan_rank *rk = &p->ranks[it * x->dp + d];

			if (rk->first > p->nmbs || rk->n > p->nmbs - rk->first)
				return err_set(SK_ERR_FORMAT, "sim: iteration %zu, "
				    "DP rank %d: micro-batches outside the plan",
				    it, d);
			for (m = 0, own = 0; m < rk->n; m++) {
				mb = &p->mbs[rk->first + m];
				if ((e = scan_mb(x, mb, it, d, m, own)) != SK_OK)
					return e;
				own |= mb->span == 1;
				if (mb->n > x->max_n)
					x->max_n = mb->n;
				if (plan_mb_width(p, mb) > x->max_w)
					x->max_w = plan_mb_width(p, mb);
			}
		}
	gf = malloc(x->max_n * sizeof *gf);
	gs = malloc(x->max_n * sizeof *gs);
	nrun = malloc((size_t)x->dp * sizeof *nrun);
	if (gf == NULL || gs == NULL || nrun == NULL) {
		e = err_set(SK_ERR_NOMEM, "sim: out of memory");
		goto out;
	}
	for (it = first; it < end; it++) {
		parts = 0;
		grp = 1;
		cent = 0;
		memset(nrun, 0, (size_t)x->dp * sizeof *nrun);
		for (d = 0; d < x->dp; d++) {
			const struct plan_rank *rk = &p->ranks[it * x->dp + d];

			for (m = 0; m < rk->n; m++) {
				mb = &p->mbs[rk->first + m];
				parts += (size_t)plan_mb_width(p, mb);
				ng = mb_groups(&p->samples[mb->first], mb->n, gf,
				    gs, NULL);
				grp += ng;
				for (g = 0; g < ng; g++)
					cent += 2 * (size_t)gs[g];
				for (a = d; a < d + mb->span; a++)
					nrun[a]++;
			}
		}
		/* keys of each GPU's micro-batches and tail fit */
		for (d = 0; d < x->dp; d++)
			if (nrun[d] >= KEY_END / x->T - 1) {
				e = err_set(SK_ERR_RANGE, "sim: iteration %zu, DP "
				    "rank %d: %u micro-batches are too many", it, d,
				    (unsigned)nrun[d]);
				goto out;
			}
		if (parts > x->max_parts)
			x->max_parts = parts;
		if (grp > x->max_grp)
			x->max_grp = grp;
		if (cent > x->max_cent)
			x->max_cent = cent;
	}
out:
	free(gf);
	free(gs);
	free(nrun);
	return e;
}

/*
 * The tails.  With the gradient collectives in the last micro-batch: on
 * the DP stream the head gradient (needs the compute stream past the last
 * micro-batch: key M T, need 0 from the tail's base; the DP stream's
 * order puts it after every gradient collective), on the compute stream
 * the optimizer (needs the DP stream past the head gradient), on the DP
 * stream a parameter all-gather per layer (needs the optimizer).  Without
 * micro-batches: the L gradient collectives first on the DP stream.  The
 * communication stream has no tail.
 */
static int
ctx_tails(struct ctx *x)
{
	int v, l, s, L = x->L;
	uint16_t k, hg, opt;
	struct ent *c, *d;

	for (v = 0; v < 2; v++) {
		for (s = 0; s < NSTREAM; s++) {
			x->tail[s][v] = calloc(s == S_DP ? (size_t)2 * L + 1 : 1,
			    sizeof *x->tail[s][v]);
			if (x->tail[s][v] == NULL)
				return err_set(SK_ERR_NOMEM, "sim: out of memory");
			x->ntail[s][v] = 0;
		}
		c = x->tail[S_COMP][v];
		d = x->tail[S_DP][v];
		k = 0;
		/* after the compute stream's last micro-batch, if any */
		if (v == 1 && x->grad_ns > 0)
			for (l = L - 1; l >= 0; l--, k++)
				put_ent(&d[x->ntail[S_DP][v]++], K_GRAD, 0, k,
				    l == L - 1 ? 0 : NEED_NONE, S_COMP,
				    x->grad_ns);
		if (v == 1 && x->grad_ns == 0)
			k = (uint16_t)L;
		hg = k++;
		opt = k++;
		if (x->head_grad_ns > 0)
			put_ent(&d[x->ntail[S_DP][v]++], K_HEAD_GRAD, 0, hg, 0,
			    S_COMP, x->head_grad_ns);
		if (x->opt_ns > 0)
			put_ent(&c[x->ntail[S_COMP][v]++], K_OP, OP_OPTIMIZER, opt,
			    (uint16_t)(hg + 1), S_DP, x->opt_ns);
		if (x->param_ns > 0)
			for (l = 0; l < L; l++, k++)
				put_ent(&d[x->ntail[S_DP][v]++], K_PARAM, 0, k,
				    (uint16_t)(opt + 1), S_COMP, x->param_ns);
	}
	return SK_OK;
}

int
prog_init(struct ctx *x, const struct plan *p, struct report *r)
{
	const struct job *j = &p->job;
	struct cost_mem mem;
	struct ops_part none;
	struct ops_cost c;
	struct ops_dp dpc;
	int e;

	memset(x, 0, sizeof *x);
	x->p = p;
	x->j = j;
	x->r = r;
	x->dp = j->dp;
	x->cp = j->cp;
	x->L = j->model.layers;
	if (x->dp < 1 || x->cp < 1 || x->dp > (1 << 20) / x->cp)
		return err_set(SK_ERR_FORMAT, "sim: the plan's job has dp %d and "
		    "cp %d", x->dp, x->cp);
	if (x->L < 1 || x->L > 4096)
		return err_set(SK_ERR_FORMAT, "sim: the model has %d layers "
		    "(1 to 4096 simulated)", x->L);
	x->G = x->dp * x->cp;
	x->T = (uint32_t)(FW + BW) * (uint32_t)x->L + HW;

	cost_memory(j, &mem);
	x->statics = mem.statics;
	x->avail = j->cluster.gpu.hbm_bytes - j->reserve;
	ops_dp_cost(j, &dpc);
	memset(&none, 0, sizeof none);
	none.N = x->cp;
	ops_part_cost(j, &none, &c);
	x->opt_flops = c.flops[OP_OPTIMIZER];
	if ((e = ns_of(dpc.grad_sec, "the gradient collective",
	    &x->grad_ns)) != SK_OK ||
	    (e = ns_of(dpc.head_grad_sec, "the head gradient collective",
	    &x->head_grad_ns)) != SK_OK ||
	    (e = ns_of(dpc.param_sec, "the parameter all-gather",
	    &x->param_ns)) != SK_OK ||
	    (e = ns_of(dpc.grad_floor, "the gradient collective's latency",
	    &x->grad_floor)) != SK_OK ||
	    (e = ns_of(dpc.param_floor, "the parameter all-gather's latency",
	    &x->param_floor)) != SK_OK ||
	    (e = ns_of(c.sec[OP_OPTIMIZER], "the optimizer step",
	    &x->opt_ns)) != SK_OK) {
		err_prefix("sim");
		return e;
	}
	if (x->G == 1)
		x->grad_ns = x->head_grad_ns = x->param_ns = 0;
	x->dp_net = (uint8_t)dpc.spans;
	/* after that layer's norm_attn_b: its gradients are complete */
	put_ent(&x->grad, K_GRAD, 0, B_GRAD, B_NORM_ATTN + 1, S_COMP,
	    x->grad_ns);
	return ctx_tails(x);
}

/* ---- parts ---- */

/* The compute operations of the forward and backward layer templates. */
static const struct {
	uint16_t slot;
	uint8_t op;
} fwd_ops[] = {
	{ F_NORM_ATTN, OP_NORM_ATTN }, { F_QKV, OP_QKV }, { F_ROPE, OP_ROPE },
	{ F_ATTN_LOCAL, OP_ATTN_LOCAL }, { F_ATTN_SHARD, OP_ATTN_SHARD },
	{ F_OPROJ, OP_OPROJ }, { F_NORM_MLP, OP_NORM_MLP },
	{ F_GATE_UP, OP_GATE_UP }, { F_SWIGLU, OP_SWIGLU }, { F_DOWN, OP_DOWN }
}, bwd_ops[] = {
	{ B_DOWN, OP_DOWN_B }, { B_SWIGLU, OP_SWIGLU_B },
	{ B_GATE_UP, OP_GATE_UP_B }, { B_NORM_MLP, OP_NORM_MLP_B },
	{ B_OPROJ, OP_OPROJ_B }, { B_ATTN_SHARD, OP_ATTN_SHARD_B },
	{ B_ATTN_LOCAL, OP_ATTN_LOCAL_B }, { B_ROPE, OP_ROPE_B },
	{ B_QKV, OP_QKV_B }, { B_NORM_ATTN, OP_NORM_ATTN_B }
};
#define NFWD (sizeof fwd_ops / sizeof fwd_ops[0])
#define NBWD (sizeof bwd_ops / sizeof bwd_ops[0])

/*
 * The communication lists of part pt (rank q of a micro-batch whose ng
 * shard groups are w->gf, w->gs, their durations w->gag, w->grs, and
 * their entries in w->grp from gbase): forward an all-gather per group
 * holding q, backward a reduce-scatter per group; appended to w->cent
 * from *ncent.  *ag and *rs: whether it has any.  Its DP list: the
 * gradient collective per backward layer if last, else nothing.
 */
static void
part_comm(struct ws *w, struct part *pt, int q, size_t ng, uint32_t gbase,
    int last, size_t *ncent, int *ag, int *rs)
{
	const struct ctx *x = w->x;
	struct ent *ce = w->cent + *ncent, *e = ce;
	uint32_t *cg = w->cgrp + *ncent;
	size_t g;

	pt->list[S_COMM] = ce;
	pt->off[S_COMM][PH_FWD] = 0;
	for (g = 0; g < ng; g++)
		if (q >= w->gf[g] && q < w->gf[g] + w->gs[g] && w->gag[g] > 0) {
			cg[e - ce] = gbase + (uint32_t)g;
			put_ent(e++, K_AG, 0, F_AG, F_ROPE + 1, S_COMP, w->gag[g]);
		}
	pt->n[S_COMM][PH_FWD] = (uint8_t)(e - ce);
	pt->off[S_COMM][PH_HEAD] = (uint8_t)(e - ce);
	pt->n[S_COMM][PH_HEAD] = 0;
	pt->off[S_COMM][PH_BWD] = (uint8_t)(e - ce);
	for (g = 0; g < ng; g++)
		if (q >= w->gf[g] && q < w->gf[g] + w->gs[g] && w->grs[g] > 0) {
			cg[e - ce] = gbase + (uint32_t)g;
			put_ent(e++, K_RS, 0, B_RS, B_ATTN_SHARD + 1, S_COMP,
			    w->grs[g]);
		}
	pt->n[S_COMM][PH_BWD] = (uint8_t)(e - ce - pt->off[S_COMM][PH_BWD]);
	*ag = pt->n[S_COMM][PH_FWD] > 0;
	*rs = pt->n[S_COMM][PH_BWD] > 0;
	*ncent += (size_t)(e - ce);

	pt->list[S_DP] = &x->grad;
	memset(pt->off[S_DP], 0, sizeof pt->off[S_DP]);
	memset(pt->n[S_DP], 0, sizeof pt->n[S_DP]);
	pt->n[S_DP][PH_BWD] = last && x->grad_ns > 0;
}

/* The compute lists of part pt from its costs; ag, rs: whether its
 * sharded attention waits for all-gathers, its RoPE backward for
 * reduce-scatters. */
static int
part_build(const struct ctx *x, struct part *pt, const struct ops_cost *c,
    int ag, int rs)
{
	sim_ns ns[OP_NCOMPUTE], rc = 0;
	struct ent *e = pt->e;
	double fl = 0;
	size_t i;
	int k, e2, ahead = x->j->recompute == RECOMPUTE_SELECTIVE;

	for (k = 0; k < OP_NCOMPUTE; k++)
		if ((e2 = ns_of(c->sec[k], ops_name((enum op_id)k),
		    &ns[k])) != SK_OK)
			return e2;
	if ((e2 = ns_of(c->recompute_sec, "recompute", &rc)) != SK_OK)
		return e2;

	pt->list[S_COMP] = pt->e;
	/* compute, forward */
	pt->off[S_COMP][PH_FWD] = (uint8_t)(e - pt->e);
	for (i = 0; i < NFWD; i++) {
		k = fwd_ops[i].op;
		fl += c->flops[k];
		if (ns[k] > 0)
			put_ent(e++, K_OP, k, fwd_ops[i].slot,
			    k == OP_ATTN_SHARD && ag ? F_AG + 1 : NEED_NONE,
			    S_COMM, ns[k]);
	}
	put_ent(e++, K_ALLOC, 0, F_MEM, NEED_NONE, S_COMM, 0);
	pt->n[S_COMP][PH_FWD] = (uint8_t)(e - pt->e -
	    pt->off[S_COMP][PH_FWD]);
	/* compute, head */
	pt->off[S_COMP][PH_HEAD] = (uint8_t)(e - pt->e);
	if (ns[OP_HEAD] > 0)
		put_ent(e++, K_OP, OP_HEAD, H_HEAD, NEED_NONE, S_COMM,
		    ns[OP_HEAD]);
	if (ns[OP_HEAD_B] > 0)
		put_ent(e++, K_OP, OP_HEAD_B, H_HEAD_B, NEED_NONE, S_COMM,
		    ns[OP_HEAD_B]);
	if (rc > 0 && ahead)
		put_ent(e++, K_RECOMP, 0, H_RECOMP, NEED_NONE, S_COMM, rc);
	pt->n[S_COMP][PH_HEAD] = (uint8_t)(e - pt->e -
	    pt->off[S_COMP][PH_HEAD]);
	/* compute, backward */
	pt->off[S_COMP][PH_BWD] = (uint8_t)(e - pt->e);
	if (rc > 0 && !ahead)
		put_ent(e++, K_RECOMP, 0, B_RECOMP, NEED_NONE, S_COMM, rc);
	for (i = 0; i < NBWD; i++) {
		k = bwd_ops[i].op;
		fl += c->flops[k];
		if (rc > 0 && ahead && bwd_ops[i].slot == B_ROPE)
			put_ent(e++, K_RECOMP, 0, B_RECOMP_NEXT, NEED_NONE,
			    S_COMM, rc);
		if (ns[k] > 0)
			put_ent(e++, K_OP, k, bwd_ops[i].slot,
			    k == OP_ROPE_B && rs ? B_RS + 1 : NEED_NONE,
			    S_COMM, ns[k]);
	}
	put_ent(e++, K_FREE, 0, B_MEM, NEED_NONE, S_COMM, 0);
	pt->n[S_COMP][PH_BWD] = (uint8_t)(e - pt->e -
	    pt->off[S_COMP][PH_BWD]);

	pt->flops = x->L * (fl + c->recompute_flops) + c->flops[OP_HEAD] +
	    c->flops[OP_HEAD_B];
	pt->act = c->act_bytes;
	return SK_OK;
}

/*
 * The parts of micro-batch m of DP rank a (its position there) in
 * iteration it: rank q = (d - a) cp + r of it is GPU d cp + r's next part,
 * at its DP rank d's position w->pos[d].  Its groups go into w->grp from
 * *ngrp, its entries into w->cent from *ncent.
 */
static int
mb_parts(struct ws *w, size_t it, int a, size_t m, uint32_t *ngrp,
    size_t *ncent)
{
	const struct ctx *x = w->x;
	const struct plan *p = x->p;
	const struct plan_rank *rk = &p->ranks[it * x->dp + a];
	const struct plan_mb *mb = &p->mbs[rk->first + m];
	const struct plan_sample *s = &p->samples[mb->first], *sh;
	const uint32_t *lo;
	struct ops_load l;
	struct ops_cost c;
	struct part *pt;
	size_t k, nshard = 0, ng, g;
	char where[128];
	double agsec, rssec, aglat, rslat;
	int W = mb->span * x->cp, q, d, r, ag, rs, last, e = SK_OK;

	/* Lengths grouped by rank (a counting sort, plan order kept),
	 * sharded samples apart. */
	memset(w->cnt, 0, ((size_t)W + 1) * sizeof *w->cnt);
	for (k = 0; k < mb->n; k++)
		if (s[k].place == PLAN_SHARDED)
			w->shard[nshard++] = (uint32_t)k;
		else
			w->cnt[s[k].place + 1]++;
	for (q = 0; q < W; q++)
		w->cnt[q + 1] += w->cnt[q];
	for (k = 0; k < mb->n; k++)
		if (s[k].place != PLAN_SHARDED)
			w->local[w->cnt[s[k].place]++] = s[k].len;
	/* now cnt[q] is the end of rank q's lengths */

	ng = mb_groups(s, mb->n, w->gf, w->gs, w->gkeys);
	for (g = 0; g < ng; g++) {
		struct group *gr = &w->grp[*ngrp + g];

		gr->arrived = 0;
		gr->dur = 0;
		gr->g0 = a * x->cp + w->gf[g];
		gr->n = w->gs[g];
		gr->first = w->gf[g];
		gr->whole = mb->span == 1 && gr->n == x->cp;
		gr->s = S_COMM;
		gr->net = (uint8_t)ops_spans_nodes(x->j, gr->g0, gr->n);
		ops_group_time(x->j, w->gkeys[g], gr->n, gr->net, &agsec,
		    &rssec);
		ops_group_floor(x->j, gr->n, gr->net, &aglat, &rslat);
		if ((e = ns_of(agsec, "the group all-gather",
		    &w->gag[g])) != SK_OK || (e = ns_of(rssec,
		    "the group reduce-scatter", &w->grs[g])) != SK_OK ||
		    (e = ns_of(aglat, "the group all-gather's latency",
		    &gr->floor[0])) != SK_OK || (e = ns_of(rslat,
		    "the group reduce-scatter's latency",
		    &gr->floor[1])) != SK_OK) {
			snprintf(where, sizeof where, "sim: iteration %zu, DP rank "
			    "%d, micro-batch %zu, shard group [%d, %d)", it, a, m,
			    gr->first, gr->first + gr->n);
			err_prefix(where);
			return e;
		}
	}

	lo = w->local;
	for (q = 0; q < W; q++) {
		d = a + q / x->cp;
		r = q % x->cp;
		pt = &w->parts[(w->part0[d] + w->pos[d]) * (size_t)x->cp +
		    (size_t)r];
		last = w->pos[d] + 1 == w->nrun[d];
		/* Whole samples, then shards, in plan order as ops_part_cost
		 * adds them (N unused: every shard's group is given). */
		ops_load_init(&l, 1);
		for (; lo < w->local + w->cnt[q]; lo++)
			ops_load_local(x->j, &l, *lo);
		for (k = 0; k < nshard; k++) {
			sh = &s[w->shard[k]];
			if (q >= sh->first && q < sh->first + sh->size)
				ops_load_shard_d(x->j, &l, sh->len, sh->size);
		}
		ops_load_cost(x->j, &l, &c);
		pt->mb = rk->first + m;
		pt->q = (uint16_t)q;
		part_comm(w, pt, q, ng, *ngrp, last, ncent, &ag, &rs);
		if ((e = part_build(x, pt, &c, ag, rs)) != SK_OK) {
			snprintf(where, sizeof where, "sim: iteration %zu, DP rank "
			    "%d, micro-batch %zu, %s %d", it, a, m,
			    W == x->cp ? "CP rank" : "rank", q);
			err_prefix(where);
			return e;
		}
		if (r == x->cp - 1)
			w->pos[d]++;
	}
	*ngrp += (uint32_t)ng;
	return SK_OK;
}

/*
 * The parts of iteration it.  Each DP rank runs the micro-batches that
 * cover it in plan_rank_mbs order: walking the listing ranks in order and
 * their micro-batches in order, each covering DP rank takes the next
 * position, so the parts of DP rank d lie at positions part0[d] ..
 * part0[d] + nrun[d] - 1, cp parts each.
 */
int
prog_parts(struct ws *w, size_t it)
{
	const struct ctx *x = w->x;
	const struct plan *p = x->p;
	const struct plan_rank *rk = &p->ranks[it * x->dp];
	size_t m, np = 0, ncent = 0;
	uint32_t ngrp = 1;
	int a, d, e;

	memset(w->nrun, 0, (size_t)x->dp * sizeof *w->nrun);
	for (a = 0; a < x->dp; a++)
		for (m = 0; m < rk[a].n; m++)
			for (d = a; d < a + p->mbs[rk[a].first + m].span; d++)
				w->nrun[d]++;
	for (d = 0; d < x->dp; d++) {
		w->part0[d] = np;
		np += w->nrun[d];
		w->pos[d] = 0;
	}
	memset(&w->grp[0], 0, sizeof w->grp[0]);
	w->grp[0].n = x->G;
	w->grp[0].s = S_DP;
	w->grp[0].net = x->dp_net;
	w->grp[0].floor[0] = x->grad_floor;
	w->grp[0].floor[1] = x->param_floor;
	for (a = 0; a < x->dp; a++)
		for (m = 0; m < rk[a].n; m++)
			if ((e = mb_parts(w, it, a, m, &ngrp, &ncent)) != SK_OK)
				return e;
	return SK_OK;
}
