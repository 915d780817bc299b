/* Overlay properties of each view strategy on 1,000 simulated nodes (the gossipsim engine
 * over the real common/view code): invariants, connectivity, repair after 50% failures,
 * gossip reliability, determinism. argv[1] names the strategy. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim.h"

enum { N = 1000, WARMUP = 20, REPAIR_BOUND = 10, FANOUT = 7 /* ceil(ln 1000) */ };
static enum rumor_view_strategy strategy;

static struct gsim *warm(uint64_t seed)
{
	struct gsim_config c = {.strategy = strategy, .n_nodes = N, .seed = seed, .wire = true};
	struct gsim *s = NULL;
	assert_int_equal(gsim_create(&c, &s), 0);
	assert_int_equal(gsim_bootstrap(s), 0);
	assert_int_equal(gsim_run(s, WARMUP), 0);
	return s;
}

static unsigned bound(struct gsim *s)
{
	struct rumor_view_config c;
	rumor_view_config_defaults(&c, strategy == RUMOR_VIEW_LEADER ? RUMOR_VIEW_HYPARVIEW : strategy,
				   1, N, 0);
	(void)s;
	return c.active_size;
}

static void assert_invariants(struct gsim *s, const struct gsim_check *k)
{
	assert_int_equal(k->self_refs, 0);
	assert_int_equal(k->dup_refs, 0);
	assert_true(k->max_active <= bound(s));
	assert_true(k->min_active >= 1);
	assert_int_equal(gsim_refused(s), 0);
	if (strategy == RUMOR_VIEW_HYPARVIEW)
		assert_int_equal(k->asymmetric, 0); /* symmetric after quiescence */
}

static void test_warm_overlay(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 3; seed++) {
		struct gsim *s = warm(seed);
		struct gsim_check k;
		gsim_check(s, &k);
		assert_invariants(s, &k);
		assert_int_equal(k.dead_refs, 0);
		assert_int_equal(k.zero_in, 0);
		assert_true(k.connected);
		assert_true(k.avg_active >= 0.9 * bound(s) - 1);
		struct gsim_gossip g;
		assert_int_equal(gsim_gossip(s, gsim_random_alive(s), FANOUT, 64, &g), 0);
		assert_true(g.reached >= 0.99 * g.alive);
		gsim_destroy(s);
	}
}

static void test_half_killed(void **state)
{
	(void)state;
	for (uint64_t seed = 11; seed <= 13; seed++) {
		struct gsim *s = warm(seed);
		uint32_t src = gsim_random_alive(s);
		assert_int_equal(gsim_kill(s, 0.5, src), N / 2);
		assert_int_equal(gsim_detect(s), 0);
		struct gsim_check k;
		int rounds = -1;
		for (int r = 0; r <= REPAIR_BOUND; r++) {
			if (r > 0)
				assert_int_equal(gsim_run(s, 1), 0);
			gsim_check(s, &k);
			if (k.connected) {
				rounds = r;
				break;
			}
		}
		print_message("%s seed %llu: survivors connected after %d repair rounds\n",
			      rumor_view_strategy_name(strategy), (unsigned long long)seed, rounds);
		assert_true(rounds >= 0);
		/* gossip once the repair budget is used up (Cyclon refills its caches slowly) */
		assert_int_equal(gsim_run(s, (unsigned)(REPAIR_BOUND - rounds)), 0);
		gsim_check(s, &k);
		assert_invariants(s, &k);
		assert_true(k.connected);
		struct gsim_gossip g;
		assert_int_equal(gsim_gossip(s, src, FANOUT, 64, &g), 0);
		assert_int_equal(g.alive, N / 2);
		assert_true(g.reached >= 0.99 * g.alive);
		gsim_destroy(s);
	}
}

static void test_churn(void **state)
{
	(void)state;
	struct gsim *s = warm(21);
	for (int r = 0; r < 10; r++) {
		assert_int_equal(gsim_churn(s, 0.02), 0);
		assert_int_equal(gsim_run(s, 1), 0);
	}
	assert_int_equal(gsim_run(s, 3), 0);
	struct gsim_check k;
	gsim_check(s, &k);
	assert_invariants(s, &k);
	assert_true(k.connected);
	gsim_destroy(s);
}

static void test_deterministic(void **state)
{
	(void)state;
	struct gsim_gossip g[3];
	uint64_t delivered[3];
	for (int i = 0; i < 3; i++) {
		struct gsim *s = warm(i < 2 ? 5 : 6);
		gsim_kill(s, 0.3, 0);
		assert_int_equal(gsim_detect(s), 0);
		assert_int_equal(gsim_run(s, 3), 0);
		assert_int_equal(gsim_gossip(s, gsim_random_alive(s), 3, 64, &g[i]), 0);
		delivered[i] = gsim_delivered(s);
		gsim_destroy(s);
	}
	assert_int_equal(delivered[0], delivered[1]);
	assert_int_equal(g[0].reached, g[1].reached);
	assert_int_equal(g[0].messages, g[1].messages);
	assert_memory_equal(g[0].coverage, g[1].coverage, sizeof(g[0].coverage));
	/* a different seed gives a different run (the test can tell them apart) */
	assert_true(delivered[0] != delivered[2] || g[0].messages != g[2].messages ||
		    memcmp(g[0].coverage, g[2].coverage, sizeof(g[0].coverage)) != 0);
}

int main(int argc, char **argv)
{
	if (argc < 2 || rumor_view_strategy_parse(argv[1], &strategy) != 0) {
		fprintf(stderr, "usage: %s leader|hyparview|cyclon\n", argv[0]);
		return 2;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_warm_overlay),
		cmocka_unit_test(test_half_killed),
		cmocka_unit_test(test_churn),
		cmocka_unit_test(test_deterministic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
