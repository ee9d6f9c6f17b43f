/* test_pstats: the plan summary metrics on a hand-built plan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cost.h"
#include "err.h"
#include "plan.h"
#include "pstats.h"

/*
 * DP 2 x CP 2, BucketSize 1000 tokens, one iteration of five samples:
 *   DP rank 0, micro-batch 0: 347 whole on CP rank 0, 612 whole on CP rank 1
 *   DP rank 0, micro-batch 1: 1500 sharded (750 tokens on each CP rank)
 *   DP rank 1, micro-batch 0: 900 whole on CP rank 0, CP rank 1 idle
 * (the fifth sample, 2112 tokens, is in the trace but not in the batch).
 */
static void
build(struct plan *p)
{
	static const uint32_t batch[] = { 0, 1, 2, 3 };

	plan_init(p);
	job_default(&p->job);
	p->job.dp = 2;
	p->job.cp = 2;
	p->job.cluster.nodes = 1;
	p->job.cluster.gpus_per_node = 4;
	p->job.bucket_auto = 0;
	p->job.bucket = 1000;
	assert_int_equal(plan_reserve(p, 1, 4, 3), SK_OK);
	assert_int_equal(plan_iter_begin(p, batch, 4), SK_OK);
	assert_int_equal(plan_rank_begin(p), SK_OK);
	assert_int_equal(plan_mb_begin(p), SK_OK);
	assert_int_equal(plan_push(p, 0, 347, 0), SK_OK);
	assert_int_equal(plan_push(p, 1, 612, 1), SK_OK);
	assert_int_equal(plan_mb_begin(p), SK_OK);
	assert_int_equal(plan_push(p, 3, 1500, PLAN_SHARDED), SK_OK);
	assert_int_equal(plan_rank_begin(p), SK_OK);
	assert_int_equal(plan_mb_begin(p), SK_OK);
	assert_int_equal(plan_push(p, 2, 900, 0), SK_OK);
}

static void
test_counts_and_memory(void **state)
{
	struct plan p;
	struct pstats s;

	(void)state;
	build(&p);
	assert_int_equal(pstats_compute(&p, &s), SK_OK);
	assert_int_equal(s.iterations, 1);
	assert_int_equal(s.micro_batches, 3);
	/* 3 micro-batches over 1 iteration x 2 DP ranks; rank 0 has 2. */
	assert_float_equal(s.mb_per_rank_mean, 1.5, 1e-12);
	assert_int_equal(s.mb_per_rank_max, 2);
	assert_int_equal(s.samples_local, 3);
	assert_int_equal(s.samples_sharded, 1);
	assert_int_equal(s.tokens_local, 347 + 612 + 900);
	assert_int_equal(s.tokens_sharded, 1500);
	/* Memory max/mean per micro-batch: 612 / 479.5, 750 / 750, 900 / 450;
	 * their mean is (1.276329... + 1 + 2) / 3 = 1.425443... */
	assert_float_equal(s.mem_balance, (612.0 / 479.5 + 1.0 + 2.0) / 3.0, 1e-12);
	/* The fullest CP rank holds 900 of 1000 tokens. */
	assert_float_equal(s.mem_peak, 0.9, 1e-12);
	plan_free(&p);
}

static void
test_flops_balance(void **state)
{
	struct plan p;
	struct pstats s;
	double f347, f612, f900, f1500, r0, r1;

	(void)state;
	build(&p);
	assert_int_equal(pstats_compute(&p, &s), SK_OK);
	f347 = cost_seq_flops_total(&p.job, 347);
	f612 = cost_seq_flops_total(&p.job, 612);
	f900 = cost_seq_flops_total(&p.job, 900);
	f1500 = cost_seq_flops_total(&p.job, 1500);
	/* Whole plan: each sample's FLOPs once (the shard is 1/2 on 2 ranks). */
	assert_float_equal(s.flops, f347 + f612 + f900 + f1500, 1e-6 * s.flops);
	/* CP balance per micro-batch: max/mean of {f347, f612}, of
	 * {f1500/2, f1500/2} = 1, of {f900, 0} = 2. */
	assert_float_equal(s.cp_balance,
	    (f612 / ((f347 + f612) / 2) + 1.0 + 2.0) / 3.0, 1e-12);
	/* DP rank 0 takes its busiest CP rank per micro-batch: f612 + f1500/2;
	 * DP rank 1: f900. */
	r0 = f612 + f1500 / 2;
	r1 = f900;
	assert_float_equal(s.dp_balance, (r0 > r1 ? r0 : r1) / ((r0 + r1) / 2),
	    1e-12);
	/* Rank 0 carries about 612 + 1500/2 = 1362 tokens of work against
	 * rank 1's 900, so it is the busier one. */
	assert_true(r0 > r1);
	plan_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_and_memory),
		cmocka_unit_test(test_flops_balance),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
