/* comm: see comm.h.  The helpers every backend shares. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "comm.h"
#include "err.h"

/* The sleep between two polls of comm_wait starts here and doubles up to
 * the cap: short enough that a finished collective is seen within the cap,
 * long enough that an oversubscribed rank gives its core to the others. */
#define POLL_FIRST_NS 1000L
#define POLL_MAX_NS 200000L

int
comm_check(const struct comm *c)
{
	if (c == NULL || c->ops == NULL)
		return err_set(SK_ERR_ARG, "communicator: not made (no ops "
		    "table)");
	if (c->ops->version != COMM_OPS_VERSION)
		return err_set(SK_ERR_UNSUPPORTED, "communicator %s: ops table "
		    "\"%s\" has version %d, this build expects %d", c->name,
		    c->ops->name != NULL ? c->ops->name : "?", c->ops->version,
		    COMM_OPS_VERSION);
	return SK_OK;
}

void
comm_where(const struct comm *c, char *buf, size_t n)
{
	snprintf(buf, n, "rank %d of %d in %s (world rank %d)", c->rank,
	    c->size, c->name, c->world_rank);
}

int
comm_err(const struct comm *c, const char *op, int code, const char *fmt, ...)
{
	char where[160], what[512];
	va_list ap;

	comm_where(c, where, sizeof where);
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return err_set(code, "%s: %s: %s", op, where, what);
}

int
comm_grid(int world_rank, int dp, int cp, int *d, int *r)
{
	if (dp < 1 || cp < 1 || dp > INT_MAX / cp)
		return err_set(SK_ERR_ARG, "grid %d x %d: DP and CP must be at "
		    "least 1 and their product at most %d", dp, cp, INT_MAX);
	if (world_rank < 0 || world_rank >= dp * cp)
		return err_set(SK_ERR_RANGE, "grid %d x %d: world rank %d is "
		    "outside 0..%d", dp, cp, world_rank, dp * cp - 1);
	*d = world_rank / cp;
	*r = world_rank % cp;
	return SK_OK;
}

int
comm_grid_cp_color(int d, int r)
{
	return d;
}

int
comm_grid_dp_color(int d, int r)
{
	return r;
}

int
comm_grid_split(struct comm *world, int dp, int cp, struct comm_grid *g)
{
	char name[COMM_NAME_MAX];
	int e, f;

	if ((e = comm_check(world)) != SK_OK)
		return e;
	if ((e = comm_grid(world->rank, dp, cp, &g->d, &g->r)) != SK_OK) {
		err_prefix(world->name);
		return e;
	}
	if (world->size != dp * cp)
		return err_set(SK_ERR_ARG, "grid %d x %d: %s has %d ranks, not "
		    "%d", dp, cp, world->name, world->size, dp * cp);
	g->dp = dp;
	g->cp = cp;
	snprintf(name, sizeof name, "CP group of DP rank %d", g->d);
	if ((e = world->ops->split(world, comm_grid_cp_color(g->d, g->r), g->r,
	    name, &g->cpc)) != SK_OK)
		return e;
	snprintf(name, sizeof name, "DP group of CP rank %d", g->r);
	if ((e = world->ops->split(world, comm_grid_dp_color(g->d, g->r), g->d,
	    name, &g->dpc)) != SK_OK) {
		/* A successful free leaves the split's message in place. */
		if ((f = g->cpc.ops->free(&g->cpc)) != SK_OK)
			return f;
		return e;
	}
	return SK_OK;
}

int
comm_grid_free(struct comm_grid *g)
{
	int e, f;

	e = g->dpc.ops->free(&g->dpc);
	f = g->cpc.ops->free(&g->cpc);
	return e != SK_OK ? e : f;
}

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int
comm_wait(struct comm_req *req, double seconds)
{
	struct timespec nap;
	char where[160];
	long ns = POLL_FIRST_NS;
	double start, waited;
	int e, done;

	if (req->handle == 0)
		return SK_OK;
	if ((e = comm_check(req->comm)) != SK_OK)
		return e;
	if (seconds < 0)
		return req->comm->ops->wait(req);
	start = now();
	for (;;) {
		if ((e = req->comm->ops->test(req, &done)) != SK_OK)
			return e;
		if (done)
			return SK_OK;
		waited = now() - start;
		if (waited >= seconds)
			break;
		nap.tv_sec = 0;
		nap.tv_nsec = ns;
		while (nanosleep(&nap, &nap) != 0 && errno == EINTR)
			;
		ns = ns * 2 > POLL_MAX_NS ? POLL_MAX_NS : ns * 2;
	}
	comm_where(req->comm, where, sizeof where);
	return err_set(SK_ERR_IO, "%s: %s: %zu elements not done after %.3g s "
	    "(limit %.3g s): a peer has failed or is stuck; abort the job",
	    req->op, where, req->count, waited, seconds);
}
