/*
 * Unit tests of cluster: presets, the collective-time model (table
 * interpolation and the ring model, worked by hand), the JSON form with
 * partial overrides, and table validation; the efficiency and
 * collective-table JSON shared with calibration profiles.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cluster.h"
#include "err.h"
#include "tutil.h"

#define MIB 1048576.0

/* Microseconds, to 1e-9 us: the arithmetic is exact to far better. */
#define assert_us(sec, us) assert_near((sec) * 1e6, (us), 1e-9)

static int
apply(const char *text, struct cluster *c)
{
	cJSON *obj = cJSON_Parse(text);
	int e;

	assert_non_null(obj);
	e = cluster_from_json(obj, "c.json", c);
	cJSON_Delete(obj);
	return e;
}

static void
test_presets(void **state)
{
	struct cluster c;
	int i;

	assert_int_equal(cluster_preset_count(), 3);
	assert_int_equal(cluster_preset("h100", &c), SK_OK);
	assert_string_equal(c.name, "H100-SXM-80GB");
	assert_true(c.gpu.peak_flops == 989.4e12);
	/* 81559 MiB */
	assert_true(c.gpu.hbm_bytes == 85520809984.0);
	assert_true(c.gpu.hbm_bw == 3.35e12);
	assert_int_equal(c.nodes, 4);
	assert_int_equal(c.gpus_per_node, 8);
	assert_int_equal(cluster_gpus(&c), 32);
	assert_true(c.nvlink_bw == 450e9);
	assert_true(c.ib_bw == 50e9);
	assert_int_equal(c.coll.n, 10);
	assert_int_equal(c.coll.group, 8);
	assert_true(c.coll.bytes[0] == 2 * MIB);
	assert_true(c.coll.bytes[9] == 1024 * MIB);
	assert_us(c.coll.sec[COLL_ALLREDUCE][9], 12126);

	assert_int_equal(cluster_preset("H200", &c), SK_OK);
	assert_string_equal(c.name, "H200-141GB");
	assert_true(c.gpu.hbm_bytes == 143771 * MIB);
	assert_true(c.gpu.hbm_bw == 4.8e12);
	assert_int_equal(c.coll.n, 0);
	assert_int_equal(cluster_preset("a100-sxm-80gb", &c), SK_OK);
	assert_true(c.gpu.peak_flops == 312e12);
	assert_true(c.gpu.hbm_bytes == 81920 * MIB);
	assert_true(c.nvlink_bw == 300e9);
	assert_true(c.ib_bw == 25e9);

	for (i = 0; i < cluster_preset_count(); i++) {
		assert_int_equal(cluster_preset(cluster_preset_name(i), &c), SK_OK);
		/* the H100 table passes despite Table 5's all-to-all dip */
		assert_int_equal(cluster_validate(&c, NULL), SK_OK);
		assert_non_null(cluster_preset_aliases(i)[0]);
	}
	assert_int_equal(cluster_preset("v100", &c), SK_ERR_ARG);
	assert_string_equal(err_msg(), "unknown cluster 'v100' (presets: "
	    "H100-SXM-80GB, H200-141GB, A100-SXM-80GB)");
	assert_string_equal(cluster_coll_name(COLL_REDUCESCATTER),
	    "reducescatter");
}

