/*
 * ws: internal to src/sched.  The scheduling workspace shared by the policy
 * files (ws.c: its allocation and the helpers ws_*: the FLOPs estimate, the
 * sort, a DP rank's samples, pushing a rank to the plan), and the few
 * functions the policy files call across files: the baseline micro-batcher
 * of baseline.c, the GDS composer of gds.c, cost-driven DACP of
 * cdacp.c and the RR placement of rr.c.  Not a public contract.
 *
 * Memory is counted in tokens scaled by N (the CP degree), so that 1/N of a
 * sharded sample stays an integer: a CP rank's load is N x local tokens +
 * the sum of the sharded lengths, against N x C (C = BucketSize).  This is
 * the exact integer form of the paper's Eq. 7 that plan_validate checks.
 *
 * Every array is allocated by sched_ws_new() for global batches of up to
 * `max` samples; planning itself never allocates.
 */
#ifndef SKRULL_SCHED_WS_H
#define SKRULL_SCHED_WS_H

#include <stddef.h>
#include <stdint.h>

#include "job.h"
#include "mbtime.h"
#include "ops.h"
#include "plan.h"
#include "sched.h"

struct peers;

struct sched_ws {
	struct job job;             /* copy of the job (bucket resolved) */
	struct sched_params par;    /* copy of the parameters */
	int N;                      /* CP degree */
	int dp;                     /* DP degree */
	uint64_t cap;               /* N x C: tokens one micro-batch may hold,
	                               and one CP rank's scaled capacity */
	uint64_t mb_budget;         /* baselines: tokens per micro-batch
	                               (mb_tokens, or cap when 0) */
	size_t max;                 /* samples of the largest global batch */

	/* Global batch level (baseline.c, gds.c); max entries unless noted. */
	double *fl;                 /* FLOPs of batch sample i */
	uint64_t *key;              /* sort keys */
	int *bin;                   /* DP rank of batch sample i */
	double *binload;            /* dp entries: FLOPs per DP rank */
	uint32_t *sub;              /* one DP rank's batch positions, ascending */
	uint32_t *arr;              /* batch positions in micro-batch order */
	size_t *mbfirst;            /* max + 1: micro-batch j is
	                               arr[mbfirst[j] .. mbfirst[j + 1]) */
	int32_t *place;             /* placement of arr[i] */
	uint32_t *glen;             /* one micro-batch gathered: lengths */
	double *gfl;                /* ... and FLOPs */

	/* Micro-batch level (dacp.c, rr.c). */
	uint64_t *dkey;             /* max: (length << 32 | position), sorted */
	double *dfl;                /* max: FLOPs when the caller gave none */
	uint64_t *tmp;              /* max: ws_sort_u64's scratch */
	int64_t *rb;                /* N: remaining bucket, tokens x N */
	double *load;               /* N: FLOPs per CP rank */
	size_t *head;               /* N: roll-back scan start in dkey */

	/* Time-driven planning (cdacp.c, tgds.c). */
	struct ops_rate rate;       /* the job's rates, on ws->job */
	double *w;                  /* max: GPU-seconds of batch sample i */
	int32_t *cand;              /* max: a candidate placement */
	struct ops_load *rl;        /* N: a candidate's load per CP rank */
	struct ops_load *one;       /* max: micro-batch sequence i alone, whole */
	double *mbw;                /* max: weight per micro-batch */
	uint64_t *mbtok;            /* max: tokens per micro-batch */

