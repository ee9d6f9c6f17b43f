/*
 * test_backend_cuda: every op of backend_cuda_ops against backend_cpu_ops
 * (the reference) on the same random-looking host inputs: upload, op,
 * sync, download, and a relative error below 1e-4 (largest difference over
 * the largest reference magnitude; fp32 on both sides, so only summation
 * order differs).  Attention runs on packed local samples, on one sample
 * of a packed batch (offsets not starting at 0), and on a CP shard's
 * queries (chunks 0 and 3 of 4) against the gathered keys.
 *
 * Without a device only the host-side tests run: ops on a thread that has
 * not opened the backend fail at sync, and opening a device fails (cmocka
 * 1.1.5 reports a skip as a failure, so the device tests are left out
 * rather than skipped).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "backend.h"
#include "err.h"
#include "kern.h"

#define TOL 1e-4

static const struct backend_ops *const C = &backend_cpu_ops;
static const struct backend_ops *const G = &backend_cuda_ops;
static int ndev;
static uint64_t seed = 88172645463325252ull;

/* Uniform in [lo, hi), xorshift64: deterministic. */
static float
rnd(float lo, float hi)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return lo + (hi - lo) * (float)((seed >> 11) * 0x1.0p-53);
}

/* n host floats in [lo, hi). */
static float *
host(size_t n, float lo, float hi)
{
	float *p = malloc((n > 0 ? n : 1) * sizeof *p);
	size_t i;

	assert_non_null(p);
	for (i = 0; i < n; i++)
		p[i] = rnd(lo, hi);
	return p;
}

/* A device copy of h[0..n). */
static float *
dev(const float *h, size_t n)
{
	float *d = G->alloc(n);

	assert_non_null(d);
	G->upload(d, h, n);
	return d;
}

/* Fail unless the device's d[0..n) matches the reference want[0..n). */
static void
near(const char *what, const float *d, const float *want, size_t n)
{
	float *got = malloc((n > 0 ? n : 1) * sizeof *got);
	double diff = 0, mag = 0;
	size_t i, at = 0;

	assert_non_null(got);
	G->download(got, d, n);
	if (G->sync() != SK_OK)
		fail_msg("%s: %s", what, err_msg());
	for (i = 0; i < n; i++) {
		if (!isfinite(got[i]))
			fail_msg("%s: element %zu is %g, the CPU's %.9g", what, i,
			    (double)got[i], (double)want[i]);
		if (fabs((double)got[i] - want[i]) > diff) {
			diff = fabs((double)got[i] - want[i]);
			at = i;
		}
		mag = fmax(mag, fabs(want[i]));
	}
	if (!(diff <= TOL * mag))
		fail_msg("%s: element %zu is %.9g, the CPU's %.9g (largest "
		    "difference %.3g, magnitude %.3g)", what, at, (double)got[at],
		    (double)want[at], diff, mag);
	free(got);
}

/* Per test, so that the host tests run on an unopened thread. */
static int
gpu_setup(void **state)
{
	(void)state;
	return G->open(0) == SK_OK ? 0 : -1;
}

static int
gpu_teardown(void **state)
{
	(void)state;
	G->close();
	return 0;
}

/* Ops before open fail at sync, naming the op; sync clears it. */
static void
test_unopened(void **state)
{
	float h[4] = { 1, 2, 3, 4 };

	(void)state;
	G->zero(h, 4);
	G->add(4, h, h);
	assert_int_equal(G->sync(), SK_ERR_ARG);
	assert_non_null(strstr(err_msg(), "zero"));
	assert_non_null(strstr(err_msg(), "not opened"));
	/* Nothing touched the host array passed as device memory. */
	assert_true(h[0] == 1 && h[3] == 4);
	assert_int_equal(G->sync(), SK_ERR_ARG);  /* still unopened */
	assert_non_null(strstr(err_msg(), "sync"));
}

