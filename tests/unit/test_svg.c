/*
 * Unit tests of svg: nice ticks for ranges worked by hand, a two-panel
 * chart read back by a small well-formedness checker (balanced tags,
 * quoted attributes, known entities, one root), its polylines and OOM
 * crosses counted, the OOM line and a first point at pixels worked out
 * from the axis mapping, text escaping, and argument errors.
 */
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

#include "err.h"
#include "svg.h"
#include "tutil.h"

#define NAME_MAX_ 64
#define DEPTH_MAX 64

/* Name characters of the documents written here (ASCII names only). */
static int
name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == ':' ||
	    c == '.';
}

/* Length of the entity reference at s ("&amp;", "&#38;"), 0 if none. */
static size_t
entity(const char *s)
{
	static const char *const names[] = { "&amp;", "&lt;", "&gt;",
	    "&quot;", "&apos;" };
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strncmp(s, names[i], strlen(names[i])) == 0)
			return strlen(names[i]);
	if (s[1] == '#') {
		for (i = 2; s[i] >= '0' && s[i] <= '9'; i++)
			continue;
		if (i > 2 && s[i] == ';')
			return i + 1;
	}
	return 0;
}

/*
 * Whether s is a well-formed XML document of the kind svg writes: an
 * optional declaration, one root element, elements with quoted attribute
 * values free of '<', start and end tags that match, character data whose
 * '&' start entity references, nothing but white space after the root.
 * The number of elements goes to *elements.  Comments, CDATA and DOCTYPE
 * are not written by svg, so they count as errors.
 */
static int
well_formed(const char *s, size_t *elements)
{
	char stack[DEPTH_MAX][NAME_MAX_];
	int depth = 0, roots = 0, closing, empty;
	size_t n, k;
	char q;

	*elements = 0;
	if (strncmp(s, "<?xml ", 6) == 0) {
		if ((s = strstr(s, "?>")) == NULL)
			return 0;
		s += 2;
	}
	while (*s != '\0') {
		if (*s == '&') {
			if ((k = entity(s)) == 0)
				return 0;
			s += k;
			continue;
		}
		if (*s != '<') {
			if (depth == 0 && *s != ' ' && *s != '\n')
				return 0;
			s++;
			continue;
		}
		s++;
		closing = *s == '/';
		s += closing;
		for (n = 0; name_char(s[n]); n++)
			continue;
		if (n == 0 || n >= NAME_MAX_)
			return 0;
		if (closing) {
			if (depth == 0 || strlen(stack[depth - 1]) != n ||
			    strncmp(stack[depth - 1], s, n) != 0)
				return 0;
			s += n;
			while (*s == ' ' || *s == '\n')
				s++;
			if (*s++ != '>')
				return 0;
			depth--;
			continue;
		}
		if (depth == 0 && roots++ > 0)
			return 0;
		if (depth == DEPTH_MAX)
			return 0;
		memcpy(stack[depth], s, n);
		stack[depth][n] = '\0';
		s += n;
		(*elements)++;
		/* Attributes: space name="value" or name='value'. */
		for (;;) {
			while (*s == ' ' || *s == '\n')
				s++;
			if (*s == '>' || (s[0] == '/' && s[1] == '>'))
				break;
			for (k = 0; name_char(s[k]); k++)
				continue;
			if (k == 0 || s[k] != '=' ||
			    (s[k + 1] != '"' && s[k + 1] != '\''))
				return 0;
			q = s[k + 1];
			for (s += k + 2; *s != q; s++) {
				if (*s == '\0' || *s == '<')
					return 0;
				if (*s == '&' && entity(s) == 0)
					return 0;
			}
			s++;
		}
		empty = *s == '/';
		s += empty ? 2 : 1;
		if (!empty)
			depth++;
	}
	return depth == 0 && roots == 1;
}

/* Occurrences of needle in s. */
static size_t
count(const char *s, const char *needle)
{
	size_t n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += strlen(needle);
	}
	return n;
}

