/*
 * Unit tests of timeline: the file read back with cJSON (metadata, events,
 * microseconds, args, the cap), complete events per thread never
 * overlapping, and the atomic write.
 */
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "timeline.h"
#include "tutil.h"

/* 4 GPUs, 2 per node: 2 process names + 4 x 3 stream thread names + 4
 * span track names. */
#define NMETA 18

static cJSON *
load(const char *path)
{
	size_t n;
	char *text = tutil_slurp(path, &n);
	cJSON *root = cJSON_ParseWithLength(text, n);

	if (root == NULL)
		fail_msg("%s is not valid JSON near: %.40s", path,
		    cJSON_GetErrorPtr());
	free(text);
	return root;
}

static const cJSON *
item(const cJSON *o, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	if (it == NULL)
		fail_msg("no member %s", key);
	return it;
}

static double
num(const cJSON *o, const char *key)
{
	const cJSON *it = item(o, key);

	assert_true(cJSON_IsNumber(it));
	return it->valuedouble;
}

static const char *
str(const cJSON *o, const char *key)
{
	const char *s = cJSON_GetStringValue(item(o, key));

	assert_non_null(s);
	return s;
}

/* The n-th event whose "ph" is ph (0-based), or NULL. */
static const cJSON *
nth(const cJSON *events, const char *ph, int n)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, events)
		if (strcmp(str(e, "ph"), ph) == 0 && n-- == 0)
			return e;
	return NULL;
}

static int
count(const cJSON *events, const char *ph)
{
	const cJSON *e;
	int n = 0;

	cJSON_ArrayForEach(e, events)
		n += strcmp(str(e, "ph"), ph) == 0;
	return n;
}

/* A file's time (microseconds, decimal) back in integer nanoseconds: the
 * writer prints exact decimals, so this recovers the simulator's sim_ns
 * and the comparisons below are exact, free of floating-point sums. */
static long long
ns(double us)
{
	return llround(us * 1000);
}

struct span {
	long long pid, tid, start, end;  /* ns */
};

static int
span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (x->end > y->end) - (x->end < y->end);
}

/*
 * The checker the simulator's tests use too: the complete events ("X") of
 * a trace-event root, sorted per (pid, tid) by start; returns how many
 * start before the previous one on their thread ends (touching is fine:
 * one stream runs one operation at a time, back to back).
 */
static int
overlaps(const cJSON *root)
{
	const cJSON *events = item(root, "traceEvents"), *e;
	struct span *v;
	size_t n = 0, i;
	int bad = 0;

	v = calloc((size_t)cJSON_GetArraySize(events) + 1, sizeof *v);
	assert_non_null(v);
	cJSON_ArrayForEach(e, events) {
		if (strcmp(str(e, "ph"), "X") != 0)
			continue;
		v[n].pid = (long long)num(e, "pid");
		v[n].tid = (long long)num(e, "tid");
		v[n].start = ns(num(e, "ts"));
		v[n].end = v[n].start + ns(num(e, "dur"));
		n++;
	}
	qsort(v, n, sizeof *v, span_cmp);
	for (i = 1; i < n; i++)
		if (v[i].pid == v[i - 1].pid && v[i].tid == v[i - 1].tid &&
		    v[i].start < v[i - 1].end)
			bad++;
	free(v);
	return bad;
}

