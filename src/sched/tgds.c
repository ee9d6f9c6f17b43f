/*
 * tgds: time-balanced GDS and the `skrull` policy (ws.h): the global
 * batch balanced over the DP ranks by estimated GPU-seconds, the fewest
 * micro-batches memory allows, and cost-driven DACP (cdacp.c) inside each.
 *
 * The paper's Algorithm 2 balances its FLOPs formula, which leaves out the
 * logits GEMM and that attention runs far below the GEMMs' efficiency;
 * here a sample weighs what the simulator charges for it (ops_seq_sec:
 * whole when it fits one rank, else over the CP group).  GDS only regroups
 * the samples of one global batch, so the update is the same as any other
 * policy's.
 *
 * `skrull` composes each global batch twice: this DP-first composition
 * (micro-batches first, each placed by its makespan) and mesh.c's
 * GPU-first one (samples onto the mesh's GPUs by their totals over the
 * iteration, micro-batches packed from that), both measured by one
 * iteration estimate (mesh_clock: ranks run on independently except
 * inside shard groups); the DP-first is kept unless it is estimated
 * slower.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "ops.h"
#include "peers.h"
#include "plan.h"
#include "ws.h"

#define POS_MASK 0xffffffffu
/* Of a sharded sample's CP collectives, the share its rank cannot hide
 * behind local attention, as the DP balance counts it: about half on the
 * bundled traces (cdacp.c keeps local work beside the shards). */
#define EXPOSED 0.5
/* Improving moves after LPT: a bound, not a convergence test, so that the
 * planning time stays fixed. */
#define MOVES 16
/* A gap below this fraction of the slowest rank's load is within the time
 * model's own error: stop. */
#define BALANCED 1e-3

/* ws->w[i] = GPU-seconds of batch sample i: ops_seq_sec whole when it fits
 * one rank (len <= bucket), else over the CP group; returns the largest.
 * ws->mw gets them too: the GPU-first composition's seconds of the whole
 * samples (mesh_compose). */
static double
weights(struct sched_ws *ws, const uint32_t *len, size_t n)
{
	double wmax = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		ws->w[i] = ws->mw[i] = ops_seq_sec(&ws->rate, len[i],
		    len[i] > ws->job.bucket ? ws->N : 1);
		if (ws->w[i] > wmax)
			wmax = ws->w[i];
	}
	return wmax;
}

/*
 * A sample whose time whole exceeds a GPU's balanced share of the batch
 * will not run whole: the placement shards it to keep its rank from being
 * the last.  Weigh it over the CP group, as it will run, with the exposed
 * part of its collectives, so that the DP balance sees what sharding
 * costs; returns the largest weight.
 */
static double
reweigh(struct sched_ws *ws, const uint32_t *len, size_t n)
{
	double total = 0, share, wmax = 0, ag, rs;
	size_t i;

	for (i = 0; i < n; i++)
		total += ws->w[i];
	share = total / ((double)ws->dp * ws->N);
	for (i = 0; i < n; i++) {
		if (ws->w[i] > share || len[i] > ws->job.bucket) {
			ops_cp_time(&ws->job, len[i], ws->N, &ag, &rs);
			ws->w[i] = ops_seq_sec(&ws->rate, len[i], ws->N) +
			    EXPOSED * ws->N * ws->job.model.layers * (ag + rs);
		}
		if (ws->w[i] > wmax)
			wmax = ws->w[i];
	}
	return wmax;
}

static int
slowest(const struct sched_ws *ws)
{
	int d, t = 0;

	for (d = 1; d < ws->dp; d++)
		if (ws->binload[d] > ws->binload[t])
			t = d;
	return t;
}

static int
fastest(const struct sched_ws *ws)
{
	int d, t = 0;

	for (d = 1; d < ws->dp; d++)
		if (ws->binload[d] < ws->binload[t])
			t = d;
	return t;
}

/*
 * LPT on the weights, heaviest first into the least-loaded rank (lowest
 * index on ties), then up to MOVES improving steps between the slowest
 * rank s and the fastest f, gap D = load[s] - load[f]: move the sample of
 * s whose weight is nearest D / 2 (below D), or swap the pair whose
 * difference is; a step that cannot narrow the gap ends the search.
 */
