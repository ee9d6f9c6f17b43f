/* trace_text: the text formats of the trace module (plain, CSV, TSV,
 * JSONL, JSON arrays), --field and the chars-per-token estimate; see
 * trace_int.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "near.h"
#include "trace_int.h"

/* The names the default field rule looks for, in order (skrull-trace(5)). */
static const char *const default_names[] = {
	"length", "len", "num_tokens", "num_total_tokens", "total_tokens",
	"seq_len", "seqlen", "tokens", "n_tokens"
};
#define NDEFAULT (sizeof default_names / sizeof default_names[0])

/* One term of a field specification. */
struct term {
	const char *name;  /* as written, for messages */
	const char *seg;   /* JSON: the path's segments, each NUL-terminated,
	                      up to "[]" if the term has one */
	size_t nseg;
	int each;          /* JSON: "a[].b": the value at seg is an array and
	                      sub is summed over its elements */
	const char *sub;   /* after "[].", the member's segments */
	size_t nsub;       /* 0: "a[]", the elements themselves */
	size_t col;        /* CSV: 0-based column */
};

struct fieldspec {
	struct term *term;
	size_t n;
	char *buf;         /* storage of the names and segments */
	char ctx[256];     /* sum: message prefix naming it, "a+b: " */
	int sum;           /* n > 1: terms are summed */
};


/* ---- plain ---- */

