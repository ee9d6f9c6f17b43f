/* cmd_run: `skrull run`, see skrull-run(1). */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "backend.h"
#include "cli.h"
#include "comm.h"
#include "err.h"
#include "exec.h"
#include "jobopts.h"
#include "json.h"
#include "mem.h"
#include "plan.h"
#include "profile.h"
#include "report.h"
#include "shapeopts.h"
#include "sim.h"
#include "simopts.h"
#include "trace.h"
#include "world.h"

static int run(int, char **);

const struct cli_cmd cmd_run = {
	.name = "run",
	.summary =
	    "execute a plan for real on the CPU or GPUs, as threads or over MPI",
	.usage =
	    "skrull run --plan PLAN [--backend cpu|cuda] [--comm loop|nccl|mpi]\n"
	    "              [--ranks N] [--trace FILE [--field SPEC] [--chars-per-token X]]\n"
	    "              [--iters A:B]\n"
	    "              [--hidden N] [--layers N] [--heads N] [--kv-heads N]\n"
	    "              [--ffn N] [--vocab N] [--seed N] [--lr X] [--timeout S]\n"
	    "              [--memory GIB] [--profile FILE] [-o REPORT] [--json]\n"
	    "       mpirun -np P skrull run --plan PLAN [--comm mpi|nccl] [OPTION ...]",
	.run = run,
};

enum {
	OPT_PLAN = 256, OPT_BACKEND, OPT_ITERS, OPT_SEED, OPT_LR,
	OPT_TIMEOUT, OPT_JSON, OPT_TRACE, OPT_FIELD, OPT_MEMORY, OPT_COMM,
	OPT_RANKS, OPT_PROFILE, OPT_CPT
};

static const struct option own[] = {
	{ "plan", required_argument, NULL, OPT_PLAN },
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "iters", required_argument, NULL, OPT_ITERS },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "lr", required_argument, NULL, OPT_LR },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "trace", required_argument, NULL, OPT_TRACE },
	{ "field", required_argument, NULL, OPT_FIELD },
	{ "chars-per-token", required_argument, NULL, OPT_CPT },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "comm", required_argument, NULL, OPT_COMM },
	{ "ranks", required_argument, NULL, OPT_RANKS },
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ "help", no_argument, NULL, 'h' },
};
#define NOWN (sizeof own / sizeof own[0])

/* What the options ask for. */
struct runopts {
	const char *plan_path, *out, *trace_path;
	const char *profile_path;  /* --profile: simulate beside the run */
	struct trace_read_opts ro;
	struct exec_model m;
	struct shapeopts shape; /* over the plan's model (load_plan) */
	struct exec_opts eo;
	struct simopts sc;
	enum world_comm comm;   /* --comm; WORLD_AUTO: world.h chooses */
	int ranks;              /* --ranks, 0 when not given */
	int memory;             /* --memory given */
	int json;
	const struct backend_ops *b;
	int ndev;               /* devices of b the ranks are spread over */
	long host_ranks;        /* ranks on this host: threads, or mpirun's */
};

static void
help(void)
{
	printf("usage: %s\n\n%s\n\n", cmd_run.usage, cmd_run.summary);
	printf("  --plan PLAN     the plan to execute\n"
	    "  --backend cpu|cuda\n"
	    "                  the compute backend: cpu, fp32 reference kernels;\n"
	    "                  cuda, the GPU kernels (fp32 storage), rank k of a\n"
	    "                  process on GPU k mod the GPUs (default cpu)\n"
	    "  --comm loop|nccl|mpi\n"
	    "                  how the ranks run: loop, every rank a thread of this\n"
	    "                  process, the communication emulated by copies in\n"
	    "                  memory; nccl, NCCL between GPUs, a thread per GPU,\n"
	    "                  or a process per GPU under mpirun; mpi, one process\n"
	    "                  per rank under mpirun, host buffers (default: under\n"
	    "                  a launcher, nccl for cuda and mpi for cpu; else\n"
	    "                  nccl when cuda has a GPU per rank, loop otherwise)\n"
	    "  --ranks N       with loop: the ranks, which must equal the plan's\n"
	    "                  DP x CP (default: that)\n"
	    "  --trace FILE    check the plan's samples against this trace first\n"
	    "  --field SPEC    the trace's length field (skrull-trace(1))\n"
	    "  --chars-per-token X  estimate a text field's tokens (skrull-trace(1))\n"
	    "  --memory GIB    what one rank may use (default: the machine's\n"
	    "                  memory / the ranks on it); a plan that needs more\n"
	    "                  is refused before any work\n"
	    "  --iters A:B     iterations A to B-1 (default all)\n"
	    "  --seed N        weights and synthetic token ids (default 1)\n"
	    "  --lr X          AdamW learning rate (default 1e-3)\n"
	    "  --timeout S     seconds a collective may wait before the job is\n"
	    "                  aborted (default 600)\n"
	    "  --profile FILE  simulate each iteration with this calibration\n"
	    "                  profile (skrull-profile(5)) beside the measured time\n"
	    "  -o REPORT       write the report (skrull-report, with the losses)\n"
	    "  --json          print the report as JSON\n"
	    "\nthe model's shape, over the plan's (to scale it down; calibrate\n"
	    "and simulate at the same shape):\n%s"
	    "\nSee skrull-run(1).\n", shapeopts_help);
}

