/* exec: see exec.h.  The plan runner: the shard groups' communicators,
 * parts of micro-batches, iterations, gradient synchronisation, AdamW,
 * timing and the report. */
#include <inttypes.h>
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
enum { C_BUSY, C_COMM, C_WALL, C_FLOPS, C_RFLOPS, C_PEAK, C_N };

/* The setup agreement: counts of failed ranks per error code
 * (1 .. AGREE_CODES - 1), then the sum of (world rank + 1) over failed
 * ranks, which names the rank when only one failed. */
#define AGREE_CODES 8
#define AGREE_N (AGREE_CODES + 1)

/* A shard group's communicator: world ranks [g0, g0 + size), the GPUs
 * of a group (first, size) of a micro-batch listed by DP rank a, g0 =
 * a cp + first. */
struct blk {
	int g0, size;
	int layer;         /* the split that makes it (make_groups) */
	struct comm c;     /* on its members; ops NULL elsewhere */
};

/* A shard group of the part being built (part_groups). */
struct pgrp {
	int first, size;   /* ranks [first, first + size) of the micro-batch */
	int k;             /* this rank is its first + k */
	size_t nsh, G;     /* its samples, their tokens */
	size_t *ts;        /* size: each rank's shard rows (into tsbuf) */
};

struct exec {
	const struct plan *p;
	struct exec_opts o;
	const struct backend_ops *b;
	struct xf_shape s;
	struct xf_layout l;
	uint64_t seed;           /* token ids */
	struct comm *world;
	int d, r;                /* this rank's DP rank and CP rank */
	size_t first, count;     /* iterations run */
	long t;                  /* AdamW steps done */
	float *w, *g, *m, *v;    /* parameters, gradients, moments [l.n] */
	struct xf *xf;
	/* Every shard group of the iterations run, by (g0, size); nlayers
	 * splits make their communicators. */
	struct blk *blk;
	size_t nblk;
	int nlayers;
	/* The micro-batches this DP rank runs in one iteration
	 * (plan_rank_mbs): index into p->mbs and offset. */
	size_t *mbi;
	int *mbo;
	size_t mbcap;
	/* One part's shard groups, sized for the most a rank can be in. */
	struct pgrp *pg;
	struct xf_group *xg;
	size_t *tsbuf, *cnt;     /* their shard rows; one group's rows so far */
	/* Host index arrays of one part, sized for the largest. */
	int32_t *cu_loc, *cu_sh, *cu_g;  /* nmax + 1 */
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

/* Whether group a runs before group b: by first rank, then size. */
static int
before(const struct pgrp *a, const struct pgrp *b)
{
	return a->first != b->first ? a->first < b->first : a->size < b->size;
}

/*
 * The sizes of rank q's part of micro-batch mb (pt: its counts and d) and
 * its shard groups (x->pg, x->xg but their communicators), in the order
 * every member runs them.  Aligned blocks of one size are disjoint, so q
 * is in at most one group of each size.
 */
static void
part_groups(struct exec *x, const struct plan_mb *mb, int q,
    struct xf_part *pt)
{
	const struct plan_sample *sm;
	struct xf_group *xg;
	struct pgrp *g, tmp;
	size_t i, j, ng = 0, used = 0, rows = 0;
	int k;

