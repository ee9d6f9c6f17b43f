/* calib: see calib.h and skrull-calibrate(1). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <gsl/gsl_vector.h>

#include "backend.h"
#include "calib.h"
#include "comm.h"
#include "cost.h"
#include "err.h"
#include "model.h"
#include "ops.h"
#include "profile.h"

#define REPS_MAX 16
#define LONG_OP 0.2      /* s: a warm-up this long gets 3 repetitions */
#define LAUNCHES 1000    /* tiny ops per launch-cost sample */
#define GRID_STEP 4      /* geometric grids: x 4 per point */
#define LEN_MIN 16       /* shortest attention key length, tokens */
#define COLL_MIN 1024.0  /* smallest collective size, bytes */
#define FIT_ITER 200
#define ATTN_BWD 2.5     /* backward FLOPs / forward (sim/ops.c) */
#define NSHAPES 4

/* Grids by backend: a GPU's are the issue's; the CPU's keep a
 * calibration to seconds (the reference GEMM runs a few GFLOP/s). */
struct grid {
	size_t tok_max;      /* GEMM token counts 1, 4, ... up to this */
	size_t copy_floats;  /* copy size, floats */
	double coll_max;     /* largest collective, bytes */
	int reps;
};

static const struct grid gpu_grid = { 16384, (size_t)1 << 28, 256.0 * 1048576,
	10 };
static const struct grid cpu_grid = { 256, (size_t)1 << 24, 4.0 * 1048576,
	5 };
static const struct grid cpu_quick = { 64, (size_t)1 << 22, 1048576, 3 };
static const struct grid gpu_quick = { 4096, (size_t)1 << 26, 16.0 * 1048576,
	5 };

static int
is_cpu(const struct backend_ops *b)
{
	return strcmp(b->name, "cpu") == 0;
}

static const struct grid *
grid_of(const struct backend_ops *b, int quick)
{
	if (is_cpu(b))
		return quick ? &cpu_quick : &cpu_grid;
	return quick ? &gpu_quick : &gpu_grid;
}

size_t
calib_default_max_len(const struct backend_ops *b, int quick)
{
	if (is_cpu(b))
		return quick ? 1024 : 4096;
	return quick ? 16384 : 131072;
}

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* What one timed operation runs: every buffer is the caller's. */
enum what { W_GEMM, W_ATTN_FWD, W_ATTN_BWD, W_LAUNCH, W_COPY, W_AG, W_RS,
	W_AR };

struct bench {
	const struct backend_ops *b;
	struct comm *c;
	enum what what;
	size_t m, n, k;          /* GEMM sizes; copy and collectives: n */
	size_t nh, nkv, hd;      /* attention */
	int32_t cu[2];           /* one sequence: {0, S} */
	const int32_t *qpos;
	float *x, *y, *z;        /* GEMM A, W, C; copy src, dst */
	float *q, *kk, *v, *o, *lse, *dout, *dq, *dk, *dv;
	int barrier;             /* a barrier before each repetition */
	const struct calib_opts *opts;  /* its progress callback */
	size_t done, total;      /* measurements made and to make */
};

/* profile_add, then the progress callback: one more measurement done. */
static int
add(struct bench *w, struct profile *p, enum profile_kind kind,
    const char *name, double x, double work, double sec)
{
	int e = profile_add(p, kind, name, x, work, sec);

	if (e == SK_OK && w->opts->progress != NULL) {
		w->done++;
		w->opts->progress(w->opts->progress_ctx, w->done,
		    w->total > w->done ? w->total : w->done);
	}
	return e;
}

