/*
 * opt: the exact optimum of a micro-batch's placement (opt.h).
 *
 * The MILP, for samples i (len_i tokens), ranks q and blocks B (the
 * options W + B), in time units of the start's makespan and token units
 * of BucketSize (both only scale the numbers GLPK sees):
 *
 *   x(i, o) binary, sum_o x(i, o) = 1; an option that cannot hold the
 *   sample (whole and len_i > bucket, or len_i > size x bucket) fixed 0;
 *   memory, rank q: sum_i len_i x(i, q) + sum_{B ni q} len_i / size_B
 *   x(i, B) <= bucket (mbtime_fits divided by W).
 *
 *   Per rank q the sums ops_load_* builds: L (tokens whole on q), Q (its
 *   share of the shards' queries), K (their keys), T = L + Q, ml and ms
 *   (the local and sharded attention seconds, each sequence at its own
 *   efficiency: a constant per sample and option), and indicators in
 *   [0, 1] bl >= x(i, q), bs >= x(i, B), h >= bl, bs (each is pushed down
 *   to the largest x it bounds, so it is 1 exactly when the rank has that
 *   work: samples of 0 tokens add no work and bound none).  Per block B:
 *   its keys KB, u >= x(i, B) (the group exists), and its all-gather and
 *   reduce-scatter seconds ag, rs, ops_group_time of KB: piecewise linear
 *   between the collective table's rows (ring model: affine), at 0 keys
 *   (the latency floor, paid once the group exists) and at the most keys
 *   the group can hold.  A convex curve is the maximum of its segments'
 *   lines times u; any other takes one binary per segment.
 *
 *   Rank q's time, ops_mb_time of ops_load_cost, every op as ops.c
 *   times it: a GEMM of in x out on T rows takes
 *   max(2 in out (T + half h) / (peak gemm_max), (e in out h + e (in +
 *   out) T) / bw) + launch h, its backward twice that (the efficiency
 *   curve makes the math time affine in T once T > 0); an element-wise
 *   kernel bytes(T) / bw + launch h, backward twice the bytes, one launch;
 *   an attention call max(math, bytes / bw) + launch, backward
 *   max(2.5 math, 2 bytes / bw) + 3 launches.  Each max is an epigraph
 *   column bounded below by its pieces, which the objective presses down
 *   onto the largest.  The exposed collective of ops_mb_time,
 *   attn_local + max(0, ag - attn_local), is max(attn_local, ag): one
 *   more epigraph column (x1, and x2 for the backward's reduce-scatter).
 *   Recompute adds the forward's attention (selective) or whole forward
 *   (full).  Selective recompute runs beside the reduce-scatter of the
 *   layer above: layers 1 .. L-1 take x3 = max(attn_local_b + attn_local
 *   + attn_shard, rs), layer 0 x2, and the top layer's rerun is alone.
 *   The head runs once.  z >= every rank's time; minimise z.
 *
 * Every maximum appears with a positive coefficient in a minimisation,
 * so at any integer point the least z is the largest rank's time: the
 * objective is mbtime_eval, not a bound of it.
 *
 * Symmetry: ranks whose swap maps the block structure and its node
 * spans onto themselves give equal times, so where the block sizes form
 * a chain (powers of two) the children of every block are ordered by the
 * tokens they hold; a sorted copy of any placement satisfies it, so the
 * optimum stays.
 */
#include <math.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glpk.h>

#include "cost.h"
#include "err.h"
#include "job.h"
#include "mbtime.h"
#include "ops.h"
#include "opt.h"
#include "plan.h"
#include "sched.h"
#include "ws.h"

/* ops.c's attention backward: 2.5 times the forward's FLOPs in three
 * kernels; its fp32 log-sum-exp per query and head. */
#define ATTN_BWD 2.5
#define ATTN_BWD_LAUNCHES 3
#define LSE_BYTES 4

/* Tolerances given to GLPK: integrality, and the objective below which
 * a node cannot improve the incumbent (relative to 1 + |incumbent|, in
 * time units of about 1). */
#define TOL_INT 1e-9
#define TOL_OBJ 1e-9
/* Slopes of a collective curve count as nondecreasing within this
 * relative rounding. */
#define CONVEX_EPS 1e-9

/* A rank's columns. */
struct rcols {
	int T, L, Q, K, ml, ms, h, bl, bs, ag, rs;
	int g[4], hg;           /* GEMM epigraphs: qkv, oproj, gate_up, down;
	                           the head's logits */
	int alf, alb, asf, asb; /* attention, forward and backward */
	int x1, x2, x3;         /* attention with the exposed collective;
	                           x3: under selective recompute, a layer's
	                           with the next layer's rerun */
};

/* A block's columns and its collective curve. */
struct gcols {
	int first, size, spans;
	int kb, u, ag, rs;
	int npt;                /* breakpoints p[0] = 0 < ... < p[npt - 1] */
	double *p, *vag, *vrs;  /* keys (token units), seconds (time units) */
	int convex;
	int z0, w0;             /* non-convex: segment k's binary z0 + k and
	                           its keys w0 + k */
};

