/*
 * The executor with its ranks as threads of this process over the loopback
 * communicator (src/exec/comm_loop.c, src/exec/ranks.c), against a
 * single-rank reference, as tests/exec/test_exec_mpi.c does over MPI.
 *
 * Scheduling only regroups the samples of a global batch, so the loss and
 * every gradient element of one global batch do not depend on the plan.
 * The reference is a plan built here by hand, 1 x 1, every sample in one
 * micro-batch on one rank (no communication at all: a loopback group of
 * one); the plans under test are the skrull and deepspeed policies' at
 * DP 2 x CP 2 over the same 16 samples (BucketSize 32 tokens, so that
 * skrull shards the long samples across the CP pair and keeps the short
 * ones whole: both kinds are asserted), run by 4 threads.  Each must give
 * the reference's loss, gradient and weights after 3 AdamW steps within
 * relative 1e-5 (max |a - b| / max |b|): the reductions run in another
 * order, nothing else differs.  The reference's gradient is itself checked
 * against finite differences in test_exec_mpi; here a 2 x 2 run of a
 * different seed must differ from it, so that the comparison can fail.
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

#include "backend.h"
#include "comm.h"
#include "comm_loop.h"
#include "err.h"
#include "exec.h"
#include "plan.h"
#include "ranks.h"
#include "report.h"
#include "sched.h"
#include "trace.h"

#define NSAMPLES 16
#define TOL 1e-5

static const uint32_t lens[NSAMPLES] = {
	37, 5, 60, 12, 3, 44, 21, 9, 58, 16, 7, 30, 51, 4, 26, 14
};

static void
tiny_job(struct job *j, int dp, int cp)
{
	job_default(j);
	strcpy(j->model.name, "tiny");
	j->model.layers = 2;
	j->model.hidden = 32;
	j->model.heads = 4;
	j->model.kv_heads = 2;
	j->model.head_dim = 8;
	j->model.ffn = 64;
	j->model.vocab = 97;
	j->model.tied = 0;
	j->model.qkv_bias = 0;
	j->cluster.nodes = 1;
	j->cluster.gpus_per_node = dp * cp;
	j->dp = dp;
	j->cp = cp;
	j->batch = NSAMPLES / dp;
	j->zero = 0;
	j->bucket_auto = 0;
	j->bucket = (uint32_t)(64 / cp);
}

static void
ref_plan(struct plan *p)
{
	uint32_t idx[NSAMPLES];
	size_t i;

	plan_init(p);
	tiny_job(&p->job, 1, 1);
	p->job.batch = NSAMPLES;
	p->job.bucket = 1024;
	strcpy(p->policy, "reference");
	p->trace_n = NSAMPLES;
	for (i = 0; i < NSAMPLES; i++)
		idx[i] = (uint32_t)i;
	assert_int_equal(plan_reserve(p, 1, NSAMPLES, 1), SK_OK);
	assert_int_equal(plan_iter_begin(p, idx, NSAMPLES), SK_OK);
	assert_int_equal(plan_rank_begin(p), SK_OK);
	assert_int_equal(plan_mb_begin(p), SK_OK);
	for (i = 0; i < NSAMPLES; i++)
		assert_int_equal(plan_push(p, (uint32_t)i, lens[i], 0), SK_OK);
}

/* One run of a plan on its ranks as threads: what every rank got. */
struct run {
	const struct plan *p;
	uint64_t seed;
	struct comm_loop_group *g;
	struct comm world[4];
	size_t n;                  /* parameters */
	float *grad[4], *param[4]; /* each rank's after step 1; after 3 */
	double loss[4];            /* each rank's, step 1 */
	struct report r;           /* rank 0's, step 1 */
};

