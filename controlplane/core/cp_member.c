/* cp_member: reads libraft configurations for the ordering service. */
#include <errno.h>

#include "cp_member.h"

int cp_member_voters(const struct raft_configuration *conf, uint16_t *ids, unsigned cap)
{
	unsigned n = 0;
	for (unsigned i = 0; i < conf->n; i++) {
		const struct raft_server *s = &conf->servers[i];
		if (s->role != RAFT_VOTER)
			continue;
		if (s->id == 0 || s->id > RUMOR_NODE_ID_MAX)
			return -EINVAL;
		if (n == cap)
			return -ENOSPC;
		ids[n++] = (uint16_t)s->id;
	}
	return (int)n;
}

int cp_member_sync_order(struct raft *r, struct cp_order *o)
{
	uint16_t ids[CP_ORDER_MAX_REPORTERS];
	int n = cp_member_voters(&r->configuration, ids, CP_ORDER_MAX_REPORTERS);
	if (n < 0)
		return n;
	return cp_order_set_voters(o, ids, (unsigned)n);
}

unsigned cp_member_count(const struct raft_configuration *conf, int role)
{
	unsigned n = 0;
	for (unsigned i = 0; i < conf->n; i++)
		n += conf->servers[i].role == role;
	return n;
}
