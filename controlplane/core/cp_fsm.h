/* cp_fsm: the libraft state machine. Applies committed order batches in log order: assigns
 * global sequence numbers, feeds the ordered log and the KV store, never blocks libraft. */
#ifndef CP_FSM_H
#define CP_FSM_H

#include <raft.h>
#include <stddef.h>
#include <stdint.h>

#include "cp_batch.h"
#include "cp_kv.h"
#include "rumor_eventid.h"

/* One applied record, as handed to the applied callback and kept in the retained log.
 * Skip and reject records consume a global sequence number too, so logs and digests cover
 * them. A reject is a visible non-event: id set, no payload, not executed. */
struct cp_fsm_entry {
	uint64_t gseq;
	struct rumor_event_id id; /* zero for a skip, the event's for a reject */
	uint64_t seq;
	uint64_t seq_last;        /* a skip covers seq..seq_last (one gseq); == seq otherwise */
	const void *payload;      /* NULL for a skip or reject */
	uint32_t len;
	uint16_t origin;
	uint8_t kind;             /* CP_BATCH_EVENT, CP_BATCH_SKIP or CP_BATCH_REJECT */
	uint8_t reason;           /* a reject's enum cp_batch_reason, else 0 */
	int8_t kv_rc;             /* cp_kv_exec() result: 0, 1 (not a command), < 0 error */
};

/* The replicated keyring (issue 14), changed only by committed keyring entries (cp_batch.h
 * struct cp_keyop), identical on every node at the same log index. How a node's dataplane
 * combines it with its [auth] keyring file (the bootstrap):
 *   - gen == 0 (no keyring entry ever accepted): the file alone, as before;
 *   - else: every key installed here, plus the file's keys whose id is neither installed
 *     here nor in @removed; seal with @use when it is nonzero, else with the file's use.
 * So the replicated keyring is authoritative for every id it names (install replaces a
 * file key of that id, remove removes it from the file's set too); ids it never named keep
 * coming from the file. Apply refuses (deterministically, on every node): install of an id
 * installed here (-EEXIST) or beyond CP_FSM_KEYS_MAX keys (-ENOSPC); use of an id not
 * installed here (-ENOKEY); remove of the id in use (-EBUSY), any remove before a use was
 * committed (-EBUSY: the file's key is in use and the fsm cannot know which it is), or of
 * an id neither installed nor removable (-ENOENT: removed already). */
#define CP_FSM_KEYS_MAX 16
struct cp_fsm_key {
	uint8_t id;
	uint8_t key[CP_KEYOP_KEY_LEN];
};
struct cp_fsm_keyring {
	uint64_t gen;            /* accepted keyring entries so far; 0: none */
	uint8_t use;             /* 0: no use committed (the file's use) */
	uint8_t n;
	uint8_t removed[32];     /* bitmap by id: removed, and not installed again since */
	struct cp_fsm_key keys[CP_FSM_KEYS_MAX]; /* by id, ascending */
};

/* Where payloads come from (the event store in production, a map in tests). All callbacks
 * run on the caller's thread inside cp_fsm_drain()/apply. */
struct cp_payload_provider {
	void *data;
	/* 0 with *payload and *len set (valid until applied() returns), or -EAGAIN if missing. */
	int (*get)(void *data, uint16_t origin, uint64_t seq, const struct rumor_event_id *id,
		   const void **payload, size_t *len);
	/* Called once per missing head event: the owner should pull it, then cp_fsm_drain(). */
	void (*want)(void *data, uint16_t origin, uint64_t seq, const struct rumor_event_id *id);
	/* Called for every applied record in gseq order (watch streams, the ordered log on disk,
	 * releasing payloads). Optional. */
	void (*applied)(void *data, const struct cp_fsm_entry *e);
	/* Called with every decoded committed batch before dedupe, in log order: the leader
	 * feeds it to cp_order_committed(). Optional. */
	void (*committed)(void *data, const struct cp_batch *b);
};

/* Called after every accepted keyring entry and after a snapshot load with a keyring:
 * rumor-cp hands it to its dataplane. Optional (a setter, not a provider field, so that
 * the providers written before it stay as they are). */
typedef void (*cp_fsm_keyring_cb)(void *data, const struct cp_fsm_keyring *kr);

struct cp_fsm_config {
	uint32_t log_window;   /* retained ordered-log entries (payload copies), >= 1 */
	uint32_t max_payload;  /* bigger payloads are applied but retained truncated */
};

