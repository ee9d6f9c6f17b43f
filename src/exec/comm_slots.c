/* comm_slots: see comm_slots.h. */
#include "comm_slots.h"
#include "err.h"

int
comm_slots_take(const struct comm_slots *t, const struct comm *c,
    const char *op)
{
	int k;

	for (k = 0; k < COMM_REQ_MAX; k++)
		if (!t->busy[k])
			return k;
	comm_err(c, op, SK_ERR_RANGE, "%d requests already pending, the most one "
	    "communicator holds", COMM_REQ_MAX);
	return -1;
}

void
comm_slots_begin(struct comm_slots *t, int k, struct comm *c, const char *op,
    size_t count, struct comm_req *req)
{
	t->busy[k] = 1;
	t->pending++;
	req->comm = c;
	req->op = op;
	req->count = count;
	req->handle = k + 1;
}

int
comm_slots_of(const struct comm_slots *t, const struct comm_req *req,
    const char *op)
{
	if (req->handle < 1 || req->handle > COMM_REQ_MAX ||
	    !t->busy[req->handle - 1]) {
		comm_err(req->comm, op, SK_ERR_ARG, "request handle %d of %s names "
		    "no pending operation", req->handle,
		    req->op != NULL ? req->op : "?");
		return -1;
	}
	return req->handle - 1;
}

void
comm_slots_end(struct comm_slots *t, struct comm_req *req)
{
	t->busy[req->handle - 1] = 0;
	t->pending--;
	req->handle = 0;
}

int
comm_slots_idle(const struct comm_slots *t, const struct comm *c)
{
	if (t->pending > 0)
		return comm_err(c, "free", SK_ERR_ARG, "%d requests still pending",
		    t->pending);
	return SK_OK;
}
