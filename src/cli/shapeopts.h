/*
 * shapeopts: the model shape options, one parser for every command that
 * takes a model (`skrull calibrate`, `plan`, `sim`, `run`, and those that
 * take the job options): --hidden, --layers, --heads, --kv-heads, --ffn,
 * --vocab, to scale a model down (a CPU run of a plan made for GPUs).
 * They override the dimensions of the model the command resolved
 * (--model, --job, a plan's job), in that order; the head size becomes
 * hidden / heads when either is given.  skrull-show(1) documents them.
 *
 * Use: shapeopts_init; append shapeopts_long to the getopt_long table
 * (codes SHAPEOPT_BASE and up); pass each code to shapeopts_take; then
 * shapeopts_apply over the model.
 */
#ifndef SKRULL_SHAPEOPTS_H
#define SKRULL_SHAPEOPTS_H

#include <getopt.h>

#include "cli.h"
#include "model.h"

enum {
	SHAPEOPT_BASE = 1100,
	SHAPEOPT_HIDDEN = SHAPEOPT_BASE, SHAPEOPT_LAYERS, SHAPEOPT_HEADS,
	SHAPEOPT_KV_HEADS, SHAPEOPT_FFN, SHAPEOPT_VOCAB,
	SHAPEOPT_END
};

#define SHAPEOPTS_N (SHAPEOPT_END - SHAPEOPT_BASE)

struct shapeopts {
	/* 0: not given */
	int hidden, layers, heads, kv_heads, ffn, vocab;
};

/* The options, terminated by a zeroed entry. */
extern const struct option shapeopts_long[];

/* Their help lines, for a command's -h (a literal, for jobopts_help). */
#define SHAPEOPTS_HELP \
    "  --hidden N           model width, over the model's (8 to 65536)\n" \
    "  --layers N           transformer blocks (1 to 1024)\n" \
    "  --heads N            query heads, dividing the width (1 to 1024)\n" \
    "  --kv-heads N         KV heads, dividing the heads (1 to 1024)\n" \
    "  --ffn N              SwiGLU intermediate size (8 to 1048576)\n" \
    "  --vocab N            vocabulary size (2 to 16777216)\n"
extern const char shapeopts_help[];

void shapeopts_init(struct shapeopts *s);

/* Whether any shape option was given. */
int shapeopts_given(const struct shapeopts *s);

/* As jobopts_take: CLI_OK taken, CLI_USAGE (printed) for a bad value, -1
 * when code is not a shape option. */
int shapeopts_take(struct shapeopts *s, const struct cli_cmd *cmd, int code,
                   const char *arg);

/* Override m's dimensions with those given and check the result: heads
 * a multiple of KV heads, hidden of heads, the head size even (rotary
 * embedding).  SK_OK, or SK_ERR_ARG with a message naming the options
 * and the model (m unchanged). */
int shapeopts_apply(const struct shapeopts *s, struct model *m);

#endif
