/* Strategy "hyparview" (Leitao, Pereira, Rodrigues, DSN 2007): small symmetric active view
 * kept by JOIN/FORWARD_JOIN walks, NEIGHBOR requests and DISCONNECT; larger passive view
 * refreshed by SHUFFLE walks and used for failure-driven repair. */
#include <errno.h>

#include "view_impl.h"

/* One rebalancing promotion per this many shuffle periods on average. */
#define VIEW_REBALANCE_PERIODS 8

static int send_simple(struct rumor_view *v, uint8_t type, uint32_t dst, uint8_t flags)
{
	struct rumor_view_msg *m = view_emit(v, type, dst);
	if (!m)
		return -ENOMEM;
	m->flags = flags;
	return 0;
}

static void add_passive(struct rumor_view *v, uint32_t id)
{
	if (id == v->cfg.self || id == RUMOR_VIEW_ID_NONE || v->cfg.passive_size == 0 ||
	    view_find(v->active, v->n_active, id) >= 0 ||
	    view_find(v->passive, v->n_passive, id) >= 0)
		return;
	if (v->n_passive == v->cfg.passive_size)
		view_remove_at(v->passive, &v->n_passive, view_below(v, (uint32_t)v->n_passive));
	v->passive[v->n_passive++] = id;
}

/* Add to the active view, evicting a random member (told by DISCONNECT) when full. */
static int add_active(struct rumor_view *v, uint32_t id)
{
	if (id == v->cfg.self || view_find(v->active, v->n_active, id) >= 0)
		return 0;
	long p = view_find(v->passive, v->n_passive, id);
	if (p >= 0)
		view_remove_at(v->passive, &v->n_passive, (size_t)p);
	if (v->n_active == v->cfg.active_size) {
		size_t i = view_below(v, (uint32_t)v->n_active);
		uint32_t old = v->active[i];
		view_remove_active_at(v, i);
		if (send_simple(v, RUMOR_VIEW_MSG_DISCONNECT, old, 0) != 0)
			return -ENOMEM;
		add_passive(v, old);
	}
	v->age[v->n_active] = 0;
	v->active[v->n_active++] = id;
	if (v->pending == id)
		v->pending = RUMOR_VIEW_ID_NONE;
	return 0;
}

/* Ask a random passive peer to become an active neighbour (one request at a time). */
static int try_repair(struct rumor_view *v, uint64_t now_ms)
{
	if (v->pending != RUMOR_VIEW_ID_NONE || v->n_active >= v->cfg.active_size ||
	    v->n_passive == 0 || v->attempts > v->cfg.passive_size)
		return 0;
	uint32_t r = v->passive[view_below(v, (uint32_t)v->n_passive)];
	v->pending = r;
	v->pending_since = now_ms;
	v->attempts++;
	v->stats.repairs++;
	return send_simple(v, RUMOR_VIEW_MSG_NEIGHBOR, r,
			   v->n_active == 0 ? RUMOR_VIEW_F_HIGH_PRIORITY : 0);
}

static int send_join(struct rumor_view *v)
{
	uint32_t c = v->contacts[view_below(v, (uint32_t)v->n_contacts)];
	int rc = add_active(v, c);
	if (rc == 0)
		rc = send_simple(v, RUMOR_VIEW_MSG_JOIN, c, 0);
	return rc;
}

static int hv_join(struct rumor_view *v, uint64_t now_ms)
{
	(void)now_ms;
	return send_join(v);
}

static int shuffle(struct rumor_view *v)
{
	if (v->n_active == 0)
		return 0;
	uint32_t target = v->active[view_below(v, (uint32_t)v->n_active)];
	struct rumor_view_msg *m = view_emit(v, RUMOR_VIEW_MSG_SHUFFLE, target);
	if (!m)
		return -ENOMEM;
	m->origin = v->cfg.self;
	m->ttl = v->cfg.arwl;
	m->ids[0] = v->cfg.self;
	size_t n = 1;
	n += view_sample(v, v->active, v->n_active, v->cfg.ka, target, RUMOR_VIEW_ID_NONE,
			 m->ids + n);
	n += view_sample(v, v->passive, v->n_passive, v->cfg.kp, target, RUMOR_VIEW_ID_NONE,
			 m->ids + n);
	m->n_ids = (uint16_t)n;
	v->n_sent = n - 1;
	for (size_t i = 1; i < n; i++)
		v->sent[i - 1] = m->ids[i];
	v->stats.shuffles++;
	return 0;
}

