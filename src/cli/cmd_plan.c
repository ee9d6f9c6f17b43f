/* cmd_plan: `skrull plan`, see skrull-plan(1). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "err.h"
#include "planopts.h"
#include "plan.h"
#include "pstats.h"
#include "sched.h"
#include "trace.h"

static int run(int, char **);

const struct cli_cmd cmd_plan = {
	.name = "plan",
	.summary =
	    "schedule a trace into a plan with Skrull or a baseline policy",
	.usage =
	    "skrull plan --trace FILE [--policy NAME] [-o PLAN] [--json] [--allow-invalid]\n"
	    "              [--quiet] [--format FMT] [--field SPEC]\n"
	    "              [--chars-per-token X] [--skip-bad] [JOB OPTIONS]\n"
	    "              [POLICY OPTIONS]\n"
	    "       skrull plan --check PLAN [--trace FILE] [--json] [--format FMT]\n"
	    "              [--field SPEC] [--chars-per-token X] [--skip-bad]",
	.run = run,
};

enum { OPT_JSON = 256, OPT_ALLOW_INVALID, OPT_CHECK, OPT_QUIET };

static const struct option own[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "allow-invalid", no_argument, NULL, OPT_ALLOW_INVALID },
	{ "check", required_argument, NULL, OPT_CHECK },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "help", no_argument, NULL, 'h' },
};

static void
help(void)
{
	printf("usage: %s\n\n%s\n\n", cmd_plan.usage, cmd_plan.summary);
	printf("  -o PLAN           write the plan (skrull-plan(5)); atomically\n"
	    "  --json            print the summary as JSON\n"
	    "  --allow-invalid   write a plan that breaks the memory bound (e.g.\n"
	    "                    --no-rollback) instead of refusing it\n"
	    "  --check PLAN      read a plan file and validate it (against --trace\n"
	    "                    when given) instead of planning\n"
	    "  --quiet           no progress line on standard error\n");
	planopts_help(1);
	printf("\nSee skrull-plan(1) and skrull-plan(5).\n");
}

static double
pct(uint64_t part, uint64_t whole)
{
	return whole > 0 ? 100.0 * (double)part / (double)whole : 0.0;
}

/* what: "planning" or "reading", the step secs timed. */
static void
print_text(const struct plan *p, const struct pstats *s, double secs,
    const char *what)
{
	const struct job *j = &p->job;
	uint64_t ns = s->samples_local + s->samples_sharded;
	uint64_t nt = s->tokens_local + s->tokens_sharded;

	printf("%-16s %s\n", "policy", p->policy);
	printf("%-16s %s: %llu samples, %llu dropped\n", "trace",
	    p->trace[0] != '\0' ? p->trace : "-", (unsigned long long)p->trace_n,
	    (unsigned long long)p->dropped);
	printf("%-16s %s on %d x %s, DP %d x CP %d, batch %d per DP rank, "
	    "BucketSize %u tokens\n", "job", j->model.name, cluster_gpus(&j->cluster),
	    j->cluster.gpu.name, j->dp, j->cp, j->batch, j->bucket);
	printf("%-16s %zu\n", "iterations", s->iterations);
	printf("%-16s %zu (per DP rank and iteration: mean %.2f, max %zu)",
	    "micro-batches", s->micro_batches, s->mb_per_rank_mean,
	    s->mb_per_rank_max);
	if (s->mb_spanning > 0)
		printf(", %zu spanning DP ranks", s->mb_spanning);
	printf("\n");
	printf("%-16s %llu local (%.2f%%), %llu sharded (%.2f%%)\n", "samples",
	    (unsigned long long)s->samples_local, pct(s->samples_local, ns),
	    (unsigned long long)s->samples_sharded, pct(s->samples_sharded, ns));
	printf("%-16s %llu local (%.2f%%), %llu sharded (%.2f%%)\n", "tokens",
	    (unsigned long long)s->tokens_local, pct(s->tokens_local, nt),
	    (unsigned long long)s->tokens_sharded, pct(s->tokens_sharded, nt));
	printf("%-16s %.4g PFLOP\n", "FLOPs", s->flops / 1e15);
	printf("%-16s DP %.3f, CP %.3f (max/mean FLOPs)\n", "balance",
	    s->dp_balance, s->cp_balance);
	printf("%-16s CP %.3f (max/mean tokens), peak %.1f%% of BucketSize\n",
	    "memory", s->mem_balance, 100 * s->mem_peak);
	printf("%-16s %.3f s (%.1f us per global batch)\n", what, secs,
	    s->iterations > 0 ? secs * 1e6 / (double)s->iterations : 0.0);
}

