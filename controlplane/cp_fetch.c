/* Payloads fetched from peers, keyed by (origin, seq), and the wire codec of the FETCH
 * messages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumor_be.h"
#include "cp_fetch.h"
#include "rumor_vc.h"

struct cp_fetch_cell {
	uint64_t key;    /* origin << 48 | seq; 0 = empty */
	uint64_t val;
};

#define SEQ_MASK ((1ull << 48) - 1)

static uint64_t mkkey(uint16_t origin, uint64_t seq)
{
	return (uint64_t)origin << 48 | (seq & SEQ_MASK);
}

static uint32_t hash64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (uint32_t)k;
}

static int map_put(struct cp_fetch_map *m, uint64_t key, uint64_t val);

static int map_grow(struct cp_fetch_map *m)
{
	struct cp_fetch_map bigger = { 0 };
	uint32_t cells = m->cells ? (m->mask + 1) * 2 : 1024;

	bigger.cells = calloc(cells, sizeof(*bigger.cells));
	if (!bigger.cells)
		return -ENOMEM;
	bigger.mask = cells - 1;
	for (uint32_t i = 0; m->cells && i <= m->mask; i++)
		if (m->cells[i].key)
			map_put(&bigger, m->cells[i].key, m->cells[i].val);
	free(m->cells);
	*m = bigger;
	return 0;
}

static int map_put(struct cp_fetch_map *m, uint64_t key, uint64_t val)
{
	if (!m->cells || (m->count + 1) * 2 > m->mask + 1)
		if (map_grow(m) < 0)
			return -ENOMEM;
	for (uint32_t i = hash64(key) & m->mask;; i = (i + 1) & m->mask) {
		if (m->cells[i].key == key) {
			m->cells[i].val = val;
			return 0;
		}
		if (!m->cells[i].key) {
			m->cells[i] = (struct cp_fetch_cell){ key, val };
			m->count++;
			return 0;
		}
	}
}

static struct cp_fetch_cell *map_find(const struct cp_fetch_map *m, uint64_t key)
{
	if (!m->cells)
		return NULL;
	for (uint32_t i = hash64(key) & m->mask;; i = (i + 1) & m->mask) {
		if (m->cells[i].key == key)
			return &m->cells[i];
		if (!m->cells[i].key)
			return NULL;
	}
}

static void map_del(struct cp_fetch_map *m, uint64_t key)
{
	struct cp_fetch_cell *c = map_find(m, key);
	uint32_t i, j;

	if (!c)
		return;
	i = (uint32_t)(c - m->cells);
	/* backward-shift deletion keeps probe runs intact without tombstones */
	for (j = (i + 1) & m->mask; m->cells[j].key; j = (j + 1) & m->mask) {
		uint32_t home = hash64(m->cells[j].key) & m->mask;
		if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
			m->cells[i] = m->cells[j];
			i = j;
		}
	}
	m->cells[i].key = 0;
	m->count--;
}

void cp_fetch_init(struct cp_fetch *f)
{
	memset(f, 0, sizeof(*f));
}

void cp_fetch_fini(struct cp_fetch *f)
{
	for (uint32_t i = 0; f->got.cells && i <= f->got.mask; i++)
		if (f->got.cells[i].key)
			free((void *)(uintptr_t)f->got.cells[i].val);
	free(f->got.cells);
	memset(f, 0, sizeof(*f));
}

int cp_fetch_get(struct cp_fetch *f, uint16_t origin, uint64_t seq,
		 const struct rumor_event_id *id, uint8_t **out, size_t *len)
{
	struct cp_fetch_cell *c = map_find(&f->got, mkkey(origin, seq));

	if (c) {
		const struct cp_fetched *p = (const struct cp_fetched *)(uintptr_t)c->val;
		if (rumor_event_id_equal(&p->id, id)) {
			*out = malloc(p->len ? p->len : 1);
			if (!*out)
				return -ENOMEM;
			memcpy(*out, p->data, p->len);
			*len = p->len;
			return 0;
		}
	}
	return -ENOENT;
}

int cp_fetch_clock_vc(struct cp_fetch *f, uint16_t origin, uint64_t seq, struct rumor_vc *out)
{
	struct cp_fetch_cell *c = map_find(&f->got, mkkey(origin, seq));

	if (!c)
		return -ENOENT;
	const struct cp_fetched *p = (const struct cp_fetched *)(uintptr_t)c->val;
	/* checked when taken */
	if (rumor_vc_decode(out, p->clock_n, p->data + p->len,
			    (size_t)p->clock_n * RUMOR_VC_WIRE_ENTRY) < 0)
		rumor_vc_init(out);
	return 0;
}

