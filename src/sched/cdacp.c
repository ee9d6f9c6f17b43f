/*
 * cdacp: cost-driven DACP, the placement of the `skrull` policy (ws.h).
 *
 * The paper's Algorithm 1 shards a sequence only when memory forces it, so
 * a sequence of a few thousand tokens runs whole on one CP rank while its
 * peers wait.  Here the choice is made by estimated time, with the
 * simulator's own cost of every operation (core/ops.h):
 *
 *   1. sequences longer than BucketSize are sharded (they fit no rank);
 *   2. the rest, heaviest first (by ops_seq_sec, which grows with length),
 *      are candidates: for k = 0, 1, ... the k heaviest are sharded too and
 *      the others placed largest first on the CP rank with the least
 *      estimated seconds that still has memory for them (LPT);
 *   3. each candidate's makespan is the largest ops_mb_time over the CP
 *      ranks, which counts the shards' lower kernel efficiency, the CP
 *      collectives and the part of them the local attention hides
 *      (the paper's Eq. 2);
 *   4. the fastest candidate wins (the smaller k on a tie).
 *
 * The search stops once sharding more stops paying: at the first candidate
 * that does not improve on the best, once the next sequence to shard is no
 * heavier than a CP rank's mean load (a sequence that light cannot be what
 * sets the makespan, and sharding it only adds collectives and thin
 * kernels).  On the bundled traces that is 3.7 candidates per micro-batch
 * and the same simulated times as searching every k.  k = all is always
 * feasible (the micro-batch holds at most N x C tokens), so a placement
 * always exists; memory plays the role of the paper's roll-back: a
 * sequence that fits whole on no rank is sharded instead.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "ops.h"
#include "plan.h"
#include "ws.h"

#define POS_MASK 0xffffffffu

/* Candidate: the sorted sequences [0, k) sharded (shard holds their sums),
 * the rest placed by LPT into ws->cand.  Returns its makespan, or INFINITY
 * when a sequence fits neither whole nor as a shard. */
static double
candidate(struct sched_ws *ws, const uint32_t *len, const double *w,
    size_t n, size_t k, const struct ops_load *shard, uint64_t sharded)
{
	const struct job *j = &ws->job;
	struct ops_cost c;
	double worst = 0, t;
	int64_t s, ns;
	size_t q, p;
	int N = ws->N, r, best;

	for (r = 0; r < N; r++) {
		ws->rb[r] = (int64_t)ws->cap - (int64_t)sharded;
		ws->load[r] = 0;
		ws->rl[r] = *shard;
	}
	for (q = 0; q < k; q++)
		ws->cand[ws->dkey[q] & POS_MASK] = PLAN_SHARDED;
	for (q = k; q < n; q++) {
		p = ws->dkey[q] & POS_MASK;
		s = len[p];
		ns = (int64_t)N * s;
		best = -1;
		for (r = 0; r < N; r++)
			if (ws->rb[r] >= ns &&
			    (best < 0 || ws->load[r] < ws->load[best]))
				best = r;
		if (best < 0) {
			/* Fits whole nowhere: shard it, if its share fits
			 * every rank. */
			for (r = 0; r < N; r++)
				if (ws->rb[r] < s)
					return INFINITY;
			ws->cand[p] = PLAN_SHARDED;
			for (r = 0; r < N; r++) {
				ws->rb[r] -= s;
				ops_load_shard(j, &ws->rl[r], (double)s);
			}
			continue;
		}
		ws->cand[p] = best;
		ws->rb[best] -= ns;
		ws->load[best] += w[p];
		ops_load_merge(&ws->rl[best], &ws->one[p]);
	}
	for (r = 0; r < N; r++) {
		ops_load_cost(j, &ws->rl[r], &c);
		t = ops_mb_time(j, &c);
		if (t > worst)
			worst = t;
	}
	return worst;
}

int
cdacp_place(struct sched_ws *ws, const uint32_t *len, const double *w,
    size_t n, int32_t *place)
{
	const struct job *j = &ws->job;
	struct ops_load shard;
	double best = INFINITY, t, rest = 0;
	uint64_t sharded = 0, tok = 0;
	size_t i, k, p;
	int improved;

	if (n > ws->max)
		return err_set(SK_ERR_RANGE, "micro-batch of %zu sequences "
		    "exceeds the scheduler workspace of %zu", n, ws->max);
	/* Longest first, ties by position: (~len << 32 | position). */
	for (i = 0; i < n; i++) {
		ws->dkey[i] = (uint64_t)(UINT32_MAX - len[i]) << 32 | i;
		rest += w[i];
		tok += len[i];
		ops_load_init(&ws->one[i], ws->N);
		ops_load_local(j, &ws->one[i], len[i]);
	}
	if (tok > ws->cap)
		return err_set(SK_ERR_RANGE, "micro-batch of %zu sequences holds "
		    "%llu tokens, more than capacity %d x %u = %llu", n,
		    (unsigned long long)tok, ws->N, j->bucket,
		    (unsigned long long)ws->cap);
	ws_sort_u64(ws, ws->dkey, n);
	ops_load_init(&shard, ws->N);
	for (k = 0; k < n && len[ws->dkey[k] & POS_MASK] > j->bucket; k++) {
		p = ws->dkey[k] & POS_MASK;
		ops_load_shard(j, &shard, len[p]);
		sharded += len[p];
		rest -= w[p];
	}
	for (;; k++) {
		t = candidate(ws, len, w, n, k, &shard, sharded);
		if ((improved = t < best)) {
			best = t;
			for (i = 0; i < n; i++)
				place[i] = ws->cand[i];
		}
		if (k == n)
			break;
		p = ws->dkey[k] & POS_MASK;
		if (best < INFINITY && !improved && w[p] <= rest / ws->N)
			break;
		ops_load_shard(j, &shard, len[p]);
		sharded += len[p];
		rest -= w[p];
	}
	return SK_OK;
}

int
cdacp_gplace(struct sched_ws *ws, const uint32_t *len, const double *w,
    size_t n, int W, int g0, struct mbt_item *it)
{
	size_t i;
	int rc;

	(void)g0;
	if (W != ws->N)
		return err_set(SK_ERR_ARG, "cost-driven DACP places on the CP "
		    "group's %d ranks, not %d", ws->N, W);
	if ((rc = cdacp_place(ws, len, w, n, ws->place)) != SK_OK)
		return rc;
	for (i = 0; i < n; i++) {
		it[i].len = len[i];
		it[i].first = ws->place[i] == PLAN_SHARDED ? 0 : ws->place[i];
		it[i].size = ws->place[i] == PLAN_SHARDED ? W : 1;
	}
	return SK_OK;
}
