/* In-process tests of the rumor-dp packet path on net_ring ports: crafted frames in,
 * forwarded frames, cp2dp handling and dp2cp reports checked. One EAL per process. */
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

#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ip.h>
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
	struct rte_ring *rx, *tx;  /* rx: test -> node; tx: node -> test */
	uint16_t port;
	uint64_t now;              /* microseconds (tsc_hz = 1e6) */
};

static struct fixture fx_mem;
static bool fx_active;
static const char *fx_state_dir; /* passed to the next fx_start */
static uint64_t fx_seq_block;
static char fx_err[256];

static void load_config(unsigned mtu, unsigned slots)
{
	char text[4096], err[256];
	int off;

	off = snprintf(text, sizeof(text),
		       "[cluster]\nid = %u\n[gossip]\nfanout = 3\nrounds = 4\nmtu = %u\n"
		       "flush_us = 100\n[dataplane]\nstore_slots = %u\nstore_peer_cap = %u\n",
		       CLUSTER, mtu, slots, slots);
	for (unsigned i = 1; i <= NNODES; i++)
		off += snprintf(text + off, sizeof(text) - (size_t)off,
				"[node.%u]\nmac = 02:00:00:00:00:%02x\nip = 10.9.0.%u\n"
				"control = 127.0.0.1:%u\n",
				i, i, i, 7000 + i);
	if (rumor_config_parse(text, "test", &cfg, err, sizeof(err)) != 0)
		fail_msg("config: %s", err);
}

static struct fixture *fx_start(unsigned mtu, unsigned slots)
{
	struct fixture *f = &fx_mem;
	struct dp_node_params p;
	int port;

	memset(f, 0, sizeof(*f));
	load_config(mtu, slots);
	port = dp_test_ring_port("", &f->rx, &f->tx);
	assert_true(port >= 0);
	f->port = (uint16_t)port;
	memset(&p, 0, sizeof(p));
	p.cfg = &cfg;
	p.node_id = SELF;
	p.port_id = f->port;
	p.msg_pool_size = 1024;
	p.rx_mbufs = 511;
	p.tsc_hz = 1000000;
	p.seed = 42;
	p.pull_timeout_us = 1000;
	p.state_dir = fx_state_dir;
	p.seq_block = fx_seq_block;
	p.err = fx_err;
	p.errlen = sizeof(fx_err);
	assert_int_equal(dp_node_init(&f->n, &p), 0);
	fx_active = true;
	f->now = 1000;
	return f;
}

static void drain_tx(struct fixture *f);

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
}

