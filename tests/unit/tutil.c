/*
 * tutil: helpers shared by the unit tests (see tutil.h).
 */
#define _GNU_SOURCE  /* program_invocation_short_name names the directory */

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "tutil.h"

/* Calls of a path-returning helper before its buffer is reused. */
#define TUTIL_NBUF 4

static char tmpdir[512];

int
tutil_setup_tmp(void **state)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(tmpdir, sizeof tmpdir, "%s/%s.XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp",
	    program_invocation_short_name);
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

int
tutil_teardown_tmp(void **state)
{
	struct dirent *d;
	DIR *dp = opendir(tmpdir);

	if (dp == NULL)
		return -1;
	while ((d = readdir(dp)) != NULL)
		if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
			unlink(tutil_path(d->d_name));
	closedir(dp);
	return rmdir(tmpdir);
}

const char *
tutil_path(const char *name)
{
	static char buf[TUTIL_NBUF][1024];
	static int next;
	char *p = buf[next++ % TUTIL_NBUF];

	snprintf(p, sizeof buf[0], "%s/%s", tmpdir, name);
	return p;
}

const char *
tutil_put(const char *name, const char *text)
{
	return tutil_put_bytes(name, text, strlen(text));
}

const char *
tutil_put_bytes(const char *name, const void *p, size_t n)
{
	const char *path = tutil_path(name);
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	return path;
}

const char *
tutil_data(const char *relpath)
{
	static char buf[TUTIL_NBUF][1024];
	static int next;
	const char *top = getenv("top_srcdir");
	char *p = buf[next++ % TUTIL_NBUF];

	snprintf(p, sizeof buf[0], "%s/%s", top != NULL ? top : ".", relpath);
	return p;
}

int
tutil_count_entries(const char *dir)
{
	struct dirent *d;
	DIR *dp = opendir(dir);
	int n = 0;

	assert_non_null(dp);
	while ((d = readdir(dp)) != NULL)
		if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
			n++;
	closedir(dp);
	return n;
}

char *
tutil_slurp(const char *path, size_t *n)
{
	FILE *f;
	char *b;
	long sz;

	assert_non_null(f = fopen(path, "rb"));
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	sz = ftell(f);
	assert_true(sz >= 0);
	rewind(f);
	assert_non_null(b = malloc((size_t)sz + 1));
	assert_int_equal(fread(b, 1, (size_t)sz, f), (size_t)sz);
	b[sz] = '\0';
	fclose(f);
	*n = (size_t)sz;
	return b;
}

void
tutil_trace(struct trace *t, const uint32_t *v, size_t n)
{
	size_t i;

	trace_init(t);
	for (i = 0; i < n; i++)
		assert_int_equal(trace_push(t, v[i]), SK_OK);
}

void
tutil_job(struct job *j, int dp, int batch, int cp, uint32_t bucket)
{
	job_default(j);
	j->dp = dp;
	j->cp = cp;
	j->batch = batch;
	j->bucket_auto = 0;
	j->bucket = bucket;
}

void
tutil_job64(struct job *j, int dp, int batch, int cp, uint32_t bucket)
{
	memset(j, 0, sizeof *j);
	strcpy(j->model.name, "test-64");
	j->model.layers = 1;
	j->model.hidden = 64;
	j->model.heads = 1;
	j->model.kv_heads = 1;
	j->model.head_dim = 64;
	j->model.ffn = 256;
	j->model.vocab = 1000;
	j->dp = dp;
	j->cp = cp;
	j->batch = batch;
	j->bucket = bucket;
}

