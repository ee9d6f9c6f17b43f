/*
 * tune: see tune.h.  The candidates, the sampling and scoring loop with
 * sequential stopping, Brent's search over BucketSize, the parallel
 * evaluation of many candidates, and the ranking.
 */
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_min.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_statistics_double.h>

#include "cost.h"
#include "err.h"
#include "plan.h"
#include "report.h"
#include "sched.h"
#include "sim.h"
#include "trace.h"
#include "tune.h"

/* Brent: at most this many iterations after the bracket, and no finer
 * than this share of the largest BucketSize (a 2% change of BucketSize
 * moves the iteration time less than the sampling noise). */
#define BRENT_ITER_MAX 8
#define BRENT_TOL 0.02
/* An OOM at a BucketSize scores PENALTY x its mean: finite (GSL refuses
 * infinities) and far above any feasible point, so Brent moves away from
 * the infeasible end of the range. */
#define PENALTY 10.0
/* Distinct BucketSizes one candidate evaluates: the bracket's three, a
 * quarter point, and one per Brent iteration. */
#define CACHE_MAX (4 + BRENT_ITER_MAX)

void
tune_opts_default(struct tune_opts *o)
{
	memset(o, 0, sizeof *o);
	o->seed = 1;
	o->chunk = 16;
	o->min_batches = 32;
	o->max_batches = 128;
	o->rel_ci = 0.02;
	o->threads = 0;
	o->max_dropped = 0;
	o->progress = NULL;
	o->ctx = NULL;
}

void
tune_space_default(struct tune_space *s)
{
	memset(s, 0, sizeof *s);
	s->global_batch = 256;
	s->policies[0] = "deepspeed";
	s->policies[1] = "skrull";
	s->npolicies = 2;
	s->search_zero = 0;
	s->search_recompute = 0;
	s->bucket_lo = 1024;
}

double
tune_oom_bound(size_t k, size_t n)
{
	if (n == 0 || k >= n)
		return 1;
	return gsl_cdf_beta_Pinv(0.95, (double)k + 1, (double)(n - k));
}

/* ---- candidates ---- */

/* The baselines' micro-batch formation is a search dimension: one sample
 * per micro-batch (the paper's baseline) or packed by tokens. */
static int
is_baseline(const char *policy)
{
	return strcmp(policy, "deepspeed") == 0 || strcmp(policy, "sorted") == 0;
}

/* One sample per micro-batch: BucketSize then changes nothing but which
 * samples are overlong, so the candidate is scored once, at its largest. */
static int
one_per_mb(const struct tune_candidate *c)
{
	return is_baseline(c->policy) && c->sp.mb_samples == 1;
}

static int
check_space(const struct job *base, const struct tune_space *s)
{
	int i;

	if (s->global_batch < 1)
		return err_set(SK_ERR_ARG, "tune: global batch %d is not at "
		    "least 1", s->global_batch);
	if (s->npolicies < 1 || s->npolicies > TUNE_MAX_POLICIES)
		return err_set(SK_ERR_ARG, "tune: %d policies is not in [1, %d]",
		    s->npolicies, TUNE_MAX_POLICIES);
	for (i = 0; i < s->npolicies; i++) {
		if (s->policies[i] == NULL ||
		    sched_policy_find(s->policies[i]) == NULL)
			return SK_ERR_ARG;
		if (strlen(s->policies[i]) >= TUNE_POLICY_MAX)
			return err_set(SK_ERR_ARG, "tune: policy name '%s' is "
			    "longer than %d characters", s->policies[i],
			    TUNE_POLICY_MAX - 1);
	}
	if (cluster_gpus(&base->cluster) < 1)
		return err_set(SK_ERR_ARG, "tune: the cluster has %d GPUs",
		    cluster_gpus(&base->cluster));
	return SK_OK;
}

