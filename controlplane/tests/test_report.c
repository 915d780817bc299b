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


/* ---- issue 14, holder side (cp_forge) */

static void test_forge_counts_once_by_sender(void **state)
{
	(void)state;
	static struct cp_forge f;
	cp_forge_init(&f);
	assert_int_equal(cp_forge_note(&f, 2, 7, 3), 1);
	assert_int_equal(cp_forge_note(&f, 2, 7, 3), 0); /* a notice, then the apply: once */
	assert_int_equal(cp_forge_note(&f, 2, 8, 3), 1);
	assert_int_equal(cp_forge_note(&f, 2, 9, 0), 1);
	assert_int_equal(cp_forge_note(&f, 2, 10, 60000), 1); /* out of range: unknown */
	assert_int_equal(f.total, 4);
	assert_int_equal(f.by_sender[3], 2);
	assert_int_equal(f.by_sender[0], 2);
	uint8_t hdr[28] = { 'R', 'U', 'M', 'R', 1, 1, 0, 2, 0, 0, 0, 77, 0, 2, 0, 3 };
	assert_int_equal(cp_report_frame_sender(hdr, sizeof(hdr)), 3);
	assert_int_equal(cp_report_frame_sender(hdr, 15), 0);
}

struct fio {
	int have_seq;           /* the seq whose right payload is at hand (0: none) */
	unsigned reports;
	struct cp_report last;
};

static int fio_have(void *arg, uint16_t origin, uint64_t seq, const struct rumor_event_id *id)
{
	struct fio *x = arg;
	(void)origin;
	return (uint64_t)x->have_seq == seq && id->hi == 42;
}

static void fio_report(void *arg, const struct cp_report *r)
{
	struct fio *x = arg;
	x->reports++;
	x->last = *r;
}

static void test_forge_fix_reports_origin_clock(void **state)
{
	(void)state;
	static struct cp_forge f;
	static struct cp_report scratch;
	struct fio x = { 0 };
	struct cp_forge_io io = { fio_have, fio_report, &x };
	struct rumor_event_id id = { 42, 5 };
	struct rumor_vc ts, hc;
	cp_forge_init(&f);
	rumor_vc_init(&ts);
	rumor_vc_set(&ts, 2, 5);
	rumor_vc_set(&ts, 1, 3);
	rumor_vc_init(&hc);
	rumor_vc_set(&hc, 1, 9);
	assert_int_equal(cp_forge_want(&f, 0, 5, &id, &ts, 10), -EINVAL);
	assert_int_equal(cp_forge_want(&f, 2, 5, &id, &ts, 10), 0);
	assert_int_equal(cp_forge_want(&f, 2, 5, &id, &ts, 20), 0); /* a repeat: same entry */
	assert_int_equal(cp_forge_poll(&f, &io, 1, &hc, &scratch), 0); /* not fetched yet */
	x.have_seq = 5;
	assert_int_equal(cp_forge_poll(&f, &io, 1, &hc, &scratch), 1);
	assert_int_equal(x.reports, 1);
	assert_int_equal(x.last.origin, 2);
	assert_int_equal(x.last.reporter, 1);
	assert_int_equal(x.last.count, 1);
	assert_int_equal(x.last.first_seq, 5);
	assert_int_equal(x.last.id[0].hi, 42);
	assert_int_equal(rumor_vc_get(&x.last.timestamp, 1), 3); /* the origin's clock */
	assert_int_equal(rumor_vc_get(&x.last.holder_clock, 1), 9);
	assert_int_equal(f.fixed, 1);
	assert_int_equal(cp_forge_poll(&f, &io, 1, &hc, &scratch), 0); /* done */
	/* more wanted than slots: the oldest goes, nothing overflows */
	for (uint64_t s = 1; s <= CP_FORGE_FIX + 8; s++)
		assert_int_equal(cp_forge_want(&f, 3, s, &id, &ts, 100 + s), 0);
	static uint64_t applied[RUMOR_NODE_ID_MAX + 1];
	applied[3] = CP_FORGE_FIX + 8;
	cp_forge_applied(&f, applied);
	for (unsigned i = 0; i < CP_FORGE_FIX; i++)
		assert_int_equal(f.fix[i].origin, 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_bad_fields),
		cmocka_unit_test(test_forge_counts_once_by_sender),
		cmocka_unit_test(test_forge_fix_reports_origin_clock),
	};
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("cp_report", tests, NULL, NULL);
}
