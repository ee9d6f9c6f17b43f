/* afile: see afile.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "afile.h"
#include "err.h"

/* Temporary names tried before giving up: a clash needs another process
 * writing the same destination at the same moment. */
#define TRIES 100

static const char alnum[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/* Six random characters in place of the "XXXXXX" ending name.  The names
 * need only differ between concurrent writers, not be unpredictable:
 * O_EXCL makes the creation safe either way. */
static void
fill_name(char *name)
{
	static _Thread_local uint64_t state;
	struct timespec ts;
	size_t n = strlen(name), i;

	if (state == 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		state = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^
		    (uint64_t)getpid() << 32 ^ (uint64_t)ts.tv_sec ^
		    (uint64_t)(uintptr_t)&state;
	}
	for (i = n - 6; i < n; i++) {
		/* xorshift64 */
		state ^= state << 13;
		state ^= state >> 7;
		state ^= state << 17;
		name[i] = alnum[state % (sizeof alnum - 1)];
	}
}

int
afile_open(const char *path, struct afile *af)
{
	struct stat st;
	int i;

	af->path = path;
	af->tmp = NULL;
	af->fd = -1;
	if (strcmp(path, "-") == 0) {
		af->fd = 1;
		return SK_OK;
	}
	/* rename(2) would fail on a directory only after all the work, and
	 * would replace a device or FIFO (as root, even /dev/null) with a
	 * regular file. */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return err_set_at(SK_ERR_IO, path, 0, S_ISDIR(st.st_mode) ?
		    "is a directory" : "is not a regular file (write to - "
		    "for standard output)");
	if ((af->tmp = malloc(strlen(path) + 8)) == NULL)
		return err_set_at(SK_ERR_NOMEM, path, 0, "out of memory");
	/* open(2) with mode 0666 applies the umask itself, which mkstemp's
	 * fixed 0600 would not. */
	for (i = 0; i < TRIES; i++) {
		sprintf(af->tmp, "%s.XXXXXX", path);
		fill_name(af->tmp);
		af->fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0666);
		if (af->fd >= 0 || errno != EEXIST)
			break;
	}
	if (af->fd < 0) {
		err_set_at(SK_ERR_IO, path, 0,
		    "cannot create a temporary file: %s", strerror(errno));
		free(af->tmp);
		af->tmp = NULL;
		return SK_ERR_IO;
	}
	return SK_OK;
}

int
afile_commit(struct afile *af, int closed)
{
	int e = SK_OK;

	if (af->tmp == NULL)
		return SK_OK;
	if (!closed && close(af->fd) == -1)
		e = err_set_at(SK_ERR_IO, af->path, 0, "write error: %s",
		    strerror(errno));
	af->fd = -1;
	if (e == SK_OK && rename(af->tmp, af->path) == -1)
		e = err_set_at(SK_ERR_IO, af->path, 0, "cannot rename %s: %s",
		    af->tmp, strerror(errno));
	if (e != SK_OK)
		unlink(af->tmp);
	free(af->tmp);
	af->tmp = NULL;
	return e;
}

void
afile_abort(struct afile *af, int closed)
{
	if (af->tmp == NULL)
		return;
	if (!closed && af->fd >= 0)
		close(af->fd);
	af->fd = -1;
	unlink(af->tmp);
	free(af->tmp);
	af->tmp = NULL;
}

/* Write p[0..n) to fd; 0, or the errno of the failure. */
static int
write_fd(int fd, const char *p, size_t n)
{
	ssize_t k;

	while (n > 0) {
		if ((k = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int
afile_write(int fd, const char *name, const void *p, size_t n)
{
	int errnum = write_fd(fd, p, n);

	if (errnum != 0)
		return err_set_at(SK_ERR_IO, name, 0, "write error: %s",
		    strerror(errnum));
	return SK_OK;
}

void
afile_buf_init(struct afile_buf *w, int fd, const char *name, char *buf,
               size_t cap)
{
	w->fd = fd;
	w->name = name;
	w->sink = NULL;
	w->ctx = NULL;
	w->werr = 0;
	w->err = SK_OK;
	w->buf = buf;
	w->len = 0;
	w->cap = cap;
}

int
afile_buf_status(const struct afile_buf *w)
{
	if (w->werr != 0)
		return err_set_at(SK_ERR_IO, w->name, 0, "write error: %s",
		    strerror(w->werr));
	return w->err;
}

int
afile_buf_flush(struct afile_buf *w)
{
	size_t n = w->len;

	w->len = 0;
	if (w->err != SK_OK || n == 0)
		return afile_buf_status(w);
	if (w->sink != NULL)
		w->err = w->sink(w->ctx, w->buf, n);
	else if ((w->werr = write_fd(w->fd, w->buf, n)) != 0)
		w->err = SK_ERR_IO;
	return afile_buf_status(w);
}

int
afile_buf_put(struct afile_buf *w, const void *p, size_t n)
{
	size_t k;

	while (n > 0 && w->err == SK_OK) {
		if (w->len == w->cap && afile_buf_flush(w) != SK_OK)
			break;
		k = w->cap - w->len < n ? w->cap - w->len : n;
		memcpy(w->buf + w->len, p, k);
		w->len += k;
		p = (const char *)p + k;
		n -= k;
	}
	return w->err == SK_OK ? SK_OK : afile_buf_status(w);
}

int
afile_buf_puts(struct afile_buf *w, const char *s)
{
	return afile_buf_put(w, s, strlen(s));
}

char *
afile_buf_room(struct afile_buf *w, size_t n)
{
	if (w->err == SK_OK && w->cap - w->len < n)
		afile_buf_flush(w);
	return w->err == SK_OK ? w->buf + w->len : NULL;
}
