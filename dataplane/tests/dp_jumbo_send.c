/* dp-jumbo-send: one well-formed GOSSIP frame (the project's codec) with one event of --size
 * bytes, from configured node --from (its MAC, IP and id as origin and sender) to node --to
 * (the MAC given with --to-mac, since a node with mac = arp has none in the config), written
 * to a raw AF_PACKET socket on --iface. For netns_link.sh: an 8 KiB event at MTU 9000.
 * Usage: dp-jumbo-send CONFIG IFACE FROM TO TO_MAC SEQ SIZE [COUNT]   (COUNT frames, seqs
 * SEQ.., back to back; prints the time they took) */
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rumor_config.h"
#include "rumor_eventid.h"
#include "rumor_wire.h"

static uint8_t body[9200], frame[9300], payload[9000];

int main(int argc, char **argv)
{
	struct rumor_config cfg;
	const struct rumor_node_conf *from, *to;
	struct rumor_wire_body b;
	struct rumor_wire_l2l4 a;
	struct rumor_wire_hdr h;
	struct rumor_event_id id;
	struct rumor_vc ts;
	struct sockaddr_ll sa;
	unsigned m[6];
	char err[256];
	uint64_t seq;
	size_t size;
	unsigned long count;
	struct timespec t0, t1;
	int fd, len = 0;

	if ((argc != 8 && argc != 9) || rumor_config_load(argv[1], &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "usage: dp-jumbo-send CONFIG IFACE FROM TO TO_MAC SEQ SIZE [COUNT] %s\n",
			argc >= 8 ? err : "");
		return 2;
	}
	from = rumor_config_node(&cfg, (uint16_t)atoi(argv[3]));
	to = rumor_config_node(&cfg, (uint16_t)atoi(argv[4]));
	seq = strtoull(argv[6], NULL, 10);
	count = argc == 9 ? strtoul(argv[8], NULL, 10) : 1;
	size = strtoul(argv[7], NULL, 10);
	if (from == NULL || to == NULL || from->mac_arp || size > sizeof(payload) || seq == 0 ||
	    sscanf(argv[5], "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6) {
		fprintf(stderr, "dp-jumbo-send: bad arguments\n");
		return 2;
	}
	fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned long k = 0; k < count; k++, seq++) {
		rumor_vc_init(&ts);
		rumor_vc_set(&ts, from->id, seq);
		for (size_t i = 0; i < size; i++)
			payload[i] = (uint8_t)(i * 7 + seq);
		rumor_event_id_compute(from->id, seq, payload, size, &id);
		if (rumor_wire_body_start(&b, body, sizeof(body), &ts) != 0 ||
		    rumor_wire_body_add(&b, &id, payload, size) != 0) {
			fprintf(stderr, "dp-jumbo-send: body does not fit\n");
			return 1;
		}
		memcpy(a.src_mac, from->mac, 6);
		for (int i = 0; i < 6; i++)
			a.dst_mac[i] = (uint8_t)m[i];
		a.src_ip = from->ip;
		a.dst_ip = to->ip;
		a.src_port = a.dst_port = cfg.gossip.port;
		memset(&h, 0, sizeof(h));
		h.type = RUMOR_WIRE_GOSSIP;
		h.rounds_left = 3;
		h.cluster_id = cfg.cluster_id;
		h.origin = from->id;
		h.sender = from->id;
		h.first_seq = seq;
		h.event_count = 1;
		h.clock_count = ts.n;
		len = rumor_wire_encode(frame, sizeof(frame), &a, &h, body, b.len);
		if (len < 0) {
			fprintf(stderr, "dp-jumbo-send: encode: %s\n", rumor_wire_strerror(len));
			return 1;
		}
		memset(&sa, 0, sizeof(sa));
		sa.sll_family = AF_PACKET;
		sa.sll_ifindex = (int)if_nametoindex(argv[2]);
		sa.sll_halen = 6;
		memcpy(sa.sll_addr, a.dst_mac, 6);
		if (sa.sll_ifindex == 0 || sendto(fd, frame, (size_t)len, 0, (struct sockaddr *)&sa,
						  sizeof(sa)) != len) {
			perror("sendto");
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("sent %lu x %d bytes (IP %d, event %zu) in %.3f ms\n", count, len,
	       len - RUMOR_WIRE_ETH_LEN, size,
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	close(fd);
	return 0;
}
