/* cp_sendreq: a send request's events packed as length + bytes; each refusal with its reason. */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cp_sendreq.h"

static int pack(const char *json, uint8_t *buf, size_t cap, size_t *len, uint16_t *count,
		char *err)
{
	json_t *req = json_loads(json, 0, NULL);
	assert_non_null(req);
	int rc = cp_sendreq_pack(req, 8, 1500, buf, cap, len, count, err, 160);
	json_decref(req);
	return rc;
}

static void sendreq_packs(void **state)
{
	uint8_t buf[64];
	char err[160];
	size_t len;
	uint16_t count;

	(void)state;
	assert_int_equal(pack("{\"data\":\"abc\"}", buf, sizeof(buf), &len, &count, err), 0);
	assert_int_equal(count, 1);
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "\x03\x00" "abc", 5);
	assert_int_equal(pack("{\"batch\":[\"a\",\"\",\"xyz\"]}", buf, sizeof(buf), &len, &count,
			      err), 0);
	assert_int_equal(count, 3);
	assert_int_equal(len, 2 + 1 + 2 + 2 + 3);
	assert_memory_equal(buf, "\x01\x00" "a" "\x00\x00" "\x03\x00" "xyz", len);
}

static void sendreq_refuses(void **state)
{
	uint8_t buf[8];
	char err[160];
	size_t len;
	uint16_t count;

	(void)state;
	assert_int_equal(pack("{\"batch\":[\"a\",1]}", buf, sizeof(buf), &len, &count, err), -EINVAL);
	assert_string_equal(err, "send: data must be a string");
	assert_int_equal(pack("{\"data\":\"123456789\"}", buf, sizeof(buf), &len, &count, err),
			 -EINVAL);
	assert_non_null(strstr(err, "over the 8 bytes one frame carries at MTU 1500"));
	assert_int_equal(pack("{\"batch\":[\"1234\",\"12\"]}", buf, sizeof(buf), &len, &count, err),
			 -EINVAL);
	assert_string_equal(err, "send: batch over 8 bytes: split it");
	/* fits a frame (8 here), not the message (6 bytes of payload in 8) */
	assert_int_equal(pack("{\"data\":\"1234567\"}", buf, sizeof(buf), &len, &count, err),
			 -EINVAL);
	assert_string_equal(err, "send: event of 7 bytes is over the 6 bytes one dataplane "
				 "message holds");
	assert_int_equal(pack("{\"batch\":[]}", buf, sizeof(buf), &len, &count, err), -EINVAL);
	assert_non_null(strstr(err, "nothing to send"));
	assert_int_equal(pack("{\"cmd\":\"send\"}", buf, sizeof(buf), &len, &count, err), -EINVAL);
	assert_non_null(strstr(err, "nothing to send"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sendreq_packs),
		cmocka_unit_test(sendreq_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
