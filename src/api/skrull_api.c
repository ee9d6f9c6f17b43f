/* skrull_api: libskrull's public functions over core, sched and sim; see
 * skrull.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cost.h"
#include "err.h"
#include "job.h"
#include "plan.h"
#include "report.h"
#include "sched.h"
#include "sim.h"
#include "skrull.h"
#include "trace.h"


/* The public codes are core's, value for value. */
#define SAME(a, b) ((int)(a) == (int)(b))
_Static_assert(SAME(SKRULL_OK, SK_OK) && SAME(SKRULL_ERR_IO, SK_ERR_IO) &&
    SAME(SKRULL_ERR_FORMAT, SK_ERR_FORMAT) &&
    SAME(SKRULL_ERR_RANGE, SK_ERR_RANGE) &&
    SAME(SKRULL_ERR_NOMEM, SK_ERR_NOMEM) && SAME(SKRULL_ERR_ARG, SK_ERR_ARG) &&
    SAME(SKRULL_ERR_UNSUPPORTED, SK_ERR_UNSUPPORTED), "skrull_err != sk_err");

#define STR2(x) #x
#define STR(x) STR2(x)

/* The job as given, its schedule (policy, knobs) in job.policy and
 * job.knobs as a job file holds it; resolved when planning. */
struct skrull_job {
	struct job job;
};

struct skrull_plan {
	struct plan plan;
};

struct skrull_report {
	struct report report;
};

#define NONNULL(p, what) \
	do { \
		if ((p) == NULL) \
			return err_set(SK_ERR_ARG, "%s: %s is NULL", __func__, \
			    what); \
	} while (0)

const char *
skrull_version(int *major, int *minor, int *patch)
{
	if (major != NULL)
		*major = SKRULL_VERSION_MAJOR;
	if (minor != NULL)
		*minor = SKRULL_VERSION_MINOR;
	if (patch != NULL)
		*patch = SKRULL_VERSION_PATCH;
	return STR(SKRULL_VERSION_MAJOR) "." STR(SKRULL_VERSION_MINOR) "."
	    STR(SKRULL_VERSION_PATCH);
}

const char *
skrull_last_error(void)
{
	return err_msg();
}

const char *
skrull_strerror(int code)
{
	return code == SK_OK ? "ok" : err_name(code);
}

void
skrull_free(void *p)
{
	free(p);
}

/* ---- jobs ---- */

int
skrull_job_new(skrull_job **out)
{
	NONNULL(out, "out");
	err_clear();
	if ((*out = calloc(1, sizeof **out)) == NULL)
		return err_set(SK_ERR_NOMEM, "skrull_job_new: out of memory");
	job_default(&(*out)->job);
	return SK_OK;
}

int
skrull_job_read(const char *path, skrull_job **out)
{
	skrull_job *j;
	int e;

	NONNULL(out, "out");
	*out = NULL;
	NONNULL(path, "path");
	err_clear();
	if ((j = calloc(1, sizeof *j)) == NULL)
		return err_set(SK_ERR_NOMEM, "%s: out of memory", path);
	if ((e = job_read(path, &j->job)) != SK_OK) {
		free(j);
		return e;
	}
	*out = j;
	return SK_OK;
}

int
skrull_job_write(const skrull_job *job, const char *path)
{
	NONNULL(job, "job");
	NONNULL(path, "path");
	err_clear();
	return job_write(path, &job->job);
}

void
skrull_job_free(skrull_job *job)
{
	free(job);
}

int
skrull_job_set_model(skrull_job *job, const char *name_or_path)
{
	struct model m;
	int e;

	NONNULL(job, "job");
	NONNULL(name_or_path, "model");
	err_clear();
	/* into a copy (a file may change only some fields): a failed setter
	 * leaves the job as it was */
	m = job->job.model;
	if ((e = model_resolve(name_or_path, &m)) == SK_OK)
		job->job.model = m;
	return e;
}

