/* report: see report.h; every metric is defined in skrull(7). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "err.h"
#include "json.h"
#include "ops.h"
#include "plan.h"
#include "report.h"

#define REPORT_FORMAT "skrull-report"

/* OOMs listed in the JSON; the summary counts them all.  A run that runs
 * out of memory everywhere would otherwise list every GPU of every
 * iteration. */
#define REPORT_OOM_LIST_MAX 1000

void
report_init(struct report *r)
{
	memset(r, 0, sizeof *r);
}

void
report_free(struct report *r)
{
	free(r->time);
	free(r->tokens);
	free(r->model_flops);
	free(r->bounds);
	free(r->cell);
	free(r->oom);
	report_init(r);
}

int
report_alloc(struct report *r, const char *source, int ngpus, size_t first,
    size_t niter)
{
	/* calloc(0) may return NULL: keep one entry so NULL means failure. */
	size_t n = niter > 0 ? niter : 1;

	report_init(r);
	if (source == NULL || strlen(source) >= sizeof r->source)
		return err_set(SK_ERR_ARG, "report: source must be \"sim\" or "
		    "\"run\"");
	if (ngpus < 1)
		return err_set(SK_ERR_ARG, "report: %d GPUs", ngpus);
	if (n > SIZE_MAX / sizeof *r->cell / (size_t)ngpus)
		return err_set(SK_ERR_NOMEM, "report: %zu iterations of %d GPUs: "
		    "out of memory", niter, ngpus);
	r->time = calloc(n, sizeof *r->time);
	r->tokens = calloc(n, sizeof *r->tokens);
	r->model_flops = calloc(n, sizeof *r->model_flops);
	r->bounds = calloc(n, sizeof *r->bounds);
	r->cell = calloc(n * (size_t)ngpus, sizeof *r->cell);
	if (r->time == NULL || r->tokens == NULL || r->model_flops == NULL ||
	    r->bounds == NULL || r->cell == NULL) {
		report_free(r);
		return err_set(SK_ERR_NOMEM, "report: %zu iterations of %d GPUs: "
		    "out of memory", niter, ngpus);
	}
	strcpy(r->source, source);
	r->ngpus = ngpus;
	r->first = first;
	r->niter = niter;
	return SK_OK;
}

int
report_add_oom(struct report *r, size_t iter, int gpu, double need,
    double avail)
{
	struct report_oom *o;
	size_t cap;

	if (gpu < 0 || gpu >= r->ngpus)
		return err_set(SK_ERR_ARG, "report: OOM on GPU %d of %d", gpu,
		    r->ngpus);
	if (iter < r->first || iter - r->first >= r->niter)
		return err_set(SK_ERR_ARG, "report: OOM in iteration %zu, outside "
		    "the %zu reported from %zu", iter, r->niter, r->first);
	if (r->noom == r->cap_oom) {
		/* Doubling: OOMs are rare, but a bad plan may have one per
		 * GPU and iteration. */
		cap = r->cap_oom > 0 ? 2 * r->cap_oom : 16;
		if (cap > SIZE_MAX / sizeof *o ||
		    (o = realloc(r->oom, cap * sizeof *o)) == NULL)
			return err_set(SK_ERR_NOMEM, "report: out of memory for "
			    "%zu OOMs", cap);
		r->oom = o;
		r->cap_oom = cap;
	}
	o = &r->oom[r->noom++];
	o->iter = iter;
	o->gpu = gpu;
	o->need = need;
	o->avail = avail;
	return SK_OK;
}

/* A per-iteration input must be a finite number >= 0. */
static int
check_value(const struct report *r, size_t it, const char *what, double v)
{
	if (isfinite(v) && v >= 0)
		return SK_OK;
	return err_set(SK_ERR_RANGE, "report: iteration %zu: %s is %g",
	    r->first + it, what, v);
}

