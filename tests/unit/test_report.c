/* Unit tests of report: aggregates worked by hand, the JSON, OOMs, errors. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "json.h"
#include "report.h"
#include "tutil.h"

/*
 * The hand-built run: 2 GPUs, 4 iterations starting at plan iteration 10,
 * on GPUs of 1e15 FLOP/s peak whose best GEMM reaches half of it.
 *
 *   it  time  tokens  model FLOPs  GPU 0 busy/comm/wait  GPU 1 busy/comm/wait
 *   10  2.5   3000    0.6e15       2.0  0.25 0.25        1.5  0.5  0.5
 *   11  1.5   1000    0.3e15       1.0  0.25 0.25        1.25 0    0.25
 *   12  4.0   5000    1.2e15       3.0  0.5  0.5         2.5  1.0  0.5
 *   13  2.0   1000    0.4e15       1.5  0.25 0.25        1.0  0.5  0.5
 *
 * Each GPU's busy + comm + wait is its iteration's time, as the simulator
 * makes it.  FLOPs executed (with recompute), GPU 0 + GPU 1:
 * 0.4e15 + 0.4e15, 0.2e15 + 0.2e15, 0.9e15 + 0.7e15, 0.3e15 + 0.3e15.
 * Peak memory, GBytes: 30, 41; 25, 27; 78, 80.5; 33, 35.
 */
static const double t_time[4] = { 2.5, 1.5, 4.0, 2.0 };
static const uint64_t t_tokens[4] = { 3000, 1000, 5000, 1000 };
static const double t_mflops[4] = { 0.6e15, 0.3e15, 1.2e15, 0.4e15 };
static const double t_cell[4][2][5] = {
	{ { 2.0, 0.25, 0.25, 0.4e15, 30e9 }, { 1.5, 0.5, 0.5, 0.4e15, 41e9 } },
	{ { 1.0, 0.25, 0.25, 0.2e15, 25e9 }, { 1.25, 0, 0.25, 0.2e15, 27e9 } },
	{ { 3.0, 0.5, 0.5, 0.9e15, 78e9 }, { 2.5, 1.0, 0.5, 0.7e15, 80.5e9 } },
	{ { 1.5, 0.25, 0.25, 0.3e15, 33e9 }, { 1.0, 0.5, 0.5, 0.3e15, 35e9 } },
};

static void
make_job(struct job *j)
{
	tutil_job(j, 1, 4, 2, 4096);
	j->cluster.gpu.peak_flops = 1e15;
	j->cluster.eff.gemm_max = 0.5;
}

static void
make_report(struct report *r)
{
	size_t it;
	int g;

	assert_int_equal(report_alloc(r, "sim", 2, 10, 4), SK_OK);
	for (it = 0; it < 4; it++) {
		r->time[it] = t_time[it];
		r->tokens[it] = t_tokens[it];
		r->model_flops[it] = t_mflops[it];
		for (g = 0; g < 2; g++) {
			struct report_cell *c = report_cell(r, it, g);

			c->busy = t_cell[it][g][0];
			c->comm = t_cell[it][g][1];
			c->wait = t_cell[it][g][2];
			c->flops = t_cell[it][g][3];
			c->peak = t_cell[it][g][4];
		}
	}
}

static void
test_alloc_zeroed(void **state)
{
	struct report r;
	size_t it;
	int g;

	assert_int_equal(report_alloc(&r, "run", 3, 7, 5), SK_OK);
	assert_string_equal(r.source, "run");
	assert_int_equal(r.ngpus, 3);
	assert_int_equal(r.first, 7);
	assert_int_equal(r.niter, 5);
	assert_int_equal(r.noom, 0);
	for (it = 0; it < 5; it++) {
		assert_true(r.time[it] == 0 && r.tokens[it] == 0 &&
		    r.model_flops[it] == 0);
		for (g = 0; g < 3; g++) {
			struct report_cell *c = report_cell(&r, it, g);

			assert_true(c->busy == 0 && c->comm == 0 && c->wait == 0 &&
			    c->flops == 0 && c->peak == 0);
		}
	}
	/* row-major by iteration: cell (1, 2) is the sixth */
	assert_ptr_equal(report_cell(&r, 1, 2), &r.cell[5]);
	report_free(&r);
	assert_null(r.time);
	assert_int_equal(r.niter, 0);
	/* freeing twice is harmless */
	report_free(&r);
}

