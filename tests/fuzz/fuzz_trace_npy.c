/* fuzz_trace_npy: trace_read with --format npy (see fuzz_trace.h). */
#define FUZZ_FORMAT TRACE_FORMAT_NPY
#include "fuzz_trace.h"
