/* rumor-cp node glue: dataplane records -> reports -> leader's order -> Raft -> state machine
 * -> ordered log, watchers, payload release. One io_uring loop, no threads. */
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

#include "rumor_be.h"
#include "cp_api.h"
#include "cp_fsm.h"
#include "cp_jsonl.h"
#include "cp_loop.h"
#include "cp_members.h"
#include "cp_metrics.h"
#include "cp_net.h"
#include "cp_node.h"
#include "cp_order.h"
#include "cp_plog.h"
#include "cp_reqids.h"
#include "cp_raftio.h"
#include "cp_repair.h"
#include "cp_view.h"

#define REPORT_FLUSH_BYTES (48u << 10)   /* one APP message */
#define REPORT_MAX_BYTES (4u << 20)      /* stop draining the dataplane beyond this */
#define APPLIES_INFLIGHT_MAX 8
#define PULL_RETRY_MS 300
#define REREPORT_AGE_MS 1500
#define REREPORT_WINDOW 8192   /* seqs per origin above what we applied */
/* A head held by a minority this long is sent on by a holder (cp_repair), at most once a
 * period: well under the gap timeout, well over a report's round trip. */
#define REPAIR_AFTER_US 100000
#define REPAIR_PERIOD_MS 100
#define REPAIR_MAX_SEQS 4096
#define REPAIR_RETRY_US 1000000   /* the same event is asked for again after this */
#define PREFETCH_MAX_BATCH 4096   /* missing events looked at per committed batch */
#define PREFETCH_MAX_HELD 65536   /* fetched payloads waiting to be applied, at most */
#define PREFETCH_BACKLOG 1024     /* committed, unapplied events that make a node prefetch */
#define PLOG_BUFFER_MAX (16u << 20)  /* appended, not yet durable: beyond it the dataplane waits */
#define PLOG_EAGER_BYTES (256u << 10) /* write at once past this even while bursts are full */
#define PLOG_BUSY_RECORDS 16          /* an fdatasync covering this many means load ... */
#define PLOG_BUSY_GAP_US 10000        /* ... and the next write waits this long after the last */

static_assert(CP_PLOG_ORIGIN_MAX == RUMOR_NODE_ID_MAX, "payload log indexes every origin");

#define LOG(n, fmt, ...) \
	fprintf(stderr, "rumor-cp[%u] " fmt "\n", (unsigned)(n)->self, ##__VA_ARGS__)

static uint64_t now_us(void)
{
	return cp_loop_now_us();
}

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
	int st = raft_state((struct raft *)&n->raft);
	return st >= 0 && st <= RAFT_LEADER ? names[st] : "?";
}

/* ---------------------------------------------------------------- dataplane messages */

static int dp_send(struct cp_node *n, struct rumor_msg *m)
{
	int rc = dp_client_send(&n->dp, m);
	if (rc < 0)
		dp_client_msg_free(&n->dp, m);
	return rc;
}

static int send_release(struct cp_node *n, const struct cp_release *r)
{
	struct rumor_msg *m;

	if (dp_client_msg_alloc(&n->dp, RUMOR_MSG_RELEASE, &m) < 0)
		return -ENOBUFS;
	m->u.release.slot = r->slot;
	m->u.release.origin = r->origin;
	m->u.release.first_seq = r->first_seq;
	m->u.release.ordered_through = n->applied_through[r->origin];
	if (dp_send(n, m) < 0)
		return -ENOBUFS;
	n->st.releases++;
	return 0;
}

/* Releases the ring did not take, in order: a dropped RELEASE leaked its slot for good. */
static void send_pending_releases(struct cp_node *n)
{
	while (n->rel_n && send_release(n, &n->rel[n->rel_head]) == 0) {
		n->rel_head = (n->rel_head + 1) % n->rel_cap;
		n->rel_n--;
	}
}

static void release_slot(struct cp_node *n, uint32_t slot, uint16_t origin, uint64_t first_seq)
{
	struct cp_release r = { .slot = slot, .origin = origin, .first_seq = first_seq };

	n->slot_frame[slot].frame = NULL;
	if (n->aframe_slot == slot)
		n->aframe_slot = UINT32_MAX;
	if (n->rel_n)
		send_pending_releases(n);
	if (!n->rel_n && send_release(n, &r) == 0)
		return;
	n->st.release_ring_full++;
	if (n->rel_n < n->rel_cap) /* one entry per slot at most: always room */
		n->rel[(n->rel_head + n->rel_n++) % n->rel_cap] = r;
}

static void send_pull(struct cp_node *n, uint16_t origin, uint64_t seq)
{
	struct rumor_msg *m;

	if (dp_client_msg_alloc(&n->dp, RUMOR_MSG_PULL, &m) < 0)
		return;
	m->u.pull.origin = origin;
	m->u.pull.first_seq = seq;
	m->u.pull.count = 1;
	m->u.pull.hint = 0;
	if (dp_send(n, m) == 0)
		n->st.pulls++;
}

/* ---------------------------------------------------------------- reports */

static void order_ingest(struct cp_node *n, const struct cp_report *r)
{
	n->st.reports_refused += cp_report_ingest(n->order, r, n->ts, now_us());
	n->st.reports_local++;
}

static void flush_reports(struct cp_node *n)
{
	struct iovec iov = { n->rep_buf, n->rep_len };
	int rc;

	if (!n->rep_len)
		return;
	if (!n->leader || n->leader == n->self) {
		/* nobody to tell: the periodic re-report covers what is still held */
		n->rep_len = 0;
		return;
	}
	rc = cp_net_send(cp_raftio_net(&n->io), n->leader, CP_NET_APP, CP_APP_REPORTS, &iov, 1,
			 NULL);
	if (rc == -EAGAIN) {
		n->st.report_backpressure++;
		return;
	}
	if (rc == 0) {
		n->st.reports_sent++;
		n->st.report_bytes += n->rep_len;
	}
	n->rep_len = 0;
}

static void report(struct cp_node *n, const struct cp_report *r)
{
	size_t need = cp_report_size(r);

	if (n->leading) {
		order_ingest(n, r);
		return;
	}
	if (n->rep_len + need > n->rep_cap) {
		flush_reports(n);
		if (n->rep_len + need > n->rep_cap) {
			size_t cap = n->rep_cap * 2;
			uint8_t *b = realloc(n->rep_buf, cap);
			if (!b)
				return;
			n->rep_buf = b;
			n->rep_cap = cap;
		}
	}
	int w = cp_report_encode(r, n->rep_buf + n->rep_len, n->rep_cap - n->rep_len);
	if (w > 0)
		n->rep_len += (size_t)w;
	if (n->rep_len >= REPORT_FLUSH_BYTES)
		flush_reports(n);
}

/* Report events [skip..count) of a decoded frame we hold. */
static void report_frame(struct cp_node *n, const struct rumor_wire_frame *f, uint16_t skip,
			 const struct rumor_vc *holder_clock)
{
	cp_report_from_frame(n->rep, f, skip, n->self, holder_clock);
	report(n, n->rep);
}

static void serve_fetch(struct cp_node *n, uint64_t from, const uint8_t *p, size_t len);
static void durable_reached(struct cp_node *n, uint64_t through);
static void plog_flush(struct cp_node *n);
static void retry_durable(struct cp_node *n, uint32_t slot);
static uint64_t seq_seen(struct cp_node *n, uint16_t origin);
static void set_seq_floor(struct cp_node *n, uint64_t floor);
static int plog_frame_load(struct cp_node *n, struct cp_plog_frame *pf, uint16_t origin,
			   uint64_t seq);

/* Holder side: hand each stored frame of the run to the dataplane for the named nodes. */
static void repair_serve(struct cp_node *n, const struct cp_repair *r)
{
	uint32_t last = UINT32_MAX;

	for (uint64_t s = r->first_seq; s <= r->last_seq; s++) {
		const struct cp_held_event *ev = cp_held_get(&n->held, r->origin, s);
		struct rumor_msg *m;

		if (!ev || ev->slot == last || !n->slot_frame[ev->slot].frame)
			continue;
		last = ev->slot;
		if (dp_client_msg_alloc(&n->dp, RUMOR_MSG_SEND_TO, &m) < 0)
			return; /* ring full: the leader asks again next period */
		m->u.send_to.slot = last;
		m->u.send_to.origin = r->origin;
		m->u.send_to.first_seq = n->slot_frame[last].first_seq;
		m->u.send_to.n = r->nto;
		memcpy(m->u.send_to.peer, r->to, r->nto * sizeof(r->to[0]));
		if (dp_send(n, m) < 0)
			return;
		n->st.repair_frames++;
	}
}

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
		repair_serve(n, &r);
		return;
	}
	if ((len = cp_repair_encode(&r, buf, sizeof(buf))) < 0)
		return;
	struct iovec iov = { buf, (size_t)len };
	cp_net_send(cp_raftio_net(&n->io), run->holder, CP_NET_APP, CP_APP_REPAIR, &iov, 1, NULL);
}

/* Issue 14: is our copy of (origin, seq) another event than @id? Then *@sender is the hop
 * sender that delivered it. */
static bool held_wrong(struct cp_node *n, uint16_t origin, uint64_t seq,
		       const struct rumor_event_id *id, uint16_t *sender)
{
	const struct cp_held_event *e = cp_held_get(&n->held, origin, seq);
	struct cp_plog_frame *pf = &n->serve_pf;

	if (e) {
		const struct cp_slot_frame *sf = &n->slot_frame[e->slot];
		*sender = sf->frame ? cp_report_frame_sender(sf->frame, sf->len) : 0;
		return !rumor_event_id_equal(&e->id, id);
	}
	if (plog_frame_load(n, pf, origin, seq) < 0)
		return false;
	*sender = pf->f->hdr.sender;
	return !rumor_event_id_equal(&pf->f->ev[seq - pf->first_seq].id, id);
}

static void forge_report(void *arg, const struct cp_report *r)
{
	report(arg, r);
}

