/* job: see job.h. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "job.h"
#include "json.h"

#define GIB 1073741824.0

/*
 * Bytes per GPU kept out of the memory model: the CUDA context and
 * cuBLAS/cuDNN workspaces (about 0.5 GiB), NCCL's communication buffers
 * (about 1 GiB with a few communicators) and the caching allocator's
 * fragmentation.  An assumption, not a measurement; --reserve and the job
 * file's "reserve" override it.
 */
#define RESERVE_DEFAULT (4 * GIB)

#define DEGREE_MAX (1 << 20)
#define BATCH_MAX 1000000

static const char *const recompute_names[] = { "none", "selective", "full" };
static const char *const precision_names[] = { "bf16", "fp16", "fp32" };
/* Indexed by the flag's bit. */
static const char *const kernel_names[KERNEL_COUNT] = {
	"fused-swiglu", "fused-ce"
};
#define KERNEL_LIST "fused-swiglu, fused-ce"

static const char *const keys[] = {
	"format", "version", "model", "cluster", "dp", "cp", "batch", "zero",
	"recompute", "precision", "kernels", "reserve", "bucket", "schedule"
};
#define NKEYS (sizeof keys / sizeof keys[0])

static const char *const schedule_keys[] = { "policy", "knobs" };

/* Knob values given as JSON numbers must be integers that a double holds
 * exactly; larger or fractional values are written as strings. */
#define KNOB_NUM_MAX 9007199254740992.0  /* 2^53 */

void
job_default(struct job *j)
{
	memset(j, 0, sizeof *j);
	model_preset("Qwen2.5-0.5B", &j->model);
	cluster_preset("H100-SXM-80GB", &j->cluster);
	j->dp = 4;
	j->cp = 8;
	j->batch = 64;
	j->zero = 2;
	j->recompute = RECOMPUTE_SELECTIVE;
	j->precision = PRECISION_BF16;
	j->reserve = RESERVE_DEFAULT;
	j->bucket_auto = 1;
	j->bucket = 0;
}

/* A name of the schedule: non-empty and terminated inside its array. */
static int
name_ok(const char *s)
{
	return s[0] != '\0' && memchr(s, '\0', JOB_NAME_MAX) != NULL;
}

static int
check_schedule(const struct job *j, const char *where)
{
	int i, k;

	if (memchr(j->policy, '\0', sizeof j->policy) == NULL)
		return err_set(SK_ERR_ARG, "%s: schedule.policy is longer than "
		    "%d characters", where, JOB_NAME_MAX - 1);
	if (j->nknobs < 0 || j->nknobs > JOB_KNOBS_MAX)
		return err_set(SK_ERR_ARG, "%s: schedule: %d knobs is not in "
		    "[0, %d]", where, j->nknobs, JOB_KNOBS_MAX);
	if (j->policy[0] == '\0' && j->nknobs > 0)
		return err_set(SK_ERR_ARG, "%s: schedule: knobs without a policy",
		    where);
	for (i = 0; i < j->nknobs; i++) {
		const struct job_knob *kn = &j->knobs[i];

		if (!name_ok(kn->name) || !name_ok(kn->value))
			return err_set(SK_ERR_ARG, "%s: schedule.knobs: knob %d: "
			    "the name and the value must be 1 to %d characters",
			    where, i, JOB_NAME_MAX - 1);
		for (k = 0; k < i; k++)
			if (strcmp(j->knobs[k].name, kn->name) == 0)
				return err_set(SK_ERR_ARG, "%s: schedule.knobs: '%s' "
				    "is set twice", where, kn->name);
	}
	return SK_OK;
}

uint64_t
job_cp_capacity(const struct job *j)
{
	return (uint64_t)j->cp * j->bucket;
}

