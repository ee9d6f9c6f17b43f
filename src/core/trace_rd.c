/* trace_rd: the block reader of the trace module; see trace_int.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "trace_int.h"

/* Longest text line (or quoted CSV record) accepted: a guard against
 * reading a large binary file as text into memory. */
#define LINE_MAX_BYTES ((size_t)1 << 30)

int
trd_open(struct rd *r, const char *path)
{
	int fd;

	if ((r->buf = malloc(BLOCK)) == NULL)
		return err_set(SK_ERR_NOMEM, "%s: out of memory", r->name);
	if (strcmp(path, "-") == 0) {
		/* gzclose closes its descriptor; standard input stays open. */
		if ((fd = dup(0)) == -1)
			return err_set_at(SK_ERR_IO, r->name, 0, "cannot open: %s",
			    strerror(errno));
		if ((r->gz = gzdopen(fd, "rb")) == NULL) {
			close(fd);
			return err_set_at(SK_ERR_IO, r->name, 0, "cannot open: %s",
			    strerror(errno));
		}
	} else {
		errno = 0;
		if ((r->gz = gzopen(path, "rb")) == NULL)
			return err_set_at(SK_ERR_IO, r->name, 0, "cannot open: %s",
			    errno != 0 ? strerror(errno) : "out of memory");
	}
	gzbuffer(r->gz, 2 * BLOCK);
	return SK_OK;
}

void
trd_close(struct rd *r)
{
	if (r->gz != NULL)
		gzclose(r->gz);
	free(r->buf);
	free(r->line);
}

static int
gz_fail(struct rd *r)
{
	const char *msg, *colon;
	int errnum;

	msg = gzerror(r->gz, &errnum);
	if (errnum == Z_ERRNO)
		return err_set_at(SK_ERR_IO, r->name, 0, "read error: %s",
		    strerror(errno));
	/* zlib's message repeats the file name: "NAME: text" */
	if ((colon = strrchr(msg, ':')) != NULL && colon[1] == ' ')
		msg = colon + 2;
	return err_set_at(SK_ERR_IO, r->name, 0, "read error: %s (after %llu "
	    "bytes of data)", msg, r->off + r->end);
}

/*
 * Move the unread bytes to the front of buf and read behind them until buf
 * is full or the input ends; at the end r->eof is set.
 */
int
trd_refill(struct rd *r)
{
	int n, errnum;

	if (r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->end - r->pos);
		r->off += r->pos;
		r->end -= r->pos;
		r->pos = 0;
	}
	if (r->eof || r->end == BLOCK)
		return SK_OK;
	if ((n = gzread(r->gz, r->buf + r->end, BLOCK - r->end)) < 0)
		return gz_fail(r);
	/* gzread returns less than asked only at the end of the input. */
	if ((size_t)n < BLOCK - r->end) {
		r->eof = 1;
		/* A gzip stream cut short reads as a clean end otherwise. */
		gzerror(r->gz, &errnum);
		if (errnum != Z_OK && errnum != Z_BUF_ERROR)
			return gz_fail(r);
		if (errnum == Z_BUF_ERROR)
			return err_set_at(SK_ERR_IO, r->name, 0,
			    "read error: truncated gzip stream (after %llu "
			    "bytes of data)", r->off + r->end + (size_t)n);
	}
	r->end += (size_t)n;
	return SK_OK;
}

/* Make at least want bytes readable at buf + pos unless the input ends
 * first; returns how many are. */
int
trd_need(struct rd *r, size_t want, size_t *have)
{
	int e;

	while (r->end - r->pos < want && !r->eof)
		if ((e = trd_refill(r)) != SK_OK)
			return e;
	*have = r->end - r->pos;
	return SK_OK;
}

static int
line_grow(struct rd *r, size_t n)
{
	size_t cap;
	char *p;

	if (n <= r->linecap)
		return SK_OK;
	if (n > LINE_MAX_BYTES)
		return err_set_at(SK_ERR_FORMAT, r->name, r->lineno,
		    "line longer than %zu bytes", LINE_MAX_BYTES);
	cap = r->linecap > 0 ? r->linecap : 4096;
	while (cap < n)
		cap *= 2;
	if ((p = realloc(r->line, cap)) == NULL)
		return err_set_at(SK_ERR_NOMEM, r->name, r->lineno,
		    "out of memory for a line of %zu bytes", n);
	r->line = p;
	r->linecap = cap;
	return SK_OK;
}

/*
 * The next line, without its '\n', in *s and *n; *s is NULL at the end of
 * the input.  The first keep bytes of r->line are kept in front of it, for
 * records that span lines.  A line inside one block is returned in place;
 * only one that crosses a block boundary is copied.
 */
