# tests: one cmocka program per module (TAP through Automake's tap-driver),
# command-line golden tests, man-page lint, and checks of the bundled traces.
SK_UNIT_TESTS = \
	tests/unit/test_err \
	tests/unit/test_near \
	tests/unit/test_afile \
	tests/unit/test_json \
	tests/unit/test_trace \
	tests/unit/test_tstats \
	tests/unit/test_synth \
	tests/unit/test_model \
	tests/unit/test_cluster \
	tests/unit/test_job \
	tests/unit/test_cost \
	tests/unit/test_plan \
	tests/unit/test_plan_v2 \
	tests/unit/test_pstats \
	tests/unit/test_dacp \
	tests/unit/test_gds \
	tests/unit/test_skrull \
	tests/unit/test_mesh \
	tests/unit/test_opt \
	tests/unit/test_sched \
	tests/unit/test_peers \
	tests/unit/test_report \
	tests/unit/test_profile \
	tests/unit/test_queue \
	tests/unit/test_ops \
	tests/unit/test_timeline \
	tests/unit/test_sim \
	tests/unit/test_sim_groups \
	tests/unit/test_tune \
	tests/unit/test_sens \
	tests/unit/test_svg \
	tests/unit/test_progress \
	tests/unit/test_kern_cpu \
	tests/unit/test_calib \
	tests/unit/test_comm_loop \
	tests/unit/test_exec_loop \
	tests/unit/test_world \
	tests/unit/test_api
if HAVE_CUDA
SK_UNIT_TESTS += tests/unit/test_kern_cuda tests/unit/test_backend_cuda
endif
EXTRA_DIST += tests/unit/test_kern_cuda.c tests/unit/test_backend_cuda.c

check_PROGRAMS += $(SK_UNIT_TESTS)
# The helpers the test programs share, built once.
check_LIBRARIES = tests/unit/libtutil.a
tests_unit_libtutil_a_SOURCES = tests/unit/tutil.c tests/unit/tutil.h
# Each test program is built from tests/unit/NAME.c (Automake's default
# source) and linked with LDADD; only the CUDA one needs more.
LDADD = tests/unit/libtutil.a $(SK_SCHED_LIBS) $(CMOCKA_LIBS)
if HAVE_CUDA
tests_unit_test_kern_cuda_LDADD = $(SK_CUDA_LIBS) $(SK_KCPU_LIBS) $(LDADD)
tests_unit_test_backend_cuda_LDADD = $(SK_EXEC_CUDA_LIBS) $(SK_EXEC_LIBS) $(LDADD)
endif

SK_SCRIPT_TESTS = \
	tests/golden.sh \
	tests/bad.sh \
	tests/outputs.sh \
	tests/signals.sh \
	tests/durability.sh \
	tests/examples.sh \
	tests/manlint.sh \
	tests/completion.sh \
	tests/options.sh \
	tests/reference.sh \
	tests/regen.sh \
	tests/knobs.sh \
	tests/layers.sh \
	tests/elf.sh \
	tests/cudamod.sh \
	tests/tune-mpi.sh \
	tests/comm-mpi.sh \
	tests/exec-mpi.sh \
	tests/run-mpi.sh \
	tests/drills-mpi.sh \
	tests/limits.sh \
	tests/determinism.sh \
	tests/calibrate.sh \
	tests/shape.sh \
	tests/timeline.sh \
	tests/fuzz-regress.sh \
	tests/api.sh \
	tests/python.sh

TESTS += $(SK_UNIT_TESTS) $(SK_SCRIPT_TESTS)
EXTRA_DIST += $(SK_SCRIPT_TESTS) tests/tap.sh tests/bless.sh tests/golden tests/bad tests/data tests/gpu/check.sh
# Full-disk stubs: the writers' write, close, rename and fsync go through the test's.
tests_unit_test_afile_LDFLAGS = -Wl,--wrap=write,--wrap=close,--wrap=rename,--wrap=fsync
# The fuzz targets (tests/fuzz/README.md): built by tests/fuzz/build.sh with
# clang, not by make; their regressions run in make check (fuzz-regress.sh).
EXTRA_DIST += tests/fuzz/README.md tests/fuzz/build.sh tests/fuzz/ci.sh tests/fuzz/targets \
	tests/fuzz/fuzz.h tests/fuzz/fuzz_trace.h tests/fuzz/fuzz_trace_plain.c \
	tests/fuzz/fuzz_trace_csv.c tests/fuzz/fuzz_trace_jsonl.c \
	tests/fuzz/fuzz_trace_json.c \
	tests/fuzz/fuzz_trace_npy.c tests/fuzz/fuzz_trace_idx.c \
	tests/fuzz/fuzz_trace_gzip.c tests/fuzz/fuzz_plan.c tests/fuzz/fuzz_job.c \
	tests/fuzz/fuzz_profile.c tests/fuzz/fuzz_synth_spec.c \
	tests/fuzz/corpus tests/fuzz/dict tests/fuzz/regress
tests_unit_test_timeline_LDADD = $(SK_SIM_LIBS) $(LDADD)
tests_unit_test_queue_LDADD = $(SK_SIM_LIBS) $(LDADD)
tests_unit_test_sim_LDADD = $(SK_SIM_LIBS) $(LDADD)
tests_unit_test_sim_groups_LDADD = $(SK_SIM_LIBS) $(LDADD)
tests_unit_test_skrull_LDADD = $(SK_SIM_LIBS) $(LDADD)
tests_unit_test_mesh_LDADD = $(SK_SIM_LIBS) $(LDADD)
tests_unit_test_tune_LDADD = $(SK_TUNE_LIBS) $(LDADD)
tests_unit_test_sens_LDADD = $(SK_TUNE_LIBS) $(LDADD)
tests_unit_test_svg_LDADD = $(SK_TUNE_LIBS) $(LDADD)
# The cli's progress reporter, compiled into its test (the cli is no library).
tests_unit_test_progress_SOURCES = tests/unit/test_progress.c \
	src/cli/progress.c src/cli/progress.h
tests_unit_test_kern_cpu_LDADD = $(SK_KCPU_LIBS) $(LDADD)
tests_unit_test_calib_LDADD = $(SK_EXEC_LIBS) $(LDADD)
tests_unit_test_comm_loop_LDADD = $(SK_EXEC_LIBS) $(LDADD)
tests_unit_test_exec_loop_SOURCES = tests/unit/test_exec_loop.c \
	tests/exec/xplans.c tests/exec/xplans.h
tests_unit_test_exec_loop_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/exec
tests_unit_test_exec_loop_LDADD = $(SK_EXEC_LIBS) $(LDADD)
tests_unit_test_world_LDADD = $(SK_WORLD_LIBS) $(LDADD)
tests_unit_test_api_LDADD = $(SK_API_LIBS) $(LDADD)