static int
run_once(struct bench *w)
{
	const struct backend_ops *b = w->b;
	size_t i;

	switch (w->what) {
	case W_GEMM:
		b->gemm(0, 0, w->m, w->n, w->k, 1.0f, w->x, w->y, 0.0f, w->z);
		break;
	case W_ATTN_FWD:
		b->attn_fwd(1, w->cu, w->cu, w->qpos, w->nh, w->nkv, w->hd, w->q,
		    w->kk, w->v, w->o, w->lse);
		break;
	case W_ATTN_BWD:
		b->attn_bwd(1, w->cu, w->cu, w->qpos, w->nh, w->nkv, w->hd, w->q,
		    w->kk, w->v, w->o, w->lse, w->dout, w->dq, w->dk, w->dv);
		break;
	case W_LAUNCH:
		for (i = 0; i < LAUNCHES; i++)
			b->add(1, w->x, w->y);
		break;
	case W_COPY:
		b->copy(w->y, w->x, w->n);
		break;
	case W_AG:
		return w->c->ops->allgather(w->c, w->x, w->y, w->n);
	case W_RS:
		return w->c->ops->reduce_scatter(w->c, w->x, w->y, w->n);
	case W_AR:
		return w->c->ops->allreduce(w->c, w->x, w->y, w->n);
	}
	return SK_OK;
}

/* One warm-up, then the median of reps (3 when the warm-up took longer
 * than LONG_OP) into *sec. */
static int
timed(struct bench *w, int reps, double *sec)
{
	double t[REPS_MAX], t0;
	int i, e;

	t0 = now();
	if ((e = run_once(w)) != SK_OK || (e = w->b->sync()) != SK_OK)
		return e;
	if (now() - t0 > LONG_OP && reps > 3)
		reps = 3;
	for (i = 0; i < reps; i++) {
		if (w->barrier && (e = w->c->ops->barrier(w->c)) != SK_OK)
			return e;
		t0 = now();
		if ((e = run_once(w)) != SK_OK || (e = w->b->sync()) != SK_OK)
			return e;
		t[i] = now() - t0;
	}
	gsl_sort(t, 1, (size_t)reps);
	*sec = gsl_stats_median_from_sorted_data(t, 1, (size_t)reps);
	return SK_OK;
}

/* n floats of device memory holding a deterministic pattern: never
 * zero, as a reference GEMM may skip zero elements. */
static float *
filled(const struct backend_ops *b, float *host, size_t hostn, size_t n)
{
	float *d;
	size_t i, off;

	if ((d = b->alloc(n)) == NULL)
		return NULL;
	for (i = 0; i < hostn; i++)
		host[i] = 0.01f * (float)(1 + (i * 7919) % 97) / 97.0f;
	for (off = 0; off < n; off += hostn)
		b->upload(d + off, host, n - off < hostn ? n - off : hostn);
	return d;
}

#define HOSTN 65536

struct shape {
	const char *name;
	size_t in, out;
};

static void
shapes_of(const struct model *m, struct shape s[NSHAPES])
{
	size_t h = (size_t)m->hidden, ffn = (size_t)m->ffn;
	size_t hq = (size_t)m->heads * (size_t)m->head_dim;
	size_t hkv = (size_t)m->kv_heads * (size_t)m->head_dim;

	s[0] = (struct shape){ "qkv", h, hq + 2 * hkv };
	s[1] = (struct shape){ "o", hq, h };
	s[2] = (struct shape){ "gate_up", h, 2 * ffn };
	s[3] = (struct shape){ "down", ffn, h };
}

