/*
 * The executor with its ranks as threads of this process over the loopback
 * communicator (src/exec/comm_loop.c, src/exec/ranks.c), against a
 * single-rank reference, as tests/exec/test_exec_mpi.c does over MPI.
 *
 * Scheduling only regroups the samples of a global batch, so the loss and
 * every gradient element of one global batch do not depend on the plan.
 * The reference is a plan built here by hand, 1 x 1, every sample in one
 * micro-batch on one rank (no communication at all: a loopback group of
 * one).  The plans under test: the skrull and deepspeed policies' at
 * DP 2 x CP 2 over the same 16 samples (BucketSize 32 tokens, so that
 * skrull shards the long samples across the CP pair and keeps the short
 * ones whole: both kinds are asserted), run by 4 threads; and every plan
 * of tests/exec/xplans.c, built by hand with shard groups of every size
 * (2 at each aligned rank, 3, 4, 6 and 8: the whole micro-batch),
 * micro-batches spanning 2 and 4 DP ranks, groups across two CP groups
 * and overlapping ones, on 4, 6 and 8 threads.  Each must give the
 * reference's loss and gradient within relative 1e-5 (max |a - b| /
 * max |b|) and its weights after 3 AdamW steps within 3e-5 (TOL_W): the
 * reductions run in another order, nothing else differs; the largest
 * difference each plan shows is printed.  The reference's gradient is itself checked against finite
 * differences in test_exec_mpi; here a 2 x 2 run of a different seed must
 * differ from it, so that the comparison can fail.
 *
 * Then the failures: a plan whose shard group needs more ranks than the
 * world is refused on every rank with the group's GPUs and the world
 * rank named; a split that fails on one rank after the others made it
 * (out of memory) is agreed, every rank returns it and the message names
 * the group and the rank; a split that fails in its communication ends
 * every rank at once with SK_ERR_IO instead of hanging.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
#include "xplans.h"

#define NSAMPLES XPLAN_SAMPLES
#define TOL 1e-5
/* AdamW divides each element's step by the root of its own squared
 * gradient, so a gradient element close to zero carries its rounding,
 * which the reductions' order changes, into a step of up to lr (1e-3):
 * after 3 steps the weights of one plan or another agree less closely
 * than the gradients (1.2e-5 of the largest weight for skrull's plan at
 * 2 x 2, whose gradient agrees to 3.6e-7). */
#define TOL_W 3e-5
#define MAXR 8

static const uint32_t *const lens = xplan_lens;

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

/* How a split of the world fails on one rank (struct faulty). */
enum fault { F_NONE, F_NOMEM, F_IO };

/*
 * A world communicator whose n-th split fails on one rank: the loopback
 * world it forwards to, and the fault.  F_NOMEM makes the split with the
 * others, then drops it and fails on its own; F_IO fails without
 * arriving, poisoning the group as a dead peer would.
 */
struct faulty {
	struct comm real;
	struct comm_loop_group *g;
	enum fault fault;
	int victim, nth, splits;
};

/* One run of a plan on its ranks as threads: what every rank got. */
struct run {
	const struct plan *p;
	uint64_t seed;
	struct comm_loop_group *g;
	struct comm world[MAXR];
	struct faulty fw[MAXR];    /* behind world[] when fault != F_NONE */
	int n;                     /* ranks */
	size_t np;                 /* parameters */
	float *grad[MAXR], *param[MAXR]; /* each rank's after step 1; after 3 */
	double loss[MAXR];         /* each rank's, step 1 */
	int code[MAXR];            /* each rank's exec_new */
	char msg[MAXR][ERR_MSG_MAX];  /* its message when it failed */
	double took[MAXR];         /* its exec_new, seconds */
	struct report r;           /* rank 0's, step 1 */
};

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static struct comm *
real_of(struct comm *c)
{
	return &((struct faulty *)c->impl)->real;
}

static int
f_iallreduce(struct comm *c, const float *send, float *recv, size_t count,
    struct comm_req *req)
{
	struct comm *r = real_of(c);

	return r->ops->iallreduce(r, send, recv, count, req);
}

static int
f_iallgatherv(struct comm *c, const float *send, size_t count, float *recv,
    const size_t *counts, const size_t *displs, struct comm_req *req)
{
	struct comm *r = real_of(c);

	return r->ops->iallgatherv(r, send, count, recv, counts, displs, req);
}

static int
f_split(struct comm *c, int color, int key, const char *name,
    struct comm *out)
{
	struct faulty *f = c->impl;
	int e, hit = c->world_rank == f->victim && ++f->splits == f->nth;

