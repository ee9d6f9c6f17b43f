/*
 * Unit tests of the CUDA kernels of kern.h (kcuda_*) and the CUDA probe.
 *
 * Method: every kernel gets seeded random inputs (MT19937, never all zeros)
 * and its result is compared with the CPU reference (the kcpu_* function
 * of the same name, itself tested against double-precision references in
 * test_kern_cpu.c) run on the same inputs; for bf16 the host inputs are
 * rounded to bf16 first (as uploaded) and the reference runs on the
 * rounded values, so the comparison measures the kernel, not the input
 * rounding.  The metric is max |gpu - ref| / max |ref| over an array,
 * infinite when the GPU array holds a non-finite element; tolerances 1e-4
 * (fp32) and 1e-2 (bf16: its outputs are rounded to 8 significant bits,
 * 2^-9 = 2e-3 relative).  Overwritten outputs are filled with 0xFF bytes
 * (NaN as fp32 and as bf16) before the call, so an unwritten element fails;
 * accumulated ones (dk, dv, dw, dtable) start from random nonzero values.
 *
 * Without a GPU only the host tests run (cmocka 1.1.5 reports a skip as
 * "not ok # SKIP", which TAP counts as a failure, so the device tests are
 * left out instead); tests/gpu/check.sh runs the rest on a GPU machine.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gsl/gsl_rng.h>

#include "kern.h"

#define TOL_F32 1e-4
#define TOL_BF16 1e-2
#define N_AXPY 100003  /* not a multiple of the 256-thread block */

/* Fail with kcuda_error's reason unless call returns 0. */
#define CK(call) do {							\
	if ((call) != 0)						\
		fail_msg("%s: %s", #call, kcuda_error());		\
} while (0)

static struct kcuda *kc;

/* ---- host bf16 ---- */

/* bf16 bits of x, rounded to nearest even (as __float2bfloat16_rn); a NaN
 * stays a (quiet) NaN rather than truncating to infinity. */
static uint16_t
bf16_bits(float x)
{
	uint32_t u;

	memcpy(&u, &x, sizeof u);
	if ((u & 0x7fffffffu) > 0x7f800000u)
		return (uint16_t)((u >> 16) | 0x40u);
	u += 0x7fffu + ((u >> 16) & 1u);
	return (uint16_t)(u >> 16);
}

static float
bf16_float(uint16_t b)
{
	uint32_t u = (uint32_t)b << 16;
	float x;

	memcpy(&x, &u, sizeof x);
	return x;
}

static float
bits_float(uint32_t u)
{
	float x;

	memcpy(&x, &u, sizeof x);
	return x;
}

/* ---- host tests ---- */

static void
test_runtime_version(void **state)
{
	int v = 0;

	(void)state;
	assert_int_equal(kcuda_runtime_version(&v), 0);
	/* Built against CUDA 12 or later: versions read 12000 and up. */
	assert_true(v >= 12000);
}

/*
 * The rounding the bf16 tests rely on, against values worked by hand: bf16
 * keeps the top 16 bits of the fp32 pattern (7 fraction bits); the 16 bits
 * dropped decide the rounding, 0x8000 being the tie.
 */
static void
test_bf16_round(void **state)
{
	(void)state;
	assert_int_equal(bf16_bits(1.0f), 0x3f80);
	assert_int_equal(bf16_bits(-2.5f), 0xc020);
	/* 1 + 2^-8: halfway between 0x3f80 and 0x3f81, ties to even. */
	assert_int_equal(bf16_bits(bits_float(0x3f808000u)), 0x3f80);
	/* 1 + 3 2^-8: halfway between 0x3f81 and 0x3f82, to even 0x3f82. */
	assert_int_equal(bf16_bits(bits_float(0x3f818000u)), 0x3f82);
	/* Just above the tie rounds up, just below down. */
	assert_int_equal(bf16_bits(bits_float(0x3f808001u)), 0x3f81);
	assert_int_equal(bf16_bits(bits_float(0x3f807fffu)), 0x3f80);
	/* FLT_MAX rounds up into the exponent: infinity. */
	assert_int_equal(bf16_bits(bits_float(0x7f7fffffu)), 0x7f80);
	/* A NaN with only low fraction bits must not truncate to inf. */
	assert_int_equal(bf16_bits(bits_float(0x7f800001u)), 0x7fc0);
	/* The poison pattern reads back as NaN in both types. */
	assert_true(isnan(bf16_float(0xffff)));
	assert_true(isnan(bits_float(0xffffffffu)));
	assert_true(bf16_float(0x3f82) == 1.015625f);
}

/* Argument checks come before any device work, so they run here without a
 * GPU (and without a handle). */