static void
test_aggregates(void **state)
{
	struct report r;
	struct job j;

	make_job(&j);
	make_report(&r);
	assert_int_equal(report_finish(&r, &j), SK_OK);
	/* 2.5 + 1.5 + 4.0 + 2.0 = 10 s; mean 10 / 4 */
	assert_near(r.total, 10.0, 1e-12);
	assert_near(r.mean, 2.5, 1e-12);
	/*
	 * Sorted times x0..x3 = 1.5, 2.0, 2.5, 4.0.  Quantile f: d = f (n - 1)
	 * = 3f, i = floor(d), x_i + (d - i)(x_{i+1} - x_i):
	 *   p50: d = 1.5:  2.0 + 0.5 x 0.5 = 2.25
	 *   p95: d = 2.85: 2.5 + 0.85 x 1.5 = 3.775
	 *   p99: d = 2.97: 2.5 + 0.97 x 1.5 = 3.955
	 */
	assert_near(r.p50, 2.25, 1e-12);
	assert_near(r.p95, 3.775, 1e-12);
	assert_near(r.p99, 3.955, 1e-12);
	/* the input is left in iteration order */
	assert_true(r.time[0] == 2.5 && r.time[1] == 1.5);
	/* 10000 tokens / 10 s */
	assert_near(r.tokens_per_s, 1000.0, 1e-9);
	/* model FLOPs 2.5e15 / (10 s x 2 GPUs x 1e15 FLOP/s) */
	assert_near(r.mfu, 0.125, 1e-12);
	/*
	 * Ideal iteration: its FLOPs / (2 x 1e15 x 0.5) = FLOPs / 1e15 s:
	 * 0.8, 0.4, 1.6, 0.6 s, mean 3.4 / 4 = 0.85 s; distance 2.5 / 0.85.
	 */
	assert_near(r.ideal, 0.85, 1e-12);
	assert_near(r.ideal_ratio, 2.5 / 0.85, 1e-12);
	assert_near(r.ideal_ratio, 2.9411764705882355, 1e-12);
	assert_near(r.peak_max, 80.5e9, 0);
	/*
	 * GPU time: 10 s x 2 = 20 s.  busy 2 + 1.5 + 1 + 1.25 + 3 + 2.5 + 1.5
	 * + 1 = 13.75; comm .25 + .5 + .25 + 0 + .5 + 1 + .25 + .5 = 3.25;
	 * wait .25 + .5 + .25 + .25 + .5 + .5 + .25 + .5 = 3.
	 */
	assert_near(r.busy_frac, 13.75 / 20, 1e-12);
	assert_near(r.comm_frac, 3.25 / 20, 1e-12);
	assert_near(r.wait_frac, 3.0 / 20, 1e-12);
	assert_near(r.busy_frac + r.comm_frac + r.wait_frac, 1.0, 1e-12);
	report_free(&r);
}

static void
test_one_iteration(void **state)
{
	struct report r;
	struct job j;

	/* One iteration: every quantile is its time. */
	make_job(&j);
	assert_int_equal(report_alloc(&r, "sim", 1, 0, 1), SK_OK);
	r.time[0] = 0.375;
	r.tokens[0] = 12288;
	r.model_flops[0] = 0.09e15;
	report_cell(&r, 0, 0)->busy = 0.375;
	report_cell(&r, 0, 0)->flops = 0.12e15;
	assert_int_equal(report_finish(&r, &j), SK_OK);
	assert_near(r.p50, 0.375, 0);
	assert_near(r.p95, 0.375, 0);
	assert_near(r.p99, 0.375, 0);
	/* 12288 / 0.375 = 32768 tokens/s; 0.09e15 / (0.375 x 1e15) = 0.24;
	 * ideal 0.12e15 / 0.5e15 = 0.24 s, ratio 0.375 / 0.24 = 1.5625 */
	assert_near(r.tokens_per_s, 32768, 1e-9);
	assert_near(r.mfu, 0.24, 1e-12);
	assert_near(r.ideal, 0.24, 1e-12);
	assert_near(r.ideal_ratio, 1.5625, 1e-12);
	assert_near(r.busy_frac, 1, 1e-12);
	report_free(&r);
}

