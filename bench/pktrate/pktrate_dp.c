/* rumor-pktrate: drives the rumor-dp packet path in-process on a net_null port (TX counts
 * every transmitted packet) with pre-built gossip frames, as testpmd io-forward is driven by
 * net_null RX. Prints one JSON line per run. The frame copy into an RX mbuf (what a NIC's
 * DMA does) is inside the timed loop; the simulated controlplane releases every frame.
 * Usage: rumor-pktrate [EAL: --vdev net_null0 ...] -- --fanout F --event-bytes B
 *        [--seconds S] [--originate] [--auth | --encrypt] [--workers N] [--mtu M]
 * --mtu M: [gossip] mtu = M (576..9000; default 1500): jumbo frames for the 8 KiB events.
 * --workers N: [dataplane] workers = N (needs N EAL lcores and N net_null queues): worker w
 * is fed the frames of the origins it owns on its own lcore (as RSS by origin would) and
 * releases them itself from its own dp2cp ring (the simulated controlplane, one per worker,
 * so that no worker waits for another's); rates are the sum over workers, per CPU second
 * over the sum of their threads' CPU time.
 * --auth: a keyring in the config, so every frame is verified (hop and body tag, replay
 * window) and every copy sealed; the input frames come sealed by their origins (lane 0
 * counters: one-worker senders). With --workers each worker verifies its origins' frames in
 * its own replay windows and seals its copies on its own counter lane.
 * --encrypt: the same with [auth] encrypt = true: input bodies are AES-256-GCM ciphertext,
 * each new one is verified and decrypted into the store, fan-out sends its ciphertext. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_pause.h>

#include "dp_node.h"
#include "rumor_auth.h"
#include "rumor_be.h"
#include "rumor_wire.h"

#define NODES 12
#define SELF 1
#define CLUSTER 9
#define NFRAMES 8192
#define FRAME_MAX 9216 /* a 9000-byte IP MTU's Ethernet frame, rounded up */

static struct rumor_config cfg;
static struct dp_node node;
static struct rumor_auth *keys;   /* the origins' sealing (--auth) */
static char keyring[64];

static int encrypt;               /* --encrypt: [auth] encrypt = true, bodies sealed as GCM */
static unsigned nworkers = 1;
static unsigned mtu = 1500;
/* distinct frames cycled through: fewer jumbo ones keep the "DMA" source within hugepages */
static unsigned nframes = NFRAMES;

static void load_config(unsigned fanout, int auth)
{
	char text[8192], err[256];
	int off = snprintf(text, sizeof(text),
			   "[cluster]\nid = %u\n[gossip]\nfanout = %u\nrounds = 1\n"
			   "flush_us = 50\nmtu = %u\n[dataplane]\nstore_slots = 8192\n"
			   "store_peer_cap = 8192\nworkers = %u\n",
			   CLUSTER, fanout, mtu, nworkers);

	if (auth) {
		static const char key[] = "1 000102030405060708090a0b0c0d0e0f"
					  "101112131415161718191a1b1c1d1e1f\n";
		FILE *f;

		snprintf(keyring, sizeof(keyring), "/tmp/rumor-pktrate-%d.keys", (int)getpid());
		f = fopen(keyring, "w");
		if (f == NULL || fputs(key, f) < 0 || fclose(f) != 0)
			rte_exit(EXIT_FAILURE, "cannot write %s\n", keyring);
		off += snprintf(text + off, sizeof(text) - (size_t)off,
				"[auth]\nkeyring = %s\nuse = 1\nencrypt = %s\n", keyring,
				encrypt ? "true" : "false");
		keys = rumor_auth_new();
		if (keys == NULL || rumor_auth_keyring_parse(keys, key, "bench", err,
							     sizeof(err)) != 1 ||
		    rumor_auth_use(keys, 1) != 0)
			rte_exit(EXIT_FAILURE, "auth: %s\n", err);
	}

	for (unsigned i = 1; i <= NODES; i++)
		off += snprintf(text + off, sizeof(text) - (size_t)off,
				"[node.%u]\nmac = 02:00:00:00:03:%02x\nip = 10.79.0.%u\n"
				"control = 127.0.0.1:%u\n",
				i, i, i, 7400 + i);
	if (rumor_config_parse(text, "bench", &cfg, err, sizeof(err)) != 0)
		rte_exit(EXIT_FAILURE, "config: %s\n", err);
}