static void
test_refused(void **state)
{
	(void)state;
	assert_int_not_equal(kcuda_attn_fwd(NULL, KERN_BF16, 1, NULL, NULL,
	    NULL, 1, 1, 4, 2, 130, NULL, NULL, NULL, NULL, NULL), 0);
	assert_non_null(strstr(kcuda_error(), "hd must be even"));
	assert_int_not_equal(kcuda_attn_bwd(NULL, KERN_F32, 1, NULL, NULL,
	    NULL, 1, 1, 4, 2, 63, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    NULL, NULL), 0);
	assert_non_null(strstr(kcuda_error(), "hd must be even"));
	assert_int_not_equal(kcuda_attn_fwd(NULL, KERN_F32, 1, NULL, NULL,
	    NULL, 1, 1, 6, 4, 64, NULL, NULL, NULL, NULL, NULL), 0);
	assert_non_null(strstr(kcuda_error(), "multiple of nkv"));
	assert_int_not_equal(kcuda_gemm(NULL, (enum kern_dtype)7, 0, 0, 2, 2,
	    2, 1.0f, NULL, NULL, 0.0f, NULL), 0);
	assert_non_null(strstr(kcuda_error(), "unknown element type"));
	/* The message names the function and where it failed. */
	assert_non_null(strstr(kcuda_error(), "kcuda_gemm at "));
	assert_int_not_equal(kcuda_rope_fwd(NULL, KERN_F32, 1, 1, 5, NULL,
	    1e4, NULL), 0);
	assert_non_null(strstr(kcuda_error(), "even"));
}

/* ---- device helpers ---- */

/* Every buffer a test makes, host and device, freed by arena_free. */
static void *hbuf[256], *dbuf[256];
static size_t nh_, nd_;

static void
arena_free(void)
{
	while (nh_ > 0)
		free(hbuf[--nh_]);
	while (nd_ > 0)
		kcuda_free(kc, dbuf[--nd_]);
}

static void *
hmem(size_t bytes)
{
	void *p = malloc(bytes > 0 ? bytes : 1);

	assert_non_null(p);
	assert_true(nh_ < sizeof hbuf / sizeof hbuf[0]);
	hbuf[nh_++] = p;
	return p;
}

static float *
hf(size_t n)
{
	return hmem(n * sizeof(float));
}

static void *
dmem(size_t bytes)
{
	void *p;

	CK(kcuda_alloc(kc, bytes, &p));
	assert_true(nd_ < sizeof dbuf / sizeof dbuf[0]);
	dbuf[nd_++] = p;
	return p;
}

static size_t
esize(enum kern_dtype dt)
{
	return dt == KERN_BF16 ? 2 : 4;
}

static double
tol(enum kern_dtype dt)
{
	return dt == KERN_BF16 ? TOL_BF16 : TOL_F32;
}

static const char *
dtname(enum kern_dtype dt)
{
	return dt == KERN_BF16 ? "bf16" : "f32";
}

/* A device copy of bytes at host. */
static void *
dev_raw(const void *host, size_t bytes)
{
	void *p = dmem(bytes);

	CK(kcuda_upload(kc, p, host, bytes));
	return p;
}

/* A device array of the n values a[] as dt; for bf16, a[] is rounded in
 * place first, so that the reference sees what the device does. */
static void *
dev_in(enum kern_dtype dt, float *a, size_t n)
{
	uint16_t *b;
	size_t i;

	if (dt == KERN_F32)
		return dev_raw(a, n * sizeof *a);
	b = hmem(n * sizeof *b);
	for (i = 0; i < n; i++) {
		b[i] = bf16_bits(a[i]);
		a[i] = bf16_float(b[i]);
	}
	return dev_raw(b, n * sizeof *b);
}

/* A device array of n elements of dt, every byte 0xFF (NaN). */
static void *
dev_poison(enum kern_dtype dt, size_t n)
{
	void *h = hmem(n * esize(dt));

	memset(h, 0xff, n * esize(dt));
	return dev_raw(h, n * esize(dt));
}

/* The n elements of dt at dev, as floats into a[]. */
static void
dev_out(enum kern_dtype dt, const void *dev, float *a, size_t n)
{
	uint16_t *b;
	size_t i;

	if (dt == KERN_F32) {
		CK(kcuda_download(kc, a, dev, n * sizeof *a));
		return;
	}
	b = hmem(n * sizeof *b);
	CK(kcuda_download(kc, b, dev, n * sizeof *b));
	for (i = 0; i < n; i++)
		a[i] = bf16_float(b[i]);
}

static gsl_rng *
rng_new(unsigned long seed)
{
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);

	assert_non_null(r);
	gsl_rng_set(r, seed);
	return r;
}

