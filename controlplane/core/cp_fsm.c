/* cp_fsm: committed queue + drain loop behind libraft's apply, snapshot codec, digests. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "cp_fsm.h"
#include "rumor_be.h"
#include "rumor_vc.h"

#define NORIG (RUMOR_NODE_ID_MAX + 1u)
#define SNAP_MAGIC 0x4d534652u /* "RFSM" */
#define SNAP_VERSION 1u
#define SNAP_VERSION_KEYS 2u /* version 1 + the keyring before the KV */

struct logent {
	struct cp_fsm_entry e;
	uint8_t *copy;
	uint32_t cap;
};

struct cp_fsm {
	struct raft_fsm raft;
	struct cp_fsm_config cfg;
	struct cp_payload_provider pp;
	struct cp_fsm_stats st;
	struct cp_kv *kv;
	struct cp_batch scratch;
	uint64_t last_gseq;
	uint64_t digest;
	int want_sent;
	struct cp_batch_rec *q; /* ring of committed, unapplied records */
	uint64_t qhead, qtail;  /* monotone counters; size = qtail - qhead */
	uint64_t qcap;          /* power of two */
	struct logent *log;     /* by gseq % log_window; holds (last - nlog, last] */
	uint64_t nlog;
	uint64_t wm[NORIG];
	struct cp_fsm_keyring kr;
	int keyop_rc;
	cp_fsm_keyring_cb kr_cb;
	void *kr_data;
};

void cp_fsm_config_default(struct cp_fsm_config *cfg)
{
	cfg->log_window = 1024;
	cfg->max_payload = 65536;
}

static int fsm_apply_cb(struct raft_fsm *rf, const struct raft_buffer *buf, void **result)
{
	struct cp_fsm *f = rf->data;
	int rc = cp_fsm_apply_buf(f, buf->base, buf->len);
	/* a keyring entry's verdict for the proposer's callback (cp_fsm_last_keyop) */
	*result = cp_entry_kind(buf->base, buf->len) == CP_ENTRY_KEYOP ? &f->keyop_rc : NULL;
	return rc;
}

static int fsm_snapshot_cb(struct raft_fsm *rf, struct raft_buffer *bufs[], unsigned *n)
{
	struct cp_fsm *f = rf->data;
	void *mem;
	size_t len;
	if (cp_fsm_snapshot_save(f, &mem, &len))
		return RAFT_NOMEM;
	struct raft_buffer *b = raft_malloc(sizeof(*b));
	void *base = raft_malloc(len);
	if (!b || !base) {
		raft_free(b);
		raft_free(base);
		free(mem);
		return RAFT_NOMEM;
	}
	memcpy(base, mem, len);
	free(mem);
	b->base = base;
	b->len = len;
	*bufs = b;
	*n = 1;
	return 0;
}

static int fsm_restore_cb(struct raft_fsm *rf, struct raft_buffer *buf)
{
	struct cp_fsm *f = rf->data;
	int rc = cp_fsm_snapshot_load(f, buf->base, buf->len);
	if (rc)
		return RAFT_CORRUPT;
	raft_free(buf->base);
	cp_fsm_drain(f);
	return 0;
}

int cp_fsm_create(const struct cp_fsm_config *cfg, const struct cp_payload_provider *pp,
		  struct cp_fsm **out)
{
	if (!cfg->log_window || !pp || !pp->get)
		return -EINVAL;
	struct cp_fsm *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->cfg = *cfg;
	f->pp = *pp;
	f->qcap = 1024;
	f->q = malloc(f->qcap * sizeof(*f->q));
	f->log = calloc(cfg->log_window, sizeof(*f->log));
	if (!f->q || !f->log || cp_kv_create(&f->kv) || cp_batch_init(&f->scratch, 0)) {
		cp_fsm_destroy(f);
		return -ENOMEM;
	}
	f->raft.version = 1;
	f->raft.data = f;
	f->raft.apply = fsm_apply_cb;
	f->raft.snapshot = fsm_snapshot_cb;
	f->raft.restore = fsm_restore_cb;
	*out = f;
	return 0;
}

