/* cp_reqids: a retry finds its first request, the window forgets the oldest (and only it),
 * outcomes follow the applied own seqs in request order, failed requests do not block. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cp_reqids.h"

static void stamp(struct cp_reqid_rec *r, uint64_t first, uint16_t count)
{
	r->state = CP_REQID_STAMPED;
	r->first_seq = first;
	r->count = count;
}

static void find_and_evict(void **state)
{
	struct cp_reqids t;
	char key[16];

	(void)state;
	assert_int_equal(cp_reqids_init(&t, 0), -EINVAL);
	assert_int_equal(cp_reqids_init(&t, 100), 0);
	for (int i = 0; i < 250; i++) {
		snprintf(key, sizeof(key), "req-%d", i);
		assert_null(cp_reqids_find(&t, key));
		struct cp_reqid_rec *r = cp_reqids_add(&t, key);
		assert_non_null(r);
		stamp(r, (uint64_t)i + 1, 1);
	}
	for (int i = 0; i < 250; i++) {
		snprintf(key, sizeof(key), "req-%d", i);
		struct cp_reqid_rec *r = cp_reqids_find(&t, key);
		if (i < 150) {
			assert_null(r);
		} else {
			assert_non_null(r);
			assert_string_equal(r->key, key);
			assert_int_equal(r->first_seq, (uint64_t)i + 1);
		}
	}
	assert_int_equal(t.evicted, 150);
	char big[CP_REQID_MAX + 2];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_null(cp_reqids_add(&t, big));
	assert_null(cp_reqids_add(&t, ""));
	cp_reqids_fini(&t);
}

static void outcomes_in_order(void **state)
{
	struct cp_reqids t;

	(void)state;
	assert_int_equal(cp_reqids_init(&t, 16), 0);
	struct cp_reqid_rec *a = cp_reqids_add(&t, "a"), *b = cp_reqids_add(&t, "b"),
			    *c = cp_reqids_add(&t, "c"), *d = cp_reqids_add(&t, "d");
	stamp(a, 1, 3);                  /* seqs 1..3 */
	b->state = CP_REQID_FAILED;      /* refused: made nothing */
	stamp(c, 4, 1);
	/* d still in flight */
	cp_reqids_applied(&t, 2, 10, true);
	assert_int_equal(a->outcome, CP_REQID_PENDING);
	cp_reqids_applied(&t, 3, 11, true);
	assert_int_equal(a->outcome, CP_REQID_APPLIED);
	assert_int_equal(a->gseq, 11);
	cp_reqids_applied(&t, 4, 12, false); /* skipped */
	assert_int_equal(c->outcome, CP_REQID_NOT_APPLIED);
	assert_int_equal(c->gseq, 0);
	cp_reqids_applied(&t, 9, 30, true); /* d is not stamped yet: it keeps waiting */
	assert_int_equal(d->outcome, CP_REQID_PENDING);
	stamp(d, 5, 2);
	cp_reqids_applied(&t, 9, 31, true); /* 5..6 went by unseen (a snapshot) */
	assert_int_equal(d->outcome, CP_REQID_UNKNOWN);
	cp_reqids_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(find_and_evict),
		cmocka_unit_test(outcomes_in_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
