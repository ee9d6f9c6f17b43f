/* afile: see afile.h. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "afile.h"
#include "err.h"

/* Temporary names tried before giving up: a clash needs another process
 * writing the same destination at the same moment. */
#define TRIES 100

/* ".XXXXXX", the temporary's ending. */
#define SUFFIX 7

static_assert(ATOMIC_INT_LOCK_FREE == 2,
    "afile_unlink_all reads the registry from a signal handler");

/*
 * The registry of temporaries.  A slot is FREE, CLAIMED by one thread
 * (its name being made), or LIVE: its tmp names a temporary of ours, or
 * one about to be created under that name, which afile_unlink_all
 * removes.  Between tries after a clash a name changes only in its last
 * six characters, so a handler that saw the slot LIVE just before still
 * reads a name of the temporaries' pattern.  dest and name (malloc'd,
 * never read by the handler) are the rename's target and the name
 * messages use; held is set by a commit inside a group.
 */
enum { FREE, CLAIMED, LIVE };

static struct slot {
	atomic_int state;
	int held;
	char *dest, *name;
	char tmp[PATH_MAX + SUFFIX];
} slots[AFILE_MAX];

static int grouped;  /* between afile_group_begin and afile_group_end */

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

/* Block the asynchronous signals in this thread while the registry and
 * the file system disagree: a slot LIVE before its open(2), which may
 * find another process's file of that name, or still LIVE after its
 * rename(2), when another writer may make one; a handler run here then
 * cannot remove a file not ours.  The faults stay deliverable. */
static void
block(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	pthread_sigmask(SIG_BLOCK, &all, old);
}

