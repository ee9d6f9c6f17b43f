/* plan_io: plan_write and plan_read (see plan.h), the file format of
 * skrull-plan(5). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "afile.h"
#include "err.h"
#include "json.h"
#include "mem.h"
#include "plan.h"

#define PLAN_FORMAT "skrull-plan"

/* Longest "where" prefix handed to the json getters ("plan.json: trace"). */
#define WHERE_MAX 512

/* Indices are uint32_t, so a trace holds at most 2^32 samples. */
#define TRACE_SAMPLES_MAX 4294967296.0

/* ---- writing ---- */

/*
 * The job, policy and trace go through cJSON; the iterations, which hold
 * one entry per sample, are formatted here and streamed to the file one
 * iteration at a time, exactly as cJSON would print them unindented: a
 * plan of 10^8 samples needs no tree of 10^8 nodes, no second copy of its
 * text, and is not cut by cJSON's 2 GiB limit on printed text.  cJSON 1.7
 * would also print each number with "%1.15g" and a read-back check, which
 * makes a 1M-sample plan take seconds instead of a tenth of one.
 */

/* Widest text of one sample, "[4294967295,2147483647,-2147483648],", or
 * of one in a shard group, "[4294967295,2147483647,65535,65535],". */
#define SAMPLE_TEXT_MAX 37
/* Widest text of one index, "4294967295,". */
#define INDEX_TEXT_MAX 11
/* Text around an iteration's arrays: {"batch":[],"ranks":[]}, and per DP
 * rank {"micro_batches":[]}, and per micro-batch [], with commas. */
#define ITER_TEXT 32
#define RANK_TEXT 24
#define MB_TEXT 32  /* {"span":65535,"samples":[]}, */

/* Bytes buffered between writes, at least: a whole iteration's text is
 * formatted in place. */
#define WRITE_BUF (64 * 1024)

/* v in decimal at b; returns the end. */
static char *
putint(char *b, int64_t v)
{
	char d[24];
	uint64_t u;
	size_t n = 0;

	if (v < 0)
		*b++ = '-';
	u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	do
		d[n++] = (char)('0' + u % 10);
	while ((u /= 10) > 0);
	while (n > 0)
		*b++ = d[--n];
	return b;
}

/* s at b; returns the end. */
static char *
put(char *b, const char *s)
{
	size_t n = strlen(s);

	memcpy(b, s, n);
	return b + n;
}

/* End the list whose text ends at b (its last ',' or its opening) with
 * c; returns the end. */
static char *
close_list(char *b, char c)
{
	if (b[-1] == ',')
		b--;
	*b++ = c;
	return b;
}

/* The most text one iteration of p takes, bytes. */
static size_t
iter_text_max(const struct plan *p)
{
	size_t it, n, most = 0;
	int d;

	for (it = 0; it < p->niter; it++) {
		n = ITER_TEXT + (p->batch_first[it + 1] - p->batch_first[it]) *
		    INDEX_TEXT_MAX;
		for (d = 0; d < p->job.dp; d++) {
			const struct plan_rank *rk =
			    &p->ranks[it * (size_t)p->job.dp + (size_t)d];
			const struct plan_mb *last = rk->n > 0 ?
			    &p->mbs[rk->first + rk->n - 1] : NULL;

			n += RANK_TEXT + rk->n * MB_TEXT + (last == NULL ? 0 :
			    (last->first + last->n - p->mbs[rk->first].first) *
			    SAMPLE_TEXT_MAX);
		}
		if (n > most)
			most = n;
	}
	return most;
}

/* Iteration it's JSON object at b, followed by a ','; returns the end.
 * b holds iter_text_max(p). */
