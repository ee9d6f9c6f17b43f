/* cmd_run: `skrull run`, see skrull-run(1). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "backend.h"
#include "cli.h"
#include "comm.h"
#include "comm_loop.h"
#include "err.h"
#include "exec.h"
#include "json.h"
#include "plan.h"
#include "ranks.h"
#include "report.h"
#include "simcli.h"
#include "trace.h"

static int run(int, char **);

const struct cli_cmd cmd_run = {
	"run",
	"execute a plan for real on the CPU backend, as threads or over MPI",
	"skrull run --plan PLAN [--comm loop|mpi] [--ranks N]\n"
	"              [--trace FILE [--field SPEC]] [--backend cpu] [--iters A:B]\n"
	"              [--hidden N] [--layers N] [--heads N] [--kv-heads N]\n"
	"              [--ffn N] [--vocab N] [--seed N] [--lr X] [--timeout S]\n"
	"              [--memory GIB] [-o REPORT] [--json]\n"
	"       mpirun -np P skrull run --plan PLAN [--comm mpi] [OPTION ...]",
	run,
};

enum {
	OPT_PLAN = 256, OPT_BACKEND, OPT_ITERS, OPT_HIDDEN, OPT_LAYERS,
	OPT_HEADS, OPT_KV_HEADS, OPT_FFN, OPT_VOCAB, OPT_SEED, OPT_LR,
	OPT_TIMEOUT, OPT_JSON, OPT_TRACE, OPT_FIELD, OPT_MEMORY, OPT_COMM,
	OPT_RANKS
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
	{ "comm", required_argument, NULL, OPT_COMM },
	{ "ranks", required_argument, NULL, OPT_RANKS },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* The communicators `run` can use; COMM_AUTO picks one (pick_comm). */
enum comm_kind { COMM_AUTO, COMM_MPI, COMM_LOOP };

/* What the options ask for. */
struct runopts {
	const char *plan_path, *out, *trace_path;
	struct trace_read_opts ro;
	struct exec_model m;
	struct exec_opts eo;
	struct simcli sc;
	enum comm_kind comm;
	int ranks;              /* --ranks, 0 when not given */
	int memory;             /* --memory given */
	int json;
	const struct backend_ops *b;
	int ndev;               /* devices of b the ranks are spread over */
};

