/* Partial views for gossip fan-out: one interface, four strategies (static, leader-assigned,
 * HyParView, Cyclon). Pure logic: no I/O, time and randomness come in as arguments/seeds. */
#ifndef RUMOR_VIEW_H
#define RUMOR_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rumor_config.h" /* enum rumor_view_strategy */

/* Node ids are 32-bit here (the simulator runs up to 100,000 nodes); 0 means "none".
 * Cluster ids from rumor_config (uint16_t) fit unchanged. */
#define RUMOR_VIEW_ID_NONE 0u

/* Most ids one view message carries; also the largest active view of the non-static
 * strategies and the largest Cyclon cache / shuffle list. */
#define RUMOR_VIEW_MSG_MAX_IDS 64
/* Largest passive view (HyParView). */
#define RUMOR_VIEW_MAX_PASSIVE 1024
/* Bytes of the largest encoded message (22-byte header + 4-byte id + 1-byte age each). */
#define RUMOR_VIEW_MSG_MAX_BYTES (22 + RUMOR_VIEW_MSG_MAX_IDS * 5)
#define RUMOR_VIEW_MSG_VERSION 1

enum rumor_view_msg_type {
	RUMOR_VIEW_MSG_VIEW_ASSIGN = 1, /* leader -> node: ids = the node's new active view, epoch */
	RUMOR_VIEW_MSG_JOIN,            /* new node -> contact (HyParView, Cyclon) */
	RUMOR_VIEW_MSG_FORWARD_JOIN,    /* join random walk (both): origin = new node, ttl */
	RUMOR_VIEW_MSG_NEIGHBOR,        /* HyParView: please add me; flag HIGH_PRIORITY */
	RUMOR_VIEW_MSG_NEIGHBOR_REPLY,  /* HyParView: flag ACCEPT, else rejected */
	RUMOR_VIEW_MSG_DISCONNECT,      /* HyParView: I dropped you from my active view */
	RUMOR_VIEW_MSG_SHUFFLE,         /* origin, ttl (HyParView walk), ids (+ ages for Cyclon) */
	RUMOR_VIEW_MSG_SHUFFLE_REPLY,   /* ids (+ ages), sent straight to the shuffle's origin */
	RUMOR_VIEW_MSG_TYPE_END
};

#define RUMOR_VIEW_F_HIGH_PRIORITY 0x01u
#define RUMOR_VIEW_F_ACCEPT 0x02u
#define RUMOR_VIEW_F_AGES 0x04u /* ages[] is valid and encoded (Cyclon) */
#define RUMOR_VIEW_F_ALL 0x07u

/* One view-maintenance message. The view fills src with its own id and dst with the peer;
 * the owner transports it (encoded) and hands it to the peer's rumor_view_on_message(). */
struct rumor_view_msg {
	uint8_t type;     /* enum rumor_view_msg_type */
	uint8_t flags;    /* RUMOR_VIEW_F_* */
	uint8_t ttl;      /* remaining random-walk steps (FORWARD_JOIN, SHUFFLE) */
	uint16_t n_ids;   /* <= RUMOR_VIEW_MSG_MAX_IDS */
	uint32_t src;
	uint32_t dst;
	uint32_t origin;  /* FORWARD_JOIN: joining node; SHUFFLE: initiator; else 0 */
	uint32_t epoch;   /* VIEW_ASSIGN: assignment number (newer wins); else 0 */
	uint32_t ids[RUMOR_VIEW_MSG_MAX_IDS];
	uint8_t ages[RUMOR_VIEW_MSG_MAX_IDS];
};

struct rumor_view_config {
	enum rumor_view_strategy strategy;
	uint32_t self;          /* this node's id, != 0 */
	uint32_t n_hint;        /* expected membership size, used only for default sizes */
	uint16_t active_size;   /* 0: default (HyParView paper: ceil(log10 n)+1; Cyclon: 4x) */
	uint16_t passive_size;  /* HyParView; 0: 6 * active */
	uint16_t shuffle_len;   /* Cyclon l; 0: max(3, cache/4) */
	uint8_t arwl, prwl;     /* HyParView walk lengths; 0: 6 and 3. Cyclon's join walks
				 * take prwl steps (about the overlay's mean path length) */
	uint8_t ka, kp;         /* HyParView shuffle: active/passive ids sent; 0: 3 and 4 */
	uint32_t period_ms;     /* shuffle period; 0: 5000 */
	uint64_t seed;          /* PRNG seed (mixed with self, so one seed serves a cluster) */
};

/* Counters for tests and telemetry. */
struct rumor_view_stats {
	uint64_t msgs_out;
	uint64_t msgs_in;
	uint64_t msgs_rejected;   /* on_message refused it (-EINVAL) */
	uint64_t shuffles;
	uint64_t repairs;         /* NEIGHBOR requests sent for repair */
	uint64_t peers_down;
};

struct rumor_view;

/* Fill @cfg with all defaults for @strategy, @self, a membership of about @n_hint nodes and
 * @seed (every size field resolved, so callers can read them). */
void rumor_view_config_defaults(struct rumor_view_config *cfg, enum rumor_view_strategy strategy,
				uint32_t self, uint32_t n_hint, uint64_t seed);

/* Create a view. Zero size fields of @cfg take defaults. Returns 0 and the view in *@out, or
 * -EINVAL (self == 0, unknown strategy, sizes above RUMOR_VIEW_MSG_MAX_IDS /
 * RUMOR_VIEW_MAX_PASSIVE, shuffle_len > active_size, ka + kp + 1 > RUMOR_VIEW_MSG_MAX_IDS,
 * prwl > arwl), -ENOMEM. For "leader" the active size is whatever the leader assigns (up to
 * RUMOR_VIEW_MSG_MAX_IDS); for "static" it grows with the contacts. */
