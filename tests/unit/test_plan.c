/*
 * Unit tests of plan: the builder's reserved room, parameters, every
 * violation plan_validate finds (token arithmetic worked by hand in the
 * comments), the JSON round trip, and malformed files.
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

#include "err.h"
#include "plan.h"
#include "tutil.h"

#define assert_msg(needle) do {						\
	if (strstr(err_msg(), (needle)) == NULL)			\
		fail_msg("message \"%s\" lacks \"%s\"", err_msg(),	\
		    (needle));						\
} while (0)

/*
 * The small trace: fifteen samples, tokens; the plans below schedule the
 * first twelve (the last three dropped).  The job: dp 2, cp 4,
 * BucketSize 1000, so a micro-batch fits CP rank r when
 * 4 x local(r) + sharded <= 4000.
 */
static const uint32_t lens[15] = {
	347, 2112, 3901, 517, 129, 733, 1500, 61, 998, 250, 404, 1777,
	5120, 33, 7001
};

/* One placed sample: iteration, DP rank, micro-batch, trace index, place. */
struct ent {
	int it, d, m;
	uint32_t index;
	int32_t place;
};

#define SH PLAN_SHARDED

/*
 * The valid plan.  Global batch 0 = 0..5, global batch 1 = 11, 6, 9, 7,
 * 10, 8 (batch order differs from trace order).
 * it 0, DP 0, mb 0: 3901 sharded: every CP rank 0 + 3901 <= 4000.
 * it 0, DP 0, mb 1: 2112 sharded, 347 on 3, 129 on 0:
 *   rank 3: 4 x 347 + 2112 = 3500; rank 0: 4 x 129 + 2112 = 2628.
 * it 0, DP 1, mb 0: 517 on 2, 733 on 1: 2068 and 2932, nothing sharded.
 * it 1, DP 0, mb 0: 1777 sharded, 250 + 61 on 0, 404 on 2:
 *   rank 0: 4 x 311 + 1777 = 3021; rank 2: 4 x 404 + 1777 = 3393.
 * it 1, DP 1, mb 0: 1500 sharded: 1500.
 * it 1, DP 1, mb 1: 998 on 3: 3992 <= 4000 (998 <= 1000 whole).
 */
static const struct ent base[12] = {
	{ 0, 0, 0, 2, SH },
	{ 0, 0, 1, 1, SH }, { 0, 0, 1, 0, 3 }, { 0, 0, 1, 4, 0 },
	{ 0, 1, 0, 3, 2 }, { 0, 1, 0, 5, 1 },
	{ 1, 0, 0, 11, SH }, { 1, 0, 0, 9, 0 }, { 1, 0, 0, 7, 0 },
	{ 1, 0, 0, 10, 2 },
	{ 1, 1, 0, 6, SH },
	{ 1, 1, 1, 8, 3 }
};
static const uint32_t batch0[6] = { 0, 1, 2, 3, 4, 5 };
static const uint32_t batch1[6] = { 11, 6, 9, 7, 10, 8 };

static void
small_job(struct job *j, int dp, int cp, uint32_t bucket)
{
	tutil_job(j, dp, 3, cp, bucket);
	j->cluster.nodes = 1;
	j->cluster.gpus_per_node = dp * cp;
}

/*
 * Build the plan of e[0..n) over the two global batches; lengths come
 * from the trace unless len_of overrides entry k (len_k, len_v).  Every
 * iteration gets its dp ranks; micro-batches follow e's (it, d, m).
 */
static void
build(struct plan *p, const struct ent *e, size_t n, const uint32_t *b1,
      size_t kover, uint32_t lover)
{
	size_t k;
	int it = -1, d = -1, m = -1;

	plan_init(p);
	small_job(&p->job, 2, 4, 1000);
	snprintf(p->policy, sizeof p->policy, "skrull");
	snprintf(p->trace, sizeof p->trace, "traces/small.txt");
	p->trace_n = 15;
	p->dropped = 3;
	assert_int_equal(plan_reserve(p, 2, n > 12 ? n : 12, 8), SK_OK);
	for (k = 0; k < n; k++) {
		while (it < e[k].it) {
			while (it >= 0 && d < 1) {
				assert_int_equal(plan_rank_begin(p), SK_OK);
				d++;
			}
			it++;
			assert_int_equal(plan_iter_begin(p, it == 0 ? batch0 : b1,
			    6), SK_OK);
			d = -1;
			m = -1;
		}
		while (d < e[k].d) {
			assert_int_equal(plan_rank_begin(p), SK_OK);
			d++;
			m = -1;
		}
		while (m < e[k].m) {
			assert_int_equal(plan_mb_begin(p), SK_OK);
			m++;
		}
		assert_int_equal(plan_push(p, e[k].index, k == kover ? lover :
		    lens[e[k].index], e[k].place), SK_OK);
	}
	while (d < 1) {
		assert_int_equal(plan_rank_begin(p), SK_OK);
		d++;
	}
}

/* Validate a copy of base with entry k replaced by r (or removed when
 * r is NULL); expect msg. */
