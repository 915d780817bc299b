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

/* One load and one store per order and width: rumor_be_ld16/32/64, rumor_be_st16/32/64 and
 * rumor_le_ld16/32/64, rumor_le_st16/32/64.
 * Big-endian: gossip frames, clocks, view messages, every control TCP frame.
 * Little-endian: what is on disk (Raft log, snapshots, payload log, batches, KV and state
 * machine snapshots), the API's packed requests and ORIGINATE's packed events. */
#define RUMOR_BYTE_ORDER_FNS(order, bits, conv)                                              \
	static inline uint##bits##_t rumor_##order##_ld##bits(const uint8_t *p)            \
	{                                                                                    \
		uint##bits##_t v;                                                            \
		memcpy(&v, p, sizeof(v));                                                    \
		return conv(v);                                                              \
	}                                                                                    \
	static inline void rumor_##order##_st##bits(uint8_t *p, uint##bits##_t v)          \
	{                                                                                    \
		v = conv(v);                                                                 \
		memcpy(p, &v, sizeof(v));                                                    \
	}

RUMOR_BYTE_ORDER_FNS(be, 16, RUMOR_TO_BE16)
RUMOR_BYTE_ORDER_FNS(be, 32, RUMOR_TO_BE32)
RUMOR_BYTE_ORDER_FNS(be, 64, RUMOR_TO_BE64)
RUMOR_BYTE_ORDER_FNS(le, 16, RUMOR_TO_LE16)
RUMOR_BYTE_ORDER_FNS(le, 32, RUMOR_TO_LE32)
RUMOR_BYTE_ORDER_FNS(le, 64, RUMOR_TO_LE64)

#endif
