/*
 * backend_cpu: the CPU backend of backend.h, over the reference kernels of
 * kernels/kern.h; and backend_check, which every backend shares.
 */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "err.h"
#include "kern.h"

int
backend_check(const struct backend_ops *b)
{
	if (b == NULL)
		return err_set(SK_ERR_ARG, "backend: none given (no ops table)");
	if (b->version != BACKEND_OPS_VERSION)
		return err_set(SK_ERR_UNSUPPORTED, "backend \"%s\": ops table "
		    "has version %d, this build expects %d",
		    b->name != NULL ? b->name : "?", b->version,
		    BACKEND_OPS_VERSION);
	return SK_OK;
}

static float *
cpu_alloc(size_t n)
{
	/* malloc(0) may return NULL: one element keeps NULL for failure. */
	if (n > SIZE_MAX / sizeof (float))
		return NULL;
	return malloc((n > 0 ? n : 1) * sizeof (float));
}

static void
cpu_free(float *p)
{
	free(p);
}

static void
cpu_zero(float *x, size_t n)
{
	if (n > 0)
		memset(x, 0, n * sizeof *x);
}

static void
cpu_copy(float *dst, const float *src, size_t n)
{
	if (n > 0)
		memcpy(dst, src, n * sizeof *dst);
}

static void
cpu_add(size_t n, const float *x, float *y)
{
	size_t i;

	for (i = 0; i < n; i++)
		y[i] += x[i];
}

static void
cpu_gather_rows(size_t n, size_t w, const int32_t *idx, const float *src,
    float *dst)
{
	size_t i;

	for (i = 0; i < n; i++)
		memcpy(dst + i * w, src + (size_t)idx[i] * w, w * sizeof *dst);
}

static void
cpu_scatter_rows(size_t n, size_t w, const int32_t *idx, const float *src,
    float *dst)
{
	size_t i;

	for (i = 0; i < n; i++)
		memcpy(dst + (size_t)idx[i] * w, src + i * w, w * sizeof *dst);
}

static void
cpu_embed_fwd(size_t T, size_t w, const int32_t *tok, const float *table,
    float *x)
{
	cpu_gather_rows(T, w, tok, table, x);
}

static void
cpu_embed_bwd(size_t T, size_t w, const int32_t *tok, const float *dx,
    float *dtable)
{
	size_t t;

	for (t = 0; t < T; t++)
		cpu_add(w, dx + t * w, dtable + (size_t)tok[t] * w);
}

/* The CPU has no per-thread state and runs every op to completion at the
 * call: open, close and sync have nothing to do. */
static int
cpu_devices(int *n)
{
	*n = 1;
	return SK_OK;
}

static int
cpu_open(int device)
{
	if (device != 0)
		return err_set(SK_ERR_RANGE, "backend \"cpu\": device %d does not "
		    "exist (the CPU is device 0)", device);
	return SK_OK;
}

static void
cpu_close(void)
{
}

static int
cpu_sync(void)
{
	return SK_OK;
}

const struct backend_ops backend_cpu_ops = {
	BACKEND_OPS_VERSION,
	"cpu",
	cpu_devices,
	cpu_open,
	cpu_close,
	cpu_sync,
	cpu_alloc,
	cpu_free,
	cpu_zero,
	cpu_copy,
	cpu_add,
	cpu_copy,
	cpu_copy,
	cpu_gather_rows,
	cpu_scatter_rows,
	cpu_embed_fwd,
	cpu_embed_bwd,
	kcpu_gemm,
	kcpu_rmsnorm_fwd,
	kcpu_rmsnorm_bwd,
	kcpu_rope_fwd,
	kcpu_rope_bwd,
	kcpu_swiglu_fwd,
	kcpu_swiglu_bwd,
	kcpu_attn_fwd,
	kcpu_attn_bwd,
	kcpu_xent,
	kcpu_adamw
};
