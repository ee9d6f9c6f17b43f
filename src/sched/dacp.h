/*
 * dacp: Distributed-aware Context Parallelism (arXiv 2505.19609, Algorithm 1
 * with the corrected roll-back accounting), the placement of one
 * micro-batch's sequences on a CP group: each sequence is sharded over all
 * N ranks or kept whole on one.  Also the `dacp` policy (DeepSpeed's
 * micro-batches, DACP inside each).
 *
 * Memory is in tokens scaled by N (see ws.h).  Nothing allocates: the
 * workspace holds every array.
 */
#ifndef SKRULL_DACP_H
#define SKRULL_DACP_H

#include <stddef.h>
#include <stdint.h>

#include "sched.h"

/*
 * Place the k sequences len[0..k) (tokens): place[i] = PLAN_SHARDED or the
 * CP rank holding sequence i whole.  k <= the workspace's max_batch.
 * SK_ERR_RANGE when no placement fits (with roll-back on, exactly when the
 * lengths sum to more than cp x bucket).  Without roll-back
 * (params.rollback 0) a shard that does not fit is placed anyway and the
 * result may exceed the bucket: the paper's OOM.
 */
int dacp_place(struct sched_ws *ws, const uint32_t *len, size_t k,
               int32_t *place);

/* As dacp_place, with the sequences' FLOPs given (fl[i], as ws_flops
 * computes them; NULL: computed here). */
int dacp_place_flops(struct sched_ws *ws, const uint32_t *len,
                     const double *fl, size_t k, int32_t *place);

/*
 * The shared machinery of DACP and RR (rr.c).  dacp_begin resets the
 * remaining buckets (N x C each) and loads and orders the k sequences
 * (ws->dkey): by length ascending, ties by position, when sorted (DACP);
 * in input order otherwise (RR).  dacp_rollback turns the first local
 * sequence on CP rank r in that order (the shortest, when sorted) among the
 * positions before `upto` into a sharded one, with the full accounting: RB[r] +=
 * N x S - S, RB[j] -= S elsewhere, and with fl, L[r] += F/N - F, L[j] += F/N
 * elsewhere.  Returns 1, or 0 when r holds no local sequence.
 */
int dacp_begin(struct sched_ws *ws, const uint32_t *len, size_t k,
               int sorted);
int dacp_rollback(struct sched_ws *ws, const uint32_t *len, const double *fl,
                  size_t upto, int r, int32_t *place);

/* Lowest-index argmin / argmax of the remaining buckets. */
int dacp_tightest(const struct sched_ws *ws);
int dacp_roomiest(const struct sched_ws *ws);

extern const struct sched_policy dacp_policy;

#endif
