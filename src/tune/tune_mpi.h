/*
 * tune_mpi: `skrull tune` over MPI ranks (built only with HAVE_MPI).  Every
 * rank reads the same trace and enumerates the same candidates; rank r of
 * K evaluates the candidates i with i % K == r (tune_evaluate_all with
 * first r, stride K); tune_mpi_gather brings their results to rank 0, which
 * ranks them and writes the output as a run without MPI would.
 *
 * MPI is used only when the process was started by an MPI launcher
 * (mpirun sets OMPI_COMM_WORLD_SIZE or PMIX_RANK); otherwise everything is
 * rank 0 of 1 and no MPI call is made, so a plain `skrull tune` works
 * without an MPI runtime.  MPI calls come from the calling thread only
 * (MPI_THREAD_FUNNELED: the evaluation threads never call MPI).
 *
 * Errors name the MPI call and the rank (SK_ERR_IO).  Once MPI is up, a
 * rank that fails anywhere must call tune_mpi_abort after printing its message:
 * the others would otherwise wait in tune_mpi_gather for ever.
 */
#ifndef SKRULL_TUNE_MPI_H
#define SKRULL_TUNE_MPI_H

#include <stddef.h>

#include "tune.h"

/*
 * The values one candidate's evaluation sets (tune_evaluate: fill(), or
 * evaluated = feasible = 0 for a point that does not fit), moved as
 * doubles in this order.  Counts are exact up to 2^53.  The point itself
 * (layout, policy, knobs, bucket_lo, bucket_max) is the same on every rank
 * (tune_enumerate is deterministic); baseline_mean is set later by
 * tune_rank on rank 0.
 */
enum {
	TUNE_MPI_BUCKET,       /* job.bucket, tokens: the BucketSize chosen */
	TUNE_MPI_EVALUATED, TUNE_MPI_FEASIBLE, TUNE_MPI_PRUNED,
	TUNE_MPI_BATCHES, TUNE_MPI_EVALUATIONS,
	TUNE_MPI_MEAN, TUNE_MPI_CI_LO, TUNE_MPI_CI_HI,  /* s */
	TUNE_MPI_MFU,
	TUNE_MPI_PEAK,         /* bytes */
	TUNE_MPI_HEADROOM,
	TUNE_MPI_OOMS, TUNE_MPI_OOM_BOUND,
	TUNE_MPI_DROPPED,      /* samples */
	TUNE_MPI_BOUND,        /* s */
	TUNE_MPI_NFIELDS
};

/* Start MPI when launched by mpirun (else no MPI: *rank 0, *size 1). */
int tune_mpi_init(int *argc, char ***argv, int *rank, int *size);

/*
 * After rank r evaluated c[i] for i % size == r, copy those results into
 * rank 0's array c (the other ranks' arrays are left as they are).  Every
 * rank must call it with the same n; a rank whose n differs is an error on
 * rank 0.  SK_OK at once when size is 1.
 */
int tune_mpi_gather(struct tune_candidate *c, size_t n, int rank, int size);

/* End MPI if tune_mpi_init started it (nothing otherwise). */
int tune_mpi_finalize(void);

/* Stop every rank with exit status status (MPI_Abort) when MPI is up;
 * returns (doing nothing) otherwise. */
void tune_mpi_abort(int status);

#endif
