/*
 * Unit tests of sched: the knob table, the policy table, the batcher, the
 * baselines worked by hand, bad input, and properties of every policy over
 * about 10^4 seeded random global batches drawn from the bundled traces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "err.h"
#include "job.h"
#include "plan.h"
#include "sched.h"
#include "trace.h"
#include "tutil.h"
#include "ws.h"

#define S_ PLAN_SHARDED

/* Trace of one hand-worked global batch (see test_gds.c). */
static const uint32_t batch8[] = { 10, 140, 15, 135, 50, 40, 95, 195 };

/* ---- knobs ---- */

/* Every knob's default text parses to sched_params_default's value. */
static void
test_knob_defaults(void **state)
{
	struct sched_params a, b;
	struct plan pa, pb;
	size_t i;
	int k;

	sched_params_default(&a);
	memset(&b, 0x5a, sizeof b);
	for (i = 0; i < sched_nknobs; i++)
		assert_int_equal(sched_knob_set(&b, &sched_knobs[i],
		    sched_knobs[i].deflt), SK_OK);
	assert_int_equal(b.mb_tokens, 0);
	assert_int_equal(b.mb_samples, 0);
	assert_int_equal(b.rollback, 1);
	assert_int_equal(b.binpack, BINPACK_LPT);
	assert_int_equal(b.interleave, INTERLEAVE_STRIDED);
	assert_int_equal(b.flops, FLOPS_PAPER);
	assert_int_equal(b.order, ORDER_DATASET);
	assert_int_equal(b.seed, 1);
	assert_int_equal(b.drop_last, 0);
	assert_int_equal(b.drop_overlong, 0);
	/* And the two record the same parameters. */
	plan_init(&pa);
	plan_init(&pb);
	assert_int_equal(sched_params_record(&a, &pa), SK_OK);
	assert_int_equal(sched_params_record(&b, &pb), SK_OK);
	assert_int_equal(pa.nparams, (int)sched_nknobs);
	assert_int_equal(pb.nparams, (int)sched_nknobs);
	for (k = 0; k < pa.nparams; k++) {
		assert_string_equal(pa.params[k].name, pb.params[k].name);
		assert_true(pa.params[k].value == pb.params[k].value);
		assert_string_equal(pa.params[k].text, pb.params[k].text);
	}
	/* Every knob has a name, help and a default; names are unique. */
	for (i = 0; i < sched_nknobs; i++) {
		assert_true(strlen(sched_knobs[i].help) > 10);
		assert_ptr_equal(sched_knob_find(sched_knobs[i].name),
		    &sched_knobs[i]);
	}
}

