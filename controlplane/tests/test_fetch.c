/* cp_fetch: payloads come back from peers' responses, a response whose bytes do not match the
 * id is refused, and the request codec refuses bad ranges. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cp_fetch.h"

static void test_response_checked_against_ids(void **state)
{
	struct cp_fetch f;
	struct rumor_event_id good, bad;
	uint8_t buf[256], *p;
	size_t len, off = 0;
	(void)state;

	cp_fetch_init(&f);
	rumor_event_id_compute(4, 9, "payload", 7, &good);
	rumor_event_id_compute(4, 10, "other", 5, &bad);
	struct rumor_vc ts, back;
	rumor_vc_init(&ts);
	rumor_vc_set(&ts, 2, 5);
	rumor_vc_set(&ts, 4, 9);
	off += (size_t)cp_fetch_resp_add(buf, sizeof(buf), 4, 9, &good, "payload", 7, &ts);
	/* the clock goes in its binary form: a count, then rumor_vc's wire entries */
	assert_int_equal(off, 30 + 7 + 2 + 2 * RUMOR_VC_WIRE_ENTRY);
	assert_int_equal(buf[30 + 7], 0);
	assert_int_equal(buf[30 + 7 + 1], 2);
	off += (size_t)cp_fetch_resp_add(buf + off, sizeof(buf) - off, 4, 10, &bad, "forged", 6, NULL);
	assert_int_equal(cp_fetch_resp_take(&f, buf, off), 1);
	assert_int_equal(f.rejected, 1);
	assert_int_equal(cp_fetch_get(&f, 4, 9, &good, &p, &len), 0);
	assert_memory_equal(p, "payload", 7);
	free(p);
	char clock[64];
	assert_int_equal(cp_fetch_clock(&f, 4, 9, clock, sizeof(clock)), 0);
	assert_string_equal(clock, "{2:5, 4:9}");
	assert_int_equal(cp_fetch_clock_vc(&f, 4, 9, &back), 0);
	assert_int_equal(rumor_vc_compare(&back, &ts), RUMOR_VC_EQUAL);
	assert_int_equal(cp_fetch_clock(&f, 4, 11, clock, sizeof(clock)), -ENOENT);
	assert_int_equal(cp_fetch_get(&f, 4, 10, &bad, &p, &len), -ENOENT);
	cp_fetch_done(&f, 4, 9);
	assert_int_equal(cp_fetch_get(&f, 4, 9, &good, &p, &len), -ENOENT);
	assert_int_equal(cp_fetch_resp_take(&f, buf, 10), -EINVAL);
	cp_fetch_fini(&f);
}

/* A record whose clock is cut short, too long or not a valid clock spoils its response; one
 * without a clock is kept and shows "". */
static void test_response_clock_checked(void **state)
{
	struct cp_fetch f;
	struct rumor_event_id id;
	struct rumor_vc ts;
	uint8_t buf[256];
	char clock[64] = "x";
	(void)state;

	cp_fetch_init(&f);
	rumor_event_id_compute(3, 1, "ab", 2, &id);
	rumor_vc_init(&ts);
	rumor_vc_set(&ts, 3, 1);
	rumor_vc_set(&ts, 7, 2);
	int w = cp_fetch_resp_add(buf, sizeof(buf), 3, 1, &id, "ab", 2, &ts);
	assert_int_equal(w, 30 + 2 + 2 + 20);
	assert_int_equal(cp_fetch_resp_take(&f, buf, (size_t)w - 1), -EINVAL);
	buf[30 + 2 + 2 + 10 + 1] = 3; /* second entry's node 7 -> 3: not increasing */
	assert_int_equal(cp_fetch_resp_take(&f, buf, (size_t)w), -EINVAL);
	buf[30 + 2 + 1] = 0xff;       /* 255 entries declared, 2 present */
	assert_int_equal(cp_fetch_resp_take(&f, buf, (size_t)w), -EINVAL);
	buf[30 + 2] = 0x01;           /* 511: over RUMOR_VC_MAX_ENTRIES */
	assert_int_equal(cp_fetch_resp_take(&f, buf, (size_t)w), -EINVAL);
	assert_int_equal(cp_fetch_have(&f, 3, 1), 0);
	w = cp_fetch_resp_add(buf, sizeof(buf), 3, 1, &id, "ab", 2, NULL);
	assert_int_equal(cp_fetch_resp_take(&f, buf, (size_t)w), 1);
	assert_int_equal(cp_fetch_clock(&f, 3, 1, clock, sizeof(clock)), 0);
	assert_string_equal(clock, "");
	assert_int_equal(cp_fetch_resp_add(buf, 30 + 2 + 2 + 19, 3, 1, &id, "ab", 2, &ts), -ENOBUFS);
	cp_fetch_fini(&f);
}

static void test_request_codec(void **state)
{
	uint8_t req[CP_FETCH_REQ_LEN];
	uint16_t o, c;
	uint64_t s;
	(void)state;

	cp_fetch_req_encode(req, 7, 123, 64);
	assert_int_equal(cp_fetch_req_decode(req, sizeof(req), &o, &s, &c), 0);
	assert_int_equal(o, 7);
	assert_int_equal(s, 123);
	assert_int_equal(c, 64);
	assert_int_equal(cp_fetch_req_decode(req, sizeof(req) - 1, &o, &s, &c), -EINVAL);
	cp_fetch_req_encode(req, 7, 123, CP_FETCH_MAX_RANGE + 1);
	assert_int_equal(cp_fetch_req_decode(req, sizeof(req), &o, &s, &c), -EINVAL);
	cp_fetch_req_encode(req, 0, 123, 1);
	assert_int_equal(cp_fetch_req_decode(req, sizeof(req), &o, &s, &c), -EINVAL);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_response_checked_against_ids),
		cmocka_unit_test(test_response_clock_checked),
		cmocka_unit_test(test_request_codec),
	};
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("cp_fetch", tests, NULL, NULL);
}
