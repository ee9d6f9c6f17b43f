/* trace: see trace.h. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <zlib.h>

#include "afile.h"
#include "err.h"
#include "mem.h"
#include "trace.h"

/* Bytes read or written per call: large enough that syscalls and gzread
 * calls do not show in a profile, small enough to stay in L2. */
#define BLOCK (64 * 1024)

/* Longest text line (or quoted CSV record) accepted: a guard against
 * reading a large binary file as text into memory. */
#define LINE_MAX_BYTES ((size_t)1 << 30)

/* Entries reserved up front for a binary file: its header may claim any
 * count, so beyond this the array grows only as data arrives. */
#define RESERVE_MAX ((size_t)1 << 20)

/* Shown in messages in place of "-". */
#define STDIN_NAME "<stdin>"

/* The names the default field rule looks for, in order (skrull-trace(5)). */
static const char *const default_names[] = {
	"length", "len", "num_tokens", "num_total_tokens", "total_tokens",
	"seq_len", "seqlen", "tokens", "n_tokens"
};
#define NDEFAULT (sizeof default_names / sizeof default_names[0])

static const char *const format_names[] = {
	"auto", "plain", "csv", "jsonl", "npy", "idx"
};
#define NFORMAT (sizeof format_names / sizeof format_names[0])

/* A streaming reader over one (possibly gzip-compressed) file. */
struct rd {
	gzFile gz;
	const char *name;          /* for messages */
	char *buf;                 /* BLOCK bytes */
	size_t pos, end;           /* unread bytes: buf[pos..end) */
	unsigned long long off;    /* offset of buf[0] in the decompressed data */
	int eof;                   /* gzread has reported end of input */
	int binary;                /* messages name records, not lines */
	char *line;                /* lines that cross a block boundary */
	size_t linecap;
	unsigned long long lineno;
	unsigned long long blank;  /* first of the pending blank lines, 0 if none */
	unsigned long long nblank;
	int skip_bad;
	size_t skipped;
	unsigned long long first_skipped;
	struct trace *t;
};

/* One term of a field specification. */
struct term {
	const char *name;  /* as written, for messages */
	const char *seg;   /* JSONL: the path's segments, each NUL-terminated */
	size_t nseg;
	size_t col;        /* CSV: 0-based column */
};

struct fieldspec {
	struct term *term;
	size_t n;
	char *buf;         /* storage of the names and segments */
	char ctx[256];     /* sum: message prefix naming it, "a+b: " */
	int sum;           /* n > 1: terms are summed */
};

/* A CSV field inside a line: its content, without quotes. */
struct span {
	const char *p;
	size_t n;
};

void
trace_init(struct trace *t)
{
	t->len = NULL;
	t->n = 0;
	t->cap = 0;
}

void
trace_free(struct trace *t)
{
	free(t->len);
	trace_init(t);
}

int
trace_reserve(struct trace *t, size_t n)
{
	uint32_t *p;
	size_t cap;

	if (n <= t->cap)
		return SK_OK;
	cap = t->cap > 0 ? t->cap : 256;
	while (cap < n) {
		if (cap > SIZE_MAX / 2 / sizeof *p)
			return err_set(SK_ERR_NOMEM, "out of memory for %zu lengths", n);
		cap *= 2;
	}
	if ((p = realloc(t->len, cap * sizeof *p)) == NULL)
		return err_set(SK_ERR_NOMEM, "out of memory for %zu lengths", cap);
	t->len = p;
	t->cap = cap;
	return SK_OK;
}

int
trace_push(struct trace *t, uint32_t len)
{
	int e;

	if (t->n == t->cap && (e = trace_reserve(t, t->n + 1)) != SK_OK)
		return e;
	t->len[t->n++] = len;
	return SK_OK;
}

const char *
trace_format_name(enum trace_format f)
{
	if ((unsigned)f >= NFORMAT)
		return "unknown";
	return format_names[f];
}

int
trace_format_parse(const char *name, enum trace_format *f)
{
	size_t i;

	for (i = 0; i < NFORMAT; i++) {
		if (strcasecmp(name, format_names[i]) == 0) {
			*f = (enum trace_format)i;
			return SK_OK;
		}
	}
	return err_set(SK_ERR_ARG,
	    "unknown format '%s' (plain, csv, jsonl, npy, idx)", name);
}

/* ---- reading: the byte stream ---- */

static int
rd_open(struct rd *r, const char *path)
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

static void
rd_close(struct rd *r)
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
static int
refill(struct rd *r)
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
static int
need(struct rd *r, size_t want, size_t *have)
{
	int e;

	while (r->end - r->pos < want && !r->eof)
		if ((e = refill(r)) != SK_OK)
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
static int
read_line(struct rd *r, size_t keep, const char **s, size_t *n)
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
		if ((e = refill(r)) != SK_OK)
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
static int
more_line(struct rd *r, const char **s, size_t *n)
{
	size_t len = *n;
	int e;

	if ((e = line_grow(r, len + 1)) != SK_OK)
		return e;
	if (*s != r->line)
		memcpy(r->line, *s, len);
	r->line[len] = '\n';
	return read_line(r, len + 1, s, n);
}

/* ---- reading: values ---- */

static int
is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	    c == '\v';
}

