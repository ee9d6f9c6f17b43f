/* test_near: "did you mean": distances by hand and by a second method, and
 * the suggestion rule (close enough, no ties). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "near.h"

/* The optimal string alignment distance by its recursive definition (no
 * table), the second method the dynamic programme is checked against. */
static size_t
osa(const char *a, size_t la, const char *b, size_t lb)
{
	size_t v, t;

	if (la == 0)
		return lb;
	if (lb == 0)
		return la;
	v = osa(a, la - 1, b, lb - 1) + (a[la - 1] != b[lb - 1]);
	if ((t = osa(a, la - 1, b, lb) + 1) < v)
		v = t;
	if ((t = osa(a, la, b, lb - 1) + 1) < v)
		v = t;
	if (la > 1 && lb > 1 && a[la - 1] == b[lb - 2] &&
	    a[la - 2] == b[lb - 1] &&
	    (t = osa(a, la - 2, b, lb - 2) + 1) < v)
		v = t;
	return v;
}

static void
test_by_hand(void **state)
{
	(void)state;
	/* kitten -> sitten -> sittin -> sitting: 2 substitutions, 1 insert */
	assert_int_equal(near_distance("kitten", "sitting"), 3);
	/* one adjacent swap */
	assert_int_equal(near_distance("plna", "plan"), 1);
	/* input_lenght: the swap "ht" -> "th" */
	assert_int_equal(near_distance("input_lenght", "input_length"), 1);
	assert_int_equal(near_distance("", "tune"), 4);
	assert_int_equal(near_distance("sim", "sim"), 0);
	/* "ca" -> "abc" is 3 under this distance (no edit of a swapped pair) */
	assert_int_equal(near_distance("ca", "abc"), 3);
}

static void
test_second_method(void **state)
{
	static const char *const w[] = {
		"deepspeed", "skrull-cp", "sorted", "flexsp", "hdp", "wlb",
		"--timeline", "--timline", "--bucket", "--buckte", "trace",
		"tarce", "calibrate", "calbirate", "optimal", "",
	};
	size_t i, j, n = sizeof w / sizeof w[0];

	(void)state;
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			assert_int_equal(near_distance(w[i], w[j]),
			    osa(w[i], strlen(w[i]), w[j], strlen(w[j])));
}

static void
test_best(void **state)
{
	static const char *const cmds[] = {
		"trace", "show", "plan", "sim", "compare", "tune", "report",
		"run", "calibrate", NULL,
	};
	static const char *const pol[] = { "skrull", "skrull-cp",
		"skrull-paper", "deepspeed", "dacp", "rr" };
	size_t nc = sizeof cmds / sizeof cmds[0], np = sizeof pol / sizeof pol[0];

	(void)state;
	assert_string_equal(near_best("tarce", cmds, nc), "trace");
	assert_string_equal(near_best("calbirate", cmds, nc), "calibrate");
	assert_string_equal(near_best("comapre", cmds, nc), "compare");
	/* 3 edits from every command: too far for a 4-byte word */
	assert_null(near_best("zzzz", cmds, nc));
	/* "rune" is 1 from "run" (a deletion) and 1 from "tune" (r -> t):
	 * a tie, no guess; "sum" is 1 from "sim" and 2 from "run" */
	assert_null(near_best("rune", cmds, nc));
	assert_string_equal(near_best("sum", cmds, nc), "sim");
	/* an exact name is no slip */
	assert_null(near_best("plan", cmds, nc));
	assert_string_equal(near_best("skrul-cp", pol, np), "skrull-cp");
	assert_string_equal(near_best("deepseed", pol, np), "deepspeed");
	/* "skrull-c" is 1 from skrull-cp, 2 from skrull */
	assert_string_equal(near_best("skrull-c", pol, np), "skrull-cp");
}

static void
test_long_words(void **state)
{
	char big[NEAR_MAX + 2];
	const char *const c[] = { big };

	(void)state;
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(near_distance(big, "a"), NEAR_MAX + 1);
	assert_null(near_best("aaaa", c, 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_hand),
		cmocka_unit_test(test_second_method),
		cmocka_unit_test(test_best),
		cmocka_unit_test(test_long_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
