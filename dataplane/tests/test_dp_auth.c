/* In-process tests of rumor-dp's frame authentication on net_ring ports (issue 14): sealed
 * frames in, each refusal counted under its own drops[] reason (looked up by name, so the test
 * also builds against a dataplane that lacks a reason and then fails), the relay's copies
 * sealed for their addressee, and [auth] encrypt disagreements counted apart. */
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

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dp_node.h"
#include "dp_test_port.h"
#include "rumor_auth.h"
#include "rumor_be.h"
#include "rumor_wire.h"

#define NNODES 4
#define SELF 1
#define CLUSTER 78

static const char key_text[] =
	"1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
	"9 ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\n";
static struct rumor_config cfg;
static struct rte_mempool *pkt_pool;
static struct rumor_auth *keys; /* the other nodes' keyring (the same keys) */
static char keyring[64];
static uint64_t ctr_base;

struct fixture {
	struct dp_node n;
	struct rte_ring *rx, *tx;
	uint16_t port;
	bool active;
};

static struct fixture fx;

static void load_config(bool encrypt)
{
	char text[4096], err[256];
	int off;

	off = snprintf(text, sizeof(text),
		       "[cluster]\nid = %u\n[gossip]\nfanout = 1\nrounds = 4\nmtu = 1500\n"
		       "flush_us = 100\n[dataplane]\nstore_slots = 64\nstore_peer_cap = 64\n"
		       "[auth]\nkeyring = %s\nuse = 1\nencrypt = %s\n",
		       CLUSTER, keyring, encrypt ? "true" : "false");
	for (unsigned i = 1; i <= NNODES; i++)
		off += snprintf(text + off, sizeof(text) - (size_t)off,
				"[node.%u]\nmac = 02:00:00:00:00:%02x\nip = 10.9.0.%u\n"
				"control = 127.0.0.1:%u\n",
				i, i, i, 7000 + i);
	if (rumor_config_parse(text, "test", &cfg, err, sizeof(err)) != 0)
		fail_msg("config: %s", err);
}

static struct fixture *fx_start(bool encrypt)
{
	struct fixture *f = &fx;
	struct dp_node_params p;
	char err[256] = "";
	struct timespec ts;
	int port;

	memset(f, 0, sizeof(*f));
	load_config(encrypt);
	port = dp_test_ring_port("a", &f->rx, &f->tx);
	assert_true(port >= 0);
	f->port = (uint16_t)port;
	memset(&p, 0, sizeof(p));
	p.cfg = &cfg;
	p.node_id = SELF;
	p.port_id = f->port;
	p.msg_pool_size = 1024;
	p.rx_mbufs = 511;
	p.seed = 7;
	p.tsc_hz = 1000000;
	p.err = err;
	p.errlen = sizeof(err);
	if (dp_node_init(&f->n, &p) != 0)
		fail_msg("dp_node_init: %s", err);
	assert_non_null(f->n.auth);
	f->active = true;
	/* senders' counters: above the receiver's start (it refuses older ones as an old epoch) */
	clock_gettime(CLOCK_REALTIME, &ts);
	ctr_base = rumor_auth_ctr_of_ns(((uint64_t)ts.tv_sec + 1) * 1000000000ull);
	return f;
}

static void fx_stop(struct fixture *f)
{
	struct rte_mbuf *m[64];
	void *msg;
	unsigned k;

	if (!f->active)
		return;
	f->active = false;
	while ((k = rte_ring_dequeue_burst(f->tx, (void **)m, 64, NULL)) > 0)
		rte_pktmbuf_free_bulk(m, k);
	while (rte_ring_dequeue(f->n.dp2cp, &msg) == 0)
		rte_mempool_put(f->n.msg_pool, msg);
	dp_node_fini(&f->n);
	rte_eth_dev_close(f->port);
	rte_ring_free(f->rx);
	rte_ring_free(f->tx);
}

static int teardown(void **state)
{
	(void)state;
	fx_stop(&fx);
	return 0;
}

