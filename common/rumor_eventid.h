/* Event ids: XXH3-128 over (origin node id, origin sequence, payload), so any node can
 * check that an id belongs to the bytes it carries. */
#ifndef RUMOR_EVENTID_H
#define RUMOR_EVENTID_H

#include <stddef.h>
#include <stdint.h>

struct rumor_event_id {
	uint64_t hi;
	uint64_t lo;
};

/* Hash input: origin as u16 little-endian, seq as u64 little-endian, then the payload. */
void rumor_event_id_compute(uint16_t origin, uint64_t seq, const void *payload, size_t len,
			    struct rumor_event_id *out);

/* 1 when equal, else 0. */
int rumor_event_id_equal(const struct rumor_event_id *a, const struct rumor_event_id *b);

/* Total order on ids (hi, then lo): -1, 0, 1. The ordering's final tie-break. */
int rumor_event_id_cmp(const struct rumor_event_id *a, const struct rumor_event_id *b);

/* 32 lowercase hex digits + NUL into @out (needs 33 bytes). */
void rumor_event_id_hex(const struct rumor_event_id *id, char out[33]);
/* Parse 32 hex digits. Returns 0 or -EINVAL. */
int rumor_event_id_parse(const char *hex, struct rumor_event_id *out);

/* 16 bytes big-endian (hi then lo) to and from the wire. */
void rumor_event_id_store(const struct rumor_event_id *id, uint8_t out[16]);
void rumor_event_id_load(const uint8_t in[16], struct rumor_event_id *id);

#endif