/* n floats uniform in [lo, hi), in a new host array. */
static float *
hrand(gsl_rng *r, size_t n, double lo, double hi)
{
	float *a = hf(n);
	size_t i;

	for (i = 0; i < n; i++)
		a[i] = (float)(lo + (hi - lo) * gsl_rng_uniform(r));
	return a;
}

/* max |a - b| / max |b|; infinite when a holds a non-finite element. */
static double
relerr(const float *a, const float *b, size_t n)
{
	double d = 0.0, m = 0.0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!isfinite(a[i]))
			return INFINITY;
		if (fabs((double)a[i] - b[i]) > d)
			d = fabs((double)a[i] - b[i]);
		if (fabs(b[i]) > m)
			m = fabs(b[i]);
	}
	assert_true(m > 0.0);  /* a test against zeros proves nothing */
	return d / m;
}

/* Fail unless relerr(got, want) <= tl, naming what and the dtype. */
static void
expect_close(const char *what, enum kern_dtype dt, const float *got,
    const float *want, size_t n, double tl)
{
	double e = relerr(got, want, n);

	if (!(e <= tl))
		fail_msg("%s (%s): relative error %g > %g", what, dtname(dt),
		    e, tl);
}

static int
setup(void **state)
{
	(void)state;
	return kcuda_open(0, &kc) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	arena_free();
	kcuda_close(kc);
	return 0;
}

/* ---- device tests ---- */

static void
test_axpy(void **state)
{
	static float x[N_AXPY], y[N_AXPY], want[N_AXPY];
	const float a = 1.7f;
	size_t i;

	(void)state;
	for (i = 0; i < N_AXPY; i++) {
		x[i] = (float)((i * 7919) % 1000) / 37.0f - 13.5f;
		y[i] = (float)((i * 104729) % 997) / 91.0f;
		want[i] = fmaf(a, x[i], y[i]);
	}
	assert_int_equal(kcuda_axpy(a, x, y, N_AXPY), 0);
	for (i = 0; i < N_AXPY; i++)
		assert_true(fabsf(y[i] - want[i]) <= 1e-6f * (1.0f + fabsf(want[i])));
}

/* Upload, device copy, partial zeroing and download, byte for byte. */
static void
test_memory(void **state)
{
	enum { N = 1000 };
	gsl_rng *r = rng_new(1);
	float *a = hrand(r, N, -3.0, 3.0), *b = hf(N);
	void *d1, *d2;
	size_t i;

	(void)state;
	d1 = dev_raw(a, N * sizeof *a);
	d2 = dev_poison(KERN_F32, N);
	CK(kcuda_copy(kc, d2, d1, N * sizeof *a));
	CK(kcuda_memset0(kc, (float *)d2 + 100, 50 * sizeof *a));
	CK(kcuda_sync(kc));
	CK(kcuda_download(kc, b, d2, N * sizeof *b));
	for (i = 0; i < N; i++)
		assert_true(b[i] == (i >= 100 && i < 150 ? 0.0f : a[i]));
	gsl_rng_free(r);
	arena_free();
}

