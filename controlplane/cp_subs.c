/* cp_subs: the API's clients. Originations wait for the dataplane's stamp, then answer at
 * their ack level (stamped, durable, applied); watchers get gossip and ordered streams.
 * Originations also wait for the seq floor: the dataplane must stamp above every seq the
 * cluster has seen from us (a wiped node would otherwise stamp seq 1 again). */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cp_api.h"
#include "cp_members.h"
#include "cp_metrics.h"
#include "cp_node_int.h"
#include "cp_order.h"
#include "cp_plog.h"

static void orig_stamped(struct cp_node *n, struct cp_orig *o, uint64_t first_seq);

void cp_subs_notify_gossip(struct cp_node *n, const struct rumor_wire_frame *f)
{
	for (struct cp_watcher *w = n->subs.watchers; w; w = w->next) {
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

/* Reply to a send, with the client's tag when it gave one. */
static void reply_tagged(struct cp_api_client *c, json_t *r, bool has_tag, int64_t tag)
{
	if (has_tag)
		json_object_set_new(r, "tag", json_integer(tag));
	cp_api_reply(c, r);
}

/* The successful replies to sends (one or more per request at the maximum load) are written
 * as lines, without jansson objects: the same keys in the same order as json_pack and
 * json_dumps(JSON_COMPACT) gave. reply_begin starts {"ok":true, and the rest follows. */
static struct cp_jsonl *reply_begin(struct cp_node *n)
{
	static const char head[] = "{\"ok\":true,";
	struct cp_jsonl *l = &n->subs.reply;

	cp_jsonl_reset(l);
	cp_jsonl_raw(l, head, sizeof(head) - 1);
	return l;
}

static void reply_key_u64(struct cp_jsonl *l, const char *key, uint64_t v)
{
	cp_jsonl_raw(l, key, strlen(key));
	cp_jsonl_u64(l, v);
}

static void reply_key_id(struct cp_jsonl *l, const char *key, const char *hex)
{
	cp_jsonl_raw(l, key, strlen(key));
	cp_jsonl_raw(l, "\"", 1);
	cp_jsonl_raw(l, hex, strlen(hex));
	cp_jsonl_raw(l, "\"", 1);
}

/* ,"tag":T} and the line to @c (none when out of memory, as json_pack's NULL gave none) */
static void reply_end(struct cp_api_client *c, struct cp_jsonl *l, bool has_tag, int64_t tag)
{
	if (has_tag) {
		cp_jsonl_raw(l, ",\"tag\":", 7);
		if (tag < 0)
			cp_jsonl_raw(l, "-", 1);
		cp_jsonl_u64(l, tag < 0 ? -(uint64_t)tag : (uint64_t)tag);
	}
	cp_jsonl_raw(l, "}", 1);
	if (!l->oom)
		cp_api_reply_line(c, l->p, l->len);
}

/* Our events through @through are on a majority's disks (the leader said so, or they were
 * applied): answer the clients that asked for "durable". */
/* The highest seq of @origin this node knows of: ordered, in its payload log, reported to
 * it while leading. */
uint64_t cp_subs_seq_seen(struct cp_node *n, uint16_t origin)
{
	uint64_t s = cp_fsm_watermark(n->fsm, origin);
	struct cp_order_origin_info oi;

	if (cp_plog_max_seq(n->plog, origin) > s)
		s = cp_plog_max_seq(n->plog, origin);
	if (n->applied_through[origin] > s)
		s = n->applied_through[origin];
	if (n->lead.leading && cp_order_origin_info(n->order, origin, &oi) == 0 && oi.max_seq > s)
		s = oi.max_seq;
	return s;
}

/* Originations that waited for the floor, in the order they came (after the floor itself:
 * the ring keeps order). What the ring does not take waits for the next tick. */
static void send_parked(struct cp_node *n)
{
	unsigned i = 0;

	while (i < n->subs.parked_n && n->env.dp_send(n->env.arg, n->subs.parked[i]) == 0)
		i++;
	memmove(n->subs.parked, n->subs.parked + i, (n->subs.parked_n - i) * sizeof(n->subs.parked[0]));
	n->subs.parked_n -= i;
}

/* Originations wait until the dataplane stamps above every seq the cluster has seen from
 * us: a node whose state dir was wiped would otherwise stamp seq 1 again. */
void cp_subs_set_seq_floor(struct cp_node *n, uint64_t floor)
{
	struct rumor_msg *m;

	if (floor < cp_subs_seq_seen(n, n->self))
		floor = cp_subs_seq_seen(n, n->self);
	if (cp_dp_alloc(n, RUMOR_MSG_SEQ_FLOOR, &m) < 0)
		return; /* ring full: asked again */
	m->u.seq_floor.floor = floor;
	if (cp_dp_send(n, m) < 0)
		return;
	n->subs.seq_floor = floor;
	n->subs.seq_floor_known = true;
	LOG(n, "originating above seq %" PRIu64, floor);
	send_parked(n);
}

static void learn_seq_floor(struct cp_node *n, uint64_t now_ms)
{
	if (n->subs.seq_floor_known || !n->leader || !n->dp_alive)
		return;
	if (n->lead.leading) {
		/* after one re-report round of the followers, the order has seen what they hold */
		if (now_ms - n->lead.leading_since_ms >= 2 * CP_PULL_RETRY_MS)
			cp_subs_set_seq_floor(n, 0);
		return;
	}
	if (now_ms - n->subs.seq_query_ms < CP_PULL_RETRY_MS)
		return;
	n->subs.seq_query_ms = now_ms;
	struct iovec iov = { NULL, 0 };
	cp_peer_send(n, n->leader, CP_APP_SEQ_QUERY, &iov, 0);
}

static void durable_reply(struct cp_node *n, struct cp_waiter *w, const char *error)
{
	char hex[33];

	if (w->client && !error) {
		cp_metrics_observe(n->metrics, CP_ACK_DURABLE, w->t0_us, cp_now_us(n));
		rumor_event_id_hex(&w->id, hex);
		struct cp_jsonl *l = reply_begin(n);
		cp_jsonl_raw(l, "\"ack\":\"durable\"", 15);
		reply_key_id(l, ",\"id\":", hex);
		reply_key_u64(l, ",\"origin\":", n->self);
		reply_key_u64(l, ",\"first_seq\":", w->first_seq);
		reply_key_u64(l, ",\"seq\":", w->seq);
		reply_end(w->client, l, w->has_tag, w->tag);
	} else if (w->client) {
		reply_tagged(w->client, json_pack("{s:b, s:s}", "ok", 0, "error", error),
			     w->has_tag, w->tag);
	}
	free(w);
}

/* Answer the durable waiters whose seq is in [lo, hi]: ok, or @error. */
static void durable_answer(struct cp_node *n, uint64_t lo, uint64_t hi, const char *error)
{
	struct cp_subs *s = &n->subs;

	for (struct cp_waiter **pp = &s->dwaiters; *pp && (*pp)->seq <= hi;) {
		struct cp_waiter *w = *pp;
		if (w->seq < lo) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		if (s->dwaiters_tail == &w->next)
			s->dwaiters_tail = pp;
		durable_reply(n, w, error);
	}
}

void cp_subs_durable_reached(struct cp_node *n, uint64_t through, uint64_t floor)
{
	struct cp_subs *s = &n->subs;

	if (through > s->durable_through) {
		s->durable_through = through;
		s->durable_floor = floor;
	}
	/* at or below the floor, the seq's fate is committed: the apply answers it */
	if (s->durable_through > s->durable_floor)
		durable_answer(n, s->durable_floor + 1, s->durable_through, NULL);
}

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

void cp_subs_on_originate_ack(struct cp_node *n, const struct rumor_msg_originate_ack *a)
{
	struct cp_orig **pp = &n->subs.origs, *o;
	struct cp_reqid_rec *rec;

	while (*pp && (*pp)->req_id != a->req_id)
		pp = &(*pp)->next;
	if (!(o = *pp))
		return;
	*pp = o->next;
	if (a->status < 0) {
		n->st.originate_refused++;
		if (o->reqid[0] && (rec = cp_reqids_find(&n->subs.reqids, o->reqid)))
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
	if (o->reqid[0] && (rec = cp_reqids_find(&n->subs.reqids, o->reqid))) {
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
		cp_metrics_observe(n->metrics, CP_ACK_STAMPED, o->t0_us, cp_now_us(n));
	if (o->client && o->ack == CP_ACK_STAMPED && !o->ids) {
		struct cp_jsonl *l = reply_begin(n);
		reply_key_u64(l, "\"origin\":", n->self);
		reply_key_u64(l, ",\"first_seq\":", a->first_seq);
		reply_key_u64(l, ",\"count\":", a->count);
		reply_end(o->client, l, o->has_tag, o->tag);
		free(o);
		return;
	}
	/* stamped: every event's id in the reply; durable or applied: the last one's waits */
	bool stamped = o->client && o->ack == CP_ACK_STAMPED;
	struct cp_jsonl *l = NULL;
	if (stamped) {
		l = reply_begin(n);
		reply_key_u64(l, "\"origin\":", n->self);
		reply_key_u64(l, ",\"first_seq\":", a->first_seq);
		cp_jsonl_raw(l, ",\"ids\":[", 8);
	}
	size_t off = 0;
	const uint8_t *ev;
	uint16_t len;
	for (uint16_t i = 0;
	     i < o->count && rumor_msg_originate_next(o->data, o->data_len, &off, &ev, &len) == 1;
	     i++) {
		struct rumor_event_id id;
		char hex[33];
		if (!stamped && !(o->client && i + 1 == o->count))
			continue; /* an id nobody reads */
		rumor_event_id_compute(n->self, a->first_seq + i, ev, len, &id);
		if (stamped) {
			rumor_event_id_hex(&id, hex);
			reply_key_id(l, i ? "," : "", hex);
		}
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
				waiter_insert(&n->subs.waiters, &n->subs.waiters_tail, w);
			else
				waiter_insert(&n->subs.dwaiters, &n->subs.dwaiters_tail, w);
		}
	}
	if (stamped) {
		cp_jsonl_raw(l, "]", 1);
		reply_end(o->client, l, o->has_tag, o->tag);
	}
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
	if (opt->ack != CP_ACK_STAMPED && rec->outcome != CP_REQID_PENDING) {
		json_t *r;
		if (rec->outcome == CP_REQID_APPLIED) {
			struct rumor_event_id id;
			char hex[33];
			size_t off = 0;
			const uint8_t *ev = NULL;
			uint16_t len = 0;
			for (uint16_t i = 0; i < count; i++)
				if (rumor_msg_originate_next(data, data_len, &off, &ev, &len) != 1)
					return -EINVAL;
			rumor_event_id_compute(n->self, last, ev, len, &id);
			rumor_event_id_hex(&id, hex);
			r = json_pack("{s:b, s:s, s:i, s:I, s:I, s:b}", "ok", 1, "id", hex, "origin",
				      n->self, "seq", (json_int_t)last, "gseq", (json_int_t)rec->gseq,
				      "retry", 1);
			if (opt->ack == CP_ACK_DURABLE) /* applied: durable too */
				json_object_set_new(r, "ack", json_string("durable"));
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
			       .data_len = data_len, .t0_us = cp_now_us(n) };
	memcpy(o->data, data, data_len);
	n->st.send_retries++;
	orig_stamped(n, o, rec->first_seq);
	cp_subs_durable_reached(n, 0, 0); /* events known durable already answer at once */
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
		rec = cp_reqids_find(&n->subs.reqids, opt->reqid);
		if (rec && rec->state == CP_REQID_INFLIGHT)
			return -EINPROGRESS;
		if (rec && rec->state == CP_REQID_STAMPED)
			return answer_retry(n, client, opt, rec, data, data_len, count);
	}
	bool park = !n->subs.seq_floor_known || n->subs.parked_n; /* behind earlier parked ones */
	if (park && n->subs.parked_n == CP_PARKED_MAX)
		return -EAGAIN;
	if (cp_plog_error(n->plog) < 0)
		return cp_plog_error(n->plog); /* -ENOSPC: disk full; nothing accepted is lost */
	if (n->disk_low)
		return -ENOSPC;
	if (data_len > n->orig_cap)
		return -EMSGSIZE;
	if (cp_dp_alloc(n, RUMOR_MSG_ORIGINATE, &m) < 0)
		return -ENOBUFS;
	o = malloc(sizeof(*o) + data_len);
	if (!o) {
		n->env.dp_free(n->env.arg, m);
		return -ENOMEM;
	}
	*o = (struct cp_orig){ .req_id = ++n->subs.next_req, .client = client, .ack = opt->ack,
			       .ids = opt->ids, .has_tag = opt->has_tag, .tag = opt->tag,
			       .count = count, .data_len = data_len, .t0_us = cp_now_us(n) };
	memcpy(o->data, data, data_len);
	if (opt->reqid && opt->reqid[0]) {
		if (!rec && !(rec = cp_reqids_add(&n->subs.reqids, opt->reqid))) {
			n->env.dp_free(n->env.arg, m);
			free(o);
			return -ENOMEM;
		}
		rec->state = CP_REQID_INFLIGHT;
		strcpy(o->reqid, opt->reqid);
	}
	m->u.originate.req_id = o->req_id;
	m->u.originate.count = count;
	m->u.originate.data_len = data_len;
	memcpy(rumor_msg_originate_data(m), data, data_len); /* may run past the array (jumbo) */
	if (park)
		n->subs.parked[n->subs.parked_n++] = m; /* sent once the dataplane stamps above the floor */
	else if (cp_dp_send(n, m) < 0) {
		free(o);
		return -ENOBUFS;
	}
	o->next = n->subs.origs;
	n->subs.origs = o;
	return 0;
}

void cp_subs_notify_applied(struct cp_node *n, const struct cp_fsm_entry *e, const char *clock,
			   const char *hex)
{
	struct cp_jsonl *l = &n->line;
	bool formatted = false;

	for (struct cp_watcher *w = n->subs.watchers; w; w = w->next) {
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
		/* applied as itself: durable at a majority; skipped or rejected: never will be */
		durable_answer(n, e->seq, e->seq_last, e->kind == CP_BATCH_EVENT ? NULL :
			       e->kind == CP_BATCH_SKIP ? "the event was skipped (not ordered)" :
			       "the event was rejected (not ordered)");
		cp_reqids_applied(&n->subs.reqids, e->seq_last, e->gseq, e->kind == CP_BATCH_EVENT);
	}
	/* a skip answers every waiter of its range at once */
	while (e->origin == n->self && n->subs.waiters && n->subs.waiters->seq <= e->seq_last) {
		struct cp_waiter *w = n->subs.waiters;
		n->subs.waiters = w->next;
		if (!n->subs.waiters)
			n->subs.waiters_tail = &n->subs.waiters;
		if (w->client) {
			if (w->seq == e->seq && e->kind == CP_BATCH_EVENT &&
			    rumor_event_id_equal(&w->id, &e->id)) {
				cp_metrics_observe(n->metrics, CP_ACK_APPLIED, w->t0_us,
						   cp_now_us(n));
				struct cp_jsonl *l = reply_begin(n);
				reply_key_id(l, "\"id\":", hex);
				reply_key_u64(l, ",\"origin\":", n->self);
				reply_key_u64(l, ",\"seq\":", e->seq);
				reply_key_u64(l, ",\"gseq\":", e->gseq);
				reply_end(w->client, l, w->has_tag, w->tag);
			} else {
				char msg[128];
				snprintf(msg, sizeof(msg), w->seq == e->seq && e->kind == CP_BATCH_EVENT ?
					 "event %u:%" PRIu64 " is another event (its seq was reused)" :
					 "event %u:%" PRIu64 " was skipped", n->self, w->seq);
				if (w->seq == e->seq && e->kind == CP_BATCH_REJECT)
					cp_members_reject_msg(msg, sizeof(msg), n->self, e);
				reply_tagged(w->client, json_pack("{s:b, s:s}", "ok", 0, "error", msg),
					     w->has_tag, w->tag);
			}
		}
		free(w);
	}
}

/* Free the watchers whose client left (cp_cmd only marks them: it runs inside replies). */
void cp_subs_reap_watchers(struct cp_node *n)
{
	for (struct cp_watcher **pp = &n->subs.watchers; *pp;) {
		struct cp_watcher *w = *pp;
		if (w->client) {
			pp = &w->next;
		} else {
			*pp = w->next;
			free(w);
		}
	}
}

/* The tick's part: ask for the floor, and send what waited for it or for room. */
void cp_subs_tick(struct cp_node *n, uint64_t now_ms)
{
	learn_seq_floor(n, now_ms);
	if (n->subs.parked_n && n->subs.seq_floor_known)
		send_parked(n);
}

int cp_subs_init(struct cp_node *n)
{
	n->subs.waiters_tail = &n->subs.waiters;
	n->subs.dwaiters_tail = &n->subs.dwaiters;
	return cp_reqids_init(&n->subs.reqids, CP_REQIDS_WINDOW);
}

/* Everything pending is dropped (a crash of rumor-cp: its clients see the connection go). */
void cp_subs_free(struct cp_node *n)
{
	struct cp_subs *s = &n->subs;

	for (struct cp_orig *o = s->origs, *next; o; o = next) {
		next = o->next;
		free(o);
	}
	struct cp_waiter *lists[2] = { s->waiters, s->dwaiters };
	for (int i = 0; i < 2; i++)
		for (struct cp_waiter *w = lists[i], *next; w; w = next) {
			next = w->next;
			free(w);
		}
	for (struct cp_watcher *w = s->watchers, *next; w; w = next) {
		next = w->next;
		free(w);
	}
	for (unsigned i = 0; i < s->parked_n; i++)
		n->env.dp_free(n->env.arg, s->parked[i]);
	cp_reqids_fini(&s->reqids);
	cp_jsonl_free(&s->reply);
	memset(s, 0, sizeof(*s));
}