int
skrull_job_set_cluster(skrull_job *job, const char *name_or_path)
{
	struct cluster c;
	int e;

	NONNULL(job, "job");
	NONNULL(name_or_path, "cluster");
	err_clear();
	c = job->job.cluster;
	if ((e = cluster_resolve(name_or_path, &c)) == SK_OK)
		job->job.cluster = c;
	return e;
}

int
skrull_job_set_nodes(skrull_job *job, int nodes, int gpus_per_node)
{
	NONNULL(job, "job");
	err_clear();
	if (nodes < 1 || gpus_per_node < 1)
		return err_set(SK_ERR_RANGE, "skrull_job_set_nodes: %d nodes of "
		    "%d GPUs: both must be at least 1", nodes, gpus_per_node);
	job->job.cluster.nodes = nodes;
	job->job.cluster.gpus_per_node = gpus_per_node;
	return SK_OK;
}

int
skrull_job_set_layout(skrull_job *job, int dp, int cp)
{
	NONNULL(job, "job");
	err_clear();
	if (dp < 1 || cp < 1)
		return err_set(SK_ERR_RANGE, "skrull_job_set_layout: DP %d x CP "
		    "%d: both must be at least 1", dp, cp);
	job->job.dp = dp;
	job->job.cp = cp;
	return SK_OK;
}

int
skrull_job_set_batch(skrull_job *job, int batch)
{
	NONNULL(job, "job");
	err_clear();
	if (batch < 1)
		return err_set(SK_ERR_RANGE, "skrull_job_set_batch: batch %d: "
		    "must be at least 1", batch);
	job->job.batch = batch;
	return SK_OK;
}

int
skrull_job_set_bucket(skrull_job *job, uint32_t tokens)
{
	NONNULL(job, "job");
	err_clear();
	job->job.bucket_auto = tokens == 0;
	job->job.bucket = tokens;
	return SK_OK;
}

int
skrull_job_set_zero(skrull_job *job, int stage)
{
	NONNULL(job, "job");
	err_clear();
	if (stage < 0 || stage > 3)
		return err_set(SK_ERR_RANGE, "skrull_job_set_zero: stage %d: "
		    "must be 0..3", stage);
	job->job.zero = stage;
	return SK_OK;
}

int
skrull_job_set_recompute(skrull_job *job, const char *name)
{
	enum recompute r;
	int e;

	NONNULL(job, "job");
	NONNULL(name, "name");
	err_clear();
	if ((e = job_recompute_parse(name, &r)) == SK_OK)
		job->job.recompute = r;
	return e;
}

int
skrull_job_set_precision(skrull_job *job, const char *name)
{
	enum precision pr;
	int e;

	NONNULL(job, "job");
	NONNULL(name, "name");
	err_clear();
	if ((e = job_precision_parse(name, &pr)) == SK_OK)
		job->job.precision = pr;
	return e;
}

int
skrull_job_set_policy(skrull_job *job, const char *name)
{
	NONNULL(job, "job");
	NONNULL(name, "name");
	err_clear();
	if (sched_policy_find(name) == NULL)
		return err_code();
	/* every policy name fits: the table's names are short */
	snprintf(job->job.policy, sizeof job->job.policy, "%s", name);
	return SK_OK;
}

int
skrull_job_set_knob(skrull_job *job, const char *name, const char *value)
{
	const struct sched_knob *k;
	struct sched_params scratch;
	struct job *j;
	int i, e;

	NONNULL(job, "job");
	NONNULL(name, "name");
	NONNULL(value, "value");
	err_clear();
	j = &job->job;
	if ((k = sched_knob_find(name)) == NULL)
		return err_set(SK_ERR_ARG, "unknown knob '%s' (see skrull plan "
		    "-h)", name);
	sched_params_default(&scratch);
	if ((e = sched_knob_set(&scratch, k, value)) != SK_OK)
		return e;
	if (strlen(value) >= JOB_NAME_MAX)
		return err_set(SK_ERR_RANGE, "knob %s: value of %zu bytes is "
		    "longer than %d", name, strlen(value), JOB_NAME_MAX - 1);
	for (i = 0; i < j->nknobs; i++)
		if (strcmp(j->knobs[i].name, k->name) == 0)
			break;
	if (i == j->nknobs) {
		if (j->nknobs == JOB_KNOBS_MAX)
			return err_set(SK_ERR_RANGE, "knob %s: a job holds at "
			    "most %d knobs", name, JOB_KNOBS_MAX);
		snprintf(j->knobs[i].name, sizeof j->knobs[i].name, "%s",
		    k->name);
		j->nknobs++;
	}
	snprintf(j->knobs[i].value, sizeof j->knobs[i].value, "%s", value);
	return SK_OK;
}

