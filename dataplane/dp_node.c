/* rumor-dp node: init of shared objects and port, and the single-lcore packet + cp2dp loop
 * (RX -> decode -> dedupe -> clock merge -> store -> report -> zero-copy fan-out). */
#include "dp_node.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_malloc.h>
#include <rte_memcpy.h>
#include <rte_memzone.h>
#include <rte_pause.h>
#include <rte_prefetch.h>

#include "rumor_be.h"
#include "rumor_eventid.h"

#define SLOT_NONE DP_DEDUPE_NO_SLOT
#define HDR_POOL "dp_hdr_pool"
#define RX_POOL "dp_rx_pool"

static const char *const local_drop_names[] = {
	[DP_DROP_NOT_MINE] = "not_mine", [DP_DROP_SEGS] = "multi_seg",
	[DP_DROP_NOMBUF] = "no_mbuf", [DP_DROP_STORE] = "store_full",
	[DP_DROP_PEER] = "unknown_peer", [DP_DROP_ORIGIN] = "own_origin",
	[DP_DROP_AUTH_NO_KEY] = "auth_no_key", [DP_DROP_AUTH_BAD_TAG] = "auth_bad_tag",
	[DP_DROP_AUTH_REPLAY] = "auth_replay", [DP_DROP_AUTH_OLD_EPOCH] = "auth_old_epoch",
	[DP_DROP_AUTH_BAD_BODY] = "auth_bad_body",
	[DP_DROP_AUTH_ENC_UNEXPECTED] = "auth_enc_unexpected",
	[DP_DROP_AUTH_ENC_MISSING] = "auth_enc_missing",
	[DP_DROP_ARP_UNRESOLVED] = "arp_unresolved", [DP_DROP_LINK_DOWN] = "link_down",
	[DP_DROP_ARP_BAD] = "arp_malformed", [DP_DROP_ARP_HOLD_FULL] = "arp_hold_full",
	[DP_DROP_ARP_HOLD_AGED] = "arp_hold_aged", [DP_DROP_STEER] = "steer_full",
};

_Static_assert(RTE_DIM(local_drop_names) <= RUMOR_DP_DROP_REASONS, "drops[] too small");
_Static_assert(RUMOR_WIRE_AUTH_NONCE + 8 == RUMOR_WIRE_AUTH_BODYTAG &&
		       RUMOR_WIRE_AUTH_BODYTAG + RUMOR_AUTH_TAG_LEN == RUMOR_WIRE_AUTH_HOPTAG &&
		       sizeof(struct dp_auth_slot) == 32,
	       "dp_auth_slot.nt is the auth header's nonce and body tag");

/* rumor_auth_reason -> drops[] index */
static const int auth_drop[RUMOR_AUTH_NREASONS + 1] = {
	[RUMOR_AUTH_NO_KEY] = DP_DROP_AUTH_NO_KEY, [RUMOR_AUTH_BAD_TAG] = DP_DROP_AUTH_BAD_TAG,
	[RUMOR_AUTH_REPLAY] = DP_DROP_AUTH_REPLAY, [RUMOR_AUTH_OLD_EPOCH] = DP_DROP_AUTH_OLD_EPOCH,
	[RUMOR_AUTH_BAD_BODY] = DP_DROP_AUTH_BAD_BODY,
};

static const int codec_errs[RUMOR_WIRE_ERR_COUNT] = {
	RUMOR_WIRE_ETRUNC, RUMOR_WIRE_ENOTIP, RUMOR_WIRE_EIPHDR, RUMOR_WIRE_EIPCSUM,
	RUMOR_WIRE_ENOTUDP, RUMOR_WIRE_EPORT, RUMOR_WIRE_EUDPLEN, RUMOR_WIRE_EMAGIC,
	RUMOR_WIRE_EVERSION, RUMOR_WIRE_ETYPE, RUMOR_WIRE_ECLUSTER, RUMOR_WIRE_ENODE,
	RUMOR_WIRE_ESEQ, RUMOR_WIRE_ECLOCKCNT, RUMOR_WIRE_ECLOCK, RUMOR_WIRE_ECLOCKORIG,
	RUMOR_WIRE_EEVCNT, RUMOR_WIRE_EEVLEN, RUMOR_WIRE_EID, RUMOR_WIRE_ENOBUFS,
	RUMOR_WIRE_EINVAL,
};

const char *dp_drop_name(unsigned idx)
{
	if (idx >= RUMOR_DP_DROP_REASONS)
		return NULL;
	for (unsigned i = 0; i < RUMOR_WIRE_ERR_COUNT; i++)
		if (rumor_wire_err_index(codec_errs[i]) == (int)idx)
			return rumor_wire_strerror(codec_errs[i]);
	if (idx < RTE_DIM(local_drop_names))
		return local_drop_names[idx];
	return NULL;
}

static inline void drop(struct dp_node *n, struct rte_mbuf *m, int idx)
{
	if (idx >= 0 && idx < RUMOR_DP_DROP_REASONS)
		n->stats->drops[idx]++;
	rte_pktmbuf_free(m);
}

/* A frame or request refused by a budget (rumor_dp_budget). */
static inline void budget_drop(struct dp_node *n, struct rte_mbuf *m, int reason)
{
	n->stats->budget_drops[reason - 1]++;
	rte_pktmbuf_free(m);
}

static inline uint64_t rnd(struct dp_node *n)
{
	/* xorshift64*: cheap, seeded per node, good enough for peer picking */
	uint64_t x = n->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	n->rng = x;
	return x * 0x2545F4914F6CDD1Dull;
}

const struct rumor_vc *dp_node_clock(struct dp_node *n)
{
	if (n->clock_dirty) {
		if (rumor_vc_dense_export(&n->clock, &n->clock_sparse) == 0)
			n->clock_dirty = false;
	}
	return &n->clock_sparse;
}

/* ---------------------------------------------------------------- reports to the cp */

/* One message from the pool. The pool cannot have a per-lcore cache (the secondary's lcore
 * ids overlap ours), so take them in bulk; one at a time once the pool runs low. */
static inline int msg_get(struct dp_node *n, void **obj)
{
	if (n->nstash == 0) {
		if (rte_mempool_get_bulk(n->msg_pool, n->stash, DP_MSG_STASH) == 0)
			n->nstash = DP_MSG_STASH;
		else
			return rte_mempool_get(n->msg_pool, obj);
	}
	*obj = n->stash[--n->nstash];
	return 0;
}

static int send_new_frame(struct dp_node *n, uint32_t idx)
{
	struct dp_slot *sl = dp_store_slot(&n->store, idx);
	struct rumor_msg *msg;
	void *obj;

	if (msg_get(n, &obj) != 0)
		return -ENOBUFS;
	msg = obj;
	msg->type = RUMOR_MSG_NEW_FRAME;
	msg->reserved = 0;
	msg->reserved2 = 0;
	msg->u.new_frame.origin = sl->origin;
	msg->u.new_frame.from = sl->from;
	msg->u.new_frame.count = sl->count;
	msg->u.new_frame.flags = sl->rflags;
	msg->u.new_frame.slot = idx;
	msg->u.new_frame.frame_len = sl->len;
	msg->u.new_frame.first_seq = sl->first_seq;
	msg->u.new_frame.frame = dp_store_data(&n->store, idx);
	{
		/* copy only the entries in use: a whole struct rumor_vc is 2.5 KiB */
		const struct rumor_vc *c = dp_node_clock(n);
		struct rumor_vc *h = &msg->u.new_frame.holder_clock;

		h->n = c->n;
		memcpy(h->node, c->node, c->n * sizeof(c->node[0]));
		memcpy(h->ctr, c->ctr, c->n * sizeof(c->ctr[0]));
	}
	if (rte_ring_enqueue(n->dp2cp, msg) != 0) {
		rte_mempool_put(n->msg_pool, obj);
		return -ENOBUFS;
	}
	return 0;
}

static void pend_push(struct dp_node *n, uint32_t idx)
{
	struct dp_slot *sl = dp_store_slot(&n->store, idx);

	if (sl->pending)
		return;
	sl->pending = 1;
	n->pend[n->pend_tail++ & n->pend_mask] = idx;
}

/* Report a held slot; keeps it pending when the ring or pool is full (never dropped). */
static void report(struct dp_node *n, uint32_t idx, uint16_t flags)
{
	struct dp_slot *sl = dp_store_slot(&n->store, idx);

	sl->rflags |= flags;
	if (sl->pending)
		return;
	if (n->pend_head == n->pend_tail && send_new_frame(n, idx) == 0) {
		sl->rflags = 0;
		return;
	}
	n->stats->ring_full_dp2cp++;
	pend_push(n, idx);
}

static unsigned flush_pending(struct dp_node *n)
{
	unsigned done = 0;

	while (n->pend_head != n->pend_tail) {
		uint32_t idx = n->pend[n->pend_head & n->pend_mask];
		struct dp_slot *sl = dp_store_slot(&n->store, idx);

		if (sl->state == DP_SLOT_HELD && sl->pending) {
			if (send_new_frame(n, idx) != 0)
				break;
			done++;
		}
		sl->pending = 0;
		sl->rflags = 0;
		n->pend_head++;
	}
	return done;
}

static int send_msg(struct dp_node *n, struct rumor_msg *msg)
{
	/* Acks and give-ups are small and rare: a few retries, then count and drop. */
	for (int i = 0; i < 64; i++) {
		if (rte_ring_enqueue(n->dp2cp, msg) == 0)
			return 0;
		flush_pending(n);
	}
	n->stats->ring_full_dp2cp++;
	rte_mempool_put(n->msg_pool, msg);
	return -ENOBUFS;
}

static struct rumor_msg *msg_alloc(struct dp_node *n, uint16_t type)
{
	void *obj;

	if (msg_get(n, &obj) != 0) {
		n->stats->ring_full_dp2cp++;
		return NULL;
	}
	memset(obj, 0, offsetof(struct rumor_msg, u) + 64);
	((struct rumor_msg *)obj)->type = type;
	return obj;
}

/* ---------------------------------------------------------------- TX */

static void auth_seal_tx(struct dp_node *n);

void dp_node_tx_flush(struct dp_node *n)
{
	uint16_t sent = 0;

	if (n->ntx == 0)
		return;
	/* worker 0 reads the link for every worker (w0 is NULL only before init is done) */
	if (unlikely(!(n->w0 != NULL ? n->w0 : n)->link.up)) {
		/* the PMD would queue or fail them; count them and let pulls / repairs recover */
		n->stats->drops[DP_DROP_LINK_DOWN] += n->ntx;
		rte_pktmbuf_free_bulk(n->txbuf, n->ntx);
		n->ntx = 0;
		return;
	}
	if (n->auth != NULL)
		auth_seal_tx(n);
	/* Count bytes before the burst: sent mbufs belong to the driver afterwards (net_null
	 * frees them inside the call). */
	uint64_t bytes = 0;

	for (uint16_t i = 0; i < n->ntx; i++)
		bytes += n->txbuf[i]->pkt_len;
	sent = rte_eth_tx_burst(n->port, n->wid, n->txbuf, n->ntx);
	n->stats->tx_pkts += sent;
	if (sent < n->ntx) {
		for (uint16_t i = sent; i < n->ntx; i++)
			bytes -= n->txbuf[i]->pkt_len;
		n->stats->tx_full += n->ntx - sent;
		rte_pktmbuf_free_bulk(&n->txbuf[sent], n->ntx - sent);
	}
	n->stats->tx_bytes += bytes;
	n->ntx = 0;
}

/* @seal: the frame's rumor header when its hop is still to be sealed (auth_seal_tx). */
static inline void tx_push_seal(struct dp_node *n, struct rte_mbuf *m, uint8_t *seal)
{
	if (n->ntx == DP_TXBUF)
		dp_node_tx_flush(n);
	n->txseal[n->ntx] = seal;
	n->txbuf[n->ntx++] = m;
}

static void l2l4_to(struct dp_node *n, const struct rumor_node_conf *peer,
		    struct rumor_wire_l2l4 *a)
{
	memcpy(a->dst_mac, peer->mac, 6);
	memcpy(a->src_mac, n->my_mac, 6);
	a->src_ip = n->my_ip;
	a->dst_ip = peer->ip;
	a->src_port = n->udp_port;
	a->dst_port = n->udp_port;
}

/* A sequence count around each rewrite of a template (struct dp_peer): one writer, worker 0;
 * a reader that saw it odd or moved copies again. */