static void
test_metadata(void **state)
{
	const char *path = tutil_path("meta.json");
	struct timeline *tl;
	const cJSON *events, *e;
	cJSON *root;
	char want[32];
	int g, s;

	assert_non_null(tl = timeline_open(path, 4, 2, 100));
	assert_int_equal(timeline_close(tl, 0), SK_OK);
	root = load(path);
	events = item(root, "traceEvents");
	assert_int_equal(cJSON_GetArraySize(events), NMETA);
	assert_int_equal(count(events, "M"), NMETA);
	/* node n is pid n + 1 (Perfetto reserves pid 0) */
	e = cJSON_GetArrayItem(events, 0);
	assert_string_equal(str(e, "name"), "process_name");
	assert_near(num(e, "pid"), 1, 0);
	assert_string_equal(str(item(e, "args"), "name"), "node 0");
	e = cJSON_GetArrayItem(events, 1);
	assert_near(num(e, "pid"), 2, 0);
	assert_string_equal(str(item(e, "args"), "name"), "node 1");
	/* GPU g, stream s: pid g / 2 + 1, tid 3 (g mod 2) + s + 1 */
	for (g = 0; g < 4; g++)
		for (s = 0; s < 3; s++) {
			e = cJSON_GetArrayItem(events, 2 + 3 * g + s);
			assert_string_equal(str(e, "name"), "thread_name");
			assert_near(num(e, "pid"), g / 2 + 1, 0);
			assert_near(num(e, "tid"), 3 * (g % 2) + s + 1, 0);
			snprintf(want, sizeof want, "GPU %d %s", g,
			    s == 0 ? "compute" : s == 1 ? "comm" : "dp");
			assert_string_equal(str(item(e, "args"), "name"), want);
		}
	/* GPU g's span track: tid 3 x 2 + (g mod 2) + 1, after the streams */
	for (g = 0; g < 4; g++) {
		e = cJSON_GetArrayItem(events, 14 + g);
		assert_string_equal(str(e, "name"), "thread_name");
		assert_near(num(e, "pid"), g / 2 + 1, 0);
		assert_near(num(e, "tid"), 7 + g % 2, 0);
		snprintf(want, sizeof want, "GPU %d steps", g);
		assert_string_equal(str(item(e, "args"), "name"), want);
	}
	assert_string_equal(str(root, "displayTimeUnit"), "ns");
	assert_near(num(item(root, "otherData"), "skrull_dropped_events"), 0,
	    0);
	assert_true(strlen(str(item(root, "otherData"), "skrull_version")) > 0);
	cJSON_Delete(root);

	/* a partial last node: 3 GPUs of 2 per node make 2 nodes */
	assert_non_null(tl = timeline_open(path, 3, 2, 100));
	assert_int_equal(timeline_close(tl, 0), SK_OK);
	root = load(path);
	events = item(root, "traceEvents");
	assert_int_equal(count(events, "M"), 2 + 3 * 3 + 3);
	cJSON_Delete(root);
}

