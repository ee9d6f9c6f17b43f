/*
 * cudamod: the CUDA module.  In a CUDA build the CUDA backend, the NCCL
 * communicator and the CUDA kernels live in a shared object of their own,
 * skrull-cuda.so, installed under the package's library directory and
 * loaded when a command first asks for them, so that `skrull` itself links
 * no CUDA library and starts on a machine without a GPU driver.  The
 * module calls back into the program for errors and the communicator
 * helpers (comm.h, comm_slots.h, err.h), which the program exports.
 *
 * SKRULL_CUDA_MODULE, when set, names the module file instead (the test
 * suite's uninstalled build).
 */
#ifndef SKRULL_CUDAMOD_H
#define SKRULL_CUDAMOD_H

#include "backend.h"
#include "comm.h"

#define CUDAMOD_VERSION 1
#define CUDAMOD_SYMBOL "skrull_cudamod"

/* What the module gives: its entry table, version CUDAMOD_VERSION.  The
 * NCCL entries are NULL when the build has no NCCL. */
struct cudamod {
	unsigned version;
	const struct backend_ops *backend;
	int (*device_count)(int *n);
	int (*runtime_version)(int *version);
	int (*nccl_world_all)(int n, struct comm *out);
	int (*nccl_world_mpi)(struct comm *mpi_world, int device,
	                      struct comm *out);
	int (*nccl_set_timeout)(struct comm *c, double seconds);
};

/*
 * The module, loaded on the first call (thread-safe; later calls return
 * the same table or the same failure).  SK_ERR_IO naming the file and the
 * loader's reason when it cannot be loaded, SK_ERR_FORMAT when it is of
 * another version.
 */
int cudamod_get(const struct cudamod **out);

#endif
