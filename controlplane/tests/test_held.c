/* cp_held: the held-event table keeps exactly what was added, releases a slot when its
 * frame's last event is done, and survives heavy churn (checked against a plain array). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "cp_held.h"

static void frame(struct cp_held_event *ev, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++)
		ev[i] = (struct cp_held_event){ .len = (uint16_t)(i + 1) };
}

static void test_add_get_release(void **state)
{
	struct cp_held h;
	struct cp_held_event ev[4];
	uint32_t slot = 99;
	(void)state;

	assert_int_equal(cp_held_init(&h, 64, 8), 0);
	frame(ev, 4);
	assert_int_equal(cp_held_add_frame(&h, 3, 7, 10, 4, ev), 4);
	assert_int_equal(cp_held_add_frame(&h, 3, 7, 20, 1, ev), -EBUSY);
	assert_int_equal(cp_held_add_frame(&h, 8, 7, 20, 1, ev), -ERANGE);
	assert_non_null(cp_held_get(&h, 7, 13));
	assert_int_equal(cp_held_get(&h, 7, 13)->len, 4);
	assert_null(cp_held_get(&h, 7, 14));
	assert_null(cp_held_get(&h, 8, 10));
	for (uint64_t s = 10; s < 12; s++)
		assert_int_equal(cp_held_done(&h, 7, s, &slot), 0);
	/* done on the cell a get returned: same effect as by key */
	assert_int_equal(cp_held_done_at(&h, cp_held_get(&h, 7, 12), &slot), 0);
	assert_null(cp_held_get(&h, 7, 12));
	assert_int_equal(cp_held_done(&h, 7, 13, &slot), 1);
	assert_int_equal(slot, 3);
	assert_int_equal(cp_held_done(&h, 7, 13, &slot), -ENOENT);
	assert_int_equal(h.count, 0);
	cp_held_fini(&h);
}

static void test_duplicate_frame_adds_nothing(void **state)
{
	struct cp_held h;
	struct cp_held_event ev[2];
	(void)state;

	assert_int_equal(cp_held_init(&h, 16, 4), 0);
	frame(ev, 2);
	assert_int_equal(cp_held_add_frame(&h, 0, 1, 1, 2, ev), 2);
	assert_int_equal(cp_held_add_frame(&h, 1, 1, 1, 2, ev), 0);
	assert_int_equal(h.slots[1].pending, 0);
	cp_held_fini(&h);
}

static void test_full_table_refuses_whole_frame(void **state)
{
	struct cp_held h;
	struct cp_held_event ev[8];
	int rc, added = 0;
	(void)state;

	assert_int_equal(cp_held_init(&h, 8, 64), 0);
	frame(ev, 8);
	for (uint32_t s = 0; s < 64; s++) {
		rc = cp_held_add_frame(&h, s, 2, 1 + s * 8, 8, ev);
		if (rc < 0) {
			assert_int_equal(rc, -ENOSPC);
			break;
		}
		added += rc;
	}
	assert_int_equal(h.count, (uint32_t)added);
	assert_true(added >= 8);
	cp_held_fini(&h);
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Random adds and dones against a reference bitmap: deletion must never lose a neighbour. */
static void test_churn_against_reference(void **state)
{
	enum { ORIGINS = 5, SEQS = 400 };
	static uint8_t ref[ORIGINS + 1][SEQS + 1];
	struct cp_held h;
	struct cp_held_event ev[1];
	uint32_t slot, next_slot = 0;
	(void)state;

	assert_int_equal(cp_held_init(&h, 1024, 1u << 16), 0);
	frame(ev, 1);
	for (int step = 0; step < 200000; step++) {
		uint16_t o = (uint16_t)(1 + next() % ORIGINS);
		uint64_t s = 1 + next() % SEQS;
		if (next() % 2) {
			int rc = cp_held_add_frame(&h, next_slot++ & 0xffff, o, s, 1, ev);
			if (rc == -EBUSY || rc == -ENOSPC)
				continue;
			assert_int_equal(rc, ref[o][s] ? 0 : 1);
			ref[o][s] = 1;
		} else {
			int rc = cp_held_done(&h, o, s, &slot);
			assert_int_equal(rc < 0, !ref[o][s]);
			ref[o][s] = 0;
		}
		if (step % 1000 == 0)
			for (uint16_t oo = 1; oo <= ORIGINS; oo++)
				for (uint64_t ss = 1; ss <= SEQS; ss++)
					assert_int_equal(cp_held_get(&h, oo, ss) != NULL, ref[oo][ss]);
	}
	cp_held_fini(&h);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_get_release),
		cmocka_unit_test(test_duplicate_frame_adds_nothing),
		cmocka_unit_test(test_full_table_refuses_whole_frame),
		cmocka_unit_test(test_churn_against_reference),
	};
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("cp_held", tests, NULL, NULL);
}
