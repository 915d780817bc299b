/* cp_disk: Raft persistence in one directory: segmented log with CRC32C batch records and
 * group commit over io_uring, alternating term/vote metadata files, atomic snapshots. */
#ifndef CP_DISK_H
#define CP_DISK_H

#include <raft.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cp_loop.h"

struct cp_disk;

struct cp_disk_cfg {
    size_t segment_size;   /* roll to a new segment past this many bytes (0: 8 MiB) */
    unsigned max_batch;    /* most append requests covered by one fdatasync (0: 1024) */
    bool rwf_dsync;        /* one RWF_DSYNC write instead of write + fdatasync */
    /* Log sink for recovery notes (torn tail truncated, ...). NULL: stderr. */
    void (*log)(void *arg, const char *msg);
    void *log_arg;
};

/* Everything loaded from the directory. Memory follows raft_io->load's ownership rules
 * (raft_malloc'd, caller owns): entries share one batch buffer. */
struct cp_disk_state {
    raft_term term;
    raft_id voted_for;
    struct raft_snapshot *snapshot; /* NULL when none */
    raft_index start_index;         /* index of entries[0] */
    struct raft_entry *entries;
    size_t n_entries;
};

struct cp_disk_append;
typedef void (*cp_disk_append_cb)(struct cp_disk_append *req, int status);
/* Caller-owned append request; the entries are copied at submission. */
struct cp_disk_append {
    void *data;
    cp_disk_append_cb cb;
    /* private */
    struct cp_disk_append *next;
    raft_index last_index;
};

struct cp_disk_snap_put;
typedef void (*cp_disk_snap_put_cb)(struct cp_disk_snap_put *req, int status);
struct cp_disk_snap_put {
    void *data;
    cp_disk_snap_put_cb cb;
    /* private */
    struct cp_loop_req lreq;
};

/* Open (creating it if missing) the directory `dir`; does not read it.
 * Errors: -ENOMEM, -errno of mkdir/open, -ENAMETOOLONG. errmsg (may be NULL, 256 bytes)
 * receives a human-readable reason. */
int cp_disk_open(struct cp_loop *loop, const char *dir, const struct cp_disk_cfg *cfg,
                 struct cp_disk **out, char *errmsg);

/* Load metadata, newest valid snapshot and the log. A torn tail of the open (last)
 * segment is truncated and logged. Any other damage fails with -EUCLEAN (CRC mismatch,
 * bad header) or -EBADMSG (index gap/inconsistency) and errmsg names file and offset.
 * Must be called once, before any other operation. Errors also: -ENOMEM, -EIO. */
int cp_disk_load(struct cp_disk *disk, struct cp_disk_state *st, char *errmsg);

/* Persist term and vote (synchronously, fdatasync'd, alternating files). 0 or -errno;
 * an fsync failure aborts the process. */
int cp_disk_set_meta(struct cp_disk *disk, raft_term term, raft_id vote);

/* Write the first entry (index 1, term 1) holding conf, and term 1 (synchronously).
 * Errors: -EEXIST if there is any state already, -ENOMEM, -errno. */
int cp_disk_bootstrap(struct cp_disk *disk, const struct raft_configuration *conf);

/* Append entries after the current last index. The callback runs once they are durable;
 * appends submitted while a flush is in progress share the next fdatasync (group commit).
 * status: 0, or -ECANCELED if the disk is closed first. An I/O error aborts the process.
 * Errors: -EINVAL (n == 0), -ENOMEM, -ESHUTDOWN (closing). */
int cp_disk_append(struct cp_disk *disk, struct cp_disk_append *req,
                   const struct raft_entry *entries, unsigned n, cp_disk_append_cb cb);

/* Delete entries from index on, after every earlier append completed.
 * Errors: -EINVAL (index below the first stored entry when there is no snapshot),
 * -ENOMEM, -ESHUTDOWN. */
int cp_disk_truncate(struct cp_disk *disk, raft_index index);

/* Store snapshot (temp file, fsync, rename, directory fsync), asynchronously on the loop,
 * ordered after earlier operations. trailing > 0: delete closed segments entirely below
 * index - trailing; later appends proceed meanwhile, later truncates/puts wait for it.
 * trailing == 0: delete the whole log, next append goes to snapshot->index + 1 and waits.
 * The snapshot's buffers must stay valid until the callback. Errors: -ENOMEM, -ESHUTDOWN. */
int cp_disk_snapshot_put(struct cp_disk *disk, struct cp_disk_snap_put *req,
                         unsigned trailing, const struct raft_snapshot *snapshot,
                         cp_disk_snap_put_cb cb);

/* Read the newest snapshot into *out (raft_malloc'd, one buffer), or NULL when none.
 * Errors: -EUCLEAN (checksum), -ENOMEM, -errno. */
int cp_disk_snapshot_get(struct cp_disk *disk, struct raft_snapshot **out);

/* Index of the last stored (or queued) entry; 0 when empty. */
raft_index cp_disk_last_index(const struct cp_disk *disk);
/* Number of fdatasyncs (flushes) issued so far: a group-commit witness for tests. */
uint64_t cp_disk_flushes(const struct cp_disk *disk);
/* True while any disk operation is in flight: a flush, roll, truncation or snapshot put
 * (cp_disk_close would have to wait). */
bool cp_disk_flushing(const struct cp_disk *disk);
/* True when no append, truncation or snapshot is pending. */
bool cp_disk_idle(const struct cp_disk *disk);

/* Close: pending, unsubmitted operations complete with -ECANCELED; an in-flight flush is
 * waited for by running the loop. Frees disk. */
void cp_disk_close(struct cp_disk *disk);

/* Encode/decode a configuration in our own format (libraft 0.15 exports no decoder).
 * decode: 0, -EBADMSG on any malformed byte, -ENOMEM. conf must be initialized. */
int cp_conf_encode(const struct raft_configuration *conf, struct raft_buffer *buf);
int cp_conf_decode(const void *p, size_t len, struct raft_configuration *conf);

/* Free a snapshot as raft would (configuration, buffers, struct). */
void cp_snapshot_free(struct raft_snapshot *s);

#endif
