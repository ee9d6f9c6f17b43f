/*
 * Unit tests of libskrull's public API (src/api/skrull.h): every function,
 * its errors (NULL arguments, unknown names, a zero length at an index, a
 * missing file), the walk of a plan against the placements `skrull plan`
 * wrote for the same lengths (recorded below), and a plan made through the
 * API byte-identical to the one the command writes for a trace of the same
 * lengths and the same job.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "config.h"
#include "skrull.h"
#include "tutil.h"

#define assert_msg(needle) do {						\
	if (strstr(skrull_last_error(), (needle)) == NULL)		\
		fail_msg("message \"%s\" lacks \"%s\"",			\
		    skrull_last_error(), (needle));			\
} while (0)

/* One global batch of DP 2 x 4 samples, tokens. */
static const uint32_t lens[8] = {
	3071, 517, 24000, 845, 2260, 19001, 133, 6400
};
/* The same with sample 2 longer than a CP group holds (4 x 7480 = 29920
 * tokens): only a micro-batch spanning both DP ranks can take it. */
static const uint32_t lens_long[8] = {
	3071, 517, 40000, 845, 2260, 19001, 133, 6400
};

/* Qwen2.5-7B on one node of 8 H100, DP 2 x CP 4, batch 4 (BucketSize auto:
 * 7480 tokens, as `skrull show job` prints for this job). */
static skrull_job *
job_7b(void)
{
	skrull_job *j = NULL;

	assert_int_equal(skrull_job_new(&j), SKRULL_OK);
	assert_int_equal(skrull_job_set_model(j, "qwen2.5-7b"), SKRULL_OK);
	assert_int_equal(skrull_job_set_cluster(j, "h100"), SKRULL_OK);
	assert_int_equal(skrull_job_set_nodes(j, 1, 8), SKRULL_OK);
	assert_int_equal(skrull_job_set_layout(j, 2, 4), SKRULL_OK);
	assert_int_equal(skrull_job_set_batch(j, 4), SKRULL_OK);
	return j;
}

static void
test_version(void **state)
{
	int ma = -1, mi = -1, pa = -1;
	char want[32];

	(void)state;
	/* the build's version (configure.ac's AC_INIT) is the header's */
	snprintf(want, sizeof want, "%d.%d.%d", SKRULL_VERSION_MAJOR,
	    SKRULL_VERSION_MINOR, SKRULL_VERSION_PATCH);
	assert_string_equal(want, PACKAGE_VERSION);
	assert_string_equal(skrull_version(&ma, &mi, &pa), PACKAGE_VERSION);
	assert_int_equal(ma, SKRULL_VERSION_MAJOR);
	assert_int_equal(mi, SKRULL_VERSION_MINOR);
	assert_int_equal(pa, SKRULL_VERSION_PATCH);
	assert_string_equal(skrull_version(NULL, NULL, NULL), PACKAGE_VERSION);
}

static void
test_errors(void **state)
{
	skrull_job *j = NULL;
	skrull_plan *p = (skrull_plan *)&p;

	(void)state;
	assert_string_equal(skrull_strerror(SKRULL_OK), "ok");
	assert_string_equal(skrull_strerror(SKRULL_ERR_IO), "io");
	assert_string_equal(skrull_strerror(SKRULL_ERR_ARG), "arg");
	assert_string_equal(skrull_strerror(SKRULL_ERR_UNSUPPORTED),
	    "unsupported");
	assert_string_equal(skrull_strerror(99), "unknown");
	assert_int_equal(skrull_job_new(NULL), SKRULL_ERR_ARG);
	assert_msg("out is NULL");
	assert_int_equal(skrull_job_set_batch(NULL, 4), SKRULL_ERR_ARG);
	assert_msg("job is NULL");
	assert_int_equal(skrull_plan_read(NULL, &p), SKRULL_ERR_ARG);
	assert_null(p);
	assert_int_equal(skrull_plan_write(NULL, "x.json"), SKRULL_ERR_ARG);
	assert_int_equal(skrull_plan_validate(NULL), SKRULL_ERR_ARG);
	assert_int_equal(skrull_simulate(NULL, 1, NULL), SKRULL_ERR_ARG);
	assert_int_equal(skrull_report_summary(NULL, NULL), SKRULL_ERR_ARG);
	j = job_7b();
	assert_int_equal(skrull_plan_batch(j, NULL, 8, NULL, &p),
	    SKRULL_ERR_ARG);
	assert_msg("lengths is NULL");
	assert_null(p);
	/* a success clears the last message */
	assert_int_equal(skrull_job_set_zero(j, 1), SKRULL_OK);
	assert_string_equal(skrull_last_error(), "");
	/* the *_free functions take NULL */
	skrull_job_free(NULL);
	skrull_plan_free(NULL);
	skrull_report_free(NULL);
	skrull_free(NULL);
	skrull_job_free(j);
}

