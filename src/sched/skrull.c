/*
 * skrull: the group-aware placement of the `skrull` policy (ws.h).
 *
 * DACP gives a sequence two choices, whole on one rank or sharded over
 * all N; a sequence of the middle pays for both ends: sharded N ways its
 * attention runs on thin shards at poor efficiency behind an N-way
 * all-gather, whole it leaves its rank the last to finish.  A group of d
 * ranks in between (an aligned block, skrull-plan(5)) is often faster.
 * Three candidates are built and the one mbtime_eval finds fastest wins:
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
 *      unless memory leaves it no rank;
 *   3. even blocks: the k longest sequences over all W ranks, the others
 *      spread over the W / d disjoint blocks of one size d, one shard
 *      group each, for every divisor d and (for a few sequences) every k;
 *      the fastest of the family.  Collectives are paid per group, not
 *      per sequence: where all must be sharded and latency floors count,
 *      groups of 2 or 4 that each hold several sequences beat the wider
 *      groups that candidates 1 and 2, placing one sequence at a time,
 *      choose.
 *
 * A micro-batch of a few sequences (at most SKRULL_LS_MAX) has each
 * candidate improved by a local search under the same estimate before
 * they are compared: single moves, pairs moved together (into one block
 * or two of one size), whole groups moved, and exchanges.
 *
 * No allocation: the workspace's citems, bitems, dkey, qload and qmem.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mbtime.h"
#include "ops.h"
#include "ws.h"

#define POS_MASK 0xffffffffu

double
skrull_member_sec(const struct sched_ws *ws, double S, int d, int g)
{
	const struct job *j = &ws->job;
	double ag, rs;

	if (d < 2)
		return ops_seq_sec(&ws->rate, S, 1);
	ops_group_time(j, S, d, ops_spans_nodes(j, g, d), &ag, &rs);
	return ops_seq_sec(&ws->rate, S, d) / d + j->model.layers * (ag + rs);
}

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
				c = skrull_member_sec(ws, S, d, g0 + f);
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

/* Candidate 2 into ws->citems: INFINITY if a sequence fits nowhere. */
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
		c = skrull_member_sec(ws, len[p], bd, g0 + bf);
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

/*
 * Candidate 3 into ws->bitems: the k longest sequences sharded over all W
 * ranks, each of the others over one of the W / d aligned blocks of size
 * d, longest first onto the block with the least seconds so far whose
 * memory holds it; INFINITY if one fits none.  Each block is one shard
 * group, so its sequences share its collectives: where every sequence
 * must be sharded (a small BucketSize) and each collective's latency
 * floor counts, disjoint groups of 2 or 4 beat one group of all W, which
 * candidates 1 and 2, placing one sequence at a time, do not reach.
 */
static double
block_even(struct sched_ws *ws, const uint32_t *len, size_t n, int W, int g0,
    int d, size_t k)
{
	const struct job *j = &ws->job;
	uint64_t cap = (uint64_t)W * j->bucket, share, all = 0;
	double least;
	size_t q, p;
	int b, best, nb = W / d;

	for (b = 0; b < nb; b++) {
		ws->qload[b] = 0;
		ws->qmem[b] = 0;
	}
	for (q = 0; q < n; q++) {
		p = ws->dkey[q] & POS_MASK;
		ws->bitems[p].len = len[p];
		if (q < k) {
			all += len[p];
			ws->bitems[p].first = 0;
			ws->bitems[p].size = W;
			continue;
		}
		share = (uint64_t)nb * len[p];
		best = -1;
		least = INFINITY;
		for (b = 0; b < nb; b++)
			if (all + ws->qmem[b] + share <= cap &&
			    ws->qload[b] < least) {
				least = ws->qload[b];
				best = b;
			}
		if (best < 0)
			return INFINITY;
		ws->qload[best] += ops_seq_sec(&ws->rate, len[p], d) / d;
		ws->qmem[best] += share;
		ws->bitems[p].first = best * d;
		ws->bitems[p].size = d;
	}
	return all > cap ? INFINITY :
	    mbtime_eval(&ws->mbt, j, W, g0, ws->bitems, n, NULL);
}

/* Passes of skrull_improve at most. */
#define LS_ROUNDS 4

/* Whether the placement it, just moved, fits memory and beats *t by more
 * than rounding: then *t gets its time. */
