/*
 * sens: see sens.h.
 *
 * Every score of a sweep (the winner at each x, the baselines) is one
 * task; the tasks run on a small pool of threads taking the next index
 * under a mutex.  Each task scores its own copy of a candidate with the
 * same options, so the results do not depend on the order or the number
 * of threads.  A failing task keeps its message (err_msg is per thread);
 * the first failure in task order is the one reported.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "afile.h"
#include "err.h"
#include "sens.h"
#include "svg.h"

#define WHAT_MAX 80
#define BATCH_LIMIT (1 << 20)  /* samples per DP rank: far beyond use,
                                  and 8 x it still fits an int */

struct task {
	struct tune_candidate c;
	int skip;                 /* not scored: the caller gave it */
	int rc;
	char what[WHAT_MAX];      /* the point, for messages */
	char msg[ERR_MSG_MAX];    /* tune_score's message when rc != 0 */
};

struct pool {
	struct task *task;
	size_t n;
	size_t next;              /* next task to take */
	size_t done;
	const struct trace *t;
	const struct tune_opts *o;    /* the caller's, for progress */
	struct tune_opts so;          /* passed to tune_score: no progress */
	struct timespec start;
	pthread_mutex_t mu;
};

int
sens_bucket_xs(uint32_t bucket_max, uint32_t x[SENS_BUCKET_POINTS])
{
	double lo, hi;
	int i;

	if (bucket_max == 0)
		return err_set(SK_ERR_ARG, "sensitivity: BucketSize maximum 0: "
		    "nothing fits in memory");
	lo = fmax(bucket_max / 4.0, 1);
	hi = 1.3 * bucket_max;
	for (i = 0; i < SENS_BUCKET_POINTS; i++)
		x[i] = (uint32_t)lround(lo + i * (hi - lo) /
		    (SENS_BUCKET_POINTS - 1));
	return SK_OK;
}

int
sens_batch_xs(int batch, int x[SENS_MAX_POINTS], size_t *n)
{
	int k, v;

	if (batch < 1 || batch > BATCH_LIMIT)
		return err_set(SK_ERR_ARG, "sensitivity: batch size %d outside "
		    "[1, %d]", batch, BATCH_LIMIT);
	*n = 0;
	/* batch / 8 to 2 batch (floor of each), the values under 1 left
	 * out; then 4 batch, 8 batch, ... up to 5 points. */
	for (k = -3; k <= 1 || *n < SENS_BATCH_MIN_POINTS; k++) {
		v = k < 0 ? batch >> -k : batch << k;
		if (v >= 1)
			x[(*n)++] = v;
	}
	return SK_OK;
}

static double
elapsed(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) +
	    (now.tv_nsec - start->tv_nsec) / 1e9;
}

static void *
worker(void *arg)
{
	struct pool *pl = arg;
	struct task *tk;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&pl->mu);
		i = pl->next++;
		pthread_mutex_unlock(&pl->mu);
		if (i >= pl->n)
			break;
		tk = &pl->task[i];
		if (!tk->skip &&
		    (tk->rc = tune_score(&tk->c, pl->t, &pl->so, 0)) != SK_OK)
			snprintf(tk->msg, sizeof tk->msg, "%s", err_msg());
		pthread_mutex_lock(&pl->mu);
		pl->done++;
		if (pl->o->progress != NULL)
			pl->o->progress(pl->o->ctx, pl->done, pl->n, 0,
			    elapsed(&pl->start));
		pthread_mutex_unlock(&pl->mu);
	}
	return NULL;
}

/* Score task[0..n) on the pool; the first failure's code and message. */
static int
score_all(struct task *task, size_t n, const struct trace *t,
          const struct tune_opts *o)
{
	struct pool pl;
	pthread_t th[SENS_MAX_POINTS * 2];
	size_t nth = 0, want, i;
	long cpus;

	pl.task = task;
	pl.n = n;
	pl.next = 0;
	pl.done = 0;
	pl.t = t;
	pl.o = o;
	pl.so = *o;
	pl.so.progress = NULL;
	clock_gettime(CLOCK_MONOTONIC, &pl.start);
	if (pthread_mutex_init(&pl.mu, NULL) != 0)
		return err_set(SK_ERR_NOMEM, "sensitivity: cannot create a "
		    "mutex");
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	want = o->threads > 0 ? (size_t)o->threads : cpus > 0 ? (size_t)cpus :
	    1;
	if (want > n)
		want = n;
	if (want > sizeof th / sizeof th[0] + 1)
		want = sizeof th / sizeof th[0] + 1;
	/* This thread works too; a thread that cannot start leaves its
	 * share to the others. */
	for (; nth + 1 < want; nth++)
		if (pthread_create(&th[nth], NULL, worker, &pl) != 0)
			break;
	worker(&pl);
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&pl.mu);
	for (i = 0; i < n; i++)
		if (task[i].rc != SK_OK)
			return err_set(task[i].rc, "sensitivity, %s: %s",
			    task[i].what, task[i].msg);
	return SK_OK;
}

