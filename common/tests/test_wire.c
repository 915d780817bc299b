/* Tests for the gossip wire codec: round trips, MTU cuts, one case per decoder error,
 * truncation at every offset and random corruption (run under ASan to catch overreads). */
#include <errno.h>
#include <stdlib.h>

#include "test_util.h"

#include "rumor_be.h"
#include "rumor_wire.h"

#define CLUSTER 0xC0FFEEu
#define ORIGIN 3
#define SENDER 5
#define FIRST_SEQ 10
#define FRAME_MAX 8192

static const struct rumor_wire_l2l4 addr = {
	.dst_mac = { 0x02, 0, 0, 0, 0, 0x05 },
	.src_mac = { 0x02, 0, 0, 0, 0, 0x03 },
	.src_ip = 0x0a000003,
	.dst_ip = 0x0a000005,
	.src_port = 40000,
	.dst_port = RUMOR_WIRE_PORT,
};

/* Frame offsets used to corrupt specific fields. */
#define OFF_IP RUMOR_WIRE_ETH_LEN
#define OFF_UDP (OFF_IP + RUMOR_WIRE_IP_LEN)
#define OFF_HDR RUMOR_WIRE_L2L4_LEN
#define OFF_BODY RUMOR_WIRE_PREFIX_LEN

/* Recompute the IPv4 header checksum after editing the header (written independently of the
 * codec's own). */
static void fix_ip_csum(uint8_t *f)
{
	uint32_t sum = 0;

	rumor_be_st16(f + OFF_IP + 10, 0);
	for (int i = 0; i < 20; i += 2)
		sum += rumor_be_ld16(f + OFF_IP + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	rumor_be_st16(f + OFF_IP + 10, (uint16_t)~sum);
}

static void fill_payload(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 131 + i * 7);
}

static void std_hdr(struct rumor_wire_hdr *h, uint8_t type, uint16_t nev, uint16_t nclk)
{
	memset(h, 0, sizeof(*h));
	h->type = type;
	h->flags = 0;
	h->rounds_left = 4;
	h->cluster_id = CLUSTER;
	h->origin = ORIGIN;
	h->sender = SENDER;
	h->first_seq = FIRST_SEQ;
	h->event_count = nev;
	h->clock_count = nclk;
}

static void std_clock(struct rumor_vc *c, uint16_t nev)
{
	rumor_vc_init(c);
	rumor_vc_set(c, 1, 4);
	rumor_vc_set(c, ORIGIN, FIRST_SEQ + nev - 1u);
	rumor_vc_set(c, 7, 2);
}

/* A valid frame of @type with @nev events of @evlen bytes (evlen < 0: varying sizes). */
static size_t make_frame(uint8_t *f, uint8_t type, uint16_t nev, int evlen)
{
	uint8_t body[FRAME_MAX];
	struct rumor_wire_body b;
	struct rumor_wire_hdr h;
	struct rumor_vc c;
	int n;

	std_clock(&c, nev);
	assert_int_equal(rumor_wire_body_start(&b, body, sizeof(body), &c), 0);
	for (uint16_t i = 0; i < nev; i++) {
		uint8_t p[1024];
		size_t len = evlen >= 0 ? (size_t)evlen : (size_t)(i * 13 % 97);
		struct rumor_event_id id;

		fill_payload(p, len, i);
		rumor_event_id_compute(ORIGIN, FIRST_SEQ + i, p, len, &id);
		assert_int_equal(rumor_wire_body_add(&b, &id, p, len), 0);
	}
	std_hdr(&h, type, nev, c.n);
	n = rumor_wire_encode(f, FRAME_MAX, &addr, &h, body, b.len);
	assert_true(n > 0);
	return (size_t)n;
}

static size_t make_pull_req(uint8_t *f, uint16_t nev)
{
	struct rumor_wire_hdr h;
	int n;

	std_hdr(&h, RUMOR_WIRE_PULL_REQ, nev, 0);
	n = rumor_wire_encode(f, FRAME_MAX, &addr, &h, NULL, 0);
	assert_true(n > 0);
	return (size_t)n;
}

/* Decode a copy in a buffer of exactly @len bytes so ASan flags any read past it. */
static int decode_exact(const uint8_t *f, size_t len, unsigned flags, struct rumor_wire_frame *out)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, f, len);
	rc = rumor_wire_decode(copy, len, CLUSTER, RUMOR_WIRE_PORT, flags, out);
	free(copy);
	return rc;
}

static struct rumor_wire_frame *new_frame(void)
{
	struct rumor_wire_frame *fr = calloc(1, sizeof(*fr));

	assert_non_null(fr);
	return fr;
}

