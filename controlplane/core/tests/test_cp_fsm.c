/* Unit tests for cp_fsm: apply order, blocking on a missing payload then draining, dedupe,
 * skips, snapshot round trip that continues identically, bad snapshots. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cp_fsm.h"
#include "model.h"

struct prov {
	struct model *m;
	uint8_t *avail;     /* by model index */
	unsigned wants;
	uint16_t want_origin;
	uint64_t want_seq;
	unsigned applied;
	struct m_check chk;
	int bad;
};

static int pget(void *d, uint16_t origin, uint64_t seq, const struct rumor_event_id *id,
		const void **p, size_t *len)
{
	struct prov *pv = d;
	int i = m_find(pv->m, origin, seq);
	if (i < 0 || !pv->avail[i] || !rumor_event_id_equal(id, &pv->m->ev[i].id))
		return -EAGAIN;
	*p = pv->m->ev[i].payload;
	*len = pv->m->ev[i].len;
	return 0;
}

static void pwant(void *d, uint16_t origin, uint64_t seq, const struct rumor_event_id *id)
{
	(void)id;
	struct prov *pv = d;
	pv->wants++;
	pv->want_origin = origin;
	pv->want_seq = seq;
}

static void papplied(void *d, const struct cp_fsm_entry *e)
{
	struct prov *pv = d;
	pv->applied++;
	int rc = e->kind == CP_BATCH_SKIP
			 ? m_check_skip_range(&pv->chk, e->origin, e->seq, e->seq_last)
			 : m_check_event(&pv->chk, pv->m, e->origin, e->seq, &e->id);
	if (e->kind != CP_BATCH_SKIP && e->seq_last != e->seq)
		pv->bad++;
	if (rc) {
		print_error("%s\n", pv->chk.why);
		pv->bad++;
	}
}

static struct cp_fsm *mkfsm(struct prov *pv, uint32_t window)
{
	struct cp_payload_provider pp = {pv, pget, pwant, papplied, NULL};
	struct cp_fsm_config cfg;
	cp_fsm_config_default(&cfg);
	cfg.log_window = window;
	struct cp_fsm *f;
	assert_int_equal(cp_fsm_create(&cfg, &pp, &f), 0);
	m_check_init(&pv->chk);
	return f;
}

static void apply(struct cp_fsm *f, const struct cp_batch *b)
{
	uint8_t *buf = malloc(cp_batch_encoded_size(b));
	long len = cp_batch_encode(b, buf, cp_batch_encoded_size(b));
	assert_true(len > 0);
	struct raft_buffer rb = {buf, (size_t)len};
	void *res;
	assert_int_equal(cp_fsm_raft(f)->apply(cp_fsm_raft(f), &rb, &res), 0);
	free(buf);
}

/* A single-origin stream of n events, all reported. */
static void chain(struct model *m, unsigned n)
{
	m_init(m, 3, 1);
	for (unsigned i = 0; i < n; i++)
		{ unsigned k = m_create(m, 1); m->ev[k].reported = 1; }
}