static inline void peer_write_begin(struct dp_peer *pe)
{
	__atomic_store_n(&pe->seq, pe->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static inline void peer_write_end(struct dp_peer *pe)
{
	__atomic_store_n(&pe->seq, pe->seq + 1, __ATOMIC_RELEASE);
}

static inline uint32_t peer_read_begin(const struct dp_peer *pe)
{
	uint32_t s;

	while (unlikely((s = __atomic_load_n(&pe->seq, __ATOMIC_ACQUIRE)) & 1))
		rte_pause();
	return s;
}

static inline bool peer_read_retry(const struct dp_peer *pe, uint32_t s)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return unlikely(__atomic_load_n(&pe->seq, __ATOMIC_RELAXED) != s);
}

static void peer_build(struct dp_node *n, const struct rumor_node_conf *c)
{
	struct dp_peer *pe = &n->peers[c->id];
	const uint8_t *ip = pe->l2l4 + RUMOR_WIRE_ETH_LEN;
	struct rumor_wire_l2l4 a;
	uint32_t sum = 0;

	peer_write_begin(pe);
	l2l4_to(n, c, &a);
	rumor_wire_put_l2l4(pe->l2l4, &a, 0);
	memset(pe->l2l4 + RUMOR_WIRE_ETH_LEN + 2, 0, 2);   /* IP total length */
	memset(pe->l2l4 + RUMOR_WIRE_ETH_LEN + 10, 0, 2);  /* IP checksum */
	memset(pe->l2l4 + RUMOR_WIRE_ETH_LEN + RUMOR_WIRE_IP_LEN + 4, 0, 2); /* UDP length */
	for (unsigned i = 0; i < RUMOR_WIRE_IP_LEN; i += 2)
		sum += rumor_be_ld16(ip + i);
	pe->csum_base = sum;
	pe->ip = c->ip;
	peer_write_end(pe);
	/* after the template: a peer added at run time is read by the other workers */
	__atomic_store_n(&pe->valid, 1, __ATOMIC_RELEASE);
}

/* Write the L2-L4 prefix for @pe and the rumor header @hdr (patched) at @p. */
static inline void put_prefix(const struct dp_node *n, const struct dp_peer *pe, uint8_t *p,
			      const uint8_t *hdr, uint32_t rlen, uint8_t type, uint8_t rounds)
{
	uint8_t *ip = p + RUMOR_WIRE_ETH_LEN;
	uint16_t iplen = (uint16_t)(RUMOR_WIRE_IP_LEN + RUMOR_WIRE_UDP_LEN + rlen);
	uint32_t sum, s;

	do {
		s = peer_read_begin(pe);
		memcpy(p, pe->l2l4, RUMOR_WIRE_L2L4_LEN);
		sum = pe->csum_base + iplen;
	} while (peer_read_retry(pe, s));
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	rumor_be_st16(ip + 2, iplen);
	rumor_be_st16(ip + 10, (uint16_t)~sum);
	rumor_be_st16(ip + RUMOR_WIRE_IP_LEN + 4, (uint16_t)(RUMOR_WIRE_UDP_LEN + rlen));
	memcpy(p + RUMOR_WIRE_L2L4_LEN, hdr, RUMOR_WIRE_HDR_LEN);
	p[RUMOR_WIRE_L2L4_LEN + 5] = type;
	rumor_wire_patch_hop(p + RUMOR_WIRE_L2L4_LEN, rounds, n->self);
}

static inline const struct dp_peer *peer_get(const struct dp_node *n, uint16_t id)
{
	return id <= RUMOR_NODE_ID_MAX && n->peers[id].valid == 1 ? &n->peers[id] : NULL;
}

void dp_node_peer_mac(struct dp_node *n, uint16_t id, const uint8_t *mac)
{
	const struct rumor_node_conf *c = rumor_config_node(n->cfg, id);
	struct rumor_node_conf t;

	if (c == NULL || id == n->self)
		return;
	t = *c;
	if (mac == NULL) {
		/* a peer added at run time has no template yet: its addresses (no MAC) for the
		 * frames held meanwhile; one that expired keeps its own, valid first */
		if (n->peers[id].ip == 0) {
			memset(t.mac, 0, 6);
			peer_build(n, &t);
		}
		__atomic_store_n(&n->peers[id].valid, DP_PEER_ARP, __ATOMIC_RELEASE);
		return;
	}
	memcpy(t.mac, mac, 6);
	peer_build(n, &t);
}

/* ---------------------------------------------------------------- ARP hold (dp_hold.h) */

static inline bool link_up(const struct dp_node *n)
{
	/* worker 0 reads the link for every worker (w0 is NULL only before init is done) */
	return (n->w0 != NULL ? n->w0 : n)->link.up;
}

/* Frame @m, built for DP_PEER_ARP peer @id, waits for its MAC. */
static void hold_frame(struct dp_node *n, uint16_t id, struct rte_mbuf *m)
{
	void *old;
	int rc;

	if (unlikely(!link_up(n))) {
		/* no requests go out while down, so nothing resolves: what TX would do */
		drop(n, m, DP_DROP_LINK_DOWN);
		return;
	}
	rc = dp_hold_put(&n->hold, id, m, n->now, &old);
	if (rc < 0) {
		drop(n, m, DP_DROP_ARP_UNRESOLVED);
		return;
	}
	n->stats->nic[RUMOR_DP_ARP_HELD]++;
	if (rc == 1)
		drop(n, old, DP_DROP_ARP_HOLD_FULL);
}

/* Peer @id is valid (resolved): what it held goes to TX, in order, with the template's
 * MACs (ours too: with mac = arp the port's MAC came after the template). Before anything
 * newer to @id is queued. Returns the frames released. */
static unsigned hold_release(struct dp_node *n, uint16_t id)
{
	const struct dp_peer *pe = &n->peers[id];
	void *m[DP_ARP_HOLD];
	unsigned k = dp_hold_take(&n->hold, id, m);

	for (unsigned i = 0; i < k; i++) {
		uint8_t *p = rte_pktmbuf_mtod((struct rte_mbuf *)m[i], uint8_t *);
		uint8_t *r = p + RUMOR_WIRE_L2L4_LEN;
		uint32_t s;

		do {
			s = peer_read_begin(pe);
			memcpy(p, pe->l2l4, 2 * RTE_ETHER_ADDR_LEN);
		} while (peer_read_retry(pe, s));
		/* its hop is still to be sealed (auth_put set F_AUTH): at this flush */
		tx_push_seal(n, m[i], r[6] & RUMOR_WIRE_F_AUTH ? r : NULL);
	}
	n->stats->nic[RUMOR_DP_ARP_RELEASED] += k;
	return k;
}

/* Everything held freed, counted as @reason (< 0: not counted, at stop). */
static unsigned hold_free_all(struct dp_node *n, int reason)
{
	void *m[DP_ARP_HOLD];
	unsigned total = 0;

	while (n->hold.nq > 0) {
		unsigned k = dp_hold_take(&n->hold, dp_hold_peer(&n->hold, 0), m);

		if (reason >= 0)
			n->stats->drops[reason] += k;
		rte_pktmbuf_free_bulk((struct rte_mbuf **)m, k);
		total += k;
	}
	return total;
}

/* Once per loop pass, before TX flush: peers that resolved get their frames (a worker > 0
 * sees it here or on its next frame to them), frames held past the age bound are dropped,
 * link down frees everything. Nothing to do (one load) while nothing is held. */
static unsigned hold_poll(struct dp_node *n, uint64_t now)
{
	struct dp_hold *h = &n->hold;
	void *m[DP_ARP_HOLD];
	unsigned work = 0, k;

	if (likely(h->total == 0))
		return 0;
	if (!link_up(n))
		return hold_free_all(n, DP_DROP_LINK_DOWN);
	for (unsigned i = h->nq; i-- > 0;) {
		uint16_t id = dp_hold_peer(h, i);
		uint8_t v = __atomic_load_n(&n->peers[id].valid, __ATOMIC_ACQUIRE);

		if (v == 1) {
			work += hold_release(n, id);
		} else if (v != DP_PEER_ARP) {
			/* no longer a peer (nothing removes one today): nobody to wait for */
			k = dp_hold_take(h, id, m);
			n->stats->drops[DP_DROP_PEER] += k;
			rte_pktmbuf_free_bulk((struct rte_mbuf **)m, k);
			work += k;
		}
	}
	while ((k = dp_hold_expire(h, now, m, DP_ARP_HOLD)) > 0) {
		n->stats->drops[DP_DROP_ARP_HOLD_AGED] += k;
		rte_pktmbuf_free_bulk((struct rte_mbuf **)m, k);
		work += k;
	}
	return work;
}

/* ---------------------------------------------------------------- frame authentication */

/* Persist the last counter stamped (no fsync on the lcore: a killed process leaves it in the
 * page cache; after a power loss the wall clock, which counters follow, is past it anyway).
 * Worker 0 alone holds the file; with several workers it stores the highest clock part any
 * lane stamped (the other workers' auth_last read as whole words, racy but never torn), so
 * every lane restarts above what it used even if the wall clock went back. */
static void auth_ctr_store(struct dp_node *n)
{
	uint64_t last = n->auth_last & DP_AUTH_CLOCK_MASK;
	uint8_t b[8];

	if (n->auth_fd < 0)
		return;
	for (unsigned j = 1; j < n->nworkers; j++) {
		uint64_t c;

		if (n->wk[j] == NULL)
			continue;
		c = __atomic_load_n(&n->wk[j]->auth_last, __ATOMIC_RELAXED) & DP_AUTH_CLOCK_MASK;
		if (c > last)
			last = c;
	}
	rumor_be_st64(b, last);
	if (pwrite(n->auth_fd, b, 8, 0) != 8) {
		/* nothing better to do on the lcore: the next start still begins above the
		 * wall clock */
	}
}

static uint64_t wall_ctr(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return rumor_auth_ctr_of_ns((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
}

/* The wall clock as a counter, from the TSC: read once per RX burst and loop pass. */
static inline void auth_now(struct dp_node *n)
{
	n->auth_now_ctr = n->auth_lane |
			  (n->auth_base_ctr +
			   (uint64_t)((unsigned __int128)(rte_rdtsc() - n->auth_base_tsc) *
					      n->auth_mult >>
				      32));
}

/* Our next hop counter (rumor_auth.h): that clock, strictly rising. */
static inline uint64_t auth_ctr(struct dp_node *n)
{
	uint64_t c = n->auth_now_ctr > n->auth_last ? n->auth_now_ctr : n->auth_last + 1;

	__atomic_store_n(&n->auth_last, c, __ATOMIC_RELAXED); /* auth_ctr_store reads it */
	return c;
}

/* Once a second: the TSC's idea of the wall clock is set again from CLOCK_REALTIME (NTP's
 * slewing), and the counter reached is persisted. */
static void auth_clock(struct dp_node *n, uint64_t now)
{
	n->auth_tick = now + n->tsc_hz;
	n->auth_base_tsc = rte_rdtsc();
	n->auth_base_ctr = wall_ctr();
	n->auth_now_ctr = n->auth_lane | n->auth_base_ctr;
	auth_ctr_store(n);
}

/* Seal the hops of the TX burst, in order, just before it goes out: sealing them together
 * keeps the carry-less multipliers busy, and the header stores have long retired. Each
 * counter comes with its key stream block, made for the rest of the burst in one pass (the
 * counters are reserved like auth_ctr's, so nothing else stamps them); pads older than the
 * clock are dropped unused, so counters still follow the wall clock and a receiver started since
 * never sees one below its start. */
static void auth_seal_tx(struct dp_node *n)
{
	struct rumor_auth_pads *pd = &n->pads;
	uint8_t *r[DP_TXBUF];
	unsigned k = 0, i = 0;

	for (unsigned j = 0; j < n->ntx; j++)
		if (n->txseal[j] != NULL)
			r[k++] = n->txseal[j];
	while (i < k) {
		uint8_t key = r[i][RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_KEY];
		unsigned done;

		if (pd->next >= pd->n || pd->key != key || pd->ctr0 + pd->next < n->auth_now_ctr) {
			uint64_t c0 = n->auth_now_ctr > n->auth_last ? n->auth_now_ctr
								      : n->auth_last + 1;
			/* the rest of the burst in one AES pass (rounded up to 8: a few unused
			 * counters at most, as before) */
			unsigned np = rumor_auth_pads_count(k - i);

			__atomic_store_n(&n->auth_last, c0 + np - 1, __ATOMIC_RELAXED);
			if (rumor_auth_pads_fill_n(n->auth, pd, key, n->self, c0, np) != 0) {
				i++; /* a key we do not hold (no slot carries one): unsealed */
				continue;
			}
		}
		done = rumor_auth_hop_seal_pads(n->auth, r + i, k - i, pd);
		if (done == 0 && pd->next < pd->n && pd->key == key)
			i++; /* not ours to seal (sender field): never happens */
		i += done;
	}
}

/* After put_prefix: add the auth header for @dst (key, the slot's body seal or none for a
 * PULL_REQ) behind the fixed header at @p; the counter and hop tag come at TX flush. */
static inline void auth_put(struct dp_node *n, uint8_t *p, uint16_t dst,
			    const struct dp_auth_slot *as)
{
	uint8_t *r = p + RUMOR_WIRE_L2L4_LEN, *ah = r + RUMOR_WIRE_HDR_LEN;

	r[6] |= RUMOR_WIRE_F_AUTH | (as && n->encrypt ? RUMOR_WIRE_F_ENC : 0);
	if (as) {
		memcpy(ah + RUMOR_WIRE_AUTH_KEY, as->ka, sizeof(as->ka));
		memcpy(ah + RUMOR_WIRE_AUTH_NONCE, as->nt, sizeof(as->nt));
	} else {
		ah[RUMOR_WIRE_AUTH_KEY] = n->auth_key;
		ah[RUMOR_WIRE_AUTH_ALG] = RUMOR_AUTH_ALG_GMAC256;
		memset(ah + RUMOR_WIRE_AUTH_NONCE, 0, 8 + RUMOR_AUTH_TAG_LEN);
	}
	rumor_be_st16(ah + RUMOR_WIRE_AUTH_DST, dst);
}

/* The origin seals a closed frame's body once; relays resend that seal. */
static void auth_seal_body(struct dp_node *n, uint32_t idx)
{
	struct dp_auth_slot *as = &n->aslot[idx];
	uint8_t *data = dp_store_data(&n->store, idx);
	size_t blen = dp_store_slot(&n->store, idx)->len - RUMOR_WIRE_HDR_LEN;
	uint64_t nonce = auth_ctr(n);

	as->ka[0] = n->auth_key;
	as->ka[1] = RUMOR_AUTH_ALG_GMAC256;
	rumor_be_st64(as->nt, nonce);
	if (n->encrypt)
		/* once: relays forward this ciphertext and its tag */
		rumor_auth_body_seal_enc(n->auth, n->auth_key, nonce, data, data + RUMOR_WIRE_HDR_LEN,
					 data + n->ct_off, blen, as->nt + 8);
	else
		rumor_auth_body_tag(n->auth, n->auth_key, nonce, data, data + RUMOR_WIRE_HDR_LEN,
				    blen, as->nt + 8);
}

/* The replay window of @sender's counters in @lane (1..DP_WORKERS_MAX-1: its worker @lane
 * sealed them), made on the lane's first frame whose hop tag verified: only a key holder
 * makes one, at most one per (sender, lane) for the process's life. Windows for every lane
 * of every possible sender up front would be 17 MiB of hugepages per worker, while a
 * cluster's senders and their workers are few. NULL when out of memory (the frame is refused:
 * without a window nothing proves it fresh). */
static struct rumor_auth_window *lane_win(struct dp_node *n, uint16_t sender, unsigned lane)
{
	struct rumor_auth_window **w = &n->wlane[sender * (DP_WORKERS_MAX - 1) + lane - 1];

	if (unlikely(*w == NULL)) {
		*w = rte_malloc("dp_auth_lane", sizeof(**w), RTE_CACHE_LINE_SIZE);
		if (*w != NULL)
			rumor_auth_window_init(*w, (uint64_t)lane << DP_AUTH_LANE_SHIFT |
							   n->auth_floor);
	}
	return *w;
}

/* A received frame's hop: key, tag, addressee, then the replay window of the sender's lane
 * (moved only by frames whose tag is right). Returns 0 or a rumor_auth_reason.
 * With several workers each has its own windows, so a replay must meet the window its
 * original moved: this runs only on the worker owning the frame's origin (dp_owner), which
 * the frame's bytes under the hop tag decide: steer() hands every rumor frame (a PULL_REQ by
 * the origin it asks for) to that worker before dp_node_rx, whatever queue RSS put it on; a
 * frame without a valid origin (0, > RUMOR_NODE_ID_MAX) stays where it came in and the codec
 * (or enc_open) drops it before this. */
static __rte_always_inline int auth_rx(struct dp_node *n, const struct rte_mbuf *m,
				       const uint8_t *ah, uint16_t sender, const uint8_t *rumor)
{
	struct rumor_auth_window *w;
	uint64_t ctr, lane;
	int rc;

	/* (a key id we do not hold: the hop check says RUMOR_AUTH_NO_KEY) */
	if (ah == NULL || ah[RUMOR_WIRE_AUTH_ALG] != RUMOR_AUTH_ALG_GMAC256)
		return RUMOR_AUTH_NO_KEY;
	/* the burst's checks made this one already (dp_node_rx_burst), over these bytes */
	if (n->pre_i < n->pre_n && n->pre_m[n->pre_i] == m &&
	    rumor == rte_pktmbuf_mtod(m, const uint8_t *) + RUMOR_WIRE_L2L4_LEN) {
		rc = n->pre_rc[n->pre_i];
		n->arx = &n->pre_rx[n->pre_i];
	} else {
		rc = rumor_auth_hop_check(n->auth, rumor, &n->arx1);
		n->arx = &n->arx1;
	}
	if (rc != 0)
		return rc;
	if (rumor_be_ld16(ah + RUMOR_WIRE_AUTH_DST) != n->self)
		return RUMOR_AUTH_BAD_TAG; /* sealed for another node: replayed at us */
	ctr = rumor_be_ld64(ah + RUMOR_WIRE_AUTH_CTR);
	lane = ctr >> DP_AUTH_LANE_SHIFT;
	if (likely(lane == 0))
		w = &n->win[sender];
	else if (lane >= DP_WORKERS_MAX || (w = lane_win(n, sender, (unsigned)lane)) == NULL)
		return RUMOR_AUTH_REPLAY; /* no such lane, or no window: nothing proves it fresh */
	rc = rumor_auth_window_take(w, ctr);
	if (rc != 0)
		return rc;
	n->stats->auth_rx_by_key[ah[RUMOR_WIRE_AUTH_KEY]]++;
	return 0;
}

/* Keyring, seal state and windows from [auth]. Returns 0 or -errno with the reason in
 * p->err. Without a keyring frames go out and are taken unauthenticated. */
static int auth_init(struct dp_node *n, const struct dp_node_params *p)
{
	const struct rumor_config *cfg = p->cfg;
	char err[256] = "";
	uint64_t stored = 0, floor;
	int rc;

	n->auth_fd = -1;
	if (!cfg->auth.keyring[0]) {
		if (!cfg->auth.insecure)
			fprintf(stderr, "rumor-dp: WARNING: no [auth] keyring in %s: gossip frames "
					"are not authenticated (set keyring, or insecure = true "
					"to say so)\n", cfg->path);
		return 0;
	}
	n->auth = rumor_auth_new();
	if (n->auth == NULL) {
		snprintf(p->err ? p->err : err, p->err ? p->errlen : sizeof(err),
			 "[auth]: no AES-NI/PCLMULQDQ (or out of memory) for the frame MACs");
		return -ENOTSUP;
	}
	rc = rumor_auth_keyring_load(n->auth, cfg->auth.keyring, err, sizeof(err));
	if (rc < 0) {
		if (p->err)
			snprintf(p->err, p->errlen, "[auth] keyring: %s", err);
		return rc == -ENOMEM ? rc : -EINVAL;
	}
	n->auth_key = cfg->auth.use;
	for (unsigned i = 1; i < 256 && n->auth_key == 0; i++)
		if (rumor_auth_has_key(n->auth, (uint8_t)i))
			n->auth_key = (uint8_t)i;
	if (rumor_auth_use(n->auth, n->auth_key) != 0) {
		if (p->err)
			snprintf(p->err, p->errlen, "[auth] use = %u: no such key in %s",
				 n->auth_key, cfg->auth.keyring);
		return -EINVAL;
	}
	n->encrypt = cfg->auth.encrypt && n->ct_off != 0;
	if (n->encrypt) {
		n->encbuf = rte_malloc("dp_encbuf", RUMOR_WIRE_ETH_LEN + RUMOR_WIRE_L2L4_LEN +
							    n->ct_off + RUMOR_WIRE_AUTH_LEN, 64);
		if (n->encbuf == NULL)
			return -ENOMEM;
	}
	n->aslot = rte_zmalloc("dp_auth_slots", n->store.nslots * sizeof(*n->aslot), 0);
	n->win = rte_zmalloc("dp_auth_win", (RUMOR_NODE_ID_MAX + 1) * sizeof(*n->win), 0);
	/* also with one worker: senders with several seal on several lanes */
	n->wlane = rte_zmalloc("dp_auth_wlane", (RUMOR_NODE_ID_MAX + 1) * (DP_WORKERS_MAX - 1) *
							sizeof(*n->wlane), 0);
	if (n->aslot == NULL || n->win == NULL || n->wlane == NULL)
		return -ENOMEM;
	/* Receiver restart: frames sent before we started carry counters below our start time
	 * (senders' counters follow their wall clocks), so nothing captured before the restart
	 * is taken again. In every lane (lane_win). */
	floor = wall_ctr() + 2;
	n->auth_floor = floor;
	for (unsigned i = 0; i <= RUMOR_NODE_ID_MAX; i++)
		n->win[i].floor = floor;
	if (p->state_dir != NULL) {
		char path[512];
		uint8_t b[8];

		snprintf(path, sizeof(path), "%s/auth-counter-%u", p->state_dir, n->self);
		n->auth_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (n->auth_fd < 0) {
			rc = -errno;
			if (p->err)
				snprintf(p->err, p->errlen, "%s: %s", path, strerror(errno));
			return rc;
		}
		if (pread(n->auth_fd, b, 8, 0) == 8)
			stored = rumor_be_ld64(b);
	}
	/* 2^32 / (tsc_hz * 64 ns): counter units per TSC tick, scaled by 2^32 */
	n->pads.next = RUMOR_AUTH_PADS_MAX; /* none yet */
	n->auth_mult = (uint64_t)(((unsigned __int128)1000000000ull << 32) /
				  ((unsigned __int128)n->tsc_hz << RUMOR_AUTH_CTR_SHIFT));
	n->auth_base_tsc = rte_rdtsc();
	n->auth_base_ctr = wall_ctr();
	n->auth_lane = 0; /* worker 0; workers_init gives the others theirs */
	n->auth_now_ctr = n->auth_base_ctr;
	n->auth_tick = 0;
	/* above what a previous run persisted even if the clock went back: GMAC nonces (the
	 * counters are part of the IVs) must never repeat */
	n->auth_last = (stored & DP_AUTH_CLOCK_MASK) > floor ? stored & DP_AUTH_CLOCK_MASK : floor;
	if (n->auth_fd >= 0) {
		auth_ctr_store(n);
		if (fsync(n->auth_fd) != 0) {
			rc = -errno;
			if (p->err)
				snprintf(p->err, p->errlen, "auth-counter fsync: %s", strerror(errno));
			return rc;
		}
	}
	return 0;
}

/* Send slot @idx to each of @peers: per peer a header mbuf (template L2-L4 + patched fixed
 * header) chained in front of a body mbuf attached to the store slot (no payload copy).
 * Mbufs come in one bulk allocation; the slot's refcount moves once for all of them.
 * Returns how many were queued for TX. */
static unsigned send_slot_multi(struct dp_node *n, uint32_t idx, const uint16_t *peers,
				unsigned k, uint8_t type, uint8_t rounds)
{
	struct dp_slot *sl = dp_store_slot(&n->store, idx);
	uint8_t *data = dp_store_data(&n->store, idx);
	uint16_t body_len = (uint16_t)(sl->len - RUMOR_WIRE_HDR_LEN);
	/* A small body is copied behind the header: cheaper than a second mbuf, its extbuf
	 * attach and the slot refcount's two atomics per copy (and one segment to send). */
	bool copy = body_len <= DP_COPY_BODY_MAX;
	unsigned per = body_len > 0 && !copy ? 2 : 1, ok = 0, j = 0;
	const struct dp_peer *pe[DP_FANOUT_MAX];
	uint16_t pid[DP_FANOUT_MAX];
	bool hold[DP_FANOUT_MAX];           /* to a DP_PEER_ARP peer: built, then held */
	struct rte_mbuf *mb[2 * DP_FANOUT_MAX];
	uint32_t alen = n->auth ? RUMOR_WIRE_AUTH_LEN : 0;
	uint8_t *body;
	rte_iova_t iova;

	for (unsigned i = 0; i < k && ok < DP_FANOUT_MAX; i++) {
		uint16_t id = peers[i];

		pe[ok] = peer_get(n, id);
		hold[ok] = pe[ok] == NULL;
		if (pe[ok] == NULL) {
			if (id > RUMOR_NODE_ID_MAX || n->peers[id].valid != DP_PEER_ARP) {
				n->stats->drops[DP_DROP_PEER]++;
				continue;
			}
			pe[ok] = &n->peers[id]; /* its addresses; the MACs come at release */
		} else if (unlikely(n->hold.total != 0)) {
			hold_release(n, id); /* resolved since: what waited goes first */
		}
		pid[ok++] = id;
	}
	if (ok == 0)
		return 0;
	if (rte_pktmbuf_alloc_bulk(n->hdr_pool, mb, ok * per) != 0) {
		n->stats->drops[DP_DROP_NOMBUF] += ok;
		return 0;
	}
	if (body_len > 0 && !copy)
		rte_mbuf_ext_refcnt_update(&sl->shinfo, (int16_t)ok);
	/* the body on the wire: the plaintext, or with [auth] encrypt its ciphertext */
	body = n->encrypt ? data + n->ct_off : data + RUMOR_WIRE_HDR_LEN;
	iova = dp_store_iova(&n->store, idx);
	if (iova != RTE_BAD_IOVA)
		iova += (rte_iova_t)(body - data);
	for (unsigned i = 0; i < ok; i++) {
		struct rte_mbuf *h = mb[j++];

		put_prefix(n, pe[i], rte_pktmbuf_mtod(h, uint8_t *), data, sl->len + alen, type,
			   rounds);
		if (n->auth)
			auth_put(n, rte_pktmbuf_mtod(h, uint8_t *), pid[i], &n->aslot[idx]);
		h->data_len = (uint16_t)(RUMOR_WIRE_PREFIX_LEN + alen);
		h->pkt_len = RUMOR_WIRE_PREFIX_LEN + alen;
		if (copy) {
			rte_memcpy(rte_pktmbuf_mtod_offset(h, uint8_t *, h->data_len), body,
				   body_len);
			h->data_len = (uint16_t)(h->data_len + body_len);
			h->pkt_len += body_len;
		} else if (body_len > 0) {
			struct rte_mbuf *b = mb[j++];

			rte_pktmbuf_attach_extbuf(b, body, iova, body_len, &sl->shinfo);
			b->data_len = body_len;
			b->pkt_len = body_len;
			h->next = b;
			h->nb_segs = 2;
			h->pkt_len += body_len;
		}
		if (unlikely(hold[i]))
			hold_frame(n, pid[i], h);
		else
			tx_push_seal(n, h, n->auth ? rte_pktmbuf_mtod(h, uint8_t *) +
						     RUMOR_WIRE_L2L4_LEN : NULL);
	}
	return ok;
}

static int send_slot(struct dp_node *n, uint32_t idx, uint16_t peer_id, uint8_t type,
		     uint8_t rounds)
{
	return send_slot_multi(n, idx, &peer_id, 1, type, rounds) == 1 ? 0 : -ENOBUFS;
}

/* Pick up to @k distinct view members other than @ex1, @ex2 and ourselves. */
static unsigned pick_peers(struct dp_node *n, unsigned k, uint16_t ex1, uint16_t ex2,
			   uint16_t *out)
{
	uint16_t cand[RUMOR_VC_MAX_ENTRIES];
	unsigned nc = 0, got = 0;

	/* Few picks from a large view (the common case): rejection sampling, uniform over the
	 * candidates without building the candidate list; bounded tries, then the full way. */
	if (2 * k <= n->nview) {
		for (unsigned t = 0; t < 8 * k && got < k; t++) {
			uint16_t c = n->view[(uint32_t)(rnd(n) >> 32) * (uint64_t)n->nview >> 32];
			bool dup = c == ex1 || c == ex2 || c == n->self;

			for (unsigned i = 0; i < got && !dup; i++)
				dup = out[i] == c;
			if (!dup)
				out[got++] = c;
		}
		if (got == k)
			return k;
	}
	for (unsigned i = 0; i < n->nview; i++)
		if (n->view[i] != ex1 && n->view[i] != ex2 && n->view[i] != n->self)
			cand[nc++] = n->view[i];
	if (k > nc)
		k = nc;
	for (unsigned i = 0; i < k; i++) {
		/* multiply-shift instead of a 64-bit division */
		unsigned j = i + (unsigned)((rnd(n) >> 32) * (uint64_t)(nc - i) >> 32);
		uint16_t t = cand[i];

		cand[i] = cand[j];
		cand[j] = t;
		out[i] = cand[i];
	}
	return k;
}

/* The sender and the origin already hold the frame: sending it back is wasted fan-out. */
static void fanout(struct dp_node *n, uint32_t idx, uint8_t rounds, uint16_t sender)
{
	uint16_t peers[RUMOR_VC_MAX_ENTRIES];
	unsigned k = pick_peers(n, n->cfg->gossip.fanout, sender,
				dp_store_slot(&n->store, idx)->origin, peers);

	if (k > DP_FANOUT_MAX)
		k = DP_FANOUT_MAX;
	if (k > 0)
		n->stats->fanout_frames += send_slot_multi(n, idx, peers, k, RUMOR_WIRE_GOSSIP,
							   rounds);
}

/* ---------------------------------------------------------------- origination */

static void close_frame(struct dp_node *n)
{
	struct dp_open_frame *of = &n->of;
	const struct rumor_vc *vc;
	struct rumor_wire_hdr hdr;
	struct dp_slot *sl;
	uint8_t *data;

	if (!of->open)
		return;
	of->open = false;
	vc = dp_node_clock(n);
	/* No merge happened since the frame opened (a merge closes it first), so the clock
	 * has the same entries: re-encode it in place with the frame's last seq. When the frame
	 * was cut because the next event did not fit, our entry is already one past that. */
	uint64_t now_seq = rumor_vc_get(vc, n->self);
	rumor_vc_set(&n->clock_sparse, n->self, of->first_seq + of->body.events - 1);
	rumor_vc_encode(&n->clock_sparse, of->body.buf, of->clock_len);
	rumor_vc_set(&n->clock_sparse, n->self, now_seq);
	data = dp_store_data(&n->store, of->slot);
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = RUMOR_WIRE_GOSSIP;
	hdr.rounds_left = n->cfg->gossip.rounds;
	hdr.cluster_id = n->cluster_id;
	hdr.origin = n->self;
	hdr.sender = n->self;
	hdr.first_seq = of->first_seq;
	hdr.event_count = of->body.events;
	hdr.clock_count = vc->n;
	rumor_wire_put_hdr(data, &hdr);
	sl = dp_store_slot(&n->store, of->slot);
	sl->len = (uint32_t)(RUMOR_WIRE_HDR_LEN + of->body.len);
	sl->first_seq = of->first_seq;
	sl->from = 0;
	sl->count = of->body.events;
	if (n->auth)
		auth_seal_body(n, of->slot);
	dp_dedupe_insert(&n->dedupe, n->self, of->first_seq, of->slot);
	n->stats->originated_frames++;
	report(n, of->slot, 0);
	fanout(n, of->slot, n->cfg->gossip.rounds, 0);
}

static size_t body_cap(const struct dp_node *n)
{
	/* the auth header travels in the same IP MTU */
	return rumor_wire_body_max(n->cfg->gossip.mtu) - (n->auth ? RUMOR_WIRE_AUTH_LEN : 0);
}

/* Clock bytes a frame opened now would carry (our entry included). */
static size_t clock_bytes_next(struct dp_node *n)
{
	unsigned nz = n->clock.nonzero + (n->clock.ctr[n->self] == 0 ? 1 : 0);

	return (size_t)nz * RUMOR_VC_WIRE_ENTRY;
}

static int try_ack(struct dp_node *n, const struct rumor_msg_originate_ack *a)
{
	void *obj;

	if (msg_get(n, &obj) != 0)
		return -ENOBUFS;
	memset(obj, 0, offsetof(struct rumor_msg, u));
	((struct rumor_msg *)obj)->type = RUMOR_MSG_ORIGINATE_ACK;
	((struct rumor_msg *)obj)->u.originate_ack = *a;
	if (rte_ring_enqueue(n->dp2cp, obj) != 0) {
		rte_mempool_put(n->msg_pool, obj);
		return -ENOBUFS;
	}
	return 0;
}

/* Queued acks, in order. Returns how many went out. */
static unsigned flush_acks(struct dp_node *n)
{
	unsigned done = 0;

	while (n->ackq_head != n->ackq_tail &&
	       try_ack(n, &n->ackq[n->ackq_head % DP_ACKQ]) == 0) {
		n->ackq_head++;
		done++;
	}
	return done;
}

/* The outcome of one ORIGINATE. Never dropped: a full ring or pool queues it (a dropped ack
 * left the client without an answer, and its retry made the events twice). */
static void ack(struct dp_node *n, uint64_t req_id, int status, uint16_t count,
		uint64_t first_seq)
{
	struct rumor_msg_originate_ack a = { .req_id = req_id, .status = status, .count = count,
					     .origin = n->self, .first_seq = first_seq };

	if (n->ackq_head == n->ackq_tail && try_ack(n, &a) == 0)
		return;
	n->stats->ring_full_dp2cp++;
	n->stats->acks_queued++;
	/* cp2dp is not drained while half the queue is used: it cannot overflow */
	n->ackq[n->ackq_tail++ % DP_ACKQ] = a;
}

/* Worker 0 before it stamps: take the entries other workers merged from the frames they
 * received (each a whole-word store, monotone; a report of theirs that rumor-cp answered
 * with this ORIGINATE was enqueued after its merge), so our timestamps cover every frame
 * this node reported. As a merge on one worker, a growing clock closes the open frame. */
static void clock_absorb(struct dp_node *n)
{
	bool closed = false;

	for (unsigned j = 1; j < n->nworkers; j++) {
		const struct dp_node *w = n->wk[j];
		unsigned hi = __atomic_load_n(&w->clock_hi, __ATOMIC_ACQUIRE);

		for (unsigned id = 1; id <= hi; id++) {
			uint64_t v = __atomic_load_n(&w->clock.ctr[id], __ATOMIC_RELAXED);

			if (id == n->self || v <= n->clock.ctr[id])
				continue;
			if (!closed) {
				close_frame(n);
				closed = true;
			}
			if (n->clock.ctr[id] == 0)
				n->clock.nonzero++;
			n->clock.ctr[id] = v;
			if (id > n->clock_hi)
				n->clock_hi = (uint16_t)id;
			if (!n->clock_dirty && rumor_vc_set(&n->clock_sparse, (uint16_t)id, v) != 0)
				n->clock_dirty = true;
		}
	}
}

static void originate(struct dp_node *n, struct rumor_msg *msg, uint64_t now)
{
	const struct rumor_msg_originate *o = &msg->u.originate;
	const uint8_t *data = rumor_msg_originate_data(msg); /* may run past o->data's size */
	struct dp_open_frame *of = &n->of;
	size_t cap = body_cap(n), off = 0, rem, clk;
	unsigned need = 0, events;
	uint64_t first = 0;

	if (o->count == 0 || o->data_len > rumor_msg_originate_cap(n->msg_size)) {
		ack(n, o->req_id, -EINVAL, 0, 0);
		return;
	}
	if (n->nworkers > 1)
		clock_absorb(n);
	/* Dry run: validate and count the slots this message needs, so a full store refuses
	 * it before anything is stamped. */
	clk = of->open ? of->clock_len : clock_bytes_next(n);
	rem = of->open ? cap - of->body.len : 0;
	events = of->open ? of->body.events : RUMOR_WIRE_MAX_EVENTS;
	for (unsigned i = 0; i < o->count; i++) {
		const uint8_t *payload;
		uint16_t len;
		size_t sz;

		if (rumor_msg_originate_next(data, o->data_len, &off, &payload, &len) != 1) {
			ack(n, o->req_id, -EINVAL, 0, 0);
			return;
		}
		sz = rumor_wire_event_size(len);
		if (clk + sz > cap) {
			ack(n, o->req_id, -EMSGSIZE, 0, 0);
			return;
		}
		if (sz > rem || events >= RUMOR_WIRE_MAX_EVENTS) {
			need++;
			rem = cap - clk;
			events = 0;
		}
		rem -= sz;
		events++;
	}
	if (off != o->data_len) {
		ack(n, o->req_id, -EINVAL, 0, 0);
		return;
	}
	/* Flow control: past its window the origin pushes back (the client retries) instead
	 * of sending frames that receivers, who hold every origin's frames until applied,
	 * would have to drop. */
	if (need > dp_store_free_count(&n->store) ||
	    __atomic_load_n(&n->store.origin_used[n->self], __ATOMIC_RELAXED) + need >
		    n->cfg->dataplane.origin_window) {
		n->stats->originate_refused++;
		n->stats->store_full++;
		ack(n, o->req_id, -ENOSPC, 0, 0);
		return;
	}
	/* Seqs above the durable reservation are never stamped: crossing it persists the next
	 * block first (write + fsync on this lcore, once per block). */
	if (dp_seqstate_reserve(&n->seq, n->clock.ctr[n->self] + o->count) != 0) {
		n->stats->originate_refused++;
		ack(n, o->req_id, -EIO, 0, 0);
		return;
	}
	off = 0;
	for (unsigned i = 0; i < o->count; i++) {
		const uint8_t *payload = NULL;
		uint16_t len = 0;
		struct rumor_event_id id;
		uint64_t seq;
		int rc;

		/* the dry run checked every event */
		(void)rumor_msg_originate_next(data, o->data_len, &off, &payload, &len);
		rumor_vc_dense_tick(&n->clock, n->self, &seq);
		/* keep the sparse copy in step without a full O(node ids) export */
		if (!n->clock_dirty && rumor_vc_set(&n->clock_sparse, n->self, seq) != 0)
			n->clock_dirty = true;
		if (i == 0)
			first = seq;
		rumor_event_id_compute(n->self, seq, payload, len, &id);
		for (;;) {
			if (!of->open) {
				uint32_t idx;

				if (dp_store_alloc(&n->store, n->self, true, &idx) != 0)
					break; /* cannot happen: checked above */
				of->open = true;
				of->slot = idx;
				dp_store_slot(&n->store, idx)->born = now;
				of->first_seq = seq;
				of->deadline = now + (uint64_t)n->cfg->gossip.flush_us *
						     n->tsc_hz / 1000000u;
				rumor_wire_body_start(&of->body,
						      dp_store_data(&n->store, idx) +
							      RUMOR_WIRE_HDR_LEN,
						      cap, dp_node_clock(n));
				of->clock_len = rumor_vc_wire_size(dp_node_clock(n));
			}
			rc = rumor_wire_body_add(&of->body, &id, payload, len);
			if (rc == 0)
				break;
			if (of->body.events == 0)
				break; /* cannot happen: sizes checked above */
			close_frame(n);
		}
		n->stats->originated_events++;
	}
	ack(n, o->req_id, 0, o->count, first);
}

/* ---------------------------------------------------------------- pulls */

static int send_pull_req(struct dp_node *n, struct dp_pull *pl, uint16_t peer_id)
{
	const struct dp_peer *pe = peer_get(n, peer_id);
	uint8_t hb[RUMOR_WIRE_HDR_LEN];
	struct rumor_wire_hdr hdr;
	struct rte_mbuf *h;
	uint8_t *p;

	if (pe == NULL)
		return -ENOENT;
	h = rte_pktmbuf_alloc(n->hdr_pool);
	if (h == NULL) {
		n->stats->drops[DP_DROP_NOMBUF]++;
		return -ENOBUFS;
	}
	p = (uint8_t *)rte_pktmbuf_append(h, RUMOR_WIRE_PREFIX_LEN +
						(n->auth ? RUMOR_WIRE_AUTH_LEN : 0));
	if (p == NULL) {
		rte_pktmbuf_free(h);
		return -ENOBUFS;
	}
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = RUMOR_WIRE_PULL_REQ;
	hdr.cluster_id = n->cluster_id;
	hdr.origin = pl->origin;
	hdr.sender = n->self;
	hdr.first_seq = pl->first_seq;
	hdr.event_count = pl->count;
	rumor_wire_put_hdr(hb, &hdr);
	put_prefix(n, pe, p, hb, RUMOR_WIRE_HDR_LEN + (n->auth ? RUMOR_WIRE_AUTH_LEN : 0),
		   RUMOR_WIRE_PULL_REQ, 0);
	if (n->auth)
		auth_put(n, p, peer_id, NULL);
	tx_push_seal(n, h, n->auth ? p + RUMOR_WIRE_L2L4_LEN : NULL);
	n->stats->pull_sent++;
	return 0;
}

static uint16_t pull_pick(struct dp_node *n, const struct dp_pull *pl)
{
	uint16_t cand[RUMOR_VC_MAX_ENTRIES];
	unsigned nc = 0;

	for (unsigned i = 0; i < n->nview; i++) {
		bool tried = n->view[i] == n->self;

		for (unsigned t = 0; t < pl->tries && !tried; t++)
			tried = pl->tried[t] == n->view[i];
		if (!tried)
			cand[nc++] = n->view[i];
	}
	return nc ? cand[rnd(n) % nc] : 0;
}

static void pull_try(struct dp_node *n, struct dp_pull *pl, uint16_t peer, uint64_t now)
{
	if (peer == 0)
		peer = pull_pick(n, pl);
	if (peer != 0)
		send_pull_req(n, pl, peer);
	pl->tried[pl->tries++] = peer;
	pl->deadline = now + n->pull_timeout;
}

static void pull_fail(struct dp_node *n, uint16_t origin, uint64_t first_seq, uint16_t count)
{
	struct rumor_msg *m = msg_alloc(n, RUMOR_MSG_PULL_FAILED);

	n->stats->pull_failed++;
	if (m == NULL)
		return;
	m->u.pull_failed.origin = origin;
	m->u.pull_failed.first_seq = first_seq;
	m->u.pull_failed.count = count;
	send_msg(n, m);
}

static void pull_start(struct dp_node *n, const struct rumor_msg_pull *rq, uint64_t now)
{
	struct dp_pull *pl = NULL;

	if (rq->origin == 0 || rq->origin > RUMOR_NODE_ID_MAX || rq->first_seq == 0 ||
	    dp_dedupe_lookup(&n->dedupe, rq->origin, rq->first_seq, NULL))
		return; /* held already (reported) or nonsense */
	for (unsigned i = 0; i < DP_PULL_MAX; i++) {
		if (n->pulls[i].used && n->pulls[i].origin == rq->origin &&
		    n->pulls[i].first_seq == rq->first_seq)
			return; /* already pulling */
		if (!n->pulls[i].used && pl == NULL)
			pl = &n->pulls[i];
	}
	if (pl == NULL) {
		pull_fail(n, rq->origin, rq->first_seq, rq->count);
		return;
	}
	memset(pl, 0, sizeof(*pl));
	pl->used = 1;
	pl->origin = rq->origin;
	pl->first_seq = rq->first_seq;
	pl->count = rq->count ? rq->count : 1;
	pull_try(n, pl, rq->hint != n->self ? rq->hint : 0, now);
}

static void pull_done(struct dp_node *n, uint16_t origin, uint64_t first_seq)
{
	for (unsigned i = 0; i < DP_PULL_MAX; i++)
		if (n->pulls[i].used && n->pulls[i].origin == origin &&
		    n->pulls[i].first_seq == first_seq)
			n->pulls[i].used = 0;
}

static unsigned pull_timeouts(struct dp_node *n, uint64_t now)
{
	unsigned work = 0;

	for (unsigned i = 0; i < DP_PULL_MAX; i++) {
		struct dp_pull *pl = &n->pulls[i];

		if (!pl->used || now < pl->deadline)
			continue;
		work++;
		if (pl->tries < DP_PULL_TRIES) {
			pull_try(n, pl, 0, now);
		} else {
			pl->used = 0;
			pull_fail(n, pl->origin, pl->first_seq, pl->count);
		}
	}
	return work;
}

static bool pull_pending(const struct dp_node *n, uint16_t origin, uint64_t first_seq)
{
	for (unsigned i = 0; i < DP_PULL_MAX; i++)
		if (n->pulls[i].used && n->pulls[i].origin == origin &&
		    n->pulls[i].first_seq == first_seq)
			return true;
	return false;
}

/* The configured node a frame came from: its header's sender when the Ethernet and IP
 * sources are that node's (what a rumor-dp writes), else a stranger. The budgets charge
 * this link source, not the claims inside the frame. */
static uint16_t link_source(const struct dp_node *n, const struct rumor_wire_frame *fr)
{
	const struct dp_peer *pe = peer_get(n, fr->hdr.sender);
	bool same;
	uint32_t s;

	if (pe == NULL)
		return DP_SRC_STRANGER;
	do {
		s = peer_read_begin(pe);
		same = pe->ip == fr->l2l4.src_ip && memcmp(pe->l2l4, fr->l2l4.src_mac, 6) == 0;
	} while (peer_read_retry(pe, s));
	return same ? fr->hdr.sender : DP_SRC_STRANGER;
}

/* One token of @who's bucket, refilled at pull_rate per second up to pull_burst. */
static bool pull_token(struct dp_node *n, uint16_t who, uint64_t now)
{
	struct dp_bucket *b = &n->pullb[who];
	uint64_t cap = n->pull_burst * DP_TOKEN_ONE;

	if (now > b->last) {
		unsigned __int128 add = (unsigned __int128)(now - b->last) * n->pull_rate *
					DP_TOKEN_ONE / n->tsc_hz;

		/* a pass too soon for a whole token's fraction keeps its start time */
		if (add > 0) {
			b->tokens = add >= cap - b->tokens ? cap : b->tokens + (uint64_t)add;
			b->last = now;
		}
	}
	if (b->tokens < DP_TOKEN_ONE)
		return false;
	b->tokens -= DP_TOKEN_ONE;
	return true;
}

/* Answer a PULL_REQ. The answer goes to the node the sender field names, so a request
 * whose link source is not that node (forged, a stranger) is refused: it would aim our
 * answers (about 25x its size) at a member. Each requester gets pull_rate answers per
 * second; requests we cannot answer cost nothing. */
static void serve_pull(struct dp_node *n, struct rte_mbuf *m, uint64_t now)
{
	const struct rumor_wire_hdr *h = &n->fr.hdr;
	uint32_t idx;

	if (link_source(n, &n->fr) != h->sender) {
		budget_drop(n, m, RUMOR_DP_BUDGET_PULL_SOURCE);
		return;
	}
	if (!dp_dedupe_lookup(&n->dedupe, h->origin, h->first_seq, &idx) || idx == SLOT_NONE ||
	    dp_store_slot(&n->store, idx)->state != DP_SLOT_HELD) {
		rte_pktmbuf_free(m);
		return;
	}
	if (!pull_token(n, h->sender, now)) {
		budget_drop(n, m, RUMOR_DP_BUDGET_PULL_RATE);
		return;
	}
	if (send_slot(n, idx, h->sender, RUMOR_WIRE_PULL_RESP, 0) == 0)
		n->stats->pull_served++;
	rte_pktmbuf_free(m);
}

/* ---------------------------------------------------------------- RX */

/* An ARP frame (Ethernet type 0x0806): never for the codec (dp_link), and worker 0's. */
static inline bool is_arp(const struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);

	return m->data_len >= RUMOR_WIRE_ETH_LEN && p[12] == 0x08 && p[13] == 0x06;
}

/* Would merging @ts grow our clock? */
static bool clock_grows(const struct dp_node *n, const struct rumor_vc *ts)
{
	for (unsigned i = 0; i < ts->n; i++)
		if (ts->ctr[i] > n->clock.ctr[ts->node[i]])
			return true;
	return false;
}

/* Merge @ts into the dense clock and keep the sparse cache in step entry by entry
 * (rumor_vc_merge rebuilds the whole 2.5 KiB clock through a temporary). */
static void clock_merge(struct dp_node *n, const struct rumor_vc *ts)
{
	for (unsigned i = 0; i < ts->n; i++) {
		uint16_t id = ts->node[i];

		if (id > RUMOR_NODE_ID_MAX || ts->ctr[i] <= n->clock.ctr[id])
			continue;
		if (n->clock.ctr[id] == 0)
			n->clock.nonzero++;
		/* worker 0 reads other workers' clocks (clock_absorb): a whole-word store */
		__atomic_store_n(&n->clock.ctr[id], ts->ctr[i], __ATOMIC_RELAXED);
		if (id > n->clock_hi)
			__atomic_store_n(&n->clock_hi, id, __ATOMIC_RELEASE);
		if (!n->clock_dirty && rumor_vc_set(&n->clock_sparse, id, ts->ctr[i]) != 0)
			n->clock_dirty = true;
	}
}

/* [auth] encrypt: a received frame whose body is ciphertext. Everything the codec would check
 * first that this needs (lengths, addressee IP, node ids) is checked here on the raw bytes,
 * then the hop tag, addressee and replay window (auth_rx), then duplicates are dropped
 * unopened; a new frame's body is verified and decrypted into n->encbuf behind a copy of its
 * headers (F_ENC cleared), which dp_node_rx then decodes as any frame. Returns 1 when
 * @*buf / @*len now point at the opened frame, 0 when @m was dropped or freed. */
static int enc_open(struct dp_node *n, struct rte_mbuf *m, const uint8_t **buf, uint16_t *len)
{
	const uint8_t *b = *buf, *r = b + RUMOR_WIRE_L2L4_LEN, *ah = r + RUMOR_WIRE_HDR_LEN;
	uint16_t ip_total = rumor_be_ld16(b + RUMOR_WIRE_ETH_LEN + 2);
	uint16_t origin = rumor_be_ld16(r + 12), sender = rumor_be_ld16(r + 14);
	uint64_t seq = rumor_be_ld64(r + 16);
	size_t blen;
	int rc;

	if (*len < RUMOR_WIRE_AUTH_PREFIX_LEN || ip_total > *len - RUMOR_WIRE_ETH_LEN ||
	    ip_total < RUMOR_WIRE_AUTH_PREFIX_LEN - RUMOR_WIRE_ETH_LEN) {
		drop(n, m, rumor_wire_err_index(RUMOR_WIRE_ETRUNC));
		return 0;
	}
	blen = (size_t)ip_total + RUMOR_WIRE_ETH_LEN - RUMOR_WIRE_AUTH_PREFIX_LEN;
	if (RUMOR_WIRE_HDR_LEN + blen > n->ct_off) {
		drop(n, m, rumor_wire_err_index(RUMOR_WIRE_ENOBUFS));
		return 0;
	}
	if (rumor_be_ld32(b + RUMOR_WIRE_ETH_LEN + 16) != n->my_ip) {
		drop(n, m, DP_DROP_NOT_MINE);
		return 0;
	}
	if (origin == 0 || origin > RUMOR_NODE_ID_MAX || sender == 0 ||
	    sender > RUMOR_NODE_ID_MAX) {
		drop(n, m, rumor_wire_err_index(RUMOR_WIRE_ENODE));
		return 0;
	}
	if (ah[RUMOR_WIRE_AUTH_ALG] != RUMOR_AUTH_ALG_GMAC256) {
		drop(n, m, DP_DROP_AUTH_NO_KEY);
		return 0;
	}
	rc = auth_rx(n, m, ah, sender, r);
	if (rc != 0) {
		drop(n, m, auth_drop[rc]);
		return 0;
	}
	if (seq != 0 && dp_dedupe_late(&n->dedupe, origin, seq)) {
		n->stats->rx_frames_late++;
		rte_pktmbuf_free(m);
		return 0;
	}
	if (seq != 0 && dp_dedupe_lookup_h(&n->dedupe, origin, seq,
					   dp_dedupe_hash(&n->dedupe, origin, seq), NULL)) {
		n->stats->rx_frames_dup++;
		rte_pktmbuf_free(m);
		return 0;
	}
	memcpy(n->encbuf, b, RUMOR_WIRE_AUTH_PREFIX_LEN);
	if (rumor_auth_body_open(n->auth, ah[RUMOR_WIRE_AUTH_KEY],
				 rumor_be_ld64(ah + RUMOR_WIRE_AUTH_NONCE), r,
				 b + RUMOR_WIRE_AUTH_PREFIX_LEN, n->encbuf + RUMOR_WIRE_AUTH_PREFIX_LEN,
				 blen, ah + RUMOR_WIRE_AUTH_BODYTAG) != 0) {
		drop(n, m, DP_DROP_AUTH_BAD_BODY);
		return 0;
	}
	n->encbuf[RUMOR_WIRE_L2L4_LEN + 6] &= (uint8_t)~RUMOR_WIRE_F_ENC;
	*buf = n->encbuf;
	*len = (uint16_t)(RUMOR_WIRE_AUTH_PREFIX_LEN + blen);
	return 1;
}

void dp_node_rx(struct dp_node *n, struct rte_mbuf *m, uint64_t now)
{
	struct rumor_wire_frame *fr = &n->fr;
	const uint8_t *buf;
	const uint8_t *rumor;
	uint16_t len;
	size_t rlen;
	enum dp_alloc_kind kind;
	uint16_t src;
	uint32_t idx;
	uint64_t hh;
	bool opened = false;
	int rc;

	n->stats->rx_pkts++;
	n->stats->rx_bytes += m->pkt_len;
	if (m->nb_segs > 1) {
		drop(n, m, DP_DROP_SEGS);
		return;
	}
	buf = rte_pktmbuf_mtod(m, const uint8_t *);
	len = m->data_len;
	if (is_arp(m)) {
		if (n->wid == 0)
			dp_link_arp_in(n, m, now); /* ARP never reaches the codec */
		else /* steer() hands ARP to worker 0, which holds the table */
			drop(n, m, DP_DROP_STEER);
		return;
	}
	/* The body is ciphertext exactly when the flag says so, and only a node that encrypts
	 * takes that (a PULL_REQ has no body): anything else is dropped before the codec could
	 * misread a body (also without a keyring). The flag is under the hop tag. */
	if (len >= RUMOR_WIRE_PREFIX_LEN &&
	    rumor_be_ld32(buf + RUMOR_WIRE_L2L4_LEN) == RUMOR_WIRE_MAGIC) {
		bool enc = buf[RUMOR_WIRE_L2L4_LEN + 6] & RUMOR_WIRE_F_ENC;

		if (enc != (n->encrypt && buf[RUMOR_WIRE_L2L4_LEN + 5] != RUMOR_WIRE_PULL_REQ)) {
			drop(n, m, enc ? DP_DROP_AUTH_ENC_UNEXPECTED : DP_DROP_AUTH_ENC_MISSING);
			return;
		}
		if (enc && !(opened = enc_open(n, m, &buf, &len)))
			return;
	}
	rc = rumor_wire_decode(buf, len, n->cluster_id, n->udp_port, 0, fr);
	if (rc != 0) {
		drop(n, m, rumor_wire_err_index(rc));
		return;
	}
	if (fr->l2l4.dst_ip != n->my_ip) {
		drop(n, m, DP_DROP_NOT_MINE);
		return;
	}
	/* Authenticated before anything else looks at it (a forged PULL_REQ included) */
	if (n->auth != NULL && !opened &&
	    (rc = auth_rx(n, m, fr->auth, fr->hdr.sender, buf + RUMOR_WIRE_L2L4_LEN)) != 0) {
		drop(n, m, auth_drop[rc]);
		return;
	}
	if (fr->hdr.type == RUMOR_WIRE_PULL_REQ) {
		serve_pull(n, m, now);
		return;
	}
	/* The timestamp rule before anything else looks at the frame: a timestamp naming
	 * the impossible must not reach the clock (every later origination would carry it),
	 * the dedupe table or the store (and from there the leader's order). */
	n->tsr.own_issued = n->wid == 0 ? n->clock.ctr[n->self]
					 : __atomic_load_n(&n->w0->clock.ctr[n->self], __ATOMIC_RELAXED);
	rc = rumor_tsrule_check(&n->tsr, fr->hdr.origin, fr->hdr.first_seq, fr->hdr.event_count,
				&fr->clock);
	if (rc != RUMOR_TS_OK) {
		n->stats->ts_drops[rc - 1]++;
		rte_pktmbuf_free(m);
		return;
	}
	if (dp_dedupe_late(&n->dedupe, fr->hdr.origin, fr->hdr.first_seq)) {
		n->stats->rx_frames_late++;
		rte_pktmbuf_free(m);
		return;
	}
	hh = dp_dedupe_hash(&n->dedupe, fr->hdr.origin, fr->hdr.first_seq);
	if (dp_dedupe_lookup_h(&n->dedupe, fr->hdr.origin, fr->hdr.first_seq, hh, NULL)) {
		n->stats->rx_frames_dup++;
		rte_pktmbuf_free(m);
		return;
	}
	if (fr->hdr.origin == n->self) {
		/* Our own seq we do not remember (evicted or from a previous life): never
		 * re-adopt it. */
		drop(n, m, DP_DROP_ORIGIN);
		return;
	}
	/* Only members' frames take a slot (the timestamp rule lets through a former member's
	 * seqs at or below what the order reached: nothing will order them again). */
	if (!n->member[fr->hdr.origin]) {
		budget_drop(n, m, RUMOR_DP_BUDGET_NONMEMBER);
		return;
	}
	/* First sight: now pay for verifying every event id (the decode already located
	 * them; duplicates never get here). */
	for (unsigned i = 0; i < fr->hdr.event_count; i++) {
		struct rumor_event_id id;

		rumor_event_id_compute(fr->hdr.origin, fr->hdr.first_seq + i, fr->ev[i].payload,
				       fr->ev[i].len, &id);
		if (!rumor_event_id_equal(&id, &fr->ev[i].id)) {
			drop(n, m, rumor_wire_err_index(RUMOR_WIRE_EID));
			return;
		}
	}
	rumor = buf + RUMOR_WIRE_L2L4_LEN;
	/* the store keeps the fixed header and body; the auth header is per hop */
	rlen = RUMOR_WIRE_HDR_LEN + fr->body_len;
	/* The origin's body seal, paid on first sight only like the event ids */
	if (n->auth != NULL && !opened &&
	    rumor_auth_body_check(n->auth, n->arx, rumor, fr->body, fr->body_len) != 0) {
		drop(n, m, DP_DROP_AUTH_BAD_BODY);
		return;
	}
	if (rlen > (n->encrypt ? n->ct_off : n->store.slot_size)) {
		drop(n, m, rumor_wire_err_index(RUMOR_WIRE_ENOBUFS));
		return;
	}
	/* Budgets: the origin's cap and the link source's share. A receiver that applies later
	 * than the origin fills the origin's cap; what it then lacks it pulls, and a pull
	 * response dropped at the same cap would stall its apply: the answer to one of our
	 * pulls passes every cap (DP_PULL_MAX of them at most), an unasked PULL_RESP from a
	 * member (the leader's repair) passes the origin cap within repair_cap per origin,
	 * and anything else is gossip. */
	src = link_source(n, fr);
	kind = DP_ALLOC_GOSSIP;
	if (fr->hdr.type == RUMOR_WIRE_PULL_RESP)
		kind = pull_pending(n, fr->hdr.origin, fr->hdr.first_seq) ? DP_ALLOC_ASKED :
		       src != DP_SRC_STRANGER ? DP_ALLOC_REPAIR : DP_ALLOC_GOSSIP;
	rc = dp_store_alloc_src(&n->store, fr->hdr.origin, src, kind, &idx);
	if (rc != 0) {
		if (rc == -ENOSPC) {
			n->stats->store_full++;
			drop(n, m, DP_DROP_STORE);
		} else {
			budget_drop(n, m, rc == -EUSERS ? RUMOR_DP_BUDGET_SOURCE :
					  rc == -EMLINK ? RUMOR_DP_BUDGET_STRANGER :
					  kind == DP_ALLOC_REPAIR ? RUMOR_DP_BUDGET_REPAIR :
								     RUMOR_DP_BUDGET_ORIGIN);
		}
		return;
	}
	{
		struct dp_slot *sl = dp_store_slot(&n->store, idx);

		uint8_t *d = dp_store_data(&n->store, idx);

		memcpy(d, rumor, RUMOR_WIRE_HDR_LEN);
		d[6] &= (uint8_t)~RUMOR_WIRE_F_AUTH;
		memcpy(d + RUMOR_WIRE_HDR_LEN, fr->body, fr->body_len);
		if (opened) /* the ciphertext as it came: what fan-out forwards */
			memcpy(d + n->ct_off,
			       rte_pktmbuf_mtod(m, const uint8_t *) + RUMOR_WIRE_AUTH_PREFIX_LEN,
			       fr->body_len);
		if (n->auth != NULL) {
			/* key id, alg (checked), nonce and body tag as received */
			memcpy(n->aslot[idx].ka, fr->auth + RUMOR_WIRE_AUTH_KEY, 2);
			memcpy(n->aslot[idx].nt, fr->auth + RUMOR_WIRE_AUTH_NONCE,
			       sizeof(n->aslot[idx].nt));
		}
		sl->born = now;
		sl->len = (uint32_t)rlen;
		sl->first_seq = fr->hdr.first_seq;
		sl->from = fr->hdr.sender;
		sl->count = fr->hdr.event_count;
	}
	dp_dedupe_insert_h(&n->dedupe, fr->hdr.origin, fr->hdr.first_seq, hh, idx);
	if (clock_grows(n, &fr->clock)) {
		close_frame(n); /* our open frame keeps its pre-merge timestamp */
		clock_merge(n, &fr->clock);
	}
	n->stats->rx_frames_new++;
	n->stats->rx_events_new += fr->hdr.event_count;
	report(n, idx, fr->hdr.type == RUMOR_WIRE_PULL_RESP ? RUMOR_NEW_FRAME_PULLED : 0);
	if (fr->hdr.type == RUMOR_WIRE_PULL_RESP)
		pull_done(n, fr->hdr.origin, fr->hdr.first_seq);
	else if (fr->hdr.rounds_left > 0)
		fanout(n, idx, fr->hdr.rounds_left - 1, fr->hdr.sender);
	rte_pktmbuf_free(m);
}

/* ---------------------------------------------------------------- cp2dp */

static void set_view(struct dp_node *n, const struct rumor_msg_view *v)
{
	unsigned k = 0;

	for (unsigned i = 0; i < v->n && i < RUMOR_VC_MAX_ENTRIES; i++)
		if (v->node[i] != n->self && rumor_config_node(n->cfg, v->node[i]) != NULL)
			n->view[k++] = v->node[i];
	n->nview = (uint16_t)k;
	n->view_from_cp = true;
}

static void release(struct dp_node *n, const struct rumor_msg_release *r)
{
	struct dp_slot *sl;

	if (r->origin == 0 || r->origin > RUMOR_NODE_ID_MAX)
		return;
	if (r->ordered_through > n->wm[r->origin])
		n->wm[r->origin] = r->ordered_through;
	if (r->ordered_through > n->reached[r->origin])
		n->reached[r->origin] = r->ordered_through;
	if (r->slot >= n->store.nslots)
		return;
	sl = dp_store_slot(&n->store, r->slot);
	if (sl->state != DP_SLOT_HELD || sl->origin != r->origin ||
	    sl->first_seq != r->first_seq)
		return;
	dp_dedupe_set(&n->dedupe, r->origin, r->first_seq, SLOT_NONE);
	if (n->of.open && n->of.slot == r->slot)
		return; /* still being filled: cannot be released */
	if (sl->asked)
		n->stats->aged_out++;
	dp_store_release(&n->store, r->slot);
}

/* The leader found this frame's events held by a minority: send it, as a pull response
 * (stored and reported, not gossiped on), to the nodes that lack it. */
static void send_to(struct dp_node *n, const struct rumor_msg_send_to *r)
{
	struct dp_slot *sl;
	uint16_t peers[RUMOR_VC_MAX_ENTRIES];
	unsigned k = 0;

	if (r->slot >= n->store.nslots || (n->of.open && n->of.slot == r->slot))
		return; /* the open frame goes out when it closes */
	sl = dp_store_slot(&n->store, r->slot);
	if (sl->state != DP_SLOT_HELD || sl->origin != r->origin || sl->first_seq != r->first_seq)
		return;
	for (unsigned i = 0; i < r->n && i < RUMOR_VC_MAX_ENTRIES; i++)
		if (r->peer[i] != n->self && r->peer[i] <= RUMOR_NODE_ID_MAX &&
		    n->peers[r->peer[i]].valid != 0) /* resolved, or held until it is */
			peers[k++] = r->peer[i];
	if (k)
		n->stats->repair_sent += send_slot_multi(n, r->slot, peers, k,
							 RUMOR_WIRE_PULL_RESP, 0);
}

/* Count the members and former members the rule knows (its max_entries). */
static void members_count(struct dp_node *n)
{
	unsigned members = 0, known = 0;

	for (unsigned i = 1; i <= RUMOR_NODE_ID_MAX; i++) {
		members += n->member[i] != 0;
		known += n->member[i] != 0 || n->reached[i] != 0;
	}
	n->tsr.max_entries = (uint16_t)(known < RUMOR_VC_MAX_ENTRIES ? known : RUMOR_VC_MAX_ENTRIES);
	n->stats->members_n = members;
}

/* A member added at run time (RUMOR_MSG_PEER): worker 0 appends it to the config that every
 * worker reads (entry first, then the count, so a worker sees all of it or none), builds its
 * template or ARP entry (the peers are shared); every worker puts it into its static view.
 * Before, such a member's frames were a stranger's (cap 0: dropped) on every node that had
 * started without it, and its events were never ordered. */
static void add_peer(struct dp_node *n, const struct rumor_msg_peer *p)
{
	struct rumor_config *cfg = n->cfg;
	const struct rumor_node_conf *known;

	if (p->id == 0 || p->id > RUMOR_NODE_ID_MAX || p->id == n->self)
		return;
	known = rumor_config_node(cfg, p->id);
	if (n->wid == 0 && known == NULL) {
		struct rumor_node_conf *c = &cfg->nodes[cfg->n_nodes];

		if (cfg->n_nodes >= RUMOR_CONFIG_MAX_NODES || dp_arp_find(&n->arp, p->ip) != NULL ||
		    p->ip == n->my_ip ||
		    dp_arp_add(&n->arp, p->id, p->ip, p->mac_arp ? NULL : p->mac) != 0) {
			n->stats->peers_refused++;
			return;
		}
		memset(c, 0, sizeof(*c));
		c->id = p->id;
		c->ip = p->ip;
		c->mac_arp = p->mac_arp != 0;
		if (!c->mac_arp)
			memcpy(c->mac, p->mac, 6);
		__atomic_store_n(&cfg->n_nodes, (uint16_t)(cfg->n_nodes + 1), __ATOMIC_RELEASE);
		if (c->mac_arp)
			dp_node_peer_mac(n, c->id, NULL);
		else
			peer_build(n, c);
		n->stats->arp_unresolved = n->arp.unresolved;
		n->stats->peers_added++;
		known = c;
	}
	if (known == NULL || n->view_from_cp)
		return; /* a refused one; a view from the cp names it when it takes it */
	for (unsigned i = 0; i < n->nview; i++)
		if (n->view[i] == p->id)
			return;
	if (n->nview < RUMOR_VC_MAX_ENTRIES)
		n->view[n->nview++] = p->id;
}

/* The Raft configuration replaces the config file's node list; reached seqs only rise. */
static void set_members(struct dp_node *n, const struct rumor_msg_members *m)
{
	if (m->n == 0 || m->n > RUMOR_VC_MAX_ENTRIES || m->nreached > RUMOR_VC_MAX_ENTRIES)
		return; /* a cp without a configuration yet: keep what we have */
	memset(n->member, 0, sizeof(n->member));
	n->member[n->self] = 1;
	for (unsigned i = 0; i < m->n; i++)
		if (m->node[i] >= 1 && m->node[i] <= RUMOR_NODE_ID_MAX)
			n->member[m->node[i]] = 1;
	for (unsigned i = 0; i < m->nreached; i++) {
		uint16_t id = m->reached_node[i];

		if (id >= 1 && id <= RUMOR_NODE_ID_MAX && m->reached_seq[i] > n->reached[id])
			n->reached[id] = m->reached_seq[i];
	}
	members_count(n);
	n->stats->members_updates++;
	n->stats->members_from_cp = 1;
}

static void resync(struct dp_node *n)
{
	for (uint32_t i = 0; i < n->store.nslots; i++) {
		struct dp_slot *sl = dp_store_slot(&n->store, i);

		if (sl->state != DP_SLOT_HELD || (n->of.open && n->of.slot == i) ||
		    dp_owner(n, sl->origin) != n->wid)
			continue;
		sl->rflags |= RUMOR_NEW_FRAME_RESYNC;
		pend_push(n, i);
	}
	flush_pending(n);
}

/* Stamp above @floor from now on (persisting the reservation first); never lowers. */
static void seq_floor(struct dp_node *n, const struct rumor_msg_seq_floor *f)
{
	if (f->floor <= n->clock.ctr[n->self])
		return;
	if (n->of.open)
		close_frame(n); /* a frame's events are consecutive seqs */
	if (dp_seqstate_reserve(&n->seq, f->floor + 1) != 0)
		return; /* the old reservation stays; originations keep failing with EIO */
	n->clock.ctr[n->self] = f->floor;
	if (!n->clock_dirty && rumor_vc_set(&n->clock_sparse, n->self, f->floor) != 0)
		n->clock_dirty = true;
	n->stats->seq_floor_raised++;
}

/* Key bytes never go back to the (shared hugepage) pool: a KEYRING not taken is wiped. */
static void msg_wipe(struct rumor_msg *msg)
{
	if (msg->type == RUMOR_MSG_KEYRING)
		memset(msg->u.keyring.keys, 0, sizeof(msg->u.keyring.keys));
}

/* Worker 0 of several: hand @msg to @w. Its ctl ring holds a message per store slot and
 * two cp2dp rings more (RELEASEs are at most one per held slot), and dp_node_poll reads
 * cp2dp only while every ctl ring has room; so a full one means a worker that stopped:
 * wait for it a while (~1 s), then count and drop. */
static void hand_over(struct dp_node *n, struct dp_node *w, struct rumor_msg *msg)
{
	for (unsigned i = 0; rte_ring_sp_enqueue(w->ctl, msg) != 0; i++) {
		if (i == 1u << 24) {
			n->stats->ring_full_dp2cp++;
			msg_wipe(msg);
			rte_mempool_put(n->msg_pool, msg);
			return;
		}
		rte_pause();
	}
}

/* Worker 0 of several: a copy of @msg to every other worker (VIEW, MEMBERS, RESYNC). */
static void broadcast(struct dp_node *n, const struct rumor_msg *msg)
{
	for (unsigned j = 1; j < n->nworkers; j++) {
		void *obj;

		if (msg_get(n, &obj) != 0) {
			n->stats->ring_full_dp2cp++;
			continue;
		}
		memcpy(obj, msg, RUMOR_MSG_SIZE);
		hand_over(n, n->wk[j], obj);
	}
}

/* Worker 0 of several: the worker that must process @msg (0: here). */
static unsigned msg_owner(struct dp_node *n, const struct rumor_msg *msg)
{
	switch (msg->type) {
	case RUMOR_MSG_RELEASE:
		return msg->u.release.origin <= RUMOR_NODE_ID_MAX ? dp_owner(n, msg->u.release.origin)
								  : 0;
	case RUMOR_MSG_PULL:
		return msg->u.pull.origin <= RUMOR_NODE_ID_MAX ? dp_owner(n, msg->u.pull.origin) : 0;
	case RUMOR_MSG_SEND_TO:
		return msg->u.send_to.origin <= RUMOR_NODE_ID_MAX ? dp_owner(n, msg->u.send_to.origin)
								  : 0;
	default:
		return 0;
	}
}

void dp_node_cp_msg(struct dp_node *n, struct rumor_msg *msg, uint64_t now)
{
	if (n->nworkers > 1 && n->wid == 0) {
		unsigned w = msg_owner(n, msg);

		if (w != 0) {
			hand_over(n, n->wk[w], msg);
			return;
		}
		/* a KEYRING too: every worker has its own keyring and swaps it between its
		 * bursts (dp_keyring.c); each wipes the key bytes of its copy */
		if (msg->type == RUMOR_MSG_VIEW || msg->type == RUMOR_MSG_MEMBERS ||
		    msg->type == RUMOR_MSG_RESYNC || msg->type == RUMOR_MSG_KEYRING)
			broadcast(n, msg);
		/* worker 0 first: the others' views take it only once it is in the config */
		if (msg->type == RUMOR_MSG_PEER) {
			add_peer(n, &msg->u.peer);
			broadcast(n, msg);
			rte_mempool_put(n->msg_pool, msg);
			return;
		}
	}
	switch (msg->type) {
	case RUMOR_MSG_ORIGINATE:
		originate(n, msg, now);
		break;
	case RUMOR_MSG_VIEW:
		set_view(n, &msg->u.view);
		break;
	case RUMOR_MSG_RELEASE:
		release(n, &msg->u.release);
		break;
	case RUMOR_MSG_PULL:
		pull_start(n, &msg->u.pull, now);
		break;
	case RUMOR_MSG_RESYNC:
		resync(n);
		break;
	case RUMOR_MSG_SEND_TO:
		send_to(n, &msg->u.send_to);
		break;
	case RUMOR_MSG_MEMBERS:
		set_members(n, &msg->u.members);
		break;
	case RUMOR_MSG_PEER:
		add_peer(n, &msg->u.peer);
		break;
	case RUMOR_MSG_SEQ_FLOOR:
		seq_floor(n, &msg->u.seq_floor);
		break;
	case RUMOR_MSG_KEYRING:
		dp_keyring_set(n, &msg->u.keyring);
		break;
	default:
		break;
	}
	if (n->nstash < DP_MSG_STASH)
		n->stash[n->nstash++] = msg;
	else
		rte_mempool_put(n->msg_pool, msg);
}

/* Frames held unordered past the age bound: ask the cp to give them back (RUMOR_MSG_EXPIRE;
 * it does once its payload log has the events, which the apply and re-reports then read
 * there). The dataplane never frees a slot itself: the cp may still point into it. Asked
 * again once per age bound while held; a frame not yet reported (pending) waits for its
 * report. Walks DP_AGE_SCAN slots a millisecond. */
static unsigned age_scan(struct dp_node *n, uint64_t now)
{
	unsigned work = 0;

	if (n->age == UINT64_MAX || now < n->age_next)
		return 0;
	n->age_next = now + n->tsc_hz / 1000;
	for (unsigned k = 0; k < DP_AGE_SCAN && k < n->store.nslots; k++) {
		uint32_t i = n->age_cursor;
		struct dp_slot *sl = dp_store_slot(&n->store, i);
		struct rumor_msg *msg;
		void *obj;

		n->age_cursor = i + 1 < n->store.nslots ? i + 1 : 0;
		if (sl->state != DP_SLOT_HELD || sl->pending || (n->of.open && n->of.slot == i) ||
		    dp_owner(n, sl->origin) != n->wid ||
		    now < sl->born || now - sl->born < n->age ||
		    (sl->asked != 0 && now - sl->asked < n->age))
			continue;
		if (msg_get(n, &obj) != 0)
			break;
		msg = obj;
		memset(msg, 0, offsetof(struct rumor_msg, u) + sizeof(msg->u.release));
		msg->type = RUMOR_MSG_EXPIRE;
		msg->u.release.slot = i;
		msg->u.release.origin = sl->origin;
		msg->u.release.first_seq = sl->first_seq;
		msg->u.release.ordered_through = n->wm[sl->origin];
		if (rte_ring_enqueue(n->dp2cp, msg) != 0) {
			rte_mempool_put(n->msg_pool, obj);
			break;
		}
		sl->asked = now ? now : 1;
		n->stats->expire_asked++;
		work++;
	}
	return work;
}

/* Prefetch the replay window of the sender of the frame at @r: its top/floor line and the
 * counter's word (a relay's windows fall out of the cache between a sender's frames). In the
 * loop that gathers the burst's hop checks, which reads the same bytes: the check of the
 * whole burst runs before the first frame's window is needed. */
static inline void prefetch_window(const struct dp_node *n, const uint8_t *r)
{
	uint16_t sender = rumor_be_ld16(r + 14);
	uint64_t ctr = rumor_be_ld64(r + RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_CTR);
	uint64_t lane = ctr >> DP_AUTH_LANE_SHIFT;
	const struct rumor_auth_window *w;

	if (sender > RUMOR_NODE_ID_MAX || lane >= DP_WORKERS_MAX)
		return;
	w = lane == 0 ? &n->win[sender] /* (lane_win's, NULL until made) */
		      : n->wlane[sender * (DP_WORKERS_MAX - 1) + lane - 1];
	if (w != NULL) {
		rte_prefetch0(w);
		rte_prefetch0(&w->bits[(ctr >> 6) % RUMOR_AUTH_WIN_WORDS]);
	}
}

void dp_node_rx_burst(struct dp_node *n, struct rte_mbuf **pkts, unsigned nb, uint64_t now)
{
	/* Peek (origin, first_seq) at their fixed offsets to prefetch the dedupe buckets: by
	 * the time a packet is processed its bucket is on its way. Non-rumor packets only
	 * cost a useless prefetch; dp_node_rx validates everything. */
	for (unsigned i = 0; i < nb; i++) {
		const uint8_t *p = rte_pktmbuf_mtod(pkts[i], const uint8_t *) + RUMOR_WIRE_L2L4_LEN;
		uint64_t seq;
		uint16_t origin;

		if (pkts[i]->data_len < RUMOR_WIRE_PREFIX_LEN)
			continue;
		memcpy(&origin, p + 12, 2);
		memcpy(&seq, p + 16, 8);
		dp_dedupe_prefetch(&n->dedupe, rte_be_to_cpu_16(origin), rte_be_to_cpu_64(seq));
	}
	if (n->auth == NULL) {
		for (unsigned i = 0; i < nb; i++)
			dp_node_rx(n, pkts[i], now);
		return;
	}
	auth_now(n);
	for (unsigned o = 0; o < nb; o += RUMOR_AUTH_BURST) {
		const uint8_t *r[RUMOR_AUTH_BURST];
		unsigned k = nb - o < RUMOR_AUTH_BURST ? nb - o : RUMOR_AUTH_BURST;

		/* The hop checks of the whole burst at once (their AES rounds overlap), on the
		 * bytes at the auth header's fixed place; dp_node_rx takes a result only for the
		 * very mbuf and offset it decoded, after the codec found the header there. */
		for (unsigned i = 0; i < k; i++) {
			struct rte_mbuf *m = pkts[o + i];

			n->pre_m[i] = m;
			r[i] = m->nb_segs == 1 && m->data_len >= RUMOR_WIRE_AUTH_PREFIX_LEN
				       ? rte_pktmbuf_mtod(m, const uint8_t *) + RUMOR_WIRE_L2L4_LEN
				       : NULL;
			if (r[i] != NULL)
				prefetch_window(n, r[i]);
		}
		rumor_auth_hop_check_burst(n->auth, r, k, n->pre_rx, n->pre_rc);
		n->pre_n = k;
		for (n->pre_i = 0; n->pre_i < k; n->pre_i++)
			dp_node_rx(n, pkts[o + n->pre_i], now);
		n->pre_n = 0;
	}
}

/* ---------------------------------------------------------------- workers */

/* Every other worker's ctl ring can take a burst of messages. */
static inline bool ctl_room(const struct dp_node *n)
{
	for (unsigned j = 1; j < n->nworkers; j++)
		if (rte_ring_free_count(n->wk[j]->ctl) < DP_BURST)
			return false;
	return true;
}

struct dp_node *dp_node_worker(struct dp_node *n, unsigned wid)
{
	return wid < n->nworkers ? n->wk[wid] : wid == 0 ? n : NULL;
}

/* Origin of a rumor frame at its fixed offset, 0 for anything else (ARP, short, not ours:
 * the receiving worker handles it, dp_node_rx validates). */
static inline uint16_t peek_origin(const struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *) + RUMOR_WIRE_L2L4_LEN;

	if (m->data_len < RUMOR_WIRE_PREFIX_LEN || rumor_be_ld32(p) != RUMOR_WIRE_MAGIC)
		return 0;
	return rumor_be_ld16(p + 12);
}

/* Keep our origins' frames of an RX burst in @pkts (returns how many), send the others to
 * their owners' steering rings in one enqueue per worker. */
static unsigned steer(struct dp_node *n, struct rte_mbuf **pkts, unsigned nb)
{
	struct rte_mbuf *out[DP_WORKERS_MAX][DP_BURST];
	unsigned nout[DP_WORKERS_MAX] = { 0 }, keep = 0;

	for (unsigned i = 0; i < nb; i++) {
		uint16_t o;
		unsigned w;

		if (i + 2 < nb)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 2], uint8_t *) + RUMOR_WIRE_L2L4_LEN);
		o = peek_origin(pkts[i]);
		if (o == 0 || o > RUMOR_NODE_ID_MAX) /* ARP: worker 0 holds the table (dp_link) */
			w = is_arp(pkts[i]) ? 0 : n->wid;
		else
			w = dp_owner(n, o);
		if (w == n->wid)
			pkts[keep++] = pkts[i];
		else
			out[w][nout[w]++] = pkts[i];
	}
	for (unsigned w = 0; w < n->nworkers; w++) {
		unsigned k;

		if (nout[w] == 0)
			continue;
		k = rte_ring_sp_enqueue_burst(n->steer_to[w], (void **)out[w], nout[w], NULL);
		if (k < nout[w]) {
			n->stats->rx_pkts += nout[w] - k;
			n->stats->drops[DP_DROP_STEER] += nout[w] - k;
			rte_pktmbuf_free_bulk(&out[w][k], nout[w] - k);
		}
	}
	return keep;
}