void cp_fsm_destroy(struct cp_fsm *f)
{
	if (!f)
		return;
	if (f->log)
		for (uint32_t i = 0; i < f->cfg.log_window; i++)
			free(f->log[i].copy);
	free(f->log);
	free(f->q);
	cp_kv_destroy(f->kv);
	cp_batch_free(&f->scratch);
	memset(&f->kr, 0, sizeof(f->kr)); /* key material */
	free(f);
}

struct raft_fsm *cp_fsm_raft(struct cp_fsm *f) { return &f->raft; }

static int q_push(struct cp_fsm *f, const struct cp_batch_rec *r)
{
	if (f->qtail - f->qhead == f->qcap) {
		uint64_t ncap = f->qcap * 2;
		struct cp_batch_rec *nq = malloc(ncap * sizeof(*nq));
		if (!nq)
			return -ENOMEM;
		for (uint64_t i = f->qhead; i < f->qtail; i++)
			nq[i & (ncap - 1)] = f->q[i & (f->qcap - 1)];
		free(f->q);
		f->q = nq;
		f->qcap = ncap;
	}
	f->q[f->qtail++ & (f->qcap - 1)] = *r;
	return 0;
}

/* An operator declared the payload of a committed, still queued event lost: that queued
 * record is applied as the reject instead (every node whose queue still holds it does the
 * same, in the same place of the order). Applied already here: nothing to do. */
static void lost_queued(struct cp_fsm *f, const struct cp_batch_rec *lost)
{
	for (uint64_t i = f->qhead; i != f->qtail; i++) {
		struct cp_batch_rec *q = &f->q[i & (f->qcap - 1)];
		if (q->kind == CP_BATCH_EVENT && q->origin == lost->origin &&
		    q->seq == lost->seq && rumor_event_id_equal(&q->id, &lost->id)) {
			q->kind = CP_BATCH_REJECT;
			q->reason = CP_BATCH_REASON_LOST;
			f->st.lost++;
			return;
		}
	}
	f->st.dups++;
}

/* ---------------------------------------------------------------- keyring */

static int kr_find(const struct cp_fsm_keyring *kr, uint8_t id)
{
	for (unsigned i = 0; i < kr->n; i++)
		if (kr->keys[i].id == id)
			return (int)i;
	return -1;
}

static int kr_removed(const struct cp_fsm_keyring *kr, uint8_t id)
{
	return kr->removed[id >> 3] >> (id & 7) & 1;
}

int cp_fsm_keyop_check(const struct cp_fsm *f, const struct cp_keyop *k)
{
	const struct cp_fsm_keyring *kr = &f->kr;
	int at = kr_find(kr, k->id);

	if (k->id == 0)
		return -EINVAL;
	switch (k->op) {
	case CP_KEYOP_INSTALL:
		if (at >= 0)
			return -EEXIST;
		return kr->n >= CP_FSM_KEYS_MAX ? -ENOSPC : 0;
	case CP_KEYOP_USE:
		return at >= 0 ? 0 : -ENOKEY;
	case CP_KEYOP_REMOVE:
		if (kr->use == 0 || kr->use == k->id)
			return -EBUSY;
		return at < 0 && kr_removed(kr, k->id) ? -ENOENT : 0;
	}
	return -EINVAL;
}

