/* ws: see ws.h.  The scheduling workspace, sized once, and the helpers
 * the policy files share. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cost.h"
#include "err.h"
#include "ops.h"
#include "peers.h"
#include "plan.h"
#include "sched.h"
#include "ws.h"

struct sched_ws *
sched_ws_new(const struct job *j, const struct sched_params *p,
    size_t max_batch)
{
	struct sched_ws *ws;
	size_t n = max_batch, N = (size_t)j->cp, dp = (size_t)j->dp, G;

	if (j->cp < 1 || j->dp < 1 || j->bucket < 1) {
		err_set(SK_ERR_ARG, "scheduler: cp %d, dp %d and bucket %u must "
		    "be at least 1", j->cp, j->dp, j->bucket);
		return NULL;
	}
	/* Batch positions travel in the low 32 bits of the sort keys. */
	if (max_batch < 1 || max_batch > UINT32_MAX) {
		err_set(SK_ERR_RANGE, "scheduler: a global batch of %zu samples "
		    "is outside 1..%u", max_batch, UINT32_MAX);
		return NULL;
	}
	if ((ws = calloc(1, sizeof *ws)) == NULL)
		goto nomem;
	ws->job = *j;
	ws->par = *p;
	ws->N = j->cp;
	ws->dp = j->dp;
	ws->cap = job_cp_capacity(j);
	ws->mb_budget = p->mb_tokens > 0 ? p->mb_tokens : ws->cap;
	ws->max = n;
	ws->fl = calloc(n, sizeof *ws->fl);
	ws->key = calloc(n, sizeof *ws->key);
	ws->bin = calloc(n, sizeof *ws->bin);
	ws->binload = calloc(dp, sizeof *ws->binload);
	ws->sub = calloc(n, sizeof *ws->sub);
	ws->arr = calloc(n, sizeof *ws->arr);
	ws->mbfirst = calloc(n + 1, sizeof *ws->mbfirst);
	ws->place = calloc(n, sizeof *ws->place);
	ws->glen = calloc(n, sizeof *ws->glen);
	ws->gfl = calloc(n, sizeof *ws->gfl);
	ws->dkey = calloc(n, sizeof *ws->dkey);
	ws->dfl = calloc(n, sizeof *ws->dfl);
	ws->tmp = calloc(n, sizeof *ws->tmp);
	ws->rb = calloc(N, sizeof *ws->rb);
	ws->load = calloc(N, sizeof *ws->load);
	ws->head = calloc(N, sizeof *ws->head);
	ws->w = calloc(n, sizeof *ws->w);
	ws->cand = calloc(n, sizeof *ws->cand);
	ws->rl = calloc(N, sizeof *ws->rl);
	ws->one = calloc(n, sizeof *ws->one);
	ws->mbw = calloc(n, sizeof *ws->mbw);
	ws->mbtok = calloc(n, sizeof *ws->mbtok);
	G = dp * N;
	ws->items = calloc(n, sizeof *ws->items);
	ws->citems = calloc(n, sizeof *ws->citems);
	ws->bitems = calloc(n, sizeof *ws->bitems);
	ws->qload = calloc(G, sizeof *ws->qload);
	ws->qmem = calloc(G, sizeof *ws->qmem);
	ws->pre = calloc(dp, sizeof *ws->pre);
	ws->spanat = calloc(n, sizeof *ws->spanat);
	ws->spank = calloc(n, sizeof *ws->spank);
	ws->rarr = calloc(n, sizeof *ws->rarr);
	ws->ritems = calloc(n, sizeof *ws->ritems);
	ws->rmbfirst = calloc(n + 1, sizeof *ws->rmbfirst);
	ws->rmbt = calloc(n, sizeof *ws->rmbt);
	ws->rmerge = calloc(n, sizeof *ws->rmerge);
	ws->rmb0 = calloc(dp + 1, sizeof *ws->rmb0);
	ws->msize = calloc(n, sizeof *ws->msize);
	ws->mgpu = calloc(n, sizeof *ws->mgpu);
	ws->mmb = calloc(n, sizeof *ws->mmb);
	ws->mroom = calloc(n, N * sizeof *ws->mroom);
	ws->mw = calloc(n, sizeof *ws->mw);
	ws->marr = calloc(n, sizeof *ws->marr);
	ws->mitems = calloc(n, sizeof *ws->mitems);
	ws->mmbfirst = calloc(n + 1, sizeof *ws->mmbfirst);
	ws->mmbt = calloc(n, sizeof *ws->mmbt);
	ws->mmb0 = calloc(dp + 1, sizeof *ws->mmb0);
	ws->gload = calloc(G, sizeof *ws->gload);
	ws->clk = calloc(G, sizeof *ws->clk);
	ws->rsec = calloc(G, sizeof *ws->rsec);
	ws->reach = calloc(G, sizeof *ws->reach);
	for (ws->hP = 1; (size_t)ws->hP < G; ws->hP *= 2)
		;
	ws->htree = calloc(2 * (size_t)ws->hP, sizeof *ws->htree);
	ws->mcnt = calloc(2 * dp + 1, sizeof *ws->mcnt);
	if (ws->msize == NULL || ws->mgpu == NULL || ws->mmb == NULL ||
	    ws->mroom == NULL || ws->mw == NULL ||
	    ws->marr == NULL || ws->mitems == NULL || ws->mmbfirst == NULL ||
	    ws->mmbt == NULL || ws->mmb0 == NULL || ws->gload == NULL ||
	    ws->clk == NULL || ws->rsec == NULL || ws->reach == NULL ||
	    ws->htree == NULL || ws->mcnt == NULL)
		goto nomem;
	if (ws->rarr == NULL || ws->ritems == NULL || ws->rmbfirst == NULL ||
	    ws->rmbt == NULL || ws->rmerge == NULL || ws->rmb0 == NULL)
		goto nomem;
	if (ws->items == NULL || ws->citems == NULL || ws->bitems == NULL ||
	    ws->qload == NULL || ws->qmem == NULL || ws->pre == NULL ||
	    ws->spanat == NULL || ws->spank == NULL ||
	    mbtime_init(&ws->mbt, (int)G, n) != SK_OK)
		goto nomem;
	if (ws->fl == NULL || ws->key == NULL || ws->bin == NULL ||
	    ws->binload == NULL || ws->sub == NULL || ws->arr == NULL ||
	    ws->mbfirst == NULL || ws->place == NULL || ws->glen == NULL ||
	    ws->gfl == NULL || ws->dkey == NULL || ws->dfl == NULL ||
	    ws->tmp == NULL || ws->rb == NULL || ws->load == NULL ||
	    ws->head == NULL || ws->w == NULL || ws->cand == NULL ||
	    ws->rl == NULL || ws->one == NULL || ws->mbw == NULL || ws->mbtok == NULL)
		goto nomem;
	if ((ws->peers = peers_new(j, n)) == NULL) {
		sched_ws_free(ws);
		return NULL;
	}
	ops_rate_init(&ws->rate, &ws->job);
	return ws;
