/*
 * test_trace: the readers and writers of src/core/trace.c.
 *
 * Text inputs live in tests/data/trace/ (found through $top_srcdir);
 * binary and gzip inputs are written by the tests into a temporary
 * directory from bytes spelled out here, so every expected number can be
 * checked by hand.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "err.h"
#include "trace.h"
#include "tutil.h"

/* ---- helpers ---- */

static const char *
put_gz(const char *name, const void *p, size_t n)
{
	const char *path = tutil_path(name);
	gzFile gz = gzopen(path, "wb");

	assert_non_null(gz);
	assert_int_equal(gzwrite(gz, p, (unsigned)n), (int)n);
	assert_int_equal(gzclose(gz), Z_OK);
	return path;
}

static size_t
slurp(const char *path, unsigned char *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static void
le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void
le64(unsigned char *p, uint64_t v)
{
	le32(p, (uint32_t)v);
	le32(p + 4, (uint32_t)(v >> 32));
}

/*
 * A .npy file: magic, version major.0, header length (2 bytes for 1.0, 4
 * for 2.0), dict padded with spaces and '\n' to a multiple of 64 bytes,
 * then the data bytes.  Returns the file size.
 */
static size_t
npy_bytes(unsigned char *out, int major, const char *dict,
          const void *data, size_t ndata)
{
	size_t pre = major == 1 ? 10 : 12, len = strlen(dict), hlen;

	hlen = len + 1;
	hlen += (64 - (pre + hlen) % 64) % 64;
	memcpy(out, "\x93NUMPY", 6);
	out[6] = (unsigned char)major;
	out[7] = 0;
	if (major == 1) {
		out[8] = (unsigned char)hlen;
		out[9] = (unsigned char)(hlen >> 8);
	} else
		le32(out + 8, (uint32_t)hlen);
	memset(out + pre, ' ', hlen);
	memcpy(out + pre, dict, len);
	out[pre + hlen - 1] = '\n';
	if (ndata > 0)
		memcpy(out + pre + hlen, data, ndata);
	return pre + hlen + ndata;
}

/*
 * A Megatron-LM .idx file with the given lengths: magic, version,
 * dtype code 4 (int32), sequence count, document count (n + 1), the int32
 * lengths, the int64 byte pointers and the int64 document indices.
 */
static size_t
idx_bytes(unsigned char *out, uint64_t version, int dtype,
          const int32_t *len, size_t n, uint64_t claimed)
{
	size_t off = 0, i;
	uint64_t ptr = 0;

	memcpy(out, "MMIDIDX\0\0", 9);
	le64(out + 9, version);
	out[17] = (unsigned char)dtype;
	le64(out + 18, claimed);
	le64(out + 26, n + 1);
	off = 34;
	for (i = 0; i < n; i++, off += 4)
		le32(out + off, (uint32_t)len[i]);
	for (i = 0; i < n; i++, off += 8) {
		le64(out + off, ptr);
		ptr += (uint64_t)(uint32_t)len[i] * 4;
	}
	for (i = 0; i <= n; i++, off += 8)
		le64(out + off, i);
	return off;
}

static void
read_ok(const char *path, const struct trace_read_opts *o, struct trace *t,
        enum trace_format fmt)
{
	struct trace_read_info info;
	int e = trace_read(path, o, t, &info);

	if (e != SK_OK)
		fail_msg("%s", err_msg());
	assert_int_equal(info.format, fmt);
	assert_int_equal(info.skipped, 0);
}

static void
expect_lens(const struct trace *t, const uint32_t *want, size_t n)
{
	size_t i;

	assert_int_equal(t->n, n);
	for (i = 0; i < n; i++)
		assert_int_equal(t->len[i], want[i]);
}

/* trace_read fails with code and the message path + rest; t stays empty. */
static void
read_fails(const char *path, const struct trace_read_opts *o, int code,
           const char *rest)
{
	char want[2048];
	struct trace t;

	trace_init(&t);
	assert_int_equal(trace_push(&t, 4242), SK_OK);  /* replaced, freed */
	assert_int_equal(trace_read(path, o, &t, NULL), code);
	assert_int_equal(t.n, 0);
	assert_null(t.len);
	snprintf(want, sizeof want, "%s%s", path, rest);
	assert_string_equal(err_msg(), want);
}

static const struct trace_read_opts *
field(const char *spec)
{
	static struct trace_read_opts o;

	memset(&o, 0, sizeof o);
	o.field = spec;
	return &o;
}

/* ---- plain ---- */

static void
test_plain(void **state)
{
	/* lengths.txt: 347, 10919, "  1823777  ", "2112\r", 85851 */
	static const uint32_t want[] = { 347, 10919, 1823777, 2112, 85851 };
	struct trace t;

	trace_init(&t);
	read_ok(tutil_data("tests/data/trace/lengths.txt"), NULL, &t,
	    TRACE_FORMAT_PLAIN);
	expect_lens(&t, want, 5);
	/* no final newline, trailing blank lines, the largest length */
	read_ok(tutil_put("a.txt", "2147483647\n347\n\n\n"), NULL, &t,
	    TRACE_FORMAT_PLAIN);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.len[0], 2147483647u);
	read_ok(tutil_put("b.txt", "10919"), NULL, &t, TRACE_FORMAT_PLAIN);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.len[0], 10919);
	trace_free(&t);
}

static void
test_plain_long_input(void **state)
{
	/* 30000 lines "1823777\n" (240000 bytes, several 64 KiB blocks, lines
	 * crossing block boundaries) then "347": sum 30000 * 1823777 + 347 =
	 * 54713310347. */
	const size_t n = 30000;
	char *s = malloc(n * 8 + 4);
	unsigned long long sum = 0;
	struct trace t;
	size_t i;

	assert_non_null(s);
	for (i = 0; i < n; i++)
		memcpy(s + i * 8, "1823777\n", 8);
	memcpy(s + n * 8, "347", 4);
	trace_init(&t);
	read_ok(tutil_put("long.txt", s), NULL, &t, TRACE_FORMAT_PLAIN);
	for (i = 0; i < t.n; i++)
		sum += t.len[i];
	assert_int_equal(t.n, n + 1);
	assert_true(sum == 54713310347ull);
	trace_free(&t);
	free(s);
}

static void
test_plain_bad(void **state)
{
	read_fails(tutil_put("empty.txt", ""), NULL, SK_ERR_FORMAT,
	    ": empty trace");
	read_fails(tutil_put("blank.txt", "\n \n"), NULL, SK_ERR_FORMAT,
	    ": empty trace");
	read_fails(tutil_put("nonint.txt", "347\n12x\n"), NULL, SK_ERR_FORMAT,
	    ":2: '12x' is not an integer");
	read_fails(tutil_put("frac.txt", "347\n10919.0\n"), NULL, SK_ERR_FORMAT,
	    ":2: '10919.0' is not an integer");
	read_fails(tutil_put("zero.txt", "347\n10919\n0\n"), NULL, SK_ERR_RANGE,
	    ":3: length 0 is not positive");
	read_fails(tutil_put("neg.txt", "-5\n347\n"), NULL, SK_ERR_RANGE,
	    ":1: length -5 is not positive");
	read_fails(tutil_put("big.txt", "347\n2147483648\n"), NULL,
	    SK_ERR_RANGE, ":2: length 2147483648 exceeds 2147483647");
	read_fails(tutil_put("huge.txt", "347\n99999999999999999999999\n"),
	    NULL, SK_ERR_RANGE, ":2: length 99999999999999999999999 exceeds "
	    "2147483647");
	read_fails(tutil_put("gap.txt", "347\n\n10919\n"), NULL, SK_ERR_FORMAT,
	    ":2: empty line");
	read_fails(tutil_path("missing.txt"), NULL, SK_ERR_IO,
	    ": cannot open: No such file or directory");
}

static void
test_skip_bad(void **state)
{
	/* lines 2 (abc), 3 (0), 5 (-3) and 7 (blank, mid-file) are bad */
	static const uint32_t want[] = { 347, 10919, 1823777, 2112 };
	struct trace_read_opts o = { .skip_bad = 1 };
	struct trace_read_info info;
	struct trace t;

	trace_init(&t);
	assert_int_equal(trace_read(tutil_put("skip.txt",
	    "347\nabc\n0\n10919\n-3\n1823777\n\n2112\n"), &o, &t, &info),
	    SK_OK);
	expect_lens(&t, want, 4);
	assert_int_equal(info.skipped, 4);
	assert_int_equal(info.first_skipped, 2);

	/* JSONL: line 2 is malformed, line 3 lacks the field */
	assert_int_equal(trace_read(tutil_put("skip.jsonl",
	    "{\"len\": 347}\n{\"len\": \n{\"x\": 1}\n{\"len\": 10919}\n"), &o, &t,
	    &info), SK_OK);
	expect_lens(&t, want, 2);
	assert_int_equal(info.skipped, 2);
	assert_int_equal(info.first_skipped, 2);

	/* structural errors are never skipped */
	o.field = "nope";
	assert_int_equal(trace_read(tutil_data("tests/data/trace/lengths.csv"),
	    &o, &t, &info), SK_ERR_ARG);
	o.field = NULL;

	/* everything skipped: still an empty trace */
	assert_int_equal(trace_read(tutil_put("allbad.txt", "0\n-1\n"), &o, &t,
	    &info), SK_ERR_FORMAT);
	assert_int_equal(info.skipped, 2);
	assert_int_equal(info.first_skipped, 1);
	assert_non_null(strstr(err_msg(), "allbad.txt: empty trace (all 2 "
	    "records skipped)"));
	assert_int_equal(t.n, 0);
	trace_free(&t);
}

/* ---- CSV ---- */

