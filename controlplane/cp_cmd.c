/* API commands of rumor-cp: what each JSON request means (status, members, view, clock, send,
 * watch, events, kv, snapshot, transfer, add, remove). The socket side is cp_api.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cp_api.h"
#include "cp_fsm.h"
#include "cp_keys.h"
#include "cp_kv.h"
#include "cp_loop.h"
#include "cp_net.h"
#include "cp_node_int.h"
#include "cp_plog.h"
#include "cp_order.h"
#include "cp_raftio.h"
#include "cp_sendreq.h"
#include "cp_sendscan.h"
#include "cp_view.h"
#include "dp_node.h"
#include "rumor_be.h"
#include "rumor_tsrule.h"

static json_t *ok(void)
{
	return json_pack("{s:b}", "ok", 1);
}

static void add_stuck(void *arg, const struct rumor_event_id *id, uint16_t origin, uint64_t seq,
		      unsigned holders, uint64_t age_us)
{
	json_t *arr = arg;
	char hex[33];

	if (json_array_size(arr) >= 8)
		return;
	rumor_event_id_hex(id, hex);
	json_array_append_new(arr, json_pack("{s:i, s:I, s:s, s:i, s:I}", "origin", origin, "seq",
					     (json_int_t)seq, "id", hex, "holders", (int)holders,
					     "age_ms", (json_int_t)(age_us / 1000)));
}

static void cmd_status(struct cp_node *n, struct cp_api_client *c)
{
	const struct rumor_dp_stats *ds = dp_client_stats(&n->dp);
	struct cp_fsm_stats fs;
	raft_id lid;
	const char *laddr;
	uint64_t drops = 0;
	char digest[17];

	raft_leader(n->raft, &lid, &laddr);
	cp_fsm_get_stats(n->fsm, &fs);
	for (unsigned i = 0; i < RUMOR_DP_DROP_REASONS; i++)
		drops += ds->drops[i];
	snprintf(digest, sizeof(digest), "%016" PRIx64, cp_fsm_digest(n->fsm));
	json_t *r = ok();
	json_object_set_new(r, "node", json_integer(n->self));
	json_object_set_new(r, "role", json_string(cp_node_role(n)));
	json_object_set_new(r, "term", json_integer((json_int_t)n->raft->current_term));
	json_object_set_new(r, "leader", json_integer((json_int_t)lid));
	json_object_set_new(r, "commit_index", json_integer((json_int_t)n->raft->commit_index));
	json_object_set_new(r, "last_applied", json_integer((json_int_t)raft_last_applied(n->raft)));
	json_object_set_new(r, "applied_gseq", json_integer((json_int_t)cp_fsm_last_gseq(n->fsm)));
	json_object_set_new(r, "order_digest", json_string(digest));
	json_object_set_new(r, "waiting_payload", json_integer((json_int_t)cp_fsm_queue_len(n->fsm)));
	json_object_set_new(r, "held_events", json_integer(n->hold.held.count));
	json_object_set_new(r, "limits", cp_api_limits_json(n->api, n->net));
	json_object_set_new(r, "insecure", json_boolean(!cp_net_secure(n->net)));
	json_object_set_new(r, "uptime_s",
			    json_integer((json_int_t)((cp_now_ms(n) - n->started_ms) / 1000)));
	json_object_set_new(r, "dataplane",
			    json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "state",
				      n->dp_alive ? "alive" : "DEAD", "rx_pkts", (json_int_t)ds->rx_pkts,
				      "tx_pkts", (json_int_t)ds->tx_pkts, "frames_new",
				      (json_int_t)ds->rx_frames_new, "frames_dup",
				      (json_int_t)ds->rx_frames_dup, "drops", (json_int_t)drops,
				      "store_used", (json_int_t)ds->store_used, "store_cap",
				      (json_int_t)ds->store_cap));
	{
		/* drops per reason: the codec's and the timestamp rule's, always listed */
		json_t *dpo = json_object_get(r, "dataplane"), *why = json_object();
		for (int i = 0; i < RUMOR_WIRE_ERR_COUNT; i++)
			if (ds->drops[i])
				json_object_set_new(why, rumor_wire_strerror(RUMOR_WIRE_ETRUNC - i),
						    json_integer((json_int_t)ds->drops[i]));
		/* frame authentication's refusals (dp_node.h DP_DROP_AUTH_*): always listed */
		for (unsigned i = 0; i < RUMOR_DP_DROP_REASONS; i++) {
			const char *name = dp_drop_name(i);

			if (name != NULL && !strncmp(name, "auth_", 5))
				json_object_set_new(why, name, json_integer((json_int_t)ds->drops[i]));
		}
		json_object_set_new(dpo, "drops_by_reason", why);
		json_object_set_new(dpo, "gossip_auth",
				    json_string(n->cfg.auth.keyring[0] ? "on" : "INSECURE"));
		json_t *ts = json_object();
		for (int i = 1; i <= RUMOR_TS_NREASONS; i++)
			json_object_set_new(ts, rumor_tsrule_name(i),
					    json_integer((json_int_t)ds->ts_drops[i - 1]));
		json_object_set_new(dpo, "ts_drops", ts);
		/* budget refusals (dataplane/README.md "Budgets"), always listed as well */
		json_t *bd = json_object();
		for (int i = 1; i <= RUMOR_DP_BUDGET_NREASONS; i++)
			json_object_set_new(bd, rumor_dp_budget_name(i),
					    json_integer((json_int_t)ds->budget_drops[i - 1]));
		json_object_set_new(dpo, "budget_drops", bd);
		/* real NICs (issue 18): peers without a MAC, frames held for them and sent once
		 * resolved, and what ARP dropped (unresolved: the hold refused it; hold_full,
		 * hold_aged: dropped from the hold). Not in drops_by_reason: not a rumor frame
		 * refused, and pulls / repair recover them */
		json_t *arp = json_object();
		json_object_set_new(arp, "unresolved", json_integer(ds->arp_unresolved));
		json_object_set_new(arp, "held",
				    json_integer((json_int_t)ds->nic[RUMOR_DP_ARP_HELD]));
		json_object_set_new(arp, "released",
				    json_integer((json_int_t)ds->nic[RUMOR_DP_ARP_RELEASED]));
		for (unsigned i = 0; i < RUMOR_DP_DROP_REASONS; i++) {
			const char *name = dp_drop_name(i);
			char key[48];

			if (name == NULL || strncmp(name, "arp_", 4) != 0)
				continue;
			snprintf(key, sizeof(key), "drop_%s", name + 4);
			json_object_set_new(arp, key, json_integer((json_int_t)ds->drops[i]));
		}
		json_object_set_new(dpo, "arp", arp);
		json_object_set_new(dpo, "expire_asked", json_integer((json_int_t)ds->expire_asked));
		json_object_set_new(dpo, "aged_out", json_integer((json_int_t)ds->aged_out));
		json_object_set_new(dpo, "members", json_integer(ds->members_n));
		json_object_set_new(dpo, "acks_queued", json_integer((json_int_t)ds->acks_queued));
	}
	json_object_set_new(r, "node_stats",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "frames",
				      (json_int_t)n->st.frames, "events_new",
				      (json_int_t)n->st.events_new, "reports_sent",
				      (json_int_t)n->st.reports_sent, "rereports",
				      (json_int_t)n->st.rereports, "pulls", (json_int_t)n->st.pulls,
				      "releases", (json_int_t)n->st.releases, "originated",
				      (json_int_t)n->st.originated, "batches_proposed",
				      (json_int_t)n->st.batches_proposed, "commits_reannounced",
				      (json_int_t)n->st.commits_reannounced, "repairs_asked",
				      (json_int_t)n->st.repairs_asked, "repair_frames",
				      (json_int_t)n->st.repair_frames, "prefetches",
				      (json_int_t)n->st.prefetches));
	{
		/* issue 14: copies we held that were not their origin's event, by the hop sender
		 * that delivered them (a member forging or tampering is named here) */
		json_t *fb = json_object();
		for (unsigned s = 0; s <= RUMOR_NODE_ID_MAX; s++) {
			char k[8];
			if (!n->forge.by_sender[s])
				continue;
			snprintf(k, sizeof(k), "%u", s);
			json_object_set_new(fb, k, json_integer((json_int_t)n->forge.by_sender[s]));
		}
		json_object_set_new(r, "forged",
				    json_pack("{s:I, s:I, s:I, s:o}", "copies",
					      (json_int_t)n->forge.total, "notices",
					      (json_int_t)n->forge.notices, "fixed",
					      (json_int_t)n->forge.fixed, "by_sender", fb));
	}
	if (n->rec.want_origin) {
		/* the committed event the apply waits for: operators see which payload is missing
		 * (fetched from every peer's store and payload log meanwhile) */
		char hex[33];
		rumor_event_id_hex(&n->rec.want_id, hex);
		json_object_set_new(r, "waiting_for",
				    json_pack("{s:i, s:I, s:s, s:I}", "origin", n->rec.want_origin,
					      "seq", (json_int_t)n->rec.want_seq, "id", hex, "for_ms",
					      (json_int_t)(cp_now_ms(n) - n->rec.want_first_ms)));
	}
	json_object_set_new(r, "disk", json_pack("{s:I, s:i, s:b}", "free_mb",
						 (json_int_t)n->disk_free_mb, "min_free_mb",
						 (int)n->cfg.storage.min_free_mb, "refusing",
						 n->disk_low));
	json_object_set_new(r, "ring_backlog",
			    json_pack("{s:i, s:i, s:I}", "releases_pending", (int)n->hold.rel_n,
				      "originations_parked", (int)n->subs.parked_n, "release_ring_full",
				      (json_int_t)n->st.release_ring_full));
	struct cp_plog_stats ps;
	cp_plog_stats(n->plog, &ps);
	json_object_set_new(r, "payload_log",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:i, "
				      "s:I, s:I}",
				      "appends", (json_int_t)ps.appends, "append_bytes",
				      (json_int_t)ps.append_bytes, "fsyncs", (json_int_t)ps.flushes,
				      "fsync_records_max", (json_int_t)ps.flush_records_max,
				      "segments", (json_int_t)ps.segments, "bytes",
				      (json_int_t)ps.bytes, "buffered_bytes",
				      (json_int_t)ps.buffered_bytes, "write_errors",
				      (json_int_t)ps.write_errors, "segments_zero_filled",
				      (json_int_t)ps.prefills, "refused",
				      (json_int_t)n->st.plog_refused, "error",
				      cp_plog_error(n->plog), "gc_held_by", (int)n->gcfloor.held_by,
				      "gc_held", (json_int_t)n->gcfloor.held_count,
				      "applied_msgs_bad", (json_int_t)n->gcfloor.bad_msgs));
	json_object_set_new(json_object_get(r, "payload_log"), "segments_made_ahead",
			    json_integer((json_int_t)ps.spares));
	json_object_set_new(json_object_get(r, "payload_log"), "rolls_waited",
			    json_integer((json_int_t)ps.spare_waits));
	json_object_set_new(json_object_get(r, "payload_log"), "spare_fill_writes",
			    json_integer((json_int_t)ps.spare_writes));
	json_object_set_new(r, "fsm",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "batches",
				      (json_int_t)fs.batches, "applied", (json_int_t)fs.applied, "skips",
				      (json_int_t)fs.skips, "kv_cmds", (json_int_t)fs.kv_cmds, "dups",
				      (json_int_t)fs.dups, "rejects", (json_int_t)fs.rejects,
				      "lost", (json_int_t)fs.lost));
	if (n->lead.leading) {
		struct cp_order_stats os;
		cp_order_get_stats(n->order, &os);
		json_object_set_new(r, "order",
				    json_pack("{s:I, s:I, s:I, s:I, s:I, s:i, s:i, s:I, s:I}", "reports",
					      (json_int_t)os.reports, "batches", (json_int_t)os.batches,
					      "events_cut", (json_int_t)os.events_cut, "skips",
					      (json_int_t)os.skips, "refused",
					      (json_int_t)(os.refused_nobufs + os.refused_invalid),
					      "pending", (int)os.pending, "ready", (int)os.ready,
					      "forged_reports", (json_int_t)os.forged, "replaced",
					      (json_int_t)os.replaced));
		/* events waiting for a majority or a predecessor for over 2 s: operators see them */
		json_t *stuck = json_array();
		unsigned k = cp_order_stuck(n->order, cp_now_us(n), 2000000, add_stuck, stuck);
		json_object_set_new(r, "stuck_events", json_integer(k));
		json_object_set_new(r, "applies_inflight", json_integer(n->lead.applies_inflight));
		json_object_set_new(r, "next_cut_us",
				    json_integer((json_int_t)cp_order_next_deadline(n->order,
										     cp_now_us(n))));
		json_object_set_new(r, "stuck_oldest", stuck);
		json_t *origins = json_object();
		for (unsigned o = 1; o <= RUMOR_NODE_ID_MAX; o++) {
			struct cp_order_origin_info oi;
			char k[8];
			if (cp_order_origin_info(n->order, (uint16_t)o, &oi) < 0)
				continue;
			snprintf(k, sizeof(k), "%u", o);
			json_object_set_new(origins, k,
					    json_pack("{s:I, s:I, s:I, s:i, s:i, s:I, s:b, s:i, s:i, s:I}",
						      "ordered",
						      (json_int_t)oi.ordered, "ready_through",
						      (json_int_t)oi.ready_through, "max_seq",
						      (json_int_t)oi.max_seq, "held", (int)oi.held,
						      "wait_node", oi.wait_node, "wait_ctr",
						      (json_int_t)oi.wait_ctr, "gap", oi.gap, "head_state",
						      oi.head_state, "head_holders", (int)oi.head_holders,
						      "gap_age_ms", (json_int_t)(oi.gap_age_us / 1000)));
		}
		json_object_set_new(r, "order_origins", origins);
	}
	cp_api_reply(c, r);
}

