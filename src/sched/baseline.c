/*
 * baseline: the paper's baselines (arXiv 2505.19609, its experiments): `deepspeed`, every
 * sample sharded over the CP group in micro-batches of consecutive samples,
 * and `sorted`, LongAlign's sorted batching (done by the batcher in
 * sched.c) with the same micro-batches.  baseline_run is also the
 * micro-batcher of the `dacp` policy.
 */
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "plan.h"
#include "ws.h"

/*
 * DP assignment: contiguous slices, rank d taking batch positions
 * [n d / dp, n (d + 1) / dp): exactly `batch` samples each for a full
 * global batch, and as even as possible for the last partial one (a rank
 * may get none when n < dp).  Micro-batches: consecutive samples while
 * their tokens stay within mb_budget and their count below mb_samples
 * (when set); a sample over the budget goes alone.  mb_samples = 1 is
 * DeepSpeed's train_micro_batch_size_per_gpu = 1, the baseline that
 * reproduces the paper (README, "What the simulator says").
 */
int
baseline_run(struct sched_ws *ws, const uint32_t *idx, const uint32_t *len,
    size_t n, const double *fl, sched_place_fn place, struct plan *out)
{
	size_t d, a, b, i, m, k, q;
	uint64_t tok;
	int rc;

	if (n > ws->max)
		return err_set(SK_ERR_RANGE, "global batch of %zu samples "
		    "exceeds the scheduler workspace of %zu", n, ws->max);
	for (d = 0; d < (size_t)ws->dp; d++) {
		a = n * d / (size_t)ws->dp;
		b = n * (d + 1) / (size_t)ws->dp;
		m = 0;
		tok = 0;
		k = 0;
		for (i = a; i < b; i++) {
			if (k > 0 && (tok + len[i] > ws->mb_budget ||
			    (ws->par.mb_samples > 0 &&
			    k >= (size_t)ws->par.mb_samples))) {
				m++;
				tok = 0;
				k = 0;
			}
			if (k == 0)
				ws->mbfirst[m] = i - a;
			ws->arr[i - a] = (uint32_t)i;
			tok += len[i];
			k++;
		}
		if (k > 0)
			m++;
		ws->mbfirst[m] = b - a;
		for (q = 0; q < m; q++) {
			a = ws->mbfirst[q];
			k = ws->mbfirst[q + 1] - a;
			if (place == NULL) {
				for (i = a; i < a + k; i++)
					ws->place[i] = PLAN_SHARDED;
				continue;
			}
			ws_gather(ws, len, fl, a, k);
			rc = place(ws, ws->glen, fl != NULL ? ws->gfl : NULL, k,
			    ws->place + a);
			if (rc != SK_OK)
				return rc;
		}
		if ((rc = ws_push_rank(ws, idx, len, m, out)) != SK_OK)
			return rc;
	}
	return SK_OK;
}

static int
run(struct sched_ws *ws, const uint32_t *idx, const uint32_t *len, size_t n,
    struct plan *out)
{
	return baseline_run(ws, idx, len, n, NULL, NULL, out);
}

const struct sched_policy baseline_deepspeed_policy = {
	.name = "deepspeed",
	.summary = "every sample sharded; consecutive samples packed into "
	    "micro-batches",
	.batching = BATCHING_ORDER,
	.run = run
};

/* Global batches by sorted batching; within a batch it is deepspeed. */
const struct sched_policy baseline_sorted_policy = {
	.name = "sorted",
	.summary = "LongAlign sorted batching, then as deepspeed",
	.batching = BATCHING_SORTED,
	.run = run
};