/* Frame i: origin 2..NODES, seqs dense per origin; one event of @evlen bytes. */
static unsigned build_frame(uint8_t *buf, size_t cap, unsigned i, unsigned evlen)
{
	uint16_t origin = (uint16_t)(2 + i % (NODES - 1));
	uint64_t seq = 1 + i / (NODES - 1);
	static uint8_t body[FRAME_MAX], payload[FRAME_MAX];
	struct rumor_wire_body b;
	struct rumor_wire_l2l4 a;
	struct rumor_wire_hdr h;
	struct rumor_event_id id;
	struct rumor_vc ts;
	int len;

	rumor_vc_init(&ts);
	rumor_vc_set(&ts, origin, seq);
	memset(payload, (int)i, evlen);
	rumor_event_id_compute(origin, seq, payload, evlen, &id);
	rumor_wire_body_start(&b, body, sizeof(body), &ts);
	if (rumor_wire_body_add(&b, &id, payload, evlen) != 0)
		rte_exit(EXIT_FAILURE, "event too large\n");
	memcpy(a.src_mac, rumor_config_node(&cfg, origin)->mac, 6);
	memcpy(a.dst_mac, rumor_config_node(&cfg, SELF)->mac, 6);
	a.src_ip = rumor_config_node(&cfg, origin)->ip;
	a.dst_ip = rumor_config_node(&cfg, SELF)->ip;
	a.src_port = a.dst_port = RUMOR_WIRE_PORT;
	memset(&h, 0, sizeof(h));
	h.type = RUMOR_WIRE_GOSSIP;
	h.rounds_left = 1;
	h.cluster_id = CLUSTER;
	h.origin = origin;
	h.sender = origin;
	h.first_seq = seq;
	h.event_count = 1;
	h.clock_count = ts.n;
	if (keys != NULL) {
		/* sealed as the origin sends it: a counter above the receiver's start */
		static uint8_t ab[FRAME_MAX + RUMOR_WIRE_AUTH_LEN];
		uint8_t *r, *ah;
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		h.flags = RUMOR_WIRE_F_AUTH | (encrypt ? RUMOR_WIRE_F_ENC : 0);
		memset(ab, 0, RUMOR_WIRE_AUTH_LEN);
		memcpy(ab + RUMOR_WIRE_AUTH_LEN, body, b.len);
		len = rumor_wire_encode(buf, cap, &a, &h, ab, RUMOR_WIRE_AUTH_LEN + b.len);
		if (len <= 0)
			rte_exit(EXIT_FAILURE, "encode failed\n");
		r = buf + RUMOR_WIRE_L2L4_LEN;
		ah = r + RUMOR_WIRE_HDR_LEN;
		ah[RUMOR_WIRE_AUTH_KEY] = 1;
		ah[RUMOR_WIRE_AUTH_ALG] = RUMOR_AUTH_ALG_GMAC256;
		rumor_be_st16(ah + RUMOR_WIRE_AUTH_DST, SELF);
		rumor_be_st64(ah + RUMOR_WIRE_AUTH_CTR,
			      rumor_auth_ctr_of_ns(((uint64_t)now.tv_sec + 1) * 1000000000ull) + i);
		rumor_be_st64(ah + RUMOR_WIRE_AUTH_NONCE, i + 1);
		if (encrypt)
			rumor_auth_body_seal_enc(keys, 1, i + 1, r, ah + RUMOR_WIRE_AUTH_LEN,
						 ah + RUMOR_WIRE_AUTH_LEN, b.len,
						 ah + RUMOR_WIRE_AUTH_BODYTAG);
		else
			rumor_auth_body_tag(keys, 1, i + 1, r, ah + RUMOR_WIRE_AUTH_LEN, b.len,
					    ah + RUMOR_WIRE_AUTH_BODYTAG);
		rumor_auth_hop_seal(keys, r);
		return (unsigned)len;
	}
	len = rumor_wire_encode(buf, cap, &a, &h, body, b.len);
	if (len <= 0)
		rte_exit(EXIT_FAILURE, "encode failed\n");
	return (unsigned)len;
}

