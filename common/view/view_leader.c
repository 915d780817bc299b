/* Strategy "leader": the Raft leader hands every node a random sample of the membership
 * (VIEW_ASSIGN, newest epoch wins); the node side only accepts. Leader-side sampling too. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "view_impl.h"
#include "rumor_rand.h"

static int ld_join(struct rumor_view *v, uint64_t now_ms)
{
	(void)now_ms;
	/* Until the first assignment, gossip to a few of the contacts. */
	if (v->epoch == 0 && v->n_contacts > 0) {
		v->n_active = view_sample(v, v->contacts, v->n_contacts, v->n_contacts, v->cfg.self,
					  RUMOR_VIEW_ID_NONE, v->active);
	}
	return 0;
}

static int ld_tick(struct rumor_view *v, uint64_t now_ms)
{
	(void)v;
	(void)now_ms;
	return 0;
}

static int ld_on_message(struct rumor_view *v, const struct rumor_view_msg *m, uint64_t now_ms)
{
	(void)now_ms;
	if (m->type != RUMOR_VIEW_MSG_VIEW_ASSIGN)
		return -EINVAL;
	if (m->epoch <= v->epoch)
		return 0; /* stale or repeated assignment */
	v->epoch = m->epoch;
	v->n_active = 0;
	for (unsigned i = 0; i < m->n_ids; i++)
		if (m->ids[i] != v->cfg.self) {
			v->age[v->n_active] = 0;
			v->active[v->n_active++] = m->ids[i];
		}
	return 0;
}

static int ld_on_peer_down(struct rumor_view *v, uint32_t id, uint64_t now_ms)
{
	(void)now_ms;
	/* The leader learns of the failure too and reassigns; until then, skip the dead peer. */
	long i = view_find(v->active, v->n_active, id);
	if (i >= 0)
		view_remove_active_at(v, (size_t)i);
	return 0;
}

const struct view_ops view_leader_ops = {
	.name = "leader",
	.join = ld_join,
	.tick = ld_tick,
	.on_message = ld_on_message,
	.on_peer_down = ld_on_peer_down,
};

static uint64_t mix(uint64_t *s)
{
	return rumor_splitmix64(s);
}

int rumor_view_leader_samples(const uint32_t *members, size_t n, unsigned size, uint64_t seed,
			      uint32_t *ids, uint16_t *counts)
{
	if (n == 0 || size == 0 || size > RUMOR_VIEW_MSG_MAX_IDS || n > UINT32_MAX)
		return -EINVAL;
	memset(counts, 0, n * sizeof(*counts));
	if (n - 1 <= size) {
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < n; j++)
				if (j != i)
					ids[i * size + counts[i]++] = members[j];
		return 0;
	}
	uint32_t *perm = malloc(n * sizeof(*perm));
	if (!perm)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		perm[i] = (uint32_t)i;
	uint64_t s = seed;
	/* Union of @size random Hamiltonian cycles: in-degree = out-degree = size, and one cycle
	 * alone already makes the overlay strongly connected. */
	for (unsigned c = 0; c < size; c++) {
		for (size_t i = n - 1; i > 0; i--) {
			size_t j = (size_t)(((mix(&s) >> 32) * (uint64_t)(i + 1)) >> 32);
			uint32_t t = perm[i];
			perm[i] = perm[j];
			perm[j] = t;
		}
		for (size_t p = 0; p < n; p++) {
			uint32_t a = perm[p], b = perm[p + 1 == n ? 0 : p + 1];
			uint32_t *row = ids + (size_t)a * size;
			if (view_find(row, counts[a], members[b]) < 0)
				row[counts[a]++] = members[b];
		}
	}
	free(perm);
	return 0;
}

int rumor_view_leader_assign_msg(uint32_t leader, uint32_t dst, uint32_t epoch,
				 const uint32_t *ids, unsigned count, struct rumor_view_msg *out)
{
	if (count > RUMOR_VIEW_MSG_MAX_IDS)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->type = RUMOR_VIEW_MSG_VIEW_ASSIGN;
	out->src = leader;
	out->dst = dst;
	out->epoch = epoch;
	out->n_ids = (uint16_t)count;
	memcpy(out->ids, ids, count * sizeof(*ids));
	return rumor_view_msg_validate(out);
}
