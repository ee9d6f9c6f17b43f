# sim: the discrete-event simulator, built into libskrull_sim.a above core
# and sched.
noinst_LIBRARIES += libskrull_sim.a
libskrull_sim_a_SOURCES = \
	sim/queue.c sim/queue.h \
	sim/ops.c sim/ops.h \
	sim/timeline.c sim/timeline.h \
	sim/sim.c sim/sim.h
SK_SIM_LIBS = libskrull_sim.a
