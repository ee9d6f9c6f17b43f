/*
 * engine: the event engine, one iteration at a time on a worker's
 * workspace, see sim_int.h.
 *
 * ---- Execution ----
 *
 * Each stream runs its entries in order, one at a time.  A compute entry
 * starts when its predecessor is done and its need holds; it completes
 * through an event.  A collective is reached by a GPU when its
 * communication stream has finished the previous collective and its need
 * holds; when every member of the group has reached it (they are all free
 * then), it starts on all of them at once and completes through one event.
 * A shard group's collectives run over its GPUs (a block of the
 * micro-batch's ranks, contiguous GPUs), DP collectives over every GPU
 * (ZeRO and the gradient all-reduce span dp x cp ranks, cost.h).  Every
 * member of a group meets the group's collectives in the same order, so
 * the counters of arrivals never mix two collectives, and the order is one
 * total order over all GPUs (prog.c): no deadlock.  The duration is the
 * members' largest (they agree: the sizes come from the same samples).
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
	free(w->lastmb);
	free(w->gradin);
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
	/* In flight at once: one compute operation per GPU, one collective
	 * per GPU at most. */
	if (sim_queue_init(&w->q, 2 * (size_t)x->G + 1, 0) != SK_OK)
		return SK_ERR_NOMEM;
	w->gpu = calloc((size_t)x->G, sizeof *w->gpu);
	w->grp = calloc(x->max_grp, sizeof *w->grp);
	w->parts = calloc(x->max_parts, sizeof *w->parts);
	w->cent = calloc(x->max_cent, sizeof *w->cent);
	w->cgrp = calloc(x->max_cent, sizeof *w->cgrp);
	w->part0 = calloc((size_t)x->dp, sizeof *w->part0);
	w->nrun = calloc((size_t)x->dp, sizeof *w->nrun);
	w->pos = calloc((size_t)x->dp, sizeof *w->pos);
	w->lastmb = calloc((size_t)x->dp, sizeof *w->lastmb);
	w->gradin = calloc((size_t)x->dp, sizeof *w->gradin);
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
	    w->nrun == NULL || w->pos == NULL || w->lastmb == NULL ||
	    w->gradin == NULL || w->local == NULL ||
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
	size_t k, n = 0;

	if (e->kind == K_AG || e->kind == K_RS)
		gr = &w->grp[w->cgrp[e - w->cent]];
	if (c->phase != PH_TAIL && e->kind != K_GRAD) {
		pt = part_of(w, g, c->m);
		mb = &x->p->mbs[pt->mb];
		sm = &x->p->samples[mb->first];
		for (k = 0; k < mb->n; k++)
			if (tl_listed(&sm[k], gr, pt->q))
				w->ids[n++] = sm[k].index;
	}
	if (gr != NULL && !gr->whole)
		return timeline_coll(w->tl, (int)(g - w->gpu), prog_ent_name(e),
		    w->tl_off + t, dur, w->it, c->m, gr->g0, gr->n,
		    n > 0 ? w->ids : NULL, n);
	return timeline_op(w->tl, (int)(g - w->gpu), s, prog_ent_name(e),
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
	struct group *gr = &w->grp[gi];
	int k, e;
	sim_ns dur = gr->dur;

	gr->arrived = 0;
	gr->dur = 0;
	for (k = gr->g0; k < gr->g0 + gr->n; k++) {
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
 * the compute stream, or arrive (and start it if g is the last member).
 * A shard group's collective names its group; the others are the DP
 * group's. */
static int
try_comm(struct ws *w, struct gstate *g, sim_ns t)
{
	struct cursor *c = &g->c[1];
	const struct ent *e;
	struct group *gr;
	uint32_t gi;

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
	gi = e->kind == K_AG || e->kind == K_RS ? w->cgrp[e - w->cent] : 0;
	gr = &w->grp[gi];
	if (e->dur > gr->dur)
		gr->dur = e->dur;
	if (++gr->arrived < (uint32_t)gr->n)
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
	const struct group *gr;
	struct gstate *g;
	int k, e;

	if (ev->type == EV_COMP) {
		g = &w->gpu[ev->a];
		settle(g, ev->t);
		g->on[0] = 0;
		g->st[0] = ST_IDLE;
		cur_next(w, g, &g->c[0], 0);
		return kick(w, g, ev->t);
	}
	gr = &w->grp[ev->a];
	for (k = gr->g0; k < gr->g0 + gr->n; k++) {
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


/* Simulate iteration it and fill its report row. */
int
engine_iter(struct ws *w, size_t it)
{
	const struct ctx *x = w->x;
	struct sim_event ev;
	sim_ns tend = 0;
	int gi, d, e;

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
		g->tv = !w->gradin[d];
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
	return row_fill(w, it, tend);
}