static int
print_json(const struct plan *p, const struct pstats *s, double secs,
    const char *what, const char *out, const struct cli_drops *d)
{
	char key[32];
	cJSON *root = cJSON_CreateObject();

	snprintf(key, sizeof key, "%s_seconds", what);
	if (root == NULL ||
	    cJSON_AddNumberToObject(root, "version", 1) == NULL ||
	    cJSON_AddStringToObject(root, "policy", p->policy) == NULL ||
	    cJSON_AddStringToObject(root, "plan", out != NULL ? out : "") == NULL ||
	    cJSON_AddNumberToObject(root, "trace_samples", (double)p->trace_n) == NULL ||
	    cJSON_AddNumberToObject(root, "dropped", (double)p->dropped) == NULL ||
	    cJSON_AddNumberToObject(root, "bucket", (double)p->job.bucket) == NULL ||
	    (d != NULL && cli_drops_json(d, root) != SK_OK))
		goto nomem;
	if (cJSON_AddNumberToObject(root, "iterations", (double)s->iterations) == NULL ||
	    cJSON_AddNumberToObject(root, "micro_batches", (double)s->micro_batches) == NULL ||
	    cJSON_AddNumberToObject(root, "mb_per_rank_mean", s->mb_per_rank_mean) == NULL ||
	    cJSON_AddNumberToObject(root, "mb_per_rank_max", (double)s->mb_per_rank_max) == NULL ||
	    cJSON_AddNumberToObject(root, "mb_spanning", (double)s->mb_spanning) == NULL ||
	    cJSON_AddNumberToObject(root, "samples_local", (double)s->samples_local) == NULL ||
	    cJSON_AddNumberToObject(root, "samples_sharded", (double)s->samples_sharded) == NULL ||
	    cJSON_AddNumberToObject(root, "tokens_local", (double)s->tokens_local) == NULL ||
	    cJSON_AddNumberToObject(root, "tokens_sharded", (double)s->tokens_sharded) == NULL ||
	    cJSON_AddNumberToObject(root, "flops", s->flops) == NULL ||
	    cJSON_AddNumberToObject(root, "dp_balance", s->dp_balance) == NULL ||
	    cJSON_AddNumberToObject(root, "cp_balance", s->cp_balance) == NULL ||
	    cJSON_AddNumberToObject(root, "mem_balance", s->mem_balance) == NULL ||
	    cJSON_AddNumberToObject(root, "mem_peak", s->mem_peak) == NULL ||
	    cJSON_AddNumberToObject(root, key, secs) == NULL)
		goto nomem;
	return cli_print_json(root);
nomem:
	cJSON_Delete(root);
	err_set(SK_ERR_NOMEM, "out of memory");
	return cli_fail();
}

/* --check: read a plan, validate it (against its trace when given) and
 * print its summary; the planning time shown is the reading time. */
