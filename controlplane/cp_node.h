/* cp_node: one rumor-cp node. Joins the planes and the order: the holder (frames from the
 * dataplane to the payload log to reports), the leader (the ordering service, proposals),
 * recovery (payloads it lacks), the apply (state machine, ordered.log) and the API's
 * clients. Everything runs on one io_uring loop (cp_loop); the node's modules reach the
 * world through a cp_env (cp_env.h). Its state is private (cp_node_int.h). */
#ifndef CP_NODE_H
#define CP_NODE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cp_appmsg.h" /* the APP message types */
#include "rumor_config.h"
#include "rumor_vc.h"

struct cp_node;
struct cp_loop;
struct cp_api_client;
struct cp_metrics;

/* What a send's reply waits for (the request's "ack"): each is true when said, whatever
 * crashes next. */
enum cp_ack {
	CP_ACK_STAMPED = 0,   /* the origin stamped and gossiped the events */
	CP_ACK_DURABLE = 1,   /* on disk at a majority of voters: they will be ordered */
	CP_ACK_APPLIED = 2,   /* ordered and applied on this node (gseq known) */
};

/* A node for @self of @cfg (copied). @join: a new node, never bootstrap (the leader adds it).
 * @local_path: the node-local file (--node-config, TLS and API guard). Returns 0, -ENOMEM. */
int cp_node_new(const struct rumor_config *cfg, uint16_t self, bool join,
		const char *local_path, struct cp_node **out);
void cp_node_free(struct cp_node *n);
/* The /metrics server it publishes to (may be NULL), before cp_node_start. */
void cp_node_set_metrics(struct cp_node *n, struct cp_metrics *m);
struct cp_metrics *cp_node_metrics(const struct cp_node *n);
/* Ask the loop to stop at its next tick (async-signal-safe). */
void cp_node_request_stop(struct cp_node *n);
uint16_t cp_node_self(const struct cp_node *n);

/* Set up everything from the config (already loaded) and start Raft. The DPDK secondary EAL
 * must be initialised. Returns 0 or a negative errno with a message on stderr. */
int cp_node_start(struct cp_node *n, struct cp_loop *loop);

/* Stop Raft and the API, release what was allocated. */
void cp_node_stop(struct cp_node *n);

/* API request dispatcher (cp_cmd.c). */
void cp_cmd_request(void *arg, struct cp_api_client *c, json_t *req);
void cp_cmd_client_closed(void *arg, struct cp_api_client *c);
int cp_cmd_line(void *arg, struct cp_api_client *c, const char *line, size_t len);

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
