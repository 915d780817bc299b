/* Unit tests for the keyring entry (cp_batch RKEY codec) and its state machine rules
 * (cp_fsm): refusals, generation, callback, no effect on the order, snapshot v1/v2. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cp_fsm.h"

static int nget(void *d, uint16_t o, uint64_t s, const struct rumor_event_id *id,
		const void **p, size_t *len)
{
	(void)d, (void)o, (void)s, (void)id, (void)p, (void)len;
	return -EAGAIN;
}

struct cbs {
	unsigned calls;
	struct cp_fsm_keyring last;
};

static void on_kr(void *d, const struct cp_fsm_keyring *kr)
{
	struct cbs *c = d;
	c->calls++;
	c->last = *kr;
}

static struct cp_fsm *mk(struct cbs *c)
{
	struct cp_payload_provider pp = { .get = nget };
	struct cp_fsm_config cfg;
	struct cp_fsm *f;
	cp_fsm_config_default(&cfg);
	assert_int_equal(cp_fsm_create(&cfg, &pp, &f), 0);
	if (c)
		cp_fsm_set_keyring_cb(f, on_kr, c);
	return f;
}

static void key_of(uint8_t id, uint8_t key[32])
{
	for (unsigned i = 0; i < 32; i++)
		key[i] = (uint8_t)(id * 31 + i);
}

/* Apply one keyring entry through libraft's fsm callback; returns the verdict it hands the
 * proposer. */
static int op(struct cp_fsm *f, uint8_t kind, uint8_t id)
{
	struct cp_keyop k = { .op = kind, .id = id };
	uint8_t buf[CP_KEYOP_SIZE];
	if (kind == CP_KEYOP_INSTALL)
		key_of(id, k.key);
	assert_int_equal(cp_keyop_encode(&k, buf, sizeof(buf)), CP_KEYOP_SIZE);
	struct raft_buffer rb = { buf, sizeof(buf) };
	void *res = NULL;
	struct raft_fsm *rf = cp_fsm_raft(f);
	assert_int_equal(rf->apply(rf, &rb, &res), 0);
	assert_non_null(res);
	assert_int_equal(*(int *)res, cp_fsm_last_keyop(f));
	return *(int *)res;
}

static void test_codec(void **state)
{
	(void)state;
	struct cp_keyop k = { .op = CP_KEYOP_INSTALL, .id = 7 }, d;
	uint8_t buf[64];
	key_of(7, k.key);
	assert_int_equal(cp_keyop_encode(&k, buf, 39), -ENOBUFS);
	assert_int_equal(cp_keyop_encode(&k, buf, sizeof(buf)), CP_KEYOP_SIZE);
	assert_memory_equal(buf, "RKEY", 4);
	assert_int_equal(buf[4], 1);
	assert_int_equal(cp_entry_kind(buf, CP_KEYOP_SIZE), CP_ENTRY_KEYOP);
	assert_int_equal(cp_keyop_decode(buf, CP_KEYOP_SIZE, &d), 0);
	assert_memory_equal(&d, &k, sizeof(k));
	/* strict */
	assert_int_equal(cp_keyop_decode(buf, CP_KEYOP_SIZE - 1, &d), -EMSGSIZE);
	assert_int_equal(cp_keyop_decode(buf, CP_KEYOP_SIZE + 1, &d), -EMSGSIZE);
	buf[4] = 2;
	assert_int_equal(cp_keyop_decode(buf, CP_KEYOP_SIZE, &d), -EPROTO);
	buf[4] = 1, buf[7] = 1;
	assert_int_equal(cp_keyop_decode(buf, CP_KEYOP_SIZE, &d), -EPROTO);
	buf[7] = 0, buf[6] = 0;
	assert_int_equal(cp_keyop_decode(buf, CP_KEYOP_SIZE, &d), -EINVAL);
	buf[6] = 7, buf[5] = 4;
	assert_int_equal(cp_keyop_decode(buf, CP_KEYOP_SIZE, &d), -EINVAL);
	buf[5] = CP_KEYOP_USE; /* a use with key bytes */
	assert_int_equal(cp_keyop_decode(buf, CP_KEYOP_SIZE, &d), -EINVAL);
	k.op = CP_KEYOP_REMOVE;
	assert_int_equal(cp_keyop_encode(&k, buf, sizeof(buf)), -EINVAL);
	memset(k.key, 0, sizeof(k.key));
	assert_int_equal(cp_keyop_encode(&k, buf, sizeof(buf)), CP_KEYOP_SIZE);
	assert_int_equal(cp_keyop_decode(buf, CP_KEYOP_SIZE, &d), 0);
	assert_int_equal(d.op, CP_KEYOP_REMOVE);
	/* the two kinds never meet: a batch is a batch, a short buffer is nothing */
	struct cp_batch b;
	cp_batch_init(&b, 1);
	cp_batch_add_skip(&b, 1, 1);
	long n = cp_batch_encode(&b, buf, sizeof(buf));
	assert_int_equal(cp_entry_kind(buf, (size_t)n), CP_ENTRY_BATCH);
	assert_int_equal(cp_entry_kind(buf, 3), CP_ENTRY_UNKNOWN);
	cp_batch_free(&b);
}