/* Frames other workers steered to us, and (workers > 0) worker 0's messages. */
static unsigned worker_in(struct dp_node *n, uint64_t now)
{
	struct rte_mbuf *pkts[DP_BURST];
	void *msgs[DP_BURST];
	unsigned work = 0, nb;

	for (unsigned w = 0; w < n->nworkers; w++) {
		if (n->steer_from[w] == NULL)
			continue;
		nb = rte_ring_sc_dequeue_burst(n->steer_from[w], (void **)pkts, DP_BURST, NULL);
		dp_node_rx_burst(n, pkts, nb, now);
		work += nb;
	}
	/* up to 4 bursts: RELEASEs come as fast as frames, a worker must not fall behind */
	for (unsigned k = 0; n->ctl != NULL && k < 4; k++) {
		nb = rte_ring_sc_dequeue_burst(n->ctl, msgs, DP_BURST, NULL);
		for (unsigned i = 0; i < nb; i++)
			dp_node_cp_msg(n, msgs[i], now);
		work += nb;
		if (nb < DP_BURST)
			break;
	}
	return work;
}

unsigned dp_node_worker_msgs(struct dp_node *w, uint64_t now)
{
	unsigned work = worker_in(w, now);

	work += flush_pending(w);
	work += hold_poll(w, now);
	dp_node_tx_flush(w);
	return work;
}

