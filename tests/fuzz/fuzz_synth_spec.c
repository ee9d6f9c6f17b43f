/*
 * fuzz_synth_spec: the COMPONENT arguments of `skrull trace synth`, one per
 * line of the input (at most 8), as the command takes them: each through
 * synth_component_parse, then synth_generate of 97 samples from all of
 * them, trace components drawing from a fixed small trace instead of the
 * file they name.  Every length drawn must lie in the bounds asked.
 */
#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "synth.h"

#define NCOMP 8
#define NDRAW 97

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint32_t lens[] = { 17, 4093, 1, 65536, 2147483647u };
	static const struct trace fixed = { lens, 5, 5 };
	struct synth_component c[NCOMP];
	struct trace out;
	char *text, *arg, *nl;
	size_t k = 0, i;
	uint32_t lo = 1, hi = TRACE_LEN_MAX;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (arg = text; arg != NULL && k < NCOMP; arg = nl) {
		if ((nl = strchr(arg, '\n')) != NULL)
			*nl++ = '\0';
		if (synth_component_parse(arg, &c[k]) != SK_OK)
			goto out;
		if (c[k].kind == SYNTH_TRACE)
			c[k].trace = &fixed;
		k++;
	}
	/* Bounds from the input's length, so they vary with it: [lo, hi]. */
	if (size % 3 == 1) {
		lo = 7;
		hi = 100000;
	}
	trace_init(&out);
	if (synth_generate(c, k, NDRAW, 20240817UL + size, lo, hi, &out) ==
	    SK_OK) {
		if (out.n != NDRAW)
			abort();
		for (i = 0; i < out.n; i++)
			if (out.len[i] < lo || out.len[i] > hi)
				abort();
	}
	trace_free(&out);
out:
	free(text);
	return 0;
}
