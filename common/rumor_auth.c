/* Gossip frame authentication: keyring, AES-256-GMAC body/hop tags (our own fused AES-NI +
 * VPCLMULQDQ kernel for frame-sized inputs, intel-ipsec-mb for the rest and on CPUs without
 * AVX-512 VPCLMULQDQ + VAES + VBMI; bench/micro/bench_auth), and the RFC 6479-style
 * anti-replay window. */
#include "rumor_auth.h"
#include "rumor_be.h"
#include "rumor_wire.h"

#include <cpuid.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <immintrin.h>
#include <intel-ipsec-mb.h>

/* Per key: ipsec-mb's GCM key data (long inputs, portable path), and for the fast path the
 * AES-256 round keys and H^16..H^1 byte-reflected (hpow[16 - i] = H^i), 4 zero entries
 * behind so a 4-lane load past the last power reads zeros. */
struct auth_key {
	struct gcm_key_data kd;
	__m128i rk[15];
	__m128i hpow[20];
	__m128i hkpow[20];  /* hpow[i].lo ^ hpow[i].hi in both halves: Karatsuba's middle factor */
	__m128i lh_hop;   /* the hop tag's length block times H, reduced (its length is fixed) */
};

struct rumor_auth {
	IMB_MGR *mgr;
	uint8_t use;
	bool fast;                  /* AVX-512 VPCLMULQDQ + VAES + VBMI kernel */
	struct auth_key *key[256];  /* NULL: no such key id */
};

/* Fast path: inputs up to this many 16-byte blocks (plus the length block) are summed with
 * one power of H each and reduced once; longer ones go to ipsec-mb. */
#define FAST_MAX_BLOCKS 15
#define FAST                                                                              \
	__attribute__((target("aes,pclmul,ssse3,avx2,avx512f,avx512bw,avx512vl,avx512vbmi,"   \
			      "vpclmulqdq,vaes")))

static const char *const reason_names[RUMOR_AUTH_NREASONS] = {
	"auth_no_key", "auth_bad_tag", "auth_replay", "auth_old_epoch", "auth_bad_body",
};

const char *rumor_auth_reason_name(int reason)
{
	return reason >= 1 && reason <= RUMOR_AUTH_NREASONS ? reason_names[reason - 1] : NULL;
}

/* What the fast kernel below needs (a CPU without it gets intel-ipsec-mb alone). VAES,
 * VPCLMULQDQ and AVX512-VBMI are read from CPUID leaf 7: clang 14's __builtin_cpu_supports
 * does not know "vaes". The AVX-512 checks of the builtin include the OS's XSAVE support. */
static bool cpu_fast(void)
{
	unsigned eax, ebx, ecx, edx;

	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
	    !__builtin_cpu_supports("avx512vl") || !__builtin_cpu_supports("aes") ||
	    !__builtin_cpu_supports("pclmul") || !__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx))
		return false;
	return (ecx & bit_AVX512VBMI) && (ecx & bit_VAES) && (ecx & bit_VPCLMULQDQ);
}

struct rumor_auth *rumor_auth_new(void)
{
	struct rumor_auth *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->mgr = alloc_mb_mgr(0);
	if (a->mgr == NULL) {
		free(a);
		return NULL;
	}
	init_mb_mgr_auto(a->mgr, NULL);
	/* without AES-NI the library falls back to a slow emulation: refuse instead */
	if (imb_get_errno(a->mgr) != 0 || !(a->mgr->features & IMB_FEATURE_AESNI) ||
	    !(a->mgr->features & IMB_FEATURE_PCLMULQDQ)) {
		rumor_auth_free(a);
		return NULL;
	}
	a->fast = cpu_fast();
	return a;
}

bool rumor_auth_set_portable(struct rumor_auth *a, bool portable)
{
	a->fast = !portable && cpu_fast();
	return a->fast;
}

/* ---------------------------------------------------------------- fast GMAC kernel
 * GHASH through POLYVAL (RFC 8452, appendix A): blocks byte-swapped, 256-bit carry-less
 * products, a Montgomery reduction. Multiplication is linear, so a message of n blocks is
 * sum(B_i * H^(n+1-i)) with one reduction at the end (the aggregated form), 4 blocks per
 * VPCLMULQDQ; the powers of H are made once per key. Everything is constant time: no table
 * lookups, no data-dependent branches (lengths are public). */

static FAST inline __m128i bswap128(__m128i x)
{
	return _mm_shuffle_epi8(x, _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
						14, 15));
}

/* The 256-bit carry-less product (lo, mid, hi: middle terms not yet folded in) reduced
 * Montgomery-style in POLYVAL's field (RFC 8452: GHASH(H, X) = ByteReverse(POLYVAL(
 * mulX(ByteReverse(H)), ByteReverse(X))), so byte-swapped blocks and keys converted once
 * give GHASH): two multiplications by the polynomial's constant instead of shifts. */
static FAST inline __m128i gf_reduce(__m128i lo, __m128i mid, __m128i hi)
{
	const __m128i poly = _mm_set_epi64x((long long)0xc200000000000000ull, 1);
	__m128i t;

	lo = _mm_xor_si128(lo, _mm_slli_si128(mid, 8));
	hi = _mm_xor_si128(hi, _mm_srli_si128(mid, 8));
	t = _mm_clmulepi64_si128(lo, poly, 0x10);
	lo = _mm_xor_si128(_mm_shuffle_epi32(lo, 78), t);
	t = _mm_clmulepi64_si128(lo, poly, 0x10);
	lo = _mm_xor_si128(_mm_shuffle_epi32(lo, 78), t);
	return _mm_xor_si128(hi, lo);
}

static FAST inline void gf_mul_acc(__m128i a, __m128i b, __m128i *lo, __m128i *mid, __m128i *hi)
{
	*lo = _mm_xor_si128(*lo, _mm_clmulepi64_si128(a, b, 0x00));
	*hi = _mm_xor_si128(*hi, _mm_clmulepi64_si128(a, b, 0x11));
	*mid = _mm_xor_si128(*mid, _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x01),
						 _mm_clmulepi64_si128(a, b, 0x10)));
}

static FAST __m128i gf_mul(__m128i a, __m128i b)
{
	__m128i lo = _mm_setzero_si128(), mid = lo, hi = lo;

	gf_mul_acc(a, b, &lo, &mid, &hi);
	return gf_reduce(lo, mid, hi);
}

static FAST inline __m128i fold4(__m512i x)
{
	__m256i y = _mm256_xor_si256(_mm512_castsi512_si256(x), _mm512_extracti64x4_epi64(x, 1));

	return _mm_xor_si128(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1));
}

/* Unreduced 4-lane sums: lo and hi products, and Karatsuba's (a.lo ^ a.hi)(h.lo ^ h.hi) in
 * km (the middle term is km ^ lo ^ hi; 3 carry-less multiplications a block, not 4). */
struct gh_acc {
	__m512i lo, km, hi;
};

/* @hk: @h's lanes' hkpow (made once per key, not per block) */
static FAST inline void gh_mul_acc(struct gh_acc *g, __m512i d, __m512i h, __m512i hk)
{
	__m512i dk = _mm512_xor_si512(d, _mm512_shuffle_epi32(d, (_MM_PERM_ENUM)78));

	g->lo = _mm512_xor_si512(g->lo, _mm512_clmulepi64_epi128(d, h, 0x00));
	g->hi = _mm512_xor_si512(g->hi, _mm512_clmulepi64_epi128(d, h, 0x11));
	g->km = _mm512_xor_si512(g->km, _mm512_clmulepi64_epi128(dk, hk, 0x00));
}

/* The sum of 4 lanes' unreduced products, reduced: the reduction is GF(2)-linear, so each
 * lane is reduced in place (one 4-lane pass) and the reduced lanes are summed, instead of
 * folding lo, mid and hi apart and reducing once. */