int
tune_enumerate(const struct job *base, const struct sched_params *sp,
    const struct tune_space *s, struct tune_candidate **out, size_t *n)
{
	struct tune_candidate *c = NULL, *x;
	struct job j;
	size_t cap, k = 0;
	int gpus, dp, p, v, nv, z, z0, z1, r0, r1, rcmp;
	int e;

	*out = NULL;
	*n = 0;
	if ((e = check_space(base, s)) != SK_OK)
		return e;
	gpus = cluster_gpus(&base->cluster);
	z0 = s->search_zero ? 0 : base->zero;
	z1 = s->search_zero ? 3 : base->zero;
	r0 = s->search_recompute ? RECOMPUTE_NONE : (int)base->recompute;
	r1 = s->search_recompute ? RECOMPUTE_FULL : (int)base->recompute;
	/* Every divisor times two variants per policy at most. */
	cap = (size_t)gpus * (size_t)s->npolicies * 2 * (size_t)(z1 - z0 + 1) *
	    (size_t)(r1 - r0 + 1);
	if ((c = calloc(cap, sizeof *c)) == NULL)
		return err_set(SK_ERR_NOMEM, "tune: out of memory for %zu "
		    "candidates", cap);
	for (dp = 1; dp <= gpus; dp++) {
		if (gpus % dp != 0 || s->global_batch % dp != 0)
			continue;
		for (z = z0; z <= z1; z++)
		for (rcmp = r0; rcmp <= r1; rcmp++)
		for (p = 0; p < s->npolicies; p++) {
			nv = is_baseline(s->policies[p]) ? 2 : 1;
			for (v = 0; v < nv; v++) {
				j = *base;
				j.dp = dp;
				j.cp = gpus / dp;
				j.batch = s->global_batch / dp;
				j.zero = z;
				j.recompute = (enum recompute)rcmp;
				j.bucket_auto = 0;
				j.bucket = 1;
				if ((e = job_validate(&j, "tune")) != SK_OK)
					goto fail;
				x = &c[k++];
				x->job = j;
				snprintf(x->policy, sizeof x->policy, "%s",
				    s->policies[p]);
				x->sp = *sp;
				if (nv == 2) {
					x->sp.mb_samples = v == 0 ? 1 : 0;
					x->sp.mb_tokens = 0;
				}
				x->bucket_lo = s->bucket_lo > 0 ? s->bucket_lo : 1;
				x->bucket_max = cost_bucket(&j);
				x->job.bucket = x->bucket_max;
			}
		}
	}
	*out = c;
	*n = k;
	return SK_OK;
fail:
	free(c);
	return e;
}

/* ---- sampling ---- */

/* SplitMix64's finaliser: batch k's seed from the run's seed and k alone
 * (common random numbers across candidates and BucketSizes). */
static unsigned long
batch_seed(uint64_t seed, size_t k)
{
	uint64_t z = seed + 0x9e3779b97f4a7c15ULL * ((uint64_t)k + 1);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (unsigned long)(z & 0xffffffffu);
}

/*
 * The global batches of one evaluation: K batches of G trace indices, each
 * a uniform draw without replacement in random order, batch k from an
 * MT19937 seeded by (seed, k).  For G <= n/2 indices are drawn and
 * repeats rejected through a hash set (expected < 2 draws each, O(G) per
 * batch, where gsl_ran_choose would walk the whole trace: 10^6 samples for
 * Wikipedia); above, a partial Fisher-Yates shuffle of 0..n-1.
 */
struct draws {
	uint32_t *idx;       /* K x G */
	size_t K, G;
	uint32_t *set;       /* hash set of index + 1, 0 = empty */
	size_t nset;         /* power of 2, >= 2 G */
	uint32_t *perm;      /* n, for the shuffle */
	gsl_rng *r;
};

static void
draws_free(struct draws *d)
{
	free(d->idx);
	free(d->set);
	free(d->perm);
	gsl_rng_free(d->r);
	memset(d, 0, sizeof *d);
}

