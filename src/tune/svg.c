/*
 * svg: see svg.h.
 *
 * The file is streamed through a fixed buffer into the temporary file of
 * an afile, as timeline.c does: the first failed write is remembered and
 * reported once, at the end, so the drawing code stays free of checks.
 * Coordinates are printed with two decimals (a hundredth of a pixel).
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "afile.h"
#include "err.h"
#include "svg.h"

#define SVG_BUF (16 * 1024)   /* bytes buffered between writes */
#define COLOR_Y "#1f5fa8"     /* the first series */
#define COLOR_Y2 "#7a7a7a"    /* the second series */
#define COLOR_OOM "#d62728"   /* OOM crosses and boundary */
#define COLOR_WIN "#2ca02c"     /* the chosen point's line */
#define COLOR_GRID "#e4e4e4"
#define COLOR_AXIS "#333333"
#define CROSS 5.0             /* px: half the size of an OOM cross */

struct svgw {
	struct afile af;
	struct afile_buf out;  /* over buf, into af */
	char buf[SVG_BUF];
};

/* A panel's axis: its ticks and where they lie on the page. */
struct axis {
	struct svg_ticks t;
	int log2;          /* values mapped through log2 */
	double p0, p1;     /* px of the first and the last tick */
};

static void
put(struct svgw *w, const char *s, size_t n)
{
	afile_buf_put(&w->out, s, n);
}

static void
puts_(struct svgw *w, const char *s)
{
	put(w, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static void
putf(struct svgw *w, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	/* Only numbers, colours and fixed words go through here: they fit. */
	if (n > 0)
		put(w, text, (size_t)n < sizeof text ? (size_t)n :
		    sizeof text - 1);
}

/* Length of the valid UTF-8 sequence XML 1.0 allows at s, 0 if none. */
static size_t
utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n, i;

	if (c < 0x80)
		return c >= 0x20 || c == '\t' || c == '\n' || c == '\r';
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	/* Overlong forms, surrogates, beyond U+10FFFF, and U+FFFE/U+FFFF,
	 * which XML excludes. */
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f) ||
	    (c == 0xef && s[1] == 0xbf && s[2] >= 0xbe))
		return 0;
	return n;
}

/* s as XML character data or attribute text. */
static void
put_escaped(struct svgw *w, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	while (*p != '\0') {
		if ((n = utf8_len(p)) == 0) {
			puts_(w, "?");
			p++;
			continue;
		}
		switch (*p) {
		case '&': puts_(w, "&amp;"); break;
		case '<': puts_(w, "&lt;"); break;
		case '>': puts_(w, "&gt;"); break;
		case '"': puts_(w, "&quot;"); break;
		case '\'': puts_(w, "&apos;"); break;
		default: put(w, (const char *)p, n); break;
		}
		p += n;
	}
}

int
svg_nice_ticks(double lo, double hi, int max, struct svg_ticks *t)
{
	static const double mant[] = { 1, 2, 5 };
	double step, a, b, d;
	int k, i;

	if (!isfinite(lo) || !isfinite(hi) || lo > hi || max < 3 ||
	    !isfinite(hi - lo))
		return err_set(SK_ERR_ARG, "svg: axis range [%g, %g] with at "
		    "most %d ticks: need finite lo <= hi and at least 3 ticks",
		    lo, hi, max);
	if (lo == hi) {
		d = lo == 0 ? 1 : fabs(lo) / 10;
		lo -= d;
		hi += d;
	}
	/* Start a decade below the step that max - 1 equal parts would
	 * take; a step of at least hi - lo gives at most 3 ticks, so the
	 * search ends. */
	k = (int)floor(log10((hi - lo) / (max - 1))) - 1;
	for (;; k++) {
		for (i = 0; i < 3; i++) {
			step = mant[i] * pow(10, k);
			/* A tolerance of 1e-9 steps keeps an end that is a
			 * multiple of step in rounding from adding a tick. */
			a = floor(lo / step + 1e-9);
			b = ceil(hi / step - 1e-9);
			if (b - a + 1 <= max) {
				t->lo = a * step;
				t->step = step;
				t->n = (int)(b - a) + 1;
				return SK_OK;
			}
		}
	}
}

