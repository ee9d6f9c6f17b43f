/* trace_bin: the binary formats of the trace module (.npy, .idx); see
 * trace_int.h. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

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
		if ((e = trd_need(r, size, &have)) != SK_OK)
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
			if (trd_valid_len(v)) {
				if ((e = trace_push(r->t, (uint32_t)v)) != SK_OK)
					return e;
				continue;
			}
			if (dt == DT_U8)
				snprintf(txt, sizeof txt, "%llu",
				    (unsigned long long)le(p, 8));
			else
				snprintf(txt, sizeof txt, "%lld", v);
			if ((e = trd_bad_len(r, done + i + 1, "", txt, v)) != SK_OK)
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

int
tbin_npy(struct rd *r)
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
	if ((e = trd_need(r, 1, &have)) != SK_OK)
		return e;
	if (have > 0)
		return err_set_at(SK_ERR_FORMAT, r->name, 0, "byte %llu: data "
		    "continues after the %llu values the header declares",
		    r->off + r->pos, count);
	return SK_OK;
}

#define IDX_HEADER 34  /* magic 9, version 8, dtype 1, sequences 8, documents 8 */

int
tbin_idx(struct rd *r)
{
	const unsigned char *b;
	unsigned long long version, nseq;
	size_t have;
	int e;

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
	r->pos += IDX_HEADER;
	/* the pointers and document indices that follow are not needed */
	return read_elements(r, nseq, DT_I4, "sequences");
}