static char *
iter_text(const struct plan *p, size_t it, char *b)
{
	const struct plan_rank *rk;
	const struct plan_mb *mb;
	const struct plan_sample *sm;
	size_t i, m, k;
	int d, W;

	b = put(b, "{\"batch\":[");
	for (i = p->batch_first[it]; i < p->batch_first[it + 1]; i++) {
		b = putint(b, p->batch[i]);
		*b++ = ',';
	}
	b = put(close_list(b, ']'), ",\"ranks\":[");
	for (d = 0; d < p->job.dp; d++) {
		rk = &p->ranks[it * (size_t)p->job.dp + (size_t)d];
		b = put(b, "{\"micro_batches\":[");
		for (m = 0; m < rk->n; m++) {
			mb = &p->mbs[rk->first + m];
			W = plan_mb_width(p, mb);
			if (mb->span > 1) {
				b = put(b, "{\"span\":");
				b = putint(b, mb->span);
				b = put(b, ",\"samples\":");
			}
			*b++ = '[';
			for (k = 0; k < mb->n; k++) {
				sm = &p->samples[mb->first + k];
				*b++ = '[';
				b = putint(b, sm->index);
				*b++ = ',';
				b = putint(b, sm->len);
				*b++ = ',';
				/* A group of all W ranks is written as in
				 * version 1, -1. */
				if (sm->place == PLAN_SHARDED &&
				    sm->size != W) {
					b = putint(b, sm->first);
					*b++ = ',';
					b = putint(b, sm->size);
				} else
					b = putint(b, sm->place);
				b = put(b, "],");
			}
			b = close_list(b, ']');
			if (mb->span > 1)
				*b++ = '}';
			*b++ = ',';
		}
		b = put(close_list(b, ']'), "},");
	}
	return put(close_list(b, ']'), "},");
}