int
svg_log2_ticks(double lo, double hi, int max, struct svg_ticks *t)
{
	double e0, e1;
	int step;

	if (!isfinite(lo) || !isfinite(hi) || lo <= 0 || lo > hi || max < 3)
		return err_set(SK_ERR_ARG, "svg: log2 axis range [%g, %g] with "
		    "at most %d ticks: need finite 0 < lo <= hi and at least 3 "
		    "ticks", lo, hi, max);
	e0 = floor(log2(lo) + 1e-9);
	e1 = ceil(log2(hi) - 1e-9);
	if (e1 <= e0)
		e1 = e0 + 1;
	step = (int)ceil((e1 - e0) / (max - 1));
	t->lo = e0;
	t->step = step;
	t->n = (int)ceil((e1 - e0) / step) + 1;
	return SK_OK;
}

/* The i-th tick's value: on a log2 axis, the exponent. */
static double
tick(const struct axis *ax, int i)
{
	double v = ax->t.lo + i * ax->t.step;

	/* (a + i) step can land a rounding error off 0: print "0". */
	return fabs(v) < ax->t.step * 1e-9 ? 0 : v;
}

static double
map(const struct axis *ax, double v)
{
	double span = (ax->t.n - 1) * ax->t.step;

	if (ax->log2)
		v = log2(v);
	return ax->p0 + (v - ax->t.lo) / span * (ax->p1 - ax->p0);
}

/* The label of tick i, with as many decimals as the step needs. */
static void
tick_label(const struct axis *ax, int i, char *s, size_t n)
{
	double v = tick(ax, i);
	int dec;

	if (ax->log2) {
		if (v >= 0)
			snprintf(s, n, "%.0f", exp2(v));
		else
			snprintf(s, n, "%g", exp2(v));
		return;
	}
	dec = (int)-floor(log10(ax->t.step) + 1e-9);
	snprintf(s, n, "%.*f", dec > 0 ? dec : 0, v);
}

/* The range of the finite values of v[0..n) and extra (NAN: none);
 * [0, 1] if there are none. */
static void
range(const double *v, size_t n, double extra, double *lo, double *hi)
{
	size_t i;

	*lo = INFINITY;
	*hi = -INFINITY;
	for (i = 0; i < n; i++) {
		if (!isfinite(v[i]))
			continue;
		*lo = fmin(*lo, v[i]);
		*hi = fmax(*hi, v[i]);
	}
	if (isfinite(extra)) {
		*lo = fmin(*lo, extra);
		*hi = fmax(*hi, extra);
	}
	if (*lo > *hi) {
		*lo = 0;
		*hi = 1;
	}
}

static int
check_panel(const struct svg_panel *p, size_t k)
{
	size_t i;

	if (p->n == 0 || p->x == NULL || p->y == NULL)
		return err_set(SK_ERR_ARG, "svg: panel %zu has no points", k);
	if (!p->xlog2)
		return SK_OK;
	for (i = 0; i < p->n; i++)
		if (isfinite(p->x[i]) && p->x[i] <= 0)
			return err_set(SK_ERR_ARG, "svg: panel %zu: x = %g on a "
			    "logarithmic axis", k, p->x[i]);
	if (isfinite(p->boundary) && p->boundary <= 0)
		return err_set(SK_ERR_ARG, "svg: panel %zu: boundary at x = %g "
		    "on a logarithmic axis", k, p->boundary);
	return SK_OK;
}

static void
text(struct svgw *w, double x, double y, const char *anchor, int size,
     const char *s)
{
	putf(w, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"%s\" "
	    "font-size=\"%d\">", x, y, anchor, size);
	put_escaped(w, s);
	puts_(w, "</text>\n");
}

/* Text turned by deg degrees about its anchor point. */
static void
text_turned(struct svgw *w, double x, double y, int deg, const char *s)
{
	putf(w, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" "
	    "font-size=\"13\" transform=\"rotate(%d %.2f %.2f)\">", x, y, deg,
	    x, y);
	put_escaped(w, s);
	puts_(w, "</text>\n");
}

static int
finite_point(const struct svg_panel *p, const double *y, size_t i)
{
	return isfinite(p->x[i]) && isfinite(y[i]);
}

/* A series: a line through its finite points, then a marker on each
 * (filled circles or, for y2, hollow squares; OOM points red crosses). */