/* Number of x,y pairs in the points attribute of the k-th polyline of
 * class cls (k from 0); fails if there is none. */
static size_t
polyline_points(const char *svg, const char *cls, size_t k)
{
	char key[64];
	const char *s = svg, *e;
	size_t n;

	snprintf(key, sizeof key, "<polyline class=\"%s\"", cls);
	for (;;) {
		if ((s = strstr(s, key)) == NULL)
			fail_msg("no polyline %zu of class %s", k, cls);
		if (k-- == 0)
			break;
		s += strlen(key);
	}
	s = strstr(s, "points=\"") + 8;
	e = strchr(s, '"');
	for (n = 0; s < e; s++)
		n += *s == ',';
	return n;
}

static void
expect_ticks(double lo, double hi, int max, double tlo, double step, int n)
{
	struct svg_ticks t;

	assert_int_equal(svg_nice_ticks(lo, hi, max, &t), SK_OK);
	assert_near(t.lo, tlo, 1e-12);
	assert_near(t.step, step, 1e-12);
	assert_int_equal(t.n, n);
}

static void
test_nice_ticks(void **state)
{
	struct svg_ticks t;

	/* [0.3, 7.2]: step 1 runs 0..8, 9 ticks, allowed by 10, not by 8;
	 * step 2 runs 0..8 in 5. */
	expect_ticks(0.3, 7.2, 10, 0, 1, 9);
	expect_ticks(0.3, 7.2, 8, 0, 2, 5);
	/* [0.013, 0.087]: step 0.01 takes 1..9 (9 ticks), 0.02 takes 0..5
	 * steps (0 to 0.1, 6 ticks). */
	expect_ticks(0.013, 0.087, 8, 0, 0.02, 6);
	/* [-3.7, 12.1]: step 2 takes -2..7 (10), step 5 -1..3 (5). */
	expect_ticks(-3.7, 12.1, 8, -5, 5, 5);
	/* A BucketSize sweep [6500, 33800]: step 2000 takes 3..17 (15),
	 * 5000 takes 1..7 (7). */
	expect_ticks(6500, 33800, 8, 5000, 5000, 7);
	/* [2, 2] widens by a tenth to [1.8, 2.2]: step 0.05 takes 36..44
	 * (9), 0.1 takes 18..22 (5). */
	expect_ticks(2, 2, 8, 1.8, 0.1, 5);
	/* An end on a multiple of the step adds no tick: [1, 3] with step
	 * 0.5 is 2..6, 5 ticks. */
	expect_ticks(1, 3, 5, 1, 0.5, 5);

	assert_int_equal(svg_nice_ticks(2, 1, 8, &t), SK_ERR_ARG);
	assert_int_equal(svg_nice_ticks(NAN, 1, 8, &t), SK_ERR_ARG);
	assert_int_equal(svg_nice_ticks(0, 1, 2, &t), SK_ERR_ARG);
	assert_non_null(strstr(err_msg(), "at least 3 ticks"));
}

static void
test_log2_ticks(void **state)
{
	struct svg_ticks t;

	/* [8, 128]: exponents 3..7, 5 ticks fit in 8. */
	assert_int_equal(svg_log2_ticks(8, 128, 8, &t), SK_OK);
	assert_near(t.lo, 3, 0);
	assert_near(t.step, 1, 0);
	assert_int_equal(t.n, 5);
	/* [1, 4096]: exponents 0..12, 13 > 8, every second: 0..12, 7. */
	assert_int_equal(svg_log2_ticks(1, 4096, 8, &t), SK_OK);
	assert_near(t.lo, 0, 0);
	assert_near(t.step, 2, 0);
	assert_int_equal(t.n, 7);
	/* [3, 100]: exponents floor(1.58) = 1 to ceil(6.64) = 7. */
	assert_int_equal(svg_log2_ticks(3, 100, 8, &t), SK_OK);
	assert_near(t.lo, 1, 0);
	assert_int_equal(t.n, 7);

	assert_int_equal(svg_log2_ticks(0, 4, 8, &t), SK_ERR_ARG);
}