static FAST inline __m128i gh_final(__m512i lo, __m512i mid, __m512i hi)
{
	const __m512i poly = _mm512_broadcast_i32x4(
		_mm_set_epi64x((long long)0xc200000000000000ull, 1));
	__m512i t;

	lo = _mm512_xor_si512(lo, _mm512_bslli_epi128(mid, 8));
	hi = _mm512_xor_si512(hi, _mm512_bsrli_epi128(mid, 8));
	t = _mm512_clmulepi64_epi128(lo, poly, 0x10);
	lo = _mm512_xor_si512(_mm512_shuffle_epi32(lo, (_MM_PERM_ENUM)78), t);
	t = _mm512_clmulepi64_epi128(lo, poly, 0x10);
	lo = _mm512_ternarylogic_epi64(_mm512_shuffle_epi32(lo, (_MM_PERM_ENUM)78), t, hi, 0x96);
	return fold4(lo);
}

/* Adds @len bytes at @p (the last block zero-padded) as blocks @first.. of a message of
 * @n blocks (block i gets H^(n+1-i)); never reads a byte past @len (masked loads). */
static FAST inline void gh_add(const struct auth_key *k, struct gh_acc *g, const uint8_t *p,
			       size_t len, unsigned first, unsigned n)
{
	const __m512i bs = _mm512_broadcast_i32x4(_mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
							       11, 12, 13, 14, 15));
	const __m128i *pw = k->hpow + (16 - n) + first, *pk = k->hkpow + (16 - n) + first;

	for (size_t o = 0; o < len; o += 64, pw += 4, pk += 4) {
		size_t r = len - o;
		__mmask64 m = r >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << r) - 1;
		__m512i d = _mm512_shuffle_epi8(_mm512_maskz_loadu_epi8(m, p + o), bs);

		gh_mul_acc(g, d, _mm512_loadu_si512((const void *)pw),
			   _mm512_loadu_si512((const void *)pk));
	}
}

/* GHASH of the AAD (@a, @alen: a multiple of 16) || (@b, @blen), no ciphertext, reflected;
 * at most FAST_MAX_BLOCKS blocks. */
static FAST __m128i ghash_aad(const struct auth_key *k, const uint8_t *a, size_t alen,
			      const uint8_t *b, size_t blen)
{
	unsigned n = (unsigned)(alen / 16 + (blen + 15) / 16);
	struct gh_acc g = { _mm512_setzero_si512(), _mm512_setzero_si512(),
			    _mm512_setzero_si512() };
	__m128i lo, mid, hi;

	/* n data blocks and the length block: block i of n + 1 gets H^(n+2-i), the length H */
	if (alen)
		gh_add(k, &g, a, alen, 0, n + 1);
	if (blen)
		gh_add(k, &g, b, blen, (unsigned)(alen / 16), n + 1);
	lo = fold4(g.lo);
	mid = fold4(_mm512_ternarylogic_epi64(g.km, g.lo, g.hi, 0x96));
	hi = fold4(g.hi);
	gf_mul_acc(_mm_set_epi64x((long long)((alen + blen) * 8), 0), k->hpow[15], &lo, &mid,
		   &hi);
	return gf_reduce(lo, mid, hi);
}

static FAST inline __m128i aes_round_keys_enc1(const struct auth_key *k, __m128i x)
{
	x = _mm_xor_si128(x, k->rk[0]);
	for (unsigned r = 1; r < 14; r++)
		x = _mm_aesenc_si128(x, k->rk[r]);
	return _mm_aesenclast_si128(x, k->rk[14]);
}

/* E_K of two blocks at once (the AES rounds' latency overlaps). */
static FAST inline void aes_enc2(const struct auth_key *k, __m128i *x, __m128i *y)
{
	__m128i a = _mm_xor_si128(*x, k->rk[0]), b = _mm_xor_si128(*y, k->rk[0]);

	for (unsigned r = 1; r < 14; r++) {
		a = _mm_aesenc_si128(a, k->rk[r]);
		b = _mm_aesenc_si128(b, k->rk[r]);
	}
	*x = _mm_aesenclast_si128(a, k->rk[14]);
	*y = _mm_aesenclast_si128(b, k->rk[14]);
}

static FAST inline __m128i tag_of(__m128i x, __m128i ekj0)
{
	return _mm_xor_si128(bswap128(x), ekj0);
}

static FAST void fast_key(IMB_MGR *mgr, struct auth_key *k, const uint8_t key[32])
{
	uint8_t dec[16 * 15] __attribute__((aligned(16)));
	__m128i h;

	IMB_AES_KEYEXP_256(mgr, key, k->rk, dec);
	memset(dec, 0, sizeof(dec));
	h = bswap128(aes_round_keys_enc1(k, _mm_setzero_si128()));
	{
		/* mulX in POLYVAL's field: shift left one bit, reduce by x^128 + x^127 + x^126 +
		 * x^121 + 1 (the key POLYVAL needs to compute GHASH) */
		uint64_t lo = (uint64_t)_mm_cvtsi128_si64(h);
		uint64_t hi = (uint64_t)_mm_extract_epi64(h, 1);
		uint64_t carry = hi >> 63;

		hi = hi << 1 | lo >> 63;
		lo <<= 1;
		hi ^= (0 - carry) & 0xc200000000000000ull;
		lo ^= carry;
		h = _mm_set_epi64x((long long)hi, (long long)lo);
	}
	memset(k->hpow, 0, sizeof(k->hpow));
	k->hpow[15] = h;
	for (int i = 14; i >= 0; i--)
		k->hpow[i] = gf_mul(k->hpow[i + 1], h);
	for (unsigned i = 0; i < 20; i++) /* (the zero entries stay zero) */
		k->hkpow[i] = _mm_xor_si128(k->hpow[i], _mm_shuffle_epi32(k->hpow[i], 78));
	k->lh_hop = gf_mul(_mm_set_epi64x((RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_SEALED) * 8, 0),
			   h);
}

static FAST void fast_gmac(const struct auth_key *k, const uint8_t iv[12], const uint8_t *a,
			   size_t alen, const uint8_t *b, size_t blen, uint8_t tag[16])
{
	uint8_t j[16];
	__m128i x = ghash_aad(k, a, alen, b, blen);

	memcpy(j, iv, 12);
	j[12] = j[13] = j[14] = 0;
	j[15] = 1;
	_mm_storeu_si128((__m128i *)tag,
			 tag_of(x, aes_round_keys_enc1(k, _mm_loadu_si128((const __m128i *)j))));
}

/* The hop tag's GHASH: its 64 bytes (@raw, as on the wire) are exactly 4 blocks, one
 * VPCLMULQDQ each way. */
static FAST inline __m128i ghash_hop_reg(const struct auth_key *k, __m512i raw)
{
	const __m512i bs = _mm512_broadcast_i32x4(_mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
							       11, 12, 13, 14, 15));
	__m512i d = _mm512_shuffle_epi8(raw, bs);
	__m512i h = _mm512_loadu_si512((const void *)(k->hpow + 11)); /* H^5..H^2 */
	__m512i mid = _mm512_xor_si512(_mm512_clmulepi64_epi128(d, h, 0x01),
				       _mm512_clmulepi64_epi128(d, h, 0x10));

	return _mm_xor_si128(gh_final(_mm512_clmulepi64_epi128(d, h, 0x00), mid,
				      _mm512_clmulepi64_epi128(d, h, 0x11)),
			     k->lh_hop);
}

