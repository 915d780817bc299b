/* cp_node: one rumor-cp node. Joins the planes and the order: drains the dataplane's
 * new-frame records, reports holdings to the Raft leader, runs the ordering service while
 * leader, applies committed batches through the state machine, releases payloads, answers
 * the API. Everything runs on one io_uring loop (cp_loop). */
#ifndef CP_NODE_H
#define CP_NODE_H

#include <jansson.h>
#include <raft.h>
#include <stdbool.h>
#include <stdint.h>

#include "cp_batch.h"
#include "cp_fetch.h"
#include "cp_held.h"
#include "cp_jsonl.h"
#include "cp_olog.h"
#include "cp_report.h"
#include "cp_reqids.h"
#include "dp_client.h"
#include "rumor_config.h"
#include "rumor_wire.h"

struct cp_loop;
struct cp_api;
struct cp_metrics;
struct cp_api_client;
struct cp_fsm;
struct cp_order;
struct cp_plog;
struct cp_view;

/* APP message types on the control transport. */
enum cp_app_type {
	CP_APP_REPORTS = 1,   /* holder -> leader: concatenated cp_report records */
	CP_APP_VIEW = 2,      /* partial-view maintenance: one encoded rumor_view_msg (cp_view) */
	CP_APP_FETCH_REQ = 3, /* payloads of an origin's seq range, please (cp_fetch) */
	CP_APP_FETCH_RESP = 4,/* the payloads we have of that range */
	CP_APP_REPAIR = 5,    /* leader -> holder: send a minority-held run to others (cp_repair) */
	CP_APP_DURABLE = 6,   /* leader -> origin: your events through seq are on a majority's disks */
	CP_APP_SEQ_QUERY = 7, /* starting node -> leader: the highest seq you have seen from me? */
	CP_APP_SEQ_REPLY = 8, /* leader -> that node: u64 */
	CP_APP_WRONG_ID = 9,  /* leader -> holder: your copy is not the origin's (cp_report.h) */
};

/* What a send's reply waits for (the request's "ack"): each is true when said, whatever
 * crashes next. */
enum cp_ack {
	CP_ACK_STAMPED = 0,   /* the origin stamped and gossiped the events */
	CP_ACK_DURABLE = 1,   /* on disk at a majority of voters: they will be ordered */
	CP_ACK_APPLIED = 2,   /* ordered and applied on this node (gseq known) */
};

/* Client originations waiting for the dataplane's ack. */
struct cp_orig {
	struct cp_orig *next;
	uint64_t req_id;
	struct cp_api_client *client;     /* NULL once the client left */
	uint8_t ack;                      /* enum cp_ack */
	bool ids;                         /* the reply lists the events' ids */
	char reqid[CP_REQID_MAX + 1];     /* the client's request id, "" for none */
	bool has_tag;
	int64_t tag;                      /* the client's request tag, echoed in the reply */
	uint64_t t0_us;                   /* when the send came (commit latency metrics) */
	uint16_t count;
	uint16_t data_len;
	uint8_t data[];                   /* the packed events, to compute their ids */
};

/* A client waiting for its event (origin = us, seq) to be durable or applied. */
struct cp_waiter {
	struct cp_waiter *next;
	uint64_t seq;
	uint64_t first_seq;               /* the request's first event */
	struct cp_api_client *client;
	struct rumor_event_id id;
	bool has_tag;
	int64_t tag;
	uint64_t t0_us;                   /* when the send came (commit latency metrics) */
};

/* A payload this node lacks (prefetch scratch). */
struct cp_want {
	uint16_t origin;
	uint64_t seq;
};

struct cp_watcher {
	struct cp_watcher *next;
	struct cp_api_client *client;
	bool gossip;
	uint16_t origin;                  /* only this origin's events (0: all) */
};

/* A recently applied event with its timestamp, for `events` and `watch`. */
struct cp_recent {
	uint64_t gseq;
	uint16_t origin;
	uint64_t seq;
	struct rumor_event_id id;
	char clock[256];
};
#define CP_RECENT 1024

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

