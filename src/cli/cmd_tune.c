/* cmd_tune: `skrull tune`, see skrull-tune(1). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
#include "progress.h"
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
	    "              [--max-dropped PCT] [--seed N] [--max-batches N]\n"
	    "              [--rel-ci X] [--threads N] [-o JOB]\n"
	    "              [--sensitivity PREFIX] [--top N] [--quiet] [--json]\n"
	    "              [JOB OPTIONS]",
	.run = run,
};

#define DEFAULT_TRACE "traces/wikipedia.txt.gz"

enum {
	OPT_GLOBAL = 256, OPT_POLICIES, OPT_SEARCH_ZERO, OPT_SEARCH_RECOMPUTE,
	OPT_BUCKET_MIN, OPT_SEED, OPT_MAX_BATCHES, OPT_REL_CI, OPT_THREADS,
	OPT_SENS, OPT_TOP, OPT_JSON, OPT_MAX_DROPPED, OPT_QUIET
};

static const struct option own[] = {
	{ "global-batch", required_argument, NULL, OPT_GLOBAL },
	{ "policies", required_argument, NULL, OPT_POLICIES },
	{ "search-zero", no_argument, NULL, OPT_SEARCH_ZERO },
	{ "search-recompute", no_argument, NULL, OPT_SEARCH_RECOMPUTE },
	{ "bucket-min", required_argument, NULL, OPT_BUCKET_MIN },
	{ "max-dropped", required_argument, NULL, OPT_MAX_DROPPED },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "max-batches", required_argument, NULL, OPT_MAX_BATCHES },
	{ "rel-ci", required_argument, NULL, OPT_REL_CI },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "sensitivity", required_argument, NULL, OPT_SENS },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "help", no_argument, NULL, 'h' },
};

struct tuneargs {
	const char *out, *sens, *policies;
	int json, quiet;
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
	    "  --max-dropped PCT    percent of the trace's samples, and of its tokens,\n"
	    "                       a candidate may drop as too long (default 0)\n"
	    "  --seed N             global-batch sampling seed (default 1)\n"
	    "  --max-batches N      most global batches simulated per point (default 128)\n"
	    "  --rel-ci X           stop sampling at a 95%% CI half-width of X x mean (0.02)\n"
	    "  --threads N          candidates evaluated at once (default: the CPUs)\n"
	    "  -o JOB               write the best configuration as a job file\n"
	    "                       (skrull-job(5), with its schedule)\n"
	    "  --sensitivity PREFIX write PREFIX-bucket.csv, PREFIX-batch.csv and\n"
	    "                       PREFIX.svg: iteration time against BucketSize and\n"
	    "                       batch size for the winning layout; a directory\n"
	    "                       (ends in / or exists) gets sensitivity-bucket.csv,\n"
	    "                       sensitivity-batch.csv and sensitivity.svg\n"
	    "  --top N              rows of the ranked table (default 10)\n"
	    "  --quiet              no progress line on standard error\n"
	    "  --json               print the result as JSON\n"
	    "\njob options (the model, cluster, reserve and precision are kept; the\n"
	    "layout, BucketSize and policy are searched):\n%s"
	    "\npolicy options (skrull-plan(1)), set for every policy searched:\n",
	    DEFAULT_TRACE, jobopts_help);
	planopts_help_knobs();
	printf("\nSee skrull-tune(1).\n");
}

/* Progress (progress.h): candidates, then sweep points, done; the best so
 * far and the time left. */
static void
progress(void *ctx, size_t done, size_t total, double best, double elapsed)
{
	double left = done > 0 ? elapsed * (double)(total - done) / (double)done : 0;
	char extra[64];

	if (best > 0)
		snprintf(extra, sizeof extra, ", best %.1f ms, %.0f s left",
		    best * 1e3, left);
	else
		snprintf(extra, sizeof extra, ", %.0f s left", left);
	progress_update(ctx, done, total, extra);
	if (done == total)
		progress_next(ctx);
}

