/* comm_loop: the loopback communicator of ranks that are threads of one
 * process (see comm_loop.h). */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "comm_loop.h"
#include "err.h"

#define LOOP_SIZE_MAX 65536

/* The collectives, so that ranks calling different ones are caught. */
enum kind {
	K_ALLGATHER, K_ALLGATHERV, K_REDUCE_SCATTER, K_ALLREDUCE, K_BARRIER,
	K_BCAST, K_SPLIT
};

static const char *const kind_names[] = {
	"allgather", "allgatherv", "reduce_scatter", "allreduce", "barrier",
	"bcast", "split"
};

/* What one rank posts for the collective under way: read by the others
 * between the collective's barriers only. */
struct post {
	enum kind kind;
	const float *send;
	float *recv;            /* the receive buffer; bcast's buffer */
	size_t count;           /* elements: this rank's send (allgather,
	                           allgatherv), each block (reduce_scatter),
	                           the vector (allreduce, bcast) */
	const float *scratch;   /* allreduce: this rank's summed segment */
	int root, color, key;
	struct comm_loop_group *made;  /* split: the group the lowest rank of
	                                  a color made for it, or NULL */
};

/* A rank's scratch buffer (backend memory), reused by all its groups: a
 * rank is in one collective at a time. */
struct scratch {
	float *p;
	size_t cap;             /* elements */
};

/* What a world and the groups split from it share: one lock and one
 * condition for all their barriers, so that poisoning wakes every waiter. */
struct family {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const struct backend_ops *mem;
	double timeout;         /* seconds; < 0: no bound */
	int poisoned;           /* the family has failed */
	int culprit;            /* the world rank it failed on */
	char why[128];          /* how, "waited over 0.2 s in allreduce" */
	struct comm_loop_group *groups;  /* every group alive */
	int nworld;             /* world ranks */
	struct scratch *sc;     /* nworld */
};

struct comm_loop_group {
	struct family *f;
	struct comm_loop_group *next;
	int size;
	int world;              /* the family's world: freed only with it */
	int refs;               /* members that have not freed it (split) */
	int arrived;            /* ranks in the barrier under way */
	unsigned long gen;      /* barriers completed */
	struct post post[];     /* size */
};

/* Mark f failed on world rank culprit (f->mu held) and wake every
 * waiter; the first failure is the one remembered. */
__attribute__((format(printf, 3, 4)))
static void
poison_locked(struct family *f, int culprit, const char *fmt, ...)
{
	va_list ap;

	if (!f->poisoned) {
		f->poisoned = 1;
		f->culprit = culprit;
		va_start(ap, fmt);
		vsnprintf(f->why, sizeof f->why, fmt, ap);
		va_end(ap);
	}
	pthread_cond_broadcast(&f->cv);
}

/* The error of a rank that finds f poisoned (f->mu held). */
static int
poisoned(const struct comm *c, const struct family *f, const char *op)
{
	return comm_err(c, op, SK_ERR_IO, "world rank %d failed (%s); the "
	    "communicator cannot be used", f->culprit, f->why);
}

/* The group of c, or NULL after recording why there is none. */
static struct comm_loop_group *
group_of(const struct comm *c, const char *op)
{
	if (comm_check(c) != SK_OK) {
		err_prefix(op);
		return NULL;
	}
	if (c->ops != &comm_loop_ops || c->impl == NULL) {
		comm_err(c, op, SK_ERR_ARG, "not a loopback communicator, or freed");
		return NULL;
	}
	return c->impl;
}

/* count elements at buf: there when count > 0. */
static int
check_buf(const struct comm *c, const char *op, const char *what,
    const void *buf, size_t count)
{
	if (buf == NULL && count > 0)
		return comm_err(c, op, SK_ERR_ARG, "%s buffer is NULL for %zu "
		    "elements", what, count);
	return SK_OK;
}

