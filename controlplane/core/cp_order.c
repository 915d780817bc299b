/* cp_order: readiness tracking with per-origin dense windows and wait lists, and the
 * deterministic k-way merge (Kahn's algorithm over per-origin heads) that cuts batches. */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cp_order.h"

#define NORIG (RUMOR_NODE_ID_MAX + 1u)
#define SKIP_RESERVE 1024u
#define NONE32 UINT32_MAX

/* EV_REJECT: a majority holds it but its timestamp names what nobody reported; it leaves
 * the order as a reject record and counts as a real event until freed.
 * EV_SKIP / EV_SKIP_CUT: a run seq..last of seqs given up on. It is not in the ring (a run
 * can be far longer than any ring) but in its origin's skip list, in seq order. */
enum {
	EV_FREE = 0, EV_PENDING, EV_READY, EV_CUT, EV_SKIP, EV_SKIP_CUT, EV_REJECT, EV_REJECT_CUT
};

struct ev {
	struct rumor_event_id id;
	struct rumor_event_id alt_id; /* a second id holders reported before the origin did */
	uint64_t seq;
	uint64_t sum;
	uint64_t holders;    /* reporters of id (the only ones counted once confirmed) */
	uint64_t alt;        /* reporters of alt_id (0: none) */
	uint64_t wrong;      /* reporters of another id than the origin's: told to fetch it */
	uint64_t notice_at;  /* when they were last told (0: never) */
	uint64_t first_seen;
	uint64_t repair_at;  /* when a repair was last asked for it (0: never) */
	uint64_t last;       /* a skip's last seq */
	uint64_t dep_base;   /* dependency counters are stored as offsets from this (at most
				their min; dep_dense: at most seq - 1 too) */
	uint32_t next_free;  /* free list; a skip's next in its origin's skip list */
	uint16_t origin;
	uint16_t ts_n;       /* dependencies stored (dep_dense: lanes, the origin's included) */
	uint16_t dep_n0;     /* dep_dense: lane i is node dep_n0 + i */
	uint16_t check_pos;
	uint8_t state;
	uint8_t confirmed;   /* id is the one the origin itself reported */
	uint8_t dep_wide : 1;  /* some offset needs more than 32 bits: the high halves are stored */
	uint8_t dep_dense : 1; /* the clock's nodes are a run n0, n0 + 1, ...: no node ids stored;
				  the origin's lane holds offset 0, a counter of at most seq - 1,
				  so that it always passes (the event is checked as its origin's
				  next) and the checks need no mask for it */
	uint8_t cut_sure : 1;  /* when it became ready, every ready event not cut yet had a
				  smaller key: a cut that pops it with nothing deferred needs no
				  availability check (key_sure) */
};

struct orig {
	uint64_t ordered;   /* committed through */
	uint64_t cut;       /* put in batches through (>= ordered) */
	uint64_t max_seq;   /* highest seq held */
	uint64_t wait_ctr;
	uint64_t gap_since; /* time a gap at the head was first seen, valid when gap_on */
	uint64_t imp_since; /* time the head started waiting on the impossible (imp_on) */
	uint64_t imp_seq;   /* ... and which seq that head is */
	uint64_t refused_max; /* highest seq refused only because max_pending was full: it
				 exists, and its reporter re-reports it */
	uint64_t dfloor;    /* committed through here, a skip or reject may lie among the seqs
			       (the watermark at leadership, the last committed skip or reject):
			       the origin learns those from its own apply */
	/* event index + 1 by seq & (ring_cap - 1); 0 = empty. It covers (base, base + ring_cap]
	 * only, base >= ordered: an origin that jumps far ahead while nothing of it is held moves
	 * the window instead of growing the ring over the gap. */
	uint32_t *ring;
	uint64_t base;
	uint64_t ring_hi;   /* highest seq placed since the ring was last empty */
	uint32_t ring_cap;
	uint32_t held;      /* events in the ring */
	uint32_t skip_head; /* skip list (pool indices), oldest first; NONE32 = empty */
	uint32_t skip_tail;
	uint32_t skip_next; /* first skip not cut yet, NONE32 = none */
	uint16_t wait_node; /* head blocked on (wait_node, wait_ctr); 0 = not waiting */
	uint16_t wait_next; /* next origin waiting on the same node */
	uint16_t waiters;   /* first origin waiting on this one */
	uint64_t reject_lo, reject_hi; /* uncommitted rejects lie in [lo, hi] (0: none) */
	uint8_t gap_on;
	uint8_t imp_on;
	uint8_t queued;
};

struct cp_order {
	struct cp_order_config cfg;
	struct cp_order_stats st;
	uint64_t now;
	uint64_t first_ready; /* valid when st.ready > 0 */
	uint64_t voter_mask;
	unsigned majority;    /* 0: no voters, nothing is ever ready */
	unsigned nslots;
	uint8_t slot_of[NORIG]; /* reporter slot + 1, 0 = none */
	uint64_t pass_us[CP_ORDER_MAX_REPORTERS]; /* a reporter's last complete re-report */
	uint16_t node_of[CP_ORDER_MAX_REPORTERS]; /* reporter slot -> node id */
	uint32_t ring_max;
	uint32_t pool_size;
	uint32_t free_head;
	uint32_t npending_real; /* non-skip events held */
	unsigned skips_new;     /* skip records created since the last cut */
	uint16_t max_origin;
	uint16_t ts_n_guess;    /* entries of the last timestamp loaded: the next is likely alike */
	struct ev *pool;
	/* Dependencies of pool slot i: nodes at ts_node[i * max_clock_entries ...], counters as
	 * offsets from the event's dep_base: low 32 bits at ts_dep[i * 2 * max_clock_entries ...],
	 * the high halves (dep_wide only) in the max_clock_entries words after them. An event
	 * whose counters lie within 2^32 of each other (the usual case) touches 6 B per entry,
	 * not 10. */
	uint16_t *ts_node;
	uint32_t *ts_dep;
	uint64_t rt[NORIG];     /* ready-or-ordered through, dense for the dependency check */
	uint64_t cutv[NORIG];   /* mirror of og[].cut, dense for the availability check */
	uint64_t hkey[NORIG];   /* sum key of the origin's head while it sits in the heap */
	/* The largest (sum, origin) key of the events made ready since nothing was ready: an
	 * upper bound of the keys still to be cut, for key_sure(). */
	uint64_t gkey_sum;
	uint16_t gkey_origin;
	/* Ready log: while every event made ready had a larger key than all ready and uncut
	 * ones (rlog_ok), the ready events in the order they became ready (pool indices,
	 * [rlog_pos, rlog_n)) are already in the order the heap would pop them: a cut walks
	 * it instead. Any event made ready out of key order, or freed uncut, turns it off until
	 * nothing is ready. */
	uint32_t *rlog;
	uint32_t rlog_pos, rlog_n;
	bool rlog_ok;
	struct orig og[NORIG];
	uint16_t work[NORIG];
	unsigned nwork;
	uint16_t heap[NORIG];
	uint16_t defer[NORIG];
	struct rumor_vc_dense gclock;
	struct rumor_vc notice_ts; /* scratch for cp_order_wrong_holders() */
};

void cp_order_config_default(struct cp_order_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_pending = 65536;
	cfg->max_clock_entries = 64;
	cfg->batch_max_events = 4096;
	cfg->batch_max_us = 2000;
	cfg->gap_timeout_us = 500000;
	cfg->phantom_skip_max = 1u << 20;
}

int cp_order_create(const struct cp_order_config *cfg, struct cp_order **out)
{
	if (!cfg->max_pending || !cfg->batch_max_events || !cfg->max_clock_entries ||
	    cfg->max_clock_entries > RUMOR_VC_MAX_ENTRIES || cfg->max_pending > (1u << 28))
		return -EINVAL;
	struct cp_order *o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->cfg = *cfg;
	o->pool_size = cfg->max_pending + SKIP_RESERVE;
	o->pool = calloc(o->pool_size, sizeof(*o->pool));
	o->ts_node = malloc((size_t)o->pool_size * cfg->max_clock_entries * sizeof(uint16_t));
	o->ts_dep = malloc((size_t)o->pool_size * cfg->max_clock_entries * 2 * sizeof(uint32_t));
	o->rlog = malloc((size_t)o->pool_size * sizeof(*o->rlog));
	o->rlog_ok = true;
	if (!o->pool || !o->ts_node || !o->ts_dep || !o->rlog) {
		cp_order_destroy(o);
		return -ENOMEM;
	}
	uint32_t rm = 16;
	while (rm < cfg->max_pending)
		rm *= 2;
	o->ring_max = rm;
	for (uint32_t i = 0; i < o->pool_size; i++)
		o->pool[i].next_free = i + 1 < o->pool_size ? i + 1 : NONE32;
	o->free_head = 0;
	for (unsigned i = 0; i < NORIG; i++)
		o->og[i].skip_head = o->og[i].skip_tail = o->og[i].skip_next = NONE32;
	rumor_vc_dense_init(&o->gclock);
	*out = o;
	return 0;
}

