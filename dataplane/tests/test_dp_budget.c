/* In-process tests of the dataplane's budgets (issue 13) on net_ring ports: slots per origin
 * and per link source, strangers, non-member origins, PULL_RESP caps, PULL_REQ token
 * buckets, the age-out of unordered frames, and slot accounting after the rings fill. */
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
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dp_node.h"
#include "dp_test_port.h"
#include "rumor_wire.h"

#define NNODES 6
#define SELF 1
#define CLUSTER 77

static struct rumor_config cfg;
static struct rte_mempool *pkt_pool;

struct fixture {
	struct dp_node n;
	struct rte_ring *rx, *tx;
	uint16_t port;
	uint64_t now;              /* microseconds (tsc_hz = 1e6) */
};

static struct fixture fx_mem;
static bool fx_active;
static struct dp_node_params fx_p; /* budget fields for the next fx_start */

static void load_config(unsigned slots, unsigned peer_cap)
{
	char text[4096], err[256];
	int off;

	off = snprintf(text, sizeof(text),
		       "[cluster]\nid = %u\n[gossip]\nfanout = 3\nrounds = 4\nmtu = 1500\n"
		       "flush_us = 100\n[dataplane]\nstore_slots = %u\nstore_peer_cap = %u\n"
		       "origin_window = %u\n",
		       CLUSTER, slots, peer_cap, peer_cap);
	for (unsigned i = 1; i <= NNODES; i++)
		off += snprintf(text + off, sizeof(text) - (size_t)off,
				"[node.%u]\nmac = 02:00:00:00:00:%02x\nip = 10.9.0.%u\n"
				"control = 127.0.0.1:%u\n",
				i, i, i, 7000 + i);
	if (rumor_config_parse(text, "test", &cfg, err, sizeof(err)) != 0)
		fail_msg("config: %s", err);
}

static struct fixture *fx_start(unsigned slots, unsigned peer_cap)
{
	struct fixture *f = &fx_mem;
	struct dp_node_params p = fx_p;
	int port;

	memset(f, 0, sizeof(*f));
	load_config(slots, peer_cap);
	port = dp_test_ring_port("", &f->rx, &f->tx);
	assert_true(port >= 0);
	f->port = (uint16_t)port;
	p.cfg = &cfg;
	p.node_id = SELF;
	p.port_id = f->port;
	p.msg_pool_size = fx_p.msg_pool_size ? fx_p.msg_pool_size : 1024;
	p.rx_mbufs = 511;
	p.tsc_hz = 1000000;
	p.seed = 42;
	p.pull_timeout_us = 1000;
	assert_int_equal(dp_node_init(&f->n, &p), 0);
	fx_active = true;
	f->now = 1000;
	return f;
}

static void drain_tx(struct fixture *f)
{
	struct rte_mbuf *m[64];
	unsigned n;

	while ((n = rte_ring_dequeue_burst(f->tx, (void **)m, 64, NULL)) > 0)
		rte_pktmbuf_free_bulk(m, n);
}

static void fx_stop(struct fixture *f)
{
	void *m;

	if (!fx_active)
		return;
	fx_active = false;
	drain_tx(f);
	while (rte_ring_dequeue(f->n.dp2cp, &m) == 0)
		rte_mempool_put(f->n.msg_pool, m);
	dp_node_fini(&f->n);
	rte_eth_dev_close(f->port);
	rte_ring_free(f->rx);
	rte_ring_free(f->tx);
	memset(&fx_p, 0, sizeof(fx_p));
}

static int teardown(void **state)
{
	(void)state;
	fx_stop(&fx_mem);
	return 0;
}

/* A frame of @origin with header sender @sender, sent from the MAC and IP of node @link
 * (0: a stranger's 02:52:..:ee, 10.9.0.200). PULL_REQ: no body. */
