/*
 * afile: output files, whole or not at all.  A regular destination is
 * written to a temporary file in its directory (PATH.XXXXXX: the name
 * cut to fit NAME_MAX), which takes the mode (and, where the process may
 * set it, the owner) of the file it replaces, or 0666 & ~umask for a new
 * one; on success the temporary is flushed to the disk (fsync), renamed
 * over the destination and the directory flushed too, so that after a
 * crash the destination holds the old content or the new, whole; on
 * failure the temporary is removed.  A destination that is a symbolic
 * link is written through to the regular file it leads to, in that
 * file's directory (the link stays).  A character device or a FIFO (/dev/null,
 * /dev/stdout) is written in place, not atomically; "-" means standard
 * output, also in place.  Anything else (a directory, a socket, a block
 * device, a link to nothing) is refused before anything is created.
 *
 * Every temporary in flight is in a fixed registry, entered before the
 * file is created and left after it is renamed or removed, so that
 * afile_unlink_all, from a signal handler, removes them all.
 *
 * A destination whose name ends in ".gz" (not "-") is gzip-compressed
 * on its way out: write it through afile_put or an afile_buf attached
 * with afile_buf_attach, never to fd directly; afile_commit ends the gzip
 * stream before the fsync, so the compressed file is as atomic as any.
 *
 * Also the one write loop and the buffered writer all output goes through.
 */
#ifndef SKRULL_AFILE_H
#define SKRULL_AFILE_H

#include <stddef.h>
#include <sys/types.h>

/* Temporaries that may be in flight at once (afile_open fails beyond). */
#define AFILE_MAX 16

struct afile {
	const char *path;  /* destination, as given (messages name it) */
	char *tmp;         /* the temporary's path (afile's), NULL when the
	                      destination is written in place */
	int fd;            /* open descriptor to write to */
	/* afile's own, meaningful only after afile_open: */
	int slot;          /* the temporary's registry entry */
	int sync;          /* a duplicate of fd, for the fsync after the
	                      caller closed fd itself */
	int device;        /* fd is a device or FIFO afile_open opened */
	void *gz;          /* zlib's gzFile over a duplicate of fd when the
	                      name ends in .gz, else NULL */
};

/* Open path for writing (see above); SK_ERR_IO naming path when it
 * cannot be, and before anything is created when it must be refused. */
int afile_open(const char *path, struct afile *af);

/* Finish: for a temporary, fsync it, close fd (unless the caller already
 * did, then pass closed != 0), rename it over the destination and fsync
 * the directory; on a failure before the rename the temporary is removed
 * and SK_ERR_IO names path.  In place, close fd unless closed (never
 * standard output).  Inside afile_group_begin .. afile_group_end the
 * rename waits for afile_group_end. */
int afile_commit(struct afile *af, int closed);

/* Close (unless closed) and remove the temporary file; keeps err_msg().
 * A destination written in place keeps what was written. */
void afile_abort(struct afile *af, int closed);

/* Check, without writing anything that stays, that path could be opened
 * by afile_open: the same refusals, and a temporary created and removed
 * again (a FIFO or device is not opened).  SK_OK, or SK_ERR_IO naming
 * path.  For commands to refuse an output before they work. */
int afile_check(const char *path);

/*
 * Several outputs as one: between afile_group_begin and afile_group_end
 * every afile_commit syncs and closes its temporary but leaves it in
 * place (and in the registry), and afile_group_end(1) renames them all
 * over their destinations, or afile_group_end(0) removes them, so that a
 * command that fails on its last output has replaced none.  The renames
 * are one after the other: a crash between them can leave some done.
 * For one thread at a time; afile_group_end returns SK_OK or the first
 * failure (the temporaries not yet renamed then removed).
 */
void afile_group_begin(void);
int afile_group_end(int keep);

/* Remove every temporary in flight (afile_open to afile_commit, or held
 * by a group) and nothing else; async-signal-safe (unlink(2) only), for
 * a signal handler that then ends the process. */
void afile_unlink_all(void);

/*
 * What a path names, to tell whether two paths are one file: an existing
 * regular file by device and inode (through symbolic and hard links), or
 * a name not yet created by its directory's device and inode and the
 * name in it; "-" is standard output (output != 0) or input.  kind 0: not
 * comparable (a device, a pipe, something that cannot be found).
 */
struct afile_id {
	int kind;           /* 0, AFILE_ID_FILE or AFILE_ID_NEW */
	dev_t dev;
	ino_t ino;          /* the file's, or (AFILE_ID_NEW) its directory's */
	char name[256];     /* AFILE_ID_NEW: the name in the directory */
};
enum { AFILE_ID_FILE = 1, AFILE_ID_NEW };

void afile_id_of(const char *path, int output, struct afile_id *id);

/* Whether a and b are one file (never when either is of kind 0). */
int afile_id_same(const struct afile_id *a, const struct afile_id *b);

/* Write n bytes of p to fd, retrying short writes and EINTR; SK_ERR_IO
 * "write error: ..." naming name on failure. */
int afile_write(int fd, const char *name, const void *p, size_t n);

/* Write n bytes of p to af: through its gzip stream when it has one, else
 * as afile_write to af->fd. */
int afile_put(struct afile *af, const void *p, size_t n);

/*
 * A buffered writer: bytes collect in buf (cap bytes, the caller's) and go
 * out when it is full, to fd through afile_write's loop, or to sink when
 * one is set (trace_write's gzip stream).  The first failure is kept and
 * everything after it dropped, so that drawing code may write unchecked
 * and ask afile_buf_status once at the end.
 */
struct afile_buf {
	int fd;               /* destination descriptor */
	const char *name;     /* the destination as messages name it */
	/* NULL, or where a full buffer goes instead of fd: SK_OK, or an error
	 * code with the message set */
	int (*sink)(void *ctx, const char *p, size_t n);
	void *ctx;            /* sink's argument */
	int werr;             /* errno of the first failed write(2), 0 if none */
	int err;              /* SK_OK, or the code of the first failure */
	char *buf;
	size_t len, cap;      /* bytes held in buf, and its size */
};

/* Start w over buf[0..cap) writing to fd; sink and ctx are NULL. */
void afile_buf_init(struct afile_buf *w, int fd, const char *name,
                    char *buf, size_t cap);

/* Send w's output into af: its gzip stream when it has one (w->sink),
 * else its descriptor. */
void afile_buf_attach(struct afile_buf *w, struct afile *af);

/* Append n bytes of p; returns afile_buf_status. */
int afile_buf_put(struct afile_buf *w, const void *p, size_t n);

/* Append the string s. */
int afile_buf_puts(struct afile_buf *w, const char *s);

/* At least n (<= cap) free bytes at the end of w's data, flushing first if
 * needed; the caller fills them and adds what it wrote to w->len.  NULL
 * after a failure (see afile_buf_status). */
char *afile_buf_room(struct afile_buf *w, size_t n);

/* Write out what w holds; returns afile_buf_status. */
int afile_buf_flush(struct afile_buf *w);

/* SK_OK, or the first failure's code with its message set again ("write
 * error: ..." naming w->name for a failed write). */
int afile_buf_status(const struct afile_buf *w);

#endif
