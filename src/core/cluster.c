/* cluster: see cluster.h. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cluster.h"
#include "err.h"
#include "json.h"

#define MIB 1048576.0

/*
 * Collective latency in microseconds against size in MiB, measured by the
 * Skrull paper (arXiv 2505.19609, Table 5), most likely on 8 H100s inside
 * one node: the paper names neither.  Its "MB" is read as MiB, as
 * nccl-tests sizes are powers of two.
 */
static const double t5_mib[] = { 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024 };
static const double t5_us[COLL_NKINDS][10] = {
	{ 53.29, 72.52, 97.86, 199.3, 286.2, 488.6, 910.6, 1758.4, 3416.4,
	  6467.9 },
	{ 80.62, 78.63, 110.9, 163.2, 277.5, 502.4, 939.2, 1803.9, 3411.2,
	  6629.6 },
	{ 59.48, 79.26, 104.7, 177.4, 269.5, 458.8, 864.3, 1663.9, 3239.5,
	  6294.3 },
	{ 84.65, 113.3, 168.4, 312.2, 479.2, 859.7, 1642.9, 3197.9, 6181.2,
	  12126 },
};
#define T5_ROWS ((int)(sizeof t5_mib / sizeof t5_mib[0]))

/* A measured table may dip between rows by measurement noise (Table 5's
 * all-to-all: 80.62 us at 2 MiB, 78.63 us at 4 MiB), not by more. */
#define COLL_NOISE 0.10

struct preset {
	struct cluster c;
	int table;  /* 1: carries Table 5 */
	const char *aliases[3];
};

/*
 * Peak dense bf16 tensor FLOP/s and HBM bandwidth from NVIDIA's data
 * sheets: "NVIDIA H100 Tensor Core GPU" (SXM: 989.4 TFLOP/s bf16 dense,
 * 3.35 TB/s, NVLink 900 GB/s), "NVIDIA H200 Tensor Core GPU" product brief
 * (989 TFLOP/s, 4.8 TB/s, NVLink 900 GB/s) and "NVIDIA A100 Tensor Core
 * GPU" (SXM 80GB: 312 TFLOP/s, 2,039 GB/s, NVLink 600 GB/s).  NVLink
 * figures are both directions together: half per direction here.  HBM is
 * what nvidia-smi reports (81559 MiB, 143771 MiB, 81920 MiB).  InfiniBand
 * is one NDR 400 Gb/s (50 GB/s) HCA per GPU for H100 and H200, HDR
 * 200 Gb/s (25 GB/s) for A100.  The link latencies are assumptions, not
 * measurements: 3 us per NVLink hop, 5 us per InfiniBand hop.  Only the
 * H100 carries a measured collective table (Table 5); the others use the
 * ring model.
 *
 * Kernel efficiencies (struct cluster_eff; the simulator's, sim/ops.h):
 *
 * gemm_max: S. Bekman, "Machine Learning Engineering Open Book", chapter
 *   "Accelerators", table "Maximum Achievable Matmul FLOPS comparison"
 *   (2024-2025, mamf-finder.py, bf16, best shape): H100 SXM 794.5 of 989
 *   TFLOP/s (0.803), A100 SXM 271.2 of 312 (0.869).  A best shape's
 *   figure, so an upper bound for a model's own shapes.  The H200 has the
 *   H100's SMs, clocks and 700 W limit, only its memory differs: the H100
 *   figure is used (the table's GH200, at 900 W, reaches 0.836).
 * gemm_half: 128 rows.  cuBLAS computes an output tile of 128 (or 256)
 *   rows per thread block (NVIDIA, "Matrix Multiplication Background
 *   User's Guide", DU-09799-001, 2023, sec. 2.3 and 3.1, tile
 *   quantization): below one tile height the time stays that of a full
 *   tile while the work shrinks, so a GEMM of about one tile's rows runs
 *   near half its large-shape rate.  A modelling choice from the tile
 *   size, not a measured curve.
 * attn_max, attn_half: FlashAttention-2 causal forward, head dim 128, on
 *   H100 SXM5 as J. Shah et al., "FlashAttention-3", 2024, Figure 5 (the
 *   causal, head dim 128 panel) plots it, values read off the bar labels
 *   (approximate): 191, 260, 298, 319, 333, 335 TFLOP/s at 512, 1K, 2K, 4K,
 *   8K, 16K tokens.  A least-squares fit of max x S / (S + half) gives
 *   346 TFLOP/s (0.35 of peak) and half = 385-400 tokens, within 4% of
 *   every bar with half = 400.  A100: T. Dao, "FlashAttention-2", 2023,
 *   reports forward at 50-73% of the A100's peak (abstract, Figure 5);
 *   causal head dim 128 at long sequences lies near the top, 0.70
 *   (approximate); its half-length is taken from the H100 fit, not read
 *   off the A100 figure.
 * mem_eff: Z. Jia et al., "Dissecting the NVIDIA Volta GPU Architecture
 *   via Microbenchmarking", 2018: a streaming kernel reaches 750 of
 *   900 GB/s on V100 (0.83; figure as recalled, not rechecked against
 *   the paper).  Transferred to the later HBM parts: no H100, H200 or
 *   A100 measurement is cited here.
 * launch: 5 us per kernel.  Training frameworks issue kernels from the
 *   host one at a time; a kernel of a few microseconds takes about 5 to
 *   10 us from launch to launch when the host waits on it (A. Gray,
 *   "Getting Started with CUDA Graphs", NVIDIA Technical Blog, 2019: a
 *   2.9 us kernel costs 9.6 us per launch with synchronisation, 3.8 us
 *   without; figures as recalled, not rechecked against the post).
 *   a back-of-envelope estimate of the paper's baseline uses 5-10 us.
 */
