/*
 * fuzz_profile: a calibration profile (skrull-profile(5)) as `--profile
 * FILE` reads it: profile_read, then profile_apply over a cluster preset
 * and the collective times the simulator asks of the result (table
 * interpolation and extrapolation on every kind, inside and outside the
 * measured sizes, inside and across nodes).
 */
#include "cluster.h"
#include "err.h"
#include "fuzz.h"
#include "profile.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const double bytes[] = { 0, 1, 4096, 3.3e6, 1.7e9, 6e12 };
	struct profile p;
	struct cluster c;
	size_t i;
	int k;

	profile_init(&p);
	if (profile_read(fuzz_file(data, size), &p) == SK_OK) {
		if (cluster_preset("H100-SXM-80GB", &c) != SK_OK)
			abort();
		profile_apply(&p, &c);
		for (k = 0; k < COLL_NKINDS; k++)
			for (i = 0; i < sizeof bytes / sizeof bytes[0]; i++) {
				(void)cluster_coll_time(&c, (enum coll_kind)k,
				    bytes[i], 8, 0);
				(void)cluster_coll_time(&c, (enum coll_kind)k,
				    bytes[i], 16, 1);
			}
	}
	profile_free(&p);
	return 0;
}
