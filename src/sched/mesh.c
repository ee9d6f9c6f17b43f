/*
 * mesh: the `skrull` policy's GPU-first composition of a global batch and
 * the iteration estimate that chooses between it and the DP-first one
 * (tgds.c; ws.h).
 *
 * The DP-first composition fixes the micro-batches before it places
 * their samples, and judges each placement by its makespan, the slowest
 * rank of the micro-batch.  That is the right yardstick where shard
 * groups couple the ranks, but ranks that share no group in a
 * micro-batch run on independently (the simulator's rule, and the
 * executor's: they meet only at their groups' collectives and at the end
 * of the iteration), so only each GPU's total over the iteration
 * matters.  On traces of long samples the per-micro-batch yardstick, and
 * micro-batches filled to the memory bound, shard samples that could run
 * whole: thinner kernels and collectives that a balance of totals never
 * needed.  The GPU-first composition works the other way round:
 *
 *   1. each sample gets the smallest shard group its memory allows
 *      (whole up to BucketSize), or a larger one where even that leaves
 *      it above a GPU's balanced share of the batch (the share its
 *      member runs must not exceed), within one CP group;
 *   2. heaviest first, each goes whole onto the least loaded GPU of the
 *      mesh, or onto the aligned block of a CP group whose busiest GPU
 *      is least (the block's GPUs all end at that GPU's load plus the
 *      share: they run it together); the spanning micro-batches of
 *      choose_spans are already on their GPUs;
 *   3. bounded moves and swaps of whole samples between the most and the
 *      least loaded GPU narrow the gap that LPT leaves;
 *   4. each DP rank's samples, groups first, into micro-batches by each
 *      rank's memory: first-fit, so that the groups sit in the first
 *      ones, where their members' clocks are still close, and the count
 *      is one that fits; then the whole samples spread again over that
 *      many, each where its rank has the most room, so that a rank's
 *      activations are spread rather than filling the first.
 *
 * Either composition is then measured by the same estimate, mesh_clock:
 * per GPU a clock that runs through its micro-batches, advanced by its
 * rank's mbtime_eval seconds; the ranks of a shard group (and of groups
 * that overlap it) run in lockstep, so they end together at the latest
 * of their starts plus the slowest of their seconds.  The iteration's
 * estimate is the latest clock.  tgds_compose keeps the DP-first
 * composition unless the GPU-first one is estimated faster.  Left out of
 * the estimate: the DP gradient collectives of the last micro-batch,
 * which a shard group there waits for at every layer (the simulator's
 * rule: they share its communication stream), so that it may end after
 * the GPUs that start their last micro-batch latest.
 *
 * No allocation: the workspace's gload, htree, clk, rsec, reach, mcnt,
 * msize, mgpu, mmb, mroom, mw and the m* arrays of the second
 * composition.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "mbtime.h"
#include "ops.h"
#include "peers.h"
#include "ws.h"

#define POS_MASK 0xffffffffu
/* Improving moves after LPT, and the gap within the time model's error,
 * as in tgds.c's DP balance. */
#define MOVES 16
#define BALANCED 1e-3

void
mesh_clock(const struct mbt_item *it, size_t k, const double *rsec, int W,
    int32_t *reach, double *clk)
{
	double start, most;
	size_t i;
	int q, s, e, r;

	for (q = 0; q < W; q++)
		reach[q] = q + 1;
	for (i = 0; i < k; i++)
		if (it[i].size > 1 && it[i].first + it[i].size >
		    reach[it[i].first])
			reach[it[i].first] = it[i].first + it[i].size;
	/* Overlapping blocks make one interval: sweep their union. */
	for (q = 0; q < W; q = e) {
		s = q;
		e = reach[q];
		for (r = s + 1; r < e; r++)
			if (reach[r] > e)
				e = reach[r];
		if (e == s + 1) {
			clk[s] += rsec[s];
			continue;
		}
		start = most = 0;
		for (r = s; r < e; r++) {
			start = fmax(start, clk[r]);
			most = fmax(most, rsec[r]);
		}
		for (r = s; r < e; r++)
			clk[r] = start + most;
	}
}

/*
 * Step 1: msize[i], the group of batch sample i (0 for a spanning one),
 * and mw[i], each member's seconds (given: ops_seq_sec whole, for the
 * samples up to BucketSize); returns the largest.
 */
