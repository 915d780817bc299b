/* cp_repair: wire layout, big-endian:
 *   origin u16 | nto u16 | first_seq u64 | last_seq u64 | to[nto] u16 */
#include <errno.h>

#include "cp_repair.h"
#include "rumor_be.h"
#include "rumor_vc.h"

static int valid(const struct cp_repair *r)
{
	if (!r->origin || r->origin > RUMOR_NODE_ID_MAX || !r->first_seq ||
	    r->first_seq > r->last_seq || r->last_seq - r->first_seq >= CP_REPAIR_MAX_RUN ||
	    !r->nto || r->nto > CP_REPAIR_MAX_TO)
		return 0;
	for (unsigned i = 0; i < r->nto; i++)
		if (!r->to[i] || r->to[i] > RUMOR_NODE_ID_MAX)
			return 0;
	return 1;
}

int cp_repair_encode(const struct cp_repair *r, uint8_t *buf, size_t cap)
{
	if (!valid(r))
		return -EINVAL;
	size_t need = cp_repair_size(r->nto);
	if (cap < need)
		return -ENOBUFS;
	rumor_be_st16(buf, r->origin);
	rumor_be_st16(buf + 2, r->nto);
	rumor_be_st64(buf + 4, r->first_seq);
	rumor_be_st64(buf + 12, r->last_seq);
	for (unsigned i = 0; i < r->nto; i++)
		rumor_be_st16(buf + 20 + 2 * i, r->to[i]);
	return (int)need;
}

int cp_repair_decode(const uint8_t *p, size_t len, struct cp_repair *r)
{
	if (len < cp_repair_size(0))
		return -EINVAL;
	r->origin = rumor_be_ld16(p);
	r->nto = rumor_be_ld16(p + 2);
	r->first_seq = rumor_be_ld64(p + 4);
	r->last_seq = rumor_be_ld64(p + 12);
	if (r->nto > CP_REPAIR_MAX_TO || len != cp_repair_size(r->nto))
		return -EINVAL;
	for (unsigned i = 0; i < r->nto; i++)
		r->to[i] = rumor_be_ld16(p + 20 + 2 * i);
	return valid(r) ? 0 : -EINVAL;
}