static void
expect_bad(size_t k, const struct ent *r, const char *msg)
{
	struct ent e[12];
	struct plan p;
	struct trace t;
	size_t n = 12;

	memcpy(e, base, sizeof e);
	if (r != NULL)
		e[k] = *r;
	else
		memmove(&e[k], &e[k + 1], (--n - k) * sizeof e[0]);
	tutil_trace(&t, lens, 15);
	build(&p, e, n, batch1, SIZE_MAX, 0);
	assert_int_equal(plan_validate(&p, &t), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), msg);
	plan_free(&p);
	trace_free(&t);
}

static void
test_valid(void **state)
{
	struct plan p;
	struct trace t;

	tutil_trace(&t, lens, 15);
	build(&p, base, 12, batch1, SIZE_MAX, 0);
	assert_int_equal(p.niter, 2);
	assert_int_equal(p.nranks, 4);
	assert_int_equal(p.nmbs, 6);
	assert_int_equal(p.nsamples, 12);
	assert_int_equal(p.nbatch, 12);
	assert_int_equal(p.batch_first[0], 0);
	assert_int_equal(p.batch_first[1], 6);
	assert_int_equal(p.batch_first[2], 12);
	/* DP 0 of iteration 1 is ranks[2]: one micro-batch, the 4th. */
	assert_int_equal(p.ranks[2].first, 3);
	assert_int_equal(p.ranks[2].n, 1);
	assert_int_equal(p.mbs[3].first, 6);
	assert_int_equal(p.mbs[3].n, 4);
	assert_int_equal(p.samples[7].index, 9);
	assert_int_equal(p.samples[7].len, 250);
	assert_int_equal(plan_validate(&p, &t), SK_OK);
	assert_int_equal(plan_validate(&p, NULL), SK_OK);
	plan_free(&p);
	assert_null(p.samples);
	assert_int_equal(p.niter, 0);
	trace_free(&t);
}

static void
test_bad_place(void **state)
{
	static const struct ent r = { 0, 1, 0, 5, 4 };

	expect_bad(5, &r, "plan: iteration 0, DP rank 1, micro-batch 0: "
	    "sample 5: placement 4 is not in [-1, 3]");
}

static void
test_twice(void **state)
{
	/* Sample 6 again in place of 8: the duplicate is found first. */
	static const struct ent r = { 1, 1, 1, 6, 3 };

	expect_bad(11, &r, "plan: iteration 1, DP rank 1, micro-batch 1: "
	    "sample 6 appears twice");
}

static void
test_missing(void **state)
{
	/* Sample 3 (517 on CP rank 2) left out of iteration 0. */
	expect_bad(4, NULL, "plan: iteration 0: sample 3 of global batch 0 "
	    "is missing");
}

static void
test_not_in_batch(void **state)
{
	/* Sample 9 belongs to global batch 1. */
	static const struct ent r = { 0, 1, 0, 9, 2 };

	expect_bad(4, &r, "plan: iteration 0, DP rank 1, micro-batch 0: "
	    "sample 9 is not in global batch 0");
}

static void
test_local_too_long(void **state)
{
	/* 1777 whole on CP rank 1 with BucketSize 1000. */
	static const struct ent r = { 1, 0, 0, 11, 1 };

	expect_bad(6, &r, "plan: iteration 1, DP rank 0, micro-batch 0: "
	    "local sample 11 of 1,777 tokens is longer than BucketSize 1,000");
}

static void
test_over_bucket(void **state)
{
	/*
	 * 129 moves from CP rank 0 to rank 3, next to 347: rank 3 holds
	 * 476 local and 2112 / 4 = 528 of the sharded sample, 1004 tokens
	 * (4 x 476 + 2112 = 4016 > 4000).
	 */
	static const struct ent r = { 0, 0, 1, 4, 3 };

	expect_bad(3, &r, "plan: iteration 0, DP rank 0, micro-batch 1, "
	    "CP rank 3: 1,004 tokens exceed BucketSize 1,000 (local 476 + "
	    "1/4 of sharded 2,112)");
}

static void
test_trace_len(void **state)
{
	struct plan p;
	struct trace t;

	tutil_trace(&t, lens, 15);
	/* Entry 4 is sample 3, 517 tokens in the trace. */
	build(&p, base, 12, batch1, 4, 518);
	assert_int_equal(plan_validate(&p, &t), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "plan: iteration 0, DP rank 1, "
	    "micro-batch 0: sample 3 has 518 tokens, the trace says 517");
	/* Without the trace the lengths cannot be checked: 518 on CP
	 * rank 2 is 2072 <= 4000. */
	assert_int_equal(plan_validate(&p, NULL), SK_OK);
	plan_free(&p);
	trace_free(&t);
}