static int
rank_main(int rank, void *arg)
{
	struct run *u = arg;
	struct exec_model m;
	struct exec_opts o;
	struct exec *x = NULL;
	const float *v;
	size_t n;
	double l;
	int e, i;

	exec_model_default(&m);
	m.seed = u->seed;
	exec_opts_default(&o);
	o.lr = 1e-2f;
	o.timeout = 60;
	if ((e = backend_cpu_ops.open(0)) != SK_OK)
		return e;
	if ((e = exec_new(u->p, &m, &o, &u->world[rank], &x)) != SK_OK)
		goto out;
	if ((e = exec_run(x, rank == 0 ? &u->r : NULL, &u->loss[rank])) !=
	    SK_OK)
		goto out;
	v = exec_grads(x, &n);
	if (rank == 0)
		u->n = n;
	if ((u->grad[rank] = malloc(n * sizeof *v)) == NULL ||
	    (u->param[rank] = malloc(n * sizeof *v)) == NULL) {
		e = err_set(SK_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(u->grad[rank], v, n * sizeof *v);
	for (i = 0; i < 2 && e == SK_OK; i++)
		e = exec_run(x, NULL, &l);
	if (e == SK_OK)
		memcpy(u->param[rank], exec_params(x, &n), n * sizeof *v);
out:
	exec_free(x);
	u->world[rank].ops->free(&u->world[rank]);
	backend_cpu_ops.close();
	return e;
}

static void
stop(int rank, void *arg)
{
	comm_loop_poison(((struct run *)arg)->g, rank);
}

static void
run_plan(struct run *u, const struct plan *p, uint64_t seed)
{
	const int n = p->job.dp * p->job.cp;
	int k, failed = -1;

	memset(u, 0, sizeof *u);
	u->p = p;
	u->seed = seed;
	report_init(&u->r);
	assert_int_equal(comm_loop_group_new(n, &backend_cpu_ops, 60, &u->g),
	    SK_OK);
	for (k = 0; k < n; k++)
		assert_int_equal(comm_loop_join(u->g, k, &u->world[k]), SK_OK);
	if (ranks_run(n, rank_main, stop, u, &failed) != SK_OK)
		fail_msg("rank %d: %s", failed, err_msg());
	comm_loop_group_free(u->g);
}

static void
run_free(struct run *u)
{
	int k;

	for (k = 0; k < 4; k++) {
		free(u->grad[k]);
		free(u->param[k]);
	}
	report_free(&u->r);
}

/* max |a - b| / max |b| over n elements (NaN anywhere gives infinity). */
static double
reldiff(const float *a, const float *b, size_t n)
{
	double d = 0, m = 0, x;
	size_t i;

	for (i = 0; i < n; i++) {
		x = fabs((double)a[i] - (double)b[i]);
		if (isnan(x))
			return INFINITY;
		d = x > d ? x : d;
		m = fabs((double)b[i]) > m ? fabs((double)b[i]) : m;
	}
	return m > 0 ? d / m : d;
}

static void
plan_of(const char *policy, struct plan *p, int *sharded, int *local)
{
	struct sched_params sp;
	struct trace t;
	struct job j;
	size_t i;

	trace_init(&t);
	plan_init(p);
	for (i = 0; i < NSAMPLES; i++)
		assert_int_equal(trace_push(&t, lens[i]), SK_OK);
	sched_params_default(&sp);
	tiny_job(&j, 2, 2);
	assert_int_equal(sched_plan(&j, &sp, policy, &t, "", p), SK_OK);
	assert_int_equal(plan_validate(p, &t), SK_OK);
	assert_int_equal(p->niter, 1);
	*sharded = *local = 0;
	for (i = 0; i < p->nsamples; i++) {
		if (p->samples[i].place == PLAN_SHARDED)
			(*sharded)++;
		else
			(*local)++;
	}
	trace_free(&t);
}

static void
check_policy(const char *policy, int need_both)
{
	struct plan ref, p;
	struct run a, b;
	double d;
	int k, sh, loc;

	ref_plan(&ref);
	run_plan(&a, &ref, 20250525);
	plan_of(policy, &p, &sh, &loc);
	if (need_both && (sh == 0 || loc == 0))
		fail_msg("%s: %d sharded and %d local samples", policy, sh, loc);
	run_plan(&b, &p, 20250525);
	assert_int_equal(b.n, a.n);
	for (k = 0; k < 4; k++) {
		d = fabs(b.loss[k] - a.loss[0]) / fabs(a.loss[0]);
		if (!(d <= TOL))
			fail_msg("%s rank %d: loss %.9g, reference %.9g", policy,
			    k, b.loss[k], a.loss[0]);
		d = reldiff(b.grad[k], a.grad[0], a.n);
		if (!(d <= TOL))
			fail_msg("%s rank %d: gradient differs by %.3g", policy,
			    k, d);
		d = reldiff(b.param[k], a.param[0], a.n);
		if (!(d <= TOL))
			fail_msg("%s rank %d: weights after 3 steps differ by "
			    "%.3g", policy, k, d);
		/* Every rank holds the same weights, bit for bit. */
		assert_memory_equal(b.param[k], b.param[0], a.n * sizeof (float));
	}
	assert_int_equal(b.r.ngpus, 4);
	assert_int_equal(b.r.niter, 1);
	assert_true(b.r.time[0] > 0);
	run_free(&a);
	run_free(&b);
	plan_free(&ref);
	plan_free(&p);
}

static void
test_skrull(void **state)
{
	(void)state;
	check_policy("skrull", 1);
}

static void
test_skrull_paper(void **state)
{
	(void)state;
	check_policy("skrull-paper", 1);
}

static void
test_deepspeed(void **state)
{
	(void)state;
	check_policy("deepspeed", 0);
}

/* Another seed gives another gradient: the comparison above can fail. */
static void
test_seed_matters(void **state)
{
	struct plan ref, p;
	struct run a, b;
	int sh, loc;

	(void)state;
	ref_plan(&ref);
	run_plan(&a, &ref, 20250525);
	plan_of("skrull", &p, &sh, &loc);
	run_plan(&b, &p, 7);
	assert_true(reldiff(b.grad[0], a.grad[0], a.n) > 1e-2);
	run_free(&a);
	run_free(&b);
	plan_free(&ref);
	plan_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skrull),
		cmocka_unit_test(test_skrull_paper),
		cmocka_unit_test(test_deepspeed),
		cmocka_unit_test(test_seed_matters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
