/* What the in-process dataplane tests share: the EAL (no hugepages, no PCI) with the pool
 * their frames come from, and a net_ring ethdev over two fresh rte_rings: the test enqueues
 * frames on *rx (what the port receives) and dequeues what the node sent from *tx. */
#ifndef DP_TEST_PORT_H
#define DP_TEST_PORT_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

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

/* Where a test frame goes: the hop's addresses, its cluster and the rounds left. */
struct dp_test_hop {
	const uint8_t *smac, *dmac;
	uint32_t sip, dip;
	uint32_t cluster;
	uint8_t rounds;
};

/* A gossip frame of one event, (@origin, @seq) with @len bytes of @payload, sent by @sender,
 * timestamped { origin: seq }. NULL if it does not fit a 9000-byte MTU or the pool is dry. */
static inline struct rte_mbuf *dp_test_gossip_frame(struct rte_mempool *pool,
						    const struct dp_test_hop *hop, uint16_t origin,
						    uint16_t sender, uint64_t seq,
						    const void *payload, unsigned len)
{
	static uint8_t body[9100], buf[9200];
	struct rumor_event_id id;
	struct rumor_wire_body b;
	struct rumor_wire_l2l4 a;
	struct rumor_wire_hdr h;
	struct rumor_vc ts;
	struct rte_mbuf *m;
	int n;

	rumor_vc_init(&ts);
	rumor_vc_set(&ts, origin, seq);
	rumor_event_id_compute(origin, seq, payload, len, &id);
	if (rumor_wire_body_start(&b, body, sizeof(body), &ts) != 0 ||
	    rumor_wire_body_add(&b, &id, payload, len) != 0)
		return NULL;
	memcpy(a.src_mac, hop->smac, 6);
	memcpy(a.dst_mac, hop->dmac, 6);
	a.src_ip = hop->sip;
	a.dst_ip = hop->dip;
	a.src_port = a.dst_port = RUMOR_WIRE_PORT;
	memset(&h, 0, sizeof(h));
	h.type = RUMOR_WIRE_GOSSIP;
	h.rounds_left = hop->rounds;
	h.cluster_id = hop->cluster;
	h.origin = origin;
	h.sender = sender;
	h.first_seq = seq;
	h.event_count = 1;
	h.clock_count = ts.n;
	n = rumor_wire_encode(buf, sizeof(buf), &a, &h, body, b.len);
	if (n <= 0 || (m = rte_pktmbuf_alloc(pool)) == NULL)
		return NULL;
	memcpy(rte_pktmbuf_append(m, (uint16_t)n), buf, (size_t)n);
	return m;
}

#endif