static void
balance(struct sched_ws *ws, size_t n, double wmax)
{
	size_t i, q, a, b, bi, bj, nf;
	double D, x, gain, bgain;
	int d, s, f, t, dp = ws->dp, step;

	/* Heaviest first, ties by position: the weight scaled to 32 bits
	 * (wmax > 0: every sample has a token). */
	for (i = 0; i < n; i++)
		ws->key[i] = (uint64_t)(UINT32_MAX - (uint32_t)(ws->w[i] /
		    wmax * (UINT32_MAX - 1))) << 32 | i;
	ws_sort_u64(ws, ws->key, n);
	for (d = 0; d < dp; d++)
		ws->binload[d] = ws->pre[d];
	for (q = 0; q < n; q++) {
		i = ws->key[q] & POS_MASK;
		if (ws->spanat[i] >= 0) {
			ws->bin[i] = -1;
			continue;
		}
		t = fastest(ws);
		ws->bin[i] = t;
		ws->binload[t] += ws->w[i];
	}
	for (step = 0; step < MOVES && dp > 1; step++) {
		s = slowest(ws);
		f = fastest(ws);
		D = ws->binload[s] - ws->binload[f];
		if (D <= BALANCED * ws->binload[s])
			break;
		bgain = 0;
		bi = bj = n;
		nf = 0;
		for (b = 0; b < n; b++)
			if (ws->bin[b] == f)
				ws->sub[nf++] = (uint32_t)b;
		/* A transfer of x from s to f leaves max(L_s - x, L_f + x):
		 * the gain over L_s is min(x, D - x). */
		for (a = 0; a < n; a++) {
			if (ws->bin[a] != s)
				continue;
			x = ws->w[a];
			gain = x < D - x ? x : D - x;
			if (gain > bgain) {
				bgain = gain;
				bi = a;
				bj = n;
			}
			for (q = 0; q < nf; q++) {
				b = ws->sub[q];
				if (ws->w[b] >= ws->w[a])
					continue;
				x = ws->w[a] - ws->w[b];
				gain = x < D - x ? x : D - x;
				if (gain > bgain) {
					bgain = gain;
					bi = a;
					bj = b;
				}
			}
		}
		if (bi == n)
			break;
		ws->bin[bi] = f;
		ws->binload[s] -= ws->w[bi];
		ws->binload[f] += ws->w[bi];
		if (bj < n) {
			ws->bin[bj] = s;
			ws->binload[f] -= ws->w[bj];
			ws->binload[s] += ws->w[bj];
		}
	}
}


/*
 * The samples no CP group can run within the batch's balanced share get a
 * micro-batch of their own spanning k DP ranks (ByteScale's mesh; the
 * paper's DACP stops at the CP group).  For each, heaviest first, k = 1
 * (no span) .. dp is scored by the iteration it would give: the larger of
 * the busiest covered rank's spans plus this one (mbtime_eval over k x cp
 * GPUs: thinner kernels, and the network once it leaves a node) and the
 * whole batch's work spread evenly; the least wins, the smaller k on a
 * tie.  ws->spanat[i] / spank[i] record the choice (-1: none), ws->pre[d]
 * each DP rank's seconds of spans.
 */
static void
choose_spans(struct sched_ws *ws, const uint32_t *len, size_t n)
{
	const struct job *j = &ws->job;
	struct mbt_item one;
	double total = 0, G = (double)ws->dp * ws->N, spread = 0, tk, est;
	double best, hi, lo, own, btk = 0;
	size_t i, q, c = 0;
	int k, a, d, ba, bk, at;

	for (d = 0; d < ws->dp; d++)
		ws->pre[d] = ws->binload[d] = 0;
	for (i = 0; i < n; i++) {
		ws->spanat[i] = -1;
		total += ws->w[i];
	}
	if (ws->dp < 2)
		return;
	/* Candidates: above the balanced share even over their CP group. */
	for (i = 0; i < n; i++)
		if (ops_seq_sec(&ws->rate, len[i], ws->N) / ws->N > total / G)
			ws->key[c++] = (uint64_t)(UINT32_MAX - len[i]) << 32 | i;
	ws_sort_u64(ws, ws->key, c);
	for (q = 0; q < c; q++) {
		i = ws->key[q] & POS_MASK;
		one.len = len[i];
		one.first = 0;
		own = ops_seq_sec(&ws->rate, len[i], ws->N);
		/* k = 1: it stays in the balanced batch */
		one.size = ws->N;
		best = fmax(mbtime_eval(&ws->mbt, j, ws->N, 0, &one, 1, NULL),
		    (spread + total) / G);
		ba = -1;
		bk = 1;
		for (k = 2; k <= ws->dp; k++) {
			/* the k consecutive DP ranks with the least spans so
			 * far, aligned on k when that ties */
			at = -1;
			lo = INFINITY;
			for (a = 0; a + k <= ws->dp; a++) {
				hi = 0;
				for (d = a; d < a + k; d++)
					hi = fmax(hi, ws->binload[d]);
				if (hi < lo || (hi == lo && a % k == 0 &&
				    at % k != 0)) {
					lo = hi;
					at = a;
				}
			}
			one.size = k * ws->N;
			tk = mbtime_eval(&ws->mbt, j, k * ws->N, at * ws->N, &one,
			    1, NULL);
			est = fmax(lo + tk, (spread + total - own +
			    tk * k * ws->N) / G);
			if (est < best) {
				best = est;
				ba = at;
				bk = k;
				btk = tk;
			}
		}
		if (ba < 0)
			continue;
		ws->spanat[i] = ba;
		ws->spank[i] = bk;
		tk = btk;
		/* the balance counts a span by its estimated seconds on each
		 * of the cp GPUs of a covered DP rank */
		for (d = ba; d < ba + bk; d++) {
			ws->binload[d] += tk;
			ws->pre[d] += tk * ws->N;
		}
		/* its GPU-seconds leave the batch, its span's enter it */
		spread += tk * bk * ws->N - own;
	}
}