struct cp_node_stats {
	uint64_t frames, events_new, events_known, frames_bad, held_full, frames_dup_announce;
	uint64_t reports_sent, report_bytes, reports_local, reports_refused, report_backpressure;
	uint64_t rereports;
	uint64_t batches_proposed, batch_events, apply_failed;
	uint64_t pulls, pulls_failed, releases, release_ring_full;
	uint64_t originated, originate_refused, send_retries;
	uint64_t log_write_errors;
	uint64_t plog_refused;            /* frames not made durable (disk error): never reported */
	uint64_t plog_reads, plog_read_errors;
	uint64_t fetches_sent, fetch_served;
	uint64_t repairs_asked, repair_frames;  /* leader: runs asked for; holder: frames resent */
	uint64_t prefetches;              /* committed events asked from peers before the apply */
};

#define CP_PARKED_MAX 256
#define CP_REQIDS_WINDOW 65536            /* requests a retry is recognised within */

struct cp_node {
	struct rumor_config cfg;
	const struct rumor_node_conf *me;
	uint16_t self;
	bool join;                        /* new node: never bootstrap, the leader adds it */
	char dir[RUMOR_CONFIG_PATH_MAX + 16];
	char api_path[RUMOR_CONFIG_PATH_MAX];

	struct cp_loop *loop;
	struct dp_client dp;
	bool dp_alive;
	struct cp_held held;
	struct cp_fetch fetch;            /* payloads from our ordered.log or from peers */
	uint8_t *fetch_tmp;               /* payload handed to the fsm, freed at the next get */
	unsigned fetch_rr;                /* which peer the next fetch asks */
	struct cp_slot_frame *slot_frame;
	struct cp_fsm *fsm;
	struct cp_order *order;
	struct raft raft;
	struct raft_io io;
	struct cp_api *api;
	struct cp_tls_ctx *tls;           /* control-link TLS (cp_local.c); NULL: insecure */
	const char *local_path;           /* --node-config */
	struct cp_loop_timer *tick, *slow;
	struct cp_view *view;             /* partial view (cp_view.c), NULL when not running */

	raft_id leader;
	bool leading;
	unsigned applies_inflight;
	struct cp_batch batch;

	uint8_t *rep_buf;
	size_t rep_len, rep_cap;
	struct cp_report *rep;            /* scratch */
	struct rumor_wire_frame *frame;   /* scratch for dataplane records */
	struct rumor_wire_frame *aframe;  /* the frame of the event being applied ... */
	uint32_t aframe_slot;             /* ... and its slot (UINT32_MAX: none) */
	struct rumor_vc *ts;              /* scratch */
	struct rumor_vc *ats;             /* timestamp of the applied events of aframe */
	struct cp_want *want_buf;         /* PREFETCH_MAX_BATCH entries */
	struct rumor_vc last_clock;       /* our clock as of the last frame the dataplane stored */

	uint64_t next_req;
	struct cp_orig *origs;
	struct cp_waiter *waiters, **waiters_tail;   /* ack applied, by seq */
	struct cp_waiter *dwaiters, **dwaiters_tail; /* ack durable, by seq */
	uint64_t durable_through;         /* our events through this seq are majority-durable */
	uint64_t *durable_sent;           /* leader: announced per origin */
	bool seq_floor_known;             /* the dataplane stamps above what the cluster saw */
	bool disk_low;                    /* free space below [storage] min_free_mb */
	uint64_t disk_free_mb;
	uint64_t seq_floor;
	uint64_t seq_query_ms;            /* last SEQ_QUERY sent */
	uint64_t leading_since_ms;
	struct cp_reqids reqids;          /* recent client request ids (exactly-once retries) */
	struct rumor_msg *parked[CP_PARKED_MAX]; /* originations waiting for the seq floor */
	unsigned parked_n;
	struct cp_watcher *watchers;
	struct cp_jsonl line;             /* scratch for per-event JSON lines */

