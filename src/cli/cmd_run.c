/* cmd_run: `skrull run`, see skrull-run(1). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "cli.h"
#include "err.h"
#include "json.h"
#include "plan.h"
#include "report.h"
#include "simcli.h"
#include "trace.h"
#ifdef HAVE_MPI
#include "comm.h"
#include "exec.h"
#endif

static int run(int, char **);

const struct cli_cmd cmd_run = {
	"run",
	"execute a plan for real on the CPU backend over MPI",
	"mpirun -np P skrull run --plan PLAN [--trace FILE [--field SPEC]]\n"
	"              [--backend cpu] [--iters A:B] [--hidden N] [--layers N]\n"
	"              [--heads N] [--kv-heads N] [--ffn N] [--vocab N] [--seed N]\n"
	"              [--lr X] [--timeout S] [--memory GIB] [-o REPORT] [--json]",
	run,
};

enum {
	OPT_PLAN = 256, OPT_BACKEND, OPT_ITERS, OPT_HIDDEN, OPT_LAYERS,
	OPT_HEADS, OPT_KV_HEADS, OPT_FFN, OPT_VOCAB, OPT_SEED, OPT_LR,
	OPT_TIMEOUT, OPT_JSON, OPT_TRACE, OPT_FIELD, OPT_MEMORY
};

static const struct option longopts[] = {
	{ "plan", required_argument, NULL, OPT_PLAN },
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "iters", required_argument, NULL, OPT_ITERS },
	{ "hidden", required_argument, NULL, OPT_HIDDEN },
	{ "layers", required_argument, NULL, OPT_LAYERS },
	{ "heads", required_argument, NULL, OPT_HEADS },
	{ "kv-heads", required_argument, NULL, OPT_KV_HEADS },
	{ "ffn", required_argument, NULL, OPT_FFN },
	{ "vocab", required_argument, NULL, OPT_VOCAB },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "lr", required_argument, NULL, OPT_LR },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "trace", required_argument, NULL, OPT_TRACE },
	{ "field", required_argument, NULL, OPT_FIELD },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static void
help(void)
{
	printf("usage: %s\n\n%s\n\n", cmd_run.usage, cmd_run.summary);
	printf("  --plan PLAN     the plan to execute; P must equal its DP x CP\n"
	    "  --trace FILE    check the plan's samples against this trace first\n"
	    "  --field SPEC    the trace's length field (skrull-trace(1))\n"
	    "  --memory GIB    what one rank may use (default: the machine's\n"
	    "                  memory / the ranks on it); a plan that needs more\n"
	    "                  is refused before any work\n"
	    "  --backend cpu   the compute backend (cpu: fp32 reference kernels)\n"
	    "  --iters A:B     iterations A to B-1 (default all)\n"
	    "  --hidden, --layers, --heads, --kv-heads, --ffn, --vocab N\n"
	    "                  scale the plan's model down to fit a CPU (defaults\n"
	    "                  256, 2, 8, 2, 512, 4096)\n"
	    "  --seed N        weights and synthetic token ids (default 1)\n"
	    "  --lr X          AdamW learning rate (default 1e-3)\n"
	    "  --timeout S     seconds a collective may wait before the job is\n"
	    "                  aborted (default 60)\n"
	    "  -o REPORT       write the report (skrull-report, with the losses)\n"
	    "  --json          print the report as JSON\n"
	    "\nSee skrull-run(1).\n");
}

#ifdef HAVE_MPI
/* The machine's memory shared by the ranks on it (Open MPI says how many
 * with OMPI_COMM_WORLD_LOCAL_SIZE), bytes; 0 (no limit) if unknown. */
static double
default_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
	const char *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
	long n = local != NULL ? atol(local) : 1;

	if (pages <= 0 || size <= 0)
		return 0;
	return (double)pages * (double)size / (double)(n > 0 ? n : 1);
}

static int
parse_int(const char *opt, const char *arg, unsigned long lo, unsigned long hi,
    int *out)
{
	unsigned long v;

	if (cli_parse_ulong(&cmd_run, opt, arg, lo, hi, &v) != CLI_OK)
		return CLI_USAGE;
	*out = (int)v;
	return CLI_OK;
}