/* The right payload of (origin, seq) fetched? A wrong copy (a forger answered) is dropped. */
static int forge_have(void *arg, uint16_t origin, uint64_t seq, const struct rumor_event_id *id)
{
	struct cp_node *n = arg;
	uint8_t *p;
	size_t len;

	if (!cp_fetch_have(&n->fetch, origin, seq))
		return 0;
	if (cp_fetch_get(&n->fetch, origin, seq, id, &p, &len) < 0) {
		cp_fetch_done(&n->fetch, origin, seq);
		return 0;
	}
	free(p); /* it stays in n->fetch for the apply */
	return 1;
}

static void forge_poll(struct cp_node *n)
{
	struct cp_forge_io io = { forge_have, forge_report, n };

	if (cp_forge_poll(&n->forge, &io, n->self, &n->last_clock, n->rep))
		flush_reports(n);
}

/* Holder side of CP_APP_WRONG_ID: count our copy, fetch the right one from the origin (it
 * holds it: it reported it), report it once it is here (cp_forge_poll on FETCH_RESP). */
static void on_wrong_id(struct cp_node *n, const uint8_t *p, size_t len)
{
	struct cp_report *r = n->rep;
	uint8_t req[CP_FETCH_REQ_LEN];
	struct iovec iov = { req, sizeof(req) };
	uint16_t sender = 0;

	for (size_t off = 0; off < len;) {
		int used = cp_report_decode(p + off, len - off, r);
		if (used < 0 || r->reporter != n->self || r->count != 1 || r->origin == n->self)
			return;
		off += (size_t)used;
		n->forge.notices++;
		if (held_wrong(n, r->origin, r->first_seq, &r->id[0], &sender))
			cp_forge_note(&n->forge, r->origin, r->first_seq, sender);
		cp_forge_want(&n->forge, r->origin, r->first_seq, &r->id[0], &r->timestamp,
			      cp_loop_now_ms());
		cp_fetch_req_encode(req, r->origin, r->first_seq, 1);
		cp_net_send(cp_raftio_net(&n->io), r->origin, CP_NET_APP, CP_APP_FETCH_REQ, &iov, 1,
			    NULL);
	}
	forge_poll(n);
}

/* Leader side: a holder reported another id than the origin's. */
static void on_wrong_holder(void *arg, const struct cp_order_notice *nt)
{
	struct cp_node *n = arg;
	struct cp_report *r = n->rep;
	uint8_t buf[512];
	int len;

	*r = (struct cp_report){ .origin = nt->origin, .reporter = nt->holder, .count = 1,
				 .first_seq = nt->seq, .timestamp = *nt->ts };
	r->id[0] = nt->id;
	rumor_vc_init(&r->holder_clock);
	if (nt->holder == n->self) {
		if ((len = cp_report_encode(r, buf, sizeof(buf))) > 0)
			on_wrong_id(n, buf, (size_t)len);
		return;
	}
	if ((len = cp_report_encode(r, buf, sizeof(buf))) < 0)
		return;
	struct iovec iov = { buf, (size_t)len };
	cp_net_send(cp_raftio_net(&n->io), nt->holder, CP_NET_APP, CP_APP_WRONG_ID, &iov, 1, NULL);
}

/* cp_tls: `from` is the id the sender's certificate names (or, insecure, what its HELLO
 * claimed). Raft's own idea of the leader, not n->leader: that is polled on the tick, and the
 * new leader's first message may come in the same iteration as its first heartbeat. */
static bool from_leader(struct cp_node *n, uint64_t from)
{
	raft_id lid;
	const char *laddr;

	raft_leader(&n->raft, &lid, &laddr);
	return lid != 0 && from == lid;
}

/* A view assignment counts only from the node that leads now. */
static bool app_view_allowed(struct cp_node *n, uint64_t from, const uint8_t *p, size_t len)
{
	struct rumor_view_msg m;

	if (rumor_view_msg_decode(p, len, &m) != 0 || m.type != RUMOR_VIEW_MSG_VIEW_ASSIGN ||
	    from_leader(n, from))
		return true; /* the rest is cp_view's to judge */
	cp_net_count_refused(cp_raftio_net(&n->io), CP_NET_REFUSED_VIEW, from);
	return false;
}

static void on_app(void *arg, uint64_t from, uint16_t type, const uint8_t *p, size_t len)
{
	struct cp_node *n = arg;
	size_t off = 0;

	if (type == CP_APP_VIEW) { /* cp_view hook */
		if (app_view_allowed(n, from, p, len)) /* cp_tls hook */
			cp_view_on_app(n, from, p, len);
		return;
	}
	if (type == CP_APP_FETCH_REQ) {
		serve_fetch(n, from, p, len);
		return;
	}
	if (type == CP_APP_REPAIR) {
		struct cp_repair r;
		if (!from_leader(n, from)) /* cp_tls hook: only the leader asks for repairs */
			cp_net_count_refused(cp_raftio_net(&n->io), CP_NET_REFUSED_REPAIR, from);
		else if (cp_repair_decode(p, len, &r) == 0)
			repair_serve(n, &r);
		else
			LOG(n, "bad repair request from node %" PRIu64, from);
		return;
	}
	if (type == CP_APP_SEQ_QUERY) {
		if (n->leading && from <= RUMOR_NODE_ID_MAX) {
			uint8_t msg[8];
			struct iovec iov = { msg, sizeof(msg) };
			rumor_be_st64(msg, seq_seen(n, (uint16_t)from));
			cp_net_send(cp_raftio_net(&n->io), from, CP_NET_APP, CP_APP_SEQ_REPLY, &iov, 1,
				    NULL);
		}
		return;
	}
	if (type == CP_APP_SEQ_REPLY) {
		if (len == 8 && from == n->leader && !n->seq_floor_known)
			set_seq_floor(n, rumor_be_ld64(p));
		return;
	}
	if (type == CP_APP_DURABLE) {
		if (len == 10 && rumor_be_ld16(p) == n->self && from == n->leader)
			durable_reached(n, rumor_be_ld64(p + 2));
		return;
	}
	if (type == CP_APP_FETCH_RESP) {
		if (cp_fetch_resp_take(&n->fetch, p, len) > 0) {
			forge_poll(n); /* issue 14 hook */
			cp_fsm_drain(n->fsm);
		}
		return;
	}
	if (type == CP_APP_WRONG_ID) { /* issue 14 hook: only the leader tells */
		if (from_leader(n, from))
			on_wrong_id(n, p, len);
		return;
	}
	if (type != CP_APP_REPORTS)
		return;
	if (!n->leading)
		return; /* stale: the sender will re-report to whoever leads */
	while (off < len) {
		int used = cp_report_decode(p + off, len - off, n->rep);
		if (used < 0) {
			LOG(n, "bad report from node %" PRIu64 ": %s", from, strerror(-used));
			return;
		}
		if (n->rep->reporter != from) { /* cp_tls hook: a node reports only for itself */
			cp_net_count_refused(cp_raftio_net(&n->io), CP_NET_REFUSED_REPORTER, from);
			return;
		}
		order_ingest(n, n->rep);
		off += (size_t)used;
	}
}

/* What the payload log holds above what we applied and the dataplane does not: after a
 * restart, the durable frames of the previous run (the dataplane's store may be empty). */
static void rereport_plog(struct cp_node *n, uint64_t window)
{
	struct cp_plog_frame *pf = &n->serve_pf;

	for (unsigned o = 1; o <= RUMOR_NODE_ID_MAX; o++) {
		uint64_t done = n->applied_through[o], s = done;
		while ((s = cp_plog_next_seq(n->plog, (uint16_t)o, s)) && s - done <= window) {
			if (cp_held_get(&n->held, (uint16_t)o, s))
				continue; /* the held path reports it once it is durable */
			/* not held, not applied: read back at load, so durable (a record still in
			 * flight always belongs to a held frame or to applied events) */
			if (plog_frame_load(n, pf, (uint16_t)o, s) < 0)
				break;
			report_frame(n, pf->f, (uint16_t)(s - pf->first_seq), &pf->f->clock);
			n->st.rereports++;
			s = pf->first_seq + pf->f->hdr.event_count - 1;
		}
	}
}

/* Re-report held, unapplied frames starting within @window seqs above what we applied:
 * all of them after a leader change, and periodically the order's next part, so that a report
 * lost with a connection is never lost for good (the order treats repeats as no-ops). */
static void rereport(struct cp_node *n, uint64_t window)
{
	for (uint32_t s = 0; s < n->held.n_slots; s++) {
		const struct cp_held_slot *hs = &n->held.slots[s];
		const struct cp_slot_frame *sf = &n->slot_frame[s];
		if (!hs->pending || !sf->frame)
			continue;
		if (!sf->durable) {
			/* refused by the payload log (full buffer, disk error): try again */
			if (!cp_plog_has(n->plog, hs->origin, hs->first_seq))
				retry_durable(n, s);
			continue;
		}
		uint64_t done = n->applied_through[hs->origin];
		if (done >= hs->last_seq || (hs->first_seq > done && hs->first_seq - done > window))
			continue;
		if (rumor_wire_decode_rumor(sf->frame, sf->len, n->cfg.cluster_id, 0, n->frame) < 0)
			continue;
		/* skip counts from the frame's first event, which we may hold only the tail of */
		uint16_t skip = done >= sf->first_seq ? (uint16_t)(done - sf->first_seq + 1) : 0;
		report_frame(n, n->frame, skip, &n->frame->clock);
		n->st.rereports++;
	}
	rereport_plog(n, window);
	flush_reports(n);
}

/* ---------------------------------------------------------------- the payload log */

/* Read the record holding (origin, seq) into @pf, unless @pf holds it already.
 * Returns 0, or -ENOENT / the read's error. */
