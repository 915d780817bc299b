/* rumor-craft: hostile gossip frames built with the project's own codec, written to a raw
 * AF_PACKET socket (tests/attack_timestamps.sh, attack_battery.sh and attack_auth.sh run it in
 * an attacker namespace); --replay sends frames captured on the bridge again (--flip: each with
 * one bit of its UDP payload flipped); --kinds member --as ID: a member holding the keyring
 * forges another origin's next seqs, sealed in its own name (tests/attack_member_forge.sh). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rumor_auth.h"
#include "rumor_be.h"
#include "rumor_config.h"
#include "rumor_eventid.h"
#include "rumor_wire.h"

/* What each kind poisons (issue 13); every frame is otherwise well formed: checksums, ids. */
enum kind { K_UNKNOWN, K_NEXT500, K_OWN, K_MANY, K_HUGE, K_MAX, K_SEQMAX, K_WRAP,
	    K_FORGED, K_JUMP, K_PULLREQ, K_PULLRESP, K_TRUNC, K_RANDOM, K_AHEAD,
	    K_NOAUTH, K_BADKEY, K_BADTAG, K_REPLAY, K_TAMPER, K_MEMBER, K_N };
static const char *const kind_names[K_N] = { "unknown", "next500", "own", "many",
					     "huge", "max", "seqmax", "wrap",
					     "forged", "jump", "pullreq", "pullresp",
					     "trunc", "random", "ahead",
					     "noauth", "badkey", "badtag", "replay", "tamper",
					     "member" };

static struct {
	const char *config, *iface, *kinds;
	uint8_t src_mac[6];
	uint32_t src_ip;
	double duration, pps;
	uint16_t next_origin;
	uint64_t next_seq;
	uint64_t count;           /* stop after this many frames sent (0: --duration only) */
	const char *replay;       /* pcap file of captured frames */
	int flip;                 /* --flip: replayed frames get one bit flipped */
	uint16_t replay_dst;      /* --replay-dst: only captured frames addressed to this node */
	int spoof;                /* --spoof: crafted frames come from their sender's MAC + IP */
	uint16_t as;              /* --as: the member we are (kind member): sender id, MAC + IP */
	uint64_t span;            /* --span: kind member forges next_seq .. next_seq + span - 1 */
} opt = { .iface = "atk0", .kinds = "unknown,next500,own,many,huge,max,seqmax,wrap",
	  .duration = 20, .pps = 500, .next_origin = 3, .next_seq = 1, .span = 64,
	  .src_mac = { 0x02, 0x52, 0x00, 0x00, 0x00, 0xee }, .src_ip = 0x0a4d00c8 };

/* With the config's [auth] keyring the attacker holds the key (an insider): the classic kinds
 * are sealed so they reach the checks behind the MAC, sent in the name of a sender id no node
 * has (its own replay window: a key holder claiming a member's id would jam that member's). */
static struct rumor_auth *keys;
static uint16_t sign_sender;
static uint64_t sign_ctr;

