/* Bounded dedupe table: 8-way buckets hashed with XXH3, lazy purge by watermark. */
#include "dp_dedupe.h"

#include <errno.h>
#include <stdlib.h>
/* inline XXH3: the 8-byte key hash is a handful of instructions, a library call costs more */
#define XXH_INLINE_ALL
#include <xxhash.h>

#define SEQ_MASK ((1ull << 48) - 1)

static inline uint64_t mkkey(uint16_t origin, uint64_t seq)
{
	return (uint64_t)origin << 48 | (seq & SEQ_MASK);
}

static inline int key_dead(const struct dp_dedupe *d, uint64_t key)
{
	return key == 0 || (key & SEQ_MASK) <= d->wm[key >> 48];
}

static inline uint64_t key_hash(const struct dp_dedupe *d, uint64_t key)
{
	return XXH3_64bits_withSeed(&key, sizeof(key), d->seed);
}

static inline struct dp_dedupe_bucket *bucket(const struct dp_dedupe *d, uint64_t key)
{
	return &d->b[key_hash(d, key) & d->mask];
}

uint64_t dp_dedupe_hash(const struct dp_dedupe *d, uint16_t origin, uint64_t seq)
{
	return key_hash(d, mkkey(origin, seq));
}

int dp_dedupe_init(struct dp_dedupe *d, uint32_t entries, uint64_t seed, const uint64_t *wm)
{
	uint32_t nb = 1;

	if (entries == 0 || wm == NULL)
		return -EINVAL;
	while (nb * DP_DEDUPE_WAYS < entries && nb < (1u << 28))
		nb <<= 1;
	d->b = calloc(nb, sizeof(*d->b));
	if (d->b == NULL)
		return -ENOMEM;
	d->mask = nb - 1;
	d->seed = seed;
	d->evictions = 0;
	d->wm = wm;
	return 0;
}

void dp_dedupe_fini(struct dp_dedupe *d)
{
	free(d->b);
	d->b = NULL;
}

void dp_dedupe_prefetch(const struct dp_dedupe *d, uint16_t origin, uint64_t seq)
{
	const struct dp_dedupe_bucket *b = bucket(d, mkkey(origin, seq));

	__builtin_prefetch(b);
	__builtin_prefetch((const char *)b + 64);
}

int dp_dedupe_lookup(const struct dp_dedupe *d, uint16_t origin, uint64_t seq, uint32_t *val)
{
	return dp_dedupe_lookup_h(d, origin, seq, dp_dedupe_hash(d, origin, seq), val);
}

int dp_dedupe_lookup_h(const struct dp_dedupe *d, uint16_t origin, uint64_t seq, uint64_t h,
		       uint32_t *val)
{
	uint64_t key = mkkey(origin, seq);
	const struct dp_dedupe_bucket *b = &d->b[h & d->mask];

	if (dp_dedupe_late(d, origin, seq))
		return 0;
	for (unsigned i = 0; i < DP_DEDUPE_WAYS; i++) {
		if (b->key[i] == key) {
			if (val != NULL)
				*val = b->val[i];
			return 1;
		}
	}
	return 0;
}

int dp_dedupe_set(struct dp_dedupe *d, uint16_t origin, uint64_t seq, uint32_t val)
{
	uint64_t key = mkkey(origin, seq);
	struct dp_dedupe_bucket *b = bucket(d, key);

	for (unsigned i = 0; i < DP_DEDUPE_WAYS; i++) {
		if (b->key[i] == key) {
			b->val[i] = val;
			return 0;
		}
	}
	return -ENOENT;
}

int dp_dedupe_insert(struct dp_dedupe *d, uint16_t origin, uint64_t seq, uint32_t val)
{
	return dp_dedupe_insert_h(d, origin, seq, dp_dedupe_hash(d, origin, seq), val);
}

int dp_dedupe_insert_h(struct dp_dedupe *d, uint16_t origin, uint64_t seq, uint64_t h,
		       uint32_t val)
{
	uint64_t key;
	struct dp_dedupe_bucket *b;
	int dead = -1, noslot = -1, low = 0;

	if (origin == 0 || seq == 0 || seq > SEQ_MASK)
		return -EINVAL;
	key = mkkey(origin, seq);
	b = &d->b[h & d->mask];
	for (int i = 0; i < DP_DEDUPE_WAYS; i++) {
		if (b->key[i] == key) {
			b->val[i] = val;
			return 0;
		}
		if (dead < 0 && key_dead(d, b->key[i]))
			dead = i;
		else if (noslot < 0 && b->val[i] == DP_DEDUPE_NO_SLOT)
			noslot = i;
		if ((b->key[i] & SEQ_MASK) < (b->key[low] & SEQ_MASK))
			low = i;
	}
	if (dead < 0) {
		d->evictions++;
		dead = noslot >= 0 ? noslot : low;
	}
	b->key[dead] = key;
	b->val[dead] = val;
	return 0;
}
