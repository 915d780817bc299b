/* Vector clocks: sparse sorted clocks (merge, compare, wire form) and the dense per-node
 * running clock, with an AVX-512/AVX2 dense-dense max picked at run time. */
#include "rumor_be.h"
#include "rumor_fmt.h"
#include "rumor_vc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RUMOR_VC_X86 1
#endif

void rumor_vc_init(struct rumor_vc *vc)
{
	vc->n = 0;
}

/* Index of the first entry with node >= @node (binary search: n is at most 256). */
static unsigned lower_bound(const struct rumor_vc *vc, uint16_t node)
{
	unsigned lo = 0, hi = vc->n;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (vc->node[mid] < node)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int node_valid(uint16_t node)
{
	return node >= 1 && node <= RUMOR_NODE_ID_MAX;
}

uint64_t rumor_vc_get(const struct rumor_vc *vc, uint16_t node)
{
	unsigned i = lower_bound(vc, node);

	return (i < vc->n && vc->node[i] == node) ? vc->ctr[i] : 0;
}

int rumor_vc_set(struct rumor_vc *vc, uint16_t node, uint64_t ctr)
{
	unsigned i;

	if (!node_valid(node))
		return -EINVAL;
	i = lower_bound(vc, node);
	if (i < vc->n && vc->node[i] == node) {
		if (ctr) {
			vc->ctr[i] = ctr;
		} else {
			memmove(&vc->node[i], &vc->node[i + 1], (vc->n - i - 1) * sizeof(vc->node[0]));
			memmove(&vc->ctr[i], &vc->ctr[i + 1], (vc->n - i - 1) * sizeof(vc->ctr[0]));
			vc->n--;
		}
		return 0;
	}
	if (!ctr)
		return 0;
	if (vc->n >= RUMOR_VC_MAX_ENTRIES)
		return -ENOSPC;
	memmove(&vc->node[i + 1], &vc->node[i], (vc->n - i) * sizeof(vc->node[0]));
	memmove(&vc->ctr[i + 1], &vc->ctr[i], (vc->n - i) * sizeof(vc->ctr[0]));
	vc->node[i] = node;
	vc->ctr[i] = ctr;
	vc->n++;
	return 0;
}

int rumor_vc_tick(struct rumor_vc *vc, uint16_t node, uint64_t *out)
{
	uint64_t c;
	int rc;

	if (!node_valid(node))
		return -EINVAL;
	c = rumor_vc_get(vc, node);
	if (c == UINT64_MAX)
		return -EOVERFLOW;
	rc = rumor_vc_set(vc, node, c + 1);
	if (rc)
		return rc;
	if (out)
		*out = c + 1;
	return 0;
}

int rumor_vc_merge(struct rumor_vc *dst, const struct rumor_vc *src)
{
	/* Merged into a temporary first so that -ENOSPC can leave dst untouched. */
	uint16_t node[2 * RUMOR_VC_MAX_ENTRIES];
	uint64_t ctr[2 * RUMOR_VC_MAX_ENTRIES];
	unsigned i = 0, j = 0, k = 0;
	unsigned na = dst->n, nb = src->n;

	while (i < na && j < nb) {
		uint16_t a = dst->node[i], b = src->node[j];

		if (a < b) {
			node[k] = a;
			ctr[k++] = dst->ctr[i++];
		} else if (b < a) {
			node[k] = b;
			ctr[k++] = src->ctr[j++];
		} else {
			uint64_t x = dst->ctr[i++], y = src->ctr[j++];

			node[k] = a;
			ctr[k++] = x > y ? x : y;
		}
	}
	while (i < na) {
		node[k] = dst->node[i];
		ctr[k++] = dst->ctr[i++];
	}
	while (j < nb) {
		node[k] = src->node[j];
		ctr[k++] = src->ctr[j++];
	}
	if (k > RUMOR_VC_MAX_ENTRIES)
		return -ENOSPC;
	memcpy(dst->node, node, k * sizeof(node[0]));
	memcpy(dst->ctr, ctr, k * sizeof(ctr[0]));
	dst->n = (uint16_t)k;
	return 0;
}

enum rumor_vc_order rumor_vc_compare(const struct rumor_vc *a, const struct rumor_vc *b)
{
	/* a_gt: some entry of a exceeds b's; b_gt: the other way round. */
	int a_gt = 0, b_gt = 0;
	unsigned i = 0, j = 0;

	while (i < a->n && j < b->n) {
		uint16_t x = a->node[i], y = b->node[j];

		if (x < y) {
			a_gt = 1;
			i++;
		} else if (y < x) {
			b_gt = 1;
			j++;
		} else {
			if (a->ctr[i] > b->ctr[j])
				a_gt = 1;
			else if (a->ctr[i] < b->ctr[j])
				b_gt = 1;
			i++;
			j++;
		}
		if (a_gt && b_gt)
			return RUMOR_VC_CONCURRENT;
	}
	if (i < a->n)
		a_gt = 1;
	if (j < b->n)
		b_gt = 1;
	if (a_gt && b_gt)
		return RUMOR_VC_CONCURRENT;
	if (a_gt)
		return RUMOR_VC_AFTER;
	if (b_gt)
		return RUMOR_VC_BEFORE;
	return RUMOR_VC_EQUAL;
}

int rumor_vc_leq(const struct rumor_vc *a, const struct rumor_vc *b)
{
	unsigned i = 0, j = 0;

	if (a->n > b->n)
		return 0;
	for (; i < a->n; i++) {
		while (j < b->n && b->node[j] < a->node[i])
			j++;
		if (j == b->n || b->node[j] != a->node[i] || a->ctr[i] > b->ctr[j])
			return 0;
		j++;
	}
	return 1;
}

uint64_t rumor_vc_sum(const struct rumor_vc *vc)
{
	uint64_t s = 0;

	for (unsigned i = 0; i < vc->n; i++)
		s += vc->ctr[i];
	return s;
}

size_t rumor_vc_wire_size(const struct rumor_vc *vc)
{
	return (size_t)vc->n * RUMOR_VC_WIRE_ENTRY;
}

/* memcpy + bswap: clocks sit at any alignment inside frames. */
int rumor_vc_encode(const struct rumor_vc *vc, uint8_t *buf, size_t cap)
{
	size_t need = rumor_vc_wire_size(vc);

	if (cap < need)
		return -ENOBUFS;
	for (unsigned i = 0; i < vc->n; i++) {
		rumor_be_st16(buf + i * RUMOR_VC_WIRE_ENTRY, vc->node[i]);
		rumor_be_st64(buf + i * RUMOR_VC_WIRE_ENTRY + 2, vc->ctr[i]);
	}
	return (int)need;
}

int rumor_vc_decode(struct rumor_vc *vc, uint16_t count, const uint8_t *buf, size_t len)
{
	uint16_t prev = 0;

	if (count > RUMOR_VC_MAX_ENTRIES)
		return -E2BIG;
	if (len < (size_t)count * RUMOR_VC_WIRE_ENTRY)
		return -EMSGSIZE;
	for (unsigned i = 0; i < count; i++) {
		const uint8_t *p = buf + i * RUMOR_VC_WIRE_ENTRY;
		uint16_t node = rumor_be_ld16(p);
		uint64_t ctr = rumor_be_ld64(p + 2);

		if (!node_valid(node) || ctr == 0)
			return -EINVAL;
		if (node <= prev)
			return -EILSEQ;
		prev = node;
		vc->node[i] = node;
		vc->ctr[i] = ctr;
	}
	vc->n = count;
	return (int)(count * RUMOR_VC_WIRE_ENTRY);
}

/* Append @n bytes at @*len, writing only what fits in @cap (the length counts on). */
static void fmt_put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
	if (*len < cap) {
		size_t room = cap - *len;
		memcpy(out + *len, s, n < room ? n : room);
	}
	*len += n;
}