static void
test_csv(void **state)
{
	/*
	 * lengths.csv: columns id, "title, with comma", input_length,
	 * output_length, num_tokens; record 3 has a quoted field across two
	 * lines, record 2 has " 7322 " and "490".
	 */
	static const uint32_t in[] = { 6758, 7322, 2290 };
	static const uint32_t out[] = { 500, 490, 316 };
	static const uint32_t sum[] = { 7258, 7812, 2606 };  /* in + out */
	const char *path = tutil_data("tests/data/trace/lengths.csv");
	struct trace t;

	trace_init(&t);
	read_ok(path, field("input_length"), &t, TRACE_FORMAT_CSV);
	expect_lens(&t, in, 3);
	read_ok(path, field("#4"), &t, TRACE_FORMAT_CSV);
	expect_lens(&t, out, 3);
	read_ok(path, field("input_length+#4"), &t, TRACE_FORMAT_CSV);
	expect_lens(&t, sum, 3);
	/* default: num_tokens is one of the default names */
	read_ok(path, NULL, &t, TRACE_FORMAT_CSV);
	expect_lens(&t, sum, 3);
	/* a single column is the default whatever its name; CRLF endings */
	read_ok(tutil_put("one.csv", "tokens_used\r\n347\r\n\"10919\"\r\n"),
	    NULL, &t, TRACE_FORMAT_CSV);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.len[0], 347);
	assert_int_equal(t.len[1], 10919);
	trace_free(&t);
}

static void
test_csv_bad(void **state)
{
	const char *path = tutil_data("tests/data/trace/lengths.csv");
	struct trace t;

	read_fails(path, field("foo"), SK_ERR_ARG, ": no column 'foo' (columns: "
	    "id, title, with comma, input_length, output_length, num_tokens)");
	read_fails(path, field("#6"), SK_ERR_ARG,
	    ": no column #6: the header has 5");
	/* the spec itself is wrong, whatever the file */
	trace_init(&t);
	assert_int_equal(trace_read(path, field("input_length++num_tokens"), &t,
	    NULL), SK_ERR_ARG);
	assert_string_equal(err_msg(),
	    "bad field 'input_length++num_tokens': empty term");
	read_fails(path, field("title, with comma"), SK_ERR_FORMAT,
	    ":2: column 'title, with comma': 'Hello, \"\"world\"\"' is not an "
	    "integer");
	read_fails(tutil_put("two.csv", "a,b\n347,10919\n"), NULL, SK_ERR_ARG,
	    ": several columns (a, b); choose one with --field");
	read_fails(tutil_put("nonint.csv", "x,len\n1,347\n2,abc\n"), NULL,
	    SK_ERR_FORMAT, ":3: column 'len': 'abc' is not an integer");
	read_fails(tutil_put("zero.csv", "len\n347\n0\n"), NULL, SK_ERR_RANGE,
	    ":3: column 'len': length 0 is not positive");
	read_fails(tutil_put("sum0.csv", "a,b\n347,1\n0,0\n"), field("a+b"),
	    SK_ERR_RANGE, ":3: a+b: length 0 is not positive");
	read_fails(tutil_put("sumbig.csv", "a,b\n2000000000,200000000\n"),
	    field("a+b"), SK_ERR_RANGE,
	    ":2: a+b: length 2200000000 exceeds 2147483647");
	read_fails(tutil_put("neg.csv", "a,b\n347,-5\n"), field("a+b"),
	    SK_ERR_RANGE, ":2: column 'b': -5 is negative");
	read_fails(tutil_put("fields.csv", "a,len\n1,347\n2,10919,3\n"), NULL,
	    SK_ERR_FORMAT, ":3: 3 fields, the header has 2");
	read_fails(tutil_put("quote.csv", "a,len\n1,347\n\"2,10919\n3,5\n"),
	    NULL, SK_ERR_FORMAT, ":3: unterminated quoted field");
	/* a header alone: said so, since line 1 was taken for it */
	read_fails(tutil_put("header.csv", "len\n"), NULL, SK_ERR_FORMAT,
	    ":1: a header and no records");
	/* a repeated name: which one is meant cannot be known */
	read_fails(tutil_put("twice.csv", "len,n,len\n347,1,5\n"), NULL,
	    SK_ERR_FORMAT, ":1: header: columns 1 and 3 are both named 'len' "
	    "(choose one with --field '#1')");
	read_fails(tutil_put("twice2.csv", "a,len,len\n1,347,5\n"),
	    field("a+len"), SK_ERR_FORMAT, ":1: header: columns 2 and 3 are "
	    "both named 'len' (choose one with --field '#2')");
}

/* ---- JSONL ---- */

static void
test_jsonl(void **state)
{
	/* lengths.jsonl: three objects, then a blank last line */
	static const uint32_t ids[] = { 3, 5, 7 };         /* input_ids */
	static const uint32_t meta[] = { 347, 10919, 1823777 };
	static const uint32_t sum[] = { 7258, 7812, 2606 };  /* 500.0 is integral */
	const char *path = tutil_data("tests/data/trace/lengths.jsonl");
	struct trace t;

	trace_init(&t);
	read_ok(path, NULL, &t, TRACE_FORMAT_JSONL);
	expect_lens(&t, ids, 3);
	read_ok(path, field("meta.tokens"), &t, TRACE_FORMAT_JSONL);
	expect_lens(&t, meta, 3);
	read_ok(path, field("input_length+output_length"), &t,
	    TRACE_FORMAT_JSONL);
	expect_lens(&t, sum, 3);
	read_ok(path, field("input_ids+meta.tokens"), &t, TRACE_FORMAT_JSONL);
	assert_int_equal(t.len[2], 1823784);  /* 7 + 1823777 */
	/* the default names come before input_ids */
	read_ok(tutil_put("d.jsonl",
	    "{\"input_ids\": [1], \"seq_len\": 2112}\n"), NULL, &t,
	    TRACE_FORMAT_JSONL);
	assert_int_equal(t.len[0], 2112);
	/* an escaped NUL in a string value is no length's concern; "\\\\"
	 * then "u0000" is a backslash and text, no NUL */
	read_ok(tutil_put("nulval.jsonl",
	    "{\"t\": \"a\\u0000b\", \"len\": 347}\n"
	    "{\"len\\\\u0000\": 1, \"len\": 5}\n"), NULL, &t,
	    TRACE_FORMAT_JSONL);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.len[0], 347);
	assert_int_equal(t.len[1], 5);
	trace_free(&t);
}

static void
test_jsonl_bad(void **state)
{
	/* cJSON places a fault at the end of the text on its last byte */
	read_fails(tutil_put("m.jsonl", "{\"len\": 347}\n{\"len\": 10919\n"),
	    NULL, SK_ERR_FORMAT, ":2: malformed JSON at column 13");
	read_fails(tutil_put("tail.jsonl", "{\"len\": 347} x\n"), NULL,
	    SK_ERR_FORMAT, ":1: malformed JSON at column 14");
	read_fails(tutil_put("arr.jsonl", "{\"len\": 347}\n[1, 2]\n"), NULL,
	    SK_ERR_FORMAT, ":2: not a JSON object");
	read_fails(tutil_put("nolen.jsonl", "{\"a\": 1, \"b\": {\"c\": 2}}\n"),
	    NULL, SK_ERR_ARG, ":1: no length field; choose one with --field "
	    "(fields: a, b)");
	read_fails(tutil_put("frac.jsonl",
	    "{\"len\": 347}\n{\"len\": 10919.5}\n"), NULL, SK_ERR_FORMAT,
	    ":2: field 'len': 10919.5 is not an integer");
	read_fails(tutil_put("str.jsonl", "{\"len\": \"347\"}\n"), NULL,
	    SK_ERR_FORMAT, ":1: field 'len' is a string; estimate its tokens "
	    "with --chars-per-token X (e.g. 4)");
	read_fails(tutil_put("big.jsonl", "{\"len\": 3e9}\n"), NULL,
	    SK_ERR_RANGE,
	    ":1: field 'len': length 3000000000 exceeds 2147483647");
	read_fails(tutil_put("empty.jsonl", "{\"ids\": []}\n"), field("ids"),
	    SK_ERR_RANGE, ":1: field 'ids': length 0 (array length) is not "
	    "positive");
	read_fails(tutil_put("path.jsonl",
	    "{\"a\": {\"b\": 347}}\n{\"a\": 5}\n"), field("a.b"), SK_ERR_FORMAT,
	    ":2: no field 'a.b'");
	read_fails(tutil_put("gap.jsonl", "{\"len\": 347}\n\n{\"len\": 5}\n"),
	    NULL, SK_ERR_FORMAT, ":2: empty line");
	/* a repeated key at every level of a path, not only its leaf */
	read_fails(tutil_put("dup1.jsonl",
	    "{\"a\": {\"b\": 347}, \"a\": {\"b\": 5}}\n"), field("a.b"),
	    SK_ERR_FORMAT, ":1: field 'a' appears twice");
	read_fails(tutil_put("dup2.jsonl",
	    "{\"a\": {\"b\": {\"c\": 1}, \"b\": 5}}\n"), field("a.b.c"),
	    SK_ERR_FORMAT, ":1: field 'a.b' appears twice");
	read_fails(tutil_put("dup3.jsonl",
	    "{\"a\": {\"b\": 347, \"b\": 5}}\n"), field("a.b"),
	    SK_ERR_FORMAT, ":1: field 'a.b' appears twice");
	/* the second term of a sum */
	read_fails(tutil_put("dup4.jsonl",
	    "{\"x\": 1, \"m\": {\"y\": 2}, \"m\": {}}\n"), field("x+m.y"),
	    SK_ERR_FORMAT, ":1: field 'm' appears twice");
	/* a key with an escaped NUL: cJSON would read "len\u0000gth" as
	 * "len", a default name; the key's quote is at column 2 */
	read_fails(tutil_put("nul.jsonl", "{\"len\\u0000gth\": 347}\n"), NULL,
	    SK_ERR_FORMAT, ":1: the key at column 2 holds a NUL (\\u0000), "
	    "which would cut it short");
	/* nested, after a string holding an escaped quote */
	read_fails(tutil_put("nul2.jsonl", "{\"len\": 347, \"t\": \"\\\"\", "
	    "\"m\": {\"k\\u0000\" : 1}}\n"), NULL, SK_ERR_FORMAT,
	    ":1: the key at column 31 holds a NUL (\\u0000), which would cut "
	    "it short");
}

