/*
 * Unit tests of how the ranks meet (src/exec/world.c), with the ranks as
 * threads over the loopback communicator (world_threads_run).  The plan
 * agreement: equal digests agree; a digest that differs from rank 0's in
 * its lowest bit, or in its highest, is refused on every rank with the
 * messages below, written out by hand; a rank that could not load its
 * plan makes the others refuse, naming it, while its own message stands.
 * Then the choice of communicator for threads and processes, a failing
 * rank that stops the others at once, and the report's description.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "backend.h"
#include "comm.h"
#include "err.h"
#include "world.h"

#define MAXR 4

/* What the ranks of one scenario share; each rank writes only its own
 * entries, the main thread reads them after world_threads_run. */
struct ctx {
	uint64_t digest[MAXR];  /* each rank's plan digest */
	int failed[MAXR];       /* 1: this rank could not load its plan */
	int code[MAXR];         /* world_agree's code on each rank */
	char msg[MAXR][512];    /* each rank's message after it */
};

static int
do_agree(int rank, struct comm *c, void *arg)
{
	struct ctx *x = arg;

	if (x->failed[rank])
		err_set(SK_ERR_FORMAT, "p.json: rank %d's own failure", rank);
	x->code[rank] = world_agree(c, x->failed[rank], x->digest[rank],
	    "p.json", 5);
	snprintf(x->msg[rank], sizeof x->msg[rank], "%s", err_msg());
	return SK_OK;
}

/* Run the agreement on n threads over the loopback. */
static void
agree(int n, struct ctx *x)
{
	struct world w;
	int failed;

	world_init(&w, NULL);
	assert_int_equal(world_threads(&w, WORLD_LOOP, n, &backend_cpu_ops, 5),
	    SK_OK);
	assert_int_equal(world_threads_run(&w, do_agree, x, &failed), SK_OK);
	assert_int_equal(failed, -1);
	world_free(&w);
}

static void
test_agree_same(void **state)
{
	struct ctx x;
	int k;

	(void)state;
	memset(&x, 0, sizeof x);
	for (k = 0; k < 4; k++)
		x.digest[k] = 0xfedcba9876543210ULL;
	agree(4, &x);
	for (k = 0; k < 4; k++)
		assert_int_equal(x.code[k], SK_OK);
}

/* Rank 2 of 3 has rank 0's digest but for the bit flip. */
static void
differs(uint64_t flip, const char *mine, const char *others)
{
	struct ctx x;
	int k;

	memset(&x, 0, sizeof x);
	for (k = 0; k < 3; k++)
		x.digest[k] = 0x0123456789abcdefULL;
	x.digest[2] ^= flip;
	agree(3, &x);
	for (k = 0; k < 3; k++)
		assert_int_equal(x.code[k], SK_ERR_ARG);
	assert_string_equal(x.msg[0], others);
	assert_string_equal(x.msg[1], others);
	assert_string_equal(x.msg[2], mine);
}

static void
test_agree_low_bit(void **state)
{
	(void)state;
	differs(1, "the plan p.json (digest 0123456789abcdee) differs from "
	    "rank 0's (digest 0123456789abcdef): every rank must run the same "
	    "plan; refused", "rank 2 has a plan other than rank 0's (digest "
	    "0123456789abcdef): refused");
}

static void
test_agree_high_bit(void **state)
{
	(void)state;
	differs(1ULL << 63, "the plan p.json (digest 8123456789abcdef) differs "
	    "from rank 0's (digest 0123456789abcdef): every rank must run the "
	    "same plan; refused", "rank 2 has a plan other than rank 0's "
	    "(digest 0123456789abcdef): refused");
}

/* Ranks 1 and 3 of 4 could not load: the load failure is named first,
 * whatever the digests. */
static void
test_agree_load(void **state)
{
	struct ctx x;
	int k;

	(void)state;
	memset(&x, 0, sizeof x);
	for (k = 0; k < 4; k++)
		x.digest[k] = (uint64_t)k;
	x.failed[1] = x.failed[3] = 1;
	agree(4, &x);
	for (k = 0; k < 4; k++)
		assert_int_equal(x.code[k], SK_ERR_ARG);
	assert_string_equal(x.msg[0], "the plan could not be loaded on ranks "
	    "1, 3 (see their messages): refused");
	assert_string_equal(x.msg[2], x.msg[0]);
	assert_string_equal(x.msg[1], "p.json: rank 1's own failure");
	assert_string_equal(x.msg[3], "p.json: rank 3's own failure");
}

static int
do_fail(int rank, struct comm *c, void *arg)
{
	(void)arg;
	if (rank == 1)
		return err_set(SK_ERR_FORMAT, "rank 1 gives up");
	/* The others wait in a barrier that rank 1 never reaches: the
	 * poisoned group ends it long before the 30 s timeout. */
	return c->ops->barrier(c);
}

static void
test_threads_fail(void **state)
{
	struct world w;
	char how[WORLD_HOW_MAX];
	int failed;

	(void)state;
	world_init(&w, NULL);
	assert_int_equal(world_threads(&w, WORLD_LOOP, 3, &backend_cpu_ops, 30),
	    SK_OK);
	world_how(&w, how, sizeof how);
	assert_string_equal(how, "loopback (emulated: 3 ranks in one process)");
	assert_int_equal(world_emulated(&w), 1);
	assert_int_equal(world_threads_run(&w, do_fail, NULL, &failed),
	    SK_ERR_FORMAT);
	assert_int_equal(failed, 1);
	assert_string_equal(err_msg(), "rank 1 gives up");
	world_free(&w);
}

static void
test_choice(void **state)
{
	enum world_comm k;

	(void)state;
	/* The CPU backend never gets NCCL of its own accord. */
	assert_int_equal(world_thread_comm(WORLD_AUTO, &backend_cpu_ops, 4, 4,
	    &k), SK_OK);
	assert_int_equal(k, WORLD_LOOP);
	assert_int_equal(world_thread_comm(WORLD_LOOP, &backend_cpu_ops, 4, 1,
	    &k), SK_OK);
	assert_int_equal(k, WORLD_LOOP);
	assert_int_not_equal(world_thread_comm(WORLD_NCCL, &backend_cpu_ops, 2,
	    1, &k), SK_OK);
	assert_int_equal(world_process_comm(WORLD_AUTO, &backend_cpu_ops, &k),
	    SK_OK);
	assert_int_equal(k, WORLD_MPI);
	assert_int_equal(world_processes(WORLD_MPI), 1);
	assert_int_equal(world_processes(WORLD_LOOP), 0);
	assert_int_equal(world_built(WORLD_LOOP), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agree_same),
		cmocka_unit_test(test_agree_low_bit),
		cmocka_unit_test(test_agree_high_bit),
		cmocka_unit_test(test_agree_load),
		cmocka_unit_test(test_threads_fail),
		cmocka_unit_test(test_choice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