void cp_order_destroy(struct cp_order *o)
{
	if (!o)
		return;
	for (unsigned i = 0; i < NORIG; i++)
		free(o->og[i].ring);
	free(o->pool);
	free(o->ts_node);
	free(o->ts_dep);
	free(o->rlog);
	free(o);
}

/* rumor_event_id_equal() inlined: it runs at every report */
static inline bool id_equal(const struct rumor_event_id *a, const struct rumor_event_id *b)
{
	return a->hi == b->hi && a->lo == b->lo;
}

static inline uint32_t ring_get(const struct orig *g, uint64_t seq)
{
	if (!g->ring || seq <= g->base || seq - g->base > g->ring_cap)
		return NONE32;
	uint32_t v = g->ring[seq & (g->ring_cap - 1)];
	return v ? v - 1 : NONE32;
}

static inline const uint16_t *dep_nodes(const struct cp_order *o, uint32_t idx)
{
	return o->ts_node + (size_t)idx * o->cfg.max_clock_entries;
}

static inline const uint32_t *dep_lo(const struct cp_order *o, uint32_t idx)
{
	return o->ts_dep + (size_t)idx * 2 * o->cfg.max_clock_entries;
}

/* Node of event @idx's dependency @i (dense: lane i; the origin's lane is no dependency). */
static inline uint16_t dep_node(const struct cp_order *o, const struct ev *e, uint32_t idx,
				unsigned i)
{
	return e->dep_dense ? (uint16_t)(e->dep_n0 + i) : dep_nodes(o, idx)[i];
}

static inline bool dep_is_own(const struct ev *e, unsigned i)
{
	return e->dep_dense && e->dep_n0 + i == e->origin;
}

/* Counter of event @idx's dependency @i. */
static inline uint64_t dep_ctr(const struct cp_order *o, const struct ev *e, uint32_t idx,
			       unsigned i)
{
	const uint32_t *lo = dep_lo(o, idx);
	uint64_t d = lo[i];
	if (e->dep_wide)
		d |= (uint64_t)lo[o->cfg.max_clock_entries + i] << 32;
	return e->dep_base + d;
}

/* First dependency of event @idx from @i on whose counter @have (rt or cutv) does not
 * cover yet, e->ts_n when none. */
static inline unsigned dep_first_unmet(const struct cp_order *o, const struct ev *e,
				       uint32_t idx, unsigned i, const uint64_t *have)
{
	const uint16_t *nodes = dep_nodes(o, idx);
	const uint32_t *lo = dep_lo(o, idx);
	unsigned n = e->ts_n;
	uint64_t b = e->dep_base;

	if (e->dep_dense) {
		/* the counters are next to each other in @have too: every lane in one
		 * branch-free pass without gathers (it vectorizes), the origin's never counts */
		const uint64_t *h = have + e->dep_n0;
		unsigned own = e->origin - e->dep_n0, bad = 0;
		for (unsigned j = i; j < n; j++)
			bad |= h[j] < b + lo[j];
		if (!bad)
			return n;
		while (i < n && (i == own || h[i] >= b + lo[i]))
			i++;
		return i;
	}
	if (!e->dep_wide) {
		/* eight at a time without a branch each (the loop ran at a taken branch an
		 * entry), then the exact place within the block that has an unmet one */
		for (; i + 8 <= n; i += 8) {
			unsigned bad = 0;
			for (unsigned j = i; j < i + 8; j++)
				bad |= have[nodes[j]] < b + lo[j];
			if (bad)
				break;
		}
		while (i < n && have[nodes[i]] >= b + lo[i])
			i++;
		return i;
	}
	while (i < n && have[nodes[i]] >= dep_ctr(o, e, idx, i))
		i++;
	return i;
}

/* Event @e of origin @p becomes ready now, its dependencies met. Will it be available
 * whenever a cut pops it from the heap with no head deferred? Yes if every event that is
 * ready and not cut yet has a smaller key (sum, origin) than it: such an event at or below
 * one of its dependencies' counters is ready now (rt covers it), so if it were still uncut
 * at that pop, its origin's head (ready, in the heap: nothing is deferred) would have a key
 * at most its own and the heap would have popped that head first. Honest clocks make events
 * ready roughly in key order, so this O(1) bound (the largest key made ready since nothing
 * was ready) usually holds; when it does not, the cut checks as before. (A bound per node
 * depended on cost a pass per event and, with clocks that name every node, held no more
 * often.) */
static bool key_sure(const struct cp_order *o, const struct ev *e, uint16_t p)
{
	return o->gkey_sum < e->sum || (o->gkey_sum == e->sum && o->gkey_origin < p);
}

static void ev_free(struct cp_order *o, uint32_t idx)
{
	struct ev *e = &o->pool[idx];
	struct orig *g = &o->og[e->origin];
	if (e->state == EV_READY) {
		o->st.ready--;
		o->rlog_ok = false; /* it may sit in the ready log */
	}
	if (e->state != EV_SKIP && e->state != EV_SKIP_CUT) {
		o->npending_real--;
		g->ring[e->seq & (g->ring_cap - 1)] = 0;
		g->held--;
	}
	o->st.pending--;
	e->state = EV_FREE;
	e->next_free = o->free_head;
	o->free_head = idx;
}

/* Slot allocation: skips may use the reserve, events only up to max_pending. */
static uint32_t ev_alloc(struct cp_order *o, int skip)
{
	if (!skip && o->npending_real >= o->cfg.max_pending)
		return NONE32;
	uint32_t idx = o->free_head;
	if (idx == NONE32)
		return NONE32;
	o->free_head = o->pool[idx].next_free;
	if (!skip)
		o->npending_real++;
	o->st.pending++;
	return idx;
}

/* Put event @idx at @seq (> g->ordered) into g's ring. The window (base, base + cap] must
 * cover every held seq; growing it costs the old ring's size, never the seqs in between.
 * Returns 0, -ENOBUFS (held seqs would span more than ring_max) or -ENOMEM. */
static int ring_place(struct cp_order *o, struct orig *g, uint64_t seq, uint32_t idx)
{
	if (!g->held) {
		/* nothing held: re-anchor just below seq, whatever gap lies behind it */
		g->base = seq - 1;
		g->ring_hi = seq;
	}
	uint64_t lo = seq <= g->base ? seq - 1 : g->base;
	uint64_t hi = seq > g->ring_hi ? seq : g->ring_hi;
	uint64_t span = hi - lo;
	if (span > o->ring_max)
		return -ENOBUFS;
	if (!g->ring || span > g->ring_cap) {
		uint32_t cap = g->ring_cap ? g->ring_cap : 64;
		while (cap < span)
			cap *= 2;
		uint32_t *r = calloc(cap, sizeof(*r));
		if (!r)
			return -ENOMEM;
		if (g->ring) {
			for (uint32_t i = 0; i < g->ring_cap; i++) {
				uint32_t v = g->ring[i];
				if (v)
					r[o->pool[v - 1].seq & (cap - 1)] = v;
			}
			free(g->ring);
		}
		g->ring = r;
		g->ring_cap = cap;
	}
	g->base = lo;
	g->ring_hi = hi;
	g->ring[seq & (g->ring_cap - 1)] = idx + 1;
	if (seq > g->max_seq)
		g->max_seq = seq;
	g->held++;
	return 0;
}

/* Lowest seq in [from, limit] with an event in g's ring, limit + 1 when none: a walk over
 * the ring window at most, never over a gap below it. */
static uint64_t next_held(const struct orig *g, uint64_t from, uint64_t limit)
{
	if (!g->held || !g->ring)
		return limit + 1;
	if (from <= g->base)
		from = g->base + 1;
	uint64_t end = g->base + g->ring_cap < limit ? g->base + g->ring_cap : limit;
	for (uint64_t s = from; s <= end; s++)
		if (g->ring[s & (g->ring_cap - 1)])
			return s;
	return limit + 1;
}

/* The uncut skip of g covering @seq, or NONE32. Skip lists are short (one entry per run
 * given up on since the last commit). */
