/*
 * calib: `skrull calibrate`'s measurements and fits (skrull-calibrate(1)).
 * Everything runs through a backend ops table (backend.h) and, for the
 * collectives, a communicator (comm.h), so the same code calibrates the
 * CPU and a GPU.
 *
 * Timing: CLOCK_MONOTONIC around the op and the backend's sync; one
 * warm-up run, then the median of the repetitions.  What is measured:
 *   - GEMM, C[T x out] = A[T x in] W[in x out], for the model's
 *     projection shapes (QKV, O, MLP gate+up, down) at token counts T on
 *     a geometric grid: 2 T in out FLOPs;
 *   - causal attention forward and backward of one sequence, key length
 *     S on a geometric grid up to max_len: 2 h_q S (S + 1) FLOPs forward
 *     (cost_layer_attn_fwd), 2.5 times that backward (as sim/ops.c counts
 *     it).  On "cpu" with one query and one KV head of the model's head
 *     dimension: the CPU kernel runs heads one after another, so its rate
 *     does not depend on their number, and one head keeps a calibration
 *     to seconds.  On a GPU with the model's heads;
 *   - the launch cost: a one-element add, many times, then one sync;
 *   - memory bandwidth: a large copy (bytes read + written);
 *   - with a communicator of 2 or more ranks, all-gather, reduce-scatter
 *     and all-reduce over it at sizes (nccl-tests' size: the whole
 *     buffer) on a geometric grid, a barrier before each repetition; the
 *     times are rank 0's.
 * Compute is measured on rank 0 only (the others wait), so that ranks
 * sharing a machine do not disturb it.
 *
 * Fits (calib_fit): throughput(x) = P x / (x + h) by nonlinear least
 * squares (GSL gsl_multifit_nlinear, trust region with Levenberg-
 * Marquardt) on relative residuals (fit - y) / y, in log P and log h so
 * that both stay positive; standard errors from the covariance scaled by
 * the residual variance (sum of squares / (n - 2)).
 */
#ifndef SKRULL_CALIB_H
#define SKRULL_CALIB_H

#include <stddef.h>

#include "backend.h"
#include "comm.h"
#include "model.h"
#include "profile.h"

struct calib_opts {
	const struct model *model;  /* its projection shapes and head size */
	size_t max_len;     /* longest attention key length, tokens; 0: the
	                       backend's default (calib_default_max_len) */
	int quick;          /* fewer points and repetitions (tests) */
	int device;         /* backend device number to open */
	double peak_flops;  /* reference peak, FLOP/s; 0: the fitted asymptote */
	double hbm_bw;      /* reference bandwidth, bytes/s; 0: measured */
	/* if not NULL, called by calib_measure after each measurement with
	 * the measurements done and the total on this rank */
	void (*progress)(void *ctx, size_t done, size_t total);
	void *progress_ctx;
};

/* 131072 tokens on a GPU backend; 4096 on "cpu" (1024 with quick). */
size_t calib_default_max_len(const struct backend_ops *b, int quick);

/*
 * Measure into p (its device, backend, count, dtype and model set; the
 * raw measurements appended): compute on rank 0 of world (or when world
 * is NULL), collectives when world has 2 or more ranks (every rank must
 * call this).  Opens the calling thread on o->device and closes it.
 */
int calib_measure(const struct backend_ops *b, struct comm *world,
                  const struct calib_opts *o, struct profile *p);

/*
 * Fit y = P x / (x + h) to n points (x > 0, y > 0; n >= 3) into f (n,
 * P, h, their standard errors, the RMS of the relative residuals).
 * SK_ERR_ARG for bad points, SK_ERR_RANGE when the fit does not converge
 * to finite values.
 */
int calib_fit(const double *x, const double *y, size_t n,
              struct profile_fit *f);

/*
 * From p's measurements: the fits, peak FLOP/s and HBM bandwidth (the
 * references of o, else the fitted and measured values: profile.h), the
 * efficiencies, the launch cost and the collective table (running
 * maximum of the medians, so that it never falls with size).  Then
 * profile_validate.  SK_ERR_ARG when a kind of measurement is missing,
 * SK_ERR_RANGE when a measured rate exceeds a given reference.
 */
int calib_finish(struct profile *p, const struct calib_opts *o);

#endif
