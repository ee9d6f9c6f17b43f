/* plan_check: plan_validate (see plan.h), in exact integers. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "plan.h"

/* v with thousands separators ("27,644"), in buf. */
static const char *
grp(char *buf, size_t n, uint64_t v)
{
	char d[32];
	size_t len, i, o = 0;

	len = (size_t)snprintf(d, sizeof d, "%" PRIu64, v);
	for (i = 0; i < len && o + 1 < n; i++) {
		if (i > 0 && (len - i) % 3 == 0 && o + 2 < n)
			buf[o++] = ',';
		buf[o++] = d[i];
	}
	buf[o] = '\0';
	return buf;
}


/*
 * The load of CP rank r exceeds the bucket: cp x local + sharded >
 * cp x bucket.  The message shows local + sharded / cp in tokens, its
 * fraction rounded up to hundredths so the figure never reads as fitting.
 */
static int
over_bucket(const struct plan *p, size_t it, int d, size_t m, int r,
            uint64_t local, uint64_t sharded)
{
	char a[32], b[32], c[32], s[32], frac[24] = "";
	uint64_t cp = (uint64_t)p->job.cp, tot = cp * local + sharded;
	uint64_t whole = tot / cp, rem = tot % cp, h;

	if (rem > 0) {
		h = (rem * 100 + cp - 1) / cp;
		if (h == 100)
			whole++;
		else
			snprintf(frac, sizeof frac, ".%02" PRIu64, h);
	}
	return err_set(SK_ERR_FORMAT, "plan: iteration %zu, DP rank %d, "
	    "micro-batch %zu, CP rank %d: %s%s tokens exceed BucketSize %s "
	    "(local %s + 1/%d of sharded %s)", it, d, m, r,
	    grp(a, sizeof a, whole), frac, grp(b, sizeof b, p->job.bucket),
	    grp(c, sizeof c, local), p->job.cp, grp(s, sizeof s, sharded));
}

/* What plan_validate keeps across micro-batches, allocated once. */
struct vstate {
	const struct plan *p;
	const struct trace *t;  /* NULL: lengths unchecked */
	size_t range;           /* valid indices are [0, range) */
	uint32_t *mark;         /* per trace sample, see plan_validate */
	uint32_t in, seen;      /* the current iteration's marks */
	uint64_t *local;        /* per CP rank: whole-sample tokens */
};

/* Check micro-batch m of DP rank d in iteration it. */
static int
check_mb(struct vstate *v, const struct plan_mb *mb, size_t it, int d,
         size_t m)
{
	const struct plan *p = v->p;
	const struct plan_sample *s;
	uint64_t sharded = 0, cp = (uint64_t)p->job.cp;
	char a[32], b[32];
	size_t k;
	int r;

	if (mb->n == 0)
		return err_set(SK_ERR_FORMAT, "plan: iteration %zu, DP rank %d, "
		    "micro-batch %zu: empty", it, d, m);
	memset(v->local, 0, (size_t)cp * sizeof *v->local);
	for (k = 0; k < mb->n; k++) {
		s = &p->samples[mb->first + k];
		if (s->place < PLAN_SHARDED || s->place >= p->job.cp)
			return err_set(SK_ERR_FORMAT, "plan: iteration %zu, DP "
			    "rank %d, micro-batch %zu: sample %" PRIu32 ": "
			    "placement %" PRId32 " is not in [-1, %d]", it, d,
			    m, s->index, s->place, p->job.cp - 1);
		if (s->len < 1 || s->len > TRACE_LEN_MAX)
			return err_set(SK_ERR_FORMAT, "plan: iteration %zu, DP "
			    "rank %d, micro-batch %zu: sample %" PRIu32 ": "
			    "length %" PRIu32 " is not in [1, %u]", it, d, m,
			    s->index, s->len, TRACE_LEN_MAX);
		if (s->index >= v->range)
			return err_set(SK_ERR_FORMAT, "plan: iteration %zu, DP "
			    "rank %d, micro-batch %zu: sample %" PRIu32 " is "
			    "outside the trace of %s samples", it, d, m,
			    s->index, grp(a, sizeof a, v->range));
		if (v->t != NULL && s->len != v->t->len[s->index])
			return err_set(SK_ERR_FORMAT, "plan: iteration %zu, DP "
			    "rank %d, micro-batch %zu: sample %" PRIu32 " has "
			    "%s tokens, the trace says %s", it, d, m, s->index,
			    grp(a, sizeof a, s->len),
			    grp(b, sizeof b, v->t->len[s->index]));
		if (v->mark[s->index] == v->seen)
			return err_set(SK_ERR_FORMAT, "plan: iteration %zu, DP "
			    "rank %d, micro-batch %zu: sample %" PRIu32 " "
			    "appears twice", it, d, m, s->index);
		if (v->mark[s->index] != v->in)
			return err_set(SK_ERR_FORMAT, "plan: iteration %zu, DP "
			    "rank %d, micro-batch %zu: sample %" PRIu32 " is "
			    "not in global batch %zu", it, d, m, s->index, it);
		v->mark[s->index] = v->seen;
		if (s->place == PLAN_SHARDED) {
			sharded += s->len;
			continue;
		}
		if (s->len > p->job.bucket)
			return err_set(SK_ERR_FORMAT, "plan: iteration %zu, DP "
			    "rank %d, micro-batch %zu: local sample %" PRIu32
			    " of %s tokens is longer than BucketSize %s", it, d,
			    m, s->index, grp(a, sizeof a, s->len),
			    grp(b, sizeof b, p->job.bucket));
		v->local[s->place] += s->len;
	}
	/* Eq. 7, local + sharded / cp <= bucket, multiplied by cp. */
	for (r = 0; r < p->job.cp; r++)
		if (cp * v->local[r] + sharded > job_cp_capacity(&p->job))
			return over_bucket(p, it, d, m, r, v->local[r], sharded);
	return SK_OK;
}