static void fmt_u64(char *out, size_t cap, size_t *len, uint64_t v)
{
	char tmp[20];

	fmt_put(out, cap, len, tmp, rumor_fmt_u64(tmp, v));
}

/* Hand-rolled, not snprintf: every applied event formats its timestamp. */
int rumor_vc_format(const struct rumor_vc *vc, char *out, size_t cap)
{
	size_t len = 0;

	fmt_put(out, cap, &len, "{", 1);
	for (unsigned i = 0; i < vc->n; i++) {
		if (i)
			fmt_put(out, cap, &len, ", ", 2);
		fmt_u64(out, cap, &len, vc->node[i]);
		fmt_put(out, cap, &len, ":", 1);
		fmt_u64(out, cap, &len, vc->ctr[i]);
	}
	fmt_put(out, cap, &len, "}", 1);
	/* NUL-terminate like snprintf: at the end, or truncated at cap - 1 */
	if (cap)
		out[len < cap ? len : cap - 1] = '\0';
	return (int)len;
}

void rumor_vc_dense_init(struct rumor_vc_dense *d)
{
	memset(d, 0, sizeof(*d));
}

int rumor_vc_dense_merge(struct rumor_vc_dense *d, const struct rumor_vc *src)
{
	int grew = 0;

	for (unsigned i = 0; i < src->n; i++) {
		uint16_t node = src->node[i];
		uint64_t c = src->ctr[i];

		/* Sparse clocks from rumor_vc_decode are in range; guard anyway so a hand-built
		 * clock cannot write outside the array. */
		if (node > RUMOR_NODE_ID_MAX)
			continue;
		if (c > d->ctr[node]) {
			if (d->ctr[node] == 0)
				d->nonzero++;
			d->ctr[node] = c;
			grew = 1;
		}
	}
	return grew;
}