static void check_decoded(size_t len, const struct rumor_wire_frame *fr,
			  uint8_t type, uint16_t nev, int evlen)
{
	struct rumor_vc c;

	assert_memory_equal(fr->l2l4.dst_mac, addr.dst_mac, 6);
	assert_memory_equal(fr->l2l4.src_mac, addr.src_mac, 6);
	assert_int_equal(fr->l2l4.src_ip, addr.src_ip);
	assert_int_equal(fr->l2l4.dst_ip, addr.dst_ip);
	assert_int_equal(fr->l2l4.src_port, addr.src_port);
	assert_int_equal(fr->l2l4.dst_port, addr.dst_port);
	assert_int_equal(fr->hdr.type, type);
	assert_int_equal(fr->hdr.rounds_left, 4);
	assert_int_equal(fr->hdr.cluster_id, CLUSTER);
	assert_int_equal(fr->hdr.origin, ORIGIN);
	assert_int_equal(fr->hdr.sender, SENDER);
	assert_int_equal(fr->hdr.first_seq, FIRST_SEQ);
	assert_int_equal(fr->hdr.event_count, nev);
	if (type == RUMOR_WIRE_PULL_REQ) {
		assert_int_equal(fr->clock.n, 0);
		return;
	}
	std_clock(&c, nev);
	assert_int_equal(rumor_vc_compare(&c, &fr->clock), RUMOR_VC_EQUAL);
	assert_int_equal(fr->body_len, len - OFF_BODY);
	size_t off = 3 * RUMOR_VC_WIRE_ENTRY;

	for (uint16_t i = 0; i < nev; i++) {
		uint8_t p[1024];
		size_t elen = evlen >= 0 ? (size_t)evlen : (size_t)(i * 13 % 97);
		struct rumor_event_id id;

		off += RUMOR_WIRE_EVENT_HDR_LEN;
		assert_ptr_equal(fr->ev[i].payload, fr->body + off);
		off += elen;
		fill_payload(p, elen, i);
		rumor_event_id_compute(ORIGIN, FIRST_SEQ + i, p, elen, &id);
		assert_int_equal(fr->ev[i].len, elen);
		assert_memory_equal(fr->ev[i].payload, p, elen);
		assert_true(rumor_event_id_equal(&fr->ev[i].id, &id));
	}
}

static void wire_roundtrip_one_event(void **state)
{
	uint8_t f[FRAME_MAX];
	struct rumor_wire_frame *fr = new_frame();
	size_t len = make_frame(f, RUMOR_WIRE_GOSSIP, 1, 64);

	(void)state;
	assert_int_equal(len, OFF_BODY + 30 + 18 + 64);
	/* Wire layout spot checks. */
	assert_int_equal(rumor_be_ld16(f + 12), 0x0800);
	assert_int_equal(f[OFF_IP], 0x45);
	assert_int_equal(rumor_be_ld16(f + OFF_IP + 2), len - RUMOR_WIRE_ETH_LEN);
	assert_int_equal(rumor_be_ld16(f + OFF_UDP + 4), len - OFF_UDP);
	assert_int_equal(rumor_be_ld16(f + OFF_UDP + 2), RUMOR_WIRE_PORT);
	assert_memory_equal(f + OFF_HDR, "RUMR", 4);
	assert_int_equal(f[OFF_HDR + 4], RUMOR_WIRE_VERSION);
	assert_int_equal(decode_exact(f, len, RUMOR_WIRE_DEC_VERIFY_IDS, fr), 0);
	assert_int_equal(rumor_wire_decode(f, len, CLUSTER, RUMOR_WIRE_PORT,
					   RUMOR_WIRE_DEC_VERIFY_IDS, fr), 0);
	check_decoded(len, fr, RUMOR_WIRE_GOSSIP, 1, 64);
	assert_ptr_equal(fr->body, f + OFF_BODY);
	assert_ptr_equal(fr->ev[0].payload, f + len - 64);
	free(fr);
}

static void wire_roundtrip_n_events(void **state)
{
	uint8_t f[FRAME_MAX];
	struct rumor_wire_frame *fr = new_frame();

	(void)state;
	for (uint16_t n = 1; n <= 40; n++) {
		size_t len = make_frame(f, RUMOR_WIRE_GOSSIP, n, -1);

		assert_int_equal(rumor_wire_decode(f, len, CLUSTER, RUMOR_WIRE_PORT,
						   RUMOR_WIRE_DEC_VERIFY_IDS, fr), 0);
		check_decoded(len, fr, RUMOR_WIRE_GOSSIP, n, -1);
	}
	/* The most events a frame may carry (empty payloads). */
	size_t len = make_frame(f, RUMOR_WIRE_GOSSIP, RUMOR_WIRE_MAX_EVENTS, 0);

	assert_int_equal(rumor_wire_decode(f, len, CLUSTER, RUMOR_WIRE_PORT,
					   RUMOR_WIRE_DEC_VERIFY_IDS, fr), 0);
	check_decoded(len, fr, RUMOR_WIRE_GOSSIP, RUMOR_WIRE_MAX_EVENTS, 0);
	free(fr);
}