static void
test_table(void **state)
{
	struct cluster c;

	assert_int_equal(cluster_preset("h100", &c), SK_OK);
	/* 3 MiB, halfway between the 2 and 4 MiB rows:
	 * 53.29 + (72.52 - 53.29) / 2 = 62.905 us */
	assert_us(cluster_coll_time(&c, COLL_ALLGATHER, 3 * MIB, 8, 0), 62.905);
	/* on a row */
	assert_us(cluster_coll_time(&c, COLL_REDUCESCATTER, 128 * MIB, 8, 0),
	    864.3);
	/* 48 MiB, halfway from 32 to 64: 277.5 + (502.4 - 277.5) / 2 */
	assert_us(cluster_coll_time(&c, COLL_ALLTOALL, 48 * MIB, 8, 0), 389.95);
	/* below the first row: the line from the floor 7 x 3 us = 21 us at
	 * 0 bytes to 53.29 us at 2 MiB; 1 MiB is halfway: 37.145 us */
	assert_us(cluster_coll_time(&c, COLL_ALLGATHER, 1 * MIB, 8, 0), 37.145);
	assert_us(cluster_coll_time(&c, COLL_ALLGATHER, 0, 8, 0), 21);
	/* beyond the last row, the last segment's slope:
	 * 6467.9 + (6467.9 - 3416.4) x (2048 - 1024) / 512 = 12570.9 us */
	assert_us(cluster_coll_time(&c, COLL_ALLGATHER, 2048 * MIB, 8, 0),
	    12570.9);
	/* all-reduce at 1280 MiB, half a segment (512 MiB) on:
	 * 12126 + (12126 - 6181.2) / 2 = 15098.4 us */
	assert_us(cluster_coll_time(&c, COLL_ALLREDUCE, 1280 * MIB, 8, 0),
	    15098.4);
	assert_true(cluster_coll_time(&c, COLL_ALLGATHER, 3 * MIB, 1, 0) == 0);
}

static void
test_ring(void **state)
{
	struct cluster c;

	/* H200: no table.  8 GPUs in a node, 16 MiB all-gather:
	 * 7 x 3 us + 7/8 x 16777216 / 450e9 s = 21 + 32.62236444... us */
	assert_int_equal(cluster_preset("h200", &c), SK_OK);
	assert_us(cluster_coll_time(&c, COLL_ALLGATHER, 16 * MIB, 8, 0),
	    21 + 14680064 / 450e9 * 1e6);
	assert_near(cluster_coll_time(&c, COLL_ALLGATHER, 16 * MIB, 8, 0) * 1e6,
	    53.622364, 1e-6);
	/* H100 across nodes, 16 GPUs, 16 MiB all-reduce (2f = 30/16):
	 * 15 x 5 us + 1.875 x 16777216 / 50e9 s = 75 + 629.1456 us */
	assert_int_equal(cluster_preset("h100", &c), SK_OK);
	assert_us(cluster_coll_time(&c, COLL_ALLREDUCE, 16 * MIB, 16, 1),
	    704.1456);
	/* a group other than the table's, inside a node: the ring on NVLink,
	 * 4 GPUs, 4 MiB reduce-scatter: 3 x 3 us + 3/4 x 4194304 / 450e9 s
	 * = 9 + 6.990506666... us */
	assert_us(cluster_coll_time(&c, COLL_REDUCESCATTER, 4 * MIB, 4, 0),
	    9 + 3145728 / 450e9 * 1e6);
	/* A100, 2 GPUs, all-to-all of 1 MB (10^6 bytes): 3 us + 1/2 x 1e6 /
	 * 300e9 s = 3 + 1.666... us */
	assert_int_equal(cluster_preset("a100", &c), SK_OK);
	assert_near(cluster_coll_time(&c, COLL_ALLTOALL, 1e6, 2, 0) * 1e6,
	    3 + 5.0 / 3, 1e-9);
}