static int
measure_gemm(struct bench *w, const struct grid *g, const struct model *m,
    float *host, struct profile *p)
{
	const struct backend_ops *b = w->b;
	struct shape s[NSHAPES];
	size_t kmax = 0, nmax = 0, T;
	double sec;
	int i, e = SK_OK;

	shapes_of(m, s);
	for (i = 0; i < NSHAPES; i++) {
		kmax = s[i].in > kmax ? s[i].in : kmax;
		nmax = s[i].out > nmax ? s[i].out : nmax;
	}
	w->what = W_GEMM;
	w->x = filled(b, host, HOSTN, g->tok_max * kmax);
	w->y = filled(b, host, HOSTN, kmax * nmax);
	w->z = b->alloc(g->tok_max * nmax);
	if (w->x == NULL || w->y == NULL || w->z == NULL) {
		e = err_set(SK_ERR_NOMEM, "calibrate: out of %s memory for the "
		    "GEMM buffers", b->name);
		goto out;
	}
	for (i = 0; i < NSHAPES; i++)
		for (T = 1; T <= g->tok_max; T *= GRID_STEP) {
			w->m = T;
			w->n = s[i].out;
			w->k = s[i].in;
			if ((e = timed(w, g->reps, &sec)) != SK_OK ||
			    (e = add(w, p, PROF_GEMM, s[i].name, (double)T,
			    2.0 * (double)T * (double)s[i].in * (double)s[i].out,
			    sec)) != SK_OK)
				goto out;
		}
out:
	b->free(w->x);
	b->free(w->y);
	b->free(w->z);
	w->x = w->y = w->z = NULL;
	return e;
}

static int
measure_attn(struct bench *w, const struct grid *g, const struct model *m,
    size_t max_len, float *host, struct profile *p)
{
	const struct backend_ops *b = w->b;
	struct model one = *m;
	int32_t *qpos = NULL;
	size_t S, nq, nk, i, last = 0;
	double sec, f;
	int e = SK_OK;

	if (is_cpu(b)) {
		one.heads = 1;
		one.kv_heads = 1;
	}
	w->nh = (size_t)one.heads;
	w->nkv = (size_t)one.kv_heads;
	w->hd = (size_t)one.head_dim;
	nq = max_len * w->nh * w->hd;
	nk = max_len * w->nkv * w->hd;
	if ((qpos = malloc(max_len * sizeof *qpos)) == NULL) {
		e = err_set(SK_ERR_NOMEM, "calibrate: out of memory");
		goto out;
	}
	for (i = 0; i < max_len; i++)
		qpos[i] = (int32_t)i;
	w->qpos = qpos;
	w->q = filled(b, host, HOSTN, nq);
	w->kk = filled(b, host, HOSTN, nk);
	w->v = filled(b, host, HOSTN, nk);
	w->dout = filled(b, host, HOSTN, nq);
	w->o = b->alloc(nq);
	w->dq = b->alloc(nq);
	w->dk = b->alloc(nk);
	w->dv = b->alloc(nk);
	w->lse = b->alloc(max_len * w->nh);
	if (w->q == NULL || w->kk == NULL || w->v == NULL || w->dout == NULL ||
	    w->o == NULL || w->dq == NULL || w->dk == NULL || w->dv == NULL ||
	    w->lse == NULL) {
		e = err_set(SK_ERR_NOMEM, "calibrate: out of %s memory for the "
		    "attention buffers", b->name);
		goto out;
	}
	/* LEN_MIN, x GRID_STEP ..., and max_len itself. */
	for (S = LEN_MIN; last < max_len; S *= GRID_STEP) {
		last = S < max_len ? S : max_len;
		w->cu[0] = 0;
		w->cu[1] = (int32_t)last;
		f = cost_layer_attn_fwd(&one, (double)last);
		w->what = W_ATTN_FWD;
		if ((e = timed(w, g->reps, &sec)) != SK_OK ||
		    (e = add(w, p, PROF_ATTN_FWD, "", (double)last, f,
		    sec)) != SK_OK)
			goto out;
		b->zero(w->dk, last * w->nkv * w->hd);
		b->zero(w->dv, last * w->nkv * w->hd);
		w->what = W_ATTN_BWD;
		if ((e = timed(w, g->reps, &sec)) != SK_OK ||
		    (e = add(w, p, PROF_ATTN_BWD, "", (double)last,
		    ATTN_BWD * f, sec)) != SK_OK)
			goto out;
	}
out:
	b->free(w->q);
	b->free(w->kk);
	b->free(w->v);
	b->free(w->dout);
	b->free(w->o);
	b->free(w->dq);
	b->free(w->dk);
	b->free(w->dv);
	b->free(w->lse);
	w->q = w->kk = w->v = w->dout = w->o = w->dq = w->dk = w->dv = NULL;
	w->lse = NULL;
	free(qpos);
	w->qpos = NULL;
	return e;
}

