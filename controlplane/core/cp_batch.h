/* cp_batch: the Raft entry that carries one committed order batch (events, explicit
 * "skip origin:seq[..last]" and "reject origin:seq id" records, in apply order), strict codec. */
#ifndef CP_BATCH_H
#define CP_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "rumor_eventid.h"

/* Wire layout (all little-endian):
 *   header 16 B: magic u32 "RBAT" (0x54414252), version u8 (=1), flags u8 (=0),
 *                reserved u16 (=0), count u32, reserved u32 (=0)
 *   count records of 28 B: kind u8, reason u8 (=0 except a reject's), origin u16, seq u64,
 *                          id 16 B (hi u64, lo u64; all zero for a skip record)
 *   A skip of more than one seq is wire kind 4 (CP_BATCH_WIRE_SKIP_RANGE): seq is the first
 *   skipped seq, id.hi the last (> seq), id.lo 0. It decodes as kind CP_BATCH_SKIP with
 *   seq_last set; a one-seq skip is still encoded as kind 2, so batches written before
 *   ranges existed decode unchanged.
 * No CRC: Raft's storage checks integrity. Global sequence numbers are not carried: the
 * state machine assigns them at apply time by counting, identically on every node. */
#define CP_BATCH_MAGIC 0x54414252u
#define CP_BATCH_VERSION 1u
#define CP_BATCH_HDR_SIZE 16u
#define CP_BATCH_REC_SIZE 28u
/* Most records one batch may carry (bounds a decoder's allocation). */
#define CP_BATCH_MAX_RECORDS (1u << 20)
/* Wire kind of a skip record covering seq..id.hi (never seen in a decoded struct). */
#define CP_BATCH_WIRE_SKIP_RANGE 4u

enum cp_batch_kind {
	CP_BATCH_EVENT = 1, /* apply event (origin, seq, id) */
	CP_BATCH_SKIP = 2,  /* origin's seqs seq..seq_last will never be ordered: advance past */
	CP_BATCH_REJECT = 3,/* the event (origin, seq, id) exists but is never ordered: its
			       timestamp names what no member reported (reason); advance past */
};

/* Why an event was rejected (the reason byte of a reject record). */
enum cp_batch_reason {
	CP_BATCH_REASON_IMPOSSIBLE_TS = 1, /* a causal predecessor nobody reported */
	CP_BATCH_REASON_LOST = 2,          /* operator: its payload is gone from every live node
					      (a committed event that is still unapplied is then
					      applied as this reject, on every node alike) */
};

/* Operator text of a reject reason ("impossible timestamp"), "?" when unknown. */
const char *cp_batch_reason_text(unsigned reason);

struct cp_batch_rec {
	struct rumor_event_id id; /* zero for skips */
	uint64_t seq;             /* >= 1 */
	uint64_t seq_last;        /* last seq a skip covers (>= seq); == seq for other kinds */
	uint16_t origin;          /* 1..RUMOR_NODE_ID_MAX */
	uint8_t kind;             /* enum cp_batch_kind */
	uint8_t reason;           /* enum cp_batch_reason for a reject, else 0 */
};

struct cp_batch {
	struct cp_batch_rec *recs;
	uint32_t n;
	uint32_t cap;
};

/* Empty batch with room for @cap records (0 allowed: grows on demand).
 * Returns 0 or -ENOMEM. */
int cp_batch_init(struct cp_batch *b, uint32_t cap);
void cp_batch_free(struct cp_batch *b);
static inline void cp_batch_clear(struct cp_batch *b) { b->n = 0; }

/* Append one record. Returns 0, -EINVAL (origin 0 / over RUMOR_NODE_ID_MAX, seq 0),
 * -E2BIG (CP_BATCH_MAX_RECORDS reached) or -ENOMEM. */
int cp_batch_add_event(struct cp_batch *b, uint16_t origin, uint64_t seq,
		       const struct rumor_event_id *id);
int cp_batch_add_skip(struct cp_batch *b, uint16_t origin, uint64_t seq);
/* One record skipping @seq..@last (one gseq when applied). Also -EINVAL when last < seq. */
int cp_batch_add_skip_range(struct cp_batch *b, uint16_t origin, uint64_t seq, uint64_t last);
/* Also -EINVAL for an unknown @reason. */
int cp_batch_add_reject(struct cp_batch *b, uint16_t origin, uint64_t seq,
			const struct rumor_event_id *id, unsigned reason);

/* Bytes cp_batch_encode() writes for @b. */
size_t cp_batch_encoded_size(const struct cp_batch *b);

/* Encode into @buf. Returns bytes written (> 0) or -ENOBUFS when @cap is too small. */
long cp_batch_encode(const struct cp_batch *b, void *buf, size_t cap);

/* Decode @len bytes, replacing @b's contents (grows @b as needed). Strict: any deviation
 * leaves @b empty and returns
 *   -EMSGSIZE  shorter than the header, or length != header + count * record
 *   -EPROTO    bad magic / unknown version / nonzero flags or reserved fields
 *   -E2BIG     count over CP_BATCH_MAX_RECORDS
 *   -EINVAL    a record with unknown kind, origin out of range, seq 0, a skip with nonzero
 *              id, a skip range whose last seq is not above its first or with id.lo != 0,
 *              a reject with an unknown reason, a nonzero reason byte on another kind
 *   -ENOMEM.
 * Returns 0 on success. */
int cp_batch_decode(const void *buf, size_t len, struct cp_batch *b);

/* Keyring entry (issue 14): a second Raft entry kind beside the batch, told apart by its
 * magic, so batches keep their exact bytes and old logs decode unchanged. 40 B:
 *   magic u32 "RKEY" (0x59454b52), version u8 (=1), op u8 (enum cp_keyop_kind), id u8
 *   (1..255), reserved u8 (=0), key 32 B (the AES-256 key for install, all zero otherwise)
 * A node built before this kind counts such an entry as a bad batch and ignores it (on every
 * old node alike): upgrade every node before the first `rumorctl keys` command. */
#define CP_KEYOP_MAGIC 0x59454b52u
#define CP_KEYOP_VERSION 1u
#define CP_KEYOP_SIZE 40u
#define CP_KEYOP_KEY_LEN 32u

enum cp_keyop_kind {
	CP_KEYOP_INSTALL = 1, /* add key id (refused when the id is installed already) */
	CP_KEYOP_USE = 2,     /* seal with key id from now on (refused unless installed) */
	CP_KEYOP_REMOVE = 3,  /* drop key id (refused while in use) */
};

struct cp_keyop {
	uint8_t op;
	uint8_t id;
	uint8_t key[CP_KEYOP_KEY_LEN];
};

enum cp_entry_kind {
	CP_ENTRY_UNKNOWN = 0,
	CP_ENTRY_BATCH = 1,
	CP_ENTRY_KEYOP = 2,
};

/* Which codec an entry's bytes are for, by their magic (CP_ENTRY_UNKNOWN when shorter than
 * a magic or none matches). */
int cp_entry_kind(const void *buf, size_t len);

/* Encode @k into @buf (CP_KEYOP_SIZE bytes). Returns CP_KEYOP_SIZE, -ENOBUFS or -EINVAL
 * (unknown op, id 0, a key on use/remove). */
long cp_keyop_encode(const struct cp_keyop *k, void *buf, size_t cap);
/* Strict: -EMSGSIZE (length != 40), -EPROTO (magic, version, reserved), -EINVAL (op, id 0,
 * nonzero key bytes on use/remove). Returns 0. */
int cp_keyop_decode(const void *buf, size_t len, struct cp_keyop *k);

#endif
