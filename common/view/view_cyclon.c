/* Strategy "cyclon" (Voulgaris, Gavidia, van Steen, 2005): a fixed-size cache of (id, age);
 * every period the oldest entry is swapped out in a shuffle of l entries with that peer. */
#include <errno.h>

#include "view_impl.h"

static void put_entry(struct rumor_view *v, uint32_t id, uint8_t age)
{
	v->age[v->n_active] = age;
	v->active[v->n_active++] = id;
}

/* Up to @k random cache entries (not @ex) with their ages into @m. */
static void fill_sample(struct rumor_view *v, struct rumor_view_msg *m, size_t k, uint32_t ex)
{
	size_t base = m->n_ids;
	size_t n = view_sample(v, v->active, v->n_active, k, ex, RUMOR_VIEW_ID_NONE, m->ids + base);
	for (size_t i = 0; i < n; i++) {
		long j = view_find(v->active, v->n_active, m->ids[base + i]);
		m->ages[base + i] = v->age[j];
	}
	m->n_ids = (uint16_t)(base + n);
	m->flags = RUMOR_VIEW_F_AGES;
}

/* Cyclon's merge: skip self and known ids (keeping the younger age), fill free slots, then
 * replace entries we sent to the peer; anything left over is dropped. */
static void integrate(struct rumor_view *v, const uint32_t *ids, const uint8_t *ages, size_t n,
		      const uint32_t *sent, size_t n_sent)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t id = ids[i];
		if (id == v->cfg.self)
			continue;
		long j = view_find(v->active, v->n_active, id);
		if (j >= 0) {
			if (ages[i] < v->age[j])
				v->age[j] = ages[i];
			continue;
		}
		if (v->n_active < v->cfg.active_size) {
			put_entry(v, id, ages[i]);
			continue;
		}
		j = -1;
		while (k < n_sent && j < 0)
			j = view_find(v->active, v->n_active, sent[k++]);
		if (j < 0)
			break;
		v->active[j] = id;
		v->age[j] = ages[i];
	}
}

static int walk_end(struct rumor_view *v, uint32_t newcomer)
{
	if (view_find(v->active, v->n_active, newcomer) >= 0)
		return 0;
	struct rumor_view_msg *r = view_emit(v, RUMOR_VIEW_MSG_SHUFFLE_REPLY, newcomer);
	if (!r)
		return -ENOMEM;
	fill_sample(v, r, 1, newcomer);
	if (v->n_active < v->cfg.active_size) {
		put_entry(v, newcomer, 0);
	} else if (r->n_ids == 1) {
		long j = view_find(v->active, v->n_active, r->ids[0]);
		v->active[j] = newcomer;
		v->age[j] = 0;
	}
	return 0;
}

static int cy_join(struct rumor_view *v, uint64_t now_ms)
{
	(void)now_ms;
	for (size_t i = 0; i < v->n_contacts && v->n_active < v->cfg.active_size; i++)
		if (view_find(v->active, v->n_active, v->contacts[i]) < 0)
			put_entry(v, v->contacts[i], 0);
	uint32_t c = v->contacts[view_below(v, (uint32_t)v->n_contacts)];
	return view_emit(v, RUMOR_VIEW_MSG_JOIN, c) ? 0 : -ENOMEM;
}

static int cy_tick(struct rumor_view *v, uint64_t now_ms)
{
	if (v->n_active == 0 && v->n_contacts > 0)
		return cy_join(v, now_ms);
	if (now_ms < v->next_shuffle_ms || v->n_active == 0)
		return 0;
	v->next_shuffle_ms = now_ms + v->cfg.period_ms;
	size_t oldest = 0;
	for (size_t i = 0; i < v->n_active; i++) {
		if (v->age[i] < UINT8_MAX)
			v->age[i]++;
		if (v->age[i] > v->age[oldest])
			oldest = i;
	}
	uint32_t q = v->active[oldest];
	view_remove_active_at(v, oldest);
	struct rumor_view_msg *m = view_emit(v, RUMOR_VIEW_MSG_SHUFFLE, q);
	if (!m)
		return -ENOMEM;
	m->origin = v->cfg.self;
	m->ids[0] = v->cfg.self;
	m->ages[0] = 0;
	m->n_ids = 1;
	fill_sample(v, m, v->cfg.shuffle_len - 1u, q);
	v->n_sent = m->n_ids - 1u;
	for (size_t i = 0; i < v->n_sent; i++)
		v->sent[i] = m->ids[i + 1];
	v->stats.shuffles++;
	return 0;
}

static int cy_on_message(struct rumor_view *v, const struct rumor_view_msg *m, uint64_t now_ms)
{
	(void)now_ms;
	struct rumor_view_msg *r;
	switch (m->type) {
	case RUMOR_VIEW_MSG_JOIN:
		/* Cyclon's join: one random walk per cache slot; where a walk ends, that node
		 * swaps the newcomer in for one of its entries and hands it that entry, so the
		 * newcomer gets in-links at once and no link is lost. */
		if (v->n_active == 0)
			return walk_end(v, m->src);
		for (unsigned i = 0; i < v->cfg.active_size; i++) {
			uint32_t next;
			if (view_sample(v, v->active, v->n_active, 1, m->src, RUMOR_VIEW_ID_NONE,
					&next) == 0)
				return walk_end(v, m->src);
			r = view_emit(v, RUMOR_VIEW_MSG_FORWARD_JOIN, next);
			if (!r)
				return -ENOMEM;
			r->origin = m->src;
			r->ttl = v->cfg.prwl;
		}
		return 0;
	case RUMOR_VIEW_MSG_FORWARD_JOIN: {
		uint32_t next;
		if (m->origin == v->cfg.self)
			return 0;
		if (m->ttl == 0 || view_sample(v, v->active, v->n_active, 1, m->src, m->origin,
					       &next) == 0)
			return walk_end(v, m->origin);
		r = view_emit(v, RUMOR_VIEW_MSG_FORWARD_JOIN, next);
		if (!r)
			return -ENOMEM;
		r->origin = m->origin;
		r->ttl = (uint8_t)(m->ttl - 1);
		return 0;
	}
	case RUMOR_VIEW_MSG_SHUFFLE:
		if (!(m->flags & RUMOR_VIEW_F_AGES))
			return -EINVAL;
		r = view_emit(v, RUMOR_VIEW_MSG_SHUFFLE_REPLY, m->src);
		if (!r)
			return -ENOMEM;
		fill_sample(v, r, v->cfg.shuffle_len, m->src);
		integrate(v, m->ids, m->ages, m->n_ids, r->ids, r->n_ids);
		return 0;
	case RUMOR_VIEW_MSG_SHUFFLE_REPLY:
		if (!(m->flags & RUMOR_VIEW_F_AGES))
			return -EINVAL;
		integrate(v, m->ids, m->ages, m->n_ids, v->sent, v->n_sent);
		v->n_sent = 0;
		return 0;
	}
	return -EINVAL;
}

static int cy_on_peer_down(struct rumor_view *v, uint32_t id, uint64_t now_ms)
{
	(void)now_ms;
	long i = view_find(v->active, v->n_active, id);
	if (i >= 0)
		view_remove_active_at(v, (size_t)i);
	return 0;
}

const struct view_ops view_cyclon_ops = {
	.name = "cyclon",
	.join = cy_join,
	.tick = cy_tick,
	.on_message = cy_on_message,
	.on_peer_down = cy_on_peer_down,
};