static struct rte_mbuf *mk(uint16_t origin, uint16_t sender, uint16_t link, uint64_t first_seq,
			   uint8_t type)
{
	static const uint8_t stranger_mac[6] = { 0x02, 0x52, 0, 0, 0, 0xee };
	uint8_t body[2000], buf[2100], payload[16];
	struct rumor_wire_body b;
	struct rumor_wire_l2l4 a;
	struct rumor_wire_hdr h;
	struct rumor_event_id id;
	struct rumor_vc ts;
	struct rte_mbuf *m;
	int len;

	rumor_vc_init(&ts);
	rumor_vc_set(&ts, origin, first_seq);
	assert_int_equal(rumor_wire_body_start(&b, body, sizeof(body), &ts), 0);
	memset(payload, (int)first_seq, sizeof(payload));
	rumor_event_id_compute(origin, first_seq, payload, sizeof(payload), &id);
	assert_int_equal(rumor_wire_body_add(&b, &id, payload, sizeof(payload)), 0);
	if (link != 0) {
		memcpy(a.src_mac, rumor_config_node(&cfg, link)->mac, 6);
		a.src_ip = rumor_config_node(&cfg, link)->ip;
	} else {
		memcpy(a.src_mac, stranger_mac, 6);
		a.src_ip = 0x0a0900c8;
	}
	memcpy(a.dst_mac, rumor_config_node(&cfg, SELF)->mac, 6);
	a.dst_ip = rumor_config_node(&cfg, SELF)->ip;
	a.src_port = a.dst_port = RUMOR_WIRE_PORT;
	memset(&h, 0, sizeof(h));
	h.type = type;
	h.cluster_id = CLUSTER;
	h.origin = origin;
	h.sender = sender;
	h.first_seq = first_seq;
	h.event_count = 1;
	h.clock_count = type == RUMOR_WIRE_PULL_REQ ? 0 : ts.n;
	len = rumor_wire_encode(buf, sizeof(buf), &a, &h, body,
				type == RUMOR_WIRE_PULL_REQ ? 0 : b.len);
	assert_true(len > 0);
	m = rte_pktmbuf_alloc(pkt_pool);
	assert_non_null(m);
	memcpy(rte_pktmbuf_append(m, (uint16_t)len), buf, (size_t)len);
	return m;
}

static void inject(struct fixture *f, struct rte_mbuf *m)
{
	assert_int_equal(rte_ring_enqueue(f->rx, m), 0);
	dp_node_poll(&f->n, f->now);
}

static struct rumor_msg *cp_msg(struct fixture *f, uint16_t type)
{
	void *obj;

	assert_int_equal(rte_mempool_get(f->n.msg_pool, &obj), 0);
	memset(obj, 0, sizeof(struct rumor_msg));
	((struct rumor_msg *)obj)->type = type;
	return obj;
}

static void send_cp(struct fixture *f, struct rumor_msg *m)
{
	assert_int_equal(rte_ring_enqueue(f->n.cp2dp, m), 0);
	dp_node_poll(&f->n, f->now);
}

/* What the cp would do: take every dp2cp message; release every NEW_FRAME when @release.
 * Returns the number of messages of @type seen (0: all types). */
static unsigned cp_drain(struct fixture *f, bool release, uint16_t type)
{
	struct rumor_msg *msgs[64];
	unsigned n, seen = 0;

	while ((n = rte_ring_dequeue_burst(f->n.dp2cp, (void **)msgs, 64, NULL)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			const struct rumor_msg_new_frame nf = msgs[i]->u.new_frame;

			seen += type == 0 || msgs[i]->type == type;
			if (release && msgs[i]->type == RUMOR_MSG_NEW_FRAME) {
				struct rumor_msg *r = cp_msg(f, RUMOR_MSG_RELEASE);

				r->u.release.slot = nf.slot;
				r->u.release.origin = nf.origin;
				r->u.release.first_seq = nf.first_seq;
				assert_int_equal(rte_ring_enqueue(f->n.cp2dp, r), 0);
			}
		}
		rte_mempool_put_bulk(f->n.msg_pool, (void **)msgs, n);
		dp_node_poll(&f->n, f->now);
	}
	return seen;
}

