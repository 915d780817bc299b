/* Event ids: XXH3-128 over (origin u16 LE, seq u64 LE, payload), hex and wire forms. */
#include "rumor_eventid.h"
#include "rumor_be.h"

#include <errno.h>
#include <string.h>

#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#define XXH_INLINE_ALL          /* same hash, no PLT call: ids are verified per new frame */
#include <xxhash.h>

/* Payloads up to this size are hashed in one shot from a stack copy with the 10-byte prefix;
 * larger ones go through the streaming state (whose setup costs more than a small copy). */
#define EVENTID_ONESHOT_MAX 1024

void rumor_event_id_compute(uint16_t origin, uint64_t seq, const void *payload, size_t len,
			    struct rumor_event_id *out)
{
	uint8_t pre[10];
	XXH128_hash_t h;

	rumor_le_st16(pre, origin);
	rumor_le_st64(pre + 2, seq);

	if (len <= EVENTID_ONESHOT_MAX) {
		uint8_t buf[sizeof(pre) + EVENTID_ONESHOT_MAX];

		memcpy(buf, pre, sizeof(pre));
		if (len)
			memcpy(buf + sizeof(pre), payload, len);
		h = XXH3_128bits(buf, sizeof(pre) + len);
	} else {
		XXH3_state_t st;

		XXH3_INITSTATE(&st);
		XXH3_128bits_reset(&st);
		XXH3_128bits_update(&st, pre, sizeof(pre));
		XXH3_128bits_update(&st, payload, len);
		h = XXH3_128bits_digest(&st);
	}
	out->hi = h.high64;
	out->lo = h.low64;
}

int rumor_event_id_equal(const struct rumor_event_id *a, const struct rumor_event_id *b)
{
	return a->hi == b->hi && a->lo == b->lo;
}

int rumor_event_id_cmp(const struct rumor_event_id *a, const struct rumor_event_id *b)
{
	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return 0;
}

void rumor_event_id_hex(const struct rumor_event_id *id, char out[33])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < 16; i++) {
		out[i] = digits[(id->hi >> (60 - 4 * i)) & 0xf];
		out[16 + i] = digits[(id->lo >> (60 - 4 * i)) & 0xf];
	}
	out[32] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int rumor_event_id_parse(const char *hex, struct rumor_event_id *out)
{
	uint64_t w[2] = { 0, 0 };

	if (!hex)
		return -EINVAL;
	for (int i = 0; i < 32; i++) {
		int v = hexval(hex[i]);

		if (v < 0)
			return -EINVAL;  /* also stops at an early NUL */
		w[i / 16] = (w[i / 16] << 4) | (uint64_t)v;
	}
	if (hex[32] != '\0')
		return -EINVAL;
	out->hi = w[0];
	out->lo = w[1];
	return 0;
}

void rumor_event_id_store(const struct rumor_event_id *id, uint8_t out[16])
{
	uint64_t hi = __builtin_bswap64(id->hi), lo = __builtin_bswap64(id->lo);

	memcpy(out, &hi, 8);
	memcpy(out + 8, &lo, 8);
}

void rumor_event_id_load(const uint8_t in[16], struct rumor_event_id *id)
{
	uint64_t hi, lo;

	/* memcpy: ids sit at any alignment inside frames. */
	memcpy(&hi, in, 8);
	memcpy(&lo, in + 8, 8);
	id->hi = __builtin_bswap64(hi);
	id->lo = __builtin_bswap64(lo);
}