int
job_validate(const struct job *j, const char *where)
{
	char at[1024];
	int e;

	if (where == NULL)
		where = "job";
	json_where(at, sizeof at, where, "model");
	if ((e = model_validate(&j->model, at)) != SK_OK)
		return e;
	json_where(at, sizeof at, where, "cluster");
	if ((e = cluster_validate(&j->cluster, at)) != SK_OK)
		return e;
	if (j->dp < 1 || j->dp > DEGREE_MAX || j->cp < 1 || j->cp > DEGREE_MAX)
		return err_set(SK_ERR_ARG, "%s: dp %d and cp %d must be in "
		    "[1, %d]", where, j->dp, j->cp, DEGREE_MAX);
	if ((long long)j->dp * j->cp != cluster_gpus(&j->cluster))
		return err_set(SK_ERR_ARG, "%s: dp %d x cp %d = %lld GPUs, but the "
		    "cluster has %d x %d = %d", where, j->dp, j->cp,
		    (long long)j->dp * j->cp, j->cluster.nodes,
		    j->cluster.gpus_per_node, cluster_gpus(&j->cluster));
	if (j->batch < 1 || j->batch > BATCH_MAX)
		return err_set(SK_ERR_ARG, "%s: batch %d is not in [1, %d]", where,
		    j->batch, BATCH_MAX);
	if (j->zero < 0 || j->zero > 3)
		return err_set(SK_ERR_ARG, "%s: zero %d is not in [0, 3]", where,
		    j->zero);
	if ((unsigned)j->recompute > RECOMPUTE_FULL ||
	    (unsigned)j->precision > PRECISION_FP32)
		return err_set(SK_ERR_ARG, "%s: unknown recompute or precision",
		    where);
	if (j->kernels & ~KERNEL_ALL)
		return err_set(SK_ERR_ARG, "%s: kernels: unknown flags 0x%x",
		    where, j->kernels & ~KERNEL_ALL);
	if (!(j->reserve >= 0) || !(j->reserve < j->cluster.gpu.hbm_bytes))
		return err_set(SK_ERR_ARG, "%s: reserve %.2f GiB is not in "
		    "[0, %.2f) GiB (the GPU's memory)", where, j->reserve / GIB,
		    j->cluster.gpu.hbm_bytes / GIB);
	if (!j->bucket_auto && j->bucket < 1)
		return err_set(SK_ERR_ARG, "%s: bucket must be at least 1 token "
		    "or auto", where);
	return check_schedule(j, where);
}

static int
enum_from(const cJSON *obj, const char *key, const char *where,
    const char *const *names, int n, int *out)
{
	const char *s = NULL;
	char at[1024];
	int e, i;

	if ((e = json_opt_str(obj, key, where, &s)) != SK_OK || s == NULL)
		return e;
	for (i = 0; i < n; i++)
		if (strcasecmp(s, names[i]) == 0) {
			*out = i;
			return SK_OK;
		}
	json_where(at, sizeof at, where, key);
	return err_set(SK_ERR_FORMAT, "%s: unknown value '%s' (%s, %s, %s)",
	    at, s, names[0], names[1], names[2]);
}

/* The flag of kernel name s (n bytes, case-insensitive), 0 for none. */
static unsigned
kernel_find(const char *s, size_t n)
{
	int i;

	for (i = 0; i < KERNEL_COUNT; i++)
		if (strlen(kernel_names[i]) == n &&
		    strncasecmp(s, kernel_names[i], n) == 0)
			return 1u << i;
	return 0;
}

/* "kernels": [NAME, ...], distinct names, into *kernels; absent leaves it
 * unchanged, [] is none. */
static int
kernels_from_json(const cJSON *obj, const char *where, unsigned *kernels)
{
	const cJSON *arr, *it;
	char at[1024], iat[1040];
	unsigned k, got = 0;
	int e, n = 0;

	if (cJSON_GetObjectItemCaseSensitive(obj, "kernels") == NULL)
		return SK_OK;
	if ((e = json_get_arr(obj, "kernels", where, &arr)) != SK_OK)
		return e;
	json_where(at, sizeof at, where, "kernels");
	cJSON_ArrayForEach(it, arr) {
		snprintf(iat, sizeof iat, "%s[%d]", at, n++);
		if (!cJSON_IsString(it))
			return err_set(SK_ERR_FORMAT, "%s: expected a kernel "
			    "name (%s)", iat, KERNEL_LIST);
		k = kernel_find(it->valuestring, strlen(it->valuestring));
		if (k == 0)
			return err_set(SK_ERR_FORMAT, "%s: unknown kernel "
			    "'%s' (%s)", iat, it->valuestring, KERNEL_LIST);
		if (got & k)
			return err_set(SK_ERR_FORMAT, "%s: '%s' is listed "
			    "twice", iat, it->valuestring);
		got |= k;
	}
	*kernels = got;
	return SK_OK;
}