#define LAUNCH 5e-6
#define H100_EFF { .gemm_max = 0.80, .gemm_half = 128, .attn_max = 0.35, \
	.attn_half = 400, .mem_eff = 0.83, .launch = LAUNCH }
#define A100_EFF { .gemm_max = 0.87, .gemm_half = 128, .attn_max = 0.70, \
	.attn_half = 400, .mem_eff = 0.83, .launch = LAUNCH }

static const struct preset presets[] = {
	{ { .name = "H100-SXM-80GB",
	    .gpu = { "H100-SXM-80GB", 989.4e12, 81559 * MIB, 3.35e12 },
	    .eff = H100_EFF, .nodes = 4, .gpus_per_node = 8,
	    .nvlink_bw = 450e9, .nvlink_lat = 3e-6, .ib_bw = 50e9,
	    .ib_lat = 5e-6 }, 1, { "h100", NULL } },
	{ { .name = "H200-141GB",
	    .gpu = { "H200-141GB", 989.4e12, 143771 * MIB, 4.8e12 },
	    .eff = H100_EFF, .nodes = 4, .gpus_per_node = 8,
	    .nvlink_bw = 450e9, .nvlink_lat = 3e-6, .ib_bw = 50e9,
	    .ib_lat = 5e-6 }, 0, { "h200", NULL } },
	{ { .name = "A100-SXM-80GB",
	    .gpu = { "A100-SXM-80GB", 312e12, 81920 * MIB, 2.039e12 },
	    .eff = A100_EFF, .nodes = 4, .gpus_per_node = 8,
	    .nvlink_bw = 300e9, .nvlink_lat = 3e-6, .ib_bw = 25e9,
	    .ib_lat = 5e-6 }, 0, { "a100", NULL } },
};
#define NPRESETS ((int)(sizeof presets / sizeof presets[0]))

/* The JSON names of the collectives, in enum coll_kind order. */
static const char *const coll_names[COLL_NKINDS] = {
	"allgather", "alltoall", "reducescatter", "allreduce"
};