nomem:
	sched_ws_free(ws);
	err_set(SK_ERR_NOMEM, "scheduler workspace for %zu samples: out of "
	    "memory", max_batch);
	return NULL;
}

void
sched_ws_free(struct sched_ws *ws)
{
	if (ws == NULL)
		return;
	free(ws->fl);
	free(ws->key);
	free(ws->bin);
	free(ws->binload);
	free(ws->sub);
	free(ws->arr);
	free(ws->mbfirst);
	free(ws->place);
	free(ws->glen);
	free(ws->gfl);
	free(ws->dkey);
	free(ws->dfl);
	free(ws->tmp);
	free(ws->rb);
	free(ws->load);
	free(ws->head);
	free(ws->w);
	free(ws->cand);
	free(ws->rl);
	free(ws->one);
	free(ws->mbw);
	free(ws->mbtok);
	free(ws->items);
	free(ws->citems);
	free(ws->bitems);
	free(ws->qload);
	free(ws->qmem);
	free(ws->pre);
	free(ws->spanat);
	free(ws->spank);
	free(ws->rarr);
	free(ws->ritems);
	free(ws->rmbfirst);
	free(ws->rmbt);
	free(ws->rmerge);
	free(ws->rmb0);
	free(ws->msize);
	free(ws->mgpu);
	free(ws->mmb);
	free(ws->mroom);
	free(ws->mw);
	free(ws->marr);
	free(ws->mitems);
	free(ws->mmbfirst);
	free(ws->mmbt);
	free(ws->mmb0);
	free(ws->gload);
	free(ws->clk);
	free(ws->rsec);
	free(ws->reach);
	free(ws->htree);
	free(ws->mcnt);
	mbtime_free(&ws->mbt);
	peers_free(ws->peers);
	free(ws);
}

double
ws_flops(const struct sched_ws *ws, uint32_t len)
{
	if (ws->par.flops == FLOPS_EXACT)
		return cost_seq_flops_total(&ws->job, len);
	return cost_flops_paper(&ws->job.model, len) * ws->job.model.layers *
	    3;
}

void
ws_batch_flops(struct sched_ws *ws, const uint32_t *len, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		ws->fl[i] = ws_flops(ws, len[i]);
}