int cp_fetch_clock(struct cp_fetch *f, uint16_t origin, uint64_t seq, char *out, size_t cap)
{
	struct rumor_vc vc;
	int rc = cp_fetch_clock_vc(f, origin, seq, &vc);

	if (rc < 0)
		return rc;
	if (!vc.n) {
		if (cap)
			out[0] = 0;
		return 0;
	}
	rumor_vc_format(&vc, out, cap);
	return 0;
}

int cp_fetch_have(const struct cp_fetch *f, uint16_t origin, uint64_t seq)
{
	return map_find(&f->got, mkkey(origin, seq)) != NULL;
}

void cp_fetch_done(struct cp_fetch *f, uint16_t origin, uint64_t seq)
{
	if (!f->got.count)
		return; /* the common case, every applied event: no probe into a cold table */
	struct cp_fetch_cell *c = map_find(&f->got, mkkey(origin, seq));

	if (c) {
		free((void *)(uintptr_t)c->val);
		map_del(&f->got, mkkey(origin, seq));
	}
}

void cp_fetch_req_encode(uint8_t out[CP_FETCH_REQ_LEN], uint16_t origin, uint64_t seq,
			 uint16_t count)
{
	rumor_be_st16(out, origin);
	rumor_be_st64(out + 2, seq);
	rumor_be_st16(out + 10, count);
}

int cp_fetch_req_decode(const uint8_t *p, size_t len, uint16_t *origin, uint64_t *seq,
			uint16_t *count)
{
	if (len != CP_FETCH_REQ_LEN)
		return -EINVAL;
	*origin = rumor_be_ld16(p);
	*seq = rumor_be_ld64(p + 2);
	*count = rumor_be_ld16(p + 10);
	if (!*origin || *origin > RUMOR_NODE_ID_MAX || !*seq || *seq > SEQ_MASK - 1024 ||
	    !*count || *count > CP_FETCH_MAX_RANGE)
		return -EINVAL;
	return 0;
}

#define REC_HDR 30u

int cp_fetch_resp_add(uint8_t *buf, size_t cap, uint16_t origin, uint64_t seq,
		      const struct rumor_event_id *id, const void *data, size_t len,
		      const struct rumor_vc *clock)
{
	uint16_t cn = clock ? clock->n : 0;
	size_t cl = (size_t)cn * RUMOR_VC_WIRE_ENTRY;

	if (cap < REC_HDR + len + 2 + cl)
		return -ENOBUFS;
	rumor_be_st16(buf, origin);
	rumor_be_st64(buf + 2, seq);
	rumor_event_id_store(id, buf + 10);
	rumor_be_st32(buf + 26, (uint32_t)len);
	memcpy(buf + REC_HDR, data, len);
	rumor_be_st16(buf + REC_HDR + len, cn);
	if (cn && rumor_vc_encode(clock, buf + REC_HDR + len + 2, cl) != (int)cl)
		return -EINVAL;
	return (int)(REC_HDR + len + 2 + cl);
}

int cp_fetch_resp_take(struct cp_fetch *f, const uint8_t *p, size_t len)
{
	size_t off = 0;
	int taken = 0;

	while (off < len) {
		struct rumor_event_id id, check;
		if (len - off < REC_HDR)
			return -EINVAL;
		uint16_t origin = rumor_be_ld16(p + off);
		uint64_t seq = rumor_be_ld64(p + off + 2);
		uint32_t dlen = rumor_be_ld32(p + off + 26);
		rumor_event_id_load(p + off + 10, &id);
		if (len - off - REC_HDR < (size_t)dlen + 2 || !origin || !seq || seq > SEQ_MASK)
			return -EINVAL;
		const uint8_t *data = p + off + REC_HDR;
		uint16_t cn = rumor_be_ld16(data + dlen);
		size_t cl = (size_t)cn * RUMOR_VC_WIRE_ENTRY;
		if (cn > RUMOR_VC_MAX_ENTRIES || len - off - REC_HDR - dlen - 2 < cl ||
		    rumor_vc_decode(&f->scratch, cn, data + dlen + 2, cl) != (int)cl)
			return -EINVAL;
		const uint8_t *clock = data + dlen + 2;
		off += REC_HDR + dlen + 2u + cl;
		rumor_event_id_compute(origin, seq, data, dlen, &check);
		if (!rumor_event_id_equal(&id, &check)) {
			f->rejected++;
			continue;
		}
		if (map_find(&f->got, mkkey(origin, seq)))
			continue;
		struct cp_fetched *e = malloc(sizeof(*e) + dlen + cl);
		if (!e)
			return -ENOMEM;
		e->id = id;
		e->len = dlen;
		e->clock_n = cn;
		memcpy(e->data, data, dlen);
		memcpy(e->data + dlen, clock, cl);
		if (map_put(&f->got, mkkey(origin, seq), (uint64_t)(uintptr_t)e) < 0) {
			free(e);
			return -ENOMEM;
		}
		taken++;
	}
	f->responses++;
	return taken;
}