static void
series(struct svgw *w, const struct svg_panel *p, const double *y,
       const struct axis *ax, const struct axis *ay, int second)
{
	const char *color = second ? COLOR_Y2 : COLOR_Y;
	const char *sep = "";
	double px, py;
	size_t i;

	putf(w, "<polyline class=\"%s\" fill=\"none\" stroke=\"%s\" "
	    "stroke-width=\"%s\"%s points=\"", second ? "series2" : "series",
	    color, second ? "1.5" : "2",
	    second ? " stroke-dasharray=\"5,3\"" : "");
	for (i = 0; i < p->n; i++) {
		if (!finite_point(p, y, i))
			continue;
		putf(w, "%s%.2f,%.2f", sep, map(ax, p->x[i]), map(ay, y[i]));
		sep = " ";
	}
	puts_(w, "\"/>\n");
	for (i = 0; i < p->n; i++) {
		if (!finite_point(p, y, i))
			continue;
		px = map(ax, p->x[i]);
		py = map(ay, y[i]);
		if (p->oom != NULL && p->oom[i])
			putf(w, "<path class=\"oom\" d=\"M%.2f,%.2f L%.2f,%.2f "
			    "M%.2f,%.2f L%.2f,%.2f\" stroke=\"%s\" "
			    "stroke-width=\"2\"/>\n", px - CROSS, py - CROSS,
			    px + CROSS, py + CROSS, px - CROSS, py + CROSS,
			    px + CROSS, py - CROSS, COLOR_OOM);
		else if (second)
			putf(w, "<rect x=\"%.2f\" y=\"%.2f\" width=\"6\" "
			    "height=\"6\" fill=\"white\" stroke=\"%s\"/>\n",
			    px - 3, py - 3, color);
		else
			putf(w, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\" "
			    "fill=\"%s\"/>\n", px, py, color);
	}
}

/* A legend row: a line of the series' style and its name. */
static void
legend_line(struct svgw *w, double left, double top, int row,
            const char *color, const char *width, const char *dash,
            const char *name)
{
	double y = top + 14 + 16.0 * row;

	putf(w, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
	    "stroke=\"%s\" stroke-width=\"%s\"%s%s%s/>\n", left + 8, y,
	    left + 28, y, color, width, dash != NULL ? " stroke-dasharray=\"" :
	    "", dash != NULL ? dash : "", dash != NULL ? "\"" : "");
	text(w, left + 32, y + 4, "start", 11, name != NULL ? name : "");
}

/* The band of y2 (y2_lo to y2_hi) shaded: a polygon per run of points
 * where all three are finite, so a gap is not bridged. */
static void
band(struct svgw *w, const struct svg_panel *p, const struct axis *ax,
     const struct axis *ay)
{
	size_t i = 0, a, k;

	while (i < p->n) {
		for (a = i; a < p->n && !(isfinite(p->x[a]) &&
		    isfinite(p->y2_lo[a]) && isfinite(p->y2_hi[a])); a++)
			;
		for (i = a; i < p->n && isfinite(p->x[i]) &&
		    isfinite(p->y2_lo[i]) && isfinite(p->y2_hi[i]); i++)
			;
		if (a == i)
			continue;
		puts_(w, "<polygon class=\"band\" points=\"");
		for (k = a; k < i; k++)
			putf(w, "%.2f,%.2f ", map(ax, p->x[k]),
			    map(ay, p->y2_hi[k]));
		for (k = i; k-- > a;)
			putf(w, "%.2f,%.2f%s", map(ax, p->x[k]),
			    map(ay, p->y2_lo[k]), k > a ? " " : "");
		putf(w, "\" fill=\"%s\" fill-opacity=\"0.25\" "
		    "stroke=\"none\"/>\n", COLOR_Y2);
	}
}

/* With nanlabel: each point of finite x without a finite y named at its
 * x, above the axis, "OOM" (red) or "infeasible" (grey); their count. */