static void
test_open_bad_device(void **state)
{
	(void)state;
	assert_int_equal(G->open(ndev), SK_ERR_IO);
	assert_non_null(strstr(err_msg(), "device"));
	G->close();  /* nothing opened: does nothing */
}

static void
test_memory_ops(void **state)
{
	const size_t n = 1001;
	float *a = host(n, -2, 2), *b = host(n, -2, 2), *z = host(n, 0, 0);
	float *da = dev(a, n), *db = dev(b, n), *dc = G->alloc(n);

	(void)state;
	near("upload/download", da, a, n);
	G->copy(dc, da, n);
	near("copy", dc, a, n);
	G->add(n, da, db);
	C->add(n, a, b);
	near("add", db, b, n);
	G->zero(db, n);
	near("zero", db, z, n);
	G->free(da);
	G->free(db);
	G->free(dc);
	G->free(NULL);
	free(a);
	free(b);
	free(z);
}

static void
test_rows(void **state)
{
	const size_t rows = 10, n = 6, w = 5;
	const int32_t gi[6] = { 7, 2, 2, 9, 0, 5 };   /* repeats allowed */
	const int32_t si[6] = { 3, 8, 0, 6, 1, 4 };   /* distinct */
	float *src = host(rows * w, -1, 1), *dst = host(rows * w, -1, 1);
	float *g = host(n * w, 0, 0);
	float *dsrc = dev(src, rows * w), *ddst = dev(dst, rows * w);
	float *dg = dev(g, n * w);

	(void)state;
	G->gather_rows(n, w, gi, dsrc, dg);
	C->gather_rows(n, w, gi, src, g);
	near("gather_rows", dg, g, n * w);
	G->scatter_rows(n, w, si, dg, ddst);
	C->scatter_rows(n, w, si, g, dst);
	near("scatter_rows", ddst, dst, rows * w);
	G->free(dsrc);
	G->free(ddst);
	G->free(dg);
	free(src);
	free(dst);
	free(g);
}

/* T above the scratch's first size, so it grows. */
static void
test_embed(void **state)
{
	const size_t V = 11, w = 4, T = 3000;
	int32_t *tok = malloc(T * sizeof *tok);
	float *table = host(V * w, -1, 1), *xx = host(T * w, 0, 0);
	float *dx = host(T * w, -1, 1), *dt = host(V * w, -1, 1);
	float *dtable, *dxx, *ddx, *ddt;
	size_t t;

	(void)state;
	assert_non_null(tok);
	for (t = 0; t < T; t++)
		tok[t] = (int32_t)((t * 7 + t / 13) % V);
	dtable = dev(table, V * w);
	dxx = dev(xx, T * w);
	ddx = dev(dx, T * w);
	ddt = dev(dt, V * w);
	G->embed_fwd(T, w, tok, dtable, dxx);
	C->embed_fwd(T, w, tok, table, xx);
	near("embed_fwd", dxx, xx, T * w);
	G->embed_bwd(T, w, tok, ddx, ddt);
	C->embed_bwd(T, w, tok, dx, dt);
	near("embed_bwd (accumulated, repeated tokens)", ddt, dt, V * w);
	G->free(dtable);
	G->free(dxx);
	G->free(ddx);
	G->free(ddt);
	free(tok);
	free(table);
	free(xx);
	free(dx);
	free(dt);
}

static void
test_gemm(void **state)
{
	const size_t m = 13, n = 17, k = 19;
	float *A = host(m * k, -1, 1), *B = host(k * n, -1, 1);
	float *c0 = host(m * n, -1, 1), *c = host(m * n, 0, 0);
	float *dA = dev(A, m * k), *dB = dev(B, k * n), *dC;
	char what[32];
	int ta, tb;

	(void)state;
	for (ta = 0; ta < 2; ta++)
		for (tb = 0; tb < 2; tb++) {
			memcpy(c, c0, m * n * sizeof *c);
			dC = dev(c, m * n);
			G->gemm(ta, tb, m, n, k, 0.7f, dA, dB, 0.3f, dC);
			C->gemm(ta, tb, m, n, k, 0.7f, A, B, 0.3f, c);
			snprintf(what, sizeof what, "gemm ta %d tb %d", ta, tb);
			near(what, dC, c, m * n);
			G->free(dC);
		}
	G->free(dA);
	G->free(dB);
	free(A);
	free(B);
	free(c0);
	free(c);
}

