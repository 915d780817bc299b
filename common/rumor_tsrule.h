/* rumor_tsrule: the one rule a gossip frame's timestamp must pass where it enters a node,
 * before it touches the clock, the dedupe table or the store (docs/ARCHITECTURE.md §7). Pure C. */
#ifndef RUMOR_TSRULE_H
#define RUMOR_TSRULE_H

#include <stdint.h>

#include "rumor_vc.h"

/* Verdicts; 1.. are drop reasons, counted at index reason - 1. */
enum rumor_ts_reason {
	RUMOR_TS_OK = 0,
	RUMOR_TS_ENTRIES = 1,    /* more entries than the configuration has nodes */
	RUMOR_TS_WRAP = 2,       /* first_seq 0, no events, or first_seq + count overflows */
	RUMOR_TS_NONMEMBER = 3,  /* names a node outside the configuration (beyond what the
				    order already reached for it: former members stay valid) */
	RUMOR_TS_OWN = 4,        /* claims more of this node's seqs than it ever issued */
	RUMOR_TS_WINDOW = 5,     /* a node's counter over the window past what is ordered */
	RUMOR_TS_SEQ_WINDOW = 6, /* the frame's own last seq over the window past its origin's
				    ordered seqs */
};
#define RUMOR_TS_NREASONS 6

struct rumor_tsrule {
	const uint8_t *member;   /* [RUMOR_NODE_ID_MAX + 1]: nonzero for members */
	const uint64_t *reached; /* [RUMOR_NODE_ID_MAX + 1]: per node, ordered through */
	uint64_t own_issued;     /* highest seq this node stamped itself */
	uint64_t window;         /* [dataplane] clock_window */
	uint16_t max_entries;    /* members + former members the order reached */
	uint16_t self;
};

/* Check a frame of @origin carrying seqs first_seq .. first_seq + count - 1 with timestamp
 * @ts against @r. Returns RUMOR_TS_OK or the first violation found: the entry count, then
 * the seq range, then entry by entry in node order (non-member, own, window), then the
 * header's origin range. Entries (n, c) with c <= reached[n] always pass: they name only
 * ordered events, which no one can wait on. */
int rumor_tsrule_check(const struct rumor_tsrule *r, uint16_t origin, uint64_t first_seq,
		       uint16_t count, const struct rumor_vc *ts);

/* Short name of a reason (drop counter label), NULL for anything else. */
const char *rumor_tsrule_name(int reason);

#endif