static void cmd_members(struct cp_node *n, struct cp_api_client *c)
{
	static const char *roles[] = { "standby", "voter", "spare" };
	const struct raft_configuration *conf = &n->raft->configuration;
	struct cp_net *net = n->net;
	raft_id lid;
	const char *laddr;
	json_t *arr = json_array();

	raft_leader(n->raft, &lid, &laddr);
	for (unsigned i = 0; i < conf->n; i++) {
		const struct raft_server *s = &conf->servers[i];
		const char *state = s->id == n->self ? "self" :
				    net && cp_net_connected(net, s->id) ? "connected" : "unreachable";
		json_array_append_new(arr, json_pack("{s:I, s:s, s:b, s:s, s:s}", "id",
						     (json_int_t)s->id, "role",
						     s->id == lid ? "leader" :
						     s->role >= 0 && s->role <= 2 ? roles[s->role] : "?",
						     "voter", s->role == RAFT_VOTER, "control", s->address,
						     "state", state));
	}
	json_t *r = ok();
	json_object_set_new(r, "members", arr);
	cp_api_reply(c, r);
}

static void cmd_view(struct cp_node *n, struct cp_api_client *c)
{
	static const char *names[] = { "static", "leader", "hyparview", "cyclon" };
	json_t *peers, *live = cp_view_json(n); /* cp_view hook */

	if (live) {
		cp_api_reply(c, live);
		return;
	}
	peers = json_array();
	/* the static view: every other configured node */
	for (unsigned i = 0; i < n->cfg.n_nodes; i++)
		if (n->cfg.nodes[i].id != n->self)
			json_array_append_new(peers, json_integer(n->cfg.nodes[i].id));
	json_t *r = ok();
	json_object_set_new(r, "strategy", json_string(names[n->cfg.gossip.view & 3]));
	json_object_set_new(r, "fanout", json_integer(n->cfg.gossip.fanout));
	json_object_set_new(r, "rounds", json_integer(n->cfg.gossip.rounds));
	json_object_set_new(r, "peers", peers);
	cp_api_reply(c, r);
}

