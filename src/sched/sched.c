/* sched: see sched.h.  The parameters and their knob table, the policy
 * table, and the batcher that cuts a trace into global batches for a
 * policy; the workspace and the policies' shared helpers are in ws.c. */
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
#include "near.h"
#include "sched.h"
#include "ws.h"

extern const struct sched_policy baseline_deepspeed_policy;
extern const struct sched_policy baseline_sorted_policy;
extern const struct sched_policy skrull_paper_policy;
extern const struct sched_policy rr_policy;
extern const struct sched_policy skrull_policy;
extern const struct sched_policy skrull_cp_policy;
extern const struct sched_policy wlb_policy;
extern const struct sched_policy flexsp_policy;
extern const struct sched_policy hdp_policy;
extern const struct sched_policy opt_policy;

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
	p->outlier_delay = 0;
	p->opt_ms = 2000;
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
	  "drop samples longer than the policy can place: bucket x cp "
	  "(hdp: x dp) (else an error)", Z(drop_overlong) },
	{ "outlier-delay", KNOB_UINT, "0", 0, UINT32_MAX, NULL,
	  F(outlier_delay), "WLB-LLM's outlier delay (for wlb; any policy "
	  "but sorted): samples over N tokens wait until dp of them open a "
	  "global batch together (0: off)", Z(outlier_delay) },
	{ "opt-ms", KNOB_UINT, "2000", 0, 3600000, NULL, F(opt_ms),
	  "optimal: solver time limit per micro-batch, milliseconds "
	  "(0: none)", Z(opt_ms) },
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
	&skrull_cp_policy,
	&skrull_policy,
	&wlb_policy,
	&flexsp_policy,
	&hdp_policy,
	&opt_policy,
};
const size_t sched_npolicies =
    sizeof sched_policies / sizeof sched_policies[0];

const struct sched_policy *
sched_policy_find(const char *name)
{
	const char *names[sizeof sched_policies / sizeof sched_policies[0]];
	const char *near;
	char list[256];
	size_t i, used = 0;

	list[0] = '\0';
	for (i = 0; i < sched_npolicies; i++) {
		if (strcmp(sched_policies[i]->name, name) == 0)
			return sched_policies[i];
		names[i] = sched_policies[i]->name;
		used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
		    i > 0 ? ", " : "", sched_policies[i]->name);
		if (used >= sizeof list)
			used = sizeof list - 1;
	}
	if ((near = near_best(name, names, sched_npolicies)) != NULL)
		err_set(SK_ERR_ARG, "unknown policy '%s'; did you mean '%s'?",
		    name, near);
	else
		err_set(SK_ERR_ARG, "unknown policy '%s'; one of %s", name, list);
	return NULL;
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
	    p->mb_samples > 1 << 20 || p->seed > UINT32_MAX ||
	    p->outlier_delay > UINT32_MAX || p->opt_ms < 0 ||
	    p->opt_ms > 3600000)
		return err_set(SK_ERR_ARG, "scheduler parameters: mb-tokens, "
		    "mb-samples, seed, outlier-delay or opt-ms out of range");
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

/* The overlong filter: the indices of the samples the policy can place
 * (its CP group's bucket x cp, or the mesh's x dp: sched_policy.reach)
 * into order[0 .. *nkept), in trace order, the others counted in *dropped
 * (with drop-overlong) or refused. */
