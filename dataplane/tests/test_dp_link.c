/* In-process tests of the real-NIC hooks (issue 18) on net_ring ports: ARP requests for a
 * peer with mac = arp, gossip to it held until the reply (then sent), its frames
 * taken as a member's once resolved, ARP never reaching the codec, a static MAC kept against
 * gratuitous ARP, link down/up (TX dropped as link_down, resumes), also on a port that claims
 * LSC interrupts and never raises one, an 8 KiB event at MTU 9000. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dp_node.h"
#include "dp_test_arp.h"
#include "dp_test_port.h"
#include "rumor_be.h"
#include "rumor_eventid.h"
#include "rumor_wire.h"

#define SELF 1
#define CLUSTER 78

static struct rumor_config cfg;
static struct rte_mempool *pkt_pool;
static const uint8_t mac3[6] = { 2, 0, 0, 0, 0, 3 };
static const uint8_t evil[6] = { 2, 0, 0, 0, 0, 0xee };

struct fixture {
	struct dp_node n;
	struct rte_ring *rx, *tx;
	uint16_t port;
	uint64_t now; /* microseconds (tsc_hz = 1e6) */
	bool active;
};
static struct fixture fx;
static bool claim_lsc; /* the next fx_start's port says RTE_ETH_DEV_INTR_LSC */

/* nodes 1 (us), 2 (static MAC), 3 (mac = arp) */
static struct fixture *fx_start(unsigned mtu)
{
	struct fixture *f = &fx;
	struct dp_node_params p;
	char text[2048], err[256];
	int port;

	snprintf(text, sizeof(text),
		 "[cluster]\nid = %u\n[gossip]\nfanout = 2\nrounds = 4\nmtu = %u\nflush_us = 100\n"
		 "[dataplane]\nstore_slots = 64\nstore_peer_cap = 64\narp_retry_ms = 10\n"
		 "[node.1]\nmac = 02:00:00:00:00:01\nip = 10.9.0.1\ncontrol = h:1\n"
		 "[node.2]\nmac = 02:00:00:00:00:02\nip = 10.9.0.2\ncontrol = h:2\n"
		 "[node.3]\nmac = arp\nip = 10.9.0.3\ncontrol = h:3\n",
		 CLUSTER, mtu);
	if (rumor_config_parse(text, "test", &cfg, err, sizeof(err)) != 0)
		fail_msg("config: %s", err);
	memset(f, 0, sizeof(*f));
	port = dp_test_ring_port("l", &f->rx, &f->tx);
	assert_true(port >= 0);
	f->port = (uint16_t)port;
	if (claim_lsc) {
		struct rte_eth_dev_info info;

		/* net_tap's way: the flag set, the application's callback never called (its
		 * netlink handler only updates the status). dev_flags points into the port's
		 * data; the driver header that would set it properly is not installed. */
		assert_int_equal(rte_eth_dev_info_get(f->port, &info), 0);
		*(uint32_t *)(uintptr_t)info.dev_flags |= RTE_ETH_DEV_INTR_LSC;
		claim_lsc = false;
	}
	memset(&p, 0, sizeof(p));
	p.cfg = &cfg;
	p.node_id = SELF;
	p.port_id = f->port;
	p.msg_pool_size = 1024;
	p.rx_mbufs = 511;
	p.tsc_hz = 1000000;
	p.seed = 42;
	assert_int_equal(dp_node_init(&f->n, &p), 0);
	f->active = true;
	f->now = 1000;
	return f;
}

static void drain(struct fixture *f)
{
	struct rte_mbuf *m[64];
	void *msg;
	unsigned k;

	while ((k = rte_ring_dequeue_burst(f->tx, (void **)m, 64, NULL)) > 0)
		rte_pktmbuf_free_bulk(m, k);
	while (rte_ring_dequeue(f->n.dp2cp, &msg) == 0)
		rte_mempool_put(f->n.msg_pool, msg);
}

static int teardown(void **state)
{
	struct fixture *f = &fx;

	(void)state;
	if (!f->active)
		return 0;
	f->active = false;
	drain(f);
	dp_node_fini(&f->n);
	rte_eth_dev_close(f->port);
	rte_ring_free(f->rx);
	rte_ring_free(f->tx);
	return 0;
}