static void test_block_and_drain(void **state)
{
	(void)state;
	struct model m;
	chain(&m, 6);
	uint8_t avail[6] = {1, 1, 0, 1, 1, 1};
	struct prov pv = {.m = &m, .avail = avail};
	struct cp_fsm *f = mkfsm(&pv, 16);
	struct cp_batch b;
	cp_batch_init(&b, 0);
	for (unsigned i = 0; i < 6; i++)
		cp_batch_add_event(&b, 1, i + 1, &m.ev[i].id);
	apply(f, &b);
	assert_int_equal(cp_fsm_last_gseq(f), 2);
	assert_int_equal(cp_fsm_queue_len(f), 4);
	assert_int_equal(cp_fsm_watermark(f, 1), 6); /* committed, not applied */
	assert_int_equal(pv.wants, 1);
	assert_int_equal(pv.want_seq, 3);
	assert_int_equal(cp_fsm_drain(f), 0);
	assert_int_equal(pv.wants, 1); /* want() once per missing head */
	avail[2] = 1;
	assert_int_equal(cp_fsm_drain(f), 4);
	assert_int_equal(cp_fsm_last_gseq(f), 6);
	assert_int_equal(pv.bad, 0);
	/* duplicates from a second leader are dropped; a skip advances the watermark */
	cp_batch_clear(&b);
	cp_batch_add_event(&b, 1, 5, &m.ev[4].id);
	cp_batch_add_skip(&b, 2, 1);
	cp_batch_add_skip(&b, 2, 1);
	apply(f, &b);
	struct cp_fsm_stats st;
	cp_fsm_get_stats(f, &st);
	assert_int_equal(st.dups, 2);
	assert_int_equal(st.skips, 1);
	assert_int_equal(cp_fsm_last_gseq(f), 7);
	struct cp_fsm_entry e;
	assert_int_equal(cp_fsm_log_get(f, 7, &e), 0);
	assert_int_equal(e.kind, CP_BATCH_SKIP);
	assert_int_equal(cp_fsm_log_get(f, 3, &e), 0);
	assert_int_equal(e.len, m.ev[2].len);
	assert_memory_equal(e.payload, m.ev[2].payload, e.len);
	assert_int_equal(cp_fsm_log_get(f, 8, &e), -ENOENT);
	/* garbage entry: counted, ignored */
	uint8_t junk[20] = {1, 2, 3};
	assert_int_equal(cp_fsm_apply_buf(f, junk, sizeof(junk)), 0);
	cp_fsm_get_stats(f, &st);
	assert_int_equal(st.bad_batches, 1);
	cp_batch_free(&b);
	cp_fsm_destroy(f);
	m_free(&m);
}

struct rej_seen {
	unsigned n, rejects, gets;
	uint8_t kind[8], reason[8];
	uint64_t gseq[8];
	const void *payload[8];
	struct rumor_event_id id[8];
};

static int rej_get(void *d, uint16_t origin, uint64_t seq, const struct rumor_event_id *id,
		   const void **p, size_t *len)
{
	struct rej_seen *s = d;
	(void)origin;
	(void)id;
	s->gets++;
	if (seq == 2)
		return -EAGAIN; /* a rejected event's payload is never asked for */
	*p = "SET k v";
	*len = 7;
	return 0;
}

static void rej_applied(void *d, const struct cp_fsm_entry *e)
{
	struct rej_seen *s = d;
	if (s->n < 8) {
		s->kind[s->n] = e->kind;
		s->reason[s->n] = e->reason;
		s->gseq[s->n] = e->gseq;
		s->payload[s->n] = e->payload;
		s->id[s->n] = e->id;
	}
	s->n++;
	s->rejects += e->kind == CP_BATCH_REJECT;
}

/* A reject record applies as a visible non-event: it takes a gseq, keeps its id, carries no
 * payload (none is fetched), advances the watermark, is not executed; it survives a
 * snapshot while queued. */