/* A fresh copy of c at BucketSize bucket and batch size batch, its
 * results cleared; as the packed deepspeed baseline if base. */
static void
task_init(struct task *tk, const struct tune_candidate *c, uint32_t bucket,
          int batch, int base)
{
	memset(tk, 0, sizeof *tk);
	tk->c.job = c->job;
	tk->c.job.bucket = bucket;
	tk->c.job.bucket_auto = 0;
	tk->c.job.batch = batch;
	tk->c.sp = c->sp;
	tk->c.bucket_lo = c->bucket_lo;
	tk->c.bucket_max = c->bucket_max;
	snprintf(tk->c.policy, sizeof tk->c.policy, "%s", c->policy);
	if (base) {
		snprintf(tk->c.policy, sizeof tk->c.policy, "deepspeed");
		tk->c.sp.mb_samples = 0;
		tk->c.sp.mb_tokens = 0;
	}
	snprintf(tk->what, sizeof tk->what, "%s at BucketSize %u, batch %d",
	    tk->c.policy, bucket, batch);
}

/* The task's mean iteration time, s; NAN when nothing ran. */
static double
mean_of(const struct task *tk)
{
	return tk->skip || tk->c.batches == 0 ? NAN : tk->c.mean;
}

/* Point p from the winner's task and the baseline's mean base (s); a
 * point that dropped more samples than the reference (dropped) trained
 * less and is not comparable: its times are NAN. */
static void
point(struct sens_point *p, double x, const struct task *tk, double base,
      size_t dropped)
{
	int ok = tk->c.dropped <= dropped;

	p->x = x;
	p->mean = ok ? mean_of(tk) : NAN;
	p->ci_lo = isnan(p->mean) ? NAN : tk->c.ci_lo;
	p->ci_hi = isnan(p->mean) ? NAN : tk->c.ci_hi;
	p->baseline = base;
	p->speedup = base / p->mean;  /* NAN when either is */
	p->oom = !tk->skip && tk->c.ooms > 0;
}

static void
boundary(struct sens_curve *c)
{
	for (c->boundary = 0; c->boundary < c->n; c->boundary++)
		if (c->p[c->boundary].oom)
			break;
}

static int
check_baseline(const struct tune_candidate *b)
{
	if (b != NULL && !(b->mean > 0))
		return err_set(SK_ERR_ARG, "sensitivity: the baseline given has "
		    "no mean iteration time (not scored)");
	return SK_OK;
}

int
sens_bucket(const struct tune_candidate *winner,
            const struct tune_candidate *baseline, const struct trace *t,
            const struct tune_opts *o, struct sens_curve *out)
{
	struct task *task;
	uint32_t x[SENS_BUCKET_POINTS];
	size_t n = SENS_BUCKET_POINTS, i, dropped;
	double base;
	int rc;

	memset(out, 0, sizeof *out);
	out->kind = SENS_BUCKET;
	out->win = winner->job.bucket;
	if ((rc = check_baseline(baseline)) != SK_OK ||
	    (rc = sens_bucket_xs(winner->bucket_max, x)) != SK_OK)
		return rc;
	if ((task = calloc(n + 1, sizeof *task)) == NULL)
		return err_set(SK_ERR_NOMEM, "sensitivity: out of memory");
	for (i = 0; i < n; i++)
		task_init(&task[i], winner, x[i], winner->job.batch, 0);
	/* The baseline last, at the winner's own BucketSize. */
	if (baseline == NULL)
		task_init(&task[n++], winner, winner->job.bucket,
		    winner->job.batch, 1);
	if ((rc = score_all(task, n, t, o)) != SK_OK)
		goto out;
	/* Every point sees the same drawn batches: a point that drops
	 * more of them than the baseline at the winner's BucketSize runs
	 * faster for training less. */
	base = baseline != NULL ? baseline->mean : mean_of(&task[n - 1]);
	dropped = baseline != NULL ? baseline->dropped : task[n - 1].c.dropped;
	for (i = 0; i < SENS_BUCKET_POINTS; i++)
		point(&out->p[i], x[i], &task[i], base, dropped);
	out->n = SENS_BUCKET_POINTS;
	boundary(out);
out:
	free(task);
	return rc;
}

