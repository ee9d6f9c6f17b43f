/* jobopts: see jobopts.h. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cost.h"
#include "err.h"
#include "job.h"
#include "jobopts.h"
#include "profile.h"

#define GIB 1073741824.0

/* Bounds of the numeric options (as job.c and cluster.c check them). */
#define NODES_MAX 100000
#define GPN_MAX 1024
#define DEGREE_MAX (1 << 20)
#define BATCH_MAX 1000000
#define RESERVE_MAX_GIB 1e6

const struct option jobopts_long[] = {
	{ "job", required_argument, NULL, JOBOPT_JOB },
	{ "model", required_argument, NULL, JOBOPT_MODEL },
	{ "cluster", required_argument, NULL, JOBOPT_CLUSTER },
	{ "nodes", required_argument, NULL, JOBOPT_NODES },
	{ "gpus-per-node", required_argument, NULL, JOBOPT_GPN },
	{ "dp", required_argument, NULL, JOBOPT_DP },
	{ "cp", required_argument, NULL, JOBOPT_CP },
	{ "batch", required_argument, NULL, JOBOPT_BATCH },
	{ "zero", required_argument, NULL, JOBOPT_ZERO },
	{ "recompute", required_argument, NULL, JOBOPT_RECOMPUTE },
	{ "precision", required_argument, NULL, JOBOPT_PRECISION },
	{ "kernels", required_argument, NULL, JOBOPT_KERNELS },
	{ "reserve", required_argument, NULL, JOBOPT_RESERVE },
	{ "bucket", required_argument, NULL, JOBOPT_BUCKET },
	{ "profile", required_argument, NULL, JOBOPT_PROFILE },
	{ NULL, 0, NULL, 0 }
};

const char jobopts_help[] =
    "  --job FILE           start from a job file (skrull-job(5))\n"
    "  --model NAME|FILE    model preset or JSON file (default Qwen2.5-0.5B)\n"
    "  --cluster NAME|FILE  cluster preset or JSON file (default H100-SXM-80GB)\n"
    "  --nodes N            nodes (default 4)\n"
    "  --gpus-per-node N    GPUs per node (default 8)\n"
    "  --dp N               data-parallel degree (default: GPUs / CP)\n"
    "  --cp N               context-parallel degree (default 8, or GPUs / DP);\n"
    "                       both without --nodes: the cluster is sized to fit\n"
    "  --batch N            samples per DP rank per iteration (default 64)\n"
    "  --zero N             ZeRO stage 0-3 (default 2)\n"
    "  --recompute MODE     none, selective or full (default selective)\n"
    "  --precision P        bf16, fp16 or fp32 (default bf16)\n"
    "  --kernels LIST       fused-swiglu, fused-ce, comma-separated, or none\n"
    "                       (default none: the Hugging Face graph)\n"
    "  --reserve GIB        GiB per GPU kept free (default 4)\n"
    "  --bucket auto|TOKENS BucketSize C in tokens, K = 1000 (default auto:\n"
    "                       from the memory model)\n"
    "  --profile FILE       calibration profile (skrull-profile(5)) over the\n"
    "                       cluster's GPU speed, efficiencies, collectives\n";

void
jobopts_init(struct jobopts *o)
{
	memset(o, 0, sizeof *o);
	job_default(&o->job);
	o->zero = -1;
	o->recompute = -1;
	o->precision = -1;
	o->reserve = -1;
}

static int
parse_int(const struct cli_cmd *cmd, const char *opt, const char *arg,
    unsigned long lo, unsigned long hi, int *out)
{
	unsigned long v;
	int rc;

	if ((rc = cli_parse_ulong(cmd, opt, arg, lo, hi, &v)) != CLI_OK)
		return rc;
	*out = (int)v;
	return CLI_OK;
}

/* GiB, a decimal number, to bytes. */
static int
parse_reserve(const struct cli_cmd *cmd, const char *arg, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (arg[0] == '\0' || *end != '\0' || errno != 0 || !isfinite(v) ||
	    v < 0 || v > RESERVE_MAX_GIB)
		return cli_usage(cmd, "--reserve: '%s' is not a number of GiB in "
		    "[0, %g]", arg, RESERVE_MAX_GIB);
	*out = v * GIB;
	return CLI_OK;
}

/* "auto", or tokens: digits with an optional K (x 1000, as the paper's
 * "26K"). */