/*
 * Bottom-up merge sort through ws->tmp: runs of RUN sorted by insertion,
 * then merged in passes that alternate between the two arrays.  Input that
 * is already sorted (DACP's micro-batches from GDS) costs one scan.
 */
#define RUN 16

void
ws_sort_u64(struct sched_ws *ws, uint64_t *a, size_t n)
{
	uint64_t *src = a, *dst = ws->tmp, *sw, x;
	size_t i, j, lo, mid, hi, w;

	for (i = 1; i < n && a[i - 1] <= a[i]; i++)
		;
	if (i >= n)
		return;
	for (lo = 0; lo < n; lo += RUN) {
		hi = lo + RUN < n ? lo + RUN : n;
		for (i = lo + 1; i < hi; i++) {
			x = a[i];
			for (j = i; j > lo && a[j - 1] > x; j--)
				a[j] = a[j - 1];
			a[j] = x;
		}
	}
	for (w = RUN; w < n; w *= 2) {
		for (lo = 0; lo < n; lo += 2 * w) {
			mid = lo + w < n ? lo + w : n;
			hi = lo + 2 * w < n ? lo + 2 * w : n;
			i = lo;
			j = mid;
			while (i < mid && j < hi)
				*dst++ = src[j] < src[i] ? src[j++] : src[i++];
			while (i < mid)
				*dst++ = src[i++];
			while (j < hi)
				*dst++ = src[j++];
		}
		dst -= n;
		sw = src;
		src = dst;
		dst = sw;
	}
	if (src != a)
		memcpy(a, src, n * sizeof *a);
}

size_t
ws_rank_samples(struct sched_ws *ws, const uint32_t *len, size_t n, int d,
    uint64_t *tok)
{
	size_t q, p, c = 0;

	*tok = 0;
	for (q = 0; q < n; q++) {
		p = ws->key[q] & 0xffffffffu;
		if (ws->bin[p] != d)
			continue;
		ws->sub[c++] = (uint32_t)p;
		*tok += len[p];
	}
	return c;
}

size_t
ws_min_mbs(const struct sched_ws *ws, uint64_t tok)
{
	size_t m = (size_t)((tok + ws->cap - 1) / ws->cap);

	return m > 0 ? m : 1;
}

void
ws_gather(struct sched_ws *ws, const uint32_t *len, const double *fl,
    size_t a, size_t k)
{
	size_t i;

	for (i = 0; i < k; i++) {
		ws->glen[i] = len[ws->arr[a + i]];
		if (fl != NULL)
			ws->gfl[i] = fl[ws->arr[a + i]];
	}
}

int
ws_push_rank(struct sched_ws *ws, const uint32_t *idx, const uint32_t *len,
    size_t m, struct plan *out)
{
	size_t q, i;
	uint32_t p;
	int rc;

	if ((rc = plan_rank_begin(out)) != SK_OK)
		return rc;
	for (q = 0; q < m; q++) {
		if ((rc = plan_mb_begin(out)) != SK_OK)
			return rc;
		for (i = ws->mbfirst[q]; i < ws->mbfirst[q + 1]; i++) {
			p = ws->arr[i];
			if ((rc = plan_push(out, idx[p], len[p], ws->place[i])) !=
			    SK_OK)
				return rc;
		}
	}
	return SK_OK;
}

int
ws_push_items(struct sched_ws *ws, const uint32_t *idx, const uint32_t *len,
    size_t m, struct plan *out)
{
	const struct mbt_item *it;
	size_t q, i;
	uint32_t p;
	int rc;

	for (q = 0; q < m; q++) {
		if ((rc = plan_mb_begin(out)) != SK_OK)
			return rc;
		for (i = ws->mbfirst[q]; i < ws->mbfirst[q + 1]; i++) {
			p = ws->arr[i];
			it = &ws->items[i];
			if ((rc = plan_push_group(out, idx[p], len[p], it->first,
			    it->size)) != SK_OK)
				return rc;
		}
	}
	return SK_OK;
}

int
ws_fill(struct sched_ws *ws, const uint32_t *len, size_t c, size_t m)
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
			if (ws->mbtok[j] + len[p] <= ws->cap && (t == m ||
			    ws->mbw[j] < ws->mbw[t] || (ws->mbw[j] ==
			    ws->mbw[t] && ws->mbtok[j] < ws->mbtok[t])))
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
	for (j = 0; j < m; j++)
		ws->mbfirst[j + 1] += ws->mbfirst[j];
	for (j = 0; j < m; j++)
		ws->mbtok[j] = ws->mbfirst[j];
	for (q = 0; q < c; q++)
		ws->arr[ws->mbtok[ws->glen[q]]++] = ws->sub[q];
	return SK_OK;
}