static uint64_t bdrops(struct fixture *f, int reason)
{
	return f->n.stats->budget_drops[reason - 1];
}

static unsigned used_slots(struct fixture *f)
{
	return f->n.store.nslots - dp_store_free_count(&f->n.store);
}

/* One member relaying frames of many origins holds at most source_cap slots; another
 * member still gets its frames in. */
static void test_source_cap(void **state)
{
	(void)state;
	fx_p.source_cap = 4;
	struct fixture *f = fx_start(64, 64);

	for (uint64_t s = 1; s <= 3; s++)
		for (uint16_t o = 2; o <= 4; o++)
			inject(f, mk(o, 5, 5, s, RUMOR_WIRE_GOSSIP));
	assert_int_equal(f->n.stats->rx_frames_new, 4);
	assert_int_equal(bdrops(f, RUMOR_DP_BUDGET_SOURCE), 5);
	assert_int_equal(f->n.store.src_used[5], 4);
	inject(f, mk(2, 6, 6, 10, RUMOR_WIRE_GOSSIP));
	assert_int_equal(f->n.stats->rx_frames_new, 5);
	/* released: the source's budget comes back */
	cp_drain(f, true, 0);
	drain_tx(f);
	assert_int_equal(f->n.store.src_used[5], 0);
	assert_int_equal(f->n.store.src_used[6], 0);
	inject(f, mk(3, 5, 5, 20, RUMOR_WIRE_GOSSIP));
	assert_int_equal(f->n.stats->rx_frames_new, 6);
	fx_stop(f);
}

/* Frames from a MAC/IP of no configured node (an attacker namespace), whatever origins and
 * sender fields they claim, share stranger_cap slots; a member's own MAC with another
 * member's sender field is a stranger too. */
static void test_stranger_cap(void **state)
{
	(void)state;
	fx_p.stranger_cap = 3;
	struct fixture *f = fx_start(64, 64);

	for (uint16_t o = 2; o <= 6; o++)
		inject(f, mk(o, 3, 0, 7, RUMOR_WIRE_GOSSIP));
	inject(f, mk(2, 3, 4, 8, RUMOR_WIRE_GOSSIP)); /* node 4's MAC claiming sender 3 */
	assert_int_equal(f->n.stats->rx_frames_new, 3);
	assert_int_equal(bdrops(f, RUMOR_DP_BUDGET_STRANGER), 3);
	assert_int_equal(f->n.store.src_used[DP_SRC_STRANGER], 3);
	dp_node_poll(&f->n, f->now);
	assert_int_equal(f->n.stats->stranger_used, 3);
	/* the members' gossip is untouched */
	inject(f, mk(2, 3, 3, 9, RUMOR_WIRE_GOSSIP));
	assert_int_equal(f->n.stats->rx_frames_new, 4);
	fx_stop(f);
}

/* By default a stranger's frames never take a slot: a flood of a member's seqs ahead of the
 * order (a clean timestamp, inside the window) from an attacker namespace made the leader
 * skip that member's real seqs; every rumor-dp sends from its configured MAC + IP. */
static void test_stranger_default(void **state)
{
	(void)state;
	struct fixture *f = fx_start(2048, 2048);

	for (uint64_t s = 1; s <= 100; s++) {
		inject(f, mk((uint16_t)(2 + s % 5), 3, 0, 500000 + s, RUMOR_WIRE_GOSSIP));
		drain_tx(f);
	}
	assert_int_equal(used_slots(f), 0);
	assert_int_equal(f->n.stats->rx_frames_new, 0);
	assert_int_equal(bdrops(f, RUMOR_DP_BUDGET_STRANGER), 100);
	/* the same from the member's own MAC + IP goes in */
	inject(f, mk(2, 3, 3, 500001, RUMOR_WIRE_GOSSIP));
	assert_int_equal(f->n.stats->rx_frames_new, 1);
	fx_stop(f);
}

