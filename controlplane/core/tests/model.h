/* Test model: seeded origins that create events with vector-clock timestamps and gossip
 * them, plus a checker for applied sequences (FIFO, happened-before, no duplicates). */
#ifndef CP_TEST_MODEL_H
#define CP_TEST_MODEL_H

#include <stdint.h>

#include "rumor_eventid.h"
#include "rumor_vc.h"

#define M_MAX_NODES 16u

struct m_event {
	struct rumor_event_id id;
	uint64_t seq;
	uint16_t origin;
	uint16_t ts_n;
	uint16_t ts_node[M_MAX_NODES];
	uint64_t ts_ctr[M_MAX_NODES];
	uint32_t len;
	char payload[48];
	uint32_t held;     /* bitmask of nodes holding it (bit = node id) */
	uint32_t reported; /* bitmask of nodes that reported it to some leader */
	uint64_t vouched_us; /* when its origin first reported it (0: not yet) */
};

struct model {
	uint64_t rng;
	unsigned nodes;                    /* node ids 1..nodes */
	uint64_t clock[M_MAX_NODES + 1][M_MAX_NODES + 1];
	uint64_t next_seq[M_MAX_NODES + 1];
	struct m_event *ev;
	unsigned nev, cap;
	unsigned nkeys;                    /* KV keys used by generated commands */
	unsigned *by_seq[M_MAX_NODES + 1]; /* event index by origin, seq - 1 */
	uint64_t by_cap[M_MAX_NODES + 1];
};

uint64_t m_rand(uint64_t *s);
static inline unsigned m_below(uint64_t *s, unsigned n) { return (unsigned)(m_rand(s) % n); }

void m_init(struct model *m, unsigned nodes, uint64_t seed);
void m_free(struct model *m);
/* Origin creates an event; returns its index. */
unsigned m_create(struct model *m, uint16_t origin);
/* Node @to receives event @e (merging its timestamp). Returns 1 if new to it. */
int m_deliver(struct model *m, unsigned e, uint16_t to);
/* Random gossip: a random holder forwards a random event to a random node. */
void m_gossip(struct model *m);
void m_ts(const struct m_event *e, struct rumor_vc *out);
/* Index of (origin, seq) or -1. */
int m_find(const struct model *m, uint16_t origin, uint64_t seq);

/* Checker over one applied sequence. */
struct m_check {
	uint64_t through[RUMOR_NODE_ID_MAX + 1];
	char why[256];
};
void m_check_init(struct m_check *c);
/* Returns 0 or -1 with c->why set. */
int m_check_event(struct m_check *c, const struct model *m, uint16_t origin, uint64_t seq,
		  const struct rumor_event_id *id);
int m_check_skip(struct m_check *c, uint16_t origin, uint64_t seq);
/* One skip record covering seq..last (FIFO: it must start right after what came before). */
int m_check_skip_range(struct m_check *c, uint16_t origin, uint64_t seq, uint64_t last);

#endif