static int
gain(struct sched_ws *ws, size_t n, int W, int g0, const struct mbt_item *it,
    double *t)
{
	double u;

	if (!mbtime_fits(&ws->job, W, it, n, ws->qmem))
		return 0;
	u = mbtime_eval(&ws->mbt, &ws->job, W, g0, it, n, NULL);
	if (!(u < *t * (1 - 1e-12)))
		return 0;
	*t = u;
	return 1;
}

/*
 * One pass of moves over every block (f, d), each kept when it gains:
 * sequence i alone; sequences i and k onto blocks of size d, the same
 * (a single move would pay a block's collectives for one sequence, which
 * the pair shares) or another (two halves of a group split at once, where
 * either half alone would leave the group's collectives and add its
 * own); every sequence of i's group together; and i and k exchanged.
 */
static int
ls_pass(struct sched_ws *ws, size_t n, int W, int g0, struct mbt_item *it,
    double *t)
{
	struct mbt_item a, b;
	uint64_t was;  /* members of i's group moved */
	size_t i, k, q;
	int d, e, f, moved = 0, grp;

	for (i = 0; i < n; i++) {
		for (d = 1; d <= W; d++) {
			if (W % d != 0)
				continue;
			for (f = 0; f < W; f += d) {
				a = it[i];
				if (f == a.first && d == a.size)
					continue;
				it[i].first = f;
				it[i].size = d;
				if (gain(ws, n, W, g0, it, t)) {
					moved = 1;
					continue;
				}
				it[i] = a;
				for (k = i + 1; d >= 2 && k < n; k++) {
					b = it[k];
					it[i].first = f;
					it[i].size = d;
					it[k].size = d;
					for (e = 0; e < W; e += d) {
						it[k].first = e;
						if (gain(ws, n, W, g0, it, t))
							break;
					}
					if (e < W) {
						moved = 1;
						break;
					}
					it[i] = a;
					it[k] = b;
				}
				if (a.size < 2 || (it[i].first == f &&
				    it[i].size == d))
					continue;
				/* i's group as one */
				was = 0;
				for (q = 0, grp = 0; q < n; q++)
					if (it[q].first == a.first &&
					    it[q].size == a.size) {
						it[q].first = f;
						it[q].size = d;
						was |= (uint64_t)1 << q;
						grp++;
					}
				if (grp > 1 && gain(ws, n, W, g0, it, t)) {
					moved = 1;
					continue;
				}
				for (q = 0; q < n; q++)
					if (was >> q & 1) {
						it[q].first = a.first;
						it[q].size = a.size;
					}
			}
		}
		for (k = i + 1; k < n; k++) {
			a = it[i];
			b = it[k];
			if (a.first == b.first && a.size == b.size)
				continue;
			it[i].first = b.first;
			it[i].size = b.size;
			it[k].first = a.first;
			it[k].size = a.size;
			if (gain(ws, n, W, g0, it, t))
				moved = 1;
			else {
				it[i] = a;
				it[k] = b;
			}
		}
	}
	return moved;
}

double
skrull_improve(struct sched_ws *ws, size_t n, int W, int g0,
    struct mbt_item *it, double t)
{
	int round;

	for (round = 0; round < LS_ROUNDS && ls_pass(ws, n, W, g0, it, &t);
	    round++)
		;
	return t;
}

int
skrull_gplace(struct sched_ws *ws, const uint32_t *len, const double *w,
    size_t n, int W, int g0, struct mbt_item *it)
{
	double a = INFINITY, b, e;
	size_t i, k;
	int d, rc = SK_ERR_RANGE;

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
	/* block_lpt sorted dkey longest first; the family's fastest is
	 * improved, each member would cost a local search */
	e = INFINITY;
	for (d = 2; d < W; d++)
		for (k = 0; W % d == 0 && k < (n <= SKRULL_LS_MAX ? n : 1);
		    k++) {
			if ((b = block_even(ws, len, n, W, g0, d, k)) >= e)
				continue;
			e = b;
			for (i = 0; i < n; i++)
				ws->citems[i] = ws->bitems[i];
		}
	if (e < INFINITY && n <= SKRULL_LS_MAX)
		e = skrull_improve(ws, n, W, g0, ws->citems, e);
	if (e < a) {
		for (i = 0; i < n; i++)
			it[i] = ws->citems[i];
		a = e;
	}
	if (a < INFINITY)
		return SK_OK;
	return rc == SK_OK ? err_set(SK_ERR_RANGE, "micro-batch of %zu "
	    "sequences: no placement on %d ranks fits BucketSize %u", n, W,
	    ws->job.bucket) : rc;
}
