/* Unit tests for cp_plog (the payload log) on real files in a temp dir: group commit,
 * reload, duplicates, rolls, gc, torn tails, corruption and the write-error retry path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cp_loop.h"
#include "cp_plog.h"

static struct cp_loop *loop;
static char tmpdir[256];
static char dir[300];

/* What the callbacks saw. */
static uint64_t durable_seen;
static unsigned durable_calls;
static char last_log[512];
static unsigned logs;
static int fault_err;      /* returned by the fault hook for writes */
static int fault_create_err;

static void on_durable(void *arg, uint64_t t)
{
    (void)arg;
    assert_true(t > durable_seen);
    durable_seen = t;
    durable_calls++;
}

static void on_log(void *arg, const char *msg)
{
    (void)arg;
    snprintf(last_log, sizeof(last_log), "%s", msg);
    logs++;
}

static int on_fault(void *arg, int op)
{
    (void)arg;
    return op == CP_PLOG_OP_WRITE ? fault_err : fault_create_err;
}

static struct cp_plog_cfg cfg_default(void)
{
    return (struct cp_plog_cfg){ .durable = on_durable, .log = on_log, .fault = on_fault };
}

static int setup(void **state)
{
    (void)state;
    int rv = cp_loop_create(256, &loop);
    if (rv) {
        fprintf(stderr, "io_uring unavailable: %s\n", strerror(-rv));
        exit(77);
    }
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/cp-plog-test-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        return -1;
    cp_loop_destroy(loop);
    return 0;
}

/* Every test gets a fresh directory and fresh callback state. */
static int each(void **state)
{
    (void)state;
    static int n;
    snprintf(dir, sizeof(dir), "%s/t%d", tmpdir, ++n);
    durable_seen = 0;
    durable_calls = 0;
    last_log[0] = 0;
    logs = 0;
    fault_err = 0;
    fault_create_err = 0;
    return 0;
}

static void segpath(char *out, uint64_t no)
{
    snprintf(out, 400, "%s/plog-%020llu", dir, (unsigned long long)no);
}

static off_t file_size(uint64_t no)
{
    char p[400];
    segpath(p, no);
    struct stat st;
    if (stat(p, &st) != 0)
        return -1;
    return st.st_size;
}

/* Deterministic frame of (origin, first, count): its length varies so padding is tested. */
static uint32_t frame_of(uint16_t origin, uint64_t first, uint16_t count, uint8_t *out)
{
    uint32_t len = 5 + (uint32_t)((first * 7 + origin) % 200);
    for (uint32_t i = 0; i < len; i++)
        out[i] = (uint8_t)(origin * 31 + first * 13 + count + i);
    return len;
}

static int64_t append(struct cp_plog *pl, uint16_t origin, uint64_t first, uint16_t count)
{
    uint8_t f[256];
    uint32_t len = frame_of(origin, first, count, f);
    return cp_plog_append(pl, origin, first, count, f, len);
}

/* (origin, seq) reads back the frame of the record (origin, first, count). */
static void check_read(struct cp_plog *pl, uint16_t origin, uint64_t seq, uint64_t first,
                       uint16_t count)
{
    uint8_t want[256], got[256];
    uint32_t len = frame_of(origin, first, count, want);
    uint64_t fs = 0;
    int n = cp_plog_read(pl, origin, seq, got, sizeof(got), &fs);
    assert_int_equal(n, (int)len);
    assert_int_equal(fs, first);
    assert_memory_equal(got, want, len);
}

static void wait_durable(struct cp_plog *pl, uint64_t ticket)
{
    uint64_t end = cp_loop_now_ms() + 5000;
    while (cp_plog_durable(pl) < ticket && cp_loop_now_ms() < end)
        cp_loop_run_once(loop, 10000);
    assert_true(cp_plog_durable(pl) >= ticket);
}

static struct cp_plog *open_ok(const struct cp_plog_cfg *cfg)
{
    struct cp_plog *pl = NULL;
    char err[256] = "";
    durable_seen = 0; /* tickets start again at 1 with every open */
    int rv = cp_plog_open(loop, dir, cfg, &pl, err);
    if (rv != 0)
        fprintf(stderr, "open: %d %s\n", rv, err);
    assert_int_equal(rv, 0);
    return pl;
}

static void flip_bit(uint64_t segno, off_t off)
{
    char p[400];
    segpath(p, segno);
    int fd = open(p, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, off), 1);
    b ^= 0x10;
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

/* ---- tests ---- */

