/*
 * mem: up-front memory estimates.  A command about to allocate arrays
 * proportional to a sample count (a trace's lengths, a plan, the
 * simulator's state) first compares what it will need with what this
 * process may use, and refuses a request that cannot fit with an
 * estimate, instead of being killed by the kernel's OOM killer half-way.
 *
 * What the process may use is the least of: the machine's physical memory
 * (sysconf _SC_PHYS_PAGES x _SC_PAGESIZE; swap is not counted), the
 * address-space and data-segment limits (RLIMIT_AS, RLIMIT_DATA, when
 * set: `ulimit -v`, `ulimit -d`) and the cgroup's limit (v2 memory.max,
 * v1 memory.limit_in_bytes, when readable and set).  Memory other
 * processes use is not subtracted: the estimate refuses what can never
 * fit, not what does not fit now.
 *
 * Estimates are in bytes, per sample as measured (bench/limits.sh): they
 * are rounded up, not exact.
 */
#ifndef SKRULL_MEM_H
#define SKRULL_MEM_H

#include <stdint.h>

/* Bytes this process may use at most, as above; 0 when nothing is
 * known. */
double mem_available(void);

/*
 * SK_OK when need bytes fit in mem_available() (or it is unknown); else
 * SK_ERR_NOMEM with the message "WHAT: needs about X GiB for N samples,
 * Y GiB available (LIMIT)", LIMIT naming the limit that binds.
 */
int mem_check(const char *what, double need, uint64_t n);

/* Bytes per sample of the steps that allocate per sample, measured at
 * 10^8 samples (bench/limits.sh) and rounded up. */
#define MEM_TRACE_BYTES 4.0    /* a read trace: uint32 lengths */
#define MEM_STATS_BYTES 12.0   /* trace stats: the trace, its sorted copy
                                  and the radix sort's buffer */
#define MEM_PLAN_BYTES 32.0    /* planning: the trace, the batcher's
                                  order, the plan's arrays */
#define MEM_SIM_ITER_BYTES 64.0   /* sim: per iteration (times, tokens) */
#define MEM_SIM_CELL_BYTES 48.0   /* sim: per iteration and GPU (report) */
#define MEM_PLAN_READ_FACTOR 20.0  /* reading a JSON plan: bytes per byte
                                      of its text (the text and the
                                      parsed tree) */

#endif