int
report_bounds(struct report *r, const struct plan *p)
{
	const struct job *j = &p->job;
	struct ops_rate rate;
	struct ops_bound b;
	size_t it, m, k, ri;
	int d;

	if (r->first > p->niter || r->niter > p->niter - r->first ||
	    p->nranks < p->niter * (size_t)j->dp)
		return err_set(SK_ERR_FORMAT, "report: iterations %zu to %zu are "
		    "not in the plan of %zu", r->first, r->first + r->niter,
		    p->niter);
	ops_rate_init(&rate, j);
	for (it = 0; it < r->niter; it++) {
		b.work = b.single = 0;
		for (d = 0; d < j->dp; d++) {
			ri = (r->first + it) * (size_t)j->dp + (size_t)d;
			for (m = 0; m < p->ranks[ri].n; m++) {
				const struct plan_mb *mb =
				    &p->mbs[p->ranks[ri].first + m];

				for (k = 0; k < mb->n; k++)
					ops_bound_add(&rate, &b,
					    p->samples[mb->first + k].len);
			}
		}
		r->bounds[it] = ops_bound_sec(&rate, &b);
	}
	return SK_OK;
}

int
report_finish(struct report *r, const struct job *j)
{
	const double peak = j->cluster.gpu.peak_flops;
	const double gemm_max = j->cluster.eff.gemm_max;
	const double g = (double)r->ngpus;
	double *sorted = NULL;
	double busy = 0, comm = 0, wait = 0, mflops = 0, ideal = 0, bound = 0;
	double gputime;
	uint64_t tokens = 0;
	size_t it;
	int k, e = SK_OK;

	if (r->niter == 0)
		return err_set(SK_ERR_ARG, "report: no iterations to summarise");
	r->model = j->model;
	r->model_known = 1;
	if (!(peak > 0) || !(gemm_max > 0))
		return err_set(SK_ERR_ARG, "report: the cluster's peak FLOP/s "
		    "(%g) and GEMM efficiency (%g) must be positive", peak,
		    gemm_max);
	for (it = 0; it < r->niter; it++) {
		if ((e = check_value(r, it, "time", r->time[it])) != SK_OK ||
		    (e = check_value(r, it, "model FLOPs",
		    r->model_flops[it])) != SK_OK)
			return e;
		for (k = 0; k < r->ngpus; k++) {
			const struct report_cell *c = report_cell(r, it, k);

			if ((e = check_value(r, it, "busy", c->busy)) != SK_OK ||
			    (e = check_value(r, it, "comm", c->comm)) != SK_OK ||
			    (e = check_value(r, it, "wait", c->wait)) != SK_OK ||
			    (e = check_value(r, it, "FLOPs", c->flops)) != SK_OK ||
			    (e = check_value(r, it, "peak memory",
			    c->peak)) != SK_OK)
				return e;
		}
	}
	if ((sorted = malloc(r->niter * sizeof *sorted)) == NULL)
		return err_set(SK_ERR_NOMEM, "report: out of memory sorting %zu "
		    "iteration times", r->niter);

	r->total = 0;
	r->peak_max = 0;
	for (it = 0; it < r->niter; it++) {
		double f = 0;

		r->total += r->time[it];
		bound += r->bounds[it];
		tokens += r->tokens[it];
		mflops += r->model_flops[it];
		for (k = 0; k < r->ngpus; k++) {
			const struct report_cell *c = report_cell(r, it, k);

			busy += c->busy;
			comm += c->comm;
			wait += c->wait;
			f += c->flops;
			if (c->peak > r->peak_max)
				r->peak_max = c->peak;
		}
		/* Every FLOP of the iteration spread evenly over the GPUs,
		 * all at the best efficiency a kernel reaches. */
		ideal += f / (g * peak * gemm_max);
	}
	r->mean = gsl_stats_mean(r->time, 1, r->niter);
	memcpy(sorted, r->time, r->niter * sizeof *sorted);
	gsl_sort(sorted, 1, r->niter);
	r->p50 = gsl_stats_quantile_from_sorted_data(sorted, 1, r->niter, 0.50);
	r->p95 = gsl_stats_quantile_from_sorted_data(sorted, 1, r->niter, 0.95);
	r->p99 = gsl_stats_quantile_from_sorted_data(sorted, 1, r->niter, 0.99);
	free(sorted);

	/* Degenerate runs (no time, no work) give 0, not a division by 0. */
	r->tokens_per_s = r->total > 0 ? (double)tokens / r->total : 0;
	r->mfu = r->total > 0 ? mflops / (r->total * g * peak) : 0;
	r->ideal = ideal / (double)r->niter;
	r->ideal_ratio = r->ideal > 0 ? r->mean / r->ideal : 0;
	r->bound = bound / (double)r->niter;
	r->bound_ratio = r->bound > 0 ? r->mean / r->bound : 0;
	gputime = r->total * g;
	r->busy_frac = gputime > 0 ? busy / gputime : 0;
	r->comm_frac = gputime > 0 ? comm / gputime : 0;
	r->wait_frac = gputime > 0 ? wait / gputime : 0;
	return SK_OK;
}