struct milp {
	const struct job *j;
	const uint32_t *len;
	size_t n;
	int W, g0, nopt, ngrp;
	double tu, ku;          /* time unit, s; token unit, tokens */
	glp_prob *lp;
	int xc, zc;             /* x(i, o) = xc + i nopt + o; z */
	struct rcols *r;        /* W */
	struct gcols *g;        /* ngrp: block b is option W + b */
	double *pts;            /* the groups' breakpoints */
	int *ind;               /* the row being built, 1-based as GLPK's */
	double *val;
	int nnz;
	double *x0;             /* the start's columns, 1-based */
	int x0_given;
	double bound;           /* proven, time units */
	char msg[128];          /* GLPK's last line of output */
	int term;               /* GLPK's terminal output before */
	jmp_buf jb;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ops.c's math_time: FLOPs at eff of peak; none take no time. */
static double
math_sec(const struct job *j, double flops, double eff)
{
	return flops > 0 ? flops / (j->cluster.gpu.peak_flops * eff) : 0;
}

/* Seconds of the attention of a sequence of S tokens over d ranks, one
 * rank's share, forward (ops_load_local for d = 1, ops_load_shard_d). */
static double
attn_sec(const struct job *j, double S, int d)
{
	return math_sec(j, cost_layer_attn_fwd(&j->model, S) / d,
	    ops_attn_eff(&j->cluster.eff, S / d));
}

/* ---- building ---- */

/* A binary column. */
static int
bin(struct milp *m)
{
	int c = glp_add_cols(m->lp, 1);

	glp_set_col_kind(m->lp, c, GLP_BV);
	return c;
}

/* A continuous column in [0, 1]. */
static int
unit(struct milp *m)
{
	int c = glp_add_cols(m->lp, 1);

	glp_set_col_bnds(m->lp, c, GLP_DB, 0, 1);
	return c;
}

/* A continuous column >= 0. */
static int
pos(struct milp *m)
{
	int c = glp_add_cols(m->lp, 1);

	glp_set_col_bnds(m->lp, c, GLP_LO, 0, 0);
	return c;
}

static void
term(struct milp *m, int c, double a)
{
	if (a == 0)
		return;
	m->ind[++m->nnz] = c;
	m->val[m->nnz] = a;
}

/* The row built so far: lo <= row (GLP_LO), row = lo (GLP_FX) or
 * row <= hi (GLP_UP). */
static void
row(struct milp *m, int type, double lo, double hi)
{
	int r = glp_add_rows(m->lp, 1);

	glp_set_row_bnds(m->lp, r, type, lo, hi);
	glp_set_mat_row(m->lp, r, m->nnz, m->ind, m->val);
	m->nnz = 0;
}

/* epi >= a x + b y. */
static void
piece(struct milp *m, int epi, int x, double a, int y, double b)
{
	term(m, epi, 1);
	term(m, x, -a);
	term(m, y, -b);
	row(m, GLP_LO, 0, 0);
}

/* epi >= x. */
static void
above(struct milp *m, int epi, int x)
{
	term(m, epi, 1);
	term(m, x, -1);
	row(m, GLP_LO, 0, 0);
}

static int
xcol(const struct milp *m, size_t i, int o)
{
	return m->xc + (int)i * m->nopt + o;
}

static int
ofirst(const struct milp *m, int o)
{
	return o < m->W ? o : m->g[o - m->W].first;
}

static int
osize(const struct milp *m, int o)
{
	return o < m->W ? 1 : m->g[o - m->W].size;
}

/* Whether option o can hold sample i within memory at all. */
static int
holds(const struct milp *m, size_t i, int o)
{
	return (uint64_t)m->len[i] <= (uint64_t)osize(m, o) * m->j->bucket;
}

/* The blocks: every size d >= 2 dividing W, aligned; their collective
 * curves from 0 keys to the most the group holds (memory: size x bucket,
 * and no more than the micro-batch has). */
static void
groups(struct milp *m, uint64_t tok)
{
	const struct coll_table *t = &m->j->cluster.coll;
	double cpb = cost_cp_bytes(m->j, 1), kmax, k, ag, rs, s0, s1, r0, r1;
	int d, a, b = 0, q, per = t->n + 2;

	for (d = 2; d <= m->W; d++) {
		if (m->W % d != 0)
			continue;
		for (a = 0; a < m->W; a += d, b++) {
			struct gcols *g = &m->g[b];

			g->first = a;
			g->size = d;
			g->spans = ops_spans_nodes(m->j, m->g0 + a, d);
			g->p = m->pts + 3 * per * b;
			g->vag = g->p + per;
			g->vrs = g->vag + per;
			kmax = fmin((double)tok, (double)d * m->j->bucket);
			g->npt = 0;
			g->p[g->npt++] = 0;
			for (q = 0; q < t->n && cpb > 0; q++) {
				k = t->bytes[q] / cpb;
				if (k > g->p[g->npt - 1] && k < kmax)
					g->p[g->npt++] = k;
			}
			if (kmax > g->p[g->npt - 1])
				g->p[g->npt++] = kmax;
			g->convex = 1;
			for (q = 0; q < g->npt; q++) {
				ops_group_time(m->j, g->p[q], d, g->spans, &ag,
				    &rs);
				g->p[q] /= m->ku;
				g->vag[q] = ag / m->tu;
				g->vrs[q] = rs / m->tu;
			}
			for (q = 1; q + 1 < g->npt; q++) {
				s0 = (g->vag[q] - g->vag[q - 1]) /
				    (g->p[q] - g->p[q - 1]);
				s1 = (g->vag[q + 1] - g->vag[q]) /
				    (g->p[q + 1] - g->p[q]);
				r0 = (g->vrs[q] - g->vrs[q - 1]) /
				    (g->p[q] - g->p[q - 1]);
				r1 = (g->vrs[q + 1] - g->vrs[q]) /
				    (g->p[q + 1] - g->p[q]);
				if (s1 < s0 - CONVEX_EPS * fabs(s0) ||
				    r1 < r0 - CONVEX_EPS * fabs(r0))
					g->convex = 0;
			}
		}
	}
}

/* The assignment, memory and the rank sums. */
static void
build_x(struct milp *m)
{
	const struct job *j = m->j;
	size_t i;
	int o, q, b, c;

	m->xc = (int)glp_get_num_cols(m->lp) + 1;
	for (i = 0; i < m->n; i++)
		for (o = 0; o < m->nopt; o++)
			bin(m);
	for (i = 0; i < m->n; i++) {
		for (o = 0; o < m->nopt; o++) {
			term(m, xcol(m, i, o), 1);
			if (!holds(m, i, o))
				glp_set_col_bnds(m->lp, xcol(m, i, o), GLP_FX,
				    0, 0);
		}
		row(m, GLP_FX, 1, 1);
	}
	for (q = 0; q < m->W; q++) {
		struct rcols *r = &m->r[q];

		for (i = 0; i < m->n; i++)
			for (o = 0; o < m->nopt; o++)
				if (ofirst(m, o) <= q &&
				    q < ofirst(m, o) + osize(m, o))
					term(m, xcol(m, i, o),
					    (double)m->len[i] / osize(m, o) /
					    j->bucket);
		row(m, GLP_UP, 0, 1);

		r->L = pos(m);
		r->ml = pos(m);
		term(m, r->L, 1);
		for (i = 0; i < m->n; i++)
			term(m, xcol(m, i, q), -(double)m->len[i] / m->ku);
		row(m, GLP_FX, 0, 0);
		term(m, r->ml, 1);
		for (i = 0; i < m->n; i++)
			term(m, xcol(m, i, q), -attn_sec(j, m->len[i], 1) /
			    m->tu);
		row(m, GLP_FX, 0, 0);

		r->Q = pos(m);
		r->K = pos(m);
		r->ms = pos(m);
		for (c = 0; c < 3; c++) {
			term(m, c == 0 ? r->Q : c == 1 ? r->K : r->ms, 1);
			for (i = 0; i < m->n; i++)
				for (b = 0; b < m->ngrp; b++) {
					const struct gcols *g = &m->g[b];
					double S = m->len[i];

					if (q < g->first || q >= g->first + g->size)
						continue;
					term(m, xcol(m, i, m->W + b), c == 0 ?
					    -S / g->size / m->ku : c == 1 ?
					    -S / m->ku : -attn_sec(j, S,
					    g->size) / m->tu);
				}
			row(m, GLP_FX, 0, 0);
		}
		r->T = pos(m);
		term(m, r->T, 1);
		term(m, r->L, -1);
		term(m, r->Q, -1);
		row(m, GLP_FX, 0, 0);

		r->bl = unit(m);
		r->bs = unit(m);
		r->h = unit(m);
		for (i = 0; i < m->n; i++) {
			if (m->len[i] == 0)
				continue;
			for (o = 0; o < m->nopt; o++) {
				if (ofirst(m, o) > q ||
				    q >= ofirst(m, o) + osize(m, o))
					continue;
				above(m, o < m->W ? r->bl : r->bs,
				    xcol(m, i, o));
			}
		}
		above(m, r->h, r->bl);
		above(m, r->h, r->bs);
	}
}

/* The groups' keys, existence and collective seconds; each rank's sums
 * of them. */
static void
build_groups(struct milp *m)
{
	size_t i;
	int b, k, q, c;

	for (b = 0; b < m->ngrp; b++) {
		struct gcols *g = &m->g[b];

		g->kb = pos(m);
		g->u = unit(m);
		g->ag = pos(m);
		g->rs = pos(m);
		term(m, g->kb, 1);
		for (i = 0; i < m->n; i++)
			term(m, xcol(m, i, m->W + b), -(double)m->len[i] /
			    m->ku);
		row(m, GLP_FX, 0, 0);
		for (i = 0; i < m->n; i++)
			above(m, g->u, xcol(m, i, m->W + b));
		if (g->npt == 1) {
			/* No keys can reach it: the floor alone. */
			for (c = 0; c < 2; c++) {
				term(m, c == 0 ? g->ag : g->rs, 1);
				term(m, g->u, -(c == 0 ? g->vag : g->vrs)[0]);
				row(m, GLP_LO, 0, 0);
			}
			continue;
		}
		if (g->convex) {
			for (k = 0; k + 1 < g->npt; k++)
				for (c = 0; c < 2; c++) {
					const double *v = c == 0 ? g->vag : g->vrs;
					double s = (v[k + 1] - v[k]) /
					    (g->p[k + 1] - g->p[k]);

					term(m, c == 0 ? g->ag : g->rs, 1);
					term(m, g->kb, -s);
					term(m, g->u, -(v[k] - s * g->p[k]));
					row(m, GLP_LO, 0, 0);
				}
			continue;
		}
		g->z0 = (int)glp_get_num_cols(m->lp) + 1;
		for (k = 0; k + 1 < g->npt; k++)
			bin(m);
		g->w0 = (int)glp_get_num_cols(m->lp) + 1;
		for (k = 0; k + 1 < g->npt; k++)
			pos(m);
		for (k = 0; k + 1 < g->npt; k++)
			term(m, g->z0 + k, 1);
		term(m, g->u, -1);
		row(m, GLP_FX, 0, 0);
		for (k = 0; k + 1 < g->npt; k++) {
			term(m, g->w0 + k, 1);
			term(m, g->z0 + k, -g->p[k]);
			row(m, GLP_LO, 0, 0);
			term(m, g->w0 + k, 1);
			term(m, g->z0 + k, -g->p[k + 1]);
			row(m, GLP_UP, 0, 0);
		}
		term(m, g->kb, 1);
		for (k = 0; k + 1 < g->npt; k++)
			term(m, g->w0 + k, -1);
		row(m, GLP_FX, 0, 0);
		for (c = 0; c < 2; c++) {
			const double *v = c == 0 ? g->vag : g->vrs;

			term(m, c == 0 ? g->ag : g->rs, 1);
			for (k = 0; k + 1 < g->npt; k++) {
				double s = (v[k + 1] - v[k]) /
				    (g->p[k + 1] - g->p[k]);

				term(m, g->z0 + k, -(v[k] - s * g->p[k]));
				term(m, g->w0 + k, -s);
			}
			row(m, GLP_LO, 0, 0);
		}
	}
	for (q = 0; q < m->W; q++) {
		struct rcols *r = &m->r[q];

		r->ag = pos(m);
		r->rs = pos(m);
		for (c = 0; c < 2; c++) {
			term(m, c == 0 ? r->ag : r->rs, 1);
			for (b = 0; b < m->ngrp; b++)
				if (m->g[b].first <= q &&
				    q < m->g[b].first + m->g[b].size)
					term(m, c == 0 ? m->g[b].ag : m->g[b].rs,
					    -1);
			row(m, GLP_FX, 0, 0);
		}
	}
}

/* Every rank's time as ops_mb_time builds it, and z above each. */
static void
build_time(struct milp *m)
{
	const struct job *j = m->j;
	const struct model *md = &j->model;
	const struct cluster_eff *ef = &j->cluster.eff;
	double e = cost_elem_bytes(j), h = md->hidden, ffn = md->ffn;
	double V = md->vocab, hq = (double)md->heads * md->head_dim;
	double hkv = (double)md->kv_heads * md->head_dim;
	double pk = j->cluster.gpu.peak_flops * ef->gemm_max;
	double bw = j->cluster.gpu.hbm_bw * ef->mem_eff;
	double tu = m->tu, ku = m->ku, lau = ef->launch / tu, L = md->layers;
	/* The four GEMMs of a layer, in x out. */
	const double gin[4] = { h, hq, h, ffn };
	const double gout[4] = { hq + 2 * hkv, h, 2 * ffn, h };
	/* Bytes per token of the element-wise kernels of a layer (two
	 * RMSNorms, RoPE, SwiGLU), of the head's norm and cross-entropy, of
	 * attention per local token, per shard query and per key. */
	double ew = 2 * e * h + 2 * e * (hq + hkv) + 2 * e * h + 3 * e * ffn;
	double hw = 2 * e * h + (e + LSE_BYTES) * V;
	double aw = e * (2 * hq + 2 * hkv) + LSE_BYTES * md->heads;
	double qw = e * 2 * hq + LSE_BYTES * md->heads, kw = e * 2 * hkv;
	int rec = j->recompute != RECOMPUTE_NONE;
	int full = j->recompute == RECOMPUTE_FULL;
	int sel = j->recompute == RECOMPUTE_SELECTIVE;
	double cT, ch;
	int q, k;

	m->zc = pos(m);
	glp_set_obj_coef(m->lp, m->zc, 1);
	for (q = 0; q < m->W; q++) {
		struct rcols *r = &m->r[q];

		for (k = 0; k < 4; k++) {
			r->g[k] = pos(m);
			piece(m, r->g[k], r->T, 2 * gin[k] * gout[k] / pk * ku /
			    tu, r->h, 2 * gin[k] * gout[k] * ef->gemm_half / pk /
			    tu);
			piece(m, r->g[k], r->T, e * (gin[k] + gout[k]) / bw *
			    ku / tu, r->h, e * gin[k] * gout[k] / bw / tu);
		}
		r->hg = pos(m);
		piece(m, r->hg, r->T, 2 * h * V / pk * ku / tu, r->h,
		    2 * h * V * ef->gemm_half / pk / tu);
		piece(m, r->hg, r->T, e * (h + V) / bw * ku / tu, r->h,
		    e * h * V / bw / tu);

		r->alf = pos(m);
		r->alb = pos(m);
		piece(m, r->alf, r->ml, 1, r->bl, lau);
		piece(m, r->alf, r->L, aw / bw * ku / tu, r->bl, lau);
		piece(m, r->alb, r->ml, ATTN_BWD, r->bl,
		    ATTN_BWD_LAUNCHES * lau);
		piece(m, r->alb, r->L, 2 * aw / bw * ku / tu, r->bl,
		    ATTN_BWD_LAUNCHES * lau);
		r->asf = pos(m);
		r->asb = pos(m);
		piece(m, r->asf, r->ms, 1, r->bs, lau);
		term(m, r->asf, 1);
		term(m, r->Q, -qw / bw * ku / tu);
		term(m, r->K, -kw / bw * ku / tu);
		term(m, r->bs, -lau);
		row(m, GLP_LO, 0, 0);
		piece(m, r->asb, r->ms, ATTN_BWD, r->bs,
		    ATTN_BWD_LAUNCHES * lau);
		term(m, r->asb, 1);
		term(m, r->Q, -2 * qw / bw * ku / tu);
		term(m, r->K, -2 * kw / bw * ku / tu);
		term(m, r->bs, -ATTN_BWD_LAUNCHES * lau);
		row(m, GLP_LO, 0, 0);

		r->x1 = pos(m);
		r->x2 = pos(m);
		above(m, r->x1, r->alf);
		above(m, r->x1, r->ag);
		above(m, r->x2, r->alb);
		above(m, r->x2, r->rs);
		if (sel) {
			r->x3 = pos(m);
			above(m, r->x3, r->rs);
			term(m, r->x3, 1);
			term(m, r->alb, -1);
			term(m, r->asf, -1);
			term(m, r->alf, -1);
			row(m, GLP_LO, 0, 0);
		}

		/*
		 * z >= layers x (element-wise: 3 x bytes / bw + 2 launches
		 * each of four; GEMMs: 3 x busy + 3 launches each of four;
		 * x1 + x2 + shard attention; recompute) + head (3 x busy +
		 * 7 launches).
		 */
		cT = L * 3 * ew / bw + 3 * hw / bw;
		ch = L * (4 * 2 + 4 * 3) + 7;
		if (full) {
			cT += L * ew / bw;
			ch += L * (4 + 4);
		}
		term(m, m->zc, 1);
		term(m, r->T, -cT * ku / tu);
		term(m, r->h, -ch * lau);
		for (k = 0; k < 4; k++)
			term(m, r->g[k], -L * (3 + full));
		term(m, r->hg, -3);
		term(m, r->x1, -L);
		if (sel) {
			/* layers 1 .. L-1: x3; layer 0: x2; the top layer's
			 * recompute alone */
			term(m, r->x2, -1);
			term(m, r->x3, -(L - 1));
			term(m, r->asf, -(L + 1));
			term(m, r->alf, -1);
		} else {
			term(m, r->x2, -L);
			term(m, r->asf, -L * (1 + rec));
			term(m, r->alf, -L * rec);
		}
		term(m, r->asb, -L);
		row(m, GLP_LO, 0, 0);
	}
}

/*
 * Symmetry: with block sizes 1 = s_0 | s_1 | ... | W (a chain), the
 * children of a block (of size s_l, s_l / s_(l-1) of them) can be
 * permuted; two neighbours c, c + 1 are ordered by the tokens their
 * options hold when swapping them keeps every inner block's node span.
 */
static void
build_symmetry(struct milp *m)
{
	int sz[17], ns = 0, l, a, c, o, b, s, f, ok;
	size_t i;

	/* A chain below 2^16 ranks has at most 17 sizes. */
	sz[ns++] = 1;
	for (b = 0; b < m->ngrp; b++) {
		if (m->g[b].size == sz[ns - 1])
			continue;
		if (ns == 17 || m->g[b].size % sz[ns - 1] != 0)
			return;
		sz[ns++] = m->g[b].size;
	}
	for (l = 1; l < ns; l++) {
		s = sz[l - 1];
		for (a = 0; a < m->W; a += sz[l]) {
			for (c = a; c + 2 * s <= a + sz[l]; c += s) {
				ok = 1;
				for (b = 0; b < m->ngrp; b++) {
					const struct gcols *g = &m->g[b];

					if (g->first >= c && g->first + g->size <=
					    c + s && g->spans != m->g[b + s /
					    g->size].spans)
						ok = 0;
				}
				if (!ok)
					continue;
				for (i = 0; i < m->n; i++)
					for (o = 0; o < m->nopt; o++) {
						f = ofirst(m, o);
						if (f >= c && f + osize(m, o) <=
						    c + s)
							term(m, xcol(m, i, o),
							    (double)m->len[i] /
							    m->ku);
						else if (f >= c + s && f +
						    osize(m, o) <= c + 2 * s)
							term(m, xcol(m, i, o),
							    -(double)m->len[i] /
							    m->ku);
					}
				row(m, GLP_LO, 0, 0);
			}
		}
	}
}

/* ---- solving ---- */

/* GLPK's terminal output is kept, not printed: its last line (not the
 * "Error detected in file" trailer of a fatal error) says why. */
static int
hook_term(void *info, const char *s)
{
	struct milp *m = info;
	size_t k;

	if (strncmp(s, "Error detected", 14) == 0 || s[0] == '\n' ||
	    s[0] == '\0')
		return 1;
	snprintf(m->msg, sizeof m->msg, "%s", s);
	k = strlen(m->msg);
	while (k > 0 && m->msg[k - 1] == '\n')
		m->msg[--k] = '\0';
	return 1;
}

/* A fatal GLPK error: its environment (this problem with it) is freed,
 * as GLPK's manual asks before leaving the error hook, and solve()
 * returns. */
static void
hook_error(void *info)
{
	struct milp *m = info;

	m->lp = NULL;
	glp_free_env();
	longjmp(m->jb, 1);
}

static void
callback(glp_tree *t, void *info)
{
	struct milp *m = info;
	double b;
	int p;

	switch (glp_ios_reason(t)) {
	case GLP_IHEUR:
		if (m->x0 != NULL && !m->x0_given) {
			m->x0_given = 1;
			glp_ios_heur_sol(t, m->x0);
		}
		break;
	case GLP_ISELECT:
		/* The best local bound among the active nodes bounds every
		 * solution not yet found. */
		if ((p = glp_ios_best_node(t)) != 0 &&
		    (b = glp_ios_node_bound(t, p)) > m->bound)
			m->bound = b;
		break;
	default:
		break;
	}
}

/* Milliseconds left before the deadline for GLPK's limits, at least 1;
 * 0 when it has passed. */
static int
left_ms(double deadline)
{
	double s = deadline - now();

	if (!(s > 0))
		return 0;
	return s > 2e6 ? 2000000000 : (int)ceil(s * 1e3);
}

/* The option of an item. */
static int
option(const struct milp *m, const struct mbt_item *it)
{
	int b;

	if (it->size < 2)
		return it->first;
	for (b = 0; b < m->ngrp; b++)
		if (m->g[b].first == it->first && m->g[b].size == it->size)
			break;
	return m->W + b;
}

/* Fix the binaries to the start, solve the LP that is left (every
 * continuous column at its least: the start's time) and keep its
 * columns for the callback; then free the binaries again. */
static void
start_vector(struct milp *m, const struct mbt_item *st, glp_smcp *sp)
{
	int nc = glp_get_num_cols(m->lp), b, k, o, seg;
	double kb;
	size_t i;

	for (i = 0; i < m->n; i++)
		for (o = 0; o < m->nopt; o++)
			glp_set_col_bnds(m->lp, xcol(m, i, o), GLP_FX,
			    o == option(m, &st[i]), 0);
	for (b = 0; b < m->ngrp; b++) {
		const struct gcols *g = &m->g[b];

		if (g->convex || g->npt < 2)
			continue;
		kb = 0;
		for (i = 0; i < m->n; i++)
			if (option(m, &st[i]) == m->W + b)
				kb += (double)m->len[i] / m->ku;
		seg = kb > 0 ? 0 : -1;
		for (k = 0; seg >= 0 && k + 2 < g->npt && kb > g->p[k + 1];
		    k++)
			seg = k + 1;
		for (k = 0; k + 1 < g->npt; k++)
			glp_set_col_bnds(m->lp, g->z0 + k, GLP_FX, k == seg, 0);
	}
	if (glp_simplex(m->lp, sp) == 0 &&
	    glp_get_status(m->lp) == GLP_OPT &&
	    (m->x0 = malloc(((size_t)nc + 1) * sizeof *m->x0)) != NULL) {
		for (k = 1; k <= nc; k++)
			m->x0[k] = glp_get_col_kind(m->lp, k) != GLP_CV ?
			    glp_get_col_lb(m->lp, k) : glp_get_col_prim(m->lp, k);
	}
	/* Fixed, a binary reads as GLP_IV. */
	for (k = 1; k <= nc; k++)
		if (glp_get_col_kind(m->lp, k) != GLP_CV)
			glp_set_col_bnds(m->lp, k, GLP_DB, 0, 1);
	for (i = 0; i < m->n; i++)
		for (o = 0; o < m->nopt; o++)
			if (!holds(m, i, o))
				glp_set_col_bnds(m->lp, xcol(m, i, o), GLP_FX,
				    0, 0);
}

/* What solve() found. */
struct found {
	int sol;         /* a solution: option of sample i in opt[i] */
	int proven;      /* optimal */
	int limit;       /* the deadline came first */
	int failed;      /* GLPK failed (m->msg says how) */
	double obj;      /* its objective, time units */
	int *opt;        /* n */
};

/*
 * Build, warm-start and solve the MILP; its solution into f.  The
 * jump back from GLPK's error hook lands here, where no local is
 * read after it.
 */
static void
solve(struct milp *m, const struct mbt_item *st, double deadline,
    struct found *f)
{
	glp_smcp sp;
	glp_iocp ip;
	size_t i;
	int o, ret, ms, status;