static int
draws_make(struct draws *d, const struct trace *t, size_t G, size_t K,
    uint64_t seed)
{
	size_t k, i, h, got, n = t->n;
	uint32_t v, *b, sw;
	int e;

	memset(d, 0, sizeof *d);
	if (G > n || n > UINT32_MAX)
		return err_set(SK_ERR_RANGE, "tune: trace of %zu samples: a "
		    "global batch of %zu is drawn without replacement from at "
		    "most %u", n, G, UINT32_MAX);
	d->K = K;
	d->G = G;
	for (d->nset = 16; d->nset < 2 * G; d->nset *= 2)
		;
	d->idx = malloc(K * G * sizeof *d->idx);
	d->r = gsl_rng_alloc(gsl_rng_mt19937);
	if (2 * G <= n)
		d->set = malloc(d->nset * sizeof *d->set);
	else
		d->perm = malloc(n * sizeof *d->perm);
	if (d->idx == NULL || d->r == NULL ||
	    (d->set == NULL && d->perm == NULL)) {
		e = err_set(SK_ERR_NOMEM, "tune: out of memory for %zu batches "
		    "of %zu samples", K, G);
		draws_free(d);
		return e;
	}
	for (k = 0; k < K; k++) {
		gsl_rng_set(d->r, batch_seed(seed, k));
		b = d->idx + k * G;
		if (d->perm != NULL) {
			for (i = 0; i < n; i++)
				d->perm[i] = (uint32_t)i;
			for (i = 0; i < G; i++) {
				h = i + gsl_rng_uniform_int(d->r, n - i);
				sw = d->perm[i];
				d->perm[i] = d->perm[h];
				d->perm[h] = sw;
				b[i] = d->perm[i];
			}
			continue;
		}
		memset(d->set, 0, d->nset * sizeof *d->set);
		for (got = 0; got < G; ) {
			v = (uint32_t)gsl_rng_uniform_int(d->r, n);
			h = ((uint64_t)v * 0x9e3779b97f4a7c15ULL >> 32) &
			    (d->nset - 1);
			while (d->set[h] != 0 && d->set[h] != v + 1)
				h = (h + 1) & (d->nset - 1);
			if (d->set[h] != 0)
				continue;
			d->set[h] = v + 1;
			b[got++] = v;
		}
	}
	return SK_OK;
}

/* ---- scoring ---- */

/* What one scoring of one BucketSize found. */
struct score {
	uint32_t bucket;
	int feasible, pruned;
	size_t batches, dropped, ooms;
	double mean, ci_lo, ci_hi, mfu, peak, bound;
	double f;            /* the objective: mean, or PENALTY x mean */
};

/* Buffers of one evaluation, reused by each BucketSize it scores. */
struct scratch {
	struct trace sub;    /* the lengths of one chunk of batches */
	struct plan pl;
	double *times;       /* max_batches */
};

static int
check_opts(const struct tune_opts *o)
{
	if (!(o->max_dropped >= 0 && o->max_dropped <= 1))
		return err_set(SK_ERR_ARG, "tune: the share of samples one may "
		    "drop, %g, is not in [0, 1]", o->max_dropped);
	if (o->chunk < 1 || o->min_batches < 2 ||
	    o->max_batches < o->min_batches || !(o->rel_ci > 0))
		return err_set(SK_ERR_ARG, "tune: chunk %zu, min batches %zu, "
		    "max batches %zu, relative CI %g: need chunk >= 1, 2 <= "
		    "min <= max and a positive CI", o->chunk, o->min_batches,
		    o->max_batches, o->rel_ci);
	return SK_OK;
}

/* Iterations of r with at least one OOM (r->oom is sorted by iteration). */
static size_t
oom_iters(const struct report *r)
{
	size_t i, k = 0;

	for (i = 0; i < r->noom; i++)
		if (i == 0 || r->oom[i].iter != r->oom[i - 1].iter)
			k++;
	return k;
}


/* Mean and 95% Student-t half-width of x[0..n). */
static void
ci95(const double *x, size_t n, double *mean, double *half)
{
	*mean = n > 0 ? gsl_stats_mean(x, 1, n) : 0;
	*half = 0;
	if (n >= 2)
		*half = gsl_cdf_tdist_Pinv(0.975, (double)(n - 1)) *
		    gsl_stats_sd(x, 1, n) / sqrt((double)n);
}

/*
 * Score BucketSize bucket for candidate c on the drawn batches, chunk by
 * chunk.  A chunk's batches are one sub-trace planned by sched_plan
 * (dataset order, no drop-last, overlong samples dropped and counted by
 * the planner; a
 * batch that loses samples is topped up from the next one of its chunk,
 * as sched_plan does for a whole trace, so without drops iteration k is
 * drawn batch k; a chunk that loses every sample is skipped; for
 * "sorted", LongAlign's sorted runs form within the chunk) and simulated
 * on one thread, parallelism being across candidates.  Stops as tune.h
 * says; best is the mean to beat (0: none).
 */