static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && is_blank((unsigned char)**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && is_blank((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

/*
 * Parse s[0..n) as a decimal integer with an optional sign; 0 if it is not
 * one.  Magnitudes beyond TRACE_LEN_MAX saturate at TRACE_LEN_MAX + 1, which
 * is all the range checks need.
 */
static int
parse_int(const char *s, size_t n, long long *v)
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
static const char *
excerpt(char *dst, size_t cap, const char *s, size_t n)
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
__attribute__((format(printf, 4, 5)))
static int
bad(struct rd *r, unsigned long long at, int code, const char *fmt, ...)
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

static int
valid_len(long long v)
{
	return v >= 1 && v <= (long long)TRACE_LEN_MAX;
}

/* A length v (written txt) out of range: see bad().  Messages are formatted
 * only here, off the path of good records. */
static int
bad_len(struct rd *r, unsigned long long at, const char *ctx,
        const char *txt, long long v)
{
	if (v < 1)
		return bad(r, at, SK_ERR_RANGE, "%slength %s is not positive",
		    ctx, txt);
	return bad(r, at, SK_ERR_RANGE, "%slength %s exceeds %u", ctx, txt,
	    TRACE_LEN_MAX);
}

/* A term of a sum out of 0..TRACE_LEN_MAX: see bad(). */
static int
bad_term(struct rd *r, unsigned long long at, const char *ctx,
         const char *txt, long long v)
{
	if (v < 0)
		return bad(r, at, SK_ERR_RANGE, "%s%s is negative", ctx, txt);
	return bad(r, at, SK_ERR_RANGE, "%s%s exceeds %u", ctx, txt,
	    TRACE_LEN_MAX);
}

/* Blank lines are allowed only at the end of a text file: called at the
 * next non-blank line, report the ones before it. */
static int
flush_blank(struct rd *r)
{
	unsigned long long i;
	int e;

	for (i = 0; i < r->nblank; i++)
		if ((e = bad(r, r->blank + i, SK_ERR_FORMAT, "empty line")) !=
		    SK_OK)
			return e;
	r->nblank = 0;
	return SK_OK;
}

/* Track a blank line; see flush_blank. */
static void
note_blank(struct rd *r)
{
	if (r->nblank++ == 0)
		r->blank = r->lineno;
}

/* ---- plain ---- */

static int
read_plain(struct rd *r)
{
	char txt[48];
	const char *s;
	long long v;
	size_t n;
	int e;

	for (;;) {
		if ((e = read_line(r, 0, &s, &n)) != SK_OK)
			return e;
		if (s == NULL)
			return SK_OK;
		trim(&s, &n);
		if (n == 0) {
			note_blank(r);
			continue;
		}
		if (r->nblank > 0 && (e = flush_blank(r)) != SK_OK)
			return e;
		if (parse_int(s, n, &v) && valid_len(v))
			e = trace_push(r->t, (uint32_t)v);
		else if (!parse_int(s, n, &v))
			e = bad(r, r->lineno, SK_ERR_FORMAT,
			    "'%s' is not an integer",
			    excerpt(txt, sizeof txt, s, n));
		else
			e = bad_len(r, r->lineno, "",
			    excerpt(txt, sizeof txt, s, n), v);
		if (e != SK_OK)
			return e;
	}
}

/* ---- field specifications ---- */

static void
fieldspec_free(struct fieldspec *f)
{
	free(f->term);
	free(f->buf);
}

/*
 * Split spec at '+' into f's terms; with dotted, also split each term at
 * '.' into path segments (JSONL).
 */
static int
fieldspec_parse(struct fieldspec *f, const char *spec, int dotted)
{
	size_t len = strlen(spec), i, k;
	char *name, *seg, *p;

	f->n = 1;
	for (p = strchr(spec, '+'); p != NULL; p = strchr(p + 1, '+'))
		f->n++;
	/* names, then segments: two copies of spec */
	if ((f->buf = malloc(2 * len + 2)) == NULL ||
	    (f->term = calloc(f->n, sizeof *f->term)) == NULL)
		return err_set(SK_ERR_NOMEM, "out of memory");
	name = f->buf;
	seg = f->buf + len + 1;
	memcpy(name, spec, len + 1);
	memcpy(seg, spec, len + 1);
	for (i = 0, k = 0; i < f->n; i++) {
		f->term[i].name = name + k;
		f->term[i].seg = seg + k;
		f->term[i].nseg = 1;
		for (; spec[k] != '\0' && spec[k] != '+'; k++)
			if (dotted && spec[k] == '.') {
				seg[k] = '\0';
				f->term[i].nseg++;
			}
		name[k] = seg[k] = '\0';
		k++;
		if (f->term[i].name[0] == '\0')
			return err_set(SK_ERR_ARG, "bad field '%s': empty term",
			    spec);
		if (dotted && (f->term[i].name[0] == '.' || name[k - 2] == '.' ||
		    strstr(f->term[i].name, "..") != NULL))
			return err_set(SK_ERR_ARG, "bad field '%s': empty key",
			    spec);
	}
	f->sum = f->n > 1;
	if (f->sum)
		snprintf(f->ctx, sizeof f->ctx, "%s: ", spec);
	return SK_OK;
}

/* A single-term spec naming a default (static) field. */
static int
fieldspec_single(struct fieldspec *f, const char *name)
{
	if ((f->term = calloc(1, sizeof *f->term)) == NULL)
		return err_set(SK_ERR_NOMEM, "out of memory");
	f->n = 1;
	f->term[0].name = name;
	f->term[0].seg = name;
	f->term[0].nseg = 1;
	return SK_OK;
}

static int
is_default_name(const char *name)
{
	size_t i;

	for (i = 0; i < NDEFAULT; i++)
		if (strcmp(name, default_names[i]) == 0)
			return 1;
	return 0;
}

/* "a, b, c" into dst, shortened to fit. */
static void
list_names(char *dst, size_t cap, const char *const *names, size_t n)
{
	size_t off = 0, i;
	int w;

	dst[0] = '\0';
	for (i = 0; i < n; i++) {
		w = snprintf(dst + off, cap - off, "%s%s", i > 0 ? ", " : "",
		    names[i]);
		if (w < 0 || (size_t)w >= cap - off) {
			if (cap > 4)
				strcpy(dst + cap - 4, "...");
			return;
		}
		off += (size_t)w;
	}
}

/* ---- CSV ---- */

enum { SPLIT_OK, SPLIT_OPEN, SPLIT_BAD };

/*
 * Split one CSV record (RFC 4180) into fields, storing the first max in
 * sp; *nf is the number of fields.  SPLIT_OPEN: a quoted field continues
 * on the next line.  Blanks around a quoted field are allowed.
 */
static int
split_csv(const char *s, size_t n, struct span *sp, size_t max, size_t *nf)
{
	const char *p = s, *e = s + n, *q, *c;
	size_t i = 0;

	for (;;) {
		for (q = p; q < e && (*q == ' ' || *q == '\t'); q++)
			;
		if (q < e && *q == '"') {
			c = ++q;
			for (;;) {
				if ((q = memchr(q, '"', (size_t)(e - q))) == NULL)
					return SPLIT_OPEN;
				if (q + 1 < e && q[1] == '"') {
					q += 2;
					continue;
				}
				break;
			}
			if (i < max) {
				sp[i].p = c;
				sp[i].n = (size_t)(q - c);
			}
			for (q++; q < e && (*q == ' ' || *q == '\t'); q++)
				;
			if (q < e && *q != ',') {
				*nf = i + 1;
				return SPLIT_BAD;
			}
		} else {
			if ((q = memchr(p, ',', (size_t)(e - p))) == NULL)
				q = e;
			if (i < max) {
				sp[i].p = p;
				sp[i].n = (size_t)(q - p);
			}
		}
		i++;
		if (q == e)
			break;
		p = q + 1;
	}
	*nf = i;
	return SPLIT_OK;
}

/* The next non-blank CSV record, joined across lines inside quotes; *s is
 * NULL at the end.  *at is its first line. */
static int
csv_record(struct rd *r, struct span *sp, size_t max, const char **s,
           size_t *n, size_t *nf, int *st, unsigned long long *at)
{
	const char *t;
	size_t tn;
	int e;

	for (;;) {
		if ((e = read_line(r, 0, s, n)) != SK_OK)
			return e;
		if (*s == NULL)
			return SK_OK;
		t = *s;
		tn = *n;
		trim(&t, &tn);
		if (tn > 0)
			break;
		note_blank(r);
	}
	*at = r->lineno;
	if (r->nblank > 0 && (e = flush_blank(r)) != SK_OK)
		return e;
	for (;;) {
		if (*n > 0 && (*s)[*n - 1] == '\r')
			(*n)--;
		if ((*st = split_csv(*s, *n, sp, max, nf)) != SPLIT_OPEN)
			return SK_OK;
		if ((e = more_line(r, s, n)) != SK_OK)
			return e;
		if (*s == NULL)
			return err_set_at(SK_ERR_FORMAT, r->name, *at,
			    "unterminated quoted field");
	}
}

/* Resolve f's terms (or the default rule) to columns of the header. */
static int
csv_columns(struct rd *r, struct fieldspec *f, const char *spec,
            const char *const *names, size_t ncol)
{
	char list[ERR_MSG_MAX / 2];
	long long v;
	size_t i, j;
	int e;

	if (spec == NULL) {
		/* the only column, else the first with a default name */
		for (j = 0; ncol > 1 && j < ncol; j++)
			if (is_default_name(names[j]))
				break;
		if (j == ncol) {
			list_names(list, sizeof list, names, ncol);
			return err_set_at(SK_ERR_ARG, r->name, 0,
			    "several columns (%s); choose one with --field",
			    list);
		}
		if ((e = fieldspec_single(f, names[j])) != SK_OK)
			return e;
		f->term[0].col = j;
		return SK_OK;
	}
	if ((e = fieldspec_parse(f, spec, 0)) != SK_OK)
		return e;
	for (i = 0; i < f->n; i++) {
		const char *name = f->term[i].name;

		if (name[0] == '#' && name[1] >= '0' && name[1] <= '9' &&
		    parse_int(name + 1, strlen(name + 1), &v)) {
			if (v < 1 || (unsigned long long)v > ncol)
				return err_set_at(SK_ERR_ARG, r->name, 0,
				    "no column %s: the header has %zu", name,
				    ncol);
			f->term[i].col = (size_t)v - 1;
			continue;
		}
		for (j = 0; j < ncol; j++)
			if (strcmp(names[j], name) == 0)
				break;
		if (j == ncol) {
			list_names(list, sizeof list, names, ncol);
			return err_set_at(SK_ERR_ARG, r->name, 0,
			    "no column '%s' (columns: %s)", name, list);
		}
		f->term[i].col = j;
	}
	return SK_OK;
}

/* The length of one CSV record from its fields; *out stays 0 when it is
 * skipped. */
static int
csv_value(struct rd *r, unsigned long long at, const struct fieldspec *f,
          const struct span *sp, uint32_t *out)
{
	char txt[48], ctx[300];
	long long v, sum = 0;
	const char *s;
	size_t i, n;
	int ok;

	for (i = 0; i < f->n; i++) {
		s = sp[f->term[i].col].p;
		n = sp[f->term[i].col].n;
		trim(&s, &n);
		ok = parse_int(s, n, &v);
		if (ok && (f->sum ? v >= 0 && v <= (long long)TRACE_LEN_MAX :
		    valid_len(v))) {
			sum += v;
			continue;
		}
		excerpt(txt, sizeof txt, s, n);
		snprintf(ctx, sizeof ctx, "column '%s': ", f->term[i].name);
		if (!ok)
			return bad(r, at, SK_ERR_FORMAT, "%s'%s' is not an integer",
			    ctx, txt);
		if (!f->sum)
			return bad_len(r, at, ctx, txt, v);
		return bad_term(r, at, ctx, txt, v);
	}
	if (valid_len(sum)) {
		*out = (uint32_t)sum;
		return SK_OK;
	}
	snprintf(txt, sizeof txt, "%lld", sum);
	return bad_len(r, at, f->ctx, txt, sum);
}

static int
read_csv(struct rd *r, const char *spec)
{
	struct fieldspec f = { 0 };
	struct span *sp = NULL;
	char **names = NULL, *store = NULL, *d;
	const char *s;
	unsigned long long at;
	uint32_t len;
	size_t n, nf, ncol, i, k;
	int e, st;

	/* the header: count its fields, then split it for real */
	if ((e = csv_record(r, NULL, 0, &s, &n, &ncol, &st, &at)) != SK_OK ||
	    s == NULL)
		goto out;
	if (st == SPLIT_BAD) {
		e = err_set_at(SK_ERR_FORMAT, r->name, at,
		    "header: text after a closing quote in column %zu", ncol);
		goto out;
	}
	if ((sp = calloc(ncol, sizeof *sp)) == NULL ||
	    (names = calloc(ncol, sizeof *names)) == NULL ||
	    (store = malloc(n + ncol)) == NULL) {
		e = err_set(SK_ERR_NOMEM, "%s: out of memory", r->name);
		goto out;
	}
	split_csv(s, n, sp, ncol, &nf);
	/* names, unquoted ("" -> ") and trimmed, each NUL-terminated */
	for (i = 0, d = store; i < ncol; i++) {
		const char *p = sp[i].p;
		size_t pn = sp[i].n;

		trim(&p, &pn);
		names[i] = d;
		for (k = 0; k < pn; k++) {
			*d++ = p[k];
			if (p[k] == '"' && k + 1 < pn && p[k + 1] == '"')
				k++;
		}
		*d++ = '\0';
	}
	if ((e = csv_columns(r, &f, spec, (const char *const *)names, ncol)) !=
	    SK_OK)
		goto out;

	for (;;) {
		if ((e = csv_record(r, sp, ncol, &s, &n, &nf, &st, &at)) !=
		    SK_OK || s == NULL)
			goto out;
		if (st == SPLIT_BAD) {
			if ((e = bad(r, at, SK_ERR_FORMAT,
			    "text after a closing quote in field %zu", nf)) !=
			    SK_OK)
				goto out;
			continue;
		}
		if (nf != ncol) {
			if ((e = bad(r, at, SK_ERR_FORMAT,
			    "%zu fields, the header has %zu", nf, ncol)) != SK_OK)
				goto out;
			continue;
		}
		len = 0;
		if ((e = csv_value(r, at, &f, sp, &len)) != SK_OK)
			goto out;
		if (len > 0 && (e = trace_push(r->t, len)) != SK_OK)
			goto out;
	}
out:
	fieldspec_free(&f);
	free(store);
	free(names);
	free(sp);
	return e;
}

/* ---- JSONL ---- */

static const cJSON *
json_path(const cJSON *obj, const struct term *t)
{
	const char *seg = t->seg;
	size_t i;

	for (i = 0; i < t->nseg; i++) {
		if (!cJSON_IsObject(obj))
			return NULL;
		obj = cJSON_GetObjectItemCaseSensitive(obj, seg);
		if (obj == NULL)
			return NULL;
		seg += strlen(seg) + 1;
	}
	return obj;
}

static const char *
json_kind(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNull(v))
		return "null";
	return "an object";
}

/* The default field, from the first record: a length-like number, else
 * the input_ids array. */
static int
json_default(struct rd *r, struct fieldspec *f, const cJSON *obj)
{
	char list[ERR_MSG_MAX / 2];
	const char *keys[64];
	const cJSON *c;
	size_t i, n;

	for (i = 0; i < NDEFAULT; i++)
		if (cJSON_GetObjectItemCaseSensitive(obj, default_names[i]) !=
		    NULL)
			return fieldspec_single(f, default_names[i]);
	if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(obj, "input_ids")))
		return fieldspec_single(f, "input_ids");
	n = 0;
	cJSON_ArrayForEach(c, obj) {
		if (n == sizeof keys / sizeof keys[0])
			break;
		keys[n++] = c->string;
	}
	list_names(list, sizeof list, keys, n);
	return err_set_at(SK_ERR_ARG, r->name, r->lineno,
	    "no length field; choose one with --field (fields: %s)", list);
}

