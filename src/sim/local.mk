# sim: the discrete-event simulator, beside exec above sched: the event
# queue, the program builder, the event engine, the report rows, the
# runner and the timeline writer, built into libskrull_sim.a.
noinst_LIBRARIES += libskrull_sim.a
libskrull_sim_a_SOURCES = \
	src/sim/queue.c src/sim/queue.h \
	src/sim/timeline.c src/sim/timeline.h \
	src/sim/sim.c src/sim/sim.h src/sim/sim_int.h \
	src/sim/prog.c src/sim/engine.c src/sim/row.c
libskrull_sim_a_CPPFLAGS = $(SK_INC_SIM)
libskrull_sim_a_CFLAGS = $(AM_CFLAGS) $(SK_PIC)
SK_SIM_LIBS = libskrull_sim.a $(SK_SCHED_LIBS)
