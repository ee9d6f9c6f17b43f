/* cmd_show: `skrull show model|cluster|job|presets`, see skrull-show(1). */
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cost.h"
#include "err.h"
#include "job.h"
#include "jobopts.h"

#define GIB 1073741824.0
#define MIB 1048576.0

static int run(int, char **);

const struct cli_cmd cmd_show = {
	.name = "show",
	.summary = "print the resolved model, cluster or job, or the presets",
	.usage = "skrull show [--json] [JOB OPTIONS] model|cluster|job|presets",
	.run = run,
};

enum { OPT_JSON = 256 };

static const struct option own[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
};
#define NOWN (sizeof own / sizeof own[0])
#define NJOBOPTS (JOBOPT_END - JOBOPT_BASE)

/* What each thing shows, and the job options that bear on it. */
static const struct thing {
	const char *name;
	int partial;     /* jobopts_finish resolves the model and cluster only */
	unsigned takes;  /* bit (code - JOBOPT_BASE) per job option */
} things[] = {
	{ "model", 1, 1u << (JOBOPT_JOB - JOBOPT_BASE) |
	    1u << (JOBOPT_MODEL - JOBOPT_BASE) },
	{ "cluster", 1, 1u << (JOBOPT_JOB - JOBOPT_BASE) |
	    1u << (JOBOPT_CLUSTER - JOBOPT_BASE) |
	    1u << (JOBOPT_NODES - JOBOPT_BASE) |
	    1u << (JOBOPT_GPN - JOBOPT_BASE) |
	    1u << (JOBOPT_PROFILE - JOBOPT_BASE) },
	{ "job", 0, (1u << NJOBOPTS) - 1 },
	{ "presets", 1, 0 },
};
#define NTHINGS (sizeof things / sizeof things[0])

static void
help(void)
{
	printf("usage: %s\n\n%s\n\n", cmd_show.usage, cmd_show.summary);
	printf("  model       the model's dimensions and parameter count\n"
	    "  cluster     the GPUs, links and collective table\n"
	    "  job         the whole job with derived values (global batch,\n"
	    "              GPUs, bucket)\n"
	    "  presets     the model and cluster presets and their aliases\n"
	    "  --json      print the JSON object of skrull-job(5) instead\n"
	    "\njob options:\n%s", jobopts_help);
	printf("\nSee skrull-show(1) and skrull-job(5).\n");
}

static const char *
optname(int code)
{
	const struct option *o;

	for (o = jobopts_long; o->name != NULL; o++)
		if (o->val == code)
			return o->name;
	return "?";
}

