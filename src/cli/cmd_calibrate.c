/* cmd_calibrate: `skrull calibrate`, see skrull-calibrate(1). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "backend.h"
#include "calib.h"
#include "cli.h"
#include "cluster.h"
#include "comm.h"
#include "err.h"
#include "job.h"
#include "model.h"
#include "profile.h"
#include "progress.h"
#include "shapeopts.h"
#include "world.h"

static int run(int, char **);

const struct cli_cmd cmd_calibrate = {
	.name = "calibrate",
	.summary =
	    "measure the device and fit the simulator's cost curves: a profile",
	.usage =
	    "[mpirun -np P] skrull calibrate [--backend NAME] [--model NAME|FILE]\n"
	    "              [--hidden N] [--layers N] [--heads N] [--kv-heads N]\n"
	    "              [--ffn N] [--vocab N] [--cluster NAME|FILE] [--max-len N]\n"
	    "              [--quick] -o PROFILE [--quiet] [--json]",
	.run = run,
};

enum {
	OPT_BACKEND = 256, OPT_MODEL, OPT_CLUSTER, OPT_MAX_LEN, OPT_QUICK,
	OPT_JSON, OPT_QUIET
};

static const struct option own[] = {
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "model", required_argument, NULL, OPT_MODEL },
	{ "cluster", required_argument, NULL, OPT_CLUSTER },
	{ "max-len", required_argument, NULL, OPT_MAX_LEN },
	{ "quick", no_argument, NULL, OPT_QUICK },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "help", no_argument, NULL, 'h' },
};
#define NOWN (sizeof own / sizeof own[0])

static void
help(void)
{
	printf("usage: %s\n\n%s\n\n", cmd_calibrate.usage,
	    cmd_calibrate.summary);
	printf("  --backend NAME       compute backend (default cpu)\n"
	    "  --model NAME|FILE    model whose GEMM shapes and head size are\n"
	    "                       measured (default Qwen2.5-0.5B)\n"
	    "  --cluster NAME|FILE  take peak FLOP/s and HBM bandwidth from this\n"
	    "                       cluster (default: the measured asymptotes)\n"
	    "  --max-len N          longest attention length, tokens (default\n"
	    "                       131072 on a GPU, 4096 on cpu, 1024 with --quick)\n"
	    "  --quick              fewer points and repetitions\n"
	    "  -o PROFILE           write the profile (skrull-profile(5))\n"
	    "  --quiet              no progress line on standard error\n"
	    "  --json               print the profile as JSON instead of tables\n"
	    "\nthe model's shape, over --model's (the shape a scaled-down\n"
	    "`skrull run` or `skrull sim` will use: the profile records it):\n%s"
	    "\nUnder mpirun (with MPI) the collectives are measured across the\n"
	    "ranks too.  See skrull-calibrate(1).\n", shapeopts_help);
}

/* The unit and scale of a measurement's rate. */
static void
print_meas(const struct profile *p)
{
	const struct profile_meas *m;
	double n = p->count, f, rate;
	size_t i;

	printf("%-13s %-8s %12s %12s %14s\n", "measured", "shape", "x",
	    "seconds", "rate");
	for (i = 0; i < p->nmeas; i++) {
		m = &p->meas[i];
		rate = m->work / m->sec;
		printf("%-13s %-8s %12.0f %12.4g ", profile_kind_name(m->kind),
		    m->shape[0] != '\0' ? m->shape : "-", m->x, m->sec);
		if (m->kind <= PROF_ATTN_BWD) {
			printf("%9.4g GFLOP/s\n", rate * 1e-9);
		} else if (m->kind == PROF_LAUNCH) {
			printf("%9.4g us/op\n", m->sec / m->x * 1e6);
		} else if (m->kind == PROF_COPY) {
			printf("%9.4g GB/s\n", rate * 1e-9);
		} else {
			/* nccl-tests' busbw factor */
			f = (n - 1) / n * (m->kind == PROF_ALLREDUCE ? 2 : 1);
			printf("%9.4g GB/s algbw, %.4g GB/s busbw\n", rate * 1e-9,
			    rate * f * 1e-9);
		}
	}
}

