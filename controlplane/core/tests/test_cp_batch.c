/* Unit tests for the cp_batch codec: round trip and strict rejection of bad inputs. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cp_batch.h"
#include "model.h"

static void test_round_trip(void **state)
{
	(void)state;
	uint64_t rng = 7;
	struct cp_batch b, d;
	cp_batch_init(&b, 0);
	cp_batch_init(&d, 0);
	for (unsigned n = 0; n < 300; n += 37) {
		cp_batch_clear(&b);
		for (unsigned i = 0; i < n; i++) {
			struct rumor_event_id id = {m_rand(&rng), m_rand(&rng)};
			uint16_t o = (uint16_t)(1 + m_below(&rng, RUMOR_NODE_ID_MAX));
			uint64_t s = 1 + m_rand(&rng) % 1000000;
			if (i % 5 == 4)
				assert_int_equal(cp_batch_add_skip(&b, o, s), 0);
			else
				assert_int_equal(cp_batch_add_event(&b, o, s, &id), 0);
		}
		uint8_t buf[CP_BATCH_HDR_SIZE + 300 * CP_BATCH_REC_SIZE];
		long len = cp_batch_encode(&b, buf, sizeof(buf));
		assert_int_equal(len, (long)cp_batch_encoded_size(&b));
		assert_int_equal(cp_batch_decode(buf, (size_t)len, &d), 0);
		assert_int_equal(d.n, n);
		for (unsigned i = 0; i < n; i++) {
			assert_int_equal(d.recs[i].kind, b.recs[i].kind);
			assert_int_equal(d.recs[i].origin, b.recs[i].origin);
			assert_int_equal(d.recs[i].seq, b.recs[i].seq);
			assert_true(rumor_event_id_equal(&d.recs[i].id, &b.recs[i].id));
		}
	}
	cp_batch_free(&b);
	cp_batch_free(&d);
}

/* A reject record keeps its id and reason through encode/decode; bad reasons are refused. */
static void test_reject_round_trip(void **state)
{
	(void)state;
	struct cp_batch b, d;
	cp_batch_init(&b, 0);
	cp_batch_init(&d, 0);
	struct rumor_event_id id = {0x1122334455667788ull, 0x99aabbccddeeff00ull};
	assert_int_equal(cp_batch_add_event(&b, 3, 7, &id), 0);
	assert_int_equal(cp_batch_add_reject(&b, 3, 8, &id, CP_BATCH_REASON_IMPOSSIBLE_TS), 0);
	assert_int_equal(cp_batch_add_skip(&b, 3, 9), 0);
	assert_int_equal(cp_batch_add_reject(&b, 3, 10, &id, 0), -EINVAL);
	assert_int_equal(cp_batch_add_reject(&b, 3, 10, &id, 3), -EINVAL); /* 1 and 2 are the reasons */
	assert_int_equal(cp_batch_add_reject(&b, 3, 10, NULL, CP_BATCH_REASON_IMPOSSIBLE_TS),
			 -EINVAL);
	assert_int_equal(b.n, 3);
	uint8_t buf[16 + 3 * 28], bad[sizeof(buf)];
	long len = cp_batch_encode(&b, buf, sizeof(buf));
	assert_int_equal(len, (long)sizeof(buf));
	assert_int_equal(buf[16 + 28], CP_BATCH_REJECT);
	assert_int_equal(buf[16 + 28 + 1], CP_BATCH_REASON_IMPOSSIBLE_TS);
	assert_int_equal(cp_batch_decode(buf, (size_t)len, &d), 0);
	assert_int_equal(d.n, 3);
	assert_int_equal(d.recs[0].kind, CP_BATCH_EVENT);
	assert_int_equal(d.recs[0].reason, 0);
	assert_int_equal(d.recs[1].kind, CP_BATCH_REJECT);
	assert_int_equal(d.recs[1].reason, CP_BATCH_REASON_IMPOSSIBLE_TS);
	assert_int_equal(d.recs[1].origin, 3);
	assert_int_equal(d.recs[1].seq, 8);
	assert_true(rumor_event_id_equal(&d.recs[1].id, &id));
	assert_int_equal(d.recs[2].kind, CP_BATCH_SKIP);
	assert_string_equal(cp_batch_reason_text(d.recs[1].reason), "impossible timestamp");
	/* unknown reason on a reject, a reason byte on an event or a skip */
	unsigned offs[] = {16 + 28 + 1, 16 + 1, 16 + 56 + 1};
	uint8_t vals[] = {3, 1, 1}; /* reasons 1 and 2 exist */
	for (unsigned i = 0; i < 3; i++) {
		memcpy(bad, buf, sizeof(buf));
		bad[offs[i]] = vals[i];
		assert_int_equal(cp_batch_decode(bad, sizeof(bad), &d), -EINVAL);
		assert_int_equal(d.n, 0);
	}
	memcpy(bad, buf, sizeof(buf));
	bad[16 + 28 + 1] = 0;
	assert_int_equal(cp_batch_decode(bad, sizeof(bad), &d), -EINVAL);
	cp_batch_free(&b);
	cp_batch_free(&d);
}

