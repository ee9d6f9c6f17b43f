/*
 * Tests of the MPI communicator, run under mpirun with 4 ranks (a DP 2 x
 * CP 2 grid).  Every rank checks its own results; each check's pass or
 * fail is combined over the ranks with MPI_Allreduce on MPI_COMM_WORLD
 * (outside the code under test) and rank 0 prints one TAP line.  Failing
 * ranks explain themselves on stderr as TAP comments.
 *
 * Inputs: rank k contributes x(k, i) = (k + 1) * 1.5 + i * 0.25 at element
 * i.  These are multiples of 0.25 below 2^20, so every float sum of them
 * is exact in any order and results compare with ==.
 *
 * With --drill-abort the program is the failure drill of tests/comm-mpi.sh
 * instead: rank 3 never joins an all-reduce, ranks 0..2 time out in
 * comm_wait after 2 s, print the error and abort the job.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mpi.h>

#include "comm.h"
#include "err.h"

#define RANKS 4

static int me = -1;       /* world rank */
static int points;        /* TAP lines printed */
static char why[512];     /* this rank's reason for the next failed check */

static float
x(int k, size_t i)
{
	return (float)(k + 1) * 1.5f + (float)i * 0.25f;
}

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void
nap(double seconds)
{
	struct timespec t;

	t.tv_sec = (time_t)seconds;
	t.tv_nsec = (long)((seconds - (double)t.tv_sec) * 1e9);
	nanosleep(&t, NULL);
}

