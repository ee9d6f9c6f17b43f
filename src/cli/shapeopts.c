/* shapeopts: see shapeopts.h. */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "model.h"
#include "shapeopts.h"

const struct option shapeopts_long[] = {
	{ "hidden", required_argument, NULL, SHAPEOPT_HIDDEN },
	{ "layers", required_argument, NULL, SHAPEOPT_LAYERS },
	{ "heads", required_argument, NULL, SHAPEOPT_HEADS },
	{ "kv-heads", required_argument, NULL, SHAPEOPT_KV_HEADS },
	{ "ffn", required_argument, NULL, SHAPEOPT_FFN },
	{ "vocab", required_argument, NULL, SHAPEOPT_VOCAB },
	{ NULL, 0, NULL, 0 }
};

const char shapeopts_help[] = SHAPEOPTS_HELP;

/* Option names and bounds, by code - SHAPEOPT_BASE (as `run` has always
 * taken them). */
static const struct {
	const char *name;
	unsigned long lo, hi;
} bounds[SHAPEOPTS_N] = {
	{ "--hidden", 8, 65536 },
	{ "--layers", 1, 1024 },
	{ "--heads", 1, 1024 },
	{ "--kv-heads", 1, 1024 },
	{ "--ffn", 8, 1UL << 20 },
	{ "--vocab", 2, 1UL << 24 },
};

void
shapeopts_init(struct shapeopts *s)
{
	memset(s, 0, sizeof *s);
}

static int *
field(struct shapeopts *s, int k)
{
	int *f[SHAPEOPTS_N] = {
		&s->hidden, &s->layers, &s->heads, &s->kv_heads, &s->ffn,
		&s->vocab
	};

	return f[k];
}

int
shapeopts_given(const struct shapeopts *s)
{
	return s->hidden > 0 || s->layers > 0 || s->heads > 0 ||
	    s->kv_heads > 0 || s->ffn > 0 || s->vocab > 0;
}

int
shapeopts_take(struct shapeopts *s, const struct cli_cmd *cmd, int code,
    const char *arg)
{
	unsigned long v;
	int k = code - SHAPEOPT_BASE;

	if (code < SHAPEOPT_BASE || code >= SHAPEOPT_END)
		return -1;
	if (cli_parse_ulong(cmd, bounds[k].name, arg, bounds[k].lo,
	    bounds[k].hi, &v) != CLI_OK)
		return CLI_USAGE;
	*field(s, k) = (int)v;
	return CLI_OK;
}

int
shapeopts_apply(const struct shapeopts *s, struct model *m)
{
	struct model t = *m;

	if (!shapeopts_given(s))
		return SK_OK;
	if (s->hidden > 0)
		t.hidden = s->hidden;
	if (s->layers > 0)
		t.layers = s->layers;
	if (s->heads > 0)
		t.heads = s->heads;
	if (s->kv_heads > 0)
		t.kv_heads = s->kv_heads;
	if (s->ffn > 0)
		t.ffn = s->ffn;
	if (s->vocab > 0)
		t.vocab = s->vocab;
	if (t.heads % t.kv_heads != 0)
		return err_set(SK_ERR_ARG, "--heads %d (%s) is not a multiple of "
		    "--kv-heads %d (%s) for model %s", t.heads,
		    s->heads > 0 ? "given" : "the model's", t.kv_heads,
		    s->kv_heads > 0 ? "given" : "the model's", m->name);
	if (s->hidden > 0 || s->heads > 0) {
		if (t.hidden % t.heads != 0)
			return err_set(SK_ERR_ARG, "--hidden %d (%s) is not a "
			    "multiple of --heads %d (%s) for model %s",
			    t.hidden, s->hidden > 0 ? "given" : "the model's",
			    t.heads, s->heads > 0 ? "given" : "the model's",
			    m->name);
		t.head_dim = t.hidden / t.heads;
		if (t.head_dim % 2 != 0)
			return err_set(SK_ERR_ARG, "--hidden %d / --heads %d: head "
			    "size %d must be even (rotary embedding)", t.hidden,
			    t.heads, t.head_dim);
	}
	*m = t;
	return SK_OK;
}
