/* [dataplane] workers (issue 18) on a net_ring port with a queue pair per worker: frames of
 * every origin arrive on every queue (twice each), are steered to their origin's worker and
 * reported exactly once; per-worker counters add up to the totals; TX of a worker only
 * carries its origins; originations stamp what other workers merged. */
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

#include "dp_test_arp.h"
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
#include "rumor_wire.h"

#define NNODES 6
#define SELF 1
#define CLUSTER 78
#define NQ 2

static struct rumor_config cfg;
static struct rte_mempool *pkt_pool;
static struct dp_node node;
static struct dp_client cli; /* what rumor-cp reads the records with: every worker's ring */
static struct rte_ring *rxr[NQ], *txr[NQ];
static uint16_t port;
static bool active;
static uint8_t reported[NNODES + 1][32768];
static unsigned arp_node; /* the next start's node with mac = arp (0: none) */

static void start(unsigned slots)
{
	char text[4096], err[256];
	struct dp_node_params p;
	int off, rc;

	off = snprintf(text, sizeof(text),
		       "[cluster]\nid = %u\n[gossip]\nfanout = 2\nrounds = 2\nflush_us = 100\n"
		       "[dataplane]\nstore_slots = %u\nstore_peer_cap = %u\nworkers = %u\n"
		       "[auth]\ninsecure = true\n",
		       CLUSTER, slots, slots, NQ);
	for (unsigned i = 1; i <= NNODES; i++) {
		char mac[24];

		if (i == arp_node)
			snprintf(mac, sizeof(mac), "arp");
		else
			snprintf(mac, sizeof(mac), "02:00:00:00:00:%02x", i);
		off += snprintf(text + off, sizeof(text) - (size_t)off,
				"[node.%u]\nmac = %s\nip = 10.9.0.%u\ncontrol = 127.0.0.1:%u\n", i,
				mac, i, 7000 + i);
	}
	if (rumor_config_parse(text, "test", &cfg, err, sizeof(err)) != 0)
		fail_msg("config: %s", err);
	assert_int_equal(cfg.dataplane.workers, NQ);
	rc = dp_test_ring_port_mq("w", NQ, rxr, txr, 4096, 16384);
	assert_true(rc >= 0);
	port = (uint16_t)rc;
	memset(&p, 0, sizeof(p));
	p.cfg = &cfg;
	p.node_id = SELF;
	p.port_id = port;
	p.msg_pool_size = 8192;
	p.rx_mbufs = 4095;
	p.seed = 7;
	p.tsc_hz = 1000000; /* now in microseconds */
	p.age_us = UINT64_MAX;
	assert_int_equal(dp_node_init(&node, &p), 0);
	assert_int_equal(node.nworkers, NQ);
	assert_int_equal(dp_client_attach(&cli), 0);
	assert_int_equal(cli.n_dp2cp, NQ); /* a ring per worker: no producer shares one */
	memset(reported, 0, sizeof(reported));
	active = true;
}

static int teardown(void **state)
{
	(void)state;
	if (active)
		dp_test_workers_stop(&node, &cli, port, rxr, txr, NQ);
	active = false;
	return 0;
}

static struct rte_mbuf *mk_frame(uint16_t origin, uint16_t sender, uint64_t seq)
{
	uint8_t payload[40];
	const struct dp_test_hop hop = { rumor_config_node(&cfg, sender)->mac,
					 rumor_config_node(&cfg, SELF)->mac,
					 rumor_config_node(&cfg, sender)->ip,
					 rumor_config_node(&cfg, SELF)->ip, CLUSTER, 1 };
	struct rte_mbuf *m;

	memset(payload, (int)(seq + origin), sizeof(payload));
	m = dp_test_gossip_frame(pkt_pool, &hop, origin, sender, seq, payload, sizeof(payload));
	assert_non_null(m);
	return m;
}

/* The controlplane: every NEW_FRAME counted (a second report of a frame fails the test)
 * and released through cp2dp. Returns the records taken. */
