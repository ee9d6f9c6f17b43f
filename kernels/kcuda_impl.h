// kcuda_impl: what the CUDA kernel files (kcuda.cu, kcuda_attn.cu, probe.cu)
// share and nothing else includes: the handle's layout, the error message
// and its check macros, the element-type helpers and the block reductions.
// C++ (nvcc) only.
#ifndef SKRULL_KCUDA_IMPL_H
#define SKRULL_KCUDA_IMPL_H

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "kern.h"

// Every kernel runs on the calling thread's default stream (see kern.h).
#define KC_STREAM cudaStreamPerThread

// Threads per block of the elementwise and row kernels (a multiple of 32:
// the block reductions below need whole warps).
#define KC_THREADS 256

struct kcuda {
	int device;
	cublasHandle_t blas;
	void *scratch;        // device scratch, grown on demand (kcuda_scratch)
	size_t scratch_bytes;
};

// Record "what at file:line: why" as the calling thread's last error (read
// by kcuda_error) and return 1, the failure code of every function.
int kcuda_fail(const char *what, const char *file, int line, const char *why);

// A device scratch of at least bytes, valid until the next kcuda_scratch call
// on k; growing it waits for the stream (the old one may be in use).
int kcuda_scratch(struct kcuda *k, size_t bytes, void **p);

// Return from the calling function on a failed CUDA or cuBLAS call, naming it.
#define KC_CUDA(call) do {						\
	cudaError_t e_ = (call);					\
	if (e_ != cudaSuccess)						\
		return kcuda_fail(#call, __FILE__, __LINE__,		\
		    cudaGetErrorString(e_));				\
} while (0)
#define KC_BLAS(call) do {						\
	cublasStatus_t s_ = (call);					\
	if (s_ != CUBLAS_STATUS_SUCCESS)				\
		return kcuda_fail(#call, __FILE__, __LINE__,		\
		    cublasGetStatusString(s_));				\
} while (0)
// After a kernel launch: a bad configuration shows up here, a fault of the
// running kernel at the next synchronising call.
#define KC_LAUNCHED(name) do {						\
	cudaError_t e_ = cudaGetLastError();				\
	if (e_ != cudaSuccess)						\
		return kcuda_fail(name " launch", __FILE__, __LINE__,	\
		    cudaGetErrorString(e_));				\
} while (0)
// Refuse invalid arguments with a message saying which.
#define KC_ARG(cond, why) do {						\
	if (!(cond))							\
		return kcuda_fail(__func__, __FILE__, __LINE__, why);	\
} while (0)

// Blocks for n items, one per thread, capped: the kernels stride over the
// rest (gridDim.x stays far below its 2^31 - 1 limit).
static inline unsigned
kcuda_blocks(size_t n)
{
	size_t b = (n + KC_THREADS - 1) / KC_THREADS;

	return (unsigned)(b < 65536 ? (b > 0 ? b : 1) : 65536);
}

// Element loads and stores: arithmetic is fp32 whatever the storage, bf16
// rounds to nearest even when stored.
__device__ __forceinline__ float kcuda_ld(const float *p, size_t i) { return p[i]; }
__device__ __forceinline__ float kcuda_ld(const __nv_bfloat16 *p, size_t i) { return __bfloat162float(p[i]); }
__device__ __forceinline__ void kcuda_st(float *p, size_t i, float x) { p[i] = x; }
__device__ __forceinline__ void kcuda_st(__nv_bfloat16 *p, size_t i, float x) { p[i] = __float2bfloat16_rn(x); }

// Sum and maximum of v over a block whose threads all call it (blockDim.x a
// multiple of 32, at most 1024), through sh[32] in shared memory.  Every
// thread gets the same result, summed in the same order on every run.  The
// leading __syncthreads lets one sh serve consecutive calls.
__device__ __forceinline__ float
kcuda_block_sum(float v, float *sh)
{
	int o, i, nw = (int)blockDim.x / 32;

	for (o = 16; o > 0; o >>= 1)
		v += __shfl_xor_sync(0xffffffffu, v, o);
	__syncthreads();
	if ((threadIdx.x & 31) == 0)
		sh[threadIdx.x / 32] = v;
	__syncthreads();
	v = 0.0f;
	for (i = 0; i < nw; i++)
		v += sh[i];
	return v;
}

__device__ __forceinline__ float
kcuda_block_max(float v, float *sh)
{
	int o, i, nw = (int)blockDim.x / 32;

	for (o = 16; o > 0; o >>= 1)
		v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
	__syncthreads();
	if ((threadIdx.x & 31) == 0)
		sh[threadIdx.x / 32] = v;
	__syncthreads();
	v = sh[0];
	for (i = 1; i < nw; i++)
		v = fmaxf(v, sh[i]);
	return v;
}

#endif