static const char *
layout(const struct tune_candidate *c, char *buf, size_t n)
{
	snprintf(buf, n, "%dx%d", c->job.dp, c->job.cp);
	return buf;
}

static double
share(uint64_t part, uint64_t whole)
{
	return whole > 0 ? (double)part / (double)whole : 0;
}

/* Why an overdrop candidate is infeasible: "drops N samples (x.x%, y.y%
 * of tokens)". */
static const char *
drop_reason(const struct tune_candidate *c, char *buf, size_t n)
{
	char a[16], b[16];

	snprintf(buf, n, "drops %zu sample%s (%s, %s of tokens)",
	    c->trace_dropped, c->trace_dropped == 1 ? "" : "s",
	    cli_pct(share(c->trace_dropped, c->trace_n), a, sizeof a),
	    cli_pct(share(c->trace_dropped_tokens, c->trace_tokens), b,
	    sizeof b));
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
		if (c->overdrop) {
			char why[96];

			printf("%4zu %-24s %-6s %4d %-10s %7u   %s\n", i + 1, pol,
			    layout(c, lay, sizeof lay), c->job.zero,
			    job_recompute_name(c->job.recompute), c->bucket_max,
			    drop_reason(c, why, sizeof why));
			continue;
		}
		printf("%4zu %-24s %-6s %4d %-10s %7u %8.2f +- %6.2f %7.3fx %7.2fx "
		    "%5.1f%% %7.1f%% %9.2g %7zu%s\n", i + 1, pol,
		    layout(c, lay, sizeof lay), c->job.zero,
		    job_recompute_name(c->job.recompute), c->job.bucket,
		    c->mean * 1e3, (c->ci_hi - c->mean) * 1e3,
		    c->bound > 0 ? c->mean / c->bound : 0.0,
		    c->baseline_mean > 0 ? c->baseline_mean / c->mean : 0.0,
		    100 * c->mfu, 100 * c->headroom, c->oom_bound, c->trace_dropped,
		    !c->feasible ? "  OOM" : c->pruned ? "  (stopped early)" : "");
	}
}