static void
unblock(const sigset_t *old)
{
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

void
afile_unlink_all(void)
{
	int i;

	for (i = 0; i < AFILE_MAX; i++)
		if (atomic_load(&slots[i].state) == LIVE)
			unlink(slots[i].tmp);
}

/* A FREE slot, now CLAIMED; -1 when all are taken. */
static int
claim(void)
{
	int i, free_;

	for (i = 0; i < AFILE_MAX; i++) {
		free_ = FREE;
		if (atomic_compare_exchange_strong(&slots[i].state, &free_,
		    CLAIMED))
			return i;
	}
	return -1;
}

static void
release(int i)
{
	free(slots[i].dest);
	free(slots[i].name);
	slots[i].dest = slots[i].name = NULL;
	slots[i].held = 0;
	atomic_store(&slots[i].state, FREE);
}

/*
 * What writing path means, before anything is created: *dest (malloc'd)
 * the regular file to replace or create, with *st its status when
 * *exists; or *dest NULL for a device or FIFO to write in place.  SK_ERR_IO
 * naming path for what is refused.  A path that cannot be looked at (a
 * missing directory, a file as a directory) is taken as a new file: its
 * creation then says why it cannot be; but a name too long is refused
 * here.
 */
static int
classify(const char *path, char **dest, struct stat *st, int *exists)
{
	struct stat lst, real;
	size_t n = strlen(path);
	int link;

	*dest = NULL;
	*exists = 0;
	if (n == 0)
		return err_set(SK_ERR_IO, "an empty output file name");
	/* "out/" would make the temporary out/.XXXXXX, inside a directory */
	if (path[n - 1] == '/')
		return err_set_at(SK_ERR_IO, path, 0, "names a directory (it "
		    "ends in /)");
	if (lstat(path, &lst) != 0) {
		/* the temporary's name, cut to fit, would not say it */
		if (errno == ENAMETOOLONG)
			return err_set_at(SK_ERR_IO, path, 0, "%s",
			    strerror(errno));
		if ((*dest = strdup(path)) == NULL)
			return err_set_at(SK_ERR_NOMEM, path, 0, "out of memory");
		return SK_OK;
	}
	link = S_ISLNK(lst.st_mode);
	if (link && stat(path, st) != 0)
		return errno == ENOENT ? err_set_at(SK_ERR_IO, path, 0,
		    "is a symbolic link to nothing (a missing file)") :
		    err_set_at(SK_ERR_IO, path, 0, "is a symbolic link that "
		    "cannot be followed: %s", strerror(errno));
	if (!link)
		*st = lst;
	if (S_ISCHR(st->st_mode) || S_ISFIFO(st->st_mode))
		return SK_OK;
	if (S_ISDIR(st->st_mode))
		return err_set_at(SK_ERR_IO, path, 0, "is a directory");
	if (!S_ISREG(st->st_mode))
		return err_set_at(SK_ERR_IO, path, 0, "is %s, not a regular "
		    "file, a character device or a FIFO",
		    S_ISSOCK(st->st_mode) ? "a socket" :
		    S_ISBLK(st->st_mode) ? "a block device" : "an odd file");
	/* As the shell's > would: the file says it is not to be written. */
	if (access(path, W_OK) != 0 && errno == EACCES)
		return err_set_at(SK_ERR_IO, path, 0, "is not writable (mode "
		    "%04o): not replaced", (unsigned)(st->st_mode & 07777));
	*exists = 1;
	/* The rename replaces the link's target, not the link: the name the
	 * link leads to, checked to be the same file (/proc/self/fd links of
	 * a deleted file lead to no name). */
	if (!link)
		*dest = strdup(path);
	else if ((*dest = realpath(path, NULL)) != NULL &&
	    (stat(*dest, &real) != 0 || real.st_dev != st->st_dev ||
	    real.st_ino != st->st_ino)) {
		free(*dest);
		*dest = NULL;
		return err_set_at(SK_ERR_IO, path, 0, "is a symbolic link to a "
		    "file that has no name to replace");
	}
	if (*dest == NULL)
		return err_set_at(errno == ENOMEM ? SK_ERR_NOMEM : SK_ERR_IO,
		    path, 0, "%s", strerror(errno));
	return SK_OK;
}

/* A device or FIFO, opened to write in place.  A FIFO is opened without
 * waiting: no reader is an error (ENXIO), not a hang. */
static int
open_device(const char *path, const struct stat *st, struct afile *af)
{
	int fifo = S_ISFIFO(st->st_mode);

	af->fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY |
	    (fifo ? O_NONBLOCK : 0));
	if (af->fd < 0)
		return err_set_at(SK_ERR_IO, path, 0, "%s", fifo &&
		    errno == ENXIO ? "a FIFO that no process is reading" :
		    strerror(errno));
	if (fifo && fcntl(af->fd, F_SETFL, 0) == -1) {
		err_set_at(SK_ERR_IO, path, 0, "%s", strerror(errno));
		close(af->fd);
		af->fd = -1;
		return SK_ERR_IO;
	}
	af->device = 1;
	return SK_OK;
}

/* The temporary's name in slot i beside dest ("DIR/BASE.XXXXXX", BASE
 * cut so that the name fits NAME_MAX); 0, or -1 when it is too long. */
static int
tmp_name(int i, const char *dest)
{
	const char *base = strrchr(dest, '/');
	size_t dir = base != NULL ? (size_t)(base + 1 - dest) : 0;
	size_t keep = strlen(dest + dir);

	if (keep > NAME_MAX - SUFFIX)
		keep = NAME_MAX - SUFFIX;
	if (dir + keep + SUFFIX >= sizeof slots[i].tmp)
		return -1;
	memcpy(slots[i].tmp, dest, dir + keep);
	memcpy(slots[i].tmp + dir + keep, ".XXXXXX", SUFFIX + 1);
	return 0;
}

/*
 * Create the temporary of slot i (CLAIMED, its dest set): LIVE before the
 * file exists.  open(2) with mode 0666 applies the umask itself, which
 * mkstemp's fixed 0600 would not.  The descriptor, or -1 with errno set
 * (the slot CLAIMED again).
 */
