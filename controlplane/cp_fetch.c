/* Payload recovery: an index of our own ordered.log and a store of payloads fetched from
 * peers, both keyed by (origin, seq); wire codec of the FETCH messages. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Ring position of @seq, growing or sliding the window to take it; -1 when it is older
 * than what the window keeps. */
static int64_t olog_pos(struct cp_fetch *f, struct cp_fetch_olog *o, uint64_t seq)
{
	if (o->n == 0)
		o->first = seq, o->head = 0;
	if (seq < o->first)
		return -1;
	uint64_t off = seq - o->first;
	if (off >= f->log_max) { /* slide: forget the oldest seqs */
		uint64_t drop = off - f->log_max + 1;
		for (uint64_t i = 0; i < drop && o->n; i++, o->n--) {
			uint64_t *v = &o->vals[o->head];
			f->log_count -= *v != 0;
			*v = 0;
			o->head = (o->head + 1) % o->cap;
		}
		o->first += drop;
		if (o->n == 0)
			o->head = 0;
		off = seq - o->first;
	}
	if (off >= o->cap) { /* grow, linearising the ring */
		uint32_t cap = o->cap ? o->cap : 1024;
		while (cap <= off)
			cap *= 2;
		if (cap > f->log_max)
			cap = f->log_max;
		uint64_t *v = calloc(cap, sizeof(*v));
		if (!v)
			return -1;
		for (uint32_t i = 0; i < o->n; i++)
			v[i] = o->vals[(o->head + i) % o->cap];
		free(o->vals);
		o->vals = v;
		o->cap = cap;
		o->head = 0;
	}
	if (off >= o->n)
		o->n = (uint32_t)off + 1;
	return (int64_t)((o->head + off) % o->cap);
}

/* Index one log line. */
static void log_index(struct cp_fetch *f, uint16_t origin, uint64_t seq, uint64_t val)
{
	struct cp_fetch_olog **op = &f->olog[origin];

	if (!*op && !(*op = calloc(1, sizeof(**op))))
		return;
	int64_t pos = olog_pos(f, *op, seq);
	if (pos < 0)
		return;
	f->log_count += (*op)->vals[pos] == 0;
	(*op)->vals[pos] = val;
}

/* The indexed line of (origin, seq): offset << 20 | length, or 0. */
static uint64_t log_find(const struct cp_fetch *f, uint16_t origin, uint64_t seq)
{
	const struct cp_fetch_olog *o = origin <= RUMOR_NODE_ID_MAX ? f->olog[origin] : NULL;

	if (!o || seq < o->first || seq - o->first >= o->n)
		return 0;
	return o->vals[(o->head + (seq - o->first)) % o->cap];
}

int cp_fetch_init(struct cp_fetch *f, const char *path, uint32_t max_index)
{
	FILE *in;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	memset(f, 0, sizeof(*f));
	f->log_fd = -1;
	if (max_index == 0 || max_index > 1u << 26)
		return -EINVAL;
	f->log_max = max_index;
	f->log_fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
	if (f->log_fd < 0)
		return -errno;
	in = fdopen(dup(f->log_fd), "r");
	if (!in)
		return -errno;
	while ((n = getline(&line, &cap, in)) > 0) {
		json_t *o = json_loadb(line, (size_t)n, 0, NULL);
		json_int_t origin = json_integer_value(json_object_get(o, "origin"));
		json_int_t seq = json_integer_value(json_object_get(o, "seq"));
		if (o && json_object_get(o, "data") && origin > 0 && seq > 0 && n < (1 << 20))
			log_index(f, (uint16_t)origin, (uint64_t)seq, f->log_size << 20 | (uint64_t)n);
		json_decref(o);
		f->log_size += (uint64_t)n;
	}
	free(line);
	fclose(in);
	return 0;
}

void cp_fetch_fini(struct cp_fetch *f)
{
	for (uint32_t i = 0; f->got.cells && i <= f->got.mask; i++)
		if (f->got.cells[i].key)
			free((void *)(uintptr_t)f->got.cells[i].val);
	free(f->got.cells);
	for (unsigned i = 0; i <= RUMOR_NODE_ID_MAX; i++) {
		if (f->olog[i])
			free(f->olog[i]->vals);
		free(f->olog[i]);
	}
	if (f->log_fd >= 0)
		close(f->log_fd);
	memset(f, 0, sizeof(*f));
	f->log_fd = -1;
}

void cp_fetch_logged(struct cp_fetch *f, uint16_t origin, uint64_t seq, size_t len)
{
	if (origin && len < (1 << 20) && f->log_max)
		log_index(f, origin, seq, f->log_size << 20 | len);
	f->log_size += len;
}