static void
test_rmsnorm(void **state)
{
	const size_t T = 9, d = 64;
	float *x = host(T * d, -2, 2), *w = host(d, 0.5f, 1.5f);
	float *y = host(T * d, 0, 0), *r = host(T, 0, 0);
	float *dy = host(T * d, -1, 1), *dx = host(T * d, 0, 0);
	float *dw = host(d, -1, 1);
	float *gx = dev(x, T * d), *gw = dev(w, d), *gy = dev(y, T * d);
	float *gr = dev(r, T), *gdy = dev(dy, T * d), *gdx = dev(dx, T * d);
	float *gdw = dev(dw, d);

	(void)state;
	G->rmsnorm_fwd(T, d, gx, gw, 1e-6f, gy, gr);
	C->rmsnorm_fwd(T, d, x, w, 1e-6f, y, r);
	near("rmsnorm_fwd y", gy, y, T * d);
	near("rmsnorm_fwd rstd", gr, r, T);
	G->rmsnorm_bwd(T, d, gx, gw, gr, gdy, gdx, gdw);
	C->rmsnorm_bwd(T, d, x, w, r, dy, dx, dw);
	near("rmsnorm_bwd dx", gdx, dx, T * d);
	near("rmsnorm_bwd dw (accumulated)", gdw, dw, d);
	G->free(gx);
	G->free(gw);
	G->free(gy);
	G->free(gr);
	G->free(gdy);
	G->free(gdx);
	G->free(gdw);
	free(x);
	free(w);
	free(y);
	free(r);
	free(dy);
	free(dx);
	free(dw);
}

static void
test_rope(void **state)
{
	const size_t T = 10, nh = 3, hd = 16, n = T * nh * hd;
	int32_t pos[10];
	float *x = host(n, -1, 1), *gx;
	size_t t;

	(void)state;
	for (t = 0; t < T; t++)
		pos[t] = (int32_t)((t * 53) % 500);
	gx = dev(x, n);
	G->rope_fwd(T, nh, hd, pos, 1e4, gx);
	C->rope_fwd(T, nh, hd, pos, 1e4, x);
	near("rope_fwd", gx, x, n);
	G->rope_bwd(T, nh, hd, pos, 1e6, gx);
	C->rope_bwd(T, nh, hd, pos, 1e6, x);
	near("rope_bwd", gx, x, n);
	G->free(gx);
	free(x);
}

static void
test_swiglu(void **state)
{
	const size_t n = 1000;
	float *g = host(n, -4, 4), *u = host(n, -2, 2), *h = host(n, 0, 0);
	float *dh = host(n, -1, 1), *dg = host(n, 0, 0), *du = host(n, 0, 0);
	float *gg = dev(g, n), *gu = dev(u, n), *gh = dev(h, n);
	float *gdh = dev(dh, n), *gdg = dev(dg, n), *gdu = dev(du, n);

	(void)state;
	G->swiglu_fwd(n, gg, gu, gh);
	C->swiglu_fwd(n, g, u, h);
	near("swiglu_fwd", gh, h, n);
	G->swiglu_bwd(n, gg, gu, gdh, gdg, gdu);
	C->swiglu_bwd(n, g, u, dh, dg, du);
	near("swiglu_bwd dg", gdg, dg, n);
	near("swiglu_bwd du", gdu, du, n);
	G->free(gg);
	G->free(gu);
	G->free(gh);
	G->free(gdh);
	G->free(gdg);
	G->free(gdu);
	free(g);
	free(u);
	free(h);
	free(dh);
	free(dg);
	free(du);
}