static int
score(const struct tune_candidate *c, uint32_t bucket, const struct trace *t,
    const struct draws *d, const struct tune_opts *o, double best,
    struct scratch *w, struct score *out)
{
	struct sim_opts so;
	struct report r;
	struct job j = c->job;
	struct sched_params sp = c->sp;
	uint64_t cap;
	uint32_t len;
	size_t k0, nk, i, fit, n = 0;
	double sum_mfu = 0, sum_t = 0, sum_b = 0, mean, half;
	int e = SK_OK;

	memset(out, 0, sizeof *out);
	out->bucket = bucket;
	out->feasible = 1;
	j.bucket = bucket;
	j.bucket_auto = 0;
	sp.order = ORDER_DATASET;
	sp.drop_last = 0;
	sp.drop_overlong = 1;
	cap = tune_capacity(c, bucket);
	report_init(&r);
	sim_opts_default(&so);
	so.threads = 1;
	for (k0 = 0; k0 < d->K; k0 += nk) {
		nk = d->K - k0 < o->chunk ? d->K - k0 : o->chunk;
		w->sub.n = 0;
		for (fit = 0, i = 0; i < nk * d->G; i++) {
			len = t->len[d->idx[k0 * d->G + i]];
			fit += len <= cap;
			w->sub.len[w->sub.n++] = len;
		}
		/* The planner refuses a trace it would drop whole. */
		if (fit == 0) {
			out->dropped += w->sub.n;
			continue;
		}
		if ((e = sched_plan(&j, &sp, c->policy, &w->sub, NULL,
		    &w->pl)) != SK_OK ||
		    (e = sim_run(&w->pl, &so, &r)) != SK_OK)
			goto out;
		out->dropped += (size_t)w->pl.dropped;
		for (i = 0; i < r.niter; i++) {
			w->times[n++] = r.time[i];
			sum_b += r.bounds[i];
		}
		sum_t += r.total;
		sum_mfu += r.mfu * r.total;
		if (r.peak_max > out->peak)
			out->peak = r.peak_max;
		if (r.noom > 0) {
			out->feasible = 0;
			out->ooms = oom_iters(&r);
			break;
		}
		report_free(&r);
		if (n < o->min_batches)
			continue;
		ci95(w->times, n, &mean, &half);
		if (half <= o->rel_ci * mean)
			break;
		if (best > 0 && mean - half > best) {
			out->pruned = 1;
			break;
		}
	}
	ci95(w->times, n, &mean, &half);
	out->batches = n;
	out->mean = mean;
	out->ci_lo = mean - half;
	out->ci_hi = mean + half;
	out->mfu = sum_t > 0 ? sum_mfu / sum_t : 0;
	out->bound = n > 0 ? sum_b / (double)n : 0;
	/* Nothing ran (every drawn sample overlong): no iteration time to
	 * compare, so the worst finite score. */
	if (n == 0)
		out->feasible = 0;
	out->f = n == 0 ? 1e300 : out->feasible ? mean : PENALTY * mean;
out:
	report_free(&r);
	return e;
}

static int
scratch_init(struct scratch *w, size_t G, const struct tune_opts *o)
{
	trace_init(&w->sub);
	plan_init(&w->pl);
	w->times = malloc(o->max_batches * sizeof *w->times);
	if (w->times == NULL || trace_reserve(&w->sub, o->chunk * G) !=
	    SK_OK) {
		free(w->times);
		trace_free(&w->sub);
		return err_set(SK_ERR_NOMEM, "tune: out of memory for chunks "
		    "of %zu batches of %zu samples", o->chunk, G);
	}
	return SK_OK;
}

static void
scratch_free(struct scratch *w)
{
	trace_free(&w->sub);
	plan_free(&w->pl);
	free(w->times);
}

