/*
 * sim_int: internal to src/sim.  The types the simulator's files share
 * (a GPU's program: entries, parts, cursors; a worker's state: struct ctx,
 * read by every worker, and struct ws, one per worker) and the few
 * functions they call across files: prog.c builds the programs, engine.c
 * runs an iteration's events, row.c writes its report row, sim.c runs the
 * thread pool behind sim.h.  Not a public contract.
 *
 * Times are integer nanoseconds (sim_ns), memory in bytes.
 */
#ifndef SKRULL_SIM_INT_H
#define SKRULL_SIM_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "job.h"
#include "plan.h"
#include "queue.h"
#include "report.h"
#include "timeline.h"

/* The per-layer templates (keys per layer) and slots, as listed in prog.c. */
enum {
	F_NORM_ATTN, F_QKV, F_ROPE, F_AG, F_ATTN_LOCAL, F_ATTN_SHARD, F_OPROJ,
	F_NORM_MLP, F_GATE_UP, F_SWIGLU, F_DOWN, F_MEM, FW
};
enum {
	B_RECOMP, B_DOWN, B_SWIGLU, B_GATE_UP, B_NORM_MLP, B_OPROJ,
	B_ATTN_SHARD, B_RS, B_ATTN_LOCAL, B_RECOMP_NEXT, B_ROPE, B_QKV,
	B_NORM_ATTN, B_MEM, B_GRAD, BW
};
enum { H_HEAD, H_HEAD_B, H_RECOMP, HW };  /* head: head, head_b, the top
                                              layer's selective recompute */

enum phase { PH_FWD, PH_HEAD, PH_BWD, PH_TAIL };
#define NPH_MB 3  /* phases of a micro-batch */

/* A GPU's streams: compute; communication, the shard groups'
 * collectives; DP, the data-parallel collectives (prog.c). */
enum stream { S_COMP, S_COMM, S_DP, NSTREAM };

enum kind {
	K_OP, K_RECOMP, K_ALLOC, K_FREE,       /* compute stream */
	K_AG, K_RS,                            /* communication stream */
	K_GRAD, K_HEAD_GRAD, K_PARAM           /* DP stream */
};

#define NEED_NONE UINT16_MAX
#define KEY_END UINT32_MAX

/* One entry of a stream's list. */
struct ent {
	sim_ns dur;      /* ns; 0 for a memory step */
	uint16_t slot;   /* key within its repetition */
	uint16_t need;   /* stream dep's position needed, from the
	                    repetition's base; NEED_NONE */
	uint8_t kind;    /* enum kind */
	uint8_t op;      /* enum op_id of a K_OP */
	uint8_t dep;     /* enum stream that need refers to */
};

/* Compute entries of a part: forward 11, head 3, backward 12. */
#define PART_ENTS 26
/* Shard groups holding one rank: aligned blocks of distinct sizes >= 2
 * dividing its micro-batch's width W <= UINT16_MAX, so fewer than the
 * 120 divisors of any such W.  A part's communication lists (an
 * all-gather per group forward, a reduce-scatter per group backward)
 * then fit its uint8_t offsets. */
#define W_MAX UINT16_MAX

/* One rank's part of one micro-batch: its lists and totals. */
struct part {
	struct ent e[PART_ENTS];      /* compute lists */
	const struct ent *list[NSTREAM];  /* stream s's lists: e, the part's
	                                     run of the worker's cent[], the
	                                     context's gradient entry */
	uint8_t off[NSTREAM][NPH_MB], n[NSTREAM][NPH_MB];  /* list of stream
	                                                      s, phase ph, from
	                                                      list[s] */
	uint16_t q;      /* its rank in the micro-batch */
	double act;      /* activation bytes held until its backward */
	double flops;    /* compute FLOPs of the whole part, all layers */
	size_t mb;       /* index into plan->mbs */
};

