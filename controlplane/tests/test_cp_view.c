/* Tests of cp_view's pure parts: view normalisation and change detection, send-error routing,
 * leader epochs and plans, APP payload checks, and a small HyParView cluster whose messages go
 * through the same encode -> cp_view_decode_app path rumor-cp uses. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cp_view.h"

static void test_set_normalise(void **state)
{
	(void)state;
	const uint32_t ids[] = { 7, 3, 0, 5, 3, 9, RUMOR_NODE_ID_MAX + 1, 2, 7 };
	struct cp_view_set s;

	size_t dropped = cp_view_set_from(ids, sizeof(ids) / sizeof(ids[0]), 5, &s);
	/* 0, self 5, the too-large id and two duplicates */
	assert_int_equal(dropped, 5);
	assert_int_equal(s.n, 4);
	const uint16_t want[] = { 2, 3, 7, 9 };
	assert_memory_equal(s.id, want, sizeof(want));
}

static void test_set_change_detection(void **state)
{
	(void)state;
	const uint32_t a[] = { 4, 2, 8 }, b[] = { 8, 4, 2, 2 }, c[] = { 8, 4, 3 }, d[] = { 8, 4 };
	struct cp_view_set sa, sb, sc, sd;

	cp_view_set_from(a, 3, 1, &sa);
	cp_view_set_from(b, 4, 1, &sb);
	cp_view_set_from(c, 3, 1, &sc);
	cp_view_set_from(d, 2, 1, &sd);
	assert_true(cp_view_set_equal(&sa, &sb));   /* order and duplicates do not matter */
	assert_false(cp_view_set_equal(&sa, &sc));  /* one member replaced */
	assert_false(cp_view_set_equal(&sa, &sd));  /* one member gone */
	assert_false(cp_view_set_equal(&sd, &sa));
}

static void test_set_bounded(void **state)
{
	(void)state;
	uint32_t ids[RUMOR_VC_MAX_ENTRIES + 10];
	struct cp_view_set s;

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		ids[i] = (uint32_t)(i + 1);
	size_t dropped = cp_view_set_from(ids, sizeof(ids) / sizeof(ids[0]), 0, &s);
	assert_int_equal(s.n, RUMOR_VC_MAX_ENTRIES);
	assert_int_equal(dropped, 10);
	for (unsigned i = 1; i < s.n; i++)
		assert_true(s.id[i - 1] < s.id[i]);
}

static void test_send_outcome(void **state)
{
	(void)state;
	assert_int_equal(cp_view_send_outcome(0), CP_VIEW_SENT);
	assert_int_equal(cp_view_send_outcome(-EAGAIN), CP_VIEW_LOST);
	assert_int_equal(cp_view_send_outcome(-ENOMEM), CP_VIEW_LOST);
	assert_int_equal(cp_view_send_outcome(-EMSGSIZE), CP_VIEW_LOST);
	assert_int_equal(cp_view_send_outcome(-ENOTCONN), CP_VIEW_LOST_DOWN);
	assert_int_equal(cp_view_send_outcome(-ENOENT), CP_VIEW_LOST_DOWN);
}

static void test_leader_epoch(void **state)
{
	(void)state;
	assert_int_not_equal(cp_view_leader_epoch(0, 0), 0);
	assert_true(cp_view_leader_epoch(3, 2) > cp_view_leader_epoch(3, 1));
	/* a new term beats any counter of the old one */
	assert_true(cp_view_leader_epoch(4, 1) > cp_view_leader_epoch(3, 0xfffff));
	assert_true(cp_view_leader_epoch(4, 1) > cp_view_leader_epoch(3, 0x7fffffff));
	/* saturation keeps it monotone, never wraps to small values */
	assert_true(cp_view_leader_epoch(1u << 20, 5) >= cp_view_leader_epoch(0xfff, 5));
	assert_true(cp_view_leader_epoch(7, UINT32_MAX) >= cp_view_leader_epoch(7, 0xffffe));
}

