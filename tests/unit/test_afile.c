/*
 * test_afile: atomic output files when the disk fills up.  The program is
 * linked with -Wl,--wrap=write,--wrap=close,--wrap=rename (tests/local.mk),
 * so that the calls libskrull's writers make (afile, trace_write's plain
 * output, json_save) go through the stubs below, which fail on demand the
 * way a full disk does: short writes, then ENOSPC; or a close that reports
 * the deferred error (NFS); or a rename that cannot be done.  Each case
 * checks the code, that the message names the destination and the reason,
 * that no temporary is left and that the destination keeps its content.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "afile.h"
#include "err.h"
#include "json.h"
#include "trace.h"
#include "tutil.h"

ssize_t __real_write(int fd, const void *p, size_t n);
int __real_close(int fd);
int __real_rename(const char *from, const char *to);
ssize_t __wrap_write(int fd, const void *p, size_t n);
int __wrap_close(int fd);
int __wrap_rename(const char *from, const char *to);

/* The stubs' settings: bytes the "disk" still takes (-1: no limit), and
 * whether close and rename fail.  Descriptors 0-2 are never failed, so
 * that cmocka's own output is untouched. */
static long long room = -1;
static int close_fails, rename_fails;
static unsigned long long written;

ssize_t
__wrap_write(int fd, const void *p, size_t n)
{
	ssize_t k;

	if (fd <= 2 || room < 0)
		return __real_write(fd, p, n);
	if (room == 0) {
		errno = ENOSPC;
		return -1;
	}
	/* a short write first, as write(2) does when the disk fills */
	k = __real_write(fd, p, n < (size_t)room ? n : (size_t)room);
	if (k > 0) {
		room -= k;
		written += (unsigned long long)k;
	}
	return k;
}

int
__wrap_close(int fd)
{
	int rc = __real_close(fd);

	if (fd > 2 && close_fails && rc == 0) {
		errno = ENOSPC;
		return -1;
	}
	return rc;
}

int
__wrap_rename(const char *from, const char *to)
{
	if (rename_fails) {
		errno = EXDEV;
		return -1;
	}
	return __real_rename(from, to);
}

static void
reset(void)
{
	room = -1;
	close_fails = rename_fails = 0;
	written = 0;
	err_clear();
}

