/*
 * sim: see sim.h.
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
 * ---- Execution ----
 *
 * Each stream runs its entries in order, one at a time.  A compute entry
 * starts when its predecessor is done and its need holds; it completes
 * through an event.  A collective is reached by a GPU when its
 * communication stream has finished the previous collective and its need
 * holds; when every member of the group has reached it (they are all free
 * then), it starts on all of them at once and completes through one event.
 * CP collectives run over the CP group of the DP rank (GPUs d cp ..
 * d cp + cp - 1), DP collectives over every GPU (ZeRO and the gradient
 * all-reduce span dp x cp ranks, cost.h).  Every member of a group meets
 * the group's collectives in the same order, so the counters of arrivals
 * never mix two collectives, and the order is one total order over all
 * GPUs: no deadlock.  The duration is the members' largest (they agree:
 * the sizes come from the same samples).
 *
 * Durations are rounded to integer nanoseconds once per part and
 * operation (at least 1 ns for an operation with work), so sums and
 * differences of times are exact.
 *
 * ---- Breakdown and memory ----
 *
 * Per GPU: busy = sum of compute durations; comm = time the communication
 * stream runs while the compute stream does not (integrated at every change
 * of either stream's state); wait = iteration time - busy - comm, in
 * integer nanoseconds, so busy + comm + wait is the iteration time exactly
 * in nanoseconds.  Memory: the static bytes plus the micro-batch's
 * activations, allocated in L equal steps (after each layer's forward) and
 * freed in L steps (after each layer's backward): a GPU's peak is
 * statics + the largest act_bytes of its parts, written as act x (k / L) so
 * that k = L gives act exactly.  Above HBM - reserve it is an OOM, recorded
 * once per GPU and iteration with the GPU's peak.
 *
 * ---- Threads ----
 *
 * Iterations are independent: workers take them from a shared counter and
 * write only their own report rows, each with its own workspace, sized
 * before they start (no allocation while simulating).  OOM records are
 * appended under a mutex and sorted by (iteration, GPU) at the end, so the
 * report does not depend on the number of threads.  The timeline's
 * iterations are simulated afterwards on the calling thread, in order,
 * their times offset by the sum of the times of every simulated iteration
 * before them: the timeline's clock is the run's.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cost.h"
#include "err.h"
#include "mem.h"
#include "ops.h"
#include "queue.h"
#include "sim.h"
#include "timeline.h"

#define TL_MAX_EVENTS 1000000

/* The per-layer templates (keys per layer) and slots, as listed above. */
enum {
	F_NORM_ATTN, F_QKV, F_ROPE, F_AG, F_ATTN_LOCAL, F_ATTN_SHARD, F_OPROJ,
	F_NORM_MLP, F_GATE_UP, F_SWIGLU, F_DOWN, F_MEM, FW
};
enum {
	B_RECOMP, B_DOWN, B_SWIGLU, B_GATE_UP, B_NORM_MLP, B_OPROJ,
	B_ATTN_SHARD, B_RS, B_ATTN_LOCAL, B_ROPE, B_QKV, B_NORM_ATTN, B_MEM,
	B_GRAD, BW
};
#define HW 2  /* head: head, head_b */

enum phase { PH_FWD, PH_HEAD, PH_BWD, PH_TAIL };
#define NPH_MB 3  /* phases of a micro-batch */

enum kind {
	K_OP, K_RECOMP, K_ALLOC, K_FREE,       /* compute stream */
	K_AG, K_RS, K_GRAD, K_HEAD_GRAD, K_PARAM  /* communication stream */
};

#define NEED_NONE UINT16_MAX
#define KEY_END UINT32_MAX

/* One entry of a stream's list. */
struct ent {
	sim_ns dur;      /* ns; 0 for a memory step */
	uint16_t slot;   /* key within its repetition */
	uint16_t need;   /* other stream's position needed, from the
	                    repetition's base; NEED_NONE */
	uint8_t kind;    /* enum kind */
	uint8_t op;      /* enum op_id of a K_OP */
};

