/* Unit and property tests for rumor_vc: sparse clocks, dense clocks, wire form. */
#include <errno.h>
#include <stdlib.h>

#include "test_util.h"

#include "rumor_vc.h"

#define PROP_ITERS 4000

/* Random clock over a small node range (so that clocks share nodes and orders other than
 * "concurrent" come up) with small counters. */
static void rand_vc(struct test_rng *r, struct rumor_vc *vc, unsigned max_node, unsigned max_n,
		    uint64_t max_ctr)
{
	unsigned n = (unsigned)test_rng_below(r, max_n + 1);

	rumor_vc_init(vc);
	for (unsigned i = 0; i < n; i++) {
		uint16_t node = (uint16_t)(1 + test_rng_below(r, max_node));
		int rc = rumor_vc_set(vc, node, 1 + test_rng_below(r, max_ctr));

		if (rc == -ENOSPC)
			break;
		assert_int_equal(rc, 0);
	}
}

static void rand_vc_any(struct test_rng *r, struct rumor_vc *vc)
{
	switch (test_rng_below(r, 3)) {
	case 0:
		rand_vc(r, vc, 8, 8, 4);
		break;
	case 1:
		rand_vc(r, vc, 64, 40, 1000);
		break;
	default:
		rand_vc(r, vc, RUMOR_NODE_ID_MAX, 120, UINT64_MAX - 1);
		break;
	}
}

/* Clocks are equal as values: same entries (whatever lies past n does not matter). */
static int vc_same(const struct rumor_vc *a, const struct rumor_vc *b)
{
	if (a->n != b->n)
		return 0;
	for (unsigned i = 0; i < a->n; i++)
		if (a->node[i] != b->node[i] || a->ctr[i] != b->ctr[i])
			return 0;
	return 1;
}

static uint64_t max_ctr(const struct rumor_vc *vc)
{
	uint64_t m = 0;

	for (unsigned i = 0; i < vc->n; i++)
		m = vc->ctr[i] > m ? vc->ctr[i] : m;
	return m;
}

/* The invariant every clock must keep. */
static void assert_well_formed(const struct rumor_vc *vc)
{
	assert_true(vc->n <= RUMOR_VC_MAX_ENTRIES);
	for (unsigned i = 0; i < vc->n; i++) {
		assert_true(vc->node[i] >= 1 && vc->node[i] <= RUMOR_NODE_ID_MAX);
		assert_true(vc->ctr[i] > 0);
		if (i)
			assert_true(vc->node[i - 1] < vc->node[i]);
	}
}

/* Reference relation computed entry by entry over the whole node range. */
static enum rumor_vc_order ref_compare(const struct rumor_vc *a, const struct rumor_vc *b)
{
	int lt = 0, gt = 0;

	for (unsigned n = 1; n <= RUMOR_NODE_ID_MAX; n++) {
		uint64_t x = rumor_vc_get(a, (uint16_t)n), y = rumor_vc_get(b, (uint16_t)n);

		lt |= x < y;
		gt |= x > y;
	}
	return lt && gt ? RUMOR_VC_CONCURRENT : lt ? RUMOR_VC_BEFORE : gt ? RUMOR_VC_AFTER :
		RUMOR_VC_EQUAL;
}

static void vc_init_get_set(void **state)
{
	struct rumor_vc vc;

	(void)state;
	rumor_vc_init(&vc);
	assert_int_equal(vc.n, 0);
	assert_int_equal(rumor_vc_get(&vc, 5), 0);
	assert_int_equal(rumor_vc_set(&vc, 5, 7), 0);
	assert_int_equal(rumor_vc_set(&vc, 2, 3), 0);
	assert_int_equal(rumor_vc_set(&vc, 9, 1), 0);
	assert_int_equal(rumor_vc_set(&vc, 5, 8), 0);
	assert_int_equal(vc.n, 3);
	assert_int_equal(rumor_vc_get(&vc, 2), 3);
	assert_int_equal(rumor_vc_get(&vc, 5), 8);
	assert_int_equal(rumor_vc_get(&vc, 9), 1);
	assert_int_equal(rumor_vc_get(&vc, 4), 0);
	assert_int_equal(rumor_vc_get(&vc, 1023), 0);
	assert_well_formed(&vc);
}