/* Whether one of the k weights exceeds their sum over N ranks. */
static int
heavy(const double *w, size_t k, int N)
{
	double sum = 0, most = 0;
	size_t i;

	for (i = 0; i < k; i++) {
		sum += w[i];
		most = fmax(most, w[i]);
	}
	return most > sum / N;
}

int
tgds_place_mb(struct sched_ws *ws, const uint32_t *len, sched_gplace_fn place,
    int rival, size_t a, size_t k, int g0, struct mbt_item *it, double *t,
    double *rank)
{
	double u;
	size_t i;
	int rc;

	ws_gather(ws, len, ws->w, a, k);
	if ((rc = place(ws, ws->glen, ws->gfl, k, ws->N, g0, it)) != SK_OK)
		return rc;
	*t = mbtime_eval(&ws->mbt, &ws->job, ws->N, g0, it, k, rank);
	/* FlexSP's placement as one more candidate, where a sequence
	 * outweighs a rank's mean load: else both keep every sequence
	 * whole */
	if (rival && heavy(ws->gfl, k, ws->N) &&
	    flexsp_place_mb(ws, len, a, k, g0, ws->citems) == SK_OK &&
	    (u = mbtime_eval(&ws->mbt, &ws->job, ws->N, g0, ws->citems, k,
	    NULL)) < INFINITY && (k > SKRULL_LS_MAX || (u = skrull_improve(ws,
	    k, ws->N, g0, ws->citems, u)) < INFINITY) && u < *t) {
		for (i = 0; i < k; i++)
			it[i] = ws->citems[i];
		*t = u;
		if (rank != NULL)
			mbtime_eval(&ws->mbt, &ws->job, ws->N, g0, it, k, rank);
	}
	return SK_OK;
}

/*
 * Phase 1: DP rank d's own micro-batches, composed and placed, appended to
 * the batch-wide arrays (rarr, ritems; micro-batch j of the batch is
 * rarr[rmbfirst[j] .. rmbfirst[j + 1]) with its estimated seconds rmbt[j];
 * DP rank d's are rmb0[d] .. rmb0[d + 1]), and its GPUs' clocks of the
 * iteration estimate (mesh_clock, from the spans' seconds) advanced
 * through them; *beaten = 1 as soon as one passes stop (the rest is then
 * not composed).
 */
static int
compose_rank(struct sched_ws *ws, const uint32_t *len, size_t n,
    sched_gplace_fn place, int rival, int d, double stop, int *beaten)
{
	size_t q, c, m, a, k, i, j0 = ws->rmb0[d], at = ws->rmbfirst[j0];
	uint64_t tok;
	char where[64];
	int rc, r;

	for (r = 0; r < ws->N; r++)
		ws->clk[d * ws->N + r] = ws->pre[d] / ws->N;

	c = ws_rank_samples(ws, len, n, d, &tok);
	rc = SK_ERR_RANGE;
	for (m = ws_min_mbs(ws, tok); c > 0 && m <= c; m++)
		if ((rc = ws_fill(ws, len, c, m)) == SK_OK)
			break;
	if (c == 0)
		m = 0;
	else if (rc != SK_OK)
		return err_set(SK_ERR_RANGE, "DP rank %d: no micro-batching "
		    "of its %zu samples (%llu tokens) fits capacity %d x "
		    "%u", d, c, (unsigned long long)tok, ws->N,
		    ws->job.bucket);
	for (q = 0; q < m; q++) {
		a = ws->mbfirst[q];
		k = ws->mbfirst[q + 1] - a;
		rc = tgds_place_mb(ws, len, place, rival, a, k, d * ws->N,
		    ws->ritems + at + a, &ws->rmbt[j0 + q], ws->rsec);
		if (rc != SK_OK) {
			snprintf(where, sizeof where, "DP rank %d, "
			    "micro-batch %zu", d, q);
			err_prefix(where);
			return rc;
		}
		mesh_clock(ws->ritems + at + a, k, ws->rsec, ws->N, ws->reach,
		    ws->clk + d * ws->N);
		for (r = 0; r < ws->N; r++)
			if (ws->clk[d * ws->N + r] > stop) {
				*beaten = 1;
				return SK_OK;
			}
		ws->rmbfirst[j0 + q] = at + a;
		ws->rmerge[j0 + q] = -1;
	}
	for (i = 0; i < c; i++)
		ws->rarr[at + i] = ws->arr[i];
	ws->rmb0[d + 1] = j0 + m;
	ws->rmbfirst[j0 + m] = at + c;
	return SK_OK;
}

