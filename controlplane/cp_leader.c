/* cp_leader: the node while it leads. Becoming leader seeds the order from the state
 * machine's watermarks; reports go into the order; its batches are proposed to Raft (a few
 * in flight), commits are announced when the order goes idle, each origin is told how far
 * its events are durable, minority-held runs are repaired. The voter set comes from Raft's
 * configuration through cp_member_sync_order, as in the deterministic tests. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cp_member.h"
#include "cp_node_int.h"
#include "cp_order.h"
#include "cp_plant.h"
#include "cp_plog.h"

#define APPLIES_INFLIGHT_MAX 8
/* A head held by a minority this long is sent on by a holder (cp_repair), at most once a
 * period: well under the gap timeout, well over a report's round trip. */
#define REPAIR_AFTER_US 100000
#define REPAIR_PERIOD_MS 100
#define REPAIR_MAX_SEQS 4096
#define REPAIR_RETRY_US 1000000   /* the same event is asked for again after this */
#define LOST_AFTER_MS 5000 /* fetches from every peer had this long before an operator skip */

/* Leader side: one minority-held run found by the order. */
static void on_repair_run(void *arg, const struct cp_order_repair *run)
{
	struct cp_node *n = arg;
	struct cp_repair r = { .origin = run->origin, .first_seq = run->first_seq,
			       .last_seq = run->last_seq };
	uint8_t buf[cp_repair_size(CP_REPAIR_MAX_TO)];
	int len;

	for (unsigned i = 0; i < run->nmissing && r.nto < CP_REPAIR_MAX_TO; i++)
		r.to[r.nto++] = run->missing[i];
	n->st.repairs_asked++;
	if (run->holder == n->self) {
		cp_holder_repair_serve(n, &r);
		return;
	}
	if ((len = cp_repair_encode(&r, buf, sizeof(buf))) < 0)
		return;
	struct iovec iov = { buf, (size_t)len };
	cp_peer_send(n, run->holder, CP_APP_REPAIR, &iov, 1);
}

/* Tell each origin how far its events are committed as themselves: the promise rests on
 * the Raft log only, so a new leader keeps it whatever it cannot hear (an origin cut off
 * with the old leader: its confirmations were in that leader's memory). Seqs at or below
 * the last committed skip or reject the origin learns from its own apply. */
void cp_leader_announce_durable(struct cp_node *n)
{
	const struct raft_configuration *c = &n->raft->configuration;

	/* Until a batch of this term is applied (so is everything committed before it), the order
	 * may not know every record a former leader committed (a skip among them): its idea of
	 * "will be ordered" waits for that. */
	if (n->lead.caught_up_term != n->raft->current_term)
		return;

	for (unsigned i = 0; i < c->n; i++) {
		struct cp_order_origin_info oi;
		uint16_t o = (uint16_t)c->servers[i].id;
		if (o > RUMOR_NODE_ID_MAX || cp_order_origin_info(n->order, o, &oi) < 0 ||
		    oi.durable_through <= n->lead.durable_sent[o] ||
		    oi.durable_through <= oi.durable_floor)
			continue;
		if (o == n->self) {
			n->lead.durable_sent[o] = oi.durable_through;
			cp_subs_durable_reached(n, oi.durable_through, oi.durable_floor);
			continue;
		}
		uint8_t msg[CP_APPMSG_DURABLE_LEN];
		struct iovec iov = { msg, sizeof(msg) };
		cp_appmsg_durable_encode(msg, o, oi.durable_through, oi.durable_floor);
		if (cp_peer_send(n, o, CP_APP_DURABLE, &iov, 1) == 0)
			n->lead.durable_sent[o] = oi.durable_through;
	}
}

/* A proposal, tagged with the incarnation of the leader state that counted it. */
struct apply_req {
	struct raft_apply r;
	uint64_t incarnation;
};

static struct raft_apply *apply_req_new(struct cp_node *n)
{
	struct apply_req *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->r.data = n;
	a->incarnation = n->incarnation;
	return &a->r;
}

static void on_apply_done(struct raft_apply *req, int status, void *result)
{
	struct cp_node *n = req->data;
	(void)result;

	if (((struct apply_req *)req)->incarnation != n->incarnation) {
		free(req); /* counted by a leader state that is gone (the simulator's restart) */
		return;
	}
	n->lead.applies_inflight--;
	if (status == 0) {
		n->lead.commit_unannounced = true;
		n->lead.caught_up_term = n->raft->current_term;
	}
	if (status != 0) {
		/* leadership lost: the events stay reported; the next leader orders them. Never
		 * resubmit from here (libraft crashes on raft_apply inside this callback). */
		n->st.apply_failed++;
	}
	free(req);
}

