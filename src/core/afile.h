/*
 * afile: atomic output files.  Data is written to a temporary file in the
 * destination's directory (mode 0666 & ~umask) and renamed over the
 * destination only when complete; on failure the temporary file is removed,
 * so a reader never sees a half-written file.  "-" means standard output
 * (written directly, not atomically).  Also the one write loop and the
 * buffered writer all output goes through.
 */
#ifndef SKRULL_AFILE_H
#define SKRULL_AFILE_H

#include <stddef.h>

struct afile {
	const char *path;  /* destination, as given */
	char *tmp;         /* temporary path (owned), NULL for standard output */
	int fd;            /* open descriptor to write to */
};

/* Create the temporary file; SK_ERR_IO naming path on failure, or when
 * path exists and is not a regular file (a directory, a device). */
int afile_open(const char *path, struct afile *af);

/* Close fd (unless the caller already did, then pass closed != 0) and
 * rename the temporary file over path; on failure the temporary is
 * removed and SK_ERR_IO names path. */
int afile_commit(struct afile *af, int closed);

/* Close (unless closed) and remove the temporary file; keeps err_msg(). */
void afile_abort(struct afile *af, int closed);

/* Write n bytes of p to fd, retrying short writes and EINTR; SK_ERR_IO
 * "write error: ..." naming name on failure. */
int afile_write(int fd, const char *name, const void *p, size_t n);

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