/* What rumor-cp would do: take every record of worker @w (its own dp2cp ring), release
 * every frame at once. */
static void fake_cp(struct dp_node *w)
{
	void *msgs[64];
	unsigned n;

	while ((n = rte_ring_sc_dequeue_burst(w->dp2cp, msgs, 64, NULL)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			struct rumor_msg *m = msgs[i];

			if (m->type == RUMOR_MSG_NEW_FRAME) {
				/* fields one by one: the record holds a 2.5 KiB clock */
				uint32_t slot = m->u.new_frame.slot;
				uint16_t origin = m->u.new_frame.origin;
				uint64_t first_seq = m->u.new_frame.first_seq;

				m->type = RUMOR_MSG_RELEASE;
				m->u.release.slot = slot;
				m->u.release.origin = origin;
				m->u.release.first_seq = first_seq;
				m->u.release.ordered_through = 0;
				dp_node_cp_msg(w, m, 0);
			} else {
				rte_mempool_put(node.msg_pool, m);
			}
		}
	}
}

/* Forget every frame of worker @w (all released): lets the same frames be "new" again. */
static void forget(struct dp_node *w)
{
	memset(w->dedupe.b, 0, ((size_t)w->dedupe.mask + 1) * sizeof(*w->dedupe.b));
	rumor_vc_dense_init(&w->clock);
	rumor_vc_init(&w->clock_sparse);
	w->clock_dirty = false;
	/* and every counter seen: the same sealed frames pass the replay window again (this
	 * worker's own windows: it is fed only its origins' frames, sent by those origins) */
	if (w->win != NULL)
		for (unsigned o = 0; o <= NODES; o++)
			rumor_auth_window_init(&w->win[o], w->win[o].floor);
}

/* One worker's relay loop until TSC @t1: bursts of 32 of its frames copied into RX mbufs
 * (the "DMA"), dp_node_rx_burst, TX flush; worker 0 also plays the controlplane, the others
 * take its releases (dp_node_worker_msgs). */
struct relay {
	struct dp_node *w;
	const uint8_t *frames;
	const unsigned *idx;        /* this worker's frames (indices into frames) */
	unsigned nidx, flen, stride;
	uint64_t t1;
	uint64_t rx;
	double cpu;
};

static volatile int go;

