/* world: how the ranks of a run meet (world.h). */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "backend.h"
#include "comm.h"
#include "comm_loop.h"
#include "cudamod.h"
#include "err.h"
#include "ranks.h"
#include "world.h"

int
world_built(enum world_comm comm)
{
	switch (comm) {
	case WORLD_MPI:
#ifdef HAVE_MPI
		return 1;
#else
		return 0;
#endif
	case WORLD_NCCL:
#ifdef HAVE_NCCL
		return 1;
#else
		return 0;
#endif
	default:
		return 1;
	}
}

int
world_launched(void)
{
	static const char *const vars[] = {
		"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "SLURM_NTASKS"
	};
	size_t i;

	for (i = 0; i < sizeof vars / sizeof vars[0]; i++)
		if (getenv(vars[i]) != NULL)
			return 1;
	return 0;
}

int
world_local_rank(void)
{
	static const char *const vars[] = {
		"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID"
	};
	const char *v;
	size_t i;

	for (i = 0; i < sizeof vars / sizeof vars[0]; i++)
		if ((v = getenv(vars[i])) != NULL && atoi(v) >= 0)
			return atoi(v);
	return 0;
}

long
world_local_size(void)
{
	const char *v = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");

	return v != NULL ? atol(v) : 1;
}

int
world_processes(enum world_comm comm)
{
	if (comm == WORLD_MPI)
		return 1;
	if (comm == WORLD_LOOP)
		return 0;
	return world_built(WORLD_MPI) && world_launched();
}

int
world_process_comm(enum world_comm comm, const struct backend_ops *b,
    enum world_comm *out)
{
	int cpu = strcmp(b->name, "cpu") == 0;

	*out = comm != WORLD_AUTO ? comm : cpu ? WORLD_MPI : WORLD_NCCL;
	if (*out == WORLD_MPI && !cpu)
		return err_set(SK_ERR_UNSUPPORTED, "--comm mpi moves host memory, "
		    "and the %s backend's buffers are on the device: use --comm "
		    "nccl", b->name);
	return SK_OK;
}

void
world_init(struct world *w, void (*say)(int rank))
{
	memset(w, 0, sizeof *w);
	w->say = say;
}

int
world_thread_comm(enum world_comm comm, const struct backend_ops *b, int n,
    int ndev, enum world_comm *out)
{
	/* A GPU each makes real transfers worth NCCL; one rank has none. */
	if (comm == WORLD_AUTO)
		comm = world_built(WORLD_NCCL) && strcmp(b->name, "cuda") == 0 &&
		    n >= 2 && n <= ndev ? WORLD_NCCL : WORLD_LOOP;
	*out = comm;
	if (comm == WORLD_NCCL && !world_built(WORLD_NCCL))
		return err_set(SK_ERR_UNSUPPORTED, "--comm nccl: this skrull was "
		    "built without NCCL");
	if (comm == WORLD_NCCL && n > ndev)
		return err_set(SK_ERR_ARG, "--comm nccl in one process needs a "
		    "GPU per rank: the plan has %d ranks, this machine shows %d "
		    "GPU%s (--comm loop emulates the ranks on fewer)", n, ndev,
		    ndev == 1 ? "" : "s");
	if (comm != WORLD_NCCL && comm != WORLD_LOOP)
		return err_set(SK_ERR_ARG, "threads communicate over loop or nccl");
	return SK_OK;
}

int
world_threads(struct world *w, enum world_comm comm, int n,
    const struct backend_ops *b, double timeout)
{
	int i, e;

	if ((w->rank = calloc((size_t)n, sizeof *w->rank)) == NULL)
		return err_set(SK_ERR_NOMEM, "out of memory");
	w->comm = comm;
	w->n = n;
	if (comm == WORLD_NCCL) {
#ifdef HAVE_NCCL
		const struct cudamod *m;

		if ((e = cudamod_get(&m)) != SK_OK ||
		    (e = m->nccl_world_all(n, w->rank)) != SK_OK)
			return e;
		for (i = 0; i < n; i++)
			m->nccl_set_timeout(&w->rank[i], timeout);
		return SK_OK;
#else
		return err_set(SK_ERR_UNSUPPORTED, "this skrull was built without "
		    "NCCL");
#endif
	}
	if ((e = comm_loop_group_new(n, b, timeout, &w->g)) != SK_OK)
		return e;
	for (i = 0; i < n; i++)
		comm_loop_join(w->g, i, &w->rank[i]);
	return SK_OK;
}

