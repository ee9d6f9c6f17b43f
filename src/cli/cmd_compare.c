/* cmd_compare: `skrull compare`, see skrull-compare(1). */
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "err.h"
#include "plan.h"
#include "planopts.h"
#include "progress.h"
#include "report.h"
#include "sched.h"
#include "simopts.h"
#include "svg.h"
#include "trace.h"

static int run(int, char **);

const struct cli_cmd cmd_compare = {
	.name = "compare",
	.summary =
	    "simulate several policies on the same trace and job, side by side",
	.usage =
	    "skrull compare [--trace FILE] [--policies LIST] [JOB OPTIONS]\n"
	    "              [POLICY OPTIONS] [--iters A:B] [--threads N] [--svg FILE]\n"
	    "              [--quiet] [--json]\n"
	    "       skrull compare --paper [--iters A:B] [--threads N] [--quiet] [--json]",
	.run = run,
};

/* The paper's DeepSpeed baseline is one sample per micro-batch (its
 * section 7 implies it); packing is the stronger baseline; both are shown,
 * and the paper's own algorithms beside the default. */
#define DEFAULT_POLICIES \
    "deepspeed/mb-samples=1,deepspeed,sorted,dacp,skrull-paper,skrull-cp,skrull"
#define DEFAULT_TRACE "traces/wikipedia.txt.gz"
#define DEFAULT_ITERS 100
#define MAX_POLICIES 16
#define ENTRY_UNITS 1000   /* progress units of one compared policy */

enum {
	OPT_POLICIES = 256, OPT_PAPER, OPT_ITERS, OPT_THREADS, OPT_SVG,
	OPT_QUIET, OPT_JSON
};

static const struct option own[] = {
	{ "policies", required_argument, NULL, OPT_POLICIES },
	{ "paper", no_argument, NULL, OPT_PAPER },
	{ "iters", required_argument, NULL, OPT_ITERS },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "svg", required_argument, NULL, OPT_SVG },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
};

/* One compared policy: its name as given, the policy and its knobs. */
struct entry {
	char label[64];
	char policy[32];
	struct sched_params sp;
	struct report r;
	int invalid;       /* the plan broke the memory bound */
	double plan_secs;
	struct cli_drops drops;  /* what its plan dropped */
};

static void
help(void)
{
	printf("usage: %s\n\n%s\n\n", cmd_compare.usage, cmd_compare.summary);
	printf("  --policies LIST   comma-separated NAME[/KNOB=VALUE...] (default\n"
	    "                    %s)\n"
	    "  --policy NAME     the same as --policies NAME\n"
	    "  --paper           the paper's six configurations on the bundled\n"
	    "                    stand-in traces, beside its published speed-ups\n"
	    "  --iters A:B       iterations simulated per policy (default 0:%d)\n"
	    "  --threads N       threads (default: the CPUs); --paper runs its\n"
	    "                    configurations side by side on them\n"
	    "  --svg FILE        write a bar chart of the policies' mean and p99\n"
	    "                    iteration beside their bound (not with --paper)\n"
	    "  --quiet           no progress line on standard error\n"
	    "  --json            print the comparison as JSON\n"
	    "  (default trace: %s; overlong samples are dropped)\n",
	    DEFAULT_POLICIES, DEFAULT_ITERS, DEFAULT_TRACE);
	planopts_help(0);
	printf("\nSee skrull-compare(1) and skrull(7).\n");
}

/* Parse one "NAME/KNOB=VALUE/..." into e, starting from base knobs. */
static int
parse_entry(const char *text, size_t n, const struct sched_params *base,
    struct entry *e)
{
	char buf[sizeof e->label], *tok, *save = NULL, *eq;
	const struct sched_knob *k;

