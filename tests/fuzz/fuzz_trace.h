/*
 * fuzz_trace: the body of the trace reader targets; each fuzz_trace_*.c
 * defines FUZZ_FORMAT (TRACE_FORMAT_AUTO for trace_gzip) and includes it.
 *
 * Input: one option byte, then the file.  Bit 0 of the option byte is
 * --skip-bad; bits 1-3 choose --field among fields[] (CSV and JSONL; the
 * other readers ignore it).  Checked beyond the sanitizers: trace.h's
 * contract (a trace of lengths in 1..TRACE_LEN_MAX on success; on failure
 * an empty trace and a message that names the file).
 */
#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "trace.h"

static const char *const fields[8] = {
	NULL, "length", "input_length+output_length", "#2", "a.b",
	"input_ids", "#1+#3", "tokens"
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace_read_opts o = { .format = FUZZ_FORMAT };
	struct trace_read_info info;
	struct trace t;
	const char *path;
	size_t i;
	int e;

	if (size < 1)
		return 0;
	o.skip_bad = data[0] & 1;
	o.field = fields[(data[0] >> 1) & 7];
	path = fuzz_file(data + 1, size - 1);
	trace_init(&t);
	e = trace_read(path, &o, &t, &info);
	if (e == SK_OK) {
		if (t.n == 0 || t.n > t.cap)
			abort();
		for (i = 0; i < t.n; i++)
			if (t.len[i] < 1 || t.len[i] > TRACE_LEN_MAX)
				abort();
	} else {
		if (t.n != 0 || t.len != NULL || err_code() != e)
			abort();
		/* Field specification errors are about the option, not the
		 * file; every other message names the file. */
		if (e != SK_ERR_ARG && strncmp(err_msg(), path, strlen(path)) != 0)
			abort();
	}
	trace_free(&t);
	return 0;
}
