# kernels: math kernels behind kernels/kern.h.  The CUDA half is built only
# when configure found CUDA; .cu files go through nvcc.
EXTRA_DIST += kernels/kern.h kernels/probe.cu
if HAVE_CUDA
noinst_LIBRARIES += libskrull_cuda.a
libskrull_cuda_a_SOURCES = kernels/probe.cu kernels/kern.h
SK_CUDA_LIBS = libskrull_cuda.a $(CUDA_LIBS)
endif

.cu.o:
	$(AM_V_CC)$(NVCC) $(NVCCFLAGS) $(CUDA_CFLAGS) -I$(top_srcdir)/kernels -Xcompiler -fPIC -c -o $@ $<