/* What this process may use (mem.h: the machine's memory, or a lower
 * rlimit or cgroup limit) shared by per ranks, bytes; 0 (no limit) if
 * unknown. */
static double
default_memory(long per)
{
	return mem_available() / (double)(per > 0 ? per : 1);
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

/*
 * The CPU backend's ranks share this host's CPUs: a profile measures one
 * rank on a CPU of its own, and the simulator gives every rank a device
 * of its own, so with more ranks than CPUs (four rank threads on two
 * cores) each runs at CPUs / ranks of the profiled speed.  The cluster's
 * device is scaled to that share (predict): peak FLOP/s and memory
 * bandwidth by it, a launch's time by its inverse.  A GPU backend's ranks
 * have a device each: 1.
 */
static double
cpu_share(const struct runopts *o)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (strcmp(o->b->name, "cpu") != 0 || cpus <= 0 ||
	    o->host_ranks <= cpus)
		return 1;
	return (double)cpus / (double)o->host_ranks;
}

/* The simulated seconds of each iteration run (sec[r->niter]): the plan
 * with the model as run (its overrides), fp32 (the executor's storage on
 * either backend), on the plan's cluster with the profile applied; and
 * the report's bounds and summary for that job, the one measured. */
static int
predict(const struct runopts *o, const struct plan *p, struct report *r,
    double *sec)
{
	struct profile pf;
	struct cluster c = p->job.cluster;
	struct model m;
	double share;
	int e;

	profile_init(&pf);
	if ((e = exec_model_resolve(&p->job.model, &o->m, &m)) == SK_OK &&
	    (e = profile_read(o->profile_path, &pf)) == SK_OK) {
		jobopts_profile_warn(o->profile_path, &pf, &m);
		profile_apply(&pf, &c);
		share = cpu_share(o);
		c.gpu.peak_flops *= share;
		c.gpu.hbm_bw *= share;
		c.eff.launch /= share;
		e = sim_predict(p, &m, PRECISION_FP32, &c, r->first, r->niter, 0,
		    sec, r->bounds);
	}
	if (e == SK_OK)
		e = report_finish(r, &p->job);
	profile_free(&pf);
	if (e != SK_OK)
		err_prefix("--profile");
	return e;
}

/* Relative error of a simulated time against the measured one. */
static double
rel_error(double sim, double measured)
{
	return measured > 0 ? (sim - measured) / measured : 0;
}

static void
print_prediction(const struct runopts *o, const struct report *r,
    const double *sec)
{
	double sum = 0;
	size_t i;

	printf("%-14s profile %s: the simulator beside the run\n", "prediction",
	    o->profile_path);
	if (cpu_share(o) < 1)
		printf("  %ld ranks on %ld CPUs: each rank simulated at %.3g of "
		    "the profiled CPU\n", o->host_ranks,
		    sysconf(_SC_NPROCESSORS_ONLN), cpu_share(o));
	printf("  %-12s %13s %13s %9s\n", "iteration", "measured ms",
	    "simulated ms", "error");
	for (i = 0; i < r->niter; i++) {
		double e = rel_error(sec[i], r->time[i]);

		printf("  %-12zu %13.3f %13.3f %+8.1f%%\n", r->first + i,
		    r->time[i] * 1e3, sec[i] * 1e3, 100 * e);
		sum += e < 0 ? -e : e;
	}
	printf("  %-12s %36.1f%%\n", "mean |error|", 100 * sum /
	    (double)(r->niter > 0 ? r->niter : 1));
	printf("%-14s %.3f ms per iteration, the best possible on the profiled "
	    "hardware; this run takes %.3fx the bound\n", "bound",
	    r->bound * 1e3, r->bound_ratio);
}

