/* exec: see exec.h.  The plan runner: parts of micro-batches, iterations,
 * gradient synchronisation, AdamW, timing and the report. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "err.h"
#include "exec.h"
#include "xformer.h"

/* Per rank and iteration, the floats gathered for the report. */
enum { C_BUSY, C_COMM, C_WALL, C_FLOPS, C_PEAK, C_N };

/* The setup agreement: counts of failed ranks per error code
 * (1 .. AGREE_CODES - 1), then the sum of (world rank + 1) over failed
 * ranks, which names the rank when only one failed. */
#define AGREE_CODES 8
#define AGREE_N (AGREE_CODES + 1)

struct exec {
	const struct plan *p;
	struct exec_opts o;
	const struct backend_ops *b;
	struct xf_shape s;
	struct xf_layout l;
	uint64_t seed;           /* token ids */
	struct comm *world;
	struct comm_grid grid;
	size_t first, count;     /* iterations run */
	long t;                  /* AdamW steps done */
	float *w, *g, *m, *v;    /* parameters, gradients, moments [l.n] */
	struct xf *xf;
	/* Host index arrays of one part, sized for the largest. */
	int32_t *cu_loc, *cu_sh, *cu_g;  /* nmax + 1 */
	int32_t *ts;             /* cp */
	int32_t *gmap;           /* gmax */
	int32_t *pos, *tok, *tgt;  /* tmax */
	/* Communication buffers (backend memory), and their host copies:
	 * a device backend's memory is not the host's, so the host writes
	 * and reads them only through upload and download. */
	float *sync;             /* 2: the loss, as a float pair */
	float *cells, *all;      /* count x C_N, and that for every rank */
	float pair[2];           /* host: sync */
	float *hcells, *hall;    /* host: cells, all */
	size_t *counts, *displs; /* world size: the report's gather */
	int opened;              /* b->open succeeded: release closes it */
};

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

void
exec_model_default(struct exec_model *m)
{
	memset(m, 0, sizeof *m);
	m->seed = 1;
}

void
exec_opts_default(struct exec_opts *o)
{
	memset(o, 0, sizeof *o);
	o->lr = 1e-3f;
	o->beta1 = 0.9f;
	o->beta2 = 0.95f;
	o->eps = 1e-8f;
	o->wd = 0.1f;
	o->step = 1;
	/* A CPU rank may compute a long micro-batch for minutes while its
	 * peers wait in the CP gather. */
	o->timeout = 600;
	o->backend = NULL;
}

/* Chunk c of 2n of a sample of S tokens: positions [*lo, *hi). */
static void
chunk(uint32_t S, int c, int n, uint32_t *lo, uint32_t *hi)
{
	*lo = (uint32_t)((uint64_t)c * S / (2 * (uint64_t)n));
	*hi = (uint32_t)((uint64_t)(c + 1) * S / (2 * (uint64_t)n));
}

/* Shard rows CP rank k of n holds of a sample of S tokens. */
static uint32_t
shard_rows(uint32_t S, int k, int n)
{
	uint32_t a, b, c, d;

	chunk(S, k, n, &a, &b);
	chunk(S, 2 * n - 1 - k, n, &c, &d);
	return (b - a) + (d - c);
}

/* The sizes of CP rank r's part of micro-batch mb. */
struct dims {
	size_t T, tl, G, maxts, nloc, nsh;
};

static void
part_dims(const struct plan *p, const struct plan_mb *mb, int r,
    struct dims *d)
{
	const int n = p->job.cp;
	const struct plan_sample *sm;
	size_t i, ts;
	int k;

	memset(d, 0, sizeof *d);
	for (i = 0; i < mb->n; i++) {
		sm = &p->samples[mb->first + i];
		if (sm->place == PLAN_SHARDED) {
			d->G += sm->len;
			d->nsh++;
		} else if (sm->place == r) {
			d->tl += sm->len;
			d->nloc++;
		}
	}
	for (k = 0; k < n; k++) {
		ts = 0;
		for (i = 0; i < mb->n; i++) {
			sm = &p->samples[mb->first + i];
			if (sm->place == PLAN_SHARDED)
				ts += shard_rows(sm->len, k, n);
		}
		if (ts > d->maxts)
			d->maxts = ts;
		if (k == r)
			d->T = d->tl + ts;
	}
}

