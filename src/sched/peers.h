/*
 * peers: internal to src/sched.  What the peer systems' policies (wlb.c,
 * flexsp.c, hdp.c) share: their workspace, sized once with the
 * scheduler's (sched_ws_new: no allocation while planning), the group
 * sizes a CP group allows, the heaviest-first order, and the push of a
 * global batch whose samples sit in shard groups of any aligned size and
 * in micro-batches that may span DP ranks (skrull-plan(5) version 2).
 *
 * A policy fills, for each batch position i, mb[i] (its micro-batch) and
 * first[i], size[i] (its block of that micro-batch's ranks, size 1: whole
 * on rank first), and for each micro-batch j, owner[j] (the DP rank that
 * lists it) and span[j]; peers_push writes them in the plan's order.
 */
#ifndef SKRULL_SCHED_PEERS_H
#define SKRULL_SCHED_PEERS_H

#include <stddef.h>
#include <stdint.h>

#include "job.h"
#include "plan.h"
#include "ws.h"

struct peers {
	int G;              /* GPUs of the mesh: dp x cp */
	int nsizes;         /* divisors of cp */
	int *sizes;         /* nsizes: the divisors of cp, ascending: the
	                       group sizes a micro-batch of one CP group
	                       allows (1: whole) */
	int *boff;          /* nsizes: id of the first aligned block of
	                       sizes[k]; block f / sizes[k] of that size is
	                       boff[k] + f / sizes[k] */
	int nblocks;        /* the aligned blocks of a CP group: sum of
	                       cp / sizes[k] */
	double *bkeys;      /* nblocks: sharded tokens per block (flexsp) */
	uint32_t *mb;       /* max: micro-batch of batch sample i */
	int *first, *size;  /* max: its block, ranks [first, first + size) */
	int *gmin;          /* max: index in sizes of its smallest group */
	int *owner, *span;  /* max: micro-batch j's listing DP rank, span */
	uint32_t *mbord;    /* max: micro-batches in plan order */
	size_t *cnt;        /* 2 dp + 1: their counting sort */
	double *gpu;        /* G: estimated seconds per GPU of the mesh
	                       (hdp), or the best candidate's per rank of a
	                       micro-batch (flexsp) */
	double *tq;         /* G: a candidate's seconds per rank (flexsp) */
	int *nb;            /* dp: micro-batches per DP rank (wlb) */
};

/* The workspace for global batches of up to max samples on j's mesh;
 * NULL with the error set. */
struct peers *peers_new(const struct job *j, size_t max);
void peers_free(struct peers *p);

/* Index in p->sizes of the smallest group whose ranks hold len tokens,
 * sizes[k] >= ceil(len / bucket); -1 when even the CP group cannot. */
int peers_gmin(const struct peers *p, uint32_t len, uint32_t bucket);

/* ws->key[0..n) = the batch positions heaviest first by w (ties by
 * position), sorted; wmax is the largest w, > 0. */
void peers_heavy_first(struct sched_ws *ws, const double *w, size_t n,
                       double wmax);

/* Push the global batch's nmb micro-batches (mb, first, size, owner,
 * span as above) to the plan: for each DP rank, the spanning micro-batches
 * it lists, then its own, each in id order, samples in batch order. */
int peers_push(struct sched_ws *ws, const uint32_t *idx, const uint32_t *len,
               size_t n, size_t nmb, struct plan *out);

/*
 * FlexSP's placement (flexsp.c) of the micro-batch ws->arr[a .. a + k)
 * (batch positions, heaviest first by ws->w) of the DP rank whose CP group
 * starts at GPU g0, into it[0..k): a candidate the `skrull` policy weighs
 * beside its own.  SK_ERR_RANGE when a sequence fits no group.
 */
int flexsp_place_mb(struct sched_ws *ws, const uint32_t *len, size_t a,
                    size_t k, int g0, struct mbt_item *it);

#endif
