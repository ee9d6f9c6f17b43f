/* cudamod_entry: the CUDA module's entry table (cudamod.h), the one
 * symbol the program looks up in skrull-cuda.so. */
#include <stddef.h>

#include "config.h"
#include "backend.h"
#include "comm_nccl.h"
#include "cudamod.h"
#include "kern.h"

/* The loader finds it by name: visible whatever the default. */
__attribute__((visibility("default")))
const struct cudamod skrull_cudamod = {
	.version = CUDAMOD_VERSION,
	.backend = &backend_cuda_ops,
	.device_count = kcuda_device_count,
	.runtime_version = kcuda_runtime_version,
#ifdef HAVE_NCCL
	.nccl_world_all = comm_nccl_world_all,
	.nccl_world_mpi = comm_nccl_world_mpi,
	.nccl_set_timeout = comm_nccl_set_timeout,
#endif
};