/* Push the rows of positions [lo, hi) of sample sm at row *t. */
static void
rows(struct exec *x, const struct plan_sample *sm, uint32_t lo, uint32_t hi,
    size_t *t)
{
	const size_t V = x->s.vocab;
	uint32_t q;

	for (q = lo; q < hi; q++) {
		x->pos[*t] = (int32_t)q;
		x->tok[*t] = xf_token(x->seed, sm->index, q, V);
		x->tgt[*t] = q + 1 < sm->len ?
		    xf_token(x->seed, sm->index, q + 1, V) : -1;
		(*t)++;
	}
}

/* Fill the part of micro-batch mb on this rank (see xformer.h). */
static void
part_build(struct exec *x, const struct plan_mb *mb, const struct dims *d,
    struct xf_part *pt)
{
	const struct plan *p = x->p;
	const int n = p->job.cp, r = x->grid.r;
	const struct plan_sample *sm;
	uint32_t lo, hi, q, j;
	size_t i, t = 0, nl = 0, ns = 0, gofs = 0;
	int k, c;

	for (i = 0; i < mb->n; i++) {
		sm = &p->samples[mb->first + i];
		if (sm->place != r)
			continue;
		x->cu_loc[nl++] = (int32_t)t;
		rows(x, sm, 0, sm->len, &t);
	}
	x->cu_loc[nl] = (int32_t)t;
	for (k = 0; k < n; k++)
		x->ts[k] = 0;
	for (i = 0; i < mb->n; i++) {
		sm = &p->samples[mb->first + i];
		if (sm->place != PLAN_SHARDED)
			continue;
		x->cu_sh[ns] = (int32_t)(t - d->tl);
		x->cu_g[ns++] = (int32_t)gofs;
		for (c = 0; c < 2; c++) {
			chunk(sm->len, c == 0 ? r : 2 * n - 1 - r, n, &lo, &hi);
			rows(x, sm, lo, hi, &t);
		}
		/* Where each rank's rows of this sample sit in the by-rank
		 * layout. */
		for (k = 0; k < n; k++)
			for (c = 0; c < 2; c++) {
				chunk(sm->len, c == 0 ? k : 2 * n - 1 - k, n,
				    &lo, &hi);
				for (q = lo; q < hi; q++) {
					j = (uint32_t)x->ts[k]++;
					x->gmap[gofs + q] = (int32_t)((size_t)k *
					    d->maxts + j);
				}
			}
		gofs += sm->len;
	}
	x->cu_sh[ns] = (int32_t)(t - d->tl);
	x->cu_g[ns] = (int32_t)gofs;
	pt->T = d->T;
	pt->tl = d->tl;
	pt->nloc = d->nloc;
	pt->nsh = d->nsh;
	pt->G = d->G;
	pt->maxts = d->maxts;
	pt->cu_loc = x->cu_loc;
	pt->cu_sh = x->cu_sh;
	pt->cu_g = x->cu_g;
	pt->ts = x->ts;
	pt->gmap = x->gmap;
	pt->pos = x->pos;
	pt->tok = x->tok;
	pt->tgt = x->tgt;
}

