/* model: see model.h. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "json.h"
#include "model.h"

struct preset {
	struct model m;
	const char *aliases[4];  /* NULL-terminated; the lowercased name is implied */
};

/*
 * The values of each model's config.json on the Hugging Face hub
 * (Qwen/Qwen2.5-*, meta-llama/Llama-3.1-*): num_hidden_layers,
 * hidden_size, num_attention_heads, num_key_value_heads, head_dim (or
 * hidden_size / num_attention_heads where the file has none),
 * intermediate_size, vocab_size, tie_word_embeddings.  Qwen2 attention
 * has biases on Q, K and V (attention_bias in its modelling code); Llama
 * has none (attention_bias false).
 */
static const struct preset presets[] = {
	{ { "Qwen2.5-0.5B", 24, 896, 14, 2, 64, 4864, 151936, 1, 1 },
	  { "qwen-0.5b", NULL } },
	{ { "Qwen2.5-1.5B", 28, 1536, 12, 2, 128, 8960, 151936, 1, 1 },
	  { "qwen-1.5b", NULL } },
	{ { "Qwen2.5-7B", 28, 3584, 28, 4, 128, 18944, 152064, 0, 1 },
	  { "qwen-7b", NULL } },
	{ { "Qwen2.5-14B", 48, 5120, 40, 8, 128, 13824, 152064, 0, 1 },
	  { "qwen-14b", NULL } },
	{ { "Qwen2.5-32B", 64, 5120, 40, 8, 128, 27648, 152064, 0, 1 },
	  { "qwen-32b", NULL } },
	{ { "Qwen2.5-72B", 80, 8192, 64, 8, 128, 29568, 152064, 0, 1 },
	  { "qwen-72b", NULL } },
	{ { "Llama-3.1-8B", 32, 4096, 32, 8, 128, 14336, 128256, 0, 0 },
	  { "llama3-8b", "llama3.1-8b", "llama-3-8b", NULL } },
	{ { "Llama-3.1-70B", 80, 8192, 64, 8, 128, 28672, 128256, 0, 0 },
	  { "llama3-70b", "llama3.1-70b", "llama-3-70b", NULL } },
};
#define NPRESETS ((int)(sizeof presets / sizeof presets[0]))

/* The integer dimensions, with the range each must lie in (generous:
 * they catch unit mistakes and overflow, not unusual models). */