static void wire_pull_roundtrip(void **state)
{
	uint8_t f[FRAME_MAX];
	struct rumor_wire_frame *fr = new_frame();
	size_t len;

	(void)state;
	len = make_pull_req(f, 7);
	assert_int_equal(len, OFF_BODY);
	assert_int_equal(decode_exact(f, len, 0, fr), 0);
	check_decoded(len, fr, RUMOR_WIRE_PULL_REQ, 7, 0);
	assert_int_equal(fr->body_len, 0);
	len = make_frame(f, RUMOR_WIRE_PULL_RESP, 5, 100);
	assert_int_equal(decode_exact(f, len, RUMOR_WIRE_DEC_VERIFY_IDS, fr), 0);
	check_decoded(len, fr, RUMOR_WIRE_PULL_RESP, 5, 100);
	free(fr);
}

static void wire_mtu_cut(void **state)
{
	struct test_rng r;
	uint8_t body[FRAME_MAX];
	uint8_t f[FRAME_MAX];
	uint8_t p[1500];
	struct rumor_wire_frame *fr = new_frame();

	(void)state;
	test_rng_seed(&r, 21);
	memset(p, 0xab, sizeof(p));
	for (int it = 0; it < 300; it++) {
		unsigned mtu = it == 0 ? RUMOR_WIRE_MTU_DEFAULT : 200 + (unsigned)test_rng_below(&r, 1400);
		size_t cap = rumor_wire_body_max(mtu);
		struct rumor_wire_body b;
		struct rumor_vc c;
		uint16_t n = 0;
		int rc;

		std_clock(&c, 1);
		assert_int_equal(rumor_wire_body_start(&b, body, cap, &c), 0);
		for (;;) {
			size_t len = it == 0 ? 64 : (size_t)test_rng_below(&r, 200);
			size_t before = b.len;
			struct rumor_event_id id;

			rumor_event_id_compute(ORIGIN, FIRST_SEQ + n, p, len, &id);
			rc = rumor_wire_body_add(&b, &id, p, len);
			if (n == RUMOR_WIRE_MAX_EVENTS) {
				assert_int_equal(rc, RUMOR_WIRE_EEVCNT);
				break;
			}
			if (before + rumor_wire_event_size(len) > cap) {
				assert_int_equal(rc, RUMOR_WIRE_ENOBUFS);
				assert_int_equal(b.len, before);
				assert_int_equal(b.events, n);
				break;
			}
			assert_int_equal(rc, 0);
			assert_int_equal(b.len, before + rumor_wire_event_size(len));
			n++;
		}
		if (it == 0) /* (1444 - 30) / 82 = 17 events of 64 B in a 1500-byte MTU */
			assert_int_equal(n, 17);
		/* The cut frame fits the MTU and decodes (clock must name the last seq). */
		struct rumor_wire_hdr h;

		std_hdr(&h, RUMOR_WIRE_GOSSIP, n, c.n);
		if (n == 0)
			continue;
		std_clock(&c, n);
		rumor_vc_encode(&c, body, cap);
		int flen = rumor_wire_encode(f, sizeof(f), &addr, &h, body, b.len);

		assert_true(flen > 0);
		assert_true((size_t)flen <= mtu + RUMOR_WIRE_ETH_LEN);
		assert_int_equal(decode_exact(f, (size_t)flen, 0, fr), 0);
		assert_int_equal(fr->hdr.event_count, n);
	}
	free(fr);
}

static void wire_body_limits(void **state)
{
	static uint8_t body[70000];
	static uint8_t payload[65536];
	struct rumor_wire_body b;
	struct rumor_event_id id = { 1, 2 };
	struct rumor_vc c;
	uint8_t small[10];

	(void)state;
	std_clock(&c, 1);
	assert_int_equal(rumor_wire_body_start(&b, small, sizeof(small), &c), RUMOR_WIRE_ENOBUFS);
	assert_int_equal(rumor_wire_body_start(&b, body, 30, &c), 0);
	assert_int_equal(rumor_wire_body_add(&b, &id, NULL, 0), RUMOR_WIRE_ENOBUFS);
	assert_int_equal(rumor_wire_body_start(&b, body, 48, &c), 0);
	assert_int_equal(rumor_wire_body_add(&b, &id, NULL, 0), 0);
	assert_int_equal(b.len, 48);
	assert_int_equal(rumor_wire_body_start(&b, body, sizeof(body), &c), 0);
	assert_int_equal(rumor_wire_body_add(&b, &id, payload, 65536), RUMOR_WIRE_EINVAL);
	assert_int_equal(rumor_wire_body_add(&b, &id, payload, 65535), 0);
	assert_int_equal(rumor_wire_body_start(&b, body, sizeof(body), &c), 0);
	for (int i = 0; i < RUMOR_WIRE_MAX_EVENTS; i++)
		assert_int_equal(rumor_wire_body_add(&b, &id, NULL, 0), 0);
	assert_int_equal(rumor_wire_body_add(&b, &id, NULL, 0), RUMOR_WIRE_EEVCNT);
	assert_int_equal(b.events, RUMOR_WIRE_MAX_EVENTS);
}