static int
missing(struct svgw *w, const struct svg_panel *p, const struct axis *ax,
        double bottom)
{
	double px;
	size_t i;
	int n = 0;

	for (i = 0; p->nanlabel != NULL && i < p->n; i++) {
		if (!isfinite(p->x[i]) || isfinite(p->y[i]))
			continue;
		px = map(ax, p->x[i]);
		putf(w, "<text class=\"missing\" x=\"%.2f\" y=\"%.2f\" "
		    "text-anchor=\"start\" font-size=\"10\" fill=\"%s\" "
		    "transform=\"rotate(-90 %.2f %.2f)\">%s</text>\n", px + 3,
		    bottom - 6, p->oom != NULL && p->oom[i] ? COLOR_OOM :
		    COLOR_Y2, px + 3, bottom - 6, p->oom != NULL && p->oom[i] ?
		    "OOM" : "infeasible");
		n++;
	}
	return n;
}

static int
panel(struct svgw *w, const struct svg_panel *p, size_t k)
{
	struct axis ax = { 0 }, ay = { 0 }, ay2 = { 0 };
	double left, right, top, bottom, lo, hi, v;
	char label[64];
	int i, rc, nans, row, rows, win;

	left = (double)k * SVG_PANEL_W + SVG_MARGIN_L;
	right = (double)(k + 1) * SVG_PANEL_W - SVG_MARGIN_R;
	top = SVG_TITLE_H + SVG_MARGIN_T;
	bottom = SVG_TITLE_H + SVG_PANEL_H - SVG_MARGIN_B;

	range(p->x, p->n, p->boundary, &lo, &hi);
	ax.log2 = p->xlog2;
	rc = ax.log2 ? svg_log2_ticks(lo, hi, SVG_MAX_TICKS, &ax.t) :
	    svg_nice_ticks(lo, hi, SVG_MAX_TICKS, &ax.t);
	if (rc != SK_OK)
		return rc;
	ax.p0 = left;
	ax.p1 = right;
	range(p->y, p->n, p->ref, &lo, &hi);
	if ((rc = svg_nice_ticks(lo, hi, SVG_MAX_TICKS, &ay.t)) != SK_OK)
		return rc;
	ay.p0 = bottom;
	ay.p1 = top;
	if (p->y2 != NULL) {
		range(p->y2, p->n, NAN, &lo, &hi);
		if (p->y2_lo != NULL && p->y2_hi != NULL) {
			range(p->y2_lo, p->n, lo, &lo, &v);
			range(p->y2_hi, p->n, hi, &v, &hi);
		}
		if ((rc = svg_nice_ticks(lo, hi, SVG_MAX_TICKS, &ay2.t)) !=
		    SK_OK)
			return rc;
		ay2.p0 = bottom;
		ay2.p1 = top;
	}

	putf(w, "<g class=\"panel\" id=\"panel%zu\">\n", k);
	putf(w, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
	    "fill=\"white\" stroke=\"%s\"/>\n", left, top, right - left,
	    bottom - top, COLOR_AXIS);
	for (i = 0; i < ax.t.n; i++) {
		v = ax.p0 + (ax.p1 - ax.p0) * i / (ax.t.n - 1);
		putf(w, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
		    "stroke=\"%s\"/>\n", v, top, v, bottom, COLOR_GRID);
		putf(w, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
		    "stroke=\"%s\"/>\n", v, bottom, v, bottom + 5, COLOR_AXIS);
		tick_label(&ax, i, label, sizeof label);
		text(w, v, bottom + 18, "middle", 11, label);
	}
	for (i = 0; i < ay.t.n; i++) {
		v = ay.p0 + (ay.p1 - ay.p0) * i / (ay.t.n - 1);
		putf(w, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
		    "stroke=\"%s\"/>\n", left, v, right, v, COLOR_GRID);
		putf(w, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
		    "stroke=\"%s\"/>\n", left - 5, v, left, v, COLOR_AXIS);
		tick_label(&ay, i, label, sizeof label);
		text(w, left - 8, v + 4, "end", 11, label);
	}
	for (i = 0; p->y2 != NULL && i < ay2.t.n; i++) {
		v = ay2.p0 + (ay2.p1 - ay2.p0) * i / (ay2.t.n - 1);
		putf(w, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
		    "stroke=\"%s\"/>\n", right, v, right + 5, v, COLOR_Y2);
		tick_label(&ay2, i, label, sizeof label);
		text(w, right + 8, v + 4, "start", 11, label);
	}
	/* The frame again, over the grid lines. */
	putf(w, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
	    "fill=\"none\" stroke=\"%s\"/>\n", left, top, right - left,
	    bottom - top, COLOR_AXIS);

	if (isfinite(p->ref)) {
		v = map(&ay, p->ref);
		putf(w, "<line class=\"ref\" x1=\"%.2f\" y1=\"%.2f\" "
		    "x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" "
		    "stroke-dasharray=\"2,3\"/>\n", left, v, right, v,
		    COLOR_AXIS);
	}
	if (isfinite(p->boundary)) {
		v = map(&ax, p->boundary);
		putf(w, "<line class=\"boundary\" x1=\"%.2f\" y1=\"%.2f\" "
		    "x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" stroke-width=\"1.5\" "
		    "stroke-dasharray=\"6,4\"/>\n", v, top, v, bottom,
		    COLOR_OOM);
		putf(w, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" "
		    "font-size=\"11\" fill=\"%s\">OOM</text>\n", v, top - 4,
		    COLOR_OOM);
	}
	if (p->y2 != NULL && p->y2_lo != NULL && p->y2_hi != NULL)
		band(w, p, &ax, &ay2);
	if (p->y2 != NULL)
		series(w, p, p->y2, &ax, &ay2, 1);
	series(w, p, p->y, &ax, &ay, 0);
	nans = missing(w, p, &ax, bottom);
	/* Outside the axis (a winner between sweep points beyond the
	 * ticks) it is not drawn, nor is its legend line. */
	win = p->winlabel != NULL && isfinite(p->win) && (!ax.log2 || p->win > 0) &&
	    map(&ax, p->win) >= left - 0.5 && map(&ax, p->win) <= right + 0.5;
	if (win) {
		v = map(&ax, p->win);
		putf(w, "<line class=\"win\" x1=\"%.2f\" y1=\"%.2f\" "
		    "x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" stroke-width=\"2\" "
		    "stroke-dasharray=\"2,2\"/>\n", v, top, v, bottom, COLOR_WIN);
	}

	if (p->title != NULL)
		text(w, (left + right) / 2, SVG_TITLE_H + 20, "middle", 14,
		    p->title);
	if (p->xlabel != NULL)
		text(w, (left + right) / 2, bottom + 40, "middle", 13,
		    p->xlabel);
	if (p->ylabel != NULL)
		text_turned(w, left - 50, (top + bottom) / 2, -90, p->ylabel);
	if (p->y2 != NULL && p->y2label != NULL)
		text_turned(w, right + 50, (top + bottom) / 2, 90, p->y2label);
	/* The legend, top left inside the plot: the series when there are
	 * two, then each extra element drawn. */
	row = 0;
	rows = (p->y2 != NULL ? 2 : 0) + (p->y2 != NULL && p->y2_lo != NULL &&
	    p->y2_hi != NULL) + win + (nans > 0);
	/* A light white backing: the legend readable, the curves under it
	 * still seen. */
	if (rows > 0)
		putf(w, "<rect class=\"legend\" x=\"%.2f\" y=\"%.2f\" "
		    "width=\"190\" height=\"%.2f\" fill=\"white\" "
		    "fill-opacity=\"0.6\"/>\n", left + 4, top + 4,
		    16.0 * rows + 4);
	if (p->y2 != NULL) {
		legend_line(w, left, top, row++, COLOR_Y, "2", NULL, p->ylabel);
		legend_line(w, left, top, row++, COLOR_Y2, "1.5", "5,3",
		    p->y2label);
	}
	if (p->y2 != NULL && p->y2_lo != NULL && p->y2_hi != NULL) {
		putf(w, "<rect x=\"%.2f\" y=\"%.2f\" width=\"20\" "
		    "height=\"10\" fill=\"%s\" fill-opacity=\"0.25\"/>\n",
		    left + 8, top + 9 + 16.0 * row, COLOR_Y2);
		text(w, left + 32, top + 18 + 16.0 * row++, "start", 11,
		    p->bandlabel != NULL ? p->bandlabel : "");
	}
	if (win) {
		legend_line(w, left, top, row++, COLOR_WIN, "2", "2,2",
		    p->winlabel);
	}
	if (nans > 0)
		text(w, left + 8, top + 18 + 16.0 * row++, "start", 11,
		    p->nanlabel);
	puts_(w, "</g>\n");
	return SK_OK;
}

