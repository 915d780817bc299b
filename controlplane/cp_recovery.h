/* cp_recovery: payloads this node lacks (the apply waits for one, or a committed batch names
 * several) and the ones peers ask of it. The one place that decides how a payload is
 * fetched (see cp_recovery.c for why a PULL and a FETCH). */
#ifndef CP_RECOVERY_H
#define CP_RECOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cp_batch.h"
#include "cp_fetch.h"
#include "rumor_eventid.h"

struct cp_node;

#define CP_PREFETCH_MAX_BATCH 4096        /* missing events looked at per committed batch */

/* A payload this node lacks (prefetch scratch). */
struct cp_want {
	uint16_t origin;
	uint64_t seq;
};

struct cp_recovery {
	struct cp_fetch fetch;              /* payloads from peers, by (origin, seq) */
	uint8_t *fetch_tmp;                 /* payload handed to the fsm, freed at the next get */
	unsigned fetch_rr;                  /* which peer the next fetch asks */
	struct cp_want *want_buf;           /* CP_PREFETCH_MAX_BATCH entries */
	uint16_t want_origin;               /* the fsm waits for this payload (0: none) */
	uint64_t want_seq;
	uint64_t want_since_ms;             /* last asked */
	struct rumor_event_id want_id;
	uint64_t want_first_ms;             /* first asked */
};

int cp_recovery_get(void *data, uint16_t origin, uint64_t seq, const struct rumor_event_id *id,
		    const void **payload, size_t *len);
void cp_recovery_want(void *data, uint16_t origin, uint64_t seq, const struct rumor_event_id *id);
void cp_recovery_serve_fetch(struct cp_node *n, uint64_t from, const uint8_t *p, size_t len);
void cp_recovery_prefetch(struct cp_node *n, const struct cp_batch *b);
void cp_recovery_tick(struct cp_node *n, uint64_t now_ms);
int cp_recovery_init(struct cp_node *n);
void cp_recovery_free(struct cp_node *n);
#define CP_PULL_RETRY_MS 300

#endif
