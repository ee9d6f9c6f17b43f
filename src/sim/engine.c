/*
 * engine: the event engine, one iteration at a time on a worker's
 * workspace, see sim_int.h.
 *
 * ---- Execution ----
 *
 * Each stream runs its entries in order, one at a time.  A compute entry
 * starts when its predecessor is done and its need holds; it completes
 * through an event.  A collective is reached by a GPU when its stream
 * (the communication stream for a shard group's, the DP stream for the
 * DP group's) has finished the previous collective and its need holds;
 * when every member of the group has reached it (they are all free on
 * that stream then), it starts on all of them at once.  A shard group's
 * collectives run over its GPUs (a block of the micro-batch's ranks,
 * contiguous GPUs), DP collectives over every GPU (ZeRO and the gradient
 * all-reduce span dp x cp ranks, cost.h).  Every member of a group meets
 * the group's collectives in the same order, so the counters of arrivals
 * never mix two collectives, and on each stream the order is one total
 * order over all GPUs (prog.c); the DP stream waits only for the compute
 * stream and only the optimizer waits for it, so the two orders cannot
 * cross: no deadlock.  The duration is the members' largest (they agree:
 * the sizes come from the same samples).
 *
 * ---- Links ----
 *
 * A collective's time (ops_group_time, ops_dp_cost) is its latency floor
 * (the same collective's time at 0 bytes: ops_group_floor, the DP
 * floors) plus the time its bytes take over the link that paces it:
 * NVLink for a group inside one node, the GPU's network link (ib_bw is
 * per GPU) for one that spans nodes.  When the two communication streams
 * of a GPU both move bytes over the same kind of link at once, each
 * gets half of it: a collective's bytes advance at half speed while any
 * of its members shares its link so, at full speed otherwise (rem counts
 * half nanoseconds, 2 per ns alone, 1 shared; its end is moved whenever
 * that changes, sim_queue_set).  Then it pays its latency floor, which
 * moves no bytes and shares nothing.  Two collectives sharing a link from
 * start to end thus take as long as run one after the other, never less;
 * a collective on the network and one on NVLink do not slow each other.
 * Left out: the SMs that NCCL's kernels take from compute, and the
 * intra-node hops of a collective paced by the network.
 *
 * ---- Breakdown and memory ----
 *
 * Per GPU: busy = sum of compute durations; comm = time at least one of
 * its communication streams (shard groups' or DP) runs a collective while
 * the compute stream does not (integrated at every change of any stream's
 * state); wait = iteration time - busy - comm, in integer nanoseconds, so
 * busy + comm + wait is the iteration time exactly in nanoseconds.
 * Memory: the static bytes plus the micro-batch's activations, allocated
 * in L equal steps (after each layer's forward) and freed in L steps
 * (after each layer's backward): a GPU's peak is statics + the largest
 * act_bytes of its parts, written as act x (k / L) so that k = L gives act
 * exactly.  Above HBM - reserve it is an OOM, recorded once per GPU and
 * iteration with the GPU's peak.
 */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "queue.h"
#include "sim_int.h"
#include "timeline.h"

void
engine_ws_free(struct ws *w)
{
	sim_queue_free(&w->q);
	free(w->gpu);
	free(w->grp);
	free(w->parts);
	free(w->cent);
	free(w->cgrp);
	free(w->part0);
	free(w->nrun);
	free(w->pos);
	free(w->local);
	free(w->shard);
	free(w->cnt);
	free(w->gf);
	free(w->gs);
	free(w->gkeys);
	free(w->gag);
	free(w->grs);
	free(w->ids);
}