static int
parse_double(const char *opt, const char *arg, double lo, double hi,
    double *out)
{
	char *end;
	double v = strtod(arg, &end);

	if (*end != '\0' || arg[0] == '\0' || !(v > lo && v <= hi))
		return cli_usage(&cmd_run, "%s: '%s' is not a number in (%g, %g]",
		    opt, arg, lo, hi);
	*out = v;
	return CLI_OK;
}

static void
print_text(const struct report *r, const double *loss)
{
	size_t i;

	printf("%-14s %zu run (%zu to %zu) on %d ranks\n", "iterations", r->niter,
	    r->first, r->first + r->niter - 1, r->ngpus);
	printf("%-14s mean %.3f ms, p50 %.3f, p95 %.3f, p99 %.3f ms\n",
	    "iteration", r->mean * 1e3, r->p50 * 1e3, r->p95 * 1e3, r->p99 * 1e3);
	printf("%-14s %.0f tokens/s\n", "throughput", r->tokens_per_s);
	printf("%-14s busy %.1f%%, exposed communication %.1f%%, waiting %.1f%%\n",
	    "rank time", 100 * r->busy_frac, 100 * r->comm_frac, 100 * r->wait_frac);
	printf("%-14s %.2f MiB of activations\n", "peak memory",
	    r->peak_max / (1024.0 * 1024.0));
	printf("%-14s", "loss");
	for (i = 0; i < r->niter; i++)
		printf(" %.5f", loss[i]);
	putchar('\n');
}

/* The report with the losses, as JSON (printed or written). */
static cJSON *
report_json(const struct report *r, const double *loss)
{
	cJSON *root = cJSON_CreateObject(), *arr;
	size_t i;

	if (root == NULL || report_to_json(r, root, 1) != SK_OK ||
	    (arr = cJSON_AddArrayToObject(root, "losses")) == NULL)
		goto nomem;
	for (i = 0; i < r->niter; i++)
		if (cJSON_AddItemToArray(arr, cJSON_CreateNumber(loss[i])) == 0)
			goto nomem;
	return root;
nomem:
	cJSON_Delete(root);
	err_set(SK_ERR_NOMEM, "out of memory");
	return NULL;
}
#endif

static int
run(int argc, char **argv)
{
#ifndef HAVE_MPI
	int i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			help();
			return CLI_OK;
		}
	err_set(SK_ERR_UNSUPPORTED, "run: this skrull was built without MPI; "
	    "install Open MPI (libopenmpi-dev) and reconfigure");
	return cli_fail();
