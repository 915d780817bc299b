/* rumor-dp: the DPDK primary process of one rumor node.
 * Usage: rumor-dp [EAL args] -- --config FILE --node ID [--port N] [--store-slots N]
 *        [--msg-pool N] [--seed N] [--max-idle-us N] [--state-dir DIR] */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_memzone.h>
#include <rte_ring.h>

#include "dp_node.h"
#include "dp_wake.h"

static volatile int force_quit;
static struct rumor_config cfg;
static struct dp_node node;
static unsigned max_idle_us = 1000;

static void on_signal(int sig)
{
	(void)sig;
	force_quit = 1;
}

/* ---------------------------------------------------------------- idle wake-ups */

#define WAIT_FDS_MAX 8

/* What an idle rumor-dp waits on: its eventfd (rumor-cp queued work, dp_wake.h) and the
 * af_packet PMD's sockets (a frame arrived), found among our fds. Without any of these
 * (memzone or eventfd failed) it sleeps its backoff as before. */
struct idle_wait {
	struct dp_wake *w;
	struct pollfd fds[WAIT_FDS_MAX];
	unsigned nfds;
	bool covers_rx; /* the eventfd and the port's sockets: every input ends the sleep */
};

static void idle_wait_init(struct idle_wait *iw)
{
	const struct rte_memzone *mz;
	struct dirent *de;
	DIR *d;
	int dfd, cfd;

	memset(iw, 0, sizeof(*iw));
	mz = rte_memzone_reserve(DP_WAKE_MZ, sizeof(struct dp_wake), SOCKET_ID_ANY, 0);
	dfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	cfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (mz == NULL || dfd < 0 || cfd < 0) {
		fprintf(stderr, "rumor-dp: no wake-ups (%s): rumor-cp polls on its backoff\n",
			mz == NULL ? "memzone" : "eventfd");
		return;
	}
	iw->fds[iw->nfds++] = (struct pollfd){ .fd = dfd, .events = POLLIN };
	if ((d = opendir("/proc/self/fd")) != NULL) {
		while ((de = readdir(d)) != NULL && iw->nfds < WAIT_FDS_MAX) {
			int fd = atoi(de->d_name), dom = 0;
			socklen_t l = sizeof(dom);
			if (de->d_name[0] < '0' || de->d_name[0] > '9' || fd == dirfd(d) ||
			    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) != 0 || dom != AF_PACKET)
				continue;
			iw->fds[iw->nfds++] = (struct pollfd){ .fd = fd, .events = POLLIN };
		}
		closedir(d);
	}
	iw->covers_rx = iw->nfds > 1;
	iw->w = mz->addr;
	atomic_store(&iw->w->dp_sleeping, 0);
	atomic_store(&iw->w->cp_sleeping, 0);
	iw->w->pid = (int32_t)getpid();
	iw->w->dp_efd = dfd;
	iw->w->cp_efd = cfd;
}

/* After a poll pass of worker @wk: rumor-cp said it may wait and the worker's dp2cp ring
 * holds work for it. */
static void wake_cp(struct idle_wait *iw, const struct dp_node *wk)
{
	if (iw->w == NULL || rte_ring_count(wk->dp2cp) == 0)
		return;
	atomic_thread_fence(memory_order_seq_cst); /* the enqueues before the look at the flag */
	if (atomic_load_explicit(&iw->w->cp_sleeping, memory_order_relaxed) &&
	    atomic_exchange(&iw->w->cp_sleeping, 0)) {
		uint64_t one = 1;
		if (write(iw->w->cp_efd, &one, sizeof(one)) < 0) {
			/* cannot fail short of a full counter: rumor-cp polls on its backoff */
		}
	}
}

/* Sleep up to @us, waking at once for rumor-cp's work or a received frame. Never with work
 * in cp2dp (the flag is set before the last look at it). */
static void idle_sleep(struct idle_wait *iw, unsigned us)
{
	if (iw->w == NULL) {
		rte_delay_us_sleep(us);
		return;
	}
	atomic_store(&iw->w->dp_sleeping, 1); /* seq_cst: before the look at the ring */
	if (rte_ring_count(node.cp2dp) == 0) {
		struct timespec ts = { .tv_sec = us / 1000000u, .tv_nsec = (long)(us % 1000000u) * 1000 };
		if (ppoll(iw->fds, iw->nfds, &ts, NULL) > 0 && (iw->fds[0].revents & POLLIN)) {
			uint64_t v;
			if (read(iw->fds[0].fd, &v, sizeof(v)) < 0) {
				/* EAGAIN: another wake-up took it */
			}
		}
	}
	atomic_store_explicit(&iw->w->dp_sleeping, 0, memory_order_relaxed);
}