static int seal(const struct rumor_config *cfg, uint16_t dst, uint8_t *buf, int len, size_t cap)
{
	uint8_t *r = buf + RUMOR_WIRE_L2L4_LEN, *ah = r + RUMOR_WIRE_HDR_LEN;
	size_t rl = (size_t)len - RUMOR_WIRE_L2L4_LEN;
	struct rumor_wire_l2l4 a;

	if ((size_t)len + RUMOR_WIRE_AUTH_LEN > cap || rl < RUMOR_WIRE_HDR_LEN)
		return len; /* truncated kinds stay as they are */
	memmove(ah + RUMOR_WIRE_AUTH_LEN, ah, rl - RUMOR_WIRE_HDR_LEN);
	r[6] |= RUMOR_WIRE_F_AUTH;
	rumor_be_st16(r + 14, sign_sender);
	ah[RUMOR_WIRE_AUTH_KEY] = rumor_auth_current(keys);
	ah[RUMOR_WIRE_AUTH_ALG] = RUMOR_AUTH_ALG_GMAC256;
	rumor_be_st16(ah + RUMOR_WIRE_AUTH_DST, dst);
	if (opt.as) {
		/* a member's counters are its wall clock (rumor_auth.h): ours stay next to the
		 * member's own, so receivers' windows for it do not jump ahead of its frames */
		struct timespec rt;
		clock_gettime(CLOCK_REALTIME, &rt);
		uint64_t c = rumor_auth_ctr_of_ns((uint64_t)rt.tv_sec * 1000000000ull +
						  (uint64_t)rt.tv_nsec);
		if (c > sign_ctr)
			sign_ctr = c;
	}
	rumor_be_st64(ah + RUMOR_WIRE_AUTH_CTR, ++sign_ctr);
	rumor_be_st64(ah + RUMOR_WIRE_AUTH_NONCE, sign_ctr);
	rumor_auth_body_tag(keys, ah[RUMOR_WIRE_AUTH_KEY], sign_ctr, r, ah + RUMOR_WIRE_AUTH_LEN,
			    rl - RUMOR_WIRE_HDR_LEN, ah + RUMOR_WIRE_AUTH_BODYTAG);
	rumor_auth_hop_seal(keys, r);
	/* rebuild L2-L4 for the longer payload (addresses from the frame itself) */
	memcpy(a.dst_mac, buf, 6);
	memcpy(a.src_mac, buf + 6, 6);
	a.src_ip = rumor_be_ld32(buf + RUMOR_WIRE_ETH_LEN + 12);
	a.dst_ip = rumor_be_ld32(buf + RUMOR_WIRE_ETH_LEN + 16);
	a.src_port = cfg->gossip.port;
	a.dst_port = cfg->gossip.port;
	rumor_wire_put_l2l4(buf, &a, rl + RUMOR_WIRE_AUTH_LEN);
	return len + RUMOR_WIRE_AUTH_LEN;
}

/* kind member: the nodes it sends to (all but itself and the origin) */
static unsigned member_targets = 1;
static int member_target(const struct rumor_node_conf *nc)
{
	return nc->id != opt.as && nc->id != opt.next_origin;
}

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1Dull;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A real node other than @a and @b (0 when there is none). */
static uint16_t other(const struct rumor_config *cfg, uint16_t a, uint16_t b)
{
	for (unsigned i = 0; i < cfg->n_nodes; i++)
		if (cfg->nodes[i].id != a && cfg->nodes[i].id != b)
			return cfg->nodes[i].id;
	return 0;
}