/*
 * One attention case, forward and backward, on both backends: nseq
 * sequences with offsets cu_q, cu_k (into buffers of tq, tk rows), query
 * positions qpos (indexed by query row).  dq is prefilled with noise
 * (overwritten), dk and dv with values (accumulated into).
 */
static void
attn_case(const char *what, size_t nseq, const int32_t *cu_q,
    const int32_t *cu_k, const int32_t *qpos, size_t tq, size_t tk)
{
	const size_t nh = 4, nkv = 2, hd = 16;
	const size_t nq = tq * nh * hd, nk = tk * nkv * hd;
	float *q = host(nq, -1, 1), *k = host(nk, -1, 1), *v = host(nk, -1, 1);
	float *o = host(nq, 0, 0), *lse = host(tq * nh, 0, 0);
	float *dout = host(nq, -1, 1), *dq = host(nq, -9, 9);
	float *dk = host(nk, -1, 1), *dv = host(nk, -1, 1);
	float *gq = dev(q, nq), *gk = dev(k, nk), *gv = dev(v, nk);
	float *go = dev(o, nq), *gl = dev(lse, tq * nh), *gdo = dev(dout, nq);
	float *gdq = dev(dq, nq), *gdk = dev(dk, nk), *gdv = dev(dv, nk);
	char msg[96];

	G->attn_fwd(nseq, cu_q, cu_k, qpos, nh, nkv, hd, gq, gk, gv, go, gl);
	C->attn_fwd(nseq, cu_q, cu_k, qpos, nh, nkv, hd, q, k, v, o, lse);
	snprintf(msg, sizeof msg, "%s: attn_fwd o", what);
	near(msg, go, o, nq);
	snprintf(msg, sizeof msg, "%s: attn_fwd lse", what);
	near(msg, gl, lse, tq * nh);
	G->attn_bwd(nseq, cu_q, cu_k, qpos, nh, nkv, hd, gq, gk, gv, go, gl,
	    gdo, gdq, gdk, gdv);
	C->attn_bwd(nseq, cu_q, cu_k, qpos, nh, nkv, hd, q, k, v, o, lse, dout,
	    dq, dk, dv);
	snprintf(msg, sizeof msg, "%s: attn_bwd dq", what);
	near(msg, gdq, dq, nq);
	snprintf(msg, sizeof msg, "%s: attn_bwd dk", what);
	near(msg, gdk, dk, nk);
	snprintf(msg, sizeof msg, "%s: attn_bwd dv", what);
	near(msg, gdv, dv, nk);
	G->free(gq);
	G->free(gk);
	G->free(gv);
	G->free(go);
	G->free(gl);
	G->free(gdo);
	G->free(gdq);
	G->free(gdk);
	G->free(gdv);
	free(q);
	free(k);
	free(v);
	free(o);
	free(lse);
	free(dout);
	free(dq);
	free(dk);
	free(dv);
}

/* Packed local samples of 5, 17 and 9 tokens (queries are the keys),
 * whole and the middle one alone (offsets 5 .. 22 of the same rows). */
static void
test_attn_local(void **state)
{
	const int32_t cu[4] = { 0, 5, 22, 31 };
	int32_t pos[31];
	size_t s, t;

	(void)state;
	for (s = 0; s < 3; s++)
		for (t = (size_t)cu[s]; t < (size_t)cu[s + 1]; t++)
			pos[t] = (int32_t)(t - (size_t)cu[s]);
	attn_case("3 local samples", 3, cu, cu, pos, 31, 31);
	attn_case("sample 2 of 3", 1, cu + 1, cu + 1, pos, 31, 31);
}

/*
 * A CP shard: CP rank 0 of 2 holds chunks 0 and 3 of 4 of each sharded
 * sample: of a 24-token sample positions 0..5 and 18..23, of a 16-token
 * one 0..3 and 12..15; its 20 queries attend to the 40 gathered keys.
 */
