# tune: the tuner above sim and sched, built into libskrull_tune.a.  The MPI
# split of the search is a library of its own, built only with MPI, so that
# only it sees mpi.h.
noinst_LIBRARIES += libskrull_tune.a
libskrull_tune_a_SOURCES = \
	src/tune/tune.c src/tune/tune.h \
	src/tune/sens.c src/tune/sens.h \
	src/tune/svg.c src/tune/svg.h
libskrull_tune_a_CPPFLAGS = $(SK_INC_TUNE)
SK_TUNE_LIBS = libskrull_tune.a $(SK_SIM_LIBS)
EXTRA_DIST += src/tune/tune_mpi.c src/tune/tune_mpi.h
if HAVE_MPI
noinst_LIBRARIES += libskrull_tune_mpi.a
libskrull_tune_mpi_a_SOURCES = src/tune/tune_mpi.c src/tune/tune_mpi.h
libskrull_tune_mpi_a_CPPFLAGS = $(SK_INC_TUNE) $(MPI_CFLAGS)
SK_MPI_LIBS = libskrull_tune_mpi.a $(MPI_LIBS)
else
SK_MPI_LIBS =
endif