static void
test_outside_trace(void **state)
{
	static const uint32_t b1[6] = { 11, 6, 9, 7, 10, 40 };
	struct ent e[12];
	struct plan p;
	struct trace t;

	tutil_trace(&t, lens, 15);
	/* In the global batch first: entry 5 of batch 1. */
	build(&p, base, 12, b1, SIZE_MAX, 0);
	assert_int_equal(plan_validate(&p, NULL), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "plan: iteration 1: global batch "
	    "entry 5: sample 40 is outside the trace of 15 samples");
	plan_free(&p);

	/* In a micro-batch only (the global batch is right): sample 15,
	 * one past the end, with 998 tokens. */
	memcpy(e, base, sizeof e);
	e[11].index = 15;
	build(&p, e, 12, batch1, 11, 998);
	assert_int_equal(plan_validate(&p, &t), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "plan: iteration 1, DP rank 1, "
	    "micro-batch 1: sample 15 is outside the trace of 15 samples");
	plan_free(&p);

	/* A trace of another size than the plan records. */
	build(&p, base, 12, batch1, SIZE_MAX, 0);
	t.n = 14;
	assert_int_equal(plan_validate(&p, &t), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "plan: made from a trace of 15 "
	    "samples, the trace given has 14");
	t.n = 15;
	plan_free(&p);

	/* What the plan says it dropped against what is in no batch:
	 * samples 12, 13 and 14 (the fixture's batches hold 0 to 11). */
	build(&p, base, 12, batch1, SIZE_MAX, 0);
	p.dropped = 2;
	assert_int_equal(plan_validate(&p, &t), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "plan: 3 of the trace's 15 samples "
	    "are in no global batch (the first: sample 12), but the plan says "
	    "2 dropped");
	assert_int_equal(plan_validate(&p, NULL), SK_ERR_FORMAT);
	p.dropped = 3;
	assert_int_equal(plan_validate(&p, NULL), SK_OK);
	plan_free(&p);
	trace_free(&t);
}

static void
test_structure(void **state)
{
	static const uint32_t b0[6] = { 0, 1, 2, 3, 4, 0 };
	struct plan p;

	/* An empty micro-batch: DP rank 1 of iteration 0 opens two. */
	plan_init(&p);
	small_job(&p.job, 2, 4, 1000);
	assert_int_equal(plan_reserve(&p, 1, 6, 4), SK_OK);
	assert_int_equal(plan_iter_begin(&p, batch0, 6), SK_OK);
	assert_int_equal(plan_rank_begin(&p), SK_OK);
	assert_int_equal(plan_mb_begin(&p), SK_OK);
	assert_int_equal(plan_push(&p, 2, 3901, SH), SK_OK);
	assert_int_equal(plan_rank_begin(&p), SK_OK);
	assert_int_equal(plan_mb_begin(&p), SK_OK);
	assert_int_equal(plan_mb_begin(&p), SK_OK);
	assert_int_equal(plan_push(&p, 0, 347, 0), SK_OK);
	assert_int_equal(plan_validate(&p, NULL), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "plan: iteration 0, DP rank 1, "
	    "micro-batch 0: empty");
	plan_free(&p);

	/* A global batch listing a sample twice. */
	plan_init(&p);
	small_job(&p.job, 2, 4, 1000);
	assert_int_equal(plan_reserve(&p, 1, 6, 2), SK_OK);
	assert_int_equal(plan_iter_begin(&p, b0, 6), SK_OK);
	assert_int_equal(plan_rank_begin(&p), SK_OK);
	assert_int_equal(plan_rank_begin(&p), SK_OK);
	assert_int_equal(plan_validate(&p, NULL), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "plan: iteration 0: global batch 0 "
	    "lists sample 0 twice");

	/* The last iteration short of DP ranks. */
	assert_int_equal(plan_reserve(&p, 2, 12, 2), SK_OK);
	assert_int_equal(plan_iter_begin(&p, batch1, 6), SK_OK);
	assert_int_equal(plan_rank_begin(&p), SK_OK);
	assert_int_equal(plan_validate(&p, NULL), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "plan: 3 DP ranks for 2 iterations of "
	    "dp 2");
	plan_free(&p);

	/* A bucket left "auto". */
	build(&p, base, 12, batch1, SIZE_MAX, 0);
	p.job.bucket_auto = 1;
	assert_int_equal(plan_validate(&p, NULL), SK_ERR_FORMAT);
	assert_msg("BucketSize is not resolved");
	plan_free(&p);
}

/*
 * The figures of the brief at cp 8, BucketSize 26000: CP rank 5 holds
 * 12000 + 8000 = 20000 local tokens and 1/8 of 30000 + 31152 = 61152
 * sharded, 20000 + 7644 = 27644 tokens (8 x 20000 + 61152 = 221152 >
 * 208000).  Then the exact fit: 750 local + 1/8 of 8 x 25250 = 202000
 * sharded is 26000 (8 x 750 + 202000 = 208000, allowed), and one more
 * sharded token is 26000.125, shown rounded up: 26,000.13.
 */
