/*
 * Unit tests of the loopback communicator (src/exec/comm_loop.c) and of
 * the rank threads (src/exec/ranks.c).  Every collective runs on 3 and on
 * 4 ranks (threads started by ranks_run) over random-looking data, in
 * place and not; the main thread then checks what each rank received
 * against sums and concatenations it computes itself from the inputs, in
 * double (cmocka asserts only on the main thread).  Then: unequal
 * allgatherv blocks with gaps left alone, the CP and DP groups of
 * comm_grid_split, a split in which some ranks join no group
 * (COMM_NOCOLOR), argument errors and mismatched calls that leave the
 * group usable, a rank that never arrives (the others get SK_ERR_IO within
 * the 0.2 s timeout) and a rank that fails (ranks_run stops the others at
 * once and returns the failed rank's own message).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "backend.h"
#include "comm.h"
#include "comm_loop.h"
#include "err.h"
#include "ranks.h"
#include "tutil.h"

#define MAXR 4
/* Elements per rank: not a multiple of 3 or 4, so segments differ. */
#define N 1001

/* Element i of rank k's input in test seed: random-looking, in (-8, 8),
 * never 0 or 1 exactly. */
static float
val(unsigned seed, int k, size_t i)
{
	uint64_t z = ((uint64_t)seed << 40) ^ ((uint64_t)k << 32) ^ i;

	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (float)(((double)(z >> 11) / 9007199254740992.0 - 0.5) * 16.0) +
	    0.001f;
}

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* What the ranks of one scenario share; each rank writes only its own
 * entries, the main thread reads them after ranks_run. */
struct ctx {
	int size;
	struct comm_loop_group *g;
	int inplace;
	float *buf[MAXR];       /* each rank's output, MAXR * MAXR * N */
	int code[MAXR][8];      /* each rank's return codes, by step */
	char msg[MAXR][256];    /* each rank's last error message */
	double took[MAXR];      /* seconds of the timed call */
	int grid[MAXR][4];      /* cpc rank, size, dpc rank, size */
};

static void
ctx_init(struct ctx *c, int size, double timeout)
{
	int k;

	memset(c, 0, sizeof *c);
	c->size = size;
	assert_int_equal(comm_loop_group_new(size, &backend_cpu_ops, timeout,
	    &c->g), SK_OK);
	for (k = 0; k < size; k++) {
		c->buf[k] = calloc((size_t)MAXR * MAXR * N, sizeof (float));
		assert_non_null(c->buf[k]);
	}
}

static void
ctx_free(struct ctx *c)
{
	int k;

	for (k = 0; k < c->size; k++)
		free(c->buf[k]);
	comm_loop_group_free(c->g);
}

static void
note(struct ctx *c, int rank, int step, int e)
{
	c->code[rank][step] = e;
	if (e != SK_OK)
		snprintf(c->msg[rank], sizeof c->msg[rank], "%s", err_msg());
}

static void
stop(int rank, void *arg)
{
	struct ctx *c = arg;

	comm_loop_poison(c->g, rank);
}

/* Run fn on c->size ranks; every rank must succeed. */
static void
run_all(struct ctx *c, int (*fn)(int, void *))
{
	int failed = 0, e;

	e = ranks_run(c->size, fn, stop, c, &failed);
	if (e != SK_OK)
		fail_msg("rank %d: %s", failed, err_msg());
}

/* --- allgather: rank r's block is val(1, r, i), i < N. */

static int
do_allgather(int rank, void *arg)
{
	struct ctx *c = arg;
	struct comm w;
	float *recv = c->buf[rank], *send, mine[N];
	size_t i;
	int e;

	if ((e = comm_loop_join(c->g, rank, &w)) != SK_OK)
		return e;
	for (i = 0; i < N; i++)
		mine[i] = val(1, rank, i);
	send = mine;
	if (c->inplace) {
		send = recv + (size_t)rank * N;
		memcpy(send, mine, sizeof mine);
	}
	note(c, rank, 0, e = w.ops->allgather(&w, send, recv, N));
	if (e != SK_OK)
		return e;
	return w.ops->free(&w);
}

