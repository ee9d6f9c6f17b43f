/* cmd_tune: `skrull tune`, see skrull-tune(1). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "cli.h"
#include "cost.h"
#include "afile.h"
#include "err.h"
#include "job.h"
#include "planopts.h"
#include "sens.h"
#include "trace.h"
#include "tune.h"
#ifdef HAVE_MPI
#include "tune_mpi.h"
#endif

static int run(int, char **);

const struct cli_cmd cmd_tune = {
	.name = "tune",
	.summary =
	    "search the parallel layout and scheduler knobs for the fastest safe run",
	.usage =
	    "skrull tune [--trace FILE] [--global-batch N] [--policies LIST]\n"
	    "              [--search-zero] [--search-recompute] [--bucket-min N]\n"
	    "              [--seed N] [--max-batches N] [--rel-ci X] [--threads N]\n"
	    "              [-o JOB] [--sensitivity PREFIX] [--top N] [--json]\n"
	    "              [JOB OPTIONS]",
	.run = run,
};

#define DEFAULT_TRACE "traces/wikipedia.txt.gz"

enum {
	OPT_GLOBAL = 256, OPT_POLICIES, OPT_SEARCH_ZERO, OPT_SEARCH_RECOMPUTE,
	OPT_BUCKET_MIN, OPT_SEED, OPT_MAX_BATCHES, OPT_REL_CI, OPT_THREADS,
	OPT_SENS, OPT_TOP, OPT_JSON
};

static const struct option own[] = {
	{ "global-batch", required_argument, NULL, OPT_GLOBAL },
	{ "policies", required_argument, NULL, OPT_POLICIES },
	{ "search-zero", no_argument, NULL, OPT_SEARCH_ZERO },
	{ "search-recompute", no_argument, NULL, OPT_SEARCH_RECOMPUTE },
	{ "bucket-min", required_argument, NULL, OPT_BUCKET_MIN },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "max-batches", required_argument, NULL, OPT_MAX_BATCHES },
	{ "rel-ci", required_argument, NULL, OPT_REL_CI },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "sensitivity", required_argument, NULL, OPT_SENS },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
};

struct tuneargs {
	const char *out, *sens, *policies;
	int json;
	unsigned long top, global;
	int help;  /* -h given: the help is printed, nothing else done */
};

static void
help(void)
{
	printf("usage: %s\n\n%s\n\n", cmd_tune.usage, cmd_tune.summary);
	printf("  --trace FILE         the dataset's length trace (default %s)\n"
	    "  --global-batch N     samples per iteration (default: the job's dp x batch)\n"
	    "  --policies LIST      comma-separated policies (default deepspeed,skrull)\n"
	    "  --policy NAME        the same as --policies NAME\n"
	    "  --format, --field, --chars-per-token, --skip-bad\n"
	    "                       read the trace as skrull-trace(1)\n"
	    "  --search-zero        also search ZeRO stages 0-3\n"
	    "  --search-recompute   also search recompute none/selective/full\n"
	    "  --bucket-min N       smallest BucketSize tried, tokens (default 1024)\n"
	    "  --seed N             global-batch sampling seed (default 1)\n"
	    "  --max-batches N      most global batches simulated per point (default 128)\n"
	    "  --rel-ci X           stop sampling at a 95%% CI half-width of X x mean (0.02)\n"
	    "  --threads N          candidates evaluated at once (default: the CPUs)\n"
	    "  -o JOB               write the best configuration as a job file\n"
	    "                       (skrull-job(5), with its schedule)\n"
	    "  --sensitivity PREFIX write PREFIX-bucket.csv, PREFIX-batch.csv and\n"
	    "                       PREFIX.svg: iteration time against BucketSize and\n"
	    "                       batch size for the winning layout\n"
	    "  --top N              rows of the ranked table (default 10)\n"
	    "  --json               print the result as JSON\n"
	    "\njob options (the model, cluster, reserve and precision are kept; the\n"
	    "layout, BucketSize and policy are searched):\n%s"
	    "\npolicy options (skrull-plan(1)), set for every policy searched:\n",
	    DEFAULT_TRACE, jobopts_help);
	planopts_help_knobs();
	printf("\nSee skrull-tune(1).\n");
}

