/* xformer: see xformer.h. */
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "err.h"
#include "xformer.h"

/* One layer's saved activations (rows of the part). */
struct lay {
	float *r1, *n1;        /* attention norm: 1 / rms [T], output [T x H] */
	float *q, *k, *v;      /* after the rotary embedding: [T x hq], [T x hkv] */
	float *kg, *vg;        /* gathered K, V of the sharded samples [G x hkv] */
	float *o, *lse;        /* attention output [T x hq], log-sum-exp [T x nh]
	                          (selective: one of xf.lsebuf) */
	float *x1;             /* residual after attention [T x H] */
	float *r2, *n2;        /* MLP norm */
	float *gt, *u, *a;     /* gate, up, SwiGLU output [T x ffn] */
};

struct xf {
	const struct backend_ops *b;
	struct xf_shape s;
	struct xf_layout l;
	struct xf_dims cap;    /* the largest part the workspace holds */
	float *mem;            /* the whole workspace (one allocation) */
	float **xs;            /* layers + 1 residual streams [T x H] */
	struct lay *lay;       /* layers */
	float *rf, *hf, *lg;   /* final norm, its output, logits [T x vocab] */
	float *kr, *vr;        /* by-rank gather buffers [R x hkv], every
	                          group's; reduce-scatter inputs in backward */
	float *rk, *rv;        /* reduce-scatter outputs [S x hkv] */
	float *dx, *dx1, *dh;  /* [T x H] */
	float *da, *dg, *du;   /* [T x ffn] */
	float *dout, *dq;      /* [T x hq] */
	float *dk, *dv;        /* [T x hkv] */
	float *dkg, *dvg;      /* [G x hkv] */
	float *lsebuf[2];      /* selective: the log-sum-exp of the layers
	                          l with l mod 2 = 0, 1 [T x nh] */
	size_t *counts, *displs;  /* gsize: a gather's blocks, elements
	                             (copied by each start) */
	struct comm_req *rq;   /* 2 ng: each group's K and V requests */
};

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* SplitMix64's output function (Steele, Lea and Flood 2014). */
static uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

#define GOLDEN 0x9e3779b97f4a7c15ULL

int32_t
xf_token(uint64_t seed, uint64_t index, uint64_t pos, size_t vocab)
{
	/* Output pos of the stream whose state starts at
	 * mix64(seed) ^ mix64(index + 1): SplitMix64's n-th output is
	 * mix64(state + (n + 1) golden).  The modulo bias is below
	 * vocab / 2^64. */
	uint64_t state = mix64(seed) ^ mix64(index + 1);

	return (int32_t)(mix64(state + (pos + 1) * GOLDEN) % vocab);
}

void
xf_layout(const struct xf_shape *s, struct xf_layout *l)
{
	const size_t H = s->hidden, hq = s->heads * s->head_dim,
	    hkv = s->kv_heads * s->head_dim, F = s->ffn;

	l->emb = 0;
	l->layer0 = s->vocab * H;
	l->an = 0;
	l->wq = l->an + H;
	l->wk = l->wq + H * hq;
	l->wv = l->wk + H * hkv;
	l->wo = l->wv + H * hkv;
	l->mn = l->wo + hq * H;
	l->wg = l->mn + H;
	l->wu = l->wg + H * F;
	l->wd = l->wu + H * F;
	l->stride = l->wd + F * H;
	l->fnorm = l->layer0 + s->layers * l->stride;
	l->out = l->fnorm + H;
	l->n = l->out + (s->tied ? 0 : H * s->vocab);
}

/* Uniform on [-a, a) from one 64-bit draw: deviation a / sqrt(3). */
static float
uniform(uint64_t seed, uint64_t i, double a)
{
	double u = (double)(mix64(seed + (i + 1) * GOLDEN) >> 11) * 0x1p-53;

	return (float)((2.0 * u - 1.0) * a);
}

static void
fill(float *w, size_t off, size_t n, uint64_t seed, double dev)
{
	size_t i;

	for (i = 0; i < n; i++)
		w[off + i] = uniform(seed, off + i, dev * sqrt(3.0));
}

