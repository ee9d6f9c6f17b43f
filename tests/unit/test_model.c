/*
 * Unit tests of model: presets and aliases, parameter counts against the
 * published ones, the JSON form and its errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "model.h"
#include "tutil.h"

static void
assert_same(const struct model *a, const struct model *b)
{
	assert_string_equal(a->name, b->name);
	assert_int_equal(a->layers, b->layers);
	assert_int_equal(a->hidden, b->hidden);
	assert_int_equal(a->heads, b->heads);
	assert_int_equal(a->kv_heads, b->kv_heads);
	assert_int_equal(a->head_dim, b->head_dim);
	assert_int_equal(a->ffn, b->ffn);
	assert_int_equal(a->vocab, b->vocab);
	assert_int_equal(a->tied, b->tied);
	assert_int_equal(a->qkv_bias, b->qkv_bias);
}

/* Parse text as a model object; returns the code. */
static int
from_text(const char *text, struct model *m)
{
	cJSON *obj = cJSON_Parse(text);
	int e;

	assert_non_null(obj);
	e = model_from_json(obj, "m.json", m);
	cJSON_Delete(obj);
	return e;
}

static void
test_presets(void **state)
{
	struct model m;
	int i;

	assert_int_equal(model_preset_count(), 8);
	assert_int_equal(model_preset("Qwen2.5-0.5B", &m), SK_OK);
	assert_string_equal(m.name, "Qwen2.5-0.5B");
	assert_int_equal(m.layers, 24);
	assert_int_equal(m.hidden, 896);
	assert_int_equal(m.heads, 14);
	assert_int_equal(m.kv_heads, 2);
	assert_int_equal(m.head_dim, 64);
	assert_int_equal(m.ffn, 4864);
	assert_int_equal(m.vocab, 151936);
	assert_int_equal(m.tied, 1);
	assert_int_equal(m.qkv_bias, 1);

	/* aliases, any case */
	assert_int_equal(model_preset("QWEN-7B", &m), SK_OK);
	assert_string_equal(m.name, "Qwen2.5-7B");
	assert_int_equal(m.kv_heads, 4);
	assert_int_equal(m.ffn, 18944);
	assert_int_equal(model_preset("qwen2.5-14b", &m), SK_OK);
	assert_int_equal(m.layers, 48);
	assert_int_equal(model_preset("llama3-8b", &m), SK_OK);
	assert_string_equal(m.name, "Llama-3.1-8B");
	assert_int_equal(m.qkv_bias, 0);
	assert_int_equal(model_preset("Llama3.1-70B", &m), SK_OK);
	assert_int_equal(m.ffn, 28672);

	/* every preset is valid and found by its lowercased name */
	for (i = 0; i < model_preset_count(); i++) {
		char low[MODEL_NAME_MAX];
		size_t k;

		snprintf(low, sizeof low, "%s", model_preset_name(i));
		for (k = 0; low[k] != '\0'; k++)
			if (low[k] >= 'A' && low[k] <= 'Z')
				low[k] = (char)(low[k] - 'A' + 'a');
		assert_int_equal(model_preset(low, &m), SK_OK);
		assert_string_equal(m.name, model_preset_name(i));
		assert_int_equal(model_validate(&m, NULL), SK_OK);
		assert_non_null(model_preset_aliases(i));
	}
	assert_null(model_preset_name(8));

	assert_int_equal(model_preset("qwen9", &m), SK_ERR_ARG);
	assert_string_equal(err_msg(), "unknown model 'qwen9' (presets: "
	    "Qwen2.5-0.5B, Qwen2.5-1.5B, Qwen2.5-7B, Qwen2.5-14B, Qwen2.5-32B, "
	    "Qwen2.5-72B, Llama-3.1-8B, Llama-3.1-70B)");
}

/*
 * Published parameter counts (the safetensors totals of the Hugging Face
 * model pages; the model cards round them to 0.49B, 1.54B, 7.61B, 72.7B,
 * 8.03B and 70.6B).  By hand for Qwen2.5-0.5B: embedding 151936 x 896 =
 * 136134656 (tied); per layer Q 896 x 896 + 896 = 803712, K and V
 * 896 x 128 + 128 = 114816 each, O 802816, MLP 3 x 896 x 4864 = 13074432,
 * norms 1792, together 14912384; 136134656 + 24 x 14912384 + 896 =
 * 494032768.
 */
