/*
 * Unit tests of job: the defaults (the paper's setting), validation, the
 * JSON form (written and read back identical), the optional schedule and
 * kernel choices, and job files from tests/data/job/.
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
	assert_int_equal(j.kernels, 0);
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
	j = d;
	j.kernels = KERNEL_ALL;
	assert_int_equal(job_validate(&j, "job"), SK_OK);
	j.kernels = 1u << KERNEL_COUNT | KERNEL_FUSED_CE;
	assert_int_equal(job_validate(&j, "job"), SK_ERR_ARG);
	assert_string_equal(err_msg(), "job: kernels: unknown flags 0x4");
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

	assert_int_equal(job_read(tutil_data("tests/data/job/schedule.json"),
	    &j), SK_OK);
	assert_string_equal(j.policy, "deepspeed");
	assert_int_equal(j.nknobs, 4);
	assert_string_equal(j.knobs[0].name, "mb-samples");
	assert_string_equal(j.knobs[0].value, "1");
	assert_string_equal(j.knobs[3].name, "drop-overlong");
	assert_string_equal(j.knobs[3].value, "on");
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

#define HEAD "{\"format\":\"skrull-job\",\"version\":1,"

static void
test_schedule(void **state)
{
	struct job j, back;
	cJSON *obj, *s;
	char *text;

	/* none by default, and none written */
	job_default(&j);
	assert_string_equal(j.policy, "");
	assert_int_equal(j.nknobs, 0);
	obj = cJSON_CreateObject();
	assert_int_equal(job_to_json(&j, obj), SK_OK);
	assert_null(cJSON_GetObjectItemCaseSensitive(obj, "schedule"));
	cJSON_Delete(obj);

	/* strings, integers and booleans, kept in the file's order */
	assert_int_equal(from_text(HEAD "\"schedule\":{\"policy\":\"dacp\","
	    "\"knobs\":{\"rollback\":false,\"mb-samples\":3,"
	    "\"binpack\":\"none\",\"seed\":9007199254740992,"
	    "\"mb-tokens\":-5}}}", &j), SK_OK);
	assert_string_equal(j.policy, "dacp");
	assert_int_equal(j.nknobs, 5);
	assert_string_equal(j.knobs[0].name, "rollback");
	assert_string_equal(j.knobs[0].value, "off");
	assert_string_equal(j.knobs[1].name, "mb-samples");
	assert_string_equal(j.knobs[1].value, "3");
	assert_string_equal(j.knobs[2].value, "none");
	/* 2^53, the largest integer written from a number */
	assert_string_equal(j.knobs[3].value, "9007199254740992");
	/* core does not judge values: the scheduler does */
	assert_string_equal(j.knobs[4].value, "-5");

	/* written as strings, read back the same */
	obj = cJSON_CreateObject();
	assert_int_equal(job_to_json(&j, obj), SK_OK);
	s = cJSON_GetObjectItemCaseSensitive(obj, "schedule");
	text = cJSON_PrintUnformatted(s);
	assert_string_equal(text, "{\"policy\":\"dacp\",\"knobs\":{"
	    "\"rollback\":\"off\",\"mb-samples\":\"3\",\"binpack\":\"none\","
	    "\"seed\":\"9007199254740992\",\"mb-tokens\":\"-5\"}}");
	cJSON_free(text);
	job_default(&back);
	assert_int_equal(job_from_json(obj, "again.json", &back), SK_OK);
	cJSON_Delete(obj);
	assert_same(&j, &back);

	/* a file's schedule replaces the one before; a policy alone is fine */
	assert_int_equal(from_text(HEAD "\"schedule\":{\"policy\":"
	    "\"deepspeed\"}}", &j), SK_OK);
	assert_string_equal(j.policy, "deepspeed");
	assert_int_equal(j.nknobs, 0);
	/* a file without one keeps it (members left out keep their value) */
	assert_int_equal(from_text(HEAD "\"batch\":8}", &j), SK_OK);
	assert_string_equal(j.policy, "deepspeed");
}