/*
 * Phase 2: a span's micro-batch alone leaves its collectives exposed
 * (nothing local to overlap them) and costs every covered rank a
 * micro-batch of launches.  Each covered DP rank's lightest own
 * micro-batch that memory lets join it is merged into it, its ranks
 * offset to the rank's place in the span (groups stay aligned: their
 * sizes divide cp), when the merged micro-batch is faster than the span
 * plus the fastest of those it absorbs: then every covered rank gains.
 */
static void
merge_spans(struct sched_ws *ws, const uint32_t *len, size_t n)
{
	const struct job *j = &ws->job;
	size_t i, x, q, t, nc, best, mb[64];
	double tspan, tc, least;
	int d, a, k, W, off, nm, emptied;

	for (i = 0; i < n; i++) {
		if (ws->spanat[i] < 0)
			continue;
		a = ws->spanat[i];
		k = ws->spank[i];
		W = k * ws->N;
		ws->citems[0].len = len[i];
		ws->citems[0].first = 0;
		ws->citems[0].size = W;
		nc = 1;
		tspan = mbtime_eval(&ws->mbt, j, W, a * ws->N, ws->citems, 1,
		    NULL);
		least = INFINITY;
		nm = emptied = 0;
		for (d = a; d < a + k && nm < 64; d++) {
			best = SIZE_MAX;
			for (x = ws->rmb0[d]; x < ws->rmb0[d + 1]; x++)
				if (ws->rmerge[x] < 0 && (best == SIZE_MAX ||
				    ws->rmbt[x] < ws->rmbt[best]))
					best = x;
			if (best == SIZE_MAX)
				continue;
			off = (d - a) * ws->N;
			t = nc;
			for (q = ws->rmbfirst[best]; q < ws->rmbfirst[best + 1];
			    q++) {
				ws->citems[t] = ws->ritems[q];
				ws->citems[t++].first += off;
			}
			if (!mbtime_fits(j, W, ws->citems, t, ws->qmem))
				continue;
			nc = t;
			mb[nm++] = best;
			least = fmin(least, ws->rmbt[best]);
			emptied += ws->rmb0[d + 1] - ws->rmb0[d] == 1;
		}
		/* A covered rank left with nothing after the span while
		 * another runs on would hold its gradients to the tail
		 * (the simulator's and executor's rule): all or none. */
		if (nm == 0 || (emptied > 0 && (nm < k || emptied < k)))
			continue;
		tc = mbtime_eval(&ws->mbt, j, W, a * ws->N, ws->citems, nc,
		    NULL);
		if (!(tc < tspan + least))
			continue;
		for (x = 0; x < (size_t)nm; x++)
			ws->rmerge[mb[x]] = (int32_t)i;
	}
}

/* Micro-batch x's samples (batch-wide arrays) pushed, ranks offset. */
static int
push_mb(struct sched_ws *ws, const uint32_t *idx, const uint32_t *len,
    size_t x, int off, struct plan *out)
{
	const struct mbt_item *it;
	size_t q;
	uint32_t p;
	int rc;

	for (q = ws->rmbfirst[x]; q < ws->rmbfirst[x + 1]; q++) {
		p = ws->rarr[q];
		it = &ws->ritems[q];
		if ((rc = plan_push_group(out, idx[p], len[p], it->first + off,
		    it->size)) != SK_OK)
			return rc;
	}
	return SK_OK;
}

/* Phase 3: DP rank d's list: the spans it heads (with the micro-batches
 * merged into them), then its own micro-batches that were not merged. */
