/*
 * prog: building each GPU's program from the plan, see sim_int.h.
 *
 * ---- Programs ----
 *
 * GPU g = d x cp + r runs DP rank d's micro-batches; its part of micro-batch
 * m is CP rank r's: the samples placed whole on r and its 1/cp of the
 * sharded ones (struct ops_part).  Each of its two streams (0 compute, 1
 * communication) walks one program, laid out on a common axis of program
 * positions (keys) so that a dependency between the streams is one integer
 * comparison.  A micro-batch spans T = (FW + BW) L + 2 keys:
 *
 *   forward, layer l = 0..L-1, keys FW l + slot:
 *     0 norm_attn  1 qkv  2 rope  3 [all-gather]  4 attn_local
 *     5 attn_shard (waits for 3)  6 oproj  7 norm_mlp  8 gate_up
 *     9 swiglu  10 down  11 (memory: one layer's activations allocated)
 *   head, keys FW L + 0, 1: head, head_b
 *   backward, i = 0..L-1 for layer L-1-i, keys FW L + 2 + BW i + slot:
 *     0 recompute  1 down_b  2 swiglu_b  3 gate_up_b  4 norm_mlp_b
 *     5 oproj_b  6 attn_shard_b  7 [reduce-scatter]  8 attn_local_b
 *     9 rope_b (waits for 7)  10 qkv_b  11 norm_attn_b
 *     12 (memory: one layer's activations freed)
 *     13 [DP gradient collective of the layer], last micro-batch only
 *
 * Micro-batch m occupies keys m T .. m T + T - 1; after the last one
 * (m = M) comes the tail: [head/embedding gradient collective], the
 * optimizer step (waits for it), [parameter all-gather] per layer.  A rank
 * without micro-batches (a short last global batch) still takes part in
 * every DP collective: its tail starts with the L gradient collectives.
 * Bracketed entries run on the communication stream; an entry of one
 * stream that depends on the other stores "need", and may start once the
 * other stream's position is at least base + need: every entry of that
 * stream before the key base + need - 1, that one included, is complete.
 * Operations whose time is 0 (no work) are left out of the lists, so they
 * cost no event; a dependency on a left-out entry holds once the other
 * stream has passed it, and an entry whose peer is absent (no sharded
 * samples: no all-gather) does not wait at all.
 *
 * All layers of a part cost the same, so a part keeps one list per stream
 * and phase (forward layer, head, backward layer) and the cursor repeats
 * it L times: the work per event is a few comparisons, and the part's
 * costs (ops_part_cost) are computed once per iteration.
 *
 * Durations are rounded to integer nanoseconds once per part and
 * operation (at least 1 ns for an operation with work), so sums and
 * differences of times are exact.
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
		return err_set(SK_ERR_RANGE, "%s takes %g s", what, sec);
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

static void
put_ent(struct ent *e, uint8_t kind, int op, uint16_t slot, uint16_t need,
    sim_ns dur)
{
	e->dur = dur;
	e->slot = slot;
	e->need = need;
	e->kind = kind;
	e->op = (uint8_t)op;
}

/* ---- setup ---- */

void
prog_free(struct ctx *x)
{
	int s, v;

	for (s = 0; s < 2; s++)
		for (v = 0; v < 2; v++)
			free(x->tail[s][v]);
}

/* Check the plan's structure over [first, end) and size the workspaces. */
int
prog_scan(struct ctx *x, size_t first, size_t end)
{
	const struct plan *p = x->p;
	size_t it, m, k, parts;
	int d;

	if (p->nranks < end * (size_t)x->dp)
		return err_set(SK_ERR_FORMAT, "sim: the plan has %zu DP ranks "
		    "for %zu iterations of dp %d", p->nranks, p->niter, x->dp);
	x->max_parts = 1;
	x->max_n = 1;
	for (it = first; it < end; it++) {
		parts = 0;
		for (d = 0; d < x->dp; d++) {
			const struct plan_rank *rk = &p->ranks[it * x->dp + d];

			if (rk->first > p->nmbs || rk->n > p->nmbs - rk->first)
				return err_set(SK_ERR_FORMAT, "sim: iteration %zu, "
				    "DP rank %d: micro-batches outside the plan",
				    it, d);
			/* keys of the rank's micro-batches and tail fit */
			if (rk->n >= KEY_END / x->T - 1)
				return err_set(SK_ERR_RANGE, "sim: iteration %zu, "
				    "DP rank %d: %zu micro-batches are too many",
				    it, d, rk->n);
			for (m = 0; m < rk->n; m++) {
				const struct plan_mb *mb = &p->mbs[rk->first + m];

				if (mb->n == 0 || mb->first > p->nsamples ||
				    mb->n > p->nsamples - mb->first)
					return err_set(SK_ERR_FORMAT, "sim: "
					    "iteration %zu, DP rank %d, micro-batch "
					    "%zu: no samples or samples outside the "
					    "plan", it, d, m);
				for (k = 0; k < mb->n; k++) {
					int32_t pl = p->samples[mb->first + k].place;

					if (pl < PLAN_SHARDED || pl >= x->cp)
						return err_set(SK_ERR_FORMAT,
						    "sim: iteration %zu, DP rank "
						    "%d, micro-batch %zu: placement "
						    "%d is not in [-1, %d]", it, d,
						    m, (int)pl, x->cp - 1);
				}
				if (mb->n > x->max_n)
					x->max_n = mb->n;
			}
			parts += rk->n * (size_t)x->cp;
		}
		if (parts > x->max_parts)
			x->max_parts = parts;
	}
	return SK_OK;
}

