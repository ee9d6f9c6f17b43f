/* comm_nccl_world: making NCCL communicators (see comm_nccl.h): over an
 * MPI world (the unique id broadcast through its ops table), or one per
 * local GPU driven by threads of this process. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm_nccl_int.h"

/*
 * Make *out around nc, rank of device device (current on this thread):
 * the communication stream (the device's highest priority, so that CP
 * traffic is not starved by the compute it overlaps), the events, the
 * barrier's float.  On failure nc is left to the caller.
 */
int
comm_nccl_make(ncclComm_t nc, int device, const char *name, int world_rank,
    struct comm *mpi, double timeout, struct comm *out)
{
	struct impl *x;
	const char *call;
	cudaError_t rc;
	ncclResult_t nr;
	int rank, size, lo, hi, k;

	if ((nr = ncclCommUserRank(nc, &rank)) != ncclSuccess)
		return comm_nccl_fail(NULL, name, nc, name, "ncclCommUserRank", nr);
	if ((nr = ncclCommCount(nc, &size)) != ncclSuccess)
		return comm_nccl_fail(NULL, name, nc, name, "ncclCommCount", nr);
	if ((x = calloc(1, sizeof *x)) == NULL)
		return err_set(SK_ERR_NOMEM, "%s: world rank %d: out of memory "
		    "for a communicator", name, world_rank);
	x->nc = nc;
	x->device = device;
	x->timeout = timeout;
	x->mpi = mpi;
	call = "cudaDeviceGetStreamPriorityRange";
	if ((rc = cudaDeviceGetStreamPriorityRange(&lo, &hi)) != cudaSuccess)
		goto fail;
	call = "cudaStreamCreateWithPriority";
	if ((rc = cudaStreamCreateWithPriority(&x->stream,
	    cudaStreamNonBlocking, hi)) != cudaSuccess ||
	    (rc = cudaStreamCreateWithPriority(&x->copy,
	    cudaStreamNonBlocking, lo)) != cudaSuccess)
		goto fail;
	call = "cudaEventCreateWithFlags";
	if ((rc = cudaEventCreateWithFlags(&x->ready,
	    cudaEventDisableTiming)) != cudaSuccess ||
	    (rc = cudaEventCreateWithFlags(&x->done,
	    cudaEventDisableTiming)) != cudaSuccess)
		goto fail;
	for (k = 0; k < COMM_REQ_MAX; k++)
		if ((rc = cudaEventCreateWithFlags(&x->slot[k].done,
		    cudaEventDisableTiming)) != cudaSuccess)
			goto fail;
	call = "cudaMalloc";
	if ((rc = cudaMalloc((void **)&x->one, sizeof *x->one)) != cudaSuccess ||
	    (rc = cudaMalloc((void **)&x->stage, (size_t)(COMM_REQ_MAX + 1) *
	    COMM_NCCL_HOST_MAX * sizeof *x->stage)) != cudaSuccess)
		goto fail;
	for (k = 0; k < COMM_REQ_MAX; k++)
		x->slot[k].stage = x->stage + (size_t)k * COMM_NCCL_HOST_MAX;
	memset(out, 0, sizeof *out);
	out->ops = &comm_nccl_ops;
	out->rank = rank;
	out->size = size;
	out->world_rank = world_rank;
	out->impl = x;
	snprintf(out->name, sizeof out->name, "%s", name);
	return SK_OK;
fail:
	comm_nccl_destroy(x);
	return err_set(SK_ERR_IO, "%s: world rank %d, device %d: %s: %s", name,
	    world_rank, device, call, cudaGetErrorString(rc));
}

/* A communicator's creation that returned rc: even a success is checked
 * through the new communicator's state (settle), which is where a
 * non-blocking creation reports. */
ncclResult_t
comm_nccl_begun(ncclResult_t rc)
{
	return rc == ncclSuccess ? ncclInProgress : rc;
}