/* Build a gossip frame from @origin sent by @sender to us. */
static struct rte_mbuf *mk_frame(uint16_t origin, uint16_t sender, uint64_t first_seq,
				 unsigned nev, unsigned evlen, uint8_t rounds,
				 const struct rumor_vc *extra, uint8_t type)
{
	uint8_t body[9000], buf[9100], payload[2000];
	struct rumor_wire_body b;
	struct rumor_wire_l2l4 a;
	struct rumor_wire_hdr h;
	struct rumor_vc ts;
	struct rte_mbuf *m;
	int len;

	rumor_vc_init(&ts);
	if (extra != NULL)
		ts = *extra;
	rumor_vc_set(&ts, origin, first_seq + nev - 1);
	assert_int_equal(rumor_wire_body_start(&b, body, sizeof(body), &ts), 0);
	for (unsigned i = 0; i < nev; i++) {
		struct rumor_event_id id;

		memset(payload, (int)(first_seq + i), evlen);
		rumor_event_id_compute(origin, first_seq + i, payload, evlen, &id);
		assert_int_equal(rumor_wire_body_add(&b, &id, payload, evlen), 0);
	}
	memcpy(a.src_mac, rumor_config_node(&cfg, sender)->mac, 6);
	memcpy(a.dst_mac, rumor_config_node(&cfg, SELF)->mac, 6);
	a.src_ip = rumor_config_node(&cfg, sender)->ip;
	a.dst_ip = rumor_config_node(&cfg, SELF)->ip;
	a.src_port = a.dst_port = RUMOR_WIRE_PORT;
	memset(&h, 0, sizeof(h));
	h.type = type;
	h.rounds_left = rounds;
	h.cluster_id = CLUSTER;
	h.origin = origin;
	h.sender = sender;
	h.first_seq = first_seq;
	h.event_count = (uint16_t)(type == RUMOR_WIRE_PULL_REQ ? 1 : nev);
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

static unsigned take_tx(struct fixture *f, struct rte_mbuf **out, unsigned max)
{
	return rte_ring_dequeue_burst(f->tx, (void **)out, max, NULL);
}

static void drain_tx(struct fixture *f)
{
	struct rte_mbuf *m[64];
	unsigned n;

	while ((n = take_tx(f, m, 64)) > 0)
		rte_pktmbuf_free_bulk(m, n);
}

static unsigned take_msgs(struct fixture *f, struct rumor_msg **out, unsigned max)
{
	return rte_ring_dequeue_burst(f->n.dp2cp, (void **)out, max, NULL);
}

static void put_msgs(struct fixture *f, struct rumor_msg **m, unsigned n)
{
	rte_mempool_put_bulk(f->n.msg_pool, (void **)m, n);
}

static void send_cp(struct fixture *f, struct rumor_msg *m)
{
	assert_int_equal(rte_ring_enqueue(f->n.cp2dp, m), 0);
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

static struct rumor_msg *originate_msg(struct fixture *f, uint64_t req, unsigned n,
				       unsigned len)
{
	struct rumor_msg *m = cp_msg(f, RUMOR_MSG_ORIGINATE);
	struct rumor_msg_originate *o = &m->u.originate;

	uint8_t ev[RUMOR_MSG_ORIGINATE_DATA];

	o->req_id = req;
	for (unsigned i = 0; i < n; i++) {
		memset(ev, 'a' + (int)i, len);
		assert_int_equal(rumor_msg_originate_add(m, ev, (uint16_t)len), 0);
	}
	return m;
}

/* Linearize and decode a transmitted packet. */
static void decode_tx(struct rte_mbuf *m, struct rumor_wire_frame *fr)
{
	static uint8_t buf[10000];
	const void *p = rte_pktmbuf_read(m, 0, m->pkt_len, buf);

	assert_non_null(p);
	assert_int_equal(rumor_wire_decode(p, m->pkt_len, CLUSTER, RUMOR_WIRE_PORT,
					   RUMOR_WIRE_DEC_VERIFY_IDS, fr), 0);
}

static uint16_t mac_node(const uint8_t *mac)
{
	return mac[5];
}

static struct rumor_wire_frame fr;

static int teardown(void **state)
{
	(void)state;
	fx_stop(&fx_mem);
	return 0;
}

static void test_forward(void **state)
{
	struct fixture *f = fx_start(1500, 64);
	struct rte_mbuf *out[16];
	struct rumor_msg *msgs[8];
	uint16_t seen[NNODES + 1] = {0};
	struct rumor_vc extra;
	unsigned n;

	(void)state;
	rumor_vc_init(&extra);
	rumor_vc_set(&extra, 5, 9);
	inject(f, mk_frame(2, 3, 1, 2, 40, 2, &extra, RUMOR_WIRE_GOSSIP));
	n = take_tx(f, out, 16);
	assert_int_equal(n, 3);
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *body = out[i]->next;
		uint16_t dst;

		assert_int_equal(out[i]->nb_segs, 2);
		assert_non_null(body);
		assert_true(RTE_MBUF_HAS_EXTBUF(body));
		/* zero copy: the body points into the store slot */
		assert_ptr_equal(rte_pktmbuf_mtod(body, uint8_t *),
				 dp_store_data(&f->n.store, 0) + RUMOR_WIRE_HDR_LEN);
		decode_tx(out[i], &fr);
		assert_int_equal(fr.hdr.rounds_left, 1);
		assert_int_equal(fr.hdr.sender, SELF);
		assert_int_equal(fr.hdr.origin, 2);
		assert_int_equal(fr.hdr.first_seq, 1);
		assert_int_equal(fr.hdr.event_count, 2);
		assert_int_equal(rumor_vc_get(&fr.clock, 5), 9);
		assert_int_equal(mac_node(fr.l2l4.src_mac), SELF);
		dst = mac_node(fr.l2l4.dst_mac);
		assert_true(dst >= 1 && dst <= NNODES && dst != SELF && dst != 3);
		assert_int_equal(fr.l2l4.dst_ip, rumor_config_node(&cfg, dst)->ip);
		assert_int_equal(seen[dst]++, 0);
	}
	assert_int_equal(rte_mbuf_ext_refcnt_read(&f->n.store.slots[0].shinfo), 4);
	rte_pktmbuf_free_bulk(out, n);
	assert_int_equal(rte_mbuf_ext_refcnt_read(&f->n.store.slots[0].shinfo), 1);

	n = take_msgs(f, msgs, 8);
	assert_int_equal(n, 1);
	assert_int_equal(msgs[0]->type, RUMOR_MSG_NEW_FRAME);
	assert_int_equal(msgs[0]->u.new_frame.origin, 2);
	assert_int_equal(msgs[0]->u.new_frame.from, 3);
	assert_int_equal(msgs[0]->u.new_frame.count, 2);
	assert_int_equal(msgs[0]->u.new_frame.first_seq, 1);
	assert_int_equal(msgs[0]->u.new_frame.flags, 0);
	assert_ptr_equal(msgs[0]->u.new_frame.frame, dp_store_data(&f->n.store, 0));
	assert_int_equal(rumor_vc_get(&msgs[0]->u.new_frame.holder_clock, 2), 2);
	assert_int_equal(rumor_vc_get(&msgs[0]->u.new_frame.holder_clock, 5), 9);
	assert_int_equal(rumor_wire_decode_rumor(msgs[0]->u.new_frame.frame,
						 msgs[0]->u.new_frame.frame_len, CLUSTER,
						 RUMOR_WIRE_DEC_VERIFY_IDS, &fr), 0);
	put_msgs(f, msgs, n);

	/* the same frame again, from another sender: dropped as a duplicate */
	inject(f, mk_frame(2, 4, 1, 2, 40, 2, &extra, RUMOR_WIRE_GOSSIP));
	assert_int_equal(take_tx(f, out, 16), 0);
	assert_int_equal(take_msgs(f, msgs, 8), 0);
	assert_int_equal(f->n.stats->rx_frames_dup, 1);
	assert_int_equal(f->n.stats->rx_frames_new, 1);

	/* rounds 0: stored and reported, not forwarded */
	inject(f, mk_frame(3, 2, 1, 1, 10, 0, NULL, RUMOR_WIRE_GOSSIP));
	assert_int_equal(take_tx(f, out, 16), 0);
	n = take_msgs(f, msgs, 8);
	assert_int_equal(n, 1);
	put_msgs(f, msgs, n);
	assert_int_equal(f->n.stats->fanout_frames, 3);
	fx_stop(f);
}

/* A small body is copied into each copy's single segment: same bytes on the wire, no
 * reference to the slot, which a RELEASE frees at once while the copies are still queued. */
static void test_forward_small_copied(void **state)
{
	struct fixture *f = fx_start(1500, 64);
	struct rte_mbuf *out[16];
	struct rumor_msg *msgs[8], *r;
	unsigned n;

	(void)state;
	inject(f, mk_frame(2, 3, 1, 1, 22, 2, NULL, RUMOR_WIRE_GOSSIP));
	n = take_tx(f, out, 16);
	assert_int_equal(n, 3);
	for (unsigned i = 0; i < n; i++) {
		const struct dp_slot *sl = &f->n.store.slots[0];
		uint32_t blen = sl->len - RUMOR_WIRE_HDR_LEN;

		assert_true(blen <= DP_COPY_BODY_MAX);
		assert_int_equal(out[i]->nb_segs, 1);
		assert_null(out[i]->next);
		assert_int_equal(out[i]->data_len, RUMOR_WIRE_PREFIX_LEN + blen);
		assert_memory_equal(rte_pktmbuf_mtod_offset(out[i], uint8_t *,
							    RUMOR_WIRE_PREFIX_LEN),
				    dp_store_data(&f->n.store, 0) + RUMOR_WIRE_HDR_LEN, blen);
		decode_tx(out[i], &fr);
		assert_int_equal(fr.hdr.origin, 2);
		assert_int_equal(fr.hdr.sender, SELF);
		assert_int_equal(fr.hdr.event_count, 1);
	}
	assert_int_equal(rte_mbuf_ext_refcnt_read(&f->n.store.slots[0].shinfo), 1);
	n = take_msgs(f, msgs, 8);
	assert_int_equal(n, 1);
	r = cp_msg(f, RUMOR_MSG_RELEASE);
	r->u.release.slot = msgs[0]->u.new_frame.slot;
	r->u.release.origin = 2;
	r->u.release.first_seq = 1;
	r->u.release.ordered_through = 1;
	put_msgs(f, msgs, n);
	send_cp(f, r);
	assert_int_equal(f->n.stats->store_used, 0); /* the queued copies own their bytes */
	rte_pktmbuf_free_bulk(out, 3);
	fx_stop(f);
}

static void test_view_fanout(void **state)
{
	struct fixture *f = fx_start(1500, 64);
	struct rumor_msg *v = cp_msg(f, RUMOR_MSG_VIEW);
	struct rte_mbuf *out[16];
	unsigned n;

	(void)state;
	v->u.view.n = 3;
	v->u.view.node[0] = 2;
	v->u.view.node[1] = 4;
	v->u.view.node[2] = SELF;
	send_cp(f, v);
	assert_int_equal(f->n.nview, 2);
	/* sender 4 is in the view: only node 2 is left */
	inject(f, mk_frame(6, 4, 1, 1, 10, 3, NULL, RUMOR_WIRE_GOSSIP));
	n = take_tx(f, out, 16);
	assert_int_equal(n, 1);
	decode_tx(out[0], &fr);
	assert_int_equal(mac_node(fr.l2l4.dst_mac), 2);
	assert_int_equal(fr.hdr.rounds_left, 2);
	rte_pktmbuf_free_bulk(out, n);
	fx_stop(f);
}

static void corrupt_and_check(struct fixture *f, struct rte_mbuf *m, size_t off, uint8_t val,
			      int err)
{
	int idx = rumor_wire_err_index(err);
	uint64_t before;
	struct rte_mbuf *out[4];

	assert_true(idx >= 0);
	before = f->n.stats->drops[idx];
	if (off < m->data_len)
		rte_pktmbuf_mtod(m, uint8_t *)[off] = val;
	inject(f, m);
	if (f->n.stats->drops[idx] != before + 1) {
		for (unsigned i = 0; i < RUMOR_DP_DROP_REASONS; i++)
			if (f->n.stats->drops[i])
				print_message("drops[%u] %s = %lu\n", i, dp_drop_name(i),
					      (unsigned long)f->n.stats->drops[i]);
		fail_msg("expected a drop for %s", rumor_wire_strerror(err));
	}
	assert_int_equal(take_tx(f, out, 4), 0);
}

static void test_malformed(void **state)
{
	struct fixture *f = fx_start(1500, 64);
	const size_t r = RUMOR_WIRE_L2L4_LEN;
	struct rte_mbuf *m;
	struct rumor_msg *msgs[4];

	(void)state;
	/* bad magic */
	corrupt_and_check(f, mk_frame(2, 3, 1, 1, 20, 2, NULL, 1), r, 0, RUMOR_WIRE_EMAGIC);
	/* other cluster (cluster id at rumor offset 8) */
	corrupt_and_check(f, mk_frame(2, 3, 1, 1, 20, 2, NULL, 1), r + 8, 0x99,
			  RUMOR_WIRE_ECLUSTER);
	/* IP checksum */
	corrupt_and_check(f, mk_frame(2, 3, 1, 1, 20, 2, NULL, 1), 24, 0x55,
			  RUMOR_WIRE_EIPCSUM);
	/* not IPv4 */
	corrupt_and_check(f, mk_frame(2, 3, 1, 1, 20, 2, NULL, 1), 12, 0x86, RUMOR_WIRE_ENOTIP);
	/* payload byte changed: the event id no longer matches */
	m = mk_frame(2, 3, 1, 1, 20, 2, NULL, 1);
	corrupt_and_check(f, m, m->data_len - 1, 0xee, RUMOR_WIRE_EID);
	/* cut short: the IP total length no longer matches */
	m = mk_frame(2, 3, 1, 1, 20, 2, NULL, 1);
	rte_pktmbuf_trim(m, 30);
	corrupt_and_check(f, m, 10000, 0, RUMOR_WIRE_EIPHDR);
	/* shorter than the headers */
	m = mk_frame(2, 3, 1, 1, 20, 2, NULL, 1);
	rte_pktmbuf_trim(m, (uint16_t)(m->data_len - 30));
	corrupt_and_check(f, m, 10000, 0, RUMOR_WIRE_ETRUNC);
	/* another node's IP */
	m = mk_frame(2, 3, 1, 1, 20, 2, NULL, 1);
	rte_pktmbuf_mtod(m, uint8_t *)[33] = 99;
	rte_pktmbuf_mtod(m, uint8_t *)[24] = 0;
	rte_pktmbuf_mtod(m, uint8_t *)[25] = 0;
	{
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);

		ip->hdr_checksum = rte_ipv4_cksum(ip);
	}
	inject(f, m);
	assert_int_equal(f->n.stats->drops[DP_DROP_NOT_MINE], 1);
	assert_int_equal(f->n.stats->rx_frames_new, 0);
	assert_int_equal(take_msgs(f, msgs, 4), 0);
	/* the valid frame is still accepted afterwards (bad copies were not remembered) */
	inject(f, mk_frame(2, 3, 1, 1, 20, 2, NULL, 1));
	assert_int_equal(f->n.stats->rx_frames_new, 1);
	fx_stop(f);
}