static void test_reject_applies_as_non_event(void **state)
{
	(void)state;
	struct rej_seen seen = {0}, seen2 = {0};
	struct cp_payload_provider pp = {&seen, rej_get, NULL, rej_applied, NULL};
	struct cp_fsm_config cfg;
	cp_fsm_config_default(&cfg);
	struct cp_fsm *f, *g;
	assert_int_equal(cp_fsm_create(&cfg, &pp, &f), 0);
	struct rumor_event_id id1 = {1, 1}, id2 = {2, 2}, id3 = {3, 3};
	struct cp_batch b;
	cp_batch_init(&b, 0);
	cp_batch_add_event(&b, 1, 1, &id1);
	cp_batch_add_reject(&b, 1, 2, &id2, CP_BATCH_REASON_IMPOSSIBLE_TS);
	cp_batch_add_event(&b, 1, 3, &id3);
	apply(f, &b);
	assert_int_equal(cp_fsm_last_gseq(f), 3);
	assert_int_equal(cp_fsm_watermark(f, 1), 3);
	assert_int_equal(seen.n, 3);
	assert_int_equal(seen.gets, 2);
	assert_int_equal(seen.kind[1], CP_BATCH_REJECT);
	assert_int_equal(seen.reason[1], CP_BATCH_REASON_IMPOSSIBLE_TS);
	assert_int_equal(seen.gseq[1], 2);
	assert_null(seen.payload[1]);
	assert_true(rumor_event_id_equal(&seen.id[1], &id2));
	struct cp_fsm_stats st;
	cp_fsm_get_stats(f, &st);
	assert_int_equal(st.applied, 2);
	assert_int_equal(st.rejects, 1);
	assert_int_equal(st.skips, 0);
	assert_int_equal(st.kv_cmds, 2);
	struct cp_fsm_entry e;
	assert_int_equal(cp_fsm_log_get(f, 2, &e), 0);
	assert_int_equal(e.kind, CP_BATCH_REJECT);
	assert_null(e.payload);
	/* a reject that differs from a skip changes the digest */
	uint64_t dig = cp_fsm_digest(f);
	/* queued reject through a snapshot: block on a missing event first */
	pp.data = &seen2;
	assert_int_equal(cp_fsm_create(&cfg, &pp, &g), 0);
	cp_batch_clear(&b);
	cp_batch_add_event(&b, 2, 1, &id2); /* seq 1 of origin 2 is there */
	cp_batch_add_event(&b, 2, 2, &id2); /* seq 2 is missing: blocks */
	cp_batch_add_reject(&b, 2, 3, &id3, CP_BATCH_REASON_IMPOSSIBLE_TS);
	apply(f, &b);
	assert_int_equal(cp_fsm_queue_len(f), 2);
	void *snap;
	size_t slen;
	assert_int_equal(cp_fsm_snapshot_save(f, &snap, &slen), 0);
	assert_int_equal(cp_fsm_snapshot_load(g, snap, slen), 0);
	free(snap);
	assert_int_equal(cp_fsm_digest(g), cp_fsm_digest(f));
	assert_true(dig != cp_fsm_digest(f));
	assert_int_equal(cp_fsm_log_get(g, 2, &e), 0);
	assert_int_equal(e.kind, CP_BATCH_REJECT);
	assert_int_equal(e.reason, CP_BATCH_REASON_IMPOSSIBLE_TS);
	cp_batch_free(&b);
	cp_fsm_destroy(f);
	cp_fsm_destroy(g);
}

/* An operator's "payload lost" reject for a committed event the apply waits on: that queued
 * event applies as the reject (a gseq, no payload, not executed) and the order goes on; the
 * same record for an event applied already changes nothing. */