/* A node outside the Raft configuration never takes a slot, even with seqs at or below what
 * the order reached for it (which the timestamp rule lets through). */
static void test_nonmember_origin(void **state)
{
	(void)state;
	struct fixture *f = fx_start(64, 64);
	struct rumor_msg *m = cp_msg(f, RUMOR_MSG_MEMBERS);

	/* configuration {1,2,3,4}; node 5 was a member and is ordered through 100 */
	m->u.members.n = 4;
	for (uint16_t i = 0; i < 4; i++)
		m->u.members.node[i] = (uint16_t)(i + 1);
	m->u.members.nreached = 1;
	m->u.members.reached_node[0] = 5;
	m->u.members.reached_seq[0] = 100;
	send_cp(f, m);
	inject(f, mk(5, 3, 3, 50, RUMOR_WIRE_GOSSIP));
	inject(f, mk(5, 3, 3, 51, RUMOR_WIRE_PULL_RESP));
	assert_int_equal(bdrops(f, RUMOR_DP_BUDGET_NONMEMBER), 2);
	assert_int_equal(f->n.stats->rx_frames_new, 0);
	assert_int_equal(used_slots(f), 0);
	/* a member's frame still goes in */
	inject(f, mk(4, 3, 3, 1, RUMOR_WIRE_GOSSIP));
	assert_int_equal(f->n.stats->rx_frames_new, 1);
	fx_stop(f);
}

/* PULL_RESP obeys the caps: unasked ones from a stranger like gossip, unasked ones from a
 * member (the leader's repair) past the origin cap only within repair_cap; the answer to one
 * of our pulls always gets in. */
static void test_pull_resp_caps(void **state)
{
	(void)state;
	fx_p.repair_cap = 2;
	struct fixture *f = fx_start(64, 2);
	struct rumor_msg *p;

	inject(f, mk(2, 3, 3, 1, RUMOR_WIRE_GOSSIP));
	inject(f, mk(2, 3, 3, 2, RUMOR_WIRE_GOSSIP));
	inject(f, mk(2, 3, 3, 3, RUMOR_WIRE_GOSSIP));
	assert_int_equal(bdrops(f, RUMOR_DP_BUDGET_ORIGIN), 1);
	/* a stranger's unasked PULL_RESP: the origin cap holds */
	inject(f, mk(2, 3, 0, 4, RUMOR_WIRE_PULL_RESP));
	assert_int_equal(bdrops(f, RUMOR_DP_BUDGET_ORIGIN), 2);
	/* repairs from a member: two past the cap, then refused */
	for (uint64_t s = 5; s <= 8; s++)
		inject(f, mk(2, 4, 4, s, RUMOR_WIRE_PULL_RESP));
	assert_int_equal(bdrops(f, RUMOR_DP_BUDGET_REPAIR), 2);
	assert_int_equal(f->n.store.repair_used[2], 2);
	assert_int_equal(f->n.store.origin_used[2], 4);
	/* asked for: in, past every cap */
	p = cp_msg(f, RUMOR_MSG_PULL);
	p->u.pull.origin = 2;
	p->u.pull.first_seq = 9;
	p->u.pull.count = 1;
	send_cp(f, p);
	drain_tx(f);
	inject(f, mk(2, 5, 5, 9, RUMOR_WIRE_PULL_RESP));
	assert_int_equal(f->n.store.origin_used[2], 5);
	assert_int_equal(f->n.stats->rx_frames_new, 5);
	/* all released: every count back at zero */
	cp_drain(f, true, 0);
	drain_tx(f);
	assert_int_equal(f->n.store.origin_used[2], 0);
	assert_int_equal(f->n.store.repair_used[2], 0);
	assert_int_equal(used_slots(f), 0);
	fx_stop(f);
}

