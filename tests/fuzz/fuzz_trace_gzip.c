/* fuzz_trace_gzip: trace_read with --format auto, so gzip decompression,
 * its truncation checks and format detection are all reached (see
 * fuzz_trace.h); seeded with gzip-compressed slices. */
#define FUZZ_FORMAT TRACE_FORMAT_AUTO
#include "fuzz_trace.h"
