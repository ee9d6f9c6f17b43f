/*
 * test_plan_v2: skrull-plan(5) version 2, shard groups and micro-batches
 * spanning DP ranks: building, plan_rank_mbs, plan_validate's refusals,
 * writing and reading back, and reading version 1.
 *
 * The job is DP 2 x CP 4, BucketSize 1000, the lengths of test_plan.c's
 * twelve-sample trace; the plan is skrull-plan(5)'s version-2 example.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "plan.h"
#include "tutil.h"

#define SH PLAN_SHARDED

static const uint32_t lens[12] = {
	347, 2112, 3901, 517, 129, 733, 1500, 61, 998, 250, 404, 1777
};
static const uint32_t batch0[6] = { 0, 1, 2, 3, 4, 5 };

static void
small_job(struct job *j, int dp, int cp, uint32_t bucket)
{
	tutil_job(j, dp, 3, cp, bucket);
	j->cluster.nodes = 1;
	j->cluster.gpus_per_node = dp * cp;
}

/*
 * The man page's example: DP rank 0 lists a micro-batch spanning both DP
 * ranks (W = 8) with sample 2 over all eight, 3901 / 8 = 487.625 tokens a
 * rank; then its own: sample 1 over its 4 CP ranks (528 each), sample 0
 * over ranks 2 and 3 (173.5), sample 4 whole on 0: rank 2 holds 701.5,
 * rank 0 657.  DP rank 1: samples 3 and 5 whole on CP ranks 2 and 1.
 */
static void
example(struct plan *p)
{
	plan_init(p);
	small_job(&p->job, 2, 4, 1000);
	snprintf(p->policy, sizeof p->policy, "skrull");
	p->trace_n = 12;
	p->dropped = 6;  /* samples 6 to 11: one global batch of the 12 */
	assert_int_equal(plan_reserve(p, 1, 6, 3), SK_OK);
	assert_int_equal(plan_iter_begin(p, batch0, 6), SK_OK);
	assert_int_equal(plan_rank_begin(p), SK_OK);
	assert_int_equal(plan_mb_begin_span(p, 2), SK_OK);
	assert_int_equal(plan_push(p, 2, 3901, SH), SK_OK);
	assert_int_equal(plan_mb_begin(p), SK_OK);
	assert_int_equal(plan_push(p, 1, 2112, SH), SK_OK);
	assert_int_equal(plan_push_group(p, 0, 347, 2, 2), SK_OK);
	assert_int_equal(plan_push_group(p, 4, 129, 0, 1), SK_OK);
	assert_int_equal(plan_rank_begin(p), SK_OK);
	assert_int_equal(plan_mb_begin(p), SK_OK);
	assert_int_equal(plan_push(p, 3, 517, 2), SK_OK);
	assert_int_equal(plan_push(p, 5, 733, 1), SK_OK);
}

static void
test_build(void **state)
{
	struct trace t;
	struct plan p;

	(void)state;
	example(&p);
	tutil_trace(&t, lens, 12);
	assert_int_equal(plan_validate(&p, &t), SK_OK);
	/* the spanning micro-batch's group is all 8; the local sample is a
	 * group of one on its rank */
	assert_int_equal(p.mbs[0].span, 2);
	assert_int_equal(plan_mb_width(&p, &p.mbs[0]), 8);
	assert_int_equal(p.samples[0].place, SH);
	assert_int_equal(p.samples[0].first, 0);
	assert_int_equal(p.samples[0].size, 8);
	assert_int_equal(p.samples[1].size, 4);
	assert_int_equal(p.samples[2].place, SH);
	assert_int_equal(p.samples[2].first, 2);
	assert_int_equal(p.samples[2].size, 2);
	assert_int_equal(p.samples[3].place, 0);
	assert_int_equal(p.samples[3].size, 1);
	trace_free(&t);
	plan_free(&p);
}

/*
 * DP 3 x CP 2: DP rank 0 lists a micro-batch spanning ranks 0-1, then its
 * own; DP rank 1 lists one spanning 1-2, then its own; DP rank 2 only its
 * own.  DP rank 1 runs rank 0's span (its CP rank 0 is q = 2 there), its
 * own span (q = 0), then its own micro-batch; DP rank 2 runs rank 1's span
 * (q = 2) and its own.
 */
