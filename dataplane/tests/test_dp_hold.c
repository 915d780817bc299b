/* Unit tests of dp_hold (pure C, plain pointers for mbufs): order per peer, the full queue
 * dropping its oldest, the peer limit, age-out with an injected clock (each queue's oldest
 * first, queues emptied and compacted), take emptying a queue and the others kept. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dp_hold.h"

static int obj[1024]; /* the held "frames": &obj[i] */

#define O(i) ((void *)&obj[i])

static struct dp_hold h;

static void test_order_and_take(void **state)
{
	void *out[DP_ARP_HOLD], *ev;

	(void)state;
	dp_hold_init(&h, 100);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(dp_hold_put(&h, 3, O(i), 10, &ev), 0);
		assert_null(ev);
		assert_int_equal(dp_hold_put(&h, 7, O(100 + i), 10, &ev), 0);
	}
	assert_int_equal(h.total, 10);
	assert_int_equal(h.nq, 2);
	assert_int_equal(dp_hold_count(&h, 3), 5);
	assert_int_equal(dp_hold_count(&h, 9), 0);
	assert_int_equal(dp_hold_take(&h, 9, out), 0);
	assert_int_equal(dp_hold_take(&h, 3, out), 5);
	for (int i = 0; i < 5; i++)
		assert_ptr_equal(out[i], O(i));
	assert_int_equal(h.total, 5);
	assert_int_equal(h.nq, 1);
	assert_int_equal(dp_hold_peer(&h, 0), 7); /* moved into queue 0 */
	assert_int_equal(dp_hold_take(&h, 3, out), 0);
	assert_int_equal(dp_hold_take(&h, 7, out), 5);
	for (int i = 0; i < 5; i++)
		assert_ptr_equal(out[i], O(100 + i));
	assert_int_equal(h.total, 0);
	assert_int_equal(h.nq, 0);
}

static void test_full_drops_oldest(void **state)
{
	void *out[DP_ARP_HOLD], *ev;
	int i;

	(void)state;
	dp_hold_init(&h, 100);
	for (i = 0; i < DP_ARP_HOLD; i++)
		assert_int_equal(dp_hold_put(&h, 2, O(i), (uint64_t)i, &ev), 0);
	for (; i < DP_ARP_HOLD + 5; i++) {
		assert_int_equal(dp_hold_put(&h, 2, O(i), (uint64_t)i, &ev), 1);
		assert_ptr_equal(ev, O(i - DP_ARP_HOLD)); /* the oldest, in order */
	}
	assert_int_equal(h.total, DP_ARP_HOLD);
	assert_int_equal(dp_hold_take(&h, 2, out), DP_ARP_HOLD);
	for (i = 0; i < DP_ARP_HOLD; i++)
		assert_ptr_equal(out[i], O(5 + i));
}

static void test_peer_limit(void **state)
{
	void *out[DP_ARP_HOLD], *ev;

	(void)state;
	dp_hold_init(&h, 100);
	for (int p = 0; p < DP_HOLD_PEERS; p++)
		assert_int_equal(dp_hold_put(&h, (uint16_t)(p + 1), O(p), 0, &ev), 0);
	assert_int_equal(dp_hold_put(&h, 1000, O(999), 0, &ev), -ENOSPC);
	assert_int_equal(h.total, DP_HOLD_PEERS);
	/* a peer already holding still takes more */
	assert_int_equal(dp_hold_put(&h, 5, O(998), 0, &ev), 0);
	assert_int_equal(dp_hold_take(&h, 5, out), 2);
	assert_int_equal(dp_hold_put(&h, 1000, O(999), 0, &ev), 0);
}

static void test_expire(void **state)
{
	void *out[8], *ev;
	unsigned k;

	(void)state;
	dp_hold_init(&h, 100);
	/* peer 4: held at 0, 50, 120; peer 6: at 10; peer 8: at 200 */
	dp_hold_put(&h, 4, O(0), 0, &ev);
	dp_hold_put(&h, 6, O(1), 10, &ev);
	dp_hold_put(&h, 4, O(2), 50, &ev);
	dp_hold_put(&h, 4, O(3), 120, &ev);
	dp_hold_put(&h, 8, O(4), 200, &ev);
	assert_int_equal(dp_hold_expire(&h, 99, out, 8), 0);
	k = dp_hold_expire(&h, 100, out, 8);
	assert_int_equal(k, 1);
	assert_ptr_equal(out[0], O(0));
	/* 160: 4's held at 50 and 6's (its queue gone); bounded by max, then the rest */
	assert_int_equal(dp_hold_expire(&h, 160, out, 1), 1);
	assert_int_equal(dp_hold_expire(&h, 160, out + 1, 8), 1);
	assert_true((out[0] == O(1) && out[1] == O(2)) || (out[0] == O(2) && out[1] == O(1)));
	assert_int_equal(h.nq, 2);
	assert_int_equal(dp_hold_count(&h, 6), 0);
	assert_int_equal(dp_hold_count(&h, 4), 1);
	assert_int_equal(dp_hold_count(&h, 8), 1);
	/* a clock behind a hold time expires nothing */
	assert_int_equal(dp_hold_expire(&h, 5, out, 8), 0);
	k = dp_hold_expire(&h, 1000, out, 8);
	assert_int_equal(k, 2);
	assert_int_equal(h.total, 0);
	assert_int_equal(h.nq, 0);
	assert_int_equal(dp_hold_expire(&h, 2000, out, 8), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_take),
		cmocka_unit_test(test_full_drops_oldest),
		cmocka_unit_test(test_peer_limit),
		cmocka_unit_test(test_expire),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