/* Progress on a terminal: a bar, candidates done, best so far, time left. */
static void
progress(void *ctx, size_t done, size_t total, double best, double elapsed)
{
	int i, w = 30, k = total > 0 ? (int)(w * done / total) : w;
	double left = done > 0 ? elapsed * (double)(total - done) / (double)done : 0;

	(void)ctx;
	fputs("\rskrull tune [", stderr);
	for (i = 0; i < w; i++)
		fputc(i < k ? '#' : ' ', stderr);
	fprintf(stderr, "] %zu/%zu", done, total);
	if (best > 0)
		fprintf(stderr, ", best %.1f ms", best * 1e3);
	fprintf(stderr, ", %.0f s left ", left);
	if (done == total)
		fputc('\n', stderr);
	fflush(stderr);
}

static const char *
layout(const struct tune_candidate *c, char *buf, size_t n)
{
	snprintf(buf, n, "%dx%d", c->job.dp, c->job.cp);
	return buf;
}

static void
print_table(const struct tune_result *r, unsigned long top)
{
	size_t i;
	char lay[32];

	printf("%4s %-24s %-6s %4s %-10s %7s %18s %8s %8s %6s %8s %9s %7s\n",
	    "rank", "policy", "DPxCP", "ZeRO", "recompute", "bucket",
	    "iteration ms", "x bound", "vs DS", "MFU", "headroom", "OOM p95",
	    "dropped");
	for (i = 0; i < r->n && i < top; i++) {
		const struct tune_candidate *c = &r->c[i];
		char pol[64];

		snprintf(pol, sizeof pol, "%s%s", c->policy,
		    c->sp.mb_samples == 1 ? "/mb-samples=1" : "");
		if (!c->evaluated) {
			printf("%4zu %-24s %-6s %4d %-10s %7s %18s\n", i + 1, pol,
			    layout(c, lay, sizeof lay), c->job.zero,
			    job_recompute_name(c->job.recompute), "-",
			    "does not fit");
			continue;
		}
		printf("%4zu %-24s %-6s %4d %-10s %7u %8.2f +- %6.2f %7.3fx %7.2fx "
		    "%5.1f%% %7.1f%% %9.2g %7zu%s\n", i + 1, pol,
		    layout(c, lay, sizeof lay), c->job.zero,
		    job_recompute_name(c->job.recompute), c->job.bucket,
		    c->mean * 1e3, (c->ci_hi - c->mean) * 1e3,
		    c->bound > 0 ? c->mean / c->bound : 0.0,
		    c->baseline_mean > 0 ? c->baseline_mean / c->mean : 0.0,
		    100 * c->mfu, 100 * c->headroom, c->oom_bound, c->dropped,
		    !c->feasible ? "  OOM" : c->pruned ? "  (stopped early)" : "");
	}
}

/* The winner as a job with its schedule (skrull-job(5)). */
static int
write_best(const char *path, const struct tune_candidate *c)
{
	struct job j = c->job;
	size_t k;
	int n = 0;

	snprintf(j.policy, sizeof j.policy, "%s", c->policy);
	for (k = 0; k < sched_nknobs && n < JOB_KNOBS_MAX; k++) {
		char text[32];

		if (sched_knob_text(&c->sp, &sched_knobs[k], text, sizeof text) != SK_OK)
			return err_code();
		snprintf(j.knobs[n].name, sizeof j.knobs[n].name, "%s", sched_knobs[k].name);
		snprintf(j.knobs[n].value, sizeof j.knobs[n].value, "%s", text);
		n++;
	}
	j.nknobs = n;
	j.bucket_auto = 0;
	return job_write(path, &j);
}