int
ttext_plain(struct rd *r)
{
	char txt[48];
	const char *s;
	long long v;
	size_t n;
	int e;

	for (;;) {
		if ((e = trd_line(r, 0, &s, &n)) != SK_OK)
			return e;
		if (s == NULL)
			return SK_OK;
		trd_trim(&s, &n);
		if (n == 0) {
			trd_note_blank(r);
			continue;
		}
		if (r->nblank > 0 && (e = trd_flush_blank(r)) != SK_OK)
			return e;
		if (trd_parse_int(s, n, &v) && trd_valid_len(v))
			e = trace_push(r->t, (uint32_t)v);
		else if (!trd_parse_int(s, n, &v))
			e = trd_bad(r, r->lineno, SK_ERR_FORMAT,
			    "'%s' is not an integer",
			    trd_excerpt(txt, sizeof txt, s, n));
		else
			e = trd_bad_len(r, r->lineno, "",
			    trd_excerpt(txt, sizeof txt, s, n), v);
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

/* Whether the dotted path s[0..n) has an empty key. */
static int
empty_key(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 1;
	for (i = 1; i < n; i++)
		if (s[i] == '.' && s[i - 1] == '.')
			return 1;
	return 0;
}

/* Split the path seg[0..n) at '.' into NUL-terminated segments; their
 * count. */
static size_t
split_path(char *seg, size_t n)
{
	size_t i, k = 1;

	for (i = 0; i < n; i++)
		if (seg[i] == '.') {
			seg[i] = '\0';
			k++;
		}
	return k;
}

/*
 * Split spec at '+' into f's terms; with dotted (JSON), also split each
 * term at '.' into path segments, and at one "[]" into the array's path and
 * its member's.
 */
static int
fieldspec_parse(struct fieldspec *f, const char *spec, int dotted)
{
	size_t len = strlen(spec), i, k, a, b, m;
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
		struct term *t = &f->term[i];

		a = k;
		while (spec[k] != '\0' && spec[k] != '+')
			k++;
		b = k;
		name[b] = seg[b] = '\0';
		k++;
		t->name = name + a;
		t->seg = seg + a;
		t->nseg = 1;
		if (a == b)
			return err_set(SK_ERR_ARG, "bad field '%s': empty term",
			    spec);
		if (!dotted)
			continue;
		p = strstr(t->name, "[]");
		m = p != NULL ? (size_t)(p - t->name) : b - a;
		if (p != NULL && (strstr(p + 2, "[]") != NULL ||
		    (p[2] != '\0' && p[2] != '.')))
			return err_set(SK_ERR_ARG, "bad field '%s': '[]' only once "
			    "in a term, at its end or before '.'", spec);
		if (empty_key(t->name, m) || (p != NULL && p[2] == '.' &&
		    empty_key(p + 3, strlen(p + 3))))
			return err_set(SK_ERR_ARG, "bad field '%s': empty key",
			    spec);
		seg[a + m] = '\0';
		t->nseg = split_path(seg + a, m);
		if (p != NULL) {
			t->each = 1;
			if (p[2] == '.') {
				t->sub = seg + a + m + 3;
				t->nsub = split_path(seg + a + m + 3,
				    strlen(p + 3));
			}
		}
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

/* Whether c is a blank allowed around a quoted field: a space, or a tab
 * where tabs do not separate fields. */
static int
pad(char c, char sep)
{
	return c == ' ' || (c == '\t' && sep != '\t');
}

/*
 * Split one CSV record (RFC 4180, fields separated by sep) into fields,
 * storing the first max in sp; *nf is the number of fields (so far, for
 * SPLIT_OPEN).  Blanks around a quoted field are allowed.
 */
int
ttext_split_csv(const char *s, size_t n, char sep, struct span *sp,
                size_t max, size_t *nf)
{
	const char *p = s, *e = s + n, *q, *c;
	size_t i = 0;

	for (;;) {
		for (q = p; q < e && pad(*q, sep); q++)
			;
		if (q < e && *q == '"') {
			c = ++q;
			for (;;) {
				if ((q = memchr(q, '"', (size_t)(e - q))) == NULL) {
					*nf = i;
					return SPLIT_OPEN;
				}
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
			for (q++; q < e && pad(*q, sep); q++)
				;
			if (q < e && *q != sep) {
				*nf = i + 1;
				return SPLIT_BAD;
			}
		} else {
			if ((q = memchr(p, sep, (size_t)(e - p))) == NULL)
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
csv_record(struct rd *r, char sep, struct span *sp, size_t max,
           const char **s, size_t *n, size_t *nf, int *st,
           unsigned long long *at)
{
	const char *t;
	size_t tn;
	int e;

	for (;;) {
		if ((e = trd_line(r, 0, s, n)) != SK_OK)
			return e;
		if (*s == NULL)
			return SK_OK;
		t = *s;
		tn = *n;
		trd_trim(&t, &tn);
		if (tn > 0)
			break;
		trd_note_blank(r);
	}
	*at = r->lineno;
	if (r->nblank > 0 && (e = trd_flush_blank(r)) != SK_OK)
		return e;
	for (;;) {
		if (*n > 0 && (*s)[*n - 1] == '\r')
			(*n)--;
		if ((*st = ttext_split_csv(*s, *n, sep, sp, max, nf)) !=
		    SPLIT_OPEN)
			return SK_OK;
		if ((e = trd_more_line(r, s, n)) != SK_OK)
			return e;
		if (*s == NULL)
			return err_set_at(SK_ERR_FORMAT, r->name, *at,
			    "unterminated quoted field");
	}
}

/* Refuse column j, chosen by its name, when a later column has the same
 * name: which one is meant cannot be known (at: the header's line). */
static int
csv_unique(struct rd *r, unsigned long long at, const char *const *names,
           size_t ncol, size_t j)
{
	char txt[48];
	size_t k;

	for (k = j + 1; k < ncol; k++)
		if (strcmp(names[k], names[j]) == 0)
			return err_set_at(SK_ERR_FORMAT, r->name, at, "header: "
			    "columns %zu and %zu are both named '%s' (choose one "
			    "with --field '#%zu')", j + 1, k + 1, trd_excerpt(txt,
			    sizeof txt, names[j], strlen(names[j])), j + 1);
	return SK_OK;
}

/* Resolve f's terms (or the default rule) to columns of the header, which
 * is on line at. */
static int
csv_columns(struct rd *r, unsigned long long at, struct fieldspec *f,
            const char *spec, const char *const *names, size_t ncol)
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
		if ((e = csv_unique(r, at, names, ncol, j)) != SK_OK ||
		    (e = fieldspec_single(f, names[j])) != SK_OK)
			return e;
		f->term[0].col = j;
		return SK_OK;
	}
	if ((e = fieldspec_parse(f, spec, 0)) != SK_OK)
		return e;
	for (i = 0; i < f->n; i++) {
		const char *name = f->term[i].name;

		if (name[0] == '#' && name[1] >= '0' && name[1] <= '9' &&
		    trd_parse_int(name + 1, strlen(name + 1), &v)) {
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
			const char *near = near_best(name, names, ncol);

			list_names(list, sizeof list, names, ncol);
			return err_set_at(SK_ERR_ARG, r->name, 0,
			    "no column '%s' (%s%s%scolumns: %s)", name,
			    near != NULL ? "did you mean " : "",
			    near != NULL ? near : "", near != NULL ? "? " : "",
			    list);
		}
		if ((e = csv_unique(r, at, names, ncol, j)) != SK_OK)
			return e;
		f->term[i].col = j;
	}
	return SK_OK;
}

/* The length of one CSV record from its fields; *out stays 0 when it is
 * skipped. */
static int
csv_value(struct rd *r, unsigned long long at, char sep,
          const struct fieldspec *f, const struct span *sp, uint32_t *out)
{
	char txt[48], ctx[300];
	long long v, sum = 0;
	const char *s;
	size_t i, n;
	int ok;

	for (i = 0; i < f->n; i++) {
		s = sp[f->term[i].col].p;
		n = sp[f->term[i].col].n;
		trd_trim(&s, &n);
		ok = trd_parse_int(s, n, &v);
		if (ok && (f->sum ? v >= 0 && v <= (long long)TRACE_LEN_MAX :
		    trd_valid_len(v))) {
			sum += v;
			continue;
		}
		trd_excerpt(txt, sizeof txt, s, n);
		snprintf(ctx, sizeof ctx, "column '%s': ", f->term[i].name);
		/* a TSV the detection missed or a semicolon CSV reads as
		 * one column of text */
		if (!ok)
			return trd_bad(r, at, SK_ERR_FORMAT, "%s'%s' is not an "
			    "integer%s", ctx, txt, sep == ',' &&
			    (memchr(s, '\t', n) != NULL ||
			    memchr(s, ';', n) != NULL) ? " (fields are separated "
			    "by commas; --format tsv for tabs)" : "");
		if (!f->sum)
			return trd_bad_len(r, at, ctx, txt, v);
		return trd_bad_term(r, at, ctx, txt, v);
	}
	if (trd_valid_len(sum)) {
		*out = (uint32_t)sum;
		return SK_OK;
	}
	snprintf(txt, sizeof txt, "%lld", sum);
	return trd_bad_len(r, at, f->ctx, txt, sum);
}

int
ttext_csv(struct rd *r, const char *spec, char sep)
{
	struct fieldspec f = { 0 };
	struct span *sp = NULL;
	char **names = NULL, *store = NULL, *d;
	const char *s;
	unsigned long long at, hdr, nrec = 0;
	uint32_t len;
	size_t n, nf, ncol, i, k;
	int e, st;

	/* the header: count its fields, then split it for real */
	if ((e = csv_record(r, sep, NULL, 0, &s, &n, &ncol, &st, &at)) !=
	    SK_OK ||
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
	ttext_split_csv(s, n, sep, sp, ncol, &nf);
	/* names, unquoted ("" -> ") and trimmed, each NUL-terminated */
	for (i = 0, d = store; i < ncol; i++) {
		const char *p = sp[i].p;
		size_t pn = sp[i].n;

		trd_trim(&p, &pn);
		names[i] = d;
		for (k = 0; k < pn; k++) {
			*d++ = p[k];
			if (p[k] == '"' && k + 1 < pn && p[k + 1] == '"')
				k++;
		}
		*d++ = '\0';
	}
	if ((e = csv_columns(r, at, &f, spec, (const char *const *)names,
	    ncol)) != SK_OK)
		goto out;
	hdr = at;

	for (;;) {
		if ((e = csv_record(r, sep, sp, ncol, &s, &n, &nf, &st, &at)) !=
		    SK_OK)
			goto out;
		if (s == NULL) {
			/* said here: "empty trace" would not tell that line 1
			 * was taken for the header */
			if (nrec == 0)
				e = err_set_at(SK_ERR_FORMAT, r->name, hdr,
				    "a header and no records");
			goto out;
		}
		nrec++;
		if (st == SPLIT_BAD) {
			if ((e = trd_bad(r, at, SK_ERR_FORMAT,
			    "text after a closing quote in field %zu", nf)) !=
			    SK_OK)
				goto out;
			continue;
		}
		if (nf != ncol) {
			if ((e = trd_bad(r, at, SK_ERR_FORMAT,
			    "%zu fields, the header has %zu", nf, ncol)) != SK_OK)
				goto out;
			continue;
		}
		len = 0;
		if ((e = csv_value(r, at, sep, &f, sp, &len)) != SK_OK)
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

/* ---- JSON values (JSONL records, JSON array elements) ---- */

/*
 * The value at the path seg[0..nseg) in obj, NULL if there is none.
 * cJSON returns the first of a repeated key, so a record whose key on the
 * path appears twice is ambiguous, not the first one right, at every
 * level of the path: then *twice is the length of the path's prefix
 * ending at that key (else 0).  When a key is missing, *miss is the
 * object it is missing from and *at the key's offset in the path (for
 * "did you mean").
 */
static const cJSON *
json_path(const cJSON *obj, const char *seg, size_t nseg, size_t *twice,
          const cJSON **miss, size_t *at)
{
	const char *s0 = seg;
	const cJSON *c, *in;
	size_t i;

	*twice = 0;
	*miss = NULL;
	for (i = 0; i < nseg; i++) {
		if (!cJSON_IsObject(obj))
			return NULL;
		in = obj;
		obj = cJSON_GetObjectItemCaseSensitive(obj, seg);
		if (obj == NULL) {
			*miss = in;
			*at = (size_t)(seg - s0);
			return NULL;
		}
		seg += strlen(seg);
		for (c = obj->next; c != NULL; c = c->next)
			if (strcmp(c->string, obj->string) == 0) {
				*twice = (size_t)(seg - s0);
				return NULL;
			}
		seg++;
	}
	return obj;
}

/* " (did you mean PATH?)" into dst when a key of obj is near the segment
 * of name at offset at, else "". */
static const char *
did_you_mean(char *dst, size_t cap, const char *name, size_t at,
             const cJSON *obj)
{
	const char *keys[256], *hit;
	char want[128];
	const cJSON *c;
	size_t n = 0, w;

	dst[0] = '\0';
	if (obj == NULL)
		return dst;
	w = strcspn(name + at, ".[");
	if (w >= sizeof want)
		return dst;
	memcpy(want, name + at, w);
	want[w] = '\0';
	cJSON_ArrayForEach(c, obj) {
		if (n == sizeof keys / sizeof keys[0])
			break;
		keys[n++] = c->string;
	}
	if ((hit = near_best(want, keys, n)) != NULL)
		snprintf(dst, cap, " (did you mean %.*s%s%s?)", (int)at, name, hit,
		    name + at + w);
	return dst;
}

/*
 * The column of the first key of the JSON text s[0..n) (valid JSON) that
 * holds an escaped NUL, 0 if none; with values, of the first string of
 * any kind (*key says which).  cJSON's C strings end at the NUL, so
 * "len\u0000gth" would be read as the key "len", and a string's estimate
 * would count only its characters before the NUL.  Without an estimate a
 * string value is never a length, and a NUL inside an array's string
 * leaves the array's length as it is.
 */
static size_t
json_nul_at(const char *s, size_t n, int values, int *key)
{
	const char *p = s, *e = s + n, *open;
	int nul;

	if (memchr(s, '\\', n) == NULL)
		return 0;
	/* in valid JSON every '"' outside a string opens one */
	while ((p = memchr(p, '"', (size_t)(e - p))) != NULL) {
		open = p++;
		nul = 0;
		for (; p < e && *p != '"'; p++)
			if (*p == '\\') {
				nul |= e - p >= 6 && memcmp(p + 1, "u0000", 5) == 0;
				p++;
			}
		if (p >= e)
			return 0;
		for (p++; p < e && trd_is_blank((unsigned char)*p); p++)
			;
		*key = p < e && *p == ':';
		if (nul && (*key || values))
			return (size_t)(open - s) + 1;
	}
	return 0;
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
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsArray(v))
		return "an array";
	return "an object";
}

/* What one term counts: tokens (integral numbers, arrays of numbers) and
 * characters (strings, code points). */
struct count {
	long long tokens;  /* saturates at TRACE_LEN_MAX + 1 */
	long long chars;   /* code points */
	int strings;       /* some string was counted */
};

static void
count_add(long long *acc, long long v)
{
	*acc = *acc + v > (long long)TRACE_LEN_MAX ?
	    (long long)TRACE_LEN_MAX + 1 : *acc + v;
}

/* Code points of the UTF-8 string s: bytes that do not continue one. */
static long long
code_points(const char *s)
{
	long long n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/*
 * The members of array v that are not numbers: 0 when all are (a token
 * list), else their count by the kind of the first, in *kind ("objects",
 * "strings", ...).
 */
static int
array_of(const cJSON *v, const char **kind, size_t *n)
{
	const cJSON *c;

	*n = (size_t)cJSON_GetArraySize(v);
	cJSON_ArrayForEach(c, v) {
		if (cJSON_IsNumber(c))
			continue;
		*kind = cJSON_IsObject(c) ? "objects" : cJSON_IsString(c) ?
		    "strings" : cJSON_IsArray(c) ? "arrays" : "values of mixed "
		    "kinds";
		if (cJSON_IsObject(c) || cJSON_IsString(c))
			return 1;
		return 2;
	}
	return 0;
}

/* A member of objects to suggest for "a[].NAME": "content" if the first
 * object has it, else its first string member, else its first. */
static const char *
member_hint(const cJSON *v)
{
	const cJSON *o, *c;

	cJSON_ArrayForEach(o, v)
		if (cJSON_IsObject(o))
			break;
	if (o == NULL || o->child == NULL)
		return "content";
	if (cJSON_GetObjectItemCaseSensitive(o, "content") != NULL)
		return "content";
	cJSON_ArrayForEach(c, o)
		if (cJSON_IsString(c))
			return c->string;
	return o->child->string;
}

/* The default field, from the first record: a length-like number, else
 * the input_ids array. */
static int
json_default(struct rd *r, struct fieldspec *f, const cJSON *obj)
{
	char list[ERR_MSG_MAX / 2];
	const char *keys[64] = { NULL };
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
	/* chat data: name the path that counts its turns' text */
	cJSON_ArrayForEach(c, obj) {
		const char *kind;
		size_t k;

		if (cJSON_IsArray(c) && array_of(c, &kind, &k) == 1 &&
		    kind[0] == 'o')
			return err_set_at(SK_ERR_ARG, r->name, r->lineno, "no "
			    "length field; choose one with --field (fields: %s), "
			    "e.g. --field %s[].%s --chars-per-token 4", list,
			    c->string, member_hint(c));
	}
	return err_set_at(SK_ERR_ARG, r->name, r->lineno,
	    "no length field; choose one with --field (fields: %s)", list);
}

/*
 * Count the value v (label: how messages name it) into c: a whole number
 * of tokens >= 0, a string (with an estimate) or an array of numbers.  0,
 * or an error code with the message in msg.  path is what to suggest
 * "PATH[].member" with for an array of objects.
 */
static int
count_value(const struct rd *r, const cJSON *v, const char *label,
            const char *path, struct count *c, char *msg, size_t cap)
{
	const char *kind = NULL;
	size_t n;
	double d;
	int k;

	if (cJSON_IsNumber(v)) {
		d = v->valuedouble;
		if (d < 0 || (d <= (double)TRACE_LEN_MAX &&
		    (double)(long long)d != d)) {
			snprintf(msg, cap, "%s: %.17g is %s", label, d, d < 0 ?
			    "negative" : "not an integer");
			return d < 0 ? SK_ERR_RANGE : SK_ERR_FORMAT;
		}
		count_add(&c->tokens, d > (double)TRACE_LEN_MAX ?
		    (long long)TRACE_LEN_MAX + 1 : (long long)d);
		return 0;
	}
	if (cJSON_IsString(v)) {
		if (r->cpt <= 0) {
			snprintf(msg, cap, "%s is a string; estimate its tokens "
			    "with --chars-per-token X (e.g. 4)", label);
			return SK_ERR_FORMAT;
		}
		c->chars += code_points(v->valuestring);
		c->strings = 1;
		return 0;
	}
	if (cJSON_IsArray(v)) {
		if ((k = array_of(v, &kind, &n)) == 0) {
			count_add(&c->tokens, (long long)n);
			return 0;
		}
		if (k == 1)
			snprintf(msg, cap, "%s is an array of %zu %s; say how to "
			    "count it, e.g. --field %s[]%s%s --chars-per-token 4",
			    label, n, kind, path, kind[0] == 'o' ? "." : "",
			    kind[0] == 'o' ? member_hint(v) : "");
		else
			snprintf(msg, cap, "%s is an array of %s, not of numbers "
			    "(a token list)", label, kind);
		return SK_ERR_FORMAT;
	}
	snprintf(msg, cap, "%s is %s, not a number, a string or an array",
	    label, json_kind(v));
	return SK_ERR_FORMAT;
}

/* ceil(chars / cpt) tokens, saturating at TRACE_LEN_MAX + 1; one less
 * when that many already hold the characters (7 chars at 0.7 are 10
 * tokens, though 7 / 0.7 rounds above 10). */
static long long
estimate(long long chars, double cpt)
{
	double q = ceil((double)chars / cpt);
	long long x;

	if (q > (double)TRACE_LEN_MAX)
		return (long long)TRACE_LEN_MAX + 1;
	x = (long long)q;
	if (x > 0 && (double)(x - 1) * cpt >= (double)chars)
		x--;
	return x;
}

/* The tokens of a count: its numbers plus its strings' estimate. */
static long long
count_total(const struct rd *r, const struct count *c)
{
	long long x = c->tokens;

	if (c->strings)
		count_add(&x, estimate(c->chars, r->cpt));
	return x;
}

/* Count term t's member over the elements of the array v ("a[].b"). */
static int
count_each(const struct rd *r, const struct term *t, const cJSON *v,
           struct count *c, char *msg, size_t cap)
{
	char label[300], mean[200], path[256];
	const cJSON *el, *u, *miss;
	const char *sub;
	size_t i = 0, twice, at, m;
	int e;

	m = (size_t)(strstr(t->name, "[]") - t->name);
	snprintf(path, sizeof path, "%.*s", (int)m, t->name);
	sub = t->name + m + 3;
	if (!cJSON_IsArray(v)) {
		snprintf(msg, cap, "field '%s' is %s, not an array", path,
		    json_kind(v));
		return SK_ERR_FORMAT;
	}
	cJSON_ArrayForEach(el, v) {
		u = el;
		if (t->nsub > 0) {
			if (!cJSON_IsObject(el)) {
				snprintf(msg, cap, "element %zu of '%s' is %s, not "
				    "an object", i, path, json_kind(el));
				return SK_ERR_FORMAT;
			}
			u = json_path(el, t->sub, t->nsub, &twice, &miss, &at);
			if (twice > 0) {
				snprintf(msg, cap, "element %zu of '%s': '%.*s' "
				    "appears twice", i, path, (int)twice, sub);
				return SK_ERR_FORMAT;
			}
			if (u == NULL) {
				snprintf(msg, cap, "element %zu of '%s' has no "
				    "'%s'%s", i, path, sub, did_you_mean(mean,
				    sizeof mean, sub, at, miss));
				return SK_ERR_FORMAT;
			}
		}
		snprintf(label, sizeof label, "field '%s' (element %zu)",
		    t->name, i);
		if ((e = count_value(r, u, label, t->name, c, msg, cap)) != 0)
			return e;
		i++;
	}
	return 0;
}

/* The length of one JSON object; *out stays 0 when it is skipped. */
static int
json_value(struct rd *r, const struct fieldspec *f, const cJSON *obj,
           uint32_t *out)
{
	char txt[64], ctx[300], msg[ERR_MSG_MAX / 2], label[300], mean[200];
	const cJSON *v, *miss;
	const struct term *t;
	struct count c;
	long long x, sum = 0;
	double d = 0;
	size_t i, twice, at;
	int integral, e, est = 0, arr;

	for (i = 0; i < f->n; i++) {
		t = &f->term[i];
		integral = 1;
		arr = 0;
		memset(&c, 0, sizeof c);
		v = json_path(obj, t->seg, t->nseg, &twice, &miss, &at);
		if (twice > 0)
			return trd_bad(r, r->lineno, SK_ERR_FORMAT,
			    "field '%.*s' appears twice", (int)twice, t->name);
		if (v == NULL)
			return trd_bad(r, r->lineno, SK_ERR_FORMAT,
			    "no field '%.*s'%s", (int)strcspn(t->name, "["),
			    t->name, did_you_mean(mean, sizeof mean, t->name, at,
			    miss));
		snprintf(label, sizeof label, "field '%s'", t->name);
		if (t->each || !cJSON_IsNumber(v)) {
			e = t->each ? count_each(r, t, v, &c, msg, sizeof msg) :
			    count_value(r, v, label, t->name, &c, msg,
			    sizeof msg);
			if (e != 0)
				return trd_bad(r, r->lineno, e, "%s", msg);
			x = count_total(r, &c);
			est |= c.strings;
			arr = !t->each && cJSON_IsArray(v);
		} else {
			d = v->valuedouble;
			if (d > (double)TRACE_LEN_MAX)
				x = (long long)TRACE_LEN_MAX + 1;
			else if (d < -(double)TRACE_LEN_MAX)
				x = -(long long)TRACE_LEN_MAX - 1;
			else
				integral = (double)(x = (long long)d) == d;
		}
		if (integral && (f->sum ? x >= 0 && x <= (long long)TRACE_LEN_MAX :
		    trd_valid_len(x))) {
			sum += x;
			continue;
		}
		snprintf(ctx, sizeof ctx, "field '%s': ", t->name);
		if (c.strings)
			snprintf(txt, sizeof txt, "%lld (estimated from %lld "
			    "chars)", x, c.chars);
		else if (t->each)
			snprintf(txt, sizeof txt, "%lld (summed over the array)",
			    x);
		else if (arr)
			snprintf(txt, sizeof txt, "%lld (array length)", x);
		else
			snprintf(txt, sizeof txt, "%.17g", d);
		if (!integral)
			return trd_bad(r, r->lineno, SK_ERR_FORMAT,
			    "%s%s is not an integer", ctx, txt);
		if (!f->sum)
			return trd_bad_len(r, r->lineno, ctx, txt, x);
		return trd_bad_term(r, r->lineno, ctx, txt, x);
	}
	if (trd_valid_len(sum)) {
		*out = (uint32_t)sum;
		r->estimated += est;
		return SK_OK;
	}
	snprintf(txt, sizeof txt, "%lld", sum);
	return trd_bad_len(r, r->lineno, f->ctx, txt, sum);
}

/*
 * One JSON object, the text s[0..n) parsed as obj, on line r->lineno:
 * its length pushed, or the record refused (trd_bad).  The default field
 * is chosen from the first.
 */
static int
json_record(struct rd *r, struct fieldspec *f, const cJSON *obj,
            const char *s, size_t n)
{
	uint32_t len = 0;
	size_t col;
	int e, key = 0;

	if ((col = json_nul_at(s, n, r->cpt > 0, &key)) > 0)
		return trd_bad(r, r->lineno, SK_ERR_FORMAT, "the %s at column %zu "
		    "holds a NUL (\\u0000), which would cut it short", key ?
		    "key" : "string", col);
	if (f->term == NULL && (e = json_default(r, f, obj)) != SK_OK)
		return e;
	if ((e = json_value(r, f, obj, &len)) != SK_OK)
		return e;
	return len > 0 ? trace_push(r->t, len) : SK_OK;
}

/* ---- JSONL ---- */

int
ttext_jsonl(struct rd *r, const char *spec)
{
	struct fieldspec f = { 0 };
	cJSON *obj = NULL;
	const char *s, *end;
	size_t n;
	int e;

	if (spec != NULL && (e = fieldspec_parse(&f, spec, 1)) != SK_OK)
		goto out;
	for (;;) {
		if ((e = trd_line(r, 0, &s, &n)) != SK_OK || s == NULL)
			goto out;
		trd_trim(&s, &n);
		if (n == 0) {
			trd_note_blank(r);
			continue;
		}
		if (r->nblank > 0 && (e = trd_flush_blank(r)) != SK_OK)
			goto out;
		end = NULL;
		obj = cJSON_ParseWithLengthOpts(s, n, &end, 0);
		if (obj == NULL || end != s + n) {
			/* end: the fault, or the text after a valid value */
			if (end == NULL || end < s || end > s + n)
				end = s;
			while (obj != NULL && end < s + n &&
			    trd_is_blank((unsigned char)*end))
				end++;
			if ((e = trd_bad(r, r->lineno, SK_ERR_FORMAT,
			    "malformed JSON at column %zu",
			    (size_t)(end - s) + 1)) != SK_OK)
				goto out;
		} else if (!cJSON_IsObject(obj)) {
			if ((e = trd_bad(r, r->lineno, SK_ERR_FORMAT,
			    "not a JSON object")) != SK_OK)
				goto out;
		} else if ((e = json_record(r, &f, obj, s, n)) != SK_OK) {
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

/* ---- JSON array ---- */

/* The next byte of the input in *c, or -1 at its end. */
static int
next_byte(struct rd *r, int *c)
{
	int e;

	if (r->pos == r->end) {
		if (!r->eof && (e = trd_refill(r)) != SK_OK)
			return e;
		if (r->pos == r->end) {
			*c = -1;
			return SK_OK;
		}
	}
	*c = (unsigned char)r->buf[r->pos++];
	if (*c == '\n')
		r->lineno++;
	return SK_OK;
}

/* The next byte that is not a blank, as next_byte. */
static int
next_token(struct rd *r, int *c)
{
	int e;

	do
		if ((e = next_byte(r, c)) != SK_OK)
			return e;
	while (*c >= 0 && trd_is_blank(*c));
	return SK_OK;
}

/* Append c to the element buffer *el (*n bytes of *cap). */
static int
el_put(struct rd *r, char **el, size_t *n, size_t *cap, int c)
{
	char *p;

	if (*n == *cap) {
		if (*cap > SIZE_MAX / 4)
			return err_set(SK_ERR_NOMEM, "%s: out of memory", r->name);
		if ((p = realloc(*el, *cap > 0 ? 2 * *cap : 4096)) == NULL)
			return err_set(SK_ERR_NOMEM, "%s: out of memory", r->name);
		*el = p;
		*cap = *cap > 0 ? 2 * *cap : 4096;
	}
	(*el)[(*n)++] = (char)c;
	return SK_OK;
}

/*
 * The text of the next element of the array in el[0..*n), up to the ','
 * or ']' after it (in *stop), with *c its first byte.  Strings and nested
 * brackets are followed so that their commas do not end it; the element
 * is only scanned here, cJSON judges it.
 */
static int
json_element(struct rd *r, size_t idx, unsigned long long at, int c,
             char **el, size_t *n, size_t *cap, int *stop)
{
	long depth = 0;
	int e, str = 0, esc = 0;

	*n = 0;
	for (;;) {
		if (c < 0)
			return err_set_at(SK_ERR_FORMAT, r->name, at,
			    "element [%zu]: truncated JSON array (no closing "
			    "']')", idx);
		if (c == '\0')
			return err_set_at(SK_ERR_FORMAT, r->name, r->lineno,
			    "byte %llu: NUL byte in JSON text (a binary file? "
			    "see --format)", r->off + r->pos - 1);
		if (str) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				str = 0;
		} else if (depth == 0 && (c == ',' || c == ']')) {
			*stop = c;
			return SK_OK;
		} else if (c == '"') {
			str = 1;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if ((c == '}' || c == ']') && --depth < 0) {
			/* past this the array's own brackets are lost */
			return err_set_at(SK_ERR_FORMAT, r->name, r->lineno,
			    "element [%zu]: malformed JSON (a '%c' closes nothing)",
			    idx, c);
		}
		if ((e = el_put(r, el, n, cap, c)) != SK_OK ||
		    (e = next_byte(r, &c)) != SK_OK)
			return e;
	}
}

/* A number element d (written s[0..n)) of an array of lengths, on line
 * at: pushed, or refused.  Range first: a double past long long's range
 * does not convert. */
static int
json_length(struct rd *r, unsigned long long at, double d, const char *s,
            size_t n)
{
	char txt[48];
	long long x;

	trd_excerpt(txt, sizeof txt, s, n);
	if (d > (double)TRACE_LEN_MAX)
		return trd_bad_len(r, at, "", txt, (long long)TRACE_LEN_MAX + 1);
	if (d < -(double)TRACE_LEN_MAX)
		return trd_bad_len(r, at, "", txt, -(long long)TRACE_LEN_MAX - 1);
	if ((double)(x = (long long)d) != d)
		return trd_bad(r, at, SK_ERR_FORMAT, "%s is not an integer", txt);
	if (!trd_valid_len(x))
		return trd_bad_len(r, at, "", txt, x);
	return trace_push(r->t, (uint32_t)x);
}

int
ttext_json(struct rd *r, const char *spec)
{
	struct fieldspec f = { 0 };
	cJSON *v = NULL;
	char *el = NULL, where[48];
	const char *s, *end;
	unsigned long long at, line;
	size_t n, cap = 0, idx = 0, k;
	int c, e, stop, objects = -1;

	r->lineno = 1;
	if (spec != NULL && (e = fieldspec_parse(&f, spec, 1)) != SK_OK)
		goto out;
	if ((e = next_token(r, &c)) != SK_OK)
		goto out;
	if (c != '[') {
		e = err_set_at(SK_ERR_FORMAT, r->name, r->lineno,
		    "not a JSON array (it does not start with '[')");
		goto out;
	}
	if ((e = next_token(r, &c)) != SK_OK)
		goto out;
	for (stop = c == ']' ? ']' : ','; stop != ']'; idx++) {
		if (idx > 0 && (e = next_token(r, &c)) != SK_OK)
			goto out;
		at = r->lineno;
		if (c == ',' || c == ']') {
			e = err_set_at(SK_ERR_FORMAT, r->name, at, "element "
			    "[%zu]: missing (a '%c' where a value should be)", idx,
			    c);
			goto out;
		}
		if ((e = json_element(r, idx, at, c, &el, &n, &cap, &stop)) !=
		    SK_OK)
			goto out;
		s = el;
		trd_trim(&s, &n);
		snprintf(where, sizeof where, "element [%zu]: ", idx);
		r->where = where;
		line = r->lineno;
		r->lineno = at;
		end = NULL;
		v = cJSON_ParseWithLengthOpts(s, n, &end, 0);
		if (v == NULL || end != s + n) {
			/* the line of the fault, or of the text after a value */
			if (end == NULL || end < s || end > s + n)
				end = s;
			for (k = 0; s + k < end; k++)
				r->lineno += s[k] == '\n';
			e = trd_bad(r, r->lineno, SK_ERR_FORMAT, "malformed JSON");
		} else if (objects < 0 && !cJSON_IsObject(v) &&
		    !cJSON_IsNumber(v)) {
			e = err_set_at(SK_ERR_FORMAT, r->name, at, "element [0] is "
			    "%s; a JSON trace is an array of lengths or of "
			    "objects", json_kind(v));
		} else if (objects < 0 && cJSON_IsNumber(v) && spec != NULL) {
			e = err_set_at(SK_ERR_ARG, r->name, at, "element [0] is a "
			    "number, so the array holds lengths: --field does not "
			    "apply");
		} else {
			if (objects < 0)
				objects = cJSON_IsObject(v);
			if (objects && !cJSON_IsObject(v))
				e = trd_bad(r, at, SK_ERR_FORMAT, "not a JSON "
				    "object (element [0] is one)");
			else if (objects)
				e = json_record(r, &f, v, s, n);
			else if (!cJSON_IsNumber(v))
				e = trd_bad(r, at, SK_ERR_FORMAT, "%s, not a length "
				    "(element [0] is a number)", json_kind(v));
			else
				e = json_length(r, at, v->valuedouble, s, n);
		}
		r->where = NULL;
		r->lineno = line;
		cJSON_Delete(v);
		v = NULL;
		if (e != SK_OK)
			goto out;
	}
	if ((e = next_token(r, &c)) != SK_OK)
		goto out;
	if (c >= 0)
		e = err_set_at(SK_ERR_FORMAT, r->name, r->lineno, "text after "
		    "the JSON array's closing ']'");
out:
	r->where = NULL;
	cJSON_Delete(v);
	free(el);
	fieldspec_free(&f);
	return e;
}
