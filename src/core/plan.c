/*
 * plan: see plan.h.  This file builds a plan (reserved once, filled in
 * order) and digests it; plan_check.c validates it, plan_io.c writes and
 * reads skrull-plan(5).
 */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "plan.h"

void
plan_init(struct plan *p)
{
	memset(p, 0, sizeof *p);
}

void
plan_free(struct plan *p)
{
	free(p->ranks);
	free(p->mbs);
	free(p->samples);
	free(p->batch);
	free(p->batch_first);
	plan_init(p);
}

/* Grow *arr to n elements of size sz (never shrinks); *cap follows. */
static int
grow(void **arr, size_t *cap, size_t n, size_t sz)
{
	void *q;

	if (n <= *cap)
		return SK_OK;
	if (n > SIZE_MAX / sz)
		return err_set(SK_ERR_NOMEM, "plan: out of memory for %zu entries",
		    n);
	if ((q = realloc(*arr, n * sz)) == NULL)
		return err_set(SK_ERR_NOMEM, "plan: out of memory for %zu entries",
		    n);
	*arr = q;
	*cap = n;
	return SK_OK;
}

int
plan_reserve(struct plan *p, size_t niter, size_t nsamples, size_t nmbs)
{
	void *a;
	size_t nfirst;
	int e;

	if (p->job.dp < 1)
		return err_set(SK_ERR_ARG, "plan: job.dp is %d; set the job "
		    "before reserving room", p->job.dp);
	if (niter > (SIZE_MAX - 1) / (size_t)p->job.dp)
		return err_set(SK_ERR_NOMEM, "plan: out of memory for %zu "
		    "iterations", niter);
	/* realloc through a void * (the arrays have different types). */
	a = p->ranks;
	e = grow(&a, &p->cap_ranks, niter * (size_t)p->job.dp, sizeof *p->ranks);
	p->ranks = a;
	if (e != SK_OK)
		return e;
	a = p->mbs;
	e = grow(&a, &p->cap_mbs, nmbs, sizeof *p->mbs);
	p->mbs = a;
	if (e != SK_OK)
		return e;
	a = p->samples;
	e = grow(&a, &p->cap_samples, nsamples, sizeof *p->samples);
	p->samples = a;
	if (e != SK_OK)
		return e;
	a = p->batch;
	e = grow(&a, &p->cap_batch, nsamples, sizeof *p->batch);
	p->batch = a;
	if (e != SK_OK)
		return e;
	nfirst = p->cap_batch_first;
	a = p->batch_first;
	e = grow(&a, &p->cap_batch_first, niter + 1, sizeof *p->batch_first);
	p->batch_first = a;
	if (e != SK_OK)
		return e;
	if (nfirst == 0)
		p->batch_first[0] = 0;
	return SK_OK;
}

int
plan_iter_begin(struct plan *p, const uint32_t *batch, size_t n)
{
	size_t have;

	if (p->niter > 0 && (have = p->nranks - (p->niter - 1) *
	    (size_t)p->job.dp) != (size_t)p->job.dp)
		return err_set(SK_ERR_ARG, "plan: iteration %zu has %zu of %d "
		    "DP ranks", p->niter - 1, have, p->job.dp);
	if (p->cap_batch_first == 0 || p->niter + 1 >= p->cap_batch_first)
		return err_set(SK_ERR_RANGE, "plan: no room for iteration %zu "
		    "(%zu reserved)", p->niter, p->cap_batch_first > 0 ?
		    p->cap_batch_first - 1 : 0);
	if (n > p->cap_batch - p->nbatch)
		return err_set(SK_ERR_RANGE, "plan: iteration %zu: no room for "
		    "a global batch of %zu samples (%zu of %zu reserved left)",
		    p->niter, n, p->cap_batch - p->nbatch, p->cap_batch);
	if (n > 0)
		memcpy(p->batch + p->nbatch, batch, n * sizeof *batch);
	p->nbatch += n;
	p->batch_first[++p->niter] = p->nbatch;
	return SK_OK;
}

