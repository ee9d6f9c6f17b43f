/* comm_mpi: the MPI communicator (see comm.h); the only file that sees
 * mpi.h. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "comm.h"
#include "comm_slots.h"
#include "err.h"

/* One non-blocking operation's state (slot k of the table); counts and
 * displs are its int copies of allgatherv's arrays, which MPI reads until
 * the operation ends. */
struct slot {
	MPI_Request req;
	int *counts, *displs;  /* size entries each, elements */
};

/* A blocking collective is its non-blocking start and the wait, so it
 * takes a slot like any other. */
struct impl {
	MPI_Comm comm;
	struct comm_slots slots;
	struct slot slot[COMM_REQ_MAX];
	int ints[];            /* 2 * size * COMM_REQ_MAX: the arrays above
	                          point into it */
};

static int started;  /* comm_mpi_world called MPI_Init_thread and
                        comm_mpi_finalize has not ended MPI */

/* Record the failure of MPI call `call` (code rc) inside operation op on c
 * (NULL before c exists). */
static int
fail(const struct comm *c, const char *op, const char *call, int rc)
{
	char s[MPI_MAX_ERROR_STRING], where[160];
	int n = 0;

	if (MPI_Error_string(rc, s, &n) != MPI_SUCCESS)
		snprintf(s, sizeof s, "error code %d", rc);
	if (c == NULL)
		return err_set(SK_ERR_IO, "%s: %s: %s", op, call, s);
	comm_where(c, where, sizeof where);
	return err_set(SK_ERR_IO, "%s: %s: %s: %s", op, where, call, s);
}

/* The MPI state of c, or NULL after recording why there is none. */
static struct impl *
impl_of(const struct comm *c, const char *op)
{
	if (comm_check(c) != SK_OK) {
		err_prefix(op);
		return NULL;
	}
	if (c->impl == NULL) {
		comm_err(c, op, SK_ERR_ARG, "communicator freed or not made");
		return NULL;
	}
	return c->impl;
}

/* count fits MPI's int and buf is there when count > 0. */
static int
check_buf(const struct comm *c, const char *op, const char *what,
    const void *buf, size_t count)
{
	if (count > INT_MAX)
		return comm_err(c, op, SK_ERR_RANGE, "%s count %zu is above %d", what,
		    count, INT_MAX);
	if (buf == NULL && count > 0)
		return comm_err(c, op, SK_ERR_ARG, "%s buffer is NULL for %zu "
		    "elements", what, count);
	return SK_OK;
}

static int
make(MPI_Comm mc, const char *name, int world_rank, struct comm *out)
{
	struct impl *x;
	size_t per;
	int rc, rank, size, k;

	if ((rc = MPI_Comm_rank(mc, &rank)) != MPI_SUCCESS)
		return fail(NULL, name, "MPI_Comm_rank", rc);
	if ((rc = MPI_Comm_size(mc, &size)) != MPI_SUCCESS)
		return fail(NULL, name, "MPI_Comm_size", rc);
	per = (size_t)size * 2;
	if ((x = calloc(1, sizeof *x + per * COMM_REQ_MAX *
	    sizeof x->ints[0])) == NULL)
		return err_set(SK_ERR_NOMEM, "%s: world rank %d: out of memory "
		    "for a communicator of %d ranks", name, world_rank, size);
	x->comm = mc;
	for (k = 0; k < COMM_REQ_MAX; k++) {
		x->slot[k].counts = x->ints + per * (size_t)k;
		x->slot[k].displs = x->slot[k].counts + size;
		x->slot[k].req = MPI_REQUEST_NULL;
	}
	memset(out, 0, sizeof *out);
	out->ops = &comm_mpi_ops;
	out->rank = rank;
	out->size = size;
	out->world_rank = world_rank;
	out->impl = x;
	snprintf(out->name, sizeof out->name, "%s", name);
	return SK_OK;
}

