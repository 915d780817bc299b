/* common/view core: creation, defaults, PRNG, outbox, fan-out picking; dispatches to the
 * strategy table selected by the configuration. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "view_impl.h"
#include "rumor_rand.h"

#define VIEW_DEFAULT_PERIOD_MS 5000u

static uint64_t splitmix64(uint64_t *s)
{
	return rumor_splitmix64(s);
}

uint64_t view_rand(struct rumor_view *v)
{
	return splitmix64(&v->rng);
}

uint32_t view_below(struct rumor_view *v, uint32_t n)
{
	/* Multiply-shift: bias below 2^-32 per draw is irrelevant for peer sampling. */
	return (uint32_t)(((view_rand(v) >> 32) * (uint64_t)n) >> 32);
}

long view_find(const uint32_t *a, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] == id)
			return (long)i;
	return -1;
}

void view_remove_at(uint32_t *a, size_t *n, size_t i)
{
	a[i] = a[*n - 1];
	(*n)--;
}

void view_remove_active_at(struct rumor_view *v, size_t i)
{
	v->active[i] = v->active[v->n_active - 1];
	v->age[i] = v->age[v->n_active - 1];
	v->n_active--;
}

size_t view_sample(struct rumor_view *v, const uint32_t *a, size_t n, size_t k, uint32_t ex1,
		   uint32_t ex2, uint32_t *out)
{
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (a[i] != ex1 && a[i] != ex2)
			v->scratch[m++] = a[i];
	if (k > m)
		k = m;
	for (size_t i = 0; i < k; i++) {
		size_t j = i + view_below(v, (uint32_t)(m - i));
		uint32_t t = v->scratch[i];
		v->scratch[i] = v->scratch[j];
		v->scratch[j] = t;
		out[i] = v->scratch[i];
	}
	return k;
}

struct rumor_view_msg *view_emit(struct rumor_view *v, uint8_t type, uint32_t dst)
{
	if (v->out_head > 0 && v->out_head == v->out_len)
		v->out_head = v->out_len = 0;
	if (v->out_len == v->out_cap) {
		if (v->out_head > 0) {
			memmove(v->out, v->out + v->out_head,
				(v->out_len - v->out_head) * sizeof(*v->out));
			v->out_len -= v->out_head;
			v->out_head = 0;
		} else {
			size_t cap = v->out_cap ? v->out_cap * 2 : 4;
			struct rumor_view_msg *o = realloc(v->out, cap * sizeof(*o));
			if (!o)
				return NULL;
			v->out = o;
			v->out_cap = cap;
		}
	}
	struct rumor_view_msg *m = &v->out[v->out_len++];
	m->type = type;
	m->flags = 0;
	m->ttl = 0;
	m->n_ids = 0;
	m->src = v->cfg.self;
	m->dst = dst;
	m->origin = 0;
	m->epoch = 0;
	v->stats.msgs_out++;
	return m;
}

const char *rumor_view_strategy_name(enum rumor_view_strategy s)
{
	switch (s) {
	case RUMOR_VIEW_STATIC: return "static";
	case RUMOR_VIEW_LEADER: return "leader";
	case RUMOR_VIEW_HYPARVIEW: return "hyparview";
	case RUMOR_VIEW_CYCLON: return "cyclon";
	}
	return "?";
}

