/* Unit tests of dp_arp (pure C): replies for our IP, resolution of dynamic peers, retry,
 * refresh and expiry with an injected clock, the anti-stealing policy, malformed frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dp_arp.h"
#include "dp_test_arp.h"
#include "rumor_be.h"
#include "rumor_msg.h"

#define MY_IP 0x0a000001u
#define P2_IP 0x0a000002u   /* static peer */
#define P3_IP 0x0a000003u   /* dynamic peer */

static const uint8_t my_mac[6] = { 2, 0, 0, 0, 0, 1 };
static const uint8_t p2_mac[6] = { 2, 0, 0, 0, 0, 2 };
static const uint8_t p3_mac[6] = { 2, 0, 0, 0, 0, 3 };
static const uint8_t evil_mac[6] = { 2, 0, 0, 0, 0, 0xee };
static const uint8_t bcast6[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

struct sink {
	unsigned sent;
	uint8_t last[DP_ARP_FRAME_LEN];
	unsigned updates;
	uint16_t upd_id;
	bool upd_null;
	uint8_t upd_mac[6];
};

static void s_send(void *ctx, const uint8_t *f, size_t len)
{
	struct sink *s = ctx;

	assert_int_equal(len, DP_ARP_FRAME_LEN);
	memcpy(s->last, f, len);
	s->sent++;
}

static void s_update(void *ctx, uint16_t id, const uint8_t *mac)
{
	struct sink *s = ctx;

	s->updates++;
	s->upd_id = id;
	s->upd_null = mac == NULL;
	if (mac)
		memcpy(s->upd_mac, mac, 6);
}

struct fx {
	struct dp_arp a;
	struct sink s;
	uint64_t ctr[RUMOR_DP_NIC_N];
};

static void fx_init(struct fx *f)
{
	struct dp_arp_ops ops = { s_send, s_update, &f->s };

	memset(f, 0, sizeof(*f));
	dp_arp_init(&f->a, MY_IP, my_mac, 100, 10000, &ops, f->ctr);
	assert_int_equal(dp_arp_add(&f->a, 2, P2_IP, p2_mac), 0);
	assert_int_equal(dp_arp_add(&f->a, 3, P3_IP, NULL), 0);
	assert_int_equal(dp_arp_add(&f->a, 4, P3_IP, NULL), -EEXIST);
	assert_int_equal(dp_arp_add(&f->a, 3, 0x0a000009u, NULL), -EEXIST);
}


static void test_reply_for_us(void **st)
{
	struct fx f;
	uint8_t b[DP_ARP_FRAME_LEN];

	(void)st;
	fx_init(&f);
	dp_test_arp_frame(b, 1, p2_mac, P2_IP, NULL, MY_IP);
	assert_int_equal(dp_arp_input(&f.a, b, DP_ARP_LEN, 5), 0);
	assert_int_equal(f.s.sent, 1);
	assert_memory_equal(f.s.last, p2_mac, 6);             /* unicast back */
	assert_memory_equal(f.s.last + 6, my_mac, 6);
	assert_int_equal(rumor_be_ld16(f.s.last + 20), 2);   /* reply */
	assert_memory_equal(f.s.last + 22, my_mac, 6);
	assert_int_equal(rumor_be_ld32(f.s.last + 28), MY_IP);
	assert_memory_equal(f.s.last + 32, p2_mac, 6);
	assert_int_equal(rumor_be_ld32(f.s.last + 38), P2_IP);
	assert_int_equal(f.ctr[RUMOR_DP_ARP_REQ_RX], 1);
	assert_int_equal(f.ctr[RUMOR_DP_ARP_REPLY_TX], 1);
	/* a request for another host: not answered */
	dp_test_arp_frame(b, 1, p2_mac, P2_IP, NULL, 0x0a000063u);
	assert_int_equal(dp_arp_input(&f.a, b, DP_ARP_LEN, 6), 0);
	assert_int_equal(f.s.sent, 1);
	assert_int_equal(f.ctr[RUMOR_DP_ARP_FOREIGN], 0); /* from a peer: not foreign */
	dp_test_arp_frame(b, 1, evil_mac, 0x0a000063u, NULL, 0x0a000064u);
	assert_int_equal(dp_arp_input(&f.a, b, DP_ARP_LEN, 6), 0);
	assert_int_equal(f.ctr[RUMOR_DP_ARP_FOREIGN], 1);
	assert_int_equal(f.s.sent, 1);
}

static void test_resolve_and_retry(void **st)
{
	struct fx f;
	uint8_t b[DP_ARP_FRAME_LEN];
	const struct dp_arp_entry *e;

	(void)st;
	fx_init(&f);
	assert_int_equal(f.a.unresolved, 1);
	assert_int_equal(dp_arp_next(&f.a), 0);
	/* the dynamic peer only is asked, by broadcast */
	assert_int_equal(dp_arp_tick(&f.a, 0), 1);
	assert_memory_equal(f.s.last, "\xff\xff\xff\xff\xff\xff", 6);
	assert_int_equal(rumor_be_ld16(f.s.last + 20), 1);
	assert_int_equal(rumor_be_ld32(f.s.last + 38), P3_IP);
	assert_int_equal(rumor_be_ld32(f.s.last + 28), MY_IP);
	assert_int_equal(dp_arp_tick(&f.a, 50), 0);  /* not due */
	assert_int_equal(dp_arp_tick(&f.a, 100), 1); /* retry */
	assert_int_equal(dp_arp_tick(&f.a, 150), 0);
	assert_int_equal(f.ctr[RUMOR_DP_ARP_REQ_TX], 2);
	/* the answer */
	dp_test_arp_frame(b, 2, p3_mac, P3_IP, my_mac, MY_IP);
	assert_int_equal(dp_arp_input(&f.a, b, DP_ARP_LEN, 160), 0);
	e = dp_arp_find(&f.a, P3_IP);
	assert_int_equal(e->state, DP_ARP_RESOLVED);
	assert_memory_equal(e->mac, p3_mac, 6);
	assert_int_equal(f.s.updates, 1);
	assert_int_equal(f.s.upd_id, 3);
	assert_false(f.s.upd_null);
	assert_memory_equal(f.s.upd_mac, p3_mac, 6);
	assert_int_equal(f.a.unresolved, 0);
	assert_int_equal(f.ctr[RUMOR_DP_ARP_REPLY_RX], 1);
	assert_int_equal(f.ctr[RUMOR_DP_ARP_RESOLVED], 1);
	/* a second, late reply with another MAC: the first answer won */
	dp_test_arp_frame(b, 2, evil_mac, P3_IP, my_mac, MY_IP);
	assert_int_equal(dp_arp_input(&f.a, b, DP_ARP_LEN, 170), 0);
	assert_memory_equal(e->mac, p3_mac, 6);
	assert_int_equal(f.s.updates, 1);
	assert_int_equal(f.ctr[RUMOR_DP_ARP_UNSOLICITED], 1);
	/* ... and it starts a re-check: the real peer's answer keeps its MAC */
	assert_int_equal(dp_arp_tick(&f.a, 171), 1);
	dp_test_arp_frame(b, 2, p3_mac, P3_IP, my_mac, MY_IP);
	assert_int_equal(dp_arp_input(&f.a, b, DP_ARP_LEN, 172), 0);
	assert_memory_equal(e->mac, p3_mac, 6);
	assert_int_equal(f.s.updates, 1);
	assert_int_equal(e->tries, 0);
}

static void test_refresh_expire(void **st)
{
	struct fx f;
	uint8_t b[DP_ARP_FRAME_LEN];
	const struct dp_arp_entry *e;
	uint64_t t;

	(void)st;
	fx_init(&f);
	dp_arp_tick(&f.a, 0);
	dp_test_arp_frame(b, 2, p3_mac, P3_IP, my_mac, MY_IP);
	dp_arp_input(&f.a, b, DP_ARP_LEN, 10);
	e = dp_arp_find(&f.a, P3_IP);
	f.s.sent = 0;
	assert_int_equal(dp_arp_next(&f.a), 10 + 10000);
	assert_int_equal(dp_arp_tick(&f.a, 10009), 0);
	/* refresh: asked, MAC kept meanwhile; answered: confirmed again */
	assert_int_equal(dp_arp_tick(&f.a, 10010), 1);
	assert_int_equal(e->state, DP_ARP_RESOLVED);
	dp_arp_input(&f.a, b, DP_ARP_LEN, 10020);
	assert_int_equal(e->tries, 0);
	assert_int_equal(e->confirmed, 10020);
	assert_int_equal(f.s.updates, 1);
	/* next refresh unanswered: DP_ARP_TRIES requests, then the MAC is dropped */
	t = 10020 + 10000;
	for (unsigned i = 0; i < DP_ARP_TRIES; i++, t += 100) {
		assert_int_equal(dp_arp_tick(&f.a, t), 1);
		assert_int_equal(e->state, DP_ARP_RESOLVED);
	}
	assert_int_equal(dp_arp_tick(&f.a, t), 1);
	assert_int_equal(e->state, DP_ARP_UNRESOLVED);
	assert_int_equal(f.ctr[RUMOR_DP_ARP_EXPIRED], 1);
	assert_int_equal(f.s.updates, 2);
	assert_true(f.s.upd_null);
	assert_int_equal(f.a.unresolved, 1);
	/* it comes back */
	dp_arp_input(&f.a, b, DP_ARP_LEN, t + 1);
	assert_int_equal(e->state, DP_ARP_RESOLVED);
	assert_int_equal(f.s.updates, 3);
	assert_int_equal(f.a.unresolved, 0);
}

static void test_no_stealing(void **st)
{
	struct fx f;
	uint8_t b[DP_ARP_FRAME_LEN];
	const struct dp_arp_entry *e2, *e3;

	(void)st;
	fx_init(&f);
	e2 = dp_arp_find(&f.a, P2_IP);
	e3 = dp_arp_find(&f.a, P3_IP);
	/* unsolicited reply before we asked: not learned */
	dp_test_arp_frame(b, 2, evil_mac, P3_IP, my_mac, MY_IP);
	dp_arp_input(&f.a, b, DP_ARP_LEN, 0);
	assert_int_equal(e3->state, DP_ARP_UNRESOLVED);
	assert_int_equal(f.ctr[RUMOR_DP_ARP_UNSOLICITED], 1);
	/* gratuitous ARP (request and reply forms) for the static peer */
	dp_test_arp_frame(b, 1, evil_mac, P2_IP, NULL, P2_IP);
	dp_arp_input(&f.a, b, DP_ARP_LEN, 1);
	dp_test_arp_frame(b, 2, evil_mac, P2_IP, bcast6, P2_IP);
	dp_arp_input(&f.a, b, DP_ARP_LEN, 1);
	/* and a request for us from the static peer's IP with another MAC */
	dp_test_arp_frame(b, 1, evil_mac, P2_IP, NULL, MY_IP);
	dp_arp_input(&f.a, b, DP_ARP_LEN, 1);
	assert_memory_equal(e2->mac, p2_mac, 6);
	assert_int_equal(e2->state, DP_ARP_STATIC);
	assert_int_equal(f.ctr[RUMOR_DP_ARP_STATIC_CONFLICT], 3);
	assert_int_equal(f.s.updates, 0);
	/* resolve the dynamic one, then a gratuitous ARP claims it: ignored */
	dp_arp_tick(&f.a, 2);
	dp_test_arp_frame(b, 2, p3_mac, P3_IP, my_mac, MY_IP);
	dp_arp_input(&f.a, b, DP_ARP_LEN, 3);
	dp_test_arp_frame(b, 1, evil_mac, P3_IP, NULL, P3_IP);
	dp_arp_input(&f.a, b, DP_ARP_LEN, 4);
	dp_test_arp_frame(b, 1, evil_mac, P3_IP, NULL, MY_IP);
	dp_arp_input(&f.a, b, DP_ARP_LEN, 4);
	assert_memory_equal(e3->mac, p3_mac, 6);
	assert_int_equal(f.ctr[RUMOR_DP_ARP_UNSOLICITED], 3);
	assert_int_equal(f.s.updates, 1);
	/* someone claims our IP */
	dp_test_arp_frame(b, 2, evil_mac, MY_IP, NULL, MY_IP);
	dp_arp_input(&f.a, b, DP_ARP_LEN, 5);
	assert_int_equal(f.ctr[RUMOR_DP_ARP_IP_CONFLICT], 1);
}

static void test_learn_from_request(void **st)
{
	struct fx f;
	uint8_t b[DP_ARP_FRAME_LEN];

	(void)st;
	fx_init(&f);
	dp_test_arp_frame(b, 1, p3_mac, P3_IP, NULL, MY_IP);
	dp_arp_input(&f.a, b, DP_ARP_LEN, 7);
	assert_int_equal(f.s.sent, 1); /* answered */
	assert_int_equal(dp_arp_find(&f.a, P3_IP)->state, DP_ARP_RESOLVED);
	assert_int_equal(f.s.updates, 1);
	assert_int_equal(f.a.unresolved, 0);
	assert_int_equal(dp_arp_next(&f.a), 7 + 10000);
}

static void test_malformed(void **st)
{
	struct fx f;
	uint8_t b[DP_ARP_FRAME_LEN];
	static const uint8_t mcast[6] = { 1, 0, 0x5e, 0, 0, 1 }, zero[6] = { 0 };

	(void)st;
	fx_init(&f);
	dp_test_arp_frame(b, 1, p2_mac, P2_IP, NULL, MY_IP);
	assert_int_equal(dp_arp_input(&f.a, b, DP_ARP_LEN - 1, 0), -EBADMSG);
	b[14] = 9;
	assert_int_equal(dp_arp_input(&f.a, b, DP_ARP_LEN, 0), -EBADMSG);
	dp_test_arp_frame(b, 1, p2_mac, P2_IP, NULL, MY_IP);
	b[16] = 0x86;
	assert_int_equal(dp_arp_input(&f.a, b, DP_ARP_LEN, 0), -EBADMSG);
	dp_test_arp_frame(b, 1, p2_mac, P2_IP, NULL, MY_IP);
	b[18] = 8;
	assert_int_equal(dp_arp_input(&f.a, b, DP_ARP_LEN, 0), -EBADMSG);
	dp_test_arp_frame(b, 3, p2_mac, P2_IP, NULL, MY_IP);
	assert_int_equal(dp_arp_input(&f.a, b, DP_ARP_LEN, 0), -EBADMSG);
	dp_test_arp_frame(b, 1, mcast, P2_IP, NULL, MY_IP);
	assert_int_equal(dp_arp_input(&f.a, b, DP_ARP_LEN, 0), -EBADMSG);
	dp_test_arp_frame(b, 1, zero, P2_IP, NULL, MY_IP);
	assert_int_equal(dp_arp_input(&f.a, b, DP_ARP_LEN, 0), -EBADMSG);
	assert_int_equal(f.ctr[RUMOR_DP_ARP_MALFORMED], 7);
	assert_int_equal(f.s.sent, 0);
	assert_int_equal(f.ctr[RUMOR_DP_ARP_REQ_RX], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_for_us),
		cmocka_unit_test(test_resolve_and_retry),
		cmocka_unit_test(test_refresh_expire),
		cmocka_unit_test(test_no_stealing),
		cmocka_unit_test(test_learn_from_request),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
