/*
 * Tests of the executor (src/exec/exec.c), one DP x CP layout per run:
 *   mpirun -np D*C test_exec_mpi --dp D --cp C
 * tests/exec-mpi.sh loops over the layouts.  Rank 0 prints TAP; each
 * check's pass or fail is combined over the ranks with MPI_Allreduce on
 * MPI_COMM_WORLD (outside the code under test), failing ranks explain
 * themselves on stderr.
 *
 * The proof that the executor executes a plan: scheduling only regroups
 * the samples of a global batch, so the loss and every gradient element of
 * one global batch must not depend on the plan.  The reference is a plan
 * built here by hand, 1 x 1, every sample local in one micro-batch (no CP
 * communication, no sharding), run in this same program by world rank 0
 * alone on a communicator of its own (every rank splits the world by its
 * rank); its loss, gradient and weights after 3 AdamW steps are broadcast.
 * Then sched_plan makes plans of the layout under test with the
 * deepspeed, skrull, dacp and sorted policies from one trace that is
 * exactly one global batch (16 samples of 3 to 60 tokens; BucketSize 64 /
 * CP, so that at CP >= 2 skrull and dacp shard the long samples and keep
 * the short ones local, and deepspeed shards samples shorter than 2 x CP
 * tokens, whose chunks are partly empty), and each must give the
 * reference's loss and gradient within relative 1e-5 (max |a - b| /
 * max |b| over the flat vector), and weights after 3 AdamW steps within
 * 3e-5 (TOL_W): the reductions run in another order, nothing else
 * differs.
 *
 * The same holds for every plan of tests/exec/xplans.c built for the
 * layout (hand-built: shard groups of every size the grid has, micro-
 * batches spanning DP ranks, groups across CP groups and overlapping
 * ones; 1 x 4, 2 x 2, 2 x 4, 1 x 6, 2 x 3 and 4 x 2), with the same
 * tolerance; the policies' plans are made where CP divides 64.  On a
 * world of fewer than 8 ranks, xplans' 8-GPU plan is refused on every
 * rank, naming its group of 8 and the world's size.
 *
 * The reference itself is checked against central finite differences of
 * its loss (step 1% of the tensor's RMS, at least 1e-4), at the largest
 * gradient element of each weight
 * tensor, by rank 0 alone: the consistency above cannot see a mistake that
 * every plan shares.
 *
 * With --drill-abort the program is the failure drill: the last rank never
 * runs the plan, the others time out in comm_wait after 2 s, print the
 * error and abort the job (status 3) through the communicator.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mpi.h>

#include "comm.h"
#include "err.h"
#include "exec.h"
#include "plan.h"
#include "report.h"
#include "sched.h"
#include "trace.h"
#include "xformer.h"
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

/* The trace: one global batch.  Four samples (3, 4, 5, 7) are shorter
 * than 2 x 4 tokens. */
static const uint32_t *const lens = xplan_lens;

static const char *const policies[] = { "deepspeed", "skrull",
    "skrull-paper", "dacp", "sorted" };

static int me = -1, nranks;
static int points;
static char why[512];

