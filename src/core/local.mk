# core: errors, JSON helpers, traces, job description, cost model, plans.
noinst_LIBRARIES += libskrull_core.a
libskrull_core_a_CPPFLAGS = $(SK_INC_CORE)
libskrull_core_a_CFLAGS = $(AM_CFLAGS) $(SK_PIC)
libskrull_core_a_SOURCES = \
	src/core/err.c src/core/err.h \
	src/core/afile.c src/core/afile.h \
	src/core/json.c src/core/json.h \
	src/core/trace.c src/core/trace_rd.c src/core/trace_text.c \
	src/core/trace_bin.c src/core/trace_write.c src/core/trace.h \
	src/core/trace_int.h \
	src/core/tstats.c src/core/tstats.h \
	src/core/synth.c src/core/synth.h \
	src/core/model.c src/core/model.h \
	src/core/cluster.c src/core/cluster.h \
	src/core/job.c src/core/job.h \
	src/core/cost.c src/core/cost.h \
	src/core/ops.c src/core/ops.h \
	src/core/plan.c src/core/plan_check.c src/core/plan_io.c src/core/plan.h \
	src/core/pstats.c src/core/pstats.h \
	src/core/report.c src/core/report.h \
	src/core/profile.c src/core/profile.h \
	src/core/mem.c src/core/mem.h \
	src/core/near.c src/core/near.h
SK_CORE_LIBS = libskrull_core.a $(GSL_LIBS) $(CJSON_LIBS) $(ZLIB_LIBS) $(LIBS)