/* Where a stream is in its program. */
struct cursor {
	const struct ent *e;        /* current entry */
	const struct ent *start, *end;  /* its list */
	uint32_t key;               /* position of *e; KEY_END when done */
	uint32_t base;              /* key of slot 0 of this repetition */
	uint32_t m;                 /* micro-batch; M for the tail */
	uint16_t rep;
	uint8_t phase;
};

enum state { ST_IDLE, ST_WAIT, ST_RUN, ST_ARRIVED, ST_DONE };

#define GRP_NONE UINT32_MAX

struct gstate {
	struct cursor c[NSTREAM];  /* by enum stream */
	uint32_t need[NSTREAM];   /* ST_WAIT: the key its entry's dep stream
	                             must reach */
	uint32_t bw[2];           /* communication, DP stream: the group whose
	                             collective moves its bytes there (engine.c),
	                             GRP_NONE */
	uint8_t st[NSTREAM];      /* enum state */
	uint8_t on[NSTREAM];      /* stream executing */
	uint8_t oom;              /* OOM seen this iteration */
	uint8_t tv;               /* tail variant: 1 when the gradient
	                             collectives are in the tail (no
	                             micro-batches) */
	int d, r;
	uint32_t M;               /* micro-batches it runs */
	const struct part *p0;    /* part of micro-batch 0; stride cp */
	sim_ns last;              /* last change of either stream's state */
	sim_ns busy, exposed;     /* ns */
	uint32_t mem_k;           /* layers of activations held */
	double act_peak;          /* largest activation bytes held */
};

/* A collective group: GPUs g0 .. g0 + n - 1.  The DP group (all GPUs)
 * is grp[0], on the DP stream; each shard group of the iteration's
 * micro-batches follows, on the communication stream, its counter reused
 * by its 2 L collectives (its members meet them in one order, each
 * completing on all before the next is reached).  At most one collective
 * of a group runs at a time: the running one's state is the group's. */
struct group {
	uint32_t arrived;
	sim_ns dur;               /* the largest of the arrived members' */
	sim_ns floor[2];          /* latency floors (ns) of its two kinds of
	                             collective: shard group all-gather,
	                             reduce-scatter; DP group gradient (and
	                             head gradient), parameter all-gather */
	sim_ns t0;                /* running: when it started */
	sim_ns lat;               /* ... its latency floor, after its bytes */
	sim_ns rem;               /* ... bytes' time left, in half ns at the
	                             full rate (engine.c) */
	sim_ns since;             /* ... when rem was brought up to date */
	uint32_t shared;          /* ... members on which its bytes share the
	                             link with the other stream's collective */
	int g0, n;
	uint16_t first;           /* shard group: its first rank in the
	                             micro-batch (the timeline's samples) */
	uint8_t whole;            /* shard group of a micro-batch's whole CP
	                             group (span 1, size cp) */
	uint8_t s;                /* its stream: S_COMM or S_DP */
	uint8_t net;              /* its GPUs span nodes: its bytes cross the
	                             network, else NVLink */
};

/* What the workers share: read-only while simulating but for the report
 * rows (each worker its own), tns (likewise), the counters and the OOM
 * list (under mu). */
struct ctx {
	const struct plan *p;
	const struct job *j;
	int dp, cp, G, L;
	uint32_t T;                  /* keys per micro-batch */
	double statics, avail;       /* bytes */
	sim_ns grad_ns, head_grad_ns, param_ns, opt_ns;
	sim_ns grad_floor, param_floor;  /* their latency floors */
	uint8_t dp_net;              /* the DP group spans nodes */
	double opt_flops;
	struct ent grad;             /* the DP stream's entry of a layer in
	                                the last micro-batch's backward */
	/* tails: [stream][0 with micro-batches, 1 without] */
	struct ent *tail[NSTREAM][2];
	uint16_t ntail[NSTREAM][2];
	size_t max_parts, max_n;     /* sizes of the workspaces: parts, */
	size_t max_grp, max_cent;    /* samples of a micro-batch, groups
	                                and communication entries of an
	                                iteration */
	int max_w;                   /* ranks of a micro-batch */
	struct report *r;
	sim_ns *tns;                 /* per reported iteration: its time, ns */
	/* parallel phase: iterations [first, end) less [tl_lo, tl_hi) */
	size_t first, end, tl_lo, tl_hi;
	atomic_size_t cursor;        /* next iteration to hand out */
	atomic_int stop;
	pthread_mutex_t mu;
	/* progress: iterations done, counted and reported under mu so the
	 * callback sees 1, 2, ... in order whatever the threads */
	size_t ndone, ntotal;
	void (*progress)(void *ctx, size_t done, size_t total);
	void *progress_ctx;
};

