/*
 * timeline: see timeline.h.
 *
 * Events are streamed through a fixed buffer into the temporary file of an
 * afile as they come, and the file is renamed into place at
 * timeline_close: a million events with their sample lists would take
 * gigabytes as a cJSON tree.  The header of the JSON object and the
 * metadata events are written at open, the closing part (with the count
 * of dropped events) at close, so the file is complete only once renamed.
 *
 * Process and thread ids start at 1 (pid = node + 1, tid = 3 x local GPU
 * + stream + 1): Perfetto handles pid 0 and tid 0 as the kernel's idle
 * task (google/perfetto#394); the names, which the viewers show, keep the
 * 0-based node and global GPU indices of the report.
 *
 * One writer at a time: callers serialise.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "afile.h"
#include "err.h"
#include "timeline.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define TL_BUF (64 * 1024)   /* bytes buffered between writes */
#define TL_SAMPLES_MAX 64    /* sample ids listed per event; "more" counts
                                the rest */

/* A GPU's open spans: its iteration's, and the compute stream's current
 * forward or backward. */
struct tl_span {
	int open;            /* the iteration span has an operation */
	sim_ns t0, t1;       /* its first start and last end, ns */
	int ph;              /* open phase span: TIMELINE_FORWARD or
	                        TIMELINE_BACKWARD; -1 none */
	size_t mb;           /* its micro-batch */
	sim_ns p0, p1;       /* its first start and last end, ns */
};

struct timeline {
	struct afile af;
	char *path;          /* copy of the destination */
	const char *name;    /* the destination as messages show it */
	int ngpus, gpus_per_node;
	size_t max_events, events, dropped;
	size_t iter;         /* timeline_iter's */
	size_t drop_iter;    /* iter at the first drop (dropped > 0) */
	int spans;           /* timeline_iter was called: spans are kept */
	struct tl_span *span;  /* ngpus */
	int any;             /* an event was written: the next needs a comma */
	struct afile_buf out;  /* over buf, into af */
	char buf[TL_BUF];
};

static void
put(struct timeline *tl, const char *s, size_t n)
{
	afile_buf_put(&tl->out, s, n);
}

