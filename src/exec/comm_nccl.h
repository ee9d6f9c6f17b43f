/*
 * comm_nccl: the NCCL communicator (comm.h's contract on device memory),
 * built only with HAVE_NCCL, for the CUDA backend (backend.h): one rank per
 * GPU, bootstrapped over MPI (one process per GPU under mpirun or srun) or
 * one process driving all its GPUs, one thread each.
 *
 * Buffers are device memory of the communicator's device; counts are
 * floats (ncclFloat32), sums.  Small messages (setup agreements such as
 * exec_new's, at most COMM_NCCL_HOST_MAX elements in all) may be host
 * memory instead, send and receive alike: they are staged through a
 * device buffer the communicator holds (larger ones: SK_ERR_ARG).  Every operation is ordered after the work
 * the calling thread queued on its compute stream (cudaStreamPerThread,
 * the CUDA backend's) and runs on the communicator's own stream, so that
 * CP traffic overlaps compute: a non-blocking start records an event on
 * the compute stream, makes the communication stream wait for it and
 * enqueues; the test that sees it complete makes the compute stream wait
 * for its completion event, so later compute sees the data.  Blocking
 * operations return when the data is there (host waits, polling).
 *
 * Failures: the communicators are NCCL non-blocking ones, so that no call
 * can hang: a call NCCL leaves in progress (connection setup, a group) is
 * polled until it settles, at most the communicator's timeout
 * (COMM_NCCL_TIMEOUT seconds unless comm_nccl_set_timeout says otherwise),
 * and every test polls ncclCommGetAsyncError.  Errors are SK_ERR_IO naming
 * the operation, the rank and the NCCL or CUDA call and reason.  abort
 * calls ncclCommAbort and ends the process (through MPI_Abort, by the MPI
 * world's abort, when bootstrapped over MPI).
 *
 * Threads: unlike the MPI backend, each communicator belongs to one host
 * thread, the one bound to its device (the CUDA backend's open, or
 * cudaSetDevice): an operation called on another device is refused
 * (SK_ERR_ARG).  The communicators of comm_nccl_world_all are driven by n
 * threads at once, each calling every collective on its own.
 */
#ifndef SKRULL_COMM_NCCL_H
#define SKRULL_COMM_NCCL_H

#include "comm.h"

/* The most elements an operation on host buffers may span. */
#define COMM_NCCL_HOST_MAX 1024

/* The default limit, seconds, on a call NCCL leaves in progress (the
 * executor's default collective timeout). */
#define COMM_NCCL_TIMEOUT 600.0

/*
 * Collective over mpi_world (an MPI communicator, comm.h): binds the
 * calling thread to CUDA device device (cudaSetDevice), rank 0 makes the
 * NCCL unique id and broadcasts it through mpi_world, every rank joins
 * (ncclCommInitRank); *out is rank mpi_world->rank of mpi_world->size,
 * named "world".  Failures are agreed over mpi_world: every rank returns
 * an error (its own, or one naming how many ranks failed).  mpi_world
 * must outlive *out and its splits (their abort calls its abort).
 */
int comm_nccl_world_mpi(struct comm *mpi_world, int device, struct comm *out);

/*
 * One process, devices 0 .. n-1 (n at most the device count): out[0..n)
 * are the ranks 0 .. n-1 of one communicator named "world" (world rank i:
 * out[i]), to be used by the thread bound to device i.  Like
 * ncclCommInitAll, with non-blocking communicators.  The calling thread's
 * device is left as it was.
 */
int comm_nccl_world_all(int n, struct comm *out);

/* The number of CUDA devices this process sees (0 without a device or a
 * driver: not an error). */
int comm_nccl_device_count(int *n);

/* The limit on calls NCCL leaves in progress on c and on the
 * communicators split from it afterwards, seconds (< 0: none). */
int comm_nccl_set_timeout(struct comm *c, double seconds);

/* The NCCL ops table. */
extern const struct comm_ops comm_nccl_ops;

#endif