/* The plan without its iterations, as cJSON prints it unindented. */
static int
head_text(const char *path, const struct plan *p, char **text)
{
	cJSON *root, *o, *params;
	int i, e = SK_OK;

	*text = NULL;
	if ((root = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(root, "format", PLAN_FORMAT) == NULL ||
	    cJSON_AddNumberToObject(root, "version", PLAN_VERSION) == NULL ||
	    (o = cJSON_AddObjectToObject(root, "job")) == NULL)
		goto nomem;
	if ((e = job_to_json(&p->job, o)) != SK_OK)
		goto out;
	if ((o = cJSON_AddObjectToObject(root, "policy")) == NULL ||
	    cJSON_AddStringToObject(o, "name", p->policy) == NULL ||
	    (params = cJSON_AddObjectToObject(o, "params")) == NULL)
		goto nomem;
	for (i = 0; i < p->nparams; i++) {
		const struct plan_param *q = &p->params[i];

		if ((q->text[0] != '\0' ?
		    cJSON_AddStringToObject(params, q->name, q->text) :
		    cJSON_AddNumberToObject(params, q->name, q->value)) == NULL)
			goto nomem;
	}
	if ((o = cJSON_AddObjectToObject(root, "trace")) == NULL ||
	    cJSON_AddStringToObject(o, "path", p->trace) == NULL ||
	    cJSON_AddNumberToObject(o, "samples", (double)p->trace_n) == NULL ||
	    cJSON_AddNumberToObject(o, "dropped", (double)p->dropped) == NULL ||
	    (*text = cJSON_PrintUnformatted(root)) == NULL)
		goto nomem;
	goto out;
nomem:
	e = err_set_at(SK_ERR_NOMEM, path, 0, "out of memory");
out:
	cJSON_Delete(root);
	return e;
}

int
plan_write(const char *path, const struct plan *p)
{
	const char *name = strcmp(path, "-") == 0 ? "<stdout>" : path;
	struct afile af;
	struct afile_buf w;
	char *head = NULL, *buf = NULL, *b;
	size_t it, m, most, cap;
	int e, open = 0;

	if (p->job.bucket_auto)
		return err_set_at(SK_ERR_ARG, path, 0, "job.bucket: a plan needs "
		    "a resolved BucketSize, not \"auto\"");
	if (p->job.dp < 1 || p->nranks != p->niter * (size_t)p->job.dp)
		return err_set_at(SK_ERR_ARG, path, 0, "incomplete plan: %zu DP "
		    "ranks for %zu iterations of dp %d", p->nranks, p->niter,
		    p->job.dp);
	/* Readers refuse an empty micro-batch. */
	for (it = 0; it < p->niter; it++)
		for (m = 0; m < (size_t)p->job.dp; m++) {
			const struct plan_rank *rk =
			    &p->ranks[it * (size_t)p->job.dp + m];
			size_t k;

			for (k = 0; k < rk->n; k++)
				if (p->mbs[rk->first + k].n == 0)
					return err_set_at(SK_ERR_ARG, path, 0,
					    "iteration %zu has an empty "
					    "micro-batch", it);
		}
	if ((e = head_text(path, p, &head)) != SK_OK)
		goto out;
	most = iter_text_max(p) + 1;
	cap = most > WRITE_BUF ? most : WRITE_BUF;
	if ((buf = malloc(cap)) == NULL) {
		e = err_set_at(SK_ERR_NOMEM, path, 0, "out of memory");
		goto out;
	}
	/* What the caller printed through stdio goes first. */
	if (strcmp(path, "-") == 0 && fflush(stdout) != 0) {
		e = err_set_at(SK_ERR_IO, name, 0, "write error: %s",
		    strerror(errno));
		goto out;
	}
	if ((e = afile_open(path, &af)) != SK_OK)
		goto out;
	open = 1;
	afile_buf_init(&w, af.fd, name, buf, cap);
	afile_buf_attach(&w, &af);
	/* head ends with the object's '}': the iterations go before it. */
	if ((e = afile_buf_put(&w, head, strlen(head) - 1)) != SK_OK ||
	    (e = afile_buf_puts(&w, ",\"iterations\":[")) != SK_OK)
		goto out;
	for (it = 0; it < p->niter; it++) {
		if ((b = afile_buf_room(&w, most)) == NULL) {
			e = afile_buf_status(&w);
			goto out;
		}
		/* The last iteration's ',' is left out. */
		w.len += (size_t)(iter_text(p, it, b) - b) - (it + 1 == p->niter);
	}
	if ((e = afile_buf_puts(&w, "]}\n")) != SK_OK ||
	    (e = afile_buf_flush(&w)) != SK_OK)
		goto out;
	open = 0;
	e = afile_commit(&af, 0);
out:
	if (open)
		afile_abort(&af, 0);
	cJSON_free(head);
	free(buf);
	return e;
}

/* ---- reading ---- */

/* The members each object may have: a misspelt one is an error, not
 * silently ignored. */
static const char *const top_keys[] = {
	"format", "version", "job", "policy", "trace", "iterations"
};
static const char *const policy_keys[] = { "name", "params" };
static const char *const trace_keys[] = { "path", "samples", "dropped" };
static const char *const iter_keys[] = { "batch", "ranks" };
static const char *const rank_keys[] = { "micro_batches" };
#define NKEYS(a) (sizeof (a) / sizeof (a)[0])

/* The members of a JSON array (cJSON_GetArraySize, named for its use). */
static size_t
count(const cJSON *a)
{
	const cJSON *c;
	size_t n = 0;

	if (!cJSON_IsArray(a))
		return 0;
	for (c = a->child; c != NULL; c = c->next)
		n++;
	return n;
}

/* Number of iterations, global-batch entries, micro-batches and samples,
 * for plan_reserve; members of the wrong type count 0 (pass 2 refuses
 * them). */
static void
tally(const cJSON *iters, size_t *niter, size_t *nbatch, size_t *maxbatch,
      size_t *nmbs, size_t *nsamples)
{
	const cJSON *it, *rk, *mb;
	size_t n;

	*niter = *nbatch = *maxbatch = *nmbs = *nsamples = 0;
	for (it = iters->child; it != NULL; it = it->next) {
		(*niter)++;
		n = count(cJSON_GetObjectItemCaseSensitive(it, "batch"));
		*nbatch += n;
		if (n > *maxbatch)
			*maxbatch = n;
		rk = cJSON_GetObjectItemCaseSensitive(it, "ranks");
		if (!cJSON_IsArray(rk))
			continue;
		for (rk = rk->child; rk != NULL; rk = rk->next) {
			mb = cJSON_GetObjectItemCaseSensitive(rk,
			    "micro_batches");
			if (!cJSON_IsArray(mb))
				continue;
			for (mb = mb->child; mb != NULL; mb = mb->next) {
				(*nmbs)++;
				*nsamples += count(cJSON_IsObject(mb) ?
				    cJSON_GetObjectItemCaseSensitive(mb,
				    "samples") : mb);
			}
		}
	}
}

/* x as an integer in [lo, hi]: 0, or 1 (not an integer) or 2 (range). */
static int
intval(const cJSON *x, double lo, double hi, double *out)
{
	if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble) ||
	    x->valuedouble != floor(x->valuedouble))
		return 1;
	*out = x->valuedouble;
	return *out < lo || *out > hi ? 2 : 0;
}