static struct idle_wait iw;

/* Workers 1.. ([dataplane] workers) on the other EAL lcores: the same loop without cp2dp and
 * the wake-ups' sleep (a worker's queue has no fd of its own to wait on): busy while there
 * is work, then sleeps growing to max_idle_us. */
static int worker_main(void *arg)
{
	struct dp_node *w = arg;
	unsigned idle = 0;

	dp_node_worker_bind(w);
	while (!force_quit) {
		if (dp_node_poll(w, rte_rdtsc()) != 0) {
			wake_cp(&iw, w);
			idle = 0;
			continue;
		}
		idle = idle == 0 ? 1 : idle * 2 > max_idle_us ? max_idle_us : idle * 2;
		rte_delay_us_sleep(idle);
	}
	dp_node_tx_flush(w);
	return 0;
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
	unsigned idle_us = 0, lcore, nw = 1;
	struct rumor_dp_stats tot;
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
	if (cfg.dataplane.workers > rte_lcore_count())
		rte_exit(EXIT_FAILURE, "config: [dataplane] workers = %u needs as many EAL lcores "
			 "(-l), have %u\n", cfg.dataplane.workers, rte_lcore_count());
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
	idle_wait_init(&iw);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	RTE_LCORE_FOREACH_WORKER(lcore) {
		if (nw >= node.nworkers)
			break;
		if (rte_eal_remote_launch(worker_main, dp_node_worker(&node, nw), lcore) != 0)
			rte_exit(EXIT_FAILURE, "cannot start worker %u on lcore %u\n", nw, lcore);
		nw++;
	}
	printf("rumor-dp: node %u port %u store %u slots, %u peers, %u workers, origin seq from %"
	       PRIu64 ", ready\n", node.self, node.port, node.store.nslots, node.nview,
	       node.nworkers, node.clock.ctr[node.self] + 1);
	fflush(stdout);

	/* Idle backoff as l3fwd-power does: busy-poll while there is work, then sleep
	 * progressively longer (up to max_idle_us) so many nodes share few cores; the sleep
	 * ends as soon as rumor-cp queues work or a frame arrives (idle_sleep), so where both
	 * wake it (af_packet) it sleeps the longest at once. */
	while (!force_quit) {
		unsigned work = dp_node_poll(&node, rte_rdtsc());
		wake_cp(&iw, &node);
		if (work != 0) {
			idle_us = 0;
			continue;
		}
		if (node.of.open) {
			/* nothing more came to pack with the open frame: send it now instead of
			 * sleeping until its time bound (its events' latency is the bound) */
			node.of.deadline = 0;
			continue;
		}
		if (iw.w != NULL && iw.covers_rx)
			/* work ends the sleep at once: no short sleeps first. Each of those woke
			 * rumor-dp a dozen times in the millisecond after every frame and, with
			 * three nodes on two cores, preempted the rumor-cp that had the event's
			 * next step (controlplane/README.md "Latency") */
			idle_us = max_idle_us;
		else if (idle_us == 0)
			idle_us = 1;
		else if (idle_us < max_idle_us)
			idle_us = idle_us * 2 > max_idle_us ? max_idle_us : idle_us * 2;
		/* acks waiting for room in dp2cp: rumor-cp is draining it, look again soon */
		idle_sleep(&iw, node.ackq_tail != node.ackq_head && idle_us > 10 ? 10 : idle_us);
	}
	rte_eal_mp_wait_lcore();
	dp_node_stats_total(&node, &tot);
	printf("rumor-dp: node %u stopping: rx %" PRIu64 " tx %" PRIu64 " new %" PRIu64
	       " dup %" PRIu64 "\n", node.self, tot.rx_pkts, tot.tx_pkts, tot.rx_frames_new,
	       tot.rx_frames_dup);
	if (p.state_dir != NULL && (ret = dp_node_seq_checkpoint(&node)) != 0)
		fprintf(stderr, "rumor-dp: origin seq checkpoint failed (%s): the next run starts "
				"above the reserved block\n", strerror(-ret));
	dp_node_fini(&node);
	rte_eal_cleanup();
	return 0;
}