int
trd_line(struct rd *r, size_t keep, const char **s, size_t *n)
{
	size_t len = keep, k;
	char *nl, *nul;
	int e;

	r->lineno++;
	for (;;) {
		nl = memchr(r->buf + r->pos, '\n', r->end - r->pos);
		k = (nl != NULL ? (size_t)(nl - r->buf) : r->end) - r->pos;
		/* Text holds no NUL: stop a binary file (or a gzip bomb of
		 * zeros) here rather than buffer it as one huge line. */
		if ((nul = memchr(r->buf + r->pos, '\0', k)) != NULL)
			return err_set_at(SK_ERR_FORMAT, r->name, r->lineno,
			    "byte %llu: NUL byte in a text line (a binary file? "
			    "see --format)", r->off + (unsigned long long)(nul -
			    r->buf));
		if (nl != NULL && len == 0) {
			*s = r->buf + r->pos;
			*n = k;
			r->pos += k + 1;
			return SK_OK;
		}
		if (k > 0) {
			if ((e = line_grow(r, len + k)) != SK_OK)
				return e;
			memcpy(r->line + len, r->buf + r->pos, k);
			len += k;
			r->pos += k;
		}
		if (nl != NULL) {
			r->pos++;
			break;
		}
		if (r->eof)
			break;
		if ((e = trd_refill(r)) != SK_OK)
			return e;
	}
	if (nl == NULL && len == keep) {
		*s = NULL;
		*n = 0;
		return SK_OK;
	}
	*s = r->line;
	*n = len;
	return SK_OK;
}

/* Extend the record in *s, *n with a '\n' and the next line (*s is NULL
 * when there is none). */
int
trd_more_line(struct rd *r, const char **s, size_t *n)
{
	size_t len = *n;
	int e;

	if ((e = line_grow(r, len + 1)) != SK_OK)
		return e;
	if (*s != r->line)
		memcpy(r->line, *s, len);
	r->line[len] = '\n';
	return trd_line(r, len + 1, s, n);
}

/* ---- reading: values ---- */

int
trd_is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	    c == '\v';
}

void
trd_trim(const char **s, size_t *n)
{
	while (*n > 0 && trd_is_blank((unsigned char)**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && trd_is_blank((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

/*
 * Parse s[0..n) as a decimal integer with an optional sign; 0 if it is not
 * one.  Magnitudes beyond TRACE_LEN_MAX saturate at TRACE_LEN_MAX + 1, which
 * is all the range checks need.
 */
int
trd_parse_int(const char *s, size_t n, long long *v)
{
	const char *e = s + n;
	long long x = 0;
	int neg = 0;

	if (s < e && (*s == '-' || *s == '+'))
		neg = *s++ == '-';
	if (s == e)
		return 0;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		x = x * 10 + (*s - '0');
		if (x > (long long)TRACE_LEN_MAX)
			x = (long long)TRACE_LEN_MAX + 1;
	}
	*v = neg ? -x : x;
	return 1;
}

/* Copy s[0..n) into dst for a message, shortened if long. */
const char *
trd_excerpt(char *dst, size_t cap, const char *s, size_t n)
{
	if (n < cap) {
		memcpy(dst, s, n);
		dst[n] = '\0';
	} else
		snprintf(dst, cap, "%.*s...", (int)(cap - 4), s);
	return dst;
}

/*
 * A bad record at line (text) or record number at: fail with a message, or
 * under skip_bad count it and go on (SK_OK; the caller drops the record).
 */
int
trd_bad(struct rd *r, unsigned long long at, int code, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;

	if (r->skip_bad) {
		if (r->skipped++ == 0)
			r->first_skipped = at;
		return SK_OK;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (r->binary)
		return err_set_at(code, r->name, 0, "record %llu: %s", at, msg);
	return err_set_at(code, r->name, at, "%s", msg);
}

int
trd_valid_len(long long v)
{
	return v >= 1 && v <= (long long)TRACE_LEN_MAX;
}

/* A length v (written txt) out of range: see trd_bad().  Messages are formatted
 * only here, off the path of good records. */
int
trd_bad_len(struct rd *r, unsigned long long at, const char *ctx,
        const char *txt, long long v)
{
	if (v < 1)
		return trd_bad(r, at, SK_ERR_RANGE, "%slength %s is not positive",
		    ctx, txt);
	return trd_bad(r, at, SK_ERR_RANGE, "%slength %s exceeds %u", ctx, txt,
	    TRACE_LEN_MAX);
}

/* A term of a sum out of 0..TRACE_LEN_MAX: see trd_bad(). */
int
trd_bad_term(struct rd *r, unsigned long long at, const char *ctx,
         const char *txt, long long v)
{
	if (v < 0)
		return trd_bad(r, at, SK_ERR_RANGE, "%s%s is negative", ctx, txt);
	return trd_bad(r, at, SK_ERR_RANGE, "%s%s exceeds %u", ctx, txt,
	    TRACE_LEN_MAX);
}

/* Blank lines are allowed only at the end of a text file: called at the
 * next non-blank line, report the ones before it. */
int
trd_flush_blank(struct rd *r)
{
	unsigned long long i;
	int e;

	for (i = 0; i < r->nblank; i++)
		if ((e = trd_bad(r, r->blank + i, SK_ERR_FORMAT, "empty line")) !=
		    SK_OK)
			return e;
	r->nblank = 0;
	return SK_OK;
}

/* Track a blank line; see flush_blank. */
void
trd_note_blank(struct rd *r)
{
	if (r->nblank++ == 0)
		r->blank = r->lineno;
}