/* The prediction as JSON, added to root. */
static int
prediction_json(const struct runopts *o, const struct report *r,
    const double *sec, cJSON *root)
{
	cJSON *pred, *arr, *it;
	double sum = 0;
	size_t i;

	if ((pred = cJSON_AddObjectToObject(root, "prediction")) == NULL ||
	    cJSON_AddStringToObject(pred, "profile", o->profile_path) == NULL ||
	    cJSON_AddNumberToObject(pred, "cpu_share", cpu_share(o)) == NULL ||
	    (arr = cJSON_AddArrayToObject(pred, "iterations")) == NULL)
		return err_set(SK_ERR_NOMEM, "out of memory");
	for (i = 0; i < r->niter; i++) {
		double e = rel_error(sec[i], r->time[i]);

		sum += e < 0 ? -e : e;
		if ((it = cJSON_CreateObject()) == NULL ||
		    cJSON_AddItemToArray(arr, it) == 0 ||
		    cJSON_AddNumberToObject(it, "iteration",
		    (double)(r->first + i)) == NULL ||
		    cJSON_AddNumberToObject(it, "measured", r->time[i]) == NULL ||
		    cJSON_AddNumberToObject(it, "simulated", sec[i]) == NULL ||
		    cJSON_AddNumberToObject(it, "error", e) == NULL)
			return err_set(SK_ERR_NOMEM, "out of memory");
	}
	if (cJSON_AddNumberToObject(pred, "mean_abs_error", sum /
	    (double)(r->niter > 0 ? r->niter : 1)) == NULL)
		return err_set(SK_ERR_NOMEM, "out of memory");
	return SK_OK;
}

/* Write and print the results (once, by rank 0 or the one process);
 * how describes the communication for the text.  With --profile, the
 * simulated time of each iteration beside the measured one. */
static int
results(const struct runopts *o, const struct plan *p, struct report *r,
    const double *loss, const char *how)
{
	cJSON *root = NULL;
	double *sec = NULL;
	int rc = CLI_FAIL;

	if (o->profile_path != NULL &&
	    ((sec = calloc(r->niter > 0 ? r->niter : 1, sizeof *sec)) == NULL ||
	    predict(o, p, r, sec) != SK_OK)) {
		if (sec == NULL)
			err_set(SK_ERR_NOMEM, "out of memory");
		rc = cli_fail();
		goto out;
	}
	if ((o->out != NULL || o->json) && ((root = report_json(r, loss)) ==
	    NULL || (sec != NULL && prediction_json(o, r, sec, root) !=
	    SK_OK))) {
		rc = cli_fail();
		goto out;
	}
	if (o->out != NULL && json_save(o->out, root, 1) != SK_OK) {
		rc = cli_fail();
		goto out;
	}
	if (o->json) {
		rc = cli_print_json(root);
		root = NULL;
		goto out;
	}
	print_text(r, loss, how);
	if (sec != NULL)
		print_prediction(o, r, sec);
	rc = CLI_OK;
out:
	cJSON_Delete(root);
	free(sec);
	return rc;
}

/* Read the plan, scale its model (the shape options: the report, the
 * executor and the prediction then all see the model as run) and check
 * it (against the trace when one is given); SK_OK or a code with its
 * message. */
static int
load_plan(const struct runopts *o, struct plan *p)
{
	struct trace t;
	int e;

	trace_init(&t);
	if ((e = plan_read(o->plan_path, p)) == SK_OK &&
	    (e = shapeopts_apply(&o->shape, &p->job.model)) == SK_OK &&
	    (o->trace_path == NULL ||
	    (e = cli_trace_read(o->trace_path, &o->ro, &t, NULL)) == SK_OK) &&
	    (e = plan_validate(p, o->trace_path != NULL ? &t : NULL)) != SK_OK)
		err_prefix(o->plan_path);  /* as plan --check names it */
	trace_free(&t);
	return e;
}

/* The inputs and the report checked before any work (cli_check_files),
 * by the process that writes the report. */