static void vc_set_zero_removes(void **state)
{
	struct rumor_vc vc;

	(void)state;
	rumor_vc_init(&vc);
	for (uint16_t n = 1; n <= 10; n++)
		assert_int_equal(rumor_vc_set(&vc, n, n * 10u), 0);
	assert_int_equal(rumor_vc_set(&vc, 5, 0), 0);
	assert_int_equal(vc.n, 9);
	assert_int_equal(rumor_vc_get(&vc, 5), 0);
	assert_int_equal(rumor_vc_get(&vc, 6), 60);
	assert_int_equal(rumor_vc_set(&vc, 42, 0), 0); /* absent: no-op */
	assert_int_equal(vc.n, 9);
	assert_well_formed(&vc);
}

static void vc_set_bounds(void **state)
{
	struct rumor_vc vc;

	(void)state;
	rumor_vc_init(&vc);
	assert_int_equal(rumor_vc_set(&vc, 0, 1), -EINVAL);
	assert_int_equal(rumor_vc_set(&vc, RUMOR_NODE_ID_MAX + 1, 1), -EINVAL);
	assert_int_equal(rumor_vc_set(&vc, UINT16_MAX, 1), -EINVAL);
	assert_int_equal(rumor_vc_set(&vc, RUMOR_NODE_ID_MAX, 1), 0);
	rumor_vc_init(&vc);
	for (unsigned n = 1; n <= RUMOR_VC_MAX_ENTRIES; n++)
		assert_int_equal(rumor_vc_set(&vc, (uint16_t)(n * 3), 1), 0);
	assert_int_equal(vc.n, RUMOR_VC_MAX_ENTRIES);
	assert_int_equal(rumor_vc_set(&vc, 1, 1), -ENOSPC);
	assert_int_equal(rumor_vc_tick(&vc, 2, NULL), -ENOSPC);
	assert_int_equal(vc.n, RUMOR_VC_MAX_ENTRIES);
	/* Updating an existing entry still works when full. */
	assert_int_equal(rumor_vc_set(&vc, 3, 9), 0);
	assert_int_equal(rumor_vc_tick(&vc, 3, NULL), 0);
	assert_int_equal(rumor_vc_get(&vc, 3), 10);
	assert_well_formed(&vc);
}

static void vc_tick(void **state)
{
	struct rumor_vc vc;
	uint64_t out = 0;

	(void)state;
	rumor_vc_init(&vc);
	assert_int_equal(rumor_vc_tick(&vc, 4, &out), 0);
	assert_int_equal(out, 1);
	assert_int_equal(rumor_vc_tick(&vc, 4, &out), 0);
	assert_int_equal(out, 2);
	assert_int_equal(rumor_vc_tick(&vc, 4, NULL), 0);
	assert_int_equal(rumor_vc_get(&vc, 4), 3);
	assert_int_equal(rumor_vc_tick(&vc, 0, &out), -EINVAL);
	assert_int_equal(rumor_vc_tick(&vc, 1024, &out), -EINVAL);
	assert_int_equal(rumor_vc_set(&vc, 7, UINT64_MAX), 0);
	out = 5;
	assert_int_equal(rumor_vc_tick(&vc, 7, &out), -EOVERFLOW);
	assert_int_equal(out, 5);
	assert_true(rumor_vc_get(&vc, 7) == UINT64_MAX);
}