#define STAT_SUM(f) out->f += s->f
void dp_node_stats_total(struct dp_node *n, struct rumor_dp_stats *out)
{
	struct dp_node *w0 = n->w0 != NULL ? n->w0 : n;

	*out = *w0->stats;
	for (unsigned j = 1; j < w0->nworkers; j++) {
		const struct rumor_dp_stats *s = w0->wk[j]->stats;

		STAT_SUM(rx_pkts); STAT_SUM(rx_bytes); STAT_SUM(tx_pkts); STAT_SUM(tx_bytes);
		STAT_SUM(tx_full); STAT_SUM(rx_frames_new); STAT_SUM(rx_frames_dup);
		STAT_SUM(rx_frames_late); STAT_SUM(rx_events_new); STAT_SUM(fanout_frames);
		STAT_SUM(store_full); STAT_SUM(ring_full_dp2cp); STAT_SUM(pull_sent);
		STAT_SUM(pull_served); STAT_SUM(pull_failed); STAT_SUM(arp_rx); STAT_SUM(arp_tx);
		STAT_SUM(repair_sent); STAT_SUM(expire_asked); STAT_SUM(aged_out);
		for (unsigned i = 0; i < RUMOR_DP_DROP_REASONS; i++)
			STAT_SUM(drops[i]);
		/* the hold is every worker's (the rest of nic[] is worker 0's ARP and link) */
		STAT_SUM(nic[RUMOR_DP_ARP_HELD]);
		STAT_SUM(nic[RUMOR_DP_ARP_RELEASED]);
		for (unsigned i = 0; i < RUMOR_TS_NREASONS; i++)
			STAT_SUM(ts_drops[i]);
		for (unsigned i = 0; i < RUMOR_DP_BUDGET_NREASONS; i++)
			STAT_SUM(budget_drops[i]);
		for (unsigned i = 0; i < RTE_DIM(s->auth_rx_by_key); i++)
			STAT_SUM(auth_rx_by_key[i]);
		/* every worker takes every KEYRING: the generation all of them have (rumor-cp
		 * sends it again while this is older), a refusal counted once per message */
		if (s->keyring_gen < out->keyring_gen)
			out->keyring_gen = s->keyring_gen;
		if (s->keyring_refused > out->keyring_refused)
			out->keyring_refused = s->keyring_refused;
	}
	out->stranger_used = 0;
	for (unsigned j = 0, nw = w0->nworkers ? w0->nworkers : 1u; j < nw; j++)
		out->stranger_used += dp_node_worker(w0, j)->store.src_used[DP_SRC_STRANGER];
}
#undef STAT_SUM