static void
test_jsonl_long_line(void **state)
{
	/* one object whose array has 200000 elements ("7, " each: 600000
	 * bytes, far past one block and the initial line buffer) */
	const size_t n = 200000;
	char *s = malloc(n * 3 + 64), *p;
	struct trace t;
	size_t i;

	assert_non_null(s);
	p = s + sprintf(s, "{\"input_ids\": [");
	for (i = 0; i < n; i++)
		p += sprintf(p, i + 1 < n ? "7, " : "7");
	strcpy(p, "]}\n{\"input_ids\": [347]}\n");
	trace_init(&t);
	read_ok(tutil_put("long.jsonl", s), NULL, &t, TRACE_FORMAT_JSONL);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.len[0], 200000);
	assert_int_equal(t.len[1], 1);
	trace_free(&t);
	free(s);
}

/* ---- .npy ---- */

static void
test_npy_dtypes(void **state)
{
	static const uint32_t want[] = { 347, 10919, 1823777 };
	static const uint32_t want16[] = { 347, 10919, 40000 };
	/* 347 = 0x15b, 10919 = 0x2aa7, 1823777 = 0x1bd421, 40000 = 0x9c40 */
	static const unsigned char i4[] = {
		0x5b, 0x01, 0, 0, 0xa7, 0x2a, 0, 0, 0x21, 0xd4, 0x1b, 0
	};
	static const unsigned char i8[] = {
		0x5b, 0x01, 0, 0, 0, 0, 0, 0, 0xa7, 0x2a, 0, 0, 0, 0, 0, 0,
		0x21, 0xd4, 0x1b, 0, 0, 0, 0, 0
	};
	static const unsigned char u2[] = { 0x5b, 0x01, 0xa7, 0x2a, 0x40, 0x9c };
	unsigned char b[512];
	struct trace t;
	size_t n;

	trace_init(&t);
	n = npy_bytes(b, 1, "{'descr': '<i4', 'fortran_order': False, "
	    "'shape': (3,), }", i4, sizeof i4);
	read_ok(tutil_put_bytes("i4.npy", b, n), NULL, &t, TRACE_FORMAT_NPY);
	expect_lens(&t, want, 3);
	n = npy_bytes(b, 1, "{'descr': '<u4', 'fortran_order': False, "
	    "'shape': (3,), }", i4, sizeof i4);
	read_ok(tutil_put_bytes("u4.npy", b, n), NULL, &t, TRACE_FORMAT_NPY);
	expect_lens(&t, want, 3);
	n = npy_bytes(b, 1, "{'descr': '<i8', 'fortran_order': False, "
	    "'shape': (3,), }", i8, sizeof i8);
	read_ok(tutil_put_bytes("i8.npy", b, n), NULL, &t, TRACE_FORMAT_NPY);
	expect_lens(&t, want, 3);
	/* keys in another order, double quotes, '=' byte order */
	n = npy_bytes(b, 1, "{\"shape\": (3,), \"fortran_order\": True, "
	    "\"descr\": \"=u8\"}", i8, sizeof i8);
	read_ok(tutil_put_bytes("u8.npy", b, n), NULL, &t, TRACE_FORMAT_NPY);
	expect_lens(&t, want, 3);
	n = npy_bytes(b, 1, "{'descr': '<u2', 'fortran_order': False, "
	    "'shape': (3,), }", u2, sizeof u2);
	read_ok(tutil_put_bytes("u2.npy", b, n), NULL, &t, TRACE_FORMAT_NPY);
	expect_lens(&t, want16, 3);
	/* version 2.0 (4-byte header length), shape (3, 1) and (3) */
	n = npy_bytes(b, 2, "{'descr': '<i4', 'fortran_order': False, "
	    "'shape': (3, 1), }", i4, sizeof i4);
	read_ok(tutil_put_bytes("v2.npy", b, n), NULL, &t, TRACE_FORMAT_NPY);
	expect_lens(&t, want, 3);
	n = npy_bytes(b, 3, "{'descr': '<i4', 'fortran_order': False, "
	    "'shape': (1, 3), }", i4, sizeof i4);
	read_ok(tutil_put_bytes("v3.npy", b, n), NULL, &t, TRACE_FORMAT_NPY);
	expect_lens(&t, want, 3);
	n = npy_bytes(b, 1, "{'descr': '<i4', 'fortran_order': False, "
	    "'shape': (3), }", i4, sizeof i4);
	read_ok(tutil_put_bytes("paren.npy", b, n), NULL, &t, TRACE_FORMAT_NPY);
	expect_lens(&t, want, 3);
	/* gzip-compressed */
	read_ok(put_gz("i4.npy.gz", b, n), NULL, &t, TRACE_FORMAT_NPY);
	expect_lens(&t, want, 3);
	trace_free(&t);
}