/* PULL_REQ answers: pull_burst at once per requester, then pull_rate per second; other
 * requesters have their own bucket; a request whose MAC/IP is not its sender's is refused. */
static void test_pull_rate(void **state)
{
	(void)state;
	fx_p.pull_rate = 10;
	fx_p.pull_burst = 4;
	struct fixture *f = fx_start(64, 64);

	inject(f, mk(2, 3, 3, 1, RUMOR_WIRE_GOSSIP));
	drain_tx(f);
	for (int i = 0; i < 10; i++)
		inject(f, mk(2, 4, 4, 1, RUMOR_WIRE_PULL_REQ));
	assert_int_equal(f->n.stats->pull_served, 4);
	assert_int_equal(bdrops(f, RUMOR_DP_BUDGET_PULL_RATE), 6);
	inject(f, mk(2, 5, 5, 1, RUMOR_WIRE_PULL_REQ));
	assert_int_equal(f->n.stats->pull_served, 5);
	/* 250 ms later: two more tokens for node 4 */
	f->now += 250000;
	for (int i = 0; i < 4; i++)
		inject(f, mk(2, 4, 4, 1, RUMOR_WIRE_PULL_REQ));
	assert_int_equal(f->n.stats->pull_served, 7);
	assert_int_equal(bdrops(f, RUMOR_DP_BUDGET_PULL_RATE), 8);
	/* forged requester (stranger MAC, or node 6's MAC naming node 5): no answer */
	inject(f, mk(2, 5, 0, 1, RUMOR_WIRE_PULL_REQ));
	inject(f, mk(2, 5, 6, 1, RUMOR_WIRE_PULL_REQ));
	assert_int_equal(bdrops(f, RUMOR_DP_BUDGET_PULL_SOURCE), 2);
	assert_int_equal(f->n.stats->pull_served, 7);
	/* a request for something we do not hold costs no token */
	f->now += 10000000;
	for (int i = 0; i < 10; i++)
		inject(f, mk(2, 4, 4, 99, RUMOR_WIRE_PULL_REQ));
	for (int i = 0; i < 4; i++)
		inject(f, mk(2, 4, 4, 1, RUMOR_WIRE_PULL_REQ));
	assert_int_equal(f->n.stats->pull_served, 11);
	drain_tx(f);
	fx_stop(f);
}

/* A frame held unordered past the age bound is offered back to the cp (EXPIRE), once per
 * bound; the dataplane keeps the slot until the cp's RELEASE (the cp may still read it). */
static void test_age_out(void **state)
{
	(void)state;
	fx_p.age_us = 2000000;
	struct fixture *f = fx_start(64, 64);
	struct rumor_msg *msgs[8], *r;
	unsigned n;

	inject(f, mk(2, 3, 3, 1, RUMOR_WIRE_GOSSIP));
	assert_int_equal(cp_drain(f, false, RUMOR_MSG_NEW_FRAME), 1);
	f->now += 1500000;
	inject(f, mk(3, 2, 2, 1, RUMOR_WIRE_GOSSIP)); /* younger */
	assert_int_equal(cp_drain(f, false, RUMOR_MSG_NEW_FRAME), 1);
	drain_tx(f);
	f->now += 600000; /* first 2.1 s old, second 0.6 s */
	dp_node_poll(&f->n, f->now);
	n = rte_ring_dequeue_burst(f->n.dp2cp, (void **)msgs, 8, NULL);
	assert_int_equal(n, 1);
	assert_int_equal(msgs[0]->type, RUMOR_MSG_EXPIRE);
	assert_int_equal(msgs[0]->u.release.origin, 2);
	assert_int_equal(msgs[0]->u.release.first_seq, 1);
	uint32_t slot = msgs[0]->u.release.slot;
	rte_mempool_put_bulk(f->n.msg_pool, (void **)msgs, n);
	assert_int_equal(f->n.stats->expire_asked, 1);
	/* not freed by the dataplane: the cp decides */
	assert_int_equal(f->n.store.slots[slot].state, DP_SLOT_HELD);
	assert_int_equal(used_slots(f), 2);
	/* not asked again within the bound */
	f->now += 1000000;
	dp_node_poll(&f->n, f->now);
	assert_int_equal(f->n.stats->expire_asked, 1);
	/* the cp (its payload log has it) releases it */
	r = cp_msg(f, RUMOR_MSG_RELEASE);
	r->u.release.slot = slot;
	r->u.release.origin = 2;
	r->u.release.first_seq = 1;
	send_cp(f, r);
	assert_int_equal(f->n.stats->aged_out, 1);
	assert_int_equal(used_slots(f), 1);
	/* the second is asked at its age, again one bound later when the cp kept it */
	f->now += 1000000;
	dp_node_poll(&f->n, f->now);
	assert_int_equal(cp_drain(f, false, RUMOR_MSG_EXPIRE), 1);
	f->now += 2100000;
	dp_node_poll(&f->n, f->now);
	assert_int_equal(cp_drain(f, false, RUMOR_MSG_EXPIRE), 1);
	assert_int_equal(f->n.stats->expire_asked, 3);
	assert_int_equal(f->n.stats->aged_out, 1);
	fx_stop(f);
}

