/* test_err: the error module records one message with its location. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"

static void
test_set_returns_code(void **state)
{
	(void)state;
	assert_int_equal(err_set(SK_ERR_RANGE, "length %d is too long", 2147483647),
	    SK_ERR_RANGE);
	assert_int_equal(err_code(), SK_ERR_RANGE);
	assert_string_equal(err_msg(), "length 2147483647 is too long");
}

static void
test_location_prefix(void **state)
{
	(void)state;
	err_set_at(SK_ERR_FORMAT, "traces/x.csv", 17, "'%s' is not an integer", "3a7");
	assert_string_equal(err_msg(), "traces/x.csv:17: '3a7' is not an integer");
	err_set_at(SK_ERR_IO, "w.npy", 0, "truncated");
	assert_string_equal(err_msg(), "w.npy: truncated");
	err_set_at(SK_ERR_IO, NULL, 5, "no file");
	assert_string_equal(err_msg(), "no file");
}

static void
test_prefix_and_clear(void **state)
{
	(void)state;
	err_set(SK_ERR_ARG, "share 0.5 is below 0.8788");
	err_prefix("cdf item 3");
	assert_string_equal(err_msg(), "cdf item 3: share 0.5 is below 0.8788");
	err_clear();
	assert_int_equal(err_code(), SK_OK);
	assert_string_equal(err_msg(), "");
}

static void
test_long_message_truncated(void **state)
{
	char big[3 * ERR_MSG_MAX];

	(void)state;
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	err_set_at(SK_ERR_FORMAT, "f", 9, "%s", big);
	/* 1023 characters survive: "f:9: " and 1018 x's. */
	assert_int_equal(strlen(err_msg()), ERR_MSG_MAX - 1);
	assert_memory_equal(err_msg(), "f:9: xxx", 8);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(err_name(SK_ERR_IO), "io");
	assert_string_equal(err_name(SK_ERR_UNSUPPORTED), "unsupported");
	assert_string_equal(err_name(977), "unknown");
}

/* Control characters in a name come out escaped, by hand: "a\nb" is 4
 * bytes "a\\nb" after, ESC (0x1b) is "\\x1b", DEL "\\x7f"; the rest and
 * UTF-8 bytes pass. */
static void
test_escape(void **state)
{
	char buf[16];

	(void)state;
	err_set(SK_ERR_IO, "%s: cannot open", "a\nb\x1b[2J\t\x7f\xc3\xa9");
	assert_string_equal(err_msg(),
	    "a\\nb\\x1b[2J\\t\\x7f\xc3\xa9: cannot open");
	err_set_at(SK_ERR_FORMAT, "t\r.txt", 3, "bad");
	assert_string_equal(err_msg(), "t\\r.txt:3: bad");
	err_prefix("p\x01");
	assert_string_equal(err_msg(), "p\\x01: t\\r.txt:3: bad");
	/* an escape that does not fit is left out whole: 6 bytes hold
	 * "ab" and the NUL, and no half of the 4 of "\\x1b"; 7 hold it */
	assert_int_equal(err_escape(buf, 6, "ab\x1b" "c"), 2);
	assert_string_equal(buf, "ab");
	assert_int_equal(err_escape(buf, 7, "ab\x1b" "c"), 6);
	assert_string_equal(buf, "ab\\x1b");
	assert_int_equal(err_escape(buf, sizeof buf, "ab\x1b" "c"), 7);
	assert_string_equal(buf, "ab\\x1bc");
	assert_int_equal(err_escape(buf, 1, "xyz"), 0);
	assert_string_equal(buf, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_returns_code),
		cmocka_unit_test(test_location_prefix),
		cmocka_unit_test(test_prefix_and_clear),
		cmocka_unit_test(test_long_message_truncated),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
