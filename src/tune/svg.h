/*
 * svg: line charts as plain SVG 1.1 text, for the sensitivity plots of
 * `skrull tune` (the paper's Figure 4a: speed-up against BucketSize and
 * against batch size, OOM points marked).  No plotting library: the file
 * is written through a small buffer into an atomic output file (afile), so
 * a reader never sees half a chart.
 *
 * A figure is a title over panels side by side.  Each panel has axes with
 * "nice" ticks (steps of 1, 2 or 5 x 10^k), a title, axis labels, one
 * series drawn as a line with point markers on the left axis, optionally a
 * second series on its own right-hand axis, points flagged OOM drawn as red
 * crosses, and an optional OOM boundary: a dashed red vertical line
 * labelled "OOM", a shaded band around the second series (its confidence
 * interval), the chosen setting's x, and the points without a value
 * named at their x ("OOM" or "infeasible"), each with a legend line.
 * Text is escaped for XML; bytes that are not valid UTF-8
 * or not allowed in XML 1.0 become '?', so the file is always well-formed.
 *
 * Numbers are printed with printf: the caller must not have set LC_NUMERIC
 * to a locale with a decimal comma.  Nothing is printed; errors are
 * recorded with err_set*.
 */
#ifndef SKRULL_SVG_H
#define SKRULL_SVG_H

#include <stddef.h>

/* Pixel geometry, exposed so that tests can map data to pixels. */
#define SVG_PANEL_W 480      /* px: width of one panel */
#define SVG_PANEL_H 360      /* px: height of one panel */
#define SVG_TITLE_H 36       /* px: band above the panels for the title */
#define SVG_MARGIN_L 72      /* px: panel edge to plot area, left */
#define SVG_MARGIN_R 64      /* px: right (room for a second axis) */
#define SVG_MARGIN_T 36      /* px: top (panel title) */
#define SVG_MARGIN_B 56      /* px: bottom (tick labels, x label) */
#define SVG_MAX_TICKS 8      /* most ticks on a linear axis */
#define SVG_MAX_PANELS 16

struct svg_panel {
	const char *title;        /* above the panel; NULL: none */
	const char *xlabel;       /* NULL: none */
	const char *ylabel;       /* left axis and first series' name */
	const double *x;          /* n abscissae */
	const double *y;          /* n values, left axis */
	const int *oom;           /* n flags (1: OOM point, a red cross);
	                             NULL: none */
	size_t n;                 /* points; non-finite ones are skipped */
	double boundary;          /* x of the OOM boundary line; NAN: none */
	double ref;               /* y of a dotted horizontal reference line
	                             (speed-up 1); NAN: none */
	int xlog2;                /* 1: logarithmic x axis, ticks at powers
	                             of 2 (x must be > 0) */
	const double *y2;         /* n values of a second series on a right
	                             axis; NULL: none */
	const char *y2label;      /* its axis label and name */
	const double *y2_lo;      /* n: a band around y2 (its 95% CI), shaded
	                             between y2_lo and y2_hi; NULL: none */
	const double *y2_hi;
	const char *bandlabel;    /* the band's legend line */
	double win;               /* x of the chosen setting: a dotted green
	                             vertical line; NAN: none */
	const char *winlabel;     /* its legend line; NULL: no line at all */
	const char *nanlabel;     /* with points whose y is not finite: each
	                             is named at its x, "OOM" (oom flag set)
	                             or "infeasible", and this legend line
	                             says why; NULL: such points unnamed */
};

/* An axis: ticks at lo, lo + step, ..., lo + (n - 1) step, which are also
 * the axis's ends; on a log2 axis lo and step are exponents of 2. */
struct svg_ticks {
	double lo;
	double step;
	int n;
};

/*
 * Nice linear ticks covering [lo, hi] with at most max ticks (max >= 3:
 * a range across 0 takes 3 whatever the step):
 * the smallest step of 1, 2 or 5 x 10^k with which floor(lo / step) to
 * ceil(hi / step) takes at most max ticks.  A degenerate range (lo == hi)
 * is widened to hold one step on each side.  SK_ERR_ARG when lo or hi is
 * not finite, lo > hi, or max < 2.
 */
int svg_nice_ticks(double lo, double hi, int max, struct svg_ticks *t);

/*
 * Ticks at powers of 2 covering [lo, hi] (0 < lo <= hi): exponents
 * floor(log2 lo) to ceil(log2 hi), every step-th with step the smallest
 * integer giving at most max ticks.  SK_ERR_ARG as svg_nice_ticks, or
 * when lo <= 0.
 */
int svg_log2_ticks(double lo, double hi, int max, struct svg_ticks *t);

/*
 * Write the figure of npanels panels (1 to SVG_MAX_PANELS) side by side to
 * path ("-": standard output), atomically.  Width npanels x SVG_PANEL_W,
 * height SVG_TITLE_H + SVG_PANEL_H.  SK_ERR_ARG for a panel without
 * points, or a log2 panel with a point x <= 0; SK_ERR_IO naming path.
 */
int svg_write(const char *path, const char *title, const struct svg_panel *p,
              size_t npanels);

/*
 * Bar charts: panels side by side, each SVG_BARS_W x SVG_BARS_H below the
 * title band, with a y axis from 0 (nice ticks), one slot per category
 * along x (labelled, turned when a label is longer than 4 characters;
 * every label_every-th when there are many), and the series either side
 * by side in the slot or stacked in one bar, a colour each, named in a
 * legend right of the plot.  Optional: a reference value per category
 * (a black bar across its slot: sim's and compare's bound), a horizontal
 * dashed red line (the HBM limit), and categories marked by a red cross
 * above their bar (OOM).  Every drawn element with a meaning has a
 * legend line.
 */
#define SVG_BARS_W 640       /* px: width of one bar panel */
#define SVG_BARS_H 440       /* px: its height */
#define SVG_BARS_L 110       /* px: left margin, room for turned labels */
#define SVG_BARS_R 180       /* px: right margin, the legend */
#define SVG_BARS_B 140       /* px: bottom margin, turned labels */
#define SVG_MAX_SERIES 6

struct svg_bars {
	const char *title;        /* above the panel; NULL: none */
	const char *xlabel;       /* NULL: none */
	const char *ylabel;       /* with its unit */
	const char *const *cat;   /* ncat category labels */
	size_t ncat;              /* >= 1 */
	const char *const *name;  /* nser series names, for the legend */
	size_t nser;              /* 1 to SVG_MAX_SERIES */
	const double *v;          /* ncat x nser values, by category then
	                             series; finite, >= 0 */
	int stacked;              /* 1: one bar per category, the series
	                             stacked; 0: side by side */
	const double *ref;        /* ncat reference values (NAN: none at that
	                             category); NULL: none */
	const char *reflabel;     /* legend line of ref */
	double hline;             /* y of the dashed line; NAN: none */
	const char *hlabel;       /* legend line of hline */
	const int *mark;          /* ncat flags (1: a cross); NULL: none */
	const char *marklabel;    /* legend line of the crosses */
	size_t label_every;       /* 0 or 1: label every category */
};

/* Write the bar figure of npanels panels (1 to SVG_MAX_PANELS) to path
 * ("-": standard output), atomically, as svg_write.  SK_ERR_ARG for a
 * panel without categories or series or with a value not finite or < 0. */
int svg_write_bars(const char *path, const char *title,
                   const struct svg_bars *b, size_t npanels);

#endif