static void vc_merge_basic(void **state)
{
	struct rumor_vc a, b;

	(void)state;
	rumor_vc_init(&a);
	rumor_vc_init(&b);
	rumor_vc_set(&a, 1, 5);
	rumor_vc_set(&a, 3, 2);
	rumor_vc_set(&b, 2, 4);
	rumor_vc_set(&b, 3, 7);
	rumor_vc_set(&b, 9, 1);
	assert_int_equal(rumor_vc_merge(&a, &b), 0);
	assert_int_equal(a.n, 4);
	assert_int_equal(rumor_vc_get(&a, 1), 5);
	assert_int_equal(rumor_vc_get(&a, 2), 4);
	assert_int_equal(rumor_vc_get(&a, 3), 7);
	assert_int_equal(rumor_vc_get(&a, 9), 1);
	assert_well_formed(&a);
	rumor_vc_init(&b);
	assert_int_equal(rumor_vc_merge(&a, &b), 0);
	assert_int_equal(a.n, 4);
	assert_int_equal(rumor_vc_merge(&b, &a), 0);
	assert_true(vc_same(&a, &b));
}

static void vc_merge_enospc_unchanged(void **state)
{
	struct rumor_vc a, b, copy;

	(void)state;
	rumor_vc_init(&a);
	rumor_vc_init(&b);
	for (unsigned i = 0; i < 200; i++)
		assert_int_equal(rumor_vc_set(&a, (uint16_t)(1 + 2 * i), i + 1), 0);
	for (unsigned i = 0; i < 57; i++)
		assert_int_equal(rumor_vc_set(&b, (uint16_t)(2 + 2 * i), 100), 0);
	assert_int_equal(rumor_vc_set(&b, 1, 1000), 0);
	copy = a;
	/* 200 + 57 distinct nodes = 257 > 256. */
	assert_int_equal(rumor_vc_merge(&a, &b), -ENOSPC);
	assert_true(vc_same(&a, &copy));
	assert_int_equal(rumor_vc_get(&a, 1), 1);
	/* One fewer fits exactly. */
	assert_int_equal(rumor_vc_set(&b, 2, 0), 0);
	assert_int_equal(rumor_vc_merge(&a, &b), 0);
	assert_int_equal(a.n, RUMOR_VC_MAX_ENTRIES);
	assert_int_equal(rumor_vc_get(&a, 1), 1000);
	assert_well_formed(&a);
}

static void vc_compare_cases(void **state)
{
	struct rumor_vc a, b;

	(void)state;
	rumor_vc_init(&a);
	rumor_vc_init(&b);
	assert_int_equal(rumor_vc_compare(&a, &b), RUMOR_VC_EQUAL);
	rumor_vc_set(&b, 3, 1);
	assert_int_equal(rumor_vc_compare(&a, &b), RUMOR_VC_BEFORE);
	assert_int_equal(rumor_vc_compare(&b, &a), RUMOR_VC_AFTER);
	rumor_vc_set(&a, 3, 1);
	assert_int_equal(rumor_vc_compare(&a, &b), RUMOR_VC_EQUAL);
	rumor_vc_set(&a, 1, 2);
	rumor_vc_set(&b, 5, 2);
	assert_int_equal(rumor_vc_compare(&a, &b), RUMOR_VC_CONCURRENT);
	assert_int_equal(rumor_vc_compare(&b, &a), RUMOR_VC_CONCURRENT);
	rumor_vc_set(&b, 1, 2);
	assert_int_equal(rumor_vc_compare(&a, &b), RUMOR_VC_BEFORE);
	rumor_vc_set(&a, 3, 4);
	assert_int_equal(rumor_vc_compare(&a, &b), RUMOR_VC_CONCURRENT);
	/* Missing entries on the larger side only. */
	rumor_vc_init(&a);
	rumor_vc_init(&b);
	rumor_vc_set(&a, 1, 1);
	rumor_vc_set(&b, 1, 1);
	rumor_vc_set(&b, 1023, 1);
	assert_int_equal(rumor_vc_compare(&a, &b), RUMOR_VC_BEFORE);
	assert_int_equal(rumor_vc_compare(&b, &a), RUMOR_VC_AFTER);
}