static void wire_encode_limits(void **state)
{
	uint8_t f[FRAME_MAX];
	uint8_t body[100] = { 0 };
	struct rumor_wire_hdr h;

	(void)state;
	std_hdr(&h, RUMOR_WIRE_GOSSIP, 1, 0);
	assert_int_equal(rumor_wire_encode(f, OFF_BODY + 99, &addr, &h, body, 100),
			 RUMOR_WIRE_ENOBUFS);
	assert_int_equal(rumor_wire_encode(f, OFF_BODY + 100, &addr, &h, body, 100),
			 OFF_BODY + 100);
	assert_int_equal(rumor_wire_encode(f, sizeof(f), &addr, &h, body, 70000),
			 RUMOR_WIRE_EINVAL);
}

static void wire_patch_hop(void **state)
{
	uint8_t f[FRAME_MAX];
	struct rumor_wire_frame *fr = new_frame();
	size_t len = make_frame(f, RUMOR_WIRE_GOSSIP, 3, 10);

	(void)state;
	rumor_wire_patch_hop(f + OFF_HDR, 2, 1023);
	assert_int_equal(decode_exact(f, len, RUMOR_WIRE_DEC_VERIFY_IDS, fr), 0);
	assert_int_equal(fr->hdr.rounds_left, 2);
	assert_int_equal(fr->hdr.sender, 1023);
	assert_int_equal(fr->hdr.origin, ORIGIN);
	/* The header alone, as the dataplane writes it per peer. */
	struct rumor_wire_hdr h;
	uint8_t hb[RUMOR_WIRE_HDR_LEN];

	std_hdr(&h, RUMOR_WIRE_GOSSIP, 3, 3);
	h.flags = 0x5a;
	rumor_wire_put_hdr(hb, &h);
	assert_int_equal(hb[6], 0x5a);
	assert_int_equal(rumor_be_ld16(hb + 14), SENDER);
	free(fr);
}

static void wire_padding_allowed(void **state)
{
	uint8_t f[FRAME_MAX];
	struct rumor_wire_frame *fr = new_frame();
	size_t len = make_pull_req(f, 1);

	(void)state;
	/* Ethernet padding after the IP datagram is ignored. */
	memset(f + len, 0, 16);
	assert_int_equal(decode_exact(f, len + 16, 0, fr), 0);
	len = make_frame(f, RUMOR_WIRE_GOSSIP, 2, 5);
	memset(f + len, 0xee, 7);
	assert_int_equal(decode_exact(f, len + 7, RUMOR_WIRE_DEC_VERIFY_IDS, fr), 0);
	assert_int_equal(fr->body_len, len - OFF_BODY);
	free(fr);
}

static void wire_strerror_index(void **state)
{
	(void)state;
	for (int e = RUMOR_WIRE_ETRUNC; e > RUMOR_WIRE_ETRUNC - RUMOR_WIRE_ERR_COUNT; e--) {
		int idx = rumor_wire_err_index(e);

		assert_true(idx >= 0 && idx < RUMOR_WIRE_ERR_COUNT);
		assert_int_equal(idx, RUMOR_WIRE_ETRUNC - e);
		assert_string_not_equal(rumor_wire_strerror(e), "unknown error");
		for (int o = e + 1; o <= RUMOR_WIRE_ETRUNC; o++)
			assert_string_not_equal(rumor_wire_strerror(e), rumor_wire_strerror(o));
	}
	assert_int_equal(rumor_wire_err_index(RUMOR_WIRE_EINVAL), RUMOR_WIRE_ERR_COUNT - 1);
	assert_int_equal(rumor_wire_err_index(0), -1);
	assert_int_equal(rumor_wire_err_index(-1000), -1);
	assert_int_equal(rumor_wire_err_index(-1022), -1);
	assert_int_equal(rumor_wire_err_index(-EINVAL), -1);
	assert_string_equal(rumor_wire_strerror(-5), "unknown error");
	assert_string_equal(rumor_wire_strerror(0), "ok");
}

/* --- one case per decoder error: corrupt a valid frame, expect exactly that code --- */

static int decode_gossip_after(void (*corrupt)(uint8_t *f, size_t *len), unsigned flags)
{
	uint8_t f[FRAME_MAX];
	struct rumor_wire_frame *fr = new_frame();
	size_t len = make_frame(f, RUMOR_WIRE_GOSSIP, 4, 20);
	int rc;

	assert_int_equal(decode_exact(f, len, flags, fr), 0);
	corrupt(f, &len);
	rc = decode_exact(f, len, flags, fr);
	free(fr);
	return rc;
}

/* Rewrite IP/UDP lengths after the rumor part changed size. */
static void fix_lengths(uint8_t *f, size_t len)
{
	rumor_be_st16(f + OFF_IP + 2, (uint16_t)(len - RUMOR_WIRE_ETH_LEN));
	rumor_be_st16(f + OFF_UDP + 4, (uint16_t)(len - OFF_UDP));
	fix_ip_csum(f);
}

