/* cudamod: see cudamod.h. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cudamod.h"
#include "err.h"

#ifndef SKRULL_PKGLIBDIR
#define SKRULL_PKGLIBDIR "."
#endif
#define MODULE_FILE "skrull-cuda.so"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const struct cudamod *mod;
static int mod_code;
static char mod_msg[ERR_MSG_MAX];

/* The loading itself: its outcome kept for every later caller (err.h's
 * message is per thread, so the text is copied). */
static void
load(void)
{
	const char *path = getenv("SKRULL_CUDA_MODULE");
	char buf[4096];
	const struct cudamod *m;
	void *h;

	if (path == NULL || path[0] == '\0') {
		snprintf(buf, sizeof buf, "%s/%s", SKRULL_PKGLIBDIR, MODULE_FILE);
		path = buf;
	}
	/* RTLD_NOW: a missing CUDA library is said here, not at first use. */
	if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		mod_code = SK_ERR_IO;
		snprintf(mod_msg, sizeof mod_msg, "the CUDA module %.400s cannot "
		    "be loaded: %.400s (install skrull's CUDA module with its "
		    "build, or set SKRULL_CUDA_MODULE)", path, dlerror());
		return;
	}
	if ((m = dlsym(h, CUDAMOD_SYMBOL)) == NULL ||
	    m->version != CUDAMOD_VERSION) {
		mod_code = SK_ERR_FORMAT;
		snprintf(mod_msg, sizeof mod_msg, "the CUDA module %.400s is not "
		    "version %d of skrull's", path, CUDAMOD_VERSION);
		dlclose(h);
		return;
	}
	mod = m;
}

int
cudamod_get(const struct cudamod **out)
{
	pthread_once(&once, load);
	*out = mod;
	if (mod == NULL)
		return err_set(mod_code, "%s", mod_msg);
	return SK_OK;
}
