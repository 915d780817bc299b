/* cp_node: one node's wiring. rumor-cp's environment (dataplane rings, control transport,
 * loop clock), the dataplane's records and the control messages dispatched to the modules
 * that own them (holder, leader, recovery, subscriptions), the apply (state machine hooks,
 * ordered.log), timers, start and stop. One io_uring loop, no threads. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cp_api.h"
#include "cp_fsm.h"
#include "cp_jsonl.h"
#include "cp_loop.h"
#include "cp_members.h"
#include "cp_metrics.h"
#include "cp_net.h"
#include "cp_node_int.h"
#include "cp_plant.h"
#include "rumor_rand.h"
#include "cp_order.h"
#include "cp_plog.h"
#include "cp_reqids.h"
#include "cp_raftio.h"
#include "cp_repair.h"
#include "cp_view.h"

/* ---------------------------------------------------------------- JSON helpers */

json_t *cp_node_clock_json(const struct rumor_vc *vc)
{
	json_t *o = json_object();
	char k[8];

	for (uint16_t i = 0; i < vc->n; i++) {
		snprintf(k, sizeof(k), "%u", vc->node[i]);
		json_object_set_new(o, k, json_integer((json_int_t)vc->ctr[i]));
	}
	return o;
}

json_t *cp_node_payload_json(const void *p, size_t len)
{
	json_t *s = json_stringn(p, len);
	if (s)
		return s;
	/* not UTF-8: show it as hex so the line stays valid JSON */
	char *hex = malloc(len * 2 + 5);
	static const char digits[] = "0123456789abcdef";
	memcpy(hex, "hex:", 4);
	for (size_t i = 0; i < len; i++) {
		hex[4 + 2 * i] = digits[((const uint8_t *)p)[i] >> 4];
		hex[5 + 2 * i] = digits[((const uint8_t *)p)[i] & 15];
	}
	s = json_stringn(hex, 4 + len * 2);
	free(hex);
	return s;
}

const char *cp_node_role(const struct cp_node *n)
{
	static const char *names[] = { "unavailable", "follower", "candidate", "leader" };
	int st = raft_state((struct raft *)n->raft);
	return st >= 0 && st <= RAFT_LEADER ? names[st] : "?";
}

/* ---------------------------------------------------------------- control messages */

/* cp_tls: `from` is the id the sender's certificate names (or, insecure, what its HELLO
 * claimed). Raft's own idea of the leader, not n->leader: that is polled on the tick, and the
 * new leader's first message may come in the same iteration as its first heartbeat. */
static bool from_leader(struct cp_node *n, uint64_t from)
{
	raft_id lid;
	const char *laddr;

	raft_leader(n->raft, &lid, &laddr);
	return lid != 0 && from == lid;
}

/* A member of the Raft configuration (voter or not). */
static bool is_member(struct cp_node *n, uint64_t from)
{
	const struct raft_configuration *c = &n->raft->configuration;

	for (unsigned i = 0; i < c->n; i++)
		if (c->servers[i].id == from)
			return true;
	return false;
}

/* A view assignment counts only from the node that leads now. */
static bool app_view_allowed(struct cp_node *n, uint64_t from, const uint8_t *p, size_t len)
{
	struct rumor_view_msg m;

	if (rumor_view_msg_decode(p, len, &m) != 0 || m.type != RUMOR_VIEW_MSG_VIEW_ASSIGN ||
	    from_leader(n, from))
		return true; /* the rest is cp_view's to judge */
	cp_refused(n, CP_NET_REFUSED_VIEW, from);
	return false;
}

