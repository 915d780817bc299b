/* cp_repair codec: round trip, every truncation and every bad field refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cp_repair.h"

static const struct cp_repair good = { .origin = 3, .nto = 2, .first_seq = 10, .last_seq = 20,
				       .to = { 1, 2 } };

static void repair_round_trip(void **state)
{
	uint8_t buf[256];
	struct cp_repair r;

	(void)state;
	assert_int_equal(cp_repair_encode(&good, buf, sizeof(buf)), cp_repair_size(2));
	assert_int_equal(cp_repair_decode(buf, cp_repair_size(2), &r), 0);
	assert_int_equal(r.origin, 3);
	assert_int_equal(r.nto, 2);
	assert_int_equal(r.first_seq, 10);
	assert_int_equal(r.last_seq, 20);
	assert_int_equal(r.to[0], 1);
	assert_int_equal(r.to[1], 2);
	assert_int_equal(cp_repair_encode(&good, buf, cp_repair_size(2) - 1), -ENOBUFS);
	for (size_t len = 0; len < cp_repair_size(2); len++)
		assert_int_equal(cp_repair_decode(buf, len, &r), -EINVAL);
	buf[cp_repair_size(2)] = 0;
	assert_int_equal(cp_repair_decode(buf, cp_repair_size(2) + 1, &r), -EINVAL);
}

static void repair_bad_fields(void **state)
{
	uint8_t buf[256];
	struct cp_repair b;

	(void)state;
	b = good, b.origin = 0;
	assert_int_equal(cp_repair_encode(&b, buf, sizeof(buf)), -EINVAL);
	b = good, b.origin = 1024;
	assert_int_equal(cp_repair_encode(&b, buf, sizeof(buf)), -EINVAL);
	b = good, b.first_seq = 0;
	assert_int_equal(cp_repair_encode(&b, buf, sizeof(buf)), -EINVAL);
	b = good, b.first_seq = 21;
	assert_int_equal(cp_repair_encode(&b, buf, sizeof(buf)), -EINVAL);
	b = good, b.last_seq = b.first_seq + CP_REPAIR_MAX_RUN;
	assert_int_equal(cp_repair_encode(&b, buf, sizeof(buf)), -EINVAL);
	b = good, b.nto = 0;
	assert_int_equal(cp_repair_encode(&b, buf, sizeof(buf)), -EINVAL);
	b = good, b.to[1] = 0;
	assert_int_equal(cp_repair_encode(&b, buf, sizeof(buf)), -EINVAL);
	/* the decoder applies the same checks to what arrives */
	struct cp_repair r;
	assert_int_equal(cp_repair_encode(&good, buf, sizeof(buf)), cp_repair_size(2));
	buf[21] = 0; /* to[0] = 0 */
	assert_int_equal(cp_repair_decode(buf, cp_repair_size(2), &r), -EINVAL);
	assert_int_equal(cp_repair_encode(&good, buf, sizeof(buf)), cp_repair_size(2));
	buf[3] = CP_REPAIR_MAX_TO + 1; /* nto */
	assert_int_equal(cp_repair_decode(buf, cp_repair_size(2), &r), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(repair_round_trip),
		cmocka_unit_test(repair_bad_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
