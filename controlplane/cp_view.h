/* cp_view: this node's partial view inside rumor-cp. Owns a rumor_view (common/view), drives
 * it from a cp_loop timer, carries its messages as APP frames on the control transport, runs
 * the leader's assignments (strategy "leader") and pushes the active view to the dataplane
 * as its fan-out targets. The cp_view_set / *_outcome / *_epoch / *_plan / *_decode helpers
 * are pure (cp_view_pure.c) so they can be tested without io_uring or DPDK. */
#ifndef CP_VIEW_H
#define CP_VIEW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rumor_vc.h"
#include "rumor_view.h"

struct cp_node;

/* ---------------------------------------------------------------- process side (cp_view.c) */

/* Create the view for @n's config (strategy, view_size, view_refresh_ms), start its 100 ms
 * timer and the join (see cp_view.c for the join policy). Call after raft_start and after
 * the peers were added to the transport. Sets n->view. Returns 0, -EINVAL (view config the
 * library refuses), -ENOMEM, or the timer's error. */
int cp_view_start(struct cp_node *n);

/* Nodes were appended to n->cfg at run time (members added with rumorctl add) and their PEERs
 * sent: static views take them as members, and every strategy pushes its view again (the
 * dataplane drops targets it had no address for). */
void cp_view_peers_changed(struct cp_node *n);

/* Stop the timer and free the view; n->view becomes NULL so late transport callbacks are
 * ignored. Safe when cp_view_start never ran. */
void cp_view_stop(struct cp_node *n);

/* An APP frame of type CP_APP_VIEW from node @from: decode, check and feed it to the view.
 * Malformed or misaddressed frames are counted and dropped. */
void cp_view_on_app(struct cp_node *n, uint64_t from, const uint8_t *p, size_t len);

/* cp_net_cbs.peer_down with arg = the struct cp_node: the outbound connection to @id was lost,
 * so the view drops it and repairs. */
void cp_view_net_peer_down(void *node, uint64_t id, int err);

/* The `view` API reply: {"ok", "strategy", "fanout", "rounds", "peers" (active view, sorted),
 * "passive" (hyparview), "cache" (cyclon: the cache, = the active view), "epoch" (leader),
 * "dataplane" (the view last pushed to rumor-dp), "joined", "stats"}. NULL when the view is
 * not running (the caller falls back to the static list) or on allocation failure. */
json_t *cp_view_json(const struct cp_node *n);

/* ---------------------------------------------------------------- pure helpers (cp_view_pure.c) */

/* A view in the dataplane's terms: sorted, distinct ids in 1..RUMOR_NODE_ID_MAX, no self. */
struct cp_view_set {
	uint16_t n;
	uint16_t id[RUMOR_VC_MAX_ENTRIES];
};

/* Normalise @n view ids into @out: drops 0, @self, ids above RUMOR_NODE_ID_MAX and
 * duplicates, sorts, keeps at most RUMOR_VC_MAX_ENTRIES. Returns how many ids were dropped. */
size_t cp_view_set_from(const uint32_t *ids, size_t n, uint16_t self, struct cp_view_set *out);

/* True when both sets hold the same ids. */
bool cp_view_set_equal(const struct cp_view_set *a, const struct cp_view_set *b);

/* What a cp_net_send result means for a view message. */
enum cp_view_send_outcome {
	CP_VIEW_SENT = 0,    /* queued */
	CP_VIEW_LOST,        /* dropped (backpressure -EAGAIN, -ENOMEM, ...): the protocol copes */
	CP_VIEW_LOST_DOWN,   /* dropped and the peer is unreachable (-ENOTCONN, -ENOENT):
				also rumor_view_on_peer_down */
};
enum cp_view_send_outcome cp_view_send_outcome(int rc);

/* VIEW_ASSIGN epoch for the @counter-th assignment of a leader in Raft @term: a later term
 * always wins over an earlier one (term in the top 12 bits, counter in the low 20, both
 * saturating), so a deposed leader's late assignments are ignored. Never 0. */
uint32_t cp_view_leader_epoch(uint64_t term, uint32_t counter);

/* Leader side: the VIEW_ASSIGN message for each of @n distinct members (out[i] goes to
 * members[i], src = @leader, @epoch), each a sample of @size others from
 * rumor_view_leader_samples(@seed). @out has room for @n. Returns 0, -EINVAL (n == 0,
 * size 0 or > RUMOR_VIEW_MSG_MAX_IDS, leader/epoch 0), -ENOMEM. */
int cp_view_leader_plan(const uint32_t *members, size_t n, unsigned size, uint64_t seed,
			uint32_t leader, uint32_t epoch, struct rumor_view_msg *out);

/* Decode one CP_APP_VIEW payload received from transport peer @from by node @self. The
 * transport authenticated @from, so the message must claim src == @from and dst == @self.
 * Returns 0, -EBADMSG (undecodable), -EPERM (src or dst do not match). */
int cp_view_decode_app(const uint8_t *p, size_t len, uint64_t from, uint16_t self,
		       struct rumor_view_msg *out);

/* Sorted distinct ids of @n (0 and duplicates dropped) into @out (room for @n); returns the
 * count. Used to compare membership snapshots. */
size_t cp_view_sorted_ids(const uint32_t *ids, size_t n, uint32_t *out);

#endif