static void cut_l2(uint8_t *f, size_t *len) { (void)f; *len = RUMOR_WIRE_L2L4_LEN - 1; }
static void cut_hdr(uint8_t *f, size_t *len) { *len = OFF_HDR + 27; fix_lengths(f, *len); }
static void cut_clock(uint8_t *f, size_t *len) { *len = OFF_BODY + 25; fix_lengths(f, *len); }

static void err_etrunc(void **state)
{
	(void)state;
	assert_int_equal(decode_gossip_after(cut_l2, 0), RUMOR_WIRE_ETRUNC);
	assert_int_equal(decode_gossip_after(cut_hdr, 0), RUMOR_WIRE_ETRUNC);
	assert_int_equal(decode_gossip_after(cut_clock, 0), RUMOR_WIRE_ETRUNC);
}

static void c_ethertype(uint8_t *f, size_t *len) { (void)len; rumor_be_st16(f + 12, 0x86dd); }
static void c_vlan(uint8_t *f, size_t *len) { (void)len; rumor_be_st16(f + 12, 0x8100); }

static void err_enotip(void **state)
{
	(void)state;
	assert_int_equal(decode_gossip_after(c_ethertype, 0), RUMOR_WIRE_ENOTIP);
	assert_int_equal(decode_gossip_after(c_vlan, 0), RUMOR_WIRE_ENOTIP);
}

static void c_ipver(uint8_t *f, size_t *len) { (void)len; f[OFF_IP] = 0x65; fix_ip_csum(f); }
static void c_ihl(uint8_t *f, size_t *len) { (void)len; f[OFF_IP] = 0x46; fix_ip_csum(f); }
static void c_mf(uint8_t *f, size_t *len) { (void)len; rumor_be_st16(f + OFF_IP + 6, 0x2000); fix_ip_csum(f); }
static void c_fragoff(uint8_t *f, size_t *len) { (void)len; rumor_be_st16(f + OFF_IP + 6, 0x4001); fix_ip_csum(f); }
static void c_iptotal_big(uint8_t *f, size_t *len)
{
	rumor_be_st16(f + OFF_IP + 2, (uint16_t)(*len - RUMOR_WIRE_ETH_LEN + 1));
	fix_ip_csum(f);
}
static void c_iptotal_small(uint8_t *f, size_t *len) { (void)len; rumor_be_st16(f + OFF_IP + 2, 27); fix_ip_csum(f); }

static void err_eiphdr(void **state)
{
	(void)state;
	assert_int_equal(decode_gossip_after(c_ipver, 0), RUMOR_WIRE_EIPHDR);
	assert_int_equal(decode_gossip_after(c_ihl, 0), RUMOR_WIRE_EIPHDR);
	assert_int_equal(decode_gossip_after(c_mf, 0), RUMOR_WIRE_EIPHDR);
	assert_int_equal(decode_gossip_after(c_fragoff, 0), RUMOR_WIRE_EIPHDR);
	assert_int_equal(decode_gossip_after(c_iptotal_big, 0), RUMOR_WIRE_EIPHDR);
	assert_int_equal(decode_gossip_after(c_iptotal_small, 0), RUMOR_WIRE_EIPHDR);
}

static void c_ttl(uint8_t *f, size_t *len) { (void)len; f[OFF_IP + 8]--; }
static void c_csum(uint8_t *f, size_t *len) { (void)len; f[OFF_IP + 11] ^= 0x10; }

static void err_eipcsum(void **state)
{
	(void)state;
	assert_int_equal(decode_gossip_after(c_ttl, 0), RUMOR_WIRE_EIPCSUM);
	assert_int_equal(decode_gossip_after(c_csum, 0), RUMOR_WIRE_EIPCSUM);
}

static void c_tcp(uint8_t *f, size_t *len) { (void)len; f[OFF_IP + 9] = 6; fix_ip_csum(f); }

static void err_enotudp(void **state)
{
	(void)state;
	assert_int_equal(decode_gossip_after(c_tcp, 0), RUMOR_WIRE_ENOTUDP);
}

static void c_port(uint8_t *f, size_t *len) { (void)len; rumor_be_st16(f + OFF_UDP + 2, RUMOR_WIRE_PORT + 1); }

static void err_eport(void **state)
{
	(void)state;
	assert_int_equal(decode_gossip_after(c_port, 0), RUMOR_WIRE_EPORT);
}

static void c_udplen_minus(uint8_t *f, size_t *len) { (void)len; rumor_be_st16(f + OFF_UDP + 4, rumor_be_ld16(f + OFF_UDP + 4) - 1); }
static void c_udplen_plus(uint8_t *f, size_t *len) { (void)len; rumor_be_st16(f + OFF_UDP + 4, rumor_be_ld16(f + OFF_UDP + 4) + 1); }
static void c_udplen_tiny(uint8_t *f, size_t *len) { (void)len; rumor_be_st16(f + OFF_UDP + 4, 3); }