/* The packed deepspeed candidate evaluated at c's layout, or NULL. */
static const struct tune_candidate *
baseline_of(const struct tune_result *r, const struct tune_candidate *c)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		const struct tune_candidate *b = &r->c[i];

		if (b->evaluated && !b->pruned && b->feasible &&
		    strcmp(b->policy, "deepspeed") == 0 && b->sp.mb_samples == 0 &&
		    b->job.dp == c->job.dp && b->job.zero == c->job.zero &&
		    b->job.recompute == c->job.recompute)
			return b;
	}
	return NULL;
}

static const char *const sens_suffix[] = { "-bucket.csv", "-batch.csv",
    ".svg" };

/* The inputs and the outputs (-o, the three of --sensitivity) checked
 * before the search (cli_check_files). */
static int
check_files(const struct planopts *po, const struct tuneargs *ta)
{
	struct cli_file in[PLANOPTS_FILES], out[4] = { { "-o", ta->out, 1 } };
	char path[3][1024];
	int i;

	for (i = 0; i < 3; i++) {
		out[1 + i].opt = "--sensitivity";
		if (ta->sens == NULL)
			continue;
		snprintf(path[i], sizeof path[i], "%s%s", ta->sens,
		    sens_suffix[i]);
		out[1 + i].path = path[i];
	}
	planopts_files(po, in);
	return cli_check_files(in, PLANOPTS_FILES, out, 4);
}

/* --sensitivity PREFIX: the two sweeps of the winner, as CSV and SVG. */
static int
write_sensitivity(const char *prefix, const struct tune_result *r,
    const struct trace *t, const struct tune_opts *o)
{
	const struct tune_candidate *w = &r->c[r->best];
	struct sens_curve bucket, batch;
	char path[1024], title[256];
	int rc;

	if ((rc = sens_bucket(w, baseline_of(r, w), t, o, &bucket)) != SK_OK ||
	    (rc = sens_batch(w, baseline_of(r, w), t, o, &batch)) != SK_OK)
		return rc;
	snprintf(path, sizeof path, "%s%s", prefix, sens_suffix[0]);
	if ((rc = sens_write_csv(path, &bucket)) != SK_OK)
		return rc;
	snprintf(path, sizeof path, "%s%s", prefix, sens_suffix[1]);
	if ((rc = sens_write_csv(path, &batch)) != SK_OK)
		return rc;
	snprintf(path, sizeof path, "%s%s", prefix, sens_suffix[2]);
	snprintf(title, sizeof title, "%s, %s, DP %d x CP %d: speed-up over "
	    "packed DeepSpeed", w->job.model.name, w->policy, w->job.dp, w->job.cp);
	return sens_plot(path, title, &bucket, &batch);
}

static int
print_json(const struct tune_result *r, unsigned long top, const char *out)
{
	cJSON *root = cJSON_CreateObject(), *arr, *o, *jo;
	size_t i;

	if (root == NULL || cJSON_AddNumberToObject(root, "version", 1) == NULL ||
	    cJSON_AddStringToObject(root, "job_file", out != NULL ? out : "") == NULL ||
	    (arr = cJSON_AddArrayToObject(root, "candidates")) == NULL)
		goto nomem;
	for (i = 0; i < r->n && i < top; i++) {
		const struct tune_candidate *c = &r->c[i];

		if ((o = cJSON_CreateObject()) == NULL)
			goto nomem;
		cJSON_AddItemToArray(arr, o);
		if ((jo = cJSON_AddObjectToObject(o, "job")) == NULL ||
		    job_to_json(&c->job, jo) != SK_OK ||
		    cJSON_AddStringToObject(o, "policy", c->policy) == NULL ||
		    cJSON_AddNumberToObject(o, "mb_samples", c->sp.mb_samples) == NULL ||
		    cJSON_AddBoolToObject(o, "evaluated", c->evaluated) == NULL ||
		    cJSON_AddBoolToObject(o, "feasible", c->feasible) == NULL ||
		    cJSON_AddBoolToObject(o, "pruned", c->pruned) == NULL ||
		    cJSON_AddNumberToObject(o, "batches", (double)c->batches) == NULL ||
		    cJSON_AddNumberToObject(o, "mean", c->mean) == NULL ||
		    cJSON_AddNumberToObject(o, "ci_lo", c->ci_lo) == NULL ||
		    cJSON_AddNumberToObject(o, "ci_hi", c->ci_hi) == NULL ||
		    cJSON_AddNumberToObject(o, "baseline_mean", c->baseline_mean) == NULL ||
		    cJSON_AddNumberToObject(o, "bound", c->bound) == NULL ||
		    cJSON_AddNumberToObject(o, "mfu", c->mfu) == NULL ||
		    cJSON_AddNumberToObject(o, "peak", c->peak) == NULL ||
		    cJSON_AddNumberToObject(o, "headroom", c->headroom) == NULL ||
		    cJSON_AddNumberToObject(o, "oom_bound", c->oom_bound) == NULL ||
		    cJSON_AddNumberToObject(o, "dropped", (double)c->dropped) == NULL)
			goto nomem;
	}
	return cli_print_json(root);
nomem:
	cJSON_Delete(root);
	err_set(SK_ERR_NOMEM, "out of memory");
	return cli_fail();
}

