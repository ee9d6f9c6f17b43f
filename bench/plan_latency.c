/*
 * plan_latency: per-global-batch scheduling latency of a policy, the
 * figure a data loader pays per iteration.  Reads a trace, cuts it into
 * global batches in trace order (dropping samples longer than the CP group
 * holds, as `skrull plan --drop-overlong`), and times each policy call with
 * CLOCK_MONOTONIC.  Prints the total and the latency quantiles in
 * microseconds.
 *
 * usage: plan_latency TRACE POLICY DP CP BATCH BUCKET
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "err.h"
#include "job.h"
#include "plan.h"
#include "sched.h"
#include "trace.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int
main(int argc, char **argv)
{
	struct job j;
	struct sched_params sp;
	const struct sched_policy *pol;
	struct sched_ws *ws = NULL;
	struct trace t;
	struct plan p;
	uint32_t *idx = NULL, *len = NULL;
	double *lat = NULL, total = 0, t0;
	size_t n = 0, i, nb, gb, b, k;
	int rc = 1;

	if (argc != 7) {
		fprintf(stderr, "usage: plan_latency TRACE POLICY DP CP BATCH BUCKET\n");
		return 2;
	}
	trace_init(&t);
	plan_init(&p);
	job_default(&j);
	j.dp = atoi(argv[3]);
	j.cp = atoi(argv[4]);
	j.batch = atoi(argv[5]);
	j.bucket = (uint32_t)strtoul(argv[6], NULL, 10);
	j.bucket_auto = 0;
	j.cluster.nodes = (j.dp * j.cp + j.cluster.gpus_per_node - 1) / j.cluster.gpus_per_node;
	sched_params_default(&sp);
	if ((pol = sched_policy_find(argv[2])) == NULL) {
		fprintf(stderr, "plan_latency: unknown policy %s\n", argv[2]);
		goto out;
	}
	if (trace_read(argv[1], NULL, &t, NULL) != SK_OK)
		goto fail;
	gb = (size_t)j.dp * (size_t)j.batch;
	idx = malloc(t.n * sizeof *idx);
	len = malloc(t.n * sizeof *len);
	for (i = 0; idx != NULL && len != NULL && i < t.n; i++)
		if ((uint64_t)t.len[i] <= (uint64_t)j.bucket * (uint64_t)j.cp) {
			idx[n] = (uint32_t)i;
			len[n++] = t.len[i];
		}
	nb = (n + gb - 1) / gb;
	lat = malloc(nb * sizeof *lat);
	if (idx == NULL || len == NULL || lat == NULL) {
		fprintf(stderr, "plan_latency: out of memory\n");
		goto out;
	}
	p.job = j;
	if ((ws = sched_ws_new(&j, &sp, gb)) == NULL ||
	    plan_reserve(&p, nb, n, n) != SK_OK)
		goto fail;
	for (b = 0; b < nb; b++) {
		k = b + 1 < nb ? gb : n - b * gb;
		if (plan_iter_begin(&p, idx + b * gb, k) != SK_OK)
			goto fail;
		t0 = now();
		if (pol->run(ws, idx + b * gb, len + b * gb, k, &p) != SK_OK)
			goto fail;
		lat[b] = (now() - t0) * 1e6;
		total += lat[b];
	}
	gsl_sort(lat, 1, nb);
	printf("%s: %zu global batches of %zu, total %.3f s; per batch us: "
	    "p50 %.1f p90 %.1f p99 %.1f max %.1f\n", argv[2], nb, gb, total * 1e-6,
	    gsl_stats_quantile_from_sorted_data(lat, 1, nb, 0.5),
	    gsl_stats_quantile_from_sorted_data(lat, 1, nb, 0.9),
	    gsl_stats_quantile_from_sorted_data(lat, 1, nb, 0.99), lat[nb - 1]);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "plan_latency: %s\n", err_msg());
out:
	sched_ws_free(ws);
	plan_free(&p);
	trace_free(&t);
	free(idx);
	free(len);
	free(lat);
	return rc;
}