static void
ones(float *w, size_t off, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		w[off + i] = 1.0f;
}

void
xf_init(const struct xf_shape *s, uint64_t seed, float *w)
{
	const size_t H = s->hidden, hq = s->heads * s->head_dim,
	    hkv = s->kv_heads * s->head_dim, F = s->ffn;
	const uint64_t st = mix64(seed ^ 0x736b72756c6c);  /* "skrull" */
	struct xf_layout l;
	size_t i, b;

	xf_layout(s, &l);
	/* The embedding at the Hugging Face configs' initializer_range, 0.02
	 * (Qwen2.5, Llama 3.1): with tied embeddings it is also the output
	 * projection, and a deviation of 1 would start the loss near
	 * sqrt(hidden) x ln(vocab) instead of ln(vocab). */
	fill(w, l.emb, s->vocab * H, st, 0.02);
	for (i = 0; i < s->layers; i++) {
		b = l.layer0 + i * l.stride;
		ones(w, b + l.an, H);
		fill(w, b + l.wq, H * hq, st, 1.0 / sqrt((double)H));
		fill(w, b + l.wk, H * hkv, st, 1.0 / sqrt((double)H));
		fill(w, b + l.wv, H * hkv, st, 1.0 / sqrt((double)H));
		fill(w, b + l.wo, hq * H, st, 1.0 / sqrt((double)hq));
		ones(w, b + l.mn, H);
		fill(w, b + l.wg, H * F, st, 1.0 / sqrt((double)H));
		fill(w, b + l.wu, H * F, st, 1.0 / sqrt((double)H));
		fill(w, b + l.wd, F * H, st, 1.0 / sqrt((double)F));
	}
	ones(w, l.fnorm, H);
	if (!s->tied)
		fill(w, l.out, H * s->vocab, st, 1.0 / sqrt((double)H));
}

/* The next n floats of the workspace at *off (NULL when only counting). */
static float *
take(float *base, size_t *off, size_t n)
{
	float *p = base != NULL ? base + *off : NULL;

	*off += n;
	return p;
}

/*
 * Lay the workspace for a part of sizes d out from base (when x is not
 * NULL), returning its floats: the one place the buffers' sizes are
 * written, so the report's peak and the allocation agree.
 */
static size_t
carve(const struct xf_shape *s, const struct xf_dims *d, struct xf *x,
    float *base)
{
	const size_t H = s->hidden, hq = s->heads * s->head_dim,
	    hkv = s->kv_heads * s->head_dim, F = s->ffn, nh = s->heads,
	    T = d->T, G = d->G;
	struct lay dummy, *y;
	struct xf scratch;
	size_t off = 0, i;
	float *p;

	for (i = 0; i <= s->layers; i++) {
		p = take(base, &off, T * H);
		if (x != NULL)
			x->xs[i] = p;
	}
	for (i = 0; i < s->layers; i++) {
		y = x != NULL ? &x->lay[i] : &dummy;
		y->r1 = take(base, &off, T);
		y->n1 = take(base, &off, T * H);
		y->q = take(base, &off, T * hq);
		y->k = take(base, &off, T * hkv);
		y->v = take(base, &off, T * hkv);
		y->kg = take(base, &off, G * hkv);
		y->vg = take(base, &off, G * hkv);
		y->o = take(base, &off, T * hq);
		y->lse = s->selective ? NULL : take(base, &off, T * nh);
		y->x1 = take(base, &off, T * H);
		y->r2 = take(base, &off, T);
		y->n2 = take(base, &off, T * H);
		y->gt = take(base, &off, T * F);
		y->u = take(base, &off, T * F);
		y->a = take(base, &off, T * F);
	}
	if (x == NULL)
		x = &scratch;
	x->rf = take(base, &off, T);
	x->hf = take(base, &off, T * H);
	x->lg = take(base, &off, T * s->vocab);
	x->kr = take(base, &off, d->R * hkv);
	x->vr = take(base, &off, d->R * hkv);
	x->rk = take(base, &off, d->S * hkv);
	x->rv = take(base, &off, d->S * hkv);
	x->dx = take(base, &off, T * H);
	x->dx1 = take(base, &off, T * H);
	x->dh = take(base, &off, T * H);
	x->da = take(base, &off, T * F);
	x->dg = take(base, &off, T * F);
	x->du = take(base, &off, T * F);
	x->dout = take(base, &off, T * hq);
	x->dq = take(base, &off, T * hq);
	x->dk = take(base, &off, T * hkv);
	x->dv = take(base, &off, T * hkv);
	x->dkg = take(base, &off, G * hkv);
	x->dvg = take(base, &off, G * hkv);
	x->lsebuf[0] = x->lsebuf[1] = NULL;
	if (s->selective) {
		x->lsebuf[0] = take(base, &off, T * nh);
		x->lsebuf[1] = take(base, &off, T * nh);
		if (x != &scratch)
			for (i = 0; i < s->layers; i++)
				x->lay[i].lse = x->lsebuf[i % 2];
	}
	return off;
}