static void poll_at(struct fixture *f, uint64_t now)
{
	f->now = now;
	dp_node_poll(&f->n, now);
}

static void inject(struct fixture *f, struct rte_mbuf *m)
{
	assert_int_equal(rte_ring_enqueue(f->rx, m), 0);
	dp_node_poll(&f->n, f->now);
}

static unsigned take(struct fixture *f, struct rte_mbuf **out, unsigned max)
{
	return rte_ring_dequeue_burst(f->tx, (void **)out, max, NULL);
}

/* A gossip frame of @origin from @sender (its MAC @smac and IP), one event of @evlen. */
static struct rte_mbuf *mk_frame(uint16_t origin, uint16_t sender, const uint8_t *smac,
				 uint64_t seq, unsigned evlen)
{
	static uint8_t payload[9000];
	const struct dp_test_hop hop = { smac, rumor_config_node(&cfg, SELF)->mac,
					 rumor_config_node(&cfg, sender)->ip,
					 rumor_config_node(&cfg, SELF)->ip, CLUSTER, 4 };
	struct rte_mbuf *m;

	memset(payload, (int)seq, evlen);
	m = dp_test_gossip_frame(pkt_pool, &hop, origin, sender, seq, payload, evlen);
	assert_non_null(m);
	return m;
}

static struct rte_mbuf *mk_arp(uint16_t op, const uint8_t *sha, uint32_t sip, uint32_t tip,
			       const uint8_t *tha)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pkt_pool);
	uint8_t *b;

	assert_non_null(m);
	b = (uint8_t *)rte_pktmbuf_append(m, DP_ARP_FRAME_LEN);
	if (b == NULL) /* abort, not an assert: gcc's bounds check needs the path to end */
		abort();
	dp_test_arp_frame(b, op, sha, sip, tha, tip);
	return m;
}

static uint64_t codec_drops(const struct dp_node *n)
{
	uint64_t s = 0;

	for (unsigned i = 0; i < RUMOR_WIRE_ERR_COUNT; i++)
		s += n->stats->drops[i];
	return s;
}