	memset(pt, 0, sizeof *pt);
	for (i = 0; i < mb->n; i++) {
		sm = &x->p->samples[mb->first + i];
		if (sm->place != PLAN_SHARDED) {
			if (sm->place == q) {
				pt->tl += sm->len;
				pt->nloc++;
			}
			continue;
		}
		if (q < sm->first || q >= sm->first + sm->size)
			continue;
		for (j = 0; j < ng && x->pg[j].size != sm->size; j++)
			;
		g = &x->pg[j];
		if (j == ng) {
			g->first = sm->first;
			g->size = sm->size;
			g->k = q - sm->first;
			g->nsh = g->G = 0;
			g->ts = x->tsbuf + used;
			used += sm->size;
			for (k = 0; k < g->size; k++)
				g->ts[k] = 0;
			ng++;
		}
		g->nsh++;
		g->G += sm->len;
		for (k = 0; k < g->size; k++)
			g->ts[k] += shard_rows(sm->len, k, g->size);
	}
	for (i = 1; i < ng; i++) {
		tmp = x->pg[i];
		for (j = i; j > 0 && before(&tmp, &x->pg[j - 1]); j--)
			x->pg[j] = x->pg[j - 1];
		x->pg[j] = tmp;
	}
	for (i = 0; i < ng; i++) {
		g = &x->pg[i];
		xg = &x->xg[i];
		xg->c = NULL;
		xg->ts = g->ts;
		xg->maxts = 0;
		for (k = 0; k < g->size; k++)
			if (g->ts[k] > xg->maxts)
				xg->maxts = g->ts[k];
		xg->row0 = rows;
		xg->rows = g->ts[g->k];
		rows += xg->rows;
		xg->by0 = pt->d.R;
		pt->d.R += (size_t)g->size * xg->maxts;
		xg->rs0 = pt->d.S;
		pt->d.S += xg->maxts;
		pt->d.G += g->G;
		pt->nsh += g->nsh;
		if ((size_t)g->size > pt->d.gsize)
			pt->d.gsize = (size_t)g->size;
	}
	pt->d.T = pt->tl + rows;
	pt->d.ng = ng;
	pt->g = x->xg;
}

/* Order of blocks: by first GPU, then size. */
static int
blk_cmp(const void *a, const void *b)
{
	const struct blk *u = a, *v = b;

	if (u->g0 != v->g0)
		return u->g0 < v->g0 ? -1 : 1;
	return (u->size > v->size) - (u->size < v->size);
}

/* The communicator of the shard group of GPUs [g0, g0 + size) on this
 * rank, or NULL when it has none. */
static struct comm *
group_comm(struct exec *x, int g0, int size)
{
	struct blk key, *b;

	key.g0 = g0;
	key.size = size;
	b = bsearch(&key, x->blk, x->nblk, sizeof *x->blk, blk_cmp);
	return b != NULL && b->c.ops != NULL ? &b->c : NULL;
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

/* Where each rank of a group of n ranks (xg) holds its rows of sample
 * sm, whose rows start at gofs in the gathered buffers: x->gmap in the
 * group's by-rank layout, x->cnt counting each rank's rows of the group
 * so far. */
static void
map_sample(struct exec *x, const struct plan_sample *sm,
    const struct xf_group *xg, int n, size_t gofs)
{
	uint32_t lo, hi, pos;
	int k, c;

	for (k = 0; k < n; k++)
		for (c = 0; c < 2; c++) {
			chunk(sm->len, c == 0 ? k : 2 * n - 1 - k, n, &lo, &hi);
			for (pos = lo; pos < hi; pos++)
				x->gmap[gofs + pos] = (int32_t)(xg->by0 +
				    (size_t)k * xg->maxts + x->cnt[k]++);
		}
}

/*
 * Fill the index arrays and the groups' communicators of this rank's part
 * of micro-batch mb, whose CP rank 0 is rank off of it, after part_groups
 * (see xformer.h).
 */
static int
part_build(struct exec *x, const struct plan_mb *mb, int off,
    struct xf_part *pt)
{
	const struct plan *p = x->p;
	const int q = off + x->r, base = (x->d - off / p->job.cp) * p->job.cp;
	const struct plan_sample *sm;
	const struct pgrp *g;
	struct xf_group *xg;
	uint32_t lo, hi;
	size_t i, gi, t = 0, nl = 0, ns = 0, gofs = 0;
	int k, c, n;

	for (i = 0; i < mb->n; i++) {
		sm = &p->samples[mb->first + i];
		if (sm->place != q)
			continue;
		x->cu_loc[nl++] = (int32_t)t;
		rows(x, sm, 0, sm->len, &t);
	}
	x->cu_loc[nl] = (int32_t)t;
	for (gi = 0; gi < pt->d.ng; gi++) {
		g = &x->pg[gi];
		xg = &x->xg[gi];
		n = g->size;
		if ((xg->c = group_comm(x, base + g->first, n)) == NULL)
			return err_set(SK_ERR_ARG, "exec: world rank %d has no "
			    "communicator for the shard group of GPUs %d..%d",
			    x->world->rank, base + g->first,
			    base + g->first + n - 1);
		for (k = 0; k < n; k++)
			x->cnt[k] = 0;
		for (i = 0; i < mb->n; i++) {
			sm = &p->samples[mb->first + i];
			if (sm->place != PLAN_SHARDED || sm->first != g->first ||
			    sm->size != n)
				continue;
			x->cu_sh[ns] = (int32_t)(t - pt->tl);
			x->cu_g[ns++] = (int32_t)gofs;
			for (c = 0; c < 2; c++) {
				chunk(sm->len, c == 0 ? g->k : 2 * n - 1 - g->k,
				    n, &lo, &hi);
				rows(x, sm, lo, hi, &t);
			}
			map_sample(x, sm, xg, n, gofs);
			gofs += sm->len;
		}
	}
	x->cu_sh[ns] = (int32_t)(t - pt->tl);
	x->cu_g[ns] = (int32_t)gofs;
	pt->cu_loc = x->cu_loc;
	pt->cu_sh = x->cu_sh;
	pt->cu_g = x->cu_g;
	pt->gmap = x->gmap;
	pt->pos = x->pos;
	pt->tok = x->tok;
	pt->tgt = x->tgt;
	return SK_OK;
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

/* Where a sample of the plan is: its iteration, the DP rank listing its
 * micro-batch and the micro-batch's place in that list. */
struct at {
	size_t it, m;
	int a;
};

/* fn(sample, where it is, arg) for every sharded sample of iterations
 * [first, first + count), until one returns an error, which is returned. */
static int
each_sharded(const struct plan *p, size_t first, size_t count,
    int (*fn)(const struct plan_sample *, const struct at *, void *),
    void *arg)
{
	const int dp = p->job.dp;
	const struct plan_rank *rk;
	const struct plan_mb *mb;
	const struct plan_sample *sm;
	struct at w;
	size_t i;
	int e;

	for (w.it = first; w.it < first + count; w.it++)
		for (w.a = 0; w.a < dp; w.a++) {
			rk = &p->ranks[w.it * (size_t)dp + (size_t)w.a];
			for (w.m = 0; w.m < rk->n; w.m++) {
				mb = &p->mbs[rk->first + w.m];
				for (i = 0; i < mb->n; i++) {
					sm = &p->samples[mb->first + i];
					if (sm->place == PLAN_SHARDED &&
					    (e = fn(sm, &w, arg)) != SK_OK)
						return e;
				}
			}
		}
	return SK_OK;
}

/* What fit_world checks a plan against. */
struct fit {
	int cp, ws;  /* the plan's CP degree; the world's ranks */
};

/* SK_ERR_ARG naming sm's shard group when it needs GPUs beyond the
 * world's (a plan for a larger grid). */
static int
fit_world(const struct plan_sample *sm, const struct at *w, void *arg)
{
	const struct fit *f = arg;
	const int g0 = w->a * f->cp + sm->first;

	if (g0 + sm->size <= f->ws)
		return SK_OK;
	return err_set(SK_ERR_ARG, "plan: iteration %zu, DP rank %d, "
	    "micro-batch %zu: sample %" PRIu32 "'s shard group [%d, %d) is "
	    "GPUs %d..%d, but the world has %d ranks", w->it, w->a, w->m,
	    sm->index, sm->first, sm->first + sm->size, g0,
	    g0 + sm->size - 1, f->ws);
}

/*
 * Size this rank's per-iteration state from the iterations it runs: the
 * lists of its micro-batches, room for the most shard groups a rank can
 * be in, and the largest part (*cap, each size at its largest; *nmax, the
 * most samples of a micro-batch).
 */
static int
scan(struct exec *x, struct xf_dims *cap, size_t *nmax)
{
	const struct plan *p = x->p;
	const int cp = p->job.cp;
	const struct plan_mb *mb;
	struct xf_part pt;
	size_t it, i, n, ng, sum, ngcap = 0, tscap = 0;
	int span, maxspan = 1, size, w;

	x->mbcap = 0;
	for (it = x->first; it < x->first + x->count; it++) {
		n = plan_rank_mbs(p, it, x->d, NULL, NULL, 0);
		x->mbcap = n > x->mbcap ? n : x->mbcap;
	}
	x->mbi = calloc(x->mbcap > 0 ? x->mbcap : 1, sizeof *x->mbi);
	x->mbo = calloc(x->mbcap > 0 ? x->mbcap : 1, sizeof *x->mbo);
	if (x->mbi == NULL || x->mbo == NULL)
		return err_set(SK_ERR_NOMEM, "exec: out of memory for %zu "
		    "micro-batches", x->mbcap);
	*nmax = 0;
	for (it = x->first; it < x->first + x->count; it++) {
		n = plan_rank_mbs(p, it, x->d, x->mbi, x->mbo, x->mbcap);
		for (i = 0; i < n; i++) {
			mb = &p->mbs[x->mbi[i]];
			maxspan = mb->span > maxspan ? mb->span : maxspan;
			*nmax = mb->n > *nmax ? mb->n : *nmax;
		}
	}
	/* A rank of a micro-batch of w ranks is in at most one shard group
	 * of each size >= 2 dividing w. */
	for (span = 1; span <= maxspan; span++) {
		w = span * cp;
		ng = sum = 0;
		for (size = 2; size <= w; size++)
			if (w % size == 0) {
				ng++;
				sum += (size_t)size;
			}
		ngcap = ng > ngcap ? ng : ngcap;
		tscap = sum > tscap ? sum : tscap;
	}
	x->pg = calloc(ngcap > 0 ? ngcap : 1, sizeof *x->pg);
	x->xg = calloc(ngcap > 0 ? ngcap : 1, sizeof *x->xg);
	x->tsbuf = calloc(tscap > 0 ? tscap : 1, sizeof *x->tsbuf);
	if (x->pg == NULL || x->xg == NULL || x->tsbuf == NULL)
		return err_set(SK_ERR_NOMEM, "exec: out of memory for %zu shard "
		    "groups", ngcap);
	memset(cap, 0, sizeof *cap);
	for (it = x->first; it < x->first + x->count; it++) {
		n = plan_rank_mbs(p, it, x->d, x->mbi, x->mbo, x->mbcap);
		for (i = 0; i < n; i++) {
			part_groups(x, &p->mbs[x->mbi[i]], x->mbo[i] + x->r,
			    &pt);
			cap->T = pt.d.T > cap->T ? pt.d.T : cap->T;
			cap->G = pt.d.G > cap->G ? pt.d.G : cap->G;
			cap->R = pt.d.R > cap->R ? pt.d.R : cap->R;
			cap->S = pt.d.S > cap->S ? pt.d.S : cap->S;
			cap->ng = pt.d.ng > cap->ng ? pt.d.ng : cap->ng;
			cap->gsize = pt.d.gsize > cap->gsize ? pt.d.gsize :
			    cap->gsize;
		}
	}
	if ((x->cnt = calloc(cap->gsize > 0 ? cap->gsize : 1,
	    sizeof *x->cnt)) == NULL)
		return err_set(SK_ERR_NOMEM, "exec: out of memory");
	return SK_OK;
}

/* Record sm's block of world ranks at x->blk[x->nblk++] (only count
 * while x->blk is NULL). */
static int
add_blk(const struct plan_sample *sm, const struct at *w, void *arg)
{
	struct exec *x = arg;

	if (x->blk != NULL) {
		x->blk[x->nblk].g0 = w->a * x->p->job.cp + sm->first;
		x->blk[x->nblk].size = sm->size;
	}
	x->nblk++;
	return SK_OK;
}

/*
 * Every shard group of the iterations run, on every DP rank, as a block
 * of world ranks (x->blk, by (g0, size), each once), and the split that
 * makes each: blocks that overlap need different splits, so each goes to
 * the first split whose blocks all end before it starts (interval
 * partitioning: as many splits as the most blocks sharing a GPU).  Every
 * rank computes the same from the same plan.
 */
static int
collect_groups(struct exec *x)
{
	size_t i, l, n;
	int *ends;

	x->nblk = 0;
	each_sharded(x->p, x->first, x->count, add_blk, x);
	if ((x->blk = calloc(x->nblk > 0 ? x->nblk : 1, sizeof *x->blk)) ==
	    NULL)
		return err_set(SK_ERR_NOMEM, "exec: out of memory for %zu "
		    "shard groups", x->nblk);
	n = x->nblk;
	x->nblk = 0;
	each_sharded(x->p, x->first, x->count, add_blk, x);
	qsort(x->blk, n, sizeof *x->blk, blk_cmp);
	x->nblk = 0;
	for (i = 0; i < n; i++)
		if (x->nblk == 0 || blk_cmp(&x->blk[i],
		    &x->blk[x->nblk - 1]) != 0)
			x->blk[x->nblk++] = x->blk[i];
	if ((ends = calloc(x->nblk > 0 ? x->nblk : 1, sizeof *ends)) == NULL)
		return err_set(SK_ERR_NOMEM, "exec: out of memory");
	x->nlayers = 0;
	for (i = 0; i < x->nblk; i++) {
		for (l = 0; l < (size_t)x->nlayers &&
		    ends[l] > x->blk[i].g0; l++)
			;
		x->blk[i].layer = (int)l;
		ends[l] = x->blk[i].g0 + x->blk[i].size;
		if (l == (size_t)x->nlayers)
			x->nlayers++;
	}
	free(ends);
	return SK_OK;
}

/* Everything a rank sets up on its own. */
static int
setup(struct exec *x, const struct exec_model *m)
{
	const struct plan *p = x->p;
	const int dp = p->job.dp, cp = p->job.cp, ws = x->world->size;
	struct xf_dims cap;
	struct fit f;
	size_t nmax = 0;
	float *host;
	int e;

	if ((e = plan_validate(p, NULL)) != SK_OK)
		return e;
	if ((e = check_opts(&x->o, p->niter)) != SK_OK)
		return e;
	x->first = x->o.first;
	x->count = x->o.count > 0 ? x->o.count : p->niter - x->o.first;
	f.cp = cp;
	f.ws = ws;
	if ((e = each_sharded(p, x->first, x->count, fit_world, &f)) != SK_OK)
		return e;
	if (dp > ws / cp || dp * cp != ws)
		return err_set(SK_ERR_ARG, "exec: the plan's grid is DP %d x CP "
		    "%d, the world has %d ranks", dp, cp, ws);
	if ((e = comm_grid(x->world->rank, dp, cp, &x->d, &x->r)) != SK_OK)
		return e;
	if ((e = shape(&p->job.model, m, &x->s)) != SK_OK)
		return e;
	/* The plan's selective recompute is run (xformer.h); a full one is
	 * not: every activation stays saved, as without recompute. */
	x->s.selective = p->job.recompute == RECOMPUTE_SELECTIVE;
	if ((e = backend_check(x->b)) != SK_OK)
		return e;
	if ((e = x->b->open(x->o.device)) != SK_OK)
		return e;
	x->opened = 1;
	xf_layout(&x->s, &x->l);
	if ((e = scan(x, &cap, &nmax)) != SK_OK ||
	    (e = collect_groups(x)) != SK_OK)
		return e;
	if (cap.T > INT32_MAX || cap.G > INT32_MAX || cap.R > INT32_MAX)
		return err_set(SK_ERR_RANGE, "exec: micro-batch parts of %zu "
		    "tokens (%zu sharded, %zu rows gathered by rank) exceed the "
		    "kernels' int32 offsets", cap.T, cap.G, cap.R);
	if (x->o.mem_limit > 0) {
		double need = 4.0 * sizeof(float) * (double)x->l.n +
		    (double)xf_act_bytes(&x->s, &cap);

		if (need > x->o.mem_limit)
			return err_set(SK_ERR_RANGE, "this rank needs %.1f MiB "
			    "(weights, gradients and AdamW moments of %zu parameters, "
			    "activations of a %zu-token micro-batch part) but may use "
			    "%.1f MiB", need / 1048576.0, x->l.n, cap.T,
			    x->o.mem_limit / 1048576.0);
	}
	if ((e = xf_new(x->b, &x->s, &cap, &x->xf)) != SK_OK)
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
	x->gmap = calloc(cap.G > 0 ? cap.G : 1, sizeof *x->gmap);
	x->pos = calloc(cap.T > 0 ? cap.T : 1, sizeof *x->pos);
	x->tok = calloc(cap.T > 0 ? cap.T : 1, sizeof *x->tok);
	x->tgt = calloc(cap.T > 0 ? cap.T : 1, sizeof *x->tgt);
	x->hcells = calloc(x->count * C_N, sizeof *x->hcells);
	x->hall = calloc(x->count * C_N * (size_t)ws, sizeof *x->hall);
	x->counts = calloc((size_t)ws, sizeof *x->counts);
	x->displs = calloc((size_t)ws, sizeof *x->displs);
	host = malloc(x->l.n * sizeof *host);
	if (x->w == NULL || x->g == NULL || x->m == NULL || x->v == NULL ||
	    x->sync == NULL || x->cells == NULL || x->all == NULL ||
	    x->cu_loc == NULL || x->cu_sh == NULL || x->cu_g == NULL ||
	    x->gmap == NULL || x->pos == NULL ||
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

/* Free the shard groups' communicators this rank holds, in block order
 * (the same on every rank: freeing may be collective). */
static void
free_groups(struct exec *x)
{
	size_t i;

	for (i = 0; i < x->nblk; i++)
		if (x->blk[i].c.ops != NULL)
			x->blk[i].c.ops->free(&x->blk[i].c);
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
	free(x->blk);
	free(x->mbi);
	free(x->mbo);
	free(x->pg);
	free(x->xg);
	free(x->tsbuf);
	free(x->cnt);
	free(x->cu_loc);
	free(x->cu_sh);
	free(x->cu_g);
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
 * Agree over the world on the outcome of every rank's step what ("setup")
 * (own: this rank's code).  Returns the agreed code: the smallest code
 * any rank failed with.  A rank that failed keeps its message (prefixed
 * with its world rank); the others get one naming the failed rank.
 */
static int
agree(struct comm *world, int own, double timeout, const char *what)
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
		return err_set(code, "exec: %s failed on world rank %.0f (%s; "
		    "its message is on its output)", what,
		    (double)v[AGREE_CODES] - 1, err_name(code));
	return err_set(code, "exec: %s failed on %.0f ranks (%s first)", what,
	    nfail, err_name(code));
}

/*
 * Make the communicator of every shard group (x->blk), collective over
 * the world: split after split in layer order, every rank in each (one in
 * none of a split's groups with COMM_NOCOLOR), each agreed before the
 * next, so that a rank that fails does not leave the others waiting in
 * the next split.  A communication failure is returned at once (the
 * world is unusable: the caller aborts).
 */
static int
make_groups(struct exec *x, double timeout)
{
	static const char what[] = "making the shard groups' communicators";
	struct comm *world = x->world, none;
	struct blk *mine;
	char name[COMM_NAME_MAX], pre[COMM_NAME_MAX + 16];
	const int w = world->rank;
	size_t i;
	int l, e;

	for (l = 0; l < x->nlayers; l++) {
		mine = NULL;
		for (i = 0; i < x->nblk; i++)
			if (x->blk[i].layer == l && w >= x->blk[i].g0 &&
			    w < x->blk[i].g0 + x->blk[i].size)
				mine = &x->blk[i];
		name[0] = '\0';
		if (mine != NULL)
			snprintf(name, sizeof name, "shard group of GPUs %d..%d",
			    mine->g0, mine->g0 + mine->size - 1);
		e = world->ops->split(world, mine != NULL ?
		    (int)(mine - x->blk) : COMM_NOCOLOR, w, name, mine != NULL ?
		    &mine->c : &none);
		if (e != SK_OK) {
			snprintf(pre, sizeof pre, "making the %s", mine != NULL ?
			    name : "shard groups");
			err_prefix(pre);
			if (e == SK_ERR_IO)
				return e;
		}
		if ((e = agree(world, e, timeout, what)) != SK_OK)
			return e;
	}
	return SK_OK;
}

int
exec_new(const struct plan *p, const struct exec_model *m,
    const struct exec_opts *o, struct comm *world, struct exec **out)
{
	struct exec_opts od;
	struct exec_model md;
	struct exec *x;
	double timeout;
	int e;

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
	timeout = o->timeout != 0 && !isnan(o->timeout) ? o->timeout : 600;
	if ((x = calloc(1, sizeof *x)) == NULL) {
		e = err_set(SK_ERR_NOMEM, "exec: out of memory");
	} else {
		x->p = p;
		x->o = *o;
		x->b = o->backend != NULL ? o->backend : &backend_cpu_ops;
		x->world = world;
		e = setup(x, m);
	}
	if ((e = agree(world, e, timeout, "setup")) == SK_OK &&
	    (e = make_groups(x, timeout)) == SK_OK) {
		*out = x;
		return SK_OK;
	}
	if (x != NULL) {
		/* After a communication failure the job is aborted anyway. */
		if (e != SK_ERR_IO)
			free_groups(x);
		release(x);
	}
	return e;
}

void
exec_free(struct exec *x)
{
	if (x == NULL)
		return;
	free_groups(x);
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
	const size_t n = plan_rank_mbs(p, it, x->d, x->mbi, x->mbo, x->mbcap);
	const struct plan_mb *mb;
	struct xf_stats st = { 0, 0, 0 };
	struct xf_part pt;
	uint64_t targets, tokens;
	double t0, wait = 0, sum = 0, l, peak = 0, ab;
	float scale, hi;
	size_t i;
	int e;

	t0 = now();
	batch_tokens(p, it, &targets, &tokens);
	scale = targets > 0 ? (float)(1.0 / (double)targets) : 0.0f;
	x->b->zero(x->g, x->l.n);
	for (i = 0; i < n; i++) {
		mb = &p->mbs[x->mbi[i]];
		part_groups(x, mb, x->mbo[i] + x->r, &pt);
		if ((e = part_build(x, mb, x->mbo[i], &pt)) != SK_OK)
			return e;
		ab = (double)xf_act_bytes(&x->s, &pt.d);
		peak = ab > peak ? ab : peak;
		if ((e = xf_step(x->xf, &pt, x->w, x->g, scale, x->o.timeout,
		    &l, &st)) != SK_OK)
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
	cell[C_RFLOPS] = (float)st.rflops;
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
			/* model FLOPs leave the recompute out (skrull(7)) */
			f += a[C_FLOPS] - a[C_RFLOPS];
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