static void test_originate_mtu_cut(void **state)
{
	struct fixture *f = fx_start(576, 64);
	struct rumor_msg *msgs[16];
	struct rte_mbuf *out[32];
	unsigned n, frames = 0;
	uint64_t exp_first[] = {1, 5, 9};
	uint16_t exp_count[] = {4, 4, 2};

	(void)state;
	/* body max 520: clock 10 B + 4 x 118 B events per frame -> 4, 4, 2 */
	send_cp(f, originate_msg(f, 7, 10, 100));
	n = take_msgs(f, msgs, 16);
	for (unsigned i = 0; i < n; i++) {
		if (msgs[i]->type == RUMOR_MSG_ORIGINATE_ACK) {
			assert_int_equal(msgs[i]->u.originate_ack.req_id, 7);
			assert_int_equal(msgs[i]->u.originate_ack.status, 0);
			assert_int_equal(msgs[i]->u.originate_ack.first_seq, 1);
			assert_int_equal(msgs[i]->u.originate_ack.count, 10);
		} else {
			assert_int_equal(msgs[i]->type, RUMOR_MSG_NEW_FRAME);
			assert_int_equal(msgs[i]->u.new_frame.first_seq, exp_first[frames]);
			assert_int_equal(msgs[i]->u.new_frame.count, exp_count[frames]);
			frames++;
		}
	}
	put_msgs(f, msgs, n);
	assert_int_equal(frames, 2); /* the last frame waits for its time bound */
	assert_int_equal(take_tx(f, out, 32), 6);
	drain_tx(f);
	f->now += 50;
	dp_node_poll(&f->n, f->now);
	assert_int_equal(take_msgs(f, msgs, 16), 0);
	f->now += 60;
	dp_node_poll(&f->n, f->now);
	n = take_msgs(f, msgs, 16);
	assert_int_equal(n, 1);
	assert_int_equal(msgs[0]->u.new_frame.first_seq, 9);
	assert_int_equal(msgs[0]->u.new_frame.count, 2);
	put_msgs(f, msgs, n);
	n = take_tx(f, out, 32);
	assert_int_equal(n, 3);
	for (unsigned i = 0; i < n; i++) {
		decode_tx(out[i], &fr);
		assert_int_equal(fr.hdr.origin, SELF);
		assert_int_equal(fr.hdr.rounds_left, 4);
		assert_int_equal(fr.hdr.first_seq, 9);
		assert_int_equal(rumor_vc_get(&fr.clock, SELF), 10);
		assert_true(fr.l2l4.dst_ip != rumor_config_node(&cfg, SELF)->ip);
	}
	rte_pktmbuf_free_bulk(out, n);
	assert_int_equal(f->n.stats->originated_events, 10);
	assert_int_equal(f->n.stats->originated_frames, 3);
	/* an event that can never fit */
	send_cp(f, originate_msg(f, 8, 1, 600));
	n = take_msgs(f, msgs, 16);
	assert_int_equal(n, 1);
	assert_int_equal(msgs[0]->u.originate_ack.status, -EMSGSIZE);
	put_msgs(f, msgs, n);
	fx_stop(f);
}