static void
test_checker(void **state)
{
	size_t n;

	/* The checker must reject what a broken writer could produce. */
	assert_true(well_formed("<?xml version=\"1.0\"?>\n<a x=\"1\"><b/>"
	    "t &amp; &#38;</a>\n", &n));
	assert_int_equal(n, 2);
	assert_false(well_formed("<a><b></a></b>", &n));
	assert_false(well_formed("<a>&</a>", &n));
	assert_false(well_formed("<a>&nbsp;</a>", &n));
	assert_false(well_formed("<a x=\"<\"/>", &n));
	assert_false(well_formed("<a x=1/>", &n));
	assert_false(well_formed("<a></a><b/>", &n));
	assert_false(well_formed("<a><b>", &n));
	assert_false(well_formed("<a/>text", &n));
}

/*
 * Two panels, as the sensitivity figure draws them.
 *
 * Panel 0 (linear): x in [0.3, 7.2] with the boundary 5.6 inside: ticks 0
 * to 8 by 2 (test_nice_ticks).  y in [1.2, 3.3] with the reference 1:
 * [1, 3.3], step 0.2 would take 5..17 (13 ticks), step 0.5 takes 2..7:
 * 1.0 to 3.5, 6 ticks.  The plot area is x 72 .. 480 - 64 = 416 (344 px)
 * and y from 36 + 360 - 56 = 340 (bottom) up to 36 + 36 = 72 (268 px).
 *   boundary 5.6:  72 + 5.6 / 8 x 344 = 72 + 240.8 = 312.80
 *   point (0.3, 1.2): x 72 + 0.3 / 8 x 344 = 84.90,
 *                     y 340 - (1.2 - 1) / 2.5 x 268 = 340 - 21.44 = 318.56
 * Panel 1 (log2, from x 480): x 8 .. 128, exponents 3..7; the boundary
 * 128 lies on the last tick: 480 + 72 + 344 = 896.00.
 */
static const double px0[] = { 0.3, 1.5, 2.8, 4.0, 5.6, 7.2 };
static const double py0[] = { 1.2, 1.9, 2.6, 3.1, 3.3, 3.2 };
static const int oom0[] = { 0, 0, 0, 0, 1, 1 };
static const double px1[] = { 8, 16, 32, 64, 128 };
static const double py1[] = { 1.4, 2.2, 2.9, 3.1, 3.15 };
static const double pt1[] = { 21.5, 12.25, 7.75, 6.5, 6.25 };
static const int oom1[] = { 0, 0, 0, 0, 1 };

static void
panels(struct svg_panel p[2])
{
	memset(p, 0, 2 * sizeof p[0]);
	p[0].title = "BucketSize \"C\" \xff";
	p[0].xlabel = "BucketSize (tokens)";
	p[0].ylabel = "speed-up";
	p[0].x = px0;
	p[0].y = py0;
	p[0].oom = oom0;
	p[0].n = 6;
	p[0].boundary = 5.6;
	p[0].ref = 1;
	p[1].title = "batch size";
	p[1].xlabel = "samples per DP rank";
	p[1].ylabel = "speed-up";
	p[1].x = px1;
	p[1].y = py1;
	p[1].oom = oom1;
	p[1].n = 5;
	p[1].boundary = 128;
	p[1].ref = NAN;
	p[1].xlog2 = 1;
	p[1].y2 = pt1;
	p[1].y2label = "mean iteration (s)";
}

