/*
 * queue: the event queue of the discrete-event engine: a binary min-heap of
 * timestamped events.  Ties in time are broken by insertion order (a
 * sequence number), so a simulation is deterministic.
 *
 * An event pushed with a key (0 .. nkeys - 1, at most one event per key
 * in the queue) can be moved to another time later: the engine reschedules
 * a collective's end when its share of a link changes.
 *
 * Simulated time is an integer number of nanoseconds (sim_ns) everywhere in
 * the simulator; seconds appear only in reports.
 *
 * The heap is sized once (sim_queue_init); pushing never allocates.
 */
#ifndef SKRULL_SIM_QUEUE_H
#define SKRULL_SIM_QUEUE_H

#include <stddef.h>
#include <stdint.h>

typedef int64_t sim_ns;  /* simulated time, nanoseconds */

#define SIM_NOKEY UINT32_MAX  /* an event pushed without a key */

struct sim_event {
	sim_ns t;        /* when it happens */
	uint64_t seq;    /* insertion order, breaks ties */
	uint32_t type;   /* meaning chosen by the user of the queue */
	uint32_t a, b;   /* its arguments (a GPU, a stream, an op index ...) */
	uint32_t key;    /* its key, or SIM_NOKEY */
};

struct sim_queue {
	struct sim_event *heap;
	size_t n, cap;
	size_t *pos;     /* per key: its event's index in heap, SIZE_MAX
	                    when it has none there */
	size_t nkeys;
	uint64_t next_seq;
};

/* Room for cap events, nkeys keys (0 for none). */
int sim_queue_init(struct sim_queue *q, size_t cap, size_t nkeys);
void sim_queue_free(struct sim_queue *q);
/* Empty it and restart the sequence numbers. */
void sim_queue_clear(struct sim_queue *q);
/* An event without a key.  SK_ERR_RANGE when the heap is full. */
int sim_queue_push(struct sim_queue *q, sim_ns t, uint32_t type, uint32_t a,
                   uint32_t b);
/* The event of key (< nkeys) at t with type, a and b: pushed when the
 * queue holds none of that key, else moved there and rewritten; either way
 * it takes the next sequence number, so it leaves after the events of the
 * same time already queued.  SK_ERR_RANGE when the heap is full, SK_ERR_ARG
 * for a key out of range. */
int sim_queue_set(struct sim_queue *q, uint32_t key, sim_ns t, uint32_t type,
                  uint32_t a, uint32_t b);
/* Remove the earliest event into *e; 0 when the queue is empty, else 1. */
int sim_queue_pop(struct sim_queue *q, struct sim_event *e);

#endif