int rumor_view_strategy_parse(const char *name, enum rumor_view_strategy *out)
{
	static const enum rumor_view_strategy all[] = {RUMOR_VIEW_STATIC, RUMOR_VIEW_LEADER,
						       RUMOR_VIEW_HYPARVIEW, RUMOR_VIEW_CYCLON};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (name && strcmp(name, rumor_view_strategy_name(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	return -EINVAL;
}

static unsigned log_size(uint32_t n_hint)
{
	/* HyParView paper: active = log10(N) + c with c = 1, rounded up. */
	if (n_hint < 2)
		n_hint = 2;
	return (unsigned)ceil(log10((double)n_hint)) + 1;
}

static void resolve(struct rumor_view_config *c)
{
	unsigned base = log_size(c->n_hint);
	if (!c->active_size)
		c->active_size = (uint16_t)(c->strategy == RUMOR_VIEW_CYCLON ? 4 * base : base);
	if (!c->passive_size)
		c->passive_size = (uint16_t)(c->strategy == RUMOR_VIEW_HYPARVIEW ? 6 * c->active_size : 0);
	if (!c->shuffle_len)
		c->shuffle_len = (uint16_t)(c->active_size / 4 > 3 ? c->active_size / 4 : 3);
	if (c->shuffle_len > c->active_size)
		c->shuffle_len = c->active_size;
	if (!c->arwl)
		c->arwl = 6;
	if (!c->prwl)
		c->prwl = 3;
	if (!c->ka)
		c->ka = 3;
	if (!c->kp)
		c->kp = 4;
	if (!c->period_ms)
		c->period_ms = VIEW_DEFAULT_PERIOD_MS;
}

void rumor_view_config_defaults(struct rumor_view_config *cfg, enum rumor_view_strategy strategy,
				uint32_t self, uint32_t n_hint, uint64_t seed)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->strategy = strategy;
	cfg->self = self;
	cfg->n_hint = n_hint;
	cfg->seed = seed;
	resolve(cfg);
}

int rumor_view_create(const struct rumor_view_config *cfg, struct rumor_view **out)
{
	struct rumor_view_config c = *cfg;
	const struct view_ops *ops;

	switch (c.strategy) {
	case RUMOR_VIEW_STATIC: ops = &view_static_ops; break;
	case RUMOR_VIEW_LEADER: ops = &view_leader_ops; break;
	case RUMOR_VIEW_HYPARVIEW: ops = &view_hyparview_ops; break;
	case RUMOR_VIEW_CYCLON: ops = &view_cyclon_ops; break;
	default: return -EINVAL;
	}
	if (c.self == RUMOR_VIEW_ID_NONE)
		return -EINVAL;
	resolve(&c);
	if (c.active_size > RUMOR_VIEW_MSG_MAX_IDS || c.passive_size > RUMOR_VIEW_MAX_PASSIVE ||
	    c.shuffle_len > c.active_size || c.ka + c.kp + 1 > RUMOR_VIEW_MSG_MAX_IDS ||
	    c.prwl > c.arwl)
		return -EINVAL;
	if (c.strategy == RUMOR_VIEW_LEADER)
		c.active_size = RUMOR_VIEW_MSG_MAX_IDS; /* the leader decides the size */

	struct rumor_view *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->ops = ops;
	v->cfg = c;
	v->rng = c.seed ^ ((uint64_t)c.self * 0xd1342543de82ef95ull);
	(void)view_rand(v);
	v->cap_active = c.active_size;
	v->active = calloc(v->cap_active + 1, sizeof(*v->active));
	v->age = calloc(v->cap_active + 1, 1);
	v->passive = calloc((size_t)c.passive_size + 1, sizeof(*v->passive));
	v->scratch = calloc(v->cap_active + c.passive_size + RUMOR_VIEW_MSG_MAX_IDS + 1,
			    sizeof(*v->scratch));
	if (!v->active || !v->age || !v->passive || !v->scratch) {
		rumor_view_destroy(v);
		return -ENOMEM;
	}
	*out = v;
	return 0;
}

void rumor_view_destroy(struct rumor_view *v)
{
	if (!v)
		return;
	free(v->active);
	free(v->age);
	free(v->passive);
	free(v->scratch);
	free(v->out);
	free(v);
}

const struct rumor_view_config *rumor_view_get_config(const struct rumor_view *v)
{
	return &v->cfg;
}

int rumor_view_join(struct rumor_view *v, const uint32_t *contacts, size_t n, uint64_t now_ms)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t id = contacts[i];
		if (id == RUMOR_VIEW_ID_NONE || id == v->cfg.self)
			continue;
		if (v->ops == &view_static_ops) {
			/* static keeps every contact, not just the remembered few */
			if (view_find(v->active, v->n_active, id) >= 0)
				continue;
			if (v->n_active == v->cap_active) {
				size_t cap = v->cap_active * 2 + 8;
				uint32_t *a = realloc(v->active, (cap + 1) * sizeof(*a));
				if (!a)
					return -ENOMEM;
				v->active = a;
				uint8_t *g = realloc(v->age, cap + 1);
				if (!g)
					return -ENOMEM;
				v->age = g;
				uint32_t *s = realloc(v->scratch, (cap + 1) * sizeof(*s));
				if (!s)
					return -ENOMEM;
				v->scratch = s;
				v->cap_active = cap;
			}
			v->age[v->n_active] = 0;
			v->active[v->n_active++] = id;
		}
		if (view_find(v->contacts, k, id) < 0 && k < VIEW_MAX_CONTACTS)
			v->contacts[k++] = id;
	}
	if (k == 0 && v->n_active == 0)
		return -EINVAL;
	if (k > 0)
		v->n_contacts = k;
	return v->ops->join(v, now_ms);
}