static void cmd_clock(struct cp_node *n, struct cp_api_client *c)
{
	json_t *r = ok();

	json_object_set_new(r, "local", cp_node_clock_json(&n->hold.last_clock));
	if (n->lead.leading) {
		struct rumor_vc *g = malloc(sizeof(*g));
		if (g && cp_order_global_clock(n->order, g) == 0)
			json_object_set_new(r, "global", cp_node_clock_json(g));
		free(g);
	}
	cp_api_reply(c, r);
}

/* {"data": "..."} or {"batch": ["...", ...]}; optional "ack": "stamped" (default: the origin
 * took them), "durable" (on a majority's disks) or "applied" (ordered and applied here, with
 * its gseq; "wait": true is the same), "ids": false (the reply leaves out the event ids:
 * first_seq and count are enough for a client computing them), "tag": integer (echoed in the
 * reply, success or error, to match pipelined requests), "request_id": string (a retry with
 * the same id and events returns the first request's outcome instead of making new events). */
static void send_error(struct cp_api_client *c, const struct cp_sendreq_opts *ro,
		       const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void send_error(struct cp_api_client *c, const struct cp_sendreq_opts *ro,
		       const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_t *r = json_pack("{s:b, s:s}", "ok", 0, "error", msg);
	if (ro->has_tag)
		json_object_set_new(r, "tag", json_integer(ro->tag));
	cp_api_reply(c, r);
}

/* The largest event one frame carries at our MTU, with a clock of every id it can name. The
 * bound of RUMOR_VC_MAX_ENTRIES (256) ids it had before left 6,366 of the 8,944 bytes a frame
 * carries at MTU 9000, and at 1500 it wrapped around (no limit but the message's). */
static size_t send_max_event(const struct cp_node *n)
{
	size_t body = rumor_wire_body_max(n->cfg.gossip.mtu);
	size_t clock = (size_t)n->clock_entries_max * RUMOR_VC_WIRE_ENTRY + RUMOR_WIRE_EVENT_HDR_LEN;

	return body > clock ? body - clock : 0;
}

/* A send request once read, by jansson (cmd_send) or by cp_sendscan (cp_cmd_line): its
 * options checked in cmd_send's order, then its @count events (@len bytes packed in @buf)
 * originated. @pack_err: cp_sendreq_pack's refusal, or NULL. */
static void send_run(struct cp_node *n, struct cp_api_client *c, const struct cp_sendreq_opts *ro,
		     const uint8_t *buf, size_t len, uint16_t count, const char *pack_err)
{
	const char *ack = ro->ack;
	struct cp_send_opts opt = { .ack = ro->wait ? CP_ACK_APPLIED : CP_ACK_STAMPED,
				    .ids = ro->ids, .has_tag = ro->has_tag, .tag = ro->tag };

	if (ro->reqid_bad) {
		send_error(c, ro, "send: request_id must be a string of 1..%d bytes", CP_REQID_MAX);
		return;
	}
	opt.reqid = ro->reqid;
	if (ack && !strcmp(ack, "durable"))
		opt.ack = CP_ACK_DURABLE;
	else if (ack && !strcmp(ack, "applied"))
		opt.ack = CP_ACK_APPLIED;
	else if (ack && strcmp(ack, "stamped")) {
		send_error(c, ro, "send: ack must be \"stamped\", \"durable\" or \"applied\"");
		return;
	}
	if (pack_err) {
		send_error(c, ro, "%s", pack_err);
		return;
	}
	int rc = cp_node_originate(n, c, &opt, buf, (uint16_t)len, count);
	if (rc < 0)
		send_error(c, ro, "send: %s", rc == -ENOTCONN ? "dataplane is down" :
					   rc == -ENOBUFS ? "dataplane queue full, retry" :
					   rc == -EAGAIN ? "node is starting (learning its next "
							    "sequence from the leader), retry" :
					   rc == -EINPROGRESS ? "request_id in progress, retry" :
					   rc == -ENOSPC ? "no space left on this node's disk (below "
							   "[storage] min_free_mb or a write failed), "
							   "refused; retry later" :
					   rc == -EEXIST ? "request_id already used for other events" :
					   rc == -ENAMETOOLONG ? "request_id longer than 64 bytes" :
							    strerror(-rc));
}

/* Events are packed into n->sendbuf (what one ORIGINATE of the dataplane holds: about 8.8 KiB
 * at MTU 9000, 4064 bytes at 1500); cp_node_originate copies them before it returns. */
static void cmd_send(struct cp_node *n, struct cp_api_client *c, json_t *req)
{
	char err[160];
	size_t len = 0;
	uint16_t count = 0;
	struct cp_sendreq_opts ro;

	cp_sendreq_opts_json(req, &ro);
	int rc = cp_sendreq_pack(req, send_max_event(n), n->cfg.gossip.mtu, n->sendbuf,
				 n->orig_cap, &len, &count, err, sizeof(err));
	send_run(n, c, &ro, n->sendbuf, len, count, rc < 0 ? err : NULL);
}

/* cp_api's line hook: a send request cp_sendscan reads whole skips jansson (the others, and
 * every line it leaves, go to cp_cmd_request). Only send is taken: a client command, so
 * the admin guard it bypasses would pass it anyway. */
int cp_cmd_line(void *arg, struct cp_api_client *c, const char *line, size_t len)
{
	struct cp_node *n = arg;
	struct cp_sendscan s;

	if (!cp_sendscan(line, len, send_max_event(n), n->sendbuf, n->orig_cap, &s))
		return 0;
	send_run(n, c, &s.opt, n->sendbuf, s.len, s.count, NULL);
	return 1;
}

static json_t *event_json(struct cp_node *n, const struct cp_fsm_entry *e)
{
	char hex[33];
	const struct cp_recent *r = &n->recent[e->gseq % CP_RECENT];

	rumor_event_id_hex(&e->id, hex);
	json_t *o = json_pack("{s:I, s:i, s:I, s:s}", "gseq", (json_int_t)e->gseq, "origin",
			      e->origin, "seq", (json_int_t)e->seq, "id", hex);
	if (e->kind == CP_BATCH_SKIP) {
		json_object_set_new(o, "skip", json_true());
		if (e->seq_last > e->seq)
			json_object_set_new(o, "skip_through", json_integer((json_int_t)e->seq_last));
	} else if (e->kind == CP_BATCH_REJECT)
		json_object_set_new(o, "rejected", json_string(cp_batch_reason_text(e->reason)));
	else
		json_object_set_new(o, "data", cp_node_payload_json(e->payload, e->len));
	if (r->gseq == e->gseq && r->clock[0])
		json_object_set_new(o, "clock_text", json_string(r->clock));
	return o;
}

static void cmd_events(struct cp_node *n, struct cp_api_client *c, json_t *req)
{
	json_int_t from = json_integer_value(json_object_get(req, "from"));
	json_int_t count = json_integer_value(json_object_get(req, "count"));
	uint64_t last = cp_fsm_last_gseq(n->fsm);
	json_t *arr = json_array();
	struct cp_fsm_entry e;

	if (count <= 0 || count > 10000)
		count = 20;
	if (from <= 0) /* default: the newest `count` */
		from = last > (uint64_t)count ? (json_int_t)(last - (uint64_t)count + 1) : 1;
	for (uint64_t g = (uint64_t)from; g <= last && g < (uint64_t)(from + count); g++)
		if (cp_fsm_log_get(n->fsm, g, &e) == 0)
			json_array_append_new(arr, event_json(n, &e));
	json_t *r = ok();
	json_object_set_new(r, "applied_gseq", json_integer((json_int_t)last));
	json_object_set_new(r, "events", arr);
	cp_api_reply(c, r);
}

/* Every pair, read from the store's documented snapshot form (sorted by key), at most @max. */
static void kv_list(const struct cp_kv *kv, json_t *map, size_t max)
{
	size_t size = cp_kv_snapshot_size(kv), off = 4;
	uint8_t *buf = malloc(size ? size : 1);
	char key[CP_KV_KEY_MAX + 1];

	if (!buf || cp_kv_snapshot_write(kv, buf, size) < 0) {
		free(buf);
		return;
	}
	for (uint32_t i = 0, n = rumor_le_ld32(buf); i < n && i < max; i++) {
		uint32_t klen = rumor_le_ld32(buf + off), vlen = rumor_le_ld32(buf + off + 4 + klen);
		memcpy(key, buf + off + 4, klen);
		key[klen] = 0;
		json_object_set_new(map, key, json_stringn((const char *)buf + off + 8 + klen, vlen));
		off += 8u + klen + vlen;
	}
	free(buf);
}

static void cmd_kv(struct cp_node *n, struct cp_api_client *c, json_t *req)
{
	const struct cp_kv *kv = cp_fsm_kv(n->fsm);
	const char *key = json_string_value(json_object_get(req, "key"));
	char digest[17];
	json_t *r = ok(), *map = json_object();

	if (key) {
		const char *val;
		size_t vlen;
		if (cp_kv_get(kv, key, strlen(key), &val, &vlen) == 0)
			json_object_set_new(map, key, json_stringn(val, vlen));
	} else {
		kv_list(kv, map, 1000);
	}
	snprintf(digest, sizeof(digest), "%016" PRIx64, cp_kv_digest(kv));
	json_object_set_new(r, "count", json_integer((json_int_t)cp_kv_count(kv)));
	json_object_set_new(r, "digest", json_string(digest));
	json_object_set_new(r, "kv", map);
	cp_api_reply(c, r);
}

static void cmd_snapshot(struct cp_node *n, struct cp_api_client *c)
{
	char d1[17], d2[17];

	snprintf(d1, sizeof(d1), "%016" PRIx64, cp_fsm_digest(n->fsm));
	snprintf(d2, sizeof(d2), "%016" PRIx64, cp_kv_digest(cp_fsm_kv(n->fsm)));
	cp_api_reply(c, json_pack("{s:b, s:I, s:s, s:s, s:I, s:I, s:i}", "ok", 1, "applied_gseq",
				  (json_int_t)cp_fsm_last_gseq(n->fsm), "order_digest", d1,
				  "kv_digest", d2, "raft_last_applied",
				  (json_int_t)raft_last_applied(n->raft), "raft_last_index",
				  (json_int_t)raft_last_index(n->raft), "snapshot_threshold",
				  (int)n->cfg.raft.snapshot_threshold));
}

/* Membership and leadership changes answer from libraft's callback. */
struct change {
	union {
		struct raft_change change;
		struct raft_transfer transfer;
	} u;
	struct cp_node *n;
	struct cp_api_client *c;
	raft_id id;
	int role;
};

static struct change *pending_change;

static void change_done(struct change *ch, int status, const char *what)
{
	if (ch->c) {
		if (status)
			cp_api_error(ch->c, "%s %llu: %s", what, (unsigned long long)ch->id,
				     raft_strerror(status));
		else
			cp_api_reply(ch->c, json_pack("{s:b, s:s, s:I}", "ok", 1, "done", what, "id",
						      (json_int_t)ch->id));
	}
	if (pending_change == ch)
		pending_change = NULL;
	free(ch);
}

static void on_transfer(struct raft_transfer *req)
{
	struct change *ch = req->data;
	change_done(ch, 0, "transfer");
}

static void on_assigned(struct raft_change *req, int status)
{
	change_done(req->data, status, "add");
}

static void on_added(struct raft_change *req, int status)
{
	struct change *ch = req->data;
	int rc;

	if (status) {
		change_done(ch, status, "add");
		return;
	}
	/* a new node joins as a standby that replicates; promote it when asked */
	if (ch->role == RAFT_STANDBY) {
		change_done(ch, 0, "add");
		return;
	}
	memset(&ch->u.change, 0, sizeof(ch->u.change));
	ch->u.change.data = ch;
	rc = raft_assign(ch->n->raft, &ch->u.change, ch->id, ch->role, on_assigned);
	if (rc)
		change_done(ch, rc, "add");
}

static void on_removed(struct raft_change *req, int status)
{
	change_done(req->data, status, "remove");
}

static void cmd_change(struct cp_node *n, struct cp_api_client *c, const char *cmd, json_t *req)
{
	raft_id id = (raft_id)json_integer_value(json_object_get(req, "id"));
	json_int_t raw = json_integer_value(json_object_get(req, "id"));
	struct change *ch;
	int rc;

	if (raw <= 0 || raw > RUMOR_NODE_ID_MAX) {
		cp_api_error(c, "%s: node id must be 1..%u", cmd, RUMOR_NODE_ID_MAX);
		return;
	}
	if (raft_state(n->raft) != RAFT_LEADER) {
		raft_id lid;
		const char *laddr;
		raft_leader(n->raft, &lid, &laddr);
		cp_api_error(c, "%s: not the leader (node %llu is; send it there)", cmd,
			     (unsigned long long)lid);
		return;
	}
	if (pending_change) {
		cp_api_error(c, "%s: another membership change is in progress", cmd);
		return;
	}
	ch = calloc(1, sizeof(*ch));
	if (!ch) {
		cp_api_error(c, "%s: out of memory", cmd);
		return;
	}
	ch->n = n;
	ch->c = c;
	ch->id = id;
	ch->role = json_is_false(json_object_get(req, "voter")) ? RAFT_STANDBY : RAFT_VOTER;
	if (!strcmp(cmd, "transfer")) {
		ch->u.transfer.data = ch;
		rc = raft_transfer(n->raft, &ch->u.transfer, id, on_transfer);
	} else if (!strcmp(cmd, "remove")) {
		ch->u.change.data = ch;
		rc = raft_remove(n->raft, &ch->u.change, id, on_removed);
	} else {
		/* the node must be in the config file (the cluster script rewrites it) */
		struct rumor_config *fresh = malloc(sizeof(*fresh));
		char err[512], addr[96];
		const struct rumor_node_conf *nc;
		if (!fresh || rumor_config_load(n->cfg.path, fresh, err, sizeof(err)) < 0 ||
		    !(nc = rumor_config_node(fresh, (uint16_t)id))) {
			cp_api_error(c, "add: node %llu is not in %s", (unsigned long long)id,
				     n->cfg.path);
			free(fresh);
			free(ch);
			return;
		}
		snprintf(addr, sizeof(addr), "%s:%u", nc->ctl_host, nc->ctl_port);
		free(fresh);
		cp_raftio_add_peer(&n->io, id, addr);
		ch->u.change.data = ch;
		rc = raft_add(n->raft, &ch->u.change, id, addr, on_added);
	}
	if (rc) {
		cp_api_error(c, "%s %llu: %s", cmd, (unsigned long long)id, raft_strerror(rc));
		free(ch);
		return;
	}
	pending_change = ch;
}

void cp_cmd_request(void *arg, struct cp_api_client *c, json_t *req)
{
	struct cp_node *n = arg;
	const char *cmd = json_string_value(json_object_get(req, "cmd"));

	if (!cmd)
		cp_api_error(c, "request without \"cmd\"");
	else if (!strcmp(cmd, "status"))
		cmd_status(n, c);
	else if (!strcmp(cmd, "members"))
		cmd_members(n, c);
	else if (!strcmp(cmd, "view"))
		cmd_view(n, c);
	else if (!strcmp(cmd, "clock"))
		cmd_clock(n, c);
	else if (!strcmp(cmd, "send"))
		cmd_send(n, c, req);
	else if (!strcmp(cmd, "events"))
		cmd_events(n, c, req);
	else if (!strcmp(cmd, "kv"))
		cmd_kv(n, c, req);
	else if (!strcmp(cmd, "snapshot"))
		cmd_snapshot(n, c);
	else if (!strcmp(cmd, "skip_lost")) {
		/* {"cmd":"skip_lost","origin":O,"seq":S}: the operator's word that a committed
		 * event's payload is gone from every live node */
		char why[160] = "";
		json_int_t o = json_integer_value(json_object_get(req, "origin"));
		json_int_t s = json_integer_value(json_object_get(req, "seq"));
		int rc = o > 0 && o <= RUMOR_NODE_ID_MAX && s > 0 ?
			 cp_node_skip_lost(n, (uint16_t)o, (uint64_t)s, why, sizeof(why)) : -EINVAL;
		if (rc == 0)
			cp_api_reply(c, json_pack("{s:b, s:s}", "ok", 1, "committed",
						  "reject record (payload lost)"));
		else
			cp_api_error(c, "skip_lost: %s", why[0] ? why : strerror(-rc));
	}
	else if (!strcmp(cmd, "transfer") || !strcmp(cmd, "add") || !strcmp(cmd, "remove"))
		cmd_change(n, c, cmd, req);
	else if (!strncmp(cmd, "keys_", 5))
		cp_keys_cmd(n, c, cmd, req); /* admin only: cp_api's guard (not a client command) */
	else if (!strcmp(cmd, "watch")) {
		/* {"cmd":"watch"[, "gossip":true][, "origin":N]}: the ordered stream (and the
		 * raw gossip with clocks), optionally only origin N's events */
		struct cp_watcher *w = calloc(1, sizeof(*w));
		if (!w) {
			cp_api_error(c, "watch: out of memory");
			return;
		}
		w->client = c;
		w->gossip = json_is_true(json_object_get(req, "gossip"));
		json_int_t origin = json_integer_value(json_object_get(req, "origin"));
		if (origin < 0 || origin > RUMOR_NODE_ID_MAX) {
			free(w);
			cp_api_error(c, "watch: origin must be a node id (1..%u)", RUMOR_NODE_ID_MAX);
			return;
		}
		w->origin = (uint16_t)origin;
		if (cp_api_watch_add(c) < 0) { /* replied: over the per-client bound */
			free(w);
			return;
		}
		w->next = n->subs.watchers;
		n->subs.watchers = w;
		cp_api_reply(c, json_pack("{s:b, s:s}", "ok", 1, "watching",
					  w->gossip ? "ordered+gossip" : "ordered"));
	} else
		cp_api_error(c, "unknown command \"%s\"", cmd);
}

void cp_cmd_client_closed(void *arg, struct cp_api_client *c)
{
	struct cp_node *n = arg;

	/* Only marked: this runs inside a reply to a watcher that overflowed, while the caller
	 * walks the list; cp_node frees marked watchers later. */
	for (struct cp_watcher *w = n->subs.watchers; w; w = w->next)
		if (w->client == c)
			w->client = NULL;
	for (struct cp_orig *o = n->subs.origs; o; o = o->next)
		if (o->client == c)
			o->client = NULL;
	for (struct cp_waiter *w = n->subs.waiters; w; w = w->next)
		if (w->client == c)
			w->client = NULL;
	for (struct cp_waiter *w = n->subs.dwaiters; w; w = w->next)
		if (w->client == c)
			w->client = NULL;
	if (pending_change && pending_change->c == c)
		pending_change->c = NULL;
	cp_keys_client_closed(n, c);
}