static void
test_npy_bad(void **state)
{
	/* 347, 0, 1823777 as <i4; the second is bad */
	static const unsigned char zero[] = {
		0x5b, 0x01, 0, 0, 0, 0, 0, 0, 0x21, 0xd4, 0x1b, 0
	};
	/* 347, 10919, 1823777 */
	static const unsigned char good[] = {
		0x5b, 0x01, 0, 0, 0xa7, 0x2a, 0, 0, 0x21, 0xd4, 0x1b, 0
	};
	/* 2^32 - 1 as <u4 */
	static const unsigned char ffff[] = { 0xff, 0xff, 0xff, 0xff };
	struct trace_read_opts skip = { .skip_bad = 1 };
	struct trace_read_info info;
	unsigned char b[512];
	struct trace t;
	size_t n;

	/* declared header length 118, but the file stops 40 bytes into it */
	n = npy_bytes(b, 1, "{'descr': '<u4', 'fortran_order': False, "
	    "'shape': (3,), }", NULL, 0);
	read_fails(tutil_put_bytes("trunc.npy", b, 50), NULL, SK_ERR_FORMAT,
	    ": byte 50: truncated header: 118 bytes declared, 40 present");
	read_fails(tutil_put_bytes("short.npy", b, 7), NULL, SK_ERR_FORMAT,
	    ": byte 7: truncated header");
	n = npy_bytes(b, 1, "{'descr': '<f8', 'fortran_order': False, "
	    "'shape': (3,), }", NULL, 0);
	read_fails(tutil_put_bytes("f8.npy", b, n), NULL, SK_ERR_UNSUPPORTED,
	    ": byte 10: dtype '<f8' is not supported (need int32, int64, "
	    "uint16, uint32 or uint64)");
	n = npy_bytes(b, 1, "{'descr': '>i4', 'fortran_order': False, "
	    "'shape': (3,), }", NULL, 0);
	read_fails(tutil_put_bytes("be.npy", b, n), NULL, SK_ERR_UNSUPPORTED,
	    ": byte 10: big-endian dtype '>i4' is not supported");
	n = npy_bytes(b, 1, "{'descr': '<i4', 'fortran_order': False, "
	    "'shape': (3, 2), }", NULL, 0);
	read_fails(tutil_put_bytes("2d.npy", b, n), NULL, SK_ERR_UNSUPPORTED,
	    ": byte 10: shape (3, 2) is not supported: need a 1-D array");
	n = npy_bytes(b, 1, "{'descr': '<i4', 'fortran_order': False, "
	    "'shape': (), }", NULL, 0);
	read_fails(tutil_put_bytes("0d.npy", b, n), NULL, SK_ERR_UNSUPPORTED,
	    ": byte 10: shape () is not supported: need a 1-D array");
	n = npy_bytes(b, 1, "{'descr': '<i4', 'fortran_order': False, "
	    "'shape': (1, 1, 1, 1, 3), }", NULL, 0);
	read_fails(tutil_put_bytes("5d.npy", b, n), NULL, SK_ERR_UNSUPPORTED,
	    ": byte 10: shape (1, 1, 1, 1, ...) is not supported: need a 1-D "
	    "array");
	/* numpy refuses any key but the three; the 'x' at header offset 1 */
	n = npy_bytes(b, 1, "{'x': 1, 'descr': '<i4', 'fortran_order': False, "
	    "'shape': (3,), }", NULL, 0);
	read_fails(tutil_put_bytes("key.npy", b, n), NULL, SK_ERR_FORMAT,
	    ": byte 11: .npy header has an unknown key 'x'");
	n = npy_bytes(b, 1, "{'descr': 'X<i4', 'fortran_order': False, "
	    "'shape': (3,), }", NULL, 0);
	read_fails(tutil_put_bytes("odd.npy", b, n), NULL, SK_ERR_UNSUPPORTED,
	    ": byte 10: dtype 'X<i4' is not supported (need int32, int64, "
	    "uint16, uint32 or uint64)");
	n = npy_bytes(b, 1, "{'descr': '<i4', 'fortran_order': False}", NULL,
	    0);
	read_fails(tutil_put_bytes("noshape.npy", b, n), NULL, SK_ERR_FORMAT,
	    ": byte 10: .npy header lacks 'shape'");
	n = npy_bytes(b, 1, "{'descr': '<i4', 'fortran_order': Maybe, "
	    "'shape': (3,), }", NULL, 0);
	/* the fault: 'M' at header offset 34 */
	read_fails(tutil_put_bytes("bool.npy", b, n), NULL, SK_ERR_FORMAT,
	    ": byte 44: malformed .npy header");
	/* 10^15 values claimed, 3 present: 128 + 12 bytes in all; the size
	 * is checked before any reading or allocation */
	n = npy_bytes(b, 1, "{'descr': '<u4', 'fortran_order': False, "
	    "'shape': (1000000000000000,), }", good, sizeof good);
	assert_int_equal(n, 140);
	read_fails(tutil_put_bytes("claim.npy", b, n), NULL, SK_ERR_FORMAT,
	    ": truncated: expected 4000000000000128 bytes (header: "
	    "1000000000000000 values of 4 bytes from byte 128), file has 140");
	/* 2^62 values of 8 bytes: more bytes than 64 bits count */
	n = npy_bytes(b, 1, "{'descr': '<u8', 'fortran_order': False, "
	    "'shape': (4611686018427387904,), }", NULL, 0);
	read_fails(tutil_put_bytes("wrap.npy", b, n), NULL, SK_ERR_FORMAT,
	    ": truncated: expected more than 18446744073709551615 bytes "
	    "(header: 4611686018427387904 values of 8 bytes from byte 128), "
	    "file has 128");
	/* 2 values declared, 3 present: the third starts at 128 + 8 */
	n = npy_bytes(b, 1, "{'descr': '<i4', 'fortran_order': False, "
	    "'shape': (2,), }", good, sizeof good);
	read_fails(tutil_put_bytes("extra.npy", b, n), NULL, SK_ERR_FORMAT,
	    ": trailing data at byte 136 (header: 2 values of 4 bytes from "
	    "byte 128; file has 140 bytes)");
	/* the same through gzip, found as it is read */
	read_fails(put_gz("extra.npy.gz", b, n), NULL, SK_ERR_FORMAT,
	    ": trailing data at byte 136 (header: 2 values of 4 bytes from "
	    "byte 128)");
	n = npy_bytes(b, 1, "{'descr': '<i4', 'fortran_order': False, "
	    "'shape': (3,), }", good, sizeof good - 2);
	read_fails(tutil_put_bytes("half.npy", b, n), NULL, SK_ERR_FORMAT,
	    ": truncated: expected 140 bytes (header: 3 values of 4 bytes "
	    "from byte 128), file has 138");
	read_fails(put_gz("half.npy.gz", b, n), NULL, SK_ERR_FORMAT,
	    ": byte 138: truncated: expected 140 bytes (header: 3 values of 4 "
	    "bytes from byte 128), data ends there");
	/* a repeated key (Python would keep the last): the second 'descr'
	 * at header offset 17 */
	n = npy_bytes(b, 1, "{'descr': '<u4', 'descr': '<f8', 'fortran_order': "
	    "False, 'shape': (3,), }", good, sizeof good);
	read_fails(tutil_put_bytes("twice.npy", b, n), NULL, SK_ERR_FORMAT,
	    ": byte 27: .npy header has 'descr' twice");
	n = npy_bytes(b, 1, "{'descr': '<i4', 'fortran_order': False, "
	    "'shape': (3,), }", zero, sizeof zero);
	read_fails(tutil_put_bytes("zero.npy", b, n), NULL, SK_ERR_RANGE,
	    ": record 2: length 0 is not positive");
	n = npy_bytes(b, 1, "{'descr': '<u4', 'fortran_order': False, "
	    "'shape': (1,), }", ffff, sizeof ffff);
	read_fails(tutil_put_bytes("ffff.npy", b, n), NULL, SK_ERR_RANGE,
	    ": record 1: length 4294967295 exceeds 2147483647");
	/* 3 declared, 1 present (-1 as <i4): the truncation is the error,
	 * in a file by its size and in a stream before the value */
	n = npy_bytes(b, 1, "{'descr': '<i4', 'fortran_order': False, "
	    "'shape': (3,), }", ffff, sizeof ffff);
	read_fails(tutil_put_bytes("m1.npy", b, n), NULL, SK_ERR_FORMAT,
	    ": truncated: expected 140 bytes (header: 3 values of 4 bytes "
	    "from byte 128), file has 132");
	read_fails(put_gz("m1.npy.gz", b, n), NULL, SK_ERR_FORMAT,
	    ": byte 132: truncated: expected 140 bytes (header: 3 values of 4 "
	    "bytes from byte 128), data ends there");
	n = npy_bytes(b, 1, "{'descr': '<i4', 'fortran_order': False, "
	    "'shape': (1,), }", ffff, sizeof ffff);
	read_fails(put_gz("m1.npy.gz", b, n), NULL, SK_ERR_RANGE,
	    ": record 1: length -1 is not positive");

	/* skip_bad: record 2 is dropped, counted by record number */
	n = npy_bytes(b, 1, "{'descr': '<i4', 'fortran_order': False, "
	    "'shape': (3,), }", zero, sizeof zero);
	trace_init(&t);
	assert_int_equal(trace_read(tutil_put_bytes("zero.npy", b, n), &skip,
	    &t, &info), SK_OK);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.len[1], 1823777);
	assert_int_equal(info.skipped, 1);
	assert_int_equal(info.first_skipped, 2);
	trace_free(&t);
}

/* ---- .idx ---- */

static void
test_idx(void **state)
{
	static const int32_t len[] = { 347, 10919, 1823777 };
	unsigned char b[256];
	struct trace t;
	size_t n;

	/* 34 + 3 * 4 + 3 * 8 + 4 * 8 = 102 bytes */
	n = idx_bytes(b, 1, 4, len, 3, 3);
	assert_int_equal(n, 102);
	trace_init(&t);
	read_ok(tutil_put_bytes("a.idx", b, n), NULL, &t, TRACE_FORMAT_IDX);
	expect_lens(&t, (const uint32_t *)len, 3);
	read_ok(put_gz("a.idx.gz", b, n), NULL, &t, TRACE_FORMAT_IDX);
	expect_lens(&t, (const uint32_t *)len, 3);
	/* multimodal: one int8 mode per sequence after the indices */
	memset(b + n, 1, 3);
	read_ok(tutil_put_bytes("mm.idx", b, n + 3), NULL, &t,
	    TRACE_FORMAT_IDX);
	expect_lens(&t, (const uint32_t *)len, 3);
	read_ok(put_gz("mm.idx.gz", b, n + 3), NULL, &t, TRACE_FORMAT_IDX);
	expect_lens(&t, (const uint32_t *)len, 3);
	trace_free(&t);
}

static void
test_idx_bad(void **state)
{
	static const int32_t len[] = { 347, 10919, 1823777 };
	static const int32_t zero[] = { 347, 0, -5 };
	unsigned char b[256];
	size_t n;

	n = idx_bytes(b, 1, 4, len, 3, 3);
	b[3] = 'X';
	read_fails(tutil_put_bytes("magic.idx", b, n),
	    &(struct trace_read_opts){ .format = TRACE_FORMAT_IDX },
	    SK_ERR_FORMAT, ": byte 0: bad magic: not a Megatron-LM .idx file");
	n = idx_bytes(b, 2, 4, len, 3, 3);
	read_fails(tutil_put_bytes("version.idx", b, n), NULL,
	    SK_ERR_UNSUPPORTED,
	    ": byte 9: .idx version 2 is not supported (need 1)");
	n = idx_bytes(b, 1, 9, len, 3, 3);
	read_fails(tutil_put_bytes("dtype.idx", b, n), NULL, SK_ERR_FORMAT,
	    ": byte 17: bad dtype code 9 (need 1 to 8)");
	read_fails(tutil_put_bytes("hdr.idx", b, 20), NULL, SK_ERR_FORMAT,
	    ": byte 20: truncated header (34 bytes needed)");
	/* 3 sequences claimed, the file ends after 2 lengths (34 + 8);
	 * whole, 34 + 3 x 4 + 3 x 8 + 4 x 8 = 102 */
	n = idx_bytes(b, 1, 4, len, 3, 3);
	read_fails(tutil_put_bytes("trunc.idx", b, 42), NULL, SK_ERR_FORMAT,
	    ": truncated: expected 102 bytes (header: 3 sequences, 4 "
	    "documents), file has 42");
	read_fails(put_gz("trunc.idx.gz", b, 42), NULL, SK_ERR_FORMAT,
	    ": byte 42: truncated: expected 102 bytes (header: 3 sequences, 4 "
	    "documents), data ends there");
	/* 4 claimed of 3: 34 + 4 x (4 + 8) + 4 x 8 = 114; the 4th "length"
	 * would have been the first pointer, 0 */
	n = idx_bytes(b, 1, 4, len, 3, 4);
	read_fails(tutil_put_bytes("more.idx", b, n), NULL, SK_ERR_FORMAT,
	    ": truncated: expected 114 bytes (header: 4 sequences, 4 "
	    "documents), file has 102");
	read_fails(put_gz("more.idx.gz", b, n), NULL, SK_ERR_FORMAT,
	    ": byte 102: truncated: expected 114 bytes (header: 4 sequences, "
	    "4 documents), data ends there");
	/* 2 claimed of 3: the layout ends at 34 + 2 x (4 + 8) + 4 x 8 = 90
	 * (92 with modes), the file at 102; the third length was lost */
	n = idx_bytes(b, 1, 4, len, 3, 2);
	read_fails(tutil_put_bytes("fewer.idx", b, n), NULL, SK_ERR_FORMAT,
	    ": trailing data at byte 90 (header: 2 sequences, 4 documents; "
	    "file has 102 bytes)");
	read_fails(put_gz("fewer.idx.gz", b, n), NULL, SK_ERR_FORMAT,
	    ": trailing data at byte 90 (header: 2 sequences, 4 documents)");
	n = idx_bytes(b, 1, 4, zero, 3, 3);
	read_fails(tutil_put_bytes("zero.idx", b, n), NULL, SK_ERR_RANGE,
	    ": record 2: length 0 is not positive");
	read_fails(put_gz("zero.idx.gz", b, n), NULL, SK_ERR_RANGE,
	    ": record 2: length 0 is not positive");
}

/* ---- gzip, detection, stdin ---- */