/* Non-blocking communicators: no NCCL call can hang (see settle). */
static void
config(ncclConfig_t *cfg)
{
	ncclConfig_t c = NCCL_CONFIG_INITIALIZER;

	c.blocking = 0;
	*cfg = c;
}

int
comm_nccl_device_count(int *n)
{
	cudaError_t rc;

	*n = 0;
	rc = cudaGetDeviceCount(n);
	if (rc == cudaErrorNoDevice || rc == cudaErrorInsufficientDriver) {
		*n = 0;
		return SK_OK;
	}
	if (rc != cudaSuccess)
		return err_set(SK_ERR_IO, "cudaGetDeviceCount: %s",
		    cudaGetErrorString(rc));
	return SK_OK;
}

/* Agree over the MPI world whether every rank's step succeeded (own: this
 * rank's code): the agreed code, with this rank's message when it failed,
 * else one counting the failed ranks. */
static int
agree(struct comm *mw, int own, const char *step)
{
	float v = own != SK_OK ? 1.0f : 0.0f;
	int e;

	if ((e = mw->ops->allreduce(mw, &v, &v, 1)) != SK_OK)
		return e;
	if (v == 0)
		return SK_OK;
	if (own != SK_OK)
		return own;
	return err_set(SK_ERR_IO, "world: world rank %d: %s failed on %.0f "
	    "other rank%s (their messages are on their output)",
	    mw->world_rank, step, (double)v, v == 1 ? "" : "s");
}

int
comm_nccl_world_mpi(struct comm *mw, int device, struct comm *out)
{
	float idf[ID_FLOATS];
	ncclUniqueId id;
	ncclConfig_t cfg;
	ncclComm_t nc = NULL;
	cudaError_t rc;
	ncclResult_t nr;
	char what[64];
	int e, own = SK_OK;

	if ((e = comm_check(mw)) != SK_OK)
		return e;
	snprintf(what, sizeof what, "world rank %d, device %d", mw->world_rank,
	    device);
	memset(&id, 0, sizeof id);
	if ((rc = cudaSetDevice(device)) != cudaSuccess)
		own = comm_nccl_cuda_fail(NULL, what, "world", "cudaSetDevice", rc);
	else if (mw->rank == 0 && (nr = ncclGetUniqueId(&id)) != ncclSuccess)
		own = comm_nccl_fail(NULL, what, NULL, "world", "ncclGetUniqueId", nr);
	if ((e = agree(mw, own, "CUDA device or NCCL id")) != SK_OK)
		return e;
	memcpy(idf, &id, sizeof id);
	if ((e = mw->ops->bcast(mw, idf, ID_FLOATS, 0)) != SK_OK)
		return e;
	memcpy(&id, idf, sizeof id);
	config(&cfg);
	nr = ncclCommInitRankConfig(&nc, mw->size, id, mw->rank, &cfg);
	if (nc == NULL && nr == ncclSuccess)
		nr = ncclInternalError;
	if (nc == NULL)
		own = comm_nccl_fail(NULL, what, NULL, "world", "ncclCommInitRankConfig",
		    nr);
	else if ((own = comm_nccl_settle(NULL, what, nc, COMM_NCCL_TIMEOUT, "world",
	    "ncclCommInitRankConfig", comm_nccl_begun(nr))) == SK_OK)
		own = comm_nccl_make(nc, device, "world", mw->world_rank, mw,
		    COMM_NCCL_TIMEOUT, out);
	if ((e = agree(mw, own, "ncclCommInitRank")) != SK_OK) {
		/* The peers may be gone: abort rather than finalize. */
		if (own == SK_OK) {
			comm_nccl_destroy(out->impl);
			out->impl = NULL;
		}
		if (nc != NULL)
			ncclCommAbort(nc);
		return e;
	}
	return SK_OK;
}