static int
check_files(const struct runopts *o)
{
	const struct cli_file in[3] = { { "--plan", o->plan_path },
	    { "--trace", o->trace_path }, { "--profile", o->profile_path } };
	const struct cli_file out = { "-o", o->out };

	return cli_check_files(in, 3, &out, 1);
}

/* The iterations the options ask for, into the executor's options. */
static void
set_iters(struct runopts *o)
{
	o->eo.first = o->sc.first;
	o->eo.count = o->sc.end > o->sc.first ? o->sc.end - o->sc.first : 0;
}

/*
 * The ranks of one process, each a thread (world_threads_run): rank k
 * opens the backend on device k mod ndev and runs the plan on its world
 * communicator.
 */
struct team {
	const struct runopts *o;
	const struct plan *p;
	struct report *r;        /* rank 0's report */
	double *loss;            /* rank 0's losses */
};

static int
rank_main(int rank, struct comm *c, void *arg)
{
	struct team *t = arg;
	const struct backend_ops *b = t->o->b;
	struct exec_opts eo = t->o->eo;
	struct exec *x = NULL;
	int e;

	eo.device = rank % t->o->ndev;
	if ((e = b->open(eo.device)) != SK_OK)
		return e;
	if ((e = exec_new(t->p, &t->o->m, &eo, c, &x)) == SK_OK)
		e = exec_run(x, rank == 0 ? t->r : NULL, rank == 0 ? t->loss :
		    NULL);
	/* After a communication failure the communicators are unusable
	 * (exec.h): what is left goes with the process. */
	if (e != SK_ERR_IO) {
		exec_free(x);
		c->ops->free(c);
	}
	b->close();
	return e;
}

/* The ranks of the plan as threads: --ranks must agree with its grid;
 * the default memory of each is its share of this process's. */
static int
thread_ranks(struct runopts *o, const struct plan *p, int *n)
{
	*n = p->job.dp * p->job.cp;
	o->host_ranks = *n;
	if (o->ranks > 0 && o->ranks != *n)
		return err_set(SK_ERR_ARG, "run: --ranks %d, but the plan's grid "
		    "is DP %d x CP %d: it needs %d ranks", o->ranks, p->job.dp,
		    p->job.cp, *n);
	if (!o->memory)
		o->eo.mem_limit = strcmp(o->b->name, "cpu") == 0 ?
		    default_memory(*n) : 0;
	set_iters(o);
	return SK_OK;
}

/* `run` with every rank a thread of this process, over the loopback
 * communicator or NCCL (a GPU each). */
static int
run_threads(struct runopts *o)
{
	struct world w;
	struct team t;
	struct plan p;
	struct report r;
	double *loss = NULL;
	enum world_comm kind;
	char how[WORLD_HOW_MAX];
	int rc = CLI_FAIL, n, failed;

	world_init(&w, cli_rank_fail);
	plan_init(&p);
	report_init(&r);
	if (load_plan(o, &p) != SK_OK || thread_ranks(o, &p, &n) != SK_OK) {
		rc = cli_fail();
		goto out;
	}
	if ((loss = calloc(p.niter, sizeof *loss)) == NULL) {
		err_set(SK_ERR_NOMEM, "out of memory");
		rc = cli_fail();
		goto out;
	}
	if (world_thread_comm(o->comm, o->b, n, o->ndev, &kind) != SK_OK) {
		err_prefix("run");
		rc = cli_fail();
		goto out;
	}
	if (world_threads(&w, kind, n, o->b, o->eo.timeout) != SK_OK) {
		rc = cli_fail();
		goto out;
	}
	t.o = o;
	t.p = &p;
	t.r = &r;
	t.loss = loss;
	if (world_threads_run(&w, rank_main, &t, &failed) != SK_OK) {
		cli_rank_fail(failed);
		goto out;
	}
	snprintf(r.comm, sizeof r.comm, "%s", w.rank[0].ops->name);
	r.emulated = world_emulated(&w);
	world_how(&w, how, sizeof how);
	rc = results(o, &p, &r, loss, how);
out:
	world_free(&w);
	free(loss);
	report_free(&r);
	plan_free(&p);
	return rc;
}

/*
 * The processes meet over MPI: every rank reads and checks the plan, then
 * the ranks agree (on its digest too), so that all refuse together before
 * any work, each with its reason, instead of the first failure aborting
 * the others before they can say why; then, for kind NCCL, NCCL is
 * bootstrapped over MPI.  SK_OK, or a code once this rank has said why
 * (after a communication failure it has aborted the job).
 */