/* drops[] of reason @name: fails when the dataplane has no such reason */
static uint64_t drops(const struct fixture *f, const char *name)
{
	int i = dp_test_drop_idx(name);

	if (i < 0)
		fail_msg("no drop reason \"%s\"", name);
	return f->n.stats->drops[i < 0 ? 0 : i];
}

static uint64_t auth_drops(const struct fixture *f)
{
	return dp_test_drops_prefixed(f->n.stats, "auth_");
}

enum seal { SEAL_GMAC, SEAL_ENC };

/* A gossip frame of origin @origin (one event) sent by @sender to us, sealed as its origin
 * and sender would: body tag (or GCM with @how SEAL_ENC) under @key_id, hop tag with counter
 * ctr_base + @ctr. */
static struct rte_mbuf *mk_frame(uint16_t origin, uint16_t sender, uint64_t seq, uint8_t key_id,
				 uint64_t ctr, enum seal how)
{
	const struct dp_test_hop hop = { rumor_config_node(&cfg, sender)->mac,
					 rumor_config_node(&cfg, SELF)->mac,
					 rumor_config_node(&cfg, sender)->ip,
					 rumor_config_node(&cfg, SELF)->ip, CLUSTER, 2 };
	const struct dp_test_seal seal = { keys, key_id, how == SEAL_ENC, SELF, ctr_base + ctr,
					   1000 + seq };
	uint8_t payload[40];
	struct rte_mbuf *m;

	memset(payload, (int)seq, sizeof(payload));
	m = dp_test_sealed_frame(pkt_pool, &hop, origin, sender, seq, payload, sizeof(payload),
				 &seal);
	assert_non_null(m);
	return m;
}

static uint8_t *at(struct rte_mbuf *m, size_t off)
{
	return rte_pktmbuf_mtod(m, uint8_t *) + off;
}

/* Frames into the port, then one poll: they arrive as one RX burst. */
static void inject(struct fixture *f, struct rte_mbuf **m, unsigned k)
{
	assert_int_equal(rte_ring_enqueue_burst(f->rx, (void **)m, k, NULL), k);
	dp_node_poll(&f->n, 1000);
}

static void inject1(struct fixture *f, struct rte_mbuf *m)
{
	inject(f, &m, 1);
}

/* Every frame sent: sealed for the node it goes to, with a counter of ours in the window. */
static unsigned check_tx(struct fixture *f)
{
	static uint8_t lin[2048];
	struct rte_mbuf *out[64];
	unsigned k = rte_ring_dequeue_burst(f->tx, (void **)out, 64, NULL);
	uint64_t last = 0;

	for (unsigned i = 0; i < k; i++) {
		const uint8_t *p = rte_pktmbuf_read(out[i], 0, out[i]->pkt_len, lin);
		const uint8_t *r = p + RUMOR_WIRE_L2L4_LEN, *ah = r + RUMOR_WIRE_HDR_LEN;
		uint64_t c = rumor_be_ld64(ah + RUMOR_WIRE_AUTH_CTR);

		size_t blen = out[i]->pkt_len - RUMOR_WIRE_AUTH_PREFIX_LEN;
		uint8_t pt[2048];

		assert_true(r[6] & RUMOR_WIRE_F_AUTH);
		assert_int_equal(rumor_auth_hop_verify(keys, r), 0);
		/* and the origin's body seal, as forwarded */
		if (r[6] & RUMOR_WIRE_F_ENC)
			assert_int_equal(rumor_auth_body_open(keys, ah[RUMOR_WIRE_AUTH_KEY],
							      rumor_be_ld64(ah + RUMOR_WIRE_AUTH_NONCE), r,
							      ah + RUMOR_WIRE_AUTH_LEN, pt, blen,
							      ah + RUMOR_WIRE_AUTH_BODYTAG), 0);
		else
			assert_int_equal(rumor_auth_body_verify(keys, ah[RUMOR_WIRE_AUTH_KEY],
								rumor_be_ld64(ah + RUMOR_WIRE_AUTH_NONCE),
								r, ah + RUMOR_WIRE_AUTH_LEN, blen,
								ah + RUMOR_WIRE_AUTH_BODYTAG), 0);
		assert_int_equal(rumor_be_ld16(ah + RUMOR_WIRE_AUTH_DST), p[5]); /* dst MAC = id */
		assert_int_equal(rumor_be_ld16(r + 14), SELF);
		assert_true(c > last);
		last = c;
	}
	rte_pktmbuf_free_bulk(out, k);
	return k;
}