int
comm_nccl_world_all(int n, struct comm *out)
{
	ncclComm_t *nc = NULL;
	ncclUniqueId id;
	ncclConfig_t cfg;
	cudaError_t rc;
	ncclResult_t nr, r2;
	char what[64];
	int e, i, ndev, made = 0, prev = 0;

	if ((e = comm_nccl_device_count(&ndev)) != SK_OK)
		return e;
	if (n < 1 || n > ndev)
		return err_set(SK_ERR_ARG, "world: %d devices asked, %d visible",
		    n, ndev);
	if ((rc = cudaGetDevice(&prev)) != cudaSuccess)
		return comm_nccl_cuda_fail(NULL, "one process", "world", "cudaGetDevice", rc);
	if ((nr = ncclGetUniqueId(&id)) != ncclSuccess)
		return comm_nccl_fail(NULL, "one process", NULL, "world",
		    "ncclGetUniqueId", nr);
	if ((nc = calloc((size_t)n, sizeof *nc)) == NULL)
		return err_set(SK_ERR_NOMEM, "world: out of memory for %d "
		    "communicators", n);
	config(&cfg);
	/* ncclCommInitAll, with a config: every rank's init in one group. */
	e = SK_OK;
	if ((nr = ncclGroupStart()) != ncclSuccess) {
		e = comm_nccl_fail(NULL, "one process", NULL, "world", "ncclGroupStart",
		    nr);
		goto out;
	}
	for (i = 0; i < n && e == SK_OK; i++) {
		snprintf(what, sizeof what, "world rank %d, device %d", i, i);
		if ((rc = cudaSetDevice(i)) != cudaSuccess)
			e = comm_nccl_cuda_fail(NULL, what, "world", "cudaSetDevice", rc);
		else if ((nr = ncclCommInitRankConfig(&nc[i], n, id, i, &cfg)) !=
		    ncclSuccess && nr != ncclInProgress)
			e = comm_nccl_fail(NULL, what, NULL, "world",
			    "ncclCommInitRankConfig", nr);
	}
	r2 = ncclGroupEnd();
	if (e != SK_OK)
		goto out;
	for (i = 0; i < n && e == SK_OK; i++) {
		snprintf(what, sizeof what, "world rank %d, device %d", i, i);
		if (nc[i] == NULL)
			e = comm_nccl_fail(NULL, what, NULL, "world", "ncclGroupEnd",
			    r2 != ncclSuccess ? r2 : ncclInternalError);
		else
			e = comm_nccl_settle(NULL, what, nc[i], COMM_NCCL_TIMEOUT, "world",
			    "ncclCommInitRankConfig", comm_nccl_begun(r2));
	}
	for (i = 0; i < n && e == SK_OK; i++, made++) {
		if ((rc = cudaSetDevice(i)) != cudaSuccess)
			e = comm_nccl_cuda_fail(NULL, "one process", "world", "cudaSetDevice",
			    rc);
		else
			e = comm_nccl_make(nc[i], i, "world", i, NULL, COMM_NCCL_TIMEOUT,
			    &out[i]);
	}
out:
	if (e != SK_OK) {
		for (i = 0; i < n; i++) {
			cudaSetDevice(i);
			if (i < made) {
				comm_nccl_destroy(out[i].impl);
				out[i].impl = NULL;
			}
			if (nc[i] != NULL)
				ncclCommAbort(nc[i]);
		}
	}
	free(nc);
	if ((rc = cudaSetDevice(prev)) != cudaSuccess && e == SK_OK)
		e = comm_nccl_cuda_fail(NULL, "one process", "world", "cudaSetDevice", rc);
	return e;
}

int
comm_nccl_set_timeout(struct comm *c, double seconds)
{
	if (comm_check(c) != SK_OK)
		return err_code();
	if (c->ops != &comm_nccl_ops || c->impl == NULL)
		return err_set(SK_ERR_ARG, "%s: not an NCCL communicator",
		    c->name);
	((struct impl *)c->impl)->timeout = seconds;
	return SK_OK;
}