static void
test_gzip(void **state)
{
	static const uint32_t want[] = { 347, 10919, 1823777 };
	static const char plain[] = "347\n10919\n1823777\n";
	static const char csv[] = "n,len\n1,347\n2,10919\n3,1823777\n";
	static const char jsonl[] = "{\"len\": 347}\n{\"len\": 10919}\n"
	    "{\"len\": 1823777}\n";
	unsigned char b[512];
	const char *path;
	struct trace t;
	char msg[256];
	size_t n;

	trace_init(&t);
	read_ok(put_gz("a.txt.gz", plain, strlen(plain)), NULL, &t,
	    TRACE_FORMAT_PLAIN);
	expect_lens(&t, want, 3);
	read_ok(put_gz("a.csv.gz", csv, strlen(csv)), NULL, &t,
	    TRACE_FORMAT_CSV);
	expect_lens(&t, want, 3);
	read_ok(put_gz("a.jsonl.gz", jsonl, strlen(jsonl)), NULL, &t,
	    TRACE_FORMAT_JSONL);
	expect_lens(&t, want, 3);

	/* corrupt the deflate data of the one member, at byte 0 */
	path = put_gz("bad.gz", plain, strlen(plain));
	n = slurp(path, b, sizeof b);
	memset(b + 10, 0xff, 6);
	path = tutil_put_bytes("bad.gz", b, n);
	assert_int_equal(trace_read(path, NULL, &t, NULL), SK_ERR_FORMAT);
	assert_int_equal(t.n, 0);
	assert_non_null(strstr(err_msg(),
	    "bad.gz: corrupt gzip member at byte 0: "));
	/* cut the gzip stream short: all 18 bytes of plain come out before
	 * the trailer (8 bytes) is missed */
	path = put_gz("cut.gz", plain, strlen(plain));
	n = slurp(path, b, sizeof b);
	path = tutil_put_bytes("cut.gz", b, n - 6);
	snprintf(msg, sizeof msg, ": truncated gzip member at byte 0: the "
	    "file ends at byte %zu (after 18 bytes of data)", n - 6);
	read_fails(path, NULL, SK_ERR_FORMAT, msg);
	trace_free(&t);
}

/* The bytes of a gzip member of text, appended to b at *n. */
static void
add_member(unsigned char *b, size_t *n, const char *text)
{
	*n += slurp(put_gz("member.gz", text, strlen(text)), b + *n, 256);
}

static void
test_gzip_members(void **state)
{
	static const uint32_t want[] = { 347, 10919, 1823777, 5 };
	unsigned char b[1024];
	struct trace t;
	size_t n = 0, first;
	char msg[256];

	/* three members, the middle one empty (gzip < /dev/null): all read */
	add_member(b, &n, "347\n10919\n");
	first = n;
	add_member(b, &n, "");
	add_member(b, &n, "1823777\n5\n");
	trace_init(&t);
	read_ok(tutil_put_bytes("three.gz", b, n), NULL, &t, TRACE_FORMAT_PLAIN);
	expect_lens(&t, want, 4);
	trace_free(&t);

	/* text after the first member: gzread skipped it without a word */
	n = 0;
	add_member(b, &n, "347\n10919\n");
	memcpy(b + n, "1823777\n", 8);
	snprintf(msg, sizeof msg, ": trailing data at byte %zu (not a gzip "
	    "member; 10 bytes of data before it)", first);
	read_fails(tutil_put_bytes("trail.gz", b, n + 8), NULL, SK_ERR_FORMAT,
	    msg);
	/* zeros, as a tape or block device pads */
	memset(b + n, 0, 512);
	read_fails(tutil_put_bytes("zeros.gz", b, n + 512), NULL,
	    SK_ERR_FORMAT, msg);
	/* one byte of a second member's magic */
	read_fails(tutil_put_bytes("magic1.gz", b, n + 1), NULL, SK_ERR_FORMAT,
	    msg);
	/* a second member whose magic is damaged: trailing data, not lost */
	add_member(b, &n, "1823777\n5\n");
	b[first + 1] = 0x8c;
	read_fails(tutil_put_bytes("magic.gz", b, n), NULL, SK_ERR_FORMAT, msg);
	/* a second member whose compression method is not deflate */
	b[first + 1] = 0x8b;
	b[first + 2] = 7;
	snprintf(msg, sizeof msg, ": corrupt gzip member at byte %zu: unknown "
	    "compression method (after 10 bytes of data)", first);
	read_fails(tutil_put_bytes("method.gz", b, n), NULL, SK_ERR_FORMAT, msg);
	/* the second member cut inside its header */
	b[first + 2] = 8;
	snprintf(msg, sizeof msg, ": truncated gzip member at byte %zu: the "
	    "file ends at byte %zu (after 10 bytes of data)", first, first + 5);
	read_fails(tutil_put_bytes("hdr2.gz", b, first + 5), NULL,
	    SK_ERR_FORMAT, msg);
}

static void
test_detect(void **state)
{
	struct trace_read_opts o = { .format = TRACE_FORMAT_CSV };
	struct trace t;

	trace_init(&t);
	/* blank lines before the first value are reported, not a header */
	read_fails(tutil_put("lead.txt", "\n347\n"), NULL, SK_ERR_FORMAT,
	    ":1: empty line");
	/* a first line of one number with blanks is plain */
	read_ok(tutil_put("sp.txt", " \t347 \r\n10919\r\n"), NULL, &t,
	    TRACE_FORMAT_PLAIN);
	assert_int_equal(t.n, 2);
	/* a UTF-8 byte order mark before a CSV header */
	read_ok(tutil_put("bom.csv", "\xef\xbb\xbflen\n347\n"), NULL, &t,
	    TRACE_FORMAT_CSV);
	assert_int_equal(t.len[0], 347);
	/* whitespace before '{' is JSONL */
	read_ok(tutil_put("ws.jsonl", "  {\"len\": 10919}\n"), NULL, &t,
	    TRACE_FORMAT_JSONL);
	/* a number-like first line is data, with the error line 2 would get
	 * (it was taken for a CSV header, and a sample vanished) */
	read_fails(tutil_put("f.txt", "3.7\n347\n"), NULL, SK_ERR_FORMAT,
	    ":1: '3.7' is not an integer");
	read_fails(tutil_put("f2.txt", "347\n3.7\n"), NULL, SK_ERR_FORMAT,
	    ":2: '3.7' is not an integer");
	read_fails(tutil_put("x.txt", "0x10\n347\n"), NULL, SK_ERR_FORMAT,
	    ":1: '0x10' is not an integer");
	read_fails(tutil_put("e.txt", "1e3\n347\n"), NULL, SK_ERR_FORMAT,
	    ":1: '1e3' is not an integer");
	read_fails(tutil_put("d.txt", ".5\n347\n"), NULL, SK_ERR_FORMAT,
	    ":1: '.5' is not an integer");
	read_fails(tutil_put("nan.txt", "NaN\n347\n"), NULL, SK_ERR_FORMAT,
	    ":1: 'NaN' is not an integer");
	read_fails(tutil_put("inf.txt", "-Infinity\n347\n"), NULL,
	    SK_ERR_FORMAT, ":1: '-Infinity' is not an integer");
	read_fails(tutil_put("pair.txt", "5,6\n7,8\n"), NULL, SK_ERR_FORMAT,
	    ":1: '5,6' is not an integer");
	/* no letter: no column name */
	read_fails(tutil_put("dash.txt", "-\n347\n"), NULL, SK_ERR_FORMAT,
	    ":1: '-' is not an integer");
	/* a name over a column that is no number below it proves nothing */
	read_fails(tutil_put("word.txt", "len\nabc\n347\n"), NULL,
	    SK_ERR_FORMAT, ":1: 'len' is not an integer");
	/* a name over a number: a header, in whichever column */
	read_ok(tutil_put("col2.csv", "id,len\nx,347\n"), NULL, &t,
	    TRACE_FORMAT_CSV);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.len[0], 347);
	read_ok(tutil_put("utf8.csv",
	    "\xe9\x95\xbf\xe5\xba\xa6\n347\n10919\n"), NULL, &t,
	    TRACE_FORMAT_CSV);
	assert_int_equal(t.n, 2);
	/* a forced format wins: "347" is then the header */
	read_ok(tutil_put("forced.txt", "347\n10919\n"), &o, &t,
	    TRACE_FORMAT_CSV);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.len[0], 10919);
	o.format = TRACE_FORMAT_NPY;
	read_fails(tutil_put("notnpy.txt", "347\n"), &o, SK_ERR_FORMAT,
	    ": byte 0: bad magic: not a .npy file");
	trace_free(&t);
}

static void
test_stdin(void **state)
{
	static const uint32_t want[] = { 347, 10919, 1823777 };
	const char *path = tutil_put("in.txt", "347\n10919\n1823777\n");
	struct trace t;
	int fd, saved;

	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	saved = dup(0);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, 0), 0);
	close(fd);
	trace_init(&t);
	read_ok("-", NULL, &t, TRACE_FORMAT_PLAIN);
	expect_lens(&t, want, 3);
	/* stdin stays open (at its end): the second read is empty */
	assert_int_equal(trace_read("-", NULL, &t, NULL), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "<stdin>: empty trace");
	assert_int_equal(dup2(saved, 0), 0);
	close(saved);
	trace_free(&t);
}

/* ---- hostile inputs that are read, and read right ---- */

/* Read path while a child writes p[0..n) into it (a FIFO). */
static void
read_fifo(const char *path, const void *p, size_t n, struct trace *t,
          enum trace_format fmt)
{
	pid_t pid;
	int fd, st;

	assert_int_equal(mkfifo(path, 0600), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fd = open(path, O_WRONLY);
		_exit(fd >= 0 && write(fd, p, n) == (ssize_t)n ? 0 : 1);
	}
	read_ok(path, NULL, t, fmt);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	unlink(path);
}

