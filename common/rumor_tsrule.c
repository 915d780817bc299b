/* rumor_tsrule: timestamp validation where frames enter (see rumor_tsrule.h). */
#include "rumor_tsrule.h"

static const char *const names[RUMOR_TS_NREASONS + 1] = {
	[RUMOR_TS_ENTRIES] = "ts_entries",   [RUMOR_TS_WRAP] = "ts_seq_wrap",
	[RUMOR_TS_NONMEMBER] = "ts_nonmember", [RUMOR_TS_OWN] = "ts_own_ahead",
	[RUMOR_TS_WINDOW] = "ts_window",     [RUMOR_TS_SEQ_WINDOW] = "ts_seq_window",
};

const char *rumor_tsrule_name(int reason)
{
	return reason >= 1 && reason <= RUMOR_TS_NREASONS ? names[reason] : NULL;
}

static inline uint64_t limit(const struct rumor_tsrule *r, uint16_t node)
{
	uint64_t base = r->reached[node];

	return base > UINT64_MAX - r->window ? UINT64_MAX : base + r->window;
}

int rumor_tsrule_check(const struct rumor_tsrule *r, uint16_t origin, uint64_t first_seq,
		       uint16_t count, const struct rumor_vc *ts)
{
	uint64_t last;

	if (ts->n > r->max_entries)
		return RUMOR_TS_ENTRIES;
	if (first_seq == 0 || count == 0 || first_seq > UINT64_MAX - (count - 1u))
		return RUMOR_TS_WRAP;
	if (origin == 0 || origin > RUMOR_NODE_ID_MAX)
		return RUMOR_TS_NONMEMBER;
	last = first_seq + (count - 1u);
	for (unsigned i = 0; i < ts->n; i++) {
		uint16_t node = ts->node[i];
		uint64_t c = ts->ctr[i];

		if (node == 0 || node > RUMOR_NODE_ID_MAX)
			return RUMOR_TS_NONMEMBER;
		if (c <= r->reached[node])
			continue;
		if (!r->member[node] && node != r->self)
			return RUMOR_TS_NONMEMBER;
		if (node == r->self) {
			if (c > r->own_issued)
				return RUMOR_TS_OWN;
			continue;
		}
		if (c > limit(r, node))
			return node == origin ? RUMOR_TS_SEQ_WINDOW : RUMOR_TS_WINDOW;
	}
	/* The codec makes ts[origin] the last seq; check the header too in case it did not. */
	if (last > r->reached[origin]) {
		if (!r->member[origin] && origin != r->self)
			return RUMOR_TS_NONMEMBER;
		if (origin == r->self ? last > r->own_issued : last > limit(r, origin))
			return origin == r->self ? RUMOR_TS_OWN : RUMOR_TS_SEQ_WINDOW;
	}
	return RUMOR_TS_OK;
}