int rumor_vc_dense_export(const struct rumor_vc_dense *d, struct rumor_vc *out)
{
	unsigned k = 0;

	if (d->nonzero > RUMOR_VC_MAX_ENTRIES)
		return -ENOSPC;
	for (unsigned i = 1; i <= RUMOR_NODE_ID_MAX; i++) {
		if (!d->ctr[i])
			continue;
		if (k >= RUMOR_VC_MAX_ENTRIES)
			return -ENOSPC;
		out->node[k] = (uint16_t)i;
		out->ctr[k++] = d->ctr[i];
	}
	out->n = (uint16_t)k;
	return 0;
}

int rumor_vc_dense_tick(struct rumor_vc_dense *d, uint16_t node, uint64_t *out)
{
	if (!node_valid(node))
		return -EINVAL;
	if (d->ctr[node] == UINT64_MAX)
		return -EOVERFLOW;
	if (d->ctr[node]++ == 0)
		d->nonzero++;
	if (out)
		*out = d->ctr[node];
	return 0;
}

#define DENSE_N (RUMOR_NODE_ID_MAX + 1)

/* The reference path stays scalar (no auto-vectorisation) so the benchmark compares
 * like with like. */
#if defined(__clang__)
#define SCALAR_FN
#define SCALAR_LOOP _Pragma("clang loop vectorize(disable) interleave(disable)")
#elif defined(__GNUC__)
#define SCALAR_FN __attribute__((optimize("no-tree-vectorize")))
#define SCALAR_LOOP
#else
#define SCALAR_FN
#define SCALAR_LOOP
#endif

SCALAR_FN
int rumor_vc_dense_max_scalar(struct rumor_vc_dense *d, const struct rumor_vc_dense *src)
{
	uint64_t grew = 0;
	unsigned nz = 0;

	SCALAR_LOOP
	for (unsigned i = 0; i < DENSE_N; i++) {
		uint64_t a = d->ctr[i], b = src->ctr[i];
		uint64_t m = a > b ? a : b;

		grew |= (b > a);
		nz += (m != 0);
		d->ctr[i] = m;
	}
	d->nonzero = (uint16_t)nz;
	return grew ? 1 : 0;
}

