/* tune_mpi: see tune_mpi.h. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <mpi.h>

#include "err.h"
#include "tune_mpi.h"

/* Counts travel as doubles, which hold every integer up to 2^53. */
#define COUNT_MAX ((uint64_t)1 << 53)

static int active;       /* tune_mpi_init started MPI and tune_mpi_finalize has not
                            ended it */
static int self = -1;    /* this process's rank, for messages; -1 before
                            it is known */

/* Record the failure of MPI call `call` with its code's text. */
static int
mpi_fail(const char *call, int rc)
{
	char s[MPI_MAX_ERROR_STRING];
	int n = 0;

	if (MPI_Error_string(rc, s, &n) != MPI_SUCCESS)
		snprintf(s, sizeof s, "error code %d", rc);
	return err_set(SK_ERR_IO, "rank %d: %s: %s", self, call, s);
}

/* The launcher's rank, for messages before MPI_Comm_rank. */
static int
launcher_rank(void)
{
	const char *s = getenv("OMPI_COMM_WORLD_RANK");
	char *end;
	long r;

	if (s == NULL)
		s = getenv("PMIX_RANK");
	if (s == NULL)
		return -1;
	r = strtol(s, &end, 10);
	return *end == '\0' && r >= 0 && r <= INT_MAX ? (int)r : -1;
}

int
tune_mpi_init(int *argc, char ***argv, int *rank, int *size)
{
	int rc, provided = MPI_THREAD_SINGLE;

	*rank = 0;
	*size = 1;
	if (getenv("OMPI_COMM_WORLD_SIZE") == NULL &&
	    getenv("PMIX_RANK") == NULL)
		return SK_OK;
	self = launcher_rank();
	if ((rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED,
	    &provided)) != MPI_SUCCESS)
		return mpi_fail("MPI_Init_thread", rc);
	active = 1;
	/* Errors come back as codes, to be reported with the rank. */
	if ((rc = MPI_Comm_set_errhandler(MPI_COMM_WORLD,
	    MPI_ERRORS_RETURN)) != MPI_SUCCESS)
		return mpi_fail("MPI_Comm_set_errhandler", rc);
	if ((rc = MPI_Comm_rank(MPI_COMM_WORLD, &self)) != MPI_SUCCESS)
		return mpi_fail("MPI_Comm_rank", rc);
	if ((rc = MPI_Comm_size(MPI_COMM_WORLD, size)) != MPI_SUCCESS)
		return mpi_fail("MPI_Comm_size", rc);
	if (provided < MPI_THREAD_FUNNELED)
		return err_set(SK_ERR_UNSUPPORTED, "rank %d: MPI_Init_thread: "
		    "the MPI library gives thread level %d, below "
		    "MPI_THREAD_FUNNELED (the evaluation threads run beside "
		    "MPI)", self, provided);
	*rank = self;
	return SK_OK;
}

/* Candidates rank r of size evaluates among n: i = r, r + size, ... */
static size_t
owned(size_t n, int r, int size)
{
	return (size_t)r < n ? (n - 1 - (size_t)r) / (size_t)size + 1 : 0;
}

static int
pack(const struct tune_candidate *x, size_t i, double *v)
{
	if ((uint64_t)x->batches > COUNT_MAX ||
	    (uint64_t)x->evaluations > COUNT_MAX ||
	    (uint64_t)x->ooms > COUNT_MAX || (uint64_t)x->dropped > COUNT_MAX)
		return err_set(SK_ERR_RANGE, "rank %d: candidate %zu: a count "
		    "is above 2^53, more than a double moves exactly", self, i);
	v[TUNE_MPI_BUCKET] = x->job.bucket;
	v[TUNE_MPI_EVALUATED] = x->evaluated;
	v[TUNE_MPI_FEASIBLE] = x->feasible;
	v[TUNE_MPI_PRUNED] = x->pruned;
	v[TUNE_MPI_BATCHES] = (double)x->batches;
	v[TUNE_MPI_EVALUATIONS] = (double)x->evaluations;
	v[TUNE_MPI_MEAN] = x->mean;
	v[TUNE_MPI_CI_LO] = x->ci_lo;
	v[TUNE_MPI_CI_HI] = x->ci_hi;
	v[TUNE_MPI_MFU] = x->mfu;
	v[TUNE_MPI_PEAK] = x->peak;
	v[TUNE_MPI_HEADROOM] = x->headroom;
	v[TUNE_MPI_OOMS] = (double)x->ooms;
	v[TUNE_MPI_OOM_BOUND] = x->oom_bound;
	v[TUNE_MPI_DROPPED] = (double)x->dropped;
	v[TUNE_MPI_BOUND] = x->bound;
	return SK_OK;
}