static void
test_job_setters(void **state)
{
	skrull_job *j = NULL;
	uint32_t bucket = 0;
	int dp = 0, cp = 0, batch = 0;

	(void)state;
	j = job_7b();
	assert_int_equal(skrull_job_layout(j, &dp, &cp, &batch, &bucket),
	    SKRULL_OK);
	assert_int_equal(dp, 2);
	assert_int_equal(cp, 4);
	assert_int_equal(batch, 4);
	assert_int_equal(bucket, 7480);
	/* refused values leave the job as it was */
	assert_int_equal(skrull_job_set_model(j, "qwen9-nope"),
	    SKRULL_ERR_ARG);
	assert_msg("qwen9-nope");
	assert_int_equal(skrull_job_set_cluster(j, "h900"), SKRULL_ERR_ARG);
	assert_int_equal(skrull_job_set_recompute(j, "sometimes"),
	    SKRULL_ERR_ARG);
	assert_int_equal(skrull_job_set_precision(j, "fp8"), SKRULL_ERR_ARG);
	assert_int_equal(skrull_job_set_zero(j, 4), SKRULL_ERR_RANGE);
	assert_int_equal(skrull_job_set_layout(j, 0, 4), SKRULL_ERR_RANGE);
	assert_int_equal(skrull_job_set_batch(j, 0), SKRULL_ERR_RANGE);
	assert_int_equal(skrull_job_set_nodes(j, 1, 0), SKRULL_ERR_RANGE);
	assert_int_equal(skrull_job_set_policy(j, "skrul"), SKRULL_ERR_ARG);
	assert_msg("skrul");
	assert_int_equal(skrull_job_set_knob(j, "rolback", "on"),
	    SKRULL_ERR_ARG);
	assert_msg("unknown knob 'rolback'");
	assert_int_equal(skrull_job_set_knob(j, "rollback", "maybe"),
	    SKRULL_ERR_ARG);
	assert_int_equal(skrull_job_layout(j, NULL, NULL, NULL, &bucket),
	    SKRULL_OK);
	assert_int_equal(bucket, 7480);
	/* a fixed bucket is kept; full recompute frees activations, so the
	 * derived bucket grows */
	assert_int_equal(skrull_job_set_bucket(j, 5000), SKRULL_OK);
	assert_int_equal(skrull_job_layout(j, NULL, NULL, NULL, &bucket),
	    SKRULL_OK);
	assert_int_equal(bucket, 5000);
	assert_int_equal(skrull_job_set_bucket(j, 0), SKRULL_OK);
	assert_int_equal(skrull_job_set_recompute(j, "full"), SKRULL_OK);
	assert_int_equal(skrull_job_layout(j, NULL, NULL, NULL, &bucket),
	    SKRULL_OK);
	assert_true(bucket > 7480);
	/* DP x CP must be the cluster's 8 GPUs */
	assert_int_equal(skrull_job_set_layout(j, 4, 4), SKRULL_OK);
	assert_int_not_equal(skrull_job_layout(j, &dp, NULL, NULL, NULL),
	    SKRULL_OK);
	skrull_job_free(j);
}

