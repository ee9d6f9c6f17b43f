/* trace: see trace.h; the parts of the module are listed in trace_int.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "trace_int.h"

/* Shown in messages in place of "-". */
#define STDIN_NAME "<stdin>"

static const char *const format_names[] = {
	"auto", "plain", "csv", "jsonl", "npy", "idx", "tsv", "json"
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
	    "unknown format '%s' (plain, csv, tsv, jsonl, json, npy, idx)",
	    name);
}


/* Columns of a first line that detection looks at. */
#define DETECT_COLS 256

/* Whether the field s[0..n) reads as a number in some notation: a sign,
 * then a digit or '.' and a digit ("3.7", "0x10", "1e3", ".5"), or inf,
 * infinity or nan in any case. */
static int
number_like(const char *s, size_t n)
{
	trd_trim(&s, &n);
	if (n > 0 && (*s == '+' || *s == '-')) {
		s++;
		n--;
	}
	if (n > 0 && *s >= '0' && *s <= '9')
		return 1;
	if (n > 1 && s[0] == '.' && s[1] >= '0' && s[1] <= '9')
		return 1;
	return (n == 3 && (strncasecmp(s, "inf", 3) == 0 ||
	    strncasecmp(s, "nan", 3) == 0)) ||
	    (n == 8 && strncasecmp(s, "infinity", 8) == 0);
}

/* Whether the field s[0..n) can be a column name: not number-like, and
 * holding a letter, '_' or a non-ASCII byte (so not "-" or "?"). */
static int
name_like(const char *s, size_t n)
{
	size_t i;

	if (number_like(s, n))
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
			return 1;
		if (c == '_' || c >= 0x80)
			return 1;
	}
	return 0;
}

/* The line at *p (before e), without blanks at its end; *p moves past it
 * and the blank lines after it. */
