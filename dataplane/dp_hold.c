/* Frames held for unresolved peers (dp_hold.h): per-peer FIFOs over void *, pure C. */
#include "dp_hold.h"

#include <errno.h>
#include <string.h>

_Static_assert(DP_ARP_HOLD > 0 && DP_ARP_HOLD <= UINT8_MAX, "dp_hold_q.len is a uint8_t");

void dp_hold_init(struct dp_hold *h, uint64_t age)
{
	memset(h, 0, sizeof(*h));
	h->age = age ? age : 1;
}

static struct dp_hold_q *find(const struct dp_hold *h, uint16_t id)
{
	/* a linear walk: only frames to unresolved peers come here, and few peers are */
	for (unsigned i = 0; i < h->nq; i++)
		if (h->q[i].id == id)
			return (struct dp_hold_q *)&h->q[i];
	return NULL;
}

int dp_hold_put(struct dp_hold *h, uint16_t id, void *obj, uint64_t now, void **evicted)
{
	struct dp_hold_q *q = find(h, id);
	int rc = 0;

	*evicted = NULL;
	if (q == NULL) {
		if (h->nq == DP_HOLD_PEERS)
			return -ENOSPC;
		q = &h->q[h->nq++];
		q->id = id;
		q->head = 0;
		q->len = 0;
	}
	if (q->len == DP_ARP_HOLD) {
		*evicted = q->e[q->head].obj;
		q->head = (uint8_t)((q->head + 1) % DP_ARP_HOLD);
		q->len--;
		h->total--;
		rc = 1;
	}
	q->e[(q->head + q->len) % DP_ARP_HOLD] = (struct dp_hold_ent){ obj, now };
	q->len++;
	h->total++;
	return rc;
}

/* Queue @q is empty: the last one takes its place. */
static void q_remove(struct dp_hold *h, struct dp_hold_q *q)
{
	struct dp_hold_q *last = &h->q[h->nq - 1];

	if (q != last)
		*q = *last;
	h->nq--;
}

unsigned dp_hold_take(struct dp_hold *h, uint16_t id, void **out)
{
	struct dp_hold_q *q = find(h, id);
	unsigned k;

	if (q == NULL)
		return 0;
	k = q->len;
	for (unsigned i = 0; i < k; i++)
		out[i] = q->e[(q->head + i) % DP_ARP_HOLD].obj;
	h->total -= k;
	q_remove(h, q);
	return k;
}

unsigned dp_hold_expire(struct dp_hold *h, uint64_t now, void **out, unsigned max)
{
	unsigned k = 0;

	if (h->total == 0)
		return 0;
	for (unsigned i = h->nq; i-- > 0 && k < max;) {
		struct dp_hold_q *q = &h->q[i];

		/* times rise along a queue: only its oldest can be due */
		while (q->len > 0 && k < max && now >= q->e[q->head].t &&
		       now - q->e[q->head].t >= h->age) {
			out[k++] = q->e[q->head].obj;
			q->head = (uint8_t)((q->head + 1) % DP_ARP_HOLD);
			q->len--;
			h->total--;
		}
		if (q->len == 0)
			q_remove(h, q); /* the last one (already visited) moves into i */
	}
	return k;
}

unsigned dp_hold_count(const struct dp_hold *h, uint16_t id)
{
	const struct dp_hold_q *q = find(h, id);

	return q != NULL ? q->len : 0;
}