/* The launch cost and the copy bandwidth. */
static int
measure_memory(struct bench *w, const struct grid *g, float *host,
    struct profile *p)
{
	const struct backend_ops *b = w->b;
	double sec, n = (double)g->copy_floats;
	int e = SK_OK;

	w->x = filled(b, host, HOSTN, g->copy_floats);
	w->y = b->alloc(g->copy_floats);
	if (w->x == NULL || w->y == NULL) {
		e = err_set(SK_ERR_NOMEM, "calibrate: out of %s memory for the "
		    "copy buffers", b->name);
		goto out;
	}
	w->what = W_LAUNCH;
	if ((e = timed(w, g->reps, &sec)) != SK_OK ||
	    (e = add(w, p, PROF_LAUNCH, "", LAUNCHES, 0,
	    sec)) != SK_OK)
		goto out;
	w->what = W_COPY;
	w->n = g->copy_floats;
	if ((e = timed(w, g->reps, &sec)) != SK_OK ||
	    (e = add(w, p, PROF_COPY, "", 4 * n, 8 * n, sec)) != SK_OK)
		goto out;
out:
	b->free(w->x);
	b->free(w->y);
	w->x = w->y = NULL;
	return e;
}

/* All-gather, reduce-scatter and all-reduce over w->c at sizes COLL_MIN
 * x GRID_STEP^i up to coll_max, each rounded to a whole float per rank. */
static int
measure_coll(struct bench *w, const struct grid *g, float *host,
    struct profile *p)
{
	static const struct {
		enum what what;
		enum profile_kind kind;
	} ops[] = {
		{ W_AG, PROF_ALLGATHER }, { W_RS, PROF_REDUCESCATTER },
		{ W_AR, PROF_ALLREDUCE }
	};
	const struct backend_ops *b = w->b;
	size_t nr = (size_t)w->c->size, per, permax, i;
	double size, bytes, sec;
	int e = SK_OK;

	permax = (size_t)(g->coll_max / (4.0 * (double)nr));
	if (permax < 1)
		permax = 1;
	w->x = filled(b, host, HOSTN, nr * permax);
	w->y = b->alloc(nr * permax);
	if (w->x == NULL || w->y == NULL) {
		e = err_set(SK_ERR_NOMEM, "calibrate: out of %s memory for the "
		    "collective buffers", b->name);
		goto out;
	}
	w->barrier = 1;
	for (size = COLL_MIN; size <= g->coll_max; size *= GRID_STEP) {
		per = (size_t)(size / (4.0 * (double)nr));
		if (per < 1)
			per = 1;
		bytes = 4.0 * (double)(per * nr);
		for (i = 0; i < sizeof ops / sizeof ops[0]; i++) {
			w->what = ops[i].what;
			/* all-reduce counts the whole buffer, the others one
			 * rank's block */
			w->n = ops[i].what == W_AR ? per * nr : per;
			if ((e = timed(w, g->reps, &sec)) != SK_OK ||
			    (e = add(w, p, ops[i].kind, "", bytes, bytes,
			    sec)) != SK_OK)
				goto out;
		}
	}
out:
	w->barrier = 0;
	b->free(w->x);
	b->free(w->y);
	w->x = w->y = NULL;
	return e;
}

/* The measurements calib_measure makes, as its loops count them: the
 * GEMM shapes at each token count, forward and backward attention at
 * each length, launch and copy (compute on rank 0), then the three
 * collectives at each size. */
