/* sched: see sched.h.  The parameters and their knob table, the policy
 * table, the workspace, and the batcher that cuts a trace into global
 * batches for a policy. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "cost.h"
#include "dacp.h"
#include "err.h"
#include "mem.h"
#include "sched.h"
#include "ws.h"

extern const struct sched_policy baseline_deepspeed_policy;
extern const struct sched_policy baseline_sorted_policy;
extern const struct sched_policy skrull_paper_policy;
extern const struct sched_policy rr_policy;
extern const struct sched_policy skrull_policy;

/* Knobs of enum type are stored as int (sched_knob_set writes an int). */
_Static_assert(sizeof (enum sched_binpack) == sizeof (int), "enum size");
_Static_assert(sizeof (enum sched_interleave) == sizeof (int), "enum size");
_Static_assert(sizeof (enum sched_flops) == sizeof (int), "enum size");
_Static_assert(sizeof (enum sched_order) == sizeof (int), "enum size");

void
sched_params_default(struct sched_params *p)
{
	memset(p, 0, sizeof *p);
	p->mb_tokens = 0;
	p->mb_samples = 0;
	p->rollback = 1;
	p->binpack = BINPACK_LPT;
	p->interleave = INTERLEAVE_STRIDED;
	p->flops = FLOPS_PAPER;
	p->order = ORDER_DATASET;
	p->seed = 1;
	p->drop_last = 0;
	p->drop_overlong = 0;
}

/* ---- the knob table ---- */

static const char *const binpack_names[] = { "lpt", "none", NULL };
static const char *const interleave_names[] = { "strided", "blocked", NULL };
static const char *const flops_names[] = { "paper", "exact", NULL };
static const char *const order_names[] = { "dataset", "shuffle", NULL };

#define F(field) offsetof(struct sched_params, field)
#define Z(field) sizeof ((struct sched_params *)0)->field

/* The defaults here are those of sched_params_default (a unit test holds
 * the two together). */
const struct sched_knob sched_knobs[] = {
	{ "mb-tokens", KNOB_UINT, "0", 0, (uint64_t)1 << 40, NULL,
	  F(mb_tokens), "deepspeed, sorted, dacp: tokens per micro-batch "
	  "(0: bucket x cp)", Z(mb_tokens) },
	{ "mb-samples", KNOB_UINT, "0", 0, (uint64_t)1 << 20, NULL,
	  F(mb_samples), "deepspeed, sorted, dacp: samples per micro-batch "
	  "at most (0: pack by tokens; 1: the paper's baseline)",
	  Z(mb_samples) },
	{ "rollback", KNOB_BOOL, "on", 0, 1, NULL, F(rollback),
	  "dacp, rr, skrull-paper: roll back local placements that "
	  "overflow memory", Z(rollback) },
	{ "binpack", KNOB_ENUM, "lpt", 0, 0, binpack_names, F(binpack),
	  "skrull-paper, rr: DP assignment: lpt (FLOPs, heaviest first) "
	  "or none (contiguous slices)", Z(binpack) },
	{ "interleave", KNOB_ENUM, "strided", 0, 0, interleave_names,
	  F(interleave), "skrull-paper, rr: micro-batches of the sorted "
	  "samples: strided or blocked", Z(interleave) },
	{ "flops", KNOB_ENUM, "paper", 0, 0, flops_names, F(flops),
	  "dacp, rr, skrull-paper: FLOPs estimate: paper (the paper's "
	  "formula) or exact (the cost model)", Z(flops) },
	{ "order", KNOB_ENUM, "dataset", 0, 0, order_names, F(order),
	  "global batches in dataset order or shuffled (not sorted, which "
	  "has its own)", Z(order) },
	{ "seed", KNOB_UINT, "1", 0, UINT32_MAX, NULL, F(seed),
	  "seed of the shuffle and of sorted batching's run order",
	  Z(seed) },
	{ "drop-last", KNOB_BOOL, "off", 0, 1, NULL, F(drop_last),
	  "drop the last partial global batch", Z(drop_last) },
	{ "drop-overlong", KNOB_BOOL, "off", 0, 1, NULL, F(drop_overlong),
	  "drop samples longer than bucket x cp (else an error)",
	  Z(drop_overlong) },
};
const size_t sched_nknobs = sizeof sched_knobs / sizeof sched_knobs[0];

