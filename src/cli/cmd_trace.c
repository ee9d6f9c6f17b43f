/* cmd_trace: `skrull trace stats|synth|sample|convert`, see skrull-trace(1). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "err.h"
#include "synth.h"
#include "trace.h"
#include "tstats.h"

static int run(int, char **);

const struct cli_cmd cmd_trace = {
	.name = "trace",
	.summary =
	    "read, describe, synthesise and convert sample-length traces",
	.usage =
	    "skrull trace stats [--json] [--format FMT] [--field SPEC]\n"
	    "              [--chars-per-token X] [--skip-bad] FILE ...\n"
	    "       skrull trace synth -n COUNT [--seed SEED] [--min LEN] [--max LEN]\n"
	    "              [--json] [-o FILE] [--to FMT] [--format FMT] [--field SPEC]\n"
	    "              [--chars-per-token X] COMPONENT ...\n"
	    "       skrull trace sample [-n COUNT] [--seed SEED] [--replace] [--shuffle]\n"
	    "              [--json] [-o FILE] [--to FMT] [--format FMT] [--field SPEC]\n"
	    "              [--chars-per-token X] [--skip-bad] FILE\n"
	    "       skrull trace convert [--json] [-o FILE] [--to FMT] [--format FMT]\n"
	    "              [--field SPEC] [--chars-per-token X] [--skip-bad] FILE",
	.run = run,
};

static const char help[] =
	"\n"
	"  --format FMT    input format: auto, plain, csv, tsv, jsonl, json, npy, idx\n"
	"                  (default auto)\n"
	"  --field SPEC    CSV column or JSON field holding the length; a name, #N for\n"
	"                  the Nth CSV column, a.b for a nested field, a[].b for the\n"
	"                  sum of member b over array a, or a sum such as\n"
	"                  input_length+output_length\n"
	"  --chars-per-token X  estimate a JSON text field's tokens as\n"
	"                  ceil(characters / X), characters being code points\n"
	"  --skip-bad      skip bad records (reported on stderr) instead of failing\n"
	"  --json          machine-readable output on stdout\n"
	"  -o FILE         output trace (default: standard output); written atomically\n"
	"  --to FMT        output format: plain, csv, npy (default: from FILE's name)\n"
	"  -n COUNT        number of samples to draw\n"
	"  --seed SEED     random seed (default 1)\n"
	"  --min LEN       shortest synthesised length, tokens (default 1)\n"
	"  --max LEN       longest synthesised length, tokens (default 2147483647)\n"
	"  --replace       sample with replacement\n"
	"  --shuffle       shuffle the sampled lengths\n"
	"\n"
	"  COMPONENT is [WEIGHT=]cdf:L:F,...,max:LMAX | [WEIGHT=]lognormal:MEDIAN:SIGMA\n"
	"            | [WEIGHT=]trace:FILE, with WEIGHT a number or a percentage.\n"
	"\nSee skrull-trace(1) and skrull-trace(5).\n";

enum {
	OPT_JSON = 256, OPT_FORMAT, OPT_FIELD, OPT_SKIP_BAD, OPT_TO, OPT_SEED,
	OPT_MIN, OPT_MAX, OPT_REPLACE, OPT_SHUFFLE, OPT_CPT
};

static const struct option longopts[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "field", required_argument, NULL, OPT_FIELD },
	{ "chars-per-token", required_argument, NULL, OPT_CPT },
	{ "skip-bad", no_argument, NULL, OPT_SKIP_BAD },
	{ "to", required_argument, NULL, OPT_TO },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "min", required_argument, NULL, OPT_MIN },
	{ "max", required_argument, NULL, OPT_MAX },
	{ "replace", no_argument, NULL, OPT_REPLACE },
	{ "shuffle", no_argument, NULL, OPT_SHUFFLE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* Every option of every subcommand; each subcommand says which it takes. */
struct opts {
	int json, replace, shuffle, have_n;
	struct trace_read_opts read;
	enum trace_format to;
	const char *out;
	unsigned long n, seed, lo, hi;
};

/* Which options a subcommand accepts, as getopt codes. */
struct sub {
	const char *name;
	const int *accepts;
	int (*run)(const struct opts *, int, char **);
};

static int
accepted(const struct sub *s, int code)
{
	const int *a;

	for (a = s->accepts; *a != 0; a++)
		if (*a == code)
			return 1;
	return 0;
}

static const char *
optname(int code)
{
	const struct option *o;

	if (code == 'n')
		return "-n";
	if (code == 'o')
		return "-o";
	for (o = longopts; o->name != NULL; o++)
		if (o->val == code)
			return o->name;
	return "?";
}