/*
 * The tails.  With micro-batches: head gradient (needs the compute stream
 * past the last micro-batch: key M T, need 0 from the tail's base), the
 * optimizer (needs the communication stream past the head gradient:
 * every gradient collective done), a parameter all-gather per layer (needs
 * the optimizer).  Without: the L gradient collectives first.
 */
static int
ctx_tails(struct ctx *x)
{
	int v, l, L = x->L;
	uint16_t s, hg, opt;
	struct ent *c, *k;

	for (v = 0; v < 2; v++) {
		c = x->tail[0][v] = calloc(1, sizeof *c);
		k = x->tail[1][v] = calloc((size_t)2 * L + 1, sizeof *k);
		if (c == NULL || k == NULL)
			return err_set(SK_ERR_NOMEM, "sim: out of memory");
		s = 0;
		x->ntail[1][v] = 0;
		if (v == 1 && x->grad_ns > 0)
			for (l = L - 1; l >= 0; l--, s++)
				put_ent(&k[x->ntail[1][v]++], K_GRAD, 0, s,
				    NEED_NONE, x->grad_ns);
		if (v == 1 && x->grad_ns == 0)
			s = (uint16_t)L;
		hg = s++;
		opt = s++;
		if (x->head_grad_ns > 0)
			put_ent(&k[x->ntail[1][v]++], K_HEAD_GRAD, 0, hg, 0,
			    x->head_grad_ns);
		x->ntail[0][v] = 0;
		if (x->opt_ns > 0)
			put_ent(&c[x->ntail[0][v]++], K_OP, OP_OPTIMIZER, opt,
			    (uint16_t)(hg + 1), x->opt_ns);
		if (x->param_ns > 0)
			for (l = 0; l < L; l++, s++)
				put_ent(&k[x->ntail[1][v]++], K_PARAM, 0, s,
				    (uint16_t)(opt + 1), x->param_ns);
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
	    (e = ns_of(c.sec[OP_OPTIMIZER], "the optimizer step",
	    &x->opt_ns)) != SK_OK) {
		err_prefix("sim");
		return e;
	}
	if (x->G == 1)
		x->grad_ns = x->head_grad_ns = x->param_ns = 0;
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

/* Build part pt from its costs; last: the rank's last micro-batch. */
static int
part_build(const struct ctx *x, struct part *pt, const struct ops_cost *c,
    int last)
{
	sim_ns ns[OP_NCOMPUTE], ag = 0, rs = 0, rc = 0;
	struct ent *e = pt->e;
	double fl = 0;
	size_t i;
	int k, e2;

	for (k = 0; k < OP_NCOMPUTE; k++)
		if ((e2 = ns_of(c->sec[k], ops_name((enum op_id)k),
		    &ns[k])) != SK_OK)
			return e2;
	if ((e2 = ns_of(c->recompute_sec, "recompute", &rc)) != SK_OK)
		return e2;
	if (x->cp > 1 && ((e2 = ns_of(c->ag_sec, "the CP all-gather",
	    &ag)) != SK_OK || (e2 = ns_of(c->rs_sec, "the CP reduce-scatter",
	    &rs)) != SK_OK))
		return e2;

	/* compute, forward */
	pt->off[0][PH_FWD] = (uint8_t)(e - pt->e);
	for (i = 0; i < NFWD; i++) {
		k = fwd_ops[i].op;
		fl += c->flops[k];
		if (ns[k] > 0)
			put_ent(e++, K_OP, k, fwd_ops[i].slot,
			    k == OP_ATTN_SHARD && ag > 0 ? F_AG + 1 : NEED_NONE,
			    ns[k]);
	}
	put_ent(e++, K_ALLOC, 0, F_MEM, NEED_NONE, 0);
	pt->n[0][PH_FWD] = (uint8_t)(e - pt->e - pt->off[0][PH_FWD]);
	/* compute, head */
	pt->off[0][PH_HEAD] = (uint8_t)(e - pt->e);
	if (ns[OP_HEAD] > 0)
		put_ent(e++, K_OP, OP_HEAD, 0, NEED_NONE, ns[OP_HEAD]);
	if (ns[OP_HEAD_B] > 0)
		put_ent(e++, K_OP, OP_HEAD_B, 1, NEED_NONE, ns[OP_HEAD_B]);
	pt->n[0][PH_HEAD] = (uint8_t)(e - pt->e - pt->off[0][PH_HEAD]);
	/* compute, backward */
	pt->off[0][PH_BWD] = (uint8_t)(e - pt->e);
	if (rc > 0)
		put_ent(e++, K_RECOMP, 0, B_RECOMP, NEED_NONE, rc);
	for (i = 0; i < NBWD; i++) {
		k = bwd_ops[i].op;
		fl += c->flops[k];
		if (ns[k] > 0)
			put_ent(e++, K_OP, k, bwd_ops[i].slot,
			    k == OP_ROPE_B && rs > 0 ? B_RS + 1 : NEED_NONE,
			    ns[k]);
	}
	put_ent(e++, K_FREE, 0, B_MEM, NEED_NONE, 0);
	pt->n[0][PH_BWD] = (uint8_t)(e - pt->e - pt->off[0][PH_BWD]);
	/* communication */
	pt->off[1][PH_FWD] = (uint8_t)(e - pt->e);
	if (ag > 0)
		put_ent(e++, K_AG, 0, F_AG, F_ROPE + 1, ag);
	pt->n[1][PH_FWD] = (uint8_t)(e - pt->e - pt->off[1][PH_FWD]);
	pt->off[1][PH_HEAD] = (uint8_t)(e - pt->e);
	pt->n[1][PH_HEAD] = 0;
	pt->off[1][PH_BWD] = (uint8_t)(e - pt->e);
	if (rs > 0)
		put_ent(e++, K_RS, 0, B_RS, B_ATTN_SHARD + 1, rs);
	if (last && x->grad_ns > 0)
		put_ent(e++, K_GRAD, 0, B_GRAD, B_NORM_ATTN + 1, x->grad_ns);
	pt->n[1][PH_BWD] = (uint8_t)(e - pt->e - pt->off[1][PH_BWD]);

	pt->flops = x->L * (fl + c->recompute_flops) + c->flops[OP_HEAD] +
	    c->flops[OP_HEAD_B];
	pt->act = c->act_bytes;
	return SK_OK;
}

/* The parts of iteration it: for each DP rank, micro-batch, CP rank. */
int
prog_parts(struct ws *w, size_t it)
{
	const struct ctx *x = w->x;
	const struct plan *p = x->p;
	struct ops_part op;
	struct ops_cost c;
	size_t m, k, np = 0, nshard;
	uint32_t *lo;
	char where[128];
	int d, r, e;

	for (d = 0; d < x->dp; d++) {
		const struct plan_rank *rk = &p->ranks[it * x->dp + d];

		w->part0[d] = np / (size_t)x->cp;
		for (m = 0; m < rk->n; m++, np += (size_t)x->cp) {
			const struct plan_mb *mb = &p->mbs[rk->first + m];
			const struct plan_sample *s = &p->samples[mb->first];

			/* Lengths grouped by CP rank (a counting sort, plan
			 * order kept), sharded ones apart. */
			memset(w->cnt, 0, ((size_t)x->cp + 1) * sizeof *w->cnt);
			nshard = 0;
			for (k = 0; k < mb->n; k++)
				if (s[k].place == PLAN_SHARDED)
					w->shard[nshard++] = s[k].len;
				else
					w->cnt[s[k].place + 1]++;
			for (r = 0; r < x->cp; r++)
				w->cnt[r + 1] += w->cnt[r];
			for (k = 0; k < mb->n; k++)
				if (s[k].place != PLAN_SHARDED)
					w->local[w->cnt[s[k].place]++] = s[k].len;
			/* now cnt[r] is the end of rank r's lengths */
			lo = w->local;
			for (r = 0; r < x->cp; r++) {
				struct part *pt = &w->parts[np + (size_t)r];

				op.local = lo;
				op.nlocal = (size_t)(w->local + w->cnt[r] - lo);
				op.shard = w->shard;
				op.nshard = nshard;
				op.N = x->cp;
				lo = w->local + w->cnt[r];
				ops_part_cost(x->j, &op, &c);
				pt->mb = rk->first + m;
				if ((e = part_build(x, pt, &c,
				    m + 1 == rk->n)) != SK_OK) {
					snprintf(where, sizeof where, "sim: "
					    "iteration %zu, DP rank %d, micro-batch "
					    "%zu, CP rank %d", it, d, m, r);
					err_prefix(where);
					return e;
				}
			}
		}
	}
	return SK_OK;
}
