/* comm_nccl: the NCCL communicator's operations (see comm_nccl.h); with
 * comm_nccl_world.c, which makes communicators, the only files that see
 * nccl.h.  It knows MPI only through the MPI world's ops table. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "comm_nccl_int.h"

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Sleep *ns and double it up to the cap. */
static void
nap(long *ns)
{
	struct timespec t = { 0, *ns };

	while (nanosleep(&t, &t) != 0 && errno == EINTR)
		;
	*ns = *ns * 2 > POLL_MAX_NS ? POLL_MAX_NS : *ns * 2;
}

/* Where c is, or what is being made, for messages. */
static void
where(const struct comm *c, const char *fallback, char *buf, size_t n)
{
	if (c != NULL)
		comm_where(c, buf, n);
	else
		snprintf(buf, n, "%s", fallback);
}

/* Record the failure of CUDA call `call` inside op on c (NULL: on what
 * names). */
int
comm_nccl_cuda_fail(const struct comm *c, const char *what, const char *op,
    const char *call, cudaError_t rc)
{
	char w[160];

	where(c, what, w, sizeof w);
	return err_set(SK_ERR_IO, "%s: %s: %s: %s", op, w, call,
	    cudaGetErrorString(rc));
}

/* Record the failure of NCCL call `call` (result rc) inside op. */
int
comm_nccl_fail(const struct comm *c, const char *what, ncclComm_t nc,
    const char *op, const char *call, ncclResult_t rc)
{
	const char *last = ncclGetLastError(nc);
	char w[160];

	where(c, what, w, sizeof w);
	if (last != NULL && last[0] != '\0')
		return err_set(SK_ERR_IO, "%s: %s: %s: %s (%s)", op, w, call,
		    ncclGetErrorString(rc), last);
	return err_set(SK_ERR_IO, "%s: %s: %s: %s", op, w, call,
	    ncclGetErrorString(rc));
}

/*
 * Finish NCCL call `call` on nc that returned rc: a non-blocking
 * communicator may leave it in progress, and no other call may be made
 * on nc (nor work queued on its streams) until its state leaves
 * ncclInProgress.  Polls for at most timeout seconds (< 0: no limit).
 */
int
comm_nccl_settle(const struct comm *c, const char *what, ncclComm_t nc,
    double timeout, const char *op, const char *call, ncclResult_t rc)
{
	char w[160];
	long ns = POLL_FIRST_NS;
	double start = now();
	ncclResult_t st = rc, q;

	while (st == ncclInProgress) {
		if (timeout >= 0 && now() - start >= timeout) {
			where(c, what, w, sizeof w);
			return err_set(SK_ERR_IO, "%s: %s: %s still in progress "
			    "after %.3g s: a peer has failed or is stuck; abort the "
			    "job", op, w, call, timeout);
		}
		nap(&ns);
		if ((q = ncclCommGetAsyncError(nc, &st)) != ncclSuccess)
			return comm_nccl_fail(c, what, nc, op, "ncclCommGetAsyncError", q);
	}
	if (st != ncclSuccess)
		return comm_nccl_fail(c, what, nc, op, call, st);
	return SK_OK;
}

/* The NCCL state of c, or NULL after recording why there is none or why
 * the calling thread may not use it (another device is current). */
static struct impl *
impl_of(const struct comm *c, const char *op)
{
	struct impl *x;
	cudaError_t rc;
	int d;

	if (comm_check(c) != SK_OK) {
		err_prefix(op);
		return NULL;
	}
	if ((x = c->impl) == NULL) {
		comm_err(c, op, SK_ERR_ARG, "communicator freed or not made");
		return NULL;
	}
	if ((rc = cudaGetDevice(&d)) != cudaSuccess) {
		comm_nccl_cuda_fail(c, NULL, op, "cudaGetDevice", rc);
		return NULL;
	}
	if (d != x->device) {
		comm_err(c, op, SK_ERR_ARG, "called on a thread bound to device %d; the "
		    "communicator's is device %d", d, x->device);
		return NULL;
	}
	return x;
}