/* The winner as a job with its schedule (skrull-job(5)). */
static int
write_best(const char *path, const struct tune_candidate *c)
{
	struct job j = c->job;
	struct sched_params sp = c->sp;
	size_t k;
	int n = 0;

	/* The job drops what the winner was allowed to drop, and nothing
	 * else: without it `plan --job` refuses an overlong sample. */
	sp.drop_overlong = sp.drop_overlong || c->trace_dropped > 0;
	snprintf(j.policy, sizeof j.policy, "%s", c->policy);
	for (k = 0; k < sched_nknobs && n < JOB_KNOBS_MAX; k++) {
		char text[32];

		if (sched_knob_text(&sp, &sched_knobs[k], text, sizeof text) != SK_OK)
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

/* The i-th file of --sensitivity PREFIX: PREFIX + suffix, or, for a
 * directory (a name ending in / or an existing directory), the visible
 * DIR/sensitivity + suffix rather than the hidden DIR/-batch.csv. */
static const char *
sens_path(const char *prefix, int i, char *buf, size_t n)
{
	struct stat st;
	size_t len = strlen(prefix);
	int dir = len > 0 && prefix[len - 1] == '/';

	if (!dir && stat(prefix, &st) == 0 && S_ISDIR(st.st_mode))
		dir = 2;
	snprintf(buf, n, "%s%s%s%s", prefix, dir == 2 ? "/" : "",
	    dir ? "sensitivity" : "", sens_suffix[i]);
	return buf;
}

/* The inputs and the outputs (-o, the three of --sensitivity) checked
 * before the search (cli_check_files). */
static int
check_files(const struct planopts *po, const struct tuneargs *ta)
{
	struct cli_file in[PLANOPTS_FILES], out[4] = { { "-o", ta->out } };
	char path[3][1024];
	int i;

	for (i = 0; i < 3; i++) {
		out[1 + i].opt = "--sensitivity";
		if (ta->sens == NULL)
			continue;
		out[1 + i].path = sens_path(ta->sens, i, path[i], sizeof path[i]);
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
	if ((rc = sens_write_csv(sens_path(prefix, 0, path, sizeof path),
	    &bucket)) != SK_OK ||
	    (rc = sens_write_csv(sens_path(prefix, 1, path, sizeof path),
	    &batch)) != SK_OK)
		return rc;
	sens_path(prefix, 2, path, sizeof path);
	snprintf(title, sizeof title, "%s, %s, DP %d x CP %d: speed-up over "
	    "packed DeepSpeed", w->job.model.name, w->policy, w->job.dp, w->job.cp);
	return sens_plot(path, title, &bucket, &batch);
}

static int
print_json(const struct tune_result *r, unsigned long top, const char *out,
    double max_dropped)
{
	cJSON *root = cJSON_CreateObject(), *arr, *o, *jo;
	size_t i;
	char why[96];

	if (root == NULL || cJSON_AddNumberToObject(root, "version", 1) == NULL ||
	    cJSON_AddNumberToObject(root, "max_dropped", 100 * max_dropped) ==
	    NULL ||
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
		    cJSON_AddNumberToObject(o, "dropped", (double)c->dropped) == NULL ||
		    cJSON_AddNumberToObject(o, "trace_samples", (double)c->trace_n) == NULL ||
		    cJSON_AddNumberToObject(o, "trace_tokens",
		    (double)c->trace_tokens) == NULL ||
		    cJSON_AddNumberToObject(o, "trace_dropped",
		    (double)c->trace_dropped) == NULL ||
		    cJSON_AddNumberToObject(o, "trace_dropped_tokens",
		    (double)c->trace_dropped_tokens) == NULL ||
		    cJSON_AddStringToObject(o, "infeasible", !c->evaluated ?
		    "does not fit" : c->overdrop ? drop_reason(c, why, sizeof why) :
		    !c->feasible ? "OOM" : "") == NULL)
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
		case OPT_QUIET: ta->quiet = 1; continue;
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
		case OPT_MAX_DROPPED:
			rel = strtod(optarg, &end);
			if (*end != '\0' || end == optarg || !(rel >= 0 && rel <= 100))
				rc = cli_usage(&cmd_tune, "--max-dropped: '%s' is not a "
				    "percentage in [0, 100]", optarg);
			else
				to->max_dropped = rel / 100;
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
	if (rank == 0 && to->ctx != NULL)
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

/*
 * No candidate within the limits: why.  When some were refused for their
 * drops, the samples too long for every layout (longer than the largest
 * capacity any candidate offers, tune_capacity at its largest
 * BucketSize), their share and the longest; else the OOMs.
 */
static int
no_winner(const struct tune_result *res, const struct planopts *po,
    const struct trace *t, double max_dropped)
{
	const struct tune_candidate *m = NULL;
	uint64_t cap = 0, tok = 0, over_tok = 0, longest = 0;
	size_t i, over = 0, nover = 0, noom = 0;
	char a[16], b[16], how[64] = "";

	for (i = 0; i < res->n; i++) {
		const struct tune_candidate *x = &res->c[i];

		nover += x->overdrop;
		noom += x->evaluated && !x->overdrop && !x->feasible;
		if (x->bucket_max < 1 || x->bucket_max < x->bucket_lo)
			continue;
		if (m == NULL || tune_capacity(x, x->bucket_max) > cap) {
			m = x;
			cap = tune_capacity(x, x->bucket_max);
		}
	}
	for (i = 0; i < t->n; i++) {
		tok += t->len[i];
		if (t->len[i] > longest)
			longest = t->len[i];
		if (t->len[i] > cap) {
			over++;
			over_tok += t->len[i];
		}
	}
	if (nover == 0 || m == NULL) {
		err_set(SK_ERR_RANGE, "no configuration of %s on %d x %s runs "
		    "without running out of memory on the sampled batches",
		    po->job.job.model.name, cluster_gpus(&po->job.job.cluster),
		    po->job.job.cluster.gpu.name);
		return cli_fail();
	}
	if (cap > (uint64_t)m->bucket_max * (uint64_t)m->job.cp)
		snprintf(how, sizeof how, " x DP %d", m->job.dp);
	if (over == 0) {
		err_set(SK_ERR_RANGE, "%s: no configuration of %s on %d x %s is "
		    "within --max-dropped %g: %zu drop more, and the %zu that "
		    "would keep the samples ran out of memory; allow more with "
		    "--max-dropped PCT, or use more GPUs", po->trace,
		    po->job.job.model.name, cluster_gpus(&po->job.job.cluster),
		    po->job.job.cluster.gpu.name, 100 * max_dropped, nover, noom);
		return cli_fail();
	}
	err_set(SK_ERR_RANGE, "%s: %zu sample%s (%s, %s of tokens; the longest "
	    "%llu tokens) %s longer than any layout of %s on %d x %s holds: "
	    "the largest is %llu tokens (%s, BucketSize %u x CP %d%s); no "
	    "candidate is within --max-dropped %g: allow drops with "
	    "--max-dropped PCT, or use more GPUs", po->trace, over,
	    over == 1 ? "" : "s", cli_pct(share(over, t->n), a, sizeof a),
	    cli_pct(share(over_tok, tok), b, sizeof b),
	    (unsigned long long)longest, over == 1 ? "is" : "are",
	    po->job.job.model.name, cluster_gpus(&po->job.job.cluster),
	    po->job.job.cluster.gpu.name, (unsigned long long)cap, m->policy,
	    m->bucket_max, m->job.cp, how, 100 * max_dropped);
	return cli_fail();
}

/* The output of the ranked result: the sweeps, the job file, the table or
 * JSON. */
static int
output(const struct tune_result *res, const struct tuneargs *ta,
    const struct planopts *po, const struct tune_space *space,
    const struct trace *t, const struct tune_opts *to)
{
	const struct tune_candidate *b;
	char drops[192] = "", a[16], c[16];
	int e = SK_OK;

	if (res->best == (size_t)-1)
		return no_winner(res, po, t, to->max_dropped);
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
		return print_json(res, ta->top, ta->out, to->max_dropped);
	printf("trace %s; %s on %d x %s; global batch %d; %zu candidates\n\n",
	    po->trace, po->job.job.model.name, cluster_gpus(&po->job.job.cluster),
	    po->job.job.cluster.gpu.name, space->global_batch, res->n);
	print_table(res, ta->top);
	if (b->trace_dropped > 0)
		snprintf(drops, sizeof drops, "; drops %zu of %zu samples (%s) "
		    "and %llu of %llu tokens (%s), longer than %llu tokens",
		    b->trace_dropped, b->trace_n, cli_pct(share(b->trace_dropped,
		    b->trace_n), a, sizeof a),
		    (unsigned long long)b->trace_dropped_tokens,
		    (unsigned long long)b->trace_tokens,
		    cli_pct(share(b->trace_dropped_tokens, b->trace_tokens), c,
		    sizeof c), (unsigned long long)tune_capacity(b,
		    b->job.bucket));
	printf("\nbest: %s at DP %d x CP %d, BucketSize %u: %.2f ms per "
	    "iteration (95%% CI %.2f to %.2f), OOM probability per iteration "
	    "below %.2g (95%%)%s%s%s\n", b->policy, b->job.dp, b->job.cp,
	    b->job.bucket, b->mean * 1e3, b->ci_lo * 1e3, b->ci_hi * 1e3,
	    b->oom_bound, drops, ta->out != NULL ? "; written to " : "",
	    ta->out != NULL ? ta->out : "");
	return CLI_OK;
}

static int
run(int argc, char **argv)
{
	struct planopts po;
	struct tuneargs ta = { NULL, NULL, NULL, 0, 0, 10, 0, 0 };
	struct progress pg;
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
	progress_init(&pg, NULL, "tune");
	planopts_init(&po);
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
	/* Rank 0 alone reports: the others' share is in its count. */
	if (rank == 0 && progress_wanted(ta.quiet, 2)) {
		pg.f = stderr;
		to.ctx = &pg;
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
	progress_end(&pg);
	return rc;
}