static void
check_gather(struct ctx *c)
{
	size_t i;
	int r, k;

	for (r = 0; r < c->size; r++)
		for (k = 0; k < c->size; k++)
			for (i = 0; i < N; i++)
				if (c->buf[r][(size_t)k * N + i] != val(1, k, i))
					fail_msg("%d ranks%s: rank %d got %g at "
					    "block %d [%zu], rank %d sent %g",
					    c->size, c->inplace ? " in place" : "",
					    r, (double)c->buf[r][(size_t)k * N + i],
					    k, i, k, (double)val(1, k, i));
}

static void
test_allgather(void **state)
{
	struct ctx c;
	int size, ip;

	(void)state;
	for (size = 3; size <= 4; size++)
		for (ip = 0; ip < 2; ip++) {
			ctx_init(&c, size, 5);
			c.inplace = ip;
			run_all(&c, do_allgather);
			check_gather(&c);
			ctx_free(&c);
		}
}

/* --- allgatherv: rank k sends 37 k + 5 elements (3 on the last, a
 * shorter block) at displacement 200 k + 7: gaps between the blocks keep
 * the sentinel -3.5. */

static size_t
vcount(int k, int size)
{
	return k == size - 1 ? 3 : (size_t)(37 * k + 5);
}

static size_t
vdispl(int k)
{
	return (size_t)(200 * k + 7);
}

static int
do_allgatherv(int rank, void *arg)
{
	struct ctx *c = arg;
	struct comm w;
	struct comm_req rq = { 0 };
	size_t counts[MAXR], displs[MAXR], i, n = vcount(rank, c->size);
	float *recv = c->buf[rank], *send, mine[200];
	int e, k;

	if ((e = comm_loop_join(c->g, rank, &w)) != SK_OK)
		return e;
	for (k = 0; k < c->size; k++) {
		counts[k] = vcount(k, c->size);
		displs[k] = vdispl(k);
	}
	for (i = 0; i < (size_t)MAXR * 200; i++)
		recv[i] = -3.5f;
	for (i = 0; i < n; i++)
		mine[i] = val(2, rank, i);
	send = mine;
	if (c->inplace) {
		send = recv + displs[rank];
		memcpy(send, mine, n * sizeof *mine);
	}
	note(c, rank, 0, e = w.ops->allgatherv(&w, send, n, recv, counts,
	    displs));
	if (e != SK_OK)
		return e;
	/* The non-blocking variant into the second half: complete at once. */
	for (i = 0; i < (size_t)MAXR * 200; i++)
		recv[MAXR * 200 + i] = -3.5f;
	if (c->inplace)
		memcpy(recv + MAXR * 200 + displs[rank], mine, n * sizeof *mine);
	e = w.ops->iallgatherv(&w, c->inplace ? recv + MAXR * 200 +
	    displs[rank] : mine, n, recv + MAXR * 200, counts, displs, &rq);
	note(c, rank, 1, e);
	if (e != SK_OK)
		return e;
	c->code[rank][2] = rq.handle;
	note(c, rank, 3, e = comm_wait(&rq, 1));
	if (e != SK_OK)
		return e;
	return w.ops->free(&w);
}

static void
check_gatherv(struct ctx *c)
{
	size_t i, at;
	float want;
	int r, k, half;

	for (r = 0; r < c->size; r++) {
		assert_int_equal(c->code[r][2], 0);  /* done at start */
		for (half = 0; half < 2; half++)
			for (i = 0; i < (size_t)MAXR * 200; i++) {
				at = (size_t)half * MAXR * 200 + i;
				want = -3.5f;
				for (k = 0; k < c->size; k++)
					if (i >= vdispl(k) && i < vdispl(k) +
					    vcount(k, c->size))
						want = val(2, k, i - vdispl(k));
				if (c->buf[r][at] != want)
					fail_msg("%d ranks%s: rank %d got %g at "
					    "[%zu] of %s, expected %g", c->size,
					    c->inplace ? " in place" : "", r,
					    (double)c->buf[r][at], i, half ?
					    "iallgatherv" : "allgatherv",
					    (double)want);
			}
	}
}