static void
test_cp8(void **state)
{
	static const uint32_t b[5] = { 0, 1, 2, 3, 4 };
	struct plan p;

	plan_init(&p);
	small_job(&p.job, 1, 8, 26000);
	assert_int_equal(plan_reserve(&p, 1, 5, 1), SK_OK);
	assert_int_equal(plan_iter_begin(&p, b, 5), SK_OK);
	assert_int_equal(plan_rank_begin(&p), SK_OK);
	assert_int_equal(plan_mb_begin(&p), SK_OK);
	assert_int_equal(plan_push(&p, 0, 30000, SH), SK_OK);
	assert_int_equal(plan_push(&p, 1, 12000, 5), SK_OK);
	assert_int_equal(plan_push(&p, 2, 25999, 4), SK_OK);
	assert_int_equal(plan_push(&p, 3, 31152, SH), SK_OK);
	assert_int_equal(plan_push(&p, 4, 8000, 5), SK_OK);
	/* CP rank 4: 8 x 25999 + 61152 = 269144 > 208000 as well, but
	 * rank 4 comes first: 25999 + 7644 = 33643. */
	assert_int_equal(plan_validate(&p, NULL), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "plan: iteration 0, DP rank 0, "
	    "micro-batch 0, CP rank 4: 33,643 tokens exceed BucketSize 26,000 "
	    "(local 25,999 + 1/8 of sharded 61,152)");
	p.samples[2].place = SH;
	p.samples[2].first = 0;
	p.samples[2].size = 8;
	p.samples[2].len = 1;
	/* Now sharded 61153: rank 5 has 20000 + 7644.125, rounded up. */
	assert_int_equal(plan_validate(&p, NULL), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "plan: iteration 0, DP rank 0, "
	    "micro-batch 0, CP rank 5: 27,644.13 tokens exceed BucketSize "
	    "26,000 (local 20,000 + 1/8 of sharded 61,153)");
	p.samples[2].place = 0;
	assert_int_equal(plan_validate(&p, NULL), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "plan: iteration 0, DP rank 0, "
	    "micro-batch 0, CP rank 5: 27,644 tokens exceed BucketSize "
	    "26,000 (local 20,000 + 1/8 of sharded 61,152)");

	/* Exact fit and one token over. */
	p.samples[0].len = 100000;
	p.samples[3].len = 102000;
	p.samples[1].len = 750;
	p.samples[4].len = 1;
	p.samples[4].place = 3;
	assert_int_equal(plan_validate(&p, NULL), SK_OK);
	p.samples[3].len = 102001;
	assert_int_equal(plan_validate(&p, NULL), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "plan: iteration 0, DP rank 0, "
	    "micro-batch 0, CP rank 5: 26,000.13 tokens exceed BucketSize "
	    "26,000 (local 750 + 1/8 of sharded 202,001)");
	plan_free(&p);
}

static void
test_room(void **state)
{
	static const uint32_t b[3] = { 7, 3, 5 };
	struct plan p;

	plan_init(&p);
	small_job(&p.job, 2, 4, 1000);
	/* Before any iteration there is no rank to open. */
	assert_int_equal(plan_rank_begin(&p), SK_ERR_ARG);
	assert_int_equal(plan_iter_begin(&p, b, 3), SK_ERR_RANGE);
	assert_int_equal(plan_reserve(&p, 1, 2, 1), SK_OK);
	assert_int_equal(p.cap_ranks, 2);
	assert_int_equal(p.cap_batch, 2);
	assert_int_equal(p.cap_batch_first, 2);
	/* A global batch of 3 where 2 samples are reserved. */
	assert_int_equal(plan_iter_begin(&p, b, 3), SK_ERR_RANGE);
	assert_msg("no room for a global batch of 3 samples");
	assert_int_equal(p.niter, 0);
	assert_int_equal(plan_iter_begin(&p, b, 2), SK_OK);
	assert_int_equal(plan_mb_begin(&p), SK_ERR_ARG);
	assert_int_equal(plan_rank_begin(&p), SK_OK);
	assert_int_equal(plan_push(&p, 7, 250, 1), SK_ERR_ARG);
	assert_int_equal(plan_mb_begin(&p), SK_OK);
	assert_int_equal(plan_mb_begin(&p), SK_ERR_RANGE);
	assert_int_equal(plan_push(&p, 7, 250, 1), SK_OK);
	assert_int_equal(plan_push(&p, 3, 404, 2), SK_OK);
	assert_int_equal(plan_push(&p, 5, 61, 0), SK_ERR_RANGE);
	assert_msg("no room for sample 2 (2 reserved)");
	assert_int_equal(p.nsamples, 2);
	assert_int_equal(p.mbs[0].n, 2);
	/* A second iteration before the first has its 2 DP ranks. */
	assert_int_equal(plan_iter_begin(&p, b, 0), SK_ERR_ARG);
	assert_string_equal(err_msg(), "plan: iteration 0 has 1 of 2 DP ranks");
	assert_int_equal(plan_rank_begin(&p), SK_OK);
	assert_int_equal(plan_rank_begin(&p), SK_ERR_RANGE);
	/* One iteration reserved. */
	assert_int_equal(plan_iter_begin(&p, b, 0), SK_ERR_RANGE);
	/* Growing keeps what is there. */
	assert_int_equal(plan_reserve(&p, 2, 4, 2), SK_OK);
	assert_int_equal(plan_iter_begin(&p, b + 2, 1), SK_OK);
	assert_int_equal(p.batch[0], 7);
	assert_int_equal(p.batch[2], 5);
	assert_int_equal(p.batch_first[2], 3);
	assert_int_equal(p.samples[1].len, 404);
	plan_free(&p);

	/* dp must be known to size the ranks. */
	plan_init(&p);
	assert_int_equal(plan_reserve(&p, 1, 1, 1), SK_ERR_ARG);
	plan_free(&p);
}

