/* cp_holder: the frames this node holds. The dataplane announces a stored frame; it goes to
 * the payload log, and only once its record is durable is it reported to the leader (the
 * leader counts durable holders). Re-reports after a leader change or a restart, repairs
 * served on the leader's request, and the release of store slots once applied. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cp_node_int.h"
#include "cp_order.h"
#include "cp_plant.h"
#include "cp_plog.h"

#define REPORT_FLUSH_BYTES (48u << 10)   /* one APP message */
#define PLOG_BUSY_RECORDS 16             /* an fdatasync covering this many means load ... */
#define PLOG_BUSY_GAP_US 10000           /* ... and the next write waits this long after the last */

static_assert(CP_PLOG_ORIGIN_MAX == RUMOR_NODE_ID_MAX, "payload log indexes every origin");

static void retry_durable(struct cp_node *n, uint32_t slot);

static int send_release(struct cp_node *n, const struct cp_release *r)
{
	struct rumor_msg *m;

	if (cp_dp_alloc(n, RUMOR_MSG_RELEASE, &m) < 0)
		return -ENOBUFS;
	m->u.release.slot = r->slot;
	m->u.release.origin = r->origin;
	m->u.release.first_seq = r->first_seq;
	m->u.release.ordered_through = n->applied_through[r->origin];
	if (cp_dp_send(n, m) < 0)
		return -ENOBUFS;
	n->st.releases++;
	return 0;
}

/* Releases the ring did not take, in order: a dropped RELEASE leaked its slot for good. */
void cp_holder_send_pending_releases(struct cp_node *n)
{
	while (n->hold.rel_n && send_release(n, &n->hold.rel[n->hold.rel_head]) == 0) {
		n->hold.rel_head = (n->hold.rel_head + 1) % n->hold.rel_cap;
		n->hold.rel_n--;
	}
}

void cp_holder_release_slot(struct cp_node *n, uint32_t slot, uint16_t origin, uint64_t first_seq)
{
	struct cp_release r = { .slot = slot, .origin = origin, .first_seq = first_seq };

	n->hold.slot_frame[slot].frame = NULL;
	if (n->aframe_slot == slot)
		n->aframe_slot = UINT32_MAX;
	if (n->hold.rel_n)
		cp_holder_send_pending_releases(n);
	if (!n->hold.rel_n && send_release(n, &r) == 0)
		return;
	n->st.release_ring_full++;
	if (n->hold.rel_n < n->hold.rel_cap) /* one entry per slot at most: always room */
		n->hold.rel[(n->hold.rel_head + n->hold.rel_n++) % n->hold.rel_cap] = r;
}

void cp_holder_flush_reports(struct cp_node *n)
{
	struct iovec iov = { n->hold.rep_buf, n->hold.rep_len };
	int rc;

	if (!n->hold.rep_len)
		return;
	if (!n->leader || n->leader == n->self) {
		/* nobody to tell: the periodic re-report covers what is still held */
		n->hold.rep_len = 0;
		return;
	}
	rc = cp_peer_send(n, n->leader, CP_APP_REPORTS, &iov, 1);
	if (rc == -EAGAIN) {
		n->st.report_backpressure++;
		return;
	}
	if (rc == 0) {
		n->st.reports_sent++;
		n->st.report_bytes += n->hold.rep_len;
	} else {
		n->hold.pass_broken = true; /* dropped: this re-report pass is not complete */
	}
	n->hold.rep_len = 0;
}

static void report(struct cp_node *n, const struct cp_report *r)
{
	size_t need = cp_report_size(r);

	if (n->lead.leading) {
		cp_leader_ingest_report(n, r);
		return;
	}
	if (n->hold.rep_len + need > n->hold.rep_cap) {
		cp_holder_flush_reports(n);
		if (n->hold.rep_len + need > n->hold.rep_cap) {
			size_t cap = n->hold.rep_cap * 2;
			uint8_t *b = realloc(n->hold.rep_buf, cap);
			if (!b)
				return;
			n->hold.rep_buf = b;
			n->hold.rep_cap = cap;
		}
	}
	int w = cp_report_encode(r, n->hold.rep_buf + n->hold.rep_len, n->hold.rep_cap - n->hold.rep_len);
	if (w > 0)
		n->hold.rep_len += (size_t)w;
	if (n->hold.rep_len >= REPORT_FLUSH_BYTES)
		cp_holder_flush_reports(n);
}