int rumor_view_tick(struct rumor_view *v, uint64_t now_ms)
{
	if (!v->started) {
		v->started = true;
		/* A random phase spreads everybody's shuffles over the period. */
		v->next_shuffle_ms = now_ms + view_below(v, v->cfg.period_ms) + 1;
	}
	return v->ops->tick(v, now_ms);
}

int rumor_view_on_message(struct rumor_view *v, const struct rumor_view_msg *m, uint64_t now_ms)
{
	/* The leader assigns its own view through the same path, hence src == self there. */
	if (rumor_view_msg_validate(m) != 0 || m->dst != v->cfg.self ||
	    (m->src == v->cfg.self && m->type != RUMOR_VIEW_MSG_VIEW_ASSIGN)) {
		v->stats.msgs_rejected++;
		return -EINVAL;
	}
	v->stats.msgs_in++;
	int rc = v->ops->on_message(v, m, now_ms);
	if (rc == -EINVAL)
		v->stats.msgs_rejected++;
	return rc;
}

int rumor_view_on_peer_down(struct rumor_view *v, uint32_t id, uint64_t now_ms)
{
	if (id == RUMOR_VIEW_ID_NONE || id == v->cfg.self)
		return 0;
	v->stats.peers_down++;
	return v->ops->on_peer_down(v, id, now_ms);
}

const uint32_t *rumor_view_active(const struct rumor_view *v, size_t *n)
{
	*n = v->n_active;
	return v->active;
}

const uint32_t *rumor_view_passive(const struct rumor_view *v, size_t *n)
{
	*n = v->n_passive;
	return v->passive;
}

bool rumor_view_has_active(const struct rumor_view *v, uint32_t id)
{
	return view_find(v->active, v->n_active, id) >= 0;
}

int rumor_view_pick(struct rumor_view *v, unsigned n, uint32_t exclude, uint32_t *out,
		    size_t *n_out)
{
	*n_out = view_sample(v, v->active, v->n_active, n, exclude, RUMOR_VIEW_ID_NONE, out);
	return 0;
}

int rumor_view_outbox_pop(struct rumor_view *v, struct rumor_view_msg *out)
{
	if (v->out_head == v->out_len)
		return -EAGAIN;
	*out = v->out[v->out_head++];
	if (v->out_head == v->out_len) {
		v->out_head = v->out_len = 0;
		if (v->out_cap > 32) {
			/* a join burst grew it; 100,000 idle views should not keep that */
			free(v->out);
			v->out = NULL;
			v->out_cap = 0;
		}
	}
	return 0;
}

size_t rumor_view_outbox_len(const struct rumor_view *v)
{
	return v->out_len - v->out_head;
}

void rumor_view_get_stats(const struct rumor_view *v, struct rumor_view_stats *out)
{
	*out = v->stats;
}