static void
test_allgatherv(void **state)
{
	struct ctx c;
	int size, ip;

	(void)state;
	for (size = 3; size <= 4; size++)
		for (ip = 0; ip < 2; ip++) {
			ctx_init(&c, size, 5);
			c.inplace = ip;
			run_all(&c, do_allgatherv);
			check_gatherv(&c);
			ctx_free(&c);
		}
}

/* --- reduce_scatter: rank k's send is size blocks of N, element j of
 * block b being val(3, k, b N + j); rank r gets the sum over k of block r. */

static int
do_reduce_scatter(int rank, void *arg)
{
	struct ctx *c = arg;
	struct comm w;
	struct comm_req rq = { 0 };
	float *b = c->buf[rank], *send, *recv;
	const size_t tot = (size_t)c->size * N;
	size_t i;
	int e;

	if ((e = comm_loop_join(c->g, rank, &w)) != SK_OK)
		return e;
	/* Blocking into b[tot..), non-blocking into b[2 tot..). */
	for (i = 0; i < tot; i++)
		b[i] = val(3, rank, i);
	send = b;
	recv = c->inplace ? b : b + tot;
	note(c, rank, 0, e = w.ops->reduce_scatter(&w, send, recv, N));
	if (e != SK_OK)
		return e;
	if (c->inplace)
		memmove(b + tot, b, N * sizeof *b);
	for (i = 0; i < tot; i++)
		b[i] = val(3, rank, i);
	recv = c->inplace ? b : b + 2 * tot;
	note(c, rank, 1, e = w.ops->ireduce_scatter(&w, send, recv, N, &rq));
	if (e != SK_OK)
		return e;
	c->code[rank][2] = rq.handle;
	if (c->inplace)
		memmove(b + 2 * tot, b, N * sizeof *b);
	return w.ops->free(&w);
}

/* |got - sum| within 1e-5 of the sum of the magnitudes. */
static void
near_sum(double got, double sum, double mag, const char *what, int r,
    size_t i)
{
	if (!(fabs(got - sum) <= 1e-5 * mag))
		fail_msg("%s: rank %d [%zu]: %.9g, expected %.9g", what, r, i,
		    got, sum);
}

static void
check_scatter(struct ctx *c)
{
	const size_t tot = (size_t)c->size * N;
	double sum, mag, x;
	size_t i;
	int r, k, v;

	for (r = 0; r < c->size; r++) {
		assert_int_equal(c->code[r][2], 0);
		for (i = 0; i < N; i++) {
			sum = 0;
			mag = 0;
			for (k = 0; k < c->size; k++) {
				x = val(3, k, (size_t)r * N + i);
				sum += x;
				mag += fabs(x);
			}
			for (v = 1; v <= 2; v++)
				near_sum(c->buf[r][(size_t)v * tot + i], sum, mag,
				    c->inplace ? "reduce_scatter in place" :
				    "reduce_scatter", r, i);
		}
	}
}

static void
test_reduce_scatter(void **state)
{
	struct ctx c;
	int size, ip;

	(void)state;
	for (size = 3; size <= 4; size++)
		for (ip = 0; ip < 2; ip++) {
			ctx_init(&c, size, 5);
			c.inplace = ip;
			run_all(&c, do_reduce_scatter);
			check_scatter(&c);
			ctx_free(&c);
		}
}

/* --- allreduce of N elements (segments of 334, 334, 333 or 251, 250,
 * ...), of 2 (fewer than the ranks: empty segments), and iallreduce. */

