/*
 * sim: the discrete-event simulator.  It executes a plan in simulated time
 * on the job's cluster model and fills a report (src/core/report.h), as a
 * profiler would see the run.
 *
 * Model (skrull-sim(1), skrull(7)):
 *   - every GPU has a compute stream and a communication stream, each a
 *     resource that runs one operation at a time, in program order;
 *   - a GPU's program per iteration: for each of its micro-batches (its DP
 *     rank's, in plan order: gradient accumulation), every layer's forward,
 *     the model head, then every layer's backward in reverse, with the
 *     operations and costs of sim/ops.h; a collective (CP all-gather and
 *     reduce-scatter over the CP group, DP gradient reduce-scatter or
 *     all-reduce, parameter all-gather) starts when every member of its
 *     group has reached it on its communication stream and the stream is
 *     free, and takes cluster_coll_time;
 *   - the DP gradient synchronisation of a layer is issued after that
 *     layer's backward in the last micro-batch, overlapping the remaining
 *     backward (as DeepSpeed and Megatron bucket it); the optimizer step and
 *     parameter all-gather follow; the iteration ends when the last GPU
 *     finishes;
 *   - memory per GPU: static bytes plus the activations of the micro-batch
 *     in flight, allocated layer by layer in forward and freed layer by layer
 *     in backward; a peak above HBM - reserve is an OOM, recorded, and the
 *     run goes on.
 * Iterations are independent (each starts with all streams idle after the
 * previous one's synchronisation), so they are simulated in parallel.
 */
#ifndef SKRULL_SIM_H
#define SKRULL_SIM_H

#include <stddef.h>

#include "cluster.h"
#include "job.h"
#include "model.h"
#include "plan.h"
#include "report.h"

struct sim_opts {
	size_t first;         /* first iteration to simulate */
	size_t count;         /* iterations to simulate, 0 = to the end */
	int threads;          /* worker threads, 0 = online CPUs */
	const char *timeline; /* Chrome trace-event file to write, or NULL */
	size_t tl_first;      /* timeline: first and last iteration, inclusive */
	size_t tl_last;
	size_t tl_max_events; /* hard cap on timeline events (0 = 1000000) */
	uint64_t *events;     /* if not NULL, receives the number of events
	                         the engine processed (for benchmarks) */
};

void sim_opts_default(struct sim_opts *o);

/* Simulate the plan's iterations [first, first + count) into r (allocated
 * here; report_free releases it) and compute its aggregates. */
int sim_run(const struct plan *p, const struct sim_opts *o, struct report *r);

/*
 * The simulated time of a run of plan p as the executor runs it, for
 * `skrull run` to set beside the measured time: the plan's layout and
 * micro-batches with model m (the run's, with its overrides), precision
 * prec, no ZeRO and no recompute (what the CPU executor does), on
 * cluster c (a profile applied, profile_apply; its GPU count is not
 * checked against the plan's DP x CP).  sec[i] receives the seconds of
 * iteration first + i, for i < count; count 0 is an error, as is a range
 * past the plan's end (SK_ERR_RANGE).  threads as sim_opts.threads.
 * Unless NULL, bound[i] receives that iteration's bound for the same job
 * (report.h): the best possible time of a run of that model there.
 */
int sim_predict(const struct plan *p, const struct model *m,
                enum precision prec, const struct cluster *c, size_t first,
                size_t count, int threads, double *sec, double *bound);

#endif
