/* cp_view: the partial view of one rumor-cp node: timer-driven maintenance, view messages on
 * the control transport (APP type CP_APP_VIEW), leader assignments, dataplane fan-out targets.
 *
 * Join policy: static and leader join at once with every other configured node (static keeps
 * them all; leader uses them until the first VIEW_ASSIGN). HyParView and Cyclon wait until
 * the transport has an established connection to at least one other configured node ("it
 * answers") and join with the nodes that answered; the library sends the JOIN to a random one
 * of them, which spreads the joins of a cluster that starts together over several contacts
 * instead of piling them on the lowest id. After JOIN_WAIT_MS without any answer they join
 * with every configured node, and the library re-joins by itself while the view is empty. If
 * somebody joined us first (our active view is not empty) we count as joined.
 *
 * Dataplane: every change of the active view is pushed as RUMOR_MSG_VIEW; when the ring or
 * the pool is full, and after the dataplane comes back, the push is retried on the next tick.
 * An empty view is not pushed: the dataplane keeps its last targets, which costs at most a
 * few useless sends, whereas no targets would stop fan-out completely. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_loop.h"
#include "cp_net.h"
#include "cp_node_int.h"
#include "cp_raftio.h"
#include "cp_view.h"
#include "rumor_rand.h"

#define VIEW_TICK_MS 100
/* rumor_view_tick pace: the library retries repair up to passive_size times per tick while the
 * active view is short, which in a small cluster (5 nodes, active 3: the degree sum is odd, so
 * one node stays short) is a steady stream of refused NEIGHBOR requests; ticking at most once a
 * second keeps that to a few messages per second and still ticks several times per period. */
#define MAINT_MIN_MS 100
#define MAINT_MAX_MS 1000
#define JOIN_WAIT_MS 3000
#define ASSIGN_MIN_GAP_MS 500   /* membership flapping must not flood the cluster */
#define FLUSH_MAX 1024
/* A peer that sent us something within HEARD_MS is alive even when our own connection to it
 * is still backing off (typically: it just restarted and JOINs). Its messages wait up to
 * RETRY_MS for the reconnect instead of declaring it down, which would leave the two views
 * asymmetric (it has us, we dropped it). */
#define HEARD_MS 5000
#define RETRY_MS 4000
#define RETRY_MAX 64          /* messages per flush: peer-down repair may refill the outbox */