void cp_node_on_app(void *arg, uint64_t from, uint16_t type, const uint8_t *p, size_t len)
{
	struct cp_node *n = arg;

	if (type == CP_APP_VIEW) { /* cp_view hook */
		if (app_view_allowed(n, from, p, len)) /* cp_tls hook */
			cp_view_on_app(n, from, p, len);
		return;
	}
	if (type == CP_APP_FETCH_REQ) {
		cp_recovery_serve_fetch(n, from, p, len);
		return;
	}
	if (type == CP_APP_REPAIR) {
		struct cp_repair r;
		if (!from_leader(n, from)) /* cp_tls hook: only the leader asks for repairs */
			cp_refused(n, CP_NET_REFUSED_REPAIR, from);
		else if (cp_repair_decode(p, len, &r) == 0)
			cp_holder_repair_serve(n, &r);
		else
			LOG(n, "bad repair request from node %" PRIu64, from);
		return;
	}
	if (type == CP_APP_SEQ_QUERY) {
		cp_leader_on_seq_query(n, from);
		return;
	}
	if (type == CP_APP_SEQ_REPLY) {
		uint64_t seen;
		if (cp_appmsg_seq_reply_decode(p, len, &seen) == 0 && from == n->leader &&
		    !n->subs.seq_floor_known)
			cp_subs_set_seq_floor(n, seen);
		return;
	}
	if (type == CP_APP_DURABLE) {
		uint16_t to;
		uint64_t through, floor;
		if (cp_appmsg_durable_decode(p, len, &to, &through, &floor) == 0 && to == n->self &&
		    from == n->leader)
			cp_subs_durable_reached(n, through, floor);
		return;
	}
	if (type == CP_APP_FETCH_RESP) {
		if (cp_fetch_resp_take(&n->rec.fetch, p, len) > 0) {
			cp_holder_forge_poll(n); /* a right copy a wrong holder waited for */
			cp_fsm_drain(n->fsm);
		}
		return;
	}
	if (type == CP_APP_WRONG_ID) { /* only the leader tells */
		if (from_leader(n, from))
			cp_holder_on_wrong_id(n, p, len);
		return;
	}
	if (type == CP_APP_APPLIED) {
		if (is_member(n, from))
			cp_gcfloor_note(&n->gcfloor, (uint16_t)from, p, len, cp_now_ms(n));
		return;
	}
	if (type == CP_APP_REPORTS)
		cp_leader_on_reports(n, from, p, len);
	else if (type == CP_APP_REPORTED_ALL && n->lead.leading)
		cp_order_pass(n->order, (uint16_t)(from <= RUMOR_NODE_ID_MAX ? from : 0),
			      cp_now_us(n));
}

/* ---------------------------------------------------------------- dataplane records */

unsigned cp_node_poll_dataplane(struct cp_node *n)
{
	struct rumor_msg *msgs[64];
	unsigned got, i;

	if (n->hold.rep_len >= CP_REPORT_MAX_BYTES) {
		/* the leader is not keeping up: push back on the dataplane instead of buffering */
		cp_holder_flush_reports(n);
		return 0;
	}
	struct cp_plog_stats ps;
	cp_plog_stats(n->plog, &ps);
	if (ps.buffered_bytes >= CP_PLOG_BUFFER_MAX / 2) {
		cp_plog_flush(n->plog); /* the disk is behind: leave frames in the dataplane */
		return 0;
	}
	got = n->env.dp_recv(n->env.arg, msgs, 64);
	for (i = 0; i < got; i++) {
		switch (msgs[i]->type) {
		case RUMOR_MSG_NEW_FRAME:
			cp_holder_on_new_frame(n, &msgs[i]->u.new_frame);
			break;
		case RUMOR_MSG_ORIGINATE_ACK:
			cp_subs_on_originate_ack(n, &msgs[i]->u.originate_ack);
			break;
		case RUMOR_MSG_PULL_FAILED:
			n->st.pulls_failed++;
			break;
		case RUMOR_MSG_EXPIRE:
			cp_holder_on_expire(n, &msgs[i]->u.release);
			break;
		default:
			LOG(n, "unexpected dataplane message type %u", msgs[i]->type);
		}
	}
	if (got) {
		for (i = 0; i < got; i++)
			n->env.dp_free(n->env.arg, msgs[i]);
		/* Group commit by what accumulated: a full burst means more frames wait in the
		 * ring, so their fdatasync is shared unless enough is buffered already; a partial
		 * burst (the ring is empty) writes at once. Every fdatasync costs kernel time
		 * (ext4 journal) on a box that every process shares. */
		if ((got < 64 || ps.buffered_bytes >= CP_PLOG_EAGER_BYTES))
			cp_holder_plog_flush(n);
		cp_fsm_drain(n->fsm);
	}
	cp_holder_flush_reports(n);
	return got;
}