static void test_lost_payload_skip(void **state)
{
	(void)state;
	struct rej_seen seen = {0};
	struct cp_payload_provider pp = {&seen, rej_get, NULL, rej_applied, NULL};
	struct cp_fsm_config cfg;
	cp_fsm_config_default(&cfg);
	struct cp_fsm *f;
	assert_int_equal(cp_fsm_create(&cfg, &pp, &f), 0);
	struct rumor_event_id id1 = {1, 1}, id2 = {2, 2}, id3 = {3, 3}, other = {9, 9};
	struct cp_batch b;
	cp_batch_init(&b, 0);
	cp_batch_add_event(&b, 1, 1, &id1);
	cp_batch_add_event(&b, 1, 2, &id2); /* its payload is gone (rej_get): blocks */
	cp_batch_add_event(&b, 1, 3, &id3);
	apply(f, &b);
	assert_int_equal(cp_fsm_last_gseq(f), 1);
	assert_int_equal(cp_fsm_queue_len(f), 2);
	cp_batch_clear(&b);
	cp_batch_add_reject(&b, 1, 2, &other, CP_BATCH_REASON_LOST); /* wrong id: nothing */
	apply(f, &b);
	assert_int_equal(cp_fsm_queue_len(f), 2);
	cp_batch_clear(&b);
	cp_batch_add_reject(&b, 1, 2, &id2, CP_BATCH_REASON_LOST);
	apply(f, &b);
	assert_int_equal(cp_fsm_queue_len(f), 0);
	assert_int_equal(cp_fsm_last_gseq(f), 3);
	assert_int_equal(seen.kind[1], CP_BATCH_REJECT);
	assert_int_equal(seen.reason[1], CP_BATCH_REASON_LOST);
	assert_int_equal(seen.gseq[1], 2);
	assert_null(seen.payload[1]);
	assert_int_equal(seen.kind[2], CP_BATCH_EVENT);
	struct cp_fsm_stats st;
	cp_fsm_get_stats(f, &st);
	assert_int_equal(st.lost, 1);
	assert_int_equal(st.kv_cmds, 2);
	cp_batch_clear(&b);
	cp_batch_add_reject(&b, 1, 1, &id1, CP_BATCH_REASON_LOST); /* applied already */
	apply(f, &b);
	assert_int_equal(cp_fsm_last_gseq(f), 3);
	assert_string_equal(cp_batch_reason_text(CP_BATCH_REASON_LOST),
			    "payload lost (operator skip)");
	/* the codec carries the reason */
	uint8_t buf[256];
	struct cp_batch d;
	cp_batch_init(&d, 0);
	cp_batch_clear(&b);
	cp_batch_add_reject(&b, 1, 7, &id3, CP_BATCH_REASON_LOST);
	size_t n = cp_batch_encoded_size(&b);
	assert_true(n <= sizeof(buf));
	assert_int_equal(cp_batch_encode(&b, buf, n) < 0, 0);
	assert_int_equal(cp_batch_decode(buf, n, &d), 0);
	assert_int_equal(d.recs[0].reason, CP_BATCH_REASON_LOST);
	assert_int_equal(cp_batch_add_reject(&b, 1, 8, &id3, 77), -EINVAL);
	cp_batch_free(&d);
	cp_batch_free(&b);
	cp_fsm_destroy(f);
}

/* Apply a random multi-origin history on one fsm; snapshot it mid-way (with a blocked queue)
 * into a second fsm; feed both the rest: identical digests, KV and logs. */
