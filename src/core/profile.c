/* profile: see profile.h and skrull-profile(5). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cluster.h"
#include "err.h"
#include "json.h"
#include "profile.h"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

static const char *const kind_names[PROF_NKINDS] = {
	"gemm", "attn_fwd", "attn_bwd", "launch", "copy", "allgather",
	"reducescatter", "allreduce"
};
static const char *const fit_names[PROF_NFITS] = {
	"gemm", "attn", "attn_fwd", "attn_bwd"
};
/* The collectives calibrate measures: all but all-to-all. */
#define COLL_KINDS (1u << COLL_ALLGATHER | 1u << COLL_REDUCESCATTER | \
	1u << COLL_ALLREDUCE)

static const char *const keys[] = {
	"format", "version", "device", "model", "shape", "peak_flops", "hbm_bw",
	"efficiency", "collectives", "fits", "measurements"
};
static const char *const device_keys[] = {
	"name", "backend", "count", "dtype"
};
static const char *const fit_keys[] = { "n", "P", "P_se", "h", "h_se", "rms" };
/* algbw and busbw are written for the reader's convenience and derived
 * again from bytes and seconds, so they are accepted and not read. */
static const char *const meas_keys[] = {
	"kind", "shape", "x", "work", "seconds", "algbw", "busbw"
};

void
profile_init(struct profile *p)
{
	memset(p, 0, sizeof *p);
	p->count = 1;
}

void
profile_free(struct profile *p)
{
	free(p->meas);
	profile_init(p);
}

int
profile_add(struct profile *p, enum profile_kind kind, const char *shape,
    double x, double work, double sec)
{
	struct profile_meas *m;
	size_t cap;

	if (p->nmeas == p->cap_meas) {
		cap = p->cap_meas > 0 ? 2 * p->cap_meas : 64;
		if ((m = realloc(p->meas, cap * sizeof *m)) == NULL)
			return err_set(SK_ERR_NOMEM, "out of memory for measurements");
		p->meas = m;
		p->cap_meas = cap;
	}
	m = &p->meas[p->nmeas++];
	memset(m, 0, sizeof *m);
	m->kind = kind;
	snprintf(m->shape, sizeof m->shape, "%s", shape != NULL ? shape : "");
	m->x = x;
	m->work = work;
	m->sec = sec;
	return SK_OK;
}

const char *
profile_kind_name(enum profile_kind k)
{
	return (unsigned)k < PROF_NKINDS ? kind_names[k] : "unknown";
}

const char *
profile_fit_name(enum profile_fit_id f)
{
	return (unsigned)f < PROF_NFITS ? fit_names[f] : "unknown";
}

/* v must be finite and above 0. */
static int
positive(const char *where, const char *path, double v)
{
	if (v > 0 && isfinite(v))
		return SK_OK;
	return err_set(SK_ERR_RANGE, "%s: %s: %g is not a positive finite "
	    "number", where, path, v);
}

