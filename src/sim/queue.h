/*
 * queue: the event queue of the discrete-event engine: a binary min-heap of
 * timestamped events.  Ties in time are broken by insertion order (a
 * sequence number), so a simulation is deterministic.
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

struct sim_event {
	sim_ns t;        /* when it happens */
	uint64_t seq;    /* insertion order, breaks ties */
	uint32_t type;   /* meaning chosen by the user of the queue */
	uint32_t a, b;   /* its arguments (a GPU, a stream, an op index ...) */
};

struct sim_queue {
	struct sim_event *heap;
	size_t n, cap;
	uint64_t next_seq;
};

int sim_queue_init(struct sim_queue *q, size_t cap);
void sim_queue_free(struct sim_queue *q);
/* Empty it and restart the sequence numbers. */
void sim_queue_clear(struct sim_queue *q);
/* SK_ERR_RANGE when the heap is full. */
int sim_queue_push(struct sim_queue *q, sim_ns t, uint32_t type, uint32_t a,
                   uint32_t b);
/* Remove the earliest event into *e; 0 when the queue is empty, else 1. */
int sim_queue_pop(struct sim_queue *q, struct sim_event *e);

#endif