static double
groups(struct sched_ws *ws, const uint32_t *len, size_t n)
{
	const struct peers *p = ws->peers;
	double total = 0, share, t, best, wmax = 0;
	uint32_t B = ws->job.bucket;
	size_t i;
	int k, k0, kb, G = ws->dp * ws->N, d;

	for (d = 0; d < ws->dp; d++)
		total += ws->pre[d];
	for (i = 0; i < n; i++) {
		if (ws->spanat[i] >= 0) {
			ws->msize[i] = 0;
			continue;
		}
		/* the smallest size whose ranks hold it (one exists: the
		 * batcher keeps only samples a CP group holds) */
		for (k = 0; k < p->nsizes - 1 &&
		    (uint64_t)p->sizes[k] * B < len[i]; k++)
			;
		ws->msize[i] = p->sizes[k];
		if (k > 0)
			ws->mw[i] = skrull_member_sec(ws, len[i],
			    p->sizes[k], 0);
		total += ws->mw[i] * p->sizes[k];
	}
	share = total / G;
	for (i = 0; i < n; i++) {
		if (ws->msize[i] == 0)
			continue;
		if (ws->mw[i] > share) {
			for (k0 = 0; p->sizes[k0] != ws->msize[i]; k0++)
				;
			best = ws->mw[i];
			kb = k0;
			for (k = k0 + 1; k < p->nsizes && best > share; k++)
				if ((t = skrull_member_sec(ws, len[i],
				    p->sizes[k], 0)) < best) {
					best = t;
					kb = k;
				}
			ws->msize[i] = p->sizes[kb];
			ws->mw[i] = best;
		}
		if (ws->mw[i] > wmax)
			wmax = ws->mw[i];
	}
	return wmax;
}

/*
 * The mesh's GPUs in a tournament tree on (gload, index): node x of
 * htree[1 .. 2P) holds the least loaded GPU below it (the lower index on
 * ties; -1 for none), leaf P + q GPU q (P the power of two >= G), so that
 * the least loaded GPU is htree[1] and a load's change costs log2 P
 * comparisons without branches to mispredict.
 */
static int
win(const double *gl, int a, int b)
{
	return b < 0 || (a >= 0 && gl[a] <= gl[b]) ? a : b;
}

static void
tree_fix(struct sched_ws *ws, int q)
{
	int32_t *t = ws->htree;
	int x;

	for (x = (ws->hP + q) / 2; x >= 1; x /= 2)
		t[x] = win(ws->gload, t[2 * x], t[2 * x + 1]);
}

static void
tree_build(struct sched_ws *ws)
{
	int32_t *t = ws->htree;
	int x, P = ws->hP, G = ws->dp * ws->N;

	for (x = 0; x < P; x++)
		t[P + x] = x < G ? x : -1;
	for (x = P - 1; x >= 1; x--)
		t[x] = win(ws->gload, t[2 * x], t[2 * x + 1]);
}

/*
 * Step 2 for batch sample i of len tokens: whole onto the least loaded
 * GPU, or onto the aligned block whose busiest GPU is least (the lowest
 * on ties), all its GPUs then at that GPU's load plus the member's
 * seconds; mgpu[i] the GPU or the block's first.
 */
static void
put(struct sched_ws *ws, size_t i, uint32_t len)
{
	double *gl = ws->gload, hi, bhi = INFINITY, t;
	int g = ws->msize[i], G = ws->dp * ws->N, b, q, bb = 0;

	if (g == 1) {
		bb = ws->htree[1];
		gl[bb] += ws->mw[i];
		tree_fix(ws, bb);
		ws->mgpu[i] = bb;
		return;
	}
	for (b = 0; b < G; b += g) {
		hi = gl[b];
		for (q = b + 1; q < b + g; q++)
			hi = fmax(hi, gl[q]);
		if (hi < bhi) {
			bhi = hi;
			bb = b;
		}
	}
	t = bhi + skrull_member_sec(ws, len, g, bb);
	for (q = bb; q < bb + g; q++) {
		gl[q] = t;
		tree_fix(ws, q);
	}
	ws->mgpu[i] = bb;
}

static int
busiest(const double *gl, int G, int most)
{
	int q, t = 0;

	for (q = 1; q < G; q++)
		if (most ? gl[q] > gl[t] : gl[q] < gl[t])
			t = q;
	return t;
}