/* The model actually run: the plan's with m's overrides. */
static int
shape(const struct model *pm, const struct exec_model *m, struct xf_shape *s)
{
	const int hidden = m->hidden > 0 ? m->hidden : pm->hidden;
	const int heads = m->heads > 0 ? m->heads : pm->heads;
	const int kvh = m->kv_heads > 0 ? m->kv_heads : pm->kv_heads;
	const int hd = m->hidden > 0 || m->heads > 0 ?
	    (heads > 0 ? hidden / heads : 0) : pm->head_dim;

	if (m->hidden < 0 || m->layers < 0 || m->heads < 0 ||
	    m->kv_heads < 0 || m->ffn < 0 || m->vocab < 0 || m->rope_theta < 0)
		return err_set(SK_ERR_ARG, "exec: model overrides must not be "
		    "negative");
	s->hidden = (size_t)hidden;
	s->layers = (size_t)(m->layers > 0 ? m->layers : pm->layers);
	s->heads = (size_t)heads;
	s->kv_heads = (size_t)kvh;
	s->ffn = (size_t)(m->ffn > 0 ? m->ffn : pm->ffn);
	s->vocab = (size_t)(m->vocab > 0 ? m->vocab : pm->vocab);
	s->tied = pm->tied;
	s->theta = m->rope_theta > 0 ? m->rope_theta : 1e6;
	s->norm_eps = 1e-6f;
	if (hidden < 1 || heads < 1 || kvh < 1 || s->layers < 1 ||
	    s->ffn < 1 || s->vocab < 2 || s->vocab > INT32_MAX)
		return err_set(SK_ERR_ARG, "exec: model of hidden %d, %zu "
		    "layers, %d heads, %d KV heads, ffn %zu, vocabulary %zu: "
		    "every size must be positive (vocabulary 2 .. %d)", hidden,
		    s->layers, heads, kvh, s->ffn, s->vocab, INT32_MAX);
	if (heads % kvh != 0)
		return err_set(SK_ERR_ARG, "exec: %d heads are not a multiple "
		    "of %d KV heads", heads, kvh);
	if ((m->hidden > 0 || m->heads > 0) && hidden % heads != 0)
		return err_set(SK_ERR_ARG, "exec: hidden %d is not a multiple "
		    "of %d heads", hidden, heads);
	if (hd < 2 || hd % 2 != 0)
		return err_set(SK_ERR_ARG, "exec: head dimension %d must be even "
		    "and positive (rotary embedding)", hd);
	s->head_dim = (size_t)hd;
	return SK_OK;
}

int
exec_model_resolve(const struct model *pm, const struct exec_model *m,
    struct model *out)
{
	struct xf_shape s;
	int e;

	if ((e = shape(pm, m, &s)) != SK_OK)
		return e;
	*out = *pm;
	out->hidden = (int)s.hidden;
	out->layers = (int)s.layers;
	out->heads = (int)s.heads;
	out->kv_heads = (int)s.kv_heads;
	out->head_dim = (int)s.head_dim;
	out->ffn = (int)s.ffn;
	out->vocab = (int)s.vocab;
	out->qkv_bias = 0;
	return SK_OK;
}

static int
check_opts(const struct exec_opts *o, size_t niter)
{
	if (niter == 0)
		return err_set(SK_ERR_ARG, "exec: the plan has no iterations");
	if (o->first >= niter || o->count > niter - o->first)
		return err_set(SK_ERR_RANGE, "exec: iterations %zu .. %zu "
		    "outside the plan's %zu", o->first, o->first +
		    (o->count > 0 ? o->count : 1) - 1, niter);
	if (!(o->lr >= 0) || !(o->beta1 >= 0 && o->beta1 < 1) ||
	    !(o->beta2 >= 0 && o->beta2 < 1) || !(o->eps > 0) ||
	    !(o->wd >= 0) || isinf(o->lr) || isinf(o->wd))
		return err_set(SK_ERR_ARG, "exec: AdamW needs lr, wd >= 0, "
		    "beta1, beta2 in [0, 1), eps > 0 (got %g, %g, %g, %g, %g)",
		    (double)o->lr, (double)o->wd, (double)o->beta1,
		    (double)o->beta2, (double)o->eps);
	if (o->timeout == 0 || isnan(o->timeout))
		return err_set(SK_ERR_ARG, "exec: timeout %g s (use < 0 for "
		    "none)", o->timeout);
	return SK_OK;
}

