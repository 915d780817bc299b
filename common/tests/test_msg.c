/* The byte-order helpers (rumor_be.h) and ORIGINATE's packed events (rumor_msg.h): exact
 * bytes at unaligned offsets, round trips, the edges of the packing and of the iterator. */
#include <errno.h>
#include <stdlib.h>

#include "test_util.h"

#include "rumor_be.h"
#include "rumor_msg.h"

static void byteorder_exact_bytes(void **state)
{
	uint8_t b[1 + 8];

	(void)state;
	rumor_be_st16(b + 1, 0x0102);
	assert_memory_equal(b + 1, "\x01\x02", 2);
	rumor_le_st16(b + 1, 0x0102);
	assert_memory_equal(b + 1, "\x02\x01", 2);
	rumor_be_st32(b + 1, 0x01020304u);
	assert_memory_equal(b + 1, "\x01\x02\x03\x04", 4);
	rumor_le_st32(b + 1, 0x01020304u);
	assert_memory_equal(b + 1, "\x04\x03\x02\x01", 4);
	rumor_be_st64(b + 1, 0x0102030405060708ull);
	assert_memory_equal(b + 1, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	assert_int_equal(rumor_be_ld64(b + 1), 0x0102030405060708ull);
	assert_int_equal(rumor_le_ld64(b + 1), 0x0807060504030201ull);
	rumor_le_st64(b + 1, 0x0102030405060708ull);
	assert_memory_equal(b + 1, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
	assert_int_equal(rumor_le_ld32(b + 1), 0x05060708u);
	assert_int_equal(rumor_be_ld32(b + 1), 0x08070605u);
	assert_int_equal(rumor_le_ld16(b + 1), 0x0708);
	assert_int_equal(rumor_be_ld16(b + 1), 0x0807);
}

static void byteorder_round_trips(void **state)
{
	struct test_rng r;
	uint8_t b[16];

	(void)state;
	test_rng_seed(&r, 16);
	for (int i = 0; i < 1000; i++) {
		uint64_t v = test_rng_next(&r);
		unsigned at = (unsigned)(v % 8);
		rumor_be_st64(b + at, v);
		assert_int_equal(rumor_be_ld64(b + at), v);
		rumor_le_st64(b + at, v);
		assert_int_equal(rumor_le_ld64(b + at), v);
		rumor_be_st32(b + at, (uint32_t)v);
		assert_int_equal(rumor_be_ld32(b + at), (uint32_t)v);
		rumor_le_st32(b + at, (uint32_t)v);
		assert_int_equal(rumor_le_ld32(b + at), (uint32_t)v);
		rumor_be_st16(b + at, (uint16_t)v);
		assert_int_equal(rumor_be_ld16(b + at), (uint16_t)v);
		rumor_le_st16(b + at, (uint16_t)v);
		assert_int_equal(rumor_le_ld16(b + at), (uint16_t)v);
	}
}

static void originate_add_and_walk(void **state)
{
	static struct rumor_msg m;
	const char *ev[] = { "SET a 1", "", "DEL a" };
	const uint8_t *p;
	size_t off = 0;
	uint16_t len;

	(void)state;
	memset(&m, 0, sizeof(m));
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(rumor_msg_originate_add(&m, ev[i], (uint16_t)strlen(ev[i])), 0);
	assert_int_equal(m.u.originate.count, 3);
	assert_int_equal(m.u.originate.data_len, 2 + 7 + 2 + 0 + 2 + 5);
	/* the documented layout: u16 little-endian length, bytes */
	assert_memory_equal(m.u.originate.data, "\x07\x00SET a 1\x00\x00\x05\x00" "DEL a", 18);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(rumor_msg_originate_next(m.u.originate.data, m.u.originate.data_len,
							  &off, &p, &len), 1);
		assert_int_equal(len, strlen(ev[i]));
		assert_memory_equal(p, ev[i], len);
	}
	assert_int_equal(rumor_msg_originate_next(m.u.originate.data, m.u.originate.data_len, &off,
						  &p, &len), 0);
	assert_int_equal(off, m.u.originate.data_len);
}

static void originate_full(void **state)
{
	static struct rumor_msg m;
	static uint8_t big[RUMOR_MSG_ORIGINATE_DATA];
	uint8_t buf[10];
	size_t off = 0;

	(void)state;
	memset(&m, 0, sizeof(m));
	/* exactly full fits; one byte more does not, and changes nothing */
	assert_int_equal(rumor_msg_originate_add(&m, big, RUMOR_MSG_ORIGINATE_DATA - 2 - 3), 0);
	assert_int_equal(rumor_msg_originate_add(&m, big, 2), -EMSGSIZE);
	assert_int_equal(m.u.originate.count, 1);
	assert_int_equal(rumor_msg_originate_add(&m, big, 1), 0);
	assert_int_equal(m.u.originate.data_len, RUMOR_MSG_ORIGINATE_DATA);
	assert_int_equal(rumor_msg_originate_add(&m, big, 0), -EMSGSIZE);
	assert_int_equal(m.u.originate.count, 2);
	/* the buffer form */
	assert_int_equal(rumor_msg_originate_put(buf, sizeof(buf), &off, "12345678", 8), 0);
	assert_int_equal(off, 10);
	assert_int_equal(rumor_msg_originate_put(buf, sizeof(buf), &off, "", 0), -EMSGSIZE);
	off = 11; /* past the end: refused, never wraps */
	assert_int_equal(rumor_msg_originate_put(buf, sizeof(buf), &off, "", 0), -EMSGSIZE);
}

/* Jumbo objects: an 8 KiB event fits an object made for it, to its last byte, and is walked
 * back whole; the default object's room is what it always was. */
static void originate_jumbo_object(void **state)
{
	size_t obj = rumor_msg_size_for_event(8192);
	struct rumor_msg *m = calloc(1, obj);
	static uint8_t ev[8192 + 64];
	const uint8_t *p = NULL;
	uint16_t len = 0;
	size_t off = 0;

	(void)state;
	assert_non_null(m);
	assert_int_equal(rumor_msg_originate_cap(RUMOR_MSG_SIZE), RUMOR_MSG_ORIGINATE_DATA);
	assert_int_equal(rumor_msg_size_for_event(100), RUMOR_MSG_SIZE);
	assert_int_equal(obj % 64, 0);
	assert_true(rumor_msg_originate_cap(obj) >= 8192 + 2);
	for (size_t i = 0; i < sizeof(ev); i++)
		ev[i] = (uint8_t)(i * 7);
	/* the default object refuses it; this one takes it and then whatever room is left */
	assert_int_equal(rumor_msg_originate_add(m, ev, 8192), -EMSGSIZE);
	assert_int_equal(rumor_msg_originate_add_in(m, obj, ev, 8192), 0);
	size_t left = rumor_msg_originate_cap(obj) - m->u.originate.data_len;
	assert_true(left < 2 + 64);
	if (left >= 2)
		assert_int_equal(rumor_msg_originate_add_in(m, obj, ev, (uint16_t)(left - 2)), 0);
	assert_int_equal(rumor_msg_originate_add_in(m, obj, ev, 0), -EMSGSIZE);
	assert_int_equal(rumor_msg_originate_next(rumor_msg_originate_data(m),
						  m->u.originate.data_len, &off, &p, &len), 1);
	assert_int_equal(len, 8192);
	assert_memory_equal(p, ev, 8192);
	free(m);
}

static void originate_malformed(void **state)
{
	const uint8_t cut_len[] = { 0x03 };
	const uint8_t cut_body[] = { 0x03, 0x00, 'a', 'b' };
	const uint8_t huge[] = { 0xff, 0xff, 'a' };
	const uint8_t *p = NULL;
	uint16_t len = 0;
	size_t off = 0;

	(void)state;
	assert_int_equal(rumor_msg_originate_next(cut_len, sizeof(cut_len), &off, &p, &len),
			 -EINVAL);
	off = 0;
	assert_int_equal(rumor_msg_originate_next(cut_body, sizeof(cut_body), &off, &p, &len),
			 -EINVAL);
	assert_int_equal(off, 0);
	assert_int_equal(rumor_msg_originate_next(huge, sizeof(huge), &off, &p, &len), -EINVAL);
	off = 5;
	assert_int_equal(rumor_msg_originate_next(cut_body, sizeof(cut_body), &off, &p, &len),
			 -EINVAL);
	assert_int_equal(rumor_msg_originate_next(cut_body, 0, &(size_t){ 0 }, &p, &len), 0);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(byteorder_exact_bytes),
	cmocka_unit_test(byteorder_round_trips),
	cmocka_unit_test(originate_add_and_walk),
	cmocka_unit_test(originate_full),
	cmocka_unit_test(originate_jumbo_object),
	cmocka_unit_test(originate_malformed),
};

TEST_MAIN("msg", tests)