/* Add the number members of o named names[i] = v[i]; NULL on failure. */
static cJSON *
numbers(cJSON *o, const char *const *names, const double *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cJSON_AddNumberToObject(o, names[i], v[i]) == NULL)
			return NULL;
	return o;
}

int
report_to_json(const struct report *r, cJSON *obj, int per_gpu)
{
	static const char *const summary_names[] = {
		"gpus", "first", "iterations", "tokens", "model_flops",
		"mean", "p50", "p95", "p99", "total", "tokens_per_s", "mfu",
		"ideal", "ideal_ratio", "bound", "bound_ratio", "peak_max",
		"busy_frac", "comm_frac", "wait_frac", "oom_count"
	};
	static const char *const cell_names[] = {
		"busy", "comm", "wait", "flops", "peak"
	};
	static const char *const iter_names[] = {
		"index", "time", "tokens", "bound"
	};
	static const char *const oom_names[] = { "iter", "gpu", "need", "avail" };
	double tokens = 0, mflops = 0;
	cJSON *s, *iters, *ooms, *o, *gpus;
	size_t it, i, nlist;
	int k;

	for (it = 0; it < r->niter; it++) {
		tokens += (double)r->tokens[it];
		mflops += r->model_flops[it];
	}
	if (cJSON_AddStringToObject(obj, "format", REPORT_FORMAT) == NULL ||
	    cJSON_AddNumberToObject(obj, "version", REPORT_VERSION) == NULL ||
	    cJSON_AddStringToObject(obj, "source", r->source) == NULL)
		goto nomem;
	if (r->model_known &&
	    ((o = cJSON_AddObjectToObject(obj, "model")) == NULL ||
	    model_to_json(&r->model, o) != SK_OK))
		goto nomem;
	if (r->comm[0] != '\0' &&
	    ((o = cJSON_AddObjectToObject(obj, "communication")) == NULL ||
	    cJSON_AddStringToObject(o, "communicator", r->comm) == NULL ||
	    cJSON_AddBoolToObject(o, "emulated", r->emulated) == NULL))
		goto nomem;
	if ((s = cJSON_AddObjectToObject(obj, "summary")) == NULL)
		goto nomem;
	{
		const double v[] = {
			r->ngpus, (double)r->first, (double)r->niter, tokens,
			mflops, r->mean, r->p50, r->p95, r->p99, r->total,
			r->tokens_per_s, r->mfu, r->ideal, r->ideal_ratio,
			r->bound, r->bound_ratio, r->peak_max, r->busy_frac, r->comm_frac, r->wait_frac,
			(double)r->noom
		};

		if (numbers(s, summary_names, v, sizeof v / sizeof v[0]) == NULL)
			goto nomem;
	}
	if ((iters = cJSON_AddArrayToObject(obj, "iterations")) == NULL)
		goto nomem;
	for (it = 0; it < r->niter; it++) {
		const double v[] = {
			(double)(r->first + it), r->time[it], (double)r->tokens[it],
			r->bounds[it]
		};

		if ((o = cJSON_CreateObject()) == NULL)
			goto nomem;
		cJSON_AddItemToArray(iters, o);
		if (numbers(o, iter_names, v, sizeof v / sizeof v[0]) == NULL)
			goto nomem;
		if (!per_gpu)
			continue;
		if ((gpus = cJSON_AddArrayToObject(o, "gpus")) == NULL)
			goto nomem;
		for (k = 0; k < r->ngpus; k++) {
			const struct report_cell *c = &r->cell[it *
			    (size_t)r->ngpus + (size_t)k];
			const double cv[] = {
				c->busy, c->comm, c->wait, c->flops, c->peak
			};
			cJSON *co;

			if ((co = cJSON_CreateObject()) == NULL)
				goto nomem;
			cJSON_AddItemToArray(gpus, co);
			if (numbers(co, cell_names, cv,
			    sizeof cv / sizeof cv[0]) == NULL)
				goto nomem;
		}
	}
	if ((ooms = cJSON_AddArrayToObject(obj, "ooms")) == NULL)
		goto nomem;
	nlist = r->noom < REPORT_OOM_LIST_MAX ? r->noom : REPORT_OOM_LIST_MAX;
	for (i = 0; i < nlist; i++) {
		const struct report_oom *m = &r->oom[i];
		const double v[] = {
			(double)m->iter, m->gpu, m->need, m->avail
		};

		if ((o = cJSON_CreateObject()) == NULL)
			goto nomem;
		cJSON_AddItemToArray(ooms, o);
		if (numbers(o, oom_names, v, sizeof v / sizeof v[0]) == NULL)
			goto nomem;
	}
	return SK_OK;
nomem:
	return err_set(SK_ERR_NOMEM, "out of memory building the report JSON");
}