/* One frame of @k for @dst into @buf. Returns its length or a negative error. */
static int craft(const struct rumor_config *cfg, const struct rumor_node_conf *dst, enum kind k,
		 uint64_t i, uint8_t *buf, size_t cap)
{
	uint8_t body[1400];
	struct rumor_wire_body b;
	struct rumor_wire_hdr hdr = { .type = RUMOR_WIRE_GOSSIP, .rounds_left = 2,
				      .cluster_id = cfg->cluster_id, .event_count = 1 };
	struct rumor_wire_l2l4 a;
	struct rumor_event_id id;
	struct rumor_vc ts;
	char payload[64];
	uint16_t origin = other(cfg, dst->id, 0), third = other(cfg, dst->id, origin);
	/* far enough from real seqs not to collide with them, inside the default window */
	uint64_t seq = 500000 + rnd() % 100000;
	int rc;

	rumor_vc_init(&ts);
	switch (k) {
	case K_FORGED: /* an origin id outside the configuration, a valid timestamp */
		do
			origin = (uint16_t)(1 + rnd() % RUMOR_NODE_ID_MAX);
		while (rumor_config_node(cfg, origin) != NULL);
		seq = 1 + rnd() % 1000;
		break;
	case K_JUMP: /* a real origin's next seq + 2^21: a gap of two million seqs */
		origin = opt.next_origin;
		seq = opt.next_seq + (1ull << 21) + i % 64;
		break;
	case K_PULLREQ: /* ask for real frames (origin's recent seqs) in a member's name */
		origin = opt.next_origin;
		seq = opt.next_seq > 64 ? opt.next_seq - 1 - rnd() % 64 : 1;
		break;
	case K_PULLRESP: /* unasked pull responses: an ordered seq of a member, or a forged
			  * origin */
		if (i % 2) {
			do
				origin = (uint16_t)(1 + rnd() % RUMOR_NODE_ID_MAX);
			while (rumor_config_node(cfg, origin) != NULL);
		}
		seq = opt.next_seq > 1 ? 1 + rnd() % (opt.next_seq - 1) : 1;
		break;
	case K_AHEAD: /* a member's seqs ahead of the order, inside the window, a clean
		       * timestamp: only the link-source budget keeps them out of the store */
		origin = (i / 3) % 2 ? origin : (third ? third : origin);
		seq = opt.next_seq + 1000 + rnd() % 100000;
		break;
	case K_MEMBER: /* a key holder's forgery: another origin's next seqs with our bytes,
			* sealed and sent in our own (member's) name */
		origin = opt.next_origin;
		seq = opt.next_seq + (i / member_targets) % opt.span;
		break;
	case K_NOAUTH: /* issue 14's frame: a member's next seqs, clean timestamp, no auth */
	case K_BADKEY: /* the same with an auth header under a key id nobody holds */
	case K_BADTAG: /* the same under the cluster's key id with a tag we cannot compute */
		origin = opt.next_origin;
		seq = opt.next_seq + i % 64;
		break;
	case K_TRUNC: /* a valid frame cut short below */
	case K_RANDOM: /* a valid L2-L4 header, random bytes after it */
		break;
	case K_UNKNOWN: /* a member's seq naming node 500, which does not exist */
		rumor_vc_set(&ts, 500, 1 + rnd() % 1000);
		break;
	case K_NEXT500: /* the origin's next seqs, naming node 500 (the frame of issue 13) */
		origin = opt.next_origin;
		seq = opt.next_seq + i % 64;
		rumor_vc_set(&ts, 500, 1);
		break;
	case K_OWN: /* the receiver's own counter, far beyond what it issued */
		rumor_vc_set(&ts, dst->id, 1ull << 40);
		break;
	case K_MANY: /* 70 entries: over the 64 the leader keeps, far over the members */
		for (uint16_t n = 100; n < 170; n++)
			rumor_vc_set(&ts, n, 1);
		break;
	case K_HUGE: /* a real third node's counter far beyond what was ordered */
		rumor_vc_set(&ts, third ? third : dst->id, 1ull << 50);
		break;
	case K_MAX: /* UINT64_MAX for a real node */
		rumor_vc_set(&ts, third ? third : dst->id, UINT64_MAX);
		break;
	case K_SEQMAX: /* the origin's own seq at the top of the range */
		seq = UINT64_MAX - (rnd() % 16);
		break;
	case K_WRAP: /* two events from UINT64_MAX: first_seq + count wraps */
		seq = UINT64_MAX;
		hdr.event_count = 2;
		break;
	default:
		return -EINVAL;
	}
	if (origin == 0)
		return -EINVAL;
	rumor_vc_set(&ts, origin, seq);
	hdr.origin = origin;
	hdr.sender = k == K_MEMBER ? opt.as : origin;
	hdr.first_seq = seq;
	hdr.clock_count = ts.n;
	if (k == K_PULLREQ || k == K_PULLRESP) {
		/* the answer would go to the sender field's node: a member other than dst */
		hdr.sender = other(cfg, dst->id, 0);
		hdr.rounds_left = 0;
		hdr.type = k == K_PULLREQ ? RUMOR_WIRE_PULL_REQ : RUMOR_WIRE_PULL_RESP;
	}
	int plen = k == K_NOAUTH || k == K_BADKEY || k == K_BADTAG || k == K_MEMBER
			   ? snprintf(payload, sizeof(payload), "SET pwned %llu",
				      (unsigned long long)i)
			   : snprintf(payload, sizeof(payload), "SET attack-%s %llu", kind_names[k],
				      (unsigned long long)i);
	if ((rc = rumor_wire_body_start(&b, body, sizeof(body), &ts)) != 0)
		return rc;
	for (unsigned e = 0; e < hdr.event_count; e++) {
		rumor_event_id_compute(origin, seq + e, payload, (size_t)plen, &id);
		if ((rc = rumor_wire_body_add(&b, &id, payload, (size_t)plen)) != 0)
			return rc;
	}
	memcpy(a.dst_mac, dst->mac, 6);
	memcpy(a.src_mac, opt.src_mac, 6);
	a.src_ip = opt.src_ip;
	if ((opt.spoof || k == K_MEMBER) && rumor_config_node(cfg, hdr.sender) != NULL) {
		/* the member the frame names as sender: what the link-source budgets trust */
		memcpy(a.src_mac, rumor_config_node(cfg, hdr.sender)->mac, 6);
		a.src_ip = rumor_config_node(cfg, hdr.sender)->ip;
	}
	a.dst_ip = dst->ip;
	a.src_port = cfg->gossip.port;
	a.dst_port = cfg->gossip.port;
	if (k == K_PULLREQ) {
		hdr.clock_count = 0;
		rc = rumor_wire_encode(buf, cap, &a, &hdr, body, 0);
		return rc > 0 && keys != NULL ? seal(cfg, dst->id, buf, rc, cap) : rc;
	}
	if (k == K_BADKEY || k == K_BADTAG) {
		/* an auth header in front of the body: right layout, addressed to dst, fresh
		 * counters; key 200 (a keyring of cluster.sh has key 1 only) or key 1 */
		uint8_t ab[RUMOR_WIRE_AUTH_LEN + sizeof(body)];

		if (b.len > sizeof(body) - RUMOR_WIRE_AUTH_LEN)
			return RUMOR_WIRE_ENOBUFS;
		hdr.flags |= RUMOR_WIRE_F_AUTH;
		ab[RUMOR_WIRE_AUTH_KEY] = k == K_BADKEY ? 200 : 1;
		ab[RUMOR_WIRE_AUTH_ALG] = 1;
		rumor_be_st16(ab + RUMOR_WIRE_AUTH_DST, dst->id);
		rumor_be_st64(ab + RUMOR_WIRE_AUTH_CTR,
			      rumor_auth_ctr_of_ns(((uint64_t)time(NULL) + 5) * 1000000000ull) + i);
		rumor_be_st64(ab + RUMOR_WIRE_AUTH_NONCE, i + 1);
		for (unsigned j = RUMOR_WIRE_AUTH_BODYTAG; j < RUMOR_WIRE_AUTH_LEN; j++)
			ab[j] = (uint8_t)rnd();
		memcpy(ab + RUMOR_WIRE_AUTH_LEN, body, b.len);
		return rumor_wire_encode(buf, cap, &a, &hdr, ab, RUMOR_WIRE_AUTH_LEN + b.len);
	}
	rc = rumor_wire_encode(buf, cap, &a, &hdr, body, b.len);
	if (rc > 0 && keys != NULL && k != K_NOAUTH)
		rc = seal(cfg, dst->id, buf, rc, cap);
	if (rc > 0 && k == K_TRUNC) {
		/* cut in the rumor part with IP and UDP lengths that agree (a bridge with
		 * br_netfilter drops IP packets shorter than their header says), or anywhere */
		if (rnd() % 4) {
			size_t rl = (size_t)rc - RUMOR_WIRE_L2L4_LEN;

			rl = rnd() % rl;
			rumor_wire_put_l2l4(buf, &a, rl);
			rc = (int)(RUMOR_WIRE_L2L4_LEN + rl);
		} else {
			rc = (int)(1 + rnd() % (uint64_t)(rc - 1));
		}
	}
	if (rc > 0 && k == K_RANDOM) {
		/* random rumor part behind correct L2-L4 (half of them with the right magic) */
		size_t len = RUMOR_WIRE_HDR_LEN + rnd() % 1200;

		if (RUMOR_WIRE_L2L4_LEN + len > cap)
			return RUMOR_WIRE_ENOBUFS;
		for (size_t j = 0; j < len; j++)
			body[j] = (uint8_t)rnd();
		if (rnd() % 2) {
			body[0] = 'R', body[1] = 'U', body[2] = 'M', body[3] = 'R', body[4] = 1;
			rumor_be_st32(body + 8, cfg->cluster_id);
		}
		memcpy(buf + RUMOR_WIRE_L2L4_LEN, body, len);
		rumor_wire_put_l2l4(buf, &a, len);
		rc = (int)(RUMOR_WIRE_L2L4_LEN + len);
	}
	return rc;
}