static void test_arp_resolve(void **state)
{
	struct fixture *f = fx_start(1500);
	const uint8_t *mac1 = rumor_config_node(&cfg, SELF)->mac;
	const uint8_t *mac2 = rumor_config_node(&cfg, 2)->mac;
	struct rte_mbuf *out[8];
	unsigned k;

	(void)state;
	assert_int_equal(f->n.stats->arp_unresolved, 1);
	/* first pass: one broadcast request, for node 3 only */
	poll_at(f, 1000);
	k = take(f, out, 8);
	assert_int_equal(k, 1);
	assert_int_equal(rumor_be_ld16(rte_pktmbuf_mtod(out[0], uint8_t *) + 12), 0x0806);
	assert_int_equal(rumor_be_ld32(rte_pktmbuf_mtod(out[0], uint8_t *) + 38), 0x0a090003);
	rte_pktmbuf_free(out[0]);
	assert_int_equal(f->n.stats->nic[RUMOR_DP_ARP_REQ_TX], 1);
	/* retry after arp_retry_ms (10 ms), not before */
	poll_at(f, 5000);
	assert_int_equal(take(f, out, 8), 0);
	poll_at(f, 11000);
	k = take(f, out, 8);
	assert_int_equal(k, 1);
	rte_pktmbuf_free(out[0]);
	/* gossip from 2: the fan-out to 3 (not sender, not origin) waits for ARP: held */
	inject(f, mk_frame(2, 2, mac2, 1, 32));
	assert_int_equal(f->n.stats->rx_frames_new, 1);
	assert_int_equal(take(f, out, 8), 0);
	assert_int_equal(f->n.stats->drops[DP_DROP_ARP_UNRESOLVED], 0);
	assert_int_equal(f->n.stats->nic[RUMOR_DP_ARP_HELD], 1);
	/* node 3's frames come from a MAC we do not know yet: a stranger's (cap 0) */
	inject(f, mk_frame(3, 3, mac3, 1, 32));
	assert_int_equal(f->n.stats->rx_frames_new, 1);
	/* the reply */
	inject(f, mk_arp(2, mac3, 0x0a090003, 0x0a090001, mac1));
	assert_int_equal(f->n.stats->nic[RUMOR_DP_ARP_RESOLVED], 1);
	assert_int_equal(f->n.stats->arp_unresolved, 0);
	assert_int_equal(f->n.stats->nic[RUMOR_DP_ARP_REPLY_RX], 1);
	/* the held frame goes out with the reply's pass, to the learned MAC */
	k = take(f, out, 8);
	assert_int_equal(k, 1);
	assert_memory_equal(rte_pktmbuf_mtod(out[0], uint8_t *), mac3, 6);
	assert_memory_equal(rte_pktmbuf_mtod(out[0], uint8_t *) + 6, mac1, 6);
	rte_pktmbuf_free(out[0]);
	assert_int_equal(f->n.stats->nic[RUMOR_DP_ARP_RELEASED], 1);
	/* now the fan-out reaches 3 at its MAC, and 3's frames are a member's */
	inject(f, mk_frame(2, 2, mac2, 2, 32));
	k = take(f, out, 8);
	assert_int_equal(k, 1);
	assert_memory_equal(rte_pktmbuf_mtod(out[0], uint8_t *), mac3, 6);
	assert_memory_equal(rte_pktmbuf_mtod(out[0], uint8_t *) + 6, mac1, 6);
	rte_pktmbuf_free(out[0]);
	inject(f, mk_frame(3, 3, mac3, 1, 32));
	assert_int_equal(f->n.stats->rx_frames_new, 3);
	drain(f);
	/* a gratuitous ARP for static node 2 and an unsolicited one for 3: nothing changes */
	inject(f, mk_arp(1, evil, 0x0a090002, 0x0a090002, NULL));
	inject(f, mk_arp(2, evil, 0x0a090003, 0x0a090001, mac1));
	assert_int_equal(f->n.stats->nic[RUMOR_DP_ARP_STATIC_CONFLICT], 1);
	assert_int_equal(f->n.stats->nic[RUMOR_DP_ARP_UNSOLICITED], 1);
	poll_at(f, 12000); /* the re-check request for 3 */
	drain(f);
	inject(f, mk_frame(3, 3, mac3, 2, 32)); /* fan-out to 2 only (3 sent it) */
	k = take(f, out, 8);
	assert_int_equal(k, 1);
	assert_memory_equal(rte_pktmbuf_mtod(out[0], uint8_t *), mac2, 6);
	rte_pktmbuf_free(out[0]);
	inject(f, mk_frame(2, 2, mac2, 3, 32));
	k = take(f, out, 8);
	assert_int_equal(k, 1);
	assert_memory_equal(rte_pktmbuf_mtod(out[0], uint8_t *), mac3, 6);
	rte_pktmbuf_free(out[0]);
	/* a request for us is answered at once (and is no gossip) */
	inject(f, mk_arp(1, mac2, 0x0a090002, 0x0a090001, NULL));
	k = take(f, out, 8);
	assert_int_equal(k, 1);
	assert_int_equal(rumor_be_ld16(rte_pktmbuf_mtod(out[0], uint8_t *) + 20), 2);
	assert_memory_equal(rte_pktmbuf_mtod(out[0], uint8_t *), mac2, 6);
	rte_pktmbuf_free(out[0]);
	/* malformed ARP: counted, dropped, never seen by the gossip codec */
	{
		uint64_t before = codec_drops(&f->n);
		struct rte_mbuf *m = mk_arp(1, mac2, 0x0a090002, 0x0a090001, NULL);

		rte_pktmbuf_mtod(m, uint8_t *)[18] = 8;
		inject(f, m);
		m = mk_arp(1, mac2, 0x0a090002, 0x0a090001, NULL);
		rte_pktmbuf_trim(m, 30);
		inject(f, m);
		assert_int_equal(f->n.stats->drops[DP_DROP_ARP_BAD], 2);
		assert_int_equal(f->n.stats->nic[RUMOR_DP_ARP_MALFORMED], 2);
		assert_int_equal(codec_drops(&f->n), before);
		assert_int_equal(take(f, out, 8), 0);
	}
}

