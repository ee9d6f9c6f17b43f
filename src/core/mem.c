/* mem: see mem.h. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "err.h"
#include "mem.h"

/* A cgroup limit at or above this (v1's "no limit" is 2^63 rounded down
 * to a page) is no limit. */
#define CGROUP_NONE 4.6e18

/* The number in file path, or 0 when it is missing, "max" or not a
 * number. */
static double
read_limit(const char *path)
{
	FILE *f = fopen(path, "r");
	unsigned long long v = 0;
	int ok;

	if (f == NULL)
		return 0;
	ok = fscanf(f, "%llu", &v) == 1;
	fclose(f);
	return ok && (double)v < CGROUP_NONE ? (double)v : 0;
}

/* This process's cgroup v2 path ("0::/PATH" in /proc/self/cgroup) into
 * buf; 0 when none. */
static int
cgroup2_path(char *buf, size_t n)
{
	FILE *f = fopen("/proc/self/cgroup", "r");
	char line[512];
	int found = 0;

	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			found = snprintf(buf, n, "%s", line + 3) < (int)n;
		}
	fclose(f);
	return found;
}

/* The cgroup's memory limit, bytes; 0 when none is set or readable. */
static double
cgroup_limit(void)
{
	char cg[400], path[512];
	double v;

	if (cgroup2_path(cg, sizeof cg)) {
		snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.max",
		    strcmp(cg, "/") == 0 ? "" : cg);
		if ((v = read_limit(path)) > 0)
			return v;
	}
	if ((v = read_limit("/sys/fs/cgroup/memory.max")) > 0)
		return v;
	return read_limit("/sys/fs/cgroup/memory/memory.limit_in_bytes");
}

/* The least of the limits, and the name of the one that binds. */
static double
available(const char **which)
{
	struct rlimit rl;
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
	double best = 0, v;

	*which = "unknown";
	if (pages > 0 && size > 0) {
		best = (double)pages * (double)size;
		*which = "physical memory";
	}
	if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (best == 0 || (double)rl.rlim_cur < best)) {
		best = (double)rl.rlim_cur;
		*which = "RLIMIT_AS, ulimit -v";
	}
	if (getrlimit(RLIMIT_DATA, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (best == 0 || (double)rl.rlim_cur < best)) {
		best = (double)rl.rlim_cur;
		*which = "RLIMIT_DATA, ulimit -d";
	}
	if ((v = cgroup_limit()) > 0 && (best == 0 || v < best)) {
		best = v;
		*which = "the cgroup's memory limit";
	}
	return best;
}

double
mem_available(void)
{
	const char *which;

	return available(&which);
}

int
mem_check(const char *what, double need, uint64_t n)
{
	const char *which;
	double have = available(&which), gib = 1024.0 * 1024.0 * 1024.0;

	if (have <= 0 || need <= have)
		return SK_OK;
	return err_set(SK_ERR_NOMEM, "%s: needs about %.*f GiB for %llu "
	    "samples, %.*f GiB available (%s)", what, need < 10 * gib ? 2 : 1,
	    need / gib, (unsigned long long)n, have < 10 * gib ? 2 : 1,
	    have / gib, which);
}