size_t
xf_act_bytes(const struct xf_shape *s, const struct xf_dims *d)
{
	return carve(s, d, NULL, NULL) * sizeof (float);
}

int
xf_new(const struct backend_ops *b, const struct xf_shape *s,
    const struct xf_dims *cap, struct xf **out)
{
	struct xf *x;
	size_t n;
	int e;

	*out = NULL;
	if ((e = backend_check(b)) != SK_OK)
		return e;
	n = carve(s, cap, NULL, NULL);
	if ((x = calloc(1, sizeof *x)) == NULL)
		return err_set(SK_ERR_NOMEM, "xformer: out of memory");
	x->b = b;
	x->s = *s;
	xf_layout(s, &x->l);
	x->cap = *cap;
	x->xs = calloc(s->layers + 1, sizeof *x->xs);
	x->lay = calloc(s->layers > 0 ? s->layers : 1, sizeof *x->lay);
	x->counts = calloc(cap->gsize > 0 ? cap->gsize : 1, sizeof *x->counts);
	x->displs = calloc(cap->gsize > 0 ? cap->gsize : 1, sizeof *x->displs);
	x->rq = calloc(cap->ng > 0 ? 2 * cap->ng : 1, sizeof *x->rq);
	x->mem = b->alloc(n);
	if (x->xs == NULL || x->lay == NULL || x->counts == NULL ||
	    x->displs == NULL || x->rq == NULL || x->mem == NULL) {
		xf_free(x);
		return err_set(SK_ERR_NOMEM, "xformer: out of memory for the "
		    "activations of %zu tokens (%zu gathered), %zu bytes", cap->T,
		    cap->G, n * sizeof (float));
	}
	carve(s, cap, x, x->mem);
	*out = x;
	return SK_OK;
}

void
xf_free(struct xf *x)
{
	if (x == NULL)
		return;
	x->b->free(x->mem);
	free(x->xs);
	free(x->lay);
	free(x->counts);
	free(x->displs);
	free(x->rq);
	free(x);
}

/* C[m x n] (+)= op(A) op(B), counted. */
static void
mm(struct xf *x, struct xf_stats *st, int ta, int tb, size_t m, size_t n,
    size_t k, const float *A, const float *B, float beta, float *C)
{
	x->b->gemm(ta, tb, m, n, k, 1.0f, A, B, beta, C);
	st->flops += 2.0 * (double)m * (double)n * (double)k;
}

/* Query-key pairs of rows lo .. hi - 1: position p sees p + 1 keys. */
static double
pairs(const int32_t *pos, size_t lo, size_t hi)
{
	double n = 0;
	size_t j;

	for (j = lo; j < hi; j++)
		n += (double)pos[j] + 1.0;
	return n;
}

/* Move pending requests forward (MPI progresses only inside its calls)
 * while a computation overlaps them. */