/*
 * The job as planning uses it, into *j, its policy into policy and its
 * knobs into *sp: the layout checked, the bucket resolved, the schedule
 * taken off the job (as `skrull plan` does, so that plans record the
 * policy and knobs once).
 */
static int
resolve(const skrull_job *job, struct job *j, struct sched_params *sp,
    char *policy)
{
	const struct sched_knob *k;
	struct cost_mem mem;
	int i, e;

	*j = job->job;
	sched_params_default(sp);
	snprintf(policy, JOB_NAME_MAX, "%s",
	    j->policy[0] != '\0' ? j->policy : "skrull");
	if (sched_policy_find(policy) == NULL)
		return err_code();
	for (i = 0; i < j->nknobs; i++) {
		if ((k = sched_knob_find(j->knobs[i].name)) == NULL)
			return err_set(SK_ERR_ARG, "job: schedule.knobs: unknown "
			    "knob '%s'", j->knobs[i].name);
		if ((e = sched_knob_set(sp, k, j->knobs[i].value)) != SK_OK) {
			err_prefix("job: schedule.knobs");
			return e;
		}
	}
	j->policy[0] = '\0';
	j->nknobs = 0;
	if ((e = job_validate(j, "job")) != SK_OK)
		return e;
	if (j->bucket_auto && (j->bucket = cost_bucket(j)) == 0) {
		cost_memory(j, &mem);
		return err_set(SK_ERR_RANGE, "job: model %s does not fit: static "
		    "memory %.0f bytes per GPU leaves no room for activations",
		    j->model.name, mem.statics);
	}
	return SK_OK;
}

int
skrull_job_layout(const skrull_job *job, int *dp, int *cp, int *batch,
    uint32_t *bucket)
{
	struct sched_params sp;
	char policy[JOB_NAME_MAX];
	struct job j;
	int e;

	NONNULL(job, "job");
	err_clear();
	if ((e = resolve(job, &j, &sp, policy)) != SK_OK)
		return e;
	if (dp != NULL)
		*dp = j.dp;
	if (cp != NULL)
		*cp = j.cp;
	if (batch != NULL)
		*batch = j.batch;
	if (bucket != NULL)
		*bucket = j.bucket;
	return SK_OK;
}

/* ---- plans ---- */

static int
new_plan(skrull_plan **out)
{
	if ((*out = calloc(1, sizeof **out)) == NULL)
		return err_set(SK_ERR_NOMEM, "plan: out of memory");
	plan_init(&(*out)->plan);
	return SK_OK;
}

void
skrull_plan_free(skrull_plan *plan)
{
	if (plan == NULL)
		return;
	plan_free(&plan->plan);
	free(plan);
}

int
skrull_plan_batch(const skrull_job *job, const uint32_t *lengths, size_t n,
    const char *trace_name, skrull_plan **out)
{
	struct sched_params sp;
	char policy[JOB_NAME_MAX];
	struct trace t;
	struct job j;
	size_t i, g;
	int e;

	NONNULL(out, "out");
	*out = NULL;
	NONNULL(job, "job");
	NONNULL(lengths, "lengths");
	err_clear();
	if ((e = resolve(job, &j, &sp, policy)) != SK_OK)
		return e;
	g = (size_t)j.dp * (size_t)j.batch;
	if (n != g)
		return err_set(SK_ERR_ARG, "lengths: %zu samples, but a global "
		    "batch of DP %d x batch %d is %zu", n, j.dp, j.batch, g);
	for (i = 0; i < n; i++)
		if (lengths[i] == 0 || lengths[i] > TRACE_LEN_MAX)
			return err_set(SK_ERR_RANGE, "lengths[%zu]: length %u: "
			    "must be 1..%u tokens", i, lengths[i],
			    TRACE_LEN_MAX);
	/* The batcher reads the lengths; it does not keep or change them. */
	memset(&t, 0, sizeof t);
	t.len = (uint32_t *)(uintptr_t)lengths;
	t.n = n;
	t.cap = n;
	if ((e = new_plan(out)) != SK_OK)
		return e;
	if ((e = sched_plan(&j, &sp, policy, &t, trace_name, &(*out)->plan)) !=
	    SK_OK) {
		skrull_plan_free(*out);
		*out = NULL;
	}
	return e;
}