static size_t
measurements(const struct grid *g, size_t max_len, int compute, int coll)
{
	size_t n = 0, T, S, last = 0;
	double size;

	if (compute) {
		for (T = 1; T <= g->tok_max; T *= GRID_STEP)
			n += NSHAPES;
		for (S = LEN_MIN; last < max_len; S *= GRID_STEP) {
			last = S < max_len ? S : max_len;
			n += 2;
		}
		n += 2;
	}
	for (size = COLL_MIN; coll && size <= g->coll_max; size *= GRID_STEP)
		n += 3;
	return n;
}

int
calib_measure(const struct backend_ops *b, struct comm *world,
    const struct calib_opts *o, struct profile *p)
{
	const struct grid *g;
	struct bench w;
	float *host = NULL;
	size_t max_len;
	int e, opened = 0;

	if ((e = backend_check(b)) != SK_OK ||
	    (e = model_validate(o->model, "calibrate: model")) != SK_OK)
		return e;
	if (world != NULL && (e = comm_check(world)) != SK_OK)
		return e;
	g = grid_of(b, o->quick);
	max_len = o->max_len > 0 ? o->max_len : calib_default_max_len(b, o->quick);
	if (max_len < 2 || max_len > INT32_MAX)
		return err_set(SK_ERR_RANGE, "calibrate: maximum length %zu is "
		    "not in [2, %d]", max_len, INT32_MAX);
	snprintf(p->backend, sizeof p->backend, "%s", b->name);
	snprintf(p->device, sizeof p->device, "%s", b->name);
	snprintf(p->dtype, sizeof p->dtype, "fp32");
	snprintf(p->model, sizeof p->model, "%s", o->model->name);
	p->shape = *o->model;
	p->shape_known = 1;
	p->count = world != NULL ? world->size : 1;
	memset(&w, 0, sizeof w);
	w.b = b;
	w.c = world;
	w.opts = o;
	w.total = measurements(g, max_len, world == NULL || world->rank == 0,
	    world != NULL && world->size >= 2);
	if ((host = malloc(HOSTN * sizeof *host)) == NULL) {
		e = err_set(SK_ERR_NOMEM, "calibrate: out of memory");
		goto out;
	}
	if ((e = b->open(o->device)) != SK_OK)
		goto out;
	opened = 1;
	if (world == NULL || world->rank == 0) {
		if ((e = measure_gemm(&w, g, o->model, host, p)) != SK_OK ||
		    (e = measure_attn(&w, g, o->model, max_len, host, p)) != SK_OK ||
		    (e = measure_memory(&w, g, host, p)) != SK_OK)
			goto out;
	}
	if (world != NULL && world->size >= 2 &&
	    (e = measure_coll(&w, g, host, p)) != SK_OK)
		goto out;
out:
	if (opened)
		b->close();
	free(host);
	if (e != SK_OK)
		err_prefix("calibrate");
	return e;
}

/* The fit. */

struct fitdata {
	const double *x, *y;
	size_t n;
};

/* r_i = (P x / (x + h) - y) / y with P = e^a, h = e^b. */
static int
resid(const gsl_vector *prm, void *arg, gsl_vector *r)
{
	const struct fitdata *d = arg;
	double P = exp(gsl_vector_get(prm, 0)), h = exp(gsl_vector_get(prm, 1));
	size_t i;

	for (i = 0; i < d->n; i++)
		gsl_vector_set(r, i, (ops_curve(P, h, d->x[i]) - d->y[i]) /
		    d->y[i]);
	return GSL_SUCCESS;
}

/* d r / d a = f / y, d r / d b = -(f / y) h / (x + h). */
static int
jac(const gsl_vector *prm, void *arg, gsl_matrix *J)
{
	const struct fitdata *d = arg;
	double P = exp(gsl_vector_get(prm, 0)), h = exp(gsl_vector_get(prm, 1));
	double fy;
	size_t i;

	for (i = 0; i < d->n; i++) {
		fy = ops_curve(P, h, d->x[i]) / d->y[i];
		gsl_matrix_set(J, i, 0, fy);
		gsl_matrix_set(J, i, 1, -fy * h / (d->x[i] + h));
	}
	return GSL_SUCCESS;
}

