/* ranks: see ranks.h. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "ranks.h"

#define RANKS_MAX 65536

/* What the threads share. */
struct run {
	int (*fn)(int, void *);
	void (*stop)(int, void *);
	void *arg;
	pthread_mutex_t mu;
	int failed;             /* the first failing rank, -1 while none */
	int code;               /* its code */
	char msg[ERR_MSG_MAX];  /* its message */
};

/* One thread's start. */
struct seat {
	struct run *run;
	int rank;
};

/* Record rank's failure if it is the first, then stop the others. */
static void
fail(struct run *run, int rank, int code, const char *msg)
{
	int first;

	pthread_mutex_lock(&run->mu);
	first = run->failed < 0;
	if (first) {
		run->failed = rank;
		run->code = code;
		strncpy(run->msg, msg, sizeof run->msg - 1);
	}
	pthread_mutex_unlock(&run->mu);
	if (first && run->stop != NULL)
		run->stop(rank, run->arg);
}

static void *
body(void *p)
{
	struct seat *s = p;
	int e;

	err_clear();
	if ((e = s->run->fn(s->rank, s->run->arg)) != SK_OK)
		fail(s->run, s->rank, e, err_msg());
	return NULL;
}

int
ranks_run(int n, int (*fn)(int rank, void *arg),
    void (*stop)(int rank, void *arg), void *arg, int *failed)
{
	struct run run;
	struct seat *seat;
	pthread_t *th;
	int k, started = 0, e;

	if (failed != NULL)
		*failed = -1;
	if (n < 1 || n > RANKS_MAX || fn == NULL)
		return err_set(SK_ERR_ARG, "ranks: %d ranks (1 .. %d)%s", n,
		    RANKS_MAX, fn == NULL ? ", no function" : "");
	seat = calloc((size_t)n, sizeof *seat);
	th = calloc((size_t)n, sizeof *th);
	if (seat == NULL || th == NULL) {
		free(seat);
		free(th);
		return err_set(SK_ERR_NOMEM, "ranks: out of memory for %d "
		    "threads", n);
	}
	memset(&run, 0, sizeof run);
	run.fn = fn;
	run.stop = stop;
	run.arg = arg;
	run.failed = -1;
	pthread_mutex_init(&run.mu, NULL);
	for (k = 0; k < n; k++) {
		seat[k].run = &run;
		seat[k].rank = k;
		if ((e = pthread_create(&th[k], NULL, body, &seat[k])) != 0) {
			err_set(SK_ERR_NOMEM, "ranks: cannot start the thread of "
			    "rank %d of %d: pthread_create: %s", k, n,
			    e == EAGAIN ? "EAGAIN, out of threads or memory" :
			    e == EPERM ? "EPERM" : "EINVAL");
			fail(&run, k, SK_ERR_NOMEM, err_msg());
			break;
		}
		started++;
	}
	for (k = 0; k < started; k++)
		pthread_join(th[k], NULL);
	pthread_mutex_destroy(&run.mu);
	free(seat);
	free(th);
	if (run.failed < 0)
		return SK_OK;
	if (failed != NULL)
		*failed = run.failed;
	return err_set(run.code, "%s", run.msg);
}