static void
test_degenerate(void **state)
{
	struct report r;
	struct job j;

	/* No time and no work: the ratios are 0, not NaN. */
	make_job(&j);
	assert_int_equal(report_alloc(&r, "sim", 2, 0, 2), SK_OK);
	assert_int_equal(report_finish(&r, &j), SK_OK);
	assert_true(r.tokens_per_s == 0 && r.mfu == 0 && r.ideal == 0 &&
	    r.ideal_ratio == 0 && r.busy_frac == 0 && r.comm_frac == 0 &&
	    r.wait_frac == 0 && r.mean == 0 && r.p99 == 0);
	report_free(&r);
}

static const cJSON *
item(const cJSON *o, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	if (it == NULL)
		fail_msg("no member %s", key);
	return it;
}

static double
num(const cJSON *o, const char *key)
{
	const cJSON *it = item(o, key);

	assert_true(cJSON_IsNumber(it));
	return it->valuedouble;
}

/* Render obj and parse it back, as a reader of the file would. */
static cJSON *
round_trip(const cJSON *obj)
{
	char *text = cJSON_PrintUnformatted(obj);
	cJSON *back;

	assert_non_null(text);
	back = cJSON_Parse(text);
	free(text);
	assert_non_null(back);
	return back;
}

static void
test_json(void **state)
{
	struct report r;
	struct job j;
	cJSON *obj, *back;
	const cJSON *s, *iters, *it, *gpus, *g, *ooms;
	int k;

	make_job(&j);
	make_report(&r);
	/* Bounds 2.0, 1.5, 2.5, 2.0 s: mean 8 / 4 = 2.0, against the mean
	 * time 2.5: ratio 1.25. */
	r.bounds[0] = 2.0;
	r.bounds[1] = 1.5;
	r.bounds[2] = 2.5;
	r.bounds[3] = 2.0;
	assert_int_equal(report_add_oom(&r, 12, 1, 90e9, 80.5e9), SK_OK);
	assert_int_equal(report_finish(&r, &j), SK_OK);
	obj = cJSON_CreateObject();
	assert_int_equal(report_to_json(&r, obj, 1), SK_OK);
	back = round_trip(obj);
	cJSON_Delete(obj);

	assert_string_equal(cJSON_GetStringValue(item(back, "format")),
	    "skrull-report");
	assert_near(num(back, "version"), REPORT_VERSION, 0);
	assert_string_equal(cJSON_GetStringValue(item(back, "source")), "sim");
	s = item(back, "summary");
	assert_near(num(s, "gpus"), 2, 0);
	assert_near(num(s, "first"), 10, 0);
	assert_near(num(s, "iterations"), 4, 0);
	assert_near(num(s, "tokens"), 10000, 0);
	assert_near(num(s, "model_flops"), 2.5e15, 1);
	assert_near(num(s, "mean"), 2.5, 1e-12);
	assert_near(num(s, "p50"), 2.25, 1e-12);
	assert_near(num(s, "p95"), 3.775, 1e-12);
	assert_near(num(s, "p99"), 3.955, 1e-12);
	assert_near(num(s, "total"), 10, 1e-12);
	assert_near(num(s, "tokens_per_s"), 1000, 1e-9);
	assert_near(num(s, "mfu"), 0.125, 1e-12);
	assert_near(num(s, "ideal"), 0.85, 1e-12);
	assert_near(num(s, "ideal_ratio"), 2.5 / 0.85, 1e-12);
	assert_near(num(s, "bound"), 2.0, 1e-12);
	assert_near(num(s, "bound_ratio"), 1.25, 1e-12);
	assert_near(num(s, "peak_max"), 80.5e9, 0);
	assert_near(num(s, "busy_frac"), 0.6875, 1e-12);
	assert_near(num(s, "comm_frac"), 0.1625, 1e-12);
	assert_near(num(s, "wait_frac"), 0.15, 1e-12);
	assert_near(num(s, "oom_count"), 1, 0);
	assert_int_equal(cJSON_GetArraySize(s), 21);

	iters = item(back, "iterations");
	assert_int_equal(cJSON_GetArraySize(iters), 4);
	it = cJSON_GetArrayItem(iters, 2);
	assert_near(num(it, "index"), 12, 0);
	assert_near(num(it, "time"), 4.0, 0);
	assert_near(num(it, "tokens"), 5000, 0);
	assert_near(num(it, "bound"), 2.5, 0);
	gpus = item(it, "gpus");
	assert_int_equal(cJSON_GetArraySize(gpus), 2);
	for (k = 0; k < 2; k++) {
		g = cJSON_GetArrayItem(gpus, k);
		assert_near(num(g, "busy"), t_cell[2][k][0], 0);
		assert_near(num(g, "comm"), t_cell[2][k][1], 0);
		assert_near(num(g, "wait"), t_cell[2][k][2], 0);
		assert_near(num(g, "flops"), t_cell[2][k][3], 0);
		assert_near(num(g, "peak"), t_cell[2][k][4], 0);
	}
	ooms = item(back, "ooms");
	assert_int_equal(cJSON_GetArraySize(ooms), 1);
	g = cJSON_GetArrayItem(ooms, 0);
	assert_near(num(g, "iter"), 12, 0);
	assert_near(num(g, "gpu"), 1, 0);
	assert_near(num(g, "need"), 90e9, 0);
	assert_near(num(g, "avail"), 80.5e9, 0);
	cJSON_Delete(back);

	/* Without per_gpu the iterations carry no "gpus". */
	obj = cJSON_CreateObject();
	assert_int_equal(report_to_json(&r, obj, 0), SK_OK);
	it = cJSON_GetArrayItem(item(obj, "iterations"), 0);
	assert_null(cJSON_GetObjectItemCaseSensitive(it, "gpus"));
	assert_near(num(it, "index"), 10, 0);
	assert_near(num(it, "time"), 2.5, 0);
	cJSON_Delete(obj);
	report_free(&r);
}