/* Everything a rank sets up on its own, after the grid exists. */
static int
setup(struct exec *x, const struct exec_model *m)
{
	const struct plan *p = x->p;
	const int dp = p->job.dp, cp = p->job.cp, ws = x->world->size;
	const struct plan_rank *rk;
	const struct plan_mb *mb;
	struct dims d;
	size_t tmax = 0, gmax = 0, smax = 0, nmax = 0, it, i;
	float *host;
	int e;

	if ((e = plan_validate(p, NULL)) != SK_OK)
		return e;
	if ((e = check_opts(&x->o, p->niter)) != SK_OK)
		return e;
	if ((e = shape(&p->job.model, m, &x->s)) != SK_OK)
		return e;
	if ((e = backend_check(x->b)) != SK_OK)
		return e;
	if ((e = x->b->open(x->o.device)) != SK_OK)
		return e;
	x->opened = 1;
	xf_layout(&x->s, &x->l);
	x->first = x->o.first;
	x->count = x->o.count > 0 ? x->o.count : p->niter - x->o.first;
	for (it = x->first; it < x->first + x->count; it++) {
		rk = &p->ranks[it * (size_t)dp + (size_t)x->grid.d];
		for (i = 0; i < rk->n; i++) {
			mb = &p->mbs[rk->first + i];
			part_dims(p, mb, x->grid.r, &d);
			tmax = d.T > tmax ? d.T : tmax;
			gmax = d.G > gmax ? d.G : gmax;
			smax = d.maxts > smax ? d.maxts : smax;
			nmax = mb->n > nmax ? mb->n : nmax;
		}
	}
	if (gmax * (size_t)cp > INT32_MAX || tmax > INT32_MAX)
		return err_set(SK_ERR_RANGE, "exec: micro-batches of %zu tokens "
		    "(%zu sharded) exceed the kernels' int32 offsets", tmax,
		    gmax);
	if (x->o.mem_limit > 0) {
		double need = 4.0 * sizeof(float) * (double)x->l.n +
		    (double)xf_act_bytes(&x->s, tmax, gmax, smax, cp);

		if (need > x->o.mem_limit)
			return err_set(SK_ERR_RANGE, "this rank needs %.1f MiB "
			    "(weights, gradients and AdamW moments of %zu parameters, "
			    "activations of a %zu-token micro-batch part) but may use "
			    "%.1f MiB", need / 1048576.0, x->l.n, tmax,
			    x->o.mem_limit / 1048576.0);
	}
	if ((e = xf_new(x->b, &x->s, tmax, gmax, smax, cp, &x->xf)) != SK_OK)
		return e;
	x->w = x->b->alloc(x->l.n);
	x->g = x->b->alloc(x->l.n);
	x->m = x->b->alloc(x->l.n);
	x->v = x->b->alloc(x->l.n);
	x->sync = x->b->alloc(2);
	x->cells = x->b->alloc(x->count * C_N);
	x->all = x->b->alloc(x->count * C_N * (size_t)ws);
	x->cu_loc = calloc(nmax + 1, sizeof *x->cu_loc);
	x->cu_sh = calloc(nmax + 1, sizeof *x->cu_sh);
	x->cu_g = calloc(nmax + 1, sizeof *x->cu_g);
	x->ts = calloc((size_t)cp, sizeof *x->ts);
	x->gmap = calloc(gmax > 0 ? gmax : 1, sizeof *x->gmap);
	x->pos = calloc(tmax > 0 ? tmax : 1, sizeof *x->pos);
	x->tok = calloc(tmax > 0 ? tmax : 1, sizeof *x->tok);
	x->tgt = calloc(tmax > 0 ? tmax : 1, sizeof *x->tgt);
	x->hcells = calloc(x->count * C_N, sizeof *x->hcells);
	x->hall = calloc(x->count * C_N * (size_t)ws, sizeof *x->hall);
	x->counts = calloc((size_t)ws, sizeof *x->counts);
	x->displs = calloc((size_t)ws, sizeof *x->displs);
	host = malloc(x->l.n * sizeof *host);
	if (x->w == NULL || x->g == NULL || x->m == NULL || x->v == NULL ||
	    x->sync == NULL || x->cells == NULL || x->all == NULL ||
	    x->cu_loc == NULL || x->cu_sh == NULL || x->cu_g == NULL ||
	    x->ts == NULL || x->gmap == NULL || x->pos == NULL ||
	    x->tok == NULL || x->tgt == NULL || x->hcells == NULL ||
	    x->hall == NULL || x->counts == NULL || x->displs == NULL ||
	    host == NULL) {
		free(host);
		return err_set(SK_ERR_NOMEM, "exec: out of memory for %zu "
		    "parameters and their state", x->l.n);
	}
	xf_init(&x->s, m->seed, host);
	x->b->upload(x->w, host, x->l.n);
	free(host);
	x->b->zero(x->g, x->l.n);
	x->b->zero(x->m, x->l.n);
	x->b->zero(x->v, x->l.n);
	x->seed = m->seed;
	/* A device backend's failures so far (the uploads above) are part of
	 * this rank's setup, agreed like the others. */
	return x->b->sync();
}