static void vc_leq_sum(void **state)
{
	struct rumor_vc a, b;

	(void)state;
	rumor_vc_init(&a);
	rumor_vc_init(&b);
	assert_true(rumor_vc_leq(&a, &b));
	rumor_vc_set(&a, 2, 3);
	assert_false(rumor_vc_leq(&a, &b));
	assert_true(rumor_vc_leq(&b, &a));
	rumor_vc_set(&b, 1, 1);
	rumor_vc_set(&b, 2, 3);
	rumor_vc_set(&b, 8, 9);
	assert_true(rumor_vc_leq(&a, &b));
	rumor_vc_set(&a, 2, 4);
	assert_false(rumor_vc_leq(&a, &b));
	assert_int_equal(rumor_vc_sum(&b), 13);
	assert_int_equal(rumor_vc_sum(&a), 4);
}

static void vc_encode_decode(void **state)
{
	struct rumor_vc a, b;
	uint8_t buf[64];

	(void)state;
	rumor_vc_init(&a);
	rumor_vc_set(&a, 1, 0x0102030405060708ull);
	rumor_vc_set(&a, 0x3ff, 2);
	assert_int_equal(rumor_vc_wire_size(&a), 20);
	assert_int_equal(rumor_vc_encode(&a, buf, 19), -ENOBUFS);
	assert_int_equal(rumor_vc_encode(&a, buf, 20), 20);
	/* Big-endian node then counter. */
	assert_int_equal(buf[0], 0x00);
	assert_int_equal(buf[1], 0x01);
	assert_int_equal(buf[2], 0x01);
	assert_int_equal(buf[9], 0x08);
	assert_int_equal(buf[10], 0x03);
	assert_int_equal(buf[11], 0xff);
	assert_int_equal(buf[19], 0x02);
	assert_int_equal(rumor_vc_decode(&b, 2, buf, 20), 20);
	assert_true(vc_same(&a, &b));
	/* Trailing bytes are the caller's business. */
	assert_int_equal(rumor_vc_decode(&b, 1, buf, 20), 10);
	assert_int_equal(b.n, 1);
	rumor_vc_init(&a);
	assert_int_equal(rumor_vc_encode(&a, NULL, 0), 0);
	assert_int_equal(rumor_vc_decode(&b, 0, NULL, 0), 0);
	assert_int_equal(b.n, 0);
}

static void vc_decode_errors(void **state)
{
	struct rumor_vc b;
	uint8_t buf[30] = {
		0, 1, 0, 0, 0, 0, 0, 0, 0, 1,
		0, 2, 0, 0, 0, 0, 0, 0, 0, 1,
		0, 3, 0, 0, 0, 0, 0, 0, 0, 1,
	};
	uint8_t bad[30];

	(void)state;
	assert_int_equal(rumor_vc_decode(&b, 3, buf, 30), 30);
	assert_int_equal(rumor_vc_decode(&b, RUMOR_VC_MAX_ENTRIES + 1, buf, 30), -E2BIG);
	assert_int_equal(rumor_vc_decode(&b, 3, buf, 29), -EMSGSIZE);
	memcpy(bad, buf, 30);
	bad[11] = 0; /* node 0 */
	assert_int_equal(rumor_vc_decode(&b, 3, bad, 30), -EINVAL);
	memcpy(bad, buf, 30);
	bad[10] = 0x04; /* node 1026 */
	assert_int_equal(rumor_vc_decode(&b, 3, bad, 30), -EINVAL);
	memcpy(bad, buf, 30);
	bad[19] = 0; /* zero counter */
	assert_int_equal(rumor_vc_decode(&b, 3, bad, 30), -EINVAL);
	memcpy(bad, buf, 30);
	bad[21] = 2; /* duplicate node */
	assert_int_equal(rumor_vc_decode(&b, 3, bad, 30), -EILSEQ);
	memcpy(bad, buf, 30);
	bad[21] = 1; /* decreasing */
	assert_int_equal(rumor_vc_decode(&b, 3, bad, 30), -EILSEQ);
}

