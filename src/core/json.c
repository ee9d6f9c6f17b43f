/* json: see json.h. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "afile.h"
#include "err.h"
#include "json.h"
#include "trace_int.h"

/* The first buffer, bytes: a job or a profile fits. */
#define FIRST (64 * 1024)

/* Shown in messages in place of "-". */
#define STDIN_NAME "<stdin>"
#define STDOUT_NAME "<stdout>"

/* Record a message about member key of the object `where` names
 * ("FILE: key: ..." or "FILE: a.b.key: ...", see json_where). */
__attribute__((format(printf, 4, 5)))
static int
bad(int code, const char *where, const char *key, const char *fmt, ...)
{
	char text[ERR_MSG_MAX], at[ERR_MSG_MAX / 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	json_where(at, sizeof at, where, key);
	return err_set(code, "%s: %s", at, text);
}

static int
missing(const char *where, const char *key)
{
	if (where == NULL || where[0] == '\0')
		return err_set(SK_ERR_FORMAT, "missing %s", key);
	return err_set(SK_ERR_FORMAT, "%s: missing %s", where, key);
}

/* Read the whole (possibly gzip-compressed) stream into a NUL-terminated
 * buffer, through the trace readers' block reader (trace_int.h): it
 * accounts for every byte of a gzip file (a corrupt second member or
 * trailing data is an error, where gzread stops without a word). */
static int
slurp(const char *path, const char *name, char **text, size_t *len)
{
	struct rd r;
	char *buf = NULL, *p;
	size_t n = 0, cap = 0, got;
	int e;

	memset(&r, 0, sizeof r);
	r.name = name;
	if ((e = trd_open(&r, path)) != SK_OK)
		goto out;
	for (;;) {
		if ((e = trd_refill(&r)) != SK_OK)
			goto out;
		got = r.end - r.pos;
		/* Grown by doubling from FIRST, so that the many small files
		 * (jobs, profiles) do not each cost a large allocation. */
		while (cap - n < got + 1) {
			cap = cap == 0 ? FIRST : 2 * cap;
			if ((p = realloc(buf, cap)) == NULL) {
				e = err_set_at(SK_ERR_NOMEM, name, 0,
				    "out of memory reading %zu bytes", n);
				goto out;
			}
			buf = p;
		}
		/* checked per block, so that a gzip bomb of zeros stops at
		 * the first one instead of filling memory */
		if ((p = memchr(r.buf + r.pos, '\0', got)) != NULL) {
			e = err_set_at(SK_ERR_FORMAT, name, 0, "byte %zu: not a "
			    "JSON file (it holds a NUL byte)",
			    n + (size_t)(p - (r.buf + r.pos)));
			goto out;
		}
		memcpy(buf + n, r.buf + r.pos, got);
		n += got;
		r.pos = r.end;
		if (r.eof)
			break;
	}
	buf[n] = '\0';
out:
	trd_close(&r);
	if (e != SK_OK) {
		free(buf);
		return e;
	}
	*text = buf;
	*len = n;
	return SK_OK;
}

/* A step on the way down to a value, for the JSON path of a message. */
struct step {
	const struct step *up;
	const cJSON *v;  /* the member or element */
	int index;       /* its position, for an element of an array */
};

/* Write the path of s ("a.b[2].c") to buf. */
static void
step_path(char *buf, size_t size, const struct step *s)
{
	char tail[ERR_MSG_MAX / 2];

	buf[0] = '\0';
	for (; s != NULL; s = s->up) {
		if (s->v->string != NULL)
			snprintf(tail, sizeof tail, "%s%s%s", s->v->string,
			    buf[0] != '\0' && buf[0] != '[' ? "." : "", buf);
		else
			snprintf(tail, sizeof tail, "[%d]%s%s", s->index,
			    buf[0] != '\0' && buf[0] != '[' ? "." : "", buf);
		snprintf(buf, size, "%s", tail);
	}
}

/*
 * cJSON keeps every member of an object and its getters return the first
 * of a name, so a repeated key would be silently ignored: refuse it.  The
 * pairwise check is quadratic, which objects of skrull's formats (a few
 * dozen members; the long lists are arrays) keep small; a hostile object
 * of many members falls back to sorting.
 */
static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
unique_keys(const cJSON *v, const struct step *up, const char *name)
{
	const cJSON *c, *d;
	const char **names, *twice = NULL;
	struct step here = { .up = up };
	char at[ERR_MSG_MAX / 2];
	size_t n = 0, i;
	int e;

	if (cJSON_IsObject(v)) {
		for (c = v->child; c != NULL; c = c->next)
			n++;
		if (n <= 64) {
			for (c = v->child; c != NULL && twice == NULL;
			    c = c->next)
				for (d = c->next; d != NULL; d = d->next)
					if (strcmp(c->string, d->string) == 0) {
						twice = c->string;
						break;
					}
		} else {
			if ((names = malloc(n * sizeof *names)) == NULL)
				return err_set_at(SK_ERR_NOMEM, name, 0,
				    "out of memory");
			for (i = 0, c = v->child; c != NULL; c = c->next)
				names[i++] = c->string;
			qsort(names, n, sizeof *names, cmp_name);
			for (i = 1; i < n && twice == NULL; i++)
				if (strcmp(names[i - 1], names[i]) == 0)
					twice = names[i];
			free(names);
		}
		if (twice != NULL) {
			step_path(at, sizeof at, up);
			return err_set_at(SK_ERR_FORMAT, name, 0, "%s%skey '%s' "
			    "appears twice", at, at[0] != '\0' ? ": " : "",
			    twice);
		}
	}
	if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
		return SK_OK;
	for (c = v->child; c != NULL; c = c->next, here.index++) {
		here.v = c;
		if ((e = unique_keys(c, &here, name)) != SK_OK)
			return e;
	}
	return SK_OK;
}

/*
 * cJSON turns the escape \u0000 inside a string into a NUL byte, which
 * ends the string there: "Qwen\u0000-evil" would be read as "Qwen"
 * without a word.  The text is scanned for it first (outside strings a
 * backslash is malformed anyway, which the parser reports).
 */
static int
nul_escape(const char *text, size_t n, const char *name)
{
	unsigned long long line = 1;
	size_t i, bol = 0;
	int in = 0;

	for (i = 0; i < n; i++) {
		if (text[i] == '\n') {
			line++;
			bol = i + 1;
		} else if (text[i] == '"')
			in = !in;
		else if (in && text[i] == '\\' && i + 1 < n) {
			if (text[i + 1] == 'u' && i + 5 < n &&
			    strncmp(text + i + 2, "0000", 4) == 0)
				return err_set_at(SK_ERR_FORMAT, name, line,
				    "column %zu: \\u0000 (a NUL character) in a "
				    "string, which would cut it short", i - bol + 1);
			i++;
		}
	}
	return SK_OK;
}

int
json_load(const char *path, cJSON **root)
{
	const char *name = strcmp(path, "-") == 0 ? STDIN_NAME : path;
	const char *end = NULL, *p, *bol;
	unsigned long long line = 1;
	char *text = NULL;
	size_t n = 0, i;
	int e;

	*root = NULL;
	if ((e = slurp(path, name, &text, &n)) != SK_OK)
		return e;
	for (i = 0; i < n && strchr(" \t\r\n", text[i]) != NULL; i++)
		;
	if (i == n) {
		free(text);
		return err_set_at(SK_ERR_FORMAT, name, 0, "empty file");
	}
	if ((e = nul_escape(text, n, name)) != SK_OK) {
		free(text);
		return e;
	}
	/* The terminating NUL is part of the length, so that trailing
	 * garbage after the value is an error too. */
	*root = cJSON_ParseWithLengthOpts(text, n + 1, &end, 1);
	if (*root == NULL) {
		if (end == NULL || end < text || end > text + n)
			end = text + n;
		bol = text;
		for (p = text; p < end; p++)
			if (*p == '\n') {
				line++;
				bol = p + 1;
			}
		e = err_set_at(SK_ERR_FORMAT, name, line,
		    "malformed JSON near column %zu", (size_t)(end - bol) + 1);
	} else if ((e = unique_keys(*root, NULL, name)) != SK_OK) {
		cJSON_Delete(*root);
		*root = NULL;
	}
	free(text);
	return e;
}

int
json_save(const char *path, const cJSON *root, int pretty)
{
	struct afile af;
	const char *name = strcmp(path, "-") == 0 ? STDOUT_NAME : path;
	char *text;
	int e;

	text = pretty ? cJSON_Print(root) : cJSON_PrintUnformatted(root);
	if (text == NULL)
		return err_set_at(SK_ERR_NOMEM, name, 0,
		    "out of memory rendering JSON");
	/* what the caller printed through stdio goes first */
	if (strcmp(path, "-") == 0 && fflush(stdout) != 0) {
		e = err_set_at(SK_ERR_IO, name, 0, "write error: %s",
		    strerror(errno));
		free(text);
		return e;
	}
	if ((e = afile_open(path, &af)) != SK_OK) {
		free(text);
		return e;
	}
	if ((e = afile_put(&af, text, strlen(text))) == SK_OK &&
	    (e = afile_put(&af, "\n", 1)) == SK_OK)
		e = afile_commit(&af, 0);
	else
		afile_abort(&af, 0);
	free(text);
	return e;
}

/* ---- getters ---- */

static const cJSON *
member(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static int
take_int(const cJSON *it, const char *key, const char *where,
    long long lo, long long hi, long long *out)
{
	double v;

	if (!cJSON_IsNumber(it))
		return bad(SK_ERR_FORMAT, where, key, "expected an integer");
	v = it->valuedouble;
	if (!isfinite(v) || v != floor(v))
		return bad(SK_ERR_FORMAT, where, key,
		    "%.17g is not an integer", v);
	if (v < (double)lo || v > (double)hi) {
		if (fabs(v) < 9e18)
			return bad(SK_ERR_RANGE, where, key,
			    "%lld is not in [%lld, %lld]", (long long)v, lo, hi);
		return bad(SK_ERR_RANGE, where, key, "%g is not in [%lld, %lld]",
		    v, lo, hi);
	}
	*out = (long long)v;
	return SK_OK;
}

static int
take_num(const cJSON *it, const char *key, const char *where, double lo,
    double hi, double *out)
{
	double v;

	if (!cJSON_IsNumber(it))
		return bad(SK_ERR_FORMAT, where, key, "expected a number");
	v = it->valuedouble;
	if (!isfinite(v))
		return bad(SK_ERR_FORMAT, where, key, "expected a finite number");
	if (v < lo || v > hi)
		return bad(SK_ERR_RANGE, where, key, "%g is not in [%g, %g]",
		    v, lo, hi);
	*out = v;
	return SK_OK;
}

static int
take_str(const cJSON *it, const char *key, const char *where,
    const char **out)
{
	if (!cJSON_IsString(it) || it->valuestring == NULL)
		return bad(SK_ERR_FORMAT, where, key, "expected a string");
	*out = it->valuestring;
	return SK_OK;
}

static int
take_bool(const cJSON *it, const char *key, const char *where, int *out)
{
	if (!cJSON_IsBool(it))
		return bad(SK_ERR_FORMAT, where, key, "expected true or false");
	*out = cJSON_IsTrue(it) ? 1 : 0;
	return SK_OK;
}

int
json_get_int(const cJSON *obj, const char *key, const char *where,
    long long lo, long long hi, long long *out)
{
	const cJSON *it = member(obj, key);

	if (it == NULL)
		return missing(where, key);
	return take_int(it, key, where, lo, hi, out);
}

int
json_get_num(const cJSON *obj, const char *key, const char *where,
    double lo, double hi, double *out)
{
	const cJSON *it = member(obj, key);

	if (it == NULL)
		return missing(where, key);
	return take_num(it, key, where, lo, hi, out);
}

int
json_get_str(const cJSON *obj, const char *key, const char *where,
    const char **out)
{
	const cJSON *it = member(obj, key);

	if (it == NULL)
		return missing(where, key);
	return take_str(it, key, where, out);
}

int
json_get_bool(const cJSON *obj, const char *key, const char *where,
    int *out)
{
	const cJSON *it = member(obj, key);

	if (it == NULL)
		return missing(where, key);
	return take_bool(it, key, where, out);
}

int
json_opt_int(const cJSON *obj, const char *key, const char *where,
    long long lo, long long hi, long long *out)
{
	const cJSON *it = member(obj, key);

	return it == NULL ? SK_OK : take_int(it, key, where, lo, hi, out);
}

int
json_opt_num(const cJSON *obj, const char *key, const char *where,
    double lo, double hi, double *out)
{
	const cJSON *it = member(obj, key);

	return it == NULL ? SK_OK : take_num(it, key, where, lo, hi, out);
}

int
json_opt_str(const cJSON *obj, const char *key, const char *where,
    const char **out)
{
	const cJSON *it = member(obj, key);

	return it == NULL ? SK_OK : take_str(it, key, where, out);
}

int
json_opt_bool(const cJSON *obj, const char *key, const char *where,
    int *out)
{
	const cJSON *it = member(obj, key);

	return it == NULL ? SK_OK : take_bool(it, key, where, out);
}

int
json_get_obj(const cJSON *obj, const char *key, const char *where,
    const cJSON **out)
{
	const cJSON *it = member(obj, key);

	if (it == NULL)
		return missing(where, key);
	if (!cJSON_IsObject(it))
		return bad(SK_ERR_FORMAT, where, key, "expected an object");
	*out = it;
	return SK_OK;
}

int
json_get_arr(const cJSON *obj, const char *key, const char *where,
    const cJSON **out)
{
	const cJSON *it = member(obj, key);

	if (it == NULL)
		return missing(where, key);
	if (!cJSON_IsArray(it))
		return bad(SK_ERR_FORMAT, where, key, "expected an array");
	*out = it;
	return SK_OK;
}

int
json_check_keys(const cJSON *obj, const char *where, const char *const *keys,
    size_t n)
{
	const cJSON *it;
	size_t k;

	if (!cJSON_IsObject(obj))
		return err_set(SK_ERR_FORMAT, "%s: expected a JSON object", where);
	cJSON_ArrayForEach(it, obj) {
		for (k = 0; k < n; k++)
			if (strcmp(it->string, keys[k]) == 0)
				break;
		if (k == n)
			return err_set(SK_ERR_FORMAT, "%s: unknown member '%s'",
			    where, it->string);
	}
	return SK_OK;
}

void
json_where(char *buf, size_t size, const char *where, const char *key)
{
	if (where == NULL || where[0] == '\0')
		snprintf(buf, size, "%s", key);
	else if (strstr(where, ": ") != NULL)
		snprintf(buf, size, "%s.%s", where, key);
	else
		snprintf(buf, size, "%s: %s", where, key);
}

int
json_check_version(const cJSON *obj, const char *where, const char *format,
    int version)
{
	int v;

	return json_check_version_range(obj, where, format, version, version,
	    &v);
}

int
json_check_version_range(const cJSON *obj, const char *where,
    const char *format, int lo, int hi, int *version)
{
	const char *f;
	long long v;
	int e;

	if (!cJSON_IsObject(obj))
		return err_set(SK_ERR_FORMAT, "%s: expected a JSON object",
		    where);
	if (format != NULL) {
		if ((e = json_get_str(obj, "format", where, &f)) != SK_OK)
			return e;
		if (strcmp(f, format) != 0)
			return bad(SK_ERR_FORMAT, where, "format",
			    "expected \"%s\", not \"%s\"", format, f);
	}
	if ((e = json_get_int(obj, "version", where, 1, 1000000, &v)) != SK_OK)
		return e;
	if (v < lo || v > hi) {
		if (lo == hi)
			return bad(SK_ERR_UNSUPPORTED, where, "version",
			    "%lld is not supported (this skrull reads version "
			    "%d)", v, hi);
		return bad(SK_ERR_UNSUPPORTED, where, "version",
		    "%lld is not supported (this skrull reads versions %d to "
		    "%d)", v, lo, hi);
	}
	*version = (int)v;
	return SK_OK;
}