static void keyop_apply(struct cp_fsm *f, const struct cp_keyop *k)
{
	struct cp_fsm_keyring *kr = &f->kr;
	int rc = cp_fsm_keyop_check(f, k), at = kr_find(kr, k->id);

	f->keyop_rc = rc;
	if (rc) {
		f->st.keyops_refused++;
		return;
	}
	if (k->op == CP_KEYOP_INSTALL) {
		unsigned i = kr->n;
		while (i > 0 && kr->keys[i - 1].id > k->id) { /* keep them by id */
			kr->keys[i] = kr->keys[i - 1];
			i--;
		}
		kr->keys[i].id = k->id;
		memcpy(kr->keys[i].key, k->key, CP_KEYOP_KEY_LEN);
		kr->n++;
		kr->removed[k->id >> 3] &= (uint8_t)~(1u << (k->id & 7));
	} else if (k->op == CP_KEYOP_USE) {
		kr->use = k->id;
	} else {
		if (at >= 0) {
			memmove(&kr->keys[at], &kr->keys[at + 1],
				(size_t)(kr->n - at - 1) * sizeof(kr->keys[0]));
			kr->n--;
			memset(&kr->keys[kr->n], 0, sizeof(kr->keys[0]));
		}
		kr->removed[k->id >> 3] |= (uint8_t)(1u << (k->id & 7));
	}
	kr->gen++;
	f->st.keyops++;
	if (f->kr_cb)
		f->kr_cb(f->kr_data, kr);
}

void cp_fsm_set_keyring_cb(struct cp_fsm *f, cp_fsm_keyring_cb cb, void *data)
{
	f->kr_cb = cb;
	f->kr_data = data;
}
const struct cp_fsm_keyring *cp_fsm_keyring(const struct cp_fsm *f) { return &f->kr; }
int cp_fsm_last_keyop(const struct cp_fsm *f) { return f->keyop_rc; }

int cp_fsm_apply_buf(struct cp_fsm *f, const void *buf, size_t len)
{
	if (cp_entry_kind(buf, len) == CP_ENTRY_KEYOP) {
		/* no gseq, no digest change: the order and the KV are as without it */
		struct cp_keyop k;
		if (cp_keyop_decode(buf, len, &k)) {
			f->st.bad_batches++;
			f->keyop_rc = -EINVAL;
			return 0;
		}
		keyop_apply(f, &k);
		memset(&k, 0, sizeof(k));
		return 0;
	}
	f->st.batches++;
	if (cp_batch_decode(buf, len, &f->scratch)) {
		f->st.bad_batches++;
		return 0;
	}
	if (f->pp.committed)
		f->pp.committed(f->pp.data, &f->scratch);
	for (uint32_t i = 0; i < f->scratch.n; i++) {
		struct cp_batch_rec rec = f->scratch.recs[i];
		uint64_t *wm = &f->wm[rec.origin];
		if (rec.kind != CP_BATCH_SKIP)
			rec.seq_last = rec.seq;
		if (rec.kind == CP_BATCH_REJECT && rec.reason == CP_BATCH_REASON_LOST &&
		    rec.seq <= *wm) {
			lost_queued(f, &rec); /* committed before: the queued event becomes this */
			continue;
		}
		if (rec.seq_last <= *wm) {
			f->st.dups++;
			continue;
		}
		if (rec.seq <= *wm)
			rec.seq = *wm + 1; /* a skip range partly ordered already: only its tail */
		else if (rec.seq != *wm + 1)
			f->st.gap_jumps++;
		/* Out of memory here would make this node diverge: better to stop loudly. */
		if (q_push(f, &rec))
			abort();
		*wm = rec.seq_last;
		f->st.queued++;
	}
	cp_fsm_drain(f);
	return 0;
}

