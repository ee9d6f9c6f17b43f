/*
 * hdp: the `hdp` policy, ByteScale's data-aware hybrid data parallelism
 * (Ge et al., arXiv 2502.21231) on skrull's model.
 *
 * ByteScale treats the dp x cp GPUs as one mesh rather than DP groups of
 * fixed CP degree: a short sequence skips context parallelism and runs
 * whole on one GPU, anywhere in the mesh; a long one is spread over as
 * many GPUs as its memory needs, more than one CP group if need be; and
 * the sequences are balanced across the mesh by their time, each GPU
 * running as many micro-batches as its share takes.  Here:
 *
 *   - a sample needs ceil(S / bucket) GPUs; up to cp of them, its group is
 *     the smallest divisor of cp that many or more (peers_gmin), an
 *     aligned block of one DP rank's CP group; beyond cp it takes
 *     s = ceil(ceil(S / bucket) / cp) whole DP ranks, a micro-batch that
 *     spans them (plan_mb_begin_span) with the sample sharded over all its
 *     s x cp ranks;
 *   - its weight is ops_seq_sec over its group, each GPU of the group
 *     getting an equal share;
 *   - the spanning samples first (their micro-batches run first), then the
 *     others, each heaviest share first onto the place whose busiest GPU
 *     is least: the s consecutive DP ranks, or the aligned block of any
 *     DP rank's CP group (a single GPU for a whole sample); a group's GPUs
 *     all end at its busiest one's time plus the share (they run it
 *     together);
 *   - each DP rank's own samples then fill micro-batches in the same
 *     order: the first takes every sample that fits beside those before it
 *     (each rank's tokens plus its shares within bucket), the next the
 *     rest, ... (first-fit decreasing).
 *
 * Left out: ByteScale's communication optimiser (its ring P2P over
 * dynamic groups, here the all-gather CP of skrull's model over the
 * group's ranks), its balance of the remaining imbalance by moving
 * micro-batches between pipeline stages, and the packing of short
 * samples into the memory a spanning micro-batch leaves.
 */
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "ops.h"
#include "peers.h"
#include "plan.h"
#include "ws.h"

#define POS_MASK 0xffffffffu
#define SHARE_MAX 0x7fffffffu  /* 31 bits of the key: the share, scaled */

/* The busiest of GPUs [g, g + n). */
static double
busiest(const double *gpu, int g, int n)
{
	double t = 0;
	int q;

	for (q = g; q < g + n; q++)
		if (gpu[q] > t)
			t = gpu[q];
	return t;
}

/* GPUs [g, g + n) run a share of sh seconds together. */
static void
occupy(double *gpu, int g, int n, double sh)
{
	double t = busiest(gpu, g, n) + sh;
	int q;

	for (q = g; q < g + n; q++)
		gpu[q] = t;
}

/*
 * Sample i's place on the mesh: a spanning micro-batch from the first of
 * the s consecutive DP ranks whose busiest GPU is least (it gets its own
 * micro-batch, id *nmb), or the DP rank (ws->bin) and aligned block
 * (p->first) whose busiest GPU is least; the lowest on ties.
 */
static void
put(struct sched_ws *ws, uint32_t i, double sh, size_t *nmb)
{
	struct peers *p = ws->peers;
	int N = ws->N, g = p->size[i], s, d, f, bd = 0, bf = 0;
	double t, bt = -1;

	if (g > N) {
		s = g / N;
		for (d = 0; d + s <= ws->dp; d++)
			if ((t = busiest(p->gpu, d * N, g)) < bt || bt < 0) {
				bt = t;
				bd = d;
			}
		occupy(p->gpu, bd * N, g, sh);
		p->first[i] = 0;
		p->mb[i] = (uint32_t)*nmb;
		p->owner[*nmb] = bd;
		p->span[(*nmb)++] = s;
		return;
	}
	for (d = 0; d < ws->dp; d++)
		for (f = 0; f < N; f += g)
			if ((t = busiest(p->gpu, d * N + f, g)) < bt || bt < 0) {
				bt = t;
				bd = d;
				bf = f;
			}
	occupy(p->gpu, bd * N + bf, g, sh);
	ws->bin[i] = bd;
	p->first[i] = bf;
}

