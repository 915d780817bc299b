/* Gossip wire codec: strict decoder (L2-L4, rumor header, clock, events) and the encoder
 * pieces the dataplane assembles frames from. Big-endian throughout, unaligned-safe. */
#include "rumor_be.h"
#include "rumor_wire.h"

#include <errno.h>
#include <string.h>

#define ETHERTYPE_IPV4 0x0800
#define IPPROTO_UDP_ 17
/* Fixed header field offsets. */
#define H_MAGIC 0
#define H_VERSION 4
#define H_TYPE 5
#define H_FLAGS 6
#define H_ROUNDS 7
#define H_CLUSTER 8
#define H_ORIGIN 12
#define H_SENDER 14
#define H_FIRST_SEQ 16
#define H_EVCOUNT 24
#define H_CLKCOUNT 26

static const char *const err_names[RUMOR_WIRE_ERR_COUNT] = {
	"truncated",
	"not IPv4",
	"bad IPv4 header",
	"bad IPv4 checksum",
	"not UDP",
	"wrong UDP port",
	"bad UDP length",
	"bad magic",
	"bad version",
	"unknown frame type",
	"other cluster",
	"bad node id",
	"bad sequence",
	"clock count over bound",
	"malformed clock",
	"clock origin entry mismatch",
	"event count mismatch",
	"event length past frame",
	"event id mismatch",
	"no buffer space",
	"invalid argument",
};

int rumor_wire_err_index(int err)
{
	int i = RUMOR_WIRE_ETRUNC - err;

	if (i < 0 || i >= RUMOR_WIRE_ERR_COUNT)
		return -1;
	return i;
}

const char *rumor_wire_strerror(int err)
{
	int i;

	if (err == RUMOR_WIRE_OK)
		return "ok";
	i = rumor_wire_err_index(err);
	return i < 0 ? "unknown error" : err_names[i];
}

