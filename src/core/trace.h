/*
 * trace: an ordered list of sample lengths in tokens, and its readers and
 * writers.
 *
 * Formats read: plain text (one integer per line), CSV, TSV, JSONL, a JSON
 * array (of lengths or of objects), NumPy .npy and Megatron-LM
 * indexed-dataset .idx (its per-sequence length array); any of them may be
 * gzip-compressed (members one after another; anything else
 * after them is an error).  Binary files must be exactly as long as their
 * header says.  skrull-trace(5) documents every format and every rule
 * stated here.
 *
 * Readers stream: the file is read in fixed-size blocks, never held whole in
 * memory; only the lengths are kept, 4 bytes each.  A reader either returns
 * SK_OK with the whole trace, or an error code with the trace left empty and
 * a message naming the file, the line (text) or byte offset (binary) and the
 * problem (see err.h).
 *
 * Ownership: a struct trace owns its len array; trace_free() releases it.
 */
#ifndef SKRULL_TRACE_H
#define SKRULL_TRACE_H

#include <stddef.h>
#include <stdint.h>

/* Longest valid sample, in tokens (2^31 - 1). Lengths are >= 1. */
#define TRACE_LEN_MAX 2147483647u

struct trace {
	uint32_t *len;  /* len[i]: length of sample i, tokens, 1..TRACE_LEN_MAX */
	size_t n;       /* number of samples */
	size_t cap;     /* allocated entries of len */
};

enum trace_format {
	TRACE_FORMAT_AUTO = 0,  /* detect from content (read) or name (write) */
	TRACE_FORMAT_PLAIN,
	TRACE_FORMAT_CSV,
	TRACE_FORMAT_JSONL,
	TRACE_FORMAT_NPY,
	TRACE_FORMAT_IDX,
	TRACE_FORMAT_TSV,   /* CSV separated by tabs */
	TRACE_FORMAT_JSON   /* one JSON array of lengths or of objects */
};

struct trace_read_opts {
	enum trace_format format;  /* TRACE_FORMAT_AUTO to detect */
	/*
	 * Which value is the length (CSV and JSONL; NULL for the default rule
	 * of skrull-trace(5)).  A term is a CSV column name, a 1-based CSV
	 * column index written "#3", or a JSON field (dotted path "a.b"); a
	 * numeric value is used as is, an array of numbers (a token list)
	 * counts as its length; an array of objects or strings is refused
	 * unless the path says how to count it: "a[].b" sums member b over the
	 * array's elements ("a[]" the elements themselves).  Terms joined with
	 * '+' are summed: "input_length+output_length".
	 */
	const char *field;
	/*
	 * Characters (Unicode code points) per token, > 0, for a JSON string
	 * value: its length is estimated as ceil(chars / chars_per_token),
	 * the chars of a term summed over its strings.  0: strings are
	 * refused.
	 */
	double chars_per_token;
	int skip_bad;  /* nonzero: skip a bad record and count it, not fail */
};

struct trace_read_info {
	enum trace_format format;  /* the format actually read */
	size_t skipped;            /* records skipped under skip_bad */
	unsigned long long first_skipped;  /* line (text) or record number of
	                                      the first skipped record, 0 if none */
	size_t estimated;  /* records whose length holds an estimate from
	                      chars_per_token */
};

void trace_init(struct trace *t);
void trace_free(struct trace *t);

/* Append one length (1..TRACE_LEN_MAX; not checked here), growing len. */
int trace_push(struct trace *t, uint32_t len);

/* Make room for at least n entries in total. */
int trace_reserve(struct trace *t, size_t n);

/*
 * Read path ("-" for standard input) into t, which must be initialised and
 * is replaced.  opts may be NULL (auto-detect, default field, strict).  info
 * may be NULL.
 */
int trace_read(const char *path, const struct trace_read_opts *opts,
               struct trace *t, struct trace_read_info *info);

/*
 * Write t to path ("-" for standard output; not for npy) in fmt: PLAIN, CSV
 * (header "length") or NPY (little-endian uint32, version 1.0).
 * TRACE_FORMAT_AUTO chooses from the name (.npy, .csv, else plain); a name
 * ending in ".gz" is gzip-compressed.  The file appears only complete: it is
 * written to a temporary file in the same directory and renamed on success,
 * and nothing is left behind on failure.
 */
int trace_write(const char *path, enum trace_format fmt,
                const struct trace *t);

/* "plain", "csv", "jsonl", "npy", "idx", "tsv", "json", "auto" <-> enum. */
const char *trace_format_name(enum trace_format f);
int trace_format_parse(const char *name, enum trace_format *f);

#endif
