/* Gossip simulation engine: runs the real common/view strategies for N nodes with message
 * delivery in memory (FIFO, one global clock), failures, churn and push gossip. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "rumor_rand.h"

struct gsim {
	struct gsim_config cfg;
	struct rumor_view **v;      /* index id - 1 */
	uint8_t *alive;
	uint32_t n_alive;
	uint64_t now;
	uint64_t rng;
	uint64_t views_created;

	struct rumor_view_msg *q;   /* ring */
	size_t qh, qn, qcap;
	uint64_t delivered, refused;

	uint16_t leader_size;
	uint32_t epoch;
	uint32_t since_assign;
	bool membership_changed;

	uint32_t *tmp;              /* n_nodes scratch */
	uint32_t *tmp2;
};

static uint64_t rnd(struct gsim *s)
{
	return rumor_splitmix64(&s->rng);
}

static uint32_t below(struct gsim *s, uint32_t n)
{
	return (uint32_t)(((rnd(s) >> 32) * (uint64_t)n) >> 32);
}

static int new_view(struct gsim *s, uint32_t id)
{
	struct rumor_view_config c;
	rumor_view_config_defaults(&c, s->cfg.strategy, id, s->cfg.n_nodes,
				   s->cfg.seed ^ (s->views_created++ * 0x2545f4914f6cdd1dull));
	if (s->cfg.active_size) {
		c.active_size = s->cfg.active_size;
		if (c.strategy == RUMOR_VIEW_HYPARVIEW)
			c.passive_size = (uint16_t)(6 * c.active_size);
		c.shuffle_len = (uint16_t)(c.active_size / 4 > 3 ? c.active_size / 4 : 3);
		if (c.shuffle_len > c.active_size)
			c.shuffle_len = c.active_size;
	}
	if (s->cfg.passive_size)
		c.passive_size = s->cfg.passive_size;
	if (s->cfg.shuffle_len)
		c.shuffle_len = s->cfg.shuffle_len;
	c.period_ms = s->cfg.round_ms;
	rumor_view_destroy(s->v[id - 1]);
	s->v[id - 1] = NULL;
	return rumor_view_create(&c, &s->v[id - 1]);
}

int gsim_create(const struct gsim_config *cfg, struct gsim **out)
{
	if (cfg->n_nodes < 2 || cfg->n_nodes > 10000000)
		return -EINVAL;
	struct gsim *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	if (!s->cfg.round_ms)
		s->cfg.round_ms = 1000;
	if (!s->cfg.leader_refresh)
		s->cfg.leader_refresh = 10;
	s->rng = cfg->seed * 0x9e3779b97f4a7c15ull + 1;
	uint32_t n = cfg->n_nodes;
	s->v = calloc(n, sizeof(*s->v));
	s->alive = calloc(n, 1);
	s->tmp = calloc(n + 1, sizeof(*s->tmp));
	s->tmp2 = calloc(n + 1, sizeof(*s->tmp2));
	if (!s->v || !s->alive || !s->tmp || !s->tmp2) {
		gsim_destroy(s);
		return -ENOMEM;
	}
	struct rumor_view_config hv;
	rumor_view_config_defaults(&hv, RUMOR_VIEW_HYPARVIEW, 1, n, 0);
	s->leader_size = cfg->active_size ? cfg->active_size : hv.active_size;
	for (uint32_t id = 1; id <= n; id++) {
		int rc = new_view(s, id);
		if (rc != 0) {
			gsim_destroy(s);
			return rc;
		}
		s->alive[id - 1] = 1;
	}
	s->n_alive = n;
	*out = s;
	return 0;
}

void gsim_destroy(struct gsim *s)
{
	if (!s)
		return;
	if (s->v)
		for (uint32_t i = 0; i < s->cfg.n_nodes; i++)
			rumor_view_destroy(s->v[i]);
	free(s->v);
	free(s->alive);
	free(s->tmp);
	free(s->tmp2);
	free(s->q);
	free(s);
}

bool gsim_alive(const struct gsim *s, uint32_t id)
{
	return id >= 1 && id <= s->cfg.n_nodes && s->alive[id - 1];
}