static void
test_params(void **state)
{
	struct plan p;
	char name[40];
	int i;

	plan_init(&p);
	assert_int_equal(plan_param(&p, "mb_tokens", 52000, NULL), SK_OK);
	assert_int_equal(plan_param(&p, "binpack", 0, "lpt"), SK_OK);
	assert_int_equal(plan_param(&p, "mb_tokens", 26000, ""), SK_OK);
	assert_int_equal(p.nparams, 2);
	assert_string_equal(p.params[0].name, "mb_tokens");
	assert_true(p.params[0].value == 26000);
	assert_string_equal(p.params[0].text, "");
	assert_string_equal(p.params[1].text, "lpt");
	assert_int_equal(plan_param(&p, "seed", NAN, NULL), SK_ERR_RANGE);
	assert_int_equal(plan_param(&p, "a_name_of_thirty_two_characters_",
	    1, NULL), SK_ERR_ARG);
	assert_int_equal(plan_param(&p, "", 1, NULL), SK_ERR_ARG);
	assert_int_equal(plan_param(&p, "order", 1,
	    "a_value_of_thirty_two_characters"), SK_ERR_ARG);
	for (i = 2; i < PLAN_PARAMS_MAX; i++) {
		snprintf(name, sizeof name, "knob%d", i);
		assert_int_equal(plan_param(&p, name, i * 17, NULL), SK_OK);
	}
	assert_int_equal(plan_param(&p, "one_more", 3, NULL), SK_ERR_RANGE);
	/* Replacing still works when full. */
	assert_int_equal(plan_param(&p, "knob5", 8, "on"), SK_OK);
	assert_int_equal(p.nparams, PLAN_PARAMS_MAX);
	plan_free(&p);
}

/* ---- JSON ---- */

/* The valid plan with its parameters, written to NAME in the temporary
 * directory; path out. */
static void
write_base(const char *name, char *path, size_t n, struct plan *p)
{
	build(p, base, 12, batch1, SIZE_MAX, 0);
	assert_int_equal(plan_param(p, "mb_tokens", 0, NULL), SK_OK);
	assert_int_equal(plan_param(p, "rollback", 1, "on"), SK_OK);
	assert_int_equal(plan_param(p, "binpack", 0, "lpt"), SK_OK);
	assert_int_equal(plan_param(p, "seed", 20250519, NULL), SK_OK);
	assert_int_equal(plan_param(p, "ratio", 0.3125, NULL), SK_OK);
	snprintf(path, n, "%s", tutil_path(name));
	assert_int_equal(plan_write(path, p), SK_OK);
}