static void
test_zero_length(void **state)
{
	uint32_t bad[8];
	skrull_job *j = job_7b();
	skrull_plan *p = (skrull_plan *)&p;

	(void)state;
	memcpy(bad, lens, sizeof bad);
	bad[5] = 0;
	assert_int_equal(skrull_plan_batch(j, bad, 8, NULL, &p),
	    SKRULL_ERR_RANGE);
	assert_msg("lengths[5]: length 0");
	assert_null(p);
	bad[5] = 19001;
	bad[7] = 0x80000000u;
	assert_int_equal(skrull_plan_batch(j, bad, 8, NULL, &p),
	    SKRULL_ERR_RANGE);
	assert_msg("lengths[7]");
	/* 7 samples are not a global batch of 2 x 4 */
	assert_int_equal(skrull_plan_batch(j, lens, 7, NULL, &p),
	    SKRULL_ERR_ARG);
	assert_msg("7 samples");
	/* the CP group holds 29920 tokens: skrull-cp cannot place 40000 */
	assert_int_equal(skrull_job_set_policy(j, "skrull-cp"), SKRULL_OK);
	assert_int_not_equal(skrull_plan_batch(j, lens_long, 8, NULL, &p),
	    SKRULL_OK);
	assert_msg("sample 2");
	assert_null(p);
	skrull_job_free(j);
}

/* One expected sample of a walk. */
struct want {
	int d;            /* DP rank */
	size_t i;         /* its i-th micro-batch in run order */
	int owner, span, offset;
	uint32_t index;
	int place, first, size;
};

/* Fail unless the walk of iteration 0 of p is w[0..n) exactly. */
static void
expect_walk(const skrull_plan *p, const struct want *w, size_t n)
{
	struct skrull_sample s;
	struct skrull_mb mb;
	size_t nmb, i, k, at = 0;
	int d, dp, cp;

	assert_int_equal(skrull_plan_shape(p, NULL, &dp, &cp), SKRULL_OK);
	for (d = 0; d < dp; d++) {
		assert_int_equal(skrull_plan_mb_count(p, 0, d, &nmb),
		    SKRULL_OK);
		for (i = 0; i < nmb; i++) {
			assert_int_equal(skrull_plan_mb(p, 0, d, i, &mb),
			    SKRULL_OK);
			assert_int_equal(mb.width, mb.span * cp);
			for (k = 0; k < mb.nsamples; k++, at++) {
				assert_true(at < n);
				assert_int_equal(skrull_plan_sample(p, mb.id, k,
				    &s), SKRULL_OK);
				assert_int_equal(d, w[at].d);
				assert_int_equal(i, w[at].i);
				assert_int_equal(mb.owner, w[at].owner);
				assert_int_equal(mb.span, w[at].span);
				assert_int_equal(mb.offset, w[at].offset);
				assert_int_equal(s.index, w[at].index);
				assert_int_equal(s.length,
				    (s.index == 2 && w[at].span == 2 ?
				    lens_long : lens)[s.index]);
				assert_int_equal(s.place, w[at].place);
				assert_int_equal(s.first, w[at].first);
				assert_int_equal(s.size, w[at].size);
			}
		}
		/* one past the last micro-batch and sample */
		assert_int_equal(skrull_plan_mb(p, 0, d, nmb, &mb),
		    SKRULL_ERR_RANGE);
		assert_int_equal(skrull_plan_sample(p, mb.id, mb.nsamples, &s),
		    SKRULL_ERR_RANGE);
	}
	assert_int_equal(at, n);
	assert_int_equal(skrull_plan_mb_count(p, 1, 0, &nmb), SKRULL_ERR_RANGE);
	assert_int_equal(skrull_plan_mb_count(p, 0, dp, &nmb),
	    SKRULL_ERR_RANGE);
}

/*
 * The walks of the placements `skrull plan --model qwen2.5-7b --cluster
 * h100 --nodes 1 --gpus-per-node 8 --dp 2 --cp 4 --batch 4` wrote for the
 * two batches (read off its plan files): with skrull, every sample
 * sharded, the short ones of DP rank 1's second micro-batch in two groups
 * of 2; with hdp, sample 2 in a micro-batch spanning both DP ranks (listed
 * by DP rank 0, run first by both; DP rank 1's CP rank 0 is its rank 4),
 * the short ones whole.
 */