static int plog_frame_load(struct cp_node *n, struct cp_plog_frame *pf, uint16_t origin,
			   uint64_t seq)
{
	uint64_t first;
	int len;

	if (pf->origin == origin && seq >= pf->first_seq &&
	    seq < pf->first_seq + pf->f->hdr.event_count)
		return 0;
	pf->origin = 0;
	if (!cp_plog_has(n->plog, origin, seq))
		return -ENOENT;
	n->st.plog_reads++;
	len = cp_plog_read(n->plog, origin, seq, pf->buf, CP_PLOG_MAX_FRAME, &first);
	if (len < 0 || rumor_wire_decode_rumor(pf->buf, (size_t)len, n->cfg.cluster_id, 0,
					       pf->f) < 0 ||
	    pf->f->hdr.origin != origin || pf->f->hdr.first_seq != first ||
	    seq - first >= pf->f->hdr.event_count) {
		n->st.plog_read_errors++;
		return len < 0 ? len : -EBADMSG;
	}
	pf->origin = origin;
	pf->first_seq = first;
	return 0;
}

/* A frame is reported only once its record is on disk: the leader counts durable holders. */
static void hold_durably(struct cp_node *n, const struct rumor_msg_new_frame *nf,
			 const struct rumor_wire_frame *f, uint16_t skip)
{
	int64_t t = cp_plog_append(n->plog, f->hdr.origin, f->hdr.first_seq, f->hdr.event_count,
				   nf->frame, nf->frame_len);
	bool pulled = nf->flags & RUMOR_NEW_FRAME_PULLED;

	if (t < 0) {
		/* kept in memory (applied from there if others order it), never counted as ours */
		if (n->st.plog_refused++ % 4096 == 0)
			LOG(n, "payload log refused a frame of origin %u: %s", f->hdr.origin,
			    strerror((int)-t));
		return;
	}
	if (t == 0) { /* its events are durable already (a frame announced again) */
		n->slot_frame[nf->slot].durable = true;
		report_frame(n, f, skip, pulled ? &f->clock : &nf->holder_clock);
		return;
	}
	if (n->pend_n == n->pend_cap) { /* cannot happen: one entry per store slot at most */
		n->st.plog_refused++;
		return;
	}
	n->pend[(n->pend_head + n->pend_n++) % n->pend_cap] = (struct cp_pending_report){
		.ticket = (uint64_t)t, .first_seq = f->hdr.first_seq, .slot = nf->slot,
		.origin = f->hdr.origin, .pulled = pulled };
}

/* A held frame the payload log refused before: append it again. */
static void retry_durable(struct cp_node *n, uint32_t slot)
{
	const struct cp_slot_frame *sf = &n->slot_frame[slot];
	struct rumor_msg_new_frame nf = { .slot = slot, .frame = sf->frame, .frame_len = sf->len,
					  .holder_clock = n->last_clock };

	if (rumor_wire_decode_rumor(sf->frame, sf->len, n->cfg.cluster_id, 0, n->frame) < 0)
		return;
	uint64_t done = n->applied_through[n->frame->hdr.origin];
	uint16_t skip = done >= sf->first_seq ? (uint16_t)(done - sf->first_seq + 1) : 0;
	if (skip < n->frame->hdr.event_count)
		hold_durably(n, &nf, n->frame, skip);
}

/* Records through @ticket are on disk: report their frames (those not applied meanwhile). */
static void on_plog_durable(void *arg, uint64_t ticket)
{
	struct cp_node *n = arg;

	n->plog_last_batch = ticket - n->plog_durable;
	n->plog_durable = ticket;

	while (n->pend_n && n->pend[n->pend_head].ticket <= ticket) {
		struct cp_pending_report p = n->pend[n->pend_head];
		struct cp_slot_frame *sf = &n->slot_frame[p.slot];
		n->pend_head = (n->pend_head + 1) % n->pend_cap;
		n->pend_n--;
		if (!sf->frame || sf->first_seq != p.first_seq ||
		    n->held.slots[p.slot].origin != p.origin)
			continue; /* applied and released before its fsync completed */
		sf->durable = true;
		if (rumor_wire_decode_rumor(sf->frame, sf->len, n->cfg.cluster_id, 0, n->frame) < 0)
			continue;
		uint64_t done = n->applied_through[p.origin];
		uint16_t cnt = n->frame->hdr.event_count, skip = 0;
		if (done >= p.first_seq)
			skip = done - p.first_seq + 1 >= cnt ? cnt : (uint16_t)(done - p.first_seq + 1);
		if (skip < cnt)
			report_frame(n, n->frame, skip, p.pulled ? &n->frame->clock : &n->last_clock);
	}
	flush_reports(n);
	plog_flush(n); /* what was appended meanwhile (paced under load) */
}

static void plog_note(void *arg, const char *msg)
{
	LOG((struct cp_node *)arg, "%s", msg);
}

/* ---------------------------------------------------------------- dataplane records */

static void notify_gossip(struct cp_node *n, const struct rumor_wire_frame *f)
{
	for (struct cp_watcher *w = n->watchers; w; w = w->next) {
		if (!w->gossip)
			continue;
		for (uint16_t i = 0; i < f->hdr.event_count && w->client; i++) {
			char hex[33];
			rumor_event_id_hex(&f->ev[i].id, hex);
			json_t *e = json_pack("{s:i, s:I, s:s, s:o, s:o}", "origin", f->hdr.origin,
					      "seq", (json_int_t)(f->hdr.first_seq + i), "id", hex,
					      "clock", cp_node_clock_json(&f->clock), "data",
					      cp_node_payload_json(f->ev[i].payload, f->ev[i].len));
			cp_api_reply(w->client, json_pack("{s:s, s:o}", "stream", "gossip", "event", e));
		}
	}
}

static void on_new_frame(struct cp_node *n, const struct rumor_msg_new_frame *nf)
{
	struct rumor_wire_frame *f = n->frame;
	struct cp_held_event ev[RUMOR_WIRE_MAX_EVENTS];
	uint16_t skip = 0;
	int rc;

	n->st.frames++;
	n->last_clock = nf->holder_clock;
	rc = rumor_wire_decode_rumor(nf->frame, nf->frame_len, n->cfg.cluster_id, 0, f);
	if (rc < 0 || nf->slot >= n->held.n_slots) {
		n->st.frames_bad++;
		LOG(n, "dataplane record slot %u undecodable: %s", nf->slot, rumor_wire_strerror(rc));
		return;
	}
	uint64_t done = n->applied_through[f->hdr.origin];
	if (done >= f->hdr.first_seq)
		skip = done >= f->hdr.first_seq + f->hdr.event_count - 1 ?
			       f->hdr.event_count : (uint16_t)(done - f->hdr.first_seq + 1);
	if (skip == f->hdr.event_count) {
		n->st.events_known += skip;
		release_slot(n, nf->slot, f->hdr.origin, f->hdr.first_seq);
		return;
	}
	for (uint16_t i = skip; i < f->hdr.event_count; i++)
		ev[i] = (struct cp_held_event){ .len = f->ev[i].len, .payload = f->ev[i].payload,
						.id = f->ev[i].id };
	rc = cp_held_add_frame(&n->held, nf->slot, f->hdr.origin, f->hdr.first_seq + skip,
			       (uint16_t)(f->hdr.event_count - skip), ev + skip);
	if (rc == -EBUSY) {
		/* the same frame announced twice (queued before we attached, then again by our
		 * RESYNC): we already hold its events, and releasing the slot now would let the
		 * dataplane reuse memory our held events still point into */
		n->st.frames_dup_announce++;
		return;
	}
	if (rc <= 0) {
		if (rc < 0)
			n->st.held_full++;
		else
			n->st.events_known += f->hdr.event_count;
		/* nothing of it is kept: if the order needs it, the apply pulls it */
		release_slot(n, nf->slot, f->hdr.origin, f->hdr.first_seq);
		return;
	}
	n->slot_frame[nf->slot] = (struct cp_slot_frame){ nf->frame, nf->frame_len,
							  f->hdr.first_seq, false };
	n->st.events_new += (uint64_t)rc;
	hold_durably(n, nf, f, skip);
	notify_gossip(n, f);
}

/* Reply to a send, with the client's tag when it gave one. */
static void reply_tagged(struct cp_api_client *c, json_t *r, bool has_tag, int64_t tag)
{
	if (has_tag)
		json_object_set_new(r, "tag", json_integer(tag));
	cp_api_reply(c, r);
}

/* Our events through @through are on a majority's disks (the leader said so, or they were
 * applied): answer the clients that asked for "durable". */
/* The highest seq of @origin this node knows of: ordered, in its payload log, reported to
 * it while leading. */
static uint64_t seq_seen(struct cp_node *n, uint16_t origin)
{
	uint64_t s = cp_fsm_watermark(n->fsm, origin);
	struct cp_order_origin_info oi;

	if (cp_plog_max_seq(n->plog, origin) > s)
		s = cp_plog_max_seq(n->plog, origin);
	if (n->applied_through[origin] > s)
		s = n->applied_through[origin];
	if (n->leading && cp_order_origin_info(n->order, origin, &oi) == 0 && oi.max_seq > s)
		s = oi.max_seq;
	return s;
}

/* Originations that waited for the floor, in the order they came (after the floor itself:
 * the ring keeps order). What the ring does not take waits for the next tick. */
static void send_parked(struct cp_node *n)
{
	unsigned i = 0;

	while (i < n->parked_n && dp_client_send(&n->dp, n->parked[i]) == 0)
		i++;
	memmove(n->parked, n->parked + i, (n->parked_n - i) * sizeof(n->parked[0]));
	n->parked_n -= i;
}

/* Originations wait until the dataplane stamps above every seq the cluster has seen from
 * us: a node whose state dir was wiped would otherwise stamp seq 1 again. */
static void set_seq_floor(struct cp_node *n, uint64_t floor)
{
	struct rumor_msg *m;

	if (floor < seq_seen(n, n->self))
		floor = seq_seen(n, n->self);
	if (dp_client_msg_alloc(&n->dp, RUMOR_MSG_SEQ_FLOOR, &m) < 0)
		return; /* ring full: asked again */
	m->u.seq_floor.floor = floor;
	if (dp_send(n, m) < 0)
		return;
	n->seq_floor = floor;
	n->seq_floor_known = true;
	LOG(n, "originating above seq %" PRIu64, floor);
	send_parked(n);
}