static void
test_events(void **state)
{
	const char *path = tutil_path("events.json");
	const uint32_t few[3] = { 907, 13, 4000000000u };
	uint32_t many[70];
	struct timeline *tl;
	const cJSON *events, *e, *args, *smp;
	cJSON *root;
	size_t text_n;
	char *text;
	int i;

	for (i = 0; i < 70; i++)
		many[i] = (uint32_t)(1000 + 7 * i);
	assert_non_null(tl = timeline_open(path, 4, 2, 100));
	/* GPU 3 is local GPU 1 of node 1: pid 2, compute tid 4, comm tid 5;
	 * GPU 0's dp stream is tid 3 of pid 1 */
	assert_int_equal(timeline_op(tl, 3, 0, "fwd \"attn\"\\1\n", 1234567,
	    1500, 42, 3, TIMELINE_FORWARD, 0, few, 3), SK_OK);
	assert_int_equal(timeline_op(tl, 3, 1, "cp allgather", 1236067, 20,
	    42, 3, TIMELINE_FORWARD, 0, many, 70), SK_OK);
	assert_int_equal(timeline_op(tl, 0, 2, "dp reduce-scatter", 5000000,
	    999, 42, 0, TIMELINE_FORWARD, 0, NULL, 0), SK_OK);
	assert_int_equal(timeline_memory(tl, 2, 1240000, 78123456789.0), SK_OK);
	assert_int_equal(timeline_oom(tl, 1, 7, 9e10, 8.05e10), SK_OK);
	assert_int_equal(timeline_events(tl), 5);
	assert_int_equal(timeline_dropped(tl), 0);
	assert_int_equal(timeline_close(tl, 0), SK_OK);

	/* ns / 1000 written as exact decimals */
	text = tutil_slurp(path, &text_n);
	assert_non_null(strstr(text, "\"ts\":1234.567,\"dur\":1.5,"));
	assert_non_null(strstr(text, "\"ts\":1236.067,\"dur\":0.02,"));
	assert_non_null(strstr(text, "\"ts\":5000,\"dur\":0.999,"));
	free(text);

	root = load(path);
	events = item(root, "traceEvents");
	assert_int_equal(cJSON_GetArraySize(events), NMETA + 5);
	assert_int_equal(count(events, "X"), 3);

	e = nth(events, "X", 0);
	assert_string_equal(str(e, "name"), "fwd \"attn\"\\1\n");
	assert_string_equal(str(e, "cat"), "compute");
	assert_near(num(e, "pid"), 2, 0);
	assert_near(num(e, "tid"), 4, 0);
	assert_near(num(e, "ts"), 1234.567, 1e-9);
	assert_near(num(e, "dur"), 1.5, 0);
	args = item(e, "args");
	assert_near(num(args, "iter"), 42, 0);
	assert_near(num(args, "mb"), 3, 0);
	smp = item(args, "samples");
	assert_int_equal(cJSON_GetArraySize(smp), 3);
	assert_near(cJSON_GetArrayItem(smp, 0)->valuedouble, 907, 0);
	assert_near(cJSON_GetArrayItem(smp, 2)->valuedouble, 4000000000.0, 0);
	assert_null(cJSON_GetObjectItemCaseSensitive(args, "more"));

	/* 70 samples: the first 64 listed, 6 more counted */
	e = nth(events, "X", 1);
	assert_string_equal(str(e, "cat"), "comm");
	assert_near(num(e, "tid"), 5, 0);
	assert_near(num(e, "dur"), 0.02, 1e-12);
	args = item(e, "args");
	smp = item(args, "samples");
	assert_int_equal(cJSON_GetArraySize(smp), 64);
	assert_near(cJSON_GetArrayItem(smp, 63)->valuedouble, 1000 + 7 * 63, 0);
	assert_near(num(args, "more"), 6, 0);

	/* no samples: none listed */
	e = nth(events, "X", 2);
	assert_string_equal(str(e, "cat"), "dp");
	assert_near(num(e, "pid"), 1, 0);
	assert_near(num(e, "tid"), 3, 0);
	assert_null(cJSON_GetObjectItemCaseSensitive(item(e, "args"),
	    "samples"));

	e = nth(events, "C", 0);
	assert_string_equal(str(e, "name"), "memory GPU 2");
	assert_near(num(e, "pid"), 2, 0);
	assert_near(num(e, "ts"), 1240, 0);
	assert_near(num(item(e, "args"), "bytes"), 78123456789.0, 0);

	e = nth(events, "i", 0);
	assert_string_equal(str(e, "name"), "OOM");
	assert_string_equal(str(e, "s"), "t");
	assert_near(num(e, "pid"), 1, 0);
	assert_near(num(e, "tid"), 4, 0);
	assert_near(num(e, "ts"), 0.007, 1e-15);
	assert_near(num(item(e, "args"), "need"), 9e10, 0);
	assert_near(num(item(e, "args"), "avail"), 8.05e10, 0);
	cJSON_Delete(root);
}

static void
test_cap(void **state)
{
	const char *path = tutil_path("cap.json");
	struct timeline *tl;
	const cJSON *events;
	cJSON *root;
	int i;

	/* 8 events of 5 allowed: 5 kept, 3 dropped, whatever their kind */
	assert_non_null(tl = timeline_open(path, 4, 2, 5));
	for (i = 0; i < 6; i++)
		assert_int_equal(timeline_op(tl, i % 4, 0, "gemm",
		    (sim_ns)(1000 * i), 1000, 0, 0, TIMELINE_FORWARD, 0, NULL, 0), SK_OK);
	assert_int_equal(timeline_memory(tl, 0, 0, 1e9), SK_OK);
	assert_int_equal(timeline_oom(tl, 0, 0, 2e9, 1e9), SK_OK);
	assert_int_equal(timeline_events(tl), 5);
	assert_int_equal(timeline_dropped(tl), 3);
	assert_int_equal(timeline_close(tl, 0), SK_OK);
	root = load(path);
	events = item(root, "traceEvents");
	assert_int_equal(cJSON_GetArraySize(events), NMETA + 5);
	assert_int_equal(count(events, "X"), 5);
	assert_int_equal(count(events, "C") + count(events, "i"), 0);
	assert_near(num(item(root, "otherData"), "skrull_dropped_events"), 3,
	    0);
	cJSON_Delete(root);
}

