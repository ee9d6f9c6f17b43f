/*
 * world: how the ranks of a run meet.  Either the ranks are threads of
 * this process, each with its own world communicator (loopback: the
 * communication emulated by copies in memory; or NCCL, a GPU each), or
 * they are the processes a launcher (mpirun, srun) started, one rank
 * each, meeting over MPI and then communicating over MPI or over NCCL
 * bootstrapped over MPI.  A struct world holds the communicators of
 * either kind, the hooks that stop the others when one rank fails, and
 * the agreement on the plan the ranks were given.
 *
 * Builds: MPI and NCCL are optional (world_built); what a build lacks is
 * refused with SK_ERR_UNSUPPORTED.  Only comm_mpi.c and comm_nccl.c see
 * their libraries' headers; this module reaches them through comm.h and
 * comm_nccl.h.
 *
 * Errors: functions return SK_OK or a code of err.h with its message
 * recorded (err.h); nothing here prints but through the caller's say hook.
 */
#ifndef SKRULL_WORLD_H
#define SKRULL_WORLD_H

#include <stdint.h>

#include "comm.h"

struct backend_ops;
struct comm_loop_group;

/* How the ranks communicate: --comm; AUTO until world_thread_comm or
 * world_process_comm chooses. */
enum world_comm { WORLD_AUTO, WORLD_MPI, WORLD_LOOP, WORLD_NCCL };

/* Longest world_how text, bytes including the NUL. */
#define WORLD_HOW_MAX 96

struct world {
	enum world_comm comm;       /* what the ranks use (never AUTO once made) */
	int procs;                  /* 1: processes under a launcher */
	int n;                      /* threads: the ranks of this process */
	struct comm *rank;          /* threads: rank k's world, n of them */
	struct comm_loop_group *g;  /* threads over loopback: their group */
	struct comm mpi;            /* processes: the MPI world */
	struct comm nccl;           /* processes over NCCL: bootstrapped over mpi */
	int mpi_up, nccl_up;        /* which of the two are made */
	/* Prints rank's failure (err_msg()) before an abort that ends the
	 * process: NCCL cannot wake its peers otherwise (world_threads_run).
	 * NULL: nothing printed. */
	void (*say)(int rank);
};

/* Whether this build has comm: MPI and NCCL are optional, the loopback
 * is always there. */
int world_built(enum world_comm comm);

/* Whether a launcher (mpirun, srun, a PMI process manager) started this
 * process (OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMIX_RANK or SLURM_NTASKS is
 * set): then its peers are other processes, reached through MPI. */
int world_launched(void);

/* This process's index among the ranks on its machine, as the launcher
 * tells it (OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID, MPI_LOCALRANKID),
 * for the GPU it takes; 0 if none says. */
int world_local_rank(void);

/* The processes on this machine as the launcher tells it
 * (OMPI_COMM_WORLD_LOCAL_SIZE); 1 if it does not. */
long world_local_size(void);

/* Whether the ranks asked for by comm are processes under a launcher (one
 * each) rather than threads of this one: mpi always is; loop never; nccl
 * and AUTO are when a launcher started skrull and the build has MPI. */
int world_processes(enum world_comm comm);

/* The communicator of processes for backend b: the one asked for, or
 * NCCL for a device backend and MPI for the CPU.  SK_ERR_UNSUPPORTED when
 * MPI is asked to move a device backend's buffers. */
int world_process_comm(enum world_comm comm, const struct backend_ops *b,
    enum world_comm *out);

/* An empty world (no communicator made) whose failures say is told. */
void world_init(struct world *w, void (*say)(int rank));

/*
 * The communicator of n ranks as threads for backend b with ndev devices:
 * the one asked for, or (AUTO) NCCL when b has a GPU for each of two or
 * more ranks (real transfers), else the loopback.  SK_ERR_UNSUPPORTED for
 * NCCL without NCCL in the build; SK_ERR_ARG for NCCL on more ranks than
 * devices, or MPI.
 */
int world_thread_comm(enum world_comm comm, const struct backend_ops *b,
    int n, int ndev, enum world_comm *out);

/* Make n ranks as threads over comm (LOOP, over b's memory, or NCCL, rank
 * k on device k), every wait bounded by timeout seconds.  Each rank
 * frees its own communicator (w->rank[k]) unless a communication failed;
 * world_free the rest. */
int world_threads(struct world *w, enum world_comm comm, int n,
    const struct backend_ops *b, double timeout);

/*
 * Run fn(rank, rank's world communicator, arg) on the n threads of a
 * thread world (ranks_run).  When a rank fails the others are stopped:
 * the loopback group is poisoned, so they fail at once; a NCCL rank says
 * why (w->say) and aborts the process (exit status 1).  SK_OK, or the
 * first failure's code with its message and its rank in *failed.
 */
int world_threads_run(struct world *w, int (*fn)(int rank, struct comm *c,
    void *arg), void *arg, int *failed);

/* This process as a rank of the MPI world (comm_mpi_world: MPI started
 * here, argc and argv as MPI_Init's); its communicator is w->mpi. */
int world_mpi(struct world *w, int *argc, char ***argv);

/* Bootstrap NCCL over the MPI world, this process on CUDA device device,
 * each call NCCL leaves in progress bounded by timeout seconds (0: NCCL's
 * default, COMM_NCCL_TIMEOUT); collective over the MPI world, failures
 * agreed. */
int world_nccl(struct world *w, int device, double timeout);

/* The communicator a process's rank runs on: NCCL's once bootstrapped,
 * else MPI's; NULL in a world of threads or before world_mpi. */
struct comm *world_comm(struct world *w);

/*
 * The ranks of c agree on the plan before any work, in one collective
 * bounded by timeout seconds.  failed: this rank could not load its plan
 * (and said why); digest: its plan_digest otherwise; what names the plan
 * in messages.  Each rank sends its outcome and its digest as integers
 * exact in floats (the digest in four 16-bit parts), so every rank sees
 * every rank's and compares whole 64-bit digests.  SK_OK when every rank
 * loaded a plan with rank 0's digest.  SK_ERR_ARG when not: the message
 * names the ranks that failed to load or the ones whose digest differs,
 * except on a rank that failed itself, whose own message stands.
 * Another code (SK_ERR_IO, SK_ERR_NOMEM) when the agreement could not be
 * made: abort.
 */
int world_agree(struct comm *c, int failed, uint64_t digest, const char *what,
    double timeout);

/* The communication as a report says it: "loopback (emulated: 4 ranks in
 * one process)", "nccl (2 GPUs, a thread each)", "mpi (4 processes)";
 * into buf of WORLD_HOW_MAX bytes. */
void world_how(const struct world *w, char *buf, size_t n);

/* Whether the world only emulates its communication (loopback). */
int world_emulated(const struct world *w);

/* Stop every process of the job with exit status 1 (a process world's
 * communicator abort); does not return once MPI is up. */
void world_abort(struct world *w);

/* Release what w made, ending MPI if world_mpi started it.  After a
 * communication failure the communicators are unusable: abort instead. */
void world_free(struct world *w);

#endif
