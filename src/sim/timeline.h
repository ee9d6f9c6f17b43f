/*
 * timeline: a Chrome / Perfetto trace-event JSON file of a simulated run
 * (chrome://tracing, ui.perfetto.dev).  One process per node (pid = node
 * + 1: Perfetto treats pid 0 as the idle task), one thread per GPU stream
 * (tid = 3 x local GPU + stream + 1; stream 0 compute, 1 comm, the shard
 * groups' collectives, 2 dp, the data-parallel ones), named by metadata
 * events; complete events ("ph":"X") per operation with the
 * iteration, micro-batch, phase, layer and sample ids in args (and a
 * collective's group of GPUs where the caller names it); a counter
 * ("ph":"C") of each GPU's memory; instant events ("ph":"i") for OOMs.
 * Times are written in microseconds, as the format wants.
 *
 * Spans: after timeline_iter, each GPU also gets complete events of
 * category "span" on a track of its own (tid = 3 x GPUs per node + local
 * GPU + 1, "GPU g steps"): one per iteration ("iteration N", from its
 * first operation on any of the GPU's streams to its last end) holding
 * one per micro-batch's forward and backward on the compute stream
 * ("forward mb M", "backward mb M", from the phase's first compute
 * operation to its last end), properly nested, as the format requires of
 * complete events on one track.  They are written when the iteration
 * ends: at the next timeline_iter, or timeline_close.
 *
 * Events beyond the cap are dropped and counted, with the iteration of
 * the first (timeline_first_dropped, for the caller to warn); the file
 * says so in its metadata.  The file is written atomically at timeline_close.
 */
#ifndef SKRULL_SIM_TIMELINE_H
#define SKRULL_SIM_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "queue.h"

struct timeline;

/* gpus_per_node and ngpus name the processes and threads. */
struct timeline *timeline_open(const char *path, int ngpus, int gpus_per_node,
                               size_t max_events);

/* Streams, as the simulator numbers them. */
#define TIMELINE_STREAMS 3

/* The phase of an iteration an operation belongs to: a micro-batch's
 * forward, its head (output projection and loss), its backward, and the
 * step after the last micro-batch (the gradient collectives left to it,
 * the optimizer, the parameter all-gathers). */
enum timeline_phase {
	TIMELINE_FORWARD, TIMELINE_HEAD, TIMELINE_BACKWARD, TIMELINE_STEP,
	TIMELINE_NPHASES
};

/* An operation on GPU gpu, stream 0 (compute), 1 (comm) or 2 (dp), from t
 * for dur, in the category of its stream's name, of phase ph and layer
 * layer (0-based; < 0: none, as the head's and the optimizer's).
 * samples (n trace indices, may be NULL) go into args. */
int timeline_op(struct timeline *tl, int gpu, int stream, const char *name,
                sim_ns t, sim_ns dur, size_t iter, size_t mb,
                enum timeline_phase ph, int layer,
                const uint32_t *samples, size_t n);
/* A collective on GPU gpu's comm stream, as timeline_op, of the group of
 * GPUs g0 .. g0 + size - 1 (gpu among them): args also hold
 * "group":{"gpu":g0,"size":size}. */
int timeline_coll(struct timeline *tl, int gpu, const char *name, sim_ns t,
                  sim_ns dur, size_t iter, size_t mb,
                  enum timeline_phase ph, int layer, int g0, int size,
                  const uint32_t *samples, size_t n);
int timeline_memory(struct timeline *tl, int gpu, sim_ns t, double bytes);
int timeline_oom(struct timeline *tl, int gpu, sim_ns t, double need,
                 double avail);

/* The iteration the next events belong to (the caller writes the
 * iterations in order): the spans of the one before are written, and
 * where the cap first drops an event is recorded.  Returns the write's
 * status. */
int timeline_iter(struct timeline *tl, size_t iter);

/* End the current iteration: write its spans (timeline_close does too,
 * but a caller counting the events first calls this).  Returns the
 * write's status. */
int timeline_iter_end(struct timeline *tl);

/* Events written and dropped so far. */
size_t timeline_events(const struct timeline *tl);
size_t timeline_dropped(const struct timeline *tl);

/* The iteration (timeline_iter) of the first dropped event: 1 and *iter,
 * or 0 when none was dropped. */
int timeline_first_dropped(const struct timeline *tl, size_t *iter);

/* Write the file (json_save) and free; with abort_only, free without
 * writing.  Returns the write's status. */
int timeline_close(struct timeline *tl, int abort_only);

#endif