static uint32_t skip_covering(const struct cp_order *o, const struct orig *g, uint64_t seq)
{
	for (uint32_t k = g->skip_next; k != NONE32; k = o->pool[k].next_free) {
		const struct ev *e = &o->pool[k];
		if (seq < e->seq)
			break;
		if (seq <= e->last)
			return k;
	}
	return NONE32;
}

/* Only the origin's own report names the id (issue 14: every member holds the gossip key,
 * so a frame's seal does not say who made it): until the origin reported, nothing counts. */
static inline int held_by_majority(const struct cp_order *o, const struct ev *e)
{
	return o->majority && e->confirmed &&
	       (unsigned)__builtin_popcountll(e->holders & o->voter_mask) >= o->majority;
}

static void push_work(struct cp_order *o, uint16_t p)
{
	if (!o->og[p].queued) {
		o->og[p].queued = 1;
		o->work[o->nwork++] = p;
	}
}

static void unwait(struct cp_order *o, uint16_t p)
{
	struct orig *g = &o->og[p];
	uint16_t n = g->wait_node;
	if (!n)
		return;
	uint16_t *link = &o->og[n].waiters;
	while (*link && *link != p)
		link = &o->og[*link].wait_next;
	if (*link == p)
		*link = g->wait_next;
	g->wait_node = 0;
	g->wait_next = 0;
}

/* n's ready-through grew: move satisfied waiters to the work stack. */
static void wake(struct cp_order *o, uint16_t n)
{
	uint16_t *link = &o->og[n].waiters;
	while (*link) {
		uint16_t p = *link;
		struct orig *g = &o->og[p];
		if (g->wait_ctr <= o->rt[n]) {
			*link = g->wait_next;
			g->wait_node = 0;
			g->wait_next = 0;
			push_work(o, p);
		} else {
			link = &g->wait_next;
		}
	}
}

/* Make as many of p's next events ready as their holders and dependencies allow. */
static void advance(struct cp_order *o, uint16_t p)
{
	struct orig *g = &o->og[p];
	if (g->wait_node)
		return;
	uint64_t before = o->rt[p];
	for (;;) {
		uint64_t s = o->rt[p] + 1;
		uint32_t idx = ring_get(g, s);
		if (idx == NONE32)
			break;
		struct ev *e = &o->pool[idx];
		if (e->state == EV_SKIP || e->state == EV_REJECT) {
			o->rt[p] = s;
			continue;
		}
		if (e->state != EV_PENDING || !held_by_majority(o, e))
			break;
		unsigned i = dep_first_unmet(o, e, idx, e->check_pos, o->rt);
		e->check_pos = (uint16_t)i;
		if (i < e->ts_n) {
			uint16_t n = dep_node(o, e, idx, i);
			g->wait_node = n;
			g->wait_ctr = dep_ctr(o, e, idx, i);
			g->wait_next = o->og[n].waiters;
			o->og[n].waiters = p;
			break;
		}
		e->state = EV_READY;
		e->cut_sure = !o->cfg.debug_flip_sort && key_sure(o, e, p);
		if (e->cut_sure && o->rlog_ok)
			o->rlog[o->rlog_n++] = idx; /* above every ready uncut key: last of them */
		else
			o->rlog_ok = false;
		if (e->sum > o->gkey_sum || (e->sum == o->gkey_sum && p > o->gkey_origin)) {
			o->gkey_sum = e->sum;
			o->gkey_origin = p;
		}
		if (o->st.ready++ == 0)
			o->first_ready = o->now;
		o->rt[p] = s;
	}
	if (o->rt[p] != before) {
		g->gap_on = 0;
		wake(o, p);
	}
}

static void run_work(struct cp_order *o)
{
	while (o->nwork) {
		uint16_t p = o->work[--o->nwork];
		o->og[p].queued = 0;
		advance(o, p);
	}
}

static void note_origin(struct cp_order *o, uint16_t origin)
{
	if (origin > o->max_origin)
		o->max_origin = origin;
}

/* Everything of @origin through @seq is ordered for good. */
static void raise_ordered(struct cp_order *o, uint16_t origin, uint64_t seq)
{
	struct orig *g = &o->og[origin];
	if (seq <= g->ordered)
		return;
	note_origin(o, origin);
	uint64_t from = g->ordered > g->base ? g->ordered : g->base;
	uint64_t end = seq < g->ring_hi ? seq : g->ring_hi;
	if (g->held && end > from) {
		if (end - from >= g->ring_cap) {
			for (uint32_t i = 0; i < g->ring_cap && g->held; i++)
				if (g->ring[i] && o->pool[g->ring[i] - 1].seq <= seq)
					ev_free(o, g->ring[i] - 1);
		} else {
			for (uint64_t s = from + 1; s <= end && g->held; s++) {
				uint32_t idx = ring_get(g, s);
				if (idx != NONE32)
					ev_free(o, idx);
			}
		}
	}
	while (g->skip_head != NONE32) {
		uint32_t k = g->skip_head;
		struct ev *e = &o->pool[k];
		if (e->seq > seq)
			break;
		if (e->last > seq) {
			e->seq = seq + 1; /* the part still to come (a commit ended inside it) */
			break;
		}
		g->skip_head = e->next_free;
		if (g->skip_next == k)
			g->skip_next = g->skip_head;
		if (g->skip_head == NONE32)
			g->skip_tail = NONE32;
		ev_free(o, k);
	}
	if (g->reject_lo && g->reject_lo <= seq) {
		/* conservative: what lies between the next one and reject_hi counts as rejected */
		g->reject_lo = g->reject_hi > seq ? seq + 1 : 0;
		if (!g->reject_lo)
			g->reject_hi = 0;
	}
	g->ordered = seq;
	if (g->base < seq)
		g->base = seq;
	if (g->cut < seq)
		g->cut = o->cutv[origin] = seq;
	if (g->max_seq < seq)
		g->max_seq = seq;
	if (o->rt[origin] < seq) {
		o->rt[origin] = seq;
		g->gap_on = 0;
		if (g->wait_node)
			unwait(o, origin);
		push_work(o, origin);
		wake(o, origin);
	}
}

void cp_order_reset(struct cp_order *o)
{
	/* clear only the ring cells in use (a ring may have grown to megabytes) */
	for (uint32_t i = 0; i < o->pool_size; i++) {
		const struct ev *e = &o->pool[i];
		if (e->state != EV_FREE && e->state != EV_SKIP && e->state != EV_SKIP_CUT) {
			struct orig *g = &o->og[e->origin];
			g->ring[e->seq & (g->ring_cap - 1)] = 0;
		}
	}
	for (unsigned i = 0; i < NORIG; i++) {
		struct orig *g = &o->og[i];
		uint32_t *ring = g->ring;
		uint32_t cap = g->ring_cap;
		memset(g, 0, sizeof(*g));
		g->ring = ring;
		g->ring_cap = cap;
		g->skip_head = g->skip_tail = g->skip_next = NONE32;
		o->rt[i] = 0;
		o->cutv[i] = 0;
	}
	o->gkey_sum = 0;
	o->gkey_origin = 0;
	o->rlog_pos = o->rlog_n = 0;
	o->rlog_ok = true;
	for (uint32_t i = 0; i < o->pool_size; i++) {
		o->pool[i].state = EV_FREE;
		o->pool[i].next_free = i + 1 < o->pool_size ? i + 1 : NONE32;
	}
	o->free_head = 0;
	o->st.pending = o->st.ready = 0;
	o->npending_real = 0;
	o->nwork = 0;
	o->skips_new = 0;
	o->max_origin = 0;
	memset(o->pass_us, 0, sizeof(o->pass_us));
}

static int get_slot(struct cp_order *o, uint16_t node)
{
	if (o->slot_of[node])
		return o->slot_of[node] - 1;
	if (o->nslots >= CP_ORDER_MAX_REPORTERS)
		return -1;
	o->slot_of[node] = (uint8_t)(++o->nslots);
	o->node_of[o->nslots - 1] = node;
	return o->nslots - 1;
}

int cp_order_pass(struct cp_order *o, uint16_t reporter, uint64_t now_us)
{
	int slot;

	if (reporter == 0 || reporter > RUMOR_NODE_ID_MAX || (slot = get_slot(o, reporter)) < 0)
		return -EINVAL;
	o->pass_us[slot] = now_us;
	return 0;
}

/* Voters that have not re-reported everything they hold since @since: they may hold what
 * the order has not heard of. */
static uint64_t unpassed(const struct cp_order *o, uint64_t since)
{
	uint64_t m = 0;

	if (!o->cfg.skip_needs_passes)
		return 0;
	for (uint64_t v = o->voter_mask; v; v &= v - 1)
		if (o->pass_us[__builtin_ctzll(v)] <= since)
			m |= v & -v;
	return m;
}

