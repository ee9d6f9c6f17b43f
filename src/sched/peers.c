/* peers: see peers.h.  The peer systems' policies' workspace and the
 * helpers they share. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "err.h"
#include "peers.h"
#include "plan.h"
#include "ws.h"

struct peers *
peers_new(const struct job *j, size_t max)
{
	struct peers *p;
	size_t G = (size_t)j->dp * (size_t)j->cp, dp = (size_t)j->dp;
	int s, k;

	if ((p = calloc(1, sizeof *p)) == NULL)
		goto nomem;
	p->G = (int)G;
	for (s = 1; s <= j->cp; s++)
		if (j->cp % s == 0)
			p->nsizes++;
	p->sizes = calloc((size_t)p->nsizes, sizeof *p->sizes);
	p->boff = calloc((size_t)p->nsizes, sizeof *p->boff);
	if (p->sizes == NULL || p->boff == NULL)
		goto nomem;
	for (s = 1, k = 0; s <= j->cp; s++)
		if (j->cp % s == 0) {
			p->sizes[k] = s;
			p->boff[k++] = p->nblocks;
			p->nblocks += j->cp / s;
		}
	p->bkeys = calloc((size_t)p->nblocks, sizeof *p->bkeys);
	p->mb = calloc(max, sizeof *p->mb);
	p->first = calloc(max, sizeof *p->first);
	p->size = calloc(max, sizeof *p->size);
	p->gmin = calloc(max, sizeof *p->gmin);
	p->owner = calloc(max, sizeof *p->owner);
	p->span = calloc(max, sizeof *p->span);
	p->mbord = calloc(max, sizeof *p->mbord);
	p->cnt = calloc(2 * dp + 1, sizeof *p->cnt);
	p->gpu = calloc(G, sizeof *p->gpu);
	p->tq = calloc(G, sizeof *p->tq);
	p->nb = calloc(dp, sizeof *p->nb);
	if (p->bkeys == NULL || p->mb == NULL || p->first == NULL ||
	    p->size == NULL || p->gmin == NULL || p->owner == NULL ||
	    p->span == NULL || p->mbord == NULL || p->cnt == NULL ||
	    p->gpu == NULL || p->tq == NULL || p->nb == NULL)
		goto nomem;
	return p;
nomem:
	peers_free(p);
	err_set(SK_ERR_NOMEM, "scheduler workspace of the peers' policies: "
	    "out of memory");
	return NULL;
}

void
peers_free(struct peers *p)
{
	if (p == NULL)
		return;
	free(p->sizes);
	free(p->boff);
	free(p->bkeys);
	free(p->mb);
	free(p->first);
	free(p->size);
	free(p->gmin);
	free(p->owner);
	free(p->span);
	free(p->mbord);
	free(p->cnt);
	free(p->gpu);
	free(p->tq);
	free(p->nb);
	free(p);
}

int
peers_gmin(const struct peers *p, uint32_t len, uint32_t bucket)
{
	uint64_t need = ((uint64_t)len + bucket - 1) / bucket;
	int k;

	for (k = 0; k < p->nsizes; k++)
		if ((uint64_t)p->sizes[k] >= need)
			return k;
	return -1;
}

void
peers_heavy_first(struct sched_ws *ws, const double *w, size_t n,
    double wmax)
{
	size_t i;

	/* The weight scaled to 32 bits, heaviest first, ties by position. */
	for (i = 0; i < n; i++)
		ws->key[i] = (uint64_t)(UINT32_MAX - (uint32_t)(w[i] / wmax *
		    (UINT32_MAX - 1))) << 32 | i;
	ws_sort_u64(ws, ws->key, n);
}

int
peers_push(struct sched_ws *ws, const uint32_t *idx, const uint32_t *len,
    size_t n, size_t nmb, struct plan *out)
{
	struct peers *p = ws->peers;
	size_t i, j, c, dp = (size_t)ws->dp, nk = 2 * dp;
	uint32_t m;
	int d, rc;

	/* Micro-batches by key 2 owner + (own): a DP rank's spanning ones
	 * first, each run in id order (counting sort, stable). */
	for (c = 0; c <= nk; c++)
		p->cnt[c] = 0;
	for (j = 0; j < nmb; j++)
		p->cnt[2 * (size_t)p->owner[j] + (p->span[j] == 1) + 1]++;
	for (c = 0; c < nk; c++)
		p->cnt[c + 1] += p->cnt[c];
	for (j = 0; j < nmb; j++)
		p->mbord[p->cnt[2 * (size_t)p->owner[j] + (p->span[j] == 1)]++] =
		    (uint32_t)j;
	/* Samples by micro-batch, in batch order: ws->arr, ws->mbfirst. */
	for (j = 0; j <= nmb; j++)
		ws->mbfirst[j] = 0;
	for (i = 0; i < n; i++)
		ws->mbfirst[p->mb[i] + 1]++;
	for (j = 0; j < nmb; j++)
		ws->mbfirst[j + 1] += ws->mbfirst[j];
	for (j = 0; j < nmb; j++)
		ws->mbtok[j] = ws->mbfirst[j];
	for (i = 0; i < n; i++)
		ws->arr[ws->mbtok[p->mb[i]]++] = (uint32_t)i;
	for (d = 0, c = 0; d < ws->dp; d++) {
		if ((rc = plan_rank_begin(out)) != SK_OK)
			return rc;
		for (; c < nmb && p->owner[p->mbord[c]] == d; c++) {
			m = p->mbord[c];
			if ((rc = plan_mb_begin_span(out, p->span[m])) != SK_OK)
				return rc;
			for (j = ws->mbfirst[m]; j < ws->mbfirst[m + 1]; j++) {
				i = ws->arr[j];
				if ((rc = plan_push_group(out, idx[i], len[i],
				    p->first[i], p->size[i])) != SK_OK)
					return rc;
			}
		}
	}
	return SK_OK;
}
