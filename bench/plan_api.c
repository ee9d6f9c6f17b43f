/*
 * plan_api: per-global-batch latency of skrull_plan_batch, the call a
 * program linked with libskrull makes per iteration; the C side of
 * bench/python.sh, which times the same batches through the Python
 * package (bench/plan_python.py).  Only the public API (skrull.h): the
 * figure is what a caller of the library pays, the job resolved and the
 * plan built on every call, not the policy's inner loop plan_latency
 * times.
 *
 * Reads lengths, one a line (skrull-trace(5)'s plain text: spaces around
 * the number and a carriage return allowed, nothing else), builds the
 * default job (Qwen2.5-0.5B on H100) with the given shape, layout, batch,
 * BucketSize ("auto": from the memory model) and policy, drops the
 * samples longer than the CP group holds (BucketSize x CP, as
 * plan_latency and `skrull plan --drop-overlong`: the job's drop-overlong
 * knob would drop them inside a batch, which would then plan fewer than
 * DP x batch samples; hdp could place some of them), and cuts the rest in
 * order into global batches of DP x batch samples, a trailing partial
 * batch dropped (skrull_plan_batch takes whole ones only).  WARMUP calls
 * on the first batches, untimed, then each batch once, timed with
 * CLOCK_MONOTONIC around skrull_plan_batch alone (skrull_plan_free
 * outside).  Prints the batch count and the per-batch latency p50, p90
 * and mean in microseconds, as one JSON line with --json; --batches FILE
 * also writes each batch's latency, us, one a line in batch order (for
 * the per-batch differences of python.sh).
 *
 * usage: plan_api [--json] [--batches FILE] LENGTHS POLICY NODES GPUS DP
 *        CP BATCH BUCKET
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include <skrull.h>

/* Enough to fault in the library's code and the allocator's arenas. */
#define WARMUP 5
#define LEN_MAX 2147483647UL

static void
usage(void)
{
	fprintf(stderr, "usage: plan_api [--json] [--batches FILE] LENGTHS "
	    "POLICY NODES GPUS DP CP BATCH BUCKET\n");
	exit(2);
}

/* A positional count, 1 .. 2^31 - 1, or the usage. */
static int
count_arg(const char *what, const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0 || v < 1 || v > 2147483647L) {
		fprintf(stderr, "plan_api: %s %s: not a positive integer\n",
		    what, s);
		usage();
	}
	return (int)v;
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

/* The lengths of path into *len (malloc'd), their count into *n; a line
 * that is not one length is an error naming it. */
static int
read_lengths(const char *path, uint32_t **len, size_t *n)
{
	FILE *f;
	char *line = NULL, *p, *end;
	size_t cap = 0, lineno = 0, m = 0, want = 0;
	uint32_t *v = NULL, *nv;
	unsigned long x;
	ssize_t got;
	int rc = -1;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "plan_api: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((got = getline(&line, &cap, f)) != -1) {
		lineno++;
		p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		/* strtoul alone would take a sign, a second number's blanks
		 * and an empty line. */
		if (*p < '0' || *p > '9') {
			fprintf(stderr, "plan_api: %s: line %zu: not a length\n",
			    path, lineno);
			goto out;
		}
		errno = 0;
		x = strtoul(p, &end, 10);
		while (*end == ' ' || *end == '\t')
			end++;
		if (*end == '\r')
			end++;
		if (*end == '\n')
			end++;
		if (end != line + got) {
			fprintf(stderr, "plan_api: %s: line %zu: not a length\n",
			    path, lineno);
			goto out;
		}
		if (errno != 0 || x < 1 || x > LEN_MAX) {
			fprintf(stderr, "plan_api: %s: line %zu: length must be "
			    "1..%lu tokens\n", path, lineno, LEN_MAX);
			goto out;
		}
		if (m == want) {
			want = want ? 2 * want : 4096;
			if ((nv = realloc(v, want * sizeof *v)) == NULL) {
				fprintf(stderr, "plan_api: out of memory\n");
				goto out;
			}
			v = nv;
		}
		v[m++] = (uint32_t)x;
	}
	if (ferror(f)) {
		fprintf(stderr, "plan_api: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (m == 0) {
		fprintf(stderr, "plan_api: %s: no lengths\n", path);
		goto out;
	}
	*len = v;
	*n = m;
	v = NULL;
	rc = 0;
out:
	free(line);
	free(v);
	fclose(f);
	return rc;
}

