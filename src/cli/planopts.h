/*
 * planopts: the options of every command that plans a trace (`skrull
 * plan`, `skrull sim --trace`, `skrull compare`): --trace, --policy,
 * --format, --field, --chars-per-token, --skip-bad, the job options (jobopts) and the policy
 * knobs (one --NAME per entry of sched_knobs, and --no-NAME for booleans).
 *
 * Use: planopts_init; planopts_table(own) gives the getopt_long table of
 * the command's own options followed by these; pass each code the command
 * does not handle to planopts_take; after the loop planopts_finish, then
 * planopts_plan.
 *
 * A job file may carry a schedule (skrull-job(5)): its policy is used
 * unless --policy is given, and its knobs are applied except those the
 * command line sets, so the command line wins whatever the order.
 */
#ifndef SKRULL_PLANOPTS_H
#define SKRULL_PLANOPTS_H

#include <getopt.h>
#include <stddef.h>

#include "cli.h"
#include "jobopts.h"
#include "plan.h"
#include "sched.h"
#include "trace.h"

enum {
	PLANOPT_TRACE = 1900, PLANOPT_POLICY, PLANOPT_FORMAT, PLANOPT_FIELD,
	PLANOPT_SKIP_BAD, PLANOPT_CPT,
	PLANOPT_KNOB = 2000,     /* + knob index */
	PLANOPT_NO_KNOB = 3000   /* + knob index (booleans) */
};

/* Knobs planopts can handle (the size of its per-knob tables). */
#define PLANOPTS_KNOBS_MAX 64

struct planopts {
	struct jobopts job;
	struct sched_params sp;  /* the command line's knobs as they are
	                            taken; planopts_finish adds the job's */
	struct trace_read_opts ro;
	const char *trace;   /* NULL: not given */
	const char *policy;  /* default "skrull"; after planopts_finish the
	                        policy to plan with */
	int policy_given;    /* --policy was given */
	int quiet;           /* the command's --quiet: planopts_plan shows
	                        no progress (progress.h) */
	/* The command line's knob settings as given, by knob index (NULL: not
	 * given; the last of repeated options): these win over the job's. */
	const char *knob_text[PLANOPTS_KNOBS_MAX];
	char job_policy[JOB_NAME_MAX];  /* the job's, when o->policy is it */
};

void planopts_init(struct planopts *o);

/* own (n entries, no terminator) + the planning options, terminated; NULL
 * when out of memory.  The caller frees it. */
struct option *planopts_table(const struct option *own, size_t n);

/* As jobopts_take: CLI_OK taken, CLI_USAGE bad value (printed), -1 not a
 * planning option. */
int planopts_take(struct planopts *o, const struct cli_cmd *cmd, int code,
                  const char *arg);

/* Check the policy name, build the job (jobopts_finish) and take its
 * schedule: the policy unless --policy was given, the knobs the command
 * line does not set (an unknown policy or a bad knob in the job file is an
 * error naming the file and the knob: CLI_FAIL).  The job's schedule is
 * then cleared, so that plans record the policy and knobs in use, once. */
int planopts_finish(struct planopts *o, const struct cli_cmd *cmd);

/* Read the trace into t and plan it with the policy into p; *secs gets
 * the planning time (not the reading).  Prints the error: CLI_FAIL. */
int planopts_plan(struct planopts *o, struct trace *t, struct plan *p,
                  double *secs);

/* The input files of the options (--trace, then jobopts_files) into
 * in[0..PLANOPTS_FILES), for cli_check_files. */
#define PLANOPTS_FILES (1 + JOBOPTS_FILES)
void planopts_files(const struct planopts *o, struct cli_file *in);

/* Print the help lines of the planning options (trace, policy, job,
 * knobs) to stdout: with --policy when one_policy, else the policies'
 * list alone (compare names several with --policies). */
void planopts_help(int one_policy);

/* Print the policy options' (knobs') help lines alone to stdout. */
void planopts_help_knobs(void);

/* Wall-clock seconds (CLOCK_MONOTONIC), for timing commands. */
double planopts_now(void);

#endif
