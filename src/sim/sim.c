/*
 * sim: see sim.h.  The run: the iterations handed out to a pool of
 * threads, each simulating with the event engine (engine.c) on programs
 * built from the plan (prog.c); the layout of a program is in prog.c.
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
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "mem.h"
#include "sim.h"
#include "sim_int.h"
#include "timeline.h"

#define TL_MAX_EVENTS 1000000

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
		if ((w->err = engine_iter(w, it)) != SK_OK) {
			snprintf(w->msg, sizeof w->msg, "%s", err_msg());
			atomic_store(&x->stop, 1);
			break;
		}
		if (x->progress != NULL) {
			pthread_mutex_lock(&x->mu);
			x->progress(x->progress_ctx, ++x->ndone, x->ntotal);
			pthread_mutex_unlock(&x->mu);
		}
	}
	return NULL;
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
		if ((e = timeline_iter(w->tl, it)) == SK_OK &&
		    (e = engine_iter(w, it)) == SK_OK)
			off += x->tns[it - x->first];
		if (e == SK_OK && x->progress != NULL)
			x->progress(x->progress_ctx, ++x->ndone, x->ntotal);
	}
	if (e == SK_OK)
		e = timeline_iter_end(w->tl);
	if (o->tl_info != NULL) {
		o->tl_info->first = lo;
		o->tl_info->end = hi;
		o->tl_info->events = timeline_events(w->tl);
		o->tl_info->dropped = timeline_dropped(w->tl);
		if (!timeline_first_dropped(w->tl, &o->tl_info->drop_iter))
			o->tl_info->drop_iter = hi;
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
	if ((e = prog_init(&x, p, r)) != SK_OK ||
	    (e = prog_scan(&x, o->first, end)) != SK_OK ||
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
	x.ndone = 0;
	x.ntotal = count;
	x.progress = o->progress;
	x.progress_ctx = o->progress_ctx;
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
		if ((e = engine_ws_init(&ws[ninit], &x)) != SK_OK)
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
	row_sort_oom(r);
	if ((e = report_bounds(r, p)) == SK_OK)
		e = report_finish(r, &p->job);
out:
	if (mu)
		pthread_mutex_destroy(&x.mu);
	for (i = 0; i < ninit; i++)
		engine_ws_free(&ws[i]);
	free(ws);
	free(x.tns);
	prog_free(&x);
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
	/* the executor reruns the attention under selective recompute only */
	q.job.recompute = p->job.recompute == RECOMPUTE_SELECTIVE ?
	    RECOMPUTE_SELECTIVE : RECOMPUTE_NONE;
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
