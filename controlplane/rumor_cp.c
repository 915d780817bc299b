/* rumor-cp: the controlplane process. DPDK secondary (attaches to rumor-dp's rings), one
 * io_uring loop running Raft, the ordering service, the state machine and the API socket.
 * Usage: rumor-cp [EAL args, --proc-type=secondary --file-prefix P] -- --config F --node ID */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "cp_local.h"
#include "cp_loop.h"
#include "cp_metrics.h"
#include "cp_node.h"

static struct cp_node *the_node;

static void on_signal(int sig)
{
	(void)sig;
	if (the_node)
		cp_node_request_stop(the_node);
}

static void usage(void)
{
	fprintf(stderr, "usage: rumor-cp [EAL options] -- --config FILE --node ID [--join]\n"
			"       [--metrics HOST:PORT]\n"
			"  --node-config FILE: this node's TLS files (or insecure = true) and API "
			"groups (OPERATIONS.md)\n"
			"  --join: a new node: do not bootstrap, wait for the leader to add it\n"
			"  --metrics: serve Prometheus GET /metrics there (docs/metrics.md)\n"
			"  EAL options must include --proc-type=secondary and rumor-dp's "
			"--file-prefix\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "node", required_argument, NULL, 'n' },
		{ "join", no_argument, NULL, 'j' },
		{ "node-config", required_argument, NULL, 'L' },
		{ "metrics", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	static struct rumor_config cfg;
	struct cp_metrics *mx = NULL;
	const char *config = NULL, *metrics = NULL, *local_path = NULL;
	bool join = false;
	struct cp_node *n;
	char err[512];
	struct cp_loop *loop;
	int rc, opt;
	long id = 0;

	if (argc == 2 && !strcmp(argv[1], "--version"))
		return printf("rumor-cp %s\n", RUMOR_VERSION) < 0; /* before EAL: no hugepages */
	rc = rte_eal_init(argc, argv);
	if (rc < 0) {
		fprintf(stderr, "rumor-cp: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= rc;
	argv += rc;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:n:jm:hL:", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'n': id = strtol(optarg, NULL, 10); break;
		case 'j': join = true; break;
		case 'L': local_path = optarg; break;
		case 'm': metrics = optarg; break;
		default: usage(); return 2;
		}
	}
	if (!config || id <= 0 || id > RUMOR_NODE_ID_MAX) {
		usage();
		return 2;
	}
	if (rumor_config_load(config, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "rumor-cp: %s\n", err);
		return 2;
	}
	if (cp_node_new(&cfg, (uint16_t)id, join, local_path, &n) < 0) {
		fprintf(stderr, "rumor-cp: out of memory\n");
		return 1;
	}
	/* before the node config: its metrics_listen (once cp_local has it) yields to --metrics */
	if (metrics && (rc = cp_metrics_open(metrics, &mx, err, sizeof(err))) < 0) {
		fprintf(stderr, "rumor-cp: --metrics: %s\n", err);
		return 2;
	}
	cp_node_set_metrics(n, mx);
	if (cp_local_setup(n, local_path) < 0) /* TLS or insecure; API guard */
		return 2;
	rc = cp_loop_create(1024, &loop);
	if (rc < 0) {
		fprintf(stderr, "rumor-cp: io_uring: %s\n", strerror(-rc));
		return 1;
	}
	the_node = n;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	rc = cp_node_start(n, loop);
	if (rc < 0) {
		fprintf(stderr, "rumor-cp: start failed: %s\n", strerror(-rc));
		return 1;
	}
	printf("rumor-cp: ready (node %u)\n", cp_node_self(n));
	fflush(stdout);
	rc = cp_loop_run(loop);
	cp_node_stop(n);
	cp_metrics_close(cp_node_metrics(n));
	fprintf(stderr, "rumor-cp[%u]: stopped\n", cp_node_self(n));
	cp_node_free(n);
	rte_eal_cleanup();
	return rc < 0 ? 1 : 0;
}
