/*
 * test_afile: output files, whole or not at all.  The program is linked
 * with -Wl,--wrap=write,--wrap=close,--wrap=rename,--wrap=fsync
 * (tests/local.mk), so that the calls libskrull's writers make (afile,
 * trace_write's plain output, json_save) go through the stubs below, which
 * fail on demand the way a full disk does: short writes, then ENOSPC; or a
 * close or fsync that reports the deferred error (NFS, a thin disk); or a
 * rename that cannot be done.  Each case checks the code, that the message
 * names the destination and the reason, that no temporary is left and that
 * the destination keeps its content.  Then what afile does with what it
 * finds at the destination (a symbolic link, a device, a FIFO, a mode, a
 * hard link, a long name), its registry of temporaries, its groups, its
 * checks before work and its file identities.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <zlib.h>

#include "afile.h"
#include "err.h"
#include "json.h"
#include "trace.h"
#include "tutil.h"

ssize_t __real_write(int fd, const void *p, size_t n);
int __real_close(int fd);
int __real_rename(const char *from, const char *to);
int __real_fsync(int fd);
ssize_t __wrap_write(int fd, const void *p, size_t n);
int __wrap_close(int fd);
int __wrap_rename(const char *from, const char *to);
int __wrap_fsync(int fd);

/* The stubs' settings: bytes the "disk" still takes (-1: no limit), and
 * whether close, rename and fsync fail; fsyncs counts the calls.
 * Descriptors 0-2 are never failed, so that cmocka's own output is
 * untouched. */
static long long room = -1;
static int close_fails, rename_fails, fsync_fails, fsyncs;
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

int
__wrap_fsync(int fd)
{
	fsyncs++;
	if (fsync_fails) {
		errno = EIO;
		return -1;
	}
	return __real_fsync(fd);
}

