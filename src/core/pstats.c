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

int
pstats_compute(const struct plan *p, struct pstats *s)
{
	const struct job *j = &p->job;
	size_t cp = (size_t)j->cp, dp = (size_t)j->dp;
	double *flops = NULL, *tokens = NULL, *rankf = NULL;
	size_t it, d, m, i, r;
	double dpsum = 0, cpsum = 0, memsum = 0;
	int rc = SK_OK;

	memset(s, 0, sizeof *s);
	flops = calloc(cp, sizeof *flops);
	tokens = calloc(cp, sizeof *tokens);
	rankf = calloc(dp, sizeof *rankf);
	if (flops == NULL || tokens == NULL || rankf == NULL) {
		rc = err_set(SK_ERR_NOMEM, "plan statistics: out of memory");
		goto out;
	}
	s->iterations = p->niter;
	s->micro_batches = p->nmbs;
	for (it = 0; it < p->niter; it++) {
		for (d = 0; d < dp; d++) {
			const struct plan_rank *rk = &p->ranks[it * dp + d];

			rankf[d] = 0;
			if (rk->n > s->mb_per_rank_max)
				s->mb_per_rank_max = rk->n;
			for (m = rk->first; m < rk->first + rk->n; m++) {
				const struct plan_mb *mb = &p->mbs[m];
				double busiest = 0;

				memset(flops, 0, cp * sizeof *flops);
				memset(tokens, 0, cp * sizeof *tokens);
				for (i = mb->first; i < mb->first + mb->n; i++) {
					const struct plan_sample *x = &p->samples[i];
					double f;

					if (x->place == PLAN_SHARDED) {
						f = cost_shard_flops_total(j, x->len, j->cp);
						for (r = 0; r < cp; r++) {
							flops[r] += f;
							tokens[r] += (double)x->len / (double)cp;
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
				for (r = 0; r < cp; r++) {
					s->flops += flops[r];
					if (flops[r] > busiest)
						busiest = flops[r];
					if (tokens[r] / j->bucket > s->mem_peak)
						s->mem_peak = tokens[r] / j->bucket;
				}
				rankf[d] += busiest;
				cpsum += imbalance(flops, cp);
				memsum += imbalance(tokens, cp);
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
