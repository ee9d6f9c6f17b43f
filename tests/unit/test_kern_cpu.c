/*
 * Unit tests of kern_cpu, the fp32 reference kernels.
 *
 * Method: each forward is compared with a plain double-precision reference
 * written here from the definition (attention: the full score matrix with
 * the causal mask); each backward with central finite differences of that
 * double reference (step 1e-5 relative, so the differences are good to
 * about 1e-9), for L = sum(out * R) with a fixed random R.  Errors are
 * max |kernel - reference| / max |reference| over the array; the
 * tolerances (1e-5) sit twenty times or more above the largest fp32
 * rounding measured here (4e-7) and far below any error of formula.  Every
 * overwritten output is filled with NaN before the call, and the error of
 * an array with a non-finite element is infinite, so an element left
 * unwritten fails.  Inputs come from a seeded MT19937.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gsl/gsl_rng.h>

#include "kern.h"

#define TOL_FWD 1e-5
#define TOL_BWD 1e-5

static gsl_rng *
rng_new(unsigned long seed)
{
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);

	assert_non_null(r);
	gsl_rng_set(r, seed);
	return r;
}

/* n floats uniform in [lo, hi). */
static void
uniform(gsl_rng *r, float *a, size_t n, double lo, double hi)
{
	size_t i;

	for (i = 0; i < n; i++)
		a[i] = (float)(lo + (hi - lo) * gsl_rng_uniform(r));
}

static void
poison(float *a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		a[i] = NAN;
}

static void
widen(const float *a, double *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = a[i];
}

static float *
falloc(size_t n)
{
	float *a = malloc(n * sizeof *a);

	assert_non_null(a);
	return a;
}

static double *
dalloc(size_t n)
{
	double *a = malloc(n * sizeof *a);

	assert_non_null(a);
	return a;
}

/* max |a - b| / max |b|; infinite when a holds a non-finite element. */
static double
relerr(const float *a, const double *b, size_t n)
{
	double d = 0.0, m = 0.0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!isfinite(a[i]))
			return INFINITY;
		if (fabs(a[i] - b[i]) > d)
			d = fabs(a[i] - b[i]);
		if (fabs(b[i]) > m)
			m = fabs(b[i]);
	}
	assert_true(m > 0.0);  /* a test against zeros proves nothing */
	return d / m;
}

/* relerr of a - base against b: the increment of an accumulated output. */
static double
relerr_acc(const float *a, const float *base, const double *b, size_t n)
{
	double *inc = dalloc(n);
	double d = 0.0, m = 0.0;
	size_t i;

	for (i = 0; i < n; i++)
		inc[i] = (double)a[i] - base[i];
	for (i = 0; i < n; i++) {
		if (!isfinite(a[i])) {
			d = INFINITY;
			break;
		}
		if (fabs(inc[i] - b[i]) > d)
			d = fabs(inc[i] - b[i]);
		if (fabs(b[i]) > m)
			m = fabs(b[i]);
	}
	free(inc);
	assert_true(m > 0.0);
	return d / m;
}

/*
 * Central differences of f(ctx) in each element of x (which f reads),
 * divided by the step as actually represented.
 */
static void
fd_grad(double (*f)(void *), void *ctx, double *x, size_t n, double *g)
{
	double x0, xp, xm, lp, lm;
	size_t e;

	for (e = 0; e < n; e++) {
		x0 = x[e];
		xp = x0 + 1e-5 * fmax(1.0, fabs(x0));
		xm = x0 - 1e-5 * fmax(1.0, fabs(x0));
		x[e] = xp;
		lp = f(ctx);
		x[e] = xm;
		lm = f(ctx);
		x[e] = x0;
		g[e] = (lp - lm) / (xp - xm);
	}
}