int
skrull_plan_read(const char *path, skrull_plan **out)
{
	int e;

	NONNULL(out, "out");
	*out = NULL;
	NONNULL(path, "path");
	err_clear();
	if ((e = new_plan(out)) != SK_OK)
		return e;
	if ((e = plan_read(path, &(*out)->plan)) != SK_OK) {
		skrull_plan_free(*out);
		*out = NULL;
	}
	return e;
}

int
skrull_plan_write(const skrull_plan *plan, const char *path)
{
	NONNULL(plan, "plan");
	NONNULL(path, "path");
	err_clear();
	return plan_write(path, &plan->plan);
}

int
skrull_plan_validate(const skrull_plan *plan)
{
	NONNULL(plan, "plan");
	err_clear();
	return plan_validate(&plan->plan, NULL);
}

int
skrull_plan_shape(const skrull_plan *plan, size_t *iterations, int *dp,
    int *cp)
{
	NONNULL(plan, "plan");
	err_clear();
	if (iterations != NULL)
		*iterations = plan->plan.niter;
	if (dp != NULL)
		*dp = plan->plan.job.dp;
	if (cp != NULL)
		*cp = plan->plan.job.cp;
	return SK_OK;
}

static int
check_rank(const struct plan *p, size_t iter, int d)
{
	if (iter >= p->niter)
		return err_set(SK_ERR_RANGE, "iteration %zu: the plan has %zu",
		    iter, p->niter);
	if (d < 0 || d >= p->job.dp)
		return err_set(SK_ERR_RANGE, "DP rank %d: the plan has %d", d,
		    p->job.dp);
	return SK_OK;
}

int
skrull_plan_mb_count(const skrull_plan *plan, size_t iter, int dp_rank,
    size_t *count)
{
	int e;

	NONNULL(plan, "plan");
	NONNULL(count, "count");
	err_clear();
	if ((e = check_rank(&plan->plan, iter, dp_rank)) != SK_OK)
		return e;
	*count = plan_rank_mbs(&plan->plan, iter, dp_rank, NULL, NULL, 0);
	return SK_OK;
}

int
skrull_plan_mb(const skrull_plan *plan, size_t iter, int dp_rank, size_t i,
    struct skrull_mb *out)
{
	const struct plan *p;
	const struct plan_mb *mb;
	size_t n, *ids;
	int *offs, e;

	NONNULL(plan, "plan");
	NONNULL(out, "out");
	err_clear();
	p = &plan->plan;
	if ((e = check_rank(p, iter, dp_rank)) != SK_OK)
		return e;
	n = plan_rank_mbs(p, iter, dp_rank, NULL, NULL, 0);
	if (i >= n)
		return err_set(SK_ERR_RANGE, "iteration %zu, DP rank %d: "
		    "micro-batch %zu: the rank runs %zu", iter, dp_rank, i, n);
	ids = malloc(n * sizeof *ids);
	offs = malloc(n * sizeof *offs);
	if (ids == NULL || offs == NULL) {
		free(ids);
		free(offs);
		return err_set(SK_ERR_NOMEM, "skrull_plan_mb: out of memory");
	}
	plan_rank_mbs(p, iter, dp_rank, ids, offs, n);
	mb = &p->mbs[ids[i]];
	out->id = ids[i];
	out->nsamples = (uint32_t)mb->n;
	out->span = mb->span;
	out->width = plan_mb_width(p, mb);
	out->offset = offs[i];
	/* offset is (dp_rank - owner) x cp (plan_rank_mbs) */
	out->owner = dp_rank - offs[i] / p->job.cp;
	free(ids);
	free(offs);
	return SK_OK;
}