static void link_down_up(void)
{
	struct fixture *f = fx_start(1500);
	const uint8_t *mac1 = rumor_config_node(&cfg, SELF)->mac;
	const uint8_t *mac2 = rumor_config_node(&cfg, 2)->mac;
	struct rte_mbuf *out[8];

	poll_at(f, 1000);
	inject(f, mk_arp(2, mac3, 0x0a090003, 0x0a090001, mac1));
	drain(f);
	assert_int_equal(f->n.stats->link_up, 1);
	assert_int_equal(rte_eth_dev_set_link_down(f->port), 0);
	poll_at(f, 1000 + DP_LINK_POLL_MS * 1000);
	assert_int_equal(f->n.stats->link_up, 0);
	assert_int_equal(f->n.stats->nic[RUMOR_DP_LINK_DOWN_EVENTS], 1);
	/* a new frame is stored and reported, its fan-out (to 3) is dropped as link_down */
	inject(f, mk_frame(2, 2, mac2, 1, 32));
	assert_int_equal(f->n.stats->rx_frames_new, 1);
	assert_int_equal(take(f, out, 8), 0);
	assert_int_equal(f->n.stats->drops[DP_DROP_LINK_DOWN], 1);
	/* a request for us is not answered while down either */
	inject(f, mk_arp(1, mac2, 0x0a090002, 0x0a090001, NULL));
	assert_int_equal(take(f, out, 8), 0);
	assert_int_equal(f->n.stats->drops[DP_DROP_LINK_DOWN], 2);
	assert_int_equal(rte_eth_dev_set_link_up(f->port), 0);
	poll_at(f, 1000 + 2 * DP_LINK_POLL_MS * 1000);
	assert_int_equal(f->n.stats->link_up, 1);
	assert_int_equal(f->n.stats->nic[RUMOR_DP_LINK_UP_EVENTS], 1);
	/* resumes: the next frame goes out to 3 at its MAC */
	inject(f, mk_frame(2, 2, mac2, 2, 32));
	assert_int_equal(take(f, out, 8), 1);
	assert_memory_equal(rte_pktmbuf_mtod(out[0], uint8_t *), mac3, 6);
	rte_pktmbuf_free(out[0]);
	assert_int_equal(f->n.stats->drops[DP_DROP_LINK_DOWN], 2);
	assert_int_equal(f->n.stats->rx_frames_new, 2);
}

static void test_link_down_up(void **state)
{
	(void)state;
	link_down_up();
}

/* A PMD that claims LSC interrupts is still read every DP_LINK_POLL_MS: with net_tap's flag
 * and no callback, a slower poll left a link change unseen for up to a second. */
static void test_link_lsc_claimed_silent(void **state)
{
	(void)state;
	claim_lsc = true;
	link_down_up();
	assert_true(fx.n.link.lsc);
	assert_int_equal(fx.n.stats->nic[RUMOR_DP_LINK_LSC], 0);
}

/* A member added at run time (RUMOR_MSG_PEER from rumor-cp): node 9, in no config file this
 * node started with. Its frames are a stranger's (cap 0: dropped) until the message, then a
 * member's; it is in the static view (gossip goes to it); a second message changes nothing;
 * an id whose IP another node has is refused. */
