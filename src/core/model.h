/*
 * model: the dimensions of a decoder-only transformer (Qwen2.5 / Llama 3
 * family: RMSNorm, grouped-query attention, SwiGLU MLP), from a built-in
 * preset or a JSON file (skrull-job(5) documents the object).
 *
 * Presets carry the published Hugging Face config.json values.  Names are
 * case-insensitive and have short aliases ("qwen2.5-7b", "llama3-70b").
 */
#ifndef SKRULL_MODEL_H
#define SKRULL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define MODEL_NAME_MAX 64

struct model {
	char name[MODEL_NAME_MAX];
	int layers;    /* transformer blocks */
	int hidden;    /* h, model width */
	int heads;     /* query heads */
	int kv_heads;  /* key/value heads (GQA), divides heads */
	int head_dim;  /* per head; h_q = heads * head_dim, h_kv = kv_heads * head_dim */
	int ffn;       /* SwiGLU intermediate size */
	int vocab;     /* vocabulary size (rows of the embedding) */
	int tied;      /* 1: output projection shares the input embedding */
	int qkv_bias;  /* 1: Q, K and V projections carry biases (Qwen2.5) */
};

/* Look up a preset by name or alias; SK_ERR_ARG listing the presets if
 * unknown. */
int model_preset(const char *name, struct model *m);

/* A preset name, else a JSON file path. */
int model_resolve(const char *name_or_path, struct model *m);

/* Read from / add to a cJSON object; where names it in errors. */
int model_from_json(const cJSON *obj, const char *where, struct model *m);
int model_to_json(const struct model *m, cJSON *obj);

/* Check consistency (positive sizes, heads divisible by kv_heads). */
int model_validate(const struct model *m, const char *where);

/* Whether a and b have one shape: layers, hidden, heads, KV heads, head
 * size, FFN and vocabulary (the name, tying and biases aside). */
int model_same_shape(const struct model *a, const struct model *b);

/* "NAME (hidden H, L layers, A/K heads, ffn F, vocab V)" into buf[n]. */
void model_shape_text(const struct model *m, char *buf, size_t n);

/* Parameter count: embeddings, (untied) output projection, per layer
 * Q/K/V/O (with Q/K/V biases for Qwen: see model.c), SwiGLU, two norms, and
 * the final norm. */
uint64_t model_params(const struct model *m);

/* Presets, for listing: i = 0 .. model_preset_count() - 1; the aliases
 * are a NULL-terminated list (the lowercased name is implied). */
int model_preset_count(void);
const char *model_preset_name(int i);
const char *const *model_preset_aliases(int i);

#endif