static void
test_override(void **state)
{
	struct cluster c, p;

	/* partial: only the named fields change */
	assert_int_equal(cluster_preset("h100", &c), SK_OK);
	assert_int_equal(apply("{\"nodes\": 2, \"ib_bw\": 25e9, \"gpu\": "
	    "{\"hbm_bw\": 3e12}}", &c), SK_OK);
	assert_int_equal(cluster_preset("h100", &p), SK_OK);
	assert_int_equal(c.nodes, 2);
	assert_true(c.ib_bw == 25e9);
	assert_true(c.gpu.hbm_bw == 3e12);
	assert_true(c.gpu.peak_flops == p.gpu.peak_flops);
	assert_string_equal(c.name, p.name);
	assert_int_equal(c.coll.n, 10);
	/* a preset's name restarts from the preset */
	assert_int_equal(apply("{\"name\": \"h200\", \"gpus_per_node\": 4}", &c),
	    SK_OK);
	assert_string_equal(c.name, "H200-141GB");
	assert_int_equal(c.nodes, 4);
	assert_int_equal(c.gpus_per_node, 4);
	assert_true(c.ib_bw == 50e9);
	/* null removes a table; another name keeps the rest */
	assert_int_equal(cluster_preset("h100", &c), SK_OK);
	assert_int_equal(apply("{\"name\": \"lab\", \"collectives\": null}", &c),
	    SK_OK);
	assert_string_equal(c.name, "lab");
	assert_int_equal(c.coll.n, 0);
	assert_true(c.gpu.peak_flops == 989.4e12);
	/* a table of one's own: two rows, seconds */
	assert_int_equal(apply("{\"collectives\": {\"group\": 4, \"rows\": ["
	    "{\"bytes\": 1e6, \"allgather\": 2e-5, \"alltoall\": 3e-5, "
	    "\"reducescatter\": 2e-5, \"allreduce\": 4e-5},"
	    "{\"bytes\": 2e6, \"allgather\": 3e-5, \"alltoall\": 4e-5, "
	    "\"reducescatter\": 3e-5, \"allreduce\": 6e-5}]}}", &c), SK_OK);
	assert_int_equal(c.coll.n, 2);
	assert_int_equal(c.coll.group, 4);
	/* 1.5e6 bytes: 40 + (60 - 40) / 2 = 50 us */
	assert_us(cluster_coll_time(&c, COLL_ALLREDUCE, 1.5e6, 4, 0), 50);
}

static void
test_roundtrip(void **state)
{
	struct cluster c, back;
	cJSON *obj;
	int i;

	for (i = 0; i < cluster_preset_count(); i++) {
		assert_int_equal(cluster_preset(cluster_preset_name(i), &c), SK_OK);
		c.nodes = 3;
		obj = cJSON_CreateObject();
		assert_int_equal(cluster_to_json(&c, obj), SK_OK);
		/* start from another preset: every field must come back */
		assert_int_equal(cluster_preset(i == 0 ? "a100" : "h100", &back),
		    SK_OK);
		assert_int_equal(cluster_from_json(obj, "rt", &back), SK_OK);
		assert_memory_equal(&c, &back, sizeof c);
		cJSON_Delete(obj);
	}
}

static void
test_errors(void **state)
{
	struct cluster c, keep;

	assert_int_equal(cluster_preset("h100", &c), SK_OK);
	keep = c;
	/* all-to-all falls from 30 us to 20 us: more than the 10% allowed */
	assert_int_equal(apply("{\"collectives\": {\"group\": 8, \"rows\": ["
	    "{\"bytes\": 1048576, \"allgather\": 2e-5, \"alltoall\": 3e-5, "
	    "\"reducescatter\": 2e-5, \"allreduce\": 4e-5},"
	    "{\"bytes\": 2097152, \"allgather\": 3e-5, \"alltoall\": 2e-5, "
	    "\"reducescatter\": 3e-5, \"allreduce\": 6e-5}]}}", &c), SK_ERR_RANGE);
	assert_string_equal(err_msg(), "c.json: collectives.rows[1].alltoall: "
	    "2e-05 s is more than 10% below rows[0]'s 3e-05 s: latency must not "
	    "fall as the size grows (non-monotone curve)");
	assert_memory_equal(&c, &keep, sizeof c);
	assert_int_equal(apply("{\"collectives\": {\"group\": 8, \"rows\": ["
	    "{\"bytes\": 2e6, \"allgather\": 2e-5, \"alltoall\": 3e-5, "
	    "\"reducescatter\": 2e-5, \"allreduce\": 4e-5},"
	    "{\"bytes\": 1e6, \"allgather\": 3e-5, \"alltoall\": 4e-5, "
	    "\"reducescatter\": 3e-5, \"allreduce\": 6e-5}]}}", &c), SK_ERR_RANGE);
	assert_string_equal(err_msg(), "c.json: collectives.rows[1].bytes: "
	    "1000000 is not above rows[0]'s 2000000 (sizes must ascend "
	    "strictly)");
	assert_int_equal(apply("{\"collectives\": {\"group\": 8, \"rows\": ["
	    "{\"bytes\": 2e6, \"allgather\": 2e-5, \"alltoall\": 3e-5, "
	    "\"allreduce\": 4e-5}]}}", &c), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "c.json: collectives.rows[0]: missing "
	    "reducescatter");
	assert_int_equal(apply("{\"gpu\": {\"hbm_bw\": 3.35}}", &c),
	    SK_ERR_RANGE);
	assert_string_equal(err_msg(), "c.json: gpu.hbm_bw: 3.35 is not in "
	    "[1e+06, 1e+15]");
	assert_int_equal(apply("{\"nodes\": 0}", &c), SK_ERR_RANGE);
	assert_string_equal(err_msg(), "c.json: nodes: 0 is not in [1, 100000]");
	assert_int_equal(apply("{\"ib_latency\": 1e-6}", &c), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "c.json: unknown member 'ib_latency'");
	assert_int_equal(apply("{\"collectives\": 8}", &c), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "c.json: collectives: expected an object "
	    "or null");
	assert_memory_equal(&c, &keep, sizeof c);
}

