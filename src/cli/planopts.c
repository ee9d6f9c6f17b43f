/* planopts: see planopts.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "planopts.h"
#include "progress.h"

static const struct option opts[] = {
	{ "trace", required_argument, NULL, PLANOPT_TRACE },
	{ "policy", required_argument, NULL, PLANOPT_POLICY },
	{ "format", required_argument, NULL, PLANOPT_FORMAT },
	{ "field", required_argument, NULL, PLANOPT_FIELD },
	{ "skip-bad", no_argument, NULL, PLANOPT_SKIP_BAD },
	{ "chars-per-token", required_argument, NULL, PLANOPT_CPT },
};
#define NOPTS (sizeof opts / sizeof opts[0])

/* Names of the booleans' negations ("no-rollback"); getopt keeps pointers
 * to them, so they live as long as the program. */
static char negname[PLANOPTS_KNOBS_MAX][40];

void
planopts_init(struct planopts *o)
{
	memset(o, 0, sizeof *o);
	jobopts_init(&o->job);
	sched_params_default(&o->sp);
	o->policy = "skrull";
}

struct option *
planopts_table(const struct option *own, size_t n)
{
	size_t nj = 0, k, i;
	struct option *t;

	while (jobopts_long[nj].name != NULL)
		nj++;
	if (sched_nknobs > sizeof negname / sizeof negname[0])
		return NULL;
	if ((t = calloc(n + NOPTS + nj + 2 * sched_nknobs + 1, sizeof *t)) == NULL)
		return NULL;
	memcpy(t, own, n * sizeof *t);
	i = n;
	memcpy(t + i, opts, sizeof opts);
	i += NOPTS;
	memcpy(t + i, jobopts_long, nj * sizeof *t);
	i += nj;
	for (k = 0; k < sched_nknobs; k++) {
		const struct sched_knob *kn = &sched_knobs[k];

		t[i].name = kn->name;
		t[i].has_arg = kn->type == KNOB_BOOL ? optional_argument :
		    required_argument;
		t[i++].val = PLANOPT_KNOB + (int)k;
		if (kn->type == KNOB_BOOL) {
			snprintf(negname[k], sizeof negname[k], "no-%s", kn->name);
			t[i].name = negname[k];
			t[i].has_arg = no_argument;
			t[i++].val = PLANOPT_NO_KNOB + (int)k;
		}
	}
	return t;
}

int
planopts_take(struct planopts *o, const struct cli_cmd *cmd, int code,
    const char *arg)
{
	const char *text;
	size_t k;

	switch (code) {
	case PLANOPT_TRACE: o->trace = arg; return CLI_OK;
	case PLANOPT_POLICY:
		o->policy = arg;
		o->policy_given = 1;
		return CLI_OK;
	case PLANOPT_FIELD: o->ro.field = arg; return CLI_OK;
	case PLANOPT_SKIP_BAD: o->ro.skip_bad = 1; return CLI_OK;
	case PLANOPT_CPT:
		return cli_parse_cpt(cmd, arg, &o->ro.chars_per_token);
	case PLANOPT_FORMAT:
		if (trace_format_parse(arg, &o->ro.format) != SK_OK)
			return cli_usage(cmd, "--format: %s", err_msg());
		return CLI_OK;
	}
	if (code >= PLANOPT_KNOB && code < PLANOPT_KNOB + (int)sched_nknobs) {
		k = (size_t)(code - PLANOPT_KNOB);
		text = arg != NULL ? arg : "on";
		if (sched_knob_set(&o->sp, &sched_knobs[k], text) != SK_OK)
			return cli_usage(cmd, "%s", err_msg());
		o->knob_text[k] = text;
		return CLI_OK;
	}
	if (code >= PLANOPT_NO_KNOB && code < PLANOPT_NO_KNOB + (int)sched_nknobs) {
		k = (size_t)(code - PLANOPT_NO_KNOB);
		sched_knob_set(&o->sp, &sched_knobs[k], "off");
		o->knob_text[k] = "off";
		return CLI_OK;
	}
	return jobopts_take(&o->job, cmd, code, arg);
}

/* Take the schedule of the job file (if any) into o and clear it from the
 * job. */