static void
unpack(const double *v, struct tune_candidate *x)
{
	x->job.bucket = (uint32_t)v[TUNE_MPI_BUCKET];
	x->evaluated = (int)v[TUNE_MPI_EVALUATED];
	x->feasible = (int)v[TUNE_MPI_FEASIBLE];
	x->pruned = (int)v[TUNE_MPI_PRUNED];
	x->batches = (size_t)v[TUNE_MPI_BATCHES];
	x->evaluations = (size_t)v[TUNE_MPI_EVALUATIONS];
	x->mean = v[TUNE_MPI_MEAN];
	x->ci_lo = v[TUNE_MPI_CI_LO];
	x->ci_hi = v[TUNE_MPI_CI_HI];
	x->mfu = v[TUNE_MPI_MFU];
	x->peak = v[TUNE_MPI_PEAK];
	x->headroom = v[TUNE_MPI_HEADROOM];
	x->ooms = (size_t)v[TUNE_MPI_OOMS];
	x->oom_bound = v[TUNE_MPI_OOM_BOUND];
	x->dropped = (size_t)v[TUNE_MPI_DROPPED];
	x->bound = v[TUNE_MPI_BOUND];
}

int
tune_mpi_gather(struct tune_candidate *c, size_t n, int rank, int size)
{
	unsigned long long mine_n = n, *all_n = NULL;
	double *send = NULL, *recv = NULL;
	int *counts = NULL, *displs = NULL, e = SK_OK, rc, r;
	size_t mine, k, total = 0;

	if (size <= 1)
		return SK_OK;
	if (!active || rank < 0 || rank >= size)
		return err_set(SK_ERR_ARG, "tune_mpi_gather: rank %d of %d, but MPI "
		    "is %s", rank, size, active ? "up" : "not started");
	if (n > (size_t)INT_MAX / TUNE_MPI_NFIELDS)
		return err_set(SK_ERR_RANGE, "rank %d: %zu candidates, more "
		    "than one MPI message holds", rank, n);
	mine = owned(n, rank, size);
	if ((send = malloc((mine > 0 ? mine : 1) * TUNE_MPI_NFIELDS *
	    sizeof *send)) == NULL ||
	    (rank == 0 && ((all_n = malloc((size_t)size * sizeof *all_n)) ==
	    NULL || (counts = malloc((size_t)size * sizeof *counts)) == NULL ||
	    (displs = malloc((size_t)size * sizeof *displs)) == NULL ||
	    (recv = malloc((n > 0 ? n : 1) * TUNE_MPI_NFIELDS *
	    sizeof *recv)) == NULL))) {
		e = err_set(SK_ERR_NOMEM, "rank %d: out of memory gathering %zu "
		    "candidates", rank, n);
		goto out;
	}
	for (k = 0; k < mine; k++)
		if ((e = pack(&c[(size_t)rank + k * (size_t)size],
		    (size_t)rank + k * (size_t)size,
		    send + k * TUNE_MPI_NFIELDS)) != SK_OK)
			goto out;

	/* Every rank must have enumerated the same candidates. */
	if ((rc = MPI_Gather(&mine_n, 1, MPI_UNSIGNED_LONG_LONG, all_n, 1,
	    MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD)) != MPI_SUCCESS) {
		e = mpi_fail("MPI_Gather", rc);
		goto out;
	}
	if (rank == 0)
		for (r = 0; r < size; r++) {
			if (all_n[r] != mine_n) {
				e = err_set(SK_ERR_ARG, "rank %d has %llu candidates "
				    "and rank 0 has %llu: every rank must run the "
				    "same tune", r, all_n[r], mine_n);
				goto out;
			}
			counts[r] = (int)(owned(n, r, size) * TUNE_MPI_NFIELDS);
			displs[r] = (int)total;
			total += (size_t)counts[r];
		}
	if ((rc = MPI_Gatherv(send, (int)(mine * TUNE_MPI_NFIELDS), MPI_DOUBLE,
	    recv, counts, displs, MPI_DOUBLE, 0, MPI_COMM_WORLD)) !=
	    MPI_SUCCESS) {
		e = mpi_fail("MPI_Gatherv", rc);
		goto out;
	}
	/* Rank 0's own results are in place already. */
	if (rank == 0)
		for (r = 1; r < size; r++)
			for (k = 0; k < owned(n, r, size); k++)
				unpack(recv + displs[r] + k * TUNE_MPI_NFIELDS,
				    &c[(size_t)r + k * (size_t)size]);
out:
	free(send);
	free(recv);
	free(all_n);
	free(counts);
	free(displs);
	return e;
}

int
tune_mpi_finalize(void)
{
	int rc;

	if (!active)
		return SK_OK;
	rc = MPI_Finalize();
	active = 0;
	if (rc != MPI_SUCCESS)
		return err_set(SK_ERR_IO, "rank %d: MPI_Finalize: error code %d",
		    self, rc);
	return SK_OK;
}

void
tune_mpi_abort(int status)
{
	if (active)
		MPI_Abort(MPI_COMM_WORLD, status);
}
