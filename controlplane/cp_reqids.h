/* cp_reqids: exactly-once `send` retries. A client names a request with its own id; a retry
 * with that id within the window returns the first outcome instead of making a second event.
 * A window of the newest requests, in the order they came (own events are stamped in that
 * order, so their applied outcomes are recorded walking it). Pure C. */
#ifndef CP_REQIDS_H
#define CP_REQIDS_H

#include <stdbool.h>
#include <stdint.h>

#define CP_REQID_MAX 64               /* bytes of a client request id */

enum cp_reqid_state {
	CP_REQID_INFLIGHT = 1,        /* sent to the dataplane, no answer yet */
	CP_REQID_STAMPED = 2,         /* seqs first_seq .. first_seq + count - 1 */
	CP_REQID_FAILED = 3,          /* refused: nothing was made, a retry may try again */
};

enum cp_reqid_outcome {
	CP_REQID_PENDING = 0,         /* not applied yet */
	CP_REQID_APPLIED = 1,         /* its last event applied at gseq */
	CP_REQID_NOT_APPLIED = 2,     /* its last seq was skipped, rejected or another event */
	CP_REQID_UNKNOWN = 3,         /* applied past it unseen (inside an installed snapshot) */
};

struct cp_reqid_rec {
	char key[CP_REQID_MAX + 1];
	uint8_t state;                /* enum cp_reqid_state; 0: free */
	uint8_t outcome;              /* enum cp_reqid_outcome */
	uint16_t count;
	uint64_t first_seq;
	uint64_t gseq;
};

struct cp_reqids {
	struct cp_reqid_rec *recs;    /* ring in arrival order */
	uint32_t cap, head, n;        /* oldest at head */
	uint32_t cursor;              /* records before it (from head) have their outcome */
	uint32_t *slots;              /* hash: 1 + ring index, 0 empty */
	uint32_t mask;
	uint64_t hits, evicted;
};

/* A window of @window requests (>= 1). Returns 0, -EINVAL or -ENOMEM. */
int cp_reqids_init(struct cp_reqids *t, uint32_t window);
void cp_reqids_fini(struct cp_reqids *t);

/* The record of @key, or NULL. */
struct cp_reqid_rec *cp_reqids_find(struct cp_reqids *t, const char *key);

/* A new record for @key (not present: check with find), state INFLIGHT; the oldest record
 * leaves the window when it is full. NULL for a key over CP_REQID_MAX bytes or empty. */
struct cp_reqid_rec *cp_reqids_add(struct cp_reqids *t, const char *key);

/* Own event @seq was applied at @gseq (@ok: as the event its request stamped; else skipped,
 * rejected or another event): records whose last seq is at or below it get their outcome. */
void cp_reqids_applied(struct cp_reqids *t, uint64_t seq, uint64_t gseq, bool ok);

#endif
