/* backend: the table of the backends this build has, see backend.h. */
#include <stddef.h>
#include <string.h>

#include "backend.h"
#include "err.h"

/* Every backend of this build, by name; a CUDA build adds its own. */
static const struct backend_ops *const backends[] = {
	&backend_cpu_ops,
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
	return err_set(SK_ERR_ARG, "unknown backend '%s' (this build has: "
	    "cpu)", name);
}