static void
test_resolve(void **state)
{
	const char *path;
	struct cluster c;

	path = tutil_put("cluster.json",
	    "{\"cluster\": {\"name\": \"a100\", \"nodes\": 16}}\n");
	assert_int_equal(cluster_preset("h200", &c), SK_OK);
	assert_int_equal(cluster_resolve(path, &c), SK_OK);
	assert_string_equal(c.name, "A100-SXM-80GB");
	assert_int_equal(cluster_gpus(&c), 128);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(cluster_resolve("h100", &c), SK_OK);
	assert_int_equal(c.nodes, 4);
	assert_int_equal(cluster_resolve(path, &c), SK_ERR_ARG);
}

/* The shared efficiency JSON: partial (cluster) and whole (profile)
 * reading, writing, and one validation with JSON paths. */
static void
test_eff_json(void **state)
{
	struct cluster_eff f, g;
	struct cluster c;
	cJSON *obj, *root;

	(void)state;
	assert_int_equal(cluster_preset("h100", &c), SK_OK);
	f = c.eff;
	obj = cJSON_Parse("{\"gemm_max\": 0.5, \"launch\": 2e-6}");
	assert_non_null(obj);
	assert_int_equal(cluster_eff_from_json(obj, "e.json: efficiency", 1, &f),
	    SK_OK);
	assert_true(f.gemm_max == 0.5 && f.launch == 2e-6);
	assert_true(f.attn_half == c.eff.attn_half);
	/* Whole: a member missing is an error and *f is kept. */
	g = c.eff;
	assert_int_equal(cluster_eff_from_json(obj, "e.json: efficiency", 0, &g),
	    SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "e.json: efficiency: missing gemm_half");
	assert_memory_equal(&g, &c.eff, sizeof g);
	cJSON_Delete(obj);

	assert_non_null(root = cJSON_CreateObject());
	assert_int_equal(cluster_eff_to_json(&f, root), SK_OK);
	g = c.eff;
	assert_int_equal(cluster_eff_from_json(cJSON_GetObjectItem(root,
	    "efficiency"), "rt", 0, &g), SK_OK);
	assert_memory_equal(&g, &f, sizeof g);
	cJSON_Delete(root);

	assert_int_equal(cluster_eff_validate(&f, "e.json"), SK_OK);
	f.mem_eff = 0;
	assert_int_equal(cluster_eff_validate(&f, "e.json"), SK_ERR_RANGE);
	assert_string_equal(err_msg(), "e.json: efficiency.mem_eff: 0 is not in "
	    "(0, 1]");
	f.mem_eff = 0.8;
	f.gemm_half = 0;
	assert_int_equal(cluster_eff_validate(&f, "e.json"), SK_ERR_RANGE);
	assert_string_equal(err_msg(), "e.json: efficiency.gemm_half: 0 is not a "
	    "positive finite number");
	f.gemm_half = 128;
	f.launch = 5;
	assert_int_equal(cluster_eff_validate(&f, "e.json: cluster"),
	    SK_ERR_RANGE);
	assert_string_equal(err_msg(), "e.json: cluster.efficiency.launch: 5 is "
	    "not in (0, 1]");
	/* A cluster JSON gets the same check. */
	assert_int_equal(apply("{\"efficiency\": {\"launch\": 0}}", &c),
	    SK_ERR_RANGE);
	assert_string_equal(err_msg(), "c.json: efficiency.launch: 0 is not a "
	    "positive finite number");
}