static const char *const keys[] = {
	"name", "gpu", "efficiency", "nodes", "gpus_per_node", "nvlink_bw",
	"nvlink_lat", "ib_bw", "ib_lat", "collectives"
};
static const char *const gpu_keys[] = {
	"name", "peak_flops", "hbm_bytes", "hbm_bw"
};
static const char *const eff_keys[] = {
	"gemm_max", "gemm_half", "attn_max", "attn_half", "mem_eff", "launch"
};
static const char *const coll_keys[] = { "group", "rows" };
#define NELEM(a) (sizeof (a) / sizeof (a)[0])

/* Ranges: wide enough for any real machine, narrow enough to catch a
 * value given in the wrong unit (GB/s for bytes/s, us for seconds). */
#define NODES_MAX 100000
#define GPN_MAX 1024
#define FLOPS_LO 1e9
#define FLOPS_HI 1e18
#define BYTES_LO MIB
#define BYTES_HI 1e15
#define BW_LO 1e6
#define BW_HI 1e15
#define LAT_HI 1.0
#define HALF_HI 1e9  /* tokens */
#define SEC_LO 1e-9  /* a collective's latency */
#define SEC_HI 1e3

static int
find(const char *name)
{
	const char *const *a;
	int i;

	for (i = 0; i < NPRESETS; i++) {
		if (strcasecmp(name, presets[i].c.name) == 0)
			return i;
		for (a = presets[i].aliases; *a != NULL; a++)
			if (strcasecmp(name, *a) == 0)
				return i;
	}
	return -1;
}

int
cluster_preset(const char *name, struct cluster *c)
{
	int i, k, r;

	if ((i = find(name)) < 0)
		return err_set(SK_ERR_ARG, "unknown cluster '%s' (presets: "
		    "H100-SXM-80GB, H200-141GB, A100-SXM-80GB)", name);
	*c = presets[i].c;
	if (presets[i].table) {
		c->coll.n = T5_ROWS;
		c->coll.group = 8;
		for (r = 0; r < T5_ROWS; r++) {
			c->coll.bytes[r] = t5_mib[r] * MIB;
			for (k = 0; k < COLL_NKINDS; k++)
				c->coll.sec[k][r] = t5_us[k][r] * 1e-6;
		}
	}
	return SK_OK;
}

int
cluster_resolve(const char *name_or_path, struct cluster *c)
{
	char where[1024];
	const cJSON *obj;
	cJSON *root;
	int e;

	if (find(name_or_path) >= 0)
		return cluster_preset(name_or_path, c);
	if (strcmp(name_or_path, "-") != 0 && access(name_or_path, R_OK) != 0)
		return err_set(SK_ERR_ARG, "'%s' is neither a cluster preset "
		    "(H100-SXM-80GB, H200-141GB, A100-SXM-80GB) nor a readable "
		    "file", name_or_path);
	if ((e = json_load(name_or_path, &root)) != SK_OK)
		return e;
	/* A job file (or any object with a "cluster" member), or a bare
	 * cluster. */
	obj = cJSON_GetObjectItemCaseSensitive(root, "cluster");
	if (cJSON_IsObject(root) && obj != NULL) {
		snprintf(where, sizeof where, "%s: cluster", name_or_path);
	} else {
		obj = root;
		snprintf(where, sizeof where, "%s", name_or_path);
	}
	e = cluster_from_json(obj, where, c);
	cJSON_Delete(root);
	return e;
}

static int
name_from(const cJSON *obj, const char *where, char *name, int *preset)
{
	const char *s;
	char at[512];
	int e;

	*preset = 0;
	if (cJSON_GetObjectItemCaseSensitive(obj, "name") == NULL)
		return SK_OK;
	if ((e = json_get_str(obj, "name", where, &s)) != SK_OK)
		return e;
	if (s[0] == '\0' || strlen(s) >= CLUSTER_NAME_MAX) {
		json_where(at, sizeof at, where, "name");
		return err_set(SK_ERR_FORMAT, "%s: expected 1 to %d characters",
		    at, CLUSTER_NAME_MAX - 1);
	}
	strcpy(name, s);
	*preset = find(s) >= 0;
	return SK_OK;
}

