/* rumor-dp-probe: a DPDK secondary that attaches to a running rumor-dp (same --file-prefix),
 * originates events, drains dp2cp and prints records and stats as one-line JSON objects.
 * Usage: rumor-dp-probe --proc-type=secondary --file-prefix P [EAL] -- [--originate N]
 *        [--size B] [--wait-ms T] [--until-frames K] [--release] [--resync] [--quiet]
 *        [--pull-missing N]   (pull first frames of origins 1..N this node lacks) */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>

#include "dp_client.h"

static void print_stats(const struct rumor_dp_stats *s)
{
	printf("{\"stats\":{\"node\":%u,\"rx_pkts\":%" PRIu64 ",\"tx_pkts\":%" PRIu64
	       ",\"rx_frames_new\":%" PRIu64 ",\"rx_frames_dup\":%" PRIu64
	       ",\"rx_frames_late\":%" PRIu64 ",\"rx_events_new\":%" PRIu64
	       ",\"originated_events\":%" PRIu64 ",\"originated_frames\":%" PRIu64
	       ",\"originate_refused\":%" PRIu64 ",\"fanout_frames\":%" PRIu64
	       ",\"store_used\":%" PRIu64 ",\"store_full\":%" PRIu64
	       ",\"ring_full_dp2cp\":%" PRIu64 ",\"arp_rx\":%" PRIu64 ",\"arp_tx\":%" PRIu64
	       ",\"pull_sent\":%" PRIu64 ",\"pull_served\":%" PRIu64 ",\"pull_failed\":%" PRIu64
	       ",\"drops\":[",
	       s->node_id, s->rx_pkts, s->tx_pkts, s->rx_frames_new, s->rx_frames_dup,
	       s->rx_frames_late, s->rx_events_new, s->originated_events, s->originated_frames,
	       s->originate_refused, s->fanout_frames, s->store_used, s->store_full,
	       s->ring_full_dp2cp, s->arp_rx, s->arp_tx, s->pull_sent, s->pull_served,
	       s->pull_failed);
	for (unsigned i = 0; i < RUMOR_DP_DROP_REASONS; i++)
		printf("%s%" PRIu64, i ? "," : "", s->drops[i]);
	printf("],\"link_up\":%u,\"mtu\":%u,\"arp_unresolved\":%u", s->link_up, s->mtu,
	       s->arp_unresolved);
	for (int i = 0; i < RUMOR_DP_NIC_N; i++)
		printf(",\"%s\":%" PRIu64, rumor_dp_nic_name(i), s->nic[i]);
	printf("}}\n");
}

/* Origins whose frame with first_seq 1 this node reported (for --pull-missing). */
static bool seen_first[RUMOR_NODE_ID_MAX + 1];

