/*
 * queue: see queue.h.
 *
 * A binary min-heap in one array, ordered by (t, seq).  seq is unique, so
 * the order is total and the pop sequence does not depend on how the heap
 * happens to be arranged: equal times come out in insertion order.  Both
 * sifts move a hole instead of swapping, one copy per level.
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

int
sim_queue_init(struct sim_queue *q, size_t cap)
{
	memset(q, 0, sizeof *q);
	if (cap == 0)
		return err_set(SK_ERR_ARG, "sim_queue: a capacity of 0 events");
	if (cap > SIZE_MAX / sizeof *q->heap ||
	    (q->heap = malloc(cap * sizeof *q->heap)) == NULL)
		return err_set(SK_ERR_NOMEM, "sim_queue: out of memory for %zu "
		    "events", cap);
	q->cap = cap;
	return SK_OK;
}

void
sim_queue_free(struct sim_queue *q)
{
	free(q->heap);
	memset(q, 0, sizeof *q);
}

void
sim_queue_clear(struct sim_queue *q)
{
	q->n = 0;
	q->next_seq = 0;
}

int
sim_queue_push(struct sim_queue *q, sim_ns t, uint32_t type, uint32_t a,
    uint32_t b)
{
	struct sim_event e;
	size_t i, parent;

	if (q->n == q->cap)
		return err_set(SK_ERR_RANGE, "sim_queue: full (%zu events)",
		    q->cap);
	e.t = t;
	e.seq = q->next_seq++;
	e.type = type;
	e.a = a;
	e.b = b;
	i = q->n++;
	while (i > 0) {
		parent = (i - 1) / 2;
		if (!before(&e, &q->heap[parent]))
			break;
		q->heap[i] = q->heap[parent];
		i = parent;
	}
	q->heap[i] = e;
	return SK_OK;
}

int
sim_queue_pop(struct sim_queue *q, struct sim_event *e)
{
	struct sim_event last;
	size_t i, c, n;

	if (q->n == 0)
		return 0;
	*e = q->heap[0];
	n = --q->n;
	if (n == 0)
		return 1;
	/* Sift the last element down from the root. */
	last = q->heap[n];
	i = 0;
	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && before(&q->heap[c + 1], &q->heap[c]))
			c++;
		if (!before(&q->heap[c], &last))
			break;
		q->heap[i] = q->heap[c];
		i = c;
	}
	q->heap[i] = last;
	return 1;
}
