/* cp_plog: the payload log. Segmented CRC32C records of frames, group-committed over
 * io_uring, indexed (origin, seq) -> record in memory; failed writes are kept and retried. */
#include "rumor_be.h"
#include "cp_fileio.h"
#include "cp_plog.h"
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

#define REC_MAGIC 0x474c5052u /* "RPLG" */
#define CHUNK_CAP (256u << 10)
#define IOV_MAX_ 1024u /* Linux IOV_MAX */
#define SEG_SIZE_MAX (32ull << 30) /* offset / 8 must fit the 32 low bits of a location */

/* A record's location in the index: segment number << 32 | offset / 8 (never 0: segment
 * numbers start at 1). */
static uint64_t loc_make(uint64_t seg, uint64_t off) { return seg << 32 | off >> 3; }
static uint64_t loc_seg(uint64_t loc) { return loc >> 32; }
static uint64_t loc_off(uint64_t loc) { return (loc & 0xffffffffu) << 3; }

/* Per segment and origin: the seqs its records hold, for gc and index dropping. */
struct sumo {
    uint16_t origin;
    uint64_t lo, hi;
};

struct seg {
    uint64_t no, size; /* size: bytes written (records of chunks not yet written excluded) */
    bool created;      /* the file exists (segments of buffered records may not yet) */
    struct sumo *o;    /* sorted by origin */
    uint32_t n_o, cap_o;
};

/* Dense per-origin index: slot[i] is the location of seq base + i (0: absent). */
struct oidx {
    uint64_t base, lo, hi, count; /* lo/hi: lowest/highest present (valid if count) */
    uint64_t *slot;
    size_t cap;
};

/* Appended bytes not yet durable, contiguous in segment seg_no from file offset off. A chunk
 * once handed to a write takes no more records, so its memory stays put under the kernel. */
struct chunk {
    struct chunk *next;
    uint64_t seg_no, off;
    uint64_t first_ticket, last_ticket;
    uint32_t len, cap, n_recs;
    bool sealed;
    uint8_t data[];
};

struct cp_plog {
    struct cp_loop *loop;
    struct cp_plog_cfg cfg;
    char dir[480];
    int dfd;
    int open_fd;          /* the newest created segment, O_RDWR */
    uint64_t open_no;
    int rfd;              /* cached read fd of a closed segment */
    uint64_t rfd_no;
    struct seg *segs;     /* sorted by no; the last ones may not be created yet */
    size_t n_segs, cap_segs;
    uint64_t tail_seg, tail_off; /* where the next record goes */
    struct chunk *head, *tail;
    uint64_t buffered;
    uint64_t last_ticket, durable;
    int err;
    bool inflight;
    bool open_filled;     /* the open segment was zero-filled, or held records already */
    unsigned n_flight;
    struct iovec iov[IOV_MAX_];
    struct cp_loop_req wreq;
    /* The next segment made ahead (cfg.prealloc, spare_start): open_no + 1, created,
     * zero-filled and its directory entry synced while the open one fills, so that a roll
     * only switches files. */
    int spare_fd;
    uint64_t spare_no;
    bool spare_busy;      /* a piece of its fill or the directory fsync is in flight */
    bool spare_ready;
    bool spare_urgent;    /* a roll waits for it: the rest of the fill goes at once */
    uint64_t spare_filled_to;
    uint64_t spare_piece;  /* bytes of the piece in flight */
    uint64_t spare_from;   /* the open segment's tail when the spare was started */
    struct iovec siov[IOV_MAX_];
    struct cp_loop_req sreq;
    /* Segments cp_plog_gc dropped, unlinked one at a time off the loop, then a directory
     * fsync: gc_q[gc_i..gc_n) are still to go. */
    uint64_t *gc_q;
    size_t gc_n, gc_cap, gc_i;
    bool gc_busy;
    char gc_name[64];
    struct cp_loop_req greq;
    struct cp_plog_stats st;
    struct oidx idx[CP_PLOG_ORIGIN_MAX + 1];
};


#define logf_(o, ...) cp_note((o)->cfg.log, (o)->cfg.arg, __VA_ARGS__)

static void seg_name(char *buf, size_t n, uint64_t no)
{
    snprintf(buf, n, "plog-%020" PRIu64, no);
}

/* ---- record codec ---- */

static bool hdr_intact(const uint8_t *h)
{
    return rumor_le_ld32(h) == REC_MAGIC && rumor_le_ld32(h + 4) == rumor_crc32c(0, h + 8, CP_PLOG_HDR - 8);
}

static bool rec_valid(uint16_t origin, uint16_t count, uint32_t len, uint64_t first)
{
    return origin >= 1 && origin <= CP_PLOG_ORIGIN_MAX && count >= 1 && len >= 1 &&
           len <= CP_PLOG_MAX_FRAME && first >= 1 && first - 1 <= UINT64_MAX - count;
}

int cp_plog_rec_encode(const struct cp_plog_rec *r, void *out, size_t cap)
{
    if (!rec_valid(r->origin, r->count, r->len, r->first_seq))
        return -EINVAL;
    size_t size = cp_plog_rec_size(r->len);
    if (cap < size)
        return -EINVAL;
    uint8_t *p = out;
    rumor_le_st32(p, REC_MAGIC);
    rumor_le_st16(p + 8, r->origin);
    rumor_le_st16(p + 10, r->count);
    rumor_le_st32(p + 12, r->len);
    rumor_le_st64(p + 16, r->first_seq);
    rumor_le_st32(p + 24, rumor_crc32c(0, r->frame, r->len));
    rumor_le_st32(p + 28, 0);
    rumor_le_st32(p + 4, rumor_crc32c(0, p + 8, CP_PLOG_HDR - 8));
    memcpy(p + CP_PLOG_HDR, r->frame, r->len);
    memset(p + CP_PLOG_HDR + r->len, 0, size - CP_PLOG_HDR - r->len);
    return (int)size;
}

/* Header only: fills r (frame NULL) and returns the record size, or -EAGAIN / -EBADMSG. */
static int hdr_decode(const uint8_t *p, size_t len, struct cp_plog_rec *r)
{
    if (len < CP_PLOG_HDR)
        return -EAGAIN;
    if (!hdr_intact(p))
        return -EBADMSG;
    r->origin = rumor_le_ld16(p + 8);
    r->count = rumor_le_ld16(p + 10);
    r->len = rumor_le_ld32(p + 12);
    r->first_seq = rumor_le_ld64(p + 16);
    r->frame = NULL;
    if (!rec_valid(r->origin, r->count, r->len, r->first_seq) || rumor_le_ld32(p + 28) != 0)
        return -EBADMSG;
    return (int)cp_plog_rec_size(r->len);
}