int
comm_mpi_world(int *argc, char ***argv, struct comm *world)
{
	MPI_Comm mc = MPI_COMM_NULL;
	int rc, on, provided = MPI_THREAD_SINGLE, self, e;

	if ((rc = MPI_Initialized(&on)) != MPI_SUCCESS)
		return fail(NULL, "world", "MPI_Initialized", rc);
	if (!on) {
		if ((rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED,
		    &provided)) != MPI_SUCCESS)
			return fail(NULL, "world", "MPI_Init_thread", rc);
		started = 1;
		if ((rc = MPI_Comm_set_errhandler(MPI_COMM_WORLD,
		    MPI_ERRORS_RETURN)) != MPI_SUCCESS)
			return fail(NULL, "world", "MPI_Comm_set_errhandler", rc);
	} else if ((rc = MPI_Query_thread(&provided)) != MPI_SUCCESS)
		return fail(NULL, "world", "MPI_Query_thread", rc);
	if ((rc = MPI_Comm_rank(MPI_COMM_WORLD, &self)) != MPI_SUCCESS)
		return fail(NULL, "world", "MPI_Comm_rank", rc);
	if (provided < MPI_THREAD_FUNNELED)
		return err_set(SK_ERR_UNSUPPORTED, "world: world rank %d: MPI "
		    "gives thread level %d, below MPI_THREAD_FUNNELED (compute "
		    "threads run beside MPI)", self, provided);
	if ((rc = MPI_Comm_dup(MPI_COMM_WORLD, &mc)) != MPI_SUCCESS)
		return fail(NULL, "world", "MPI_Comm_dup", rc);
	if ((rc = MPI_Comm_set_errhandler(mc, MPI_ERRORS_RETURN)) !=
	    MPI_SUCCESS) {
		e = fail(NULL, "world", "MPI_Comm_set_errhandler", rc);
		MPI_Comm_free(&mc);
		return e;
	}
	if ((e = make(mc, "world", self, world)) != SK_OK)
		MPI_Comm_free(&mc);
	return e;
}

int
comm_mpi_split(struct comm *c, int color, int key, const char *name,
    struct comm *out)
{
	struct impl *x;
	MPI_Comm mc = MPI_COMM_NULL;
	int rc, e;

	if ((x = impl_of(c, "split")) == NULL)
		return err_code();
	if (color < 0 && color != COMM_NOCOLOR)
		return comm_err(c, "split", SK_ERR_ARG, "color %d for \"%s\" is "
		    "negative", color, name);
	if ((rc = MPI_Comm_split(x->comm, color == COMM_NOCOLOR ?
	    MPI_UNDEFINED : color, key, &mc)) != MPI_SUCCESS)
		return fail(c, "split", "MPI_Comm_split", rc);
	if (color == COMM_NOCOLOR) {
		memset(out, 0, sizeof *out);
		return SK_OK;
	}
	if ((e = make(mc, name, c->world_rank, out)) != SK_OK)
		MPI_Comm_free(&mc);
	return e;
}

int
comm_mpi_free(struct comm *c)
{
	struct impl *x;
	int rc, e;

	if ((x = impl_of(c, "free")) == NULL)
		return err_code();
	if ((e = comm_slots_idle(&x->slots, c)) != SK_OK)
		return e;
	rc = MPI_Comm_free(&x->comm);
	free(x);
	c->impl = NULL;
	if (rc != MPI_SUCCESS)
		return fail(c, "free", "MPI_Comm_free", rc);
	return SK_OK;
}

int
comm_mpi_finalize(void)
{
	int rc;

	if (!started)
		return SK_OK;
	started = 0;
	if ((rc = MPI_Finalize()) != MPI_SUCCESS)
		return fail(NULL, "finalize", "MPI_Finalize", rc);
	return SK_OK;
}

static void
mpi_abort(struct comm *c, int code)
{
	int on = 0, off = 1;

	MPI_Initialized(&on);
	MPI_Finalized(&off);
	if (!on || off)
		return;
	if (c != NULL && c->impl != NULL)
		MPI_Abort(((struct impl *)c->impl)->comm, code);
	MPI_Abort(MPI_COMM_WORLD, code);
}

static int
allgather(struct comm *c, const float *send, float *recv, size_t count)
{
	const char *op = "allgather";
	struct impl *x;
	const void *in;
	int rc, e;

	if ((x = impl_of(c, op)) == NULL)
		return err_code();
	if ((e = check_buf(c, op, "send", send, count)) != SK_OK ||
	    (e = check_buf(c, op, "receive", recv, count)) != SK_OK)
		return e;
	in = count > 0 && send == recv + (size_t)c->rank * count ?
	    MPI_IN_PLACE : (const void *)send;
	if ((rc = MPI_Allgather(in, (int)count, MPI_FLOAT, recv, (int)count,
	    MPI_FLOAT, x->comm)) != MPI_SUCCESS)
		return fail(c, op, "MPI_Allgather", rc);
	return SK_OK;
}