int
calib_fit(const double *x, const double *y, size_t n, struct profile_fit *f)
{
	const gsl_multifit_nlinear_type *T = gsl_multifit_nlinear_trust;
	gsl_multifit_nlinear_parameters prm =
	    gsl_multifit_nlinear_default_parameters();
	gsl_multifit_nlinear_workspace *ws = NULL;
	gsl_multifit_nlinear_fdf fdf;
	gsl_matrix *cov = NULL, *J;
	gsl_vector *r;
	double init[2], ymax = 0, P0, *h0 = NULL, chi2, s2, a, b;
	struct fitdata d = { x, y, n };
	gsl_vector_view iv = gsl_vector_view_array(init, 2);
	size_t i;
	int e = SK_OK, info, st;

	if (n < 3)
		return err_set(SK_ERR_ARG, "fit: %zu points, at least 3 needed", n);
	for (i = 0; i < n; i++) {
		if (!(x[i] > 0) || !(y[i] > 0) || !isfinite(x[i]) ||
		    !isfinite(y[i]))
			return err_set(SK_ERR_ARG, "fit: point %zu (%g, %g) is not "
			    "positive and finite", i, x[i], y[i]);
		ymax = y[i] > ymax ? y[i] : ymax;
	}
	/* Initial guesses from the data: the asymptote a quarter above the
	 * best point, h the median of what each point implies for it. */
	if ((h0 = malloc(n * sizeof *h0)) == NULL)
		return err_set(SK_ERR_NOMEM, "fit: out of memory");
	P0 = 1.25 * ymax;
	for (i = 0; i < n; i++)
		h0[i] = x[i] * (P0 / y[i] - 1);
	gsl_sort(h0, 1, n);
	init[0] = log(P0);
	init[1] = log(gsl_stats_median_from_sorted_data(h0, 1, n));
	free(h0);

	prm.trs = gsl_multifit_nlinear_trs_lm;
	fdf.f = resid;
	fdf.df = jac;
	fdf.fvv = NULL;
	fdf.n = n;
	fdf.p = 2;
	fdf.params = &d;
	if ((ws = gsl_multifit_nlinear_alloc(T, &prm, n, 2)) == NULL ||
	    (cov = gsl_matrix_alloc(2, 2)) == NULL) {
		e = err_set(SK_ERR_NOMEM, "fit: out of memory");
		goto out;
	}
	gsl_multifit_nlinear_init(&iv.vector, &fdf, ws);
	st = gsl_multifit_nlinear_driver(FIT_ITER, 1e-12, 1e-12, 0, NULL, NULL,
	    &info, ws);
	a = gsl_vector_get(ws->x, 0);
	b = gsl_vector_get(ws->x, 1);
	/* Out of iterations or progress is still a result when it is finite
	 * (a flat curve drives h towards 0 without end). */
	if ((st != GSL_SUCCESS && st != GSL_EMAXITER && st != GSL_ENOPROG) ||
	    !isfinite(a) || !isfinite(b)) {
		e = err_set(SK_ERR_RANGE, "fit: least squares failed (%s)",
		    gsl_strerror(st));
		goto out;
	}
	r = gsl_multifit_nlinear_residual(ws);
	J = gsl_multifit_nlinear_jac(ws);
	gsl_multifit_nlinear_covar(J, 0.0, cov);
	gsl_blas_ddot(r, r, &chi2);
	s2 = n > 2 ? chi2 / (double)(n - 2) : 0;
	f->n = (int)n;
	f->P = exp(a);
	f->h = exp(b);
	/* exp's delta method: se(e^a) = e^a se(a) */
	f->P_se = f->P * sqrt(gsl_matrix_get(cov, 0, 0) * s2);
	f->h_se = f->h * sqrt(gsl_matrix_get(cov, 1, 1) * s2);
	f->rms = sqrt(chi2 / (double)n);
	if (!isfinite(f->P) || !isfinite(f->h) || !(f->h > 0) ||
	    !isfinite(f->P_se) || !isfinite(f->h_se))
		e = err_set(SK_ERR_RANGE, "fit: the parameters are not finite "
		    "(P %g, h %g)", f->P, f->h);
out:
	gsl_matrix_free(cov);
	if (ws != NULL)
		gsl_multifit_nlinear_free(ws);
	return e;
}