/* The "policy" object into p. */
static int
read_policy(const char *path, const cJSON *root, struct plan *p)
{
	char where[WHERE_MAX];
	const cJSON *o, *params, *c;
	const char *s;
	int e, i;

	if ((e = json_get_obj(root, "policy", path, &o)) != SK_OK)
		return e;
	snprintf(where, sizeof where, "%s: policy", path);
	if ((e = json_check_keys(o, where, policy_keys, NKEYS(policy_keys))) !=
	    SK_OK || (e = json_get_str(o, "name", where, &s)) != SK_OK)
		return e;
	if (s[0] == '\0' || strlen(s) >= sizeof p->policy)
		return err_set_at(SK_ERR_FORMAT, path, 0, "policy.name: '%s' is "
		    "empty or longer than %zu bytes", s, sizeof p->policy - 1);
	snprintf(p->policy, sizeof p->policy, "%s", s);
	if ((e = json_get_obj(o, "params", where, &params)) != SK_OK)
		return e;
	for (c = params->child; c != NULL; c = c->next) {
		for (i = 0; i < p->nparams; i++)
			if (strcmp(p->params[i].name, c->string) == 0)
				return err_set_at(SK_ERR_FORMAT, path, 0,
				    "policy.params.%s: given twice", c->string);
		if (cJSON_IsNumber(c))
			e = plan_param(p, c->string, c->valuedouble, NULL);
		else if (cJSON_IsString(c))
			e = plan_param(p, c->string, NAN, c->valuestring);
		else
			return err_set_at(SK_ERR_FORMAT, path, 0,
			    "policy.params.%s: expected a number or a string",
			    c->string);
		if (e != SK_OK) {
			err_prefix(path);
			return e;
		}
	}
	return SK_OK;
}

/* The "trace" object into p. */
static int
read_trace(const char *path, const cJSON *root, struct plan *p)
{
	char where[WHERE_MAX];
	const cJSON *o;
	const char *s;
	long long n, dropped;
	int e;

	if ((e = json_get_obj(root, "trace", path, &o)) != SK_OK)
		return e;
	snprintf(where, sizeof where, "%s: trace", path);
	if ((e = json_check_keys(o, where, trace_keys, NKEYS(trace_keys))) !=
	    SK_OK || (e = json_get_str(o, "path", where, &s)) != SK_OK)
		return e;
	if (strlen(s) >= sizeof p->trace)
		return err_set_at(SK_ERR_FORMAT, path, 0, "trace.path: longer "
		    "than %zu bytes", sizeof p->trace - 1);
	snprintf(p->trace, sizeof p->trace, "%s", s);
	if ((e = json_get_int(o, "samples", where, 0,
	    (long long)TRACE_SAMPLES_MAX, &n)) != SK_OK ||
	    (e = json_get_int(o, "dropped", where, 0, n, &dropped)) != SK_OK)
		return e;
	p->trace_n = (uint64_t)n;
	p->dropped = (uint64_t)dropped;
	return SK_OK;
}

/* Where a micro-batch is, for messages. */
#define MB_AT "iterations[%zu].ranks[%d].micro_batches[%zu]"

/* The keys of a spanning micro-batch (version 2). */
static const char *const mb_keys[] = { "span", "samples" };

/*
 * One micro-batch of iteration it, DP rank d, position m, into p: a JSON
 * array of samples, or (version 2) {"span": k, "samples": [...]}.  A
 * sample is [index, len, place] or (version 2) [index, len, first, size].
 */