struct cp_fsm_stats {
	uint64_t batches;       /* batches applied by libraft */
	uint64_t bad_batches;   /* entries that failed to decode (ignored on every node) */
	uint64_t dups;          /* records at or below the watermark: dropped */
	uint64_t gap_jumps;     /* records jumping over a seq with no skip (leader bug) */
	uint64_t queued;        /* committed, waiting for payloads */
	uint64_t applied;       /* events applied */
	uint64_t skips;         /* skip records applied */
	uint64_t skipped_seqs;  /* origin seqs those skip records covered */
	uint64_t rejects;       /* reject records applied (events never executed) */
	uint64_t kv_cmds;       /* payloads executed as KV commands */
	uint64_t kv_errors;     /* malformed KV commands */
	uint64_t wants;         /* want() calls */
	uint64_t lost;          /* queued events an operator declared lost (applied as rejects) */
	uint64_t keyops;        /* keyring entries accepted */
	uint64_t keyops_refused;/* keyring entries refused by the rules above */
};

struct cp_fsm;

void cp_fsm_config_default(struct cp_fsm_config *cfg); /* 1024 entries, 64 KiB */

/* Create; @pp is copied. Returns 0, -EINVAL (log_window 0, pp->get NULL), -ENOMEM. */
int cp_fsm_create(const struct cp_fsm_config *cfg, const struct cp_payload_provider *pp,
		  struct cp_fsm **out);
void cp_fsm_destroy(struct cp_fsm *f);

/* The libraft FSM (version 1: snapshot buffers are raft_malloc'd and freed by libraft;
 * restore takes ownership of buf->base on success). Pass it to raft_init(). */
struct raft_fsm *cp_fsm_raft(struct cp_fsm *f);

/* Apply one encoded batch (what the raft apply callback does). Returns 0; a buffer that
 * does not decode is counted in bad_batches and ignored (deterministically everywhere). */
int cp_fsm_apply_buf(struct cp_fsm *f, const void *buf, size_t len);

/* Apply queued records while payloads are available. Returns how many were applied. */
unsigned cp_fsm_drain(struct cp_fsm *f);

/* Committed-through watermark of @origin (for cp_order on a new leader and dataplane
 * dedupe). Dense array of RUMOR_NODE_ID_MAX + 1 entries via cp_fsm_watermarks(). */
uint64_t cp_fsm_watermark(const struct cp_fsm *f, uint16_t origin);
const uint64_t *cp_fsm_watermarks(const struct cp_fsm *f);

uint64_t cp_fsm_last_gseq(const struct cp_fsm *f);     /* last applied global seq */
/* running XXH3 over (gseq, id, kind), plus the last seq of a skip covering more than one */
uint64_t cp_fsm_digest(const struct cp_fsm *f);
uint64_t cp_fsm_queue_len(const struct cp_fsm *f);     /* committed, not yet applied */
const struct cp_kv *cp_fsm_kv(const struct cp_fsm *f);
void cp_fsm_get_stats(const struct cp_fsm *f, struct cp_fsm_stats *st);

void cp_fsm_set_keyring_cb(struct cp_fsm *f, cp_fsm_keyring_cb cb, void *data);
/* The replicated keyring (never NULL; gen 0 until the first accepted entry). */
const struct cp_fsm_keyring *cp_fsm_keyring(const struct cp_fsm *f);
/* What applying @k now would return: 0 or the -errno of the rules above. The API checks
 * with it before proposing; the verdict that counts is the one at apply. */
int cp_fsm_keyop_check(const struct cp_fsm *f, const struct cp_keyop *k);
/* The verdict of the last keyring entry applied (0 or -errno). libraft's apply result for a
 * keyring entry points at it (valid inside the raft_apply callback only). */
int cp_fsm_last_keyop(const struct cp_fsm *f);

/* Retained log lookup by gseq. Returns 0 with *e (payload points into the fsm, valid until
 * the next apply/restore) or -ENOENT when outside the window. */
int cp_fsm_log_get(const struct cp_fsm *f, uint64_t gseq, struct cp_fsm_entry *e);

/* Snapshot to one malloc'd buffer (*buf, *len; free()). Carries KV, last gseq, digest,
 * watermarks, the committed-but-unapplied queue, the retained log window and (version 2,
 * written only once a keyring entry was accepted, so that older nodes still read the
 * snapshots of a cluster that never used `keys`) the replicated keyring. Version 1 loads
 * as "no keyring entry".
 * Returns 0 or -ENOMEM. */
int cp_fsm_snapshot_save(const struct cp_fsm *f, void **buf, size_t *len);
/* Replace the whole state from a snapshot. Returns 0 or -EPROTO (bad magic/version),
 * -EMSGSIZE (truncated or trailing bytes), -EINVAL (bad field), -ENOMEM; on error the
 * state is unchanged. Call cp_fsm_drain() afterwards when payloads may be available. */
int cp_fsm_snapshot_load(struct cp_fsm *f, const void *buf, size_t len);

#endif
