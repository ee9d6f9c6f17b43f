/* cmd_sim: `skrull sim`, see skrull-sim(1). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cost.h"
#include "err.h"
#include "plan.h"
#include "planopts.h"
#include "report.h"
#include "sim.h"
#include "simopts.h"
#include "trace.h"

static int run(int, char **);

const struct cli_cmd cmd_sim = {
	.name = "sim",
	.summary =
	    "simulate a plan on a model of the cluster: speed, breakdown, memory",
	.usage =
	    "skrull sim --plan PLAN [--profile FILE] [--iters A:B] [--threads N]\n"
	    "              [SHAPE OPTIONS] [--timeline FILE] [--timeline-iters A:B]\n"
	    "              [--timeline-max-events N] [--svg FILE] [--per-gpu]\n"
	    "              [--quiet] [--json]\n"
	    "       skrull sim --trace FILE [--policy NAME] [JOB OPTIONS]\n"
	    "              [POLICY OPTIONS] [--iters A:B] [--threads N]\n"
	    "              [--timeline FILE] [--timeline-iters A:B]\n"
	    "              [--timeline-max-events N] [--svg FILE] [--per-gpu]\n"
	    "              [--quiet] [--json]",
	.run = run,
};

enum {
	OPT_PLAN = 256, OPT_ITERS, OPT_THREADS, OPT_TIMELINE, OPT_TL_ITERS,
	OPT_PER_GPU, OPT_JSON, OPT_TL_MAX, OPT_SVG, OPT_QUIET
};

static const struct option own[] = {
	{ "plan", required_argument, NULL, OPT_PLAN },
	{ "iters", required_argument, NULL, OPT_ITERS },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "timeline", required_argument, NULL, OPT_TIMELINE },
	{ "timeline-iters", required_argument, NULL, OPT_TL_ITERS },
	{ "timeline-max-events", required_argument, NULL, OPT_TL_MAX },
	{ "per-gpu", no_argument, NULL, OPT_PER_GPU },
	{ "svg", required_argument, NULL, OPT_SVG },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
};

static void
help(void)
{
	printf("usage: %s\n\n%s\n\n", cmd_sim.usage, cmd_sim.summary);
	printf("  --plan PLAN          simulate this plan (skrull-plan(5))\n"
	    "  --iters A:B          iterations A to B-1 (default all; A: or :B)\n"
	    "  --threads N          worker threads (default: the CPUs)\n"
	    "  --timeline FILE      write a Chrome/Perfetto trace-event file\n"
	    "  --timeline-iters A:B its iterations (default 0:2), inside those simulated\n"
	    "  --timeline-max-events N\n"
	    "                       the timeline's cap (default 10^6): beyond it events\n"
	    "                       are dropped, with a warning naming the iterations\n"
	    "  --svg FILE           write a chart: GPU time per GPU, peak memory\n"
	    "                       per iteration against HBM\n"
	    "  --per-gpu            per-GPU rows in --json output\n"
	    "  --quiet              no progress line on standard error\n"
	    "  --json               print the report as JSON (skrull-report in skrull(7))\n"
	    "\nwith --plan, the shape options (--hidden, --layers, --heads,\n"
	    "--kv-heads, --ffn, --vocab; see the job options below) scale the\n"
	    "plan's model; without --plan, plan first:\n");
	planopts_help(1);
	printf("\nSee skrull-sim(1) and skrull(7).\n");
}

static int
run(int argc, char **argv)
{
	struct planopts po;
	struct simopts sc;
	struct option *longopts;
	struct trace t;
	struct plan p;
	struct cli_drops drops;
	struct report r;
	struct cli_file in[1 + PLANOPTS_FILES];
	struct cli_file of[2] = { { "--timeline", NULL }, { "--svg", NULL } };
	const char *plan_path = NULL;
	double secs = 0;
	int c, rc = CLI_FAIL;

	trace_init(&t);
	plan_init(&p);
	report_init(&r);
	planopts_init(&po);
	simopts_init(&sc);
	if ((longopts = planopts_table(own, sizeof own / sizeof own[0])) == NULL) {
		err_set(SK_ERR_NOMEM, "out of memory");
		rc = cli_fail();
		goto out;
	}
	optind = 1;
	while ((rc = cli_getopt(&cmd_sim, argc, argv, ":h", longopts, &c)) ==
	    CLI_OK && c != -1) {
		switch (c) {
		case 'h':
			help();
			goto out;
		case OPT_PLAN: plan_path = optarg; continue;
		case OPT_PER_GPU: sc.per_gpu = 1; continue;
		case OPT_JSON: sc.json = 1; continue;
		case OPT_TIMELINE: sc.opts.timeline = optarg; continue;
		case OPT_SVG: sc.svg = optarg; continue;
		case OPT_QUIET: sc.quiet = po.quiet = 1; continue;
		case OPT_ITERS:
		case OPT_THREADS:
		case OPT_TL_ITERS:
		case OPT_TL_MAX:
			if ((rc = simopts_take(&sc, &cmd_sim, c == OPT_ITERS ? "--iters" :
			    c == OPT_THREADS ? "--threads" : c == OPT_TL_ITERS ?
			    "--timeline-iters" : "--timeline-max-events",
			    optarg)) != CLI_OK)
				goto out;
			continue;
		}
		if ((rc = planopts_take(&po, &cmd_sim, c, optarg)) != CLI_OK)
			goto out;
	}
	if (rc != CLI_OK)
		goto out;
	rc = CLI_FAIL;
	if (optind != argc) {
		rc = cli_usage(&cmd_sim, "sim: unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if ((plan_path == NULL) == (po.trace == NULL)) {
		rc = cli_usage(&cmd_sim, "sim: give either --plan PLAN or --trace FILE");
		goto out;
	}
	in[0].opt = "--plan";
	in[0].path = plan_path;
	planopts_files(&po, in + 1);
	of[0].path = sc.opts.timeline;
	of[1].path = sc.svg;
	if (cli_check_files(in, 1 + PLANOPTS_FILES, of, 2) != SK_OK) {
		rc = cli_fail();
		goto out;
	}
	if (plan_path != NULL) {
		if (plan_read(plan_path, &p) != SK_OK) {
			rc = cli_fail();
			goto out;
		}
		/* The plan carries its job; a profile still applies to its
		 * cluster and the shape options to its model, the other job
		 * options do not. */
		if (shapeopts_apply(&po.job.shape, &p.job.model) != SK_OK) {
			rc = cli_fail();
			goto out;
		}
		if (po.job.profile != NULL &&
		    (rc = jobopts_profile(po.job.profile, &p.job.cluster,
		    &p.job.model)) != CLI_OK)
			goto out;
		rc = CLI_FAIL;
		if (plan_validate(&p, NULL) != SK_OK) {
			err_prefix(plan_path);
			fprintf(stderr, "skrull: warning: %s: simulating it "
			    "anyway\n", err_msg());
		}
	} else {
		if ((rc = planopts_finish(&po, &cmd_sim)) != CLI_OK ||
		    (rc = planopts_plan(&po, &t, &p, &secs)) != CLI_OK)
			goto out;
		rc = CLI_FAIL;
		cli_drops_count(&p, &t, &drops);
		cli_drops_warn(&drops, NULL);
		if (plan_validate(&p, &t) != SK_OK)
			fprintf(stderr, "skrull: warning: %s: simulating it anyway\n",
			    err_msg());
	}
	sc.job_from = plan_path != NULL ? plan_path : po.job.job_path;
	rc = simopts_run(&sc, &p, plan_path != NULL ? plan_path : po.trace, &r);
out:
	free(longopts);
	report_free(&r);
	plan_free(&p);
	trace_free(&t);
	return rc;
}