	/* Shard groups and spans (tgds_compose, skrull.c). */
	struct mbt_item *items;     /* max: placement of arr[i] */
	struct mbt_item *citems;    /* max: a candidate placement */
	struct mbt_item *bitems;    /* max: skrull.c's even-block candidate */
	double *qload;              /* dp x cp: seconds per rank of a
	                               micro-batch */
	uint64_t *qmem;             /* dp x cp: its scaled memory */
	double *pre;                /* dp: GPU-seconds of spanning micro-batches
	                               on each DP rank */
	int32_t *spanat;            /* max: first DP rank of batch sample i's
	                               spanning micro-batch, -1: none */
	int32_t *spank;             /* max: ... the DP ranks it spans */
	/* The whole batch's micro-batches before they are pushed: batch
	 * micro-batch x is rarr[rmbfirst[x] .. rmbfirst[x + 1]) (batch
	 * positions) placed as ritems[...], rmbt[x] its estimated seconds,
	 * rmerge[x] the span (batch position) it joins or -1; DP rank d's
	 * are rmb0[d] .. rmb0[d + 1]. */
	uint32_t *rarr;             /* max */
	struct mbt_item *ritems;    /* max */
	size_t *rmbfirst;           /* max + 1 */
	double *rmbt;               /* max */
	int32_t *rmerge;            /* max */
	size_t *rmb0;               /* dp + 1 */
	/* The GPU-first composition (mesh.c): batch sample i's group size
	 * msize[i] (0: it spans DP ranks), its block's first GPU of the mesh
	 * mgpu[i] and each member's seconds mw[i]; the micro-batches in
	 * marr, mitems, mmbfirst, mmbt, mmb0, as rarr ... rmb0 above. */
	int32_t *msize, *mgpu;      /* max */
	uint32_t *mmb;              /* max: its micro-batch of its DP rank's */
	int64_t *mroom;             /* max x cp: a DP rank's micro-batch y's
	                               room on CP rank r at y cp + r, scaled
	                               tokens (ws.h's memory) */
	double *mw;                 /* max */
	uint32_t *marr;             /* max */
	struct mbt_item *mitems;    /* max */
	size_t *mmbfirst;           /* max + 1 */
	double *mmbt;               /* max */
	size_t *mmb0;               /* dp + 1 */
	double *gload;              /* dp x cp: estimated seconds per GPU */
	double *clk;                /* dp x cp: the iteration estimate's clock
	                               per GPU (mesh_clock) */
	double *rsec;               /* dp x cp: one micro-batch's seconds per
	                               rank (mbtime_eval) */
	int32_t *reach;             /* dp x cp: mesh_clock's scratch */
	int32_t *htree;             /* 2 hP: the GPUs in a tournament tree by
	                               gload (mesh.c) */
	int hP;                     /* the power of two >= dp x cp */
	size_t *mcnt;               /* 2 dp + 1: the DP ranks' lists */
	struct mbtime mbt;          /* micro-batches of up to dp x cp ranks */
	/* The peer systems' policies (peers.h: wlb.c, flexsp.c, hdp.c). */
	struct peers *peers;
};

/* Placement of one micro-batch: len[k] (fl[k] its FLOPs, may be NULL where
 * the placement ignores FLOPs) -> place[k] (PLAN_SHARDED or a CP rank).
 * SK_ERR_RANGE when no placement fits. */
typedef int (*sched_place_fn)(struct sched_ws *ws, const uint32_t *len,
                              const double *fl, size_t k, int32_t *place);

/* Whole-sequence FLOPs of a sample of len tokens under par.flops: paper:
 * cost_flops_paper x layers x 3 (forward, and backward at twice it); exact:
 * cost_seq_flops_total. */
double ws_flops(const struct sched_ws *ws, uint32_t len);

/* Sort a[0..n) (n <= max) ascending in place through ws->tmp (keys are
 * unique by construction, so stability does not arise). */
void ws_sort_u64(struct sched_ws *ws, uint64_t *a, size_t n);

/* fl[i] = ws_flops(len[i]) for the n samples of a batch. */
void ws_batch_flops(struct sched_ws *ws, const uint32_t *len, size_t n);

/* DP rank d's batch positions in ws->key order (the bin-packers' ws->bin
 * assigns them) into ws->sub; returns their count, *tok their tokens. */
size_t ws_rank_samples(struct sched_ws *ws, const uint32_t *len, size_t n,
                          int d, uint64_t *tok);

