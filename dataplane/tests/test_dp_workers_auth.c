/* Frame authentication with [dataplane] workers = 2 (issue 18 meets issue 14) on a net_ring
 * port with a queue pair per worker: sealed frames of origins owned by either worker are
 * taken once each, wherever they arrive; their replays are refused as auth_replay even on the
 * other worker's RX queue (the window that saw the original is the origin owner's); the two
 * workers' hop counters are apart in their lane bits; a KEYRING reaches both workers; and the
 * first two with worker 1 on its own lcore. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "dp_test_port.h"

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dp_client.h"
#include "dp_node.h"
#include "rumor_auth.h"
#include "rumor_be.h"
#include "rumor_wire.h"

#define NNODES 5
#define SELF 1
#define CLUSTER 79
#define NQ 2
#define LANE_SHIFT 56 /* a sender's worker w seals with counters w << 56 | its clock */

static const char key1[] = "1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
static const uint8_t key5[32] = { 0x55, 0x54, 0x53, 0x52, 0x51, 0x50, 0x4f, 0x4e, 0x4d, 0x4c, 0x4b,
				  0x4a, 0x49, 0x48, 0x47, 0x46, 0x45, 0x44, 0x43, 0x42, 0x41, 0x40,
				  0x3f, 0x3e, 0x3d, 0x3c, 0x3b, 0x3a, 0x39, 0x38, 0x37, 0x36 };
static struct rumor_config cfg;
static struct rte_mempool *pkt_pool;
static struct rumor_auth *keys; /* the other nodes' keyring: 1, and 5 (the KEYRING's) */
static char keyring[64];
static uint64_t ctr_base;
static struct dp_node node;
static struct dp_client cli; /* every worker's dp2cp ring, as rumor-cp reads them */
static struct dp_node *w1;
static struct rte_ring *rxr[NQ], *txr[NQ];
static uint16_t port;
static bool active;
static uint8_t reported[NNODES + 1][64];

static void start(void)
{
	char text[4096], err[256] = "";
	struct dp_node_params p;
	struct timespec ts;
	int off, rc;

	off = snprintf(text, sizeof(text),
		       "[cluster]\nid = %u\n[gossip]\nfanout = 2\nrounds = 2\nmtu = 1500\n"
		       "flush_us = 100\n[dataplane]\nstore_slots = 256\nstore_peer_cap = 256\n"
		       "workers = %u\n[auth]\nkeyring = %s\nuse = 1\n",
		       CLUSTER, NQ, keyring);
	for (unsigned i = 1; i <= NNODES; i++)
		off += snprintf(text + off, sizeof(text) - (size_t)off,
				"[node.%u]\nmac = 02:00:00:00:00:%02x\nip = 10.9.0.%u\n"
				"control = 127.0.0.1:%u\n", i, i, i, 7000 + i);
	if (rumor_config_parse(text, "test", &cfg, err, sizeof(err)) != 0)
		fail_msg("config: %s", err);
	rc = dp_test_ring_port_mq("a", NQ, rxr, txr, 1024, 4096);
	assert_true(rc >= 0);
	port = (uint16_t)rc;
	memset(&p, 0, sizeof(p));
	p.cfg = &cfg;
	p.node_id = SELF;
	p.port_id = port;
	p.msg_pool_size = 2048;
	p.rx_mbufs = 1023;
	p.seed = 7;
	p.tsc_hz = 1000000;
	p.age_us = UINT64_MAX;
	p.err = err;
	p.errlen = sizeof(err);
	if (dp_node_init(&node, &p) != 0)
		fail_msg("dp_node_init: %s", err);
	assert_int_equal(node.nworkers, NQ);
	assert_int_equal(dp_client_attach(&cli), 0);
	w1 = dp_node_worker(&node, 1);
	assert_non_null(w1);
	active = true;
	memset(reported, 0, sizeof(reported));
	/* senders' clocks: above the receiver's start (older is an old epoch) */
	clock_gettime(CLOCK_REALTIME, &ts);
	ctr_base = rumor_auth_ctr_of_ns(((uint64_t)ts.tv_sec + 1) * 1000000000ull);
}

static int teardown(void **state)
{
	(void)state;
	if (active)
		dp_test_workers_stop(&node, &cli, port, rxr, txr, NQ);
	active = false;
	return 0;
}