static void
test_hostile_ok(void **state)
{
	static const uint32_t want[] = { 5, 7, 2147483647 };
	static const int32_t len[] = { 347, 10919, 1823777 };
	static const char plain[] = "347\n10919\n1823777\n";
	unsigned char b[512];
	char *hdr;
	struct trace t;
	size_t n;

	trace_init(&t);
	/* a sign, leading zeros, the largest length */
	read_ok(tutil_put("forms.txt", "+5\n007\n2147483647\n"), NULL, &t,
	    TRACE_FORMAT_PLAIN);
	expect_lens(&t, want, 3);
	/* a BOM, CRLF and blank lines (CRLF too) at the end */
	read_ok(tutil_put("bom.txt", "\xef\xbb\xbf+5\r\n007\r\n"
	    "2147483647\r\n\r\n \r\n"), NULL, &t, TRACE_FORMAT_PLAIN);
	expect_lens(&t, want, 3);
	read_ok(tutil_put("bom.csv", "\xef\xbb\xbf\"len\"\r\n5\r\n7\r\n"
	    "2147483647\r\n\r\n"), NULL, &t, TRACE_FORMAT_CSV);
	expect_lens(&t, want, 3);
	read_ok(tutil_put("bom.jsonl", "\xef\xbb\xbf{\"len\": 5.0}\r\n"
	    "{\"len\": 7e0}\r\n{\"len\": 2.147483647e9}\r\n"), NULL, &t,
	    TRACE_FORMAT_JSONL);
	expect_lens(&t, want, 3);
	/* quoted commas, in the header and in a record */
	read_ok(tutil_put("quoted.csv", "\"a, b\",len\nx,5\n\"y, z, w\",7\n"
	    "q,2147483647\n"), NULL, &t, TRACE_FORMAT_CSV);
	expect_lens(&t, want, 3);
	/* a header longer than the first block (64 KiB): detection sees
	 * only its names, and the header is still one */
	hdr = malloc(70000 + 32);
	assert_non_null(hdr);
	memset(hdr, 'a', 70000);
	strcpy(hdr + 70000, ",len\nx,5\nx,7\nx,2147483647\n");
	read_ok(tutil_put("wide.csv", hdr), NULL, &t, TRACE_FORMAT_CSV);
	expect_lens(&t, want, 3);
	free(hdr);
	/* a FIFO: no size to check, streamed like standard input */
	read_fifo(tutil_path("fifo.txt"), plain, strlen(plain), &t,
	    TRACE_FORMAT_PLAIN);
	expect_lens(&t, (const uint32_t *)len, 3);
	n = idx_bytes(b, 1, 4, len, 3, 3);
	read_fifo(tutil_path("fifo.idx"), b, n, &t, TRACE_FORMAT_IDX);
	expect_lens(&t, (const uint32_t *)len, 3);
	trace_free(&t);
}

/* ---- writers ---- */

static void
roundtrip(const char *name, enum trace_format fmt, enum trace_format want)
{
	static const uint32_t len[] = { 347, 10919, 1823777, 2147483647, 1 };
	struct trace t, u;

	tutil_trace(&t, len, 5);
	trace_init(&u);
	if (trace_write(tutil_path(name), fmt, &t) != SK_OK)
		fail_msg("%s", err_msg());
	read_ok(tutil_path(name), NULL, &u, want);
	expect_lens(&u, len, 5);
	trace_free(&t);
	trace_free(&u);
}

static void
test_write_roundtrip(void **state)
{
	unsigned char b[64];

	roundtrip("w.txt", TRACE_FORMAT_AUTO, TRACE_FORMAT_PLAIN);
	roundtrip("w.csv", TRACE_FORMAT_AUTO, TRACE_FORMAT_CSV);
	roundtrip("w.npy", TRACE_FORMAT_AUTO, TRACE_FORMAT_NPY);
	roundtrip("w.txt.gz", TRACE_FORMAT_AUTO, TRACE_FORMAT_PLAIN);
	roundtrip("w.csv.gz", TRACE_FORMAT_AUTO, TRACE_FORMAT_CSV);
	roundtrip("w.npy.gz", TRACE_FORMAT_AUTO, TRACE_FORMAT_NPY);
	roundtrip("w.dat", TRACE_FORMAT_CSV, TRACE_FORMAT_CSV);
	/* the bytes: the CSV header, the gzip magic */
	assert_int_equal(slurp(tutil_path("w.csv"), b, sizeof b), 38);
	assert_memory_equal(b, "length\n347\n10919\n1823777\n2147483647\n1\n",
	    38);
	slurp(tutil_path("w.csv.gz"), b, sizeof b);
	assert_int_equal(b[0], 0x1f);
	assert_int_equal(b[1], 0x8b);
	assert_int_equal(slurp(tutil_path("w.txt"), b, sizeof b), 31);
	assert_memory_equal(b, "347\n10919\n1823777\n2147483647\n1\n", 31);
}

static void
test_write_npy_bytes(void **state)
{
	/*
	 * numpy.save(f, numpy.array([347, 10919, 1823777], dtype='<u4')):
	 * "\x93NUMPY", version 1 0, header length 118 (0x76 0x00), the dict
	 * "{'descr': '<u4', 'fortran_order': False, 'shape': (3,), }"
	 * (57 bytes), 60 spaces and '\n', so 10 + 118 = 128 bytes of header;
	 * then 0x15b, 0x2aa7, 0x1bd421 little-endian.
	 */
	static const char dict[] =
	    "{'descr': '<u4', 'fortran_order': False, 'shape': (3,), }";
	static const unsigned char data[] = {
		0x5b, 0x01, 0, 0, 0xa7, 0x2a, 0, 0, 0x21, 0xd4, 0x1b, 0
	};
	unsigned char want[140], got[256];
	struct trace t;

	memcpy(want, "\x93NUMPY\x01\x00\x76\x00", 10);
	assert_int_equal(sizeof dict - 1, 57);
	memcpy(want + 10, dict, 57);
	memset(want + 67, ' ', 60);
	want[127] = '\n';
	memcpy(want + 128, data, 12);
	trace_init(&t);
	assert_int_equal(trace_push(&t, 347), SK_OK);
	assert_int_equal(trace_push(&t, 10919), SK_OK);
	assert_int_equal(trace_push(&t, 1823777), SK_OK);
	assert_int_equal(trace_write(tutil_path("b.bin"), TRACE_FORMAT_NPY, &t),
	    SK_OK);
	assert_int_equal(slurp(tutil_path("b.bin"), got, sizeof got), 140);
	assert_memory_equal(got, want, 140);
	trace_free(&t);
}

static void
test_write_bad(void **state)
{
	char dir[1024], path[1100], want[2300];
	struct trace t;

	trace_init(&t);
	assert_int_equal(trace_push(&t, 347), SK_OK);
	snprintf(dir, sizeof dir, "%s", tutil_path("wdir"));
	assert_int_equal(mkdir(dir, 0755), 0);

	/* no such directory */
	snprintf(path, sizeof path, "%s/none/out.txt", dir);
	assert_int_equal(trace_write(path, TRACE_FORMAT_AUTO, &t), SK_ERR_IO);
	snprintf(want, sizeof want, "%s: cannot create a temporary file: No "
	    "such file or directory", path);
	assert_string_equal(err_msg(), want);
	/* the target is a directory: refused before any temporary is made */
	snprintf(path, sizeof path, "%s/sub", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(trace_write(path, TRACE_FORMAT_PLAIN, &t), SK_ERR_IO);
	snprintf(want, sizeof want, "%s: is a directory", path);
	assert_string_equal(err_msg(), want);
	assert_int_equal(tutil_count_entries(dir), 1);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(rmdir(dir), 0);

	assert_int_equal(trace_write("-", TRACE_FORMAT_NPY, &t), SK_ERR_ARG);
	assert_int_equal(trace_write(tutil_path("x.jsonl"), TRACE_FORMAT_JSONL,
	    &t), SK_ERR_UNSUPPORTED);
	trace_free(&t);
}


/* ---- Hugging Face shapes: arrays in fields, text, JSON arrays ---- */

static const struct trace_read_opts *
field_cpt(const char *spec, double cpt)
{
	static struct trace_read_opts o;

	memset(&o, 0, sizeof o);
	o.field = spec;
	o.chars_per_token = cpt;
	return &o;
}

static void
test_field_arrays(void **state)
{
	struct trace_read_info info;
	const char *chat, *p;
	struct trace t;

	trace_init(&t);
	chat = tutil_put("chat.jsonl",
	    "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, "
	    "{\"role\": \"assistant\", \"content\": \"hello\"}]}\n");
	/* turns are not tokens: refused with how to count them */
	read_fails(chat, field("messages"), SK_ERR_FORMAT,
	    ":1: field 'messages' is an array of 2 objects; say how to count "
	    "it, e.g. --field messages[].content --chars-per-token 4");
	/* without --field: the path to count a chat's text with */
	read_fails(chat, NULL, SK_ERR_ARG, ":1: no length field; choose one "
	    "with --field (fields: messages), e.g. --field messages[].content "
	    "--chars-per-token 4");
	read_fails(chat, field("messages[].content"), SK_ERR_FORMAT,
	    ":1: field 'messages[].content' (element 0) is a string; estimate "
	    "its tokens with --chars-per-token X (e.g. 4)");
	read_fails(tutil_put("strs.jsonl", "{\"texts\": [\"ab\", \"c\"]}\n"),
	    field("texts"), SK_ERR_FORMAT, ":1: field 'texts' is an array of 2 "
	    "strings; say how to count it, e.g. --field texts[] "
	    "--chars-per-token 4");
	/* the member hint: the first string member when there is no content */
	read_fails(tutil_put("conv.jsonl", "{\"conv\": [{\"n\": 1, \"value\": "
	    "\"x\"}]}\n"), field("conv"), SK_ERR_FORMAT, ":1: field 'conv' is "
	    "an array of 1 objects; say how to count it, e.g. --field "
	    "conv[].value --chars-per-token 4");
	/* an array of integers is a token list, as before: its length */
	read_ok(tutil_put("ids.jsonl", "{\"input_ids\": [101, 7592, 102]}\n"
	    "{\"input_ids\": [101, 102]}\n"), field("input_ids"), &t,
	    TRACE_FORMAT_JSONL);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.len[0], 3);
	assert_int_equal(t.len[1], 2);
	/* numbers summed over the elements: 347 + 10919 + 0 = 11266, then
	 * 5 + x 2 = 7 */
	p = tutil_put("turns.jsonl",
	    "{\"turns\": [{\"n\": 347}, {\"n\": 10919}, {\"n\": 0}], \"x\": 0}\n"
	    "{\"turns\": [{\"n\": 5}], \"x\": 2}\n");
	assert_int_equal(trace_read(p, field("turns[].n+x"), &t, &info), SK_OK);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.len[0], 11266);
	assert_int_equal(t.len[1], 7);
	assert_int_equal(info.estimated, 0);
	/* arrays of token lists: 3 + 2 */
	read_ok(tutil_put("ll.jsonl", "{\"c\": [{\"ids\": [1, 2, 3]}, {\"ids\": "
	    "[4, 5]}]}\n"), field("c[].ids"), &t, TRACE_FORMAT_JSONL);
	assert_int_equal(t.len[0], 5);
	read_fails(p, field("turns[].m"), SK_ERR_FORMAT,
	    ":1: element 0 of 'turns' has no 'm' (did you mean n?)");
	read_fails(p, field("x[].n"), SK_ERR_FORMAT,
	    ":1: field 'x' is a number, not an array");
	read_fails(tutil_put("neg.jsonl", "{\"a\": [{\"n\": 3}, {\"n\": -1}]}\n"),
	    field("a[].n"), SK_ERR_RANGE,
	    ":1: field 'a[].n' (element 1): -1 is negative");
	read_fails(tutil_put("mix.jsonl", "{\"a\": [1, 2, 3]}\n"), field("a[].n"),
	    SK_ERR_FORMAT, ":1: element 0 of 'a' is a number, not an object");
	/* a[] over numbers: their sum, 1 + 2 + 3 */
	read_ok(tutil_put("mix.jsonl", "{\"a\": [1, 2, 3]}\n"), field("a[]"), &t,
	    TRACE_FORMAT_JSONL);
	assert_int_equal(t.len[0], 6);
	/* an empty array sums to 0, which is no length */
	read_fails(tutil_put("e.jsonl", "{\"a\": []}\n"), field("a[].n"),
	    SK_ERR_RANGE, ":1: field 'a[].n': length 0 (summed over the array) "
	    "is not positive");
	p = tutil_path("turns.jsonl");
	assert_int_equal(trace_read(p, field("turns[]n"), &t, NULL),
	    SK_ERR_ARG);
	assert_string_equal(err_msg(), "bad field 'turns[]n': '[]' only once "
	    "in a term, at its end or before '.'");
	assert_int_equal(trace_read(p, field("a[].b[].c"), &t, NULL),
	    SK_ERR_ARG);
	assert_int_equal(trace_read(p, field("a[]."), &t, NULL), SK_ERR_ARG);
	assert_string_equal(err_msg(), "bad field 'a[].': empty key");
	trace_free(&t);
}