static void
test_chart(void **state)
{
	struct svg_panel p[2];
	const char *path = tutil_path("chart.svg");
	size_t n, elements;
	char *svg;

	panels(p);
	assert_int_equal(svg_write(path, "Speed-up <skrull> & deepspeed", p,
	    2), SK_OK);
	svg = tutil_slurp(path, &n);
	assert_int_equal(strlen(svg), n);
	assert_true(well_formed(svg, &elements));
	assert_true(elements > 50);
	assert_non_null(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
	    "version=\"1.1\" width=\"960\" height=\"396\""));

	/* Escaping: title element and heading; quotes and a stray byte. */
	assert_int_equal(count(svg, "Speed-up &lt;skrull&gt; &amp; deepspeed"),
	    2);
	assert_null(strstr(svg, "<skrull>"));
	assert_non_null(strstr(svg, ">BucketSize &quot;C&quot; ?</text>"));

	/* One line per series, with every point. */
	assert_int_equal(count(svg, "<polyline class=\"series\""), 2);
	assert_int_equal(count(svg, "<polyline class=\"series2\""), 1);
	assert_int_equal(polyline_points(svg, "series", 0), 6);
	assert_int_equal(polyline_points(svg, "series", 1), 5);
	assert_int_equal(polyline_points(svg, "series2", 0), 5);
	assert_non_null(strstr(svg, "points=\"84.90,318.56 "));
	/* OOM crosses: 2 in panel 0, 1 per series in panel 1. */
	assert_int_equal(count(svg, "class=\"oom\""), 4);
	/* Feasible markers: 4 + 4 circles, 4 squares of series 2. */
	assert_int_equal(count(svg, "<circle "), 8);

	/* The boundaries at the pixels worked out above. */
	assert_int_equal(count(svg, "class=\"boundary\""), 2);
	assert_non_null(strstr(svg, "<line class=\"boundary\" x1=\"312.80\" "
	    "y1=\"72.00\" x2=\"312.80\" y2=\"340.00\""));
	assert_non_null(strstr(svg, "<line class=\"boundary\" x1=\"896.00\""));
	assert_int_equal(count(svg, ">OOM</text>"), 2);
	assert_int_equal(count(svg, "class=\"ref\""), 1);

	/* Tick labels: 0..8 by 2 and 1.0..3.5 in panel 0, powers of 2 in
	 * panel 1. */
	assert_non_null(strstr(svg, ">8</text>"));
	assert_non_null(strstr(svg, ">3.5</text>"));
	assert_non_null(strstr(svg, ">128</text>"));
	assert_non_null(strstr(svg, ">mean iteration (s)</text>"));
	free(svg);
}

static void
test_skips_nonfinite(void **state)
{
	static const double y[] = { 1.2, NAN, 2.6, INFINITY, 3.3, 3.2 };
	struct svg_panel p[2];
	const char *path = tutil_path("gaps.svg");
	size_t n, elements;
	char *svg;

	panels(p);
	p[0].y = y;
	p[0].title = NULL;
	assert_int_equal(svg_write(path, NULL, p, 1), SK_OK);
	svg = tutil_slurp(path, &n);
	assert_true(well_formed(svg, &elements));
	assert_int_equal(polyline_points(svg, "series", 0), 4);
	assert_null(strstr(svg, "<title>"));
	assert_null(strstr(svg, "nan"));
	assert_null(strstr(svg, "inf"));
	free(svg);
}

/* The band, the tuned setting and the points without a value, on panel
 * 0 of panels(): x axis 0..8 over px 72..416 (x maps to 72 + 43 x). */