#ifdef RUMOR_VC_X86
__attribute__((target("avx512f")))
static int dense_max_avx512(struct rumor_vc_dense *d, const struct rumor_vc_dense *src)
{
	__mmask8 grew = 0;
	unsigned nz = 0;

	for (unsigned i = 0; i < DENSE_N; i += 8) {
		__m512i a = _mm512_loadu_si512((const void *)&d->ctr[i]);
		__m512i b = _mm512_loadu_si512((const void *)&src->ctr[i]);
		__m512i m = _mm512_max_epu64(a, b);

		grew |= _mm512_cmpgt_epu64_mask(b, a);
		nz += (unsigned)__builtin_popcount(_mm512_test_epi64_mask(m, m));
		_mm512_storeu_si512((void *)&d->ctr[i], m);
	}
	d->nonzero = (uint16_t)nz;
	return grew ? 1 : 0;
}

__attribute__((target("avx2")))
static int dense_max_avx2(struct rumor_vc_dense *d, const struct rumor_vc_dense *src)
{
	/* AVX2 has only signed 64-bit compares: flip the sign bit to compare unsigned. */
	const __m256i bias = _mm256_set1_epi64x((long long)0x8000000000000000ull);
	const __m256i zero = _mm256_setzero_si256();
	__m256i grew = _mm256_setzero_si256();
	unsigned nz = 0;

	for (unsigned i = 0; i < DENSE_N; i += 4) {
		__m256i a = _mm256_loadu_si256((const __m256i *)&d->ctr[i]);
		__m256i b = _mm256_loadu_si256((const __m256i *)&src->ctr[i]);
		__m256i gt = _mm256_cmpgt_epi64(_mm256_xor_si256(b, bias), _mm256_xor_si256(a, bias));
		__m256i m = _mm256_blendv_epi8(a, b, gt);
		__m256i isz = _mm256_cmpeq_epi64(m, zero);

		grew = _mm256_or_si256(grew, gt);
		nz += 4u - (unsigned)__builtin_popcount(
			(unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(isz)));
		_mm256_storeu_si256((__m256i *)&d->ctr[i], m);
	}
	d->nonzero = (uint16_t)nz;
	return _mm256_testz_si256(grew, grew) ? 0 : 1;
}
#endif

int rumor_vc_dense_max_simd(struct rumor_vc_dense *d, const struct rumor_vc_dense *src)
{
#ifdef RUMOR_VC_X86
	if (__builtin_cpu_supports("avx512f"))
		return dense_max_avx512(d, src);
	if (__builtin_cpu_supports("avx2"))
		return dense_max_avx2(d, src);
#endif
	return rumor_vc_dense_max_scalar(d, src);
}

int rumor_vc_dense_max(struct rumor_vc_dense *d, const struct rumor_vc_dense *src)
{
	return rumor_vc_dense_max_simd(d, src);
}

/* ---- counter arrays ---- */

static enum rumor_vc_order order_of(int a_gt, int b_gt)
{
	return a_gt ? (b_gt ? RUMOR_VC_CONCURRENT : RUMOR_VC_AFTER)
		    : (b_gt ? RUMOR_VC_BEFORE : RUMOR_VC_EQUAL);
}

SCALAR_FN
int rumor_vc_ctr_max_scalar(uint64_t *d, const uint64_t *s, size_t n)
{
	uint64_t grew = 0;

	SCALAR_LOOP
	for (size_t i = 0; i < n; i++) {
		grew |= s[i] > d[i];
		d[i] = s[i] > d[i] ? s[i] : d[i];
	}
	return grew ? 1 : 0;
}

SCALAR_FN
enum rumor_vc_order rumor_vc_ctr_compare_scalar(const uint64_t *a, const uint64_t *b, size_t n)
{
	int a_gt = 0, b_gt = 0;

	SCALAR_LOOP
	for (size_t i = 0; i < n; i++) {
		a_gt |= a[i] > b[i];
		b_gt |= b[i] > a[i];
	}
	return order_of(a_gt, b_gt);
}

#ifdef RUMOR_VC_X86
__attribute__((target("avx512f")))
static int ctr_max_avx512(uint64_t *d, const uint64_t *s, size_t n)
{
	__mmask8 grew = 0;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m512i a = _mm512_loadu_si512((const void *)&d[i]);
		__m512i b = _mm512_loadu_si512((const void *)&s[i]);

		grew |= _mm512_cmpgt_epu64_mask(b, a);
		_mm512_storeu_si512((void *)&d[i], _mm512_max_epu64(a, b));
	}
	return rumor_vc_ctr_max_scalar(d + i, s + i, n - i) | (grew ? 1 : 0);
}