/* The numbers of the worked examples in test_ops.c: keep them. */
void
tutil_small_job(struct job *j)
{
	memset(j, 0, sizeof *j);
	strcpy(j->model.name, "small");
	j->model.layers = 2;
	j->model.hidden = 256;
	j->model.heads = 4;
	j->model.kv_heads = 2;
	j->model.head_dim = 64;
	j->model.ffn = 512;
	j->model.vocab = 1000;
	strcpy(j->cluster.name, "round");
	strcpy(j->cluster.gpu.name, "round");
	j->cluster.gpu.peak_flops = 1e14;
	j->cluster.gpu.hbm_bytes = 80e9;
	j->cluster.gpu.hbm_bw = 1e12;
	j->cluster.eff.gemm_max = 0.5;
	j->cluster.eff.gemm_half = 100;
	j->cluster.eff.attn_max = 0.4;
	j->cluster.eff.attn_half = 200;
	j->cluster.eff.mem_eff = 1;
	j->cluster.eff.launch = 5e-6;
	j->cluster.nodes = 1;
	j->cluster.gpus_per_node = 8;
	j->cluster.nvlink_bw = 1e11;
	j->cluster.nvlink_lat = 2e-6;
	j->cluster.ib_bw = 2e10;
	j->cluster.ib_lat = 4e-6;
	j->dp = 2;
	j->cp = 4;
	j->batch = 8;
	j->zero = 2;
	j->recompute = RECOMPUTE_SELECTIVE;
	j->precision = PRECISION_BF16;
	j->bucket = 4096;
	assert_int_equal(cluster_validate(&j->cluster, "small"), SK_OK);
}

void
tutil_expect_iter(const struct plan *pl, size_t it, const struct trace *t,
    const struct tutil_want *w, size_t n, const size_t *nmb)
{
	const struct plan_rank *rk;
	const struct plan_mb *mb;
	const struct plan_sample *s;
	size_t m, k, q = 0;
	int d;

	for (d = 0; d < pl->job.dp; d++) {
		rk = &pl->ranks[it * (size_t)pl->job.dp + (size_t)d];
		if (nmb != NULL && rk->n != nmb[d])
			fail_msg("DP rank %d: %zu micro-batches, expected %zu",
			    d, rk->n, nmb[d]);
		for (m = 0; m < rk->n; m++) {
			mb = &pl->mbs[rk->first + m];
			for (k = 0; k < mb->n; k++, q++) {
				s = &pl->samples[mb->first + k];
				assert_true(q < n);
				if (w[q].d != d || w[q].m != m ||
				    w[q].index != s->index ||
				    w[q].place != s->place)
					fail_msg("sample %zu: rank %d mb %zu "
					    "#%u place %d, expected rank %d "
					    "mb %zu #%u place %d", q, d, m,
					    s->index, (int)s->place, w[q].d,
					    w[q].m, w[q].index,
					    (int)w[q].place);
				if (t != NULL)
					assert_int_equal(s->len,
					    t->len[s->index]);
			}
		}
	}
	assert_int_equal(q, n);
}

size_t
tutil_scale(size_t n)
{
	const char *q = getenv("SKRULL_TEST_QUICK");

	if (q == NULL || q[0] == '\0')
		return n;
	return n / 10 > 0 ? n / 10 : 1;
}

long long
tutil_ns(double sec)
{
	return llround(sec * 1e9);
}

void
tutil_hand_job(struct job *j, int dp, int cp, int layers, int zero)
{
	tutil_job64(j, dp, 4, cp, 1000);
	j->model.layers = layers;
	strcpy(j->cluster.name, "hand");
	strcpy(j->cluster.gpu.name, "hand");
	j->cluster.gpu.peak_flops = 1e30;
	j->cluster.gpu.hbm_bytes = 1e12;
	j->cluster.gpu.hbm_bw = 1e30;
	j->cluster.eff.gemm_max = 0.5;
	j->cluster.eff.gemm_half = 1;
	j->cluster.eff.attn_max = 0.5;
	j->cluster.eff.attn_half = 1;
	j->cluster.eff.mem_eff = 0.5;
	j->cluster.eff.launch = 1e-6;
	j->cluster.nodes = 1;
	j->cluster.gpus_per_node = dp * cp;
	j->cluster.nvlink_bw = 1e30;
	j->cluster.nvlink_lat = 3e-6;
	j->cluster.ib_bw = 1e30;
	j->cluster.ib_lat = 3e-6;
	j->zero = zero;
	j->recompute = RECOMPUTE_NONE;
	j->precision = PRECISION_BF16;
}

void
tutil_count_progress(void *ctx, size_t done, size_t total)
{
	struct tutil_calls *c = ctx;

	if (done != c->last + 1 || (c->n > 0 && total != c->total))
		c->bad++;
	c->n++;
	c->last = done;
	c->total = total;
}