/*
 * One DP rank's c samples sub[0..c) (batch positions, heaviest first by
 * ws->w) into m micro-batches: each sample into the micro-batch with the
 * least weight that still has room for its tokens (N x C), the fewer
 * tokens on a tie.  SK_ERR_RANGE when one fits none (try m + 1; m = c
 * always fits).  arr/mbfirst then hold the micro-batches, each heaviest
 * first.
 */
int ws_fill(struct sched_ws *ws, const uint32_t *len, size_t c, size_t m);

/* The fewest micro-batches that can hold tok tokens: ceil(tok / (N x C)),
 * at least 1. */
size_t ws_min_mbs(const struct sched_ws *ws, uint64_t tok);

/* The k samples of the micro-batch at arr[a .. a + k) gathered for a
 * placement: their lengths into glen and, unless fl is NULL, their fl
 * values (FLOPs or weights, by batch position) into gfl. */
void ws_gather(struct sched_ws *ws, const uint32_t *len, const double *fl,
               size_t a, size_t k);

/* Push micro-batches mbfirst[0..m] of arr/place for one DP rank to the
 * plan (plan_rank_begin included). */
int ws_push_rank(struct sched_ws *ws, const uint32_t *idx,
                    const uint32_t *len, size_t m, struct plan *out);

/* DeepSpeed's micro-batches (contiguous DP slices, consecutive samples
 * packed up to mb_budget tokens and mb_samples samples), each placed by
 * place (NULL: every sample sharded); fl as for sched_place_fn. */
int baseline_run(struct sched_ws *ws, const uint32_t *idx, const uint32_t *len,
                 size_t n, const double *fl, sched_place_fn place,
                 struct plan *out);

/* GDS (the paper's Algorithm 2): FLOPs bin-packing over DP, then per DP rank the
 * fewest interleaved micro-batches that fit and that place accepts; with
 * batch_order each micro-batch reaches place in dataset order rather than
 * ascending length. */
int gds_compose(struct sched_ws *ws, const uint32_t *idx, const uint32_t *len,
                size_t n, sched_place_fn place, int batch_order,
                struct plan *out);

/*
 * Cost-driven DACP (cdacp.c): place the n sequences len[0..n) with weights
 * w[i] (ops_seq_sec whole) so that the micro-batch's estimated makespan,
 * the largest ops_mb_time over its CP ranks, is least; place[i] =
 * PLAN_SHARDED or a CP rank.  SK_ERR_RANGE when they hold more than
 * N x C tokens (no placement fits).
 */
int cdacp_place(struct sched_ws *ws, const uint32_t *len, const double *w,
                size_t n, int32_t *place);

/*
 * Placement of one micro-batch with shard groups: the n sequences len[]
 * (w[i]: ops_seq_sec whole, or over the fewest ranks memory allows) on W
 * ranks, GPUs g0 .. g0 + W - 1, into it[0..n) (mbtime.h).  SK_ERR_RANGE
 * when no placement fits.
 */
typedef int (*sched_gplace_fn)(struct sched_ws *ws, const uint32_t *len,
                               const double *w, size_t n, int W, int g0,
                               struct mbt_item *it);

/*
 * Skrull's composition of a global batch (tgds.c): with TGDS_SPANS,
 * samples that no CP group can run within the batch's balanced share get
 * a micro-batch spanning the DP ranks that makes their iteration fastest;
 * then the rest time-balanced over DP (counting those spans), the fewest
 * micro-batches memory allows, each placed by place (the DP-first
 * composition); with TGDS_MESH also the GPU-first one (mesh_compose),
 * kept instead where its iteration estimate is less.  With place = NULL
 * and how = 0 it is the `skrull-cp` policy (cdacp_place, all-CP groups).
 */
#define TGDS_SPANS 1u
#define TGDS_MESH 2u
int tgds_compose(struct sched_ws *ws, const uint32_t *idx, const uint32_t *len,
                 size_t n, sched_gplace_fn place, unsigned how,
                 struct plan *out);