static unsigned cp_model(void)
{
	void *msgs[64];
	unsigned n, got = 0;

	while ((n = dp_client_recv_burst(&cli, (struct rumor_msg **)msgs, 64)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			struct rumor_msg *m = msgs[i];

			if (m->type != RUMOR_MSG_NEW_FRAME) {
				rte_mempool_put(node.msg_pool, m);
				continue;
			}
			uint16_t o = m->u.new_frame.origin;
			uint64_t s = m->u.new_frame.first_seq;

			assert_true(o >= 1 && o <= NNODES && s < sizeof(reported[0]));
			if (reported[o][s]++ != 0)
				fail_msg("frame %u:%lu reported twice", o, (unsigned long)s);
			dp_test_release_of(m);
			while (rte_ring_enqueue(node.cp2dp, m) != 0)
				dp_node_poll(&node, 1000);
			got++;
		}
	}
	return got;
}

/* Frame (o, s) once on each queue, from two different senders. */
static void inject(uint16_t o, uint64_t s)
{
	uint16_t s1 = o, s2 = o == NNODES ? 2 : (uint16_t)(o + 1);

	if (s2 == SELF)
		s2 = 2;
	while (rte_ring_free_count(rxr[0]) < 1 || rte_ring_free_count(rxr[1]) < 1)
		rte_pause();
	assert_int_equal(rte_ring_enqueue(rxr[0], mk_frame(o, s1, s)), 0);
	assert_int_equal(rte_ring_enqueue(rxr[1], mk_frame(o, s2, s)), 0);
}

static void check_totals(unsigned frames)
{
	struct rumor_dp_stats tot;
	const struct rumor_dp_stats *mz = node.stats_mz->addr;
	uint64_t new_sum = 0, dup_sum = 0, rx_sum = 0;

	dp_node_stats_total(&node, &tot);
	if (getenv("DP_WK_DEBUG")) {
		fprintf(stderr, "new %lu dup %lu late %lu rx %lu\n", (unsigned long)tot.rx_frames_new,
			(unsigned long)tot.rx_frames_dup, (unsigned long)tot.rx_frames_late,
			(unsigned long)tot.rx_pkts);
		for (unsigned i = 0; i < RUMOR_DP_DROP_REASONS; i++)
			if (tot.drops[i])
				fprintf(stderr, "drop %u: %lu\n", i, (unsigned long)tot.drops[i]);
		for (unsigned i = 0; i < RUMOR_DP_BUDGET_NREASONS; i++)
			if (tot.budget_drops[i])
				fprintf(stderr, "budget %u: %lu\n", i, (unsigned long)tot.budget_drops[i]);
		for (unsigned i = 0; i < RUMOR_TS_NREASONS; i++)
			if (tot.ts_drops[i])
				fprintf(stderr, "ts %u: %lu\n", i, (unsigned long)tot.ts_drops[i]);
	}
	for (unsigned w = 0; w < NQ; w++) {
		const struct rumor_dp_stats *s = dp_node_worker(&node, w)->stats;

		new_sum += s->rx_frames_new;
		dup_sum += s->rx_frames_dup;
		rx_sum += s->rx_pkts;
	}
	assert_int_equal(tot.rx_frames_new, frames);
	assert_int_equal(tot.rx_frames_dup, frames);
	assert_int_equal(tot.rx_pkts, 2 * frames);
	assert_int_equal(new_sum, tot.rx_frames_new);
	assert_int_equal(dup_sum, tot.rx_frames_dup);
	assert_int_equal(rx_sum, tot.rx_pkts);
	assert_int_equal(tot.drops[DP_DROP_STEER], 0);
	/* the memzone (what rumor-cp, the probe and scripts read) has the totals */
	dp_node_stats_publish(&node);
	assert_int_equal(mz->rx_frames_new, frames);
	assert_int_equal(mz->rx_pkts, 2 * frames);
	assert_int_equal(mz->tx_pkts, tot.tx_pkts);
}

/* Each worker's TX queue carries frames of its own origins only (it relays what it owns);
 * returns the frames taken. */
static unsigned check_tx_owner(uint16_t *self_clock_origin3)
{
	struct rte_mbuf *m[64];
	unsigned n, total = 0;
	static uint8_t lin[2048];

	for (unsigned q = 0; q < NQ; q++)
		while ((n = rte_ring_dequeue_burst(txr[q], (void **)m, 64, NULL)) > 0) {
			for (unsigned i = 0; i < n; i++) {
				struct rumor_wire_frame fr;
				const void *p = rte_pktmbuf_read(m[i], 0, m[i]->pkt_len, lin);

				assert_non_null(p);
				assert_int_equal(rumor_wire_decode(p, m[i]->pkt_len, CLUSTER,
								   RUMOR_WIRE_PORT, 0, &fr), 0);
				assert_int_equal(dp_owner(&node, fr.hdr.origin), q);
				if (fr.hdr.origin == SELF && self_clock_origin3 != NULL)
					*self_clock_origin3 = (uint16_t)rumor_vc_get(&fr.clock, 3);
			}
			total += n;
			rte_pktmbuf_free_bulk(m, n);
		}
	return total;
}