static void
test_walk(void **state)
{
	static const struct want sk[] = {
		{ 0, 0, 0, 1, 0, 2, SKRULL_SHARDED, 0, 4 },
		{ 0, 0, 0, 1, 0, 1, SKRULL_SHARDED, 0, 4 },
		{ 1, 0, 1, 1, 0, 5, SKRULL_SHARDED, 0, 4 },
		{ 1, 1, 1, 1, 0, 7, SKRULL_SHARDED, 0, 4 },
		{ 1, 1, 1, 1, 0, 0, SKRULL_SHARDED, 0, 2 },
		{ 1, 1, 1, 1, 0, 4, SKRULL_SHARDED, 2, 2 },
		{ 1, 1, 1, 1, 0, 3, SKRULL_SHARDED, 2, 2 },
		{ 1, 1, 1, 1, 0, 6, SKRULL_SHARDED, 2, 2 },
	};
	static const struct want hdp[] = {
		{ 0, 0, 0, 2, 0, 2, SKRULL_SHARDED, 0, 8 },
		{ 0, 1, 0, 1, 0, 5, SKRULL_SHARDED, 0, 4 },
		{ 1, 0, 0, 2, 4, 2, SKRULL_SHARDED, 0, 8 },
		{ 1, 1, 1, 1, 0, 0, SKRULL_WHOLE, 1, 1 },
		{ 1, 1, 1, 1, 0, 1, SKRULL_WHOLE, 3, 1 },
		{ 1, 1, 1, 1, 0, 3, SKRULL_WHOLE, 3, 1 },
		{ 1, 1, 1, 1, 0, 4, SKRULL_WHOLE, 2, 1 },
		{ 1, 1, 1, 1, 0, 6, SKRULL_WHOLE, 3, 1 },
		{ 1, 1, 1, 1, 0, 7, SKRULL_WHOLE, 0, 1 },
	};
	skrull_job *j = job_7b();
	skrull_plan *p = NULL;
	size_t it = 0;
	int dp = 0, cp = 0;

	(void)state;
	assert_int_equal(skrull_plan_batch(j, lens, 8, NULL, &p), SKRULL_OK);
	assert_int_equal(skrull_plan_shape(p, &it, &dp, &cp), SKRULL_OK);
	assert_int_equal(it, 1);
	assert_int_equal(dp, 2);
	assert_int_equal(cp, 4);
	assert_int_equal(skrull_plan_validate(p), SKRULL_OK);
	expect_walk(p, sk, sizeof sk / sizeof sk[0]);
	skrull_plan_free(p);
	assert_int_equal(skrull_job_set_policy(j, "hdp"), SKRULL_OK);
	assert_int_equal(skrull_plan_batch(j, lens_long, 8, NULL, &p),
	    SKRULL_OK);
	/* hdp's span holds sample 2 (40000 tokens) alone; 9 walked entries:
	 * the span is seen from both DP ranks */
	expect_walk(p, hdp, sizeof hdp / sizeof hdp[0]);
	skrull_plan_free(p);
	skrull_job_free(j);
}

/* Write the lengths as a trace, run `$SKRULL plan` on it with the job's
 * options and extra, and return its plan file's path. */
static const char *
cli_plan(const uint32_t *v, size_t n, const char *extra)
{
	const char *skrull = getenv("SKRULL");
	char text[256] = "", cmd[2048];
	static char out[1024];
	size_t i;

	if (skrull == NULL || skrull[0] == '\0')
		fail_msg("SKRULL is not set (make check sets it)");
	for (i = 0; i < n; i++)
		snprintf(text + strlen(text), sizeof text - strlen(text),
		    "%u\n", v[i]);
	tutil_put("batch.txt", text);
	snprintf(out, sizeof out, "%s", tutil_path("cli.json"));
	snprintf(cmd, sizeof cmd, "'%s' plan --trace '%s' "
	    "--model qwen2.5-7b --cluster h100 --nodes 1 --gpus-per-node 8 "
	    "--dp 2 --cp 4 --batch 4 %s --quiet -o '%s' >/dev/null",
	    skrull, tutil_path("batch.txt"), extra, out);
	assert_int_equal(system(cmd), 0);
	return out;
}