/* Copy s into a name of the schedule; SK_ERR_FORMAT naming at when it is
 * empty or too long. */
static int
name_copy(char *dst, const char *s, const char *at, const char *what)
{
	size_t n = strlen(s);

	if (n == 0 || n >= JOB_NAME_MAX)
		return err_set(SK_ERR_FORMAT, "%s: %s '%s' is not 1 to %d "
		    "characters", at, what, s, JOB_NAME_MAX - 1);
	memcpy(dst, s, n + 1);
	return SK_OK;
}

/* One knob value: a string, an integer (written in decimal) or a boolean
 * ("on", "off"), as text. */
static int
knob_value(const cJSON *it, const char *at, char *dst)
{
	char num[JOB_NAME_MAX];

	if (cJSON_IsString(it))
		return name_copy(dst, it->valuestring, at, "value");
	if (cJSON_IsBool(it))
		return name_copy(dst, cJSON_IsTrue(it) ? "on" : "off", at, "value");
	if (cJSON_IsNumber(it) && it->valuedouble >= -KNOB_NUM_MAX &&
	    it->valuedouble <= KNOB_NUM_MAX &&
	    it->valuedouble == (double)(long long)it->valuedouble) {
		snprintf(num, sizeof num, "%lld", (long long)it->valuedouble);
		return name_copy(dst, num, at, "value");
	}
	return err_set(SK_ERR_FORMAT, "%s: expected a string, an integer up "
	    "to 2^53 or a boolean", at);
}

/* "schedule": {"policy": NAME, "knobs": {NAME: VALUE, ...}} into t,
 * replacing t's schedule. */
static int
schedule_from_json(const cJSON *obj, const char *where, struct job *t)
{
	const cJSON *knobs = NULL, *it;
	const char *policy;
	char at[1024], kat[1280], vat[1536];
	int e, n = 0;

	json_where(at, sizeof at, where, "schedule");
	if ((e = json_check_keys(obj, at, schedule_keys, 2)) != SK_OK ||
	    (e = json_get_str(obj, "policy", at, &policy)) != SK_OK)
		return e;
	json_where(kat, sizeof kat, at, "policy");
	if ((e = name_copy(t->policy, policy, kat, "policy")) != SK_OK)
		return e;
	if (cJSON_GetObjectItemCaseSensitive(obj, "knobs") != NULL &&
	    (e = json_get_obj(obj, "knobs", at, &knobs)) != SK_OK)
		return e;
	json_where(kat, sizeof kat, at, "knobs");
	cJSON_ArrayForEach(it, knobs) {
		if (n == JOB_KNOBS_MAX)
			return err_set(SK_ERR_FORMAT, "%s: more than %d knobs", kat,
			    JOB_KNOBS_MAX);
		if ((e = name_copy(t->knobs[n].name, it->string, kat,
		    "knob name")) != SK_OK)
			return e;
		json_where(vat, sizeof vat, kat, it->string);
		if ((e = knob_value(it, vat, t->knobs[n].value)) != SK_OK)
			return e;
		n++;
	}
	t->nknobs = n;
	return SK_OK;
}

