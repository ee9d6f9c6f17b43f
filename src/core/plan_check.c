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
 * The load of rank q of a micro-batch of W ranks exceeds the bucket:
 * W x local + shards > W x bucket (shards = sum of (W / size) x length
 * over the groups holding q).  The message shows local + shards / W in
 * tokens, its fraction rounded up to hundredths so the figure never reads
 * as fitting.
 */
static int
over_bucket(const struct plan *p, size_t it, int d, size_t m, int q,
            uint64_t W, uint64_t local, uint64_t shards, int partial)
{
	char a[32], b[32], c[32], s[32], frac[24] = "", sh[64];
	uint64_t tot = W * local + shards, whole = tot / W, rem = tot % W, h;

	if (rem > 0) {
		h = (rem * 100 + W - 1) / W;
		if (h == 100)
			whole++;
		else
			snprintf(frac, sizeof frac, ".%02" PRIu64, h);
	}
	/* Only groups of all W ranks: shards is the sum of their lengths. */
	if (partial)
		snprintf(sh, sizeof sh, "its shards of smaller groups, %s",
		    grp(s, sizeof s, (shards + W - 1) / W));
	else
		snprintf(sh, sizeof sh, "1/%d of sharded %s", (int)W,
		    grp(s, sizeof s, shards));
	return err_set(SK_ERR_FORMAT, "plan: iteration %zu, DP rank %d, "
	    "micro-batch %zu, %s %d: %s%s tokens exceed BucketSize %s "
	    "(local %s + %s)", it, d, m, W == (uint64_t)p->job.cp ?
	    "CP rank" : "rank", q, grp(a, sizeof a, whole), frac,
	    grp(b, sizeof b, p->job.bucket), grp(c, sizeof c, local), sh);
}

/* What plan_validate keeps across micro-batches, allocated once. */
struct vstate {
	const struct plan *p;
	const struct trace *t;  /* NULL: lengths unchecked */
	size_t range;           /* valid indices are [0, range) */
	uint32_t *mark;         /* per trace sample, see plan_validate */
	uint32_t in, seen;      /* the current iteration's marks */
	uint64_t *local;        /* per rank of the micro-batch: whole-sample
	                           tokens x W plus its shards x W / size */
	uint64_t *whole;        /* ... whole-sample tokens alone */
	uint8_t *partial;       /* ... holds a shard of a group < W */
};

/* Sample s of micro-batch m (W ranks): placement or shard group. */
static int
check_place(const struct plan_sample *s, int W,
            size_t it, int d, size_t m)
{
	int f = s->first, n = s->size;

	if (s->place != PLAN_SHARDED) {
		if (s->place < 0 || s->place >= W)
			return err_set(SK_ERR_FORMAT, "plan: iteration %zu, DP "
			    "rank %d, micro-batch %zu: sample %" PRIu32 ": "
			    "placement %" PRId32 " is not in [-1, %d]", it, d,
			    m, s->index, s->place, W - 1);
		return SK_OK;
	}
	if (n < 2 || f + n > W)
		return err_set(SK_ERR_FORMAT, "plan: iteration %zu, DP rank %d, "
		    "micro-batch %zu: sample %" PRIu32 ": shard group [%d, %d) "
		    "is outside the micro-batch's %d ranks (or not 2 ranks or "
		    "more)", it, d, m, s->index, f, f + n, W);
	if (W % n != 0 || f % n != 0)
		return err_set(SK_ERR_FORMAT, "plan: iteration %zu, DP rank %d, "
		    "micro-batch %zu: sample %" PRIu32 ": shard group [%d, %d) "
		    "is not an aligned block (its size must divide %d and its "
		    "first rank be a multiple of it), so it would overlap "
		    "other groups' blocks", it, d, m, s->index, f, f + n, W);
	return SK_OK;
}