static void
test_schedule_errors(void **state)
{
	struct job j, keep;
	char text[2048];
	size_t n;
	int i;

	job_default(&j);
	keep = j;
	assert_int_equal(from_text(HEAD "\"schedule\":{\"knobs\":{}}}", &j),
	    SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "j.json: schedule: missing policy");
	assert_int_equal(from_text(HEAD "\"schedule\":{\"policy\":\"\"}}",
	    &j), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "j.json: schedule.policy: policy '' is "
	    "not 1 to 31 characters");
	assert_int_equal(from_text(HEAD "\"schedule\":{\"policy\":\"rr\","
	    "\"knob\":{}}}", &j), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "j.json: schedule: unknown member 'knob'");
	assert_int_equal(from_text(HEAD "\"schedule\":\"rr\"}", &j),
	    SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "j.json: schedule: expected a JSON "
	    "object");
	/* 32 characters: one more than a name holds */
	assert_int_equal(from_text(HEAD "\"schedule\":{\"policy\":\"rr\","
	    "\"knobs\":{\"abcdefghijklmnopqrstuvwxyz012345\":\"1\"}}}", &j),
	    SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "j.json: schedule.knobs: knob name "
	    "'abcdefghijklmnopqrstuvwxyz012345' is not 1 to 31 characters");
	assert_int_equal(from_text(HEAD "\"schedule\":{\"policy\":\"rr\","
	    "\"knobs\":{\"seed\":2.5}}}", &j), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "j.json: schedule.knobs.seed: expected "
	    "a string, an integer up to 2^53 or a boolean");
	/* 2^53 + 2: a double holds it, but not every integer near it */
	assert_int_equal(from_text(HEAD "\"schedule\":{\"policy\":\"rr\","
	    "\"knobs\":{\"seed\":9007199254740994}}}", &j), SK_ERR_FORMAT);
	assert_int_equal(from_text(HEAD "\"schedule\":{\"policy\":\"rr\","
	    "\"knobs\":{\"seed\":[1]}}}", &j), SK_ERR_FORMAT);
	assert_int_equal(from_text(HEAD "\"schedule\":{\"policy\":\"rr\","
	    "\"knobs\":{\"seed\":\"1\",\"seed\":\"2\"}}}", &j),
	    SK_ERR_ARG);
	assert_string_equal(err_msg(), "j.json: schedule.knobs: 'seed' is set "
	    "twice");

	/* 17 knobs: one more than a job holds */
	n = (size_t)snprintf(text, sizeof text, HEAD "\"schedule\":{"
	    "\"policy\":\"rr\",\"knobs\":{");
	for (i = 0; i < JOB_KNOBS_MAX + 1; i++)
		n += (size_t)snprintf(text + n, sizeof text - n, "%s\"k%d\":\"v\"",
		    i > 0 ? "," : "", i);
	snprintf(text + n, sizeof text - n, "}}}");
	assert_int_equal(from_text(text, &j), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "j.json: schedule.knobs: more than 16 "
	    "knobs");
	/* none of the failures changed the job */
	assert_same(&j, &keep);
	assert_string_equal(j.policy, "");

	/* validation of a job built in code */
	j.nknobs = 1;
	snprintf(j.knobs[0].name, sizeof j.knobs[0].name, "rollback");
	snprintf(j.knobs[0].value, sizeof j.knobs[0].value, "off");
	assert_int_equal(job_validate(&j, "job"), SK_ERR_ARG);
	assert_string_equal(err_msg(), "job: schedule: knobs without a policy");
	snprintf(j.policy, sizeof j.policy, "skrull");
	assert_int_equal(job_validate(&j, "job"), SK_OK);
	j.knobs[0].value[0] = '\0';
	assert_int_equal(job_validate(&j, "job"), SK_ERR_ARG);
	assert_string_equal(err_msg(), "job: schedule.knobs: knob 0: the name "
	    "and the value must be 1 to 31 characters");
	j.knobs[0].value[0] = 'o';
	memset(j.policy, 'x', sizeof j.policy);
	assert_int_equal(job_validate(&j, "job"), SK_ERR_ARG);
	assert_string_equal(err_msg(), "job: schedule.policy is longer than 31 "
	    "characters");
	j.policy[0] = '\0';
	j.nknobs = JOB_KNOBS_MAX + 1;
	assert_int_equal(job_validate(&j, "job"), SK_ERR_ARG);
	assert_string_equal(err_msg(), "job: schedule: 17 knobs is not in "
	    "[0, 16]");
}

static void
test_kernels(void **state)
{
	struct job j, back;
	cJSON *obj, *k;
	char *text;

	/* none by default, and none written: a default job's JSON is as it
	 * was before the member existed */
	job_default(&j);
	obj = cJSON_CreateObject();
	assert_int_equal(job_to_json(&j, obj), SK_OK);
	assert_null(cJSON_GetObjectItemCaseSensitive(obj, "kernels"));
	cJSON_Delete(obj);

	/* read in any order, any case; written in flag order, lower case */
	assert_int_equal(from_text(HEAD "\"kernels\":[\"Fused-CE\","
	    "\"fused-swiglu\"]}", &j), SK_OK);
	assert_int_equal(j.kernels, KERNEL_FUSED_SWIGLU | KERNEL_FUSED_CE);
	obj = cJSON_CreateObject();
	assert_int_equal(job_to_json(&j, obj), SK_OK);
	k = cJSON_GetObjectItemCaseSensitive(obj, "kernels");
	text = cJSON_PrintUnformatted(k);
	assert_string_equal(text, "[\"fused-swiglu\",\"fused-ce\"]");
	cJSON_free(text);
	/* after "precision", before "reserve" */
	assert_string_equal(k->prev->string, "precision");
	assert_string_equal(k->next->string, "reserve");
	job_default(&back);
	assert_int_equal(job_from_json(obj, "again.json", &back), SK_OK);
	cJSON_Delete(obj);
	assert_int_equal(back.kernels, j.kernels);
	assert_same(&j, &back);

	/* one flag alone; a file without the member keeps the job's; [] is
	 * none */
	assert_int_equal(from_text(HEAD "\"kernels\":[\"fused-swiglu\"]}",
	    &j), SK_OK);
	assert_int_equal(j.kernels, KERNEL_FUSED_SWIGLU);
	assert_int_equal(from_text(HEAD "\"batch\":8}", &j), SK_OK);
	assert_int_equal(j.kernels, KERNEL_FUSED_SWIGLU);
	assert_int_equal(from_text(HEAD "\"kernels\":[]}", &j), SK_OK);
	assert_int_equal(j.kernels, 0);

	/* through a file */
	j.kernels = KERNEL_FUSED_CE;
	assert_int_equal(job_write(tutil_path("k.json"), &j), SK_OK);
	assert_int_equal(job_read(tutil_path("k.json"), &back), SK_OK);
	assert_int_equal(back.kernels, KERNEL_FUSED_CE);
	assert_same(&j, &back);
	assert_int_equal(unlink(tutil_path("k.json")), 0);
}