/* One thread polls both workers in turn. */
static void test_two_workers_interleaved(void **state)
{
	const unsigned per = 40;
	struct dp_node *w1;
	unsigned got = 0;
	uint16_t c3 = 0;

	(void)state;
	start(1024);
	w1 = dp_node_worker(&node, 1);
	assert_non_null(w1);
	assert_null(dp_node_worker(&node, 2));
	for (uint64_t s = 1; s <= per; s++) {
		for (uint16_t o = 2; o <= NNODES; o++)
			inject(o, s);
		for (int k = 0; k < 4; k++) {
			dp_node_poll(&node, 1000);
			dp_node_poll(w1, 1000);
		}
		got += cp_model();
		check_tx_owner(NULL);
	}
	for (int k = 0; k < 50; k++) {
		dp_node_poll(&node, 1000);
		dp_node_poll(w1, 1000);
		got += cp_model();
	}
	assert_int_equal(got, per * (NNODES - 1));
	for (uint16_t o = 2; o <= NNODES; o++)
		for (uint64_t s = 1; s <= per; s++)
			assert_int_equal(reported[o][s], 1);
	/* sharding: worker 1 took exactly the odd origins' new frames (3 and 5) */
	assert_int_equal(w1->stats->rx_frames_new, 2 * per);
	assert_int_equal(node.stats->rx_frames_new, 3 * per);
	check_totals(per * (NNODES - 1));
	check_tx_owner(NULL);
	/* an origination on worker 0 stamps the clock worker 1 merged (origin 3 up to per) */
	{
		void *obj;
		struct rumor_msg *m;

		assert_int_equal(rte_mempool_get(node.msg_pool, &obj), 0);
		m = obj;
		memset(m, 0, sizeof(*m));
		m->type = RUMOR_MSG_ORIGINATE;
		m->u.originate.req_id = 9;
		assert_int_equal(rumor_msg_originate_add(m, "hello", 5), 0);
		assert_int_equal(rte_ring_enqueue(node.cp2dp, m), 0);
		dp_node_poll(&node, 1000);
		dp_node_poll(&node, 1000000); /* past flush_us: the frame goes out */
		check_tx_owner(&c3);
		assert_int_equal(c3, per);
	}
	/* every release reached its owner: the store is whole again once the frames left */
	for (int k = 0; k < 10; k++) {
		dp_node_poll(&node, 2000000);
		dp_node_poll(w1, 2000000);
		cp_model();
		dp_test_drain_tx(txr, NQ);
	}
	{
		struct rumor_dp_stats tot;

		dp_node_stats_total(&node, &tot);
		assert_int_equal(tot.store_full, 0);
	}
	/* free: the ring plus each worker's own cache and stack */
	assert_int_equal(dp_store_free_count(&node.store) + dp_store_free_count(&w1->store) -
				 rte_ring_count(node.store.free_ring),
			 node.store.nslots);
}