static int
meet(const struct runopts *o, enum world_comm kind, struct world *w,
    struct plan *p)
{
	uint64_t digest = 0;
	int failed, e, rank = w->mpi.rank;

	failed = (rank == 0 && check_files(o) != SK_OK) ||
	    load_plan(o, p) != SK_OK || plan_digest(p, &digest) != SK_OK;
	if (failed)
		cli_rank_fail(rank);
	e = world_agree(&w->mpi, failed, digest, o->plan_path, o->eo.timeout);
	if (e != SK_OK && e != SK_ERR_ARG) {
		cli_rank_fail(rank);
		world_abort(w);
		return e;
	}
	if (e != SK_OK) {
		if (!failed)
			cli_rank_fail(rank);
		return e;
	}
	if (kind == WORLD_NCCL &&
	    (e = world_nccl(w, o->eo.device, o->eo.timeout)) != SK_OK)
		cli_rank_fail(rank);
	return e;
}

/* `run` as one of P processes under mpirun (or srun): the ranks meet
 * over MPI, and then communicate over MPI, or over NCCL (kind) with the
 * process on GPU local rank mod GPUs. */
static int
run_procs(struct runopts *o, enum world_comm kind, int *argc, char ***argv)
{
	struct world w;
	struct comm *c;
	struct plan p;
	struct report r;
	struct exec *x = NULL;
	double *loss = NULL;
	char how[WORLD_HOW_MAX];
	int rc = CLI_FAIL, e;

	world_init(&w, cli_rank_fail);
	plan_init(&p);
	report_init(&r);
	o->host_ranks = world_local_size();
	if (!o->memory)
		o->eo.mem_limit = strcmp(o->b->name, "cpu") == 0 ?
		    default_memory(world_local_size()) : 0;
	o->eo.device = cli_local_rank() % o->ndev;
	if (world_mpi(&w, argc, argv) != SK_OK) {
		rc = cli_fail();
		goto out;
	}
	if (meet(o, kind, &w, &p) != SK_OK)
		goto out;
	c = world_comm(&w);
	set_iters(o);
	if ((e = exec_new(&p, &o->m, &o->eo, c, &x)) != SK_OK) {
		cli_rank_fail(c->rank);
		/* The peers may wait in a split for this rank (exec.h). */
		if (e == SK_ERR_IO)
			world_abort(&w);
		goto out;
	}
	if ((loss = calloc(p.niter, sizeof *loss)) == NULL)
		err_set(SK_ERR_NOMEM, "out of memory");
	if (loss == NULL || exec_run(x, &r, loss) != SK_OK) {
		cli_rank_fail(c->rank);
		world_abort(&w);
		goto out;
	}
	if (c->rank != 0) {
		rc = CLI_OK;
		goto out;
	}
	snprintf(r.comm, sizeof r.comm, "%s", c->ops->name);
	r.emulated = world_emulated(&w);
	world_how(&w, how, sizeof how);
	rc = results(o, &p, &r, loss, how);
out:
	free(loss);
	exec_free(x);
	report_free(&r);
	plan_free(&p);
	world_free(&w);
	return rc;
}

/* The options into *o; CLI_OK with *done set when -h printed the help,
 * else the exit status of a usage error. */
