/*
 * ranks: run the ranks of one process as threads.  A loopback or NCCL
 * world of n ranks in one process needs one host thread per rank (each
 * blocks in its collectives until the others arrive); ranks_run starts
 * them, waits for all, and hands the caller the message of the rank that
 * failed first, which err.h keeps per thread and would otherwise be lost
 * with the thread.
 *
 * Threads: fn(rank, arg) runs on a thread of its own for every rank
 * 0 .. n - 1 and must be safe to run concurrently with itself; the
 * executor (exec.h, xformer.h, the CPU backend) is.  The caller keeps arg
 * alive until ranks_run returns.
 */
#ifndef SKRULL_RANKS_H
#define SKRULL_RANKS_H

/*
 * Call fn(rank, arg) on n threads (1 .. 65536) and wait for all of them.
 * When a rank returns an error, stop(rank, arg) (NULL: nothing) is called
 * at once, on that thread, for the first such rank only: it should make
 * the others fail instead of waiting for it (comm_loop_poison).  Returns
 * SK_OK when every rank succeeded; else the first failure's code, with
 * its message (as that rank's err_msg() had it) recorded on the calling
 * thread and its rank in *failed (NULL: not wanted; -1 when all
 * succeeded).  A thread that cannot be started counts as a failure of its
 * rank (SK_ERR_NOMEM).
 */
int ranks_run(int n, int (*fn)(int rank, void *arg),
    void (*stop)(int rank, void *arg), void *arg, int *failed);

#endif