/* The optional "communication" object of report root (from path) into r. */
static int
read_comm(const cJSON *root, const char *path, struct report *r)
{
	static const char *const keys[] = { "communicator", "emulated" };
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "communication");
	const char *name = NULL;
	char where[512];
	int rc;

	if (c == NULL)
		return SK_OK;
	json_where(where, sizeof where, path, "communication");
	if (!cJSON_IsObject(c))
		return err_set(SK_ERR_FORMAT, "%s: not an object", where);
	if ((rc = json_check_keys(c, where, keys, 2)) != SK_OK ||
	    (rc = json_get_str(c, "communicator", where, &name)) != SK_OK ||
	    (rc = json_get_bool(c, "emulated", where, &r->emulated)) != SK_OK)
		return rc;
	if (name[0] == '\0' || strlen(name) >= sizeof r->comm)
		return err_set(SK_ERR_FORMAT, "%s: communicator \"%s\" is not "
		    "a name of 1 to %zu characters", where, name,
		    sizeof r->comm - 1);
	strcpy(r->comm, name);
	return SK_OK;
}

/*
 * Read a report written by report_to_json (skrull sim --json, skrull run
 * -o): the source, the summary's aggregates and the iterations' times and
 * tokens (per-GPU rows and OOM entries are not read back).  r must be
 * initialised; it is replaced.
 */