/* Note the first reason a check on this rank fails. */
__attribute__((format(printf, 1, 2)))
static void
note(const char *fmt, ...)
{
	va_list ap;

	if (why[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
}

/* rc == want, else note it with the library's message. */
static int
rc_is(int rc, int want, const char *what)
{
	if (rc == want)
		return 1;
	note("%s returned %d (%s), expected %d: %s", what, rc, err_name(rc),
	    want, err_msg());
	return 0;
}

/* got[0..n) == want(i) for every i, else note the first difference. */
static int
same(const char *what, const float *got, const float *want, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (got[i] != want[i]) {
			note("%s[%zu] = %.9g, expected %.9g", what, i,
			    (double)got[i], (double)want[i]);
			return 0;
		}
	return 1;
}

static int
has(const char *s, const char *part)
{
	if (strstr(s, part) != NULL)
		return 1;
	note("message \"%s\" lacks \"%s\"", s, part);
	return 0;
}

/* One TAP point: ok everywhere is ok; rank 0 names the failing ranks. */
__attribute__((format(printf, 2, 3)))
static void
check(int ok, const char *fmt, ...)
{
	unsigned bad = ok ? 0u : 1u << me, all = 0;
	char name[256];
	va_list ap;
	int k;

	va_start(ap, fmt);
	vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	if (!ok) {
		fprintf(stderr, "# rank %d: %s: %s\n", me, name,
		    why[0] != '\0' ? why : "failed");
		fflush(stderr);
	}
	why[0] = '\0';
	MPI_Allreduce(&bad, &all, 1, MPI_UNSIGNED, MPI_BOR, MPI_COMM_WORLD);
	points++;
	if (me != 0)
		return;
	if (all == 0) {
		printf("ok %d - %s\n", points, name);
	} else {
		printf("not ok %d - %s # failed on rank", points, name);
		for (k = 0; k < RANKS; k++)
			if (all & 1u << k)
				printf(" %d", k);
		printf("\n");
	}
	fflush(stdout);
}

static void
test_grid(void)
{
	int d = -1, r = -1, ok = 1;

	/* 5 = 1 * 3 + 2 in a 2 x 3 grid. */
	ok &= rc_is(comm_grid(5, 2, 3, &d, &r), SK_OK, "comm_grid(5, 2, 3)");
	ok &= d == 1 && r == 2;
	ok &= comm_grid_cp_color(d, r) == 1 && comm_grid_dp_color(d, r) == 2;
	ok &= rc_is(comm_grid(6, 2, 3, &d, &r), SK_ERR_RANGE, "rank 6 of 6");
	ok &= has(err_msg(), "world rank 6 is outside 0..5");
	ok &= rc_is(comm_grid(0, 0, 3, &d, &r), SK_ERR_ARG, "dp 0");
	ok &= rc_is(comm_grid(0, INT_MAX, 2, &d, &r), SK_ERR_ARG, "overflow");
	check(ok, "comm_grid maps world ranks to (d, r) and rejects bad grids");
}

static void
test_world(struct comm *w)
{
	int ok = 1, mpi_rank = -1;

	MPI_Comm_rank(MPI_COMM_WORLD, &mpi_rank);
	ok &= w->size == RANKS && w->rank == mpi_rank &&
	    w->world_rank == mpi_rank;
	ok &= strcmp(w->name, "world") == 0;
	ok &= w->ops->version == COMM_OPS_VERSION &&
	    strcmp(w->ops->name, "mpi") == 0;
	ok &= rc_is(comm_check(w), SK_OK, "comm_check");
	check(ok, "world: 4 ranks, rank as MPI's, ops table \"mpi\" v%d",
	    COMM_OPS_VERSION);
}

static void
test_allgather(struct comm *w)
{
	float send[5], recv[RANKS * 5], want[RANKS * 5];
	size_t i;
	int k;

	for (i = 0; i < 5; i++)
		send[i] = x(w->rank, i);
	/* Block k holds rank k's x(k, 0..4). */
	for (k = 0; k < RANKS; k++)
		for (i = 0; i < 5; i++)
			want[(size_t)k * 5 + i] = x(k, i);
	memset(recv, 0, sizeof recv);
	check(rc_is(w->ops->allgather(w, send, recv, 5), SK_OK, "allgather") &&
	    same("recv", recv, want, RANKS * 5), "allgather of 5 floats");
}

/*
 * The allgatherv layout: rank k sends k + 1 elements, at displacement
 * k (k + 1) / 2 + k, so the blocks are [0], [2,3], [5,6,7], [9..12] with
 * one untouched element (-7) before each of blocks 1..3: 13 in all.
 */
#define GV_TOTAL 13
static const size_t gv_counts[RANKS] = { 1, 2, 3, 4 };
static const size_t gv_displs[RANKS] = { 0, 2, 5, 9 };

static void
gv_want(float *want)
{
	size_t i;
	int k;

	for (i = 0; i < GV_TOTAL; i++)
		want[i] = -7.0f;
	for (k = 0; k < RANKS; k++)
		for (i = 0; i < gv_counts[k]; i++)
			want[gv_displs[k] + i] = x(k, i);
}

static void
test_allgatherv(struct comm *w)
{
	float send[RANKS], recv[GV_TOTAL], want[GV_TOTAL];
	size_t i, n = gv_counts[w->rank];
	int ok;

	gv_want(want);
	for (i = 0; i < n; i++)
		send[i] = x(w->rank, i);
	for (i = 0; i < GV_TOTAL; i++)
		recv[i] = -7.0f;
	ok = rc_is(w->ops->allgatherv(w, send, n, recv, gv_counts, gv_displs),
	    SK_OK, "allgatherv") && same("recv", recv, want, GV_TOTAL);
	check(ok, "allgatherv with counts 1, 2, 3, 4 and gaps");

	/* In place: this rank's block already sits in recv. */
	for (i = 0; i < GV_TOTAL; i++)
		recv[i] = -7.0f;
	for (i = 0; i < n; i++)
		recv[gv_displs[w->rank] + i] = x(w->rank, i);
	ok = rc_is(w->ops->allgatherv(w, recv + gv_displs[w->rank], n, recv,
	    gv_counts, gv_displs), SK_OK, "allgatherv in place") &&
	    same("recv", recv, want, GV_TOTAL);
	check(ok, "allgatherv in place");
}

static void
test_reduce_scatter(struct comm *w)
{
	float send[RANKS * 3], recv[3], want[3];
	size_t i;

	for (i = 0; i < RANKS * 3; i++)
		send[i] = x(w->rank, i);
	/*
	 * Rank r gets block r: elements i = 3r + j summed over k = 0..3:
	 * 1.5 (1 + 2 + 3 + 4) + 4 * 0.25 i = 15 + i.
	 */
	for (i = 0; i < 3; i++)
		want[i] = 15.0f + (float)((size_t)w->rank * 3 + i);
	check(rc_is(w->ops->reduce_scatter(w, send, recv, 3), SK_OK,
	    "reduce_scatter") && same("recv", recv, want, 3),
	    "reduce_scatter, blocks of 3");
}

#define AR_N 1000

static void
test_allreduce(struct comm *w)
{
	static float send[AR_N], recv[AR_N], want[AR_N];
	size_t i;
	int ok;

	for (i = 0; i < AR_N; i++) {
		send[i] = x(w->rank, i);
		/* 1.5 (1 + 2 + 3 + 4) + 4 * 0.25 i */
		want[i] = 15.0f + (float)i;
	}
	ok = rc_is(w->ops->allreduce(w, send, recv, AR_N), SK_OK,
	    "allreduce") && same("recv", recv, want, AR_N);
	check(ok, "allreduce of %d floats", AR_N);
	ok = rc_is(w->ops->allreduce(w, send, send, AR_N), SK_OK,
	    "allreduce in place") && same("send", send, want, AR_N);
	check(ok, "allreduce in place");
}

static void
test_barrier_bcast(struct comm *w)
{
	float buf[7], want[7];
	double t;
	size_t i;
	int ok;

	/* Rank 3 arrives 0.2 s late: nobody leaves before it comes. */
	if (w->rank == 3)
		nap(0.2);
	t = now();
	ok = rc_is(w->ops->barrier(w), SK_OK, "barrier");
	t = now() - t;
	if (w->rank != 3 && t < 0.1) {
		note("left the barrier after %.3f s, before rank 3 came", t);
		ok = 0;
	}
	check(ok, "barrier waits for a late rank");

	for (i = 0; i < 7; i++) {
		buf[i] = w->rank == 2 ? x(2, i) : -1.0f;
		want[i] = x(2, i);
	}
	check(rc_is(w->ops->bcast(w, buf, 7, 2), SK_OK, "bcast") &&
	    same("buf", buf, want, 7), "bcast of 7 floats from rank 2");
}

#define NB_N 4096

static void
test_nonblocking(struct comm *w)
{
	static float ar_send[NB_N], ar_recv[NB_N], ar_want[NB_N];
	float gv_send[RANKS], gv_recv[GV_TOTAL], gv_want_[GV_TOTAL];
	float rs_send[RANKS * 3], rs_recv[3], rs_want[3];
	struct comm_req req[3];
	double sum = 0;
	size_t i, n = gv_counts[w->rank];
	long j, steps = 2000000;
	int ok = 1, done, q;

	memset(req, 0, sizeof req);
	for (i = 0; i < NB_N; i++) {
		ar_send[i] = x(w->rank, i);
		ar_want[i] = 15.0f + (float)i;  /* as in test_allreduce */
	}
	for (i = 0; i < n; i++)
		gv_send[i] = x(w->rank, i);
	for (i = 0; i < GV_TOTAL; i++)
		gv_recv[i] = -7.0f;
	gv_want(gv_want_);
	for (i = 0; i < RANKS * 3; i++)
		rs_send[i] = x(w->rank, i);
	for (i = 0; i < 3; i++)  /* as in test_reduce_scatter */
		rs_want[i] = 15.0f + (float)((size_t)w->rank * 3 + i);

	ok &= rc_is(w->ops->iallreduce(w, ar_send, ar_recv, NB_N, &req[0]),
	    SK_OK, "iallreduce");
	ok &= rc_is(w->ops->iallgatherv(w, gv_send, n, gv_recv, gv_counts,
	    gv_displs, &req[1]), SK_OK, "iallgatherv");
	ok &= rc_is(w->ops->ireduce_scatter(w, rs_send, rs_recv, 3, &req[2]),
	    SK_OK, "ireduce_scatter");
	/*
	 * Local work meanwhile, testing now and then so that MPI moves the
	 * collectives on: sum of 0.5 j for j < steps = 0.5 steps (steps - 1)
	 * / 2 = 999999500000, exact in a double.
	 */
	for (j = 0; j < steps; j++) {
		sum += 0.5 * (double)j;
		if (j % 100000 == 0)
			for (q = 0; q < 3; q++)
				ok &= rc_is(w->ops->test(&req[q], &done), SK_OK,
				    "test");
	}
	if (sum != 999999500000.0) {
		note("local sum %.17g, expected 999999500000", sum);
		ok = 0;
	}
	for (q = 0; q < 3; q++)
		ok &= rc_is(comm_wait(&req[q], 30.0), SK_OK, "comm_wait");
	ok &= same("iallreduce", ar_recv, ar_want, NB_N);
	ok &= same("iallgatherv", gv_recv, gv_want_, GV_TOTAL);
	ok &= same("ireduce_scatter", rs_recv, rs_want, 3);
	ok &= req[0].handle == 0 && req[1].handle == 0 && req[2].handle == 0;
	check(ok, "iallreduce, iallgatherv, ireduce_scatter overlapped with "
	    "local work");
}

static void
test_wait_prompt(struct comm *w)
{
	float send[16], recv[16], want[16];
	struct comm_req req, idle;
	double t;
	size_t i;
	int ok = 1;

	memset(&idle, 0, sizeof idle);
	for (i = 0; i < 16; i++) {
		send[i] = x(w->rank, i);
		want[i] = 15.0f + (float)i;  /* as in test_allreduce */
	}
	ok &= rc_is(w->ops->iallreduce(w, send, recv, 16, &req), SK_OK,
	    "iallreduce");
	t = now();
	ok &= rc_is(comm_wait(&req, 30.0), SK_OK, "comm_wait");
	t = now() - t;
	if (t > 1.0) {
		note("comm_wait took %.3f s for 16 floats", t);
		ok = 0;
	}
	ok &= same("recv", recv, want, 16);
	/* Done and never-started requests are done at once. */
	ok &= rc_is(comm_wait(&req, 0.0), SK_OK, "comm_wait again");
	ok &= rc_is(comm_wait(&idle, 0.0), SK_OK, "comm_wait idle");
	check(ok, "comm_wait(30 s) returns as soon as the work is done");
}

/* A split in which ranks 0 and 3 join no group (COMM_NOCOLOR) and 1 and
 * 2 form one ranked in reverse (keys -rank), which all-reduces. */
static void
test_nocolor(struct comm *w)
{
	float send[4], recv[4], want[4];
	struct comm h;
	const int in = w->rank == 1 || w->rank == 2;
	size_t i;
	int ok;

	ok = rc_is(w->ops->split(w, in ? 7 : COMM_NOCOLOR, -w->rank, "pair",
	    &h), SK_OK, "split");
	if (ok && !in)
		ok = h.ops == NULL && h.impl == NULL;
	if (ok && in) {
		ok = h.size == 2 && h.rank == 2 - w->rank && has(h.name, "pair");
		for (i = 0; i < 4; i++) {
			send[i] = x(w->rank, i);
			want[i] = x(1, i) + x(2, i);
		}
		ok &= rc_is(h.ops->allreduce(&h, send, recv, 4), SK_OK,
		    "allreduce") && same("recv", recv, want, 4);
		ok &= rc_is(h.ops->free(&h), SK_OK, "free");
	}
	check(ok, "split with COMM_NOCOLOR: ranks 1 and 2 reversed, 0 and 3 "
	    "in no group");
}

static void
test_grid_comms(struct comm *w, struct comm_grid *g)
{
	float send[6], recv[6], want[6], all[2 * 6], all_want[2 * 6];
	struct comm_req rq[2];
	char name[64];
	size_t i;
	int ok = 1, k, d = w->rank / 2, r = w->rank % 2;

	ok &= rc_is(comm_grid_split(w, 2, 2, g), SK_OK, "comm_grid_split");
	if (!ok) {
		check(0, "DP x CP split");
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	ok &= g->d == d && g->r == r && g->dp == 2 && g->cp == 2;
	ok &= g->cpc.size == 2 && g->cpc.rank == r && g->dpc.size == 2 &&
	    g->dpc.rank == d;
	snprintf(name, sizeof name, "CP group of DP rank %d", d);
	ok &= has(g->cpc.name, name);
	snprintf(name, sizeof name, "DP group of CP rank %d", r);
	ok &= has(g->dpc.name, name);
	check(ok, "2 x 2 grid: CP group (rank r) and DP group (rank d)");

	for (i = 0; i < 6; i++)
		send[i] = x(w->rank, i);
	/*
	 * CP group of DP rank d: world ranks 2d and 2d + 1, so
	 * 1.5 ((2d + 1) + (2d + 2)) + 2 * 0.25 i = 6d + 4.5 + 0.5 i.
	 */
	for (i = 0; i < 6; i++)
		want[i] = 6.0f * (float)d + 4.5f + 0.5f * (float)i;
	ok = rc_is(g->cpc.ops->allreduce(&g->cpc, send, recv, 6), SK_OK,
	    "CP allreduce") && same("recv", recv, want, 6);
	check(ok, "allreduce in the CP group");

	/* Its allgather: block k is world rank 2d + k's x. */
	for (k = 0; k < 2; k++)
		for (i = 0; i < 6; i++)
			all_want[(size_t)k * 6 + i] = x(2 * d + k, i);
	ok = rc_is(g->cpc.ops->allgather(&g->cpc, send, all, 6), SK_OK,
	    "CP allgather") && same("all", all, all_want, 12);
	check(ok, "allgather in the CP group");

	/*
	 * Both groups at once, non-blocking.  DP group of CP rank r: world
	 * ranks r and 2 + r, so 1.5 ((r + 1) + (r + 3)) + 0.5 i = 3r + 6 +
	 * 0.5 i.  The CP one runs in place on a copy of send.
	 */
	memcpy(all, send, sizeof send);
	ok = rc_is(g->dpc.ops->iallreduce(&g->dpc, send, recv, 6, &rq[0]),
	    SK_OK, "DP iallreduce");
	ok &= rc_is(g->cpc.ops->iallreduce(&g->cpc, all, all, 6, &rq[1]),
	    SK_OK, "CP iallreduce");
	ok &= rc_is(comm_wait(&rq[0], 30.0), SK_OK, "DP wait");
	ok &= rc_is(comm_wait(&rq[1], 30.0), SK_OK, "CP wait");
	ok &= same("CP", all, want, 6);
	for (i = 0; i < 6; i++)
		want[i] = 3.0f * (float)r + 6.0f + 0.5f * (float)i;
	ok &= same("DP", recv, want, 6);
	check(ok, "iallreduce in the DP and CP groups together");
}

static void
test_errors(struct comm *w, struct comm_grid *g)
{
	static const struct comm_ops future = { .version = 99, .name = "x" };
	struct comm_req rq[COMM_REQ_MAX], extra;
	struct comm_grid g2;
	struct comm fake;
	size_t counts[RANKS], big = (size_t)INT_MAX + 1;
	float one[1] = { 0 }, sums[COMM_REQ_MAX], mine[COMM_REQ_MAX];
	char part[128];
	int ok = 1, k;

	/* A count MPI cannot carry fails before any communication. */
	ok &= rc_is(w->ops->allreduce(w, one, one, big), SK_ERR_RANGE,
	    "allreduce of 2^31");
	ok &= has(err_msg(), "allreduce: ");
	ok &= has(err_msg(), "in world");
	snprintf(part, sizeof part, "rank %d of 4", w->rank);
	ok &= has(err_msg(), part);
	ok &= has(err_msg(), "count 2147483648 is above 2147483647");
	check(ok, "allreduce of 2^31 floats: SK_ERR_RANGE naming op, world and "
	    "rank");

	/* counts[rank] disagrees with this rank's count. */
	memcpy(counts, gv_counts, sizeof counts);
	counts[w->rank]++;
	ok = rc_is(w->ops->allgatherv(w, one, gv_counts[w->rank], one, counts,
	    gv_displs), SK_ERR_ARG, "allgatherv bad counts");
	ok &= has(err_msg(), "allgatherv: ");
	check(ok, "allgatherv with counts[rank] != count: SK_ERR_ARG");

	ok = rc_is(w->ops->bcast(w, one, 1, 4), SK_ERR_ARG, "bcast root 4");
	ok &= has(err_msg(), "root 4 is outside 0..3");
	check(ok, "bcast from root 4 of 4: SK_ERR_ARG");

	/* On a sub-communicator the message names the group. */
	ok = rc_is(g->cpc.ops->reduce_scatter(&g->cpc, one, one, big),
	    SK_ERR_RANGE, "CP reduce_scatter of 2^31");
	snprintf(part, sizeof part, "reduce_scatter: rank %d of 2 in CP group "
	    "of DP rank %d (world rank %d)", g->r, g->d, w->rank);
	ok &= has(err_msg(), part);
	check(ok, "error on a CP group names the group and the ranks");

	/* COMM_REQ_MAX pending requests, then one too many, then free. */
	ok = 1;
	for (k = 0; k < COMM_REQ_MAX; k++) {
		mine[k] = x(w->rank, (size_t)k);
		ok &= rc_is(w->ops->iallreduce(w, &mine[k], &sums[k], 1, &rq[k]),
		    SK_OK, "iallreduce");
	}
	ok &= rc_is(w->ops->iallreduce(w, one, one, 1, &extra), SK_ERR_RANGE,
	    "one request too many");
	ok &= extra.handle == 0;
	ok &= rc_is(w->ops->free(w), SK_ERR_ARG, "free while pending");
	ok &= has(err_msg(), "16 requests still pending");
	for (k = 0; k < COMM_REQ_MAX; k++) {
		ok &= rc_is(comm_wait(&rq[k], 30.0), SK_OK, "comm_wait");
		/* 15 + i, as in test_allreduce */
		if (sums[k] != 15.0f + (float)k) {
			note("sums[%d] = %g", k, (double)sums[k]);
			ok = 0;
		}
	}
	check(ok, "%d requests pending, the next one SK_ERR_RANGE, free "
	    "refused meanwhile", COMM_REQ_MAX);

	/* A table of another version is refused. */
	memset(&fake, 0, sizeof fake);
	fake.ops = &future;
	fake.size = RANKS;
	snprintf(fake.name, sizeof fake.name, "fake");
	ok = rc_is(comm_grid_split(&fake, 2, 2, &g2), SK_ERR_UNSUPPORTED,
	    "version 99");
	ok &= has(err_msg(), "has version 99");
	check(ok, "ops table of version 99: SK_ERR_UNSUPPORTED");
}

/*
 * A late peer: ranks 0..2 start an all-reduce that rank 3 joins only after
 * their comm_wait has timed out (0.5 s); they learn that it has through a
 * barrier on another communicator, after which the all-reduce completes.
 */
static void
test_late_peer(struct comm *w)
{
	float send[8], recv[8], want[8];
	struct comm drill;
	struct comm_req req;
	double t = 0;
	size_t i;
	int ok = 1, e;

	for (i = 0; i < 8; i++) {
		send[i] = x(w->rank, i);
		want[i] = 15.0f + (float)i;  /* as in test_allreduce */
	}
	if ((e = comm_mpi_split(w, 0, w->rank, "drill", &drill)) != SK_OK) {
		check(rc_is(e, SK_OK, "split"), "late peer");
		return;
	}
	if (w->rank != 3) {
		ok &= rc_is(w->ops->iallreduce(w, send, recv, 8, &req), SK_OK,
		    "iallreduce");
		t = now();
		ok &= rc_is(comm_wait(&req, 0.5), SK_ERR_IO, "comm_wait");
		t = now() - t;
		ok &= has(err_msg(), "iallreduce: ");
		ok &= has(err_msg(), "8 elements not done after");
		if (t < 0.5 || t > 3.0) {
			note("timed out after %.3f s, limit 0.5 s", t);
			ok = 0;
		}
		ok &= req.handle != 0;
	}
	check(ok, "a rank missing from an iallreduce: comm_wait(0.5 s) fails "
	    "with SK_ERR_IO in 0.5..3 s");
	ok = rc_is(drill.ops->barrier(&drill), SK_OK, "drill barrier");
	if (w->rank == 3)
		ok &= rc_is(w->ops->iallreduce(w, send, recv, 8, &req), SK_OK,
		    "late iallreduce");
	ok &= rc_is(comm_wait(&req, 30.0), SK_OK, "comm_wait");
	ok &= same("recv", recv, want, 8);
	ok &= rc_is(drill.ops->free(&drill), SK_OK, "free");
	check(ok, "the late rank joins and the all-reduce completes");
}

/* The drill of tests/comm-mpi.sh: exits through abort, never returns. */
static int
drill_abort(struct comm *w)
{
	float v[4] = { 1, 2, 3, 4 };
	struct comm_req req;
	int e;

	if (w->rank == 3) {
		/* A stuck peer: the others' abort ends it. */
		nap(60.0);
		return 1;
	}
	if ((e = w->ops->iallreduce(w, v, v, 4, &req)) == SK_OK)
		e = comm_wait(&req, 2.0);
	fprintf(stderr, "test_comm_mpi: %s\n", e != SK_OK ? err_msg() :
	    "the all-reduce completed without rank 3");
	fflush(stderr);
	w->ops->abort(w, 3);
	return 1;
}

int
main(int argc, char **argv)
{
	struct comm world;
	struct comm_grid g;
	int e, size = 0;

	if ((e = comm_mpi_world(&argc, &argv, &world)) != SK_OK) {
		fprintf(stderr, "test_comm_mpi: %s\n", err_msg());
		return 1;
	}
	me = world.rank;
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	if (size != RANKS) {
		if (me == 0)
			fprintf(stderr, "test_comm_mpi: run with mpirun -np %d, "
			    "not %d\n", RANKS, size);
		world.ops->abort(&world, 2);
	}
	if (argc > 1 && strcmp(argv[1], "--drill-abort") == 0)
		return drill_abort(&world);

	test_grid();
	test_world(&world);
	test_allgather(&world);
	test_allgatherv(&world);
	test_reduce_scatter(&world);
	test_allreduce(&world);
	test_barrier_bcast(&world);
	test_nonblocking(&world);
	test_wait_prompt(&world);
	test_nocolor(&world);
	test_grid_comms(&world, &g);
	test_errors(&world, &g);
	test_late_peer(&world);
	check(rc_is(comm_grid_free(&g), SK_OK, "comm_grid_free") &&
	    rc_is(world.ops->free(&world), SK_OK, "free") &&
	    world.impl == NULL, "freeing the grid and the world");
	if (me == 0)
		printf("1..%d\n", points);
	if ((e = comm_mpi_finalize()) != SK_OK) {
		fprintf(stderr, "test_comm_mpi: %s\n", err_msg());
		return 1;
	}
	return 0;
}