static int
batch_keep(const struct sched_policy *pol, const struct job *j,
    const struct sched_params *p, const struct trace *t,
    const char *trace_path, uint32_t *order, size_t *nkept,
    uint64_t *dropped)
{
	int mesh = pol->reach == REACH_MESH;
	uint64_t cap = job_cp_capacity(j) * (mesh ? (uint64_t)j->dp : 1);
	char a[32], b[32], c[32], by[32] = "";
	size_t i;

	if (mesh)
		snprintf(by, sizeof by, "%d x ", j->dp);
	*nkept = 0;
	*dropped = 0;
	for (i = 0; i < t->n; i++) {
		if (t->len[i] <= cap) {
			order[(*nkept)++] = (uint32_t)i;
			continue;
		}
		if (!p->drop_overlong)
			return err_set_at(SK_ERR_RANGE, trace_path, 0, "sample "
			    "%zu (%s tokens) exceeds the %s's capacity %s%d "
			    "x %s = %s tokens; --drop-overlong drops such "
			    "samples", i, grouped(t->len[i], a, sizeof a),
			    mesh ? "DP x CP mesh" : "CP group", by, j->cp,
			    grouped(j->bucket, b, sizeof b),
			    grouped(cap, c, sizeof c));
		(*dropped)++;
	}
	if (t->n == 0)
		return err_set_at(SK_ERR_RANGE, trace_path, 0, "no samples to "
		    "plan: the trace is empty");
	if (*nkept == 0)
		return err_set_at(SK_ERR_RANGE, trace_path, 0, "no samples to "
		    "plan: all %zu of the trace exceed the %s's capacity",
		    t->n, mesh ? "DP x CP mesh" : "CP group");
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

/*
 * WLB-LLM's outlier delay (knob outlier-delay, thr tokens): in the order
 * given, a sample longer than thr waits in a queue instead of joining the
 * batch being filled; a global batch that begins while R = dp samples (or
 * more) wait opens with the R that waited longest, one for each DP rank to
 * take, and is filled up with the samples that follow; those still waiting
 * at the end close the order.  The batches keep their sizes and
 * boundaries; only which samples they hold changes (every sample still
 * appears once).  R <= G: G = dp x batch.
 */
static int
delay_outliers(const struct trace *t, uint32_t *order, size_t nkept,
    size_t G, size_t R, uint64_t thr)
{
	uint32_t *out, *queue;
	size_t i, o = 0, head = 0, tail = 0;

	out = malloc(nkept * sizeof *out);
	queue = malloc(nkept * sizeof *queue);
	if (out == NULL || queue == NULL) {
		free(out);
		free(queue);
		return err_set(SK_ERR_NOMEM, "outlier delay of %zu samples: "
		    "out of memory", nkept);
	}
	for (i = 0; i < nkept; i++) {
		if (t->len[order[i]] > thr) {
			queue[tail++] = order[i];
			continue;
		}
		/* R = G releases a whole batch: then the next begins too. */
		while (o % G == 0 && tail - head >= R) {
			memcpy(out + o, queue + head, R * sizeof *out);
			o += R;
			head += R;
		}
		out[o++] = order[i];
	}
	memcpy(out + o, queue + head, (tail - head) * sizeof *out);
	memcpy(order, out, nkept * sizeof *order);
	free(out);
	free(queue);
	return SK_OK;
}

/* The global batches' samples as the policy's batching and the order and
 * outlier-delay knobs say: order[bfirst[it] .. bfirst[it + 1]) is
 * iteration it's batch. */
static int
batch_order(const struct sched_policy *pol, const struct sched_params *p,
    const struct trace *t, uint32_t *order, size_t nkept, size_t G,
    size_t niter, size_t nsamples, size_t dp, size_t *bfirst)
{
	gsl_rng *r = NULL;
	size_t it;
	int rc = SK_OK;

	for (it = 0; it < niter; it++)
		bfirst[it] = it * G;
	bfirst[niter] = nsamples;
	if (pol->batching == BATCHING_SORTED || p->order == ORDER_SHUFFLE) {
		if ((r = gsl_rng_alloc(gsl_rng_mt19937)) == NULL)
			return err_set(SK_ERR_NOMEM, "plan: out of memory");
		/* GSL seeds MT19937 from 0 with its default seed 4357. */
		gsl_rng_set(r, (unsigned long)p->seed);
		if (pol->batching == BATCHING_SORTED)
			rc = sorted_batching(t, order, nkept, G, niter, r,
			    bfirst);
		else
			gsl_ran_shuffle(r, order, nkept, sizeof *order);
		gsl_rng_free(r);
	}
	if (rc == SK_OK && pol->batching != BATCHING_SORTED &&
	    p->outlier_delay > 0)
		rc = delay_outliers(t, order, nkept, G, dp, p->outlier_delay);
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
	if ((rc = batch_keep(pol, j, p, t, trace_path, order, &nkept,
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
	    (size_t)j->dp, bfirst)) != SK_OK)
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