static void test_snapshot_continues_identically(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 30; seed++) {
		struct model m;
		m_init(&m, 5, seed);
		for (unsigned i = 0; i < 400; i++)
			{ unsigned k = m_create(&m, (uint16_t)(1 + m_below(&m.rng, 5))); m.ev[k].reported = 1; }
		uint8_t *av1 = calloc(m.nev, 1), *av2 = calloc(m.nev, 1);
		struct prov p1 = {.m = &m, .avail = av1}, p2 = {.m = &m, .avail = av2};
		struct cp_fsm *f1 = mkfsm(&p1, 64), *f2 = mkfsm(&p2, 32);
		struct cp_batch b;
		cp_batch_init(&b, 0);
		unsigned cutpoint = 150 + (unsigned)m_below(&m.rng, 100);
		for (unsigned i = 0; i < m.nev; i++) {
			/* model events are created per origin in seq order: a valid order */
			cp_batch_add_event(&b, m.ev[i].origin, m.ev[i].seq, &m.ev[i].id);
			av1[i] = m_below(&m.rng, 10) != 0;
			if (b.n == 20 || i + 1 == m.nev) {
				apply(f1, &b);
				if (i >= cutpoint)
					apply(f2, &b);
				cp_batch_clear(&b);
			}
			if (i + 1 == cutpoint) {
				void *snap;
				size_t len;
				assert_int_equal(cp_fsm_snapshot_save(f1, &snap, &len), 0);
				assert_int_equal(cp_fsm_snapshot_load(f2, snap, len), 0);
				/* the checker of f2 starts from f1's state */
				p2.chk = p1.chk;
				assert_int_equal(cp_fsm_digest(f1), cp_fsm_digest(f2));
				assert_int_equal(cp_fsm_queue_len(f1), cp_fsm_queue_len(f2));
				/* bad snapshots are rejected and change nothing */
				uint64_t d = cp_fsm_digest(f2);
				assert_int_equal(cp_fsm_snapshot_load(f2, snap, len - 1), -EMSGSIZE);
				((uint8_t *)snap)[0] ^= 1;
				assert_int_equal(cp_fsm_snapshot_load(f2, snap, len), -EPROTO);
				assert_int_equal(cp_fsm_digest(f2), d);
				free(snap);
			}
		}
		memset(av1, 1, m.nev);
		memset(av2, 1, m.nev);
		cp_fsm_drain(f1);
		cp_fsm_drain(f2);
		assert_int_equal(cp_fsm_last_gseq(f1), m.nev);
		assert_int_equal(cp_fsm_last_gseq(f2), m.nev);
		assert_int_equal(cp_fsm_digest(f1), cp_fsm_digest(f2));
		assert_int_equal(cp_kv_digest(cp_fsm_kv(f1)), cp_kv_digest(cp_fsm_kv(f2)));
		for (uint64_t g = m.nev - 31; g <= m.nev; g++) {
			struct cp_fsm_entry e1, e2;
			assert_int_equal(cp_fsm_log_get(f1, g, &e1), 0);
			assert_int_equal(cp_fsm_log_get(f2, g, &e2), 0);
			assert_true(rumor_event_id_equal(&e1.id, &e2.id));
			assert_int_equal(e1.len, e2.len);
			assert_memory_equal(e1.payload, e2.payload, e1.len);
		}
		assert_int_equal(p1.bad + p2.bad, 0);
		/* a differently ordered history gives a different digest */
		cp_batch_free(&b);
		cp_fsm_destroy(f1);
		cp_fsm_destroy(f2);
		free(av1);
		free(av2);
		m_free(&m);
	}
}

/* Corrupted snapshots (bit flips, truncations) load cleanly or fail; never crash and never
 * leave a half-loaded state (ASan runs this too). */
/* Issue 13: a skip range is one record, one gseq; the watermark jumps to its last seq; the
 * applied callback carries the range; a partly ordered range applies only its tail; the
 * digest tells ranges apart; a snapshot (queue and log window) keeps ranges and a restored
 * fsm continues identically. */