int
profile_validate(const struct profile *p, const char *where)
{
	char path[64];
	size_t i;
	int e, f;

	if (where == NULL)
		where = "profile";
	if (p->device[0] == '\0')
		return err_set(SK_ERR_RANGE, "%s: device.name: empty", where);
	if (strcmp(p->backend, "cpu") != 0 && strcmp(p->backend, "cuda") != 0)
		return err_set(SK_ERR_RANGE, "%s: device.backend: \"%s\" is not "
		    "\"cpu\" or \"cuda\"", where, p->backend);
	if (p->count < 1)
		return err_set(SK_ERR_RANGE, "%s: device.count: %d is not a "
		    "positive count", where, p->count);
	if ((e = positive(where, "peak_flops", p->peak_flops)) != SK_OK ||
	    (e = positive(where, "hbm_bw", p->hbm_bw)) != SK_OK ||
	    (e = cluster_eff_validate(&p->eff, where)) != SK_OK ||
	    (e = cluster_coll_validate(&p->coll, COLL_KINDS, where)) != SK_OK)
		return e;
	for (f = 0; f < PROF_NFITS; f++) {
		const struct profile_fit *t = &p->fit[f];

		if (t->n == 0)
			continue;
		snprintf(path, sizeof path, "fits.%s.n", fit_names[f]);
		if (t->n < 2)
			return err_set(SK_ERR_RANGE, "%s: %s: %d points, a fit of "
			    "two parameters needs 2 or more", where, path, t->n);
		snprintf(path, sizeof path, "fits.%s.P", fit_names[f]);
		if ((e = positive(where, path, t->P)) != SK_OK)
			return e;
		snprintf(path, sizeof path, "fits.%s.h", fit_names[f]);
		if ((e = positive(where, path, t->h)) != SK_OK)
			return e;
		snprintf(path, sizeof path, "fits.%s.P_se", fit_names[f]);
		if (!(t->P_se >= 0))
			return err_set(SK_ERR_RANGE, "%s: %s: %g is not a standard "
			    "error", where, path, t->P_se);
		snprintf(path, sizeof path, "fits.%s.h_se", fit_names[f]);
		if (!(t->h_se >= 0))
			return err_set(SK_ERR_RANGE, "%s: %s: %g is not a standard "
			    "error", where, path, t->h_se);
	}
	for (i = 0; i < p->nmeas; i++) {
		snprintf(path, sizeof path, "measurements[%zu].seconds", i);
		if ((e = positive(where, path, p->meas[i].sec)) != SK_OK)
			return e;
		snprintf(path, sizeof path, "measurements[%zu].x", i);
		if ((e = positive(where, path, p->meas[i].x)) != SK_OK)
			return e;
		snprintf(path, sizeof path, "measurements[%zu].work", i);
		if (!(p->meas[i].work >= 0) || !isfinite(p->meas[i].work))
			return err_set(SK_ERR_RANGE, "%s: %s: %g is not a finite "
			    "number >= 0", where, path, p->meas[i].work);
	}
	return SK_OK;
}

void
profile_apply(const struct profile *p, struct cluster *c)
{
	int r;

	c->gpu.peak_flops = p->peak_flops;
	c->gpu.hbm_bw = p->hbm_bw;
	c->eff = p->eff;
	snprintf(c->gpu.name, sizeof c->gpu.name, "%.*s (profile)",
	    CLUSTER_NAME_MAX - 11, p->device);
	if (p->coll.n == 0)
		return;
	c->coll = p->coll;
	for (r = 0; r < c->coll.n; r++)
		c->coll.sec[COLL_ALLTOALL][r] = c->coll.sec[COLL_ALLGATHER][r];
}

/* Reading. */

/* A string member copied into buf of n bytes: 1 to n - 1 characters. */
static int
get_name(const cJSON *obj, const char *key, const char *where, char *buf,
    size_t n, int optional)
{
	const char *s = NULL;
	char at[1024];
	int e;

	if (optional) {
		if ((e = json_opt_str(obj, key, where, &s)) != SK_OK || s == NULL)
			return e;
	} else if ((e = json_get_str(obj, key, where, &s)) != SK_OK) {
		return e;
	}
	if (s[0] == '\0' || strlen(s) >= n) {
		json_where(at, sizeof at, where, key);
		return err_set(SK_ERR_FORMAT, "%s: \"%s\" is not 1 to %zu "
		    "characters", at, s, n - 1);
	}
	memcpy(buf, s, strlen(s) + 1);
	return SK_OK;
}