static int
check_buf(const struct comm *c, const char *op, const char *what,
    const void *buf, size_t count)
{
	if (buf == NULL && count > 0)
		return comm_err(c, op, SK_ERR_ARG, "%s buffer is NULL for %zu "
		    "elements", what, count);
	return SK_OK;
}

/* Order the communication stream after the work the calling thread has
 * queued on its compute stream so far. */
static int
after_compute(const struct comm *c, struct impl *x, const char *op)
{
	cudaError_t rc;

	if ((rc = cudaEventRecord(x->ready, cudaStreamPerThread)) !=
	    cudaSuccess)
		return comm_nccl_cuda_fail(c, NULL, op, "cudaEventRecord", rc);
	if ((rc = cudaStreamWaitEvent(x->stream, x->ready, 0)) != cudaSuccess)
		return comm_nccl_cuda_fail(c, NULL, op, "cudaStreamWaitEvent", rc);
	return SK_OK;
}

/* *done = whether ev has happened; an asynchronous NCCL error (a peer
 * gone, a network failure) while it has not is SK_ERR_IO. */
static int
poll_event(const struct comm *c, struct impl *x, const char *op,
    cudaEvent_t ev, int *done)
{
	ncclResult_t st, q;
	cudaError_t rc;

	*done = 0;
	rc = cudaEventQuery(ev);
	if (rc == cudaSuccess) {
		*done = 1;
		return SK_OK;
	}
	if (rc != cudaErrorNotReady)
		return comm_nccl_cuda_fail(c, NULL, op, "cudaEventQuery", rc);
	if ((q = ncclCommGetAsyncError(x->nc, &st)) != ncclSuccess)
		return comm_nccl_fail(c, NULL, x->nc, op, "ncclCommGetAsyncError", q);
	if (st != ncclSuccess && st != ncclInProgress)
		return comm_nccl_fail(c, NULL, x->nc, op, "asynchronous error", st);
	return SK_OK;
}

/* Wait, polling, for ev; without limit, as blocking MPI collectives, but
 * an asynchronous NCCL error ends the wait. */
static int
drain(const struct comm *c, struct impl *x, const char *op, cudaEvent_t ev)
{
	long ns = POLL_FIRST_NS;
	int e, done;

	for (;;) {
		if ((e = poll_event(c, x, op, ev, &done)) != SK_OK || done)
			return e;
		nap(&ns);
	}
}

/*
 * A collective's arguments (those of its comm_ops entry) and its enqueue
 * step on x->stream, after after_compute; op names it in messages.
 */
enum kind { K_ALLGATHER, K_ALLGATHERV, K_REDUCE_SCATTER, K_ALLREDUCE,
	K_BCAST };

struct args {
	enum kind kind;
	const float *send;
	float *recv;
	size_t count;
	const size_t *counts, *displs;  /* allgatherv */
	int root;                        /* bcast */
};

