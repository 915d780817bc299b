/* cp_node_io: rumor-cp's side of a node: its environment over the dataplane's rings, the
 * control transport and the io_uring loop's clock; the data directory, payload and ordered
 * logs, Raft over cp_raftio, the API socket, the loop's timers; start and stop. The
 * simulator (controlplane/sim) replaces this file. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "cp_api.h"
#include "cp_keys.h"
#include "cp_members.h"
#include "cp_metrics.h"
#include "cp_node_int.h"
#include "cp_plog.h"
#include "cp_raftio.h"
#include "cp_view.h"
#include "rumor_rand.h"

/* ---------------------------------------------------------------- rumor-cp's environment */

static int env_dp_alloc(void *arg, uint16_t type, struct rumor_msg **out)
{
	return dp_client_msg_alloc(&((struct cp_node *)arg)->dp, type, out);
}

static int env_dp_send(void *arg, struct rumor_msg *m)
{
	return dp_client_send(&((struct cp_node *)arg)->dp, m);
}

static void env_dp_free(void *arg, struct rumor_msg *m)
{
	dp_client_msg_free(&((struct cp_node *)arg)->dp, m);
}

static unsigned env_dp_recv(void *arg, struct rumor_msg **msgs, unsigned max)
{
	return dp_client_recv_burst(&((struct cp_node *)arg)->dp, msgs, max);
}

static int env_peer_send(void *arg, uint64_t to, uint16_t type, const struct iovec *iov,
			 unsigned cnt)
{
	struct cp_node *n = arg;

	return n->net ? cp_net_send(n->net, to, CP_NET_APP, type, iov, cnt, NULL) : -ENOTCONN;
}

static void env_refused(void *arg, int reason, uint64_t from)
{
	struct cp_node *n = arg;

	if (n->net)
		cp_net_count_refused(n->net, (enum cp_net_refusal)reason, from);
}

static uint64_t env_now_us(void *arg)
{
	(void)arg;
	return cp_loop_now_us();
}

static uint64_t env_random(void *arg)
{
	struct cp_node *n = arg;

	return rumor_splitmix64(&n->rng);
}

/* libraft's tick sends an empty AppendEntries to each follower it sent nothing for
 * heartbeat_timeout ms: a tick with that timeout at 0 sends one to every follower now. */
static void env_raft_heartbeat(void *arg)
{
	struct cp_node *n = arg;
	unsigned hb = n->raft->heartbeat_timeout;

	if (n->raft->state != RAFT_LEADER)
		return;
	n->raft->heartbeat_timeout = 0;
	cp_raftio_tick_now(&n->io);
	n->raft->heartbeat_timeout = hb;
}

static const struct cp_env rumor_cp_env = {
	.version = CP_ENV_VERSION, .dp_alloc = env_dp_alloc, .dp_send = env_dp_send,
	.dp_free = env_dp_free, .dp_recv = env_dp_recv, .peer_send = env_peer_send, .refused = env_refused,
	.now_us = env_now_us, .random = env_random, .raft_heartbeat = env_raft_heartbeat,
};

/* ---------------------------------------------------------------- timers */

static void on_tick(struct cp_loop_timer *t)
{
	struct cp_node *n = t->data;

	if (n->stop) {
		cp_loop_stop(n->loop);
		return;
	}
	cp_node_tick(n);
}

/* New events need room on disk in every node (payload log, Raft log, ordered.log): below
 * [storage] min_free_mb this node refuses them, so what it accepted can still be ordered. */
static void check_disk(struct cp_node *n)
{
	struct statvfs vs;

	if (statvfs(n->dir, &vs) != 0)
		return;
	uint64_t free_mb = (uint64_t)vs.f_bavail * vs.f_frsize >> 20;
	bool low = free_mb < n->cfg.storage.min_free_mb;
	if (low != n->disk_low)
		LOG(n, "data dir %s: %" PRIu64 " MiB free, %s new events", n->dir, free_mb,
		    low ? "below [storage] min_free_mb: refusing" : "accepting");
	n->disk_low = low;
	n->disk_free_mb = free_mb;
}