static void learn_seq_floor(struct cp_node *n, uint64_t now_ms)
{
	if (n->seq_floor_known || !n->leader || !n->dp_alive)
		return;
	if (n->leading) {
		/* after one re-report round of the followers, the order has seen what they hold */
		if (now_ms - n->leading_since_ms >= 2 * PULL_RETRY_MS)
			set_seq_floor(n, 0);
		return;
	}
	if (now_ms - n->seq_query_ms < PULL_RETRY_MS)
		return;
	n->seq_query_ms = now_ms;
	struct iovec iov = { NULL, 0 };
	cp_net_send(cp_raftio_net(&n->io), n->leader, CP_NET_APP, CP_APP_SEQ_QUERY, &iov, 0, NULL);
}

static void durable_reached(struct cp_node *n, uint64_t through)
{
	if (through > n->durable_through)
		n->durable_through = through;
	while (n->dwaiters && n->dwaiters->seq <= n->durable_through) {
		struct cp_waiter *w = n->dwaiters;
		char hex[33];
		n->dwaiters = w->next;
		if (!n->dwaiters)
			n->dwaiters_tail = &n->dwaiters;
		if (w->client) {
			cp_metrics_observe(n->metrics, CP_ACK_DURABLE, w->t0_us, cp_loop_now_us());
			rumor_event_id_hex(&w->id, hex);
			reply_tagged(w->client,
				     json_pack("{s:b, s:s, s:s, s:i, s:I, s:I}", "ok", 1, "ack", "durable",
					       "id", hex, "origin", n->self, "first_seq",
					       (json_int_t)w->first_seq, "seq", (json_int_t)w->seq),
				     w->has_tag, w->tag);
		}
		free(w);
	}
}

/* Leader: tell each origin how far its events are held by a majority (ready, cut or
 * ordered: each needs a majority of durable holders). */
static void announce_durable(struct cp_node *n)
{
	const struct raft_configuration *c = &n->raft.configuration;

	for (unsigned i = 0; i < c->n; i++) {
		struct cp_order_origin_info oi;
		uint16_t o = (uint16_t)c->servers[i].id;
		if (o > RUMOR_NODE_ID_MAX || cp_order_origin_info(n->order, o, &oi) < 0 ||
		    oi.ready_through <= n->durable_sent[o])
			continue;
		if (o == n->self) {
			n->durable_sent[o] = oi.ready_through;
			durable_reached(n, oi.ready_through);
			continue;
		}
		uint8_t msg[10];
		struct iovec iov = { msg, sizeof(msg) };
		rumor_be_st16(msg, o);
		rumor_be_st64(msg + 2, oi.ready_through);
		if (cp_net_send(cp_raftio_net(&n->io), o, CP_NET_APP, CP_APP_DURABLE, &iov, 1,
				NULL) == 0)
			n->durable_sent[o] = oi.ready_through;
	}
}

static void orig_stamped(struct cp_node *n, struct cp_orig *o, uint64_t first_seq);

/* Waiter lists are answered from the head by seq: keep them sorted. New events come in seq
 * order (an append); a retry's waiter for an older event goes where its seq belongs, or it
 * would be answered "skipped" when a later event is applied. */
static void waiter_insert(struct cp_waiter **head, struct cp_waiter ***tail, struct cp_waiter *w)
{
	struct cp_waiter **pp = head;

	if (*head && (*tail != head) && w->seq < ((struct cp_waiter *)((char *)*tail -
			offsetof(struct cp_waiter, next)))->seq)
		while (*pp && (*pp)->seq <= w->seq)
			pp = &(*pp)->next;
	else
		pp = *tail;
	w->next = *pp;
	*pp = w;
	if (!w->next)
		*tail = &w->next;
}

static void on_originate_ack(struct cp_node *n, const struct rumor_msg_originate_ack *a)
{
	struct cp_orig **pp = &n->origs, *o;
	struct cp_reqid_rec *rec;

	while (*pp && (*pp)->req_id != a->req_id)
		pp = &(*pp)->next;
	if (!(o = *pp))
		return;
	*pp = o->next;
	if (a->status < 0) {
		n->st.originate_refused++;
		if (o->reqid[0] && (rec = cp_reqids_find(&n->reqids, o->reqid)))
			rec->state = CP_REQID_FAILED; /* nothing was made: a retry may try again */
		if (o->client) {
			char msg[160];
			snprintf(msg, sizeof(msg), "dataplane refused the events: %s%s",
				 strerror(-a->status), a->status == -ENOSPC ?
				 " (event store or origin window full, retry later)" : "");
			reply_tagged(o->client, json_pack("{s:b, s:s}", "ok", 0, "error", msg),
				     o->has_tag, o->tag);
		}
		free(o);
		return;
	}
	n->st.originated += a->count;
	if (o->reqid[0] && (rec = cp_reqids_find(&n->reqids, o->reqid))) {
		rec->state = CP_REQID_STAMPED;
		rec->first_seq = a->first_seq;
		rec->count = a->count;
	}
	orig_stamped(n, o, a->first_seq);
}

/* @o's events were stamped from @first_seq: answer "stamped" now, or queue the waiter of its
 * last event for "durable" or "applied". Frees @o. */
static void orig_stamped(struct cp_node *n, struct cp_orig *o, uint64_t first_seq)
{
	const struct { uint64_t first_seq; uint16_t count; } ack = { first_seq, o->count },
							       *a = &ack;

	if (o->client && o->ack == CP_ACK_STAMPED)
		cp_metrics_observe(n->metrics, CP_ACK_STAMPED, o->t0_us, cp_loop_now_us());
	if (o->client && o->ack == CP_ACK_STAMPED && !o->ids) {
		reply_tagged(o->client, json_pack("{s:b, s:i, s:I, s:i}", "ok", 1, "origin", n->self,
						  "first_seq", (json_int_t)a->first_seq, "count",
						  a->count),
			     o->has_tag, o->tag);
		free(o);
		return;
	}
	json_t *ids = json_array();
	size_t off = 0;
	for (uint16_t i = 0; i < o->count && off + 2 <= o->data_len; i++) {
		uint16_t len = (uint16_t)(o->data[off] | o->data[off + 1] << 8);
		struct rumor_event_id id;
		char hex[33];
		rumor_event_id_compute(n->self, a->first_seq + i, o->data + off + 2, len, &id);
		rumor_event_id_hex(&id, hex);
		json_array_append_new(ids, json_string(hex));
		off += 2u + len;
		if (o->ack != CP_ACK_STAMPED && o->client && i + 1 == o->count) {
			struct cp_waiter *w = calloc(1, sizeof(*w));
			if (!w) {
				reply_tagged(o->client, json_pack("{s:b, s:s}", "ok", 0, "error",
								  "out of memory: outcome unknown"),
					     o->has_tag, o->tag);
				break;
			}
			w->seq = a->first_seq + i;
			w->first_seq = a->first_seq;
			w->client = o->client;
			w->id = id;
			w->has_tag = o->has_tag;
			w->tag = o->tag;
			w->t0_us = o->t0_us;
			if (o->ack == CP_ACK_APPLIED)
				waiter_insert(&n->waiters, &n->waiters_tail, w);
			else
				waiter_insert(&n->dwaiters, &n->dwaiters_tail, w);
		}
	}
	if (o->client && o->ack == CP_ACK_STAMPED) {
		reply_tagged(o->client, json_pack("{s:b, s:i, s:I, s:o}", "ok", 1, "origin", n->self,
						  "first_seq", (json_int_t)a->first_seq, "ids", ids),
			     o->has_tag, o->tag);
	} else
		json_decref(ids);
	free(o);
}

/* A retry of a request that was stamped already: its first outcome, never a second event. */
static int answer_retry(struct cp_node *n, struct cp_api_client *client,
			const struct cp_send_opts *opt, const struct cp_reqid_rec *rec,
			const uint8_t *data, uint16_t data_len, uint16_t count)
{
	uint64_t last = rec->first_seq + rec->count - 1;

	if (count != rec->count)
		return -EEXIST; /* the same request id with other events */
	if (opt->ack == CP_ACK_APPLIED && rec->outcome != CP_REQID_PENDING) {
		json_t *r;
		if (rec->outcome == CP_REQID_APPLIED) {
			struct rumor_event_id id;
			char hex[33];
			size_t off = 0;
			for (uint16_t i = 0; i + 1 < count; i++)
				off += 2u + (uint16_t)(data[off] | data[off + 1] << 8);
			uint16_t len = (uint16_t)(data[off] | data[off + 1] << 8);
			if (off + 2u + len > data_len)
				return -EINVAL;
			rumor_event_id_compute(n->self, last, data + off + 2, len, &id);
			rumor_event_id_hex(&id, hex);
			r = json_pack("{s:b, s:s, s:i, s:I, s:I, s:b}", "ok", 1, "id", hex, "origin",
				      n->self, "seq", (json_int_t)last, "gseq", (json_int_t)rec->gseq,
				      "retry", 1);
		} else {
			r = json_pack("{s:b, s:s, s:b}", "ok", 0, "error",
				      rec->outcome == CP_REQID_UNKNOWN ?
				      "outcome unknown: this node installed a snapshot past it" :
				      "this request's event was skipped or rejected", "unknown",
				      rec->outcome == CP_REQID_UNKNOWN);
		}
		reply_tagged(client, r, opt->has_tag, opt->tag);
		return 0;
	}
	struct cp_orig *o = malloc(sizeof(*o) + data_len);
	if (!o)
		return -ENOMEM;
	*o = (struct cp_orig){ .client = client, .ack = opt->ack, .ids = opt->ids,
			       .has_tag = opt->has_tag, .tag = opt->tag, .count = count,
			       .data_len = data_len, .t0_us = cp_loop_now_us() };
	memcpy(o->data, data, data_len);
	n->st.send_retries++;
	orig_stamped(n, o, rec->first_seq);
	durable_reached(n, 0); /* a durable waiter of events durable already answers at once */
	return 0;
}