/* Followers learn a commit index from the leader's next message. libraft sends none until the
 * next entry or heartbeat (up to two heartbeat periods): when the order goes idle after a
 * commit, an empty AppendEntries goes to every follower at once. libraft applies what an
 * AppendEntries with entries commits only once those entries are stored (an fsync later), but
 * what an empty one commits at once, up to what the follower has stored: a follower that
 * stored the batch (one did: it is committed) applies it on receipt. One that was still
 * writing it keeps only the older commit index (its store's callback does not look again), so
 * it is noted here and sent one more empty AppendEntries as soon as its AppendEntries result
 * says it stored the commit (cp_leader_announce_late, after each loop pass and tick): one
 * trip after its store, with no log entry and so no fdatasync on any node (a barrier entry
 * did that before, and its three fdatasyncs met the next event's on the disk). */
static void announce_commit(struct cp_node *n)
{
	const struct raft_configuration *c = &n->raft->configuration;

	if (!n->lead.commit_unannounced || n->lead.applies_inflight)
		return;
	n->lead.commit_unannounced = false;
	if (n->raft->state != RAFT_LEADER)
		return;
	n->lead.late_commit = n->raft->commit_index;
	n->lead.n_late = 0;
	for (unsigned i = 0; i < c->n && n->lead.n_late < CP_LEAD_LATE_MAX; i++)
		if (c->servers[i].id != n->self &&
		    n->raft->leader_state.progress[i].match_index < n->lead.late_commit)
			n->lead.late[n->lead.n_late++] = c->servers[i].id;
	if (n->env.raft_heartbeat)
		n->env.raft_heartbeat(n->env.arg);
}

/* The followers announce_commit found behind its commit: those that have stored it since get
 * one more empty AppendEntries (every follower gets one: libraft has no call for one). One
 * that never catches up (down) waits here until the next announcement replaces the list. */
void cp_leader_announce_late(struct cp_node *n)
{
	const struct raft_configuration *c = &n->raft->configuration;
	bool due = false;
	unsigned keep = 0;

	if (!n->lead.n_late)
		return;
	if (n->raft->state != RAFT_LEADER) {
		n->lead.n_late = 0;
		return;
	}
	for (unsigned k = 0; k < n->lead.n_late; k++) {
		unsigned i = 0;
		while (i < c->n && c->servers[i].id != n->lead.late[k])
			i++;
		if (i == c->n)
			continue; /* no longer a member */
		if (n->raft->leader_state.progress[i].match_index >= n->lead.late_commit)
			due = true;
		else
			n->lead.late[keep++] = n->lead.late[k];
	}
	n->lead.n_late = keep;
	if (due) {
		n->st.commits_reannounced++;
		if (n->env.raft_heartbeat)
			n->env.raft_heartbeat(n->env.arg);
	}
}

/* Group commit: with nothing in flight, what is ready goes now (one event on an idle
 * cluster waits for no timer); while a batch is in flight, ready events accumulate until it
 * completes (on_apply_done, then the next loop iteration) or the order's size or time bound
 * cuts them for the pipeline. */
void cp_leader_propose(struct cp_node *n)
{
	while (n->lead.leading && n->lead.applies_inflight < APPLIES_INFLIGHT_MAX) {
		int rc = cp_order_cut(n->order, cp_now_us(n),
				      n->lead.cut_when_idle && n->lead.applies_inflight == 0,
				      &n->lead.batch);
		if (rc == 0)
			announce_commit(n);
		if (rc <= 0)
			return;
		size_t size = cp_batch_encoded_size(&n->lead.batch);
		struct raft_buffer buf = { .base = raft_malloc(size), .len = size };
		struct raft_apply *req = apply_req_new(n);
		if (!buf.base || !req || cp_batch_encode(&n->lead.batch, buf.base, size) < 0) {
			raft_free(buf.base);
			free(req);
			return;
		}
		rc = raft_apply(n->raft, req, &buf, 1, on_apply_done);
		if (rc != 0) {
			LOG(n, "raft_apply: %s", raft_strerror(rc));
			raft_free(buf.base);
			free(req);
			return;
		}
		n->lead.applies_inflight++;
		n->st.batches_proposed++;
		n->st.batch_events += n->lead.batch.n;
	}
}