static void
test_attn_shard(void **state)
{
	const int32_t cu_q[3] = { 0, 12, 20 }, cu_k[3] = { 0, 24, 40 };
	int32_t qpos[20];
	int i;

	(void)state;
	for (i = 0; i < 6; i++) {
		qpos[i] = i;
		qpos[6 + i] = 18 + i;
	}
	for (i = 0; i < 4; i++) {
		qpos[12 + i] = i;
		qpos[16 + i] = 12 + i;
	}
	attn_case("CP shard", 2, cu_q, cu_k, qpos, 20, 40);
}

static void
test_xent(void **state)
{
	const size_t T = 7, V = 50;
	const int32_t tgt[7] = { 3, 49, -1, 0, 17, 17, 8 };
	float *lg = host(T * V, -5, 5), *glg = dev(lg, T * V);
	double want, got;

	(void)state;
	/* In place: dlogits over the logits, as the executor calls it. */
	got = G->xent(T, V, glg, tgt, 1.0f / 6, glg);
	want = C->xent(T, V, lg, tgt, 1.0f / 6, lg);
	assert_int_equal(G->sync(), SK_OK);
	if (!(fabs(got - want) <= TOL * fabs(want)))
		fail_msg("xent loss %.9g, the CPU's %.9g", got, want);
	near("xent dlogits (ignored row zero)", glg, lg, T * V);
	G->free(glg);
	free(lg);
}

static void
test_adamw(void **state)
{
	const size_t n = 1000;
	float *p = host(n, -1, 1), *g = host(n, -1, 1);
	float *m = host(n, -0.1f, 0.1f), *v = host(n, 0, 0.01f);
	float *gp = dev(p, n), *gg = dev(g, n), *gm = dev(m, n), *gv = dev(v, n);

	(void)state;
	G->adamw(n, gp, gg, gm, gv, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 3);
	C->adamw(n, p, g, m, v, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 3);
	near("adamw p", gp, p, n);
	near("adamw m", gm, m, n);
	near("adamw v", gv, v, n);
	G->free(gp);
	G->free(gg);
	G->free(gm);
	G->free(gv);
	free(p);
	free(g);
	free(m);
	free(v);
}

/* Nested opens on the open device are counted; another device is
 * refused. */
static void
test_nested_open(void **state)
{
	(void)state;
	assert_int_equal(G->open(0), SK_OK);
	G->close();
	assert_int_equal(G->open(ndev), SK_ERR_ARG);
	assert_int_equal(G->sync(), SK_OK);  /* still open */
}

#define DEV(t) cmocka_unit_test_setup_teardown(t, gpu_setup, gpu_teardown)

int
main(void)
{
	/* One group (one TAP plan): the host tests first, on a thread that
	 * has not opened the backend; each device test opens and closes. */
	const struct CMUnitTest host_tests[] = {
		cmocka_unit_test(test_unopened),
		cmocka_unit_test(test_open_bad_device),
	};
	const struct CMUnitTest all_tests[] = {
		cmocka_unit_test(test_unopened),
		cmocka_unit_test(test_open_bad_device),
		DEV(test_memory_ops),
		DEV(test_rows),
		DEV(test_embed),
		DEV(test_gemm),
		DEV(test_rmsnorm),
		DEV(test_rope),
		DEV(test_swiglu),
		DEV(test_attn_local),
		DEV(test_attn_shard),
		DEV(test_xent),
		DEV(test_adamw),
		DEV(test_nested_open),
	};

	kcuda_device_count(&ndev);
	if (ndev > 0)
		return cmocka_run_group_tests(all_tests, NULL, NULL);
	printf("# no CUDA device: the device tests run in tests/gpu/check.sh\n");
	return cmocka_run_group_tests(host_tests, NULL, NULL);
}