/* Check allgatherv's arguments and copy counts and displs into ci, di. */
static int
gatherv_args(const struct comm *c, const char *op, const float *send,
    size_t count, const float *recv, const size_t *counts,
    const size_t *displs, int *ci, int *di)
{
	int e, k;

	if ((e = check_buf(c, op, "send", send, count)) != SK_OK)
		return e;
	if (counts == NULL || displs == NULL || recv == NULL)
		return comm_err(c, op, SK_ERR_ARG, "NULL %s",
		    counts == NULL ? "counts" : displs == NULL ? "displs" :
		    "receive buffer");
	if (counts[c->rank] != count)
		return comm_err(c, op, SK_ERR_ARG, "this rank sends %zu elements but "
		    "counts[%d] is %zu", count, c->rank, counts[c->rank]);
	for (k = 0; k < c->size; k++) {
		if (counts[k] > INT_MAX || displs[k] > INT_MAX)
			return comm_err(c, op, SK_ERR_RANGE, "rank %d's block (count "
			    "%zu at displacement %zu) is beyond %d", k,
			    counts[k], displs[k], INT_MAX);
		ci[k] = (int)counts[k];
		di[k] = (int)displs[k];
	}
	return SK_OK;
}

/* The slot req names (its index), or -1 after recording why it names
 * none; *xp is the MPI state of its communicator. */
static int
slot_of(struct comm_req *req, struct impl **xp, const char *op)
{
	if ((*xp = impl_of(req->comm, op)) == NULL)
		return -1;
	return comm_slots_of(&(*xp)->slots, req, op);
}

static int
req_test(struct comm_req *req, int *done)
{
	struct impl *x;
	int rc, k, flag = 0;

	*done = 0;
	if (req->handle == 0) {
		*done = 1;
		return SK_OK;
	}
	if ((k = slot_of(req, &x, "test")) < 0)
		return err_code();
	if ((rc = MPI_Test(&x->slot[k].req, &flag, MPI_STATUS_IGNORE)) !=
	    MPI_SUCCESS)
		return fail(req->comm, req->op, "MPI_Test", rc);
	if (flag) {
		comm_slots_end(&x->slots, req);
		*done = 1;
	}
	return SK_OK;
}

static int
req_wait(struct comm_req *req)
{
	struct impl *x;
	int rc, k;

	if (req->handle == 0)
		return SK_OK;
	if ((k = slot_of(req, &x, "wait")) < 0)
		return err_code();
	if ((rc = MPI_Wait(&x->slot[k].req, MPI_STATUS_IGNORE)) != MPI_SUCCESS)
		return fail(req->comm, req->op, "MPI_Wait", rc);
	comm_slots_end(&x->slots, req);
	return SK_OK;
}

/*
 * The collectives that have a non-blocking form: a start on a free slot,
 * named op in messages; the blocking collective is its start under its
 * own name followed by req_wait.
 */
static int
start_allgatherv(struct comm *c, const char *op, const float *send,
    size_t count, float *recv, const size_t *counts, const size_t *displs,
    struct comm_req *req)
{
	struct impl *x;
	struct slot *s;
	const void *in;
	int rc, e, k;

	req->handle = 0;
	if ((x = impl_of(c, op)) == NULL)
		return err_code();
	if ((k = comm_slots_take(&x->slots, c, op)) < 0)
		return err_code();
	s = &x->slot[k];
	if ((e = gatherv_args(c, op, send, count, recv, counts, displs,
	    s->counts, s->displs)) != SK_OK)
		return e;
	in = count > 0 && send == recv + displs[c->rank] ? MPI_IN_PLACE :
	    (const void *)send;
	if ((rc = MPI_Iallgatherv(in, (int)count, MPI_FLOAT, recv, s->counts,
	    s->displs, MPI_FLOAT, x->comm, &s->req)) != MPI_SUCCESS)
		return fail(c, op, "MPI_Iallgatherv", rc);
	comm_slots_begin(&x->slots, k, c, op, count, req);
	return SK_OK;
}

/* reduce_scatter's checks: recv holds count, send size * count. */
static int
scatter_args(const struct comm *c, const char *op, const float *send,
    const float *recv, size_t count)
{
	int e;

	if ((e = check_buf(c, op, "receive", recv, count)) != SK_OK)
		return e;
	if (count > (size_t)INT_MAX / (size_t)c->size)
		return comm_err(c, op, SK_ERR_RANGE, "%d blocks of %zu elements are "
		    "above %d in all", c->size, count, INT_MAX);
	return check_buf(c, op, "send", send, count * (size_t)c->size);
}