static void
test_band_win_missing(void **state)
{
	static const double y[] = { 1.2, NAN, 2.6, 3.1, NAN, 3.2 };
	static const double t[] = { 9, 8, 7, 6.5, 6, 5.5 };
	static const double lo[] = { 8, 7, NAN, 6, 5.5, 5 };
	static const double hi[] = { 10, 9, NAN, 7, 6.5, 6 };
	struct svg_panel p[2];
	const char *path = tutil_path("band.svg");
	size_t n, elements;
	char *svg;

	panels(p);
	p[0].y = y;
	p[0].y2 = t;
	p[0].y2label = "mean (s)";
	p[0].y2_lo = lo;
	p[0].y2_hi = hi;
	p[0].bandlabel = "95% CI";
	p[0].win = 4.0;
	p[0].winlabel = "tuned";
	p[0].nanlabel = "OOM / infeasible: no value";
	assert_int_equal(svg_write(path, NULL, p, 1), SK_OK);
	svg = tutil_slurp(path, &n);
	assert_true(well_formed(svg, &elements));
	/* lo/hi missing at point 2: two runs, points 0-1 and 3-5, each a
	 * polygon of twice its points. */
	assert_int_equal(count(svg, "<polygon class=\"band\""), 2);
	/* x = 4 at 72 + 43 x 4 = 244. */
	assert_non_null(strstr(svg, "<line class=\"win\" x1=\"244.00\" "
	    "y1=\"72.00\" x2=\"244.00\" y2=\"340.00\""));
	/* Point 1 (no OOM flag) is infeasible, point 4 (flagged) OOM, each
	 * at its x + 3 px: 72 + 43 x 1.5 + 3 = 139.5. */
	assert_int_equal(count(svg, "class=\"missing\""), 2);
	assert_int_equal(count(svg, ">infeasible</text>"), 1);
	assert_non_null(strstr(svg, "<text class=\"missing\" x=\"139.50\""));
	assert_non_null(strstr(svg, ">OOM / infeasible: no value</text>"));
	assert_non_null(strstr(svg, ">tuned</text>"));
	assert_non_null(strstr(svg, ">95% CI</text>"));
	free(svg);

	/* Without winlabel no line, whatever win holds (0 from memset). */
	panels(p);
	assert_int_equal(svg_write(path, NULL, p, 1), SK_OK);
	svg = tutil_slurp(path, &n);
	assert_null(strstr(svg, "class=\"win\""));
	assert_null(strstr(svg, "class=\"band\""));
	assert_null(strstr(svg, "class=\"missing\""));
	free(svg);
}

/*
 * Two bar panels, the pixels worked out by hand.  Plot area: x from
 * k x 640 + 110 to (k + 1) x 640 - 180, y from 36 + 36 = 72 to
 * 36 + 440 - 140 = 336 (264 px).
 *   Panel 0, grouped: tallest 4 -> ticks 0..4 by 1; slot 350 / 2 = 175,
 *   bars 0.8 x 175 / 2 = 70 wide from 110 + 17.5 = 127.5; value 1 is
 *   66 px tall (y 270), value 2 at 197.5, 132 px (y 204); the reference
 *   0.5 at y 303 from 127.5 - 8.75 = 118.75 to 127.5 + 148.75 = 276.25.
 *   Panel 1, stacked, marked: tallest max(2, 2.5, 0, hline 5) = 5, x 1.1
 *   headroom = 5.5 -> ticks 0..6 by 1 (44 px a unit); slot 350 / 3 =
 *   116.67, bars 93.33 wide; category 1 from 750 + 116.67 + 11.67 =
 *   878.33: 2 (y 248, 88 px), then 0.5 on it (y 226, 22 px); its cross
 *   at x 878.33 + 46.67 = 925, 10 px over 226; the line at 5: y 116.
 */
