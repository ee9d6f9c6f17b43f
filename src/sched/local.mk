# sched: the scheduling policies, built into libskrull.a above core.
libskrull_a_SOURCES += \
	src/sched/sched.c src/sched/sched.h src/sched/ws.h \
	src/sched/dacp.c src/sched/dacp.h \
	src/sched/gds.c \
	src/sched/cdacp.c \
	src/sched/tgds.c \
	src/sched/baseline.c \
	src/sched/rr.c
