/*
 * fuzz_plan: a plan file (skrull-plan(5)) as `skrull plan --check` and
 * `skrull sim --plan` read it: plan_read, then plan_validate (without a
 * trace) and the summary of pstats_compute on what it accepts.  A failed
 * read must leave the plan empty.
 */
#include "err.h"
#include "fuzz.h"
#include "plan.h"
#include "pstats.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pstats st;
	struct plan p;

	plan_init(&p);
	if (plan_read(fuzz_file(data, size), &p) == SK_OK) {
		if (plan_validate(&p, NULL) == SK_OK)
			pstats_compute(&p, &st);
	} else if (p.ranks != NULL || p.samples != NULL || p.niter != 0) {
		abort();
	}
	plan_free(&p);
	return 0;
}