int
job_from_json(const cJSON *obj, const char *where, struct job *j)
{
	struct job t = *j;
	const cJSON *it;
	char at[1024];
	long long dp = t.dp, cp = t.cp, batch = t.batch, zero = t.zero, bucket;
	int e, recompute = (int)t.recompute, precision = (int)t.precision;

	if ((e = json_check_keys(obj, where, keys, NKEYS)) != SK_OK ||
	    (e = json_check_version(obj, where, "skrull-job", 1)) != SK_OK)
		return e;
	if ((it = cJSON_GetObjectItemCaseSensitive(obj, "model")) != NULL) {
		json_where(at, sizeof at, where, "model");
		if ((e = model_from_json(it, at, &t.model)) != SK_OK)
			return e;
	}
	if ((it = cJSON_GetObjectItemCaseSensitive(obj, "cluster")) != NULL) {
		json_where(at, sizeof at, where, "cluster");
		if ((e = cluster_from_json(it, at, &t.cluster)) != SK_OK)
			return e;
	}
	if ((e = json_opt_int(obj, "dp", where, 1, DEGREE_MAX, &dp)) != SK_OK ||
	    (e = json_opt_int(obj, "cp", where, 1, DEGREE_MAX, &cp)) != SK_OK ||
	    (e = json_opt_int(obj, "batch", where, 1, BATCH_MAX,
	    &batch)) != SK_OK ||
	    (e = json_opt_int(obj, "zero", where, 0, 3, &zero)) != SK_OK ||
	    (e = enum_from(obj, "recompute", where, recompute_names, 3,
	    &recompute)) != SK_OK ||
	    (e = enum_from(obj, "precision", where, precision_names, 3,
	    &precision)) != SK_OK ||
	    (e = kernels_from_json(obj, where, &t.kernels)) != SK_OK ||
	    (e = json_opt_num(obj, "reserve", where, 0, 1e15,
	    &t.reserve)) != SK_OK)
		return e;
	it = cJSON_GetObjectItemCaseSensitive(obj, "bucket");
	if (cJSON_IsString(it) && strcmp(it->valuestring, "auto") == 0) {
		t.bucket_auto = 1;
		t.bucket = 0;
	} else if (it != NULL) {
		if (!cJSON_IsNumber(it)) {
			json_where(at, sizeof at, where, "bucket");
			return err_set(SK_ERR_FORMAT, "%s: expected \"auto\" or a "
			    "number of tokens", at);
		}
		if ((e = json_get_int(obj, "bucket", where, 1, UINT32_MAX,
		    &bucket)) != SK_OK)
			return e;
		t.bucket_auto = 0;
		t.bucket = (uint32_t)bucket;
	}
	if ((it = cJSON_GetObjectItemCaseSensitive(obj, "schedule")) != NULL &&
	    (e = schedule_from_json(it, where, &t)) != SK_OK)
		return e;
	t.dp = (int)dp;
	t.cp = (int)cp;
	t.batch = (int)batch;
	t.zero = (int)zero;
	t.recompute = (enum recompute)recompute;
	t.precision = (enum precision)precision;
	if ((e = job_validate(&t, where)) != SK_OK)
		return e;
	*j = t;
	return SK_OK;
}

/* "kernels": [NAME, ...] in flag order. */
static int
kernels_to_json(unsigned kernels, cJSON *obj)
{
	cJSON *arr, *name;
	int i;

	if ((arr = cJSON_AddArrayToObject(obj, "kernels")) == NULL)
		return 0;
	for (i = 0; i < KERNEL_COUNT; i++) {
		if (!(kernels & 1u << i))
			continue;
		if ((name = cJSON_CreateString(kernel_names[i])) == NULL)
			return 0;
		if (!cJSON_AddItemToArray(arr, name)) {
			cJSON_Delete(name);
			return 0;
		}
	}
	return 1;
}

int
job_to_json(const struct job *j, cJSON *obj)
{
	cJSON *m, *c, *s, *k;
	int e, i;

	if (cJSON_AddStringToObject(obj, "format", "skrull-job") == NULL ||
	    cJSON_AddNumberToObject(obj, "version", 1) == NULL ||
	    (m = cJSON_AddObjectToObject(obj, "model")) == NULL)
		goto nomem;
	if ((e = model_to_json(&j->model, m)) != SK_OK)
		return e;
	if ((c = cJSON_AddObjectToObject(obj, "cluster")) == NULL)
		goto nomem;
	if ((e = cluster_to_json(&j->cluster, c)) != SK_OK)
		return e;
	if (cJSON_AddNumberToObject(obj, "dp", j->dp) == NULL ||
	    cJSON_AddNumberToObject(obj, "cp", j->cp) == NULL ||
	    cJSON_AddNumberToObject(obj, "batch", j->batch) == NULL ||
	    cJSON_AddNumberToObject(obj, "zero", j->zero) == NULL ||
	    cJSON_AddStringToObject(obj, "recompute",
	    job_recompute_name(j->recompute)) == NULL ||
	    cJSON_AddStringToObject(obj, "precision",
	    job_precision_name(j->precision)) == NULL)
		goto nomem;
	/* Written only when set, so that a job without kernel choices prints
	 * as it did before they existed. */
	if (j->kernels != 0 && !kernels_to_json(j->kernels, obj))
		goto nomem;
	if (cJSON_AddNumberToObject(obj, "reserve", j->reserve) == NULL)
		goto nomem;
	if (j->bucket_auto ?
	    cJSON_AddStringToObject(obj, "bucket", "auto") == NULL :
	    cJSON_AddNumberToObject(obj, "bucket", j->bucket) == NULL)
		goto nomem;
	if (j->policy[0] == '\0')
		return SK_OK;
	if ((s = cJSON_AddObjectToObject(obj, "schedule")) == NULL ||
	    cJSON_AddStringToObject(s, "policy", j->policy) == NULL ||
	    (k = cJSON_AddObjectToObject(s, "knobs")) == NULL)
		goto nomem;
	for (i = 0; i < j->nknobs; i++)
		if (cJSON_AddStringToObject(k, j->knobs[i].name,
		    j->knobs[i].value) == NULL)
			goto nomem;
	return SK_OK;
nomem:
	return err_set(SK_ERR_NOMEM, "out of memory building the job JSON");
}

