/*
 * exec: the executor.  It runs a plan for real: every process is one GPU
 * of the plan's DP x CP grid (global rank g = d x cp + r) and executes, in
 * each iteration, the micro-batches its DP rank runs (plan_rank_mbs: the
 * spanning ones covering it, then its own) as the plan places them, on a
 * compute backend (kernels/kern.h for now) and a communicator
 * (src/exec/comm.h).  It knows neither MPI nor CUDA.
 *
 * The model is a decoder-only transformer with the plan's model's shape,
 * scaled down by struct exec_model (RMSNorm, Q/K/V projections with
 * grouped-query attention, rotary embedding, causal attention within each
 * sample of a packed micro-batch, output projection, SwiGLU MLP,
 * residuals, final norm, vocabulary projection, cross-entropy) over
 * deterministic synthetic token ids (seeded by sample index, so a sample's
 * tokens do not depend on where it runs), fp32, weights initialised from a
 * seed.  Real forward and backward; gradients accumulated over the
 * micro-batches, averaged per token over the global batch; summed over all
 * ranks (all-reduce); AdamW.
 *
 * Local samples are computed whole on their rank.  A sample sharded over
 * a shard group of N ranks (any aligned block of its micro-batch's span x
 * cp ranks, skrull-plan(5)) is split into 2N chunks with causal load
 * balancing (chunk k and 2N-1-k on the group's k-th rank); its K and V are
 * all-gathered across the group in forward (started non-blocking and
 * overlapped with the local samples' attention, as DACP prescribes) and
 * dK, dV reduce-scattered in backward, on the group's own communicator.
 * exec_new makes one communicator per distinct block of GPUs the plan's
 * groups use (world ranks a cp + first .. + size - 1 for a group of a
 * micro-batch listed by DP rank a), by splits of the world that every rank
 * takes part in, in the same order (overlapping blocks in different
 * splits; a rank in none of a split's blocks with COMM_NOCOLOR); they are
 * kept across iterations and freed by exec_free.  A rank in several
 * groups of a micro-batch runs their collectives ordered by the groups'
 * first rank, then size: one order on every member, so none waits on
 * another in a cycle.
 *
 * Results: a struct report (source "run", the schema of skrull sim) with
 * per-iteration, per-rank compute, communication and waiting time and peak
 * memory, on every rank (identical); the loss of every iteration.
 *
 * Details (xformer.h has the model's and the CP layout's):
 * - Tokens: position i of sample k is xf_token(seed, k, i, vocab); each
 *   position predicts the next one of its sample, a sample's last token
 *   has no target.  The loss is averaged over the global batch's targets,
 *   sum over its samples of (length - 1), which every rank computes from
 *   the plan.
 * - The model has no biases (qkv_bias is ignored); tied is honoured.
 * - Gradients are summed over all dp x cp ranks (every rank holds a partial
 *   gradient of the same replicated weights: tokens are partitioned, a
 *   spanning micro-batch's among all its ranks), in one all-reduce per
 *   iteration; there is no ZeRO here (the job's zero
 *   stage is ignored): every rank holds the whole weights, gradients and
 *   AdamW moments.
 * - Times per iteration and rank: comm is the time spent in comm_wait on
 *   data (the groups' K/V all-gathers, dK/dV reduce-scatters) and in the gradient
 *   all-reduce (its start and wait); waiting is the time in the
 *   all-reduce of the loss that precedes the gradient's (start and wait:
 *   it absorbs the ranks' imbalance), plus the difference
 *   between this rank's wall time and the slowest rank's, which is the
 *   iteration's time; busy (compute) is the rest of this rank's wall time.
 *   busy + comm + wait = the iteration's time.  Peak memory is the
 *   activation workspace (bytes) the iteration's largest part on this rank
 *   needs (xf_act_bytes); weights, gradients and moments (16 bytes per
 *   parameter) are not in it.  FLOPs are those executed (xf_stats).
 * - Failures: exec_new agrees over the world before any work, so it
 *   returns the same code on every rank (a rank whose own setup failed
 *   keeps its message; the others name the failed rank): a plan for
 *   another grid, one whose shard group needs more ranks than the world
 *   (the message names the group's GPUs), a split that failed on a rank
 *   (the message names the group of GPUs being made).  A split that fails
 *   in its communication is SK_ERR_IO, returned at once: the peers may be
 *   waiting in it, so print err_msg() and call world->ops->abort, as
 *   after exec_run's.  exec_run fails
 *   only on communication (SK_ERR_IO: a peer died or stalled past
 *   exec_opts.timeout; the communicators are then unusable: print
 *   err_msg() and call world->ops->abort, do not call exec_free), on the
 *   device (the backend's sync reports that an op of this rank failed:
 *   its code and message; the peers are left inside the next collective,
 *   so handle it as SK_ERR_IO: print and abort) or on the report
 *   (identically on every rank).
 */