int cp_node_originate(struct cp_node *n, struct cp_api_client *client,
		      const struct cp_send_opts *opt, const uint8_t *data, uint16_t data_len,
		      uint16_t count)
{
	struct rumor_msg *m;
	struct cp_orig *o;

	if (!n->dp_alive)
		return -ENOTCONN;
	struct cp_reqid_rec *rec = NULL;
	if (opt->reqid && opt->reqid[0]) {
		if (strlen(opt->reqid) > CP_REQID_MAX)
			return -ENAMETOOLONG;
		rec = cp_reqids_find(&n->reqids, opt->reqid);
		if (rec && rec->state == CP_REQID_INFLIGHT)
			return -EINPROGRESS;
		if (rec && rec->state == CP_REQID_STAMPED)
			return answer_retry(n, client, opt, rec, data, data_len, count);
	}
	bool park = !n->seq_floor_known || n->parked_n; /* behind earlier parked ones */
	if (park && n->parked_n == CP_PARKED_MAX)
		return -EAGAIN;
	if (cp_plog_error(n->plog) < 0)
		return cp_plog_error(n->plog); /* -ENOSPC: disk full; nothing accepted is lost */
	if (n->disk_low)
		return -ENOSPC;
	if (data_len > RUMOR_MSG_ORIGINATE_DATA)
		return -EMSGSIZE;
	if (dp_client_msg_alloc(&n->dp, RUMOR_MSG_ORIGINATE, &m) < 0)
		return -ENOBUFS;
	o = malloc(sizeof(*o) + data_len);
	if (!o) {
		dp_client_msg_free(&n->dp, m);
		return -ENOMEM;
	}
	*o = (struct cp_orig){ .req_id = ++n->next_req, .client = client, .ack = opt->ack,
			       .ids = opt->ids, .has_tag = opt->has_tag, .tag = opt->tag,
			       .count = count, .data_len = data_len, .t0_us = cp_loop_now_us() };
	memcpy(o->data, data, data_len);
	if (opt->reqid && opt->reqid[0]) {
		if (!rec && !(rec = cp_reqids_add(&n->reqids, opt->reqid))) {
			dp_client_msg_free(&n->dp, m);
			free(o);
			return -ENOMEM;
		}
		rec->state = CP_REQID_INFLIGHT;
		strcpy(o->reqid, opt->reqid);
	}
	m->u.originate.req_id = o->req_id;
	m->u.originate.count = count;
	m->u.originate.data_len = data_len;
	memcpy(m->u.originate.data, data, data_len);
	if (park)
		n->parked[n->parked_n++] = m; /* sent once the dataplane stamps above the floor */
	else if (dp_send(n, m) < 0) {
		free(o);
		return -ENOBUFS;
	}
	o->next = n->origs;
	n->origs = o;
	return 0;
}

/* Start the payload log's next write. Under load (the last fdatasync covered many records)
 * writes start at most every PLOG_BUSY_GAP_US, so that each fdatasync covers more: every one
 * costs kernel time (ext4 journal) on cores the whole node shares. A light load writes at
 * once: a lone event's durability waits for nothing but its own fdatasync. */
static void plog_flush(struct cp_node *n)
{
	uint64_t now = cp_loop_now_us();

	if (n->plog_last_batch >= PLOG_BUSY_RECORDS && now - n->plog_flush_us < PLOG_BUSY_GAP_US)
		return; /* the 1 ms tick comes back */
	n->plog_flush_us = now;
	cp_plog_flush(n->plog);
}

/* The dataplane asks for a slot held unordered past its age bound (RUMOR_MSG_EXPIRE). Give
 * it back only when the payload log has the frame (the apply, fetches and re-reports read
 * it there, as after a restart): then nothing we still report or need points into it. A
 * frame only in memory is kept; the dataplane asks again later. */
static void on_expire(struct cp_node *n, const struct rumor_msg_release *e)
{
	if (e->slot >= n->held.n_slots)
		return;
	const struct cp_held_slot *hs = &n->held.slots[e->slot];
	const struct cp_slot_frame *sf = &n->slot_frame[e->slot];
	if (!hs->pending || hs->origin != e->origin || !sf->frame || sf->first_seq != e->first_seq ||
	    !sf->durable || !cp_plog_has(n->plog, hs->origin, hs->last_seq))
		return; /* released already (a RELEASE is on its way), or still needed here */
	uint64_t first = hs->first_seq, last = hs->last_seq;
	uint32_t rel;
	for (uint64_t s = first; s <= last; s++) {
		const struct cp_held_event *h = cp_held_get(&n->held, e->origin, s);
		if (h && h->slot == e->slot && cp_held_done_at(&n->held, h, &rel) == 1) {
			release_slot(n, rel, e->origin, e->first_seq);
			break;
		}
	}
}

static unsigned poll_dataplane(void *arg)
{
	struct cp_node *n = arg;
	struct rumor_msg *msgs[64];
	unsigned got, i;

	if (n->rep_len >= REPORT_MAX_BYTES) {
		/* the leader is not keeping up: push back on the dataplane instead of buffering */
		flush_reports(n);
		return 0;
	}
	struct cp_plog_stats ps;
	cp_plog_stats(n->plog, &ps);
	if (ps.buffered_bytes >= PLOG_BUFFER_MAX / 2) {
		cp_plog_flush(n->plog); /* the disk is behind: leave frames in the dataplane */
		return 0;
	}
	got = dp_client_recv_burst(&n->dp, msgs, 64);
	for (i = 0; i < got; i++) {
		switch (msgs[i]->type) {
		case RUMOR_MSG_NEW_FRAME:
			on_new_frame(n, &msgs[i]->u.new_frame);
			break;
		case RUMOR_MSG_ORIGINATE_ACK:
			on_originate_ack(n, &msgs[i]->u.originate_ack);
			break;
		case RUMOR_MSG_PULL_FAILED:
			n->st.pulls_failed++;
			break;
		case RUMOR_MSG_EXPIRE:
			on_expire(n, &msgs[i]->u.release);
			break;
		default:
			LOG(n, "unexpected dataplane message type %u", msgs[i]->type);
		}
	}
	if (got) {
		dp_client_msg_free_bulk(&n->dp, msgs, got);
		/* Group commit by what accumulated: a full burst means more frames wait in the
		 * ring, so their fdatasync is shared unless enough is buffered already; a partial
		 * burst (the ring is empty) writes at once. Every fdatasync costs kernel time
		 * (ext4 journal) on a box that every process shares. */
		if ((got < 64 || ps.buffered_bytes >= PLOG_EAGER_BYTES))
			plog_flush(n);
		cp_fsm_drain(n->fsm);
	}
	flush_reports(n);
	return got;
}

/* ---------------------------------------------------------------- state machine hooks */

static int pp_get(void *data, uint16_t origin, uint64_t seq, const struct rumor_event_id *id,
		  const void **payload, size_t *len)
{
	struct cp_node *n = data;
	const struct cp_held_event *e = cp_held_get(&n->held, origin, seq);

	if (e && rumor_event_id_equal(&e->id, id)) {
		*payload = e->payload;
		*len = e->len;
		return 0;
	}
	if (e) /* issue 14: our copy is not the event its origin reported */
		cp_forge_note(&n->forge, origin, seq, n->slot_frame[e->slot].frame ?
			      cp_report_frame_sender(n->slot_frame[e->slot].frame,
						     n->slot_frame[e->slot].len) : 0);
	/* not in the dataplane's store (a replay after a restart, a released frame): our payload
	 * log, else a peer's answer */
	struct cp_plog_frame *pf = &n->apply_pf;
	if (plog_frame_load(n, pf, origin, seq) == 0) {
		const struct rumor_wire_event *ev = &pf->f->ev[seq - pf->first_seq];
		if (rumor_event_id_equal(&ev->id, id)) {
			*payload = ev->payload;
			*len = ev->len;
			return 0;
		}
		cp_forge_note(&n->forge, origin, seq, pf->f->hdr.sender); /* issue 14 */
	}
	uint8_t *p;
	if (cp_fetch_get(&n->fetch, origin, seq, id, &p, len) < 0) {
		if (cp_fetch_have(&n->fetch, origin, seq)) /* a wrong copy must not block the right */
			cp_fetch_done(&n->fetch, origin, seq);
		return -EAGAIN;
	}
	free(n->fetch_tmp);
	n->fetch_tmp = p;
	*payload = p;
	return 0;
}

/* Ask one peer (the leader first, then the others in turn) for origin's payloads from seq. */
static void send_fetch(struct cp_node *n, uint16_t origin, uint64_t seq, uint16_t count)
{
	uint8_t req[CP_FETCH_REQ_LEN];
	struct iovec iov = { req, sizeof(req) };
	uint16_t to = 0;

	if (n->leader && n->leader != n->self && n->fetch_rr % 2 == 0)
		to = (uint16_t)n->leader;
	for (unsigned k = 0; !to && k < n->cfg.n_nodes; k++) {
		const struct rumor_node_conf *nc = &n->cfg.nodes[(n->fetch_rr / 2 + k) % n->cfg.n_nodes];
		if (nc->id != n->self)
			to = nc->id;
	}
	n->fetch_rr++;
	if (!to)
		return;
	cp_fetch_req_encode(req, origin, seq, count);
	if (cp_net_send(cp_raftio_net(&n->io), to, CP_NET_APP, CP_APP_FETCH_REQ, &iov, 1,
			NULL) == 0)
		n->st.fetches_sent++;
}

static void fetch_resp_send(struct cp_node *n, uint64_t to, uint8_t *buf, size_t len)
{
	struct iovec iov = { buf, len };

	if (cp_net_send(cp_raftio_net(&n->io), to, CP_NET_APP, CP_APP_FETCH_RESP, &iov, 1,
			NULL) == 0)
		n->st.fetch_served++;
}

