/* trace: see trace.h; the parts of the module are listed in trace_int.h. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "trace_int.h"

/* Shown in messages in place of "-". */
#define STDIN_NAME "<stdin>"

static const char *const format_names[] = {
	"auto", "plain", "csv", "jsonl", "npy", "idx"
};
#define NFORMAT (sizeof format_names / sizeof format_names[0])

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


/* The format of a file that starts with b[0..n) (the whole file if eof). */
static enum trace_format
detect(const char *b, size_t n, int eof)
{
	const char *p = b, *e = b + n, *nl;

	if (n >= 6 && memcmp(b, "\x93NUMPY", 6) == 0)
		return TRACE_FORMAT_NPY;
	if (n >= 9 && memcmp(b, TRACE_IDX_MAGIC, 9) == 0)
		return TRACE_FORMAT_IDX;
	if (n >= 3 && memcmp(b, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < e && trd_is_blank((unsigned char)*p))
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
	while (p < nl && trd_is_blank((unsigned char)*p))
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
	if ((e = trd_open(&r, path)) != SK_OK || (e = trd_refill(&r)) != SK_OK)
		goto out;
	if (fmt == TRACE_FORMAT_AUTO)
		fmt = detect(r.buf, r.end, r.eof);
	if (fmt != TRACE_FORMAT_NPY && fmt != TRACE_FORMAT_IDX &&
	    r.end >= 3 && memcmp(r.buf, "\xef\xbb\xbf", 3) == 0)
		r.pos = 3;  /* a UTF-8 byte order mark, as spreadsheets write */
	switch (fmt) {
	case TRACE_FORMAT_PLAIN:
		e = ttext_plain(&r);
		break;
	case TRACE_FORMAT_CSV:
		e = ttext_csv(&r, opts->field);
		break;
	case TRACE_FORMAT_JSONL:
		e = ttext_jsonl(&r, opts->field);
		break;
	case TRACE_FORMAT_NPY:
		e = tbin_npy(&r);
		break;
	case TRACE_FORMAT_IDX:
		e = tbin_idx(&r);
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
	trd_close(&r);
	if (e != SK_OK)
		trace_free(t);
	if (info != NULL) {
		info->format = fmt;
		info->skipped = r.skipped;
		info->first_skipped = r.first_skipped;
	}
	return e;
}