/* Extension to the paper: now and then a node with a full active view promotes a random
 * passive peer (high priority, so both sides evict one random member). Without it, groups
 * of active_size + 1 nodes whose full active views point only at each other (formed by the
 * evictions during joins) stay cut off forever: seen at N = 1000, active 4. */
static int rebalance(struct rumor_view *v, uint64_t now_ms)
{
	if (v->n_active < v->cfg.active_size || v->n_passive == 0 ||
	    v->pending != RUMOR_VIEW_ID_NONE || view_below(v, VIEW_REBALANCE_PERIODS) != 0)
		return 0;
	uint32_t r = v->passive[view_below(v, (uint32_t)v->n_passive)];
	v->pending = r;
	v->pending_since = now_ms;
	return send_simple(v, RUMOR_VIEW_MSG_NEIGHBOR, r, RUMOR_VIEW_F_HIGH_PRIORITY);
}

static int hv_tick(struct rumor_view *v, uint64_t now_ms)
{
	int rc = 0;
	v->attempts = 0;
	if (v->pending != RUMOR_VIEW_ID_NONE && now_ms - v->pending_since >= v->cfg.period_ms)
		v->pending = RUMOR_VIEW_ID_NONE; /* the reply was lost: give up on that peer */
	if (v->n_active == 0 && v->n_passive == 0 && v->n_contacts > 0)
		rc = send_join(v);
	if (rc == 0)
		rc = try_repair(v, now_ms);
	if (rc == 0 && now_ms >= v->next_shuffle_ms) {
		v->next_shuffle_ms = now_ms + v->cfg.period_ms;
		rc = shuffle(v);
		if (rc == 0)
			rc = rebalance(v, now_ms);
	}
	return rc;
}

/* Merge shuffled ids into the passive view, evicting first what we just offered. */
static void integrate(struct rumor_view *v, const uint32_t *ids, size_t n, const uint32_t *sent,
		      size_t n_sent)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t id = ids[i];
		if (id == v->cfg.self || view_find(v->active, v->n_active, id) >= 0 ||
		    view_find(v->passive, v->n_passive, id) >= 0)
			continue;
		if (v->n_passive == v->cfg.passive_size) {
			long j = -1;
			while (k < n_sent && j < 0)
				j = view_find(v->passive, v->n_passive, sent[k++]);
			if (j >= 0)
				view_remove_at(v->passive, &v->n_passive, (size_t)j);
		}
		add_passive(v, id);
	}
}

static int on_forward_join(struct rumor_view *v, const struct rumor_view_msg *m, uint64_t now)
{
	uint32_t n = m->origin;
	if (n == v->cfg.self)
		return 0;
	if (m->ttl == 0 || v->n_active <= 1) {
		/* End of the walk: become the newcomer's neighbour; it must accept (high). */
		v->pending_since = now;
		return send_simple(v, RUMOR_VIEW_MSG_NEIGHBOR, n, RUMOR_VIEW_F_HIGH_PRIORITY);
	}
	if (m->ttl == v->cfg.prwl)
		add_passive(v, n);
	uint32_t next;
	if (view_sample(v, v->active, v->n_active, 1, m->src, n, &next) == 0)
		return send_simple(v, RUMOR_VIEW_MSG_NEIGHBOR, n, RUMOR_VIEW_F_HIGH_PRIORITY);
	struct rumor_view_msg *f = view_emit(v, RUMOR_VIEW_MSG_FORWARD_JOIN, next);
	if (!f)
		return -ENOMEM;
	f->origin = n;
	f->ttl = (uint8_t)(m->ttl - 1);
	return 0;
}