/* The hop GHASH of 4 frames under one key, lane f = frame f's (as ghash_hop_reg gives it).
 * One frame at a time costs 4 carry-less products of its 4 blocks and a reduction of its
 * own, and the multipliers are what a relay runs out of. Transposed (lane f of product j is
 * block j of frame f, times H^(5-j) in every lane), Karatsuba makes each product 3
 * multiplications, and one reduction serves all 4 frames: 3.5 per frame instead of 6. */
static FAST inline __m512i ghash_hop4(const struct auth_key *k, const __m512i raw[4])
{
	const __m512i bs = _mm512_broadcast_i32x4(_mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
							       11, 12, 13, 14, 15));
	const __m512i poly = _mm512_broadcast_i32x4(
		_mm_set_epi64x((long long)0xc200000000000000ull, 1));
	__m512i d0 = _mm512_shuffle_epi8(raw[0], bs), d1 = _mm512_shuffle_epi8(raw[1], bs);
	__m512i d2 = _mm512_shuffle_epi8(raw[2], bs), d3 = _mm512_shuffle_epi8(raw[3], bs);
	__m512i t0 = _mm512_shuffle_i64x2(d0, d1, 0x44), t1 = _mm512_shuffle_i64x2(d0, d1, 0xee);
	__m512i t2 = _mm512_shuffle_i64x2(d2, d3, 0x44), t3 = _mm512_shuffle_i64x2(d2, d3, 0xee);
	__m512i b[4] = { _mm512_shuffle_i64x2(t0, t2, 0x88), _mm512_shuffle_i64x2(t0, t2, 0xdd),
			 _mm512_shuffle_i64x2(t1, t3, 0x88), _mm512_shuffle_i64x2(t1, t3, 0xdd) };
	__m512i lo = _mm512_setzero_si512(), hi = lo, mid = lo, t;

	for (unsigned j = 0; j < 4; j++) {
		__m512i h = _mm512_broadcast_i32x4(k->hpow[11 + j]); /* H^(5-j) */
		/* Karatsuba: (a.lo ^ a.hi)(h.lo ^ h.hi) in the low halves */
		__m512i ak = _mm512_xor_si512(b[j], _mm512_shuffle_epi32(b[j], (_MM_PERM_ENUM)78));
		__m512i hk = _mm512_broadcast_i32x4(k->hkpow[11 + j]);

		lo = _mm512_xor_si512(lo, _mm512_clmulepi64_epi128(b[j], h, 0x00));
		hi = _mm512_xor_si512(hi, _mm512_clmulepi64_epi128(b[j], h, 0x11));
		mid = _mm512_xor_si512(mid, _mm512_clmulepi64_epi128(ak, hk, 0x00));
	}
	mid = _mm512_ternarylogic_epi64(mid, lo, hi, 0x96);
	lo = _mm512_xor_si512(lo, _mm512_bslli_epi128(mid, 8));
	hi = _mm512_xor_si512(hi, _mm512_bsrli_epi128(mid, 8));
	t = _mm512_clmulepi64_epi128(lo, poly, 0x10);
	lo = _mm512_xor_si512(_mm512_shuffle_epi32(lo, (_MM_PERM_ENUM)78), t);
	t = _mm512_clmulepi64_epi128(lo, poly, 0x10);
	lo = _mm512_ternarylogic_epi64(_mm512_shuffle_epi32(lo, (_MM_PERM_ENUM)78), t, hi, 0x96);
	return _mm512_xor_si512(lo, _mm512_broadcast_i32x4(k->lh_hop));
}

static FAST inline __m128i lane_of(__m512i x, unsigned f)
{
	switch (f) {
	case 0: return _mm512_castsi512_si128(x);
	case 1: return _mm512_extracti32x4_epi32(x, 1);
	case 2: return _mm512_extracti32x4_epi32(x, 2);
	default: return _mm512_extracti32x4_epi32(x, 3);
	}
}

static FAST inline __m128i ghash_hop(const struct auth_key *k, const uint8_t *rumor)
{
	return ghash_hop_reg(k, _mm512_loadu_si512((const void *)rumor));
}


void rumor_auth_free(struct rumor_auth *a)
{
	if (a == NULL)
		return;
	for (unsigned i = 0; i < 256; i++) {
		if (a->key[i] != NULL) {
			/* key material must not outlive us in freed memory */
			explicit_bzero(a->key[i], sizeof(*a->key[i]));
			free(a->key[i]);
		}
	}
	if (a->mgr != NULL)
		free_mb_mgr(a->mgr);
	free(a);
}

int rumor_auth_set_key(struct rumor_auth *a, uint8_t id, const uint8_t key[RUMOR_AUTH_KEY_LEN])
{
	struct auth_key *k;

	if (id == 0)
		return -EINVAL;
	if (a->key[id] != NULL)
		return -EEXIST;
	k = aligned_alloc(64, (sizeof(*k) + 63) & ~(size_t)63);
	if (k == NULL)
		return -ENOMEM;
	memset(k, 0, sizeof(*k));
	IMB_AES256_GCM_PRE(a->mgr, key, &k->kd);
	/* the fast kernel's key data whenever the CPU could run it (set_portable may switch) */
	if (cpu_fast())
		fast_key(a->mgr, k, key);
	a->key[id] = k;
	return 0;
}

int rumor_auth_copy_key(struct rumor_auth *dst, const struct rumor_auth *src, uint8_t id)
{
	struct auth_key *kd;

	if (id == 0)
		return -EINVAL;
	if (src->key[id] == NULL)
		return -ENOKEY;
	if (dst->key[id] != NULL)
		return -EEXIST;
	kd = aligned_alloc(64, (sizeof(*kd) + 63) & ~(size_t)63);
	if (kd == NULL)
		return -ENOMEM;
	memcpy(kd, src->key[id], sizeof(*kd));
	dst->key[id] = kd;
	return 0;
}

struct rumor_auth *rumor_auth_clone(const struct rumor_auth *src)
{
	struct rumor_auth *a = rumor_auth_new();

	if (a == NULL)
		return NULL;
	for (unsigned i = 1; i < 256; i++)
		if (src->key[i] != NULL && rumor_auth_copy_key(a, src, (uint8_t)i) != 0) {
			rumor_auth_free(a);
			return NULL;
		}
	a->use = src->use;
	a->fast = src->fast;
	return a;
}

bool rumor_auth_has_key(const struct rumor_auth *a, uint8_t id)
{
	return id != 0 && a->key[id] != NULL;
}

int rumor_auth_use(struct rumor_auth *a, uint8_t id)
{
	if (!rumor_auth_has_key(a, id))
		return -ENOKEY;
	a->use = id;
	return 0;
}