static void test_rules(void **state)
{
	(void)state;
	struct cbs c = { 0 };
	struct cp_fsm *f = mk(&c);
	struct cp_fsm_stats st;
	const struct cp_fsm_keyring *kr = cp_fsm_keyring(f);

	assert_int_equal(kr->gen, 0);
	assert_int_equal(op(f, CP_KEYOP_USE, 2), -ENOKEY);       /* not installed */
	assert_int_equal(op(f, CP_KEYOP_REMOVE, 1), -EBUSY);     /* no use committed yet */
	assert_int_equal(kr->gen, 0);
	assert_int_equal(c.calls, 0);
	assert_int_equal(op(f, CP_KEYOP_INSTALL, 2), 0);
	assert_int_equal(op(f, CP_KEYOP_INSTALL, 2), -EEXIST);
	assert_int_equal(op(f, CP_KEYOP_REMOVE, 1), -EBUSY);     /* still no use */
	assert_int_equal(op(f, CP_KEYOP_USE, 2), 0);
	assert_int_equal(op(f, CP_KEYOP_REMOVE, 2), -EBUSY);     /* in use */
	assert_int_equal(op(f, CP_KEYOP_REMOVE, 1), 0);          /* the file's key 1 */
	assert_int_equal(op(f, CP_KEYOP_REMOVE, 1), -ENOENT);    /* removed already */
	assert_int_equal(kr->gen, 3);
	assert_int_equal(kr->use, 2);
	assert_int_equal(kr->n, 1);
	assert_int_equal(kr->keys[0].id, 2);
	assert_true(kr->removed[0] & 2);
	assert_int_equal(c.calls, 3);
	assert_memory_equal(&c.last, kr, sizeof(*kr));
	/* install again after a remove clears the tombstone; keys stay sorted by id */
	assert_int_equal(op(f, CP_KEYOP_INSTALL, 1), 0);
	assert_false(kr->removed[0] & 2);
	assert_int_equal(kr->keys[0].id, 1);
	assert_int_equal(kr->keys[1].id, 2);
	uint8_t k1[32];
	key_of(1, k1);
	assert_memory_equal(kr->keys[0].key, k1, 32);
	assert_int_equal(op(f, CP_KEYOP_USE, 1), 0);
	assert_int_equal(op(f, CP_KEYOP_REMOVE, 2), 0);
	assert_int_equal(kr->n, 1);
	/* the bound */
	for (unsigned id = 10; id < 10 + CP_FSM_KEYS_MAX - 1; id++)
		assert_int_equal(op(f, CP_KEYOP_INSTALL, (uint8_t)id), 0);
	assert_int_equal(kr->n, CP_FSM_KEYS_MAX);
	assert_int_equal(op(f, CP_KEYOP_INSTALL, 200), -ENOSPC);
	cp_fsm_get_stats(f, &st);
	assert_int_equal(st.keyops, kr->gen);
	assert_int_equal(st.keyops_refused, 7);
	assert_int_equal(st.batches, 0);
	/* a malformed keyring entry: ignored everywhere, counted as bad */
	uint8_t bad[CP_KEYOP_SIZE] = { 'R', 'K', 'E', 'Y', 1, 9, 1, 0 };
	assert_int_equal(cp_fsm_apply_buf(f, bad, sizeof(bad)), 0);
	cp_fsm_get_stats(f, &st);
	assert_int_equal(st.bad_batches, 1);
	assert_int_equal(cp_fsm_last_keyop(f), -EINVAL);
	cp_fsm_destroy(f);
}

static void apply_batch(struct cp_fsm *f, struct cp_batch *b)
{
	uint8_t buf[256];
	long n = cp_batch_encode(b, buf, sizeof(buf));
	assert_true(n > 0);
	struct raft_buffer rb = { buf, (size_t)n };
	void *res = (void *)1;
	assert_int_equal(cp_fsm_raft(f)->apply(cp_fsm_raft(f), &rb, &res), 0);
	assert_null(res);
}