/* The frame and padding of a record whose header decoded: 0 or -EUCLEAN. */
static int body_check(const uint8_t *hdr, const uint8_t *frame, uint32_t len, const uint8_t *pad,
                      size_t pad_len)
{
    if (rumor_le_ld32(hdr + 24) != rumor_crc32c(0, frame, len))
        return -EUCLEAN;
    for (size_t i = 0; i < pad_len; i++)
        if (pad[i] != 0)
            return -EUCLEAN;
    return 0;
}

int cp_plog_rec_decode(const void *vp, size_t len, struct cp_plog_rec *r)
{
    const uint8_t *p = vp;
    int size = hdr_decode(p, len, r);
    if (size < 0)
        return size;
    if ((size_t)size > len)
        return -EAGAIN;
    int rv = body_check(p, p + CP_PLOG_HDR, r->len, p + CP_PLOG_HDR + r->len,
                        (size_t)size - CP_PLOG_HDR - r->len);
    if (rv)
        return rv;
    r->frame = p + CP_PLOG_HDR;
    return size;
}

/* ---- index ---- */

static uint64_t *oidx_at(const struct oidx *o, uint64_t seq)
{
    if (o->slot == NULL || seq < o->base || seq - o->base >= o->cap)
        return NULL;
    return &o->slot[seq - o->base];
}

static uint64_t oidx_get(const struct oidx *o, uint64_t seq)
{
    uint64_t *s = oidx_at(o, seq);
    return s ? *s : 0;
}

/* Make the window hold [a, b] besides what it holds. Growth leaves slack on the side it grew
 * towards, so seqs arriving in order (or in reverse, as a catch-up from below) cost
 * amortised O(1). */
static int oidx_ensure(struct cp_plog *pl, struct oidx *o, uint64_t a, uint64_t b)
{
    uint64_t nlo = o->count && o->lo < a ? o->lo : a;
    uint64_t nhi = o->count && o->hi > b ? o->hi : b;
    if (nhi - nlo >= pl->cfg.max_span)
        return -ERANGE;
    if (o->slot && nlo >= o->base && nhi - o->base < o->cap)
        return 0;
    uint64_t span = nhi - nlo + 1;
    uint64_t ncap = span * 2 < 64 ? 64 : span * 2;
    if (ncap > pl->cfg.max_span)
        ncap = pl->cfg.max_span > span ? pl->cfg.max_span : span;
    uint64_t below = 0;
    if (o->count && a < o->lo)
        below = (ncap - span) / 2;
    if (below > nlo - 1)
        below = nlo - 1;
    uint64_t nbase = nlo - below;
    uint64_t *ns = calloc((size_t)ncap, sizeof(*ns));
    if (ns == NULL)
        return -ENOMEM;
    if (o->count)
        memcpy(ns + (o->lo - nbase), o->slot + (o->lo - o->base),
               (size_t)(o->hi - o->lo + 1) * sizeof(*ns));
    free(o->slot);
    o->slot = ns;
    o->cap = (size_t)ncap;
    o->base = nbase;
    return 0;
}

static void oidx_set(struct oidx *o, uint64_t seq, uint64_t loc)
{
    o->slot[seq - o->base] = loc;
    if (o->count == 0 || seq < o->lo)
        o->lo = seq;
    if (o->count == 0 || seq > o->hi)
        o->hi = seq;
    o->count++;
}

/* After slots were cleared: recompute lo/hi, and give memory back once the window is
 * mostly empty. */
static void oidx_tidy(struct oidx *o)
{
    if (o->count == 0) {
        free(o->slot);
        memset(o, 0, sizeof(*o));
        return;
    }
    while (o->slot[o->lo - o->base] == 0)
        o->lo++;
    while (o->slot[o->hi - o->base] == 0)
        o->hi--;
    uint64_t span = o->hi - o->lo + 1;
    if (o->cap > 1024 && o->cap > 4 * span) {
        uint64_t *ns = malloc((size_t)(span * 2) * sizeof(*ns));
        if (ns == NULL)
            return; /* keeping the larger window is fine */
        memcpy(ns, o->slot + (o->lo - o->base), (size_t)span * sizeof(*ns));
        memset(ns + span, 0, (size_t)span * sizeof(*ns));
        free(o->slot);
        o->slot = ns;
        o->cap = (size_t)(span * 2);
        o->base = o->lo;
    }
}

/* ---- segments ---- */

static struct seg *seg_find(const struct cp_plog *pl, uint64_t no)
{
    size_t lo = 0, hi = pl->n_segs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (pl->segs[mid].no < no)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < pl->n_segs && pl->segs[lo].no == no ? &pl->segs[lo] : NULL;
}

static int seg_push(struct cp_plog *pl, uint64_t no, bool created)
{
    if (pl->n_segs == pl->cap_segs) {
        size_t c = pl->cap_segs ? pl->cap_segs * 2 : 16;
        void *p = realloc(pl->segs, c * sizeof(*pl->segs));
        if (p == NULL)
            return -ENOMEM;
        pl->segs = p;
        pl->cap_segs = c;
    }
    pl->segs[pl->n_segs++] = (struct seg){ .no = no, .created = created };
    return 0;
}

/* Note that @s holds seqs first .. last of @origin. */
static int seg_note(struct seg *s, uint16_t origin, uint64_t first, uint64_t last)
{
    uint32_t lo = 0, hi = s->n_o;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (s->o[mid].origin < origin)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < s->n_o && s->o[lo].origin == origin) {
        if (first < s->o[lo].lo)
            s->o[lo].lo = first;
        if (last > s->o[lo].hi)
            s->o[lo].hi = last;
        return 0;
    }
    if (s->n_o == s->cap_o) {
        uint32_t c = s->cap_o ? s->cap_o * 2 : 8;
        void *p = realloc(s->o, c * sizeof(*s->o));
        if (p == NULL)
            return -ENOMEM;
        s->o = p;
        s->cap_o = c;
    }
    memmove(s->o + lo + 1, s->o + lo, (s->n_o - lo) * sizeof(*s->o));
    s->o[lo] = (struct sumo){ .origin = origin, .lo = first, .hi = last };
    s->n_o++;
    return 0;
}

