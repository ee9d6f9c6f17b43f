/* trace_bin: the binary formats of the trace module (.npy, .idx); see
 * trace_int.h. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "mem.h"
#include "trace_int.h"

/* Entries reserved up front for a binary file: its header may claim any
 * count, so beyond this the array grows only as data arrives. */
#define RESERVE_MAX ((size_t)1 << 20)

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

/* *out = count elements of size bytes, then rest bytes; 0 if that
 * overflows. */
static int
span(unsigned long long count, unsigned size, unsigned long long rest,
     unsigned long long *out)
{
	if (count > (ULLONG_MAX - rest) / size)
		return 0;
	*out = count * size + rest;
	return 1;
}

/*
 * Before reading, the end the header implies (fits 0: beyond 2^64 bytes,
 * which no input holds) against the size of an uncompressed regular file:
 * exactly end, or alt (another layout the header allows; alt == end if
 * none).  A gzip file or a stream is checked as it is read instead.  hdr
 * describes the header for the message.
 */
static int
check_size(struct rd *r, int fits, unsigned long long end,
           unsigned long long alt, const char *hdr)
{
	unsigned long long size;
	int known = trd_file_size(r, &size);

	if (!fits && !known)
		return err_set_at(SK_ERR_FORMAT, r->name, 0, "truncated: "
		    "expected more than %llu bytes (%s)", ULLONG_MAX, hdr);
	if (!known)
		return SK_OK;
	if (!fits)
		return err_set_at(SK_ERR_FORMAT, r->name, 0, "truncated: "
		    "expected more than %llu bytes (%s), file has %llu",
		    ULLONG_MAX, hdr, size);
	if (size < end)
		return err_set_at(SK_ERR_FORMAT, r->name, 0, "truncated: "
		    "expected %llu bytes (%s), file has %llu", end, hdr, size);
	if (size != end && size != alt)
		return err_set_at(SK_ERR_FORMAT, r->name, 0, "trailing data at "
		    "byte %llu (%s; file has %llu bytes)", end, hdr, size);
	return SK_OK;
}

/* Consume up to n bytes; *done is how many there were. */
static int
skip(struct rd *r, unsigned long long n, unsigned long long *done)
{
	size_t have, k;
	int e;

	*done = 0;
	while (*done < n) {
		if ((e = trd_need(r, 1, &have)) != SK_OK)
			return e;
		if (have == 0)
			break;
		k = n - *done < have ? (size_t)(n - *done) : have;
		r->pos += k;
		*done += k;
	}
	return SK_OK;
}

/* The end of the input, else trailing data at its byte offset. */
static int
at_end(struct rd *r, const char *hdr)
{
	size_t have;
	int e;

	if ((e = trd_need(r, 1, &have)) != SK_OK)
		return e;
	if (have > 0)
		return err_set_at(SK_ERR_FORMAT, r->name, 0,
		    "trailing data at byte %llu (%s)", r->off + r->pos, hdr);
	return SK_OK;
}

/* The first bad length of a binary file, reported once its layout has
 * been found sound (without --skip-bad). */
struct first_bad {
	unsigned long long at;  /* record number, from 1; 0: none */
	long long v;
	char txt[32];
};

/* The stream truncated at the current position, whose header implies end
 * bytes. */
static int
cut_short(struct rd *r, unsigned long long end, const char *hdr)
{
	return err_set_at(SK_ERR_FORMAT, r->name, 0, "byte %llu: truncated: "
	    "expected %llu bytes (%s), data ends there", r->off + r->end, end,
	    hdr);
}

/*
 * Read count elements of type dt at the current position, checking each;
 * the input ends at end or later (hdr: for the message).  A bad length
 * is counted under skip_bad, else kept in *bad: in a stream, whose size
 * is learnt only by reading it, a header that claims too many elements
 * would have the reader take what follows for lengths, and the error must
 * be the truncation, not a bogus value.
 */