static void
next_line(const char **p, const char *e, const char **s, size_t *n)
{
	const char *nl = memchr(*p, '\n', (size_t)(e - *p));

	*s = *p;
	*n = (size_t)((nl != NULL ? nl : e) - *p);
	*p = nl != NULL ? nl + 1 : e;
	while (*p < e && trd_is_blank((unsigned char)**p))
		(*p)++;
	while (*n > 0 && trd_is_blank((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

/*
 * Whether the first two lines s1, s2 (s2 NULL: there is one) are a header
 * over records, fields separated by sep: a CSV header is never guessed
 * from its first line alone, since a plain trace's first line would then
 * vanish: the first line must hold a column name (name_like) over a
 * column whose value on the next line is number-like, or be the only line
 * (a header and no records, which the CSV reader refuses).
 */
static int
header(const char *s1, size_t n1, const char *s2, size_t n2, char sep)
{
	struct span h[DETECT_COLS], d[DETECT_COLS];
	size_t nf1, nf2, i;
	int name = 0;

	ttext_split_csv(s1, n1, sep, h, DETECT_COLS, &nf1);
	nf1 = nf1 < DETECT_COLS ? nf1 : DETECT_COLS;
	for (i = 0; i < nf1 && !name; i++)
		name = name_like(h[i].p, h[i].n);
	if (!name)
		return 0;
	if (s2 == NULL)
		return 1;
	ttext_split_csv(s2, n2, sep, d, DETECT_COLS, &nf2);
	nf2 = nf2 < DETECT_COLS ? nf2 : DETECT_COLS;
	for (i = 0; i < nf1 && i < nf2; i++)
		if (name_like(h[i].p, h[i].n) && number_like(d[i].p, d[i].n))
			return 1;
	return 0;
}

/*
 * The format of a file that starts with b[0..n) (the whole file if eof;
 * else what the first block holds): a binary format by its magic, then
 * after a byte order mark and blanks a JSON array ('['), JSONL ('{'), TSV
 * (a header, see header(), whose line holds a tab), CSV (a header), and
 * anything else is plain text, whose reader then judges line 1 as it
 * would line 2.
 */
static enum trace_format
detect(const char *b, size_t n)
{
	const char *p = b, *e = b + n, *s1, *s2 = NULL;
	size_t n1, n2 = 0;

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
	if (*p == '[')
		return TRACE_FORMAT_JSON;
	next_line(&p, e, &s1, &n1);
	if (p < e)
		next_line(&p, e, &s2, &n2);
	if (memchr(s1, '\t', n1) != NULL && header(s1, n1, s2, n2, '\t'))
		return TRACE_FORMAT_TSV;
	if (header(s1, n1, s2, n2, ','))
		return TRACE_FORMAT_CSV;
	return TRACE_FORMAT_PLAIN;
}

/* Whether path ends in suffix, before an optional ".gz". */
static int
named(const char *path, const char *suffix)
{
	size_t n = strlen(path), k = strlen(suffix);

	if (n > 3 && strcmp(path + n - 3, ".gz") == 0)
		n -= 3;
	return n > k && strncasecmp(path + n - k, suffix, k) == 0;
}

/* The pyarrow one-liner that writes a list column's lengths to
 * lengths.npy (a null list as 0, which the reader then refuses); %s: more
 * modules, the expression that reads the table from sys.argv[1], the
 * file. */
#define PYARROW_LINER "python3 -c 'import sys,numpy as np,pyarrow as pa," \
	"pyarrow.compute as pc%s; t=%s; np.save(\"lengths.npy\"," \
	"pc.list_value_length(t.column(sys.argv[2])).fill_null(0)" \
	".to_numpy().astype(np.uint32))' %s input_ids"

/*
 * Refuse, with what to do instead, a file that skrull cannot read but a
 * user may well hand it: Parquet and Arrow by their magic, whatever
 * --format says, and a Megatron-LM .bin (token data; its lengths are in
 * the .idx beside it) by its name unless --format is given.
 */
static int
foreign(const struct rd *r, const char *path, enum trace_format fmt)
{
	static const struct {
		const char *magic, *what, *mods, *reader;
		size_t n;
	} kinds[] = {
		{ "PAR1", "a Parquet file", ",pyarrow.parquet as pq",
		    "pq.read_table(sys.argv[1])", 4 },
		{ "ARROW1", "an Arrow IPC file", "",
		    "pa.ipc.open_file(pa.memory_map(sys.argv[1])).read_all()",
		    6 },
		{ "\xff\xff\xff\xff", "an Arrow IPC stream", "",
		    "pa.ipc.open_stream(pa.memory_map(sys.argv[1]))"
		    ".read_all()", 4 },
	};
	char liner[ERR_MSG_MAX / 2];
	size_t i, n = strlen(path);

	for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		if (r->end < kinds[i].n ||
		    memcmp(r->buf, kinds[i].magic, kinds[i].n) != 0)
			continue;
		snprintf(liner, sizeof liner, PYARROW_LINER, kinds[i].mods,
		    kinds[i].reader, r->name);
		return err_set_at(SK_ERR_FORMAT, r->name, 0, "%s; skrull cannot "
		    "read Parquet/Arrow directly; convert it: write a length "
		    "column to CSV/JSONL, or the lengths of input_ids to .npy "
		    "with pyarrow: %s; or run skrull-lengths %s --column "
		    "input_ids -o lengths.npy from the skrull Python package "
		    "(python/; pip install './python[arrow]')", kinds[i].what,
		    liner, r->name);
	}
	if (fmt == TRACE_FORMAT_AUTO && n > 4 &&
	    strcmp(path + n - 4, ".bin") == 0)
		return err_set_at(SK_ERR_FORMAT, r->name, 0, "a Megatron-LM .bin "
		    "holds the tokens, not their lengths; read the index "
		    "instead: %.*s.idx", (int)(n - 4), path);
	return SK_OK;
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
	if (opts->chars_per_token < 0 || opts->chars_per_token != 
	    opts->chars_per_token) {
		e = err_set(SK_ERR_ARG, "chars per token must be > 0");
		goto out;
	}
	r.cpt = opts->chars_per_token;
	if ((e = trd_open(&r, path)) != SK_OK || (e = trd_refill(&r)) != SK_OK ||
	    (e = foreign(&r, path, fmt)) != SK_OK)
		goto out;
	if (fmt == TRACE_FORMAT_AUTO && named(path, ".tsv") &&
	    detect(r.buf, r.end) != TRACE_FORMAT_NPY &&
	    detect(r.buf, r.end) != TRACE_FORMAT_IDX)
		fmt = TRACE_FORMAT_TSV;
	if (fmt == TRACE_FORMAT_AUTO)
		fmt = detect(r.buf, r.end);
	if (fmt != TRACE_FORMAT_NPY && fmt != TRACE_FORMAT_IDX &&
	    r.end >= 3 && memcmp(r.buf, "\xef\xbb\xbf", 3) == 0)
		r.pos = 3;  /* a UTF-8 byte order mark, as spreadsheets write */
	switch (fmt) {
	case TRACE_FORMAT_PLAIN:
		e = ttext_plain(&r);
		break;
	case TRACE_FORMAT_CSV:
		e = ttext_csv(&r, opts->field, ',');
		break;
	case TRACE_FORMAT_TSV:
		e = ttext_csv(&r, opts->field, '\t');
		break;
	case TRACE_FORMAT_JSON:
		e = ttext_json(&r, opts->field);
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
		info->estimated = r.estimated;
	}
	return e;
}
