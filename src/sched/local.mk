# sched: the scheduling policies and the batcher, built into
# libskrull_sched.a above core.
noinst_LIBRARIES += libskrull_sched.a
libskrull_sched_a_SOURCES = \
	src/sched/sched.c src/sched/sched.h \
	src/sched/ws.c src/sched/ws.h \
	src/sched/dacp.c src/sched/dacp.h \
	src/sched/gds.c \
	src/sched/cdacp.c \
	src/sched/mbtime.c src/sched/mbtime.h \
	src/sched/opt.c src/sched/opt.h \
	src/sched/skrull.c \
	src/sched/tgds.c \
	src/sched/mesh.c \
	src/sched/baseline.c \
	src/sched/rr.c \
	src/sched/peers.c src/sched/peers.h \
	src/sched/wlb.c \
	src/sched/flexsp.c \
	src/sched/hdp.c
libskrull_sched_a_CPPFLAGS = $(SK_INC_SCHED)
libskrull_sched_a_CFLAGS = $(AM_CFLAGS) $(SK_PIC)
SK_SCHED_LIBS = libskrull_sched.a $(GLPK_LIBS) $(SK_CORE_LIBS)