/* The barrier of c's group, bounded by the family's timeout. */
static int
meet(const struct comm *c, const char *op)
{
	struct comm_loop_group *g = c->impl;
	struct family *f = g->f;
	struct timespec dl;
	unsigned long gen;
	int rc = 0, e = SK_OK, arrived;

	if (f->timeout >= 0) {
		clock_gettime(CLOCK_MONOTONIC, &dl);
		dl.tv_sec += (time_t)f->timeout;
		dl.tv_nsec += (long)((f->timeout - (double)(time_t)f->timeout) *
		    1e9);
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&f->mu);
	if (f->poisoned) {
		e = poisoned(c, f, op);
		goto out;
	}
	gen = g->gen;
	if (++g->arrived == g->size) {
		g->arrived = 0;
		g->gen++;
		pthread_cond_broadcast(&f->cv);
		goto out;
	}
	while (g->gen == gen && !f->poisoned && rc != ETIMEDOUT)
		rc = f->timeout < 0 ? pthread_cond_wait(&f->cv, &f->mu) :
		    pthread_cond_timedwait(&f->cv, &f->mu, &dl);
	if (g->gen != gen)
		goto out;
	if (f->poisoned) {
		e = poisoned(c, f, op);
		goto out;
	}
	arrived = g->arrived;
	poison_locked(f, c->world_rank, "waited over %.3g s in %s", f->timeout,
	    op);
	e = comm_err(c, op, SK_ERR_IO, "%d of %d ranks arrived within %.3g s: a "
	    "peer has failed or is stuck", arrived, g->size, f->timeout);
out:
	pthread_mutex_unlock(&f->mu);
	return e;
}

/* This rank's queued writes made visible, then the barrier.  A backend
 * failure poisons the family: the peers must not wait for this rank. */
static int
step(const struct comm *c, const char *op)
{
	struct family *f = ((struct comm_loop_group *)c->impl)->f;
	int e;

	if ((e = f->mem->sync()) != SK_OK) {
		pthread_mutex_lock(&f->mu);
		poison_locked(f, c->world_rank, "its backend failed in %s", op);
		pthread_mutex_unlock(&f->mu);
		err_prefix(op);
		return e;
	}
	return meet(c, op);
}

/* At least n elements of scratch for c's rank, or NULL after poisoning
 * the family (the peers are about to wait for this rank). */
static float *
scratch(const struct comm *c, const char *op, size_t n)
{
	struct family *f = ((struct comm_loop_group *)c->impl)->f;
	struct scratch *s = &f->sc[c->world_rank];

	if (s->cap >= n && s->p != NULL)
		return s->p;
	f->mem->free(s->p);
	s->cap = 0;
	if ((s->p = f->mem->alloc(n)) == NULL) {
		comm_err(c, op, SK_ERR_NOMEM, "out of memory for %zu elements of "
		    "scratch", n);
		pthread_mutex_lock(&f->mu);
		poison_locked(f, c->world_rank, "ran out of memory in %s", op);
		pthread_mutex_unlock(&f->mu);
		return NULL;
	}
	s->cap = n;
	return s->p;
}

/* This rank's post, cleared and marked with kind. */
static struct post *
post(const struct comm *c, enum kind kind)
{
	struct post *p = &((struct comm_loop_group *)c->impl)->post[c->rank];

	memset(p, 0, sizeof *p);
	p->kind = kind;
	return p;
}

/* SK_ERR_ARG (recorded) when a rank posted another collective, or (when
 * same_count) another count, than this one; after the first barrier. */
static int
mismatch(const struct comm *c, const char *op, int same_count)
{
	const struct comm_loop_group *g = c->impl;
	const struct post *me = &g->post[c->rank], *p;
	int k;

	for (k = 0; k < g->size; k++) {
		p = &g->post[k];
		if (p->kind != me->kind)
			return comm_err(c, op, SK_ERR_ARG, "rank %d called %s at the "
			    "same time", k, kind_names[p->kind]);
		if (same_count && p->count != me->count)
			return comm_err(c, op, SK_ERR_ARG, "rank %d gave count %zu, "
			    "this rank %zu", k, p->count, me->count);
	}
	return SK_OK;
}

/* The request of a non-blocking start, complete already. */
static void
done(struct comm *c, struct comm_req *req, const char *op, size_t count)
{
	req->comm = c;
	req->op = op;
	req->count = count;
	req->handle = 0;
}