#undef LOG
#define LOG(n, fmt, ...) \
	fprintf(stderr, "rumor-cp[%u] view: " fmt "\n", (unsigned)(n)->self, ##__VA_ARGS__)

struct cp_view_stats {
	uint64_t sent, lost, lost_down, recv, bad, refused, peer_down, retried;
	uint64_t pushes, push_retries, assigns, assign_msgs;
};

struct cp_view {
	struct cp_node *n;
	struct rumor_view *v;
	struct cp_loop_timer timer;
	bool joined;
	uint64_t start_ms;
	uint64_t maint_ms, last_maint_ms;
	uint64_t rng;

	struct cp_view_set pushed;        /* what the dataplane has */
	bool ever_pushed;
	bool push_pending;                /* retry on the next tick */
	bool dp_alive;

	/* leader strategy, while we lead */
	uint32_t epoch;                   /* newest VIEW_ASSIGN fed to the view */
	bool leading;
	uint64_t term;
	uint32_t assign_ctr;
	uint64_t last_assign_ms;
	uint32_t members[RUMOR_CONFIG_MAX_NODES + 64];
	size_t n_members;

	struct {
		struct rumor_view_msg m;
		uint64_t until;
	} retry[RETRY_MAX];
	unsigned n_retry;
	uint64_t heard_ms[RUMOR_NODE_ID_MAX + 1];

	struct cp_view_stats st;
};

static uint64_t mix64(uint64_t *s)
{
	return rumor_splitmix64(s);
}

static struct cp_net *net_of(struct cp_node *n)
{
	return n->net;
}

/* ---------------------------------------------------------------- dataplane */

static void sync_dataplane(struct cp_view *cv)
{
	struct cp_node *n = cv->n;
	struct cp_view_set cur;
	struct rumor_msg *m;
	size_t na;
	const uint32_t *a = rumor_view_active(cv->v, &na);

	if (n->dp_alive && !cv->dp_alive)
		cv->push_pending = true; /* a restarted dataplane starts from its config */
	cv->dp_alive = n->dp_alive;
	cp_view_set_from(a, na, n->self, &cur);
	if (cur.n == 0)
		return;
	if (cv->ever_pushed && !cv->push_pending && cp_view_set_equal(&cur, &cv->pushed))
		return;
	if (cp_dp_alloc(n, RUMOR_MSG_VIEW, &m) < 0) {
		cv->push_pending = true;
		cv->st.push_retries++;
		return;
	}
	m->u.view.n = cur.n;
	memcpy(m->u.view.node, cur.id, cur.n * sizeof(cur.id[0]));
	if (dp_client_send(&n->dp, m) < 0) {
		dp_client_msg_free(&n->dp, m);
		cv->push_pending = true;
		cv->st.push_retries++;
		return;
	}
	cv->pushed = cur;
	cv->ever_pushed = true;
	cv->push_pending = false;
	cv->st.pushes++;
}

/* ---------------------------------------------------------------- transport */

/* Static keeps every configured node whatever happens (its documented behaviour): a dead node
 * only costs lost datagrams, and it gets fan-out again the moment it restarts. */
static void peer_down(struct cp_view *cv, uint32_t id, uint64_t now)
{
	if (rumor_view_get_config(cv->v)->strategy != RUMOR_VIEW_STATIC)
		rumor_view_on_peer_down(cv->v, id, now);
}

static int send_msg(struct cp_view *cv, const struct rumor_view_msg *m)
{
	struct cp_net *net = net_of(cv->n);
	uint8_t buf[RUMOR_VIEW_MSG_MAX_BYTES];
	size_t len;
	int rc = rumor_view_msg_encode(m, buf, sizeof(buf), &len);

	if (rc == 0) {
		struct iovec iov = { buf, len };
		rc = net ? cp_net_send(net, m->dst, CP_NET_APP, CP_APP_VIEW, &iov, 1, NULL) :
			   -ENOTCONN;
	}
	return rc;
}

static bool heard_recently(const struct cp_view *cv, uint32_t id, uint64_t now)
{
	return id <= RUMOR_NODE_ID_MAX && cv->heard_ms[id] && now - cv->heard_ms[id] < HEARD_MS;
}

/* Messages parked for peers that are alive but not yet reconnected. */
static void retry_parked(struct cp_view *cv, uint64_t now)
{
	unsigned k = 0;

	for (unsigned i = 0; i < cv->n_retry; i++) {
		int rc = send_msg(cv, &cv->retry[i].m);
		enum cp_view_send_outcome o = cp_view_send_outcome(rc);
		if (o == CP_VIEW_LOST_DOWN && now < cv->retry[i].until) {
			cv->retry[k++] = cv->retry[i];
			continue;
		}
		if (o == CP_VIEW_SENT) {
			cv->st.sent++;
			cv->st.retried++;
		} else if (o == CP_VIEW_LOST) {
			cv->st.lost++;
		} else {
			cv->st.lost_down++;
			peer_down(cv, cv->retry[i].m.dst, now);
		}
	}
	cv->n_retry = k;
}

static void flush(struct cp_view *cv)
{
	struct cp_node *n = cv->n;
	struct rumor_view_msg m;
	uint64_t now = cp_now_ms(n);

	for (unsigned i = 0; i < FLUSH_MAX && rumor_view_outbox_pop(cv->v, &m) == 0; i++) {
		if (m.dst == n->self) {
			rumor_view_on_message(cv->v, &m, now);
			continue;
		}
		int rc = send_msg(cv, &m);
		if (cp_view_send_outcome(rc) == CP_VIEW_LOST_DOWN && cv->n_retry < RETRY_MAX &&
		    heard_recently(cv, m.dst, now)) {
			cv->retry[cv->n_retry].m = m;
			cv->retry[cv->n_retry++].until = now + RETRY_MS;
			continue;
		}
		switch (cp_view_send_outcome(rc)) {
		case CP_VIEW_SENT:
			cv->st.sent++;
			break;
		case CP_VIEW_LOST:
			cv->st.lost++;
			break;
		case CP_VIEW_LOST_DOWN:
			cv->st.lost_down++;
			peer_down(cv, m.dst, now);
			break;
		}
	}
	sync_dataplane(cv);
}

void cp_view_on_app(struct cp_node *n, uint64_t from, const uint8_t *p, size_t len)
{
	struct cp_view *cv = n->view;
	struct rumor_view_msg m;

	if (!cv)
		return;
	if (cp_view_decode_app(p, len, from, n->self, &m) < 0) {
		cv->st.bad++;
		return;
	}
	cv->st.recv++;
	if (from <= RUMOR_NODE_ID_MAX)
		cv->heard_ms[from] = cp_now_ms(n);
	if (m.type == RUMOR_VIEW_MSG_VIEW_ASSIGN && m.epoch > cv->epoch)
		cv->epoch = m.epoch;
	if (rumor_view_on_message(cv->v, &m, cp_now_ms(n)) == -EINVAL)
		cv->st.refused++;
	flush(cv);
}

void cp_view_net_peer_down(void *node, uint64_t id, int err)
{
	struct cp_node *n = node;
	struct cp_view *cv = n->view;
	(void)err;

	if (!cv || id == 0 || id > UINT32_MAX)
		return;
	cv->st.peer_down++;
	peer_down(cv, (uint32_t)id, cp_now_ms(n));
	flush(cv);
}

void cp_view_peers_changed(struct cp_node *n)
{
	struct cp_view *cv = n->view;
	uint32_t ids[RUMOR_CONFIG_MAX_NODES];
	size_t k = 0;

	if (!cv)
		return;
	if (rumor_view_get_config(cv->v)->strategy == RUMOR_VIEW_STATIC) {
		for (unsigned i = 0; i < n->cfg.n_nodes; i++)
			if (n->cfg.nodes[i].id != n->self)
				ids[k++] = n->cfg.nodes[i].id;
		if (k)
			rumor_view_join(cv->v, ids, k, cp_now_ms(n)); /* static: adds the new ones */
	}
	cv->push_pending = true;
	sync_dataplane(cv);
}

/* ---------------------------------------------------------------- join */

static void try_join(struct cp_view *cv, uint64_t now)
{
	struct cp_node *n = cv->n;
	struct cp_net *net = net_of(n);
	uint32_t all[RUMOR_CONFIG_MAX_NODES], up[RUMOR_CONFIG_MAX_NODES];
	size_t n_all = 0, n_up = 0, na;
	enum rumor_view_strategy s = rumor_view_get_config(cv->v)->strategy;

	for (unsigned i = 0; i < n->cfg.n_nodes; i++) {
		uint16_t id = n->cfg.nodes[i].id;
		if (id == n->self)
			continue;
		all[n_all++] = id;
		if (net && cp_net_connected(net, id))
			up[n_up++] = id;
	}
	if (n_all == 0) {
		cv->joined = true; /* alone: nothing to join */
		return;
	}
	if (s == RUMOR_VIEW_HYPARVIEW || s == RUMOR_VIEW_CYCLON) {
		rumor_view_active(cv->v, &na);
		if (na > 0) {
			cv->joined = true;
			LOG(n, "joined by others");
			return;
		}
		if (n_up == 0 && now - cv->start_ms < JOIN_WAIT_MS)
			return;
	}
	const uint32_t *c = n_up && s != RUMOR_VIEW_STATIC && s != RUMOR_VIEW_LEADER ? up : all;
	size_t nc = c == up ? n_up : n_all;
	int rc = rumor_view_join(cv->v, c, nc, now);
	if (rc < 0) {
		LOG(n, "join failed: %s", strerror(-rc));
		return;
	}
	cv->joined = true;
	LOG(n, "%s: joining through %zu of %zu nodes", rumor_view_strategy_name(s), nc, n_all);
}

/* ---------------------------------------------------------------- leader strategy */

/* Members the leader assigns: every server of the Raft configuration it can reach (a node
 * it cannot reach would not get its assignment, and others should not waste fan-out on it;
 * it is put back once its connection is up again). */
static size_t leader_members(struct cp_view *cv, uint32_t *out)
{
	struct cp_node *n = cv->n;
	struct cp_net *net = net_of(n);
	const struct raft_configuration *c = &n->raft->configuration;
	uint32_t raw[RUMOR_CONFIG_MAX_NODES + 64];
	size_t k = 0;

	for (unsigned i = 0; i < c->n && k < sizeof(raw) / sizeof(raw[0]); i++) {
		raft_id id = c->servers[i].id;
		if (id == 0 || id > RUMOR_NODE_ID_MAX)
			continue;
		if (id == n->self || (net && cp_net_connected(net, id)))
			raw[k++] = (uint32_t)id;
	}
	return cp_view_sorted_ids(raw, k, out);
}

static void leader_duties(struct cp_view *cv, uint64_t now)
{
	struct cp_node *n = cv->n;
	uint32_t members[RUMOR_CONFIG_MAX_NODES + 64];
	size_t nm;

	if (raft_state(n->raft) != RAFT_LEADER) {
		cv->leading = false;
		return;
	}
	nm = leader_members(cv, members);
	bool changed = nm != cv->n_members || memcmp(members, cv->members, nm * sizeof(members[0]));
	bool fresh = !cv->leading || cv->term != n->raft->current_term;
	uint64_t age = now - cv->last_assign_ms;
	if (!fresh && !(changed && age >= ASSIGN_MIN_GAP_MS) &&
	    age < n->cfg.gossip.view_refresh_ms)
		return;
	if (fresh) {
		cv->term = n->raft->current_term;
		cv->assign_ctr = 0;
	}
	cv->leading = true;
	cv->last_assign_ms = now;
	memcpy(cv->members, members, nm * sizeof(members[0]));
	cv->n_members = nm;
	if (nm < 2)
		return;

	struct rumor_view_msg *plan = malloc(nm * sizeof(*plan));
	uint32_t epoch = cp_view_leader_epoch(cv->term, ++cv->assign_ctr);
	unsigned size = n->cfg.gossip.view_size;
	if (size > RUMOR_VIEW_MSG_MAX_IDS)
		size = RUMOR_VIEW_MSG_MAX_IDS;
	int rc = plan ? cp_view_leader_plan(members, nm, size, mix64(&cv->rng), n->self, epoch,
					    plan) : -ENOMEM;
	if (rc < 0) {
		LOG(n, "leader samples: %s", strerror(-rc));
		free(plan);
		return;
	}
	struct cp_net *net = net_of(n);
	uint8_t buf[RUMOR_VIEW_MSG_MAX_BYTES];
	size_t len;
	for (size_t i = 0; i < nm; i++) {
		if (plan[i].dst == n->self) {
			if (epoch > cv->epoch)
				cv->epoch = epoch;
			rumor_view_on_message(cv->v, &plan[i], now);
			continue;
		}
		if (rumor_view_msg_encode(&plan[i], buf, sizeof(buf), &len) < 0)
			continue;
		struct iovec iov = { buf, len };
		rc = net ? cp_net_send(net, plan[i].dst, CP_NET_APP, CP_APP_VIEW, &iov, 1, NULL) :
			   -ENOTCONN;
		/* a lost assignment is repaired by the next refresh; do not drop the member from
		 * our own view for it: its connection state decides membership above */
		if (cp_view_send_outcome(rc) == CP_VIEW_SENT)
			cv->st.assign_msgs++;
		else
			cv->st.lost++;
	}
	cv->st.assigns++;
	if (changed || cv->assign_ctr == 1)
		LOG(n, "leader assignment epoch %#x to %zu members", epoch, nm);
	free(plan);
}

/* ---------------------------------------------------------------- timer, start, stop */

static void on_timer(struct cp_loop_timer *t)
{
	struct cp_view *cv = t->data;
	uint64_t now = cp_now_ms(cv->n);

	retry_parked(cv, now);
	if (!cv->joined)
		try_join(cv, now);
	if (cv->joined && now - cv->last_maint_ms >= cv->maint_ms) {
		cv->last_maint_ms = now;
		rumor_view_tick(cv->v, now);
	}
	if (rumor_view_get_config(cv->v)->strategy == RUMOR_VIEW_LEADER)
		leader_duties(cv, now);
	flush(cv);
}

int cp_view_start(struct cp_node *n)
{
	struct rumor_view_config vc;
	struct cp_view *cv;
	enum rumor_view_strategy s = n->cfg.gossip.view;
	uint64_t seed = (uint64_t)n->self * 0x9e3779b97f4a7c15ull ^ cp_now_us(n);
	int rc;

	cv = calloc(1, sizeof(*cv));
	if (!cv)
		return -ENOMEM;
	cv->n = n;
	cv->rng = seed;
	rumor_view_config_defaults(&vc, s, n->self, n->cfg.n_nodes, seed);
	if (s == RUMOR_VIEW_HYPARVIEW || s == RUMOR_VIEW_CYCLON) {
		vc.active_size = n->cfg.gossip.view_size;
		if (vc.active_size > RUMOR_VIEW_MSG_MAX_IDS) {
			LOG(n, "view_size %u capped at %u", vc.active_size, RUMOR_VIEW_MSG_MAX_IDS);
			vc.active_size = RUMOR_VIEW_MSG_MAX_IDS;
		}
		/* let the library derive the sizes that depend on the active size */
		vc.passive_size = 0;
		vc.shuffle_len = 0;
	}
	if (s == RUMOR_VIEW_STATIC) {
		/* static means every other configured node, not the library's log-sized default */
		unsigned all = n->cfg.n_nodes > 1 ? n->cfg.n_nodes - 1u : 1u;
		vc.active_size = (uint16_t)(all < RUMOR_VIEW_MSG_MAX_IDS ? all : RUMOR_VIEW_MSG_MAX_IDS);
	}
	vc.period_ms = n->cfg.gossip.view_refresh_ms;
	if ((rc = rumor_view_create(&vc, &cv->v)) < 0) {
		LOG(n, "cannot create the %s view: %s", rumor_view_strategy_name(s), strerror(-rc));
		free(cv);
		return rc;
	}
	cv->start_ms = cp_now_ms(n);
	cv->maint_ms = rumor_view_get_config(cv->v)->period_ms / 5;
	if (cv->maint_ms < MAINT_MIN_MS)
		cv->maint_ms = MAINT_MIN_MS;
	if (cv->maint_ms > MAINT_MAX_MS)
		cv->maint_ms = MAINT_MAX_MS;
	cv->dp_alive = n->dp_alive;
	n->view = cv;
	try_join(cv, cv->start_ms);
	flush(cv);
	cv->timer.data = cv;
	if ((rc = cp_loop_timer_start(n->loop, &cv->timer, VIEW_TICK_MS, VIEW_TICK_MS,
				      on_timer)) < 0) {
		cp_view_stop(n);
		return rc;
	}
	const struct rumor_view_config *rc2 = rumor_view_get_config(cv->v);
	LOG(n, "strategy %s, active %u, passive %u, period %u ms", rumor_view_strategy_name(s),
	    s == RUMOR_VIEW_LEADER ? n->cfg.gossip.view_size : rc2->active_size,
	    rc2->passive_size, rc2->period_ms);
	return 0;
}

void cp_view_stop(struct cp_node *n)
{
	struct cp_view *cv = n->view;

	if (!cv)
		return;
	n->view = NULL;
	cp_loop_timer_stop(&cv->timer);
	rumor_view_destroy(cv->v);
	cv->v = NULL;
	/* the loop may still hold the stopped timer for one iteration: free only when idle
	 * (else the few bytes go with the process, which is exiting) */
	if (cp_loop_timer_idle(&cv->timer))
		free(cv);
}

/* ---------------------------------------------------------------- API */

static json_t *id_array(const uint32_t *ids, size_t n)
{
	uint32_t *s = malloc((n ? n : 1) * sizeof(*s));
	json_t *a = json_array();
	size_t k = s ? cp_view_sorted_ids(ids, n, s) : 0;

	for (size_t i = 0; i < k; i++)
		json_array_append_new(a, json_integer(s[i]));
	free(s);
	return a;
}

json_t *cp_view_json(const struct cp_node *n)
{
	const struct cp_view *cv = n->view;
	struct rumor_view_stats vs;
	size_t na, np;

	if (!cv)
		return NULL;
	const uint32_t *a = rumor_view_active(cv->v, &na);
	const uint32_t *p = rumor_view_passive(cv->v, &np);
	enum rumor_view_strategy s = rumor_view_get_config(cv->v)->strategy;
	rumor_view_get_stats(cv->v, &vs);

	json_t *r = json_pack("{s:b, s:s, s:i, s:i, s:b}", "ok", 1, "strategy",
			      rumor_view_strategy_name(s), "fanout", n->cfg.gossip.fanout, "rounds",
			      n->cfg.gossip.rounds, "joined", cv->joined);
	if (!r)
		return NULL;
	json_object_set_new(r, "peers", id_array(a, na));
	if (s == RUMOR_VIEW_HYPARVIEW)
		json_object_set_new(r, "passive", id_array(p, np));
	if (s == RUMOR_VIEW_CYCLON)
		json_object_set_new(r, "cache", id_array(a, na));
	if (s == RUMOR_VIEW_LEADER)
		json_object_set_new(r, "epoch", json_integer(cv->epoch));
	if (s == RUMOR_VIEW_LEADER && cv->leading)
		json_object_set_new(r, "assigning", id_array(cv->members, cv->n_members));
	json_t *dp = json_array();
	for (uint16_t i = 0; i < cv->pushed.n; i++)
		json_array_append_new(dp, json_integer(cv->pushed.id[i]));
	json_object_set_new(r, "dataplane", dp);
	json_object_set_new(r, "stats",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
				      "sent", (json_int_t)cv->st.sent, "lost",
				      (json_int_t)cv->st.lost, "lost_peer_down",
				      (json_int_t)cv->st.lost_down, "retried",
				      (json_int_t)cv->st.retried, "parked", (json_int_t)cv->n_retry,
				      "received",
				      (json_int_t)cv->st.recv, "bad", (json_int_t)cv->st.bad,
				      "refused", (json_int_t)cv->st.refused, "transport_peer_down",
				      (json_int_t)cv->st.peer_down, "dataplane_pushes",
				      (json_int_t)cv->st.pushes, "push_retries",
				      (json_int_t)cv->st.push_retries, "assignments",
				      (json_int_t)cv->st.assigns, "assign_msgs",
				      (json_int_t)cv->st.assign_msgs, "shuffles",
				      (json_int_t)vs.shuffles, "repairs", (json_int_t)vs.repairs));
	return r;
}