/* May the order give up on (origin, s), held as @e (NULL: nobody reported it)? Only if it was
 * never on a majority's disks as its origin's event, so never acknowledged as durable:
 * - the origin re-reported all it holds since @since and did not vouch for it (an origin
 *   reports every durable event of its own; a forged seq it never used is one of these);
 * - or even with every voter not heard in full, fewer than a majority could hold it. */
static bool may_skip(const struct cp_order *o, uint16_t origin, const struct ev *e,
		     uint64_t since, uint64_t unheard)
{
	uint64_t h = 0;

	if (!o->cfg.skip_needs_passes)
		return true;
	/* Held but not vouched for by its origin here: a durable acknowledgment needs the
	 * event committed (cp_order_origin_info), so nothing of it was promised beyond
	 * `stamped`, whoever holds it. Without this an origin cut off with the old leader
	 * wedges the new one: its last events, held on the majority's side and named by every
	 * later clock there, can be neither ordered (no origin report) nor skipped. */
	if (e && !e->confirmed)
		return true;
	if (!e && o->slot_of[origin] && o->pass_us[o->slot_of[origin] - 1] > since)
		return true;
	if (e && e->confirmed && (e->holders & o->voter_mask) && o->cfg.held_wait_us &&
	    o->now - e->first_seen < o->cfg.held_wait_us)
		return false; /* a copy is left: repairs spread it */
	if (e)
		h = e->confirmed ? e->holders : e->holders | e->alt;
	return (unsigned)__builtin_popcountll((h | unheard) & o->voter_mask) < o->majority;
}

int cp_order_set_voters(struct cp_order *o, const uint16_t *ids, unsigned n)
{
	if (n == 0 || n > CP_ORDER_MAX_REPORTERS)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (ids[i] == 0 || ids[i] > RUMOR_NODE_ID_MAX)
			return -EINVAL;
	unsigned missing = 0;
	for (unsigned i = 0; i < n; i++)
		missing += !o->slot_of[ids[i]];
	if (o->nslots + missing > CP_ORDER_MAX_REPORTERS)
		return -ENOSPC;
	uint64_t mask = 0;
	unsigned distinct = 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t bit = 1ull << get_slot(o, ids[i]);
		distinct += !(mask & bit);
		mask |= bit;
	}
	o->voter_mask = mask;
	o->majority = distinct / 2 + 1;
	for (unsigned p = 1; p <= o->max_origin; p++)
		push_work(o, p);
	run_work(o);
	return 0;
}

int cp_order_set_ordered(struct cp_order *o, uint16_t origin, uint64_t seq)
{
	if (origin == 0 || origin > RUMOR_NODE_ID_MAX)
		return -EINVAL;
	raise_ordered(o, origin, seq);
	if (o->og[origin].dfloor < seq)
		o->og[origin].dfloor = seq; /* what a former leader committed: skips may be there */
	run_work(o);
	return 0;
}

int cp_order_merge_clock(struct cp_order *o, const struct rumor_vc *clock)
{
	rumor_vc_dense_merge(&o->gclock, clock);
	return 0;
}

/* Prefetch the cache lines holding entries [0, n) of @ts: when a report's clock is cold (a
 * caller that keeps many clocks, as the cold benchmark does), one request per line up front
 * lets the misses overlap instead of being taken one by one as the loops reach them.
 * always_inline: GCC takes a function of prefetches alone for const and drops its calls. */
static inline __attribute__((always_inline)) void prefetch_vc(const struct rumor_vc *ts,
							      unsigned n)
{
	const char *a = (const char *)&ts->node[0], *ae = (const char *)&ts->node[n];
	const char *c = (const char *)&ts->ctr[0], *ce = (const char *)&ts->ctr[n];
	for (; a < ae; a += 64)
		__builtin_prefetch(a);
	for (; c < ce; c += 64)
		__builtin_prefetch(c);
	if (n) {
		__builtin_prefetch(ae - 1);
		__builtin_prefetch(ce - 1);
	}
}

/* Copy r's timestamp into event @idx: dependencies (every entry but the origin's) and the
 * sum key. Returns 0, or -EINVAL when ts[origin] != seq. */
static int load_ts(struct cp_order *o, uint32_t idx, const struct cp_order_report *r)
{
	struct ev *e = &o->pool[idx];
	const struct rumor_vc *ts = r->ts;
	unsigned n = ts->n;
	unsigned max = o->cfg.max_clock_entries;
	uint16_t *nodes = o->ts_node + (size_t)idx * max;
	uint32_t *lo = o->ts_dep + (size_t)idx * 2 * max;
	uint64_t sum = 0, own = 0, cmin = UINT64_MAX, cmax = 0;
	unsigned k = 0;

	prefetch_vc(ts, n); /* what the guess (cp_order_report) did not cover */
	o->ts_n_guess = (uint16_t)n;
	/* First a read-only pass: the sum and ts[origin], found by the walk itself (a binary
	 * search would take its cold misses one after another), and the span of the
	 * dependencies (every entry but the origin's). Branch-free, so that it vectorizes.
	 * Checked before anything is written: a replaced candidate's cells stay intact when
	 * the report is refused. */
	const uint16_t *tn = ts->node;
	const uint64_t *tc = ts->ctr;
	uint16_t origin = r->origin;
	unsigned below = 0; /* entries of nodes below the origin: its index (nodes ascend) */
	uint16_t n0 = n ? tn[0] : 0, gap = 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t c = tc[i];
		uint64_t mine = -(uint64_t)(tn[i] == origin); /* all ones at the origin's */
		sum += c;
		own |= c & mine;
		below += tn[i] < origin;
		gap |= tn[i] ^ (uint16_t)(n0 + i);
		uint64_t lo_c = c | mine, hi_c = c & ~mine;
		cmin = lo_c < cmin ? lo_c : cmin;
		cmax = hi_c > cmax ? hi_c : cmax;
	}
	if (own != r->seq)
		return -EINVAL;
	/* then copy the dependencies, from lines the first pass brought in */
	bool wide = cmin < cmax && cmax - cmin > UINT32_MAX;
	uint64_t b = cmin <= cmax ? cmin : 0;
	bool dense = !wide && !gap && b < r->seq;
	if (dense) {
		/* nodes n0, n0 + 1, ...: lanes, the origin's with offset 0 (always met) */
		for (unsigned i = 0; i < n; i++)
			lo[i] = (uint32_t)(tc[i] - b);
		lo[below] = 0;
		k = n;
	} else if (!wide && below < n && tn[below] == origin) {
		/* the entries before the origin's and those after it (straight, vectorized) */
		for (unsigned i = 0; i < below; i++) {
			nodes[i] = tn[i];
			lo[i] = (uint32_t)(tc[i] - b);
		}
		for (unsigned i = below + 1; i < n; i++) {
			nodes[i - 1] = tn[i];
			lo[i - 1] = (uint32_t)(tc[i] - b);
		}
		k = n - 1;
	} else {
		for (unsigned i = 0; i < n; i++) {
			uint16_t nd = tn[i];
			uint64_t d = tc[i] - b;
			nodes[k] = nd;
			lo[k] = (uint32_t)d;
			if (wide)
				lo[max + k] = (uint32_t)(d >> 32);
			k += nd != origin;
		}
	}
	e->ts_n = (uint16_t)k;
	e->dep_base = b;
	e->dep_wide = wide;
	e->dep_dense = dense;
	e->dep_n0 = n0;
	e->sum = sum;
	e->check_pos = 0;
	return 0;
}

/* load_ts() for a slot that holds nothing yet (a new event): one pass that reads the clock
 * and writes its cells at once, the offsets taken from a base fixed before the pass, just
 * below seq - 2^31 (or 0): with the counters within 2^31 of the origin's own (the usual
 * case) that is at most their min, and no second pass over the clock is needed. Falls back
 * to load_ts() otherwise (it overwrites the cells). */
