/*
 * err: the error codes of the skrull library and the message of the last
 * failure.
 *
 * Library functions return 0 (SK_OK) on success or one of the codes below,
 * and record a human-readable message at the point of detection with
 * err_set() or err_set_at(); both funnel into one function, so one
 * breakpoint catches every error.  The library never prints and never exits;
 * the command layer prints err_msg() prefixed with "skrull: ".
 *
 * The message lives in thread-local storage owned by this module: it stays
 * valid until the next err_set*() or err_clear() on the same thread.  Its
 * control characters (a file name's newline or escape sequence, which
 * could forge lines or drive the terminal) are written as err_escape
 * writes them, so a message is always one line of printable text.
 */
#ifndef SKRULL_ERR_H
#define SKRULL_ERR_H

#include <stddef.h>

enum sk_err {
	SK_OK = 0,
	SK_ERR_IO,          /* a file could not be opened, read, written or renamed */
	SK_ERR_FORMAT,      /* the input is malformed for its format */
	SK_ERR_RANGE,       /* a value lies outside its allowed range */
	SK_ERR_NOMEM,       /* an allocation failed */
	SK_ERR_ARG,         /* an argument or specification string is invalid */
	SK_ERR_UNSUPPORTED  /* a well-formed input uses a feature skrull lacks */
};

/* Longest message kept, in bytes including the terminating NUL. */
#define ERR_MSG_MAX 1024

/* Record code and a printf-style message; returns code so callers can write
 * `return err_set(SK_ERR_ARG, "...")`. */
int err_set(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* As err_set, with the message prefixed "path:line: " (line > 0) or
 * "path: " (line == 0).  path may be NULL, then no prefix is written. */
int err_set_at(int code, const char *path, unsigned long long line,
               const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Prefix the current message with "prefix: " (adds context on the way up). */
void err_prefix(const char *prefix);

/* The last message ("" when none) and its code (SK_OK when none). */
const char *err_msg(void);
int err_code(void);
void err_clear(void);

/* src into dst (cap bytes, cap >= 1, always terminated) with each control
 * character (below 0x20, and 0x7f) written as \n, \r, \t or \xHH,
 * stopping before an escape that would not fit; returns the bytes
 * written. */
size_t err_escape(char *dst, size_t cap, const char *src);

/* A short name of a code, for JSON error objects: "io", "format", ... */
const char *err_name(int code);

#endif