static int
read_mb(const char *path, int version, const cJSON *mb, size_t it, int d,
        size_t m, struct plan *p)
{
	static const char *const field[] = { "index", "len", "place", "size" };
	char where[WHERE_MAX];
	const cJSON *s, *x, *arr = mb;
	double v[4], lo[4], hi[4];
	long long span = 1;
	size_t k, f, n;
	int e, W;

	if (cJSON_IsObject(mb) && version >= 2) {
		snprintf(where, sizeof where, "%s: " MB_AT, path, it, d, m);
		if ((e = json_check_keys(mb, where, mb_keys,
		    NKEYS(mb_keys))) != SK_OK ||
		    (e = json_get_int(mb, "span", where, 1, p->job.dp - d,
		    &span)) != SK_OK)
			return e;
		arr = cJSON_GetObjectItemCaseSensitive(mb, "samples");
		if (arr == NULL)
			return err_set_at(SK_ERR_FORMAT, path, 0, MB_AT ": "
			    "missing samples", it, d, m);
	}
	if (!cJSON_IsArray(arr))
		return err_set_at(SK_ERR_FORMAT, path, 0, MB_AT ": expected "
		    "%s", it, d, m, version >= 2 ? "an array or {\"span\", "
		    "\"samples\"}" : "an array");
	if (arr->child == NULL)
		return err_set_at(SK_ERR_FORMAT, path, 0, MB_AT ": empty "
		    "micro-batch", it, d, m);
	if ((e = plan_mb_begin_span(p, (int)span)) != SK_OK)
		return e;
	W = plan_mb_width(p, &p->mbs[p->nmbs - 1]);
	lo[0] = 0, hi[0] = UINT32_MAX;
	lo[1] = 1, hi[1] = TRACE_LEN_MAX;
	lo[3] = 2, hi[3] = W;
	for (s = arr->child, k = 0; s != NULL; s = s->next, k++) {
		n = cJSON_IsArray(s) ? count(s) : 0;
		if (n != 3 && (n != 4 || version < 2))
			return err_set_at(SK_ERR_FORMAT, path, 0, MB_AT "[%zu]: "
			    "expected [index, len, place]%s", it, d, m, k,
			    version >= 2 ? " or [index, len, first, size]" :
			    "");
		/* place is -1 or a rank; a group's first rank is >= 0 */
		lo[2] = n == 3 ? PLAN_SHARDED : 0;
		hi[2] = W - 1;
		for (x = s->child, f = 0; f < n; x = x->next, f++) {
			e = intval(x, lo[f], hi[f], &v[f]);
			if (e == 1)
				return err_set_at(SK_ERR_FORMAT, path, 0,
				    MB_AT "[%zu]: %s: expected an integer", it,
				    d, m, k, n == 4 && f == 2 ? "first" :
				    field[f]);
			if (e == 2)
				return err_set_at(SK_ERR_FORMAT, path, 0,
				    MB_AT "[%zu]: %s %.0f is not in [%.0f, "
				    "%.0f]", it, d, m, k, n == 4 && f == 2 ?
				    "first" : field[f], v[f], lo[f], hi[f]);
		}
		e = n == 3 ? plan_push(p, (uint32_t)v[0], (uint32_t)v[1],
		    (int32_t)v[2]) : plan_push_group(p, (uint32_t)v[0],
		    (uint32_t)v[1], (int)v[2], (int)v[3]);
		if (e != SK_OK)
			return e;
	}
	return SK_OK;
}

/* Iteration number it (a JSON object) into p; scratch holds its batch. */
static int
read_iter(const char *path, int version, const cJSON *o, size_t it,
          uint32_t *scratch, struct plan *p)
{
	char where[WHERE_MAX];
	const cJSON *batch, *ranks, *rk, *mbs, *mb, *x;
	size_t n, m;
	double v;
	int d, e;

	if (!cJSON_IsObject(o))
		return err_set_at(SK_ERR_FORMAT, path, 0, "iterations[%zu]: "
		    "expected an object", it);
	snprintf(where, sizeof where, "%s: iterations[%zu]", path, it);
	if ((e = json_check_keys(o, where, iter_keys, NKEYS(iter_keys))) !=
	    SK_OK)
		return e;
	batch = cJSON_GetObjectItemCaseSensitive(o, "batch");
	if (!cJSON_IsArray(batch))
		return err_set_at(SK_ERR_FORMAT, path, 0, batch == NULL ?
		    "iterations[%zu]: missing batch" :
		    "iterations[%zu].batch: expected an array", it);
	for (x = batch->child, n = 0; x != NULL; x = x->next, n++) {
		if ((e = intval(x, 0, UINT32_MAX, &v)) != 0)
			return err_set_at(SK_ERR_FORMAT, path, 0, "iterations"
			    "[%zu].batch[%zu]: expected a sample index in [0, "
			    "%" PRIu32 "]", it, n, UINT32_MAX);
		scratch[n] = (uint32_t)v;
	}
	if ((e = plan_iter_begin(p, scratch, n)) != SK_OK)
		return e;
	ranks = cJSON_GetObjectItemCaseSensitive(o, "ranks");
	if (!cJSON_IsArray(ranks))
		return err_set_at(SK_ERR_FORMAT, path, 0, ranks == NULL ?
		    "iterations[%zu]: missing ranks" :
		    "iterations[%zu].ranks: expected an array", it);
	if ((n = count(ranks)) != (size_t)p->job.dp)
		return err_set_at(SK_ERR_FORMAT, path, 0, "iterations[%zu]."
		    "ranks: expected %d (the job's dp), not %zu", it,
		    p->job.dp, n);
	for (rk = ranks->child, d = 0; rk != NULL; rk = rk->next, d++) {
		if (!cJSON_IsObject(rk))
			return err_set_at(SK_ERR_FORMAT, path, 0, "iterations"
			    "[%zu].ranks[%d]: expected an object", it, d);
		snprintf(where, sizeof where, "%s: iterations[%zu].ranks[%d]",
		    path, it, d);
		if ((e = json_check_keys(rk, where, rank_keys,
		    NKEYS(rank_keys))) != SK_OK)
			return e;
		mbs = cJSON_GetObjectItemCaseSensitive(rk, "micro_batches");
		if (!cJSON_IsArray(mbs))
			return err_set_at(SK_ERR_FORMAT, path, 0, mbs == NULL ?
			    "iterations[%zu].ranks[%d]: missing micro_batches" :
			    "iterations[%zu].ranks[%d].micro_batches: expected "
			    "an array", it, d);
		if ((e = plan_rank_begin(p)) != SK_OK)
			return e;
		for (mb = mbs->child, m = 0; mb != NULL; mb = mb->next, m++)
			if ((e = read_mb(path, version, mb, it, d, m, p)) !=
			    SK_OK)
				return e;
	}
	return SK_OK;
}

