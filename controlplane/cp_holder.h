/* cp_holder: the frames this node holds. A frame the dataplane stored goes to the payload
 * log and is reported to the leader once its record is durable; held frames are re-reported
 * after a leader change or a restart, sent on when the leader asks for a repair, and their
 * store slots released once applied. Also the decoded-frame cache of payload-log reads. */
#ifndef CP_HOLDER_H
#define CP_HOLDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cp_held.h"
#include "cp_repair.h"
#include "cp_report.h"
#include "rumor_msg.h"
#include "rumor_vc.h"
#include "rumor_wire.h"

struct cp_node;

struct cp_slot_frame {
	const uint8_t *frame;             /* rumor part in the dataplane store */
	uint32_t len;
	uint64_t first_seq;               /* the frame's, even when we hold only its tail */
	bool durable;                     /* in the payload log on disk: reportable */
};

/* A held frame whose payload-log record is not durable yet: reported once it is. */
struct cp_pending_report {
	uint64_t ticket;                  /* cp_plog ticket of its record */
	uint64_t first_seq;
	uint32_t slot;
	uint16_t origin;
	bool pulled;
};

/* A RELEASE the ring did not take yet. */
struct cp_release {
	uint64_t first_seq;
	uint32_t slot;
	uint16_t origin;
};

/* A payload-log record decoded for the apply or for a peer (recovery paths). */
struct cp_plog_frame {
	uint8_t *buf;                     /* CP_PLOG_MAX_FRAME bytes */
	struct rumor_wire_frame *f;
	uint16_t origin;                  /* 0: nothing decoded */
	uint64_t first_seq;
};

struct cp_holder {
	struct cp_held held;
	struct cp_slot_frame *slot_frame;   /* per store slot */
	struct rumor_wire_frame *frame;     /* decoded-frame scratch of the intake */
	struct rumor_vc last_clock;         /* our clock as of the last frame the dataplane stored */
	uint8_t *rep_buf;                   /* reports not yet sent to the leader */
	size_t rep_len, rep_cap;
	struct cp_report *rep;              /* scratch */
	struct cp_pending_report *pend;     /* ring of reports waiting for their record's fsync */
	uint32_t pend_head, pend_n, pend_cap;
	uint64_t plog_durable, plog_last_batch; /* tickets: durable, covered by the last sync */
	uint64_t plog_flush_us;             /* when the last payload-log write was started */
	struct cp_release *rel;             /* ring of releases waiting for room in cp2dp */
	uint32_t rel_head, rel_n, rel_cap;
	struct cp_plog_frame apply_pf;      /* record the apply reads payloads from */
	struct cp_plog_frame serve_pf;      /* record peers' fetches are served from */
	uint64_t last_rereport_ms;
	bool pass_broken;                   /* the re-report pass under way missed something */          /* held events are re-reported periodically */
};

void cp_holder_on_new_frame(struct cp_node *n, const struct rumor_msg_new_frame *nf);
void cp_holder_on_expire(struct cp_node *n, const struct rumor_msg_release *e);
void cp_holder_on_plog_durable(void *arg, uint64_t ticket);
void cp_holder_plog_note(void *arg, const char *msg);
void cp_holder_plog_flush(struct cp_node *n);
void cp_holder_flush_reports(struct cp_node *n);
void cp_holder_rereport(struct cp_node *n, uint64_t window);
void cp_holder_repair_serve(struct cp_node *n, const struct cp_repair *r);
void cp_holder_release_slot(struct cp_node *n, uint32_t slot, uint16_t origin,
			    uint64_t first_seq);
void cp_holder_release_skipped(struct cp_node *n, uint16_t origin, uint64_t seq,
			       uint64_t last);
void cp_holder_send_pending_releases(struct cp_node *n);
/* Read the payload-log record holding (origin, seq) into @pf, unless it holds it already
 * (the decoded-frame cache of the apply and of served fetches). 0, -ENOENT, the read's. */
int cp_holder_frame_load(struct cp_node *n, struct cp_plog_frame *pf, uint16_t origin,
			 uint64_t seq);
/* Issue 14: the leader says our copies are not the origin's events (CP_APP_WRONG_ID); the
 * right ones, once fetched, are reported (poll after each FETCH_RESP). */
void cp_holder_on_wrong_id(struct cp_node *n, const uint8_t *p, size_t len);
void cp_holder_forge_poll(struct cp_node *n);
int cp_holder_init(struct cp_node *n);
void cp_holder_free(struct cp_node *n);
#define CP_REPORT_MAX_BYTES (4u << 20)    /* stop draining the dataplane beyond this */
#define CP_PLOG_BUFFER_MAX (16u << 20)    /* appended, not durable: beyond it the dataplane waits */
#define CP_PLOG_EAGER_BYTES (256u << 10)  /* write at once past this even while bursts are full */
#define CP_REREPORT_AGE_MS 1500
#define CP_REREPORT_WINDOW 8192           /* seqs per origin above what we applied */

#endif
