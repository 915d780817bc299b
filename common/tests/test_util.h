/* Shared bits of the common/ cmocka tests: a seeded PRNG and a main() that runs one case
 * by name (argv[1]) so that meson registers every case as its own test. */
#ifndef RUMOR_TEST_UTIL_H
#define RUMOR_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* xorshift64*: deterministic, seeded per test so failures reproduce. */
struct test_rng {
	uint64_t s;
};

static inline void test_rng_seed(struct test_rng *r, uint64_t seed)
{
	r->s = seed ? seed : 0x9e3779b97f4a7c15ull;
}

static inline uint64_t test_rng_next(struct test_rng *r)
{
	uint64_t x = r->s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Uniform-ish in [0, n). */
static inline uint64_t test_rng_below(struct test_rng *r, uint64_t n)
{
	return n ? test_rng_next(r) % n : 0;
}

/* Runs all cases, or only the one named by argv[1]; an unknown name fails rather than
 * silently running nothing. */
static inline int test_main(const char *group, const struct CMUnitTest *tests, size_t n,
			    int argc, char **argv)
{
	if (argc > 1) {
		size_t i;

		for (i = 0; i < n; i++)
			if (!strcmp(tests[i].name, argv[1]))
				break;
		if (i == n) {
			fprintf(stderr, "%s: no test case named '%s'\n", group, argv[1]);
			return 2;
		}
		cmocka_set_test_filter(argv[1]);
	}
	return _cmocka_run_group_tests(group, tests, n, NULL, NULL);
}

#define TEST_MAIN(group, tests) \
	int main(int argc, char **argv) \
	{ \
		return test_main(group, tests, sizeof(tests) / sizeof(tests[0]), argc, argv); \
	}

#endif
