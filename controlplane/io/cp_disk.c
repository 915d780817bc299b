/* cp_disk: segmented Raft log + metadata + snapshots. Appends are group-committed over
 * io_uring; structural changes (truncate, roll, snapshot put) are io_uring step chains too. */
#include "rumor_be.h"
#include "cp_fileio.h"
#include "cp_disk.h"
#include "rumor_crc32c.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REC_MAGIC 0x474f4c52u /* "RLOG" */
#define REC_HDR 40
#define ENT_HDR 16
#define META_MAGIC 0x4154454du /* "META" */
#define META_SIZE 40
#define SNAP_MAGIC 0x50414e53u /* "SNAP" */
#define SNAP_HDR 56
#define CONF_MAGIC 0x464e4f43u

struct seg {
    raft_index first, last; /* last == first - 1 when empty */
    uint64_t size;
};

struct rec {
    raft_index first;
    uint32_t n;
    uint32_t seg; /* index into segs */
    uint64_t off, len;
};

enum { OP_APPEND, OP_TRUNCATE, OP_SNAP };

struct op {
    int type;
    struct op *next;
    struct cp_disk_append *areq;
    uint8_t *buf;
    size_t len;
    raft_index first;
    uint32_t n;
    raft_index index;
    unsigned trailing;
    struct cp_disk_snap_put *sreq;
    const struct raft_snapshot *snap;
};

/* Snapshot data goes out in writes of at most this much: the loop computes the CRC of
 * each piece as it goes, and a filesystem that copies buffered writes inline at submit
 * time copies only this much per loop iteration. */
#define SNAP_CHUNK (1u << 20)
#define SNAP_IOV 16

enum { SJ_OPEN, SJ_DATA, SJ_HEADER, SJ_RENAME, SJ_DIRSYNC, SJ_UNLINK, SJ_FINAL };

struct unlink_ent {
    char name[64];
    bool must; /* a segment: failing to delete it is fatal */
};

/* The snapshot put in progress (one at a time: they share snapshot.tmp). */
struct snapjob {
    struct op *op; /* NULL: none */
    struct cp_loop_req lreq;
    int step, fd;
    uint8_t h[SNAP_HDR];
    struct raft_buffer conf;
    struct iovec *src; /* conf, then the snapshot's buffers */
    unsigned n_src, src_i;
    size_t src_off;
    uint64_t file_off;
    uint32_t crc;
    struct iovec iov[SNAP_IOV];
    char name[64];
    struct unlink_ent *del;
    size_t n_del, del_i;
};

enum { TR_DROP, TR_OPEN, TR_READ, TR_SYNC, TR_DIRSYNC, TR_REOPEN };

/* The truncation in progress (nothing else runs meanwhile). */
struct truncjob {
    bool active;
    struct cp_loop_req lreq;
    int step, fd;
    raft_index index;
    char name[64];
    size_t ri; /* the record holding index is recs[ri - 1] */
    uint32_t keep;
    uint8_t *body, *rewrite;
    uint64_t blen, got;
    size_t rlen;
    struct iovec iov;
};

struct cp_disk {
    struct cp_loop *loop;
    struct cp_disk_cfg cfg;
    char dir[512];
    int dfd;
    int open_fd; /* fd of the last segment, -1 if none open */
    struct seg *segs;
    size_t n_segs, cap_segs;
    struct rec *recs;
    size_t n_recs, cap_recs;
    raft_index snap_index; /* newest snapshot's index (0: none) */
    raft_index queued_next;
    uint64_t meta_seq;
    uint64_t flushes;
    struct op *head, *tail;
    struct op *flight; /* ops of the in-flight flush */
    size_t n_flight;
    struct iovec *iov;
    struct cp_loop_req wreq;
    bool closing, loaded;
    /* segment roll in progress: open(O_CREAT) then directory fsync, appends wait */
    bool rolling;
    int roll_step;
    raft_index roll_first;
    char roll_name[64];
    struct cp_loop_req rreq;
    struct snapjob sj;
    struct truncjob tr;
    /* snapshot files on disk (indexes), so a put knows which to delete without readdir */
    raft_index *snaps;
    size_t n_snaps, cap_snaps;
};

#define logf_(o, ...) cp_note((o)->cfg.log, (o)->cfg.log_arg, __VA_ARGS__)

/* An fsync that failed may have dropped dirty pages: retrying could report durability
 * that does not exist, so the only honest reaction is to stop. */
static void die_io(const char *what, const char *file, int err)
{
    fprintf(stderr, "cp_disk: FATAL: %s failed on %s: %s; stopping (no retry)\n", what,
            file, strerror(err < 0 ? -err : err));
    abort();
}


static int write_full(int fd, const void *buf, size_t len, off_t off)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t w = pwrite(fd, p, len, off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        len -= (size_t)w;
        off += w;
    }
    return 0;
}

static void sync_fd(int fd, const char *what, const char *file)
{
    if (fdatasync(fd) != 0)
        die_io(what, file, errno);
}

static void sync_dir(struct cp_disk *d)
{
    if (fsync(d->dfd) != 0)
        die_io("directory fsync", d->dir, errno);
}

static void seg_name(char *buf, size_t n, raft_index first)
{
    snprintf(buf, n, "seg-%020llu", first);
}

/* ---- record encoding ---- */

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

static size_t rec_size(const struct raft_entry *e, unsigned n)
{
    size_t s = REC_HDR + (size_t)n * ENT_HDR;
    for (unsigned i = 0; i < n; i++)
        s += pad8(e[i].buf.len);
    return s;
}

static void rec_encode(uint8_t *out, raft_index first, const struct raft_entry *e, unsigned n,
                       size_t total)
{
    uint8_t *body = out + REC_HDR;
    uint8_t *data = body + (size_t)n * ENT_HDR;
    for (unsigned i = 0; i < n; i++) {
        uint8_t *h = body + (size_t)i * ENT_HDR;
        rumor_le_st64(h, e[i].term);
        rumor_le_st16(h + 8, e[i].type);
        rumor_le_st16(h + 10, 0);
        rumor_le_st32(h + 12, (uint32_t)e[i].buf.len);
        if (e[i].buf.len)
            memcpy(data, e[i].buf.base, e[i].buf.len);
        memset(data + e[i].buf.len, 0, pad8(e[i].buf.len) - e[i].buf.len);
        data += pad8(e[i].buf.len);
    }
    uint64_t body_len = total - REC_HDR;
    rumor_le_st32(out, REC_MAGIC);
    rumor_le_st64(out + 8, first);
    rumor_le_st32(out + 16, n);
    rumor_le_st32(out + 20, 0);
    rumor_le_st64(out + 24, body_len);
    rumor_le_st32(out + 32, rumor_crc32c(0, body, body_len));
    rumor_le_st32(out + 36, 0);
    rumor_le_st32(out + 4, rumor_crc32c(0, out + 8, REC_HDR - 8));
}

/* Parse a body already CRC-checked: fills entries (pointing into body) if e != NULL.
 * Returns 0 or -EBADMSG when lengths are inconsistent. */
static int rec_parse_body(const uint8_t *body, uint64_t body_len, uint32_t n,
                          struct raft_entry *e, uint64_t *data_bytes)
{
    if ((uint64_t)n * ENT_HDR > body_len)
        return -EBADMSG;
    uint64_t off = (uint64_t)n * ENT_HDR, bytes = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *h = body + (size_t)i * ENT_HDR;
        uint32_t len = rumor_le_ld32(h + 12);
        if (off + pad8(len) > body_len)
            return -EBADMSG;
        if (e) {
            e[i].term = rumor_le_ld64(h);
            e[i].type = rumor_le_ld16(h + 8);
            e[i].buf.len = len;
            e[i].buf.base = (void *)(body + off);
            e[i].batch = NULL;
        }
        off += pad8(len);
        bytes += len;
    }
    if (off != body_len)
        return -EBADMSG;
    if (data_bytes)
        *data_bytes = bytes;
    return 0;
}