/*
 * One micro-batch of the composition, ws->arr[a .. a + k) (batch
 * positions; ws->w their weights), on the CP group at GPU g0: placed by
 * place and, with rival (skrull), by FlexSP's placement too where a
 * sequence outweighs a rank's mean load, the faster by mbtime_eval kept
 * into it[0..k), its seconds in *t and, unless rank is NULL, each rank's
 * in rank[0..N).
 */
int tgds_place_mb(struct sched_ws *ws, const uint32_t *len,
                  sched_gplace_fn place, int rival, size_t a, size_t k,
                  int g0, struct mbt_item *it, double *t, double *rank);

/* cdacp_place as a placement with groups (W must be the CP degree): its
 * shards span all W ranks. */
int cdacp_gplace(struct sched_ws *ws, const uint32_t *len, const double *w,
                 size_t n, int W, int g0, struct mbt_item *it);

/* Seconds each member of a shard group of d ranks at GPU g spends on a
 * sample of S tokens (d = 1: whole): its share, ops_seq_sec(S, d) / d, and
 * every layer's collectives of the group, not counting what local
 * attention may hide, so that a group must earn its communication
 * (skrull.c's block LPT, mesh.c's composition). */
double skrull_member_sec(const struct sched_ws *ws, double S, int d, int g);

/* Skrull's group-aware placement (skrull.c): the better by mbtime_eval of
 * cost-driven DACP (all-W groups) and a block LPT that picks each heavy
 * sequence's group size. */
int skrull_gplace(struct sched_ws *ws, const uint32_t *len, const double *w,
                  size_t n, int W, int g0, struct mbt_item *it);

/*
 * First-improvement local search from the placement it (time t) of n
 * sequences on W ranks at GPU g0: each sequence in turn tried whole on
 * every other rank and on every other aligned block, alone, with each
 * other sequence (onto the same block or another of its size), and with
 * the rest of its group; then exchanged with each other; a move kept when
 * it fits memory and mbtime_eval falls, until a pass changes nothing
 * (4 passes at most); returns the final time.  Each try is a full
 * mbtime_eval: skrull runs it on micro-batches of at most SKRULL_LS_MAX
 * sequences (fewer than 64: a group's members are a bit mask),
 * affordable for a few, not for the dozens of a micro-batch of short ones
 * (where the placements are near the bound already).
 */
#define SKRULL_LS_MAX 10
double skrull_improve(struct sched_ws *ws, size_t n, int W, int g0,
                      struct mbt_item *it, double t);

/*
 * The iteration estimate's step over one micro-batch of W ranks placed as
 * it[0..k), rsec[q] rank q's seconds (mbtime_eval): clk[q] += rsec[q] for
 * a rank in no shard group; the ranks of a group, and of the groups that
 * overlap it, run in lockstep and all end at the latest of their clocks
 * plus the slowest of their seconds.  reach: W entries of scratch.
 */
void mesh_clock(const struct mbt_item *it, size_t k, const double *rsec,
                int W, int32_t *reach, double *clk);

/*
 * The GPU-first composition (mesh.c) of the n batch samples len[] that do
 * not span DP ranks (ws->spanat; ws->pre their spans' seconds; ws->mw[i]
 * ops_seq_sec(len[i], 1) of each up to BucketSize, as tgds.c weighs): each on
 * the mesh's GPU or aligned block that balances per-GPU totals, then each
 * DP rank's micro-batches filled first-fit by memory, into the m* arrays
 * of the workspace.  Returns the iteration estimate (mesh_clock over each
 * DP rank's micro-batches in order, from the spans' seconds), seconds.
 */
double mesh_compose(struct sched_ws *ws, const uint32_t *len, size_t n);

/* Push micro-batches mbfirst[0..m] of arr with ws->items as their
 * placements (no plan_rank_begin: spanning micro-batches may precede). */
int ws_push_items(struct sched_ws *ws, const uint32_t *idx,
                  const uint32_t *len, size_t m, struct plan *out);

/* Algorithm 4 (round-robin by free memory) with roll-back. */
int rr_place(struct sched_ws *ws, const uint32_t *len, const double *fl,
             size_t k, int32_t *place);

#endif
