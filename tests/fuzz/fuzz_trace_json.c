/* fuzz_trace_json: trace_read with --format json, a JSON array (see
 * fuzz_trace.h). */
#define FUZZ_FORMAT TRACE_FORMAT_JSON
#include "fuzz_trace.h"