static unsigned drain(struct dp_client *c, bool release, bool quiet)
{
	struct rumor_msg *msgs[64];
	unsigned n, total = 0;

	while ((n = dp_client_recv_burst(c, msgs, 64)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			struct rumor_msg *m = msgs[i];

			if (m->type == RUMOR_MSG_NEW_FRAME) {
				const struct rumor_msg_new_frame *f = &m->u.new_frame;
				char clk[512];

				if (f->first_seq == 1)
					seen_first[f->origin] = true;
				rumor_vc_format(&f->holder_clock, clk, sizeof(clk));
				if (!quiet)
					printf("{\"new_frame\":{\"origin\":%u,\"first_seq\":%" PRIu64
					       ",\"count\":%u,\"from\":%u,\"slot\":%u,\"flags\":%u,"
					       "\"len\":%u,\"magic_ok\":%d,\"clock\":\"%s\"}}\n",
					       f->origin, f->first_seq, f->count, f->from, f->slot,
					       f->flags, f->frame_len,
					       f->frame[0] == 'R' && f->frame[1] == 'U', clk);
				if (release) {
					struct rumor_msg *r;

					if (dp_client_msg_alloc(c, RUMOR_MSG_RELEASE, &r) == 0) {
						r->u.release.slot = f->slot;
						r->u.release.origin = f->origin;
						r->u.release.first_seq = f->first_seq;
						if (dp_client_send(c, r) != 0)
							dp_client_msg_free(c, r);
					}
				}
			} else if (m->type == RUMOR_MSG_ORIGINATE_ACK && !quiet) {
				printf("{\"ack\":{\"req\":%" PRIu64 ",\"status\":%d,\"count\":%u,"
				       "\"first_seq\":%" PRIu64 "}}\n",
				       m->u.originate_ack.req_id, m->u.originate_ack.status,
				       m->u.originate_ack.count, m->u.originate_ack.first_seq);
			} else if (m->type == RUMOR_MSG_PULL_FAILED && !quiet) {
				printf("{\"pull_failed\":{\"origin\":%u,\"first_seq\":%" PRIu64 "}}\n",
				       m->u.pull_failed.origin, m->u.pull_failed.first_seq);
			}
		}
		dp_client_msg_free_bulk(c, msgs, n);
		total += n;
	}
	return total;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"originate", required_argument, NULL, 'o'}, {"size", required_argument, NULL, 's'},
		{"wait-ms", required_argument, NULL, 'w'},
		{"until-frames", required_argument, NULL, 'u'},
		{"release", no_argument, NULL, 'r'}, {"resync", no_argument, NULL, 'y'},
		{"quiet", no_argument, NULL, 'q'},
		{"pull-missing", required_argument, NULL, 'p'}, {NULL, 0, NULL, 0},
	};
	unsigned originate = 0, size = 16, wait_ms = 0, until = 0, pull_upto = 0;
	bool release = false, resync = false, quiet = false;
	struct dp_client c;
	uint64_t hz, end;
	int ret, opt;

	ret = rte_eal_init(argc, argv);
	if (ret < 0)
		rte_exit(EXIT_FAILURE, "EAL init failed (use --proc-type=secondary)\n");
	argc -= ret;
	argv += ret;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'o': originate = (unsigned)atoi(optarg); break;
		case 's': size = (unsigned)atoi(optarg); break;
		case 'w': wait_ms = (unsigned)atoi(optarg); break;
		case 'u': until = (unsigned)atoi(optarg); break;
		case 'r': release = true; break;
		case 'y': resync = true; break;
		case 'q': quiet = true; break;
		case 'p': pull_upto = (unsigned)atoi(optarg); resync = true; break;
		default: rte_exit(EXIT_FAILURE, "bad arguments\n");
		}
	}
	if (size > 9216)
		rte_exit(EXIT_FAILURE, "--size too large\n");
	ret = dp_client_attach(&c);
	if (ret != 0)
		rte_exit(EXIT_FAILURE, "attach: %s (is rumor-dp running with this prefix?)\n",
			 strerror(-ret));
	if (!dp_client_alive(&c, 2000))
		rte_exit(EXIT_FAILURE, "rumor-dp is not alive\n");
	if (resync) {
		struct rumor_msg *m;

		if (dp_client_msg_alloc(&c, RUMOR_MSG_RESYNC, &m) == 0 && dp_client_send(&c, m))
			dp_client_msg_free(&c, m);
	}
	if (pull_upto) {
		/* Learn what is held (RESYNC answers with every held frame), then ask peers for
		 * the first frame of every origin 1..pull_upto still missing. */
		for (int t = 0; t < 200 && c.stats->store_used > 0; t++) {
			usleep(2000);
			drain(&c, false, true);
			unsigned have = 0;

			for (unsigned o = 1; o <= pull_upto && o <= RUMOR_NODE_ID_MAX; o++)
				have += seen_first[o];
			if (have >= c.stats->store_used)
				break;
		}
		for (unsigned o = 1; o <= pull_upto && o <= RUMOR_NODE_ID_MAX; o++) {
			struct rumor_msg *m;

			if (seen_first[o] || dp_client_msg_alloc(&c, RUMOR_MSG_PULL, &m) != 0)
				continue;
			m->u.pull.origin = (uint16_t)o;
			m->u.pull.first_seq = 1;
			m->u.pull.count = 1;
			printf("{\"pull\":{\"origin\":%u}}\n", o);
			if (dp_client_send(&c, m) != 0)
				dp_client_msg_free(&c, m);
		}
	}
	for (unsigned i = 0; i < originate; i++) {
		static uint8_t payload[9216];
		struct rumor_msg *m;

		snprintf((char *)payload, sizeof(payload), "probe-%u-%u", c.stats->node_id, i);
		for (unsigned k = (unsigned)strlen((char *)payload); k < size; k++)
			payload[k] = (uint8_t)k;
		while (dp_client_msg_alloc(&c, RUMOR_MSG_ORIGINATE, &m) != 0)
			drain(&c, release, quiet);
		m->u.originate.req_id = i + 1;
		/* jumbo: the pool's objects hold what one frame carries at rumor-dp's MTU */
		if (rumor_msg_originate_add_in(m, c.msg_size, payload, (uint16_t)size) != 0)
			rte_exit(EXIT_FAILURE, "--size %u: over the %zu bytes an ORIGINATE holds\n",
				 size, rumor_msg_originate_cap(c.msg_size) - 2);
		while (dp_client_send(&c, m) != 0)
			drain(&c, release, quiet);
	}
	hz = rte_get_tsc_hz();
	end = rte_rdtsc() + (uint64_t)wait_ms * hz / 1000;
	do {
		drain(&c, release, quiet);
		if (until && c.stats->rx_frames_new + c.stats->originated_frames >= until)
			break;
		usleep(1000);
	} while (rte_rdtsc() < end);
	drain(&c, release, quiet);
	print_stats(c.stats);
	ret = until && c.stats->rx_frames_new + c.stats->originated_frames < until;
	rte_eal_cleanup();
	return ret;
}