static void
test_no_overlap(void **state)
{
	const char *path = tutil_path("sched.json");
	struct timeline *tl;
	cJSON *root;
	sim_ns t;
	int g, k;

	/*
	 * A well-formed schedule: on every GPU, compute ops back to back
	 * (each starts where the last ended, at times such as 100 ns + 200 ns
	 * whose microseconds 0.1 + 0.2 do not add up exactly in binary), comm
	 * ops overlapping the compute stream but not each other, and dp ops
	 * at the very times of the comm ops: another thread.
	 */
	assert_non_null(tl = timeline_open(path, 4, 2, 1000));
	for (g = 0; g < 4; g++) {
		for (t = 0, k = 0; k < 20; k++) {
			sim_ns d = 100 + 100 * ((k + g) % 3);

			assert_int_equal(timeline_op(tl, g, 0, "op", t, d, 0,
			    (size_t)k, TIMELINE_FORWARD, 0, NULL, 0), SK_OK);
			t += d;
		}
		for (t = 50, k = 0; k < 10; k++) {
			assert_int_equal(timeline_op(tl, g, 1, "coll", t, 150,
			    0, (size_t)k, TIMELINE_FORWARD, 0, NULL, 0), SK_OK);
			assert_int_equal(timeline_op(tl, g, 2, "grad", t, 150,
			    0, (size_t)k, TIMELINE_FORWARD, 0, NULL, 0), SK_OK);
			t += 150 + (sim_ns)(k % 2);
		}
	}
	assert_int_equal(timeline_close(tl, 0), SK_OK);
	root = load(path);
	assert_int_equal(count(item(root, "traceEvents"), "X"), 4 * 40);
	assert_int_equal(overlaps(root), 0);
	cJSON_Delete(root);

	/* The checker sees an overlap: GPU 1's comm op starting 1 ns early,
	 * and not GPU 0's op at the same time on the other stream. */
	assert_non_null(tl = timeline_open(path, 4, 2, 1000));
	assert_int_equal(timeline_op(tl, 1, 1, "a", 300, 200, 0, 0, TIMELINE_FORWARD, 0, NULL, 0),
	    SK_OK);
	assert_int_equal(timeline_op(tl, 0, 1, "b", 499, 10, 0, 0, TIMELINE_FORWARD, 0, NULL, 0),
	    SK_OK);
	assert_int_equal(timeline_op(tl, 1, 0, "c", 499, 10, 0, 0, TIMELINE_FORWARD, 0, NULL, 0),
	    SK_OK);
	assert_int_equal(timeline_op(tl, 1, 1, "d", 499, 10, 0, 0, TIMELINE_FORWARD, 0, NULL, 0),
	    SK_OK);
	assert_int_equal(timeline_close(tl, 0), SK_OK);
	root = load(path);
	assert_int_equal(overlaps(root), 1);
	cJSON_Delete(root);
}

static void
test_volume(void **state)
{
	const char *path = tutil_path("volume.json");
	uint32_t ids[64];
	char *name;
	struct timeline *tl;
	const cJSON *events, *e;
	cJSON *root;
	sim_ns t = 0;
	int i, k;

	/*
	 * Far more than the write buffer holds (5000 events of ~600 bytes)
	 * and a name longer than the buffer: events cross its boundary.
	 */
	name = malloc(100001);
	assert_non_null(name);
	for (k = 0; k < 100000; k++)
		name[k] = (char)('a' + k % 26);
	name[100000] = '\0';
	for (k = 0; k < 64; k++)
		ids[k] = (uint32_t)(3000000 + 11 * k);
	assert_non_null(tl = timeline_open(path, 4, 2, 10000));
	for (i = 0; i < 5000; i++) {
		assert_int_equal(timeline_op(tl, i % 4, 0, i == 2500 ? name :
		    "gemm", t, 777, (size_t)i, 0, TIMELINE_FORWARD, 0, ids, 64), SK_OK);
		t += 777;
	}
	assert_int_equal(timeline_close(tl, 0), SK_OK);
	root = load(path);
	events = item(root, "traceEvents");
	assert_int_equal(cJSON_GetArraySize(events), NMETA + 5000);
	e = cJSON_GetArrayItem(events, NMETA + 2500);
	assert_string_equal(str(e, "name"), name);
	assert_int_equal(ns(num(e, "ts")), 2500LL * 777);
	e = cJSON_GetArrayItem(events, NMETA + 4999);
	assert_near(num(item(e, "args"), "iter"), 4999, 0);
	assert_near(cJSON_GetArrayItem(item(item(e, "args"), "samples"),
	    63)->valuedouble, 3000000 + 11 * 63, 0);
	assert_int_equal(overlaps(root), 0);
	cJSON_Delete(root);
	free(name);
}