/* The length of one JSON object; *out stays 0 when it is skipped. */
static int
json_value(struct rd *r, const struct fieldspec *f, const cJSON *obj,
           uint32_t *out)
{
	char txt[48], ctx[300];
	const cJSON *v, *c;
	long long x, sum = 0;
	double d = 0;
	size_t i;
	int integral;

	for (i = 0; i < f->n; i++) {
		integral = 1;
		if ((v = json_path(obj, &f->term[i])) == NULL)
			return bad(r, r->lineno, SK_ERR_FORMAT, "no field '%s'",
			    f->term[i].name);
		/* cJSON returns the first of a repeated key: the record is
		 * ambiguous, not the first one right */
		for (c = v->next; c != NULL; c = c->next)
			if (strcmp(c->string, v->string) == 0)
				return bad(r, r->lineno, SK_ERR_FORMAT,
				    "field '%s' appears twice", v->string);
		if (cJSON_IsArray(v)) {
			x = cJSON_GetArraySize(v);
		} else if (cJSON_IsNumber(v)) {
			d = v->valuedouble;
			if (d > (double)TRACE_LEN_MAX)
				x = (long long)TRACE_LEN_MAX + 1;
			else if (d < -(double)TRACE_LEN_MAX)
				x = -(long long)TRACE_LEN_MAX - 1;
			else
				integral = (double)(x = (long long)d) == d;
		} else {
			return bad(r, r->lineno, SK_ERR_FORMAT,
			    "field '%s' is %s, not a number or an array",
			    f->term[i].name, json_kind(v));
		}
		if (integral && (f->sum ? x >= 0 && x <= (long long)TRACE_LEN_MAX :
		    valid_len(x))) {
			sum += x;
			continue;
		}
		snprintf(ctx, sizeof ctx, "field '%s': ", f->term[i].name);
		if (cJSON_IsArray(v))
			snprintf(txt, sizeof txt, "%lld (array length)", x);
		else
			snprintf(txt, sizeof txt, "%.17g", d);
		if (!integral)
			return bad(r, r->lineno, SK_ERR_FORMAT,
			    "%s%s is not an integer", ctx, txt);
		if (!f->sum)
			return bad_len(r, r->lineno, ctx, txt, x);
		return bad_term(r, r->lineno, ctx, txt, x);
	}
	if (valid_len(sum)) {
		*out = (uint32_t)sum;
		return SK_OK;
	}
	snprintf(txt, sizeof txt, "%lld", sum);
	return bad_len(r, r->lineno, f->ctx, txt, sum);
}

