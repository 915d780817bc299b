/* cp_subs: the API's clients. Pending originations and their acknowledgments (stamped,
 * durable, applied), watch streams of gossip and ordered events, and the seq floor that
 * originations wait for. */
#ifndef CP_SUBS_H
#define CP_SUBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cp_jsonl.h"
#include "cp_reqids.h"
#include "rumor_msg.h"
#include "rumor_wire.h"

struct cp_api_client;
struct cp_fsm_entry;

struct cp_node;

#define CP_PARKED_MAX 256
#define CP_REQIDS_WINDOW 65536            /* requests a retry is recognised within */

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

/* A watch stream. */
struct cp_watcher {
	struct cp_watcher *next;
	struct cp_api_client *client;
	bool gossip;
	uint16_t origin;                  /* only this origin's events (0: all) */
};

struct cp_subs {
	uint64_t next_req;
	struct cp_orig *origs;
	struct cp_waiter *waiters, **waiters_tail;   /* ack applied, by seq */
	struct cp_waiter *dwaiters, **dwaiters_tail; /* ack durable, by seq */
	uint64_t durable_through;         /* the leader's last word: our seqs in (floor, through] */
	uint64_t durable_floor;           /* will be ordered as themselves */
	bool seq_floor_known;             /* the dataplane stamps above what the cluster saw */
	uint64_t seq_floor;
	uint64_t seq_query_ms;            /* last SEQ_QUERY sent */
	struct cp_reqids reqids;          /* recent client request ids (exactly-once retries) */
	struct rumor_msg *parked[CP_PARKED_MAX]; /* originations waiting for the seq floor */
	unsigned parked_n;
	struct cp_watcher *watchers;
	struct cp_jsonl reply;            /* a send's reply line being written */
};

void cp_subs_notify_gossip(struct cp_node *n, const struct rumor_wire_frame *f);
void cp_subs_notify_applied(struct cp_node *n, const struct cp_fsm_entry *e, const char *clock,
			    const char *hex);
void cp_subs_on_originate_ack(struct cp_node *n, const struct rumor_msg_originate_ack *a);
/* The leader says: our seqs in (@floor, @through] are held by a majority and will be
 * ordered as themselves; those at or below @floor are committed (the apply tells). */
void cp_subs_durable_reached(struct cp_node *n, uint64_t through, uint64_t floor);
uint64_t cp_subs_seq_seen(struct cp_node *n, uint16_t origin);
void cp_subs_set_seq_floor(struct cp_node *n, uint64_t floor);
void cp_subs_tick(struct cp_node *n, uint64_t now_ms);
void cp_subs_reap_watchers(struct cp_node *n);
int cp_subs_init(struct cp_node *n);
void cp_subs_free(struct cp_node *n);

#endif