static void
test_knob_parse(void **state)
{
	struct sched_params p;

	sched_params_default(&p);
	assert_int_equal(sched_knob_set(&p, sched_knob_find("rollback"),
	    "off"), SK_OK);
	assert_int_equal(p.rollback, 0);
	assert_int_equal(sched_knob_set(&p, sched_knob_find("rollback"),
	    "true"), SK_OK);
	assert_int_equal(p.rollback, 1);
	assert_int_equal(sched_knob_set(&p, sched_knob_find("drop-last"),
	    "1"), SK_OK);
	assert_int_equal(p.drop_last, 1);
	assert_int_equal(sched_knob_set(&p, sched_knob_find("drop-last"),
	    "false"), SK_OK);
	assert_int_equal(p.drop_last, 0);
	assert_int_equal(sched_knob_set(&p, sched_knob_find("binpack"),
	    "none"), SK_OK);
	assert_int_equal(p.binpack, BINPACK_NONE);
	assert_int_equal(sched_knob_set(&p, sched_knob_find("interleave"),
	    "blocked"), SK_OK);
	assert_int_equal(p.interleave, INTERLEAVE_BLOCKED);
	assert_int_equal(sched_knob_set(&p, sched_knob_find("flops"),
	    "exact"), SK_OK);
	assert_int_equal(p.flops, FLOPS_EXACT);
	assert_int_equal(sched_knob_set(&p, sched_knob_find("order"),
	    "shuffle"), SK_OK);
	assert_int_equal(p.order, ORDER_SHUFFLE);
	/* The range's ends: 2^32 - 1 and 2^40. */
	assert_int_equal(sched_knob_set(&p, sched_knob_find("seed"),
	    "4294967295"), SK_OK);
	assert_int_equal(p.seed, 4294967295u);
	assert_int_equal(sched_knob_set(&p, sched_knob_find("mb-tokens"),
	    "1099511627776"), SK_OK);
	assert_int_equal(p.mb_tokens, (uint64_t)1 << 40);
	assert_int_equal(sched_knob_set(&p, sched_knob_find("mb-samples"),
	    "37"), SK_OK);
	assert_int_equal(p.mb_samples, 37);

	assert_int_equal(sched_knob_set(&p, sched_knob_find("binpack"),
	    "best"), SK_ERR_ARG);
	assert_string_equal(err_msg(), "--binpack: 'best' is not one of lpt, "
	    "none");
	assert_int_equal(sched_knob_set(&p, sched_knob_find("rollback"),
	    "yes"), SK_ERR_ARG);
	assert_string_equal(err_msg(), "--rollback: 'yes' is not one of on, "
	    "off, true, false, 1, 0");
	assert_int_equal(sched_knob_set(&p, sched_knob_find("seed"),
	    "4294967296"), SK_ERR_ARG);
	assert_string_equal(err_msg(), "--seed: '4294967296' is not an "
	    "integer in 0..4294967295");
	assert_int_equal(sched_knob_set(&p, sched_knob_find("mb-samples"),
	    "-1"), SK_ERR_ARG);
	assert_int_equal(sched_knob_set(&p, sched_knob_find("mb-samples"),
	    "1048577"), SK_ERR_ARG);
	assert_int_equal(sched_knob_set(&p, sched_knob_find("mb-tokens"),
	    "12k"), SK_ERR_ARG);
	assert_int_equal(sched_knob_set(&p, sched_knob_find("mb-tokens"),
	    ""), SK_ERR_ARG);
	assert_int_equal(sched_knob_set(&p, sched_knob_find("mb-tokens"),
	    " 5"), SK_ERR_ARG);
	assert_int_equal(sched_knob_set(&p, sched_knob_find("mb-tokens"),
	    "99999999999999999999999"), SK_ERR_ARG);
	/* Failures leave the value alone. */
	assert_int_equal(p.mb_samples, 37);
	assert_int_equal(p.binpack, BINPACK_NONE);
	assert_null(sched_knob_find("bucket"));
	assert_string_equal(err_msg(), "unknown scheduler option '--bucket'");
}

/* A plan's record of the parameters reads back into the same parameters:
 * text where there is one, else the number. */
static void
test_knob_record(void **state)
{
	struct sched_params a, b;
	const struct sched_knob *k;
	struct plan pl;
	char num[32];
	int i;

	sched_params_default(&a);
	a.mb_tokens = 123457;
	a.mb_samples = 3;
	a.rollback = 0;
	a.interleave = INTERLEAVE_BLOCKED;
	a.flops = FLOPS_EXACT;
	a.seed = 2718281828u;
	a.drop_overlong = 1;
	plan_init(&pl);
	assert_int_equal(sched_params_record(&a, &pl), SK_OK);
	sched_params_default(&b);
	for (i = 0; i < pl.nparams; i++) {
		assert_non_null(k = sched_knob_find(pl.params[i].name));
		if (pl.params[i].text[0] != '\0')
			assert_int_equal(sched_knob_set(&b, k,
			    pl.params[i].text), SK_OK);
		else {
			snprintf(num, sizeof num, "%.0f", pl.params[i].value);
			assert_int_equal(sched_knob_set(&b, k, num), SK_OK);
		}
	}
	assert_memory_equal(&a, &b, sizeof a);
	assert_string_equal(pl.params[2].name, "rollback");
	assert_string_equal(pl.params[2].text, "off");
	assert_true(pl.params[2].value == 0);
	assert_string_equal(pl.params[5].name, "flops");
	assert_string_equal(pl.params[5].text, "exact");
	assert_true(pl.params[5].value == 1);
}