/* Every member of the Raft configuration is a peer we can answer, not only the configured
 * nodes and those Raft itself sends to: a node added at run time (rumorctl add) is neither on
 * a follower, whose FETCH answers, APPLIED messages and view traffic to it were dropped as
 * "unknown peer" (tests/cluster_faults.sh with the join: node 6 fetched from the leader
 * alone, and waited forever for a payload the leader's payload log lacked). */
static void learn_members(struct cp_node *n)
{
	const struct raft_configuration *c = &n->raft->configuration;

	for (unsigned i = 0; i < c->n; i++)
		if (c->servers[i].id != n->self && c->servers[i].address)
			cp_raftio_add_peer(&n->io, c->servers[i].id, c->servers[i].address);
}

/* A member in no config we started with (rumorctl add) has no data address here: the config
 * file as it is now (the cluster script, or the operator, adds its [node.ID] to every node's)
 * gives it, appended to ours, and cp_members_send_peers tells the dataplane. Read at most once
 * a second while a member is missing. Without it the dataplanes took that member's frames as
 * a stranger's and dropped them: its events were never ordered (tests/cluster_add.sh). */
static void learn_data_peers(struct cp_node *n)
{
	const struct raft_configuration *c = &n->raft->configuration;
	uint64_t now = cp_now_ms(n);
	struct rumor_config *fresh;
	char err[512];
	bool missing = false;
	unsigned had = n->cfg.n_nodes;

	for (unsigned i = 0; i < c->n && !missing; i++)
		missing = c->servers[i].id != n->self && c->servers[i].id <= RUMOR_NODE_ID_MAX &&
			  !rumor_config_node(&n->cfg, (uint16_t)c->servers[i].id);
	if (!missing || now - n->peers_read_ms < 1000)
		return;
	n->peers_read_ms = now;
	if (!(fresh = malloc(sizeof(*fresh))))
		return;
	if (rumor_config_load(n->cfg.path, fresh, err, sizeof(err)) < 0) {
		if (now - n->peers_warn_ms >= 60000) {
			LOG(n, "members added at run time: cannot read %s again: %s", n->cfg.path, err);
			n->peers_warn_ms = now;
		}
		free(fresh);
		return;
	}
	for (unsigned i = 0; i < c->n; i++) {
		uint16_t id = (uint16_t)c->servers[i].id;
		const struct rumor_node_conf *nc;

		if (id == n->self || c->servers[i].id > RUMOR_NODE_ID_MAX ||
		    rumor_config_node(&n->cfg, id))
			continue;
		nc = rumor_config_node(fresh, id);
		if (nc && n->cfg.n_nodes < RUMOR_CONFIG_MAX_NODES) {
			n->cfg.nodes[n->cfg.n_nodes++] = *nc;
			LOG(n, "member %u added at run time: its data address from %s, gossip to and "
			    "from it", id, n->cfg.path);
		} else if (now - n->peers_warn_ms >= 60000) {
			LOG(n, "member %u is not in %s: no gossip to or from it until its [node.%u] "
			    "is there", id, n->cfg.path, id);
			n->peers_warn_ms = now;
		}
	}
	free(fresh);
	if (n->cfg.n_nodes != had) {
		/* the PEERs first: the dataplane takes a view target only with its address */
		cp_members_send_peers(n, now);
		cp_view_peers_changed(n);
	}
}

static void on_slow(struct cp_loop_timer *t)
{
	struct cp_node *n = t->data;
	bool alive = dp_client_alive(&n->dp, 3000);

	check_disk(n);
	learn_members(n);
	learn_data_peers(n);
	cp_metrics_node_tick(n, cp_now_ms(n)); /* publishes at most every 500 ms */
	cp_keys_tick(n, cp_now_ms(n));
	if (alive != n->dp_alive) {
		LOG(n, "dataplane %s", alive ? "alive" : "DEAD (no heartbeat for 3 s)");
		n->dp_alive = alive;
	}
	cp_node_tick_slow(n);
}