int
sens_batch(const struct tune_candidate *winner,
           const struct tune_candidate *baseline, const struct trace *t,
           const struct tune_opts *o, struct sens_curve *out)
{
	struct task *task;
	int x[SENS_MAX_POINTS];
	size_t n, i;
	double base;
	int rc, given;

	memset(out, 0, sizeof *out);
	out->kind = SENS_BATCH;
	out->win = winner->job.batch;
	if ((rc = check_baseline(baseline)) != SK_OK ||
	    (rc = sens_batch_xs(winner->job.batch, x, &n)) != SK_OK)
		return rc;
	if ((task = calloc(2 * n, sizeof *task)) == NULL)
		return err_set(SK_ERR_NOMEM, "sensitivity: out of memory");
	/* Tasks 0..n: the winner; n..2n: the baselines, each skipped where
	 * the caller's baseline has that batch size. */
	for (i = 0; i < n; i++) {
		task_init(&task[i], winner, winner->job.bucket, x[i], 0);
		task_init(&task[n + i], winner, winner->job.bucket, x[i], 1);
		if (baseline != NULL && baseline->job.batch == x[i])
			task[n + i].skip = 1;
	}
	if ((rc = score_all(task, 2 * n, t, o)) != SK_OK)
		goto out;
	for (i = 0; i < n; i++) {
		given = baseline != NULL && baseline->job.batch == x[i];
		base = given ? baseline->mean : mean_of(&task[n + i]);
		/* Same BucketSize and batches: the same samples dropped. */
		point(&out->p[i], x[i], &task[i], base, task[i].c.dropped);
	}
	out->n = n;
	boundary(out);
out:
	free(task);
	return rc;
}

double
sens_boundary(const struct sens_curve *c)
{
	return c->boundary < c->n ? c->p[c->boundary].x : NAN;
}

int
sens_write_csv(const char *path, const struct sens_curve *c)
{
	struct afile af;
	FILE *f;
	size_t i;
	int rc, bad;

	if ((rc = afile_open(path, &af)) != SK_OK)
		return rc;
	/* Standard output is not closed: it is not ours. */
	f = strcmp(path, "-") == 0 ? stdout : fdopen(af.fd, "w");
	if (f == NULL) {
		rc = err_set_at(SK_ERR_IO, path, 0, "cannot write: %s",
		    strerror(errno));
		afile_abort(&af, 0);
		return rc;
	}
	bad = fputs("x,mean_s,ci_lo_s,ci_hi_s,baseline_s,speedup,oom\n", f) < 0;
	for (i = 0; i < c->n && !bad; i++)
		bad = fprintf(f, "%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%d\n",
		    c->p[i].x, c->p[i].mean, c->p[i].ci_lo, c->p[i].ci_hi,
		    c->p[i].baseline, c->p[i].speedup, c->p[i].oom) < 0;
	if (f == stdout) {
		bad |= fflush(f) != 0;
		if (bad)
			return err_set_at(SK_ERR_IO, path, 0, "write error: %s",
			    strerror(errno));
		return afile_commit(&af, 0);
	}
	/* fclose flushes: its failure is a failed write too. */
	bad |= fclose(f) != 0;
	if (bad) {
		rc = err_set_at(SK_ERR_IO, path, 0, "write error: %s",
		    strerror(errno));
		afile_abort(&af, 1);
		return rc;
	}
	return afile_commit(&af, 1);
}

/* Panel p for curve c, its series in x[], y[], y2[], oom[]. */
static void
panel(struct svg_panel *p, const struct sens_curve *c, double *x, double *y,
      double *y2, double *lo, double *hi, int *oom)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		x[i] = c->p[i].x;
		y[i] = c->p[i].speedup;
		y2[i] = c->p[i].mean;
		lo[i] = c->p[i].ci_lo;
		hi[i] = c->p[i].ci_hi;
		oom[i] = c->p[i].oom;
	}
	memset(p, 0, sizeof *p);
	if (c->kind == SENS_BUCKET) {
		p->title = "BucketSize sweep";
		p->xlabel = "BucketSize (tokens per GPU)";
	} else {
		p->title = "batch-size sweep";
		p->xlabel = "batch size (samples per DP rank)";
		p->xlog2 = 1;
	}
	p->ylabel = "speed-up over deepspeed";
	p->y2label = "mean iteration time (s)";
	p->x = x;
	p->y = y;
	p->y2 = y2;
	p->oom = oom;
	p->n = c->n;
	p->boundary = sens_boundary(c);
	p->ref = 1;
	p->y2_lo = lo;
	p->y2_hi = hi;
	p->bandlabel = "95% CI of the mean";
	p->win = c->win > 0 ? c->win : NAN;
	p->winlabel = "the tuned setting";
	/* Short enough for the legend's 190 px; skrull-tune(1) says more. */
	p->nanlabel = "OOM / infeasible: no speed-up";
}

int
sens_plot(const char *path, const char *title,
          const struct sens_curve *bucket, const struct sens_curve *batch)
{
	double x[2][SENS_MAX_POINTS], y[2][SENS_MAX_POINTS];
	double y2[2][SENS_MAX_POINTS], lo[2][SENS_MAX_POINTS];
	double hi[2][SENS_MAX_POINTS];
	int oom[2][SENS_MAX_POINTS];
	struct svg_panel p[2];
	size_t np = 0;

	if (bucket != NULL) {
		panel(&p[np], bucket, x[np], y[np], y2[np], lo[np], hi[np],
		    oom[np]);
		np++;
	}
	if (batch != NULL) {
		panel(&p[np], batch, x[np], y[np], y2[np], lo[np], hi[np],
		    oom[np]);
		np++;
	}
	if (np == 0)
		return err_set_at(SK_ERR_ARG, path, 0, "sensitivity: no curve "
		    "to plot");
	return svg_write(path, title, p, np);
}