static void
release(struct exec *x)
{
	const struct backend_ops *b = x->b;

	xf_free(x->xf);
	if (b != NULL && backend_check(b) == SK_OK) {
		b->free(x->w);
		b->free(x->g);
		b->free(x->m);
		b->free(x->v);
		b->free(x->sync);
		b->free(x->cells);
		b->free(x->all);
		if (x->opened)
			b->close();
	}
	free(x->cu_loc);
	free(x->cu_sh);
	free(x->cu_g);
	free(x->ts);
	free(x->gmap);
	free(x->pos);
	free(x->tok);
	free(x->tgt);
	free(x->hcells);
	free(x->hall);
	free(x->counts);
	free(x->displs);
	free(x);
}

/*
 * Agree over the world on the outcome of every rank's setup (own: this
 * rank's code).  Returns the agreed code: the smallest code any rank
 * failed with.  A rank that failed keeps its message (prefixed with its
 * world rank); the others get one naming the failed rank.
 */
static int
agree(struct comm *world, int own, double timeout)
{
	float v[AGREE_N] = { 0 };
	struct comm_req rq = { 0 };
	char pre[64];
	int e, i, code = SK_OK;
	double nfail = 0;

	if (own != SK_OK) {
		v[own > 0 && own < AGREE_CODES ? own : SK_ERR_IO] = 1;
		v[AGREE_CODES] = (float)world->world_rank + 1;
	}
	if ((e = world->ops->iallreduce(world, v, v, AGREE_N, &rq)) != SK_OK ||
	    (e = comm_wait(&rq, timeout)) != SK_OK)
		return e;
	for (i = AGREE_CODES - 1; i >= 1; i--)
		if (v[i] > 0) {
			code = i;
			nfail += v[i];
		}
	if (code == SK_OK)
		return SK_OK;
	if (own != SK_OK) {
		snprintf(pre, sizeof pre, "exec: world rank %d",
		    world->world_rank);
		err_prefix(pre);
		return code;
	}
	if (nfail == 1)
		return err_set(code, "exec: setup failed on world rank %.0f (%s; "
		    "its message is on its output)", (double)v[AGREE_CODES] - 1,
		    err_name(code));
	return err_set(code, "exec: setup failed on %.0f ranks (%s first)",
	    nfail, err_name(code));
}

int
exec_new(const struct plan *p, const struct exec_model *m,
    const struct exec_opts *o, struct comm *world, struct exec **out)
{
	struct exec_opts od;
	struct exec_model md;
	struct comm_grid grid;
	struct exec *x;
	double timeout;
	int e, f;

	*out = NULL;
	if (p == NULL)
		return err_set(SK_ERR_ARG, "exec: no plan");
	if ((e = comm_check(world)) != SK_OK)
		return e;
	if (o == NULL) {
		exec_opts_default(&od);
		o = &od;
	}
	if (m == NULL) {
		exec_model_default(&md);
		m = &md;
	}
	/* Deterministic from the plan: every rank fails here alike. */
	if (p->job.dp < 1 || p->job.cp < 1 ||
	    p->job.dp > world->size / p->job.cp ||
	    p->job.dp * p->job.cp != world->size)
		return err_set(SK_ERR_ARG, "exec: the plan's grid is DP %d x CP "
		    "%d, the world has %d ranks", p->job.dp, p->job.cp,
		    world->size);
	if ((e = comm_grid_split(world, p->job.dp, p->job.cp, &grid)) != SK_OK)
		return e;
	timeout = o->timeout != 0 && !isnan(o->timeout) ? o->timeout : 600;
	if ((x = calloc(1, sizeof *x)) == NULL) {
		e = err_set(SK_ERR_NOMEM, "exec: out of memory");
	} else {
		x->p = p;
		x->o = *o;
		x->b = o->backend != NULL ? o->backend : &backend_cpu_ops;
		x->world = world;
		x->grid = grid;
		e = setup(x, m);
	}
	if ((e = agree(world, e, timeout)) != SK_OK) {
		if (x != NULL)
			release(x);
		/* After a communication failure the job is aborted anyway. */
		if (e != SK_ERR_IO && (f = comm_grid_free(&grid)) != SK_OK)
			return f;
		return e;
	}
	*out = x;
	return SK_OK;
}

