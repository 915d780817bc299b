/* What the in-process dataplane tests share: the EAL (no hugepages, no PCI) with the pool
 * their frames come from, and a net_ring ethdev over two fresh rte_rings: the test enqueues
 * frames on *rx (what the port receives) and dequeues what the node sent from *tx. */
#ifndef DP_TEST_PORT_H
#define DP_TEST_PORT_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dp_client.h"
#include "dp_node.h"
#include "rumor_auth.h"
#include "rumor_be.h"
#include "rumor_eventid.h"
#include "rumor_vc.h"
#include "rumor_wire.h"

/* EAL on @lcores ("0", "0-1") under a file prefix of @name and our pid, then a pool of
 * @n mbufs of @room data bytes ("test_pkts", @cache per lcore). NULL (said on stderr) on
 * failure. */
static inline struct rte_mempool *dp_test_eal(const char *argv0, const char *name,
					      const char *lcores, unsigned n, unsigned cache,
					      uint16_t room)
{
	char prefix[64];
	char *eal[] = {(char *)argv0, "--no-huge", "-m", "512", "--no-pci", "-l", (char *)lcores,
		       "--file-prefix", prefix, "--log-level", "*:error", NULL};
	struct rte_mempool *pool;

	snprintf(prefix, sizeof(prefix), "%s-%d", name, (int)getpid());
	if (rte_eal_init((int)RTE_DIM(eal) - 1, eal) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return NULL;
	}
	pool = rte_pktmbuf_pool_create("test_pkts", n, cache, 0, room, 0);
	if (pool == NULL)
		fprintf(stderr, "no test_pkts pool\n");
	return pool;
}

/* Ring and port names are @prefix plus a counter (names are global in the EAL). The port
 * id, or a negative value if a ring or the port could not be made. */
static inline int dp_test_ring_port(const char *prefix, struct rte_ring **rx, struct rte_ring **tx)
{
	static unsigned seq;
	char name[32];

	snprintf(name, sizeof(name), "%sr%u", prefix, seq);
	*rx = rte_ring_create(name, 1024, 0, 0);
	snprintf(name, sizeof(name), "%st%u", prefix, seq);
	*tx = rte_ring_create(name, 1024, 0, 0);
	if (!*rx || !*tx)
		return -1;
	snprintf(name, sizeof(name), "%sring%u", prefix, seq++);
	return rte_eth_from_rings(name, rx, 1, tx, 1, 0);
}

/* @nq queue pairs (the workers tests): rings of @rx_size and @tx_size under @prefix plus a
 * counter, and a net_ring port over them. The port id, or a negative value. */
static inline int dp_test_ring_port_mq(const char *prefix, unsigned nq, struct rte_ring **rx,
				       struct rte_ring **tx, unsigned rx_size, unsigned tx_size)
{
	static unsigned seq;
	char name[32];

	for (unsigned q = 0; q < nq; q++) {
		snprintf(name, sizeof(name), "%sr%u_%u", prefix, seq, q);
		rx[q] = rte_ring_create(name, rx_size, 0, 0);
		snprintf(name, sizeof(name), "%st%u_%u", prefix, seq, q);
		tx[q] = rte_ring_create(name, tx_size, 0, 0);
		if (!rx[q] || !tx[q])
			return -1;
	}
	snprintf(name, sizeof(name), "%sring%u", prefix, seq++);
	return rte_eth_from_rings(name, rx, (uint8_t)nq, tx, (uint8_t)nq, 0);
}

/* Free every mbuf the node sent on @nq TX rings. */
static inline void dp_test_drain_tx(struct rte_ring **tx, unsigned nq)
{
	struct rte_mbuf *m[64];
	unsigned n;

	for (unsigned q = 0; q < nq; q++)
		while ((n = rte_ring_dequeue_burst(tx[q], (void **)m, 64, NULL)) > 0)
			rte_pktmbuf_free_bulk(m, n);
}

/* The end of a workers test: what the node sent and reported is freed (@c reads every
 * worker's dp2cp ring), the node stopped, @port closed and its @nq ring pairs freed. */
static inline void dp_test_workers_stop(struct dp_node *n, struct dp_client *c, uint16_t port,
					struct rte_ring **rx, struct rte_ring **tx, unsigned nq)
{
	struct rumor_msg *m;