static void
test_kernels_errors(void **state)
{
	struct job j, keep;

	job_default(&j);
	j.kernels = KERNEL_FUSED_CE;
	keep = j;
	assert_int_equal(from_text(HEAD "\"kernels\":\"fused-ce\"}", &j),
	    SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "j.json: kernels: expected an array");
	assert_int_equal(from_text(HEAD "\"kernels\":[\"fused-swiglu\","
	    "\"fused-gelu\"]}", &j), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "j.json: kernels[1]: unknown kernel "
	    "'fused-gelu' (fused-swiglu, fused-ce)");
	assert_int_equal(from_text(HEAD "\"kernels\":[\"fused-ce\","
	    "\"FUSED-CE\"]}", &j), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "j.json: kernels[1]: 'FUSED-CE' is "
	    "listed twice");
	assert_int_equal(from_text(HEAD "\"kernels\":[1]}", &j), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "j.json: kernels[0]: expected a kernel "
	    "name (fused-swiglu, fused-ce)");
	assert_int_equal(from_text(HEAD "\"kernels\":[null]}", &j),
	    SK_ERR_FORMAT);
	/* "none" is the command line's word for the empty list, not a name */
	assert_int_equal(from_text(HEAD "\"kernels\":[\"none\"]}", &j),
	    SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "j.json: kernels[0]: unknown kernel "
	    "'none' (fused-swiglu, fused-ce)");
	/* none of the failures changed the job */
	assert_int_equal(j.kernels, KERNEL_FUSED_CE);
	assert_same(&j, &keep);
}

static void
test_names(void **state)
{
	enum recompute r = RECOMPUTE_NONE;
	enum precision p = PRECISION_BF16;
	unsigned k = 0;

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

	assert_string_equal(job_kernel_name(KERNEL_FUSED_SWIGLU),
	    "fused-swiglu");
	assert_string_equal(job_kernel_name(KERNEL_FUSED_CE), "fused-ce");
	assert_string_equal(job_kernel_name((enum kernel)KERNEL_ALL), "unknown");
	assert_int_equal(job_kernels_parse("fused-ce,fused-swiglu", &k), SK_OK);
	assert_int_equal(k, KERNEL_ALL);
	assert_int_equal(job_kernels_parse("Fused-SwiGLU", &k), SK_OK);
	assert_int_equal(k, KERNEL_FUSED_SWIGLU);
	assert_int_equal(job_kernels_parse("none", &k), SK_OK);
	assert_int_equal(k, 0);
	/* failures leave the flags alone */
	k = KERNEL_FUSED_CE;
	assert_int_equal(job_kernels_parse("fused-ce,fused-gelu", &k),
	    SK_ERR_ARG);
	assert_string_equal(err_msg(), "unknown kernel 'fused-gelu' "
	    "(fused-swiglu, fused-ce, or none)");
	assert_int_equal(job_kernels_parse("fused-ce,fused-ce", &k), SK_ERR_ARG);
	assert_string_equal(err_msg(), "kernel 'fused-ce' is listed twice");
	assert_int_equal(job_kernels_parse("fused-ce,", &k), SK_ERR_ARG);
	assert_string_equal(err_msg(), "empty kernel name in 'fused-ce,' "
	    "(fused-swiglu, fused-ce, or none)");
	assert_int_equal(job_kernels_parse("", &k), SK_ERR_ARG);
	/* "none" only alone */
	assert_int_equal(job_kernels_parse("none,fused-ce", &k), SK_ERR_ARG);
	assert_string_equal(err_msg(), "unknown kernel 'none' (fused-swiglu, "
	    "fused-ce, or none)");
	assert_int_equal(k, KERNEL_FUSED_CE);
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
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_schedule_errors),
		cmocka_unit_test(test_kernels),
		cmocka_unit_test(test_kernels_errors),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, tutil_setup_tmp,
	    tutil_teardown_tmp);
}