	if (setjmp(m->jb) != 0) {
		f->failed = 1;
		f->sol = 0;
		return;
	}
	glp_term_hook(hook_term, m);
	glp_error_hook(hook_error, m);
	m->term = glp_term_out(GLP_OFF);
	m->lp = glp_create_prob();
	glp_set_obj_dir(m->lp, GLP_MIN);
	build_x(m);
	build_groups(m);
	build_time(m);
	glp_scale_prob(m->lp, GLP_SF_AUTO);

	glp_init_smcp(&sp);
	sp.msg_lev = GLP_MSG_OFF;
	sp.meth = GLP_DUALP;
	if ((sp.tm_lim = left_ms(deadline)) == 0)
		goto limit;
	start_vector(m, st, &sp);
	build_symmetry(m);
	if ((sp.tm_lim = left_ms(deadline)) == 0)
		goto limit;
	ret = glp_simplex(m->lp, &sp);
	if (ret == GLP_ETMLIM)
		goto limit;
	if (ret != 0 || glp_get_status(m->lp) != GLP_OPT) {
		snprintf(m->msg, sizeof m->msg, "glp_simplex on the "
		    "relaxation returned %d, status %d", ret,
		    glp_get_status(m->lp));
		f->failed = 1;
		goto done;
	}
	m->bound = glp_get_obj_val(m->lp);