static unsigned poll_dataplane(void *arg)
{
	struct cp_node *n = arg;
	unsigned got = cp_node_poll_dataplane(n);

	/* Drained (even right after work): have rumor-dp wake the loop (its eventfd,
	 * cp_loop_set_idle_wake_fd) when it queues the next record, and skip the backoff's
	 * short polls. Each of them woke this process in the millisecond after every record and,
	 * with three nodes on two cores, preempted the thread that had the event's next step:
	 * one client's send --wait p50 1.9 ms -> 1.4 ms and CPU per sequential event -35 %
	 * (controlplane/README.md "Latency"). false: records are still waiting (more came, or
	 * we push back), poll again on the backoff. */
	if (dp_client_idle(&n->dp))
		cp_loop_idle_covered(n->loop);
	return got;
}

/* After every loop iteration's completions: what they made due is proposed and announced
 * now, not on the next 1 ms tick (cp_leader_after_io). */
static void after_io(void *arg)
{
	struct cp_node *n = arg;

	if (!n->stop)
		cp_leader_after_io(n);
}

/* ---------------------------------------------------------------- start / stop */

static int open_logs(struct cp_node *n)
{
	char path[sizeof(n->dir) + 16], msg[256];
	int rc;

	snprintf(path, sizeof(path), "%s/ordered.log", n->dir);
	if ((rc = cp_olog_open(&n->olog, path, 0, msg)) < 0) {
		fprintf(stderr, "rumor-cp: cannot open %s: %s%s%s\n", path, strerror(-rc),
			msg[0] ? ": " : "", msg);
		return rc;
	}
	if (msg[0])
		LOG(n, "%s", msg);
	snprintf(path, sizeof(path), "%s/payloads", n->dir);
	struct cp_plog_cfg pcfg = { .buffer_max = CP_PLOG_BUFFER_MAX, .durable = cp_holder_on_plog_durable,
				    .owner_starts_writes = true, .rwf_dsync = true,
				    .prealloc = true, .log = cp_holder_plog_note, .arg = n };
	if ((rc = cp_plog_open(n->loop, path, &pcfg, &n->plog, msg)) < 0) {
		fprintf(stderr, "rumor-cp: cannot load the payload log %s: %s%s%s\n", path,
			strerror(-rc), msg[0] ? ": " : "", msg);
		return rc;
	}
	return 0;
}

static int bootstrap_if_new(struct cp_node *n)
{
	struct raft_configuration conf;
	int rc = 0;

	raft_configuration_init(&conf);
	for (unsigned i = 0; i < n->cfg.n_nodes && !rc; i++) {
		const struct rumor_node_conf *nc = &n->cfg.nodes[i];
		char addr[96];
		snprintf(addr, sizeof(addr), "%s:%u", nc->ctl_host, nc->ctl_port);
		rc = raft_configuration_add(&conf, nc->id, addr,
					    nc->voter ? RAFT_VOTER : RAFT_STANDBY);
	}
	if (!rc) {
		rc = raft_bootstrap(n->raft, &conf);
		if (rc == RAFT_CANTBOOTSTRAP)
			rc = 0; /* state on disk already: a restart */
		else if (rc == 0)
			LOG(n, "bootstrapped a new cluster of %u nodes", n->cfg.n_nodes);
	}
	raft_configuration_close(&conf);
	return rc;
}

static void on_raft_msg(void *arg, uint64_t from, const uint8_t *p, size_t len)
{
	cp_raftio_net_raft(&((struct cp_node *)arg)->io, from, p, len);
}

/* The control transport is the node's: Raft's messages go to raft_io, the rest (APP) to
 * on_app, peers going down to the partial view. */
static int open_transport(struct cp_node *n, const char *addr)
{
	struct cp_net_cfg nc = { .cluster_id = n->cfg.cluster_id, .self_id = n->self,
				 .listen_addr = addr, .tls = n->tls };
	struct cp_net_cbs cbs = { .arg = n, .raft = on_raft_msg, .app = cp_node_on_app,
				  .peer_down = cp_view_net_peer_down };
	char err[RAFT_ERRMSG_BUF_SIZE] = "";
	int rc = cp_net_create(n->loop, &nc, &cbs, &n->net, err);

	if (rc < 0) {
		fprintf(stderr, "rumor-cp: control transport on %s: %s\n", addr, err[0] ? err :
			strerror(-rc));
		return rc;
	}
	return 0;
}