static int
take_schedule(struct planopts *o)
{
	struct job *j = &o->job.job;
	const struct sched_knob *k;
	struct sched_params scratch;
	char where[1024];
	int i;

	if (j->policy[0] == '\0')
		return CLI_OK;
	snprintf(where, sizeof where, "%s: schedule",
	    strcmp(o->job.job_path, "-") == 0 ? "<stdin>" : o->job.job_path);
	if (sched_policy_find(j->policy) == NULL) {
		snprintf(where + strlen(where), sizeof where - strlen(where),
		    ".policy");
		err_prefix(where);
		return cli_fail();
	}
	if (!o->policy_given) {
		memcpy(o->job_policy, j->policy, sizeof o->job_policy);
		o->policy = o->job_policy;
	}
	for (i = 0; i < j->nknobs; i++) {
		if ((k = sched_knob_find(j->knobs[i].name)) == NULL) {
			err_set(SK_ERR_ARG, "%s.knobs: unknown knob '%s' (see skrull "
			    "plan -h)", where, j->knobs[i].name);
			return cli_fail();
		}
		/* A knob the command line sets is still checked: the file is
		 * wrong either way. */
		scratch = o->sp;
		if (sched_knob_set(o->knob_text[k - sched_knobs] != NULL ?
		    &scratch : &o->sp, k, j->knobs[i].value) != SK_OK) {
			snprintf(where + strlen(where), sizeof where - strlen(where),
			    ".knobs");
			err_prefix(where);
			return cli_fail();
		}
	}
	j->policy[0] = '\0';
	j->nknobs = 0;
	return CLI_OK;
}

int
planopts_finish(struct planopts *o, const struct cli_cmd *cmd)
{
	int rc;

	if (o->policy_given && sched_policy_find(o->policy) == NULL)
		return cli_usage(cmd, "%s: %s", cmd->name, err_msg());
	if ((rc = jobopts_finish(&o->job, cmd)) != CLI_OK)
		return rc;
	return take_schedule(o);
}

double
planopts_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int
planopts_plan(struct planopts *o, struct trace *t, struct plan *p, double *secs)
{
	struct progress pg;
	double t0;
	int e;

	if (cli_trace_read(o->trace, &o->ro, t, NULL) != SK_OK)
		return cli_fail();
	progress_init(&pg, progress_wanted(o->quiet, 2) ? stderr : NULL, "plan");
	t0 = planopts_now();
	e = sched_plan_progress(&o->job.job, &o->sp, o->policy, t, o->trace, p,
	    pg.f != NULL ? progress_cb : NULL, &pg);
	progress_end(&pg);
	if (e != SK_OK)
		return cli_fail();
	*secs = planopts_now() - t0;
	return CLI_OK;
}

void
planopts_files(const struct planopts *o, struct cli_file *in)
{
	in[0].opt = "--trace";
	in[0].path = o->trace;
	jobopts_files(&o->job, in + 1);
}

void
planopts_help(int one_policy)
{
	size_t i;

	printf("  --trace FILE      the length trace to schedule (skrull-trace(5))\n");
	if (one_policy)
		printf("  --policy NAME     the scheduler (default: the job file's "
		    "schedule,\n                    else skrull):\n");
	else
		printf("  the policies (NAME in --policies):\n");
	for (i = 0; i < sched_npolicies; i++)
		printf("                      %-10s %s\n", sched_policies[i]->name,
		    sched_policies[i]->summary);
	printf("  --format, --field, --chars-per-token, --skip-bad\n"
	    "                    read the trace as skrull-trace(1)\n"
	    "\njob options:\n%s\npolicy options (skrull-plan(1)):\n", jobopts_help);
	planopts_help_knobs();
}

void
planopts_help_knobs(void)
{
	size_t i;

	for (i = 0; i < sched_nknobs; i++) {
		const struct sched_knob *k = &sched_knobs[i];
		char name[64];

		if (k->type == KNOB_BOOL)
			snprintf(name, sizeof name, "--[no-]%s", k->name);
		else
			snprintf(name, sizeof name, "--%s %s", k->name,
			    k->type == KNOB_ENUM ? "NAME" : "N");
		printf("  %-22s %s (default %s)\n", name, k->help, k->deflt);
	}
}