static void test_codec(void **state)
{
    (void)state;
    uint8_t frame[13] = "hello, world", out[64];
    struct cp_plog_rec r = { .origin = 7, .count = 3, .len = 13, .first_seq = 42,
                             .frame = frame };
    assert_int_equal(cp_plog_rec_size(13), 48);
    assert_int_equal(cp_plog_rec_encode(&r, out, sizeof(out)), 48);
    assert_memory_equal(out, "RPLG", 4);
    struct cp_plog_rec d;
    assert_int_equal(cp_plog_rec_decode(out, 48, &d), 48);
    assert_int_equal(d.origin, 7);
    assert_int_equal(d.count, 3);
    assert_int_equal(d.first_seq, 42);
    assert_memory_equal(d.frame, frame, 13);
    assert_int_equal(cp_plog_rec_decode(out, 47, &d), -EAGAIN);
    assert_int_equal(cp_plog_rec_decode(out, 20, &d), -EAGAIN);
    out[40] ^= 1; /* frame byte */
    assert_int_equal(cp_plog_rec_decode(out, 48, &d), -EUCLEAN);
    out[40] ^= 1;
    out[47] = 1; /* padding */
    assert_int_equal(cp_plog_rec_decode(out, 48, &d), -EUCLEAN);
    out[47] = 0;
    out[17] ^= 1; /* first seq */
    assert_int_equal(cp_plog_rec_decode(out, 48, &d), -EBADMSG);
    memset(out, 0, 32);
    assert_int_equal(cp_plog_rec_decode(out, 48, &d), -EBADMSG);
    r.count = 0;
    assert_int_equal(cp_plog_rec_encode(&r, out, sizeof(out)), -EINVAL);
    r.count = 1;
    r.origin = CP_PLOG_ORIGIN_MAX + 1;
    assert_int_equal(cp_plog_rec_encode(&r, out, sizeof(out)), -EINVAL);
}

static void test_append_read(void **state)
{
    (void)state;
    struct cp_plog_cfg cfg = cfg_default();
    struct cp_plog *pl = open_ok(&cfg);
    assert_int_equal(file_size(1), 0);
    uint8_t f[8] = { 1 };
    assert_int_equal(cp_plog_append(pl, 0, 1, 1, f, 8), -EINVAL);
    assert_int_equal(cp_plog_append(pl, 1, 0, 1, f, 8), -EINVAL);
    assert_int_equal(cp_plog_append(pl, 1, 1, 0, f, 8), -EINVAL);
    assert_int_equal(cp_plog_append(pl, 1, 1, 1, f, 0), -EINVAL);
    assert_int_equal(cp_plog_append(pl, 1, 1, 1, f, CP_PLOG_MAX_FRAME + 1), -EINVAL);

    assert_int_equal(append(pl, 3, 1, 4), 1);
    assert_int_equal(append(pl, 3, 5, 2), 2);
    assert_int_equal(append(pl, 9, 10, 1), 3); /* out of order: 1..9 of origin 9 missing */
    assert_true(cp_plog_has(pl, 3, 6));
    assert_false(cp_plog_has(pl, 3, 7));
    assert_false(cp_plog_has(pl, 9, 9));
    /* Buffered records read from memory. */
    check_read(pl, 3, 2, 1, 4);
    assert_int_equal(cp_plog_durable(pl), 0);
    cp_plog_flush(pl);
    wait_durable(pl, 3);
    assert_int_equal(durable_seen, 3);
    assert_int_equal(durable_calls, 1);
    for (uint64_t s = 1; s <= 4; s++)
        check_read(pl, 3, s, 1, 4);
    check_read(pl, 3, 6, 5, 2);
    check_read(pl, 9, 10, 10, 1);
    uint8_t small[4];
    assert_int_equal(cp_plog_read(pl, 3, 1, small, sizeof(small), NULL), -ENOBUFS);
    assert_int_equal(cp_plog_read(pl, 3, 7, small, sizeof(small), NULL), -ENOENT);
    assert_int_equal(cp_plog_read(pl, 4, 1, small, sizeof(small), NULL), -ENOENT);
    assert_int_equal(cp_plog_max_seq(pl, 3), 6);
    assert_int_equal(cp_plog_max_seq(pl, 9), 10);
    assert_int_equal(cp_plog_max_seq(pl, 5), 0);
    assert_int_equal(cp_plog_next_seq(pl, 9, 0), 10);
    assert_int_equal(cp_plog_next_seq(pl, 9, 10), 0);
    assert_int_equal(cp_plog_next_seq(pl, 3, 4), 5);
    struct cp_plog_stats st;
    cp_plog_stats(pl, &st);
    assert_int_equal(st.appends, 3);
    assert_int_equal(st.flushes, 1);
    assert_int_equal(st.flush_records_max, 3);
    assert_int_equal(st.segments, 1);
    assert_int_equal(st.bytes, (uint64_t)file_size(1));
    assert_int_equal(st.buffered_bytes, 0);
    cp_plog_close(pl);
}

static void test_group_commit(void **state)
{
    (void)state;
    struct cp_plog_cfg cfg = cfg_default();
    struct cp_plog *pl = open_ok(&cfg);
    uint64_t seq = 1;
    int64_t last = 0;
    /* Bursts of 10 with a flush after each and a 50 us loop turn in between: most bursts
     * land while a write is in flight and share the next fdatasync. */
    for (int burst = 0; burst < 100; burst++) {
        for (int i = 0; i < 10; i++) {
            last = append(pl, (uint16_t)(1 + i % 3), seq, 1);
            assert_true(last > 0);
            if (i % 3 == 2)
                seq++;
        }
        seq++;
        cp_plog_flush(pl);
        cp_loop_run_once(loop, 50);
    }
    assert_int_equal(last, 1000);
    wait_durable(pl, 1000);
    struct cp_plog_stats st;
    cp_plog_stats(pl, &st);
    fprintf(stderr, "group commit: 1000 records, %llu fdatasyncs, at most %llu per sync\n",
            (unsigned long long)st.flushes, (unsigned long long)st.flush_records_max);
    assert_true(st.flushes < 200);
    assert_true(st.flush_records_max > 1);
    assert_int_equal(durable_seen, 1000);
    assert_true(durable_calls == st.flushes);
    cp_plog_close(pl);
}