/* ---------------------------------------------------------------- the apply */

static void log_append(struct cp_node *n, const struct cp_fsm_entry *e, const char *clock,
		       const char *hex)
{
	struct cp_jsonl *l = &n->line;

	if (n->olog.fd < 0 || e->gseq <= n->olog.last_gseq)
		return;
	cp_jsonl_reset(l);
	if (e->kind == CP_BATCH_REJECT)
		cp_members_reject_jsonl(l, e, hex);
	else if (e->kind == CP_BATCH_SKIP)
		cp_jsonl_skip(l, e->gseq, e->origin, e->seq, e->seq_last);
	else
		cp_jsonl_event(l, e->gseq, e->origin, e->seq, hex, "clock", clock, false,
			       e->payload, e->len);
	if (l->oom || cp_olog_append(&n->olog, e->gseq, l->p, l->len) < 0)
		n->st.log_write_errors++;
}

static void pp_applied(void *data, const struct cp_fsm_entry *e)
{
	struct cp_node *n = data;
	struct cp_recent *r = &n->recent[e->gseq % CP_RECENT];
	const struct cp_held_event *h;
	uint32_t slot;

	if (e->seq_last > n->applied_through[e->origin])
		n->applied_through[e->origin] = e->seq_last;
	/* our seqs skipped above what we stamped (a timestamp claimed them, cp_order's
	 * phantom skip): stamp above them, or our next events would be stale on arrival */
	if (e->kind == CP_BATCH_SKIP && e->origin == n->self && n->subs.seq_floor_known &&
	    e->seq_last > n->subs.seq_floor)
		cp_subs_set_seq_floor(n, e->seq_last);
	if (n->rec.want_origin == e->origin && n->rec.want_seq <= e->seq_last)
		n->rec.want_origin = 0;
	*r = (struct cp_recent){ .gseq = e->gseq, .origin = e->origin, .seq = e->seq, .id = e->id };
	/* the timestamp lives in the frame we hold: show it beside the ordered event */
	h = cp_held_get(&n->hold.held, e->origin, e->seq);
	if (h && n->hold.slot_frame[h->slot].frame) {
		/* consecutive events mostly share a frame: decode it once */
		if (n->aframe_slot != h->slot &&
		    rumor_wire_decode_rumor(n->hold.slot_frame[h->slot].frame, n->hold.slot_frame[h->slot].len,
					    n->cfg.cluster_id, 0, n->aframe) == 0) {
			n->aframe_slot = h->slot;
			*n->ats = n->aframe->clock; /* per frame: its events differ in one entry */
		}
		if (n->aframe_slot == h->slot) {
			rumor_vc_set(n->ats, e->origin, e->seq);
			rumor_vc_format(n->ats, r->clock, sizeof(r->clock));
		}
	} else if (!h) {
		/* applied from our payload log or a fetched payload: its timestamp came with it */
		const struct cp_plog_frame *pf = &n->hold.apply_pf;
		if (pf->origin == e->origin && e->seq >= pf->first_seq &&
		    e->seq < pf->first_seq + pf->f->hdr.event_count) {
			struct rumor_vc *ts = n->ats;
			n->aframe_slot = UINT32_MAX; /* ats no longer matches aframe */
			*ts = pf->f->clock;
			rumor_vc_set(ts, e->origin, e->seq);
			rumor_vc_format(ts, r->clock, sizeof(r->clock));
		} else {
			cp_fetch_clock(&n->rec.fetch, e->origin, e->seq, r->clock, sizeof(r->clock));
		}
	}
	char hex[33];
	rumor_event_id_hex(&e->id, hex);
	log_append(n, e, r->clock, hex);
	cp_subs_notify_applied(n, e, r->clock, hex);
	cp_fetch_done(&n->rec.fetch, e->origin, e->seq); /* after its clock was read above */
	if (h) {
		uint16_t origin = e->origin;
		/* the dataplane checks the frame's own first seq, not the part we hold */
		uint64_t first = n->hold.slot_frame[h->slot].first_seq;
		if (cp_held_done_at(&n->hold.held, h, &slot) == 1)
			cp_holder_release_slot(n, slot, origin, first);
	}
	if (e->seq_last > e->seq)
		cp_holder_release_skipped(n, e->origin, e->seq, e->seq_last);
}