static void err_eudplen(void **state)
{
	(void)state;
	assert_int_equal(decode_gossip_after(c_udplen_minus, 0), RUMOR_WIRE_EUDPLEN);
	assert_int_equal(decode_gossip_after(c_udplen_plus, 0), RUMOR_WIRE_EUDPLEN);
	assert_int_equal(decode_gossip_after(c_udplen_tiny, 0), RUMOR_WIRE_EUDPLEN);
}

static void c_magic(uint8_t *f, size_t *len) { (void)len; f[OFF_HDR + 3] = 'X'; }

static void err_emagic(void **state)
{
	(void)state;
	assert_int_equal(decode_gossip_after(c_magic, 0), RUMOR_WIRE_EMAGIC);
}

static void c_version(uint8_t *f, size_t *len) { (void)len; f[OFF_HDR + 4] = 2; }

static void err_eversion(void **state)
{
	(void)state;
	assert_int_equal(decode_gossip_after(c_version, 0), RUMOR_WIRE_EVERSION);
}

static void c_type0(uint8_t *f, size_t *len) { (void)len; f[OFF_HDR + 5] = 0; }
static void c_type4(uint8_t *f, size_t *len) { (void)len; f[OFF_HDR + 5] = 4; }

static void err_etype(void **state)
{
	(void)state;
	assert_int_equal(decode_gossip_after(c_type0, 0), RUMOR_WIRE_ETYPE);
	assert_int_equal(decode_gossip_after(c_type4, 0), RUMOR_WIRE_ETYPE);
}

static void c_cluster(uint8_t *f, size_t *len) { (void)len; f[OFF_HDR + 11] ^= 1; }

static void err_ecluster(void **state)
{
	(void)state;
	assert_int_equal(decode_gossip_after(c_cluster, 0), RUMOR_WIRE_ECLUSTER);
}

static void c_origin0(uint8_t *f, size_t *len) { (void)len; rumor_be_st16(f + OFF_HDR + 12, 0); }
static void c_origin_big(uint8_t *f, size_t *len) { (void)len; rumor_be_st16(f + OFF_HDR + 12, 1024); }
static void c_sender0(uint8_t *f, size_t *len) { (void)len; rumor_be_st16(f + OFF_HDR + 14, 0); }
static void c_sender_big(uint8_t *f, size_t *len) { (void)len; rumor_be_st16(f + OFF_HDR + 14, 0xffff); }

static void err_enode(void **state)
{
	(void)state;
	assert_int_equal(decode_gossip_after(c_origin0, 0), RUMOR_WIRE_ENODE);
	assert_int_equal(decode_gossip_after(c_origin_big, 0), RUMOR_WIRE_ENODE);
	assert_int_equal(decode_gossip_after(c_sender0, 0), RUMOR_WIRE_ENODE);
	assert_int_equal(decode_gossip_after(c_sender_big, 0), RUMOR_WIRE_ENODE);
}

static void c_seq0(uint8_t *f, size_t *len) { (void)len; memset(f + OFF_HDR + 16, 0, 8); }
static void c_seq_wrap(uint8_t *f, size_t *len)
{
	(void)len;
	/* 4 events starting at UINT64_MAX - 2 would need seq UINT64_MAX + 1. */
	memset(f + OFF_HDR + 16, 0xff, 8);
	f[OFF_HDR + 23] = 0xfd;
}

static void err_eseq(void **state)
{
	(void)state;
	assert_int_equal(decode_gossip_after(c_seq0, 0), RUMOR_WIRE_ESEQ);
	assert_int_equal(decode_gossip_after(c_seq_wrap, 0), RUMOR_WIRE_ESEQ);
}

static void c_clkcnt(uint8_t *f, size_t *len) { (void)len; rumor_be_st16(f + OFF_HDR + 26, RUMOR_VC_MAX_ENTRIES + 1); }

static void err_eclockcnt(void **state)
{
	uint8_t f[FRAME_MAX];
	struct rumor_wire_frame *fr = new_frame();
	size_t len;

	(void)state;
	assert_int_equal(decode_gossip_after(c_clkcnt, 0), RUMOR_WIRE_ECLOCKCNT);
	/* PULL_REQ carries no clock. */
	len = make_pull_req(f, 2);
	rumor_be_st16(f + OFF_HDR + 26, 1);
	assert_int_equal(decode_exact(f, len, 0, fr), RUMOR_WIRE_ECLOCKCNT);
	free(fr);
}

static void c_clk_order(uint8_t *f, size_t *len) { (void)len; rumor_be_st16(f + OFF_BODY + 10, 9); } /* 1, 9, 7 */
static void c_clk_zero(uint8_t *f, size_t *len) { (void)len; memset(f + OFF_BODY + 22, 0, 8); }
static void c_clk_node(uint8_t *f, size_t *len) { (void)len; rumor_be_st16(f + OFF_BODY + 20, 2000); }

