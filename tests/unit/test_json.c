/*
 * Unit tests of json (and afile, which json_save writes through): loading
 * with line and column on syntax errors, gzip, the getters' messages, and
 * atomic saving.  Inputs are written into a temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "err.h"
#include "json.h"
#include "tutil.h"

/* want: the expected message after the path */
static void
load_fails(const char *path, int code, const char *want)
{
	char msg[2048];
	cJSON *root = (cJSON *)&root;

	assert_int_equal(json_load(path, &root), code);
	assert_null(root);
	snprintf(msg, sizeof msg, "%s%s", path, want);
	assert_string_equal(err_msg(), msg);
}

/* ---- loading ---- */

static void
test_load(void **state)
{
	cJSON *root;
	long long v;

	assert_int_equal(json_load(tutil_put("a.json",
	    "{\"layers\": 24, \"name\": \"x\"}\n\n"), &root), SK_OK);
	assert_int_equal(json_get_int(root, "layers", "a.json", 1, 1000, &v),
	    SK_OK);
	assert_int_equal(v, 24);
	cJSON_Delete(root);
}

static void
test_load_gzip(void **state)
{
	const char *path = tutil_path("b.json.gz");
	gzFile gz = gzopen(path, "wb");
	cJSON *root;
	double d;

	assert_non_null(gz);
	assert_int_equal(gzputs(gz, "{\"hbm_bw\": 3.35e12}"), 19);
	assert_int_equal(gzclose(gz), Z_OK);
	assert_int_equal(json_load(path, &root), SK_OK);
	assert_int_equal(json_get_num(root, "hbm_bw", "b", 0, 1e15, &d), SK_OK);
	assert_true(d == 3.35e12);
	cJSON_Delete(root);
}

/* Files around the sizes where the reading buffer grows (64 KiB, doubled)
 * and past the 1 MiB read size: {"s":"xxx..."} of total bytes, whose
 * string is total - 8 bytes long. */
static void
test_load_sizes(void **state)
{
	static const size_t total[] = {
		9, 65534, 65535, 65536, 65537, 131071, 131073, 3 * 1048576 + 5
	};
	const cJSON *s;
	cJSON *root;
	char *text;
	size_t i, n;

	for (i = 0; i < sizeof total / sizeof total[0]; i++) {
		n = total[i];
		text = malloc(n + 1);
		assert_non_null(text);
		memcpy(text, "{\"s\":\"", 6);
		memset(text + 6, 'x', n - 8);
		memcpy(text + n - 2, "\"}", 3);
		assert_int_equal(json_load(tutil_put("big.json", text), &root),
		    SK_OK);
		s = cJSON_GetObjectItemCaseSensitive(root, "s");
		assert_true(cJSON_IsString(s));
		assert_int_equal(strlen(s->valuestring), n - 8);
		cJSON_Delete(root);
		free(text);
	}
}

static void
test_load_errors(void **state)
{
	/*
	 * Line 3 is `  "b": ]`: two spaces, "b" (columns 3-5), ':' (6), a
	 * space (7), and the bad ']' in column 8.
	 */
	load_fails(tutil_put("c.json", "{\n  \"a\": 1,\n  \"b\": ]\n}\n"),
	    SK_ERR_FORMAT, ":3: malformed JSON near column 8");
	/* Trailing garbage: "{} x" has its 'x' in column 4. */
	load_fails(tutil_put("d.json", "{} x\n"), SK_ERR_FORMAT,
	    ":1: malformed JSON near column 4");
	/* Unterminated: the error lies at the end, after line 2's '['. */
	load_fails(tutil_put("e.json", "{\"a\":\n["), SK_ERR_FORMAT,
	    ":2: malformed JSON near column 2");
	load_fails(tutil_put("f.json", " \n\t\n"), SK_ERR_FORMAT,
	    ": empty file");
	load_fails(tutil_path("none.json"), SK_ERR_IO,
	    ": cannot open: No such file or directory");
	/* \u0000 in a string (cJSON would end the string there): line 2,
	 * `  "n": "ab\u0000c"`: two spaces, "n" (3-5), ":" (6), a space, the
	 * quote (8), "ab" (9-10), the backslash in column 11; an escaped
	 * backslash before "u0000" is text, and is read whole. */
	load_fails(tutil_put("g.json", "{\n  \"n\": \"ab\\u0000c\"\n}"),
	    SK_ERR_FORMAT, ":2: column 11: \\u0000 (a NUL character) in a "
	    "string, which would cut it short");
	{
		cJSON *r;

		assert_int_equal(json_load(tutil_put("h.json",
		    "{\"n\": \"ab\\\\u0000c\"}"), &r), SK_OK);
		assert_string_equal(cJSON_GetObjectItem(r, "n")->valuestring,
		    "ab\\u0000c");
		cJSON_Delete(r);
	}
}

