/*
 * simopts: what `skrull sim` and `skrull compare` share: the simulation
 * options (--iters A:B, --threads, --timeline, --timeline-iters), running
 * the simulator over a plan, and printing a report.
 */
#ifndef SKRULL_SIMOPTS_H
#define SKRULL_SIMOPTS_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "plan.h"
#include "progress.h"
#include "report.h"
#include "sim.h"

struct simopts {
	struct sim_opts opts;
	size_t first, end;     /* --iters A:B; end 0 = to the plan's end */
	int json, per_gpu;
	double wall;           /* seconds the last simulation took */
	uint64_t events;       /* events it processed */
	int tl_given;          /* --timeline-iters was given */
	struct sim_tl_info tl; /* what the timeline holds */
	const char *job_from;  /* the file the plan's job came from (a plan
	                          or job file; NULL: options and presets),
	                          named by a failure the job causes */
	int quiet;             /* --quiet: no progress */
	const char *svg;       /* --svg FILE: sim's chart, or NULL */
	struct progress *pg;   /* NULL: each simulation reports its own
	                          progress ("sim"); else into this one: */
	size_t pg_done;        /* units done before this simulation, */
	size_t pg_span;        /* units it covers, */
	size_t pg_total;       /* units in all (0: the iterations) */
};

void simopts_init(struct simopts *s);

/* Take --iters, --threads, --timeline-iters or --timeline-max-events (opt
 * names it) with arg:
 * CLI_OK, or CLI_USAGE after printing the message and cmd's usage. */
int simopts_take(struct simopts *s, const struct cli_cmd *cmd, const char *opt,
                const char *arg);

/* Simulate the plan's chosen iterations into r; prints the error. */
int simopts_simulate(struct simopts *s, const struct plan *p, struct report *r);

/* Simulate and print the report (text, or JSON with --json); label names
 * the plan's source. */
int simopts_run(struct simopts *s, const struct plan *p, const char *label,
               struct report *r);

#endif