static void
test_policy_table(void **state)
{
	static const char *const names[] = {
		"deepspeed", "sorted", "dacp", "rr", "skrull-paper",
		"skrull-cp", "skrull", "wlb", "flexsp", "hdp", "optimal"
	};
	size_t i;

	assert_int_equal(sched_npolicies, 11);
	for (i = 0; i < 11; i++) {
		assert_string_equal(sched_policies[i]->name, names[i]);
		assert_ptr_equal(sched_policy_find(names[i]), sched_policies[i]);
		assert_true(strlen(sched_policies[i]->summary) > 10);
	}
	/* names are case-sensitive; one edit away, the name is suggested */
	assert_null(sched_policy_find("Skrull"));
	assert_string_equal(err_msg(), "unknown policy 'Skrull'; did you mean "
	    "'skrull'?");
	/* "greedy" is 3 or more edits from every name: the list */
	assert_null(sched_policy_find("greedy"));
	assert_string_equal(err_msg(), "unknown policy 'greedy'; one of "
	    "deepspeed, sorted, dacp, rr, skrull-paper, skrull-cp, skrull, "
	    "wlb, flexsp, hdp, optimal");
}

/* ---- the baselines and the batcher, by hand ---- */

/*
 * dp 2, batch 4, cp 2, bucket 100 (200 tokens per micro-batch) on
 * {#0 10, #1 140, #2 15, #3 135, #4 50, #5 40, #6 95, #7 195}.
 * deepspeed: rank 0 takes #0..#3 and packs 10 + 140 + 15 = 165 (adding
 * 135 would make 300 > 200), then {135}; rank 1 takes #4..#7:
 * 50 + 40 + 95 = 185, then {195}.  All sharded.
 */
static void
test_deepspeed(void **state)
{
	static const struct tutil_want w[] = {
		{ 0, 0, 0, S_ }, { 0, 0, 1, S_ }, { 0, 0, 2, S_ },
		{ 0, 1, 3, S_ },
		{ 1, 0, 4, S_ }, { 1, 0, 5, S_ }, { 1, 0, 6, S_ },
		{ 1, 1, 7, S_ },
	};
	static const struct tutil_want w1[] = {
		{ 0, 0, 0, S_ }, { 0, 1, 1, S_ }, { 0, 2, 2, S_ },
		{ 0, 3, 3, S_ },
		{ 1, 0, 4, S_ }, { 1, 1, 5, S_ }, { 1, 2, 6, S_ },
		{ 1, 3, 7, S_ },
	};
	/* mb-tokens 150: 10 + 140 = 150 fits, + 15 does not; 15 + 135 =
	 * 150; 50 + 40 = 90, + 95 = 185 > 150; 95; 195 alone (over). */
	static const struct tutil_want w150[] = {
		{ 0, 0, 0, S_ }, { 0, 0, 1, S_ }, { 0, 1, 2, S_ },
		{ 0, 1, 3, S_ },
		{ 1, 0, 4, S_ }, { 1, 0, 5, S_ }, { 1, 1, 6, S_ },
		{ 1, 2, 7, S_ },
	};
	struct sched_params p;
	struct plan pl;
	struct trace t;
	struct job j;

	tutil_job(&j, 2, 4, 2, 100);
	tutil_trace(&t, batch8, 8);
	sched_params_default(&p);
	plan_init(&pl);
	assert_int_equal(sched_plan(&j, &p, "deepspeed", &t, "b8", &pl),
	    SK_OK);
	assert_int_equal(plan_validate(&pl, &t), SK_OK);
	tutil_expect_iter(&pl, 0, NULL, w, 8, NULL);
	assert_string_equal(pl.trace, "b8");
	assert_int_equal(pl.trace_n, 8);
	/* One sample per micro-batch: the paper's baseline. */
	p.mb_samples = 1;
	assert_int_equal(sched_plan(&j, &p, "deepspeed", &t, "b8", &pl),
	    SK_OK);
	tutil_expect_iter(&pl, 0, NULL, w1, 8, NULL);
	p.mb_samples = 0;
	p.mb_tokens = 150;
	assert_int_equal(sched_plan(&j, &p, "deepspeed", &t, "b8", &pl),
	    SK_OK);
	tutil_expect_iter(&pl, 0, NULL, w150, 8, NULL);
	plan_free(&pl);
	trace_free(&t);
}