static int
create_tmp(int i)
{
	sigset_t old;
	int fd = -1, t, e = 0;

	block(&old);
	for (t = 0; t < TRIES; t++) {
		fill_name(slots[i].tmp);
		atomic_store(&slots[i].state, LIVE);
		fd = open(slots[i].tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0666);
		e = errno;
		if (fd >= 0)
			break;
		atomic_store(&slots[i].state, CLAIMED);
		if (e != EEXIST)
			break;
	}
	unblock(&old);
	errno = e;
	return fd;
}

/* The temporary open at fd takes the replaced file's (st) owner, where
 * the process may give it (root), and its mode; a file left with another
 * owner keeps no set-id bits.  0, or -1 with errno set. */
static int
match(int fd, const struct stat *st)
{
	struct stat now;
	mode_t mode = st->st_mode & 07777;

	if (fstat(fd, &now) != 0)
		return -1;
	if ((now.st_uid != st->st_uid || now.st_gid != st->st_gid) &&
	    fchown(fd, st->st_uid, st->st_gid) != 0)
		mode &= 0777;
	return fchmod(fd, mode);
}

/* Claim a slot for dest (malloc'd, the slot's from here) and create its
 * temporary: *slot and *fd; SK_OK, or an error naming path with dest
 * freed and no slot held. */
static int
begin(const char *path, char *dest, int *slot, int *fd)
{
	int i, e;

	if ((i = claim()) < 0) {
		free(dest);
		return err_set_at(SK_ERR_IO, path, 0, "more than %d files "
		    "being written at once", AFILE_MAX);
	}
	slots[i].dest = dest;
	if (tmp_name(i, dest) != 0)
		e = err_set_at(SK_ERR_IO, path, 0, "%s",
		    strerror(ENAMETOOLONG));
	else if ((slots[i].name = strdup(path)) == NULL)
		e = err_set_at(SK_ERR_NOMEM, path, 0, "out of memory");
	else if ((*fd = create_tmp(i)) < 0)
		e = err_set_at(SK_ERR_IO, path, 0, "cannot create a temporary "
		    "file: %s", strerror(errno));
	else {
		*slot = i;
		return SK_OK;
	}
	release(i);
	return e;
}

/* Remove slot i's temporary and free the slot. */
static void
discard(int i)
{
	sigset_t old;

	block(&old);
	unlink(slots[i].tmp);
	release(i);
	unblock(&old);
}

/* Whether path names a gzip file (.gz, in any case, as the trace
 * readers take it). */
static int
gz_name(const char *path)
{
	size_t n = strlen(path);

	return n > 3 && strcasecmp(path + n - 3, ".gz") == 0;
}

/* The gzip stream of a .gz destination, over a duplicate of af->fd so
 * that af keeps its descriptor whatever zlib does with its own. */
static int
open_gz(struct afile *af)
{
	int fd;

	if (!gz_name(af->path))
		return SK_OK;
	if ((fd = fcntl(af->fd, F_DUPFD_CLOEXEC, 3)) < 0)
		return err_set_at(SK_ERR_IO, af->path, 0, "cannot set up the "
		    "gzip stream: %s", strerror(errno));
	if ((af->gz = gzdopen(fd, "wb")) == NULL) {
		close(fd);
		return err_set_at(SK_ERR_NOMEM, af->path, 0, "out of memory");
	}
	return SK_OK;
}

/* End af's gzip stream, if any (its trailer written, its descriptor
 * closed); SK_OK or SK_ERR_IO naming the file. */
static int
close_gz(struct afile *af)
{
	int rc;

	if (af->gz == NULL)
		return SK_OK;
	rc = gzclose((gzFile)af->gz);
	af->gz = NULL;
	if (rc == Z_OK)
		return SK_OK;
	return err_set_at(SK_ERR_IO, af->path, 0, "write error: %s",
	    rc == Z_ERRNO ? strerror(errno) : zError(rc));
}

/* gzwrite's failure as a message naming af. */
static int
gz_error(struct afile *af)
{
	int errnum;
	const char *msg = gzerror((gzFile)af->gz, &errnum);

	return err_set_at(SK_ERR_IO, af->path, 0, "write error: %s",
	    errnum == Z_ERRNO ? strerror(errno) : msg);
}