static void test_clock_cut(void **state)
{
	struct fixture *f = fx_start(1500, 64);
	struct rumor_msg *msgs[16];
	const struct rumor_msg_new_frame *nf[4];
	unsigned n, k = 0;
	struct rumor_vc ts;

	(void)state;
	send_cp(f, originate_msg(f, 1, 2, 10));
	/* a frame whose timestamp raises our clock closes the open frame first */
	rumor_vc_init(&ts);
	rumor_vc_set(&ts, 4, 3);
	inject(f, mk_frame(2, 3, 1, 1, 10, 0, &ts, RUMOR_WIRE_GOSSIP));
	send_cp(f, originate_msg(f, 2, 1, 10));
	f->now += 1000;
	dp_node_poll(&f->n, f->now);
	n = take_msgs(f, msgs, 16);
	for (unsigned i = 0; i < n; i++)
		if (msgs[i]->type == RUMOR_MSG_NEW_FRAME && msgs[i]->u.new_frame.origin == SELF)
			nf[k++] = &msgs[i]->u.new_frame;
	assert_int_equal(k, 2);
	assert_int_equal(nf[0]->first_seq, 1);
	assert_int_equal(nf[0]->count, 2);
	assert_int_equal(rumor_wire_decode_rumor(nf[0]->frame, nf[0]->frame_len, CLUSTER,
						 RUMOR_WIRE_DEC_VERIFY_IDS, &fr), 0);
	assert_int_equal(rumor_vc_get(&fr.clock, 4), 0);
	assert_int_equal(rumor_vc_get(&fr.clock, SELF), 2);
	assert_int_equal(nf[1]->first_seq, 3);
	assert_int_equal(nf[1]->count, 1);
	assert_int_equal(rumor_wire_decode_rumor(nf[1]->frame, nf[1]->frame_len, CLUSTER,
						 RUMOR_WIRE_DEC_VERIFY_IDS, &fr), 0);
	assert_int_equal(rumor_vc_get(&fr.clock, 4), 3);
	assert_int_equal(rumor_vc_get(&fr.clock, 2), 1);
	assert_int_equal(rumor_vc_get(&fr.clock, SELF), 3);
	put_msgs(f, msgs, n);
	fx_stop(f);
}

