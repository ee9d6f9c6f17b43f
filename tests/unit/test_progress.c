/*
 * Unit tests of progress: the exact bytes of a run of updates (percent
 * steps worked out by hand below), padding over a longer line, updates
 * that do not raise the percent dropped, the off reporter silent, and
 * progress_wanted's order: --quiet, then SKRULL_PROGRESS, then isatty.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "progress.h"

/* The bytes a sequence of updates writes; *buf is malloc'd. */
static char *
run(const size_t *done, size_t n, size_t total, const char *const *extra)
{
	struct progress p;
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	progress_init(&p, f, "sim");
	for (i = 0; i < n; i++)
		progress_update(&p, done[i], total,
		    extra != NULL ? extra[i] : NULL);
	progress_end(&p);
	fclose(f);
	return buf;
}

/* 7 units: 100 d / 7 floors to 0, 14, 28, 42, 57, 71, 85, 100; 3 of 7 is
 * 42.857 -> 42, and 1 of 7 written twice adds nothing. */
static void
test_steps(void **state)
{
	static const size_t done[] = { 0, 1, 1, 3, 7 };
	char *s;

	(void)state;
	s = run(done, 5, 7, NULL);
	assert_string_equal(s, "\rskrull sim: 0% (0/7)"
	    "\rskrull sim: 14% (1/7)"
	    "\rskrull sim: 42% (3/7)"
	    "\rskrull sim: 100% (7/7)\n");
	free(s);
}

/* 1000 units: 1..9 all floor to 0%, written once (the first update); 10
 * is 1%; 999 is 99.9 -> 99%, then 1000. */
static void
test_integer_percent(void **state)
{
	size_t done[13], i;
	char *s;

	(void)state;
	for (i = 0; i < 10; i++)
		done[i] = i + 1;
	done[10] = 10;
	done[11] = 999;
	done[12] = 1000;
	s = run(done, 13, 1000, NULL);
	assert_string_equal(s, "\rskrull sim: 0% (1/1000)"
	    "\rskrull sim: 1% (10/1000)"
	    "\rskrull sim: 99% (999/1000)"
	    "\rskrull sim: 100% (1000/1000)\n");
	free(s);
}

/* A late update of a lower count (a worker thread behind another) is
 * dropped; a shorter line is padded over the longer one:
 * "skrull sim: 50% (2/4), best 9.5 ms" is 12 + 4 + 5 + 13 = 34 characters,
 * "skrull sim: 100% (4/4)" 12 + 5 + 5 = 22, so 12 spaces follow it. */
static void
test_backwards_and_padding(void **state)
{
	static const size_t done[] = { 2, 1, 4 };
	static const char *const extra[] = { ", best 9.5 ms", NULL, NULL };
	char *s;

	(void)state;
	s = run(done, 3, 4, extra);
	assert_string_equal(s, "\rskrull sim: 50% (2/4), best 9.5 ms"
	    "\rskrull sim: 100% (4/4)            \n");
	free(s);
}

/* Two stages: the first line ends at progress_next, the second starts
 * again from its first update, unpadded (a new line). */
static void
test_next(void **state)
{
	struct progress p;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	progress_init(&p, f, "tune");
	progress_update(&p, 3, 3, ", best 1.0 ms");
	progress_next(&p);
	progress_next(&p);
	progress_update(&p, 1, 2, NULL);
	progress_end(&p);
	fclose(f);
	assert_string_equal(buf, "\rskrull tune: 100% (3/3), best 1.0 ms\n"
	    "\rskrull tune: 50% (1/2)\n");
	free(buf);
}

/* Items of 1000 units: 2500 of 7000 is 35% and 2 whole items of 7. */
static void
test_per(void **state)
{
	struct progress p;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	progress_init(&p, f, "compare");
	progress_per(&p, 1000);
	progress_update(&p, 2500, 7000, NULL);
	progress_end(&p);
	fclose(f);
	assert_string_equal(buf, "\rskrull compare: 35% (2/7)\n");
	free(buf);
}

/* Off (NULL stream) and total 0 write nothing, not even the newline. */
static void
test_silent(void **state)
{
	static const size_t done[] = { 0, 0 };
	struct progress p;
	char *s;

	(void)state;
	progress_init(&p, NULL, "x");
	progress_update(&p, 1, 2, NULL);
	progress_cb(&p, 2, 2);
	progress_end(&p);
	s = run(done, 2, 0, NULL);
	assert_string_equal(s, "");
	free(s);
}

/* --quiet wins over SKRULL_PROGRESS=1; "0" and "1" override isatty; any
 * other value falls back to it.  fd -1 is never a terminal. */
static void
test_wanted(void **state)
{
	(void)state;
	setenv("SKRULL_PROGRESS", "1", 1);
	assert_int_equal(progress_wanted(0, -1), 1);
	assert_int_equal(progress_wanted(1, -1), 0);
	setenv("SKRULL_PROGRESS", "0", 1);
	assert_int_equal(progress_wanted(0, -1), 0);
	setenv("SKRULL_PROGRESS", "yes", 1);
	assert_int_equal(progress_wanted(0, -1), 0);
	unsetenv("SKRULL_PROGRESS");
	assert_int_equal(progress_wanted(0, -1), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steps),
		cmocka_unit_test(test_integer_percent),
		cmocka_unit_test(test_backwards_and_padding),
		cmocka_unit_test(test_next),
		cmocka_unit_test(test_per),
		cmocka_unit_test(test_silent),
		cmocka_unit_test(test_wanted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