	glp_init_iocp(&ip);
	ip.msg_lev = GLP_MSG_OFF;
	ip.tol_int = TOL_INT;
	ip.tol_obj = TOL_OBJ;
	ip.cb_func = callback;
	ip.cb_info = m;
	if ((ms = left_ms(deadline)) == 0)
		goto limit;
	ip.tm_lim = ms;
	ret = glp_intopt(m->lp, &ip);
	status = glp_mip_status(m->lp);
	if (status == GLP_OPT || status == GLP_FEAS) {
		f->sol = 1;
		f->obj = glp_mip_obj_val(m->lp);
		for (i = 0; i < m->n; i++) {
			f->opt[i] = 0;
			for (o = 1; o < m->nopt; o++)
				if (glp_mip_col_val(m->lp, xcol(m, i, o)) >
				    glp_mip_col_val(m->lp, xcol(m, i, f->opt[i])))
					f->opt[i] = o;
		}
	}
	if (ret == 0 && status == GLP_OPT)
		f->proven = 1;
	else if (ret == GLP_ETMLIM)
		f->limit = 1;
	else {
		snprintf(m->msg, sizeof m->msg, "glp_intopt returned %d, "
		    "status %d", ret, status);
		f->failed = 1;
	}
	goto done;
limit:
	f->limit = 1;
done:
	glp_delete_prob(m->lp);
	m->lp = NULL;
	glp_error_hook(NULL, NULL);
	glp_term_hook(NULL, NULL);
	glp_term_out(m->term);
}

/* ---- the entry ---- */

/* The start's items: inside [0, W), aligned, its own lengths, and within
 * memory. */
static int
check_start(const struct job *j, int W, const uint32_t *len, size_t n,
    const struct mbt_item *st, uint64_t *scratch)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct mbt_item *it = &st[i];
		int bad = it->len != len[i] || it->size < 1 ||
		    it->first < 0 || it->first + it->size > W;