/* ---- open / metadata ---- */

int cp_disk_open(struct cp_loop *loop, const char *dir, const struct cp_disk_cfg *cfg,
                 struct cp_disk **out, char *errmsg)
{
    if (strlen(dir) >= 480) {
        cp_errf(errmsg, "directory name too long");
        return -ENAMETOOLONG;
    }
    int dfd = cp_open_dir(dir, errmsg);
    if (dfd < 0)
        return dfd;
    struct cp_disk *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        close(dfd);
        return -ENOMEM;
    }
    d->loop = loop;
    if (cfg)
        d->cfg = *cfg;
    if (d->cfg.segment_size == 0)
        d->cfg.segment_size = 8u << 20;
    if (d->cfg.max_batch == 0)
        d->cfg.max_batch = 1024;
    snprintf(d->dir, sizeof(d->dir), "%s", dir);
    d->dfd = dfd;
    d->open_fd = -1;
    d->queued_next = 1;
    d->iov = calloc(d->cfg.max_batch, sizeof(*d->iov));
    if (d->iov == NULL) {
        close(dfd);
        free(d);
        return -ENOMEM;
    }
    *out = d;
    return 0;
}

static int meta_read(struct cp_disk *d, int which, uint64_t *seq, raft_term *term,
                     raft_id *vote, bool *present, char *errmsg)
{
    char name[32];
    snprintf(name, sizeof(name), "metadata%d", which);
    *present = false;
    int fd = openat(d->dfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    uint8_t b[META_SIZE];
    ssize_t r = pread(fd, b, sizeof(b), 0);
    close(fd);
    if (r == 0)
        return 0; /* created but never written: a crash during the first write */
    if (r != META_SIZE || rumor_le_ld32(b) != META_MAGIC ||
        rumor_le_ld32(b + 36) != rumor_crc32c(0, b, 36)) {
        /* One damaged copy is the expected result of a crash while writing it; the
         * other copy is then the truth. */
        logf_(d, "cp_disk: %s/%s damaged (offset 0), using the other copy", d->dir, name);
        cp_errf(errmsg, "%s/%s: bad checksum at offset 0", d->dir, name);
        return -EUCLEAN;
    }
    *seq = rumor_le_ld64(b + 8);
    *term = rumor_le_ld64(b + 16);
    *vote = rumor_le_ld64(b + 24);
    *present = true;
    return 0;
}

int cp_disk_set_meta(struct cp_disk *d, raft_term term, raft_id vote)
{
    uint8_t b[META_SIZE] = { 0 };
    uint64_t seq = d->meta_seq + 1;
    rumor_le_st32(b, META_MAGIC);
    rumor_le_st32(b + 4, 1);
    rumor_le_st64(b + 8, seq);
    rumor_le_st64(b + 16, term);
    rumor_le_st64(b + 24, vote);
    rumor_le_st32(b + 36, rumor_crc32c(0, b, 36));
    char name[32];
    snprintf(name, sizeof(name), "metadata%d", (int)(seq % 2) + 1);
    int fd = openat(d->dfd, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int rv = write_full(fd, b, sizeof(b), 0);
    if (rv == 0)
        sync_fd(fd, "metadata fdatasync", name);
    close(fd);
    if (rv == 0) {
        d->meta_seq = seq;
        if (seq <= 2)
            sync_dir(d); /* the file may be new */
    }
    return rv;
}

/* ---- configuration codec (snapshot files and install-snapshot messages) ---- */

int cp_conf_encode(const struct raft_configuration *conf, struct raft_buffer *buf)
{
    size_t len = 8;
    for (unsigned i = 0; i < conf->n; i++)
        len += 8 + 1 + 2 + strlen(conf->servers[i].address);
    uint8_t *p = raft_malloc(len);
    if (p == NULL)
        return -ENOMEM;
    rumor_le_st32(p, CONF_MAGIC);
    rumor_le_st32(p + 4, conf->n);
    size_t o = 8;
    for (unsigned i = 0; i < conf->n; i++) {
        size_t al = strlen(conf->servers[i].address);
        rumor_le_st64(p + o, conf->servers[i].id);
        p[o + 8] = (uint8_t)conf->servers[i].role;
        rumor_le_st16(p + o + 9, (uint16_t)al);
        memcpy(p + o + 11, conf->servers[i].address, al);
        o += 11 + al;
    }
    buf->base = p;
    buf->len = len;
    return 0;
}

int cp_conf_decode(const void *vp, size_t len, struct raft_configuration *conf)
{
    const uint8_t *p = vp;
    if (len < 8 || rumor_le_ld32(p) != CONF_MAGIC)
        return -EBADMSG;
    uint32_t n = rumor_le_ld32(p + 4);
    if (n > 4096)
        return -EBADMSG;
    size_t o = 8;
    for (uint32_t i = 0; i < n; i++) {
        if (o + 11 > len)
            goto bad;
        uint64_t id = rumor_le_ld64(p + o);
        int role = p[o + 8];
        uint16_t al = rumor_le_ld16(p + o + 9);
        if (id == 0 || role > RAFT_SPARE || o + 11 + al > len || al == 0 || al > 1024)
            goto bad;
        char addr[1025];
        memcpy(addr, p + o + 11, al);
        addr[al] = 0;
        if (strlen(addr) != al)
            goto bad;
        int rv = raft_configuration_add(conf, id, addr, role);
        if (rv == RAFT_NOMEM) {
            raft_configuration_close(conf);
            raft_configuration_init(conf);
            return -ENOMEM;
        }
        if (rv != 0)
            goto bad;
        o += 11 + al;
    }
    if (o != len)
        goto bad;
    return 0;
bad:
    raft_configuration_close(conf);
    raft_configuration_init(conf);
    return -EBADMSG;
}

void cp_snapshot_free(struct raft_snapshot *s)
{
    if (s == NULL)
        return;
    raft_configuration_close(&s->configuration);
    for (unsigned i = 0; i < s->n_bufs; i++)
        raft_free(s->bufs[i].base);
    raft_free(s->bufs);
    raft_free(s);
}

/* ---- snapshots ---- */
/* Open a file of the data dir for loading; on failure the message names it. Returns the fd
 * or -errno. */
static int open_named(struct cp_disk *d, const char *name, int flags, char *errmsg)
{
    int fd = openat(d->dfd, name, flags | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        cp_errf(errmsg, "%s/%s: %s", d->dir, name, strerror(e));
        return -e;
    }
    return fd;
}


static int snap_read(struct cp_disk *d, raft_index index, struct raft_snapshot **out,
                     char *errmsg)
{
    char name[64];
    snprintf(name, sizeof(name), "snap-%020llu", index);
    int fd = open_named(d, name, O_RDONLY, errmsg);
    if (fd < 0)
        return fd;
    struct stat st;
    fstat(fd, &st);
    uint8_t *b = NULL;
    int rv = -EUCLEAN;
    uint64_t off_bad = 0;
    if (st.st_size < SNAP_HDR)
        goto fail;
    b = malloc((size_t)st.st_size);
    if (b == NULL) {
        rv = -ENOMEM;
        goto out;
    }
    rv = cp_read_full(fd, b, (size_t)st.st_size, 0);
    if (rv != 0)
        goto out;
    rv = -EUCLEAN;
    uint64_t conf_len = rumor_le_ld64(b + 40), data_len = rumor_le_ld64(b + 48);
    if (rumor_le_ld32(b) != SNAP_MAGIC || rumor_le_ld64(b + 8) != index ||
        SNAP_HDR + conf_len + data_len != (uint64_t)st.st_size)
        goto fail;
    if (rumor_le_ld32(b + 4) != rumor_crc32c(0, b + 8, (size_t)st.st_size - 8)) {
        off_bad = 8;
        goto fail;
    }
    struct raft_snapshot *s = raft_calloc(1, sizeof(*s));
    if (s == NULL) {
        rv = -ENOMEM;
        goto out;
    }
    s->index = index;
    s->term = rumor_le_ld64(b + 16);
    s->configuration_index = rumor_le_ld64(b + 24);
    raft_configuration_init(&s->configuration);
    rv = cp_conf_decode(b + SNAP_HDR, conf_len, &s->configuration);
    if (rv == 0) {
        s->bufs = raft_malloc(sizeof(*s->bufs));
        void *data = raft_malloc(data_len ? data_len : 1);
        if (s->bufs == NULL || data == NULL) {
            raft_free(data);
            rv = -ENOMEM;
        } else {
            memcpy(data, b + SNAP_HDR + conf_len, data_len);
            s->bufs[0].base = data;
            s->bufs[0].len = data_len;
            s->n_bufs = 1;
        }
    }
    if (rv != 0) {
        cp_snapshot_free(s);
        if (rv == -EBADMSG) {
            rv = -EUCLEAN;
            off_bad = SNAP_HDR;
            goto fail;
        }
        goto out;
    }
    *out = s;
    goto out;
fail:
    cp_errf(errmsg, "%s/%s: corrupt snapshot (checksum/header) at offset %" PRIu64, d->dir,
         name, off_bad);
out:
    free(b);
    close(fd);
    return rv;
}

int cp_disk_snapshot_get(struct cp_disk *d, struct raft_snapshot **out)
{
    *out = NULL;
    if (d->snap_index == 0)
        return 0;
    return snap_read(d, d->snap_index, out, NULL);
}

static int push_snap(struct cp_disk *d, raft_index index)
{
    for (size_t i = 0; i < d->n_snaps; i++)
        if (d->snaps[i] == index)
            return 0;
    if (d->n_snaps == d->cap_snaps) {
        size_t c = d->cap_snaps ? d->cap_snaps * 2 : 4;
        void *p = realloc(d->snaps, c * sizeof(*d->snaps));
        if (p == NULL)
            return -ENOMEM;
        d->snaps = p;
        d->cap_snaps = c;
    }
    d->snaps[d->n_snaps++] = index;
    return 0;
}

/* ---- segment bookkeeping ---- */

static int push_seg(struct cp_disk *d, raft_index first)
{
    if (d->n_segs == d->cap_segs) {
        size_t c = d->cap_segs ? d->cap_segs * 2 : 16;
        void *p = realloc(d->segs, c * sizeof(*d->segs));
        if (p == NULL)
            return -ENOMEM;
        d->segs = p;
        d->cap_segs = c;
    }
    d->segs[d->n_segs++] = (struct seg){ .first = first, .last = first - 1, .size = 0 };
    return 0;
}

static int push_rec(struct cp_disk *d, struct rec r)
{
    if (d->n_recs == d->cap_recs) {
        size_t c = d->cap_recs ? d->cap_recs * 2 : 256;
        void *p = realloc(d->recs, c * sizeof(*d->recs));
        if (p == NULL)
            return -ENOMEM;
        d->recs = p;
        d->cap_recs = c;
    }
    d->recs[d->n_recs++] = r;
    return 0;
}

static void open_last(struct cp_disk *d)
{
    if (d->open_fd >= 0)
        close(d->open_fd);
    d->open_fd = -1;
    if (d->n_segs == 0)
        return;
    char name[64];
    seg_name(name, sizeof(name), d->segs[d->n_segs - 1].first);
    d->open_fd = openat(d->dfd, name, O_WRONLY | O_CLOEXEC);
    if (d->open_fd < 0)
        die_io("segment open", name, errno);
}

/* Synchronous: only bootstrap uses it (the loop runs none of our work yet). Rolls while
 * appending go through roll_start instead. */
static void new_segment(struct cp_disk *d, raft_index first)
{
    char name[64];
    seg_name(name, sizeof(name), first);
    if (d->open_fd >= 0)
        close(d->open_fd);
    d->open_fd = openat(d->dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (d->open_fd < 0)
        die_io("segment create", name, errno);
    sync_dir(d);
    if (push_seg(d, first) != 0)
        die_io("segment bookkeeping (out of memory)", name, ENOMEM);
}

/* Remove the last segment from memory only; its file is the caller's business. */
static void forget_last_seg(struct cp_disk *d)
{
    while (d->n_recs > 0 && d->recs[d->n_recs - 1].seg == d->n_segs - 1)
        d->n_recs--;
    d->n_segs--;
}

static void drop_last_seg(struct cp_disk *d)
{
    char name[64];
    seg_name(name, sizeof(name), d->segs[d->n_segs - 1].first);
    if (unlinkat(d->dfd, name, 0) != 0 && errno != ENOENT)
        die_io("segment unlink", name, errno);
    forget_last_seg(d);
}

/* ---- load ---- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Is there an intact record header anywhere in [from, size)? Records are 8-byte aligned.
 * A damaged header followed by an intact one is corruption, not a torn tail. */
static bool intact_header_after(int fd, uint64_t from, uint64_t size)
{
    uint64_t start = (from + 8) & ~(uint64_t)7;
    if (start + REC_HDR > size)
        return false;
    size_t len = (size_t)(size - start);
    uint8_t *b = malloc(len);
    if (b == NULL || cp_read_full(fd, b, len, (off_t)start) != 0) {
        free(b);
        return true; /* cannot prove it is a tail: refuse rather than drop data */
    }
    bool found = false;
    for (size_t o = 0; !found && o + REC_HDR <= len; o += 8)
        found = rumor_le_ld32(b + o) == REC_MAGIC && rumor_le_ld32(b + o + 4) == rumor_crc32c(0, b + o + 8,
                                                                          REC_HDR - 8);
    free(b);
    return found;
}

/* Scan one segment, appending records. Returns 0, or -EUCLEAN/-EBADMSG with errmsg. */
static int scan_segment(struct cp_disk *d, raft_index first, bool is_open, raft_index expect,
                        char *errmsg)
{
    char name[64];
    seg_name(name, sizeof(name), first);
    int fd = open_named(d, name, O_RDWR, errmsg);
    if (fd < 0)
        return fd;
    struct stat st;
    fstat(fd, &st);
    uint64_t size = (uint64_t)st.st_size, off = 0;
    uint8_t *body = NULL;
    if (first != expect && expect != 0) {
        close(fd);
        cp_errf(errmsg, "%s/%s: starts at index %llu, expected %llu (offset 0)", d->dir, name,
             first, expect);
        return -EBADMSG;
    }
    int rv = push_seg(d, first);
    if (rv)
        goto out;
    uint32_t segno = (uint32_t)(d->n_segs - 1);
    raft_index next = first;
    uint8_t h[REC_HDR];
    const char *why = NULL;
    while (off < size) {
        if (size - off < REC_HDR) {
            why = "partial record header";
            break;
        }
        rv = cp_read_full(fd, h, REC_HDR, (off_t)off);
        if (rv)
            goto out;
        if (rumor_le_ld32(h) != REC_MAGIC || rumor_le_ld32(h + 4) != rumor_crc32c(0, h + 8, REC_HDR - 8)) {
            static const uint8_t zero[REC_HDR];
            why = memcmp(h, zero, REC_HDR) == 0 ? "zeroed tail" : "bad record header checksum";
            if (is_open && intact_header_after(fd, off, size)) {
                cp_errf(errmsg, "%s/%s: %s at offset %" PRIu64 " followed by intact records",
                     d->dir, name, why, off);
                rv = -EUCLEAN;
                goto out;
            }
            break;
        }
        uint64_t blen = rumor_le_ld64(h + 24);
        uint32_t n = rumor_le_ld32(h + 16);
        if (rumor_le_ld64(h + 8) != next) {
            cp_errf(errmsg, "%s/%s: record at offset %" PRIu64 " has index %" PRIu64
                 ", expected %llu", d->dir, name, off, rumor_le_ld64(h + 8), next);
            rv = -EBADMSG;
            goto out;
        }
        if (blen > size - off - REC_HDR) {
            why = "partial record body";
            break;
        }
        free(body);
        body = malloc(blen ? blen : 1);
        if (body == NULL) {
            rv = -ENOMEM;
            goto out;
        }
        rv = cp_read_full(fd, body, blen, (off_t)(off + REC_HDR));
        if (rv)
            goto out;
        if (rumor_le_ld32(h + 32) != rumor_crc32c(0, body, blen) ||
            rec_parse_body(body, blen, n, NULL, NULL) != 0) {
            /* A torn write can only damage the last record of the open segment. */
            if (is_open && off + REC_HDR + blen == size) {
                why = "bad checksum in last record";
                break;
            }
            cp_errf(errmsg, "%s/%s: checksum mismatch in record at offset %" PRIu64, d->dir,
                 name, off);
            rv = -EUCLEAN;
            goto out;
        }
        rv = push_rec(d, (struct rec){ .first = next, .n = n, .seg = segno, .off = off,
                                       .len = REC_HDR + blen });
        if (rv)
            goto out;
        next += n;
        off += REC_HDR + blen;
    }
    if (why != NULL) {
        if (!is_open) {
            cp_errf(errmsg, "%s/%s: %s at offset %" PRIu64 " in a closed segment", d->dir, name,
                 why, off);
            rv = -EUCLEAN;
            goto out;
        }
        logf_(d, "cp_disk: torn tail in %s/%s at offset %" PRIu64 " (%s): truncating %" PRIu64
              " bytes", d->dir, name, off, why, size - off);
        if (ftruncate(fd, (off_t)off) != 0)
            die_io("ftruncate", name, errno);
        sync_fd(fd, "fdatasync after truncation", name);
    }
    d->segs[segno].last = next - 1;
    d->segs[segno].size = off;
    rv = 0;
out:
    free(body);
    close(fd);
    return rv;
}

static void reset_mem(struct cp_disk *d)
{
    if (d->open_fd >= 0)
        close(d->open_fd);
    d->open_fd = -1;
    d->n_segs = 0;
    d->n_recs = 0;
    d->snap_index = 0;
    d->n_snaps = 0;
    d->queued_next = 1;
}

/* Anything stored at all? Used by bootstrap, which raft may call before load. */
static bool dir_has_state(struct cp_disk *d)
{
    DIR *dir = opendir(d->dir);
    if (dir == NULL)
        return true;
    bool found = false;
    struct dirent *de;
    while (!found && (de = readdir(dir)) != NULL)
        found = strncmp(de->d_name, "seg-", 4) == 0 || strncmp(de->d_name, "snap-", 5) == 0;
    closedir(dir);
    for (int w = 1; w <= 2 && !found; w++) {
        uint64_t seq;
        raft_term term = 0;
        raft_id vote;
        bool present;
        if (meta_read(d, w, &seq, &term, &vote, &present, NULL) != 0 || term > 0)
            found = true;
    }
    return found;
}

int cp_disk_load(struct cp_disk *d, struct cp_disk_state *st, char *errmsg)
{
    memset(st, 0, sizeof(*st));
    reset_mem(d);
    uint64_t seq[2] = { 0, 0 };
    raft_term term[2] = { 0, 0 };
    raft_id vote[2] = { 0, 0 };
    bool present[2];
    char e2[256], e0[256];
    if (errmsg == NULL)
        errmsg = e0;
    int r1 = meta_read(d, 1, &seq[0], &term[0], &vote[0], &present[0], errmsg);
    int r2 = meta_read(d, 2, &seq[1], &term[1], &vote[1], &present[1], e2);
    if (r1 < 0 && r2 < 0)
        return r1;
    if ((r1 < 0 && !present[1]) || (r2 < 0 && !present[0])) {
        if (r2 < 0 && errmsg)
            memcpy(errmsg, e2, sizeof(e2));
        return r1 < 0 ? r1 : r2;
    }
    int w = (present[1] && (!present[0] || seq[1] > seq[0])) ? 1 : 0;
    if (present[w]) {
        st->term = term[w];
        st->voted_for = vote[w];
        d->meta_seq = seq[w];
    }

    /* Directory listing: snapshots and segments. */
    DIR *dir = opendir(d->dir);
    if (dir == NULL) {
        int e = errno;
        cp_errf(errmsg, "opendir %s: %s", d->dir, strerror(e));
        return -e;
    }
    uint64_t *firsts = NULL;
    size_t nf = 0, cf = 0;
    raft_index snap = 0, snap_older = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        unsigned long long v;
        char tail;
        if (sscanf(de->d_name, "seg-%llu%c", &v, &tail) == 1) {
            if (nf == cf) {
                cf = cf ? cf * 2 : 16;
                uint64_t *p = realloc(firsts, cf * sizeof(*firsts));
                if (p == NULL) {
                    free(firsts);
                    closedir(dir);
                    return -ENOMEM;
                }
                firsts = p;
            }
            firsts[nf++] = v;
        } else if (sscanf(de->d_name, "snap-%llu%c", &v, &tail) == 1) {
            if (push_snap(d, v) != 0) {
                free(firsts);
                closedir(dir);
                return -ENOMEM;
            }
            if (v > snap) {
                snap_older = snap;
                snap = v;
            } else if (v > snap_older) {
                snap_older = v;
            }
        }
    }
    closedir(dir);
    unlinkat(d->dfd, "snapshot.tmp", 0);
    int rv = 0;
    if (snap) {
        rv = snap_read(d, snap, &st->snapshot, errmsg);
        if (rv == -EUCLEAN && snap_older) {
            /* the previous snapshot is kept for this: set the damaged one aside */
            char bad[64], aside[80];
            logf_(d, "cp_disk: %s; falling back to the older snapshot %llu", errmsg,
                  (unsigned long long)snap_older);
            snprintf(bad, sizeof(bad), "snap-%020llu", (unsigned long long)snap);
            snprintf(aside, sizeof(aside), "corrupt-snap-%020llu", (unsigned long long)snap);
            if (renameat(d->dfd, bad, d->dfd, aside) == 0) {
                sync_dir(d);
                for (size_t i = 0; i < d->n_snaps; i++)
                    if (d->snaps[i] == snap)
                        d->snaps[i] = d->snaps[--d->n_snaps];
            }
            snap = snap_older;
            errmsg[0] = 0;
            rv = snap_read(d, snap, &st->snapshot, errmsg);
        }
        if (rv) {
            free(firsts);
            return rv;
        }
        d->snap_index = snap;
    }
    if (nf) /* qsort(NULL, 0) is undefined */
        qsort(firsts, nf, sizeof(*firsts), cmp_u64);
    raft_index expect = 0;
    for (size_t i = 0; i < nf; i++) {
        rv = scan_segment(d, firsts[i], i + 1 == nf, expect, errmsg);
        if (rv) {
            free(firsts);
            goto fail;
        }
        expect = d->segs[d->n_segs - 1].last + 1;
    }
    free(firsts);

    raft_index first = d->n_segs ? d->segs[0].first : 0;
    raft_index last = d->n_segs ? d->segs[d->n_segs - 1].last : 0;
    bool have = d->n_segs && last >= first;
    if (!st->snapshot && have && first > 1) {
        cp_errf(errmsg, "%s: log starts at %llu but there is no snapshot (lost or deleted)",
             d->dir, first);
        rv = -EBADMSG;
        goto fail;
    }
    if (st->snapshot && have && first > st->snapshot->index + 1) {
        cp_errf(errmsg, "%s: log starts at %llu, after snapshot %llu + 1 (gap)", d->dir, first,
             st->snapshot->index);
        rv = -EBADMSG;
        goto fail;
    }
    if (st->snapshot && (!have || last < st->snapshot->index)) {
        /* Everything stored is covered by the snapshot: start the log after it. */
        while (d->n_segs)
            drop_last_seg(d);
        sync_dir(d);
        have = false;
    }
    if (!have) {
        st->start_index = st->snapshot ? st->snapshot->index + 1 : 1;
        d->queued_next = st->start_index;
        if (d->n_segs && d->segs[d->n_segs - 1].first != d->queued_next) {
            while (d->n_segs)
                drop_last_seg(d);
            sync_dir(d);
        }
    } else {
        st->start_index = first;
        d->queued_next = last + 1;
        size_t n = (size_t)(last - first + 1);
        uint64_t bytes = 0;
        for (size_t i = 0; i < d->n_recs; i++)
            bytes += d->recs[i].len;
        uint8_t *batch = raft_malloc(bytes ? bytes : 1);
        struct raft_entry *ents = raft_calloc(n, sizeof(*ents));
        if (batch == NULL || ents == NULL) {
            raft_free(batch);
            raft_free(ents);
            rv = -ENOMEM;
            goto fail;
        }
        size_t k = 0;
        uint64_t boff = 0;
        uint8_t *segbuf = NULL;
        size_t i = 0;
        for (size_t sg = 0; sg < d->n_segs; sg++) {
            char name[64];
            seg_name(name, sizeof(name), d->segs[sg].first);
            uint64_t ssz = d->segs[sg].size;
            int fd = openat(d->dfd, name, O_RDONLY | O_CLOEXEC);
            uint8_t *nb = realloc(segbuf, ssz ? ssz : 1);
            if (nb != NULL)
                segbuf = nb;
            if (fd < 0 || nb == NULL || cp_read_full(fd, segbuf, ssz, 0) != 0) {
                if (fd >= 0)
                    close(fd);
                free(segbuf);
                raft_free(batch);
                raft_free(ents);
                cp_errf(errmsg, "%s/%s: re-read failed", d->dir, name);
                rv = -EIO;
                goto fail;
            }
            close(fd);
            for (; i < d->n_recs && d->recs[i].seg == sg; i++) {
                struct rec *r = &d->recs[i];
                memcpy(batch + boff, segbuf + r->off + REC_HDR, r->len - REC_HDR);
                rec_parse_body(batch + boff, r->len - REC_HDR, r->n, ents + k, NULL);
                for (uint32_t j = 0; j < r->n; j++)
                    ents[k + j].batch = batch;
                k += r->n;
                boff += r->len - REC_HDR;
            }
        }
        free(segbuf);
        st->entries = ents;
        st->n_entries = n;
    }
    open_last(d);
    d->loaded = true;
    return 0;
fail:
    cp_snapshot_free(st->snapshot);
    st->snapshot = NULL;
    return rv;
}

int cp_disk_bootstrap(struct cp_disk *d, const struct raft_configuration *conf)
{
    if (d->n_segs || d->snap_index || d->meta_seq || dir_has_state(d))
        return -EEXIST;
    struct raft_buffer buf;
    if (raft_configuration_encode(conf, &buf) != 0)
        return -ENOMEM;
    struct raft_entry e = { .term = 1, .type = RAFT_CHANGE, .buf = buf };
    size_t len = rec_size(&e, 1);
    uint8_t *rec = calloc(1, len);
    if (rec == NULL) {
        raft_free(buf.base);
        return -ENOMEM;
    }
    rec_encode(rec, 1, &e, 1, len);
    raft_free(buf.base);
    int rv = cp_disk_set_meta(d, 1, 0);
    if (rv == 0) {
        new_segment(d, 1);
        rv = write_full(d->open_fd, rec, len, 0);
        if (rv == 0) {
            sync_fd(d->open_fd, "segment fdatasync", "seg-1");
            push_rec(d, (struct rec){ .first = 1, .n = 1, .seg = 0, .off = 0, .len = len });
            d->segs[0].last = 1;
            d->segs[0].size = len;
            d->queued_next = 2;
        }
    }
    free(rec);
    return rv;
}

/* ---- operation queue ---- */

static void process(struct cp_disk *d);

static void enqueue(struct cp_disk *d, struct op *op)
{
    op->next = NULL;
    if (d->tail)
        d->tail->next = op;
    else
        d->head = op;
    d->tail = op;
}

static struct op *dequeue(struct cp_disk *d)
{
    struct op *op = d->head;
    d->head = op->next;
    if (d->head == NULL)
        d->tail = NULL;
    return op;
}

int cp_disk_append(struct cp_disk *d, struct cp_disk_append *req,
                   const struct raft_entry *entries, unsigned n, cp_disk_append_cb cb)
{
    if (n == 0)
        return -EINVAL;
    if (d->closing)
        return -ESHUTDOWN;
    struct op *op = calloc(1, sizeof(*op));
    size_t len = rec_size(entries, n);
    uint8_t *buf = malloc(len);
    if (op == NULL || buf == NULL) {
        free(op);
        free(buf);
        return -ENOMEM;
    }
    rec_encode(buf, d->queued_next, entries, n, len);
    op->type = OP_APPEND;
    op->areq = req;
    op->buf = buf;
    op->len = len;
    op->first = d->queued_next;
    op->n = n;
    req->cb = cb;
    req->last_index = d->queued_next + n - 1;
    d->queued_next += n;
    enqueue(d, op);
    process(d);
    return 0;
}

int cp_disk_truncate(struct cp_disk *d, raft_index index)
{
    if (d->closing)
        return -ESHUTDOWN;
    if (index == 0)
        return -EINVAL;
    struct op *op = calloc(1, sizeof(*op));
    if (op == NULL)
        return -ENOMEM;
    op->type = OP_TRUNCATE;
    op->index = index;
    if (index < d->queued_next)
        d->queued_next = index;
    enqueue(d, op);
    process(d);
    return 0;
}

int cp_disk_snapshot_put(struct cp_disk *d, struct cp_disk_snap_put *req, unsigned trailing,
                         const struct raft_snapshot *snapshot, cp_disk_snap_put_cb cb)
{
    if (d->closing)
        return -ESHUTDOWN;
    struct op *op = calloc(1, sizeof(*op));
    if (op == NULL)
        return -ENOMEM;
    op->type = OP_SNAP;
    op->sreq = req;
    op->snap = snapshot;
    op->trailing = trailing;
    req->cb = cb;
    if (trailing == 0)
        d->queued_next = snapshot->index + 1;
    enqueue(d, op);
    process(d);
    return 0;
}

/* Queueing an io_uring operation fails only when the submission queue stays full; cp_disk
 * has no way to retry later without reordering its steps, so that is fatal like an I/O
 * error (the ring has 256 entries and cp_disk keeps at most three in flight). */
static void submitted(struct cp_disk *d, int rv)
{
    if (rv != 0)
        die_io("io_uring submit", d->dir, rv);
}

/* ---- segment roll: create the next segment, fsync the directory, then append ---- */

static void roll_cb(struct cp_loop_req *lreq, int res)
{
    struct cp_disk *d = lreq->data;
    if (d->roll_step == 0) {
        if (res < 0)
            die_io("segment create", d->roll_name, res);
        d->open_fd = res;
        d->roll_step = 1;
        submitted(d, cp_loop_fsync(d->loop, &d->rreq, d->dfd, false, roll_cb));
        return;
    }
    if (res < 0)
        die_io("directory fsync", d->dir, res);
    if (push_seg(d, d->roll_first) != 0)
        die_io("segment bookkeeping (out of memory)", d->roll_name, ENOMEM);
    d->rolling = false;
    process(d);
}

static void roll_start(struct cp_disk *d, raft_index first)
{
    if (d->open_fd >= 0)
        close(d->open_fd);
    d->open_fd = -1;
    d->rolling = true;
    d->roll_step = 0;
    d->roll_first = first;
    seg_name(d->roll_name, sizeof(d->roll_name), first);
    d->rreq.data = d;
    submitted(d, cp_loop_openat(d->loop, &d->rreq, d->dfd, d->roll_name,
                                O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600, roll_cb));
}

/* ---- truncate: unlink later segments, cut the last one (rewriting a kept prefix of the
 * record holding index), fdatasync, directory fsync, reopen ---- */

static void trunc_step(struct cp_loop_req *lreq, int res);

static void trunc_finish(struct cp_disk *d)
{
    struct truncjob *t = &d->tr;
    free(t->body);
    free(t->rewrite);
    t->body = t->rewrite = NULL;
    t->active = false;
    process(d);
}

static void trunc_reopen(struct cp_disk *d)
{
    struct truncjob *t = &d->tr;
    if (d->open_fd >= 0 || d->n_segs == 0) {
        trunc_finish(d);
        return;
    }
    t->step = TR_REOPEN;
    seg_name(t->name, sizeof(t->name), d->segs[d->n_segs - 1].first);
    submitted(d, cp_loop_openat(d->loop, &t->lreq, d->dfd, t->name, O_WRONLY | O_CLOEXEC, 0,
                                trunc_step));
}

static void trunc_dirsync(struct cp_disk *d)
{
    d->tr.step = TR_DIRSYNC;
    submitted(d, cp_loop_fsync(d->loop, &d->tr.lreq, d->dfd, false, trunc_step));
}

/* Next segment to unlink, or on to the last segment's cut. */
static void trunc_drop(struct cp_disk *d)
{
    struct truncjob *t = &d->tr;
    if (d->n_segs && d->segs[d->n_segs - 1].first >= t->index) {
        t->step = TR_DROP;
        seg_name(t->name, sizeof(t->name), d->segs[d->n_segs - 1].first);
        forget_last_seg(d);
        submitted(d, cp_loop_unlinkat(d->loop, &t->lreq, d->dfd, t->name, 0, trunc_step));
        return;
    }
    if (d->n_segs == 0 || d->segs[d->n_segs - 1].last < t->index) {
        trunc_dirsync(d);
        return;
    }
    size_t ri = d->n_recs;
    while (ri > 0 && d->recs[ri - 1].first > t->index)
        ri--;
    t->ri = ri;
    t->keep = (uint32_t)(t->index - d->recs[ri - 1].first);
    t->step = TR_OPEN;
    seg_name(t->name, sizeof(t->name), d->segs[d->n_segs - 1].first);
    submitted(d, cp_loop_openat(d->loop, &t->lreq, d->dfd, t->name, O_RDWR | O_CLOEXEC, 0,
                                trunc_step));
}

/* The record's body is in memory (or nothing of it is kept): cut the file there. */
static void trunc_cut(struct cp_disk *d)
{
    struct truncjob *t = &d->tr;
    struct rec *r = &d->recs[t->ri - 1];
    if (t->keep > 0) {
        /* Keep the record's prefix: re-encode it as a shorter record. */
        struct raft_entry *e = calloc(r->n, sizeof(*e));
        if (e == NULL)
            die_io("truncate (out of memory)", t->name, ENOMEM);
        rec_parse_body(t->body, t->blen, r->n, e, NULL);
        t->rlen = rec_size(e, t->keep);
        t->rewrite = malloc(t->rlen);
        if (t->rewrite == NULL)
            die_io("truncate (out of memory)", t->name, ENOMEM);
        rec_encode(t->rewrite, r->first, e, t->keep, t->rlen);
        free(e);
    }
    /* liburing 2.3 has no ftruncate operation: this stays a synchronous call. It only
     * changes metadata of one segment (at most segment_size bytes freed, pages clean since
     * every write was fdatasync'd); the fdatasync that makes it durable is on the ring. */
    if (ftruncate(t->fd, (off_t)r->off) != 0)
        die_io("ftruncate", t->name, errno);
    t->step = TR_SYNC;
    if (t->rewrite) {
        /* A full fdatasync, not RWF_DSYNC: the new file size must be durable too. */
        t->iov = (struct iovec){ t->rewrite, t->rlen };
        submitted(d, cp_loop_writev_sync(d->loop, &t->lreq, t->fd, &t->iov, 1, r->off, false,
                                         trunc_step));
    } else {
        submitted(d, cp_loop_fsync(d->loop, &t->lreq, t->fd, true, trunc_step));
    }
}

static void trunc_step(struct cp_loop_req *lreq, int res)
{
    struct cp_disk *d = lreq->data;
    struct truncjob *t = &d->tr;
    switch (t->step) {
    case TR_DROP:
        if (res < 0 && res != -ENOENT)
            die_io("segment unlink", t->name, res);
        trunc_drop(d);
        return;
    case TR_OPEN: {
        if (res < 0)
            die_io("segment open", t->name, res);
        t->fd = res;
        if (t->keep == 0) {
            trunc_cut(d);
            return;
        }
        struct rec *r = &d->recs[t->ri - 1];
        t->blen = r->len - REC_HDR;
        t->got = 0;
        t->body = malloc(t->blen ? t->blen : 1);
        if (t->body == NULL)
            die_io("truncate (out of memory)", t->name, ENOMEM);
        t->step = TR_READ;
        submitted(d, cp_loop_read(d->loop, &t->lreq, t->fd, t->body, (unsigned)t->blen,
                                  r->off + REC_HDR, trunc_step));
        return;
    }
    case TR_READ: {
        if (res <= 0)
            die_io("truncate re-read", t->name, res < 0 ? res : -EIO);
        t->got += (uint64_t)res;
        if (t->got < t->blen) { /* short read: ask for the rest */
            struct rec *r = &d->recs[t->ri - 1];
            submitted(d, cp_loop_read(d->loop, &t->lreq, t->fd, t->body + t->got,
                                      (unsigned)(t->blen - t->got),
                                      r->off + REC_HDR + t->got, trunc_step));
            return;
        }
        trunc_cut(d);
        return;
    }
    case TR_SYNC: {
        if (res < 0)
            die_io("fdatasync after truncate", t->name, res);
        struct seg *s = &d->segs[d->n_segs - 1];
        struct rec *r = &d->recs[t->ri - 1];
        s->size = r->off + (t->rewrite ? t->rlen : 0);
        s->last = t->index - 1;
        d->n_recs = t->ri - 1;
        if (t->rewrite) {
            r->n = t->keep;
            r->len = t->rlen;
            d->n_recs = t->ri;
        }
        d->open_fd = t->fd; /* O_RDWR serves appends as well */
        trunc_dirsync(d);
        return;
    }
    case TR_DIRSYNC:
        if (res < 0)
            die_io("directory fsync", d->dir, res);
        trunc_reopen(d);
        return;
    case TR_REOPEN:
        if (res < 0)
            die_io("segment open", t->name, res);
        d->open_fd = res;
        trunc_finish(d);
        return;
    }
}

static void trunc_start(struct cp_disk *d, raft_index index)
{
    struct truncjob *t = &d->tr;
    memset(t, 0, sizeof(*t));
    t->active = true;
    t->index = index;
    t->fd = -1;
    t->lreq.data = d;
    if (d->open_fd >= 0)
        close(d->open_fd);
    d->open_fd = -1;
    trunc_drop(d);
}

/* ---- snapshot put: snapshot.tmp written in chunks (CRC computed as they go), header
 * last with a linked fdatasync, rename, directory fsync; only then old snapshots and log
 * segments are unlinked (directory fsync'd again) and the callback runs. A crash at any
 * point leaves the old snapshot or the new one, each with the log it needs. ---- */

static void snap_step(struct cp_loop_req *lreq, int res);

static void snap_cb_deferred(struct cp_loop_req *lreq, int res)
{
    struct cp_disk_snap_put *req = lreq->data;
    req->cb(req, res);
}

static void snap_write_next(struct cp_disk *d)
{
    struct snapjob *j = &d->sj;
    unsigned n = 0, i = j->src_i;
    size_t off = j->src_off, total = 0;
    while (i < j->n_src && n < SNAP_IOV && total < SNAP_CHUNK) {
        size_t left = j->src[i].iov_len - off;
        size_t take = left < SNAP_CHUNK - total ? left : SNAP_CHUNK - total;
        if (take > 0)
            j->iov[n++] = (struct iovec){ (uint8_t *)j->src[i].iov_base + off, take };
        total += take;
        off += take;
        if (off == j->src[i].iov_len) {
            i++;
            off = 0;
        }
    }
    if (n > 0) {
        j->step = SJ_DATA;
        submitted(d, cp_loop_writev(d->loop, &j->lreq, j->fd, j->iov, n, j->file_off,
                                    snap_step));
        return;
    }
    /* Everything after the header is written: the header carries the CRC. The fdatasync
     * must cover the whole file, so never RWF_DSYNC (it syncs only the range it wrote). */
    rumor_le_st32(j->h + 4, j->crc);
    j->iov[0] = (struct iovec){ j->h, SNAP_HDR };
    j->step = SJ_HEADER;
    submitted(d, cp_loop_writev_sync(d->loop, &j->lreq, j->fd, j->iov, 1, 0, false,
                                     snap_step));
}

/* res bytes of the current chunk reached the file: fold them into the CRC. */
static void snap_advance(struct snapjob *j, size_t res)
{
    j->file_off += res;
    while (res > 0) {
        size_t left = j->src[j->src_i].iov_len - j->src_off;
        size_t take = left < res ? left : res;
        j->crc = rumor_crc32c(j->crc, (const uint8_t *)j->src[j->src_i].iov_base + j->src_off,
                           take);
        j->src_off += take;
        res -= take;
        if (j->src_off == j->src[j->src_i].iov_len) {
            j->src_i++;
            j->src_off = 0;
        }
    }
    while (j->src_i < j->n_src && j->src[j->src_i].iov_len == 0)
        j->src_i++;
}

static void snap_add_unlink(struct snapjob *j, const char *name, bool must)
{
    struct unlink_ent *e = &j->del[j->n_del++];
    snprintf(e->name, sizeof(e->name), "%s", name);
    e->must = must;
}

/* The new snapshot is durable: decide what goes, update memory, start unlinking. */
static void snap_plan_deletes(struct cp_disk *d)
{
    struct snapjob *j = &d->sj;
    const struct raft_snapshot *s = j->op->snap;
    unsigned trailing = j->op->trailing;
    raft_index prev = d->snap_index;
    d->snap_index = s->index;
    if (push_snap(d, s->index) != 0)
        die_io("snapshot bookkeeping (out of memory)", j->name, ENOMEM);
    size_t drop = 0;
    if (trailing == 0) {
        drop = d->n_segs;
    } else if (s->index > trailing) {
        raft_index below = s->index - trailing;
        while (drop + 1 < d->n_segs && d->segs[drop].last <= below)
            drop++;
    }
    j->del = calloc(d->n_snaps + drop + 1, sizeof(*j->del));
    if (j->del == NULL)
        die_io("snapshot (out of memory)", d->dir, ENOMEM);
    /* Keep one older snapshot; anything older goes. */
    for (size_t i = 0; i < d->n_snaps;) {
        if (d->snaps[i] != s->index && d->snaps[i] != prev) {
            char name[64];
            snprintf(name, sizeof(name), "snap-%020llu", d->snaps[i]);
            snap_add_unlink(j, name, false);
            d->snaps[i] = d->snaps[--d->n_snaps];
        } else {
            i++;
        }
    }
    char name[64];
    if (trailing == 0) {
        /* The whole log goes, last segment first (a crash leaves a prefix, which load
         * drops as covered by the snapshot). Appends wait for this put. */
        if (d->open_fd >= 0)
            close(d->open_fd);
        d->open_fd = -1;
        while (d->n_segs) {
            seg_name(name, sizeof(name), d->segs[d->n_segs - 1].first);
            snap_add_unlink(j, name, true);
            forget_last_seg(d);
        }
    } else if (drop) {
        /* Closed segments only, oldest first (a crash leaves a suffix: no gap). Appends
         * may be in flight meanwhile: they only touch the last (open) segment. */
        for (size_t i = 0; i < drop; i++) {
            seg_name(name, sizeof(name), d->segs[i].first);
            snap_add_unlink(j, name, true);
        }
        memmove(d->segs, d->segs + drop, (d->n_segs - drop) * sizeof(*d->segs));
        d->n_segs -= drop;
        size_t k = 0;
        for (size_t i = 0; i < d->n_recs; i++) {
            if (d->recs[i].seg < drop)
                continue;
            d->recs[k] = d->recs[i];
            d->recs[k++].seg -= (uint32_t)drop;
        }
        d->n_recs = k;
    }
    j->del_i = 0;
}

static void snap_unlink_next(struct cp_disk *d)
{
    struct snapjob *j = &d->sj;
    if (j->del_i < j->n_del) {
        j->step = SJ_UNLINK;
        submitted(d, cp_loop_unlinkat(d->loop, &j->lreq, d->dfd, j->del[j->del_i].name, 0,
                                      snap_step));
        return;
    }
    j->step = SJ_FINAL;
    submitted(d, cp_loop_fsync(d->loop, &j->lreq, d->dfd, false, snap_step));
}

static void snap_finish(struct cp_disk *d)
{
    struct snapjob *j = &d->sj;
    struct op *op = j->op;
    raft_free(j->conf.base);
    free(j->src);
    free(j->del);
    memset(j, 0, sizeof(*j));
    j->fd = -1;
    /* Deferred: the callback may close the disk, and process() below still uses it. */
    op->sreq->lreq.data = op->sreq;
    cp_loop_defer(d->loop, &op->sreq->lreq, 0, snap_cb_deferred);
    free(op);
    process(d);
}

static void snap_step(struct cp_loop_req *lreq, int res)
{
    struct cp_disk *d = lreq->data;
    struct snapjob *j = &d->sj;
    switch (j->step) {
    case SJ_OPEN:
        if (res < 0)
            die_io("snapshot create", "snapshot.tmp", res);
        j->fd = res;
        snap_write_next(d);
        return;
    case SJ_DATA:
        if (res <= 0)
            die_io("snapshot write", "snapshot.tmp", res < 0 ? res : -EIO);
        snap_advance(j, (size_t)res);
        snap_write_next(d);
        return;
    case SJ_HEADER:
        if (res < 0)
            die_io("snapshot write/fdatasync", "snapshot.tmp", res);
        close(j->fd);
        j->fd = -1;
        snprintf(j->name, sizeof(j->name), "snap-%020llu", j->op->snap->index);
        j->step = SJ_RENAME;
        submitted(d, cp_loop_renameat(d->loop, &j->lreq, d->dfd, "snapshot.tmp", d->dfd,
                                      j->name, snap_step));
        return;
    case SJ_RENAME:
        if (res < 0)
            die_io("snapshot rename", j->name, res);
        j->step = SJ_DIRSYNC;
        submitted(d, cp_loop_fsync(d->loop, &j->lreq, d->dfd, false, snap_step));
        return;
    case SJ_DIRSYNC:
        if (res < 0)
            die_io("directory fsync", d->dir, res);
        snap_plan_deletes(d);
        snap_unlink_next(d);
        return;
    case SJ_UNLINK:
        if (res < 0 && res != -ENOENT && j->del[j->del_i].must)
            die_io("segment unlink", j->del[j->del_i].name, res);
        j->del_i++;
        snap_unlink_next(d);
        return;
    case SJ_FINAL:
        if (res < 0)
            die_io("directory fsync", d->dir, res);
        snap_finish(d);
        return;
    }
}

static void snap_start(struct cp_disk *d, struct op *op)
{
    struct snapjob *j = &d->sj;
    const struct raft_snapshot *s = op->snap;
    memset(j, 0, sizeof(*j));
    j->op = op;
    j->fd = -1;
    j->lreq.data = d;
    if (cp_conf_encode(&s->configuration, &j->conf) != 0)
        die_io("snapshot encode (out of memory)", d->dir, ENOMEM);
    j->src = calloc((size_t)s->n_bufs + 1, sizeof(*j->src));
    if (j->src == NULL)
        die_io("snapshot (out of memory)", d->dir, ENOMEM);
    j->src[0] = (struct iovec){ j->conf.base, j->conf.len };
    uint64_t data_len = 0;
    for (unsigned i = 0; i < s->n_bufs; i++) {
        j->src[i + 1] = (struct iovec){ s->bufs[i].base, s->bufs[i].len };
        data_len += s->bufs[i].len;
    }
    j->n_src = s->n_bufs + 1;
    rumor_le_st32(j->h, SNAP_MAGIC);
    rumor_le_st64(j->h + 8, s->index);
    rumor_le_st64(j->h + 16, s->term);
    rumor_le_st64(j->h + 24, s->configuration_index);
    rumor_le_st64(j->h + 40, j->conf.len);
    rumor_le_st64(j->h + 48, data_len);
    j->crc = rumor_crc32c(0, j->h + 8, SNAP_HDR - 8);
    j->file_off = SNAP_HDR;
    j->step = SJ_OPEN;
    submitted(d, cp_loop_openat(d->loop, &j->lreq, d->dfd, "snapshot.tmp",
                                O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600, snap_step));
}

static void flush_done(struct cp_loop_req *lreq, int res)
{
    struct cp_disk *d = lreq->data;
    char name[64];
    seg_name(name, sizeof(name), d->segs[d->n_segs - 1].first);
    if (res < 0)
        die_io("log write/fdatasync", name, res);
    struct seg *s = &d->segs[d->n_segs - 1];
    struct op *op = d->flight;
    d->flight = NULL;
    d->flushes++;
    while (op != NULL) {
        struct op *next = op->next;
        push_rec(d, (struct rec){ .first = op->first, .n = op->n,
                                  .seg = (uint32_t)(d->n_segs - 1), .off = s->size,
                                  .len = op->len });
        s->size += op->len;
        s->last = op->first + op->n - 1;
        free(op->buf);
        op->areq->cb(op->areq, 0);
        free(op);
        op = next;
    }
    process(d);
}

/* Start what the head of the queue allows. A truncate or snapshot starts only once every
 * earlier operation completed. While a truncate, a roll or a trailing == 0 snapshot runs
 * nothing else starts; while a trailing > 0 snapshot runs, appends go on (it touches only
 * its own file and closed segments) but truncates and further snapshots wait. */
static void process(struct cp_disk *d)
{
    while (!d->closing && d->flight == NULL && d->head != NULL && !d->rolling &&
           !d->tr.active) {
        struct op *op = d->head;
        if (d->sj.op != NULL && (d->sj.op->trailing == 0 || op->type != OP_APPEND))
            return;
        if (op->type == OP_TRUNCATE) {
            dequeue(d);
            trunc_start(d, op->index);
            free(op);
            continue;
        }
        if (op->type == OP_SNAP) {
            dequeue(d);
            snap_start(d, op);
            continue;
        }
        if (d->n_segs == 0 || d->segs[d->n_segs - 1].size >= d->cfg.segment_size ||
            d->segs[d->n_segs - 1].last + 1 != op->first) {
            roll_start(d, op->first);
            continue;
        }
        /* Group commit: every queued append up to max_batch shares one write+fdatasync. */
        struct op *first = NULL, *last = NULL;
        unsigned n = 0;
        uint64_t room = d->cfg.segment_size > d->segs[d->n_segs - 1].size
                            ? d->cfg.segment_size - d->segs[d->n_segs - 1].size : 0;
        uint64_t batched = 0;
        while (d->head && d->head->type == OP_APPEND && n < d->cfg.max_batch &&
               (n == 0 || batched + d->head->len <= room)) {
            batched += d->head->len;
            struct op *a = dequeue(d);
            a->next = NULL;
            if (last)
                last->next = a;
            else
                first = a;
            last = a;
            d->iov[n].iov_base = a->buf;
            d->iov[n].iov_len = a->len;
            n++;
        }
        d->flight = first;
        d->wreq.data = d;
        int rv = cp_loop_writev_sync(d->loop, &d->wreq, d->open_fd, d->iov, n,
                                     d->segs[d->n_segs - 1].size, d->cfg.rwf_dsync, flush_done);
        if (rv != 0)
            die_io("io_uring submit", d->dir, rv);
    }
}

raft_index cp_disk_last_index(const struct cp_disk *d)
{
    return d->queued_next - 1;
}

uint64_t cp_disk_flushes(const struct cp_disk *d)
{
    return d->flushes;
}

bool cp_disk_flushing(const struct cp_disk *d)
{
    return d->flight != NULL || d->rolling || d->tr.active || d->sj.op != NULL;
}

bool cp_disk_idle(const struct cp_disk *d)
{
    return !cp_disk_flushing(d) && d->head == NULL;
}

void cp_disk_close(struct cp_disk *d)
{
    if (d == NULL)
        return;
    d->closing = true; /* process() starts nothing more */
    while (cp_disk_flushing(d))
        cp_loop_run_once(d->loop, 100000);
    while (d->head != NULL) {
        struct op *op = dequeue(d);
        if (op->type == OP_APPEND) {
            free(op->buf);
            op->areq->cb(op->areq, -ECANCELED);
        } else if (op->type == OP_SNAP) {
            op->sreq->cb(op->sreq, -ECANCELED);
        }
        free(op);
    }
    if (d->open_fd >= 0)
        close(d->open_fd);
    close(d->dfd);
    free(d->segs);
    free(d->recs);
    free(d->iov);
    free(d->snaps);
    free(d);
}
