# tests: one cmocka program per module (TAP through Automake's tap-driver),
# command-line golden tests, man-page lint, and checks of the bundled traces.
SK_UNIT_TESTS = \
	tests/unit/test_err \
	tests/unit/test_trace \
	tests/unit/test_tstats \
	tests/unit/test_synth
if HAVE_CUDA
SK_UNIT_TESTS += tests/unit/test_kern_cuda
endif
EXTRA_DIST += tests/unit/test_kern_cuda.c

check_PROGRAMS += $(SK_UNIT_TESTS)
SK_TEST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
SK_TEST_LIBS = $(SK_CORE_LIBS) $(CMOCKA_LIBS)

tests_unit_test_err_SOURCES = tests/unit/test_err.c
tests_unit_test_err_CFLAGS = $(SK_TEST_CFLAGS)
tests_unit_test_err_LDADD = $(SK_TEST_LIBS)
tests_unit_test_trace_SOURCES = tests/unit/test_trace.c
tests_unit_test_trace_CFLAGS = $(SK_TEST_CFLAGS)
tests_unit_test_trace_LDADD = $(SK_TEST_LIBS)
tests_unit_test_tstats_SOURCES = tests/unit/test_tstats.c
tests_unit_test_tstats_CFLAGS = $(SK_TEST_CFLAGS)
tests_unit_test_tstats_LDADD = $(SK_TEST_LIBS)
tests_unit_test_synth_SOURCES = tests/unit/test_synth.c
tests_unit_test_synth_CFLAGS = $(SK_TEST_CFLAGS)
tests_unit_test_synth_LDADD = $(SK_TEST_LIBS)
if HAVE_CUDA
tests_unit_test_kern_cuda_SOURCES = tests/unit/test_kern_cuda.c
tests_unit_test_kern_cuda_CFLAGS = $(SK_TEST_CFLAGS)
tests_unit_test_kern_cuda_LDADD = $(SK_CUDA_LIBS) $(SK_TEST_LIBS)
endif

SK_SCRIPT_TESTS = \
	tests/golden.sh \
	tests/examples.sh \
	tests/manlint.sh \
	tests/reference.sh \
	tests/regen.sh

TESTS += $(SK_UNIT_TESTS) $(SK_SCRIPT_TESTS)
EXTRA_DIST += $(SK_SCRIPT_TESTS) tests/tap.sh tests/golden tests/data tests/gpu/check.sh