static int
enqueue(const struct comm *c, struct impl *x, const char *op,
    const struct args *a)
{
	const char *call = "?";
	ncclResult_t rc = ncclSuccess, r2;
	cudaError_t cr;
	int e, k;

	switch (a->kind) {
	case K_ALLGATHER:
		if (a->count == 0)
			return SK_OK;
		call = "ncclAllGather";
		rc = ncclAllGather(a->send, a->recv, a->count, ncclFloat32, x->nc,
		    x->stream);
		break;
	case K_ALLGATHERV:
		/* NCCL has no all-gather-v: one broadcast per rank into its
		 * block, grouped so that they run as one operation.  The group
		 * is always closed, even after a failed broadcast. */
		call = "ncclGroupStart";
		if ((rc = ncclGroupStart()) != ncclSuccess)
			break;
		for (k = 0; k < c->size && (rc == ncclSuccess ||
		    rc == ncclInProgress); k++)
			if (a->counts[k] > 0) {
				call = "ncclBroadcast";
				rc = ncclBroadcast(a->send, a->recv + a->displs[k],
				    a->counts[k], ncclFloat32, k, x->nc, x->stream);
			}
		r2 = ncclGroupEnd();
		if (rc == ncclSuccess || rc == ncclInProgress) {
			call = "ncclGroupEnd";
			rc = r2;
		}
		break;
	case K_REDUCE_SCATTER:
		if (a->count == 0)
			return SK_OK;
		call = "ncclReduceScatter";
		if (a->send != a->recv) {
			rc = ncclReduceScatter(a->send, a->recv, a->count, ncclFloat32,
			    ncclSum, x->nc, x->stream);
			break;
		}
		/* In place: comm.h wants the result at the front, NCCL's
		 * in-place form leaves it in this rank's block; the two do not
		 * overlap when rank > 0 (count <= rank * count). */
		rc = ncclReduceScatter(a->send, a->recv + (size_t)c->rank *
		    a->count, a->count, ncclFloat32, ncclSum, x->nc, x->stream);
		if ((e = comm_nccl_settle(c, NULL, x->nc, x->timeout, op, call, rc)) != SK_OK)
			return e;
		if (c->rank > 0 && (cr = cudaMemcpyAsync(a->recv, a->recv +
		    (size_t)c->rank * a->count, a->count * sizeof(float),
		    cudaMemcpyDeviceToDevice, x->stream)) != cudaSuccess)
			return comm_nccl_cuda_fail(c, NULL, op, "cudaMemcpyAsync", cr);
		return SK_OK;
	case K_ALLREDUCE:
		if (a->count == 0)
			return SK_OK;
		call = "ncclAllReduce";
		rc = ncclAllReduce(a->send, a->recv, a->count, ncclFloat32,
		    ncclSum, x->nc, x->stream);
		break;
	case K_BCAST:
		if (a->count == 0)
			return SK_OK;
		call = "ncclBroadcast";
		rc = ncclBroadcast(a->recv, a->recv, a->count, ncclFloat32,
		    a->root, x->nc, x->stream);
		break;
	}
	return comm_nccl_settle(c, NULL, x->nc, x->timeout, op, call, rc);
}

/* Check a's arguments against c before any communication. */
static int
check_args(const struct comm *c, const char *op, const struct args *a)
{
	int e, k;

	switch (a->kind) {
	case K_ALLGATHER:
		if (a->count > SIZE_MAX / sizeof(float) / (size_t)c->size)
			return comm_err(c, op, SK_ERR_RANGE, "%d blocks of %zu elements "
			    "overflow", c->size, a->count);
		if ((e = check_buf(c, op, "send", a->send, a->count)) != SK_OK)
			return e;
		return check_buf(c, op, "receive", a->recv, a->count);
	case K_ALLGATHERV:
		if ((e = check_buf(c, op, "send", a->send, a->count)) != SK_OK)
			return e;
		if (a->counts == NULL || a->displs == NULL || a->recv == NULL)
			return comm_err(c, op, SK_ERR_ARG, "NULL %s",
			    a->counts == NULL ? "counts" : a->displs == NULL ?
			    "displs" : "receive buffer");
		if (a->counts[c->rank] != a->count)
			return comm_err(c, op, SK_ERR_ARG, "this rank sends %zu elements "
			    "but counts[%d] is %zu", a->count, c->rank,
			    a->counts[c->rank]);
		for (k = 0; k < c->size; k++)
			if (a->displs[k] > SIZE_MAX / sizeof(float) - a->counts[k])
				return comm_err(c, op, SK_ERR_RANGE, "rank %d's block (count "
				    "%zu at displacement %zu) overflows", k,
				    a->counts[k], a->displs[k]);
		return SK_OK;
	case K_REDUCE_SCATTER:
		if (a->count > SIZE_MAX / sizeof(float) / (size_t)c->size)
			return comm_err(c, op, SK_ERR_RANGE, "%d blocks of %zu elements "
			    "overflow", c->size, a->count);
		if ((e = check_buf(c, op, "receive", a->recv, a->count)) != SK_OK)
			return e;
		return check_buf(c, op, "send", a->send, a->count *
		    (size_t)c->size);
	case K_ALLREDUCE:
		if ((e = check_buf(c, op, "send", a->send, a->count)) != SK_OK)
			return e;
		return check_buf(c, op, "receive", a->recv, a->count);
	case K_BCAST:
		if ((e = check_buf(c, op, "buffer", a->recv, a->count)) != SK_OK)
			return e;
		if (a->root < 0 || a->root >= c->size)
			return comm_err(c, op, SK_ERR_ARG, "root %d is outside 0..%d",
			    a->root, c->size - 1);
		return SK_OK;
	}
	return SK_OK;
}

