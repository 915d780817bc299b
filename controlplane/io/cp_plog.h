/* cp_plog: the payload log, this node's one recovery store for event payloads. Every frame the
 * node holds is appended here (segmented, binary, CRC32C per record) and the node reports a
 * frame to the leader only once its record is durable: one fdatasync on the io_uring loop
 * covers everything appended while the previous one was in flight (group commit). Restart
 * replay, catch-up, peer fetches and repairs read payloads back from it. */
#ifndef CP_PLOG_H
#define CP_PLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cp_loop.h"

struct cp_plog;

/* Highest origin id; equals RUMOR_NODE_ID_MAX (common/rumor_vc.h, not on io/'s include path:
 * cp_node.c static-asserts the two are equal). Origins are 1..CP_PLOG_ORIGIN_MAX. */
#define CP_PLOG_ORIGIN_MAX 1023u

/* Operations the test-only fault hook is asked about. */
enum { CP_PLOG_OP_WRITE = 1, CP_PLOG_OP_CREATE = 2 };

struct cp_plog_cfg {
    size_t segment_size;   /* roll to a new segment past this many bytes (0: 4 MiB) */
    size_t buffer_max;     /* bytes appended but not yet written, at most (0: 16 MiB) */
    bool rwf_dsync;        /* one RWF_DSYNC write instead of write + fdatasync */
    /* Zero-fill each new segment to segment_size (one write on the loop before its first
     * record): records then overwrite allocated blocks, so an fdatasync flushes data alone
     * instead of also committing the file system's journal for a grown file. A tail of
     * zeros after the last record is the segment's end, in closed segments as well. */
    bool prealloc;
    /* The spare segment (the next one, made ahead) is zero-filled this many bytes at a time,
     * one piece per flush, then fdatasync'd (0: 64 KiB). A whole segment in one write
     * first-touches 4 MiB of page cache at once: on a VM whose balloon reports free memory
     * to the host, that memory faults back in from the host and the vCPU stalls for tens of
     * ms (all nodes roll together, so the order stalls with them). Pieces grow when the
     * records outrun them, so that the fill ends by 3/4 of the open segment; a roll that
     * finds it unfinished still writes the rest at once. */
    size_t fill_piece;
    /* A completed write does not start the next one: only cp_plog_flush does (the owner
     * paces group commit, e.g. wider groups under load). */
    bool owner_starts_writes;
    /* Seqs of one origin indexed at once, lowest to highest held (0: 1 << 24). The index
     * costs 8 bytes per seq of that span; an append that would widen it further fails with
     * -ERANGE, a segment that does at load with -ERANGE. */
    uint64_t max_span;
    /* Called on the loop each time the durable ticket advances (see cp_plog_append). */
    void (*durable)(void *arg, uint64_t ticket);
    /* Recovery notes (torn tail truncated, segment deleted, write error). NULL: stderr. */
    void (*log)(void *arg, const char *msg);
    void *arg;
    /* Tests only (NULL in production): asked before each segment write (CP_PLOG_OP_WRITE)
     * and segment creation (CP_PLOG_OP_CREATE); a negative errno makes that operation fail
     * with it, exactly as if the kernel had returned it. */
    int (*fault)(void *arg, int op);
};

/* Open (creating it if missing) the directory @dir and load it: every segment is scanned,
 * the index (origin, seq) -> record rebuilt. A torn tail of the newest segment (a partial
 * header or body, or a damaged record - zeroed or bad header, bad frame CRC - with no
 * intact record header after it) is truncated, fdatasync'd and logged. Damage anywhere
 * else fails with -EUCLEAN and @errmsg (256 bytes, may be NULL) names the file and offset.
 * Errors also: -ENOMEM, -ERANGE (max_span), -EINVAL (segment_size over 32 GiB), -errno of
 * mkdir/open/read. An empty directory gets its first segment, plog-00000000000000000001. */
int cp_plog_open(struct cp_loop *loop, const char *dir, const struct cp_plog_cfg *cfg,
                 struct cp_plog **out, char *errmsg);

/* Flush what is buffered (waiting for an in-flight write), close, free. */
void cp_plog_close(struct cp_plog *pl);

/* Append one frame: @frame is the frame's rumor part (what rumor_wire_decode_rumor reads),
 * holding @origin's events @first_seq .. @first_seq + @count - 1. The bytes are copied.
 * Returns the record's ticket (> 0; tickets increase by one per append) once buffered; the
 * record is durable when cp_plog_durable() >= ticket. Events already in the log are not
 * appended again: the return is then the highest ticket of the buffered records that hold
 * them (0 if they are all durable). A record that only partly overlaps what is held is
 * appended; only its new seqs are indexed (the first record holding a seq keeps it).
 * Errors: -EINVAL (origin 0 or over CP_PLOG_ORIGIN_MAX, first_seq 0, count 0, len 0 or over
 * 64 KiB), -ENOBUFS (buffer_max reached: call again after the next durable callback),
 * -ENOSPC/-EIO (the last write failed: the log refuses appends until a retry succeeds, see
 * cp_plog_error), -ERANGE (max_span), -ENOMEM. */