/* Entries of a part: compute forward 11, head 2, backward 12; comm
 * forward 1, backward 2. */
#define PART_ENTS 28

/* One CP rank's part of one micro-batch: its lists and totals. */
struct part {
	struct ent e[PART_ENTS];
	uint8_t off[2][NPH_MB], n[2][NPH_MB];  /* list of stream s, phase ph */
	double act;      /* activation bytes held until its backward */
	double flops;    /* compute FLOPs of the whole part, all layers */
	size_t mb;       /* index into plan->mbs */
};

/* Where a stream is in its program. */
struct cursor {
	const struct ent *e;        /* current entry */
	const struct ent *start, *end;  /* its list */
	uint32_t key;               /* position of *e; KEY_END when done */
	uint32_t base;              /* key of slot 0 of this repetition */
	uint32_t m;                 /* micro-batch; M for the tail */
	uint16_t rep;
	uint8_t phase;
};

enum state { ST_IDLE, ST_WAIT, ST_RUN, ST_ARRIVED, ST_DONE };

struct gstate {
	struct cursor c[2];       /* compute, communication */
	uint32_t need[2];         /* ST_WAIT: other stream's key needed */
	uint8_t st[2];            /* enum state */
	uint8_t on[2];            /* stream executing */
	uint8_t oom;              /* OOM seen this iteration */
	int d, r;
	uint32_t M;               /* micro-batches */
	const struct part *p0;    /* part of micro-batch 0; stride cp */
	sim_ns last;              /* last change of either stream's state */
	sim_ns busy, exposed;     /* ns */
	uint32_t mem_k;           /* layers of activations held */
	double act_peak;          /* largest activation bytes held */
};

struct group {
	uint32_t arrived;
	sim_ns dur;
};

/* What the workers share: read-only while simulating but for the report
 * rows (each worker its own), tns (likewise), the counters and the OOM
 * list (under mu). */
struct ctx {
	const struct plan *p;
	const struct job *j;
	int dp, cp, G, L;
	uint32_t T;                  /* keys per micro-batch */
	double statics, avail;       /* bytes */
	sim_ns grad_ns, head_grad_ns, param_ns, opt_ns;
	double opt_flops;
	/* tails: [stream][0 with micro-batches, 1 without] */
	struct ent *tail[2][2];
	uint16_t ntail[2][2];
	size_t max_parts, max_n;     /* sizes of the workspaces */
	struct report *r;
	sim_ns *tns;                 /* per reported iteration: its time, ns */
	/* parallel phase: iterations [first, end) less [tl_lo, tl_hi) */
	size_t first, end, tl_lo, tl_hi;
	atomic_size_t cursor;        /* next iteration to hand out */
	atomic_int stop;
	pthread_mutex_t mu;
};

/* A worker's workspace. */
struct ws {
	struct ctx *x;
	struct sim_queue q;
	struct gstate *gpu;
	struct group *grp;        /* dp CP groups, then the DP group */
	struct part *parts;
	size_t *part0;            /* per DP rank: its first part's micro-batch */
	uint32_t *local, *shard, *cnt;  /* sample scratch; per-rank counts */
	uint32_t *ids;            /* timeline: sample ids */
	struct timeline *tl;      /* NULL but on the calling thread's timeline
	                             phase */
	sim_ns tl_off;            /* ns added to timeline times */
	size_t it;                /* iteration being simulated */
	uint64_t events;
	int err;
	char msg[ERR_MSG_MAX];
	pthread_t th;
};

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

static const char *
ent_name(const struct ent *e)
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

static void
ctx_free(struct ctx *x)
{
	int s, v;

	for (s = 0; s < 2; s++)
		for (v = 0; v < 2; v++)
			free(x->tail[s][v]);
}

