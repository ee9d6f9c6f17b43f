/* simopts: see simopts.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "planopts.h"
#include "simopts.h"
#include "svg.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

/* The largest --timeline-max-events: a billion events, some 200 GB of
 * JSON, beyond any viewer. */
#define TL_EVENTS_MAX 1000000000UL

void
simopts_init(struct simopts *s)
{
	memset(s, 0, sizeof *s);
	sim_opts_default(&s->opts);
}

/* "A:B", "A:" or ":B" (B exclusive), or "N" for ":N" -> *a, *b (0 for an
 * open end). */
static int
range(const char *text, size_t *a, size_t *b)
{
	const char *colon = strchr(text, ':');
	char *end;
	unsigned long long v;

	if (colon == NULL) {
		errno = 0;
		v = strtoull(text, &end, 10);
		if (*end != '\0' || errno != 0 || text[0] == '-' || v == 0)
			return -1;
		*a = 0;
		*b = (size_t)v;
		return 0;
	}
	*a = 0;
	*b = 0;
	if (colon != text) {
		errno = 0;
		v = strtoull(text, &end, 10);
		if (end != colon || errno != 0 || text[0] == '-')
			return -1;
		*a = (size_t)v;
	}
	if (colon[1] != '\0') {
		errno = 0;
		v = strtoull(colon + 1, &end, 10);
		if (*end != '\0' || errno != 0 || colon[1] == '-' || v <= *a)
			return -1;
		*b = (size_t)v;
	}
	return 0;
}

int
simopts_take(struct simopts *s, const struct cli_cmd *cmd, const char *opt,
    const char *arg)
{
	unsigned long n;
	size_t a, b;

	if (strcmp(opt, "--threads") == 0)
		return cli_parse_ulong(cmd, opt, arg, 1, 1024, &n) != CLI_OK ?
		    CLI_USAGE : (s->opts.threads = (int)n, CLI_OK);
	if (strcmp(opt, "--timeline-max-events") == 0)
		return cli_parse_ulong(cmd, opt, arg, 1, TL_EVENTS_MAX, &n) !=
		    CLI_OK ? CLI_USAGE : (s->opts.tl_max_events = n, CLI_OK);
	if (range(arg, &a, &b) != 0)
		return cli_usage(cmd, "%s: '%s' is not a range A:B of iterations "
		    "(B > A, either may be left out) or a count N", opt, arg);
	if (strcmp(opt, "--iters") == 0) {
		s->first = a;
		s->end = b;
	} else {
		s->opts.tl_first = a;
		s->opts.tl_last = b == 0 ? (size_t)-1 : b - 1;
		s->tl_given = 1;
	}
	return CLI_OK;
}

/* B of --timeline-iters A:B, in a static buffer (one message at a time). */
static const char *
tl_end_text(const struct simopts *s)
{
	static char text[32];

	snprintf(text, sizeof text, "%zu", s->opts.tl_last + 1);
	return text;
}

/* The cap dropped events: which iterations the file holds whole. */
static void
tl_warn(const struct simopts *s)
{
	const struct sim_tl_info *t = &s->tl;

	if (t->drop_iter > t->first)
		fprintf(stderr, "skrull: warning: --timeline %s: capped at %zu "
		    "events, %zu dropped: iterations %zu to %zu are whole, the "
		    "rest of %zu:%zu partial or missing (--timeline-max-events "
		    "or --timeline-iters)\n", s->opts.timeline, t->events,
		    t->dropped, t->first, t->drop_iter - 1, t->drop_iter,
		    t->end);
	else
		fprintf(stderr, "skrull: warning: --timeline %s: capped at %zu "
		    "events, %zu dropped: not even iteration %zu is whole "
		    "(--timeline-max-events or --timeline-iters)\n",
		    s->opts.timeline, t->events, t->dropped, t->first);
}

/* The simulator's iterations into the command's reporter, scaled to the
 * simulation's span when it is one part of the work. */
static void
sim_progress(void *ctx, size_t done, size_t total)
{
	const struct simopts *s = ctx;

	if (s->pg_total == 0)
		progress_update(s->pg, done, total, NULL);
	else
		progress_update(s->pg, s->pg_done + s->pg_span * done / total,
		    s->pg_total, NULL);
}