/* add, gather, scatter and the embedding against loops written here. */
static void
test_rows(void **state)
{
	enum { N = 37, W = 300, V = 50, T = 45 };
	gsl_rng *r = rng_new(2);
	float *x = hrand(r, N * W, -2.0, 2.0), *y = hrand(r, N * W, -2.0, 2.0);
	float *tab = hrand(r, V * W, -1.0, 1.0), *dt0 = hrand(r, V * W, -1.0, 1.0);
	float *dx = hrand(r, T * W, -1.0, 1.0), *got = hf(V * W), *want = hf(V * W);
	int32_t idx[N], tok[T];
	void *dy, *dsrc, *ddst;
	size_t i, c;

	(void)state;
	/* Distinct rows of the table for gather and scatter: i * 7 mod 50
	 * is a bijection on 0..49; tokens repeat (45 draws from 0..9). */
	for (i = 0; i < N; i++)
		idx[i] = (int32_t)(i * 7 % V);
	for (i = 0; i < T; i++)
		tok[i] = (int32_t)gsl_rng_uniform_int(r, 10);

	dy = dev_raw(y, N * W * sizeof *y);
	CK(kcuda_add(kc, N * W, dev_raw(x, N * W * sizeof *x), dy));
	dev_out(KERN_F32, dy, got, N * W);
	for (i = 0; i < N * W; i++)
		assert_true(got[i] == y[i] + x[i]);

	dsrc = dev_raw(tab, V * W * sizeof *tab);
	ddst = dev_poison(KERN_F32, N * W);
	CK(kcuda_gather_rows(kc, N, W, dev_raw(idx, sizeof idx), dsrc, ddst));
	dev_out(KERN_F32, ddst, got, N * W);
	for (i = 0; i < N; i++)
		for (c = 0; c < W; c++)
			assert_true(got[i * W + c] == tab[idx[i] * W + c]);

	/* Scatter x's rows over dt0: rows not named keep their values. */
	ddst = dev_raw(dt0, V * W * sizeof *dt0);
	CK(kcuda_scatter_rows(kc, N, W, dev_raw(idx, sizeof idx),
	    dev_raw(x, N * W * sizeof *x), ddst));
	memcpy(want, dt0, V * W * sizeof *want);
	for (i = 0; i < N; i++)
		memcpy(want + idx[i] * W, x + i * W, W * sizeof *want);
	dev_out(KERN_F32, ddst, got, V * W);
	assert_memory_equal(got, want, V * W * sizeof *got);

	ddst = dev_poison(KERN_F32, T * W);
	CK(kcuda_embed_fwd(kc, T, W, dev_raw(tok, sizeof tok), dsrc, ddst));
	dev_out(KERN_F32, ddst, got, T * W);
	for (i = 0; i < T; i++)
		for (c = 0; c < W; c++)
			assert_true(got[i * W + c] == tab[tok[i] * W + c]);

	/* embed_bwd adds in any order: compare with a tolerance. */
	ddst = dev_raw(dt0, V * W * sizeof *dt0);
	CK(kcuda_embed_bwd(kc, T, W, dev_raw(tok, sizeof tok),
	    dev_raw(dx, T * W * sizeof *dx), ddst));
	memcpy(want, dt0, V * W * sizeof *want);
	for (i = 0; i < T; i++)
		for (c = 0; c < W; c++)
			want[tok[i] * W + c] += dx[i * W + c];
	dev_out(KERN_F32, ddst, got, V * W);
	expect_close("embed_bwd", KERN_F32, got, want, V * W, 1e-6);
	gsl_rng_free(r);
	arena_free();
}

static void
gemm_case(enum kern_dtype dt, gsl_rng *r, int ta, int tb, size_t m, size_t n,
    size_t k, float alpha, float beta)
{
	float *A = hrand(r, m * k, -1.5, 1.5), *B = hrand(r, k * n, -1.5, 1.5);
	float *C = hrand(r, m * n, -2.0, 2.0), *got = hf(m * n);
	void *dA = dev_in(dt, A, m * k), *dB = dev_in(dt, B, k * n);
	void *dC = beta == 0.0f ? dev_poison(dt, m * n) : dev_in(dt, C, m * n);
	char what[64];

	CK(kcuda_gemm(kc, dt, ta, tb, m, n, k, alpha, dA, dB, beta, dC));
	kcpu_gemm(ta, tb, m, n, k, alpha, A, B, beta, C);
	dev_out(dt, dC, got, m * n);
	snprintf(what, sizeof what, "gemm ta %d tb %d k %zu beta %g", ta, tb,
	    k, (double)beta);
	expect_close(what, dt, got, C, m * n, tol(dt));
}

static void
test_gemm(void **state)
{
	gsl_rng *r = rng_new(3);
	int d, ta, tb;

	(void)state;
	for (d = 0; d < 2; d++) {
		for (ta = 0; ta < 2; ta++)
			for (tb = 0; tb < 2; tb++) {
				gemm_case((enum kern_dtype)d, r, ta, tb, 37, 53,
				    71, 0.7f, 0.0f);
				gemm_case((enum kern_dtype)d, r, ta, tb, 19, 8,
				    300, -1.3f, 0.4f);
			}
		/* An empty inner dimension leaves beta C. */
		gemm_case((enum kern_dtype)d, r, 0, 1, 5, 6, 0, 1.0f, 0.5f);
		arena_free();
	}
	gsl_rng_free(r);
}

