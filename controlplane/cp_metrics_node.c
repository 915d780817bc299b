/* cp_metrics_node: what rumor-cp's /metrics shows. The numbers are the ones the status command
 * reads (raft, dataplane shared stats, payload log, fsm, order, API/control-port limits) plus
 * the commit latency histograms; rendered on the loop and published for the server thread. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <rte_ring.h>

#include "cp_api.h"
#include "cp_fsm.h"
#include "cp_loop.h"
#include "cp_metrics.h"
#include "cp_node_int.h"
#include "cp_order.h"
#include "cp_plog.h"
#include "cp_raftio.h"
#include "dp_node.h"
#include "rumor_tsrule.h"

#define PUBLISH_EVERY_MS 500

/* Prometheus label values may be anything, but reason="bad_udp_length" is what operators
 * type in queries: lower case, runs of other characters become one '_'. */
static void slug(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	bool sep = false;

	for (; *in && o + 1 < cap; in++) {
		if (isalnum((unsigned char)*in)) {
			if (sep && o)
				out[o++] = '_';
			if (o + 1 < cap)
				out[o++] = (char)tolower((unsigned char)*in);
			sep = false;
		} else
			sep = true;
	}
	out[o] = '\0';
}

/* One family with one unlabelled sample. */
static void one(struct cp_mtext *t, const char *name, const char *type, const char *help,
		uint64_t v)
{
	cp_mtext_family(t, name, type, help);
	cp_mtext_u64(t, name, NULL, NULL, v);
}