static void test_release_late_dup(void **state)
{
	struct fixture *f = fx_start(1500, 64);
	struct rumor_msg *msgs[8], *r;
	struct rte_mbuf *out[8];
	uint32_t slot;
	unsigned n;

	(void)state;
	/* a body the copies attach from the slot (above DP_COPY_BODY_MAX) */
	inject(f, mk_frame(2, 3, 1, 1, DP_COPY_BODY_MAX, 1, NULL, RUMOR_WIRE_GOSSIP));
	n = take_msgs(f, msgs, 8);
	assert_int_equal(n, 1);
	slot = msgs[0]->u.new_frame.slot;
	put_msgs(f, msgs, n);
	assert_int_equal(f->n.stats->store_used, 1);
	r = cp_msg(f, RUMOR_MSG_RELEASE);
	r->u.release.slot = slot;
	r->u.release.origin = 2;
	r->u.release.first_seq = 1;
	r->u.release.ordered_through = 1;
	send_cp(f, r);
	/* TX still references the body: not free yet */
	assert_int_equal(f->n.stats->store_used, 1);
	n = take_tx(f, out, 8);
	assert_int_equal(n, 3);
	rte_pktmbuf_free_bulk(out, n);
	dp_node_poll(&f->n, f->now);
	assert_int_equal(f->n.stats->store_used, 0);
	/* a late copy, after the table forgot nothing but the watermark says ordered */
	inject(f, mk_frame(2, 5, 1, 1, 10, 1, NULL, RUMOR_WIRE_GOSSIP));
	assert_int_equal(f->n.stats->rx_frames_late, 1);
	assert_int_equal(f->n.stats->rx_frames_new, 1);
	assert_int_equal(take_msgs(f, msgs, 8), 0);
	assert_int_equal(take_tx(f, out, 8), 0);
	fx_stop(f);
}

/* Frames whose timestamps break the rule (rumor_tsrule) are dropped per reason before the
 * store, the dedupe table or the clock see them; MEMBERS replaces the config's node list. */
static void ts_drop(struct fixture *f, struct rte_mbuf *m, int reason)
{
	uint64_t before = f->n.stats->ts_drops[reason - 1];
	struct rumor_msg *msgs[4];
	struct rte_mbuf *out[8];

	inject(f, m);
	assert_int_equal(f->n.stats->ts_drops[reason - 1], before + 1);
	assert_int_equal(take_msgs(f, msgs, 4), 0);
	assert_int_equal(take_tx(f, out, 8), 0);
	assert_int_equal(f->n.stats->store_used, 0);
}

static void test_timestamp_rule(void **state)
{
	struct fixture *f = fx_start(1500, 64);
	struct rumor_msg *msgs[8], *mm;
	struct rumor_vc x;
	unsigned n;

	(void)state;
	rumor_vc_init(&x);
	rumor_vc_set(&x, 500, 1);
	ts_drop(f, mk_frame(2, 3, 1, 1, 10, 1, &x, RUMOR_WIRE_GOSSIP), RUMOR_TS_NONMEMBER);
	rumor_vc_init(&x);
	rumor_vc_set(&x, SELF, 1ull << 40);
	ts_drop(f, mk_frame(2, 3, 1, 1, 10, 1, &x, RUMOR_WIRE_GOSSIP), RUMOR_TS_OWN);
	rumor_vc_init(&x);
	for (uint16_t k = 100; k < 170; k++)
		rumor_vc_set(&x, k, 1);
	ts_drop(f, mk_frame(2, 3, 1, 1, 10, 1, &x, RUMOR_WIRE_GOSSIP), RUMOR_TS_ENTRIES);
	rumor_vc_init(&x);
	rumor_vc_set(&x, 3, UINT64_MAX);
	ts_drop(f, mk_frame(2, 3, 1, 1, 10, 1, &x, RUMOR_WIRE_GOSSIP), RUMOR_TS_WINDOW);
	ts_drop(f, mk_frame(2, 3, 2000000, 1, 10, 1, NULL, RUMOR_WIRE_PULL_RESP),
		RUMOR_TS_SEQ_WINDOW);
	/* nothing of it reached the clock */
	assert_int_equal(rumor_vc_get(dp_node_clock(&f->n), 500), 0);
	assert_int_equal(rumor_vc_get(dp_node_clock(&f->n), SELF), 0);
	assert_int_equal(rumor_vc_get(dp_node_clock(&f->n), 3), 0);
	assert_int_equal(f->n.stats->members_from_cp, 0);
	assert_int_equal(f->n.stats->members_n, NNODES);
	/* the configuration now: nodes 1, 2, 4; node 3 was ordered through 5 */
	mm = cp_msg(f, RUMOR_MSG_MEMBERS);
	mm->u.members.n = 3;
	mm->u.members.node[0] = 1;
	mm->u.members.node[1] = 2;
	mm->u.members.node[2] = 4;
	mm->u.members.nreached = 2;
	mm->u.members.reached_node[0] = 3;
	mm->u.members.reached_seq[0] = 5;
	mm->u.members.reached_node[1] = 2;
	mm->u.members.reached_seq[1] = 3000000;
	send_cp(f, mm);
	assert_int_equal(f->n.stats->members_from_cp, 1);
	assert_int_equal(f->n.stats->members_n, 3);
	ts_drop(f, mk_frame(3, 3, 6, 1, 10, 1, NULL, RUMOR_WIRE_GOSSIP), RUMOR_TS_NONMEMBER);
	/* a former member's ordered seqs stay valid; the window moved with node 2's order */
	rumor_vc_init(&x);
	rumor_vc_set(&x, 3, 5);
	inject(f, mk_frame(2, 4, 3500000, 1, 10, 1, &x, RUMOR_WIRE_GOSSIP));
	n = take_msgs(f, msgs, 8);
	assert_int_equal(n, 1);
	assert_int_equal(msgs[0]->u.new_frame.origin, 2);
	put_msgs(f, msgs, n);
	assert_int_equal(rumor_vc_get(dp_node_clock(&f->n), 2), 3500000);
	drain_tx(f);
	fx_stop(f);
}