uint8_t rumor_auth_current(const struct rumor_auth *a)
{
	return a->use;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

#define KFAIL(...)                                                                         \
	do {                                                                               \
		if (err != NULL && errlen > 0) {                                           \
			int o_ = snprintf(err, errlen, "%s:%u: ", name, line);              \
			if (o_ >= 0 && (size_t)o_ < errlen)                                 \
				snprintf(err + o_, errlen - (size_t)o_, __VA_ARGS__);       \
		}                                                                          \
		memset(key, 0, sizeof(key));                                               \
		return -EINVAL;                                                            \
	} while (0)

int rumor_auth_keyring_parse(struct rumor_auth *a, const char *text, const char *name,
			     char *err, size_t errlen)
{
	const char *p = text;
	unsigned line = 0, nkeys = 0;
	uint8_t key[RUMOR_AUTH_KEY_LEN];

	while (*p) {
		const char *eol = strchr(p, '\n'), *q = p;
		unsigned long id;
		char *end;
		int rc;

		if (eol == NULL)
			eol = p + strlen(p);
		line++;
		while (q < eol && isspace((unsigned char)*q))
			q++;
		if (q == eol || *q == '#') {
			p = *eol ? eol + 1 : eol;
			continue;
		}
		if (!isdigit((unsigned char)*q))
			KFAIL("want \"<key id> <64 hex digits>\"");
		id = strtoul(q, &end, 10);
		if (id < 1 || id > 255 || end >= eol || !isspace((unsigned char)*end))
			KFAIL("key id must be 1..255 followed by the key");
		q = end;
		while (q < eol && isspace((unsigned char)*q))
			q++;
		for (unsigned i = 0; i < RUMOR_AUTH_KEY_LEN; i++) {
			int hi = q + 2 * i < eol ? hexval(q[2 * i]) : -1;
			int lo = q + 2 * i + 1 < eol ? hexval(q[2 * i + 1]) : -1;

			if (hi < 0 || lo < 0)
				KFAIL("key %lu: want 64 hex digits (32 bytes)", id);
			key[i] = (uint8_t)(hi << 4 | lo);
		}
		q += 2 * RUMOR_AUTH_KEY_LEN;
		while (q < eol && isspace((unsigned char)*q))
			q++;
		if (q != eol && *q != '#')
			KFAIL("key %lu: trailing text after the 64 hex digits", id);
		rc = rumor_auth_set_key(a, (uint8_t)id, key);
		if (rc == -EEXIST)
			KFAIL("key id %lu given twice", id);
		if (rc != 0)
			KFAIL("key %lu: %s", id, strerror(-rc));
		nkeys++;
		p = *eol ? eol + 1 : eol;
	}
	memset(key, 0, sizeof(key));
	if (nkeys == 0) {
		line = 0;
		KFAIL("no keys");
	}
	return (int)nkeys;
}

int rumor_auth_keyring_load(struct rumor_auth *a, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long sz;
	int rc;

	if (f == NULL) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 || sz > 1 << 20 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		snprintf(err, errlen, "%s: unreadable or over 1 MiB", path);
		return -EINVAL;
	}
	buf = malloc((size_t)sz + 1);
	if (buf == NULL) {
		fclose(f);
		return -ENOMEM;
	}
	if (fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
		fclose(f);
		free(buf);
		snprintf(err, errlen, "%s: read error", path);
		return -EIO;
	}
	fclose(f);
	buf[sz] = 0;
	rc = rumor_auth_keyring_parse(a, buf, path, err, errlen);
	memset(buf, 0, (size_t)sz);
	free(buf);
	return rc;
}

int rumor_auth_gmac(const struct rumor_auth *a, uint8_t key_id, const uint8_t iv[12],
		    const uint8_t *aad, size_t len, uint8_t tag[RUMOR_AUTH_TAG_LEN])
{
	const struct auth_key *k = a->key[key_id];
	struct gcm_context_data ctx;

	if (key_id == 0 || k == NULL)
		return RUMOR_AUTH_NO_KEY;
	if (a->fast && len <= FAST_MAX_BLOCKS * 16) {
		fast_gmac(k, iv, NULL, 0, aad, len, tag);
		return 0;
	}
	/* GCM with no plaintext is GMAC; the one-shot call is ~20 % cheaper than
	 * init/update/finalize for a hop's 64 bytes (bench_auth) */
	IMB_AES256_GCM_ENC(a->mgr, &k->kd, &ctx, NULL, NULL, 0, iv, aad, len, tag,
			   RUMOR_AUTH_TAG_LEN);
	return 0;
}

static int tag_differs(const uint8_t *x, const uint8_t *y)
{
	uint8_t d = 0;

	for (unsigned i = 0; i < RUMOR_AUTH_TAG_LEN; i++)
		d |= x[i] ^ y[i];
	return d != 0;
}

/* The IV: domain byte (body 'B' / hop 'H'), key id, a node id, a 64-bit counter. Distinct
 * domains keep a body nonce from ever meeting a hop nonce under one key. */
static void mk_iv(uint8_t iv[12], uint8_t dom, uint8_t key_id, const uint8_t node_be[2],
		  uint64_t ctr)
{
	iv[0] = dom;
	iv[1] = key_id;
	iv[2] = node_be[0];
	iv[3] = node_be[1];
	rumor_be_st64(iv + 4, ctr);
}

/* The body tag's first 32 bytes of AAD: cluster (8..12), origin (12..14), then first_seq and
 * the counts (16..28): everything but type, flags, rounds and sender, which relays patch. */
static inline void body_pre(uint8_t pre[32], const uint8_t *hdr)
{
	memset(pre, 0, 32);
	memcpy(pre, hdr + 8, 6);
	memcpy(pre + 6, hdr + 16, 12);
}

static inline bool body_fast(const struct rumor_auth *a, size_t body_len)
{
	return a->fast && 2 + (body_len + 15) / 16 <= FAST_MAX_BLOCKS;
}

static int body_tag(const struct rumor_auth *a, uint8_t key_id, uint64_t nonce,
		    const uint8_t *hdr, const uint8_t *body, size_t body_len, uint8_t *tag)
{
	const struct auth_key *k = a->key[key_id];
	struct gcm_context_data ctx;
	uint8_t iv[12], buf[32 + 256] __attribute__((aligned(64))), *pre = buf;

	if (key_id == 0 || k == NULL)
		return RUMOR_AUTH_NO_KEY;
	body_pre(pre, hdr);
	mk_iv(iv, 'B', key_id, hdr + 12, nonce);
	if (body_fast(a, body_len)) {
		/* no copy: the kernel sums the two pieces */
		fast_gmac(k, iv, pre, 32, body, body_len, tag);
		return 0;
	}
	if (body_len <= sizeof(buf) - 32) {
		/* small bodies: one call over a copy beats init/update/finalize (bench_auth) */
		if (body_len)
			memcpy(buf + 32, body, body_len);
		IMB_AES256_GCM_ENC(a->mgr, &k->kd, &ctx, NULL, NULL, 0, iv, buf, 32 + body_len,
				   tag, RUMOR_AUTH_TAG_LEN);
		return 0;
	}
	IMB_AES256_GMAC_INIT(a->mgr, &k->kd, &ctx, iv, 12);
	IMB_AES256_GMAC_UPDATE(a->mgr, &k->kd, &ctx, pre, 32);
	if (body_len)
		IMB_AES256_GMAC_UPDATE(a->mgr, &k->kd, &ctx, body, body_len);
	IMB_AES256_GMAC_FINALIZE(a->mgr, &k->kd, &ctx, tag, RUMOR_AUTH_TAG_LEN);
	return 0;
}

int rumor_auth_body_tag(const struct rumor_auth *a, uint8_t key_id, uint64_t nonce,
			const uint8_t *hdr, const uint8_t *body, size_t body_len,
			uint8_t tag[RUMOR_AUTH_TAG_LEN])
{
	return body_tag(a, key_id, nonce, hdr, body, body_len, tag);
}

int rumor_auth_body_verify(const struct rumor_auth *a, uint8_t key_id, uint64_t nonce,
			   const uint8_t *hdr, const uint8_t *body, size_t body_len,
			   const uint8_t tag[RUMOR_AUTH_TAG_LEN])
{
	uint8_t t[RUMOR_AUTH_TAG_LEN];
	int rc = body_tag(a, key_id, nonce, hdr, body, body_len, t);

	if (rc != 0)
		return rc;
	return tag_differs(t, tag) ? RUMOR_AUTH_BAD_BODY : RUMOR_AUTH_OK;
}

/* Confidentiality: AES-256-GCM of the body. IV domain 'E' (never 'B': a nonce's GMAC body tag
 * and its GCM tag must not share a key stream block), AAD the 32 bytes body_pre makes. */