static uint64_t jint(json_t *o, const char *key, bool *found)
{
	json_t *v = json_object_get(o, key);

	*found = json_is_integer(v);
	return *found && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

/* Every integer of @obj as one sample of @name, its key (slugged) the reason. */
static void by_reason(struct cp_mtext *t, const char *name, const char *help, json_t *obj)
{
	const char *key;
	json_t *v;
	char reason[64];

	if (!json_is_object(obj))
		return;
	cp_mtext_family(t, name, "counter", help);
	json_object_foreach(obj, key, v) {
		if (!json_is_integer(v))
			continue;
		slug(key, reason, sizeof(reason));
		cp_mtext_u64(t, name, "reason", reason,
			     json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0);
	}
}

/* Control-link TLS: the status command's limits.control_tls. */
static void render_tls(struct cp_mtext *t, json_t *tls)
{
	bool f;

	if (!json_is_object(tls))
		return;
	one(t, "rumor_control_insecure", "gauge", "1 when control links run without TLS",
	    json_is_true(json_object_get(tls, "insecure")));
	by_reason(t, "rumor_control_tls_refused_total",
		  "control-link TLS connections refused, by reason", json_object_get(tls, "refused"));
	by_reason(t, "rumor_control_messages_refused_total",
		  "control messages refused on authenticated links, by reason",
		  json_object_get(tls, "refused_msgs"));
	one(t, "rumor_control_tls_handshakes_total", "counter", "control-link TLS handshakes done",
	    jint(tls, "handshakes", &f));
	one(t, "rumor_control_tls_outbound_failed_total", "counter",
	    "outbound control links whose TLS handshake failed", jint(tls, "outbound_failed", &f));
}

/* API and control-port limits: the same object the status command shows under "limits". */
static void render_limits(struct cp_node *n, struct cp_mtext *t)
{
	static const char *const api_refused[] = { "refused_clients", "refused_watches",
						   "accept_nofd", "accept_errors", "refused_admin" };
	static const char *const net_refused[] = { "refused_addr", "handshake_timeouts",
						   "prehandshake_oversize", "bad_hello",
						   "bad_frames", "accept_nofd", "shed_nofd",
						   "accept_errors" };
	json_t *lim = cp_api_limits_json(n->api, n->net);
	json_t *api = json_object_get(lim, "api"), *net = json_object_get(lim, "net");
	bool f;
	uint64_t v;

	cp_mtext_family(t, "rumor_api_clients", "gauge", "API socket clients connected now");
	cp_mtext_u64(t, "rumor_api_clients", NULL, NULL, jint(api, "clients", &f));
	cp_mtext_family(t, "rumor_api_refused_total", "counter",
			"API socket connections or watches refused, by reason");
	for (size_t i = 0; i < sizeof(api_refused) / sizeof(*api_refused); i++)
		if ((v = jint(api, api_refused[i], &f)), f)
			cp_mtext_u64(t, "rumor_api_refused_total", "reason", api_refused[i], v);
	cp_mtext_family(t, "rumor_control_inbound_connections", "gauge",
			"inbound control-port connections now");
	cp_mtext_u64(t, "rumor_control_inbound_connections", NULL, NULL,
		     jint(net, "inbound", &f));
	cp_mtext_family(t, "rumor_control_accepted_total", "counter",
			"inbound control-port connections accepted");
	cp_mtext_u64(t, "rumor_control_accepted_total", NULL, NULL, jint(net, "accepted", &f));
	cp_mtext_family(t, "rumor_control_refused_total", "counter",
			"inbound control-port connections or frames refused, by reason");
	for (size_t i = 0; i < sizeof(net_refused) / sizeof(*net_refused); i++)
		if ((v = jint(net, net_refused[i], &f)), f)
			cp_mtext_u64(t, "rumor_control_refused_total", "reason", net_refused[i], v);
	render_tls(t, json_object_get(lim, "control_tls"));
	json_decref(lim);
}

static void render_dataplane(struct cp_node *n, struct cp_mtext *t)
{
	const struct rumor_dp_stats *ds = dp_client_stats(&n->dp);
	char reason[64];

	one(t, "rumor_dp_up", "gauge", "1 while rumor-dp's heartbeat is fresh (3 s)", n->dp_alive);
	if (!ds)
		return;
	one(t, "rumor_dp_rx_packets_total", "counter", "packets received by the dataplane",
	    ds->rx_pkts);
	one(t, "rumor_dp_rx_bytes_total", "counter", "bytes received by the dataplane",
	    ds->rx_bytes);
	one(t, "rumor_dp_tx_packets_total", "counter", "packets sent by the dataplane",
	    ds->tx_pkts);
	one(t, "rumor_dp_tx_bytes_total", "counter", "bytes sent by the dataplane", ds->tx_bytes);
	one(t, "rumor_dp_tx_full_total", "counter", "packets the NIC's TX queue did not take",
	    ds->tx_full);
	cp_mtext_family(t, "rumor_dp_rx_frames_total", "counter",
			"gossip frames received, by what they were to this node");
	cp_mtext_u64(t, "rumor_dp_rx_frames_total", "result", "new", ds->rx_frames_new);
	cp_mtext_u64(t, "rumor_dp_rx_frames_total", "result", "dup", ds->rx_frames_dup);
	cp_mtext_u64(t, "rumor_dp_rx_frames_total", "result", "late", ds->rx_frames_late);
	one(t, "rumor_dp_rx_events_new_total", "counter", "events first seen in received frames",
	    ds->rx_events_new);
	one(t, "rumor_dp_originated_events_total", "counter", "events this node stamped",
	    ds->originated_events);
	one(t, "rumor_dp_originated_frames_total", "counter", "frames this node originated",
	    ds->originated_frames);
	one(t, "rumor_dp_originate_refused_total", "counter",
	    "originations the dataplane refused (store or origin window full)",
	    ds->originate_refused);
	one(t, "rumor_dp_fanout_frames_total", "counter", "frame copies sent to peers",
	    ds->fanout_frames);
	one(t, "rumor_dp_store_used_frames", "gauge", "frames in the dataplane's event store",
	    ds->store_used);
	one(t, "rumor_dp_store_capacity_frames", "gauge", "slots of the dataplane's event store",
	    ds->store_cap);
	one(t, "rumor_dp_store_full_total", "counter", "frames not stored: store full",
	    ds->store_full);
	one(t, "rumor_dp_ring_full_total", "counter",
	    "dataplane-to-controlplane messages that found the ring full", ds->ring_full_dp2cp);
	cp_mtext_family(t, "rumor_dp_pulls_total", "counter", "payload pulls between dataplanes");
	cp_mtext_u64(t, "rumor_dp_pulls_total", "result", "sent", ds->pull_sent);
	cp_mtext_u64(t, "rumor_dp_pulls_total", "result", "served", ds->pull_served);
	cp_mtext_u64(t, "rumor_dp_pulls_total", "result", "failed", ds->pull_failed);
	one(t, "rumor_dp_repair_frames_total", "counter", "frames resent for the leader's repair",
	    ds->repair_sent);
	one(t, "rumor_dp_seq_floor_raised_total", "counter",
	    "times the seq floor moved this node's next seq up", ds->seq_floor_raised);
	one(t, "rumor_dp_acks_queued_total", "counter",
	    "origination acks that waited for room in the ring", ds->acks_queued);
	one(t, "rumor_dp_members", "gauge", "members the timestamp rule uses", ds->members_n);
	one(t, "rumor_dp_arp_held_total", "counter",
	    "frames held for a peer whose MAC ARP had not resolved", ds->nic[RUMOR_DP_ARP_HELD]);
	one(t, "rumor_dp_arp_released_total", "counter",
	    "held frames sent once their peer resolved", ds->nic[RUMOR_DP_ARP_RELEASED]);
	/* every named reason, zeros too: a rate() needs the series before the first drop */
	cp_mtext_family(t, "rumor_dp_drops_total", "counter",
			"frames or packets the dataplane dropped, by reason");
	for (unsigned i = 0; i < RUMOR_DP_DROP_REASONS; i++) {
		const char *name = dp_drop_name(i);
		if (!name)
			continue;
		slug(name, reason, sizeof(reason));
		cp_mtext_u64(t, "rumor_dp_drops_total", "reason", reason, ds->drops[i]);
	}
	for (int i = 1; i <= RUMOR_TS_NREASONS; i++)
		cp_mtext_u64(t, "rumor_dp_drops_total", "reason", rumor_tsrule_name(i),
			     ds->ts_drops[i - 1]);
	for (int i = 1; i <= RUMOR_DP_BUDGET_NREASONS; i++)
		cp_mtext_u64(t, "rumor_dp_drops_total", "reason", rumor_dp_budget_name(i),
			     ds->budget_drops[i - 1]);
	one(t, "rumor_dp_expire_asked_total", "counter",
	    "frames held unordered past the age bound, offered back to the controlplane",
	    ds->expire_asked);
	one(t, "rumor_dp_aged_out_total", "counter",
	    "frames the controlplane released after such an offer", ds->aged_out);
	one(t, "rumor_dp_stranger_used_frames", "gauge",
	    "store slots held by frames from no configured node", ds->stranger_used);
}

static void render_raft(struct cp_node *n, struct cp_mtext *t)
{
	static const char *const roles[] = { "unavailable", "follower", "candidate", "leader" };
	const char *role = cp_node_role(n), *laddr;
	raft_id lid;

	raft_leader(n->raft, &lid, &laddr);
	one(t, "rumor_node_id", "gauge", "this node's id", n->self);
	one(t, "rumor_uptime_seconds", "gauge", "seconds since rumor-cp started",
	    (cp_now_ms(n) - n->started_ms) / 1000);
	one(t, "rumor_raft_term", "gauge", "Raft current term", n->raft->current_term);
	one(t, "rumor_raft_commit_index", "gauge", "Raft commit index", n->raft->commit_index);
	one(t, "rumor_raft_applied_index", "gauge", "Raft last applied index",
	    raft_last_applied(n->raft));
	one(t, "rumor_raft_leader_id", "gauge", "the leader this node knows (0: none)", lid);
	cp_mtext_family(t, "rumor_raft_role", "gauge", "1 for this node's Raft role");
	for (size_t i = 0; i < sizeof(roles) / sizeof(*roles); i++)
		cp_mtext_u64(t, "rumor_raft_role", "role", roles[i], !strcmp(role, roles[i]));
}

static void render_node(struct cp_node *n, struct cp_mtext *t)
{
	const struct cp_node_stats *s = &n->st;
	struct cp_fsm_stats fs;
	struct cp_plog_stats ps;

	cp_fsm_get_stats(n->fsm, &fs);
	one(t, "rumor_applied_gseq", "gauge", "global seq of the last applied event",
	    cp_fsm_last_gseq(n->fsm));
	one(t, "rumor_fsm_waiting_payload", "gauge", "committed events waiting for their payload",
	    cp_fsm_queue_len(n->fsm));
	one(t, "rumor_held_events", "gauge", "events held in the store, not applied yet",
	    n->hold.held.count);
	one(t, "rumor_apply_waiting_seconds", "gauge",
	    "how long the apply has waited for one committed payload (0: not waiting)",
	    n->rec.want_origin ? (cp_now_ms(n) - n->rec.want_first_ms) / 1000 : 0);
	one(t, "rumor_fsm_batches_total", "counter", "order batches applied", fs.batches);
	one(t, "rumor_fsm_events_applied_total", "counter", "events applied", fs.applied);
	one(t, "rumor_fsm_skips_total", "counter", "skip records applied", fs.skips);
	one(t, "rumor_fsm_skipped_seqs_total", "counter", "origin seqs covered by skips",
	    fs.skipped_seqs);
	one(t, "rumor_fsm_rejects_total", "counter", "reject records applied", fs.rejects);
	one(t, "rumor_fsm_lost_total", "counter", "events an operator declared lost", fs.lost);
	one(t, "rumor_fsm_kv_commands_total", "counter", "payloads run as KV commands",
	    fs.kv_cmds);

	one(t, "rumor_cp_frames_total", "counter", "new-frame records from the dataplane",
	    s->frames);
	cp_mtext_family(t, "rumor_cp_events_total", "counter",
			"events in new-frame records, new to the controlplane or known");
	cp_mtext_u64(t, "rumor_cp_events_total", "result", "new", s->events_new);
	cp_mtext_u64(t, "rumor_cp_events_total", "result", "known", s->events_known);
	one(t, "rumor_cp_reports_sent_total", "counter", "holding reports sent to the leader",
	    s->reports_sent);
	one(t, "rumor_cp_report_bytes_total", "counter", "bytes of holding reports sent",
	    s->report_bytes);
	one(t, "rumor_cp_rereports_total", "counter", "held events reported again",
	    s->rereports);
	one(t, "rumor_cp_pulls_total", "counter", "payload pulls asked of the dataplane",
	    s->pulls);
	one(t, "rumor_cp_releases_total", "counter", "store slots released", s->releases);
	one(t, "rumor_cp_originated_events_total", "counter", "client events stamped",
	    s->originated);
	one(t, "rumor_cp_send_retries_total", "counter",
	    "client retries answered with their first outcome", s->send_retries);
	one(t, "rumor_cp_batches_proposed_total", "counter", "order batches proposed (leader)",
	    s->batches_proposed);
	one(t, "rumor_cp_commits_reannounced_total", "counter",
	    "idle commits sent again to a follower that stored the batch late (leader)",
	    s->commits_reannounced);
	one(t, "rumor_cp_fetches_sent_total", "counter", "payload fetches sent to peers",
	    s->fetches_sent);
	one(t, "rumor_cp_fetches_served_total", "counter", "payload fetches served to peers",
	    s->fetch_served);
	one(t, "rumor_cp_repairs_asked_total", "counter", "minority-held runs asked to be resent",
	    s->repairs_asked);
	one(t, "rumor_cp_repair_frames_total", "counter", "frames resent for repairs",
	    s->repair_frames);
	one(t, "rumor_cp_prefetches_total", "counter", "committed events fetched before the apply",
	    s->prefetches);
	/* issue 14: copies that were not their origin's event, by the hop sender */
	if (n->forge.total) /* a family with no sample at all would be an empty one */
		cp_mtext_family(t, "rumor_cp_forged_copies_total", "counter",
				"held copies with another id than their origin reported, by hop sender");
	for (unsigned snd = 0; n->forge.total && snd <= RUMOR_NODE_ID_MAX; snd++) {
		char id[8];
		if (!n->forge.by_sender[snd])
			continue;
		snprintf(id, sizeof(id), "%u", snd);
		cp_mtext_u64(t, "rumor_cp_forged_copies_total", "sender", id, n->forge.by_sender[snd]);
	}
	one(t, "rumor_cp_forge_notices_total", "counter",
	    "leader notices that our copy is not the origin's", n->forge.notices);
	one(t, "rumor_cp_forge_fixed_total", "counter",
	    "right payloads fetched and reported after such a notice", n->forge.fixed);
	cp_mtext_family(t, "rumor_cp_drops_total", "counter",
			"what the controlplane dropped or refused, by reason");
	cp_mtext_u64(t, "rumor_cp_drops_total", "reason", "bad_frame", s->frames_bad);
	cp_mtext_u64(t, "rumor_cp_drops_total", "reason", "held_full", s->held_full);
	cp_mtext_u64(t, "rumor_cp_drops_total", "reason", "report_refused", s->reports_refused);
	cp_mtext_u64(t, "rumor_cp_drops_total", "reason", "report_backpressure",
		     s->report_backpressure);
	cp_mtext_u64(t, "rumor_cp_drops_total", "reason", "originate_refused",
		     s->originate_refused);
	cp_mtext_u64(t, "rumor_cp_drops_total", "reason", "plog_refused", s->plog_refused);
	cp_mtext_u64(t, "rumor_cp_drops_total", "reason", "apply_failed", s->apply_failed);
	cp_mtext_u64(t, "rumor_cp_drops_total", "reason", "pull_failed", s->pulls_failed);
	cp_mtext_u64(t, "rumor_cp_drops_total", "reason", "ordered_log_write_error",
		     s->log_write_errors);
	cp_mtext_u64(t, "rumor_cp_drops_total", "reason", "fsm_duplicate", fs.dups);
	cp_mtext_u64(t, "rumor_cp_drops_total", "reason", "fsm_bad_batch", fs.bad_batches);
	cp_mtext_u64(t, "rumor_cp_drops_total", "reason", "kv_error", fs.kv_errors);
	if (n->lead.leading) {
		struct cp_order_stats os;
		cp_order_get_stats(n->order, &os);
		cp_mtext_u64(t, "rumor_cp_drops_total", "reason", "order_full",
			     os.refused_nobufs);
		cp_mtext_u64(t, "rumor_cp_drops_total", "reason", "order_invalid",
			     os.refused_invalid);
		cp_mtext_u64(t, "rumor_cp_drops_total", "reason", "order_conflict", os.conflicts);
		one(t, "rumor_order_reports_total", "counter", "reports the order accepted (leader)",
		    os.reports);
		one(t, "rumor_order_batches_total", "counter", "batches cut (leader)", os.batches);
		one(t, "rumor_order_events_cut_total", "counter", "events put into batches (leader)",
		    os.events_cut);
		one(t, "rumor_order_skips_total", "counter", "skip records cut (leader)", os.skips);
		one(t, "rumor_order_forged_reports_total", "counter",
		    "reporters of another id than the origin's own (leader)", os.forged);
		one(t, "rumor_order_replaced_total", "counter",
		    "first-reported ids replaced by the origin's report (leader)", os.replaced);
		one(t, "rumor_order_pending_events", "gauge", "events in the order's table (leader)",
		    os.pending);
		one(t, "rumor_order_ready_events", "gauge", "events ready, not cut yet (leader)",
		    os.ready);
		one(t, "rumor_order_applies_inflight", "gauge", "batches proposed, not applied yet",
		    n->lead.applies_inflight);
	}

	cp_plog_stats(n->plog, &ps);
	one(t, "rumor_plog_appends_total", "counter", "payload log records appended", ps.appends);
	one(t, "rumor_plog_append_bytes_total", "counter", "payload log bytes appended",
	    ps.append_bytes);
	one(t, "rumor_plog_fsyncs_total", "counter", "payload log fdatasyncs completed",
	    ps.flushes);
	one(t, "rumor_plog_fsync_records_max", "gauge", "most records one fdatasync covered",
	    ps.flush_records_max);
	one(t, "rumor_plog_segments", "gauge", "payload log segments on disk", ps.segments);
	one(t, "rumor_plog_size_bytes", "gauge", "payload log bytes on disk", ps.bytes);
	one(t, "rumor_plog_buffered_bytes", "gauge", "payload log bytes not written yet",
	    ps.buffered_bytes);
	one(t, "rumor_plog_write_errors_total", "counter", "payload log write errors",
	    ps.write_errors);
	one(t, "rumor_plog_read_errors_total", "counter", "payload log read errors",
	    ps.read_errors);
	one(t, "rumor_disk_free_bytes", "gauge", "free space in the data dir",
	    n->disk_free_mb << 20);
	one(t, "rumor_disk_min_free_bytes", "gauge", "[storage] min_free_mb in bytes",
	    (uint64_t)n->cfg.storage.min_free_mb << 20);
	one(t, "rumor_disk_refusing", "gauge", "1 while new events are refused for disk space",
	    n->disk_low);
}

static void render_queues(struct cp_node *n, struct cp_mtext *t)
{
	unsigned dw = 0, aw = 0;

	for (struct cp_waiter *w = n->subs.dwaiters; w; w = w->next)
		dw++;
	for (struct cp_waiter *w = n->subs.waiters; w; w = w->next)
		aw++;
	if (n->dp.dp2cp && n->dp.cp2dp) {
		cp_mtext_family(t, "rumor_ring_depth", "gauge",
				"messages in a ring between the planes now");
		/* dp2cp: every worker's ring together */
		cp_mtext_u64(t, "rumor_ring_depth", "ring", "dp2cp", dp_client_pending(&n->dp));
		cp_mtext_u64(t, "rumor_ring_depth", "ring", "cp2dp", rte_ring_count(n->dp.cp2dp));
		cp_mtext_family(t, "rumor_ring_capacity", "gauge",
				"messages a ring between the planes holds");
		cp_mtext_u64(t, "rumor_ring_capacity", "ring", "dp2cp",
			     rte_ring_get_capacity(n->dp.dp2cp) * (n->dp.n_dp2cp ? n->dp.n_dp2cp : 1));
		cp_mtext_u64(t, "rumor_ring_capacity", "ring", "cp2dp",
			     rte_ring_get_capacity(n->dp.cp2dp));
	}
	cp_mtext_family(t, "rumor_backlog", "gauge",
			"work the controlplane holds back: releases waiting for ring room, "
			"originations parked for the seq floor, reports waiting for their fsync");
	cp_mtext_u64(t, "rumor_backlog", "queue", "releases_pending", n->hold.rel_n);
	cp_mtext_u64(t, "rumor_backlog", "queue", "originations_parked", n->subs.parked_n);
	cp_mtext_u64(t, "rumor_backlog", "queue", "reports_pending_fsync", n->hold.pend_n);
	one(t, "rumor_cp_release_ring_full_total", "counter",
	    "releases that found the ring to the dataplane full", n->st.release_ring_full);
	cp_mtext_family(t, "rumor_waiters", "gauge", "client sends waiting for their answer");
	cp_mtext_u64(t, "rumor_waiters", "level", "durable", dw);
	cp_mtext_u64(t, "rumor_waiters", "level", "applied", aw);
}

void cp_metrics_node_render(struct cp_node *n, struct cp_mtext *t)
{
	struct cp_metrics_loop *ml = cp_metrics_loop_of(n->metrics);
	static const char *const levels[CP_METRICS_LEVELS] = { "stamped", "durable", "applied" };

	render_raft(n, t);
	render_node(n, t);
	render_dataplane(n, t);
	render_queues(n, t);
	render_limits(n, t);
	if (ml) {
		cp_mtext_family(t, "rumor_commit_latency_seconds", "histogram",
				"client send to its answer, by acknowledgment level");
		for (unsigned i = 0; i < CP_METRICS_LEVELS; i++)
			cp_mtext_hist(t, "rumor_commit_latency_seconds", "level", levels[i],
				      &ml->lat[i]);
	}
	one(t, "rumor_metrics_scrapes_total", "counter", "GET /metrics answered",
	    cp_metrics_scrapes(n->metrics));
}

void cp_metrics_node_tick(struct cp_node *n, uint64_t now_ms)
{
	struct cp_metrics_loop *ml = cp_metrics_loop_of(n->metrics);

	if (!ml || (ml->last_publish_ms && now_ms - ml->last_publish_ms < PUBLISH_EVERY_MS))
		return;
	ml->last_publish_ms = now_ms;
	cp_mtext_reset(&ml->text);
	cp_metrics_node_render(n, &ml->text);
	cp_metrics_publish(n->metrics, &ml->text);
}