static void test_skip_range(void **state)
{
	(void)state;
	struct model m;
	m_init(&m, 3, 1);
	uint8_t avail[1] = {0};
	struct prov pv = {.m = &m, .avail = avail};
	struct cp_fsm *f = mkfsm(&pv, 16);
	struct cp_batch b;
	cp_batch_init(&b, 0);
	assert_int_equal(cp_batch_add_skip_range(&b, 2, 1, 4096), 0);
	assert_int_equal(cp_batch_add_skip_range(&b, 2, 4097, (1ull << 21) + 4096), 0);
	apply(f, &b);
	assert_int_equal(cp_fsm_last_gseq(f), 2);
	assert_int_equal(cp_fsm_watermark(f, 2), (1ull << 21) + 4096);
	struct cp_fsm_entry e;
	assert_int_equal(cp_fsm_log_get(f, 1, &e), 0);
	assert_int_equal(e.kind, CP_BATCH_SKIP);
	assert_int_equal(e.seq, 1);
	assert_int_equal(e.seq_last, 4096);
	assert_int_equal(cp_fsm_log_get(f, 2, &e), 0);
	assert_int_equal(e.seq, 4097);
	assert_int_equal(e.seq_last, (1ull << 21) + 4096);
	struct cp_fsm_stats st;
	cp_fsm_get_stats(f, &st);
	assert_int_equal(st.skips, 2);
	assert_int_equal(st.skipped_seqs, (1ull << 21) + 4096);
	assert_int_equal(pv.bad, 0);

	/* a range that starts below the watermark (an old leader's, re-cut in part): its tail;
	 * one wholly below: a dup */
	cp_batch_clear(&b);
	assert_int_equal(cp_batch_add_skip_range(&b, 1, 1, 10), 0);
	assert_int_equal(cp_batch_add_skip_range(&b, 1, 5, 20), 0);
	assert_int_equal(cp_batch_add_skip_range(&b, 1, 3, 15), 0);
	apply(f, &b);
	assert_int_equal(cp_fsm_last_gseq(f), 4);
	assert_int_equal(cp_fsm_watermark(f, 1), 20);
	assert_int_equal(cp_fsm_log_get(f, 4, &e), 0);
	assert_int_equal(e.seq, 11);
	assert_int_equal(e.seq_last, 20);
	cp_fsm_get_stats(f, &st);
	assert_int_equal(st.dups, 1);
	assert_int_equal(st.gap_jumps, 0);
	assert_int_equal(pv.bad, 0);

	/* same gseqs and ids, another range: another digest; a one-seq skip hashes as before */
	struct prov pv2 = {.m = &m, .avail = avail};
	struct cp_fsm *g = mkfsm(&pv2, 16);
	cp_batch_clear(&b);
	assert_int_equal(cp_batch_add_skip_range(&b, 2, 1, 4095), 0);
	apply(g, &b);
	struct prov pv3 = {.m = &m, .avail = avail};
	struct cp_fsm *h = mkfsm(&pv3, 16);
	cp_batch_clear(&b);
	assert_int_equal(cp_batch_add_skip_range(&b, 2, 1, 4096), 0);
	apply(h, &b);
	assert_true(cp_fsm_digest(g) != cp_fsm_digest(h));
	cp_fsm_destroy(g);
	cp_fsm_destroy(h);
	pv2 = (struct prov){.m = &m, .avail = avail};
	pv3 = (struct prov){.m = &m, .avail = avail};
	g = mkfsm(&pv2, 16);
	h = mkfsm(&pv3, 16);
	cp_batch_clear(&b);
	assert_int_equal(cp_batch_add_skip(&b, 2, 1), 0);
	apply(g, &b);
	cp_batch_clear(&b);
	assert_int_equal(cp_batch_add_skip_range(&b, 2, 1, 1), 0);
	apply(h, &b);
	assert_true(cp_fsm_digest(g) == cp_fsm_digest(h));
	cp_fsm_destroy(g);
	cp_fsm_destroy(h);

	/* snapshot with a range in the log window and one in the committed queue (behind an
	 * event whose payload is missing) */
	unsigned k = m_create(&m, 3);
	m.ev[k].reported = 1;
	cp_batch_clear(&b);
	cp_batch_add_event(&b, 3, 1, &m.ev[k].id);
	assert_int_equal(cp_batch_add_skip_range(&b, 3, 2, 9000), 0);
	apply(f, &b);
	assert_int_equal(cp_fsm_queue_len(f), 2);
	void *buf;
	size_t len;
	assert_int_equal(cp_fsm_snapshot_save(f, &buf, &len), 0);
	pv2 = (struct prov){.m = &m, .avail = avail};
	g = mkfsm(&pv2, 16);
	assert_int_equal(cp_fsm_snapshot_load(g, buf, len), 0);
	free(buf);
	pv2.chk = pv.chk;
	assert_int_equal(cp_fsm_log_get(g, 2, &e), 0);
	assert_int_equal(e.seq_last, (1ull << 21) + 4096);
	assert_int_equal(cp_fsm_digest(g), cp_fsm_digest(f));
	assert_int_equal(cp_fsm_watermark(g, 3), 9000);
	avail[0] = 1;
	assert_int_equal(cp_fsm_drain(f), 2);
	assert_int_equal(cp_fsm_drain(g), 2);
	assert_int_equal(cp_fsm_last_gseq(g), 6);
	assert_int_equal(cp_fsm_log_get(g, 6, &e), 0);
	assert_int_equal(e.seq, 2);
	assert_int_equal(e.seq_last, 9000);
	assert_int_equal(cp_fsm_digest(g), cp_fsm_digest(f));
	assert_int_equal(pv.bad + pv2.bad, 0);

	/* a snapshot whose range record ends at or below its start is refused */
	assert_int_equal(cp_fsm_snapshot_save(g, &buf, &len), 0);
	uint8_t *p = buf;
	size_t at = 0;
	/* the log entry of gseq 6: kind 4, origin 3, seq 2, last 9000 */
	static const uint8_t rec[19] = {CP_BATCH_WIRE_SKIP_RANGE, 3, 0, 2, 0, 0, 0, 0, 0, 0, 0,
					0x28, 0x23};
	for (size_t i = 0; i + sizeof(rec) <= len; i++)
		if (!memcmp(p + i, rec, sizeof(rec)))
			at = i;
	assert_true(at > 0);
	memset(p + at + 11, 0, 8); /* last seq 0 */
	assert_int_equal(cp_fsm_snapshot_load(h = mkfsm(&pv3, 16), buf, len), -EINVAL);
	cp_fsm_destroy(h);
	free(buf);
	cp_fsm_destroy(g);
	cp_batch_free(&b);
	cp_fsm_destroy(f);
	m_free(&m);
}

