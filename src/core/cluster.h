/*
 * cluster: the GPUs and links a job runs on: GPU kind (peak dense bf16
 * FLOP/s, HBM bytes and bandwidth), nodes x GPUs per node, NVLink and
 * InfiniBand bandwidth and latency, and an optional measured table of
 * collective latencies.  Presets from vendor datasheets; JSON overrides
 * every field (skrull-job(5)).
 *
 * Units: bytes, bytes per second, seconds, FLOP/s.
 */
#ifndef SKRULL_CLUSTER_H
#define SKRULL_CLUSTER_H

#include <cjson/cJSON.h>

#define CLUSTER_NAME_MAX 64
#define CLUSTER_COLL_MAX 32  /* rows of a collective table */

enum coll_kind {
	COLL_ALLGATHER = 0,
	COLL_ALLTOALL,
	COLL_REDUCESCATTER,
	COLL_ALLREDUCE,
	COLL_NKINDS
};

/*
 * Measured collective latency against message size, as nccl-tests reports
 * it (size = the whole buffer: the gathered output of an all-gather, the
 * input of a reduce-scatter), for a group of `group` GPUs inside one node.
 * Interpolated piecewise-linearly in size; see cluster_coll_time.
 */
struct coll_table {
	int n;                                   /* rows, 0 = no table */
	int group;                               /* GPUs in the measured group */
	double bytes[CLUSTER_COLL_MAX];          /* ascending, bytes */
	double sec[COLL_NKINDS][CLUSTER_COLL_MAX];  /* latency, seconds */
};

struct gpu {
	char name[CLUSTER_NAME_MAX];
	double peak_flops;  /* dense bf16 tensor-core FLOP/s */
	double hbm_bytes;   /* device memory as the driver reports it, bytes */
	double hbm_bw;      /* HBM bandwidth, bytes/s */
};

/*
 * How fast kernels run on the GPU, for the simulator (sim/ops.h).  A
 * kernel takes max(FLOPs / (peak x eff), bytes / (hbm_bw x mem_eff)) +
 * launch seconds, with eff a saturating curve x / (x + half) x max of the
 * GEMM's token count or attention's key length.  Defaults come from
 * published measurements cited in cluster.c; a calibration profile
 * replaces them.
 */
struct cluster_eff {
	double gemm_max;   /* fraction of peak a large bf16 GEMM reaches */
	double gemm_half;  /* GEMM rows (tokens) at which it reaches half */
	double attn_max;   /* fraction of peak of causal FlashAttention, long keys */
	double attn_half;  /* key length, tokens, at which it reaches half */
	double mem_eff;    /* fraction of HBM bandwidth a streaming kernel reaches */
	double launch;     /* fixed cost of one kernel, seconds */
};

struct cluster {
	char name[CLUSTER_NAME_MAX];
	struct gpu gpu;
	struct cluster_eff eff;
	int nodes;
	int gpus_per_node;
	double nvlink_bw;   /* per GPU, one direction, bytes/s */
	double nvlink_lat;  /* per hop, seconds */
	double ib_bw;       /* per GPU, one direction, bytes/s */
	double ib_lat;      /* per hop, seconds */
	struct coll_table coll;
};

/* Presets: "H100-SXM-80GB" (alias "h100"), "H200-141GB" ("h200"),
 * "A100-SXM-80GB" ("a100"); 4 nodes x 8 GPUs unless changed. */
int cluster_preset(const char *name, struct cluster *c);

/* A preset name, else a JSON file (a bare cluster object, or an object
 * with a "cluster" member such as a job file) applied over *c. */
int cluster_resolve(const char *name_or_path, struct cluster *c);

/* Apply obj over *c: every member is optional and overrides; a "name"
 * that names a preset first restarts from that preset; "collectives":
 * null removes the table.  *c is changed only on success. */
int cluster_from_json(const cJSON *obj, const char *where, struct cluster *c);
int cluster_to_json(const struct cluster *c, cJSON *obj);
int cluster_validate(const struct cluster *c, const char *where);
int cluster_preset_count(void);
const char *cluster_preset_name(int i);
const char *const *cluster_preset_aliases(int i);  /* NULL-terminated */

static inline int
cluster_gpus(const struct cluster *c)
{
	return c->nodes * c->gpus_per_node;
}

/*
 * Time in seconds of collective k over `group` GPUs moving `bytes` (the
 * nccl-tests size).  `spans_nodes` says whether the group crosses nodes.
 * Inside a node with a table measured for this group size (coll.group):
 * piecewise-linear interpolation in bytes, extrapolated beyond the last
 * row with the last segment's slope, and below the first row linearly
 * down to the ring latency floor (group - 1) x nvlink_lat at 0 bytes.
 * Otherwise (no table, another group size, or across nodes): the ring
 * model (group - 1) x lat + f x bytes / bw with f = (group - 1) / group
 * (2f for all-reduce), on NVLink or InfiniBand.  group 1 costs 0.
 */
double cluster_coll_time(const struct cluster *c, enum coll_kind k,
                         double bytes, int group, int spans_nodes);

const char *cluster_coll_name(enum coll_kind k);

/*
 * The efficiency object and the collective table in JSON, one reader,
 * writer and check for both files that hold them: cluster JSON
 * (skrull-job(5)) and calibration profiles (skrull-profile(5)).
 *
 * kinds: the collectives a table's rows carry, a mask of 1 << enum
 * coll_kind (CLUSTER_COLL_ALL in cluster JSON; a profile has no
 * all-to-all); only those are read, written and checked.
 *
 * Reading checks the members (no unknown one; numbers finite) and copies
 * them; the ranges are the validators', whose messages name the JSON path
 * under where ("FILE: efficiency.gemm_max: 1.5 is not in (0, 1]").
 */
#define CLUSTER_COLL_ALL ((1u << COLL_NKINDS) - 1)

/* obj is the "efficiency" object, named where.  partial: a member may be
 * absent and keeps *f's value (cluster JSON overrides); else all six are
 * required. */
int cluster_eff_from_json(const cJSON *obj, const char *where, int partial,
                          struct cluster_eff *f);
/* Add f as the member "efficiency" of obj. */
int cluster_eff_to_json(const struct cluster_eff *f, cJSON *obj);
/* Fractions in (0, 1]; half-lengths in (0, 1e9] tokens; launch in (0, 1]
 * seconds.  SK_ERR_RANGE. */
int cluster_eff_validate(const struct cluster_eff *f, const char *where);

/* obj is the "collectives" object, named where: "group" and "rows" of
 * "bytes" and the kinds' latencies.  *t is written. */
int cluster_coll_from_json(const cJSON *obj, const char *where,
                           unsigned kinds, struct coll_table *t);
/* Add t as the member "collectives" of obj: null when t has no rows. */
int cluster_coll_to_json(const struct coll_table *t, unsigned kinds,
                         cJSON *obj);
/* No rows (no table), or 1 to CLUSTER_COLL_MAX rows for a group of 2 to
 * 1024 GPUs; sizes in [1, 1e15] bytes, strictly ascending; latencies in
 * [1e-9, 1e3] seconds, none more than 10% below the previous row's
 * (measurement noise, as Table 5 has, not more).  SK_ERR_RANGE. */
int cluster_coll_validate(const struct coll_table *t, unsigned kinds,
                          const char *where);

#endif