		if (!bad && it->size > 1)
			bad = W % it->size != 0 || it->first % it->size != 0;
		if (bad)
			return err_set(SK_ERR_ARG, "opt: start item %zu (%u "
			    "tokens on [%d, %d)) is not a placement of sample "
			    "%zu (%u tokens) on %d ranks", i, it->len,
			    it->first, it->first + it->size, i, len[i], W);
	}
	if (!mbtime_fits(j, W, st, n, scratch))
		return err_set(SK_ERR_ARG, "opt: the start breaks the memory "
		    "bound of %u tokens per rank", j->bucket);
	return SK_OK;
}

static int
check_args(const struct job *j, int W, int g0, size_t n, double limit)
{
	const struct cluster *c = &j->cluster;
	const struct cluster_eff *e = &c->eff;

	if (W < 1 || W > 65535 || g0 < 0 || n > (size_t)INT32_MAX / (2 *
	    (size_t)W) || j->bucket < 1 || !(limit >= 0))
		return err_set(SK_ERR_ARG, "opt: %d ranks from GPU %d, %zu "
		    "samples, bucket %u, time limit %g s", W, g0, n, j->bucket,
		    limit);
	if (!(c->gpu.peak_flops > 0 && c->gpu.hbm_bw > 0 && e->gemm_max > 0 &&
	    e->attn_max > 0 && e->mem_eff > 0 && e->gemm_half >= 0 &&
	    e->launch >= 0 && j->model.layers >= 1))
		return err_set(SK_ERR_ARG, "opt: the job's cluster has no "
		    "peak, bandwidth or efficiency to time with");
	return SK_OK;
}