static int load_ts_fresh(struct cp_order *o, uint32_t idx, const struct cp_order_report *r)
{
	struct ev *e = &o->pool[idx];
	const struct rumor_vc *ts = r->ts;
	unsigned n = ts->n;
	uint16_t *nodes = o->ts_node + (size_t)idx * o->cfg.max_clock_entries;
	uint32_t *lo = o->ts_dep + (size_t)idx * 2 * o->cfg.max_clock_entries;
	const uint16_t *tn = ts->node;
	const uint64_t *tc = ts->ctr;
	uint16_t origin = r->origin;
	uint64_t b = r->seq > (1ull << 31) ? r->seq - (1ull << 31) : 0;
	uint64_t sum = 0, own = 0, dmax = 0;
	unsigned below = 0;
	uint16_t n0 = n ? tn[0] : 0, gap = 0;

	prefetch_vc(ts, n); /* what the guess (cp_order_report) did not cover */
	o->ts_n_guess = (uint16_t)n;
	/* branch-free, so that it vectorizes; a counter below b wraps to a huge offset */
	for (unsigned i = 0; i < n; i++) {
		uint64_t c = tc[i], d = c - b;
		sum += c;
		gap |= tn[i] ^ (uint16_t)(n0 + i);
		dmax = d > dmax ? d : dmax;
		nodes[i] = tn[i];
		lo[i] = (uint32_t)d;
	}
	if (!gap) {
		/* nodes n0, n0 + 1, ...: the origin's entry, if any, is at origin - n0 */
		below = origin < n0 ? n : (unsigned)(origin - n0) < n ? (unsigned)(origin - n0) : n;
		own = below < n && tn[below] == origin ? tc[below] : 0;
	} else {
		/* ts[origin] and its index, from lines the pass brought in */
		for (unsigned i = 0; i < n; i++) {
			own |= tc[i] & -(uint64_t)(tn[i] == origin);
			below += tn[i] < origin;
		}
	}
	if (own != r->seq)
		return -EINVAL;
	if (dmax > UINT32_MAX || below >= n || tn[below] != origin)
		return load_ts(o, idx, r);
	if (!gap) {
		lo[below] = 0; /* b <= seq - 1: the origin's lane is always met */
		e->ts_n = (uint16_t)n;
		e->dep_dense = 1;
	} else {
		/* node ids kept, the origin's entry taken out */
		memmove(nodes + below, nodes + below + 1, (n - below - 1) * sizeof(*nodes));
		memmove(lo + below, lo + below + 1, (n - below - 1) * sizeof(*lo));
		e->ts_n = (uint16_t)(n - 1);
		e->dep_dense = 0;
	}
	e->dep_base = b;
	e->dep_wide = 0;
	e->dep_n0 = n0;
	e->sum = sum;
	e->check_pos = 0;
	return 0;
}

static void note_wrong(struct cp_order *o, struct ev *e, uint64_t bits)
{
	bits &= ~e->holders;
	o->st.forged += (unsigned)__builtin_popcountll(bits & ~e->wrong);
	e->wrong |= bits;
}

/* A report for an (origin, seq) the table holds. Until the origin itself reported, holders'
 * ids are candidates (two kept: the forged one and the real one, whichever came first); the
 * origin's report fixes the id, its timestamp replaces a forged candidate's, and the
 * holders of any other id are marked wrong (cp_order_wrong_holders tells them). Only
 * PENDING events can be unconfirmed: nothing unconfirmed is ever ready. Returns 1 when the
 * report counts (check readiness), 0 for a repeat, -EEXIST / -EINVAL / -E2BIG. */
static int known_report(struct cp_order *o, uint32_t idx, const struct cp_order_report *r,
			uint64_t bit)
{
	struct ev *e = &o->pool[idx];
	bool same = id_equal(&e->id, &r->id);

	if (e->confirmed) {
		if (!same) {
			o->st.conflicts++;
			note_wrong(o, e, bit);
			return -EEXIST;
		}
		o->st.reports++;
		if (e->holders & bit)
			return 0;
		e->holders |= bit;
		e->wrong &= ~bit;
		return 1;
	}
	if (r->reporter != r->origin) {
		if (same || !(e->alt || e->holders)) {
			o->st.reports++;
			if (e->holders & bit)
				return 0;
			e->holders |= bit;
			return 1; /* counts once confirmed */
		}
		if (e->alt && !id_equal(&e->alt_id, &r->id)) {
			o->st.conflicts++; /* a third version: its reporter re-reports later */
			return -EEXIST;
		}
		o->st.reports++;
		e->alt_id = r->id;
		e->alt |= bit;
		return 0;
	}
	/* the origin's word */
	if (same) {
		e->confirmed = 1;
		note_wrong(o, e, e->alt);
		e->holders |= bit;
		e->alt = 0;
		o->st.reports++;
		return 1;
	}
	if (r->ts->n > o->cfg.max_clock_entries) {
		o->st.refused_invalid++;
		return -E2BIG;
	}
	if (load_ts(o, idx, r)) {
		o->st.refused_invalid++;
		return -EINVAL;
	}
	bool alt_is = e->alt && id_equal(&e->alt_id, &r->id);
	uint64_t alt = e->alt, was = alt_is ? e->holders : e->holders | e->alt;
	e->id = r->id;
	e->holders = (alt_is ? alt : 0) | bit;
	e->alt = 0;
	e->confirmed = 1;
	e->first_seen = o->now; /* the real event starts its own clock (gap, repair) */
	e->repair_at = 0;
	note_wrong(o, e, was);
	o->st.replaced++;
	o->st.reports++;
	return 1;
}

int cp_order_report(struct cp_order *o, const struct cp_order_report *r, uint64_t now_us)
{
	uint16_t origin = r->origin;
	if (origin == 0 || origin > RUMOR_NODE_ID_MAX || r->reporter == 0 ||
	    r->reporter > RUMOR_NODE_ID_MAX || r->seq == 0 || !r->ts) {
		o->st.refused_invalid++;
		return -EINVAL;
	}
	o->now = now_us;
	if (r->reporter_clock)
		rumor_vc_dense_merge(&o->gclock, r->reporter_clock);
	struct orig *g = &o->og[origin];
	if (r->seq <= g->cut) {
		o->st.stale++;
		return 0;
	}
	int slot = get_slot(o, r->reporter);
	uint64_t bit = 0;
	if (slot < 0)
		o->st.uncounted++;
	else
		bit = 1ull << slot;
	uint32_t idx = ring_get(g, r->seq);
	struct ev *e;
	if (idx == NONE32 && g->skip_next != NONE32 && r->seq <= o->rt[origin] &&
	    skip_covering(o, g, r->seq) != NONE32) {
		o->st.conflicts++; /* given up on, not cut yet: too late for this copy */
		return -EEXIST;
	}
	if (idx != NONE32) {
		e = &o->pool[idx];
		int rc = known_report(o, idx, r, bit);
		if (rc <= 0)
			return rc;
	} else {
		const struct rumor_vc *ts = r->ts;
		/* a new event: its timestamp will be read. Ask for its lines before ts->n is
		 * known (that would be one more miss in a row), as many as the last one had. */
		prefetch_vc(ts, o->ts_n_guess);
		if (ts->n > o->cfg.max_clock_entries) {
			o->st.refused_invalid++;
			return -E2BIG;
		}
		idx = ev_alloc(o, 0);
		if (idx == NONE32) {
			if (r->seq > g->refused_max)
				g->refused_max = r->seq;
			o->st.refused_nobufs++;
			return -ENOBUFS;
		}
		uint64_t old_max = g->max_seq, old_base = g->base, old_hi = g->ring_hi;
		int rc = ring_place(o, g, r->seq, idx);
		if (rc) {
			o->pool[idx].next_free = o->free_head;
			o->free_head = idx;
			o->npending_real--;
			o->st.pending--;
			if (rc == -ENOBUFS)
				o->st.refused_nobufs++;
			return rc;
		}
		e = &o->pool[idx];
		e->id = r->id;
		e->seq = r->seq;
		e->origin = origin;
		e->holders = bit;
		e->alt = e->wrong = 0;
		e->notice_at = 0;
		e->confirmed = r->reporter == origin || o->cfg.debug_any_reporter;
		e->first_seen = now_us;
		e->repair_at = 0;
		e->state = EV_PENDING;
		if (load_ts_fresh(o, idx, r)) {
			ev_free(o, idx);
			g->max_seq = old_max; /* a refused report must not start gap timers */
			if (g->held) { /* ... nor widen the window */
				g->base = old_base > g->ordered ? old_base : g->ordered;
				g->ring_hi = old_hi;
			}
			o->st.refused_invalid++;
			return -EINVAL;
		}
		note_origin(o, origin);
		o->st.events_created++;
		o->st.reports++;
	}
	if (r->seq == o->rt[origin] + 1 && held_by_majority(o, e)) {
		advance(o, origin);
		run_work(o);
	}
	return 0;
}

/* Give up on origin n's seqs s..t (their held events are already freed): one skip record,
 * whatever the length of the run. Returns 1, or 0 when no slot is left for it. */