/* Report events [skip..count) of a decoded frame we hold. */
static void report_frame(struct cp_node *n, const struct rumor_wire_frame *f, uint16_t skip,
			 const struct rumor_vc *holder_clock)
{
	cp_report_from_frame(n->hold.rep, f, skip, n->self, holder_clock);
	report(n, n->hold.rep);
}

/* Holder side: hand each stored frame of the run to the dataplane for the named nodes. */
void cp_holder_repair_serve(struct cp_node *n, const struct cp_repair *r)
{
	uint32_t last = UINT32_MAX;

	for (uint64_t s = r->first_seq; s <= r->last_seq; s++) {
		const struct cp_held_event *ev = cp_held_get(&n->hold.held, r->origin, s);
		struct rumor_msg *m;

		if (!ev || ev->slot == last || !n->hold.slot_frame[ev->slot].frame)
			continue;
		last = ev->slot;
		if (cp_dp_alloc(n, RUMOR_MSG_SEND_TO, &m) < 0)
			return; /* ring full: the leader asks again next period */
		m->u.send_to.slot = last;
		m->u.send_to.origin = r->origin;
		m->u.send_to.first_seq = n->hold.slot_frame[last].first_seq;
		m->u.send_to.n = r->nto;
		memcpy(m->u.send_to.peer, r->to, r->nto * sizeof(r->to[0]));
		if (cp_dp_send(n, m) < 0)
			return;
		n->st.repair_frames++;
	}
}

/* What the payload log holds above what we applied and the dataplane does not: after a
 * restart, the durable frames of the previous run (the dataplane's store may be empty). */
static void rereport_plog(struct cp_node *n, uint64_t window)
{
	struct cp_plog_frame *pf = &n->hold.serve_pf;

	for (unsigned o = 1; o <= RUMOR_NODE_ID_MAX; o++) {
		uint64_t done = n->applied_through[o], s = done;
		while ((s = cp_plog_next_seq(n->plog, (uint16_t)o, s))) {
			if (s - done > window) {
				n->hold.pass_broken = true; /* the rest waits for the window */
				break;
			}
			if (cp_held_get(&n->hold.held, (uint16_t)o, s))
				continue; /* the held path reports it once it is durable */
			/* not held, not applied: read back at load, so durable (a record still in
			 * flight always belongs to a held frame or to applied events) */
			if (cp_holder_frame_load(n, pf, (uint16_t)o, s) < 0)
				continue; /* unreadable (counted): we do not hold it */
			report_frame(n, pf->f, (uint16_t)(s - pf->first_seq), &pf->f->clock);
			n->st.rereports++;
			s = pf->first_seq + pf->f->hdr.event_count - 1;
		}
	}
}

/* Re-report held, unapplied frames starting within @window seqs above what we applied:
 * all of them after a leader change, and periodically the order's next part, so that a report
 * lost with a connection is never lost for good (the order treats repeats as no-ops). */
void cp_holder_rereport(struct cp_node *n, uint64_t window)
{
	n->hold.pass_broken = false;
	for (uint32_t s = 0; s < n->hold.held.n_slots; s++) {
		const struct cp_held_slot *hs = &n->hold.held.slots[s];
		const struct cp_slot_frame *sf = &n->hold.slot_frame[s];
		if (!hs->pending || !sf->frame)
			continue;
		if (!sf->durable) {
			/* refused by the payload log (full buffer, disk error): try again */
			if (!cp_plog_has(n->plog, hs->origin, hs->first_seq))
				retry_durable(n, s);
			continue;
		}
		uint64_t done = n->applied_through[hs->origin];
		if (done >= hs->last_seq)
			continue;
		if (hs->first_seq > done && hs->first_seq - done > window) {
			n->hold.pass_broken = true;
			continue;
		}
		if (rumor_wire_decode_rumor(sf->frame, sf->len, n->cfg.cluster_id, 0, n->hold.frame) < 0)
			continue;
		/* skip counts from the frame's first event, which we may hold only the tail of */
		uint16_t skip = done >= sf->first_seq ? (uint16_t)(done - sf->first_seq + 1) : 0;
		report_frame(n, n->hold.frame, skip, &n->hold.frame->clock);
		n->st.rereports++;
	}
	rereport_plog(n, window);
	cp_holder_flush_reports(n);
	/* Everything durable here was reported, on the link the marker follows: the leader may
	 * count us among the majority a skip waits for (cp_order_pass). */
	if (n->hold.pass_broken || n->hold.rep_len || !n->leader)
		return;
	if (n->lead.leading) {
		cp_order_pass(n->order, n->self, cp_now_us(n));
	} else {
		struct iovec iov = { NULL, 0 };
		if (cp_peer_send(n, n->leader, CP_APP_REPORTED_ALL, &iov, 0) == 0)
			n->st.rereport_passes++;
	}
}