int rumor_auth_body_seal_enc(const struct rumor_auth *a, uint8_t key_id, uint64_t nonce,
			     const uint8_t *hdr, const uint8_t *body, uint8_t *out, size_t len,
			     uint8_t tag[RUMOR_AUTH_TAG_LEN])
{
	const struct auth_key *k = a->key[key_id];
	struct gcm_context_data ctx;
	uint8_t iv[12], pre[32];

	if (key_id == 0 || k == NULL)
		return RUMOR_AUTH_NO_KEY;
	body_pre(pre, hdr);
	mk_iv(iv, 'E', key_id, hdr + 12, nonce);
	IMB_AES256_GCM_ENC(a->mgr, &k->kd, &ctx, out, body, len, iv, pre, 32, tag,
			   RUMOR_AUTH_TAG_LEN);
	return 0;
}

int rumor_auth_body_open(const struct rumor_auth *a, uint8_t key_id, uint64_t nonce,
			 const uint8_t *hdr, const uint8_t *ct, uint8_t *out, size_t len,
			 const uint8_t tag[RUMOR_AUTH_TAG_LEN])
{
	const struct auth_key *k = a->key[key_id];
	struct gcm_context_data ctx;
	uint8_t iv[12], pre[32], t[RUMOR_AUTH_TAG_LEN];

	if (key_id == 0 || k == NULL)
		return RUMOR_AUTH_NO_KEY;
	body_pre(pre, hdr);
	mk_iv(iv, 'E', key_id, hdr + 12, nonce);
	IMB_AES256_GCM_DEC(a->mgr, &k->kd, &ctx, out, ct, len, iv, pre, 32, t,
			   RUMOR_AUTH_TAG_LEN);
	if (tag_differs(t, tag)) {
		/* nothing of a forged body may be read: the caller sees zeros, and an error */
		explicit_bzero(out, len);
		return RUMOR_AUTH_BAD_BODY;
	}
	return RUMOR_AUTH_OK;
}

static int hop_tag(const struct rumor_auth *a, const uint8_t *rumor, uint8_t *tag)
{
	const uint8_t *ah = rumor + RUMOR_WIRE_HDR_LEN;
	uint8_t key_id = ah[RUMOR_WIRE_AUTH_KEY];
	uint8_t iv[12];

	if (key_id == 0 || a->key[key_id] == NULL)
		return RUMOR_AUTH_NO_KEY;
	mk_iv(iv, 'H', key_id, rumor + 14, rumor_be_ld64(ah + RUMOR_WIRE_AUTH_CTR));
	return rumor_auth_gmac(a, key_id, iv, rumor, RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_SEALED,
			       tag);
}

int rumor_auth_hop_seal(const struct rumor_auth *a, uint8_t *rumor)
{
	return hop_tag(a, rumor, rumor + RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_HOPTAG);
}

int rumor_auth_hop_verify(const struct rumor_auth *a, const uint8_t *rumor)
{
	uint8_t t[RUMOR_AUTH_TAG_LEN];
	int rc = hop_tag(a, rumor, t);

	if (rc != 0)
		return rc;
	return tag_differs(t, rumor + RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_HOPTAG)
		       ? RUMOR_AUTH_BAD_TAG
		       : RUMOR_AUTH_OK;
}

/* ---------------------------------------------------------------- relay fast path */

static FAST inline __m128i j0_reg(uint8_t dom, uint8_t key_id, const uint8_t *node_be,
				  const uint8_t *ctr_be);
static FAST inline void aes_enc8(const struct auth_key *const *k, __m128i *b);
static FAST inline void aes_enc_1key(const struct auth_key *k, __m128i *b, unsigned n);

static FAST inline int fast_differs(__m128i t, const uint8_t *want)
{
	__m128i d = _mm_xor_si128(t, _mm_loadu_si128((const __m128i *)want));

	return !_mm_testz_si128(d, d);
}

static FAST int fast_hop_check(const struct auth_key *k, const uint8_t *rumor,
			       struct rumor_auth_rx *rx)
{
	const uint8_t *ah = rumor + RUMOR_WIRE_HDR_LEN;
	uint8_t key_id = ah[RUMOR_WIRE_AUTH_KEY];
	__m128i jh = j0_reg('H', key_id, rumor + 14, ah + RUMOR_WIRE_AUTH_CTR);
	__m128i jb = j0_reg('B', key_id, rumor + 12, ah + RUMOR_WIRE_AUTH_NONCE);
	__m128i x = ghash_hop(k, rumor);

	/* the body tag's E_K(J0) rides along: two blocks cost one block's latency */
	aes_enc2(k, &jh, &jb);
	_mm_storeu_si128((__m128i *)rx->ks, jb);
	rx->key = key_id;
	return fast_differs(tag_of(x, jh), ah + RUMOR_WIRE_AUTH_HOPTAG) ? RUMOR_AUTH_BAD_TAG
									 : RUMOR_AUTH_OK;
}

int rumor_auth_hop_check(const struct rumor_auth *a, const uint8_t *rumor,
			 struct rumor_auth_rx *rx)
{
	uint8_t key_id = rumor[RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_KEY];

	rx->key = 0;
	if (key_id == 0 || a->key[key_id] == NULL)
		return RUMOR_AUTH_NO_KEY;
	if (!a->fast) {
		int rc = rumor_auth_hop_verify(a, rumor);

		if (rc == 0)
			rx->key = key_id;
		return rc;
	}
	return fast_hop_check(a->key[key_id], rumor, rx);
}

/* The body tag's GHASH, its 32 bytes of header fields built in registers (body_pre). */
static FAST __m128i ghash_body(const struct auth_key *k, const uint8_t *hdr, const uint8_t *body,
			       size_t blen)
{
	unsigned n = (unsigned)(2 + (blen + 15) / 16);
	__m128i x = _mm_loadu_si128((const __m128i *)(hdr + 8));   /* hdr[8..24) */
	__m128i y = _mm_loadu_si128((const __m128i *)(hdr + 12));  /* hdr[12..28) */
	__m128i keep6 = _mm_set_epi64x(0, 0xffffffffffffll);
	/* pre = hdr[8..14) || hdr[16..28) || 0^14 */
	__m128i p0 = _mm_or_si128(_mm_and_si128(x, keep6),
				  _mm_andnot_si128(keep6, _mm_slli_si128(y, 2)));
	__m128i p1 = _mm_srli_si128(y, 14);
	/* the two header blocks (H^(n+1), H^n) and the length block (H) share one 4-lane
	 * product; lane 3 is zero (hpow[16] is a zero entry) */
	__m512i d = _mm512_inserti64x4(
		_mm512_castsi256_si512(_mm256_set_m128i(bswap128(p1), bswap128(p0))),
		_mm256_set_m128i(_mm_setzero_si128(),
				 _mm_set_epi64x((long long)((32 + blen) * 8), 0)), 1);
	__m512i h = _mm512_inserti64x4(
		_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(k->hpow + 15 - n))),
		_mm256_loadu_si256((const __m256i *)(k->hpow + 15)), 1);
	__m512i hk = _mm512_inserti64x4(
		_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(k->hkpow + 15 - n))),
		_mm256_loadu_si256((const __m256i *)(k->hkpow + 15)), 1);
	struct gh_acc g = { _mm512_setzero_si512(), _mm512_setzero_si512(),
			    _mm512_setzero_si512() };

	gh_mul_acc(&g, d, h, hk);
	if (blen)
		gh_add(k, &g, body, blen, 2, n + 1);
	return gh_final(g.lo, _mm512_ternarylogic_epi64(g.km, g.lo, g.hi, 0x96), g.hi);
}

static FAST int fast_body_check(const struct auth_key *k, const struct rumor_auth_rx *rx,
				const uint8_t *hdr, const uint8_t *body, size_t body_len,
				const uint8_t *tag)
{
	return fast_differs(tag_of(ghash_body(k, hdr, body, body_len),
				   _mm_loadu_si128((const __m128i *)rx->ks)),
			    tag)
		       ? RUMOR_AUTH_BAD_BODY
		       : RUMOR_AUTH_OK;
}