static void
test_params(void **state)
{
	struct model m;

	assert_int_equal(model_preset("Qwen2.5-0.5B", &m), SK_OK);
	assert_int_equal(model_params(&m), 494032768ULL);
	assert_int_equal(model_preset("Qwen2.5-1.5B", &m), SK_OK);
	assert_int_equal(model_params(&m), 1543714304ULL);
	assert_int_equal(model_preset("Qwen2.5-7B", &m), SK_OK);
	assert_int_equal(model_params(&m), 7615616512ULL);
	assert_int_equal(model_preset("Llama-3.1-8B", &m), SK_OK);
	assert_int_equal(model_params(&m), 8030261248ULL);
	assert_int_equal(model_preset("Llama-3.1-70B", &m), SK_OK);
	assert_int_equal(model_params(&m), 70553706496ULL);
	/* 72.7B on the model card */
	assert_int_equal(model_preset("Qwen2.5-72B", &m), SK_OK);
	assert_int_equal((model_params(&m) + 50000000) / 100000000, 727);
}

static void
test_json_roundtrip(void **state)
{
	struct model m, back;
	cJSON *obj;
	int i;

	for (i = 0; i < model_preset_count(); i++) {
		assert_int_equal(model_preset(model_preset_name(i), &m), SK_OK);
		obj = cJSON_CreateObject();
		assert_int_equal(model_to_json(&m, obj), SK_OK);
		memset(&back, 0, sizeof back);
		assert_int_equal(model_from_json(obj, "rt", &back), SK_OK);
		assert_same(&m, &back);
		cJSON_Delete(obj);
	}
}

static void
test_json_custom(void **state)
{
	struct model m, p;

	/* head_dim defaults to hidden / heads; tied and qkv_bias to false */
	assert_int_equal(from_text("{\"name\":\"tiny\",\"layers\":3,\"hidden\":"
	    "192,\"heads\":6,\"kv_heads\":2,\"ffn\":512,\"vocab\":1000}", &m),
	    SK_OK);
	assert_string_equal(m.name, "tiny");
	assert_int_equal(m.head_dim, 32);
	assert_int_equal(m.tied, 0);
	assert_int_equal(m.qkv_bias, 0);
	/*
	 * 1000 x 192 x 2 + 3 x (192 x 192 + 2 x 192 x 64 + 192 x 192
	 * + 3 x 192 x 512 + 2 x 192) + 192 = 384000 + 3 x 393600 + 192.
	 */
	assert_int_equal(model_params(&m), 1564992ULL);

	/* a preset's name makes the rest overrides */
	assert_int_equal(from_text("{\"name\":\"qwen2.5-7b\",\"layers\":4}", &m),
	    SK_OK);
	assert_int_equal(model_preset("Qwen2.5-7B", &p), SK_OK);
	p.layers = 4;
	assert_same(&m, &p);
}

static void
test_json_errors(void **state)
{
	struct model m;

	memset(&m, 0, sizeof m);
	assert_int_equal(from_text("{\"name\":\"tiny\",\"layers\":3,\"hidden\":"
	    "192,\"heads\":6,\"kv_heads\":2,\"vocab\":1000}", &m), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "m.json: missing ffn");
	assert_int_equal(m.layers, 0);
	assert_int_equal(from_text("{\"name\":\"tiny\",\"layers\":-2,\"hidden\":"
	    "192,\"heads\":6,\"kv_heads\":2,\"ffn\":5,\"vocab\":1000}", &m),
	    SK_ERR_RANGE);
	assert_string_equal(err_msg(), "m.json: layers: -2 is not in [1, 1000]");
	assert_int_equal(from_text("{\"name\":\"tiny\",\"layers\":3,\"hidden\":"
	    "896,\"heads\":14,\"kv_heads\":4,\"ffn\":5,\"vocab\":1000}", &m),
	    SK_ERR_ARG);
	assert_string_equal(err_msg(), "m.json: heads 14 is not a multiple of "
	    "kv_heads 4");
	assert_int_equal(from_text("{\"name\":\"odd\",\"layers\":3,\"hidden\":"
	    "100,\"heads\":3,\"kv_heads\":1,\"ffn\":5,\"vocab\":1000}", &m),
	    SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "m.json: missing head_dim (hidden 100 is "
	    "not a multiple of heads 3)");
	assert_int_equal(from_text("{\"name\":\"qwen-7b\",\"layer\":3}", &m),
	    SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "m.json: unknown member 'layer'");
	assert_int_equal(from_text("{\"layers\":3}", &m), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "m.json: missing name");
	assert_int_equal(from_text("{\"name\":\"qwen-7b\",\"tied\":1}", &m),
	    SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "m.json: tied: expected true or false");
	assert_int_equal(from_text("[1]", &m), SK_ERR_FORMAT);
	assert_string_equal(err_msg(), "m.json: expected a JSON object");
}

