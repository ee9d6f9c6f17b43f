/* fuzz_trace_jsonl: trace_read with --format jsonl (see fuzz_trace.h). */
#define FUZZ_FORMAT TRACE_FORMAT_JSONL
#include "fuzz_trace.h"
