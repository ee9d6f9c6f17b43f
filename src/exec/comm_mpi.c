/* comm_mpi: the MPI communicator (see comm.h); the only file that sees
 * mpi.h. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "comm.h"
#include "err.h"

/* One non-blocking operation's state; counts and displs are its int copies
 * of iallgatherv's arrays, which MPI reads until the operation ends. */
struct slot {
	MPI_Request req;
	int busy;
	int *counts, *displs;  /* size entries each, elements */
};

struct impl {
	MPI_Comm comm;
	int *counts, *displs;  /* size entries each: blocking allgatherv's */
	int pending;           /* slots busy */
	struct slot slot[COMM_REQ_MAX];
	int ints[];            /* 2 * size * (COMM_REQ_MAX + 1): the arrays
	                          above point into it */
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

/* A free slot of x for a non-blocking op, or NULL after recording why. */
static struct slot *
take(const struct comm *c, struct impl *x, const char *op)
{
	int k;

	for (k = 0; k < COMM_REQ_MAX; k++)
		if (!x->slot[k].busy)
			return &x->slot[k];
	comm_err(c, op, SK_ERR_RANGE, "%d requests already pending, the most one "
	    "communicator holds", COMM_REQ_MAX);
	return NULL;
}

/* Mark s busy and describe it in req. */
static void
begin(struct comm *c, struct impl *x, struct slot *s, struct comm_req *req,
    const char *op, size_t count)
{
	s->busy = 1;
	x->pending++;
	req->comm = c;
	req->op = op;
	req->count = count;
	req->handle = (int)(s - x->slot) + 1;
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
	if ((x = calloc(1, sizeof *x + per * (COMM_REQ_MAX + 1) *
	    sizeof x->ints[0])) == NULL)
		return err_set(SK_ERR_NOMEM, "%s: world rank %d: out of memory "
		    "for a communicator of %d ranks", name, world_rank, size);
	x->comm = mc;
	x->counts = x->ints;
	x->displs = x->ints + size;
	for (k = 0; k < COMM_REQ_MAX; k++) {
		x->slot[k].counts = x->ints + per * (size_t)(k + 1);
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
	if (color < 0)
		return comm_err(c, "split", SK_ERR_ARG, "color %d for \"%s\" is "
		    "negative", color, name);
	if ((rc = MPI_Comm_split(x->comm, color, key, &mc)) != MPI_SUCCESS)
		return fail(c, "split", "MPI_Comm_split", rc);
	if ((e = make(mc, name, c->world_rank, out)) != SK_OK)
		MPI_Comm_free(&mc);
	return e;
}

int
comm_mpi_free(struct comm *c)
{
	struct impl *x;
	int rc;

	if ((x = impl_of(c, "free")) == NULL)
		return err_code();
	if (x->pending > 0)
		return comm_err(c, "free", SK_ERR_ARG, "%d requests still pending",
		    x->pending);
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

static int
allgatherv(struct comm *c, const float *send, size_t count, float *recv,
    const size_t *counts, const size_t *displs)
{
	const char *op = "allgatherv";
	struct impl *x;
	const void *in;
	int rc, e;

	if ((x = impl_of(c, op)) == NULL)
		return err_code();
	if ((e = gatherv_args(c, op, send, count, recv, counts, displs,
	    x->counts, x->displs)) != SK_OK)
		return e;
	in = count > 0 && send == recv + displs[c->rank] ? MPI_IN_PLACE :
	    (const void *)send;
	if ((rc = MPI_Allgatherv(in, (int)count, MPI_FLOAT, recv, x->counts,
	    x->displs, MPI_FLOAT, x->comm)) != MPI_SUCCESS)
		return fail(c, op, "MPI_Allgatherv", rc);
	return SK_OK;
}

static int
iallgatherv(struct comm *c, const float *send, size_t count, float *recv,
    const size_t *counts, const size_t *displs, struct comm_req *req)
{
	const char *op = "iallgatherv";
	struct impl *x;
	struct slot *s;
	const void *in;
	int rc, e;

	req->handle = 0;
	if ((x = impl_of(c, op)) == NULL)
		return err_code();
	if ((s = take(c, x, op)) == NULL)
		return err_code();
	if ((e = gatherv_args(c, op, send, count, recv, counts, displs,
	    s->counts, s->displs)) != SK_OK)
		return e;
	in = count > 0 && send == recv + displs[c->rank] ? MPI_IN_PLACE :
	    (const void *)send;
	if ((rc = MPI_Iallgatherv(in, (int)count, MPI_FLOAT, recv, s->counts,
	    s->displs, MPI_FLOAT, x->comm, &s->req)) != MPI_SUCCESS)
		return fail(c, op, "MPI_Iallgatherv", rc);
	begin(c, x, s, req, op, count);
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
reduce_scatter(struct comm *c, const float *send, float *recv, size_t count)
{
	const char *op = "reduce_scatter";
	struct impl *x;
	int rc, e;

	if ((x = impl_of(c, op)) == NULL)
		return err_code();
	if ((e = scatter_args(c, op, send, recv, count)) != SK_OK)
		return e;
	if ((rc = MPI_Reduce_scatter_block(send == recv ? MPI_IN_PLACE :
	    (const void *)send, recv, (int)count, MPI_FLOAT, MPI_SUM,
	    x->comm)) != MPI_SUCCESS)
		return fail(c, op, "MPI_Reduce_scatter_block", rc);
	return SK_OK;
}

static int
ireduce_scatter(struct comm *c, const float *send, float *recv, size_t count,
    struct comm_req *req)
{
	const char *op = "ireduce_scatter";
	struct impl *x;
	struct slot *s;
	int rc, e;

	req->handle = 0;
	if ((x = impl_of(c, op)) == NULL)
		return err_code();
	if ((s = take(c, x, op)) == NULL)
		return err_code();
	if ((e = scatter_args(c, op, send, recv, count)) != SK_OK)
		return e;
	if ((rc = MPI_Ireduce_scatter_block(send == recv ? MPI_IN_PLACE :
	    (const void *)send, recv, (int)count, MPI_FLOAT, MPI_SUM, x->comm,
	    &s->req)) != MPI_SUCCESS)
		return fail(c, op, "MPI_Ireduce_scatter_block", rc);
	begin(c, x, s, req, op, count * (size_t)c->size);
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
allreduce(struct comm *c, const float *send, float *recv, size_t count)
{
	const char *op = "allreduce";
	struct impl *x;
	int rc, e;

	if ((x = impl_of(c, op)) == NULL)
		return err_code();
	if ((e = reduce_args(c, op, send, recv, count)) != SK_OK)
		return e;
	if ((rc = MPI_Allreduce(send == recv ? MPI_IN_PLACE :
	    (const void *)send, recv, (int)count, MPI_FLOAT, MPI_SUM,
	    x->comm)) != MPI_SUCCESS)
		return fail(c, op, "MPI_Allreduce", rc);
	return SK_OK;
}

static int
iallreduce(struct comm *c, const float *send, float *recv, size_t count,
    struct comm_req *req)
{
	const char *op = "iallreduce";
	struct impl *x;
	struct slot *s;
	int rc, e;

	req->handle = 0;
	if ((x = impl_of(c, op)) == NULL)
		return err_code();
	if ((s = take(c, x, op)) == NULL)
		return err_code();
	if ((e = reduce_args(c, op, send, recv, count)) != SK_OK)
		return e;
	if ((rc = MPI_Iallreduce(send == recv ? MPI_IN_PLACE :
	    (const void *)send, recv, (int)count, MPI_FLOAT, MPI_SUM, x->comm,
	    &s->req)) != MPI_SUCCESS)
		return fail(c, op, "MPI_Iallreduce", rc);
	begin(c, x, s, req, op, count);
	return SK_OK;
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

/* The slot req names, or NULL after recording why it names none. */
static struct slot *
slot_of(struct comm_req *req, struct impl **xp, const char *op)
{
	struct impl *x;

	if ((x = impl_of(req->comm, op)) == NULL)
		return NULL;
	if (req->handle < 1 || req->handle > COMM_REQ_MAX ||
	    !x->slot[req->handle - 1].busy) {
		comm_err(req->comm, op, SK_ERR_ARG, "request handle %d of %s names "
		    "no pending operation", req->handle,
		    req->op != NULL ? req->op : "?");
		return NULL;
	}
	*xp = x;
	return &x->slot[req->handle - 1];
}

static void
end(struct impl *x, struct slot *s, struct comm_req *req)
{
	s->busy = 0;
	x->pending--;
	req->handle = 0;
}

static int
req_test(struct comm_req *req, int *done)
{
	struct impl *x;
	struct slot *s;
	int rc, flag = 0;

	*done = 0;
	if (req->handle == 0) {
		*done = 1;
		return SK_OK;
	}
	if ((s = slot_of(req, &x, "test")) == NULL)
		return err_code();
	if ((rc = MPI_Test(&s->req, &flag, MPI_STATUS_IGNORE)) != MPI_SUCCESS)
		return fail(req->comm, req->op, "MPI_Test", rc);
	if (flag) {
		end(x, s, req);
		*done = 1;
	}
	return SK_OK;
}

static int
req_wait(struct comm_req *req)
{
	struct impl *x;
	struct slot *s;
	int rc;

	if (req->handle == 0)
		return SK_OK;
	if ((s = slot_of(req, &x, "wait")) == NULL)
		return err_code();
	if ((rc = MPI_Wait(&s->req, MPI_STATUS_IGNORE)) != MPI_SUCCESS)
		return fail(req->comm, req->op, "MPI_Wait", rc);
	end(x, s, req);
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