/* Worker 1 on its own lcore, worker 0 and the cp model here, many frames. */
static void test_two_workers_threads(void **state)
{
	const unsigned per = 800;
	unsigned got = 0, lcore = rte_get_next_lcore(-1, 1, 0);

	(void)state;
	if (lcore >= RTE_MAX_LCORE)
		skip();
	start(4096);
	dp_test_worker_stop = 0;
	assert_int_equal(rte_eal_remote_launch(dp_test_worker_loop, dp_node_worker(&node, 1), lcore), 0);
	for (uint64_t s = 1; s <= per; s++) {
		for (uint16_t o = 2; o <= NNODES; o++)
			inject(o, s);
		dp_node_poll(&node, 1000);
		got += cp_model();
		if (s % 8 == 0)
			dp_test_drain_tx(txr, NQ);
	}
	for (unsigned k = 0; k < 2000000 && got < per * (NNODES - 1); k++) {
		dp_node_poll(&node, 1000);
		got += cp_model();
		dp_test_drain_tx(txr, NQ);
	}
	/* settle: until both workers took every frame (the worker's thread may be descheduled
	 * on a shared machine: wait for it, up to ~10 s), then the last releases */
	for (unsigned k = 0; k < 10000; k++) {
		struct rumor_dp_stats tot;

		dp_node_poll(&node, 1000);
		got += cp_model();
		dp_node_stats_total(&node, &tot);
		if (tot.rx_pkts == 2ull * per * (NNODES - 1))
			break;
		usleep(1000);
	}
	for (unsigned k = 0; k < 1000; k++) {
		dp_node_poll(&node, 1000);
		got += cp_model();
	}
	dp_test_worker_stop = 1;
	rte_eal_wait_lcore(lcore);
	dp_test_drain_tx(txr, NQ);
	assert_int_equal(got, per * (NNODES - 1));
	for (uint16_t o = 2; o <= NNODES; o++)
		for (uint64_t s = 1; s <= per; s++)
			assert_int_equal(reported[o][s], 1);
	assert_int_equal(dp_node_worker(&node, 1)->stats->rx_frames_new, 2 * per);
	check_totals(per * (NNODES - 1));
}

static uint64_t nic_of(const struct rumor_dp_stats *s, const char *name)
{
	for (int i = 0; i < RUMOR_DP_NIC_N; i++)
		if (!strcmp(rumor_dp_nic_name(i), name))
			return s->nic[i];
	return 0; /* a build without it: the checks on it fail, not the build */
}

/* The hold is per worker: node 6 has mac = arp; frames of origin 3 (worker 1's) fanned out
 * to 6 before it answers are held by worker 1, none by worker 0. Worker 0 takes the ARP
 * reply (it owns the table): worker 1 still holds them until its own pass, which sends them
 * on its TX queue, in order, to the learned MAC. */
static void test_two_workers_arp_hold(void **state)
{
	static const uint8_t mac6[6] = { 2, 0, 0, 0, 0, 0x66 };
	uint8_t arp[DP_ARP_FRAME_LEN], lin[2048];
	struct dp_node *w1;
	struct rumor_dp_stats tot;
	struct rte_mbuf *m[64];
	uint64_t held, last = 0;
	unsigned n, to6 = 0;

	(void)state;
	arp_node = 6;
	start(1024);
	arp_node = 0;
	w1 = dp_node_worker(&node, 1);
	assert_int_equal(node.stats->arp_unresolved, 1);
	dp_node_poll(&node, 1000); /* the request for 6 */
	dp_test_drain_tx(txr, NQ);
	for (uint64_t s = 1; s <= 12; s++) {
		assert_int_equal(rte_ring_enqueue(rxr[1], mk_frame(3, 2, s)), 0);
		dp_node_poll(w1, 1000);
	}
	cp_model();
	dp_node_poll(w1, 1000); /* the releases */
	held = nic_of(w1->stats, "arp_held");
	assert_true(held > 0 && held <= 12); /* fanout 2 of 4, 5, 6 */
	assert_int_equal(nic_of(node.stats, "arp_held"), 0);
	assert_int_equal(w1->stats->drops[DP_DROP_ARP_UNRESOLVED], 0);
	dp_test_drain_tx(txr, NQ);
	/* worker 0 takes the reply; worker 1 has not looked yet */
	dp_test_arp_frame(arp, 2, mac6, 0x0a090006, rumor_config_node(&cfg, SELF)->mac, 0x0a090001);
	m[0] = rte_pktmbuf_alloc(pkt_pool);
	assert_non_null(m[0]);
	memcpy(rte_pktmbuf_append(m[0], sizeof(arp)), arp, sizeof(arp));
	assert_int_equal(rte_ring_enqueue(rxr[0], m[0]), 0);
	dp_node_poll(&node, 1000);
	assert_int_equal(node.stats->arp_unresolved, 0);
	assert_int_equal(rte_ring_count(txr[0]), 0);
	assert_int_equal(rte_ring_count(txr[1]), 0);
	dp_node_poll(w1, 1000);
	assert_int_equal(rte_ring_count(txr[0]), 0);
	while ((n = rte_ring_dequeue_burst(txr[1], (void **)m, 64, NULL)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			const uint8_t *p = rte_pktmbuf_read(m[i], 0, m[i]->pkt_len, lin);
			struct rumor_wire_frame fr;

			assert_non_null(p);
			assert_int_equal(rumor_wire_decode(p, m[i]->pkt_len, CLUSTER,
							   RUMOR_WIRE_PORT, 0, &fr), 0);
			if (fr.l2l4.dst_ip != 0x0a090006)
				continue; /* to 4 or 5 */
			assert_memory_equal(p, mac6, 6);
			assert_int_equal(fr.hdr.origin, 3);
			assert_true(fr.hdr.first_seq > last); /* in order */
			last = fr.hdr.first_seq;
			to6++;
		}
		rte_pktmbuf_free_bulk(m, n);
	}
	assert_int_equal(to6, held);
	dp_node_stats_total(&node, &tot);
	assert_int_equal(nic_of(&tot, "arp_held"), held);
	assert_int_equal(nic_of(&tot, "arp_released"), held);
}