static int
parse_bucket(struct jobopts *o, const struct cli_cmd *cmd, const char *arg)
{
	unsigned long long v;
	char *end;

	o->bucket_given = 1;
	if (strcmp(arg, "auto") == 0) {
		o->bucket_auto = 1;
		o->bucket = 0;
		return CLI_OK;
	}
	errno = 0;
	v = strtoull(arg, &end, 10);
	if (end != arg && (*end == 'K' || *end == 'k') && v <= UINT32_MAX) {
		v *= 1000;
		end++;
	}
	if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || errno != 0 ||
	    v < 1 || v > UINT32_MAX)
		return cli_usage(cmd, "--bucket: '%s' is not auto or a number of "
		    "tokens in [1, %lu] (26000 or 26K)", arg,
		    (unsigned long)UINT32_MAX);
	o->bucket_auto = 0;
	o->bucket = (uint32_t)v;
	return CLI_OK;
}

int
jobopts_take(struct jobopts *o, const struct cli_cmd *cmd, int code,
    const char *arg)
{
	enum recompute r;
	enum precision p;

	switch (code) {
	case JOBOPT_JOB:
		o->job_path = arg;
		return CLI_OK;
	case JOBOPT_MODEL:
		o->model = arg;
		return CLI_OK;
	case JOBOPT_CLUSTER:
		o->cluster = arg;
		return CLI_OK;
	case JOBOPT_NODES:
		return parse_int(cmd, "--nodes", arg, 1, NODES_MAX, &o->nodes);
	case JOBOPT_GPN:
		return parse_int(cmd, "--gpus-per-node", arg, 1, GPN_MAX,
		    &o->gpus_per_node);
	case JOBOPT_DP:
		return parse_int(cmd, "--dp", arg, 1, DEGREE_MAX, &o->dp);
	case JOBOPT_CP:
		return parse_int(cmd, "--cp", arg, 1, DEGREE_MAX, &o->cp);
	case JOBOPT_BATCH:
		return parse_int(cmd, "--batch", arg, 1, BATCH_MAX, &o->batch);
	case JOBOPT_ZERO:
		return parse_int(cmd, "--zero", arg, 0, 3, &o->zero);
	case JOBOPT_RECOMPUTE:
		if (job_recompute_parse(arg, &r) != SK_OK)
			return cli_usage(cmd, "--recompute: %s", err_msg());
		o->recompute = (int)r;
		return CLI_OK;
	case JOBOPT_PRECISION:
		if (job_precision_parse(arg, &p) != SK_OK)
			return cli_usage(cmd, "--precision: %s", err_msg());
		o->precision = (int)p;
		return CLI_OK;
	case JOBOPT_KERNELS:
		if (job_kernels_parse(arg, &o->kernels) != SK_OK)
			return cli_usage(cmd, "--kernels: %s", err_msg());
		o->kernels_given = 1;
		return CLI_OK;
	case JOBOPT_RESERVE:
		return parse_reserve(cmd, arg, &o->reserve);
	case JOBOPT_BUCKET:
		return parse_bucket(o, cmd, arg);
	case JOBOPT_PROFILE:
		o->profile = arg;
		return CLI_OK;
	default:
		return -1;
	}
}

/*
 * Both --dp and --cp without --nodes: a user who asks for DP 2 x CP 2
 * means a 4-GPU job, not a refusal because the default cluster has 32.
 * So when the cluster's GPU count differs from dp x cp it is resized to
 * fit: whole nodes of its size per node when dp x cp is a multiple of
 * it, or one node of dp x cp GPUs when fewer than a node (unless
 * --gpus-per-node fixed the node's size).  --nodes keeps the cluster as
 * given, and job_validate then refuses a layout that does not fill it.
 */
static int
fit_cluster(struct jobopts *o, const struct cli_cmd *cmd)
{
	struct cluster *c = &o->job.cluster;
	long long want = (long long)o->dp * o->cp;

	if (o->nodes > 0 || want == cluster_gpus(c))
		return CLI_OK;
	if (want % c->gpus_per_node == 0) {
		if (want / c->gpus_per_node > NODES_MAX)
			return cli_usage(cmd, "--dp %d x --cp %d: %lld GPUs are "
			    "more than %d nodes of %d", o->dp, o->cp, want,
			    NODES_MAX, c->gpus_per_node);
		c->nodes = (int)(want / c->gpus_per_node);
	} else if (want < c->gpus_per_node && o->gpus_per_node == 0) {
		c->nodes = 1;
		c->gpus_per_node = (int)want;
	} else
		return cli_usage(cmd, "--dp %d x --cp %d: %lld GPUs are not whole "
		    "nodes of %d GPUs; give --nodes and --gpus-per-node", o->dp,
		    o->cp, want, c->gpus_per_node);
	return CLI_OK;
}