static void serve_fetch(struct cp_node *n, uint64_t from, const uint8_t *p, size_t len)
{
	uint16_t origin, count;
	uint64_t seq;
	uint8_t *buf;
	size_t off = 0;

	if (cp_fetch_req_decode(p, len, &origin, &seq, &count) < 0)
		return;
	buf = malloc(CP_FETCH_RESP_MAX);
	if (!buf)
		return;
	uint32_t decoded = UINT32_MAX; /* slot whose frame n->frame holds: events share frames */
	for (uint64_t s = seq; s < seq + count; s++) {
		const struct cp_held_event *e = cp_held_get(&n->held, origin, s);
		int w = -1;
		if (e) {
			char clock[256] = "";
			const struct cp_slot_frame *sf = &n->slot_frame[e->slot];
			if (decoded != e->slot && sf->frame &&
			    rumor_wire_decode_rumor(sf->frame, sf->len, n->cfg.cluster_id, 0,
						    n->frame) == 0)
				decoded = e->slot;
			if (decoded == e->slot) {
				rumor_vc_set(&n->frame->clock, origin, s);
				rumor_vc_format(&n->frame->clock, clock, sizeof(clock));
			}
			w = cp_fetch_resp_add(buf + off, CP_FETCH_RESP_MAX - off, origin, s, &e->id,
					      e->payload, e->len, clock);
		} else if (plog_frame_load(n, &n->serve_pf, origin, s) == 0) {
			/* released here: the payload log has it */
			struct cp_plog_frame *pf = &n->serve_pf;
			const struct rumor_wire_event *ev = &pf->f->ev[s - pf->first_seq];
			struct rumor_vc ts = pf->f->clock;
			char clock[256];
			rumor_vc_set(&ts, origin, s);
			rumor_vc_format(&ts, clock, sizeof(clock));
			w = cp_fetch_resp_add(buf + off, CP_FETCH_RESP_MAX - off, origin, s, &ev->id,
					      ev->payload, ev->len, clock);
		}
		if (w == -ENOBUFS && off) {
			/* a range of large payloads spans several responses */
			fetch_resp_send(n, from, buf, off);
			off = 0;
			s--;
			continue;
		}
		if (w > 0)
			off += (size_t)w;
	}
	if (off)
		fetch_resp_send(n, from, buf, off);
	free(buf);
}

static void pp_want(void *data, uint16_t origin, uint64_t seq, const struct rumor_event_id *id)
{
	struct cp_node *n = data;

	n->want_id = *id;
	n->want_first_ms = cp_loop_now_ms();
	n->want_origin = origin;
	n->want_seq = seq;
	n->want_since_ms = cp_loop_now_ms();
	send_pull(n, origin, seq);
	send_fetch(n, origin, seq, CP_FETCH_MAX_RANGE);
}

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

static void notify_applied(struct cp_node *n, const struct cp_fsm_entry *e, const char *clock,
			   const char *hex)
{
	struct cp_jsonl *l = &n->line;
	bool formatted = false;

	for (struct cp_watcher *w = n->watchers; w; w = w->next) {
		if (!w->client || (w->origin && w->origin != e->origin))
			continue;
		if (!formatted) {
			/* one line for every watcher */
			cp_jsonl_reset(l);
			static const char head[] = "{\"stream\":\"ordered\",\"event\":";
			cp_jsonl_raw(l, head, sizeof(head) - 1);
			if (e->kind == CP_BATCH_REJECT)
				cp_members_reject_jsonl(l, e, hex);
			else if (e->kind == CP_BATCH_SKIP)
				cp_jsonl_skip(l, e->gseq, e->origin, e->seq, e->seq_last);
			else
				cp_jsonl_event(l, e->gseq, e->origin, e->seq, hex,
					       clock[0] ? "clock_text" : NULL, clock, false,
					       e->payload, e->len);
			cp_jsonl_raw(l, "}", 1);
			formatted = true;
		}
		if (!l->oom)
			cp_api_reply_line(w->client, l->p, l->len);
	}
	if (e->origin == n->self) {
		durable_reached(n, e->seq_last); /* applied implies durable at a majority */
		cp_reqids_applied(&n->reqids, e->seq_last, e->gseq, e->kind == CP_BATCH_EVENT);
	}
	/* a skip answers every waiter of its range at once */
	while (e->origin == n->self && n->waiters && n->waiters->seq <= e->seq_last) {
		struct cp_waiter *w = n->waiters;
		n->waiters = w->next;
		if (!n->waiters)
			n->waiters_tail = &n->waiters;
		if (w->client) {
			json_t *r;
			if (w->seq == e->seq && e->kind == CP_BATCH_EVENT &&
			    rumor_event_id_equal(&w->id, &e->id)) {
				cp_metrics_observe(n->metrics, CP_ACK_APPLIED, w->t0_us,
						   cp_loop_now_us());
				r = json_pack("{s:b, s:s, s:i, s:I, s:I}", "ok", 1, "id", hex, "origin",
					      n->self, "seq", (json_int_t)e->seq, "gseq",
					      (json_int_t)e->gseq);
			} else {
				char msg[128];
				snprintf(msg, sizeof(msg), w->seq == e->seq && e->kind == CP_BATCH_EVENT ?
					 "event %u:%" PRIu64 " is another event (its seq was reused)" :
					 "event %u:%" PRIu64 " was skipped", n->self, w->seq);
				if (w->seq == e->seq && e->kind == CP_BATCH_REJECT)
					cp_members_reject_msg(msg, sizeof(msg), n->self, e);
				r = json_pack("{s:b, s:s}", "ok", 0, "error", msg);
			}
			reply_tagged(w->client, r, w->has_tag, w->tag);
		}
		free(w);
	}
}

/* A skip range may cover frames this node holds but never got ordered (seqs of them the
 * leader gave up on): release them. A range can span millions of seqs, so walk the store's
 * slots (the frames held), not the seqs. */