/* *host = whether p (not NULL) is host memory, which NCCL cannot use. */
static int
is_host(const struct comm *c, const char *op, const void *p, int *host)
{
	struct cudaPointerAttributes at;
	cudaError_t rc;

	if ((rc = cudaPointerGetAttributes(&at, p)) != cudaSuccess)
		return comm_nccl_cuda_fail(c, NULL, op, "cudaPointerGetAttributes", rc);
	*host = at.type == cudaMemoryTypeUnregistered ||
	    at.type == cudaMemoryTypeHost;
	return SK_OK;
}

static int
upload(const struct comm *c, struct impl *x, const char *op, float *dev,
    const float *src, size_t n)
{
	cudaError_t rc;

	if (n > 0 && (rc = cudaMemcpyAsync(dev, src, n * sizeof *dev,
	    cudaMemcpyHostToDevice, x->stream)) != cudaSuccess)
		return comm_nccl_cuda_fail(c, NULL, op, "cudaMemcpyAsync", rc);
	return SK_OK;
}

/*
 * Host buffers (small messages: setup agreements) go through stage, a
 * device region of COMM_NCCL_HOST_MAX floats: *d gets a's arguments on
 * the device (a's own when they are device memory), the inputs are copied
 * in on the comm stream, and *b says what to copy back once done.
 */
static int
stage_in(const struct comm *c, struct impl *x, const char *op,
    const struct args *a, float *stage, struct args *d, struct back *b)
{
	const size_t size = (size_t)c->size, r = (size_t)c->rank;
	size_t need = a->count, k;
	int e, hs = -1, hr = -1;

	*d = *a;
	memset(b, 0, sizeof *b);
	if (a->send != NULL && (e = is_host(c, op, a->send, &hs)) != SK_OK)
		return e;
	if (a->recv != NULL && (e = is_host(c, op, a->recv, &hr)) != SK_OK)
		return e;
	if (hs != 1 && hr != 1)
		return SK_OK;
	if (hs == 0 || hr == 0)
		return comm_err(c, op, SK_ERR_ARG, "one buffer is host memory, the "
		    "other device memory");
	if (a->kind == K_ALLGATHER || a->kind == K_REDUCE_SCATTER)
		need = size * a->count;
	if (a->kind == K_ALLGATHERV)
		for (need = 0, k = 0; k < size; k++)
			if (a->displs[k] + a->counts[k] > need)
				need = a->displs[k] + a->counts[k];
	if (need > COMM_NCCL_HOST_MAX)
		return comm_err(c, op, SK_ERR_ARG, "host buffers of %zu elements; the "
		    "most is %d (use device memory)", need, COMM_NCCL_HOST_MAX);
	d->send = stage;
	d->recv = stage;
	b->to = a->recv;
	b->from = stage;
	b->n = need;
	switch (a->kind) {
	case K_ALLGATHER:
		d->send = stage + r * a->count;
		return upload(c, x, op, stage + r * a->count, a->send, a->count);
	case K_ALLGATHERV:
		/* recv's elements outside the blocks come back as they were. */
		d->send = stage + a->displs[r];
		if ((e = upload(c, x, op, stage, a->recv, need)) != SK_OK)
			return e;
		return upload(c, x, op, stage + a->displs[r], a->send, a->count);
	case K_REDUCE_SCATTER:
		b->n = a->count;
		return upload(c, x, op, stage, a->send, need);
	case K_ALLREDUCE:
	case K_BCAST:
		return upload(c, x, op, stage, a->send, a->count);
	}
	return SK_OK;
}