static void test_leader_plan(void **state)
{
	(void)state;
	enum { N = 12, SIZE = 3 };
	uint32_t members[N];
	struct rumor_view_msg plan[N];
	unsigned indeg[N] = { 0 };

	for (unsigned i = 0; i < N; i++)
		members[i] = 10 + 3 * i;
	assert_int_equal(cp_view_leader_plan(members, N, SIZE, 42, 10, 77, plan), 0);
	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(plan[i].type, RUMOR_VIEW_MSG_VIEW_ASSIGN);
		assert_int_equal(plan[i].src, 10);
		assert_int_equal(plan[i].dst, members[i]);
		assert_int_equal(plan[i].epoch, 77);
		assert_true(plan[i].n_ids >= 1 && plan[i].n_ids <= SIZE);
		assert_int_equal(rumor_view_msg_validate(&plan[i]), 0);
		for (unsigned k = 0; k < plan[i].n_ids; k++) {
			assert_int_not_equal(plan[i].ids[k], members[i]);
			long j = -1;
			for (unsigned m = 0; m < N; m++)
				if (members[m] == plan[i].ids[k])
					j = m;
			assert_true(j >= 0);
			indeg[j]++;
		}
	}
	for (unsigned i = 0; i < N; i++)
		assert_true(indeg[i] >= 1); /* everybody is somebody's fan-out target */

	/* small cluster: everybody gets everybody else */
	assert_int_equal(cp_view_leader_plan(members, 4, SIZE, 1, 10, 5, plan), 0);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(plan[i].n_ids, 3);

	assert_int_equal(cp_view_leader_plan(members, 0, SIZE, 1, 10, 5, plan), -EINVAL);
	assert_int_equal(cp_view_leader_plan(members, N, 0, 1, 10, 5, plan), -EINVAL);
	assert_int_equal(cp_view_leader_plan(members, N, RUMOR_VIEW_MSG_MAX_IDS + 1, 1, 10, 5, plan),
			 -EINVAL);
	assert_int_equal(cp_view_leader_plan(members, N, SIZE, 1, 10, 0, plan), -EINVAL);
}

static void test_decode_app(void **state)
{
	(void)state;
	struct rumor_view_msg m = { .type = RUMOR_VIEW_MSG_NEIGHBOR, .src = 2, .dst = 5,
				    .flags = RUMOR_VIEW_F_HIGH_PRIORITY };
	struct rumor_view_msg out;
	uint8_t buf[RUMOR_VIEW_MSG_MAX_BYTES];
	size_t len;

	assert_int_equal(rumor_view_msg_encode(&m, buf, sizeof(buf), &len), 0);
	assert_int_equal(cp_view_decode_app(buf, len, 2, 5, &out), 0);
	assert_int_equal(out.type, RUMOR_VIEW_MSG_NEIGHBOR);
	assert_int_equal(out.flags, RUMOR_VIEW_F_HIGH_PRIORITY);
	assert_int_equal(cp_view_decode_app(buf, len, 3, 5, &out), -EPERM); /* spoofed src */
	assert_int_equal(cp_view_decode_app(buf, len, 2, 4, &out), -EPERM); /* not for us */
	assert_int_equal(cp_view_decode_app(buf, len - 1, 2, 5, &out), -EBADMSG);
	buf[0] ^= 0xff;
	assert_int_equal(cp_view_decode_app(buf, len, 2, 5, &out), -EBADMSG);
}

static void test_sorted_ids(void **state)
{
	(void)state;
	const uint32_t in[] = { 9, 0, 3, 9, 1 };
	uint32_t out[5];

	assert_int_equal(cp_view_sorted_ids(in, 5, out), 3);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 3);
	assert_int_equal(out[2], 9);
}

/* Five HyParView nodes whose messages travel encoded and are routed with
 * cp_view_decode_app, as over the control transport; one node dies, the others learn it
 * through on_peer_down (what a -ENOTCONN send or a transport peer_down triggers). */
enum { HN = 5 };
static struct rumor_view *hv[HN + 1];
static bool hv_dead[HN + 1];
static uint64_t hv_delivered;