/* Internet checksum of a 20-byte IPv4 header (checksum field included as stored). */
static uint16_t ip_csum(const uint8_t *ip)
{
	uint32_t sum = 0;

	for (int i = 0; i < RUMOR_WIRE_IP_LEN; i += 2)
		sum += rumor_be_ld16(ip + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static int node_ok(uint16_t n)
{
	return n >= 1 && n <= RUMOR_NODE_ID_MAX;
}

int rumor_wire_decode_rumor(const uint8_t *buf, size_t len, uint32_t cluster_id,
			    unsigned flags, struct rumor_wire_frame *out)
{
	struct rumor_wire_hdr *h = &out->hdr;
	const uint8_t *p, *end;
	int rc;

	if (len < RUMOR_WIRE_HDR_LEN)
		return RUMOR_WIRE_ETRUNC;
	if (rumor_be_ld32(buf + H_MAGIC) != RUMOR_WIRE_MAGIC)
		return RUMOR_WIRE_EMAGIC;
	if (buf[H_VERSION] != RUMOR_WIRE_VERSION)
		return RUMOR_WIRE_EVERSION;
	h->type = buf[H_TYPE];
	if (h->type != RUMOR_WIRE_GOSSIP && h->type != RUMOR_WIRE_PULL_REQ &&
	    h->type != RUMOR_WIRE_PULL_RESP)
		return RUMOR_WIRE_ETYPE;
	h->flags = buf[H_FLAGS];
	h->rounds_left = buf[H_ROUNDS];
	h->cluster_id = rumor_be_ld32(buf + H_CLUSTER);
	if (h->cluster_id != cluster_id)
		return RUMOR_WIRE_ECLUSTER;
	h->origin = rumor_be_ld16(buf + H_ORIGIN);
	h->sender = rumor_be_ld16(buf + H_SENDER);
	if (!node_ok(h->origin) || !node_ok(h->sender))
		return RUMOR_WIRE_ENODE;
	h->first_seq = rumor_be_ld64(buf + H_FIRST_SEQ);
	h->event_count = rumor_be_ld16(buf + H_EVCOUNT);
	h->clock_count = rumor_be_ld16(buf + H_CLKCOUNT);
	if (h->first_seq == 0 ||
	    (h->event_count && h->first_seq > UINT64_MAX - (h->event_count - 1u)))
		return RUMOR_WIRE_ESEQ;
	if (h->clock_count > RUMOR_VC_MAX_ENTRIES)
		return RUMOR_WIRE_ECLOCKCNT;

	out->auth = NULL;
	out->body = buf + RUMOR_WIRE_HDR_LEN;
	out->body_len = len - RUMOR_WIRE_HDR_LEN;
	if (h->flags & RUMOR_WIRE_F_AUTH) {
		/* checked by the receiver's keyring, not here: the codec only locates it */
		if (out->body_len < RUMOR_WIRE_AUTH_LEN)
			return RUMOR_WIRE_ETRUNC;
		out->auth = out->body;
		out->body += RUMOR_WIRE_AUTH_LEN;
		out->body_len -= RUMOR_WIRE_AUTH_LEN;
	}

	if (h->type == RUMOR_WIRE_PULL_REQ) {
		rumor_vc_init(&out->clock);
		if (h->clock_count != 0)
			return RUMOR_WIRE_ECLOCKCNT;
		if (h->event_count == 0 || h->event_count > RUMOR_WIRE_MAX_EVENTS ||
		    out->body_len != 0)
			return RUMOR_WIRE_EEVCNT;
		return RUMOR_WIRE_OK;
	}

	rc = rumor_vc_decode(&out->clock, h->clock_count, out->body, out->body_len);
	/* A clock running past the frame is truncation, not a malformed clock. */
	if (rc == -EMSGSIZE)
		return RUMOR_WIRE_ETRUNC;
	if (rc < 0)
		return RUMOR_WIRE_ECLOCK;
	if (rumor_vc_get(&out->clock, h->origin) != h->first_seq + h->event_count - 1u)
		return RUMOR_WIRE_ECLOCKORIG;
	if (h->event_count == 0 || h->event_count > RUMOR_WIRE_MAX_EVENTS)
		return RUMOR_WIRE_EEVCNT;

	p = out->body + rc;
	end = buf + len;
	for (unsigned i = 0; i < h->event_count; i++) {
		struct rumor_wire_event *ev = &out->ev[i];

		if ((size_t)(end - p) < RUMOR_WIRE_EVENT_HDR_LEN)
			return RUMOR_WIRE_EEVCNT;
		rumor_event_id_load(p, &ev->id);
		ev->len = rumor_be_ld16(p + 16);
		p += RUMOR_WIRE_EVENT_HDR_LEN;
		if ((size_t)(end - p) < ev->len)
			return RUMOR_WIRE_EEVLEN;
		ev->payload = p;
		p += ev->len;
	}
	if (p != end)
		return RUMOR_WIRE_EEVCNT;

	if (flags & RUMOR_WIRE_DEC_VERIFY_IDS) {
		for (unsigned i = 0; i < h->event_count; i++) {
			struct rumor_event_id id;

			rumor_event_id_compute(h->origin, h->first_seq + i, out->ev[i].payload,
					       out->ev[i].len, &id);
			if (!rumor_event_id_equal(&id, &out->ev[i].id))
				return RUMOR_WIRE_EID;
		}
	}
	return RUMOR_WIRE_OK;
}

int rumor_wire_decode(const uint8_t *buf, size_t len, uint32_t cluster_id, uint16_t port,
		      unsigned flags, struct rumor_wire_frame *out)
{
	const uint8_t *ip = buf + RUMOR_WIRE_ETH_LEN;
	const uint8_t *udp = ip + RUMOR_WIRE_IP_LEN;
	uint16_t ip_total, frag, udp_len;

	if (len < RUMOR_WIRE_L2L4_LEN)
		return RUMOR_WIRE_ETRUNC;
	if (rumor_be_ld16(buf + 12) != ETHERTYPE_IPV4)
		return RUMOR_WIRE_ENOTIP;
	if (ip[0] != 0x45)
		return RUMOR_WIRE_EIPHDR;
	ip_total = rumor_be_ld16(ip + 2);
	frag = rumor_be_ld16(ip + 6);
	/* MF set or a nonzero offset: a fragment. DF alone is fine. Reserved bit is bad. */
	if (frag & 0xbfff)
		return RUMOR_WIRE_EIPHDR;
	/* Anything after ip_total is Ethernet padding and ignored. */
	if (ip_total < RUMOR_WIRE_IP_LEN + RUMOR_WIRE_UDP_LEN ||
	    ip_total > len - RUMOR_WIRE_ETH_LEN)
		return RUMOR_WIRE_EIPHDR;
	if (ip_csum(ip) != 0)
		return RUMOR_WIRE_EIPCSUM;
	if (ip[9] != IPPROTO_UDP_)
		return RUMOR_WIRE_ENOTUDP;
	if (rumor_be_ld16(udp + 2) != port)
		return RUMOR_WIRE_EPORT;
	udp_len = rumor_be_ld16(udp + 4);
	if (udp_len != ip_total - RUMOR_WIRE_IP_LEN)
		return RUMOR_WIRE_EUDPLEN;

	memcpy(out->l2l4.dst_mac, buf, 6);
	memcpy(out->l2l4.src_mac, buf + 6, 6);
	out->l2l4.src_ip = rumor_be_ld32(ip + 12);
	out->l2l4.dst_ip = rumor_be_ld32(ip + 16);
	out->l2l4.src_port = rumor_be_ld16(udp);
	out->l2l4.dst_port = rumor_be_ld16(udp + 2);

	return rumor_wire_decode_rumor(udp + RUMOR_WIRE_UDP_LEN, udp_len - RUMOR_WIRE_UDP_LEN,
				       cluster_id, flags, out);
}

void rumor_wire_put_hdr(uint8_t *buf, const struct rumor_wire_hdr *hdr)
{
	rumor_be_st32(buf + H_MAGIC, RUMOR_WIRE_MAGIC);
	buf[H_VERSION] = RUMOR_WIRE_VERSION;
	buf[H_TYPE] = hdr->type;
	buf[H_FLAGS] = hdr->flags;
	buf[H_ROUNDS] = hdr->rounds_left;
	rumor_be_st32(buf + H_CLUSTER, hdr->cluster_id);
	rumor_be_st16(buf + H_ORIGIN, hdr->origin);
	rumor_be_st16(buf + H_SENDER, hdr->sender);
	rumor_be_st64(buf + H_FIRST_SEQ, hdr->first_seq);
	rumor_be_st16(buf + H_EVCOUNT, hdr->event_count);
	rumor_be_st16(buf + H_CLKCOUNT, hdr->clock_count);
}

void rumor_wire_put_l2l4(uint8_t *buf, const struct rumor_wire_l2l4 *a, size_t udp_payload_len)
{
	uint8_t *ip = buf + RUMOR_WIRE_ETH_LEN;
	uint8_t *udp = ip + RUMOR_WIRE_IP_LEN;

	memcpy(buf, a->dst_mac, 6);
	memcpy(buf + 6, a->src_mac, 6);
	rumor_be_st16(buf + 12, ETHERTYPE_IPV4);

	ip[0] = 0x45;
	ip[1] = 0;
	rumor_be_st16(ip + 2, (uint16_t)(RUMOR_WIRE_IP_LEN + RUMOR_WIRE_UDP_LEN + udp_payload_len));
	rumor_be_st16(ip + 4, 0);
	rumor_be_st16(ip + 6, 0x4000);   /* DF: we never fragment, frames are cut at the MTU */
	ip[8] = 64;
	ip[9] = IPPROTO_UDP_;
	rumor_be_st16(ip + 10, 0);
	rumor_be_st32(ip + 12, a->src_ip);
	rumor_be_st32(ip + 16, a->dst_ip);
	rumor_be_st16(ip + 10, ip_csum(ip));

	rumor_be_st16(udp, a->src_port);
	rumor_be_st16(udp + 2, a->dst_port);
	rumor_be_st16(udp + 4, (uint16_t)(RUMOR_WIRE_UDP_LEN + udp_payload_len));
	rumor_be_st16(udp + 6, 0);
}

void rumor_wire_patch_hop(uint8_t *hdr, uint8_t rounds_left, uint16_t sender)
{
	hdr[H_ROUNDS] = rounds_left;
	rumor_be_st16(hdr + H_SENDER, sender);
}

int rumor_wire_body_start(struct rumor_wire_body *b, uint8_t *buf, size_t cap,
			  const struct rumor_vc *clock)
{
	int rc = rumor_vc_encode(clock, buf, cap);

	b->buf = buf;
	b->cap = cap;
	b->len = 0;
	b->events = 0;
	if (rc < 0)
		return RUMOR_WIRE_ENOBUFS;
	b->len = (size_t)rc;
	return RUMOR_WIRE_OK;
}

int rumor_wire_body_add(struct rumor_wire_body *b, const struct rumor_event_id *id,
			const void *payload, size_t len)
{
	uint8_t *p;

	if (len > UINT16_MAX)
		return RUMOR_WIRE_EINVAL;
	if (b->events >= RUMOR_WIRE_MAX_EVENTS)
		return RUMOR_WIRE_EEVCNT;
	if (b->cap - b->len < rumor_wire_event_size(len))
		return RUMOR_WIRE_ENOBUFS;
	p = b->buf + b->len;
	rumor_event_id_store(id, p);
	rumor_be_st16(p + 16, (uint16_t)len);
	if (len)
		memcpy(p + RUMOR_WIRE_EVENT_HDR_LEN, payload, len);
	b->len += rumor_wire_event_size(len);
	b->events++;
	return RUMOR_WIRE_OK;
}

int rumor_wire_encode(uint8_t *buf, size_t cap, const struct rumor_wire_l2l4 *a,
		      const struct rumor_wire_hdr *hdr, const uint8_t *body, size_t body_len)
{
	size_t udp_payload = RUMOR_WIRE_HDR_LEN + body_len;
	size_t total = RUMOR_WIRE_L2L4_LEN + udp_payload;

	/* The IPv4 total length is 16 bits. */
	if (udp_payload > UINT16_MAX - RUMOR_WIRE_IP_LEN - RUMOR_WIRE_UDP_LEN)
		return RUMOR_WIRE_EINVAL;
	if (cap < total)
		return RUMOR_WIRE_ENOBUFS;
	rumor_wire_put_l2l4(buf, a, udp_payload);
	rumor_wire_put_hdr(buf + RUMOR_WIRE_L2L4_LEN, hdr);
	if (body_len)
		memmove(buf + RUMOR_WIRE_PREFIX_LEN, body, body_len);
	return (int)total;
}