static int
check_plan(const char *path, const char *trace_path,
    const struct trace_read_opts *ro, int json)
{
	struct trace t;
	struct plan p;
	struct pstats st;
	double t0, secs;
	int rc = CLI_FAIL;

	trace_init(&t);
	plan_init(&p);
	if (trace_path != NULL && cli_trace_read(trace_path, ro, &t, NULL) !=
	    SK_OK) {
		rc = cli_fail();
		goto out;
	}
	t0 = planopts_now();
	if (plan_read(path, &p) != SK_OK) {
		rc = cli_fail();
		goto out;
	}
	secs = planopts_now() - t0;
	if (plan_validate(&p, trace_path != NULL ? &t : NULL) != SK_OK) {
		err_prefix(path);
		rc = cli_fail();
		goto out;
	}
	if (pstats_compute(&p, &st) != SK_OK) {
		rc = cli_fail();
		goto out;
	}
	rc = json ? print_json(&p, &st, secs, "reading", path, NULL) :
	    (print_text(&p, &st, secs, "reading"), CLI_OK);
out:
	plan_free(&p);
	trace_free(&t);
	return rc;
}

static int
run(int argc, char **argv)
{
	struct planopts po;
	struct option *longopts;
	struct trace t;
	struct plan p;
	struct cli_drops drops;
	struct pstats st;
	struct cli_file in[PLANOPTS_FILES], of = { "-o", NULL };
	const char *out = NULL, *check = NULL;
	int json = 0, allow_invalid = 0, c, rc = CLI_FAIL, invalid;
	double secs;

	trace_init(&t);
	plan_init(&p);
	planopts_init(&po);
	if ((longopts = planopts_table(own, sizeof own / sizeof own[0])) == NULL) {
		err_set(SK_ERR_NOMEM, "out of memory");
		rc = cli_fail();
		goto out;
	}
	optind = 1;
	while ((rc = cli_getopt(&cmd_plan, argc, argv, ":ho:", longopts, &c)) ==
	    CLI_OK && c != -1) {
		switch (c) {
		case 'h':
			help();
			goto out;
		case 'o': out = optarg; continue;
		case OPT_JSON: json = 1; continue;
		case OPT_ALLOW_INVALID: allow_invalid = 1; continue;
		case OPT_CHECK: check = optarg; continue;
		case OPT_QUIET: po.quiet = 1; continue;
		}
		if ((rc = planopts_take(&po, &cmd_plan, c, optarg)) != CLI_OK)
			goto out;
	}
	if (rc != CLI_OK)
		goto out;
	rc = CLI_FAIL;
	if (optind != argc) {
		rc = cli_usage(&cmd_plan, "plan: unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (check != NULL) {
		rc = check_plan(check, po.trace, &po.ro, json);
		goto out;
	}
	if (po.trace == NULL) {
		rc = cli_usage(&cmd_plan, "plan: --trace FILE is required");
		goto out;
	}
	planopts_files(&po, in);
	of.path = out;
	if (cli_check_files(in, PLANOPTS_FILES, &of, 1) != SK_OK) {
		rc = cli_fail();
		goto out;
	}
	if ((rc = planopts_finish(&po, &cmd_plan)) != CLI_OK ||
	    (rc = planopts_plan(&po, &t, &p, &secs)) != CLI_OK)
		goto out;
	rc = CLI_FAIL;
	cli_drops_count(&p, &t, &drops);
	cli_drops_warn(&drops, NULL);
	invalid = plan_validate(&p, &t) != SK_OK;
	if (invalid) {
		fprintf(stderr, "skrull: invalid plan (it would run out of memory): "
		    "%s\n", err_msg());
		if (!allow_invalid) {
			fprintf(stderr, "skrull: nothing written; --allow-invalid "
			    "writes it anyway\n");
			goto out;
		}
	}
	if (pstats_compute(&p, &st) != SK_OK ||
	    (out != NULL && plan_write(out, &p) != SK_OK)) {
		rc = cli_fail();
		goto out;
	}
	rc = json ? print_json(&p, &st, secs, "planning", out, &drops) :
	    (print_text(&p, &st, secs, "planning"), CLI_OK);
	if (rc == CLI_OK && invalid)
		rc = CLI_FAIL;
out:
	free(longopts);
	plan_free(&p);
	trace_free(&t);
	return rc;
}