static void
reset(void)
{
	room = -1;
	close_fails = rename_fails = fsync_fails = fsyncs = 0;
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

/*
 * A name ending in .gz: the bytes are gzip's (magic 1f 8b), inflate back
 * to what was written (zlib's gzread, a second reader beside skrull's
 * json_load), the destination is replaced through the temporary and
 * fsynced; a failed fsync fails it as a plain file, the old content
 * kept.
 */
static void
test_gzip(void **state)
{
	char dir[1024], back[4096];
	const char *path = fresh("gz", "out.json.gz", dir, sizeof dir);
	const char *want = "{\"format\":\"skrull-job\",\"dp\":4,\"cp\":8}\n";
	cJSON *root = cJSON_Parse(want), *got = NULL;
	struct afile af;
	gzFile gz;
	FILE *f;
	int n;

	(void)state;
	assert_non_null(root);
	assert_int_equal(json_save(path, root, 0), SK_OK);
	assert_true(fsyncs >= 1);
	assert_int_equal(tutil_count_entries(dir), 1);
	assert_non_null(f = fopen(path, "rb"));
	assert_int_equal(fgetc(f), 0x1f);
	assert_int_equal(fgetc(f), 0x8b);
	fclose(f);
	assert_non_null(gz = gzopen(path, "rb"));
	n = gzread(gz, back, sizeof back - 1);
	gzclose(gz);
	assert_int_equal(n, (int)strlen(want));
	back[n] = '\0';
	assert_string_equal(back, want);
	assert_int_equal(json_load(path, &got), SK_OK);
	assert_int_equal(cJSON_GetObjectItem(got, "cp")->valueint, 8);
	cJSON_Delete(got);

	/* afile_put in pieces, then an abort: the old file stays */
	assert_int_equal(afile_open(path, &af), SK_OK);
	assert_non_null(af.gz);
	assert_int_equal(afile_put(&af, "abc", 3), SK_OK);
	afile_abort(&af, 0);
	assert_int_equal(tutil_count_entries(dir), 1);
	assert_int_equal(json_load(path, &got), SK_OK);
	cJSON_Delete(got);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);

	/* a plain name: no gzip stream */
	path = fresh("plain", "out.json", dir, sizeof dir);
	assert_int_equal(afile_open(path, &af), SK_OK);
	assert_null(af.gz);
	afile_abort(&af, 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);

	/* a deferred write error at the fsync (zlib's own writes are
	 * libz's, out of these stubs' reach): the temporary goes */
	path = fresh("gzfull", "out.json.gz", dir, sizeof dir);
	fsync_fails = 1;
	expect_failed(dir, path, json_save(path, root, 1),
	    "write error: Input/output error");
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

/* A failed fsync of the temporary is a failed write: nothing renamed. */
static void
test_fsync_fails(void **state)
{
	char dir[1024];
	const char *path = fresh("d8", "out.txt", dir, sizeof dir);
	struct trace t;

	(void)state;
	big_trace(&t);
	fsync_fails = 1;
	expect_failed(dir, path, trace_write(path, TRACE_FORMAT_AUTO, &t),
	    "write error: Input/output error");
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
	/* the temporary, then its directory */
	assert_int_equal(fsyncs, 2);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
	trace_free(&t);
}

/* text into path through afile; the code. */
static int
put(const char *path, const char *text)
{
	struct afile af;
	int e;

	if ((e = afile_open(path, &af)) != SK_OK)
		return e;
	if ((e = afile_write(af.fd, path, text, strlen(text))) != SK_OK) {
		afile_abort(&af, 0);
		return e;
	}
	return afile_commit(&af, 0);
}

/* A fresh empty directory NAME in the temporary directory, into dir. */
static void
empty_dir(const char *name, char *dir, size_t size)
{
	reset();
	snprintf(dir, size, "%s", tutil_path(name));
	assert_int_equal(mkdir(dir, 0755), 0);
}

/* What is refused before anything is created: a directory, a socket, a
 * link to nothing, an empty name, a name ending in /. */
static void
test_refused(void **state)
{
	char dir[1024], path[1100], want[2300];
	struct sockaddr_un sa;
	struct afile af;
	int s;

	(void)state;
	empty_dir("d7", dir, sizeof dir);
	assert_int_equal(afile_open(dir, &af), SK_ERR_IO);
	snprintf(want, sizeof want, "%s: is a directory", dir);
	assert_string_equal(err_msg(), want);
	snprintf(path, sizeof path, "%s/", dir);
	assert_int_equal(afile_check(path), SK_ERR_IO);
	snprintf(want, sizeof want, "%s/: names a directory (it ends in /)",
	    dir);
	assert_string_equal(err_msg(), want);
	assert_int_equal(afile_check(""), SK_ERR_IO);
	assert_string_equal(err_msg(), "an empty output file name");
	snprintf(path, sizeof path, "%s/dangling", dir);
	assert_int_equal(symlink("nothing", path), 0);
	assert_int_equal(afile_open(path, &af), SK_ERR_IO);
	snprintf(want, sizeof want, "%s: is a symbolic link to nothing (a "
	    "missing file)", path);
	assert_string_equal(err_msg(), want);
	assert_int_equal(unlink(path), 0);
	/* a socket (relative: sun_path is short) */
	assert_int_equal(chdir(dir), 0);
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof sa.sun_path, "sock");
	assert_true((s = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(afile_check("sock"), SK_ERR_IO);
	assert_string_equal(err_msg(), "sock: is a socket, not a regular "
	    "file, a character device or a FIFO");
	close(s);
	assert_int_equal(unlink("sock"), 0);
	assert_int_equal(chdir("/"), 0);
	assert_int_equal(tutil_count_entries(dir), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* A FIFO is written in place: refused at once without a reader, read
 * back whole with one. */
static void
test_fifo(void **state)
{
	char dir[1024], path[1100], want[2300], buf[64];
	struct afile af;
	int r;
	ssize_t n;

	(void)state;
	empty_dir("d9", dir, sizeof dir);
	snprintf(path, sizeof path, "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0644), 0);
	assert_int_equal(afile_check(path), SK_OK);
	assert_int_equal(afile_open(path, &af), SK_ERR_IO);
	snprintf(want, sizeof want, "%s: a FIFO that no process is reading",
	    path);
	assert_string_equal(err_msg(), want);
	assert_true((r = open(path, O_RDONLY | O_NONBLOCK)) >= 0);
	assert_int_equal(put(path, "347\n"), SK_OK);
	n = read(r, buf, sizeof buf);
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "347\n", 4);
	/* no fsync of a FIFO, no temporary */
	assert_int_equal(fsyncs, 0);
	close(r);
	assert_int_equal(tutil_count_entries(dir), 1);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* A character device is written in place too: /dev/null takes all,
 * /dev/full fails the write. */
static void
test_device(void **state)
{
	struct trace t;

	(void)state;
	reset();
	big_trace(&t);
	assert_int_equal(trace_write("/dev/null", TRACE_FORMAT_AUTO, &t), SK_OK);
	assert_int_equal(trace_write("/dev/full", TRACE_FORMAT_AUTO, &t),
	    SK_ERR_IO);
	assert_string_equal(err_msg(), "/dev/full: write error: No space left "
	    "on device");
	trace_free(&t);
}

/* A symbolic link is written through: the link stays, its target gets the
 * content, the temporary is made in the target's directory. */
static void
test_symlink_through(void **state)
{
	char dir[1024], sub[1100], link[1100], target[1200];
	struct stat st;

	(void)state;
	empty_dir("d10", dir, sizeof dir);
	snprintf(sub, sizeof sub, "%s/sub", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(target, sizeof target, "%s/target", sub);
	snprintf(link, sizeof link, "%s/link", dir);
	assert_int_equal(put(target, "old\n"), SK_OK);
	assert_int_equal(symlink("sub/target", link), 0);
	assert_int_equal(put(link, "new\n"), SK_OK);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_string_equal(content(target), "new\n");
	assert_int_equal(tutil_count_entries(dir), 2);
	assert_int_equal(tutil_count_entries(sub), 1);
	assert_int_equal(unlink(link), 0);
	assert_int_equal(unlink(target), 0);
	assert_int_equal(rmdir(sub), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* The replaced file's mode is kept (not 0666 & ~umask); a hard link to
 * it keeps the old content (rename makes a new file). */
static void
test_mode_and_hard_link(void **state)
{
	char dir[1024], path[1100], hard[1100];
	struct stat st;

	(void)state;
	empty_dir("d11", dir, sizeof dir);
	snprintf(path, sizeof path, "%s/out.txt", dir);
	snprintf(hard, sizeof hard, "%s/hard.txt", dir);
	assert_int_equal(put(path, "old\n"), SK_OK);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(link(path, hard), 0);
	assert_int_equal(put(path, "new\n"), SK_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_string_equal(content(path), "new\n");
	assert_string_equal(content(hard), "old\n");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(unlink(hard), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* A name too long for its temporary's ".XXXXXX" still gets written: the
 * temporary's name is cut to fit NAME_MAX.  A name beyond NAME_MAX is
 * refused at once (its cut temporary could be made). */
static void
test_long_name(void **state)
{
	char dir[1024], name[NAME_MAX + 2], path[1400], want[1500];

	(void)state;
	empty_dir("d12", dir, sizeof dir);
	memset(name, 'a', NAME_MAX - 4);
	memcpy(name + NAME_MAX - 4, ".txt", 5);
	snprintf(path, sizeof path, "%s/%s", dir, name);
	assert_int_equal(put(path, "new\n"), SK_OK);
	assert_string_equal(content(path), "new\n");
	assert_int_equal(tutil_count_entries(dir), 1);
	assert_int_equal(unlink(path), 0);
	memset(name, 'a', NAME_MAX + 1);
	name[NAME_MAX + 1] = '\0';
	snprintf(path, sizeof path, "%s/%s", dir, name);
	assert_int_equal(afile_check(path), SK_ERR_IO);
	snprintf(want, sizeof want, "%s: File name too long", path);
	assert_string_equal(err_msg(), want);
	assert_int_equal(tutil_count_entries(dir), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* afile_unlink_all removes every temporary in flight and nothing else;
 * the registry is full at AFILE_MAX. */
static void
test_unlink_all(void **state)
{
	char dir[1024], path[AFILE_MAX + 1][1100], want[1200];
	struct afile af[AFILE_MAX + 1];
	int i;

	(void)state;
	empty_dir("d13", dir, sizeof dir);
	for (i = 0; i <= AFILE_MAX; i++)
		snprintf(path[i], sizeof path[i], "%s/out%d.txt", dir, i);
	assert_int_equal(put(path[0], "old\n"), SK_OK);
	for (i = 0; i < AFILE_MAX; i++)
		assert_int_equal(afile_open(path[i], &af[i]), SK_OK);
	assert_int_equal(afile_open(path[AFILE_MAX], &af[AFILE_MAX]),
	    SK_ERR_IO);
	snprintf(want, sizeof want, "%s: more than %d files being written at "
	    "once", path[AFILE_MAX], AFILE_MAX);
	assert_string_equal(err_msg(), want);
	assert_int_equal(tutil_count_entries(dir), 1 + AFILE_MAX);
	afile_unlink_all();
	assert_int_equal(tutil_count_entries(dir), 1);
	assert_string_equal(content(path[0]), "old\n");
	for (i = 0; i < AFILE_MAX; i++)
		afile_abort(&af[i], 0);
	assert_int_equal(unlink(path[0]), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* A group's files replace their old versions only together: held (the
 * temporaries in place) until afile_group_end, then all renamed, or all
 * removed. */
static void
test_group(void **state)
{
	char dir[1024], a[1100], b[1100];
	int keep;

	(void)state;
	empty_dir("d14", dir, sizeof dir);
	snprintf(a, sizeof a, "%s/a.txt", dir);
	snprintf(b, sizeof b, "%s/b.txt", dir);
	assert_int_equal(put(a, "old\n"), SK_OK);
	assert_int_equal(put(b, "old\n"), SK_OK);
	for (keep = 0; keep <= 1; keep++) {
		afile_group_begin();
		assert_int_equal(put(a, "new\n"), SK_OK);
		assert_int_equal(put(b, "new\n"), SK_OK);
		assert_int_equal(tutil_count_entries(dir), 4);
		assert_string_equal(content(a), "old\n");
		assert_int_equal(afile_group_end(keep), SK_OK);
		assert_int_equal(tutil_count_entries(dir), 2);
		assert_string_equal(content(a), keep ? "new\n" : "old\n");
		assert_string_equal(content(b), keep ? "new\n" : "old\n");
	}
	/* outside a group, commits rename at once again */
	assert_int_equal(put(a, "newer\n"), SK_OK);
	assert_string_equal(content(a), "newer\n");
	assert_int_equal(unlink(a), 0);
	assert_int_equal(unlink(b), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* afile_check leaves nothing and says what afile_open would. */
static void
test_check(void **state)
{
	char dir[1024], path[1100], want[2300];

	(void)state;
	empty_dir("d15", dir, sizeof dir);
	snprintf(path, sizeof path, "%s/out.txt", dir);
	assert_int_equal(afile_check(path), SK_OK);
	assert_int_equal(tutil_count_entries(dir), 0);
	snprintf(path, sizeof path, "%s/missing/out.txt", dir);
	assert_int_equal(afile_check(path), SK_ERR_IO);
	snprintf(want, sizeof want, "%s: cannot create a temporary file: No "
	    "such file or directory", path);
	assert_string_equal(err_msg(), want);
	assert_int_equal(afile_check("-"), SK_OK);
	assert_int_equal(rmdir(dir), 0);
}

/* One file by device and inode: through a hard link, a symbolic link and
 * another spelling; names yet to be made by directory and name. */
static void
test_ids(void **state)
{
	char dir[1024], a[1100], hard[1100], sym[1100], dotted[1200],
	    n1[1100], n2[1200];
	struct afile_id ia, ib;

	(void)state;
	empty_dir("d16", dir, sizeof dir);
	snprintf(a, sizeof a, "%s/a.txt", dir);
	snprintf(hard, sizeof hard, "%s/hard.txt", dir);
	snprintf(sym, sizeof sym, "%s/sym.txt", dir);
	snprintf(dotted, sizeof dotted, "%s/./a.txt", dir);
	snprintf(n1, sizeof n1, "%s/new.txt", dir);
	snprintf(n2, sizeof n2, "%s/../d16/new.txt", dir);
	assert_int_equal(put(a, "x\n"), SK_OK);
	assert_int_equal(link(a, hard), 0);
	assert_int_equal(symlink("a.txt", sym), 0);
	afile_id_of(a, 0, &ia);
	assert_int_equal(ia.kind, AFILE_ID_FILE);
	afile_id_of(hard, 1, &ib);
	assert_true(afile_id_same(&ia, &ib));
	afile_id_of(sym, 1, &ib);
	assert_true(afile_id_same(&ia, &ib));
	afile_id_of(dotted, 1, &ib);
	assert_true(afile_id_same(&ia, &ib));
	/* a new name, as an output, against another spelling of it */
	afile_id_of(n1, 1, &ia);
	assert_int_equal(ia.kind, AFILE_ID_NEW);
	afile_id_of(n2, 1, &ib);
	assert_true(afile_id_same(&ia, &ib));
	afile_id_of(a, 1, &ib);
	assert_false(afile_id_same(&ia, &ib));
	/* a missing input, a device: nothing to compare */
	afile_id_of(n1, 0, &ia);
	assert_int_equal(ia.kind, 0);
	afile_id_of("/dev/null", 0, &ia);
	afile_id_of("/dev/null", 1, &ib);
	assert_false(afile_id_same(&ia, &ib));
	assert_int_equal(unlink(a), 0);
	assert_int_equal(unlink(hard), 0);
	assert_int_equal(unlink(sym), 0);
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
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_rename_fails),
		cmocka_unit_test(test_fsync_fails),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_fifo),
		cmocka_unit_test(test_device),
		cmocka_unit_test(test_symlink_through),
		cmocka_unit_test(test_mode_and_hard_link),
		cmocka_unit_test(test_long_name),
		cmocka_unit_test(test_unlink_all),
		cmocka_unit_test(test_group),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_ids),
	};

	return cmocka_run_group_tests(tests, tutil_setup_tmp,
	    tutil_teardown_tmp);
}