static void vc_format(void **state)
{
	struct rumor_vc a;
	char out[64];
	char tiny[4];

	(void)state;
	rumor_vc_init(&a);
	assert_int_equal(rumor_vc_format(&a, out, sizeof(out)), 2);
	assert_string_equal(out, "{}");
	rumor_vc_set(&a, 1, 3);
	rumor_vc_set(&a, 2, 7);
	assert_int_equal(rumor_vc_format(&a, out, sizeof(out)), 10);
	assert_string_equal(out, "{1:3, 2:7}");
	assert_int_equal(rumor_vc_format(&a, tiny, sizeof(tiny)), 10);
	assert_string_equal(tiny, "{1:");
	assert_int_equal(rumor_vc_format(&a, NULL, 0), 10);
	/* same text and length as snprintf would give, at every buffer size */
	rumor_vc_set(&a, 1023, UINT64_MAX);
	rumor_vc_set(&a, 500, 1234567890123ull);
	const char *want = "{1:3, 2:7, 500:1234567890123, 1023:18446744073709551615}";
	for (size_t cap = 1; cap <= 64; cap++) {
		char ref[64];
		memset(out, 'x', sizeof(out));
		assert_int_equal(rumor_vc_format(&a, out, cap), (int)strlen(want));
		snprintf(ref, cap, "%s", want);
		assert_string_equal(out, ref);
	}
}

/* Counter-array max and compare: SIMD equals scalar at every length (vector body + tail),
 * for equal, before, after and concurrent pairs, counters above 2^63 included. */
static void vc_ctr_simd_matches_scalar(void **state)
{
	uint64_t a[300], b[300], d1[300], d2[300];
	uint64_t x = 0x2545f4914f6cdd1dull;

	(void)state;
	for (size_t n = 0; n <= 300; n++) {
		for (int kind = 0; kind < 4; kind++) {
			for (size_t i = 0; i < n; i++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				a[i] = (x & 1) ? x : x >> 40;
				b[i] = a[i];
			}
			if (n && kind == 1)
				b[x % n]++; /* a before b */
			if (n && kind == 2)
				a[x % n]++; /* a after b */
			if (n > 1 && kind == 3) {
				a[0]++;
				b[n - 1]++;
			}
			assert_int_equal(rumor_vc_ctr_compare_simd(a, b, n),
					 rumor_vc_ctr_compare_scalar(a, b, n));
			if (n > 1 || kind < 3)
				assert_int_equal(rumor_vc_ctr_compare_scalar(a, b, n),
						 n ? (enum rumor_vc_order)kind : RUMOR_VC_EQUAL);
			memcpy(d1, a, sizeof(a));
			memcpy(d2, a, sizeof(a));
			assert_int_equal(rumor_vc_ctr_max_simd(d1, b, n),
					 rumor_vc_ctr_max_scalar(d2, b, n));
			assert_memory_equal(d1, d2, sizeof(d1));
		}
	}
}

