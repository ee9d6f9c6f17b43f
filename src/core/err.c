/* err: see err.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

static _Thread_local char msg[ERR_MSG_MAX];
static _Thread_local int last;

size_t
err_escape(char *dst, size_t cap, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	unsigned char c;
	char e[4];
	int k;

	for (; (c = (unsigned char)*src) != '\0'; src++) {
		k = 0;
		if (c == '\n' || c == '\r' || c == '\t') {
			e[k++] = '\\';
			e[k++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		} else if (c < 0x20 || c == 0x7f) {
			e[k++] = '\\';
			e[k++] = 'x';
			e[k++] = hex[c >> 4];
			e[k++] = hex[c & 15];
		} else
			e[k++] = (char)c;
		if (o + (size_t)k + 1 > cap)
			break;
		memcpy(dst + o, e, (size_t)k);
		o += (size_t)k;
	}
	dst[o] = '\0';
	return o;
}

/* The single point every error passes through. */
__attribute__((format(printf, 3, 0)))
static int
vset(int code, const char *prefix, const char *fmt, va_list ap)
{
	char raw[ERR_MSG_MAX];
	size_t off = 0;

	if (prefix != NULL)
		off = err_escape(msg, sizeof msg, prefix);
	vsnprintf(raw, sizeof raw, fmt, ap);
	err_escape(msg + off, sizeof msg - off, raw);
	last = code;
	return code;
}

int
err_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(code, NULL, fmt, ap);
	va_end(ap);
	return code;
}

int
err_set_at(int code, const char *path, unsigned long long line,
           const char *fmt, ...)
{
	char prefix[ERR_MSG_MAX / 2];
	va_list ap;

	if (path == NULL)
		prefix[0] = '\0';
	else if (line > 0)
		snprintf(prefix, sizeof prefix, "%s:%llu: ", path, line);
	else
		snprintf(prefix, sizeof prefix, "%s: ", path);
	va_start(ap, fmt);
	vset(code, prefix, fmt, ap);
	va_end(ap);
	return code;
}

void
err_prefix(const char *prefix)
{
	char pre[ERR_MSG_MAX];
	size_t p = err_escape(pre, sizeof pre - 2, prefix) + 2, m = strlen(msg);

	/* Keep the prefix whole when it fits; the message loses its tail. */
	if (p > sizeof msg - 1)
		p = sizeof msg - 1;
	if (m > sizeof msg - 1 - p)
		m = sizeof msg - 1 - p;
	memmove(msg + p, msg, m);
	msg[p + m] = '\0';
	memcpy(msg, pre, p - 2);
	msg[p - 2] = ':';
	msg[p - 1] = ' ';
}

const char *
err_msg(void)
{
	return msg;
}

int
err_code(void)
{
	return last;
}

void
err_clear(void)
{
	msg[0] = '\0';
	last = SK_OK;
}

const char *
err_name(int code)
{
	switch (code) {
	case SK_OK: return "ok";
	case SK_ERR_IO: return "io";
	case SK_ERR_FORMAT: return "format";
	case SK_ERR_RANGE: return "range";
	case SK_ERR_NOMEM: return "nomem";
	case SK_ERR_ARG: return "arg";
	case SK_ERR_UNSUPPORTED: return "unsupported";
	default: return "unknown";
	}
}
