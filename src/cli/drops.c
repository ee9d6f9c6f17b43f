/* drops: what a plan of a trace dropped, counted, warned about once and
 * written to JSON; see cli.h. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "err.h"
#include "job.h"
#include "plan.h"
#include "sched.h"
#include "trace.h"

const char *
cli_pct(double share, char *buf, size_t n)
{
	if (share > 0 && share < 0.0005)
		snprintf(buf, n, "<0.1%%");
	else
		snprintf(buf, n, "%.1f%%", 100 * share);
	return buf;
}

static double
share(uint64_t part, uint64_t whole)
{
	return whole > 0 ? (double)part / (double)whole : 0;
}

/* The overlong ones are the trace's samples over the reach; whatever
 * else the plan misses (its own count, p->dropped, and its tokens) is the
 * partial batch drop-last left out. */
void
cli_drops_count(const struct plan *p, const struct trace *t,
    struct cli_drops *d)
{
	const struct sched_policy *pol = sched_policy_find(p->policy);
	uint64_t planned = 0;
	size_t i;

	memset(d, 0, sizeof *d);
	d->mesh = pol != NULL && pol->reach == REACH_MESH;
	d->cap = job_cp_capacity(&p->job) * (d->mesh ? (uint64_t)p->job.dp : 1);
	d->samples = t->n;
	d->bucket = p->job.bucket;
	d->cp = p->job.cp;
	d->dp = p->job.dp;
	for (i = 0; i < t->n; i++) {
		d->tokens += t->len[i];
		if (t->len[i] > d->cap) {
			d->overlong++;
			d->overlong_tokens += t->len[i];
		}
	}
	for (i = 0; i < p->nsamples; i++)
		planned += p->samples[i].len;
	d->last = p->dropped > d->overlong ? p->dropped - d->overlong : 0;
	d->last_tokens = d->tokens - planned > d->overlong_tokens ?
	    d->tokens - planned - d->overlong_tokens : 0;
}

void
cli_drops_warn(const struct cli_drops *d, const char *label)
{
	char a[16], b[16], by[32] = "";

	if (d->overlong == 0 && d->last == 0)
		return;
	fprintf(stderr, "skrull: warning: %s%s", label != NULL ? label : "",
	    label != NULL ? ": " : "");
	if (d->overlong > 0) {
		if (d->mesh)
			snprintf(by, sizeof by, " x DP %d", d->dp);
		fprintf(stderr, "dropped %llu of %llu samples (%s) and %llu of "
		    "%llu tokens (%s) longer than %llu tokens (BucketSize %u x "
		    "CP %d%s, --drop-overlong)",
		    (unsigned long long)d->overlong,
		    (unsigned long long)d->samples,
		    cli_pct(share(d->overlong, d->samples), a, sizeof a),
		    (unsigned long long)d->overlong_tokens,
		    (unsigned long long)d->tokens,
		    cli_pct(share(d->overlong_tokens, d->tokens), b, sizeof b),
		    (unsigned long long)d->cap, d->bucket, d->cp, by);
		if (d->last > 0)
			fputs("; and ", stderr);
	}
	if (d->last > 0)
		fprintf(stderr, "dropped %llu samples (%s) and %llu tokens (%s) "
		    "of the last partial global batch (--drop-last)",
		    (unsigned long long)d->last,
		    cli_pct(share(d->last, d->samples), a, sizeof a),
		    (unsigned long long)d->last_tokens,
		    cli_pct(share(d->last_tokens, d->tokens), b, sizeof b));
	fputc('\n', stderr);
}

int
cli_drops_json(const struct cli_drops *d, cJSON *o)
{
	/* plan --json has its trace_samples already. */
	if ((cJSON_GetObjectItemCaseSensitive(o, "trace_samples") == NULL &&
	    cJSON_AddNumberToObject(o, "trace_samples", (double)d->samples) ==
	    NULL) ||
	    cJSON_AddNumberToObject(o, "trace_tokens", (double)d->tokens) ==
	    NULL ||
	    cJSON_AddNumberToObject(o, "dropped_overlong",
	    (double)d->overlong) == NULL ||
	    cJSON_AddNumberToObject(o, "dropped_overlong_tokens",
	    (double)d->overlong_tokens) == NULL ||
	    cJSON_AddNumberToObject(o, "dropped_last", (double)d->last) ==
	    NULL ||
	    cJSON_AddNumberToObject(o, "dropped_last_tokens",
	    (double)d->last_tokens) == NULL)
		return err_set(SK_ERR_NOMEM, "out of memory");
	return SK_OK;
}