/* The candidate's result from its chosen scoring. */
static void
fill(struct tune_candidate *c, const struct score *s, size_t evaluations)
{
	double hbm = c->job.cluster.gpu.hbm_bytes;

	c->job.bucket = s->bucket;
	c->evaluated = 1;
	c->feasible = s->feasible;
	c->pruned = s->pruned;
	c->batches = s->batches;
	c->evaluations = evaluations;
	c->mean = s->mean;
	c->ci_lo = s->ci_lo;
	c->ci_hi = s->ci_hi;
	c->mfu = s->mfu;
	c->bound = s->bound;
	c->peak = s->peak;
	c->headroom = hbm > 0 ? (hbm - c->job.reserve - s->peak) / hbm : 0;
	c->ooms = s->ooms;
	c->oom_bound = tune_oom_bound(s->ooms, s->batches);
	c->dropped = s->dropped;
}

int
tune_score(struct tune_candidate *c, const struct trace *t,
    const struct tune_opts *o, double best)
{
	struct draws d;
	struct scratch w;
	struct score s;
	size_t G = (size_t)c->job.dp * (size_t)c->job.batch;
	int e;

	if ((e = check_opts(o)) != SK_OK)
		return e;
	if (c->job.bucket < 1)
		return err_set(SK_ERR_ARG, "tune: BucketSize %u is not at least "
		    "1", c->job.bucket);
	if ((e = draws_make(&d, t, G, o->max_batches, o->seed)) != SK_OK)
		return e;
	if ((e = scratch_init(&w, G, o)) != SK_OK) {
		draws_free(&d);
		return e;
	}
	if ((e = score(c, c->job.bucket, t, &d, o, best, &w, &s)) == SK_OK)
		fill(c, &s, 1);
	scratch_free(&w);
	draws_free(&d);
	return e;
}

/* ---- Brent over BucketSize ---- */

struct brent {
	const struct tune_candidate *c;
	const struct trace *t;
	const struct draws *d;
	const struct tune_opts *o;
	struct scratch *w;
	double best;                  /* the mean to beat from outside */
	uint32_t lo, hi;              /* the range of BucketSize */
	struct score cache[CACHE_MAX];
	size_t n;
	int err;
};

/* The cached scoring with the smallest objective; ties go to the larger
 * BucketSize (fewer micro-batches for the same time). */
static const struct score *
brent_best(const struct brent *b)
{
	const struct score *m = NULL;
	size_t i;

	for (i = 0; i < b->n; i++)
		if (m == NULL || b->cache[i].f < m->f ||
		    (b->cache[i].f == m->f && b->cache[i].bucket > m->bucket))
			m = &b->cache[i];
	return m;
}

/* f(C): the objective at BucketSize round(C), scored once per integer.
 * The mean to beat is the outside best or this candidate's own best
 * feasible mean so far, whichever is smaller.  An error is kept for the
 * caller and ends the search with a finite value (GSL needs one). */
static double
brent_f(double x, void *arg)
{
	struct brent *b = arg;
	const struct score *m;
	uint32_t C;
	double bound = b->best;
	size_t i;
	int e;

	C = x <= b->lo ? b->lo : x >= b->hi ? b->hi : (uint32_t)lround(x);
	for (i = 0; i < b->n; i++)
		if (b->cache[i].bucket == C)
			return b->cache[i].f;
	if (b->err != SK_OK || b->n == CACHE_MAX)
		return 1e300;
	m = brent_best(b);
	if (m != NULL && m->feasible && (bound <= 0 || m->mean < bound))
		bound = m->mean;
	e = score(b->c, C, b->t, b->d, b->o, bound, b->w, &b->cache[b->n]);
	if (e != SK_OK) {
		b->err = e;
		return 1e300;
	}
	return b->cache[b->n++].f;
}

/* Brent's iterations from the bracket a < m < c, f(m) below both ends. */
static int
brent_run(struct brent *b, uint32_t a, uint32_t m, uint32_t c, double fa,
    double fm, double fc)
{
	gsl_min_fminimizer *s;
	gsl_function F;
	int i;

	if (b->err != SK_OK)
		return b->err;
	if ((s = gsl_min_fminimizer_alloc(gsl_min_fminimizer_brent)) == NULL)
		return b->err = err_set(SK_ERR_NOMEM, "tune: out of memory for "
		    "the minimiser");
	F.function = brent_f;
	F.params = b;
	if (gsl_min_fminimizer_set_with_values(s, &F, m, fm, a, fa, c, fc) ==
	    GSL_SUCCESS)
		for (i = 0; i < BRENT_ITER_MAX && b->err == SK_OK; i++) {
			if (gsl_min_fminimizer_iterate(s) != GSL_SUCCESS)
				break;
			if (gsl_min_fminimizer_x_upper(s) -
			    gsl_min_fminimizer_x_lower(s) < BRENT_TOL * b->hi)
				break;
		}
	gsl_min_fminimizer_free(s);
	return b->err;
}

