/* Frames held for peers whose MAC ARP has not resolved yet (issue 18), as Linux holds a few
 * packets per unresolved neighbour (unres_qlen): per peer a FIFO of at most DP_ARP_HOLD
 * objects with the time each came in. Pure C over void * (rumor-dp holds built mbufs, the
 * unit test plain pointers): the caller frees and counts what it is handed back. One per
 * worker, touched by its lcore only: no locks, no atomics. */
#ifndef DP_HOLD_H
#define DP_HOLD_H

#include <stdint.h>

#include "dp_arp.h"

/* Frames held per peer. One ARP exchange on a segment takes well under a millisecond
 * and the first request goes out on the pass that finds the entry unresolved, so 16 covers
 * an exchange at some 16,000+ frames/s to that one peer (a frame carries many events);
 * beyond that the peer is slow or down and pulls / repair recover what the hold drops.
 * 16 x 64 peers x 2 mbufs (header + body) = 2048 mbufs per worker at worst, a quarter of
 * the header pool (8191), and each held body pins its store slot until it goes out. */
#define DP_ARP_HOLD 16
#define DP_HOLD_PEERS DP_ARP_MAX   /* peers with frames held at once (the ARP table's size) */

struct dp_hold_ent {
	void *obj;
	uint64_t t;                /* when it was held (caller's time unit) */
};

struct dp_hold_q {
	uint16_t id;               /* the peer */
	uint8_t head, len;         /* ring of DP_ARP_HOLD */
	struct dp_hold_ent e[DP_ARP_HOLD];
};

struct dp_hold {
	uint64_t age;              /* held longer than this: dp_hold_expire hands it back */
	uint32_t total;            /* objects held, all peers (0: nothing to look at) */
	uint16_t nq;               /* queues in use: q[0..nq-1], none empty */
	struct dp_hold_q q[DP_HOLD_PEERS];
};

/* Empty, with objects older than @age (> 0) handed back by dp_hold_expire. */
void dp_hold_init(struct dp_hold *h, uint64_t age);

/* Hold @obj for peer @id at @now, after the ones held before. Returns 0 (held; *@evicted
 * NULL), 1 (held; the peer's queue was full and *@evicted is its oldest, now out of the
 * hold: the caller drops it), or -ENOSPC (DP_HOLD_PEERS other peers hold frames: @obj is
 * not held, the caller drops it). A full queue drops its oldest: the newest frames carry
 * the latest seqs and clock, so the peer sees at once what it lacks below them and pulls
 * it, and the oldest are the nearest to the age bound anyway. */
int dp_hold_put(struct dp_hold *h, uint16_t id, void *obj, uint64_t now, void **evicted);

/* Peer @id's objects, oldest first, into @out (DP_ARP_HOLD entries): the queue is then
 * empty and gone (the others may move: see dp_hold_peer). Returns how many (0: none). */
unsigned dp_hold_take(struct dp_hold *h, uint16_t id, void **out);

/* Objects held longer than the age bound at @now (from any queue, each queue's oldest first)
 * into @out, at most @max. Returns how many; call again while it returns @max. */
unsigned dp_hold_expire(struct dp_hold *h, uint64_t now, void **out, unsigned max);

/* Objects held for @id. */
unsigned dp_hold_count(const struct dp_hold *h, uint16_t id);

/* The peer of queue @i (< h->nq). dp_hold_take of queue i moves the last queue into i:
 * walk from nq - 1 down to 0 to visit each once while taking. */
static inline uint16_t dp_hold_peer(const struct dp_hold *h, unsigned i)
{
	return h->q[i].id;
}

#endif
