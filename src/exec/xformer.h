/*
 * xformer: the executor's model, a decoder-only transformer (Qwen2.5 /
 * Llama style, no biases): token embedding; per layer RMSNorm, Q/K/V
 * projections with grouped-query heads, rotary embedding, causal attention
 * within each sample, output projection, residual, RMSNorm, SwiGLU MLP,
 * residual; final RMSNorm; vocabulary projection (or the embedding, tied);
 * cross-entropy.  fp32, every operation through a backend (backend.h).
 *
 * It runs one rank's part of a micro-batch (struct xf_part): its local
 * samples whole, rows 0 .. tl - 1, then its shards of the sharded samples,
 * rows tl .. T - 1, shard group after shard group.  A shard group is a
 * block of the micro-batch's ranks with a communicator of its own; a
 * sample sharded over a group of N ranks is cut into 2N chunks: chunk c
 * holds positions floor(c S / 2N) .. floor((c + 1) S / 2N) - 1 of a sample
 * of S tokens, so lengths differ by at most one and a sample shorter than
 * 2N tokens has empty chunks; the group's k-th rank holds chunks k and
 * 2N - 1 - k (causal load balancing: a cheap early chunk with an expensive
 * late one), sample after sample in plan order.
 *
 * Forward, per layer: after the Q/K/V projections and the rotary embedding
 * of all rows, each group's shard rows of K and of V start a non-blocking
 * all-gather over its communicator (two iallgatherv per group, the groups
 * in the part's order, which every member shares), the local samples'
 * attention runs meanwhile, then comm_wait and the sharded samples'
 * attention against the gathered keys.  The gather buffers hold the
 * groups one after the other, each laid out by rank: the group's k-th
 * rank's rows at row by0 + k x maxts (maxts: the most shard rows a member
 * of the group holds), and gmap puts each sample's rows back in position
 * order for the attention kernel.  Backward mirrors it: the sharded
 * attention's backward accumulates dK, dV into gathered-size buffers
 * (position order), they are scattered into the by-rank layout padded to
 * maxts rows per rank, and a non-blocking reduce-scatter per group (two
 * ireduce_scatter, equal blocks of maxts rows: comm.h's reduce-scatter has
 * equal blocks, and the padding costs at most two rows per sharded sample
 * per rank, where an all-reduce would move the whole gathered buffer)
 * returns to each rank the sum for its own rows, overlapped with the local
 * samples' attention backward.
 *
 * Selective recompute (xf_shape.selective): the attention's log-sum-exp
 * is not kept per layer; backward reruns each layer's attention forward
 * (local samples, then the shards against the gathered K/V it kept) to
 * get it back, as the simulator places the rerun (sim/prog.c): the top
 * layer's after the model head's backward, every other layer's while the
 * layer above's reduce-scatters are in flight, after its local attention
 * backward.  Two log-sum-exp buffers take turns (layer l's in l mod 2),
 * so the workspace holds (layers - 2) x T x heads floats less.  The rerun
 * computes what the forward did, with the same kernels on the same
 * inputs, so O (saved, and written again) and the gradients are those
 * without it, bit for bit.
 *
 * All activations live in one workspace sized once (xf_new) for the
 * largest part; a forward and backward allocate nothing.
 */
#ifndef SKRULL_XFORMER_H
#define SKRULL_XFORMER_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "comm.h"

struct xf_shape {
	size_t hidden;    /* model width H */
	size_t layers;
	size_t heads;     /* query heads */
	size_t kv_heads;  /* divides heads */
	size_t head_dim;  /* even (rotary embedding) */
	size_t ffn;       /* SwiGLU intermediate size */
	size_t vocab;
	int tied;         /* 1: logits from the embedding table */
	double theta;     /* rotary base */
	float norm_eps;   /* RMSNorm epsilon */
	int selective;    /* 1: selective recompute (above) */
};

/* Offsets (floats) into the flat parameter vector, which gradients and
 * AdamW moments share: emb [vocab x H]; then per layer, layer0 + l x
 * stride + one of the in-layer offsets: attention norm [H], Wq [H x
 * heads hd], Wk, Wv [H x kv_heads hd], Wo [heads hd x H], MLP norm [H], Wg,
 * Wu [H x ffn], Wd [ffn x H]; final norm [H]; out [H x vocab] (absent when
 * tied).  Weights are stored [in x out]: y = x W. */
struct xf_layout {
	size_t emb, layer0, stride;
	size_t an, wq, wk, wv, wo, mn, wg, wu, wd;  /* within a layer */
	size_t fnorm, out;
	size_t n;  /* parameters */
};

