/*
 * Unit tests of job: the defaults (the paper's setting), validation, the
 * JSON form (written and read back identical) and job files from
 * tests/data/job/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "job.h"
#include "tutil.h"

#define GIB 1073741824.0

static int
from_text(const char *text, struct job *j)
{
	cJSON *obj = cJSON_Parse(text);
	int e;

	assert_non_null(obj);
	e = job_from_json(obj, "j.json", j);
	cJSON_Delete(obj);
	return e;
}

/* The JSON forms of two jobs are equal. */
static void
assert_same(const struct job *a, const struct job *b)
{
	cJSON *x = cJSON_CreateObject(), *y = cJSON_CreateObject();

	assert_int_equal(job_to_json(a, x), SK_OK);
	assert_int_equal(job_to_json(b, y), SK_OK);
	assert_true(cJSON_Compare(x, y, 1));
	cJSON_Delete(x);
	cJSON_Delete(y);
}

static void
test_defaults(void **state)
{
	struct job j;

	job_default(&j);
	assert_string_equal(j.model.name, "Qwen2.5-0.5B");
	assert_string_equal(j.cluster.name, "H100-SXM-80GB");
	assert_int_equal(cluster_gpus(&j.cluster), 32);
	assert_int_equal(j.dp, 4);
	assert_int_equal(j.cp, 8);
	assert_int_equal(j.batch, 64);
	assert_int_equal(j.zero, 2);
	assert_int_equal(j.recompute, RECOMPUTE_SELECTIVE);
	assert_int_equal(j.precision, PRECISION_BF16);
	assert_true(j.reserve == 4 * GIB);
	assert_int_equal(j.bucket_auto, 1);
	assert_int_equal(job_validate(&j, NULL), SK_OK);
}

static void
test_validate(void **state)
{
	struct job j, d;

	job_default(&d);
	j = d;
	j.cp = 4;
	assert_int_equal(job_validate(&j, NULL), SK_ERR_ARG);
	assert_string_equal(err_msg(), "job: dp 4 x cp 4 = 16 GPUs, but the "
	    "cluster has 4 x 8 = 32");
	j.cluster.nodes = 2;
	assert_int_equal(job_validate(&j, "--job x.json"), SK_OK);
	j = d;
	j.batch = 0;
	assert_int_equal(job_validate(&j, "job"), SK_ERR_ARG);
	assert_string_equal(err_msg(), "job: batch 0 is not in [1, 1000000]");
	j = d;
	j.zero = 4;
	assert_int_equal(job_validate(&j, "job"), SK_ERR_ARG);
	assert_string_equal(err_msg(), "job: zero 4 is not in [0, 3]");
	j = d;
	j.bucket_auto = 0;
	assert_int_equal(job_validate(&j, "job"), SK_ERR_ARG);
	assert_string_equal(err_msg(), "job: bucket must be at least 1 token or "
	    "auto");
	j.bucket = 26000;
	assert_int_equal(job_validate(&j, "job"), SK_OK);
	/* H100: 81559 MiB = 79.647... GiB */
	j.reserve = 80 * GIB;
	assert_int_equal(job_validate(&j, "job"), SK_ERR_ARG);
	assert_string_equal(err_msg(), "job: reserve 80.00 GiB is not in "
	    "[0, 79.65) GiB (the GPU's memory)");
	j = d;
	j.model.kv_heads = 3;
	assert_int_equal(job_validate(&j, "job"), SK_ERR_ARG);
	assert_string_equal(err_msg(), "job: model: heads 14 is not a multiple "
	    "of kv_heads 3");
}

static void
test_json_roundtrip(void **state)
{
	char path[1024], again[1040], a[8192], b[8192];
	struct job j, back;
	size_t na, nb;
	FILE *f;

	job_default(&j);
	assert_int_equal(model_preset("Qwen2.5-7B", &j.model), SK_OK);
	assert_int_equal(cluster_preset("h200", &j.cluster), SK_OK);
	j.cluster.nodes = 2;
	j.dp = 2;
	j.batch = 40;
	j.zero = 3;
	j.recompute = RECOMPUTE_FULL;
	j.precision = PRECISION_FP32;
	j.reserve = 2.5 * GIB;
	j.bucket_auto = 0;
	j.bucket = 13000;
	assert_int_equal(job_validate(&j, NULL), SK_OK);

	snprintf(path, sizeof path, "%s", tutil_path("job.json"));
	snprintf(again, sizeof again, "%s.2", path);
	assert_int_equal(job_write(path, &j), SK_OK);
	assert_int_equal(job_read(path, &back), SK_OK);
	assert_same(&j, &back);
	assert_string_equal(back.model.name, "Qwen2.5-7B");
	assert_int_equal(back.cluster.nodes, 2);
	assert_int_equal(back.cluster.coll.n, 0);
	assert_int_equal(back.batch, 40);
	assert_int_equal(back.zero, 3);
	assert_int_equal(back.recompute, RECOMPUTE_FULL);
	assert_int_equal(back.precision, PRECISION_FP32);
	assert_true(back.reserve == 2.5 * GIB);
	assert_int_equal(back.bucket_auto, 0);
	assert_int_equal(back.bucket, 13000);

	/* written again, byte for byte the same file */
	assert_int_equal(job_write(again, &back), SK_OK);
	f = fopen(path, "r");
	assert_non_null(f);
	na = fread(a, 1, sizeof a, f);
	fclose(f);
	f = fopen(again, "r");
	assert_non_null(f);
	nb = fread(b, 1, sizeof b, f);
	fclose(f);
	assert_true(na > 100 && na < sizeof a);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(unlink(again), 0);

	/* the defaults, with the measured table and bucket auto */
	job_default(&j);
	j.cluster.ib_lat = 7e-6;
	assert_int_equal(job_write(path, &j), SK_OK);
	assert_int_equal(job_read(path, &back), SK_OK);
	assert_same(&j, &back);
	assert_int_equal(back.bucket_auto, 1);
	assert_int_equal(back.cluster.coll.n, 10);
	assert_int_equal(unlink(path), 0);
}

