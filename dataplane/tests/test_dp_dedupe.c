/* Unit tests of the bounded dedupe table and its watermarks (pure C, no DPDK). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>

#include <cmocka.h>

#include "dp_dedupe.h"
#include "rumor_vc.h"

static uint64_t wm[RUMOR_NODE_ID_MAX + 1];

static void test_insert_lookup(void **state)
{
	struct dp_dedupe d;
	uint32_t v = 0;

	(void)state;
	memset(wm, 0, sizeof(wm));
	assert_int_equal(dp_dedupe_init(&d, 64, 1, wm), 0);
	assert_int_equal(dp_dedupe_lookup(&d, 2, 1, &v), 0);
	assert_int_equal(dp_dedupe_insert(&d, 2, 1, 7), 0);
	assert_int_equal(dp_dedupe_lookup(&d, 2, 1, &v), 1);
	assert_int_equal(v, 7);
	assert_int_equal(dp_dedupe_lookup(&d, 3, 1, &v), 0);
	assert_int_equal(dp_dedupe_lookup(&d, 2, 2, &v), 0);
	assert_int_equal(dp_dedupe_set(&d, 2, 1, DP_DEDUPE_NO_SLOT), 0);
	assert_int_equal(dp_dedupe_lookup(&d, 2, 1, &v), 1);
	assert_int_equal(v, DP_DEDUPE_NO_SLOT);
	assert_int_equal(dp_dedupe_set(&d, 9, 9, 1), -ENOENT);
	assert_int_equal(dp_dedupe_insert(&d, 0, 1, 1), -EINVAL);
	assert_int_equal(dp_dedupe_insert(&d, 1, 0, 1), -EINVAL);
	/* the _h variants address the same entries as the plain ones */
	assert_int_equal(dp_dedupe_insert_h(&d, 4, 77, dp_dedupe_hash(&d, 4, 77), 9), 0);
	assert_int_equal(dp_dedupe_lookup(&d, 4, 77, &v), 1);
	assert_int_equal(v, 9);
	assert_int_equal(dp_dedupe_lookup_h(&d, 2, 1, dp_dedupe_hash(&d, 2, 1), &v), 1);
	assert_int_equal(v, DP_DEDUPE_NO_SLOT);
	assert_int_equal(dp_dedupe_lookup_h(&d, 4, 78, dp_dedupe_hash(&d, 4, 78), &v), 0);
	dp_dedupe_fini(&d);
}

static void test_watermark(void **state)
{
	struct dp_dedupe d;

	(void)state;
	memset(wm, 0, sizeof(wm));
	assert_int_equal(dp_dedupe_init(&d, 64, 2, wm), 0);
	dp_dedupe_insert(&d, 5, 10, 1);
	assert_false(dp_dedupe_late(&d, 5, 10));
	wm[5] = 10;
	assert_true(dp_dedupe_late(&d, 5, 10));
	assert_true(dp_dedupe_late(&d, 5, 3));
	assert_false(dp_dedupe_late(&d, 5, 11));
	assert_false(dp_dedupe_late(&d, 6, 3));
	assert_int_equal(dp_dedupe_lookup(&d, 5, 10, NULL), 0);
	dp_dedupe_fini(&d);
}

/* Far more frames than the table holds: no false "known" for never-inserted keys, recent
 * keys stay, and once the watermark passes old keys their room is reused without evictions. */
static void test_bounded(void **state)
{
	struct dp_dedupe d;
	unsigned found = 0;

	(void)state;
	memset(wm, 0, sizeof(wm));
	assert_int_equal(dp_dedupe_init(&d, 4096, 3, wm), 0);
	for (uint64_t s = 1; s <= 100000; s++) {
		assert_int_equal(dp_dedupe_insert(&d, 7, s, (uint32_t)s), 0);
		if (s > 128)
			wm[7] = s - 128;
	}
	assert_int_equal(d.evictions, 0);
	for (uint64_t s = 100000 - 127; s <= 100000; s++)
		found += (unsigned)dp_dedupe_lookup(&d, 7, s, NULL);
	assert_int_equal(found, 128);
	for (uint64_t s = 100001; s <= 101000; s++)
		assert_int_equal(dp_dedupe_lookup(&d, 7, s, NULL), 0);
	/* Without a watermark the table evicts, counting it. */
	for (uint64_t s = 1; s <= 20000; s++)
		dp_dedupe_insert(&d, 8, s, 1);
	assert_true(d.evictions > 0);
	dp_dedupe_fini(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insert_lookup),
		cmocka_unit_test(test_watermark),
		cmocka_unit_test(test_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