static void test_bad_inputs(void **state)
{
	(void)state;
	struct cp_batch b, d;
	cp_batch_init(&b, 0);
	cp_batch_init(&d, 0);
	struct rumor_event_id id = {1, 2};
	assert_int_equal(cp_batch_add_event(&b, 0, 1, &id), -EINVAL);
	assert_int_equal(cp_batch_add_event(&b, RUMOR_NODE_ID_MAX + 1, 1, &id), -EINVAL);
	assert_int_equal(cp_batch_add_skip(&b, 1, 0), -EINVAL);
	cp_batch_add_event(&b, 3, 9, &id);
	cp_batch_add_skip(&b, 4, 2);
	uint8_t buf[128], bad[128];
	long len = cp_batch_encode(&b, buf, sizeof(buf));
	assert_int_equal(len, 16 + 2 * 28);
	assert_int_equal(cp_batch_encode(&b, buf, (size_t)len - 1), -ENOBUFS);
	assert_int_equal(cp_batch_decode(buf, 15, &d), -EMSGSIZE);
	assert_int_equal(cp_batch_decode(buf, (size_t)len - 1, &d), -EMSGSIZE);
	uint8_t big[200];
	memcpy(big, buf, (size_t)len);
	big[len] = 0;
	assert_int_equal(cp_batch_decode(big, (size_t)len + 1, &d), -EMSGSIZE);
	/* flip each header/record byte that must be validated */
	struct { unsigned off; uint8_t val; int err; } cases[] = {
		{0, 0x00, -EPROTO}, {4, 2, -EPROTO}, {5, 1, -EPROTO}, {6, 1, -EPROTO},
		{12, 1, -EPROTO}, {8, 3, -EMSGSIZE}, {11, 0x80, -E2BIG},
		{16, 0, -EINVAL}, {16, 3, -EINVAL}, {16, 4, -EINVAL}, {17, 1, -EINVAL},
		{18, 0, -EINVAL}, /* origin 3 -> 0 (low byte) */
		{20, 0, -EINVAL}, /* seq 9 -> 0 */
		{44 + 3, 0x04, -EINVAL}, /* second origin 4 -> 0x404 > max */
		{44 + 12, 1, -EINVAL},   /* skip with nonzero id */
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(bad, buf, (size_t)len);
		bad[cases[i].off] = cases[i].val;
		d.n = 5;
		assert_int_equal(cp_batch_decode(bad, (size_t)len, &d), cases[i].err);
		assert_int_equal(d.n, 0);
	}
	assert_int_equal(cp_batch_decode(buf, (size_t)len, &d), 0);
	/* empty batch is valid */
	cp_batch_clear(&b);
	len = cp_batch_encode(&b, buf, sizeof(buf));
	assert_int_equal(cp_batch_decode(buf, (size_t)len, &d), 0);
	assert_int_equal(d.n, 0);
	cp_batch_free(&b);
	cp_batch_free(&d);
}

/* Issue 13: a skip range is one 28-byte record (wire kind 4, last seq in id.hi); a one-seq
 * skip keeps the old kind-2 bytes, so batches from before ranges decode unchanged. */
