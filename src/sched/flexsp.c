/*
 * flexsp: the `flexsp` policy, FlexSP (Wang et al., arXiv 2412.01523) on
 * skrull's model.
 *
 * FlexSP gives each step heterogeneous sequence-parallel groups: the GPUs
 * of a micro-batch are split into groups of different sizes and every
 * sequence goes to one group, long ones to large groups and short ones to
 * small ones, so that no GPU shards a short sequence it could run alone
 * and no long one is cut thinner than its memory needs; a MILP chooses the
 * groups and the assignment that minimise the slowest group's time.  Here
 * a greedy stands in for the MILP:
 *
 *   - a sequence's smallest group is the smallest divisor of cp whose
 *     ranks hold it, ceil(S / bucket) rounded up (peers_gmin); its weight,
 *     ops_seq_sec over that group;
 *   - the global batch is balanced over the DP ranks by weight (LPT:
 *     heaviest first to the least-loaded rank), and each rank's samples
 *     fill the fewest micro-batches their tokens allow (bucket x cp each),
 *     heaviest first into the lightest micro-batch with room;
 *   - in each micro-batch the sequences, heaviest first, each take an
 *     aligned block of its ranks of their smallest group's size or larger:
 *     for each size the block whose slowest rank is least (and has memory),
 *     and of the sizes the one whose estimated makespan is least, the
 *     smaller on a tie; so a group grows beyond what memory needs only
 *     when that lowers the estimate.  The estimate counts what is still to
 *     come, so that the first sequence does not take every rank because
 *     they are all idle: the larger of the slowest rank (ops_mb_time of
 *     its sequences, its shares and one all-gather and reduce-scatter per
 *     group it is in, as mbtime.h times them), the mean over the ranks
 *     once the remaining sequences' weights are added, and the least
 *     loaded rank plus the next sequence's share (and a micro-batch's
 *     launches if that rank is idle);
 *   - should memory leave a sequence no block, the placement is tried
 *     again with the heaviest sequence, then the two heaviest, ... sharded
 *     over all cp ranks first, which always fits.
 *
 * Left out: the MILP itself; FlexSP's groups may take GPUs of the whole
 * cluster (here they stay inside one DP rank's CP group: `hdp` spans DP
 * ranks); its groups partition the GPUs where here blocks may nest (a rank
 * can hold a whole sequence beside its shares of groups); and its
 * Ulysses-style all-to-all, where skrull's CP all-gathers the keys and
 * values (the collectives are timed as that).
 */
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "ops.h"
#include "peers.h"
#include "plan.h"
#include "ws.h"

#define POS_MASK 0xffffffffu

/* LPT over the DP ranks: the samples heaviest first (ws->key) each to the
 * rank with the least weight, the lowest on ties (ws->bin, binload). */
static void
balance(struct sched_ws *ws, size_t n)
{
	size_t q, i;
	int d, t;

	for (d = 0; d < ws->dp; d++)
		ws->binload[d] = 0;
	for (q = 0; q < n; q++) {
		i = ws->key[q] & POS_MASK;
		for (t = 0, d = 1; d < ws->dp; d++)
			if (ws->binload[d] < ws->binload[t])
				t = d;
		ws->bin[i] = t;
		ws->binload[t] += ws->w[i];
	}
}


/* Seconds of rank q (GPU g0 + q) whose sequences and shares are *base,
 * with one collective per block holding it that has sharded keys, block
 * sb's keys counted with add more. */
static double
rank_sec(const struct sched_ws *ws, int g0, int q, const struct ops_load *base,
    int sb, double add)
{
	const struct peers *p = ws->peers;
	const struct job *j = &ws->job;
	struct ops_load l = *base;
	struct ops_cost c;
	double keys;
	int k, s, b;

	/* sizes[0] is 1: a whole sequence has no collective. */
	for (k = 1; k < p->nsizes; k++) {
		s = p->sizes[k];
		b = p->boff[k] + q / s;
		keys = p->bkeys[b] + (b == sb ? add : 0);
		if (keys > 0)
			ops_load_coll(j, &l, keys, s,
			    ops_spans_nodes(j, g0 + q / s * s, s));
	}
	ops_load_cost(j, &l, &c);
	return ops_mb_time(j, &c);
}