static void test_store_full(void **state)
{
	struct fixture *f = fx_start(1500, 4);
	struct rumor_msg *msgs[16], *r;
	uint32_t slot = 0;
	unsigned n;

	(void)state;
	for (uint16_t o = 2; o <= 5; o++)
		inject(f, mk_frame(o, 6, 1, 1, 10, 0, NULL, RUMOR_WIRE_GOSSIP));
	n = take_msgs(f, msgs, 16);
	assert_int_equal(n, 4);
	slot = msgs[0]->u.new_frame.slot;
	put_msgs(f, msgs, n);
	/* gossip beyond the store is counted, not held */
	inject(f, mk_frame(6, 2, 1, 1, 10, 0, NULL, RUMOR_WIRE_GOSSIP));
	assert_int_equal(f->n.stats->drops[DP_DROP_STORE], 1);
	send_cp(f, originate_msg(f, 9, 1, 10));
	n = take_msgs(f, msgs, 16);
	assert_int_equal(n, 1);
	assert_int_equal(msgs[0]->type, RUMOR_MSG_ORIGINATE_ACK);
	assert_int_equal(msgs[0]->u.originate_ack.status, -ENOSPC);
	put_msgs(f, msgs, n);
	assert_int_equal(f->n.stats->originate_refused, 1);
	assert_int_equal(f->n.stats->originated_events, 0);
	assert_int_equal(rumor_vc_get(dp_node_clock(&f->n), SELF), 0);
	/* release one: origination works again */
	r = cp_msg(f, RUMOR_MSG_RELEASE);
	r->u.release.slot = slot;
	r->u.release.origin = 2;
	r->u.release.first_seq = 1;
	send_cp(f, r);
	send_cp(f, originate_msg(f, 10, 1, 10));
	n = take_msgs(f, msgs, 16);
	assert_int_equal(n, 1);
	assert_int_equal(msgs[0]->u.originate_ack.status, 0);
	assert_int_equal(msgs[0]->u.originate_ack.first_seq, 1);
	put_msgs(f, msgs, n);
	fx_stop(f);
}

static void test_pull(void **state)
{
	struct fixture *f = fx_start(1500, 64);
	struct rumor_msg *msgs[16], *p;
	struct rte_mbuf *out[8];
	unsigned n, fails = 0;

	(void)state;
	/* serve: a held frame asked for by node 4 goes back with rounds 0 as PULL_RESP */
	inject(f, mk_frame(2, 3, 5, 1, 10, 0, NULL, RUMOR_WIRE_GOSSIP));
	inject(f, mk_frame(2, 4, 5, 1, 10, 0, NULL, RUMOR_WIRE_PULL_REQ));
	n = take_tx(f, out, 8);
	assert_int_equal(n, 1);
	decode_tx(out[0], &fr);
	assert_int_equal(fr.hdr.type, RUMOR_WIRE_PULL_RESP);
	assert_int_equal(fr.hdr.rounds_left, 0);
	assert_int_equal(mac_node(fr.l2l4.dst_mac), 4);
	rte_pktmbuf_free_bulk(out, n);
	assert_int_equal(f->n.stats->pull_served, 1);

	/* ask: hint first, then other peers, then give up */
	p = cp_msg(f, RUMOR_MSG_PULL);
	p->u.pull.origin = 3;
	p->u.pull.first_seq = 7;
	p->u.pull.count = 1;
	p->u.pull.hint = 5;
	send_cp(f, p);
	n = take_tx(f, out, 8);
	assert_int_equal(n, 1);
	decode_tx(out[0], &fr);
	assert_int_equal(fr.hdr.type, RUMOR_WIRE_PULL_REQ);
	assert_int_equal(mac_node(fr.l2l4.dst_mac), 5);
	rte_pktmbuf_free_bulk(out, n);
	for (int i = 0; i < DP_PULL_TRIES; i++) {
		f->now += 1500;
		dp_node_poll(&f->n, f->now);
	}
	assert_int_equal(f->n.stats->pull_sent, DP_PULL_TRIES);
	drain_tx(f);
	n = take_msgs(f, msgs, 16);
	for (unsigned i = 0; i < n; i++)
		if (msgs[i]->type == RUMOR_MSG_PULL_FAILED) {
			assert_int_equal(msgs[i]->u.pull_failed.origin, 3);
			assert_int_equal(msgs[i]->u.pull_failed.first_seq, 7);
			fails++;
		}
	put_msgs(f, msgs, n);
	assert_int_equal(fails, 1);

	/* a pulled frame arrives: reported with the PULLED flag, not forwarded */
	p = cp_msg(f, RUMOR_MSG_PULL);
	p->u.pull.origin = 3;
	p->u.pull.first_seq = 8;
	p->u.pull.count = 1;
	send_cp(f, p);
	drain_tx(f);
	inject(f, mk_frame(3, 2, 8, 1, 10, 0, NULL, RUMOR_WIRE_PULL_RESP));
	assert_int_equal(take_tx(f, out, 8), 0);
	n = take_msgs(f, msgs, 16);
	assert_int_equal(n, 1);
	assert_int_equal(msgs[0]->u.new_frame.flags, RUMOR_NEW_FRAME_PULLED);
	put_msgs(f, msgs, n);
	f->now += 5000;
	dp_node_poll(&f->n, f->now);
	assert_int_equal(f->n.stats->pull_failed, 1);
	fx_stop(f);
}

