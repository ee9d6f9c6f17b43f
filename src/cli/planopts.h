/*
 * planopts: the options of every command that plans a trace (`skrull
 * plan`, `skrull sim --trace`, `skrull compare`): --trace, --policy,
 * --format, --field, --skip-bad, the job options (jobopts) and the policy
 * knobs (one --NAME per entry of sched_knobs, and --no-NAME for booleans).
 *
 * Use: planopts_init; planopts_table(own) gives the getopt_long table of
 * the command's own options followed by these; pass each code the command
 * does not handle to planopts_take; after the loop planopts_finish, then
 * planopts_plan.
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
	PLANOPT_SKIP_BAD,
	PLANOPT_KNOB = 2000,     /* + knob index */
	PLANOPT_NO_KNOB = 3000   /* + knob index (booleans) */
};

struct planopts {
	struct jobopts job;
	struct sched_params sp;
	struct trace_read_opts ro;
	const char *trace;   /* NULL: not given */
	const char *policy;  /* default "skrull" */
};

void planopts_init(struct planopts *o);

/* own (n entries, no terminator) + the planning options, terminated; NULL
 * when out of memory.  The caller frees it. */
struct option *planopts_table(const struct option *own, size_t n);

/* As jobopts_take: CLI_OK taken, CLI_USAGE bad value (printed), -1 not a
 * planning option. */
int planopts_take(struct planopts *o, const struct cli_cmd *cmd, int code,
                  const char *arg);

/* Check the policy name and build the job (jobopts_finish). */
int planopts_finish(struct planopts *o, const struct cli_cmd *cmd);

/* Read the trace into t and plan it with the policy into p; *secs gets
 * the planning time (not the reading).  Prints the error: CLI_FAIL. */
int planopts_plan(struct planopts *o, struct trace *t, struct plan *p,
                  double *secs);

/* Print the help lines of the planning options (trace, policy, job,
 * knobs) to stdout. */
void planopts_help(void);

/* Wall-clock seconds (CLOCK_MONOTONIC), for timing commands. */
double planopts_now(void);

#endif
