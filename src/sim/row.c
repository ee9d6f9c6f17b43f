/*
 * row: an iteration's report row from its finished simulation, see
 * sim_int.h.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "cost.h"
#include "sim_int.h"

/* Fill iteration it's report row from the finished simulation. */
int
row_fill(struct ws *w, size_t it, sim_ns tend)
{
	struct ctx *x = w->x;
	const struct plan *p = x->p;
	struct report *r = x->r;
	size_t row = it - r->first, m, k;
	double mf = 0;
	uint64_t tokens = 0;
	int gi, d, e = SK_OK;

	x->tns[row] = tend;
	r->time[row] = (double)tend * 1e-9;
	for (d = 0; d < x->dp; d++) {
		const struct plan_rank *rk = &p->ranks[it * x->dp + d];

		for (m = 0; m < rk->n; m++) {
			const struct plan_mb *mb = &p->mbs[rk->first + m];

			for (k = 0; k < mb->n; k++) {
				double S = p->samples[mb->first + k].len;

				tokens += p->samples[mb->first + k].len;
				mf += cost_seq_flops(x->j, S, COST_FWD) +
				    cost_seq_flops(x->j, S, COST_BWD);
			}
		}
	}
	r->tokens[row] = tokens;
	r->model_flops[row] = mf;
	for (gi = 0; gi < x->G; gi++) {
		const struct gstate *g = &w->gpu[gi];
		struct report_cell *cell = report_cell(r, row, gi);
		double fl = x->opt_flops;

		for (m = 0; m < g->M; m++)
			fl += part_of(w, g, (uint32_t)m)->flops;
		cell->busy = (double)g->busy * 1e-9;
		cell->comm = (double)g->exposed * 1e-9;
		cell->wait = (double)(tend - g->busy - g->exposed) * 1e-9;
		cell->flops = fl;
		cell->peak = x->statics + g->act_peak;
		if (cell->peak > x->avail) {
			pthread_mutex_lock(&x->mu);
			e = report_add_oom(r, it, gi, cell->peak, x->avail);
			pthread_mutex_unlock(&x->mu);
			if (e != SK_OK)
				return e;
		}
	}
	return SK_OK;
}

static int
cmp_oom(const void *a, const void *b)
{
	const struct report_oom *x = a, *y = b;

	if (x->iter != y->iter)
		return x->iter < y->iter ? -1 : 1;
	return (x->gpu > y->gpu) - (x->gpu < y->gpu);
}

void
row_sort_oom(struct report *r)
{
	if (r->noom > 1)
		qsort(r->oom, r->noom, sizeof *r->oom, cmp_oom);
}