/*
 * Step 3: up to MOVES steps between the most loaded GPU s and the least
 * loaded f, gap D: move the whole sample of s whose seconds are nearest
 * D / 2 (below D) to f, or swap the pair of whole samples whose
 * difference is; a step that cannot narrow the gap ends it.
 */
static void
moves(struct sched_ws *ws, size_t n)
{
	double *gl = ws->gload, D, x, gain, bgain;
	size_t a, b, q, nf, bi, bj;
	int G = ws->dp * ws->N, s, f, step;

	for (step = 0; step < MOVES && G > 1; step++) {
		s = busiest(gl, G, 1);
		f = busiest(gl, G, 0);
		D = gl[s] - gl[f];
		if (D <= BALANCED * gl[s])
			break;
		nf = 0;
		for (b = 0; b < n; b++)
			if (ws->msize[b] == 1 && ws->mgpu[b] == f)
				ws->sub[nf++] = (uint32_t)b;
		bgain = 0;
		bi = bj = n;
		for (a = 0; a < n; a++) {
			if (ws->msize[a] != 1 || ws->mgpu[a] != s)
				continue;
			x = ws->mw[a];
			if ((gain = fmin(x, D - x)) > bgain) {
				bgain = gain;
				bi = a;
				bj = n;
			}
			for (q = 0; q < nf; q++) {
				b = ws->sub[q];
				x = ws->mw[a] - ws->mw[b];
				if (x > 0 && (gain = fmin(x, D - x)) > bgain) {
					bgain = gain;
					bi = a;
					bj = b;
				}
			}
		}
		if (bi == n)
			break;
		ws->mgpu[bi] = f;
		gl[s] -= ws->mw[bi];
		gl[f] += ws->mw[bi];
		if (bj < n) {
			ws->mgpu[bj] = s;
			gl[f] -= ws->mw[bj];
			gl[s] += ws->mw[bj];
		}
	}
}

/* A DP rank's micro-batch y's room on CP rank r, scaled tokens. */
#define ROOM(ws, y, r) \
	((ws)->mroom[(size_t)(y) * (size_t)(ws)->N + (size_t)(r)])

/* The first micro-batch from y on whose ranks [f, f + g) a share of need
 * scaled tokens fits; *m are open, the next one opened (all room) when
 * the search reaches it. */
static size_t
first_fit(struct sched_ws *ws, size_t y, size_t *m, int f, int g,
    int64_t need)
{
	int r, ok;

	for (;; y++) {
		if (y == *m) {
			for (r = 0; r < ws->N; r++)
				ROOM(ws, y, r) = (int64_t)ws->cap;
			(*m)++;
		}
		for (r = f, ok = 1; r < f + g && ok; r++)
			ok = ROOM(ws, y, r) >= need;
		if (ok)
			return y;
	}
}

/*
 * Step 4 for DP rank d: its samples sub[0..c) (groups first, each kind
 * heaviest first) into micro-batches by each rank's room, its scaled
 * memory (ws.h: N x whole tokens + (N / size) x a group's lengths <=
 * N x C).  All first-fit: the groups land in the first micro-batches,
 * where their members' clocks are still close, and the count is one
 * that fits.  Then the whole samples again, each into the one of those
 * with the most room on its rank (the first on ties), else the first
 * later one with room: only a group's members run in step, and each
 * rank's tokens (the activations it holds at once) spread evenly over
 * the micro-batches instead of filling the first.  Every sample fits an
 * empty
 * micro-batch (its group holds it).  Appended to the second
 * composition's arrays from micro-batch mmb0[d], in sub's order within
 * each; their estimates into mmbt, the ranks' clocks (from the spans'
 * seconds) advanced through them.
 */
