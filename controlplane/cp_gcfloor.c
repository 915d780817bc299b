/* cp_gcfloor: members' applied watermarks bound payload-log GC (see cp_gcfloor.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cp_gcfloor.h"
#include "rumor_be.h"

#define N_ORIGINS (RUMOR_NODE_ID_MAX + 1u)

void cp_gcfloor_fini(struct cp_gcfloor *g)
{
	for (unsigned i = 0; i < CP_GCFLOOR_PEERS; i++)
		free(g->peer[i].through);
	memset(g, 0, sizeof(*g));
}

size_t cp_gcfloor_encode(const uint64_t *through, uint8_t *out, size_t cap)
{
	size_t off = 2;
	uint16_t n = 0;

	if (cap < 2)
		return 0;
	for (unsigned o = 1; o < N_ORIGINS; o++) {
		if (!through[o])
			continue;
		if (off + CP_GCFLOOR_ENTRY > cap)
			return 0;
		rumor_be_st16(out + off, (uint16_t)o);
		rumor_be_st64(out + off + 2, through[o]);
		off += CP_GCFLOOR_ENTRY;
		n++;
	}
	rumor_be_st16(out, n);
	return off;
}

static struct cp_gcfloor_peer *slot_of(struct cp_gcfloor *g, uint16_t id, bool make)
{
	struct cp_gcfloor_peer *free_slot = NULL;

	for (unsigned i = 0; i < CP_GCFLOOR_PEERS; i++) {
		if (g->peer[i].id == id)
			return &g->peer[i];
		if (!g->peer[i].id && !free_slot)
			free_slot = &g->peer[i];
	}
	if (!make || !free_slot)
		return NULL;
	if (!free_slot->through) {
		free_slot->through = calloc(N_ORIGINS, sizeof(uint64_t));
		if (!free_slot->through)
			return NULL;
	}
	free_slot->id = id;
	return free_slot;
}

int cp_gcfloor_note(struct cp_gcfloor *g, uint16_t from, const uint8_t *p, size_t len,
		    uint64_t now_ms)
{
	if (!from || from > RUMOR_NODE_ID_MAX || len < 2 ||
	    len != 2u + (size_t)rumor_be_ld16(p) * CP_GCFLOOR_ENTRY) {
		g->bad_msgs++;
		return -EINVAL;
	}
	uint16_t n = rumor_be_ld16(p);
	for (uint16_t i = 0; i < n; i++) {
		uint16_t o = rumor_be_ld16(p + 2 + (size_t)i * CP_GCFLOOR_ENTRY);
		if (!o || o > RUMOR_NODE_ID_MAX) {
			g->bad_msgs++;
			return -EINVAL;
		}
	}
	struct cp_gcfloor_peer *s = slot_of(g, from, true);
	if (!s)
		return -ENOMEM;
	memset(s->through, 0, N_ORIGINS * sizeof(uint64_t));
	for (uint16_t i = 0; i < n; i++) {
		const uint8_t *e = p + 2 + (size_t)i * CP_GCFLOOR_ENTRY;
		s->through[rumor_be_ld16(e)] = rumor_be_ld64(e + 2);
	}
	s->heard_ms = now_ms;
	return 0;
}

void cp_gcfloor_forget(struct cp_gcfloor *g, uint16_t id)
{
	struct cp_gcfloor_peer *s = slot_of(g, id, false);

	if (s)
		s->id = 0;
}

void cp_gcfloor_apply(struct cp_gcfloor *g, uint64_t *covered, uint64_t now_ms)
{
	g->held_by = 0;
	for (unsigned i = 0; i < CP_GCFLOOR_PEERS; i++) {
		const struct cp_gcfloor_peer *s = &g->peer[i];
		if (!s->id || now_ms - s->heard_ms > CP_GCFLOOR_LIVE_MS)
			continue;
		for (unsigned o = 1; o < N_ORIGINS; o++) {
			if (s->through[o] < covered[o]) {
				covered[o] = s->through[o];
				g->held_by = s->id;
			}
		}
	}
	if (g->held_by)
		g->held_count++;
}