static void record(struct cp_fsm *f, struct cp_fsm_entry *e)
{
	uint8_t h[33];
	size_t hn = 25;
	memcpy(h, &e->gseq, 8);
	memcpy(h + 8, &e->id.hi, 8);
	memcpy(h + 16, &e->id.lo, 8);
	h[24] = e->kind;
	if (e->seq_last != e->seq) { /* one-seq skips keep the digest they always had */
		memcpy(h + 25, &e->seq_last, 8);
		hn = 33;
	}
	f->digest = XXH3_64bits_withSeed(h, hn, f->digest);
	struct logent *l = &f->log[e->gseq % f->cfg.log_window];
	uint32_t keep = e->len < f->cfg.max_payload ? e->len : f->cfg.max_payload;
	if (keep > l->cap) {
		uint8_t *c = realloc(l->copy, keep);
		if (!c)
			keep = 0; /* retention is best effort; apply itself never fails */
		else
			l->copy = c, l->cap = keep;
	}
	if (keep)
		memcpy(l->copy, e->payload, keep);
	l->e = *e;
	l->e.len = keep;
	l->e.payload = e->kind == CP_BATCH_EVENT ? l->copy : NULL;
	if (f->nlog < f->cfg.log_window)
		f->nlog++;
	if (f->pp.applied)
		f->pp.applied(f->pp.data, e);
}

unsigned cp_fsm_drain(struct cp_fsm *f)
{
	unsigned n = 0;
	while (f->qhead != f->qtail) {
		const struct cp_batch_rec *r = &f->q[f->qhead & (f->qcap - 1)];
		struct cp_fsm_entry e = {0};
		e.id = r->id;
		e.seq = r->seq;
		e.seq_last = r->seq_last;
		e.origin = r->origin;
		e.kind = r->kind;
		e.reason = r->reason;
		if (r->kind == CP_BATCH_EVENT) {
			const void *p;
			size_t len;
			if (f->pp.get(f->pp.data, r->origin, r->seq, &r->id, &p, &len)) {
				if (!f->want_sent && f->pp.want) {
					f->want_sent = 1;
					f->st.wants++;
					f->pp.want(f->pp.data, r->origin, r->seq, &r->id);
				}
				break;
			}
			int rc = cp_kv_exec(f->kv, p, len);
			e.kv_rc = (int8_t)(rc < -128 ? -128 : rc);
			if (rc == 0)
				f->st.kv_cmds++;
			else if (rc < 0)
				f->st.kv_errors++;
			e.payload = p;
			e.len = (uint32_t)len;
			f->st.applied++;
		} else if (r->kind == CP_BATCH_REJECT) {
			f->st.rejects++; /* never fetched: its payload is not wanted */
		} else {
			f->st.skips++;
			f->st.skipped_seqs += r->seq_last - r->seq + 1;
		}
		f->want_sent = 0;
		e.gseq = ++f->last_gseq;
		f->qhead++;
		record(f, &e);
		n++;
	}
	return n;
}

uint64_t cp_fsm_watermark(const struct cp_fsm *f, uint16_t origin)
{
	return origin < NORIG ? f->wm[origin] : 0;
}
const uint64_t *cp_fsm_watermarks(const struct cp_fsm *f) { return f->wm; }
uint64_t cp_fsm_last_gseq(const struct cp_fsm *f) { return f->last_gseq; }
uint64_t cp_fsm_digest(const struct cp_fsm *f) { return f->digest; }
uint64_t cp_fsm_queue_len(const struct cp_fsm *f) { return f->qtail - f->qhead; }
const struct cp_kv *cp_fsm_kv(const struct cp_fsm *f) { return f->kv; }
void cp_fsm_get_stats(const struct cp_fsm *f, struct cp_fsm_stats *st) { *st = f->st; }

int cp_fsm_log_get(const struct cp_fsm *f, uint64_t gseq, struct cp_fsm_entry *e)
{
	if (gseq == 0 || gseq > f->last_gseq || f->last_gseq - gseq >= f->nlog)
		return -ENOENT;
	*e = f->log[gseq % f->cfg.log_window].e;
	return 0;
}

/* --- snapshot codec: little-endian, exact length --- */

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	int err;
};

