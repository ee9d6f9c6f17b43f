// probe: the CUDA toolchain probe of kern.h (device count, runtime version,
// and an axpy kernel that a GPU test compares with the CPU).
#include <cuda_runtime.h>

#include "kcuda_impl.h"

// The last error lives in kcuda.cu (kcuda_error), shared with kcuda_*.
#define fail(what, e) kcuda_fail(what, __FILE__, __LINE__, cudaGetErrorString(e))

__global__ static void
axpy_kernel(float a, const float *x, float *y, size_t n)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n)
		y[i] = fmaf(a, x[i], y[i]);
}

extern "C" int
kcuda_device_count(int *count)
{
	// No device or no driver is a valid answer here, not an error.
	if (cudaGetDeviceCount(count) != cudaSuccess) {
		cudaGetLastError();
		*count = 0;
	}
	return 0;
}

extern "C" int
kcuda_runtime_version(int *version)
{
	cudaError_t e = cudaRuntimeGetVersion(version);
	return e == cudaSuccess ? 0 : fail("cudaRuntimeGetVersion", e);
}

extern "C" int
kcuda_axpy(float a, const float *x, float *y, size_t n)
{
	float *dx = NULL, *dy = NULL;
	size_t bytes = n * sizeof(float);
	int rc = 1;
	cudaError_t e;

	if ((e = cudaMalloc(&dx, bytes)) != cudaSuccess) { fail("cudaMalloc", e); goto out; }
	if ((e = cudaMalloc(&dy, bytes)) != cudaSuccess) { fail("cudaMalloc", e); goto out; }
	if ((e = cudaMemcpy(dx, x, bytes, cudaMemcpyHostToDevice)) != cudaSuccess) { fail("cudaMemcpy", e); goto out; }
	if ((e = cudaMemcpy(dy, y, bytes, cudaMemcpyHostToDevice)) != cudaSuccess) { fail("cudaMemcpy", e); goto out; }
	axpy_kernel<<<(unsigned)((n + 255) / 256), 256>>>(a, dx, dy, n);
	if ((e = cudaGetLastError()) != cudaSuccess) { fail("axpy launch", e); goto out; }
	if ((e = cudaMemcpy(y, dy, bytes, cudaMemcpyDeviceToHost)) != cudaSuccess) { fail("cudaMemcpy", e); goto out; }
	rc = 0;
out:
	cudaFree(dx);
	cudaFree(dy);
	return rc;
}
