/* Payloads the state machine needs but this node does not hold (neither in its dataplane's
 * store nor in its payload log, cp_plog): a node that joined late or lost gossip asks peers
 * over the control transport (FETCH request / response, answered from their held frames or
 * their payload log). Every fetched payload is checked against its event id before use. */
#ifndef CP_FETCH_H
#define CP_FETCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rumor_eventid.h"
#include "rumor_vc.h"

/* (origin, seq) -> u64 value, open addressing; value 0 is never stored. */
struct cp_fetch_map {
	struct cp_fetch_cell *cells;
	uint32_t mask, count;
};

struct cp_fetch {
	struct cp_fetch_map got;      /* -> struct cp_fetched * from peers */
	uint64_t requests, responses, served, rejected;
	struct rumor_vc scratch;      /* a response's clock, checked before it is kept */
};

struct cp_fetched {
	struct rumor_event_id id;
	uint32_t len;
	uint16_t clock_n;             /* entries of the event's timestamp, 0 if unknown */
	uint8_t data[];               /* @len payload bytes, then the timestamp's wire form */
};

void cp_fetch_init(struct cp_fetch *f);
void cp_fetch_fini(struct cp_fetch *f);

/* Payload of (origin, seq) with id @id from what peers sent, copied into a malloc'd buffer
 * (*out, *len; free()). Returns 0 or -ENOENT. */
int cp_fetch_get(struct cp_fetch *f, uint16_t origin, uint64_t seq,
		 const struct rumor_event_id *id, uint8_t **out, size_t *len);

/* 1 when a fetched payload of (origin, seq) is at hand. */
int cp_fetch_have(const struct cp_fetch *f, uint16_t origin, uint64_t seq);

/* Forget a fetched payload once applied. */
void cp_fetch_done(struct cp_fetch *f, uint16_t origin, uint64_t seq);

/* The timestamp of a fetched (origin, seq) (empty when the peer did not know it).
 * Returns 0 or -ENOENT. */
int cp_fetch_clock_vc(struct cp_fetch *f, uint16_t origin, uint64_t seq, struct rumor_vc *out);

/* The same as text ("{1:3, 2:7}", "" when unknown) into @out, for display.
 * Returns 0 or -ENOENT. */
int cp_fetch_clock(struct cp_fetch *f, uint16_t origin, uint64_t seq, char *out, size_t cap);

/* Wire (big-endian, as every control frame): request = u16 origin, u64 first seq, u16 count.
 * Response = repeated records of u16 origin, u64 seq, 16-byte id, u32 len, bytes, u16 clock
 * entries n, the clock in rumor_vc's wire form (n * RUMOR_VC_WIRE_ENTRY bytes; n = 0: the
 * holder did not know the timestamp). A format of this version: the clock was text before. */
#define CP_FETCH_REQ_LEN 12
#define CP_FETCH_MAX_RANGE 256
#define CP_FETCH_RESP_MAX (60u << 10)
void cp_fetch_req_encode(uint8_t out[CP_FETCH_REQ_LEN], uint16_t origin, uint64_t seq,
			 uint16_t count);
/* Returns 0 or -EINVAL. */
int cp_fetch_req_decode(const uint8_t *p, size_t len, uint16_t *origin, uint64_t *seq,
			uint16_t *count);
/* Append one record to a response buffer; @clock is the event's timestamp, NULL when not
 * known. Returns bytes written or -ENOBUFS. */
int cp_fetch_resp_add(uint8_t *buf, size_t cap, uint16_t origin, uint64_t seq,
		      const struct rumor_event_id *id, const void *data, size_t len,
		      const struct rumor_vc *clock);
/* Take the records of a response: each is checked against its id and kept for
 * cp_fetch_get. Returns records accepted or -EINVAL for a malformed response. */
int cp_fetch_resp_take(struct cp_fetch *f, const uint8_t *p, size_t len);

#endif
