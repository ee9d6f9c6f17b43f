/*
 * queue: see queue.h.
 *
 * A binary min-heap in one array, ordered by (t, seq).  seq is unique, so
 * the order is total and the pop sequence does not depend on how the heap
 * happens to be arranged: equal times come out in insertion order.  Both
 * sifts move a hole instead of swapping, one copy per level, and every
 * copy of a keyed event records its new index (pos), so that
 * sim_queue_set finds the event it moves in constant time.
 */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "queue.h"

static inline int
before(const struct sim_event *a, const struct sim_event *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static inline void
place(struct sim_queue *q, size_t i, const struct sim_event *e)
{
	q->heap[i] = *e;
	if (e->key != SIM_NOKEY)
		q->pos[e->key] = i;
}

/* e into the hole at i, moved toward the root while it comes first. */
static inline void
sift_up(struct sim_queue *q, size_t i, const struct sim_event *e)
{
	size_t parent;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (!before(e, &q->heap[parent]))
			break;
		place(q, i, &q->heap[parent]);
		i = parent;
	}
	place(q, i, e);
}

/* e into the hole at i, moved toward the leaves while a child comes
 * first. */
static inline void
sift_down(struct sim_queue *q, size_t i, const struct sim_event *e)
{
	size_t c, n = q->n;

	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && before(&q->heap[c + 1], &q->heap[c]))
			c++;
		if (!before(&q->heap[c], e))
			break;
		place(q, i, &q->heap[c]);
		i = c;
	}
	place(q, i, e);
}

int
sim_queue_init(struct sim_queue *q, size_t cap, size_t nkeys)
{
	memset(q, 0, sizeof *q);
	if (cap == 0)
		return err_set(SK_ERR_ARG, "sim_queue: a capacity of 0 events");
	if (cap > SIZE_MAX / sizeof *q->heap || nkeys > SIM_NOKEY ||
	    nkeys > SIZE_MAX / sizeof *q->pos ||
	    (q->heap = malloc(cap * sizeof *q->heap)) == NULL ||
	    (nkeys > 0 && (q->pos = malloc(nkeys * sizeof *q->pos)) == NULL)) {
		free(q->heap);
		q->heap = NULL;
		return err_set(SK_ERR_NOMEM, "sim_queue: out of memory for %zu "
		    "events", cap);
	}
	q->cap = cap;
	q->nkeys = nkeys;
	sim_queue_clear(q);
	return SK_OK;
}

void
sim_queue_free(struct sim_queue *q)
{
	free(q->heap);
	free(q->pos);
	memset(q, 0, sizeof *q);
}

void
sim_queue_clear(struct sim_queue *q)
{
	size_t k;

	q->n = 0;
	q->next_seq = 0;
	for (k = 0; k < q->nkeys; k++)
		q->pos[k] = SIZE_MAX;
}

static int
insert(struct sim_queue *q, const struct sim_event *e)
{
	if (q->n == q->cap)
		return err_set(SK_ERR_RANGE, "sim_queue: full (%zu events)",
		    q->cap);
	sift_up(q, q->n++, e);
	return SK_OK;
}

int
sim_queue_push(struct sim_queue *q, sim_ns t, uint32_t type, uint32_t a,
    uint32_t b)
{
	struct sim_event e;

	e.t = t;
	e.seq = q->next_seq++;
	e.type = type;
	e.a = a;
	e.b = b;
	e.key = SIM_NOKEY;
	return insert(q, &e);
}

int
sim_queue_set(struct sim_queue *q, uint32_t key, sim_ns t, uint32_t type,
    uint32_t a, uint32_t b)
{
	struct sim_event e;
	size_t i;

	if (key >= q->nkeys)
		return err_set(SK_ERR_ARG, "sim_queue: key %u of %zu",
		    (unsigned)key, q->nkeys);
	i = q->pos[key];
	e.t = t;
	e.seq = q->next_seq++;
	e.type = type;
	e.a = a;
	e.b = b;
	e.key = key;
	if (i == SIZE_MAX)
		return insert(q, &e);
	/* The heap holds everywhere but at i; the new (t, seq) goes up if it
	 * comes before the old one, else down. */
	if (before(&e, &q->heap[i]))
		sift_up(q, i, &e);
	else
		sift_down(q, i, &e);
	return SK_OK;
}

int
sim_queue_pop(struct sim_queue *q, struct sim_event *e)
{
	struct sim_event last;
	size_t n;

	if (q->n == 0)
		return 0;
	*e = q->heap[0];
	if (e->key != SIM_NOKEY)
		q->pos[e->key] = SIZE_MAX;
	n = --q->n;
	if (n == 0)
		return 1;
	/* Sift the last element down from the root. */
	last = q->heap[n];
	sift_down(q, 0, &last);
	return 1;
}
