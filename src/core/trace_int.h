/*
 * trace_int: internal to the trace module (src/core/trace*.c), not a public
 * contract.  The streaming reader shared by the format parsers and the
 * functions they call across files:
 *
 *   trace.c        struct trace, format names, detection, trace_read
 *   trace_rd.c     trd_: the block reader (read(2), gzip members inflated
 *                  here), its lines, and the value checks and bad-record
 *                  rule of every format
 *   trace_text.c   ttext_: plain, CSV, TSV, JSONL and JSON arrays, with
 *                  field specifications and the chars-per-token estimate
 *   trace_bin.c    tbin_: NumPy .npy (its Python-literal header) and
 *                  Megatron-LM .idx, each checked against the file's size
 *   trace_write.c  trace_write: plain, CSV and .npy, gzip or not, atomic
 */
#ifndef SKRULL_TRACE_INT_H
#define SKRULL_TRACE_INT_H

#include <stddef.h>

#include <zlib.h>

#include "trace.h"

/* Bytes read or written per call: large enough that syscalls and gzread
 * calls do not show in a profile, small enough to stay in L2. */
#define BLOCK (64 * 1024)

/* Megatron-LM MMapIndexedDataset .idx
 * (megatron/core/datasets/indexed_dataset.py). */
#define TRACE_IDX_MAGIC "MMIDIDX\0\0"

/*
 * A streaming reader over one (possibly gzip-compressed) file.  gzip is
 * inflated here rather than through zlib's gzread, which skips what
 * follows the last gzip member without a word (a corrupt second member,
 * trailing garbage): every byte of the file is accounted for.
 */
struct rd {
	int fd;
	int own_fd;                /* fd is ours to close (not standard input) */
	const char *name;          /* for messages */
	unsigned char *raw;        /* BLOCK bytes of the file, as read */
	z_stream zs;               /* next_in, avail_in: unread bytes of raw */
	int gzip;                  /* the file is gzip (it starts 1f 8b) */
	int zinit;                 /* zs holds inflate state to free */
	int between;               /* gzip: at the end of a member */
	int raweof;                /* read(2) has reported end of file */
	unsigned long long rawoff; /* file offset of raw[0], bytes */
	unsigned long long member; /* file offset of the current gzip member */
	unsigned long long data;   /* bytes of data produced so far */
	char *buf;                 /* BLOCK bytes */
	size_t pos, end;           /* unread bytes: buf[pos..end) */
	unsigned long long off;    /* offset of buf[0] in the decompressed data */
	int eof;                   /* gzread has reported end of input */
	int binary;                /* messages name records, not lines */
	char *line;                /* lines that cross a block boundary */
	size_t linecap;
	unsigned long long lineno;
	unsigned long long blank;  /* first of the pending blank lines, 0 if none */
	unsigned long long nblank;
	const char *where;         /* prefixed to trd_bad's messages ("element
	                              [3]: "), NULL for none */
	double cpt;                /* chars per token, 0: no estimate */
	size_t estimated;          /* records whose length was estimated */
	int skip_bad;
	size_t skipped;
	unsigned long long first_skipped;
	struct trace *t;
};

/* Open path ("-": standard input) for reading, with r->buf of BLOCK bytes;
 * r->name must be set.  trd_close frees what it holds, opened or not. */
int trd_open(struct rd *r, const char *path);
void trd_close(struct rd *r);

/* The size in bytes of an uncompressed regular file in *size (return 1);
 * 0 for a gzip file or a stream, whose size shows only as it is read. */
int trd_file_size(const struct rd *r, unsigned long long *size);

/* Move the unread bytes to the front of r->buf and read behind them until
 * it is full or the input ends (r->eof). */
int trd_refill(struct rd *r);

/* Make at least want bytes readable at buf + pos unless the input ends
 * first; *have is how many are. */
int trd_need(struct rd *r, size_t want, size_t *have);

/* The next line without its '\n' in *s, *n (*s NULL at the end), after the
 * first keep bytes of r->line; see trace_rd.c. */
int trd_line(struct rd *r, size_t keep, const char **s, size_t *n);

/* Extend the record *s, *n with a '\n' and the next line. */
int trd_more_line(struct rd *r, const char **s, size_t *n);

/* Blanks as isspace in the C locale; trd_trim strips them from both ends. */
int trd_is_blank(int c);
void trd_trim(const char **s, size_t *n);

/* s[0..n) as a signed decimal integer in *v (magnitudes past TRACE_LEN_MAX
 * saturate at TRACE_LEN_MAX + 1); 0 if it is not one. */
int trd_parse_int(const char *s, size_t n, long long *v);

/* s[0..n) into dst (cap bytes) for a message, shortened if long. */
const char *trd_excerpt(char *dst, size_t cap, const char *s, size_t n);

/* A bad record at line (text) or record number at: fail with code and the
 * message, or under skip_bad count it and return SK_OK (the caller drops
 * the record). */
__attribute__((format(printf, 4, 5)))
int trd_bad(struct rd *r, unsigned long long at, int code, const char *fmt,
            ...);

/* Whether v is a length, 1..TRACE_LEN_MAX tokens. */
int trd_valid_len(long long v);

/* trd_bad for a length (written txt) out of range, and for a term of a
 * sum out of 0..TRACE_LEN_MAX; ctx prefixes the message. */
int trd_bad_len(struct rd *r, unsigned long long at, const char *ctx,
                const char *txt, long long v);
int trd_bad_term(struct rd *r, unsigned long long at, const char *ctx,
                 const char *txt, long long v);

/* Blank lines are allowed only at the end of a text file: trd_note_blank
 * tracks one, trd_flush_blank (at the next non-blank line) reports them. */
int trd_flush_blank(struct rd *r);
void trd_note_blank(struct rd *r);

/* A CSV field inside a line: its content, without quotes. */
struct span {
	const char *p;
	size_t n;
};

/* ttext_split_csv's results: a whole record, one whose quoted field goes
 * on past the end of the line, one with text after a closing quote. */
enum { SPLIT_OK, SPLIT_OPEN, SPLIT_BAD };

/* Split the CSV record s[0..n) (RFC 4180, fields separated by sep: ',' or
 * '\t') into its fields, storing the first max in sp; *nf is how many
 * there are. */
int ttext_split_csv(const char *s, size_t n, char sep, struct span *sp,
                    size_t max, size_t *nf);

/* The reader of each format, from the current position to the end of the
 * input, pushing onto r->t; spec is --field (NULL: the default rule). */
int ttext_plain(struct rd *r);
int ttext_csv(struct rd *r, const char *spec, char sep);
int ttext_jsonl(struct rd *r, const char *spec);
int ttext_json(struct rd *r, const char *spec);
int tbin_npy(struct rd *r);
int tbin_idx(struct rd *r);

#endif
