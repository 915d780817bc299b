/* cp_gcfloor: how far this node may delete its payload log. A segment may go only when this
 * node's older snapshot covers it AND every member heard from lately has applied it: a
 * member that lags (a node that joined and fetches what it missed, a restarted one) asks
 * peers for exactly those payloads, and once every peer deleted one it waits forever.
 * Members tell each other their applied watermarks (CP_APP_APPLIED) every second. Pure. */
#ifndef CP_GCFLOOR_H
#define CP_GCFLOOR_H

#include <stddef.h>
#include <stdint.h>

#include "rumor_vc.h"

#define CP_GCFLOOR_PEERS 64              /* members whose watermarks are kept */
#define CP_GCFLOOR_LIVE_MS 30000u        /* a member silent this long no longer holds GC back */
#define CP_GCFLOOR_PERIOD_MS 1000u       /* how often a member tells its watermarks */
/* APPLIED: u16 n, then n * (u16 origin, u64 applied through); origins not named: 0 */
#define CP_GCFLOOR_ENTRY 10u
#define CP_GCFLOOR_MSG_MAX (2u + (RUMOR_NODE_ID_MAX + 1u) * CP_GCFLOOR_ENTRY)

struct cp_gcfloor_peer {
	uint16_t id;                     /* 0: free */
	uint64_t heard_ms;
	uint64_t *through;               /* [RUMOR_NODE_ID_MAX + 1] */
};

struct cp_gcfloor {
	struct cp_gcfloor_peer peer[CP_GCFLOOR_PEERS];
	uint16_t held_by;                /* the last apply: a member that kept a segment (0: none) */
	uint64_t held_count;             /* applies a member held back */
	uint64_t bad_msgs;
};

void cp_gcfloor_fini(struct cp_gcfloor *g);

/* The message telling @through (nonzero entries only). Returns its length, or 0 if @cap
 * is short. */
size_t cp_gcfloor_encode(const uint64_t *through, uint8_t *out, size_t cap);

/* Keep what member @from applied (its APPLIED message). Returns 0, -EINVAL (malformed:
 * counted, nothing kept) or -ENOMEM (no room for another member). */
int cp_gcfloor_note(struct cp_gcfloor *g, uint16_t from, const uint8_t *p, size_t len,
		    uint64_t now_ms);

/* Forget a member (removed from the cluster). */
void cp_gcfloor_forget(struct cp_gcfloor *g, uint16_t id);

/* Lower @covered[origin] (RUMOR_NODE_ID_MAX + 1 entries) to what every member heard from
 * within CP_GCFLOOR_LIVE_MS of @now_ms has applied. */
void cp_gcfloor_apply(struct cp_gcfloor *g, uint64_t *covered, uint64_t now_ms);

#endif
