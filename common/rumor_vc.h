/* Vector clocks: sparse (node id, counter) entries sorted by node id, bounded size.
 * A missing entry means counter 0. Pure C, no allocation: a clock is a plain value. */
#ifndef RUMOR_VC_H
#define RUMOR_VC_H

#include <stddef.h>
#include <stdint.h>

/* Node ids are 1..RUMOR_NODE_ID_MAX; 0 is "no node". */
#define RUMOR_NODE_ID_MAX 1023u
/* Most entries a clock may hold (the node itself plus everything it has merged). */
#define RUMOR_VC_MAX_ENTRIES 256u
/* Bytes one entry takes on the wire: u16 node + u64 counter, big-endian. */
#define RUMOR_VC_WIRE_ENTRY 10u

struct rumor_vc {
	uint16_t n;                             /* entries in use */
	uint16_t node[RUMOR_VC_MAX_ENTRIES];    /* strictly increasing, all >= 1 */
	uint64_t ctr[RUMOR_VC_MAX_ENTRIES];     /* all > 0: zero entries are never stored */
};

enum rumor_vc_order {
	RUMOR_VC_EQUAL = 0,
	RUMOR_VC_BEFORE,      /* a happened before b: a <= b entrywise, a != b */
	RUMOR_VC_AFTER,       /* b happened before a */
	RUMOR_VC_CONCURRENT,
};

/* Empty clock (all counters zero). */
void rumor_vc_init(struct rumor_vc *vc);

/* Counter of @node, 0 if absent. */
uint64_t rumor_vc_get(const struct rumor_vc *vc, uint16_t node);

/* Set @node's counter to @ctr (0 removes the entry).
 * Returns 0, -EINVAL for node 0 or > RUMOR_NODE_ID_MAX, -ENOSPC when the clock is full. */
int rumor_vc_set(struct rumor_vc *vc, uint16_t node, uint64_t ctr);

/* Increment @node's counter; the new value goes to *@out when @out is not NULL.
 * Returns 0, -EINVAL, -ENOSPC (as rumor_vc_set), -EOVERFLOW at UINT64_MAX. */
int rumor_vc_tick(struct rumor_vc *vc, uint16_t node, uint64_t *out);

/* dst = entrywise max(dst, src). On -ENOSPC (union larger than the bound) dst is unchanged.
 * Returns 0 or -ENOSPC. */
int rumor_vc_merge(struct rumor_vc *dst, const struct rumor_vc *src);

/* Happened-before relation between @a and @b. */
enum rumor_vc_order rumor_vc_compare(const struct rumor_vc *a, const struct rumor_vc *b);

/* 1 if a <= b entrywise (a happened before or equals b), else 0. */
int rumor_vc_leq(const struct rumor_vc *a, const struct rumor_vc *b);

/* Sum of all counters: a cheap monotone key (a -> b implies sum(a) < sum(b)). */
uint64_t rumor_vc_sum(const struct rumor_vc *vc);

/* Wire form: n entries of (u16 node, u64 counter) big-endian, nodes strictly increasing,
 * counters > 0. rumor_vc_wire_size() = n * RUMOR_VC_WIRE_ENTRY.
 * encode returns bytes written or -ENOBUFS when @cap is too small. */
size_t rumor_vc_wire_size(const struct rumor_vc *vc);
int rumor_vc_encode(const struct rumor_vc *vc, uint8_t *buf, size_t cap);

/* Decode @count entries from @buf (which holds at least @len bytes).
 * Returns bytes consumed or: -E2BIG count over RUMOR_VC_MAX_ENTRIES, -EMSGSIZE buffer shorter
 * than count entries, -EINVAL node 0 / over RUMOR_NODE_ID_MAX / zero counter,
 * -EILSEQ nodes not strictly increasing. */
int rumor_vc_decode(struct rumor_vc *vc, uint16_t count, const uint8_t *buf, size_t len);

/* Human form "{1:3, 2:7}" into @out (always NUL-terminated when @cap > 0).
 * Returns the length it needed (like snprintf). */
int rumor_vc_format(const struct rumor_vc *vc, char *out, size_t cap);

/* A dense clock indexed by node id, for a node's own running clock: merging a sparse
 * timestamp into it is O(entries of the timestamp). */
struct rumor_vc_dense {
	uint64_t ctr[RUMOR_NODE_ID_MAX + 1];
	uint16_t nonzero;        /* entries with ctr > 0 */
};

void rumor_vc_dense_init(struct rumor_vc_dense *d);
/* d = max(d, src). Returns 1 when any counter of d grew, else 0. */
int rumor_vc_dense_merge(struct rumor_vc_dense *d, const struct rumor_vc *src);
/* Sparse copy of @d. Returns 0 or -ENOSPC when d has more than RUMOR_VC_MAX_ENTRIES nonzero. */
int rumor_vc_dense_export(const struct rumor_vc_dense *d, struct rumor_vc *out);
/* Increment d[node]; new value in *out. Returns 0, -EINVAL or -EOVERFLOW. */
int rumor_vc_dense_tick(struct rumor_vc_dense *d, uint16_t node, uint64_t *out);

/* Dense-dense merge: d = max(d, src) over all RUMOR_NODE_ID_MAX + 1 counters, and
 * d->nonzero recomputed. Returns 1 when any counter of d grew, else 0. rumor_vc_dense_max
 * uses AVX-512 or AVX2 when the CPU has it (checked at run time), else the scalar loop;
 * the _scalar and _simd variants are exported for benchmarks and tests. */
int rumor_vc_dense_max(struct rumor_vc_dense *d, const struct rumor_vc_dense *src);
int rumor_vc_dense_max_scalar(struct rumor_vc_dense *d, const struct rumor_vc_dense *src);
int rumor_vc_dense_max_simd(struct rumor_vc_dense *d, const struct rumor_vc_dense *src);

/* Clocks over a fixed set of @n nodes as plain counter arrays (the same index is the same
 * node in both): d = max(d, s), returning 1 when any counter of d grew; and the order of
 * a and b. Scalar and SIMD (AVX-512 or AVX2, checked at run time) give the same results. */
int rumor_vc_ctr_max_scalar(uint64_t *d, const uint64_t *s, size_t n);
int rumor_vc_ctr_max_simd(uint64_t *d, const uint64_t *s, size_t n);
enum rumor_vc_order rumor_vc_ctr_compare_scalar(const uint64_t *a, const uint64_t *b, size_t n);
enum rumor_vc_order rumor_vc_ctr_compare_simd(const uint64_t *a, const uint64_t *b, size_t n);

#endif