static void
test_rmsnorm(void **state)
{
	enum { T = 7, D = 300 };  /* D: more than one pass of 256 threads */
	gsl_rng *r = rng_new(4);
	int d;

	(void)state;
	for (d = 0; d < 2; d++) {
		enum kern_dtype dt = (enum kern_dtype)d;
		float *x = hrand(r, T * D, -2.0, 2.0), *w = hrand(r, D, 0.5, 1.5);
		float *dy = hrand(r, T * D, -1.0, 1.0), *dw = hrand(r, D, -1.0, 1.0);
		float *y = hf(T * D), *rstd = hf(T), *dx = hf(T * D);
		float *got = hf(T * D);
		void *dxx = dev_in(dt, x, T * D), *ddy = dev_in(dt, dy, T * D);
		void *dww = dev_raw(w, D * sizeof *w), *ddw;
		void *dyy = dev_poison(dt, T * D), *drs = dev_poison(KERN_F32, T);
		void *ddx = dev_poison(dt, T * D);

		CK(kcuda_rmsnorm_fwd(kc, dt, T, D, dxx, dww, 1e-5f, dyy, drs));
		kcpu_rmsnorm_fwd(T, D, x, w, 1e-5f, y, rstd);
		dev_out(dt, dyy, got, T * D);
		expect_close("rmsnorm_fwd y", dt, got, y, T * D, tol(dt));
		dev_out(KERN_F32, drs, got, T);
		expect_close("rmsnorm_fwd rstd", dt, got, rstd, T, TOL_F32);

		ddw = dev_raw(dw, D * sizeof *dw);
		CK(kcuda_rmsnorm_bwd(kc, dt, T, D, dxx, dww,
		    dev_raw(rstd, T * sizeof *rstd), ddy, ddx, ddw));
		kcpu_rmsnorm_bwd(T, D, x, w, rstd, dy, dx, dw);
		dev_out(dt, ddx, got, T * D);
		expect_close("rmsnorm_bwd dx", dt, got, dx, T * D, tol(dt));
		dev_out(KERN_F32, ddw, got, D);
		expect_close("rmsnorm_bwd dw", dt, got, dw, D, TOL_F32);
		arena_free();
	}
	gsl_rng_free(r);
}

static void
test_rope(void **state)
{
	enum { T = 9, NH = 3, HD = 64 };
	gsl_rng *r = rng_new(5);
	int32_t pos[T];
	size_t i;
	int d, dir;

	(void)state;
	/* Positions up to 10^5: the angle needs double there. */
	for (i = 0; i < T; i++)
		pos[i] = (int32_t)gsl_rng_uniform_int(r, 100000);
	for (d = 0; d < 2; d++)
		for (dir = 0; dir < 2; dir++) {
			enum kern_dtype dt = (enum kern_dtype)d;
			float *x = hrand(r, T * NH * HD, -2.0, 2.0);
			float *got = hf(T * NH * HD);
			void *dx = dev_in(dt, x, T * NH * HD);
			void *dpos = dev_raw(pos, sizeof pos);

			if (dir == 0) {
				CK(kcuda_rope_fwd(kc, dt, T, NH, HD, dpos, 1e6,
				    dx));
				kcpu_rope_fwd(T, NH, HD, pos, 1e6, x);
			} else {
				CK(kcuda_rope_bwd(kc, dt, T, NH, HD, dpos,
				    1e4, dx));
				kcpu_rope_bwd(T, NH, HD, pos, 1e4, x);
			}
			dev_out(dt, dx, got, T * NH * HD);
			expect_close(dir == 0 ? "rope_fwd" : "rope_bwd", dt,
			    got, x, T * NH * HD, tol(dt));
			arena_free();
		}
	gsl_rng_free(r);
}

static void
test_swiglu(void **state)
{
	enum { N = 1031 };
	gsl_rng *r = rng_new(6);
	int d;

	(void)state;
	for (d = 0; d < 2; d++) {
		enum kern_dtype dt = (enum kern_dtype)d;
		float *g = hrand(r, N, -6.0, 6.0), *u = hrand(r, N, -2.0, 2.0);
		float *dh = hrand(r, N, -1.0, 1.0), *h = hf(N), *dg = hf(N);
		float *du = hf(N), *got = hf(N);
		void *dgg, *duu, *ddh, *dhh, *ddg, *ddu;

		/* expf(-g) overflows past g = -88: sigmoid 0, not NaN. */
		g[0] = -100.0f;
		g[1] = 100.0f;
		dgg = dev_in(dt, g, N);
		duu = dev_in(dt, u, N);
		ddh = dev_in(dt, dh, N);
		dhh = dev_poison(dt, N);
		ddg = dev_poison(dt, N);
		ddu = dev_poison(dt, N);
		CK(kcuda_swiglu_fwd(kc, dt, N, dgg, duu, dhh));
		CK(kcuda_swiglu_bwd(kc, dt, N, dgg, duu, ddh, ddg, ddu));
		kcpu_swiglu_fwd(N, g, u, h);
		kcpu_swiglu_bwd(N, g, u, dh, dg, du);
		dev_out(dt, dhh, got, N);
		expect_close("swiglu_fwd", dt, got, h, N, tol(dt));
		dev_out(dt, ddg, got, N);
		expect_close("swiglu_bwd dg", dt, got, dg, N, tol(dt));
		dev_out(dt, ddu, got, N);
		expect_close("swiglu_bwd du", dt, got, du, N, tol(dt));
		arena_free();
	}
	gsl_rng_free(r);
}