	if (n == 0 || n >= sizeof buf)
		return err_set(SK_ERR_ARG, "--policies: an entry is empty or "
		    "longer than %zu characters", sizeof buf - 1);
	memcpy(buf, text, n);
	buf[n] = '\0';
	memset(e, 0, sizeof *e);
	memcpy(e->label, buf, n + 1);
	e->sp = *base;
	tok = strtok_r(buf, "/", &save);
	if (tok == NULL)
		return err_set(SK_ERR_ARG, "--policies: no policy in '%s'",
		    e->label);
	if (sched_policy_find(tok) == NULL) {
		err_prefix("--policies");
		return SK_ERR_ARG;
	}
	snprintf(e->policy, sizeof e->policy, "%s", tok);
	while ((tok = strtok_r(NULL, "/", &save)) != NULL) {
		if ((eq = strchr(tok, '=')) == NULL)
			return err_set(SK_ERR_ARG, "--policies: '%s' in '%s' is not "
			    "KNOB=VALUE", tok, e->label);
		*eq = '\0';
		if ((k = sched_knob_find(tok)) == NULL)
			return err_set(SK_ERR_ARG, "--policies: unknown knob '%s' in "
			    "'%s'", tok, e->label);
		if (sched_knob_set(&e->sp, k, eq + 1) != SK_OK)
			return SK_ERR_ARG;
	}
	return SK_OK;
}

static int
parse_list(const char *list, const struct sched_params *base, struct entry *e,
    size_t *n)
{
	const char *p = list, *c;

	*n = 0;
	for (;;) {
		c = strchr(p, ',');
		if (*n == MAX_POLICIES)
			return err_set(SK_ERR_ARG, "--policies: more than %d entries",
			    MAX_POLICIES);
		if (parse_entry(p, c != NULL ? (size_t)(c - p) : strlen(p), base,
		    &e[*n]) != SK_OK)
			return SK_ERR_ARG;
		(*n)++;
		if (c == NULL)
			return SK_OK;
		p = c + 1;
	}
}

/* One warning for the command when every policy dropped the same, else
 * one per policy that dropped, naming it; label: the configuration
 * (--paper) or NULL. */
static void
warn_drops(const struct entry *e, size_t n, const char *label)
{
	char what[160];
	size_t i;
	int same = 1;

	for (i = 1; i < n; i++)
		if (e[i].drops.overlong != e[0].drops.overlong ||
		    e[i].drops.last != e[0].drops.last)
			same = 0;
	if (n == 0)
		return;
	if (same) {
		cli_drops_warn(&e[0].drops, label);
		return;
	}
	for (i = 0; i < n; i++) {
		snprintf(what, sizeof what, "%s%spolicy %s", label != NULL ? label : "",
		    label != NULL ? ", " : "", e[i].label);
		cli_drops_warn(&e[i].drops, what);
	}
}

/* Planning's share of an entry's progress: its batches. */
static void
plan_progress(void *ctx, size_t done, size_t total)
{
	const struct simopts *sc = ctx;

	progress_update(sc->pg, sc->pg_done + ENTRY_UNITS / 2 * done / total,
	    sc->pg_total, NULL);
}

/* Plan and simulate every entry on trace t with job j (the caller warns
 * of what the plans dropped, warn_drops, once every entry is done, so
 * that --paper's configurations warn in order).  Progress: with
 * done NULL, through sc->pg (ENTRY_UNITS an entry, half its planning,
 * half its simulation), unless NULL; else into pg, one unit an entry, of
 * total, counted in *done, which the configurations of --paper share. */
static int
simulate_all(struct simopts *sc, const struct job *j, const struct trace *t,
    const char *trace_path, struct entry *e, size_t n, struct progress *pg,
    atomic_size_t *done, size_t total)
{
	struct plan p;
	size_t i;
	int rc = CLI_OK;
	double t0;

	plan_init(&p);
	for (i = 0; i < n && rc == CLI_OK; i++) {
		t0 = planopts_now();
		sc->pg_done = ENTRY_UNITS * i;
		sc->pg_total = ENTRY_UNITS * n;
		if (sched_plan_progress(j, &e[i].sp, e[i].policy, t, trace_path,
		    &p, done == NULL && sc->pg != NULL ? plan_progress : NULL,
		    sc) != SK_OK) {
			err_prefix(e[i].label);
			rc = cli_fail();
			break;
		}
		e[i].plan_secs = planopts_now() - t0;
		cli_drops_count(&p, t, &e[i].drops);
		e[i].invalid = plan_validate(&p, t) != SK_OK;
		sc->pg_done += ENTRY_UNITS / 2;
		sc->pg_span = ENTRY_UNITS / 2;
		rc = simopts_simulate(sc, &p, &e[i].r);
		if (rc == CLI_OK && done != NULL)
			progress_update(pg, atomic_fetch_add(done, 1) + 1,
			    total, NULL);
	}
	plan_free(&p);
	return rc;
}