static void fill(struct cp_plog *pl, uint16_t origins, uint64_t records)
{
    int64_t t = 0;
    for (uint64_t s = 1; s <= records; s++)
        for (uint16_t o = 1; o <= origins; o++) {
            t = append(pl, o, 2 * s - 1, 2);
            assert_true(t > 0);
        }
    cp_plog_flush(pl);
    wait_durable(pl, (uint64_t)t);
}

static void check_fill(struct cp_plog *pl, uint16_t origins, uint64_t records)
{
    for (uint64_t s = 1; s <= records; s++)
        for (uint16_t o = 1; o <= origins; o++) {
            check_read(pl, o, 2 * s - 1, 2 * s - 1, 2);
            check_read(pl, o, 2 * s, 2 * s - 1, 2);
        }
    for (uint16_t o = 1; o <= origins; o++)
        assert_int_equal(cp_plog_max_seq(pl, o), 2 * records);
}

static void test_reopen(void **state)
{
    (void)state;
    struct cp_plog_cfg cfg = cfg_default();
    struct cp_plog *pl = open_ok(&cfg);
    fill(pl, 5, 50);
    append(pl, 700, 1000, 3); /* still buffered at close: close writes it */
    cp_plog_close(pl);
    pl = open_ok(&cfg);
    check_fill(pl, 5, 50);
    check_read(pl, 700, 1002, 1000, 3);
    assert_false(cp_plog_has(pl, 700, 999));
    assert_int_equal(cp_plog_next_seq(pl, 700, 0), 1000);
    assert_int_equal(logs, 0);
    /* Appends after reopen continue the open segment. */
    off_t before = file_size(1);
    int64_t t = append(pl, 6, 101, 1);
    assert_int_equal(t, 1);
    cp_plog_flush(pl);
    wait_durable(pl, 1);
    assert_true(file_size(1) > before);
    cp_plog_close(pl);
    pl = open_ok(&cfg);
    check_read(pl, 6, 101, 101, 1);
    check_fill(pl, 5, 50);
    cp_plog_close(pl);
}

static void test_dup(void **state)
{
    (void)state;
    struct cp_plog_cfg cfg = cfg_default();
    struct cp_plog *pl = open_ok(&cfg);
    assert_int_equal(append(pl, 2, 1, 5), 1);
    assert_int_equal(append(pl, 2, 6, 5), 2);
    /* All held, still buffered: the ticket of the record holding them. */
    assert_int_equal(append(pl, 2, 1, 5), 1);
    assert_int_equal(append(pl, 2, 2, 2), 1);
    assert_int_equal(append(pl, 2, 4, 4), 2); /* spans both: the later ticket */
    cp_plog_flush(pl);
    wait_durable(pl, 2);
    off_t size = file_size(1);
    /* All held and durable: 0, nothing written. */
    assert_int_equal(append(pl, 2, 1, 10), 0);
    assert_int_equal(append(pl, 2, 3, 1), 0);
    cp_plog_flush(pl);
    cp_loop_run_once(loop, 1000);
    assert_int_equal(file_size(1), size);
    struct cp_plog_stats st;
    cp_plog_stats(pl, &st);
    assert_int_equal(st.dup_appends, 5);
    assert_int_equal(st.appends, 2);
    /* Partial overlap: appended, only seqs 11..12 come from the new record. */
    assert_int_equal(append(pl, 2, 9, 4), 3);
    check_read(pl, 2, 10, 6, 5);
    check_read(pl, 2, 11, 9, 4);
    cp_plog_flush(pl);
    wait_durable(pl, 3);
    assert_true(file_size(1) > size);
    cp_plog_close(pl);
    /* The loader keeps the first record for each seq too. */
    pl = open_ok(&cfg);
    check_read(pl, 2, 10, 6, 5);
    check_read(pl, 2, 12, 9, 4);
    assert_int_equal(append(pl, 2, 1, 12), 0);
    cp_plog_close(pl);
}

static void test_roll(void **state)
{
    (void)state;
    struct cp_plog_cfg cfg = cfg_default();
    cfg.segment_size = 4096;
    struct cp_plog *pl = open_ok(&cfg);
    fill(pl, 3, 100); /* ~300 records of ~40..240 bytes: many segments */
    struct cp_plog_stats st;
    cp_plog_stats(pl, &st);
    assert_true(st.segments > 5);
    for (uint64_t no = 1; no < st.segments; no++) {
        off_t s = file_size(no);
        assert_true(s > 0 && s <= 4096); /* records never span segments */
    }
    check_fill(pl, 3, 100);
    uint64_t segs = st.segments;
    cp_plog_close(pl);
    pl = open_ok(&cfg);
    cp_plog_stats(pl, &st);
    assert_int_equal(st.segments, segs);
    check_fill(pl, 3, 100);
    /* A single record larger than segment_size gets a segment of its own. */
    uint8_t big[10000];
    memset(big, 0xab, sizeof(big));
    int64_t t = cp_plog_append(pl, 1, 1000, 1, big, sizeof(big));
    assert_true(t > 0);
    cp_plog_flush(pl);
    wait_durable(pl, (uint64_t)t);
    assert_int_equal(file_size(segs + 1), (off_t)cp_plog_rec_size(sizeof(big)));
    uint8_t back[10000];
    assert_int_equal(cp_plog_read(pl, 1, 1000, back, sizeof(back), NULL), (int)sizeof(big));
    assert_memory_equal(back, big, sizeof(big));
    cp_plog_close(pl);
}