/* Read the record holding (origin, seq) into @pf, unless @pf holds it already.
 * Returns 0, or -ENOENT / the read's error. */
int cp_holder_frame_load(struct cp_node *n, struct cp_plog_frame *pf, uint16_t origin,
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
	if (t == 0 || CP_PLANTED(CP_PLANT_EARLY_REPORT)) { /* its events are durable already (a
							     * frame announced again) */
		n->hold.slot_frame[nf->slot].durable = true;
		report_frame(n, f, skip, pulled ? &f->clock : &nf->holder_clock);
		return;
	}
	if (n->hold.pend_n == n->hold.pend_cap) { /* cannot happen: one entry per store slot at most */
		n->st.plog_refused++;
		return;
	}
	n->hold.pend[(n->hold.pend_head + n->hold.pend_n++) % n->hold.pend_cap] = (struct cp_pending_report){
		.ticket = (uint64_t)t, .first_seq = f->hdr.first_seq, .slot = nf->slot,
		.origin = f->hdr.origin, .pulled = pulled };
}

/* A held frame the payload log refused before: append it again. */
static void retry_durable(struct cp_node *n, uint32_t slot)
{
	const struct cp_slot_frame *sf = &n->hold.slot_frame[slot];
	struct rumor_msg_new_frame nf = { .slot = slot, .frame = sf->frame, .frame_len = sf->len,
					  .holder_clock = n->hold.last_clock };

	if (rumor_wire_decode_rumor(sf->frame, sf->len, n->cfg.cluster_id, 0, n->hold.frame) < 0)
		return;
	uint64_t done = n->applied_through[n->hold.frame->hdr.origin];
	uint16_t skip = done >= sf->first_seq ? (uint16_t)(done - sf->first_seq + 1) : 0;
	if (skip < n->hold.frame->hdr.event_count)
		hold_durably(n, &nf, n->hold.frame, skip);
}

/* Records through @ticket are on disk: report their frames (those not applied meanwhile). */
void cp_holder_on_plog_durable(void *arg, uint64_t ticket)
{
	struct cp_node *n = arg;

	n->hold.plog_last_batch = ticket - n->hold.plog_durable;
	n->hold.plog_durable = ticket;

	while (n->hold.pend_n && n->hold.pend[n->hold.pend_head].ticket <= ticket) {
		struct cp_pending_report p = n->hold.pend[n->hold.pend_head];
		struct cp_slot_frame *sf = &n->hold.slot_frame[p.slot];
		n->hold.pend_head = (n->hold.pend_head + 1) % n->hold.pend_cap;
		n->hold.pend_n--;
		if (!sf->frame || sf->first_seq != p.first_seq ||
		    n->hold.held.slots[p.slot].origin != p.origin)
			continue; /* applied and released before its fsync completed */
		sf->durable = true;
		if (rumor_wire_decode_rumor(sf->frame, sf->len, n->cfg.cluster_id, 0, n->hold.frame) < 0)
			continue;
		uint64_t done = n->applied_through[p.origin];
		uint16_t cnt = n->hold.frame->hdr.event_count, skip = 0;
		if (done >= p.first_seq)
			skip = done - p.first_seq + 1 >= cnt ? cnt : (uint16_t)(done - p.first_seq + 1);
		if (skip < cnt)
			report_frame(n, n->hold.frame, skip, p.pulled ? &n->hold.frame->clock : &n->hold.last_clock);
	}
	cp_holder_flush_reports(n);
	cp_holder_plog_flush(n); /* what was appended meanwhile (paced under load) */
}

void cp_holder_plog_note(void *arg, const char *msg)
{
	LOG((struct cp_node *)arg, "%s", msg);
}