#undef F
#undef Z

static uint64_t
knob_get(const struct sched_params *p, const struct sched_knob *k)
{
	const char *f = (const char *)p + k->offset;
	uint64_t u;
	int i;

	if (k->size == sizeof u) {
		memcpy(&u, f, sizeof u);
		return u;
	}
	memcpy(&i, f, sizeof i);
	return (uint64_t)i;
}

/* The value fits the field: KNOB_UINT ranges of int fields stay below
 * INT_MAX (mb-samples: 2^20). */
static void
knob_put(struct sched_params *p, const struct sched_knob *k, uint64_t v)
{
	char *f = (char *)p + k->offset;
	int i = (int)v;

	if (k->size == sizeof v)
		memcpy(f, &v, sizeof v);
	else
		memcpy(f, &i, sizeof i);
}

int
sched_knob_set(struct sched_params *p, const struct sched_knob *k,
    const char *text)
{
	static const char *const bools[] = {
		"off", "on", "false", "true", "0", "1"
	};
	char list[256], *end;
	size_t i, used = 0;
	unsigned long long u;

	switch (k->type) {
	case KNOB_UINT:
		errno = 0;
		u = strtoull(text, &end, 10);
		if (text[0] < '0' || text[0] > '9' || *end != '\0' ||
		    errno != 0 || u < k->lo || u > k->hi)
			return err_set(SK_ERR_ARG, "--%s: '%s' is not an "
			    "integer in %llu..%llu", k->name, text,
			    (unsigned long long)k->lo,
			    (unsigned long long)k->hi);
		knob_put(p, k, u);
		return SK_OK;
	case KNOB_BOOL:
		for (i = 0; i < sizeof bools / sizeof bools[0]; i++)
			if (strcmp(text, bools[i]) == 0) {
				knob_put(p, k, i % 2);
				return SK_OK;
			}
		return err_set(SK_ERR_ARG, "--%s: '%s' is not one of on, off, "
		    "true, false, 1, 0", k->name, text);
	case KNOB_ENUM:
		list[0] = '\0';
		for (i = 0; k->choices[i] != NULL; i++) {
			if (strcmp(text, k->choices[i]) == 0) {
				knob_put(p, k, i);
				return SK_OK;
			}
			used += (size_t)snprintf(list + used, sizeof list - used,
			    "%s%s", i > 0 ? ", " : "", k->choices[i]);
			if (used >= sizeof list)
				used = sizeof list - 1;
		}
		return err_set(SK_ERR_ARG, "--%s: '%s' is not one of %s",
		    k->name, text, list);
	}
	return err_set(SK_ERR_ARG, "--%s: knob of unknown type", k->name);
}

const struct sched_knob *
sched_knob_find(const char *name)
{
	size_t i;

	for (i = 0; i < sched_nknobs; i++)
		if (strcmp(sched_knobs[i].name, name) == 0)
			return &sched_knobs[i];
	err_set(SK_ERR_ARG, "unknown scheduler option '--%s'", name);
	return NULL;
}

int
sched_knob_text(const struct sched_params *p, const struct sched_knob *k,
    char *buf, size_t n)
{
	uint64_t v = knob_get(p, k);
	int w;

	if (k->type == KNOB_BOOL)
		w = snprintf(buf, n, "%s", v ? "on" : "off");
	else if (k->type == KNOB_ENUM)
		w = snprintf(buf, n, "%s", k->choices[v]);
	else
		w = snprintf(buf, n, "%llu", (unsigned long long)v);
	if (w < 0 || (size_t)w >= n)
		return err_set(SK_ERR_RANGE, "--%s: value does not fit %zu "
		    "characters", k->name, n);
	return SK_OK;
}

/* Every knob, by its name: UINT with its number and no text; BOOL as 0/1
 * and "off"/"on"; ENUM as its index and name.  Enough for sched_knob_set
 * to read each back. */
