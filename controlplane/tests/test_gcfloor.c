/* cp_gcfloor: a lagging member's watermarks lower what GC may delete, a silent one's stop
 * doing so, malformed messages keep nothing, and the codec round-trips. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cp_gcfloor.h"
#include "rumor_be.h"

#define N (RUMOR_NODE_ID_MAX + 1)

static size_t msg_of(uint8_t *buf, uint64_t o1, uint64_t o2)
{
	uint64_t *t = calloc(N, sizeof(uint64_t));
	t[1] = o1;
	t[2] = o2;
	size_t len = cp_gcfloor_encode(t, buf, CP_GCFLOOR_MSG_MAX);
	free(t);
	return len;
}

static void lagging_member_holds_gc_back(void **state)
{
	struct cp_gcfloor g = { 0 };
	uint8_t *buf = malloc(CP_GCFLOOR_MSG_MAX);
	uint64_t *cov = calloc(N, sizeof(uint64_t));

	(void)state;
	cov[1] = 1000;
	cov[2] = 500;
	cov[3] = 70;
	cp_gcfloor_apply(&g, cov, 0);   /* nobody heard from: own snapshots decide */
	assert_int_equal(cov[1], 1000);
	assert_int_equal(g.held_by, 0);

	size_t len = msg_of(buf, 400, 900);
	assert_int_equal(len, 2 + 2 * CP_GCFLOOR_ENTRY);
	assert_int_equal(cp_gcfloor_note(&g, 6, buf, len, 10000), 0);
	len = msg_of(buf, 2000, 2000);
	assert_int_equal(cp_gcfloor_note(&g, 4, buf, len, 10000), 0);
	cp_gcfloor_apply(&g, cov, 20000);
	assert_int_equal(cov[1], 400);  /* node 6 has applied origin 1 only through 400 */
	assert_int_equal(cov[2], 500);  /* ahead of us on origin 2: ours decides */
	assert_int_equal(cov[3], 0);    /* neither named origin 3: they may need all of it */
	assert_true(g.held_by == 6 || g.held_by == 4);
	assert_int_equal(g.held_count, 1);

	/* a newer message replaces the old one whole */
	len = msg_of(buf, 1500, 0);
	assert_int_equal(cp_gcfloor_note(&g, 6, buf, len, 30000), 0);
	cov[1] = 1000;
	cov[2] = 500;
	cp_gcfloor_apply(&g, cov, 30000);
	assert_int_equal(cov[1], 1000);
	assert_int_equal(cov[2], 0);

	/* silent longer than CP_GCFLOOR_LIVE_MS: gone or down, it no longer holds GC */
	cov[1] = 1000;
	cov[2] = 500;
	cp_gcfloor_apply(&g, cov, 30000 + CP_GCFLOOR_LIVE_MS + 1);
	assert_int_equal(cov[1], 1000);
	assert_int_equal(cov[2], 500);
	assert_int_equal(g.held_by, 0);

	/* forgotten (removed from the cluster) */
	assert_int_equal(cp_gcfloor_note(&g, 6, buf, len, 90000), 0);
	cp_gcfloor_forget(&g, 6);
	cp_gcfloor_apply(&g, cov, 90000);
	assert_int_equal(cov[2], 500);
	cp_gcfloor_fini(&g);
	free(buf);
	free(cov);
}

static void malformed_keeps_nothing(void **state)
{
	struct cp_gcfloor g = { 0 };
	uint8_t buf[64] = { 0 };
	uint64_t *cov = calloc(N, sizeof(uint64_t));

	(void)state;
	cov[1] = 100;
	assert_int_equal(cp_gcfloor_note(&g, 5, buf, 1, 0), -EINVAL);
	rumor_be_st16(buf, 2);  /* says 2 entries, carries 1 */
	rumor_be_st16(buf + 2, 1);
	rumor_be_st64(buf + 4, 7);
	assert_int_equal(cp_gcfloor_note(&g, 5, buf, 2 + CP_GCFLOOR_ENTRY, 0), -EINVAL);
	rumor_be_st16(buf, 1);  /* origin 0 */
	rumor_be_st16(buf + 2, 0);
	assert_int_equal(cp_gcfloor_note(&g, 5, buf, 2 + CP_GCFLOOR_ENTRY, 0), -EINVAL);
	rumor_be_st16(buf + 2, RUMOR_NODE_ID_MAX + 1);  /* origin out of range */
	assert_int_equal(cp_gcfloor_note(&g, 5, buf, 2 + CP_GCFLOOR_ENTRY, 0), -EINVAL);
	rumor_be_st16(buf + 2, 1);
	assert_int_equal(cp_gcfloor_note(&g, 0, buf, 2 + CP_GCFLOOR_ENTRY, 0), -EINVAL);
	assert_int_equal(g.bad_msgs, 5);
	cp_gcfloor_apply(&g, cov, 0);
	assert_int_equal(cov[1], 100);
	assert_int_equal(cp_gcfloor_note(&g, 5, buf, 2 + CP_GCFLOOR_ENTRY, 0), 0);
	cp_gcfloor_apply(&g, cov, 0);
	assert_int_equal(cov[1], 7);
	cp_gcfloor_fini(&g);
	free(cov);
}

static void full_table_refuses(void **state)
{
	struct cp_gcfloor g = { 0 };
	uint8_t buf[2];

	(void)state;
	rumor_be_st16(buf, 0);
	for (uint16_t id = 1; id <= CP_GCFLOOR_PEERS; id++)
		assert_int_equal(cp_gcfloor_note(&g, id, buf, 2, 0), 0);
	assert_int_equal(cp_gcfloor_note(&g, CP_GCFLOOR_PEERS + 1, buf, 2, 0), -ENOMEM);
	assert_int_equal(cp_gcfloor_note(&g, 3, buf, 2, 1), 0);  /* known: still taken */
	assert_int_equal(cp_gcfloor_encode((uint64_t[N]){ 0 }, buf, 1), 0);
	cp_gcfloor_fini(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lagging_member_holds_gc_back),
		cmocka_unit_test(malformed_keeps_nothing),
		cmocka_unit_test(full_table_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