void
exec_free(struct exec *x)
{
	if (x == NULL)
		return;
	comm_grid_free(&x->grid);
	release(x);
}

const float *
exec_params(const struct exec *x, size_t *n)
{
	*n = x->l.n;
	return x->w;
}

const float *
exec_grads(const struct exec *x, size_t *n)
{
	*n = x->l.n;
	return x->g;
}

int
exec_set_params(struct exec *x, const float *w, size_t n)
{
	if (w == NULL || n != x->l.n)
		return err_set(SK_ERR_ARG, "exec: %zu parameters given, the model "
		    "has %zu", w != NULL ? n : 0, x->l.n);
	x->b->upload(x->w, w, n);
	return x->b->sync();
}

/* Target tokens and tokens of iteration it's global batch (all DP
 * ranks). */
static void
batch_tokens(const struct plan *p, size_t it, uint64_t *targets,
    uint64_t *tokens)
{
	const struct plan_rank *rk;
	const struct plan_mb *mb;
	const struct plan_sample *sm;
	size_t d, i, j;

	*targets = 0;
	*tokens = 0;
	for (d = 0; d < (size_t)p->job.dp; d++) {
		rk = &p->ranks[it * (size_t)p->job.dp + d];
		for (i = 0; i < rk->n; i++) {
			mb = &p->mbs[rk->first + i];
			for (j = 0; j < mb->n; j++) {
				sm = &p->samples[mb->first + j];
				*tokens += sm->len;
				*targets += sm->len - 1;
			}
		}
	}
}

/* Start op on c and wait for it, the time of both added to *t (a
 * communicator may do the work in the start: the loopback one does). */
static int
reduce(struct comm *c, float *buf, size_t n, double timeout, double *t)
{
	struct comm_req rq = { 0 };
	double t0 = now();
	int e;

	if ((e = c->ops->iallreduce(c, buf, buf, n, &rq)) != SK_OK)
		return e;
	e = comm_wait(&rq, timeout);
	*t += now() - t0;
	return e;
}

/* One iteration on this rank: its cells and the loss per target token. */
static int
iteration(struct exec *x, size_t it, float *cell, double *loss)
{
	const struct plan *p = x->p;
	const struct plan_rank *rk =
	    &p->ranks[it * (size_t)p->job.dp + (size_t)x->grid.d];
	const struct plan_mb *mb;
	struct xf_stats st = { 0, 0 };
	struct xf_part pt;
	struct dims d;
	uint64_t targets, tokens;
	double t0, wait = 0, sum = 0, l, peak = 0, ab;
	float scale, hi;
	size_t i;
	int e;

	t0 = now();
	batch_tokens(p, it, &targets, &tokens);
	scale = targets > 0 ? (float)(1.0 / (double)targets) : 0.0f;
	x->b->zero(x->g, x->l.n);
	for (i = 0; i < rk->n; i++) {
		mb = &p->mbs[rk->first + i];
		part_dims(p, mb, x->grid.r, &d);
		part_build(x, mb, &d, &pt);
		ab = (double)xf_act_bytes(&x->s, d.T, d.G, d.maxts, p->job.cp);
		peak = ab > peak ? ab : peak;
		if ((e = xf_step(x->xf, &pt, x->w, x->g, scale, &x->grid.cpc,
		    x->o.timeout, &l, &st)) != SK_OK)
			return e;
		sum += l;
	}
	/* The loss as a float pair (hi + lo carries about 48 bits), summed
	 * over the world; waiting for it is waiting for the slowest rank.
	 * The sync first ends this rank's compute (the gradient the next
	 * reduce sends, the loss pair's upload) and reports its failures;
	 * a failure leaves the peers inside the reduce, as a dead rank would
	 * (exec.h: the caller aborts). */
	hi = (float)sum;
	x->pair[0] = hi;
	x->pair[1] = (float)(sum - (double)hi);
	x->b->upload(x->sync, x->pair, 2);
	if ((e = x->b->sync()) != SK_OK)
		return e;
	if ((e = reduce(x->world, x->sync, 2, x->o.timeout, &wait)) != SK_OK ||
	    (e = reduce(x->world, x->g, x->l.n, x->o.timeout,
	    &st.comm)) != SK_OK)
		return e;
	x->b->download(x->pair, x->sync, 2);
	if (x->o.step) {
		x->t++;
		x->b->adamw(x->l.n, x->w, x->g, x->m, x->v, x->o.lr, x->o.beta1,
		    x->o.beta2, x->o.eps, x->o.wd, x->t);
	}
	/* The iteration ends when the device has finished its update. */
	if ((e = x->b->sync()) != SK_OK)
		return e;
	cell[C_WALL] = (float)(now() - t0);
	cell[C_COMM] = (float)st.comm;
	cell[C_BUSY] = (float)fmax(0, cell[C_WALL] - st.comm - wait);
	cell[C_FLOPS] = (float)st.flops;
	cell[C_PEAK] = (float)peak;
	*loss = targets > 0 ? ((double)x->pair[0] + (double)x->pair[1]) /
	    (double)targets : 0;
	return SK_OK;
}