static void test_skip_range_round_trip(void **state)
{
	(void)state;
	struct cp_batch b, d;
	cp_batch_init(&b, 0);
	cp_batch_init(&d, 0);
	assert_int_equal(cp_batch_add_skip_range(&b, 1, 5, 4), -EINVAL);
	assert_int_equal(cp_batch_add_skip_range(&b, 1, 0, 4), -EINVAL);
	assert_int_equal(cp_batch_add_skip_range(&b, 7, 101, 4096), 0);
	assert_int_equal(cp_batch_add_skip_range(&b, 7, 4097, 4097), 0); /* one seq */
	assert_int_equal(cp_batch_add_skip_range(&b, 9, 1, (1ull << 21) + 1), 0);
	assert_int_equal(b.recs[1].kind, CP_BATCH_SKIP);
	uint8_t buf[16 + 3 * 28], bad[sizeof(buf)];
	long len = cp_batch_encode(&b, buf, sizeof(buf));
	assert_int_equal(len, sizeof(buf));
	assert_int_equal(buf[16], CP_BATCH_WIRE_SKIP_RANGE);
	assert_int_equal(buf[16 + 28], CP_BATCH_SKIP); /* old format */
	for (unsigned i = 12; i < 28; i++)
		assert_int_equal(buf[16 + 28 + i], 0);
	assert_int_equal(buf[16 + 12], 4096 & 0xff); /* last seq in id.hi */
	assert_int_equal(buf[16 + 13], 4096 >> 8);
	assert_int_equal(cp_batch_decode(buf, (size_t)len, &d), 0);
	assert_int_equal(d.n, 3);
	uint64_t first[3] = {101, 4097, 1}, last[3] = {4096, 4097, (1ull << 21) + 1};
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(d.recs[i].kind, CP_BATCH_SKIP);
		assert_int_equal(d.recs[i].seq, first[i]);
		assert_int_equal(d.recs[i].seq_last, last[i]);
		assert_int_equal(d.recs[i].id.hi | d.recs[i].id.lo, 0);
	}
	/* a batch written before ranges existed (kind 2, zero id) decodes as one-seq skips */
	uint8_t old[16 + 28] = {0x52, 0x42, 0x41, 0x54, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
				CP_BATCH_SKIP, 0, 3, 0, 9};
	assert_int_equal(cp_batch_decode(old, sizeof(old), &d), 0);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.recs[0].seq, 9);
	assert_int_equal(d.recs[0].seq_last, 9);
	/* events and rejects carry seq_last == seq */
	struct rumor_event_id id = {5, 6};
	cp_batch_clear(&b);
	cp_batch_add_event(&b, 1, 3, &id);
	cp_batch_add_reject(&b, 1, 4, &id, CP_BATCH_REASON_IMPOSSIBLE_TS);
	uint8_t eb[16 + 2 * 28];
	assert_int_equal(cp_batch_encode(&b, eb, sizeof(eb)), sizeof(eb));
	assert_int_equal(cp_batch_decode(eb, sizeof(eb), &d), 0);
	assert_int_equal(d.recs[0].seq_last, 3);
	assert_int_equal(d.recs[1].seq_last, 4);
	/* a range must end above its start, with id.lo and reason zero */
	struct { unsigned off; uint8_t val; } cases[] = {
		{16 + 13, 0},  /* last 4096 -> 0 */
		{16 + 20, 1},  /* id.lo != 0 */
		{16 + 1, 1},   /* reason byte */
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(bad, buf, sizeof(buf));
		bad[cases[i].off] = cases[i].val;
		d.n = 5;
		assert_int_equal(cp_batch_decode(bad, sizeof(bad), &d), -EINVAL);
		assert_int_equal(d.n, 0);
	}
	memcpy(bad, buf, sizeof(buf));
	bad[16 + 12] = 101; /* last == first */
	bad[16 + 13] = 0;
	assert_int_equal(cp_batch_decode(bad, sizeof(bad), &d), -EINVAL);
	cp_batch_free(&b);
	cp_batch_free(&d);
}

/* Random mutations of a valid batch: decode either succeeds with in-range records or fails
 * leaving the batch empty. */
static void test_mutations(void **state)
{
	(void)state;
	struct cp_batch b, d;
	cp_batch_init(&b, 0);
	cp_batch_init(&d, 0);
	uint64_t rng = 3;
	for (unsigned i = 0; i < 20; i++) {
		struct rumor_event_id id = {m_rand(&rng), m_rand(&rng)};
		if (i % 4 == 3)
			cp_batch_add_skip(&b, (uint16_t)(1 + i), i + 1);
		else
			cp_batch_add_event(&b, (uint16_t)(1 + i), i + 1, &id);
	}
	uint8_t buf[16 + 20 * 28], bad[sizeof(buf)];
	long len = cp_batch_encode(&b, buf, sizeof(buf));
	unsigned ok = 0;
	for (unsigned k = 0; k < 20000; k++) {
		memcpy(bad, buf, (size_t)len);
		unsigned flips = 1 + m_below(&rng, 3);
		for (unsigned j = 0; j < flips; j++)
			bad[m_below(&rng, (unsigned)len)] ^= (uint8_t)m_rand(&rng);
		size_t l = k % 5 == 0 ? m_below(&rng, (unsigned)len + 1) : (size_t)len;
		int rc = cp_batch_decode(bad, l, &d);
		if (rc) {
			assert_int_equal(d.n, 0);
			continue;
		}
		ok++;
		for (unsigned i = 0; i < d.n; i++) {
			assert_true(d.recs[i].origin >= 1 && d.recs[i].origin <= RUMOR_NODE_ID_MAX);
			assert_true(d.recs[i].seq >= 1);
		}
	}
	assert_true(ok > 0 && ok < 20000);
	cp_batch_free(&b);
	cp_batch_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_reject_round_trip),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_skip_range_round_trip),
		cmocka_unit_test(test_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