/* DP and CP from the options and the cluster's GPU count. */
static int
layout(struct jobopts *o, const struct cli_cmd *cmd)
{
	struct job *j = &o->job;
	int gpus = cluster_gpus(&j->cluster), rc;

	if (o->dp > 0 && o->cp > 0) {
		j->dp = o->dp;
		j->cp = o->cp;
		if ((rc = fit_cluster(o, cmd)) != CLI_OK)
			return rc;
	} else if (o->dp > 0) {
		if (gpus % o->dp != 0)
			return cli_usage(cmd, "--dp %d does not divide the %d GPUs "
			    "of the cluster", o->dp, gpus);
		j->dp = o->dp;
		j->cp = gpus / o->dp;
	} else if (o->cp > 0) {
		if (gpus % o->cp != 0)
			return cli_usage(cmd, "--cp %d does not divide the %d GPUs "
			    "of the cluster", o->cp, gpus);
		j->cp = o->cp;
		j->dp = gpus / o->cp;
	} else if ((long long)j->dp * j->cp != gpus && gpus % j->cp == 0) {
		j->dp = gpus / j->cp;
	}
	return CLI_OK;
}

int
jobopts_finish(struct jobopts *o, const struct cli_cmd *cmd)
{
	struct job *j = &o->job;
	struct cost_mem mem;
	int rc;

	if (o->job_path != NULL) {
		if (job_read(o->job_path, j) != SK_OK)
			return cli_fail();
	} else {
		job_default(j);
	}
	if (o->model != NULL && model_resolve(o->model, &j->model) != SK_OK) {
		err_prefix("--model");
		return cli_fail();
	}
	if (o->cluster != NULL &&
	    cluster_resolve(o->cluster, &j->cluster) != SK_OK) {
		err_prefix("--cluster");
		return cli_fail();
	}
	if (o->nodes > 0)
		j->cluster.nodes = o->nodes;
	if (o->gpus_per_node > 0)
		j->cluster.gpus_per_node = o->gpus_per_node;
	if (o->profile != NULL &&
	    (rc = jobopts_profile(o->profile, &j->cluster)) != CLI_OK)
		return rc;
	if (o->batch > 0)
		j->batch = o->batch;
	if (o->zero >= 0)
		j->zero = o->zero;
	if (o->recompute >= 0)
		j->recompute = (enum recompute)o->recompute;
	if (o->precision >= 0)
		j->precision = (enum precision)o->precision;
	if (o->kernels_given)
		j->kernels = o->kernels;
	if (o->reserve >= 0)
		j->reserve = o->reserve;
	if (o->bucket_given) {
		j->bucket_auto = o->bucket_auto;
		j->bucket = o->bucket;
	}
	if (o->partial)
		return CLI_OK;
	if ((rc = layout(o, cmd)) != CLI_OK)
		return rc;
	if (job_validate(j, o->job_path != NULL ? o->job_path : "job") != SK_OK)
		return cli_fail();
	if (j->bucket_auto && (j->bucket = cost_bucket(j)) == 0) {
		cost_memory(j, &mem);
		err_set(SK_ERR_RANGE, "model %s does not fit: static memory "
		    "%.2f GiB per GPU (weights, gradients and optimizer state "
		    "at ZeRO %d over %d GPU%s) leaves no room for activations "
		    "in %.2f GiB (HBM %.2f GiB less the %.2f GiB reserve)",
		    j->model.name, mem.statics / GIB, j->zero, j->dp * j->cp,
		    j->dp * j->cp == 1 ? "" : "s",
		    (j->cluster.gpu.hbm_bytes - j->reserve) / GIB,
		    j->cluster.gpu.hbm_bytes / GIB, j->reserve / GIB);
		/* the file the model came from, where one did */
		if (o->job_path != NULL)
			err_prefix(o->job_path);
		return cli_fail();
	}
	return CLI_OK;
}

int
jobopts_profile(const char *path, struct cluster *c)
{
	struct profile p;

	profile_init(&p);
	if (profile_read(path, &p) != SK_OK) {
		err_prefix("--profile");
		return cli_fail();
	}
	profile_apply(&p, c);
	profile_free(&p);
	return CLI_OK;
}

void
jobopts_files(const struct jobopts *o, struct cli_file *in)
{
	struct model m;
	struct cluster c;

	memset(in, 0, JOBOPTS_FILES * sizeof *in);
	in[0].opt = "--job";
	in[0].path = o->job_path;
	in[1].opt = "--profile";
	in[1].path = o->profile;
	in[2].opt = "--model";
	if (o->model != NULL && model_preset(o->model, &m) != SK_OK)
		in[2].path = o->model;
	in[3].opt = "--cluster";
	if (o->cluster != NULL && cluster_preset(o->cluster, &c) != SK_OK)
		in[3].path = o->cluster;
	/* the failed preset look-ups leave no message behind */
	err_clear();
}