static void take_msgs(struct fixture *f)
{
	void *msg;

	while (rte_ring_dequeue(f->n.dp2cp, &msg) == 0)
		rte_mempool_put(f->n.msg_pool, msg);
}

/* Each refusal under its own reason, one frame at a time; good frames taken and relayed
 * sealed. */
static void test_refusals(void **state)
{
	struct fixture *f = fx_start(false);
	struct rte_mbuf *m;

	(void)state;
	inject1(f, mk_frame(2, 2, 1, 1, 1, SEAL_GMAC));
	assert_int_equal(f->n.stats->rx_frames_new, 1);
	assert_int_equal(check_tx(f), 1);
	/* the same bytes again: the counter was seen */
	inject1(f, mk_frame(2, 2, 1, 1, 1, SEAL_GMAC));
	assert_int_equal(drops(f, "auth_replay"), 1);
	/* a key we do not hold (id 9 is only in the senders' ring) */
	inject1(f, mk_frame(2, 2, 2, 9, 2, SEAL_GMAC));
	assert_int_equal(drops(f, "auth_no_key"), 1);
	/* hop tag wrong */
	m = mk_frame(2, 2, 3, 1, 3, SEAL_GMAC);
	*at(m, RUMOR_WIRE_L2L4_LEN + RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_HOPTAG) ^= 1;
	inject1(f, m);
	assert_int_equal(drops(f, "auth_bad_tag"), 1);
	/* a key holder relays it with another body tag (hop sealed right): the origin's seal
	 * does not match the body */
	m = mk_frame(2, 3, 4, 1, 4, SEAL_GMAC);
	*at(m, RUMOR_WIRE_L2L4_LEN + RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_BODYTAG) ^= 1;
	assert_int_equal(rumor_auth_hop_seal(keys, at(m, RUMOR_WIRE_L2L4_LEN)), 0);
	inject1(f, m);
	assert_int_equal(drops(f, "auth_bad_body"), 1);
	/* ciphertext while we take plaintext: its own reason, not auth_no_key */
	inject1(f, mk_frame(2, 2, 5, 1, 5, SEAL_ENC));
	assert_int_equal(drops(f, "auth_enc_unexpected"), 1);
	assert_int_equal(drops(f, "auth_enc_missing"), 0);
	assert_int_equal(f->n.stats->rx_frames_new, 1);
	assert_int_equal(check_tx(f), 0);
	take_msgs(f);
	fx_stop(f);
}

/* The same in one RX burst (the relay checks a burst's hop tags at once): good frames, a
 * replay of one inside the burst, a wrong tag, an unknown key, a changed body, interleaved. */
static void test_burst(void **state)
{
	struct fixture *f = fx_start(false);
	struct rte_mbuf *m[32];
	unsigned k = 0, good = 0;

	(void)state;
	for (unsigned i = 0; i < 24; i++) {
		uint16_t origin = (uint16_t)(2 + i % 3);
		uint64_t seq = 1 + i / 3;

		switch (i % 6) {
		case 3:
			m[k] = mk_frame(origin, origin, seq, 1, 100 + i, SEAL_GMAC);
			*at(m[k], RUMOR_WIRE_L2L4_LEN + RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_HOPTAG +
				  15) ^= 0x80;
			break;
		case 5:
			m[k] = mk_frame(origin, origin, seq, 1, 100 + i, SEAL_GMAC);
			*at(m[k], RUMOR_WIRE_L2L4_LEN + RUMOR_WIRE_HDR_LEN +
					  RUMOR_WIRE_AUTH_BODYTAG + 7) ^= 4;
			rumor_auth_hop_seal(keys, at(m[k], RUMOR_WIRE_L2L4_LEN));
			break;
		default:
			m[k] = mk_frame(origin, origin, seq, 1, 100 + i, SEAL_GMAC);
			good++;
		}
		k++;
		if (i == 7) /* frame 0 (origin 2, sender 2, counter +100) once more */
			m[k++] = mk_frame(2, 2, 1, 1, 100, SEAL_GMAC);
	}
	inject(f, m, k);
	assert_int_equal(f->n.stats->rx_frames_new, good);
	assert_int_equal(drops(f, "auth_replay"), 1);
	assert_int_equal(drops(f, "auth_bad_tag"), 4);
	assert_int_equal(drops(f, "auth_bad_body"), 4);
	assert_int_equal(auth_drops(f), 9);
	assert_int_equal(check_tx(f), good);
	assert_int_equal(f->n.stats->auth_rx_by_key[1], good + 4);
	take_msgs(f);
	fx_stop(f);
}