static int
gather(struct comm *c, const char *op, const float *send, float *recv,
    size_t count)
{
	struct comm_loop_group *g;
	struct post *me;
	size_t k;
	int e, m;

	if ((g = group_of(c, op)) == NULL)
		return err_code();
	if ((e = check_buf(c, op, "send", send, count)) != SK_OK)
		return e;
	if (count > SIZE_MAX / (size_t)g->size)
		return comm_err(c, op, SK_ERR_RANGE, "%d blocks of %zu elements do "
		    "not fit in memory", g->size, count);
	if ((e = check_buf(c, op, "receive", recv, count)) != SK_OK)
		return e;
	me = post(c, K_ALLGATHER);
	me->send = send;
	me->count = count;
	if ((e = step(c, op)) != SK_OK)
		return e;
	if ((m = mismatch(c, op, 1)) == SK_OK && count > 0)
		for (k = 0; k < (size_t)g->size; k++)
			if (g->post[k].send != recv + k * count)
				g->f->mem->copy(recv + k * count,
				    g->post[k].send, count);
	if ((e = step(c, op)) != SK_OK)
		return e;
	return m;
}

static int
allgather(struct comm *c, const float *send, float *recv, size_t count)
{
	return gather(c, "allgather", send, recv, count);
}

static int
gatherv(struct comm *c, const char *op, const float *send, size_t count,
    float *recv, const size_t *counts, const size_t *displs)
{
	struct comm_loop_group *g;
	struct post *me;
	const struct post *p;
	int e, m, k;

	if ((g = group_of(c, op)) == NULL)
		return err_code();
	if ((e = check_buf(c, op, "send", send, count)) != SK_OK)
		return e;
	if (counts == NULL || displs == NULL || recv == NULL)
		return comm_err(c, op, SK_ERR_ARG, "NULL %s",
		    counts == NULL ? "counts" : displs == NULL ? "displs" :
		    "receive buffer");
	if (counts[c->rank] != count)
		return comm_err(c, op, SK_ERR_ARG, "this rank sends %zu elements but "
		    "counts[%d] is %zu", count, c->rank, counts[c->rank]);
	for (k = 0; k < g->size; k++)
		if (displs[k] > SIZE_MAX - counts[k])
			return comm_err(c, op, SK_ERR_RANGE, "rank %d's block (count "
			    "%zu at displacement %zu) is beyond memory", k,
			    counts[k], displs[k]);
	me = post(c, K_ALLGATHERV);
	me->send = send;
	me->count = count;
	if ((e = step(c, op)) != SK_OK)
		return e;
	if ((m = mismatch(c, op, 0)) == SK_OK)
		for (k = 0; k < g->size; k++)
			if (g->post[k].count != counts[k]) {
				m = comm_err(c, op, SK_ERR_ARG, "rank %d sends %zu "
				    "elements but counts[%d] is %zu", k,
				    g->post[k].count, k, counts[k]);
				break;
			}
	for (k = 0; m == SK_OK && k < g->size; k++) {
		p = &g->post[k];
		if (counts[k] > 0 && p->send != recv + displs[k])
			g->f->mem->copy(recv + displs[k], p->send, counts[k]);
	}
	if ((e = step(c, op)) != SK_OK)
		return e;
	return m;
}

static int
allgatherv(struct comm *c, const float *send, size_t count, float *recv,
    const size_t *counts, const size_t *displs)
{
	return gatherv(c, "allgatherv", send, count, recv, counts, displs);
}

static int
iallgatherv(struct comm *c, const float *send, size_t count, float *recv,
    const size_t *counts, const size_t *displs, struct comm_req *req)
{
	const char *op = "iallgatherv";
	int e;

	req->handle = 0;
	if ((e = gatherv(c, op, send, count, recv, counts, displs)) == SK_OK)
		done(c, req, op, count);
	return e;
}

/* Sum block rank of every rank's send (count elements at send + rank *
 * count) into recv. */