/*
 * Speed-up of entry b over entry a: the ratio of their throughputs (tokens
 * per second over the simulated iterations).  Not of their mean iteration
 * times: sorted batching composes different global batches, so its
 * iterations i..j hold other samples than the other policies'.
 */
static double
speedup(const struct entry *a, const struct entry *b)
{
	return a->r.tokens_per_s > 0 ? b->r.tokens_per_s / a->r.tokens_per_s : 0.0;
}

static void
print_table(const struct entry *e, size_t n)
{
	size_t i;

	printf("%-24s %9s %9s %8s %8s %8s %6s %9s %5s\n", "policy", "mean ms",
	    "p99 ms", "x bound", "vs [0]", "vs [1]", "MFU", "peak GiB", "OOMs");
	for (i = 0; i < n; i++)
		printf("%-24s %9.2f %9.2f %7.3fx %7.2fx %7.2fx %5.1f%% %9.2f "
		    "%5zu%s\n", e[i].label, e[i].r.mean * 1e3, e[i].r.p99 * 1e3,
		    e[i].r.bound_ratio, speedup(&e[0], &e[i]),
		    n > 1 ? speedup(&e[1], &e[i]) : 1.0,
		    100 * e[i].r.mfu,
		    e[i].r.peak_max / (1024.0 * 1024 * 1024), e[i].r.noom,
		    e[i].invalid ? "  (plan breaks the memory bound)" : "");
}

static cJSON *
entries_json(const struct entry *e, size_t n)
{
	cJSON *arr = cJSON_CreateArray(), *o;
	size_t i;

	for (i = 0; arr != NULL && i < n; i++) {
		if ((o = cJSON_CreateObject()) == NULL) {
			cJSON_Delete(arr);
			return NULL;
		}
		cJSON_AddItemToArray(arr, o);
		if (cJSON_AddStringToObject(o, "policy", e[i].label) == NULL ||
		    cJSON_AddBoolToObject(o, "plan_valid", !e[i].invalid) == NULL ||
		    cJSON_AddNumberToObject(o, "speedup_vs_first",
		        speedup(&e[0], &e[i])) == NULL ||
		    report_to_json(&e[i].r, o, 0) != SK_OK ||
		    cli_drops_json(&e[i].drops, o) != SK_OK) {
			cJSON_Delete(arr);
			return NULL;
		}
	}
	return arr;
}

static void
free_entries(struct entry *e, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		report_free(&e[i].r);
}

/* The paper's six configurations (its experimental setup) and its speed-ups
 * over DeepSpeed and over sorted batching per configuration, as read off
 * Figure 3 by a third party (papernotes; approximate). */
static const struct paper_config {
	const char *model, *trace, *name;
	int dp, cp, batch;
	uint32_t bucket;
	double vs_ds, vs_sorted;
} paper[] = {
	{ "Qwen2.5-0.5B", "traces/synth-wikipedia-zh.txt.gz", "0.5B Wikipedia", 4, 8, 64, 26000, 7.54, 6.85 },
	{ "Qwen2.5-0.5B", "traces/synth-lmsyschat1m.txt.gz", "0.5B LMsysChat1M", 4, 8, 64, 26000, 6.17, 5.40 },
	{ "Qwen2.5-0.5B", "traces/synth-chatqa2-long-sft.txt.gz", "0.5B ChatQA2", 4, 8, 64, 26000, 2.79, 1.86 },
	{ "Qwen2.5-7B", "traces/synth-wikipedia-zh.txt.gz", "7B Wikipedia", 4, 8, 64, 13000, 2.60, 2.30 },
	{ "Qwen2.5-7B", "traces/synth-lmsyschat1m.txt.gz", "7B LMsysChat1M", 4, 8, 64, 13000, 2.14, 1.90 },
	{ "Qwen2.5-7B", "traces/synth-chatqa2-long-sft.txt.gz", "7B ChatQA2", 2, 16, 40, 13000, 1.35, 1.20 },
};
#define NPAPER (sizeof paper / sizeof paper[0])