int
plan_validate(const struct plan *p, const struct trace *t)
{
	struct vstate v;
	const struct plan_rank *rk;
	size_t it, m, i, lo, hi, dp = (size_t)p->job.dp;
	char a[32], b[32];
	int d, e = SK_OK;

	if (p->job.dp < 1 || p->job.cp < 1)
		return err_set(SK_ERR_FORMAT, "plan: job has dp %d and cp %d",
		    p->job.dp, p->job.cp);
	if (p->job.bucket_auto || p->job.bucket < 1)
		return err_set(SK_ERR_FORMAT, "plan: the job's BucketSize is "
		    "not resolved (a plan needs one in tokens)");
	if (p->nranks != p->niter * dp)
		return err_set(SK_ERR_FORMAT, "plan: %zu DP ranks for %zu "
		    "iterations of dp %d", p->nranks, p->niter, p->job.dp);
	/* Two marks per iteration in 32 bits (see below). */
	if (p->niter >= UINT32_MAX / 2)
		return err_set(SK_ERR_RANGE, "plan: %zu iterations are too many",
		    p->niter);
	if (t != NULL && p->trace_n != 0 && t->n != p->trace_n)
		return err_set(SK_ERR_FORMAT, "plan: made from a trace of %s "
		    "samples, the trace given has %s",
		    grp(a, sizeof a, p->trace_n), grp(b, sizeof b, t->n));

	v.p = p;
	v.t = t;
	/* Indices live in [0, range): the trace's, else the plan's record of
	 * it, else (a plan built without one) whatever the plan uses. */
	if (t != NULL)
		v.range = t->n;
	else if (p->trace_n != 0)
		v.range = (size_t)p->trace_n;
	else {
		v.range = 0;
		for (i = 0; i < p->nbatch; i++)
			if ((size_t)p->batch[i] + 1 > v.range)
				v.range = (size_t)p->batch[i] + 1;
		for (i = 0; i < p->nsamples; i++)
			if ((size_t)p->samples[i].index + 1 > v.range)
				v.range = (size_t)p->samples[i].index + 1;
	}
	/*
	 * One mark per trace sample, allocated once: mark[x] == in while x
	 * is in the current global batch and not yet placed, == seen once
	 * placed.  Each iteration takes two fresh values, so nothing is
	 * cleared between iterations.
	 */
	v.local = NULL;
	if ((v.mark = calloc(v.range > 0 ? v.range : 1, sizeof *v.mark)) ==
	    NULL || (v.local = calloc((size_t)p->job.cp, sizeof *v.local)) ==
	    NULL) {
		e = err_set(SK_ERR_NOMEM, "plan: out of memory validating");
		goto out;
	}
	for (it = 0; it < p->niter; it++) {
		v.in = 2 * (uint32_t)it + 1;
		v.seen = v.in + 1;
		lo = p->batch_first[it];
		hi = p->batch_first[it + 1];
		for (i = lo; i < hi; i++) {
			if (p->batch[i] >= v.range) {
				e = err_set(SK_ERR_FORMAT, "plan: iteration %zu: "
				    "global batch entry %zu: sample %" PRIu32
				    " is outside the trace of %s samples", it,
				    i - lo, p->batch[i],
				    grp(a, sizeof a, v.range));
				goto out;
			}
			if (v.mark[p->batch[i]] == v.in) {
				e = err_set(SK_ERR_FORMAT, "plan: iteration %zu: "
				    "global batch %zu lists sample %" PRIu32
				    " twice", it, it, p->batch[i]);
				goto out;
			}
			v.mark[p->batch[i]] = v.in;
		}
		for (d = 0; d < p->job.dp; d++) {
			rk = &p->ranks[it * dp + (size_t)d];
			for (m = 0; m < rk->n; m++)
				if ((e = check_mb(&v, &p->mbs[rk->first + m], it,
				    d, m)) != SK_OK)
					goto out;
		}
		for (i = lo; i < hi; i++) {
			if (v.mark[p->batch[i]] == v.in) {
				e = err_set(SK_ERR_FORMAT, "plan: iteration %zu: "
				    "sample %" PRIu32 " of global batch %zu is "
				    "missing", it, p->batch[i], it);
				goto out;
			}
		}
	}
out:
	free(v.mark);
	free(v.local);
	return e;
}