static void
test_chars_per_token(void **state)
{
	struct trace_read_info info;
	const char *p;
	struct trace t;

	trace_init(&t);
	/* code points, not bytes: "日本語のテキスト" is 8 code points in 24
	 * bytes: ceil(8 / 3) = 3 (bytes would give 8).  The second record's
	 * two contents are "héllo wörld", 11 code points in 13 bytes, and
	 * "😀 ok", 4 in 7: together 15, ceil(15 / 3) = 5 (each rounded up on
	 * its own would give 4 + 2 = 6, bytes ceil(20 / 3) = 7). */
	p = tutil_put("text.jsonl",
	    "{\"text\": \"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83"
	    "\x86\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88\", \"m\": [{\"content\": "
	    "\"x\"}]}\n"
	    "{\"text\": \"h\xc3\xa9llo w\xc3\xb6rld\", \"m\": [{\"content\": "
	    "\"h\xc3\xa9llo w\xc3\xb6rld\"}, {\"content\": \"\xf0\x9f\x98\x80 "
	    "ok\"}]}\n");
	assert_int_equal(trace_read(p, field_cpt("text", 3), &t, &info), SK_OK);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.len[0], 3);
	assert_int_equal(t.len[1], 4);  /* ceil(11 / 3) */
	assert_int_equal(info.estimated, 2);
	assert_int_equal(trace_read(p, field_cpt("m[].content", 3), &t, &info),
	    SK_OK);
	assert_int_equal(t.len[0], 1);  /* ceil(1 / 3) */
	assert_int_equal(t.len[1], 5);
	/* 7 chars at 0.7 per token are 10 tokens, though 7 / 0.7 is a hair
	 * above 10 in binary floating point */
	read_ok(tutil_put("seven.jsonl", "{\"t\": \"abcdefg\", \"n\": 5}\n"),
	    field_cpt("t", 0.7), &t, TRACE_FORMAT_JSONL);
	assert_int_equal(t.len[0], 10);
	/* estimates and numbers mix in a sum: ceil(7 / 2) + 5 = 9; without
	 * any string, nothing was estimated */
	assert_int_equal(trace_read(tutil_path("seven.jsonl"),
	    field_cpt("t+n", 2), &t, &info), SK_OK);
	assert_int_equal(t.len[0], 9);
	assert_int_equal(info.estimated, 1);
	assert_int_equal(trace_read(tutil_path("seven.jsonl"),
	    field_cpt("n", 2), &t, &info), SK_OK);
	assert_int_equal(info.estimated, 0);
	read_fails(tutil_put("empty.jsonl", "{\"t\": \"\"}\n"), field_cpt("t", 4),
	    SK_ERR_RANGE, ":1: field 't': length 0 (estimated from 0 chars) is "
	    "not positive");
	/* an escaped NUL would cut the string, and the estimate, short */
	read_fails(tutil_put("nul.jsonl", "{\"t\": \"ab\\u0000cd\"}\n"),
	    field_cpt("t", 4), SK_ERR_FORMAT, ":1: the string at column 7 "
	    "holds a NUL (\\u0000), which would cut it short");
	assert_int_equal(trace_read(p, field_cpt("text", -1), &t, NULL),
	    SK_ERR_ARG);
	trace_free(&t);
}

static void
test_json_array(void **state)
{
	static const uint32_t want[] = { 347, 10919, 1823777 };
	struct trace_read_opts skip = { .skip_bad = 1 };
	struct trace_read_info info;
	struct trace t;

	trace_init(&t);
	read_ok(tutil_put("n.json", "[347, 10919,\n 1823777]\n"), NULL, &t,
	    TRACE_FORMAT_JSON);
	expect_lens(&t, want, 3);
	read_ok(tutil_put("bom.json", "\xef\xbb\xbf \n[347,10919,1823777]"),
	    NULL, &t, TRACE_FORMAT_JSON);
	expect_lens(&t, want, 3);
	read_ok(put_gz("n.json.gz", "[347, 10919, 1823777]", 21), NULL, &t,
	    TRACE_FORMAT_JSON);
	expect_lens(&t, want, 3);
	/* objects, as JSONL's: the default field, or --field; commas and
	 * brackets inside strings do not end an element: "a,]b" is 4 chars,
	 * ceil(4 / 2) = 2, + x 345 = 347 */
	read_ok(tutil_put("o.json", "[\n  {\"len\": 347},\n  {\"len\": 10919},\n"
	    "  {\"len\": 1823777}\n]\n"), NULL, &t, TRACE_FORMAT_JSON);
	expect_lens(&t, want, 3);
	read_ok(tutil_put("s.json", "[{\"m\": [{\"c\": \"a,]b\"}], \"x\": 345}]"),
	    field_cpt("m[].c+x", 2), &t, TRACE_FORMAT_JSON);
	assert_int_equal(t.len[0], 347);
	/* errors name the element (from 0) and the line it starts on */
	read_fails(tutil_put("neg.json", "[347,\n 10919,\n -5]"), NULL,
	    SK_ERR_RANGE, ":3: element [2]: length -5 is not positive");
	read_fails(tutil_put("str.json", "[{\"len\": 1},\n{\"len\": \"x\"}]"),
	    NULL, SK_ERR_FORMAT, ":2: element [1]: field 'len' is a string; "
	    "estimate its tokens with --chars-per-token X (e.g. 4)");
	read_fails(tutil_put("mal.json", "[1,\n{\"a\":\n }]"), NULL,
	    SK_ERR_FORMAT, ":3: element [1]: malformed JSON");
	read_fails(tutil_put("kind.json", "[1, {\"len\": 2}]"), NULL,
	    SK_ERR_FORMAT, ":1: element [1]: an object, not a length (element "
	    "[0] is a number)");
	read_fails(tutil_put("trunc.json", "[{\"len\": 347},\n {\"len\": 5"),
	    NULL, SK_ERR_FORMAT, ":2: element [1]: truncated JSON array (no "
	    "closing ']')");
	read_fails(tutil_put("trunc2.json", "[347,\n"), NULL, SK_ERR_FORMAT,
	    ":2: element [1]: truncated JSON array (no closing ']')");
	read_fails(tutil_put("close.json", "[1,\n 2}, 3]"), NULL, SK_ERR_FORMAT,
	    ":2: element [1]: malformed JSON (a '}' closes nothing)");
	read_fails(tutil_put("comma.json", "[1, 2,]"), NULL, SK_ERR_FORMAT,
	    ":1: element [2]: missing (a ']' where a value should be)");
	read_fails(tutil_put("after.json", "[1]\n2\n"), NULL, SK_ERR_FORMAT,
	    ":2: text after the JSON array's closing ']'");
	read_fails(tutil_put("empty.json", " [ ] "), NULL, SK_ERR_FORMAT,
	    ": empty trace");
	read_fails(tutil_put("strs.json", "[\"a\"]"), NULL, SK_ERR_FORMAT,
	    ":1: element [0] is a string; a JSON trace is an array of lengths "
	    "or of objects");
	read_fails(tutil_path("n.json"), field("len"), SK_ERR_ARG,
	    ":1: element [0] is a number, so the array holds lengths: --field "
	    "does not apply");
	/* elements across the reader's 64 KiB blocks, gzip or not: 20000
	 * objects of about 16 bytes, lengths 1..20000, which sum to
	 * 20000 * 20001 / 2 */
	{
		size_t n = 20000, i, off = 0, cap = 24 * 20000 + 8;
		unsigned long long sum = 0;
		char *big = malloc(cap);

		assert_non_null(big);
		big[off++] = '[';
		for (i = 1; i <= n; i++)
			off += (size_t)snprintf(big + off, cap - off,
			    "{\"len\": %zu}%s", i, i < n ? ",\n" : "]\n");
		read_ok(tutil_put_bytes("big.json", big, off), NULL, &t,
		    TRACE_FORMAT_JSON);
		for (i = 0; i < t.n; i++)
			sum += t.len[i];
		assert_int_equal(t.n, n);
		assert_int_equal(sum, 200010000ULL);
		read_ok(put_gz("big.json.gz", big, off), NULL, &t,
		    TRACE_FORMAT_JSON);
		assert_int_equal(t.n, n);
		assert_int_equal(t.len[n - 1], n);
		free(big);
	}
	/* --skip-bad drops the bad element only */
	assert_int_equal(trace_read(tutil_path("neg.json"), &skip, &t, &info),
	    SK_OK);
	assert_int_equal(t.n, 2);
	assert_int_equal(info.skipped, 1);
	assert_int_equal(info.first_skipped, 3);
	trace_free(&t);
}