static int
read_elements(struct rd *r, unsigned long long count, enum dtype dt,
              unsigned long long end, const char *hdr, struct first_bad *bad)
{
	const unsigned size = dtype_size[dt];
	unsigned long long done = 0, k, i;
	const unsigned char *p;
	char txt[32];
	long long v;
	size_t have;
	int e;

	/* A header's count that can never fit is refused before reading (a
	 * regular file's size has been checked against it already). */
	if ((e = mem_check(r->name, (double)count * MEM_TRACE_BYTES, count)) !=
	    SK_OK ||
	    (e = trace_reserve(r->t, count < RESERVE_MAX ? (size_t)count :
	    RESERVE_MAX)) != SK_OK)
		return e;
	while (done < count) {
		if ((e = trd_need(r, size, &have)) != SK_OK)
			return e;
		if (have < size)
			return cut_short(r, end, hdr);
		k = have / size;
		if (k > count - done)
			k = count - done;
		p = (const unsigned char *)r->buf + r->pos;
		for (i = 0; i < k; i++, p += size) {
			v = element(p, dt);
			if (trd_valid_len(v)) {
				if ((e = trace_push(r->t, (uint32_t)v)) != SK_OK)
					return e;
				continue;
			}
			if (!r->skip_bad && bad->at != 0)
				continue;
			if (dt == DT_U8)
				snprintf(txt, sizeof txt, "%llu",
				    (unsigned long long)le(p, 8));
			else
				snprintf(txt, sizeof txt, "%lld", v);
			if (r->skip_bad) {
				/* counted; never fails under skip_bad */
				(void)trd_bad_len(r, done + i + 1, "", txt, v);
				continue;
			}
			bad->at = done + i + 1;
			bad->v = v;
			memcpy(bad->txt, txt, sizeof txt);
		}
		r->pos += k * size;
		done += k;
	}
	return SK_OK;
}

/* The first bad length, if any, once the layout is sound. */
static int
report_bad(struct rd *r, const struct first_bad *bad)
{
	if (bad->at == 0)
		return SK_OK;
	return trd_bad_len(r, bad->at, "", bad->txt, bad->v);
}

/* A cursor over the .npy header text, a Python dict literal. */
struct lit {
	const char *p, *s, *e;
};

static void
lit_ws(struct lit *l)
{
	while (l->p < l->e && trd_is_blank((unsigned char)*l->p))
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
	const char *twice;  /* a key given twice, when npy_dict fails so */
	const char *unknown;  /* a key not of the format, likewise */
	size_t unknown_n;
};

/* The shape "(3, 2)" into dst, its first four dimensions. */
static const char *
npy_shape(char *dst, size_t cap, const struct npy_header *h)
{
	size_t i, k = 0;

	k += (size_t)snprintf(dst, cap, "(");
	for (i = 0; i < h->ndim && i < 4; i++)
		k += (size_t)snprintf(dst + k, cap - k, "%s%llu", i > 0 ? ", " :
		    "", h->dim[i]);
	snprintf(dst + k, cap - k, "%s)", h->ndim > 4 ? ", ..." : "");
	return dst;
}