/* Worker 0 changes a resolved peer's MAC (an ARP update: it owns the table) while worker 1,
 * on its own lcore, copies that peer's template into every frame it relays there: each
 * frame carries one of the two MACs whole, never bytes of both. */
static void test_two_workers_mac_change(void **state)
{
	static const uint8_t mac_a[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x66 };
	static const uint8_t mac_b[6] = { 0xfe, 0xff, 0xff, 0xff, 0xff, 0x99 };
	const uint64_t per = 30000;
	unsigned lcore = rte_get_next_lcore(-1, 1, 0), to6 = 0, torn = 0, got = 0;
	struct rte_mbuf *m[64];
	uint8_t lin[2048];
	unsigned n;

	(void)state;
	if (lcore >= RTE_MAX_LCORE)
		skip();
	arp_node = 6;
	start(4096);
	arp_node = 0;
	dp_node_peer_mac(&node, 6, mac_a);
	dp_test_worker_stop = 0;
	assert_int_equal(rte_eal_remote_launch(dp_test_worker_loop, dp_node_worker(&node, 1), lcore), 0);
	for (uint64_t s = 1; s <= per; s++) {
		/* origins 3 and 5 are worker 1's */
		while (rte_ring_free_count(rxr[1]) < 2)
			rte_pause();
		assert_int_equal(rte_ring_enqueue(rxr[1], mk_frame(3, 2, s)), 0);
		assert_int_equal(rte_ring_enqueue(rxr[1], mk_frame(5, 2, s)), 0);
		for (unsigned k = 0; k < 128; k++)
			dp_node_peer_mac(&node, 6, k & 1 ? mac_b : mac_a);
		dp_node_poll(&node, 1000);
		got += cp_model();
		dp_test_drain_tx(txr, 1);
		while ((n = rte_ring_dequeue_burst(txr[1], (void **)m, 64, NULL)) > 0) {
			for (unsigned i = 0; i < n; i++) {
				const uint8_t *p = rte_pktmbuf_read(m[i], 0, m[i]->pkt_len, lin);
				struct rumor_wire_frame fr;

				assert_non_null(p);
				assert_int_equal(rumor_wire_decode(p, m[i]->pkt_len, CLUSTER,
								   RUMOR_WIRE_PORT, 0, &fr), 0);
				if (fr.l2l4.dst_ip != 0x0a090006)
					continue;
				to6++;
				if (memcmp(p, mac_a, 6) != 0 && memcmp(p, mac_b, 6) != 0)
					torn++;
			}
			rte_pktmbuf_free_bulk(m, n);
		}
	}
	while (rte_ring_count(rxr[1]) > 0)
		rte_pause();
	dp_test_worker_stop = 1;
	rte_eal_wait_lcore(lcore);
	for (unsigned k = 0; k < 100; k++) {
		dp_node_poll(&node, 1000);
		got += cp_model();
	}
	dp_test_drain_tx(txr, NQ);
	fprintf(stderr, "frames to node 6: %u, torn MACs: %u, reported %u\n", to6, torn, got);
	assert_true(to6 > per / 4);
	assert_int_equal(torn, 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_two_workers_interleaved, teardown),
		cmocka_unit_test_teardown(test_two_workers_threads, teardown),
		cmocka_unit_test_teardown(test_two_workers_arp_hold, teardown),
		cmocka_unit_test_teardown(test_two_workers_mac_change, teardown),
	};

	(void)argc;
	pkt_pool = dp_test_eal(argv[0], "rumor-dp-wk", "0-1", 16383, 256, 2048);
	if (pkt_pool == NULL)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
