/* trace_write: the writers of the trace module; see trace.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "afile.h"
#include "err.h"
#include "trace_int.h"

/* The .npy version 1.0 header for n little-endian uint32, as numpy's
 * format.write_array writes it: the dict, then spaces and '\n' so that the
 * data starts at a multiple of 64 bytes (always at least one space). */
static size_t
npy_header(char *dst, size_t cap, size_t n)
{
	int d;
	size_t len, pad;

	d = snprintf(dst + 10, cap - 10, "{'descr': '<u4', 'fortran_order': "
	    "False, 'shape': (%zu,), }", n);
	len = (size_t)d + 1;
	pad = 64 - (10 + len) % 64;
	memset(dst + 10 + d, ' ', pad);
	dst[10 + len + pad - 1] = '\n';
	memcpy(dst, "\x93NUMPY\x01\x00", 8);
	dst[8] = (char)((len + pad) & 0xff);
	dst[9] = (char)((len + pad) >> 8);
	return 10 + len + pad;
}

static int
write_body(struct afile_buf *w, enum trace_format fmt, const struct trace *t)
{
	char hdr[256], *p, *b;
	size_t i, k;
	uint32_t v;
	int e;

	if (fmt == TRACE_FORMAT_NPY) {
		if ((e = afile_buf_put(w, hdr, npy_header(hdr, sizeof hdr,
		    t->n))) != SK_OK)
			return e;
		for (i = 0; i < t->n; i++) {
			if ((p = afile_buf_room(w, 4)) == NULL)
				return afile_buf_status(w);
			v = t->len[i];
			p[0] = (char)(v & 0xff);
			p[1] = (char)(v >> 8 & 0xff);
			p[2] = (char)(v >> 16 & 0xff);
			p[3] = (char)(v >> 24);
			w->len += 4;
		}
		return SK_OK;
	}
	if (fmt == TRACE_FORMAT_CSV &&
	    (e = afile_buf_put(w, "length\n", 7)) != SK_OK)
		return e;
	for (i = 0; i < t->n; i++) {
		char tmp[10];

		if ((b = p = afile_buf_room(w, 11)) == NULL)
			return afile_buf_status(w);
		v = t->len[i];
		k = 0;
		do
			tmp[k++] = (char)('0' + v % 10);
		while ((v /= 10) != 0);
		while (k > 0)
			*p++ = tmp[--k];
		*p++ = '\n';
		w->len += (size_t)(p - b);
	}
	return SK_OK;
}

static int
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

/* The format a name asks for: .npy, .csv, else plain (before any .gz). */
static enum trace_format
format_of_name(const char *path)
{
	size_t n = strlen(path);

	if (has_suffix(path, ".gz"))
		n -= 3;
	if (n >= 4 && strncasecmp(path + n - 4, ".npy", 4) == 0)
		return TRACE_FORMAT_NPY;
	if (n >= 4 && strncasecmp(path + n - 4, ".csv", 4) == 0)
		return TRACE_FORMAT_CSV;
	return TRACE_FORMAT_PLAIN;
}

int
trace_write(const char *path, enum trace_format fmt, const struct trace *t)
{
	struct afile_buf w;
	struct afile af = { .tmp = NULL };
	const char *name = path;
	char *buf;
	int tostdout = strcmp(path, "-") == 0, fd, e;

	if (fmt == TRACE_FORMAT_AUTO)
		fmt = format_of_name(path);
	if (fmt != TRACE_FORMAT_PLAIN && fmt != TRACE_FORMAT_CSV &&
	    fmt != TRACE_FORMAT_NPY)
		return err_set_at(SK_ERR_UNSUPPORTED, path, 0,
		    "cannot write %s traces (plain, csv, npy)",
		    trace_format_name(fmt));
	if (tostdout && fmt == TRACE_FORMAT_NPY)
		return err_set(SK_ERR_ARG,
		    "npy cannot be written to standard output");
	if ((buf = malloc(BLOCK)) == NULL)
		return err_set_at(SK_ERR_NOMEM, path, 0, "out of memory");
	if (tostdout) {
		name = "<stdout>";
		fd = 1;
		/* what the caller printed through stdio goes first */
		if (fflush(stdout) != 0) {
			e = err_set_at(SK_ERR_IO, name, 0, "write error: %s",
			    strerror(errno));
			goto out;
		}
	} else {
		if ((e = afile_open(path, &af)) != SK_OK)
			goto out;
		fd = af.fd;
	}
	/* a .gz name is compressed by afile */
	afile_buf_init(&w, fd, name, buf, BLOCK);
	if (!tostdout)
		afile_buf_attach(&w, &af);
	if ((e = write_body(&w, fmt, t)) != SK_OK ||
	    (e = afile_buf_flush(&w)) != SK_OK)
		goto out;
	if (!tostdout) {
		e = afile_commit(&af, 0);
		free(buf);
		return e;
	}
out:
	if (!tostdout)
		afile_abort(&af, 0);
	free(buf);
	return e;
}
