/*
 * comm_nccl_int: internal to the NCCL communicator, shared by comm_nccl.c
 * (the operations, requests, split, free and abort) and comm_nccl_world.c
 * (making communicators: over an MPI world, or one per local GPU).  Not a
 * public contract; the only two files that see nccl.h.
 */
#ifndef SKRULL_COMM_NCCL_INT_H
#define SKRULL_COMM_NCCL_INT_H

#include <stddef.h>

/* NVIDIA's headers are not warning-clean C (__cplusplus in #if, empty
 * parameter lists): their warnings are theirs. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wundef"
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <cuda_runtime_api.h>
#include <nccl.h>
#pragma GCC diagnostic pop

/* ncclCommSplit (the shard groups' communicators) came with NCCL 2.18. */
#if NCCL_VERSION_CODE < NCCL_VERSION(2, 18, 0)
#error "the NCCL communicator needs NCCL 2.18 or later (ncclCommSplit)"
#endif

#include "comm.h"
#include "comm_nccl.h"
#include "comm_slots.h"
#include "err.h"

/* Polling: from 1 us, doubling up to 200 us (as comm_wait). */
#define POLL_FIRST_NS 1000L
#define POLL_MAX_NS 200000L

/* The unique id travels through the MPI world as floats' worth of bytes. */
#define ID_FLOATS (sizeof(ncclUniqueId) / sizeof(float))
_Static_assert(sizeof(ncclUniqueId) % sizeof(float) == 0,
    "ncclUniqueId is not a whole number of floats");

/* Where the result of an operation on host buffers goes once it is
 * done: n floats from the staging buffer at from to the host at to. */
struct back {
	float *to;
	const float *from;
	size_t n;
};

/* One non-blocking operation (slot k of the table): its completion
 * event on the comm stream, its staging region (host buffers) and what to
 * copy back from it. */
struct slot {
	cudaEvent_t done;
	float *stage;   /* COMM_NCCL_HOST_MAX floats of x->stage */
	struct back back;
};

struct impl {
	ncclComm_t nc;
	int device;            /* the CUDA device of this rank */
	cudaStream_t stream;   /* communication stream */
	cudaStream_t copy;     /* staged results back to the host: not
	                          behind later operations on stream */
	cudaEvent_t ready;     /* recorded on the compute stream at a start */
	cudaEvent_t done;      /* end of a blocking operation */
	float *one;            /* device: the barrier's float */
	float *stage;          /* device: (COMM_REQ_MAX + 1) regions of
	                          COMM_NCCL_HOST_MAX floats, the last one for
	                          blocking operations */
	double timeout;        /* limit on calls left in progress, s */
	struct comm *mpi;      /* the MPI world we were bootstrapped over */
	ncclComm_t child;      /* where a split's new communicator lands:
	                          NCCL writes it when the split completes,
	                          after ncclCommSplit has returned */
	struct comm_slots slots;
	struct slot slot[COMM_REQ_MAX];
};

/* Record the failure of CUDA call `call` inside op on c (NULL: on what
 * names); SK_ERR_IO. */
int comm_nccl_cuda_fail(const struct comm *c, const char *what,
                        const char *op, const char *call, cudaError_t rc);

/* Record the failure of NCCL call `call` (result rc) on nc inside op, with
 * NCCL's last error; SK_ERR_IO. */
int comm_nccl_fail(const struct comm *c, const char *what, ncclComm_t nc,
                   const char *op, const char *call, ncclResult_t rc);

/* Finish NCCL call `call` on nc that returned rc (a non-blocking
 * communicator may leave it in progress), polling at most timeout
 * seconds (< 0: no limit). */
int comm_nccl_settle(const struct comm *c, const char *what, ncclComm_t nc,
                     double timeout, const char *op, const char *call,
                     ncclResult_t rc);

/* Free x's streams, events and buffers, and x (not its NCCL comm). */
void comm_nccl_destroy(struct impl *x);

/* Make *out around nc (comm_nccl_world.c): see there. */
int comm_nccl_make(ncclComm_t nc, int device, const char *name,
                   int world_rank, struct comm *mpi, double timeout,
                   struct comm *out);

/* A creation's result: even a success is checked for progress. */
ncclResult_t comm_nccl_begun(ncclResult_t rc);

#endif
