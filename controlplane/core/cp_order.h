/* cp_order: the leader's ordering service. Turns new-event reports into batches that are
 * linear extensions of happened-before, with a deterministic tie-break (see README.md). */
#ifndef CP_ORDER_H
#define CP_ORDER_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "cp_batch.h"
#include "rumor_eventid.h"
#include "rumor_vc.h"

/* Most distinct reporters whose holdings are counted (voters must fit in here). */
#define CP_ORDER_MAX_REPORTERS 64u

struct cp_order_config {
	uint32_t max_pending;       /* events held at once (pending + ready + cut) */
	uint16_t max_clock_entries; /* timestamp entries stored per event (<= 256) */
	uint32_t batch_max_events;  /* cut as soon as this many events are ready */
	uint64_t batch_max_us;      /* ... or this long after the first ready event */
	uint64_t gap_timeout_us;    /* missing origin seq blocking others -> skip record; head
				       waiting on a (node, counter) nobody reported -> reject */
	uint64_t phantom_skip_max;  /* a head waiting past gap_timeout_us on a voter's (n, c)
				       that nobody reported, with c at most this far above what
				       is ordered of n: n's seqs through c are skipped (one
				       record) instead of the head being rejected */
	bool skip_needs_passes;     /* a skip, phantom skip or reject also waits until a majority
				       of voters re-reported all they hold since the gap began
				       (cp_order_pass): none of what they hold is skipped, so no
				       event a majority holds on disk is (rumor-cp sets it). Not
				       for an event its origin did not vouch for here: no leader
				       acked it durable (that needs the commit), and a new leader
				       cut off from its origin would wait for good */
	uint64_t held_wait_us;      /* with skip_needs_passes: a confirmed event that some voter
				       still reports is not skipped until it has waited this long
				       (0: no wait). A durable event that a fault left on fewer
				       than a majority of disks is repaired from the copy left,
				       not skipped; bounded, so a holder that never serves it
				       cannot wedge the order (off in rumor-cp: controlplane/README.md) */
	unsigned debug_flip_sort;   /* TESTS ONLY: planted bug, reverses the tie-break key
				       and trusts it (no availability check) */
	unsigned debug_any_reporter;/* TESTS ONLY: any holder's first report names the id (the
				       rule before issue 14), for tests of readiness and gaps
				       that never let the origin report */
};

/* Defaults: 65536 pending, 64 entries, 4096 events / 2 ms, 500 ms gap timeout, phantom skips
 * of up to 2^20 seqs. */
void cp_order_config_default(struct cp_order_config *cfg);

/* One new-event report (C++ callers write `struct cp_order_report`: the function has the
 * same name). @ts is the event's timestamp (origin's clock at creation; it must
 * hold ts[origin] == seq). @reporter_clock is optional (NULL: not merged); a dataplane
 * batch of reports should carry it once, see cp_order_merge_clock(). */
struct cp_order_report {
	struct rumor_event_id id;
	uint64_t seq;
	const struct rumor_vc *ts;
	const struct rumor_vc *reporter_clock;
	uint16_t origin;
	uint16_t reporter;
};

struct cp_order_stats {
	uint64_t reports;          /* accepted reports (including repeats) */
	uint64_t events_created;   /* distinct events entered into the table */
	uint64_t stale;            /* reports for an already ordered (origin, seq): ignored */
	uint64_t refused_nobufs;   /* refused: max_pending or per-origin window full */
	uint64_t refused_invalid;  /* refused: bad origin/seq/clock */
	uint64_t conflicts;        /* same (origin, seq) reported with a different id */
	uint64_t forged;           /* reporters that held another id than the origin's own
				      (each counted once per event) */
	uint64_t replaced;         /* candidates that holders reported first, replaced by the
				      origin's own report of another id */
	uint64_t wrong_notices;    /* cp_order_wrong_holders() notices handed out */
	uint64_t uncounted;        /* reports from reporters beyond CP_ORDER_MAX_REPORTERS */
	uint64_t skips_deferred;   /* order cuts at which a due skip or reject waited for a
				      majority of re-report passes (skip_needs_passes) */
	uint64_t batches;          /* batches cut */
	uint64_t events_cut;       /* events put into batches */
	uint64_t skips;            /* skip records emitted */
	uint64_t rejects;          /* reject records emitted: timestamp names what no member
				      reported, for gap_timeout_us */
	uint64_t phantom_skips;    /* skip records for a voter's seqs that a timestamp named
				      and nobody reported (see phantom_skip_max) */
	uint64_t committed;        /* events released by cp_order_committed() */
	uint32_t pending;          /* events in the table now */
	uint32_t ready;            /* ready, not cut yet */
};