static int
read_jsonl(struct rd *r, const char *spec)
{
	struct fieldspec f = { 0 };
	cJSON *obj = NULL;
	const char *s, *end;
	uint32_t len;
	size_t n;
	int e;

	if (spec != NULL && (e = fieldspec_parse(&f, spec, 1)) != SK_OK)
		goto out;
	for (;;) {
		if ((e = read_line(r, 0, &s, &n)) != SK_OK || s == NULL)
			goto out;
		trim(&s, &n);
		if (n == 0) {
			note_blank(r);
			continue;
		}
		if (r->nblank > 0 && (e = flush_blank(r)) != SK_OK)
			goto out;
		end = NULL;
		obj = cJSON_ParseWithLengthOpts(s, n, &end, 0);
		if (obj == NULL || end != s + n) {
			/* end: the fault, or the text after a valid value */
			if (end == NULL || end < s || end > s + n)
				end = s;
			while (obj != NULL && end < s + n &&
			    is_blank((unsigned char)*end))
				end++;
			if ((e = bad(r, r->lineno, SK_ERR_FORMAT,
			    "malformed JSON at column %zu",
			    (size_t)(end - s) + 1)) != SK_OK)
				goto out;
			cJSON_Delete(obj);
			obj = NULL;
			continue;
		}
		if (!cJSON_IsObject(obj)) {
			if ((e = bad(r, r->lineno, SK_ERR_FORMAT,
			    "not a JSON object")) != SK_OK)
				goto out;
		} else {
			if (f.term == NULL &&
			    (e = json_default(r, &f, obj)) != SK_OK)
				goto out;
			len = 0;
			if ((e = json_value(r, &f, obj, &len)) != SK_OK)
				goto out;
			if (len > 0 && (e = trace_push(r->t, len)) != SK_OK)
				goto out;
		}
		cJSON_Delete(obj);
		obj = NULL;
	}
out:
	cJSON_Delete(obj);
	fieldspec_free(&f);
	return e;
}

