/* Unit tests of the simulator's event queue: order, ties, capacity, keyed
 * events moved in time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "queue.h"

/* Times pushed out of order come out sorted; a and b travel along. */
static void
test_order(void **state)
{
	static const sim_ns t[] = { 907, 13, 4411, 250, 13002, 61, 7, 3308 };
	/* t sorted: 7, 13, 61, 250, 907, 3308, 4411, 13002, pushed as
	 * indices 6, 1, 5, 3, 0, 7, 2, 4 */
	static const uint32_t order[] = { 6, 1, 5, 3, 0, 7, 2, 4 };
	struct sim_queue q;
	struct sim_event e;
	size_t i;

	assert_int_equal(sim_queue_init(&q, 8, 0), SK_OK);
	for (i = 0; i < 8; i++)
		assert_int_equal(sim_queue_push(&q, t[i], 3, (uint32_t)i,
		    (uint32_t)(100 + i)), SK_OK);
	for (i = 0; i < 8; i++) {
		assert_int_equal(sim_queue_pop(&q, &e), 1);
		assert_int_equal(e.a, order[i]);
		assert_int_equal(e.b, 100 + order[i]);
		assert_int_equal(e.t, t[order[i]]);
		assert_int_equal(e.type, 3);
	}
	assert_int_equal(sim_queue_pop(&q, &e), 0);
	sim_queue_free(&q);
}

/*
 * Equal times leave in insertion order, whatever the heap's shape: 37
 * events at 5 times, interleaved with pops.  The expected order is built
 * by a second method: a stable sort by time of the pushes (insertion sort
 * over the sequence numbers).
 */
static void
test_ties(void **state)
{
	struct sim_queue q;
	struct sim_event e;
	sim_ns want_t[37];
	uint32_t want_a[37];
	size_t i, j, n = 0, got = 0;

	assert_int_equal(sim_queue_init(&q, 37, 0), SK_OK);
	for (i = 0; i < 37; i++) {
		sim_ns t = (sim_ns)((i * 7) % 5) * 1000 + 3;

		assert_int_equal(sim_queue_push(&q, t, 0, (uint32_t)i, 0),
		    SK_OK);
		for (j = n; j > 0 && want_t[j - 1] > t; j--) {
			want_t[j] = want_t[j - 1];
			want_a[j] = want_a[j - 1];
		}
		want_t[j] = t;
		want_a[j] = (uint32_t)i;
		n++;
	}
	while (sim_queue_pop(&q, &e) == 1) {
		assert_true(got < 37);
		assert_int_equal(e.t, want_t[got]);
		assert_int_equal(e.a, want_a[got]);
		got++;
	}
	assert_int_equal(got, 37);

	/* Interleaved: pop one of time 0, push two more at time 0: they
	 * follow the ones already there, the sequence goes on counting. */
	sim_queue_clear(&q);
	for (i = 0; i < 4; i++)
		assert_int_equal(sim_queue_push(&q, 0, 0, (uint32_t)i, 0), SK_OK);
	assert_int_equal(sim_queue_pop(&q, &e), 1);
	assert_int_equal(e.a, 0);
	assert_int_equal(e.seq, 0);
	assert_int_equal(sim_queue_push(&q, 0, 0, 4, 0), SK_OK);
	assert_int_equal(sim_queue_push(&q, 0, 0, 5, 0), SK_OK);
	for (i = 1; i <= 5; i++) {
		assert_int_equal(sim_queue_pop(&q, &e), 1);
		assert_int_equal(e.a, i);
		assert_int_equal(e.seq, i);
	}
	sim_queue_free(&q);
}

/* A full heap refuses a push with SK_ERR_RANGE and keeps its events;
 * clear empties it and restarts the sequence. */
static void
test_full(void **state)
{
	struct sim_queue q;
	struct sim_event e;

	assert_int_equal(sim_queue_init(&q, 3, 0), SK_OK);
	assert_int_equal(sim_queue_push(&q, 30, 0, 1, 0), SK_OK);
	assert_int_equal(sim_queue_push(&q, 10, 0, 2, 0), SK_OK);
	assert_int_equal(sim_queue_push(&q, 20, 0, 3, 0), SK_OK);
	assert_int_equal(sim_queue_push(&q, 5, 0, 4, 0), SK_ERR_RANGE);
	assert_non_null(strstr(err_msg(), "full"));
	assert_int_equal(q.n, 3);
	assert_int_equal(sim_queue_pop(&q, &e), 1);
	assert_int_equal(e.a, 2);
	/* room again for one */
	assert_int_equal(sim_queue_push(&q, 5, 0, 4, 0), SK_OK);
	assert_int_equal(sim_queue_pop(&q, &e), 1);
	assert_int_equal(e.a, 4);
	sim_queue_clear(&q);
	assert_int_equal(sim_queue_pop(&q, &e), 0);
	assert_int_equal(sim_queue_push(&q, 9, 0, 7, 0), SK_OK);
	assert_int_equal(sim_queue_pop(&q, &e), 1);
	assert_int_equal(e.seq, 0);
	sim_queue_free(&q);

	assert_int_equal(sim_queue_init(&q, 0, 0), SK_ERR_ARG);
	sim_queue_free(&q);
}

/*
 * Many events, pseudo-random times with repeats (a linear congruential
 * sequence), popped and compared with the second method: (t, seq) must
 * never decrease, and every pushed event comes out once.
 */