static void
kv(const char *key, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* One "key value" line, keys aligned. */
static void
kv(const char *key, const char *fmt, ...)
{
	va_list ap;

	printf("%-14s ", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void
print_model(const struct model *m)
{
	uint64_t p = model_params(m);

	kv("name", "%s", m->name);
	kv("layers", "%d", m->layers);
	kv("hidden", "%d", m->hidden);
	kv("heads", "%d", m->heads);
	kv("kv_heads", "%d", m->kv_heads);
	kv("head_dim", "%d", m->head_dim);
	kv("ffn", "%d", m->ffn);
	kv("vocab", "%d", m->vocab);
	kv("tied", "%s", m->tied ? "yes" : "no");
	kv("qkv_bias", "%s", m->qkv_bias ? "yes" : "no");
	kv("parameters", "%llu (%.2f B)", (unsigned long long)p, (double)p / 1e9);
}

static void
print_cluster(const struct cluster *c)
{
	const struct coll_table *t = &c->coll;
	int r, k;

	kv("name", "%s", c->name);
	kv("gpu", "%s", c->gpu.name);
	kv("peak_flops", "%g TFLOP/s", c->gpu.peak_flops / 1e12);
	kv("hbm", "%.2f GiB", c->gpu.hbm_bytes / GIB);
	kv("hbm_bw", "%g GB/s", c->gpu.hbm_bw / 1e9);
	kv("nodes", "%d", c->nodes);
	kv("gpus_per_node", "%d", c->gpus_per_node);
	kv("gpus", "%d", cluster_gpus(c));
	kv("nvlink_bw", "%g GB/s", c->nvlink_bw / 1e9);
	kv("nvlink_lat", "%g us", c->nvlink_lat * 1e6);
	kv("ib_bw", "%g GB/s", c->ib_bw / 1e9);
	kv("ib_lat", "%g us", c->ib_lat * 1e6);
	if (t->n == 0) {
		kv("collectives", "none (ring model)");
		return;
	}
	kv("collectives", "measured, group of %d, latency in us", t->group);
	printf("  %10s", "size (MiB)");
	for (k = 0; k < COLL_NKINDS; k++)
		printf(" %13s", cluster_coll_name((enum coll_kind)k));
	putchar('\n');
	for (r = 0; r < t->n; r++) {
		printf("  %10g", t->bytes[r] / MIB);
		for (k = 0; k < COLL_NKINDS; k++)
			printf(" %13.2f", t->sec[k][r] * 1e6);
		putchar('\n');
	}
}

/* The kernel choices, by name; printed only when there are some, so that a
 * job without them prints as it did before they existed. */
static void
print_kernels(unsigned kernels)
{
	const char *sep = "";
	unsigned k;

	printf("%-14s ", "kernels");
	for (k = 1; k <= KERNEL_ALL; k <<= 1)
		if (kernels & k) {
			printf("%s%s", sep, job_kernel_name((enum kernel)k));
			sep = ", ";
		}
	putchar('\n');
}

static void
print_job(const struct job *j)
{
	const struct cluster *c = &j->cluster;
	struct cost_mem m;

	kv("model", "%s (%llu parameters)", j->model.name,
	    (unsigned long long)model_params(&j->model));
	kv("cluster", "%s, %d x %d GPUs", c->name, c->nodes,
	    c->gpus_per_node);
	kv("gpus", "%d", cluster_gpus(c));
	kv("dp", "%d", j->dp);
	kv("cp", "%d", j->cp);
	kv("batch", "%d per DP rank", j->batch);
	kv("global_batch", "%lld", (long long)j->dp * j->batch);
	kv("zero", "%d", j->zero);
	kv("recompute", "%s", job_recompute_name(j->recompute));
	kv("precision", "%s", job_precision_name(j->precision));
	if (j->kernels != 0)
		print_kernels(j->kernels);
	kv("reserve", "%.2f GiB", j->reserve / GIB);
	kv("bucket", "%lu tokens%s", (unsigned long)j->bucket,
	    j->bucket_auto ? " (auto: derived from memory)" : "");
	cost_memory(j, &m);
	kv("static", "%.2f GiB per GPU (weights %.2f, gradients %.2f, "
	    "optimizer %.2f)", m.statics / GIB, m.weights / GIB, m.grads / GIB,
	    m.optimizer / GIB);
	kv("activations", "%.0f bytes per token; %.2f GiB free for them",
	    m.alpha, m.free / GIB);
}

static void
print_presets(void)
{
	const char *const *a;
	int i;

	printf("models\n");
	for (i = 0; i < model_preset_count(); i++) {
		printf("  %-15s", model_preset_name(i));
		for (a = model_preset_aliases(i); *a != NULL; a++)
			printf("%s%s", a == model_preset_aliases(i) ? " " : ", ", *a);
		putchar('\n');
	}
	printf("clusters\n");
	for (i = 0; i < cluster_preset_count(); i++) {
		printf("  %-15s", cluster_preset_name(i));
		for (a = cluster_preset_aliases(i); *a != NULL; a++)
			printf("%s%s", a == cluster_preset_aliases(i) ? " " : ", ", *a);
		putchar('\n');
	}
}

/* {"name": ..., "aliases": [...]} for each preset of one kind. */
static int
add_presets(cJSON *root, const char *key, int n, const char *(*name)(int),
    const char *const *(*aliases)(int))
{
	cJSON *arr, *obj, *al;
	const char *const *a;
	int i;

	if ((arr = cJSON_AddArrayToObject(root, key)) == NULL)
		return 0;
	for (i = 0; i < n; i++) {
		if ((obj = cJSON_CreateObject()) == NULL)
			return 0;
		if (!cJSON_AddItemToArray(arr, obj)) {
			cJSON_Delete(obj);
			return 0;
		}
		if (cJSON_AddStringToObject(obj, "name", name(i)) == NULL ||
		    (al = cJSON_AddArrayToObject(obj, "aliases")) == NULL)
			return 0;
		for (a = aliases(i); *a != NULL; a++)
			if (!cJSON_AddItemToArray(al, cJSON_CreateString(*a)))
				return 0;
	}
	return 1;
}

static int
show_json(const struct thing *t, const struct job *j)
{
	cJSON *root = cJSON_CreateObject();
	int e = SK_OK;

	if (root == NULL) {
		err_set(SK_ERR_NOMEM, "out of memory");
		return cli_fail();
	}
	if (strcmp(t->name, "model") == 0)
		e = model_to_json(&j->model, root);
	else if (strcmp(t->name, "cluster") == 0)
		e = cluster_to_json(&j->cluster, root);
	else if (strcmp(t->name, "job") == 0)
		e = job_to_json(j, root);
	else if (!add_presets(root, "models", model_preset_count(),
	    model_preset_name, model_preset_aliases) ||
	    !add_presets(root, "clusters", cluster_preset_count(),
	    cluster_preset_name, cluster_preset_aliases))
		e = err_set(SK_ERR_NOMEM, "out of memory");
	if (e != SK_OK) {
		cJSON_Delete(root);
		return cli_fail();
	}
	return cli_print_json(root);
}

static int
run(int argc, char **argv)
{
	struct option longopts[NOWN + NJOBOPTS + 1];
	const struct thing *t = NULL;
	struct jobopts jo;
	unsigned seen = 0;
	size_t i;
	int json = 0, c, rc, bad;

	memcpy(longopts, own, sizeof own);
	memcpy(longopts + NOWN, jobopts_long, (NJOBOPTS + 1) * sizeof *longopts);
	jobopts_init(&jo);
	cli_options_hook(longopts);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			help();
			return CLI_OK;
		case '?':
			return cli_bad_option(&cmd_show, "show", argv[optind - 1],
			    longopts);
		case ':':
			return cli_usage(&cmd_show, "show: option '%s' needs a value",
			    argv[optind - 1]);
		case OPT_JSON:
			json = 1;
			continue;
		}
		if ((rc = jobopts_take(&jo, &cmd_show, c, optarg)) != CLI_OK)
			return rc;
		seen |= 1u << (c - JOBOPT_BASE);
	}
	if (optind == argc)
		return cli_usage(&cmd_show, "show: what? model, cluster, job or "
		    "presets");
	for (i = 0; i < NTHINGS; i++)
		if (strcmp(argv[optind], things[i].name) == 0)
			t = &things[i];
	if (t == NULL)
		return cli_usage(&cmd_show, "show: unknown '%s' (model, cluster, "
		    "job or presets)", argv[optind]);
	if (optind + 1 != argc)
		return cli_usage(&cmd_show, "show: unexpected argument '%s'",
		    argv[optind + 1]);
	if ((bad = (int)(seen & ~t->takes)) != 0) {
		for (c = 0; !(bad & 1 << c); c++)
			;
		return cli_usage(&cmd_show, "show %s: option '--%s' does not "
		    "apply", t->name, optname(JOBOPT_BASE + c));
	}
	if (strcmp(t->name, "presets") != 0) {
		jo.partial = t->partial;
		if ((rc = jobopts_finish(&jo, &cmd_show)) != CLI_OK)
			return rc;
	}
	if (json)
		return show_json(t, &jo.job);
	if (strcmp(t->name, "model") == 0)
		print_model(&jo.job.model);
	else if (strcmp(t->name, "cluster") == 0)
		print_cluster(&jo.job.cluster);
	else if (strcmp(t->name, "job") == 0)
		print_job(&jo.job);
	else
		print_presets();
	return CLI_OK;
}