static void
test_xent(void **state)
{
	enum { T = 6, V = 1000 };  /* V: several passes of 256 threads */
	gsl_rng *r = rng_new(7);
	int32_t tgt[T];
	double loss, want;
	size_t i;
	int d, inplace;

	(void)state;
	for (i = 0; i < T; i++)
		tgt[i] = (int32_t)gsl_rng_uniform_int(r, V);
	tgt[2] = -1;  /* ignored: zero row, no loss */
	for (d = 0; d < 2; d++)
		for (inplace = 0; inplace < 2; inplace++) {
			enum kern_dtype dt = (enum kern_dtype)d;
			float *z = hrand(r, T * V, -8.0, 8.0), *dz = hf(T * V);
			float *got = hf(T * V);
			void *dzz = dev_in(dt, z, T * V);
			void *ddz = inplace ? dzz : dev_poison(dt, T * V);

			CK(kcuda_xent(kc, dt, T, V, dzz, dev_raw(tgt,
			    sizeof tgt), 0.2f, ddz, &loss));
			want = kcpu_xent(T, V, z, tgt, 0.2f, dz);
			dev_out(dt, ddz, got, T * V);
			expect_close(inplace ? "xent in place" : "xent", dt,
			    got, dz, T * V, tol(dt));
			/* The loss is summed in fp32 rows, double total. */
			if (!(fabs(loss - want) <= TOL_F32 * fabs(want)))
				fail_msg("xent loss (%s): %.9g, expected %.9g",
				    dtname(dt), loss, want);
			arena_free();
		}
	gsl_rng_free(r);
}

static void
test_adamw(void **state)
{
	enum { N = 1000 };
	gsl_rng *r = rng_new(8);
	float *p = hrand(r, N, -1.0, 1.0), *g = hrand(r, N, -0.1, 0.1);
	float *m = hrand(r, N, -0.01, 0.01), *v = hrand(r, N, 1e-5, 1e-3);
	float *got = hf(N);
	void *dp = dev_raw(p, N * sizeof *p), *dm = dev_raw(m, N * sizeof *m);
	void *dv = dev_raw(v, N * sizeof *v);

	(void)state;
	CK(kcuda_adamw(kc, N, dp, dev_raw(g, N * sizeof *g), dm, dv, 1e-2f,
	    0.9f, 0.95f, 1e-8f, 0.1f, 3));
	kcpu_adamw(N, p, g, m, v, 1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, 3);
	dev_out(KERN_F32, dp, got, N);
	expect_close("adamw p", KERN_F32, got, p, N, TOL_F32);
	dev_out(KERN_F32, dm, got, N);
	expect_close("adamw m", KERN_F32, got, m, N, TOL_F32);
	dev_out(KERN_F32, dv, got, N);
	expect_close("adamw v", KERN_F32, got, v, N, TOL_F32);
	gsl_rng_free(r);
	arena_free();
}

/* ---- attention ---- */

/* One attention case: samples of nq[s] queries at positions qpos (all of a
 * sample's when NULL: 0..nq-1) against nk[s] keys. */
struct acase {
	const char *name;
	size_t nseq;
	const int32_t *nq, *nk, *qpos;
	size_t nh, nkv, hd;
};