static void w_bytes(struct wbuf *w, const void *src, size_t n)
{
	if (w->err)
		return;
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		while (cap < w->len + n)
			cap *= 2;
		uint8_t *p = realloc(w->p, cap);
		if (!p) {
			w->err = -ENOMEM;
			return;
		}
		w->p = p;
		w->cap = cap;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void w_u64(struct wbuf *w, uint64_t v)
{
	uint8_t b[8];
	rumor_le_st64(b, v);
	w_bytes(w, b, 8);
}

static void w_u32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4];
	rumor_le_st32(b, v);
	w_bytes(w, b, 4);
}

static void w_u16(struct wbuf *w, uint16_t v)
{
	uint8_t b[2];
	rumor_le_st16(b, v);
	w_bytes(w, b, 2);
}

/* A skip range is written as cp_batch's wire form (kind 4, id.hi = last seq), so that
 * snapshots without ranges keep their exact format. */
static void w_rec(struct wbuf *w, uint8_t kind, uint16_t origin, uint64_t seq, uint64_t last,
		  const struct rumor_event_id *id)
{
	int range = kind == CP_BATCH_SKIP && last > seq;
	uint8_t k = range ? (uint8_t)CP_BATCH_WIRE_SKIP_RANGE : kind;
	w_bytes(w, &k, 1);
	w_u16(w, origin);
	w_u64(w, seq);
	w_u64(w, range ? last : id->hi);
	w_u64(w, range ? 0 : id->lo);
}

int cp_fsm_snapshot_save(const struct cp_fsm *f, void **buf, size_t *len)
{
	struct wbuf w = {0};
	w_u32(&w, SNAP_MAGIC);
	w_u32(&w, f->kr.gen ? SNAP_VERSION_KEYS : SNAP_VERSION);
	w_u64(&w, f->last_gseq);
	w_u64(&w, f->digest);
	uint32_t nwm = 0;
	for (unsigned i = 1; i < NORIG; i++)
		nwm += f->wm[i] != 0;
	w_u32(&w, nwm);
	for (unsigned i = 1; i < NORIG; i++)
		if (f->wm[i]) {
			w_u16(&w, (uint16_t)i);
			w_u64(&w, f->wm[i]);
		}
	w_u64(&w, f->qtail - f->qhead);
	for (uint64_t i = f->qhead; i < f->qtail; i++) {
		const struct cp_batch_rec *r = &f->q[i & (f->qcap - 1)];
		w_rec(&w, r->kind, r->origin, r->seq, r->seq_last, &r->id);
	}
	w_u64(&w, f->nlog);
	for (uint64_t g = f->last_gseq - f->nlog + 1; g <= f->last_gseq && f->nlog; g++) {
		const struct cp_fsm_entry *e = &f->log[g % f->cfg.log_window].e;
		w_u64(&w, e->gseq);
		w_rec(&w, e->kind, e->origin, e->seq, e->seq_last, &e->id);
		uint8_t rc = (uint8_t)e->kv_rc;
		w_bytes(&w, &rc, 1);
		w_u32(&w, e->len);
		if (e->len)
			w_bytes(&w, e->payload, e->len);
	}
	if (f->kr.gen) {
		w_u64(&w, f->kr.gen);
		w_bytes(&w, &f->kr.use, 1);
		w_bytes(&w, f->kr.removed, sizeof(f->kr.removed));
		w_bytes(&w, &f->kr.n, 1);
		for (unsigned i = 0; i < f->kr.n; i++) {
			w_bytes(&w, &f->kr.keys[i].id, 1);
			w_bytes(&w, f->kr.keys[i].key, CP_KEYOP_KEY_LEN);
		}
	}
	size_t kvlen = cp_kv_snapshot_size(f->kv);
	w_u64(&w, kvlen);
	if (!w.err) {
		uint8_t *tmp = malloc(kvlen);
		if (!tmp || cp_kv_snapshot_write(f->kv, tmp, kvlen) < 0)
			w.err = -ENOMEM;
		else
			w_bytes(&w, tmp, kvlen);
		free(tmp);
	}
	if (w.err) {
		free(w.p);
		return w.err;
	}
	*buf = w.p;
	*len = w.len;
	return 0;
}