static void
assert_same_file(const char *a, const char *b)
{
	size_t na, nb;
	char *x = tutil_slurp(a, &na), *y = tutil_slurp(b, &nb);

	assert_int_equal(na, nb);
	assert_memory_equal(x, y, na);
	free(x);
	free(y);
}

/* The API's plan and the command's, for the same lengths and job, are the
 * same bytes: with the default policy, and with another policy and knobs
 * (which the plan records). */
static void
test_same_as_cli(void **state)
{
	skrull_job *j = job_7b();
	skrull_plan *p = NULL, *q = NULL;
	const char *cli;

	(void)state;
	assert_int_equal(skrull_plan_batch(j, lens, 8, tutil_path("batch.txt"),
	    &p), SKRULL_OK);
	assert_int_equal(skrull_plan_write(p, tutil_path("api.json")),
	    SKRULL_OK);
	cli = cli_plan(lens, 8, "");
	assert_same_file(tutil_path("api.json"), cli);
	skrull_plan_free(p);
	assert_int_equal(skrull_job_set_policy(j, "flexsp"), SKRULL_OK);
	assert_int_equal(skrull_job_set_knob(j, "flops", "exact"), SKRULL_OK);
	assert_int_equal(skrull_job_set_knob(j, "order", "shuffle"), SKRULL_OK);
	assert_int_equal(skrull_job_set_knob(j, "seed", "977"), SKRULL_OK);
	assert_int_equal(skrull_plan_batch(j, lens, 8, tutil_path("batch.txt"),
	    &p), SKRULL_OK);
	assert_int_equal(skrull_plan_write(p, tutil_path("api.json")),
	    SKRULL_OK);
	cli = cli_plan(lens, 8, "--policy flexsp --flops exact --order "
	    "shuffle --seed 977");
	assert_same_file(tutil_path("api.json"), cli);
	/* read back and written again: the same bytes */
	assert_int_equal(skrull_plan_read(cli, &q), SKRULL_OK);
	assert_int_equal(skrull_plan_validate(q), SKRULL_OK);
	assert_int_equal(skrull_plan_write(q, tutil_path("again.json")),
	    SKRULL_OK);
	assert_same_file(tutil_path("again.json"), cli);
	skrull_plan_free(p);
	skrull_plan_free(q);
	/* a job file with the schedule plans the same */
	assert_int_equal(skrull_job_write(j, tutil_path("job.json")),
	    SKRULL_OK);
	skrull_job_free(j);
	assert_int_equal(skrull_job_read(tutil_path("job.json"), &j),
	    SKRULL_OK);
	assert_int_equal(skrull_plan_batch(j, lens, 8, tutil_path("batch.txt"),
	    &p), SKRULL_OK);
	assert_int_equal(skrull_plan_write(p, tutil_path("api.json")),
	    SKRULL_OK);
	assert_same_file(tutil_path("api.json"), cli);
	skrull_plan_free(p);
	skrull_job_free(j);
}