static void
test_resolve(void **state)
{
	struct model m;
	const char *bare, *wrapped;
	char want[2048];

	assert_int_equal(model_resolve("llama3.1-8b", &m), SK_OK);
	assert_int_equal(m.vocab, 128256);

	bare = tutil_put("bare.json",
	    "{\"name\":\"bare\",\"layers\":2,\"hidden\":64,"
	    "\"heads\":4,\"kv_heads\":4,\"ffn\":128,\"vocab\":50,\"tied\":true}");
	assert_int_equal(model_resolve(bare, &m), SK_OK);
	assert_string_equal(m.name, "bare");
	assert_int_equal(m.head_dim, 16);
	assert_int_equal(m.tied, 1);

	wrapped = tutil_put("job.json",
	    "{\"format\":\"skrull-job\",\"version\":1,"
	    "\"model\":{\"name\":\"Qwen2.5-32B\",\"vocab\":0}}");
	assert_int_equal(model_resolve(wrapped, &m), SK_ERR_RANGE);
	snprintf(want, sizeof want, "%s: model.vocab: 0 is not in [1, 16777216]",
	    wrapped);
	assert_string_equal(err_msg(), want);

	assert_int_equal(model_resolve("no-such-model", &m), SK_ERR_ARG);
	assert_string_equal(err_msg(), "'no-such-model' is neither a model "
	    "preset (Qwen2.5-0.5B, Qwen2.5-1.5B, Qwen2.5-7B, Qwen2.5-14B, "
	    "Qwen2.5-32B, Qwen2.5-72B, Llama-3.1-8B, Llama-3.1-70B) nor a "
	    "readable file");
	assert_string_equal(m.name, "bare");
}

/*
 * Hugging Face config.json files: the hub's own for Qwen2.5-0.5B and
 * Llama-3.1-8B (tests/data/model, copied verbatim) give the presets, whose
 * values were entered by hand from the same files; transformers' defaults
 * (K/V heads = heads, head_dim = hidden / heads, untied, no biases); a
 * multimodal model's text_config; a mixture of experts refused.
 */
static void
test_hf_config(void **state)
{
	static const char *const names[] = { "Qwen2.5-0.5B", "Llama-3.1-8B" };
	struct model m, p;
	char path[1024];
	const char *f;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "tests/data/model/%s/config.json",
		    names[i]);
		assert_int_equal(model_resolve(tutil_data(path), &m), SK_OK);
		assert_int_equal(model_preset(names[i], &p), SK_OK);
		assert_memory_equal(&m, &p, sizeof m);
	}
	f = tutil_put("config.json", "{\"architectures\":[\"MyLM\"],"
	    "\"num_hidden_layers\":3,\"hidden_size\":96,"
	    "\"num_attention_heads\":6,\"intermediate_size\":250,"
	    "\"vocab_size\":1009,\"rope_scaling\":{\"factor\":8}}");
	assert_int_equal(model_resolve(f, &m), SK_OK);
	/* the temporary directory's name, or the architecture */
	assert_true(m.name[0] != '\0');
	assert_int_equal(m.kv_heads, 6);
	assert_int_equal(m.head_dim, 16);
	assert_int_equal(m.tied, 0);
	assert_int_equal(m.qkv_bias, 0);
	f = tutil_put("vlm.json", "{\"_name_or_path\":\"org/Vision-7B\","
	    "\"text_config\":{\"model_type\":\"qwen2\","
	    "\"num_hidden_layers\":28,\"hidden_size\":3584,"
	    "\"num_attention_heads\":28,\"num_key_value_heads\":4,"
	    "\"intermediate_size\":18944,\"vocab_size\":152064,"
	    "\"_name_or_path\":\"org/Vision-7B\"}}");
	assert_int_equal(model_resolve(f, &m), SK_OK);
	assert_string_equal(m.name, "Vision-7B");
	assert_int_equal(m.layers, 28);
	assert_int_equal(m.qkv_bias, 1);
	f = tutil_put("moe.json", "{\"num_hidden_layers\":24,"
	    "\"hidden_size\":2048,\"num_attention_heads\":16,"
	    "\"intermediate_size\":5632,\"vocab_size\":151936,"
	    "\"num_experts\":60}");
	assert_int_equal(model_resolve(f, &m), SK_ERR_UNSUPPORTED);
	assert_non_null(strstr(err_msg(), "\"num_experts\": a "
	    "mixture-of-experts model"));
	f = tutil_put("odd.json", "{\"num_hidden_layers\":2,"
	    "\"hidden_size\":100,\"num_attention_heads\":3,"
	    "\"intermediate_size\":64,\"vocab_size\":10}");
	assert_int_equal(model_resolve(f, &m), SK_ERR_FORMAT);
	assert_non_null(strstr(err_msg(), "hidden_size 100 is not a multiple "
	    "of num_attention_heads 3"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_presets),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_json_roundtrip),
		cmocka_unit_test(test_json_custom),
		cmocka_unit_test(test_json_errors),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_hf_config),
	};

	return cmocka_run_group_tests(tests, tutil_setup_tmp,
	    tutil_teardown_tmp);
}
