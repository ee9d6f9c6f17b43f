/* cmd_run: `skrull run`, see skrull-run(1). */
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "backend.h"
#include "cli.h"
#include "comm.h"
#include "comm_loop.h"
#ifdef HAVE_NCCL
#include "comm_nccl.h"
#endif
#include "err.h"
#include "exec.h"
#include "json.h"
#include "mem.h"
#include "plan.h"
#include "profile.h"
#include "ranks.h"
#include "report.h"
#include "sim.h"
#include "simcli.h"
#include "trace.h"

static int run(int, char **);

const struct cli_cmd cmd_run = {
	"run",
	"execute a plan for real on the CPU or GPUs, as threads or over MPI",
	"skrull run --plan PLAN [--backend cpu|cuda] [--comm loop|nccl|mpi]\n"
	"              [--ranks N] [--trace FILE [--field SPEC]] [--iters A:B]\n"
	"              [--hidden N] [--layers N] [--heads N] [--kv-heads N]\n"
	"              [--ffn N] [--vocab N] [--seed N] [--lr X] [--timeout S]\n"
	"              [--memory GIB] [--profile FILE] [-o REPORT] [--json]\n"
	"       mpirun -np P skrull run --plan PLAN [--comm mpi|nccl] [OPTION ...]",
	run,
};

enum {
	OPT_PLAN = 256, OPT_BACKEND, OPT_ITERS, OPT_HIDDEN, OPT_LAYERS,
	OPT_HEADS, OPT_KV_HEADS, OPT_FFN, OPT_VOCAB, OPT_SEED, OPT_LR,
	OPT_TIMEOUT, OPT_JSON, OPT_TRACE, OPT_FIELD, OPT_MEMORY, OPT_COMM,
	OPT_RANKS, OPT_PROFILE
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
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* The communicators `run` can use; COMM_AUTO picks one (processes() and
 * thread_comm()). */
enum comm_kind { COMM_AUTO, COMM_MPI, COMM_LOOP, COMM_NCCL };

/* What the options ask for. */
struct runopts {
	const char *plan_path, *out, *trace_path;
	const char *profile_path;  /* --profile: simulate beside the run */
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
	    "  --memory GIB    what one rank may use (default: the machine's\n"
	    "                  memory / the ranks on it); a plan that needs more\n"
	    "                  is refused before any work\n"
	    "  --iters A:B     iterations A to B-1 (default all)\n"
	    "  --hidden, --layers, --heads, --kv-heads, --ffn, --vocab N\n"
	    "                  scale the plan's model down (default: the plan's)\n"
	    "  --seed N        weights and synthetic token ids (default 1)\n"
	    "  --lr X          AdamW learning rate (default 1e-3)\n"
	    "  --timeout S     seconds a collective may wait before the job is\n"
	    "                  aborted (default 600)\n"
	    "  --profile FILE  simulate each iteration with this calibration\n"
	    "                  profile (skrull-profile(5)) beside the measured time\n"
	    "  -o REPORT       write the report (skrull-report, with the losses)\n"
	    "  --json          print the report as JSON\n"
	    "\nSee skrull-run(1).\n");
}

/* What this process may use (mem.h: the machine's memory, or a lower
 * rlimit or cgroup limit) shared by per ranks, bytes; 0 (no limit) if
 * unknown. */
static double
default_memory(long per)
{
	return mem_available() / (double)(per > 0 ? per : 1);
}

/* Whether the ranks are processes under a launcher (one each) rather than
 * threads of this one: mpi always is; nccl is when a launcher started
 * skrull; left to choose, processes when launched and built with MPI. */
static int
processes(const struct runopts *o)
{
	int mpi = 0;

#ifdef HAVE_MPI
	mpi = 1;
#endif
	if (o->comm == COMM_MPI)
		return 1;
	if (o->comm == COMM_LOOP)
		return 0;
	return mpi && cli_launched();
}