static void gc_settle(struct cp_plog *pl)
{
    uint64_t end = cp_loop_now_ms() + 5000;
    while (cp_plog_gc_pending(pl) && cp_loop_now_ms() < end)
        cp_loop_run_once(loop, 10000);
    assert_false(cp_plog_gc_pending(pl));
}

static void test_gc(void **state)
{
    (void)state;
    struct cp_plog_cfg cfg = cfg_default();
    cfg.segment_size = 2048;
    struct cp_plog *pl = open_ok(&cfg);
    fill(pl, 2, 60); /* origins 1, 2: seqs 1..120 each */
    struct cp_plog_stats st;
    cp_plog_stats(pl, &st);
    uint64_t segs = st.segments;
    assert_true(segs > 4);
    static uint64_t covered[CP_PLOG_ORIGIN_MAX + 1];
    memset(covered, 0, sizeof(covered));
    assert_int_equal(cp_plog_gc(pl, covered), 0);
    /* Origin 1 fully covered, origin 2 up to 40: only segments whose origin-2 records all
     * end at or below 40 go. */
    covered[1] = 1000;
    covered[2] = 40;
    int del = cp_plog_gc(pl, covered);
    assert_true(del > 0);
    assert_true((uint64_t)del < segs - 1);
    /* the index drops them at once, the files go by io_uring requests */
    assert_int_equal(cp_plog_read(pl, 1, 1, (uint8_t[256]){ 0 }, 256, NULL), -ENOENT);
    gc_settle(pl);
    cp_plog_stats(pl, &st);
    assert_int_equal(st.segments, segs - (uint64_t)del);
    assert_int_equal(st.segments_deleted, (uint64_t)del);
    assert_int_equal(file_size(1), -1);
    uint8_t buf[256];
    assert_int_equal(cp_plog_read(pl, 1, 1, buf, sizeof(buf), NULL), -ENOENT);
    assert_int_equal(cp_plog_read(pl, 2, 1, buf, sizeof(buf), NULL), -ENOENT);
    assert_false(cp_plog_has(pl, 2, 2));
    /* Everything above 40 of origin 2 is still there. */
    for (uint64_t s = 41; s <= 120; s++)
        check_read(pl, 2, s, s - (s + 1) % 2, 2);
    uint64_t low = cp_plog_next_seq(pl, 2, 0);
    assert_true(low >= 1 && low <= 41);
    assert_true(low > 1);
    /* Everything covered: all but the open segment go, the open one stays readable. */
    covered[2] = 1000;
    del = cp_plog_gc(pl, covered);
    assert_true(del > 0);
    gc_settle(pl);
    for (uint64_t no = 1; no < segs; no++)
        assert_int_equal(file_size(no), -1);
    cp_plog_stats(pl, &st);
    assert_int_equal(st.segments, 1);
    assert_true(cp_plog_has(pl, 1, 120));
    check_read(pl, 1, 120, 119, 2);
    assert_int_equal(cp_plog_gc(pl, covered), 0);
    cp_plog_close(pl);
    pl = open_ok(&cfg);
    assert_true(cp_plog_has(pl, 1, 120));
    assert_false(cp_plog_has(pl, 1, 1));
    cp_plog_close(pl);
}

/* Three records (origin 1, seqs 1..3) then the last one is damaged by @damage. */
static off_t three_records(void)
{
    struct cp_plog_cfg cfg = cfg_default();
    struct cp_plog *pl = open_ok(&cfg);
    append(pl, 1, 1, 1);
    append(pl, 1, 2, 1);
    off_t off = 0;
    cp_plog_flush(pl);
    wait_durable(pl, 2);
    off = file_size(1);
    append(pl, 1, 3, 1);
    cp_plog_flush(pl);
    wait_durable(pl, 3);
    cp_plog_close(pl);
    return off; /* where record 3 starts */
}

/* Record 3 survives when the damage is after it (keep is then the whole file). */
static void expect_torn(off_t keep, const char *why, bool third_kept)
{
    struct cp_plog_cfg cfg = cfg_default();
    struct cp_plog *pl = open_ok(&cfg);
    assert_int_equal(file_size(1), keep);
    assert_non_null(strstr(last_log, "torn tail"));
    assert_non_null(strstr(last_log, why));
    assert_non_null(strstr(last_log, "plog-00000000000000000001"));
    struct cp_plog_stats st;
    cp_plog_stats(pl, &st);
    assert_int_equal(st.torn_truncated, 1);
    check_read(pl, 1, 1, 1, 1);
    check_read(pl, 1, 2, 2, 1);
    assert_int_equal(cp_plog_has(pl, 1, 3), third_kept);
    /* And the log carries on where the tail was cut. */
    assert_int_equal(append(pl, 1, 3, 1), third_kept ? 0 : 1);
    assert_int_equal(append(pl, 1, 4, 1), third_kept ? 1 : 2);
    cp_plog_flush(pl);
    wait_durable(pl, third_kept ? 1 : 2);
    cp_plog_close(pl);
    pl = open_ok(&cfg);
    check_read(pl, 1, 3, 3, 1);
    check_read(pl, 1, 4, 4, 1);
    cp_plog_stats(pl, &st);
    assert_int_equal(st.torn_truncated, 0);
    cp_plog_close(pl);
}

