/* cp_report: round trip of frame reports and rejection of every kind of bad record. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cp_report.h"

static struct cp_report *sample(uint16_t count)
{
	struct cp_report *r = calloc(1, sizeof(*r));
	r->origin = 3;
	r->reporter = 5;
	r->count = count;
	r->first_seq = 41;
	for (uint16_t i = 0; i < count; i++)
		rumor_event_id_compute(3, 41 + i, "x", 1, &r->id[i]);
	rumor_vc_init(&r->timestamp);
	rumor_vc_set(&r->timestamp, 3, 41 + count - 1);
	rumor_vc_set(&r->timestamp, 9, 2);
	rumor_vc_init(&r->holder_clock);
	rumor_vc_merge(&r->holder_clock, &r->timestamp);
	rumor_vc_set(&r->holder_clock, 5, 77);
	return r;
}

static void test_round_trip(void **state)
{
	struct cp_report *r = sample(7), *d = calloc(1, sizeof(*d));
	uint8_t buf[4096];
	int n = cp_report_encode(r, buf, sizeof(buf));
	(void)state;

	assert_int_equal(n, (int)cp_report_size(r));
	assert_int_equal(cp_report_decode(buf, (size_t)n, d), n);
	assert_int_equal(d->origin, 3);
	assert_int_equal(d->reporter, 5);
	assert_int_equal(d->count, 7);
	assert_int_equal(d->first_seq, 41);
	for (int i = 0; i < 7; i++)
		assert_true(rumor_event_id_equal(&d->id[i], &r->id[i]));
	assert_int_equal(rumor_vc_compare(&d->timestamp, &r->timestamp), RUMOR_VC_EQUAL);
	assert_int_equal(rumor_vc_compare(&d->holder_clock, &r->holder_clock), RUMOR_VC_EQUAL);
	free(r);
	free(d);
}

static void test_truncated_everywhere(void **state)
{
	struct cp_report *r = sample(3), *d = calloc(1, sizeof(*d));
	uint8_t buf[4096];
	int n = cp_report_encode(r, buf, sizeof(buf));
	(void)state;

	for (int cut = 0; cut < n; cut++)
		assert_true(cp_report_decode(buf, (size_t)cut, d) < 0);
	assert_int_equal(cp_report_encode(r, buf, (size_t)n - 1), -ENOBUFS);
	free(r);
	free(d);
}

static void test_bad_fields(void **state)
{
	struct cp_report *r = sample(2), *d = calloc(1, sizeof(*d));
	uint8_t buf[4096], bad[4096];
	int n = cp_report_encode(r, buf, sizeof(buf));
	(void)state;

	memcpy(bad, buf, (size_t)n);
	bad[0] = bad[1] = 0; /* origin 0 */
	assert_int_equal(cp_report_decode(bad, (size_t)n, d), -EINVAL);
	memcpy(bad, buf, (size_t)n);
	bad[4] = 0; bad[5] = 0; /* count 0 */
	assert_int_equal(cp_report_decode(bad, (size_t)n, d), -EINVAL);
	memcpy(bad, buf, (size_t)n);
	bad[13] = 0; memset(bad + 6, 0, 8); /* seq 0 */
	assert_int_equal(cp_report_decode(bad, (size_t)n, d), -EINVAL);
	r->count = 0;
	assert_int_equal(cp_report_encode(r, buf, sizeof(buf)), -EINVAL);
	free(r);
	free(d);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_bad_fields),
	};
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("cp_report", tests, NULL, NULL);
}