int
plan_rank_begin(struct plan *p)
{
	struct plan_rank *r;

	if (p->niter == 0)
		return err_set(SK_ERR_ARG, "plan: DP rank begun before any "
		    "iteration");
	if (p->nranks >= p->niter * (size_t)p->job.dp)
		return err_set(SK_ERR_RANGE, "plan: iteration %zu already has "
		    "its %d DP ranks", p->niter - 1, p->job.dp);
	if (p->nranks >= p->cap_ranks)
		return err_set(SK_ERR_RANGE, "plan: no room for DP rank %zu "
		    "(%zu reserved)", p->nranks, p->cap_ranks);
	r = &p->ranks[p->nranks++];
	r->first = p->nmbs;
	r->n = 0;
	return SK_OK;
}

int
plan_mb_begin(struct plan *p)
{
	return plan_mb_begin_span(p, 1);
}

int
plan_mb_begin_span(struct plan *p, int span)
{
	struct plan_mb *m;

	if (span < 1 || span > UINT16_MAX / (p->job.cp > 0 ? p->job.cp : 1))
		return err_set(SK_ERR_ARG, "plan: a micro-batch spanning %d DP "
		    "ranks of cp %d", span, p->job.cp);

	if (p->niter == 0 || p->nranks <= (p->niter - 1) * (size_t)p->job.dp)
		return err_set(SK_ERR_ARG, "plan: micro-batch begun outside a "
		    "DP rank");
	if (p->nmbs >= p->cap_mbs)
		return err_set(SK_ERR_RANGE, "plan: no room for micro-batch %zu "
		    "(%zu reserved)", p->nmbs, p->cap_mbs);
	m = &p->mbs[p->nmbs++];
	m->first = p->nsamples;
	m->n = 0;
	m->span = span;
	p->ranks[p->nranks - 1].n++;
	return SK_OK;
}

int
plan_push(struct plan *p, uint32_t index, uint32_t len, int32_t place)
{
	int w = p->nmbs > 0 ? plan_mb_width(p, &p->mbs[p->nmbs - 1]) : 1;

	if (place == PLAN_SHARDED)
		return plan_push_group(p, index, len, 0, w);
	return plan_push_group(p, index, len, place, 1);
}

int
plan_push_group(struct plan *p, uint32_t index, uint32_t len, int first,
    int size)
{
	struct plan_sample *s;

	if (p->niter == 0 || p->nranks <= (p->niter - 1) * (size_t)p->job.dp ||
	    p->ranks[p->nranks - 1].n == 0)
		return err_set(SK_ERR_ARG, "plan: sample %" PRIu32 " pushed "
		    "outside a micro-batch", index);
	if (p->nsamples >= p->cap_samples)
		return err_set(SK_ERR_RANGE, "plan: no room for sample %zu "
		    "(%zu reserved)", p->nsamples, p->cap_samples);
	s = &p->samples[p->nsamples++];
	s->index = index;
	s->len = len;
	/* Out-of-range values are kept (clamped to the field) for
	 * plan_validate to refuse with the sample named. */
	s->place = size >= 2 ? PLAN_SHARDED : first;
	s->first = (uint16_t)(first < 0 ? UINT16_MAX : first > UINT16_MAX ?
	    UINT16_MAX : first);
	s->size = (uint16_t)(size < 1 ? 0 : size > UINT16_MAX ? UINT16_MAX :
	    size);
	p->mbs[p->nmbs - 1].n++;
	return SK_OK;
}

size_t
plan_rank_mbs(const struct plan *p, size_t it, int d, size_t *mb, int *off,
    size_t cap)
{
	const struct plan_rank *rk;
	const struct plan_mb *x;
	size_t n = 0, m;
	int a, dp = p->job.dp;

	/* Spanning micro-batches come first in their lister's list. */
	for (a = 0; a <= d; a++) {
		rk = &p->ranks[it * (size_t)dp + (size_t)a];
		for (m = 0; m < rk->n; m++) {
			x = &p->mbs[rk->first + m];
			if (x->span < 2)
				break;
			if (a + x->span <= d)
				continue;
			if (n < cap) {
				mb[n] = rk->first + m;
				off[n] = (d - a) * p->job.cp;
			}
			n++;
		}
	}
	rk = &p->ranks[it * (size_t)dp + (size_t)d];
	for (m = 0; m < rk->n; m++) {
		if (p->mbs[rk->first + m].span >= 2)
			continue;
		if (n < cap) {
			mb[n] = rk->first + m;
			off[n] = 0;
		}
		n++;
	}
	return n;
}