/*
 * dacp: deepspeed's micro-batches with DACP inside (N = 2, RB 200):
 * {10, 140, 15}, sorted 10, 15, 140: 10 -> CP rank 0 (both loads 0;
 * RB 180 200), 15 -> rank 1 (load 0 < f(10); RB 180 170), 140: the
 * least-loaded rank 0 (f(10) < f(15)), also the roomiest, has 180 < 280;
 * the tightest, rank 1, has 170 >= 140: shard.  {135}:
 * 270 > 200 whole: shard.  {50, 40, 95}: 40 -> 0 (RB 120), 50 -> 1
 * (RB 100); 95: rank 0 120 < 190; tightest rank 1 100 >= 95: shard.
 * {195}: shard.  FLOPs units as in test_gds.c (f(S) = S (S + 384)); the
 * job here is Qwen2.5-0.5B, whose FLOPs order the same.
 */
static void
test_dacp_policy(void **state)
{
	static const struct tutil_want w[] = {
		{ 0, 0, 0, 0 }, { 0, 0, 1, S_ }, { 0, 0, 2, 1 },
		{ 0, 1, 3, S_ },
		{ 1, 0, 4, 1 }, { 1, 0, 5, 0 }, { 1, 0, 6, S_ },
		{ 1, 1, 7, S_ },
	};
	struct sched_params p;
	struct plan pl;
	struct trace t;
	struct job j;

	tutil_job(&j, 2, 4, 2, 100);
	tutil_trace(&t, batch8, 8);
	sched_params_default(&p);
	plan_init(&pl);
	assert_int_equal(sched_plan(&j, &p, "dacp", &t, NULL, &pl), SK_OK);
	assert_int_equal(plan_validate(&pl, &t), SK_OK);
	tutil_expect_iter(&pl, 0, NULL, w, 8, NULL);
	/* A budget above N x C makes a micro-batch DACP cannot place:
	 * 10 + 140 + 15 + 135 = 300 > 200. */
	p.mb_tokens = 1000;
	assert_int_equal(sched_plan(&j, &p, "dacp", &t, NULL, &pl),
	    SK_ERR_RANGE);
	assert_non_null(strstr(err_msg(), "policy dacp, iteration 0: "));
	assert_int_equal(pl.niter, 0);
	plan_free(&pl);
	trace_free(&t);
}

/*
 * Sorted batching, dp 1, batch 2: the trace sorted by length is
 * 10 (#0), 15 (#2), 40 (#5), 50 (#4), 95 (#6), 135 (#3), 140 (#1),
 * 195 (#7); runs of 2: R0 {#0 #2}, R1 {#5 #4}, R2 {#6 #3}, R3 {#1 #7},
 * visited in the order gsl_ran_shuffle gives (0 1 2 3) under MT19937
 * seeded with the seed: computed here again with GSL.  Shuffled order:
 * the trace order shuffled the same way.
 */