static int
scatter(struct comm *c, const char *op, const float *send, float *recv,
    size_t count)
{
	struct comm_loop_group *g;
	const struct backend_ops *b;
	const size_t r = (size_t)c->rank;
	struct post *me;
	float *s = NULL;
	int e, m, k;

	if ((g = group_of(c, op)) == NULL)
		return err_code();
	if ((e = check_buf(c, op, "receive", recv, count)) != SK_OK)
		return e;
	if (count > SIZE_MAX / (size_t)g->size)
		return comm_err(c, op, SK_ERR_RANGE, "%d blocks of %zu elements do "
		    "not fit in memory", g->size, count);
	if ((e = check_buf(c, op, "send", send, count * (size_t)g->size)) !=
	    SK_OK)
		return e;
	b = g->f->mem;
	if (count > 0 && (s = scratch(c, op, count)) == NULL)
		return err_code();
	me = post(c, K_REDUCE_SCATTER);
	me->send = send;
	me->count = count;
	if ((e = step(c, op)) != SK_OK)
		return e;
	if ((m = mismatch(c, op, 1)) == SK_OK && count > 0) {
		b->copy(s, g->post[0].send + r * count, count);
		for (k = 1; k < g->size; k++)
			b->add(count, g->post[k].send + r * count, s);
	}
	/* In place, recv is this rank's send, which the others read until
	 * this barrier. */
	if ((e = step(c, op)) != SK_OK)
		return e;
	if (m == SK_OK && count > 0)
		b->copy(recv, s, count);
	return m;
}

static int
reduce_scatter(struct comm *c, const float *send, float *recv, size_t count)
{
	return scatter(c, "reduce_scatter", send, recv, count);
}

static int
ireduce_scatter(struct comm *c, const float *send, float *recv, size_t count,
    struct comm_req *req)
{
	const char *op = "ireduce_scatter";
	int e;

	req->handle = 0;
	if ((e = scatter(c, op, send, recv, count)) == SK_OK)
		done(c, req, op, count * (size_t)c->size);
	return e;
}

/* Segment k of size of a vector of count elements: [*lo, *lo + *n), the
 * first count % size segments one element longer. */
static void
segment(size_t count, int size, int k, size_t *lo, size_t *n)
{
	const size_t q = count / (size_t)size, rem = count % (size_t)size,
	    kk = (size_t)k;

	*lo = q * kk + (kk < rem ? kk : rem);
	*n = q + (kk < rem ? 1 : 0);
}

static int
reduce(struct comm *c, const char *op, const float *send, float *recv,
    size_t count)
{
	struct comm_loop_group *g;
	const struct backend_ops *b;
	struct post *me;
	float *s = NULL;
	size_t lo, n;
	int e, m, k;

	if ((g = group_of(c, op)) == NULL)
		return err_code();
	if ((e = check_buf(c, op, "send", send, count)) != SK_OK ||
	    (e = check_buf(c, op, "receive", recv, count)) != SK_OK)
		return e;
	b = g->f->mem;
	segment(count, g->size, c->rank, &lo, &n);
	if (n > 0 && (s = scratch(c, op, n)) == NULL)
		return err_code();
	me = post(c, K_ALLREDUCE);
	me->send = send;
	me->count = count;
	me->scratch = s;
	if ((e = step(c, op)) != SK_OK)
		return e;
	if ((m = mismatch(c, op, 1)) == SK_OK && n > 0) {
		b->copy(s, g->post[0].send + lo, n);
		for (k = 1; k < g->size; k++)
			b->add(n, g->post[k].send + lo, s);
	}
	if ((e = step(c, op)) != SK_OK)
		return e;
	for (k = 0; m == SK_OK && k < g->size; k++) {
		segment(count, g->size, k, &lo, &n);
		if (n > 0)
			b->copy(recv + lo, g->post[k].scratch, n);
	}
	/* The others read this rank's scratch until here. */
	if ((e = step(c, op)) != SK_OK)
		return e;
	return m;
}

static int
allreduce(struct comm *c, const float *send, float *recv, size_t count)
{
	return reduce(c, "allreduce", send, recv, count);
}

static int
iallreduce(struct comm *c, const float *send, float *recv, size_t count,
    struct comm_req *req)
{
	const char *op = "iallreduce";
	int e;

	req->handle = 0;
	if ((e = reduce(c, op, send, recv, count)) == SK_OK)
		done(c, req, op, count);
	return e;
}

static int
barrier(struct comm *c)
{
	int e, m;

	if (group_of(c, "barrier") == NULL)
		return err_code();
	post(c, K_BARRIER);
	if ((e = step(c, "barrier")) != SK_OK)
		return e;
	m = mismatch(c, "barrier", 0);
	/* Another rank may still read the posts for its mismatch check. */
	if ((e = meet(c, "barrier")) != SK_OK)
		return e;
	return m;
}