void cp_holder_on_new_frame(struct cp_node *n, const struct rumor_msg_new_frame *nf)
{
	struct rumor_wire_frame *f = n->hold.frame;
	struct cp_held_event ev[RUMOR_WIRE_MAX_EVENTS];
	uint16_t skip = 0;
	int rc;

	n->st.frames++;
	n->hold.last_clock = nf->holder_clock;
	rc = rumor_wire_decode_rumor(nf->frame, nf->frame_len, n->cfg.cluster_id, 0, f);
	if (rc < 0 || nf->slot >= n->hold.held.n_slots) {
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
		cp_holder_release_slot(n, nf->slot, f->hdr.origin, f->hdr.first_seq);
		return;
	}
	for (uint16_t i = skip; i < f->hdr.event_count; i++)
		ev[i] = (struct cp_held_event){ .len = f->ev[i].len, .payload = f->ev[i].payload,
						.id = f->ev[i].id };
	rc = cp_held_add_frame(&n->hold.held, nf->slot, f->hdr.origin, f->hdr.first_seq + skip,
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
		cp_holder_release_slot(n, nf->slot, f->hdr.origin, f->hdr.first_seq);
		return;
	}
	n->hold.slot_frame[nf->slot] = (struct cp_slot_frame){ nf->frame, nf->frame_len,
							  f->hdr.first_seq, false };
	n->st.events_new += (uint64_t)rc;
	hold_durably(n, nf, f, skip);
	cp_subs_notify_gossip(n, f);
}

/* Start the payload log's next write. Under load (the last fdatasync covered many records)
 * writes start at most every PLOG_BUSY_GAP_US, so that each fdatasync covers more: every one
 * costs kernel time (ext4 journal) on cores the whole node shares. A light load writes at
 * once: a lone event's durability waits for nothing but its own fdatasync. */
void cp_holder_plog_flush(struct cp_node *n)
{
	uint64_t now = cp_now_us(n);

	if (n->hold.plog_last_batch >= PLOG_BUSY_RECORDS && now - n->hold.plog_flush_us < PLOG_BUSY_GAP_US)
		return; /* the 1 ms tick comes back */
	n->hold.plog_flush_us = now;
	cp_plog_flush(n->plog);
}

/* The dataplane asks for a slot held unordered past its age bound (RUMOR_MSG_EXPIRE). Give
 * it back only when the payload log has the frame (the apply, fetches and re-reports read
 * it there, as after a restart): then nothing we still report or need points into it. A
 * frame only in memory is kept; the dataplane asks again later. */
void cp_holder_on_expire(struct cp_node *n, const struct rumor_msg_release *e)
{
	if (e->slot >= n->hold.held.n_slots)
		return;
	const struct cp_held_slot *hs = &n->hold.held.slots[e->slot];
	const struct cp_slot_frame *sf = &n->hold.slot_frame[e->slot];
	if (!hs->pending || hs->origin != e->origin || !sf->frame || sf->first_seq != e->first_seq ||
	    !sf->durable || !cp_plog_has(n->plog, hs->origin, hs->last_seq))
		return; /* released already (a RELEASE is on its way), or still needed here */
	uint64_t first = hs->first_seq, last = hs->last_seq;
	uint32_t rel;
	for (uint64_t s = first; s <= last; s++) {
		const struct cp_held_event *h = cp_held_get(&n->hold.held, e->origin, s);
		if (h && h->slot == e->slot && cp_held_done_at(&n->hold.held, h, &rel) == 1) {
			cp_holder_release_slot(n, rel, e->origin, e->first_seq);
			break;
		}
	}
}

/* A skip range may cover frames this node holds but never got ordered (seqs of them the
 * leader gave up on): release them. A range can span millions of seqs, so walk the store's
 * slots (the frames held), not the seqs. */
void cp_holder_release_skipped(struct cp_node *n, uint16_t origin, uint64_t seq, uint64_t last)
{
	for (uint32_t slot = 0; slot < n->hold.held.n_slots; slot++) {
		const struct cp_held_slot *hs = &n->hold.held.slots[slot];
		if (!hs->pending || hs->origin != origin || hs->last_seq < seq || hs->first_seq > last)
			continue;
		uint64_t from = hs->first_seq > seq ? hs->first_seq : seq;
		uint64_t to = hs->last_seq < last ? hs->last_seq : last;
		uint32_t rel;
		for (uint64_t s = from; s <= to; s++) {
			const struct cp_held_event *h = cp_held_get(&n->hold.held, origin, s);
			if (h && cp_held_done_at(&n->hold.held, h, &rel) == 1) {
				/* the dataplane checks the frame's own first seq */
				cp_holder_release_slot(n, rel, origin, n->hold.slot_frame[rel].first_seq);
				if (rel == slot)
					break; /* its last pending event: the slot is gone */
			}
		}
	}
}