/* The points of one kind as (x, work / sec), into xs, ys (n each). */
static size_t
points(const struct profile *p, enum profile_kind k, double *xs, double *ys)
{
	size_t i, n = 0;

	for (i = 0; i < p->nmeas; i++)
		if (p->meas[i].kind == k) {
			xs[n] = p->meas[i].x;
			ys[n++] = p->meas[i].work / p->meas[i].sec;
		}
	return n;
}

/* The median of work / sec (or of sec / x for the launch cost) of kind k;
 * 0 when none. */
static double
median_of(const struct profile *p, enum profile_kind k, double *buf)
{
	size_t i, n = 0;

	for (i = 0; i < p->nmeas; i++)
		if (p->meas[i].kind == k)
			buf[n++] = k == PROF_LAUNCH ? p->meas[i].sec / p->meas[i].x :
			    p->meas[i].work / p->meas[i].sec;
	if (n == 0)
		return 0;
	gsl_sort(buf, 1, n);
	return gsl_stats_median_from_sorted_data(buf, 1, n);
}

/* The collective table: one row per size, each kind's time the running
 * maximum of its medians up to that size. */
static int
coll_table(struct profile *p)
{
	static const enum profile_kind pk[] = {
		PROF_ALLGATHER, PROF_REDUCESCATTER, PROF_ALLREDUCE
	};
	static const enum coll_kind ck[] = {
		COLL_ALLGATHER, COLL_REDUCESCATTER, COLL_ALLREDUCE
	};
	struct coll_table *t = &p->coll;
	size_t i;
	int r, k;

	memset(t, 0, sizeof *t);
	for (i = 0; i < p->nmeas; i++) {
		const struct profile_meas *m = &p->meas[i];

		for (k = 0; k < 3; k++)
			if (m->kind == pk[k])
				break;
		if (k == 3)
			continue;
		for (r = 0; r < t->n && t->bytes[r] != m->x; r++)
			;
		if (r == t->n) {
			if (t->n == CLUSTER_COLL_MAX)
				return err_set(SK_ERR_RANGE, "calibrate: more than "
				    "%d collective sizes", CLUSTER_COLL_MAX);
			t->bytes[t->n++] = m->x;
		}
		t->sec[ck[k]][r] = m->sec;
	}
	if (t->n == 0)
		return SK_OK;
	t->group = p->count;
	for (r = 0; r < t->n; r++)
		for (k = 0; k < 3; k++) {
			if (!(t->sec[ck[k]][r] > 0))
				return err_set(SK_ERR_ARG, "calibrate: no %s time "
				    "at %.0f bytes", cluster_coll_name(ck[k]),
				    t->bytes[r]);
			if (r > 0 && t->sec[ck[k]][r] < t->sec[ck[k]][r - 1])
				t->sec[ck[k]][r] = t->sec[ck[k]][r - 1];
		}
	return SK_OK;
}

static int
fit_kind(const struct profile *p, enum profile_kind k, double *xs,
    double *ys, struct profile_fit *f)
{
	size_t n = points(p, k, xs, ys);
	int e;

	if ((e = calib_fit(xs, ys, n, f)) != SK_OK)
		err_prefix(profile_kind_name(k));
	return e;
}

/* Forward and backward together at each length: (1 + 2.5) F / (t_f +
 * t_b), the pairs in measurement order.  ys holds 2 nmeas: F and t_f go
 * in its two halves first. */
static int
fit_attn(const struct profile *p, double *xs, double *ys,
    struct profile_fit *f)
{
	double *tf = ys + p->nmeas;
	size_t i, nf = 0, nb = 0;
	int e;