static void
test_batcher_order(void **state)
{
	static const uint32_t runs[4][2] = {
		{ 0, 2 }, { 5, 4 }, { 6, 3 }, { 1, 7 }
	};
	uint32_t perm[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	size_t rorder[4] = { 0, 1, 2, 3 };
	struct sched_params p;
	struct plan pl;
	struct trace t;
	struct job j;
	gsl_rng *r;
	size_t it;

	tutil_job(&j, 1, 2, 2, 100);
	tutil_trace(&t, batch8, 8);
	sched_params_default(&p);
	p.seed = 20250519;
	plan_init(&pl);
	assert_int_equal(sched_plan(&j, &p, "sorted", &t, NULL, &pl), SK_OK);
	assert_int_equal(plan_validate(&pl, &t), SK_OK);
	assert_non_null(r = gsl_rng_alloc(gsl_rng_mt19937));
	gsl_rng_set(r, 20250519);
	gsl_ran_shuffle(r, rorder, 4, sizeof rorder[0]);
	assert_int_equal(pl.niter, 4);
	for (it = 0; it < 4; it++) {
		assert_int_equal(pl.batch_first[it], 2 * it);
		assert_int_equal(pl.batch[2 * it], runs[rorder[it]][0]);
		assert_int_equal(pl.batch[2 * it + 1], runs[rorder[it]][1]);
	}
	/* Not the identity order (the seed was picked so). */
	assert_true(rorder[0] != 0 || rorder[1] != 1 || rorder[2] != 2);

	p.order = ORDER_SHUFFLE;
	assert_int_equal(sched_plan(&j, &p, "deepspeed", &t, NULL, &pl),
	    SK_OK);
	gsl_rng_set(r, 20250519);
	gsl_ran_shuffle(r, perm, 8, sizeof perm[0]);
	assert_int_equal(pl.nbatch, 8);
	assert_memory_equal(pl.batch, perm, sizeof perm);
	gsl_rng_free(r);
	plan_free(&pl);
	trace_free(&t);
}

/* ---- the workspace's sort, against qsort ---- */

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static void
test_sort(void **state)
{
	static const size_t sizes[] = {
		0, 1, 2, 15, 16, 17, 31, 32, 33, 64, 100, 255, 256, 300
	};
	uint64_t a[300], b[300];
	struct sched_params p;
	struct sched_ws *ws;
	struct job j;
	gsl_rng *r;
	size_t s, i, n, form;

	tutil_job(&j, 1, 300, 8, 26000);
	sched_params_default(&p);
	assert_non_null(ws = sched_ws_new(&j, &p, 300));
	assert_non_null(r = gsl_rng_alloc(gsl_rng_mt19937));
	gsl_rng_set(r, 77);
	/* Random with repeats, ascending, descending. */
	for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		n = sizes[s];
		for (form = 0; form < 3; form++) {
			for (i = 0; i < n; i++)
				a[i] = form == 0 ? (uint64_t)gsl_rng_uniform_int(r,
				    50) << 32 | gsl_rng_get(r) : form == 1 ?
				    3 * i + 1 : (uint64_t)(n - i) << 33;
			memcpy(b, a, n * sizeof *a);
			ws_sort_u64(ws, a, n);
			qsort(b, n, sizeof *b, cmp_u64);
			assert_memory_equal(a, b, n * sizeof *a);
		}
	}
	gsl_rng_free(r);
	sched_ws_free(ws);
	/* A workspace needs a CP group and room for a batch. */
	j.cp = 0;
	assert_null(sched_ws_new(&j, &p, 10));
	j.cp = 8;
	assert_null(sched_ws_new(&j, &p, 0));
}

/* ---- bad input ---- */