static void test_torn_tail(void **state)
{
    (void)state;
    char p[400];
    /* Cut mid-body. */
    off_t off = three_records();
    segpath(p, 1);
    assert_int_equal(truncate(p, off + 40), 0);
    expect_torn(off, "partial record body", false);
    /* Cut mid-header. */
    each(state);
    off = three_records();
    segpath(p, 1);
    assert_int_equal(truncate(p, off + 10), 0);
    expect_torn(off, "partial record header", false);
    /* Zeros appended (a preallocated, never written tail): the end, nothing torn. */
    each(state);
    off = three_records();
    off_t end = file_size(1);
    segpath(p, 1);
    assert_int_equal(truncate(p, end + 4096), 0);
    struct cp_plog_cfg zcfg = cfg_default();
    struct cp_plog *zpl = open_ok(&zcfg);
    struct cp_plog_stats zst;
    cp_plog_stats(zpl, &zst);
    assert_int_equal(zst.torn_truncated, 0);
    assert_int_equal(logs, 0);
    assert_int_equal(file_size(1), end + 4096);
    check_read(zpl, 1, 3, 3, 1);
    assert_int_equal(append(zpl, 1, 4, 1), 1); /* written over the zeros */
    cp_plog_flush(zpl);
    wait_durable(zpl, 1);
    cp_plog_close(zpl);
    zpl = open_ok(&zcfg);
    check_read(zpl, 1, 4, 4, 1);
    cp_plog_close(zpl);
    /* Garbage appended. */
    each(state);
    off = three_records();
    end = file_size(1);
    segpath(p, 1);
    int fd = open(p, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    char junk[100];
    memset(junk, 0x5a, sizeof(junk));
    assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
    close(fd);
    expect_torn(end, "bad record header", true);
    /* The last record's frame damaged (its write torn). */
    each(state);
    off = three_records();
    flip_bit(1, off + 33);
    expect_torn(off, "frame checksum mismatch", false);
}

static void expect_euclean(const char *file, off_t off)
{
    struct cp_plog_cfg cfg = cfg_default();
    struct cp_plog *pl = NULL;
    char err[256] = "";
    assert_int_equal(cp_plog_open(loop, dir, &cfg, &pl, err), -EUCLEAN);
    assert_null(pl);
    char want[64];
    snprintf(want, sizeof(want), "offset %lld", (long long)off);
    fprintf(stderr, "expected refusal: %s\n", err);
    assert_non_null(strstr(err, file));
    assert_non_null(strstr(err, want));
}

static void test_corrupt_closed(void **state)
{
    (void)state;
    struct cp_plog_cfg cfg = cfg_default();
    cfg.segment_size = 2048;
    struct cp_plog *pl = open_ok(&cfg);
    fill(pl, 2, 40);
    cp_plog_close(pl);
    assert_true(file_size(3) > 0);
    /* The last record of closed segment 2: corruption there is never a torn tail. */
    char p[400];
    segpath(p, 2);
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    uint8_t b[4096];
    size_t n = fread(b, 1, sizeof(b), f);
    fclose(f);
    size_t off = 0, last = 0;
    while (off < n) {
        struct cp_plog_rec r;
        int sz = cp_plog_rec_decode(b + off, n - off, &r);
        assert_true(sz > 0);
        last = off;
        off += (size_t)sz;
    }
    flip_bit(2, (off_t)last + CP_PLOG_HDR + 1);
    expect_euclean("plog-00000000000000000002", (off_t)last);
    /* A header bit too, in the first record of segment 1. */
    flip_bit(2, (off_t)last + CP_PLOG_HDR + 1);
    flip_bit(1, 17);
    expect_euclean("plog-00000000000000000001", 0);
    flip_bit(1, 17);
    pl = open_ok(&cfg);
    check_fill(pl, 2, 40);
    cp_plog_close(pl);
}

static void test_corrupt_open(void **state)
{
    (void)state;
    off_t off = three_records();
    /* Record 2 (at off2) damaged with intact record 3 after it: not a tail. */
    struct cp_plog_cfg cfg = cfg_default();
    off_t off2 = off - (off_t)cp_plog_rec_size(5 + (2 * 7 + 1) % 200);
    flip_bit(1, off2 + CP_PLOG_HDR + 2);
    expect_euclean("plog-00000000000000000001", off2);
    flip_bit(1, off2 + CP_PLOG_HDR + 2);
    /* Its header instead. */
    flip_bit(1, off2 + 12);
    expect_euclean("plog-00000000000000000001", off2);
    flip_bit(1, off2 + 12);
    struct cp_plog *pl = open_ok(&cfg);
    check_read(pl, 1, 3, 3, 1);
    cp_plog_close(pl);
    /* A record damaged after loading: read reports it. */
    pl = open_ok(&cfg);
    flip_bit(1, off2 + CP_PLOG_HDR + 2);
    uint8_t buf[256];
    assert_int_equal(cp_plog_read(pl, 1, 2, buf, sizeof(buf), NULL), -EUCLEAN);
    assert_non_null(strstr(last_log, "plog-00000000000000000001"));
    struct cp_plog_stats st;
    cp_plog_stats(pl, &st);
    assert_int_equal(st.read_errors, 1);
    cp_plog_close(pl);
}

/* cfg.prealloc: each segment is zero-filled before its first record; records overwrite the
 * zeros, closed segments keep a zero tail, and reloads take zeros as the end, never as damage.
 * Damage inside the zero tail of a closed segment is still refused with file and offset. */
static void test_prealloc(void **state)
{
    (void)state;
    struct cp_plog_cfg cfg = cfg_default();
    cfg.prealloc = true;
    cfg.segment_size = 2048;
    struct cp_plog *pl = open_ok(&cfg);
    fill(pl, 2, 40);
    struct cp_plog_stats st;
    cp_plog_stats(pl, &st);
    assert_true(st.segments >= 3);
    assert_int_equal(st.prefills, st.segments);
    assert_true(st.bytes < st.segments * 2048); /* logical sizes, not the zero fill */
    cp_plog_close(pl);
    assert_int_equal(file_size(1), 2048);
    assert_int_equal(file_size(2), 2048);
    pl = open_ok(&cfg);
    cp_plog_stats(pl, &st);
    assert_int_equal(st.torn_truncated, 0);
    assert_int_equal(logs, 0);
    check_fill(pl, 2, 40);
    /* The newest segment goes on from its logical end, over its zeros. */
    uint64_t open_seg = st.segments;
    off_t before = file_size(open_seg);
    int64_t t = append(pl, 3, 1, 1);
    assert_true(t > 0);
    cp_plog_flush(pl);
    wait_durable(pl, (uint64_t)t);
    cp_plog_close(pl);
    assert_int_equal(file_size(open_seg), before);
    pl = open_ok(&cfg);
    check_fill(pl, 2, 40);
    check_read(pl, 3, 1, 1, 1);
    cp_plog_close(pl);

    /* One bit set in segment 1's zero tail: corruption of a closed segment. */
    char p[400];
    segpath(p, 1);
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    uint8_t b[2048];
    size_t n = fread(b, 1, sizeof(b), f);
    fclose(f);
    size_t off = 0;
    struct cp_plog_rec r;
    int sz;
    while (off < n && (sz = cp_plog_rec_decode(b + off, n - off, &r)) > 0)
        off += (size_t)sz;
    assert_true(off < n);
    flip_bit(1, (off_t)n - 1);
    expect_euclean("plog-00000000000000000001", (off_t)off);
    flip_bit(1, (off_t)n - 1);

    /* A record torn over the zero fill of the open segment: truncated at its start. */
    each(state);
    pl = open_ok(&cfg);
    assert_int_equal(append(pl, 1, 1, 1), 1);
    assert_int_equal(append(pl, 1, 2, 1), 2);
    cp_plog_flush(pl);
    wait_durable(pl, 2);
    cp_plog_close(pl);
    off_t third = (off_t)(cp_plog_rec_size(5 + (1 * 7 + 1) % 200) +
                          cp_plog_rec_size(5 + (2 * 7 + 1) % 200));
    pl = open_ok(&cfg);
    assert_int_equal(append(pl, 1, 3, 1), 1);
    cp_plog_flush(pl);
    wait_durable(pl, 1);
    cp_plog_close(pl);
    flip_bit(1, third + CP_PLOG_HDR + 1);
    pl = open_ok(&cfg);
    assert_non_null(strstr(last_log, "frame checksum mismatch"));
    assert_int_equal(file_size(1), third);
    check_read(pl, 1, 2, 2, 1);
    assert_false(cp_plog_has(pl, 1, 3));
    cp_plog_close(pl);
}

static void test_write_error(void **state)
{
    (void)state;
    struct cp_plog_cfg cfg = cfg_default();
    cfg.segment_size = 1024;
    struct cp_plog *pl = open_ok(&cfg);
    assert_int_equal(append(pl, 1, 1, 1), 1);
    cp_plog_flush(pl);
    wait_durable(pl, 1);
    /* The disk fills up: the write fails, nothing is durable, appends are refused. */
    fault_err = -ENOSPC;
    assert_int_equal(append(pl, 1, 2, 1), 2);
    assert_int_equal(append(pl, 1, 3, 1), 3);
    cp_plog_flush(pl);
    for (int i = 0; i < 5; i++)
        cp_loop_run_once(loop, 1000);
    assert_int_equal(cp_plog_error(pl), -ENOSPC);
    assert_int_equal(cp_plog_durable(pl), 1);
    assert_int_equal(append(pl, 1, 4, 1), -ENOSPC);
    assert_false(cp_plog_has(pl, 1, 4));
    assert_int_equal(append(pl, 1, 2, 1), 2); /* a dup of a held one is still answered */
    assert_non_null(strstr(last_log, "No space left"));
    assert_non_null(strstr(last_log, "plog-00000000000000000001"));
    check_read(pl, 1, 3, 3, 1); /* from memory */
    /* Retries keep failing, then one succeeds. */
    cp_plog_flush(pl);
    for (int i = 0; i < 5; i++)
        cp_loop_run_once(loop, 1000);
    struct cp_plog_stats st;
    cp_plog_stats(pl, &st);
    assert_int_equal(st.write_errors, 2);
    assert_int_equal(durable_calls, 1);
    fault_err = 0;
    cp_plog_flush(pl);
    wait_durable(pl, 3);
    assert_int_equal(cp_plog_error(pl), 0);
    assert_int_equal(append(pl, 1, 4, 1), 4);
    /* A failing segment creation (roll) is a write error too. */
    fault_create_err = -EIO;
    int64_t t = 0;
    for (uint64_t s = 5; s < 40; s++) {
        t = append(pl, 1, s, 1);
        assert_true(t > 0);
    }
    cp_plog_flush(pl);
    for (int i = 0; i < 50 && cp_plog_error(pl) == 0; i++) {
        cp_loop_run_once(loop, 1000);
        cp_plog_flush(pl);
    }
    assert_int_equal(cp_plog_error(pl), -EIO);
    assert_int_equal(append(pl, 1, 40, 1), -EIO);
    fault_create_err = 0;
    cp_plog_flush(pl);
    wait_durable(pl, (uint64_t)t);
    assert_int_equal(cp_plog_error(pl), 0);
    for (uint64_t s = 1; s < 40; s++)
        check_read(pl, 1, s, s, 1);
    /* Nothing is lost across close + reopen either. */
    cp_plog_close(pl);
    pl = open_ok(&cfg);
    for (uint64_t s = 1; s < 40; s++)
        check_read(pl, 1, s, s, 1);
    assert_int_equal(cp_plog_max_seq(pl, 1), 39);
    cp_plog_close(pl);
}

/* Logical end of segment @no: where its records end (its zero fill follows). */
static off_t records_end(uint64_t no)
{
    char p[400];
    static uint8_t b[1 << 16];
    segpath(p, no);
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    size_t n = fread(b, 1, sizeof(b), f), off = 0;
    fclose(f);
    struct cp_plog_rec r;
    int sz;
    while (off < n && (sz = cp_plog_rec_decode(b + off, n - off, &r)) > 0)
        off += (size_t)sz;
    return (off_t)off;
}

/* cfg.prealloc: the next segment is made ahead while the open one fills (a spare), so a roll
 * only switches files; every record reads back, before and after a reload, and close leaves
 * no spare behind. A spare that a crash left (all zeros, after a segment whose tail is torn)
 * is removed at load, and that segment's torn tail truncated: the code before the spare
 * refused it as damage in a closed segment. */
static void test_spare(void **state)
{
    (void)state;
    struct cp_plog_cfg cfg = cfg_default();
    cfg.prealloc = true;
    cfg.segment_size = 8192;
    struct cp_plog *pl = open_ok(&cfg);
    int64_t t = 0;
    for (uint64_t s = 1; s <= 200; s++) { /* one durable record at a time, as under load */
        t = append(pl, 1, s, 1);
        assert_true(t > 0);
        cp_plog_flush(pl);
        wait_durable(pl, (uint64_t)t);
    }
    struct cp_plog_stats st;
    cp_plog_stats(pl, &st);
    assert_true(st.segments >= 3);
    assert_int_equal(st.prefills, st.segments);
    /* every roll but the first one's (segment 1 is made at open) found its spare made */
    assert_true(st.spares >= st.segments - 1);
    assert_int_equal(st.spare_waits, 0);
    uint64_t last = st.segments;
    cp_plog_close(pl);
    assert_int_equal(file_size(last + 1), -1);
    assert_int_equal(logs, 0);
    pl = open_ok(&cfg);
    for (uint64_t s = 1; s <= 200; s++)
        check_read(pl, 1, s, s, 1);
    cp_plog_close(pl);

    /* What a crash leaves: the spare (zeros) and a record torn at the open segment's end. */
    char p[400];
    segpath(p, last + 1);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    static const uint8_t z[8192];
    assert_int_equal(fwrite(z, 1, sizeof(z), f), sizeof(z));
    fclose(f);
    off_t end = records_end(last);
    segpath(p, last);
    f = fopen(p, "r+b");
    assert_non_null(f);
    assert_int_equal(fseeko(f, end, SEEK_SET), 0);
    assert_int_equal(fwrite("RPLGtorn-header", 1, 15, f), 15);
    fclose(f);
    pl = open_ok(&cfg);
    cp_plog_stats(pl, &st);
    assert_int_equal(st.torn_truncated, 1);
    assert_int_equal(st.segments, last);
    assert_int_equal(file_size(last + 1), -1);
    for (uint64_t s = 1; s <= 200; s++)
        check_read(pl, 1, s, s, 1);
    t = append(pl, 1, 201, 1);
    assert_true(t > 0);
    cp_plog_flush(pl);
    wait_durable(pl, (uint64_t)t);
    cp_plog_close(pl);
    pl = open_ok(&cfg);
    check_read(pl, 1, 201, 201, 1);
    cp_plog_close(pl);
}

/* cfg.fill_piece: the spare is zero-filled a piece per flush, not in one write (a whole
 * segment at once stalled a VM's vCPUs for tens of ms as its memory faulted back in from
 * the host), and a roll that finds it unfinished writes the rest at once, waiting for
 * nothing else. Every record reads back either way, and the spares are all zeros. */
static void test_spare_paced(void **state)
{
    (void)state;
    struct cp_plog_cfg cfg = cfg_default();
    cfg.prealloc = true;
    cfg.segment_size = 64 << 10;
    cfg.fill_piece = 4096;
    struct cp_plog *pl = open_ok(&cfg);
    int64_t t = 0;
    uint64_t s = 1;
    for (; s <= 2000; s++) { /* one durable record at a time, as under load */
        t = append(pl, 1, s, 1);
        assert_true(t > 0);
        cp_plog_flush(pl);
        wait_durable(pl, (uint64_t)t);
    }
    struct cp_plog_stats st;
    cp_plog_stats(pl, &st);
    assert_true(st.segments >= 4);
    assert_true(st.spares >= st.segments - 1);
    assert_int_equal(st.spare_waits, 0);
    /* 16 pieces a spare, none of them the whole segment (the one being made: fewer) */
    assert_true(st.spare_writes >= st.spares * 16);
    assert_true(st.spare_writes <= (st.spares + 1) * 16);
    /* A burst of three segments' records, one flush: the second roll finds the spare it
     * started at the first with one piece written, and finishes it at once. */
    uint64_t spares = st.spares, writes = st.spare_writes;
    for (; s <= 3300; s++) {
        t = append(pl, 1, s, 1);
        assert_true(t > 0);
    }
    cp_plog_flush(pl);
    wait_durable(pl, (uint64_t)t);
    cp_plog_stats(pl, &st);
    assert_int_equal(cp_plog_error(pl), 0);
    assert_true(st.spare_waits >= 1);
    assert_true(st.spares >= spares + 2);
    assert_true(st.spare_writes - writes < 16 * (st.spares - spares));
    for (uint64_t q = 1; q < s; q++)
        check_read(pl, 1, q, q, 1);
    uint64_t last = st.segments;
    cp_plog_close(pl);
    assert_int_equal(file_size(last + 1), -1);
    pl = open_ok(&cfg);
    for (uint64_t q = 1; q < s; q++)
        check_read(pl, 1, q, q, 1);
    cp_plog_close(pl);
    assert_int_equal(logs, 0);
}

/* Records that outrun cfg.fill_piece (here 32 records, about 4 KiB, per flush against 4 KiB
 * pieces: 12 flushes between the spare's start at a quarter of the segment and the roll)
 * make the pieces larger, so that the fill still ends before the roll: with fixed pieces
 * every roll found the spare unfinished and wrote the rest in one write. */
static void test_spare_keeps_pace(void **state)
{
    (void)state;
    struct cp_plog_cfg cfg = cfg_default();
    cfg.prealloc = true;
    cfg.segment_size = 64 << 10;
    cfg.fill_piece = 4096;
    struct cp_plog *pl = open_ok(&cfg);
    int64_t t = 0;
    uint64_t s = 1;
    for (; s <= 4096; s++) {
        t = append(pl, 1, s, 1);
        assert_true(t > 0);
        if (s % 32 == 0) {
            cp_plog_flush(pl);
            wait_durable(pl, (uint64_t)t);
        }
    }
    struct cp_plog_stats st;
    cp_plog_stats(pl, &st);
    assert_int_equal(cp_plog_error(pl), 0);
    assert_true(st.segments >= 6);
    assert_true(st.spares >= st.segments - 1);
    assert_int_equal(st.spare_waits, 0);
    /* the pieces grew: fewer than 16 of 4 KiB a spare */
    assert_true(st.spare_writes < st.spares * 16);
    for (uint64_t q = 1; q < s; q++)
        check_read(pl, 1, q, q, 1);
    cp_plog_close(pl);
    pl = open_ok(&cfg);
    for (uint64_t q = 1; q < s; q++)
        check_read(pl, 1, q, q, 1);
    cp_plog_close(pl);
    assert_int_equal(logs, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_codec, each),
        cmocka_unit_test_setup(test_append_read, each),
        cmocka_unit_test_setup(test_group_commit, each),
        cmocka_unit_test_setup(test_reopen, each),
        cmocka_unit_test_setup(test_dup, each),
        cmocka_unit_test_setup(test_roll, each),
        cmocka_unit_test_setup(test_gc, each),
        cmocka_unit_test_setup(test_torn_tail, each),
        cmocka_unit_test_setup(test_corrupt_closed, each),
        cmocka_unit_test_setup(test_corrupt_open, each),
        cmocka_unit_test_setup(test_write_error, each),
        cmocka_unit_test_setup(test_prealloc, each),
        cmocka_unit_test_setup(test_spare, each),
        cmocka_unit_test_setup(test_spare_paced, each),
        cmocka_unit_test_setup(test_spare_keeps_pace, each),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
