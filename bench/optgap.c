/*
 * optgap: how far the heuristic placements are from the optimum.  Draws
 * CASES random small micro-batches from the given traces, on W = 2, 4 and
 * 8 ranks in turn (one node of the default job, Qwen2.5-0.5B on H100: the
 * paper's collective table for 8 GPUs), and places each as the `skrull`
 * policy places a micro-batch (tgds_place_mb: skrull_gplace and FlexSP's
 * placement, the faster), by cdacp_gplace (`skrull-cp`) and by opt_place
 * started from skrull's.  A micro-batch is 2 to NMAX(W) samples, drawn
 * per sample uniformly (every other case) or in proportion to their
 * tokens (the samples that hold a micro-batch's tokens), with a
 * BucketSize that the draw fills to a random 50-100% (so some samples
 * exceed it and must be sharded).  Prints, per heuristic and W, for all,
 * and for all by BucketSize, the share of micro-batches within 0.1%, 1%,
 * 3% and 10% of the optimum (the heuristic's mbtime_eval over the
 * optimum's, minus 1), p50, p99 and max of that gap, and the solver's
 * seconds; and the largest relative difference between the MILP's
 * objective and mbtime_eval at its solution (the formulation against
 * ops.c).
 *
 * usage: optgap CASES SEED LIMIT_MS TRACE[:FIELD]...
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "err.h"
#include "job.h"
#include "mbtime.h"
#include "ops.h"
#include "opt.h"
#include "sched.h"
#include "trace.h"
#include "ws.h"

#define NW 3
#define NHEUR 2
/* Rows: each W, all, and all by BucketSize (below 4K, 4K-16K, 16K up:
 * a small bucket makes every collective's latency floor count). */
#define NG (NW + 4)
#define NMAX 10
static const int widths[NW] = { 2, 4, 8 };
/* The most samples per micro-batch on W ranks: what GLPK proves well
 * under a second (binaries: n x (2W - 1), and the table's segments). */
static const size_t nmax[NW] = { 10, 6, 5 };
static const char *const heur[NHEUR] = { "skrull", "skrull-cp" };

/* The skrull policy's placement of a micro-batch that is the whole batch:
 * its positions 0..n-1, w their weights. */
static int
skrull_mb(struct sched_ws *ws, const uint32_t *len, const double *w,
    size_t n, int W, int g0, struct mbt_item *it)
{
	double t;
	size_t i;

	(void)W;
	for (i = 0; i < n; i++) {
		ws->arr[i] = (uint32_t)i;
		ws->w[i] = w[i];
	}
	return tgds_place_mb(ws, len, skrull_gplace, 1, 0, n, g0, it, &t,
	    NULL);
}
static const char *const row[NG] = {
	"2", "4", "8", "all", "C<4K", "C4-16K", "C>=16K"
};

struct src {
	struct trace t;
	double *cum;  /* cum[i]: tokens of samples 0..i */
};

/* n lengths of one trace: uniform, or sample i with probability
 * len[i] / tokens. */
static void
draw(gsl_rng *r, const struct src *s, int weighted, size_t n, uint32_t *len)
{
	size_t i, lo, hi, mid;
	double x;

	for (i = 0; i < n; i++) {
		if (!weighted) {
			len[i] = s->t.len[gsl_rng_uniform_int(r, s->t.n)];
			continue;
		}
		x = gsl_rng_uniform(r) * s->cum[s->t.n - 1];
		lo = 0;
		hi = s->t.n - 1;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (s->cum[mid] > x)
				hi = mid;
			else
				lo = mid + 1;
		}
		len[i] = s->t.len[lo];
	}
}

static void
quantiles(const char *what, const char *W, double *gap, size_t n,
    size_t proven)
{
	size_t i, k[4] = { 0, 0, 0, 0 };
	static const double lim[4] = { 1e-3, 1e-2, 3e-2, 1e-1 };
	int q;

	gsl_sort(gap, 1, n);
	for (i = 0; i < n; i++)
		for (q = 0; q < 4; q++)
			k[q] += gap[i] <= lim[q];
	printf("%-10s %6s %6zu %6zu", what, W, n, proven);
	for (q = 0; q < 4; q++)
		printf(" %6.1f%%", 100.0 * k[q] / n);
	printf(" %8.3f%% %8.3f%% %8.3f%%\n",
	    100 * gsl_stats_quantile_from_sorted_data(gap, 1, n, 0.5),
	    100 * gsl_stats_quantile_from_sorted_data(gap, 1, n, 0.99),
	    100 * gap[n - 1]);
}

