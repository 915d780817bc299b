/* Unit tests for rumor_tsrule: every reason, its precedence, the window edges, former
 * members, and the attack shapes of issue 13. */
#include <stdlib.h>

#include "test_util.h"

#include "rumor_tsrule.h"

struct fx {
	uint8_t member[RUMOR_NODE_ID_MAX + 1];
	uint64_t reached[RUMOR_NODE_ID_MAX + 1];
	struct rumor_tsrule r;
};

/* Members 1..3, we are node 1 and issued 10, window 100. */
static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	for (unsigned i = 1; i <= 3; i++)
		f->member[i] = 1;
	f->r = (struct rumor_tsrule){ .member = f->member, .reached = f->reached,
				      .own_issued = 10, .window = 100, .max_entries = 3,
				      .self = 1 };
	return f;
}

static void ts_of(struct rumor_vc *vc, const uint16_t *node, const uint64_t *ctr, unsigned n)
{
	rumor_vc_init(vc);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(rumor_vc_set(vc, node[i], ctr[i]), 0);
}

static int check(struct fx *f, uint16_t origin, uint64_t first, uint16_t count,
		 const uint16_t *node, const uint64_t *ctr, unsigned n)
{
	struct rumor_vc vc;

	ts_of(&vc, node, ctr, n);
	return rumor_tsrule_check(&f->r, origin, first, count, &vc);
}

static void tsrule_honest_frames_pass(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	assert_int_equal(check(f, 2, 5, 3, (uint16_t[]){ 1, 2, 3 }, (uint64_t[]){ 10, 7, 4 }, 3),
			 RUMOR_TS_OK);
	assert_int_equal(check(f, 3, 1, 1, (uint16_t[]){ 3 }, (uint64_t[]){ 1 }, 1), RUMOR_TS_OK);
	/* exactly at the window edge */
	f->reached[2] = 50;
	assert_int_equal(check(f, 3, 1, 1, (uint16_t[]){ 2, 3 }, (uint64_t[]){ 150, 1 }, 2),
			 RUMOR_TS_OK);
	/* our own frame coming back: our entry at what we issued */
	assert_int_equal(check(f, 1, 9, 2, (uint16_t[]){ 1 }, (uint64_t[]){ 10 }, 1), RUMOR_TS_OK);
	free(f);
}

static void tsrule_nonmember(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	/* origin 3's next seq naming node 500 (issue 13) */
	assert_int_equal(check(f, 3, 1, 1, (uint16_t[]){ 3, 500 }, (uint64_t[]){ 1, 1 }, 2),
			 RUMOR_TS_NONMEMBER);
	/* a non-member origin */
	assert_int_equal(check(f, 7, 1, 1, (uint16_t[]){ 7 }, (uint64_t[]){ 1 }, 1),
			 RUMOR_TS_NONMEMBER);
	/* a former member: entries up to what the order reached for it stay valid */
	f->reached[7] = 40;
	assert_int_equal(check(f, 2, 1, 1, (uint16_t[]){ 2, 7 }, (uint64_t[]){ 1, 40 }, 2),
			 RUMOR_TS_OK);
	assert_int_equal(check(f, 2, 1, 1, (uint16_t[]){ 2, 7 }, (uint64_t[]){ 1, 41 }, 2),
			 RUMOR_TS_NONMEMBER);
	free(f);
}

static void tsrule_own_ahead(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	assert_int_equal(check(f, 2, 1, 1, (uint16_t[]){ 1, 2 }, (uint64_t[]){ 11, 1 }, 2),
			 RUMOR_TS_OWN);
	assert_int_equal(check(f, 2, 1, 1, (uint16_t[]){ 1, 2 }, (uint64_t[]){ UINT64_MAX, 1 }, 2),
			 RUMOR_TS_OWN);
	/* a frame of our own origin past what we issued */
	assert_int_equal(check(f, 1, 11, 1, (uint16_t[]){ 1 }, (uint64_t[]){ 11 }, 1),
			 RUMOR_TS_OWN);
	free(f);
}

static void tsrule_window(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	f->reached[3] = 1000;
	assert_int_equal(check(f, 2, 1, 1, (uint16_t[]){ 2, 3 }, (uint64_t[]){ 1, 1101 }, 2),
			 RUMOR_TS_WINDOW);
	assert_int_equal(check(f, 2, 1, 1, (uint16_t[]){ 2, 3 }, (uint64_t[]){ 1, 1100 }, 2),
			 RUMOR_TS_OK);
	assert_int_equal(check(f, 2, 1, 1, (uint16_t[]){ 2, 3 }, (uint64_t[]){ 1, UINT64_MAX }, 2),
			 RUMOR_TS_WINDOW);
	/* the origin's own last seq */
	assert_int_equal(check(f, 2, 101, 1, (uint16_t[]){ 2 }, (uint64_t[]){ 101 }, 1),
			 RUMOR_TS_SEQ_WINDOW);
	assert_int_equal(check(f, 2, 100, 1, (uint16_t[]){ 2 }, (uint64_t[]){ 100 }, 1),
			 RUMOR_TS_OK);
	/* reached near UINT64_MAX: the limit saturates instead of wrapping */
	f->reached[3] = UINT64_MAX - 5;
	assert_int_equal(check(f, 2, 1, 1, (uint16_t[]){ 2, 3 }, (uint64_t[]){ 1, UINT64_MAX }, 2),
			 RUMOR_TS_OK);
	free(f);
}

static void tsrule_entries_and_wrap(void **state)
{
	struct fx *f = fx_new();
	struct rumor_vc vc;

	(void)state;
	assert_int_equal(check(f, 2, 1, 1, (uint16_t[]){ 1, 2, 3, 4 }, (uint64_t[]){ 1, 1, 1, 1 },
			       4),
			 RUMOR_TS_ENTRIES);
	/* 65 entries, most of them unknown nodes: the count alone refuses it */
	rumor_vc_init(&vc);
	for (unsigned i = 0; i < 65; i++)
		rumor_vc_set(&vc, (uint16_t)(i + 1), 1);
	assert_int_equal(rumor_tsrule_check(&f->r, 2, 1, 1, &vc), RUMOR_TS_ENTRIES);
	assert_int_equal(check(f, 2, UINT64_MAX, 2, (uint16_t[]){ 2 }, (uint64_t[]){ 1 }, 1),
			 RUMOR_TS_WRAP);
	assert_int_equal(check(f, 2, 0, 1, (uint16_t[]){ 2 }, (uint64_t[]){ 1 }, 1), RUMOR_TS_WRAP);
	assert_int_equal(check(f, 2, 1, 0, (uint16_t[]){ 2 }, (uint64_t[]){ 1 }, 1), RUMOR_TS_WRAP);
	free(f);
}

static void tsrule_names(void **state)
{
	(void)state;
	assert_null(rumor_tsrule_name(RUMOR_TS_OK));
	assert_null(rumor_tsrule_name(RUMOR_TS_NREASONS + 1));
	for (int i = 1; i <= RUMOR_TS_NREASONS; i++)
		assert_non_null(rumor_tsrule_name(i));
	assert_string_equal(rumor_tsrule_name(RUMOR_TS_NONMEMBER), "ts_nonmember");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(tsrule_honest_frames_pass),
	cmocka_unit_test(tsrule_nonmember),
	cmocka_unit_test(tsrule_own_ahead),
	cmocka_unit_test(tsrule_window),
	cmocka_unit_test(tsrule_entries_and_wrap),
	cmocka_unit_test(tsrule_names),
};

TEST_MAIN("tsrule", tests)