struct cp_order;

/* Create an ordering service. Returns 0 or -EINVAL (zero bounds, max_clock_entries over
 * RUMOR_VC_MAX_ENTRIES), -ENOMEM. *@out is set on success. */
int cp_order_create(const struct cp_order_config *cfg, struct cp_order **out);
void cp_order_destroy(struct cp_order *o);

/* Forget every event and watermark (leadership lost or just gained). Keeps the config,
 * the voters and stats. Follow with cp_order_set_ordered() from the fsm's watermarks. */
void cp_order_reset(struct cp_order *o);

/* Set the voters whose holdings count toward the majority (n <= CP_ORDER_MAX_REPORTERS).
 * Majority is n/2 + 1. Holdings reported earlier by a node that becomes a voter count at
 * once. Returns 0, -EINVAL (n == 0, id 0 or out of range), -ENOSPC (too many distinct
 * reporters ever seen to give each voter a slot). */
int cp_order_set_voters(struct cp_order *o, const uint16_t *ids, unsigned n);

/* @reporter has re-reported everything it holds (its reports came before this, on the same
 * link). Returns 0 or -EINVAL. */
int cp_order_pass(struct cp_order *o, uint16_t reporter, uint64_t now_us);

/* Declare (origin, 1..seq) already ordered (from cp_fsm watermarks on becoming leader).
 * Raising is idempotent; lowering is ignored. Returns 0 or -EINVAL. */
int cp_order_set_ordered(struct cp_order *o, uint16_t origin, uint64_t seq);

/* Record one report at time @now_us. Only the origin's own report (reporter == origin)
 * names an event's id: before it comes, holders' reports are candidates that count for
 * nothing; it fixes the id (its timestamp replaces a candidate's of another id), and from
 * then on only reports of that id count toward the majority. Reports of another id are
 * -EEXIST and their reporters are told (cp_order_wrong_holders) until they report the right
 * one. An unconfirmed event is never ready: like a minority-held one it is skipped at the
 * gap timeout when something waits behind it. Returns
 *   0         accepted (or ignored as stale / repeat: see stats)
 *   -EINVAL   origin/reporter 0 or out of range, seq 0, ts NULL or ts[origin] != seq
 *   -E2BIG    ts has more entries than max_clock_entries
 *   -ENOBUFS  max_pending reached (counted in refused_nobufs)
 *   -EEXIST   (origin, seq) known with a different id (counted in conflicts)
 *   -ENOMEM. */
int cp_order_report(struct cp_order *o, const struct cp_order_report *r, uint64_t now_us);

/* Merge a reporter's current clock into the global vector clock. Returns 0. */
int cp_order_merge_clock(struct cp_order *o, const struct rumor_vc *clock);

/* Cut a batch when due: batch_max_events ready, or batch_max_us since the first ready event,
 * or a gap timed out (skip record), or an impossible timestamp timed out (reject record:
 * the event's timestamp names a (node, counter) above every seq of that node reported,
 * skipped or ordered), or @force and anything is ready. Appends records to @out
 * (cleared first). Returns the number of records (0: nothing due) or -ENOMEM.
 * Cut events stay held until cp_order_committed(); they count as ordered for readiness. */
int cp_order_cut(struct cp_order *o, uint64_t now_us, int force, struct cp_batch *out);

/* Microseconds until the next cut is due (0: due now), UINT64_MAX when nothing is waiting
 * for time. Lets an event loop set its timer. */
uint64_t cp_order_next_deadline(const struct cp_order *o, uint64_t now_us);

/* A batch was committed (from any leader): raise the ordered watermarks and free its events.
 * Call it for every committed batch in log order (cp_fsm's on_commit hook does). */