/* A gossip frame (@origin, @seq) of one event from @sender to us, sealed as they would:
 * body tag and hop tag under @key_id, hop counter @ctr (lane bits included). */
static struct rte_mbuf *mk_frame(uint16_t origin, uint16_t sender, uint64_t seq, uint8_t key_id,
				 uint64_t ctr)
{
	const struct dp_test_hop hop = { rumor_config_node(&cfg, sender)->mac,
					 rumor_config_node(&cfg, SELF)->mac,
					 rumor_config_node(&cfg, sender)->ip,
					 rumor_config_node(&cfg, SELF)->ip, CLUSTER, 2 };
	const struct dp_test_seal seal = { keys, key_id, false, SELF, ctr, 1000 * origin + seq };
	uint8_t payload[40];
	struct rte_mbuf *m;

	memset(payload, (int)(seq + origin), sizeof(payload));
	m = dp_test_sealed_frame(pkt_pool, &hop, origin, sender, seq, payload, sizeof(payload),
				 &seal);
	assert_non_null(m);
	return m;
}

static struct rte_mbuf *copy(const struct rte_mbuf *m)
{
	struct rte_mbuf *c = rte_pktmbuf_alloc(pkt_pool);

	assert_non_null(c);
	memcpy(rte_pktmbuf_append(c, m->data_len), rte_pktmbuf_mtod(m, const void *), m->data_len);
	return c;
}

/* The controlplane: NEW_FRAMEs counted (a second report of a frame fails) and released. */
static unsigned cp_model(void)
{
	void *msgs[64];
	unsigned n, got = 0;

	while ((n = dp_client_recv_burst(&cli, (struct rumor_msg **)msgs, 64)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			struct rumor_msg *m = msgs[i];
			uint16_t o;
			uint64_t s;

			if (m->type != RUMOR_MSG_NEW_FRAME) {
				rte_mempool_put(node.msg_pool, m);
				continue;
			}
			o = m->u.new_frame.origin;
			s = m->u.new_frame.first_seq;
			assert_true(o >= 1 && o <= NNODES && s < 64);
			if (reported[o][s]++ != 0)
				fail_msg("frame %u:%lu reported twice", o, (unsigned long)s);
			dp_test_release_of(m);
			dp_node_cp_msg(&node, m, 1000);
			got++;
		}
	}
	return got;
}

static void poll_both(unsigned times)
{
	for (unsigned k = 0; k < times; k++) {
		dp_node_poll(&node, 1000);
		dp_node_poll(w1, 1000);
	}
}

static unsigned drop_idx(const char *name)
{
	int i = dp_test_drop_idx(name);

	if (i < 0)
		fail_msg("no drop reason \"%s\"", name);
	return (unsigned)i;
}

static uint64_t auth_drops(const struct rumor_dp_stats *st)
{
	return dp_test_drops_prefixed(st, "auth_");
}

/* What worker @q sent: every frame's hop sealed by us for its addressee (hop tag right
 * under @key_id); its counters into @ctr (up to @cap), PULL_REQs counted in @pulls. */
static unsigned take_tx(unsigned q, uint8_t key_id, uint64_t *ctr, unsigned cap,
			unsigned *pulls)
{
	static uint8_t lin[2048];
	struct rte_mbuf *m[64];
	unsigned n, got = 0;

	while ((n = rte_ring_dequeue_burst(txr[q], (void **)m, 64, NULL)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			const uint8_t *p = rte_pktmbuf_read(m[i], 0, m[i]->pkt_len, lin);
			const uint8_t *r = p + RUMOR_WIRE_L2L4_LEN, *ah = r + RUMOR_WIRE_HDR_LEN;

			assert_true(r[6] & RUMOR_WIRE_F_AUTH);
			assert_int_equal(ah[RUMOR_WIRE_AUTH_KEY], key_id);
			assert_int_equal(rumor_auth_hop_verify(keys, r), 0);
			assert_int_equal(rumor_be_ld16(r + 14), SELF);
			if (pulls != NULL && r[5] == RUMOR_WIRE_PULL_REQ)
				(*pulls)++;
			if (got < cap)
				ctr[got] = rumor_be_ld64(ah + RUMOR_WIRE_AUTH_CTR);
			got++;
		}
		rte_pktmbuf_free_bulk(m, n);
	}
	return got;
}

#define PER 12

