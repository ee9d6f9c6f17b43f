/*
 * kern: the math kernels, behind one plain-C header that the CPU reference
 * (.c) and the CUDA implementation (.cu, extern "C") both implement.
 *
 * This layer sits below everything else and includes nothing of skrull's:
 * functions return 0 on success and a nonzero code on failure, and
 * kern_cuda_error() tells the reason of the last CUDA failure.
 *
 * For now it holds the CUDA probe that proves the toolchain end to end (a
 * kernel compiled by nvcc for sm_90, linked into the C program, launched
 * when a GPU is present); the training kernels arrive with the executor.
 */
#ifndef SKRULL_KERN_H
#define SKRULL_KERN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Number of CUDA devices visible to this process (0 when there is none or
 * no driver: that is not an error).  Returns 0. */
int kern_cuda_device_count(int *count);

/* CUDA runtime version as reported by cudaRuntimeGetVersion (e.g. 13000). */
int kern_cuda_runtime_version(int *version);

/* y[i] = a * x[i] + y[i] for i < n, computed on device 0; x and y are host
 * arrays of n floats.  Returns nonzero (see kern_cuda_error) on any CUDA
 * failure, including the absence of a device. */
int kern_cuda_axpy(float a, const float *x, float *y, size_t n);

/* Message of the last failed kern_cuda_* call on this thread ("" if none). */
const char *kern_cuda_error(void);

#ifdef __cplusplus
}
#endif

#endif
