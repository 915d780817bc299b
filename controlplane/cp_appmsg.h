/* cp_appmsg: the controlplane's APP messages on the control transport (cp_net APP frames),
 * their types and where each one's codec lives; the small ones are coded here. Every field
 * is big-endian, as the rest of a control frame (docs/ARCHITECTURE.md). Pure. */
#ifndef CP_APPMSG_H
#define CP_APPMSG_H

#include <stddef.h>
#include <stdint.h>

/* APP message types (the cp_net frame header's app type). */
enum cp_app_type {
	CP_APP_REPORTS = 1,   /* holder -> leader: concatenated cp_report records (cp_report.h) */
	CP_APP_VIEW = 2,      /* partial-view maintenance: one rumor_view_msg (common/view,
				 cp_view.h) */
	CP_APP_FETCH_REQ = 3, /* payloads of an origin's seq range, please (cp_fetch.h) */
	CP_APP_FETCH_RESP = 4,/* the payloads we have of that range, with their clocks
				 (cp_fetch.h) */
	CP_APP_REPAIR = 5,    /* leader -> holder: send a minority-held run to others
				 (cp_repair.h) */
	CP_APP_DURABLE = 6,   /* leader -> origin: your seqs in (floor, through] are committed
				 as themselves (below) */
	CP_APP_SEQ_QUERY = 7, /* starting node -> leader: the highest seq you have seen from me?
				 (no payload) */
	CP_APP_SEQ_REPLY = 8, /* leader -> that node: that seq (below) */
	CP_APP_REPORTED_ALL = 9, /* holder -> leader: the reports before this were all it holds
				    on disk, a complete re-report pass (no payload; cp_order_pass) */
	CP_APP_WRONG_ID = 10, /* leader -> holder: your copy is not the origin's event
				 (cp_report records, cp_report.h) */
	CP_APP_APPLIED = 11,  /* member -> every member: what it applied, per origin
				 (cp_gcfloor.h) */
};

/* DURABLE: u16 origin (the node told), u64 through (committed through), u64 floor (the
 * last committed skip or reject, or the watermark when this leader began: seqs at or below
 * it are answered by the origin's own apply). */
#define CP_APPMSG_DURABLE_LEN 18
void cp_appmsg_durable_encode(uint8_t out[CP_APPMSG_DURABLE_LEN], uint16_t origin,
			      uint64_t through, uint64_t floor);
/* Returns 0 or -EINVAL (wrong length). */
int cp_appmsg_durable_decode(const uint8_t *p, size_t len, uint16_t *origin, uint64_t *through,
			     uint64_t *floor);

/* SEQ_REPLY: u64 the highest seq the cluster has seen from the asking node. */
#define CP_APPMSG_SEQ_REPLY_LEN 8
void cp_appmsg_seq_reply_encode(uint8_t out[CP_APPMSG_SEQ_REPLY_LEN], uint64_t seen);
/* Returns 0 or -EINVAL (wrong length). */
int cp_appmsg_seq_reply_decode(const uint8_t *p, size_t len, uint64_t *seen);

#endif