static void
put_text(struct timeline *tl, const char *s)
{
	put(tl, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static void
putf(struct timeline *tl, const char *fmt, ...)
{
	char text[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	/* Only numbers and fixed words go through here: they fit. */
	put(tl, text, (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
}

/* v in decimal: the hot path's numbers, without vsnprintf's cost (it
 * would take most of the writer's time). */
static void
put_uint(struct timeline *tl, uint64_t v)
{
	char d[20];
	int n = sizeof d;

	do {
		d[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	put(tl, d + n, sizeof d - (size_t)n);
}

/* s as a JSON string, quotes included. */
static void
put_string(struct timeline *tl, const char *s)
{
	const char *run;

	put_text(tl, "\"");
	for (run = s; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(tl, run, (size_t)(s - run));
		if (c == '"' || c == '\\') {
			put_text(tl, "\\");
			put(tl, s, 1);
		} else {
			putf(tl, "\\u%04x", c);
		}
		run = s + 1;
	}
	put(tl, run, (size_t)(s - run));
	put_text(tl, "\"");
}

/* ns nanoseconds as microseconds, exactly: "12", "12.5", "12.345". */
static void
put_us(struct timeline *tl, sim_ns ns)
{
	int frac = (int)(ns % 1000);
	char d[4] = {
		'.', (char)('0' + frac / 100), (char)('0' + frac / 10 % 10),
		(char)('0' + frac % 10)
	};
	size_t n = sizeof d;

	put_uint(tl, (uint64_t)(ns / 1000));
	if (frac == 0)
		return;
	while (d[n - 1] == '0')
		n--;
	put(tl, d, n);
}

/* The separator and the members every event has. */
static void
begin_event(struct timeline *tl, const char *name, const char *ph, int pid)
{
	if (tl->any)
		put_text(tl, ",\n");
	tl->any = 1;
	put_text(tl, "{\"name\":");
	put_string(tl, name);
	put_text(tl, ",\"ph\":\"");
	put_text(tl, ph);
	put_text(tl, "\",\"pid\":");
	put_uint(tl, (uint64_t)pid);
}

static int
pid_of(const struct timeline *tl, int gpu)
{
	return gpu / tl->gpus_per_node + 1;
}

static const char *const stream_names[TIMELINE_STREAMS] = {
	"compute", "comm", "dp"
};

static const char *const phase_names[TIMELINE_NPHASES] = {
	"forward", "head", "backward", "step"
};

static int
tid_of(const struct timeline *tl, int gpu, int stream)
{
	return TIMELINE_STREAMS * (gpu % tl->gpus_per_node) + stream + 1;
}

/* GPU gpu's span track, after every stream's. */
static int
span_tid(const struct timeline *tl, int gpu)
{
	return TIMELINE_STREAMS * tl->gpus_per_node + gpu % tl->gpus_per_node +
	    1;
}

static int
status(const struct timeline *tl)
{
	return afile_buf_status(&tl->out);
}

/* Count a data event against the cap: 0 when it must be dropped. */
static int
keep(struct timeline *tl)
{
	if (tl->events >= tl->max_events) {
		if (tl->dropped++ == 0)
			tl->drop_iter = tl->iter;
		return 0;
	}
	tl->events++;
	return 1;
}

struct timeline *
timeline_open(const char *path, int ngpus, int gpus_per_node,
    size_t max_events)
{
	struct timeline *tl;
	char text[64];
	int nodes, n, g, s;

	if (ngpus < 1 || gpus_per_node < 1) {
		err_set(SK_ERR_ARG, "timeline: %d GPUs, %d per node", ngpus,
		    gpus_per_node);
		return NULL;
	}
	if ((tl = malloc(sizeof *tl)) == NULL ||
	    (tl->path = strdup(path)) == NULL ||
	    (tl->span = calloc((size_t)ngpus, sizeof *tl->span)) == NULL) {
		if (tl != NULL)
			free(tl->path);
		free(tl);
		err_set_at(SK_ERR_NOMEM, path, 0, "out of memory");
		return NULL;
	}
	tl->name = strcmp(path, "-") == 0 ? "<stdout>" : tl->path;
	tl->ngpus = ngpus;
	tl->gpus_per_node = gpus_per_node;
	tl->max_events = max_events;
	tl->events = tl->dropped = 0;
	tl->iter = tl->drop_iter = 0;
	tl->spans = 0;
	for (g = 0; g < ngpus; g++)
		tl->span[g].ph = -1;
	tl->any = 0;
	/* what the caller printed through stdio goes first */
	if (strcmp(path, "-") == 0 && fflush(stdout) != 0) {
		err_set_at(SK_ERR_IO, tl->name, 0, "write error: %s",
		    strerror(errno));
		goto fail;
	}
	if (afile_open(tl->path, &tl->af) != SK_OK)
		goto fail;
	afile_buf_init(&tl->out, tl->af.fd, tl->name, tl->buf, TL_BUF);
	afile_buf_attach(&tl->out, &tl->af);

	put_text(tl, "{\"traceEvents\":[\n");
	nodes = (ngpus + gpus_per_node - 1) / gpus_per_node;
	for (n = 0; n < nodes; n++) {
		begin_event(tl, "process_name", "M", n + 1);
		snprintf(text, sizeof text, "node %d", n);
		put_text(tl, ",\"args\":{\"name\":");
		put_string(tl, text);
		put_text(tl, "}}");
	}
	for (g = 0; g < ngpus; g++)
		for (s = 0; s < TIMELINE_STREAMS; s++) {
			begin_event(tl, "thread_name", "M", pid_of(tl, g));
			snprintf(text, sizeof text, "GPU %d %s", g,
			    stream_names[s]);
			putf(tl, ",\"tid\":%d,\"args\":{\"name\":",
			    tid_of(tl, g, s));
			put_string(tl, text);
			put_text(tl, "}}");
		}
	for (g = 0; g < ngpus; g++) {
		begin_event(tl, "thread_name", "M", pid_of(tl, g));
		snprintf(text, sizeof text, "GPU %d steps", g);
		putf(tl, ",\"tid\":%d,\"args\":{\"name\":", span_tid(tl, g));
		put_string(tl, text);
		put_text(tl, "}}");
	}
	if (status(tl) != SK_OK) {
		afile_abort(&tl->af, 0);
		goto fail;
	}
	return tl;
fail:
	free(tl->span);
	free(tl->path);
	free(tl);
	return NULL;
}

static int
check_gpu(const struct timeline *tl, int gpu, sim_ns t)
{
	if (gpu < 0 || gpu >= tl->ngpus)
		return err_set(SK_ERR_ARG, "timeline: GPU %d of %d", gpu,
		    tl->ngpus);
	if (t < 0)
		return err_set(SK_ERR_ARG, "timeline: time %" PRId64 " ns", t);
	return SK_OK;
}

/* An operation; a collective of the group of GPUs g0 .. g0 + gn - 1 when
 * gn > 0. */
/* A span event on gpu's span track: name, from t0 to t1, its args'
 * iteration, and its phase and micro-batch when ph >= 0. */
static int
span_event(struct timeline *tl, int gpu, const char *name, sim_ns t0,
    sim_ns t1, int ph, size_t mb)
{
	if (!keep(tl))
		return SK_OK;
	begin_event(tl, name, "X", pid_of(tl, gpu));
	put_text(tl, ",\"tid\":");
	put_uint(tl, (uint64_t)span_tid(tl, gpu));
	put_text(tl, ",\"cat\":\"span\",\"ts\":");
	put_us(tl, t0);
	put_text(tl, ",\"dur\":");
	put_us(tl, t1 - t0);
	put_text(tl, ",\"args\":{\"iter\":");
	put_uint(tl, tl->iter);
	if (ph >= 0) {
		put_text(tl, ",\"mb\":");
		put_uint(tl, mb);
		put_text(tl, ",\"phase\":\"");
		put_text(tl, phase_names[ph]);
		put_text(tl, "\"");
	}
	put_text(tl, "}}");
	return status(tl);
}

/* Write gpu's open forward or backward span. */
static int
close_phase(struct timeline *tl, int gpu)
{
	struct tl_span *s = &tl->span[gpu];
	char text[64];
	int ph = s->ph;

	if (ph < 0)
		return SK_OK;
	s->ph = -1;
	snprintf(text, sizeof text, "%s mb %zu", phase_names[ph], s->mb);
	return span_event(tl, gpu, text, s->p0, s->p1, ph, s->mb);
}

/* Write every GPU's spans of the current iteration. */
static int
close_spans(struct timeline *tl)
{
	char text[64];
	int g, e;

	if (!tl->spans)
		return SK_OK;
	snprintf(text, sizeof text, "iteration %zu", tl->iter);
	for (g = 0; g < tl->ngpus; g++) {
		if ((e = close_phase(tl, g)) != SK_OK)
			return e;
		if (tl->span[g].open && (e = span_event(tl, g, text,
		    tl->span[g].t0, tl->span[g].t1, -1, 0)) != SK_OK)
			return e;
		tl->span[g].open = 0;
	}
	return SK_OK;
}

/* An operation of gpu from t to end, phase ph, micro-batch mb on stream:
 * into its iteration span and (the compute stream's forward and
 * backward) its phase span, which a new phase or micro-batch closes. */
static int
track(struct timeline *tl, int gpu, int stream, sim_ns t, sim_ns end,
    int ph, size_t mb)
{
	struct tl_span *s = &tl->span[gpu];
	int e;

	if (!tl->spans)
		return SK_OK;
	if (!s->open || t < s->t0)
		s->t0 = t;
	if (!s->open || end > s->t1)
		s->t1 = end;
	s->open = 1;
	if (stream != 0)
		return SK_OK;
	if (s->ph >= 0 && (s->ph != ph || s->mb != mb) &&
	    (e = close_phase(tl, gpu)) != SK_OK)
		return e;
	if (ph != TIMELINE_FORWARD && ph != TIMELINE_BACKWARD)
		return SK_OK;
	if (s->ph < 0) {
		s->ph = ph;
		s->mb = mb;
		s->p0 = t;
		s->p1 = end;
	} else if (end > s->p1) {
		s->p1 = end;
	}
	return SK_OK;
}

static int
op_event(struct timeline *tl, int gpu, int stream, const char *name,
    sim_ns t, sim_ns dur, size_t iter, size_t mb, int ph, int layer,
    int g0, int gn, const uint32_t *samples, size_t n)
{
	size_t i, shown;
	int e;

	if ((e = check_gpu(tl, gpu, t)) != SK_OK)
		return e;
	if (stream < 0 || stream >= TIMELINE_STREAMS)
		return err_set(SK_ERR_ARG, "timeline: stream %d", stream);
	if (dur < 0)
		return err_set(SK_ERR_ARG, "timeline: duration %" PRId64 " ns",
		    dur);
	if (name == NULL || (samples == NULL && n > 0))
		return err_set(SK_ERR_ARG, "timeline: operation without %s",
		    name == NULL ? "a name" : "its samples");
	if (ph < 0 || ph >= TIMELINE_NPHASES)
		return err_set(SK_ERR_ARG, "timeline: phase %d", ph);
	if ((e = track(tl, gpu, stream, t, t + dur, ph, mb)) != SK_OK)
		return e;
	if (!keep(tl))
		return SK_OK;
	begin_event(tl, name, "X", pid_of(tl, gpu));
	put_text(tl, ",\"tid\":");
	put_uint(tl, (uint64_t)tid_of(tl, gpu, stream));
	put_text(tl, ",\"cat\":\"");
	put_text(tl, stream_names[stream]);
	put_text(tl, "\",\"ts\":");
	put_us(tl, t);
	put_text(tl, ",\"dur\":");
	put_us(tl, dur);
	put_text(tl, ",\"args\":{\"iter\":");
	put_uint(tl, iter);
	put_text(tl, ",\"mb\":");
	put_uint(tl, mb);
	put_text(tl, ",\"phase\":\"");
	put_text(tl, phase_names[ph]);
	put_text(tl, "\"");
	if (layer >= 0) {
		put_text(tl, ",\"layer\":");
		put_uint(tl, (uint64_t)layer);
	}
	if (gn > 0) {
		put_text(tl, ",\"group\":{\"gpu\":");
		put_uint(tl, (uint64_t)g0);
		put_text(tl, ",\"size\":");
		put_uint(tl, (uint64_t)gn);
		put_text(tl, "}");
	}
	if (n > 0) {
		shown = n < TL_SAMPLES_MAX ? n : TL_SAMPLES_MAX;
		put_text(tl, ",\"samples\":[");
		for (i = 0; i < shown; i++) {
			if (i > 0)
				put_text(tl, ",");
			put_uint(tl, samples[i]);
		}
		put_text(tl, "]");
		if (n > shown)
			putf(tl, ",\"more\":%zu", n - shown);
	}
	put_text(tl, "}}");
	return status(tl);
}

int
timeline_op(struct timeline *tl, int gpu, int stream, const char *name,
    sim_ns t, sim_ns dur, size_t iter, size_t mb, enum timeline_phase ph,
    int layer, const uint32_t *samples, size_t n)
{
	return op_event(tl, gpu, stream, name, t, dur, iter, mb, (int)ph,
	    layer, 0, 0, samples, n);
}

int
timeline_coll(struct timeline *tl, int gpu, const char *name, sim_ns t,
    sim_ns dur, size_t iter, size_t mb, enum timeline_phase ph, int layer,
    int g0, int size, const uint32_t *samples, size_t n)
{
	if (g0 < 0 || size < 1 || gpu < g0 || gpu - g0 >= size)
		return err_set(SK_ERR_ARG, "timeline: GPU %d in a group of %d "
		    "from GPU %d", gpu, size, g0);
	return op_event(tl, gpu, 1, name, t, dur, iter, mb, (int)ph, layer,
	    g0, size, samples, n);
}

int
timeline_memory(struct timeline *tl, int gpu, sim_ns t, double bytes)
{
	char text[64];
	int e;

	if ((e = check_gpu(tl, gpu, t)) != SK_OK)
		return e;
	if (!isfinite(bytes) || bytes < 0)
		return err_set(SK_ERR_ARG, "timeline: memory of %g bytes", bytes);
	if (!keep(tl))
		return SK_OK;
	snprintf(text, sizeof text, "memory GPU %d", gpu);
	begin_event(tl, text, "C", pid_of(tl, gpu));
	putf(tl, ",\"tid\":%d,\"ts\":", tid_of(tl, gpu, 0));
	put_us(tl, t);
	putf(tl, ",\"args\":{\"bytes\":%.17g}}", bytes);
	return status(tl);
}

int
timeline_oom(struct timeline *tl, int gpu, sim_ns t, double need,
    double avail)
{
	int e;

	if ((e = check_gpu(tl, gpu, t)) != SK_OK)
		return e;
	if (!isfinite(need) || !isfinite(avail))
		return err_set(SK_ERR_ARG, "timeline: OOM of %g bytes in %g",
		    need, avail);
	if (!keep(tl))
		return SK_OK;
	begin_event(tl, "OOM", "i", pid_of(tl, gpu));
	putf(tl, ",\"tid\":%d,\"s\":\"t\",\"ts\":", tid_of(tl, gpu, 0));
	put_us(tl, t);
	putf(tl, ",\"args\":{\"need\":%.17g,\"avail\":%.17g}}", need, avail);
	return status(tl);
}

int
timeline_iter(struct timeline *tl, size_t iter)
{
	int e = close_spans(tl);

	tl->spans = 1;
	tl->iter = iter;
	return e;
}

int
timeline_iter_end(struct timeline *tl)
{
	return close_spans(tl);
}

int
timeline_first_dropped(const struct timeline *tl, size_t *iter)
{
	if (tl->dropped == 0)
		return 0;
	*iter = tl->drop_iter;
	return 1;
}

size_t
timeline_events(const struct timeline *tl)
{
	return tl->events;
}

size_t
timeline_dropped(const struct timeline *tl)
{
	return tl->dropped;
}

int
timeline_close(struct timeline *tl, int abort_only)
{
	int e = SK_OK;

	if (tl == NULL)
		return SK_OK;
	if (abort_only) {
		afile_abort(&tl->af, 0);
		goto out;
	}
	if ((e = close_spans(tl)) != SK_OK) {
		afile_abort(&tl->af, 0);
		goto out;
	}
	put_text(tl, "\n],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":{"
	    "\"skrull_version\":");
	put_string(tl, PACKAGE_VERSION);
	putf(tl, ",\"skrull_dropped_events\":%zu}}\n", tl->dropped);
	if ((e = afile_buf_flush(&tl->out)) != SK_OK)
		afile_abort(&tl->af, 0);
	else
		e = afile_commit(&tl->af, 0);
out:
	free(tl->span);
	free(tl->path);
	free(tl);
	return e;
}