static void test_peer_added_at_run_time(void **state)
{
	struct fixture *f = fx_start(1500);
	static const uint8_t mac9[6] = { 2, 0, 0, 0, 0, 9 };
	const uint32_t ip9 = 0x0a090009;
	const struct dp_test_hop hop9 = { mac9, rumor_config_node(&cfg, SELF)->mac, ip9,
					  rumor_config_node(&cfg, SELF)->ip, CLUSTER, 4 };
	static uint8_t payload[64];
	struct rumor_msg *m;
	struct rte_mbuf *in;
	bool in_view = false;
	void *obj;

	(void)state;
	poll_at(f, 1000);
	/* origin 2's frame relayed by 9: the link source is no configured node */
	in = dp_test_gossip_frame(pkt_pool, &hop9, 2, 9, 1, payload, sizeof(payload));
	assert_non_null(in);
	inject(f, in);
	drain(f);
	assert_int_equal(f->n.stats->rx_frames_new, 0);
	assert_int_equal(f->n.stats->budget_drops[RUMOR_DP_BUDGET_STRANGER - 1], 1);

	for (int k = 0; k < 2; k++) { /* the second one is a repeat (rumor-cp sends it again) */
		assert_int_equal(rte_mempool_get(f->n.msg_pool, &obj), 0);
		m = obj;
		memset(m, 0, sizeof(*m));
		m->type = RUMOR_MSG_PEER;
		m->u.peer = (struct rumor_msg_peer){ .id = 9, .ip = ip9 };
		memcpy(m->u.peer.mac, mac9, 6);
		dp_node_cp_msg(&f->n, m, f->now);
	}
	assert_int_equal(f->n.stats->peers_added, 1);
	assert_int_equal(f->n.stats->peers_refused, 0);
	assert_non_null(rumor_config_node(&cfg, 9));
	assert_int_equal(f->n.nview, 3);
	for (unsigned i = 0; i < f->n.nview; i++)
		in_view |= f->n.view[i] == 9;
	assert_true(in_view);

	/* the same frame again: now a member's */
	in = dp_test_gossip_frame(pkt_pool, &hop9, 2, 9, 1, payload, sizeof(payload));
	inject(f, in);
	drain(f);
	assert_int_equal(f->n.stats->rx_frames_new, 1);
	assert_int_equal(f->n.stats->budget_drops[RUMOR_DP_BUDGET_STRANGER - 1], 1);

	/* node 10 claiming node 2's IP: refused, nothing added */
	assert_int_equal(rte_mempool_get(f->n.msg_pool, &obj), 0);
	m = obj;
	memset(m, 0, sizeof(*m));
	m->type = RUMOR_MSG_PEER;
	m->u.peer = (struct rumor_msg_peer){ .id = 10, .ip = 0x0a090002, .mac_arp = 1 };
	dp_node_cp_msg(&f->n, m, f->now);
	assert_int_equal(f->n.stats->peers_refused, 1);
	assert_null(rumor_config_node(&cfg, 10));
	assert_int_equal(f->n.nview, 3);
}

/* A counter of nic[] by its name, 0 when there is none (the test runs on builds without the
 * hold too, and fails on what it checks, not on a missing name). */
static uint64_t nic_ctr(const struct dp_node *n, const char *name)
{
	for (int i = 0; i < RUMOR_DP_NIC_N; i++)
		if (!strcmp(rumor_dp_nic_name(i), name))
			return n->stats->nic[i];
	return 0;
}

static uint64_t drop_ctr(const struct dp_node *n, const char *name)
{
	int i = dp_test_drop_idx(name);

	return i < 0 ? 0 : n->stats->drops[i];
}

/* One event of @len bytes originated through cp2dp, its frame closed by the time bound
 * (flush_us = 100): one frame per call, our seqs 1, 2, ... */
static void originate1(struct fixture *f, unsigned len)
{
	static uint8_t ev[RUMOR_MSG_ORIGINATE_DATA];
	struct rumor_msg *m;
	void *obj;

	assert_int_equal(rte_mempool_get(f->n.msg_pool, &obj), 0);
	m = obj;
	memset(m, 0, sizeof(*m));
	m->type = RUMOR_MSG_ORIGINATE;
	m->u.originate.req_id = f->now;
	memset(ev, 'e', len);
	assert_int_equal(rumor_msg_originate_add(m, ev, (uint16_t)len), 0);
	assert_int_equal(rte_ring_enqueue(f->n.cp2dp, m), 0);
	poll_at(f, f->now + 1);
	poll_at(f, f->now + 200);
}

/* Take what the node sent: the first_seq of each gossip frame to @ip into @seq (decoded:
 * checksums, lengths and ids right; @dmac as destination and ours as source when @mac_ok),
 * the rest (to others, ARP) freed; the frames reported are released. Returns the frames to
 * @ip. */