int
simopts_simulate(struct simopts *s, const struct plan *p, struct report *r)
{
	size_t end = s->end == 0 || s->end > p->niter ? p->niter : s->end;
	struct progress own;
	double t0;
	int e;

	if (s->first >= end) {
		err_set(SK_ERR_ARG, "--iters: the plan has %zu iterations, none "
		    "from %zu", p->niter, s->first);
		return cli_fail();
	}
	if (s->opts.timeline != NULL && s->tl_given &&
	    (s->opts.tl_first < s->first || s->opts.tl_first >= end ||
	    (s->opts.tl_last != (size_t)-1 && s->opts.tl_last >= end))) {
		err_set(SK_ERR_ARG, "--timeline-iters %zu:%s: outside the "
		    "iterations simulated, %zu:%zu (%s)", s->opts.tl_first,
		    s->opts.tl_last == (size_t)-1 ? "" : tl_end_text(s),
		    s->first, end, s->end != 0 || s->first != 0 ? "--iters" :
		    "the plan's");
		return cli_fail();
	}
	s->opts.first = s->first;
	s->opts.count = end - s->first;
	s->opts.events = &s->events;
	s->opts.tl_info = &s->tl;
	t0 = planopts_now();
	s->opts.progress = NULL;
	s->opts.progress_ctx = s;
	if (s->pg == NULL && progress_wanted(s->quiet, 2)) {
		progress_init(&own, stderr, "sim");
		s->pg = &own;
		s->pg_total = 0;
		s->opts.progress = sim_progress;
		e = sim_run(p, &s->opts, r);
		progress_end(&own);
		s->pg = NULL;
	} else {
		if (s->pg != NULL)
			s->opts.progress = sim_progress;
		e = sim_run(p, &s->opts, r);
	}
	if (e != SK_OK) {
		if (s->job_from != NULL && err_code() == SK_ERR_RANGE)
			err_prefix(s->job_from);
		return cli_fail();
	}
	s->wall = planopts_now() - t0;
	if (s->opts.timeline != NULL && s->tl.dropped > 0)
		tl_warn(s);
	return CLI_OK;
}

static void
print_text(const struct simopts *s, const struct plan *p, const char *label,
    const struct report *r)
{
	const struct job *j = &p->job;

	printf("%-14s %s: %s, %s on %d x %s, DP %d x CP %d, BucketSize %u\n",
	    "plan", label, p->policy, j->model.name, cluster_gpus(&j->cluster),
	    j->cluster.gpu.name, j->dp, j->cp, j->bucket);
	printf("%-14s %zu simulated (%zu to %zu) of %zu\n", "iterations",
	    r->niter, r->first, r->first + r->niter - 1, p->niter);
	printf("%-14s mean %.3f ms, p50 %.3f, p95 %.3f, p99 %.3f ms\n",
	    "iteration", r->mean * 1e3, r->p50 * 1e3, r->p95 * 1e3, r->p99 * 1e3);
	printf("%-14s %.0f tokens/s\n", "throughput", r->tokens_per_s);
	printf("%-14s %.1f%%\n", "MFU", 100 * r->mfu);
	printf("%-14s %.3f ms per iteration; this run takes %.2fx the ideal\n",
	    "ideal", r->ideal * 1e3, r->ideal_ratio);
	printf("%-14s %.3f ms per iteration, the best possible at this layout; "
	    "this run takes %.3fx the bound\n", "bound", r->bound * 1e3,
	    r->bound_ratio);
	printf("%-14s busy %.1f%%, exposed communication %.1f%%, waiting %.1f%%\n",
	    "GPU time", 100 * r->busy_frac, 100 * r->comm_frac, 100 * r->wait_frac);
	printf("%-14s %.2f GiB (of %.2f GiB available)\n", "peak memory",
	    r->peak_max / GIB, (j->cluster.gpu.hbm_bytes - j->reserve) / GIB);
	printf("%-14s %zu\n", "OOMs", r->noom);
	printf("%-14s %.3f s wall, %.3g events, %.3g events/s\n", "simulation",
	    s->wall, (double)s->events,
	    s->wall > 0 ? (double)s->events / s->wall : 0.0);
}

/* About 12 labels along an axis of n categories. */
static size_t
every(size_t n)
{
	return n > 12 ? (n + 11) / 12 : 1;
}

/* --svg: per GPU its mean busy, exposed communication and waiting time
 * per iteration stacked; per iteration its peak memory (the largest
 * over the GPUs) against the memory available, OOM iterations crossed. */
