/* pstats: see pstats.h and skrull(7). */
#include <stdlib.h>
#include <string.h>

#include "cost.h"
#include "err.h"
#include "pstats.h"

/* max/mean of v[0..n), 1 when the mean is 0 (nothing to balance). */
static double
imbalance(const double *v, size_t n)
{
	double sum = 0, max = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		sum += v[i];
		if (v[i] > max)
			max = v[i];
	}
	return sum > 0 ? max * (double)n / sum : 1.0;
}

/* FLOPs and tokens per rank of micro-batch mb (W ranks) into flops and
 * tokens; the counts of local and sharded samples into s. */
static void
mb_load(const struct plan *p, const struct plan_mb *mb, double *flops,
    double *tokens, struct pstats *s)
{
	const struct job *j = &p->job;
	size_t i, W = (size_t)plan_mb_width(p, mb), r;
	double f;

	memset(flops, 0, W * sizeof *flops);
	memset(tokens, 0, W * sizeof *tokens);
	for (i = mb->first; i < mb->first + mb->n; i++) {
		const struct plan_sample *x = &p->samples[i];

		if (x->place == PLAN_SHARDED) {
			f = cost_shard_flops_total(j, x->len, x->size);
			for (r = x->first; r < (size_t)x->first + x->size;
			    r++) {
				flops[r] += f;
				tokens[r] += (double)x->len / x->size;
			}
			s->samples_sharded++;
			s->tokens_sharded += x->len;
		} else {
			flops[x->place] += cost_seq_flops_total(j, x->len);
			tokens[x->place] += x->len;
			s->samples_local++;
			s->tokens_local += x->len;
		}
	}
}

int
pstats_compute(const struct plan *p, struct pstats *s)
{
	const struct job *j = &p->job;
	size_t dp = (size_t)j->dp, G = dp * (size_t)j->cp;
	double *flops = NULL, *tokens = NULL, *rankf = NULL;
	size_t it, d, m, r, W, e;
	double dpsum = 0, cpsum = 0, memsum = 0, busiest;
	int rc = SK_OK;

	memset(s, 0, sizeof *s);
	flops = calloc(G, sizeof *flops);
	tokens = calloc(G, sizeof *tokens);
	rankf = calloc(dp, sizeof *rankf);
	if (flops == NULL || tokens == NULL || rankf == NULL) {
		rc = err_set(SK_ERR_NOMEM, "plan statistics: out of memory");
		goto out;
	}
	s->iterations = p->niter;
	s->micro_batches = p->nmbs;
	for (it = 0; it < p->niter; it++) {
		for (d = 0; d < dp; d++)
			rankf[d] = 0;
		for (d = 0; d < dp; d++) {
			const struct plan_rank *rk = &p->ranks[it * dp + d];

			if (rk->n > s->mb_per_rank_max)
				s->mb_per_rank_max = rk->n;
			for (m = rk->first; m < rk->first + rk->n; m++) {
				const struct plan_mb *mb = &p->mbs[m];

				W = (size_t)plan_mb_width(p, mb);
				if (mb->span > 1)
					s->mb_spanning++;
				mb_load(p, mb, flops, tokens, s);
				busiest = 0;
				for (r = 0; r < W; r++) {
					s->flops += flops[r];
					if (flops[r] > busiest)
						busiest = flops[r];
					if (tokens[r] / j->bucket > s->mem_peak)
						s->mem_peak = tokens[r] / j->bucket;
				}
				/* every DP rank it spans waits for its
				 * busiest rank */
				for (e = d; e < d + (size_t)mb->span; e++)
					rankf[e] += busiest;
				cpsum += imbalance(flops, W);
				memsum += imbalance(tokens, W);
			}
		}
		dpsum += imbalance(rankf, dp);
	}
	if (p->niter > 0) {
		s->mb_per_rank_mean = (double)p->nmbs / (double)(p->niter * dp);
		s->dp_balance = dpsum / (double)p->niter;
	}
	if (p->nmbs > 0) {
		s->cp_balance = cpsum / (double)p->nmbs;
		s->mem_balance = memsum / (double)p->nmbs;
	}
out:
	free(flops);
	free(tokens);
	free(rankf);
	return rc;
}
