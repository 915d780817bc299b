/* rumor-dp: the DPDK primary process of one rumor node.
 * Usage: rumor-dp [EAL args] -- --config FILE --node ID [--port N] [--store-slots N]
 *        [--msg-pool N] [--seed N] [--max-idle-us N] [--state-dir DIR] */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "dp_node.h"

static volatile int force_quit;
static struct rumor_config cfg;
static struct dp_node node;

static void on_signal(int sig)
{
	(void)sig;
	force_quit = 1;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [EAL args] -- --config FILE --node ID [--port N] [--store-slots N]\n"
		"       [--msg-pool N] [--seed N] [--max-idle-us N] [--state-dir DIR]\n"
		"  --state-dir DIR: keeps DIR/" DP_SEQSTATE_FILE ", the reserved origin seq high-water\n"
		"                   mark, so a restarted node never reuses an origin seq\n",
		prog);
}

static unsigned long num(const char *s, const char *what)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (*s == '\0' || *end != '\0')
		rte_exit(EXIT_FAILURE, "bad %s: %s\n", what, s);
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"node", required_argument, NULL, 'n'},
		{"port", required_argument, NULL, 'p'}, {"store-slots", required_argument, NULL, 's'},
		{"msg-pool", required_argument, NULL, 'm'}, {"seed", required_argument, NULL, 'r'},
		{"max-idle-us", required_argument, NULL, 'i'},
		{"state-dir", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct dp_node_params p;
	const char *config = NULL;
	char err[256], initerr[256] = "";
	unsigned max_idle_us = 1000, idle_us = 0;
	int ret, opt;

	if (argc == 2 && !strcmp(argv[1], "--version"))
		return printf("rumor-dp %s\n", RUMOR_VERSION) < 0; /* before EAL: no hugepages */
	ret = rte_eal_init(argc, argv);
	if (ret < 0)
		rte_exit(EXIT_FAILURE, "EAL init failed\n");
	argc -= ret;
	argv += ret;
	memset(&p, 0, sizeof(p));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'n': p.node_id = (uint16_t)num(optarg, "node id"); break;
		case 'p': p.port_id = (uint16_t)num(optarg, "port"); break;
		case 's': p.store_slots = (uint32_t)num(optarg, "store slots"); break;
		case 'm': p.msg_pool_size = (uint32_t)num(optarg, "msg pool size"); break;
		case 'r': p.seed = num(optarg, "seed"); break;
		case 'i': max_idle_us = (unsigned)num(optarg, "max idle"); break;
		case 'd': p.state_dir = optarg; break;
		default: usage(argv[0]); rte_exit(EXIT_FAILURE, "bad arguments\n");
		}
	}
	if (config == NULL || p.node_id == 0) {
		usage(argv[0]);
		rte_exit(EXIT_FAILURE, "--config and --node are required\n");
	}
	ret = rumor_config_load(config, &cfg, err, sizeof(err));
	if (ret != 0)
		rte_exit(EXIT_FAILURE, "config: %s\n", err);
	if (!cfg.auth.keyring[0] && !cfg.auth.insecure) /* secure by default */
		rte_exit(EXIT_FAILURE, "config: %s: no [auth] keyring: set keyring = FILE, or "
			 "insecure = true to run unauthenticated\n", config);
	if (!rte_eth_dev_is_valid_port(p.port_id))
		rte_exit(EXIT_FAILURE, "port %u does not exist (add a --vdev or device)\n",
			 p.port_id);
	p.cfg = &cfg;
	if (p.seed == 0)
		p.seed = rte_rdtsc() ^ ((uint64_t)p.node_id << 32);
	p.err = initerr;
	p.errlen = sizeof(initerr);
	ret = dp_node_init(&node, &p);
	if (ret != 0)
		rte_exit(EXIT_FAILURE, "dataplane init failed: %s%s%s\n", strerror(-ret),
			 initerr[0] ? ": " : "", initerr);
	if (p.state_dir == NULL)
		fprintf(stderr, "rumor-dp: no --state-dir: origin seqs restart at 1 (reused after "
				"a restart)\n");
	if (dp_telemetry_register(&node) != 0)
		fprintf(stderr, "rumor-dp: telemetry commands not registered\n");
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("rumor-dp: node %u port %u store %u slots, %u peers, origin seq from %" PRIu64
	       ", ready\n",
	       node.self, node.port, node.store.nslots, node.nview, node.clock.ctr[node.self] + 1);
	fflush(stdout);

	/* Idle backoff as l3fwd-power does: busy-poll while there is work, then sleep
	 * progressively longer (up to max_idle_us) so many nodes share few cores. */
	while (!force_quit) {
		if (dp_node_poll(&node, rte_rdtsc()) != 0) {
			idle_us = 0;
			continue;
		}
		if (idle_us == 0)
			idle_us = 1;
		else if (idle_us < max_idle_us)
			idle_us = idle_us * 2 > max_idle_us ? max_idle_us : idle_us * 2;
		if (node.of.open) {
			/* wake up in time for the open frame's time bound */
			uint64_t now = rte_rdtsc();
			uint64_t left = node.of.deadline > now
						? (node.of.deadline - now) * 1000000 / node.tsc_hz
						: 0;
			if (left < idle_us)
				idle_us = left ? (unsigned)left : 1;
		}
		rte_delay_us_sleep(idle_us);
	}
	printf("rumor-dp: node %u stopping: rx %" PRIu64 " tx %" PRIu64 " new %" PRIu64
	       " dup %" PRIu64 "\n",
	       node.self, node.stats->rx_pkts, node.stats->tx_pkts, node.stats->rx_frames_new,
	       node.stats->rx_frames_dup);
	if (p.state_dir != NULL && (ret = dp_node_seq_checkpoint(&node)) != 0)
		fprintf(stderr, "rumor-dp: origin seq checkpoint failed (%s): the next run starts "
				"above the reserved block\n", strerror(-ret));
	dp_node_fini(&node);
	rte_eal_cleanup();
	return 0;
}
