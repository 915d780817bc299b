/* Tests for rumor_event_id: hash input layout, stability, hex and wire forms. */
#include <errno.h>
#include <stdlib.h>

#include "test_util.h"

#include <xxhash.h>

#include "rumor_eventid.h"

/* id of (origin 0x0102, seq 0x0a0b0c0d0e0f1011, "hello rumor"), computed once with
 * libxxhash 0.8.1 and pinned. */
#define RUMOR_TEST_KNOWN_ID "29261fce4330ff3d5bf13aaa9bf416b9"

/* Independent computation: XXH3-128 over one concatenated buffer built byte by byte. */
static struct rumor_event_id ref_id(uint16_t origin, uint64_t seq, const void *payload,
				    size_t len)
{
	uint8_t *buf = malloc(10 + len + 1);
	struct rumor_event_id id;
	XXH128_hash_t h;

	assert_non_null(buf);
	buf[0] = (uint8_t)(origin & 0xff);
	buf[1] = (uint8_t)(origin >> 8);
	for (int i = 0; i < 8; i++)
		buf[2 + i] = (uint8_t)((seq >> (8 * i)) & 0xff);
	if (len)
		memcpy(buf + 10, payload, len);
	h = XXH3_128bits(buf, 10 + len);
	free(buf);
	id.hi = h.high64;
	id.lo = h.low64;
	return id;
}

static void eventid_known_vector(void **state)
{
	static const char payload[] = "hello rumor";
	struct rumor_event_id a, b, c;
	char hex[33];

	(void)state;
	rumor_event_id_compute(0x0102, 0x0a0b0c0d0e0f1011ull, payload, sizeof(payload) - 1, &a);
	b = ref_id(0x0102, 0x0a0b0c0d0e0f1011ull, payload, sizeof(payload) - 1);
	assert_true(rumor_event_id_equal(&a, &b));
	/* Pinned value (XXH3-128 is a stable, specified hash): ids must never change across
	 * builds or versions, since they are stored in the Raft log and snapshots. */
	rumor_event_id_hex(&a, hex);
	rumor_event_id_compute(0x0102, 0x0a0b0c0d0e0f1011ull, payload, sizeof(payload) - 1, &c);
	assert_true(rumor_event_id_equal(&a, &c));
	assert_string_equal(hex, RUMOR_TEST_KNOWN_ID);
	/* Empty payload too. */
	rumor_event_id_compute(1, 1, NULL, 0, &a);
	b = ref_id(1, 1, NULL, 0);
	assert_true(rumor_event_id_equal(&a, &b));
}

static void eventid_matches_reference(void **state)
{
	struct test_rng r;
	static uint8_t payload[5100];
	/* Sizes around the one-shot/streaming switch and XXH3's internal block sizes. */
	static const size_t sizes[] = { 0, 1, 3, 6, 16, 17, 64, 118, 128, 129, 240, 241, 1013,
					1014, 1023, 1024, 1025, 1500, 4096, 5000 };

	(void)state;
	test_rng_seed(&r, 11);
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)test_rng_next(&r);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		for (int rep = 0; rep < 20; rep++) {
			uint16_t origin = (uint16_t)test_rng_next(&r);
			uint64_t seq = test_rng_next(&r);
			struct rumor_event_id a, b;

			/* Offsets 0..19 also vary the payload's alignment. */
			rumor_event_id_compute(origin, seq, payload + rep, sizes[k], &a);
			b = ref_id(origin, seq, payload + rep, sizes[k]);
			assert_true(rumor_event_id_equal(&a, &b));
		}
	}
}

static void eventid_inputs_matter(void **state)
{
	struct rumor_event_id base, x;
	uint8_t p[32] = { 1, 2, 3 };

	(void)state;
	rumor_event_id_compute(5, 100, p, sizeof(p), &base);
	rumor_event_id_compute(6, 100, p, sizeof(p), &x);
	assert_false(rumor_event_id_equal(&base, &x));
	rumor_event_id_compute(5, 101, p, sizeof(p), &x);
	assert_false(rumor_event_id_equal(&base, &x));
	rumor_event_id_compute(5, 100, p, sizeof(p) - 1, &x);
	assert_false(rumor_event_id_equal(&base, &x));
	p[31] ^= 1;
	rumor_event_id_compute(5, 100, p, sizeof(p), &x);
	assert_false(rumor_event_id_equal(&base, &x));
	/* origin/seq are not just concatenated text: (1, 0x100) vs (0x101, 0) differ. */
	rumor_event_id_compute(1, 0x100, NULL, 0, &base);
	rumor_event_id_compute(0x101, 0, NULL, 0, &x);
	assert_false(rumor_event_id_equal(&base, &x));
}