/* [auth] encrypt = true: plaintext is refused as auth_enc_missing, ciphertext taken. */
static void test_encrypt_mismatch(void **state)
{
	struct fixture *f = fx_start(true);

	(void)state;
	inject1(f, mk_frame(2, 2, 1, 1, 1, SEAL_GMAC));
	assert_int_equal(drops(f, "auth_enc_missing"), 1);
	assert_int_equal(drops(f, "auth_enc_unexpected"), 0);
	assert_int_equal(drops(f, "auth_no_key"), 0);
	assert_int_equal(f->n.stats->rx_frames_new, 0);
	inject1(f, mk_frame(2, 2, 2, 1, 2, SEAL_ENC));
	assert_int_equal(f->n.stats->rx_frames_new, 1);
	assert_int_equal(auth_drops(f), 1);
	assert_int_equal(check_tx(f), 1);
	take_msgs(f);
	fx_stop(f);
}

/* Our own events: the frame goes out with our body seal and hop seal (encrypt off and on). */
static void originate_one(bool encrypt)
{
	struct fixture *f = fx_start(encrypt);
	struct rumor_msg *m;
	uint8_t ev[40];
	void *obj;

	assert_int_equal(rte_mempool_get(f->n.msg_pool, &obj), 0);
	memset(obj, 0, sizeof(struct rumor_msg));
	m = obj;
	m->type = RUMOR_MSG_ORIGINATE;
	m->u.originate.req_id = 1;
	memset(ev, 'o', sizeof(ev));
	assert_int_equal(rumor_msg_originate_add(m, ev, sizeof(ev)), 0);
	assert_int_equal(rte_ring_enqueue(f->n.cp2dp, m), 0);
	dp_node_poll(&f->n, 1000);
	dp_node_poll(&f->n, 100000); /* past flush_us: the frame closes */
	assert_int_equal(f->n.stats->originated_frames, 1);
	assert_int_equal(check_tx(f), 1);
	take_msgs(f);
	fx_stop(f);
}

static void test_originate(void **state)
{
	(void)state;
	originate_one(false);
	originate_one(true);
}

int main(int argc, char **argv)
{
	char err[256];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_refusals, teardown),
		cmocka_unit_test_teardown(test_burst, teardown),
		cmocka_unit_test_teardown(test_encrypt_mismatch, teardown),
		cmocka_unit_test_teardown(test_originate, teardown),
	};
	FILE *kf;
	int rc;

	(void)argc;
	snprintf(keyring, sizeof(keyring), "/tmp/rumor-dp-auth-%d.keys", (int)getpid());
	/* the node holds key 1 only; the senders also hold 9 */
	kf = fopen(keyring, "w");
	if (kf == NULL || fputs("1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
				kf) < 0 || fclose(kf) != 0)
		return 1;
	keys = rumor_auth_new();
	if (keys == NULL) {
		fprintf(stderr, "no AES-NI/PCLMULQDQ: skipped\n");
		unlink(keyring);
		return 77;
	}
	if (rumor_auth_keyring_parse(keys, key_text, "test", err, sizeof(err)) != 2 ||
	    rumor_auth_use(keys, 1) != 0) {
		fprintf(stderr, "keyring: %s\n", err);
		return 1;
	}
	pkt_pool = dp_test_eal(argv[0], "rumor-dp-auth", "0", 1023, 0, 2048);
	if (pkt_pool == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(keyring);
	rumor_auth_free(keys);
	return rc;
}