int
main(int argc, char **argv)
{
	struct src *src = NULL;
	struct trace_read_opts o;
	struct sched_params sp;
	struct sched_ws *ws = NULL;
	struct mbtime mt;
	struct opt_result res;
	struct mbt_item h[NHEUR][NMAX], best[NMAX];
	struct job j;
	gsl_rng *r = NULL;
	double *gap[NG][NHEUR], *sec[NG], th, u, limit, err = 0;
	size_t ncase, c, n, i, k, ns = 0, cnt[NG], proven[NG], a[3];
	uint32_t len[NMAX];
	uint64_t tok;
	char *colon;
	int rc = 1, x, W, hh, (*place[NHEUR])(struct sched_ws *,
	    const uint32_t *, const double *, size_t, int, int,
	    struct mbt_item *) = { skrull_mb, cdacp_gplace };
	double w[NMAX];

	if (argc < 5) {
		fprintf(stderr, "usage: optgap CASES SEED LIMIT_MS "
		    "TRACE[:FIELD]...\n");
		return 2;
	}
	ncase = strtoul(argv[1], NULL, 10);
	limit = atof(argv[3]) / 1e3;
	memset(gap, 0, sizeof gap);
	memset(sec, 0, sizeof sec);
	memset(&mt, 0, sizeof mt);
	if ((src = calloc((size_t)argc, sizeof *src)) == NULL ||
	    (r = gsl_rng_alloc(gsl_rng_mt19937)) == NULL ||
	    mbtime_init(&mt, 8, NMAX) != SK_OK)
		goto nomem;
	for (x = 0; x < NG; x++) {
		cnt[x] = proven[x] = 0;
		sec[x] = calloc(ncase + 1, sizeof *sec[x]);
		for (hh = 0; hh < NHEUR; hh++)
			if ((gap[x][hh] = calloc(ncase + 1,
			    sizeof *gap[x][hh])) == NULL)
				goto nomem;
		if (sec[x] == NULL)
			goto nomem;
	}
	gsl_rng_set(r, strtoul(argv[2], NULL, 10));
	for (x = 4; x < argc; x++, ns++) {
		memset(&o, 0, sizeof o);
		if ((colon = strchr(argv[x], ':')) != NULL) {
			*colon = '\0';
			o.field = colon + 1;
		}
		trace_init(&src[ns].t);
		if (trace_read(argv[x], &o, &src[ns].t, NULL) != SK_OK)
			goto fail;
		if ((src[ns].cum = malloc(src[ns].t.n * sizeof *src[ns].cum)) ==
		    NULL)
			goto nomem;
		for (i = 0; i < src[ns].t.n; i++)
			src[ns].cum[i] = (i > 0 ? src[ns].cum[i - 1] : 0) +
			    src[ns].t.len[i];
	}

	sched_params_default(&sp);
	for (c = 0; c < ncase; c++) {
		x = (int)(c % NW);
		W = widths[x];
		n = 2 + gsl_rng_uniform_int(r, nmax[x] - 1);
		draw(r, &src[gsl_rng_uniform_int(r, ns)], (int)(c / NW % 2), n,
		    len);
		u = 0.5 + 0.5 * gsl_rng_uniform(r);
		for (tok = 0, i = 0; i < n; i++)
			tok += len[i];
		job_default(&j);
		j.cluster.nodes = 1;
		j.dp = 1;
		j.cp = W;
		j.batch = (int)n;
		j.bucket = (uint32_t)ceil((double)tok / (W * u));
		j.bucket_auto = 0;
		if ((ws = sched_ws_new(&j, &sp, n)) == NULL)
			goto fail;
		/* tgds.c's weights: whole when it fits one rank */
		for (i = 0; i < n; i++)
			w[i] = ops_seq_sec(&ws->rate, len[i],
			    len[i] > j.bucket ? W : 1);
		for (hh = 0; hh < NHEUR; hh++)
			if (place[hh](ws, len, w, n, W, 0, h[hh]) != SK_OK)
				goto fail;
		if (opt_place(&j, W, 0, len, n, limit, h[0], best, &res) !=
		    SK_OK)
			goto fail;
		sched_ws_free(ws);
		ws = NULL;
		a[0] = (size_t)x;
		a[1] = NW;
		a[2] = NW + 1 + (j.bucket >= 4096) + (j.bucket >= 16384);
		for (k = 0; k < 3; k++) {
			for (hh = 0; hh < NHEUR; hh++) {
				th = mbtime_eval(&mt, &j, W, 0, h[hh], n, NULL);
				gap[a[k]][hh][cnt[a[k]]] = th / res.time - 1;
			}
			sec[a[k]][cnt[a[k]]++] = res.solve_sec;
			proven[a[k]] += res.status == OPT_OPTIMAL;
		}
		err = fmax(err, res.model_err);
	}

	printf("%zu micro-batches on W = 2, 4, 8 ranks (%zu, %zu, %zu "
	    "samples at most), seed %s, solver limit %s ms\n", ncase,
	    nmax[0], nmax[1], nmax[2], argv[2], argv[3]);
	printf("gap = heuristic / optimum - 1, mbtime_eval\n");
	printf("%-10s %6s %6s %6s %7s %7s %7s %7s %9s %9s %9s\n", "heuristic",
	    "W", "cases", "proven", "<=0.1%", "<=1%", "<=3%", "<=10%", "p50",
	    "p99", "max");
	for (hh = 0; hh < NHEUR; hh++)
		for (x = 0; x < NG; x++)
			if (cnt[x] > 0)
				quantiles(heur[hh], row[x], gap[x][hh], cnt[x],
				    proven[x]);
	printf("C: BucketSize, tokens\nsolver seconds per micro-batch:\n");
	for (x = 0; x < NG; x++) {
		if (cnt[x] == 0)
			continue;
		gsl_sort(sec[x], 1, cnt[x]);
		printf("  %-6s p50 %.4f  p99 %.4f  max %.4f\n", row[x],
		    gsl_stats_quantile_from_sorted_data(sec[x], 1, cnt[x], 0.5),
		    gsl_stats_quantile_from_sorted_data(sec[x], 1, cnt[x],
		    0.99), sec[x][cnt[x] - 1]);
	}
	printf("largest |MILP objective - mbtime_eval| / mbtime_eval at the "
	    "MILP's solution: %.3g\n", err);
	rc = 0;
	goto out;
nomem:
	fprintf(stderr, "optgap: out of memory\n");
	goto out;
fail:
	fprintf(stderr, "optgap: %s\n", err_msg());
out:
	sched_ws_free(ws);
	mbtime_free(&mt);
	for (x = 0; x < NG; x++) {
		free(sec[x]);
		for (hh = 0; hh < NHEUR; hh++)
			free(gap[x][hh]);
	}
	for (i = 0; src != NULL && i < ns; i++) {
		trace_free(&src[i].t);
		free(src[i].cum);
	}
	free(src);
	gsl_rng_free(r);
	return rc;
}
