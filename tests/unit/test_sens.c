/*
 * Unit tests of sens: the sweeps' x values worked by hand, the CSV of a
 * hand-made curve line by line, and both sweeps run with the real
 * tune_score on a small configuration (Qwen2.5-0.5B on one node of 4
 * H100s, CP 4, a 64-sample random trace): BucketSizes above the memory
 * model's maximum run out of memory and those below do not, speed-ups
 * are baseline / mean, a given baseline gives the same curve, the CSV
 * and the figure follow the curve.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cost.h"
#include "err.h"
#include "sens.h"
#include "tune.h"
#include "tutil.h"

static void
test_bucket_xs(void **state)
{
	/* bucket_max 26000 (the paper's 0.5B BucketSize): from 6500 to
	 * 33800 in 9 steps of 27300 / 9 = 3033.33, rounded. */
	static const uint32_t want[SENS_BUCKET_POINTS] = { 6500, 9533,
	    12567, 15600, 18633, 21667, 24700, 27733, 30767, 33800 };
	/* bucket_max 3: max(0.75, 1) = 1 to 3.9 by 0.3222: 1, 1.32, 1.64,
	 * 1.97, 2.29, 2.61, 2.93, 3.26, 3.58, 3.9, rounded. */
	static const uint32_t want3[SENS_BUCKET_POINTS] = { 1, 1, 2, 2, 2, 3,
	    3, 3, 4, 4 };
	uint32_t x[SENS_BUCKET_POINTS];
	int i;

	assert_int_equal(sens_bucket_xs(26000, x), SK_OK);
	for (i = 0; i < SENS_BUCKET_POINTS; i++)
		assert_int_equal(x[i], want[i]);
	assert_int_equal(sens_bucket_xs(3, x), SK_OK);
	for (i = 0; i < SENS_BUCKET_POINTS; i++)
		assert_int_equal(x[i], want3[i]);
	assert_int_equal(sens_bucket_xs(0, x), SK_ERR_ARG);
}

static void
expect_batch(int batch, const int *want, size_t n)
{
	int x[SENS_MAX_POINTS];
	size_t got, i;

	assert_int_equal(sens_batch_xs(batch, x, &got), SK_OK);
	assert_int_equal(got, n);
	for (i = 0; i < n; i++)
		assert_int_equal(x[i], want[i]);
}

static void
test_batch_xs(void **state)
{
	static const int w64[] = { 8, 16, 32, 64, 128 };
	static const int w12[] = { 1, 3, 6, 12, 24 };   /* floors of 1.5.. */
	static const int w4[] = { 1, 2, 4, 8, 16 };     /* 4/8 < 1 dropped,
	                                                   16 = 4 x 4 added */
	static const int w1[] = { 1, 2, 4, 8, 16 };
	int x[SENS_MAX_POINTS];
	size_t n;

	expect_batch(64, w64, 5);
	expect_batch(12, w12, 5);
	expect_batch(4, w4, 5);
	expect_batch(1, w1, 5);
	assert_int_equal(sens_batch_xs(0, x, &n), SK_ERR_ARG);
}

static void
test_csv(void **state)
{
	/* Three points: the third OOM; the second not comparable. */
	static const char want[] =
	    "x,mean_s,ci_lo_s,ci_hi_s,baseline_s,speedup,oom\n"
	    "8000,2.5,2.375,2.625,10,4,0\n"
	    "16000,nan,nan,nan,10,nan,0\n"
	    "24000,1.6,1.5,1.7,10,6.25,1\n";
	struct sens_curve c;
	const char *path = tutil_path("bucket.csv");
	char *text;
	size_t n;

	memset(&c, 0, sizeof c);
	c.kind = SENS_BUCKET;
	c.n = 3;
	c.p[0] = (struct sens_point){ 8000, 2.5, 2.375, 2.625, 10, 4, 0 };
	c.p[1] = (struct sens_point){ 16000, NAN, NAN, NAN, 10, NAN, 0 };
	c.p[2] = (struct sens_point){ 24000, 1.6, 1.5, 1.7, 10, 6.25, 1 };
	c.boundary = 2;
	assert_near(sens_boundary(&c), 24000, 0);
	assert_int_equal(sens_write_csv(path, &c), SK_OK);
	text = tutil_slurp(path, &n);
	assert_string_equal(text, want);
	free(text);

	c.boundary = c.n;
	assert_true(isnan(sens_boundary(&c)));
	assert_int_equal(sens_write_csv(tutil_path("no/dir.csv"), &c),
	    SK_ERR_IO);
	assert_non_null(strstr(err_msg(), "no/dir.csv"));
}

/* A reproducible pseudo-random integer in [lo, hi] (a 64-bit LCG). */
static uint32_t
draw(uint64_t *s, uint32_t lo, uint32_t hi)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return lo + (uint32_t)((*s >> 33) % (hi - lo + 1));
}