static void
attn_case(const struct acase *c, enum kern_dtype dt, unsigned long seed)
{
	gsl_rng *r = rng_new(seed);
	int32_t *cu_q = hmem((c->nseq + 1) * sizeof *cu_q);
	int32_t *cu_k = hmem((c->nseq + 1) * sizeof *cu_k), *qpos;
	size_t s, i, Tq, Tk, max_q = 0, max_k = 0, nqo, nko;
	float *q, *k, *v, *o, *lse, *dout, *dq, *dk, *dv, *got, *dk0, *dv0;
	float *got2, mag;
	void *dq_, *dk_, *dv_, *dcq, *dck, *dqp, *dqq, *dkk, *dvv, *doo, *dlse;
	void *ddo, *ddq, *ddk, *ddv, *dmp;
	char what[96];

	cu_q[0] = cu_k[0] = 0;
	for (s = 0; s < c->nseq; s++) {
		cu_q[s + 1] = cu_q[s] + c->nq[s];
		cu_k[s + 1] = cu_k[s] + c->nk[s];
		if ((size_t)c->nq[s] > max_q)
			max_q = (size_t)c->nq[s];
		if ((size_t)c->nk[s] > max_k)
			max_k = (size_t)c->nk[s];
	}
	Tq = (size_t)cu_q[c->nseq];
	Tk = (size_t)cu_k[c->nseq];
	qpos = hmem(Tq * sizeof *qpos);
	if (c->qpos != NULL)
		memcpy(qpos, c->qpos, Tq * sizeof *qpos);
	else
		for (s = 0; s < c->nseq; s++)
			for (i = 0; i < (size_t)c->nq[s]; i++)
				qpos[cu_q[s] + i] = (int32_t)i;
	nqo = Tq * c->nh * c->hd;
	nko = Tk * c->nkv * c->hd;

	/* Scores of order 1 after the 1/sqrt(hd) scale: peaked and flat
	 * rows both occur. */
	q = hrand(r, nqo, -2.0, 2.0);
	k = hrand(r, nko, -2.0, 2.0);
	v = hrand(r, nko, -1.0, 1.0);
	dout = hrand(r, nqo, -1.0, 1.0);
	o = hf(nqo);
	lse = hf(Tq * c->nh);
	got = hf(nqo > nko ? nqo : nko);
	got2 = hf(nqo > nko ? nqo : nko);
	dcq = dev_raw(cu_q, (c->nseq + 1) * sizeof *cu_q);
	dck = dev_raw(cu_k, (c->nseq + 1) * sizeof *cu_k);
	dqp = dev_raw(qpos, Tq * sizeof *qpos);
	dqq = dev_in(dt, q, nqo);
	dkk = dev_in(dt, k, nko);
	dvv = dev_in(dt, v, nko);

	/* Forward. */
	doo = dev_poison(dt, nqo);
	dlse = dev_poison(KERN_F32, Tq * c->nh);
	CK(kcuda_attn_fwd(kc, dt, c->nseq, dcq, dck, dqp, max_q, max_k, c->nh,
	    c->nkv, c->hd, dqq, dkk, dvv, doo, dlse));
	kcpu_attn_fwd(c->nseq, cu_q, cu_k, qpos, c->nh, c->nkv, c->hd, q, k,
	    v, o, lse);
	dev_out(dt, doo, got, nqo);
	snprintf(what, sizeof what, "%s attn_fwd o", c->name);
	expect_close(what, dt, got, o, nqo, tol(dt));
	dev_out(KERN_F32, dlse, got, Tq * c->nh);
	snprintf(what, sizeof what, "%s attn_fwd lse", c->name);
	expect_close(what, dt, got, lse, Tq * c->nh, TOL_F32);

	/* Backward from the reference's o and lse (o as stored in dt).  The
	 * reference's dk, dv increments (from zero) are added to starting
	 * values of their own size, where the kernel accumulates. */
	dq = hf(nqo);
	dk = hf(nko);
	dv = hf(nko);
	memset(dk, 0, nko * sizeof *dk);
	memset(dv, 0, nko * sizeof *dv);
	ddo = dev_in(dt, dout, nqo);
	dmp = dev_in(dt, o, nqo);
	kcpu_attn_bwd(c->nseq, cu_q, cu_k, qpos, c->nh, c->nkv, c->hd, q, k,
	    v, o, lse, dout, dq, dk, dv);
	mag = 0.0f;
	for (i = 0; i < nko; i++)
		mag = fmaxf(mag, fmaxf(fabsf(dk[i]), fabsf(dv[i])));
	dk0 = hrand(r, nko, -0.5 * mag, 0.5 * mag);
	dv0 = hrand(r, nko, -0.5 * mag, 0.5 * mag);
	ddk = dev_in(dt, dk0, nko);
	ddv = dev_in(dt, dv0, nko);
	for (i = 0; i < nko; i++) {
		dk[i] += dk0[i];
		dv[i] += dv0[i];
	}
	dlse = dev_raw(lse, Tq * c->nh * sizeof *lse);
	ddq = dev_poison(dt, nqo);
	CK(kcuda_attn_bwd(kc, dt, c->nseq, dcq, dck, dqp, max_q, max_k, c->nh,
	    c->nkv, c->hd, dqq, dkk, dvv, dmp, dlse, ddo, ddq, ddk, ddv));
	dev_out(dt, ddq, got, nqo);
	snprintf(what, sizeof what, "%s attn_bwd dq", c->name);
	expect_close(what, dt, got, dq, nqo, tol(dt));
	dev_out(dt, ddk, got, nko);
	snprintf(what, sizeof what, "%s attn_bwd dk", c->name);
	expect_close(what, dt, got, dk, nko, tol(dt));
	dev_out(dt, ddv, got, nko);
	snprintf(what, sizeof what, "%s attn_bwd dv", c->name);
	expect_close(what, dt, got, dv, nko, tol(dt));

	/* Deterministic: a second run from the same start gives the same
	 * bits (dq onto a fresh poison, dk and dv from dk0, dv0). */
	dq_ = dev_poison(dt, nqo);
	dk_ = dev_in(dt, dk0, nko);
	dv_ = dev_in(dt, dv0, nko);
	CK(kcuda_attn_bwd(kc, dt, c->nseq, dcq, dck, dqp, max_q, max_k, c->nh,
	    c->nkv, c->hd, dqq, dkk, dvv, dmp, dlse, ddo, dq_, dk_, dv_));
	dev_out(dt, ddq, got, nqo);
	dev_out(dt, dq_, got2, nqo);
	assert_memory_equal(got, got2, nqo * sizeof *got);
	dev_out(dt, ddk, got, nko);
	dev_out(dt, dk_, got2, nko);
	assert_memory_equal(got, got2, nko * sizeof *got);
	dev_out(dt, ddv, got, nko);
	dev_out(dt, dv_, got2, nko);
	assert_memory_equal(got, got2, nko * sizeof *got);

	gsl_rng_free(r);
	arena_free();
}