static void
test_read_file(void **state)
{
	char want[2048];
	struct job j;

	assert_int_equal(job_read(tutil_data("tests/data/job/paper-7b.json"),
	    &j), SK_OK);
	assert_string_equal(j.model.name, "Qwen2.5-7B");
	assert_int_equal(j.model.ffn, 18944);
	assert_int_equal(j.dp, 2);
	assert_int_equal(j.cp, 16);
	assert_int_equal(j.batch, 40);
	assert_int_equal(j.bucket_auto, 0);
	assert_int_equal(j.bucket, 13000);
	/* not given: the defaults */
	assert_true(j.reserve == 4 * GIB);

	assert_int_equal(job_read(tutil_data("tests/data/job/mismatch.json"),
	    &j), SK_ERR_ARG);
	snprintf(want, sizeof want, "%s: dp 4 x cp 8 = 32 GPUs, but the "
	    "cluster has 2 x 8 = 16",
	    tutil_data("tests/data/job/mismatch.json"));
	assert_string_equal(err_msg(), want);
}

static void
test_json_errors(void **state)
{
	struct job j, keep;

	job_default(&j);
	keep = j;
	assert_int_equal(from_text("{\"format\":\"skrull-job\",\"version\":2}",
	    &j), SK_ERR_UNSUPPORTED);
	assert_int_equal(from_text("{\"version\":1}", &j), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "j.json: missing format");
	assert_int_equal(from_text("{\"format\":\"skrull-job\",\"version\":1,"
	    "\"bucket\":\"big\"}", &j), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "j.json: bucket: expected \"auto\" or a "
	    "number of tokens");
	assert_int_equal(from_text("{\"format\":\"skrull-job\",\"version\":1,"
	    "\"bucket\":0}", &j), SK_ERR_RANGE);
	assert_string_equal(err_msg(), "j.json: bucket: 0 is not in "
	    "[1, 4294967295]");
	assert_int_equal(from_text("{\"format\":\"skrull-job\",\"version\":1,"
	    "\"recompute\":\"most\"}", &j), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "j.json: recompute: unknown value 'most' "
	    "(none, selective, full)");
	assert_int_equal(from_text("{\"format\":\"skrull-job\",\"version\":1,"
	    "\"model\":{\"name\":\"qwen-7b\",\"heads\":0}}", &j), SK_ERR_RANGE);
	assert_string_equal(err_msg(), "j.json: model.heads: 0 is not in "
	    "[1, 16384]");
	assert_int_equal(from_text("{\"format\":\"skrull-job\",\"version\":1,"
	    "\"cluster\":{\"gpu\":{\"hbm_bytes\":\"80GB\"}}}", &j), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "j.json: cluster.gpu.hbm_bytes: expected "
	    "a number");
	assert_int_equal(from_text("{\"format\":\"skrull-job\",\"version\":1,"
	    "\"dp\":4,\"cp\":8,\"batch\":64,\"zero\":1,\"precision\":\"fp16\","
	    "\"reserve\":1e9}", &j), SK_OK);
	assert_int_equal(j.zero, 1);
	assert_int_equal(j.precision, PRECISION_FP16);
	assert_true(j.reserve == 1e9);
	j.zero = keep.zero;
	j.precision = keep.precision;
	j.reserve = keep.reserve;
	assert_same(&j, &keep);
}

static void
test_names(void **state)
{
	enum recompute r = RECOMPUTE_NONE;
	enum precision p = PRECISION_BF16;

	assert_int_equal(job_recompute_parse("Full", &r), SK_OK);
	assert_int_equal(r, RECOMPUTE_FULL);
	assert_string_equal(job_recompute_name(RECOMPUTE_SELECTIVE), "selective");
	assert_int_equal(job_recompute_parse("some", &r), SK_ERR_ARG);
	assert_string_equal(err_msg(), "unknown recompute mode 'some' (none, "
	    "selective, full)");
	assert_int_equal(job_precision_parse("fp32", &p), SK_OK);
	assert_int_equal(p, PRECISION_FP32);
	assert_string_equal(job_precision_name(PRECISION_FP16), "fp16");
	assert_int_equal(job_precision_parse("int8", &p), SK_ERR_ARG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_json_roundtrip),
		cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_json_errors),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, tutil_setup_tmp,
	    tutil_teardown_tmp);
}