static void
test_bars(void **state)
{
	static const char *const c0[] = { "a", "b" }, *const c1[] = { "10",
	    "11", "12" }, *const names[] = { "mean & co", "p99" };
	static const double v0[] = { 1, 2, 3, 4 }, r0[] = { 0.5, NAN };
	static const double v1[] = { 1, 1, 2, 0.5, 0, 0 };
	static const int m1[] = { 0, 1, 0 };
	struct svg_bars b[2];
	const char *path = tutil_path("bars.svg");
	size_t n, elements;
	char *svg;

	memset(b, 0, sizeof b);
	b[0].ylabel = "time (ms)";
	b[0].cat = c0;
	b[0].ncat = 2;
	b[0].name = names;
	b[0].nser = 2;
	b[0].v = v0;
	b[0].ref = r0;
	b[0].reflabel = "bound";
	b[0].hline = NAN;
	b[1].cat = c1;
	b[1].ncat = 3;
	b[1].name = names;
	b[1].nser = 2;
	b[1].v = v1;
	b[1].stacked = 1;
	b[1].hline = 5;
	b[1].hlabel = "HBM";
	b[1].mark = m1;
	b[1].marklabel = "OOM";
	assert_int_equal(svg_write_bars(path, "bars", b, 2), SK_OK);
	svg = tutil_slurp(path, &n);
	assert_true(well_formed(svg, &elements));
	assert_non_null(strstr(svg, "width=\"1280\" height=\"476\""));
	assert_non_null(strstr(svg, "<rect x=\"127.50\" y=\"270.00\" "
	    "width=\"70.00\" height=\"66.00\" fill=\"#1f5fa8\"/>"));
	assert_non_null(strstr(svg, "<rect x=\"197.50\" y=\"204.00\" "
	    "width=\"70.00\" height=\"132.00\" fill=\"#f28e2b\"/>"));
	assert_int_equal(count(svg, "class=\"ref\""), 1);
	assert_non_null(strstr(svg, "<line class=\"ref\" x1=\"118.75\" "
	    "y1=\"303.00\" x2=\"276.25\" y2=\"303.00\""));
	assert_non_null(strstr(svg, "<rect x=\"878.33\" y=\"248.00\" "
	    "width=\"93.33\" height=\"88.00\" fill=\"#1f5fa8\"/>"));
	assert_non_null(strstr(svg, "<rect x=\"878.33\" y=\"226.00\" "
	    "width=\"93.33\" height=\"22.00\" fill=\"#f28e2b\"/>"));
	assert_int_equal(count(svg, "class=\"oom\""), 1);
	assert_non_null(strstr(svg, "<path class=\"oom\" d=\"M921.00,212.00 "
	    "L929.00,220.00"));
	assert_non_null(strstr(svg, "<line class=\"hline\" x1=\"750.00\" "
	    "y1=\"116.00\" x2=\"1100.00\" y2=\"116.00\""));
	/* Tick labels, the legend (escaped), short labels not turned. */
	assert_non_null(strstr(svg, ">6</text>"));
	assert_int_equal(count(svg, ">mean &amp; co</text>"), 2);
	assert_non_null(strstr(svg, ">HBM</text>"));
	assert_non_null(strstr(svg, ">bound</text>"));
	assert_null(strstr(svg, "rotate(-45"));
	free(svg);

	/* A value below 0 is refused before anything is written. */
	b[0].v = r0;
	b[0].ncat = 1;
	assert_int_equal(svg_write_bars(path, "bars", b, 1), SK_ERR_ARG);
	assert_non_null(strstr(err_msg(), "need a finite value"));
	assert_int_equal(svg_write_bars(path, "bars", b, 0), SK_ERR_ARG);
}

static void
test_bad_args(void **state)
{
	static const double xz[] = { 0, 1 };
	struct svg_panel p[2];
	const char *path = tutil_path("bad.svg");

	panels(p);
	p[1].n = 0;
	assert_int_equal(svg_write(path, "t", p, 2), SK_ERR_ARG);
	assert_non_null(strstr(err_msg(), "panel 1 has no points"));
	assert_int_equal(access(path, F_OK), -1);

	panels(p);
	p[1].x = xz;
	p[1].n = 2;
	assert_int_equal(svg_write(path, "t", p, 2), SK_ERR_ARG);
	assert_non_null(strstr(err_msg(), "logarithmic"));

	panels(p);
	assert_int_equal(svg_write(path, "t", p, 0), SK_ERR_ARG);
	assert_int_equal(svg_write(tutil_path("no/such/dir.svg"), "t", p, 2),
	    SK_ERR_IO);
	assert_non_null(strstr(err_msg(), "no/such/dir.svg"));
	/* Nothing left behind: only the files of the other tests. */
	assert_int_equal(access(path, F_OK), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nice_ticks),
		cmocka_unit_test(test_log2_ticks),
		cmocka_unit_test(test_checker),
		cmocka_unit_test(test_chart),
		cmocka_unit_test(test_skips_nonfinite),
		cmocka_unit_test(test_band_win_missing),
		cmocka_unit_test(test_bars),
		cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, tutil_setup_tmp,
	    tutil_teardown_tmp);
}