#else
	struct exec_model m;
	struct exec_opts eo;
	struct simcli sc;
	struct comm world;
	struct plan p;
	struct report r;
	struct exec *x = NULL;
	const char *plan_path = NULL, *out = NULL, *trace_path = NULL;
	struct trace_read_opts ro = { 0 };
	struct trace t;
	double *loss = NULL, v;
	cJSON *root = NULL;
	float agreed;
	int c, rc, json = 0, mpi = 0, failed;

	exec_model_default(&m);
	exec_opts_default(&eo);
	eo.mem_limit = default_memory();
	trace_init(&t);
	simcli_init(&sc);
	plan_init(&p);
	report_init(&r);
	optind = 1;
	while ((rc = cli_getopt(&cmd_run, argc, argv, ":ho:", longopts, &c)) ==
	    CLI_OK && c != -1) {
		switch (c) {
		case 'h':
			help();
			goto out;
		case 'o': out = optarg; break;
		case OPT_PLAN: plan_path = optarg; break;
		case OPT_TRACE: trace_path = optarg; break;
		case OPT_FIELD: ro.field = optarg; break;
		case OPT_MEMORY:
			rc = parse_double("--memory", optarg, 0, 1 << 20, &v);
			eo.mem_limit = v * 1024 * 1024 * 1024;
			break;
		case OPT_JSON: json = 1; break;
		case OPT_BACKEND:
			if (strcmp(optarg, "cpu") != 0)
				rc = cli_usage(&cmd_run, "--backend: '%s' is not "
				    "available (cpu)", optarg);
			break;
		case OPT_ITERS: rc = simcli_take(&sc, &cmd_run, "--iters", optarg); break;
		case OPT_HIDDEN: rc = parse_int("--hidden", optarg, 8, 65536, &m.hidden); break;
		case OPT_LAYERS: rc = parse_int("--layers", optarg, 1, 1024, &m.layers); break;
		case OPT_HEADS: rc = parse_int("--heads", optarg, 1, 1024, &m.heads); break;
		case OPT_KV_HEADS: rc = parse_int("--kv-heads", optarg, 1, 1024, &m.kv_heads); break;
		case OPT_FFN: rc = parse_int("--ffn", optarg, 8, 1 << 20, &m.ffn); break;
		case OPT_VOCAB: rc = parse_int("--vocab", optarg, 2, 1 << 24, &m.vocab); break;
		case OPT_SEED: {
			unsigned long s;

			rc = cli_parse_ulong(&cmd_run, "--seed", optarg, 0, 4294967295UL, &s);
			m.seed = s;
			break;
		}
		case OPT_LR:
			rc = parse_double("--lr", optarg, 0, 1, &v);
			eo.lr = (float)v;
			break;
		case OPT_TIMEOUT:
			rc = parse_double("--timeout", optarg, 0, 86400, &eo.timeout);
			break;
		}
		if (rc != CLI_OK)
			goto out;
	}
	if (rc != CLI_OK)
		goto out;
	if (optind != argc || plan_path == NULL) {
		rc = cli_usage(&cmd_run, optind != argc ? "run: unexpected argument "
		    "'%s'" : "run: --plan PLAN is required", argv[optind]);
		goto out;
	}
	rc = CLI_FAIL;
	if (comm_mpi_world(&argc, &argv, &world) != SK_OK) {
		rc = cli_fail();
		goto out;
	}
	mpi = 1;
	/* Every rank reads and checks the plan, then the ranks agree: all
	 * refuse together before any work, each with its reason, instead of
	 * the first failure aborting the others before they can say why. */
	failed = plan_read(plan_path, &p) != SK_OK ||
	    (trace_path != NULL && trace_read(trace_path, &ro, &t, NULL) != SK_OK) ||
	    plan_validate(&p, trace_path != NULL ? &t : NULL) != SK_OK;
	if (failed)
		fprintf(stderr, "skrull: rank %d: %s\n", world.rank, err_msg());
	agreed = failed ? 1.0f : 0.0f;
	if (world.ops->allreduce(&world, &agreed, &agreed, 1) != SK_OK) {
		fprintf(stderr, "skrull: rank %d: %s\n", world.rank, err_msg());
		world.ops->abort(&world, 1);
		goto out;
	}
	if (agreed > 0) {
		if (!failed)
			fprintf(stderr, "skrull: rank %d: the plan was refused on "
			    "another rank\n", world.rank);
		goto out;
	}
	eo.first = sc.first;
	eo.count = sc.end > sc.first ? sc.end - sc.first : 0;
	if (exec_new(&p, &m, &eo, &world, &x) != SK_OK) {
		fprintf(stderr, "skrull: rank %d: %s\n", world.rank, err_msg());
		goto out;
	}
	if ((loss = calloc(p.niter, sizeof *loss)) == NULL) {
		err_set(SK_ERR_NOMEM, "out of memory");
		fprintf(stderr, "skrull: rank %d: %s\n", world.rank, err_msg());
		world.ops->abort(&world, 1);
		goto out;
	}
	if (exec_run(x, &r, loss) != SK_OK) {
		fprintf(stderr, "skrull: rank %d: %s\n", world.rank, err_msg());
		world.ops->abort(&world, 1);
		goto out;
	}
	if (world.rank != 0) {
		rc = CLI_OK;
		goto out;
	}
	if ((out != NULL || json) && (root = report_json(&r, loss)) == NULL) {
		rc = cli_fail();
		goto out;
	}
	if (out != NULL && json_save(out, root, 1) != SK_OK) {
		rc = cli_fail();
		goto out;
	}
	if (json) {
		rc = cli_print_json(root);
		root = NULL;
	} else {
		print_text(&r, loss);
		rc = CLI_OK;
	}
out:
	cJSON_Delete(root);
	free(loss);
	exec_free(x);
	report_free(&r);
	plan_free(&p);
	trace_free(&t);
	if (mpi)
		comm_mpi_finalize();
	return rc;
#endif
}
