# kernels: math kernels behind one header, kern.h.  kern_cpu.c: the CPU
# reference (fp32, GSL's BLAS); the .cu files: the CUDA kernels and probe,
# built only when configure found CUDA (.cu files go through nvcc).
noinst_LIBRARIES += libskrull_kcpu.a
libskrull_kcpu_a_SOURCES = kernels/kern_cpu.c kernels/kern.h
libskrull_kcpu_a_CPPFLAGS = $(SK_INC_KERNELS)
SK_KCPU_LIBS = libskrull_kcpu.a
EXTRA_DIST += kernels/probe.cu kernels/kcuda.cu kernels/kcuda_attn.cu kernels/kcuda_impl.h
if HAVE_CUDA
noinst_LIBRARIES += libskrull_cuda.a
libskrull_cuda_a_SOURCES = kernels/probe.cu kernels/kcuda.cu kernels/kcuda_attn.cu kernels/kcuda_impl.h kernels/kern.h
SK_CUDA_LIBS = libskrull_cuda.a $(CUDA_LIBS)
endif

.cu.o:
	$(AM_V_CC)$(NVCC) $(NVCCFLAGS) $(CUDA_CFLAGS) -I$(top_srcdir)/kernels -Xcompiler -fPIC -c -o $@ $<