static int
bcast(struct comm *c, float *buf, size_t count, int root)
{
	const char *op = "bcast";
	struct comm_loop_group *g;
	struct post *me;
	int e, m, k;

	if ((g = group_of(c, op)) == NULL)
		return err_code();
	if ((e = check_buf(c, op, "buffer", buf, count)) != SK_OK)
		return e;
	if (root < 0 || root >= c->size)
		return comm_err(c, op, SK_ERR_ARG, "root %d is outside 0..%d", root,
		    c->size - 1);
	me = post(c, K_BCAST);
	me->recv = buf;
	me->count = count;
	me->root = root;
	if ((e = step(c, op)) != SK_OK)
		return e;
	if ((m = mismatch(c, op, 1)) == SK_OK)
		for (k = 0; k < g->size; k++)
			if (g->post[k].root != root) {
				m = comm_err(c, op, SK_ERR_ARG, "rank %d gave root %d, "
				    "this rank %d", k, g->post[k].root, root);
				break;
			}
	if (m == SK_OK && c->rank != root && count > 0)
		g->f->mem->copy(buf, g->post[root].recv, count);
	if ((e = step(c, op)) != SK_OK)
		return e;
	return m;
}

/* A group of size ranks in family f, linked into its list (f->mu held
 * unless the family is being made); NULL when out of memory. */
static struct comm_loop_group *
group_new(struct family *f, int size, int world)
{
	struct comm_loop_group *g;

	if ((g = calloc(1, sizeof *g + (size_t)size * sizeof g->post[0])) ==
	    NULL)
		return NULL;
	g->f = f;
	g->size = size;
	g->world = world;
	g->refs = size;
	g->next = f->groups;
	f->groups = g;
	return g;
}

static int
split(struct comm *c, int color, int key, const char *name, struct comm *out)
{
	const char *op = "split";
	struct comm_loop_group *g, *ng = NULL;
	const struct post *p;
	struct post *me;
	int e, m, k, leader = -1, rank = 0, size = 0;

	if ((g = group_of(c, op)) == NULL)
		return err_code();
	if (color < 0 && color != COMM_NOCOLOR)
		return comm_err(c, op, SK_ERR_ARG, "color %d for \"%s\" is negative",
		    color, name != NULL ? name : "?");
	me = post(c, K_SPLIT);
	me->color = color;
	me->key = key;
	if ((e = step(c, op)) != SK_OK)
		return e;
	if ((m = mismatch(c, op, 0)) == SK_OK && color != COMM_NOCOLOR) {
		for (k = 0; k < g->size; k++) {
			p = &g->post[k];
			if (p->color != color)
				continue;
			if (leader < 0)
				leader = k;
			size++;
			if (p->key < key || (p->key == key && k < c->rank))
				rank++;
		}
		if (leader == c->rank) {
			pthread_mutex_lock(&g->f->mu);
			me->made = group_new(g->f, size, 0);
			pthread_mutex_unlock(&g->f->mu);
		}
	}
	if ((e = meet(c, op)) != SK_OK)
		return e;
	if (m == SK_OK && color != COMM_NOCOLOR &&
	    (ng = g->post[leader].made) == NULL)
		m = comm_err(c, op, SK_ERR_NOMEM, "out of memory for a group of %d "
		    "ranks", size);
	/* The leader's post is read until here. */
	if ((e = meet(c, op)) != SK_OK)
		return e;
	if (m != SK_OK)
		return m;
	memset(out, 0, sizeof *out);
	if (color == COMM_NOCOLOR)
		return SK_OK;
	out->ops = &comm_loop_ops;
	out->rank = rank;
	out->size = size;
	out->world_rank = c->world_rank;
	out->impl = ng;
	snprintf(out->name, sizeof out->name, "%s", name != NULL ? name : "");
	return SK_OK;
}

static int
lfree(struct comm *c)
{
	struct comm_loop_group *g, **pp;
	struct family *f;
	struct scratch *s;

	if ((g = group_of(c, "free")) == NULL)
		return err_code();
	f = g->f;
	c->impl = NULL;
	if (g->world) {
		/* This rank's scratch is freed on its own thread (its device). */
		s = &f->sc[c->world_rank];
		f->mem->free(s->p);
		s->p = NULL;
		s->cap = 0;
		return SK_OK;
	}
	pthread_mutex_lock(&f->mu);
	if (--g->refs == 0) {
		for (pp = &f->groups; *pp != g; pp = &(*pp)->next)
			;
		*pp = g->next;
		free(g);
	}
	pthread_mutex_unlock(&f->mu);
	return SK_OK;
}