static int skip_run(struct cp_order *o, struct orig *g, uint16_t n, uint64_t s, uint64_t t)
{
	uint32_t k = ev_alloc(o, 1);
	if (k == NONE32)
		return 0;
	struct ev *e = &o->pool[k];
	memset(e, 0, sizeof(*e));
	e->origin = n;
	e->seq = s;
	e->last = t;
	e->state = EV_SKIP;
	e->first_seen = o->now;
	e->next_free = NONE32;
	if (g->skip_tail != NONE32)
		o->pool[g->skip_tail].next_free = k;
	else
		g->skip_head = k;
	g->skip_tail = k;
	if (g->skip_next == NONE32)
		g->skip_next = k;
	if (t > g->max_seq)
		g->max_seq = t;
	o->skips_new++;
	return 1;
}

/* A gap at origin n: its next seq is absent or held by a minority while later seqs or other
 * origins' events wait for it. Time it; past the timeout, skip the run that starts there. */
static void check_gaps(struct cp_order *o)
{
	for (unsigned n = 1; n <= o->max_origin; n++) {
		struct orig *g = &o->og[n];
		uint64_t s = o->rt[n] + 1;
		/* waiters on seqs nobody reported are check_impossible()'s: nothing to skip */
		if ((!g->waiters && g->max_seq < s + 1) || g->max_seq < s) {
			g->gap_on = 0;
			continue;
		}
		uint32_t idx = ring_get(g, s);
		if (idx != NONE32 && (o->pool[idx].state != EV_PENDING ||
				      held_by_majority(o, &o->pool[idx]))) {
			g->gap_on = 0; /* blocked on dependencies, not a gap */
			continue;
		}
		if (!g->gap_on) {
			g->gap_on = 1;
			g->gap_since = o->now;
			continue;
		}

		if (o->now - g->gap_since < o->cfg.gap_timeout_us)
			continue;
		uint64_t unheard = unpassed(o, g->gap_since);
		if (!may_skip(o, (uint16_t)n, idx == NONE32 ? NULL : &o->pool[idx], g->gap_since,
			      unheard)) {
			o->st.skips_deferred++;
			continue;
		}
		if (idx == NONE32 && o->free_head == NONE32)
			continue; /* reserve exhausted: the next cut frees some */
		/* The run goes as one record: seqs nobody reported (a stretch found by walking
		 * the ring, not the gap: after an origin restarts above its persisted reservation
		 * it is thousands long, after a forged frame millions), and minority-held events
		 * that did not spread within a gap timeout of their own (repair had its chance).
		 * It ends at the first event that can be ordered or is still young. */
		uint64_t t = s - 1;
		while (t < g->max_seq) {
			idx = ring_get(g, t + 1);
			if (idx == NONE32) {
				t = next_held(g, t + 1, g->max_seq) - 1;
				continue;
			}
			struct ev *e = &o->pool[idx];
			if (e->state != EV_PENDING || held_by_majority(o, e) ||
			    o->now - e->first_seen < o->cfg.gap_timeout_us ||
			    !may_skip(o, (uint16_t)n, e, g->gap_since, unheard))
				break;
			ev_free(o, idx);
			t++;
		}
		if (t < s) {
			/* the head is a minority copy younger than the timeout: time it from when
			   it came, so that the deadline is not due at every cut until then */
			g->gap_since = o->pool[idx].first_seen;
			continue;
		}
		if (!skip_run(o, g, (uint16_t)n, s, t))
			continue; /* no slot (a freed minority event gave one back): next cut */
		g->gap_on = 0;
		o->rt[n] = t;
		wake(o, (uint16_t)n);
		push_work(o, (uint16_t)n);
		run_work(o);
	}
}

static bool is_voter(const struct cp_order *o, uint16_t node)
{
	return o->slot_of[node] && (o->voter_mask >> (o->slot_of[node] - 1) & 1);
}

/* Does p's head wait, through the heads it waits for, on p itself? Honest clocks never do
 * (p's head would have happened before itself); forged timestamps can, and then every head
 * of the cycle waits for good unless one leaves. */
static bool waits_in_cycle(const struct cp_order *o, uint16_t p)
{
	uint16_t q = o->og[p].wait_node;
	for (unsigned steps = 0; q && steps < CP_ORDER_MAX_REPORTERS; steps++) {
		if (q == p)
			return true;
		q = o->og[q].wait_node;
	}
	return false;
}

/* The head that leaves p's cycle of waits: the one reported last (it closed the cycle),
 * among the heads that wait on a counter their node reported when there are any (a phantom
 * claim in the cycle is then skipped rather than rejected). */
static uint16_t cycle_victim(const struct cp_order *o, uint16_t p)
{
	uint16_t best = 0, q = p;
	uint64_t best_seen = 0;
	bool best_real = false;
	for (unsigned steps = 0; steps < CP_ORDER_MAX_REPORTERS; steps++) {
		const struct orig *g = &o->og[q];
		uint32_t idx = ring_get(g, o->rt[q] + 1);
		if (g->wait_node && idx != NONE32 && o->pool[idx].state == EV_PENDING) {
			bool real = g->wait_ctr <= o->og[g->wait_node].max_seq;
			uint64_t seen = o->pool[idx].first_seen;
			if (!best || (real && !best_real) ||
			    (real == best_real && (seen > best_seen || (seen == best_seen && q < best)))) {
				best = q;
				best_seen = seen;
				best_real = real;
			}
		}
		q = g->wait_node;
		if (!q || q == p)
			break;
	}
	return best;
}

/* A head that a majority holds but that waits for (n, c) with c above every seq of n that
 * anyone reported (or skipped, or ordered, or was refused for lack of room only): no report
 * will ever satisfy it unless one is still on its way, or that waits in a cycle of heads
 * (forged timestamps: see waits_in_cycle). After gap_timeout_us, when n is a voter
 * and c within phantom_skip_max, n's seqs through c are skipped as one record and the head
 * proceeds; otherwise the head is rejected, through Raft, as a visible record, and its
 * origin's later events proceed. */
static void check_impossible(struct cp_order *o)
{
	for (unsigned p = 1; p <= o->max_origin; p++) {
		struct orig *g = &o->og[p];
		uint64_t s = o->rt[p] + 1;
		uint16_t n = g->wait_node;

		if (!n || ((g->wait_ctr <= o->og[n].max_seq || g->wait_ctr <= o->og[n].refused_max) &&
			   !waits_in_cycle(o, (uint16_t)p))) {
			g->imp_on = 0;
			continue;
		}
		if (!g->imp_on || g->imp_seq != s) {
			g->imp_on = 1;
			g->imp_seq = s;
			g->imp_since = o->now;
			continue;
		}
		if (o->now - g->imp_since < o->cfg.gap_timeout_us)
			continue;
		if (!may_skip(o, n, NULL, g->imp_since, unpassed(o, g->imp_since))) {
			o->st.skips_deferred++;
			continue;
		}
		uint32_t idx = ring_get(g, s);
		if (idx == NONE32 || o->pool[idx].state != EV_PENDING) {
			g->imp_on = 0;
			continue;
		}
		bool phantom = g->wait_ctr > o->og[n].max_seq && is_voter(o, n) &&
			       g->wait_ctr - o->rt[n] <= o->cfg.phantom_skip_max;
		/* In a cycle one head leaves (cycle_victim), the others wait for that; n's
		 * reported events that wait back on p cannot go first. */
		if (waits_in_cycle(o, (uint16_t)p)) {
			if (cycle_victim(o, (uint16_t)p) != p)
				continue;
			if (o->rt[n] < o->og[n].max_seq)
				phantom = false;
		}
		if (phantom) {
			/* A voter's seqs a little above all it reported: a forged or garbled claim
			 * that honest clocks merged, so every later event of theirs names it too.
			 * Rejecting the head would cost one event per clock that carries it; skip
			 * the claimed run instead (one record), and every waiter proceeds. The
			 * voter stamps above it once the skip is applied (rumor-cp's seq floor). */
			if (o->rt[n] < o->og[n].max_seq)
				continue; /* its reported events first: the skip goes at its head */
			if (!skip_run(o, &o->og[n], n, o->rt[n] + 1, g->wait_ctr))
				continue; /* no slot: next cut */
			note_origin(o, n); /* it may never have reported anything */
			g->imp_on = 0;
			o->og[n].gap_on = 0;
			o->rt[n] = g->wait_ctr;
			o->st.phantom_skips++;
			wake(o, n);
			push_work(o, n);
			run_work(o);
			continue;
		}
		g->imp_on = 0;
		o->pool[idx].state = EV_REJECT;
		uint64_t rs = o->pool[idx].seq;
		if (!g->reject_lo || rs < g->reject_lo)
			g->reject_lo = rs;
		if (rs > g->reject_hi)
			g->reject_hi = rs;
		o->skips_new++;
		unwait(o, (uint16_t)p);
		push_work(o, (uint16_t)p);
		run_work(o);
	}
}