static void
print_fits(const struct profile *p)
{
	const struct profile_fit *f;
	int i;

	printf("\n%-9s %s\n", "fit", "throughput = P x / (x + h)");
	for (i = 0; i < PROF_NFITS; i++) {
		f = &p->fit[i];
		if (f->n == 0)
			continue;
		printf("%-9s P %.4g +- %.2g GFLOP/s, h %.4g +- %.2g tokens, "
		    "rms %.1f%%, %d points\n", profile_fit_name(i), f->P * 1e-9,
		    f->P_se * 1e-9, f->h, f->h_se, 100 * f->rms, f->n);
	}
	printf("\n%-14s %.4g GFLOP/s\n", "peak", p->peak_flops * 1e-9);
	printf("%-14s %.4g GB/s\n", "memory", p->hbm_bw * 1e-9);
	printf("%-14s gemm_max %.3f, gemm_half %.4g, attn_max %.3f, "
	    "attn_half %.4g,\n%-14s mem_eff %.3f, launch %.3g us\n",
	    "efficiency", p->eff.gemm_max, p->eff.gemm_half, p->eff.attn_max,
	    p->eff.attn_half, "", p->eff.mem_eff, p->eff.launch * 1e6);
	printf("%-14s %s\n", "collectives", p->coll.n > 0 ?
	    "measured" : "not measured (one rank)");
}

/* What the options ask for. */
struct calopts {
	const char *backend, *model, *cluster, *out;
	struct shapeopts shape;  /* over --model */
	int json, quiet;
	struct calib_opts o;
};

/* The options into *c; CLI_OK with *done set when -h printed the help,
 * else the exit status of a usage error. */
static int
parse(int argc, char **argv, struct calopts *c, int *done)
{
	struct option longopts[NOWN + SHAPEOPTS_N + 1];
	unsigned long v;
	int opt, rc;

	memcpy(longopts, own, sizeof own);
	memcpy(longopts + NOWN, shapeopts_long, (SHAPEOPTS_N + 1) *
	    sizeof *longopts);
	*done = 0;
	optind = 1;
	while ((rc = cli_getopt(&cmd_calibrate, argc, argv, ":ho:", longopts,
	    &opt)) == CLI_OK && opt != -1) {
		switch (opt) {
		case 'h':
			help();
			*done = 1;
			return CLI_OK;
		case 'o': c->out = optarg; break;
		case OPT_BACKEND: c->backend = optarg; break;
		case OPT_MODEL: c->model = optarg; break;
		case OPT_CLUSTER: c->cluster = optarg; break;
		case OPT_QUICK: c->o.quick = 1; break;
		case OPT_JSON: c->json = 1; break;
		case OPT_QUIET: c->quiet = 1; break;
		case OPT_MAX_LEN:
			if ((rc = cli_parse_ulong(&cmd_calibrate, "--max-len", optarg,
			    16, 1UL << 24, &v)) != CLI_OK)
				return rc;
			c->o.max_len = v;
			break;
		default:
			if ((rc = shapeopts_take(&c->shape, &cmd_calibrate, opt,
			    optarg)) != CLI_OK)
				return rc;
			break;
		}
	}
	if (rc != CLI_OK)
		return rc;
	if (optind != argc)
		return cli_usage(&cmd_calibrate, "calibrate: unexpected argument "
		    "'%s'", argv[optind]);
	if (c->out == NULL)
		return cli_usage(&cmd_calibrate, "calibrate: -o PROFILE is "
		    "required");
	return CLI_OK;
}

/* The model measured and the cluster's peaks, into c->o (m holds the
 * model); CLI_OK or CLI_FAIL once said. */
static int
resolve(struct calopts *c, struct model *m)
{
	struct cluster cl;

	if (model_resolve(c->model != NULL ? c->model : "Qwen2.5-0.5B", m) !=
	    SK_OK) {
		err_prefix("--model");
		return cli_fail();
	}
	if (shapeopts_apply(&c->shape, m) != SK_OK)
		return cli_fail();
	if (c->cluster != NULL) {
		if (cluster_preset("h100", &cl) != SK_OK ||
		    cluster_resolve(c->cluster, &cl) != SK_OK) {
			err_prefix("--cluster");
			return cli_fail();
		}
		c->o.peak_flops = cl.gpu.peak_flops;
		c->o.hbm_bw = cl.gpu.hbm_bw;
	}
	c->o.model = m;
	return CLI_OK;
}

/*
 * Under a launcher the processes meet over MPI, a GPU each; MPI moves
 * host memory only, so a device backend's collectives go through NCCL.
 * Alone (or without MPI in the build) w stays empty and nothing is
 * measured across ranks.  CLI_OK, or CLI_FAIL once said.
 */