int
plan_param(struct plan *p, const char *name, double value, const char *text)
{
	struct plan_param *q;
	int i;

	if (name[0] == '\0' || strlen(name) >= sizeof q->name)
		return err_set(SK_ERR_ARG, "plan: parameter name '%s' is empty "
		    "or longer than %zu bytes", name, sizeof q->name - 1);
	if (text != NULL && strlen(text) >= sizeof q->text)
		return err_set(SK_ERR_ARG, "plan: parameter %s: value '%s' is "
		    "longer than %zu bytes", name, text, sizeof q->text - 1);
	/* A number is written as a JSON number, which has no NaN or infinity. */
	if ((text == NULL || text[0] == '\0') && !isfinite(value))
		return err_set(SK_ERR_RANGE, "plan: parameter %s: %g is not a "
		    "finite number", name, value);
	for (i = 0; i < p->nparams; i++)
		if (strcmp(p->params[i].name, name) == 0)
			break;
	if (i == PLAN_PARAMS_MAX)
		return err_set(SK_ERR_RANGE, "plan: parameter %s: more than %d "
		    "parameters", name, PLAN_PARAMS_MAX);
	q = &p->params[i];
	snprintf(q->name, sizeof q->name, "%s", name);
	q->value = value;
	snprintf(q->text, sizeof q->text, "%s", text != NULL ? text : "");
	if (i == p->nparams)
		p->nparams++;
	return SK_OK;
}


/* ---- digest ---- */

/* FNV-1a, 64 bits: h updated with n bytes at b. */
static uint64_t
fnv(uint64_t h, const void *b, size_t n)
{
	const unsigned char *c = b;

	while (n-- > 0) {
		h ^= *c++;
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

/* h updated with v as 8 little-endian bytes, whatever the host's order. */
static uint64_t
fnv_u64(uint64_t h, uint64_t v)
{
	unsigned char b[8];
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	return fnv(h, b, sizeof b);
}

int
plan_digest(const struct plan *p, uint64_t *out)
{
	cJSON *o;
	char *text;
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	size_t i;
	int e;

	if ((o = cJSON_CreateObject()) == NULL)
		return err_set(SK_ERR_NOMEM, "plan digest: out of memory");
	if ((e = job_to_json(&p->job, o)) != SK_OK) {
		cJSON_Delete(o);
		return e;
	}
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text == NULL)
		return err_set(SK_ERR_NOMEM, "plan digest: out of memory");
	h = fnv(h, text, strlen(text) + 1);
	cJSON_free(text);
	h = fnv(h, p->policy, strnlen(p->policy, sizeof p->policy));
	h = fnv_u64(h, p->niter);
	h = fnv_u64(h, p->nranks);
	for (i = 0; i < p->nranks; i++)
		h = fnv_u64(h, p->ranks[i].n);
	h = fnv_u64(h, p->nmbs);
	for (i = 0; i < p->nmbs; i++)
		h = fnv_u64(h, p->mbs[i].n | (uint64_t)p->mbs[i].span << 48);
	h = fnv_u64(h, p->nsamples);
	for (i = 0; i < p->nsamples; i++) {
		h = fnv_u64(h, (uint64_t)p->samples[i].index |
		    (uint64_t)p->samples[i].len << 32);
		h = fnv_u64(h, (uint64_t)(uint32_t)p->samples[i].place |
		    (uint64_t)p->samples[i].first << 32 |
		    (uint64_t)p->samples[i].size << 48);
	}
	h = fnv_u64(h, p->nbatch);
	for (i = 0; i < p->nbatch; i++)
		h = fnv_u64(h, p->batch[i]);
	*out = h;
	return SK_OK;
}
