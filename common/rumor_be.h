/* The one byte-order header: big- and little-endian loads and stores at any alignment. Which
 * format uses which order: docs/ARCHITECTURE.md ("Wire and disk formats"). memcpy keeps them
 * legal on unaligned buffers; gcc folds each to one move (plus a bswap where needed). */
#ifndef RUMOR_BE_H
#define RUMOR_BE_H

#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define RUMOR_TO_BE16(v) (v)
#define RUMOR_TO_BE32(v) (v)
#define RUMOR_TO_BE64(v) (v)
#define RUMOR_TO_LE16(v) __builtin_bswap16(v)
#define RUMOR_TO_LE32(v) __builtin_bswap32(v)
#define RUMOR_TO_LE64(v) __builtin_bswap64(v)
#else
#define RUMOR_TO_BE16(v) __builtin_bswap16(v)
#define RUMOR_TO_BE32(v) __builtin_bswap32(v)
#define RUMOR_TO_BE64(v) __builtin_bswap64(v)
#define RUMOR_TO_LE16(v) (v)
#define RUMOR_TO_LE32(v) (v)
#define RUMOR_TO_LE64(v) (v)
#endif

/* Big-endian: gossip frames, clocks, view messages, every control TCP frame. */
static inline uint16_t rumor_be_ld16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return RUMOR_TO_BE16(v);
}

static inline uint32_t rumor_be_ld32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return RUMOR_TO_BE32(v);
}

static inline uint64_t rumor_be_ld64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return RUMOR_TO_BE64(v);
}

static inline void rumor_be_st16(uint8_t *p, uint16_t v)
{
	v = RUMOR_TO_BE16(v);
	memcpy(p, &v, sizeof(v));
}

static inline void rumor_be_st32(uint8_t *p, uint32_t v)
{
	v = RUMOR_TO_BE32(v);
	memcpy(p, &v, sizeof(v));
}

static inline void rumor_be_st64(uint8_t *p, uint64_t v)
{
	v = RUMOR_TO_BE64(v);
	memcpy(p, &v, sizeof(v));
}

/* Little-endian: what is on disk (Raft log, snapshots, payload log, batches, KV and state
 * machine snapshots), the API's packed requests and ORIGINATE's packed events. */
static inline uint16_t rumor_le_ld16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return RUMOR_TO_LE16(v);
}

static inline uint32_t rumor_le_ld32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return RUMOR_TO_LE32(v);
}

static inline uint64_t rumor_le_ld64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return RUMOR_TO_LE64(v);
}

static inline void rumor_le_st16(uint8_t *p, uint16_t v)
{
	v = RUMOR_TO_LE16(v);
	memcpy(p, &v, sizeof(v));
}

static inline void rumor_le_st32(uint8_t *p, uint32_t v)
{
	v = RUMOR_TO_LE32(v);
	memcpy(p, &v, sizeof(v));
}

static inline void rumor_le_st64(uint8_t *p, uint64_t v)
{
	v = RUMOR_TO_LE64(v);
	memcpy(p, &v, sizeof(v));
}

#endif
