/*
 * comm_slots: the table of a communicator's pending non-blocking
 * operations, shared by the backends that have any (MPI, NCCL; the
 * loopback's complete at their start).  COMM_REQ_MAX slots, reserved with
 * the communicator, so that starting an operation allocates nothing; a
 * slot's index k (0 .. COMM_REQ_MAX - 1) indexes the backend's own
 * per-slot state (an MPI_Request, a CUDA event), and a request's handle
 * is k + 1.
 *
 * Errors are recorded with comm_err, naming the operation, the group and
 * the rank.
 */
#ifndef SKRULL_COMM_SLOTS_H
#define SKRULL_COMM_SLOTS_H

#include <stddef.h>

#include "comm.h"

struct comm_slots {
	int busy[COMM_REQ_MAX];  /* 1 while slot k's operation is pending */
	int pending;             /* slots busy */
};

/* A free slot's index, or -1 after recording (SK_ERR_RANGE, on c's
 * operation op) that all are busy. */
int comm_slots_take(const struct comm_slots *t, const struct comm *c,
    const char *op);

/* Mark slot k busy and describe it in req: on c, operation op, count
 * elements this rank sends. */
void comm_slots_begin(struct comm_slots *t, int k, struct comm *c,
    const char *op, size_t count, struct comm_req *req);

/* The index of the busy slot req names (req->handle != 0), or -1 after
 * recording (SK_ERR_ARG, as operation op) that it names none. */
int comm_slots_of(const struct comm_slots *t, const struct comm_req *req,
    const char *op);

/* Release the slot req names and mark req complete (handle 0). */
void comm_slots_end(struct comm_slots *t, struct comm_req *req);

/* SK_OK when no slot is busy, else SK_ERR_ARG recorded as c's "free":
 * a communicator is released only with nothing pending on it. */
int comm_slots_idle(const struct comm_slots *t, const struct comm *c);

#endif