static unsigned take_to(struct fixture *f, uint32_t ip, const uint8_t *dmac, uint64_t *seq,
			unsigned max, bool mac_ok)
{
	static uint8_t buf[2048];
	const uint8_t *mac1 = rumor_config_node(&cfg, SELF)->mac;
	struct rumor_wire_frame fr;
	struct rte_mbuf *m[64];
	unsigned k, got = 0;
	void *msg;

	while ((k = rte_ring_dequeue_burst(f->tx, (void **)m, 64, NULL)) > 0) {
		for (unsigned i = 0; i < k; i++) {
			const uint8_t *p = rte_pktmbuf_read(m[i], 0, m[i]->pkt_len, buf);

			assert_non_null(p);
			if (rumor_be_ld16(p + 12) == 0x0800 &&
			    rumor_be_ld32(p + RUMOR_WIRE_ETH_LEN + 16) == ip) {
				assert_int_equal(rumor_wire_decode(p, m[i]->pkt_len, CLUSTER,
								   RUMOR_WIRE_PORT,
								   RUMOR_WIRE_DEC_VERIFY_IDS, &fr), 0);
				assert_int_equal(fr.hdr.origin, SELF);
				if (mac_ok) {
					assert_memory_equal(p, dmac, 6);
					assert_memory_equal(p + 6, mac1, 6);
				}
				assert_true(got < max);
				seq[got++] = fr.hdr.first_seq;
			}
		}
		rte_pktmbuf_free_bulk(m, k);
	}
	/* the cp's part: every frame released (our origin's window stays open; a held body
	 * keeps its slot until it is sent or dropped) */
	while (rte_ring_dequeue(f->n.dp2cp, &msg) == 0) {
		if (((struct rumor_msg *)msg)->type == RUMOR_MSG_NEW_FRAME) {
			dp_test_release_of(msg);
			assert_int_equal(rte_ring_enqueue(f->n.cp2dp, msg), 0);
		} else {
			rte_mempool_put(f->n.msg_pool, msg);
		}
	}
	return got;
}

static unsigned take_to3(struct fixture *f, uint64_t *seq, unsigned max, bool mac_ok)
{
	return take_to(f, 0x0a090003, mac3, seq, max, mac_ok);
}

static void arp_reply3(struct fixture *f)
{
	inject(f, mk_arp(2, mac3, 0x0a090003, 0x0a090001, rumor_config_node(&cfg, SELF)->mac));
}

/* Node 3's learned MAC expires: refresh due (arp_refresh_s, 60 s), DP_ARP_TRIES requests
 * unanswered (arp_retry_ms 10 ms apart), dropped at the next. */
static void expire3(struct fixture *f)
{
	poll_at(f, f->now + 60u * 1000000u);
	for (unsigned i = 0; i < DP_ARP_TRIES; i++)
		poll_at(f, f->now + 10000);
	assert_int_equal(f->n.stats->arp_unresolved, 1);
}

/* Issue 18, hold: gossip to a peer whose ARP is unresolved (at start, after its MAC expired)
 * is held, not dropped, and goes out in order to the learned MAC once it answers; a full
 * hold drops its oldest, frames held longer than the ARP retries are dropped on the tick,
 * link down frees the hold; every header and body mbuf goes back to the pool. Bodies of
 * 200 B: two segments per frame, the body attached to its store slot. */
