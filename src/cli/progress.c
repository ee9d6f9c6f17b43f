/* progress: see progress.h. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "progress.h"

int
progress_wanted(int quiet, int fd)
{
	const char *env = getenv("SKRULL_PROGRESS");

	if (quiet)
		return 0;
	if (env != NULL && strcmp(env, "0") == 0)
		return 0;
	if (env != NULL && strcmp(env, "1") == 0)
		return 1;
	return isatty(fd);
}

void
progress_init(struct progress *p, FILE *f, const char *label)
{
	p->f = f;
	snprintf(p->label, sizeof p->label, "%s", label);
	p->pct = -1;
	p->width = 0;
	p->per = 1;
	pthread_mutex_init(&p->mu, NULL);
}

void
progress_per(struct progress *p, size_t per)
{
	p->per = per > 0 ? per : 1;
}

void
progress_update(struct progress *p, size_t done, size_t total,
    const char *extra)
{
	char line[160];
	size_t n;
	int pct, len;

	if (p->f == NULL || total == 0)
		return;
	if (done > total)
		done = total;
	/* In double: done * 100 can overflow size_t for a huge total. */
	pct = (int)(100.0 * (double)done / (double)total);
	pthread_mutex_lock(&p->mu);
	if (pct > p->pct) {
		len = snprintf(line, sizeof line, "skrull %s: %d%% (%zu/%zu)%s",
		    p->label, pct, done / p->per, total / p->per,
		    extra != NULL ? extra : "");
		n = len < 0 ? 0 : (size_t)len < sizeof line ? (size_t)len :
		    sizeof line - 1;
		fprintf(p->f, "\r%.*s", (int)n, line);
		for (; p->width > n; p->width--)
			fputc(' ', p->f);
		p->width = n;
		p->pct = pct;
		fflush(p->f);
	}
	pthread_mutex_unlock(&p->mu);
}

void
progress_cb(void *ctx, size_t done, size_t total)
{
	progress_update(ctx, done, total, NULL);
}

void
progress_next(struct progress *p)
{
	pthread_mutex_lock(&p->mu);
	if (p->f != NULL && p->pct >= 0) {
		fputc('\n', p->f);
		fflush(p->f);
	}
	p->pct = -1;
	p->width = 0;
	pthread_mutex_unlock(&p->mu);
}

void
progress_end(struct progress *p)
{
	progress_next(p);
	pthread_mutex_destroy(&p->mu);
	p->f = NULL;
}