#define NSAMPLES 64

/*
 * The winner: skrull on Qwen2.5-0.5B, one node of 4 H100s as DP 1 x CP 4,
 * 16 samples per iteration, at the memory model's BucketSize B.  Sample
 * lengths are uniform in [B / 16, B]: every sample fits whole at B (and
 * sharded at B / 4 x CP 4 = B, so the low BucketSizes drop none), and 16
 * of them, about 8.5 B tokens, fill the 4 ranks' buckets twice over.
 */
static void
setup(struct tune_candidate *w, struct trace *t, struct tune_opts *o)
{
	uint32_t len[NSAMPLES];
	uint64_t s = 20250519;
	size_t i;

	memset(w, 0, sizeof *w);
	tutil_job(&w->job, 1, 16, 4, 1);
	w->job.cluster.nodes = 1;
	w->job.cluster.gpus_per_node = 4;
	w->bucket_max = cost_bucket(&w->job);
	assert_true(w->bucket_max > 1000);
	w->job.bucket = w->bucket_max;
	w->bucket_lo = 1;
	snprintf(w->policy, sizeof w->policy, "skrull");
	sched_params_default(&w->sp);
	for (i = 0; i < NSAMPLES; i++)
		len[i] = draw(&s, w->bucket_max / 16, w->bucket_max);
	tutil_trace(t, len, NSAMPLES);
	tune_opts_default(o);
	o->seed = 7;
	o->chunk = 4;
	o->min_batches = 4;
	o->max_batches = 8;
	o->threads = 4;
}

static void
count_progress(void *ctx, size_t done, size_t total, double best,
               double elapsed)
{
	size_t *calls = ctx;

	assert_true(done >= 1 && done <= total);
	(*calls)++;
}

static void
test_bucket_sweep(void **state)
{
	struct tune_candidate w, base;
	struct sens_curve c, c2;
	struct trace t;
	struct tune_opts o;
	uint32_t x[SENS_BUCKET_POINTS];
	const char *path = tutil_path("sweep.csv");
	char *text, *line, want[256];
	size_t i, n, calls = 0;

	setup(&w, &t, &o);
	o.progress = count_progress;
	o.ctx = &calls;
	assert_int_equal(sens_bucket(&w, NULL, &t, &o, &c), SK_OK);
	/* 10 scores and the baseline. */
	assert_int_equal(calls, SENS_BUCKET_POINTS + 1);
	assert_int_equal(c.kind, SENS_BUCKET);
	assert_int_equal(c.n, SENS_BUCKET_POINTS);
	assert_int_equal(sens_bucket_xs(w.bucket_max, x), SK_OK);
	/* From B / 4 to 1.3 B, as test_bucket_xs works out. */
	assert_near(c.p[0].x, w.bucket_max / 4.0, 0.5);
	assert_near(c.p[9].x, 1.3 * w.bucket_max, 0.5);
	for (i = 0; i < c.n; i++) {
		assert_near(c.p[i].x, x[i], 0);
		/* Beyond the memory model's maximum a rank holds more
		 * activations than fit: OOM.  At or below it, none. */
		assert_int_equal(c.p[i].oom, x[i] > w.bucket_max);
		assert_true(c.p[i].mean > 0);
		assert_true(c.p[i].ci_lo <= c.p[i].mean &&
		    c.p[i].mean <= c.p[i].ci_hi);
		/* One baseline for the whole sweep. */
		assert_near(c.p[i].baseline, c.p[0].baseline, 0);
		assert_near(c.p[i].speedup, c.p[i].baseline / c.p[i].mean,
		    0);
	}
	assert_true(c.p[0].baseline > 0);
	/* More room to schedule: the largest feasible BucketSize beats the
	 * smallest. */
	assert_true(c.p[6].mean < c.p[0].mean);
	assert_true(c.boundary < c.n);
	assert_true(x[c.boundary] > w.bucket_max &&
	    x[c.boundary - 1] <= w.bucket_max);
	assert_near(sens_boundary(&c), x[c.boundary], 0);

	/* The baseline scored by the caller gives the same curve. */
	memset(&base, 0, sizeof base);
	base.job = w.job;
	base.sp = w.sp;
	base.bucket_max = w.bucket_max;
	snprintf(base.policy, sizeof base.policy, "deepspeed");
	assert_int_equal(tune_score(&base, &t, &o, 0), SK_OK);
	o.progress = NULL;
	assert_int_equal(sens_bucket(&w, &base, &t, &o, &c2), SK_OK);
	assert_near(c2.p[0].baseline, c.p[0].baseline, 0);
	for (i = 0; i < c.n; i++) {
		assert_near(c2.p[i].mean, c.p[i].mean, 0);
		assert_near(c2.p[i].speedup, c.p[i].speedup, 0);
	}

	/* The CSV, line by line. */
	assert_int_equal(sens_write_csv(path, &c), SK_OK);
	text = tutil_slurp(path, &n);
	line = strtok(text, "\n");
	assert_string_equal(line,
	    "x,mean_s,ci_lo_s,ci_hi_s,baseline_s,speedup,oom");
	for (i = 0; i < c.n; i++) {
		line = strtok(NULL, "\n");
		assert_non_null(line);
		snprintf(want, sizeof want, "%u,%.10g,%.10g,%.10g,%.10g,%.10g,"
		    "%d", x[i], c.p[i].mean, c.p[i].ci_lo, c.p[i].ci_hi,
		    c.p[i].baseline, c.p[i].speedup, x[i] > w.bucket_max);
		assert_string_equal(line, want);
	}
	assert_null(strtok(NULL, "\n"));
	free(text);
	trace_free(&t);
}