int cp_node_start(struct cp_node *n, struct cp_loop *loop)
{
	struct cp_raftio_cfg rcfg = { 0 };
	char addr[96];
	int rc;

	n->loop = loop;
	n->started_ms = cp_now_ms(n);
	n->me = rumor_config_node(&n->cfg, n->self);
	if (!n->me) {
		fprintf(stderr, "rumor-cp: node %u is not in %s\n", n->self, n->cfg.path);
		return -EINVAL;
	}
	snprintf(n->dir, sizeof(n->dir), "%s/node-%u", n->cfg.storage.dir, n->self);
	if (rumor_config_expand(n->cfg.storage.api_socket, n->self, n->api_path,
				sizeof(n->api_path)) < 0)
		return -ENAMETOOLONG;
	mkdir(n->cfg.storage.dir, 0755);
	if (mkdir(n->dir, 0755) < 0 && errno != EEXIST) {
		rc = -errno;
		fprintf(stderr, "rumor-cp: cannot create %s: %s\n", n->dir, strerror(errno));
		return rc;
	}

	rc = dp_client_attach(&n->dp);
	if (rc < 0) {
		fprintf(stderr, "rumor-cp: cannot attach to rumor-dp's shared memory: %s "
				"(is rumor-dp running with the same --file-prefix?)\n", strerror(-rc));
		return rc;
	}
	n->dp_alive = dp_client_alive(&n->dp, 3000);
	n->orig_cap = rumor_msg_originate_cap(n->dp.msg_size);

	n->tick = calloc(1, sizeof(*n->tick));
	n->slow = calloc(1, sizeof(*n->slow));
	if (!n->tick || !n->slow)
		return -ENOMEM;
	if ((rc = cp_node_init_core(n)) < 0)
		return rc;
	if ((rc = open_logs(n)) < 0)
		return rc;
	check_disk(n);

	snprintf(addr, sizeof(addr), "%s:%u", n->me->ctl_host, n->me->ctl_port);
	rcfg.dir = n->dir;
	rcfg.cluster_id = n->cfg.cluster_id;
	rcfg.seed = n->env.random(n->env.arg);
	rcfg.tls = n->tls;
	if ((rc = open_transport(n, addr)) < 0)
		return rc;
	rcfg.net = n->net;
	if ((rc = cp_raftio_init(&n->io, loop, &rcfg)) < 0)
		return rc;
	rc = raft_init(n->raft, &n->io, &n->fsm_hooks, n->self, addr);
	if (rc != 0) {
		fprintf(stderr, "rumor-cp: raft_init: %s\n", raft_errmsg(n->raft));
		return -EIO;
	}
	raft_set_election_timeout(n->raft, n->cfg.raft.election_timeout_ms);
	raft_set_heartbeat_timeout(n->raft, n->cfg.raft.heartbeat_ms);
	raft_set_snapshot_threshold(n->raft, n->cfg.raft.snapshot_threshold);
	raft_set_snapshot_trailing(n->raft, n->cfg.raft.snapshot_trailing);
	raft_set_pre_vote(n->raft, true);
	if (!n->join && (rc = bootstrap_if_new(n)) != 0) {
		fprintf(stderr, "rumor-cp: raft_bootstrap: %s\n", raft_strerror(rc));
		return -EIO;
	}
	if ((rc = raft_start(n->raft)) != 0) {
		fprintf(stderr, "rumor-cp: raft_start: %s\n", raft_errmsg(n->raft));
		return -EIO;
	}
	for (unsigned i = 0; i < n->cfg.n_nodes; i++) {
		const struct rumor_node_conf *nc = &n->cfg.nodes[i];
		if (nc->id == n->self)
			continue;
		snprintf(addr, sizeof(addr), "%s:%u", nc->ctl_host, nc->ctl_port);
		cp_raftio_add_peer(&n->io, nc->id, addr);
	}
	if ((rc = cp_view_start(n)) < 0) /* cp_view hook */
		return rc;

	struct cp_api_ops ops = { .arg = n, .request = cp_cmd_request, .line = cp_cmd_line,
				  .closed = cp_cmd_client_closed };
	if ((rc = cp_api_open(loop, n->api_path, &ops, &n->api)) < 0) {
		fprintf(stderr, "rumor-cp: api socket %s: %s\n", n->api_path, strerror(-rc));
		return rc;
	}
	n->tick->data = n;
	n->slow->data = n;
	cp_loop_timer_start(loop, n->tick, 1, 1, on_tick);
	cp_loop_timer_start(loop, n->slow, 100, 100, on_slow);
	cp_loop_set_idle_poll(loop, poll_dataplane, n, 20, 1000);
	if ((rc = dp_client_attach_wake(&n->dp)) == 0)
		rc = cp_loop_set_idle_wake_fd(loop, dp_client_wake_fd(&n->dp));
	if (rc < 0)
		LOG(n, "no wake-ups from the dataplane (%s): polling it on a backoff up to 1 ms",
		    strerror(-rc));
	cp_loop_set_hook(loop, after_io, n);
	n->lead.cut_when_idle = true;

	cp_keys_start(n);
	/* frames held before we (re)attached: have the dataplane tell us about them again */
	struct rumor_msg *m;
	if (cp_dp_alloc(n, RUMOR_MSG_RESYNC, &m) == 0)
		cp_dp_send(n, m);
	LOG(n, "started: api %s, control %s:%u, data dir %s", n->api_path, n->me->ctl_host,
	    n->me->ctl_port, n->dir);
	return 0;
}

