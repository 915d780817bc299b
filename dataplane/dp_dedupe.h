/* Bounded per-frame dedupe table keyed (origin, first_seq), behind per-origin "ordered
 * through" watermarks. Pure C (xxHash only): no DPDK, no time, no randomness. */
#ifndef DP_DEDUPE_H
#define DP_DEDUPE_H

#include <stdint.h>

#define DP_DEDUPE_WAYS 8
#define DP_DEDUPE_NO_SLOT UINT32_MAX   /* entry known, its frame no longer stored */

struct dp_dedupe_bucket {
	uint64_t key[DP_DEDUPE_WAYS];      /* 0 = empty; origin << 48 | first_seq */
	uint32_t val[DP_DEDUPE_WAYS];
};

struct dp_dedupe {
	struct dp_dedupe_bucket *b;
	uint32_t mask;                     /* buckets - 1 */
	uint64_t seed;
	uint64_t evictions;                /* live entries pushed out by a full bucket */
	const uint64_t *wm;                /* caller's watermarks, indexed by origin (1024) */
};

/* Allocate a table for about @entries entries (rounded up) using watermarks @wm (an array
 * of RUMOR_NODE_ID_MAX+1 counters the caller owns and raises). Returns 0, -EINVAL, -ENOMEM. */
int dp_dedupe_init(struct dp_dedupe *d, uint32_t entries, uint64_t seed, const uint64_t *wm);
void dp_dedupe_fini(struct dp_dedupe *d);

/* 1 when (origin, seq) is at or below its origin's watermark (a late duplicate forever). */
static inline int dp_dedupe_late(const struct dp_dedupe *d, uint16_t origin, uint64_t seq)
{
	return seq <= d->wm[origin];
}

/* Hash of (origin, seq) for the _h variants below, so that one received frame hashes once
 * for its lookup and its insert. */
uint64_t dp_dedupe_hash(const struct dp_dedupe *d, uint16_t origin, uint64_t seq);
/* dp_dedupe_lookup / dp_dedupe_insert with @h = dp_dedupe_hash(d, origin, seq). */
int dp_dedupe_lookup_h(const struct dp_dedupe *d, uint16_t origin, uint64_t seq, uint64_t h,
		       uint32_t *val);
int dp_dedupe_insert_h(struct dp_dedupe *d, uint16_t origin, uint64_t seq, uint64_t h,
		       uint32_t val);

/* Prefetch the bucket of (origin, seq): lets a burst hide the table's cache misses. */
void dp_dedupe_prefetch(const struct dp_dedupe *d, uint16_t origin, uint64_t seq);

/* Look up a frame. Returns 1 and its value in *@val when known, 0 when not.
 * Entries at or below the watermark count as absent (callers check dp_dedupe_late first). */
int dp_dedupe_lookup(const struct dp_dedupe *d, uint16_t origin, uint64_t seq, uint32_t *val);

/* Insert or update (origin, seq) -> @val. A full bucket first reuses entries below their
 * watermark, then entries without a stored frame, then the lowest seq (counted in
 * evictions). Returns 0, or -EINVAL (origin 0 or seq >= 2^48). */
int dp_dedupe_insert(struct dp_dedupe *d, uint16_t origin, uint64_t seq, uint32_t val);

/* Set the value of a known entry. Returns 0 or -ENOENT. */
int dp_dedupe_set(struct dp_dedupe *d, uint16_t origin, uint64_t seq, uint32_t val);

#endif