/* A worker's workspace. */
struct ws {
	struct ctx *x;
	struct sim_queue q;
	struct gstate *gpu;
	struct group *grp;        /* the DP group, then the shard groups */
	struct part *parts;
	struct ent *cent;         /* the parts' communication entries */
	uint32_t *cgrp;           /* per cent[]: its group in grp[] */
	size_t *part0;            /* per DP rank: its first part's micro-batch */
	uint32_t *nrun, *pos;     /* per DP rank: micro-batches it runs; how
	                             many placed (prog_parts) */
	uint32_t *local, *cnt;    /* sample scratch; per-rank counts */
	uint32_t *shard;          /* the micro-batch's sharded samples, as
	                             indices into it */
	uint16_t *gf, *gs;        /* its shard groups by (first, size) */
	double *gkeys;            /* ... their tokens */
	sim_ns *gag, *grs;        /* ... their collectives' durations */
	uint32_t *ids;            /* timeline: sample ids */
	struct timeline *tl;      /* NULL but on the calling thread's timeline
	                             phase */
	sim_ns tl_off;            /* ns added to timeline times */
	size_t it;                /* iteration being simulated */
	uint64_t events;
	int err;
	char msg[ERR_MSG_MAX];
	pthread_t th;
};

/* The part of the GPU g's micro-batch m (its m-th in run order; the parts
 * of the GPUs of a DP rank are cp apart). */
static inline const struct part *
part_of(const struct ws *w, const struct gstate *g, uint32_t m)
{
	return g->p0 + (size_t)m * (size_t)w->x->cp;
}

/* ---- prog.c: programs ---- */

/* x from plan p for report r: the job's sizes, the DP collectives' and
 * the optimizer's durations, the tails.  SK_ERR_FORMAT or SK_ERR_RANGE on
 * a job the simulator cannot run; prog_free releases it either way. */
int prog_init(struct ctx *x, const struct plan *p, struct report *r);
/* Check the plan's structure over iterations [first, end) and size the
 * workspaces (x->max_*).  SK_ERR_FORMAT naming iteration, DP rank and
 * micro-batch on a structure the simulator cannot run (memory is not
 * checked: an overfull part is simulated, an OOM). */
int prog_scan(struct ctx *x, size_t first, size_t end);
void prog_free(struct ctx *x);
/* The parts of iteration it into w->parts (w->part0: each DP rank's
 * first, w->nrun: how many), their groups into w->grp, their
 * communication entries into w->cent; no allocation. */
int prog_parts(struct ws *w, size_t it);
/* The timeline name of entry e ("qkv", "cp_allgather", "memory"). */
const char *prog_ent_name(const struct ent *e);

/* ---- engine.c: the event engine ---- */

/* w for the workers of x: every array sized from x (prog_scan done). */
int engine_ws_init(struct ws *w, struct ctx *x);
void engine_ws_free(struct ws *w);
/* Simulate iteration it and fill its report row; w->tl, if set, gets its
 * events at w->tl_off + their time. */
int engine_iter(struct ws *w, size_t it);

/* ---- row.c: report rows ---- */

/* Iteration it's report row from w's finished simulation, which ended at
 * tend ns; OOMs appended under x->mu. */
int row_fill(struct ws *w, size_t it, sim_ns tend);
/* The OOM records by (iteration, GPU): independent of the threads. */
void row_sort_oom(struct report *r);

#endif