	if (hit && f->fault == F_IO) {
		comm_loop_poison(f->g, c->world_rank);
		return err_set(SK_ERR_IO, "injected: the split's traffic failed");
	}
	if ((e = f->real.ops->split(&f->real, color, key, name, out)) != SK_OK ||
	    !hit)
		return e;
	if (out->ops != NULL)
		out->ops->free(out);
	memset(out, 0, sizeof *out);
	return err_set(SK_ERR_NOMEM, "injected: out of memory after the split");
}

static int
f_free(struct comm *c)
{
	return real_of(c)->ops->free(real_of(c));
}

/* The loopback ops but for what the executor calls on its world; the
 * requests it starts are the real communicator's. */
static struct comm_ops faulty_ops;

static void
faulty_init(void)
{
	faulty_ops = comm_loop_ops;
	faulty_ops.name = "faulty loop";
	faulty_ops.iallreduce = f_iallreduce;
	faulty_ops.iallgatherv = f_iallgatherv;
	faulty_ops.split = f_split;
	faulty_ops.free = f_free;
}

static int
rank_main(int rank, void *arg)
{
	struct run *u = arg;
	struct exec_model m;
	struct exec_opts o;
	struct exec *x = NULL;
	const float *v;
	size_t n;
	double l, t0;
	int e, i;

	exec_model_default(&m);
	m.seed = u->seed;
	exec_opts_default(&o);
	o.lr = 1e-2f;
	o.timeout = 60;
	if ((e = backend_cpu_ops.open(0)) != SK_OK)
		return e;
	t0 = now();
	e = exec_new(u->p, &m, &o, &u->world[rank], &x);
	u->took[rank] = now() - t0;
	if ((u->code[rank] = e) != SK_OK) {
		snprintf(u->msg[rank], sizeof u->msg[rank], "%s", err_msg());
		/* The refusals under test end here, every rank alike. */
		if (e != SK_ERR_IO)
			u->world[rank].ops->free(&u->world[rank]);
		backend_cpu_ops.close();
		return SK_OK;
	}
	if ((e = exec_run(x, rank == 0 ? &u->r : NULL, &u->loss[rank])) !=
	    SK_OK)
		goto out;
	v = exec_grads(x, &n);
	if (rank == 0)
		u->np = n;
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

/* Run plan p on n ranks as threads (n 0: the plan's grid), the victim's
 * nth split failing as fault says. */
static void
run_on(struct run *u, const struct plan *p, uint64_t seed, int n,
    enum fault fault, int victim, int nth)
{
	struct faulty *f;
	int k, failed = -1;

	memset(u, 0, sizeof *u);
	u->p = p;
	u->seed = seed;
	u->n = n > 0 ? n : p->job.dp * p->job.cp;
	assert_true(u->n <= MAXR);
	report_init(&u->r);
	assert_int_equal(comm_loop_group_new(u->n, &backend_cpu_ops, 60,
	    &u->g), SK_OK);
	for (k = 0; k < u->n; k++) {
		assert_int_equal(comm_loop_join(u->g, k, &u->world[k]), SK_OK);
		if (fault == F_NONE)
			continue;
		f = &u->fw[k];
		f->real = u->world[k];
		f->g = u->g;
		f->fault = fault;
		f->victim = victim;
		f->nth = nth;
		u->world[k].ops = &faulty_ops;
		u->world[k].impl = f;
	}
	if (ranks_run(u->n, rank_main, stop, u, &failed) != SK_OK)
		fail_msg("rank %d: %s", failed, err_msg());
	comm_loop_group_free(u->g);
}

static void
run_plan(struct run *u, const struct plan *p, uint64_t seed)
{
	int k;

	run_on(u, p, seed, 0, F_NONE, 0, 0);
	for (k = 0; k < u->n; k++)
		if (u->code[k] != SK_OK)
			fail_msg("rank %d: exec_new: %s", k, u->msg[k]);
}

static void
run_free(struct run *u)
{
	int k;

	for (k = 0; k < MAXR; k++) {
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

/*
 * Run p against the reference run a: every rank's loss and gradient
 * within TOL of the reference's, weights after 3 steps within TOL_W, the
 * weights the same bits on every rank; the largest differences printed.
 */
static void
check_plan(const char *name, const struct run *a, const struct plan *p)
{
	struct run b;
	double dl = 0, dg = 0, dw = 0, d;
	int k;

	run_plan(&b, p, 20250525);
	assert_int_equal(b.np, a->np);
	for (k = 0; k < b.n; k++) {
		d = fabs(b.loss[k] - a->loss[0]) / fabs(a->loss[0]);
		if (!(d <= TOL))
			fail_msg("%s rank %d: loss %.9g, reference %.9g", name,
			    k, b.loss[k], a->loss[0]);
		dl = fmax(dl, d);
		d = reldiff(b.grad[k], a->grad[0], a->np);
		if (!(d <= TOL))
			fail_msg("%s rank %d: gradient differs by %.3g", name, k,
			    d);
		dg = fmax(dg, d);
		d = reldiff(b.param[k], a->param[0], a->np);
		if (!(d <= TOL_W))
			fail_msg("%s rank %d: weights after 3 steps differ by "
			    "%.3g", name, k, d);
		dw = fmax(dw, d);
		/* Every rank holds the same weights, bit for bit. */
		assert_memory_equal(b.param[k], b.param[0], a->np *
		    sizeof (float));
	}
	assert_int_equal(b.r.ngpus, b.n);
	assert_int_equal(b.r.niter, 1);
	assert_true(b.r.time[0] > 0);
	for (k = 0; k < b.n; k++)
		assert_true(b.r.cell[k].flops > 0 && b.r.cell[k].peak > 0);
	print_message("# %s on %d ranks: max relative difference: loss %.2e, "
	    "gradient %.2e (tolerance %.0e), weights after 3 steps %.2e "
	    "(%.0e)\n", name, b.n, dl, dg, TOL, dw, TOL_W);
	run_free(&b);
}

static void
check_policy(const char *policy, int need_both)
{
	struct plan ref, p;
	struct run a;
	int sh, loc;

	ref_plan(&ref);
	run_plan(&a, &ref, 20250525);
	plan_of(policy, &p, &sh, &loc);
	if (need_both && (sh == 0 || loc == 0))
		fail_msg("%s: %d sharded and %d local samples", policy, sh, loc);
	check_plan(policy, &a, &p);
	run_free(&a);
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

/* The hand-built plan called name (xplans.c), validated. */
static void
xplan_of(const char *name, struct plan *p)
{
	const struct xplan *x = xplan_find(name);
	struct job j;

	assert_non_null(x);
	tiny_job(&j, 1, 1);
	if (xplan_build(x, &j, p) != SK_OK ||
	    plan_validate(p, NULL) != SK_OK)
		fail_msg("%s: %s", name, err_msg());
}

/* Every hand-built plan: groups of every size, spans, overlaps. */
static void
test_groups(void **state)
{
	struct plan ref, p;
	struct run a;
	size_t i;

	(void)state;
	ref_plan(&ref);
	run_plan(&a, &ref, 20250525);
	for (i = 0; i < xplan_count; i++) {
		xplan_of(xplans[i].name, &p);
		check_plan(xplans[i].name, &a, &p);
		plan_free(&p);
	}
	run_free(&a);
	plan_free(&ref);
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
	assert_true(reldiff(b.grad[0], a.grad[0], a.np) > 1e-2);
	run_free(&a);
	run_free(&b);
	plan_free(&ref);
	plan_free(&p);
}

/*
 * Selective recompute (xformer.h) against none, the plan's job alike but
 * for it, 3 layers: every rank's loss, gradient and weights after 3 steps
 * the same bits (the rerun is the forward's kernel on the forward's
 * inputs); the FLOPs all ranks executed more by exactly the attention
 * forward of every sample in every layer, sum_i 3 x 4 x heads x head_dim
 * x S_i (S_i + 1) / 2 (causal pairs: the shards of a sample hold its
 * pairs between them), the model FLOPs unchanged; each rank's workspace
 * smaller by one layer's log-sum-exp (layers - 2 = 1 of them: 4 heads x
 * 4 bytes per row of its largest part), so the peak drops by a positive
 * multiple of 16 bytes.  On skrull's plan at 2 x 2 (shards and whole
 * samples) and on span4, a micro-batch over 2 DP ranks' 8 GPUs.
 */
static void
check_recompute(const char *name, const struct plan *p0)
{
	struct plan p;
	struct run a, b;
	double pairs = 0, extra = 0, dpk;
	size_t i;
	int k;

	for (i = 0; i < NSAMPLES; i++)
		pairs += (double)lens[i] * ((double)lens[i] + 1) / 2;
	p = *p0;
	p.job.model.layers = 3;
	p.job.recompute = RECOMPUTE_NONE;
	run_plan(&a, &p, 20250525);
	p.job.recompute = RECOMPUTE_SELECTIVE;
	run_plan(&b, &p, 20250525);
	for (k = 0; k < a.n; k++) {
		assert_true(a.loss[k] == b.loss[k]);
		assert_memory_equal(a.grad[k], b.grad[k], a.np * sizeof (float));
		assert_memory_equal(a.param[k], b.param[k],
		    a.np * sizeof (float));
		extra += b.r.cell[k].flops - a.r.cell[k].flops;
		dpk = a.r.cell[k].peak - b.r.cell[k].peak;
		if (!(dpk > 0 && fmod(dpk, 16) == 0))
			fail_msg("%s rank %d: peak %.0f without recompute, %.0f "
			    "with", name, k, a.r.cell[k].peak, b.r.cell[k].peak);
	}
	assert_true(fabs(extra - 3 * 4 * 4 * 8 * pairs) <= 1e-6 * extra);
	assert_true(a.r.model_flops[0] == b.r.model_flops[0]);
	run_free(&a);
	run_free(&b);
}

static void
test_recompute(void **state)
{
	struct plan p;
	int sh, loc;

	(void)state;
	plan_of("skrull", &p, &sh, &loc);
	assert_true(sh > 0 && loc > 0);
	check_recompute("skrull", &p);
	plan_free(&p);
	xplan_of("span4", &p);
	check_recompute("span4", &p);
	plan_free(&p);
}

/* Every rank of u returned code from exec_new, within a few seconds (the
 * group's timeout is 60), with a message holding want. */
static void
expect_refused(const struct run *u, int code, const char *want)
{
	int k;

	for (k = 0; k < u->n; k++) {
		if (u->code[k] != code)
			fail_msg("rank %d: exec_new returned %d, not %d: %s", k,
			    u->code[k], code, u->msg[k]);
		if (strstr(u->msg[k], want) == NULL)
			fail_msg("rank %d: \"%s\" lacks \"%s\"", k, u->msg[k],
			    want);
		if (!(u->took[k] < 10))
			fail_msg("rank %d: exec_new took %.1f s", k, u->took[k]);
	}
}

/* A plan whose shard group spans 4 GPUs on a world of 2: refused on
 * every rank, naming the group and the rank. */
static void
test_group_too_large(void **state)
{
	struct plan p;
	struct run u;
	char want[64];
	int k;

	(void)state;
	xplan_of("span2", &p);
	run_on(&u, &p, 1, 2, F_NONE, 0, 0);
	expect_refused(&u, SK_ERR_ARG, "shard group [0, 4) is GPUs 0..3, but "
	    "the world has 2 ranks");
	for (k = 0; k < 2; k++) {
		snprintf(want, sizeof want, "exec: world rank %d: ", k);
		assert_non_null(strstr(u.msg[k], want));
	}
	run_free(&u);
	plan_free(&p);
}

/*
 * cp4's groups need two splits: (0, 2) and (2, 2), then (0, 4).  Rank 2's
 * second fails after the split was made everywhere (out of memory):
 * agreed, every rank returns it, rank 2 with its own message naming the
 * group, the others naming rank 2.  Then rank 1's first fails in its
 * traffic: every rank ends at once with SK_ERR_IO.
 */
static void
test_split_fails(void **state)
{
	struct plan p;
	struct run u;
	int k;

	(void)state;
	faulty_init();
	xplan_of("cp4", &p);
	run_on(&u, &p, 1, 0, F_NOMEM, 2, 2);
	expect_refused(&u, SK_ERR_NOMEM, "world rank 2");
	assert_non_null(strstr(u.msg[2], "exec: world rank 2: making the shard "
	    "group of GPUs 0..3: injected: out of memory"));
	for (k = 0; k < 4; k++)
		if (k != 2)
			assert_non_null(strstr(u.msg[k], "exec: making the shard "
			    "groups' communicators failed on world rank 2"));
	run_free(&u);
	run_on(&u, &p, 1, 0, F_IO, 1, 1);
	expect_refused(&u, SK_ERR_IO, "shard group of GPUs ");
	assert_non_null(strstr(u.msg[1], "making the shard group of GPUs 0..1: "
	    "injected: the split's traffic failed"));
	assert_non_null(strstr(u.msg[3], "world rank 1 failed"));
	run_free(&u);
	plan_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skrull),
		cmocka_unit_test(test_skrull_paper),
		cmocka_unit_test(test_deepspeed),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_seed_matters),
		cmocka_unit_test(test_recompute),
		cmocka_unit_test(test_group_too_large),
		cmocka_unit_test(test_split_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
