/* fuzz_trace_idx: trace_read with --format idx (see fuzz_trace.h). */
#define FUZZ_FORMAT TRACE_FORMAT_IDX
#include "fuzz_trace.h"
