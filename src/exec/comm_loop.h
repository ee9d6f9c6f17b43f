/*
 * comm_loop: the loopback communicator (comm.h) of ranks that are threads
 * of one process.  A group of size ranks shares memory: each rank posts the
 * addresses of its buffers, and the ranks move the data themselves through
 * a backend's ops (backend.h: copy, add, alloc, sync), host memcpy for the
 * CPU backend, device copies for a GPU one; so several ranks can share one
 * GPU and a plan of DP x CP ranks runs in one process without MPI.  The
 * communication is emulated: it costs memory copies, not network
 * transfers.
 *
 * How a collective runs: every rank syncs its backend (its queued writes
 * become visible to the others), posts its pointers and counts, and meets
 * the others at a barrier; then each rank pulls what it needs from the
 * others' buffers into its own (a reduction: each rank sums one segment,
 * in rank order 0, 1, ..., size - 1, into a scratch buffer of its own,
 * which grows only when too small; then the ranks copy the sums out), with
 * a sync and a barrier after each phase.  The sums are therefore the same
 * on every rank, bit for bit.  In-place use follows comm.h.  A rank whose
 * post disagrees with another's (another operation, another count) gets
 * SK_ERR_ARG after the collective's barriers, so the ranks stay in step.
 *
 * Non-blocking variants complete at their start: the request they return
 * is "nothing pending" (handle 0), so test reports done and wait returns
 * at once; nothing overlaps with computation.
 *
 * Failures: every barrier waits at most the group's timeout (seconds;
 * < 0 for ever); a rank that waits longer gets SK_ERR_IO naming the
 * operation and the rank, and poisons the group: from then on every
 * collective of the group, and of the groups split from it, fails at once
 * with SK_ERR_IO naming the rank that failed, on every rank (waiting ranks
 * are woken).  comm_loop_poison does the same for a rank that failed
 * outside the communicator, so its peers do not wait for it.  ops->abort
 * poisons the group and exits the process with its code.
 *
 * Threads: rank k's thread is the only one that calls the functions of
 * rank k's communicators, between the backend's open and close on that
 * thread (so for a device backend the scratch buffer lives on the rank's
 * device).
 *
 * Ownership: comm_loop_group_new's caller owns the group and frees it with
 * comm_loop_group_free after every rank's thread has finished; that also
 * releases whatever the ranks did not free (groups split off, scratch
 * buffers, through the backend's free on the calling thread).  ops->free
 * of a communicator is not a barrier: the last member to free a group
 * split off releases it.
 */
#ifndef SKRULL_COMM_LOOP_H
#define SKRULL_COMM_LOOP_H

#include "comm.h"

struct backend_ops;
struct comm_loop_group;

/*
 * A group of size ranks (1 .. 65536) whose buffers live in mem's memory,
 * each wait bounded by timeout seconds (< 0: no bound; 0 is refused).
 * SK_ERR_ARG on a bad size, timeout or mem, SK_ERR_NOMEM.
 */
int comm_loop_group_new(int size, const struct backend_ops *mem,
    double timeout, struct comm_loop_group **out);

/* Fill *out with rank's "world" communicator of g (world rank = rank);
 * SK_ERR_RANGE when rank is outside 0 .. size - 1. */
int comm_loop_join(struct comm_loop_group *g, int rank, struct comm *out);

/* Mark g failed because of rank (a rank of g's world): every collective of
 * g and its split groups now fails with SK_ERR_IO, waiting ranks at once.
 * A second poisoning keeps the first rank's name. */
void comm_loop_poison(struct comm_loop_group *g, int rank);

/* Release g and everything made from it (NULL-safe); no rank may use it
 * any more. */
void comm_loop_group_free(struct comm_loop_group *g);

/* The loopback ops table ("loop"). */
extern const struct comm_ops comm_loop_ops;

#endif