static void test_resync_and_ring_full(void **state)
{
	struct fixture *f = fx_start(1500, 64);
	struct rumor_msg *msgs[64];
	void *hold[2048];
	unsigned n, held = 0;

	(void)state;
	/* exhaust the message pool: reports stay pending, none lost */
	while (held < 2048 && rte_mempool_get(f->n.msg_pool, &hold[held]) == 0)
		held++;
	inject(f, mk_frame(2, 3, 1, 1, 10, 0, NULL, RUMOR_WIRE_GOSSIP));
	inject(f, mk_frame(3, 2, 1, 1, 10, 0, NULL, RUMOR_WIRE_GOSSIP));
	assert_int_equal(take_msgs(f, msgs, 64), 0);
	assert_true(f->n.stats->ring_full_dp2cp >= 1);
	rte_mempool_put_bulk(f->n.msg_pool, hold, held);
	dp_node_poll(&f->n, f->now);
	n = take_msgs(f, msgs, 64);
	assert_int_equal(n, 2);
	assert_int_equal(msgs[0]->u.new_frame.origin, 2);
	assert_int_equal(msgs[1]->u.new_frame.origin, 3);
	put_msgs(f, msgs, n);
	send_cp(f, cp_msg(f, RUMOR_MSG_RESYNC));
	n = take_msgs(f, msgs, 64);
	assert_int_equal(n, 2);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(msgs[i]->u.new_frame.flags, RUMOR_NEW_FRAME_RESYNC);
	put_msgs(f, msgs, n);
	fx_stop(f);
}

/* A full dp2cp ring: every ORIGINATE is still answered, in order, once the ring drains (the
 * ack was dropped after 64 tries before; its client then retried and made the events twice). */
static void test_originate_ack_ring_full(void **state)
{
	static struct rumor_msg fill[RUMOR_MSG_RING_SIZE]; /* not pool objects */
	struct fixture *f = fx_start(1500, 256);
	struct rumor_msg *msgs[64];
	unsigned filled = 0, acks = 0, n;
	uint64_t next_seq = 0;

	(void)state;
	while (filled < RUMOR_MSG_RING_SIZE && rte_ring_enqueue(f->n.dp2cp, &fill[filled]) == 0)
		fill[filled++].type = RUMOR_MSG_PULL_FAILED;
	for (uint64_t r = 1; r <= 20; r++) {
		send_cp(f, originate_msg(f, r, 1, 10));
		f->now += 1000;
		dp_node_poll(&f->n, f->now);
	}
	assert_true(rte_ring_full(f->n.dp2cp));
	assert_int_equal(f->n.stats->acks_queued, 20);
	/* the cp drains the ring: every request gets its answer, in order */
	for (int round = 0; round < 200 && acks < 20; round++) {
		while ((n = take_msgs(f, msgs, 64)) > 0) {
			unsigned keep = 0;
			for (unsigned i = 0; i < n; i++) {
				if (msgs[i] >= fill && msgs[i] < fill + RUMOR_MSG_RING_SIZE)
					continue; /* a filler: not the pool's */
				msgs[keep++] = msgs[i];
				if (msgs[i]->type != RUMOR_MSG_ORIGINATE_ACK)
					continue;
				const struct rumor_msg_originate_ack *a = &msgs[i]->u.originate_ack;
				assert_int_equal(a->req_id, acks + 1);
				assert_int_equal(a->status, 0);
				if (next_seq)
					assert_int_equal(a->first_seq, next_seq);
				next_seq = a->first_seq + a->count;
				acks++;
			}
			put_msgs(f, msgs, keep);
		}
		f->now += 1000;
		dp_node_poll(&f->n, f->now);
		drain_tx(f);
	}
	assert_int_equal(acks, 20);
	fx_stop(f);
}