/* The best possible speed-up over a's plan: its mean iteration over the
 * mean bound of b's iterations (the same global batches: the bound depends
 * only on what a batch holds). */
static double
best(const struct entry *a, const struct entry *b)
{
	return b->r.bound > 0 ? a->r.mean / b->r.bound : 0.0;
}

/* One configuration of --paper as JSON; NULL when out of memory. */
static cJSON *
paper_json(const struct paper_config *c, const struct entry *e, size_t n)
{
	cJSON *o = cJSON_CreateObject(), *pol;

	if (o == NULL ||
	    cJSON_AddStringToObject(o, "configuration", c->name) == NULL ||
	    cJSON_AddNumberToObject(o, "speedup_vs_deepspeed",
	        speedup(&e[0], &e[3])) == NULL ||
	    cJSON_AddNumberToObject(o, "paper_algorithms_vs_deepspeed",
	        speedup(&e[0], &e[2])) == NULL ||
	    cJSON_AddNumberToObject(o, "paper_vs_deepspeed", c->vs_ds) == NULL ||
	    cJSON_AddNumberToObject(o, "bound_vs_deepspeed",
	        best(&e[0], &e[3])) == NULL ||
	    cJSON_AddNumberToObject(o, "speedup_vs_sorted",
	        speedup(&e[1], &e[3])) == NULL ||
	    cJSON_AddNumberToObject(o, "paper_vs_sorted", c->vs_sorted) == NULL ||
	    (pol = entries_json(e, n)) == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	cJSON_AddItemToObject(o, "policies", pol);
	return o;
}

/* --paper's four policies, in the order its columns read them: e[0]
 * DeepSpeed, e[1] sorted, e[2] skrull-paper, e[3] skrull. */
static const char *const paper_list =
    "deepspeed/mb-samples=1,sorted/mb-samples=1,skrull-paper,skrull";
#define PAPER_POLICIES 4

/* The configurations of --paper, run side by side: workers take them
 * from a counter and fill only their own slot; the table is printed
 * from the slots afterwards, in order, so it is the serial run's. */
struct paper_pool {
	struct simopts sc;            /* the template: --iters, threads */
	struct entry e[NPAPER][PAPER_POLICIES];
	size_t n[NPAPER];
	int rc[NPAPER];
	atomic_size_t next, done;
	atomic_int stop;
	struct progress *pg;
};

/* Configuration i: its job, its trace, its four policies. */
static int
paper_one(struct paper_pool *pp, size_t i)
{
	const struct paper_config *c = &paper[i];
	struct sched_params base;
	struct simopts sc = pp->sc;
	struct trace t;
	struct job j;
	int rc;

	trace_init(&t);
	sched_params_default(&base);
	base.drop_overlong = 1;
	job_default(&j);
	if (model_preset(c->model, &j.model) != SK_OK)
		return cli_fail();
	j.dp = c->dp;
	j.cp = c->cp;
	j.batch = c->batch;
	j.bucket = c->bucket;
	j.bucket_auto = 0;
	/* The paper's peak memory (its Table 4) implies about 0.68 of the
	 * Hugging Face graph's bytes per token: a fused SwiGLU and a loss
	 * without fp32 logits (skrull(7)). */
	j.kernels = KERNEL_FUSED_SWIGLU | KERNEL_FUSED_CE;
	if (parse_list(paper_list, &base, pp->e[i], &pp->n[i]) != SK_OK ||
	    trace_read(c->trace, NULL, &t, NULL) != SK_OK) {
		trace_free(&t);
		return cli_fail();
	}
	rc = simulate_all(&sc, &j, &t, c->trace, pp->e[i], pp->n[i], pp->pg,
	    &pp->done, NPAPER * PAPER_POLICIES);
	trace_free(&t);
	return rc;
}

static void *
paper_worker(void *arg)
{
	struct paper_pool *pp = arg;
	size_t i;

	while (!atomic_load(&pp->stop) &&
	    (i = atomic_fetch_add(&pp->next, 1)) < NPAPER)
		if ((pp->rc[i] = paper_one(pp, i)) != CLI_OK)
			atomic_store(&pp->stop, 1);
	return NULL;
}

/* Run the configurations on sc's threads: as many side by side as there
 * are threads (at most NPAPER), the rest of the threads shared among
 * their simulations. */
static int
paper_run_all(struct paper_pool *pp, const struct simopts *sc)
{
	pthread_t th[NPAPER];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int nth = sc->opts.threads > 0 ? sc->opts.threads :
	    ncpu > 0 ? (int)ncpu : 1;
	int nw = nth < (int)NPAPER ? nth : (int)NPAPER, nrun, k;
	size_t i;

	pp->sc = *sc;
	pp->sc.quiet = 1;
	pp->sc.pg = NULL;
	pp->sc.opts.threads = nth / nw > 0 ? nth / nw : 1;
	atomic_init(&pp->next, 0);
	atomic_init(&pp->done, 0);
	atomic_init(&pp->stop, 0);
	for (i = 0; i < NPAPER; i++) {
		pp->n[i] = 0;
		pp->rc[i] = CLI_OK;
	}
	/* A thread that fails to start leaves its share to the others. */
	for (nrun = 1; nrun < nw; nrun++)
		if (pthread_create(&th[nrun], NULL, paper_worker, pp) != 0)
			break;
	paper_worker(pp);
	for (k = 1; k < nrun; k++)
		pthread_join(th[k], NULL);
	for (i = 0; i < NPAPER; i++)
		if (pp->rc[i] != CLI_OK || i >= atomic_load(&pp->next))
			return CLI_FAIL;
	return CLI_OK;
}

static void
paper_free(struct paper_pool *pp)
{
	size_t i;

	for (i = 0; i < NPAPER; i++)
		free_entries(pp->e[i], pp->n[i]);
}

static int
run_paper(struct simopts *sc, int json)
{
	struct paper_pool *pp;
	struct progress pg;
	cJSON *root = NULL, *arr = NULL, *o;
	double sum_ds = 0, sum_sorted = 0, sum_pa = 0, sum_best = 0;
	size_t i;
	int rc = CLI_FAIL;

	/* The reports of 24 simulations: too big for the stack. */
	if ((pp = calloc(1, sizeof *pp)) == NULL) {
		err_set(SK_ERR_NOMEM, "out of memory");
		return cli_fail();
	}
	progress_init(&pg, progress_wanted(sc->quiet, 2) ? stderr : NULL,
	    "compare --paper");
	pp->pg = &pg;
	rc = paper_run_all(pp, sc);
	progress_end(&pg);
	if (rc != CLI_OK)
		goto out;
	for (i = 0; i < NPAPER; i++)
		warn_drops(pp->e[i], pp->n[i], paper[i].name);
	rc = CLI_FAIL;
	if (json && ((root = cJSON_CreateObject()) == NULL ||
	    (arr = cJSON_AddArrayToObject(root, "configurations")) == NULL))
		goto nomem;
	if (!json)
		printf("%-18s %8s %8s %8s %8s %9s %8s %6s\n", "configuration",
		    "vs DS", "paper", "alg 1+2", "bound", "vs sorted", "paper",
		    "OOMs");
	for (i = 0; i < NPAPER; i++) {
		const struct paper_config *c = &paper[i];
		const struct entry *e = pp->e[i];

		sum_ds += speedup(&e[0], &e[3]);
		sum_pa += speedup(&e[0], &e[2]);
		sum_best += best(&e[0], &e[3]);
		sum_sorted += speedup(&e[1], &e[3]);
		if (!json)
			printf("%-18s %7.2fx %7.2fx %7.2fx %7.2fx %8.2fx %7.2fx "
			    "%6zu\n", c->name, speedup(&e[0], &e[3]), c->vs_ds,
			    speedup(&e[0], &e[2]), best(&e[0], &e[3]),
			    speedup(&e[1], &e[3]), c->vs_sorted, e[3].r.noom);
		else if ((o = paper_json(c, e, pp->n[i])) == NULL)
			goto nomem;
		else
			cJSON_AddItemToArray(arr, o);
	}
	if (!json) {
		printf("%-18s %7.2fx %7.2fx %7.2fx %7.2fx %8.2fx %7.2fx\n",
		    "average", sum_ds / NPAPER, 3.76, sum_pa / NPAPER,
		    sum_best / NPAPER, sum_sorted / NPAPER, 3.45);
		printf("\nvs DS, vs sorted: skrull (the default policy) over "
		    "DeepSpeed and sorted batching, one\nsample per micro-batch, "
		    "every sample sharded (the paper's baseline; its section 7).\n"
		    "alg 1+2: skrull-paper, the paper's Algorithms 1 and 2 as "
		    "printed, over DeepSpeed.\nbound: the best possible speed-up "
		    "over DeepSpeed at this layout (skrull(7)).\nOOMs: skrull's. "
		    "Traces: synthetic stand-ins drawn from the paper's Table 1.\n"
		    "Paper per-configuration values: read off Figure 3 by a third "
		    "party (approximate);\naverages: the paper's text.\n");
		rc = CLI_OK;
		goto out;
	}
	if (cJSON_AddNumberToObject(root, "average_vs_deepspeed", sum_ds / NPAPER) == NULL ||
	    cJSON_AddNumberToObject(root, "average_paper_algorithms_vs_deepspeed",
	        sum_pa / NPAPER) == NULL ||
	    cJSON_AddNumberToObject(root, "average_bound_vs_deepspeed",
	        sum_best / NPAPER) == NULL ||
	    cJSON_AddNumberToObject(root, "paper_average_vs_deepspeed", 3.76) == NULL ||
	    cJSON_AddNumberToObject(root, "average_vs_sorted", sum_sorted / NPAPER) == NULL ||
	    cJSON_AddNumberToObject(root, "paper_average_vs_sorted", 3.45) == NULL)
		goto nomem;
	rc = cli_print_json(root);
	root = NULL;
	goto out;
nomem:
	err_set(SK_ERR_NOMEM, "out of memory");
	rc = cli_fail();
out:
	cJSON_Delete(root);
	paper_free(pp);
	free(pp);
	return rc;
}

/* --svg: per policy its mean and p99 iteration side by side, its bound
 * across them, a cross over a policy whose run had OOMs. */
static int
write_chart(const char *path, const char *trace, const struct entry *e,
    size_t n)
{
	static const char *const names[] = { "mean iteration", "p99 iteration" };
	const char *cat[MAX_POLICIES];
	double v[2 * MAX_POLICIES], ref[MAX_POLICIES];
	int mark[MAX_POLICIES], any = 0;
	struct svg_bars b;
	char title[160];
	size_t i;

	for (i = 0; i < n; i++) {
		cat[i] = e[i].label;
		v[2 * i] = e[i].r.mean * 1e3;
		v[2 * i + 1] = e[i].r.p99 * 1e3;
		ref[i] = e[i].r.bound > 0 ? e[i].r.bound * 1e3 : NAN;
		mark[i] = e[i].r.noom > 0;
		any |= mark[i];
	}
	memset(&b, 0, sizeof b);
	snprintf(title, sizeof title, "iterations %zu to %zu of %s", e[0].r.first,
	    e[0].r.first + e[0].r.niter - 1, trace);
	b.title = title;
	b.ylabel = "iteration time (ms)";
	b.cat = cat;
	b.ncat = n;
	b.name = names;
	b.nser = 2;
	b.v = v;
	b.ref = ref;
	b.reflabel = "bound (best possible)";
	b.hline = NAN;
	b.mark = any ? mark : NULL;
	b.marklabel = "run had OOMs";
	return svg_write_bars(path, "skrull compare: iteration time by policy",
	    &b, 1) != SK_OK ? cli_fail() : CLI_OK;
}

static int
run(int argc, char **argv)
{
	struct planopts po;
	struct simopts sc;
	struct option *longopts;
	struct entry e[MAX_POLICIES];
	struct trace t;
	const char *list = DEFAULT_POLICIES;
	struct cli_file in[PLANOPTS_FILES], of = { "--svg", NULL };
	struct progress pg;
	cJSON *root, *arr;
	size_t n = 0;
	int c, rc = CLI_FAIL, paper_mode = 0, json = 0;

	trace_init(&t);
	planopts_init(&po);
	po.sp.drop_overlong = 1;
	simopts_init(&sc);
	sc.end = DEFAULT_ITERS;
	if ((longopts = planopts_table(own, sizeof own / sizeof own[0])) == NULL) {
		err_set(SK_ERR_NOMEM, "out of memory");
		rc = cli_fail();
		goto out;
	}
	optind = 1;
	while ((rc = cli_getopt(&cmd_compare, argc, argv, ":h", longopts, &c)) ==
	    CLI_OK && c != -1) {
		switch (c) {
		case 'h':
			help();
			goto out;
		/* --policy, what plan and sim take, is one entry of the list */
		case OPT_POLICIES:
		case PLANOPT_POLICY: list = optarg; continue;
		case OPT_PAPER: paper_mode = 1; continue;
		case OPT_JSON: json = 1; continue;
		case OPT_SVG: sc.svg = optarg; continue;
		case OPT_QUIET: sc.quiet = 1; continue;
		case OPT_ITERS:
		case OPT_THREADS:
			if ((rc = simopts_take(&sc, &cmd_compare, c == OPT_ITERS ?
			    "--iters" : "--threads", optarg)) != CLI_OK)
				goto out;
			continue;
		}
		if ((rc = planopts_take(&po, &cmd_compare, c, optarg)) != CLI_OK)
			goto out;
	}
	if (rc != CLI_OK)
		goto out;
	rc = CLI_FAIL;
	if (optind != argc) {
		rc = cli_usage(&cmd_compare, "compare: unexpected argument '%s'",
		    argv[optind]);
		goto out;
	}
	if (paper_mode && sc.svg != NULL) {
		rc = cli_usage(&cmd_compare, "compare: --svg does not go with "
		    "--paper");
		goto out;
	}
	if (paper_mode) {
		rc = run_paper(&sc, json);
		goto out;
	}
	if (po.trace == NULL)
		po.trace = access(DEFAULT_TRACE, R_OK) == 0 ? DEFAULT_TRACE :
		    SKRULL_DATADIR "/" DEFAULT_TRACE;
	/* After planopts_finish: a job file's knobs are then in po.sp. */
	if ((rc = planopts_finish(&po, &cmd_compare)) != CLI_OK)
		goto out;
	if (parse_list(list, &po.sp, e, &n) != SK_OK) {
		rc = cli_usage(&cmd_compare, "%s", err_msg());
		goto out;
	}
	rc = CLI_FAIL;
	planopts_files(&po, in);
	of.path = sc.svg;
	if (cli_check_files(in, PLANOPTS_FILES, &of, 1) != SK_OK ||
	    cli_trace_read(po.trace, &po.ro, &t, NULL) != SK_OK) {
		rc = cli_fail();
		goto out;
	}
	sc.job_from = po.job.job_path;
	progress_init(&pg, progress_wanted(sc.quiet, 2) ? stderr : NULL,
	    "compare");
	progress_per(&pg, ENTRY_UNITS);
	sc.pg = pg.f != NULL ? &pg : NULL;
	rc = simulate_all(&sc, &po.job.job, &t, po.trace, e, n, NULL, NULL, 0);
	progress_end(&pg);
	if (rc == CLI_OK)
		warn_drops(e, n, NULL);
	if (rc == CLI_OK && sc.svg != NULL)
		rc = write_chart(sc.svg, po.trace, e, n);
	if (rc != CLI_OK)
		goto out;
	if (!json) {
		const struct job *j = &po.job.job;

		printf("trace %s; %s on %d x %s, DP %d x CP %d, batch %d, "
		    "BucketSize %u; iterations %zu to %zu\n\n", po.trace,
		    j->model.name, cluster_gpus(&j->cluster), j->cluster.gpu.name,
		    j->dp, j->cp, j->batch, j->bucket, e[0].r.first,
		    e[0].r.first + e[0].r.niter - 1);
		print_table(e, n);
		printf("\nx bound: mean iteration over the best possible at this "
		    "layout (skrull(7)).\nvs [0], vs [1]: speed-up over the first "
		    "and second policy (throughput, tokens/s).\n");
		rc = CLI_OK;
		goto out;
	}
	if ((root = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(root, "trace", po.trace) == NULL ||
	    (arr = entries_json(e, n)) == NULL) {
		cJSON_Delete(root);
		err_set(SK_ERR_NOMEM, "out of memory");
		rc = cli_fail();
		goto out;
	}
	cJSON_AddItemToObject(root, "policies", arr);
	rc = cli_print_json(root);
out:
	free_entries(e, n);
	free(longopts);
	trace_free(&t);
	return rc;
}
