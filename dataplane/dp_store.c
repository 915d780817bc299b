/* Event store slots in a memzone, free list in an MP/MC ring (TX completion may free from
 * any lcore through the shinfo free callback). */
#include "dp_store.h"

#include <errno.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_prefetch.h>

#include "rumor_msg.h"

#define STORE_FREE_RING "rumor_store_free"

static void slot_free(struct dp_slot *sl)
{
	struct dp_store *s = sl->store;
	uint32_t idx = sl->idx;

	__atomic_fetch_sub(&s->origin_used[sl->origin], 1, __ATOMIC_RELAXED);
	if (sl->src != s->self)
		__atomic_fetch_sub(&s->src_used[sl->src], 1, __ATOMIC_RELAXED);
	if (sl->repair)
		__atomic_fetch_sub(&s->repair_used[sl->origin], 1, __ATOMIC_RELAXED);
	sl->state = DP_SLOT_FREE;
	/* only the node's own EAL lcore may use the unlocked stack */
	if (s->owner != LCORE_ID_ANY && rte_lcore_id() == s->owner &&
	    s->nlocal < DP_STORE_LOCAL) {
		s->local[s->nlocal++] = idx;
		return;
	}
	/* The ring is sized for every slot, so this cannot fail. */
	rte_ring_enqueue_elem(s->free_ring, &idx, sizeof(idx));
}

static void slot_free_cb(void *addr, void *opaque)
{
	(void)addr;
	slot_free(opaque);
}

int dp_store_init(struct dp_store *s, uint32_t nslots, uint32_t slot_size, uint32_t peer_cap,
		  uint16_t self, int socket)
{
	size_t meta, total;

	if (nslots == 0 || slot_size == 0 || slot_size > UINT16_MAX)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	slot_size = RTE_ALIGN_CEIL(slot_size, RTE_CACHE_LINE_SIZE);
	meta = RTE_ALIGN_CEIL((size_t)nslots * sizeof(struct dp_slot), RTE_CACHE_LINE_SIZE);
	total = meta + (size_t)nslots * slot_size;
	s->mz = rte_memzone_reserve_aligned(RUMOR_SHM_STORE_POOL, total, socket, 0,
					    RTE_CACHE_LINE_SIZE);
	if (s->mz == NULL)
		return rte_errno == EEXIST ? -EEXIST : -ENOMEM;
	s->free_ring = rte_ring_create_elem(STORE_FREE_RING, sizeof(uint32_t),
					    rte_align32pow2(nslots + 1), socket, 0);
	if (s->free_ring == NULL) {
		rte_memzone_free(s->mz);
		return -ENOMEM;
	}
	s->slots = s->mz->addr;
	s->data = (uint8_t *)s->mz->addr + meta;
	s->data_iova = s->mz->iova == RTE_BAD_IOVA ? RTE_BAD_IOVA : s->mz->iova + meta;
	s->nslots = nslots;
	s->slot_size = slot_size;
	s->peer_cap = peer_cap ? peer_cap : nslots;
	s->self = self;
	dp_store_set_caps(s, 0, 0, 0);
	s->owner = rte_lcore_id();
	memset(s->slots, 0, meta);
	for (uint32_t i = 0; i < nslots; i++) {
		struct dp_slot *sl = &s->slots[i];

		sl->store = s;
		sl->idx = i;
		sl->shinfo.free_cb = slot_free_cb;
		sl->shinfo.fcb_opaque = sl;
		rte_ring_enqueue_elem(s->free_ring, &i, sizeof(i));
	}
	return 0;
}

void dp_store_fini(struct dp_store *s)
{
	if (s->free_ring != NULL)
		rte_ring_free(s->free_ring);
	if (s->mz != NULL)
		rte_memzone_free(s->mz);
	memset(s, 0, sizeof(*s));
}

void dp_store_set_caps(struct dp_store *s, uint32_t src_cap, uint32_t stranger_cap,
		       uint32_t repair_cap)
{
	s->src_cap = src_cap ? src_cap : RTE_MAX(s->nslots / 2, s->peer_cap);
	s->stranger_cap = stranger_cap; /* default 0: every rumor-dp sends from its config MAC */
	s->repair_cap = repair_cap ? repair_cap : RTE_MAX(s->peer_cap / 16, 64u);
}

static inline uint32_t used(const uint32_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

int dp_store_alloc(struct dp_store *s, uint16_t origin, bool capped, uint32_t *idx)
{
	return dp_store_alloc_src(s, origin, s->self, capped ? DP_ALLOC_GOSSIP : DP_ALLOC_ASKED,
				  idx);
}

int dp_store_alloc_src(struct dp_store *s, uint16_t origin, uint16_t src,
		       enum dp_alloc_kind kind, uint32_t *idx)
{
	struct dp_slot *sl;
	uint8_t repair = 0;
	uint32_t i;

	if (kind != DP_ALLOC_ASKED && origin != s->self) {
		if (used(&s->origin_used[origin]) >= s->peer_cap) {
			if (kind != DP_ALLOC_REPAIR || used(&s->repair_used[origin]) >= s->repair_cap)
				return -EDQUOT;
			repair = 1;
		}
		if (src == DP_SRC_STRANGER && used(&s->src_used[src]) >= s->stranger_cap)
			return -EMLINK;
		if (src != DP_SRC_STRANGER && src != s->self && used(&s->src_used[src]) >= s->src_cap)
			return -EUSERS;
	}
	if (s->nlocal > 0) {
		i = s->local[--s->nlocal];
		goto got;
	}
	/* The ring is MP/MC (TX completion may free from any lcore): dequeue in bursts. */
	if (s->chead == s->ncache) {
		s->chead = 0;
		s->ncache = rte_ring_dequeue_burst_elem(s->free_ring, s->cache, sizeof(i),
							 DP_STORE_CACHE, NULL);
		if (s->ncache == 0)
			return -ENOSPC;
	}
	i = s->cache[s->chead++];
	if (s->chead < s->ncache) {
		/* the next frame's copy lands there: start fetching it now */
		rte_prefetch0(&s->slots[s->cache[s->chead]]);
		rte_prefetch0(dp_store_data(s, s->cache[s->chead]));
	}
got:
	__atomic_fetch_add(&s->origin_used[origin], 1, __ATOMIC_RELAXED);
	if (src != s->self)
		__atomic_fetch_add(&s->src_used[src], 1, __ATOMIC_RELAXED);
	if (repair)
		__atomic_fetch_add(&s->repair_used[origin], 1, __ATOMIC_RELAXED);
	sl = &s->slots[i];
	sl->store = s; /* the allocating worker's view: its counters, its free stack */
	rte_mbuf_ext_refcnt_set(&sl->shinfo, 1);
	sl->state = DP_SLOT_HELD;
	sl->origin = origin;
	sl->pending = 0;
	sl->rflags = 0;
	sl->src = src;
	sl->repair = repair;
	sl->born = 0;
	sl->asked = 0;
	*idx = i;
	return 0;
}

int dp_store_release(struct dp_store *s, uint32_t idx)
{
	struct dp_slot *sl;

	if (idx >= s->nslots)
		return -EINVAL;
	sl = &s->slots[idx];
	if (sl->state != DP_SLOT_HELD)
		return -EINVAL;
	sl->state = DP_SLOT_RELEASED;
	if (rte_mbuf_ext_refcnt_update(&sl->shinfo, -1) == 0)
		slot_free(sl);
	return 0;
}

unsigned dp_store_free_count(const struct dp_store *s)
{
	return rte_ring_count(s->free_ring) + (s->ncache - s->chead) + s->nlocal;
}