/* Check micro-batch m of DP rank d in iteration it. */
static int
check_mb(struct vstate *v, const struct plan_mb *mb, size_t it, int d,
         size_t m, int first_own)
{
	const struct plan *p = v->p;
	const struct plan_sample *s;
	uint64_t W, cap;
	char a[32], b[32];
	size_t k;
	int q, e;

	if (mb->n == 0)
		return err_set(SK_ERR_FORMAT, "plan: iteration %zu, DP rank %d, "
		    "micro-batch %zu: empty", it, d, m);
	if (mb->span < 1 || d + mb->span > p->job.dp)
		return err_set(SK_ERR_FORMAT, "plan: iteration %zu, DP rank %d, "
		    "micro-batch %zu: spans %d DP ranks from %d, outside the "
		    "job's dp %d", it, d, m, mb->span, d, p->job.dp);
	if (mb->span > 1 && first_own)
		return err_set(SK_ERR_FORMAT, "plan: iteration %zu, DP rank %d, "
		    "micro-batch %zu: spans %d DP ranks but follows one of the "
		    "rank's own (spanning micro-batches come first)", it, d, m,
		    mb->span);
	W = (uint64_t)plan_mb_width(p, mb);
	memset(v->local, 0, (size_t)W * sizeof *v->local);
	memset(v->whole, 0, (size_t)W * sizeof *v->whole);
	memset(v->partial, 0, (size_t)W);
	for (k = 0; k < mb->n; k++) {
		s = &p->samples[mb->first + k];
		if ((e = check_place(s, (int)W, it, d, m)) != SK_OK)
			return e;
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
			for (q = s->first; q < s->first + s->size; q++) {
				v->local[q] += W / s->size * s->len;
				v->partial[q] |= s->size < W;
			}
			continue;
		}
		if (s->len > p->job.bucket)
			return err_set(SK_ERR_FORMAT, "plan: iteration %zu, DP "
			    "rank %d, micro-batch %zu: local sample %" PRIu32
			    " of %s tokens is longer than BucketSize %s", it, d,
			    m, s->index, grp(a, sizeof a, s->len),
			    grp(b, sizeof b, p->job.bucket));
		v->local[s->place] += W * s->len;
		v->whole[s->place] += s->len;
	}
	/* Eq. 7, local + each shard's 1/size <= bucket, multiplied by W. */
	cap = W * p->job.bucket;
	for (q = 0; q < (int)W; q++)
		if (v->local[q] > cap)
			return over_bucket(p, it, d, m, q, W, v->whole[q],
			    v->local[q] - W * v->whole[q], v->partial[q]);
	return SK_OK;
}

int
plan_validate(const struct plan *p, const struct trace *t)
{
	struct vstate v;
	const struct plan_rank *rk;
	size_t it, m, i, lo, hi, dp = (size_t)p->job.dp, wmax;
	char a[32], b[32];
	int d, own, e = SK_OK;

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
	v.local = v.whole = NULL;
	v.partial = NULL;
	wmax = dp * (size_t)p->job.cp;
	if ((v.mark = calloc(v.range > 0 ? v.range : 1, sizeof *v.mark)) ==
	    NULL || (v.local = calloc(wmax, sizeof *v.local)) == NULL ||
	    (v.whole = calloc(wmax, sizeof *v.whole)) == NULL ||
	    (v.partial = calloc(wmax, 1)) == NULL) {
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
			own = 0;
			for (m = 0; m < rk->n; m++) {
				if ((e = check_mb(&v, &p->mbs[rk->first + m], it,
				    d, m, own)) != SK_OK)
					goto out;
				own |= p->mbs[rk->first + m].span < 2;
			}
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
	/* The record of what was dropped must match what is missing, or a
	 * plan would lose samples without saying so. */
	if (p->trace_n != 0) {
		size_t none = 0, first = 0;

		for (i = v.range; i-- > 0;)
			if (v.mark[i] == 0) {
				none++;
				first = i;
			}
		if (none != p->dropped) {
			e = err_set(SK_ERR_FORMAT, "plan: %s of the trace's %s "
			    "samples are in no global batch (the first: sample "
			    "%zu), but the plan says %" PRIu64 " dropped",
			    grp(a, sizeof a, none), grp(b, sizeof b, v.range),
			    first, p->dropped);
			if (none == 0)
				e = err_set(SK_ERR_FORMAT, "plan: every sample of "
				    "the trace is in a global batch, but the plan "
				    "says %" PRIu64 " dropped", p->dropped);
			goto out;
		}
	}
out:
	free(v.mark);
	free(v.local);
	free(v.whole);
	free(v.partial);
	return e;
}