static void
test_tsv(void **state)
{
	static const uint32_t want[] = { 347, 10919 };
	struct trace t;

	trace_init(&t);
	/* tabs in the header line; a comma inside a field is text */
	read_ok(tutil_put("t.txt", "id\tlength\na,b\t347\nc\t10919\n"), NULL, &t,
	    TRACE_FORMAT_TSV);
	expect_lens(&t, want, 2);
	read_ok(tutil_path("t.txt"), field("#2"), &t, TRACE_FORMAT_TSV);
	expect_lens(&t, want, 2);
	/* by name: one column has no tab to show it */
	read_ok(tutil_put("one.tsv", "length\n347\n10919\n"), NULL, &t,
	    TRACE_FORMAT_TSV);
	expect_lens(&t, want, 2);
	read_ok(put_gz("one.tsv.gz", "length\n347\n10919\n", 17), NULL, &t,
	    TRACE_FORMAT_TSV);
	expect_lens(&t, want, 2);
	read_fails(tutil_put("short.tsv", "id\tlength\nx\t347\ny\n"), NULL,
	    SK_ERR_FORMAT, ":3: 1 fields, the header has 2");
	read_fails(tutil_put("text.tsv", "id\tlength\nx\tmany\n"), NULL,
	    SK_ERR_FORMAT, ":2: column 'length': 'many' is not an integer");
	trace_free(&t);
}

/* trace_read refuses path with a message starting path + head and holding
 * each of the NULL-terminated parts. */
static void
foreign_fails(const char *path, const struct trace_read_opts *o,
              const char *head, ...)
{
	char want[2048];
	const char *part;
	struct trace t;
	va_list ap;

	trace_init(&t);
	assert_int_equal(trace_read(path, o, &t, NULL), SK_ERR_FORMAT);
	assert_int_equal(t.n, 0);
	snprintf(want, sizeof want, "%s%s", path, head);
	if (strncmp(err_msg(), want, strlen(want)) != 0)
		fail_msg("%s: does not start %s", err_msg(), want);
	va_start(ap, head);
	while ((part = va_arg(ap, const char *)) != NULL)
		if (strstr(err_msg(), part) == NULL)
			fail_msg("%s: no '%s'", err_msg(), part);
	va_end(ap);
}

static void
test_foreign(void **state)
{
	struct trace_read_opts plain = { .format = TRACE_FORMAT_PLAIN };
	char want[1024];
	const char *p;
	struct trace t;

	trace_init(&t);
	p = tutil_put_bytes("d.parquet", "PAR1\x15\x04\0\0PAR1", 12);
	foreign_fails(p, NULL, ": a Parquet file; skrull cannot read "
	    "Parquet/Arrow directly; convert it:", "pq.read_table(sys.argv[1])",
	    "pc.list_value_length(t.column(sys.argv[2]))", "; or run "
	    "skrull-lengths ", "d.parquet --column input_ids -o lengths.npy "
	    "from the skrull Python package", NULL);
	/* the magic wins over --format */
	foreign_fails(p, &plain, ": a Parquet file", NULL);
	foreign_fails(tutil_put_bytes("d.arrow", "ARROW1\0\0\xff\xff", 10), NULL,
	    ": an Arrow IPC file;",
	    "pa.ipc.open_file(pa.memory_map(sys.argv[1]))", NULL);
	foreign_fails(tutil_put_bytes("cache-0.arrow",
	    "\xff\xff\xff\xff\x78\0\0\0", 8), NULL, ": an Arrow IPC stream;",
	    "pa.ipc.open_stream(pa.memory_map(sys.argv[1]))", NULL);
	/* a Megatron-LM .bin by its name, whatever it holds */
	p = tutil_put("text_document.bin", "347\n");
	snprintf(want, sizeof want, ": a Megatron-LM .bin holds the tokens, "
	    "not their lengths; read the index instead: %.*s.idx",
	    (int)(strlen(p) - 4), p);
	read_fails(p, NULL, SK_ERR_FORMAT, want);
	/* unless a format is given */
	read_ok(p, &plain, &t, TRACE_FORMAT_PLAIN);
	assert_int_equal(t.len[0], 347);
	trace_free(&t);
}

static void
test_did_you_mean(void **state)
{
	const char *p;

	p = tutil_put("io.jsonl", "{\"input_length\": 347, \"output_length\": "
	    "5, \"meta\": {\"tokens\": 3}}\n");
	read_fails(p, field("input_lenght"), SK_ERR_FORMAT,
	    ":1: no field 'input_lenght' (did you mean input_length?)");
	read_fails(p, field("input_length+outptu_length"), SK_ERR_FORMAT,
	    ":1: no field 'outptu_length' (did you mean output_length?)");
	read_fails(p, field("meta.tokns"), SK_ERR_FORMAT,
	    ":1: no field 'meta.tokns' (did you mean meta.tokens?)");
	/* nothing near: no guess */
	read_fails(p, field("labels"), SK_ERR_FORMAT, ":1: no field 'labels'");
	read_fails(tutil_put("m.jsonl", "{\"mesages\": []}\n"),
	    field("messages[].content"), SK_ERR_FORMAT, ":1: no field "
	    "'messages' (did you mean mesages[].content?)");
	read_fails(tutil_put("c.jsonl", "{\"m\": [{\"content\": \"x\"}]}\n"),
	    field_cpt("m[].contnet", 4), SK_ERR_FORMAT, ":1: element 0 of 'm' "
	    "has no 'contnet' (did you mean content?)");
	read_fails(tutil_put("l.csv", "id,length\nx,347\n"), field("lenght"),
	    SK_ERR_ARG, ": no column 'lenght' (did you mean length? columns: "
	    "id, length)");
}

/* ---- names ---- */

static void
test_format_names(void **state)
{
	enum trace_format f;

	assert_string_equal(trace_format_name(TRACE_FORMAT_AUTO), "auto");
	assert_string_equal(trace_format_name(TRACE_FORMAT_JSONL), "jsonl");
	assert_string_equal(trace_format_name(TRACE_FORMAT_IDX), "idx");
	assert_int_equal(trace_format_parse("NPY", &f), SK_OK);
	assert_int_equal(f, TRACE_FORMAT_NPY);
	assert_int_equal(trace_format_parse("csv", &f), SK_OK);
	assert_int_equal(f, TRACE_FORMAT_CSV);
	assert_int_equal(trace_format_parse("parquet", &f), SK_ERR_ARG);
	assert_string_equal(err_msg(),
	    "unknown format 'parquet' (plain, csv, tsv, jsonl, json, npy, idx)");
	assert_int_equal(trace_format_parse("tsv", &f), SK_OK);
	assert_int_equal(f, TRACE_FORMAT_TSV);
	assert_int_equal(trace_format_parse("json", &f), SK_OK);
	assert_int_equal(f, TRACE_FORMAT_JSON);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_plain_long_input),
		cmocka_unit_test(test_plain_bad),
		cmocka_unit_test(test_skip_bad),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_csv_bad),
		cmocka_unit_test(test_jsonl),
		cmocka_unit_test(test_jsonl_bad),
		cmocka_unit_test(test_jsonl_long_line),
		cmocka_unit_test(test_npy_dtypes),
		cmocka_unit_test(test_npy_bad),
		cmocka_unit_test(test_idx),
		cmocka_unit_test(test_idx_bad),
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_gzip_members),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_stdin),
		cmocka_unit_test(test_hostile_ok),
		cmocka_unit_test(test_write_roundtrip),
		cmocka_unit_test(test_write_npy_bytes),
		cmocka_unit_test(test_write_bad),
		cmocka_unit_test(test_format_names),
		cmocka_unit_test(test_field_arrays),
		cmocka_unit_test(test_chars_per_token),
		cmocka_unit_test(test_json_array),
		cmocka_unit_test(test_tsv),
		cmocka_unit_test(test_foreign),
		cmocka_unit_test(test_did_you_mean),
	};

	return cmocka_run_group_tests(tests, tutil_setup_tmp,
	    tutil_teardown_tmp);
}