static void test_arp_hold(void **state)
{
	struct fixture *f = fx_start(1500);
	uint64_t seq[64];
	unsigned k, avail0, next = 1;

	(void)state;
	poll_at(f, 1000); /* the first request for 3 */
	assert_int_equal(take_to3(f, seq, 64, false), 0);
	avail0 = rte_mempool_avail_count(f->n.hdr_pool);

	/* at start: 10 frames originated before 3 answers, none to 3, none dropped */
	for (unsigned i = 0; i < 10; i++)
		originate1(f, 200);
	assert_int_equal(f->n.stats->originated_frames, 10);
	assert_int_equal(take_to3(f, seq, 64, false), 0);
	assert_int_equal(f->n.stats->drops[DP_DROP_ARP_UNRESOLVED], 0);
	assert_int_equal(nic_ctr(&f->n, "arp_held"), 10);
	arp_reply3(f);
	k = take_to3(f, seq, 64, true);
	assert_int_equal(k, 10);
	for (unsigned i = 0; i < k; i++)
		assert_int_equal(seq[i], next + i);
	next += 10;
	assert_int_equal(nic_ctr(&f->n, "arp_released"), 10);
	/* resolved: the next frame goes straight out */
	originate1(f, 200);
	assert_int_equal(take_to3(f, seq, 64, true), 1);
	assert_int_equal(seq[0], next++);
	assert_int_equal(rte_mempool_avail_count(f->n.hdr_pool), avail0);

	/* expired MAC: the hold takes DP_ARP_HOLD (16), the 5 oldest are dropped */
	expire3(f);
	for (unsigned i = 0; i < 16 + 5; i++)
		originate1(f, 200);
	assert_int_equal(take_to3(f, seq, 64, false), 0);
	assert_int_equal(drop_ctr(&f->n, "arp_hold_full"), 5);
	assert_int_equal(f->n.stats->drops[DP_DROP_ARP_UNRESOLVED], 0);
	assert_int_equal(nic_ctr(&f->n, "arp_held"), 10 + 21);
	arp_reply3(f);
	k = take_to3(f, seq, 64, true);
	assert_int_equal(k, 16);
	for (unsigned i = 0; i < k; i++)
		assert_int_equal(seq[i], next + 5 + i);
	next += 21;
	assert_int_equal(nic_ctr(&f->n, "arp_released"), 10 + 16);
	assert_int_equal(rte_mempool_avail_count(f->n.hdr_pool), avail0);

	/* held longer than DP_ARP_TRIES x arp_retry_ms (30 ms): dropped on the tick */
	expire3(f);
	for (unsigned i = 0; i < 3; i++)
		originate1(f, 200);
	next += 3;
	poll_at(f, f->now + 20000);
	assert_int_equal(drop_ctr(&f->n, "arp_hold_aged"), 0);
	poll_at(f, f->now + 11000);
	assert_int_equal(drop_ctr(&f->n, "arp_hold_aged"), 3);
	assert_int_equal(take_to3(f, seq, 64, false), 0);
	assert_int_equal(rte_mempool_avail_count(f->n.hdr_pool), avail0);
	arp_reply3(f);
	assert_int_equal(take_to3(f, seq, 64, true), 0);
	assert_int_equal(nic_ctr(&f->n, "arp_released"), 10 + 16);

	/* link down frees what is held (counted link_down); after it, new frames go out */
	expire3(f);
	originate1(f, 200);
	originate1(f, 200);
	next += 2;
	assert_int_equal(nic_ctr(&f->n, "arp_held"), 10 + 21 + 3 + 2);
	{
		uint64_t down0 = f->n.stats->drops[DP_DROP_LINK_DOWN];

		assert_int_equal(rte_eth_dev_set_link_down(f->port), 0);
		poll_at(f, f->now + DP_LINK_POLL_MS * 1000);
		assert_int_equal(f->n.stats->link_up, 0);
		assert_int_equal(f->n.stats->drops[DP_DROP_LINK_DOWN], down0 + 2);
	}
	assert_int_equal(take_to3(f, seq, 64, false), 0);
	assert_int_equal(rte_mempool_avail_count(f->n.hdr_pool), avail0);
	assert_int_equal(rte_eth_dev_set_link_up(f->port), 0);
	poll_at(f, f->now + DP_LINK_POLL_MS * 1000);
	arp_reply3(f);
	assert_int_equal(take_to3(f, seq, 64, true), 0);
	originate1(f, 200);
	assert_int_equal(take_to3(f, seq, 64, true), 1);
	assert_int_equal(seq[0], next);
	assert_int_equal(nic_ctr(&f->n, "arp_released"), 10 + 16);
	assert_int_equal(f->n.stats->drops[DP_DROP_ARP_UNRESOLVED], 0);
	assert_int_equal(rte_mempool_avail_count(f->n.hdr_pool), avail0);
	/* every slot free again: no held body kept a store reference */
	poll_at(f, f->now + 1);
	assert_int_equal(f->n.stats->store_used, 0);
}