/* Keyring entries between batches leave gseqs, digest and watermarks exactly as without. */
static void test_order_untouched(void **state)
{
	(void)state;
	struct cp_fsm *a = mk(NULL), *b = mk(NULL);
	struct cp_batch bt;
	cp_batch_init(&bt, 4);
	for (uint64_t s = 1; s <= 5; s++) {
		cp_batch_clear(&bt);
		cp_batch_add_skip(&bt, 1, s);
		cp_batch_add_skip_range(&bt, 2, 10 * s - 9, 10 * s);
		apply_batch(a, &bt);
		op(b, CP_KEYOP_INSTALL, (uint8_t)s);
		apply_batch(b, &bt);
		op(b, CP_KEYOP_USE, (uint8_t)s);
	}
	assert_int_equal(cp_fsm_last_gseq(a), 10);
	assert_int_equal(cp_fsm_last_gseq(b), 10);
	assert_int_equal(cp_fsm_digest(a), cp_fsm_digest(b));
	assert_int_equal(cp_fsm_watermark(a, 2), cp_fsm_watermark(b, 2));
	assert_int_equal(cp_fsm_keyring(b)->gen, 10);
	assert_int_equal(cp_fsm_keyring(b)->use, 5);
	cp_batch_free(&bt);
	cp_fsm_destroy(a);
	cp_fsm_destroy(b);
}

static void test_snapshot(void **state)
{
	(void)state;
	struct cbs c = { 0 };
	struct cp_fsm *f = mk(NULL), *g = mk(&c), *h = mk(NULL);
	void *buf;
	size_t len;

	/* no keyring entry yet: version 1, byte for byte as before */
	assert_int_equal(cp_fsm_snapshot_save(f, &buf, &len), 0);
	assert_int_equal(((uint8_t *)buf)[4], 1);
	assert_int_equal(cp_fsm_snapshot_load(g, buf, len), 0);
	assert_int_equal(cp_fsm_keyring(g)->gen, 0);
	assert_int_equal(c.calls, 0);
	free(buf);

	op(f, CP_KEYOP_INSTALL, 3);
	op(f, CP_KEYOP_INSTALL, 9);
	op(f, CP_KEYOP_USE, 9);
	op(f, CP_KEYOP_REMOVE, 1);
	assert_int_equal(cp_fsm_snapshot_save(f, &buf, &len), 0);
	assert_int_equal(((uint8_t *)buf)[4], 2);
	assert_int_equal(cp_fsm_snapshot_load(g, buf, len), 0);
	assert_memory_equal(cp_fsm_keyring(g), cp_fsm_keyring(f), sizeof(struct cp_fsm_keyring));
	assert_int_equal(c.calls, 1); /* the restored keyring goes to the dataplane too */
	/* and the rules go on from there */
	assert_int_equal(op(g, CP_KEYOP_REMOVE, 9), -EBUSY);
	assert_int_equal(op(g, CP_KEYOP_REMOVE, 3), 0);
	/* corruptions of the keyring section are refused, the state unchanged */
	uint8_t *p = buf;
	size_t at = len - 8 - cp_kv_snapshot_size(cp_fsm_kv(f)) - 2 * 33 - 1 - 32 - 1;
	assert_int_equal(p[at], 9); /* use */
	p[at] = 4;                  /* a use that is not installed */
	assert_int_equal(cp_fsm_snapshot_load(h, buf, len), -EINVAL);
	p[at] = 9;
	p[at + 1 + 32] = CP_FSM_KEYS_MAX + 1; /* n over the bound */
	assert_int_equal(cp_fsm_snapshot_load(h, buf, len), -EINVAL);
	p[at + 1 + 32] = 2;
	p[at + 1 + 32 + 1] = 9; /* ids not ascending */
	assert_int_equal(cp_fsm_snapshot_load(h, buf, len), -EINVAL);
	assert_int_equal(cp_fsm_keyring(h)->gen, 0);
	p[at + 1 + 32 + 1] = 3;
	assert_int_equal(cp_fsm_snapshot_load(h, buf, len - 1), -EMSGSIZE);
	assert_int_equal(cp_fsm_snapshot_load(h, buf, len), 0);
	assert_memory_equal(cp_fsm_keyring(h), cp_fsm_keyring(f), sizeof(struct cp_fsm_keyring));
	free(buf);
	cp_fsm_destroy(f);
	cp_fsm_destroy(g);
	cp_fsm_destroy(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_order_untouched),
		cmocka_unit_test(test_snapshot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
