/*
 * gds: Global Data Scheduling (arXiv 2505.19609, Algorithm 2)
 * and the `skrull` policy: GDS micro-batches with DACP placement.
 */
#include <stddef.h>
#include <stdint.h>

#include "dacp.h"
#include "err.h"
#include "plan.h"
#include "ws.h"

#define POS_MASK 0xffffffffu

/*
 * Sort the batch ascending by length, ties by batch position, into
 * ws->key, and bin-pack it over the DP ranks into ws->bin.  lpt: greedy LPT
 * on FLOPs, heaviest first into the least-loaded rank (lowest index on
 * ties).  FLOPs grow with length in both estimates, so heaviest first is
 * the sorted order backwards (equal lengths: later batch position first):
 * deterministic.  The paper balances FLOPs, not counts, so a DP rank may
 * get more or fewer than `batch` samples; the global batch, and so the
 * update, is the same (gradients are averaged per token over the whole
 * global batch).  none: contiguous slices as deepspeed's.
 */
static void
binpack(struct sched_ws *ws, const uint32_t *len, size_t n)
{
	size_t i, p;
	int d, t, dp = ws->dp;

	for (i = 0; i < n; i++)
		ws->key[i] = (uint64_t)len[i] << 32 | i;
	ws_sort_u64(ws, ws->key, n);
	if (ws->par.binpack == BINPACK_NONE) {
		for (d = 0; d < dp; d++)
			for (i = n * (size_t)d / (size_t)dp;
			    i < n * (size_t)(d + 1) / (size_t)dp; i++)
				ws->bin[i] = d;
		return;
	}
	for (d = 0; d < dp; d++)
		ws->binload[d] = 0;
	for (i = n; i-- > 0; ) {
		p = ws->key[i] & POS_MASK;
		t = 0;
		for (d = 1; d < dp; d++)
			if (ws->binload[d] < ws->binload[t])
				t = d;
		ws->bin[p] = t;
		ws->binload[t] += ws->fl[p];
	}
}

/*
 * Try m micro-batches over the c samples sub[0..c) (ascending): strided,
 * micro-batch j takes the sorted elements j, j + m, j + 2m, ...; blocked
 * (an ablation), it takes the j-th of m contiguous runs of the sorted
 * order.  Accepted when every micro-batch holds at most N x C tokens (the
 * paper's "< C x N", made inclusive to match the memory bound exactly) and
 * place accepts it.  SK_ERR_RANGE from place means "try m + 1".
 */
static int
attempt(struct sched_ws *ws, const uint32_t *len, size_t c, size_t m,
    sched_place_fn place, int batch_order)
{
	size_t j, q, a, k, pos = 0;
	uint64_t tok;
	int rc;

	for (j = 0; j < m; j++) {
		ws->mbfirst[j] = pos;
		tok = 0;
		if (ws->par.interleave == INTERLEAVE_STRIDED) {
			for (q = j; q < c; q += m) {
				ws->arr[pos++] = ws->sub[q];
				tok += len[ws->sub[q]];
			}
		} else {
			for (q = c * j / m; q < c * (j + 1) / m; q++) {
				ws->arr[pos++] = ws->sub[q];
				tok += len[ws->sub[q]];
			}
		}
		if (tok > ws->cap)
			return SK_ERR_RANGE;
	}
	ws->mbfirst[m] = pos;
	for (j = 0; j < m; j++) {
		a = ws->mbfirst[j];
		k = ws->mbfirst[j + 1] - a;
		if (batch_order) {
			/* Batch positions are dataset order within a global
			 * batch; dkey is free until place() runs. */
			for (q = 0; q < k; q++)
				ws->dkey[q] = ws->arr[a + q];
			ws_sort_u64(ws, ws->dkey, k);
			for (q = 0; q < k; q++)
				ws->arr[a + q] = (uint32_t)ws->dkey[q];
		}
		ws_gather(ws, len, ws->fl, a, k);
		if ((rc = place(ws, ws->glen, ws->gfl, k, ws->place + a)) !=
		    SK_OK)
			return rc;
	}
	return SK_OK;
}

/*
 * Per DP rank: its samples ascending (ties by batch position), start
 * from m = ceil(tokens / (N x C)) micro-batches (at least 1) and add one
 * until every micro-batch fits; m = the rank's count (one sample per
 * micro-batch) always fits samples of at most N x C tokens, which the
 * batcher guarantees.  Everything is computed in the workspace; only the
 * accepted micro-batches reach the plan, in order j = 0 .. m-1.
 */
int
gds_compose(struct sched_ws *ws, const uint32_t *idx, const uint32_t *len,
    size_t n, sched_place_fn place, int batch_order, struct plan *out)
{
	size_t c, m;
	uint64_t tok;
	int d, rc = SK_ERR_RANGE;

	if (n > ws->max)
		return err_set(SK_ERR_RANGE, "global batch of %zu samples "
		    "exceeds the scheduler workspace of %zu", n, ws->max);
	ws_batch_flops(ws, len, n);
	binpack(ws, len, n);
	for (d = 0; d < ws->dp; d++) {
		c = ws_rank_samples(ws, len, n, d, &tok);
		for (m = ws_min_mbs(ws, tok); c > 0 && m <= c; m++) {
			rc = attempt(ws, len, c, m, place, batch_order);
			if (rc != SK_ERR_RANGE)
				break;
		}
		if (c == 0)
			m = 0;
		else if (rc != SK_OK)
			return rc == SK_ERR_RANGE ? err_set(SK_ERR_RANGE,
			    "DP rank %d: no micro-batching of its %zu samples "
			    "(%llu tokens) fits capacity %d x %u", d, c,
			    (unsigned long long)tok, ws->N, ws->job.bucket) :
			    rc;
		if ((rc = ws_push_rank(ws, idx, len, m, out)) != SK_OK)
			return rc;
	}
	return SK_OK;
}

static int
run(struct sched_ws *ws, const uint32_t *idx, const uint32_t *len, size_t n,
    struct plan *out)
{
	return gds_compose(ws, idx, len, n, dacp_place_flops, 0, out);
}

const struct sched_policy skrull_paper_policy = {
	.name = "skrull-paper",
	.summary = "the paper's Algorithms 1 and 2: FLOPs bin-packing over DP, "
	    "interleaved micro-batches, memory-driven DACP",
	.batching = BATCHING_ORDER,
	.run = run
};
