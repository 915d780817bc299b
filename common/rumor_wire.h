/* Gossip wire codec: Ethernet / IPv4 / UDP / rumor header / shared clock / events.
 * A frame carries n consecutive events of one origin (seqs first_seq .. first_seq+n-1) that
 * share one timestamp. Pure C; every decoder validates strictly and never reads past @len.
 *
 * Layout after UDP (all integers big-endian):
 *   fixed header (RUMOR_WIRE_HDR_LEN = 28 bytes)
 *     u32 magic 'RUMR'  u8 version  u8 type  u8 flags  u8 rounds_left
 *     u32 cluster_id    u16 origin  u16 sender  u64 first_seq
 *     u16 event_count   u16 clock_count
 *   body (GOSSIP and PULL_RESP)
 *     clock_count x (u16 node, u64 counter)           the events' timestamp
 *     event_count x (16-byte id, u16 len, len bytes)  the events
 *   PULL_REQ has no body: it asks @sender's peer for origin's seqs first_seq..+event_count-1.
 *
 * The fixed header changes per hop (rounds_left, sender); the body never does, which is what
 * lets the dataplane share one body between all fan-out copies. */
#ifndef RUMOR_WIRE_H
#define RUMOR_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "rumor_eventid.h"
#include "rumor_vc.h"

#define RUMOR_WIRE_MAGIC 0x52554d52u /* "RUMR" */
#define RUMOR_WIRE_VERSION 1
#define RUMOR_WIRE_PORT 7946
#define RUMOR_WIRE_ETH_LEN 14
#define RUMOR_WIRE_IP_LEN 20
#define RUMOR_WIRE_UDP_LEN 8
#define RUMOR_WIRE_L2L4_LEN (RUMOR_WIRE_ETH_LEN + RUMOR_WIRE_IP_LEN + RUMOR_WIRE_UDP_LEN)
#define RUMOR_WIRE_HDR_LEN 28
/* Everything in front of the body: what a per-peer header mbuf holds. */
#define RUMOR_WIRE_PREFIX_LEN (RUMOR_WIRE_L2L4_LEN + RUMOR_WIRE_HDR_LEN)
/* Auth header (see above): offsets inside it. Per hop like the fixed header. */
#define RUMOR_WIRE_F_AUTH 0x80
/* With F_AUTH: the body is AES-256-GCM ciphertext ([auth] encrypt, rumor_auth_body_open);
 * the codec must not be given it before it is opened (the dataplane drops such a frame
 * when it does not encrypt itself, and a plaintext one when it does). */
#define RUMOR_WIRE_F_ENC 0x40
#define RUMOR_WIRE_AUTH_LEN 52
#define RUMOR_WIRE_AUTH_KEY 0
#define RUMOR_WIRE_AUTH_ALG 1
#define RUMOR_WIRE_AUTH_DST 2
#define RUMOR_WIRE_AUTH_CTR 4
#define RUMOR_WIRE_AUTH_NONCE 12
#define RUMOR_WIRE_AUTH_BODYTAG 20
#define RUMOR_WIRE_AUTH_HOPTAG 36
#define RUMOR_WIRE_AUTH_SEALED 36      /* bytes of it the hop tag covers */
#define RUMOR_WIRE_AUTH_PREFIX_LEN (RUMOR_WIRE_PREFIX_LEN + RUMOR_WIRE_AUTH_LEN)
#define RUMOR_WIRE_EVENT_HDR_LEN 18 /* id + u16 len */
#define RUMOR_WIRE_MTU_DEFAULT 1500 /* IP MTU: the Ethernet frame is MTU + 14 */
/* Most events one frame may carry (keeps decoders' output arrays bounded). */
#define RUMOR_WIRE_MAX_EVENTS 128

enum rumor_wire_type {
	RUMOR_WIRE_GOSSIP = 1,
	RUMOR_WIRE_PULL_REQ = 2,
	RUMOR_WIRE_PULL_RESP = 3,
};

/* Distinct errors per kind of bad input; decoders return these negated-errno-like codes.
 * rumor_wire_strerror() names each (used as drop reasons in stats). */
enum rumor_wire_err {
	RUMOR_WIRE_OK = 0,
	RUMOR_WIRE_ETRUNC = -1001,       /* shorter than the headers it claims */
	RUMOR_WIRE_ENOTIP = -1002,       /* ethertype not IPv4 (VLAN not supported) */
	RUMOR_WIRE_EIPHDR = -1003,       /* IPv4 version/IHL/options/fragment/total length bad */
	RUMOR_WIRE_EIPCSUM = -1004,      /* IPv4 header checksum wrong */
	RUMOR_WIRE_ENOTUDP = -1005,      /* IP protocol not UDP */
	RUMOR_WIRE_EPORT = -1006,        /* UDP destination port not ours */
	RUMOR_WIRE_EUDPLEN = -1007,      /* UDP length disagrees with IP length */
	RUMOR_WIRE_EMAGIC = -1008,
	RUMOR_WIRE_EVERSION = -1009,
	RUMOR_WIRE_ETYPE = -1010,        /* unknown frame type */
	RUMOR_WIRE_ECLUSTER = -1011,     /* another cluster's frame */
	RUMOR_WIRE_ENODE = -1012,        /* origin/sender 0 or over RUMOR_NODE_ID_MAX */
	RUMOR_WIRE_ESEQ = -1013,         /* first_seq 0, or the seq range overflows */
	RUMOR_WIRE_ECLOCKCNT = -1014,    /* clock_count over RUMOR_VC_MAX_ENTRIES */
	RUMOR_WIRE_ECLOCK = -1015,       /* clock entries malformed (order, zero, node range) */
	RUMOR_WIRE_ECLOCKORIG = -1016,   /* timestamp's origin entry differs from the last seq */
	RUMOR_WIRE_EEVCNT = -1017,       /* event_count 0, over RUMOR_WIRE_MAX_EVENTS, or not
					    matching the bytes (events run past / fall short) */
	RUMOR_WIRE_EEVLEN = -1018,       /* an event length runs past the frame */
	RUMOR_WIRE_EID = -1019,          /* an event id does not match its payload */
	RUMOR_WIRE_ENOBUFS = -1020,      /* encoder: output buffer too small */
	RUMOR_WIRE_EINVAL = -1021,       /* encoder: bad argument */
	RUMOR_WIRE_ERR_COUNT = 21
};

