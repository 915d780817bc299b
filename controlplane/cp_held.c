/* Held-event table: linear probing keyed by (origin, seq), backward-shift deletion so lookups
 * never wade through tombstones. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cp_held.h"

/* Runs of HELD_RUN consecutive seqs of one origin get consecutive home cells: a frame's events
 * are added, applied and released in seq order, so those passes walk neighbouring cache lines
 * of a table far larger than the cache instead of missing once per event. */
#define HELD_RUN_SHIFT 3
static uint32_t hash_key(uint16_t origin, uint64_t seq)
{
	uint64_t k = (seq >> HELD_RUN_SHIFT) * 0x9e3779b97f4a7c15ull ^ ((uint64_t)origin << 48 | origin);
	k ^= k >> 29;
	k *= 0xbf58476d1ce4e5b9ull;
	k ^= k >> 32;
	return (uint32_t)(k << HELD_RUN_SHIFT | (seq & ((1u << HELD_RUN_SHIFT) - 1)));
}

int cp_held_init(struct cp_held *h, uint32_t max_events, uint32_t n_slots)
{
	uint32_t cells = 16;

	memset(h, 0, sizeof(*h));
	while (cells < max_events + max_events / 2 + 1) /* load factor <= 2/3 */
		cells <<= 1;
	h->cells = calloc(cells, sizeof(*h->cells));
	h->slots = calloc(n_slots ? n_slots : 1, sizeof(*h->slots));
	if (!h->cells || !h->slots) {
		cp_held_fini(h);
		return -ENOMEM;
	}
	h->mask = cells - 1;
	h->n_slots = n_slots;
	return 0;
}

void cp_held_fini(struct cp_held *h)
{
	free(h->cells);
	free(h->slots);
	memset(h, 0, sizeof(*h));
}

static struct cp_held_event *find(const struct cp_held *h, uint16_t origin, uint64_t seq)
{
	for (uint32_t i = hash_key(origin, seq) & h->mask;; i = (i + 1) & h->mask) {
		struct cp_held_event *c = &h->cells[i];
		if (c->seq == 0)
			return NULL;
		if (c->seq == seq && c->origin == origin)
			return c;
	}
}

const struct cp_held_event *cp_held_get(const struct cp_held *h, uint16_t origin, uint64_t seq)
{
	return seq ? find(h, origin, seq) : NULL;
}

int cp_held_add_frame(struct cp_held *h, uint32_t slot, uint16_t origin, uint64_t first_seq,
		      uint16_t count, const struct cp_held_event *events)
{
	uint16_t added = 0;

	if (slot >= h->n_slots)
		return -ERANGE;
	if (h->slots[slot].pending)
		return -EBUSY;
	/* keep a third of the table free: probing stays short and insertion never fails midway */
	if ((uint64_t)h->count + count > (uint64_t)(h->mask + 1) * 2 / 3)
		return -ENOSPC;
	for (uint16_t i = 0; i < count; i++) {
		uint64_t seq = first_seq + i;
		if (find(h, origin, seq))
			continue;
		uint32_t j = hash_key(origin, seq) & h->mask;
		while (h->cells[j].seq)
			j = (j + 1) & h->mask;
		h->cells[j] = events[i];
		h->cells[j].seq = seq;
		h->cells[j].origin = origin;
		h->cells[j].slot = slot;
		added++;
	}
	h->count += added;
	h->slots[slot] = (struct cp_held_slot){ .origin = origin, .pending = added,
						.first_seq = first_seq,
						.last_seq = first_seq + count - 1 };
	return added;
}

int cp_held_done(struct cp_held *h, uint16_t origin, uint64_t seq, uint32_t *release_slot)
{
	const struct cp_held_event *c = seq ? find(h, origin, seq) : NULL;

	return c ? cp_held_done_at(h, c, release_slot) : -ENOENT;
}

int cp_held_done_at(struct cp_held *h, const struct cp_held_event *c, uint32_t *release_slot)
{
	uint32_t slot, i, j;

	slot = c->slot;
	/* backward-shift delete: pull later members of the probe run into the hole */
	i = (uint32_t)(c - h->cells);
	for (j = (i + 1) & h->mask; h->cells[j].seq; j = (j + 1) & h->mask) {
		uint32_t home = hash_key(h->cells[j].origin, h->cells[j].seq) & h->mask;
		/* move j into i when its home is not cyclically within (i, j] */
		if (((j - home) & h->mask) >= ((j - i) & h->mask)) {
			h->cells[i] = h->cells[j];
			i = j;
		}
	}
	h->cells[i].seq = 0;
	h->count--;
	if (--h->slots[slot].pending == 0) {
		*release_slot = slot;
		return 1;
	}
	return 0;
}

void cp_held_foreach(const struct cp_held *h,
		     int (*fn)(void *arg, const struct cp_held_event *ev), void *arg)
{
	for (uint32_t i = 0; i <= h->mask; i++)
		if (h->cells[i].seq && fn(arg, &h->cells[i]))
			return;
}