/* Copy a finished operation's staged result back to the host (on a
 * stream of its own: the data is final, and later operations queued on
 * the communication stream may wait for peers). */
static int
stage_out(const struct comm *c, struct impl *x, const char *op,
    const struct back *b)
{
	cudaError_t rc;

	if (b->n == 0)
		return SK_OK;
	if ((rc = cudaMemcpyAsync(b->to, b->from, b->n * sizeof *b->to,
	    cudaMemcpyDeviceToHost, x->copy)) != cudaSuccess)
		return comm_nccl_cuda_fail(c, NULL, op, "cudaMemcpyAsync", rc);
	if ((rc = cudaStreamSynchronize(x->copy)) != cudaSuccess)
		return comm_nccl_cuda_fail(c, NULL, op, "cudaStreamSynchronize", rc);
	return SK_OK;
}

/* A blocking collective: ordered after compute, waited for. */
static int
blocking(struct comm *c, const char *op, const struct args *a)
{
	struct impl *x;
	struct args d;
	struct back b;
	cudaError_t rc;
	int e;

	if ((x = impl_of(c, op)) == NULL)
		return err_code();
	if ((e = check_args(c, op, a)) != SK_OK ||
	    (e = after_compute(c, x, op)) != SK_OK ||
	    (e = stage_in(c, x, op, a, x->stage + (size_t)COMM_REQ_MAX *
	    COMM_NCCL_HOST_MAX, &d, &b)) != SK_OK ||
	    (e = enqueue(c, x, op, &d)) != SK_OK)
		return e;
	if ((rc = cudaEventRecord(x->done, x->stream)) != cudaSuccess)
		return comm_nccl_cuda_fail(c, NULL, op, "cudaEventRecord", rc);
	if ((e = drain(c, x, op, x->done)) != SK_OK)
		return e;
	return stage_out(c, x, op, &b);
}

/* A non-blocking start: as blocking, with a slot's event to test. */
static int
start(struct comm *c, const char *op, const struct args *a, size_t count,
    struct comm_req *req)
{
	struct impl *x;
	struct slot *s;
	struct args d;
	cudaError_t rc;
	int e, k;

	req->handle = 0;
	if ((x = impl_of(c, op)) == NULL)
		return err_code();
	if ((k = comm_slots_take(&x->slots, c, op)) < 0)
		return err_code();
	s = &x->slot[k];
	if ((e = check_args(c, op, a)) != SK_OK ||
	    (e = after_compute(c, x, op)) != SK_OK ||
	    (e = stage_in(c, x, op, a, s->stage, &d, &s->back)) != SK_OK ||
	    (e = enqueue(c, x, op, &d)) != SK_OK)
		return e;
	if ((rc = cudaEventRecord(s->done, x->stream)) != cudaSuccess)
		return comm_nccl_cuda_fail(c, NULL, op, "cudaEventRecord", rc);
	comm_slots_begin(&x->slots, k, c, op, count, req);
	return SK_OK;
}

static int
allgather(struct comm *c, const float *send, float *recv, size_t count)
{
	struct args a = { K_ALLGATHER, send, recv, count, NULL, NULL, 0 };

	return blocking(c, "allgather", &a);
}

static int
allgatherv(struct comm *c, const float *send, size_t count, float *recv,
    const size_t *counts, const size_t *displs)
{
	struct args a = { K_ALLGATHERV, send, recv, count, counts, displs, 0 };

	return blocking(c, "allgatherv", &a);
}

static int
reduce_scatter(struct comm *c, const float *send, float *recv, size_t count)
{
	struct args a = { K_REDUCE_SCATTER, send, recv, count, NULL, NULL, 0 };

	return blocking(c, "reduce_scatter", &a);
}