static void
test_bad_input(void **state)
{
	static const uint32_t v[] = { 300, 200000, 100, 208001, 50 };
	struct sched_params p;
	struct plan pl;
	struct trace t, t100;
	struct job j;
	uint32_t l[100];
	size_t i;

	sched_params_default(&p);
	tutil_job(&j, 4, 64, 8, 26000);
	tutil_trace(&t, v, 5);
	plan_init(&pl);

	assert_int_equal(sched_plan(&j, &p, "best", &t, NULL, &pl),
	    SK_ERR_ARG);
	assert_string_equal(err_msg(), "unknown policy 'best'; one of "
	    "deepspeed, sorted, dacp, rr, skrull-paper, skrull-cp, skrull, "
	    "wlb, flexsp, hdp, optimal");

	j.bucket = 0;
	assert_int_equal(sched_plan(&j, &p, "skrull", &t, NULL, &pl),
	    SK_ERR_ARG);
	assert_non_null(strstr(err_msg(), "bucket 0"));
	j.bucket = 26000;

	/* 208001 > 8 x 26000 = 208000; 200000 fits (sharded). */
	assert_int_equal(sched_plan(&j, &p, "skrull", &t, "v.txt", &pl),
	    SK_ERR_RANGE);
	assert_string_equal(err_msg(), "v.txt: sample 3 (208,001 tokens) "
	    "exceeds the CP group's capacity 8 x 26,000 = 208,000 tokens; "
	    "--drop-overlong drops such samples");
	assert_int_equal(pl.niter, 0);
	p.drop_overlong = 1;
	assert_int_equal(sched_plan(&j, &p, "skrull", &t, "v.txt", &pl),
	    SK_OK);
	assert_int_equal(pl.dropped, 1);
	assert_int_equal(pl.niter, 1);
	assert_int_equal(pl.nsamples, 4);
	assert_int_equal(plan_validate(&pl, &t), SK_OK);
	/* 4 left of a global batch of 256: dropped with drop-last. */
	p.drop_last = 1;
	assert_int_equal(sched_plan(&j, &p, "skrull", &t, "v.txt", &pl),
	    SK_ERR_RANGE);
	assert_string_equal(err_msg(), "v.txt: trace of 5 samples (4 after "
	    "dropping 1 overlong) is shorter than one global batch of 256");

	trace_init(&t100);
	for (i = 0; i < 100; i++) {
		l[i] = (uint32_t)(37 * i % 101 + 1);
		assert_int_equal(trace_push(&t100, l[i]), SK_OK);
	}
	assert_int_equal(sched_plan(&j, &p, "deepspeed", &t100, NULL, &pl),
	    SK_ERR_RANGE);
	assert_string_equal(err_msg(), "trace of 100 samples is shorter than "
	    "one global batch of 256");
	/* Without drop-last the one partial batch is planned: 100 samples
	 * over 4 DP ranks, 25 each. */
	p.drop_last = 0;
	assert_int_equal(sched_plan(&j, &p, "deepspeed", &t100, NULL, &pl),
	    SK_OK);
	assert_int_equal(pl.niter, 1);
	assert_int_equal(pl.nsamples, 100);
	assert_int_equal(pl.dropped, 0);
	assert_int_equal(plan_validate(&pl, &t100), SK_OK);

	/* drop-last drops the remainder: 100 samples, batch 8 x dp 4 = 32:
	 * 3 iterations, 4 dropped. */
	p.drop_last = 1;
	j.batch = 8;
	assert_int_equal(sched_plan(&j, &p, "rr", &t100, NULL, &pl), SK_OK);
	assert_int_equal(pl.niter, 3);
	assert_int_equal(pl.dropped, 4);
	assert_int_equal(pl.nsamples, 96);

	/* An empty trace, and one whose every sample is overlong. */
	trace_free(&t100);
	assert_int_equal(sched_plan(&j, &p, "skrull", &t100, NULL, &pl),
	    SK_ERR_RANGE);
	assert_non_null(strstr(err_msg(), "empty"));
	assert_int_equal(trace_push(&t100, 300000), SK_OK);
	assert_int_equal(sched_plan(&j, &p, "skrull", &t100, NULL, &pl),
	    SK_ERR_RANGE);
	assert_non_null(strstr(err_msg(), "exceed"));

	plan_free(&pl);
	trace_free(&t);
	trace_free(&t100);
}

/* ---- properties over random global batches ---- */

struct source {
	const char *path;   /* under top_srcdir */
	const char *field;  /* trace_read_opts.field */
};

static const struct source sources[] = {
	{ "traces/wikipedia.txt.gz", NULL },
	{ "traces/mooncake_conversation.jsonl.gz",
	  "input_length+output_length" },
	{ "traces/synth-chatqa2-long-sft.txt.gz", NULL },
};

static const uint32_t buckets[] = { 4096, 8192, 13000, 26000, 65536 };
static const int cps[] = { 1, 2, 4, 8, 16 };

/*
 * Independent checks of a plan against its trace: every global batch's
 * samples appear exactly once, in that batch; across the plan every kept
 * sample exactly once; lengths match; per micro-batch and CP rank,
 * N x local + sharded <= N x C, and no local sample over C.
 */