void dp_node_stats_publish(struct dp_node *n)
{
	if (n->nworkers <= 1 || n->wid != 0 || n->own_stats == NULL || n->stats_mz == NULL)
		return;
	for (unsigned j = 1; j < n->nworkers; j++)
		if (n->wk[j] == NULL)
			return; /* init failed half way */
	/* totals computed beside, then copied in one go (readers are racy by design) */
	dp_node_stats_total(n, &n->own_stats[1]);
	memcpy(n->stats_mz->addr, &n->own_stats[1], sizeof(struct rumor_dp_stats));
}

unsigned dp_node_poll(struct dp_node *n, uint64_t now)
{
	struct rte_mbuf *pkts[DP_BURST];
	void *msgs[DP_BURST];
	unsigned work = 0, nb;

	n->stats->heartbeat_tsc = now;
	n->now = now;
	if (n->auth != NULL) { /* every worker: its own clock and lane */
		if (now >= n->auth_tick)
			auth_clock(n, now);
		else
			auth_now(n);
	}
	if (n->nworkers > 1) {
		nb = rte_eth_rx_burst(n->port, n->wid, pkts, DP_BURST);
		work += nb;
		nb = steer(n, pkts, nb);
		dp_node_rx_burst(n, pkts, nb, now);
		work += worker_in(n, now);
		if (n->wid != 0) {
			work += flush_pending(n);
			work += pull_timeouts(n, now);
			work += age_scan(n, now);
			work += hold_poll(n, now);
			dp_node_tx_flush(n);
			return work;
		}
		if (now >= n->stats_next) {
			n->stats_next = now + n->tsc_hz / 1000;
			dp_node_stats_publish(n);
		}
		goto cp;
	}
	nb = rte_eth_rx_burst(n->port, 0, pkts, DP_BURST);
	dp_node_rx_burst(n, pkts, nb, now);
	work += nb;
cp:
	work += flush_acks(n);
	/* each message makes at most one ack: leave them in their ring while acks back up
	 * (and while a worker's ctl ring could not take a burst of broadcasts) */
	nb = n->ackq_tail - n->ackq_head > DP_ACKQ / 2 - DP_BURST ? 0 :
		rte_ring_sc_dequeue_burst(n->cp2dp, msgs, ctl_room(n) ? DP_BURST : 0, NULL);
	for (unsigned i = 0; i < nb; i++)
		dp_node_cp_msg(n, msgs[i], now);
	work += nb;
	work += flush_pending(n);
	if (n->of.open && now >= n->of.deadline) {
		close_frame(n);
		work++;
	}
	work += pull_timeouts(n, now);
	work += age_scan(n, now);
	if (n->wid == 0)
		work += dp_link_poll(n, now);
	work += hold_poll(n, now);
	dp_node_tx_flush(n);
	n->stats->store_used = n->store.nslots - dp_store_free_count(&n->store);
	n->stats->stranger_used = n->store.src_used[DP_SRC_STRANGER];
	return work;
}