static int
do_allreduce(int rank, void *arg)
{
	struct ctx *c = arg;
	struct comm w;
	struct comm_req rq = { 0 };
	float *b = c->buf[rank], mine[N];
	size_t i, n;
	int e, pass;

	if ((e = comm_loop_join(c->g, rank, &w)) != SK_OK)
		return e;
	/* Pass 0: N elements into b[0..N); pass 1: 2 into b[N..N+2); pass
	 * 2: iallreduce of N into b[2N..3N). */
	for (pass = 0; pass < 3; pass++) {
		n = pass == 1 ? 2 : N;
		for (i = 0; i < n; i++)
			mine[i] = val(4 + (unsigned)pass, rank, i);
		if (c->inplace)
			memcpy(b + (size_t)pass * N, mine, n * sizeof *mine);
		if (pass < 2)
			e = w.ops->allreduce(&w, c->inplace ? b + pass * N :
			    mine, b + pass * N, n);
		else if ((e = w.ops->iallreduce(&w, c->inplace ? b + 2 * N :
		    mine, b + 2 * N, n, &rq)) == SK_OK)
			e = comm_wait(&rq, 1);
		note(c, rank, pass, e);
		if (e != SK_OK)
			return e;
	}
	return w.ops->free(&w);
}

static void
check_allreduce(struct ctx *c)
{
	double sum, mag, x;
	size_t i, n;
	int r, k, pass;

	for (pass = 0; pass < 3; pass++) {
		n = pass == 1 ? 2 : N;
		for (i = 0; i < n; i++) {
			sum = 0;
			mag = 0;
			for (k = 0; k < c->size; k++) {
				x = val(4 + (unsigned)pass, k, i);
				sum += x;
				mag += fabs(x);
			}
			for (r = 0; r < c->size; r++) {
				near_sum(c->buf[r][(size_t)pass * N + i], sum,
				    mag, "allreduce", r, i);
				/* The same bits on every rank. */
				assert_memory_equal(&c->buf[r][pass * N + i],
				    &c->buf[0][pass * N + i], sizeof (float));
			}
		}
	}
}

static void
test_allreduce(void **state)
{
	struct ctx c;
	int size, ip;

	(void)state;
	for (size = 3; size <= 4; size++)
		for (ip = 0; ip < 2; ip++) {
			ctx_init(&c, size, 5);
			c.inplace = ip;
			run_all(&c, do_allreduce);
			check_allreduce(&c);
			ctx_free(&c);
		}
}

/* --- bcast from the last rank, and barriers. */

static int
do_bcast(int rank, void *arg)
{
	struct ctx *c = arg;
	struct comm w;
	size_t i;
	int e;

	if ((e = comm_loop_join(c->g, rank, &w)) != SK_OK)
		return e;
	for (i = 0; i < N; i++)
		c->buf[rank][i] = val(7, rank, i);
	note(c, rank, 0, e = w.ops->bcast(&w, c->buf[rank], N, c->size - 1));
	if (e != SK_OK)
		return e;
	note(c, rank, 1, e = w.ops->barrier(&w));
	if (e != SK_OK)
		return e;
	return w.ops->free(&w);
}

static void
test_bcast(void **state)
{
	struct ctx c;
	size_t i;
	int size, r;

	(void)state;
	for (size = 3; size <= 4; size++) {
		ctx_init(&c, size, 5);
		run_all(&c, do_bcast);
		for (r = 0; r < size; r++)
			for (i = 0; i < N; i++)
				if (c.buf[r][i] != val(7, size - 1, i))
					fail_msg("bcast: rank %d [%zu] = %g", r, i,
					    (double)c.buf[r][i]);
		ctx_free(&c);
	}
}

/* --- the grid: 4 = DP 2 x CP 2, 3 = DP 3 x CP 1; rank g = d cp + r
 * all-reduces val(8, g, i) over its CP group and then over its DP group. */