/* Unequal samples, one of a single token, several crossing 64-row tiles;
 * GQA with four query heads per KV head. */
static void
test_attn_varlen(void **state)
{
	static const int32_t n[] = { 70, 1, 129, 33, 64 };
	const struct acase c = { "varlen", 5, n, n, NULL, 8, 2, 64 };

	(void)state;
	attn_case(&c, KERN_F32, 20);
	attn_case(&c, KERN_BF16, 21);
}

/* The largest head width, multi-head (nkv = nh), and a width that is not a
 * multiple of the 16 columns a thread strides by. */
static void
test_attn_hd(void **state)
{
	static const int32_t n[] = { 200, 1, 65 };
	const struct acase c128 = { "hd128", 3, n, n, NULL, 4, 4, 128 };
	const struct acase c40 = { "hd40", 3, n, n, NULL, 6, 3, 40 };

	(void)state;
	attn_case(&c128, KERN_F32, 22);
	attn_case(&c128, KERN_BF16, 23);
	attn_case(&c40, KERN_F32, 24);
	attn_case(&c40, KERN_BF16, 25);
}

/*
 * A CP shard beside a whole sample: sample 0 (300 tokens over CP 2 with
 * the usual zigzag split into 4 chunks of 75) holds chunks 0 and 3 of the
 * queries, positions 0..74 and 225..299, against all 300 keys; sample 1 is
 * whole (90 queries, 90 keys).  Queries and keys counts differ per sample.
 */
static void
test_attn_cp(void **state)
{
	static const int32_t nq[] = { 150, 90 }, nk[] = { 300, 90 };
	int32_t qpos[240];
	const struct acase c = { "cp-shard", 2, nq, nk, qpos, 8, 2, 64 };
	int i;

	(void)state;
	for (i = 0; i < 75; i++) {
		qpos[i] = i;
		qpos[75 + i] = 225 + i;
	}
	for (i = 0; i < 90; i++)
		qpos[150 + i] = i;
	attn_case(&c, KERN_F32, 26);
	attn_case(&c, KERN_BF16, 27);
}

/* One long sample crossing 47 query and key tiles (a few seconds of CPU
 * reference). */
static void
test_attn_long(void **state)
{
	static const int32_t n[] = { 3000 };
	const struct acase c = { "long", 1, n, n, NULL, 2, 1, 64 };

	(void)state;
	attn_case(&c, KERN_BF16, 28);
}

int
main(void)
{
	const struct CMUnitTest host_tests[] = {
		cmocka_unit_test(test_runtime_version),
		cmocka_unit_test(test_bf16_round),
		cmocka_unit_test(test_refused),
	};
	const struct CMUnitTest gpu_tests[] = {
		cmocka_unit_test(test_runtime_version),
		cmocka_unit_test(test_bf16_round),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_axpy),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_gemm),
		cmocka_unit_test(test_rmsnorm),
		cmocka_unit_test(test_rope),
		cmocka_unit_test(test_swiglu),
		cmocka_unit_test(test_xent),
		cmocka_unit_test(test_adamw),
		cmocka_unit_test(test_attn_varlen),
		cmocka_unit_test(test_attn_hd),
		cmocka_unit_test(test_attn_cp),
		cmocka_unit_test(test_attn_long),
	};
	int ndev = 0;

	kcuda_device_count(&ndev);
	if (ndev > 0)
		return cmocka_run_group_tests(gpu_tests, setup, teardown);
	printf("# no CUDA device: the kcuda tests run in tests/gpu/check.sh\n");
	return cmocka_run_group_tests(host_tests, NULL, NULL);
}