/* Split a comma-separated policy list into the space. */
static int
set_policies(struct tune_space *s, char *list)
{
	char *tok, *save = NULL;

	s->npolicies = 0;
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (s->npolicies == TUNE_MAX_POLICIES)
			return err_set(SK_ERR_ARG, "--policies: more than %d",
			    TUNE_MAX_POLICIES);
		if (sched_policy_find(tok) == NULL) {
			err_prefix("--policies");
			return SK_ERR_ARG;
		}
		s->policies[s->npolicies++] = tok;
	}
	return s->npolicies > 0 ? SK_OK :
	    err_set(SK_ERR_ARG, "--policies: empty list");
}

/* The options of argv into po, ta, space and to (getopt's loop). */
static int
parse_opts(int argc, char **argv, const struct option *longopts,
    struct planopts *po, struct tuneargs *ta, struct tune_space *space,
    struct tune_opts *to)
{
	unsigned long v;
	int c, rc;
	double rel;
	char *end;

	optind = 1;
	while ((rc = cli_getopt(&cmd_tune, argc, argv, ":ho:", longopts, &c)) ==
	    CLI_OK && c != -1) {
		switch (c) {
		case 'h':
			help();
			ta->help = 1;
			return CLI_OK;
		case 'o': ta->out = optarg; continue;
		/* --policy, what plan and sim take, is one entry of the list */
		case OPT_POLICIES:
		case PLANOPT_POLICY: ta->policies = optarg; continue;
		case OPT_SEARCH_ZERO: space->search_zero = 1; continue;
		case OPT_SEARCH_RECOMPUTE: space->search_recompute = 1; continue;
		case OPT_SENS: ta->sens = optarg; continue;
		case OPT_JSON: ta->json = 1; continue;
		case OPT_GLOBAL:
			rc = cli_parse_ulong(&cmd_tune, "--global-batch", optarg, 1,
			    1UL << 24, &ta->global);
			break;
		case OPT_TOP:
			rc = cli_parse_ulong(&cmd_tune, "--top", optarg, 1, 1UL << 20,
			    &ta->top);
			break;
		case OPT_BUCKET_MIN:
			rc = cli_parse_ulong(&cmd_tune, "--bucket-min", optarg, 1,
			    TRACE_LEN_MAX, &v);
			space->bucket_lo = (uint32_t)v;
			break;
		case OPT_SEED:
			rc = cli_parse_ulong(&cmd_tune, "--seed", optarg, 0,
			    4294967295UL, &v);
			to->seed = v;
			break;
		case OPT_MAX_BATCHES:
			rc = cli_parse_ulong(&cmd_tune, "--max-batches", optarg, 2,
			    1UL << 20, &v);
			to->max_batches = v;
			if (to->min_batches > v)
				to->min_batches = v;
			break;
		case OPT_THREADS:
			rc = cli_parse_ulong(&cmd_tune, "--threads", optarg, 1, 1024, &v);
			to->threads = (int)v;
			break;
		case OPT_REL_CI:
			rel = strtod(optarg, &end);
			if (*end != '\0' || !(rel > 0 && rel < 1))
				rc = cli_usage(&cmd_tune, "--rel-ci: '%s' is not a number "
				    "in (0, 1)", optarg);
			else
				to->rel_ci = rel;
			break;
		default:
			rc = planopts_take(po, &cmd_tune, c, optarg);
		}
		if (rc != CLI_OK)
			return rc;
	}
	return rc;
}

