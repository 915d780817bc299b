/* Unit tests for cp_kv: commands, errors leaving state unchanged, digest, snapshots. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cp_kv.h"
#include "model.h"

static int ex(struct cp_kv *kv, const char *s) { return cp_kv_exec(kv, s, strlen(s)); }

static void val_is(struct cp_kv *kv, const char *k, const char *want)
{
	const char *v;
	size_t vl;
	if (!want) {
		assert_int_equal(cp_kv_get(kv, k, strlen(k), &v, &vl), -ENOENT);
		return;
	}
	assert_int_equal(cp_kv_get(kv, k, strlen(k), &v, &vl), 0);
	assert_int_equal(vl, strlen(want));
	assert_memory_equal(v, want, vl);
}

static void test_commands(void **state)
{
	(void)state;
	struct cp_kv *kv;
	assert_int_equal(cp_kv_create(&kv), 0);
	assert_int_equal(ex(kv, "SET a hello world"), 0);
	val_is(kv, "a", "hello world");
	assert_int_equal(ex(kv, "SET e \n"), 0);
	val_is(kv, "e", "");
	assert_int_equal(ex(kv, "INCR n"), 0);
	assert_int_equal(ex(kv, "INCR n 41"), 0);
	val_is(kv, "n", "42");
	assert_int_equal(ex(kv, "INCR n -50"), 0);
	val_is(kv, "n", "-8");
	assert_int_equal(ex(kv, "INCR a"), -ERANGE);
	assert_int_equal(ex(kv, "SET big 9223372036854775807"), 0);
	assert_int_equal(ex(kv, "INCR big"), -ERANGE);
	val_is(kv, "big", "9223372036854775807");
	assert_int_equal(ex(kv, "INCR n x"), -EINVAL);
	assert_int_equal(ex(kv, "INCR n 99999999999999999999"), -ERANGE);
	assert_int_equal(ex(kv, "DEL a"), 0);
	val_is(kv, "a", NULL);
	assert_int_equal(ex(kv, "DEL a"), 0); /* deleting an absent key is fine */
	assert_int_equal(ex(kv, "DEL a b"), -EINVAL);
	assert_int_equal(ex(kv, "SET a"), -EINVAL);
	assert_int_equal(ex(kv, "SET  x"), -EINVAL);
	assert_int_equal(ex(kv, "set a b"), 1);
	assert_int_equal(ex(kv, "hello"), 1);
	assert_int_equal(cp_kv_exec(kv, "", 0), 1);
	char k[300];
	memset(k, 'k', sizeof(k));
	memcpy(k, "SET ", 4);
	k[4 + 256] = ' ';
	assert_int_equal(cp_kv_exec(kv, k, 4 + 256 + 2), -E2BIG);
	char *v = malloc(CP_KV_VAL_MAX + 16);
	memset(v, 'v', CP_KV_VAL_MAX + 16);
	memcpy(v, "SET q ", 6);
	assert_int_equal(cp_kv_exec(kv, v, 6 + CP_KV_VAL_MAX), 0);
	assert_int_equal(cp_kv_exec(kv, v, 6 + CP_KV_VAL_MAX + 1), -E2BIG);
	free(v);
	assert_int_equal(cp_kv_count(kv), 4); /* e n big q */
	cp_kv_destroy(kv);
}

static void test_digest_snapshot_random(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 20; seed++) {
		struct cp_kv *a, *b, *c;
		cp_kv_create(&a);
		cp_kv_create(&b);
		cp_kv_create(&c);
		uint64_t rng = seed;
		char cmd[64];
		for (unsigned i = 0; i < 2000; i++) {
			unsigned k = m_below(&rng, 300);
			switch (m_below(&rng, 3)) {
			case 0: snprintf(cmd, sizeof(cmd), "SET k%u %llu", k, (unsigned long long)m_rand(&rng)); break;
			case 1: snprintf(cmd, sizeof(cmd), "DEL k%u", k); break;
			default: snprintf(cmd, sizeof(cmd), "INCR c%u %d", k, (int)m_below(&rng, 100) - 50); break;
			}
			assert_true(ex(a, cmd) >= 0);
		}
		size_t sz = cp_kv_snapshot_size(a);
		uint8_t *buf = malloc(sz);
		assert_int_equal(cp_kv_snapshot_write(a, buf, sz), (long)sz);
		assert_int_equal(cp_kv_snapshot_write(a, buf, sz - 1), -ENOBUFS);
		assert_int_equal(cp_kv_snapshot_read(b, buf, sz), (long)sz);
		assert_int_equal(cp_kv_digest(a), cp_kv_digest(b));
		assert_int_equal(cp_kv_count(a), cp_kv_count(b));
		/* different contents, different digest */
		ex(b, "SET zz 1");
		assert_true(cp_kv_digest(a) != cp_kv_digest(b));
		/* truncations fail and leave the store empty */
		assert_true(cp_kv_snapshot_read(c, buf, sz - 1) < 0);
		assert_int_equal(cp_kv_count(c), 0);
		if (cp_kv_count(a) >= 2) {
			/* swap order of the first two entries -> unsorted -> rejected */
			uint32_t kl = buf[4];
			size_t e1 = 8 + kl + buf[4 + 4 + kl];
			uint8_t *t = malloc(sz);
			memcpy(t, buf, sz);
			uint32_t kl2 = t[4 + e1];
			size_t e2 = 8 + kl2 + t[4 + e1 + 4 + kl2];
			memcpy(t + 4, buf + 4 + e1, e2);
			memcpy(t + 4 + e2, buf + 4, e1);
			assert_int_equal(cp_kv_snapshot_read(c, t, sz), -EINVAL);
			free(t);
		}
		free(buf);
		cp_kv_destroy(a);
		cp_kv_destroy(b);
		cp_kv_destroy(c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_digest_snapshot_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