static void
test_atomic(void **state)
{
	const char *path = tutil_path("atomic.json");
	char dir[1024];
	struct timeline *tl;
	int before;

	snprintf(dir, sizeof dir, "%s", path);
	*strrchr(dir, '/') = '\0';
	unlink(path);
	before = tutil_count_entries(dir);

	/* Nothing at the destination until close; nothing left on abort. */
	assert_non_null(tl = timeline_open(path, 4, 2, 10));
	assert_int_equal(timeline_op(tl, 0, 0, "x", 0, 10, 0, 0, TIMELINE_FORWARD, 0, NULL, 0),
	    SK_OK);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(timeline_close(tl, 1), SK_OK);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(tutil_count_entries(dir), before);

	/* A directory that does not exist: no timeline, the path named. */
	tl = timeline_open("/nonexistent-skrull-dir/t.json", 4, 2, 10);
	assert_null(tl);
	assert_int_equal(err_code(), SK_ERR_IO);
	assert_non_null(strstr(err_msg(), "/nonexistent-skrull-dir/t.json"));

	/* closing nothing is harmless */
	assert_int_equal(timeline_close(NULL, 0), SK_OK);
}

static void
test_write_error(void **state)
{
	struct timeline *tl;
	int full, saved, e;

	/* Standard output on a full device: the error comes back at close. */
	full = open("/dev/full", O_WRONLY);
	if (full < 0)
		skip();
	fflush(stdout);
	saved = dup(1);
	assert_true(saved >= 0);
	dup2(full, 1);
	close(full);
	tl = timeline_open("-", 2, 2, 10);
	e = tl == NULL ? -1 : timeline_close(tl, 0);
	dup2(saved, 1);
	close(saved);
	assert_int_equal(e, SK_ERR_IO);
	assert_non_null(strstr(err_msg(), "<stdout>: write error"));
}

static void
test_bad_args(void **state)
{
	const char *path = tutil_path("bad.json");
	const uint32_t one = 5;
	struct timeline *tl;

	assert_null(timeline_open(path, 0, 8, 10));
	assert_int_equal(err_code(), SK_ERR_ARG);
	assert_null(timeline_open(path, 8, 0, 10));
	assert_non_null(tl = timeline_open(path, 4, 2, 10));
	assert_int_equal(timeline_op(tl, 4, 0, "x", 0, 1, 0, 0, TIMELINE_FORWARD, 0, &one, 1),
	    SK_ERR_ARG);
	assert_int_equal(timeline_op(tl, -1, 0, "x", 0, 1, 0, 0, TIMELINE_FORWARD, 0, &one, 1),
	    SK_ERR_ARG);
	assert_int_equal(timeline_op(tl, 0, 3, "x", 0, 1, 0, 0, TIMELINE_FORWARD, 0, &one, 1),
	    SK_ERR_ARG);
	assert_int_equal(timeline_op(tl, 0, -1, "x", 0, 1, 0, 0, TIMELINE_FORWARD, 0, &one, 1),
	    SK_ERR_ARG);
	assert_int_equal(timeline_op(tl, 0, 0, "x", -1, 1, 0, 0, TIMELINE_FORWARD, 0, &one, 1),
	    SK_ERR_ARG);
	assert_int_equal(timeline_op(tl, 0, 0, "x", 0, -1, 0, 0, TIMELINE_FORWARD, 0, &one, 1),
	    SK_ERR_ARG);
	assert_int_equal(timeline_op(tl, 0, 0, NULL, 0, 1, 0, 0, TIMELINE_FORWARD, 0, &one, 1),
	    SK_ERR_ARG);
	assert_int_equal(timeline_op(tl, 0, 0, "x", 0, 1, 0, 0, TIMELINE_FORWARD, 0, NULL, 1),
	    SK_ERR_ARG);
	assert_int_equal(timeline_memory(tl, 0, 0, NAN), SK_ERR_ARG);
	assert_int_equal(timeline_memory(tl, 0, 0, -1), SK_ERR_ARG);
	assert_int_equal(timeline_oom(tl, 0, 0, INFINITY, 1), SK_ERR_ARG);
	/* rejected calls are neither written nor dropped */
	assert_int_equal(timeline_events(tl), 0);
	assert_int_equal(timeline_dropped(tl), 0);
	assert_int_equal(timeline_close(tl, 1), SK_OK);
}