int
afile_put(struct afile *af, const void *p, size_t n)
{
	unsigned k;

	if (af->gz == NULL)
		return afile_write(af->fd, af->path, p, n);
	/* gzwrite takes an unsigned count */
	while (n > 0) {
		k = n > (1u << 30) ? 1u << 30 : (unsigned)n;
		if (gzwrite((gzFile)af->gz, p, k) != (int)k)
			return gz_error(af);
		p = (const char *)p + k;
		n -= k;
	}
	return SK_OK;
}

/* afile_buf's sink into an afile's gzip stream. */
static int
gz_sink(void *ctx, const char *p, size_t n)
{
	return afile_put(ctx, p, n);
}

void
afile_buf_attach(struct afile_buf *w, struct afile *af)
{
	if (af->gz == NULL)
		return;
	w->sink = gz_sink;
	w->ctx = af;
}

int
afile_open(const char *path, struct afile *af)
{
	struct stat st;
	char *dest;
	int exists, e;

	af->path = path;
	af->tmp = NULL;
	af->fd = -1;
	af->slot = -1;
	af->sync = -1;
	af->device = 0;
	af->gz = NULL;
	if (strcmp(path, "-") == 0) {
		af->fd = 1;
		return SK_OK;
	}
	if ((e = classify(path, &dest, &st, &exists)) != SK_OK)
		return e;
	if (dest == NULL) {
		if ((e = open_device(path, &st, af)) == SK_OK &&
		    (e = open_gz(af)) != SK_OK)
			afile_abort(af, 0);
		return e;
	}
	if ((e = begin(path, dest, &af->slot, &af->fd)) != SK_OK)
		return e;
	af->tmp = slots[af->slot].tmp;
	if ((exists && match(af->fd, &st) != 0) ||
	    (af->sync = fcntl(af->fd, F_DUPFD_CLOEXEC, 3)) < 0) {
		e = err_set_at(SK_ERR_IO, path, 0, "cannot set up the "
		    "temporary file: %s", strerror(errno));
		afile_abort(af, 0);
		return e;
	}
	if ((e = open_gz(af)) != SK_OK)
		afile_abort(af, 0);
	return e;
}

/* fsync path's directory (after a rename in it).  A file system that
 * cannot sync directories (EINVAL) is taken as it is. */
static int
sync_dir(const char *dest, const char *name)
{
	const char *slash = strrchr(dest, '/');
	char dir[PATH_MAX];
	int fd, e = 0;

	if (slash == NULL)
		snprintf(dir, sizeof dir, ".");
	else
		snprintf(dir, sizeof dir, "%.*s", slash == dest ? 1 :
		    (int)(slash - dest), dest);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fsync(fd) != 0)
		e = errno;
	if (fd >= 0)
		close(fd);
	if (e == 0 || e == EINVAL)
		return SK_OK;
	return err_set_at(SK_ERR_IO, name, 0, "written, but its directory "
	    "could not be synced: %s", strerror(e));
}

/* Rename slot i's temporary over its destination (keep) or remove it,
 * and free the slot; SK_OK or SK_ERR_IO naming the destination. */
static int
settle(int i, int keep)
{
	sigset_t old;
	int r = -1, e = 0, rc = SK_OK;

	block(&old);
	if (keep) {
		r = rename(slots[i].tmp, slots[i].dest);
		e = errno;
	}
	if (r != 0)
		unlink(slots[i].tmp);
	atomic_store(&slots[i].state, CLAIMED);
	unblock(&old);
	if (keep && r != 0)
		rc = err_set_at(SK_ERR_IO, slots[i].name, 0, "cannot rename "
		    "%s: %s", slots[i].tmp, strerror(e));
	else if (keep)
		rc = sync_dir(slots[i].dest, slots[i].name);
	release(i);
	return rc;
}

