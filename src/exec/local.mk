# exec: the executor (plan runner, transformer on a backend ops table, CPU
# backend) and its communicator.  The MPI implementation of the
# communicator is a library of its own, built only with MPI, so that only
# it sees mpi.h; the MPI test programs run under mpirun from
# tests/comm-mpi.sh and tests/exec-mpi.sh, not directly.
noinst_LIBRARIES += libskrull_exec.a
libskrull_exec_a_SOURCES = \
	src/exec/comm.c src/exec/comm.h \
	src/exec/comm_slots.c src/exec/comm_slots.h \
	src/exec/comm_loop.c src/exec/comm_loop.h \
	src/exec/ranks.c src/exec/ranks.h \
	src/exec/backend.h src/exec/backend.c src/exec/backend_cpu.c \
	src/exec/calib.c src/exec/calib.h \
	src/exec/xformer.c src/exec/xformer.h \
	src/exec/exec.c src/exec/exec.h
libskrull_exec_a_CPPFLAGS = $(SK_INC_EXEC)
EXTRA_DIST += src/exec/comm_mpi.c tests/exec/test_comm_mpi.c \
	tests/exec/test_exec_mpi.c tests/exec/xplans.c tests/exec/xplans.h
# The CUDA backend and the NCCL communicator, each in a library of its own
# that only CUDA (NCCL) builds make and link; test_comm_nccl skips without
# a device.
EXTRA_DIST += src/exec/backend_cuda.c src/exec/comm_nccl.c \
	src/exec/comm_nccl.h src/exec/comm_nccl_world.c src/exec/comm_nccl_int.h \
	tests/exec/test_comm_nccl.c
# The program reaches the CUDA backend and the NCCL communicator only
# through the CUDA module (cudamod.h), so that it links no CUDA library:
# skrull-cuda.so, built from them and the CUDA kernels as position-
# independent code, installed under pkglibdir, loaded with dlopen.  It
# calls back into the program, which exports its symbols and keeps the
# few the module needs that it would not otherwise link.  The test
# programs of the CUDA code link it statically (libskrull_exec_cuda.a).
EXTRA_DIST += src/exec/cudamod.c src/exec/cudamod.h src/exec/cudamod_entry.c
SK_EXEC_LIBS = libskrull_exec.a $(SK_KCPU_LIBS)
if HAVE_CUDA
libskrull_exec_a_SOURCES += src/exec/cudamod.c src/exec/cudamod.h
noinst_LIBRARIES += libskrull_exec_cuda.a
libskrull_exec_cuda_a_SOURCES = src/exec/backend_cuda.c
libskrull_exec_cuda_a_CPPFLAGS = $(SK_INC_EXEC) $(CUDA_CFLAGS)
SK_EXEC_CUDA_LIBS = libskrull_exec_cuda.a libskrull_exec.a $(SK_CUDA_LIBS)
cudamoddir = $(pkglibdir)
cudamod_PROGRAMS = skrull-cuda.so
skrull_cuda_so_SOURCES = src/exec/cudamod_entry.c src/exec/backend_cuda.c \
	kernels/probe.cu kernels/kcuda.cu kernels/kcuda_attn.cu
skrull_cuda_so_CPPFLAGS = $(SK_INC_EXEC) $(CUDA_CFLAGS) $(NCCL_CFLAGS)
skrull_cuda_so_CFLAGS = $(AM_CFLAGS) -fPIC
skrull_cuda_so_LDFLAGS = -shared
skrull_cuda_so_LDADD = $(NCCL_LIBS) $(CUDA_LIBS)
SK_MODULE_EXPORTS = -Wl,--export-dynamic \
	-Wl,--undefined=comm_slots_take -Wl,--undefined=comm_slots_begin \
	-Wl,--undefined=comm_slots_end -Wl,--undefined=comm_slots_idle \
	-Wl,--undefined=comm_slots_of -Wl,--undefined=comm_check \
	-Wl,--undefined=comm_err -Wl,--undefined=comm_where
if HAVE_NCCL
skrull_cuda_so_SOURCES += src/exec/comm_nccl.c src/exec/comm_nccl_world.c
endif
else
SK_EXEC_CUDA_LIBS =
SK_MODULE_EXPORTS =
endif
if HAVE_NCCL
noinst_LIBRARIES += libskrull_comm_nccl.a
libskrull_comm_nccl_a_SOURCES = src/exec/comm_nccl.c src/exec/comm_nccl.h \
	src/exec/comm_nccl_world.c src/exec/comm_nccl_int.h
libskrull_comm_nccl_a_CPPFLAGS = $(SK_INC_EXEC) $(NCCL_CFLAGS) $(CUDA_CFLAGS)
SK_COMM_NCCL_LIBS = libskrull_comm_nccl.a $(SK_EXEC_CUDA_LIBS) $(NCCL_LIBS) \
	$(CUDA_LIBS)
check_PROGRAMS += tests/exec/test_comm_nccl
TESTS += tests/exec/test_comm_nccl
tests_exec_test_comm_nccl_SOURCES = tests/exec/test_comm_nccl.c
tests_exec_test_comm_nccl_CPPFLAGS = $(AM_CPPFLAGS) $(NCCL_CFLAGS) \
	$(CUDA_CFLAGS)
tests_exec_test_comm_nccl_LDADD = $(SK_COMM_NCCL_LIBS) $(SK_SCHED_LIBS)
else
SK_COMM_NCCL_LIBS =
endif
if HAVE_MPI
noinst_LIBRARIES += libskrull_comm_mpi.a
libskrull_comm_mpi_a_SOURCES = src/exec/comm_mpi.c
libskrull_comm_mpi_a_CPPFLAGS = $(SK_INC_EXEC) $(MPI_CFLAGS)
SK_COMM_MPI_LIBS = libskrull_comm_mpi.a $(SK_EXEC_LIBS) $(MPI_LIBS)
check_PROGRAMS += tests/exec/test_comm_mpi tests/exec/test_exec_mpi
tests_exec_test_comm_mpi_SOURCES = tests/exec/test_comm_mpi.c
tests_exec_test_comm_mpi_CPPFLAGS = $(AM_CPPFLAGS) $(MPI_CFLAGS)
tests_exec_test_comm_mpi_LDADD = $(SK_COMM_MPI_LIBS) $(SK_SCHED_LIBS)
tests_exec_test_exec_mpi_SOURCES = tests/exec/test_exec_mpi.c \
	tests/exec/xplans.c tests/exec/xplans.h
tests_exec_test_exec_mpi_CPPFLAGS = $(AM_CPPFLAGS) $(MPI_CFLAGS)
tests_exec_test_exec_mpi_LDADD = $(SK_COMM_MPI_LIBS) $(SK_SCHED_LIBS)
else
SK_COMM_MPI_LIBS =
endif
# How the ranks meet (world.c): it calls the MPI and NCCL constructors of
# the builds that have them through comm.h and comm_nccl.h (no mpi.h or
# nccl.h), so it is a library of its own, linked before theirs.
noinst_LIBRARIES += libskrull_world.a
libskrull_world_a_SOURCES = src/exec/world.c src/exec/world.h
libskrull_world_a_CPPFLAGS = $(SK_INC_EXEC)
SK_WORLD_LIBS = libskrull_world.a $(SK_COMM_MPI_LIBS) $(SK_EXEC_LIBS)