static int relay_loop(void *arg)
{
	struct relay *r = arg;
	struct dp_node *w = r->w;
	struct timespec c0, c1;
	unsigned i = 0, nb;

	if (w->wid != 0) {
		dp_node_worker_bind(w);
		while (!go)
			rte_pause();
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	while (rte_rdtsc() < r->t1) {
		struct rte_mbuf *m[32];

		/* A round ends with a burst of its own: frames of the next round in the same
		 * burst would be taken after forget() and meet their own counters (and dedupe
		 * entries) in the round after (a worker's share is not a multiple of 32). */
		if (i == r->nidx) {
			i = 0;
			/* every frame of the last round must be released first */
			fake_cp(w);
			forget(w);
		}
		nb = r->nidx - i < 32 ? r->nidx - i : 32;
		if (rte_pktmbuf_alloc_bulk(w->rx_pool, m, nb) != 0)
			rte_exit(EXIT_FAILURE, "rx pool empty\n");
		for (unsigned k = 0; k < nb; k++, i++)
			memcpy(rte_pktmbuf_append(m[k], (uint16_t)r->flen),
			       r->frames + (size_t)r->idx[i] * r->stride, r->flen);
		dp_node_rx_burst(w, m, nb, 0);
		r->rx += nb;
		dp_node_tx_flush(w);
		fake_cp(w);
		if (w->wid != 0)
			dp_node_worker_msgs(w, 0); /* what worker 0 handed over (nothing, here) */
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	r->cpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"fanout", required_argument, NULL, 'f'},
		{"event-bytes", required_argument, NULL, 'b'},
		{"seconds", required_argument, NULL, 's'},
		{"originate", no_argument, NULL, 'o'}, {"auth", no_argument, NULL, 'a'},
		{"encrypt", no_argument, NULL, 'e'}, {"workers", required_argument, NULL, 'w'},
		{"mtu", required_argument, NULL, 'm'},
		{NULL, 0, NULL, 0},
	};
	unsigned fanout = 1, evlen = 22, originate = 0, flen = 0, stride = FRAME_MAX, auth = 0;
	double seconds = 3;
	struct dp_node_params p;
	uint8_t *frames;
	uint64_t hz, t0, t1, rx = 0, tx0, ev0;
	double cpu_workers = -1;
	struct rumor_dp_stats tot;
	struct timespec c0, c1;
	int ret, opt;

	ret = rte_eal_init(argc, argv);
	if (ret < 0)
		rte_exit(EXIT_FAILURE, "EAL init failed\n");
	argc -= ret;
	argv += ret;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'f': fanout = (unsigned)atoi(optarg); break;
		case 'b': evlen = (unsigned)atoi(optarg); break;
		case 's': seconds = atof(optarg); break;
		case 'o': originate = 1; break;
		case 'a': auth = 1; break;
		case 'e': auth = 1; encrypt = 1; break;
		case 'w': nworkers = (unsigned)atoi(optarg); break;
		case 'm': mtu = (unsigned)atoi(optarg); break;
		default: rte_exit(EXIT_FAILURE, "bad arguments\n");
		}
	}
	if (mtu > 1500)
		nframes = 1024;
	load_config(fanout, (int)auth);
	memset(&p, 0, sizeof(p));
	p.cfg = &cfg;
	p.node_id = SELF;
	p.port_id = 0;
	p.msg_pool_size = 8192;
	p.rx_mbufs = 8191;
	p.seed = 1;
	if (nworkers > 1)
		p.rx_mbufs = 8191 * nworkers;
	ret = dp_node_init(&node, &p);
	if (keyring[0])
		unlink(keyring);
	if (ret != 0)
		rte_exit(EXIT_FAILURE, "node init: %s\n", strerror(-ret));
	hz = rte_get_tsc_hz();
	/* Frames back to back at a cache-line stride: the source of the "DMA" copy stays as
	 * compact as testpmd's (net_null copy=1 copies from one buffer). */
	frames = rte_malloc(NULL, (size_t)nframes * FRAME_MAX, 64);
	if (frames == NULL)
		rte_exit(EXIT_FAILURE, "no memory for frames\n");
	for (unsigned i = 0; i < nframes && !originate; i++) {
		static uint8_t tmp[FRAME_MAX];

		flen = build_frame(tmp, sizeof(tmp), i, evlen);
		stride = RTE_ALIGN_CEIL(flen, 64);
		memcpy(frames + (size_t)i * stride, tmp, flen);
	}

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	tx0 = node.stats->tx_pkts;
	ev0 = node.stats->originated_events;
	t0 = rte_rdtsc();
	t1 = t0 + (uint64_t)(seconds * (double)hz);
	if (!originate) {
		static struct relay rl[DP_WORKERS_MAX];
		static unsigned idx[DP_WORKERS_MAX][NFRAMES];
		unsigned lcore = rte_lcore_id();

		if (nworkers != node.nworkers || nworkers > rte_lcore_count())
			rte_exit(EXIT_FAILURE, "--workers %u needs as many lcores\n", nworkers);
		for (unsigned i = 0; i < nframes; i++) {
			uint16_t o = (uint16_t)(2 + i % (NODES - 1));
			unsigned w = dp_owner(&node, o);

			idx[w][rl[w].nidx++] = i;
		}
		for (unsigned w = 0; w < nworkers; w++) {
			rl[w].w = dp_node_worker(&node, w);
			rl[w].frames = frames;
			rl[w].idx = idx[w];
			rl[w].flen = flen;
			rl[w].stride = stride;
			rl[w].t1 = t1;
			if (w > 0) {
				lcore = rte_get_next_lcore(lcore, 1, 0);
				if (rte_eal_remote_launch(relay_loop, &rl[w], lcore) != 0)
					rte_exit(EXIT_FAILURE, "cannot launch worker %u\n", w);
			}
		}
		go = 1;
		relay_loop(&rl[0]);
		rte_eal_mp_wait_lcore();
		/* what the other workers still hold */
		for (unsigned k = 0; k < 100; k++)
			for (unsigned w = 0; w < nworkers; w++) {
				fake_cp(rl[w].w);
				if (w > 0)
					dp_node_worker_msgs(rl[w].w, 0);
			}
		for (unsigned w = 0; w < nworkers; w++)
			rx += rl[w].rx;
		cpu_workers = 0;
		for (unsigned w = 0; w < nworkers; w++)
			cpu_workers += rl[w].cpu;
	} else {
		/* events/s: ORIGINATE messages of 64 B events, packed into full frames */
		static uint8_t ev[FRAME_MAX];

		memset(ev, 'e', sizeof(ev));
		while (rte_rdtsc() < t1) {
			void *obj;
			struct rumor_msg *m;

			if (rte_mempool_get(node.msg_pool, &obj) != 0)
				rte_exit(EXIT_FAILURE, "msg pool empty\n");
			m = obj;
			m->type = RUMOR_MSG_ORIGINATE;
			m->u.originate.req_id = 1;
			m->u.originate.count = 0;
			m->u.originate.data_len = 0;
			for (unsigned k = 0; k < 60; k++)
				rumor_msg_originate_add(m, ev, (uint16_t)evlen);
			dp_node_cp_msg(&node, m, rte_rdtsc());
			dp_node_tx_flush(&node);
			fake_cp(&node);
		}
	}
	t1 = rte_rdtsc();
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	{
		double secs = (double)(t1 - t0) / (double)hz;
		/* CPU time of this (only) thread: on a shared box the wall-clock rate also counts
		 * time we were not scheduled; per CPU second is the comparable figure */
		double cpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
		uint64_t tx, evs;

		dp_node_stats_total(&node, &tot);
		tx = tot.tx_pkts - tx0;
		evs = tot.originated_events - ev0;
		if (cpu_workers >= 0)
			cpu = cpu_workers; /* every worker thread's */

		printf("{\"tool\":\"rumor-dp\",\"mode\":\"%s\",\"fanout\":%u,\"event_bytes\":%u,"
		       "\"frame_bytes\":%u,\"seconds\":%.3f,\"rx_frames\":%" PRIu64
		       ",\"tx_pkts\":%" PRIu64 ",\"tx_pps\":%.0f,\"rx_fps\":%.0f,"
		       "\"events_per_s\":%.0f,\"cpu_seconds\":%.3f,\"tx_per_cpu_s\":%.0f,"
		       "\"rx_per_cpu_s\":%.0f,\"events_per_cpu_s\":%.0f,\"workers\":%u,"
		       "\"tx_full\":%" PRIu64 ",\"drops_store\":%" PRIu64
		       ",\"auth\":%s,\"encrypt\":%s,\"drops_auth\":%" PRIu64
		       ",\"hugepages\":%s}\n",
		       originate ? "originate" : "relay", fanout, evlen, flen, secs, rx, tx,
		       (double)tx / secs, (double)rx / secs, (double)evs / secs, cpu,
		       cpu > 0 ? (double)tx / cpu : 0, cpu > 0 ? (double)rx / cpu : 0,
		       cpu > 0 ? (double)evs / cpu : 0, nworkers,
		       tot.tx_full, tot.drops[DP_DROP_STORE],
		       auth ? "true" : "false", encrypt ? "true" : "false",
		       tot.drops[DP_DROP_AUTH_NO_KEY] + tot.drops[DP_DROP_AUTH_BAD_TAG] +
			       tot.drops[DP_DROP_AUTH_REPLAY] + tot.drops[DP_DROP_AUTH_OLD_EPOCH] +
			       tot.drops[DP_DROP_AUTH_BAD_BODY],
		       rte_eal_has_hugepages() ? "true" : "false");
	}
	rte_free(frames);
	dp_node_fini(&node);
	rte_eal_cleanup();
	return 0;
}