/* Parsing: the options, then what they leave to resolve (the policy list,
 * copied into *pol, which space points into; the job; the trace). */
static int
parse(int argc, char **argv, const struct option *longopts,
    struct planopts *po, struct tuneargs *ta, struct tune_space *space,
    struct tune_opts *to, char **pol)
{
	int rc;

	if ((rc = parse_opts(argc, argv, longopts, po, ta, space, to)) !=
	    CLI_OK || ta->help)
		return rc;
	if (optind != argc)
		return cli_usage(&cmd_tune, "tune: unexpected argument '%s'",
		    argv[optind]);
	if (ta->policies != NULL) {
		if ((*pol = strdup(ta->policies)) == NULL ||
		    set_policies(space, *pol) != SK_OK)
			return cli_usage(&cmd_tune, "%s", err_msg());
	}
	/* The layout, BucketSize and schedule are searched: resolve only the
	 * model and the cluster, and drop a job file's schedule. */
	po->job.partial = 1;
	if ((rc = jobopts_finish(&po->job, &cmd_tune)) != CLI_OK)
		return rc;
	po->job.job.policy[0] = '\0';
	po->job.job.nknobs = 0;
	space->global_batch = ta->global > 0 ? (int)ta->global :
	    po->job.job.dp * po->job.job.batch;
	if (po->trace == NULL)
		po->trace = access(DEFAULT_TRACE, R_OK) == 0 ? DEFAULT_TRACE :
		    SKRULL_DATADIR "/" DEFAULT_TRACE;
	return CLI_OK;
}

/* The search: the trace read into t, the candidates enumerated into
 * *cand, *n and this rank's share evaluated (then gathered on rank 0). */
static int
search(struct planopts *po, const struct tune_space *space,
    struct tune_opts *to, int rank, int size, struct trace *t,
    struct tune_candidate **cand, size_t *n)
{
	size_t i, nfit = 0;

	if (cli_trace_read(po->trace, &po->ro, t, NULL) != SK_OK ||
	    tune_enumerate(&po->job.job, &po->sp, space, cand, n) != SK_OK)
		return cli_fail();
	for (i = 0; i < *n; i++)
		nfit += (*cand)[i].evaluated ||
		    (*cand)[i].bucket_max >= space->bucket_lo;
	if (*n == 0 || nfit == 0) {
		err_set(SK_ERR_RANGE, "%s does not fit %d x %s at any layout dividing "
		    "a global batch of %d: its static memory leaves no room for "
		    "%u tokens of activations (try more GPUs, ZeRO 3, or a larger GPU)",
		    po->job.job.model.name, cluster_gpus(&po->job.job.cluster),
		    po->job.job.cluster.gpu.name, space->global_batch,
		    space->bucket_lo);
		return cli_fail();
	}
	if (rank == 0 && isatty(2))
		to->progress = progress;
	if (tune_evaluate_all(*cand, *n, (size_t)rank, (size_t)size, t, to) !=
	    SK_OK)
		return cli_fail();
#ifdef HAVE_MPI
	if (tune_mpi_gather(*cand, *n, rank, size) != SK_OK)
		return cli_fail();
#endif
	return CLI_OK;
}

/* The output of the ranked result: the sweeps, the job file, the table or
 * JSON. */