static const struct field {
	const char *key;
	size_t off;
	long long lo, hi;
} fields[] = {
	{ "layers", offsetof(struct model, layers), 1, 1000 },
	{ "hidden", offsetof(struct model, hidden), 1, 1 << 20 },
	{ "heads", offsetof(struct model, heads), 1, 1 << 14 },
	{ "kv_heads", offsetof(struct model, kv_heads), 1, 1 << 14 },
	{ "head_dim", offsetof(struct model, head_dim), 1, 1 << 14 },
	{ "ffn", offsetof(struct model, ffn), 1, 1 << 22 },
	{ "vocab", offsetof(struct model, vocab), 1, 1 << 24 },
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static const char *const keys[] = {
	"name", "layers", "hidden", "heads", "kv_heads", "head_dim", "ffn",
	"vocab", "tied", "qkv_bias"
};
#define NKEYS (sizeof keys / sizeof keys[0])

static int
get_field(const struct model *m, size_t i)
{
	return *(const int *)(const void *)((const char *)m + fields[i].off);
}

static void
set_field(struct model *m, size_t i, int v)
{
	*(int *)(void *)((char *)m + fields[i].off) = v;
}

static int
find(const char *name)
{
	const char *const *a;
	int i;

	for (i = 0; i < NPRESETS; i++) {
		if (strcasecmp(name, presets[i].m.name) == 0)
			return i;
		for (a = presets[i].aliases; *a != NULL; a++)
			if (strcasecmp(name, *a) == 0)
				return i;
	}
	return -1;
}

/* "Qwen2.5-0.5B, Qwen2.5-1.5B, ..." for messages. */
static void
list_presets(char *buf, size_t size)
{
	size_t off = 0;
	int i, w;

	buf[0] = '\0';
	for (i = 0; i < NPRESETS && off < size; i++) {
		w = snprintf(buf + off, size - off, "%s%s", i > 0 ? ", " : "",
		    presets[i].m.name);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

int
model_preset(const char *name, struct model *m)
{
	char list[512];
	int i;

	if ((i = find(name)) < 0) {
		list_presets(list, sizeof list);
		return err_set(SK_ERR_ARG, "unknown model '%s' (presets: %s)",
		    name, list);
	}
	*m = presets[i].m;
	return SK_OK;
}

/*
 * A Hugging Face config.json: the members a causal decoder's configuration
 * has in transformers (LlamaConfig, Qwen2Config, MistralConfig, ...), the
 * others ignored since a config holds dozens the cost model has no use
 * for; a multimodal model's "text_config" is the decoder's.  Mixture-of-
 * experts configurations are refused: the cost model is of a dense MLP.
 */
static const char *const hf_moe[] = {
	"num_experts", "num_local_experts", "n_routed_experts",
	"moe_intermediate_size"
};

static int
is_hf(const cJSON *o)
{
	return cJSON_IsObject(o) &&
	    cJSON_GetObjectItemCaseSensitive(o, "num_hidden_layers") != NULL;
}

/* The name of an HF model: "_name_or_path"'s last part, else the folder
 * holding config.json, else the first architecture, else "hf-model". */
static void
hf_name(const cJSON *o, const char *path, char *name)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "_name_or_path");
	const char *s = NULL, *e;
	size_t n = 0;

	if (cJSON_IsString(a) && a->valuestring[0] != '\0') {
		s = strrchr(a->valuestring, '/');
		s = s != NULL && s[1] != '\0' ? s + 1 : a->valuestring;
		n = strlen(s);
	} else if ((e = strrchr(path, '/')) != NULL &&
	    strcmp(e + 1, "config.json") == 0 && e > path) {
		for (s = e; s > path && s[-1] != '/'; s--)
			;
		n = (size_t)(e - s);
	}
	if (n == 0 && (a = cJSON_GetObjectItemCaseSensitive(o,
	    "architectures")) != NULL && cJSON_IsString(cJSON_GetArrayItem(a,
	    0))) {
		s = cJSON_GetArrayItem(a, 0)->valuestring;
		n = strlen(s);
	}
	if (n == 0) {
		s = "hf-model";
		n = strlen(s);
	}
	if (n >= MODEL_NAME_MAX)
		n = MODEL_NAME_MAX - 1;
	memcpy(name, s, n);
	name[n] = '\0';
}

static int
model_from_hf(const cJSON *o, const char *path, struct model *m)
{
	static const struct { const char *key; size_t field; int need; } map[] = {
		{ "num_hidden_layers", 0, 1 }, { "hidden_size", 1, 1 },
		{ "num_attention_heads", 2, 1 }, { "num_key_value_heads", 3, 0 },
		{ "head_dim", 4, 0 }, { "intermediate_size", 5, 1 },
		{ "vocab_size", 6, 1 },
	};
	const cJSON *mt;
	struct model t;
	long long v;
	size_t i;
	int e;

	for (i = 0; i < sizeof hf_moe / sizeof hf_moe[0]; i++)
		if (cJSON_GetObjectItemCaseSensitive(o, hf_moe[i]) != NULL)
			return err_set(SK_ERR_UNSUPPORTED, "%s: \"%s\": a "
			    "mixture-of-experts model; skrull's cost model is of "
			    "dense transformers", path, hf_moe[i]);
	memset(&t, 0, sizeof t);
	hf_name(o, path, t.name);
	for (i = 0; i < sizeof map / sizeof map[0]; i++) {
		v = 0;
		e = map[i].need ? json_get_int(o, map[i].key, path,
		    fields[map[i].field].lo, fields[map[i].field].hi, &v) :
		    json_opt_int(o, map[i].key, path, fields[map[i].field].lo,
		    fields[map[i].field].hi, &v);
		if (e != SK_OK)
			return e;
		set_field(&t, map[i].field, (int)v);
	}
	/* transformers' defaults: as many K/V heads as query heads, head_dim
	 * hidden_size / num_attention_heads */
	if (t.kv_heads == 0)
		t.kv_heads = t.heads;
	if (t.head_dim == 0) {
		if (t.hidden % t.heads != 0)
			return err_set(SK_ERR_FORMAT, "%s: no head_dim, and "
			    "hidden_size %d is not a multiple of "
			    "num_attention_heads %d", path, t.hidden, t.heads);
		t.head_dim = t.hidden / t.heads;
	}
	/* Absent, the untied default of LlamaConfig and Qwen2Config; Qwen2
	 * attention always has Q/K/V biases, the others when attention_bias
	 * says so. */
	mt = cJSON_GetObjectItemCaseSensitive(o, "model_type");
	t.qkv_bias = cJSON_IsString(mt) && strcmp(mt->valuestring, "qwen2") == 0;
	if ((e = json_opt_bool(o, "tie_word_embeddings", path, &t.tied)) !=
	    SK_OK || (e = json_opt_bool(o, "attention_bias", path,
	    &t.qkv_bias)) != SK_OK || (e = model_validate(&t, path)) != SK_OK)
		return e;
	*m = t;
	return SK_OK;
}

int
model_resolve(const char *name_or_path, struct model *m)
{
	char list[512], where[1024];
	const cJSON *obj;
	cJSON *root;
	int e;

	if (find(name_or_path) >= 0)
		return model_preset(name_or_path, m);
	if (strcmp(name_or_path, "-") != 0 && access(name_or_path, R_OK) != 0) {
		list_presets(list, sizeof list);
		return err_set(SK_ERR_ARG, "'%s' is neither a model preset (%s) "
		    "nor a readable file", name_or_path, list);
	}
	if ((e = json_load(name_or_path, &root)) != SK_OK)
		return e;
	/* A Hugging Face config.json (a multimodal one's text_config); a job
	 * file (or any object with a "model" member); or a bare model. */
	obj = cJSON_GetObjectItemCaseSensitive(root, "text_config");
	if (is_hf(root) || is_hf(obj)) {
		e = model_from_hf(is_hf(root) ? root : obj, name_or_path, m);
		cJSON_Delete(root);
		return e;
	}
	obj = cJSON_GetObjectItemCaseSensitive(root, "model");
	if (cJSON_IsObject(root) && obj != NULL) {
		snprintf(where, sizeof where, "%s: model", name_or_path);
	} else {
		obj = root;
		snprintf(where, sizeof where, "%s", name_or_path);
	}
	e = model_from_json(obj, where, m);
	cJSON_Delete(root);
	return e;
}

int
model_from_json(const cJSON *obj, const char *where, struct model *m)
{
	struct model t;
	const char *name;
	char at[512];
	long long v;
	size_t i;
	int e, preset;

	if ((e = json_check_keys(obj, where, keys, NKEYS)) != SK_OK)
		return e;
	if ((e = json_get_str(obj, "name", where, &name)) != SK_OK)
		return e;
	if (name[0] == '\0' || strlen(name) >= MODEL_NAME_MAX) {
		json_where(at, sizeof at, where, "name");
		return err_set(SK_ERR_FORMAT, "%s: expected 1 to %d characters",
		    at, MODEL_NAME_MAX - 1);
	}
	/* A preset's name makes every other member an override of it. */
	preset = find(name) >= 0;
	if (preset) {
		model_preset(name, &t);
	} else {
		memset(&t, 0, sizeof t);
		strcpy(t.name, name);
	}
	for (i = 0; i < NFIELDS; i++) {
		v = get_field(&t, i);
		if (preset || strcmp(fields[i].key, "head_dim") == 0)
			e = json_opt_int(obj, fields[i].key, where, fields[i].lo,
			    fields[i].hi, &v);
		else
			e = json_get_int(obj, fields[i].key, where, fields[i].lo,
			    fields[i].hi, &v);
		if (e != SK_OK)
			return e;
		set_field(&t, i, (int)v);
	}
	/* As in Hugging Face configs, head_dim defaults to hidden / heads. */
	if (t.head_dim == 0) {
		if (t.hidden % t.heads != 0)
			return err_set(SK_ERR_FORMAT, "%s: missing head_dim (hidden "
			    "%d is not a multiple of heads %d)", where, t.hidden,
			    t.heads);
		t.head_dim = t.hidden / t.heads;
	}
	if ((e = json_opt_bool(obj, "tied", where, &t.tied)) != SK_OK ||
	    (e = json_opt_bool(obj, "qkv_bias", where, &t.qkv_bias)) != SK_OK ||
	    (e = model_validate(&t, where)) != SK_OK)
		return e;
	*m = t;
	return SK_OK;
}

int
model_to_json(const struct model *m, cJSON *obj)
{
	size_t i;

	if (cJSON_AddStringToObject(obj, "name", m->name) == NULL)
		goto nomem;
	for (i = 0; i < NFIELDS; i++)
		if (cJSON_AddNumberToObject(obj, fields[i].key,
		    get_field(m, i)) == NULL)
			goto nomem;
	if (cJSON_AddBoolToObject(obj, "tied", m->tied) == NULL ||
	    cJSON_AddBoolToObject(obj, "qkv_bias", m->qkv_bias) == NULL)
		goto nomem;
	return SK_OK;
nomem:
	return err_set(SK_ERR_NOMEM, "out of memory building the model JSON");
}

int
model_validate(const struct model *m, const char *where)
{
	long long v;
	size_t i;

	if (where == NULL)
		where = "model";
	if (m->name[0] == '\0' || memchr(m->name, '\0', MODEL_NAME_MAX) == NULL)
		return err_set(SK_ERR_ARG, "%s: the name must have 1 to %d "
		    "characters", where, MODEL_NAME_MAX - 1);
	for (i = 0; i < NFIELDS; i++) {
		v = get_field(m, i);
		if (v < fields[i].lo || v > fields[i].hi)
			return err_set(SK_ERR_RANGE, "%s: %s %lld is not in "
			    "[%lld, %lld]", where, fields[i].key, v, fields[i].lo,
			    fields[i].hi);
	}
	if (m->heads % m->kv_heads != 0)
		return err_set(SK_ERR_ARG, "%s: heads %d is not a multiple of "
		    "kv_heads %d", where, m->heads, m->kv_heads);
	if ((m->tied != 0 && m->tied != 1) ||
	    (m->qkv_bias != 0 && m->qkv_bias != 1))
		return err_set(SK_ERR_ARG, "%s: tied and qkv_bias must be 0 or 1",
		    where);
	return SK_OK;
}

/*
 * Parameters, with h = hidden, h_q = heads x head_dim, h_kv = kv_heads x
 * head_dim, V = vocab, L = layers:
 *   embedding V h, output projection V h unless tied,
 *   per layer: Q h h_q (+ h_q bias), K and V h h_kv each (+ h_kv bias
 *   each), O h_q h, SwiGLU gate, up and down 3 h ffn, two RMSNorms 2 h;
 *   the final RMSNorm h.
 * Qwen2.5-0.5B: 136134656 + 24 x 14912384 + 896 = 494032768.
 */
uint64_t
model_params(const struct model *m)
{
	uint64_t h = (uint64_t)m->hidden, V = (uint64_t)m->vocab;
	uint64_t hq = (uint64_t)m->heads * (uint64_t)m->head_dim;
	uint64_t hkv = (uint64_t)m->kv_heads * (uint64_t)m->head_dim;
	uint64_t bias = m->qkv_bias ? 1 : 0, layer;

	layer = h * hq + bias * hq + 2 * (h * hkv + bias * hkv) + hq * h +
	    3 * h * (uint64_t)m->ffn + 2 * h;
	return V * h * (m->tied ? 1 : 2) + (uint64_t)m->layers * layer + h;
}

int
model_preset_count(void)
{
	return NPRESETS;
}

const char *
model_preset_name(int i)
{
	return i >= 0 && i < NPRESETS ? presets[i].m.name : NULL;
}

const char *const *
model_preset_aliases(int i)
{
	return i >= 0 && i < NPRESETS ? presets[i].aliases : NULL;
}

int
model_same_shape(const struct model *a, const struct model *b)
{
	return a->layers == b->layers && a->hidden == b->hidden &&
	    a->heads == b->heads && a->kv_heads == b->kv_heads &&
	    a->head_dim == b->head_dim && a->ffn == b->ffn &&
	    a->vocab == b->vocab;
}

void
model_shape_text(const struct model *m, char *buf, size_t n)
{
	snprintf(buf, n, "%s (hidden %d, %d layers, %d/%d heads, ffn %d, "
	    "vocab %d)", m->name, m->hidden, m->layers, m->heads, m->kv_heads,
	    m->ffn, m->vocab);
}