/* The document's head: the XML declaration, the svg element, its title
 * and a white page with the title on it. */
static void
head(struct svgw *w, const char *title, int width, int height)
{
	puts_(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	putf(w, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
	    "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	    "font-family=\"Helvetica, Arial, sans-serif\" fill=\"%s\">\n",
	    width, height, width, height, COLOR_AXIS);
	if (title != NULL) {
		puts_(w, "<title>");
		put_escaped(w, title);
		puts_(w, "</title>\n");
	}
	putf(w, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" "
	    "fill=\"white\"/>\n", width, height);
	if (title != NULL)
		text(w, width / 2.0, 24, "middle", 16, title);
}

/*
 * Write a document of n panels (1 .. SVG_MAX_PANELS), each checked by
 * check(items, k), then drawn by draw(w, items, k), width x height px,
 * with its title, through an afile: whole or not at all.
 */
static int
write_doc(const char *path, const char *title, int width, int height,
    size_t n, int (*check)(const void *, size_t),
    int (*draw)(struct svgw *, const void *, size_t), const void *items)
{
	struct svgw *w;
	size_t k;
	int rc;

	if (n == 0 || n > SVG_MAX_PANELS)
		return err_set_at(SK_ERR_ARG, path, 0, "svg: %zu panels, need 1 "
		    "to %d", n, SVG_MAX_PANELS);
	for (k = 0; k < n; k++)
		if ((rc = check(items, k)) != SK_OK)
			return rc;
	/* The buffer is too big for the stack of a worker thread. */
	if ((w = malloc(sizeof *w)) == NULL)
		return err_set_at(SK_ERR_NOMEM, path, 0, "out of memory");
	if ((rc = afile_open(path, &w->af)) != SK_OK) {
		free(w);
		return rc;
	}
	afile_buf_init(&w->out, w->af.fd, path, w->buf, SVG_BUF);
	head(w, title, width, height);
	for (k = 0; k < n; k++)
		if ((rc = draw(w, items, k)) != SK_OK)
			goto fail;
	puts_(w, "</svg>\n");
	if ((rc = afile_buf_flush(&w->out)) != SK_OK)
		goto fail;
	rc = afile_commit(&w->af, 0);
	free(w);
	return rc;

fail:
	afile_abort(&w->af, 0);
	free(w);
	return rc;
}

static int
check_one_panel(const void *items, size_t k)
{
	return check_panel((const struct svg_panel *)items + k, k);
}

static int
draw_panel(struct svgw *w, const void *items, size_t k)
{
	return panel(w, (const struct svg_panel *)items + k, k);
}

int
svg_write(const char *path, const char *title, const struct svg_panel *p,
          size_t npanels)
{
	return write_doc(path, title, (int)npanels * SVG_PANEL_W,
	    SVG_TITLE_H + SVG_PANEL_H, npanels, check_one_panel, draw_panel, p);
}

/* ---- Bar charts ---- */

/* The series' colours: distinct in hue and in lightness (readable in grey
 * print): blue, orange, grey, green, purple, brown. */
static const char *const bar_color[SVG_MAX_SERIES] = {
	"#1f5fa8", "#f28e2b", "#9a9a9a", "#59a14f", "#8c5fb0", "#9c755f",
};

static int
check_bars(const struct svg_bars *b, size_t k)
{
	size_t i;

	if (b->ncat == 0 || b->cat == NULL || b->v == NULL || b->nser == 0 ||
	    b->nser > SVG_MAX_SERIES || b->name == NULL)
		return err_set(SK_ERR_ARG, "svg: bar panel %zu has no categories "
		    "or 0 or more than %d series", k, SVG_MAX_SERIES);
	for (i = 0; i < b->ncat * b->nser; i++)
		if (!isfinite(b->v[i]) || b->v[i] < 0)
			return err_set(SK_ERR_ARG, "svg: bar panel %zu: value %zu "
			    "is %g, need a finite value >= 0", k, i, b->v[i]);
	return SK_OK;
}

/* The largest height drawn: a bar (or a stack), a reference, the line. */
static double
bars_top(const struct svg_bars *b)
{
	double top = 0, sum;
	size_t i, s;

	for (i = 0; i < b->ncat; i++) {
		sum = 0;
		for (s = 0; s < b->nser; s++) {
			if (b->stacked)
				sum += b->v[i * b->nser + s];
			else
				sum = fmax(sum, b->v[i * b->nser + s]);
		}
		top = fmax(top, sum);
		if (b->ref != NULL && isfinite(b->ref[i]))
			top = fmax(top, b->ref[i]);
	}
	if (isfinite(b->hline))
		top = fmax(top, b->hline);
	return top > 0 ? top : 1;
}

/* One legend line at row i right of the plot: a swatch of kind
 * 'b' (bar colour), 'r' (reference bar), 'h' (dashed line), 'x' (cross). */
static void
legend(struct svgw *w, double x, double y, int kind, const char *color,
       const char *s)
{
	switch (kind) {
	case 'b':
		putf(w, "<rect x=\"%.2f\" y=\"%.2f\" width=\"14\" height=\"10\" "
		    "fill=\"%s\"/>\n", x, y - 9, color);
		break;
	case 'r':
		putf(w, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
		    "stroke=\"black\" stroke-width=\"3\"/>\n", x, y - 4, x + 14,
		    y - 4);
		break;
	case 'h':
		putf(w, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
		    "stroke=\"%s\" stroke-width=\"1.5\" "
		    "stroke-dasharray=\"6,4\"/>\n", x, y - 4, x + 14, y - 4,
		    COLOR_OOM);
		break;
	default:
		putf(w, "<path d=\"M%.2f,%.2f L%.2f,%.2f M%.2f,%.2f L%.2f,%.2f\" "
		    "stroke=\"%s\" stroke-width=\"2\"/>\n", x + 3, y - 8, x + 11,
		    y, x + 3, y, x + 11, y - 8, COLOR_OOM);
		break;
	}
	text(w, x + 20, y, "start", 11, s != NULL ? s : "");
}

static int
bar_panel(struct svgw *w, const struct svg_bars *b, size_t k)
{
	struct axis ay = { 0 };
	double left, right, top, bottom, slot, bw, x0, x, y, base, v, lx, ly;
	double top_i;  /* px: the top of category i's bars */
	size_t i, s, every = b->label_every > 1 ? b->label_every : 1;
	size_t longest = 0;  /* bytes of the longest category label */
	char label[64];
	int j, rc, turn;

	left = (double)k * SVG_BARS_W + SVG_BARS_L;
	right = (double)(k + 1) * SVG_BARS_W - SVG_BARS_R;
	top = SVG_TITLE_H + SVG_MARGIN_T;
	bottom = SVG_TITLE_H + SVG_BARS_H - SVG_BARS_B;
	/* Crosses go over their bars: 10% headroom keeps them in the plot. */
	if ((rc = svg_nice_ticks(0, bars_top(b) * (b->mark != NULL ? 1.1 : 1),
	    SVG_MAX_TICKS, &ay.t)) != SK_OK)
		return rc;
	ay.p0 = bottom;
	ay.p1 = top;
	for (i = 0; i < b->ncat; i++)
		if (strlen(b->cat[i]) > longest)
			longest = strlen(b->cat[i]);
	turn = longest > 4;
	slot = (right - left) / (double)b->ncat;
	/* Bars fill 80% of a slot, a gap of 20% between slots. */
	bw = slot * 0.8 / (b->stacked ? 1.0 : (double)b->nser);

	putf(w, "<g class=\"bars\" id=\"panel%zu\">\n", k);
	for (j = 0; j < ay.t.n; j++) {
		v = ay.p0 + (ay.p1 - ay.p0) * j / (ay.t.n - 1);
		putf(w, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
		    "stroke=\"%s\"/>\n", left, v, right, v, COLOR_GRID);
		putf(w, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
		    "stroke=\"%s\"/>\n", left - 5, v, left, v, COLOR_AXIS);
		tick_label(&ay, j, label, sizeof label);
		text(w, left - 8, v + 4, "end", 11, label);
	}
	for (i = 0; i < b->ncat; i++) {
		x0 = left + slot * (double)i + slot * 0.1;
		base = 0;
		top_i = bottom;
		for (s = 0; s < b->nser; s++) {
			v = b->v[i * b->nser + s];
			x = b->stacked ? x0 : x0 + bw * (double)s;
			y = map(&ay, b->stacked ? base + v : v);
			putf(w, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
			    "height=\"%.2f\" fill=\"%s\"/>\n", x, y, bw,
			    map(&ay, b->stacked ? base : 0) - y, bar_color[s]);
			base += v;
			top_i = fmin(top_i, y);
		}
		if (b->ref != NULL && isfinite(b->ref[i])) {
			y = map(&ay, b->ref[i]);
			putf(w, "<line class=\"ref\" x1=\"%.2f\" y1=\"%.2f\" "
			    "x2=\"%.2f\" y2=\"%.2f\" stroke=\"black\" "
			    "stroke-width=\"3\"/>\n", x0 - slot * 0.05, y,
			    x0 + slot * 0.85, y);
		}
		if (b->mark != NULL && b->mark[i]) {
			x = x0 + slot * 0.4;
			y = top_i - 10;
			putf(w, "<path class=\"oom\" d=\"M%.2f,%.2f L%.2f,%.2f "
			    "M%.2f,%.2f L%.2f,%.2f\" stroke=\"%s\" "
			    "stroke-width=\"2\"/>\n", x - 4, y - 4, x + 4, y + 4,
			    x - 4, y + 4, x + 4, y - 4, COLOR_OOM);
		}
		if (i % every != 0)
			continue;
		x = x0 + slot * 0.4;
		if (turn)
			putf(w, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\" "
			    "font-size=\"11\" transform=\"rotate(-45 %.2f "
			    "%.2f)\">", x + 4, bottom + 14, x + 4, bottom + 14);
		else
			putf(w, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" "
			    "font-size=\"11\">", x, bottom + 16);
		put_escaped(w, b->cat[i]);
		puts_(w, "</text>\n");
	}
	if (isfinite(b->hline)) {
		y = map(&ay, b->hline);
		putf(w, "<line class=\"hline\" x1=\"%.2f\" y1=\"%.2f\" "
		    "x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" stroke-width=\"1.5\" "
		    "stroke-dasharray=\"6,4\"/>\n", left, y, right, y, COLOR_OOM);
	}
	putf(w, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
	    "fill=\"none\" stroke=\"%s\"/>\n", left, top, right - left,
	    bottom - top, COLOR_AXIS);
	if (b->title != NULL)
		text(w, (left + right) / 2, SVG_TITLE_H + 20, "middle", 14,
		    b->title);
	/* Under turned labels the axis title sits below the longest: at 45
	 * degrees an 11 px label of n characters (about 6.5 px each) reaches
	 * 0.71 x 6.5 n px down, from 14 px under the axis. */
	if (b->xlabel != NULL)
		text(w, (left + right) / 2, bottom + (!turn ? 40 :
		    fmin(SVG_BARS_B - 8, 36 + 0.71 * 6.5 * (double)longest)),
		    "middle", 13, b->xlabel);
	if (b->ylabel != NULL)
		text_turned(w, left - 50, (top + bottom) / 2, -90, b->ylabel);
	lx = right + 12;
	ly = top + 10;
	for (s = 0; s < b->nser; s++, ly += 18)
		legend(w, lx, ly, 'b', bar_color[s], b->name[s]);
	if (b->ref != NULL) {
		legend(w, lx, ly, 'r', NULL, b->reflabel);
		ly += 18;
	}
	if (isfinite(b->hline)) {
		legend(w, lx, ly, 'h', NULL, b->hlabel);
		ly += 18;
	}
	if (b->mark != NULL)
		legend(w, lx, ly, 'x', NULL, b->marklabel);
	puts_(w, "</g>\n");
	return SK_OK;
}

static int
check_one_bars(const void *items, size_t k)
{
	return check_bars((const struct svg_bars *)items + k, k);
}

static int
draw_bars(struct svgw *w, const void *items, size_t k)
{
	return bar_panel(w, (const struct svg_bars *)items + k, k);
}

int
svg_write_bars(const char *path, const char *title, const struct svg_bars *b,
               size_t npanels)
{
	return write_doc(path, title, (int)npanels * SVG_BARS_W,
	    SVG_TITLE_H + SVG_BARS_H, npanels, check_one_bars, draw_bars, b);
}