static void
check_plan(const struct plan *pl, const struct trace *t, uint8_t *seen)
{
	const struct job *j = &pl->job;
	uint64_t loc[64], W, inbatch;
	size_t it, d, m, k, i, placed = 0;
	int r;

	memset(seen, 0, t->n);
	for (i = 0; i < pl->nbatch; i++) {
		assert_true(pl->batch[i] < t->n);
		assert_int_equal(seen[pl->batch[i]], 0);
		seen[pl->batch[i]] = 1;
	}
	assert_int_equal(pl->nbatch + pl->dropped, t->n);
	for (it = 0; it < pl->niter; it++) {
		for (i = pl->batch_first[it]; i < pl->batch_first[it + 1]; i++)
			seen[pl->batch[i]] = 2;
		inbatch = pl->batch_first[it + 1] - pl->batch_first[it];
		for (d = 0; d < (size_t)j->dp; d++) {
			const struct plan_rank *rk =
			    &pl->ranks[it * (size_t)j->dp + d];

			for (m = 0; m < rk->n; m++) {
				const struct plan_mb *mb = &pl->mbs[rk->first + m];

				assert_true(mb->n > 0);
				assert_in_range(mb->span, 1, j->dp - (int)d);
				W = (uint64_t)mb->span * j->cp;
				assert_true(W <= 64);
				memset(loc, 0, sizeof loc);
				/* rank r's memory, scaled by W: W x whole +
				 * (W / size) x each shard it holds */
				for (k = 0; k < mb->n; k++) {
					const struct plan_sample *s =
					    &pl->samples[mb->first + k];

					assert_int_equal(seen[s->index], 2);
					seen[s->index] = 3;
					assert_int_equal(s->len, t->len[s->index]);
					if (s->place == PLAN_SHARDED) {
						assert_true(s->size >= 2 &&
						    W % s->size == 0 &&
						    s->first % s->size == 0 &&
						    s->first + s->size <= W);
						for (r = s->first; r < s->first +
						    s->size; r++)
							loc[r] += W / s->size *
							    s->len;
					} else {
						assert_in_range(s->place, 0,
						    (int)W - 1);
						assert_true(s->len <= j->bucket);
						loc[s->place] += W * s->len;
					}
					placed++;
					inbatch--;
				}
				for (r = 0; r < (int)W; r++)
					assert_true(loc[r] <= W * j->bucket);
			}
		}
		assert_int_equal(inbatch, 0);
	}
	assert_int_equal(placed, pl->nbatch);
}

static void
same_plan(const struct plan *a, const struct plan *b)
{
	size_t i;

	assert_int_equal(a->niter, b->niter);
	assert_int_equal(a->nranks, b->nranks);
	assert_int_equal(a->nmbs, b->nmbs);
	assert_int_equal(a->nsamples, b->nsamples);
	assert_int_equal(a->nbatch, b->nbatch);
	assert_memory_equal(a->ranks, b->ranks, a->nranks * sizeof *a->ranks);
	/* field by field: struct plan_mb has padding */
	for (i = 0; i < a->nmbs; i++) {
		assert_int_equal(a->mbs[i].first, b->mbs[i].first);
		assert_int_equal(a->mbs[i].n, b->mbs[i].n);
		assert_int_equal(a->mbs[i].span, b->mbs[i].span);
	}
	assert_memory_equal(a->samples, b->samples,
	    a->nsamples * sizeof *a->samples);
	assert_memory_equal(a->batch, b->batch, a->nbatch * sizeof *a->batch);
}

/* plan_write of two plans made from the same input: byte-identical. */
static void
same_file(const struct plan *a, const struct plan *b)
{
	const char *pa = tutil_path("a.json"), *pb = tutil_path("b.json");
	char *x, *y;
	size_t nx, ny;

	assert_int_equal(plan_write(pa, a), SK_OK);
	assert_int_equal(plan_write(pb, b), SK_OK);
	x = tutil_slurp(pa, &nx);
	y = tutil_slurp(pb, &ny);
	assert_true(nx > 0);
	assert_int_equal(nx, ny);
	assert_memory_equal(x, y, nx);
	free(x);
	free(y);
	unlink(pa);
	unlink(pb);
}

/*
 * For each bundled trace, 100 random configurations (dp 1..4, cp 1..16,
 * batch 1..12, bucket 4K..64K, random knobs with roll-back on); each draws
 * a sub-trace of 40 random global batches (plus part of one) from the trace
 * and plans it under every policy but optimal: 3 x 100 x about 40 > 10^4
 * global batches per policy, each checked by check_plan and by
 * plan_validate.
 * Every configuration is planned twice (identical arrays), and once per
 * trace written twice (identical files).
 */
