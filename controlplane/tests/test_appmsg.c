/* cp_appmsg: the small APP messages' exact bytes (big-endian), round trips and wrong
 * lengths. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cp_appmsg.h"

static void test_durable(void **state)
{
	uint8_t b[CP_APPMSG_DURABLE_LEN + 1];
	uint16_t o;
	uint64_t t, f;
	(void)state;

	cp_appmsg_durable_encode(b, 0x0102, 0x030405060708090aull, 0x1112131415161718ull);
	assert_memory_equal(b, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a"
			       "\x11\x12\x13\x14\x15\x16\x17\x18", 18);
	assert_int_equal(cp_appmsg_durable_decode(b, CP_APPMSG_DURABLE_LEN, &o, &t, &f), 0);
	assert_int_equal(o, 0x0102);
	assert_int_equal(t, 0x030405060708090aull);
	assert_int_equal(f, 0x1112131415161718ull);
	assert_int_equal(cp_appmsg_durable_decode(b, CP_APPMSG_DURABLE_LEN - 1, &o, &t, &f),
			 -EINVAL);
	assert_int_equal(cp_appmsg_durable_decode(b, CP_APPMSG_DURABLE_LEN + 1, &o, &t, &f),
			 -EINVAL);
}

static void test_seq_reply(void **state)
{
	uint8_t b[CP_APPMSG_SEQ_REPLY_LEN];
	uint64_t s;
	(void)state;

	cp_appmsg_seq_reply_encode(b, 4097);
	assert_memory_equal(b, "\0\0\0\0\0\0\x10\x01", 8);
	assert_int_equal(cp_appmsg_seq_reply_decode(b, sizeof(b), &s), 0);
	assert_int_equal(s, 4097);
	assert_int_equal(cp_appmsg_seq_reply_decode(b, 0, &s), -EINVAL);
	assert_int_equal(cp_appmsg_seq_reply_decode(b, 10, &s), -EINVAL);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durable),
		cmocka_unit_test(test_seq_reply),
	};
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("cp_appmsg", tests, NULL, NULL);
}