/* A plan's text per sample, bytes: "[123456789,1234,-1]," and its index
 * in the batch, "123456789,", rounded down (so the count is an upper
 * bound). */
#define PLAN_TEXT_PER_SAMPLE 24.0

/* SK_OK unless reading path (a regular file, not compressed: a gzip
 * file's size says too little) can never fit in memory: then
 * SK_ERR_NOMEM with the estimate (mem.h). */
static int
fits(const char *path)
{
	struct stat st;
	char where[WHERE_MAX];
	double n;

	if (strcmp(path, "-") == 0 || stat(path, &st) != 0 ||
	    !S_ISREG(st.st_mode))
		return SK_OK;
	n = (double)st.st_size / PLAN_TEXT_PER_SAMPLE;
	snprintf(where, sizeof where, "%s: reading this plan", path);
	return mem_check(where, (double)st.st_size * MEM_PLAN_READ_FACTOR,
	    (uint64_t)n);
}

int
plan_read(const char *path, struct plan *p)
{
	char where[WHERE_MAX];
	struct plan q;
	cJSON *root = NULL;
	const cJSON *o, *iters, *it;
	uint32_t *scratch = NULL;
	size_t niter, nbatch, maxbatch, nmbs, nsamples, i;
	int e, version = 0;

	plan_init(&q);
	if ((e = fits(path)) != SK_OK ||
	    (e = json_load(path, &root)) != SK_OK)
		goto out;
	if (!cJSON_IsObject(root)) {
		e = err_set_at(SK_ERR_FORMAT, path, 0, "expected a JSON object");
		goto out;
	}
	if ((e = json_check_keys(root, path, top_keys, NKEYS(top_keys))) !=
	    SK_OK || (e = json_check_version_range(root, path, PLAN_FORMAT, 1,
	    PLAN_VERSION, &version)) != SK_OK ||
	    (e = json_get_obj(root, "job", path, &o)) != SK_OK)
		goto out;
	snprintf(where, sizeof where, "%s: job", path);
	if ((e = job_from_json(o, where, &q.job)) != SK_OK)
		goto out;
	if (q.job.bucket_auto) {
		e = err_set_at(SK_ERR_FORMAT, path, 0, "job.bucket: \"auto\" in "
		    "a plan; a plan records the resolved BucketSize in tokens");
		goto out;
	}
	if ((e = job_validate(&q.job, where)) != SK_OK ||
	    (e = read_policy(path, root, &q)) != SK_OK ||
	    (e = read_trace(path, root, &q)) != SK_OK ||
	    (e = json_get_arr(root, "iterations", path, &iters)) != SK_OK)
		goto out;

	tally(iters, &niter, &nbatch, &maxbatch, &nmbs, &nsamples);
	/* The batch entries and the placed samples are equal in number in a
	 * valid plan; reserve for the larger so plan_validate can say which
	 * differs. */
	if ((e = plan_reserve(&q, niter, nsamples > nbatch ? nsamples : nbatch,
	    nmbs)) != SK_OK)
		goto out;
	if ((scratch = malloc((maxbatch > 0 ? maxbatch : 1) *
	    sizeof *scratch)) == NULL) {
		e = err_set_at(SK_ERR_NOMEM, path, 0, "out of memory");
		goto out;
	}
	for (it = iters->child, i = 0; it != NULL; it = it->next, i++)
		if ((e = read_iter(path, (int)version, it, i, scratch, &q)) !=
		    SK_OK)
			goto out;
	plan_free(p);
	*p = q;
	plan_init(&q);
out:
	free(scratch);
	cJSON_Delete(root);
	plan_free(&q);
	if (e != SK_OK)
		plan_free(p);
	return e;
}