static int
poke(struct comm_req *rq, size_t n)
{
	size_t i;
	int e, done;

	for (i = 0; i < n; i++)
		if (rq[i].handle != 0 &&
		    (e = rq[i].comm->ops->test(&rq[i], &done)) != SK_OK)
			return e;
	return SK_OK;
}

/* Wait for the n requests rq, in order. */
static int
wait_all(struct comm_req *rq, size_t n, double timeout, struct xf_stats *st)
{
	double t0 = now();
	size_t i;
	int e = SK_OK;

	for (i = 0; i < n && e == SK_OK; i++)
		e = comm_wait(&rq[i], timeout);
	st->comm += now() - t0;
	return e;
}

/* The attention of the local samples, one sample at a time so that the
 * n pending collectives in rq are moved forward between them. */
static int
local_attn(struct xf *x, const struct xf_part *p, struct lay *y, int bwd,
    size_t n, struct xf_stats *st)
{
	const struct xf_shape *s = &x->s;
	const size_t nh = s->heads, nkv = s->kv_heads, hd = s->head_dim;
	size_t i;
	int e;

	for (i = 0; i < p->nloc; i++) {
		if (!bwd)
			x->b->attn_fwd(1, p->cu_loc + i, p->cu_loc + i, p->pos,
			    nh, nkv, hd, y->q, y->k, y->v, y->o, y->lse);
		else
			x->b->attn_bwd(1, p->cu_loc + i, p->cu_loc + i, p->pos,
			    nh, nkv, hd, y->q, y->k, y->v, y->o, y->lse,
			    x->dout, x->dq, x->dk, x->dv);
		if ((e = poke(x->rq, n)) != SK_OK)
			return e;
	}
	st->flops += (bwd ? 10.0 : 4.0) * pairs(p->pos, 0, p->tl) *
	    (double)(nh * hd);
	return SK_OK;
}

/* Start the all-gather of group g's shard rows of buf (K or V) into the
 * by-rank buffer dst, request *rq. */
static int
gather_start(struct xf *x, const struct xf_part *p, const struct xf_group *g,
    const float *buf, float *dst, struct comm_req *rq)
{
	const size_t hkv = x->s.kv_heads * x->s.head_dim;
	int k;

	for (k = 0; k < g->c->size; k++) {
		x->counts[k] = g->ts[k] * hkv;
		x->displs[k] = (size_t)k * g->maxts * hkv;
	}
	return g->c->ops->iallgatherv(g->c, buf + (p->tl + g->row0) * hkv,
	    g->rows * hkv, dst + g->by0 * hkv, x->counts, x->displs, rq);
}

/* The sharded samples' attention: this rank's shard rows' queries
 * against the gathered keys and values. */
static void
shard_attn(struct xf *x, const struct xf_part *p, struct lay *y,
    struct xf_stats *st)
{
	const struct xf_shape *s = &x->s;
	const size_t nh = s->heads, hd = s->head_dim, hq = nh * hd;

	x->b->attn_fwd(p->nsh, p->cu_sh, p->cu_g, p->pos + p->tl, nh,
	    s->kv_heads, hd, y->q + p->tl * hq, y->kg, y->vg,
	    y->o + p->tl * hq, y->lse + p->tl * nh);
	st->flops += 4.0 * pairs(p->pos, p->tl, p->d.T) * (double)(nh * hd);
}

static int
attn_fwd(struct xf *x, const struct xf_part *p, struct lay *y,
    double timeout, struct xf_stats *st)
{
	const size_t hkv = x->s.kv_heads * x->s.head_dim, ng = p->d.ng;
	const struct xf_group *g;
	size_t i;
	int e;

	/* Every request of x->rq is released (the last wait_all); a failed
	 * start leaves the earlier ones pending: the caller aborts. */
	for (i = 0; i < ng; i++) {
		g = &p->g[i];
		if ((e = gather_start(x, p, g, y->k, x->kr, &x->rq[2 * i])) !=
		    SK_OK || (e = gather_start(x, p, g, y->v, x->vr,
		    &x->rq[2 * i + 1])) != SK_OK)
			return e;
	}
	if ((e = local_attn(x, p, y, 0, 2 * ng, st)) != SK_OK)
		return e;
	if (ng == 0)
		return SK_OK;
	if ((e = wait_all(x->rq, 2 * ng, timeout, st)) != SK_OK)
		return e;
	x->b->gather_rows(p->d.G, hkv, p->gmap, x->kr, y->kg);
	x->b->gather_rows(p->d.G, hkv, p->gmap, x->vr, y->vg);
	shard_attn(x, p, y, st);
	return SK_OK;
}