void cp_order_committed(struct cp_order *o, const struct cp_batch *b);

/* Events held longer than @min_age_us without becoming ready: cb(arg, id, origin, seq,
 * holders, age_us) for each. Returns how many. */
typedef void (*cp_order_stuck_cb)(void *arg, const struct rumor_event_id *id, uint16_t origin,
				  uint64_t seq, unsigned holders, uint64_t age_us);
unsigned cp_order_stuck(const struct cp_order *o, uint64_t now_us, uint64_t min_age_us,
			cp_order_stuck_cb cb, void *arg);

/* A run of an origin's seqs that blocks the order because some, but not a majority of, the
 * voters hold it: the origin acknowledged those events, so before the gap timeout would skip
 * them the caller asks @holder to send them to the @missing voters. */
struct cp_order_repair {
	uint16_t origin;
	uint16_t holder;       /* the origin itself when it holds the run, else the lowest id */
	uint64_t first_seq;
	uint64_t last_seq;
	unsigned nmissing;
	uint16_t missing[CP_ORDER_MAX_REPORTERS];
};
typedef void (*cp_order_repair_cb)(void *arg, const struct cp_order_repair *r);
/* Every event among each origin's next @max_seqs unordered seqs that a minority of voters
 * holds, that was first reported at least @min_age_us ago and not asked for within
 * @retry_us (a slow receiver must not be flooded with the same frames), as runs of
 * consecutive seqs with one holder set, one call each; the events are marked asked now.
 * Seqs nobody reported are left to the gap timeout. Returns the number of runs. */
unsigned cp_order_repairs(struct cp_order *o, uint64_t now_us, uint64_t min_age_us,
			  uint64_t retry_us, uint32_t max_seqs, cp_order_repair_cb cb, void *arg);

/* Holders that reported another id than the origin's for a pending event: each is told the
 * right id and the origin's timestamp (@ts valid during the call) so that it drops its
 * bytes, fetches the right ones and reports them. Looks at each origin's next @max_seqs
 * unordered seqs; an event is told again after @retry_us. Returns notices handed out. */
struct cp_order_notice {
	uint16_t origin;
	uint16_t holder;
	uint64_t seq;
	struct rumor_event_id id;
	const struct rumor_vc *ts;
};
typedef void (*cp_order_notice_cb)(void *arg, const struct cp_order_notice *n);
unsigned cp_order_wrong_holders(struct cp_order *o, uint64_t now_us, uint64_t retry_us,
				uint32_t max_seqs, cp_order_notice_cb cb, void *arg);

void cp_order_get_stats(const struct cp_order *o, struct cp_order_stats *st);

/* Copy of the merged global vector clock. Returns 0 or -ENOSPC (over RUMOR_VC_MAX_ENTRIES). */
int cp_order_global_clock(const struct cp_order *o, struct rumor_vc *out);

/* What one origin's queue looks like, for operators chasing a stalled order. */
struct cp_order_origin_info {
	uint64_t ordered;      /* committed through */
	uint64_t ready_through;/* ordered, cut or ready through */
	uint64_t durable_through; /* seqs in (durable_floor, durable_through] are committed
				     as events (ordered as themselves); == ordered */
	uint64_t durable_floor;   /* at or below, the origin's own apply says (a skip or a
				     reject may be there) */
	uint64_t max_seq;      /* highest seq reported */
	uint32_t held;         /* events in the table */
	uint16_t wait_node;    /* the head waits for (wait_node, wait_ctr); 0: not waiting */
	uint64_t wait_ctr;
	int gap;               /* the head is missing or minority-held and being timed */
	int head_state;        /* the head event's state (-1: absent) */
	unsigned head_holders; /* voters holding it */
	uint64_t gap_age_us;   /* how long the gap has been timed */
};
/* Returns 0, or -ENOENT when the origin has nothing in the table. */
int cp_order_origin_info(const struct cp_order *o, uint16_t origin,
			 struct cp_order_origin_info *out);

/* Per-origin watermark: highest seq ordered (committed) through. */
uint64_t cp_order_ordered_through(const struct cp_order *o, uint16_t origin);

#endif