/* DP rank d's own c samples sub[0..c) (in placing order) into
 * micro-batches from id *nmb, first-fit decreasing: each micro-batch takes
 * every remaining sample whose ranks all have room (the scaled memory of
 * ws.h: cp x local + (cp / size) x length <= cp x bucket), the rest wait
 * for the next.  Every sample fits an empty one (size >= its need). */
static void
pack(struct sched_ws *ws, const uint32_t *len, int d, size_t c, size_t *nmb)
{
	struct peers *p = ws->peers;
	int64_t cap = (int64_t)ws->N * ws->job.bucket, need;
	size_t x, kept;
	uint32_t i;
	int q, f, g, ok;

	while (c > 0) {
		for (q = 0; q < ws->N; q++)
			ws->rb[q] = cap;
		for (x = 0, kept = 0; x < c; x++) {
			i = ws->sub[x];
			f = p->first[i];
			g = p->size[i];
			need = (int64_t)(ws->N / g) * len[i];
			for (q = f, ok = 1; q < f + g && ok; q++)
				ok = ws->rb[q] >= need;
			if (!ok) {
				ws->sub[kept++] = i;
				continue;
			}
			for (q = f; q < f + g; q++)
				ws->rb[q] -= need;
			p->mb[i] = (uint32_t)*nmb;
		}
		p->owner[*nmb] = d;
		p->span[(*nmb)++] = 1;
		c = kept;
	}
}

static int
run(struct sched_ws *ws, const uint32_t *idx, const uint32_t *len, size_t n,
    struct plan *out)
{
	struct peers *p = ws->peers;
	uint32_t B = ws->job.bucket, i;
	uint64_t need, s;
	double shmax = 0;
	size_t q, c, nmb = 0;
	int N = ws->N, k, d;

	if (n > ws->max)
		return err_set(SK_ERR_RANGE, "global batch of %zu samples "
		    "exceeds the scheduler workspace of %zu", n, ws->max);
	for (i = 0; i < n; i++) {
		need = ((uint64_t)len[i] + B - 1) / B;
		if ((k = peers_gmin(p, len[i], B)) >= 0)
			p->size[i] = p->sizes[k];
		else if ((s = (need + N - 1) / N) <= (uint64_t)ws->dp)
			p->size[i] = (int)s * N;
		else
			return err_set(SK_ERR_RANGE, "sample %u (%u tokens) is "
			    "longer than the mesh holds, %d x %d x %u tokens",
			    idx[i], len[i], ws->dp, N, B);
		/* The share of each of its GPUs. */
		ws->w[i] = ops_seq_sec(&ws->rate, len[i], p->size[i]) /
		    p->size[i];
		if (ws->w[i] > shmax)
			shmax = ws->w[i];
	}
	/* Spanning first (bit 63 clear), then heaviest share first, ties by
	 * position. */
	for (i = 0; i < n; i++)
		ws->key[i] = (uint64_t)(p->size[i] <= N) << 63 |
		    (uint64_t)(SHARE_MAX - (uint32_t)(ws->w[i] / shmax *
		    (SHARE_MAX - 1))) << 32 | i;
	ws_sort_u64(ws, ws->key, n);
	for (k = 0; k < p->G; k++)
		p->gpu[k] = 0;
	for (q = 0; q < n; q++)
		put(ws, (uint32_t)(ws->key[q] & POS_MASK), ws->w[ws->key[q] &
		    POS_MASK], &nmb);
	for (d = 0; d < ws->dp; d++) {
		for (q = 0, c = 0; q < n; q++) {
			i = (uint32_t)(ws->key[q] & POS_MASK);
			if (p->size[i] <= N && ws->bin[i] == d)
				ws->sub[c++] = i;
		}
		pack(ws, len, d, c, &nmb);
	}
	return peers_push(ws, idx, len, n, nmb, out);
}

const struct sched_policy hdp_policy = {
	.name = "hdp",
	.summary = "ByteScale's hybrid DP x CP mesh: short samples whole on "
	    "any GPU, long ones over the GPUs they need, across DP ranks",
	.batching = BATCHING_ORDER,
	.reach = REACH_MESH,
	.run = run
};