static int
write_svg(const char *path, const struct plan *p, const char *label,
    const struct report *r)
{
	static const char *const gname[] = { "busy (compute)",
	    "exposed communication", "waiting" };
	static const char *const mname[] = { "peak, max over GPUs" };
	const struct job *j = &p->job;
	struct svg_bars b[2];
	char title[160], *text = NULL;
	const char **cat = NULL;
	double *v = NULL;
	int *mark = NULL, g, e = SK_OK;
	size_t G = (size_t)r->ngpus, n = r->niter, i, o;
	const size_t W = 24;   /* bytes of one label: "d%dc%d" of two ints */

	cat = calloc(G + n, sizeof *cat);
	text = calloc(G + n, W);
	v = calloc(3 * G + n, sizeof *v);
	mark = calloc(n, sizeof *mark);
	if (cat == NULL || text == NULL || v == NULL || mark == NULL) {
		e = err_set(SK_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (g = 0; g < r->ngpus; g++) {
		snprintf(text + (size_t)g * W, W, "d%dc%d", g / j->cp, g % j->cp);
		cat[g] = text + (size_t)g * W;
		for (i = 0; i < n; i++) {
			const struct report_cell *c = &r->cell[i * G + (size_t)g];

			v[3 * (size_t)g] += c->busy * 1e3 / (double)n;
			v[3 * (size_t)g + 1] += c->comm * 1e3 / (double)n;
			v[3 * (size_t)g + 2] += c->wait * 1e3 / (double)n;
		}
	}
	for (i = 0; i < n; i++) {
		snprintf(text + (G + i) * W, W, "%zu", r->first + i);
		cat[G + i] = text + (G + i) * W;
		for (g = 0; g < r->ngpus; g++)
			v[3 * G + i] = fmax(v[3 * G + i],
			    r->cell[i * G + (size_t)g].peak / GIB);
	}
	for (o = 0; o < r->noom; o++)
		if (r->oom[o].iter >= r->first && r->oom[o].iter - r->first < n)
			mark[r->oom[o].iter - r->first] = 1;
	memset(b, 0, sizeof b);
	b[0].title = "GPU time per iteration (mean)";
	b[0].xlabel = "GPU (DP rank d, CP rank c)";
	b[0].ylabel = "time per iteration (ms)";
	b[0].cat = cat;
	b[0].ncat = G;
	b[0].name = gname;
	b[0].nser = 3;
	b[0].v = v;
	b[0].stacked = 1;
	b[0].hline = NAN;
	b[0].label_every = every(G);
	b[1].title = "peak memory per iteration";
	b[1].xlabel = "iteration";
	b[1].ylabel = "memory (GiB)";
	b[1].cat = cat + G;
	b[1].ncat = n;
	b[1].name = mname;
	b[1].nser = 1;
	b[1].v = v + 3 * G;
	b[1].hline = (j->cluster.gpu.hbm_bytes - j->reserve) / GIB;
	b[1].hlabel = "HBM available";
	b[1].mark = r->noom > 0 ? mark : NULL;
	b[1].marklabel = "iteration with an OOM";
	b[1].label_every = every(n);
	snprintf(title, sizeof title, "skrull sim: %s, %s, DP %d x CP %d",
	    label, p->policy, j->dp, j->cp);
	e = svg_write_bars(path, title, b, 2);
out:
	free(cat);
	free(text);
	free(v);
	free(mark);
	return e;
}

int
simopts_run(struct simopts *s, const struct plan *p, const char *label,
    struct report *r)
{
	cJSON *root;
	int rc;

	if ((rc = simopts_simulate(s, p, r)) != CLI_OK)
		return rc;
	if (s->svg != NULL && write_svg(s->svg, p, label, r) != SK_OK)
		return cli_fail();
	if (r->noom > 0)
		fprintf(stderr, "skrull: %zu out-of-memory event%s; the first: "
		    "iteration %zu, GPU %d needs %.2f GiB of %.2f GiB\n", r->noom,
		    r->noom == 1 ? "" : "s", r->oom[0].iter, r->oom[0].gpu,
		    r->oom[0].need / GIB, r->oom[0].avail / GIB);
	if (!s->json) {
		print_text(s, p, label, r);
		return CLI_OK;
	}
	if ((root = cJSON_CreateObject()) == NULL ||
	    report_to_json(r, root, s->per_gpu) != SK_OK ||
	    cJSON_AddNumberToObject(root, "dropped", (double)p->dropped) ==
	    NULL) {
		cJSON_Delete(root);
		err_set(SK_ERR_NOMEM, "out of memory");
		return cli_fail();
	}
	return cli_print_json(root);
}