static void pump(uint64_t now)
{
	uint8_t buf[RUMOR_VIEW_MSG_MAX_BYTES];
	bool moved = true;

	for (int round = 0; moved && round < 1000; round++) {
		moved = false;
		for (uint32_t i = 1; i <= HN; i++) {
			struct rumor_view_msg m, in;
			size_t len;
			if (hv_dead[i])
				continue;
			while (rumor_view_outbox_pop(hv[i], &m) == 0) {
				moved = true;
				assert_int_equal(rumor_view_msg_encode(&m, buf, sizeof(buf), &len), 0);
				if (hv_dead[m.dst]) {
					/* the send fails with -ENOTCONN */
					assert_int_equal(cp_view_send_outcome(-ENOTCONN),
							 CP_VIEW_LOST_DOWN);
					rumor_view_on_peer_down(hv[i], m.dst, now);
					continue;
				}
				assert_int_equal(cp_view_decode_app(buf, len, i, (uint16_t)m.dst, &in), 0);
				rumor_view_on_message(hv[m.dst], &in, now);
				hv_delivered++;
			}
		}
	}
}

static void check_symmetric_live(void)
{
	for (uint32_t i = 1; i <= HN; i++) {
		size_t n;
		const uint32_t *a;
		if (hv_dead[i])
			continue;
		a = rumor_view_active(hv[i], &n);
		assert_true(n >= 1 && n <= 3);
		for (size_t k = 0; k < n; k++) {
			assert_int_not_equal(a[k], i);
			assert_false(hv_dead[a[k]]);
			assert_true(rumor_view_has_active(hv[a[k]], i));
		}
	}
}

static void test_hyparview_routing(void **state)
{
	(void)state;
	struct rumor_view_config c;
	struct cp_view_set before, after;
	uint64_t now = 1000;

	for (uint32_t i = 1; i <= HN; i++) {
		rumor_view_config_defaults(&c, RUMOR_VIEW_HYPARVIEW, i, HN, 99);
		c.active_size = 3;
		c.passive_size = 18;
		c.period_ms = 1000;
		assert_int_equal(rumor_view_create(&c, &hv[i]), 0);
		hv_dead[i] = false;
	}
	/* everybody joins through the nodes already up, as cp_view does */
	for (uint32_t i = 2; i <= HN; i++) {
		uint32_t up[HN];
		for (uint32_t k = 1; k < i; k++)
			up[k - 1] = k;
		assert_int_equal(rumor_view_join(hv[i], up, i - 1, now), 0);
		pump(now);
	}
	for (int t = 0; t < 30; t++) {
		now += 200;
		for (uint32_t i = 1; i <= HN; i++)
			rumor_view_tick(hv[i], now);
		pump(now);
	}
	assert_true(hv_delivered > 0);
	check_symmetric_live();

	/* kill node 3: its neighbours notice and repair; change detection sees it */
	size_t n;
	const uint32_t *a;
	uint32_t nb = 0;
	for (uint32_t i = 1; i <= HN && !nb; i++)
		if (i != 3 && rumor_view_has_active(hv[i], 3))
			nb = i;
	assert_int_not_equal(nb, 0);
	a = rumor_view_active(hv[nb], &n);
	cp_view_set_from(a, n, (uint16_t)nb, &before);
	hv_dead[3] = true;
	for (uint32_t i = 1; i <= HN; i++)
		if (!hv_dead[i])
			rumor_view_on_peer_down(hv[i], 3, now);
	for (int t = 0; t < 30; t++) {
		now += 200;
		for (uint32_t i = 1; i <= HN; i++)
			if (!hv_dead[i])
				rumor_view_tick(hv[i], now);
		pump(now);
	}
	a = rumor_view_active(hv[nb], &n);
	cp_view_set_from(a, n, (uint16_t)nb, &after);
	assert_false(cp_view_set_equal(&before, &after));
	check_symmetric_live();
	for (uint32_t i = 1; i <= HN; i++)
		rumor_view_destroy(hv[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_normalise),
		cmocka_unit_test(test_set_change_detection),
		cmocka_unit_test(test_set_bounded),
		cmocka_unit_test(test_send_outcome),
		cmocka_unit_test(test_leader_epoch),
		cmocka_unit_test(test_leader_plan),
		cmocka_unit_test(test_decode_app),
		cmocka_unit_test(test_sorted_ids),
		cmocka_unit_test(test_hyparview_routing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