static void on_net_closed(void *arg)
{
	((struct cp_node *)arg)->stop = 3;
}

static void on_raft_closed(struct raft *r)
{
	struct cp_node *n = r->data;
	n->stop = 2;
}

void cp_node_stop(struct cp_node *n)
{
	cp_loop_set_idle_poll(n->loop, NULL, NULL, 0, 0);
	cp_loop_set_idle_wake_fd(n->loop, -1);
	dp_client_detach_wake(&n->dp);
	cp_loop_set_hook(n->loop, NULL, NULL);
	cp_loop_timer_stop(n->tick);
	cp_loop_timer_stop(n->slow);
	cp_view_stop(n); /* cp_view hook */
	cp_api_close(n->api);
	n->api = NULL;
	n->raft->data = n;
	raft_close(n->raft, on_raft_closed);
	/* let the close finish, bounded */
	for (int i = 0; i < 2000 && n->stop != 2; i++)
		cp_loop_run_once(n->loop, 1000);
	cp_plog_close(n->plog);
	n->plog = NULL;
	cp_olog_close(&n->olog);
	cp_jsonl_free(&n->line);
	if (n->net) {
		n->stop = 1;
		cp_net_close(n->net, on_net_closed, n);
		for (int i = 0; i < 2000 && n->stop != 3; i++)
			cp_loop_run_once(n->loop, 1000);
		n->net = NULL;
	}
}

int cp_node_new(const struct rumor_config *cfg, uint16_t self, bool join,
		const char *local_path, struct cp_node **out)
{
	struct cp_node *n = calloc(1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	n->cfg = *cfg;
	n->self = self;
	n->join = join;
	n->local_path = local_path;
	n->raft = &n->raft_mem;
	n->env = rumor_cp_env;
	n->env.arg = n;
	n->rng = (uint64_t)self * 0x9e3779b97f4a7c15ull ^ cp_loop_now_us();
	*out = n;
	return 0;
}

void cp_node_free(struct cp_node *n)
{
	free(n);
}

void cp_node_set_metrics(struct cp_node *n, struct cp_metrics *m)
{
	n->metrics = m;
}

struct cp_metrics *cp_node_metrics(const struct cp_node *n)
{
	return n->metrics;
}

void cp_node_request_stop(struct cp_node *n)
{
	n->stop = 1;
}

uint16_t cp_node_self(const struct cp_node *n)
{
	return n->self;
}