static void pp_committed(void *data, const struct cp_batch *b)
{
	struct cp_node *n = data;
	cp_order_committed(n->order, b);
	cp_recovery_prefetch(n, b);
}

/* ---------------------------------------------------------------- timers */

void cp_node_tick(struct cp_node *n)
{
	cp_leader_check(n);
	cp_members_tick(n, cp_now_ms(n));
	cp_members_send_peers(n, cp_now_ms(n));
	cp_leader_propose(n);
	cp_leader_announce_late(n);
	if (n->lead.leading)
		cp_leader_announce_durable(n);
	cp_subs_tick(n, cp_now_ms(n));
	if (n->hold.rel_n)
		cp_holder_send_pending_releases(n);
	cp_holder_flush_reports(n);
	cp_holder_plog_flush(n); /* what a run of full bursts left buffered */
	if (cp_olog_flush(&n->olog) < 0)
		n->st.log_write_errors++;
}

/* Tell every other member what we applied: they keep the payloads we may still fetch. */
static void send_applied(struct cp_node *n, uint64_t now)
{
	const struct raft_configuration *c = &n->raft->configuration;

	if (now - n->gcfloor_sent_ms < CP_GCFLOOR_PERIOD_MS)
		return;
	n->gcfloor_sent_ms = now;
	size_t len = cp_gcfloor_encode(n->applied_through, n->gcfloor_msg, CP_GCFLOOR_MSG_MAX);
	struct iovec iov = { n->gcfloor_msg, len };
	for (unsigned i = 0; len && i < c->n; i++)
		if (c->servers[i].id != n->self)
			cp_peer_send(n, c->servers[i].id, CP_APP_APPLIED, &iov, 1);
}

static bool in_raft_conf(const struct raft_configuration *c, unsigned id)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->servers[i].id == id)
			return true;
	return false;
}

/* Ids a clock of ours can name: the config's, the Raft configuration's, and every origin the
 * order has seen (the dataplane's clock keeps each id it ever merged). */
static unsigned clock_entries_bound(const struct cp_node *n)
{
	const struct raft_configuration *c = &n->raft->configuration;
	const uint64_t *wm = cp_fsm_watermarks(n->fsm);
	unsigned k = n->cfg.n_nodes;

	for (unsigned i = 0; i < c->n; i++)
		if (c->servers[i].id <= RUMOR_NODE_ID_MAX &&
		    !rumor_config_node(&n->cfg, (uint16_t)c->servers[i].id))
			k++;
	for (unsigned o = 1; wm && o <= RUMOR_NODE_ID_MAX; o++)
		if (wm[o] && !rumor_config_node(&n->cfg, (uint16_t)o) &&
		    !in_raft_conf(c, o))
			k++;
	return k < RUMOR_VC_MAX_ENTRIES ? k : RUMOR_VC_MAX_ENTRIES;
}

