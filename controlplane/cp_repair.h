/* cp_repair: the leader's request to a holder of a minority-held run of an origin's events
 * ("send origin:first..last to these nodes"), APP type CP_APP_REPAIR on the control link.
 * The holder's dataplane sends the stored frames as pull responses, the receivers report them,
 * and the run reaches a majority instead of timing out into a skip. Pure codec. */
#ifndef CP_REPAIR_H
#define CP_REPAIR_H

#include <stddef.h>
#include <stdint.h>

#define CP_REPAIR_MAX_TO 64u
#define CP_REPAIR_MAX_RUN 65536u   /* seqs one request may name */

struct cp_repair {
	uint16_t origin;
	uint16_t nto;
	uint64_t first_seq;
	uint64_t last_seq;
	uint16_t to[CP_REPAIR_MAX_TO];
};

/* Bytes cp_repair_encode writes for @nto receivers. */
static inline size_t cp_repair_size(unsigned nto)
{
	return 20u + 2u * nto;
}

/* Encode into @buf (@cap bytes). Returns bytes written, -EINVAL (bad fields, see decode),
 * -ENOBUFS. */
int cp_repair_encode(const struct cp_repair *r, uint8_t *buf, size_t cap);

/* Decode exactly @len bytes. Returns 0 or -EINVAL: origin or a receiver 0 or over
 * RUMOR_NODE_ID_MAX, seq 0, first > last, a run over CP_REPAIR_MAX_RUN, no receivers or more
 * than CP_REPAIR_MAX_TO, a length that does not match. */
int cp_repair_decode(const uint8_t *p, size_t len, struct cp_repair *r);

#endif