struct rumor_view *gsim_view(struct gsim *s, uint32_t id)
{
	return s->v[id - 1];
}

uint64_t gsim_delivered(const struct gsim *s)
{
	return s->delivered;
}

uint64_t gsim_refused(const struct gsim *s)
{
	return s->refused;
}

uint32_t gsim_random_alive(struct gsim *s)
{
	if (s->n_alive == 0)
		return 0;
	for (;;) {
		uint32_t id = below(s, s->cfg.n_nodes) + 1;
		if (s->alive[id - 1])
			return id;
	}
}

static int push(struct gsim *s, const struct rumor_view_msg *m)
{
	if (s->qn == s->qcap) {
		size_t cap = s->qcap ? s->qcap * 2 : 1024;
		struct rumor_view_msg *q = malloc(cap * sizeof(*q));
		if (!q)
			return -ENOMEM;
		for (size_t i = 0; i < s->qn; i++)
			q[i] = s->q[(s->qh + i) % s->qcap];
		free(s->q);
		s->q = q;
		s->qh = 0;
		s->qcap = cap;
	}
	s->q[(s->qh + s->qn) % s->qcap] = *m;
	s->qn++;
	return 0;
}

static int drain(struct gsim *s, uint32_t id)
{
	struct rumor_view_msg m;
	while (rumor_view_outbox_pop(s->v[id - 1], &m) == 0) {
		int rc = push(s, &m);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int deliver(struct gsim *s)
{
	uint64_t limit = (uint64_t)s->cfg.n_nodes * 2000 + 1000000;
	struct rumor_view_msg m;
	uint8_t buf[RUMOR_VIEW_MSG_MAX_BYTES];
	int rc;

	while (s->qn > 0) {
		m = s->q[s->qh];
		s->qh = (s->qh + 1) % s->qcap;
		s->qn--;
		if (s->cfg.wire) {
			size_t len;
			if (rumor_view_msg_encode(&m, buf, sizeof(buf), &len) != 0 ||
			    rumor_view_msg_decode(buf, len, &m) != 0) {
				s->refused++;
				continue;
			}
		}
		if (m.dst < 1 || m.dst > s->cfg.n_nodes || m.src < 1 || m.src > s->cfg.n_nodes) {
			s->refused++;
			continue;
		}
		if (s->alive[m.dst - 1]) {
			rc = rumor_view_on_message(s->v[m.dst - 1], &m, s->now);
			if (rc == -EINVAL)
				s->refused++;
			else if (rc != 0)
				return rc;
			rc = drain(s, m.dst);
		} else if (s->alive[m.src - 1]) {
			/* the connection attempt fails: the sender finds out at once */
			rc = rumor_view_on_peer_down(s->v[m.src - 1], m.dst, s->now);
			if (rc == 0)
				rc = drain(s, m.src);
		} else {
			rc = 0;
		}
		if (rc != 0)
			return rc;
		if (++s->delivered > limit)
			return -ELOOP;
	}
	return 0;
}

static int leader_assign(struct gsim *s)
{
	uint32_t n = 0, leader = 0;
	for (uint32_t id = 1; id <= s->cfg.n_nodes; id++)
		if (s->alive[id - 1]) {
			if (!leader)
				leader = id;
			s->tmp[n++] = id;
		}
	if (n == 0)
		return 0;
	unsigned size = s->leader_size;
	uint32_t *ids = malloc((size_t)n * size * sizeof(*ids));
	uint16_t *counts = malloc((size_t)n * sizeof(*counts));
	int rc = -ENOMEM;
	if (!ids || !counts)
		goto out;
	s->epoch++;
	rc = rumor_view_leader_samples(s->tmp, n, size, s->cfg.seed ^ ((uint64_t)s->epoch << 32),
				       ids, counts);
	struct rumor_view_msg m;
	for (uint32_t i = 0; rc == 0 && i < n; i++) {
		rc = rumor_view_leader_assign_msg(leader, s->tmp[i], s->epoch, ids + (size_t)i * size,
						  counts[i], &m);
		if (rc == 0)
			rc = push(s, &m);
	}
	if (rc == 0)
		rc = deliver(s);
	s->since_assign = 0;
	s->membership_changed = false;
out:
	free(ids);
	free(counts);
	return rc;
}

int gsim_bootstrap(struct gsim *s)
{
	int rc = 0;
	for (uint32_t id = 2; rc == 0 && id <= s->cfg.n_nodes; id++) {
		if (!s->alive[id - 1])
			continue;
		uint32_t contact;
		do
			contact = below(s, id - 1) + 1;
		while (!s->alive[contact - 1]);
		if (s->cfg.strategy == RUMOR_VIEW_STATIC) {
			/* static: everybody knows everybody, no messages */
			for (uint32_t j = 1; j <= s->cfg.n_nodes; j++)
				s->tmp[j - 1] = j;
			rc = rumor_view_join(s->v[id - 1], s->tmp, s->cfg.n_nodes, s->now);
			if (rc == 0 && id == 2)
				rc = rumor_view_join(s->v[0], s->tmp, s->cfg.n_nodes, s->now);
			continue;
		}
		rc = rumor_view_join(s->v[id - 1], &contact, 1, s->now);
		if (rc == 0)
			rc = drain(s, id);
		if (rc == 0)
			rc = deliver(s);
	}
	if (rc == 0 && s->cfg.strategy == RUMOR_VIEW_LEADER)
		rc = leader_assign(s);
	return rc;
}

int gsim_run(struct gsim *s, unsigned rounds)
{
	for (unsigned r = 0; r < rounds; r++) {
		s->now += s->cfg.round_ms;
		if (s->cfg.strategy == RUMOR_VIEW_LEADER &&
		    (s->membership_changed || ++s->since_assign >= s->cfg.leader_refresh)) {
			int rc = leader_assign(s);
			if (rc != 0)
				return rc;
		}
		for (uint32_t id = 1; id <= s->cfg.n_nodes; id++) {
			if (!s->alive[id - 1])
				continue;
			int rc = rumor_view_tick(s->v[id - 1], s->now);
			if (rc == 0)
				rc = drain(s, id);
			if (rc != 0)
				return rc;
		}
		int rc = deliver(s);
		if (rc != 0)
			return rc;
	}
	return 0;
}

long gsim_kill(struct gsim *s, double frac, uint32_t keep)
{
	uint32_t n = 0;
	for (uint32_t id = 1; id <= s->cfg.n_nodes; id++)
		if (s->alive[id - 1] && id != keep)
			s->tmp[n++] = id;
	uint32_t k = (uint32_t)lround(frac * s->n_alive);
	if (k > n)
		k = n;
	for (uint32_t i = 0; i < k; i++) {
		uint32_t j = i + below(s, n - i);
		uint32_t t = s->tmp[i];
		s->tmp[i] = s->tmp[j];
		s->tmp[j] = t;
		s->alive[s->tmp[i] - 1] = 0;
	}
	s->n_alive -= k;
	/* Messages in flight to or from the dead are lost with them. */
	return (long)k;
}

int gsim_detect(struct gsim *s)
{
	for (uint32_t id = 1; id <= s->cfg.n_nodes; id++) {
		if (!s->alive[id - 1])
			continue;
		size_t n;
		const uint32_t *a = rumor_view_active(s->v[id - 1], &n);
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			if (!s->alive[a[i] - 1])
				s->tmp2[k++] = a[i];
		for (size_t i = 0; i < k; i++) {
			int rc = rumor_view_on_peer_down(s->v[id - 1], s->tmp2[i], s->now);
			if (rc == 0)
				rc = drain(s, id);
			if (rc != 0)
				return rc;
		}
	}
	s->membership_changed = true;
	return deliver(s);
}

int gsim_churn(struct gsim *s, double frac)
{
	long k = gsim_kill(s, frac, 0);
	if (k < 0)
		return (int)k;
	/* Restart as many of the other dead nodes as fresh joiners. */
	uint32_t n = 0;
	for (uint32_t id = 1; id <= s->cfg.n_nodes; id++)
		if (!s->alive[id - 1])
			s->tmp[n++] = id;
	int rc = gsim_detect(s);
	for (long i = 0; rc == 0 && i < k && n > 0; i++) {
		uint32_t j = below(s, n);
		uint32_t id = s->tmp[j];
		s->tmp[j] = s->tmp[--n];
		uint32_t contact = gsim_random_alive(s);
		rc = new_view(s, id);
		if (rc != 0)
			break;
		s->alive[id - 1] = 1;
		s->n_alive++;
		if (contact == 0)
			continue;
		rc = rumor_view_join(s->v[id - 1], &contact, 1, s->now);
		if (rc == 0)
			rc = drain(s, id);
		if (rc == 0)
			rc = deliver(s);
	}
	s->membership_changed = true;
	return rc;
}

int gsim_gossip(struct gsim *s, uint32_t source, unsigned fanout, unsigned max_rounds,
		struct gsim_gossip *out)
{
	return gsim_gossip_ex(s, source, fanout, max_rounds, false, out);
}

/* Send attempts of one node in one round: the first picks, then replacements. */
static size_t add_target(uint32_t *t, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (t[i] == id)
			return n;
	t[n] = id;
	return n + 1;
}

int gsim_gossip_ex(struct gsim *s, uint32_t source, unsigned fanout, unsigned max_rounds,
		   bool repair, struct gsim_gossip *out)
{
	uint32_t n = s->cfg.n_nodes;
	int rc = 0;
	if (!gsim_alive(s, source) || fanout == 0 || fanout > RUMOR_VIEW_MSG_MAX_IDS)
		return -EINVAL;
	if (max_rounds > GSIM_MAX_ROUNDS)
		max_rounds = GSIM_MAX_ROUNDS;
	uint32_t *from = calloc(n, sizeof(*from)); /* 0: not reached */
	uint32_t *cur = malloc(n * sizeof(*cur)), *next = malloc(n * sizeof(*next));
	if (!from || !cur || !next) {
		free(from);
		free(cur);
		free(next);
		return -ENOMEM;
	}
	memset(out, 0, sizeof(*out));
	out->alive = s->n_alive;
	from[source - 1] = source;
	uint32_t n_cur = 1, reached = 1;
	cur[0] = source;
	out->coverage[0] = (double)reached / s->n_alive;
	uint32_t targets[2 * RUMOR_VIEW_MSG_MAX_IDS], more[RUMOR_VIEW_MSG_MAX_IDS];
	unsigned r;
	for (r = 1; rc == 0 && r <= max_rounds && n_cur > 0; r++) {
		uint32_t n_next = 0;
		for (uint32_t i = 0; rc == 0 && i < n_cur; i++) {
			uint32_t x = cur[i];
			size_t k, budget = fanout;
			uint32_t ex = from[x - 1] == x ? 0 : from[x - 1];
			rumor_view_pick(s->v[x - 1], fanout, ex, targets, &k);
			for (size_t j = 0; j < k; j++) {
				uint32_t t = targets[j];
				out->messages++;
				if (t < 1 || t > n)
					continue;
				if (!s->alive[t - 1]) {
					if (!repair || budget == 0)
						continue;
					/* TCP-style: the send fails, the sender repairs its view at
					 * once and sends to a replacement */
					budget--;
					rc = rumor_view_on_peer_down(s->v[x - 1], t, s->now);
					if (rc == 0)
						rc = drain(s, x);
					if (rc == 0)
						rc = deliver(s);
					if (rc != 0)
						break;
					size_t m;
					rumor_view_pick(s->v[x - 1], fanout, ex, more, &m);
					for (size_t l = 0; l < m; l++) {
						size_t before = k;
						k = add_target(targets, k, more[l]);
						if (k > before)
							break;
					}
					continue;
				}
				if (from[t - 1])
					continue;
				from[t - 1] = x;
				next[n_next++] = t;
				reached++;
			}
		}
		out->coverage[r] = (double)reached / s->n_alive;
		if (reached == s->n_alive && out->rounds_to_all == 0)
			out->rounds_to_all = r;
		uint32_t *t = cur;
		cur = next;
		next = t;
		n_cur = n_next;
	}
	out->rounds = r - 1;
	for (unsigned i = r; i <= GSIM_MAX_ROUNDS; i++)
		out->coverage[i] = out->coverage[r - 1];
	out->reached = reached;
	free(from);
	free(cur);
	free(next);
	return rc;
}

static uint32_t bfs(struct gsim *s, uint32_t start, const uint32_t *off, const uint32_t *adj,
		    uint8_t *seen)
{
	uint32_t *stack = s->tmp2, sp = 0, count = 1;
	memset(seen, 0, s->cfg.n_nodes);
	seen[start - 1] = 1;
	stack[sp++] = start;
	while (sp > 0) {
		uint32_t x = stack[--sp];
		for (uint32_t e = off[x - 1]; e < off[x]; e++) {
			uint32_t y = adj[e];
			if (!seen[y - 1]) {
				seen[y - 1] = 1;
				count++;
				stack[sp++] = y;
			}
		}
	}
	return count;
}

void gsim_check(struct gsim *s, struct gsim_check *out)
{
	uint32_t n = s->cfg.n_nodes;
	memset(out, 0, sizeof(*out));
	out->alive = s->n_alive;
	out->min_active = UINT32_MAX;
	uint64_t total = 0, edges = 0;
	uint32_t *fo = calloc(n + 1, sizeof(*fo)), *ro = calloc(n + 1, sizeof(*ro));
	uint32_t *indeg = calloc(n + 1, sizeof(*indeg));
	uint8_t *seen = calloc(n, 1);
	if (!fo || !ro || !indeg || !seen)
		goto out;
	for (uint32_t id = 1; id <= n; id++) {
		if (!s->alive[id - 1])
			continue;
		size_t k;
		const uint32_t *a = rumor_view_active(s->v[id - 1], &k);
		total += k;
		if (k < out->min_active)
			out->min_active = (uint32_t)k;
		if (k > out->max_active)
			out->max_active = (uint32_t)k;
		for (size_t i = 0; i < k; i++) {
			uint32_t b = a[i];
			if (b == id)
				out->self_refs++;
			for (size_t j = 0; j < i; j++)
				if (a[j] == b)
					out->dup_refs++;
			if (b < 1 || b > n || !s->alive[b - 1]) {
				out->dead_refs++;
				continue;
			}
			if (b != id) {
				fo[id]++;
				ro[b]++;
				edges++;
			}
			if (!rumor_view_has_active(s->v[b - 1], id))
				out->asymmetric++;
		}
	}
	if (s->n_alive == 0)
		goto out;
	out->avg_active = (double)total / s->n_alive;
	for (uint32_t id = 1; id <= n; id++) {
		if (s->alive[id - 1] && ro[id] == 0)
			out->zero_in++;
		fo[id] += fo[id - 1];
		ro[id] += ro[id - 1];
	}
	uint32_t *fa = malloc((edges + 1) * sizeof(*fa)), *ra = malloc((edges + 1) * sizeof(*ra));
	uint32_t *fpos = calloc(n + 1, sizeof(*fpos));
	if (!fa || !ra || !fpos) {
		free(fa);
		free(ra);
		free(fpos);
		goto out;
	}
	memcpy(fpos, fo, (n + 1) * sizeof(*fpos));
	memcpy(indeg, ro, (n + 1) * sizeof(*indeg));
	for (uint32_t id = 1; id <= n; id++) {
		if (!s->alive[id - 1])
			continue;
		size_t k;
		const uint32_t *a = rumor_view_active(s->v[id - 1], &k);
		for (size_t i = 0; i < k; i++) {
			uint32_t b = a[i];
			if (b < 1 || b > n || b == id || !s->alive[b - 1])
				continue;
			fa[fpos[id - 1]++] = b;
			ra[indeg[b - 1]++] = id;
		}
	}
	uint32_t start = 0;
	for (uint32_t id = 1; id <= n && !start; id++)
		if (s->alive[id - 1])
			start = id;
	out->connected = bfs(s, start, fo, fa, seen) == s->n_alive &&
			 bfs(s, start, ro, ra, seen) == s->n_alive;
	free(fa);
	free(ra);
	free(fpos);
out:
	if (out->min_active == UINT32_MAX)
		out->min_active = 0;
	free(fo);
	free(ro);
	free(indeg);
	free(seen);
}