/* A member with mac = arp added at run time (RUMOR_MSG_PEER): it had no template, so the
 * frames held for it get one with its addresses (no MAC); after its reply they go out with
 * its IP, right checksums and its MAC. */
static void test_arp_hold_peer_added(void **state)
{
	struct fixture *f = fx_start(1500);
	static const uint8_t mac9[6] = { 2, 0, 0, 0, 0, 9 };
	uint64_t seq[64];
	unsigned to9 = 0;
	struct rumor_msg *m;
	void *obj;

	(void)state;
	poll_at(f, 1000);
	arp_reply3(f);
	take_to3(f, seq, 64, false);
	assert_int_equal(rte_mempool_get(f->n.msg_pool, &obj), 0);
	m = obj;
	memset(m, 0, sizeof(*m));
	m->type = RUMOR_MSG_PEER;
	m->u.peer = (struct rumor_msg_peer){ .id = 9, .ip = 0x0a090009, .mac_arp = 1 };
	dp_node_cp_msg(&f->n, m, f->now);
	assert_int_equal(f->n.stats->peers_added, 1);
	assert_int_equal(f->n.stats->arp_unresolved, 1);
	/* fanout 2 of 2, 3, 9: most frames go to 9 too */
	for (unsigned i = 0; i < 8; i++)
		originate1(f, 200);
	assert_int_equal(take_to(f, 0x0a090009, mac9, seq, 64, false), 0);
	assert_true(nic_ctr(&f->n, "arp_held") > 0);
	inject(f, mk_arp(2, mac9, 0x0a090009, 0x0a090001, rumor_config_node(&cfg, SELF)->mac));
	to9 = take_to(f, 0x0a090009, mac9, seq, 64, true);
	assert_int_equal(to9, nic_ctr(&f->n, "arp_held"));
	assert_int_equal(nic_ctr(&f->n, "arp_released"), to9);
	for (unsigned i = 1; i < to9; i++)
		assert_true(seq[i] > seq[i - 1]);
}

/* MTU 9000: RX buffers hold a jumbo frame, an 8 KiB event is stored and forwarded whole. */
static void test_jumbo(void **state)
{
	struct fixture *f = fx_start(9000);
	const uint8_t *mac2 = rumor_config_node(&cfg, 2)->mac;
	struct rte_mbuf *out[8];

	(void)state;
	assert_true(dp_link_rx_buf_size(9000) >= RTE_PKTMBUF_HEADROOM + 9014);
	assert_int_equal(f->n.stats->mtu, 9000);
	poll_at(f, 1000);
	drain(f);
	inject(f, mk_arp(2, mac3, 0x0a090003, 0x0a090001, rumor_config_node(&cfg, SELF)->mac));
	inject(f, mk_frame(2, 2, mac2, 1, 8192));
	assert_int_equal(f->n.stats->rx_frames_new, 1);
	assert_int_equal(f->n.stats->rx_events_new, 1);
	assert_int_equal(take(f, out, 8), 1);
	assert_true(out[0]->pkt_len > 8192 + RUMOR_WIRE_PREFIX_LEN);
	assert_true(out[0]->pkt_len <= 9000 + RUMOR_WIRE_ETH_LEN);
	rte_pktmbuf_free(out[0]);
	teardown(NULL);
	/* at MTU 1500 that frame is too long for the codec (and a real port) */
	f = fx_start(1500);
	inject(f, mk_frame(2, 2, mac2, 1, 8192));
	assert_int_equal(f->n.stats->rx_frames_new, 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_arp_resolve, teardown),
		cmocka_unit_test_teardown(test_link_down_up, teardown),
		cmocka_unit_test_teardown(test_link_lsc_claimed_silent, teardown),
		cmocka_unit_test_teardown(test_peer_added_at_run_time, teardown),
		cmocka_unit_test_teardown(test_jumbo, teardown),
		cmocka_unit_test_teardown(test_arp_hold, teardown),
		cmocka_unit_test_teardown(test_arp_hold_peer_added, teardown),
	};

	(void)argc;
	pkt_pool = dp_test_eal(argv[0], "rumor-dp-link", "0", 1023, 0, 10000);
	if (pkt_pool == NULL)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