struct rbuf {
	const uint8_t *p;
	size_t left;
	int err;
};

static const uint8_t *r_take(struct rbuf *r, size_t n)
{
	if (r->err || r->left < n) {
		r->err = r->err ? r->err : -EMSGSIZE;
		return NULL;
	}
	const uint8_t *p = r->p;
	r->p += n;
	r->left -= n;
	return p;
}

static uint64_t r_uint(struct rbuf *r, unsigned n)
{
	const uint8_t *p = r_take(r, n);

	if (!p)
		return 0;
	return n == 8 ? rumor_le_ld64(p) : n == 4 ? rumor_le_ld32(p) : n == 2 ? rumor_le_ld16(p) : p[0];
}

static void r_rec(struct rbuf *r, struct cp_batch_rec *rec)
{
	rec->kind = (uint8_t)r_uint(r, 1);
	rec->origin = (uint16_t)r_uint(r, 2);
	rec->seq = r_uint(r, 8);
	rec->id.hi = r_uint(r, 8);
	rec->id.lo = r_uint(r, 8);
	rec->seq_last = rec->seq;
	if (!r->err && rec->kind == CP_BATCH_WIRE_SKIP_RANGE) {
		if (rec->id.hi <= rec->seq || rec->id.lo)
			r->err = -EINVAL;
		rec->kind = CP_BATCH_SKIP;
		rec->seq_last = rec->id.hi;
		rec->id.hi = 0;
	}
	if (!r->err && (rec->origin == 0 || rec->origin > RUMOR_NODE_ID_MAX || rec->seq == 0 ||
			(rec->kind != CP_BATCH_EVENT && rec->kind != CP_BATCH_SKIP &&
			 rec->kind != CP_BATCH_REJECT)))
		r->err = -EINVAL;
	/* the snapshot keeps no reason byte: impossible timestamp is the only one there is */
	rec->reason = rec->kind == CP_BATCH_REJECT ? CP_BATCH_REASON_IMPOSSIBLE_TS : 0;
}