static double
dotd(const double *a, const double *b, size_t n)
{
	double s = 0.0;
	size_t i;

	for (i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

/* ---- gemm ---- */

/* C = alpha op(A) op(B) + beta C0 by the triple loop, in double. */
static void
ref_gemm(int ta, int tb, size_t m, size_t n, size_t k, double alpha,
    const float *A, const float *B, double beta, const float *C0, double *C)
{
	double s;
	size_t i, j, l;

	for (i = 0; i < m; i++)
		for (j = 0; j < n; j++) {
			s = 0.0;
			for (l = 0; l < k; l++)
				s += (double)(ta ? A[l * m + i] : A[i * k + l]) *
				    (tb ? B[j * k + l] : B[l * n + j]);
			C[i * n + j] = alpha * s +
			    (beta == 0.0 ? 0.0 : beta * C0[i * n + j]);
		}
}

static void
test_gemm(void **state)
{
	enum { M = 5, N = 7, K = 13 };
	float A[M * K], B[K * N], C0[M * N], C[M * N];
	double want[M * N];
	gsl_rng *r = rng_new(11);
	int ta, tb;
	size_t i;

	uniform(r, A, M * K, -1.5, 1.5);
	uniform(r, B, K * N, -1.5, 1.5);
	uniform(r, C0, M * N, -2.0, 2.0);
	for (ta = 0; ta < 2; ta++)
		for (tb = 0; tb < 2; tb++) {
			/* beta != 0: C is read and scaled. */
			memcpy(C, C0, sizeof C);
			kcpu_gemm(ta, tb, M, N, K, 1.3f, A, B, 0.7f, C);
			ref_gemm(ta, tb, M, N, K, 1.3f, A, B, 0.7f, C0, want);
			assert_true(relerr(C, want, M * N) < TOL_FWD);
			/* beta = 0: C is written, its NaN never read. */
			poison(C, M * N);
			kcpu_gemm(ta, tb, M, N, K, -0.6f, A, B, 0.0f, C);
			ref_gemm(ta, tb, M, N, K, -0.6f, A, B, 0.0, C0, want);
			assert_true(relerr(C, want, M * N) < TOL_FWD);
		}
	/* k = 0: the empty product leaves beta C. */
	memcpy(C, C0, sizeof C);
	kcpu_gemm(0, 0, M, N, 0, 1.3f, A, B, 0.5f, C);
	for (i = 0; i < M * N; i++)
		assert_true(C[i] == 0.5f * C0[i]);
	gsl_rng_free(r);
}

/* ---- RMSNorm ---- */

static void
ref_rmsnorm(size_t T, size_t d, const double *x, const double *w,
    double eps, double *y)
{
	double ms;
	size_t t, i;

	for (t = 0; t < T; t++) {
		ms = dotd(x + t * d, x + t * d, d) / (double)d;
		for (i = 0; i < d; i++)
			y[t * d + i] = x[t * d + i] / sqrt(ms + eps) * w[i];
	}
}

static void
test_rmsnorm_hand(void **state)
{
	/*
	 * x = (1, 7), w = (0.5, -2), eps = 11: mean x^2 = (1 + 49) / 2 = 25,
	 * rms = sqrt(25 + 11) = 6 (eps inside the root), so rstd = 1/6 and
	 * y = (1/6 * 0.5, 7/6 * -2) = (1/12, -7/3).
	 */
	const float x[2] = { 1.0f, 7.0f }, w[2] = { 0.5f, -2.0f };
	float y[2] = { NAN, NAN }, rstd = NAN;

	kcpu_rmsnorm_fwd(1, 2, x, w, 11.0f, y, &rstd);
	assert_float_equal(rstd, 1.0f / 6.0f, 1e-7);
	assert_float_equal(y[0], 1.0f / 12.0f, 1e-7);
	assert_float_equal(y[1], -7.0f / 3.0f, 1e-6);
}

struct rms_ctx {
	size_t T, d;
	double *x, *w, *R, *y;
	double eps;
};

static double
rms_obj(void *p)
{
	struct rms_ctx *c = p;

	ref_rmsnorm(c->T, c->d, c->x, c->w, c->eps, c->y);
	return dotd(c->y, c->R, c->T * c->d);
}

static void
test_rmsnorm_fd(void **state)
{
	enum { T = 3, D = 16 };
	const float eps = 1e-3f;
	float x[T * D], w[D], R[T * D], y[T * D], rstd[T], dx[T * D];
	float dw[D], dw0[D];
	double xd[T * D], wd[D], Rd[T * D], yd[T * D], gx[T * D], gw[D];
	struct rms_ctx c = { T, D, xd, wd, Rd, yd, eps };
	gsl_rng *r = rng_new(12);

	uniform(r, x, T * D, -2.0, 2.0);
	/* Row 2 small: mean x^2 ~ 3e-4, so eps = 1e-3 weighs in. */
	uniform(r, x + 2 * D, D, -0.03, 0.03);
	uniform(r, w, D, 0.5, 1.5);
	uniform(r, R, T * D, -1.0, 1.0);
	uniform(r, dw0, D, -0.5, 0.5);
	widen(x, xd, T * D);
	widen(w, wd, D);
	widen(R, Rd, T * D);

	poison(y, T * D);
	poison(rstd, T);
	kcpu_rmsnorm_fwd(T, D, x, w, eps, y, rstd);
	ref_rmsnorm(T, D, xd, wd, eps, yd);
	assert_true(relerr(y, yd, T * D) < TOL_FWD);

	poison(dx, T * D);
	memcpy(dw, dw0, sizeof dw);
	kcpu_rmsnorm_bwd(T, D, x, w, rstd, R, dx, dw);
	fd_grad(rms_obj, &c, xd, T * D, gx);
	fd_grad(rms_obj, &c, wd, D, gw);
	assert_true(relerr(dx, gx, T * D) < TOL_BWD);
	assert_true(relerr_acc(dw, dw0, gw, D) < TOL_BWD);
	gsl_rng_free(r);
}

/* ---- RoPE ---- */

static void
ref_rope(size_t T, size_t nh, size_t hd, const int32_t *pos, double theta,
    const double *x, double *y)
{
	size_t half = hd / 2, t, h, i, a, b;
	double ang;

	for (t = 0; t < T; t++)
		for (h = 0; h < nh; h++)
			for (i = 0; i < half; i++) {
				ang = pos[t] * pow(theta, -2.0 * i / hd);
				a = (t * nh + h) * hd + i;
				b = a + half;
				y[a] = x[a] * cos(ang) - x[b] * sin(ang);
				y[b] = x[b] * cos(ang) + x[a] * sin(ang);
			}
}

static void
test_rope_hand(void **state)
{
	/*
	 * hd = 4, position 1, theta = 10^4: pair (0, 2) turns by
	 * 1 * 10^4^(-0/4) = 1 rad, pair (1, 3) by 10^4^(-2/4) = 0.01 rad.
	 * cos 1 = 0.5403023059, sin 1 = 0.8414709848,
	 * cos 0.01 = 0.9999500004, sin 0.01 = 0.0099998333.
	 * x = (0.3, -1.2, 0.7, 2.5):
	 *   y0 = 0.3 cos 1 - 0.7 sin 1 = 0.1620906918 - 0.5890296894
	 *      = -0.4269389976
	 *   y2 = 0.7 cos 1 + 0.3 sin 1 = 0.3782116141 + 0.2524412954
	 *      = 0.6306529095
	 *   y1 = -1.2 cos 0.01 - 2.5 sin 0.01 = -1.1999400005 - 0.0249995833
	 *      = -1.2249395838
	 *   y3 = 2.5 cos 0.01 - 1.2 sin 0.01 = 2.4998750010 - 0.0119998000
	 *      = 2.4878752010
	 */
	float x[4] = { 0.3f, -1.2f, 0.7f, 2.5f };
	const int32_t pos = 1;

	kcpu_rope_fwd(1, 1, 4, &pos, 10000.0, x);
	assert_float_equal(x[0], -0.4269389976f, 1e-6);
	assert_float_equal(x[1], -1.2249395838f, 1e-6);
	assert_float_equal(x[2], 0.6306529095f, 1e-6);
	assert_float_equal(x[3], 2.4878752010f, 1e-6);
}

static void
test_rope_inverse(void **state)
{
	enum { T = 6, NH = 3, HD = 16 };
	const int32_t pos[T] = { 0, 1, 2, 517, 4095, 131071 };
	float x[T * NH * HD], x0[T * NH * HD];
	double want[T * NH * HD];
	gsl_rng *r = rng_new(13);

	uniform(r, x0, T * NH * HD, -2.0, 2.0);
	memcpy(x, x0, sizeof x);
	/*
	 * Large positions with Qwen's theta = 10^6: a float angle would be
	 * off by ~1e-2 rad at 131071 and fail the forward check.
	 */
	kcpu_rope_fwd(T, NH, HD, pos, 1e6, x);
	widen(x0, want, T * NH * HD);
	{
		double y[T * NH * HD];

		ref_rope(T, NH, HD, pos, 1e6, want, y);
		assert_true(relerr(x, y, T * NH * HD) < TOL_FWD);
	}
	/* The rotation is orthogonal: bwd undoes fwd. */
	kcpu_rope_bwd(T, NH, HD, pos, 1e6, x);
	assert_true(relerr(x, want, T * NH * HD) < TOL_FWD);
	gsl_rng_free(r);
}

struct rope_ctx {
	size_t T, nh, hd;
	const int32_t *pos;
	double *x, *R, *y;
};

static double
rope_obj(void *p)
{
	struct rope_ctx *c = p;

	ref_rope(c->T, c->nh, c->hd, c->pos, 10000.0, c->x, c->y);
	return dotd(c->y, c->R, c->T * c->nh * c->hd);
}

static void
test_rope_fd(void **state)
{
	enum { T = 16, NH = 2, HD = 8, N = T * NH * HD };
	/* Two packed samples, of 5 and 11 tokens. */
	const int32_t pos[T] = { 0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 5, 6, 7, 8,
	    9, 10 };
	float R[N], dx[N];
	double xd[N], Rd[N], yd[N], g[N];
	struct rope_ctx c = { T, NH, HD, pos, xd, Rd, yd };
	gsl_rng *r = rng_new(14);
	float x[N];

	uniform(r, x, N, -2.0, 2.0);
	uniform(r, R, N, -1.0, 1.0);
	widen(x, xd, N);
	widen(R, Rd, N);
	memcpy(dx, R, sizeof dx);
	kcpu_rope_bwd(T, NH, HD, pos, 10000.0, dx);
	fd_grad(rope_obj, &c, xd, N, g);
	assert_true(relerr(dx, g, N) < TOL_BWD);
	gsl_rng_free(r);
}

/* ---- SwiGLU ---- */

struct swiglu_ctx {
	size_t n;
	double *g, *u, *R;
};

static double
swiglu_obj(void *p)
{
	struct swiglu_ctx *c = p;
	double s = 0.0;
	size_t i;

	for (i = 0; i < c->n; i++)
		s += c->g[i] / (1.0 + exp(-c->g[i])) * c->u[i] * c->R[i];
	return s;
}

static void
test_swiglu_fd(void **state)
{
	enum { N = 40 };
	float g[N], u[N], R[N], h[N], dg[N], du[N];
	double gd[N], ud[N], Rd[N], hd[N], wg[N], wu[N];
	struct swiglu_ctx c = { N, gd, ud, Rd };
	gsl_rng *r = rng_new(15);
	size_t i;

	uniform(r, g, N, -5.0, 5.0);
	uniform(r, u, N, -2.0, 2.0);
	uniform(r, R, N, -1.0, 1.0);
	widen(g, gd, N);
	widen(u, ud, N);
	widen(R, Rd, N);
	poison(h, N);
	kcpu_swiglu_fwd(N, g, u, h);
	for (i = 0; i < N; i++)
		hd[i] = gd[i] / (1.0 + exp(-gd[i])) * ud[i];
	assert_true(relerr(h, hd, N) < TOL_FWD);
	poison(dg, N);
	poison(du, N);
	kcpu_swiglu_bwd(N, g, u, R, dg, du);
	fd_grad(swiglu_obj, &c, gd, N, wg);
	fd_grad(swiglu_obj, &c, ud, N, wu);
	assert_true(relerr(dg, wg, N) < TOL_BWD);
	assert_true(relerr(du, wu, N) < TOL_BWD);
	gsl_rng_free(r);
}

static void
test_swiglu_extreme(void **state)
{
	/*
	 * |g| past float's exp range: silu(-200) = -200 / (1 + e^200) ~ 0,
	 * silu(200) = 200; the derivative sig (1 + g (1 - sig)) is 0 and 1.
	 */
	const float g[4] = { -200.0f, -95.0f, 95.0f, 200.0f };
	const float u[4] = { 1.5f, -0.7f, 0.3f, -1.1f };
	const float dh[4] = { 0.9f, 1.3f, -0.4f, 2.1f };
	float h[4], dg[4], du[4];
	size_t i;

	poison(h, 4);
	poison(dg, 4);
	poison(du, 4);
	kcpu_swiglu_fwd(4, g, u, h);
	kcpu_swiglu_bwd(4, g, u, dh, dg, du);
	for (i = 0; i < 4; i++) {
		assert_true(isfinite(h[i]) && isfinite(dg[i]) &&
		    isfinite(du[i]));
		assert_float_equal(h[i], g[i] > 0 ? g[i] * u[i] : 0.0f, 1e-4);
		assert_float_equal(dg[i], g[i] > 0 ? dh[i] * u[i] : 0.0f, 1e-6);
		assert_float_equal(du[i], g[i] > 0 ? dh[i] * g[i] : 0.0f, 1e-4);
	}
}

/* ---- cross-entropy ---- */

static void
test_xent_hand(void **state)
{
	/*
	 * Row 0: logits 0.37 + (0, ln 2, ln 3, ln 4, ln 10): the shift
	 * cancels, exp sums to 1 + 2 + 3 + 4 + 10 = 20, softmax (1, 2, 3, 4,
	 * 10) / 20; target 2: loss ln 20 - ln 3 = ln(20/3).
	 * Row 1: (-3, 90, 90, -3, 90), past float's exp range unless the
	 * maximum is taken out: e^-93 / 3 ~ 1e-41 is below fp32's reach, so
	 * softmax (0, 1/3, 1/3, 0, 1/3); target 1: loss ln 3.
	 * Row 2: target -1, ignored: no loss, dlogits zero.
	 * Sum: ln(20/3) + ln 3 = ln 20 = 2.9957322736.
	 * dlogits = (softmax - onehot) * scale, scale = 1/2 (two tokens):
	 *   row 0: (0.05, 0.1, 0.15 - 1, 0.2, 0.5) / 2
	 *        = (0.025, 0.05, -0.425, 0.1, 0.25)
	 *   row 1: (0, 1/3 - 1, 1/3, 0, 1/3) / 2 = (0, -1/3, 1/6, 0, 1/6)
	 */
	const float l0 = 0.37f;
	const float logits[15] = {
		l0, l0 + (float)M_LN2, l0 + (float)log(3.0),
		l0 + (float)log(4.0), l0 + (float)M_LN10,
		-3.0f, 90.0f, 90.0f, -3.0f, 90.0f,
		0.4f, -1.7f, 2.2f, 0.9f, -0.3f
	};
	const int32_t target[3] = { 2, 1, -1 };
	const float want[15] = {
		0.025f, 0.05f, -0.425f, 0.1f, 0.25f,
		0.0f, -1.0f / 3, 1.0f / 6, 0.0f, 1.0f / 6,
		0, 0, 0, 0, 0
	};
	float d[15];
	double loss;
	size_t i;

	poison(d, 15);
	loss = kcpu_xent(3, 5, logits, target, 0.5f, d);
	assert_float_equal(loss, 2.9957322736, 1e-6);
	for (i = 0; i < 15; i++)
		assert_float_equal(d[i], want[i], 1e-7);
	/* Ignored rows are written as exact zeros. */
	for (i = 10; i < 15; i++)
		assert_true(d[i] == 0.0f);
}

struct xent_ctx {
	size_t T, V;
	const int32_t *target;
	double *z;
	double scale;
};

/* scale * sum of lse(z_t) - z_t[target], the direct way. */
static double
xent_obj(void *p)
{
	struct xent_ctx *c = p;
	double s = 0.0, e;
	size_t t, i;

	for (t = 0; t < c->T; t++) {
		if (c->target[t] < 0)
			continue;
		e = 0.0;
		for (i = 0; i < c->V; i++)
			e += exp(c->z[t * c->V + i]);
		s += log(e) - c->z[t * c->V + c->target[t]];
	}
	return c->scale * s;
}

static void
test_xent_fd(void **state)
{
	enum { T = 5, V = 7, N = T * V };
	const int32_t target[T] = { 3, -1, 0, 6, 2 };
	float z[N], d[N], zin[N];
	double zd[N], g[N];
	struct xent_ctx c = { T, V, target, zd, 0.25 };
	gsl_rng *r = rng_new(16);
	double loss;

	uniform(r, z, N, -3.0, 3.0);
	widen(z, zd, N);
	poison(d, N);
	loss = kcpu_xent(T, V, z, target, 0.25f, d);
	assert_true(fabs(0.25 * loss - xent_obj(&c)) < 1e-9 * fabs(loss));
	fd_grad(xent_obj, &c, zd, N, g);
	assert_true(relerr(d, g, N) < TOL_BWD);
	/* In place (dlogits = logits) gives the same loss and gradient. */
	memcpy(zin, z, sizeof zin);
	assert_true(kcpu_xent(T, V, zin, target, 0.25f, zin) == loss);
	assert_memory_equal(zin, d, sizeof d);
	/* All ignored: no loss, all zero. */
	{
		const int32_t none[T] = { -1, -1, -1, -1, -1 };
		size_t i;

		poison(d, N);
		assert_true(kcpu_xent(T, V, z, none, 0.25f, d) == 0.0);
		for (i = 0; i < N; i++)
			assert_true(d[i] == 0.0f);
	}
	gsl_rng_free(r);
}

/* ---- AdamW ---- */

static void
test_adamw_hand(void **state)
{
	/*
	 * lr = 0.1, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, wd = 0.01 (decay
	 * factor 1 - lr wd = 0.999).  p0 = (0.5, -1.5, 2), g1 = (0.2, -0.4,
	 * 0.05), g2 = (0.1, 0.3, -0.05).
	 * Step 1: m = 0.1 g1, v = 0.001 g1^2, corrections 0.1 and 0.001 give
	 * mhat = g1, sqrt(vhat) = |g1|, step lr g / (|g| + eps):
	 *   p = 0.999 p0 - 0.1 g1 / (|g1| + 1e-8)
	 *     = (0.4995 - 0.099999995, -1.4985 + 0.0999999975,
	 *        1.998 - 0.09999998)
	 *     = (0.399500005, -1.3985000025, 1.89800002)
	 * Step 2: m = 0.9 m + 0.1 g2 = (0.028, -0.006, -0.0005);
	 * v = 0.999 v + 0.001 g2^2 = (4.996e-5, 2.4984e-4, 4.9975e-6);
	 * 1 - 0.9^2 = 0.19, 1 - 0.999^2 = 0.001999:
	 *   mhat = (0.1473684211, -0.0315789474, -0.0026315789)
	 *   vhat = (0.0249924962, 0.1249824912, 0.0025)
	 *   sqrt = (0.1580901523, 0.3535286286, 0.05)
	 *   step = 0.1 mhat / (sqrt + eps)
	 *        = (0.0932179580, -0.0089325005, -0.0052631568)
	 *   p = 0.999 p - step
	 *     = (0.3991005050 - 0.0932179580, -1.3971015025 + 0.0089325005,
	 *        1.8961020200 + 0.0052631568)
	 *     = (0.3058825470, -1.3881690020, 1.9013651768)
	 */
	float p[3] = { 0.5f, -1.5f, 2.0f };
	const float g1[3] = { 0.2f, -0.4f, 0.05f };
	const float g2[3] = { 0.1f, 0.3f, -0.05f };
	float m[3] = { 0, 0, 0 }, v[3] = { 0, 0, 0 };

	kcpu_adamw(3, p, g1, m, v, 0.1f, 0.9f, 0.999f, 1e-8f, 0.01f, 1);
	assert_float_equal(p[0], 0.399500005f, 1e-6);
	assert_float_equal(p[1], -1.3985000025f, 1e-6);
	assert_float_equal(p[2], 1.89800002f, 1e-6);
	kcpu_adamw(3, p, g2, m, v, 0.1f, 0.9f, 0.999f, 1e-8f, 0.01f, 2);
	assert_float_equal(m[0], 0.028f, 1e-8);
	assert_float_equal(m[1], -0.006f, 1e-8);
	assert_float_equal(m[2], -0.0005f, 1e-9);
	/*
	 * 1 - 0.999f is 0.00099998713, not 0.001: v is off by 1.3e-5
	 * relative (the bias correction cancels it in p).
	 */
	assert_float_equal(v[0], 4.996e-5f, 2e-5 * 4.996e-5);
	assert_float_equal(v[1], 2.4984e-4f, 2e-5 * 2.4984e-4);
	assert_float_equal(v[2], 4.9975e-6f, 2e-5 * 4.9975e-6);
	assert_float_equal(p[0], 0.3058825470f, 1e-6);
	assert_float_equal(p[1], -1.3881690020f, 1e-6);
	assert_float_equal(p[2], 1.9013651768f, 1e-6);
}

/* ---- attention ---- */

struct attn {
	size_t nseq, Tq, Tk, nh, nkv, hd;
	const int32_t *cu_q, *cu_k, *qpos;
};

/*
 * Per sample and head, the full score matrix (queries x keys of the
 * sample) with -inf above each query's position, row softmax, P V.
 */
static void
ref_attn(const struct attn *a, const double *q, const double *k,
    const double *v, double *o, double *lse)
{
	const size_t nh = a->nh, hd = a->hd, g = a->nh / a->nkv;
	size_t s, h, j, i, nq, nk, q0, k0, c;
	double *S, mx, sum;

	for (s = 0; s < a->nseq; s++) {
		q0 = a->cu_q[s];
		k0 = a->cu_k[s];
		nq = a->cu_q[s + 1] - q0;
		nk = a->cu_k[s + 1] - k0;
		S = dalloc(nq * nk);
		for (h = 0; h < nh; h++) {
			for (j = 0; j < nq; j++)
				for (i = 0; i < nk; i++)
					S[j * nk + i] = (int32_t)i >
					    a->qpos[q0 + j] ? -INFINITY :
					    dotd(q + ((q0 + j) * nh + h) * hd,
					    k + ((k0 + i) * a->nkv + h / g) * hd,
					    hd) / sqrt((double)hd);
			for (j = 0; j < nq; j++) {
				mx = -INFINITY;
				for (i = 0; i < nk; i++)
					mx = fmax(mx, S[j * nk + i]);
				sum = 0.0;
				for (i = 0; i < nk; i++)
					sum += exp(S[j * nk + i] - mx);
				lse[(q0 + j) * nh + h] = mx + log(sum);
				for (c = 0; c < hd; c++) {
					double acc = 0.0;

					for (i = 0; i < nk; i++)
						acc += exp(S[j * nk + i] - mx) /
						    sum * v[((k0 + i) *
						    a->nkv + h / g) * hd + c];
					o[((q0 + j) * nh + h) * hd + c] = acc;
				}
			}
		}
		free(S);
	}
}

/* Inputs of one attention case, in float and double. */
struct attn_data {
	size_t nq, nk, no;       /* elements of q (= o), k (= v), lse */
	float *q, *k, *v, *R;
	double *qd, *kd, *vd, *Rd, *od, *lsed;
	const struct attn *a;
};

static void
attn_data_init(struct attn_data *d, const struct attn *a, gsl_rng *r)
{
	d->a = a;
	d->nq = a->Tq * a->nh * a->hd;
	d->nk = a->Tk * a->nkv * a->hd;
	d->no = a->Tq * a->nh;
	d->q = falloc(d->nq);
	d->R = falloc(d->nq);
	d->k = falloc(d->nk);
	d->v = falloc(d->nk);
	/* Scores up to ~4 after scaling: softmax far from uniform. */
	uniform(r, d->q, d->nq, -2.0, 2.0);
	uniform(r, d->k, d->nk, -2.0, 2.0);
	uniform(r, d->v, d->nk, -1.0, 1.0);
	uniform(r, d->R, d->nq, -1.0, 1.0);
	d->qd = dalloc(d->nq);
	d->Rd = dalloc(d->nq);
	d->od = dalloc(d->nq);
	d->kd = dalloc(d->nk);
	d->vd = dalloc(d->nk);
	d->lsed = dalloc(d->no);
	widen(d->q, d->qd, d->nq);
	widen(d->R, d->Rd, d->nq);
	widen(d->k, d->kd, d->nk);
	widen(d->v, d->vd, d->nk);
}

static void
attn_data_free(struct attn_data *d)
{
	free(d->q);
	free(d->R);
	free(d->k);
	free(d->v);
	free(d->qd);
	free(d->Rd);
	free(d->od);
	free(d->kd);
	free(d->vd);
	free(d->lsed);
}

static double
attn_obj(void *p)
{
	struct attn_data *d = p;

	ref_attn(d->a, d->qd, d->kd, d->vd, d->od, d->lsed);
	return dotd(d->od, d->Rd, d->nq);
}

/* Positions 0..len-1 of each sample. */
static void
positions(size_t nseq, const int32_t *cu, int32_t *pos)
{
	size_t s;
	int32_t i;

	for (s = 0; s < nseq; s++)
		for (i = cu[s]; i < cu[s + 1]; i++)
			pos[i] = i - cu[s];
}

/* Forward of one case against the reference, o and lse. */
static void
check_attn_fwd(const struct attn *a, unsigned long seed)
{
	struct attn_data d;
	gsl_rng *r = rng_new(seed);
	float *o, *lse;

	attn_data_init(&d, a, r);
	o = falloc(d.nq);
	lse = falloc(d.no);
	poison(o, d.nq);
	poison(lse, d.no);
	kcpu_attn_fwd(a->nseq, a->cu_q, a->cu_k, a->qpos, a->nh, a->nkv,
	    a->hd, d.q, d.k, d.v, o, lse);
	ref_attn(a, d.qd, d.kd, d.vd, d.od, d.lsed);
	assert_true(relerr(o, d.od, d.nq) < TOL_FWD);
	assert_true(relerr(lse, d.lsed, d.no) < TOL_FWD);
	free(o);
	free(lse);
	attn_data_free(&d);
	gsl_rng_free(r);
}

static void
test_attn_fwd(void **state)
{
	/*
	 * Three packed samples, the last of 150 tokens: its queries see up
	 * to three key blocks of 64, with the block edges (positions 63, 64,
	 * 127, 128) in between.
	 */
	const int32_t cu[4] = { 0, 5, 16, 166 };
	int32_t pos[166];
	struct attn gqa = { 3, 166, 166, 4, 2, 8, cu, cu, pos };
	struct attn mha = { 3, 166, 166, 2, 2, 64, cu, cu, pos };
	struct attn mqa = { 3, 166, 166, 6, 1, 16, cu, cu, pos };

	positions(3, cu, pos);
	check_attn_fwd(&gqa, 21);
	check_attn_fwd(&mha, 22);
	check_attn_fwd(&mqa, 23);
}

static void
test_attn_bwd_fd(void **state)
{
	/* Two packed samples of 5 and 11 tokens, GQA 4 heads on 2. */
	const int32_t cu[3] = { 0, 5, 16 };
	int32_t pos[16];
	const struct attn a = { 2, 16, 16, 4, 2, 8, cu, cu, pos };
	struct attn_data d;
	gsl_rng *r = rng_new(24);
	float *o, *lse, *dq, *dk, *dv, *dk0, *dv0;
	double *gq, *gk, *gv;

	positions(2, cu, pos);
	attn_data_init(&d, &a, r);
	o = falloc(d.nq);
	lse = falloc(d.no);
	dq = falloc(d.nq);
	dk = falloc(d.nk);
	dv = falloc(d.nk);
	dk0 = falloc(d.nk);
	dv0 = falloc(d.nk);
	gq = dalloc(d.nq);
	gk = dalloc(d.nk);
	gv = dalloc(d.nk);
	kcpu_attn_fwd(2, cu, cu, pos, 4, 2, 8, d.q, d.k, d.v, o, lse);
	/* dk, dv accumulate: start them from noise and check the increment. */
	uniform(r, dk0, d.nk, -0.5, 0.5);
	uniform(r, dv0, d.nk, -0.5, 0.5);
	memcpy(dk, dk0, d.nk * sizeof *dk);
	memcpy(dv, dv0, d.nk * sizeof *dv);
	poison(dq, d.nq);
	kcpu_attn_bwd(2, cu, cu, pos, 4, 2, 8, d.q, d.k, d.v, o, lse, d.R,
	    dq, dk, dv);
	fd_grad(attn_obj, &d, d.qd, d.nq, gq);
	fd_grad(attn_obj, &d, d.kd, d.nk, gk);
	fd_grad(attn_obj, &d, d.vd, d.nk, gv);
	assert_true(relerr(dq, gq, d.nq) < TOL_BWD);
	assert_true(relerr_acc(dk, dk0, gk, d.nk) < TOL_BWD);
	assert_true(relerr_acc(dv, dv0, gv, d.nk) < TOL_BWD);
	free(o);
	free(lse);
	free(dq);
	free(dk);
	free(dv);
	free(dk0);
	free(dv0);
	free(gq);
	free(gk);
	free(gv);
	attn_data_free(&d);
	gsl_rng_free(r);
}

/*
 * Context parallelism with N = 2 ranks: one sample of S = 12 tokens in
 * 2N = 4 chunks of 3; rank i holds chunks i and 2N-1-i, so rank 0 has
 * positions 0-2 and 9-11, rank 1 positions 3-8.  Each rank runs its
 * queries (qpos = their positions) against the gathered keys and values;
 * the outputs, lse and dq are the whole sample's rows bit for bit (each
 * row is computed alone from the same keys), and dk, dv added by both
 * ranks into one buffer equal the whole sample's up to summation order.
 */
static void
test_attn_cp_shard(void **state)
{
	enum { S = 12, NH = 4, NKV = 2, HD = 8, NR = 6 };
	enum { QW = NH * HD, KW = NKV * HD };
	static const int32_t rank_pos[2][NR] = {
		{ 0, 1, 2, 9, 10, 11 }, { 3, 4, 5, 6, 7, 8 }
	};
	const int32_t cu[2] = { 0, S }, cu_r[2] = { 0, NR };
	int32_t pos[S];
	float q[S * QW], k[S * KW], v[S * KW], dout[S * QW];
	float o[S * QW], lse[S * NH], dq[S * QW], dk[S * KW], dv[S * KW];
	float qr[NR * QW], dor[NR * QW], ork[NR * QW], lser[NR * NH];
	float dqr[NR * QW], dks[S * KW], dvs[S * KW];
	double dkd[S * KW], dvd[S * KW];
	gsl_rng *r = rng_new(25);
	size_t rk, j, e, row;

	positions(1, cu, pos);
	uniform(r, q, S * QW, -2.0, 2.0);
	uniform(r, k, S * KW, -2.0, 2.0);
	uniform(r, v, S * KW, -1.0, 1.0);
	uniform(r, dout, S * QW, -1.0, 1.0);
	kcpu_attn_fwd(1, cu, cu, pos, NH, NKV, HD, q, k, v, o, lse);
	memset(dk, 0, sizeof dk);
	memset(dv, 0, sizeof dv);
	kcpu_attn_bwd(1, cu, cu, pos, NH, NKV, HD, q, k, v, o, lse, dout,
	    dq, dk, dv);

	memset(dks, 0, sizeof dks);
	memset(dvs, 0, sizeof dvs);
	for (rk = 0; rk < 2; rk++) {
		for (j = 0; j < NR; j++) {
			row = (size_t)rank_pos[rk][j];
			memcpy(qr + j * QW, q + row * QW, QW * sizeof *q);
			memcpy(dor + j * QW, dout + row * QW, QW * sizeof *q);
		}
		poison(ork, NR * QW);
		poison(lser, NR * NH);
		poison(dqr, NR * QW);
		kcpu_attn_fwd(1, cu_r, cu, rank_pos[rk], NH, NKV, HD, qr, k, v,
		    ork, lser);
		kcpu_attn_bwd(1, cu_r, cu, rank_pos[rk], NH, NKV, HD, qr, k, v,
		    ork, lser, dor, dqr, dks, dvs);
		for (j = 0; j < NR; j++) {
			row = (size_t)rank_pos[rk][j];
			for (e = 0; e < QW; e++) {
				assert_true(ork[j * QW + e] == o[row * QW + e]);
				assert_true(dqr[j * QW + e] ==
				    dq[row * QW + e]);
			}
			for (e = 0; e < NH; e++)
				assert_true(lser[j * NH + e] ==
				    lse[row * NH + e]);
		}
	}
	widen(dk, dkd, S * KW);
	widen(dv, dvd, S * KW);
	assert_true(relerr(dks, dkd, S * KW) < 1e-6);
	assert_true(relerr(dvs, dvd, S * KW) < 1e-6);
	gsl_rng_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gemm),
		cmocka_unit_test(test_rmsnorm_hand),
		cmocka_unit_test(test_rmsnorm_fd),
		cmocka_unit_test(test_rope_hand),
		cmocka_unit_test(test_rope_inverse),
		cmocka_unit_test(test_rope_fd),
		cmocka_unit_test(test_swiglu_fd),
		cmocka_unit_test(test_swiglu_extreme),
		cmocka_unit_test(test_xent_hand),
		cmocka_unit_test(test_xent_fd),
		cmocka_unit_test(test_adamw_hand),
		cmocka_unit_test(test_attn_fwd),
		cmocka_unit_test(test_attn_bwd_fd),
		cmocka_unit_test(test_attn_cp_shard),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