static void
test_random(void **state)
{
	enum { N = 5000 };
	struct sim_queue q;
	struct sim_event e, prev;
	static unsigned char seen[N];
	uint64_t x = 88172645463325252ull;
	size_t i, got = 0;

	assert_int_equal(sim_queue_init(&q, N, 0), SK_OK);
	for (i = 0; i < N; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		assert_int_equal(sim_queue_push(&q, (sim_ns)(x >> 54), 1,
		    (uint32_t)i, 0), SK_OK);
	}
	memset(seen, 0, sizeof seen);
	while (sim_queue_pop(&q, &e) == 1) {
		if (got > 0)
			assert_true(prev.t < e.t ||
			    (prev.t == e.t && prev.seq < e.seq));
		assert_int_equal(e.seq, e.a);
		assert_false(seen[e.a]);
		seen[e.a] = 1;
		prev = e;
		got++;
	}
	assert_int_equal(got, N);
	sim_queue_free(&q);
}

/*
 * Keyed events.  Keys 0, 1, 2 at 50, 20, 40 beside unkeyed ones at 30 and
 * 60; key 0 moved to 10 (earlier), key 1 to 45 (later), key 2 to 30 (the
 * time of an unkeyed event already there: it goes after it).  Popped:
 * key 0 at 10, the unkeyed 30, key 2 at 30, key 1 at 45, the unkeyed 60.
 * A popped key is free again: set pushes it anew; one out of range is
 * refused.
 */
static void
test_keys(void **state)
{
	static const uint32_t want_a[] = { 100, 7, 102, 101, 8 };
	static const sim_ns want_t[] = { 10, 30, 30, 45, 60 };
	struct sim_queue q;
	struct sim_event e;
	size_t i;

	assert_int_equal(sim_queue_init(&q, 5, 3), SK_OK);
	assert_int_equal(sim_queue_set(&q, 0, 50, 1, 100, 0), SK_OK);
	assert_int_equal(sim_queue_set(&q, 1, 20, 1, 101, 0), SK_OK);
	assert_int_equal(sim_queue_push(&q, 30, 2, 7, 0), SK_OK);
	assert_int_equal(sim_queue_set(&q, 2, 40, 1, 102, 0), SK_OK);
	assert_int_equal(sim_queue_push(&q, 60, 2, 8, 0), SK_OK);
	assert_int_equal(sim_queue_set(&q, 0, 10, 1, 100, 0), SK_OK);
	assert_int_equal(sim_queue_set(&q, 1, 45, 1, 101, 0), SK_OK);
	assert_int_equal(sim_queue_set(&q, 2, 30, 1, 102, 0), SK_OK);
	/* moved, not added */
	assert_int_equal(q.n, 5);
	for (i = 0; i < 5; i++) {
		assert_int_equal(sim_queue_pop(&q, &e), 1);
		assert_int_equal(e.a, want_a[i]);
		assert_int_equal(e.t, want_t[i]);
		assert_int_equal(e.key, e.a >= 100 ? e.a - 100 : SIM_NOKEY);
	}
	assert_int_equal(sim_queue_pop(&q, &e), 0);
	assert_int_equal(sim_queue_set(&q, 1, 5, 1, 9, 0), SK_OK);
	assert_int_equal(q.n, 1);
	assert_int_equal(sim_queue_set(&q, 3, 5, 1, 9, 0), SK_ERR_ARG);
	/* clear forgets the keys */
	sim_queue_clear(&q);
	assert_int_equal(sim_queue_set(&q, 1, 6, 1, 11, 0), SK_OK);
	assert_int_equal(q.n, 1);
	assert_int_equal(sim_queue_pop(&q, &e), 1);
	assert_int_equal(e.a, 11);
	sim_queue_free(&q);
}

/*
 * Keyed and unkeyed events mixed, moved at random, against a second
 * method: a plain array of the live events, the earliest found by a scan
 * of (t, seq).  Each step pushes an unkeyed event, sets a random key to
 * a random time or pops, the queue's answer compared with the array's.
 */
static void
test_keys_random(void **state)
{
	enum { K = 16, STEPS = 20000, CAP = 64 };
	struct sim_queue q;
	struct sim_event e, live[CAP];
	uint64_t x = 1181783497276652981ull, seq = 0;
	size_t n = 0, i, best, step;
	uint32_t key;
	sim_ns t;

	assert_int_equal(sim_queue_init(&q, CAP, K), SK_OK);
	for (step = 0; step < STEPS; step++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		t = (sim_ns)((x >> 40) % 97);
		key = (uint32_t)((x >> 20) % K);
		switch ((x >> 60) % 4) {
		case 0:
			if (n == CAP)
				break;
			assert_int_equal(sim_queue_push(&q, t, 0, (uint32_t)step,
			    0), SK_OK);
			live[n].t = t;
			live[n].seq = seq++;
			live[n].a = (uint32_t)step;
			live[n++].key = SIM_NOKEY;
			break;
		case 1:
		case 2:
			for (i = 0; i < n && live[i].key != key; i++)
				;
			if (i == n && n == CAP)
				break;
			assert_int_equal(sim_queue_set(&q, key, t, 0,
			    (uint32_t)step, 0), SK_OK);
			live[i].t = t;
			live[i].seq = seq++;
			live[i].a = (uint32_t)step;
			live[i].key = key;
			if (i == n)
				n++;
			break;
		default:
			if (n == 0) {
				assert_int_equal(sim_queue_pop(&q, &e), 0);
				break;
			}
			for (best = 0, i = 1; i < n; i++)
				if (live[i].t < live[best].t ||
				    (live[i].t == live[best].t &&
				    live[i].seq < live[best].seq))
					best = i;
			assert_int_equal(sim_queue_pop(&q, &e), 1);
			assert_int_equal(e.t, live[best].t);
			assert_int_equal(e.seq, live[best].seq);
			assert_int_equal(e.a, live[best].a);
			assert_int_equal(e.key, live[best].key);
			live[best] = live[--n];
		}
		assert_int_equal(q.n, n);
	}
	sim_queue_free(&q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_ties),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_keys_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