int
skrull_plan_sample(const skrull_plan *plan, uint64_t mb_id, size_t k,
    struct skrull_sample *out)
{
	const struct plan *p;
	const struct plan_mb *mb;
	const struct plan_sample *s;

	NONNULL(plan, "plan");
	NONNULL(out, "out");
	err_clear();
	p = &plan->plan;
	if (mb_id >= p->nmbs)
		return err_set(SK_ERR_RANGE, "micro-batch %llu: the plan has "
		    "%zu", (unsigned long long)mb_id, p->nmbs);
	mb = &p->mbs[mb_id];
	if (k >= mb->n)
		return err_set(SK_ERR_RANGE, "micro-batch %llu: sample %zu: it "
		    "holds %zu", (unsigned long long)mb_id, k, mb->n);
	s = &p->samples[mb->first + k];
	out->index = s->index;
	out->length = s->len;
	out->place = s->size > 1 ? SKRULL_SHARDED : SKRULL_WHOLE;
	out->first = s->first;
	out->size = s->size;
	return SK_OK;
}

/* ---- simulation ---- */

int
skrull_simulate(const skrull_plan *plan, int threads, skrull_report **out)
{
	struct sim_opts o;
	skrull_report *r;
	int e;

	NONNULL(out, "out");
	*out = NULL;
	NONNULL(plan, "plan");
	err_clear();
	if (threads < 0)
		return err_set(SK_ERR_RANGE, "skrull_simulate: threads %d: "
		    "must be 0 (the online CPUs) or more", threads);
	if ((r = calloc(1, sizeof *r)) == NULL)
		return err_set(SK_ERR_NOMEM, "skrull_simulate: out of memory");
	report_init(&r->report);
	sim_opts_default(&o);
	o.threads = threads;
	if ((e = sim_run(&plan->plan, &o, &r->report)) != SK_OK) {
		skrull_report_free(r);
		return e;
	}
	*out = r;
	return SK_OK;
}

void
skrull_report_free(skrull_report *report)
{
	if (report == NULL)
		return;
	report_free(&report->report);
	free(report);
}

int
skrull_report_summary(const skrull_report *report, struct skrull_summary *out)
{
	const struct report *r;

	NONNULL(report, "report");
	NONNULL(out, "out");
	err_clear();
	r = &report->report;
	out->iterations = r->niter;
	out->ooms = r->noom;
	out->mean = r->mean;
	out->p50 = r->p50;
	out->p99 = r->p99;
	out->bound = r->bound;
	out->tokens_per_s = r->tokens_per_s;
	out->mfu = r->mfu;
	out->peak_max = r->peak_max;
	return SK_OK;
}

int
skrull_report_iteration(const skrull_report *report, size_t i, double *time,
    double *bound)
{
	const struct report *r;

	NONNULL(report, "report");
	err_clear();
	r = &report->report;
	if (i >= r->niter)
		return err_set(SK_ERR_RANGE, "iteration %zu: the report has %zu",
		    i, r->niter);
	if (time != NULL)
		*time = r->time[i];
	if (bound != NULL)
		*bound = r->bounds != NULL ? r->bounds[i] : 0;
	return SK_OK;
}

int
skrull_report_json(const skrull_report *report, int per_gpu, char **text)
{
	cJSON *root;
	int e;

	NONNULL(text, "text");
	*text = NULL;
	NONNULL(report, "report");
	err_clear();
	if ((root = cJSON_CreateObject()) == NULL)
		return err_set(SK_ERR_NOMEM, "report: out of memory");
	if ((e = report_to_json(&report->report, root, per_gpu != 0)) ==
	    SK_OK && (*text = cJSON_PrintUnformatted(root)) == NULL)
		e = err_set(SK_ERR_NOMEM, "report: out of memory");
	cJSON_Delete(root);
	return e;
}