static int
device_from(const cJSON *obj, const char *where, struct profile *p)
{
	long long count;
	int e;

	if ((e = json_check_keys(obj, where, device_keys,
	    NELEM(device_keys))) != SK_OK ||
	    (e = get_name(obj, "name", where, p->device, sizeof p->device,
	    0)) != SK_OK ||
	    (e = get_name(obj, "backend", where, p->backend, sizeof p->backend,
	    0)) != SK_OK ||
	    (e = get_name(obj, "dtype", where, p->dtype, sizeof p->dtype,
	    0)) != SK_OK ||
	    (e = json_get_int(obj, "count", where, -1000000, 1000000,
	    &count)) != SK_OK)
		return e;
	p->count = (int)count;
	return SK_OK;
}

/* Numbers are read as any finite value; profile_validate then says which
 * one is out of range, with its path. */
static int
num(const cJSON *obj, const char *key, const char *where, double *out)
{
	return json_get_num(obj, key, where, -HUGE_VAL, HUGE_VAL, out);
}

static int
fits_from(const cJSON *obj, const char *where, struct profile *p)
{
	const cJSON *it;
	char at[1024];
	long long n;
	int e, f;

	if ((e = json_check_keys(obj, where, fit_names, PROF_NFITS)) != SK_OK)
		return e;
	for (f = 0; f < PROF_NFITS; f++) {
		struct profile_fit *t = &p->fit[f];

		if ((it = cJSON_GetObjectItemCaseSensitive(obj,
		    fit_names[f])) == NULL)
			continue;
		json_where(at, sizeof at, where, fit_names[f]);
		if ((e = json_check_keys(it, at, fit_keys,
		    NELEM(fit_keys))) != SK_OK ||
		    (e = json_get_int(it, "n", at, 1, 1000000000, &n)) != SK_OK ||
		    (e = num(it, "P", at, &t->P)) != SK_OK ||
		    (e = num(it, "P_se", at, &t->P_se)) != SK_OK ||
		    (e = num(it, "h", at, &t->h)) != SK_OK ||
		    (e = num(it, "h_se", at, &t->h_se)) != SK_OK ||
		    (e = num(it, "rms", at, &t->rms)) != SK_OK)
			return e;
		t->n = (int)n;
	}
	return SK_OK;
}

static int
meas_from(const cJSON *arr, const char *where, struct profile *p)
{
	const cJSON *it;
	const char *kind, *shape;
	char at[1024];
	double x, work, sec;
	size_t i = 0;
	int e, k;

	cJSON_ArrayForEach(it, arr) {
		snprintf(at, sizeof at, "%s", where);
		snprintf(at + strlen(at), sizeof at - strlen(at), "[%zu]", i++);
		shape = "";
		if ((e = json_check_keys(it, at, meas_keys,
		    NELEM(meas_keys))) != SK_OK ||
		    (e = json_get_str(it, "kind", at, &kind)) != SK_OK ||
		    (e = json_opt_str(it, "shape", at, &shape)) != SK_OK ||
		    (e = num(it, "x", at, &x)) != SK_OK ||
		    (e = num(it, "work", at, &work)) != SK_OK ||
		    (e = num(it, "seconds", at, &sec)) != SK_OK)
			return e;
		for (k = 0; k < PROF_NKINDS; k++)
			if (strcmp(kind, kind_names[k]) == 0)
				break;
		if (k == PROF_NKINDS)
			return err_set(SK_ERR_FORMAT, "%s.kind: unknown kind "
			    "\"%s\"", at, kind);
		if (strlen(shape) >= sizeof p->meas[0].shape)
			return err_set(SK_ERR_FORMAT, "%s.shape: \"%s\" is too "
			    "long", at, shape);
		if ((e = profile_add(p, (enum profile_kind)k, shape, x, work,
		    sec)) != SK_OK)
			return e;
	}
	return SK_OK;
}