static void
test_oom_list(void **state)
{
	struct report r;
	struct job j;
	cJSON *obj;
	const cJSON *ooms, *o;
	size_t i;

	/* 1100 OOMs: the array grows past its first sizes; the JSON lists
	 * the first 1000 and counts all. */
	make_job(&j);
	make_report(&r);
	for (i = 0; i < 1100; i++)
		assert_int_equal(report_add_oom(&r, 10 + i % 4, (int)(i % 2),
		    1e9 + (double)i, 7e8), SK_OK);
	assert_int_equal(r.noom, 1100);
	assert_true(r.cap_oom >= 1100);
	assert_int_equal(r.oom[1099].iter, 10 + 1099 % 4);
	assert_int_equal(r.oom[1099].gpu, 1);
	assert_near(r.oom[1099].need, 1e9 + 1099, 0);
	assert_int_equal(report_finish(&r, &j), SK_OK);
	obj = cJSON_CreateObject();
	assert_int_equal(report_to_json(&r, obj, 0), SK_OK);
	ooms = item(obj, "ooms");
	assert_int_equal(cJSON_GetArraySize(ooms), 1000);
	o = cJSON_GetArrayItem(ooms, 999);
	assert_near(num(o, "iter"), 10 + 999 % 4, 0);
	assert_near(num(o, "gpu"), 1, 0);
	assert_near(num(o, "need"), 1e9 + 999, 0);
	assert_near(num(o, "avail"), 7e8, 0);
	assert_near(num(item(obj, "summary"), "oom_count"), 1100, 0);
	cJSON_Delete(obj);

	/* outside the GPUs or the reported iterations */
	assert_int_equal(report_add_oom(&r, 11, 2, 1, 1), SK_ERR_ARG);
	assert_int_equal(report_add_oom(&r, 11, -1, 1, 1), SK_ERR_ARG);
	assert_int_equal(report_add_oom(&r, 9, 0, 1, 1), SK_ERR_ARG);
	assert_int_equal(report_add_oom(&r, 14, 0, 1, 1), SK_ERR_ARG);
	assert_non_null(strstr(err_msg(), "iteration 14"));
	assert_int_equal(r.noom, 1100);
	report_free(&r);
	assert_null(r.oom);
	assert_int_equal(r.cap_oom, 0);
}