static void
test_roundtrip(void **state)
{
	char path[1024], path2[1024];
	struct plan p, q;
	char *a, *b, *c;
	size_t na, nb, i;
	cJSON *root;
	int k;

	write_base("a.json", path, sizeof path, &p);
	plan_init(&q);
	assert_int_equal(plan_read(path, &q), SK_OK);

	assert_int_equal(q.job.dp, 2);
	assert_int_equal(q.job.cp, 4);
	assert_int_equal(q.job.batch, p.job.batch);
	assert_int_equal(q.job.zero, p.job.zero);
	assert_int_equal(q.job.recompute, p.job.recompute);
	assert_int_equal(q.job.precision, p.job.precision);
	assert_true(q.job.reserve == p.job.reserve);
	assert_int_equal(q.job.bucket_auto, 0);
	assert_int_equal(q.job.bucket, 1000);
	assert_int_equal(q.job.cluster.nodes, 1);
	assert_int_equal(q.job.cluster.gpus_per_node, 8);
	assert_string_equal(q.job.model.name, p.job.model.name);
	assert_string_equal(q.job.cluster.name, p.job.cluster.name);
	assert_string_equal(q.policy, "skrull");
	assert_int_equal(q.nparams, 5);
	for (k = 0; k < 5; k++) {
		assert_string_equal(q.params[k].name, p.params[k].name);
		assert_string_equal(q.params[k].text, p.params[k].text);
		/* A symbolic value is stored by its text alone. */
		if (p.params[k].text[0] != '\0')
			assert_true(isnan(q.params[k].value));
		else
			assert_true(q.params[k].value == p.params[k].value);
	}
	assert_string_equal(q.trace, "traces/small.txt");
	assert_int_equal(q.trace_n, 15);
	assert_int_equal(q.dropped, 3);
	assert_int_equal(q.niter, p.niter);
	assert_int_equal(q.nranks, p.nranks);
	assert_int_equal(q.nmbs, p.nmbs);
	assert_int_equal(q.nsamples, p.nsamples);
	assert_int_equal(q.nbatch, p.nbatch);
	for (i = 0; i <= p.niter; i++)
		assert_int_equal(q.batch_first[i], p.batch_first[i]);
	for (i = 0; i < p.nbatch; i++)
		assert_int_equal(q.batch[i], p.batch[i]);
	for (i = 0; i < p.nranks; i++) {
		assert_int_equal(q.ranks[i].first, p.ranks[i].first);
		assert_int_equal(q.ranks[i].n, p.ranks[i].n);
	}
	for (i = 0; i < p.nmbs; i++) {
		assert_int_equal(q.mbs[i].first, p.mbs[i].first);
		assert_int_equal(q.mbs[i].n, p.mbs[i].n);
	}
	for (i = 0; i < p.nsamples; i++) {
		assert_int_equal(q.samples[i].index, p.samples[i].index);
		assert_int_equal(q.samples[i].len, p.samples[i].len);
		assert_int_equal(q.samples[i].place, p.samples[i].place);
	}
	assert_int_equal(plan_validate(&q, NULL), SK_OK);

	/* Written again, byte for byte the same. */
	snprintf(path2, sizeof path2, "%s", tutil_path("b.json"));
	assert_int_equal(plan_write(path2, &q), SK_OK);
	a = tutil_slurp(path, &na);
	b = tutil_slurp(path2, &nb);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na);

	/* The integer arrays formatted by plan.c read as cJSON prints them. */
	assert_non_null(root = cJSON_Parse(a));
	assert_non_null(c = cJSON_PrintUnformatted(root));
	while (na > 0 && (a[na - 1] == '\n' || a[na - 1] == ' '))
		na--;
	assert_int_equal(strlen(c), na);
	assert_memory_equal(c, a, na);
	/* The shape of skrull-plan(5). */
	assert_non_null(strstr(a, "\"format\":\"skrull-plan\",\"version\":2,"));
	assert_non_null(strstr(a, "\"params\":{\"mb_tokens\":0,\"rollback\":"
	    "\"on\",\"binpack\":\"lpt\",\"seed\":20250519,\"ratio\":0.3125}"));
	assert_non_null(strstr(a, "\"trace\":{\"path\":\"traces/small.txt\","
	    "\"samples\":15,\"dropped\":3}"));
	assert_non_null(strstr(a, "\"iterations\":[{\"batch\":[0,1,2,3,4,5],"
	    "\"ranks\":[{\"micro_batches\":[[[2,3901,-1]],[[1,2112,-1],"
	    "[0,347,3],[4,129,0]]]},{\"micro_batches\":[[[3,517,2],"
	    "[5,733,1]]]}]}"));
	cJSON_free(c);
	cJSON_Delete(root);
	free(a);
	free(b);
	plan_free(&p);
	plan_free(&q);
}

/* plan_digest: the same schedule read back, or under another trace path
 * and parameters, has the same digest; one placement or the batch order
 * changed gives another. */
static void
test_digest(void **state)
{
	static const uint32_t swapped[6] = { 11, 6, 9, 7, 8, 10 };
	struct ent e[12];
	char path[1024];
	struct plan p, q;
	uint64_t dp, dq;

	write_base("d.json", path, sizeof path, &p);
	assert_int_equal(plan_digest(&p, &dp), SK_OK);
	plan_init(&q);
	assert_int_equal(plan_read(path, &q), SK_OK);
	assert_int_equal(plan_digest(&q, &dq), SK_OK);
	assert_true(dp == dq);
	snprintf(q.trace, sizeof q.trace, "elsewhere.txt");
	q.nparams = 0;
	assert_int_equal(plan_digest(&q, &dq), SK_OK);
	assert_true(dp == dq);
	plan_free(&q);

	/* Sample 8 whole on CP rank 2 instead of 3 (4 x 998 fits either). */
	memcpy(e, base, sizeof e);
	e[11].place = 2;
	build(&q, e, 12, batch1, SIZE_MAX, 0);
	assert_int_equal(plan_digest(&q, &dq), SK_OK);
	assert_true(dp != dq);
	plan_free(&q);

	/* The same samples placed alike, global batch 1 listed in another
	 * order. */
	build(&q, base, 12, swapped, SIZE_MAX, 0);
	assert_int_equal(plan_digest(&q, &dq), SK_OK);
	assert_true(dp != dq);
	plan_free(&q);

	/* Another model. */
	build(&q, base, 12, batch1, SIZE_MAX, 0);
	assert_int_equal(plan_digest(&q, &dq), SK_OK);
	assert_true(dp == dq);
	q.job.model.layers++;
	assert_int_equal(plan_digest(&q, &dq), SK_OK);
	assert_true(dp != dq);
	plan_free(&q);
	plan_free(&p);
}

static void
test_write_refuses(void **state)
{
	char path[1024];
	struct plan p;

	snprintf(path, sizeof path, "%s", tutil_path("auto.json"));
	build(&p, base, 12, batch1, SIZE_MAX, 0);
	p.job.bucket_auto = 1;
	assert_int_equal(plan_write(path, &p), SK_ERR_ARG);
	assert_msg("job.bucket");
	assert_int_equal(access(path, F_OK), -1);
	plan_free(&p);

	/* An empty micro-batch would not read back. */
	plan_init(&p);
	small_job(&p.job, 2, 4, 1000);
	assert_int_equal(plan_reserve(&p, 1, 6, 2), SK_OK);
	assert_int_equal(plan_iter_begin(&p, batch0, 6), SK_OK);
	assert_int_equal(plan_rank_begin(&p), SK_OK);
	assert_int_equal(plan_rank_begin(&p), SK_OK);
	assert_int_equal(plan_mb_begin(&p), SK_OK);
	assert_int_equal(plan_write(path, &p), SK_ERR_ARG);
	assert_msg("iteration 0 has an empty micro-batch");
	assert_int_equal(access(path, F_OK), -1);
	plan_free(&p);
}