int
engine_ws_init(struct ws *w, struct ctx *x)
{
	memset(w, 0, sizeof *w);
	w->x = x;
	/* In flight at once: one compute operation per GPU, a shard group's
	 * collective per GPU at most (keyed by its first GPU) and the DP
	 * group's (key G). */
	if (sim_queue_init(&w->q, 2 * (size_t)x->G + 1, (size_t)x->G + 1) !=
	    SK_OK)
		return SK_ERR_NOMEM;
	w->gpu = calloc((size_t)x->G, sizeof *w->gpu);
	w->grp = calloc(x->max_grp, sizeof *w->grp);
	w->parts = calloc(x->max_parts, sizeof *w->parts);
	w->cent = calloc(x->max_cent, sizeof *w->cent);
	w->cgrp = calloc(x->max_cent, sizeof *w->cgrp);
	w->part0 = calloc((size_t)x->dp, sizeof *w->part0);
	w->nrun = calloc((size_t)x->dp, sizeof *w->nrun);
	w->pos = calloc((size_t)x->dp, sizeof *w->pos);
	w->local = calloc(x->max_n, sizeof *w->local);
	w->shard = calloc(x->max_n, sizeof *w->shard);
	w->cnt = calloc((size_t)x->max_w + 1, sizeof *w->cnt);
	w->gf = calloc(x->max_n, sizeof *w->gf);
	w->gs = calloc(x->max_n, sizeof *w->gs);
	w->gkeys = calloc(x->max_n, sizeof *w->gkeys);
	w->gag = calloc(x->max_n, sizeof *w->gag);
	w->grs = calloc(x->max_n, sizeof *w->grs);
	w->ids = calloc(x->max_n, sizeof *w->ids);
	if (w->gpu == NULL || w->grp == NULL || w->parts == NULL ||
	    w->cent == NULL || w->cgrp == NULL || w->part0 == NULL ||
	    w->nrun == NULL || w->pos == NULL || w->local == NULL ||
	    w->shard == NULL || w->cnt == NULL || w->gf == NULL ||
	    w->gs == NULL || w->gkeys == NULL || w->gag == NULL ||
	    w->grs == NULL || w->ids == NULL) {
		engine_ws_free(w);
		return err_set(SK_ERR_NOMEM, "sim: out of memory for a workspace "
		    "of %zu parts", x->max_parts);
	}
	return SK_OK;
}

/* ---- cursors ---- */

/* Point c at the list of its (m, phase) for stream s, first repetition. */
static void
cur_list(const struct ws *w, const struct gstate *g, struct cursor *c, int s)
{
	const struct ctx *x = w->x;
	const struct part *pt;

	c->rep = 0;
	if (c->phase == PH_TAIL) {
		c->base = c->m * x->T;
		c->e = c->start = x->tail[s][g->tv];
		c->end = c->e + x->ntail[s][g->tv];
		return;
	}
	pt = part_of(w, g, c->m);
	c->base = c->m * x->T + (c->phase == PH_FWD ? 0 :
	    c->phase == PH_HEAD ? FW * (uint32_t)x->L :
	    FW * (uint32_t)x->L + HW);
	c->e = c->start = pt->list[s] + pt->off[s][c->phase];
	c->end = c->e + pt->n[s][c->phase];
}