/* ---- getters ---- */

static const char getter_text[] =
    "{\"layers\": 0, \"hidden\": 896.5, \"name\": \"Qwen\", \"tied\": true,"
    " \"bw\": 4.5e11, \"neg\": -3, \"s\": 7, \"obj\": {}, \"arr\": [1]}";

static void
test_getters(void **state)
{
	const cJSON *o;
	const char *s;
	cJSON *root = cJSON_Parse(getter_text);
	long long v = 17;
	double d = 0.25;
	int b = 0;

	assert_non_null(root);
	/* top-level: "FILE: KEY: ..." */
	assert_int_equal(json_get_int(root, "layers", "job.json", 1, 1000, &v),
	    SK_ERR_RANGE);
	assert_string_equal(err_msg(), "job.json: layers: 0 is not in [1, 1000]");
	assert_int_equal(v, 17);
	/* nested: "FILE: a.KEY: ..." */
	assert_int_equal(json_get_int(root, "layers", "job.json: model", 1,
	    1000, &v), SK_ERR_RANGE);
	assert_string_equal(err_msg(),
	    "job.json: model.layers: 0 is not in [1, 1000]");
	assert_int_equal(json_get_int(root, "hidden", "m.json", 1, 1 << 20, &v),
	    SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "m.json: hidden: 896.5 is not an integer");
	assert_int_equal(json_get_int(root, "heads", "m.json", 1, 9, &v),
	    SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "m.json: missing heads");
	assert_int_equal(json_get_num(root, "name", "m.json", 0, 1, &d),
	    SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "m.json: name: expected a number");
	assert_int_equal(json_get_int(root, "name", "m.json", 0, 1, &v),
	    SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "m.json: name: expected an integer");
	assert_int_equal(json_get_num(root, "neg", "m.json", 0, 1e15, &d),
	    SK_ERR_RANGE);
	assert_string_equal(err_msg(), "m.json: neg: -3 is not in [0, 1e+15]");
	assert_true(d == 0.25);

	assert_int_equal(json_get_int(root, "neg", "m.json", -5, 5, &v), SK_OK);
	assert_int_equal(v, -3);
	assert_int_equal(json_get_num(root, "bw", "m.json", 1e6, 1e15, &d),
	    SK_OK);
	assert_true(d == 4.5e11);
	assert_int_equal(json_get_str(root, "name", "m.json", &s), SK_OK);
	assert_string_equal(s, "Qwen");
	assert_int_equal(json_get_bool(root, "tied", "m.json", &b), SK_OK);
	assert_int_equal(b, 1);
	assert_int_equal(json_get_bool(root, "s", "m.json", &b), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "m.json: s: expected true or false");
	assert_int_equal(json_get_str(root, "s", "m.json", &s), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "m.json: s: expected a string");
	assert_int_equal(json_get_obj(root, "obj", "m.json", &o), SK_OK);
	assert_int_equal(json_get_obj(root, "arr", "m.json", &o), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "m.json: arr: expected an object");
	assert_int_equal(json_get_arr(root, "arr", "m.json", &o), SK_OK);
	assert_int_equal(cJSON_GetArraySize(o), 1);
	assert_int_equal(json_get_arr(root, "obj", "m.json", &o), SK_ERR_FORMAT);

	/* optional: absent leaves the value alone, present is checked */
	v = 29;
	d = 0.75;
	s = "kept";
	b = 0;
	assert_int_equal(json_opt_int(root, "absent", "m", 0, 1, &v), SK_OK);
	assert_int_equal(json_opt_num(root, "absent", "m", 0, 1, &d), SK_OK);
	assert_int_equal(json_opt_str(root, "absent", "m", &s), SK_OK);
	assert_int_equal(json_opt_bool(root, "absent", "m", &b), SK_OK);
	assert_int_equal(v, 29);
	assert_true(d == 0.75);
	assert_string_equal(s, "kept");
	assert_int_equal(b, 0);
	assert_int_equal(json_opt_int(root, "s", "m", 0, 6, &v), SK_ERR_RANGE);
	assert_string_equal(err_msg(), "m: s: 7 is not in [0, 6]");
	assert_int_equal(json_opt_int(root, "s", "m", 0, 7, &v), SK_OK);
	assert_int_equal(v, 7);
	assert_int_equal(json_opt_bool(root, "tied", "m", &b), SK_OK);
	assert_int_equal(b, 1);
	cJSON_Delete(root);
}