static int
parse(const struct sub *s, int argc, char **argv, struct opts *o, int *next)
{
	int c, rc;

	memset(o, 0, sizeof *o);
	o->out = "-";
	o->seed = 1;
	o->lo = 1;
	o->hi = TRACE_LEN_MAX;
	cli_options_hook(longopts);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hn:o:", longopts, NULL)) != -1) {
		if (c == 'h') {
			printf("usage: %s\n%s", cmd_trace.usage, help);
			return -1;
		}
		if (c == '?') {
			char what[32];

			snprintf(what, sizeof what, "trace %s", s->name);
			return cli_bad_option(&cmd_trace, what, argv[optind - 1],
			    longopts);
		}
		if (c == ':')
			return cli_usage(&cmd_trace, "trace %s: option '%s' needs a value",
			    s->name, argv[optind - 1]);
		if (!accepted(s, c))
			return cli_usage(&cmd_trace, "trace %s: option '%s%s' does not apply",
			    s->name, c < 256 ? "" : "--", optname(c));
		rc = CLI_OK;
		switch (c) {
		case OPT_JSON: o->json = 1; break;
		case OPT_SKIP_BAD: o->read.skip_bad = 1; break;
		case OPT_REPLACE: o->replace = 1; break;
		case OPT_SHUFFLE: o->shuffle = 1; break;
		case OPT_FIELD: o->read.field = optarg; break;
		case OPT_CPT:
			rc = cli_parse_cpt(&cmd_trace, optarg,
			    &o->read.chars_per_token);
			break;
		case 'o': o->out = optarg; break;
		case OPT_FORMAT:
			if (trace_format_parse(optarg, &o->read.format) != SK_OK)
				rc = cli_usage(&cmd_trace, "--format: %s", err_msg());
			break;
		case OPT_TO:
			if (trace_format_parse(optarg, &o->to) != SK_OK)
				rc = cli_usage(&cmd_trace, "--to: %s", err_msg());
			else if (o->to != TRACE_FORMAT_PLAIN && o->to != TRACE_FORMAT_CSV &&
			    o->to != TRACE_FORMAT_NPY)
				rc = cli_usage(&cmd_trace, "--to: skrull writes plain, csv or npy, not %s",
				    optarg);
			break;
		case 'n':
			o->have_n = 1;
			rc = cli_parse_ulong(&cmd_trace, "-n", optarg, 1, 4000000000UL, &o->n);
			break;
		case OPT_SEED:
			rc = cli_parse_ulong(&cmd_trace, "--seed", optarg, 0, 4294967295UL, &o->seed);
			break;
		case OPT_MIN:
			rc = cli_parse_ulong(&cmd_trace, "--min", optarg, 1, TRACE_LEN_MAX, &o->lo);
			break;
		case OPT_MAX:
			rc = cli_parse_ulong(&cmd_trace, "--max", optarg, 1, TRACE_LEN_MAX, &o->hi);
			break;
		}
		if (rc != CLI_OK)
			return rc;
	}
	if (o->lo > o->hi)
		return cli_usage(&cmd_trace, "trace %s: --min %lu exceeds --max %lu",
		    s->name, o->lo, o->hi);
	if (o->json && strcmp(o->out, "-") == 0 && accepted(s, 'o'))
		return cli_usage(&cmd_trace, "trace %s: --json needs -o FILE (stdout "
		    "would carry both the trace and the JSON)", s->name);
	*next = optind;
	return CLI_OK;
}

/* A quantile with one decimal, without a trailing ".0" (347, 10919, 12.5). */
static void
print_num(const char *label, double v)
{
	char buf[64];
	size_t n = (size_t)snprintf(buf, sizeof buf, "%.1f", v);

	if (n >= 2 && n < sizeof buf && strcmp(buf + n - 2, ".0") == 0)
		buf[n - 2] = '\0';
	printf("%-10s %s\n", label, buf);
}

/* A text bar: " " and round(frac * width) characters c, padded with spaces
 * to the full width when pad (nothing at all for an empty unpadded bar). */
static void
print_bar(double frac, int width, char c, int pad)
{
	int i, k = (int)lround(frac * width);

	if (k == 0 && !pad)
		return;
	putchar(' ');
	for (i = 0; i < (pad ? width : k); i++)
		putchar(i < k ? c : ' ');
}

