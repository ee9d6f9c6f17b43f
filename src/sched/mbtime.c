/* mbtime: one micro-batch's time with shard groups, see mbtime.h. */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mbtime.h"

int
mbtime_init(struct mbtime *m, int wmax, size_t nmax)
{
	memset(m, 0, sizeof *m);
	if (wmax < 1 || nmax < 1)
		return err_set(SK_ERR_ARG, "mbtime: %d ranks, %zu samples",
		    wmax, nmax);
	m->wmax = wmax;
	m->nmax = nmax;
	m->load = calloc((size_t)wmax, sizeof *m->load);
	m->keys = calloc(nmax, sizeof *m->keys);
	m->gfirst = calloc(nmax, sizeof *m->gfirst);
	m->gsize = calloc(nmax, sizeof *m->gsize);
	if (m->load == NULL || m->keys == NULL || m->gfirst == NULL ||
	    m->gsize == NULL) {
		mbtime_free(m);
		return err_set(SK_ERR_NOMEM, "mbtime: out of memory");
	}
	return SK_OK;
}

void
mbtime_free(struct mbtime *m)
{
	free(m->load);
	free(m->keys);
	free(m->gfirst);
	free(m->gsize);
	memset(m, 0, sizeof *m);
}

double
mbtime_eval(struct mbtime *m, const struct job *j, int W, int g0,
    const struct mbt_item *it, size_t n, double *rank)
{
	struct ops_cost c;
	double t, most = 0;
	size_t i, ng = 0, g;
	int q;

	/* One sequence over every rank: all ranks cost the same. */
	if (n == 1 && it[0].size == W && W >= 2) {
		ops_load_init(&m->load[0], W);
		ops_load_shard_d(j, &m->load[0], it[0].len, W);
		ops_load_coll(j, &m->load[0], it[0].len, W,
		    ops_spans_nodes(j, g0, W));
		ops_load_cost(j, &m->load[0], &c);
		t = ops_mb_time(j, &c);
		for (q = 0; rank != NULL && q < W; q++)
			rank[q] = t;
		return t;
	}
	for (q = 0; q < W; q++)
		ops_load_init(&m->load[q], W);
	/* Whole sequences first, then shards, as ops_part_cost adds them,
	 * so that an all-W plan costs what the simulator's parts do. */
	for (i = 0; i < n; i++)
		if (it[i].size < 2)
			ops_load_local(j, &m->load[it[i].first], it[i].len);
	for (i = 0; i < n; i++) {
		if (it[i].size < 2)
			continue;
		for (q = it[i].first; q < it[i].first + it[i].size; q++)
			ops_load_shard_d(j, &m->load[q], it[i].len,
			    it[i].size);
		for (g = 0; g < ng; g++)
			if (m->gfirst[g] == it[i].first &&
			    m->gsize[g] == it[i].size)
				break;
		if (g == ng) {
			m->gfirst[ng] = it[i].first;
			m->gsize[ng] = it[i].size;
			m->keys[ng++] = 0;
		}
		m->keys[g] += it[i].len;
	}
	for (g = 0; g < ng; g++) {
		int sp = ops_spans_nodes(j, g0 + m->gfirst[g], m->gsize[g]);

		for (q = m->gfirst[g]; q < m->gfirst[g] + m->gsize[g]; q++)
			ops_load_coll(j, &m->load[q], m->keys[g], m->gsize[g],
			    sp);
	}
	for (q = 0; q < W; q++) {
		ops_load_cost(j, &m->load[q], &c);
		t = ops_mb_time(j, &c);
		if (rank != NULL)
			rank[q] = t;
		if (t > most)
			most = t;
	}
	return most;
}

int
mbtime_fits(const struct job *j, int W, const struct mbt_item *it, size_t n,
    uint64_t *scratch)
{
	uint64_t cap = (uint64_t)W * j->bucket;
	size_t i;
	int q;

	memset(scratch, 0, (size_t)W * sizeof *scratch);
	for (i = 0; i < n; i++) {
		if (it[i].size < 2) {
			if (it[i].len > j->bucket)
				return 0;
			scratch[it[i].first] += (uint64_t)W * it[i].len;
			continue;
		}
		for (q = it[i].first; q < it[i].first + it[i].size; q++)
			scratch[q] += (uint64_t)(W / it[i].size) * it[i].len;
	}
	for (q = 0; q < W; q++)
		if (scratch[q] > cap)
			return 0;
	return 1;
}
