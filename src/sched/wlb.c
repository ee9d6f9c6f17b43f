/*
 * wlb: the `wlb` policy, WLB-LLM (Wang et al., arXiv 2503.17924) on
 * skrull's model.
 *
 * WLB-LLM packs a global batch into a fixed number of micro-batches so
 * that their workloads, attention's quadratic term plus the linear ones,
 * are balanced, each holding as many tokens as its memory allows rather
 * than a fixed count (variable-length packing), and shards every document
 * of a micro-batch over the CP group (per-document sharding), so that each
 * CP rank gets a balanced slice of every document instead of a slice of
 * the packed sequence.  Here:
 *
 *   - a sample's workload is its GPU-seconds sharded over the CP group,
 *     ops_seq_sec(S, cp) (the saturated linear cost plus attention at the
 *     shards' efficiency);
 *   - the global batch goes into M = dp x m micro-batches, m the fewest
 *     per DP rank that memory allows: heaviest first, each sample into the
 *     micro-batch with the least workload that still has room for it
 *     (bucket x cp tokens); when one fits none, m + 1;
 *   - the micro-batches are dealt to the DP ranks, heaviest first to the
 *     rank with the least workload among those with fewer than m, so that
 *     every rank runs m (fewer only when the batch has fewer samples);
 *   - every sample is sharded over all cp ranks of its micro-batch.
 *
 * The outlier delay (holding very long documents back until there are
 * enough to spread) changes the global batches, so it is the batcher's,
 * behind the outlier-delay knob (sched.c).  Left out: pipeline
 * parallelism (WLB-LLM balances the micro-batches of a pipeline; here
 * those of the DP ranks), the adaptive choice between per-sequence and
 * per-document sharding (always per document), and the multi-level
 * outlier queue (one threshold).
 */
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "ops.h"
#include "peers.h"
#include "plan.h"
#include "ws.h"

#define POS_MASK 0xffffffffu

/*
 * The n samples, heaviest first (ws->key), into M micro-batches: each into
 * the one with the least workload that has room, ties to the fewer tokens
 * (so an empty micro-batch is taken before a loaded one of equal weight:
 * none stays empty while M <= n) and then the lower index.  p->mb gets
 * each sample's; SK_ERR_RANGE when one fits none.
 */
static int
pack(struct sched_ws *ws, const uint32_t *len, size_t n, size_t M)
{
	struct peers *p = ws->peers;
	size_t q, b, t;
	uint32_t i;

	for (b = 0; b < M; b++) {
		ws->mbw[b] = 0;
		ws->mbtok[b] = 0;
	}
	for (q = 0; q < n; q++) {
		i = (uint32_t)(ws->key[q] & POS_MASK);
		t = M;
		for (b = 0; b < M; b++)
			if (ws->mbtok[b] + len[i] <= ws->cap && (t == M ||
			    ws->mbw[b] < ws->mbw[t] || (ws->mbw[b] ==
			    ws->mbw[t] && ws->mbtok[b] < ws->mbtok[t])))
				t = b;
		if (t == M)
			return SK_ERR_RANGE;
		ws->mbw[t] += ws->w[i];
		ws->mbtok[t] += len[i];
		p->mb[i] = (uint32_t)t;
	}
	return SK_OK;
}

/* The M micro-batches to the DP ranks, at most m each: heaviest first to
 * the rank with the least workload (lowest on ties) that has fewer than m;
 * dp x m >= M, so one always has. */
static void
deal(struct sched_ws *ws, size_t M, size_t m, double wmax)
{
	struct peers *p = ws->peers;
	size_t b, q;
	int d, t;

	for (b = 0; b < M; b++)
		ws->dkey[b] = (uint64_t)(UINT32_MAX - (uint32_t)(ws->mbw[b] /
		    wmax * (UINT32_MAX - 1))) << 32 | b;
	ws_sort_u64(ws, ws->dkey, M);
	for (d = 0; d < ws->dp; d++) {
		ws->binload[d] = 0;
		p->nb[d] = 0;
	}
	for (q = 0; q < M; q++) {
		b = ws->dkey[q] & POS_MASK;
		t = -1;
		for (d = 0; d < ws->dp; d++)
			if ((size_t)p->nb[d] < m && (t < 0 ||
			    ws->binload[d] < ws->binload[t]))
				t = d;
		p->owner[b] = t;
		p->span[b] = 1;
		p->nb[t]++;
		ws->binload[t] += ws->mbw[b];
	}
}

static int
run(struct sched_ws *ws, const uint32_t *idx, const uint32_t *len, size_t n,
    struct plan *out)
{
	struct peers *p = ws->peers;
	uint64_t tok = 0, per = (uint64_t)ws->dp * ws->cap;
	double wmax = 0, mbmax = 0;
	size_t i, m, M, b;

	if (n > ws->max)
		return err_set(SK_ERR_RANGE, "global batch of %zu samples "
		    "exceeds the scheduler workspace of %zu", n, ws->max);
	for (i = 0; i < n; i++) {
		if (len[i] > ws->cap)
			return err_set(SK_ERR_RANGE, "sample %u (%u tokens) is "
			    "longer than its CP group holds, %d x %u tokens",
			    idx[i], len[i], ws->N, ws->job.bucket);
		ws->w[i] = ops_seq_sec(&ws->rate, len[i], ws->N);
		if (ws->w[i] > wmax)
			wmax = ws->w[i];
		tok += len[i];
		p->first[i] = 0;
		p->size[i] = ws->N;
	}
	peers_heavy_first(ws, ws->w, n, wmax);
	/* M = n always packs (a micro-batch per sample), so the loop ends
	 * by m = ceil(n / dp). */
	for (m = (size_t)((tok + per - 1) / per); ; m++) {
		M = m * (size_t)ws->dp < n ? m * (size_t)ws->dp : n;
		if (pack(ws, len, n, M) == SK_OK)
			break;
	}
	for (b = 0; b < M; b++)
		if (ws->mbw[b] > mbmax)
			mbmax = ws->mbw[b];
	deal(ws, M, m, mbmax);
	return peers_push(ws, idx, len, n, M, out);
}

const struct sched_policy wlb_policy = {
	.name = "wlb",
	.summary = "WLB-LLM: micro-batches of every DP rank packed to equal "
	    "estimated workload, each sample sharded over the CP group",
	.batching = BATCHING_ORDER,
	.reach = REACH_CP,
	.run = run
};