static void
test_errors(void **state)
{
	struct report r;
	struct job j;

	make_job(&j);
	assert_int_equal(report_alloc(&r, "sim", 0, 0, 4), SK_ERR_ARG);
	assert_int_equal(report_alloc(&r, "simulated", 2, 0, 4), SK_ERR_ARG);
	assert_int_equal(report_alloc(&r, "sim", 2, 0, SIZE_MAX / 2),
	    SK_ERR_NOMEM);
	assert_null(r.time);

	/* an empty report has nothing to summarise */
	assert_int_equal(report_alloc(&r, "sim", 2, 0, 0), SK_OK);
	assert_int_equal(report_finish(&r, &j), SK_ERR_ARG);
	assert_non_null(strstr(err_msg(), "no iterations"));
	report_free(&r);

	make_report(&r);
	j.cluster.gpu.peak_flops = 0;
	assert_int_equal(report_finish(&r, &j), SK_ERR_ARG);
	make_job(&j);
	j.cluster.eff.gemm_max = 0;
	assert_int_equal(report_finish(&r, &j), SK_ERR_ARG);
	make_job(&j);
	r.time[3] = -0.5;
	assert_int_equal(report_finish(&r, &j), SK_ERR_RANGE);
	assert_non_null(strstr(err_msg(), "iteration 13: time"));
	r.time[3] = 2.0;
	report_cell(&r, 1, 1)->comm = NAN;
	assert_int_equal(report_finish(&r, &j), SK_ERR_RANGE);
	assert_non_null(strstr(err_msg(), "iteration 11: comm"));
	report_free(&r);
}

/* Write r as JSON to name in the temporary directory; its path. */
static const char *
save(const struct report *r, const char *name)
{
	cJSON *obj = cJSON_CreateObject();
	const char *path = tutil_path(name);

	assert_non_null(obj);
	assert_int_equal(report_to_json(r, obj, 0), SK_OK);
	assert_int_equal(json_save(path, obj, 0), SK_OK);
	cJSON_Delete(obj);
	return path;
}

/* The communicator and "emulated" go to the file and come back; a report
 * without them (a simulation's, an older run's) reads as none. */
