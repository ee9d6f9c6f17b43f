/*
 * afile: atomic output files.  Data is written to a temporary file in the
 * destination's directory (mode 0666 & ~umask) and renamed over the
 * destination only when complete; on failure the temporary file is removed,
 * so a reader never sees a half-written file.  "-" means standard output
 * (written directly, not atomically).
 */
#ifndef SKRULL_AFILE_H
#define SKRULL_AFILE_H

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

#endif