/*
 * Selective recompute: layer y's attention forward again, from its saved
 * Q, K, V and gathered K/V, for its log-sum-exp; it writes y->o again,
 * the same values (the same kernel on the same inputs: neither backend's
 * attention forward has atomics or another order).  The local samples
 * one at a time, moving the n pending collectives of x->rq forward
 * between them, as the forward does.
 */
static int
rerun(struct xf *x, const struct xf_part *p, struct lay *y, size_t n,
    struct xf_stats *st)
{
	double f0 = st->flops;
	int e;

	if ((e = local_attn(x, p, y, 0, n, st)) != SK_OK)
		return e;
	if (p->d.ng > 0)
		shard_attn(x, p, y, st);
	st->rflops += st->flops - f0;
	return SK_OK;
}

/* dQ, dK, dV of every row from x->dout; then, unless next is NULL, the
 * rerun of the layer below (next) while the reduce-scatters are in
 * flight. */
static int
attn_bwd(struct xf *x, const struct xf_part *p, struct lay *y,
    struct lay *next, double timeout, struct xf_stats *st)
{
	const struct xf_shape *s = &x->s;
	const size_t nh = s->heads, nkv = s->kv_heads, hd = s->head_dim,
	    hq = nh * hd, hkv = nkv * hd, ng = p->d.ng;
	const struct xf_group *g;
	size_t i, blk;
	int e;

	if (ng > 0) {
		x->b->zero(x->dkg, p->d.G * hkv);
		x->b->zero(x->dvg, p->d.G * hkv);
		x->b->attn_bwd(p->nsh, p->cu_sh, p->cu_g, p->pos + p->tl, nh,
		    nkv, hd, y->q + p->tl * hq, y->kg, y->vg,
		    y->o + p->tl * hq, y->lse + p->tl * nh,
		    x->dout + p->tl * hq, x->dq + p->tl * hq, x->dkg, x->dvg);
		st->flops += 10.0 * pairs(p->pos, p->tl, p->d.T) *
		    (double)(nh * hd);
		x->b->zero(x->kr, p->d.R * hkv);
		x->b->zero(x->vr, p->d.R * hkv);
		x->b->scatter_rows(p->d.G, hkv, p->gmap, x->dkg, x->kr);
		x->b->scatter_rows(p->d.G, hkv, p->gmap, x->dvg, x->vr);
	}
	for (i = 0; i < ng; i++) {
		g = &p->g[i];
		blk = g->maxts * hkv;
		if ((e = g->c->ops->ireduce_scatter(g->c, x->kr + g->by0 * hkv,
		    x->rk + g->rs0 * hkv, blk, &x->rq[2 * i])) != SK_OK ||
		    (e = g->c->ops->ireduce_scatter(g->c, x->vr + g->by0 * hkv,
		    x->rv + g->rs0 * hkv, blk, &x->rq[2 * i + 1])) != SK_OK)
			return e;
	}
	x->b->zero(x->dk, p->tl * hkv);
	x->b->zero(x->dv, p->tl * hkv);
	if ((e = local_attn(x, p, y, 1, 2 * ng, st)) != SK_OK)
		return e;
	if (next != NULL && (e = rerun(x, p, next, 2 * ng, st)) != SK_OK)
		return e;
	if (ng == 0)
		return SK_OK;
	if ((e = wait_all(x->rq, 2 * ng, timeout, st)) != SK_OK)
		return e;
	for (i = 0; i < ng; i++) {
		g = &p->g[i];
		x->b->copy(x->dk + (p->tl + g->row0) * hkv,
		    x->rk + g->rs0 * hkv, g->rows * hkv);
		x->b->copy(x->dv + (p->tl + g->row0) * hkv,
		    x->rv + g->rs0 * hkv, g->rows * hkv);
	}
	return SK_OK;
}