/*
 * The range starts no lower than the longest sample of the trace that
 * fits at the largest BucketSize needs (ceil(len / cp), or / (cp x dp)
 * for a policy reaching over the mesh): a smaller BucketSize would drop
 * samples this layout can train and look faster for training less.  So
 * every BucketSize of the range drops the same samples, those too long
 * even at the largest (tune_drops).
 */
static uint32_t
range_lo(const struct tune_candidate *c, const struct trace *t)
{
	uint64_t cap = tune_capacity(c, c->bucket_max), div, need, L = 0;
	size_t i;

	div = cap / c->bucket_max;
	for (i = 0; i < t->n; i++)
		if (t->len[i] <= cap && t->len[i] > L)
			L = t->len[i];
	need = (L + div - 1) / div;
	if (need < c->bucket_lo)
		need = c->bucket_lo;
	return need < c->bucket_max ? (uint32_t)need : c->bucket_max;
}

uint64_t
tune_capacity(const struct tune_candidate *c, uint32_t bucket)
{
	const struct sched_policy *pol = sched_policy_find(c->policy);
	struct job j = c->job;

	j.bucket = bucket;
	return job_cp_capacity(&j) * (pol != NULL && pol->reach == REACH_MESH ?
	    (uint64_t)j.dp : 1);
}

void
tune_drops(struct tune_candidate *c, const struct trace *t,
    double max_dropped)
{
	uint64_t cap;
	size_t i;

	c->trace_n = t->n;
	c->trace_tokens = 0;
	c->trace_dropped = 0;
	c->trace_dropped_tokens = 0;
	c->overdrop = 0;
	for (i = 0; i < t->n; i++)
		c->trace_tokens += t->len[i];
	if (c->bucket_max < 1 || c->bucket_max < c->bucket_lo)
		return;
	cap = tune_capacity(c, c->bucket_max);
	for (i = 0; i < t->n; i++)
		if (t->len[i] > cap) {
			c->trace_dropped++;
			c->trace_dropped_tokens += t->len[i];
		}
	/* Both shares: a few long samples can carry most of the tokens. */
	c->overdrop = (double)c->trace_dropped > max_dropped * (double)t->n ||
	    (double)c->trace_dropped_tokens > max_dropped *
	    (double)c->trace_tokens;
}

/*
 * The bracket first: f at the largest BucketSize (the usual optimum: more
 * room, fewer micro-batches; and with a result early, for pruning), then
 * the middle; if the largest is better than the middle, it is taken
 * without iterating.  Else the smallest: with f(middle) below both ends
 * Brent iterates on (smallest, middle, largest).  When the top half is
 * flat (f(largest) = f(middle): the schedule no longer changes) and the
 * smallest is better, the quarter point is tried for a bracket on
 * (smallest, quarter, middle).  Without a bracket the best point scored
 * stands.  Baselines with one sample per micro-batch do not depend on
 * BucketSize and are scored once.
 */