int
afile_commit(struct afile *af, int closed)
{
	int e = close_gz(af), i = af->slot;

	if (af->tmp == NULL) {
		if (af->device && !closed && close(af->fd) == -1 && e == SK_OK)
			e = err_set_at(SK_ERR_IO, af->path, 0, "write error: %s",
			    strerror(errno));
		af->device = 0;
		af->fd = -1;
		return e;
	}
	/* fsync reports what a write left pending (NFS, a full thin disk) */
	if (fsync(closed ? af->sync : af->fd) == -1 && e == SK_OK)
		e = err_set_at(SK_ERR_IO, af->path, 0, "write error: %s",
		    strerror(errno));
	if (!closed && close(af->fd) == -1 && e == SK_OK)
		e = err_set_at(SK_ERR_IO, af->path, 0, "write error: %s",
		    strerror(errno));
	close(af->sync);
	af->fd = af->sync = -1;
	af->tmp = NULL;
	if (e != SK_OK) {
		discard(i);
		return e;
	}
	if (grouped) {
		slots[i].held = 1;
		return SK_OK;
	}
	return settle(i, 1);
}

void
afile_abort(struct afile *af, int closed)
{
	/* the gzip stream's trailer goes into a file about to go */
	if (af->gz != NULL) {
		gzclose((gzFile)af->gz);
		af->gz = NULL;
	}
	if (af->tmp == NULL) {
		if (af->device && !closed)
			close(af->fd);
		af->device = 0;
		af->fd = -1;
		return;
	}
	if (!closed && af->fd >= 0)
		close(af->fd);
	if (af->sync >= 0)
		close(af->sync);
	af->fd = -1;
	af->tmp = NULL;
	discard(af->slot);
}

int
afile_check(const char *path)
{
	struct stat st;
	char *dest;
	int i, exists, fd, e;

	if (strcmp(path, "-") == 0)
		return SK_OK;
	if ((e = classify(path, &dest, &st, &exists)) != SK_OK || dest == NULL ||
	    (e = begin(path, dest, &i, &fd)) != SK_OK)
		return e;
	close(fd);
	discard(i);
	return SK_OK;
}

void
afile_group_begin(void)
{
	grouped = 1;
}

int
afile_group_end(int keep)
{
	int i, e, rc = SK_OK;

	grouped = 0;
	for (i = 0; i < AFILE_MAX; i++) {
		if (atomic_load(&slots[i].state) != LIVE || !slots[i].held)
			continue;
		e = settle(i, keep && rc == SK_OK);
		if (rc == SK_OK)
			rc = e;
	}
	return rc;
}

void
afile_id_of(const char *path, int output, struct afile_id *id)
{
	struct stat st;
	const char *slash, *base;
	char dir[PATH_MAX];
	int r;

	memset(id, 0, sizeof *id);
	if (strcmp(path, "-") == 0)
		r = fstat(output ? 1 : 0, &st);
	else
		r = stat(path, &st);
	if (r == 0) {
		if (S_ISREG(st.st_mode)) {
			id->kind = AFILE_ID_FILE;
			id->dev = st.st_dev;
			id->ino = st.st_ino;
		}
		return;
	}
	/* A name yet to be made (not a link to nothing: that is refused). */
	if (!output || strcmp(path, "-") == 0 || errno != ENOENT ||
	    lstat(path, &st) == 0)
		return;
	slash = strrchr(path, '/');
	base = slash != NULL ? slash + 1 : path;
	if (slash == NULL)
		snprintf(dir, sizeof dir, ".");
	else
		snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 :
		    (int)(slash - path), path);
	if (strlen(base) >= sizeof id->name || stat(dir, &st) != 0)
		return;
	id->kind = AFILE_ID_NEW;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	memcpy(id->name, base, strlen(base) + 1);
}

int
afile_id_same(const struct afile_id *a, const struct afile_id *b)
{
	return a->kind != 0 && a->kind == b->kind && a->dev == b->dev &&
	    a->ino == b->ino && (a->kind == AFILE_ID_FILE ||
	    strcmp(a->name, b->name) == 0);
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