int
sched_params_record(const struct sched_params *p, struct plan *pl)
{
	const struct sched_knob *k;
	char text[32];
	size_t i;
	int rc;

	for (i = 0; i < sched_nknobs; i++) {
		k = &sched_knobs[i];
		if (k->type == KNOB_UINT)
			text[0] = '\0';
		else if ((rc = sched_knob_text(p, k, text, sizeof text)) != SK_OK)
			return rc;
		if ((rc = plan_param(pl, k->name, (double)knob_get(p, k), text)) !=
		    SK_OK)
			return rc;
	}
	return SK_OK;
}

/* ---- policies ---- */

const struct sched_policy *const sched_policies[] = {
	&baseline_deepspeed_policy,
	&baseline_sorted_policy,
	&dacp_policy,
	&rr_policy,
	&skrull_paper_policy,
	&skrull_policy,
};
const size_t sched_npolicies =
    sizeof sched_policies / sizeof sched_policies[0];

const struct sched_policy *
sched_policy_find(const char *name)
{
	char list[256];
	size_t i, used = 0;

	list[0] = '\0';
	for (i = 0; i < sched_npolicies; i++) {
		if (strcmp(sched_policies[i]->name, name) == 0)
			return sched_policies[i];
		used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
		    i > 0 ? ", " : "", sched_policies[i]->name);
		if (used >= sizeof list)
			used = sizeof list - 1;
	}
	err_set(SK_ERR_ARG, "unknown policy '%s'; one of %s", name, list);
	return NULL;
}

/* ---- workspace and shared helpers (ws.h) ---- */

struct sched_ws *
sched_ws_new(const struct job *j, const struct sched_params *p,
    size_t max_batch)
{
	struct sched_ws *ws;
	size_t n = max_batch, N = (size_t)j->cp, dp = (size_t)j->dp;

	if (j->cp < 1 || j->dp < 1 || j->bucket < 1) {
		err_set(SK_ERR_ARG, "scheduler: cp %d, dp %d and bucket %u must "
		    "be at least 1", j->cp, j->dp, j->bucket);
		return NULL;
	}
	/* Batch positions travel in the low 32 bits of the sort keys. */
	if (max_batch < 1 || max_batch > UINT32_MAX) {
		err_set(SK_ERR_RANGE, "scheduler: a global batch of %zu samples "
		    "is outside 1..%u", max_batch, UINT32_MAX);
		return NULL;
	}
	if ((ws = calloc(1, sizeof *ws)) == NULL)
		goto nomem;
	ws->job = *j;
	ws->par = *p;
	ws->N = j->cp;
	ws->dp = j->dp;
	ws->cap = job_cp_capacity(j);
	ws->mb_budget = p->mb_tokens > 0 ? p->mb_tokens : ws->cap;
	ws->max = n;
	ws->fl = calloc(n, sizeof *ws->fl);
	ws->key = calloc(n, sizeof *ws->key);
	ws->bin = calloc(n, sizeof *ws->bin);
	ws->binload = calloc(dp, sizeof *ws->binload);
	ws->sub = calloc(n, sizeof *ws->sub);
	ws->arr = calloc(n, sizeof *ws->arr);
	ws->mbfirst = calloc(n + 1, sizeof *ws->mbfirst);
	ws->place = calloc(n, sizeof *ws->place);
	ws->glen = calloc(n, sizeof *ws->glen);
	ws->gfl = calloc(n, sizeof *ws->gfl);
	ws->dkey = calloc(n, sizeof *ws->dkey);
	ws->dfl = calloc(n, sizeof *ws->dfl);
	ws->tmp = calloc(n, sizeof *ws->tmp);
	ws->rb = calloc(N, sizeof *ws->rb);
	ws->load = calloc(N, sizeof *ws->load);
	ws->head = calloc(N, sizeof *ws->head);
	ws->w = calloc(n, sizeof *ws->w);
	ws->cand = calloc(n, sizeof *ws->cand);
	ws->rl = calloc(N, sizeof *ws->rl);
	ws->one = calloc(n, sizeof *ws->one);
	ws->mbw = calloc(n, sizeof *ws->mbw);
	ws->mbtok = calloc(n, sizeof *ws->mbtok);
	if (ws->fl == NULL || ws->key == NULL || ws->bin == NULL ||
	    ws->binload == NULL || ws->sub == NULL || ws->arr == NULL ||
	    ws->mbfirst == NULL || ws->place == NULL || ws->glen == NULL ||
	    ws->gfl == NULL || ws->dkey == NULL || ws->dfl == NULL ||
	    ws->tmp == NULL || ws->rb == NULL || ws->load == NULL ||
	    ws->head == NULL || ws->w == NULL || ws->cand == NULL ||
	    ws->rl == NULL || ws->one == NULL || ws->mbw == NULL || ws->mbtok == NULL)
		goto nomem;
	ops_rate_init(&ws->rate, &ws->job);
	return ws;
nomem:
	sched_ws_free(ws);
	err_set(SK_ERR_NOMEM, "scheduler workspace for %zu samples: out of "
	    "memory", max_batch);
	return NULL;
}

