/* fuzz_trace_csv: trace_read with --format csv (see fuzz_trace.h). */
#define FUZZ_FORMAT TRACE_FORMAT_CSV
#include "fuzz_trace.h"