int
job_read(const char *path, struct job *j)
{
	struct job t;
	cJSON *root;
	int e;

	if ((e = json_load(path, &root)) != SK_OK)
		return e;
	job_default(&t);
	e = job_from_json(root, strcmp(path, "-") == 0 ? "<stdin>" : path, &t);
	cJSON_Delete(root);
	if (e == SK_OK)
		*j = t;
	return e;
}

int
job_write(const char *path, const struct job *j)
{
	cJSON *root;
	int e;

	if ((root = cJSON_CreateObject()) == NULL)
		return err_set(SK_ERR_NOMEM, "out of memory building the job JSON");
	if ((e = job_to_json(j, root)) == SK_OK)
		e = json_save(path, root, 1);
	cJSON_Delete(root);
	return e;
}

const char *
job_recompute_name(enum recompute r)
{
	return (unsigned)r <= RECOMPUTE_FULL ? recompute_names[r] : "unknown";
}

int
job_recompute_parse(const char *s, enum recompute *r)
{
	int i;

	for (i = 0; i <= RECOMPUTE_FULL; i++)
		if (strcasecmp(s, recompute_names[i]) == 0) {
			*r = (enum recompute)i;
			return SK_OK;
		}
	return err_set(SK_ERR_ARG, "unknown recompute mode '%s' (none, "
	    "selective, full)", s);
}

const char *
job_precision_name(enum precision p)
{
	return (unsigned)p <= PRECISION_FP32 ? precision_names[p] : "unknown";
}

int
job_precision_parse(const char *s, enum precision *p)
{
	int i;

	for (i = 0; i <= PRECISION_FP32; i++)
		if (strcasecmp(s, precision_names[i]) == 0) {
			*p = (enum precision)i;
			return SK_OK;
		}
	return err_set(SK_ERR_ARG, "unknown precision '%s' (bf16, fp16, fp32)",
	    s);
}

const char *
job_kernel_name(enum kernel k)
{
	int i;

	for (i = 0; i < KERNEL_COUNT; i++)
		if ((unsigned)k == 1u << i)
			return kernel_names[i];
	return "unknown";
}

int
job_kernels_parse(const char *list, unsigned *kernels)
{
	const char *p = list;
	unsigned k, got = 0;
	size_t n;

	if (strcasecmp(list, "none") == 0) {
		*kernels = 0;
		return SK_OK;
	}
	for (;;) {
		n = strcspn(p, ",");
		if (n == 0)
			return err_set(SK_ERR_ARG, "empty kernel name in '%s' "
			    "(%s, or none)", list, KERNEL_LIST);
		if ((k = kernel_find(p, n)) == 0)
			return err_set(SK_ERR_ARG, "unknown kernel '%.*s' (%s, "
			    "or none)", (int)n, p, KERNEL_LIST);
		if (got & k)
			return err_set(SK_ERR_ARG, "kernel '%.*s' is listed "
			    "twice", (int)n, p);
		got |= k;
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	*kernels = got;
	return SK_OK;
}