static int
grid_cp(int size)
{
	return size == 4 ? 2 : 1;
}

static int
do_grid(int rank, void *arg)
{
	struct ctx *c = arg;
	struct comm w;
	struct comm_grid gr;
	float *b = c->buf[rank];
	const int cp = grid_cp(c->size), dp = c->size / cp;
	size_t i;
	int e;

	if ((e = comm_loop_join(c->g, rank, &w)) != SK_OK ||
	    (e = comm_grid_split(&w, dp, cp, &gr)) != SK_OK)
		return e;
	c->grid[rank][0] = gr.cpc.rank;
	c->grid[rank][1] = gr.cpc.size;
	c->grid[rank][2] = gr.dpc.rank;
	c->grid[rank][3] = gr.dpc.size;
	for (i = 0; i < N; i++) {
		b[i] = val(8, rank, i);
		b[N + i] = val(8, rank, i);
	}
	if ((e = gr.cpc.ops->allreduce(&gr.cpc, b, b, N)) != SK_OK ||
	    (e = gr.dpc.ops->allreduce(&gr.dpc, b + N, b + N, N)) != SK_OK)
		return e;
	if ((e = comm_grid_free(&gr)) != SK_OK)
		return e;
	return w.ops->free(&w);
}

static void
test_grid(void **state)
{
	struct ctx c;
	double sum, mag;
	size_t i;
	int size, g, cp, d, r, k;

	(void)state;
	for (size = 3; size <= 4; size++) {
		cp = grid_cp(size);
		ctx_init(&c, size, 5);
		run_all(&c, do_grid);
		for (g = 0; g < size; g++) {
			d = g / cp;
			r = g % cp;
			assert_int_equal(c.grid[g][0], r);
			assert_int_equal(c.grid[g][1], cp);
			assert_int_equal(c.grid[g][2], d);
			assert_int_equal(c.grid[g][3], size / cp);
			for (i = 0; i < N; i++) {
				sum = mag = 0;
				for (k = 0; k < cp; k++) {
					sum += val(8, d * cp + k, i);
					mag += fabs(val(8, d * cp + k, i));
				}
				near_sum(c.buf[g][i], sum, mag, "CP group", g, i);
				sum = mag = 0;
				for (k = 0; k < size / cp; k++) {
					sum += val(8, k * cp + r, i);
					mag += fabs(val(8, k * cp + r, i));
				}
				near_sum(c.buf[g][N + i], sum, mag, "DP group", g,
				    i);
			}
		}
		ctx_free(&c);
	}
}

/* --- COMM_NOCOLOR: of 4 ranks, 1 and 2 form a group ranked in reverse
 * (keys -rank) and all-reduce val(10, rank, i) in it; 0 and 3 take part in
 * the split and get no communicator; then the world is still usable. */

static int
do_nocolor(int rank, void *arg)
{
	struct ctx *c = arg;
	struct comm w, h;
	float *b = c->buf[rank];
	const int in = rank == 1 || rank == 2;
	size_t i;
	int e;

	if ((e = comm_loop_join(c->g, rank, &w)) != SK_OK ||
	    (e = w.ops->split(&w, in ? 7 : COMM_NOCOLOR, -rank, "pair",
	    &h)) != SK_OK)
		return e;
	c->grid[rank][0] = h.ops != NULL ? h.rank : -1;
	c->grid[rank][1] = h.ops != NULL ? h.size : -1;
	for (i = 0; i < N; i++)
		b[i] = val(10, rank, i);
	if (in && ((e = h.ops->allreduce(&h, b, b, N)) != SK_OK ||
	    (e = h.ops->free(&h)) != SK_OK))
		return e;
	if ((e = w.ops->barrier(&w)) != SK_OK)
		return e;
	return w.ops->free(&w);
}

