/*
 * Unit tests of calib: the fit of P x / (x + h) on exact data (recovered
 * to 1e-6) and on data with deterministic noise (recovered within its
 * standard errors), calib_finish on synthetic measurements whose curves
 * are known, and a quick measurement on the CPU backend.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "backend.h"
#include "calib.h"
#include "err.h"
#include "model.h"
#include "profile.h"
#include "tutil.h"

static double
curve(double P, double h, double x)
{
	return P * x / (x + h);
}

/* Points 1, 3, 9, ... 3^9 (10): both sides of h. */
#define NPT 10

static void
test_fit_exact(void **state)
{
	double x[NPT], y[NPT], P = 3.7e9, h = 173.25;
	struct profile_fit f;
	int i;

	(void)state;
	for (i = 0; i < NPT; i++) {
		x[i] = pow(3, i);
		y[i] = curve(P, h, x[i]);
	}
	assert_int_equal(calib_fit(x, y, NPT, &f), SK_OK);
	assert_int_equal(f.n, NPT);
	assert_true(fabs(f.P / P - 1) < 1e-6);
	assert_true(fabs(f.h / h - 1) < 1e-6);
	assert_true(f.rms < 1e-6);
	assert_true(f.P_se < 1e-6 * P && f.h_se < 1e-6 * h);
}

/* +-3% noise from a fixed sequence (sin of the index): the estimates
 * lie within three standard errors of the truth, and the residual RMS is
 * the noise's order. */
static void
test_fit_noise(void **state)
{
	double x[NPT], y[NPT], P = 8.25e12, h = 611;
	struct profile_fit f;
	int i;

	(void)state;
	for (i = 0; i < NPT; i++) {
		x[i] = pow(3, i);
		y[i] = curve(P, h, x[i]) * (1 + 0.03 * sin(2.3 * i + 0.7));
	}
	assert_int_equal(calib_fit(x, y, NPT, &f), SK_OK);
	assert_true(f.P_se > 0 && f.h_se > 0);
	if (fabs(f.P - P) > 3 * f.P_se || fabs(f.h - h) > 3 * f.h_se)
		fail_msg("P %g +- %g (true %g), h %g +- %g (true %g)", f.P,
		    f.P_se, P, f.h, f.h_se, h);
	assert_true(fabs(f.P / P - 1) < 0.05 && fabs(f.h / h - 1) < 0.25);
	assert_true(f.rms > 0.005 && f.rms < 0.03);
}

static void
test_fit_errors(void **state)
{
	double x[3] = { 1, 2, 4 }, y[3] = { 1, -2, 3 };
	struct profile_fit f;

	(void)state;
	assert_int_equal(calib_fit(x, y, 2, &f), SK_ERR_ARG);
	assert_non_null(strstr(err_msg(), "2 points"));
	assert_int_equal(calib_fit(x, y, 3, &f), SK_ERR_ARG);
	assert_non_null(strstr(err_msg(), "point 1 (2, -2)"));
}

/*
 * Measurements made from known curves: GEMM at P 2.5e9, h 12; attention
 * forward and backward both at P 6e9, h 90 (so their sum too); copies of
 * 4 MiB at 1.25e10 bytes/s; 1000 launches in 4.5 ms; collectives over 4
 * ranks at three sizes, the all-reduce's middle time below its first.
 */
static void
synthetic(struct profile *p)
{
	static const char *const shp[] = { "qkv", "o", "gate_up", "down" };
	double T, S, F;
	int i;

	profile_init(p);
	strcpy(p->device, "cpu");
	strcpy(p->backend, "cpu");
	strcpy(p->dtype, "fp32");
	p->count = 4;
	for (i = 0; i < 4; i++)
		for (T = 1; T <= 256; T *= 4)
			assert_int_equal(profile_add(p, PROF_GEMM, shp[i], T,
			    2 * T * 640 * (i + 1) * 128, 2 * T * 640 * (i + 1) *
			    128 / curve(2.5e9, 12, T)), SK_OK);
	for (S = 16; S <= 4096; S *= 4) {
		F = 2 * 64 * S * (S + 1);
		assert_int_equal(profile_add(p, PROF_ATTN_FWD, "", S, F,
		    F / curve(6e9, 90, S)), SK_OK);
		assert_int_equal(profile_add(p, PROF_ATTN_BWD, "", S, 2.5 * F,
		    2.5 * F / curve(6e9, 90, S)), SK_OK);
	}
	assert_int_equal(profile_add(p, PROF_LAUNCH, "", 1000, 0, 4.5e-3),
	    SK_OK);
	assert_int_equal(profile_add(p, PROF_COPY, "", 4194304, 8388608,
	    8388608 / 1.25e10), SK_OK);
	for (i = 0; i < 3; i++) {
		double b = 1024 * pow(4, i);

		assert_int_equal(profile_add(p, PROF_ALLGATHER, "", b, b,
		    (20 + i) * 1e-6), SK_OK);
		assert_int_equal(profile_add(p, PROF_REDUCESCATTER, "", b, b,
		    (21 + i) * 1e-6), SK_OK);
		assert_int_equal(profile_add(p, PROF_ALLREDUCE, "", b, b,
		    (i == 1 ? 35 : 40 + i) * 1e-6), SK_OK);
	}
}