static int
gpu_from(const cJSON *obj, const char *where, struct gpu *g)
{
	int e, preset;

	if ((e = json_check_keys(obj, where, gpu_keys, NELEM(gpu_keys))) != SK_OK ||
	    (e = name_from(obj, where, g->name, &preset)) != SK_OK ||
	    (e = json_opt_num(obj, "peak_flops", where, FLOPS_LO, FLOPS_HI,
	    &g->peak_flops)) != SK_OK ||
	    (e = json_opt_num(obj, "hbm_bytes", where, BYTES_LO, BYTES_HI,
	    &g->hbm_bytes)) != SK_OK ||
	    (e = json_opt_num(obj, "hbm_bw", where, BW_LO, BW_HI,
	    &g->hbm_bw)) != SK_OK)
		return e;
	return SK_OK;
}

/* Numbers are read as any finite value; the validators then say which one
 * is out of range, with its path. */
static int
num(const cJSON *obj, const char *key, const char *where, int partial,
    double *out)
{
	if (partial)
		return json_opt_num(obj, key, where, -HUGE_VAL, HUGE_VAL, out);
	return json_get_num(obj, key, where, -HUGE_VAL, HUGE_VAL, out);
}

int
cluster_eff_from_json(const cJSON *obj, const char *where, int partial,
    struct cluster_eff *f)
{
	struct cluster_eff t = *f;
	int e;

	if ((e = json_check_keys(obj, where, eff_keys, NELEM(eff_keys))) != SK_OK ||
	    (e = num(obj, "gemm_max", where, partial, &t.gemm_max)) != SK_OK ||
	    (e = num(obj, "gemm_half", where, partial, &t.gemm_half)) != SK_OK ||
	    (e = num(obj, "attn_max", where, partial, &t.attn_max)) != SK_OK ||
	    (e = num(obj, "attn_half", where, partial, &t.attn_half)) != SK_OK ||
	    (e = num(obj, "mem_eff", where, partial, &t.mem_eff)) != SK_OK ||
	    (e = num(obj, "launch", where, partial, &t.launch)) != SK_OK)
		return e;
	*f = t;
	return SK_OK;
}

int
cluster_coll_from_json(const cJSON *obj, const char *where, unsigned kinds,
    struct coll_table *t)
{
	const char *row_keys[1 + COLL_NKINDS];
	const cJSON *rows, *row;
	char at[1024];
	long long group;
	size_t nk = 0;
	int e, k, n = 0;

	row_keys[nk++] = "bytes";
	for (k = 0; k < COLL_NKINDS; k++)
		if (kinds & 1u << k)
			row_keys[nk++] = coll_names[k];
	if ((e = json_check_keys(obj, where, coll_keys, NELEM(coll_keys))) != SK_OK ||
	    (e = json_get_int(obj, "group", where, INT_MIN, INT_MAX,
	    &group)) != SK_OK ||
	    (e = json_get_arr(obj, "rows", where, &rows)) != SK_OK)
		return e;
	/* The one bound read here: the rows must fit the table. */
	if (cJSON_GetArraySize(rows) > CLUSTER_COLL_MAX) {
		json_where(at, sizeof at, where, "rows");
		return err_set(SK_ERR_RANGE, "%s: %d rows, at most %d", at,
		    cJSON_GetArraySize(rows), CLUSTER_COLL_MAX);
	}
	memset(t, 0, sizeof *t);
	cJSON_ArrayForEach(row, rows) {
		json_where(at, sizeof at, where, "rows");
		snprintf(at + strlen(at), sizeof at - strlen(at), "[%d]", n);
		if ((e = json_check_keys(row, at, row_keys, nk)) != SK_OK ||
		    (e = num(row, "bytes", at, 0, &t->bytes[n])) != SK_OK)
			return e;
		for (k = 0; k < COLL_NKINDS; k++)
			if ((kinds & 1u << k) &&
			    (e = num(row, coll_names[k], at, 0,
			    &t->sec[k][n])) != SK_OK)
				return e;
		n++;
	}
	t->n = n;
	t->group = (int)group;
	return SK_OK;
}