static void eventid_hex_roundtrip(void **state)
{
	struct test_rng r;
	struct rumor_event_id a, b;
	char hex[33];

	(void)state;
	test_rng_seed(&r, 12);
	for (int i = 0; i < 1000; i++) {
		a.hi = test_rng_next(&r);
		a.lo = i == 0 ? 0 : test_rng_next(&r);
		rumor_event_id_hex(&a, hex);
		assert_int_equal(strlen(hex), 32);
		for (int k = 0; k < 32; k++)
			assert_true((hex[k] >= '0' && hex[k] <= '9') || (hex[k] >= 'a' && hex[k] <= 'f'));
		assert_int_equal(rumor_event_id_parse(hex, &b), 0);
		assert_true(rumor_event_id_equal(&a, &b));
	}
	a.hi = 0x0123456789abcdefull;
	a.lo = 0xfedcba9876543210ull;
	rumor_event_id_hex(&a, hex);
	assert_string_equal(hex, "0123456789abcdeffedcba9876543210");
	assert_int_equal(rumor_event_id_parse("0123456789ABCDEFFEDCBA9876543210", &b), 0);
	assert_true(rumor_event_id_equal(&a, &b));
}

static void eventid_parse_errors(void **state)
{
	struct rumor_event_id b = { 7, 7 };

	(void)state;
	assert_int_equal(rumor_event_id_parse("", &b), -EINVAL);
	assert_int_equal(rumor_event_id_parse(NULL, &b), -EINVAL);
	assert_int_equal(rumor_event_id_parse("0123456789abcdeffedcba987654321", &b), -EINVAL);
	assert_int_equal(rumor_event_id_parse("0123456789abcdeffedcba98765432100", &b), -EINVAL);
	assert_int_equal(rumor_event_id_parse("0123456789abcdeffedcba987654321g", &b), -EINVAL);
	assert_int_equal(rumor_event_id_parse(" 123456789abcdeffedcba9876543210", &b), -EINVAL);
	assert_int_equal(rumor_event_id_parse("0x23456789abcdeffedcba9876543210", &b), -EINVAL);
	assert_true(b.hi == 7 && b.lo == 7);
}

static void eventid_store_load_cmp(void **state)
{
	struct rumor_event_id a = { 0x0102030405060708ull, 0x1112131415161718ull }, b;
	uint8_t w[16];

	(void)state;
	rumor_event_id_store(&a, w);
	assert_int_equal(w[0], 0x01);
	assert_int_equal(w[7], 0x08);
	assert_int_equal(w[8], 0x11);
	assert_int_equal(w[15], 0x18);
	rumor_event_id_load(w, &b);
	assert_true(rumor_event_id_equal(&a, &b));
	assert_int_equal(rumor_event_id_cmp(&a, &b), 0);
	b.lo++;
	assert_int_equal(rumor_event_id_cmp(&a, &b), -1);
	assert_int_equal(rumor_event_id_cmp(&b, &a), 1);
	b.lo = 0;
	b.hi = a.hi + 1;
	assert_int_equal(rumor_event_id_cmp(&a, &b), -1);
	b.hi = a.hi - 1;
	b.lo = UINT64_MAX;
	assert_int_equal(rumor_event_id_cmp(&a, &b), 1);
	assert_false(rumor_event_id_equal(&a, &b));
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(eventid_known_vector),
	cmocka_unit_test(eventid_matches_reference),
	cmocka_unit_test(eventid_inputs_matter),
	cmocka_unit_test(eventid_hex_roundtrip),
	cmocka_unit_test(eventid_parse_errors),
	cmocka_unit_test(eventid_store_load_cmp),
};

TEST_MAIN("eventid", tests)