	dp_test_drain_tx(tx, nq);
	while (dp_client_recv_burst(c, &m, 1) == 1)
		rte_mempool_put(n->msg_pool, m);
	dp_node_fini(n);
	rte_eth_dev_close(port);
	for (unsigned q = 0; q < nq; q++) {
		rte_ring_free(rx[q]);
		rte_ring_free(tx[q]);
	}
}

/* What a controlplane answers a NEW_FRAME record with: the same message, turned in place
 * into the RELEASE of that frame (nothing ordered yet). */
static inline void dp_test_release_of(struct rumor_msg *m)
{
	uint32_t slot = m->u.new_frame.slot;
	uint16_t origin = m->u.new_frame.origin;
	uint64_t first_seq = m->u.new_frame.first_seq;

	m->type = RUMOR_MSG_RELEASE;
	m->u.release.slot = slot;
	m->u.release.origin = origin;
	m->u.release.first_seq = first_seq;
	m->u.release.ordered_through = 0;
}

/* drops[] index of reason @name, -1 when the dataplane has no such reason. */
static inline int dp_test_drop_idx(const char *name)
{
	for (unsigned i = 0; i < RUMOR_DP_DROP_REASONS; i++) {
		const char *s = dp_drop_name(i);

		if (s != NULL && !strcmp(s, name))
			return (int)i;
	}
	return -1;
}

/* The sum of @st's drops whose reason names start with @prefix ("auth_"). */
static inline uint64_t dp_test_drops_prefixed(const struct rumor_dp_stats *st, const char *prefix)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < RUMOR_DP_DROP_REASONS; i++) {
		const char *s = dp_drop_name(i);

		if (s != NULL && !strncmp(s, prefix, strlen(prefix)))
			sum += st->drops[i];
	}
	return sum;
}

/* A worker's own lcore in the workers tests (rte_eal_remote_launch): it polls until
 * dp_test_worker_stop is set, then sends what it holds. */
static volatile int dp_test_worker_stop;

static inline int dp_test_worker_loop(void *arg)
{
	struct dp_node *w = arg;

	dp_node_worker_bind(w);
	while (!dp_test_worker_stop)
		dp_node_poll(w, 1000);
	dp_node_tx_flush(w);
	return 0;
}

/* Where a test frame goes: the hop's addresses, its cluster and the rounds left. */
struct dp_test_hop {
	const uint8_t *smac, *dmac;
	uint32_t sip, dip;
	uint32_t cluster;
	uint8_t rounds;
};

/* The wire bytes of a gossip frame of one event into @buf: (@origin, @seq) with @len bytes
 * of @payload, sent by @sender, timestamped { origin: seq }, header flags @flags, the body
 * behind @auth_room zero bytes (an auth header to fill). Its length, or <= 0 if it does not
 * fit. */
static inline int dp_test_gossip_bytes(uint8_t *buf, size_t cap, const struct dp_test_hop *hop,
				       uint16_t origin, uint16_t sender, uint64_t seq,
				       const void *payload, unsigned len, uint8_t flags,
				       unsigned auth_room)
{
	static uint8_t body[9200];
	struct rumor_event_id id;
	struct rumor_wire_body b;
	struct rumor_wire_l2l4 a;
	struct rumor_wire_hdr h;
	struct rumor_vc ts;

	rumor_vc_init(&ts);
	rumor_vc_set(&ts, origin, seq);
	rumor_event_id_compute(origin, seq, payload, len, &id);
	if (rumor_wire_body_start(&b, body + auth_room, sizeof(body) - auth_room, &ts) != 0 ||
	    rumor_wire_body_add(&b, &id, payload, len) != 0)
		return -1;
	memset(body, 0, auth_room);
	memcpy(a.src_mac, hop->smac, 6);
	memcpy(a.dst_mac, hop->dmac, 6);
	a.src_ip = hop->sip;
	a.dst_ip = hop->dip;
	a.src_port = a.dst_port = RUMOR_WIRE_PORT;
	memset(&h, 0, sizeof(h));
	h.type = RUMOR_WIRE_GOSSIP;
	h.flags = flags;
	h.rounds_left = hop->rounds;
	h.cluster_id = hop->cluster;
	h.origin = origin;
	h.sender = sender;
	h.first_seq = seq;
	h.event_count = 1;
	h.clock_count = ts.n;
	return rumor_wire_encode(buf, cap, &a, &h, body, auth_room + b.len);
}

