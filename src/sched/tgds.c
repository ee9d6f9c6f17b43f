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
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "ops.h"
#include "plan.h"
#include "ws.h"

#define POS_MASK 0xffffffffu
/* Improving moves after LPT: a bound, not a convergence test, so that the
 * planning time stays fixed. */
#define MOVES 16
/* A gap below this fraction of the slowest rank's load is within the time
 * model's own error: stop. */
#define BALANCED 1e-3

/* ws->w[i] = GPU-seconds of batch sample i: ops_seq_sec whole when it fits
 * one rank (len <= bucket), else over the CP group; returns the largest. */
static double
weights(struct sched_ws *ws, const uint32_t *len, size_t n)
{
	double wmax = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		ws->w[i] = ops_seq_sec(&ws->rate, len[i],
		    len[i] > ws->job.bucket ? ws->N : 1);
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
		ws->binload[d] = ws->pre[d] * ws->N;
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
 * One DP rank's c samples sub[0..c) (batch positions, heaviest first) into
 * m micro-batches: each sample, heaviest first, into the micro-batch with
 * the least weight that still has room for its tokens (N x C).  Returns
 * SK_ERR_RANGE when one fits none (try m + 1).  arr/mbfirst then hold the
 * micro-batches, each heaviest first.
 */
static int
fill(struct sched_ws *ws, const uint32_t *len, size_t c, size_t m)
{
	size_t q, j, t;
	uint32_t p;

	for (j = 0; j < m; j++) {
		ws->mbw[j] = 0;
		ws->mbtok[j] = 0;
	}
	for (j = 0; j <= m; j++)
		ws->mbfirst[j] = 0;
	for (q = 0; q < c; q++) {
		p = ws->sub[q];
		t = m;
		for (j = 0; j < m; j++)
			if (ws->mbtok[j] + len[p] <= ws->cap &&
			    (t == m || ws->mbw[j] < ws->mbw[t]))
				t = j;
		if (t == m)
			return SK_ERR_RANGE;
		ws->mbw[t] += ws->w[p];
		ws->mbtok[t] += len[p];
		ws->glen[q] = (uint32_t)t;  /* micro-batch of sub[q] */
		ws->mbfirst[t + 1]++;
	}
	/* Counting sort by micro-batch, stable: each keeps sub's order,
	 * heaviest (longest) first, which is the order cdacp_place sorts
	 * into, so its sort is one scan. */
	ws->mbfirst[0] = 0;
	for (j = 0; j < m; j++)
		ws->mbfirst[j + 1] += ws->mbfirst[j];
	for (j = 0; j < m; j++)
		ws->mbtok[j] = ws->mbfirst[j];
	for (q = 0; q < c; q++)
		ws->arr[ws->mbtok[ws->glen[q]]++] = ws->sub[q];
	return SK_OK;
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
	double best, hi, lo, own;
	size_t i, q, c = 0;
	int k, a, d, ba, bk, at;

	for (d = 0; d < ws->dp; d++)
		ws->pre[d] = 0;
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
					hi = fmax(hi, ws->pre[d]);
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
			}
		}
		if (ba < 0)
			continue;
		ws->spanat[i] = ba;
		ws->spank[i] = bk;
		one.size = bk * ws->N;
		tk = mbtime_eval(&ws->mbt, j, bk * ws->N, ba * ws->N, &one, 1,
		    NULL);
		for (d = ba; d < ba + bk; d++)
			ws->pre[d] += tk;
		/* its GPU-seconds leave the batch, its span's enter it */
		spread += tk * bk * ws->N - own;
	}
}

/* The spanning micro-batches DP rank d lists: one per sample it heads. */
static int
push_spans(struct sched_ws *ws, const uint32_t *idx, const uint32_t *len,
    size_t n, int d, struct plan *out)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if (ws->spanat[i] != d)
			continue;
		if ((rc = plan_mb_begin_span(out, ws->spank[i])) != SK_OK ||
		    (rc = plan_push(out, idx[i], len[i], PLAN_SHARDED)) !=
		    SK_OK)
			return rc;
	}
	return SK_OK;
}

int
tgds_compose(struct sched_ws *ws, const uint32_t *idx, const uint32_t *len,
    size_t n, sched_gplace_fn place, int spans, struct plan *out)
{
	size_t q, c, m, a, k, i;
	uint64_t tok;
	char where[64];
	double wmax;
	int d, rc;

	if (n > ws->max)
		return err_set(SK_ERR_RANGE, "global batch of %zu samples "
		    "exceeds the scheduler workspace of %zu", n, ws->max);
	if (place == NULL)
		place = cdacp_gplace;
	wmax = weights(ws, len, n);
	if (spans)
		choose_spans(ws, len, n);
	else {
		for (i = 0; i < n; i++)
			ws->spanat[i] = -1;
		for (d = 0; d < ws->dp; d++)
			ws->pre[d] = 0;
	}
	balance(ws, n, wmax);
	for (d = 0; d < ws->dp; d++) {
		if ((rc = plan_rank_begin(out)) != SK_OK ||
		    (rc = push_spans(ws, idx, len, n, d, out)) != SK_OK)
			return rc;
		c = ws_rank_samples(ws, len, n, d, &tok);
		rc = SK_ERR_RANGE;
		for (m = ws_min_mbs(ws, tok); c > 0 && m <= c; m++)
			if ((rc = fill(ws, len, c, m)) == SK_OK)
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
			ws_gather(ws, len, ws->w, a, k);
			rc = place(ws, ws->glen, ws->gfl, k, ws->N, d * ws->N,
			    ws->items + a);
			if (rc != SK_OK) {
				snprintf(where, sizeof where, "DP rank %d, "
				    "micro-batch %zu", d, q);
				err_prefix(where);
				return rc;
			}
		}
		if ((rc = ws_push_items(ws, idx, len, m, out)) != SK_OK)
			return rc;
	}
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
	return tgds_compose(ws, idx, len, n, skrull_gplace, 1, out);
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
