/* Byte codec of view-maintenance messages (they travel over the controlplane's TCP
 * transport); the decoder is strict because the bytes come from the network. */
#include <errno.h>
#include <string.h>

#include "rumor_be.h"
#include "rumor_view.h"

#define HDR 22

/* Flags each type may carry, and whether it carries ids. */
static int type_rules(uint8_t type, unsigned *flags_ok, int *ids_ok)
{
	switch (type) {
	case RUMOR_VIEW_MSG_VIEW_ASSIGN: *flags_ok = 0; *ids_ok = 1; return 0;
	case RUMOR_VIEW_MSG_JOIN: *flags_ok = 0; *ids_ok = 0; return 0;
	case RUMOR_VIEW_MSG_FORWARD_JOIN: *flags_ok = 0; *ids_ok = 0; return 0;
	case RUMOR_VIEW_MSG_NEIGHBOR: *flags_ok = RUMOR_VIEW_F_HIGH_PRIORITY; *ids_ok = 0; return 0;
	case RUMOR_VIEW_MSG_NEIGHBOR_REPLY: *flags_ok = RUMOR_VIEW_F_ACCEPT; *ids_ok = 0; return 0;
	case RUMOR_VIEW_MSG_DISCONNECT: *flags_ok = 0; *ids_ok = 0; return 0;
	case RUMOR_VIEW_MSG_SHUFFLE: *flags_ok = RUMOR_VIEW_F_AGES; *ids_ok = 1; return 0;
	case RUMOR_VIEW_MSG_SHUFFLE_REPLY: *flags_ok = RUMOR_VIEW_F_AGES; *ids_ok = 1; return 0;
	}
	return -EINVAL;
}

int rumor_view_msg_validate(const struct rumor_view_msg *m)
{
	unsigned flags_ok;
	int ids_ok;

	if (type_rules(m->type, &flags_ok, &ids_ok) != 0)
		return -EINVAL;
	if ((m->flags & ~flags_ok) != 0 || m->n_ids > RUMOR_VIEW_MSG_MAX_IDS)
		return -EINVAL;
	if (!ids_ok && m->n_ids != 0)
		return -EINVAL;
	if (m->src == RUMOR_VIEW_ID_NONE || m->dst == RUMOR_VIEW_ID_NONE)
		return -EINVAL;
	if ((m->type == RUMOR_VIEW_MSG_FORWARD_JOIN || m->type == RUMOR_VIEW_MSG_SHUFFLE) &&
	    m->origin == RUMOR_VIEW_ID_NONE)
		return -EINVAL;
	if (m->type == RUMOR_VIEW_MSG_VIEW_ASSIGN && m->epoch == 0)
		return -EINVAL;
	for (unsigned i = 0; i < m->n_ids; i++) {
		if (m->ids[i] == RUMOR_VIEW_ID_NONE)
			return -EINVAL;
		for (unsigned j = 0; j < i; j++)
			if (m->ids[j] == m->ids[i])
				return -EINVAL;
	}
	return 0;
}

int rumor_view_msg_encode(const struct rumor_view_msg *m, uint8_t *buf, size_t cap, size_t *len)
{
	if (rumor_view_msg_validate(m) != 0)
		return -EINVAL;
	int ages = (m->flags & RUMOR_VIEW_F_AGES) != 0;
	size_t need = HDR + (size_t)m->n_ids * (4u + (unsigned)ages);
	if (cap < need)
		return -ENOSPC;
	buf[0] = RUMOR_VIEW_MSG_VERSION;
	buf[1] = m->type;
	buf[2] = m->flags;
	buf[3] = m->ttl;
	rumor_be_st16(buf + 4, m->n_ids);
	rumor_be_st32(buf + 6, m->src);
	rumor_be_st32(buf + 10, m->dst);
	rumor_be_st32(buf + 14, m->origin);
	rumor_be_st32(buf + 18, m->epoch);
	uint8_t *p = buf + HDR;
	for (unsigned i = 0; i < m->n_ids; i++, p += 4)
		rumor_be_st32(p, m->ids[i]);
	if (ages)
		memcpy(p, m->ages, m->n_ids);
	*len = need;
	return 0;
}

int rumor_view_msg_decode(const uint8_t *buf, size_t len, struct rumor_view_msg *out)
{
	struct rumor_view_msg m;

	if (len < HDR || buf[0] != RUMOR_VIEW_MSG_VERSION)
		return -EBADMSG;
	memset(&m, 0, sizeof(m));
	m.type = buf[1];
	m.flags = buf[2];
	m.ttl = buf[3];
	unsigned n = rumor_be_ld16(buf + 4);
	if (n > RUMOR_VIEW_MSG_MAX_IDS || (m.flags & ~RUMOR_VIEW_F_ALL) != 0)
		return -EBADMSG;
	m.n_ids = (uint16_t)n;
	int ages = (m.flags & RUMOR_VIEW_F_AGES) != 0;
	if (len != HDR + (size_t)n * (4u + (unsigned)ages))
		return -EBADMSG;
	m.src = rumor_be_ld32(buf + 6);
	m.dst = rumor_be_ld32(buf + 10);
	m.origin = rumor_be_ld32(buf + 14);
	m.epoch = rumor_be_ld32(buf + 18);
	const uint8_t *p = buf + HDR;
	for (unsigned i = 0; i < n; i++, p += 4)
		m.ids[i] = rumor_be_ld32(p);
	if (ages)
		memcpy(m.ages, p, n);
	if (rumor_view_msg_validate(&m) != 0)
		return -EBADMSG;
	*out = m;
	return 0;
}