const char *rumor_wire_strerror(int err);
/* Dense index 0..RUMOR_WIRE_ERR_COUNT-1 for a decoder error (for per-reason counters),
 * -1 for anything else. */
int rumor_wire_err_index(int err);

struct rumor_wire_l2l4 {
	uint8_t dst_mac[6];
	uint8_t src_mac[6];
	uint32_t src_ip;          /* host byte order */
	uint32_t dst_ip;          /* host byte order */
	uint16_t src_port;
	uint16_t dst_port;
};

struct rumor_wire_hdr {
	uint8_t type;
	uint8_t flags;
	uint8_t rounds_left;
	uint32_t cluster_id;
	uint16_t origin;
	uint16_t sender;
	uint64_t first_seq;
	uint16_t event_count;
	uint16_t clock_count;
};

/* One event inside a decoded frame: payload points into the frame buffer. */
struct rumor_wire_event {
	struct rumor_event_id id;
	uint16_t len;
	const uint8_t *payload;
};

struct rumor_wire_frame {
	struct rumor_wire_l2l4 l2l4;
	struct rumor_wire_hdr hdr;
	struct rumor_vc clock;                 /* timestamp (GOSSIP, PULL_RESP) */
	const uint8_t *auth;                   /* auth header inside the buffer, NULL: none */
	const uint8_t *body;                   /* clock + events, inside the buffer */
	size_t body_len;
	struct rumor_wire_event ev[RUMOR_WIRE_MAX_EVENTS];
};

/* Decode flags. */
#define RUMOR_WIRE_DEC_VERIFY_IDS 0x1   /* recompute every event id (XXH3) and compare */

/* Parse a whole Ethernet frame. Checks L2-L4 (IPv4 without options/fragments, checksum,
 * UDP port @port, lengths), then the rumor header (@cluster_id must match), then the body.
 * Returns 0 or a RUMOR_WIRE_E* code. */
int rumor_wire_decode(const uint8_t *buf, size_t len, uint32_t cluster_id, uint16_t port,
		      unsigned flags, struct rumor_wire_frame *out);

/* Parse only the rumor part (from the fixed header on), as rumor_wire_decode does after UDP. */
int rumor_wire_decode_rumor(const uint8_t *buf, size_t len, uint32_t cluster_id,
			    unsigned flags, struct rumor_wire_frame *out);

/* Write the fixed rumor header (RUMOR_WIRE_HDR_LEN bytes). */
void rumor_wire_put_hdr(uint8_t *buf, const struct rumor_wire_hdr *hdr);

/* Write Ethernet + IPv4 + UDP (RUMOR_WIRE_L2L4_LEN bytes) for a UDP payload of
 * @udp_payload_len bytes (rumor header + body). IP checksum filled, UDP checksum 0. */
void rumor_wire_put_l2l4(uint8_t *buf, const struct rumor_wire_l2l4 *a, size_t udp_payload_len);

/* Patch rounds_left and sender in an encoded fixed header (at @hdr). */
void rumor_wire_patch_hop(uint8_t *hdr, uint8_t rounds_left, uint16_t sender);

/* Body builder: the clock then events appended one by one, bounded by @cap. */
struct rumor_wire_body {
	uint8_t *buf;
	size_t cap;
	size_t len;
	uint16_t events;
};

/* Start a body in @buf with timestamp @clock. Returns 0 or RUMOR_WIRE_ENOBUFS. */
int rumor_wire_body_start(struct rumor_wire_body *b, uint8_t *buf, size_t cap,
			  const struct rumor_vc *clock);
/* Append one event. Returns 0, RUMOR_WIRE_ENOBUFS (does not fit: cut the frame here),
 * RUMOR_WIRE_EEVCNT (already RUMOR_WIRE_MAX_EVENTS) or RUMOR_WIRE_EINVAL (len > 65535). */
int rumor_wire_body_add(struct rumor_wire_body *b, const struct rumor_event_id *id,
			const void *payload, size_t len);
/* Bytes an event of @len payload bytes takes in a body. */
static inline size_t rumor_wire_event_size(size_t len) { return RUMOR_WIRE_EVENT_HDR_LEN + len; }
/* Largest body that fits an IP MTU. */
static inline size_t rumor_wire_body_max(unsigned mtu)
{
	return mtu - RUMOR_WIRE_IP_LEN - RUMOR_WIRE_UDP_LEN - RUMOR_WIRE_HDR_LEN;
}

/* Encode a complete frame into @buf: L2-L4, header, body (already built).
 * Returns the frame length or RUMOR_WIRE_ENOBUFS. */
int rumor_wire_encode(uint8_t *buf, size_t cap, const struct rumor_wire_l2l4 *a,
		      const struct rumor_wire_hdr *hdr, const uint8_t *body, size_t body_len);

#endif
