/* backend: the table of the backends this build has, see backend.h. */
#include <stddef.h>
#include <string.h>

#include "config.h"
#include "backend.h"
#include "err.h"

/* Every backend of this build, by name. */
static const struct backend_ops *const backends[] = {
	&backend_cpu_ops,
#ifdef HAVE_CUDA
	&backend_cuda_ops,
#endif
};
#define NBACKENDS (sizeof backends / sizeof backends[0])

int
backend_find(const char *name, const struct backend_ops **out)
{
	size_t i;

	for (i = 0; i < NBACKENDS; i++)
		if (strcmp(name, backends[i]->name) == 0) {
			*out = backends[i];
			return SK_OK;
		}
#ifdef HAVE_CUDA
	return err_set(SK_ERR_ARG, "unknown backend '%s' (this build has: "
	    "cpu, cuda)", name);
#else
	return err_set(SK_ERR_ARG, "unknown backend '%s' (this build has: "
	    "cpu; cuda needs a build with CUDA)", name);
#endif
}