int
cluster_from_json(const cJSON *obj, const char *where, struct cluster *c)
{
	struct cluster t = *c;
	const cJSON *gpu, *eff, *coll;
	char name[CLUSTER_NAME_MAX], at[1024];
	long long nodes = t.nodes, gpn = t.gpus_per_node;
	int e, preset;

	if ((e = json_check_keys(obj, where, keys, NELEM(keys))) != SK_OK ||
	    (e = name_from(obj, where, name, &preset)) != SK_OK)
		return e;
	/* A preset's name restarts from it; other members override. */
	if (preset)
		cluster_preset(name, &t);
	else if (cJSON_GetObjectItemCaseSensitive(obj, "name") != NULL)
		strcpy(t.name, name);
	if (cJSON_GetObjectItemCaseSensitive(obj, "gpu") != NULL) {
		json_where(at, sizeof at, where, "gpu");
		if ((e = json_get_obj(obj, "gpu", where, &gpu)) != SK_OK ||
		    (e = gpu_from(gpu, at, &t.gpu)) != SK_OK)
			return e;
	}
	if (cJSON_GetObjectItemCaseSensitive(obj, "efficiency") != NULL) {
		json_where(at, sizeof at, where, "efficiency");
		if ((e = json_get_obj(obj, "efficiency", where, &eff)) != SK_OK ||
		    (e = cluster_eff_from_json(eff, at, 1, &t.eff)) != SK_OK)
			return e;
	}
	nodes = t.nodes;
	gpn = t.gpus_per_node;
	if ((e = json_opt_int(obj, "nodes", where, 1, NODES_MAX, &nodes)) != SK_OK ||
	    (e = json_opt_int(obj, "gpus_per_node", where, 1, GPN_MAX,
	    &gpn)) != SK_OK ||
	    (e = json_opt_num(obj, "nvlink_bw", where, BW_LO, BW_HI,
	    &t.nvlink_bw)) != SK_OK ||
	    (e = json_opt_num(obj, "nvlink_lat", where, 0, LAT_HI,
	    &t.nvlink_lat)) != SK_OK ||
	    (e = json_opt_num(obj, "ib_bw", where, BW_LO, BW_HI,
	    &t.ib_bw)) != SK_OK ||
	    (e = json_opt_num(obj, "ib_lat", where, 0, LAT_HI,
	    &t.ib_lat)) != SK_OK)
		return e;
	t.nodes = (int)nodes;
	t.gpus_per_node = (int)gpn;
	/* null removes the table: the ring model applies. */
	coll = cJSON_GetObjectItemCaseSensitive(obj, "collectives");
	if (cJSON_IsNull(coll)) {
		t.coll.n = 0;
		t.coll.group = 0;
	} else if (coll != NULL) {
		json_where(at, sizeof at, where, "collectives");
		if (!cJSON_IsObject(coll))
			return err_set(SK_ERR_FORMAT, "%s: expected an object or "
			    "null", at);
		if ((e = cluster_coll_from_json(coll, at, CLUSTER_COLL_ALL,
		    &t.coll)) != SK_OK)
			return e;
	}
	if ((e = cluster_validate(&t, where)) != SK_OK)
		return e;
	*c = t;
	return SK_OK;
}

static int
add_num(cJSON *obj, const char *key, double v)
{
	return cJSON_AddNumberToObject(obj, key, v) != NULL;
}

