/* dacp: see dacp.h and the paper's Algorithm 1. */
#include <stddef.h>
#include <stdint.h>

#include "dacp.h"
#include "err.h"
#include "plan.h"
#include "ws.h"

#define POS_MASK 0xffffffffu

int
dacp_begin(struct sched_ws *ws, const uint32_t *len, size_t k, int sorted)
{
	size_t i;
	int r;

	if (k > ws->max)
		return err_set(SK_ERR_RANGE, "micro-batch of %zu sequences "
		    "exceeds the scheduler workspace of %zu", k, ws->max);
	for (r = 0; r < ws->N; r++) {
		ws->rb[r] = (int64_t)ws->cap;
		ws->load[r] = 0;
		ws->head[r] = 0;
	}
	/* Position in the low half: ties in length keep input order. */
	for (i = 0; i < k; i++)
		ws->dkey[i] = (sorted ? (uint64_t)len[i] << 32 : 0) | i;
	if (sorted)
		ws_sort_u64(ws, ws->dkey, k);
	return SK_OK;
}

int
dacp_tightest(const struct sched_ws *ws)
{
	int r, t = 0;

	for (r = 1; r < ws->N; r++)
		if (ws->rb[r] < ws->rb[t])
			t = r;
	return t;
}

int
dacp_roomiest(const struct sched_ws *ws)
{
	int r, t = 0;

	for (r = 1; r < ws->N; r++)
		if (ws->rb[r] > ws->rb[t])
			t = r;
	return t;
}

int
dacp_rollback(struct sched_ws *ws, const uint32_t *len, const double *fl,
    size_t upto, int r, int32_t *place)
{
	int64_t S;
	double F;
	size_t q, p;
	int j;

	/*
	 * Local sequences join a rank in processing order and leave it only
	 * here, so every position before head[r] is known not to be local on
	 * r: the scan resumes there and the roll-backs of one call cost O(k)
	 * per rank in all.
	 */
	for (q = ws->head[r]; q < upto; q++)
		if (place[ws->dkey[q] & POS_MASK] == r)
			break;
	ws->head[r] = q;
	if (q == upto)
		return 0;
	p = ws->dkey[q] & POS_MASK;
	S = len[p];
	place[p] = PLAN_SHARDED;
	for (j = 0; j < ws->N; j++)
		ws->rb[j] -= S;
	ws->rb[r] += (int64_t)ws->N * S;
	if (fl != NULL) {
		F = fl[p];
		for (j = 0; j < ws->N; j++)
			ws->load[j] += F / ws->N;
		ws->load[r] -= F;
	}
	return 1;
}

/* The message of a failed placement: rank r, the tightest, cannot take a
 * shard of s tokens and holds no local sequence to roll back. */
static int
fail(const struct sched_ws *ws, const uint32_t *len, size_t k, int r,
    uint32_t s)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < k; i++)
		sum += len[i];
	return err_set(SK_ERR_RANGE, "no placement for a sequence of %u "
	    "tokens: CP rank %d is full and holds no local sequence to roll "
	    "back (micro-batch of %zu sequences, %llu tokens, capacity %d x "
	    "%u = %llu tokens)", s, r, k, (unsigned long long)sum, ws->N,
	    ws->job.bucket, (unsigned long long)ws->cap);
}

/*
 * Algorithm 1.  The corrected accounting charges every other rank S/N for
 * a sequence turned sharded, which can push one of them over its bucket
 * (RB < 0), but only for a moment.  Roll-back happens only once the
 * current sequence s fits whole nowhere (RB[j] < N s for all j); it frees
 * (N - 1) S <= (N - 1) s on the tightest rank, whose RB was below s, and
 * takes S from the others: still no rank reaches N s.  So s can only end up
 * sharded, which needs RB >= s on the tightest rank, i.e. on all: whenever
 * a sequence is placed, every rank is within its bucket.  And roll-back
 * fails only on a tightest rank with no local sequence, whose RB is
 * N x C minus the sharded tokens: it fails exactly when the micro-batch
 * holds more than N x C tokens.
 */
int
dacp_place_flops(struct sched_ws *ws, const uint32_t *len, const double *fl,
    size_t k, int32_t *place)
{
	int64_t s, ns;
	size_t i, p;
	int N = ws->N, t, j;
	int rc;

	if ((rc = dacp_begin(ws, len, k, 1)) != SK_OK)
		return rc;
	if (fl == NULL) {
		for (i = 0; i < k; i++)
			ws->dfl[i] = ws_flops(ws, len[i]);
		fl = ws->dfl;
	}
	for (i = 0; i < k; ) {
		p = ws->dkey[i] & POS_MASK;
		s = len[p];
		ns = (int64_t)N * s;
		/* Compute balance first: the least-loaded rank (lowest index
		 * on ties), then the rank with the most room. */
		t = 0;
		for (j = 1; j < N; j++)
			if (ws->load[j] < ws->load[t])
				t = j;
		if (ws->rb[t] < ns)
			t = dacp_roomiest(ws);
		if (ws->rb[t] >= ns) {
			place[p] = t;
			ws->rb[t] -= ns;
			ws->load[t] += fl[p];
			i++;
			continue;
		}
		/*
		 * Shard when 1/N fits on the tightest rank.  Without roll-back
		 * the shard goes in regardless, over the bucket: the plan then
		 * fails plan_validate, as the paper's runs without roll-back
		 * ran out of memory (Table 3).
		 */
		t = dacp_tightest(ws);
		if (ws->rb[t] >= s || !ws->par.rollback) {
			place[p] = PLAN_SHARDED;
			for (j = 0; j < N; j++) {
				ws->rb[j] -= s;
				ws->load[j] += fl[p] / N;
			}
			i++;
			continue;
		}
		if (!dacp_rollback(ws, len, fl, i, t, place))
			return fail(ws, len, k, t, (uint32_t)s);
	}
	return SK_OK;
}

int
dacp_place(struct sched_ws *ws, const uint32_t *len, size_t k,
    int32_t *place)
{
	return dacp_place_flops(ws, len, NULL, k, place);
}

/* DeepSpeed's micro-batches, DACP inside each (the paper's component study, "DACP
 * only").  A micro-batch within mb_tokens <= N x C always admits DACP with
 * roll-back; a larger mb_tokens can make it fail, reported as it is. */
static int
run(struct sched_ws *ws, const uint32_t *idx, const uint32_t *len, size_t n,
    struct plan *out)
{
	if (n > ws->max)
		return err_set(SK_ERR_RANGE, "global batch of %zu samples "
		    "exceeds the scheduler workspace of %zu", n, ws->max);
	ws_batch_flops(ws, len, n);
	return baseline_run(ws, idx, len, n, ws->fl, dacp_place_flops, out);
}

const struct sched_policy dacp_policy = {
	.name = "dacp",
	.summary = "DeepSpeed micro-batches, DACP placement inside each",
	.batching = BATCHING_ORDER,
	.run = run
};
