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
