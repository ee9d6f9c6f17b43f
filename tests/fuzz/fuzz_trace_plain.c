/* fuzz_trace_plain: trace_read with --format plain (see fuzz_trace.h). */
#define FUZZ_FORMAT TRACE_FORMAT_PLAIN
#include "fuzz_trace.h"