/* Move c to its current entry, or on to the next entry that exists. */
static void
cur_settle(const struct ws *w, const struct gstate *g, struct cursor *c, int s)
{
	const struct ctx *x = w->x;

	for (;;) {
		/* layer 0's backward has no layer below to recompute */
		if (c->e < c->end && c->e->slot == B_RECOMP_NEXT &&
		    c->e->kind == K_RECOMP && c->rep + 1 == x->L) {
			c->e++;
			continue;
		}
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

enum { EV_COMP, EV_BYTES, EV_COLL };

/* Account for g's streams up to t, before one of them changes state. */
static inline void
settle(struct gstate *g, sim_ns t)
{
	if ((g->on[S_COMM] || g->on[S_DP]) && !g->on[S_COMP])
		g->exposed += t - g->last;
	g->last = t;
}

/* Whether g's stream s may try its entry: idle, or waiting for a key its
 * dep stream has reached. */
static inline int
may_go(const struct gstate *g, int s)
{
	return g->st[s] == ST_IDLE || (g->st[s] == ST_WAIT &&
	    g->c[g->c[s].e->dep].key >= g->need[s]);
}

/*
 * The timeline event of entry e of g's stream s, started at t: a compute
 * operation lists the samples of its part, a shard group's collective the
 * group's samples (and the group, unless it is a micro-batch's whole CP
 * group), a DP collective none; the tail's operations (after the last
 * micro-batch) carry micro-batch M, one past the last.
 */
static int
tl_listed(const struct plan_sample *sm, const struct group *gr, int q)
{
	if (gr != NULL)
		return sm->place == PLAN_SHARDED && sm->first == gr->first &&
		    sm->size == gr->n;
	if (sm->place == PLAN_SHARDED)
		return q >= sm->first && q < sm->first + sm->size;
	return sm->place == q;
}

static enum timeline_phase
tl_phase(int phase)
{
	return phase == PH_FWD ? TIMELINE_FORWARD : phase == PH_HEAD ?
	    TIMELINE_HEAD : phase == PH_BWD ? TIMELINE_BACKWARD : TIMELINE_STEP;
}

/* The layer of entry e at cursor c: the repetition forward, counted down
 * backward, where a selective recompute is the next layer's (the head's
 * the last layer's); in the tail a gradient's (issued from the last
 * layer down) or a parameter all-gather's (from layer 0 up, after the
 * head gradient and the optimizer's slots: prog.c, ctx_tails); -1 for
 * the head's and the optimizer's. */
static int
tl_layer(const struct ctx *x, const struct gstate *g, const struct cursor *c,
    const struct ent *e)
{
	if (c->phase == PH_FWD)
		return c->rep;
	if (c->phase == PH_HEAD && e->kind == K_RECOMP)
		return (int)x->L - 1;
	if (c->phase == PH_BWD)
		return (int)x->L - 1 - c->rep -
		    (e->kind == K_RECOMP && e->slot == B_RECOMP_NEXT);
	if (c->phase == PH_TAIL && e->kind == K_GRAD)
		return (int)x->L - 1 - e->slot;
	if (c->phase == PH_TAIL && e->kind == K_PARAM)
		return e->slot - 2 - (g->tv ? (int)x->L : 0);
	return -1;
}

static int
tl_op(struct ws *w, const struct gstate *g, int s, const struct ent *e,
    sim_ns t, sim_ns dur)
{
	const struct ctx *x = w->x;
	const struct cursor *c = &g->c[s];
	const struct group *gr = NULL;
	const struct part *pt;
	const struct plan_mb *mb;
	const struct plan_sample *sm;
	enum timeline_phase ph;
	size_t k, n = 0;
	int layer;

	if (e->kind == K_AG || e->kind == K_RS)
		gr = &w->grp[w->cgrp[e - w->cent]];
	if (c->phase != PH_TAIL && s != S_DP) {
		pt = part_of(w, g, c->m);
		mb = &x->p->mbs[pt->mb];
		sm = &x->p->samples[mb->first];
		for (k = 0; k < mb->n; k++)
			if (tl_listed(&sm[k], gr, pt->q))
				w->ids[n++] = sm[k].index;
	}
	ph = tl_phase(c->phase);
	layer = tl_layer(x, g, c, e);
	if (gr != NULL && !gr->whole)
		return timeline_coll(w->tl, (int)(g - w->gpu), prog_ent_name(e),
		    w->tl_off + t, dur, w->it, c->m, ph, layer, gr->g0, gr->n,
		    n > 0 ? w->ids : NULL, n);
	return timeline_op(w->tl, (int)(g - w->gpu), s, prog_ent_name(e),
	    w->tl_off + t, dur, w->it, c->m, ph, layer, n > 0 ? w->ids : NULL,
	    n);
}

/* One layer's activations allocated (dir 1) or freed (-1) at t. */
static int
mem_step(struct ws *w, struct gstate *g, int dir, sim_ns t)
{
	const struct ctx *x = w->x;
	double held;
	int gi = (int)(g - w->gpu), e;

	g->mem_k = dir > 0 ? g->mem_k + 1 : g->mem_k - 1;
	held = part_of(w, g, g->c[S_COMP].m)->act *
	    ((double)g->mem_k / x->L);
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
 * steps, then start the entry or wait for the stream it depends on. */
static int
try_comp(struct ws *w, struct gstate *g, sim_ns t)
{
	struct cursor *c = &g->c[S_COMP];
	const struct ent *e;
	int err;

	for (;;) {
		if (c->key == KEY_END) {
			g->st[S_COMP] = ST_DONE;
			return SK_OK;
		}
		e = c->e;
		if (e->kind == K_ALLOC || e->kind == K_FREE) {
			if ((err = mem_step(w, g, e->kind == K_ALLOC ? 1 : -1,
			    t)) != SK_OK)
				return err;
			cur_next(w, g, c, S_COMP);
			continue;
		}
		if (e->need != NEED_NONE && g->c[e->dep].key < c->base + e->need) {
			g->st[S_COMP] = ST_WAIT;
			g->need[S_COMP] = c->base + e->need;
			return SK_OK;
		}
		settle(g, t);
		g->on[S_COMP] = 1;
		g->st[S_COMP] = ST_RUN;
		g->busy += e->dur;
		if (w->tl != NULL && (err = tl_op(w, g, S_COMP, e, t,
		    e->dur)) != SK_OK)
			return err;
		return sim_queue_push(&w->q, t + e->dur, EV_COMP,
		    (uint32_t)(g - w->gpu), 0);
	}
}

/* ---- collectives and their links ---- */

/* The queue key of group gr's running collective: no two running ones
 * share it (a GPU's communication stream runs one at a time). */
static inline uint32_t
coll_key(const struct ws *w, const struct group *gr)
{
	return gr->s == S_DP ? (uint32_t)w->x->G : (uint32_t)gr->g0;
}

/* The other communication stream than s. */
static inline int
other(int s)
{
	return s == S_COMM ? S_DP : S_COMM;
}

/* Half nanoseconds of bytes' time gr's collective moves per ns: all of
 * its link, or half where a member shares it. */
static inline sim_ns
pace(const struct group *gr)
{
	return gr->shared > 0 ? 1 : 2;
}

/* Schedule the end of gr's bytes from t at its pace. */
static int
bytes_at(struct ws *w, uint32_t gi, sim_ns t)
{
	const struct group *gr = &w->grp[gi];
	sim_ns r = gr->rem > 0 ? gr->rem : 0, v = pace(gr);

	return sim_queue_set(&w->q, coll_key(w, gr), t + (r + v - 1) / v,
	    EV_BYTES, gi, 0);
}

/* One more (delta 1) or one fewer (-1) member of group gi's running
 * collective shares its link at t: its bytes so far at the old pace,
 * and its end moved if the pace changes. */
static int
share(struct ws *w, uint32_t gi, int delta, sim_ns t)
{
	struct group *gr = &w->grp[gi];
	int was = gr->shared > 0;

	gr->rem -= (t - gr->since) * pace(gr);
	gr->since = t;
	gr->shared = delta > 0 ? gr->shared + 1 : gr->shared - 1;
	if (was == (gr->shared > 0))
		return SK_OK;
	return bytes_at(w, gi, t);
}

/* Start group gi's collective at t on all its members: its bytes first,
 * sharing a member's link with the other communication stream's
 * collective while both move bytes over the same kind of link, then its
 * latency floor. */
static int
coll_start(struct ws *w, uint32_t gi, sim_ns t)
{
	struct group *gr = &w->grp[gi];
	const struct ent *e = w->gpu[gr->g0].c[gr->s].e;
	int s = gr->s, o = other(s), k, err;
	uint32_t og;
	sim_ns f = gr->floor[e->kind == K_RS || e->kind == K_PARAM];

	gr->lat = f < gr->dur ? f : gr->dur;
	gr->rem = 2 * (gr->dur - gr->lat);
	gr->since = gr->t0 = t;
	gr->shared = 0;
	gr->arrived = 0;
	gr->dur = 0;
	for (k = gr->g0; k < gr->g0 + gr->n; k++) {
		struct gstate *g = &w->gpu[k];

		settle(g, t);
		g->on[s] = 1;
		g->st[s] = ST_RUN;
		if (gr->rem == 0)
			continue;
		g->bw[s - 1] = gi;
		og = g->bw[o - 1];
		if (og != GRP_NONE && w->grp[og].net == gr->net) {
			gr->shared++;
			if ((err = share(w, og, 1, t)) != SK_OK)
				return err;
		}
	}
	if (gr->rem > 0)
		return bytes_at(w, gi, t);
	return sim_queue_set(&w->q, coll_key(w, gr), t + gr->lat, EV_COLL, gi,
	    0);
}

static int kick(struct ws *w, struct gstate *g, sim_ns t);

/* Group gi's collective ends at t: each member's stream moves on. */
static int
coll_end(struct ws *w, uint32_t gi, sim_ns t)
{
	const struct group *gr = &w->grp[gi];
	int s = gr->s, k, e;

	for (k = gr->g0; k < gr->g0 + gr->n; k++) {
		struct gstate *g = &w->gpu[k];

		settle(g, t);
		/* written at its end: sharing a link stretches it */
		if (w->tl != NULL && (e = tl_op(w, g, s, g->c[s].e, gr->t0,
		    t - gr->t0)) != SK_OK)
			return e;
		g->on[s] = 0;
		g->st[s] = ST_IDLE;
		cur_next(w, g, &g->c[s], s);
		if ((e = kick(w, g, t)) != SK_OK)
			return e;
	}
	return SK_OK;
}

/* Group gi's collective has moved its bytes at t: its members' links are
 * free of it; its latency floor follows. */
static int
bytes_end(struct ws *w, uint32_t gi, sim_ns t)
{
	struct group *gr = &w->grp[gi];
	int s = gr->s, o = other(s), k, e;
	uint32_t og;

	for (k = gr->g0; k < gr->g0 + gr->n; k++) {
		struct gstate *g = &w->gpu[k];

		g->bw[s - 1] = GRP_NONE;
		og = g->bw[o - 1];
		if (og != GRP_NONE && w->grp[og].net == gr->net &&
		    (e = share(w, og, -1, t)) != SK_OK)
			return e;
	}
	gr->rem = 0;
	gr->shared = 0;
	if (gr->lat == 0)
		return coll_end(w, gi, t);
	return sim_queue_set(&w->q, coll_key(w, gr), t + gr->lat, EV_COLL, gi,
	    0);
}

/* Bring g's stream s (communication or DP) to its next collective at t:
 * wait for the compute stream, or arrive (and start it if g is the last
 * member).  A shard group's collective names its group; the DP stream's
 * are the DP group's. */
static int
try_comm(struct ws *w, struct gstate *g, int s, sim_ns t)
{
	struct cursor *c = &g->c[s];
	const struct ent *e;
	struct group *gr;
	uint32_t gi;

	if (c->key == KEY_END) {
		g->st[s] = ST_DONE;
		return SK_OK;
	}
	e = c->e;
	if (e->need != NEED_NONE && g->c[e->dep].key < c->base + e->need) {
		g->st[s] = ST_WAIT;
		g->need[s] = c->base + e->need;
		return SK_OK;
	}
	g->st[s] = ST_ARRIVED;
	gi = s == S_COMM ? w->cgrp[e - w->cent] : 0;
	gr = &w->grp[gi];
	if (e->dur > gr->dur)
		gr->dur = e->dur;
	if (++gr->arrived < (uint32_t)gr->n)
		return SK_OK;
	return coll_start(w, gi, t);
}

/* Start what can start on g's streams at t.  Only the compute stream's
 * position moves here (arriving at a collective does not move a
 * communication stream's), so compute, then the communication streams,
 * is enough. */
static int
kick(struct ws *w, struct gstate *g, sim_ns t)
{
	int s, e;

	if (may_go(g, S_COMP) && (e = try_comp(w, g, t)) != SK_OK)
		return e;
	for (s = S_COMM; s <= S_DP; s++)
		if (may_go(g, s) && (e = try_comm(w, g, s, t)) != SK_OK)
			return e;
	return SK_OK;
}

static int
on_event(struct ws *w, const struct sim_event *ev)
{
	struct gstate *g;

	if (ev->type == EV_COMP) {
		g = &w->gpu[ev->a];
		settle(g, ev->t);
		g->on[S_COMP] = 0;
		g->st[S_COMP] = ST_IDLE;
		cur_next(w, g, &g->c[S_COMP], S_COMP);
		return kick(w, g, ev->t);
	}
	if (ev->type == EV_BYTES)
		return bytes_end(w, ev->a, ev->t);
	return coll_end(w, ev->a, ev->t);
}


/* Simulate iteration it and fill its report row. */
int
engine_iter(struct ws *w, size_t it)
{
	const struct ctx *x = w->x;
	struct sim_event ev;
	sim_ns tend = 0;
	int gi, d, s, e;

	if ((e = prog_parts(w, it)) != SK_OK)
		return e;
	w->it = it;
	sim_queue_clear(&w->q);
	for (gi = 0; gi < x->G; gi++) {
		struct gstate *g = &w->gpu[gi];

		d = gi / x->cp;
		memset(g, 0, sizeof *g);
		g->d = d;
		g->r = gi % x->cp;
		g->M = w->nrun[d];
		g->p0 = &w->parts[w->part0[d] * (size_t)x->cp + (size_t)g->r];
		/* its gradients in its last micro-batch, or in the tail */
		g->tv = g->M == 0;
		g->bw[0] = g->bw[1] = GRP_NONE;
		for (s = 0; s < NSTREAM; s++)
			cur_start(w, g, &g->c[s], s);
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

		if (g->st[S_COMP] != ST_DONE || g->st[S_COMM] != ST_DONE ||
		    g->st[S_DP] != ST_DONE)
			return err_set(SK_ERR_FORMAT, "sim: iteration %zu: GPU %d "
			    "stalls (compute at %u, communication at %u, DP at "
			    "%u of %u per micro-batch): its groups disagree", it,
			    gi, (unsigned)g->c[S_COMP].key,
			    (unsigned)g->c[S_COMM].key, (unsigned)g->c[S_DP].key,
			    (unsigned)x->T);
	}
	return row_fill(w, it, tend);
}
