/*
 * Unit tests of profile: the JSON round trip (with nccl-tests' algbw and
 * busbw written beside each collective measurement), validation errors
 * that name the file and the JSON path, and profile_apply over a cluster.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "cluster.h"
#include "err.h"
#include "json.h"
#include "profile.h"
#include "tutil.h"

/* A profile of a 4-GPU machine with a three-row table and two
 * measurements. */
static void
sample(struct profile *p)
{
	static const double bytes[] = { 1048576, 4194304, 16777216 };
	static const double ag[] = { 31.5e-6, 47.25e-6, 118.5e-6 };
	static const double rs[] = { 33.25e-6, 49.5e-6, 121.75e-6 };
	static const double ar[] = { 52.5e-6, 90.75e-6, 230.5e-6 };
	int r;

	profile_init(p);
	strcpy(p->device, "NVIDIA H200");
	strcpy(p->backend, "cuda");
	strcpy(p->dtype, "fp32");
	strcpy(p->model, "Qwen2.5-7B");
	p->count = 4;
	p->peak_flops = 6.7e13;
	p->hbm_bw = 4.1e12;
	p->eff = (struct cluster_eff){ .gemm_max = 0.75, .gemm_half = 96.5,
	    .attn_max = 0.375, .attn_half = 612.25, .mem_eff = 0.875,
	    .launch = 4.25e-6 };
	p->coll.n = 3;
	p->coll.group = 4;
	for (r = 0; r < 3; r++) {
		p->coll.bytes[r] = bytes[r];
		p->coll.sec[COLL_ALLGATHER][r] = ag[r];
		p->coll.sec[COLL_REDUCESCATTER][r] = rs[r];
		p->coll.sec[COLL_ALLREDUCE][r] = ar[r];
	}
	p->fit[PROF_FIT_GEMM] = (struct profile_fit){ 24, 5.025e13, 1.5e11,
	    96.5, 3.25, 0.0375 };
	assert_int_equal(profile_add(p, PROF_GEMM, "qkv", 256, 3.7e12, 0.125),
	    SK_OK);
	assert_int_equal(profile_add(p, PROF_ALLREDUCE, "", 4194304, 4194304,
	    90.75e-6), SK_OK);
}

static void
test_roundtrip(void **state)
{
	struct profile p, q;
	const char *path = tutil_path("prof.json");
	cJSON *root, *m;
	double algbw;

	(void)state;
	sample(&p);
	assert_int_equal(profile_write(path, &p), SK_OK);
	profile_init(&q);
	assert_int_equal(profile_read(path, &q), SK_OK);
	assert_string_equal(q.device, "NVIDIA H200");
	assert_string_equal(q.backend, "cuda");
	assert_string_equal(q.model, "Qwen2.5-7B");
	assert_int_equal(q.count, 4);
	assert_true(q.peak_flops == p.peak_flops && q.hbm_bw == p.hbm_bw);
	assert_memory_equal(&q.eff, &p.eff, sizeof p.eff);
	assert_memory_equal(&q.coll, &p.coll, sizeof p.coll);
	assert_memory_equal(&q.fit, &p.fit, sizeof p.fit);
	assert_int_equal(q.nmeas, 2);
	assert_string_equal(q.meas[0].shape, "qkv");
	assert_int_equal(q.meas[1].kind, PROF_ALLREDUCE);
	assert_true(q.meas[1].sec == 90.75e-6);
	/* no shape recorded: none read back, and none matches */
	assert_int_equal(q.shape_known, 0);
	assert_int_equal(profile_shape_matches(&q, &p.shape), -1);

	/* a scaled-down shape, back as written and matched only by itself */
	assert_int_equal(model_preset("qwen2.5-7b", &p.shape), SK_OK);
	p.shape.hidden = 96;
	p.shape.heads = 12;
	p.shape.kv_heads = 4;
	p.shape.head_dim = 8;
	p.shape.layers = 5;
	p.shape_known = 1;
	assert_int_equal(profile_write(path, &p), SK_OK);
	assert_int_equal(profile_read(path, &q), SK_OK);
	assert_int_equal(q.shape_known, 1);
	assert_true(q.shape.hidden == 96 && q.shape.heads == 12 &&
	    q.shape.kv_heads == 4 && q.shape.head_dim == 8 &&
	    q.shape.layers == 5 && q.shape.ffn == 18944 &&
	    q.shape.vocab == 152064);
	assert_int_equal(profile_shape_matches(&q, &p.shape), 1);
	q.shape.ffn = 18943;
	assert_int_equal(profile_shape_matches(&p, &q.shape), 0);

	/* algbw = 4 MiB / 90.75 us; busbw = algbw x 2 (4 - 1) / 4 */
	assert_int_equal(json_load(path, &root), SK_OK);
	m = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "measurements"), 1);
	algbw = 4194304 / 90.75e-6;
	assert_float_equal(cJSON_GetObjectItem(m, "algbw")->valuedouble, algbw,
	    1e-6 * algbw);
	assert_float_equal(cJSON_GetObjectItem(m, "busbw")->valuedouble,
	    1.5 * algbw, 1e-6 * algbw);
	assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(
	    cJSON_GetObjectItem(root, "measurements"), 0), "algbw"));
	cJSON_Delete(root);
	profile_free(&q);
	profile_free(&p);
}