/* Long bodies and the portable path, out of line: the relay's fast path then needs no stack
 * frame of its own (no tag buffer, no realignment for the library's key data). */
static __attribute__((noinline)) int body_check_slow(const struct rumor_auth *a, uint8_t key_id,
						     const uint8_t *rumor, const uint8_t *body,
						     size_t body_len)
{
	const uint8_t *ah = rumor + RUMOR_WIRE_HDR_LEN;

	return rumor_auth_body_verify(a, key_id, rumor_be_ld64(ah + RUMOR_WIRE_AUTH_NONCE), rumor,
				      body, body_len, ah + RUMOR_WIRE_AUTH_BODYTAG);
}

int rumor_auth_body_check(const struct rumor_auth *a, const struct rumor_auth_rx *rx,
			  const uint8_t *rumor, const uint8_t *body, size_t body_len)
{
	const uint8_t *ah = rumor + RUMOR_WIRE_HDR_LEN;

	/* only after a passed hop check of this very frame (its key id, its nonce) */
	if (rx->key == 0 || rx->key != ah[RUMOR_WIRE_AUTH_KEY] || a->key[rx->key] == NULL)
		return RUMOR_AUTH_NO_KEY;
	if (!body_fast(a, body_len))
		return body_check_slow(a, rx->key, rumor, body, body_len);
	return fast_body_check(a->key[rx->key], rx, rumor, body, body_len,
			       ah + RUMOR_WIRE_AUTH_BODYTAG);
}

/* @nz (a constant where it is inlined) registers of 4 J0 blocks each, counters ctr0 ..
 * ctr0 + 4 * nz - 1, made and encrypted in registers: writing the blocks to memory one by
 * one and loading them 4 at a time stalls on store forwarding, and nz independent chains
 * hide the AES rounds' latency that 2 chains (8 pads) leave exposed. */
static FAST __attribute__((always_inline)) inline void fast_pads_n(const struct auth_key *k,
								   struct rumor_auth_pads *p,
								   const unsigned nz)
{
	/* J0 = 'H' key node_be ctr_be 0 0 0 1: the low quadword 'H' | key << 8 | node_be << 16 |
	 * the counter's first 4 bytes << 32, the high one its last 4 bytes | 1 << 56 */
	const uint64_t base = (uint64_t)'H' | (uint64_t)p->key << 8 |
			      (uint64_t)__builtin_bswap16(p->node) << 16;
	const __m512i bswap64 = _mm512_broadcast_i32x4(_mm_set_epi8(8, 9, 10, 11, 12, 13, 14, 15,
								    0, 1, 2, 3, 4, 5, 6, 7));
	const __m512i lo_of = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0);
	const __m512i hi_of = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
	__m512i x[8];

	for (unsigned g = 0; g < nz; g += 2) {
		__m512i c = _mm512_add_epi64(_mm512_set1_epi64((long long)(p->ctr0 + 4 * g)),
					     _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
		__m512i cb = _mm512_shuffle_epi8(c, bswap64);
		__m512i lo = _mm512_or_si512(_mm512_slli_epi64(cb, 32),
					     _mm512_set1_epi64((long long)base));
		__m512i hi = _mm512_or_si512(_mm512_srli_epi64(cb, 32),
					     _mm512_set1_epi64((long long)(1ull << 56)));

		x[g] = _mm512_permutex2var_epi64(lo, lo_of, hi);
		x[g + 1] = _mm512_permutex2var_epi64(lo, hi_of, hi);
	}
	{
		__m512i kr = _mm512_broadcast_i32x4(k->rk[0]);

		for (unsigned z = 0; z < nz; z++)
			x[z] = _mm512_xor_si512(x[z], kr);
	}
#pragma GCC unroll 13
	for (unsigned r = 1; r < 14; r++) {
		__m512i kr = _mm512_broadcast_i32x4(k->rk[r]);

		for (unsigned z = 0; z < nz; z++)
			x[z] = _mm512_aesenc_epi128(x[z], kr);
	}
	{
		__m512i kr = _mm512_broadcast_i32x4(k->rk[14]);

		for (unsigned z = 0; z < nz; z++)
			_mm512_storeu_si512((void *)p->ks[4 * z], _mm512_aesenclast_epi128(x[z], kr));
	}
}

static FAST void fast_pads(const struct auth_key *k, struct rumor_auth_pads *p)
{
	switch (p->n) {
	case 8: fast_pads_n(k, p, 2); break;
	case 16: fast_pads_n(k, p, 4); break;
	case 24: fast_pads_n(k, p, 6); break;
	default: fast_pads_n(k, p, 8); break;
	}
}

int rumor_auth_pads_fill(const struct rumor_auth *a, struct rumor_auth_pads *p, uint8_t key_id,
			 uint16_t node, uint64_t ctr0)
{
	return rumor_auth_pads_fill_n(a, p, key_id, node, ctr0, RUMOR_AUTH_PADS);
}

int rumor_auth_pads_fill_n(const struct rumor_auth *a, struct rumor_auth_pads *p, uint8_t key_id,
			   uint16_t node, uint64_t ctr0, unsigned count)
{
	p->n = p->next = 0; /* nothing usable until filled */
	if (key_id == 0 || a->key[key_id] == NULL)
		return RUMOR_AUTH_NO_KEY;
	p->key = key_id;
	p->node = node;
	p->ctr0 = ctr0;
	p->n = (uint8_t)rumor_auth_pads_count(count);
	if (a->fast)
		fast_pads(a->key[key_id], p);
	p->next = 0;
	return 0;
}

static FAST void fast_seal_pad(const struct auth_key *k, uint8_t *rumor, const uint8_t *ks)
{
	_mm_storeu_si128((__m128i *)(rumor + RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_HOPTAG),
			 tag_of(ghash_hop(k, rumor), _mm_loadu_si128((const __m128i *)ks)));
}

int rumor_auth_hop_seal_pad(const struct rumor_auth *a, uint8_t *rumor, struct rumor_auth_pads *p)
{
	uint8_t *ah = rumor + RUMOR_WIRE_HDR_LEN;
	unsigned i = p->next;

	/* a pad belongs to one (key, sender, counter): anything else would reuse a nonce */
	if (i >= p->n || ah[RUMOR_WIRE_AUTH_KEY] != p->key ||
	    rumor_be_ld16(rumor + 14) != p->node || a->key[p->key] == NULL)
		return -EINVAL;
	p->next = (uint8_t)(i + 1);
	rumor_be_st64(ah + RUMOR_WIRE_AUTH_CTR, p->ctr0 + i);
	if (!a->fast)
		return rumor_auth_hop_seal(a, rumor);
	fast_seal_pad(a->key[p->key], rumor, p->ks[i]);
	explicit_bzero(p->ks[i], 16);
	return 0;
}


/* J0 from registers (the IV's pieces as loaded): building it in memory with byte stores and
 * loading it back stalls on store forwarding. */
static FAST inline __m128i j0_reg(uint8_t dom, uint8_t key_id, const uint8_t *node_be,
				  const uint8_t *ctr_be)
{
	uint16_t node;
	uint64_t ctr;

	memcpy(&node, node_be, 2);
	memcpy(&ctr, ctr_be, 8);
	return _mm_set_epi64x((long long)(ctr >> 32 | 1ull << 56),
			      (long long)((uint64_t)dom | (uint64_t)key_id << 8 |
					  (uint64_t)node << 16 | ctr << 32));
}

/* E_K of 8 blocks, block i under key @k[i]: 8 independent chains so the AES units never wait
 * on a round's latency; fixed count so they stay in registers. */
