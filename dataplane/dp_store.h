/* Event store: bounded slots in one hugepage memzone (RUMOR_SHM_STORE_POOL) holding the
 * rumor part of frames, each with a refcounted external-buffer shinfo so fan-out mbufs
 * share the body. A slot is free again once the cp released it AND no TX references it. */
#ifndef DP_STORE_H
#define DP_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_memzone.h>
#include <rte_ring.h>

#include "rumor_vc.h"

enum dp_slot_state { DP_SLOT_FREE = 0, DP_SLOT_HELD, DP_SLOT_RELEASED };

struct dp_store;

#define DP_STORE_CACHE 32
#define DP_STORE_LOCAL 64

struct dp_slot {
	struct rte_mbuf_ext_shared_info shinfo;  /* refcnt: 1 for "held" + 1 per TX mbuf */
	struct dp_store *store;
	uint32_t idx;
	uint32_t len;               /* rumor part bytes (fixed header + body) */
	uint64_t first_seq;
	uint16_t origin;
	uint16_t from;
	uint16_t count;
	uint16_t rflags;            /* RUMOR_NEW_FRAME_* of the pending report */
	uint8_t state;              /* enum dp_slot_state */
	uint8_t pending;            /* queued for a NEW_FRAME report */
	uint8_t repair;             /* held past the origin cap on the repair allowance */
	uint16_t src;               /* link source charged (DP_SRC_STRANGER, a node id) */
	uint64_t born;              /* TSC when it was taken (age-out) */
	uint64_t asked;             /* TSC of the last EXPIRE sent for it, 0 = never */
} __rte_cache_aligned;

/* The link source of frames from a MAC/IP of no configured node: all strangers share one
 * small budget. */
#define DP_SRC_STRANGER 0

/* How a slot is charged (dp_store_alloc_src). */
enum dp_alloc_kind {
	DP_ALLOC_GOSSIP = 0,  /* origin cap and source cap */
	DP_ALLOC_REPAIR,      /* unasked PULL_RESP from a member (the leader's repair): source
			       * cap; past the origin cap only within repair_cap per origin */
	DP_ALLOC_ASKED,       /* the answer to one of our pulls (DP_PULL_MAX at most): no cap */
};

struct dp_store {
	const struct rte_memzone *mz;
	struct rte_ring *free_ring;
	struct dp_slot *slots;
	uint8_t *data;
	rte_iova_t data_iova;
	uint32_t nslots;
	uint32_t slot_size;          /* data bytes per slot */
	uint32_t peer_cap;           /* most slots one remote origin may hold */
	uint16_t self;               /* our node id: exempt from peer_cap */
	uint32_t chead, ncache;      /* cache[chead..ncache): free slots taken from the ring
				      * in bulk (alloc side), used in ring order */
	uint32_t cache[DP_STORE_CACHE];
	unsigned owner;              /* lcore id of dp_store_init's caller (the node's lcore) */
	uint32_t nlocal;             /* slots freed on the owner lcore, reused first (LIFO:
				      * their data is still in cache), no ring operation */
	uint32_t local[DP_STORE_LOCAL];
	uint32_t origin_used[RUMOR_NODE_ID_MAX + 1];  /* updated atomically */
	/* budgets per link source and repair allowance per origin (dp_store_set_caps) */
	uint32_t src_cap;            /* most slots one member source may hold */
	uint32_t stranger_cap;       /* most slots all strangers together may hold */
	uint32_t repair_cap;         /* most slots past the origin cap per origin, repairs */
	uint32_t src_used[RUMOR_NODE_ID_MAX + 1];     /* [DP_SRC_STRANGER] = strangers */
	uint32_t repair_used[RUMOR_NODE_ID_MAX + 1];
};

/* Create the store: @nslots slots of @slot_size bytes, in memzone RUMOR_SHM_STORE_POOL
 * (and free ring "rumor_store_free"). Returns 0, -EINVAL, -ENOMEM, -EEXIST. */
int dp_store_init(struct dp_store *s, uint32_t nslots, uint32_t slot_size, uint32_t peer_cap,
		  uint16_t self, int socket);
void dp_store_fini(struct dp_store *s);

/* Take a free slot for a frame of @origin (refcnt 1, state HELD). Returns 0 with the index
 * in *@idx, -ENOSPC when the store is empty, -EDQUOT when @capped and @origin is at its cap
 * (the cap keeps one origin's gossip from filling the store; a frame we asked for, or that
 * the leader's repair sends, is not held to it). */
int dp_store_alloc(struct dp_store *s, uint16_t origin, bool capped, uint32_t *idx);

/* Budgets: 0 keeps a cap at its default (src_cap: nslots / 2 but at least peer_cap;
 * repair_cap: peer_cap / 16 but at least 64). stranger_cap is 0 by default: a frame from a
 * MAC/IP of no configured node never takes a slot (every rumor-dp sends from its own). */
void dp_store_set_caps(struct dp_store *s, uint32_t src_cap, uint32_t stranger_cap,
		       uint32_t repair_cap);

/* Take a slot for a frame of @origin that came from link source @src (our own id: no
 * source cap), charged as @kind. Returns 0 with *@idx, -ENOSPC (store empty), -EDQUOT
 * (origin at its cap, and for a repair its allowance used too), -EUSERS (the member
 * source at its cap), -EMLINK (strangers at their cap). Every count drops when the slot
 * is freed. */
int dp_store_alloc_src(struct dp_store *s, uint16_t origin, uint16_t src,
		       enum dp_alloc_kind kind, uint32_t *idx);

/* Drop the "held" reference (cp released it); the slot is free once TX also let go.
 * Returns 0 or -EINVAL when the slot is not HELD. */
int dp_store_release(struct dp_store *s, uint32_t idx);

/* Free slots right now (ring + the alloc side's cache; racy from other threads). */
unsigned dp_store_free_count(const struct dp_store *s);

static inline struct dp_slot *dp_store_slot(struct dp_store *s, uint32_t idx)
{
	return &s->slots[idx];
}

static inline uint8_t *dp_store_data(struct dp_store *s, uint32_t idx)
{
	return s->data + (size_t)idx * s->slot_size;
}

static inline rte_iova_t dp_store_iova(struct dp_store *s, uint32_t idx)
{
	return s->data_iova == RTE_BAD_IOVA ? RTE_BAD_IOVA
					     : s->data_iova + (size_t)idx * s->slot_size;
}

#endif