static void
test_finish(void **state)
{
	struct calib_opts o;
	struct profile p;

	(void)state;
	memset(&o, 0, sizeof o);
	synthetic(&p);
	assert_int_equal(calib_finish(&p, &o), SK_OK);
	/* peak: the larger asymptote, attention's 6e9 */
	assert_float_equal(p.peak_flops, 6e9, 6e9 * 1e-6);
	assert_float_equal(p.eff.gemm_max, 2.5 / 6, 1e-6);
	assert_float_equal(p.eff.gemm_half, 12, 12e-6);
	assert_float_equal(p.eff.attn_max, 1, 1e-6);
	assert_float_equal(p.eff.attn_half, 90, 90e-6);
	assert_float_equal(p.fit[PROF_FIT_ATTN_BWD].P, 6e9, 6e9 * 1e-6);
	assert_float_equal(p.hbm_bw, 1.25e10, 1.0);
	assert_float_equal(p.eff.mem_eff, 1, 1e-12);
	assert_float_equal(p.eff.launch, 4.5e-6, 1e-15);
	assert_int_equal(p.coll.n, 3);
	assert_int_equal(p.coll.group, 4);
	assert_float_equal(p.coll.bytes[2], 16384, 0);
	/* the running maximum: 40 us at 4 KiB, not the 35 measured */
	assert_float_equal(p.coll.sec[COLL_ALLREDUCE][1], 40e-6, 1e-15);
	assert_float_equal(p.coll.sec[COLL_ALLREDUCE][2], 42e-6, 1e-15);
	assert_float_equal(p.coll.sec[COLL_REDUCESCATTER][2], 23e-6, 1e-15);
	profile_free(&p);

	/* a datasheet reference: fractions of it */
	synthetic(&p);
	o.peak_flops = 1.2e10;
	o.hbm_bw = 2.5e10;
	assert_int_equal(calib_finish(&p, &o), SK_OK);
	assert_float_equal(p.eff.gemm_max, 2.5 / 12, 1e-6);
	assert_float_equal(p.eff.attn_max, 0.5, 1e-6);
	assert_float_equal(p.eff.mem_eff, 0.5, 1e-9);
	profile_free(&p);

	/* a reference below what was measured is refused */
	synthetic(&p);
	o.peak_flops = 5e9;
	assert_int_equal(calib_finish(&p, &o), SK_ERR_RANGE);
	assert_non_null(strstr(err_msg(), "exceeds the reference peak"));
	profile_free(&p);
}

/* The CPU backend on a tiny model: every kind measured at the grid's
 * points, a profile that validates, and a GEMM asymptote within a factor
 * of 3 of the best measured GEMM rate. */


static void
test_measure_cpu(void **state)
{
	struct model m = { .name = "tiny", .layers = 1, .hidden = 64,
	    .heads = 2, .kv_heads = 1, .head_dim = 32, .ffn = 128,
	    .vocab = 100 };
	struct calib_opts o;
	struct profile p;
	struct tutil_calls calls = { 0, 0, 0, 0 };
	size_t i, n[PROF_NKINDS] = { 0 };
	double best = 0;

	(void)state;
	memset(&o, 0, sizeof o);
	o.model = &m;
	o.quick = 1;
	o.max_len = 256;
	o.progress = tutil_count_progress;
	o.progress_ctx = &calls;
	profile_init(&p);
	assert_int_equal(calib_measure(&backend_cpu_ops, NULL, &o, &p), SK_OK);
	/* Progress: once per measurement, 1..24 of 24 (16 + 3 + 3 + 1 + 1,
	 * counted below), the total known from the first call. */
	assert_int_equal(calls.n, 24);
	assert_int_equal(calls.last, 24);
	assert_int_equal(calls.total, 24);
	assert_int_equal(calls.bad, 0);
	assert_int_equal(p.nmeas, 24);
	for (i = 0; i < p.nmeas; i++) {
		n[p.meas[i].kind]++;
		if (p.meas[i].kind == PROF_GEMM)
			best = fmax(best, p.meas[i].work / p.meas[i].sec);
	}
	/* 4 shapes x tokens 1, 4, 16, 64; lengths 16, 64, 256 */
	assert_int_equal(n[PROF_GEMM], 16);
	assert_int_equal(n[PROF_ATTN_FWD], 3);
	assert_int_equal(n[PROF_ATTN_BWD], 3);
	assert_int_equal(n[PROF_LAUNCH], 1);
	assert_int_equal(n[PROF_COPY], 1);
	assert_int_equal(n[PROF_ALLREDUCE], 0);
	/* the gate_up GEMM at 16 tokens: 2 x 16 x 64 x 256 FLOPs */
	assert_string_equal(p.meas[10].shape, "gate_up");
	assert_float_equal(p.meas[10].work, 2.0 * 16 * 64 * 256, 0);
	assert_int_equal(calib_finish(&p, &o), SK_OK);
	assert_int_equal(profile_validate(&p, "cpu"), SK_OK);
	assert_string_equal(p.backend, "cpu");
	assert_string_equal(p.model, "tiny");
	assert_true(p.fit[PROF_FIT_GEMM].P < 3 * best &&
	    p.fit[PROF_FIT_GEMM].P > best / 3);
	profile_free(&p);
}

static void
test_backend_find(void **state)
{
	const struct backend_ops *b = NULL;

	(void)state;
	assert_int_equal(backend_find("cpu", &b), SK_OK);
	assert_ptr_equal(b, &backend_cpu_ops);
	assert_int_equal(backend_find("tpu", &b), SK_ERR_ARG);
	assert_non_null(strstr(err_msg(), "unknown backend 'tpu'"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fit_exact),
		cmocka_unit_test(test_fit_noise),
		cmocka_unit_test(test_fit_errors),
		cmocka_unit_test(test_finish),
		cmocka_unit_test(test_measure_cpu),
		cmocka_unit_test(test_backend_find),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
