/* cp_kv: the deterministic key-value store that ordered events drive, with a tiny text
 * command format, snapshot serialisation and a digest for cross-node comparison. */
#ifndef CP_KV_H
#define CP_KV_H

#include <stddef.h>
#include <stdint.h>

/* Command format (one command per event payload, ASCII, no trailing newline needed; a
 * single trailing '\n' is ignored):
 *   "SET <key> <value>"   value = every byte after the single space following key
 *                          (may contain spaces, may be empty)
 *   "DEL <key>"
 *   "INCR <key> [<n>]"     n: signed decimal int64, default 1; the current value must be
 *                          absent (= 0) or a signed decimal int64; result stored as decimal
 * key: 1..CP_KV_KEY_MAX bytes, no byte <= 0x20 or 0x7f. value: <= CP_KV_VAL_MAX bytes.
 * Anything that does not start with "SET ", "DEL " or "INCR " is not a command (just
 * logged by the caller). */
#define CP_KV_KEY_MAX 255u
#define CP_KV_VAL_MAX 4096u

struct cp_kv;

/* Returns 0 or -ENOMEM. */
int cp_kv_create(struct cp_kv **out);
void cp_kv_destroy(struct cp_kv *kv);
void cp_kv_clear(struct cp_kv *kv);

/* Execute one payload. Returns 0 executed, 1 not a command (nothing changed),
 *   -EINVAL  malformed command (bad key, missing argument, bad number)
 *   -E2BIG   key or value over the bound
 *   -ERANGE  INCR on a non-integer value or overflow
 *   -ENOMEM.
 * Errors leave the store unchanged, so every node reaches the same state. */
int cp_kv_exec(struct cp_kv *kv, const void *payload, size_t len);

/* Direct access. get returns 0 with *val and *vlen pointing inside the store (valid until the
 * next change) or -ENOENT. set: 0, -EINVAL, -E2BIG, -ENOMEM. del: 0 or -ENOENT. */
int cp_kv_get(const struct cp_kv *kv, const char *key, size_t klen, const char **val,
	      size_t *vlen);
int cp_kv_set(struct cp_kv *kv, const char *key, size_t klen, const char *val, size_t vlen);
int cp_kv_del(struct cp_kv *kv, const char *key, size_t klen);
size_t cp_kv_count(const struct cp_kv *kv);

/* XXH3-64 over the contents sorted by key (klen u32 LE, key, vlen u32 LE, value each).
 * Equal contents give equal digests whatever the insertion history. */
uint64_t cp_kv_digest(const struct cp_kv *kv);

/* Snapshot: u32 LE count, then entries sorted by key as in the digest.
 * cp_kv_snapshot_size() bytes; write returns bytes written or -ENOBUFS / -ENOMEM. */
size_t cp_kv_snapshot_size(const struct cp_kv *kv);
long cp_kv_snapshot_write(const struct cp_kv *kv, void *buf, size_t cap);
/* Replace contents from a snapshot. Returns bytes consumed, or -EMSGSIZE (truncated),
 * -EINVAL (bad key, duplicate or unsorted keys), -E2BIG, -ENOMEM; on error the store is
 * left empty. */
long cp_kv_snapshot_read(struct cp_kv *kv, const void *buf, size_t len);

#endif