int64_t cp_plog_append(struct cp_plog *pl, uint16_t origin, uint64_t first_seq,
                       uint16_t count, const void *frame, uint32_t len);

/* Start writing everything buffered (one writev + fdatasync, linked) unless a write is in
 * flight; when it completes, the next one starts at once if more was appended meanwhile.
 * Call it after a burst of appends, and on a timer while cp_plog_error() != 0 (a failed
 * write is retried only by this call). Never blocks, except to create the next segment
 * file (openat + directory fsync) when the buffered records start one. */
void cp_plog_flush(struct cp_plog *pl);

/* Highest durable ticket. */
uint64_t cp_plog_durable(const struct cp_plog *pl);

/* 0, or the -errno of the last failed write or fdatasync (-ENOSPC: disk full). A failed
 * write keeps its records buffered and is retried by the next cp_plog_flush; the error is
 * cleared once a retry succeeds. */
int cp_plog_error(const struct cp_plog *pl);

/* True when (origin, seq) is in the log (durable or buffered). */
bool cp_plog_has(const struct cp_plog *pl, uint16_t origin, uint64_t seq);

/* Read the record that holds (origin, seq) into @buf (synchronous pread of a page-cached
 * file: recovery paths only) and verify its CRC. Sets *@first_seq to the record's first
 * seq and returns the frame's length. Buffered (not yet written) records are read from
 * memory. Errors: -ENOENT, -ENOBUFS (@cap too small), -EUCLEAN (CRC mismatch: logged with
 * file and offset), -EIO. */
int cp_plog_read(struct cp_plog *pl, uint16_t origin, uint64_t seq, void *buf, size_t cap,
                 uint64_t *first_seq);

/* Highest seq of @origin in the log (0: none). */
uint64_t cp_plog_max_seq(const struct cp_plog *pl, uint16_t origin);

/* Lowest seq above @after of @origin in the log (0: none): walks what a restart must
 * re-report, together with cp_plog_read. */
uint64_t cp_plog_next_seq(const struct cp_plog *pl, uint16_t origin, uint64_t after);

/* Delete closed segments every record of which is covered: for each record, its last seq
 * <= covered[origin] (@covered has CP_PLOG_ORIGIN_MAX + 1 entries). The open segment is
 * never deleted. Index entries of deleted records are dropped at once; the files are
 * unlinked (then the directory synced) by io_uring requests on the loop afterwards, failures
 * logged. Returns the segments dropped. */
int cp_plog_gc(struct cp_plog *pl, const uint64_t *covered);
/* Unlinks of dropped segments still in flight or queued. */
bool cp_plog_gc_pending(const struct cp_plog *pl);

struct cp_plog_stats {
    uint64_t appends, append_bytes, dup_appends;
    uint64_t flushes;            /* fdatasyncs completed */
    uint64_t flush_records_max;  /* most records one fdatasync covered */
    uint64_t write_errors;
    uint64_t segments, bytes;    /* on disk now */
    uint64_t buffered_bytes;
    uint64_t torn_truncated;     /* at load */
    uint64_t prefills;           /* segments zero-filled (cfg.prealloc) */
    uint64_t spares;             /* ... of them made ahead, before their roll */
    uint64_t spare_waits;        /* rolls that waited for the spare to be made */
    uint64_t spare_writes;       /* zero-fill writes of spares (cfg.fill_piece or more) */
    uint64_t segments_deleted;
    uint64_t read_errors;
};
void cp_plog_stats(const struct cp_plog *pl, struct cp_plog_stats *out);

/* Record codec (pure; also what the loader and the fuzz target use). A record is a 32-byte
 * header, little endian: magic "RPLG" (u32), CRC32C of header bytes 8..31 (u32), origin
 * (u16), count (u16), frame length (u32), first seq (u64), CRC32C of the frame (u32),
 * reserved zero (u32); then the frame, padded with zeros to a multiple of 8. */
#define CP_PLOG_HDR 32u
#define CP_PLOG_MAX_FRAME 65536u
struct cp_plog_rec {
    uint16_t origin, count;
    uint32_t len;
    uint64_t first_seq;
    const uint8_t *frame;        /* points into the decoded buffer */
};
/* Bytes a record of a @len-byte frame takes on disk. */
static inline size_t cp_plog_rec_size(uint32_t len)
{
    return CP_PLOG_HDR + (((size_t)len + 7u) & ~(size_t)7u);
}
/* Encode into @out (cp_plog_rec_size(len) bytes). Returns the size or -EINVAL. */
int cp_plog_rec_encode(const struct cp_plog_rec *r, void *out, size_t cap);
/* Decode the record at @p. Returns its size; -EAGAIN when @len is too short for the header
 * or the body it announces (a torn tail if at the end of the newest segment); -EBADMSG for
 * a bad magic or header CRC (an all-zero header included); -EUCLEAN for a bad frame CRC. */
int cp_plog_rec_decode(const void *p, size_t len, struct cp_plog_rec *r);

#endif