/* The span event named name on tid: 1 and its start and end (ns), or 0. */
static int
span_of(const cJSON *events, int tid, const char *name, long long *t0,
    long long *t1)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, events)
		if (strcmp(str(e, "ph"), "X") == 0 &&
		    strcmp(str(e, "cat"), "span") == 0 &&
		    (int)num(e, "tid") == tid &&
		    strcmp(str(e, "name"), name) == 0) {
			*t0 = ns(num(e, "ts"));
			*t1 = *t0 + ns(num(e, "dur"));
			return 1;
		}
	return 0;
}

/*
 * Phase and layer in every operation's args; the spans of two iterations
 * worked out by hand.  GPU 0 (1 per node: pid 1, streams tids 1-3, span
 * track tid 4), iteration 0: forward mb 0 layers 0, 1 on compute at 100
 * for 50 and 150 for 80; a comm all-gather at 120 for 80; the head at 230
 * for 10; backward layers 1, 0 at 240 for 60, 300 for 90; then forward
 * mb 1 at 390 for 5 (a new micro-batch closes the backward); the step's
 * optimizer at 395 for 5 and a DP gradient at 400 for 100.  Spans:
 * forward mb 0 [100, 230], backward mb 0 [240, 390], forward mb 1
 * [390, 395], iteration 0 [100, 500] (the DP gradient's end), each inside
 * it and disjoint.  Iteration 1: one forward at 600 for 100: forward mb 0
 * and iteration 1, both [600, 700].  GPU 1 runs nothing: no spans.
 */