static void
print_stats(const char *path, const struct trace_read_info *info,
    double cpt, const struct tstats *s)
{
	uint64_t most_s = 0, most_t = 0;
	int i;

	printf("%-10s %s\n%-10s %s\n", "file", path, "format",
	    trace_format_name(info->format));
	if (info->skipped > 0)
		printf("%-10s %zu\n", "skipped", info->skipped);
	if (info->estimated > 0)
		printf("%-10s lengths estimated at %g chars/token (%zu of %zu "
		    "samples)\n", "estimate", cpt, info->estimated, s->n);
	printf("%-10s %zu\n%-10s %llu\n%-10s %.1f\n%-10s %.1f\n%-10s %u\n",
	    "samples", s->n, "tokens", (unsigned long long)s->tokens,
	    "mean", s->mean, "std", s->sd, "min", s->min);
	print_num("p50", s->p50);
	print_num("p90", s->p90);
	print_num("p99", s->p99);
	print_num("p99.9", s->p999);
	printf("%-10s %u\n\n", "max", s->max);

	printf("%-12s %9s %9s %10s\n", "longer than", "samples", "tokens", "attention");
	for (i = 0; i < TSTATS_NTHRESH; i++)
		printf("%8uK    %8.2f%% %8.2f%% %9.2f%%\n", tstats_thresh[i] / 1024,
		    100 * s->above_samples[i], 100 * s->above_tokens[i],
		    100 * s->above_attn[i]);

	for (i = s->bin_lo; i <= s->bin_hi; i++) {
		if (s->bin_samples[i] > most_s)
			most_s = s->bin_samples[i];
		if (s->bin_tokens[i] > most_t)
			most_t = s->bin_tokens[i];
	}
	printf("\n%-21s %9s %7s %20s %12s %7s\n", "length (tokens)",
	    "samples", "share", "", "tokens", "share");
	for (i = s->bin_lo; i <= s->bin_hi; i++) {
		printf("%10llu-%-10llu %9llu %6.2f%%",
		    1ULL << i, (1ULL << (i + 1)) - 1,
		    (unsigned long long)s->bin_samples[i],
		    100.0 * (double)s->bin_samples[i] / (double)s->n);
		print_bar((double)s->bin_samples[i] / (double)most_s, 20, '#', 1);
		printf(" %12llu %6.2f%%", (unsigned long long)s->bin_tokens[i],
		    100.0 * (double)s->bin_tokens[i] / (double)s->tokens);
		print_bar((double)s->bin_tokens[i] / (double)most_t, 20, '*', 0);
		putchar('\n');
	}
}

static void
report_skipped(const char *path, const struct trace_read_info *info)
{
	char esc[ERR_MSG_MAX];

	if (info->skipped == 0)
		return;
	err_escape(esc, sizeof esc, path);
	fprintf(stderr, "skrull: %s: skipped %zu bad record%s (first: %llu)\n",
	    esc, info->skipped, info->skipped == 1 ? "" : "s",
	    info->first_skipped);
}

static int
stats(const struct opts *o, int argc, char **argv)
{
	struct trace t;
	struct trace_read_info *info = NULL;
	struct tstats *st = NULL;
	cJSON *root = NULL, *arr, *obj;
	int i, rc = CLI_FAIL;

	if (argc < 1)
		return cli_usage(&cmd_trace, "trace stats: no FILE given");
	trace_init(&t);
	info = calloc((size_t)argc, sizeof *info);
	st = calloc((size_t)argc, sizeof *st);
	if (info == NULL || st == NULL) {
		err_set(SK_ERR_NOMEM, "out of memory");
		rc = cli_fail();
		goto out;
	}
	/* Everything is read before anything is printed, so a bad file leaves
	 * no partial report on stdout. */
	for (i = 0; i < argc; i++) {
		if (trace_read(argv[i], &o->read, &t, &info[i]) != SK_OK ||
		    tstats_compute(&t, &st[i]) != SK_OK) {
			rc = cli_fail();
			goto out;
		}
		report_skipped(argv[i], &info[i]);
	}
	if (!o->json) {
		for (i = 0; i < argc; i++) {
			if (i > 0)
				putchar('\n');
			print_stats(argv[i], &info[i], o->read.chars_per_token,
			    &st[i]);
		}
		rc = CLI_OK;
		goto out;
	}
	if ((root = cJSON_CreateObject()) == NULL ||
	    cJSON_AddNumberToObject(root, "version", 1) == NULL ||
	    (arr = cJSON_AddArrayToObject(root, "traces")) == NULL)
		goto nomem;
	for (i = 0; i < argc; i++) {
		if ((obj = cJSON_CreateObject()) == NULL)
			goto nomem;
		cJSON_AddItemToArray(arr, obj);
		if (cJSON_AddStringToObject(obj, "file", argv[i]) == NULL ||
		    cJSON_AddStringToObject(obj, "format",
		        trace_format_name(info[i].format)) == NULL ||
		    cJSON_AddNumberToObject(obj, "skipped", (double)info[i].skipped) == NULL)
			goto nomem;
		if (info[i].estimated > 0 &&
		    (cJSON_AddNumberToObject(obj, "estimated",
		    (double)info[i].estimated) == NULL ||
		    cJSON_AddNumberToObject(obj, "chars_per_token",
		    o->read.chars_per_token) == NULL))
			goto nomem;
		if (tstats_json(&st[i], obj) != SK_OK) {
			rc = cli_fail();
			goto out;
		}
	}
	rc = cli_print_json(root);
	root = NULL;
	goto out;
nomem:
	err_set(SK_ERR_NOMEM, "out of memory");
	rc = cli_fail();
out:
	cJSON_Delete(root);
	free(info);
	free(st);
	trace_free(&t);
	return rc;
}

