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
#ifdef HAVE_NCCL
#include "comm_nccl.h"
#endif
#include "err.h"
#include "job.h"
#include "model.h"
#include "profile.h"

static int run(int, char **);

const struct cli_cmd cmd_calibrate = {
	"calibrate",
	"measure the device and fit the simulator's cost curves: a profile",
	"[mpirun -np P] skrull calibrate [--backend NAME] [--model NAME|FILE]\n"
	"              [--cluster NAME|FILE] [--max-len N] [--quick] -o PROFILE\n"
	"              [--json]",
	run,
};

enum {
	OPT_BACKEND = 256, OPT_MODEL, OPT_CLUSTER, OPT_MAX_LEN, OPT_QUICK,
	OPT_JSON
};

static const struct option longopts[] = {
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "model", required_argument, NULL, OPT_MODEL },
	{ "cluster", required_argument, NULL, OPT_CLUSTER },
	{ "max-len", required_argument, NULL, OPT_MAX_LEN },
	{ "quick", no_argument, NULL, OPT_QUICK },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

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
	    "  --json               print the profile as JSON instead of tables\n"
	    "\nUnder mpirun (with MPI) the collectives are measured across the\n"
	    "ranks too.  See skrull-calibrate(1).\n");
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

static int
run(int argc, char **argv)
{
	const struct backend_ops *b = NULL;
	const char *backend = "cpu", *model = NULL, *cluster = NULL;
	const char *out = NULL;
	struct calib_opts o;
	struct profile p;
	struct model m;
	struct cluster cl;
	struct comm world, *w = NULL;
#ifdef HAVE_NCCL
	struct comm ncw;
	int nccl = 0;
#endif
	int ndev = 0;
	unsigned long v;
	cJSON *root = NULL;
	int c, rc, json = 0, mpi = 0;

	memset(&o, 0, sizeof o);
	profile_init(&p);
	optind = 1;
	while ((rc = cli_getopt(&cmd_calibrate, argc, argv, ":ho:", longopts,
	    &c)) == CLI_OK && c != -1) {
		switch (c) {
		case 'h':
			help();
			goto out;
		case 'o': out = optarg; break;
		case OPT_BACKEND: backend = optarg; break;
		case OPT_MODEL: model = optarg; break;
		case OPT_CLUSTER: cluster = optarg; break;
		case OPT_QUICK: o.quick = 1; break;
		case OPT_JSON: json = 1; break;
		case OPT_MAX_LEN:
			if ((rc = cli_parse_ulong(&cmd_calibrate, "--max-len", optarg,
			    16, 1UL << 24, &v)) != CLI_OK)
				goto out;
			o.max_len = v;
			break;
		}
	}
	if (rc != CLI_OK)
		goto out;
	if (optind != argc) {
		rc = cli_usage(&cmd_calibrate, "calibrate: unexpected argument "
		    "'%s'", argv[optind]);
		goto out;
	}
	if (out == NULL) {
		rc = cli_usage(&cmd_calibrate, "calibrate: -o PROFILE is required");
		goto out;
	}
	if (backend_find(backend, &b) != SK_OK) {
		rc = cli_usage(&cmd_calibrate, "--backend: %s", err_msg());
		goto out;
	}
	rc = CLI_FAIL;
	if (model_resolve(model != NULL ? model : "Qwen2.5-0.5B", &m) != SK_OK) {
		err_prefix("--model");
		rc = cli_fail();
		goto out;
	}
	if (cluster != NULL) {
		if (cluster_preset("h100", &cl) != SK_OK ||
		    cluster_resolve(cluster, &cl) != SK_OK) {
			err_prefix("--cluster");
			rc = cli_fail();
			goto out;
		}
		o.peak_flops = cl.gpu.peak_flops;
		o.hbm_bw = cl.gpu.hbm_bw;
	}
	o.model = &m;
	if (cli_launched()) {
#ifdef HAVE_MPI
		if (b->devices(&ndev) != SK_OK || comm_mpi_world(&argc, &argv,
		    &world) != SK_OK) {
			rc = cli_fail();
			goto out;
		}
		mpi = 1;
		w = &world;
		/* A process per GPU; MPI moves host memory only, so a device
		 * backend's collectives go through NCCL. */
		o.device = ndev > 0 ? cli_local_rank() % ndev : 0;
		if (strcmp(b->name, "cpu") != 0) {
#ifdef HAVE_NCCL
			if (comm_nccl_world_mpi(&world, o.device, &ncw) != SK_OK) {
				fprintf(stderr, "skrull: rank %d: %s\n", world.rank,
				    err_msg());
				goto out;
			}
			nccl = 1;
			w = &ncw;
#else
			err_set(SK_ERR_UNSUPPORTED, "calibrate: --backend %s under "
			    "a launcher needs NCCL for its collectives, and this "
			    "skrull was built without it", b->name);
			rc = cli_fail();
			goto out;
#endif
		}
#else
		fprintf(stderr, "skrull: warning: this skrull was built without "
		    "MPI: measuring this process alone, no collectives\n");
#endif
	}
	if (calib_measure(b, w, &o, &p) != SK_OK) {
		if (w != NULL)
			fprintf(stderr, "skrull: rank %d: %s\n", w->rank, err_msg());
		else
			cli_fail();
		if (w != NULL)
			w->ops->abort(w, 1);
		goto out;
	}
	if (w != NULL && w->rank != 0) {
		rc = CLI_OK;
		goto out;
	}
	if (calib_finish(&p, &o) != SK_OK || profile_write(out, &p) != SK_OK) {
		rc = cli_fail();
		goto out;
	}
	if (json) {
		if ((root = cJSON_CreateObject()) == NULL ||
		    profile_to_json(&p, root) != SK_OK) {
			err_set(SK_ERR_NOMEM, "out of memory");
			rc = cli_fail();
			goto out;
		}
		rc = cli_print_json(root);
		root = NULL;
		goto out;
	}
	print_meas(&p);
	print_fits(&p);
	printf("%-14s %s\n", "profile", out);
	rc = CLI_OK;
out:
	cJSON_Delete(root);
	profile_free(&p);
#ifdef HAVE_NCCL
	if (nccl)
		ncw.ops->free(&ncw);
#endif
#ifdef HAVE_MPI
	if (mpi) {
		world.ops->free(&world);
		comm_mpi_finalize();
	}
#else
	(void)world;
	(void)mpi;
	(void)ndev;
#endif
	return rc;
}
