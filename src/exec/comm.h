/*
 * comm: the communicator contract of the executor.  A communicator is a
 * group of ranks that run collectives together on float buffers; the
 * executor moves CP shards (all-gather, reduce-scatter) and DP gradients
 * (all-reduce) through it.  Backends (MPI now, NCCL later) fill one
 * versioned ops table; nothing here names a backend's types.
 *
 * Counts and displacements are in elements (floats), never bytes.  Every
 * collective is called by every rank of the communicator, in the same
 * order, with matching counts; reductions are sums.  A buffer may be used
 * in place where an operation says so; otherwise send and receive must not
 * overlap.
 *
 * Errors: every function returns 0 (SK_OK) or a code of err.h and records
 * a message naming the operation, the communicator and the rank, as in
 *   "allreduce: rank 1 of 2 in CP group of DP rank 1 (world rank 3):
 *    count 2147483648 is above 2147483647".
 * Argument errors (SK_ERR_ARG, SK_ERR_RANGE) are found before any
 * communication, so a call every rank makes with the same bad arguments
 * fails on every rank and the job can go on.  Communication failures are
 * SK_ERR_IO.  A rank that fails while its peers are inside a collective
 * leaves them waiting: blocking collectives wait for ever, so the executor
 * runs its communication through the non-blocking variants and comm_wait,
 * whose timeout turns a dead or stuck peer into SK_ERR_IO; the caller then
 * prints the message and calls ops->abort, which stops every rank.
 *
 * Threads: only the thread that created the world communicator calls
 * these functions (MPI_THREAD_FUNNELED); compute threads never do.
 *
 * Ownership: a struct comm is the caller's storage, filled by a
 * constructor (comm_mpi_world, ops->split) and emptied by ops->free; the
 * backend owns what impl points to.  A struct comm_req is the caller's
 * storage too, filled by a non-blocking start and released by the test or
 * wait that sees it complete; the buffers it names must stay valid until
 * then (counts and displacements are copied at the start).
 */
#ifndef SKRULL_COMM_H
#define SKRULL_COMM_H

#include <stddef.h>

/* The ops table layout this header describes; a table of another version
 * is refused (comm_check). */
#define COMM_OPS_VERSION 1

/* Longest communicator name, bytes including the NUL. */
#define COMM_NAME_MAX 64

/* The split color of a rank that takes part in a split but joins no new
 * communicator (MPI_UNDEFINED, NCCL_SPLIT_NOCOLOR). */
#define COMM_NOCOLOR (-1)

/* Most non-blocking operations pending at once on one communicator: the
 * backend reserves their state when the communicator is made, so starting
 * one allocates nothing. */
#define COMM_REQ_MAX 16

struct comm;

/*
 * One pending non-blocking operation.  All zero is "nothing pending", and
 * so is a request after the test or wait that saw it complete: testing or
 * waiting on it again succeeds at once.
 */
struct comm_req {
	struct comm *comm;  /* the communicator it runs on */
	const char *op;     /* the operation's name, for messages */
	size_t count;       /* elements this rank sends, for messages */
	int handle;         /* the backend's: 0 when nothing is pending */
};

struct comm_ops {
	int version;       /* COMM_OPS_VERSION */
	const char *name;  /* the backend: "mpi" */

	/* recv[k * count + i] = rank k's send[i]; recv holds size * count.
	 * In place when send == recv + rank * count. */
	int (*allgather)(struct comm *c, const float *send, float *recv,
	    size_t count);
	/* recv[displs[k] + i] = rank k's send[i] for i < counts[k]; this
	 * rank's count must equal counts[rank].  Elements of recv outside the
	 * blocks are left as they are.  In place when send == recv +
	 * displs[rank]. */
	int (*allgatherv)(struct comm *c, const float *send, size_t count,
	    float *recv, const size_t *counts, const size_t *displs);
	/* send holds size * count: block k (send[k * count ...]) is summed
	 * over the ranks into rank k's recv, count elements.  In place when
	 * send == recv (recv then holds the size * count input, and the
	 * result lands in its first count elements). */
	int (*reduce_scatter)(struct comm *c, const float *send, float *recv,
	    size_t count);
	/* recv[i] = the sum over ranks of send[i]; in place when send ==
	 * recv. */
	int (*allreduce)(struct comm *c, const float *send, float *recv,
	    size_t count);
	int (*barrier)(struct comm *c);
	/* buf on every rank = buf on rank root, count elements. */
	int (*bcast)(struct comm *c, float *buf, size_t count, int root);