	for (i = 0; i < p->nmeas; i++) {
		const struct profile_meas *m = &p->meas[i];

		if (m->kind == PROF_ATTN_FWD) {
			xs[nf] = m->x;
			ys[nf] = m->work;
			tf[nf++] = m->sec;
		}
	}
	for (i = 0; i < p->nmeas; i++) {
		const struct profile_meas *m = &p->meas[i];

		if (m->kind != PROF_ATTN_BWD)
			continue;
		if (nb == nf || m->x != xs[nb])
			return err_set(SK_ERR_ARG, "attn: the backward measurement "
			    "at %g tokens has no forward one", m->x);
		ys[nb] = (1 + ATTN_BWD) * ys[nb] / (tf[nb] + m->sec);
		nb++;
	}
	if (nb != nf)
		return err_set(SK_ERR_ARG, "attn: %zu forward and %zu backward "
		    "measurements", nf, nb);
	if ((e = calib_fit(xs, ys, nf, f)) != SK_OK)
		err_prefix("attn");
	return e;
}

int
calib_finish(struct profile *p, const struct calib_opts *o)
{
	struct profile_fit *f = p->fit;
	double *xs, *ys, bw, peak;
	int e = SK_OK;

	if ((xs = malloc((p->nmeas + 1) * sizeof *xs)) == NULL ||
	    (ys = malloc(2 * (p->nmeas + 1) * sizeof *ys)) == NULL) {
		free(xs);
		return err_set(SK_ERR_NOMEM, "calibrate: out of memory");
	}
	if ((e = fit_kind(p, PROF_GEMM, xs, ys, &f[PROF_FIT_GEMM])) != SK_OK ||
	    (e = fit_kind(p, PROF_ATTN_FWD, xs, ys,
	    &f[PROF_FIT_ATTN_FWD])) != SK_OK ||
	    (e = fit_kind(p, PROF_ATTN_BWD, xs, ys,
	    &f[PROF_FIT_ATTN_BWD])) != SK_OK ||
	    (e = fit_attn(p, xs, ys, &f[PROF_FIT_ATTN])) != SK_OK)
		goto out;
	bw = median_of(p, PROF_COPY, ys);
	p->eff.launch = median_of(p, PROF_LAUNCH, ys);
	if (!(bw > 0) || !(p->eff.launch > 0)) {
		e = err_set(SK_ERR_ARG, "calibrate: no copy or launch "
		    "measurement");
		goto out;
	}
	peak = fmax(f[PROF_FIT_GEMM].P, f[PROF_FIT_ATTN].P);
	if (o->peak_flops > 0) {
		if (peak > o->peak_flops) {
			e = err_set(SK_ERR_RANGE, "calibrate: measured %.4g FLOP/s "
			    "exceeds the reference peak %.4g FLOP/s", peak,
			    o->peak_flops);
			goto out;
		}
		peak = o->peak_flops;
	}
	if (o->hbm_bw > 0) {
		if (bw > o->hbm_bw) {
			e = err_set(SK_ERR_RANGE, "calibrate: measured %.4g bytes/s "
			    "exceeds the reference bandwidth %.4g bytes/s", bw,
			    o->hbm_bw);
			goto out;
		}
		p->hbm_bw = o->hbm_bw;
	} else {
		p->hbm_bw = bw;
	}
	p->peak_flops = peak;
	p->eff.gemm_max = f[PROF_FIT_GEMM].P / peak;
	p->eff.gemm_half = f[PROF_FIT_GEMM].h;
	p->eff.attn_max = f[PROF_FIT_ATTN].P / peak;
	p->eff.attn_half = f[PROF_FIT_ATTN].h;
	p->eff.mem_eff = bw / p->hbm_bw;
	if ((e = coll_table(p)) != SK_OK)
		goto out;
	e = profile_validate(p, "calibrate");
out:
	free(xs);
	free(ys);
	return e;
}
