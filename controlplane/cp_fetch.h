/* Payloads the state machine needs but the dataplane no longer has: after a restart (the
 * Raft log replays events applied before), on a node that joined late or lost gossip, the
 * order names events whose frames every peer already released. Sources, in turn: this
 * node's own ordered.log (indexed by (origin, seq)), then peers over the control transport
 * (FETCH request / response, answered from their held frames or their ordered.log).
 * Every fetched payload is checked against its event id before use. */
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

/* One origin's lines of ordered.log by seq (an origin's seqs are applied in order): a ring
 * of (offset << 20 | line length), 0 for none, vals[head] holding seq @first. */
struct cp_fetch_olog {
	uint64_t first;
	uint64_t *vals;
	uint32_t head, n, cap;
};

struct cp_fetch {
	struct cp_fetch_olog *olog[RUMOR_NODE_ID_MAX + 1]; /* by origin, allocated lazily */
	uint32_t log_max;             /* the index keeps each origin's newest log_max seqs */
	uint64_t log_count;           /* lines indexed now */
	struct cp_fetch_map got;      /* -> struct cp_fetched * from peers */
	int log_fd;                   /* read side of ordered.log, -1 if none */
	uint64_t log_size;
	uint64_t requests, responses, served, rejected;
};

struct cp_fetched {
	struct rumor_event_id id;
	char clock[256];              /* the event's timestamp as text, "" if unknown */
	uint32_t len;
	uint8_t data[];
};

/* Index @path (ordered.log, may not exist yet), keeping each origin's newest @max_index seqs
 * (what a restart can replay and lagging peers can ask for; older lines are dropped from the
 * index, not from the file). Returns 0, -EINVAL (@max_index 0 or over 2^26) or -errno. */
int cp_fetch_init(struct cp_fetch *f, const char *path, uint32_t max_index);
void cp_fetch_fini(struct cp_fetch *f);

/* A line of @len bytes (newline included) was appended at the end of ordered.log; origin 0
 * for a line without a payload (a skip). */
void cp_fetch_logged(struct cp_fetch *f, uint16_t origin, uint64_t seq, size_t len);

/* Payload of (origin, seq) with id @id from what was fetched or from our own log, copied
 * into a malloc'd buffer (*out, *len; free()). Returns 0 or -ENOENT. */
int cp_fetch_get(struct cp_fetch *f, uint16_t origin, uint64_t seq,
		 const struct rumor_event_id *id, uint8_t **out, size_t *len);

/* Payload of (origin, seq) from our own log with the id the log recorded (*id).
 * Returns 0 or -ENOENT. */
int cp_fetch_get_logged(struct cp_fetch *f, uint16_t origin, uint64_t seq,
			struct rumor_event_id *id, uint8_t **out, size_t *len);

/* 1 when a payload of (origin, seq) is at hand without asking a peer: fetched already, or
 * in our own ordered.log (a restart replays what it applied before). */
int cp_fetch_have(const struct cp_fetch *f, uint16_t origin, uint64_t seq);

/* Forget a fetched payload once applied. */
void cp_fetch_done(struct cp_fetch *f, uint16_t origin, uint64_t seq);

/* The timestamp text ("{1:3, 2:7}") of (origin, seq) from a fetched record or our own log
 * into @out. Returns 0 or -ENOENT. */
int cp_fetch_clock(struct cp_fetch *f, uint16_t origin, uint64_t seq, char *out, size_t cap);

/* Wire: request = u16 origin, u64 first seq, u16 count. Response = repeated records of
 * u16 origin, u64 seq, 16-byte id, u32 len, bytes, u16 clock text length, clock text.
 * Big-endian. */
#define CP_FETCH_REQ_LEN 12
#define CP_FETCH_MAX_RANGE 256
#define CP_FETCH_RESP_MAX (60u << 10)
void cp_fetch_req_encode(uint8_t out[CP_FETCH_REQ_LEN], uint16_t origin, uint64_t seq,
			 uint16_t count);
/* Returns 0 or -EINVAL. */
int cp_fetch_req_decode(const uint8_t *p, size_t len, uint16_t *origin, uint64_t *seq,
			uint16_t *count);
/* Append one record to a response buffer. Returns bytes written or -ENOBUFS. */
int cp_fetch_resp_add(uint8_t *buf, size_t cap, uint16_t origin, uint64_t seq,
		      const struct rumor_event_id *id, const void *data, size_t len,
		      const char *clock);
/* Take the records of a response: each is checked against its id and kept for
 * cp_fetch_get. Returns records accepted or -EINVAL for a malformed response. */
int cp_fetch_resp_take(struct cp_fetch *f, const uint8_t *p, size_t len);

#endif