void cp_node_tick_slow(struct cp_node *n)
{
	uint64_t now = cp_now_ms(n);

	n->clock_entries_max = clock_entries_bound(n);
	cp_subs_reap_watchers(n);
	if (cp_plog_error(n->plog) < 0)
		cp_plog_flush(n->plog); /* retry the failed write (disk full, EIO) */
	cp_recovery_tick(n, now);
	cp_leader_tick_slow(n, now);
	cp_forge_applied(&n->forge, n->applied_through);
	send_applied(n, now);
	if (now - n->hold.last_rereport_ms >= CP_REREPORT_AGE_MS && n->leader) {
		n->hold.last_rereport_ms = now;
		/* only the part the order needs next: a report is lost only with a connection,
		 * and the rest of what we hold is re-sent as the window moves up */
		cp_holder_rereport(n, CP_REREPORT_WINDOW);
	}
}

/* Before libraft takes a snapshot (everything applied so far): make ordered.log durable
 * through it, so that a crash never leaves a hole that the Raft log cannot replay, and drop
 * payload-log segments that the previous snapshot covers (a restart replays only the log
 * after the newest snapshot; the one before stays as a margin). */
static int fsm_snapshot_hook(struct raft_fsm *rf, struct raft_buffer *bufs[], unsigned *nb)
{
	struct cp_node *n = (struct cp_node *)((char *)rf - offsetof(struct cp_node, fsm_hooks));
	int rc = cp_olog_sync(&n->olog);

	if (rc < 0) {
		n->st.log_write_errors++;
		LOG(n, "ordered.log sync before a snapshot failed: %s", strerror(-rc));
	}
	uint64_t *older = n->snap_applied[0];
	memcpy(n->gc_covered, older, (RUMOR_NODE_ID_MAX + 1) * sizeof(uint64_t));
	cp_gcfloor_apply(&n->gcfloor, n->gc_covered, cp_now_ms(n));
	int gone = cp_plog_gc(n->plog, n->gc_covered);
	if (gone > 0)
		LOG(n, "payload log: %d segment(s) covered by snapshots deleted", gone);
	memcpy(older, n->applied_through, (RUMOR_NODE_ID_MAX + 1) * sizeof(uint64_t));
	n->snap_applied[0] = n->snap_applied[1];
	n->snap_applied[1] = older;
	return cp_fsm_raft(n->fsm)->snapshot(rf, bufs, nb);
}

/* A snapshot installed (from the leader, or our own at start): ordered.log gets its gap marker
 * now. Written only before the next event's line, it left a node that joined an idle
 * cluster with an empty ordered.log while its state machine was at the snapshot's gseq
 * (cluster_join, once idle commits stopped adding barrier entries after the snapshot). */
static int fsm_restore_hook(struct raft_fsm *rf, struct raft_buffer *buf)
{
	struct cp_node *n = (struct cp_node *)((char *)rf - offsetof(struct cp_node, fsm_hooks));
	int rc = cp_fsm_raft(n->fsm)->restore(rf, buf);

	if (rc == 0 && cp_olog_mark(&n->olog, cp_fsm_last_gseq(n->fsm)) < 0 && n->olog.fd >= 0)
		n->st.log_write_errors++;
	return rc;
}

/* The state machine as a restart rebuilds it: from its own snapshot (KV, watermarks, the
 * committed queue), so that what it waits for is asked again. The simulator's restart. */