/*
 * Before reading: the output against the inputs in[0..nin)
 * (cli_check_files), and its name against what is written under it.
 * Without --to the format comes from the name (.npy, .csv, else plain);
 * a name of a format skrull reads but does not write would get plain
 * text, so it is a usage error unless --to says what to write.
 */
static int
check_out(const struct opts *o, const struct cli_file *in, size_t nin)
{
	static const char *const unwritten[][2] = { { ".jsonl", "jsonl" },
	    { ".jsonl.gz", "jsonl" }, { ".idx", "idx" }, { ".idx.gz", "idx" } };
	const struct cli_file out = { "-o", o->out };
	size_t i, n = strlen(o->out), k;

	for (i = 0; o->to == TRACE_FORMAT_AUTO &&
	    i < sizeof unwritten / sizeof unwritten[0]; i++) {
		k = strlen(unwritten[i][0]);
		if (n > k && strcasecmp(o->out + n - k, unwritten[i][0]) == 0)
			return cli_usage(&cmd_trace, "%s: skrull writes plain, csv "
			    "or npy traces, not %s; --to names the format to "
			    "write under this name", o->out, unwritten[i][1]);
	}
	return cli_check_files(in, nin, &out, 1) != SK_OK ? cli_fail() :
	    CLI_OK;
}

/* Write t to o->out; with --json print a summary of what was written. */
static int
emit(const struct opts *o, const struct trace *t, size_t skipped)
{
	enum trace_format to = o->to;
	cJSON *root;

	if (to == TRACE_FORMAT_AUTO && strcmp(o->out, "-") == 0)
		to = TRACE_FORMAT_PLAIN;
	if (trace_write(o->out, to, t) != SK_OK)
		return cli_fail();
	if (!o->json)
		return CLI_OK;
	if ((root = cJSON_CreateObject()) == NULL ||
	    cJSON_AddNumberToObject(root, "version", 1) == NULL ||
	    cJSON_AddStringToObject(root, "output", o->out) == NULL ||
	    cJSON_AddNumberToObject(root, "samples", (double)t->n) == NULL ||
	    cJSON_AddNumberToObject(root, "skipped", (double)skipped) == NULL) {
		cJSON_Delete(root);
		err_set(SK_ERR_NOMEM, "out of memory");
		return cli_fail();
	}
	return cli_print_json(root);
}

