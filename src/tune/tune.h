/*
 * tune: the offline search of `skrull tune`.  For a trace, a model, a
 * cluster and a global batch size (samples), it finds the configuration
 * that runs fastest in simulation without running out of memory, and says
 * how sure that is.
 *
 * Search space (tune_enumerate): every DP x CP factorisation of the
 * cluster's GPUs with DP dividing the global batch; every policy asked
 * for; for the baselines, micro-batch formation (one sample per
 * micro-batch, or packed up to BucketSize x CP); ZeRO stage and recompute
 * mode when asked.  Points whose static memory leaves no room for one token
 * of activations are pruned before any simulation.  BucketSize is searched
 * per point by GSL's Brent minimiser (gsl_min_fminimizer_brent) over
 * [lo, the memory model's maximum], on the simulated mean iteration time.
 *
 * Scoring (tune_evaluate): simulate global batches drawn with a seeded RNG
 * from the trace (every candidate sees the same batches: common random
 * numbers), in chunks, until the 95% confidence interval of the mean
 * iteration time (Student t) is within rel_ci of the mean or max_batches
 * are done; stop early once the interval's lower end exceeds the best mean
 * so far (clearly worse: "pruned").  A candidate with any OOM in its sample
 * is infeasible, and so is one that drops more of the trace than
 * tune_opts.max_dropped allows (overdrop; it is not simulated).  For
 * each feasible candidate the per-iteration OOM probability has a 95%
 * Clopper-Pearson upper bound from its sample (0 OOMs in n:
 * 1 - 0.05^(1/n)).
 *
 * Nothing is printed; progress goes to a callback.
 */
#ifndef SKRULL_TUNE_H
#define SKRULL_TUNE_H

#include <stddef.h>
#include <stdint.h>

#include "job.h"
#include "sched.h"
#include "trace.h"

#define TUNE_POLICY_MAX 32
#define TUNE_MAX_POLICIES 8

struct tune_space {
	int global_batch;                 /* samples per iteration */
	const char *policies[TUNE_MAX_POLICIES];
	int npolicies;                    /* default: deepspeed and skrull */
	int search_zero;                  /* also try ZeRO stages 1..3 */
	int search_recompute;             /* also try none/selective/full */
	uint32_t bucket_lo;               /* smallest BucketSize tried, tokens */
};

struct tune_opts {
	uint64_t seed;           /* global batch sampling */
	size_t chunk;            /* batches simulated between checks (16) */
	size_t min_batches;      /* before any stopping (32) */
	size_t max_batches;      /* cap per evaluation (128) */
	double rel_ci;           /* stop when CI half-width <= rel_ci x mean (0.02) */
	int threads;             /* candidates evaluated at once, 0 = CPUs */
	double max_dropped;      /* share of the trace's samples, and of its
	                            tokens, a candidate may drop as too long
	                            for its policy's reach, [0, 1] (0) */
	/* Called after each candidate (from one thread at a time): done of
	 * total, the best mean so far (s, 0 if none), elapsed seconds. */
	void (*progress)(void *ctx, size_t done, size_t total, double best,
	                 double elapsed);
	void *ctx;
};

struct tune_candidate {
	/* the point */
	struct job job;                   /* layout, ZeRO, recompute; bucket =
	                                     the best BucketSize found */
	char policy[TUNE_POLICY_MAX];
	struct sched_params sp;
	uint32_t bucket_lo;               /* smallest BucketSize tried, tokens
	                                     (tune_space's) */
	uint32_t bucket_max;              /* memory model's largest BucketSize */
	/* the result */
	int evaluated;                    /* 0: pruned before simulation */
	int feasible;                     /* no OOM in its sample */
	int pruned;                       /* stopped early: clearly worse */
	size_t batches;                   /* global batches simulated */
	size_t evaluations;               /* simulations (Brent steps) */
	double mean, ci_lo, ci_hi;        /* iteration time, s, 95% CI */
	double bound;                     /* mean bound of the same iterations
	                                     (report.h), s */
	double mfu;
	double peak;                      /* largest peak memory, bytes */
	double headroom;                  /* (HBM - reserve - peak) / HBM */
	size_t ooms;                      /* iterations with an OOM */
	size_t dropped;                   /* drawn samples the planner
	                                     dropped as overlong, not trained */
	/* What the candidate drops of the whole trace (tune_drops): the
	 * samples longer than its policy's reach at bucket_max, the same
	 * at every BucketSize searched (range_lo in tune.c) and the same
	 * samples `skrull plan` drops with its job. */
	size_t trace_n;                   /* samples in the trace */
	uint64_t trace_tokens;            /* tokens in the trace */
	size_t trace_dropped;             /* samples dropped */
	uint64_t trace_dropped_tokens;    /* their tokens */
	int overdrop;                     /* infeasible: drops more than
	                                     tune_opts.max_dropped */
	double oom_bound;                 /* 95% upper bound, per iteration */
	double baseline_mean;             /* deepspeed (packed) at this layout,
	                                     s; 0 if not evaluated */
};

struct tune_result {
	struct tune_candidate *c;         /* ranked: feasible by mean first */
	size_t n;
	size_t best;                      /* index in c, or (size_t)-1 if no
	                                     feasible candidate */
};

void tune_opts_default(struct tune_opts *o);
void tune_space_default(struct tune_space *s);

/* The discrete candidates for base (its model, cluster, reserve,
 * precision, knobs in sp), pruned by memory; *out allocated (free()). */
int tune_enumerate(const struct job *base, const struct sched_params *sp,
                   const struct tune_space *s, struct tune_candidate **out,
                   size_t *n);

/* Evaluate one candidate on trace t: Brent over BucketSize, scoring each
 * BucketSize as described above; best is the best feasible mean so far
 * (0: none) for early stopping. */
int tune_evaluate(struct tune_candidate *c, const struct trace *t,
                  const struct tune_opts *o, double best);

/* Evaluate candidates c[i] for i in [first, n) with i % stride == first %
 * stride (the MPI split: rank r of K evaluates first = r, stride = K),
 * threads in parallel. */
int tune_evaluate_all(struct tune_candidate *c, size_t n, size_t first,
                      size_t stride, const struct trace *t,
                      const struct tune_opts *o);

/* The longest sample, tokens, candidate c's policy places at BucketSize
 * bucket: bucket x cp, or x dp for a policy whose reach is the mesh
 * (sched_policy.reach, as the planner's overlong filter). */
uint64_t tune_capacity(const struct tune_candidate *c, uint32_t bucket);

/* Fill c's trace_* fields from trace t at bucket_max and set overdrop
 * when either share passes max_dropped (c not fitting memory: zeros). */
void tune_drops(struct tune_candidate *c, const struct trace *t,
                double max_dropped);

/* Fill the baselines, rank and pick the best (r->c takes ownership of c). */
int tune_rank(struct tune_candidate *c, size_t n, struct tune_result *r);
void tune_result_free(struct tune_result *r);

/* 95% Clopper-Pearson upper bound of a per-iteration probability from k
 * events in n iterations (GSL's beta quantile). */
double tune_oom_bound(size_t k, size_t n);

/*
 * Score one fixed configuration (no BucketSize search): mean iteration
 * time and its CI over the sampled batches, as tune_evaluate does for each
 * BucketSize.  For the sensitivity sweeps.
 */
int tune_score(struct tune_candidate *c, const struct trace *t,
               const struct tune_opts *o, double best);

#endif