static void
test_rank_mbs(void **state)
{
	static const uint32_t b[5] = { 0, 1, 2, 3, 4 };
	size_t mb[4];
	int off[4];
	struct plan p;

	(void)state;
	plan_init(&p);
	small_job(&p.job, 3, 2, 1000);
	assert_int_equal(plan_reserve(&p, 1, 5, 5), SK_OK);
	assert_int_equal(plan_iter_begin(&p, b, 5), SK_OK);
	assert_int_equal(plan_rank_begin(&p), SK_OK);
	assert_int_equal(plan_mb_begin_span(&p, 2), SK_OK);
	assert_int_equal(plan_push(&p, 0, 3000, SH), SK_OK);
	assert_int_equal(plan_mb_begin(&p), SK_OK);
	assert_int_equal(plan_push(&p, 1, 300, 1), SK_OK);
	assert_int_equal(plan_rank_begin(&p), SK_OK);
	assert_int_equal(plan_mb_begin_span(&p, 2), SK_OK);
	assert_int_equal(plan_push_group(&p, 2, 1700, 2, 2), SK_OK);
	assert_int_equal(plan_mb_begin(&p), SK_OK);
	assert_int_equal(plan_push(&p, 3, 40, 0), SK_OK);
	assert_int_equal(plan_rank_begin(&p), SK_OK);
	assert_int_equal(plan_mb_begin(&p), SK_OK);
	assert_int_equal(plan_push(&p, 4, 900, 1), SK_OK);
	assert_int_equal(plan_validate(&p, NULL), SK_OK);

	assert_int_equal(plan_rank_mbs(&p, 0, 0, mb, off, 4), 2);
	assert_int_equal(mb[0], 0);
	assert_int_equal(off[0], 0);
	assert_int_equal(mb[1], 1);
	assert_int_equal(plan_rank_mbs(&p, 0, 1, mb, off, 4), 3);
	assert_int_equal(mb[0], 0);
	assert_int_equal(off[0], 2);
	assert_int_equal(mb[1], 2);
	assert_int_equal(off[1], 0);
	assert_int_equal(mb[2], 3);
	assert_int_equal(plan_rank_mbs(&p, 0, 2, mb, off, 4), 2);
	assert_int_equal(mb[0], 2);
	assert_int_equal(off[0], 2);
	assert_int_equal(mb[1], 4);
	/* a short array gets the first entries and the full count */
	assert_int_equal(plan_rank_mbs(&p, 0, 1, mb, off, 1), 3);
	assert_int_equal(mb[0], 0);
	plan_free(&p);
}

/* Edit the example with one change and expect plan_validate's message. */
static void
refused(void (*edit)(struct plan *), const char *msg)
{
	struct plan p;

	example(&p);
	edit(&p);
	assert_int_equal(plan_validate(&p, NULL), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), msg);
	plan_free(&p);
}

static void
e_outside(struct plan *p)
{
	p->samples[2].first = 4;
	p->samples[2].size = 4;
}

static void
e_unaligned(struct plan *p)
{
	p->samples[2].first = 1;
}

static void
e_not_divisor(struct plan *p)
{
	p->samples[2].first = 0;
	p->samples[2].size = 3;
}

/* Sample 0 (347) over ranks 0-1 with sample 4 (129) whole on 0 and
 * sample 1 over all 4: rank 0 holds 528 + 173.5 + 129 = 830.5, fine; make
 * sample 4 the 998-token sample 8's length to overflow: 528 + 173.5 + 998
 * = 1699.5 > 1000 (x 4: 6798 > 4000). */
static void
e_member_memory(struct plan *p)
{
	p->samples[2].first = 0;
	p->samples[3].len = 998;
}

static void
e_twice(struct plan *p)
{
	/* sample 0 whole on DP rank 1 as well as in its group on DP rank 0 */
	p->samples[5].index = 0;
	p->samples[5].len = 347;
}

static void
e_span_beyond(struct plan *p)
{
	p->mbs[0].span = 3;
}

static void
e_span_late(struct plan *p)
{
	/* the spanning micro-batch after DP rank 0's own: the first runs on
	 * the CP group (sample 2 over its 4 ranks, 975.25 tokens each), the
	 * second spans both DP ranks */
	p->mbs[0].span = 1;
	p->samples[0].size = 4;
	p->mbs[1].span = 2;
}

static void
e_local_outside(struct plan *p)
{
	p->samples[3].place = 4;
	p->samples[3].first = 4;
}

static void
test_refusals(void **state)
{
	(void)state;
	refused(e_outside, "plan: iteration 0, DP rank 0, micro-batch 1: "
	    "sample 0: shard group [4, 8) is outside the micro-batch's 4 ranks "
	    "(or not 2 ranks or more)");
	refused(e_unaligned, "plan: iteration 0, DP rank 0, micro-batch 1: "
	    "sample 0: shard group [1, 3) is not an aligned block (its size "
	    "must divide 4 and its first rank be a multiple of it), so it "
	    "would overlap other groups' blocks");
	refused(e_not_divisor, "plan: iteration 0, DP rank 0, micro-batch 1: "
	    "sample 0: shard group [0, 3) is not an aligned block (its size "
	    "must divide 4 and its first rank be a multiple of it), so it "
	    "would overlap other groups' blocks");
	refused(e_member_memory, "plan: iteration 0, DP rank 0, micro-batch "
	    "1, CP rank 0: 1,699.50 tokens exceed BucketSize 1,000 (local 998 "
	    "+ its shards of smaller groups, 702)");
	refused(e_twice, "plan: iteration 0, DP rank 1, micro-batch 0: sample "
	    "0 appears twice");
	refused(e_span_beyond, "plan: iteration 0, DP rank 0, micro-batch 0: "
	    "spans 3 DP ranks from 0, outside the job's dp 2");
	refused(e_span_late, "plan: iteration 0, DP rank 0, micro-batch 1: "
	    "spans 2 DP ranks but follows one of the rank's own (spanning "
	    "micro-batches come first)");
	refused(e_local_outside, "plan: iteration 0, DP rank 0, micro-batch 1: "
	    "sample 4: placement 4 is not in [-1, 3]");
}