static void err_eclock(void **state)
{
	(void)state;
	assert_int_equal(decode_gossip_after(c_clk_order, 0), RUMOR_WIRE_ECLOCK);
	assert_int_equal(decode_gossip_after(c_clk_zero, 0), RUMOR_WIRE_ECLOCK);
	assert_int_equal(decode_gossip_after(c_clk_node, 0), RUMOR_WIRE_ECLOCK);
}

static void c_clk_orig(uint8_t *f, size_t *len) { (void)len; f[OFF_BODY + 19]++; }
static void c_evcnt_minus(uint8_t *f, size_t *len) { (void)len; rumor_be_st16(f + OFF_HDR + 24, 3); }
static void c_first_seq(uint8_t *f, size_t *len) { (void)len; f[OFF_HDR + 23]++; }

static void err_eclockorig(void **state)
{
	(void)state;
	assert_int_equal(decode_gossip_after(c_clk_orig, 0), RUMOR_WIRE_ECLOCKORIG);
	assert_int_equal(decode_gossip_after(c_evcnt_minus, 0), RUMOR_WIRE_ECLOCKORIG);
	assert_int_equal(decode_gossip_after(c_first_seq, 0), RUMOR_WIRE_ECLOCKORIG);
}

/* Keep the clock consistent (origin entry = first_seq + count - 1) while the count lies. */
static void set_count_consistent(uint8_t *f, uint16_t count)
{
	rumor_be_st16(f + OFF_HDR + 24, count);
	/* Clock entry 2 (bytes 10..19 of the body) is the origin's. */
	uint64_t last = FIRST_SEQ + (uint64_t)count - 1;

	for (int i = 0; i < 8; i++)
		f[OFF_BODY + 12 + i] = (uint8_t)(last >> (56 - 8 * i));
}

static void c_trailing(uint8_t *f, size_t *len) { f[*len] = 0; *len += 1; fix_lengths(f, *len); }
static void c_count_more(uint8_t *f, size_t *len) { (void)len; set_count_consistent(f, 5); }
static void c_count_less(uint8_t *f, size_t *len) { (void)len; set_count_consistent(f, 3); }
static void c_count_zero(uint8_t *f, size_t *len) { (void)len; set_count_consistent(f, 0); }
static void c_count_over(uint8_t *f, size_t *len) { (void)len; set_count_consistent(f, RUMOR_WIRE_MAX_EVENTS + 1); }

static void err_eevcnt(void **state)
{
	uint8_t f[FRAME_MAX];
	struct rumor_wire_frame *fr = new_frame();
	size_t len;

	(void)state;
	assert_int_equal(decode_gossip_after(c_trailing, 0), RUMOR_WIRE_EEVCNT);
	assert_int_equal(decode_gossip_after(c_count_more, 0), RUMOR_WIRE_EEVCNT);
	assert_int_equal(decode_gossip_after(c_count_less, 0), RUMOR_WIRE_EEVCNT);
	assert_int_equal(decode_gossip_after(c_count_zero, 0), RUMOR_WIRE_EEVCNT);
	assert_int_equal(decode_gossip_after(c_count_over, 0), RUMOR_WIRE_EEVCNT);
	/* PULL_REQ: no events asked, or a body where none belongs. */
	len = make_pull_req(f, 1);
	rumor_be_st16(f + OFF_HDR + 24, 0);
	assert_int_equal(decode_exact(f, len, 0, fr), RUMOR_WIRE_EEVCNT);
	len = make_pull_req(f, 1);
	f[len++] = 0;
	fix_lengths(f, len);
	assert_int_equal(decode_exact(f, len, 0, fr), RUMOR_WIRE_EEVCNT);
	free(fr);
}

/* Event 4 (last) starts at body + 30 + 3 * 38; its length field at +16. */
static void c_evlen_last(uint8_t *f, size_t *len) { (void)len; rumor_be_st16(f + OFF_BODY + 30 + 3 * 38 + 16, 21); }
static void c_evlen_first(uint8_t *f, size_t *len) { (void)len; rumor_be_st16(f + OFF_BODY + 30 + 16, 0xffff); }

static void err_eevlen(void **state)
{
	(void)state;
	assert_int_equal(decode_gossip_after(c_evlen_last, 0), RUMOR_WIRE_EEVLEN);
	assert_int_equal(decode_gossip_after(c_evlen_first, 0), RUMOR_WIRE_EEVLEN);
}

static void c_payload(uint8_t *f, size_t *len) { f[*len - 1] ^= 0x40; }
static void c_id(uint8_t *f, size_t *len) { (void)len; f[OFF_BODY + 30 + 38 + 5] ^= 1; }

static void err_eid(void **state)
{
	(void)state;
	assert_int_equal(decode_gossip_after(c_payload, RUMOR_WIRE_DEC_VERIFY_IDS), RUMOR_WIRE_EID);
	assert_int_equal(decode_gossip_after(c_id, RUMOR_WIRE_DEC_VERIFY_IDS), RUMOR_WIRE_EID);
	/* Without verification the same frames pass: ids are then the receiver's risk. */
	assert_int_equal(decode_gossip_after(c_payload, 0), 0);
	assert_int_equal(decode_gossip_after(c_id, 0), 0);
}