static void
test_read_comm(void **state)
{
	struct report r, back;
	struct job j;
	const char *path;
	char *text, *em;
	size_t n;

	make_job(&j);
	make_report(&r);
	assert_int_equal(report_finish(&r, &j), SK_OK);
	report_init(&back);
	path = save(&r, "sim.json");
	text = tutil_slurp(path, &n);
	assert_null(strstr(text, "communication"));
	free(text);
	assert_int_equal(report_read(path, &back), SK_OK);
	assert_string_equal(back.comm, "");
	assert_int_equal(back.emulated, 0);

	strcpy(r.comm, "loop");
	r.emulated = 1;
	path = save(&r, "loop.json");
	text = tutil_slurp(path, &n);
	assert_non_null(strstr(text, "\"communication\":{\"communicator\":"
	    "\"loop\",\"emulated\":true}"));
	free(text);
	assert_int_equal(report_read(path, &back), SK_OK);
	assert_string_equal(back.comm, "loop");
	assert_int_equal(back.emulated, 1);
	assert_near(back.mean, r.mean, 1e-12);

	strcpy(r.comm, "mpi");
	r.emulated = 0;
	assert_int_equal(report_read(save(&r, "mpi.json"), &back), SK_OK);
	assert_string_equal(back.comm, "mpi");
	assert_int_equal(back.emulated, 0);

	/* "emulated" dropped from a valid file. */
	strcpy(r.comm, "loop");
	r.emulated = 1;
	text = tutil_slurp(save(&r, "bad.json"), &n);
	/* the member's own true (the model's qkv_bias comes before) */
	em = strstr(text, ",\"emulated\"");
	memmove(em, strstr(em, "true}") + 4, strlen(strstr(em, "true}") + 4) +
	    1);
	path = tutil_put("bad.json", text);
	free(text);
	assert_int_equal(report_read(path, &back), SK_ERR_FORMAT);
	assert_non_null(strstr(err_msg(), "communication"));
	assert_non_null(strstr(err_msg(), "emulated"));
	report_free(&back);
	report_free(&r);
}

/* The model's shape: report_finish takes the job's, written and read
 * back (version 2); a version 1 report has none, and a version 2 report
 * without one is refused. */
static void
test_read_model(void **state)
{
	struct report r, back;
	struct job j;
	const char *path;
	char *text, *v;
	size_t n;

	(void)state;
	make_job(&j);
	/* a scaled shape: 40 wide, 3 layers, 4 heads of 10 over 2 */
	j.model.hidden = 40;
	j.model.layers = 3;
	j.model.heads = 4;
	j.model.kv_heads = 2;
	j.model.head_dim = 10;
	j.model.ffn = 88;
	j.model.vocab = 1009;
	make_report(&r);
	assert_int_equal(r.model_known, 0);
	assert_int_equal(report_finish(&r, &j), SK_OK);
	assert_int_equal(r.model_known, 1);
	report_init(&back);
	path = save(&r, "model.json");
	assert_int_equal(report_read(path, &back), SK_OK);
	assert_int_equal(back.model_known, 1);
	assert_string_equal(back.model.name, j.model.name);
	assert_true(model_same_shape(&back.model, &j.model));
	assert_true(back.model.hidden == 40 && back.model.layers == 3 &&
	    back.model.heads == 4 && back.model.kv_heads == 2 &&
	    back.model.head_dim == 10 && back.model.ffn == 88 &&
	    back.model.vocab == 1009);
	j.model.vocab = 1013;
	assert_false(model_same_shape(&back.model, &j.model));

	/* version 1, no model: read, the shape unknown */
	text = tutil_slurp(path, &n);
	assert_non_null(v = strstr(text, "\"version\":2"));
	v[10] = '1';
	memmove(strstr(text, ",\"model\":{"), strstr(text, "}") + 1,
	    strlen(strstr(text, "}") + 1) + 1);
	assert_null(strstr(text, "\"model\""));
	path = tutil_put("v1.json", text);
	assert_int_equal(report_read(path, &back), SK_OK);
	assert_int_equal(back.model_known, 0);
	assert_near(back.mean, r.mean, 1e-12);
	/* version 2 without it: refused, naming the member */
	v = strstr(text, "\"version\":1");
	v[10] = '2';
	path = tutil_put("v2.json", text);
	assert_int_equal(report_read(path, &back), SK_ERR_FORMAT);
	assert_non_null(strstr(err_msg(), "model"));
	free(text);
	report_free(&back);
	report_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_zeroed),
		cmocka_unit_test(test_aggregates),
		cmocka_unit_test(test_one_iteration),
		cmocka_unit_test(test_degenerate),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_oom_list),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_read_comm),
		cmocka_unit_test(test_read_model),
	};

	return cmocka_run_group_tests(tests, tutil_setup_tmp,
	    tutil_teardown_tmp);
}
