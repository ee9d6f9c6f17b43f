/* trace_rd: the block reader of the trace module; see trace_int.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "trace_int.h"

/* Longest text line (or quoted CSV record) accepted: a guard against
 * reading a large binary file as text into memory. */
#define LINE_MAX_BYTES ((size_t)1 << 30)

/* Read more of the file behind its unread bytes (moved to the front of
 * r->raw); r->raweof is set at its end. */
static int
raw_fill(struct rd *r)
{
	ssize_t n;

	if (r->zs.next_in != r->raw) {
		memmove(r->raw, r->zs.next_in, r->zs.avail_in);
		r->rawoff += (unsigned long long)(r->zs.next_in - r->raw);
		r->zs.next_in = r->raw;
	}
	do
		n = read(r->fd, r->raw + r->zs.avail_in, BLOCK - r->zs.avail_in);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return err_set_at(SK_ERR_IO, r->name, 0, "read error: %s",
		    strerror(errno));
	if (n == 0)
		r->raweof = 1;
	r->zs.avail_in += (uInt)n;
	return SK_OK;
}

/* The file offset of the next unread byte of r->raw. */
static unsigned long long
raw_pos(const struct rd *r)
{
	return r->rawoff + (unsigned long long)(r->zs.next_in - r->raw);
}

int
trd_open(struct rd *r, const char *path)
{
	int e;

	r->fd = -1;
	if ((r->buf = malloc(BLOCK)) == NULL ||
	    (r->raw = malloc(BLOCK)) == NULL)
		return err_set(SK_ERR_NOMEM, "%s: out of memory", r->name);
	r->zs.next_in = r->raw;
	if (strcmp(path, "-") == 0) {
		r->fd = 0;
	} else {
		do
			r->fd = open(path, O_RDONLY | O_CLOEXEC);
		while (r->fd == -1 && errno == EINTR);
		if (r->fd == -1)
			return err_set_at(SK_ERR_IO, r->name, 0, "cannot open: %s",
			    strerror(errno));
		r->own_fd = 1;
	}
	while (r->zs.avail_in < 2 && !r->raweof)
		if ((e = raw_fill(r)) != SK_OK)
			return e;
	if (r->zs.avail_in >= 2 && r->raw[0] == 0x1f && r->raw[1] == 0x8b) {
		r->gzip = 1;
		/* 16 + MAX_WBITS: a gzip header and trailer, no zlib one */
		if (inflateInit2(&r->zs, 16 + MAX_WBITS) != Z_OK)
			return err_set_at(SK_ERR_NOMEM, r->name, 0,
			    "out of memory");
		r->zinit = 1;
	}
	return SK_OK;
}

void
trd_close(struct rd *r)
{
	if (r->zinit)
		inflateEnd(&r->zs);
	if (r->own_fd && r->fd != -1)
		close(r->fd);
	free(r->raw);
	free(r->buf);
	free(r->line);
}

int
trd_file_size(const struct rd *r, unsigned long long *size)
{
	struct stat st;

	if (r->gzip || fstat(r->fd, &st) == -1 || !S_ISREG(st.st_mode))
		return 0;
	*size = (unsigned long long)st.st_size;
	return 1;
}

/* Up to want bytes of an uncompressed file into dst; fewer only at its
 * end. */
static int
direct_read(struct rd *r, char *dst, size_t want, size_t *got)
{
	size_t k;
	int e;

	*got = 0;
	while (*got < want) {
		if (r->zs.avail_in == 0) {
			if (r->raweof)
				break;
			if ((e = raw_fill(r)) != SK_OK)
				return e;
			continue;
		}
		k = want - *got < r->zs.avail_in ? want - *got : r->zs.avail_in;
		memcpy(dst + *got, r->zs.next_in, k);
		r->zs.next_in += k;
		r->zs.avail_in -= (uInt)k;
		*got += k;
	}
	return SK_OK;
}

/*
 * Up to want bytes of gzip data into dst; fewer only at the end.  Members
 * follow one another (gzip(1) concatenates them); anything after a member
 * that is not another one is an error, as is a member cut short.
 */
static int
gzip_read(struct rd *r, char *dst, size_t want, size_t *got)
{
	uInt before;
	int ret, e;

	r->zs.next_out = (Bytef *)dst;
	r->zs.avail_out = (uInt)want;
	while (r->zs.avail_out > 0) {
		if (r->between) {
			while (r->zs.avail_in < 2 && !r->raweof)
				if ((e = raw_fill(r)) != SK_OK)
					return e;
			if (r->zs.avail_in == 0)
				break;
			if (r->zs.avail_in < 2 || r->zs.next_in[0] != 0x1f ||
			    r->zs.next_in[1] != 0x8b)
				return err_set_at(SK_ERR_FORMAT, r->name, 0,
				    "trailing data at byte %llu (not a gzip "
				    "member; %llu bytes of data before it)",
				    raw_pos(r), r->data);
			r->member = raw_pos(r);
			r->between = 0;
			/* fails only on a stream inflateInit2 did not make */
			(void)inflateReset(&r->zs);
		}
		if (r->zs.avail_in == 0) {
			if (r->raweof)
				return err_set_at(SK_ERR_FORMAT, r->name, 0,
				    "truncated gzip member at byte %llu: the file "
				    "ends at byte %llu (after %llu bytes of data)",
				    r->member, raw_pos(r), r->data);
			if ((e = raw_fill(r)) != SK_OK)
				return e;
		}
		before = r->zs.avail_out;
		ret = inflate(&r->zs, Z_NO_FLUSH);
		r->data += before - r->zs.avail_out;
		if (ret == Z_STREAM_END)
			r->between = 1;
		else if (ret == Z_MEM_ERROR)
			return err_set_at(SK_ERR_NOMEM, r->name, 0,
			    "out of memory");
		else if (ret != Z_OK && ret != Z_BUF_ERROR)
			return err_set_at(SK_ERR_FORMAT, r->name, 0,
			    "corrupt gzip member at byte %llu: %s (after %llu "
			    "bytes of data)", r->member, r->zs.msg != NULL ?
			    r->zs.msg : zError(ret), r->data);
	}
	*got = want - r->zs.avail_out;
	return SK_OK;
}

/*
 * Move the unread bytes to the front of buf and read behind them until buf
 * is full or the input ends; at the end r->eof is set.
 */
int
trd_refill(struct rd *r)
{
	size_t n = 0;
	int e;

	if (r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->end - r->pos);
		r->off += r->pos;
		r->end -= r->pos;
		r->pos = 0;
	}
	if (r->eof || r->end == BLOCK)
		return SK_OK;
	e = r->gzip ? gzip_read(r, r->buf + r->end, BLOCK - r->end, &n) :
	    direct_read(r, r->buf + r->end, BLOCK - r->end, &n);
	if (e != SK_OK)
		return e;
	if (n < BLOCK - r->end)
		r->eof = 1;
	r->end += n;
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
	return err_set_at(code, r->name, at, "%s%s",
	    r->where != NULL ? r->where : "", msg);
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