/* (a) frames of origin 2 (worker 0's) and 3 (worker 1's), from senders sealing on two lanes,
 * each on the queue of the worker that does not own it half of the time: all taken once;
 * (b) every one replayed, half on the other queue: all refused as auth_replay; (c) the hop
 * counters of the relays each worker sent: lane 0 and lane 1, never equal. */
static void test_accept_replay_lanes(void **state)
{
	struct rte_mbuf *orig[4 * PER];
	struct rumor_dp_stats tot;
	const struct rumor_dp_stats *mz;
	uint64_t c0[256], c1[256];
	unsigned nf = 0, got, n0, n1;

	(void)state;
	start();
	mz = node.stats_mz->addr;
	for (uint64_t s = 1; s <= PER; s++) {
		uint64_t lane = s & 1;

		/* origin 2 from itself and from 4, origin 3 from itself and from 4: sender 4's
		 * counters are split between our two workers' windows */
		orig[nf++] = mk_frame(2, 2, s, 1, lane << LANE_SHIFT | (ctr_base + s));
		orig[nf++] = mk_frame(3, 3, s, 1, lane << LANE_SHIFT | (ctr_base + s));
		orig[nf++] = mk_frame(2, 4, s, 1, lane << LANE_SHIFT | (ctr_base + 100 + s));
		orig[nf++] = mk_frame(3, 4, s, 1, lane << LANE_SHIFT | (ctr_base + 200 + s));
	}
	for (unsigned i = 0; i < nf; i++) {
		struct rte_mbuf *c = copy(orig[i]);

		assert_int_equal(rte_ring_enqueue(rxr[(i / 2) & 1], c), 0);
	}
	poll_both(8);
	got = cp_model();
	poll_both(8);
	got += cp_model();
	assert_int_equal(got, 2 * PER); /* 2 origins x PER seqs, each reported once */
	for (uint64_t s = 1; s <= PER; s++) {
		assert_int_equal(reported[2][s], 1);
		assert_int_equal(reported[3][s], 1);
	}
	dp_node_stats_total(&node, &tot);
	assert_int_equal(tot.rx_frames_new, 2 * PER);
	assert_int_equal(tot.rx_frames_dup, 2 * PER); /* the second sender's copy of each */
	assert_int_equal(auth_drops(&tot), 0);
	assert_int_equal(tot.auth_rx_by_key[1], nf);
	assert_int_equal(node.stats->rx_frames_new, PER);
	assert_int_equal(w1->stats->rx_frames_new, PER);
	/* the published stats have worker 1's auth counters too */
	dp_node_stats_publish(&node);
	assert_int_equal(mz->auth_rx_by_key[1], nf);

	/* (c) each worker relayed its origin's new frames (fanout 2), sealed on its lane */
	n0 = take_tx(0, 1, c0, 256, NULL);
	n1 = take_tx(1, 1, c1, 256, NULL);
	assert_true(n0 >= PER && n0 <= 256);
	assert_true(n1 >= PER && n1 <= 256);
	for (unsigned i = 0; i < n0; i++) {
		assert_int_equal(c0[i] >> LANE_SHIFT, 0);
		if (i > 0)
			assert_true(c0[i] > c0[i - 1]);
		for (unsigned j = 0; j < n1; j++)
			assert_true(c0[i] != c1[j]);
	}
	for (unsigned j = 0; j < n1; j++) {
		assert_int_equal(c1[j] >> LANE_SHIFT, 1);
		if (j > 0)
			assert_true(c1[j] > c1[j - 1]);
		/* the same clock below the lane bits (both follow the wall clock) */
		assert_true((c1[j] & ((1ull << LANE_SHIFT) - 1)) > (ctr_base >> 1));
	}

	/* (b) every frame again, the first half on the queue it came on, the rest on the
	 * other one: each refused by the window of the worker that took the original */
	for (unsigned i = 0; i < nf; i++) {
		unsigned q = (i / 2) & 1;

		assert_int_equal(rte_ring_enqueue(rxr[i < nf / 2 ? q : 1 - q], orig[i]), 0);
	}
	poll_both(8);
	assert_int_equal(cp_model(), 0);
	dp_node_stats_total(&node, &tot);
	assert_int_equal(tot.drops[drop_idx("auth_replay")], nf);
	assert_int_equal(auth_drops(&tot), nf);
	assert_int_equal(tot.rx_frames_new, 2 * PER);
	assert_int_equal(tot.rx_frames_dup, 2 * PER);
	assert_int_equal(tot.drops[drop_idx("steer_full")], 0);
	dp_node_stats_publish(&node);
	assert_int_equal(mz->drops[drop_idx("auth_replay")], nf);
	dp_test_drain_tx(txr, NQ);
}

