# sim: the discrete-event simulator and the tuner (sim/tune), built into
# libskrull_sim.a above core and sched.  The MPI split of the tuner is a
# library of its own, built only with MPI, so that only it sees mpi.h.
noinst_LIBRARIES += libskrull_sim.a
libskrull_sim_a_SOURCES = \
	sim/queue.c sim/queue.h \
	sim/timeline.c sim/timeline.h \
	sim/sim.c sim/sim.h \
	sim/tune/tune.c sim/tune/tune.h \
	sim/tune/sens.c sim/tune/sens.h \
	sim/tune/svg.c sim/tune/svg.h
SK_SIM_LIBS = libskrull_sim.a
EXTRA_DIST += sim/tune/tmpi.c sim/tune/tmpi.h
if HAVE_MPI
noinst_LIBRARIES += libskrull_tmpi.a
libskrull_tmpi_a_SOURCES = sim/tune/tmpi.c sim/tune/tmpi.h
libskrull_tmpi_a_CPPFLAGS = $(AM_CPPFLAGS) $(MPI_CFLAGS)
SK_MPI_LIBS = libskrull_tmpi.a $(MPI_LIBS)
else
SK_MPI_LIBS =
endif