/* The milp's arrays for W ranks and n samples. */
static int
milp_alloc(struct milp *m, const struct job *j, int W, size_t n)
{
	int d, cap, per = j->cluster.coll.n + 2;

	m->ngrp = 0;
	for (d = 2; d <= W; d++)
		if (W % d == 0)
			m->ngrp += W / d;
	m->nopt = W + m->ngrp;
	/* The longest row: a rank's memory or sums over every option of
	 * every sample, or a symmetry row; the others are shorter. */
	cap = (int)n * m->nopt + 4 * per + 64;
	m->r = calloc((size_t)W, sizeof *m->r);
	m->g = calloc((size_t)m->ngrp + 1, sizeof *m->g);
	m->pts = calloc(3 * (size_t)per * ((size_t)m->ngrp + 1),
	    sizeof *m->pts);
	m->ind = calloc((size_t)cap + 1, sizeof *m->ind);
	m->val = calloc((size_t)cap + 1, sizeof *m->val);
	if (m->r == NULL || m->g == NULL || m->pts == NULL || m->ind == NULL ||
	    m->val == NULL)
		return err_set(SK_ERR_NOMEM, "opt: out of memory");
	return SK_OK;
}

static void
milp_free(struct milp *m)
{
	free(m->r);
	free(m->g);
	free(m->pts);
	free(m->ind);
	free(m->val);
	free(m->x0);
}