static int
synth(const struct opts *o, int argc, char **argv)
{
	struct synth_component *comp = NULL;
	struct trace *loaded = NULL, out;
	struct cli_file *in = NULL;
	int i, rc = CLI_FAIL;

	if (!o->have_n)
		return cli_usage(&cmd_trace, "trace synth: -n COUNT is required");
	if (argc < 1)
		return cli_usage(&cmd_trace, "trace synth: no COMPONENT given");
	trace_init(&out);
	comp = calloc((size_t)argc, sizeof *comp);
	loaded = calloc((size_t)argc, sizeof *loaded);
	in = calloc((size_t)argc, sizeof *in);
	if (comp == NULL || loaded == NULL || in == NULL) {
		err_set(SK_ERR_NOMEM, "out of memory");
		rc = cli_fail();
		goto out;
	}
	for (i = 0; i < argc; i++)
		trace_init(&loaded[i]);
	for (i = 0; i < argc; i++) {
		if (synth_component_parse(argv[i], &comp[i]) != SK_OK) {
			rc = cli_usage(&cmd_trace, "trace synth: %s", err_msg());
			goto out;
		}
		in[i].opt = "input";
		in[i].path = comp[i].kind == SYNTH_TRACE ? comp[i].path : NULL;
	}
	if ((rc = check_out(o, in, (size_t)argc)) != CLI_OK)
		goto out;
	rc = CLI_FAIL;
	for (i = 0; i < argc; i++) {
		if (comp[i].kind != SYNTH_TRACE)
			continue;
		if (cli_trace_read(comp[i].path, &o->read, &loaded[i], NULL) !=
		    SK_OK) {
			rc = cli_fail();
			goto out;
		}
		comp[i].trace = &loaded[i];
	}
	if (synth_generate(comp, (size_t)argc, o->n, o->seed, (uint32_t)o->lo,
	    (uint32_t)o->hi, &out) != SK_OK) {
		rc = cli_fail();
		goto out;
	}
	rc = emit(o, &out, 0);
out:
	if (loaded != NULL)
		for (i = 0; i < argc; i++)
			trace_free(&loaded[i]);
	free(loaded);
	free(comp);
	free(in);
	trace_free(&out);
	return rc;
}

/* sample and convert: one input trace in, one out. */
static int
transform(const struct opts *o, int argc, char **argv, int sampling)
{
	struct trace in, out;
	struct trace_read_info info;
	struct cli_file file = { "input", NULL };
	int rc = CLI_FAIL;

	if (argc != 1)
		return cli_usage(&cmd_trace, "trace %s: exactly one FILE expected",
		    sampling ? "sample" : "convert");
	file.path = argv[0];
	if ((rc = check_out(o, &file, 1)) != CLI_OK)
		return rc;
	rc = CLI_FAIL;
	trace_init(&in);
	trace_init(&out);
	if (cli_trace_read(argv[0], &o->read, &in, &info) != SK_OK) {
		rc = cli_fail();
		goto out;
	}
	report_skipped(argv[0], &info);
	if (!sampling) {
		rc = emit(o, &in, info.skipped);
		goto out;
	}
	if (synth_sample(&in, o->have_n ? o->n : in.n, o->seed, o->replace,
	    o->shuffle, &out) != SK_OK) {
		err_prefix(argv[0]);
		rc = cli_fail();
		goto out;
	}
	rc = emit(o, &out, info.skipped);
out:
	trace_free(&in);
	trace_free(&out);
	return rc;
}

static int
sample(const struct opts *o, int argc, char **argv)
{
	return transform(o, argc, argv, 1);
}

static int
convert(const struct opts *o, int argc, char **argv)
{
	return transform(o, argc, argv, 0);
}

static const int stats_opts[] = { OPT_JSON, OPT_FORMAT, OPT_FIELD, OPT_CPT,
	OPT_SKIP_BAD, 0 };
static const int synth_opts[] = { 'o', OPT_JSON, OPT_TO, OPT_FORMAT, OPT_FIELD,
	OPT_CPT, 'n', OPT_SEED, OPT_MIN, OPT_MAX, 0 };
static const int sample_opts[] = { 'o', OPT_JSON, OPT_TO, OPT_FORMAT, OPT_FIELD,
	OPT_CPT, OPT_SKIP_BAD, 'n', OPT_SEED, OPT_REPLACE, OPT_SHUFFLE, 0 };
static const int convert_opts[] = { 'o', OPT_JSON, OPT_TO, OPT_FORMAT, OPT_FIELD,
	OPT_CPT, OPT_SKIP_BAD, 0 };

static const struct sub subs[] = {
	{ "stats", stats_opts, stats },
	{ "synth", synth_opts, synth },
	{ "sample", sample_opts, sample },
	{ "convert", convert_opts, convert },
};

static int
run(int argc, char **argv)
{
	struct opts o;
	size_t i;
	int next = 0, rc;

	if (argc < 2)
		return cli_usage(&cmd_trace, "trace: no subcommand given");
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		printf("usage: %s\n%s", cmd_trace.usage, help);
		return CLI_OK;
	}
	for (i = 0; i < sizeof subs / sizeof subs[0]; i++) {
		if (strcmp(argv[1], subs[i].name) != 0)
			continue;
		rc = parse(&subs[i], argc - 1, argv + 1, &o, &next);
		if (rc == -1)
			return CLI_OK;
		if (rc != CLI_OK)
			return rc;
		return subs[i].run(&o, argc - 1 - next, argv + 1 + next);
	}
	return cli_usage(&cmd_trace, "trace: unknown subcommand '%s'", argv[1]);
}
