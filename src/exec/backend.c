/* backend: the table of the backends this build has, see backend.h. */
#include <stddef.h>
#include <string.h>

#include "config.h"
#include "backend.h"
#include "cudamod.h"
#include "err.h"

/* The backend of the program itself; the CUDA one is in the CUDA module
 * (cudamod.h), loaded when it is asked for. */
int
backend_find(const char *name, const struct backend_ops **out)
{
	if (strcmp(name, backend_cpu_ops.name) == 0) {
		*out = &backend_cpu_ops;
		return SK_OK;
	}
#ifdef HAVE_CUDA
	if (strcmp(name, "cuda") == 0) {
		const struct cudamod *m;
		int e;

		if ((e = cudamod_get(&m)) != SK_OK)
			return e;
		*out = m->backend;
		return SK_OK;
	}
#endif
#ifdef HAVE_CUDA
	return err_set(SK_ERR_ARG, "unknown backend '%s' (this build has: "
	    "cpu, cuda)", name);
#else
	return err_set(SK_ERR_ARG, "unknown backend '%s' (this build has: "
	    "cpu; cuda needs a build with CUDA)", name);
#endif
}