/* What the rank threads of world_threads_run share. */
struct threads {
	struct world *w;
	int (*fn)(int rank, struct comm *c, void *arg);
	void *arg;
};

static int
thread_main(int rank, void *arg)
{
	struct threads *t = arg;

	return t->fn(rank, &t->w->rank[rank], t->arg);
}

static void
thread_stop(int rank, void *arg)
{
	struct world *w = ((struct threads *)arg)->w;

	if (w->comm == WORLD_LOOP) {
		comm_loop_poison(w->g, rank);
		return;
	}
	/* NCCL has no way to wake peers blocked in a collective but
	 * aborting (ncclCommAbort, exit 1), so the failure is said first. */
	if (w->say != NULL)
		w->say(rank);
	w->rank[rank].ops->abort(&w->rank[rank], 1);
}

int
world_threads_run(struct world *w, int (*fn)(int rank, struct comm *c,
    void *arg), void *arg, int *failed)
{
	struct threads t = { w, fn, arg };

	return ranks_run(w->n, thread_main, thread_stop, &t, failed);
}

int
world_mpi(struct world *w, int *argc, char ***argv)
{
#ifdef HAVE_MPI
	int e;

	if ((e = comm_mpi_world(argc, argv, &w->mpi)) != SK_OK)
		return e;
	w->mpi_up = 1;
	w->procs = 1;
	w->comm = WORLD_MPI;
	return SK_OK;
#else
	(void)w;
	(void)argc;
	(void)argv;
	return err_set(SK_ERR_UNSUPPORTED, "this skrull was built without MPI");
#endif
}

int
world_nccl(struct world *w, int device, double timeout)
{
#ifdef HAVE_NCCL
	const struct cudamod *m;
	int e;

	if ((e = cudamod_get(&m)) != SK_OK ||
	    (e = m->nccl_world_mpi(&w->mpi, device, &w->nccl)) != SK_OK)
		return e;
	w->nccl_up = 1;
	w->comm = WORLD_NCCL;
	if (timeout > 0)
		m->nccl_set_timeout(&w->nccl, timeout);
	return SK_OK;
#else
	(void)w;
	(void)device;
	(void)timeout;
	return err_set(SK_ERR_UNSUPPORTED, "this skrull was built without NCCL");
#endif
}

struct comm *
world_comm(struct world *w)
{
	return w->nccl_up ? &w->nccl : w->mpi_up ? &w->mpi : NULL;
}

/* A rank's outcome in world_agree: its first cell; then its digest. */
enum { AGREE_OK, AGREE_LOAD, AGREE_DIGEST, AGREE_PARTS = 4,
	AGREE_CELLS = 1 + AGREE_PARTS };

/* "1, 3, 4" (at most 8 named, then the count) of the n ranks whose
 * outcome is what, into buf; how many. */
static int
agree_ranks(const int *outcome, int n, int what, char *buf, size_t len)
{
	size_t at = 0;
	int k, c = 0;

	buf[0] = '\0';
	for (k = 0; k < n; k++) {
		if (outcome[k] != what)
			continue;
		if (c < 8 && at < len)
			at += (size_t)snprintf(buf + at, len - at, "%s%d",
			    c > 0 ? ", " : "", k);
		c++;
	}
	if (c > 8 && at < len)
		snprintf(buf + at, len - at, " and %d more", c - 8);
	return c;
}

/* Rank k's digest from its cells: each 16-bit part is an integer below
 * 2^16, exact in a float, so the 64 bits come back whole. */
static uint64_t
agree_digest(const float *cells)
{
	uint64_t d = 0;
	int i;

	for (i = 0; i < AGREE_PARTS; i++)
		d |= (uint64_t)cells[1 + i] << (16 * i);
	return d;
}

/* The refusal message once every rank's outcome is known (SK_ERR_ARG), or
 * SK_OK. */