static void
test_spans(void **state)
{
	const char *path = tutil_path("spans.json");
	struct timeline *tl;
	const cJSON *events, *e, *args;
	cJSON *root;
	long long a, b;
	size_t first;
	int nspan = 0, nop = 0;

	assert_non_null(tl = timeline_open(path, 2, 1, 100));
	assert_int_equal(timeline_iter(tl, 0), SK_OK);
	assert_int_equal(timeline_op(tl, 0, 0, "qkv", 100, 50, 0, 0,
	    TIMELINE_FORWARD, 0, NULL, 0), SK_OK);
	assert_int_equal(timeline_coll(tl, 0, "cp_allgather", 120, 80, 0, 0,
	    TIMELINE_FORWARD, 1, 0, 2, NULL, 0), SK_OK);
	assert_int_equal(timeline_op(tl, 0, 0, "qkv", 150, 80, 0, 0,
	    TIMELINE_FORWARD, 1, NULL, 0), SK_OK);
	assert_int_equal(timeline_op(tl, 0, 0, "head", 230, 10, 0, 0,
	    TIMELINE_HEAD, -1, NULL, 0), SK_OK);
	assert_int_equal(timeline_op(tl, 0, 0, "qkv_b", 240, 60, 0, 0,
	    TIMELINE_BACKWARD, 1, NULL, 0), SK_OK);
	assert_int_equal(timeline_op(tl, 0, 0, "qkv_b", 300, 90, 0, 0,
	    TIMELINE_BACKWARD, 0, NULL, 0), SK_OK);
	assert_int_equal(timeline_op(tl, 0, 0, "qkv", 390, 5, 0, 1,
	    TIMELINE_FORWARD, 0, NULL, 0), SK_OK);
	assert_int_equal(timeline_op(tl, 0, 0, "optimizer", 395, 5, 0, 2,
	    TIMELINE_STEP, -1, NULL, 0), SK_OK);
	assert_int_equal(timeline_op(tl, 0, 2, "dp_grad", 400, 100, 0, 2,
	    TIMELINE_STEP, 7, NULL, 0), SK_OK);
	assert_int_equal(timeline_iter(tl, 1), SK_OK);
	assert_int_equal(timeline_op(tl, 0, 0, "qkv", 600, 100, 1, 0,
	    TIMELINE_FORWARD, 0, NULL, 0), SK_OK);
	assert_int_equal(timeline_close(tl, 0), SK_OK);

	root = load(path);
	events = item(root, "traceEvents");
	assert_true(span_of(events, 4, "forward mb 0", &a, &b));
	assert_true(a == 100 && b == 230);
	assert_true(span_of(events, 4, "backward mb 0", &a, &b));
	assert_true(a == 240 && b == 390);
	assert_true(span_of(events, 4, "forward mb 1", &a, &b));
	assert_true(a == 390 && b == 395);
	assert_true(span_of(events, 4, "iteration 0", &a, &b));
	assert_true(a == 100 && b == 500);
	assert_true(span_of(events, 4, "iteration 1", &a, &b));
	assert_true(a == 600 && b == 700);
	/* GPU 1's track (pid 2, tid 4) holds nothing */
	cJSON_ArrayForEach(e, events) {
		if (strcmp(str(e, "ph"), "X") != 0)
			continue;
		args = item(e, "args");
		if (strcmp(str(e, "cat"), "span") == 0) {
			assert_near(num(e, "pid"), 1, 0);
			nspan++;
			continue;
		}
		nop++;
		/* the phase always, the layer unless head or optimizer */
		if (strcmp(str(e, "name"), "head") == 0) {
			assert_string_equal(str(args, "phase"), "head");
			assert_null(cJSON_GetObjectItemCaseSensitive(args,
			    "layer"));
		} else if (strcmp(str(e, "name"), "optimizer") == 0) {
			assert_string_equal(str(args, "phase"), "step");
			assert_null(cJSON_GetObjectItemCaseSensitive(args,
			    "layer"));
		} else if (strcmp(str(e, "name"), "dp_grad") == 0) {
			assert_string_equal(str(args, "phase"), "step");
			assert_near(num(args, "layer"), 7, 0);
		} else if (strcmp(str(e, "name"), "qkv_b") == 0) {
			assert_string_equal(str(args, "phase"), "backward");
			assert_true(num(args, "layer") == 0 ||
			    num(args, "layer") == 1);
		} else {
			assert_string_equal(str(args, "phase"), "forward");
		}
	}
	assert_int_equal(nspan, 6);
	assert_int_equal(nop, 10);
	cJSON_Delete(root);

	/* The cap, 3 events: iteration 4's two operations and its forward
	 * span fit, its iteration span is the first dropped (the spans are
	 * written as iteration 5 begins), then iteration 5's operation. */
	assert_non_null(tl = timeline_open(path, 2, 1, 3));
	assert_false(timeline_first_dropped(tl, &first));
	assert_int_equal(timeline_iter(tl, 4), SK_OK);
	assert_int_equal(timeline_op(tl, 0, 0, "a", 0, 5, 4, 0,
	    TIMELINE_FORWARD, 0, NULL, 0), SK_OK);
	assert_int_equal(timeline_op(tl, 0, 0, "b", 5, 5, 4, 0,
	    TIMELINE_FORWARD, 1, NULL, 0), SK_OK);
	assert_int_equal(timeline_iter(tl, 5), SK_OK);
	assert_int_equal(timeline_op(tl, 0, 0, "c", 20, 5, 5, 0,
	    TIMELINE_FORWARD, 0, NULL, 0), SK_OK);
	assert_true(timeline_first_dropped(tl, &first));
	assert_int_equal(first, 4);
	assert_int_equal(timeline_events(tl), 3);
	assert_int_equal(timeline_dropped(tl), 2);
	assert_int_equal(timeline_close(tl, 0), SK_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_no_overlap),
		cmocka_unit_test(test_volume),
		cmocka_unit_test(test_atomic),
		cmocka_unit_test(test_write_error),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_spans),
	};

	return cmocka_run_group_tests(tests, tutil_setup_tmp,
	    tutil_teardown_tmp);
}