/* Whether part p fits the workspace: its sizes, and each group's ranks
 * against the gathers' blocks. */
static int
fits(const struct xf *x, const struct xf_part *p)
{
	const struct xf_dims *d = &p->d, *c = &x->cap;
	size_t i;

	if (d->T > c->T || d->G > c->G || d->R > c->R || d->S > c->S ||
	    d->ng > c->ng)
		return 0;
	for (i = 0; i < d->ng; i++)
		if ((size_t)p->g[i].c->size > c->gsize)
			return 0;
	return 1;
}

int
xf_step(struct xf *x, const struct xf_part *p, const float *w, float *g,
    float scale, double timeout, double *loss, struct xf_stats *st)
{
	const struct backend_ops *b = x->b;
	const struct xf_shape *s = &x->s;
	const struct xf_layout *l = &x->l;
	const size_t H = s->hidden, hq = s->heads * s->head_dim,
	    hkv = s->kv_heads * s->head_dim, F = s->ffn, V = s->vocab,
	    T = p->d.T, L = s->layers;
	const float *wl, *wout;
	float *gl, *gout, *xin;
	struct lay *y;
	size_t i;
	int e;

	if (!fits(x, p))
		return err_set(SK_ERR_RANGE, "xformer: part of %zu tokens (%zu "
		    "gathered, %zu and %zu rows of collectives) in %zu shard "
		    "groups exceeds the workspace (%zu, %zu, %zu, %zu; %zu groups "
		    "of up to %zu ranks)", T, p->d.G, p->d.R, p->d.S, p->d.ng,
		    x->cap.T, x->cap.G, x->cap.R, x->cap.S, x->cap.ng,
		    x->cap.gsize);
	/* Forward. */
	b->embed_fwd(T, H, p->tok, w + l->emb, x->xs[0]);
	for (i = 0; i < L; i++) {
		wl = w + l->layer0 + i * l->stride;
		y = &x->lay[i];
		xin = x->xs[i];
		b->rmsnorm_fwd(T, H, xin, wl + l->an, s->norm_eps, y->n1, y->r1);
		mm(x, st, 0, 0, T, hq, H, y->n1, wl + l->wq, 0.0f, y->q);
		mm(x, st, 0, 0, T, hkv, H, y->n1, wl + l->wk, 0.0f, y->k);
		mm(x, st, 0, 0, T, hkv, H, y->n1, wl + l->wv, 0.0f, y->v);
		b->rope_fwd(T, s->heads, s->head_dim, p->pos, s->theta, y->q);
		b->rope_fwd(T, s->kv_heads, s->head_dim, p->pos, s->theta,
		    y->k);
		if ((e = attn_fwd(x, p, y, timeout, st)) != SK_OK)
			return e;
		b->copy(y->x1, xin, T * H);
		mm(x, st, 0, 0, T, H, hq, y->o, wl + l->wo, 1.0f, y->x1);
		b->rmsnorm_fwd(T, H, y->x1, wl + l->mn, s->norm_eps, y->n2,
		    y->r2);
		mm(x, st, 0, 0, T, F, H, y->n2, wl + l->wg, 0.0f, y->gt);
		mm(x, st, 0, 0, T, F, H, y->n2, wl + l->wu, 0.0f, y->u);
		b->swiglu_fwd(T * F, y->gt, y->u, y->a);
		b->copy(x->xs[i + 1], y->x1, T * H);
		mm(x, st, 0, 0, T, H, F, y->a, wl + l->wd, 1.0f, x->xs[i + 1]);
	}
	b->rmsnorm_fwd(T, H, x->xs[L], w + l->fnorm, s->norm_eps, x->hf, x->rf);
	wout = s->tied ? w + l->emb : w + l->out;
	gout = s->tied ? g + l->emb : g + l->out;
	/* Logits [T x V] = hf [T x H] times out [H x V], or emb [V x H]
	 * transposed. */
	mm(x, st, 0, s->tied, T, V, H, x->hf, wout, 0.0f, x->lg);
	*loss = b->xent(T, V, x->lg, p->tgt, scale, x->lg);

	/* Backward: x->lg now holds dlogits. */
	mm(x, st, 0, !s->tied, T, H, V, x->lg, wout, 0.0f, x->dh);
	if (s->tied)
		mm(x, st, 1, 0, V, H, T, x->lg, x->hf, 1.0f, gout);
	else
		mm(x, st, 1, 0, H, V, T, x->hf, x->lg, 1.0f, gout);
	b->rmsnorm_bwd(T, H, x->xs[L], w + l->fnorm, x->rf, x->dh, x->dx,
	    g + l->fnorm);
	if (s->selective && (e = rerun(x, p, &x->lay[L - 1], 0, st)) != SK_OK)
		return e;
	for (i = L; i-- > 0;) {
		wl = w + l->layer0 + i * l->stride;
		gl = g + l->layer0 + i * l->stride;
		y = &x->lay[i];
		/* MLP: dx is the gradient of the layer's output. */
		mm(x, st, 0, 1, T, F, H, x->dx, wl + l->wd, 0.0f, x->da);
		mm(x, st, 1, 0, F, H, T, y->a, x->dx, 1.0f, gl + l->wd);
		b->swiglu_bwd(T * F, y->gt, y->u, x->da, x->dg, x->du);
		mm(x, st, 0, 1, T, H, F, x->dg, wl + l->wg, 0.0f, x->dh);
		mm(x, st, 0, 1, T, H, F, x->du, wl + l->wu, 1.0f, x->dh);
		mm(x, st, 1, 0, H, F, T, y->n2, x->dg, 1.0f, gl + l->wg);
		mm(x, st, 1, 0, H, F, T, y->n2, x->du, 1.0f, gl + l->wu);
		b->rmsnorm_bwd(T, H, y->x1, wl + l->mn, y->r2, x->dh, x->dx1,
		    gl + l->mn);
		b->add(T * H, x->dx, x->dx1);
		/* Attention: dx1 is the gradient of x1. */
		mm(x, st, 0, 1, T, hq, H, x->dx1, wl + l->wo, 0.0f, x->dout);
		mm(x, st, 1, 0, hq, H, T, y->o, x->dx1, 1.0f, gl + l->wo);
		if ((e = attn_bwd(x, p, y, s->selective && i > 0 ?
		    &x->lay[i - 1] : NULL, timeout, st)) != SK_OK)
			return e;
		b->rope_bwd(T, s->heads, s->head_dim, p->pos, s->theta, x->dq);
		b->rope_bwd(T, s->kv_heads, s->head_dim, p->pos, s->theta,
		    x->dk);
		mm(x, st, 0, 1, T, H, hq, x->dq, wl + l->wq, 0.0f, x->dh);
		mm(x, st, 0, 1, T, H, hkv, x->dk, wl + l->wk, 1.0f, x->dh);
		mm(x, st, 0, 1, T, H, hkv, x->dv, wl + l->wv, 1.0f, x->dh);
		mm(x, st, 1, 0, H, hq, T, y->n1, x->dq, 1.0f, gl + l->wq);
		mm(x, st, 1, 0, H, hkv, T, y->n1, x->dk, 1.0f, gl + l->wk);
		mm(x, st, 1, 0, H, hkv, T, y->n1, x->dv, 1.0f, gl + l->wv);
		b->rmsnorm_bwd(T, H, x->xs[i], wl + l->an, y->r1, x->dh, x->dx,
		    gl + l->an);
		b->add(T * H, x->dx1, x->dx);
	}
	b->embed_bwd(T, H, p->tok, x->dx, g + l->emb);
	return SK_OK;
}
