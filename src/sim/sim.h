/*
 * sim: the discrete-event simulator.  It executes a plan in simulated time
 * on the job's cluster model and fills a report (src/core/report.h), as a
 * profiler would see the run.
 *
 * Model (skrull-sim(1), skrull(7)):
 *   - every GPU has a compute stream, a communication stream (its shard
 *     groups' collectives) and a DP stream (the data-parallel ones, as a
 *     DP communicator of their own runs them), each a resource that runs
 *     one operation at a time, in program order;
 *   - a GPU's program per iteration: for each of the micro-batches covering
 *     its DP rank (those spanning it from a DP rank at or before it, then
 *     its own, in plan_rank_mbs order: gradient accumulation), its part of
 *     every layer's forward, the model head, then every layer's backward
 *     in reverse, with the operations and costs of core/ops.h; its part is
 *     its rank's whole samples and 1/size of each shard group holding it;
 *     a collective (per layer and shard group of its part, the group's K/V
 *     all-gather and dK/dV reduce-scatter over the group's GPUs, on
 *     NVLink or across nodes, ops_group_time; DP gradient reduce-scatter or
 *     all-reduce, parameter all-gather) starts when every member of its
 *     group has reached it on its stream and the stream is free, and takes
 *     cluster_coll_time, longer while a member's other communication
 *     stream moves bytes over the same kind of link (they share it
 *     equally; skrull(7)): a member that arrives first waits (idle, the
 *     report's wait, unless another of its streams has work), as do the DP
 *     ranks a spanning micro-batch borrows for the slowest of its groups;
 *   - the DP gradient synchronisation of a layer is issued after that
 *     layer's backward in each GPU's last micro-batch, spanning or not,
 *     overlapping the remaining backward and the shard groups' collectives
 *     (as DeepSpeed and Megatron bucket it); the optimizer step waits for
 *     the last, and the parameter all-gather follows; the iteration ends
 *     when the last GPU finishes;
 *   - memory per GPU: static bytes plus the activations of the micro-batch
 *     in flight (its part's tokens), allocated layer by layer in forward
 *     and freed layer by layer in backward; a peak above HBM - reserve is
 *     an OOM, recorded, and the run goes on.  Plans over their memory
 *     bound are simulated; structures the simulator cannot run (groups not
 *     aligned, spans outside the grid or listed after a rank's own
 *     micro-batches) are refused, SK_ERR_FORMAT.
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
	struct sim_tl_info *tl_info;  /* if not NULL, receives what the
	                                 timeline holds */
	/* if not NULL, called after each simulated iteration with the
	 * iterations done and the total, from worker threads but one call
	 * at a time and with done increasing; it must not call sim_run */
	void (*progress)(void *ctx, size_t done, size_t total);
	void *progress_ctx;
};

/* What a timeline holds: iterations [first, end) were asked for (after
 * clipping to those simulated); when the event cap dropped some
 * (dropped > 0), iterations from drop_iter on are partial or missing. */
struct sim_tl_info {
	size_t first, end;
	size_t events, dropped;  /* written, dropped by the cap */
	size_t drop_iter;        /* the first iteration not whole */
};

void sim_opts_default(struct sim_opts *o);

/* Simulate the plan's iterations [first, first + count) into r (allocated
 * here; report_free releases it) and compute its aggregates. */
int sim_run(const struct plan *p, const struct sim_opts *o, struct report *r);

/*
 * The simulated time of a run of plan p as the executor runs it, for
 * `skrull run` to set beside the measured time: the plan's layout and
 * micro-batches with model m (the run's, with its overrides), precision
 * prec, no ZeRO, and the plan's recompute if selective, else none (what
 * the executor does), on
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