/* The communicator of n ranks as threads: the one asked for, or NCCL
 * when the backend has a GPU for each of two or more ranks (real
 * transfers), else the loopback. */
static enum comm_kind
thread_comm(const struct runopts *o, int n)
{
	if (o->comm != COMM_AUTO)
		return o->comm;
#ifdef HAVE_NCCL
	if (strcmp(o->b->name, "cuda") == 0 && n >= 2 && n <= o->ndev)
		return COMM_NCCL;
#endif
	return COMM_LOOP;
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
	int e;

	profile_init(&pf);
	if ((e = exec_model_resolve(&p->job.model, &o->m, &m)) == SK_OK &&
	    (e = profile_read(o->profile_path, &pf)) == SK_OK) {
		profile_apply(&pf, &c);
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
	    (e = trace_read(o->trace_path, &o->ro, &t, NULL)) == SK_OK) &&
	    (e = plan_validate(p, o->trace_path != NULL ? &t : NULL)) != SK_OK)
		err_prefix(o->plan_path);  /* as plan --check names it */
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
	struct exec_opts eo = t->o->eo;
	struct exec *x = NULL;
	int e;

	eo.device = rank % t->o->ndev;
	if ((e = b->open(eo.device)) != SK_OK)
		return e;
	if ((e = exec_new(t->p, &t->o->m, &eo, &t->world[rank], &x)) ==
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

#ifdef HAVE_NCCL
/* NCCL has no way to wake peers blocked in a collective but aborting: the
 * failed rank says why, then stops the job (ncclCommAbort, exit 1). */
static void
nccl_stop(int rank, void *arg)
{
	struct team *t = arg;

	fprintf(stderr, "skrull: rank %d: %s\n", rank, err_msg());
	t->world[rank].ops->abort(&t->world[rank], 1);
}
#endif

/* The n world communicators of the threads, of kind k; *stop receives
 * the hook that makes the others fail when one rank does. */
static int
thread_worlds(const struct runopts *o, enum comm_kind k, int n,
    struct team *t, void (**stop)(int, void *))
{
	int i;

	if (k == COMM_NCCL) {
#ifdef HAVE_NCCL
		if (n > o->ndev)
			return err_set(SK_ERR_ARG, "run: --comm nccl in one process "
			    "needs a GPU per rank: the plan has %d ranks, this "
			    "machine shows %d GPU%s (--comm loop emulates the "
			    "ranks on fewer)", n, o->ndev, o->ndev == 1 ? "" : "s");
		*stop = nccl_stop;
		if ((i = comm_nccl_world_all(n, t->world)) != SK_OK)
			return i;
		for (i = 0; i < n; i++)
			comm_nccl_set_timeout(&t->world[i], o->eo.timeout);
		return SK_OK;
#else
		return err_set(SK_ERR_UNSUPPORTED, "run: --comm nccl: this skrull "
		    "was built without NCCL");
#endif
	}
	*stop = loop_stop;
	if ((i = comm_loop_group_new(n, o->b, o->eo.timeout, &t->g)) != SK_OK)
		return i;
	for (i = 0; i < n; i++)
		comm_loop_join(t->g, i, &t->world[i]);
	return SK_OK;
}

/* `run` with every rank a thread of this process, over the loopback
 * communicator or NCCL (a GPU each). */
static int
run_threads(struct runopts *o)
{
	struct team t;
	struct plan p;
	struct report r;
	struct comm *world = NULL;
	double *loss = NULL;
	void (*stop)(int, void *) = NULL;
	enum comm_kind kind;
	char how[96];
	int rc = CLI_FAIL, n, failed;

	memset(&t, 0, sizeof t);
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
		o->eo.mem_limit = strcmp(o->b->name, "cpu") == 0 ?
		    default_memory(n) : 0;
	o->eo.first = o->sc.first;
	o->eo.count = o->sc.end > o->sc.first ? o->sc.end - o->sc.first : 0;
	if ((loss = calloc(p.niter, sizeof *loss)) == NULL ||
	    (world = calloc((size_t)n, sizeof *world)) == NULL) {
		err_set(SK_ERR_NOMEM, "out of memory");
		rc = cli_fail();
		goto out;
	}
	kind = thread_comm(o, n);
	t.o = o;
	t.p = &p;
	t.world = world;
	t.r = &r;
	t.loss = loss;
	if (thread_worlds(o, kind, n, &t, &stop) != SK_OK) {
		rc = cli_fail();
		goto out;
	}
	if (ranks_run(n, rank_main, stop, &t, &failed) != SK_OK) {
		fprintf(stderr, "skrull: rank %d: %s\n", failed, err_msg());
		goto out;
	}
	snprintf(r.comm, sizeof r.comm, "%s", world[0].ops->name);
	r.emulated = kind == COMM_LOOP;
	if (kind == COMM_LOOP)
		snprintf(how, sizeof how, "loopback (emulated: %d rank%s in one "
		    "process)", n, n == 1 ? "" : "s");
	else
		snprintf(how, sizeof how, "nccl (%d GPU%s, a thread each)", n,
		    n == 1 ? "" : "s");
	rc = results(o, &p, &r, loss, how);
out:
	comm_loop_group_free(t.g);
	free(world);
	free(loss);
	report_free(&r);
	plan_free(&p);
	return rc;
}

#ifdef HAVE_MPI
/* A rank's outcome in agree_plan. */
enum { AGREE_OK, AGREE_LOAD, AGREE_DIGEST, AGREE_CELLS = 5 };

/* "ranks 1, 3, 4" (at most 8 named, then the count) of the world's n
 * ranks whose cell v[k * AGREE_CELLS] is what, into buf; how many. */
static int
agree_ranks(const float *v, int n, int what, char *buf, size_t len)
{
	size_t at = 0;
	int k, c = 0;

	buf[0] = '\0';
	for (k = 0; k < n; k++) {
		if ((int)v[(size_t)k * AGREE_CELLS] != what)
			continue;
		if (c < 8 && at < len)
			at += (size_t)snprintf(buf + at, len - at, "%s%d",
			    c > 0 ? ", " : "", k);
		c++;
	}
	if (c > 8 && at < len)
		snprintf(buf + at, len - at, " and %d more", c - 8);
	return c;
}

/*
 * The ranks agree on the plan before any work: each adds its outcome
 * (failed, the load failed and it said why) and its plan's digest
 * (plan_digest, in four 16-bit parts, exact in floats) to a world
 * all-reduce, so every rank sees every rank's; a digest other than rank
 * 0's means the ranks were given different plans, which would deadlock or
 * compute garbage.  0 when all agree; 1 after printing this rank's
 * refusal, naming the ranks at fault; -1 (message recorded) when the
 * communication failed: abort.
 */
static int
agree_plan(const struct runopts *o, struct comm *w, const struct plan *p,
    int failed)
{
	struct comm_req rq = { 0 };
	uint64_t mine = 0, d0 = 0;
	size_t n = (size_t)w->size * AGREE_CELLS, at = (size_t)w->rank *
	    AGREE_CELLS;
	float *v;
	char who[160];
	int i, k, nload, ndiff, rc = -1;

	if ((v = calloc(n, sizeof *v)) == NULL) {
		err_set(SK_ERR_NOMEM, "out of memory");
		return -1;
	}
	if (!failed && plan_digest(p, &mine) != SK_OK) {
		fprintf(stderr, "skrull: rank %d: %s\n", w->rank, err_msg());
		failed = 1;
	}
	v[at] = failed ? AGREE_LOAD : AGREE_OK;
	for (i = 0; i < 4; i++)
		v[at + 1 + (size_t)i] = (float)((mine >> (16 * i)) & 0xffff);
	if (w->ops->iallreduce(w, v, v, n, &rq) != SK_OK ||
	    comm_wait(&rq, o->eo.timeout) != SK_OK)
		goto out;
	for (i = 0; i < 4; i++)
		d0 |= (uint64_t)v[1 + i] << (16 * i);
	for (k = 1; k < w->size; k++) {
		uint64_t dk = 0;

		for (i = 0; i < 4; i++)
			dk |= (uint64_t)v[(size_t)k * AGREE_CELLS + 1 + (size_t)i] <<
			    (16 * i);
		if (v[0] == AGREE_OK && v[(size_t)k * AGREE_CELLS] == AGREE_OK &&
		    dk != d0)
			v[(size_t)k * AGREE_CELLS] = AGREE_DIGEST;
	}
	rc = 1;
	if ((nload = agree_ranks(v, w->size, AGREE_LOAD, who, sizeof who)) > 0) {
		if (!failed)
			fprintf(stderr, "skrull: rank %d: the plan could not be "
			    "loaded on rank%s %s (see %s message%s): refused\n",
			    w->rank, nload == 1 ? "" : "s", who, nload == 1 ?
			    "its" : "their", nload == 1 ? "" : "s");
	} else if ((ndiff = agree_ranks(v, w->size, AGREE_DIGEST, who,
	    sizeof who)) > 0) {
		if (v[at] == AGREE_DIGEST)
			fprintf(stderr, "skrull: rank %d: the plan %s (digest "
			    "%016" PRIx64 ") differs from rank 0's (digest %016"
			    PRIx64 "): every rank must run the same plan; "
			    "refused\n", w->rank, o->plan_path, mine, d0);
		else
			fprintf(stderr, "skrull: rank %d: rank%s %s %s a plan "
			    "other than rank 0's (digest %016" PRIx64 "): "
			    "refused\n", w->rank, ndiff == 1 ? "" : "s", who,
			    ndiff == 1 ? "has" : "have", d0);
	} else
		rc = 0;
out:
	free(v);
	return rc;
}

/* `run` as one of P processes under mpirun (or srun): the ranks meet
 * over MPI, and then communicate over MPI, or over NCCL (kind) with the
 * process on GPU local rank mod GPUs. */
static int
run_mpi(struct runopts *o, enum comm_kind kind, int *argc, char ***argv)
{
	const char *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
	struct comm mpiw, *w = &mpiw;
#ifdef HAVE_NCCL
	struct comm ncw;
	int nccl = 0;
#endif
	struct plan p;
	struct report r;
	struct exec *x = NULL;
	double *loss = NULL;
	char how[64];
	int rc = CLI_FAIL, mpi = 0, failed;

	plan_init(&p);
	report_init(&r);
	if (!o->memory)
		o->eo.mem_limit = strcmp(o->b->name, "cpu") == 0 ?
		    default_memory(local != NULL ? atol(local) : 1) : 0;
	o->eo.device = cli_local_rank() % o->ndev;
	if (comm_mpi_world(argc, argv, &mpiw) != SK_OK) {
		rc = cli_fail();
		goto out;
	}
	mpi = 1;
	/* Every rank reads and checks the plan, then the ranks agree (on
	 * its digest too): all refuse together before any work, each with
	 * its reason, instead of the first failure aborting the others
	 * before they can say why. */
	failed = load_plan(o, &p) != SK_OK;
	if (failed)
		fprintf(stderr, "skrull: rank %d: %s\n", w->rank, err_msg());
	if ((failed = agree_plan(o, w, &p, failed)) < 0) {
		fprintf(stderr, "skrull: rank %d: %s\n", w->rank, err_msg());
		w->ops->abort(w, 1);
		goto out;
	}
	if (failed)
		goto out;
#ifdef HAVE_NCCL
	if (kind == COMM_NCCL) {
		if (comm_nccl_world_mpi(&mpiw, o->eo.device, &ncw) != SK_OK) {
			fprintf(stderr, "skrull: rank %d: %s\n", mpiw.rank,
			    err_msg());
			goto out;
		}
		nccl = 1;
		comm_nccl_set_timeout(&ncw, o->eo.timeout);
		w = &ncw;
	}
#else
	(void)kind;
#endif
	o->eo.first = o->sc.first;
	o->eo.count = o->sc.end > o->sc.first ? o->sc.end - o->sc.first : 0;
	if (exec_new(&p, &o->m, &o->eo, w, &x) != SK_OK) {
		fprintf(stderr, "skrull: rank %d: %s\n", w->rank, err_msg());
		goto out;
	}
	if ((loss = calloc(p.niter, sizeof *loss)) == NULL) {
		err_set(SK_ERR_NOMEM, "out of memory");
		fprintf(stderr, "skrull: rank %d: %s\n", w->rank, err_msg());
		w->ops->abort(w, 1);
		goto out;
	}
	if (exec_run(x, &r, loss) != SK_OK) {
		fprintf(stderr, "skrull: rank %d: %s\n", w->rank, err_msg());
		w->ops->abort(w, 1);
		goto out;
	}
	if (w->rank != 0) {
		rc = CLI_OK;
		goto out;
	}
	snprintf(r.comm, sizeof r.comm, "%s", w->ops->name);
	r.emulated = 0;
	snprintf(how, sizeof how, "%s (%d process%s)", w->ops->name, w->size,
	    w->size == 1 ? "" : "es");
	rc = results(o, &p, &r, loss, how);
out:
	free(loss);
	exec_free(x);
#ifdef HAVE_NCCL
	if (nccl)
		ncw.ops->free(&ncw);
#endif
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
	enum comm_kind kind;
	double v;
	int c, rc, procs;

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
			if (backend_find(optarg, &o.b) != SK_OK)
				rc = cli_usage(&cmd_run, "--backend: %s", err_msg());
			break;
		case OPT_COMM:
			if (strcmp(optarg, "mpi") == 0)
				o.comm = COMM_MPI;
			else if (strcmp(optarg, "loop") == 0)
				o.comm = COMM_LOOP;
			else if (strcmp(optarg, "nccl") == 0)
				o.comm = COMM_NCCL;
			else
				rc = cli_usage(&cmd_run, "--comm: '%s' is not "
				    "one of loop, nccl, mpi", optarg);
			break;
		case OPT_PROFILE: o.profile_path = optarg; break;
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
	procs = processes(&o);
	if (procs && o.ranks > 0)
		return cli_usage(&cmd_run, "run: --ranks is for ranks as threads; "
		    "under a launcher it sets the ranks (mpirun -np)");
#ifndef HAVE_NCCL
	if (o.comm == COMM_NCCL) {
		err_set(SK_ERR_UNSUPPORTED, "run: --comm nccl: this skrull was "
		    "built without NCCL (configure --with-nccl)");
		return cli_fail();
	}
#endif
	if (o.b->devices(&o.ndev) != SK_OK)
		return cli_fail();
	if (o.ndev < 1) {
		err_set(SK_ERR_UNSUPPORTED, "run: --backend %s: no device is "
		    "visible to this process", o.b->name);
		return cli_fail();
	}
	if (!procs)
		return run_threads(&o);
	kind = o.comm != COMM_AUTO ? o.comm : strcmp(o.b->name, "cpu") != 0 ?
	    COMM_NCCL : COMM_MPI;
	if (kind == COMM_MPI && strcmp(o.b->name, "cpu") != 0) {
		err_set(SK_ERR_UNSUPPORTED, "run: --comm mpi moves host memory, "
		    "and the %s backend's buffers are on the device: use --comm "
		    "nccl", o.b->name);
		return cli_fail();
	}
#ifdef HAVE_MPI
	return run_mpi(&o, kind, &argc, &argv);
#else
	err_set(SK_ERR_UNSUPPORTED, "run: --comm %s: this skrull was built "
	    "without MPI; install Open MPI (libopenmpi-dev) and reconfigure, or "
	    "run the ranks as threads with --comm loop", kind == COMM_NCCL ?
	    "nccl under a launcher" : "mpi");
	return cli_fail();
#endif
}
