# core: traces, statistics, synthesis, errors.
noinst_LIBRARIES += libskrull.a
libskrull_a_SOURCES = \
	src/core/err.c src/core/err.h \
	src/core/trace.c src/core/trace.h \
	src/core/tstats.c src/core/tstats.h \
	src/core/synth.c src/core/synth.h
SK_CORE_LIBS = libskrull.a $(GSL_LIBS) $(CJSON_LIBS) $(ZLIB_LIBS) $(LIBS)