static struct rumor_msg *originate_msg(struct fixture *f, uint64_t req, unsigned len)
{
	struct rumor_msg *m = cp_msg(f, RUMOR_MSG_ORIGINATE);
	struct rumor_msg_originate *o = &m->u.originate;

	uint8_t ev[RUMOR_MSG_ORIGINATE_DATA];

	o->req_id = req;
	memset(ev, 'a' + (int)(req % 26), len);
	assert_int_equal(rumor_msg_originate_add(m, ev, (uint16_t)len), 0);
	return m;
}

/* Both rings full at once: dp2cp full of someone else's messages while gossip arrives and
 * cp2dp is filled to the brim with ORIGINATEs. A cp model then drains dp2cp and answers every
 * NEW_FRAME with a RELEASE, which waits in the model's own FIFO while cp2dp is full (what
 * rumor-cp's release queue does). Every ORIGINATE gets exactly one answer, every frame is
 * reported once, and once everything is released no slot is used and no budget counter is
 * left above zero. */
static void test_rings_full(void **state)
{
	static struct rumor_msg fill[RUMOR_MSG_RING_SIZE]; /* not pool objects */
	static uint8_t answered[RUMOR_MSG_RING_SIZE + 1];
	static struct rumor_msg_release relq[4096];
	(void)state;
	fx_p.msg_pool_size = 3 * RUMOR_MSG_RING_SIZE;
	struct fixture *f = fx_start(1024, 1024);
	unsigned filled = 0, nreq = 0, acks = 0, ok_events = 0, refused = 0, frames = 0;
	unsigned relh = 0, relt = 0, gossip = 0;

	while (rte_ring_enqueue(f->n.dp2cp, &fill[filled]) == 0)
		fill[filled++].type = RUMOR_MSG_PULL_FAILED;
	assert_true(rte_ring_full(f->n.dp2cp));
	for (uint64_t s = 1; s <= 60; s++, gossip++)
		inject(f, mk((uint16_t)(2 + s % 5), 3, 3, s, RUMOR_WIRE_GOSSIP));
	drain_tx(f);
	while (nreq < RUMOR_MSG_RING_SIZE &&
	       rte_ring_enqueue(f->n.cp2dp, originate_msg(f, nreq + 1, 10)) == 0)
		nreq++;
	assert_true(rte_ring_full(f->n.cp2dp));
	assert_true(nreq >= RUMOR_MSG_RING_SIZE - 1);
	/* the dataplane runs on with both rings full for a while */
	for (int i = 0; i < 50; i++) {
		f->now += 200;
		dp_node_poll(&f->n, f->now);
		drain_tx(f);
	}
	assert_true(f->n.stats->acks_queued > 0);
	assert_true(f->n.stats->ring_full_dp2cp > 0);
	/* the cp model */
	for (int round = 0; round < 20000; round++) {
		struct rumor_msg *msgs[64];
		unsigned n = rte_ring_dequeue_burst(f->n.dp2cp, (void **)msgs, 64, NULL), keep = 0;

		for (unsigned i = 0; i < n; i++) {
			if (msgs[i] >= fill && msgs[i] < fill + RUMOR_MSG_RING_SIZE)
				continue;
			msgs[keep++] = msgs[i];
			if (msgs[i]->type == RUMOR_MSG_ORIGINATE_ACK) {
				const struct rumor_msg_originate_ack *a = &msgs[i]->u.originate_ack;

				assert_true(a->req_id >= 1 && a->req_id <= nreq);
				assert_int_equal(answered[a->req_id]++, 0);
				acks++;
				if (a->status == 0)
					ok_events += a->count;
				else
					refused += a->status == -ENOSPC;
			} else if (msgs[i]->type == RUMOR_MSG_NEW_FRAME) {
				const struct rumor_msg_new_frame *nf = &msgs[i]->u.new_frame;

				frames++;
				assert_true(relt - relh < RTE_DIM(relq));
				relq[relt++ % RTE_DIM(relq)] = (struct rumor_msg_release){
					.slot = nf->slot, .origin = nf->origin,
					.first_seq = nf->first_seq };
			}
		}
		rte_mempool_put_bulk(f->n.msg_pool, (void **)msgs, keep);
		while (relh != relt) {
			struct rumor_msg *r = cp_msg(f, RUMOR_MSG_RELEASE);

			r->u.release = relq[relh % RTE_DIM(relq)];
			if (rte_ring_enqueue(f->n.cp2dp, r) != 0) {
				rte_mempool_put(f->n.msg_pool, r);
				break;
			}
			relh++;
		}
		f->now += 200;
		dp_node_poll(&f->n, f->now);
		drain_tx(f);
		if (acks == nreq && relh == relt && n == 0 && !f->n.of.open &&
		    rte_ring_count(f->n.cp2dp) == 0 && used_slots(f) == 0)
			break;
	}
	print_message("rings full: %u originations, %u answered (%u events ok, %u refused), "
		      "%u frames reported (%u gossip), acks queued %lu\n", nreq, acks, ok_events,
		      refused, frames, gossip, (unsigned long)f->n.stats->acks_queued);
	assert_int_equal(acks, nreq);
	assert_int_equal(ok_events + refused, nreq);
	assert_int_equal(ok_events, f->n.stats->originated_events);
	assert_int_equal(frames, gossip + f->n.stats->originated_frames);
	assert_int_equal(used_slots(f), 0);
	for (unsigned i = 0; i <= RUMOR_NODE_ID_MAX; i++) {
		assert_int_equal(f->n.store.origin_used[i], 0);
		assert_int_equal(f->n.store.src_used[i], 0);
		assert_int_equal(f->n.store.repair_used[i], 0);
	}
	fx_stop(f);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_source_cap, teardown),
		cmocka_unit_test_teardown(test_stranger_cap, teardown),
		cmocka_unit_test_teardown(test_stranger_default, teardown),
		cmocka_unit_test_teardown(test_nonmember_origin, teardown),
		cmocka_unit_test_teardown(test_pull_resp_caps, teardown),
		cmocka_unit_test_teardown(test_pull_rate, teardown),
		cmocka_unit_test_teardown(test_age_out, teardown),
		cmocka_unit_test_teardown(test_rings_full, teardown),
	};

	(void)argc;
	pkt_pool = dp_test_eal(argv[0], "rumor-dp-budget", "0", 1023, 0, 4000);
	if (pkt_pool == NULL)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