/* Occurrences of needle in s. */
static size_t
count_of(const char *s, const char *needle)
{
	size_t n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += strlen(needle);
	}
	return n;
}

static void
test_batch_sweep(void **state)
{
	static const double want[] = { 2, 4, 8, 16, 32 };
	struct tune_candidate w;
	struct sens_curve bucket, batch;
	struct trace t;
	struct tune_opts o;
	const char *path = tutil_path("sens.svg");
	char *svg;
	size_t i, n;

	setup(&w, &t, &o);
	assert_int_equal(sens_batch(&w, NULL, &t, &o, &batch), SK_OK);
	assert_int_equal(batch.kind, SENS_BATCH);
	/* 16 / 8 to 2 x 16 in powers of 2. */
	assert_int_equal(batch.n, 5);
	for (i = 0; i < batch.n; i++) {
		assert_near(batch.p[i].x, want[i], 0);
		/* The memory model's BucketSize never runs out. */
		assert_int_equal(batch.p[i].oom, 0);
		assert_true(batch.p[i].baseline > 0);
		assert_near(batch.p[i].speedup, batch.p[i].baseline /
		    batch.p[i].mean, 0);
	}
	/* A baseline per batch size: more samples, longer iterations. */
	assert_true(batch.p[4].baseline > batch.p[0].baseline);
	assert_true(batch.p[4].mean > batch.p[0].mean);
	assert_int_equal(batch.boundary, batch.n);
	assert_true(isnan(sens_boundary(&batch)));

	/* The figure: both panels, the OOM line only in the first. */
	assert_int_equal(sens_bucket(&w, NULL, &t, &o, &bucket), SK_OK);
	assert_int_equal(sens_plot(path, "Qwen2.5-0.5B & skrull", &bucket,
	    &batch), SK_OK);
	svg = tutil_slurp(path, &n);
	assert_non_null(strstr(svg, "<g class=\"panel\" id=\"panel1\">"));
	assert_null(strstr(svg, "id=\"panel2\""));
	assert_int_equal(strstr(svg, "class=\"boundary\"") <
	    strstr(svg, "id=\"panel1\""), 1);
	assert_null(strstr(strstr(svg, "id=\"panel1\""), "class=\"boundary\""));
	assert_non_null(strstr(svg, "Qwen2.5-0.5B &amp; skrull"));
	/* Each panel its CI band and, at the winner's own x (its batch 16
	 * is a sweep point; its BucketSize within the sweep), the green
	 * line. */
	assert_near(batch.win, 16, 0);
	assert_near(bucket.win, w.job.bucket, 0);
	assert_true(count_of(svg, "<polygon class=\"band\"") >= 2);
	assert_int_equal(count_of(svg, "<line class=\"win\""), 2);
	free(svg);
	assert_int_equal(sens_plot(path, "t", NULL, NULL), SK_ERR_ARG);
	trace_free(&t);
}

static void
test_bad_args(void **state)
{
	struct tune_candidate w, base;
	struct sens_curve c;
	struct trace t;
	struct tune_opts o;

	setup(&w, &t, &o);
	memset(&base, 0, sizeof base);
	assert_int_equal(sens_bucket(&w, &base, &t, &o, &c), SK_ERR_ARG);
	assert_non_null(strstr(err_msg(), "not scored"));
	w.bucket_max = 0;
	assert_int_equal(sens_bucket(&w, NULL, &t, &o, &c), SK_ERR_ARG);
	/* A global batch larger than the trace: tune_score's error, with
	 * the point in front. */
	trace_free(&t);
	setup(&w, &t, &o);
	w.job.batch = 64;
	assert_int_equal(sens_batch(&w, NULL, &t, &o, &c), SK_ERR_RANGE);
	assert_non_null(strstr(err_msg(), "sensitivity, skrull at "
	    "BucketSize"));
	trace_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_xs),
		cmocka_unit_test(test_batch_xs),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_bucket_sweep),
		cmocka_unit_test(test_batch_sweep),
		cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, tutil_setup_tmp,
	    tutil_teardown_tmp);
}