int
cluster_eff_to_json(const struct cluster_eff *f, cJSON *obj)
{
	cJSON *eff;

	if ((eff = cJSON_AddObjectToObject(obj, "efficiency")) == NULL ||
	    !add_num(eff, "gemm_max", f->gemm_max) ||
	    !add_num(eff, "gemm_half", f->gemm_half) ||
	    !add_num(eff, "attn_max", f->attn_max) ||
	    !add_num(eff, "attn_half", f->attn_half) ||
	    !add_num(eff, "mem_eff", f->mem_eff) ||
	    !add_num(eff, "launch", f->launch))
		return err_set(SK_ERR_NOMEM, "out of memory building the "
		    "efficiency JSON");
	return SK_OK;
}

int
cluster_coll_to_json(const struct coll_table *t, unsigned kinds, cJSON *obj)
{
	cJSON *coll, *rows, *row;
	int r, k;

	if (t->n == 0) {
		if (cJSON_AddNullToObject(obj, "collectives") == NULL)
			goto nomem;
		return SK_OK;
	}
	if ((coll = cJSON_AddObjectToObject(obj, "collectives")) == NULL ||
	    !add_num(coll, "group", t->group) ||
	    (rows = cJSON_AddArrayToObject(coll, "rows")) == NULL)
		goto nomem;
	for (r = 0; r < t->n; r++) {
		if ((row = cJSON_CreateObject()) == NULL)
			goto nomem;
		if (!cJSON_AddItemToArray(rows, row)) {
			cJSON_Delete(row);
			goto nomem;
		}
		if (!add_num(row, "bytes", t->bytes[r]))
			goto nomem;
		for (k = 0; k < COLL_NKINDS; k++)
			if ((kinds & 1u << k) &&
			    !add_num(row, coll_names[k], t->sec[k][r]))
				goto nomem;
	}
	return SK_OK;
nomem:
	return err_set(SK_ERR_NOMEM, "out of memory building the collective "
	    "table JSON");
}

int
cluster_to_json(const struct cluster *c, cJSON *obj)
{
	cJSON *gpu;
	int e;

	if (cJSON_AddStringToObject(obj, "name", c->name) == NULL ||
	    (gpu = cJSON_AddObjectToObject(obj, "gpu")) == NULL ||
	    cJSON_AddStringToObject(gpu, "name", c->gpu.name) == NULL ||
	    !add_num(gpu, "peak_flops", c->gpu.peak_flops) ||
	    !add_num(gpu, "hbm_bytes", c->gpu.hbm_bytes) ||
	    !add_num(gpu, "hbm_bw", c->gpu.hbm_bw))
		goto nomem;
	if ((e = cluster_eff_to_json(&c->eff, obj)) != SK_OK)
		return e;
	if (!add_num(obj, "nodes", c->nodes) ||
	    !add_num(obj, "gpus_per_node", c->gpus_per_node) ||
	    !add_num(obj, "nvlink_bw", c->nvlink_bw) ||
	    !add_num(obj, "nvlink_lat", c->nvlink_lat) ||
	    !add_num(obj, "ib_bw", c->ib_bw) ||
	    !add_num(obj, "ib_lat", c->ib_lat))
		goto nomem;
	return cluster_coll_to_json(&c->coll, CLUSTER_COLL_ALL, obj);
nomem:
	return err_set(SK_ERR_NOMEM, "out of memory building the cluster JSON");
}

static int
out_of(const char *where, const char *what, double v, double lo, double hi)
{
	if (v >= lo && v <= hi)
		return SK_OK;
	return err_set(SK_ERR_RANGE, "%s: %s %g is not in [%g, %g]", where,
	    what, v, lo, hi);
}

/* v, at path under where, in [lo, hi] (lo_open: (lo, hi]): a positive
 * finite number first (a kernel or transfer that never finishes is a
 * unit mistake, not a machine), then the range. */
static int
in_range(const char *where, const char *path, double v, double lo, int lo_open,
    double hi)
{
	char at[1024];

	json_where(at, sizeof at, where, path);
	if (!(v > 0) || !isfinite(v))
		return err_set(SK_ERR_RANGE, "%s: %g is not a positive finite "
		    "number", at, v);
	if ((lo_open ? v > lo : v >= lo) && v <= hi)
		return SK_OK;
	return err_set(SK_ERR_RANGE, "%s: %g is not in %c%g, %g]", at, v,
	    lo_open ? '(' : '[', lo, hi);
}