/* The ranks' new seconds (p->tq over the block [f, f + s), what
 * rank_sec gives once the sequence is added) with a sequence
 * of S tokens in that block; returns the estimated makespan described at
 * the top, rest the weight still to place and next the next sequence's
 * share. */
static double
score(struct sched_ws *ws, int g0, double S, int k, int f, double rest,
    double next)
{
	struct peers *p = ws->peers;
	struct ops_load l;
	double most = 0, least = -1, sum = 0, t, lim;
	int q, W = ws->N, s = p->sizes[k];
	int sb = s > 1 ? p->boff[k] + f / s : -1;

	for (q = f; q < f + s; q++) {
		l = ws->rl[q];
		if (s == 1)
			ops_load_local(&ws->job, &l, S);
		else
			ops_load_shard_d(&ws->job, &l, S, s);
		p->tq[q] = rank_sec(ws, g0, q, &l, sb, S);
	}
	for (q = 0; q < W; q++) {
		t = q >= f && q < f + s ? p->tq[q] : ws->load[q];
		sum += t;
		if (t > most)
			most = t;
		if (least < 0 || t < least)
			least = t;
	}
	lim = (sum + rest) / W;
	if (lim > most)
		most = lim;
	lim = least + next + (least > 0 ? 0 : ws->rate.launch_sec);
	return lim > most ? lim : most;
}

/*
 * Place the micro-batch arr[a .. a + k) (heaviest first) of DP rank at
 * GPU g0, its first `force` sequences over all cp ranks: p->first and
 * p->size of each.  SK_ERR_RANGE when memory leaves one no block.
 */
static int
place(struct sched_ws *ws, const uint32_t *len, size_t a, size_t k, int g0,
    size_t force)
{
	struct peers *p = ws->peers;
	const struct job *j = &ws->job;
	int64_t cap = (int64_t)ws->N * j->bucket, need;
	double rest = 0, next, sc, best = 0, pre, bpre = 0, now, sum, lb;
	size_t x;
	uint32_t i, nx;
	int W = ws->N, q, kk, lo, s, f, bf, bk, bs, ok;

	for (q = 0; q < W; q++) {
		ops_load_init(&ws->rl[q], W);
		ws->load[q] = 0;
		ws->rb[q] = cap;
	}
	for (q = 0; q < p->nblocks; q++)
		p->bkeys[q] = 0;
	for (x = 0; x < k; x++)
		rest += ws->w[ws->arr[a + x]];
	for (x = 0; x < k; x++) {
		i = ws->arr[a + x];
		rest -= ws->w[i];
		next = 0;
		if (x + 1 < k) {
			nx = ws->arr[a + x + 1];
			next = ws->w[nx] / p->sizes[p->gmin[nx]];
		}
		lo = x < force ? p->nsizes - 1 : p->gmin[i];
		bk = -1;
		bs = 0;
		/* Pruning: no placement lowers a rank's seconds, and the s
		 * ranks of a group add about the sequence's GPU-seconds over
		 * s to their sum (at least that, but for the communication a
		 * whole sequence's attention newly hides), so a size-s score
		 * is not below max(now, (sum + rest + ops_seq_sec(S, s)) /
		 * W).  That grows with s; from the first size whose bound
		 * does not beat the best so far (a larger size must be
		 * strictly better), none is timed. */
		for (q = 0, now = 0, sum = 0; q < W; q++) {
			sum += ws->load[q];
			if (ws->load[q] > now)
				now = ws->load[q];
		}
		for (kk = lo; kk < p->nsizes; kk++) {
			s = p->sizes[kk];
			lb = (sum + rest + ops_seq_sec(&ws->rate, len[i], s)) / W;
			if (bk >= 0 && (lb > now ? lb : now) >= best)
				break;
			need = (s == 1 ? W : W / s) * (int64_t)len[i];
			bf = -1;
			for (f = 0; f < W; f += s) {
				ok = 1;
				pre = 0;
				for (q = f; q < f + s && ok; q++) {
					ok = ws->rb[q] >= need;
					if (ws->load[q] > pre)
						pre = ws->load[q];
				}
				if (ok && (bf < 0 || pre < bpre)) {
					bf = f;
					bpre = pre;
				}
			}
			if (bf < 0)
				continue;
			sc = score(ws, g0, len[i], kk, bf, rest, next);
			if (bk < 0 || sc < best) {
				best = sc;
				bk = kk;
				bs = bf;
				for (q = bf; q < bf + s; q++)
					p->gpu[q] = p->tq[q];
			}
		}
		if (bk < 0)
			return SK_ERR_RANGE;
		s = p->sizes[bk];
		need = (s == 1 ? W : W / s) * (int64_t)len[i];
		if (s > 1)
			p->bkeys[p->boff[bk] + bs / s] += len[i];
		for (q = bs; q < bs + s; q++) {
			if (s == 1)
				ops_load_local(j, &ws->rl[q], len[i]);
			else
				ops_load_shard_d(j, &ws->rl[q], len[i], s);
			ws->rb[q] -= need;
			ws->load[q] = p->gpu[q];
		}
		p->first[i] = bs;
		p->size[i] = s;
	}
	return SK_OK;
}

