/* Client request ids: a ring of the newest requests plus an open-addressing index. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "cp_reqids.h"

static uint32_t hash(const char *key)
{
	return (uint32_t)XXH3_64bits(key, strlen(key));
}

int cp_reqids_init(struct cp_reqids *t, uint32_t window)
{
	uint32_t slots = 4;

	memset(t, 0, sizeof(*t));
	if (window == 0 || window > (1u << 24))
		return -EINVAL;
	while (slots < window * 2)
		slots *= 2;
	t->recs = calloc(window, sizeof(*t->recs));
	t->slots = calloc(slots, sizeof(*t->slots));
	if (!t->recs || !t->slots) {
		cp_reqids_fini(t);
		return -ENOMEM;
	}
	t->cap = window;
	t->mask = slots - 1;
	return 0;
}

void cp_reqids_fini(struct cp_reqids *t)
{
	free(t->recs);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

/* Index slot holding @key, or the empty slot where it would go. */
static uint32_t probe(const struct cp_reqids *t, const char *key)
{
	for (uint32_t i = hash(key) & t->mask;; i = (i + 1) & t->mask)
		if (!t->slots[i] || !strcmp(t->recs[t->slots[i] - 1].key, key))
			return i;
}

struct cp_reqid_rec *cp_reqids_find(struct cp_reqids *t, const char *key)
{
	if (!t->cap || !key[0])
		return NULL;
	uint32_t i = probe(t, key);
	if (!t->slots[i])
		return NULL;
	t->hits++;
	return &t->recs[t->slots[i] - 1];
}

static void unindex(struct cp_reqids *t, uint32_t i)
{
	/* backward-shift deletion keeps probe runs whole without tombstones */
	for (uint32_t j = (i + 1) & t->mask; t->slots[j]; j = (j + 1) & t->mask) {
		uint32_t home = hash(t->recs[t->slots[j] - 1].key) & t->mask;
		if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	t->slots[i] = 0;
}

struct cp_reqid_rec *cp_reqids_add(struct cp_reqids *t, const char *key)
{
	size_t len = strlen(key);

	if (!t->cap || !len || len > CP_REQID_MAX)
		return NULL;
	if (t->n == t->cap) { /* the oldest leaves the window */
		struct cp_reqid_rec *old = &t->recs[t->head];
		unindex(t, probe(t, old->key));
		old->state = 0;
		t->head = (t->head + 1) % t->cap;
		t->n--;
		if (t->cursor)
			t->cursor--;
		t->evicted++;
	}
	uint32_t at = (t->head + t->n++) % t->cap;
	struct cp_reqid_rec *r = &t->recs[at];
	memset(r, 0, sizeof(*r));
	memcpy(r->key, key, len + 1);
	r->state = CP_REQID_INFLIGHT;
	t->slots[probe(t, key)] = at + 1;
	return r;
}

void cp_reqids_applied(struct cp_reqids *t, uint64_t seq, uint64_t gseq, bool ok)
{
	while (t->cursor < t->n) {
		struct cp_reqid_rec *r = &t->recs[(t->head + t->cursor) % t->cap];
		if (r->state == CP_REQID_INFLIGHT)
			return; /* its seqs are not known yet, and later ones come after it */
		if (r->state == CP_REQID_STAMPED) {
			uint64_t last = r->first_seq + r->count - 1;
			if (last > seq)
				return;
			if (last == seq) {
				r->outcome = ok ? CP_REQID_APPLIED : CP_REQID_NOT_APPLIED;
				r->gseq = ok ? gseq : 0;
			} else if (!r->outcome) {
				r->outcome = CP_REQID_UNKNOWN; /* its last seq went by unseen */
			}
		}
		t->cursor++;
	}
}