int cp_node_fsm_reload(struct cp_node *n)
{
	struct cp_payload_provider pp = { .data = n, .get = cp_recovery_get, .want = cp_recovery_want,
					  .applied = pp_applied, .committed = pp_committed };
	struct cp_fsm_config fcfg;
	struct cp_fsm *f;
	size_t len;
	void *buf;
	int rc;

	if ((rc = cp_fsm_snapshot_save(n->fsm, &buf, &len)) < 0)
		return rc;
	cp_fsm_config_default(&fcfg);
	if ((rc = cp_fsm_create(&fcfg, &pp, &f)) < 0 || (rc = cp_fsm_snapshot_load(f, buf, len)) < 0) {
		free(buf);
		return rc;
	}
	free(buf);
	cp_fsm_destroy(n->fsm);
	n->fsm = f;
	n->fsm_hooks.data = cp_fsm_raft(f)->data; /* Raft holds &n->fsm_hooks */
	return 0;
}

int cp_node_init_core(struct cp_node *n)
{
	struct cp_payload_provider pp = { .data = n, .get = cp_recovery_get, .want = cp_recovery_want,
					  .applied = pp_applied, .committed = pp_committed };
	struct cp_fsm_config fcfg;
	struct cp_order_config ocfg;
	int rc;

	if (n->env.version != CP_ENV_VERSION)
		return -EPROTO;
	n->cfg_start_n = n->peers_sent_n = n->cfg.n_nodes; /* the dataplane's config has these */
	if (n->orig_cap < RUMOR_MSG_ORIGINATE_DATA || n->orig_cap > UINT16_MAX)
		n->orig_cap = RUMOR_MSG_ORIGINATE_DATA; /* the simulator's, or a default pool */
	if (!(n->sendbuf = malloc(n->orig_cap)))
		return -ENOMEM;
	n->clock_entries_max = n->cfg.n_nodes; /* cp_node_tick_slow widens it */
	n->aframe = malloc(sizeof(*n->aframe));
	n->aframe_slot = UINT32_MAX;
	n->ts = malloc(sizeof(*n->ts));
	n->ats = malloc(sizeof(*n->ats));
	n->applied_through = calloc(RUMOR_NODE_ID_MAX + 1, sizeof(uint64_t));
	n->recent = calloc(CP_RECENT, sizeof(*n->recent));
	for (int i = 0; i < 2; i++)
		n->snap_applied[i] = calloc(RUMOR_NODE_ID_MAX + 1, sizeof(uint64_t));
	n->gc_covered = calloc(RUMOR_NODE_ID_MAX + 1, sizeof(uint64_t));
	n->gcfloor_msg = malloc(CP_GCFLOOR_MSG_MAX);
	if (!n->aframe || !n->ts || !n->ats || !n->applied_through || !n->recent ||
	    !n->snap_applied[0] || !n->snap_applied[1] || !n->gc_covered ||
	    !n->gcfloor_msg)
		return -ENOMEM;
	if ((rc = cp_holder_init(n)) < 0 || (rc = cp_recovery_init(n)) < 0 ||
	    (rc = cp_subs_init(n)) < 0 || (rc = cp_leader_init(n)) < 0)
		return rc;

	cp_fsm_config_default(&fcfg);
	if ((rc = cp_fsm_create(&fcfg, &pp, &n->fsm)) < 0)
		return rc;
	cp_order_config_default(&ocfg);
	ocfg.batch_max_events = n->cfg.raft.batch_max_events;
	ocfg.batch_max_us = n->cfg.raft.batch_max_us;
	ocfg.gap_timeout_us = (uint64_t)n->cfg.raft.gap_timeout_ms * 1000u;
	ocfg.max_pending = n->cfg.dataplane.store_slots * 32u;
	ocfg.debug_flip_sort = CP_PLANTED(CP_PLANT_CAUSAL);
	ocfg.skip_needs_passes = true;
	ocfg.held_wait_us = 0; /* off: it stalled real clusters (controlplane/README.md) */
	if ((rc = cp_order_create(&ocfg, &n->order)) < 0)
		return rc;
	n->fsm_hooks = *cp_fsm_raft(n->fsm);
	n->fsm_hooks.snapshot = fsm_snapshot_hook;
	n->fsm_hooks.restore = fsm_restore_hook;
	return 0;
}