static int unhex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The log writes non-UTF-8 payloads as "hex:..."; the id tells which reading is right. */
static int payload_from_log(struct cp_fetch *f, uint64_t val, uint16_t origin, uint64_t seq,
			    const struct rumor_event_id *id, uint8_t **out, size_t *len)
{
	size_t llen = val & ((1u << 20) - 1);
	char *line = malloc(llen);
	struct rumor_event_id got;
	int rc = -ENOENT;

	if (!line)
		return -ENOMEM;
	if (pread(f->log_fd, line, llen, (off_t)(val >> 20)) == (ssize_t)llen) {
		json_t *o = json_loadb(line, llen, 0, NULL);
		json_t *d = json_object_get(o, "data");
		const char *s = json_string_value(d);
		size_t sl = json_string_length(d);
		if (s) {
			uint8_t *p = malloc(sl + 1);
			memcpy(p, s, sl);
			rumor_event_id_compute(origin, seq, p, sl, &got);
			if (rumor_event_id_equal(&got, id)) {
				*out = p;
				*len = sl;
				rc = 0;
			} else if (sl >= 4 && !memcmp(s, "hex:", 4) && sl % 2 == 0) {
				size_t bl = (sl - 4) / 2;
				for (size_t i = 0; i < bl; i++)
					p[i] = (uint8_t)(unhex(s[4 + 2 * i]) << 4 | unhex(s[5 + 2 * i]));
				rumor_event_id_compute(origin, seq, p, bl, &got);
				if (rumor_event_id_equal(&got, id)) {
					*out = p;
					*len = bl;
					rc = 0;
				}
			}
			if (rc)
				free(p);
		}
		json_decref(o);
	}
	free(line);
	return rc;
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
	uint64_t val = log_find(f, origin, seq);
	if (val && f->log_fd >= 0)
		return payload_from_log(f, val, origin, seq, id, out, len);
	return -ENOENT;
}

int cp_fetch_get_logged(struct cp_fetch *f, uint16_t origin, uint64_t seq,
			struct rumor_event_id *id, uint8_t **out, size_t *len)
{
	uint64_t val = log_find(f, origin, seq);
	size_t llen;
	char *line;
	int rc = -ENOENT;

	if (!val || f->log_fd < 0)
		return -ENOENT;
	llen = val & ((1u << 20) - 1);
	line = malloc(llen);
	if (!line)
		return -ENOMEM;
	if (pread(f->log_fd, line, llen, (off_t)(val >> 20)) == (ssize_t)llen) {
		json_t *o = json_loadb(line, llen, 0, NULL);
		const char *hex = json_string_value(json_object_get(o, "id"));
		if (hex && rumor_event_id_parse(hex, id) == 0)
			rc = payload_from_log(f, val, origin, seq, id, out, len);
		json_decref(o);
	}
	free(line);
	return rc;
}

int cp_fetch_clock(struct cp_fetch *f, uint16_t origin, uint64_t seq, char *out, size_t cap)
{
	struct cp_fetch_cell *c = map_find(&f->got, mkkey(origin, seq));
	int rc = -ENOENT;

	if (c) {
		snprintf(out, cap, "%s", ((const struct cp_fetched *)(uintptr_t)c->val)->clock);
		return 0;
	}
	uint64_t val = log_find(f, origin, seq);
	if (!val || f->log_fd < 0)
		return -ENOENT;
	size_t llen = val & ((1u << 20) - 1);
	char *line = malloc(llen);
	if (line && pread(f->log_fd, line, llen, (off_t)(val >> 20)) == (ssize_t)llen) {
		json_t *o = json_loadb(line, llen, 0, NULL);
		const char *clock = json_string_value(json_object_get(o, "clock"));
		if (clock) {
			snprintf(out, cap, "%s", clock);
			rc = 0;
		}
		json_decref(o);
	}
	free(line);
	return rc;
}

int cp_fetch_have(const struct cp_fetch *f, uint16_t origin, uint64_t seq)
{
	return map_find(&f->got, mkkey(origin, seq)) != NULL || log_find(f, origin, seq) != 0;
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
		      const char *clock)
{
	size_t cl = clock ? strnlen(clock, 255) : 0;

	if (cap < REC_HDR + len + 2 + cl)
		return -ENOBUFS;
	rumor_be_st16(buf, origin);
	rumor_be_st64(buf + 2, seq);
	rumor_event_id_store(id, buf + 10);
	rumor_be_st32(buf + 26, (uint32_t)len);
	memcpy(buf + REC_HDR, data, len);
	rumor_be_st16(buf + REC_HDR + len, (uint16_t)cl);
	memcpy(buf + REC_HDR + len + 2, clock, cl);
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
		uint16_t cl = rumor_be_ld16(data + dlen);
		if (len - off - REC_HDR - dlen - 2 < cl || cl > 255)
			return -EINVAL;
		const char *clock = (const char *)data + dlen + 2;
		off += REC_HDR + dlen + 2u + cl;
		rumor_event_id_compute(origin, seq, data, dlen, &check);
		if (!rumor_event_id_equal(&id, &check)) {
			f->rejected++;
			continue;
		}
		if (map_find(&f->got, mkkey(origin, seq)))
			continue;
		struct cp_fetched *e = malloc(sizeof(*e) + dlen);
		if (!e)
			return -ENOMEM;
		e->id = id;
		memcpy(e->clock, clock, cl);
		e->clock[cl] = 0;
		e->len = dlen;
		memcpy(e->data, data, dlen);
		if (map_put(&f->got, mkkey(origin, seq), (uint64_t)(uintptr_t)e) < 0) {
			free(e);
			return -ENOMEM;
		}
		taken++;
	}
	f->responses++;
	return taken;
}