#ifndef SKRULL_EXEC_H
#define SKRULL_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "comm.h"
#include "plan.h"
#include "report.h"

struct backend_ops;

/* The model actually run: the plan's model with these overrides (0 keeps
 * the plan's value; a CPU needs them small). */
struct exec_model {
	int hidden, layers, heads, kv_heads, ffn, vocab;
	uint64_t seed;       /* weights and token ids */
	double rope_theta;   /* 0: 1e6 (Qwen2.5) */
};

struct exec_opts {
	size_t first, count;     /* iterations [first, first + count), count 0 = all */
	float lr, beta1, beta2, eps, wd;   /* AdamW */
	int step;                /* 0: compute gradients, skip the update (tests) */
	double timeout;          /* seconds a collective may wait before the
	                            job is aborted (a failed peer); < 0 waits
	                            for ever */
	const struct backend_ops *backend;  /* NULL: the CPU backend */
	int device;              /* the backend's device this rank uses
	                            (0-based; 0 for the CPU) */
	double mem_limit;        /* bytes one rank may use for parameters,
	                            gradients, AdamW moments and activations;
	                            0: no limit.  A plan that needs more is
	                            refused before any work. */
};

void exec_model_default(struct exec_model *m);

/* The model the executor runs for the plan's model pm with overrides m,
 * as a struct model (pm's name and tying; no biases: the executor has
 * none), for simulating what a run executes; SK_ERR_ARG, as exec_new,
 * when the overrides do not make a model. */
int exec_model_resolve(const struct model *pm, const struct exec_model *m,
    struct model *out);
void exec_opts_default(struct exec_opts *o);

struct exec;  /* the executor's state: weights, gradients, moments, workspaces */

/* Set up on every rank: check the plan against the world (dp x cp ranks),
 * the model overrides, open the backend on device o->device for the
 * calling thread, allocate everything once and make the shard groups'
 * communicators (collective over world).  Errors name the rank and are
 * returned on every rank (collectively agreed) before any work, but
 * SK_ERR_IO (see Failures above).
 * The backend's state is the calling thread's: call exec_run, exec_free
 * and the accessors below on that thread (exec_free closes it). */
int exec_new(const struct plan *p, const struct exec_model *m,
             const struct exec_opts *o, struct comm *world, struct exec **out);
void exec_free(struct exec *x);

/* Run the iterations; r (allocated here, report_finish done; the same on
 * every rank; may be NULL) gets the report, loss[count] (every rank; may be
 * NULL) the mean loss per target token of each iteration's global batch.
 * It may be called again: the weights and the AdamW step count carry on
 * (r is then allocated afresh: report_free it first). */
int exec_run(struct exec *x, struct report *r, double *loss);

/* The flat parameter and gradient vectors (identical on every rank after an
 * iteration; the gradient is the last iteration's, summed over the ranks
 * and scaled, before its AdamW step), for tests: n floats each, in the
 * backend's memory (host memory for the CPU backend), laid out as
 * xformer.h's struct xf_layout. */
const float *exec_params(const struct exec *x, size_t *n);
const float *exec_grads(const struct exec *x, size_t *n);

/* Replace the parameters with host memory w[n] (n must be the model's
 * count, else SK_ERR_ARG), on this rank only: call it on every rank with
 * the same w.  The AdamW state is kept.  For tests (finite differences) and
 * for loading weights. */
int exec_set_params(struct exec *x, const float *w, size_t n);

#endif