	uint64_t *applied_through;        /* [RUMOR_NODE_ID_MAX + 1] */
	uint16_t want_origin;             /* the fsm waits for this payload (0: none) */
	uint64_t want_seq;
	uint64_t want_since_ms;
	struct rumor_event_id want_id;
	uint64_t want_first_ms;
	uint64_t last_rereport_ms;        /* held events are re-reported every REREPORT_AGE_MS */
	uint64_t last_repair_ms;          /* leader: minority-held runs looked for */
	bool commit_unannounced;          /* leader: applied a batch followers may not know of */

	struct cp_recent *recent;         /* ring of CP_RECENT */

	struct cp_olog olog;              /* ordered.log: the operator's export */
	struct cp_plog *plog;             /* payload log: what this node holds, on disk */
	struct cp_pending_report *pend;   /* ring of reports waiting for their record's fsync */
	uint32_t pend_head, pend_n, pend_cap;
	uint64_t plog_durable, plog_last_batch; /* tickets: durable, covered by the last sync */
	uint64_t plog_flush_us;           /* when the last payload-log write was started */
	struct cp_release *rel;           /* ring of releases waiting for room in cp2dp */
	uint32_t rel_head, rel_n, rel_cap;
	struct cp_plog_frame apply_pf;    /* record the apply reads payloads from */
	struct cp_plog_frame serve_pf;    /* record peers' fetches are served from */
	struct raft_fsm fsm_hooks;        /* cp_fsm's raft_fsm with our snapshot hook */
	uint64_t *snap_applied[2];        /* applied_through at the last two snapshots */

	struct cp_node_stats st;
	struct cp_forge forge;            /* issue 14: forged copies we held, by hop sender */
	struct cp_metrics *metrics;       /* /metrics server (rumor_cp.c), NULL: off */
	uint64_t started_ms;
	volatile int stop;
};

/* Set up everything from the config (already loaded) and start Raft. The DPDK secondary EAL
 * must be initialised. Returns 0 or a negative errno with a message on stderr. */
int cp_node_start(struct cp_node *n, struct cp_loop *loop);

/* Stop Raft and the API, release what was allocated. */
void cp_node_stop(struct cp_node *n);

/* API request dispatcher (cp_cmd.c). */
void cp_cmd_request(void *arg, struct cp_api_client *c, json_t *req);
void cp_cmd_client_closed(void *arg, struct cp_api_client *c);

/* Originate client events (cp_node.c): @count events packed as (u16 LE len, bytes).
 * The ack lists their ids unless told not to (clients that compute ids themselves skip
 * them) and echoes the client's integer tag (replies to pipelined sends can be matched).
 * Returns 0 (the ack goes to @client), -ENOBUFS (dataplane ring or pool full), -EMSGSIZE,
 * -ENOTCONN (no dataplane). */
struct cp_send_opts {
	uint8_t ack;    /* enum cp_ack: reply once the last event is stamped, durable, applied */
	const char *reqid; /* the client's request id (retries return the first outcome), or NULL */
	bool ids;       /* list the events' ids */
	bool has_tag;   /* echo @tag in the reply */
	int64_t tag;
};
int cp_node_originate(struct cp_node *n, struct cp_api_client *client,
		      const struct cp_send_opts *opt, const uint8_t *data, uint16_t data_len,
		      uint16_t count);

/* Operator: the committed event (origin, seq) that this leader's apply has waited for over
 * 5 s is declared lost (no live node has its payload): a reject record is committed and every
 * node applies the event as it (a visible record, never a silent skip). Returns 0, -EPERM
 * (not the leader), -ENOENT (the apply does not wait for it), -EAGAIN (not waited long
 * enough), -EEXIST (this node holds it), -EIO; @why says which. */
int cp_node_skip_lost(struct cp_node *n, uint16_t origin, uint64_t seq, char *why, size_t cap);

/* Helpers shared with cp_cmd.c. */
const char *cp_node_role(const struct cp_node *n);
json_t *cp_node_clock_json(const struct rumor_vc *vc);
json_t *cp_node_payload_json(const void *p, size_t len);

#endif