static void
help(void)
{
	printf("usage: %s\n\n%s\n\n", cmd_run.usage, cmd_run.summary);
	printf("  --plan PLAN     the plan to execute\n"
	    "  --comm loop|mpi how the ranks run: loop, every rank a thread of this\n"
	    "                  process, the communication emulated by copies in\n"
	    "                  memory; mpi, one process per rank under mpirun (P\n"
	    "                  must equal the plan's DP x CP) (default: mpi when a\n"
	    "                  launcher started skrull, else loop)\n"
	    "  --ranks N       with loop: the ranks, which must equal the plan's\n"
	    "                  DP x CP (default: that)\n"
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

/* The machine's memory shared by per ranks, bytes; 0 (no limit) if
 * unknown. */
static double
default_memory(long per)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

	if (pages <= 0 || size <= 0)
		return 0;
	return (double)pages * (double)size / (double)(per > 0 ? per : 1);
}

/* Whether a launcher (mpirun, srun, a PMI process manager) started this
 * process: then its peers are other processes, reached through MPI. */
static int
launched(void)
{
	static const char *const vars[] = {
		"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "SLURM_NTASKS"
	};
	size_t i;

	for (i = 0; i < sizeof vars / sizeof vars[0]; i++)
		if (getenv(vars[i]) != NULL)
			return 1;
	return 0;
}

static enum comm_kind
pick_comm(enum comm_kind asked)
{
	int mpi = 0;

#ifdef HAVE_MPI
	mpi = 1;
#endif
	if (asked != COMM_AUTO)
		return asked;
	return mpi && launched() ? COMM_MPI : COMM_LOOP;
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
print_text(const struct report *r, const double *loss, const char *how)
{
	size_t i;

	printf("%-14s %zu run (%zu to %zu) on %d ranks\n", "iterations", r->niter,
	    r->first, r->first + r->niter - 1, r->ngpus);
	printf("%-14s %s\n", "communication", how);
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

/* Write and print the results (once, by rank 0 or the one process);
 * how describes the communication for the text. */
static int
results(const struct runopts *o, const struct report *r, const double *loss,
    const char *how)
{
	cJSON *root = NULL;

	if ((o->out != NULL || o->json) && (root = report_json(r, loss)) == NULL)
		return cli_fail();
	if (o->out != NULL && json_save(o->out, root, 1) != SK_OK) {
		cJSON_Delete(root);
		return cli_fail();
	}
	if (o->json)
		return cli_print_json(root);
	cJSON_Delete(root);
	print_text(r, loss, how);
	return CLI_OK;
}

/* Read the plan and check it (against the trace when one is given);
 * SK_OK or a code with its message. */
static int
load_plan(const struct runopts *o, struct plan *p)
{
	struct trace t;
	int e;

	trace_init(&t);
	if ((e = plan_read(o->plan_path, p)) == SK_OK &&
	    (o->trace_path == NULL ||
	    (e = trace_read(o->trace_path, &o->ro, &t, NULL)) == SK_OK))
		e = plan_validate(p, o->trace_path != NULL ? &t : NULL);
	trace_free(&t);
	return e;
}

/*
 * The ranks of one process, each a thread (ranks_run): rank k opens the
 * backend on device k mod ndev and runs the plan on world[k].  A
 * communicator of this kind needs only its worlds and a stop.
 */
struct team {
	const struct runopts *o;
	const struct plan *p;
	struct comm *world;      /* one per rank, made before the threads */
	struct comm_loop_group *g;  /* the loopback group, for stop */
	struct report *r;        /* rank 0's report */
	double *loss;            /* rank 0's losses */
};

static int
rank_main(int rank, void *arg)
{
	struct team *t = arg;
	const struct backend_ops *b = t->o->b;
	struct exec *x = NULL;
	int e;

	if ((e = b->open(rank % t->o->ndev)) != SK_OK)
		return e;
	if ((e = exec_new(t->p, &t->o->m, &t->o->eo, &t->world[rank], &x)) ==
	    SK_OK)
		e = exec_run(x, rank == 0 ? t->r : NULL, rank == 0 ? t->loss :
		    NULL);
	/* After a communication failure the communicators are unusable
	 * (exec.h): what is left goes with the process. */
	if (e != SK_ERR_IO) {
		exec_free(x);
		t->world[rank].ops->free(&t->world[rank]);
	}
	b->close();
	return e;
}

static void
loop_stop(int rank, void *arg)
{
	comm_loop_poison(((struct team *)arg)->g, rank);
}

/* `run` with every rank a thread of this process over the loopback
 * communicator. */
static int
run_loop(struct runopts *o)
{
	struct team t;
	struct plan p;
	struct report r;
	struct comm_loop_group *g = NULL;
	struct comm *world = NULL;
	double *loss = NULL;
	char how[96];
	int rc = CLI_FAIL, n, k, failed;

	plan_init(&p);
	report_init(&r);
	if (load_plan(o, &p) != SK_OK) {
		rc = cli_fail();
		goto out;
	}
	n = p.job.dp * p.job.cp;
	if (o->ranks > 0 && o->ranks != n) {
		err_set(SK_ERR_ARG, "run: --ranks %d, but the plan's grid is DP "
		    "%d x CP %d: it needs %d ranks", o->ranks, p.job.dp,
		    p.job.cp, n);
		rc = cli_fail();
		goto out;
	}
	if (!o->memory)
		o->eo.mem_limit = default_memory(n);
	o->eo.first = o->sc.first;
	o->eo.count = o->sc.end > o->sc.first ? o->sc.end - o->sc.first : 0;
	if ((loss = calloc(p.niter, sizeof *loss)) == NULL ||
	    (world = calloc((size_t)n, sizeof *world)) == NULL) {
		err_set(SK_ERR_NOMEM, "out of memory");
		rc = cli_fail();
		goto out;
	}
	if (comm_loop_group_new(n, o->b, o->eo.timeout, &g) != SK_OK) {
		rc = cli_fail();
		goto out;
	}
	for (k = 0; k < n; k++)
		comm_loop_join(g, k, &world[k]);
	t.o = o;
	t.p = &p;
	t.world = world;
	t.g = g;
	t.r = &r;
	t.loss = loss;
	if (ranks_run(n, rank_main, loop_stop, &t, &failed) != SK_OK) {
		fprintf(stderr, "skrull: rank %d: %s\n", failed, err_msg());
		goto out;
	}
	snprintf(r.comm, sizeof r.comm, "%s", comm_loop_ops.name);
	r.emulated = 1;
	snprintf(how, sizeof how, "loopback (emulated: %d rank%s in one "
	    "process)", n, n == 1 ? "" : "s");
	rc = results(o, &r, loss, how);
out:
	comm_loop_group_free(g);
	free(world);
	free(loss);
	report_free(&r);
	plan_free(&p);
	return rc;
}

#ifdef HAVE_MPI
/* `run` as one of P processes under mpirun. */
static int
run_mpi(struct runopts *o, int *argc, char ***argv)
{
	const char *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
	struct comm world;
	struct plan p;
	struct report r;
	struct exec *x = NULL;
	double *loss = NULL;
	char how[64];
	float agreed;
	int rc = CLI_FAIL, mpi = 0, failed;

	plan_init(&p);
	report_init(&r);
	if (!o->memory)
		o->eo.mem_limit = default_memory(local != NULL ? atol(local) : 1);
	if (comm_mpi_world(argc, argv, &world) != SK_OK) {
		rc = cli_fail();
		goto out;
	}
	mpi = 1;
	/* Every rank reads and checks the plan, then the ranks agree: all
	 * refuse together before any work, each with its reason, instead of
	 * the first failure aborting the others before they can say why. */
	failed = load_plan(o, &p) != SK_OK;
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
	o->eo.first = o->sc.first;
	o->eo.count = o->sc.end > o->sc.first ? o->sc.end - o->sc.first : 0;
	if (exec_new(&p, &o->m, &o->eo, &world, &x) != SK_OK) {
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
	snprintf(r.comm, sizeof r.comm, "%s", comm_mpi_ops.name);
	r.emulated = 0;
	snprintf(how, sizeof how, "mpi (%d process%s)", world.size,
	    world.size == 1 ? "" : "es");
	rc = results(o, &r, loss, how);
out:
	free(loss);
	exec_free(x);
	report_free(&r);
	plan_free(&p);
	if (mpi)
		comm_mpi_finalize();
	return rc;
}
#endif

static int
run(int argc, char **argv)
{
	struct runopts o;
	double v;
	int c, rc;

	memset(&o, 0, sizeof o);
	exec_model_default(&o.m);
	exec_opts_default(&o.eo);
	simcli_init(&o.sc);
	o.b = &backend_cpu_ops;
	o.ndev = 1;
	optind = 1;
	while ((rc = cli_getopt(&cmd_run, argc, argv, ":ho:", longopts, &c)) ==
	    CLI_OK && c != -1) {
		switch (c) {
		case 'h':
			help();
			return CLI_OK;
		case 'o': o.out = optarg; break;
		case OPT_PLAN: o.plan_path = optarg; break;
		case OPT_TRACE: o.trace_path = optarg; break;
		case OPT_FIELD: o.ro.field = optarg; break;
		case OPT_MEMORY:
			rc = parse_double("--memory", optarg, 0, 1 << 20, &v);
			o.eo.mem_limit = v * 1024 * 1024 * 1024;
			o.memory = 1;
			break;
		case OPT_JSON: o.json = 1; break;
		case OPT_BACKEND:
			if (strcmp(optarg, "cpu") != 0)
				rc = cli_usage(&cmd_run, "--backend: '%s' is not "
				    "available (cpu)", optarg);
			break;
		case OPT_COMM:
			if (strcmp(optarg, "mpi") == 0)
				o.comm = COMM_MPI;
			else if (strcmp(optarg, "loop") == 0)
				o.comm = COMM_LOOP;
			else
				rc = cli_usage(&cmd_run, "--comm: '%s' is not "
				    "available (loop, mpi)", optarg);
			break;
		case OPT_RANKS: rc = parse_int("--ranks", optarg, 1, 65536, &o.ranks); break;
		case OPT_ITERS: rc = simcli_take(&o.sc, &cmd_run, "--iters", optarg); break;
		case OPT_HIDDEN: rc = parse_int("--hidden", optarg, 8, 65536, &o.m.hidden); break;
		case OPT_LAYERS: rc = parse_int("--layers", optarg, 1, 1024, &o.m.layers); break;
		case OPT_HEADS: rc = parse_int("--heads", optarg, 1, 1024, &o.m.heads); break;
		case OPT_KV_HEADS: rc = parse_int("--kv-heads", optarg, 1, 1024, &o.m.kv_heads); break;
		case OPT_FFN: rc = parse_int("--ffn", optarg, 8, 1 << 20, &o.m.ffn); break;
		case OPT_VOCAB: rc = parse_int("--vocab", optarg, 2, 1 << 24, &o.m.vocab); break;
		case OPT_SEED: {
			unsigned long s;

			rc = cli_parse_ulong(&cmd_run, "--seed", optarg, 0, 4294967295UL, &s);
			o.m.seed = s;
			break;
		}
		case OPT_LR:
			rc = parse_double("--lr", optarg, 0, 1, &v);
			o.eo.lr = (float)v;
			break;
		case OPT_TIMEOUT:
			rc = parse_double("--timeout", optarg, 0, 86400, &o.eo.timeout);
			break;
		}
		if (rc != CLI_OK)
			return rc;
	}
	if (rc != CLI_OK)
		return rc;
	if (optind != argc || o.plan_path == NULL)
		return cli_usage(&cmd_run, optind != argc ? "run: unexpected "
		    "argument '%s'" : "run: --plan PLAN is required",
		    argv[optind]);
	o.comm = pick_comm(o.comm);
	if (o.comm == COMM_MPI && o.ranks > 0)
		return cli_usage(&cmd_run, "run: --ranks is for --comm loop; "
		    "with mpi the launcher sets the ranks (mpirun -np)");
	if (o.comm == COMM_LOOP)
		return run_loop(&o);
#ifdef HAVE_MPI
	return run_mpi(&o, &argc, &argv);
#else
	err_set(SK_ERR_UNSUPPORTED, "run: --comm mpi: this skrull was built "
	    "without MPI; install Open MPI (libopenmpi-dev) and reconfigure, or "
	    "run the ranks as threads with --comm loop");
	return cli_fail();
#endif
}