int
tune_evaluate(struct tune_candidate *c, const struct trace *t,
    const struct tune_opts *o, double best)
{
	struct draws d;
	struct scratch w;
	struct brent *b = NULL;
	size_t G = (size_t)c->job.dp * (size_t)c->job.batch;
	uint32_t m, q;
	double fa, fb, fm, fq;
	int e;

	if (c->bucket_max < 1 || c->bucket_max < c->bucket_lo) {
		c->evaluated = 0;
		c->feasible = 0;
		return SK_OK;
	}
	if ((e = check_opts(o)) != SK_OK)
		return e;
	tune_drops(c, t, o->max_dropped);
	if (c->overdrop) {
		c->evaluated = 1;
		c->feasible = 0;
		return SK_OK;
	}
	if ((e = draws_make(&d, t, G, o->max_batches, o->seed)) != SK_OK)
		return e;
	if ((e = scratch_init(&w, G, o)) != SK_OK) {
		draws_free(&d);
		return e;
	}
	if ((b = calloc(1, sizeof *b)) == NULL) {
		e = err_set(SK_ERR_NOMEM, "tune: out of memory");
		goto out;
	}
	b->c = c;
	b->t = t;
	b->d = &d;
	b->o = o;
	b->w = &w;
	b->best = best;
	b->hi = c->bucket_max;
	b->lo = one_per_mb(c) ? b->hi : range_lo(c, t);
	m = b->lo + (b->hi - b->lo) / 2;
	fb = brent_f(b->hi, b);
	if (b->hi - b->lo >= 4 && b->err == SK_OK) {
		fm = brent_f(m, b);
		if (fm <= fb && b->err == SK_OK) {
			fa = brent_f(b->lo, b);
			if (fm < fa && fm < fb)
				brent_run(b, b->lo, m, b->hi, fa, fm, fb);
			else if (fa < fm && fm == fb) {
				q = b->lo + (m - b->lo) / 2;
				fq = brent_f(q, b);
				if (fq < fa && fq < fm)
					brent_run(b, b->lo, q, m, fa, fq, fm);
			}
		}
	}
	if ((e = b->err) != SK_OK)
		goto out;
	fill(c, brent_best(b), b->n);
out:
	free(b);
	scratch_free(&w);
	draws_free(&d);
	return e;
}

/* ---- many candidates ---- */

struct pool {
	struct tune_candidate *c;
	size_t *work, nwork, next, done;
	const struct trace *t;
	const struct tune_opts *o;
	pthread_mutex_t mu;
	double best;
	struct timespec start;
	int err;
	char msg[ERR_MSG_MAX];
};

static double
since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) +
	    (double)(b.tv_nsec - a->tv_nsec) * 1e-9;
}

static void *
pool_worker(void *arg)
{
	struct pool *p = arg;
	struct tune_candidate *x;
	double best;
	int e;

	for (;;) {
		pthread_mutex_lock(&p->mu);
		if (p->next >= p->nwork || p->err != SK_OK) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		x = &p->c[p->work[p->next++]];
		best = p->best;
		pthread_mutex_unlock(&p->mu);

		e = tune_evaluate(x, p->t, p->o, best);

		pthread_mutex_lock(&p->mu);
		if (e != SK_OK && p->err == SK_OK) {
			p->err = e;
			snprintf(p->msg, sizeof p->msg, "%s", err_msg());
		}
		if (e == SK_OK && x->evaluated && x->feasible &&
		    (p->best <= 0 || x->mean < p->best))
			p->best = x->mean;
		p->done++;
		if (e == SK_OK && p->o->progress != NULL)
			p->o->progress(p->o->ctx, p->done, p->nwork, p->best,
			    since(&p->start));
		pthread_mutex_unlock(&p->mu);
	}
}

/*
 * Work order: every candidate but the one-sample-per-micro-batch
 * baselines first (cheap to simulate, and they set the best mean early),
 * those last (about 60 times slower to simulate, and usually pruned after
 * min_batches).  With several threads the best a candidate starts from
 * depends on timing, so a pruned candidate's numbers (batches, CI) may
 * vary between runs; a candidate is pruned only when clearly worse than a
 * feasible one, so the best does not.  With one thread all is
 * deterministic.
 */