static int
from_json(const cJSON *root, const char *where, struct profile *p)
{
	const cJSON *obj, *arr;
	char at[1024];
	int e, version;

	if ((e = json_check_version_range(root, where, "skrull-profile", 1,
	    PROFILE_VERSION, &version)) != SK_OK ||
	    (e = json_check_keys(root, where, keys, NELEM(keys))) != SK_OK)
		return e;
	json_where(at, sizeof at, where, "device");
	if ((e = json_get_obj(root, "device", where, &obj)) != SK_OK ||
	    (e = device_from(obj, at, p)) != SK_OK ||
	    (e = get_name(root, "model", where, p->model, sizeof p->model,
	    1)) != SK_OK ||
	    (e = num(root, "peak_flops", where, &p->peak_flops)) != SK_OK ||
	    (e = num(root, "hbm_bw", where, &p->hbm_bw)) != SK_OK)
		return e;
	/* The shape came with version 2, and stays optional there: a profile
	 * made by hand need not know one. */
	if (version < 2 &&
	    cJSON_GetObjectItemCaseSensitive(root, "shape") != NULL)
		return err_set(SK_ERR_FORMAT, "%s: shape: not in version %d "
		    "(a version 2 member)", where, version);
	if (cJSON_GetObjectItemCaseSensitive(root, "shape") != NULL) {
		json_where(at, sizeof at, where, "shape");
		if ((e = json_get_obj(root, "shape", where, &obj)) != SK_OK ||
		    (e = model_from_json(obj, at, &p->shape)) != SK_OK)
			return e;
		p->shape_known = 1;
	}
	json_where(at, sizeof at, where, "efficiency");
	if ((e = json_get_obj(root, "efficiency", where, &obj)) != SK_OK ||
	    (e = cluster_eff_from_json(obj, at, 0, &p->eff)) != SK_OK)
		return e;
	obj = cJSON_GetObjectItemCaseSensitive(root, "collectives");
	if (obj != NULL && !cJSON_IsNull(obj)) {
		json_where(at, sizeof at, where, "collectives");
		if ((e = json_get_obj(root, "collectives", where, &obj)) != SK_OK ||
		    (e = cluster_coll_from_json(obj, at, COLL_KINDS,
		    &p->coll)) != SK_OK)
			return e;
	}
	if (cJSON_GetObjectItemCaseSensitive(root, "fits") != NULL) {
		json_where(at, sizeof at, where, "fits");
		if ((e = json_get_obj(root, "fits", where, &obj)) != SK_OK ||
		    (e = fits_from(obj, at, p)) != SK_OK)
			return e;
	}
	if (cJSON_GetObjectItemCaseSensitive(root, "measurements") != NULL) {
		json_where(at, sizeof at, where, "measurements");
		if ((e = json_get_arr(root, "measurements", where, &arr)) != SK_OK ||
		    (e = meas_from(arr, at, p)) != SK_OK)
			return e;
	}
	return profile_validate(p, where);
}

int
profile_read(const char *path, struct profile *p)
{
	const char *where = strcmp(path, "-") == 0 ? "<stdin>" : path;
	struct profile t;
	cJSON *root;
	int e;

	if ((e = json_load(path, &root)) != SK_OK)
		return e;
	profile_init(&t);
	e = from_json(root, where, &t);
	cJSON_Delete(root);
	if (e != SK_OK) {
		profile_free(&t);
		return e;
	}
	profile_free(p);
	*p = t;
	return SK_OK;
}

/* Writing. */

static int
add_num(cJSON *obj, const char *key, double v)
{
	return cJSON_AddNumberToObject(obj, key, v) != NULL;
}

/* nccl-tests' bus bandwidth factor (its doc/PERFORMANCE.md): (n - 1) / n
 * for all-gather and reduce-scatter, 2 (n - 1) / n for all-reduce. */
static double
bus_factor(enum profile_kind k, int n)
{
	double f = n > 1 ? (double)(n - 1) / n : 0;

	return k == PROF_ALLREDUCE ? 2 * f : f;
}