/* Each broken profile fails with a message naming where and what. */
static void
test_validate(void **state)
{
	struct profile p;

	(void)state;
	sample(&p);
	assert_int_equal(profile_validate(&p, "x.json"), SK_OK);

	p.eff.gemm_max = 1.5;
	assert_int_equal(profile_validate(&p, "x.json"), SK_ERR_RANGE);
	assert_string_equal(err_msg(), "x.json: efficiency.gemm_max: 1.5 is "
	    "not in (0, 1]");
	p.eff.gemm_max = 0.75;

	p.peak_flops = INFINITY;
	assert_int_equal(profile_validate(&p, "x.json"), SK_ERR_RANGE);
	assert_string_equal(err_msg(), "x.json: peak_flops: inf is not a "
	    "positive finite number");
	p.peak_flops = 6.7e13;

	p.eff.launch = -1e-6;
	assert_int_equal(profile_validate(&p, "x.json"), SK_ERR_RANGE);
	assert_non_null(strstr(err_msg(), "efficiency.launch: -1e-06"));
	p.eff.launch = 4.25e-6;

	p.coll.bytes[2] = 4194304;
	assert_int_equal(profile_validate(&p, "x.json"), SK_ERR_RANGE);
	assert_string_equal(err_msg(), "x.json: collectives.rows[2].bytes: "
	    "4194304 is not above rows[1]'s 4194304 (sizes must ascend "
	    "strictly)");
	p.coll.bytes[2] = 16777216;

	p.coll.sec[COLL_ALLREDUCE][1] = 45e-6;
	assert_int_equal(profile_validate(&p, "x.json"), SK_ERR_RANGE);
	assert_string_equal(err_msg(), "x.json: collectives.rows[1].allreduce: "
	    "4.5e-05 s is more than 10% below rows[0]'s 5.25e-05 s: latency "
	    "must not fall as the size grows (non-monotone curve)");
	p.coll.sec[COLL_ALLREDUCE][1] = 90.75e-6;

	p.coll.group = 1;
	assert_int_equal(profile_validate(&p, "x.json"), SK_ERR_RANGE);
	assert_non_null(strstr(err_msg(), "collectives.group: 1"));
	p.coll.group = 4;

	strcpy(p.backend, "rocm");
	assert_int_equal(profile_validate(&p, "x.json"), SK_ERR_RANGE);
	assert_non_null(strstr(err_msg(), "device.backend: \"rocm\""));
	strcpy(p.backend, "cuda");

	p.meas[0].sec = 0;
	assert_int_equal(profile_validate(&p, "x.json"), SK_ERR_RANGE);
	assert_non_null(strstr(err_msg(), "measurements[0].seconds: 0"));
	profile_free(&p);
}