int cp_node_skip_lost(struct cp_node *n, uint16_t origin, uint64_t seq, char *why, size_t cap)
{
	char hex[33];
	struct cp_batch b;
	uint64_t waited = cp_now_ms(n) - n->rec.want_first_ms;

	if (!n->lead.leading) {
		snprintf(why, cap, "not the leader (ask node %llu)", (unsigned long long)n->leader);
		return -EPERM;
	}
	if (n->rec.want_origin != origin || n->rec.want_seq != seq) {
		snprintf(why, cap, "the apply here does not wait for %u:%" PRIu64, origin, seq);
		return -ENOENT;
	}
	if (waited < LOST_AFTER_MS) {
		snprintf(why, cap, "waited %" PRIu64 " ms only: its payload is still being fetched "
			 "from every peer", waited);
		return -EAGAIN;
	}
	if (cp_held_get(&n->hold.held, origin, seq) || cp_plog_has(n->plog, origin, seq) ||
	    cp_fetch_have(&n->rec.fetch, origin, seq)) {
		snprintf(why, cap, "this node holds that payload");
		return -EEXIST;
	}
	if (cp_batch_init(&b, 1) < 0)
		return -ENOMEM;
	int rc = cp_batch_add_reject(&b, origin, seq, &n->rec.want_id, CP_BATCH_REASON_LOST);
	size_t size = cp_batch_encoded_size(&b);
	struct raft_buffer buf = { .base = raft_malloc(size), .len = size };
	struct raft_apply *req = apply_req_new(n);
	if (rc < 0 || !buf.base || !req || cp_batch_encode(&b, buf.base, size) < 0) {
		raft_free(buf.base);
		free(req);
		cp_batch_free(&b);
		return rc < 0 ? rc : -ENOMEM;
	}
	cp_batch_free(&b);
	if ((rc = raft_apply(n->raft, req, &buf, 1, on_apply_done)) != 0) {
		raft_free(buf.base);
		free(req);
		snprintf(why, cap, "raft_apply: %s", raft_strerror(rc));
		return -EIO;
	}
	n->lead.applies_inflight++;
	rumor_event_id_hex(&n->rec.want_id, hex);
	LOG(n, "operator: the payload of committed event %u:%" PRIu64 " (id %s) is gone from every "
	    "live node after %" PRIu64 " ms of fetches: committing it as lost", origin, seq, hex,
	    waited);
	return 0;
}

/* Membership may have changed: the order's voters are Raft's, through the one function the
 * deterministic tests use too (it refuses ids out of range). */
static void set_voters(struct cp_node *n)
{
	int rc = cp_member_sync_order(n->raft, n->order);

	if (rc < 0 && n->st.voter_sync_errors++ % 1024 == 0)
		LOG(n, "voters not given to the order: %s", strerror(-rc));
}

static void become_leader(struct cp_node *n)
{
	const uint64_t *wm = cp_fsm_watermarks(n->fsm);

	cp_order_reset(n->order);
	memset(n->lead.durable_sent, 0, (RUMOR_NODE_ID_MAX + 1) * sizeof(uint64_t));
	set_voters(n);
	for (unsigned o = 1; o <= RUMOR_NODE_ID_MAX; o++)
		if (wm[o])
			cp_order_set_ordered(n->order, (uint16_t)o, wm[o]);
	n->lead.leading = true;
	n->lead.leading_since_ms = cp_now_ms(n);
	n->hold.rep_len = 0;
	LOG(n, "leader for term %llu", (unsigned long long)n->raft->current_term);
	cp_holder_rereport(n, UINT64_MAX);
}

void cp_leader_check(struct cp_node *n)
{
	raft_id id;
	const char *addr;
	bool leading = raft_state(n->raft) == RAFT_LEADER;

	if (leading && !n->lead.leading)
		become_leader(n);
	else if (!leading && n->lead.leading) {
		n->lead.leading = false;
		cp_order_reset(n->order);
		LOG(n, "no longer leader");
	}
	raft_leader(n->raft, &id, &addr);
	if (id != n->leader) {
		n->leader = id;
		if (id && id != n->self) {
			LOG(n, "leader is node %llu", (unsigned long long)id);
			cp_holder_rereport(n, UINT64_MAX);
		}
	}
	if (n->lead.leading)
		set_voters(n); /* membership may have changed */
}

