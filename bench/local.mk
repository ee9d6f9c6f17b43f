# bench: benchmarks, run by hand (not by make check); see README.md.
EXTRA_DIST += bench/trace-stats.sh bench/plan.sh bench/sim.sh bench/tune.sh bench/run.sh
EXTRA_PROGRAMS = bench/plan_latency
bench_plan_latency_SOURCES = bench/plan_latency.c
bench_plan_latency_LDADD = $(SK_CORE_LIBS)
CLEANFILES += bench/plan_latency
