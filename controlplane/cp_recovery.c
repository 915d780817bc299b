/* cp_recovery: a committed event whose payload this node lacks, and the payloads peers ask
 * of it. It alone decides how a payload is fetched. Two ways, on purpose: a dataplane PULL
 * (UDP, answered from a peer's store at line rate, and the frame lands in our store like any
 * gossip, so it is held and reported) and a FETCH over the control link (answered from a
 * peer's store or payload log: the only way to a frame every store has released). A lone
 * miss asks both at once; a committed batch's misses are prefetched by FETCH runs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cp_node_int.h"
#include "cp_plog.h"

#define PREFETCH_MAX_HELD 65536   /* fetched payloads waiting to be applied, at most */
#define PREFETCH_BACKLOG 1024     /* committed, unapplied events that make a node prefetch */

static void send_pull(struct cp_node *n, uint16_t origin, uint64_t seq)
{
	struct rumor_msg *m;

	if (cp_dp_alloc(n, RUMOR_MSG_PULL, &m) < 0)
		return;
	m->u.pull.origin = origin;
	m->u.pull.first_seq = seq;
	m->u.pull.count = 1;
	m->u.pull.hint = 0;
	if (cp_dp_send(n, m) == 0)
		n->st.pulls++;
}

int cp_recovery_get(void *data, uint16_t origin, uint64_t seq, const struct rumor_event_id *id,
		  const void **payload, size_t *len)
{
	struct cp_node *n = data;
	const struct cp_held_event *e = cp_held_get(&n->hold.held, origin, seq);

	if (e && rumor_event_id_equal(&e->id, id)) {
		*payload = e->payload;
		*len = e->len;
		return 0;
	}
	if (e) /* issue 14: our copy is not the event its origin reported */
		cp_forge_note(&n->forge, origin, seq, n->hold.slot_frame[e->slot].frame ?
			      cp_report_frame_sender(n->hold.slot_frame[e->slot].frame,
						     n->hold.slot_frame[e->slot].len) : 0);
	/* not in the dataplane's store (a replay after a restart, a released frame): our payload
	 * log, else a peer's answer */
	struct cp_plog_frame *pf = &n->hold.apply_pf;
	if (cp_holder_frame_load(n, pf, origin, seq) == 0) {
		const struct rumor_wire_event *ev = &pf->f->ev[seq - pf->first_seq];
		if (rumor_event_id_equal(&ev->id, id)) {
			*payload = ev->payload;
			*len = ev->len;
			return 0;
		}
		cp_forge_note(&n->forge, origin, seq, pf->f->hdr.sender);
	}
	uint8_t *p;
	if (cp_fetch_get(&n->rec.fetch, origin, seq, id, &p, len) < 0) {
		if (cp_fetch_have(&n->rec.fetch, origin, seq)) /* a wrong copy must not block the right */
			cp_fetch_done(&n->rec.fetch, origin, seq);
		return -EAGAIN;
	}
	free(n->rec.fetch_tmp);
	n->rec.fetch_tmp = p;
	*payload = p;
	return 0;
}

/* Ask one peer (the leader first, then the others in turn) for origin's payloads from seq. */
static void send_fetch(struct cp_node *n, uint16_t origin, uint64_t seq, uint16_t count)
{
	uint8_t req[CP_FETCH_REQ_LEN];
	struct iovec iov = { req, sizeof(req) };
	uint16_t to = 0;

	if (n->leader && n->leader != n->self && n->rec.fetch_rr % 2 == 0)
		to = (uint16_t)n->leader;
	for (unsigned k = 0; !to && k < n->cfg.n_nodes; k++) {
		const struct rumor_node_conf *nc = &n->cfg.nodes[(n->rec.fetch_rr / 2 + k) % n->cfg.n_nodes];
		if (nc->id != n->self)
			to = nc->id;
	}
	n->rec.fetch_rr++;
	if (!to)
		return;
	cp_fetch_req_encode(req, origin, seq, count);
	if (cp_peer_send(n, to, CP_APP_FETCH_REQ, &iov, 1) == 0)
		n->st.fetches_sent++;
}

static void fetch_resp_send(struct cp_node *n, uint64_t to, uint8_t *buf, size_t len)
{
	struct iovec iov = { buf, len };

	if (cp_peer_send(n, to, CP_APP_FETCH_RESP, &iov, 1) == 0)
		n->st.fetch_served++;
}