__attribute__((target("avx512f")))
static enum rumor_vc_order ctr_compare_avx512(const uint64_t *a, const uint64_t *b, size_t n)
{
	__mmask8 agt = 0, bgt = 0;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m512i x = _mm512_loadu_si512((const void *)&a[i]);
		__m512i y = _mm512_loadu_si512((const void *)&b[i]);

		agt |= _mm512_cmpgt_epu64_mask(x, y);
		bgt |= _mm512_cmpgt_epu64_mask(y, x);
	}
	enum rumor_vc_order tail = rumor_vc_ctr_compare_scalar(a + i, b + i, n - i);
	return order_of(agt || tail == RUMOR_VC_AFTER || tail == RUMOR_VC_CONCURRENT,
			bgt || tail == RUMOR_VC_BEFORE || tail == RUMOR_VC_CONCURRENT);
}

__attribute__((target("avx2")))
static int ctr_max_avx2(uint64_t *d, const uint64_t *s, size_t n)
{
	const __m256i bias = _mm256_set1_epi64x((long long)0x8000000000000000ull);
	__m256i grew = _mm256_setzero_si256();
	size_t i = 0;

	for (; i + 4 <= n; i += 4) {
		__m256i a = _mm256_loadu_si256((const __m256i *)&d[i]);
		__m256i b = _mm256_loadu_si256((const __m256i *)&s[i]);
		__m256i gt = _mm256_cmpgt_epi64(_mm256_xor_si256(b, bias), _mm256_xor_si256(a, bias));

		grew = _mm256_or_si256(grew, gt);
		_mm256_storeu_si256((__m256i *)&d[i], _mm256_blendv_epi8(a, b, gt));
	}
	return rumor_vc_ctr_max_scalar(d + i, s + i, n - i) |
	       (_mm256_testz_si256(grew, grew) ? 0 : 1);
}

__attribute__((target("avx2")))
static enum rumor_vc_order ctr_compare_avx2(const uint64_t *a, const uint64_t *b, size_t n)
{
	const __m256i bias = _mm256_set1_epi64x((long long)0x8000000000000000ull);
	__m256i agt = _mm256_setzero_si256(), bgt = _mm256_setzero_si256();
	size_t i = 0;

	for (; i + 4 <= n; i += 4) {
		__m256i x = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)&a[i]), bias);
		__m256i y = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)&b[i]), bias);

		agt = _mm256_or_si256(agt, _mm256_cmpgt_epi64(x, y));
		bgt = _mm256_or_si256(bgt, _mm256_cmpgt_epi64(y, x));
	}
	enum rumor_vc_order tail = rumor_vc_ctr_compare_scalar(a + i, b + i, n - i);
	return order_of(!_mm256_testz_si256(agt, agt) || tail == RUMOR_VC_AFTER ||
				tail == RUMOR_VC_CONCURRENT,
			!_mm256_testz_si256(bgt, bgt) || tail == RUMOR_VC_BEFORE ||
				tail == RUMOR_VC_CONCURRENT);
}
#endif

int rumor_vc_ctr_max_simd(uint64_t *d, const uint64_t *s, size_t n)
{
#ifdef RUMOR_VC_X86
	if (__builtin_cpu_supports("avx512f"))
		return ctr_max_avx512(d, s, n);
	if (__builtin_cpu_supports("avx2"))
		return ctr_max_avx2(d, s, n);
#endif
	return rumor_vc_ctr_max_scalar(d, s, n);
}

enum rumor_vc_order rumor_vc_ctr_compare_simd(const uint64_t *a, const uint64_t *b, size_t n)
{
#ifdef RUMOR_VC_X86
	if (__builtin_cpu_supports("avx512f"))
		return ctr_compare_avx512(a, b, n);
	if (__builtin_cpu_supports("avx2"))
		return ctr_compare_avx2(a, b, n);
#endif
	return rumor_vc_ctr_compare_scalar(a, b, n);
}