static int
push_rank(struct sched_ws *ws, const uint32_t *idx, const uint32_t *len,
    size_t n, int d, struct plan *out)
{
	size_t i, x;
	int rc, e;

	if ((rc = plan_rank_begin(out)) != SK_OK)
		return rc;
	for (i = 0; i < n; i++) {
		if (ws->spanat[i] != d)
			continue;
		if ((rc = plan_mb_begin_span(out, ws->spank[i])) != SK_OK ||
		    (rc = plan_push(out, idx[i], len[i], PLAN_SHARDED)) !=
		    SK_OK)
			return rc;
		for (e = d; e < d + ws->spank[i]; e++)
			for (x = ws->rmb0[e]; x < ws->rmb0[e + 1]; x++)
				if (ws->rmerge[x] == (int32_t)i &&
				    (rc = push_mb(ws, idx, len, x,
				    (e - d) * ws->N, out)) != SK_OK)
					return rc;
	}
	for (x = ws->rmb0[d]; x < ws->rmb0[d + 1]; x++) {
		if (ws->rmerge[x] >= 0)
			continue;
		if ((rc = plan_mb_begin(out)) != SK_OK ||
		    (rc = push_mb(ws, idx, len, x, 0, out)) != SK_OK)
			return rc;
	}
	return SK_OK;
}

/* The GPU-first composition (mesh.c) in place of the DP-first one. */
static void
adopt_mesh(struct sched_ws *ws)
{
	size_t x, q, m = ws->mmb0[ws->dp], c = ws->mmbfirst[m];
	int d;

	for (q = 0; q < c; q++) {
		ws->rarr[q] = ws->marr[q];
		ws->ritems[q] = ws->mitems[q];
	}
	for (x = 0; x <= m; x++)
		ws->rmbfirst[x] = ws->mmbfirst[x];
	for (x = 0; x < m; x++) {
		ws->rmbt[x] = ws->mmbt[x];
		ws->rmerge[x] = -1;
	}
	for (d = 0; d <= ws->dp; d++)
		ws->rmb0[d] = ws->mmb0[d];
}

int
tgds_compose(struct sched_ws *ws, const uint32_t *idx, const uint32_t *len,
    size_t n, sched_gplace_fn place, unsigned how, struct plan *out)
{
	double wmax, stop = INFINITY;
	size_t i;
	int d, rc, beaten = 0, spans = (how & TGDS_SPANS) != 0;

	if (n > ws->max)
		return err_set(SK_ERR_RANGE, "global batch of %zu samples "
		    "exceeds the scheduler workspace of %zu", n, ws->max);
	if (place == NULL)
		place = cdacp_gplace;
	wmax = weights(ws, len, n);
	if (spans) {
		wmax = reweigh(ws, len, n);
		choose_spans(ws, len, n);
	} else {
		for (i = 0; i < n; i++)
			ws->spanat[i] = -1;
		for (d = 0; d < ws->dp; d++)
			ws->pre[d] = 0;
	}
	/* The GPU-first composition first: the DP-first one is kept unless
	 * its estimate exceeds the GPU-first one's, and its clocks only
	 * grow, so it stops as soon as one passes that. */
	if (how & TGDS_MESH)
		stop = mesh_compose(ws, len, n);
	balance(ws, n, wmax);
	ws->rmb0[0] = 0;
	ws->rmbfirst[0] = 0;
	for (d = 0; d < ws->dp && !beaten; d++)
		if ((rc = compose_rank(ws, len, n, place, spans, d, stop,
		    &beaten)) != SK_OK)
			return rc;
	if (beaten)
		adopt_mesh(ws);
	if (spans)
		merge_spans(ws, len, n);
	for (d = 0; d < ws->dp; d++)
		if ((rc = push_rank(ws, idx, len, n, d, out)) != SK_OK)
			return rc;
	return SK_OK;
}

static int
run_cp(struct sched_ws *ws, const uint32_t *idx, const uint32_t *len,
    size_t n, struct plan *out)
{
	return tgds_compose(ws, idx, len, n, NULL, 0, out);
}

static int
run(struct sched_ws *ws, const uint32_t *idx, const uint32_t *len, size_t n,
    struct plan *out)
{
	return tgds_compose(ws, idx, len, n, skrull_gplace,
	    TGDS_SPANS | TGDS_MESH, out);
}

const struct sched_policy skrull_cp_policy = {
	.name = "skrull-cp",
	.summary = "time-balanced GDS over DP, fewest micro-batches; "
	    "cost-driven DACP: whole on one rank or over the CP group",
	.batching = BATCHING_ORDER,
	.run = run_cp
};

const struct sched_policy skrull_policy = {
	.name = "skrull",
	.summary = "skrull-cp with shard groups of any size and spans across "
	    "DP ranks, chosen by estimated time (the default)",
	.batching = BATCHING_ORDER,
	.run = run
};
