/*
 * skrull: the group-aware placement of the `skrull` policy (ws.h).
 *
 * DACP gives a sequence two choices, whole on one rank or sharded over
 * all N; a sequence of the middle pays for both ends: sharded N ways its
 * attention runs on thin shards at poor efficiency behind an N-way
 * all-gather, whole it leaves its rank the last to finish.  A group of d
 * ranks in between (an aligned block, skrull-plan(5)) is often faster.
 * Two candidates are built and the one mbtime_eval finds faster wins:
 *
 *   1. cost-driven DACP (cdacp.c): shards over all W ranks, chosen by
 *      the same estimate; the two-choice form, so the result is never
 *      slower by the estimate than skrull-cp's;
 *   2. block LPT: sequences, longest first, each onto the size d (1 or
 *      a divisor of W whose share fits memory) and aligned block whose
 *      busiest member would finish first with it: its seconds over d
 *      ranks, ops_seq_sec(S, d) / d, plus the group's collectives
 *      (ops_group_time, every layer, not counting what attention hides,
 *      so a group must earn its communication), the smaller d on a tie;
 *      a light sequence (no heavier than a rank's mean load) goes whole
 *      unless memory leaves it no rank.
 *
 * A micro-batch of a few sequences (at most SKRULL_LS_MAX) has each
 * candidate improved by a local search of single moves under the same
 * estimate before they are compared.
 *
 * No allocation: the workspace's items, citems, qload and qmem.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mbtime.h"
#include "ops.h"
#include "ws.h"

#define POS_MASK 0xffffffffu

/* Per-member seconds of a sequence of S tokens in a group of d ranks
 * starting at GPU g: its share of the work and the group's collectives. */
static double
member_sec(const struct sched_ws *ws, double S, int d, int g)
{
	const struct job *j = &ws->job;
	double ag, rs;

	if (d < 2)
		return ops_seq_sec(&ws->rate, S, 1);
	ops_group_time(j, S, d, ops_spans_nodes(j, g, d), &ag, &rs);
	return ops_seq_sec(&ws->rate, S, d) / d + j->model.layers * (ag + rs);
}

/* Candidate 2 into ws->citems: INFINITY if a sequence fits nowhere. */
/*
 * The size d (1 or a divisor of W; only 1 when whole_only) and aligned
 * block [bf, bf + d) on which a sequence of S tokens would finish first,
 * given the ranks' loads and memory so far (ws->qload, qmem).  *bd = -1
 * when memory leaves it none.
 */
static void
pick(struct sched_ws *ws, uint32_t S, int W, int g0, int whole_only,
    int *bf, int *bd)
{
	const struct job *j = &ws->job;
	uint64_t cap = (uint64_t)W * j->bucket, share;
	double fin, bestf = INFINITY, hi, c;
	int d, f, r, ok, sp, csp;

	*bf = *bd = -1;
	for (d = 1; d <= (whole_only ? 1 : W); d++) {
		if (W % d != 0 || (d == 1 && S > j->bucket))
			continue;
		share = (uint64_t)(W / d) * S;
		c = 0;
		csp = -1;
		for (f = 0; f < W; f += d) {
			hi = 0;
			ok = 1;
			for (r = f; r < f + d && ok; r++) {
				ok = ws->qmem[r] + share <= cap;
				hi = fmax(hi, ws->qload[r]);
			}
			if (!ok)
				continue;
			/* the same for every block on the same nodes */
			sp = ops_spans_nodes(j, g0 + f, d);
			if (sp != csp) {
				c = member_sec(ws, S, d, g0 + f);
				csp = sp;
			}
			fin = hi + c;
			if (fin < bestf) {
				bestf = fin;
				*bf = f;
				*bd = d;
			}
		}
	}
}

static double
block_lpt(struct sched_ws *ws, const uint32_t *len, const double *w,
    size_t n, int W, int g0)
{
	const struct job *j = &ws->job;
	double c, mean = 0;
	size_t q, p;
	int r, bf, bd, light;
	for (r = 0; r < W; r++) {
		ws->qload[r] = 0;
		ws->qmem[r] = 0;
	}
	for (q = 0; q < n; q++) {
		ws->dkey[q] = (uint64_t)(UINT32_MAX - len[q]) << 32 | q;
		mean += w[q] / W;
	}
	ws_sort_u64(ws, ws->dkey, n);
	for (q = 0; q < n; q++) {
		p = ws->dkey[q] & POS_MASK;
		/* A sequence no heavier than a rank's mean load cannot set the
		 * makespan: it goes whole (cdacp.c's stopping rule), unless
		 * memory leaves it no rank: then groups are tried too. */
		light = w[p] <= mean && len[p] <= j->bucket;
		pick(ws, len[p], W, g0, light, &bf, &bd);
		if (bd < 0 && light)
			pick(ws, len[p], W, g0, 0, &bf, &bd);
		if (bd < 0)
			return INFINITY;
		c = member_sec(ws, len[p], bd, g0 + bf);
		for (r = bf; r < bf + bd; r++) {
			ws->qload[r] += c;
			ws->qmem[r] += (uint64_t)(W / bd) * len[p];
		}
		ws->citems[p].len = len[p];
		ws->citems[p].first = bf;
		ws->citems[p].size = bd;
	}
	return mbtime_eval(&ws->mbt, j, W, g0, ws->citems, n, NULL);
}

/* Passes of skrull_improve at most. */
#define LS_ROUNDS 4

double
skrull_improve(struct sched_ws *ws, size_t n, int W, int g0,
    struct mbt_item *it, double t)
{
	const struct job *j = &ws->job;
	struct mbt_item was;
	double u;
	size_t i;
	int round, d, f, moved = 1;

	for (round = 0; round < LS_ROUNDS && moved; round++) {
		moved = 0;
		for (i = 0; i < n; i++) {
			was = it[i];
			for (d = 1; d <= W; d++) {
				if (W % d != 0)
					continue;
				for (f = 0; f < W; f += d) {
					if (f == it[i].first && d == it[i].size)
						continue;
					it[i].first = f;
					it[i].size = d;
					if (mbtime_fits(j, W, it, n, ws->qmem) &&
					    (u = mbtime_eval(&ws->mbt, j, W, g0,
					    it, n, NULL)) < t * (1 - 1e-12)) {
						t = u;
						was = it[i];
						moved = 1;
					}
					it[i] = was;
				}
			}
		}
	}
	return t;
}

int
skrull_gplace(struct sched_ws *ws, const uint32_t *len, const double *w,
    size_t n, int W, int g0, struct mbt_item *it)
{
	double a = INFINITY, b;
	size_t i;
	int rc = SK_ERR_RANGE;

	if (W == ws->N) {
		if ((rc = cdacp_gplace(ws, len, w, n, W, g0, it)) != SK_OK)
			return rc;
		a = mbtime_eval(&ws->mbt, &ws->job, W, g0, it, n, NULL);
		if (n <= SKRULL_LS_MAX)
			a = skrull_improve(ws, n, W, g0, it, a);
	}
	b = block_lpt(ws, len, w, n, W, g0);
	if (b < INFINITY && n <= SKRULL_LS_MAX)
		b = skrull_improve(ws, n, W, g0, ws->citems, b);
	if (b < a) {
		for (i = 0; i < n; i++)
			it[i] = ws->citems[i];
		a = b;
	}
	if (a < INFINITY)
		return SK_OK;
	return rc == SK_OK ? err_set(SK_ERR_RANGE, "micro-batch of %zu "
	    "sequences: no placement on %d ranks fits BucketSize %u", n, W,
	    ws->job.bucket) : rc;
}