static inline int key_less(const struct cp_order *o, uint16_t a, uint16_t b)
{
	uint64_t ka = o->hkey[a], kb = o->hkey[b];
	int less = ka != kb ? ka < kb : a < b;
	return o->cfg.debug_flip_sort ? !less : less;
}

/* Event @idx is about to be checked by available(): bring its dependencies in (cut long after
 * they were stored, they left the cache) while the heap serves the other origins first. */
static inline __attribute__((always_inline)) void prefetch_deps(const struct cp_order *o,
								uint32_t idx)
{
	const struct ev *e = &o->pool[idx];
	const char *a = (const char *)dep_nodes(o, idx);
	const char *ae = a + (e->dep_dense ? 0 : e->ts_n * sizeof(uint16_t));
	const char *c = (const char *)dep_lo(o, idx), *ce = c + e->ts_n * sizeof(uint32_t);
	for (; a < ae; a += 64)
		__builtin_prefetch(a);
	for (; c < ce; c += 64)
		__builtin_prefetch(c);
	if (e->ts_n) {
		if (!e->dep_dense)
			__builtin_prefetch(ae - 1);
		__builtin_prefetch(ce - 1);
	}
}

static void heap_push(struct cp_order *o, unsigned *n, uint16_t p)
{
	const struct orig *g = &o->og[p];
	uint32_t idx = ring_get(g, g->cut + 1), next = ring_get(g, g->cut + 2);
	o->hkey[p] = o->pool[idx].sum;
	if (!o->cfg.debug_flip_sort && !o->pool[idx].cut_sure)
		prefetch_deps(o, idx);
	if (next != NONE32)
		__builtin_prefetch(&o->pool[next].sum); /* its key, at the next push */
	unsigned i = (*n)++;
	while (i) {
		unsigned up = (i - 1) / 2;
		if (!key_less(o, p, o->heap[up]))
			break;
		o->heap[i] = o->heap[up];
		i = up;
	}
	o->heap[i] = p;
}

static uint16_t heap_pop(struct cp_order *o, unsigned *n)
{
	uint16_t top = o->heap[0];
	uint16_t last = o->heap[--(*n)];
	unsigned i = 0;
	for (;;) {
		unsigned c = 2 * i + 1;
		if (c >= *n)
			break;
		if (c + 1 < *n && key_less(o, o->heap[c + 1], o->heap[c]))
			c++;
		if (!key_less(o, o->heap[c], last))
			break;
		o->heap[i] = o->heap[c];
		i = c;
	}
	if (*n)
		o->heap[i] = last;
	return top;
}

/* Emit the skips and rejects at p's head (no dependencies beyond p's previous seq). */
static int emit_skips(struct cp_order *o, uint16_t p, struct cp_batch *out)
{
	struct orig *g = &o->og[p];
	while (g->cut < o->rt[p]) {
		int rc;
		if (g->skip_next != NONE32 && o->pool[g->skip_next].seq == g->cut + 1) {
			struct ev *k = &o->pool[g->skip_next];
			if ((rc = cp_batch_add_skip_range(out, p, k->seq, k->last)))
				return rc;
			k->state = EV_SKIP_CUT;
			o->st.skips++;
			o->cutv[p] = g->cut = k->last;
			g->skip_next = k->next_free;
			continue;
		}
		if (!g->reject_lo || g->cut + 1 < g->reject_lo || g->cut + 1 > g->reject_hi)
			break; /* no uncommitted reject lies there: the next is an event */
		uint32_t idx = ring_get(g, g->cut + 1);
		struct ev *e = &o->pool[idx];
		if (e->state == EV_REJECT) {
			if ((rc = cp_batch_add_reject(out, p, e->seq, &e->id,
						      CP_BATCH_REASON_IMPOSSIBLE_TS)))
				return rc;
			e->state = EV_REJECT_CUT;
			o->st.rejects++;
		} else {
			break;
		}
		o->cutv[p] = ++g->cut;
	}
	return 0;
}

static int available(const struct cp_order *o, uint32_t idx)
{
	const struct ev *e = &o->pool[idx];
	return dep_first_unmet(o, e, idx, 0, o->cutv) == e->ts_n;
}

/* @e, the head of origin @p, is in the batch now. */
static inline void mark_cut(struct cp_order *o, uint16_t p, struct ev *e)
{
	e->state = EV_CUT;
	o->cutv[p] = ++o->og[p].cut;
	o->st.ready--;
	o->st.events_cut++;
}

int cp_order_cut(struct cp_order *o, uint64_t now_us, int force, struct cp_batch *out)
{
	o->now = now_us;
	cp_batch_clear(out);
	check_gaps(o);
	check_impossible(o);
	int due = o->skips_new || o->st.ready >= o->cfg.batch_max_events ||
		  (o->st.ready && (force || now_us - o->first_ready >= o->cfg.batch_max_us));
	if (!due)
		return 0;
	o->skips_new = 0;
	unsigned nh = 0;
	int rc;
	bool use_log = o->rlog_ok && !o->cfg.debug_flip_sort;
	for (unsigned p = 1; p <= o->max_origin; p++) {
		if (o->og[p].cut >= o->rt[p])
			continue;
		if ((rc = emit_skips(o, (uint16_t)p, out)))
			return rc;
		if (o->og[p].cut < o->rt[p] && !use_log)
			heap_push(o, &nh, (uint16_t)p);
	}
	/* The heap's order without the heap: the smallest ready uncut event is the first in
	 * the log, and it is its origin's head (its origin's earlier ones came before it) */
	while (use_log && o->rlog_pos < o->rlog_n && out->n < o->cfg.batch_max_events) {
		uint32_t idx = o->rlog[o->rlog_pos];
		struct ev *e = &o->pool[idx];
		uint16_t p = e->origin;
		assert(e->state == EV_READY && e->cut_sure &&
		       ring_get(&o->og[p], o->og[p].cut + 1) == idx);
		assert(available(o, idx));
		if ((rc = cp_batch_add_event(out, p, e->seq, &e->id)))
			return rc; /* it stays first in the log */
		o->rlog_pos++;
		mark_cut(o, p, e);
		if ((rc = emit_skips(o, p, out)))
			return rc;
	}
	unsigned nd = 0;
	while (nh && out->n < o->cfg.batch_max_events) {
		uint16_t p = heap_pop(o, &nh);
		struct orig *g = &o->og[p];
		uint32_t idx = ring_get(g, g->cut + 1);
		struct ev *e = &o->pool[idx];
		if (e->cut_sure && !nd) {
			assert(available(o, idx)); /* key_sure's argument, checked in tests */
		} else if (!o->cfg.debug_flip_sort && !available(o, idx)) {
			/* only reachable with clocks that do not dominate their predecessors */
			o->defer[nd++] = p;
			continue;
		}
		if ((rc = cp_batch_add_event(out, p, e->seq, &e->id)))
			return rc;
		mark_cut(o, p, e);
		if ((rc = emit_skips(o, p, out)))
			return rc;
		if (g->cut < o->rt[p])
			heap_push(o, &nh, p);
		while (nd)
			heap_push(o, &nh, o->defer[--nd]);
	}
	if (!o->st.ready) {
		o->gkey_sum = 0; /* nothing ready and uncut: no bound to keep */
		o->gkey_origin = 0;
		o->rlog_pos = o->rlog_n = 0;
		o->rlog_ok = true;
	} else if (o->rlog_pos) {
		/* keep the remainder at the front: the log never outgrows the ready events */
		memmove(o->rlog, o->rlog + o->rlog_pos,
			(size_t)(o->rlog_n - o->rlog_pos) * sizeof(*o->rlog));
		o->rlog_n -= o->rlog_pos;
		o->rlog_pos = 0;
	}
	/* A leftover ready remainder keeps its first_ready time, so it never waits twice. */
	if (out->n)
		o->st.batches++;
	return (int)out->n;
}

