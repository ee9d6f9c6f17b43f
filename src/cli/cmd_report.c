/* cmd_report: `skrull report diff`, see skrull-report(1). */
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "err.h"
#include "model.h"
#include "report.h"

static int run(int, char **);

const struct cli_cmd cmd_report = {
	.name = "report",
	.summary =
	    "compare two run reports (simulated or measured) side by side",
	.usage = "skrull report diff [--force] [--json] A.json B.json",
	.run = run,
};

enum { OPT_JSON = 256, OPT_FORCE };

static const struct option longopts[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* Relative difference of b against a; NAN when a is 0. */
static double
rel(double a, double b)
{
	return a != 0 ? b / a - 1 : NAN;
}

/* The summary rows: label, scale for printing, and the field. */
struct row {
	const char *label;
	double scale;
	size_t off;
};

#define ROW(l, s, f) { l, s, offsetof(struct report, f) }
static const struct row rows[] = {
	ROW("mean ms", 1e3, mean), ROW("p50 ms", 1e3, p50),
	ROW("p95 ms", 1e3, p95), ROW("p99 ms", 1e3, p99),
	ROW("tokens/s", 1, tokens_per_s), ROW("MFU %", 100, mfu),
	ROW("busy %", 100, busy_frac), ROW("comm %", 100, comm_frac),
	ROW("wait %", 100, wait_frac),
	ROW("peak GiB", 1.0 / (1024.0 * 1024 * 1024), peak_max),
};
#define NROWS (sizeof rows / sizeof rows[0])

static double
field(const struct report *r, const struct row *w)
{
	return *(const double *)(const void *)((const char *)r + w->off);
}

static void
print_text(const char *pa, const struct report *a, const char *pb,
    const struct report *b)
{
	size_t i, lo, hi;

	printf("A: %s (%s, %zu iterations from %zu)\nB: %s (%s, %zu iterations "
	    "from %zu)\n\n", pa, a->source, a->niter, a->first, pb, b->source,
	    b->niter, b->first);
	printf("%-12s %14s %14s %9s\n", "", "A", "B", "B/A-1");
	for (i = 0; i < NROWS; i++)
		printf("%-12s %14.4g %14.4g %+8.1f%%\n", rows[i].label,
		    field(a, &rows[i]) * rows[i].scale,
		    field(b, &rows[i]) * rows[i].scale,
		    100 * rel(field(a, &rows[i]), field(b, &rows[i])));
	printf("%-12s %14zu %14zu\n", "OOMs", a->noom, b->noom);
	lo = a->first > b->first ? a->first : b->first;
	hi = a->first + a->niter < b->first + b->niter ? a->first + a->niter :
	    b->first + b->niter;
	if (lo >= hi)
		return;
	printf("\n%-12s %14s %14s %9s\n", "iteration", "A ms", "B ms", "B/A-1");
	for (i = lo; i < hi; i++)
		printf("%-12zu %14.4f %14.4f %+8.1f%%\n", i,
		    a->time[i - a->first] * 1e3, b->time[i - b->first] * 1e3,
		    100 * rel(a->time[i - a->first], b->time[i - b->first]));
}

static int
print_json(const struct report *a, const struct report *b)
{
	cJSON *root = cJSON_CreateObject(), *o;
	size_t i;

	if (root == NULL || cJSON_AddNumberToObject(root, "version", 1) == NULL ||
	    (o = cJSON_AddObjectToObject(root, "relative")) == NULL)
		goto nomem;
	for (i = 0; i < NROWS; i++) {
		double d = rel(field(a, &rows[i]), field(b, &rows[i]));

		if ((isfinite(d) ? cJSON_AddNumberToObject(o, rows[i].label, d) :
		    cJSON_AddNullToObject(o, rows[i].label)) == NULL)
			goto nomem;
	}
	return cli_print_json(root);
nomem:
	cJSON_Delete(root);
	err_set(SK_ERR_NOMEM, "out of memory");
	return cli_fail();
}

/*
 * Reports of two model shapes (a full-size simulation beside a scaled-down
 * run) differ by orders of magnitude for no reason the diff can show:
 * refused unless force, then a warning.  A version 1 report records no
 * shape: a warning that it cannot be checked.  SK_OK, or SK_ERR_ARG.
 */
static int
check_shapes(const char *pa, const struct report *a, const char *pb,
    const struct report *b, int force)
{
	char ta[160], tb[160];
	size_t k;

	for (k = 0; k < 2; k++)
		if (!(k == 0 ? a : b)->model_known)
			fprintf(stderr, "skrull: warning: %s: an older report "
			    "(version 1) records no model shape: the shapes "
			    "cannot be checked\n", k == 0 ? pa : pb);
	if (!a->model_known || !b->model_known ||
	    model_same_shape(&a->model, &b->model))
		return SK_OK;
	model_shape_text(&a->model, ta, sizeof ta);
	model_shape_text(&b->model, tb, sizeof tb);
	if (!force)
		return err_set(SK_ERR_ARG, "report diff: the reports are of two "
		    "model shapes, A %s: %s, B %s: %s; --force compares them "
		    "anyway", pa, ta, pb, tb);
	fprintf(stderr, "skrull: warning: report diff: the reports are of two "
	    "model shapes, A %s: %s, B %s: %s\n", pa, ta, pb, tb);
	return SK_OK;
}

static int
run(int argc, char **argv)
{
	struct report a, b;
	int c, json = 0, force = 0, rc;

	if (argc < 2)
		return cli_usage(&cmd_report, "report: no subcommand given");
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		printf("usage: %s\n\n%s\n\n  --force compare reports of two model "
		    "shapes (a warning)\n  --json  print the relative differences "
		    "as JSON\n\nSee skrull-report(1).\n", cmd_report.usage,
		    cmd_report.summary);
		return CLI_OK;
	}
	if (strcmp(argv[1], "diff") != 0)
		return cli_usage(&cmd_report, "report: unknown subcommand '%s'",
		    argv[1]);
	optind = 1;
	while ((rc = cli_getopt(&cmd_report, argc - 1, argv + 1, ":h", longopts,
	    &c)) == CLI_OK && c != -1) {
		if (c == 'h') {
			printf("usage: %s\n", cmd_report.usage);
			return CLI_OK;
		}
		if (c == OPT_FORCE)
			force = 1;
		else
			json = 1;
	}
	if (rc != CLI_OK)
		return rc;
	if (argc - 1 - optind != 2)
		return cli_usage(&cmd_report, "report diff: two report files expected");
	report_init(&a);
	report_init(&b);
	if (report_read(argv[1 + optind], &a) != SK_OK ||
	    report_read(argv[2 + optind], &b) != SK_OK ||
	    check_shapes(argv[1 + optind], &a, argv[2 + optind], &b,
	    force) != SK_OK)
		rc = cli_fail();
	else if (json)
		rc = print_json(&a, &b);
	else {
		print_text(argv[1 + optind], &a, argv[2 + optind], &b);
		rc = CLI_OK;
	}
	report_free(&a);
	report_free(&b);
	return rc;
}