/* Parse the dict; returns 0 with l->p at the fault when malformed. */
static int
npy_dict(struct lit *l, struct npy_header *h)
{
	const char *k, *v;
	size_t kn, vn;
	int bit;

	if (!lit_char(l, '{'))
		return 0;
	while (!lit_char(l, '}')) {
		if (!lit_str(l, &k, &kn))
			return 0;
		/* Python keeps the last of a repeated key: the header is
		 * ambiguous, not the first one right */
		bit = kn == 5 && memcmp(k, "descr", 5) == 0 ? 1 :
		    kn == 13 && memcmp(k, "fortran_order", 13) == 0 ? 2 :
		    kn == 5 && memcmp(k, "shape", 5) == 0 ? 4 : 0;
		if (h->have & bit) {
			l->p = k - 1;
			h->twice = bit == 1 ? "descr" : bit == 2 ?
			    "fortran_order" : "shape";
			return 0;
		}
		if (!lit_char(l, ':'))
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
		} else {
			/* numpy refuses any other key: so does this */
			l->p = k - 1;
			h->unknown = k;
			h->unknown_n = kn;
			return 0;
		}
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

int
tbin_npy(struct rd *r)
{
	struct npy_header h = { .ndim = 0 };
	const unsigned char *b;
	unsigned long long count, start, end = 0;
	struct lit l;
	unsigned major, lenbytes;
	size_t hlen, have;
	enum dtype dt = DT_U4;
	struct first_bad bad = { .at = 0 };
	char hdr[128], key[112];
	int e, fits;

	r->binary = 1;
	if ((e = trd_need(r, 12, &have)) != SK_OK)
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
	if ((e = trd_need(r, hlen, &have)) != SK_OK)
		return e;
	if (have < hlen)
		return err_set_at(SK_ERR_FORMAT, r->name, 0, "byte %llu: "
		    "truncated header: %zu bytes declared, %zu present",
		    r->off + r->end, hlen, have);
	l.s = l.p = r->buf + r->pos;
	l.e = l.p + hlen;
	if (!npy_dict(&l, &h)) {
		if (h.twice != NULL)
			return err_set_at(SK_ERR_FORMAT, r->name, 0, "byte %llu: "
			    ".npy header has '%s' twice", r->off + r->pos +
			    (unsigned long long)(l.p - l.s), h.twice);
		if (h.unknown != NULL)
			return err_set_at(SK_ERR_FORMAT, r->name, 0, "byte %llu: "
			    ".npy header has an unknown key '%s'", r->off + r->pos +
			    (unsigned long long)(l.p - l.s), trd_excerpt(key,
			    sizeof key, h.unknown, h.unknown_n));
		return err_set_at(SK_ERR_FORMAT, r->name, 0,
		    "byte %llu: malformed .npy header", r->off + r->pos +
		    (unsigned long long)(l.p - l.s));
	}
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
		    "byte %llu: shape %s is not supported: need a 1-D array",
		    r->off + r->pos, npy_shape(key, sizeof key, &h));
	count = h.ndim == 1 ? h.dim[0] : h.dim[0] * h.dim[1];
	r->pos += hlen;
	start = r->off + r->pos;
	snprintf(hdr, sizeof hdr, "header: %llu values of %u bytes from byte "
	    "%llu", count, dtype_size[dt], start);
	fits = span(count, dtype_size[dt], start, &end);
	if ((e = check_size(r, fits, end, end, hdr)) != SK_OK ||
	    (e = read_elements(r, count, dt, end, hdr, &bad)) != SK_OK ||
	    (e = at_end(r, hdr)) != SK_OK)
		return e;
	return report_bad(r, &bad);
}

#define IDX_HEADER 34  /* magic 9, version 8, dtype 1, sequences 8, documents 8 */

/*
 * After the header: nseq int32 lengths, nseq int64 pointers, ndoc int64
 * document indices, and in Megatron-LM's multimodal case nseq int8 modes
 * (megatron/core/datasets/indexed_dataset.py, _IndexWriter.write).  Only
 * the lengths are kept, but the whole layout is checked, so that a header
 * whose counts are wrong is found instead of reading pointers as lengths
 * or leaving lengths unread.
 */
int
tbin_idx(struct rd *r)
{
	const unsigned char *b;
	unsigned long long version, nseq, ndoc, tail = 0, end = 0, alt = 0,
	    done, size;
	struct first_bad bad = { .at = 0 };
	size_t have;
	char hdr[96];
	int e, fits;

	r->binary = 1;
	if ((e = trd_need(r, IDX_HEADER, &have)) != SK_OK)
		return e;
	b = (const unsigned char *)r->buf + r->pos;
	if (memcmp(b, TRACE_IDX_MAGIC, have < 9 ? have : 9) != 0 || have == 0)
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
	ndoc = le(b + 26, 8);
	r->pos += IDX_HEADER;
	snprintf(hdr, sizeof hdr, "header: %llu sequences, %llu documents",
	    nseq, ndoc);
	fits = span(ndoc, 8, 0, &tail) && span(nseq, 8, tail, &tail) &&
	    span(nseq, 4, IDX_HEADER + tail, &end) && span(nseq, 1, end, &alt);
	if ((e = check_size(r, fits, end, alt, hdr)) != SK_OK ||
	    (e = read_elements(r, nseq, DT_I4, end, hdr, &bad)) != SK_OK)
		return e;
	/* the pointers and indices, then the modes if any: checked by size
	 * already in a regular file, read through in a stream */
	if (!trd_file_size(r, &size)) {
		if ((e = skip(r, tail, &done)) != SK_OK)
			return e;
		if (done < tail)
			return cut_short(r, end, hdr);
		if ((e = skip(r, nseq + 1, &done)) != SK_OK)
			return e;
		if (done != 0 && done != nseq)
			return err_set_at(SK_ERR_FORMAT, r->name, 0,
			    "trailing data at byte %llu (%s)", end, hdr);
	}
	return report_bad(r, &bad);
}