static int
output(const struct tune_result *res, const struct tuneargs *ta,
    const struct planopts *po, const struct tune_space *space,
    const struct trace *t, const struct tune_opts *to)
{
	const struct tune_candidate *b;
	int e = SK_OK;

	if (res->best == (size_t)-1) {
		err_set(SK_ERR_RANGE, "no configuration of %s on %d x %s runs "
		    "without running out of memory on the sampled batches",
		    po->job.job.model.name, cluster_gpus(&po->job.job.cluster),
		    po->job.job.cluster.gpu.name);
		return cli_fail();
	}
	b = &res->c[res->best];
	/* The files as one: none replaces its old version unless all are
	 * written. */
	afile_group_begin();
	if (ta->sens != NULL)
		e = write_sensitivity(ta->sens, res, t, to);
	if (e == SK_OK && ta->out != NULL)
		e = write_best(ta->out, b);
	if (afile_group_end(e == SK_OK) != SK_OK || e != SK_OK)
		return cli_fail();
	if (ta->json)
		return print_json(res, ta->top, ta->out);
	printf("trace %s; %s on %d x %s; global batch %d; %zu candidates\n\n",
	    po->trace, po->job.job.model.name, cluster_gpus(&po->job.job.cluster),
	    po->job.job.cluster.gpu.name, space->global_batch, res->n);
	print_table(res, ta->top);
	printf("\nbest: %s at DP %d x CP %d, BucketSize %u: %.2f ms per "
	    "iteration (95%% CI %.2f to %.2f), OOM probability per iteration "
	    "below %.2g (95%%)%s%s\n", b->policy, b->job.dp, b->job.cp,
	    b->job.bucket, b->mean * 1e3, b->ci_lo * 1e3, b->ci_hi * 1e3,
	    b->oom_bound, ta->out != NULL ? "; written to " : "",
	    ta->out != NULL ? ta->out : "");
	return CLI_OK;
}

static int
run(int argc, char **argv)
{
	struct planopts po;
	struct tuneargs ta = { NULL, NULL, NULL, 0, 10, 0, 0 };
	struct tune_space space;
	struct tune_opts to;
	struct tune_result res = { NULL, 0, (size_t)-1 };
	struct tune_candidate *cand = NULL;
	struct option *longopts;
	struct trace t;
	char *pol = NULL;
	size_t n = 0;
	int rc = CLI_FAIL, rank = 0, size = 1;

	trace_init(&t);
	planopts_init(&po);
	po.sp.drop_overlong = 1;
	tune_space_default(&space);
	tune_opts_default(&to);
#ifdef HAVE_MPI
	if (tune_mpi_init(&argc, &argv, &rank, &size) != SK_OK)
		return cli_fail();
#endif
	if ((longopts = planopts_table(own, sizeof own / sizeof own[0])) == NULL) {
		err_set(SK_ERR_NOMEM, "out of memory");
		rc = cli_fail();
		goto out;
	}
	if ((rc = parse(argc, argv, longopts, &po, &ta, &space, &to,
	    &pol)) != CLI_OK || ta.help)
		goto out;
	/* Only rank 0 writes; a refusal there aborts the others. */
	if (rank == 0 && check_files(&po, &ta) != SK_OK) {
		rc = cli_fail();
		goto out;
	}
	if ((rc = search(&po, &space, &to, rank, size, &t, &cand, &n)) !=
	    CLI_OK || rank != 0)
		goto out;
	if (tune_rank(cand, n, &res) != SK_OK) {
		rc = cli_fail();
		goto out;
	}
	cand = NULL;
	rc = output(&res, &ta, &po, &space, &t, &to);
out:
#ifdef HAVE_MPI
	/* A failed rank must not leave the others waiting in the gather. */
	if (rc != CLI_OK && size > 1)
		tune_mpi_abort(rc);
	tune_mpi_finalize();
#endif
	free(cand);
	free(pol);
	tune_result_free(&res);
	free(longopts);
	trace_free(&t);
	return rc;
}