/* Captured frames (classic pcap, as dumpcap -P / tcpdump -w write): the rumor frames among
 * them (IPv4, UDP to the gossip port) addressed to a configured node. */
struct capframe {
	uint16_t len;
	uint8_t b[1600];
};

static struct capframe *load_pcap(const struct rumor_config *cfg, const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t gh[24], rh[16];
	struct capframe *v = NULL;
	size_t cap = 0;
	int swap;

	*n = 0;
	if (f == NULL || fread(gh, 1, 24, f) != 24) {
		fprintf(stderr, "rumor-craft: %s: %s\n", path, f ? "short file" : strerror(errno));
		exit(1);
	}
	/* a1b2c3d4 (usec) or a1b23c4d (nsec), in either byte order */
	swap = gh[0] == 0xa1;
	while (fread(rh, 1, 16, f) == 16) {
		uint32_t incl = swap ? rumor_be_ld32(rh + 8) : rumor_le_ld32(rh + 8);
		uint8_t pkt[65536];
		const uint8_t *ip = pkt + RUMOR_WIRE_ETH_LEN;

		if (incl > sizeof(pkt) || fread(pkt, 1, incl, f) != incl)
			break;
		if (incl > sizeof(v->b) || incl < RUMOR_WIRE_PREFIX_LEN ||
		    rumor_be_ld16(pkt + 12) != 0x0800 || ip[9] != 17 ||
		    rumor_be_ld16(ip + RUMOR_WIRE_IP_LEN + 2) != cfg->gossip.port)
			continue;
		{
			uint32_t dip = rumor_be_ld32(ip + 16);
			bool ok = false;

			for (unsigned i = 0; i < cfg->n_nodes; i++)
				if (cfg->nodes[i].ip == dip &&
				    (!opt.replay_dst || cfg->nodes[i].id == opt.replay_dst))
					ok = true;
			if (!ok)
				continue;
		}
		if (*n == cap) {
			cap = cap ? 2 * cap : 1024;
			v = realloc(v, cap * sizeof(*v));
			if (v == NULL)
				exit(1);
		}
		v[*n].len = (uint16_t)incl;
		memcpy(v[*n].b, pkt, incl);
		(*n)++;
	}
	fclose(f);
	return v;
}