/* Check the plan's structure over [first, end) and size the workspaces. */
static int
ctx_scan(struct ctx *x, size_t first, size_t end)
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

static int
ctx_init(struct ctx *x, const struct plan *p, struct report *r)
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

static void
ws_free(struct ws *w)
{
	sim_queue_free(&w->q);
	free(w->gpu);
	free(w->grp);
	free(w->parts);
	free(w->part0);
	free(w->local);
	free(w->shard);
	free(w->cnt);
	free(w->ids);
}

static int
ws_init(struct ws *w, struct ctx *x)
{
	memset(w, 0, sizeof *w);
	w->x = x;
	/* In flight at once: one compute operation per GPU, one collective
	 * per GPU at most. */
	if (sim_queue_init(&w->q, 2 * (size_t)x->G + 1) != SK_OK)
		return SK_ERR_NOMEM;
	w->gpu = calloc((size_t)x->G, sizeof *w->gpu);
	w->grp = calloc((size_t)x->dp + 1, sizeof *w->grp);
	w->parts = calloc(x->max_parts, sizeof *w->parts);
	w->part0 = calloc((size_t)x->dp, sizeof *w->part0);
	w->local = calloc(x->max_n, sizeof *w->local);
	w->shard = calloc(x->max_n, sizeof *w->shard);
	w->cnt = calloc((size_t)x->cp + 1, sizeof *w->cnt);
	w->ids = calloc(x->max_n, sizeof *w->ids);
	if (w->gpu == NULL || w->grp == NULL || w->parts == NULL ||
	    w->part0 == NULL || w->local == NULL || w->shard == NULL ||
	    w->cnt == NULL || w->ids == NULL) {
		ws_free(w);
		return err_set(SK_ERR_NOMEM, "sim: out of memory for a workspace "
		    "of %zu parts", x->max_parts);
	}
	return SK_OK;
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
static int
build_parts(struct ws *w, size_t it)
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

/* ---- cursors ---- */

static inline const struct part *
part_of(const struct ws *w, const struct gstate *g, uint32_t m)
{
	return g->p0 + (size_t)m * (size_t)w->x->cp;
}

/* Point c at the list of its (m, phase) for stream s, first repetition. */
static void
cur_list(const struct ws *w, const struct gstate *g, struct cursor *c, int s)
{
	const struct ctx *x = w->x;
	const struct part *pt;

	c->rep = 0;
	if (c->phase == PH_TAIL) {
		c->base = c->m * x->T;
		c->e = c->start = x->tail[s][g->M == 0];
		c->end = c->e + x->ntail[s][g->M == 0];
		return;
	}
	pt = part_of(w, g, c->m);
	c->base = c->m * x->T + (c->phase == PH_FWD ? 0 :
	    c->phase == PH_HEAD ? FW * (uint32_t)x->L :
	    FW * (uint32_t)x->L + HW);
	c->e = c->start = pt->e + pt->off[s][c->phase];
	c->end = c->e + pt->n[s][c->phase];
}

/* Move c to its current entry, or on to the next entry that exists. */
static void
cur_settle(const struct ws *w, const struct gstate *g, struct cursor *c, int s)
{
	const struct ctx *x = w->x;

	for (;;) {
		if (c->e < c->end) {
			c->key = c->base + c->e->slot;
			return;
		}
		/* the same list for the next layer, unless it is empty */
		if ((c->phase == PH_FWD || c->phase == PH_BWD) &&
		    c->start < c->end && c->rep + 1 < x->L) {
			c->rep++;
			c->base += c->phase == PH_FWD ? FW : BW;
			c->e = c->start;
			continue;
		}
		if (c->phase == PH_TAIL) {
			c->key = KEY_END;
			return;
		}
		if (c->phase == PH_BWD) {
			c->m++;
			c->phase = c->m == g->M ? PH_TAIL : PH_FWD;
		} else {
			c->phase++;
		}
		cur_list(w, g, c, s);
	}
}

static inline void
cur_next(const struct ws *w, const struct gstate *g, struct cursor *c, int s)
{
	c->e++;
	cur_settle(w, g, c, s);
}

static void
cur_start(const struct ws *w, const struct gstate *g, struct cursor *c, int s)
{
	c->m = 0;
	c->phase = g->M == 0 ? PH_TAIL : PH_FWD;
	cur_list(w, g, c, s);
	cur_settle(w, g, c, s);
}

/* ---- execution ---- */

enum { EV_COMP, EV_COLL };

/* Account for g's streams up to t, before one of them changes state. */
static inline void
settle(struct gstate *g, sim_ns t)
{
	if (g->on[1] && !g->on[0])
		g->exposed += t - g->last;
	g->last = t;
}

/*
 * The timeline event of entry e of g's stream s, started at t: a compute
 * operation lists the samples of its part, a CP collective the sharded
 * ones, a DP collective none; the tail's operations (after the last
 * micro-batch) carry micro-batch M, one past the last.
 */
static int
tl_op(struct ws *w, const struct gstate *g, int s, const struct ent *e,
    sim_ns t, sim_ns dur)
{
	const struct ctx *x = w->x;
	const struct cursor *c = &g->c[s];
	const struct plan_mb *mb;
	const struct plan_sample *sm;
	size_t k, n = 0;

	if (c->phase != PH_TAIL && e->kind != K_GRAD) {
		mb = &x->p->mbs[part_of(w, g, c->m)->mb];
		sm = &x->p->samples[mb->first];
		for (k = 0; k < mb->n; k++)
			if (sm[k].place == PLAN_SHARDED ||
			    (s == 0 && sm[k].place == g->r))
				w->ids[n++] = sm[k].index;
	}
	return timeline_op(w->tl, (int)(g - w->gpu), s, ent_name(e),
	    w->tl_off + t, dur, w->it, c->m, n > 0 ? w->ids : NULL, n);
}

/* One layer's activations allocated (dir 1) or freed (-1) at t. */
static int
mem_step(struct ws *w, struct gstate *g, int dir, sim_ns t)
{
	const struct ctx *x = w->x;
	double held;
	int gi = (int)(g - w->gpu), e;

	g->mem_k = dir > 0 ? g->mem_k + 1 : g->mem_k - 1;
	held = part_of(w, g, g->c[0].m)->act * ((double)g->mem_k / x->L);
	if (held > g->act_peak)
		g->act_peak = held;
	if (w->tl == NULL)
		return SK_OK;
	if ((e = timeline_memory(w->tl, gi, w->tl_off + t,
	    x->statics + held)) != SK_OK)
		return e;
	if (!g->oom && x->statics + held > x->avail) {
		g->oom = 1;
		return timeline_oom(w->tl, gi, w->tl_off + t,
		    x->statics + held, x->avail);
	}
	return SK_OK;
}

/* Run g's compute stream from its current entry at t: through memory
 * steps, then start the entry or wait for the other stream. */
static int
try_comp(struct ws *w, struct gstate *g, sim_ns t)
{
	struct cursor *c = &g->c[0];
	const struct ent *e;
	int err;

	for (;;) {
		if (c->key == KEY_END) {
			g->st[0] = ST_DONE;
			return SK_OK;
		}
		e = c->e;
		if (e->kind == K_ALLOC || e->kind == K_FREE) {
			if ((err = mem_step(w, g, e->kind == K_ALLOC ? 1 : -1,
			    t)) != SK_OK)
				return err;
			cur_next(w, g, c, 0);
			continue;
		}
		if (e->need != NEED_NONE && g->c[1].key < c->base + e->need) {
			g->st[0] = ST_WAIT;
			g->need[0] = c->base + e->need;
			return SK_OK;
		}
		settle(g, t);
		g->on[0] = 1;
		g->st[0] = ST_RUN;
		g->busy += e->dur;
		if (w->tl != NULL && (err = tl_op(w, g, 0, e, t,
		    e->dur)) != SK_OK)
			return err;
		return sim_queue_push(&w->q, t + e->dur, EV_COMP,
		    (uint32_t)(g - w->gpu), 0);
	}
}

/* Start group gi's collective at t on all its members. */
static int
coll_start(struct ws *w, uint32_t gi, sim_ns t)
{
	const struct ctx *x = w->x;
	struct group *gr = &w->grp[gi];
	int k, first = gi < (uint32_t)x->dp ? (int)gi * x->cp : 0;
	int n = gi < (uint32_t)x->dp ? x->cp : x->G, e;
	sim_ns dur = gr->dur;

	gr->arrived = 0;
	gr->dur = 0;
	for (k = first; k < first + n; k++) {
		struct gstate *g = &w->gpu[k];

		settle(g, t);
		g->on[1] = 1;
		g->st[1] = ST_RUN;
		if (w->tl != NULL && (e = tl_op(w, g, 1, g->c[1].e, t,
		    dur)) != SK_OK)
			return e;
	}
	return sim_queue_push(&w->q, t + dur, EV_COLL, gi, 0);
}

/* Bring g's communication stream to its next collective at t: wait for
 * the compute stream, or arrive (and start it if g is the last member). */
static int
try_comm(struct ws *w, struct gstate *g, sim_ns t)
{
	const struct ctx *x = w->x;
	struct cursor *c = &g->c[1];
	const struct ent *e;
	struct group *gr;
	uint32_t gi, size;

	if (c->key == KEY_END) {
		g->st[1] = ST_DONE;
		return SK_OK;
	}
	e = c->e;
	if (e->need != NEED_NONE && g->c[0].key < c->base + e->need) {
		g->st[1] = ST_WAIT;
		g->need[1] = c->base + e->need;
		return SK_OK;
	}
	g->st[1] = ST_ARRIVED;
	if (e->kind == K_AG || e->kind == K_RS) {
		gi = (uint32_t)g->d;
		size = (uint32_t)x->cp;
	} else {
		gi = (uint32_t)x->dp;
		size = (uint32_t)x->G;
	}
	gr = &w->grp[gi];
	if (e->dur > gr->dur)
		gr->dur = e->dur;
	if (++gr->arrived < size)
		return SK_OK;
	return coll_start(w, gi, t);
}

/* Start what can start on g's streams at t.  Only the compute stream's
 * position moves here (arriving at a collective does not move the
 * communication stream's), so compute then communication is enough. */
static int
kick(struct ws *w, struct gstate *g, sim_ns t)
{
	int e;

	if ((g->st[0] == ST_IDLE || (g->st[0] == ST_WAIT &&
	    g->c[1].key >= g->need[0])) && (e = try_comp(w, g, t)) != SK_OK)
		return e;
	if (g->st[1] == ST_IDLE || (g->st[1] == ST_WAIT &&
	    g->c[0].key >= g->need[1]))
		return try_comm(w, g, t);
	return SK_OK;
}

static int
on_event(struct ws *w, const struct sim_event *ev)
{
	const struct ctx *x = w->x;
	struct gstate *g;
	int k, first, n, e;

	if (ev->type == EV_COMP) {
		g = &w->gpu[ev->a];
		settle(g, ev->t);
		g->on[0] = 0;
		g->st[0] = ST_IDLE;
		cur_next(w, g, &g->c[0], 0);
		return kick(w, g, ev->t);
	}
	first = ev->a < (uint32_t)x->dp ? (int)ev->a * x->cp : 0;
	n = ev->a < (uint32_t)x->dp ? x->cp : x->G;
	for (k = first; k < first + n; k++) {
		g = &w->gpu[k];
		settle(g, ev->t);
		g->on[1] = 0;
		g->st[1] = ST_IDLE;
		cur_next(w, g, &g->c[1], 1);
		if ((e = kick(w, g, ev->t)) != SK_OK)
			return e;
	}
	return SK_OK;
}

/* Fill iteration it's report row from the finished simulation. */
static int
fill_row(struct ws *w, size_t it, sim_ns tend)
{
	struct ctx *x = w->x;
	const struct plan *p = x->p;
	struct report *r = x->r;
	size_t row = it - r->first, m, k;
	double mf = 0;
	uint64_t tokens = 0;
	int gi, d, e = SK_OK;

	x->tns[row] = tend;
	r->time[row] = (double)tend * 1e-9;
	for (d = 0; d < x->dp; d++) {
		const struct plan_rank *rk = &p->ranks[it * x->dp + d];

		for (m = 0; m < rk->n; m++) {
			const struct plan_mb *mb = &p->mbs[rk->first + m];

			for (k = 0; k < mb->n; k++) {
				double S = p->samples[mb->first + k].len;

				tokens += p->samples[mb->first + k].len;
				mf += cost_seq_flops(x->j, S, COST_FWD) +
				    cost_seq_flops(x->j, S, COST_BWD);
			}
		}
	}
	r->tokens[row] = tokens;
	r->model_flops[row] = mf;
	for (gi = 0; gi < x->G; gi++) {
		const struct gstate *g = &w->gpu[gi];
		struct report_cell *cell = report_cell(r, row, gi);
		double fl = x->opt_flops;

		for (m = 0; m < g->M; m++)
			fl += part_of(w, g, (uint32_t)m)->flops;
		cell->busy = (double)g->busy * 1e-9;
		cell->comm = (double)g->exposed * 1e-9;
		cell->wait = (double)(tend - g->busy - g->exposed) * 1e-9;
		cell->flops = fl;
		cell->peak = x->statics + g->act_peak;
		if (cell->peak > x->avail) {
			pthread_mutex_lock(&x->mu);
			e = report_add_oom(r, it, gi, cell->peak, x->avail);
			pthread_mutex_unlock(&x->mu);
			if (e != SK_OK)
				return e;
		}
	}
	return SK_OK;
}

/* Simulate iteration it and fill its report row. */
static int
run_iter(struct ws *w, size_t it)
{
	const struct ctx *x = w->x;
	struct sim_event ev;
	sim_ns tend = 0;
	int gi, d, e;

	if ((e = build_parts(w, it)) != SK_OK)
		return e;
	w->it = it;
	sim_queue_clear(&w->q);
	memset(w->grp, 0, ((size_t)x->dp + 1) * sizeof *w->grp);
	for (gi = 0; gi < x->G; gi++) {
		struct gstate *g = &w->gpu[gi];

		d = gi / x->cp;
		memset(g, 0, sizeof *g);
		g->d = d;
		g->r = gi % x->cp;
		g->M = (uint32_t)x->p->ranks[it * x->dp + d].n;
		g->p0 = &w->parts[w->part0[d] * (size_t)x->cp + (size_t)g->r];
		cur_start(w, g, &g->c[0], 0);
		cur_start(w, g, &g->c[1], 1);
		if (w->tl != NULL && (e = timeline_memory(w->tl, gi, w->tl_off,
		    x->statics)) != SK_OK)
			return e;
	}
	for (gi = 0; gi < x->G; gi++)
		if ((e = kick(w, &w->gpu[gi], 0)) != SK_OK)
			return e;
	while (sim_queue_pop(&w->q, &ev)) {
		w->events++;
		tend = ev.t;
		if ((e = on_event(w, &ev)) != SK_OK)
			return e;
	}
	for (gi = 0; gi < x->G; gi++) {
		const struct gstate *g = &w->gpu[gi];

		if (g->st[0] != ST_DONE || g->st[1] != ST_DONE)
			return err_set(SK_ERR_FORMAT, "sim: iteration %zu: GPU %d "
			    "stalls (compute at %u, communication at %u of "
			    "%u per micro-batch): its groups disagree", it, gi,
			    (unsigned)g->c[0].key, (unsigned)g->c[1].key,
			    (unsigned)x->T);
	}
	return fill_row(w, it, tend);
}

/* ---- threads and the run ---- */

static void *
worker(void *arg)
{
	struct ws *w = arg;
	struct ctx *x = w->x;
	size_t it;

	while (!atomic_load(&x->stop)) {
		it = atomic_fetch_add(&x->cursor, 1);
		if (it >= x->end)
			break;
		if (it >= x->tl_lo && it < x->tl_hi)
			continue;
		if ((w->err = run_iter(w, it)) != SK_OK) {
			snprintf(w->msg, sizeof w->msg, "%s", err_msg());
			atomic_store(&x->stop, 1);
			break;
		}
	}
	return NULL;
}

static int
cmp_oom(const void *a, const void *b)
{
	const struct report_oom *x = a, *y = b;

	if (x->iter != y->iter)
		return x->iter < y->iter ? -1 : 1;
	return (x->gpu > y->gpu) - (x->gpu < y->gpu);
}

void
sim_opts_default(struct sim_opts *o)
{
	memset(o, 0, sizeof *o);
	/* the timeline of the first two iterations (skrull-sim(1)) */
	o->tl_first = 0;
	o->tl_last = 1;
	o->tl_max_events = TL_MAX_EVENTS;
}

/* The timeline phase: iterations [lo, hi) on this thread, in order. */
static int
run_timeline(struct ws *w, const struct sim_opts *o, size_t lo, size_t hi)
{
	struct ctx *x = w->x;
	const struct job *j = &x->p->job;
	sim_ns off = 0;
	size_t it;
	int e = SK_OK;

	w->tl = timeline_open(o->timeline, x->G, j->cluster.gpus_per_node,
	    o->tl_max_events > 0 ? o->tl_max_events : TL_MAX_EVENTS);
	if (w->tl == NULL)
		return err_code() != SK_OK ? err_code() : SK_ERR_IO;
	for (it = x->first; it < lo; it++)
		off += x->tns[it - x->first];
	for (it = lo; it < hi && e == SK_OK; it++) {
		w->tl_off = off;
		if ((e = run_iter(w, it)) == SK_OK)
			off += x->tns[it - x->first];
	}
	if (e != SK_OK) {
		timeline_close(w->tl, 1);
	} else {
		e = timeline_close(w->tl, 0);
	}
	w->tl = NULL;
	return e;
}

int
sim_run(const struct plan *p, const struct sim_opts *o, struct report *r)
{
	struct ctx x;
	struct ws *ws = NULL;
	size_t count, end, par, lo = 0, hi = 0;
	long ncpu;
	int nth, nrun, i, ninit = 0, mu = 0, e;
	uint64_t events = 0;

	report_init(r);
	if (o->first > p->niter)
		return err_set(SK_ERR_RANGE, "sim: iteration %zu: the plan has "
		    "%zu", o->first, p->niter);
	count = o->count > 0 ? o->count : p->niter - o->first;
	if (count == 0 || count > p->niter - o->first)
		return err_set(SK_ERR_RANGE, "sim: iterations %zu to %zu: the "
		    "plan has %zu", o->first, o->first + count, p->niter);
	end = o->first + count;
	/* The report (a cell per GPU and iteration) and the iteration times
	 * beside the plan already in memory. */
	if ((e = mem_check("sim", (double)p->nsamples * MEM_PLAN_BYTES +
	    (double)count * (MEM_SIM_ITER_BYTES + MEM_SIM_CELL_BYTES *
	    (double)p->job.dp * (double)p->job.cp), p->nsamples)) != SK_OK)
		return e;
	if ((e = ctx_init(&x, p, r)) != SK_OK ||
	    (e = ctx_scan(&x, o->first, end)) != SK_OK ||
	    (e = report_alloc(r, "sim", x.G, o->first, count)) != SK_OK)
		goto out;
	if ((x.tns = calloc(count, sizeof *x.tns)) == NULL) {
		e = err_set(SK_ERR_NOMEM, "sim: out of memory");
		goto out;
	}
	if (o->timeline != NULL) {
		lo = o->tl_first > o->first ? o->tl_first : o->first;
		hi = o->tl_last < end - 1 ? o->tl_last + 1 : end;
		if (lo > hi)
			lo = hi;
	}
	x.first = o->first;
	x.end = end;
	x.tl_lo = lo;
	x.tl_hi = hi;
	atomic_init(&x.cursor, o->first);
	atomic_init(&x.stop, 0);

	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	nth = o->threads > 0 ? o->threads : ncpu > 0 ? (int)ncpu : 1;
	par = count - (hi - lo);
	if ((size_t)nth > par)
		nth = par > 0 ? (int)par : 1;
	if ((ws = calloc((size_t)nth, sizeof *ws)) == NULL) {
		e = err_set(SK_ERR_NOMEM, "sim: out of memory");
		goto out;
	}
	for (ninit = 0; ninit < nth; ninit++)
		if ((e = ws_init(&ws[ninit], &x)) != SK_OK)
			goto out;
	if (pthread_mutex_init(&x.mu, NULL) != 0) {
		e = err_set(SK_ERR_NOMEM, "sim: cannot make a mutex");
		goto out;
	}
	mu = 1;

	/* A thread that fails to start leaves its iterations to the others:
	 * the calling thread works until the counter runs out. */
	for (nrun = 1; nrun < nth; nrun++)
		if (pthread_create(&ws[nrun].th, NULL, worker, &ws[nrun]) != 0)
			break;
	worker(&ws[0]);
	for (i = 1; i < nrun; i++)
		pthread_join(ws[i].th, NULL);
	for (i = 0; i < nth; i++)
		if (ws[i].err != SK_OK) {
			e = err_set(ws[i].err, "%s", ws[i].msg);
			goto out;
		}
	if (o->timeline != NULL && (e = run_timeline(&ws[0], o, lo,
	    hi)) != SK_OK)
		goto out;
	for (i = 0; i < nth; i++)
		events += ws[i].events;
	if (o->events != NULL)
		*o->events = events;
	if (r->noom > 1)
		qsort(r->oom, r->noom, sizeof *r->oom, cmp_oom);
	if ((e = report_bounds(r, p)) == SK_OK)
		e = report_finish(r, &p->job);
out:
	if (mu)
		pthread_mutex_destroy(&x.mu);
	for (i = 0; i < ninit; i++)
		ws_free(&ws[i]);
	free(ws);
	free(x.tns);
	ctx_free(&x);
	if (e != SK_OK)
		report_free(r);
	return e;
}

int
sim_predict(const struct plan *p, const struct model *m, enum precision prec,
    const struct cluster *c, size_t first, size_t count, int threads,
    double *sec, double *bound)
{
	struct sim_opts o;
	struct report r;
	struct plan q;
	size_t i;
	int e;

	if (count == 0)
		return err_set(SK_ERR_RANGE, "sim: no iterations to predict");
	/* A shallow copy: the simulator only reads the plan's arrays, and the
	 * copy's job is the one the executor runs. */
	q = *p;
	q.job.model = *m;
	q.job.precision = prec;
	q.job.zero = 0;
	q.job.recompute = RECOMPUTE_NONE;
	q.job.cluster = *c;
	sim_opts_default(&o);
	o.first = first;
	o.count = count;
	o.threads = threads;
	if ((e = sim_run(&q, &o, &r)) != SK_OK)
		return e;
	for (i = 0; i < count; i++) {
		sec[i] = r.time[i];
		if (bound != NULL)
			bound[i] = r.bounds[i];
	}
	report_free(&r);
	return SK_OK;
}
