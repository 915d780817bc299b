/* cp_fetch: payloads come back from our own ordered.log (also non-UTF-8 ones written as hex)
 * and from peers' responses, and a response whose bytes do not match the id is refused. */
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

static char path[] = "/tmp/cp-fetch-XXXXXX";

static void write_line(FILE *f, struct cp_fetch *idx, uint16_t origin, uint64_t seq,
		       const char *data)
{
	struct rumor_event_id id;
	char hex[33];
	int n;

	rumor_event_id_compute(origin, seq, data, strlen(data), &id);
	rumor_event_id_hex(&id, hex);
	n = fprintf(f, "{\"gseq\":%llu,\"origin\":%u,\"seq\":%llu,\"id\":\"%s\",\"data\":\"%s\"}\n",
		    (unsigned long long)seq, origin, (unsigned long long)seq, hex, data);
	fflush(f);
	if (idx)
		cp_fetch_logged(idx, origin, seq, (size_t)n);
}

static void test_log_index_survives_restart(void **state)
{
	struct cp_fetch f;
	struct rumor_event_id id;
	uint8_t *p;
	size_t len;
	(void)state;

	int fd = mkstemp(path);
	FILE *out = fdopen(fd, "w");
	write_line(out, NULL, 2, 1, "SET a 1");
	fprintf(out, "{\"gseq\":2,\"origin\":2,\"seq\":2,\"skip\":true}\n");
	write_line(out, NULL, 3, 1, "hello");
	fflush(out);
	assert_int_equal(cp_fetch_init(&f, path, 1024), 0);
	write_line(out, &f, 3, 2, "after start");

	rumor_event_id_compute(3, 1, "hello", 5, &id);
	assert_int_equal(cp_fetch_get(&f, 3, 1, &id, &p, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(p, "hello", 5);
	free(p);
	rumor_event_id_compute(3, 2, "after start", 11, &id);
	assert_int_equal(cp_fetch_get(&f, 3, 2, &id, &p, &len), 0);
	free(p);
	assert_int_equal(cp_fetch_get_logged(&f, 2, 1, &id, &p, &len), 0);
	assert_int_equal(len, 7);
	free(p);
	/* a wrong id never returns bytes */
	rumor_event_id_compute(3, 1, "other", 5, &id);
	assert_int_equal(cp_fetch_get(&f, 3, 1, &id, &p, &len), -ENOENT);
	assert_int_equal(cp_fetch_get_logged(&f, 2, 2, &id, &p, &len), -ENOENT);
	cp_fetch_fini(&f);
	fclose(out);
	unlink(path);
}

/* The index keeps the newest lines only: memory stays bounded however long the log grows. */
static void test_log_index_bounded(void **state)
{
	struct cp_fetch f;
	struct rumor_event_id id;
	uint8_t *p;
	size_t len;
	char data[32];
	(void)state;

	strcpy(path, "/tmp/cp-fetch-XXXXXX"); /* mkstemp filled it in before */
	int fd = mkstemp(path);
	FILE *out = fdopen(fd, "w");
	for (uint64_t s = 1; s <= 5; s++) {
		snprintf(data, sizeof(data), "event %u", (unsigned)s);
		write_line(out, NULL, 1, s, data);
	}
	fflush(out);
	assert_int_equal(cp_fetch_init(&f, path, 0), -EINVAL);
	cp_fetch_fini(&f);
	assert_int_equal(cp_fetch_init(&f, path, 3), 0);
	assert_int_equal(f.log_count, 3);
	assert_int_equal(cp_fetch_get_logged(&f, 1, 2, &id, &p, &len), -ENOENT);
	assert_int_equal(cp_fetch_get_logged(&f, 1, 3, &id, &p, &len), 0);
	free(p);
	write_line(out, &f, 1, 6, "event 6");
	assert_int_equal(f.log_count, 3);
	assert_int_equal(cp_fetch_get_logged(&f, 1, 3, &id, &p, &len), -ENOENT);
	assert_int_equal(cp_fetch_get_logged(&f, 1, 6, &id, &p, &len), 0);
	assert_int_equal(len, 7);
	free(p);
	/* another origin has its own window: the ring wraps, a jump slides it past everything */
	for (uint64_t s = 1; s <= 5; s++) {
		snprintf(data, sizeof(data), "two %u", (unsigned)s);
		write_line(out, &f, 2, s, data);
	}
	assert_int_equal(f.log_count, 6);
	assert_int_equal(cp_fetch_get_logged(&f, 2, 2, &id, &p, &len), -ENOENT);
	for (uint64_t s = 3; s <= 5; s++) {
		assert_int_equal(cp_fetch_get_logged(&f, 2, s, &id, &p, &len), 0);
		snprintf(data, sizeof(data), "two %u", (unsigned)s);
		assert_memory_equal(p, data, len);
		free(p);
	}
	write_line(out, &f, 2, 40, "two 40");
	assert_int_equal(f.log_count, 4);
	assert_int_equal(cp_fetch_get_logged(&f, 2, 5, &id, &p, &len), -ENOENT);
	assert_int_equal(cp_fetch_get_logged(&f, 2, 40, &id, &p, &len), 0);
	free(p);
	write_line(out, &f, 2, 39, "two 39"); /* late but inside the window: kept */
	assert_int_equal(cp_fetch_get_logged(&f, 2, 39, &id, &p, &len), 0);
	free(p);
	cp_fetch_fini(&f);
	fclose(out);
	unlink(path);
}

static void test_response_checked_against_ids(void **state)
{
	struct cp_fetch f = { .log_fd = -1 };
	struct rumor_event_id good, bad;
	uint8_t buf[256], *p;
	size_t len, off = 0;
	(void)state;

	rumor_event_id_compute(4, 9, "payload", 7, &good);
	rumor_event_id_compute(4, 10, "other", 5, &bad);
	off += (size_t)cp_fetch_resp_add(buf, sizeof(buf), 4, 9, &good, "payload", 7, "{4:9}");
	off += (size_t)cp_fetch_resp_add(buf + off, sizeof(buf) - off, 4, 10, &bad, "forged", 6, "");
	assert_int_equal(cp_fetch_resp_take(&f, buf, off), 1);
	assert_int_equal(f.rejected, 1);
	assert_int_equal(cp_fetch_get(&f, 4, 9, &good, &p, &len), 0);
	assert_memory_equal(p, "payload", 7);
	free(p);
	char clock[64];
	assert_int_equal(cp_fetch_clock(&f, 4, 9, clock, sizeof(clock)), 0);
	assert_string_equal(clock, "{4:9}");
	assert_int_equal(cp_fetch_get(&f, 4, 10, &bad, &p, &len), -ENOENT);
	cp_fetch_done(&f, 4, 9);
	assert_int_equal(cp_fetch_get(&f, 4, 9, &good, &p, &len), -ENOENT);
	assert_int_equal(cp_fetch_resp_take(&f, buf, 10), -EINVAL);
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
		cmocka_unit_test(test_log_index_survives_restart),
		cmocka_unit_test(test_log_index_bounded),
		cmocka_unit_test(test_response_checked_against_ids),
		cmocka_unit_test(test_request_codec),
	};
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("cp_fetch", tests, NULL, NULL);
}