static int parse_mac(const char *s, uint8_t *m)
{
	unsigned v[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		m[i] = (uint8_t)v[i];
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: rumor-craft --config FILE [--iface IF] [--src-mac MAC] [--src-ip IP]\n"
		"         [--kinds LIST] [--duration S] [--pps N] [--next ORIGIN:SEQ] [--count N]\n"
		"         [--replay PCAP [--flip] [--replay-dst NODE]] [--spoof] [--as ID --span N]\n"
		"kinds: unknown next500 own many huge max seqmax wrap forged jump pullreq\n"
		"       pullresp trunc random ahead noauth badkey badtag member (comma separated);\n"
		"       member (needs --as): origin's --next seqs .. + --span - 1, SET pwned, sealed\n"
		"       in member ID's name from its MAC + IP, to every node but ID and the origin;\n"
		"       --pps 0: unpaced; --replay: the captured rumor frames again, in a loop\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "config", 1, 0, 'c' }, { "iface", 1, 0, 'i' },    { "src-mac", 1, 0, 'm' },
		{ "src-ip", 1, 0, 'a' }, { "kinds", 1, 0, 'k' },    { "duration", 1, 0, 'd' },
		{ "pps", 1, 0, 'p' },    { "next", 1, 0, 'n' },     { "count", 1, 0, 'C' },
		{ "replay", 1, 0, 'R' }, { "flip", 0, 0, 'F' },     { "replay-dst", 1, 0, 'D' },
		{ "spoof", 0, 0, 'S' },  { "as", 1, 0, 'A' },       { "span", 1, 0, 'P' },
		{ 0, 0, 0, 0 },
	};
	static struct rumor_config cfg;
	uint64_t sent[K_N] = { 0 }, fails = 0;
	enum kind kinds[K_N];
	unsigned nk = 0;
	char err[256];
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		struct in_addr ia;
		unsigned o;
		unsigned long long s;

		switch (c) {
		case 'c': opt.config = optarg; break;
		case 'i': opt.iface = optarg; break;
		case 'm': if (parse_mac(optarg, opt.src_mac)) usage(); break;
		case 'a':
			if (inet_pton(AF_INET, optarg, &ia) != 1)
				usage();
			opt.src_ip = ntohl(ia.s_addr);
			break;
		case 'k': opt.kinds = optarg; break;
		case 'd': opt.duration = atof(optarg); break;
		case 'p': opt.pps = atof(optarg); break;
		case 'C': opt.count = strtoull(optarg, NULL, 10); break;
		case 'R': opt.replay = optarg; break;
		case 'F': opt.flip = 1; break;
		case 'S': opt.spoof = 1; break;
		case 'D': opt.replay_dst = (uint16_t)atoi(optarg); break;
		case 'A': opt.as = (uint16_t)atoi(optarg); break;
		case 'P': opt.span = strtoull(optarg, NULL, 10); if (!opt.span) usage(); break;
		case 'n':
			if (sscanf(optarg, "%u:%llu", &o, &s) != 2 || !o || o > RUMOR_NODE_ID_MAX || !s)
				usage();
			opt.next_origin = (uint16_t)o;
			opt.next_seq = s;
			break;
		default: usage();
		}
	}
	if (!opt.config || opt.pps < 0)
		usage();
	if (rumor_config_load(opt.config, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "rumor-craft: %s\n", err);
		return 1;
	}
	for (char *list = strdup(opt.kinds), *t = strtok(list, ","); t; t = strtok(NULL, ",")) {
		unsigned k;

		for (k = 0; k < K_N && strcmp(kind_names[k], t); k++)
			;
		if (k == K_N) {
			fprintf(stderr, "rumor-craft: unknown kind '%s'\n", t);
			return 2;
		}
		kinds[nk++] = (enum kind)k;
	}
	struct capframe *cf = NULL;
	size_t ncf = 0;

	if (cfg.auth.keyring[0] && !opt.replay) {
		keys = rumor_auth_new();
		if (keys == NULL || rumor_auth_keyring_load(keys, cfg.auth.keyring, err, sizeof(err)) < 0 ||
		    rumor_auth_use(keys, cfg.auth.use ? cfg.auth.use : 1) != 0) {
			fprintf(stderr, "rumor-craft: [auth] keyring: %s\n", err);
			return 1;
		}
		/* a sender id of no configured node, one per process; counters above any
		 * receiver's start floor */
		sign_sender = opt.as ? opt.as : (uint16_t)(1000 + (unsigned)getpid() % 24);
		sign_ctr = rumor_auth_ctr_of_ns(((uint64_t)time(NULL) + 60) * 1000000000ull);
	}

	if (opt.replay != NULL) {
		cf = load_pcap(&cfg, opt.replay, &ncf);
		if (ncf == 0) {
			fprintf(stderr, "rumor-craft: no rumor frames in %s\n", opt.replay);
			return 1;
		}
		kinds[0] = opt.flip ? K_TAMPER : K_REPLAY;
		nk = 1;
		fprintf(stderr, "rumor-craft: %zu captured frames from %s\n", ncf, opt.replay);
	}
	if (!nk || cfg.n_nodes < 2)
		usage();
	for (unsigned k = 0; k < nk; k++)
		if (kinds[k] == K_MEMBER) {
			if (!opt.as || !rumor_config_node(&cfg, opt.as) || !keys || nk != 1) {
				fprintf(stderr, "rumor-craft: kind member needs --as MEMBER, the "
						"config's [auth] keyring, and no other kind\n");
				return 2;
			}
			member_targets = 0;
			for (unsigned j = 0; j < cfg.n_nodes; j++)
				member_targets += member_target(&cfg.nodes[j]);
			if (!member_targets)
				usage();
		}

	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	unsigned ifx = if_nametoindex(opt.iface);

	if (fd < 0 || !ifx) {
		fprintf(stderr, "rumor-craft: raw socket on %s: %s\n", opt.iface, strerror(errno));
		return 1;
	}
	double t0 = now_s(), gap = opt.pps > 0 ? 1.0 / opt.pps : 0;
	for (uint64_t i = 0;; i++) {
		double due = t0 + (double)i * gap, t = (i & 63) == 0 || gap > 0 ? now_s() : t0;
		uint8_t frame[1600];

		if (t - t0 >= opt.duration)
			break;
		if (opt.count && i - fails >= opt.count)
			break;
		if (gap > 0 && due > t)
			usleep((useconds_t)((due - t) * 1e6));
		enum kind k = kinds[i % nk];
		const struct rumor_node_conf *dst = &cfg.nodes[(i / nk) % cfg.n_nodes];

		/* spoofing a member's MAC makes the bridge send that member's frames to us: the
		 * ones for it would come back to our own port and be lost */
		if (opt.spoof && dst->id == opt.next_origin)
			dst = &cfg.nodes[(i / nk + 1) % cfg.n_nodes];
		if (k == K_MEMBER) {
			/* not to ourselves (our own port), not to the origin (it drops its own
			 * seqs): each other node in turn, each seq once per round of them */
			unsigned want = (unsigned)(i % member_targets), j;
			for (j = 0; j < cfg.n_nodes; j++)
				if (member_target(&cfg.nodes[j]) && want-- == 0)
					break;
			dst = &cfg.nodes[j];
		}
		struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_ifindex = (int)ifx,
					  .sll_halen = 6 };
		int len;

		if (cf != NULL) {
			const struct capframe *c0 = &cf[i % ncf];

			len = c0->len;
			memcpy(frame, c0->b, (size_t)len);
			memcpy(sa.sll_addr, frame, 6);
			/* our own source MAC: the bridge must not learn the real sender's on our
			 * port (its frames would then come to us) */
			memcpy(frame + 6, opt.src_mac, 6);
			if (opt.flip) {
				/* one bit anywhere in the UDP payload: the rumor header, the auth
				 * header or the body (L2-L4 bits are the checksums' business) */
				size_t off = RUMOR_WIRE_L2L4_LEN +
					     rnd() % (size_t)(len - RUMOR_WIRE_L2L4_LEN);

				frame[off] ^= (uint8_t)(1u << (rnd() % 8));
			}
		} else {
			len = craft(&cfg, dst, k, i, frame, sizeof(frame));
			memcpy(sa.sll_addr, dst->mac, 6);
		}
		if (len < 0) {
			fails++;
			continue;
		}
		if (sendto(fd, frame, (size_t)len, 0, (struct sockaddr *)&sa, sizeof(sa)) != len)
			fails++;
		else
			sent[k]++;
	}
	printf("rumor-craft: sent");
	for (unsigned k = 0; k < K_N; k++)
		if (sent[k])
			printf(" %s=%llu", kind_names[k], (unsigned long long)sent[k]);
	printf(" failed=%llu\n", (unsigned long long)fails);
	close(fd);
	return 0;
}