/* One shard group of a part: the communicator of the ranks that share
 * some of its sharded samples, and where this rank's rows of them and the
 * group's collectives' rows lie. */
struct xf_group {
	struct comm *c;     /* the group's ranks; this rank is c->rank */
	size_t row0, rows;  /* this rank's shard rows of the group: rows
	                       tl + row0 .. tl + row0 + rows - 1 */
	size_t maxts;       /* the most shard rows on one rank of the group */
	size_t by0;         /* its first row in the by-rank gather buffers,
	                       which give it c->size x maxts rows */
	size_t rs0;         /* its first row in the reduce-scatter outputs,
	                       which give it maxts rows */
	const size_t *ts;   /* c->size: the shard rows of each of its ranks */
};

/* The sizes of a part (or the largest ones a workspace holds): rows. */
struct xf_dims {
	size_t T;      /* rows (tokens) on this rank */
	size_t G;      /* gathered rows: the sharded samples whole */
	size_t R;      /* by-rank gather rows: sum over the groups of
	                  ranks x maxts */
	size_t S;      /* reduce-scatter rows: sum over the groups of maxts */
	size_t ng;     /* shard groups */
	size_t gsize;  /* ranks of the largest group */
};

/* One rank's part of a micro-batch.  Index arrays are host memory,
 * owned by the caller, valid during the call. */
struct xf_part {
	struct xf_dims d;
	size_t tl;       /* rows of local samples: 0 .. tl - 1 */
	size_t nloc;     /* local samples */
	size_t nsh;      /* sharded samples this rank has shards of */
	const struct xf_group *g;  /* d.ng groups, by first rank and then
	                              size in the micro-batch: one order on
	                              every rank, so the collectives of groups
	                              sharing ranks never wait in a cycle */
	const int32_t *cu_loc;  /* nloc + 1 row offsets of the local samples */
	const int32_t *cu_sh;   /* nsh + 1 offsets of this rank's shard rows,
	                           from row tl (group after group) */
	const int32_t *cu_g;    /* nsh + 1 offsets of the whole sharded
	                           samples in the gathered buffers */
	const int32_t *gmap;    /* d.G: for row i of the gathered buffers
	                           (position order), its row in the by-rank
	                           buffers, by0 + k x maxts + j of its group */
	const int32_t *pos;     /* d.T: position of each row in its sample */
	const int32_t *tok;     /* d.T: token ids */
	const int32_t *tgt;     /* d.T: next token, -1 for a sample's last */
};

/* What a forward and backward did, accumulated. */
struct xf_stats {
	double comm;   /* seconds spent in comm_wait */
	double flops;  /* floating-point operations executed (GEMMs, and
	                  attention: 4 per query-key pair and head dimension
	                  forward, 10 backward as the kernel recomputes the
	                  scores) */
	double rflops; /* of them, the selective recompute's reruns */
};

struct xf;

void xf_layout(const struct xf_shape *s, struct xf_layout *l);

/* The activation workspace of a part of sizes d, bytes. */
size_t xf_act_bytes(const struct xf_shape *s, const struct xf_dims *d);

/* Deterministic token id of position pos of sample index: output pos of a
 * SplitMix64 stream seeded by (seed, index), modulo vocab (random access:
 * a sample's tokens do not depend on where it runs). */
int32_t xf_token(uint64_t seed, uint64_t index, uint64_t pos, size_t vocab);

/* Initial parameters into host memory w[l->n], from seed: norm weights 1,
 * the embedding uniform with deviation 1, every projection uniform with
 * deviation 1 / sqrt(fan-in). */
void xf_init(const struct xf_shape *s, uint64_t seed, float *w);

/* A workspace for parts of sizes up to cap, each at most.  SK_ERR_NOMEM
 * naming the size. */
int xf_new(const struct backend_ops *b, const struct xf_shape *s,
    const struct xf_dims *cap, struct xf **out);
void xf_free(struct xf *x);

/*
 * Forward and backward of part p with parameters w: gradients accumulated
 * into g (scaled by scale, the inverse of the global batch's target
 * tokens), *loss = the sum of this part's token losses (unscaled).  The
 * groups' collectives wait at most timeout seconds.  SK_ERR_IO from a
 * communicator leaves it unusable (abort the job); SK_ERR_RANGE when p
 * exceeds the workspace.
 */
int xf_step(struct xf *x, const struct xf_part *p, const float *w, float *g,
    float scale, double timeout, double *loss, struct xf_stats *st);

#endif