int cp_holder_init(struct cp_node *n)
{
	struct cp_holder *h = &n->hold;
	uint32_t slots = n->cfg.dataplane.store_slots;

	h->rep_cap = 64u << 10;
	h->rep_buf = malloc(h->rep_cap);
	h->rep = malloc(sizeof(*h->rep));
	h->frame = malloc(sizeof(*h->frame));
	h->slot_frame = calloc(slots, sizeof(*h->slot_frame));
	h->rel_cap = slots + 1;
	h->rel = calloc(h->rel_cap, sizeof(*h->rel));
	h->pend_cap = slots + 1;
	h->pend = calloc(h->pend_cap, sizeof(*h->pend));
	h->apply_pf.buf = malloc(CP_PLOG_MAX_FRAME);
	h->apply_pf.f = malloc(sizeof(*h->apply_pf.f));
	h->serve_pf.buf = malloc(CP_PLOG_MAX_FRAME);
	h->serve_pf.f = malloc(sizeof(*h->serve_pf.f));
	if (!h->rep_buf || !h->rep || !h->frame || !h->slot_frame || !h->rel || !h->pend ||
	    !h->apply_pf.buf || !h->apply_pf.f || !h->serve_pf.buf || !h->serve_pf.f)
		return -ENOMEM;
	rumor_vc_init(&h->last_clock);
	return cp_held_init(&h->held, slots * 24u + 4096u, slots);
}

void cp_holder_free(struct cp_node *n)
{
	struct cp_holder *h = &n->hold;

	cp_held_fini(&h->held);
	free(h->rep_buf);
	free(h->rep);
	free(h->frame);
	free(h->slot_frame);
	free(h->rel);
	free(h->pend);
	free(h->apply_pf.buf);
	free(h->apply_pf.f);
	free(h->serve_pf.buf);
	free(h->serve_pf.f);
	memset(h, 0, sizeof(*h));
}

/* ---------------------------------------------------------------- forged copies (issue 14) */

/* Is our copy of (origin, seq) another event than @id? Then *@sender is the hop sender that
 * delivered it. */
static bool held_wrong(struct cp_node *n, uint16_t origin, uint64_t seq,
		       const struct rumor_event_id *id, uint16_t *sender)
{
	const struct cp_held_event *e = cp_held_get(&n->hold.held, origin, seq);
	struct cp_plog_frame *pf = &n->hold.serve_pf;

	if (e) {
		const struct cp_slot_frame *sf = &n->hold.slot_frame[e->slot];
		*sender = sf->frame ? cp_report_frame_sender(sf->frame, sf->len) : 0;
		return !rumor_event_id_equal(&e->id, id);
	}
	if (cp_holder_frame_load(n, pf, origin, seq) < 0)
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

	if (!cp_fetch_have(&n->rec.fetch, origin, seq))
		return 0;
	if (cp_fetch_get(&n->rec.fetch, origin, seq, id, &p, &len) < 0) {
		cp_fetch_done(&n->rec.fetch, origin, seq);
		return 0;
	}
	free(p); /* it stays in the fetch map for the apply */
	return 1;
}

void cp_holder_forge_poll(struct cp_node *n)
{
	struct cp_forge_io io = { forge_have, forge_report, n };

	if (cp_forge_poll(&n->forge, &io, n->self, &n->hold.last_clock, n->hold.rep))
		cp_holder_flush_reports(n);
}

/* CP_APP_WRONG_ID: count our copy, fetch the right one from the origin (it holds it: it
 * reported it), report it once it is here (cp_holder_forge_poll on FETCH_RESP). */
void cp_holder_on_wrong_id(struct cp_node *n, const uint8_t *p, size_t len)
{
	struct cp_report *r = n->hold.rep;
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
			      cp_now_ms(n));
		cp_fetch_req_encode(req, r->origin, r->first_seq, 1);
		cp_peer_send(n, r->origin, CP_APP_FETCH_REQ, &iov, 1);
	}
	cp_holder_forge_poll(n);
}