/* The example written, with its two new forms, and read back equal. */
static void
test_roundtrip(void **state)
{
	char path[1024];
	struct plan p, q;
	uint64_t dp, dq;
	char *text;
	size_t n, i;

	(void)state;
	example(&p);
	snprintf(path, sizeof path, "%s", tutil_path("v2.json"));
	assert_int_equal(plan_write(path, &p), SK_OK);
	text = tutil_slurp(path, &n);
	assert_non_null(strstr(text, "\"version\":2,"));
	assert_non_null(strstr(text, "\"micro_batches\":[{\"span\":2,"
	    "\"samples\":[[2,3901,-1]]},[[1,2112,-1],[0,347,2,2],[4,129,0]]]"));
	free(text);
	plan_init(&q);
	assert_int_equal(plan_read(path, &q), SK_OK);
	assert_int_equal(plan_validate(&q, NULL), SK_OK);
	assert_int_equal(q.nmbs, p.nmbs);
	assert_int_equal(q.nsamples, p.nsamples);
	for (i = 0; i < p.nmbs; i++)
		assert_int_equal(q.mbs[i].span, p.mbs[i].span);
	assert_memory_equal(q.samples, p.samples,
	    p.nsamples * sizeof *p.samples);
	assert_int_equal(plan_digest(&p, &dp), SK_OK);
	assert_int_equal(plan_digest(&q, &dq), SK_OK);
	assert_true(dp == dq);
	/* a group's size is part of what the digest covers */
	q.samples[2].first = 0;
	assert_int_equal(plan_digest(&q, &dq), SK_OK);
	assert_true(dp != dq);
	plan_free(&q);
	plan_free(&p);
}

/* text with its first `from` replaced by `to`, allocated */
static char *
edit(char *text, const char *from, const char *to)
{
	char *at, *out;

	assert_non_null(at = strstr(text, from));
	assert_non_null(out = malloc(strlen(text) + strlen(to) + 1));
	memcpy(out, text, (size_t)(at - text));
	strcpy(out + (at - text), to);
	strcat(out, at + strlen(from));
	free(text);
	return out;
}

/* The example's file with one or two textual edits (from2 NULL: one):
 * read refuses it with msg and leaves nothing read. */
static void
read_refused2(const char *from, const char *to, const char *from2,
    const char *to2, const char *msg)
{
	char path[1024], bad[1024];
	struct plan p, q;
	char *text;
	size_t n;

	example(&p);
	snprintf(path, sizeof path, "%s", tutil_path("v2e.json"));
	assert_int_equal(plan_write(path, &p), SK_OK);
	plan_free(&p);
	text = edit(tutil_slurp(path, &n), from, to);
	if (from2 != NULL)
		text = edit(text, from2, to2);
	snprintf(bad, sizeof bad, "%s", tutil_put("v2bad.json", text));
	free(text);
	plan_init(&q);
	assert_int_not_equal(plan_read(bad, &q), SK_OK);
	if (strstr(err_msg(), msg) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err_msg(), msg);
	assert_null(q.samples);
}

static void
read_refused(const char *from, const char *to, const char *msg)
{
	read_refused2(from, to, NULL, NULL, msg);
}

static void
test_read_bad(void **state)
{
	(void)state;
	/* version 1 has neither form */
	read_refused("\"version\":2", "\"version\":1",
	    "iterations[0].ranks[0].micro_batches[0]: expected an array");
	read_refused2("\"version\":2", "\"version\":1",
	    "{\"span\":2,\"samples\":[[2,3901,-1]]}", "[[2,3901,-1]]",
	    "iterations[0].ranks[0].micro_batches[1][1]: expected [index, "
	    "len, place]");
	read_refused("{\"span\":2,", "{\"span\":3,",
	    "iterations[0].ranks[0].micro_batches[0].span: 3 is not in "
	    "[1, 2]");
	read_refused("{\"span\":2,", "{\"spam\":1,\"span\":2,",
	    "micro_batches[0]: unknown member 'spam'");
	read_refused("{\"span\":2,\"samples\":[[2,3901,-1]]}",
	    "{\"span\":2}", "micro_batches[0]: missing samples");
	read_refused("[0,347,2,2]", "[0,347,2,9]",
	    "micro_batches[1][1]: size 9 is not in [2, 4]");
	read_refused("[0,347,2,2]", "[0,347,-1,2]",
	    "micro_batches[1][1]: first -1 is not in [0, 3]");
	read_refused("[0,347,2,2]", "[0,347,2,2,1]",
	    "micro_batches[1][1]: expected [index, len, place] or [index, "
	    "len, first, size]");
	read_refused("[[2,3901,-1]]", "[[2,3901,8]]",
	    "micro_batches[0][0]: place 8 is not in [-1, 7]");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_rank_mbs),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_read_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