/* One holder's report into the order (ours, or a peer's from cp_leader_on_reports). */
void cp_leader_ingest_report(struct cp_node *n, const struct cp_report *r)
{
	n->st.reports_refused += cp_report_ingest(n->order, r, n->ts, cp_now_us(n));
	n->st.reports_local++;
	if (CP_PLANTED(CP_PLANT_REPORT_TWICE) && r->reporter < RUMOR_NODE_ID_MAX) {
		struct cp_report twice = *r;
		twice.reporter = (uint16_t)(r->reporter % n->cfg.n_nodes + 1);
		cp_report_ingest(n->order, &twice, n->ts, cp_now_us(n));
	}
}

/* Reports from a holder: only the leader orders; a report names its sender. */
void cp_leader_on_reports(struct cp_node *n, uint64_t from, const uint8_t *p, size_t len)
{
	size_t off = 0;

	if (!n->lead.leading)
		return; /* stale: the sender will re-report to whoever leads */
	while (off < len) {
		int used = cp_report_decode(p + off, len - off, n->hold.rep);
		if (used < 0) {
			LOG(n, "bad report from node %" PRIu64 ": %s", from, strerror(-used));
			return;
		}
		if (n->hold.rep->reporter != from) { /* cp_tls: a node reports only for itself */
			cp_refused(n, CP_NET_REFUSED_REPORTER, from);
			return;
		}
		cp_leader_ingest_report(n, n->hold.rep);
		off += (size_t)used;
	}
}

/* A starting node asks the highest seq the cluster has seen from it. */
void cp_leader_on_seq_query(struct cp_node *n, uint64_t from)
{
	uint8_t msg[CP_APPMSG_SEQ_REPLY_LEN];
	struct iovec iov = { msg, sizeof(msg) };

	if (!n->lead.leading || from > RUMOR_NODE_ID_MAX)
		return;
	cp_appmsg_seq_reply_encode(msg, cp_subs_seq_seen(n, (uint16_t)from));
	cp_peer_send(n, from, CP_APP_SEQ_REPLY, &iov, 1);
}

/* A holder reported another id than the origin's: tell it (issue 14). */
static void on_wrong_holder(void *arg, const struct cp_order_notice *nt)
{
	struct cp_node *n = arg;
	struct cp_report *r = n->hold.rep;
	uint8_t *buf;
	int len;

	*r = (struct cp_report){ .origin = nt->origin, .reporter = nt->holder, .count = 1,
				 .first_seq = nt->seq, .timestamp = *nt->ts };
	r->id[0] = nt->id;
	rumor_vc_init(&r->holder_clock);
	/* sized by the timestamp: a fixed 512 B fit 47 clock entries, and the notice of an
	 * event with a wider clock was dropped unsent */
	if (!(buf = malloc(cp_report_size(r))))
		return;
	if ((len = cp_report_encode(r, buf, cp_report_size(r))) >= 0) {
		struct iovec iov = { buf, (size_t)len };

		if (nt->holder == n->self)
			cp_holder_on_wrong_id(n, buf, (size_t)len);
		else
			cp_peer_send(n, nt->holder, CP_APP_WRONG_ID, &iov, 1);
	}
	free(buf);
}

void cp_leader_tick_slow(struct cp_node *n, uint64_t now_ms)
{
	if (!n->lead.leading || now_ms - n->lead.last_repair_ms < REPAIR_PERIOD_MS)
		return;
	n->lead.last_repair_ms = now_ms;
	cp_order_repairs(n->order, cp_now_us(n), REPAIR_AFTER_US, REPAIR_RETRY_US,
			 REPAIR_MAX_SEQS, on_repair_run, n);
	cp_order_wrong_holders(n->order, cp_now_us(n), REPAIR_RETRY_US, REPAIR_MAX_SEQS,
			       on_wrong_holder, n);
}

/* Once per loop iteration (rumor-cp's loop hook, after every completion was handled): a
 * report that arrived, a batch that committed or a durable record is acted on at once,
 * not on the next tick. Outside libraft's callbacks, so raft_apply is allowed here. */
void cp_leader_after_io(struct cp_node *n)
{
	if (!n->lead.leading)
		return;
	cp_leader_propose(n);
	cp_leader_announce_late(n);
	cp_leader_announce_durable(n);
}

int cp_leader_init(struct cp_node *n)
{
	n->incarnation++;
	n->lead.durable_sent = calloc(RUMOR_NODE_ID_MAX + 1, sizeof(uint64_t));
	if (!n->lead.durable_sent)
		return -ENOMEM;
	return cp_batch_init(&n->lead.batch, 1024);
}

void cp_leader_free(struct cp_node *n)
{
	free(n->lead.durable_sent);
	cp_batch_free(&n->lead.batch);
	memset(&n->lead, 0, sizeof(n->lead));
}
