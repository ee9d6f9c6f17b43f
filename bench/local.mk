# bench: benchmarks, run by hand (not by make check); see README.md.
EXTRA_DIST += bench/trace-stats.sh bench/plan.sh bench/sim.sh bench/tune.sh bench/run.sh \
	bench/predict.sh bench/limits.sh bench/fuzz.sh bench/quality.sh \
	bench/groups.sh bench/optgap.sh bench/python.sh bench/plan_python.py \
	bench/traces.list
EXTRA_PROGRAMS = bench/plan_latency bench/optgap bench/plan_api
bench_plan_latency_SOURCES = bench/plan_latency.c
bench_plan_latency_LDADD = $(SK_SCHED_LIBS)
bench_optgap_SOURCES = bench/optgap.c
bench_optgap_LDADD = $(SK_SCHED_LIBS)
# The library's public header alone, as a program outside the tree sees it
# (tests/api.sh), linked with libskrull.a as tests/unit/test_api is.
bench_plan_api_SOURCES = bench/plan_api.c
bench_plan_api_CPPFLAGS = -I$(top_srcdir)/src/api
bench_plan_api_LDADD = $(SK_API_LIBS)
CLEANFILES += bench/plan_latency bench/optgap bench/plan_api
EXTRA_DIST += bench/attn_cuda.c
if HAVE_CUDA
# The GPU attention benchmark: make bench/attn_cuda && bench/attn_cuda.
EXTRA_PROGRAMS += bench/attn_cuda
bench_attn_cuda_SOURCES = bench/attn_cuda.c
bench_attn_cuda_CPPFLAGS = $(AM_CPPFLAGS) $(CUDA_CFLAGS)
bench_attn_cuda_LDADD = $(SK_CUDA_LIBS)
CLEANFILES += bench/attn_cuda
endif