	/* Non-blocking variants: same arguments and results, begun here and
	 * finished by test, wait or comm_wait on req.  The backend moves them
	 * forward only inside its calls (MPI progresses inside MPI_Test), so
	 * a long computation overlapped with one should call test now and
	 * then. */
	int (*iallgatherv)(struct comm *c, const float *send, size_t count,
	    float *recv, const size_t *counts, const size_t *displs,
	    struct comm_req *req);
	int (*ireduce_scatter)(struct comm *c, const float *send, float *recv,
	    size_t count, struct comm_req *req);
	int (*iallreduce)(struct comm *c, const float *send, float *recv,
	    size_t count, struct comm_req *req);
	/* *done = 1 (and req released) when req has completed, else 0. */
	int (*test)(struct comm_req *req, int *done);
	/* Block until req completes, without limit (see comm_wait). */
	int (*wait)(struct comm_req *req);

	/*
	 * Collective over c: the ranks giving the same color (>= 0) form
	 * *out, ranked by key (ties by rank in c), named name (cut to
	 * COMM_NAME_MAX - 1 bytes).  A rank giving COMM_NOCOLOR takes part
	 * and joins none: *out is zeroed (ops NULL), nothing to free.
	 */
	int (*split)(struct comm *c, int color, int key, const char *name,
	    struct comm *out);
	/* Release c (collective over c); an error, leaving c as it is, while
	 * a request on it is pending. */
	int (*free)(struct comm *c);
	/* Stop every process of the job with exit status code; does not
	 * return when the backend is running. */
	void (*abort)(struct comm *c, int code);
};

struct comm {
	const struct comm_ops *ops;
	int rank;                 /* this process's rank in the group */
	int size;                 /* ranks in the group */
	int world_rank;           /* this process's rank in the world, for
	                             messages */
	void *impl;               /* the backend's state */
	char name[COMM_NAME_MAX]; /* "world", "CP group of DP rank 1", ... */
};

/* The communicators of a DP x CP grid: the CP group of DP rank d and the DP
 * group of CP rank r, for world rank g = d * cp + r. */
struct comm_grid {
	int dp, cp;       /* the grid's sides, ranks */
	int d, r;         /* this rank's DP rank and CP rank */
	struct comm cpc;  /* the cp ranks d * cp .. d * cp + cp - 1; rank r */
	struct comm dpc;  /* the dp ranks r, cp + r, ...; rank d */
};

/*
 * Backend-independent helpers (comm.c).
 */

/* SK_ERR_UNSUPPORTED unless c has an ops table of COMM_OPS_VERSION. */
int comm_check(const struct comm *c);

/* "rank R of S in NAME (world rank W)", written into buf of n bytes (cut
 * when longer), for messages. */
void comm_where(const struct comm *c, char *buf, size_t n);

/* For backends: record an error of operation op on c with the message
 * "OP: rank R of S in NAME (world rank W): ..." (printf-style) and return
 * code. */
int comm_err(const struct comm *c, const char *op, int code, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

/* World rank g of a dp x cp grid -> its DP rank *d = g / cp and CP rank
 * *r = g % cp.  SK_ERR_ARG when dp or cp < 1 or dp * cp overflows,
 * SK_ERR_RANGE when g is outside 0 .. dp * cp - 1. */
int comm_grid(int world_rank, int dp, int cp, int *d, int *r);

/* The split colors and keys: the CP group of a rank is its DP rank (same
 * d, ranked by r), its DP group is its CP rank (same r, ranked by d). */
int comm_grid_cp_color(int d, int r);
int comm_grid_dp_color(int d, int r);

/*
 * Split world (of dp * cp ranks) into g->cpc and g->dpc, collective over
 * world.  Either both are made or neither (an error after the first split
 * frees it).  Release with comm_grid_free.
 */
int comm_grid_split(struct comm *world, int dp, int cp, struct comm_grid *g);
int comm_grid_free(struct comm_grid *g);

/*
 * Wait for req for at most seconds: polls ops->test, sleeping between
 * polls (from 1 us, doubling up to 200 us), so a request that completes
 * returns within about 200 us of completion.  SK_ERR_IO when it has not
 * completed in time: a peer is dead or stuck, the request stays pending
 * and the communicator cannot be used further; print the message and
 * call ops->abort.  seconds < 0 waits without limit (ops->wait).
 */
int comm_wait(struct comm_req *req, double seconds);

/*
 * The MPI backend (comm_mpi.c, built only with HAVE_MPI).
 */

/*
 * Start MPI (MPI_Init_thread, MPI_THREAD_FUNNELED; or join it when some
 * other part of the process started it) and make *world: a duplicate of
 * MPI_COMM_WORLD, so that our traffic never matches another library's,
 * with errors returned as codes (MPI_ERRORS_RETURN), named "world".
 */
int comm_mpi_world(int *argc, char ***argv, struct comm *world);

/* ops->split and ops->free of the MPI backend. */
int comm_mpi_split(struct comm *c, int color, int key, const char *name,
    struct comm *out);
int comm_mpi_free(struct comm *c);

/* End MPI if comm_mpi_world started it, after every communicator is
 * freed. */
int comm_mpi_finalize(void);

/* The MPI ops table. */
extern const struct comm_ops comm_mpi_ops;

#endif