void
sched_ws_free(struct sched_ws *ws)
{
	if (ws == NULL)
		return;
	free(ws->fl);
	free(ws->key);
	free(ws->bin);
	free(ws->binload);
	free(ws->sub);
	free(ws->arr);
	free(ws->mbfirst);
	free(ws->place);
	free(ws->glen);
	free(ws->gfl);
	free(ws->dkey);
	free(ws->dfl);
	free(ws->tmp);
	free(ws->rb);
	free(ws->load);
	free(ws->head);
	free(ws->w);
	free(ws->cand);
	free(ws->rl);
	free(ws->one);
	free(ws->mbw);
	free(ws->mbtok);
	free(ws);
}

double
sched_flops(const struct sched_ws *ws, uint32_t len)
{
	if (ws->par.flops == FLOPS_EXACT)
		return cost_seq_flops_total(&ws->job, len);
	return cost_flops_paper(&ws->job.model, len) * ws->job.model.layers *
	    3;
}

void
sched_batch_flops(struct sched_ws *ws, const uint32_t *len, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		ws->fl[i] = sched_flops(ws, len[i]);
}

/*
 * Bottom-up merge sort through ws->tmp: runs of RUN sorted by insertion,
 * then merged in passes that alternate between the two arrays.  Input that
 * is already sorted (DACP's micro-batches from GDS) costs one scan.
 */
#define RUN 16

void
sched_sort_u64(struct sched_ws *ws, uint64_t *a, size_t n)
{
	uint64_t *src = a, *dst = ws->tmp, *sw, x;
	size_t i, j, lo, mid, hi, w;

	for (i = 1; i < n && a[i - 1] <= a[i]; i++)
		;
	if (i >= n)
		return;
	for (lo = 0; lo < n; lo += RUN) {
		hi = lo + RUN < n ? lo + RUN : n;
		for (i = lo + 1; i < hi; i++) {
			x = a[i];
			for (j = i; j > lo && a[j - 1] > x; j--)
				a[j] = a[j - 1];
			a[j] = x;
		}
	}
	for (w = RUN; w < n; w *= 2) {
		for (lo = 0; lo < n; lo += 2 * w) {
			mid = lo + w < n ? lo + w : n;
			hi = lo + 2 * w < n ? lo + 2 * w : n;
			i = lo;
			j = mid;
			while (i < mid && j < hi)
				*dst++ = src[j] < src[i] ? src[j++] : src[i++];
			while (i < mid)
				*dst++ = src[i++];
			while (j < hi)
				*dst++ = src[j++];
		}
		dst -= n;
		sw = src;
		src = dst;
		dst = sw;
	}
	if (src != a)
		memcpy(a, src, n * sizeof *a);
}

size_t
sched_rank_samples(struct sched_ws *ws, const uint32_t *len, size_t n, int d,
    uint64_t *tok)
{
	size_t q, p, c = 0;

	*tok = 0;
	for (q = 0; q < n; q++) {
		p = ws->key[q] & 0xffffffffu;
		if (ws->bin[p] != d)
			continue;
		ws->sub[c++] = (uint32_t)p;
		*tok += len[p];
	}
	return c;
}

size_t
sched_min_mbs(const struct sched_ws *ws, uint64_t tok)
{
	size_t m = (size_t)((tok + ws->cap - 1) / ws->cap);

	return m > 0 ? m : 1;
}