/* A fraction of peak, in (0, 1]. */
static int
fraction(const char *where, const char *path, double v)
{
	char at[1024];

	if (v > 0 && v <= 1)
		return SK_OK;
	json_where(at, sizeof at, where, path);
	return err_set(SK_ERR_RANGE, "%s: %g is not in (0, 1]", at, v);
}

int
cluster_eff_validate(const struct cluster_eff *f, const char *where)
{
	int e;

	if ((e = fraction(where, "efficiency.gemm_max", f->gemm_max)) != SK_OK ||
	    (e = in_range(where, "efficiency.gemm_half", f->gemm_half, 0, 1,
	    HALF_HI)) != SK_OK ||
	    (e = fraction(where, "efficiency.attn_max", f->attn_max)) != SK_OK ||
	    (e = in_range(where, "efficiency.attn_half", f->attn_half, 0, 1,
	    HALF_HI)) != SK_OK ||
	    (e = fraction(where, "efficiency.mem_eff", f->mem_eff)) != SK_OK ||
	    (e = in_range(where, "efficiency.launch", f->launch, 0, 1,
	    LAT_HI)) != SK_OK)
		return e;
	return SK_OK;
}

int
cluster_coll_validate(const struct coll_table *t, unsigned kinds,
    const char *where)
{
	char path[64], at[1024];
	int r, k, e;

	if (t->n == 0)
		return SK_OK;
	if (t->n < 0 || t->n > CLUSTER_COLL_MAX) {
		json_where(at, sizeof at, where, "collectives.rows");
		return err_set(SK_ERR_RANGE, "%s: %d rows, 1 to %d", at, t->n,
		    CLUSTER_COLL_MAX);
	}
	if (t->group < 2 || t->group > GPN_MAX) {
		json_where(at, sizeof at, where, "collectives.group");
		return err_set(SK_ERR_RANGE, "%s: %d, a table needs a group of 2 "
		    "to %d", at, t->group, GPN_MAX);
	}
	for (r = 0; r < t->n; r++) {
		snprintf(path, sizeof path, "collectives.rows[%d].bytes", r);
		if ((e = in_range(where, path, t->bytes[r], 1, 0,
		    BYTES_HI)) != SK_OK)
			return e;
		if (r > 0 && !(t->bytes[r] > t->bytes[r - 1])) {
			json_where(at, sizeof at, where, path);
			return err_set(SK_ERR_RANGE, "%s: %.0f is not above "
			    "rows[%d]'s %.0f (sizes must ascend strictly)", at,
			    t->bytes[r], r - 1, t->bytes[r - 1]);
		}
		for (k = 0; k < COLL_NKINDS; k++) {
			if (!(kinds & 1u << k))
				continue;
			snprintf(path, sizeof path, "collectives.rows[%d].%s", r,
			    coll_names[k]);
			if ((e = in_range(where, path, t->sec[k][r], SEC_LO, 0,
			    SEC_HI)) != SK_OK)
				return e;
			if (r > 0 &&
			    t->sec[k][r] < (1 - COLL_NOISE) * t->sec[k][r - 1]) {
				json_where(at, sizeof at, where, path);
				return err_set(SK_ERR_RANGE, "%s: %g s is more than "
				    "%.0f%% below rows[%d]'s %g s: latency must not "
				    "fall as the size grows (non-monotone curve)", at,
				    t->sec[k][r], 100 * COLL_NOISE, r - 1,
				    t->sec[k][r - 1]);
			}
		}
	}
	return SK_OK;
}