static void
test_properties(void **state)
{
	struct trace_read_opts o;
	struct trace full, sub;
	struct sched_params p;
	struct plan a, b;
	struct job j;
	uint8_t *seen;
	gsl_rng *r;
	size_t s, c, i, n, q, batches = 0;

	assert_non_null(r = gsl_rng_alloc(gsl_rng_mt19937));
	gsl_rng_set(r, 5519);
	plan_init(&a);
	plan_init(&b);
	for (s = 0; s < sizeof sources / sizeof sources[0]; s++) {
		memset(&o, 0, sizeof o);
		o.field = sources[s].field;
		trace_init(&full);
		if (trace_read(tutil_data(sources[s].path), &o, &full, NULL) !=
		    SK_OK)
			fail_msg("%s", err_msg());
		for (c = 0; c < tutil_scale(100); c++) {
			tutil_job(&j, 1 + (int)gsl_rng_uniform_int(r, 4),
			    1 + (int)gsl_rng_uniform_int(r, 12),
			    cps[gsl_rng_uniform_int(r, 5)],
			    buckets[gsl_rng_uniform_int(r, 5)]);
			sched_params_default(&p);
			p.binpack = (enum sched_binpack)gsl_rng_uniform_int(r, 2);
			p.interleave =
			    (enum sched_interleave)gsl_rng_uniform_int(r, 2);
			p.flops = (enum sched_flops)gsl_rng_uniform_int(r, 2);
			p.order = (enum sched_order)gsl_rng_uniform_int(r, 2);
			p.seed = gsl_rng_get(r);
			p.mb_samples = (int)gsl_rng_uniform_int(r, 4);
			p.mb_tokens = gsl_rng_uniform_int(r, 2) ? 0 :
			    1 + gsl_rng_uniform_int(r, (unsigned long)j.cp *
			    j.bucket);
			p.drop_overlong = 1;
			p.drop_last = (int)gsl_rng_uniform_int(r, 2);
			n = 40 * (size_t)j.dp * (size_t)j.batch + 1 +
			    gsl_rng_uniform_int(r, (unsigned long)j.dp * j.batch);
			trace_init(&sub);
			for (i = 0; i < n; i++)
				assert_int_equal(trace_push(&sub, full.len[
				    gsl_rng_uniform_int(r, full.n)]), SK_OK);
			assert_non_null(seen = malloc(n));
			for (q = 0; q < sched_npolicies; q++) {
				const char *pol = sched_policies[q]->name;

				/* A solver per micro-batch, time-limited: too
				 * slow here, and test_opt sizes its cases. */
				if (strcmp(pol, "optimal") == 0)
					continue;
				if (sched_plan(&j, &p, pol, &sub, "sub", &a) !=
				    SK_OK)
					fail_msg("%s, %s: %s", sources[s].path, pol,
					    err_msg());
				if (plan_validate(&a, &sub) != SK_OK)
					fail_msg("%s, %s: %s", sources[s].path, pol,
					    err_msg());
				check_plan(&a, &sub, seen);
				batches += a.niter;
				assert_int_equal(sched_plan(&j, &p, pol, &sub,
				    "sub", &b), SK_OK);
				same_plan(&a, &b);
				if (c == 0)
					same_file(&a, &b);
			}
			free(seen);
			trace_free(&sub);
		}
		trace_free(&full);
	}
	/* at least 10^4 per policy */
	assert_true(batches >= tutil_scale(10000) * (sched_npolicies - 1));
	plan_free(&a);
	plan_free(&b);
	gsl_rng_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_knob_defaults),
		cmocka_unit_test(test_knob_parse),
		cmocka_unit_test(test_knob_record),
		cmocka_unit_test(test_policy_table),
		cmocka_unit_test(test_deepspeed),
		cmocka_unit_test(test_dacp_policy),
		cmocka_unit_test(test_batcher_order),
		cmocka_unit_test(test_sort),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_properties),
	};

	return cmocka_run_group_tests(tests, tutil_setup_tmp,
	    tutil_teardown_tmp);
}
