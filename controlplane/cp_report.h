/* new-event reports, holder -> leader, one record per gossip frame: "I hold origin's events
 * first_seq..first_seq+count-1 with these ids; their timestamp; my clock after merging it".
 * The leader expands a record into per-event reports for the ordering service. */
#ifndef CP_REPORT_H
#define CP_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "rumor_eventid.h"
#include "rumor_vc.h"
#include "rumor_wire.h"

struct cp_order;

struct cp_report {
	uint16_t origin;
	uint16_t reporter;
	uint16_t count;
	uint64_t first_seq;
	struct rumor_event_id id[RUMOR_WIRE_MAX_EVENTS];
	struct rumor_vc timestamp;
	struct rumor_vc holder_clock;
};

/* Bytes cp_report_encode needs for @r. */
size_t cp_report_size(const struct cp_report *r);

/* Append @r to @buf. Returns bytes written, or -ENOBUFS when @cap is too small, -EINVAL for
 * count 0 / over RUMOR_WIRE_MAX_EVENTS. */
int cp_report_encode(const struct cp_report *r, uint8_t *buf, size_t cap);

/* Decode one record from @buf. Returns bytes consumed, or -EMSGSIZE (truncated), -EINVAL
 * (count, origin, reporter or seq out of range), or a rumor_vc_decode error for the clocks. */
int cp_report_decode(const uint8_t *buf, size_t len, struct cp_report *r);

/* The record for events [@skip, event_count) of a decoded frame held by @reporter. */
void cp_report_from_frame(struct cp_report *r, const struct rumor_wire_frame *f, uint16_t skip,
			  uint16_t reporter, const struct rumor_vc *holder_clock);

/* Leader side: merge @r's holder clock into @o and enter one report per event at @now_us
 * (the frame's timestamp carries its last seq; event i's own timestamp has seq i). @ts is
 * scratch for one clock. Returns how many of the events @o refused (see cp_order_report). */
unsigned cp_report_ingest(struct cp_order *o, const struct cp_report *r, struct rumor_vc *ts,
			  uint64_t now_us);

/* The hop sender of a stored frame's rumor part (its fixed header: what delivered it to us),
 * 0 when @len is too short. */
uint16_t cp_report_frame_sender(const uint8_t *rumor, size_t len);

/* Issue 14, holder side. Every member holds the gossip key, so a member can seal a frame
 * claiming another origin's next seq with its own bytes; a holder that stored it first
 * drops the real one as a duplicate. The leader orders only the id the origin reported and
 * tells holders of another id (CP_APP_WRONG_ID, records in this codec with count 1, the
 * holder as reporter and the origin's timestamp); the holder counts the copy it has by the
 * hop sender that delivered it, fetches the right payload (checked against the id) and
 * reports it. The apply, which checks every payload against the committed id, counts
 * what the leader did not get to tell. */
#define CP_FORGE_SEEN 4096u   /* (origin, seq) already counted: a direct-mapped cache */
#define CP_FORGE_FIX 64u      /* right payloads being fetched at once */

struct cp_forge_fix {
	uint16_t origin;          /* 0: free */
	uint64_t seq;
	uint64_t asked_ms;
	struct rumor_event_id id;
	struct rumor_vc ts;
};

struct cp_forge {
	uint64_t total;           /* copies held with another id than the origin's */
	uint64_t notices;         /* leader notices taken */
	uint64_t fixed;           /* right payloads fetched and reported */
	uint64_t by_sender[RUMOR_NODE_ID_MAX + 1]; /* copies by the hop sender (0: unknown) */
	uint64_t seen[CP_FORGE_SEEN];
	struct cp_forge_fix fix[CP_FORGE_FIX];
};

void cp_forge_init(struct cp_forge *f);

/* Our copy of (origin, seq), delivered by @sender, is not the origin's event: count it
 * once per (origin, seq) (by the cache). Returns 1 when counted now, 0 when known. */
int cp_forge_note(struct cp_forge *f, uint16_t origin, uint64_t seq, uint16_t sender);

/* Remember that (origin, seq) is @id with timestamp @ts, to report once fetched (a free or
 * the oldest entry; a repeat refreshes its entry). Returns 0, -EINVAL (no origin/seq). */
int cp_forge_want(struct cp_forge *f, uint16_t origin, uint64_t seq,
		  const struct rumor_event_id *id, const struct rumor_vc *ts, uint64_t now_ms);

/* How the caller stands with a wanted payload: @have returns 1 when the payload of
 * (origin, seq) with @id is at hand, 0 when not (it drops a fetched copy of another id, so
 * that the next answer can be taken). */
struct cp_forge_io {
	int (*have)(void *arg, uint16_t origin, uint64_t seq, const struct rumor_event_id *id);
	void (*report)(void *arg, const struct cp_report *r);
	void *arg;
};

/* For every wanted (origin, seq) whose right payload is at hand: fill @scratch as our report
 * (reporter @self, the origin's timestamp, our clock @holder_clock) and report it; the
 * entry is done. Returns reports made. */
unsigned cp_forge_poll(struct cp_forge *f, const struct cp_forge_io *io, uint16_t self,
		       const struct rumor_vc *holder_clock, struct cp_report *scratch);

/* Forget entries at or below @applied (@applied[origin]: applied through). */
void cp_forge_applied(struct cp_forge *f, const uint64_t *applied);

#endif