int
flexsp_place_mb(struct sched_ws *ws, const uint32_t *len, size_t a,
    size_t k, int g0, struct mbt_item *it)
{
	struct peers *p = ws->peers;
	size_t x, force;
	uint32_t i;

	for (x = a; x < a + k; x++) {
		i = ws->arr[x];
		if ((p->gmin[i] = peers_gmin(p, len[i], ws->job.bucket)) < 0)
			return err_set(SK_ERR_RANGE, "a sequence of %u tokens is "
			    "longer than its CP group holds", len[i]);
	}
	for (force = 0; place(ws, len, a, k, g0, force) != SK_OK; force++)
		if (force == k)
			return err_set(SK_ERR_RANGE, "micro-batch of %zu "
			    "sequences: no placement fits", k);
	for (x = a; x < a + k; x++) {
		i = ws->arr[x];
		it[x - a].len = len[i];
		it[x - a].first = p->first[i];
		it[x - a].size = p->size[i];
	}
	return SK_OK;
}

static int
run(struct sched_ws *ws, const uint32_t *idx, const uint32_t *len, size_t n,
    struct plan *out)
{
	struct peers *p = ws->peers;
	double wmax = 0;
	size_t i, c, m, q, a, k, force, x, nmb = 0;
	uint64_t tok;
	int d;

	if (n > ws->max)
		return err_set(SK_ERR_RANGE, "global batch of %zu samples "
		    "exceeds the scheduler workspace of %zu", n, ws->max);
	for (i = 0; i < n; i++) {
		if ((p->gmin[i] = peers_gmin(p, len[i], ws->job.bucket)) < 0)
			return err_set(SK_ERR_RANGE, "sample %u (%u tokens) is "
			    "longer than its CP group holds, %d x %u tokens",
			    idx[i], len[i], ws->N, ws->job.bucket);
		ws->w[i] = ops_seq_sec(&ws->rate, len[i],
		    p->sizes[p->gmin[i]]);
		if (ws->w[i] > wmax)
			wmax = ws->w[i];
	}
	peers_heavy_first(ws, ws->w, n, wmax);
	balance(ws, n);
	for (d = 0; d < ws->dp; d++) {
		if ((c = ws_rank_samples(ws, len, n, d, &tok)) == 0)
			continue;
		for (m = ws_min_mbs(ws, tok); ws_fill(ws, len, c, m) != SK_OK;
		    m++)
			;
		for (q = 0; q < m; q++) {
			a = ws->mbfirst[q];
			k = ws->mbfirst[q + 1] - a;
			/* force = k shards all over cp: the micro-batch holds
			 * at most bucket x cp tokens, so that fits. */
			for (force = 0; place(ws, len, a, k, d * ws->N,
			    force) != SK_OK; force++)
				;
			for (x = a; x < a + k; x++)
				p->mb[ws->arr[x]] = (uint32_t)nmb;
			p->owner[nmb] = d;
			p->span[nmb++] = 1;
		}
	}
	return peers_push(ws, idx, len, n, nmb, out);
}

const struct sched_policy flexsp_policy = {
	.name = "flexsp",
	.summary = "FlexSP: shard groups of several sizes in each micro-batch, "
	    "the smallest memory allows or larger when faster (greedy)",
	.batching = BATCHING_ORDER,
	.reach = REACH_CP,
	.run = run
};