int
main(int argc, char **argv)
{
	skrull_job *job = NULL;
	skrull_plan *plan = NULL;
	const char *batches = NULL;
	uint32_t *len = NULL, bucket;
	double *lat = NULL, t0, t1, sum = 0, tokens = 0;
	size_t n, i, kept = 0, gb, nb, b;
	int json = 0, nodes, gpus, dp, cp, batch, rc = 1;
	unsigned long bk;
	char *end;
	FILE *f;

	for (argv++, argc--; argc > 0 && argv[0][0] == '-'; argv++, argc--)
		if (strcmp(argv[0], "--json") == 0)
			json = 1;
		else if (strcmp(argv[0], "--batches") == 0 && argc > 1) {
			batches = argv[1];
			argv++;
			argc--;
		} else
			usage();
	if (argc != 8)
		usage();
	nodes = count_arg("NODES", argv[2]);
	gpus = count_arg("GPUS", argv[3]);
	dp = count_arg("DP", argv[4]);
	cp = count_arg("CP", argv[5]);
	batch = count_arg("BATCH", argv[6]);
	if (strcmp(argv[7], "auto") == 0)
		bk = 0;
	else {
		errno = 0;
		bk = strtoul(argv[7], &end, 10);
		if (argv[7][0] < '1' || argv[7][0] > '9' || *end != '\0' ||
		    errno != 0 || bk > 0xffffffffUL) {
			fprintf(stderr, "plan_api: BUCKET %s: not auto or a "
			    "positive integer\n", argv[7]);
			usage();
		}
	}
	if (skrull_job_new(&job) != SKRULL_OK ||
	    skrull_job_set_nodes(job, nodes, gpus) != SKRULL_OK ||
	    skrull_job_set_layout(job, dp, cp) != SKRULL_OK ||
	    skrull_job_set_batch(job, batch) != SKRULL_OK ||
	    skrull_job_set_bucket(job, (uint32_t)bk) != SKRULL_OK ||
	    skrull_job_set_policy(job, argv[1]) != SKRULL_OK ||
	    skrull_job_layout(job, NULL, NULL, NULL, &bucket) != SKRULL_OK) {
		fprintf(stderr, "plan_api: job: %s\n", skrull_last_error());
		goto out;
	}
	if (read_lengths(argv[0], &len, &n) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if ((uint64_t)len[i] <= (uint64_t)bucket * (uint64_t)cp)
			len[kept++] = len[i];
	gb = (size_t)dp * (size_t)batch;
	nb = kept / gb;
	if (nb == 0) {
		fprintf(stderr, "plan_api: %s: %zu samples within the CP group, "
		    "no whole global batch of %zu\n", argv[0], kept, gb);
		goto out;
	}
	if ((lat = malloc(nb * sizeof *lat)) == NULL) {
		fprintf(stderr, "plan_api: out of memory\n");
		goto out;
	}
	for (b = 0; b < WARMUP + nb; b++) {
		i = (b < WARMUP ? b % nb : b - WARMUP) * gb;
		t0 = now_us();
		if (skrull_plan_batch(job, len + i, gb, NULL, &plan) != SKRULL_OK) {
			fprintf(stderr, "plan_api: batch %zu: %s\n", i / gb,
			    skrull_last_error());
			goto out;
		}
		t1 = now_us();
		skrull_plan_free(plan);
		plan = NULL;
		if (b >= WARMUP)
			lat[b - WARMUP] = t1 - t0;
	}
	for (i = 0; i < nb * gb; i++)
		tokens += len[i];
	tokens /= (double)nb;
	if (batches != NULL) {
		if ((f = fopen(batches, "w")) == NULL) {
			fprintf(stderr, "plan_api: %s: %s\n", batches,
			    strerror(errno));
			goto out;
		}
		for (b = 0; b < nb; b++)
			fprintf(f, "%.3f\n", lat[b]);
		if (fclose(f) != 0) {
			fprintf(stderr, "plan_api: %s: %s\n", batches,
			    strerror(errno));
			goto out;
		}
	}
	for (b = 0; b < nb; b++)
		sum += lat[b];
	gsl_sort(lat, 1, nb);
	if (json)
		printf("{\"policy\": \"%s\", \"batches\": %zu, \"global_batch\": "
		    "%zu, \"dropped\": %zu, \"tokens_per_batch\": %.0f, "
		    "\"p50_us\": %.3f, \"p90_us\": %.3f, \"mean_us\": %.3f}\n",
		    argv[1], nb, gb, n - kept, tokens,
		    gsl_stats_quantile_from_sorted_data(lat, 1, nb, 0.5),
		    gsl_stats_quantile_from_sorted_data(lat, 1, nb, 0.9),
		    sum / (double)nb);
	else
		printf("%s: %zu global batches of %zu (%zu samples over %lu "
		    "tokens dropped), %.0f tokens each on average; per batch us: "
		    "p50 %.1f p90 %.1f mean %.1f\n", argv[1], nb, gb, n - kept,
		    (unsigned long)bucket * (unsigned long)cp, tokens,
		    gsl_stats_quantile_from_sorted_data(lat, 1, nb, 0.5),
		    gsl_stats_quantile_from_sorted_data(lat, 1, nb, 0.9),
		    sum / (double)nb);
	rc = 0;
out:
	skrull_job_free(job);
	free(len);
	free(lat);
	return rc;
}