/* ---- binary: .npy and .idx ---- */

enum dtype { DT_I4, DT_I8, DT_U2, DT_U4, DT_U8 };

static const unsigned dtype_size[] = { 4, 8, 2, 4, 8 };

static uint64_t
le(const unsigned char *p, unsigned size)
{
	uint64_t v = 0;
	unsigned i;

	for (i = size; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/* One element as a signed value; unsigned ones past INT64_MAX saturate. */
static long long
element(const unsigned char *p, enum dtype dt)
{
	uint64_t u = le(p, dtype_size[dt]);

	switch (dt) {
	case DT_I4:
		return (int32_t)(uint32_t)u;
	case DT_I8:
		return (int64_t)u;
	case DT_U8:
		return u > INT64_MAX ? INT64_MAX : (long long)u;
	default:
		return (long long)u;
	}
}

/* Whether r is an uncompressed regular file with fewer than bytes left
 * after the current position. */
static int
short_file(const struct rd *r, unsigned long long bytes)
{
	struct stat st;
	unsigned long long at = r->off + r->pos;

	return gzdirect(r->gz) && stat(r->name, &st) == 0 &&
	    S_ISREG(st.st_mode) && ((unsigned long long)st.st_size < at ||
	    (unsigned long long)st.st_size - at < bytes);
}

/*
 * Read count elements of type dt at the current position, checking each.
 * what names the elements in the truncation message.
 */
static int
read_elements(struct rd *r, unsigned long long count, enum dtype dt,
              const char *what)
{
	const unsigned size = dtype_size[dt];
	unsigned long long done = 0, k, i;
	const unsigned char *p;
	char txt[32];
	long long v;
	size_t have;
	int e;

	/* A header's count that can never fit is refused before reading,
	 * unless the file is too short to hold it: then it is truncated,
	 * which reading finds. */
	if ((!short_file(r, count > ULLONG_MAX / size ? ULLONG_MAX :
	    count * size) && (e = mem_check(r->name,
	    (double)count * MEM_TRACE_BYTES, count)) != SK_OK) ||
	    (e = trace_reserve(r->t, count < RESERVE_MAX ? (size_t)count :
	    RESERVE_MAX)) != SK_OK)
		return e;
	while (done < count) {
		if ((e = need(r, size, &have)) != SK_OK)
			return e;
		if (have < size)
			return err_set_at(SK_ERR_FORMAT, r->name, 0,
			    "byte %llu: truncated: header says %llu %s, data "
			    "ends after %llu", r->off + r->end, count, what,
			    done);
		k = have / size;
		if (k > count - done)
			k = count - done;
		p = (const unsigned char *)r->buf + r->pos;
		for (i = 0; i < k; i++, p += size) {
			v = element(p, dt);
			if (valid_len(v)) {
				if ((e = trace_push(r->t, (uint32_t)v)) != SK_OK)
					return e;
				continue;
			}
			if (dt == DT_U8)
				snprintf(txt, sizeof txt, "%llu",
				    (unsigned long long)le(p, 8));
			else
				snprintf(txt, sizeof txt, "%lld", v);
			if ((e = bad_len(r, done + i + 1, "", txt, v)) != SK_OK)
				return e;
		}
		r->pos += k * size;
		done += k;
	}
	return SK_OK;
}

/* A cursor over the .npy header text, a Python dict literal. */
struct lit {
	const char *p, *s, *e;
};

static void
lit_ws(struct lit *l)
{
	while (l->p < l->e && is_blank((unsigned char)*l->p))
		l->p++;
}

static int
lit_char(struct lit *l, int c)
{
	lit_ws(l);
	if (l->p < l->e && *l->p == c) {
		l->p++;
		return 1;
	}
	return 0;
}

/* A quoted string without escapes (all .npy keys and dtypes are plain). */
static int
lit_str(struct lit *l, const char **s, size_t *n)
{
	const char *q;
	char c;

	lit_ws(l);
	if (l->p == l->e || (*l->p != '\'' && *l->p != '"'))
		return 0;
	c = *l->p++;
	if ((q = memchr(l->p, c, (size_t)(l->e - l->p))) == NULL)
		return 0;
	*s = l->p;
	*n = (size_t)(q - l->p);
	l->p = q + 1;
	return 1;
}

static int
lit_word(struct lit *l, const char *w)
{
	size_t n = strlen(w);

	lit_ws(l);
	if ((size_t)(l->e - l->p) < n || memcmp(l->p, w, n) != 0)
		return 0;
	l->p += n;
	return 1;
}

static int
lit_uint(struct lit *l, unsigned long long *v)
{
	unsigned long long x = 0;
	const char *b;

	lit_ws(l);
	for (b = l->p; l->p < l->e && *l->p >= '0' && *l->p <= '9'; l->p++) {
		if (x > (ULLONG_MAX - 9) / 10)
			return 0;
		x = x * 10 + (unsigned)(*l->p - '0');
	}
	*v = x;
	return l->p > b;
}

#define NPY_MAXDIM 32

struct npy_header {
	char descr[16];
	int fortran;
	unsigned long long dim[NPY_MAXDIM];
	size_t ndim;
	int have;  /* bits: 1 descr, 2 fortran_order, 4 shape */
};

/* Parse the dict; returns 0 with l->p at the fault when malformed. */
static int
npy_dict(struct lit *l, struct npy_header *h)
{
	const char *k, *v;
	size_t kn, vn;

	if (!lit_char(l, '{'))
		return 0;
	while (!lit_char(l, '}')) {
		if (!lit_str(l, &k, &kn) || !lit_char(l, ':'))
			return 0;
		if (kn == 5 && memcmp(k, "descr", 5) == 0) {
			if (!lit_str(l, &v, &vn))
				return 0;
			snprintf(h->descr, sizeof h->descr, "%.*s", (int)vn, v);
			h->have |= 1;
		} else if (kn == 13 && memcmp(k, "fortran_order", 13) == 0) {
			if (lit_word(l, "True"))
				h->fortran = 1;
			else if (!lit_word(l, "False"))
				return 0;
			h->have |= 2;
		} else if (kn == 5 && memcmp(k, "shape", 5) == 0) {
			if (!lit_char(l, '('))
				return 0;
			h->ndim = 0;
			while (!lit_char(l, ')')) {
				if (h->ndim == NPY_MAXDIM ||
				    !lit_uint(l, &h->dim[h->ndim++]))
					return 0;
				if (!lit_char(l, ',') && (lit_ws(l), l->p == l->e ||
				    *l->p != ')'))
					return 0;
			}
			h->have |= 4;
		} else
			return 0;
		if (!lit_char(l, ',') && (lit_ws(l), l->p == l->e || *l->p != '}'))
			return 0;
	}
	lit_ws(l);
	return l->p == l->e;
}

static int
npy_dtype(struct rd *r, unsigned long long at, const char *descr,
          enum dtype *dt)
{
	static const struct {
		const char *name;
		enum dtype dt;
	} ok[] = {
		{ "i4", DT_I4 }, { "i8", DT_I8 }, { "u2", DT_U2 },
		{ "u4", DT_U4 }, { "u8", DT_U8 }
	};
	size_t i;

	if (descr[0] == '>')
		return err_set_at(SK_ERR_UNSUPPORTED, r->name, 0, "byte %llu: "
		    "big-endian dtype '%s' is not supported", at, descr);
	if (descr[0] == '<' || descr[0] == '=')
		for (i = 0; i < sizeof ok / sizeof ok[0]; i++)
			if (strcmp(descr + 1, ok[i].name) == 0) {
				*dt = ok[i].dt;
				return SK_OK;
			}
	return err_set_at(SK_ERR_UNSUPPORTED, r->name, 0, "byte %llu: dtype "
	    "'%s' is not supported (need int32, int64, uint16, uint32 or "
	    "uint64)", at, descr);
}

static int
read_npy(struct rd *r)
{
	struct npy_header h = { .ndim = 0 };
	const unsigned char *b;
	unsigned long long count;
	struct lit l;
	unsigned major, lenbytes;
	size_t hlen, have;
	enum dtype dt = DT_U4;
	int e;

	r->binary = 1;
	if ((e = need(r, 12, &have)) != SK_OK)
		return e;
	b = (const unsigned char *)r->buf + r->pos;
	if (have < 6 || memcmp(b, "\x93NUMPY", 6) != 0)
		return err_set_at(SK_ERR_FORMAT, r->name, 0,
		    "byte 0: bad magic: not a .npy file");
	if (have < 8)
		return err_set_at(SK_ERR_FORMAT, r->name, 0,
		    "byte %zu: truncated header", have);
	major = b[6];
	if (major < 1 || major > 3)
		return err_set_at(SK_ERR_UNSUPPORTED, r->name, 0,
		    "byte 6: .npy version %u.%u is not supported", b[6], b[7]);
	lenbytes = major == 1 ? 2 : 4;
	if (have < 8 + lenbytes)
		return err_set_at(SK_ERR_FORMAT, r->name, 0,
		    "byte %zu: truncated header", have);
	hlen = (size_t)le(b + 8, lenbytes);
	r->pos += 8 + lenbytes;
	/* numpy itself refuses headers past a few kilobytes */
	if (hlen > BLOCK - 16)
		return err_set_at(SK_ERR_FORMAT, r->name, 0,
		    "byte 8: header length %zu is too large", hlen);
	if ((e = need(r, hlen, &have)) != SK_OK)
		return e;
	if (have < hlen)
		return err_set_at(SK_ERR_FORMAT, r->name, 0, "byte %llu: "
		    "truncated header: %zu bytes declared, %zu present",
		    r->off + r->end, hlen, have);
	l.s = l.p = r->buf + r->pos;
	l.e = l.p + hlen;
	if (!npy_dict(&l, &h))
		return err_set_at(SK_ERR_FORMAT, r->name, 0,
		    "byte %llu: malformed .npy header", r->off + r->pos +
		    (unsigned long long)(l.p - l.s));
	if (h.have != 7)
		return err_set_at(SK_ERR_FORMAT, r->name, 0,
		    "byte %llu: .npy header lacks '%s'", r->off + r->pos,
		    !(h.have & 1) ? "descr" : !(h.have & 2) ? "fortran_order" :
		    "shape");
	if ((e = npy_dtype(r, r->off + r->pos, h.descr, &dt)) != SK_OK)
		return e;
	/* one axis of any length, and at most one other of length 1 */
	if (h.ndim == 0 || h.ndim > 2 ||
	    (h.ndim == 2 && h.dim[0] != 1 && h.dim[1] != 1))
		return err_set_at(SK_ERR_UNSUPPORTED, r->name, 0,
		    "byte %llu: shape of %zu dimensions (%llu, %llu...) is not "
		    "supported: need a 1-D array", r->off + r->pos, h.ndim,
		    h.ndim > 0 ? h.dim[0] : 0, h.ndim > 1 ? h.dim[1] : 0);
	count = h.ndim == 1 ? h.dim[0] : h.dim[0] * h.dim[1];
	r->pos += hlen;
	if ((e = read_elements(r, count, dt, "values")) != SK_OK)
		return e;
	if ((e = need(r, 1, &have)) != SK_OK)
		return e;
	if (have > 0)
		return err_set_at(SK_ERR_FORMAT, r->name, 0, "byte %llu: data "
		    "continues after the %llu values the header declares",
		    r->off + r->pos, count);
	return SK_OK;
}

/* Megatron-LM MMapIndexedDataset .idx (megatron/core/datasets/indexed_dataset.py). */
#define IDX_MAGIC "MMIDIDX\0\0"
#define IDX_HEADER 34  /* magic 9, version 8, dtype 1, sequences 8, documents 8 */

static int
read_idx(struct rd *r)
{
	const unsigned char *b;
	unsigned long long version, nseq;
	size_t have;
	int e;

	r->binary = 1;
	if ((e = need(r, IDX_HEADER, &have)) != SK_OK)
		return e;
	b = (const unsigned char *)r->buf + r->pos;
	if (memcmp(b, IDX_MAGIC, have < 9 ? have : 9) != 0 || have == 0)
		return err_set_at(SK_ERR_FORMAT, r->name, 0,
		    "byte 0: bad magic: not a Megatron-LM .idx file");
	if (have < IDX_HEADER)
		return err_set_at(SK_ERR_FORMAT, r->name, 0,
		    "byte %zu: truncated header (%d bytes needed)", have,
		    IDX_HEADER);
	if ((version = le(b + 9, 8)) != 1)
		return err_set_at(SK_ERR_UNSUPPORTED, r->name, 0,
		    "byte 9: .idx version %llu is not supported (need 1)",
		    version);
	if (b[17] < 1 || b[17] > 8)
		return err_set_at(SK_ERR_FORMAT, r->name, 0,
		    "byte 17: bad dtype code %u (need 1 to 8)", b[17]);
	nseq = le(b + 18, 8);
	r->pos += IDX_HEADER;
	/* the pointers and document indices that follow are not needed */
	return read_elements(r, nseq, DT_I4, "sequences");
}

/* ---- reading: entry ---- */

/* The format of a file that starts with b[0..n) (the whole file if eof). */
static enum trace_format
detect(const char *b, size_t n, int eof)
{
	const char *p = b, *e = b + n, *nl;

	if (n >= 6 && memcmp(b, "\x93NUMPY", 6) == 0)
		return TRACE_FORMAT_NPY;
	if (n >= 9 && memcmp(b, IDX_MAGIC, 9) == 0)
		return TRACE_FORMAT_IDX;
	if (n >= 3 && memcmp(b, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < e && is_blank((unsigned char)*p))
		p++;
	if (p == e)
		return TRACE_FORMAT_PLAIN;
	if (*p == '{')
		return TRACE_FORMAT_JSONL;
	/* a first line of digits is a value, not a CSV header */
	if ((nl = memchr(p, '\n', (size_t)(e - p))) == NULL) {
		if (!eof)
			return TRACE_FORMAT_CSV;
		nl = e;
	}
	if (*p == '-' || *p == '+')
		p++;
	if (p == nl || *p < '0' || *p > '9')
		return TRACE_FORMAT_CSV;
	while (p < nl && *p >= '0' && *p <= '9')
		p++;
	while (p < nl && is_blank((unsigned char)*p))
		p++;
	return p == nl ? TRACE_FORMAT_PLAIN : TRACE_FORMAT_CSV;
}

int
trace_read(const char *path, const struct trace_read_opts *opts,
           struct trace *t, struct trace_read_info *info)
{
	static const struct trace_read_opts strict;
	struct rd r;
	enum trace_format fmt;
	int e;

	if (opts == NULL)
		opts = &strict;
	memset(&r, 0, sizeof r);
	r.name = strcmp(path, "-") == 0 ? STDIN_NAME : path;
	r.skip_bad = opts->skip_bad;
	r.t = t;
	t->n = 0;
	fmt = opts->format;
	if ((e = rd_open(&r, path)) != SK_OK || (e = refill(&r)) != SK_OK)
		goto out;
	if (fmt == TRACE_FORMAT_AUTO)
		fmt = detect(r.buf, r.end, r.eof);
	if (fmt != TRACE_FORMAT_NPY && fmt != TRACE_FORMAT_IDX &&
	    r.end >= 3 && memcmp(r.buf, "\xef\xbb\xbf", 3) == 0)
		r.pos = 3;  /* a UTF-8 byte order mark, as spreadsheets write */
	switch (fmt) {
	case TRACE_FORMAT_PLAIN:
		e = read_plain(&r);
		break;
	case TRACE_FORMAT_CSV:
		e = read_csv(&r, opts->field);
		break;
	case TRACE_FORMAT_JSONL:
		e = read_jsonl(&r, opts->field);
		break;
	case TRACE_FORMAT_NPY:
		e = read_npy(&r);
		break;
	case TRACE_FORMAT_IDX:
		e = read_idx(&r);
		break;
	default:
		e = err_set(SK_ERR_ARG, "%s: bad format %d", r.name, (int)fmt);
		break;
	}
	if (e == SK_OK && t->n == 0) {
		if (r.skipped > 0)
			e = err_set_at(SK_ERR_FORMAT, r.name, 0, "empty trace "
			    "(all %zu records skipped)", r.skipped);
		else
			e = err_set_at(SK_ERR_FORMAT, r.name, 0, "empty trace");
	}
out:
	rd_close(&r);
	if (e != SK_OK)
		trace_free(t);
	if (info != NULL) {
		info->format = fmt;
		info->skipped = r.skipped;
		info->first_skipped = r.first_skipped;
	}
	return e;
}

/* ---- writing ---- */

struct wr {
	const char *path;
	int fd;
	gzFile gz;
	char *buf;  /* BLOCK bytes */
	size_t n;
};

static int
wr_flush(struct wr *w)
{
	const char *p = w->buf;
	size_t left = w->n;
	ssize_t k;
	int errnum;

	w->n = 0;
	if (w->gz != NULL) {
		if (left > 0 && gzwrite(w->gz, p, (unsigned)left) != (int)left) {
			const char *msg = gzerror(w->gz, &errnum);

			return err_set_at(SK_ERR_IO, w->path, 0, "write error: %s",
			    errnum == Z_ERRNO ? strerror(errno) : msg);
		}
		return SK_OK;
	}
	while (left > 0) {
		if ((k = write(w->fd, p, left)) < 0) {
			if (errno == EINTR)
				continue;
			return err_set_at(SK_ERR_IO, w->path, 0, "write error: %s",
			    strerror(errno));
		}
		p += k;
		left -= (size_t)k;
	}
	return SK_OK;
}

static int
wr_put(struct wr *w, const void *p, size_t n)
{
	size_t k;
	int e;

	while (n > 0) {
		if (w->n == BLOCK && (e = wr_flush(w)) != SK_OK)
			return e;
		k = BLOCK - w->n < n ? BLOCK - w->n : n;
		memcpy(w->buf + w->n, p, k);
		w->n += k;
		p = (const char *)p + k;
		n -= k;
	}
	return SK_OK;
}

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
write_body(struct wr *w, enum trace_format fmt, const struct trace *t)
{
	char hdr[256], *p;
	size_t i, k;
	uint32_t v;
	int e;

	if (fmt == TRACE_FORMAT_NPY) {
		if ((e = wr_put(w, hdr, npy_header(hdr, sizeof hdr, t->n))) !=
		    SK_OK)
			return e;
		for (i = 0; i < t->n; i++) {
			if (BLOCK - w->n < 4 && (e = wr_flush(w)) != SK_OK)
				return e;
			p = w->buf + w->n;
			v = t->len[i];
			p[0] = (char)(v & 0xff);
			p[1] = (char)(v >> 8 & 0xff);
			p[2] = (char)(v >> 16 & 0xff);
			p[3] = (char)(v >> 24);
			w->n += 4;
		}
		return SK_OK;
	}
	if (fmt == TRACE_FORMAT_CSV && (e = wr_put(w, "length\n", 7)) != SK_OK)
		return e;
	for (i = 0; i < t->n; i++) {
		char tmp[10];

		if (BLOCK - w->n < 11 && (e = wr_flush(w)) != SK_OK)
			return e;
		v = t->len[i];
		k = 0;
		do
			tmp[k++] = (char)('0' + v % 10);
		while ((v /= 10) != 0);
		p = w->buf + w->n;
		while (k > 0)
			*p++ = tmp[--k];
		*p++ = '\n';
		w->n = (size_t)(p - w->buf);
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
	struct wr w = { .path = path, .fd = -1 };
	struct afile af = { .tmp = NULL };
	int tostdout = strcmp(path, "-") == 0, closed = 0, e, rc;

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
	if ((w.buf = malloc(BLOCK)) == NULL)
		return err_set_at(SK_ERR_NOMEM, path, 0, "out of memory");
	if (tostdout) {
		w.path = "<stdout>";
		w.fd = 1;
		/* what the caller printed through stdio goes first */
		if (fflush(stdout) != 0) {
			e = err_set_at(SK_ERR_IO, w.path, 0, "write error: %s",
			    strerror(errno));
			goto out;
		}
	} else {
		if ((e = afile_open(path, &af)) != SK_OK)
			goto out;
		w.fd = af.fd;
		if (has_suffix(path, ".gz") &&
		    (w.gz = gzdopen(w.fd, "wb9")) == NULL) {
			e = err_set_at(SK_ERR_NOMEM, path, 0, "out of memory");
			goto out;
		}
	}
	if ((e = write_body(&w, fmt, t)) != SK_OK ||
	    (e = wr_flush(&w)) != SK_OK)
		goto out;
	if (w.gz != NULL) {
		rc = gzclose(w.gz);
		w.gz = NULL;
		closed = 1;
		if (rc != Z_OK) {
			e = err_set_at(SK_ERR_IO, path, 0, "write error: %s",
			    rc == Z_ERRNO ? strerror(errno) : zError(rc));
			goto out;
		}
	}
	if (!tostdout) {
		e = afile_commit(&af, closed);
		closed = 1;
	}
out:
	if (w.gz != NULL) {
		gzclose(w.gz);
		closed = 1;
	}
	if (!tostdout)
		afile_abort(&af, closed);
	free(w.buf);
	return e;
}