static int
meet(const struct backend_ops *b, struct world *w, struct calib_opts *o,
    int *argc, char ***argv)
{
	int ndev = 0;

	if (!cli_launched())
		return CLI_OK;
	if (!world_built(WORLD_MPI)) {
		fprintf(stderr, "skrull: warning: this skrull was built without "
		    "MPI: measuring this process alone, no collectives\n");
		return CLI_OK;
	}
	if (b->devices(&ndev) != SK_OK || world_mpi(w, argc, argv) != SK_OK)
		return cli_fail();
	o->device = ndev > 0 ? cli_local_rank() % ndev : 0;
	if (strcmp(b->name, "cpu") == 0)
		return CLI_OK;
	if (!world_built(WORLD_NCCL)) {
		err_set(SK_ERR_UNSUPPORTED, "calibrate: --backend %s under a "
		    "launcher needs NCCL for its collectives, and this skrull was "
		    "built without it", b->name);
		return cli_fail();
	}
	if (world_nccl(w, o->device, 0) != SK_OK) {
		cli_rank_fail(w->mpi.rank);
		return CLI_FAIL;
	}
	return CLI_OK;
}

/* --model and --cluster when they name files, and the profile: the
 * files checked before any work (cli_check_files). */
static int
check_files(const struct calopts *c)
{
	struct cli_file in[2] = { { "--model", NULL },
	    { "--cluster", NULL } };
	const struct cli_file out = { "-o", c->out };
	struct model m;
	struct cluster cl;

	if (c->model != NULL && model_preset(c->model, &m) != SK_OK)
		in[0].path = c->model;
	if (c->cluster != NULL && cluster_preset(c->cluster, &cl) != SK_OK)
		in[1].path = c->cluster;
	err_clear();
	return cli_check_files(in, 2, &out, 1);
}

/* Fit, write and print the profile measured (rank 0 or the one process). */
static int
report(const struct calopts *c, struct profile *p)
{
	cJSON *root;

	if (calib_finish(p, &c->o) != SK_OK || profile_write(c->out, p) != SK_OK)
		return cli_fail();
	if (c->json) {
		if ((root = cJSON_CreateObject()) == NULL ||
		    profile_to_json(p, root) != SK_OK) {
			cJSON_Delete(root);
			err_set(SK_ERR_NOMEM, "out of memory");
			return cli_fail();
		}
		return cli_print_json(root);
	}
	print_meas(p);
	print_fits(p);
	printf("%-14s %s\n", "profile", c->out);
	return CLI_OK;
}

static int
run(int argc, char **argv)
{
	const struct backend_ops *b = NULL;
	struct calopts c;
	struct world w;
	struct comm *wc;
	struct profile p;
	struct model m;
	struct progress pg;
	int rc, done;

	memset(&c, 0, sizeof c);
	shapeopts_init(&c.shape);
	c.backend = "cpu";
	progress_init(&pg, NULL, "calibrate");
	world_init(&w, cli_rank_fail);
	profile_init(&p);
	if ((rc = parse(argc, argv, &c, &done)) != CLI_OK || done)
		goto out;
	if (backend_find(c.backend, &b) != SK_OK) {
		rc = err_code() == SK_ERR_ARG ? cli_usage(&cmd_calibrate,
		    "--backend: %s", err_msg()) : cli_fail();
		goto out;
	}
	if ((rc = resolve(&c, &m)) != CLI_OK ||
	    (rc = meet(b, &w, &c.o, &argc, &argv)) != CLI_OK)
		goto out;
	wc = world_comm(&w);
	/* Rank 0 alone reports its measurements. */
	if ((wc == NULL || wc->rank == 0) && progress_wanted(c.quiet, 2)) {
		pg.f = stderr;
		c.o.progress = progress_cb;
		c.o.progress_ctx = &pg;
	}
	/* The profile is refused before the measurements, by the process
	 * that writes it; under a launcher its refusal ends the job. */
	if (((wc == NULL || wc->rank == 0) && check_files(&c) != SK_OK) ||
	    calib_measure(b, wc, &c.o, &p) != SK_OK) {
		progress_next(&pg);
		if (wc == NULL) {
			rc = cli_fail();
			goto out;
		}
		cli_rank_fail(wc->rank);
		world_abort(&w);
		rc = CLI_FAIL;
		goto out;
	}
	progress_next(&pg);
	rc = wc != NULL && wc->rank != 0 ? CLI_OK : report(&c, &p);
out:
	progress_end(&pg);
	profile_free(&p);
	world_free(&w);
	return rc;
}