static void
test_nocolor(void **state)
{
	struct ctx c;
	double sum, mag;
	size_t i;
	int r;

	(void)state;
	ctx_init(&c, 4, 5);
	run_all(&c, do_nocolor);
	assert_int_equal(c.grid[0][0], -1);
	assert_int_equal(c.grid[3][0], -1);
	assert_int_equal(c.grid[1][0], 1);
	assert_int_equal(c.grid[2][0], 0);
	assert_int_equal(c.grid[1][1], 2);
	assert_int_equal(c.grid[2][1], 2);
	for (r = 0; r < 4; r++)
		for (i = 0; i < N; i++) {
			if (r == 0 || r == 3) {
				if (c.buf[r][i] != val(10, r, i))
					fail_msg("rank %d [%zu] changed", r, i);
				continue;
			}
			sum = (double)val(10, 1, i) + val(10, 2, i);
			mag = fabs((double)val(10, 1, i)) + fabs(val(10, 2, i));
			near_sum(c.buf[r][i], sum, mag, "pair", r, i);
		}
	ctx_free(&c);
}

/* --- argument errors on every rank, then a mismatch (rank 0 gives
 * another count), then a good allreduce: the group is still usable. */

static int
do_errors(int rank, void *arg)
{
	struct ctx *c = arg;
	struct comm w;
	size_t counts[MAXR] = { 1, 1, 1, 1 }, displs[MAXR] = { 0, 1, 2, 3 };
	float *b = c->buf[rank], x = 1.5f + (float)rank;
	int e;

	if ((e = comm_loop_join(c->g, rank, &w)) != SK_OK)
		return e;
	note(c, rank, 0, w.ops->allgatherv(&w, &x, 2, b, counts, displs));
	note(c, rank, 1, w.ops->bcast(&w, b, 1, c->size));
	note(c, rank, 2, w.ops->allreduce(&w, b, b, rank == 0 ? 5 : 6));
	b[0] = x;
	note(c, rank, 3, w.ops->allreduce(&w, b, b, 1));
	note(c, rank, 4, w.ops->split(&w, -2, 0, "bad", NULL));
	return w.ops->free(&w);
}

static void
test_errors(void **state)
{
	struct ctx c;
	int r;

	(void)state;
	ctx_init(&c, 3, 5);
	run_all(&c, do_errors);
	for (r = 0; r < 3; r++) {
		assert_int_equal(c.code[r][0], SK_ERR_ARG);
		assert_int_equal(c.code[r][1], SK_ERR_ARG);
		assert_int_equal(c.code[r][2], SK_ERR_ARG);
		assert_int_equal(c.code[r][3], SK_OK);
		assert_int_equal(c.code[r][4], SK_ERR_ARG);
		/* 1.5 + 2.5 + 3.5 */
		assert_true(c.buf[r][0] == 7.5f);
	}
	assert_non_null(strstr(c.msg[1], "split: rank 1 of 3 in world "
	    "(world rank 1): color -2"));
	ctx_free(&c);
}

/* --- a rank that never arrives: 0.2 s timeout. */

static int
do_absent(int rank, void *arg)
{
	struct ctx *c = arg;
	struct comm w;
	float *b = c->buf[rank];
	double t0;
	int e;

	if (rank == c->size - 1)
		return SK_OK;
	if ((e = comm_loop_join(c->g, rank, &w)) != SK_OK)
		return e;
	b[0] = 2.5f;
	t0 = now();
	note(c, rank, 0, w.ops->allreduce(&w, b, b, 1));
	c->took[rank] = now() - t0;
	t0 = now();
	note(c, rank, 1, w.ops->barrier(&w));
	c->took[rank] = fmax(c->took[rank], now() - t0);
	return w.ops->free(&w);
}