static int
start_reduce_scatter(struct comm *c, const char *op, const float *send,
    float *recv, size_t count, struct comm_req *req)
{
	struct impl *x;
	int rc, e, k;

	req->handle = 0;
	if ((x = impl_of(c, op)) == NULL)
		return err_code();
	if ((k = comm_slots_take(&x->slots, c, op)) < 0)
		return err_code();
	if ((e = scatter_args(c, op, send, recv, count)) != SK_OK)
		return e;
	if ((rc = MPI_Ireduce_scatter_block(send == recv ? MPI_IN_PLACE :
	    (const void *)send, recv, (int)count, MPI_FLOAT, MPI_SUM, x->comm,
	    &x->slot[k].req)) != MPI_SUCCESS)
		return fail(c, op, "MPI_Ireduce_scatter_block", rc);
	comm_slots_begin(&x->slots, k, c, op, count * (size_t)c->size, req);
	return SK_OK;
}

static int
reduce_args(const struct comm *c, const char *op, const float *send,
    const float *recv, size_t count)
{
	int e;

	if ((e = check_buf(c, op, "send", send, count)) != SK_OK)
		return e;
	return check_buf(c, op, "receive", recv, count);
}

static int
start_allreduce(struct comm *c, const char *op, const float *send,
    float *recv, size_t count, struct comm_req *req)
{
	struct impl *x;
	int rc, e, k;

	req->handle = 0;
	if ((x = impl_of(c, op)) == NULL)
		return err_code();
	if ((k = comm_slots_take(&x->slots, c, op)) < 0)
		return err_code();
	if ((e = reduce_args(c, op, send, recv, count)) != SK_OK)
		return e;
	if ((rc = MPI_Iallreduce(send == recv ? MPI_IN_PLACE :
	    (const void *)send, recv, (int)count, MPI_FLOAT, MPI_SUM, x->comm,
	    &x->slot[k].req)) != MPI_SUCCESS)
		return fail(c, op, "MPI_Iallreduce", rc);
	comm_slots_begin(&x->slots, k, c, op, count, req);
	return SK_OK;
}

static int
allgatherv(struct comm *c, const float *send, size_t count, float *recv,
    const size_t *counts, const size_t *displs)
{
	struct comm_req req;
	int e;

	if ((e = start_allgatherv(c, "allgatherv", send, count, recv, counts,
	    displs, &req)) != SK_OK)
		return e;
	return req_wait(&req);
}

static int
iallgatherv(struct comm *c, const float *send, size_t count, float *recv,
    const size_t *counts, const size_t *displs, struct comm_req *req)
{
	return start_allgatherv(c, "iallgatherv", send, count, recv, counts,
	    displs, req);
}

static int
reduce_scatter(struct comm *c, const float *send, float *recv, size_t count)
{
	struct comm_req req;
	int e;

	if ((e = start_reduce_scatter(c, "reduce_scatter", send, recv, count,
	    &req)) != SK_OK)
		return e;
	return req_wait(&req);
}

static int
ireduce_scatter(struct comm *c, const float *send, float *recv, size_t count,
    struct comm_req *req)
{
	return start_reduce_scatter(c, "ireduce_scatter", send, recv, count, req);
}

static int
allreduce(struct comm *c, const float *send, float *recv, size_t count)
{
	struct comm_req req;
	int e;

	if ((e = start_allreduce(c, "allreduce", send, recv, count, &req)) !=
	    SK_OK)
		return e;
	return req_wait(&req);
}

static int
iallreduce(struct comm *c, const float *send, float *recv, size_t count,
    struct comm_req *req)
{
	return start_allreduce(c, "iallreduce", send, recv, count, req);
}

static int
barrier(struct comm *c)
{
	struct impl *x;
	int rc;

	if ((x = impl_of(c, "barrier")) == NULL)
		return err_code();
	if ((rc = MPI_Barrier(x->comm)) != MPI_SUCCESS)
		return fail(c, "barrier", "MPI_Barrier", rc);
	return SK_OK;
}

static int
bcast(struct comm *c, float *buf, size_t count, int root)
{
	const char *op = "bcast";
	struct impl *x;
	int rc, e;

	if ((x = impl_of(c, op)) == NULL)
		return err_code();
	if ((e = check_buf(c, op, "buffer", buf, count)) != SK_OK)
		return e;
	if (root < 0 || root >= c->size)
		return comm_err(c, op, SK_ERR_ARG, "root %d is outside 0..%d", root,
		    c->size - 1);
	if ((rc = MPI_Bcast(buf, (int)count, MPI_FLOAT, root, x->comm)) !=
	    MPI_SUCCESS)
		return fail(c, op, "MPI_Bcast", rc);
	return SK_OK;
}

const struct comm_ops comm_mpi_ops = {
	.version = COMM_OPS_VERSION,
	.name = "mpi",
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
	.split = comm_mpi_split,
	.free = comm_mpi_free,
	.abort = mpi_abort,
};
