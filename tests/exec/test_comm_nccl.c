/*
 * Tests of the NCCL communicator: one process over every visible device
 * (comm_nccl_world_all), one thread per device running the same sequence
 * of checks; the main thread prints one TAP line per check once every
 * thread is done.  Without a device: "1..0 # SKIP".
 *
 * Inputs: rank k contributes x(k, i) = (k + 1) * 1.5 + h(k, i) * 0.25,
 * h a hash in 0..999: random-looking multiples of 0.25 below 2^11, so
 * every float sum over at most 64 ranks is exact in any order and results
 * compare with == against sums computed here on the host.  Buffers live
 * on the device (cudaMalloc); the thread's stream is cudaStreamPerThread,
 * the CUDA backend's compute stream, which the communicator orders
 * against.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wundef"
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <cuda_runtime_api.h>
#pragma GCC diagnostic pop

#include "comm.h"
#include "comm_nccl.h"
#include "err.h"

#define MAXDEV 64
#define N 1031        /* elements per rank: not a round number */
#define SENTINEL -7.0f

enum {
	T_ALLGATHER, T_ALLGATHER_IN, T_ALLGATHERV, T_ALLGATHERV_IN,
	T_REDUCE_SCATTER, T_REDUCE_SCATTER_IN, T_ALLREDUCE, T_ALLREDUCE_IN,
	T_BARRIER, T_BCAST, T_IALLGATHERV, T_IREDUCE_SCATTER, T_IALLREDUCE,
	T_BAD_ROOT, T_HOST, T_HOST_BIG, T_WRONG_DEVICE, T_SPLIT, T_NOCOLOR,
	T_FREE, T_N
};

static const char *names[T_N] = {
	"allgather", "allgather in place", "allgatherv (unequal blocks, one "
	"empty)", "allgatherv in place", "reduce_scatter", "reduce_scatter in "
	"place (result at the front)", "allreduce", "allreduce in place",
	"barrier", "bcast from the last rank", "iallgatherv + comm_wait",
	"ireduce_scatter + comm_wait", "iallreduce + test loop",
	"bcast with a bad root fails alike on every rank (SK_ERR_ARG)",
	"host buffers (staged): allreduce in place, iallgatherv",
	"host buffers above COMM_NCCL_HOST_MAX are refused (SK_ERR_ARG)",
	"an operation on another thread's device is refused",
	"split into 2 groups (reversed keys), allreduce in each",
	"split with rank 0 in no group (COMM_NOCOLOR), allreduce in the rest",
	"free",
};

static int ndev;
static struct comm world[MAXDEV];
static char why[MAXDEV][T_N][512];  /* a thread's reason a check failed */
static int ran[T_N];                /* checks that ran (others: skipped) */

static float
x(int k, size_t i)
{
	unsigned h = (unsigned)(i * 7919u + (unsigned)k * 104729u) % 1000u;

	return (float)(k + 1) * 1.5f + (float)h * 0.25f;
}