static void
test_plan_files(void **state)
{
	skrull_job *j = (skrull_job *)&j;
	skrull_plan *p = (skrull_plan *)&p;
	char *text, *at;
	size_t n;

	(void)state;
	assert_int_equal(skrull_plan_read(tutil_path("none.json"), &p),
	    SKRULL_ERR_IO);
	assert_msg("none.json");
	assert_null(p);
	assert_int_equal(skrull_job_read(tutil_path("none.json"), &j),
	    SKRULL_ERR_IO);
	assert_null(j);
	assert_int_equal(skrull_plan_read(tutil_put("bad.json", "{\"format\""),
	    &p), SKRULL_ERR_FORMAT);
	assert_msg("bad.json");
	/* a plan whose BucketSize is cut to 1000 tokens: well-formed, but
	 * DP rank 0's micro-batch holds 24000 + 517 tokens over 4 GPUs,
	 * over 4 x 1000 */
	j = job_7b();
	assert_int_equal(skrull_plan_batch(j, lens, 8, NULL, &p), SKRULL_OK);
	assert_int_equal(skrull_plan_write(p, tutil_path("p.json")), SKRULL_OK);
	skrull_plan_free(p);
	text = tutil_slurp(tutil_path("p.json"), &n);
	assert_non_null(at = strstr(text, "\"bucket\":7480"));
	memcpy(at, "\"bucket\":1000", 13);
	tutil_put("small.json", text);
	free(text);
	assert_int_equal(skrull_plan_read(tutil_path("small.json"), &p),
	    SKRULL_OK);
	assert_int_equal(skrull_plan_validate(p), SKRULL_ERR_FORMAT);
	assert_msg("iteration 0");
	assert_int_equal(skrull_plan_write(p, "/nonexistent/dir/p.json"),
	    SKRULL_ERR_IO);
	skrull_plan_free(p);
	skrull_job_free(j);
}

static void
test_simulate(void **state)
{
	skrull_job *j = job_7b();
	skrull_plan *p = NULL;
	skrull_report *r = NULL, *r3 = NULL;
	struct skrull_summary s, s3;
	double t = -1, b = -1;
	cJSON *root, *sum;
	char *text = NULL;

	(void)state;
	assert_int_equal(skrull_plan_batch(j, lens, 8, NULL, &p), SKRULL_OK);
	assert_int_equal(skrull_simulate(p, -1, &r), SKRULL_ERR_RANGE);
	assert_null(r);
	assert_int_equal(skrull_simulate(p, 1, &r), SKRULL_OK);
	assert_int_equal(skrull_simulate(p, 3, &r3), SKRULL_OK);
	assert_int_equal(skrull_report_summary(r, &s), SKRULL_OK);
	assert_int_equal(skrull_report_summary(r3, &s3), SKRULL_OK);
	assert_int_equal(s.iterations, 1);
	assert_int_equal(s.ooms, 0);
	/* threads do not change the result */
	assert_memory_equal(&s, &s3, sizeof s);
	/* one iteration: its time is the mean and every quantile, and no
	 * faster than its bound */
	assert_int_equal(skrull_report_iteration(r, 0, &t, &b), SKRULL_OK);
	assert_true(t == s.mean && t == s.p50 && t == s.p99);
	assert_true(b > 0 && b <= t && b == s.bound);
	/* tokens per second: the batch's 56227 tokens over the iteration */
	assert_near(s.tokens_per_s, 56227 / t, 1e-9 * s.tokens_per_s);
	assert_true(s.mfu > 0 && s.mfu < 1);
	assert_int_equal(skrull_report_iteration(r, 1, &t, NULL),
	    SKRULL_ERR_RANGE);
	assert_msg("iteration 1");
	assert_int_equal(skrull_report_json(r, 1, &text), SKRULL_OK);
	assert_non_null(root = cJSON_Parse(text));
	assert_non_null(sum = cJSON_GetObjectItem(root, "summary"));
	/* the JSON's seconds are rounded to nanoseconds */
	assert_near(cJSON_GetObjectItem(sum, "mean")->valuedouble, s.mean,
	    1e-9);
	assert_non_null(strstr(text, "\"gpus\":["));
	cJSON_Delete(root);
	skrull_free(text);
	assert_int_equal(skrull_report_json(r, 0, NULL), SKRULL_ERR_ARG);
	skrull_report_free(r);
	skrull_report_free(r3);
	skrull_plan_free(p);
	skrull_job_free(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_job_setters),
		cmocka_unit_test(test_zero_length),
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_same_as_cli),
		cmocka_unit_test(test_plan_files),
		cmocka_unit_test(test_simulate),
	};

	return cmocka_run_group_tests(tests, tutil_setup_tmp,
	    tutil_teardown_tmp);
}