/* ---------------------------------------------------------------- init */

static int port_setup(struct dp_node *n, const struct dp_node_params *p)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	uint16_t nrx = p->rx_desc ? p->rx_desc : 1024, ntx = p->tx_desc ? p->tx_desc : 1024;
	uint16_t nq = n->nworkers; /* a queue pair per worker */
	int sock = rte_eth_dev_socket_id(n->port);

	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_info_get(n->port, &info) != 0)
		return -EIO;
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	if (dp_link_port_conf(n, p, &info, &conf) != 0)
		return -EINVAL;
	if (nq > 1 && info.flow_type_rss_offloads != 0) {
		/* spread senders over the queues; frames then go to their origin's worker */
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads &
						   (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP);
	}
	if (nq > info.max_rx_queues || nq > info.max_tx_queues ||
	    rte_eth_dev_configure(n->port, nq, nq, &conf) != 0)
		return -EIO;
	if (rte_eth_dev_adjust_nb_rx_tx_desc(n->port, &nrx, &ntx) != 0)
		return -EIO;
	if (sock < 0)
		sock = (int)rte_socket_id();
	for (uint16_t q = 0; q < nq; q++)
		if (rte_eth_rx_queue_setup(n->port, q, nrx, sock, NULL, n->rx_pool) != 0 ||
		    rte_eth_tx_queue_setup(n->port, q, ntx, sock, NULL) != 0)
			return -EIO;
	if (rte_eth_dev_start(n->port) != 0)
		return -EIO;
	rte_eth_promiscuous_enable(n->port);
	return 0;
}