static FAST inline void aes_enc8(const struct auth_key *const *k, __m128i *b)
{
	__m128i x0 = _mm_xor_si128(b[0], k[0]->rk[0]), x1 = _mm_xor_si128(b[1], k[1]->rk[0]);
	__m128i x2 = _mm_xor_si128(b[2], k[2]->rk[0]), x3 = _mm_xor_si128(b[3], k[3]->rk[0]);
	__m128i x4 = _mm_xor_si128(b[4], k[4]->rk[0]), x5 = _mm_xor_si128(b[5], k[5]->rk[0]);
	__m128i x6 = _mm_xor_si128(b[6], k[6]->rk[0]), x7 = _mm_xor_si128(b[7], k[7]->rk[0]);

#pragma GCC unroll 13
	for (unsigned r = 1; r < 14; r++) {
		x0 = _mm_aesenc_si128(x0, k[0]->rk[r]);
		x1 = _mm_aesenc_si128(x1, k[1]->rk[r]);
		x2 = _mm_aesenc_si128(x2, k[2]->rk[r]);
		x3 = _mm_aesenc_si128(x3, k[3]->rk[r]);
		x4 = _mm_aesenc_si128(x4, k[4]->rk[r]);
		x5 = _mm_aesenc_si128(x5, k[5]->rk[r]);
		x6 = _mm_aesenc_si128(x6, k[6]->rk[r]);
		x7 = _mm_aesenc_si128(x7, k[7]->rk[r]);
	}
	b[0] = _mm_aesenclast_si128(x0, k[0]->rk[14]);
	b[1] = _mm_aesenclast_si128(x1, k[1]->rk[14]);
	b[2] = _mm_aesenclast_si128(x2, k[2]->rk[14]);
	b[3] = _mm_aesenclast_si128(x3, k[3]->rk[14]);
	b[4] = _mm_aesenclast_si128(x4, k[4]->rk[14]);
	b[5] = _mm_aesenclast_si128(x5, k[5]->rk[14]);
	b[6] = _mm_aesenclast_si128(x6, k[6]->rk[14]);
	b[7] = _mm_aesenclast_si128(x7, k[7]->rk[14]);
}

/* E_K of @n blocks (a multiple of 8) under one key, 4 per VAES instruction: the usual case
 * (one key in use), where aes_enc8's per-lane round keys would be 8 loads a round. Up to 16
 * blocks in flight so the rounds' latency overlaps. */
static FAST inline void aes_enc_1key(const struct auth_key *k, __m128i *b, unsigned n)
{
	unsigned g = 0;

	for (; g + 16 <= n; g += 16) {
		__m512i k0 = _mm512_broadcast_i32x4(k->rk[0]);
		__m512i x0 = _mm512_xor_si512(_mm512_loadu_si512((const void *)(b + g)), k0);
		__m512i x1 = _mm512_xor_si512(_mm512_loadu_si512((const void *)(b + g + 4)), k0);
		__m512i x2 = _mm512_xor_si512(_mm512_loadu_si512((const void *)(b + g + 8)), k0);
		__m512i x3 = _mm512_xor_si512(_mm512_loadu_si512((const void *)(b + g + 12)), k0);

#pragma GCC unroll 13
		for (unsigned r = 1; r < 14; r++) {
			__m512i kr = _mm512_broadcast_i32x4(k->rk[r]);

			x0 = _mm512_aesenc_epi128(x0, kr);
			x1 = _mm512_aesenc_epi128(x1, kr);
			x2 = _mm512_aesenc_epi128(x2, kr);
			x3 = _mm512_aesenc_epi128(x3, kr);
		}
		k0 = _mm512_broadcast_i32x4(k->rk[14]);
		_mm512_storeu_si512((void *)(b + g), _mm512_aesenclast_epi128(x0, k0));
		_mm512_storeu_si512((void *)(b + g + 4), _mm512_aesenclast_epi128(x1, k0));
		_mm512_storeu_si512((void *)(b + g + 8), _mm512_aesenclast_epi128(x2, k0));
		_mm512_storeu_si512((void *)(b + g + 12), _mm512_aesenclast_epi128(x3, k0));
	}
	if (g < n) { /* 8 left */
		__m512i k0 = _mm512_broadcast_i32x4(k->rk[0]);
		__m512i x0 = _mm512_xor_si512(_mm512_loadu_si512((const void *)(b + g)), k0);
		__m512i x1 = _mm512_xor_si512(_mm512_loadu_si512((const void *)(b + g + 4)), k0);

#pragma GCC unroll 13
		for (unsigned r = 1; r < 14; r++) {
			__m512i kr = _mm512_broadcast_i32x4(k->rk[r]);

			x0 = _mm512_aesenc_epi128(x0, kr);
			x1 = _mm512_aesenc_epi128(x1, kr);
		}
		k0 = _mm512_broadcast_i32x4(k->rk[14]);
		_mm512_storeu_si512((void *)(b + g), _mm512_aesenclast_epi128(x0, k0));
		_mm512_storeu_si512((void *)(b + g + 4), _mm512_aesenclast_epi128(x1, k0));
	}
}

static FAST void fast_hop_check_burst(const struct rumor_auth *a, const uint8_t *const *rumor,
				      unsigned n, struct rumor_auth_rx *rx, int *rc)
{
	/* Both J0 blocks (hop: 'H', key id, sender, counter; body: 'B', key id, origin, nonce;
	 * then 0 0 0 1) are bytes of the 64 the hop tag covers: one byte permute of the loaded
	 * header makes them (instead of a dozen scalar steps each), and the same load feeds
	 * the hop GHASH, which runs while the next frames' blocks are built. */
	static const uint8_t jsrc[64] __attribute__((aligned(64))) = {
		0, 28, 14, 15, 32, 33, 34, 35, 36, 37, 38, 39, 0, 0, 0, 0,
		0, 28, 12, 13, 40, 41, 42, 43, 44, 45, 46, 47, 0, 0, 0, 0,
	};
	const __mmask64 jdata = 0xffeull | 0xffeull << 16;
	const __m512i jidx = _mm512_load_si512((const void *)jsrc);
	const __m512i jconst = _mm512_set_epi64(0, 0, 0, 0, 1ll << 56, 'B', 1ll << 56, 'H');
	const struct auth_key *kk[2 * RUMOR_AUTH_BURST + 8];
	__m128i b[2 * RUMOR_AUTH_BURST + 8], x[RUMOR_AUTH_BURST];
	__m512i raw4[4];
	unsigned idx[RUMOR_AUTH_BURST], m = 0;
	bool one_key = true;

	for (unsigned i = 0; i < n; i++) {
		const uint8_t *r = rumor[i];
		uint8_t key_id;
		__m512i raw;

		rx[i].key = 0;
		rc[i] = RUMOR_AUTH_NO_KEY;
		if (r == NULL)
			continue;
		key_id = r[RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_KEY];
		if (key_id == 0 || a->key[key_id] == NULL)
			continue;
		kk[2 * m] = kk[2 * m + 1] = a->key[key_id];
		one_key &= kk[2 * m] == kk[0];
		raw = _mm512_loadu_si512((const void *)r);
		_mm256_storeu_si256((__m256i *)(b + 2 * m),
				    _mm512_castsi512_si256(_mm512_or_si512(
					    _mm512_maskz_permutexvar_epi8(jdata, jidx, raw), jconst)));
		/* the hop GHASH 4 frames at a time (one key among them), else one by one */
		raw4[m % 4] = raw;
		if (m % 4 == 3 && kk[2 * m] == kk[2 * m - 2] && kk[2 * m] == kk[2 * m - 4] &&
		    kk[2 * m] == kk[2 * m - 6]) {
			__m512i g = ghash_hop4(kk[2 * m], raw4);

			x[m - 3] = lane_of(g, 0);
			x[m - 2] = lane_of(g, 1);
			x[m - 1] = lane_of(g, 2);
			x[m] = lane_of(g, 3);
		} else if (m % 4 == 3) {
			for (unsigned f = 0; f < 4; f++)
				x[m - 3 + f] = ghash_hop_reg(kk[2 * (m - 3 + f)], raw4[f]);
		}
		idx[m++] = i;
	}
	for (unsigned f = m & ~3u; f < m; f++) /* the last 1..3 */
		x[f] = ghash_hop_reg(kk[2 * f], raw4[f % 4]);
	if (m == 0)
		return;
	/* whole groups of 8: the tail runs on copies of the first key and block */
	for (unsigned j = 2 * m; j % 8; j++) {
		kk[j] = kk[0];
		b[j] = b[0];
	}
	if (one_key) {
		aes_enc_1key(kk[0], b, (2 * m + 7) & ~7u);
	} else {
		for (unsigned g = 0; g < 2 * m; g += 8)
			aes_enc8(kk + g, b + g);
	}
	for (unsigned j = 0; j < m; j++) {
		unsigned i = idx[j];
		const uint8_t *r = rumor[i];

		_mm_storeu_si128((__m128i *)rx[i].ks, b[2 * j + 1]);
		rc[i] = fast_differs(tag_of(x[j], b[2 * j]),
				     r + RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_HOPTAG)
				? RUMOR_AUTH_BAD_TAG
				: RUMOR_AUTH_OK;
		if (rc[i] == RUMOR_AUTH_OK)
			rx[i].key = r[RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_KEY];
	}
}

