/* test_kern_cuda: the CUDA probe links into a C program and, on a machine
 * with a GPU, its axpy kernel agrees with the CPU.  Without a GPU only the
 * runtime test runs (cmocka 1.1.5 reports a skip as "not ok # SKIP", which
 * TAP counts as a failure, so the kernel test is left out instead). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <cmocka.h>

#include "kern.h"

#define N 100003  /* not a multiple of the 256-thread block */

static void
test_runtime_version(void **state)
{
	int v = 0;

	(void)state;
	assert_int_equal(kern_cuda_runtime_version(&v), 0);
	/* Built against CUDA 12 or later: versions read 12000 and up. */
	assert_true(v >= 12000);
}

static void
test_axpy(void **state)
{
	static float x[N], y[N], want[N];
	const float a = 1.7f;
	size_t i;

	(void)state;
	for (i = 0; i < N; i++) {
		x[i] = (float)((i * 7919) % 1000) / 37.0f - 13.5f;
		y[i] = (float)((i * 104729) % 997) / 91.0f;
		want[i] = fmaf(a, x[i], y[i]);
	}
	assert_int_equal(kern_cuda_axpy(a, x, y, N), 0);
	for (i = 0; i < N; i++)
		assert_true(fabsf(y[i] - want[i]) <= 1e-6f * (1.0f + fabsf(want[i])));
}

int
main(void)
{
	const struct CMUnitTest host_tests[] = {
		cmocka_unit_test(test_runtime_version),
	};
	const struct CMUnitTest gpu_tests[] = {
		cmocka_unit_test(test_runtime_version),
		cmocka_unit_test(test_axpy),
	};
	int ndev = 0;

	kern_cuda_device_count(&ndev);
	if (ndev > 0)
		return cmocka_run_group_tests(gpu_tests, NULL, NULL);
	printf("# no CUDA device: the axpy kernel runs in tests/gpu/check.sh\n");
	return cmocka_run_group_tests(host_tests, NULL, NULL);
}
