/* xplans: see xplans.h.  Each table lists a plan's micro-batches; a sample
 * is { index, first, size }, size 1 whole on rank first. */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "xplans.h"

/* Lengths with entropy; four (3, 4, 5, 7) are shorter than 2 x 4 tokens,
 * so some chunks of a group of 4 or more are empty. */
const uint32_t xplan_lens[XPLAN_SAMPLES] = {
	37, 5, 60, 12, 3, 44, 21, 9, 58, 16, 7, 30, 51, 4, 26, 14
};

/* DP 1 x CP 4: groups of 2 at ranks 0 and 2 and of 4 in one micro-batch,
 * so rank 0 runs (0, 2) before (0, 4) and rank 2 (0, 4) before (2, 2). */
static const struct xplan_mb cp4[] = {
	{ 0, 1, 7, { { 2, 0, 2 }, { 8, 2, 2 }, { 12, 0, 4 }, { 0, 0, 2 },
	    { 1, 3, 1 }, { 4, 2, 2 }, { 13, 1, 1 } } },
	{ 0, 1, 9, { { 5, 0, 4 }, { 11, 2, 2 }, { 3, 0, 1 }, { 6, 2, 1 },
	    { 7, 0, 2 }, { 9, 3, 1 }, { 10, 0, 4 }, { 14, 2, 2 },
	    { 15, 1, 1 } } },
};

/* DP 2 x CP 2: a micro-batch of DP rank 0 spanning both, sharded over
 * all 4 ranks and over each CP pair (the same GPUs as the ranks' own
 * groups), then each rank's own. */
static const struct xplan_mb span2[] = {
	{ 0, 2, 5, { { 2, 0, 4 }, { 12, 0, 2 }, { 8, 2, 2 }, { 1, 3, 1 },
	    { 3, 0, 1 } } },
	{ 0, 1, 3, { { 0, 0, 2 }, { 4, 1, 1 }, { 13, 0, 1 } } },
	{ 1, 1, 3, { { 5, 0, 2 }, { 6, 0, 1 }, { 7, 1, 1 } } },
	{ 1, 1, 5, { { 11, 0, 2 }, { 9, 1, 1 }, { 10, 0, 2 }, { 14, 0, 1 },
	    { 15, 1, 1 } } },
};

/* DP 2 x CP 4: a micro-batch spanning both DP ranks with groups of 8, of
 * 4 at 0 and 4 (each a CP group's GPUs) and of 2 at 2 and 6, then each
 * rank's own. */
static const struct xplan_mb span4[] = {
	{ 0, 2, 7, { { 2, 0, 8 }, { 8, 4, 4 }, { 12, 0, 4 }, { 5, 2, 2 },
	    { 0, 6, 2 }, { 1, 7, 1 }, { 13, 1, 1 } } },
	{ 0, 1, 3, { { 11, 0, 4 }, { 3, 2, 1 }, { 4, 0, 2 } } },
	{ 1, 1, 3, { { 14, 2, 2 }, { 6, 0, 4 }, { 7, 1, 1 } } },
	{ 1, 1, 3, { { 9, 0, 2 }, { 10, 3, 1 }, { 15, 2, 2 } } },
};

/* DP 1 x CP 6: groups of 2 at 0, 2 and 4, of 3 at 0 and 3, of 6. */
static const struct xplan_mb cp6[] = {
	{ 0, 1, 9, { { 2, 0, 6 }, { 8, 0, 3 }, { 12, 3, 3 }, { 5, 2, 2 },
	    { 0, 4, 2 }, { 11, 0, 2 }, { 1, 2, 1 }, { 3, 5, 1 },
	    { 13, 0, 1 } } },
	{ 0, 1, 7, { { 14, 0, 3 }, { 6, 3, 3 }, { 9, 0, 6 }, { 15, 2, 2 },
	    { 7, 4, 2 }, { 10, 1, 1 }, { 4, 0, 3 } } },
};

/* DP 2 x CP 3: a micro-batch spanning both DP ranks with groups of 6, of
 * 3 (the second the same GPUs as DP rank 1's own) and of 2 at rank 2,
 * across the two CP groups. */