void rumor_auth_hop_check_burst(const struct rumor_auth *a, const uint8_t *const *rumor,
				unsigned n, struct rumor_auth_rx *rx, int *rc)
{
	for (unsigned o = 0; o < n; o += RUMOR_AUTH_BURST) {
		unsigned m = n - o < RUMOR_AUTH_BURST ? n - o : RUMOR_AUTH_BURST;

		if (a->fast) {
			fast_hop_check_burst(a, rumor + o, m, rx + o, rc + o);
			continue;
		}
		for (unsigned i = o; i < o + m; i++) {
			rx[i].key = 0;
			rc[i] = rumor[i] != NULL ? rumor_auth_hop_check(a, rumor[i], &rx[i])
						 : RUMOR_AUTH_NO_KEY;
		}
	}
}

static FAST unsigned fast_seal_pads(const struct auth_key *k, uint8_t *const *rumor, unsigned n,
				    struct rumor_auth_pads *p)
{
	const __mmask8 at = 1u << ((RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_CTR) / 8);
	unsigned i = 0;

	/* 4 frames at a time while they match the pads (ghash_hop4); the rest one by one */
	while (i + 4 <= n && p->next + 4 <= p->n) {
		__m512i raw[4], g;
		bool ok = true;

		for (unsigned f = 0; f < 4; f++) {
			const uint8_t *r = rumor[i + f];

			ok &= r[RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_KEY] == p->key &&
			      rumor_be_ld16(r + 14) == p->node;
		}
		if (!ok)
			break;
		for (unsigned f = 0; f < 4; f++)
			raw[f] = _mm512_mask_set1_epi64(
				_mm512_loadu_si512((const void *)rumor[i + f]), at,
				(long long)__builtin_bswap64(p->ctr0 + p->next + f));
		g = ghash_hop4(k, raw);
		for (unsigned f = 0; f < 4; f++) {
			uint8_t *ah = rumor[i + f] + RUMOR_WIRE_HDR_LEN;
			unsigned u = p->next + f;

			rumor_be_st64(ah + RUMOR_WIRE_AUTH_CTR, p->ctr0 + u);
			_mm_storeu_si128((__m128i *)(ah + RUMOR_WIRE_AUTH_HOPTAG),
					 tag_of(lane_of(g, f),
						_mm_loadu_si128((const __m128i *)p->ks[u])));
			_mm_storeu_si128((__m128i *)p->ks[u], _mm_setzero_si128());
		}
		p->next = (uint8_t)(p->next + 4);
		i += 4;
	}
	for (; i < n && p->next < p->n; i++) {
		uint8_t *r = rumor[i], *ah = r + RUMOR_WIRE_HDR_LEN;

		if (ah[RUMOR_WIRE_AUTH_KEY] != p->key || rumor_be_ld16(r + 14) != p->node)
			break;
		uint64_t c = p->ctr0 + p->next;
		/* the counter goes into the loaded bytes in a register: storing it and loading
		 * the 64 bytes back would stall on store forwarding */
		__m512i d = _mm512_mask_set1_epi64(_mm512_loadu_si512((const void *)r), at,
						   (long long)__builtin_bswap64(c));

		rumor_be_st64(ah + RUMOR_WIRE_AUTH_CTR, c);
		_mm_storeu_si128((__m128i *)(ah + RUMOR_WIRE_AUTH_HOPTAG),
				 tag_of(ghash_hop_reg(k, d),
					_mm_loadu_si128((const __m128i *)p->ks[p->next])));
		/* a used pad is wiped (a store through @p: not elided, and no libc call) */
		_mm_storeu_si128((__m128i *)p->ks[p->next], _mm_setzero_si128());
		p->next++;
	}
	return i;
}

unsigned rumor_auth_hop_seal_pads(const struct rumor_auth *a, uint8_t *const *rumor, unsigned n,
				  struct rumor_auth_pads *p)
{
	unsigned i = 0;

	if (p->next >= p->n || a->key[p->key] == NULL)
		return 0;
	if (a->fast)
		return fast_seal_pads(a->key[p->key], rumor, n, p);
	while (i < n && rumor_auth_hop_seal_pad(a, rumor[i], p) == 0)
		i++;
	return i;
}

/* ---------------------------------------------------------------- anti-replay window */

void rumor_auth_window_init(struct rumor_auth_window *w, uint64_t floor)
{
	memset(w, 0, sizeof(*w));
	w->floor = floor;
}

int rumor_auth_window_check(const struct rumor_auth_window *w, uint64_t ctr)
{
	/* 0 is never sent; 2^64-1 would leave nothing above it: a sender there must stop, and
	 * a frame claiming it is refused rather than jamming the window at the top */
	if (ctr == 0 || ctr == UINT64_MAX)
		return RUMOR_AUTH_REPLAY;
	if (ctr < w->floor)
		return RUMOR_AUTH_OLD_EPOCH;
	if (ctr > w->top)
		return RUMOR_AUTH_OK;
	if (w->top - ctr >= RUMOR_AUTH_WINDOW)
		return RUMOR_AUTH_REPLAY;
	if (w->bits[(ctr >> 6) % RUMOR_AUTH_WIN_WORDS] >> (ctr & 63) & 1)
		return RUMOR_AUTH_REPLAY;
	return RUMOR_AUTH_OK;
}

void rumor_auth_window_accept(struct rumor_auth_window *w, uint64_t ctr)
{
	if (ctr > w->top) {
		uint64_t cur = w->top >> 6, nw = ctr >> 6, steps = nw - cur;

		/* words the top passes are reused for the new counters: clear them (all of
		 * them at most once when it jumps further than the ring) */
		if (w->top == 0 || steps > RUMOR_AUTH_WIN_WORDS)
			steps = RUMOR_AUTH_WIN_WORDS;
		for (uint64_t i = 1; i <= steps; i++)
			w->bits[(cur + i) % RUMOR_AUTH_WIN_WORDS] = 0;
		w->top = ctr;
	}
	w->bits[(ctr >> 6) % RUMOR_AUTH_WIN_WORDS] |= 1ull << (ctr & 63);
}