static void
pack(struct sched_ws *ws, const uint32_t *len, const uint32_t *sub,
    size_t c, int d)
{
	const struct job *j = &ws->job;
	int64_t need;
	size_t q, y, x, m = 0, mf, x0 = ws->mmb0[d], at = ws->mmbfirst[x0];
	uint32_t i;
	int N = ws->N, f, g, r;

	for (q = 0; q < c; q++) {
		i = sub[q];
		f = ws->mgpu[i] - d * N;
		g = ws->msize[i];
		need = (int64_t)(N / g) * len[i];
		ws->mmb[i] = (uint32_t)first_fit(ws, 0, &m, f, g, need);
		for (r = f; r < f + g; r++)
			ROOM(ws, ws->mmb[i], r) -= need;
	}
	/* The groups stay; the room they leave, for the whole ones. */
	mf = m;
	for (y = 0; y < mf; y++)
		for (r = 0; r < N; r++)
			ROOM(ws, y, r) = (int64_t)ws->cap;
	for (q = 0; q < c && (g = ws->msize[sub[q]]) > 1; q++)
		for (r = ws->mgpu[sub[q]] - d * N; r < ws->mgpu[sub[q]] -
		    d * N + g; r++)
			ROOM(ws, ws->mmb[sub[q]], r) -= (int64_t)(N / g) *
			    len[sub[q]];
	for (; q < c; q++) {
		i = sub[q];
		f = ws->mgpu[i] - d * N;
		need = (int64_t)N * len[i];
		for (y = 1, x = 0; y < mf; y++)
			if (ROOM(ws, y, f) > ROOM(ws, x, f))
				x = y;
		if (ROOM(ws, x, f) < need)
			x = first_fit(ws, mf, &m, f, 1, need);
		ROOM(ws, x, f) -= need;
		ws->mmb[i] = (uint32_t)x;
	}
	/* The micro-batches in order, each its samples in sub's; one that
	 * the spreading left empty is left out. */
	for (y = 0, x = x0; y < m; y++) {
		ws->mmbfirst[x] = at;
		for (q = 0; q < c; q++) {
			i = sub[q];
			if (ws->mmb[i] != y)
				continue;
			ws->marr[at] = i;
			ws->mitems[at].len = len[i];
			ws->mitems[at].first = ws->mgpu[i] - d * N;
			ws->mitems[at++].size = ws->msize[i];
		}
		x += at > ws->mmbfirst[x];
	}
	ws->mmb0[d + 1] = x;
	ws->mmbfirst[x] = at;
	for (r = 0; r < N; r++)
		ws->clk[d * N + r] = ws->pre[d] / N;
	for (y = x0; y < x; y++) {
		q = ws->mmbfirst[y];
		c = ws->mmbfirst[y + 1] - q;
		ws->mmbt[y] = mbtime_eval(&ws->mbt, j, N, d * N,
		    ws->mitems + q, c, ws->rsec);
		mesh_clock(ws->mitems + q, c, ws->rsec, N, ws->reach,
		    ws->clk + d * N);
	}
}

double
mesh_compose(struct sched_ws *ws, const uint32_t *len, size_t n)
{
	size_t i, q, c = 0, *cnt = ws->mcnt;
	double wmax, est = 0;
	int d, r, b, N = ws->N, G = ws->dp * ws->N, nb = 2 * ws->dp;

	wmax = groups(ws, len, n);
	for (i = 0; i < n; i++)
		if (ws->msize[i] > 0)
			ws->key[c++] = (uint64_t)(UINT32_MAX -
			    (uint32_t)(ws->mw[i] / wmax * (UINT32_MAX - 1)))
			    << 32 | i;
	ws_sort_u64(ws, ws->key, c);
	for (d = 0; d < ws->dp; d++)
		for (r = 0; r < N; r++)
			ws->gload[d * N + r] = ws->pre[d] / N;
	tree_build(ws);
	for (q = 0; q < c; q++)
		put(ws, ws->key[q] & POS_MASK, len[ws->key[q] & POS_MASK]);
	moves(ws, n);
	/* Each DP rank's samples, groups (list 2d) before whole ones
	 * (2d + 1), heaviest first: a counting sort of the keys. */
	for (b = 0; b <= nb; b++)
		cnt[b] = 0;
	for (q = 0; q < c; q++) {
		i = ws->key[q] & POS_MASK;
		cnt[2 * (ws->mgpu[i] / N) + (ws->msize[i] == 1) + 1]++;
	}
	for (b = 0; b < nb; b++)
		cnt[b + 1] += cnt[b];
	for (q = 0; q < c; q++) {
		i = ws->key[q] & POS_MASK;
		ws->sub[cnt[2 * (ws->mgpu[i] / N) + (ws->msize[i] == 1)]++] =
		    (uint32_t)i;
	}
	/* cnt[b] now ends list b */
	ws->mmb0[0] = 0;
	ws->mmbfirst[0] = 0;
	for (d = 0; d < ws->dp; d++) {
		q = d == 0 ? 0 : cnt[2 * d - 1];
		pack(ws, len, ws->sub + q, cnt[2 * d + 1] - q, d);
	}
	for (r = 0; r < G; r++)
		est = fmax(est, ws->clk[r]);
	return est;
}