static const struct xplan_mb span3[] = {
	{ 0, 2, 6, { { 2, 0, 6 }, { 8, 0, 3 }, { 12, 3, 3 }, { 5, 2, 2 },
	    { 1, 4, 1 }, { 13, 1, 1 } } },
	{ 0, 1, 3, { { 0, 0, 3 }, { 3, 2, 1 }, { 4, 0, 1 } } },
	{ 1, 1, 3, { { 11, 0, 3 }, { 6, 1, 1 }, { 7, 2, 1 } } },
	{ 1, 1, 4, { { 14, 0, 3 }, { 9, 0, 1 }, { 10, 2, 1 },
	    { 15, 0, 3 } } },
};

/* DP 4 x CP 2: DP rank 0 lists a micro-batch over all 8 GPUs (groups of
 * 8, of 4 at GPU 4, of 2), DP rank 1 one over DP ranks 1 and 2 (a group
 * of GPUs 2..5, which overlaps GPUs 4..7: another split), then every
 * rank's own; DP rank 2 runs three micro-batches listed by three ranks. */
static const struct xplan_mb mix[] = {
	{ 0, 4, 5, { { 2, 0, 8 }, { 12, 4, 4 }, { 8, 0, 2 }, { 1, 3, 1 },
	    { 13, 6, 1 } } },
	{ 0, 1, 2, { { 0, 0, 2 }, { 4, 1, 1 } } },
	{ 1, 2, 3, { { 5, 0, 4 }, { 11, 2, 2 }, { 3, 1, 1 } } },
	{ 1, 1, 2, { { 6, 0, 2 }, { 7, 0, 1 } } },
	{ 2, 1, 2, { { 14, 0, 2 }, { 9, 1, 1 } } },
	{ 3, 1, 2, { { 10, 0, 2 }, { 15, 0, 1 } } },
};

#define N(a) (sizeof (a) / sizeof (a)[0])

const struct xplan xplans[] = {
	{ "cp4", 1, 4, N(cp4), cp4 },
	{ "span2", 2, 2, N(span2), span2 },
	{ "span4", 2, 4, N(span4), span4 },
	{ "cp6", 1, 6, N(cp6), cp6 },
	{ "span3", 2, 3, N(span3), span3 },
	{ "mix", 4, 2, N(mix), mix },
};
const size_t xplan_count = N(xplans);

const struct xplan *
xplan_find(const char *name)
{
	size_t i;

	for (i = 0; i < xplan_count; i++)
		if (strcmp(xplans[i].name, name) == 0)
			return &xplans[i];
	return NULL;
}

int
xplan_build(const struct xplan *x, const struct job *j, struct plan *p)
{
	uint32_t idx[XPLAN_SAMPLES];
	const struct xplan_mb *mb;
	const struct xplan_sample *s;
	size_t i, m;
	int d, k, e;

	plan_init(p);
	p->job = *j;
	p->job.dp = x->dp;
	p->job.cp = x->cp;
	p->job.cluster.nodes = 1;
	p->job.cluster.gpus_per_node = x->dp * x->cp;
	p->job.batch = XPLAN_SAMPLES / x->dp;
	p->job.bucket_auto = 0;
	p->job.bucket = 128;
	snprintf(p->policy, sizeof p->policy, "hand %s", x->name);
	p->trace_n = XPLAN_SAMPLES;
	for (i = 0; i < XPLAN_SAMPLES; i++)
		idx[i] = (uint32_t)i;
	if ((e = plan_reserve(p, 1, XPLAN_SAMPLES, x->nmb)) != SK_OK ||
	    (e = plan_iter_begin(p, idx, XPLAN_SAMPLES)) != SK_OK)
		return e;
	m = 0;
	for (d = 0; d < x->dp; d++) {
		if ((e = plan_rank_begin(p)) != SK_OK)
			return e;
		for (; m < x->nmb && x->mb[m].dp == d; m++) {
			mb = &x->mb[m];
			if ((e = plan_mb_begin_span(p, mb->span)) != SK_OK)
				return e;
			for (k = 0; k < mb->n; k++) {
				s = &mb->s[k];
				if ((e = plan_push_group(p, (uint32_t)s->index,
				    xplan_lens[s->index], s->first, s->size)) !=
				    SK_OK)
					return e;
			}
		}
	}
	if (m != x->nmb)
		return err_set(SK_ERR_ARG, "xplan %s: micro-batch %zu lists DP "
		    "rank %d, out of order", x->name, m, x->mb[m].dp);
	return SK_OK;
}
