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

#endif