/* Index a record (origin, first .. first + count - 1) at @loc: only seqs not held yet. */
static int index_rec(struct cp_plog *pl, struct seg *s, uint16_t origin, uint64_t first,
                     uint16_t count, uint64_t loc)
{
    struct oidx *o = &pl->idx[origin];
    uint64_t last = first + count - 1;
    int rv = oidx_ensure(pl, o, first, last);
    if (rv == 0)
        rv = seg_note(s, origin, first, last);
    if (rv)
        return rv;
    for (uint64_t q = first; q <= last; q++)
        if (o->slot[q - o->base] == 0)
            oidx_set(o, q, loc);
    return 0;
}

static int create_segment(struct cp_plog *pl, uint64_t no)
{
    char name[64];
    seg_name(name, sizeof(name), no);
    int rv = pl->cfg.fault ? pl->cfg.fault(pl->cfg.arg, CP_PLOG_OP_CREATE) : 0;
    int fd = -1;
    if (rv == 0) {
        fd = openat(pl->dfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
            rv = -errno;
    }
    /* Without the directory fsync a crash could lose the file and the records in it. */
    if (rv == 0 && fsync(pl->dfd) != 0)
        rv = -errno;
    if (rv) {
        if (fd >= 0) {
            close(fd);
            unlinkat(pl->dfd, name, 0);
        }
        logf_(pl, "cp_plog: creating %s/%s failed: %s", pl->dir, name, strerror(-rv));
        return rv;
    }
    if (pl->open_fd >= 0)
        close(pl->open_fd);
    pl->open_fd = fd;
    pl->open_no = no;
    pl->open_filled = false;
    struct seg *s = seg_find(pl, no);
    if (s)
        s->created = true;
    else
        rv = seg_push(pl, no, true);
    return rv;
}

/* ---- load ---- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* An intact record header at an 8-aligned offset after @from? Then the damage at @from is
 * corruption, not a torn tail. */
static bool intact_after(const uint8_t *b, uint64_t from, uint64_t size)
{
    for (uint64_t o = (from + 8) & ~(uint64_t)7; o + CP_PLOG_HDR <= size; o += 8)
        if (hdr_intact(b + o))
            return true;
    return false;
}

static bool all_zero(const uint8_t *b, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

static int scan_segment(struct cp_plog *pl, uint64_t no, bool is_open, char *errmsg)
{
    char name[64];
    seg_name(name, sizeof(name), no);
    int fd = openat(pl->dfd, name, (is_open ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        cp_errf(errmsg, "%s/%s: %s", pl->dir, name, strerror(e));
        return -e;
    }
    struct stat st;
    uint8_t *b = NULL;
    int rv = fstat(fd, &st) != 0 ? -errno : 0;
    uint64_t size = rv ? 0 : (uint64_t)st.st_size, off = 0;
    if (rv == 0 && size > SEG_SIZE_MAX) {
        cp_errf(errmsg, "%s/%s: %" PRIu64 " bytes, more than a segment can hold (offset 0)",
             pl->dir, name, size);
        rv = -EUCLEAN;
    }
    if (rv == 0 && (b = malloc(size ? size : 1)) == NULL)
        rv = -ENOMEM;
    if (rv == 0)
        rv = cp_read_full(fd, b, size, 0);
    if (rv == 0)
        rv = seg_push(pl, no, true);
    if (rv) {
        if (rv != -EUCLEAN)
            cp_errf(errmsg, "%s/%s: read: %s", pl->dir, name, strerror(-rv));
        goto out;
    }
    const char *why = NULL;
    while (off < size) {
        struct cp_plog_rec r;
        int n = cp_plog_rec_decode(b + off, size - off, &r);
        if (n == -EAGAIN) {
            why = size - off < CP_PLOG_HDR ? "partial record header" : "partial record body";
            break;
        }
        if (n < 0) {
            static const uint8_t zero[CP_PLOG_HDR];
            why = n == -EUCLEAN ? "frame checksum mismatch"
                  : size - off >= CP_PLOG_HDR && memcmp(b + off, zero, CP_PLOG_HDR) == 0
                      ? "zeroed record header" : "bad record header";
            if (is_open && intact_after(b, off, size)) {
                cp_errf(errmsg, "%s/%s: %s at offset %" PRIu64 " followed by an intact record",
                     pl->dir, name, why, off);
                rv = -EUCLEAN;
                goto out;
            }
            break;
        }
        rv = index_rec(pl, &pl->segs[pl->n_segs - 1], r.origin, r.first_seq, r.count,
                       loc_make(no, off));
        if (rv) {
            cp_errf(errmsg, "%s/%s: record at offset %" PRIu64 " (origin %u seqs %" PRIu64
                 "+%u): %s", pl->dir, name, off, r.origin, r.first_seq, r.count,
                 rv == -ERANGE ? "seq span over max_span" : strerror(-rv));
            goto out;
        }
        off += (uint64_t)n;
    }
    if (why != NULL && all_zero(b + off, size - off))
        why = NULL; /* a zero-filled segment's unwritten rest (cfg.prealloc) */
    else if (why != NULL && strcmp(why, "zeroed record header") == 0)
        why = "non-zero bytes in the zeros after the last record";
    if (why != NULL) {
        if (!is_open) {
            cp_errf(errmsg, "%s/%s: %s at offset %" PRIu64 " in a closed segment", pl->dir, name,
                 why, off);
            rv = -EUCLEAN;
            goto out;
        }
        logf_(pl, "cp_plog: torn tail in %s/%s at offset %" PRIu64 " (%s): truncating %" PRIu64
              " bytes", pl->dir, name, off, why, size - off);
        if (ftruncate(fd, (off_t)off) != 0 || fdatasync(fd) != 0) {
            rv = -errno;
            cp_errf(errmsg, "%s/%s: truncating the torn tail at offset %" PRIu64 ": %s", pl->dir,
                 name, off, strerror(-rv));
            goto out;
        }
        pl->st.torn_truncated++;
    }
    pl->segs[pl->n_segs - 1].size = off;
    if (is_open) {
        pl->open_fd = fd;
        pl->open_no = no;
        pl->open_filled = off > 0;
        fd = -1;
    }
out:
    free(b);
    if (fd >= 0)
        close(fd);
    return rv;
}

/* Segment @no holds nothing but zeros (or nothing). */
static bool segment_all_zero(struct cp_plog *pl, uint64_t no)
{
    char name[64];
    uint8_t b[64 << 10];
    bool zero = true;
    ssize_t got;
    seg_name(name, sizeof(name), no);
    int fd = openat(pl->dfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    while (zero && (got = read(fd, b, sizeof(b))) > 0)
        zero = all_zero(b, (uint64_t)got);
    if (got < 0)
        zero = false;
    close(fd);
    return zero;
}

static int load(struct cp_plog *pl, char *errmsg)
{
    DIR *dir = opendir(pl->dir);
    if (dir == NULL) {
        int e = errno;
        cp_errf(errmsg, "opendir %s: %s", pl->dir, strerror(e));
        return -e;
    }
    uint64_t *nos = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int rv = 0;
    while ((de = readdir(dir)) != NULL) {
        unsigned long long v;
        char tail;
        if (strlen(de->d_name) != 25 || sscanf(de->d_name, "plog-%llu%c", &v, &tail) != 1 ||
            v == 0 || v > UINT32_MAX)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *p = realloc(nos, cap * sizeof(*nos));
            if (p == NULL) {
                rv = -ENOMEM;
                break;
            }
            nos = p;
        }
        nos[n++] = v;
    }
    closedir(dir);
    if (n)
        qsort(nos, n, sizeof(*nos), cmp_u64);
    /* A spare made ahead and never used (a crash, or a kill) is all zeros: removed, so that
     * the segment before it is the open one again, whose tail may be torn. */
    while (rv == 0 && n >= 2 && segment_all_zero(pl, nos[n - 1])) {
        char name[64];
        seg_name(name, sizeof(name), nos[n - 1]);
        if (unlinkat(pl->dfd, name, 0) != 0 || fsync(pl->dfd) != 0) {
            rv = -errno;
            cp_errf(errmsg, "%s/%s: removing the unused spare segment: %s", pl->dir, name,
                    strerror(-rv));
            break;
        }
        logf_(pl, "cp_plog: removed %s/%s, a spare segment with no record", pl->dir, name);
        n--;
    }
    for (size_t i = 0; rv == 0 && i < n; i++)
        rv = scan_segment(pl, nos[i], i + 1 == n, errmsg);
    free(nos);
    if (rv == 0 && n == 0)
        rv = create_segment(pl, 1);
    if (rv)
        return rv;
    pl->tail_seg = pl->open_no;
    pl->tail_off = pl->segs[pl->n_segs - 1].size;
    return 0;
}

/* ---- open / close ---- */

int cp_plog_open(struct cp_loop *loop, const char *dir, const struct cp_plog_cfg *cfg,
                 struct cp_plog **out, char *errmsg)
{
    if (strlen(dir) >= 400) {
        cp_errf(errmsg, "directory name too long");
        return -ENAMETOOLONG;
    }
    struct cp_plog_cfg c = { 0 };
    if (cfg)
        c = *cfg;
    if (c.segment_size == 0)
        c.segment_size = 4u << 20;
    if (c.buffer_max == 0)
        c.buffer_max = 16u << 20;
    if (c.buffer_max < cp_plog_rec_size(CP_PLOG_MAX_FRAME))
        c.buffer_max = cp_plog_rec_size(CP_PLOG_MAX_FRAME);
    if (c.buffer_max > (1u << 30))
        c.buffer_max = 1u << 30; /* one writev reports its size in an int */
    if (c.max_span == 0)
        c.max_span = 1u << 24;
    if (c.segment_size > SEG_SIZE_MAX) {
        cp_errf(errmsg, "segment_size over 32 GiB");
        return -EINVAL;
    }
    int dfd = cp_open_dir(dir, errmsg);
    if (dfd < 0)
        return dfd;
    struct cp_plog *pl = calloc(1, sizeof(*pl));
    if (pl == NULL) {
        close(dfd);
        return -ENOMEM;
    }
    pl->loop = loop;
    pl->cfg = c;
    snprintf(pl->dir, sizeof(pl->dir), "%s", dir);
    pl->dfd = dfd;
    pl->open_fd = -1;
    pl->spare_fd = -1;
    pl->rfd = -1;
    int rv = load(pl, errmsg);
    if (rv) {
        cp_plog_close(pl);
        return rv;
    }
    *out = pl;
    return 0;
}

static void flush_start(struct cp_plog *pl);

void cp_plog_close(struct cp_plog *pl)
{
    if (pl == NULL)
        return;
    /* One more attempt even after an error; if it fails the records are lost to this run
     * (their events are not durable, so nobody was told they were). */
    while (pl->head != NULL || pl->inflight) {
        if (!pl->inflight)
            flush_start(pl);
        if (!pl->inflight)
            break;
        while (pl->inflight)
            cp_loop_run_once(pl->loop, 100000);
        if (pl->err)
            break;
    }
    while (pl->spare_busy || cp_plog_gc_pending(pl))
        cp_loop_run_once(pl->loop, 100000);
    free(pl->gc_q);
    if (pl->spare_fd >= 0) {
        char name[64];
        seg_name(name, sizeof(name), pl->spare_no);
        close(pl->spare_fd);
        unlinkat(pl->dfd, name, 0); /* unused; load() would remove it anyway */
    }
    uint64_t lost = 0;
    while (pl->head) {
        struct chunk *c = pl->head;
        pl->head = c->next;
        lost += c->n_recs;
        free(c);
    }
    if (lost)
        logf_(pl, "cp_plog: closing %s with %" PRIu64 " records not written (%s)", pl->dir, lost,
              strerror(pl->err ? -pl->err : EAGAIN));
    if (pl->open_fd >= 0)
        close(pl->open_fd);
    if (pl->rfd >= 0)
        close(pl->rfd);
    close(pl->dfd);
    for (size_t i = 0; i < pl->n_segs; i++)
        free(pl->segs[i].o);
    free(pl->segs);
    for (unsigned o = 0; o <= CP_PLOG_ORIGIN_MAX; o++)
        free(pl->idx[o].slot);
    free(pl);
}

/* ---- append / flush ---- */

/* The ticket of the record at @loc if it is buffered, else 0. */
static uint64_t buffered_ticket(const struct cp_plog *pl, uint64_t loc)
{
    uint64_t sno = loc_seg(loc), off = loc_off(loc);
    for (const struct chunk *c = pl->head; c; c = c->next) {
        if (c->seg_no != sno || off < c->off || off >= c->off + c->len)
            continue;
        uint64_t t = c->first_ticket;
        for (uint64_t p = c->off; p < off; t++)
            p += cp_plog_rec_size(rumor_le_ld32(c->data + (p - c->off) + 12));
        return t;
    }
    return 0;
}

int64_t cp_plog_append(struct cp_plog *pl, uint16_t origin, uint64_t first_seq,
                       uint16_t count, const void *frame, uint32_t len)
{
    if (!rec_valid(origin, count, len, first_seq))
        return -EINVAL;
    struct oidx *o = &pl->idx[origin];
    uint64_t last = first_seq + count - 1;
    bool all = true;
    uint64_t ticket = 0, prev = 0;
    for (uint64_t q = first_seq; all && q <= last; q++) {
        uint64_t loc = oidx_get(o, q);
        if (loc == 0)
            all = false;
        else if (loc != prev) {
            uint64_t t = buffered_ticket(pl, loc);
            if (t > ticket)
                ticket = t;
            prev = loc;
        }
    }
    if (all) {
        pl->st.dup_appends++;
        return (int64_t)ticket;
    }
    if (pl->err)
        return pl->err;
    size_t rs = cp_plog_rec_size(len);
    if (pl->buffered + rs > pl->cfg.buffer_max)
        return -ENOBUFS;
    int rv = oidx_ensure(pl, o, first_seq, last);
    if (rv)
        return rv;
    /* A record never spans segments: start the next one if this would pass segment_size. */
    uint64_t sno = pl->tail_seg, off = pl->tail_off;
    if (off > 0 && off + rs > pl->cfg.segment_size) {
        sno++;
        off = 0;
    }
    if (sno > UINT32_MAX)
        return -ERANGE;
    struct seg *s = seg_find(pl, sno);
    if (s == NULL) {
        if ((rv = seg_push(pl, sno, false)) != 0)
            return rv;
        s = &pl->segs[pl->n_segs - 1];
    }
    if ((rv = seg_note(s, origin, first_seq, last)) != 0)
        return rv;
    struct chunk *c = pl->tail;
    if (c == NULL || c->sealed || c->seg_no != sno || c->cap - c->len < rs) {
        size_t cap = rs > CHUNK_CAP ? rs : CHUNK_CAP;
        c = malloc(sizeof(*c) + cap);
        if (c == NULL)
            return -ENOMEM;
        *c = (struct chunk){ .seg_no = sno, .off = off, .first_ticket = pl->last_ticket + 1,
                             .cap = (uint32_t)cap };
        if (pl->tail)
            pl->tail->next = c;
        else
            pl->head = c;
        pl->tail = c;
    }
    struct cp_plog_rec r = { .origin = origin, .count = count, .len = len,
                             .first_seq = first_seq, .frame = frame };
    cp_plog_rec_encode(&r, c->data + c->len, rs);
    c->len += (uint32_t)rs;
    c->n_recs++;
    c->last_ticket = ++pl->last_ticket;
    uint64_t loc = loc_make(sno, off);
    for (uint64_t q = first_seq; q <= last; q++)
        if (o->slot[q - o->base] == 0)
            oidx_set(o, q, loc);
    pl->tail_seg = sno;
    pl->tail_off = off + rs;
    pl->buffered += rs;
    pl->st.appends++;
    pl->st.append_bytes += len;
    return (int64_t)c->last_ticket;
}

static void flush_failed(struct cp_plog *pl, int res)
{
    const struct chunk *c = pl->head;
    char name[64];
    seg_name(name, sizeof(name), c->seg_no);
    uint64_t recs = 0;
    for (; c; c = c->next)
        recs += c->n_recs;
    if (pl->err == 0 || pl->st.write_errors % 1000 == 0) /* the retry timer may spin */
        logf_(pl, "cp_plog: write to %s/%s at offset %" PRIu64 " failed: %s; %" PRIu64
              " records kept buffered, refusing appends until a retry succeeds", pl->dir, name,
              pl->head->off, strerror(-res), recs);
    pl->err = res;
    pl->st.write_errors++;
}

static void flush_done(struct cp_loop_req *req, int res)
{
    struct cp_plog *pl = req->data;
    pl->inflight = false;
    if (res < 0) {
        flush_failed(pl, res);
        return;
    }
    if (pl->err)
        logf_(pl, "cp_plog: write to %s succeeded again after %s", pl->dir, strerror(-pl->err));
    pl->err = 0;
    uint64_t recs = 0, bytes = 0, ticket = pl->durable;
    struct seg *s = seg_find(pl, pl->head->seg_no);
    for (unsigned i = 0; i < pl->n_flight; i++) {
        struct chunk *c = pl->head;
        pl->head = c->next;
        if (pl->head == NULL)
            pl->tail = NULL;
        recs += c->n_recs;
        bytes += c->len;
        ticket = c->last_ticket;
        free(c);
    }
    pl->n_flight = 0;
    s->size += bytes;
    pl->buffered -= bytes;
    pl->st.flushes++;
    if (recs > pl->st.flush_records_max)
        pl->st.flush_records_max = recs;
    pl->durable = ticket;
    if (pl->cfg.durable)
        pl->cfg.durable(pl->cfg.arg, ticket);
    if (!pl->cfg.owner_starts_writes)
        flush_start(pl);
}

static void prefill_done(struct cp_loop_req *req, int res)
{
    struct cp_plog *pl = req->data;
    pl->inflight = false;
    pl->open_filled = true;
    if (res < 0)
        logf_(pl, "cp_plog: zero-filling segment %" PRIu64 " of %s failed (%s): its records "
              "are appended unfilled", pl->open_no, pl->dir, strerror(-res));
    else
        pl->st.prefills++;
    flush_start(pl); /* the records that waited for it */
}

/* Zero-fill the open, still empty segment before its first record (cfg.prealloc). Returns
 * true when the fill is in flight (prefill_done resumes the flush). */
static const uint8_t zeros[256 << 10];

/* iov[] over @size zero bytes; returns the entries used. */
static unsigned zero_iov(struct iovec *iov, uint64_t size)
{
    unsigned n = 0;
    for (; size && n < IOV_MAX_; n++) {
        size_t part = size < sizeof(zeros) ? (size_t)size : sizeof(zeros);
        iov[n] = (struct iovec){ .iov_base = (void *)zeros, .iov_len = part };
        size -= part;
    }
    return n;
}

static bool prefill_start(struct cp_plog *pl)
{
    const struct seg *s = seg_find(pl, pl->open_no);
    if (!pl->cfg.prealloc || pl->open_filled || s == NULL || s->size != 0)
        return false;
    unsigned n = zero_iov(pl->iov, pl->cfg.segment_size);
    pl->n_flight = 0;
    pl->inflight = true;
    pl->wreq.data = pl;
    if (cp_loop_writev_sync(pl->loop, &pl->wreq, pl->open_fd, pl->iov, n, 0, pl->cfg.rwf_dsync,
                            prefill_done) != 0) {
        pl->inflight = false; /* submission queue full: the records go unfilled */
        pl->open_filled = true;
        return false;
    }
    return true;
}

/* ---- the spare segment ----
 * Before, each roll created the next segment on the loop (open + a directory fsync: 5 to
 * 12 ms under load) and its records waited for the zero fill (a 4 MiB write). Every node of
 * a cluster holds the same payloads and rolls at the same time, so the order stalled on all
 * of them at once. A spare left behind by a crash is all zeros and load() removes it. */

static void spare_drop(struct cp_plog *pl, const char *what, int err)
{
    char name[64];
    seg_name(name, sizeof(name), pl->spare_no);
    logf_(pl, "cp_plog: making the next segment %s/%s ahead failed (%s: %s); the roll "
          "creates it", pl->dir, name, what, strerror(-err));
    close(pl->spare_fd);
    unlinkat(pl->dfd, name, 0);
    pl->spare_fd = -1;
    pl->spare_ready = false;
}

static void spare_synced(struct cp_loop_req *req, int res)
{
    struct cp_plog *pl = req->data;
    pl->spare_busy = false;
    if (res < 0) {
        spare_drop(pl, "directory fsync", res);
    } else {
        pl->spare_ready = true;
        pl->st.spares++;
    }
    if (pl->head != NULL && pl->head->seg_no == pl->spare_no)
        flush_start(pl); /* a roll waited for it */
}

static void spare_filled(struct cp_loop_req *req, int res)
{
    struct cp_plog *pl = req->data;
    pl->spare_busy = false;
    if (res < 0) {
        spare_drop(pl, "zero fill", res);
    } else {
        /* the file's directory entry durable before any record in it is acknowledged */
        pl->sreq.data = pl;
        if (cp_loop_fsync(pl->loop, &pl->sreq, pl->dfd, false, spare_synced) == 0) {
            pl->spare_busy = true;
            return;
        }
        spare_drop(pl, "directory fsync", -EAGAIN);
    }
    if (pl->head != NULL && pl->head->seg_no == pl->spare_no)
        flush_start(pl);
}

static void spare_piece_done(struct cp_loop_req *req, int res);

/* cfg.fill_piece, or more when the records outrun it: the fill keeps pace with the open
 * segment's tail so that it ends by 3/4 of it (else every roll found it unfinished and wrote
 * the rest at once, at 30,000 events/s per node: megabytes in one write again). */
static uint64_t spare_piece_size(const struct cp_plog *pl)
{
    uint64_t size = pl->cfg.segment_size;
    uint64_t piece = pl->cfg.fill_piece ? pl->cfg.fill_piece : 64u << 10;
    uint64_t end = size - size / 4, at = pl->tail_seg == pl->open_no ? pl->tail_off : size;
    if (end <= pl->spare_from || at <= pl->spare_from)
        return piece;
    if (at > end)
        at = end;
    uint64_t target = (uint64_t)((unsigned __int128)size * (at - pl->spare_from) /
                                 (end - pl->spare_from));
    return target > pl->spare_filled_to + piece ? target - pl->spare_filled_to : piece;
}

/* The spare's next piece of zeros: one plain write, or for the last piece write +
 * fdatasync of the whole file (an RWF_DSYNC write would sync only its own range). */
static void spare_step(struct cp_plog *pl)
{
    if (pl->spare_fd < 0 || pl->spare_busy || pl->spare_ready)
        return;
    uint64_t size = pl->cfg.segment_size, left = size - pl->spare_filled_to;
    uint64_t piece = spare_piece_size(pl);
    bool last = pl->spare_urgent || left <= piece;
    pl->spare_piece = last ? left : piece;
    unsigned n = zero_iov(pl->siov, pl->spare_piece);
    pl->sreq.data = pl;
    int rv = last ? cp_loop_writev_sync(pl->loop, &pl->sreq, pl->spare_fd, pl->siov, n,
                                        pl->spare_filled_to, false, spare_filled)
                  : cp_loop_writev(pl->loop, &pl->sreq, pl->spare_fd, pl->siov, n,
                                   pl->spare_filled_to, spare_piece_done);
    if (rv != 0) {
        if (pl->spare_urgent)
            spare_drop(pl, "zero fill", rv); /* the waiting roll creates the segment */
        return;                              /* else the next flush tries again */
    }
    pl->spare_busy = true;
    pl->st.spare_writes++;
}

static void spare_piece_done(struct cp_loop_req *req, int res)
{
    struct cp_plog *pl = req->data;
    pl->spare_busy = false;
    if (res < 0 || (uint64_t)res != pl->spare_piece) {
        spare_drop(pl, "zero fill", res < 0 ? res : -EIO);
        if (pl->head != NULL && pl->head->seg_no == pl->spare_no)
            flush_start(pl);
        return;
    }
    pl->spare_filled_to += pl->spare_piece;
    if (pl->spare_urgent)
        spare_step(pl);
}

/* Make segment open_no + 1 ahead, once the open one is in use; its fill is paced by the
 * flushes (spare_step from flush_start). */
static void spare_start(struct cp_plog *pl)
{
    if (pl->spare_fd >= 0) {
        spare_step(pl);
        return;
    }
    if (!pl->cfg.prealloc || pl->spare_busy || pl->err || pl->open_fd < 0 ||
        !pl->open_filled || pl->open_no >= UINT32_MAX)
        return;
    /* not at the roll itself: its zero fill would meet the first records' writes */
    if (pl->tail_seg == pl->open_no && pl->tail_off < pl->cfg.segment_size / 4)
        return;
    if (pl->cfg.fault && pl->cfg.fault(pl->cfg.arg, CP_PLOG_OP_CREATE) != 0)
        return; /* the roll's create_segment meets the fault and reports it */
    char name[64];
    uint64_t no = pl->open_no + 1;
    seg_name(name, sizeof(name), no);
    int fd = openat(pl->dfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    pl->spare_fd = fd;
    pl->spare_no = no;
    pl->spare_ready = false;
    pl->spare_urgent = false;
    pl->spare_filled_to = 0;
    pl->spare_from = pl->tail_seg == pl->open_no ? pl->tail_off : 0;
    spare_step(pl);
}

/* The roll to @no: the spare becomes the open segment when it is made. Returns 1 switched,
 * 0 the spare is still being made (its completion starts the flush again), -1 no spare. */
static int spare_take(struct cp_plog *pl, uint64_t no)
{
    if (pl->spare_fd < 0 || pl->spare_no != no)
        return -1;
    if (!pl->spare_ready) {
        pl->st.spare_waits++;
        pl->spare_urgent = true;
        spare_step(pl);
        return pl->spare_fd < 0 ? -1 : 0;
    }
    struct seg *s = seg_find(pl, no);
    if (s)
        s->created = true;
    else if (seg_push(pl, no, true) != 0) {
        close(pl->spare_fd); /* create_segment makes the file again */
        pl->spare_fd = -1;
        pl->spare_ready = false;
        return -1;
    }
    if (pl->open_fd >= 0)
        close(pl->open_fd);
    pl->open_fd = pl->spare_fd;
    pl->open_no = no;
    pl->open_filled = true;
    pl->spare_fd = -1;
    pl->spare_ready = false;
    pl->st.prefills++;
    return 1;
}

static void flush_start(struct cp_plog *pl)
{
    if (pl->inflight || pl->head == NULL)
        return;
    struct chunk *c = pl->head;
    int rv = 0;
    if (c->seg_no != pl->open_no) {
        /* Everything of the older segment is written (chunks go out in order). */
        int took = spare_take(pl, c->seg_no);
        if (took == 0)
            return;
        if (took < 0 && (rv = create_segment(pl, c->seg_no)) != 0) {
            flush_failed(pl, rv);
            return;
        }
    }
    if (prefill_start(pl))
        return;
    spare_start(pl);
    unsigned n = 0;
    for (; c && c->seg_no == pl->head->seg_no && n < IOV_MAX_; c = c->next, n++) {
        c->sealed = true;
        pl->iov[n] = (struct iovec){ .iov_base = c->data, .iov_len = c->len };
    }
    pl->n_flight = n;
    pl->inflight = true;
    pl->wreq.data = pl;
    rv = pl->cfg.fault ? pl->cfg.fault(pl->cfg.arg, CP_PLOG_OP_WRITE) : 0;
    if (rv < 0) {
        cp_loop_defer(pl->loop, &pl->wreq, rv, flush_done);
        return;
    }
    rv = cp_loop_writev_sync(pl->loop, &pl->wreq, pl->open_fd, pl->iov, n, pl->head->off,
                             pl->cfg.rwf_dsync, flush_done);
    if (rv != 0)
        pl->inflight = false; /* submission queue full: the next flush tries again */
}

void cp_plog_flush(struct cp_plog *pl)
{
    flush_start(pl);
}

uint64_t cp_plog_durable(const struct cp_plog *pl)
{
    return pl->durable;
}

int cp_plog_error(const struct cp_plog *pl)
{
    return pl->err;
}

/* ---- queries ---- */

bool cp_plog_has(const struct cp_plog *pl, uint16_t origin, uint64_t seq)
{
    return origin <= CP_PLOG_ORIGIN_MAX && oidx_get(&pl->idx[origin], seq) != 0;
}

uint64_t cp_plog_max_seq(const struct cp_plog *pl, uint16_t origin)
{
    if (origin > CP_PLOG_ORIGIN_MAX || pl->idx[origin].count == 0)
        return 0;
    return pl->idx[origin].hi;
}

uint64_t cp_plog_next_seq(const struct cp_plog *pl, uint16_t origin, uint64_t after)
{
    if (origin > CP_PLOG_ORIGIN_MAX)
        return 0;
    const struct oidx *o = &pl->idx[origin];
    if (o->count == 0 || after >= o->hi)
        return 0;
    for (uint64_t q = after < o->lo ? o->lo : after + 1; q <= o->hi; q++)
        if (o->slot[q - o->base])
            return q;
    return 0;
}

static int read_fd(struct cp_plog *pl, uint64_t no)
{
    if (no == pl->open_no)
        return pl->open_fd;
    if (pl->rfd >= 0 && pl->rfd_no == no)
        return pl->rfd;
    if (pl->rfd >= 0)
        close(pl->rfd);
    char name[64];
    seg_name(name, sizeof(name), no);
    pl->rfd = openat(pl->dfd, name, O_RDONLY | O_CLOEXEC);
    pl->rfd_no = no;
    return pl->rfd >= 0 ? pl->rfd : -errno;
}

int cp_plog_read(struct cp_plog *pl, uint16_t origin, uint64_t seq, void *buf, size_t cap,
                 uint64_t *first_seq)
{
    if (origin > CP_PLOG_ORIGIN_MAX)
        return -ENOENT;
    uint64_t loc = oidx_get(&pl->idx[origin], seq);
    if (loc == 0)
        return -ENOENT;
    uint64_t sno = loc_seg(loc), off = loc_off(loc);
    uint8_t h[CP_PLOG_HDR];
    const uint8_t *mem = NULL;
    for (const struct chunk *c = pl->head; c && !mem; c = c->next)
        if (c->seg_no == sno && off >= c->off && off < c->off + c->len)
            mem = c->data + (off - c->off);
    int fd = -1, rv;
    if (mem)
        memcpy(h, mem, CP_PLOG_HDR);
    else if ((fd = read_fd(pl, sno)) < 0 || (rv = cp_read_full(fd, h, CP_PLOG_HDR, (off_t)off)))
        goto io_err;
    struct cp_plog_rec r;
    if (hdr_decode(h, CP_PLOG_HDR, &r) < 0 || r.origin != origin || seq < r.first_seq ||
        seq - r.first_seq >= r.count) {
        rv = -EUCLEAN;
        goto bad;
    }
    if (cap < r.len)
        return -ENOBUFS;
    /* Padding is not re-checked here: the loader did, and it carries no data. */
    if (mem)
        memcpy(buf, mem + CP_PLOG_HDR, r.len);
    else if ((rv = cp_read_full(fd, buf, r.len, (off_t)(off + CP_PLOG_HDR))) != 0)
        goto io_err;
    if (body_check(h, buf, r.len, NULL, 0) != 0) {
        rv = -EUCLEAN;
        goto bad;
    }
    if (first_seq)
        *first_seq = r.first_seq;
    return (int)r.len;
io_err:
    rv = -EIO;
bad:;
    char name[64];
    seg_name(name, sizeof(name), sno);
    pl->st.read_errors++;
    logf_(pl, "cp_plog: reading origin %u seq %" PRIu64 " from %s/%s at offset %" PRIu64
          " failed: %s", origin, seq, pl->dir, name, off,
          rv == -EUCLEAN ? "checksum mismatch" : "I/O error");
    return rv;
}

/* ---- gc ---- */

static void drop_segment_index(struct cp_plog *pl, const struct seg *s)
{
    for (uint32_t i = 0; i < s->n_o; i++) {
        struct oidx *o = &pl->idx[s->o[i].origin];
        bool dropped = false;
        for (uint64_t q = s->o[i].lo; q <= s->o[i].hi; q++) {
            uint64_t *slot = oidx_at(o, q);
            if (slot && *slot && loc_seg(*slot) == s->no) {
                *slot = 0;
                o->count--;
                dropped = true;
            }
        }
        if (dropped)
            oidx_tidy(o);
    }
}

/* The unlinks and the directory fsync of cp_plog_gc, one io_uring request at a time. Before,
 * they ran on the loop inside the snapshot hook: 3 to 12 ms of stall under load, on every
 * node at once (they snapshot at the same index). A file whose unlink is lost to a crash
 * holds covered records only: the next load indexes them and the next GC drops them again. */
static void gc_step(struct cp_plog *pl);

static void gc_synced(struct cp_loop_req *req, int res)
{
    struct cp_plog *pl = req->data;
    pl->gc_busy = false;
    if (res < 0)
        logf_(pl, "cp_plog: directory fsync after deleting segments of %s failed: %s", pl->dir,
              strerror(-res));
    if (pl->gc_i == pl->gc_n)
        pl->gc_i = pl->gc_n = 0;
    gc_step(pl);
}

static void gc_unlinked(struct cp_loop_req *req, int res)
{
    struct cp_plog *pl = req->data;
    pl->gc_busy = false;
    if (res < 0 && res != -ENOENT)
        logf_(pl, "cp_plog: deleting %s/%s failed: %s (its records are covered: the next load "
              "drops them again)", pl->dir, pl->gc_name, strerror(-res));
    pl->gc_i++;
    if (pl->gc_i < pl->gc_n) {
        gc_step(pl);
        return;
    }
    pl->greq.data = pl;
    if (cp_loop_fsync(pl->loop, &pl->greq, pl->dfd, false, gc_synced) == 0)
        pl->gc_busy = true;
    else
        pl->gc_i = pl->gc_n = 0;
}

static void gc_step(struct cp_plog *pl)
{
    if (pl->gc_busy || pl->gc_i >= pl->gc_n)
        return;
    seg_name(pl->gc_name, sizeof(pl->gc_name), pl->gc_q[pl->gc_i]);
    pl->greq.data = pl;
    if (cp_loop_unlinkat(pl->loop, &pl->greq, pl->dfd, pl->gc_name, 0, gc_unlinked) == 0) {
        pl->gc_busy = true;
        return;
    }
    /* submission queue full: here and now, as before */
    if (unlinkat(pl->dfd, pl->gc_name, 0) != 0 && errno != ENOENT)
        logf_(pl, "cp_plog: deleting %s/%s failed: %s", pl->dir, pl->gc_name, strerror(errno));
    if (++pl->gc_i == pl->gc_n) {
        if (fsync(pl->dfd) != 0)
            logf_(pl, "cp_plog: directory fsync of %s failed: %s", pl->dir, strerror(errno));
        pl->gc_i = pl->gc_n = 0;
        return;
    }
    gc_step(pl);
}

bool cp_plog_gc_pending(const struct cp_plog *pl)
{
    return pl->gc_busy || pl->gc_i < pl->gc_n;
}

int cp_plog_gc(struct cp_plog *pl, const uint64_t *covered)
{
    int deleted = 0;
    size_t k = 0;
    for (size_t i = 0; i < pl->n_segs; i++) {
        struct seg *s = &pl->segs[i];
        bool del = s->created && s->no < pl->open_no;
        for (uint32_t j = 0; del && j < s->n_o; j++)
            del = s->o[j].hi <= covered[s->o[j].origin];
        if (del && pl->gc_n == pl->gc_cap) {
            size_t c = pl->gc_cap ? pl->gc_cap * 2 : 16;
            uint64_t *q = realloc(pl->gc_q, c * sizeof(*q));
            if (q == NULL)
                del = false; /* kept: the next GC tries again */
            else {
                pl->gc_q = q;
                pl->gc_cap = c;
            }
        }
        if (del) {
            if (pl->rfd >= 0 && pl->rfd_no == s->no) {
                close(pl->rfd);
                pl->rfd = -1;
            }
            pl->gc_q[pl->gc_n++] = s->no;
            drop_segment_index(pl, s);
            free(s->o);
            deleted++;
            pl->st.segments_deleted++;
            continue;
        }
        pl->segs[k++] = *s;
    }
    pl->n_segs = k;
    gc_step(pl);
    return deleted;
}

void cp_plog_stats(const struct cp_plog *pl, struct cp_plog_stats *out)
{
    *out = pl->st;
    out->segments = out->bytes = 0;
    for (size_t i = 0; i < pl->n_segs; i++)
        if (pl->segs[i].created) {
            out->segments++;
            out->bytes += pl->segs[i].size;
        }
    out->buffered_bytes = pl->buffered;
}