int
cluster_validate(const struct cluster *c, const char *where)
{
	int e;

	if (where == NULL)
		where = "cluster";
	if (c->name[0] == '\0' || memchr(c->name, '\0', CLUSTER_NAME_MAX) == NULL ||
	    c->gpu.name[0] == '\0' ||
	    memchr(c->gpu.name, '\0', CLUSTER_NAME_MAX) == NULL)
		return err_set(SK_ERR_ARG, "%s: the cluster and GPU names must "
		    "have 1 to %d characters", where, CLUSTER_NAME_MAX - 1);
	if ((e = out_of(where, "nodes", c->nodes, 1, NODES_MAX)) != SK_OK ||
	    (e = out_of(where, "gpus_per_node", c->gpus_per_node, 1,
	    GPN_MAX)) != SK_OK ||
	    (e = out_of(where, "gpu.peak_flops", c->gpu.peak_flops, FLOPS_LO,
	    FLOPS_HI)) != SK_OK ||
	    (e = out_of(where, "gpu.hbm_bytes", c->gpu.hbm_bytes, BYTES_LO,
	    BYTES_HI)) != SK_OK ||
	    (e = out_of(where, "gpu.hbm_bw", c->gpu.hbm_bw, BW_LO,
	    BW_HI)) != SK_OK ||
	    (e = out_of(where, "nvlink_bw", c->nvlink_bw, BW_LO, BW_HI)) != SK_OK ||
	    (e = out_of(where, "nvlink_lat", c->nvlink_lat, 0, LAT_HI)) != SK_OK ||
	    (e = out_of(where, "ib_bw", c->ib_bw, BW_LO, BW_HI)) != SK_OK ||
	    (e = out_of(where, "ib_lat", c->ib_lat, 0, LAT_HI)) != SK_OK ||
	    (e = cluster_eff_validate(&c->eff, where)) != SK_OK ||
	    (e = cluster_coll_validate(&c->coll, CLUSTER_COLL_ALL,
	    where)) != SK_OK)
		return e;
	return SK_OK;
}

int
cluster_preset_count(void)
{
	return NPRESETS;
}

const char *
cluster_preset_name(int i)
{
	return i >= 0 && i < NPRESETS ? presets[i].c.name : NULL;
}

const char *const *
cluster_preset_aliases(int i)
{
	return i >= 0 && i < NPRESETS ? presets[i].aliases : NULL;
}

/*
 * The measured table (group = the table's group, inside a node):
 * piecewise linear in bytes between rows; below the first row, the line
 * from the ring latency floor (group - 1) nvlink_lat at 0 bytes to the
 * first row; beyond the last row, the last segment's slope (a one-row
 * table keeps the slope from the floor).
 */
static double
table_time(const struct cluster *c, enum coll_kind k, double bytes,
    int group)
{
	const double *x = c->coll.bytes, *y = c->coll.sec[k];
	double x0, y0, x1, y1;
	int n = c->coll.n, i;

	if (bytes <= x[0] || n == 1) {
		x0 = 0;
		y0 = (group - 1) * c->nvlink_lat;
		x1 = x[0];
		y1 = y[0];
	} else {
		for (i = 1; i < n - 1 && bytes > x[i]; i++)
			;
		x0 = x[i - 1];
		y0 = y[i - 1];
		x1 = x[i];
		y1 = y[i];
	}
	return y0 + (y1 - y0) * (bytes - x0) / (x1 - x0);
}

double
cluster_coll_time(const struct cluster *c, enum coll_kind k, double bytes,
    int group, int spans_nodes)
{
	double f, lat, bw;

	if (group <= 1)
		return 0;
	if (bytes < 0)
		bytes = 0;
	if (!spans_nodes && c->coll.n > 0 && group == c->coll.group)
		return table_time(c, k, bytes, group);
	lat = spans_nodes ? c->ib_lat : c->nvlink_lat;
	bw = spans_nodes ? c->ib_bw : c->nvlink_bw;
	f = (double)(group - 1) / group;
	if (k == COLL_ALLREDUCE)
		f *= 2;
	return (group - 1) * lat + f * bytes / bw;
}

const char *
cluster_coll_name(enum coll_kind k)
{
	return (unsigned)k < COLL_NKINDS ? coll_names[k] : "unknown";
}