static void release_skipped(struct cp_node *n, uint16_t origin, uint64_t seq, uint64_t last)
{
	for (uint32_t slot = 0; slot < n->held.n_slots; slot++) {
		const struct cp_held_slot *hs = &n->held.slots[slot];
		if (!hs->pending || hs->origin != origin || hs->last_seq < seq || hs->first_seq > last)
			continue;
		uint64_t from = hs->first_seq > seq ? hs->first_seq : seq;
		uint64_t to = hs->last_seq < last ? hs->last_seq : last;
		uint32_t rel;
		for (uint64_t s = from; s <= to; s++) {
			const struct cp_held_event *h = cp_held_get(&n->held, origin, s);
			if (h && cp_held_done_at(&n->held, h, &rel) == 1) {
				/* the dataplane checks the frame's own first seq */
				release_slot(n, rel, origin, n->slot_frame[rel].first_seq);
				if (rel == slot)
					break; /* its last pending event: the slot is gone */
			}
		}
	}
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
	if (e->kind == CP_BATCH_SKIP && e->origin == n->self && n->seq_floor_known &&
	    e->seq_last > n->seq_floor)
		set_seq_floor(n, e->seq_last);
	if (n->want_origin == e->origin && n->want_seq <= e->seq_last)
		n->want_origin = 0;
	*r = (struct cp_recent){ .gseq = e->gseq, .origin = e->origin, .seq = e->seq, .id = e->id };
	/* the timestamp lives in the frame we hold: show it beside the ordered event */
	h = cp_held_get(&n->held, e->origin, e->seq);
	if (h && n->slot_frame[h->slot].frame) {
		/* consecutive events mostly share a frame: decode it once */
		if (n->aframe_slot != h->slot &&
		    rumor_wire_decode_rumor(n->slot_frame[h->slot].frame, n->slot_frame[h->slot].len,
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
		const struct cp_plog_frame *pf = &n->apply_pf;
		if (pf->origin == e->origin && e->seq >= pf->first_seq &&
		    e->seq < pf->first_seq + pf->f->hdr.event_count) {
			struct rumor_vc *ts = n->ats;
			n->aframe_slot = UINT32_MAX; /* ats no longer matches aframe */
			*ts = pf->f->clock;
			rumor_vc_set(ts, e->origin, e->seq);
			rumor_vc_format(ts, r->clock, sizeof(r->clock));
		} else {
			cp_fetch_clock(&n->fetch, e->origin, e->seq, r->clock, sizeof(r->clock));
		}
	}
	char hex[33];
	rumor_event_id_hex(&e->id, hex);
	log_append(n, e, r->clock, hex);
	notify_applied(n, e, r->clock, hex);
	cp_fetch_done(&n->fetch, e->origin, e->seq); /* after its clock was read above */
	if (h) {
		uint16_t origin = e->origin;
		/* the dataplane checks the frame's own first seq, not the part we hold */
		uint64_t first = n->slot_frame[h->slot].first_seq;
		if (cp_held_done_at(&n->held, h, &slot) == 1)
			release_slot(n, slot, origin, first);
	}
	if (e->seq_last > e->seq)
		release_skipped(n, e->origin, e->seq, e->seq_last);
}

static int cmp_want(const void *a, const void *b)
{
	const struct cp_want *x = a, *y = b;
	if (x->origin != y->origin)
		return x->origin < y->origin ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A committed event this node does not hold will block its apply: ask peers for all of a
 * batch's at once (runs of consecutive seqs per origin, one request each) instead of one
 * round trip per event when the apply reaches it. A node that missed gossip under load
 * otherwise crawled through thousands of such round trips (tens of seconds at 5 nodes). */
static void prefetch_missing(struct cp_node *n, const struct cp_batch *b)
{
	unsigned k = 0;

	if (n->fetch.got.count >= PREFETCH_MAX_HELD)
		return; /* far behind: the apply fetches as it goes */
	if (!n->want_origin && cp_fsm_queue_len(n->fsm) < PREFETCH_BACKLOG)
		return; /* keeping up: the few misses are fetched when the apply reaches them */
	for (uint32_t i = 0; i < b->n && k < PREFETCH_MAX_BATCH; i++) {
		const struct cp_batch_rec *r = &b->recs[i];
		if (r->kind != CP_BATCH_EVENT || r->seq <= n->applied_through[r->origin] ||
		    cp_held_get(&n->held, r->origin, r->seq) ||
		    cp_plog_has(n->plog, r->origin, r->seq) ||
		    cp_fetch_have(&n->fetch, r->origin, r->seq))
			continue;
		n->want_buf[k++] = (struct cp_want){ r->origin, r->seq };
	}
	if (!k)
		return;
	qsort(n->want_buf, k, sizeof(n->want_buf[0]), cmp_want);
	for (unsigned i = 0; i < k;) {
		unsigned j = i + 1;
		while (j < k && n->want_buf[j].origin == n->want_buf[i].origin &&
		       n->want_buf[j].seq - n->want_buf[i].seq < CP_FETCH_MAX_RANGE)
			j++;
		send_fetch(n, n->want_buf[i].origin, n->want_buf[i].seq,
			   (uint16_t)(n->want_buf[j - 1].seq - n->want_buf[i].seq + 1));
		n->st.prefetches += j - i;
		i = j;
	}
}

static void pp_committed(void *data, const struct cp_batch *b)
{
	struct cp_node *n = data;
	cp_order_committed(n->order, b);
	prefetch_missing(n, b);
}

/* ---------------------------------------------------------------- leadership and batches */

static void on_apply_done(struct raft_apply *req, int status, void *result)
{
	struct cp_node *n = req->data;
	(void)result;

	n->applies_inflight--;
	if (status == 0)
		n->commit_unannounced = true;
	if (status != 0) {
		/* leadership lost: the events stay reported; the next leader orders them. Never
		 * resubmit from here (libraft crashes on raft_apply inside this callback). */
		n->st.apply_failed++;
	}
	free(req);
}

static void on_barrier_done(struct raft_barrier *req, int status)
{
	(void)status;
	free(req);
}

/* Followers learn a commit index from the leader's next message. libraft sends none until the
 * next entry or heartbeat (up to two heartbeat periods): when the order goes idle after a
 * commit, a barrier entry carries the news at once, so followers apply in one round trip. */
static void announce_commit(struct cp_node *n)
{
	struct raft_barrier *req;

	if (!n->commit_unannounced || n->applies_inflight)
		return;
	n->commit_unannounced = false;
	if (!(req = calloc(1, sizeof(*req))))
		return;
	if (raft_barrier(&n->raft, req, on_barrier_done) != 0)
		free(req);
}

static void propose(struct cp_node *n)
{
	while (n->leading && n->applies_inflight < APPLIES_INFLIGHT_MAX) {
		int rc = cp_order_cut(n->order, now_us(), 0, &n->batch);
		if (rc == 0)
			announce_commit(n);
		if (rc <= 0)
			return;
		size_t size = cp_batch_encoded_size(&n->batch);
		struct raft_buffer buf = { .base = raft_malloc(size), .len = size };
		struct raft_apply *req = calloc(1, sizeof(*req));
		if (!buf.base || !req || cp_batch_encode(&n->batch, buf.base, size) < 0) {
			raft_free(buf.base);
			free(req);
			return;
		}
		req->data = n;
		rc = raft_apply(&n->raft, req, &buf, 1, on_apply_done);
		if (rc != 0) {
			LOG(n, "raft_apply: %s", raft_strerror(rc));
			raft_free(buf.base);
			free(req);
			return;
		}
		n->applies_inflight++;
		n->st.batches_proposed++;
		n->st.batch_events += n->batch.n;
	}
}

#define LOST_AFTER_MS 5000 /* fetches from every peer had this long before an operator skip */

int cp_node_skip_lost(struct cp_node *n, uint16_t origin, uint64_t seq, char *why, size_t cap)
{
	char hex[33];
	struct cp_batch b;
	uint64_t waited = cp_loop_now_ms() - n->want_first_ms;

	if (!n->leading) {
		snprintf(why, cap, "not the leader (ask node %llu)", (unsigned long long)n->leader);
		return -EPERM;
	}
	if (n->want_origin != origin || n->want_seq != seq) {
		snprintf(why, cap, "the apply here does not wait for %u:%" PRIu64, origin, seq);
		return -ENOENT;
	}
	if (waited < LOST_AFTER_MS) {
		snprintf(why, cap, "waited %" PRIu64 " ms only: its payload is still being fetched "
			 "from every peer", waited);
		return -EAGAIN;
	}
	if (cp_held_get(&n->held, origin, seq) || cp_plog_has(n->plog, origin, seq) ||
	    cp_fetch_have(&n->fetch, origin, seq)) {
		snprintf(why, cap, "this node holds that payload");
		return -EEXIST;
	}
	if (cp_batch_init(&b, 1) < 0)
		return -ENOMEM;
	int rc = cp_batch_add_reject(&b, origin, seq, &n->want_id, CP_BATCH_REASON_LOST);
	size_t size = cp_batch_encoded_size(&b);
	struct raft_buffer buf = { .base = raft_malloc(size), .len = size };
	struct raft_apply *req = calloc(1, sizeof(*req));
	if (rc < 0 || !buf.base || !req || cp_batch_encode(&b, buf.base, size) < 0) {
		raft_free(buf.base);
		free(req);
		cp_batch_free(&b);
		return rc < 0 ? rc : -ENOMEM;
	}
	cp_batch_free(&b);
	req->data = n;
	if ((rc = raft_apply(&n->raft, req, &buf, 1, on_apply_done)) != 0) {
		raft_free(buf.base);
		free(req);
		snprintf(why, cap, "raft_apply: %s", raft_strerror(rc));
		return -EIO;
	}
	n->applies_inflight++;
	rumor_event_id_hex(&n->want_id, hex);
	LOG(n, "operator: the payload of committed event %u:%" PRIu64 " (id %s) is gone from every "
	    "live node after %" PRIu64 " ms of fetches: committing it as lost", origin, seq, hex,
	    waited);
	return 0;
}

static void set_voters(struct cp_node *n)
{
	uint16_t ids[CP_ORDER_MAX_REPORTERS];
	unsigned k = 0;
	const struct raft_configuration *c = &n->raft.configuration;

	for (unsigned i = 0; i < c->n && k < CP_ORDER_MAX_REPORTERS; i++)
		if (c->servers[i].role == RAFT_VOTER)
			ids[k++] = (uint16_t)c->servers[i].id;
	if (k)
		cp_order_set_voters(n->order, ids, k);
}

static void become_leader(struct cp_node *n)
{
	const uint64_t *wm = cp_fsm_watermarks(n->fsm);

	cp_order_reset(n->order);
	memset(n->durable_sent, 0, (RUMOR_NODE_ID_MAX + 1) * sizeof(uint64_t));
	set_voters(n);
	for (unsigned o = 1; o <= RUMOR_NODE_ID_MAX; o++)
		if (wm[o])
			cp_order_set_ordered(n->order, (uint16_t)o, wm[o]);
	n->leading = true;
	n->leading_since_ms = cp_loop_now_ms();
	n->rep_len = 0;
	LOG(n, "leader for term %llu", (unsigned long long)n->raft.current_term);
	rereport(n, UINT64_MAX);
}

static void check_leadership(struct cp_node *n)
{
	raft_id id;
	const char *addr;
	bool leading = raft_state(&n->raft) == RAFT_LEADER;

	if (leading && !n->leading)
		become_leader(n);
	else if (!leading && n->leading) {
		n->leading = false;
		cp_order_reset(n->order);
		LOG(n, "no longer leader");
	}
	raft_leader(&n->raft, &id, &addr);
	if (id != n->leader) {
		n->leader = id;
		if (id && id != n->self) {
			LOG(n, "leader is node %llu", (unsigned long long)id);
			rereport(n, UINT64_MAX);
		}
	}
	if (n->leading)
		set_voters(n); /* membership may have changed */
}

static void on_tick(struct cp_loop_timer *t)
{
	struct cp_node *n = t->data;

	if (n->stop) {
		cp_loop_stop(n->loop);
		return;
	}
	check_leadership(n);
	cp_members_tick(n, cp_loop_now_ms());
	propose(n);
	if (n->leading)
		announce_durable(n);
	learn_seq_floor(n, cp_loop_now_ms());
	if (n->rel_n)
		send_pending_releases(n);
	if (n->parked_n && n->seq_floor_known)
		send_parked(n);
	flush_reports(n);
	plog_flush(n); /* what a run of full bursts left buffered */
	if (cp_olog_flush(&n->olog) < 0)
		n->st.log_write_errors++;
}

/* Free the watchers whose client left (cp_cmd only marks them: it runs inside replies). */
static void reap_watchers(struct cp_node *n)
{
	for (struct cp_watcher **pp = &n->watchers; *pp;) {
		struct cp_watcher *w = *pp;
		if (w->client) {
			pp = &w->next;
		} else {
			*pp = w->next;
			free(w);
		}
	}
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

static void on_slow(struct cp_loop_timer *t)
{
	struct cp_node *n = t->data;
	uint64_t now = cp_loop_now_ms();
	bool alive = dp_client_alive(&n->dp, 3000);

	reap_watchers(n);
	check_disk(n);
	cp_metrics_node_tick(n, now); /* publishes at most every 500 ms */
	if (cp_plog_error(n->plog) < 0)
		cp_plog_flush(n->plog); /* retry the failed write (disk full, EIO) */

	if (alive != n->dp_alive) {
		LOG(n, "dataplane %s", alive ? "alive" : "DEAD (no heartbeat for 3 s)");
		n->dp_alive = alive;
	}
	if (n->want_origin && now - n->want_since_ms >= PULL_RETRY_MS) {
		if (cp_held_get(&n->held, n->want_origin, n->want_seq) ||
		    cp_plog_has(n->plog, n->want_origin, n->want_seq)) {
			cp_fsm_drain(n->fsm);
		} else {
			send_pull(n, n->want_origin, n->want_seq);
			send_fetch(n, n->want_origin, n->want_seq, CP_FETCH_MAX_RANGE);
			n->want_since_ms = now;
		}
	}
	if (n->leading && now - n->last_repair_ms >= REPAIR_PERIOD_MS) {
		n->last_repair_ms = now;
		cp_order_repairs(n->order, now_us(), REPAIR_AFTER_US, REPAIR_RETRY_US,
				 REPAIR_MAX_SEQS, on_repair_run, n);
		cp_order_wrong_holders(n->order, now_us(), REPAIR_RETRY_US, REPAIR_MAX_SEQS,
				       on_wrong_holder, n); /* issue 14 hook */
	}
	cp_forge_applied(&n->forge, n->applied_through);
	if (now - n->last_rereport_ms >= REREPORT_AGE_MS && n->leader) {
		n->last_rereport_ms = now;
		/* only the part the order needs next: a report is lost only with a connection,
		 * and the rest of what we hold is re-sent as the window moves up */
		rereport(n, REREPORT_WINDOW);
	}
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
	struct cp_plog_cfg pcfg = { .buffer_max = PLOG_BUFFER_MAX, .durable = on_plog_durable,
				    .owner_starts_writes = true, .rwf_dsync = true,
				    .prealloc = true, .log = plog_note, .arg = n };
	if ((rc = cp_plog_open(n->loop, path, &pcfg, &n->plog, msg)) < 0) {
		fprintf(stderr, "rumor-cp: cannot load the payload log %s: %s%s%s\n", path,
			strerror(-rc), msg[0] ? ": " : "", msg);
		return rc;
	}
	return 0;
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
	int gone = cp_plog_gc(n->plog, older);
	if (gone > 0)
		LOG(n, "payload log: %d segment(s) covered by snapshots deleted", gone);
	memcpy(older, n->applied_through, (RUMOR_NODE_ID_MAX + 1) * sizeof(uint64_t));
	n->snap_applied[0] = n->snap_applied[1];
	n->snap_applied[1] = older;
	return cp_fsm_raft(n->fsm)->snapshot(rf, bufs, nb);
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
		rc = raft_bootstrap(&n->raft, &conf);
		if (rc == RAFT_CANTBOOTSTRAP)
			rc = 0; /* state on disk already: a restart */
		else if (rc == 0)
			LOG(n, "bootstrapped a new cluster of %u nodes", n->cfg.n_nodes);
	}
	raft_configuration_close(&conf);
	return rc;
}

int cp_node_start(struct cp_node *n, struct cp_loop *loop)
{
	struct cp_payload_provider pp = { .data = n, .get = pp_get, .want = pp_want,
					  .applied = pp_applied, .committed = pp_committed };
	struct cp_fsm_config fcfg;
	struct cp_order_config ocfg;
	struct cp_raftio_cfg rcfg = { 0 };
	char addr[96];
	int rc;

	n->loop = loop;
	n->started_ms = cp_loop_now_ms();
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

	n->rep_cap = 64u << 10;
	n->rep_buf = malloc(n->rep_cap);
	n->rep = malloc(sizeof(*n->rep));
	n->frame = malloc(sizeof(*n->frame));
	n->aframe = malloc(sizeof(*n->aframe));
	n->aframe_slot = UINT32_MAX;
	n->ts = malloc(sizeof(*n->ts));
	n->want_buf = malloc(PREFETCH_MAX_BATCH * sizeof(*n->want_buf));
	n->ats = malloc(sizeof(*n->ats));
	n->applied_through = calloc(RUMOR_NODE_ID_MAX + 1, sizeof(uint64_t));
	n->recent = calloc(CP_RECENT, sizeof(*n->recent));
	n->slot_frame = calloc(n->cfg.dataplane.store_slots, sizeof(*n->slot_frame));
	n->tick = calloc(1, sizeof(*n->tick));
	n->slow = calloc(1, sizeof(*n->slow));
	n->waiters_tail = &n->waiters;
	n->dwaiters_tail = &n->dwaiters;
	if ((rc = cp_reqids_init(&n->reqids, CP_REQIDS_WINDOW)) < 0)
		return rc;
	n->durable_sent = calloc(RUMOR_NODE_ID_MAX + 1, sizeof(uint64_t));
	n->rel_cap = n->cfg.dataplane.store_slots + 1;
	n->rel = calloc(n->rel_cap, sizeof(*n->rel));
	n->pend_cap = n->cfg.dataplane.store_slots + 1;
	n->pend = calloc(n->pend_cap, sizeof(*n->pend));
	for (int i = 0; i < 2; i++)
		n->snap_applied[i] = calloc(RUMOR_NODE_ID_MAX + 1, sizeof(uint64_t));
	n->apply_pf.buf = malloc(CP_PLOG_MAX_FRAME);
	n->apply_pf.f = malloc(sizeof(*n->apply_pf.f));
	n->serve_pf.buf = malloc(CP_PLOG_MAX_FRAME);
	n->serve_pf.f = malloc(sizeof(*n->serve_pf.f));
	if (!n->pend || !n->rel || !n->durable_sent || !n->snap_applied[0] || !n->snap_applied[1] || !n->apply_pf.buf ||
	    !n->apply_pf.f || !n->serve_pf.buf || !n->serve_pf.f)
		return -ENOMEM;
	if (!n->rep_buf || !n->rep || !n->frame || !n->aframe || !n->ts || !n->ats || !n->want_buf ||
	    !n->applied_through || !n->recent ||
	    !n->slot_frame || !n->tick || !n->slow)
		return -ENOMEM;
	rumor_vc_init(&n->last_clock);
	rc = cp_held_init(&n->held, n->cfg.dataplane.store_slots * 24u + 4096u,
			  n->cfg.dataplane.store_slots);
	if (rc < 0)
		return rc;
	if ((rc = cp_batch_init(&n->batch, 1024)) < 0)
		return rc;

	cp_fsm_config_default(&fcfg);
	if ((rc = cp_fsm_create(&fcfg, &pp, &n->fsm)) < 0)
		return rc;
	cp_order_config_default(&ocfg);
	ocfg.batch_max_events = n->cfg.raft.batch_max_events;
	ocfg.batch_max_us = n->cfg.raft.batch_max_us;
	ocfg.gap_timeout_us = (uint64_t)n->cfg.raft.gap_timeout_ms * 1000u;
	ocfg.max_pending = n->cfg.dataplane.store_slots * 32u;
	if ((rc = cp_order_create(&ocfg, &n->order)) < 0)
		return rc;
	cp_fetch_init(&n->fetch);
	if ((rc = open_logs(n)) < 0)
		return rc;
	check_disk(n);
	n->fsm_hooks = *cp_fsm_raft(n->fsm);
	n->fsm_hooks.snapshot = fsm_snapshot_hook;

	snprintf(addr, sizeof(addr), "%s:%u", n->me->ctl_host, n->me->ctl_port);
	rcfg.dir = n->dir;
	rcfg.cluster_id = n->cfg.cluster_id;
	rcfg.seed = (uint64_t)n->self * 0x9e3779b97f4a7c15ull ^ cp_loop_now_us();
	rcfg.tls = n->tls; /* cp_tls: authenticated control links */
	rcfg.app = (struct cp_net_cbs){ .arg = n, .app = on_app,
				       .peer_down = cp_view_net_peer_down /* cp_view hook */ };
	if ((rc = cp_raftio_init(&n->io, loop, &rcfg)) < 0)
		return rc;
	rc = raft_init(&n->raft, &n->io, &n->fsm_hooks, n->self, addr);
	if (rc != 0) {
		fprintf(stderr, "rumor-cp: raft_init: %s\n", raft_errmsg(&n->raft));
		return -EIO;
	}
	raft_set_election_timeout(&n->raft, n->cfg.raft.election_timeout_ms);
	raft_set_heartbeat_timeout(&n->raft, n->cfg.raft.heartbeat_ms);
	raft_set_snapshot_threshold(&n->raft, n->cfg.raft.snapshot_threshold);
	raft_set_snapshot_trailing(&n->raft, n->cfg.raft.snapshot_trailing);
	raft_set_pre_vote(&n->raft, true);
	if (!n->join && (rc = bootstrap_if_new(n)) != 0) {
		fprintf(stderr, "rumor-cp: raft_bootstrap: %s\n", raft_strerror(rc));
		return -EIO;
	}
	if ((rc = raft_start(&n->raft)) != 0) {
		fprintf(stderr, "rumor-cp: raft_start: %s\n", raft_errmsg(&n->raft));
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

	struct cp_api_ops ops = { .arg = n, .request = cp_cmd_request,
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

	/* frames held before we (re)attached: have the dataplane tell us about them again */
	struct rumor_msg *m;
	if (dp_client_msg_alloc(&n->dp, RUMOR_MSG_RESYNC, &m) == 0)
		dp_send(n, m);
	LOG(n, "started: api %s, control %s:%u, data dir %s", n->api_path, n->me->ctl_host,
	    n->me->ctl_port, n->dir);
	return 0;
}

static void on_raft_closed(struct raft *r)
{
	struct cp_node *n = r->data;
	n->stop = 2;
}

void cp_node_stop(struct cp_node *n)
{
	cp_loop_set_idle_poll(n->loop, NULL, NULL, 0, 0);
	cp_loop_timer_stop(n->tick);
	cp_loop_timer_stop(n->slow);
	cp_view_stop(n); /* cp_view hook */
	cp_api_close(n->api);
	n->api = NULL;
	n->raft.data = n;
	raft_close(&n->raft, on_raft_closed);
	/* let the close finish, bounded */
	for (int i = 0; i < 2000 && n->stop != 2; i++)
		cp_loop_run_once(n->loop, 1000);
	cp_plog_close(n->plog);
	n->plog = NULL;
	cp_olog_close(&n->olog);
	cp_jsonl_free(&n->line);
}