/* Worker @w (a copy of worker 0, @n): its own keyring copy, lane, counters, pads, replay
 * windows and [auth] encrypt buffer; the slots' body seals (aslot) stay shared, each slot
 * written and read only by the worker owning its origin (dp_node_rx stores what it took,
 * worker 0 its own origin's seal; fan-out, pull answers, SEND_TO and RESYNC run there too).
 * Its counters start at lane | max(stored, start) like worker 0's: the stored value is the
 * highest clock part any lane reached (auth_ctr_store), and counters never run ahead of the
 * wall clock by more than a burst, so this run's lane never meets the last run's. Only worker
 * 0 originates (ORIGINATE is never handed over), so body nonces are lane-0 counters of worker
 * 0, unique among its own hop counters too (and the body IVs' 'B' domain is apart anyway). */
static int auth_worker_init(struct dp_node *w, const struct dp_node *n)
{
	w->auth_fd = -1;
	w->auth_boot = NULL;
	w->win = NULL;
	w->wlane = NULL;
	w->encbuf = NULL;
	w->auth = NULL;
	if (n->auth == NULL)
		return 0;
	w->auth = rumor_auth_clone(n->auth);
	w->win = rte_malloc("dp_auth_win", (RUMOR_NODE_ID_MAX + 1) * sizeof(*w->win), 0);
	w->wlane = rte_zmalloc("dp_auth_wlane", (RUMOR_NODE_ID_MAX + 1) * (DP_WORKERS_MAX - 1) *
							sizeof(*w->wlane), 0);
	if (w->auth == NULL || w->win == NULL || w->wlane == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i <= RUMOR_NODE_ID_MAX; i++)
		rumor_auth_window_init(&w->win[i], n->auth_floor);
	if (n->encrypt) {
		w->encbuf = rte_malloc("dp_encbuf", RUMOR_WIRE_ETH_LEN + RUMOR_WIRE_L2L4_LEN +
							    n->ct_off + RUMOR_WIRE_AUTH_LEN, 64);
		if (w->encbuf == NULL)
			return -ENOMEM;
	}
	w->auth_lane = (uint64_t)w->wid << DP_AUTH_LANE_SHIFT;
	w->auth_last = w->auth_lane | (n->auth_last & DP_AUTH_CLOCK_MASK);
	w->auth_now_ctr = w->auth_lane | (n->auth_now_ctr & DP_AUTH_CLOCK_MASK);
	w->pads.next = RUMOR_AUTH_PADS_MAX; /* none yet: worker 0's are worker 0's */
	w->arx = &w->arx1;
	w->pre_n = 0;
	return 0;
}

/* What auth_init / auth_worker_init made of @n's own (not the shared aslot). */
static void auth_fini(struct dp_node *n)
{
	if (n->wlane != NULL)
		for (unsigned i = 0; i < (RUMOR_NODE_ID_MAX + 1) * (DP_WORKERS_MAX - 1); i++)
			rte_free(n->wlane[i]);
	rte_free(n->wlane);
	n->wlane = NULL;
	rte_free(n->win);
	n->win = NULL;
	if (n->auth != NULL && n->auth_fd >= 0)
		close(n->auth_fd);
	n->auth_fd = -1;
	rumor_auth_free(n->auth);
	n->auth = NULL;
	rte_free(n->encbuf);
	n->encbuf = NULL;
	dp_keyring_fini(n);
}

/* Workers 1..nworkers-1: copies of worker 0 (config, view, members, clock, shared store
 * and pools) with their own dedupe table, pending FIFO, stats, ctl ring and steering rings.
 * The source and stranger caps and the pull rate are split between the workers (each
 * counts its own frames: no shared counter on the fast path). */
