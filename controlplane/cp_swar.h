/* cp_swar: JSON strings eight bytes at a time (SWAR), for the writer (cp_jsonl) and the send
 * request scanner (cp_sendscan): payloads and clocks are mostly ASCII that needs no escape,
 * and the byte loops were 7 % of rumor-cp at the maximum load. Pure. */
#ifndef CP_SWAR_H
#define CP_SWAR_H

#include <stdint.h>
#include <string.h>

#define CP_SWAR_ONES 0x0101010101010101ull
#define CP_SWAR_HIGH 0x8080808080808080ull

/* Eight bytes from @p, unaligned, in memory order (the lowest byte first: little endian). */
static inline uint64_t cp_swar_load8(const void *p)
{
	uint64_t w;
	memcpy(&w, p, sizeof(w));
	return w;
}

/* Nonzero when a byte of @w is < 0x20, '"' or '\\': the lowest marked byte is the first such
 * byte (bytes above it may be marked wrongly: borrows); bytes >= 0x80 alone never mark (~w,
 * ~q and ~bs clear their high bits). */
static inline uint64_t cp_swar_json_special8(uint64_t w)
{
	uint64_t q = w ^ (CP_SWAR_ONES * '"'), bs = w ^ (CP_SWAR_ONES * '\\');
	uint64_t ctl = (w - CP_SWAR_ONES * 0x20) & ~w, quote = (q - CP_SWAR_ONES) & ~q;
	uint64_t bslash = (bs - CP_SWAR_ONES) & ~bs;
	return (ctl | quote | bslash) & CP_SWAR_HIGH;
}

#endif