static void test_snapshot_corruption(void **state)
{
	(void)state;
	struct model m;
	chain(&m, 50);
	uint8_t avail[50];
	memset(avail, 1, sizeof(avail));
	avail[40] = 0; /* leave a queue behind */
	struct prov pv = {.m = &m, .avail = avail};
	struct cp_fsm *f = mkfsm(&pv, 16);
	struct cp_batch b;
	cp_batch_init(&b, 0);
	for (unsigned i = 0; i < 50; i++)
		cp_batch_add_event(&b, 1, i + 1, &m.ev[i].id);
	apply(f, &b);
	void *snap;
	size_t len;
	assert_int_equal(cp_fsm_snapshot_save(f, &snap, &len), 0);
	struct prov pv2 = {.m = &m, .avail = avail};
	struct cp_fsm *g = mkfsm(&pv2, 16);
	uint8_t *bad = malloc(len);
	uint64_t rng = 99;
	unsigned ok = 0;
	for (unsigned k = 0; k < 2000; k++) {
		memcpy(bad, snap, len);
		size_t l = len;
		if (k % 3 == 0)
			l = m_below(&rng, (unsigned)len);
		else
			bad[m_below(&rng, (unsigned)len)] ^= (uint8_t)(1u << m_below(&rng, 8));
		uint64_t before = cp_fsm_digest(g);
		int rc = cp_fsm_snapshot_load(g, bad, l);
		if (rc == 0)
			ok++;
		else
			assert_int_equal(cp_fsm_digest(g), before);
	}
	assert_true(ok < 2000);
	assert_int_equal(cp_fsm_snapshot_load(g, snap, len), 0);
	assert_int_equal(cp_fsm_digest(g), cp_fsm_digest(f));
	free(bad);
	free(snap);
	cp_batch_free(&b);
	cp_fsm_destroy(f);
	cp_fsm_destroy(g);
	m_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_block_and_drain),
		cmocka_unit_test(test_reject_applies_as_non_event),
		cmocka_unit_test(test_lost_payload_skip),
		cmocka_unit_test(test_snapshot_continues_identically),
		cmocka_unit_test(test_snapshot_corruption),
		cmocka_unit_test(test_skip_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