int rumor_view_create(const struct rumor_view_config *cfg, struct rumor_view **out);

/* Free @v (NULL is fine). */
void rumor_view_destroy(struct rumor_view *v);

/* The resolved configuration. */
const struct rumor_view_config *rumor_view_get_config(const struct rumor_view *v);

/* Strategy name: "static", "leader", "hyparview", "cyclon" (or "?"). */
const char *rumor_view_strategy_name(enum rumor_view_strategy s);

/* Parse a strategy name as above. Returns 0 or -EINVAL. */
int rumor_view_strategy_parse(const char *name, enum rumor_view_strategy *out);

/* Enter the overlay through @contacts (ids other than self; self and 0 are skipped; up to 8
 * are remembered for re-joining when the view runs empty).
 * static: every contact becomes a member. leader: the contacts are used until the first
 * VIEW_ASSIGN. hyparview: JOIN to one random contact (which adds us and starts ARWL walks).
 * cyclon: the contacts seed the cache and JOIN goes to one of them, which starts one walk
 * per cache slot; each walk's end swaps us into its cache and sends us the entry it
 * replaced. Returns 0, -EINVAL (no usable contact),
 * -ENOMEM. */
int rumor_view_join(struct rumor_view *v, const uint32_t *contacts, size_t n, uint64_t now_ms);

/* Periodic maintenance; call at least once per period_ms with a non-decreasing clock.
 * hyparview: repair requests while the active view is short, re-join when empty, one
 * shuffle per period. cyclon: ageing + one shuffle per period. Returns 0 or -ENOMEM. */
int rumor_view_tick(struct rumor_view *v, uint64_t now_ms);

/* Feed one received message. Returns 0, or -EINVAL when it is malformed, not addressed to
 * this node, or of a type this strategy does not use (counted in msgs_rejected, no state
 * change), -ENOMEM. */
int rumor_view_on_message(struct rumor_view *v, const struct rumor_view_msg *m, uint64_t now_ms);

/* @id is unreachable (connection lost, missed heartbeats, send failed): drop it and start
 * repair (hyparview: NEIGHBOR to a passive peer). Unknown ids are ignored. Returns 0 or
 * -ENOMEM. */
int rumor_view_on_peer_down(struct rumor_view *v, uint32_t id, uint64_t now_ms);

/* The current active view (gossip targets): pointer to *@n ids, valid until the next call
 * that changes @v. Never contains self, 0 or duplicates. */
const uint32_t *rumor_view_active(const struct rumor_view *v, size_t *n);

/* The passive view (hyparview; empty for the others), same contract. */
const uint32_t *rumor_view_passive(const struct rumor_view *v, size_t *n);

/* True if @id is in the active view. */
bool rumor_view_has_active(const struct rumor_view *v, uint32_t id);

/* Pick min(@n, available) distinct active members other than @exclude (0: none) uniformly
 * at random with the view's PRNG, into @out (room for @n). Returns 0 and the count in
 * *@n_out. */
int rumor_view_pick(struct rumor_view *v, unsigned n, uint32_t exclude, uint32_t *out,
		    size_t *n_out);

/* Take the oldest message the view wants sent. Returns 0, or -EAGAIN when the outbox is
 * empty. */
int rumor_view_outbox_pop(struct rumor_view *v, struct rumor_view_msg *out);

/* Messages waiting in the outbox. */
size_t rumor_view_outbox_len(const struct rumor_view *v);

/* Counters. */
void rumor_view_get_stats(const struct rumor_view *v, struct rumor_view_stats *out);

/* Check @m's fields (type known, flags allowed for the type, n_ids bound, ids non-zero and
 * distinct, src/dst non-zero, origin set where required). Returns 0 or -EINVAL. */
int rumor_view_msg_validate(const struct rumor_view_msg *m);

/* Encode @m (validated first) into @buf. Big-endian layout: version u8, type u8, flags u8,
 * ttl u8, n_ids u16, src u32, dst u32, origin u32, epoch u32, n_ids x id u32, and with
 * F_AGES n_ids x age u8. Returns 0 and the length in *@len, -EINVAL (invalid message),
 * -ENOSPC (@cap too small; RUMOR_VIEW_MSG_MAX_BYTES always suffices). */
int rumor_view_msg_encode(const struct rumor_view_msg *m, uint8_t *buf, size_t cap, size_t *len);

/* Decode exactly @len bytes. Strict: wrong version, unknown type or flags, length not
 * matching n_ids, trailing bytes or anything rumor_view_msg_validate refuses give -EBADMSG.
 * Returns 0 and the message in *@out. */
int rumor_view_msg_decode(const uint8_t *buf, size_t len, struct rumor_view_msg *out);

/* Leader side: compute every member's sample. Member i (members[i], distinct, non-zero)
 * gets its successor in @size independent random cycles over all members, so each node has
 * out-degree and in-degree @size (minus rare collisions, which are dropped), no self, and the
 * overlay is strongly connected. With n - 1 <= @size everybody gets everybody else.
 * Writes member i's ids to ids[i*size ...] and their count to counts[i]. Deterministic in
 * @seed. Returns 0, -EINVAL (n == 0, size 0 or > RUMOR_VIEW_MSG_MAX_IDS), -ENOMEM. */
int rumor_view_leader_samples(const uint32_t *members, size_t n, unsigned size, uint64_t seed,
			      uint32_t *ids, uint16_t *counts);

/* Build the VIEW_ASSIGN message carrying @count ids from @leader to @dst with @epoch.
 * Returns 0 or -EINVAL (count too large, zero ids). */
int rumor_view_leader_assign_msg(uint32_t leader, uint32_t dst, uint32_t epoch,
				 const uint32_t *ids, unsigned count, struct rumor_view_msg *out);

#endif