static void
test_absent(void **state)
{
	struct ctx c;
	int r, size;

	(void)state;
	for (size = 3; size <= 4; size++) {
		ctx_init(&c, size, 0.2);
		run_all(&c, do_absent);
		for (r = 0; r < size - 1; r++) {
			assert_int_equal(c.code[r][0], SK_ERR_IO);
			assert_int_equal(c.code[r][1], SK_ERR_IO);
			/* Within the timeout, plus a generous margin for a
			 * loaded machine. */
			if (!(c.took[r] < 1.5))
				fail_msg("rank %d waited %.3f s", r, c.took[r]);
			/* The barrier after the failure names the rank that
			 * timed out first and does not wait. */
			assert_non_null(strstr(c.msg[r], "barrier: rank"));
			assert_non_null(strstr(c.msg[r], "waited over 0.2 s in "
			    "allreduce"));
		}
		ctx_free(&c);
	}
}

/* --- a rank that fails: ranks_run stops the others through the group,
 * long before their 30 s timeout, and returns its message. */

static int
do_fails(int rank, void *arg)
{
	struct ctx *c = arg;
	struct comm w;
	float *b = c->buf[rank];
	double t0;
	int e;

	if ((e = comm_loop_join(c->g, rank, &w)) != SK_OK)
		return e;
	if (rank == 1) {
		w.ops->free(&w);
		return err_set(SK_ERR_RANGE, "rank one's own reason");
	}
	t0 = now();
	note(c, rank, 0, e = w.ops->allreduce(&w, b, b, N));
	c->took[rank] = now() - t0;
	w.ops->free(&w);
	return e;
}

static void
test_fails(void **state)
{
	struct ctx c;
	int failed = -5, e, r;

	(void)state;
	ctx_init(&c, 4, 30);
	e = ranks_run(4, do_fails, stop, &c, &failed);
	assert_int_equal(e, SK_ERR_RANGE);
	assert_int_equal(failed, 1);
	assert_string_equal(err_msg(), "rank one's own reason");
	for (r = 0; r < 4; r++) {
		if (r == 1)
			continue;
		assert_int_equal(c.code[r][0], SK_ERR_IO);
		assert_non_null(strstr(c.msg[r], "world rank 1 failed (it "
		    "stopped)"));
		if (!(c.took[r] < 5))
			fail_msg("rank %d waited %.3f s", r, c.took[r]);
	}
	ctx_free(&c);
	/* All ranks succeed: SK_OK and no failed rank. */
	ctx_init(&c, 3, 5);
	assert_int_equal(ranks_run(3, do_bcast, stop, &c, &failed), SK_OK);
	assert_int_equal(failed, -1);
	ctx_free(&c);
}

static void
test_args(void **state)
{
	struct comm_loop_group *g = NULL;
	struct comm w;

	(void)state;
	assert_int_equal(comm_loop_group_new(0, &backend_cpu_ops, 1, &g),
	    SK_ERR_ARG);
	assert_int_equal(comm_loop_group_new(2, &backend_cpu_ops, 0, &g),
	    SK_ERR_ARG);
	assert_int_equal(comm_loop_group_new(2, NULL, 1, &g), SK_ERR_ARG);
	assert_null(g);
	assert_int_equal(comm_loop_group_new(2, &backend_cpu_ops, -1, &g),
	    SK_OK);
	assert_int_equal(comm_loop_join(g, 2, &w), SK_ERR_RANGE);
	assert_int_equal(comm_loop_join(g, 1, &w), SK_OK);
	assert_string_equal(w.name, "world");
	assert_int_equal(w.size, 2);
	assert_string_equal(w.ops->name, "loop");
	comm_loop_group_free(g);
	assert_int_equal(ranks_run(0, do_bcast, NULL, NULL, NULL), SK_ERR_ARG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allgather),
		cmocka_unit_test(test_allgatherv),
		cmocka_unit_test(test_reduce_scatter),
		cmocka_unit_test(test_allreduce),
		cmocka_unit_test(test_bcast),
		cmocka_unit_test(test_grid),
		cmocka_unit_test(test_nocolor),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_absent),
		cmocka_unit_test(test_fails),
		cmocka_unit_test(test_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