static int on_shuffle(struct rumor_view *v, const struct rumor_view_msg *m)
{
	uint32_t o = m->origin;
	if (m->ttl > 1 && v->n_active > 1) {
		uint32_t next;
		if (view_sample(v, v->active, v->n_active, 1, m->src, o, &next) == 1) {
			struct rumor_view_msg *f = view_emit(v, RUMOR_VIEW_MSG_SHUFFLE, next);
			if (!f)
				return -ENOMEM;
			uint32_t fwd_src = f->src;
			*f = *m;
			f->src = fwd_src;
			f->dst = next;
			f->ttl = (uint8_t)(m->ttl - 1);
			return 0;
		}
	}
	if (o == v->cfg.self)
		return 0;
	struct rumor_view_msg *r = view_emit(v, RUMOR_VIEW_MSG_SHUFFLE_REPLY, o);
	if (!r)
		return -ENOMEM;
	r->n_ids = (uint16_t)view_sample(v, v->passive, v->n_passive, m->n_ids, o,
					 RUMOR_VIEW_ID_NONE, r->ids);
	integrate(v, m->ids, m->n_ids, r->ids, r->n_ids);
	return 0;
}

static int hv_on_message(struct rumor_view *v, const struct rumor_view_msg *m, uint64_t now_ms)
{
	int rc;
	switch (m->type) {
	case RUMOR_VIEW_MSG_JOIN:
		rc = add_active(v, m->src);
		for (size_t i = 0; rc == 0 && i < v->n_active; i++) {
			if (v->active[i] == m->src)
				continue;
			struct rumor_view_msg *f = view_emit(v, RUMOR_VIEW_MSG_FORWARD_JOIN,
							     v->active[i]);
			if (!f)
				return -ENOMEM;
			f->origin = m->src;
			f->ttl = v->cfg.arwl;
		}
		return rc;
	case RUMOR_VIEW_MSG_FORWARD_JOIN:
		return on_forward_join(v, m, now_ms);
	case RUMOR_VIEW_MSG_NEIGHBOR: {
		bool high = (m->flags & RUMOR_VIEW_F_HIGH_PRIORITY) != 0;
		bool ok = high || v->n_active < v->cfg.active_size ||
			  view_find(v->active, v->n_active, m->src) >= 0;
		if (ok && (rc = add_active(v, m->src)) != 0)
			return rc;
		return send_simple(v, RUMOR_VIEW_MSG_NEIGHBOR_REPLY, m->src,
				   ok ? RUMOR_VIEW_F_ACCEPT : 0);
	}
	case RUMOR_VIEW_MSG_NEIGHBOR_REPLY:
		if (m->flags & RUMOR_VIEW_F_ACCEPT) {
			if ((rc = add_active(v, m->src)) != 0)
				return rc;
		} else if (v->pending == m->src) {
			v->pending = RUMOR_VIEW_ID_NONE;
		}
		return try_repair(v, now_ms);
	case RUMOR_VIEW_MSG_DISCONNECT: {
		long i = view_find(v->active, v->n_active, m->src);
		if (i >= 0) {
			view_remove_active_at(v, (size_t)i);
			add_passive(v, m->src);
		}
		return 0;
	}
	case RUMOR_VIEW_MSG_SHUFFLE:
		if (m->flags & RUMOR_VIEW_F_AGES)
			return -EINVAL;
		return on_shuffle(v, m);
	case RUMOR_VIEW_MSG_SHUFFLE_REPLY:
		if (m->flags & RUMOR_VIEW_F_AGES)
			return -EINVAL;
		integrate(v, m->ids, m->n_ids, v->sent, v->n_sent);
		v->n_sent = 0;
		return 0;
	}
	return -EINVAL;
}

static int hv_on_peer_down(struct rumor_view *v, uint32_t id, uint64_t now_ms)
{
	long i = view_find(v->active, v->n_active, id);
	if (i >= 0)
		view_remove_active_at(v, (size_t)i);
	i = view_find(v->passive, v->n_passive, id);
	if (i >= 0)
		view_remove_at(v->passive, &v->n_passive, (size_t)i);
	if (v->pending == id)
		v->pending = RUMOR_VIEW_ID_NONE;
	return try_repair(v, now_ms);
}

const struct view_ops view_hyparview_ops = {
	.name = "hyparview",
	.join = hv_join,
	.tick = hv_tick,
	.on_message = hv_on_message,
	.on_peer_down = hv_on_peer_down,
};
