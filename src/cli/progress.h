/*
 * progress: the one progress reporter of the commands that can take more
 * than a second (sim, compare, tune, plan, calibrate).  It writes to a
 * stream (stderr) a single line rewritten in place:
 *
 *     "\rskrull LABEL: PCT% (DONE/TOTAL)EXTRA"
 *
 * only when the integer percent PCT = floor(100 DONE / TOTAL) grows, so
 * the output depends on the work done, never on the clock; a shorter line
 * is padded with spaces over the longer one before it.  progress_end ends
 * the line with "\n" once anything was written.  Whether it is on at all:
 * progress_wanted.  Updates are serialised by a mutex, so the callbacks
 * of worker threads may call progress_update directly; an update whose
 * percent is not above the last one written is dropped, so lines never go
 * backwards.
 */
#ifndef SKRULL_PROGRESS_H
#define SKRULL_PROGRESS_H

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>

struct progress {
	FILE *f;             /* NULL: off, every call does nothing */
	char label[48];
	int pct;             /* the last percent written; -1: none yet */
	size_t width;        /* characters of the last line, for padding */
	size_t per;          /* units per item counted: the line shows
	                        DONE / per of TOTAL / per (1: the units) */
	pthread_mutex_t mu;
};

/*
 * Whether progress is shown on file descriptor fd: never under --quiet
 * (quiet != 0); otherwise as the environment variable SKRULL_PROGRESS
 * says ("0": never, "1": always, even when fd is not a terminal, which is
 * how tests see the format); otherwise when fd is a terminal.
 */
int progress_wanted(int quiet, int fd);

/* Start a reporter writing to f (NULL: off) for the work called label. */
void progress_init(struct progress *p, FILE *f, const char *label);

/* Count items of per units each: a command whose items (compare's
 * policies) report their own progress in per parts. */
void progress_per(struct progress *p, size_t per);

/* DONE of TOTAL units done (TOTAL 0: nothing written); extra (NULL: none)
 * is appended after the count, e.g. ", best 12.3 ms". */
void progress_update(struct progress *p, size_t done, size_t total,
                     const char *extra);

/* A callback for the library layers: ctx is a struct progress. */
void progress_cb(void *ctx, size_t done, size_t total);

/* End the line (if any was written); the next update starts a new one
 * from 0%: a command with stages (tune: search, then sweeps). */
void progress_next(struct progress *p);

/* End the line (if any was written) and release the reporter. */
void progress_end(struct progress *p);

#endif