int
tune_evaluate_all(struct tune_candidate *c, size_t n, size_t first,
    size_t stride, const struct trace *t, const struct tune_opts *o)
{
	struct pool p;
	pthread_t *th = NULL;
	size_t i, pass;
	long ncpu;
	int nth, nrun, k, e;

	if (stride < 1)
		return err_set(SK_ERR_ARG, "tune: stride 0");
	if ((e = check_opts(o)) != SK_OK)
		return e;
	memset(&p, 0, sizeof p);
	p.c = c;
	p.t = t;
	p.o = o;
	/* Every rank counts every candidate's drops (cheap, and the same
	 * everywhere), so they need no gathering. */
	for (i = 0; i < n; i++)
		tune_drops(&c[i], t, o->max_dropped);
	if (first >= n)
		return SK_OK;
	if ((p.work = malloc(((n - first) / stride + 1) * sizeof *p.work)) ==
	    NULL)
		return err_set(SK_ERR_NOMEM, "tune: out of memory");
	for (pass = 0; pass < 2; pass++)
		for (i = first; i < n; i += stride)
			if (one_per_mb(&c[i]) == (int)pass)
				p.work[p.nwork++] = i;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	nth = o->threads > 0 ? o->threads : ncpu > 0 ? (int)ncpu : 1;
	if ((size_t)nth > p.nwork)
		nth = (int)p.nwork;
	if (nth > 1 && (th = calloc((size_t)nth, sizeof *th)) == NULL) {
		free(p.work);
		return err_set(SK_ERR_NOMEM, "tune: out of memory");
	}
	if (pthread_mutex_init(&p.mu, NULL) != 0) {
		free(th);
		free(p.work);
		return err_set(SK_ERR_NOMEM, "tune: cannot make a mutex");
	}
	clock_gettime(CLOCK_MONOTONIC, &p.start);
	/* A thread that fails to start leaves its candidates to the others:
	 * the calling thread works until the list runs out. */
	for (nrun = 1; nrun < nth; nrun++)
		if (pthread_create(&th[nrun], NULL, pool_worker, &p) != 0)
			break;
	pool_worker(&p);
	for (k = 1; k < nrun; k++)
		pthread_join(th[k], NULL);
	pthread_mutex_destroy(&p.mu);
	free(th);
	free(p.work);
	if (p.err != SK_OK)
		return err_set(p.err, "%s", p.msg);
	return SK_OK;
}

/* ---- ranking ---- */

/* 0: feasible and not pruned; 1: feasible, pruned; 2: infeasible or not
 * evaluated. */
static int
rank_class(const struct tune_candidate *x)
{
	if (!x->evaluated || !x->feasible)
		return 2;
	return x->pruned ? 1 : 0;
}

struct rank_key {
	int cls;
	double mean;
	size_t i;
};

static int
cmp_rank(const void *a, const void *b)
{
	const struct rank_key *x = a, *y = b;

	if (x->cls != y->cls)
		return x->cls - y->cls;
	if (x->cls < 2 && x->mean != y->mean)
		return x->mean < y->mean ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i);
}

static int
packed_deepspeed(const struct tune_candidate *x)
{
	return strcmp(x->policy, "deepspeed") == 0 && x->sp.mb_samples == 0 &&
	    x->sp.mb_tokens == 0;
}

int
tune_rank(struct tune_candidate *c, size_t n, struct tune_result *r)
{
	struct tune_candidate *s = NULL;
	struct rank_key *key = NULL;
	const struct tune_candidate *x, *y;
	size_t i, k;

	memset(r, 0, sizeof *r);
	r->best = (size_t)-1;
	if (n > 0 && ((key = malloc(n * sizeof *key)) == NULL ||
	    (s = malloc(n * sizeof *s)) == NULL)) {
		free(key);
		return err_set(SK_ERR_NOMEM, "tune: out of memory ranking %zu "
		    "candidates", n);
	}
	/* The baseline of a point: packed deepspeed at the same layout,
	 * ZeRO stage and recompute, when it ran without OOM. */
	for (i = 0; i < n; i++) {
		x = &c[i];
		c[i].baseline_mean = 0;
		for (k = 0; k < n; k++) {
			y = &c[k];
			if (packed_deepspeed(y) && y->evaluated && y->feasible &&
			    y->job.dp == x->job.dp && y->job.cp == x->job.cp &&
			    y->job.zero == x->job.zero &&
			    y->job.recompute == x->job.recompute) {
				c[i].baseline_mean = y->mean;
				break;
			}
		}
	}
	for (i = 0; i < n; i++) {
		key[i].cls = rank_class(&c[i]);
		key[i].mean = c[i].mean;
		key[i].i = i;
	}
	if (n > 1)
		qsort(key, n, sizeof *key, cmp_rank);
	for (i = 0; i < n; i++)
		s[i] = c[key[i].i];
	if (n > 0)
		memcpy(c, s, n * sizeof *c);
	free(s);
	free(key);
	r->c = c;
	r->n = n;
	if (n > 0 && rank_class(&c[0]) < 2)
		r->best = 0;
	return SK_OK;
}

void
tune_result_free(struct tune_result *r)
{
	free(r->c);
	memset(r, 0, sizeof *r);
	r->best = (size_t)-1;
}