/*
 * A valid file edited by edit(root), read back: the error must name the
 * file and hold msg.  The plan read into is left empty.
 */
static void
expect_read(void (*edit)(cJSON *), const char *msg)
{
	char path[1024], bad[1024];
	struct plan p, q;
	cJSON *root;
	char *text;
	size_t n;

	write_base("good.json", path, sizeof path, &p);
	text = tutil_slurp(path, &n);
	assert_non_null(root = cJSON_Parse(text));
	free(text);
	edit(root);
	assert_non_null(text = cJSON_PrintUnformatted(root));
	snprintf(bad, sizeof bad, "%s", tutil_put("bad.json", text));
	cJSON_free(text);
	cJSON_Delete(root);

	/* q holds a plan before, and nothing after the failed read. */
	plan_init(&q);
	assert_int_equal(plan_read(path, &q), SK_OK);
	assert_int_not_equal(plan_read(bad, &q), SK_OK);
	if (strncmp(err_msg(), bad, strlen(bad)) != 0)
		fail_msg("message \"%s\" does not start with the file", err_msg());
	assert_msg(msg);
	assert_int_equal(q.niter, 0);
	assert_null(q.samples);
	plan_free(&p);
}

static cJSON *
at(cJSON *root, int it, const char *key)
{
	return cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(root,
	    "iterations"), it), key);
}

/* iterations[it].ranks[d].micro_batches[m]. */
static cJSON *
mb_at(cJSON *root, int it, int d, int m)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(
	    at(root, it, "ranks"), d), "micro_batches"), m);
}

static void
set(cJSON *obj, const char *key, cJSON *v)
{
	assert_true(cJSON_ReplaceItemInObject(obj, key, v));
}

static void
e_unknown_top(cJSON *r)
{
	cJSON_AddNumberToObject(r, "iteration", 3);
}

static void
e_unknown_rank(cJSON *r)
{
	cJSON_AddArrayToObject(cJSON_GetArrayItem(at(r, 1, "ranks"), 1),
	    "microbatches");
}

static void
e_format(cJSON *r)
{
	set(r, "format", cJSON_CreateString("skrull-report"));
}

static void
e_version(cJSON *r)
{
	set(r, "version", cJSON_CreateNumber(3));
}

static void
e_no_iters(cJSON *r)
{
	cJSON_DeleteItemFromObject(r, "iterations");
}

static void
e_iters_type(cJSON *r)
{
	set(r, "iterations", cJSON_CreateObject());
}

static void
e_no_job(cJSON *r)
{
	cJSON_DeleteItemFromObject(r, "job");
}

static void
e_bucket_auto(cJSON *r)
{
	set(cJSON_GetObjectItem(r, "job"), "bucket", cJSON_CreateString("auto"));
}

static void
e_no_samples(cJSON *r)
{
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(r, "trace"), "samples");
}

static void
e_dropped(cJSON *r)
{
	set(cJSON_GetObjectItem(r, "trace"), "dropped", cJSON_CreateNumber(16));
}

static void
e_param_type(cJSON *r)
{
	set(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "policy"), "params"),
	    "seed", cJSON_CreateTrue());
}

static void
e_no_policy_name(cJSON *r)
{
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(r, "policy"), "name");
}

static void
e_iter_type(cJSON *r)
{
	cJSON_ReplaceItemInArray(cJSON_GetObjectItem(r, "iterations"), 1,
	    cJSON_CreateNumber(7));
}

static void
e_no_batch(cJSON *r)
{
	cJSON_DeleteItemFromObject(cJSON_GetArrayItem(cJSON_GetObjectItem(r,
	    "iterations"), 1), "batch");
}

static void
e_batch_item(cJSON *r)
{
	cJSON_ReplaceItemInArray(at(r, 1, "batch"), 2, cJSON_CreateString("9"));
}

static void
e_dp(cJSON *r)
{
	cJSON_DeleteItemFromArray(at(r, 0, "ranks"), 1);
}

static void
e_rank_type(cJSON *r)
{
	cJSON_ReplaceItemInArray(at(r, 0, "ranks"), 0, cJSON_CreateArray());
}

static void
e_mbs_type(cJSON *r)
{
	set(cJSON_GetArrayItem(at(r, 1, "ranks"), 0), "micro_batches",
	    cJSON_CreateString("none"));
}

static void
e_mb_empty(cJSON *r)
{
	cJSON_ReplaceItemInArray(cJSON_GetObjectItem(cJSON_GetArrayItem(
	    at(r, 0, "ranks"), 1), "micro_batches"), 0, cJSON_CreateArray());
}