void cp_recovery_serve_fetch(struct cp_node *n, uint64_t from, const uint8_t *p, size_t len)
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
	uint32_t decoded = UINT32_MAX; /* slot whose frame n->hold.frame holds: events share frames */
	for (uint64_t s = seq; s < seq + count; s++) {
		const struct cp_held_event *e = cp_held_get(&n->hold.held, origin, s);
		int w = -1;
		if (e) {
			const struct rumor_vc *clock = NULL; /* unknown unless its frame decodes */
			const struct cp_slot_frame *sf = &n->hold.slot_frame[e->slot];
			if (decoded != e->slot && sf->frame &&
			    rumor_wire_decode_rumor(sf->frame, sf->len, n->cfg.cluster_id, 0,
						    n->hold.frame) == 0)
				decoded = e->slot;
			if (decoded == e->slot) {
				rumor_vc_set(&n->hold.frame->clock, origin, s);
				clock = &n->hold.frame->clock;
			}
			w = cp_fetch_resp_add(buf + off, CP_FETCH_RESP_MAX - off, origin, s, &e->id,
					      e->payload, e->len, clock);
		} else if (cp_holder_frame_load(n, &n->hold.serve_pf, origin, s) == 0) {
			/* released here: the payload log has it */
			struct cp_plog_frame *pf = &n->hold.serve_pf;
			const struct rumor_wire_event *ev = &pf->f->ev[s - pf->first_seq];
			struct rumor_vc ts = pf->f->clock;
			rumor_vc_set(&ts, origin, s);
			w = cp_fetch_resp_add(buf + off, CP_FETCH_RESP_MAX - off, origin, s, &ev->id,
					      ev->payload, ev->len, &ts);
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

void cp_recovery_want(void *data, uint16_t origin, uint64_t seq, const struct rumor_event_id *id)
{
	struct cp_node *n = data;

	n->rec.want_id = *id;
	n->rec.want_first_ms = cp_now_ms(n);
	n->rec.want_origin = origin;
	n->rec.want_seq = seq;
	n->rec.want_since_ms = cp_now_ms(n);
	send_pull(n, origin, seq);
	send_fetch(n, origin, seq, CP_FETCH_MAX_RANGE);
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
void cp_recovery_prefetch(struct cp_node *n, const struct cp_batch *b)
{
	unsigned k = 0;

	if (n->rec.fetch.got.count >= PREFETCH_MAX_HELD)
		return; /* far behind: the apply fetches as it goes */
	if (!n->rec.want_origin && cp_fsm_queue_len(n->fsm) < PREFETCH_BACKLOG)
		return; /* keeping up: the few misses are fetched when the apply reaches them */
	for (uint32_t i = 0; i < b->n && k < CP_PREFETCH_MAX_BATCH; i++) {
		const struct cp_batch_rec *r = &b->recs[i];
		if (r->kind != CP_BATCH_EVENT || r->seq <= n->applied_through[r->origin] ||
		    cp_held_get(&n->hold.held, r->origin, r->seq) ||
		    cp_plog_has(n->plog, r->origin, r->seq) ||
		    cp_fetch_have(&n->rec.fetch, r->origin, r->seq))
			continue;
		n->rec.want_buf[k++] = (struct cp_want){ r->origin, r->seq };
	}
	if (!k)
		return;
	qsort(n->rec.want_buf, k, sizeof(n->rec.want_buf[0]), cmp_want);
	for (unsigned i = 0; i < k;) {
		unsigned j = i + 1;
		while (j < k && n->rec.want_buf[j].origin == n->rec.want_buf[i].origin &&
		       n->rec.want_buf[j].seq - n->rec.want_buf[i].seq < CP_FETCH_MAX_RANGE)
			j++;
		send_fetch(n, n->rec.want_buf[i].origin, n->rec.want_buf[i].seq,
			   (uint16_t)(n->rec.want_buf[j - 1].seq - n->rec.want_buf[i].seq + 1));
		n->st.prefetches += j - i;
		i = j;
	}
}

/* The apply still waits for the same payload: ask again, or drain if it came meanwhile. */
void cp_recovery_tick(struct cp_node *n, uint64_t now_ms)
{
	struct cp_recovery *r = &n->rec;

	if (!r->want_origin || now_ms - r->want_since_ms < CP_PULL_RETRY_MS)
		return;
	/* held, or readable here (a damaged record is not: it counts as missing) */
	if (cp_held_get(&n->hold.held, r->want_origin, r->want_seq) ||
	    cp_holder_frame_load(n, &n->hold.apply_pf, r->want_origin, r->want_seq) == 0) {
		cp_fsm_drain(n->fsm);
		return;
	}
	send_pull(n, r->want_origin, r->want_seq);
	send_fetch(n, r->want_origin, r->want_seq, CP_FETCH_MAX_RANGE);
	r->want_since_ms = now_ms;
}

int cp_recovery_init(struct cp_node *n)
{
	cp_fetch_init(&n->rec.fetch);
	n->rec.want_buf = malloc(CP_PREFETCH_MAX_BATCH * sizeof(*n->rec.want_buf));
	return n->rec.want_buf ? 0 : -ENOMEM;
}

void cp_recovery_free(struct cp_node *n)
{
	cp_fetch_fini(&n->rec.fetch);
	free(n->rec.fetch_tmp);
	free(n->rec.want_buf);
	memset(&n->rec, 0, sizeof(n->rec));
}