static int
meas_to(const struct profile *p, cJSON *arr)
{
	const struct profile_meas *m;
	cJSON *o;
	size_t i;

	for (i = 0; i < p->nmeas; i++) {
		m = &p->meas[i];
		if ((o = cJSON_CreateObject()) == NULL)
			return 0;
		cJSON_AddItemToArray(arr, o);
		if (cJSON_AddStringToObject(o, "kind", kind_names[m->kind]) == NULL ||
		    (m->shape[0] != '\0' &&
		    cJSON_AddStringToObject(o, "shape", m->shape) == NULL) ||
		    !add_num(o, "x", m->x) || !add_num(o, "work", m->work) ||
		    !add_num(o, "seconds", m->sec))
			return 0;
		if (m->kind >= PROF_ALLGATHER &&
		    (!add_num(o, "algbw", m->x / m->sec) ||
		    !add_num(o, "busbw", m->x / m->sec *
		    bus_factor(m->kind, p->coll.group))))
			return 0;
	}
	return 1;
}

int
profile_to_json(const struct profile *p, cJSON *obj)
{
	cJSON *dev, *shape, *fits, *fit, *arr;
	int e, f;

	if (cJSON_AddStringToObject(obj, "format", "skrull-profile") == NULL ||
	    !add_num(obj, "version", PROFILE_VERSION) ||
	    (dev = cJSON_AddObjectToObject(obj, "device")) == NULL ||
	    cJSON_AddStringToObject(dev, "name", p->device) == NULL ||
	    cJSON_AddStringToObject(dev, "backend", p->backend) == NULL ||
	    !add_num(dev, "count", p->count) ||
	    cJSON_AddStringToObject(dev, "dtype", p->dtype) == NULL ||
	    (p->model[0] != '\0' &&
	    cJSON_AddStringToObject(obj, "model", p->model) == NULL) ||
	    (p->shape_known &&
	    ((shape = cJSON_AddObjectToObject(obj, "shape")) == NULL ||
	    model_to_json(&p->shape, shape) != SK_OK)) ||
	    !add_num(obj, "peak_flops", p->peak_flops) ||
	    !add_num(obj, "hbm_bw", p->hbm_bw))
		goto nomem;
	if ((e = cluster_eff_to_json(&p->eff, obj)) != SK_OK ||
	    (e = cluster_coll_to_json(&p->coll, COLL_KINDS, obj)) != SK_OK)
		return e;
	if ((fits = cJSON_AddObjectToObject(obj, "fits")) == NULL)
		goto nomem;
	for (f = 0; f < PROF_NFITS; f++) {
		const struct profile_fit *t = &p->fit[f];

		if (t->n == 0)
			continue;
		if ((fit = cJSON_AddObjectToObject(fits, fit_names[f])) == NULL ||
		    !add_num(fit, "n", t->n) || !add_num(fit, "P", t->P) ||
		    !add_num(fit, "P_se", t->P_se) || !add_num(fit, "h", t->h) ||
		    !add_num(fit, "h_se", t->h_se) || !add_num(fit, "rms", t->rms))
			goto nomem;
	}
	if ((arr = cJSON_AddArrayToObject(obj, "measurements")) == NULL ||
	    !meas_to(p, arr))
		goto nomem;
	return SK_OK;
nomem:
	return err_set(SK_ERR_NOMEM, "out of memory building the profile JSON");
}

int
profile_write(const char *path, const struct profile *p)
{
	cJSON *root;
	int e;

	if ((e = profile_validate(p, path)) != SK_OK)
		return e;
	if ((root = cJSON_CreateObject()) == NULL)
		return err_set(SK_ERR_NOMEM, "out of memory building the profile "
		    "JSON");
	if ((e = profile_to_json(p, root)) == SK_OK)
		e = json_save(path, root, 1);
	cJSON_Delete(root);
	return e;
}

int
profile_shape_matches(const struct profile *p, const struct model *m)
{
	if (!p->shape_known)
		return -1;
	return model_same_shape(&p->shape, m);
}