uint64_t cp_order_next_deadline(const struct cp_order *o, uint64_t now_us)
{
	uint64_t best = UINT64_MAX;
	if (o->skips_new)
		return 0;
	if (o->st.ready) {
		uint64_t due = o->first_ready + o->cfg.batch_max_us;
		best = due > now_us ? due - now_us : 0;
	}
	for (unsigned n = 1; n <= o->max_origin; n++) {
		const struct orig *g = &o->og[n];
		if (!g->gap_on)
			continue;
		uint64_t due = g->gap_since + o->cfg.gap_timeout_us;
		uint64_t left = due > now_us ? due - now_us : 0;
		if (left < best)
			best = left;
	}
	for (unsigned n = 1; n <= o->max_origin; n++) {
		const struct orig *g = &o->og[n];
		if (!g->imp_on)
			continue;
		uint64_t due = g->imp_since + o->cfg.gap_timeout_us;
		uint64_t left = due > now_us ? due - now_us : 0;
		if (left < best)
			best = left;
	}
	return best;
}

void cp_order_committed(struct cp_order *o, const struct cp_batch *b)
{
	for (uint32_t i = 0; i < b->n; i++) {
		const struct cp_batch_rec *r = &b->recs[i];
		if (r->origin == 0 || r->origin > RUMOR_NODE_ID_MAX)
			continue;
		uint64_t last = r->kind == CP_BATCH_SKIP ? r->seq_last : r->seq;
		if (r->seq > o->og[r->origin].ordered && r->kind == CP_BATCH_EVENT)
			o->st.committed++;
		if (r->kind != CP_BATCH_EVENT && last > o->og[r->origin].dfloor)
			o->og[r->origin].dfloor = last;
		raise_ordered(o, r->origin, last);
	}
	run_work(o);
}

unsigned cp_order_stuck(const struct cp_order *o, uint64_t now_us, uint64_t min_age_us,
			cp_order_stuck_cb cb, void *arg)
{
	unsigned count = 0;
	for (uint32_t i = 0; i < o->pool_size; i++) {
		const struct ev *e = &o->pool[i];
		if (e->state != EV_PENDING || now_us - e->first_seen < min_age_us)
			continue;
		count++;
		if (cb)
			cb(arg, &e->id, e->origin, e->seq,
			   (unsigned)__builtin_popcountll(e->holders & o->voter_mask),
			   now_us - e->first_seen);
	}
	return count;
}

/* @holders hold the right bytes; @known also counts the wrong holders (not sent to). */
static void repair_fill(const struct cp_order *o, uint16_t origin, uint64_t seq,
			uint64_t holders, uint64_t known, struct cp_order_repair *r)
{
	unsigned os = o->slot_of[origin];

	r->origin = origin;
	r->first_seq = r->last_seq = seq;
	r->holder = os && (holders >> (os - 1) & 1) ? origin
						    : o->node_of[__builtin_ctzll(holders)];
	r->nmissing = 0;
	for (uint64_t m = o->voter_mask & ~known; m; m &= m - 1)
		r->missing[r->nmissing++] = o->node_of[__builtin_ctzll(m)];
}

unsigned cp_order_repairs(struct cp_order *o, uint64_t now_us, uint64_t min_age_us,
			  uint64_t retry_us, uint32_t max_seqs, cp_order_repair_cb cb, void *arg)
{
	struct cp_order_repair r;
	unsigned runs = 0;

	if (!o->majority || max_seqs == 0)
		return 0;
	for (unsigned n = 1; n <= o->max_origin; n++) {
		const struct orig *g = &o->og[n];
		uint64_t s = o->rt[n] + 1, end = g->max_seq, mask = 0;
		int open = 0;

		if (end < s)
			continue;
		if (end - s >= max_seqs)
			end = s + max_seqs - 1;
		/* every old minority-held event, not just the head: after a partition they come
		 * interleaved with majority-held ones, and one run per period would crawl */
		for (uint64_t t = s; t <= end; t++) {
			uint32_t idx = ring_get(g, t);
			struct ev *e = idx == NONE32 ? NULL : &o->pool[idx];
			uint64_t h = 0;

			if (!e && !open) { /* nothing here: jump to the next held seq */
				t = next_held(g, t, end) - 1;
				continue;
			}

			/* unconfirmed: only the origin can vouch for those bytes, nobody spreads
			 * them; wrong holders are told (cp_order_wrong_holders), not repaired */
			if (e && e->state == EV_PENDING && e->confirmed && !held_by_majority(o, e) &&
			    now_us - e->first_seen >= min_age_us &&
			    (!e->repair_at || now_us - e->repair_at >= retry_us)) {
				h = e->holders | e->wrong;
				e->repair_at = now_us;
			}
			if (open && h == mask) {
				r.last_seq = t;
				continue;
			}
			if (open) {
				runs++;
				if (cb)
					cb(arg, &r);
				open = 0;
			}
			if (!h || !(e->holders) || !(o->voter_mask & ~h))
				continue; /* nothing to do here, or nobody to send to */
			repair_fill(o, (uint16_t)n, t, h & ~e->wrong, h, &r);
			mask = h;
			open = 1;
		}
		if (open) {
			runs++;
			if (cb)
				cb(arg, &r);
		}
	}
	return runs;
}

unsigned cp_order_wrong_holders(struct cp_order *o, uint64_t now_us, uint64_t retry_us,
				uint32_t max_seqs, cp_order_notice_cb cb, void *arg)
{
	unsigned told = 0;

	if (max_seqs == 0)
		return 0;
	for (unsigned n = 1; n <= o->max_origin; n++) {
		const struct orig *g = &o->og[n];
		uint64_t s = o->rt[n] + 1, end = g->max_seq;

		if (end < s)
			continue;
		if (end - s >= max_seqs)
			end = s + max_seqs - 1;
		for (uint64_t t = s; t <= end; t++) {
			uint32_t idx = ring_get(g, t);
			if (idx == NONE32) {
				t = next_held(g, t, end) - 1;
				continue;
			}
			struct ev *e = &o->pool[idx];
			uint64_t m = e->wrong & ~e->holders;
			if (e->state != EV_PENDING || !e->confirmed || !m ||
			    (e->notice_at && now_us - e->notice_at < retry_us))
				continue;
			e->notice_at = now_us;
			/* the origin's timestamp again, for the holder to report with */
			rumor_vc_init(&o->notice_ts);
			for (unsigned i = 0; i < e->ts_n; i++)
				if (!dep_is_own(e, i))
					rumor_vc_set(&o->notice_ts, dep_node(o, e, idx, i),
						     dep_ctr(o, e, idx, i));
			rumor_vc_set(&o->notice_ts, (uint16_t)n, t);
			for (; m; m &= m - 1) {
				struct cp_order_notice nt = { .origin = (uint16_t)n, .seq = t,
							      .id = e->id, .ts = &o->notice_ts,
							      .holder = o->node_of[__builtin_ctzll(m)] };
				told++;
				o->st.wrong_notices++;
				if (cb)
					cb(arg, &nt);
			}
		}
	}
	return told;
}

void cp_order_get_stats(const struct cp_order *o, struct cp_order_stats *st)
{
	*st = o->st;
}

int cp_order_global_clock(const struct cp_order *o, struct rumor_vc *out)
{
	return rumor_vc_dense_export(&o->gclock, out);
}

uint64_t cp_order_ordered_through(const struct cp_order *o, uint16_t origin)
{
	return origin <= RUMOR_NODE_ID_MAX ? o->og[origin].ordered : 0;
}

int cp_order_origin_info(const struct cp_order *o, uint16_t origin,
			 struct cp_order_origin_info *out)
{
	const struct orig *g;

	if (origin == 0 || origin > o->max_origin)
		return -ENOENT;
	g = &o->og[origin];
	if (!g->held && !g->ordered)
		return -ENOENT;
	/* durable: committed as events, above the last committed skip or reject. Only the
	 * committed batch survives this leader (a ready event's origin confirmation lives in
	 * its memory: a new leader cut off from the origin can neither order it nor tell it
	 * from a forgery), so only that is promised. */
	*out = (struct cp_order_origin_info){ .ordered = g->ordered, .ready_through = o->rt[origin],
					      .durable_through = g->ordered,
					      .durable_floor = g->dfloor < g->ordered ? g->dfloor
										  : g->ordered,
					      .max_seq = g->max_seq, .held = g->held,
					      .wait_node = g->wait_node, .wait_ctr = g->wait_ctr,
					      .gap = g->gap_on, .head_state = -1,
					      .gap_age_us = g->gap_on ? o->now - g->gap_since : 0 };
	uint32_t idx = ring_get(g, o->rt[origin] + 1);
	if (idx != NONE32) {
		out->head_state = o->pool[idx].state;
		out->head_holders = (unsigned)__builtin_popcountll(o->pool[idx].holders &
								   o->voter_mask);
	}
	return 0;
}