static void test_arp(void **state)
{
	struct fixture *f = fx_start(1500, 64);
	struct rte_mbuf *m = rte_pktmbuf_alloc(pkt_pool), *out[4];
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, 42);
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)p;
	struct rte_arp_hdr *ah = (struct rte_arp_hdr *)(eh + 1);

	(void)state;
	if (p == NULL)
		abort();
	memset(p, 0, 42);
	memset(&eh->dst_addr, 0xff, 6);
	memcpy(&eh->src_addr, rumor_config_node(&cfg, 2)->mac, 6);
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	ah->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	ah->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ah->arp_hlen = 6;
	ah->arp_plen = 4;
	ah->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	memcpy(&ah->arp_data.arp_sha, rumor_config_node(&cfg, 2)->mac, 6);
	ah->arp_data.arp_sip = rte_cpu_to_be_32(rumor_config_node(&cfg, 2)->ip);
	ah->arp_data.arp_tip = rte_cpu_to_be_32(rumor_config_node(&cfg, SELF)->ip);
	inject(f, m);
	assert_int_equal(take_tx(f, out, 4), 1);
	ah = rte_pktmbuf_mtod_offset(out[0], struct rte_arp_hdr *, 14);
	assert_int_equal(rte_be_to_cpu_16(ah->arp_opcode), RTE_ARP_OP_REPLY);
	assert_memory_equal(&ah->arp_data.arp_sha, rumor_config_node(&cfg, SELF)->mac, 6);
	assert_int_equal(rte_be_to_cpu_32(ah->arp_data.arp_tip), rumor_config_node(&cfg, 2)->ip);
	rte_pktmbuf_free(out[0]);
	assert_int_equal(f->n.stats->arp_tx, 1);
	fx_stop(f);
}

/* Originate @nev events in one message and return the acked first seq (every frame flushed
 * by the time bound and its TX drained). */
static uint64_t originate_seqs(struct fixture *f, unsigned nev)
{
	struct rumor_msg *msgs[16];
	uint64_t first = 0;
	unsigned n;

	send_cp(f, originate_msg(f, 1, nev, 10));
	f->now += 1000;
	dp_node_poll(&f->n, f->now);
	n = take_msgs(f, msgs, 16);
	for (unsigned i = 0; i < n; i++)
		if (msgs[i]->type == RUMOR_MSG_ORIGINATE_ACK) {
			assert_int_equal(msgs[i]->u.originate_ack.status, 0);
			first = msgs[i]->u.originate_ack.first_seq;
		}
	put_msgs(f, msgs, n);
	drain_tx(f);
	assert_true(first != 0);
	return first;
}

static void test_state_dir_restart(void **state)
{
	char dir[64], file[128];
	struct fixture *f;
	uint64_t a, b, c;
	FILE *fp;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/dp_path_state.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/%s", dir, DP_SEQSTATE_FILE);
	fx_state_dir = dir;
	fx_seq_block = 8;
	/* first life: 1..5, then 6..15 crosses the reservation (8) once: persisted 16 */
	f = fx_start(1500, 64);
	a = originate_seqs(f, 5);
	assert_int_equal(a, 1);
	assert_int_equal(f->n.seq.persists, 1);
	b = originate_seqs(f, 10);
	assert_int_equal(b, 6);
	assert_int_equal(f->n.seq.reserved, 16);
	assert_int_equal(f->n.seq.persists, 2);
	fx_stop(f);
	/* second life (same state dir): continues above everything reserved before */
	f = fx_start(1500, 64);
	c = originate_seqs(f, 3);
	assert_true(c > b + 9);
	assert_int_equal(c, 17);
	assert_int_equal(rumor_vc_get(dp_node_clock(&f->n), SELF), 19);
	/* clean stop: the next life continues right after the last stamped seq */
	assert_int_equal(dp_node_seq_checkpoint(&f->n), 0);
	fx_stop(f);
	f = fx_start(1500, 64);
	assert_int_equal(originate_seqs(f, 2), 20);
	fx_stop(f);
	/* a corrupt state file refuses to start */
	fp = fopen(file, "r+b");
	assert_non_null(fp);
	fseek(fp, 16, SEEK_SET);
	fputc(0x5a, fp);
	fclose(fp);
	{
		struct dp_node_params p;
		static struct dp_node n2;

		memset(&p, 0, sizeof(p));
		p.cfg = &cfg;
		p.node_id = SELF;
		p.no_port_setup = true;
		p.msg_pool_size = 64;
		p.tsc_hz = 1000000;
		p.state_dir = dir;
		p.err = fx_err;
		p.errlen = sizeof(fx_err);
		fx_err[0] = '\0';
		assert_int_equal(dp_node_init(&n2, &p), -EBADMSG);
		assert_non_null(strstr(fx_err, "corrupt"));
	}
	fx_state_dir = NULL;
	fx_seq_block = 0;
	unlink(file);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_forward, teardown),
		cmocka_unit_test_teardown(test_forward_small_copied, teardown),
		cmocka_unit_test_teardown(test_view_fanout, teardown),
		cmocka_unit_test_teardown(test_malformed, teardown),
		cmocka_unit_test_teardown(test_originate_mtu_cut, teardown),
		cmocka_unit_test_teardown(test_clock_cut, teardown),
		cmocka_unit_test_teardown(test_release_late_dup, teardown),
		cmocka_unit_test_teardown(test_timestamp_rule, teardown),
		cmocka_unit_test_teardown(test_store_full, teardown),
		cmocka_unit_test_teardown(test_pull, teardown),
		cmocka_unit_test_teardown(test_resync_and_ring_full, teardown),
		cmocka_unit_test_teardown(test_originate_ack_ring_full, teardown),
		cmocka_unit_test_teardown(test_arp, teardown),
		cmocka_unit_test_teardown(test_state_dir_restart, teardown),
	};

	(void)argc;
	pkt_pool = dp_test_eal(argv[0], "rumor-dp-test", "0", 1023, 0, 10000);
	if (pkt_pool == NULL)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
