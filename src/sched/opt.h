/*
 * opt: the exact optimum of one micro-batch's placement, a mixed-integer
 * linear program solved with GLPK, and the `optimal` policy built on it.
 *
 * The micro-batch of n samples runs on W ranks, GPUs g0 .. g0 + W - 1
 * (mbtime.h).  Each sample takes one option: whole on a rank q, or
 * sharded over an aligned block [first, first + size), size >= 2
 * dividing W.  The MILP minimises the micro-batch's time under
 * mbtime_eval subject to mbtime_fits; its objective is that time
 * exactly, not a bound of it: every term of ops_mb_time is a maximum of
 * affine functions of the rank's sums (which a minimisation over
 * epigraph variables represents exactly), an affine function with a
 * binary "has work" indicator (the GEMM efficiency curve and the
 * launches), or the collective table's piecewise-linear curve of a
 * group's keys (segments chosen by binaries, or its supporting lines
 * where it is convex).  The formulation is the model of ops.c written
 * out again, so opt_place measures it against mbtime_eval at every
 * solution (opt_result.model_err): ops.c changing under it shows there.
 *
 * GLPK's own tolerances apply (integrality 1e-9, objective 1e-9 of the
 * incumbent, feasibility 1e-7): "optimal" is optimal within them, and the
 * returned placement is always one mbtime_fits accepts, timed by
 * mbtime_eval.  Terminal output of GLPK is silenced and its fatal errors
 * are caught: opt_place never prints and never aborts on a solver
 * failure.  GLPK allocates as it solves, so unlike the other policies
 * `optimal` allocates while planning.
 */
#ifndef SKRULL_SCHED_OPT_H
#define SKRULL_SCHED_OPT_H

#include <stddef.h>
#include <stdint.h>

#include "job.h"
#include "mbtime.h"

enum opt_status {
	OPT_OPTIMAL = 0,  /* proven optimal within the solver's tolerances */
	OPT_LIMIT,        /* the time limit came first: the best placement
	                     found, with the bound proven so far */
	OPT_FAILED        /* the solver failed: the start is returned */
};

struct opt_result {
	enum opt_status status;
	double time;        /* mbtime_eval of the placement returned, s */
	double start_time;  /* mbtime_eval of the start, s; 0 without one */
	double bound;       /* proven lower bound of the optimum, s (0 when
	                       none was proven) */
	double gap;         /* (time - bound) / time, 0 when proven optimal */
	double solve_sec;   /* wall-clock seconds of the whole call */
	double model_err;   /* |MILP objective - mbtime_eval| / mbtime_eval
	                       of the MILP's own solution (0 when the
	                       solver returned none) */
	int improved;       /* 1 when the placement returned beats the start */
	char why[160];      /* OPT_FAILED: what GLPK reported, else "" */
};

/*
 * Place the n samples len[0..n) of one micro-batch on W ranks starting at
 * GPU g0 of the job's grid so that mbtime_eval is least.  start (may be
 * NULL) is a placement to begin from and to fall back on, given to the
 * solver as its first incumbent; it must be valid (aligned blocks inside
 * [0, W), mbtime_fits).  time_limit_s > 0 bounds the call's wall-clock
 * time (0: none).  out[0..n) gets the best placement found (len copied);
 * res (may be NULL) the status and figures.
 *
 * Returns SK_OK whenever out holds a valid placement, whatever the
 * status; SK_ERR_ARG for an invalid argument or start; SK_ERR_RANGE when
 * no placement fits memory; SK_ERR_UNSUPPORTED when the solver failed
 * and there is no start to return (res->why says why); SK_ERR_NOMEM.
 */
int opt_place(const struct job *j, int W, int g0, const uint32_t *len,
              size_t n, double time_limit_s, const struct mbt_item *start,
              struct mbt_item *out, struct opt_result *res);

#endif