int
opt_place(const struct job *j, int W, int g0, const uint32_t *len,
    size_t n, double time_limit_s, const struct mbt_item *start,
    struct mbt_item *out, struct opt_result *res)
{
	struct opt_result own;
	struct milp m;
	struct found f;
	struct mbtime mt;
	struct mbt_item *st = NULL, *cand = NULL;
	uint64_t *scratch = NULL, tok = 0;
	double t0 = now(), tc, bound;
	size_t i;
	int rc, o;

	if (res == NULL)
		res = &own;
	memset(res, 0, sizeof *res);
	memset(&m, 0, sizeof m);
	memset(&f, 0, sizeof f);
	memset(&mt, 0, sizeof mt);
	if ((rc = check_args(j, W, g0, n, time_limit_s)) != SK_OK)
		return rc;
	for (i = 0; i < n; i++)
		tok += len[i];
	if (tok > (uint64_t)W * j->bucket)
		return err_set(SK_ERR_RANGE, "opt: %zu samples of %llu tokens "
		    "do not fit %d ranks of %u", n, (unsigned long long)tok, W,
		    j->bucket);
	if (n == 0)
		goto out;
	if ((rc = mbtime_init(&mt, W, n)) != SK_OK ||
	    (rc = milp_alloc(&m, j, W, n)) != SK_OK)
		goto out;
	st = malloc(n * sizeof *st);
	cand = malloc(n * sizeof *cand);
	scratch = malloc((size_t)W * sizeof *scratch);
	f.opt = malloc(n * sizeof *f.opt);
	if (st == NULL || cand == NULL || scratch == NULL || f.opt == NULL) {
		rc = err_set(SK_ERR_NOMEM, "opt: out of memory");
		goto out;
	}
	/* Without a start, every sample sharded over all W ranks: it fits
	 * whenever anything does (it loads every rank with the mean). */
	for (i = 0; i < n; i++) {
		st[i].len = len[i];
		st[i].first = 0;
		st[i].size = W;
	}
	if (start != NULL) {
		if ((rc = check_start(j, W, len, n, start, scratch)) != SK_OK)
			goto out;
		memcpy(st, start, n * sizeof *st);
	}
	memcpy(out, st, n * sizeof *out);
	res->start_time = res->time = mbtime_eval(&mt, j, W, g0, st, n, NULL);
	if (W == 1) {
		res->bound = res->time;
		goto out;
	}