static int
allreduce(struct comm *c, const float *send, float *recv, size_t count)
{
	struct args a = { K_ALLREDUCE, send, recv, count, NULL, NULL, 0 };

	return blocking(c, "allreduce", &a);
}

/* A sum of one float over the ranks, waited for: every rank has arrived
 * (and every rank's earlier work on its comm stream is done). */
static int
barrier(struct comm *c)
{
	struct impl *x;
	struct args a = { K_ALLREDUCE, NULL, NULL, 1, NULL, NULL, 0 };

	if ((x = impl_of(c, "barrier")) == NULL)
		return err_code();
	a.send = x->one;
	a.recv = x->one;
	return blocking(c, "barrier", &a);
}

static int
bcast(struct comm *c, float *buf, size_t count, int root)
{
	struct args a = { K_BCAST, buf, buf, count, NULL, NULL, root };

	return blocking(c, "bcast", &a);
}

static int
iallgatherv(struct comm *c, const float *send, size_t count, float *recv,
    const size_t *counts, const size_t *displs, struct comm_req *req)
{
	struct args a = { K_ALLGATHERV, send, recv, count, counts, displs, 0 };

	return start(c, "iallgatherv", &a, count, req);
}

static int
ireduce_scatter(struct comm *c, const float *send, float *recv, size_t count,
    struct comm_req *req)
{
	struct args a = { K_REDUCE_SCATTER, send, recv, count, NULL, NULL, 0 };

	return start(c, "ireduce_scatter", &a, count * (size_t)c->size, req);
}

static int
iallreduce(struct comm *c, const float *send, float *recv, size_t count,
    struct comm_req *req)
{
	struct args a = { K_ALLREDUCE, send, recv, count, NULL, NULL, 0 };

	return start(c, "iallreduce", &a, count, req);
}

/* The slot req names, or NULL after recording why it names none. */
static struct slot *
slot_of(struct comm_req *req, struct impl **xp, const char *op)
{
	int k;

	if ((*xp = impl_of(req->comm, op)) == NULL ||
	    (k = comm_slots_of(&(*xp)->slots, req, op)) < 0)
		return NULL;
	return &(*xp)->slot[k];
}

static int
req_test(struct comm_req *req, int *done)
{
	struct impl *x;
	struct slot *s;
	cudaError_t rc;
	int e;

	*done = 0;
	if (req->handle == 0) {
		*done = 1;
		return SK_OK;
	}
	if ((s = slot_of(req, &x, "test")) == NULL)
		return err_code();
	if ((e = poll_event(req->comm, x, req->op, s->done, done)) != SK_OK ||
	    !*done)
		return e;
	if ((e = stage_out(req->comm, x, req->op, &s->back)) != SK_OK) {
		*done = 0;
		return e;
	}
	/* Later compute on this thread's stream sees the data. */
	if ((rc = cudaStreamWaitEvent(cudaStreamPerThread, s->done, 0)) !=
	    cudaSuccess) {
		*done = 0;
		return comm_nccl_cuda_fail(req->comm, NULL, req->op, "cudaStreamWaitEvent",
		    rc);
	}
	comm_slots_end(&x->slots, req);
	return SK_OK;
}

static int
req_wait(struct comm_req *req)
{
	long ns = POLL_FIRST_NS;
	int e, done;

	for (;;) {
		if ((e = req_test(req, &done)) != SK_OK || done)
			return e;
		nap(&ns);
	}
}

/* Release x's CUDA resources (on its device, current). */
void
comm_nccl_destroy(struct impl *x)
{
	int k;

	for (k = 0; k < COMM_REQ_MAX; k++)
		if (x->slot[k].done != NULL)
			cudaEventDestroy(x->slot[k].done);
	if (x->done != NULL)
		cudaEventDestroy(x->done);
	if (x->ready != NULL)
		cudaEventDestroy(x->ready);
	if (x->stream != NULL)
		cudaStreamDestroy(x->stream);
	if (x->copy != NULL)
		cudaStreamDestroy(x->copy);
	cudaFree(x->one);
	cudaFree(x->stage);
	free(x);
}