static void
test_version_and_keys(void **state)
{
	static const char *const keys[] = { "format", "version", "dp" };
	cJSON *ok = cJSON_Parse("{\"format\":\"skrull-job\",\"version\":1,\"dp\":4}");
	cJSON *v2 = cJSON_Parse("{\"format\":\"skrull-job\",\"version\":2}");
	cJSON *plan = cJSON_Parse("{\"format\":\"skrull-plan\",\"version\":1,"
	    "\"dq\":4}");
	cJSON *none = cJSON_Parse("{\"format\":\"skrull-job\"}");

	assert_int_equal(json_check_version(ok, "j.json", "skrull-job", 1), SK_OK);
	assert_int_equal(json_check_version(ok, "j.json", NULL, 1), SK_OK);
	assert_int_equal(json_check_version(v2, "j.json", "skrull-job", 1),
	    SK_ERR_UNSUPPORTED);
	assert_string_equal(err_msg(), "j.json: version: 2 is not supported "
	    "(this skrull reads version 1)");
	assert_int_equal(json_check_version(plan, "j.json", "skrull-job", 1),
	    SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "j.json: format: expected \"skrull-job\", "
	    "not \"skrull-plan\"");
	assert_int_equal(json_check_version(none, "j.json", "skrull-job", 1),
	    SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "j.json: missing version");

	assert_int_equal(json_check_keys(ok, "j.json", keys, 3), SK_OK);
	assert_int_equal(json_check_keys(plan, "j.json", keys, 3), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "j.json: unknown member 'dq'");
	cJSON_Delete(ok);
	cJSON_Delete(v2);
	cJSON_Delete(plan);
	cJSON_Delete(none);
}

static void
test_where(void **state)
{
	char buf[64];

	json_where(buf, sizeof buf, "job.json", "cluster");
	assert_string_equal(buf, "job.json: cluster");
	json_where(buf, sizeof buf, "job.json: cluster", "gpu");
	assert_string_equal(buf, "job.json: cluster.gpu");
	json_where(buf, sizeof buf, NULL, "gpu");
	assert_string_equal(buf, "gpu");
}

/* ---- saving ---- */

static void
test_save(void **state)
{
	const char *path = tutil_path("out.json");
	cJSON *root = cJSON_Parse("{\"dp\":4,\"name\":\"Qwen2.5-7B\"}"), *back;
	char text[256];
	struct stat st;
	mode_t old;
	FILE *f;
	size_t n;

	assert_non_null(root);
	/* a new file: the mode open(2) would give, 0666 less the umask */
	old = umask(027);
	assert_int_equal(json_save(path, root, 0), SK_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	/* a file replaced keeps its mode, whatever the umask */
	umask(022);
	assert_int_equal(json_save(path, root, 0), SK_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(json_save(path, root, 1), SK_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	umask(old);

	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	assert_string_equal(text, "{\n\t\"dp\":\t4,\n\t\"name\":\t\"Qwen2.5-7B\"\n}\n");
	assert_int_equal(json_load(path, &back), SK_OK);
	assert_true(cJSON_Compare(root, back, 1));
	cJSON_Delete(back);
	cJSON_Delete(root);
}

static void
test_save_fails(void **state)
{
	char dir[1024], path[1100], want[2300];
	cJSON *root = cJSON_Parse("[1,2,3]");

	snprintf(dir, sizeof dir, "%s", tutil_path("sdir"));
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(path, sizeof path, "%s/none/out.json", dir);
	assert_int_equal(json_save(path, root, 1), SK_ERR_IO);
	snprintf(want, sizeof want, "%s: cannot create a temporary file: No "
	    "such file or directory", path);
	assert_string_equal(err_msg(), want);
	/* the target is a directory: refused before any temporary is made */
	snprintf(path, sizeof path, "%s/sub", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(json_save(path, root, 1), SK_ERR_IO);
	snprintf(want, sizeof want, "%s: is a directory", path);
	assert_string_equal(err_msg(), want);
	assert_int_equal(tutil_count_entries(dir), 1);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(rmdir(dir), 0);
	cJSON_Delete(root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_load_gzip),
		cmocka_unit_test(test_load_sizes),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_getters),
		cmocka_unit_test(test_version_and_keys),
		cmocka_unit_test(test_where),
		cmocka_unit_test(test_save),
		cmocka_unit_test(test_save_fails),
	};

	return cmocka_run_group_tests(tests, tutil_setup_tmp,
	    tutil_teardown_tmp);
}