static int
parse(int argc, char **argv, struct runopts *o, int *done)
{
	double v;
	struct option longopts[NOWN + SHAPEOPTS_N + 1];
	int c, rc;

	memcpy(longopts, own, sizeof own);
	memcpy(longopts + NOWN, shapeopts_long, (SHAPEOPTS_N + 1) *
	    sizeof *longopts);
	*done = 0;
	optind = 1;
	while ((rc = cli_getopt(&cmd_run, argc, argv, ":ho:", longopts, &c)) ==
	    CLI_OK && c != -1) {
		switch (c) {
		case 'h':
			help();
			*done = 1;
			return CLI_OK;
		case 'o': o->out = optarg; break;
		case OPT_PLAN: o->plan_path = optarg; break;
		case OPT_TRACE: o->trace_path = optarg; break;
		case OPT_FIELD: o->ro.field = optarg; break;
		case OPT_CPT:
			rc = cli_parse_cpt(&cmd_run, optarg,
			    &o->ro.chars_per_token);
			break;
		case OPT_MEMORY:
			rc = parse_double("--memory", optarg, 0, 1 << 20, &v);
			o->eo.mem_limit = v * 1024 * 1024 * 1024;
			o->memory = 1;
			break;
		case OPT_JSON: o->json = 1; break;
		case OPT_BACKEND:
			/* An unknown name is a usage error; a CUDA module that
			 * cannot be loaded is the machine's. */
			if (backend_find(optarg, &o->b) != SK_OK)
				rc = err_code() == SK_ERR_ARG ? cli_usage(&cmd_run,
				    "--backend: %s", err_msg()) : cli_fail();
			break;
		case OPT_COMM:
			if (strcmp(optarg, "mpi") == 0)
				o->comm = WORLD_MPI;
			else if (strcmp(optarg, "loop") == 0)
				o->comm = WORLD_LOOP;
			else if (strcmp(optarg, "nccl") == 0)
				o->comm = WORLD_NCCL;
			else
				rc = cli_usage(&cmd_run, "--comm: '%s' is not "
				    "one of loop, nccl, mpi", optarg);
			break;
		case OPT_PROFILE: o->profile_path = optarg; break;
		case OPT_RANKS: rc = parse_int("--ranks", optarg, 1, 65536, &o->ranks); break;
		case OPT_ITERS: rc = simopts_take(&o->sc, &cmd_run, "--iters", optarg); break;
		case OPT_SEED: {
			unsigned long s;

			rc = cli_parse_ulong(&cmd_run, "--seed", optarg, 0, 4294967295UL, &s);
			o->m.seed = s;
			break;
		}
		case OPT_LR:
			rc = parse_double("--lr", optarg, 0, 1, &v);
			o->eo.lr = (float)v;
			break;
		case OPT_TIMEOUT:
			rc = parse_double("--timeout", optarg, 0, 86400, &o->eo.timeout);
			break;
		default:
			rc = shapeopts_take(&o->shape, &cmd_run, c, optarg);
			break;
		}
		if (rc != CLI_OK)
			return rc;
	}
	if (rc != CLI_OK)
		return rc;
	if (optind != argc || o->plan_path == NULL)
		return cli_usage(&cmd_run, optind != argc ? "run: unexpected "
		    "argument '%s'" : "run: --plan PLAN is required",
		    argv[optind]);
	return CLI_OK;
}

static int
run(int argc, char **argv)
{
	struct runopts o;
	enum world_comm kind;
	int rc, procs, done;

	memset(&o, 0, sizeof o);
	shapeopts_init(&o.shape);
	exec_model_default(&o.m);
	exec_opts_default(&o.eo);
	simopts_init(&o.sc);
	o.b = &backend_cpu_ops;
	o.ndev = 1;
	if ((rc = parse(argc, argv, &o, &done)) != CLI_OK || done)
		return rc;
	procs = world_processes(o.comm);
	if (procs && o.ranks > 0)
		return cli_usage(&cmd_run, "run: --ranks is for ranks as threads; "
		    "under a launcher it sets the ranks (mpirun -np)");
	if (o.comm == WORLD_NCCL && !world_built(WORLD_NCCL)) {
		err_set(SK_ERR_UNSUPPORTED, "run: --comm nccl: this skrull was "
		    "built without NCCL (configure --with-nccl)");
		return cli_fail();
	}
	if (o.b->devices(&o.ndev) != SK_OK)
		return cli_fail();
	if (o.ndev < 1) {
		err_set(SK_ERR_UNSUPPORTED, "run: --backend %s: no device is "
		    "visible to this process", o.b->name);
		return cli_fail();
	}
	if (!procs)
		return check_files(&o) != SK_OK ? cli_fail() : run_threads(&o);
	if (world_process_comm(o.comm, o.b, &kind) != SK_OK) {
		err_prefix("run");
		return cli_fail();
	}
	if (!world_built(WORLD_MPI)) {
		err_set(SK_ERR_UNSUPPORTED, "run: --comm %s: this skrull was built "
		    "without MPI; install Open MPI (libopenmpi-dev) and "
		    "reconfigure, or run the ranks as threads with --comm loop",
		    kind == WORLD_NCCL ? "nccl under a launcher" : "mpi");
		return cli_fail();
	}
	return run_procs(&o, kind, &argc, &argv);
}