static void send_msg(struct rumor_msg *proto)
{
	void *obj;

	assert_int_equal(rte_mempool_get(node.msg_pool, &obj), 0);
	memcpy(obj, proto, sizeof(*proto));
	dp_node_cp_msg(&node, obj, 1000);
}

/* (d) A KEYRING (key 5 added and used) reaches both workers: frames sealed with key 5 are
 * taken by both, and the PULL_REQs both send afterwards are sealed with key 5. */
static void test_keyring_both_workers(void **state)
{
	struct rumor_msg *msg;
	struct rumor_dp_stats tot;
	const struct rumor_dp_stats *mz;
	uint64_t c[64];
	unsigned pulls = 0;
	void *obj;

	(void)state;
	start();
	mz = node.stats_mz->addr;
	/* before: key 5 is unknown to both */
	assert_int_equal(rte_ring_enqueue(rxr[0], mk_frame(2, 2, 1, 5, ctr_base + 1)), 0);
	assert_int_equal(rte_ring_enqueue(rxr[1], mk_frame(3, 3, 1, 5, ctr_base + 1)), 0);
	poll_both(4);
	dp_node_stats_total(&node, &tot);
	assert_int_equal(tot.drops[drop_idx("auth_no_key")], 2);

	assert_int_equal(rte_mempool_get(node.msg_pool, &obj), 0);
	msg = obj;
	memset(msg, 0, sizeof(*msg));
	msg->type = RUMOR_MSG_KEYRING;
	msg->u.keyring.gen = 1;
	msg->u.keyring.use = 5;
	msg->u.keyring.n = 1;
	msg->u.keyring.keys[0].id = 5;
	memcpy(msg->u.keyring.keys[0].key, key5, 32);
	dp_node_cp_msg(&node, msg, 1000);
	/* worker 0 took it and wiped the key bytes of its message object */
	for (unsigned i = 0; i < 32; i++)
		assert_int_equal(msg->u.keyring.keys[0].key[i], 0);
	assert_int_equal(node.stats->keyring_gen, 1);
	/* worker 1 has not polled yet: the published generation is the older one */
	dp_node_stats_publish(&node);
	assert_int_equal(mz->keyring_gen, 0);
	poll_both(2);
	assert_int_equal(w1->stats->keyring_gen, 1);
	assert_int_equal(w1->stats->auth_use, 5);
	dp_node_stats_publish(&node);
	assert_int_equal(mz->keyring_gen, 1);
	assert_int_equal(mz->auth_use, 5);

	/* frames sealed with the new key: taken by both workers (from either queue) */
	assert_int_equal(rte_ring_enqueue(rxr[1], mk_frame(2, 2, 2, 5, ctr_base + 2)), 0);
	assert_int_equal(rte_ring_enqueue(rxr[0], mk_frame(3, 3, 2, 5, ctr_base + 2)), 0);
	poll_both(4);
	assert_int_equal(cp_model(), 2);
	assert_int_equal(node.stats->rx_frames_new, 1);
	assert_int_equal(w1->stats->rx_frames_new, 1);
	dp_node_stats_total(&node, &tot);
	assert_int_equal(tot.auth_rx_by_key[5], 2);
	assert_int_equal(auth_drops(&tot), 2); /* the two before the KEYRING */
	dp_test_drain_tx(txr, NQ);

	/* both workers seal with key 5 now: a pull each (origin 2: worker 0, 3: worker 1) */
	{
		static struct rumor_msg proto;

		memset(&proto, 0, sizeof(proto));
		proto.type = RUMOR_MSG_PULL;
		proto.u.pull.origin = 2;
		proto.u.pull.hint = 4;
		proto.u.pull.count = 1;
		proto.u.pull.first_seq = 10;
		send_msg(&proto);
		proto.u.pull.origin = 3;
		send_msg(&proto);
	}
	poll_both(2);
	assert_int_equal(take_tx(0, 5, c, 64, &pulls), 1);
	assert_int_equal(pulls, 1);
	assert_int_equal(c[0] >> LANE_SHIFT, 0);
	assert_int_equal(take_tx(1, 5, c, 64, &pulls), 1);
	assert_int_equal(pulls, 2);
	assert_int_equal(c[0] >> LANE_SHIFT, 1);
	dp_node_stats_total(&node, &tot);
	assert_int_equal(tot.pull_sent, 2);
}

