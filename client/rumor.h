/* librumor: a C client for a rumor node's API socket (JSON lines, see controlplane/cp_cmd.c),
 * mirroring the original Go interface: Join, Add, CurrentView, SendGossip and a receive
 * stream of packets carrying vector clocks. Blocking calls; one thread per client. */
#ifndef RUMOR_CLIENT_H
#define RUMOR_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rumor_vc.h"

/* Errors (all functions return 0 or a negative errno):
 *   -EREMOTEIO  the node answered {"ok":false,"error":...}; rumor_client_error() has its text
 *   -EPROTO     the reply was not what this command returns (bad JSON, missing fields);
 *               rumor_client_error() says what was wrong
 *   -ETIMEDOUT  no complete reply within the client's timeout
 *   -ECONNRESET the node closed the connection
 *   -EINVAL     bad arguments (e.g. data that is not UTF-8: the API carries JSON strings)
 *   other       the -errno of socket/connect/read/write, or -ENOMEM */

struct rumor_client;

/* Connect to the node's API socket at @path (e.g. $RUMOR_RUN/node-1.sock). The default reply
 * timeout is 10 s. Returns 0, -ENAMETOOLONG, -ENOMEM or connect's -errno. */
int rumor_client_connect(const char *path, struct rumor_client **out);

/* Use an already connected stream socket @fd (taken over: rumor_client_close closes it).
 * Without a socket path, add/join cannot redirect to the leader's sibling socket.
 * Returns 0, -EINVAL (fd < 0) or -ENOMEM. */
int rumor_client_adopt(int fd, struct rumor_client **out);

/* Close the connection and free @c (NULL is fine). */
void rumor_client_close(struct rumor_client *c);

/* Reply timeout in ms for request calls (rumor_receive waits forever); <= 0: no timeout. */
void rumor_client_set_timeout(struct rumor_client *c, int timeout_ms);

/* Text of the last -EREMOTEIO / -EPROTO error ("" if none); valid until the next call. */
const char *rumor_client_error(const struct rumor_client *c);

/* The "status" command, the fields a client needs. */
struct rumor_status {
	uint16_t node;           /* this node's id */
	char role[16];           /* "leader", "follower", "candidate", "unavailable" */
	uint64_t term;
	uint64_t leader;         /* 0: none known */
	uint64_t commit_index;
	uint64_t applied_gseq;   /* last applied global sequence number */
	char order_digest[17];   /* hex digest over the applied order (equal on every node) */
	uint64_t held_events;    /* gossip events waiting for their global order */
	bool dataplane_alive;
};

/* Fill @st. Errors: see above. */
int rumor_status(struct rumor_client *c, struct rumor_status *st);

/* Ask the cluster to add each node of @ids (voters when @voter, else standbys). Requests go to
 * the leader: when the connected node is not the leader and @c was opened on a path of the
 * form ".../node-<self>.sock" (the deploy layout), the request is sent to the sibling socket
 * node-<leader>.sock. Nodes are added one after another (Raft allows one change at a time).
 * Returns 0 when every id was added, or the first error (earlier ids stay added);
 * -EHOSTUNREACH when the leader cannot be reached or is unknown. */
int rumor_add_peers(struct rumor_client *c, const uint16_t *ids, size_t n, bool voter);

/* Join, as in the Go API: check the node is up and part of a cluster with a known leader,
 * then add (as voters) those of @ids that are not members yet. Returns 0, -EAGAIN when no
 * leader is known (election in progress: retry), or as rumor_add_peers. */
int rumor_join(struct rumor_client *c, const uint16_t *ids, size_t n);

/* The node's partial view (gossip targets) as text, like Go's CurrentView():
 * "static fanout=3 rounds=4 peers=[2 3 4]". Always NUL-terminated when @cap > 0.
 * Returns 0, -ENOBUFS when it was truncated, or an error as above. */
int rumor_current_view(struct rumor_client *c, char *buf, size_t cap);

/* Result of rumor_send. */
struct rumor_send_result {
	char id[33];        /* event id, 32 hex digits */
	uint16_t origin;    /* the node that originated it (the connected node) */
	uint64_t seq;       /* origin's sequence number */
	uint64_t gseq;      /* global order position; 0 unless applied was asked for */
};

/* What rumor_send_ack waits for; each is true when the call returns, whatever crashes next. */
enum rumor_ack {
	RUMOR_ACK_STAMPED = 0,  /* the node stamped and gossiped the event */
	RUMOR_ACK_DURABLE = 1,  /* on disk at a majority of voters: it will be ordered */
	RUMOR_ACK_APPLIED = 2,  /* ordered and applied on the connected node (gseq set) */
};

/* Gossip @len bytes of @data (UTF-8 text, at most one frame's worth: the node refuses
 * bigger events with -EREMOTEIO). With @wait the call returns once the event was ordered
 * (gseq set); an event the leader skipped gives -EREMOTEIO. @res may be NULL. */
int rumor_send(struct rumor_client *c, const void *data, size_t len, bool wait,
	       struct rumor_send_result *res);
/* The same with the acknowledgment level chosen: rumor_send(wait) is RUMOR_ACK_APPLIED,
 * rumor_send(!wait) RUMOR_ACK_STAMPED. */
int rumor_send_ack(struct rumor_client *c, const void *data, size_t len, enum rumor_ack ack,
		   struct rumor_send_result *res);

/* A send with every option. */
struct rumor_send_req {
	const void *data;
	size_t len;
	enum rumor_ack ack;
	/* NULL, or 1..64 bytes naming this request: a retry with the same id and data (after a
	 * timeout, a lost connection, "retry" errors) returns the first outcome instead of
	 * gossiping the event twice, within the node's window of its last 65,536 requests.
	 * The node answers an outcome it cannot know (it installed a snapshot past the event)
	 * with -EREMOTEIO and "outcome unknown" in rumor_client_error(). */
	const char *request_id;
};
int rumor_send_req(struct rumor_client *c, const struct rumor_send_req *req,
		   struct rumor_send_result *res);

/* One gossip packet as this node received it: the event and its origin's vector clock. */
struct rumor_gossip_event {
	uint16_t origin;
	uint64_t seq;
	char id[33];
	const char *data;        /* NUL-terminated, valid during the callback */
	size_t len;
	struct rumor_vc clock;   /* the frame's timestamp */
};

/* One event in the agreed global order. */
struct rumor_ordered_event {
	uint64_t gseq;
	uint16_t origin;
	uint64_t seq;
	char id[33];
	bool skip;               /* the leader gave up on this event: no data */
	const char *data;        /* NULL for a skip; valid during the callback */
	size_t len;
	const char *clock_text;  /* "{1:3, 2:7}" when the node knows it, else "" */
};

/* Subscribe (cmd "watch"; gossip events only when @on_gossip is not NULL) and deliver events
 * until a callback says stop or the connection fails. Either callback may be NULL; each
 * returns 0 to keep receiving, > 0 to stop (rumor_receive returns 0), < 0 to stop with that
 * error. Event pointers are valid during the callback only.
 * The connection stays in watch mode afterwards: use a second client for requests.
 * Returns 0 (a callback returned > 0), a callback's negative value, -ECONNRESET when the
 * node closed the stream,
 * -EPROTO for a malformed event, -EREMOTEIO when the node refused the watch. */
int rumor_receive(struct rumor_client *c,
		  int (*on_gossip)(void *arg, const struct rumor_gossip_event *ev),
		  int (*on_ordered)(void *arg, const struct rumor_ordered_event *ev), void *arg);

#endif