int
sched_push_rank(struct sched_ws *ws, const uint32_t *idx, const uint32_t *len,
    size_t m, struct plan *out)
{
	size_t q, i;
	uint32_t p;
	int rc;

	if ((rc = plan_rank_begin(out)) != SK_OK)
		return rc;
	for (q = 0; q < m; q++) {
		if ((rc = plan_mb_begin(out)) != SK_OK)
			return rc;
		for (i = ws->mbfirst[q]; i < ws->mbfirst[q + 1]; i++) {
			p = ws->arr[i];
			if ((rc = plan_push(out, idx[p], len[p], ws->place[i])) !=
			    SK_OK)
				return rc;
		}
	}
	return SK_OK;
}

/* ---- the batcher ---- */

/* v with thousands separators: 1823777 -> "1,823,777". */
static const char *
grouped(uint64_t v, char *buf, size_t size)
{
	char digits[24];
	size_t n, i, o = 0;

	n = (size_t)snprintf(digits, sizeof digits, "%llu",
	    (unsigned long long)v);
	for (i = 0; i < n && o + 2 < size; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static int
check_params(const struct sched_params *p)
{
	if (p->mb_tokens > (uint64_t)1 << 40 || p->mb_samples < 0 ||
	    p->mb_samples > 1 << 20 || p->seed > UINT32_MAX)
		return err_set(SK_ERR_ARG, "scheduler parameters: mb-tokens, "
		    "mb-samples or seed out of range");
	if ((unsigned)p->binpack > BINPACK_NONE ||
	    (unsigned)p->interleave > INTERLEAVE_BLOCKED ||
	    (unsigned)p->flops > FLOPS_EXACT ||
	    (unsigned)p->order > ORDER_SHUFFLE)
		return err_set(SK_ERR_ARG, "scheduler parameters: an enum knob "
		    "is out of range");
	return SK_OK;
}

/*
 * LongAlign's sorted batching: the kept samples sorted by length (stable:
 * ties in trace order), cut into consecutive runs of G, visited in a
 * seeded random order.  The partial run, if kept, is the run of the
 * longest samples and is shuffled in with the others; with drop-last it is
 * the one dropped.  order[0..nkept) is rewritten run by run, iteration it
 * taking order[bfirst[it] .. bfirst[it + 1]).
 */
static int
sorted_batching(const struct trace *t, uint32_t *order, size_t nkept,
    size_t G, size_t niter, gsl_rng *r, size_t *bfirst)
{
	uint64_t *key;
	size_t *run, i, o = 0, a, b;
	int rc = SK_OK;

	key = malloc(nkept * sizeof *key);
	run = malloc(niter * sizeof *run);
	if (key == NULL || run == NULL) {
		rc = err_set(SK_ERR_NOMEM, "sorted batching of %zu samples: "
		    "out of memory", nkept);
		goto out;
	}
	for (i = 0; i < nkept; i++)
		key[i] = (uint64_t)t->len[order[i]] << 32 | order[i];
	qsort(key, nkept, sizeof *key, cmp_u64);
	for (i = 0; i < niter; i++)
		run[i] = i;
	gsl_ran_shuffle(r, run, niter, sizeof *run);
	for (i = 0; i < niter; i++) {
		bfirst[i] = o;
		a = run[i] * G;
		b = a + G < nkept ? a + G : nkept;
		for (; a < b; a++)
			order[o++] = (uint32_t)(key[a] & 0xffffffffu);
	}
	bfirst[niter] = o;
out:
	free(key);
	free(run);
	return rc;
}

/* The arguments sched_plan checks before it allocates. */
static int
batch_check(const struct job *j, const struct sched_params *p,
    const struct trace *t, const char *trace_path, const struct plan *out)
{
	int rc;

	if ((rc = check_params(p)) != SK_OK)
		return rc;
	if (j->dp < 1 || j->cp < 1 || j->batch < 1 || j->bucket < 1)
		return err_set(SK_ERR_ARG, "plan: dp %d, cp %d, batch %d and "
		    "bucket %u must be at least 1", j->dp, j->cp, j->batch,
		    j->bucket);
	if (trace_path != NULL && strlen(trace_path) >= sizeof out->trace)
		return err_set(SK_ERR_ARG, "plan: trace path of %zu bytes is "
		    "longer than %zu", strlen(trace_path),
		    sizeof out->trace - 1);
	if (t->n > UINT32_MAX)
		return err_set_at(SK_ERR_RANGE, trace_path, 0, "trace of %zu "
		    "samples: a plan indexes at most %u", t->n, UINT32_MAX);
	return mem_check("plan", (double)t->n * MEM_PLAN_BYTES, t->n);
}

/* The overlong filter: the indices of the samples that fit the CP group
 * into order[0 .. *nkept), in trace order, the others counted in *dropped
 * (with drop-overlong) or refused. */
static int
batch_keep(const struct job *j, const struct sched_params *p,
    const struct trace *t, const char *trace_path, uint32_t *order,
    size_t *nkept, uint64_t *dropped)
{
	uint64_t cap = job_cp_capacity(j);
	char a[32], b[32], c[32];
	size_t i;

	*nkept = 0;
	*dropped = 0;
	for (i = 0; i < t->n; i++) {
		if (t->len[i] <= cap) {
			order[(*nkept)++] = (uint32_t)i;
			continue;
		}
		if (!p->drop_overlong)
			return err_set_at(SK_ERR_RANGE, trace_path, 0, "sample "
			    "%zu (%s tokens) exceeds the CP group's capacity %d "
			    "x %s = %s tokens; --drop-overlong drops such "
			    "samples", i, grouped(t->len[i], a, sizeof a),
			    j->cp, grouped(j->bucket, b, sizeof b),
			    grouped(cap, c, sizeof c));
		(*dropped)++;
	}
	if (t->n == 0)
		return err_set_at(SK_ERR_RANGE, trace_path, 0, "no samples to "
		    "plan: the trace is empty");
	if (*nkept == 0)
		return err_set_at(SK_ERR_RANGE, trace_path, 0, "no samples to "
		    "plan: all %zu of the trace exceed the CP group's capacity",
		    t->n);
	return SK_OK;
}

/* The batch boundaries: nkept samples in global batches of G, the last
 * partial one kept or (drop-last) dropped and counted in *dropped. */
static int
batch_count(const struct sched_params *p, const struct trace *t,
    const char *trace_path, size_t nkept, size_t G, size_t *niter,
    size_t *nsamples, uint64_t *dropped)
{
	size_t rem;

	/* With drop-last a trace shorter than one global batch leaves
	 * nothing; without, its one partial batch is planned. */
	if (nkept < G && p->drop_last) {
		if (*dropped > 0)
			return err_set_at(SK_ERR_RANGE, trace_path, 0, "trace of "
			    "%zu samples (%zu after dropping %llu overlong) is "
			    "shorter than one global batch of %zu", t->n, nkept,
			    (unsigned long long)*dropped, G);
		return err_set_at(SK_ERR_RANGE, trace_path, 0, "trace of %zu "
		    "samples is shorter than one global batch of %zu", t->n,
		    G);
	}
	*niter = nkept / G;
	rem = nkept % G;
	*nsamples = *niter * G;
	if (rem > 0 && p->drop_last)
		*dropped += rem;
	else if (rem > 0) {
		(*niter)++;
		*nsamples += rem;
	}
	return SK_OK;
}

/* The global batches' samples as the policy's batching and the order knob
 * say: order[bfirst[it] .. bfirst[it + 1]) is iteration it's batch. */
static int
batch_order(const struct sched_policy *pol, const struct sched_params *p,
    const struct trace *t, uint32_t *order, size_t nkept, size_t G,
    size_t niter, size_t nsamples, size_t *bfirst)
{
	gsl_rng *r = NULL;
	size_t it;
	int rc = SK_OK;

	for (it = 0; it < niter; it++)
		bfirst[it] = it * G;
	bfirst[niter] = nsamples;
	if (pol->batching != BATCHING_SORTED && p->order != ORDER_SHUFFLE)
		return SK_OK;
	if ((r = gsl_rng_alloc(gsl_rng_mt19937)) == NULL)
		return err_set(SK_ERR_NOMEM, "plan: out of memory");
	/* GSL seeds MT19937 from 0 with its default seed 4357. */
	gsl_rng_set(r, (unsigned long)p->seed);
	if (pol->batching == BATCHING_SORTED)
		rc = sorted_batching(t, order, nkept, G, niter, r, bfirst);
	else
		gsl_ran_shuffle(r, order, nkept, sizeof *order);
	gsl_rng_free(r);
	return rc;
}

/* The loop: the policy on each global batch, lengths gathered in blen. */
static int
batch_run(const struct sched_policy *pol, struct sched_ws *ws,
    const struct trace *t, const uint32_t *order, const size_t *bfirst,
    size_t niter, uint32_t *blen, struct plan *out)
{
	size_t it, i, n, first;
	char where[64];
	int rc;

	for (it = 0; it < niter; it++) {
		first = bfirst[it];
		n = bfirst[it + 1] - first;
		for (i = 0; i < n; i++)
			blen[i] = t->len[order[first + i]];
		if ((rc = plan_iter_begin(out, order + first, n)) != SK_OK ||
		    (rc = pol->run(ws, order + first, blen, n, out)) != SK_OK) {
			snprintf(where, sizeof where, "policy %s, iteration %zu",
			    pol->name, it);
			err_prefix(where);
			return rc;
		}
	}
	return SK_OK;
}

int
sched_plan(const struct job *j, const struct sched_params *p,
    const char *policy, const struct trace *t, const char *trace_path,
    struct plan *out)
{
	const struct sched_policy *pol;
	struct sched_ws *ws = NULL;
	uint32_t *order = NULL, *blen = NULL;
	size_t *bfirst = NULL;
	size_t G, bmax, nkept = 0, niter = 0, nsamples = 0;
	uint64_t dropped = 0;
	int rc;

	plan_free(out);
	plan_init(out);
	if ((pol = sched_policy_find(policy)) == NULL)
		return SK_ERR_ARG;
	if ((rc = batch_check(j, p, t, trace_path, out)) != SK_OK)
		return rc;
	G = (size_t)j->dp * (size_t)j->batch;

	if ((order = malloc((t->n > 0 ? t->n : 1) * sizeof *order)) == NULL) {
		rc = err_set(SK_ERR_NOMEM, "plan: out of memory");
		goto out;
	}
	if ((rc = batch_keep(j, p, t, trace_path, order, &nkept,
	    &dropped)) != SK_OK ||
	    (rc = batch_count(p, t, trace_path, nkept, G, &niter, &nsamples,
	    &dropped)) != SK_OK)
		goto out;
	/* The largest global batch: G, or the one partial batch. */
	bmax = G < nkept ? G : nkept;
	if ((bfirst = malloc((niter + 1) * sizeof *bfirst)) == NULL ||
	    (blen = malloc(bmax * sizeof *blen)) == NULL) {
		rc = err_set(SK_ERR_NOMEM, "plan: out of memory");
		goto out;
	}
	if ((rc = batch_order(pol, p, t, order, nkept, G, niter, nsamples,
	    bfirst)) != SK_OK)
		goto out;

	/* The plan's job is the caller's with the bucket resolved. */
	out->job = *j;
	out->job.bucket_auto = 0;
	snprintf(out->policy, sizeof out->policy, "%s", pol->name);
	snprintf(out->trace, sizeof out->trace, "%s",
	    trace_path != NULL ? trace_path : "");
	out->trace_n = t->n;
	out->dropped = dropped;
	if ((rc = plan_reserve(out, niter, nsamples, nsamples)) != SK_OK ||
	    (rc = sched_params_record(p, out)) != SK_OK)
		goto out;
	if ((ws = sched_ws_new(j, p, bmax)) == NULL) {
		rc = err_code();
		goto out;
	}
	rc = batch_run(pol, ws, t, order, bfirst, niter, blen, out);
out:
	sched_ws_free(ws);
	free(order);
	free(blen);
	free(bfirst);
	if (rc != SK_OK) {
		plan_free(out);
		plan_init(out);
	}
	return rc;
}
