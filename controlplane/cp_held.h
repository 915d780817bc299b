/* Events this node holds in its dataplane's store and has not applied yet, by (origin, seq):
 * where the payload sits in shared memory and which store slot to release once every event of
 * that frame is applied. Pure C: an open-addressing table plus per-slot pending counts. */
#ifndef CP_HELD_H
#define CP_HELD_H

#include <stdint.h>

#include "rumor_eventid.h"

struct cp_held_event {
	uint64_t seq;                /* 0 marks an empty table cell */
	uint16_t origin;
	uint16_t len;
	uint32_t slot;
	const uint8_t *payload;      /* in the dataplane's store, valid until the slot is released */
	struct rumor_event_id id;
};

struct cp_held_slot {
	uint16_t origin;
	uint16_t pending;            /* events of the frame not yet applied */
	uint64_t first_seq;
	uint64_t last_seq;
};

struct cp_held {
	struct cp_held_event *cells;
	uint32_t mask;               /* cells - 1, cells a power of two */
	uint32_t count;
	struct cp_held_slot *slots;  /* indexed by store slot */
	uint32_t n_slots;
};

/* Table for up to @max_events held events over @n_slots store slots.
 * Returns 0 or -ENOMEM. */
int cp_held_init(struct cp_held *h, uint32_t max_events, uint32_t n_slots);
void cp_held_fini(struct cp_held *h);

/* Record a frame's events (all with the same @slot). Events already held are left as they were
 * (a pulled copy of something we hold). Returns events added (0: the caller releases the slot
 * at once, nothing of it is needed), -ERANGE for a slot out of range,
 * -ENOSPC when the table is full (nothing added), -EBUSY when the slot is still in use. */
int cp_held_add_frame(struct cp_held *h, uint32_t slot, uint16_t origin, uint64_t first_seq,
		      uint16_t count, const struct cp_held_event *events);

/* The held event (origin, seq) or NULL. */
const struct cp_held_event *cp_held_get(const struct cp_held *h, uint16_t origin, uint64_t seq);

/* Forget (origin, seq) after it was applied (or skipped). When it was the frame's last pending
 * event, *@release_slot gets the slot to release and the return is 1; otherwise 0.
 * Returns -ENOENT when not held. */
int cp_held_done(struct cp_held *h, uint16_t origin, uint64_t seq, uint32_t *release_slot);
/* The same for an event just returned by cp_held_get (no second lookup; @ev is invalid
 * afterwards). */
int cp_held_done_at(struct cp_held *h, const struct cp_held_event *ev, uint32_t *release_slot);

/* Call @fn for every held event (order unspecified); stops early when fn returns non-zero. */
void cp_held_foreach(const struct cp_held *h,
		     int (*fn)(void *arg, const struct cp_held_event *ev), void *arg);

#endif