static int
req_test(struct comm_req *req, int *isdone)
{
	*isdone = 1;
	if (req->handle == 0)
		return SK_OK;
	*isdone = 0;
	return err_set(SK_ERR_ARG, "test: request handle %d of %s names no "
	    "pending operation (loopback requests complete at their start)",
	    req->handle, req->op != NULL ? req->op : "?");
}

static int
req_wait(struct comm_req *req)
{
	int isdone;

	return req_test(req, &isdone);
}

static void
labort(struct comm *c, int code)
{
	struct comm_loop_group *g;

	if (c != NULL && c->ops == &comm_loop_ops && c->impl != NULL) {
		g = c->impl;
		pthread_mutex_lock(&g->f->mu);
		poison_locked(g->f, c->world_rank, "aborted");
		pthread_mutex_unlock(&g->f->mu);
	}
	fflush(NULL);
	exit(code);
}

int
comm_loop_group_new(int size, const struct backend_ops *mem, double timeout,
    struct comm_loop_group **out)
{
	pthread_condattr_t ca;
	struct family *f;
	int e;

	*out = NULL;
	if (size < 1 || size > LOOP_SIZE_MAX)
		return err_set(SK_ERR_ARG, "loopback group: %d ranks (1 .. %d)",
		    size, LOOP_SIZE_MAX);
	if (timeout == 0 || timeout != timeout)
		return err_set(SK_ERR_ARG, "loopback group: timeout %g s (use < 0 "
		    "for none)", timeout);
	if ((e = backend_check(mem)) != SK_OK) {
		err_prefix("loopback group");
		return e;
	}
	if ((f = calloc(1, sizeof *f)) == NULL ||
	    (f->sc = calloc((size_t)size, sizeof *f->sc)) == NULL ||
	    group_new(f, size, 1) == NULL) {
		if (f != NULL)
			free(f->sc);
		free(f);
		return err_set(SK_ERR_NOMEM, "loopback group of %d ranks: out "
		    "of memory", size);
	}
	f->mem = mem;
	f->timeout = timeout;
	f->nworld = size;
	pthread_mutex_init(&f->mu, NULL);
	pthread_condattr_init(&ca);
	/* Deadlines on the monotonic clock: a clock change does not end or
	 * stretch a wait. */
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cv, &ca);
	pthread_condattr_destroy(&ca);
	*out = f->groups;
	return SK_OK;
}

int
comm_loop_join(struct comm_loop_group *g, int rank, struct comm *out)
{
	if (g == NULL || !g->world)
		return err_set(SK_ERR_ARG, "loopback join: not a world group");
	if (rank < 0 || rank >= g->size)
		return err_set(SK_ERR_RANGE, "loopback join: rank %d is outside "
		    "0..%d", rank, g->size - 1);
	memset(out, 0, sizeof *out);
	out->ops = &comm_loop_ops;
	out->rank = rank;
	out->size = g->size;
	out->world_rank = rank;
	out->impl = g;
	snprintf(out->name, sizeof out->name, "world");
	return SK_OK;
}

void
comm_loop_poison(struct comm_loop_group *g, int rank)
{
	if (g == NULL)
		return;
	pthread_mutex_lock(&g->f->mu);
	poison_locked(g->f, rank, "it stopped");
	pthread_mutex_unlock(&g->f->mu);
}

void
comm_loop_group_free(struct comm_loop_group *g)
{
	struct comm_loop_group *n;
	struct family *f;
	int k;

	if (g == NULL)
		return;
	f = g->f;
	for (k = 0; k < f->nworld; k++)
		f->mem->free(f->sc[k].p);
	for (g = f->groups; g != NULL; g = n) {
		n = g->next;
		free(g);
	}
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	free(f->sc);
	free(f);
}

const struct comm_ops comm_loop_ops = {
	.version = COMM_OPS_VERSION,
	.name = "loop",
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
	.free = lfree,
	.abort = labort,
};