static void
e_place(cJSON *r)
{
	/* [8, 998, 3] -> place 9 */
	cJSON_ReplaceItemInArray(cJSON_GetArrayItem(mb_at(r, 1, 1, 1), 0), 2,
	    cJSON_CreateNumber(9));
}

static void
e_len0(cJSON *r)
{
	cJSON_ReplaceItemInArray(cJSON_GetArrayItem(mb_at(r, 0, 0, 1), 2), 1,
	    cJSON_CreateNumber(0));
}

static void
e_index_frac(cJSON *r)
{
	cJSON_ReplaceItemInArray(cJSON_GetArrayItem(mb_at(r, 1, 0, 0), 3), 0,
	    cJSON_CreateNumber(10.5));
}

static void
e_index_neg(cJSON *r)
{
	cJSON_ReplaceItemInArray(cJSON_GetArrayItem(mb_at(r, 1, 0, 0), 3), 0,
	    cJSON_CreateNumber(-10));
}

static void
e_pair(cJSON *r)
{
	cJSON_DeleteItemFromArray(cJSON_GetArrayItem(mb_at(r, 0, 1, 0), 1), 2);
}

static void
e_not_object(cJSON *r)
{
	/* Empty the root object's members into an array's place. */
	while (r->child != NULL)
		cJSON_Delete(cJSON_DetachItemViaPointer(r, r->child));
	r->type = cJSON_Array;
}

static void
test_read_bad(void **state)
{
	expect_read(e_unknown_top, "iteration");
	expect_read(e_unknown_rank, ": iterations[1].ranks[1]: unknown member "
	    "'microbatches'");
	expect_read(e_format, "format");
	expect_read(e_version, "version");
	expect_read(e_no_iters, "iterations");
	expect_read(e_iters_type, "iterations");
	expect_read(e_no_job, "job");
	expect_read(e_bucket_auto, ": job.bucket: \"auto\" in a plan");
	expect_read(e_no_samples, "samples");
	expect_read(e_dropped, "dropped");
	expect_read(e_param_type, ": policy.params.seed: expected a number "
	    "or a string");
	expect_read(e_no_policy_name, "name");
	expect_read(e_iter_type, ": iterations[1]: expected an object");
	expect_read(e_no_batch, ": iterations[1]: missing batch");
	expect_read(e_batch_item, ": iterations[1].batch[2]: expected a "
	    "sample index in [0, 4294967295]");
	expect_read(e_dp, ": iterations[0].ranks: expected 2 (the job's dp), "
	    "not 1");
	expect_read(e_rank_type, ": iterations[0].ranks[0]: expected an "
	    "object");
	expect_read(e_mbs_type, ": iterations[1].ranks[0].micro_batches: "
	    "expected an array");
	expect_read(e_mb_empty, ": iterations[0].ranks[1].micro_batches[0]: "
	    "empty micro-batch");
	expect_read(e_place, ": iterations[1].ranks[1].micro_batches[1][0]: "
	    "place 9 is not in [-1, 3]");
	expect_read(e_len0, ": iterations[0].ranks[0].micro_batches[1][2]: "
	    "len 0 is not in [1, 2147483647]");
	expect_read(e_index_frac, ": iterations[1].ranks[0].micro_batches[0]"
	    "[3]: index: expected an integer");
	expect_read(e_index_neg, ": iterations[1].ranks[0].micro_batches[0]"
	    "[3]: index -10 is not in [0, 4294967295]");
	expect_read(e_pair, ": iterations[0].ranks[1].micro_batches[0][1]: "
	    "expected [index, len, place]");
	expect_read(e_not_object, ": expected a JSON object");
}

static void
test_read_truncated(void **state)
{
	char path[1024], cut[1024];
	struct plan p, q;
	char *text;
	size_t n;

	write_base("whole.json", path, sizeof path, &p);
	text = tutil_slurp(path, &n);
	/* Cut inside the iterations, past the job and policy. */
	snprintf(cut, sizeof cut, "%s",
	    tutil_put_bytes("cut.json", text, n * 4 / 5));
	plan_init(&q);
	assert_int_not_equal(plan_read(cut, &q), SK_OK);
	if (strncmp(err_msg(), cut, strlen(cut)) != 0)
		fail_msg("message \"%s\" does not start with the file", err_msg());
	tutil_put("cut.json", "");
	assert_int_not_equal(plan_read(cut, &q), SK_OK);
	assert_msg(cut);
	snprintf(cut, sizeof cut, "%s", tutil_path("absent.json"));
	assert_int_equal(plan_read(cut, &q), SK_ERR_IO);
	assert_msg(cut);
	free(text);
	plan_free(&p);
	plan_free(&q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_bad_place),
		cmocka_unit_test(test_twice),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_not_in_batch),
		cmocka_unit_test(test_local_too_long),
		cmocka_unit_test(test_over_bucket),
		cmocka_unit_test(test_trace_len),
		cmocka_unit_test(test_outside_trace),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_cp8),
		cmocka_unit_test(test_room),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_write_refuses),
		cmocka_unit_test(test_read_bad),
		cmocka_unit_test(test_read_truncated),
	};

	return cmocka_run_group_tests(tests, tutil_setup_tmp,
	    tutil_teardown_tmp);
}