/* The report from every rank's cells (x->hall). */
static int
fill_report(struct exec *x, struct report *r)
{
	const struct plan *p = x->p;
	const int ng = x->world->size;
	struct report_cell *c;
	const float *a;
	uint64_t targets;
	double time, f;
	size_t it;
	int k, e;

	if ((e = report_alloc(r, "run", ng, x->first, x->count)) != SK_OK)
		return e;
	for (it = 0; it < x->count; it++) {
		time = 0;
		f = 0;
		for (k = 0; k < ng; k++) {
			a = x->hall + ((size_t)k * x->count + it) * C_N;
			time = fmax(time, a[C_WALL]);
			f += a[C_FLOPS];
		}
		for (k = 0; k < ng; k++) {
			a = x->hall + ((size_t)k * x->count + it) * C_N;
			c = report_cell(r, it, k);
			c->busy = a[C_BUSY];
			c->comm = a[C_COMM];
			c->wait = fmax(0, time - c->busy - c->comm);
			c->flops = a[C_FLOPS];
			c->peak = a[C_PEAK];
		}
		r->time[it] = time;
		r->model_flops[it] = f;
		batch_tokens(p, x->first + it, &targets, &r->tokens[it]);
	}
	if ((e = report_bounds(r, p)) != SK_OK ||
	    (e = report_finish(r, &p->job)) != SK_OK)
		report_free(r);
	return e;
}

int
exec_run(struct exec *x, struct report *r, double *loss)
{
	struct comm_req rq = { 0 };
	const int ng = x->world->size;
	const size_t nc = x->count * C_N;
	double l;
	size_t it;
	int k, e;

	if (r != NULL)
		report_init(r);
	for (it = 0; it < x->count; it++) {
		if ((e = iteration(x, x->first + it, x->hcells + it * C_N,
		    &l)) != SK_OK)
			return e;
		if (loss != NULL)
			loss[it] = l;
	}
	/* Every rank's cells to every rank, once, outside the timed
	 * iterations. */
	for (k = 0; k < ng; k++) {
		x->counts[k] = nc;
		x->displs[k] = (size_t)k * nc;
	}
	x->b->upload(x->cells, x->hcells, nc);
	if ((e = x->b->sync()) != SK_OK)
		return e;
	if ((e = x->world->ops->iallgatherv(x->world, x->cells, nc, x->all,
	    x->counts, x->displs, &rq)) != SK_OK ||
	    (e = comm_wait(&rq, x->o.timeout)) != SK_OK)
		return e;
	x->b->download(x->hall, x->all, nc * (size_t)ng);
	if ((e = x->b->sync()) != SK_OK)
		return e;
	if (r == NULL)
		return SK_OK;
	return fill_report(x, r);
}
