/* trace_text: the text formats of the trace module (plain, CSV, JSONL)
 * and --field; see trace_int.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "err.h"
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

/*
 * Split one CSV record (RFC 4180) into fields, storing the first max in
 * sp; *nf is the number of fields (so far, for SPLIT_OPEN).  Blanks around
 * a quoted field are allowed.
 */
int
ttext_split_csv(const char *s, size_t n, struct span *sp, size_t max,
                size_t *nf)
{
	const char *p = s, *e = s + n, *q, *c;
	size_t i = 0;

	for (;;) {
		for (q = p; q < e && (*q == ' ' || *q == '\t'); q++)
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
		if ((*st = ttext_split_csv(*s, *n, sp, max, nf)) != SPLIT_OPEN)
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
			list_names(list, sizeof list, names, ncol);
			return err_set_at(SK_ERR_ARG, r->name, 0,
			    "no column '%s' (columns: %s)", name, list);
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
		trd_trim(&s, &n);
		ok = trd_parse_int(s, n, &v);
		if (ok && (f->sum ? v >= 0 && v <= (long long)TRACE_LEN_MAX :
		    trd_valid_len(v))) {
			sum += v;
			continue;
		}
		trd_excerpt(txt, sizeof txt, s, n);
		snprintf(ctx, sizeof ctx, "column '%s': ", f->term[i].name);
		/* a TSV or a semicolon CSV reads as one column of text */
		if (!ok)
			return trd_bad(r, at, SK_ERR_FORMAT, "%s'%s' is not an "
			    "integer%s", ctx, txt, memchr(s, '\t', n) != NULL ||
			    memchr(s, ';', n) != NULL ? " (fields are separated "
			    "by commas)" : "");
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
ttext_csv(struct rd *r, const char *spec)
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
	ttext_split_csv(s, n, sp, ncol, &nf);
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
		if ((e = csv_record(r, sp, ncol, &s, &n, &nf, &st, &at)) !=
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

/*
 * The value of term t in obj, NULL if there is none.  cJSON returns the
 * first of a repeated key, so a record whose key on the path appears twice
 * is ambiguous, not the first one right, at every level of the path:
 * then *twice is the length of the path's prefix ending at that key
 * (else 0).
 */
static const cJSON *
json_path(const cJSON *obj, const struct term *t, size_t *twice)
{
	const char *seg = t->seg;
	const cJSON *c;
	size_t i;

	*twice = 0;
	for (i = 0; i < t->nseg; i++) {
		if (!cJSON_IsObject(obj))
			return NULL;
		obj = cJSON_GetObjectItemCaseSensitive(obj, seg);
		if (obj == NULL)
			return NULL;
		seg += strlen(seg);
		for (c = obj->next; c != NULL; c = c->next)
			if (strcmp(c->string, obj->string) == 0) {
				*twice = (size_t)(seg - t->seg);
				return NULL;
			}
		seg++;
	}
	return obj;
}

/*
 * The column of the first key of the JSON text s[0..n) (valid JSON) that
 * holds an escaped NUL, 0 if none.  cJSON's C strings end at the NUL, so
 * "len\u0000gth" would be read as the key "len".  Values are not checked:
 * a string is never a length, and a NUL inside an array's string leaves
 * the array's length as it is.
 */
static size_t
json_nul_key(const char *s, size_t n)
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
		if (nul && p < e && *p == ':')
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
	const cJSON *v;
	long long x, sum = 0;
	double d = 0;
	size_t i, twice;
	int integral;

	for (i = 0; i < f->n; i++) {
		integral = 1;
		v = json_path(obj, &f->term[i], &twice);
		if (twice > 0)
			return trd_bad(r, r->lineno, SK_ERR_FORMAT,
			    "field '%.*s' appears twice", (int)twice,
			    f->term[i].name);
		if (v == NULL)
			return trd_bad(r, r->lineno, SK_ERR_FORMAT, "no field '%s'",
			    f->term[i].name);
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
			return trd_bad(r, r->lineno, SK_ERR_FORMAT,
			    "field '%s' is %s, not a number or an array",
			    f->term[i].name, json_kind(v));
		}
		if (integral && (f->sum ? x >= 0 && x <= (long long)TRACE_LEN_MAX :
		    trd_valid_len(x))) {
			sum += x;
			continue;
		}
		snprintf(ctx, sizeof ctx, "field '%s': ", f->term[i].name);
		if (cJSON_IsArray(v))
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
		return SK_OK;
	}
	snprintf(txt, sizeof txt, "%lld", sum);
	return trd_bad_len(r, r->lineno, f->ctx, txt, sum);
}

int
ttext_jsonl(struct rd *r, const char *spec)
{
	struct fieldspec f = { 0 };
	cJSON *obj = NULL;
	const char *s, *end;
	uint32_t len;
	size_t n, col;
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
			cJSON_Delete(obj);
			obj = NULL;
			continue;
		}
		if (!cJSON_IsObject(obj)) {
			if ((e = trd_bad(r, r->lineno, SK_ERR_FORMAT,
			    "not a JSON object")) != SK_OK)
				goto out;
		} else if ((col = json_nul_key(s, n)) > 0) {
			if ((e = trd_bad(r, r->lineno, SK_ERR_FORMAT, "the key at "
			    "column %zu holds a NUL (\\u0000), which would cut "
			    "it short", col)) != SK_OK)
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