static void vc_dense_basic(void **state)
{
	struct rumor_vc_dense *d = calloc(1, sizeof(*d));
	struct rumor_vc s, out;
	uint64_t v;

	(void)state;
	assert_non_null(d);
	rumor_vc_dense_init(d);
	assert_int_equal(rumor_vc_dense_tick(d, 3, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(rumor_vc_dense_tick(d, 0, &v), -EINVAL);
	assert_int_equal(rumor_vc_dense_tick(d, 1024, &v), -EINVAL);
	rumor_vc_init(&s);
	rumor_vc_set(&s, 3, 1);
	rumor_vc_set(&s, 7, 4);
	assert_int_equal(rumor_vc_dense_merge(d, &s), 1);
	assert_int_equal(rumor_vc_dense_merge(d, &s), 0);
	assert_int_equal(d->nonzero, 2);
	assert_int_equal(rumor_vc_dense_export(d, &out), 0);
	assert_true(vc_same(&out, &s));
	d->ctr[9] = UINT64_MAX;
	d->nonzero++;
	assert_int_equal(rumor_vc_dense_tick(d, 9, &v), -EOVERFLOW);
	/* Export bound. */
	rumor_vc_dense_init(d);
	for (uint16_t n = 1; n <= RUMOR_VC_MAX_ENTRIES; n++)
		assert_int_equal(rumor_vc_dense_tick(d, n, NULL), 0);
	assert_int_equal(rumor_vc_dense_export(d, &out), 0);
	assert_int_equal(out.n, RUMOR_VC_MAX_ENTRIES);
	assert_int_equal(rumor_vc_dense_tick(d, 1000, NULL), 0);
	assert_int_equal(rumor_vc_dense_export(d, &out), -ENOSPC);
	free(d);
}

static void vc_dense_max_variants(void **state)
{
	struct rumor_vc_dense *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct rumor_vc_dense *x = calloc(1, sizeof(*x)), *y = calloc(1, sizeof(*y));
	struct rumor_vc_dense *z = calloc(1, sizeof(*z));
	struct test_rng r;

	(void)state;
	assert_true(a && b && x && y && z);
	test_rng_seed(&r, 77);
	for (int it = 0; it < 500; it++) {
		unsigned fill = (unsigned)test_rng_below(&r, 5);

		for (unsigned i = 0; i <= RUMOR_NODE_ID_MAX; i++) {
			/* Mix of zeros, small values and values with the top bit set (unsigned
			 * compare matters there). */
			uint64_t v1 = test_rng_below(&r, 5) < fill ? test_rng_next(&r) >>
				      test_rng_below(&r, 64) : 0;
			uint64_t v2 = test_rng_below(&r, 5) < fill ? test_rng_next(&r) >>
				      test_rng_below(&r, 64) : 0;

			a->ctr[i] = v1;
			b->ctr[i] = it % 7 == 0 ? v1 : v2;
		}
		*x = *a;
		*y = *a;
		*z = *a;
		int g1 = rumor_vc_dense_max_scalar(x, b);
		int g2 = rumor_vc_dense_max_simd(y, b);
		int g3 = rumor_vc_dense_max(z, b);
		int grew = 0;
		unsigned nz = 0;

		for (unsigned i = 0; i <= RUMOR_NODE_ID_MAX; i++) {
			uint64_t m = a->ctr[i] > b->ctr[i] ? a->ctr[i] : b->ctr[i];

			grew |= b->ctr[i] > a->ctr[i];
			nz += m != 0;
			assert_true(x->ctr[i] == m);
		}
		assert_int_equal(g1, grew);
		assert_int_equal(g2, grew);
		assert_int_equal(g3, grew);
		assert_int_equal(x->nonzero, nz);
		assert_memory_equal(x->ctr, y->ctr, sizeof(x->ctr));
		assert_memory_equal(x->ctr, z->ctr, sizeof(x->ctr));
		assert_int_equal(y->nonzero, nz);
		assert_int_equal(z->nonzero, nz);
	}
	free(a);
	free(b);
	free(x);
	free(y);
	free(z);
}

static void prop_merge_commutative(void **state)
{
	struct test_rng r;
	struct rumor_vc a, b, ab, ba;

	(void)state;
	test_rng_seed(&r, 1);
	for (int i = 0; i < PROP_ITERS; i++) {
		rand_vc_any(&r, &a);
		rand_vc_any(&r, &b);
		ab = a;
		ba = b;
		assert_int_equal(rumor_vc_merge(&ab, &b), 0);
		assert_int_equal(rumor_vc_merge(&ba, &a), 0);
		assert_true(vc_same(&ab, &ba));
		assert_well_formed(&ab);
	}
}

static void prop_merge_associative(void **state)
{
	struct test_rng r;
	struct rumor_vc a, b, c, l, rr, bc;
	int skipped = 0;

	(void)state;
	test_rng_seed(&r, 2);
	for (int i = 0; i < PROP_ITERS; i++) {
		rand_vc_any(&r, &a);
		rand_vc_any(&r, &b);
		rand_vc_any(&r, &c);
		l = a;
		assert_int_equal(rumor_vc_merge(&l, &b), 0);
		/* Three large random clocks may not fit one clock; then both sides must say so. */
		int rc1 = rumor_vc_merge(&l, &c);

		bc = b;
		assert_int_equal(rumor_vc_merge(&bc, &c), 0);
		rr = a;
		int rc2 = rumor_vc_merge(&rr, &bc);

		assert_int_equal(rc1, rc2);
		if (rc1 == -ENOSPC) {
			skipped++;
			continue;
		}
		assert_int_equal(rc1, 0);
		assert_true(vc_same(&l, &rr));
	}
	assert_true(skipped < PROP_ITERS / 10);
}

static void prop_merge_idempotent(void **state)
{
	struct test_rng r;
	struct rumor_vc a, b, m, m2;

	(void)state;
	test_rng_seed(&r, 3);
	for (int i = 0; i < PROP_ITERS; i++) {
		rand_vc_any(&r, &a);
		rand_vc_any(&r, &b);
		m = a;
		assert_int_equal(rumor_vc_merge(&m, &a), 0);
		assert_true(vc_same(&m, &a));
		assert_int_equal(rumor_vc_merge(&m, &b), 0);
		m2 = m;
		assert_int_equal(rumor_vc_merge(&m2, &b), 0);
		assert_true(vc_same(&m, &m2));
		/* The merge is the least upper bound: above both, and every entry is one of them. */
		assert_true(rumor_vc_leq(&a, &m));
		assert_true(rumor_vc_leq(&b, &m));
		for (unsigned k = 0; k < m.n; k++)
			assert_true(m.ctr[k] == rumor_vc_get(&a, m.node[k]) ||
				    m.ctr[k] == rumor_vc_get(&b, m.node[k]));
	}
}

static void prop_compare_consistent(void **state)
{
	struct test_rng r;
	struct rumor_vc a, b, m;
	unsigned seen[4] = { 0 };

	(void)state;
	test_rng_seed(&r, 4);
	for (int i = 0; i < PROP_ITERS; i++) {
		rand_vc_any(&r, &a);
		if (test_rng_below(&r, 3) == 0) {
			/* b derived from a so that BEFORE/AFTER/EQUAL come up often. */
			b = a;
			unsigned steps = (unsigned)test_rng_below(&r, 3);

			for (unsigned s = 0; s < steps; s++)
				rumor_vc_tick(&b, (uint16_t)(1 + test_rng_below(&r, 8)), NULL);
		} else {
			rand_vc_any(&r, &b);
		}
		enum rumor_vc_order o = rumor_vc_compare(&a, &b);

		seen[o]++;
		assert_int_equal(o, ref_compare(&a, &b));
		/* a <= b  <=>  merge(a, b) == b */
		m = b;
		assert_int_equal(rumor_vc_merge(&m, &a), 0);
		assert_int_equal(vc_same(&m, &b), rumor_vc_leq(&a, &b));
		assert_int_equal(rumor_vc_leq(&a, &b), o == RUMOR_VC_EQUAL || o == RUMOR_VC_BEFORE);
		assert_int_equal(rumor_vc_leq(&b, &a), o == RUMOR_VC_EQUAL || o == RUMOR_VC_AFTER);
		/* The sum is a monotone key as long as it does not wrap. */
		if (o == RUMOR_VC_BEFORE && max_ctr(&b) < (1ull << 48))
			assert_true(rumor_vc_sum(&a) < rumor_vc_sum(&b));
	}
	for (int k = 0; k < 4; k++)
		assert_true(seen[k] > 50);
}

static void prop_antisymmetry(void **state)
{
	static const enum rumor_vc_order mirror[] = {
		[RUMOR_VC_EQUAL] = RUMOR_VC_EQUAL,
		[RUMOR_VC_BEFORE] = RUMOR_VC_AFTER,
		[RUMOR_VC_AFTER] = RUMOR_VC_BEFORE,
		[RUMOR_VC_CONCURRENT] = RUMOR_VC_CONCURRENT,
	};
	struct test_rng r;
	struct rumor_vc a, b;

	(void)state;
	test_rng_seed(&r, 5);
	for (int i = 0; i < PROP_ITERS; i++) {
		rand_vc(&r, &a, 6, 6, 3);
		rand_vc(&r, &b, 6, 6, 3);
		enum rumor_vc_order o = rumor_vc_compare(&a, &b);

		assert_int_equal(rumor_vc_compare(&b, &a), mirror[o]);
		if (rumor_vc_leq(&a, &b) && rumor_vc_leq(&b, &a)) {
			assert_int_equal(o, RUMOR_VC_EQUAL);
			assert_true(vc_same(&a, &b));
		}
		assert_int_equal(rumor_vc_compare(&a, &a), RUMOR_VC_EQUAL);
	}
}

static void prop_encode_decode_roundtrip(void **state)
{
	struct test_rng r;
	struct rumor_vc a, b;
	uint8_t buf[RUMOR_VC_MAX_ENTRIES * RUMOR_VC_WIRE_ENTRY];
	uint8_t buf2[sizeof(buf)];

	(void)state;
	test_rng_seed(&r, 6);
	for (int i = 0; i < PROP_ITERS; i++) {
		if (i % 100 == 0)
			rand_vc(&r, &a, RUMOR_NODE_ID_MAX, 600, UINT64_MAX - 1);
		else
			rand_vc_any(&r, &a);
		int n = rumor_vc_encode(&a, buf, sizeof(buf));

		assert_int_equal(n, (int)rumor_vc_wire_size(&a));
		assert_int_equal(rumor_vc_decode(&b, a.n, buf, (size_t)n), n);
		assert_true(vc_same(&a, &b));
		assert_int_equal(rumor_vc_encode(&b, buf2, sizeof(buf2)), n);
		assert_memory_equal(buf, buf2, (size_t)n);
		if (a.n)
			assert_int_equal(rumor_vc_decode(&b, a.n, buf, (size_t)n - 1), -EMSGSIZE);
	}
}

static void prop_dense_vs_sparse(void **state)
{
	struct test_rng r;
	struct rumor_vc_dense *d = calloc(1, sizeof(*d));
	struct rumor_vc sparse, ts, out;

	(void)state;
	assert_non_null(d);
	test_rng_seed(&r, 7);
	for (int run = 0; run < 40; run++) {
		rumor_vc_dense_init(d);
		rumor_vc_init(&sparse);
		for (int i = 0; i < 100; i++) {
			int grew_expected;

			if (test_rng_below(&r, 4) == 0) {
				uint16_t n = (uint16_t)(1 + test_rng_below(&r, 200));
				uint64_t v1, v2;

				assert_int_equal(rumor_vc_dense_tick(d, n, &v1), 0);
				if (rumor_vc_tick(&sparse, n, &v2) == -ENOSPC)
					break;
				assert_true(v1 == v2);
				continue;
			}
			rand_vc(&r, &ts, 200, 20, 50);
			struct rumor_vc before = sparse;

			if (rumor_vc_merge(&sparse, &ts) == -ENOSPC)
				break;
			grew_expected = !vc_same(&before, &sparse);
			assert_int_equal(rumor_vc_dense_merge(d, &ts), grew_expected);
			assert_int_equal(d->nonzero, sparse.n);
			assert_int_equal(rumor_vc_dense_export(d, &out), 0);
			assert_true(vc_same(&out, &sparse));
		}
	}
	free(d);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(vc_init_get_set),
	cmocka_unit_test(vc_set_zero_removes),
	cmocka_unit_test(vc_set_bounds),
	cmocka_unit_test(vc_tick),
	cmocka_unit_test(vc_merge_basic),
	cmocka_unit_test(vc_merge_enospc_unchanged),
	cmocka_unit_test(vc_compare_cases),
	cmocka_unit_test(vc_leq_sum),
	cmocka_unit_test(vc_encode_decode),
	cmocka_unit_test(vc_decode_errors),
	cmocka_unit_test(vc_format),
	cmocka_unit_test(vc_ctr_simd_matches_scalar),
	cmocka_unit_test(vc_dense_basic),
	cmocka_unit_test(vc_dense_max_variants),
	cmocka_unit_test(prop_merge_commutative),
	cmocka_unit_test(prop_merge_associative),
	cmocka_unit_test(prop_merge_idempotent),
	cmocka_unit_test(prop_compare_consistent),
	cmocka_unit_test(prop_antisymmetry),
	cmocka_unit_test(prop_encode_decode_roundtrip),
	cmocka_unit_test(prop_dense_vs_sparse),
};

TEST_MAIN("vc", tests)