int cp_fsm_snapshot_load(struct cp_fsm *f, const void *buf, size_t len)
{
	struct rbuf r = {buf, len, 0};
	if (r_uint(&r, 4) != SNAP_MAGIC)
		return r.err ? r.err : -EPROTO;
	uint64_t version = r_uint(&r, 4);
	if (version != SNAP_VERSION && version != SNAP_VERSION_KEYS)
		return r.err ? r.err : -EPROTO;
	/* Build the new state aside so that a bad snapshot leaves the fsm untouched. */
	struct cp_fsm *n = NULL;
	int rc = cp_fsm_create(&f->cfg, &f->pp, &n);
	if (rc)
		return rc;
	n->last_gseq = r_uint(&r, 8);
	n->digest = r_uint(&r, 8);
	uint32_t nwm = (uint32_t)r_uint(&r, 4);
	for (uint32_t i = 0; i < nwm && !r.err; i++) {
		uint16_t o = (uint16_t)r_uint(&r, 2);
		uint64_t s = r_uint(&r, 8);
		if (!r.err && (o == 0 || o > RUMOR_NODE_ID_MAX || s == 0 || n->wm[o]))
			r.err = -EINVAL;
		else if (!r.err)
			n->wm[o] = s;
	}
	uint64_t nq = r_uint(&r, 8);
	if (!r.err && nq > r.left / 27)
		r.err = -EMSGSIZE;
	for (uint64_t i = 0; i < nq && !r.err; i++) {
		struct cp_batch_rec rec;
		r_rec(&r, &rec);
		if (!r.err && q_push(n, &rec))
			r.err = -ENOMEM;
	}
	uint64_t nlog = r_uint(&r, 8);
	if (!r.err && (nlog > n->last_gseq || nlog > r.left / 40))
		r.err = -EINVAL;
	for (uint64_t i = 0; i < nlog && !r.err; i++) {
		struct cp_fsm_entry e = {0};
		struct cp_batch_rec rec;
		e.gseq = r_uint(&r, 8);
		r_rec(&r, &rec);
		e.kv_rc = (int8_t)r_uint(&r, 1);
		e.len = (uint32_t)r_uint(&r, 4);
		const uint8_t *p = r_take(&r, e.len);
		if (r.err)
			break;
		/* a skip carries no payload: save would copy e->len bytes from NULL */
		if (e.gseq != n->last_gseq - nlog + 1 + i || (rec.kind != CP_BATCH_EVENT && e.len)) {
			r.err = -EINVAL;
			break;
		}
		e.id = rec.id;
		e.origin = rec.origin;
		e.seq = rec.seq;
		e.seq_last = rec.seq_last;
		e.kind = rec.kind;
		e.reason = rec.reason;
		if (nlog - i > n->cfg.log_window)
			continue; /* our window is smaller: keep the newest */
		struct logent *l = &n->log[e.gseq % n->cfg.log_window];
		if (e.len) {
			l->copy = malloc(e.len);
			if (!l->copy) {
				r.err = -ENOMEM;
				break;
			}
			memcpy(l->copy, p, e.len);
			l->cap = e.len;
		}
		l->e = e;
		l->e.payload = e.kind == CP_BATCH_EVENT ? l->copy : NULL;
		n->nlog++;
	}
	if (version == SNAP_VERSION_KEYS && !r.err) {
		struct cp_fsm_keyring *kr = &n->kr;
		kr->gen = r_uint(&r, 8);
		kr->use = (uint8_t)r_uint(&r, 1);
		const uint8_t *rm = r_take(&r, sizeof(kr->removed));
		if (rm)
			memcpy(kr->removed, rm, sizeof(kr->removed));
		kr->n = (uint8_t)r_uint(&r, 1);
		if (!r.err && (kr->gen == 0 || kr->n > CP_FSM_KEYS_MAX || kr->removed[0] & 1))
			r.err = -EINVAL;
		for (unsigned i = 0; i < kr->n && !r.err; i++) {
			kr->keys[i].id = (uint8_t)r_uint(&r, 1);
			const uint8_t *kp = r_take(&r, CP_KEYOP_KEY_LEN);
			if (!kp)
				break;
			memcpy(kr->keys[i].key, kp, CP_KEYOP_KEY_LEN);
			/* ascending ids, none removed, id 0 never */
			if (kr->keys[i].id == 0 || (i && kr->keys[i].id <= kr->keys[i - 1].id) ||
			    kr_removed(kr, kr->keys[i].id))
				r.err = -EINVAL;
		}
		if (!r.err && kr->use && kr_find(kr, kr->use) < 0)
			r.err = -EINVAL;
	}
	uint64_t kvlen = r_uint(&r, 8);
	if (!r.err && kvlen != r.left)
		r.err = -EMSGSIZE;
	if (!r.err) {
		long k = cp_kv_snapshot_read(n->kv, r.p, r.left);
		if (k < 0)
			r.err = (int)k;
		else if ((size_t)k != r.left)
			r.err = -EMSGSIZE;
	}
	if (r.err) {
		cp_fsm_destroy(n);
		return r.err;
	}
	/* swap the state, keep f's identity (raft holds &f->raft) and stats */
	struct cp_fsm tmp = *f;
	*f = *n;
	f->raft = tmp.raft;
	f->st = tmp.st;
	*n = tmp;
	cp_fsm_destroy(n);
	f->kr_cb = tmp.kr_cb;
	f->kr_data = tmp.kr_data;
	if (f->kr.gen && f->kr_cb)
		f->kr_cb(f->kr_data, &f->kr);
	return 0;
}