	m.j = j;
	m.len = len;
	m.n = n;
	m.W = W;
	m.g0 = g0;
	m.tu = res->start_time > 0 ? res->start_time : 1;
	m.ku = j->bucket;
	groups(&m, tok);
	solve(&m, st, time_limit_s > 0 ? t0 + time_limit_s : INFINITY, &f);

	if (f.sol) {
		for (i = 0; i < n; i++) {
			o = f.opt[i];
			cand[i].len = len[i];
			cand[i].first = ofirst(&m, o);
			cand[i].size = osize(&m, o);
		}
		/* Within GLPK's feasibility tolerance a solution may sit a
		 * token over the bound; the start then stands. */
		if (!mbtime_fits(j, W, cand, n, scratch))
			f.sol = f.proven = 0;
	}
	if (f.sol) {
		tc = mbtime_eval(&mt, j, W, g0, cand, n, NULL);
		if (tc > 0)
			res->model_err = fabs(f.obj * m.tu - tc) / tc;
		if (tc < res->time) {
			memcpy(out, cand, n * sizeof *out);
			res->time = tc;
			res->improved = 1;
		}
	}
	if (f.failed) {
		res->status = OPT_FAILED;
		snprintf(res->why, sizeof res->why, "GLPK: %s", m.msg[0] !=
		    '\0' ? m.msg : "failed");
	} else if (f.proven) {
		/* Proven within GLPK's tolerances: the objective's last
		 * digits against mbtime_eval's are model_err, not a gap. */
		res->status = OPT_OPTIMAL;
		res->bound = res->time;
	} else {
		res->status = OPT_LIMIT;
		bound = f.sol && f.obj < m.bound ? f.obj : m.bound;
		res->bound = bound * m.tu;
	}
	if (res->bound > res->time)
		res->bound = res->time;
	if (res->time > 0)
		res->gap = (res->time - res->bound) / res->time;
out:
	res->solve_sec = now() - t0;
	milp_free(&m);
	mbtime_free(&mt);
	free(st);
	free(cand);
	free(scratch);
	free(f.opt);
	return rc;
}

/* ---- the `optimal` policy ---- */

/*
 * The tally of one global batch's micro-batches.  The composer hands the
 * placement the scheduling workspace alone, which is not this module's
 * to extend, so the tally lives beside it, one per thread (a plan is
 * built on one).
 */
struct tally {
	double gap;  /* the worst proven gap */
	unsigned limited, failed, improved;
};
static _Thread_local struct tally tally;

/* skrull's placement, then the optimum from it. */
static int
gplace(struct sched_ws *ws, const uint32_t *len, const double *w, size_t n,
    int W, int g0, struct mbt_item *it)
{
	struct opt_result res;
	int rc;

	if ((rc = skrull_gplace(ws, len, w, n, W, g0, it)) != SK_OK ||
	    (rc = opt_place(&ws->job, W, g0, len, n, ws->par.opt_ms / 1e3, it,
	    it, &res)) != SK_OK)
		return rc;
	tally.gap = fmax(tally.gap, res.gap);
	tally.limited += res.status == OPT_LIMIT;
	tally.failed += res.status == OPT_FAILED;
	tally.improved += res.improved != 0;
	return SK_OK;
}

/* The plan's parameter name (0 when absent) and v, combined: the larger
 * (worst) or the sum. */
static int
record(struct plan *out, const char *name, double v, int worst)
{
	int i;

	for (i = 0; i < out->nparams; i++)
		if (strcmp(out->params[i].name, name) == 0)
			v = worst ? fmax(v, out->params[i].value) :
			    v + out->params[i].value;
	return plan_param(out, name, v, NULL);
}

/*
 * skrull's composition (tgds_compose, spans included: a spanning
 * micro-batch holds one sample sharded over all its ranks and is not
 * re-placed), each micro-batch then placed by opt_place from
 * skrull_gplace's placement.  The plan records over all its global
 * batches opt-gap, the worst proven gap, and how many micro-batches hit
 * the time limit (opt-limited, the plan is then not proven optimal),
 * had the solver fail (opt-failed: skrull's placement kept) and were
 * improved on skrull's (opt-improved).
 */
static int
run(struct sched_ws *ws, const uint32_t *idx, const uint32_t *len, size_t n,
    struct plan *out)
{
	int rc;

	memset(&tally, 0, sizeof tally);
	if ((rc = tgds_compose(ws, idx, len, n, gplace, TGDS_SPANS, out)) !=
	    SK_OK ||
	    (rc = record(out, "opt-gap", tally.gap, 1)) != SK_OK ||
	    (rc = record(out, "opt-limited", tally.limited, 0)) != SK_OK ||
	    (rc = record(out, "opt-failed", tally.failed, 0)) != SK_OK)
		return rc;
	return record(out, "opt-improved", tally.improved, 0);
}

const struct sched_policy opt_policy = {
	.name = "optimal",
	.summary = "skrull's micro-batches, each placed at the MILP optimum "
	    "of its estimated time (GLPK, --opt-ms each)",
	.batching = BATCHING_ORDER,
	.run = run
};
