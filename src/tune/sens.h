/*
 * sens: the sensitivity analysis of `skrull tune`, the paper's Figure 4a
 * for the winning configuration: how its speed-up over the baseline moves
 * with BucketSize and with the batch size, and where it runs out of
 * memory.
 *
 * Each point is one fixed configuration scored with tune_score (common
 * random numbers: every point sees the same sampled global batches; no
 * early stopping).  The baseline is the packed deepspeed policy (one
 * micro-batch up to BucketSize x CP tokens) at the winner's layout and
 * BucketSize:
 *   - BucketSize sweep: SENS_BUCKET_POINTS values of job.bucket evenly
 *     from max(bucket_max / 4, 1) to 1.3 x bucket_max, rounded to the
 *     nearest token; one baseline for all of them.  Points above
 *     bucket_max should OOM: the memory model allows no more.
 *   - batch sweep: job.batch (samples per DP rank; the global batch is
 *     dp x batch) from batch / 8 to 2 x batch in powers of 2, at least 1,
 *     and at least 5 points (continuing 4 x, 8 x, ... for small batches);
 *     a baseline per point at the same batch size.
 * A point is OOM when its sample had an OOM (tune_score stops scoring it
 * at the first chunk with one).  tune_score drops drawn samples longer
 * than BucketSize x CP: a BucketSize point that drops more of them than
 * the baseline at the winner's BucketSize would look faster for training
 * less, so its times and speed-up are NAN (not comparable).
 *
 * Points are scored in parallel (o->threads, 0 = CPUs); o->progress, if
 * set, is called after each score with done of total.  Nothing is
 * printed; errors are recorded with err_set* and returned.
 */
#ifndef SKRULL_SENS_H
#define SKRULL_SENS_H

#include <stddef.h>
#include <stdint.h>

#include "trace.h"
#include "tune.h"

#define SENS_BUCKET_POINTS 10
#define SENS_BATCH_MIN_POINTS 5
#define SENS_MAX_POINTS 16

enum sens_kind { SENS_BUCKET = 0, SENS_BATCH };

struct sens_point {
	double x;          /* BucketSize (tokens) or batch (samples per DP rank) */
	double mean;       /* s: mean iteration time; NAN if not scored */
	double ci_lo;      /* s: 95% confidence interval of mean */
	double ci_hi;      /* s */
	double baseline;   /* s: packed deepspeed's mean at the same x (the
	                      BucketSize sweep: at the winner's BucketSize) */
	double speedup;    /* baseline / mean; NAN if either is missing */
	int oom;           /* 1: OOM in the sample */
};

struct sens_curve {
	enum sens_kind kind;
	struct sens_point p[SENS_MAX_POINTS];
	size_t n;          /* points, in increasing x */
	size_t boundary;   /* index of the first OOM point; n if none */
	double win;        /* the winner's own x: its BucketSize (tokens) or
	                      batch (samples per DP rank) */
};

/* The BucketSize sweep's x values for bucket_max tokens (> 0, else
 * SK_ERR_ARG). */
int sens_bucket_xs(uint32_t bucket_max, uint32_t x[SENS_BUCKET_POINTS]);

/* The batch sweep's x values around batch samples (1 to 2^20, else
 * SK_ERR_ARG); their number (at most SENS_MAX_POINTS) in *n. */
int sens_batch_xs(int batch, int x[SENS_MAX_POINTS], size_t *n);

/*
 * The sweeps of winner (its job, policy, sp and bucket_max) on trace t.
 * baseline: the packed deepspeed candidate at the winner's layout and
 * BucketSize, already scored (its mean and dropped count are used; for
 * the batch sweep, at the point of its own batch size), or NULL to score
 * it here.
 */
int sens_bucket(const struct tune_candidate *winner,
                const struct tune_candidate *baseline, const struct trace *t,
                const struct tune_opts *o, struct sens_curve *out);
int sens_batch(const struct tune_candidate *winner,
               const struct tune_candidate *baseline, const struct trace *t,
               const struct tune_opts *o, struct sens_curve *out);

/* x of the first OOM point (the OOM boundary), NAN if none. */
double sens_boundary(const struct sens_curve *c);

/*
 * c as CSV to path ("-": standard output), atomically: the header
 * "x,mean_s,ci_lo_s,ci_hi_s,baseline_s,speedup,oom", then one line per
 * point, numbers with %.10g (NAN as "nan").  SK_ERR_IO naming path.
 */
int sens_write_csv(const char *path, const struct sens_curve *c);

/*
 * The figure (svg_write): one panel per curve given, side by side (either
 * may be NULL, not both): speed-up with markers, mean iteration time on a
 * second axis with its 95% CI shaded, OOM points as red crosses, the OOM
 * boundary, a reference line at speed-up 1, the winner's x as a green
 * line, points without a speed-up named "OOM" or "infeasible" (samples
 * dropped, not comparable) at their x; the batch axis is logarithmic.
 */
int sens_plot(const char *path, const char *title,
              const struct sens_curve *bucket, const struct sens_curve *batch);

#endif