static int workers_init(struct dp_node *n, uint32_t slots, int sock)
{
	char name[RTE_RING_NAMESIZE];
	unsigned nw = n->nworkers;

	if (nw <= 1)
		return 0;
	n->own_stats = rte_zmalloc_socket("dp_stats", 2 * sizeof(*n->stats), RTE_CACHE_LINE_SIZE,
					  sock);
	if (n->own_stats == NULL)
		return -ENOMEM;
	n->own_stats[0] = *n->stats;
	n->stats = &n->own_stats[0];
	n->store.src_cap = RTE_MAX(n->store.src_cap / nw, 1u);
	n->store.stranger_cap /= nw;
	n->pull_rate = RTE_MAX(n->pull_rate / nw, 1u);
	for (unsigned j = 1; j < nw; j++) {
		struct dp_node *w = rte_zmalloc_socket("dp_worker", sizeof(*w), RTE_CACHE_LINE_SIZE,
						       sock);
		int rc;

		if (w == NULL)
			return -ENOMEM;
		memcpy(w, n, sizeof(*w));
		memset(w->wk, 0, sizeof(w->wk));
		memset(&w->dedupe, 0, sizeof(w->dedupe));
		w->pend = NULL;
		w->stats_mz = NULL;
		w->own_stats = NULL;
		dp_seqstate_none(&w->seq);
		n->wk[j] = w;
		w->wid = (uint16_t)j;
		rc = auth_worker_init(w, n);
		if (rc != 0)
			return rc;
		w->rng ^= 0x9E3779B97F4A7C15ull * j;
		w->tsr.member = w->member;
		w->tsr.reached = w->reached;
		w->store.owner = LCORE_ID_ANY; /* the worker's lcore: dp_node_worker_bind */
		w->own_stats = rte_zmalloc_socket("dp_stats", sizeof(*w->stats), RTE_CACHE_LINE_SIZE,
						  sock);
		if (w->own_stats == NULL)
			return -ENOMEM;
		*w->own_stats = *n->stats;
		w->stats = w->own_stats;
		w->pend = rte_zmalloc("dp_pend", ((size_t)n->pend_mask + 1) * sizeof(uint32_t), 0);
		if (w->pend == NULL)
			return -ENOMEM;
		rc = dp_dedupe_init(&w->dedupe, RTE_MAX(slots * 4 / nw, 4096u), w->rng, w->wm);
		if (rc != 0)
			return rc;
		snprintf(name, sizeof(name), RUMOR_SHM_DP2CP_RING_FMT, j);
		w->dp2cp = rte_ring_lookup(name); /* made with worker 0's (dp_node_init) */
		if (w->dp2cp == NULL)
			return -ENOMEM;
		snprintf(name, sizeof(name), "rumor_ctl%u", j);
		w->ctl = rte_ring_create(name, rte_align32pow2(slots + 2 * RUMOR_MSG_RING_SIZE), sock,
					 RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (w->ctl == NULL)
			return -ENOMEM;
	}
	for (unsigned i = 0; i < nw; i++)
		for (unsigned j = 0; j < nw; j++) {
			struct rte_ring *r;

			if (i == j)
				continue;
			snprintf(name, sizeof(name), "rumor_steer%u_%u", i, j);
			r = rte_ring_create(name, 2048, sock, RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (r == NULL)
				return -ENOMEM;
			n->wk[i]->steer_to[j] = r;
			n->wk[j]->steer_from[i] = r;
		}
	return 0;
}

static void workers_fini(struct dp_node *n)
{
	for (unsigned j = 0; j < n->nworkers && j < DP_WORKERS_MAX; j++) {
		struct dp_node *w = n->wk[j];
		void *obj;

		if (w == NULL)
			continue;
		for (unsigned i = 0; i < DP_WORKERS_MAX; i++) {
			if (w->steer_to[i] == NULL)
				continue;
			while (rte_ring_dequeue(w->steer_to[i], &obj) == 0)
				rte_pktmbuf_free(obj);
			rte_ring_free(w->steer_to[i]);
		}
		if (j == 0)
			continue;
		hold_free_all(w, -1);
		dp_node_tx_flush(w);
		if (w->dp2cp != NULL && w->dp2cp != n->dp2cp)
			while (rte_ring_dequeue(w->dp2cp, &obj) == 0)
				rte_mempool_put(w->msg_pool, obj);
		if (w->ctl != NULL) {
			while (rte_ring_dequeue(w->ctl, &obj) == 0) {
				msg_wipe(obj);
				rte_mempool_put(w->msg_pool, obj);
			}
			rte_ring_free(w->ctl);
		}
		if (w->nstash > 0)
			rte_mempool_put_bulk(w->msg_pool, w->stash, w->nstash);
		dp_dedupe_fini(&w->dedupe);
		auth_fini(w);
		rte_free(w->pend);
		rte_free(w->own_stats);
		rte_free(w);
		n->wk[j] = NULL;
	}
	if (n->own_stats != NULL) {
		n->stats = n->stats_mz != NULL ? n->stats_mz->addr : NULL;
		rte_free(n->own_stats);
		n->own_stats = NULL;
	}
}

void dp_node_worker_bind(struct dp_node *w)
{
	w->store.owner = rte_lcore_id();
}

int dp_node_init(struct dp_node *n, const struct dp_node_params *p)
{
	struct rumor_config *cfg = p->cfg;
	const struct rumor_node_conf *me;
	uint32_t slots, pool, pend;
	int sock = (int)rte_socket_id(), rc = -ENOMEM;

	memset(n, 0, sizeof(*n));
	dp_seqstate_none(&n->seq);
	if (cfg == NULL || (me = rumor_config_node(cfg, p->node_id)) == NULL ||
	    cfg->gossip.mtu < 576)
		return -EINVAL;
	n->nworkers = p->workers ? p->workers : cfg->dataplane.workers ? cfg->dataplane.workers : 1;
	n->w0 = n;
	n->wk[0] = n;
	if (n->nworkers > DP_WORKERS_MAX)
		return -EINVAL;
	n->cfg = cfg;
	n->self = p->node_id;
	n->port = p->port_id;
	n->cluster_id = cfg->cluster_id;
	n->udp_port = cfg->gossip.port;
	n->my_ip = me->ip;
	memcpy(n->my_mac, me->mac, 6);
	n->rng = p->seed ? p->seed : 0x9E3779B97F4A7C15ull ^ p->node_id;
	n->tsc_hz = p->tsc_hz ? p->tsc_hz : rte_get_tsc_hz();
	n->pull_timeout = (uint64_t)(p->pull_timeout_us ? p->pull_timeout_us : 20000) *
			  n->tsc_hz / 1000000u;
	rumor_vc_dense_init(&n->clock);
	n->clock_dirty = true;
	for (unsigned i = 0; i < cfg->n_nodes; i++)
		if (cfg->nodes[i].id != n->self)
			n->view[n->nview++] = cfg->nodes[i].id;

	slots = p->store_slots ? p->store_slots : cfg->dataplane.store_slots;
	pool = p->msg_pool_size ? p->msg_pool_size : RUMOR_MSG_POOL_SIZE;

	n->stats_mz = rte_memzone_reserve(RUMOR_SHM_STATS_MZ, sizeof(struct rumor_dp_stats),
					  sock, 0);
	if (n->stats_mz == NULL) {
		rc = rte_errno == EEXIST ? -EEXIST : -ENOMEM;
		goto fail;
	}
	n->stats = n->stats_mz->addr;
	memset(n->stats, 0, sizeof(*n->stats));
	n->stats->tsc_hz = n->tsc_hz;
	n->stats->pid = getpid();
	n->stats->node_id = n->self;
	n->stats->port_id = n->port;
	n->stats->store_cap = slots;
	n->tsr = (struct rumor_tsrule){ .member = n->member, .reached = n->reached,
					.window = cfg->dataplane.clock_window ? cfg->dataplane.clock_window
										: 1000000,
					.self = n->self };
	for (unsigned i = 0; i < cfg->n_nodes; i++)
		n->member[cfg->nodes[i].id] = 1;
	n->member[n->self] = 1;
	members_count(n);

	/* One ring per worker, one producer each. Workers 1..'s first: a client that finds
	 * worker 0's (dp_client_attach) finds them all. */
	for (unsigned j = 1; j < n->nworkers; j++) {
		char name[RTE_RING_NAMESIZE];

		snprintf(name, sizeof(name), RUMOR_SHM_DP2CP_RING_FMT, j);
		if (rte_ring_create(name, RUMOR_MSG_RING_SIZE, sock,
				    RING_F_SP_ENQ | RING_F_SC_DEQ) == NULL) {
			rc = rte_errno == EEXIST ? -EEXIST : -ENOMEM;
			goto fail;
		}
	}
	n->dp2cp = rte_ring_create(RUMOR_SHM_DP2CP_RING, RUMOR_MSG_RING_SIZE, sock,
				   RING_F_SP_ENQ | RING_F_SC_DEQ);
	n->cp2dp = rte_ring_create(RUMOR_SHM_CP2DP_RING, RUMOR_MSG_RING_SIZE, sock,
				   RING_F_SC_DEQ);
	/* No per-lcore cache: the secondary's lcore ids overlap ours. Objects hold an
	 * ORIGINATE of the largest event a frame carries (jumbo: more than RUMOR_MSG_SIZE). */
	n->msg_size = (uint32_t)rumor_msg_size_for_event(rumor_wire_body_max(cfg->gossip.mtu));
	n->msg_pool = rte_mempool_create(RUMOR_SHM_MSG_POOL, pool, n->msg_size, 0, 0,
					 NULL, NULL, NULL, NULL, sock, 0);
	n->hdr_pool = rte_pktmbuf_pool_create(HDR_POOL, 8191, 256, 0,
					      RTE_PKTMBUF_HEADROOM + 128 + DP_COPY_BODY_MAX, sock);
	if (!p->no_port_setup)
		n->rx_pool = rte_pktmbuf_pool_create(RX_POOL, p->rx_mbufs ? p->rx_mbufs :
								4096u * n->nworkers - 1,
						     256, 0, dp_link_rx_buf_size(cfg->gossip.mtu),
						     sock);
	if (n->dp2cp == NULL || n->cp2dp == NULL || n->msg_pool == NULL ||
	    n->hdr_pool == NULL || (!p->no_port_setup && n->rx_pool == NULL)) {
		rc = rte_errno == EEXIST ? -EEXIST : -ENOMEM;
		goto fail;
	}
	/* with [auth] encrypt a slot has room for the body's ciphertext behind the frame */
	n->ct_off = cfg->auth.encrypt && cfg->auth.keyring[0]
			    ? (uint32_t)RTE_ALIGN_CEIL(rumor_wire_body_max(cfg->gossip.mtu) +
							       RUMOR_WIRE_HDR_LEN,
						       RTE_CACHE_LINE_SIZE)
			    : 0;
	rc = dp_store_init(&n->store, slots,
			   n->ct_off ? 2 * n->ct_off :
			   (uint32_t)(rumor_wire_body_max(cfg->gossip.mtu) + RUMOR_WIRE_HDR_LEN),
			   cfg->dataplane.store_peer_cap, n->self, sock);
	if (rc != 0)
		goto fail;
	dp_store_set_caps(&n->store, p->source_cap, p->stranger_cap, p->repair_cap);
	n->pull_rate = p->pull_rate ? p->pull_rate : 2000;
	n->pull_burst = p->pull_burst ? p->pull_burst : 256;
	for (unsigned i = 0; i <= RUMOR_NODE_ID_MAX; i++)
		n->pullb[i].tokens = n->pull_burst * DP_TOKEN_ONE; /* a full bucket to start */
	n->age = p->age_us == UINT64_MAX ? UINT64_MAX :
		 (p->age_us ? p->age_us : 30000000ull) * (n->tsc_hz / 1000000u);
	rc = dp_dedupe_init(&n->dedupe, slots * 4 < 4096 ? 4096 : slots * 4, n->rng, n->wm);
	if (rc != 0)
		goto fail;
	n->peers = rte_zmalloc_socket("dp_peers", (RUMOR_NODE_ID_MAX + 1) * sizeof(*n->peers),
				      RTE_CACHE_LINE_SIZE, sock);
	if (n->peers == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < cfg->n_nodes; i++)
		if (cfg->nodes[i].id != n->self)
			peer_build(n, &cfg->nodes[i]);
	pend = rte_align32pow2(slots);
	n->pend = rte_zmalloc("dp_pend", pend * sizeof(uint32_t), 0);
	if (n->pend == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	n->pend_mask = pend - 1;
	if (p->state_dir != NULL) {
		uint64_t start;

		rc = dp_seqstate_open(&n->seq, p->state_dir, n->self, p->seq_block, &start, p->err,
				      p->errlen);
		if (rc != 0)
			goto fail;
		if (dp_seqstate_start_ahead(&n->seq) != 0)
			fprintf(stderr, "rumor-dp: no thread to reserve origin seqs ahead: each block's "
					"fsyncs run on the lcore\n");
		if (start > 0) {
			n->clock.ctr[n->self] = start;
			n->clock.nonzero++;
		}
	}
	rc = auth_init(n, p);
	if (rc != 0)
		goto fail;
	dp_keyring_publish(n);
	/* a held frame waits as long as DP_ARP_TRIES requests go unanswered (Linux holds its
	 * packets while the neighbour is INCOMPLETE: mcast_solicit 3 x retrans_time); every
	 * worker gets its own hold with this bound */
	dp_hold_init(&n->hold, (uint64_t)cfg->dataplane.arp_retry_ms * (n->tsc_hz / 1000) *
				       DP_ARP_TRIES);
	rc = workers_init(n, slots, sock);
	if (rc != 0)
		goto fail;
	if (!p->no_port_setup && (rc = port_setup(n, p)) != 0) {
		rc = rc == -EINVAL ? -EINVAL : -EIO;
		goto fail;
	}
	rc = dp_link_init(n, p);
	if (rc != 0)
		goto fail;
	return 0;
fail:
	dp_node_fini(n);
	return rc;
}

int dp_node_seq_checkpoint(struct dp_node *n)
{
	return dp_seqstate_checkpoint(&n->seq, n->clock.ctr[n->self]);
}

void dp_node_fini(struct dp_node *n)
{
	dp_link_fini(n);
	if (n->rx_pool != NULL)
		rte_eth_dev_stop(n->port);
	hold_free_all(n, -1); /* their mbufs go back before the pool does */
	dp_node_tx_flush(n);
	if (n->nworkers > 1) {
		dp_node_stats_publish(n); /* the last totals stay readable until the memzone goes */
		workers_fini(n);
	}
	rte_free(n->pend);
	rte_free(n->peers);
	rte_free(n->aslot);
	auth_fini(n);
	dp_seqstate_close(&n->seq);
	dp_dedupe_fini(&n->dedupe);
	if (n->store.mz != NULL)
		dp_store_fini(&n->store);
	if (n->nstash > 0)
		rte_mempool_put_bulk(n->msg_pool, n->stash, n->nstash);
	rte_mempool_free(n->hdr_pool);
	rte_mempool_free(n->rx_pool);
	rte_mempool_free(n->msg_pool);
	rte_ring_free(n->dp2cp);
	for (unsigned j = 1; j < DP_WORKERS_MAX; j++) {
		char name[RTE_RING_NAMESIZE];

		snprintf(name, sizeof(name), RUMOR_SHM_DP2CP_RING_FMT, j);
		rte_ring_free(rte_ring_lookup(name)); /* workers': made even if workers_init failed */
	}
	rte_ring_free(n->cp2dp);
	if (n->stats_mz != NULL)
		rte_memzone_free(n->stats_mz);
	memset(n, 0, sizeof(*n));
	dp_seqstate_none(&n->seq); /* dirfd -1: a second fini must not close fd 0 */
}