/* The content of path, which must be small. */
static const char *
content(const char *path)
{
	static char buf[256];
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* A fresh directory holding only path "DIR/out.EXT" with "old\n". */
static const char *
fresh(const char *dirname, const char *file, char *dir, size_t size)
{
	static char path[1200];

	snprintf(dir, size, "%s", tutil_path(dirname));
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(path, sizeof path, "%s/%s", dir, file);
	reset();
	assert_non_null(tutil_put(file, "old\n"));
	assert_int_equal(__real_rename(tutil_path(file), path), 0);
	return path;
}

static void
expect_failed(const char *dir, const char *path, int code, const char *why)
{
	char want[2400];

	assert_int_equal(code, SK_ERR_IO);
	assert_int_equal(err_code(), SK_ERR_IO);
	snprintf(want, sizeof want, "%s: %s", path, why);
	assert_string_equal(err_msg(), want);
	/* the destination alone: no temporary left */
	assert_int_equal(tutil_count_entries(dir), 1);
	assert_string_equal(content(path), "old\n");
	reset();
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* Lengths 1000..100999, about 640 KB of text: many 64 KiB blocks. */
static void
big_trace(struct trace *t)
{
	uint32_t i;

	trace_init(t);
	for (i = 0; i < 100000; i++)
		assert_int_equal(trace_push(t, 1000 + i * 7 % 99991), SK_OK);
}

static void
test_trace_disk_full_at_once(void **state)
{
	char dir[1024];
	const char *path = fresh("d1", "out.txt", dir, sizeof dir);
	struct trace t;

	(void)state;
	big_trace(&t);
	room = 0;
	expect_failed(dir, path, trace_write(path, TRACE_FORMAT_AUTO, &t),
	    "write error: No space left on device");
	trace_free(&t);
}

static void
test_trace_disk_full_midway(void **state)
{
	char dir[1024];
	const char *path = fresh("d2", "out.npy", dir, sizeof dir);
	struct trace t;
	int rc;

	(void)state;
	big_trace(&t);
	/* one block and a bit goes in (a short write), then ENOSPC */
	room = 70000;
	rc = trace_write(path, TRACE_FORMAT_AUTO, &t);
	assert_int_equal(written, 70000);
	expect_failed(dir, path, rc, "write error: No space left on device");
	trace_free(&t);
}

static void
test_trace_disk_full_on_close(void **state)
{
	char dir[1024];
	const char *path = fresh("d3", "out.csv", dir, sizeof dir);
	struct trace t;

	(void)state;
	big_trace(&t);
	close_fails = 1;
	expect_failed(dir, path, trace_write(path, TRACE_FORMAT_AUTO, &t),
	    "write error: No space left on device");
	trace_free(&t);
}

static void
test_json_disk_full(void **state)
{
	char dir[1024];
	const char *path = fresh("d4", "out.json", dir, sizeof dir);
	cJSON *root = cJSON_Parse("{\"format\": \"skrull-job\", \"dp\": 4}");

	(void)state;
	assert_non_null(root);
	room = 10;  /* "{\n\t\"format" and no more */
	expect_failed(dir, path, json_save(path, root, 1),
	    "write error: No space left on device");
	cJSON_Delete(root);
}

static void
test_rename_fails(void **state)
{
	char dir[1024], want[1300];
	const char *path = fresh("d5", "out.txt", dir, sizeof dir);
	struct trace t;

	(void)state;
	trace_init(&t);
	assert_int_equal(trace_push(&t, 347), SK_OK);
	rename_fails = 1;
	assert_int_equal(trace_write(path, TRACE_FORMAT_AUTO, &t), SK_ERR_IO);
	/* "PATH: cannot rename PATH.XXXXXX: Invalid cross-device link" */
	snprintf(want, sizeof want, "%s: cannot rename %s.", path, path);
	assert_memory_equal(err_msg(), want, strlen(want));
	assert_non_null(strstr(err_msg(), ": Invalid cross-device link"));
	assert_int_equal(tutil_count_entries(dir), 1);
	assert_string_equal(content(path), "old\n");
	reset();
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
	trace_free(&t);
}

/* Without a failure the same stubs let the data through, so the cases
 * above fail for the reason they set up. */
static void
test_no_failure(void **state)
{
	char dir[1024];
	const char *path = fresh("d6", "out.txt", dir, sizeof dir);
	struct trace t;

	(void)state;
	trace_init(&t);
	assert_int_equal(trace_push(&t, 347), SK_OK);
	assert_int_equal(trace_push(&t, 10919), SK_OK);
	assert_int_equal(trace_write(path, TRACE_FORMAT_AUTO, &t), SK_OK);
	assert_string_equal(content(path), "347\n10919\n");
	assert_int_equal(tutil_count_entries(dir), 1);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
	trace_free(&t);
}

/* A destination that is not a regular file is refused before any
 * temporary is made: rename would replace a FIFO or a device node. */
static void
test_not_regular(void **state)
{
	char dir[1024], path[1100], want[2300];
	struct afile af;

	(void)state;
	reset();
	snprintf(dir, sizeof dir, "%s", tutil_path("d7"));
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(path, sizeof path, "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0644), 0);
	assert_int_equal(afile_open(path, &af), SK_ERR_IO);
	snprintf(want, sizeof want, "%s: is not a regular file (write to - "
	    "for standard output)", path);
	assert_string_equal(err_msg(), want);
	assert_int_equal(tutil_count_entries(dir), 1);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(afile_open(dir, &af), SK_ERR_IO);
	snprintf(want, sizeof want, "%s: is a directory", dir);
	assert_string_equal(err_msg(), want);
	assert_int_equal(tutil_count_entries(dir), 0);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_failure),
		cmocka_unit_test(test_trace_disk_full_at_once),
		cmocka_unit_test(test_trace_disk_full_midway),
		cmocka_unit_test(test_trace_disk_full_on_close),
		cmocka_unit_test(test_json_disk_full),
		cmocka_unit_test(test_rename_fails),
		cmocka_unit_test(test_not_regular),
	};

	return cmocka_run_group_tests(tests, tutil_setup_tmp,
	    tutil_teardown_tmp);
}