/* (a) and (b) with worker 1 on its own lcore: frames of 4 origins from senders on 2 lanes,
 * on both queues, all taken once and none refused; then a replay of each on the other queue,
 * all refused. */
static void test_threads(void **state)
{
	enum { NS = 40, NO = 4 };
	static struct rte_mbuf *keep[NS * NO];
	unsigned lcore = rte_get_next_lcore(-1, 1, 0), got = 0, nk = 0;
	struct rumor_dp_stats tot;

	(void)state;
	if (lcore >= RTE_MAX_LCORE)
		skip();
	start();
	dp_test_worker_stop = 0;
	assert_int_equal(rte_eal_remote_launch(dp_test_worker_loop, w1, lcore), 0);
	for (uint64_t s = 1; s <= NS; s++) {
		for (uint16_t o = 2; o < 2 + NO; o++) {
			uint64_t c = (s & 1) << LANE_SHIFT | (ctr_base + 10 * s + o);
			struct rte_mbuf *m = mk_frame(o, o, s, 1, c);

			keep[nk++] = copy(m);
			while (rte_ring_enqueue(rxr[(s + o) & 1], m) != 0)
				dp_node_poll(&node, 1000);
		}
		dp_node_poll(&node, 1000);
		got += cp_model();
		dp_test_drain_tx(txr, NQ);
	}
	for (unsigned k = 0; k < 10000 && got < NS * NO; k++) {
		dp_node_poll(&node, 1000);
		got += cp_model();
		dp_test_drain_tx(txr, NQ);
		if (k > 100)
			usleep(1000);
	}
	assert_int_equal(got, NS * NO);
	/* the replays, each on the queue its original did not come on */
	for (unsigned i = 0; i < nk; i++) {
		uint64_t s = 1 + i / NO;
		uint16_t o = (uint16_t)(2 + i % NO);

		while (rte_ring_enqueue(rxr[1 - ((s + o) & 1)], keep[i]) != 0)
			dp_node_poll(&node, 1000);
	}
	for (unsigned k = 0; k < 10000; k++) {
		dp_node_poll(&node, 1000);
		assert_int_equal(cp_model(), 0);
		dp_test_drain_tx(txr, NQ);
		dp_node_stats_total(&node, &tot);
		if (tot.rx_pkts >= 2ull * nk)
			break;
		usleep(1000);
	}
	dp_test_worker_stop = 1;
	rte_eal_wait_lcore(lcore);
	dp_test_drain_tx(txr, NQ);
	dp_node_stats_total(&node, &tot);
	assert_int_equal(tot.rx_frames_new, NS * NO);
	assert_int_equal(tot.auth_rx_by_key[1], NS * NO);
	assert_int_equal(tot.drops[drop_idx("auth_replay")], nk);
	assert_int_equal(auth_drops(&tot), nk);
	assert_int_equal(tot.drops[drop_idx("steer_full")], 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_accept_replay_lanes, teardown),
		cmocka_unit_test_teardown(test_keyring_both_workers, teardown),
		cmocka_unit_test_teardown(test_threads, teardown),
	};
	char err[256];
	FILE *kf;
	int rc;

	(void)argc;
	snprintf(keyring, sizeof(keyring), "/tmp/rumor-dp-wauth-%d.keys", (int)getpid());
	kf = fopen(keyring, "w");
	if (kf == NULL || fputs(key1, kf) < 0 || fclose(kf) != 0)
		return 1;
	keys = rumor_auth_new();
	if (keys == NULL) {
		fprintf(stderr, "no AES-NI/PCLMULQDQ: skipped\n");
		unlink(keyring);
		return 77;
	}
	if (rumor_auth_keyring_parse(keys, key1, "test", err, sizeof(err)) != 1 ||
	    rumor_auth_set_key(keys, 5, key5) != 0 || rumor_auth_use(keys, 1) != 0) {
		fprintf(stderr, "keyring: %s\n", err);
		return 1;
	}
	pkt_pool = dp_test_eal(argv[0], "rumor-dp-wauth", "0-1", 4095, 64, 2048);
	if (pkt_pool == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(keyring);
	rumor_auth_free(keys);
	return rc;
}