__attribute__((format(printf, 1, 2)))
static void
note(const char *fmt, ...)
{
	va_list ap;

	if (why[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
}

static int
rc_is(int rc, int want, const char *what)
{
	if (rc == want)
		return 1;
	note("%s returned %d (%s), expected %d: %s", what, rc, err_name(rc),
	    want, err_msg());
	return 0;
}

/* One TAP point: ok everywhere is ok; rank 0 names the failing ranks. */
__attribute__((format(printf, 2, 3)))
static void
check(int ok, const char *fmt, ...)
{
	unsigned bad = ok ? 0u : 1u << me, all = 0;
	char name[256];
	va_list ap;
	int k;

	va_start(ap, fmt);
	vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	if (!ok) {
		fprintf(stderr, "# rank %d: %s: %s\n", me, name,
		    why[0] != '\0' ? why : "failed");
		fflush(stderr);
	}
	why[0] = '\0';
	MPI_Allreduce(&bad, &all, 1, MPI_UNSIGNED, MPI_BOR, MPI_COMM_WORLD);
	points++;
	if (me != 0)
		return;
	if (all == 0) {
		printf("ok %d - %s\n", points, name);
	} else {
		printf("not ok %d - %s # failed on rank", points, name);
		for (k = 0; k < nranks; k++)
			if (all & 1u << k)
				printf(" %d", k);
		printf("\n");
	}
	fflush(stdout);
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

/* The largest of x over the ranks (so that every rank prints the same). */
static double
worst(double x)
{
	double y = 0;

	MPI_Allreduce(&x, &y, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
	return y;
}

/* The tiny model of the tests, in a job of dp x cp GPUs. */
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

/* The reference plan: 1 x 1, one micro-batch, every sample local. */
static int
ref_plan(struct plan *p)
{
	uint32_t idx[NSAMPLES];
	size_t i;
	int e;

	plan_init(p);
	tiny_job(&p->job, 1, 1);
	p->job.batch = NSAMPLES;
	p->job.bucket = 1024;
	strcpy(p->policy, "reference");
	p->trace_n = NSAMPLES;
	for (i = 0; i < NSAMPLES; i++)
		idx[i] = (uint32_t)i;
	if ((e = plan_reserve(p, 1, NSAMPLES, 1)) != SK_OK ||
	    (e = plan_iter_begin(p, idx, NSAMPLES)) != SK_OK ||
	    (e = plan_rank_begin(p)) != SK_OK ||
	    (e = plan_mb_begin(p)) != SK_OK)
		return e;
	for (i = 0; i < NSAMPLES; i++)
		if ((e = plan_push(p, (uint32_t)i, lens[i], 0)) != SK_OK)
			return e;
	return SK_OK;
}

static void
test_opts(struct exec_opts *o)
{
	exec_opts_default(o);
	o->lr = 1e-2f;
	o->timeout = 60;
}

static void
test_model(struct exec_model *m)
{
	exec_model_default(m);
	m->seed = 20250525;
}

/* What the reference run gives (every rank holds a copy). */
struct ref {
	double loss;
	float *grad, *param;  /* after the first step; after three */
	size_t n;
};

static void
reference(struct comm *world, struct ref *rf)
{
	struct exec_model m;
	struct exec_opts o;
	struct comm self;
	struct plan p;
	struct exec *x = NULL;
	const float *v;
	double l = 0;
	unsigned long long n = 0;
	int ok = 1, i;

	test_model(&m);
	test_opts(&o);
	ok &= rc_is(ref_plan(&p), SK_OK, "ref_plan");
	ok &= rc_is(comm_mpi_split(world, world->rank, 0, "self", &self),
	    SK_OK, "comm_mpi_split");
	if (ok && me == 0) {
		ok &= rc_is(exec_new(&p, &m, &o, &self, &x), SK_OK, "exec_new");
		if (ok)
			ok &= rc_is(exec_run(x, NULL, &l), SK_OK, "exec_run");
		if (ok) {
			v = exec_grads(x, &rf->n);
			n = rf->n;
			rf->grad = malloc(rf->n * sizeof *rf->grad);
			rf->param = malloc(rf->n * sizeof *rf->param);
			memcpy(rf->grad, v, rf->n * sizeof *v);
			rf->loss = l;
			for (i = 0; i < 2 && ok; i++)
				ok &= rc_is(exec_run(x, NULL, &l), SK_OK,
				    "exec_run");
			v = exec_params(x, &rf->n);
			memcpy(rf->param, v, rf->n * sizeof *v);
		}
		exec_free(x);
	}
	ok &= rc_is(self.ops->free(&self), SK_OK, "free");
	MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
	if (me != 0 && n > 0) {
		rf->n = (size_t)n;
		rf->grad = malloc(rf->n * sizeof *rf->grad);
		rf->param = malloc(rf->n * sizeof *rf->param);
	}
	if (n > 0 && (rf->grad == NULL || rf->param == NULL)) {
		fprintf(stderr, "test_exec_mpi: out of memory\n");
		world->ops->abort(world, 2);
	}
	if (n > 0) {
		MPI_Bcast(&rf->loss, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
		MPI_Bcast(rf->grad, (int)n, MPI_FLOAT, 0, MPI_COMM_WORLD);
		MPI_Bcast(rf->param, (int)n, MPI_FLOAT, 0, MPI_COMM_WORLD);
	}
	ok &= n > 0;
	check(ok, "reference: 1 x 1, all local, %llu parameters, loss %.6f",
	    n, rf->loss);
	plan_free(&p);
}

/* The loss of the reference plan at weights w (rank 0, step 0). */
static int
loss_at(struct exec *x, const float *w, size_t n, double *l)
{
	int e;

	if ((e = exec_set_params(x, w, n)) != SK_OK)
		return e;
	return exec_run(x, NULL, l);
}

static void
test_fd(struct comm *world)
{
	static const char *const names[] = { "emb", "attn norm", "Wq", "Wk",
	    "Wv", "Wo", "mlp norm", "Wg", "Wu", "Wd", "final norm", "out" };
	struct xf_shape s = { 32, 2, 4, 2, 8, 64, 97, 0, 1e6, 1e-6f, 0 };
	struct xf_layout l;
	struct exec_model m;
	struct exec_opts o;
	struct comm self;
	struct plan p;
	struct exec *x = NULL;
	const float *g0;
	float *w = NULL, *g = NULL, keep;
	size_t lo[12], len[12], n = 0, i, r, best;
	double lp, lm, l0, fd, gmax = 0, err, worst_err = 0, h, rms;
	int ok, lay;

	xf_layout(&s, &l);
	/* Layer 1 (the last): its gradients pass through no later layer's
	 * backward, layer 0's through all; both are checked for the
	 * attention's projections, layer 1 for the rest. */
	lay = 1;
	lo[0] = l.emb;                    len[0] = l.layer0;
	lo[1] = l.layer0 + l.an;          len[1] = s.hidden;
	lo[2] = l.layer0 + l.wq;          len[2] = l.wk - l.wq;
	lo[3] = l.layer0 + l.wk;          len[3] = l.wv - l.wk;
	lo[4] = l.layer0 + l.wv;          len[4] = l.wo - l.wv;
	lo[5] = l.layer0 + l.wo;          len[5] = l.mn - l.wo;
	lo[6] = l.layer0 + lay * l.stride + l.mn;  len[6] = s.hidden;
	lo[7] = l.layer0 + lay * l.stride + l.wg;  len[7] = l.wu - l.wg;
	lo[8] = l.layer0 + lay * l.stride + l.wu;  len[8] = l.wd - l.wu;
	lo[9] = l.layer0 + lay * l.stride + l.wd;  len[9] = l.stride - l.wd;
	lo[10] = l.fnorm;                 len[10] = s.hidden;
	lo[11] = l.out;                   len[11] = l.n - l.out;
	test_model(&m);
	test_opts(&o);
	o.step = 0;
	ok = rc_is(ref_plan(&p), SK_OK, "ref_plan");
	ok &= rc_is(comm_mpi_split(world, world->rank, 0, "self", &self),
	    SK_OK, "comm_mpi_split");
	if (ok && me == 0) {
		ok = rc_is(exec_new(&p, &m, &o, &self, &x), SK_OK, "exec_new") &&
		    rc_is(exec_run(x, NULL, &l0), SK_OK, "exec_run");
		if (ok) {
			g0 = exec_grads(x, &n);
			ok = n == l.n;
		}
		if (ok) {
			w = malloc(n * sizeof *w);
			g = malloc(n * sizeof *g);
			ok = w != NULL && g != NULL;
		}
		if (ok) {
			memcpy(g, g0, n * sizeof *g);
			memcpy(w, exec_params(x, &n), n * sizeof *w);
			for (i = 0; i < n; i++)
				gmax = fmax(gmax, fabs(g[i]));
		}
		for (r = 0; ok && r < 12; r++) {
			best = lo[r];
			for (i = lo[r]; i < lo[r] + len[r]; i++)
				if (fabs(g[i]) > fabs(g[best]))
					best = i;
			/* The step follows the tensor's scale: the norms' weights
			 * are 1, the embedding's about 0.02. */
			rms = 0;
			for (i = lo[r]; i < lo[r] + len[r]; i++)
				rms += (double)w[i] * w[i];
			h = 1e-2 * sqrt(rms / (double)len[r]);
			if (h < 1e-4)
				h = 1e-4;
			keep = w[best];
			w[best] = keep + (float)h;
			ok &= rc_is(loss_at(x, w, n, &lp), SK_OK, "exec_run");
			w[best] = keep - (float)h;
			ok &= rc_is(loss_at(x, w, n, &lm), SK_OK, "exec_run");
			w[best] = keep;
			fd = (lp - lm) / (((double)keep + h) - ((double)keep - h));
			/* Truncation (h^2 times the third derivative) and the
			 * float loss's rounding over 2h: a few percent of the
			 * element, or 1e-3 of the largest gradient. */
			err = fabs(fd - g[best]);
			worst_err = fmax(worst_err, err / (fabs(g[best]) +
			    1e-2 * gmax));
			if (err > 3e-2 * fabs(g[best]) + 1e-3 * gmax) {
				note("%s [%zu]: gradient %.6g, finite difference "
				    "%.6g", names[r], best, (double)g[best], fd);
				ok = 0;
			}
		}
		if (x != NULL)
			exec_free(x);
	}
	ok &= rc_is(self.ops->free(&self), SK_OK, "free");
	worst_err = worst(worst_err);
	check(ok, "reference gradient against finite differences of the loss "
	    "(12 tensors, worst |fd - g| / (|g| + 0.01 max |g|) = %.2e)",
	    worst_err);
	free(w);
	free(g);
	plan_free(&p);
}

/* A failure on one rank only is returned on every rank, and a plan of
 * another grid is refused everywhere; the world stays usable. */
static void
test_agree(struct comm *world, int dp, int cp)
{
	struct exec_model m;
	struct exec_opts o;
	struct plan p, q;
	struct trace t;
	struct sched_params sp;
	struct job j;
	struct exec *x = NULL;
	char want[64];
	int ok = 1, e;

	test_model(&m);
	test_opts(&o);
	if (me == nranks - 1)
		m.hidden = 30;  /* not a multiple of 4 heads */
	trace_init(&t);
	plan_init(&q);
	for (e = 0; e < NSAMPLES; e++)
		trace_push(&t, lens[e]);
	sched_params_default(&sp);
	tiny_job(&j, dp, cp);
	ok &= rc_is(sched_plan(&j, &sp, "deepspeed", &t, "", &q), SK_OK,
	    "sched_plan");
	e = exec_new(&q, &m, &o, world, &x);
	ok &= rc_is(e, SK_ERR_ARG, "exec_new") && x == NULL;
	snprintf(want, sizeof want, "world rank %d", nranks - 1);
	if (strstr(err_msg(), want) == NULL) {
		note("message \"%s\" lacks \"%s\"", err_msg(), want);
		ok = 0;
	}
	check(ok, "exec_new: a failure on world rank %d only is returned "
	    "on every rank", nranks - 1);

	ok = rc_is(ref_plan(&p), SK_OK, "ref_plan");
	x = NULL;
	test_model(&m);
	if (nranks > 1) {
		ok &= rc_is(exec_new(&p, &m, &o, world, &x), SK_ERR_ARG,
		    "exec_new") && x == NULL;
		check(ok, "exec_new: a 1 x 1 plan on %d ranks is refused "
		    "everywhere", nranks);
	}
	plan_free(&p);
	if (nranks < 8) {
		ok = rc_is(xplan_build(xplan_find("mix"), &q.job, &p),
		    SK_OK, "xplan_build");
		x = NULL;
		ok &= rc_is(exec_new(&p, &m, &o, world, &x), SK_ERR_ARG,
		    "exec_new") && x == NULL;
		snprintf(want, sizeof want, "world has %d ranks", nranks);
		if (strstr(err_msg(), "exec: world rank ") == NULL ||
		    strstr(err_msg(), "shard group [0, 8) is GPUs 0..7") ==
		    NULL || strstr(err_msg(), want) == NULL) {
			note("message \"%s\" lacks the group or the rank",
			    err_msg());
			ok = 0;
		}
		check(ok, "exec_new: a plan with a shard group of 8 GPUs on %d "
		    "ranks is refused everywhere, naming the group", nranks);
		plan_free(&p);
	}
	plan_free(&q);
	trace_free(&t);
}

static void
count_places(const struct plan *p, int *sh, int *loc)
{
	size_t i;

	*sh = 0;
	*loc = 0;
	for (i = 0; i < p->nsamples; i++) {
		if (p->samples[i].place == PLAN_SHARDED)
			(*sh)++;
		else
			(*loc)++;
	}
}

/* The report's cells add up and are positive. */
static int
report_ok(const struct report *r, int ngpus)
{
	const struct report_cell *c;
	double sum;
	int k;

	if (r->niter != 1 || r->ngpus != ngpus || !(r->time[0] > 0) ||
	    r->tokens[0] == 0 || !(r->model_flops[0] > 0)) {
		note("report: %zu iterations, %d GPUs, time %g, %llu tokens",
		    r->niter, r->ngpus, r->niter > 0 ? r->time[0] : 0,
		    r->niter > 0 ? (unsigned long long)r->tokens[0] : 0ULL);
		return 0;
	}
	for (k = 0; k < ngpus; k++) {
		c = &r->cell[k];
		sum = c->busy + c->comm + c->wait;
		if (!(c->busy > 0) || !(c->peak > 0) || !(c->flops > 0) ||
		    fabs(sum - r->time[0]) > 1e-6 * r->time[0] + 1e-9) {
			note("report: GPU %d: busy %g comm %g wait %g (time %g), "
			    "FLOPs %g, peak %g", k, c->busy, c->comm, c->wait,
			    r->time[0], c->flops, c->peak);
			return 0;
		}
	}
	return 1;
}

/* Run plan p (called name) on the world: loss, gradient, report and
 * weights after 3 AdamW steps against the reference. */
static void
check_plan(struct comm *world, const struct ref *rf, const char *name,
    const struct plan *p, int dp, int cp)
{
	struct exec_model m;
	struct exec_opts o;
	struct report r;
	struct exec *x = NULL;
	const float *v;
	double l = 0, dl, dg = INFINITY, dw = INFINITY;
	size_t n = 0;
	int ok, i;

	test_model(&m);
	test_opts(&o);
	report_init(&r);
	ok = rc_is(exec_new(p, &m, &o, world, &x), SK_OK, "exec_new");
	if (ok)
		ok = rc_is(exec_run(x, &r, &l), SK_OK, "exec_run");
	if (ok) {
		v = exec_grads(x, &n);
		ok = n == rf->n;
		if (ok)
			dg = reldiff(v, rf->grad, n);
	}
	dl = fabs(l - rf->loss) / fabs(rf->loss);
	dl = worst(ok ? dl : INFINITY);
	dg = worst(dg);
	check(ok && dl <= TOL, "%s %d x %d: loss %.6f, relative difference "
	    "%.2e", name, dp, cp, l, dl);
	check(ok && dg <= TOL, "%s %d x %d: every gradient element, max "
	    "relative difference %.2e", name, dp, cp, dg);
	check(ok && report_ok(&r, dp * cp), "%s %d x %d: report (busy + comm "
	    "+ wait = iteration time %.3g s, peak %.0f bytes on GPU 0)", name,
	    dp, cp, r.niter > 0 ? r.time[0] : 0, r.niter > 0 ?
	    r.cell[0].peak : 0);
	for (i = 0; i < 2 && ok; i++) {
		report_free(&r);
		ok = rc_is(exec_run(x, NULL, &l), SK_OK, "exec_run");
	}
	if (ok) {
		v = exec_params(x, &n);
		dw = reldiff(v, rf->param, n);
	}
	dw = worst(dw);
	check(ok && dw <= TOL_W, "%s %d x %d: weights after 3 AdamW steps, max "
	    "relative difference %.2e", name, dp, cp, dw);
	if (x != NULL)
		exec_free(x);
	report_free(&r);
}

static void
test_policy(struct comm *world, const struct ref *rf, const char *pol,
    int dp, int cp)
{
	struct sched_params sp;
	struct job j;
	struct trace t;
	struct plan p;
	int ok, sh = 0, loc = 0, i;

	trace_init(&t);
	plan_init(&p);
	for (i = 0; i < NSAMPLES; i++)
		trace_push(&t, lens[i]);
	sched_params_default(&sp);
	tiny_job(&j, dp, cp);
	ok = rc_is(sched_plan(&j, &sp, pol, &t, "", &p), SK_OK,
	    "sched_plan") && rc_is(plan_validate(&p, &t), SK_OK,
	    "plan_validate") && p.niter == 1;
	count_places(&p, &sh, &loc);
	if (ok && cp > 1 && (strcmp(pol, "skrull-paper") == 0 ||
	    strcmp(pol, "dacp") == 0) && (sh == 0 || loc == 0)) {
		note("%d sharded and %d local samples", sh, loc);
		ok = 0;
	}
	check(ok, "%s plan at %d x %d: 1 iteration, %zu micro-batches, %d "
	    "sharded and %d local samples", pol, dp, cp, p.nmbs, sh, loc);
	if (ok)
		check_plan(world, rf, pol, &p, dp, cp);
	plan_free(&p);
	trace_free(&t);
}

/* The hand-built plans of this layout. */
static void
test_xplans(struct comm *world, const struct ref *rf, int dp, int cp)
{
	struct job j;
	struct plan p;
	char name[64];
	size_t k;
	int ok;

	tiny_job(&j, 1, 1);
	for (k = 0; k < xplan_count; k++) {
		if (xplans[k].dp != dp || xplans[k].cp != cp)
			continue;
		ok = rc_is(xplan_build(&xplans[k], &j, &p), SK_OK,
		    "xplan_build") && rc_is(plan_validate(&p, NULL), SK_OK,
		    "plan_validate");
		check(ok, "hand-built plan %s at %d x %d: %zu micro-batches",
		    xplans[k].name, dp, cp, p.nmbs);
		snprintf(name, sizeof name, "hand-built %s", xplans[k].name);
		if (ok)
			check_plan(world, rf, name, &p, dp, cp);
		plan_free(&p);
	}
}

/* The failure drill: the last rank stays away, the others abort. */
static int
drill_abort(struct comm *world, int dp, int cp)
{
	struct exec_model m;
	struct exec_opts o;
	struct sched_params sp;
	struct job j;
	struct trace t;
	struct plan p;
	struct exec *x = NULL;
	int i, e;

	test_model(&m);
	test_opts(&o);
	o.timeout = 2;
	trace_init(&t);
	plan_init(&p);
	for (i = 0; i < NSAMPLES; i++)
		trace_push(&t, lens[i]);
	sched_params_default(&sp);
	tiny_job(&j, dp, cp);
	if ((e = sched_plan(&j, &sp, "deepspeed", &t, "", &p)) != SK_OK ||
	    (e = exec_new(&p, &m, &o, world, &x)) != SK_OK) {
		fprintf(stderr, "test_exec_mpi: rank %d: %s\n", me, err_msg());
		world->ops->abort(world, 2);
	}
	if (me == nranks - 1) {
		sleep(60);
		return 1;
	}
	if ((e = exec_run(x, NULL, NULL)) != SK_OK) {
		fprintf(stderr, "test_exec_mpi: rank %d: %s\n", me, err_msg());
		fflush(stderr);
		world->ops->abort(world, 3);
	}
	return 1;
}

int
main(int argc, char **argv)
{
	struct comm world;
	struct ref rf = { 0, NULL, NULL, 0 };
	int e, i, dp = 0, cp = 0, drill = 0;
	size_t k;

	if ((e = comm_mpi_world(&argc, &argv, &world)) != SK_OK) {
		fprintf(stderr, "test_exec_mpi: %s\n", err_msg());
		return 1;
	}
	me = world.rank;
	nranks = world.size;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dp") == 0 && i + 1 < argc)
			dp = atoi(argv[++i]);
		else if (strcmp(argv[i], "--cp") == 0 && i + 1 < argc)
			cp = atoi(argv[++i]);
		else if (strcmp(argv[i], "--drill-abort") == 0)
			drill = 1;
		else
			dp = -1;
	}
	if (dp < 1 || cp < 1 || dp * cp != nranks || NSAMPLES % dp != 0 ||
	    nranks > 30 || (drill && 64 % cp != 0)) {
		if (me == 0)
			fprintf(stderr, "usage: mpirun -np D*C test_exec_mpi --dp D "
			    "--cp C [--drill-abort] (D divides %d, C divides 64 "
			    "for the drill, %d ranks given)\n", NSAMPLES, nranks);
		world.ops->abort(&world, 2);
	}
	if (drill)
		return drill_abort(&world, dp, cp);

	test_agree(&world, dp, cp);
	test_fd(&world);
	reference(&world, &rf);
	/* The policies' BucketSize is 64 / CP tokens. */
	for (k = 0; 64 % cp == 0 && k < sizeof policies / sizeof policies[0];
	    k++)
		test_policy(&world, &rf, policies[k], dp, cp);
	test_xplans(&world, &rf, dp, cp);
	free(rf.grad);
	free(rf.param);
	check(rc_is(world.ops->free(&world), SK_OK, "free"), "freeing the "
	    "world");
	if (me == 0)
		printf("1..%d\n", points);
	if ((e = comm_mpi_finalize()) != SK_OK) {
		fprintf(stderr, "test_exec_mpi: %s\n", err_msg());
		return 1;
	}
	return 0;
}