/* Files: the format, version and member errors of profile_read. */
static void
test_read_errors(void **state)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "{\"format\":\"skrull-profile\",\"version\":3}",
		  "v.json: version: 3 is not supported (this skrull reads "
		  "versions 1 to 2)" },
		/* the shape is version 2's: in a version 1 file, refused */
		{ "{\"format\":\"skrull-profile\",\"version\":1,\"device\":"
		  "{\"name\":\"cpu\",\"backend\":\"cpu\",\"count\":1,"
		  "\"dtype\":\"fp32\"},\"shape\":{\"name\":\"Qwen2.5-0.5B\"},"
		  "\"peak_flops\":3e9,\"hbm_bw\":1e10,"
		  "\"efficiency\":{\"gemm_max\":1,\"gemm_half\":5,"
		  "\"attn_max\":0.5,\"attn_half\":40,\"mem_eff\":1,"
		  "\"launch\":1e-7}}",
		  "v.json: shape: not in version 1" },
		{ "{\"format\":\"skrull-profile\",\"version\":2,\"device\":"
		  "{\"name\":\"cpu\",\"backend\":\"cpu\",\"count\":1,"
		  "\"dtype\":\"fp32\"},\"shape\":{\"name\":\"Qwen2.5-0.5B\","
		  "\"heads\":0},\"peak_flops\":3e9,\"hbm_bw\":1e10,"
		  "\"efficiency\":{\"gemm_max\":1,\"gemm_half\":5,"
		  "\"attn_max\":0.5,\"attn_half\":40,\"mem_eff\":1,"
		  "\"launch\":1e-7}}",
		  "v.json: shape.heads" },
		{ "{\"format\":\"skrull-plan\",\"version\":1}",
		  "v.json: format: expected \"skrull-profile\"" },
		{ "{\"format\":\"skrull-profile\",\"version\":1,\"device\":"
		  "{\"name\":\"cpu\",\"backend\":\"cpu\",\"count\":1,"
		  "\"dtype\":\"fp32\"},\"peak_flops\":3e9,\"hbm_bw\":1e10,"
		  "\"efficiency\":{\"gemm_max\":1,\"gemm_half\":5,"
		  "\"attn_max\":0.5,\"attn_half\":40,\"mem_eff\":1,"
		  "\"launch\":1e-7},\"colectives\":null}",
		  "colectives" },
		{ "{\"format\":\"skrull-profile\",\"version\":1,\"device\":"
		  "{\"name\":\"cpu\",\"backend\":\"cpu\",\"count\":1,"
		  "\"dtype\":\"fp32\"},\"peak_flops\":3e9,\"hbm_bw\":1e10,"
		  "\"efficiency\":{\"gemm_max\":1,\"gemm_half\":5,"
		  "\"attn_max\":0,\"attn_half\":40,\"mem_eff\":1,"
		  "\"launch\":1e-7}}",
		  "v.json: efficiency.attn_max: 0 is not in (0, 1]" },
		{ "{\"format\":\"skrull-profile\",\"version\":1,\"device\":"
		  "{\"name\":\"cpu\",\"backend\":\"cpu\",\"count\":1,"
		  "\"dtype\":\"fp32\"},\"peak_flops\":3e9,\"hbm_bw\":1e10,"
		  "\"efficiency\":{\"gemm_max\":1,\"gemm_half\":5,"
		  "\"attn_max\":0.5,\"attn_half\":40,\"mem_eff\":1,"
		  "\"launch\":1e-7},\"measurements\":[{\"kind\":\"gemm\","
		  "\"x\":4,\"work\":1e6,\"seconds\":1e-3},{\"kind\":\"fft\","
		  "\"x\":4,\"work\":1e6,\"seconds\":1e-3}]}",
		  "v.json: measurements[1].kind: unknown kind \"fft\"" },
	};
	struct profile p;
	size_t i;

	(void)state;
	profile_init(&p);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		tutil_put("v.json", bad[i].text);
		assert_int_not_equal(profile_read(tutil_path("v.json"), &p), SK_OK);
		if (strstr(err_msg(), bad[i].msg) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err_msg(),
			    bad[i].msg);
	}
	profile_free(&p);
}

static void
test_apply(void **state)
{
	struct profile p;
	struct cluster c, h;

	(void)state;
	sample(&p);
	assert_int_equal(cluster_preset("h100", &h), SK_OK);
	c = h;
	profile_apply(&p, &c);
	assert_string_equal(c.gpu.name, "NVIDIA H200 (profile)");
	assert_true(c.gpu.peak_flops == 6.7e13 && c.gpu.hbm_bw == 4.1e12);
	assert_true(c.gpu.hbm_bytes == h.gpu.hbm_bytes);
	assert_memory_equal(&c.eff, &p.eff, sizeof c.eff);
	assert_int_equal(c.coll.n, 3);
	assert_int_equal(c.coll.group, 4);
	assert_true(c.coll.sec[COLL_ALLTOALL][1] == 47.25e-6);
	assert_true(c.coll.sec[COLL_ALLREDUCE][2] == 230.5e-6);
	assert_int_equal(cluster_validate(&c, "c"), SK_OK);
	/* at 4 MiB over the profile's group of 4: the table's row */
	assert_float_equal(cluster_coll_time(&c, COLL_ALLGATHER, 4194304, 4, 0),
	    47.25e-6, 1e-12);

	/* no table in the profile: the preset's (Table 5, group 8) stays */
	p.coll.n = 0;
	c = h;
	profile_apply(&p, &c);
	assert_int_equal(c.coll.n, h.coll.n);
	assert_int_equal(c.coll.group, 8);
	profile_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_read_errors),
		cmocka_unit_test(test_apply),
	};

	return cmocka_run_group_tests(tests, tutil_setup_tmp,
	    tutil_teardown_tmp);
}