__attribute__((format(printf, 3, 4)))
static void
note(int me, int t, const char *fmt, ...)
{
	va_list ap;

	if (why[me][t][0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(why[me][t], sizeof why[me][t], fmt, ap);
	va_end(ap);
}

/* The test's own CUDA calls: a failure is the check's. */
static int
cu(int me, int t, cudaError_t rc, const char *call)
{
	if (rc == cudaSuccess)
		return 1;
	note(me, t, "%s: %s", call, cudaGetErrorString(rc));
	return 0;
}

static int
ok(int me, int t, int rc, const char *what)
{
	if (rc == SK_OK)
		return 1;
	note(me, t, "%s: %s", what, err_msg());
	return 0;
}

static int
put(int me, int t, float *dev, const float *host, size_t n)
{
	return cu(me, t, cudaMemcpyAsync(dev, host, n * sizeof *host,
	    cudaMemcpyHostToDevice, cudaStreamPerThread), "upload");
}

static int
get(int me, int t, float *host, const float *dev, size_t n)
{
	return cu(me, t, cudaMemcpyAsync(host, dev, n * sizeof *host,
	    cudaMemcpyDeviceToHost, cudaStreamPerThread), "download") &&
	    cu(me, t, cudaStreamSynchronize(cudaStreamPerThread), "sync");
}

/* got[0..n) == want[0..n), else note the first difference. */
static void
same(int me, int t, const float *got, const float *want, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (got[i] != want[i]) {
			note(me, t, "element %zu is %g, expected %g", i,
			    (double)got[i], (double)want[i]);
			return;
		}
}

struct bufs {
	float *d0, *d1;       /* device, ndev * N each */
	float *h, *w;         /* host: result, expected */
	size_t counts[MAXDEV], displs[MAXDEV];
};

static void
fill(int k, float *h, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		h[i] = x(k, i);
}

static void
t_allgather(int me, struct bufs *b, int inplace)
{
	const int t = inplace ? T_ALLGATHER_IN : T_ALLGATHER;
	const size_t total = (size_t)ndev * N;
	float *recv = b->d1, *send;
	int k;

	for (k = 0; k < ndev; k++)
		fill(k, b->w + (size_t)k * N, N);
	fill(me, b->h, N);
	send = inplace ? recv + (size_t)me * N : b->d0;
	if (!put(me, t, send, b->h, N) ||
	    !ok(me, t, world[me].ops->allgather(&world[me], send, recv, N),
	    "allgather") || !get(me, t, b->h, recv, total))
		return;
	same(me, t, b->h, b->w, total);
}

/* Blocks: rank k sends k * 37 % 101 elements (rank 0: none) at
 * displacement k * 113 in a receive buffer prefilled with SENTINEL. */
static void
layout(struct bufs *b)
{
	int k;

	for (k = 0; k < ndev; k++) {
		b->counts[k] = (size_t)(k * 37 % 101);
		b->displs[k] = (size_t)k * 113;
	}
}

static void
t_allgatherv(int me, struct bufs *b, int inplace, int nonblocking)
{
	const int t = nonblocking ? T_IALLGATHERV : inplace ? T_ALLGATHERV_IN :
	    T_ALLGATHERV;
	const size_t total = (size_t)ndev * 113;
	struct comm_req rq = { 0 };
	float *send;
	size_t i;
	int k;

	layout(b);
	for (i = 0; i < total; i++)
		b->w[i] = SENTINEL;
	for (k = 0; k < ndev; k++)
		for (i = 0; i < b->counts[k]; i++)
			b->w[b->displs[k] + i] = x(k, i);
	for (i = 0; i < total; i++)
		b->h[i] = SENTINEL;
	if (!put(me, t, b->d1, b->h, total))
		return;
	fill(me, b->h, b->counts[me]);
	send = inplace ? b->d1 + b->displs[me] : b->d0;
	if (!put(me, t, send, b->h, b->counts[me]))
		return;
	if (nonblocking) {
		if (!ok(me, t, world[me].ops->iallgatherv(&world[me], send,
		    b->counts[me], b->d1, b->counts, b->displs, &rq),
		    "iallgatherv") || !ok(me, t, comm_wait(&rq, 60), "comm_wait"))
			return;
	} else if (!ok(me, t, world[me].ops->allgatherv(&world[me], send,
	    b->counts[me], b->d1, b->counts, b->displs), "allgatherv"))
		return;
	if (get(me, t, b->h, b->d1, total))
		same(me, t, b->h, b->w, total);
}

/* Rank me's result block: sum over k of x(k, me * N + i). */
static void
t_reduce_scatter(int me, struct bufs *b, int inplace, int nonblocking)
{
	const int t = nonblocking ? T_IREDUCE_SCATTER : inplace ?
	    T_REDUCE_SCATTER_IN : T_REDUCE_SCATTER;
	const size_t total = (size_t)ndev * N;
	struct comm_req rq = { 0 };
	float *recv = inplace ? b->d0 : b->d1;
	size_t i;
	int k;

	for (i = 0; i < N; i++) {
		b->w[i] = 0;
		for (k = 0; k < ndev; k++)
			b->w[i] += x(k, (size_t)me * N + i);
	}
	fill(me, b->h, total);
	if (!put(me, t, b->d0, b->h, total))
		return;
	if (nonblocking) {
		if (!ok(me, t, world[me].ops->ireduce_scatter(&world[me], b->d0,
		    recv, N, &rq), "ireduce_scatter") ||
		    !ok(me, t, comm_wait(&rq, 60), "comm_wait"))
			return;
	} else if (!ok(me, t, world[me].ops->reduce_scatter(&world[me], b->d0,
	    recv, N), "reduce_scatter"))
		return;
	if (get(me, t, b->h, recv, N))
		same(me, t, b->h, b->w, N);
}

static void
t_allreduce(int me, struct bufs *b, int inplace, int nonblocking)
{
	const int t = nonblocking ? T_IALLREDUCE : inplace ? T_ALLREDUCE_IN :
	    T_ALLREDUCE;
	struct comm_req rq = { 0 };
	float *recv = inplace ? b->d0 : b->d1;
	size_t i, polls = 0;
	int k, done = 0;

	for (i = 0; i < N; i++) {
		b->w[i] = 0;
		for (k = 0; k < ndev; k++)
			b->w[i] += x(k, i);
	}
	fill(me, b->h, N);
	if (!put(me, t, b->d0, b->h, N))
		return;
	if (nonblocking) {
		if (!ok(me, t, world[me].ops->iallreduce(&world[me], b->d0, recv,
		    N, &rq), "iallreduce"))
			return;
		while (!done) {
			if (!ok(me, t, world[me].ops->test(&rq, &done), "test"))
				return;
			if (++polls > 100000000) {
				note(me, t, "not done after %zu tests", polls);
				return;
			}
		}
		if (rq.handle != 0) {
			note(me, t, "request not released after completion");
			return;
		}
	} else if (!ok(me, t, world[me].ops->allreduce(&world[me], b->d0, recv,
	    N), "allreduce"))
		return;
	if (get(me, t, b->h, recv, N))
		same(me, t, b->h, b->w, N);
}

static void
t_bcast(int me, struct bufs *b)
{
	const int root = ndev - 1;

	fill(root, b->w, N);
	fill(me, b->h, N);
	if (put(me, T_BCAST, b->d0, b->h, N) &&
	    ok(me, T_BCAST, world[me].ops->bcast(&world[me], b->d0, N, root),
	    "bcast") && get(me, T_BCAST, b->h, b->d0, N))
		same(me, T_BCAST, b->h, b->w, N);
	if (world[me].ops->bcast(&world[me], b->d0, N, ndev) != SK_ERR_ARG ||
	    strstr(err_msg(), "root") == NULL)
		note(me, T_BAD_ROOT, "bcast to root %d: %s", ndev, err_msg());
}

/* Small host buffers, as exec_new's agreement sends. */
static void
t_host(int me)
{
	const int t = T_HOST;
	float v[9], w[9], g[MAXDEV * 3 + 2], gw[MAXDEV * 3 + 2];
	size_t counts[MAXDEV], displs[MAXDEV], i;
	struct comm_req rq = { 0 };
	int k;

	for (i = 0; i < 9; i++) {
		v[i] = x(me, i);
		w[i] = 0;
		for (k = 0; k < ndev; k++)
			w[i] += x(k, i);
	}
	if (ok(me, t, world[me].ops->allreduce(&world[me], v, v, 9),
	    "allreduce"))
		same(me, t, v, w, 9);
	/* Rank k's 3 elements at 3 k + 1; the first and last stay. */
	for (i = 0; i < (size_t)ndev * 3 + 2; i++)
		g[i] = gw[i] = SENTINEL;
	for (k = 0; k < ndev; k++) {
		counts[k] = 3;
		displs[k] = (size_t)k * 3 + 1;
		for (i = 0; i < 3; i++)
			gw[displs[k] + i] = x(k, i);
	}
	for (i = 0; i < 3; i++)
		v[i] = x(me, i);
	if (ok(me, t, world[me].ops->iallgatherv(&world[me], v, 3, g, counts,
	    displs, &rq), "iallgatherv") &&
	    ok(me, t, comm_wait(&rq, 60), "comm_wait"))
		same(me, t, g, gw, (size_t)ndev * 3 + 2);
}

static void
t_host_big(int me, struct bufs *b)
{
	if (world[me].ops->allreduce(&world[me], b->h, b->h,
	    COMM_NCCL_HOST_MAX + 1) != SK_ERR_ARG ||
	    strstr(err_msg(), "host") == NULL)
		note(me, T_HOST_BIG, "allreduce of %d host floats: %s",
		    COMM_NCCL_HOST_MAX + 1, err_msg());
}

static void
t_split(int me, struct bufs *b)
{
	const int t = T_SPLIT, color = me % 2;
	const int size = (ndev - color + 1) / 2;
	struct comm g;
	size_t i;
	int k, want;

	if (!ok(me, t, world[me].ops->split(&world[me], color, -me, "half",
	    &g), "split"))
		return;
	/* Keys -me: the group's ranks in reverse order of world rank, so
	 * me's rank is the count of its color's ranks above it. */
	want = (ndev - 1 - me) / 2;
	if (g.rank != want || g.size != size)
		note(me, t, "rank %d of %d, expected %d of %d", g.rank, g.size,
		    want, size);
	for (i = 0; i < N; i++)
		b->w[i] = 0;
	for (k = color; k < ndev; k += 2)
		for (i = 0; i < N; i++)
			b->w[i] += x(k, i);
	fill(me, b->h, N);
	if (put(me, t, b->d0, b->h, N) &&
	    ok(me, t, g.ops->allreduce(&g, b->d0, b->d0, N), "allreduce") &&
	    get(me, t, b->h, b->d0, N))
		same(me, t, b->h, b->w, N);
	ok(me, t, g.ops->free(&g), "free");
}

static void
t_nocolor(int me, struct bufs *b)
{
	const int t = T_NOCOLOR;
	struct comm g;
	size_t i;
	int k;

	if (!ok(me, t, world[me].ops->split(&world[me], me == 0 ? COMM_NOCOLOR :
	    3, me, "rest", &g), "split"))
		return;
	if (me == 0) {
		if (g.ops != NULL || g.impl != NULL)
			note(me, t, "rank 0 got a communicator");
		return;
	}
	if (g.rank != me - 1 || g.size != ndev - 1)
		note(me, t, "rank %d of %d, expected %d of %d", g.rank, g.size,
		    me - 1, ndev - 1);
	for (i = 0; i < N; i++)
		b->w[i] = 0;
	for (k = 1; k < ndev; k++)
		for (i = 0; i < N; i++)
			b->w[i] += x(k, i);
	fill(me, b->h, N);
	if (put(me, t, b->d0, b->h, N) &&
	    ok(me, t, g.ops->allreduce(&g, b->d0, b->d0, N), "allreduce") &&
	    get(me, t, b->h, b->d0, N))
		same(me, t, b->h, b->w, N);
	ok(me, t, g.ops->free(&g), "free");
}

static void *
worker(void *arg)
{
	const int me = (int)(intptr_t)arg;
	struct bufs b;
	const size_t n = (size_t)ndev * N;

	memset(&b, 0, sizeof b);
	if (!cu(me, T_ALLGATHER, cudaSetDevice(me), "cudaSetDevice") ||
	    !cu(me, T_ALLGATHER, cudaMalloc((void **)&b.d0, n * sizeof(float)),
	    "cudaMalloc") ||
	    !cu(me, T_ALLGATHER, cudaMalloc((void **)&b.d1, n * sizeof(float)),
	    "cudaMalloc") ||
	    (b.h = malloc(n * sizeof(float))) == NULL ||
	    (b.w = malloc(n * sizeof(float))) == NULL) {
		note(me, T_ALLGATHER, "setup failed");
		goto out;
	}
	t_allgather(me, &b, 0);
	t_allgather(me, &b, 1);
	t_allgatherv(me, &b, 0, 0);
	t_allgatherv(me, &b, 1, 0);
	t_reduce_scatter(me, &b, 0, 0);
	t_reduce_scatter(me, &b, 1, 0);
	t_allreduce(me, &b, 0, 0);
	t_allreduce(me, &b, 1, 0);
	ok(me, T_BARRIER, world[me].ops->barrier(&world[me]), "barrier");
	t_bcast(me, &b);
	t_allgatherv(me, &b, 0, 1);
	t_reduce_scatter(me, &b, 0, 1);
	t_allreduce(me, &b, 0, 1);
	t_host(me);
	t_host_big(me, &b);
	if (ndev >= 2) {
		/* Refused before any communication: no peer is involved. */
		int d = (me + 1) % ndev;

		if (world[d].ops->barrier(&world[d]) != SK_ERR_ARG ||
		    strstr(err_msg(), "device") == NULL)
			note(me, T_WRONG_DEVICE, "barrier on device %d's "
			    "communicator from device %d: %s", d, me, err_msg());
		t_split(me, &b);
		t_nocolor(me, &b);
	}
	ok(me, T_FREE, world[me].ops->free(&world[me]), "free");
out:
	cudaFree(b.d0);
	cudaFree(b.d1);
	free(b.h);
	free(b.w);
	return NULL;
}

int
main(void)
{
	pthread_t th[MAXDEV];
	int k, t, n = 0, failed = 0;

	if (comm_nccl_device_count(&ndev) != SK_OK) {
		printf("1..0 # SKIP %s\n", err_msg());
		return 0;
	}
	if (ndev == 0) {
		printf("1..0 # SKIP no CUDA device\n");
		return 0;
	}
	if (ndev > MAXDEV)
		ndev = MAXDEV;
	/* A hung collective must fail the test, not stall the suite. */
	alarm(300);
	for (t = 0; t < T_N; t++)
		ran[t] = ndev >= 2 || (t != T_WRONG_DEVICE && t != T_SPLIT &&
		    t != T_NOCOLOR);
	printf("1..%d\n# %d devices\n", T_N, ndev);
	if (comm_nccl_world_all(ndev, world) != SK_OK) {
		printf("Bail out! comm_nccl_world_all: %s\n", err_msg());
		return 1;
	}
	for (k = 0; k < ndev; k++)
		if (pthread_create(&th[k], NULL, worker, (void *)(intptr_t)k) != 0) {
			printf("Bail out! pthread_create failed\n");
			return 1;
		}
	for (k = 0; k < ndev; k++)
		pthread_join(th[k], NULL);
	for (t = 0; t < T_N; t++) {
		if (!ran[t]) {
			printf("ok %d - %s # SKIP needs 2 devices\n", ++n, names[t]);
			continue;
		}
		for (k = 0; k < ndev && why[k][t][0] == '\0'; k++)
			;
		printf("%sok %d - %s\n", k < ndev ? "not " : "", ++n, names[t]);
		for (k = 0; k < ndev; k++)
			if (why[k][t][0] != '\0') {
				printf("# rank %d: %s\n", k, why[k][t]);
				failed = 1;
			}
	}
	return failed;
}