static int
agree_verdict(const struct comm *c, const int *outcome, int failed,
    uint64_t mine, uint64_t d0, const char *what)
{
	char who[160];
	int nload, ndiff;

	if ((nload = agree_ranks(outcome, c->size, AGREE_LOAD, who,
	    sizeof who)) > 0) {
		if (failed)
			return SK_ERR_ARG;  /* this rank's own message stands */
		return err_set(SK_ERR_ARG, "the plan could not be loaded on "
		    "rank%s %s (see %s message%s): refused", nload == 1 ? "" : "s",
		    who, nload == 1 ? "its" : "their", nload == 1 ? "" : "s");
	}
	if ((ndiff = agree_ranks(outcome, c->size, AGREE_DIGEST, who,
	    sizeof who)) == 0)
		return SK_OK;
	if (outcome[c->rank] == AGREE_DIGEST)
		return err_set(SK_ERR_ARG, "the plan %s (digest %016" PRIx64 ") "
		    "differs from rank 0's (digest %016" PRIx64 "): every rank "
		    "must run the same plan; refused", what, mine, d0);
	return err_set(SK_ERR_ARG, "rank%s %s %s a plan other than rank 0's "
	    "(digest %016" PRIx64 "): refused", ndiff == 1 ? "" : "s", who,
	    ndiff == 1 ? "has" : "have", d0);
}

int
world_agree(struct comm *c, int failed, uint64_t digest, const char *what,
    double timeout)
{
	struct comm_req rq = { 0 };
	size_t n = (size_t)c->size * AGREE_CELLS, at = (size_t)c->rank *
	    AGREE_CELLS;
	float *v = NULL;
	int *outcome = NULL;
	uint64_t d0;
	int i, k, e;

	if ((v = calloc(n, sizeof *v)) == NULL ||
	    (outcome = calloc((size_t)c->size, sizeof *outcome)) == NULL) {
		e = err_set(SK_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* Each rank fills only its own cells of a zeroed vector, so the sum
	 * is every rank's cells side by side, each exact. */
	v[at] = failed ? AGREE_LOAD : AGREE_OK;
	for (i = 0; i < AGREE_PARTS; i++)
		v[at + 1 + (size_t)i] = (float)(failed ? 0 :
		    (digest >> (16 * i)) & 0xffff);
	/* Any failure here is the communication's (its message stands):
	 * SK_ERR_ARG is kept for a refusal. */
	if (c->ops->iallreduce(c, v, v, n, &rq) != SK_OK ||
	    comm_wait(&rq, timeout) != SK_OK) {
		e = SK_ERR_IO;
		goto out;
	}
	d0 = agree_digest(v);
	for (k = 0; k < c->size; k++) {
		const float *ck = v + (size_t)k * AGREE_CELLS;

		outcome[k] = ck[0] == AGREE_OK ? AGREE_OK : AGREE_LOAD;
		if (k > 0 && v[0] == AGREE_OK && outcome[k] == AGREE_OK &&
		    agree_digest(ck) != d0)
			outcome[k] = AGREE_DIGEST;
	}
	e = agree_verdict(c, outcome, failed, failed ? 0 : digest, d0, what);
out:
	free(outcome);
	free(v);
	return e;
}

void
world_how(const struct world *w, char *buf, size_t n)
{
	const struct comm *c;

	if (w->procs) {
		c = w->nccl_up ? &w->nccl : &w->mpi;
		snprintf(buf, n, "%s (%d process%s)", c->ops->name, c->size,
		    c->size == 1 ? "" : "es");
	} else if (w->comm == WORLD_LOOP)
		snprintf(buf, n, "loopback (emulated: %d rank%s in one process)",
		    w->n, w->n == 1 ? "" : "s");
	else
		snprintf(buf, n, "nccl (%d GPU%s, a thread each)", w->n,
		    w->n == 1 ? "" : "s");
}

int
world_emulated(const struct world *w)
{
	return !w->procs && w->comm == WORLD_LOOP;
}

void
world_abort(struct world *w)
{
	struct comm *c = world_comm(w);

	if (c != NULL)
		c->ops->abort(c, 1);
}

void
world_free(struct world *w)
{
	if (w->nccl_up)
		w->nccl.ops->free(&w->nccl);
#ifdef HAVE_MPI
	if (w->mpi_up) {
		w->mpi.ops->free(&w->mpi);
		comm_mpi_finalize();
	}
#endif
	comm_loop_group_free(w->g);
	free(w->rank);
	world_init(w, w->say);
}