int
report_read(const char *path, struct report *r)
{
	static const char *const names[] = {
		"mean", "p50", "p95", "p99", "total", "tokens_per_s", "mfu",
		"ideal", "ideal_ratio", "peak_max", "busy_frac", "comm_frac",
		"wait_frac"
	};
	static const char *const bnames[] = { "bound", "bound_ratio" };
	double *dst[sizeof names / sizeof names[0]];
	const cJSON *s, *mo, *iters, *it;
	cJSON *root = NULL;
	const char *source;
	char where[512];
	long long gpus, first, niter, noom, v;
	struct model model;
	double t;
	size_t i, k;
	int rc, version;

	report_free(r);
	if ((rc = json_load(path, &root)) != SK_OK)
		return rc;
	if ((rc = json_check_version_range(root, path, REPORT_FORMAT, 1,
	    REPORT_VERSION, &version)) != SK_OK ||
	    (rc = json_get_str(root, "source", path, &source)) != SK_OK ||
	    (rc = json_get_obj(root, "summary", path, &s)) != SK_OK)
		goto out;
	snprintf(where, sizeof where, "%s: summary", path);
	if ((rc = json_get_int(s, "gpus", where, 1, 1 << 24, &gpus)) != SK_OK ||
	    (rc = json_get_int(s, "first", where, 0, 1LL << 40, &first)) != SK_OK ||
	    (rc = json_get_int(s, "iterations", where, 1, 1LL << 32, &niter)) != SK_OK ||
	    (rc = json_get_int(s, "oom_count", where, 0, 1LL << 40, &noom)) != SK_OK ||
	    (rc = json_get_arr(root, "iterations", path, &iters)) != SK_OK)
		goto out;
	if ((long long)cJSON_GetArraySize(iters) != niter) {
		rc = err_set_at(SK_ERR_FORMAT, path, 0, "iterations: %d entries, "
		    "the summary says %lld", cJSON_GetArraySize(iters), niter);
		goto out;
	}
	if ((rc = report_alloc(r, source, (int)gpus, (size_t)first,
	    (size_t)niter)) != SK_OK)
		goto out;
	if ((rc = read_comm(root, path, r)) != SK_OK)
		goto out;
	if (version >= 2) {
		if ((rc = json_get_obj(root, "model", path, &mo)) != SK_OK)
			goto out;
		json_where(where, sizeof where, path, "model");
		if ((rc = model_from_json(mo, where, &model)) != SK_OK)
			goto out;
		snprintf(where, sizeof where, "%s: summary", path);
		r->model = model;
		r->model_known = 1;
	}
	dst[0] = &r->mean; dst[1] = &r->p50; dst[2] = &r->p95; dst[3] = &r->p99;
	dst[4] = &r->total; dst[5] = &r->tokens_per_s; dst[6] = &r->mfu;
	dst[7] = &r->ideal; dst[8] = &r->ideal_ratio; dst[9] = &r->peak_max;
	dst[10] = &r->busy_frac; dst[11] = &r->comm_frac; dst[12] = &r->wait_frac;
	for (k = 0; k < sizeof names / sizeof names[0]; k++)
		if ((rc = json_get_num(s, names[k], where, 0, 1e300, dst[k])) != SK_OK)
			goto out;
	/* The bound came later than version 1: optional. */
	for (k = 0; k < 2; k++)
		if (cJSON_GetObjectItemCaseSensitive(s, bnames[k]) != NULL &&
		    (rc = json_get_num(s, bnames[k], where, 0, 1e300,
		    k == 0 ? &r->bound : &r->bound_ratio)) != SK_OK)
			goto out;
	r->noom = (size_t)noom;
	i = 0;
	cJSON_ArrayForEach(it, iters) {
		snprintf(where, sizeof where, "%s: iterations[%zu]", path, i);
		if ((rc = json_get_num(it, "time", where, 0, 1e300, &t)) != SK_OK ||
		    (rc = json_get_int(it, "tokens", where, 0, 1LL << 53, &v)) != SK_OK)
			goto out;
		r->time[i] = t;
		r->tokens[i] = (uint64_t)v;
		if (cJSON_GetObjectItemCaseSensitive(it, "bound") != NULL &&
		    (rc = json_get_num(it, "bound", where, 0, 1e300,
		    &r->bounds[i])) != SK_OK)
			goto out;
		i++;
	}
out:
	cJSON_Delete(root);
	if (rc != SK_OK)
		report_free(r);
	return rc;
}
