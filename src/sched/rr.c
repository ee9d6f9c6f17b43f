/* rr: the round-robin baseline of the paper's case study (arXiv
 * 2505.19609, Algorithm 4) and the `rr` policy: GDS micro-batches, RR placement. */
#include <stddef.h>
#include <stdint.h>

#include "dacp.h"
#include "err.h"
#include "plan.h"
#include "ws.h"

#define POS_MASK 0xffffffffu

/*
 * Algorithm 4: each sequence goes whole to the rank with the most room if
 * it fits there, else sharded if 1/N fits on the tightest rank, else the
 * tightest rank rolls back its first local sequence and the sequence is
 * tried again.  Memory-driven: FLOPs play no part.  The sequences are
 * taken in input order, as the printed algorithm takes them, and the
 * policy hands each micro-batch over in dataset order.  Taken in
 * ascending length instead, RR would place exactly as DACP does (the
 * least-loaded rank is then also the roomiest: 0 of 999,984 Wikipedia
 * samples differed), and the paper's case study (Table 3) could not
 * separate them.  Roll-back uses DACP's corrected accounting (see dacp.c
 * for why every placement then fits), and without roll-back an unfitting
 * shard goes in over the bucket.
 */
int
rr_place(struct sched_ws *ws, const uint32_t *len, const double *fl,
    size_t k, int32_t *place)
{
	int64_t s;
	size_t i, p;
	int t, j, rc;

	if ((rc = dacp_begin(ws, len, k, 0)) != SK_OK)
		return rc;
	for (i = 0; i < k; ) {
		p = ws->dkey[i] & POS_MASK;
		s = len[p];
		t = dacp_tightest(ws);
		j = dacp_roomiest(ws);
		if (ws->rb[j] >= (int64_t)ws->N * s) {
			place[p] = j;
			ws->rb[j] -= (int64_t)ws->N * s;
			i++;
			continue;
		}
		if (ws->rb[t] >= s || !ws->par.rollback) {
			place[p] = PLAN_SHARDED;
			for (j = 0; j < ws->N; j++)
				ws->rb[j] -= s;
			i++;
			continue;
		}
		if (!dacp_rollback(ws, len, NULL, i, t, place))
			goto fail;
		/*
		 * In input order the sequence rolled back may be longer than
		 * the one being placed, and charging it to the other ranks can
		 * leave one of them over its bucket; roll back there too until
		 * none is.  This ends: a rank holding no local sequence has
		 * RB = N x C - sharded tokens >= 0, since a micro-batch holds at
		 * most N x C tokens.
		 */
		while (ws->rb[t = dacp_tightest(ws)] < 0)
			if (!dacp_rollback(ws, len, NULL, i, t, place))
				goto fail;
	}
	return SK_OK;
fail:
	return err_set(SK_ERR_RANGE, "RR: no placement for a sequence of "
	    "%lld tokens: CP rank %d is full and holds no local sequence to "
	    "roll back (capacity %d x %u tokens)", (long long)s, t, ws->N,
	    ws->job.bucket);
}

static int
run(struct sched_ws *ws, const uint32_t *idx, const uint32_t *len, size_t n,
    struct plan *out)
{
	return gds_compose(ws, idx, len, n, rr_place, 1, out);
}

const struct sched_policy rr_policy = {
	.name = "rr",
	.summary = "GDS micro-batches in dataset order, placement by free "
	    "memory (Algorithm 4)",
	.batching = BATCHING_ORDER,
	.run = run
};