static inline struct rte_mbuf *dp_test_mbuf_of(struct rte_mempool *pool, const uint8_t *buf,
					       int n)
{
	struct rte_mbuf *m;

	if (n <= 0 || (m = rte_pktmbuf_alloc(pool)) == NULL)
		return NULL;
	memcpy(rte_pktmbuf_append(m, (uint16_t)n), buf, (size_t)n);
	return m;
}

/* A gossip frame of one event, (@origin, @seq) with @len bytes of @payload, sent by @sender,
 * timestamped { origin: seq }. NULL if it does not fit a 9000-byte MTU or the pool is dry. */
static inline struct rte_mbuf *dp_test_gossip_frame(struct rte_mempool *pool,
						    const struct dp_test_hop *hop, uint16_t origin,
						    uint16_t sender, uint64_t seq,
						    const void *payload, unsigned len)
{
	static uint8_t buf[9300];

	return dp_test_mbuf_of(pool, buf, dp_test_gossip_bytes(buf, sizeof(buf), hop, origin,
								 sender, seq, payload, len, 0, 0));
}

/* How a frame is sealed (the auth tests): by its origin, a body tag under @key_id with
 * @nonce (or, with @enc, the body as AES-256-GCM ciphertext); by its sender, a hop tag with
 * counter @ctr for addressee @dst. */
struct dp_test_seal {
	struct rumor_auth *keys;
	uint8_t key_id;
	bool enc;
	uint16_t dst;
	uint64_t ctr, nonce;
};

/* dp_test_gossip_frame's frame, authenticated as @s says. NULL if it does not fit, a key is
 * missing or the pool is dry. */
static inline struct rte_mbuf *dp_test_sealed_frame(struct rte_mempool *pool,
						    const struct dp_test_hop *hop, uint16_t origin,
						    uint16_t sender, uint64_t seq,
						    const void *payload, unsigned len,
						    const struct dp_test_seal *s)
{
	static uint8_t buf[9300];
	uint8_t *r = buf + RUMOR_WIRE_L2L4_LEN, *ah = r + RUMOR_WIRE_HDR_LEN;
	int n = dp_test_gossip_bytes(buf, sizeof(buf), hop, origin, sender, seq, payload, len,
				     RUMOR_WIRE_F_AUTH | (s->enc ? RUMOR_WIRE_F_ENC : 0),
				     RUMOR_WIRE_AUTH_LEN);
	unsigned blen = (unsigned)n - RUMOR_WIRE_L2L4_LEN - RUMOR_WIRE_HDR_LEN -
			RUMOR_WIRE_AUTH_LEN;
	int rc;

	if (n <= 0)
		return NULL;
	ah[RUMOR_WIRE_AUTH_KEY] = s->key_id;
	ah[RUMOR_WIRE_AUTH_ALG] = RUMOR_AUTH_ALG_GMAC256;
	rumor_be_st16(ah + RUMOR_WIRE_AUTH_DST, s->dst);
	rumor_be_st64(ah + RUMOR_WIRE_AUTH_CTR, s->ctr);
	rumor_be_st64(ah + RUMOR_WIRE_AUTH_NONCE, s->nonce);
	if (s->enc)
		rc = rumor_auth_body_seal_enc(s->keys, s->key_id, s->nonce, r,
					      ah + RUMOR_WIRE_AUTH_LEN, ah + RUMOR_WIRE_AUTH_LEN,
					      blen, ah + RUMOR_WIRE_AUTH_BODYTAG);
	else
		rc = rumor_auth_body_tag(s->keys, s->key_id, s->nonce, r,
					 ah + RUMOR_WIRE_AUTH_LEN, blen,
					 ah + RUMOR_WIRE_AUTH_BODYTAG);
	if (rc != 0 || rumor_auth_hop_seal(s->keys, r) != 0)
		return NULL;
	return dp_test_mbuf_of(pool, buf, n);
}

#endif