static int
split(struct comm *c, int color, int key, const char *name, struct comm *out)
{
	struct impl *x;
	ncclComm_t nn;
	ncclResult_t nr;
	int e;

	if ((x = impl_of(c, "split")) == NULL)
		return err_code();
	if (color < 0 && color != COMM_NOCOLOR)
		return comm_err(c, "split", SK_ERR_ARG, "color %d for \"%s\" is "
		    "negative", color, name);
	/*
	 * On a non-blocking parent the split runs on after the call and
	 * reports in the parent's state; the new communicator is written
	 * when it completes (NULL until then, and for NCCL_SPLIT_NOCOLOR).
	 * A NULL config: it inherits c's (non-blocking).
	 */
	x->child = NULL;
	nr = ncclCommSplit(x->nc, color == COMM_NOCOLOR ? NCCL_SPLIT_NOCOLOR :
	    color, key, &x->child, NULL);
	if ((e = comm_nccl_settle(c, NULL, x->nc, x->timeout, "split",
	    "ncclCommSplit", comm_nccl_begun(nr))) != SK_OK)
		return e;
	nn = x->child;
	x->child = NULL;
	memset(out, 0, sizeof *out);
	if (color == COMM_NOCOLOR)
		return SK_OK;
	if (nn == NULL)
		return comm_nccl_fail(c, NULL, x->nc, "split", "ncclCommSplit",
		    ncclInternalError);
	if ((e = comm_nccl_settle(c, NULL, nn, x->timeout, "split", "ncclCommSplit",
	    ncclInProgress)) != SK_OK ||
	    (e = comm_nccl_make(nn, x->device, name, c->world_rank, x->mpi, x->timeout,
	    out)) != SK_OK) {
		ncclCommAbort(nn);
		return e;
	}
	return SK_OK;
}

static int
comm_free(struct comm *c)
{
	struct impl *x;
	ncclResult_t nr;
	int e;

	if ((x = impl_of(c, "free")) == NULL)
		return err_code();
	if ((e = comm_slots_idle(&x->slots, c)) != SK_OK)
		return e;
	/* Finalize waits for the other ranks (collective); a rank that
	 * does not come leaves it in progress, so it is bounded and an
	 * abort replaces it. */
	nr = ncclCommFinalize(x->nc);
	if ((e = comm_nccl_settle(c, NULL, x->nc, x->timeout, "free",
	    "ncclCommFinalize", nr)) != SK_OK)
		ncclCommAbort(x->nc);
	else if ((nr = ncclCommDestroy(x->nc)) != ncclSuccess)
		e = comm_nccl_fail(c, NULL, NULL, "free", "ncclCommDestroy", nr);
	comm_nccl_destroy(x);
	c->impl = NULL;
	return e;
}

static void
nccl_abort(struct comm *c, int code)
{
	struct impl *x = c != NULL ? c->impl : NULL;
	struct comm *mpi = NULL;

	if (x != NULL) {
		mpi = x->mpi;
		ncclCommAbort(x->nc);
	}
	if (mpi != NULL && mpi->ops != NULL)
		mpi->ops->abort(mpi, code);
	exit(code);
}

const struct comm_ops comm_nccl_ops = {
	.version = COMM_OPS_VERSION,
	.name = "nccl",
	.allgather = allgather,
	.allgatherv = allgatherv,
	.reduce_scatter = reduce_scatter,
	.allreduce = allreduce,
	.barrier = barrier,
	.bcast = bcast,
	.iallgatherv = iallgatherv,
	.ireduce_scatter = ireduce_scatter,
	.iallreduce = iallreduce,
	.test = req_test,
	.wait = req_wait,
	.split = split,
	.free = comm_free,
	.abort = nccl_abort,
};