static void wire_truncation_every_offset(void **state)
{
	uint8_t f[FRAME_MAX];
	struct rumor_wire_frame *fr = new_frame();
	size_t len = make_frame(f, RUMOR_WIRE_GOSSIP, 6, -1);

	(void)state;
	assert_int_equal(decode_exact(f, len, RUMOR_WIRE_DEC_VERIFY_IDS, fr), 0);
	for (size_t cut = 0; cut < len; cut++) {
		int rc = decode_exact(f, cut, RUMOR_WIRE_DEC_VERIFY_IDS, fr);

		assert_true(rc < 0);
		assert_true(rumor_wire_err_index(rc) >= 0);
		/* Frame cut but the IP/UDP lengths rewritten to match: the rumor decoder's
		 * own bounds are what stop it. */
		if (cut >= OFF_UDP + RUMOR_WIRE_UDP_LEN) {
			uint8_t g[FRAME_MAX];

			memcpy(g, f, cut);
			fix_lengths(g, cut);
			rc = decode_exact(g, cut, RUMOR_WIRE_DEC_VERIFY_IDS, fr);
			assert_true(rc < 0);
			assert_true(rumor_wire_err_index(rc) >= 0);
		}
	}
	/* decode_rumor on every prefix of the rumor part. */
	for (size_t cut = 0; cut < len - OFF_HDR; cut++) {
		uint8_t *copy = malloc(cut + 1);

		memcpy(copy, f + OFF_HDR, cut);
		int rc = rumor_wire_decode_rumor(copy, cut, CLUSTER, RUMOR_WIRE_DEC_VERIFY_IDS, fr);

		assert_true(rc < 0 && rumor_wire_err_index(rc) >= 0);
		free(copy);
	}
	free(fr);
}

static void wire_random_corruption(void **state)
{
	struct test_rng r;
	uint8_t f[FRAME_MAX];
	struct rumor_wire_frame *fr = new_frame();
	unsigned ok = 0, bad = 0;

	(void)state;
	test_rng_seed(&r, 31);
	for (int it = 0; it < 20000; it++) {
		size_t len = make_frame(f, (uint8_t)(1 + 2 * (it & 1)), (uint16_t)(1 + it % 9), -1);
		unsigned flips = 1 + (unsigned)test_rng_below(&r, 3);

		for (unsigned k = 0; k < flips; k++) {
			/* Bias towards the rumor part, where the interesting checks are. */
			size_t at = test_rng_below(&r, 2) ? OFF_HDR + test_rng_below(&r, len - OFF_HDR)
							   : test_rng_below(&r, len);

			f[at] ^= (uint8_t)(1u << test_rng_below(&r, 8));
		}
		if (test_rng_below(&r, 4) == 0)
			fix_ip_csum(f);
		int rc = decode_exact(f, len, RUMOR_WIRE_DEC_VERIFY_IDS, fr);

		if (rc == 0) {
			ok++;
			for (unsigned i = 0; i < fr->hdr.event_count; i++)
				assert_true(fr->ev[i].len <= len);
		} else {
			bad++;
			assert_true(rumor_wire_err_index(rc) >= 0);
		}
	}
	assert_true(bad > 10000);
	free(fr);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(wire_roundtrip_one_event),
	cmocka_unit_test(wire_roundtrip_n_events),
	cmocka_unit_test(wire_pull_roundtrip),
	cmocka_unit_test(wire_mtu_cut),
	cmocka_unit_test(wire_body_limits),
	cmocka_unit_test(wire_encode_limits),
	cmocka_unit_test(wire_patch_hop),
	cmocka_unit_test(wire_padding_allowed),
	cmocka_unit_test(wire_strerror_index),
	cmocka_unit_test(err_etrunc),
	cmocka_unit_test(err_enotip),
	cmocka_unit_test(err_eiphdr),
	cmocka_unit_test(err_eipcsum),
	cmocka_unit_test(err_enotudp),
	cmocka_unit_test(err_eport),
	cmocka_unit_test(err_eudplen),
	cmocka_unit_test(err_emagic),
	cmocka_unit_test(err_eversion),
	cmocka_unit_test(err_etype),
	cmocka_unit_test(err_ecluster),
	cmocka_unit_test(err_enode),
	cmocka_unit_test(err_eseq),
	cmocka_unit_test(err_eclockcnt),
	cmocka_unit_test(err_eclock),
	cmocka_unit_test(err_eclockorig),
	cmocka_unit_test(err_eevcnt),
	cmocka_unit_test(err_eevlen),
	cmocka_unit_test(err_eid),
	cmocka_unit_test(wire_truncation_every_offset),
	cmocka_unit_test(wire_random_corruption),
};

TEST_MAIN("wire", tests)