/* The shared collective table: the kinds a file's rows carry, reading,
 * writing and one validation with JSON paths. */
static void
test_coll_json(void **state)
{
	const unsigned three = 1u << COLL_ALLGATHER | 1u << COLL_REDUCESCATTER |
	    1u << COLL_ALLREDUCE;
	struct coll_table t, u;
	cJSON *obj, *root;

	(void)state;
	obj = cJSON_Parse("{\"group\": 4, \"rows\": ["
	    "{\"bytes\": 1024, \"allgather\": 1e-5, \"reducescatter\": 1e-5, "
	    "\"allreduce\": 2e-5},"
	    "{\"bytes\": 4096, \"allgather\": 0.95e-5, \"reducescatter\": 1.5e-5, "
	    "\"allreduce\": 3e-5}]}");
	assert_non_null(obj);
	assert_int_equal(cluster_coll_from_json(obj, "p.json: collectives",
	    three, &t), SK_OK);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.group, 4);
	assert_true(t.sec[COLL_ALLREDUCE][1] == 3e-5);
	/* A 5% dip is noise; every row needs all-to-all in cluster JSON. */
	assert_int_equal(cluster_coll_validate(&t, three, "p.json"), SK_OK);
	assert_int_equal(cluster_coll_from_json(obj, "c.json: collectives",
	    CLUSTER_COLL_ALL, &u), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "c.json: collectives.rows[0]: missing "
	    "alltoall");
	cJSON_Delete(obj);

	assert_non_null(root = cJSON_CreateObject());
	assert_int_equal(cluster_coll_to_json(&t, three, root), SK_OK);
	assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(root, "collectives"), "rows"), 0), "alltoall"));
	memset(&u, 0, sizeof u);
	assert_int_equal(cluster_coll_from_json(cJSON_GetObjectItem(root,
	    "collectives"), "rt", three, &u), SK_OK);
	assert_memory_equal(&u, &t, sizeof u);
	cJSON_Delete(root);

	/* No rows: null. */
	memset(&u, 0, sizeof u);
	assert_int_equal(cluster_coll_validate(&u, three, "p.json"), SK_OK);
	assert_non_null(root = cJSON_CreateObject());
	assert_int_equal(cluster_coll_to_json(&u, three, root), SK_OK);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(root, "collectives")));
	cJSON_Delete(root);

	t.group = 1;
	assert_int_equal(cluster_coll_validate(&t, three, "p.json"),
	    SK_ERR_RANGE);
	assert_string_equal(err_msg(), "p.json: collectives.group: 1, a table "
	    "needs a group of 2 to 1024");
	t.group = 4;
	t.sec[COLL_REDUCESCATTER][0] = 2e3;
	assert_int_equal(cluster_coll_validate(&t, three, "p.json"),
	    SK_ERR_RANGE);
	assert_string_equal(err_msg(), "p.json: collectives.rows[0]."
	    "reducescatter: 2000 is not in [1e-09, 1000]");
	t.sec[COLL_REDUCESCATTER][0] = 1e-5;
	t.sec[COLL_ALLREDUCE][1] = 1.7e-5;
	assert_int_equal(cluster_coll_validate(&t, three, "p.json"),
	    SK_ERR_RANGE);
	assert_string_equal(err_msg(), "p.json: collectives.rows[1].allreduce: "
	    "1.7e-05 s is more than 10% below rows[0]'s 2e-05 s: latency must "
	    "not fall as the size grows (non-monotone curve)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_presets),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_ring),
		cmocka_unit_test(test_override),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_eff_json),
		cmocka_unit_test(test_coll_json),
	};

	return cmocka_run_group_tests(tests, tutil_setup_tmp,
	    tutil_teardown_tmp);
}
