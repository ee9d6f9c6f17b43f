/*
 * fuzz: what the libFuzzer targets of tests/fuzz share (see README.md).
 *
 * The readers take a path (they go through zlib's gzopen, so gzip stays
 * transparent), so each input is written to one anonymous in-memory file
 * created once per process and rewritten on every run, and the parser is
 * given its /proc/self/fd path: no file system traffic, no file left behind.
 * memfd_create needs _GNU_SOURCE, which build.sh defines.
 */
#ifndef SKRULL_FUZZ_H
#define SKRULL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The path of a file holding exactly data[0..size); aborts (a finding of
 * the harness, not of skrull) if the file cannot be written. */
static inline const char *
fuzz_file(const uint8_t *data, size_t size)
{
	static char path[64];
	static int fd = -1;
	size_t off = 0;
	ssize_t w;

	if (fd == -1) {
		if ((fd = memfd_create("skrull-fuzz", 0)) == -1)
			abort();
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0)
		abort();
	while (off < size) {
		if ((w = pwrite(fd, data + off, size - off, (off_t)off)) <= 0)
			abort();
		off += (size_t)w;
	}
	return path;
}

#endif
