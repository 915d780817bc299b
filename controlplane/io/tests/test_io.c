/* Unit + conformance tests for cp_loop, cp_disk, cp_net and cp_raftio on real files in a
 * temp dir and real loopback sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rumor_be.h"
#include "rumor_crc32c.h"
#include "cp_disk.h"
#include "cp_loop.h"
#include "cp_net.h"
#include "cp_raftio.h"
#include "cp_tls.h"

static struct cp_loop *loop;
static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    int rv = cp_loop_create(256, &loop);
    if (rv) {
        fprintf(stderr, "io_uring unavailable: %s\n", strerror(-rv));
        exit(77);
    }
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/cp-io-test-XXXXXX");
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
    for (int i = 0; i < 5; i++)
        cp_loop_run_once(loop, 1000);
    cp_loop_destroy(loop);
    return 0;
}

static void subdir(char *out, const char *name)
{
    snprintf(out, 300, "%s/%s", tmpdir, name);
}

/* Run the loop until *flag or the deadline (ms). */
static bool run_until(bool *flag, unsigned ms)
{
    uint64_t end = cp_loop_now_ms() + ms;
    while (!*flag && cp_loop_now_ms() < end)
        cp_loop_run_once(loop, 2000);
    return *flag;
}

static void run_for(unsigned ms)
{
    uint64_t end = cp_loop_now_ms() + ms;
    while (cp_loop_now_ms() < end)
        cp_loop_run_once(loop, 2000);
}

/* ---- crc ---- */

static void test_crc32c(void **state)
{
    (void)state;
    assert_int_equal(rumor_crc32c(0, "123456789", 9), 0xE3069283u);
    uint32_t a = rumor_crc32c(0, "12345", 5);
    assert_int_equal(rumor_crc32c(a, "6789", 4), 0xE3069283u);
    uint8_t zeros[32] = { 0 };
    assert_int_equal(rumor_crc32c(0, zeros, 32), 0x8A9136AAu);
}

/* ---- loop ---- */

static int fired[4];
static void timer_cb(struct cp_loop_timer *t)
{
    fired[(intptr_t)t->data]++;
}

static void test_loop_timers(void **state)
{
    (void)state;
    struct cp_loop_timer one = { .data = (void *)0 }, per = { .data = (void *)1 },
                         gone = { .data = (void *)2 };
    memset(fired, 0, sizeof(fired));
    assert_int_equal(cp_loop_timer_start(loop, &one, 20, 0, timer_cb), 0);
    assert_int_equal(cp_loop_timer_start(loop, &per, 10, 10, timer_cb), 0);
    assert_int_equal(cp_loop_timer_start(loop, &gone, 30, 0, timer_cb), 0);
    cp_loop_timer_stop(&gone);
    run_for(120);
    assert_int_equal(fired[0], 1);
    assert_in_range(fired[1], 5, 13);
    assert_int_equal(fired[2], 0);
    cp_loop_timer_stop(&per);
    int before = fired[1];
    run_for(40);
    assert_int_equal(fired[1], before);
    assert_true(cp_loop_timer_idle(&per) && cp_loop_timer_idle(&gone));
    /* Restart with an earlier deadline while armed. */
    assert_int_equal(cp_loop_timer_start(loop, &one, 1000, 0, timer_cb), 0);
    assert_int_equal(cp_loop_timer_start(loop, &one, 5, 0, timer_cb), 0);
    run_for(60);
    assert_int_equal(fired[0], 2);
}

static unsigned poll_work, poll_calls;
static unsigned poll_fn(void *arg)
{
    (void)arg;
    poll_calls++;
    if (poll_work) {
        poll_work--;
        return 1;
    }
    return 0;
}

static int hook_calls;
static void hook_fn(void *arg)
{
    (void)arg;
    hook_calls++;
}

static int deferred;
static void defer_cb(struct cp_loop_req *req, int res)
{
    (void)req;
    deferred = res;
}

static void test_loop_idle_poll(void **state)
{
    (void)state;
    assert_int_equal(cp_loop_set_idle_poll(loop, poll_fn, NULL, 0, 10), -EINVAL);
    assert_int_equal(cp_loop_set_idle_poll(loop, poll_fn, NULL, 100, 6400), 0);
    cp_loop_set_hook(loop, hook_fn, NULL);
    poll_work = 0;
    /* conditions with generous deadlines, not fixed windows: a loaded box (CI) runs fewer
     * loop turns in 20 ms than an idle one */
    uint64_t end = cp_loop_now_ms() + 2000;
    run_for(100);
    while (cp_loop_idle_interval_us(loop) != 6400 && cp_loop_now_ms() < end)
        cp_loop_run_once(loop, 2000);
    assert_int_equal(cp_loop_idle_interval_us(loop), 6400); /* grew while idle */
    poll_work = 1000000;
    poll_calls = 0;
    end = cp_loop_now_ms() + 2000;
    while (poll_calls <= 50 && cp_loop_now_ms() < end)
        cp_loop_run_once(loop, 2000);
    assert_int_equal(cp_loop_idle_interval_us(loop), 100); /* shrank under work */
    assert_true(poll_calls > 50);
    assert_true(hook_calls > 0);
    struct cp_loop_req r;
    cp_loop_defer(loop, &r, 7, defer_cb);
    assert_int_equal(deferred, 0); /* never synchronous */
    cp_loop_run_once(loop, 0);
    assert_int_equal(deferred, 7);
    cp_loop_set_idle_poll(loop, NULL, NULL, 0, 0);
    cp_loop_set_hook(loop, NULL, NULL);
}

/* A poll whose source writes the wake fd says so (cp_loop_idle_covered): after work it
 * waits for the fd (its timed poll is only a 100 ms safety net) instead of the backoff's
 * polls, and the fd runs it at once. Without a wake fd the claim is ignored. */
static int loop_covered_calls;
static unsigned poll_covered_fn(void *arg)
{
    (void)arg;
    loop_covered_calls++;
    cp_loop_idle_covered(loop);
    return 1;
}

static void test_loop_idle_covered(void **state)
{
    (void)state;
    assert_int_equal(cp_loop_set_idle_poll(loop, poll_covered_fn, NULL, 100, 1000), 0);
    loop_covered_calls = 0;
    run_for(20);
    assert_true(loop_covered_calls >= 3); /* no wake fd: polled on the backoff */
    assert_int_equal(cp_loop_idle_interval_us(loop), 100);

    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    assert_true(efd >= 0);
    assert_int_equal(cp_loop_set_idle_wake_fd(loop, efd), 0);
    int before = loop_covered_calls;
    uint64_t end = cp_loop_now_ms() + 2000;
    while (loop_covered_calls == before && cp_loop_now_ms() < end)
        cp_loop_run_once(loop, 2000);
    before = loop_covered_calls;
    run_for(50);
    assert_int_equal(loop_covered_calls, before); /* covered: no timed poll in 50 ms */
    uint64_t one = 1;
    assert_int_equal(write(efd, &one, sizeof(one)), (int)sizeof(one));
    end = cp_loop_now_ms() + 2000;
    while (loop_covered_calls == before && cp_loop_now_ms() < end)
        cp_loop_run_once(loop, 2000);
    assert_int_equal(loop_covered_calls, before + 1); /* the fd ran it */

    assert_int_equal(cp_loop_set_idle_wake_fd(loop, -1), 0);
    end = cp_loop_now_ms() + 2000;
    while (cp_loop_inflight(loop) > 0 && cp_loop_now_ms() < end)
        cp_loop_run_once(loop, 1000);
    before = loop_covered_calls;
    run_for(20);
    assert_true(loop_covered_calls >= before + 3); /* fd gone: the backoff again */
    cp_loop_set_idle_poll(loop, NULL, NULL, 0, 0);
    close(efd);
}

static int io_res = 1;
static bool io_done;
static void io_cb(struct cp_loop_req *req, int res)
{
    (void)req;
    io_res = res;
    io_done = true;
}

static void test_loop_file_ops(void **state)
{
    (void)state;
    char path[300];
    subdir(path, "f");
    struct cp_loop_req r;
    io_done = false;
    assert_int_equal(cp_loop_openat(loop, &r, AT_FDCWD, path, O_RDWR | O_CREAT, 0644, io_cb), 0);
    assert_true(run_until(&io_done, 1000));
    assert_true(io_res >= 0);
    int fd = io_res;
    char a[] = "hello ", b[] = "world";
    struct iovec iov[2] = { { a, 6 }, { b, 5 } };
    io_done = false;
    assert_int_equal(cp_loop_writev_sync(loop, &r, fd, iov, 2, 0, false, io_cb), 0);
    assert_true(run_until(&io_done, 1000));
    assert_int_equal(io_res, 0);
    io_done = false;
    assert_int_equal(cp_loop_writev_sync(loop, &r, fd, iov, 1, 11, true, io_cb), 0);
    assert_true(run_until(&io_done, 1000));
    assert_int_equal(io_res, 0);
    char buf[32] = { 0 };
    io_done = false;
    assert_int_equal(cp_loop_read(loop, &r, fd, buf, sizeof(buf), 0, io_cb), 0);
    assert_true(run_until(&io_done, 1000));
    assert_int_equal(io_res, 17);
    assert_memory_equal(buf, "hello worldhello ", 17);
    io_done = false;
    assert_int_equal(cp_loop_fsync(loop, &r, fd, false, io_cb), 0);
    assert_true(run_until(&io_done, 1000));
    assert_int_equal(io_res, 0);
    /* A failing write reports its own error through the linked pair. */
    io_done = false;
    assert_int_equal(cp_loop_writev_sync(loop, &r, -1, iov, 1, 0, false, io_cb), 0);
    assert_true(run_until(&io_done, 1000));
    assert_int_equal(io_res, -EBADF);
    close(fd);
}

/* ---- disk ---- */

static char logged[4096];
static void log_cb(void *arg, const char *msg)
{
    (void)arg;
    strncat(logged, msg, sizeof(logged) - strlen(logged) - 2);
    strcat(logged, "\n");
}

static struct cp_disk *disk_open(const char *name, size_t segsize)
{
    char path[300];
    subdir(path, name);
    struct cp_disk_cfg cfg = { .segment_size = segsize, .log = log_cb };
    struct cp_disk *d;
    char err[256];
    assert_int_equal(cp_disk_open(loop, path, &cfg, &d, err), 0);
    return d;
}

static void state_free(struct cp_disk_state *st)
{
    if (st->n_entries) {
        raft_free(st->entries[0].batch);
        raft_free(st->entries);
    }
    cp_snapshot_free(st->snapshot);
    memset(st, 0, sizeof(*st));
}

static int appended;
static void append_cb(struct cp_disk_append *req, int status)
{
    assert_int_equal(status, 0);
    appended++;
    free(req);
}

/* Entry i carries "e<i>" padded to i % 13 + 3 bytes, so lengths vary. */
static void make_entry(struct raft_entry *e, raft_index i, raft_term term)
{
    static char buf[64][32];
    char *b = buf[i % 64];
    size_t len = i % 13 + 3;
    memset(b, 'x', len);
    snprintf(b, len, "e%llu", i);
    e->term = term;
    e->type = RAFT_COMMAND;
    e->buf.base = b;
    e->buf.len = len;
    e->batch = NULL;
}

static void check_entry(const struct raft_entry *e, raft_index i, raft_term term)
{
    struct raft_entry want;
    make_entry(&want, i, term);
    assert_int_equal(e->term, term);
    assert_int_equal(e->buf.len, want.buf.len);
    assert_memory_equal(e->buf.base, want.buf.base, want.buf.len);
}

static void append_range(struct cp_disk *d, raft_index from, raft_index to, unsigned per,
                         raft_term term)
{
    int want = appended;
    for (raft_index i = from; i <= to; i += per) {
        struct raft_entry e[16];
        unsigned n = 0;
        for (raft_index j = i; j <= to && n < per; j++, n++)
            make_entry(&e[n], j, term);
        struct cp_disk_append *req = calloc(1, sizeof(*req));
        assert_int_equal(cp_disk_append(d, req, e, n, append_cb), 0);
        want++;
    }
    uint64_t end = cp_loop_now_ms() + 5000;
    while (appended < want && cp_loop_now_ms() < end)
        cp_loop_run_once(loop, 2000);
    assert_int_equal(appended, want);
}

static void test_disk_empty_and_bootstrap(void **state)
{
    (void)state;
    struct cp_disk *d = disk_open("boot", 0);
    struct cp_disk_state st;
    assert_int_equal(cp_disk_load(d, &st, NULL), 0);
    assert_int_equal(st.term, 0);
    assert_int_equal(st.n_entries, 0);
    assert_int_equal(st.start_index, 1);
    assert_null(st.snapshot);
    struct raft_configuration conf;
    raft_configuration_init(&conf);
    raft_configuration_add(&conf, 1, "127.0.0.1:1", RAFT_VOTER);
    raft_configuration_add(&conf, 2, "127.0.0.1:2", RAFT_VOTER);
    assert_int_equal(cp_disk_bootstrap(d, &conf), 0);
    assert_int_equal(cp_disk_bootstrap(d, &conf), -EEXIST);
    cp_disk_close(d);
    d = disk_open("boot", 0);
    assert_int_equal(cp_disk_bootstrap(d, &conf), -EEXIST); /* before load, too */
    assert_int_equal(cp_disk_load(d, &st, NULL), 0);
    assert_int_equal(st.term, 1);
    assert_int_equal(st.voted_for, 0);
    assert_int_equal(st.n_entries, 1);
    assert_int_equal(st.start_index, 1);
    assert_int_equal(st.entries[0].type, RAFT_CHANGE);
    struct raft_buffer enc;
    raft_configuration_encode(&conf, &enc);
    assert_int_equal(st.entries[0].buf.len, enc.len);
    assert_memory_equal(st.entries[0].buf.base, enc.base, enc.len);
    raft_free(enc.base);
    state_free(&st);
    raft_configuration_close(&conf);
    cp_disk_close(d);
}

static void test_disk_meta(void **state)
{
    (void)state;
    struct cp_disk *d = disk_open("meta", 0);
    struct cp_disk_state st;
    assert_int_equal(cp_disk_load(d, &st, NULL), 0);
    for (raft_term t = 1; t <= 5; t++)
        assert_int_equal(cp_disk_set_meta(d, t, t % 3), 0);
    cp_disk_close(d);
    d = disk_open("meta", 0);
    assert_int_equal(cp_disk_load(d, &st, NULL), 0);
    assert_int_equal(st.term, 5);
    assert_int_equal(st.voted_for, 2);
    /* Damage the newest copy: the older one (term 4) must win, with a log line. */
    cp_disk_close(d);
    char p[300];
    subdir(p, "meta/metadata2"); /* seq 5 went to metadata(5 % 2 + 1) */
    int fd = open(p, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "X", 1, 17), 1);
    close(fd);
    d = disk_open("meta", 0);
    logged[0] = 0;
    assert_int_equal(cp_disk_load(d, &st, NULL), 0);
    assert_int_equal(st.term, 4);
    assert_int_equal(st.voted_for, 1);
    assert_non_null(strstr(logged, "metadata2"));
    cp_disk_close(d);
}

static void test_disk_append_load_truncate(void **state)
{
    (void)state;
    struct cp_disk *d = disk_open("log", 600); /* small segments: many of them */
    struct cp_disk_state st;
    assert_int_equal(cp_disk_load(d, &st, NULL), 0);
    append_range(d, 1, 100, 3, 1);
    assert_int_equal(cp_disk_last_index(d), 100);
    cp_disk_close(d);
    d = disk_open("log", 600);
    assert_int_equal(cp_disk_load(d, &st, NULL), 0);
    assert_int_equal(st.n_entries, 100);
    for (raft_index i = 1; i <= 100; i++)
        check_entry(&st.entries[i - 1], i, 1);
    state_free(&st);
    /* Truncate in the middle of a 3-entry record (entries 49..51: 50 is the middle),
     * then append with a new term. */
    assert_int_equal(cp_disk_truncate(d, 50), 0);
    append_range(d, 50, 60, 4, 2);
    /* Truncate on a record boundary. */
    assert_int_equal(cp_disk_truncate(d, 58), 0);
    append_range(d, 58, 58, 1, 3);
    cp_disk_close(d);
    d = disk_open("log", 600);
    assert_int_equal(cp_disk_load(d, &st, NULL), 0);
    assert_int_equal(st.n_entries, 58);
    for (raft_index i = 1; i <= 49; i++)
        check_entry(&st.entries[i - 1], i, 1);
    for (raft_index i = 50; i <= 57; i++)
        check_entry(&st.entries[i - 1], i, 2);
    check_entry(&st.entries[57], 58, 3);
    state_free(&st);
    cp_disk_close(d);
}

static void test_disk_group_commit(void **state)
{
    (void)state;
    struct cp_disk *d = disk_open("group", 0);
    struct cp_disk_state st;
    assert_int_equal(cp_disk_load(d, &st, NULL), 0);
    int want = appended + 64;
    for (raft_index i = 1; i <= 64; i++) {
        struct raft_entry e;
        make_entry(&e, i, 1);
        struct cp_disk_append *req = calloc(1, sizeof(*req));
        assert_int_equal(cp_disk_append(d, req, &e, 1, append_cb), 0);
    }
    uint64_t end = cp_loop_now_ms() + 5000;
    while (appended < want && cp_loop_now_ms() < end)
        cp_loop_run_once(loop, 2000);
    assert_int_equal(appended, want);
    /* The first append flushes alone; everything queued meanwhile shares the next. */
    assert_in_range(cp_disk_flushes(d), 1, 2);
    cp_disk_close(d);
}

static bool snap_done;
static void snap_cb(struct cp_disk_snap_put *req, int status)
{
    (void)req;
    assert_int_equal(status, 0);
    snap_done = true;
}

static void fill_snapshot(struct raft_snapshot *s, raft_index index, struct raft_buffer *buf)
{
    memset(s, 0, sizeof(*s));
    s->index = index;
    s->term = 1;
    raft_configuration_init(&s->configuration);
    raft_configuration_add(&s->configuration, 1, "127.0.0.1:9001", RAFT_VOTER);
    raft_configuration_add(&s->configuration, 2, "127.0.0.1:9002", RAFT_STANDBY);
    s->configuration_index = 1;
    s->bufs = buf;
    s->n_bufs = 1;
}

static void test_disk_snapshot(void **state)
{
    (void)state;
    struct cp_disk *d = disk_open("snap", 400);
    struct cp_disk_state st;
    assert_int_equal(cp_disk_load(d, &st, NULL), 0);
    append_range(d, 1, 120, 2, 1);
    char data[] = "snapshot-data-1";
    struct raft_buffer buf = { data, sizeof(data) };
    struct raft_snapshot s;
    fill_snapshot(&s, 100, &buf);
    struct cp_disk_snap_put req;
    snap_done = false;
    assert_int_equal(cp_disk_snapshot_put(d, &req, 30, &s, snap_cb), 0);
    assert_false(snap_done); /* callback never synchronous */
    assert_true(run_until(&snap_done, 2000));
    struct raft_snapshot *got;
    assert_int_equal(cp_disk_snapshot_get(d, &got), 0);
    assert_non_null(got);
    assert_int_equal(got->index, 100);
    assert_int_equal(got->configuration.n, 2);
    assert_string_equal(got->configuration.servers[1].address, "127.0.0.1:9002");
    assert_int_equal(got->configuration.servers[1].role, RAFT_STANDBY);
    assert_int_equal(got->bufs[0].len, sizeof(data));
    assert_memory_equal(got->bufs[0].base, data, sizeof(data));
    cp_snapshot_free(got);
    cp_disk_close(d);
    /* After restart: the snapshot, and entries from at most 70 on (trailing 30). */
    d = disk_open("snap", 400);
    assert_int_equal(cp_disk_load(d, &st, NULL), 0);
    assert_non_null(st.snapshot);
    assert_int_equal(st.snapshot->index, 100);
    assert_true(st.start_index > 1 && st.start_index <= 71);
    assert_int_equal(st.start_index + st.n_entries - 1, 120);
    for (size_t i = 0; i < st.n_entries; i++)
        check_entry(&st.entries[i], st.start_index + i, 1);
    state_free(&st);
    /* trailing 0 (installed from a leader): the log restarts after the snapshot. */
    raft_configuration_close(&s.configuration);
    fill_snapshot(&s, 500, &buf);
    snap_done = false;
    assert_int_equal(cp_disk_snapshot_put(d, &req, 0, &s, snap_cb), 0);
    assert_true(run_until(&snap_done, 2000));
    append_range(d, 501, 505, 1, 1);
    cp_disk_close(d);
    d = disk_open("snap", 400);
    assert_int_equal(cp_disk_load(d, &st, NULL), 0);
    assert_int_equal(st.snapshot->index, 500);
    assert_int_equal(st.start_index, 501);
    assert_int_equal(st.n_entries, 5);
    check_entry(&st.entries[4], 505, 1);
    state_free(&st);
    cp_disk_close(d);
    raft_configuration_close(&s.configuration);
}

/* Every file cp_disk creates (metadata, segments, the rolled one, the snapshot) is 0600 even
 * under a permissive umask: the Raft log holds the keyring's keys (issue 14). */
static void test_disk_file_modes(void **state)
{
    (void)state;
    mode_t old = umask(0);
    struct cp_disk *d = disk_open("modes", 400);
    struct cp_disk_state st;
    assert_int_equal(cp_disk_load(d, &st, NULL), 0);
    struct raft_configuration conf;
    raft_configuration_init(&conf);
    assert_int_equal(raft_configuration_add(&conf, 1, "127.0.0.1:9001", RAFT_VOTER), 0);
    assert_int_equal(cp_disk_bootstrap(d, &conf), 0);
    raft_configuration_close(&conf);
    assert_int_equal(cp_disk_set_meta(d, 2, 1), 0);
    append_range(d, 2, 80, 2, 2); /* small segments: several rolls */
    char data[] = "snapshot-data-modes";
    struct raft_buffer buf = { data, sizeof(data) };
    struct raft_snapshot s;
    fill_snapshot(&s, 60, &buf);
    struct cp_disk_snap_put req;
    snap_done = false;
    assert_int_equal(cp_disk_snapshot_put(d, &req, 10, &s, snap_cb), 0);
    assert_true(run_until(&snap_done, 2000));
    raft_configuration_close(&s.configuration);
    cp_disk_close(d);
    umask(old);
    char path[300];
    subdir(path, "modes");
    DIR *dir = opendir(path);
    assert_non_null(dir);
    unsigned files = 0;
    for (struct dirent *de; (de = readdir(dir)) != NULL;) {
        struct stat sb;
        if (de->d_name[0] == '.')
            continue;
        assert_int_equal(fstatat(dirfd(dir), de->d_name, &sb, 0), 0);
        if (!S_ISREG(sb.st_mode))
            continue;
        if ((sb.st_mode & 07777) != 0600)
            fail_msg("%s: mode %04o, want 0600", de->d_name, (unsigned)(sb.st_mode & 07777));
        files++;
    }
    closedir(dir);
    assert_true(files >= 4); /* metadata, segments, snapshot */
}

static void put_snapshot(struct cp_disk *d, raft_index index, struct raft_buffer *buf)
{
    struct raft_snapshot s;
    struct cp_disk_snap_put req;
    fill_snapshot(&s, index, buf);
    snap_done = false;
    assert_int_equal(cp_disk_snapshot_put(d, &req, 30, &s, snap_cb), 0);
    assert_true(run_until(&snap_done, 2000));
    raft_configuration_close(&s.configuration);
}

/* A damaged newest snapshot: load falls back to the older one kept (and says so); with no
 * snapshot at all under a log that starts late, load refuses with a message instead of
 * handing libraft a log it asserts on. */
static void test_disk_snapshot_fallback(void **state)
{
    (void)state;
    char path[300], file[400], err[256];
    char data[] = "snapshot-data-2";
    struct raft_buffer buf = { data, sizeof(data) };
    struct cp_disk_state st;
    struct cp_disk *d = disk_open("snapfb", 400);
    assert_int_equal(cp_disk_load(d, &st, NULL), 0);
    append_range(d, 1, 120, 2, 1);
    put_snapshot(d, 100, &buf);
    put_snapshot(d, 110, &buf);
    cp_disk_close(d);
    subdir(path, "snapfb");
    snprintf(file, sizeof(file), "%s/snap-%020d", path, 110);
    int fd = open(file, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, 60), 1);
    b ^= 0x10;
    assert_int_equal(pwrite(fd, &b, 1, 60), 1);
    close(fd);
    logged[0] = 0;
    d = disk_open("snapfb", 400);
    assert_int_equal(cp_disk_load(d, &st, err), 0);
    assert_non_null(st.snapshot);
    assert_int_equal(st.snapshot->index, 100);
    assert_non_null(strstr(logged, "falling back to the older snapshot 100"));
    assert_true(st.start_index <= 101);
    assert_int_equal(st.start_index + st.n_entries - 1, 120);
    state_free(&st);
    cp_disk_close(d);
    snprintf(file, sizeof(file), "%s/corrupt-snap-%020d", path, 110);
    assert_int_equal(access(file, F_OK), 0);
    /* both snapshots gone, the log starts after index 1 */
    snprintf(file, sizeof(file), "%s/snap-%020d", path, 100);
    assert_int_equal(unlink(file), 0);
    d = disk_open("snapfb", 400);
    assert_int_equal(cp_disk_load(d, &st, err), -EBADMSG);
    assert_non_null(strstr(err, "there is no snapshot"));
    cp_disk_close(d);
}

/* A 64 MiB snapshot put must not stall the loop: a 1 ms periodic timer keeps firing while
 * it is written, and an append submitted after it (trailing > 0) completes before it. */
static int ticks;
static uint64_t last_tick_us, max_gap_us;
static void tick_cb(struct cp_loop_timer *t)
{
    (void)t;
    uint64_t now = cp_loop_now_us();
    if (ticks > 0 && now - last_tick_us > max_gap_us)
        max_gap_us = now - last_tick_us;
    last_tick_us = now;
    ticks++;
}

static int ticks_at_snap, appended_at_snap;
static void big_snap_cb(struct cp_disk_snap_put *req, int status)
{
    (void)req;
    assert_int_equal(status, 0);
    ticks_at_snap = ticks;
    appended_at_snap = appended;
    snap_done = true;
}

static void test_disk_snapshot_loop_serves(void **state)
{
    (void)state;
    struct cp_disk *d = disk_open("bigsnap", 0);
    struct cp_disk_state st;
    assert_int_equal(cp_disk_load(d, &st, NULL), 0);
    append_range(d, 1, 20, 1, 1);
    size_t len = 64u << 20;
    uint8_t *data = malloc(len);
    assert_non_null(data);
    for (size_t i = 0; i < len; i += 8) {
        uint64_t v = i * 0x9E3779B97F4A7C15ull;
        memcpy(data + i, &v, 8);
    }
    struct raft_buffer buf = { data, len };
    struct raft_snapshot s;
    fill_snapshot(&s, 15, &buf);
    struct cp_loop_timer timer = { 0 };
    ticks = 0;
    max_gap_us = 0;
    assert_int_equal(cp_loop_timer_start(loop, &timer, 1, 1, tick_cb), 0);
    run_for(5);
    int ticks0 = ticks, appended0 = appended;
    uint64_t t0 = cp_loop_now_us();
    struct cp_disk_snap_put req;
    snap_done = false;
    assert_int_equal(cp_disk_snapshot_put(d, &req, 5, &s, big_snap_cb), 0);
    struct raft_entry e;
    make_entry(&e, 21, 1);
    struct cp_disk_append *areq = calloc(1, sizeof(*areq));
    assert_int_equal(cp_disk_append(d, areq, &e, 1, append_cb), 0);
    assert_true(run_until(&snap_done, 30000));
    uint64_t el = cp_loop_now_us() - t0;
    int during = ticks_at_snap - ticks0;
    run_for(5); /* a stall shows as the gap up to the next firing */
    print_message("64 MiB snapshot put: %llu ms, %d timer firings (1 ms period) before its "
                  "callback, longest gap between firings %llu ms, append after it done "
                  "first: %s\n", (unsigned long long)(el / 1000), during,
                  (unsigned long long)(max_gap_us / 1000),
                  appended_at_snap > appended0 ? "yes" : "no");
    cp_loop_timer_stop(&timer);
    run_for(3);
    assert_true(cp_loop_timer_idle(&timer));
    assert_true(during >= 5);
    assert_true(appended_at_snap > appended0); /* trailing > 0: appends do not wait */
    struct raft_snapshot *got;
    assert_int_equal(cp_disk_snapshot_get(d, &got), 0);
    assert_non_null(got);
    assert_int_equal(got->index, 15);
    assert_int_equal(got->bufs[0].len, len);
    assert_memory_equal(got->bufs[0].base, data, len);
    cp_snapshot_free(got);
    cp_disk_close(d);
    free(data);
    raft_configuration_close(&s.configuration);
    d = disk_open("bigsnap", 0);
    assert_int_equal(cp_disk_load(d, &st, NULL), 0);
    assert_non_null(st.snapshot);
    assert_int_equal(st.snapshot->index, 15);
    assert_int_equal(st.start_index + st.n_entries - 1, 21);
    state_free(&st);
    cp_disk_close(d);
}

/* Ordering around asynchronous snapshot puts: appends after a trailing > 0 put proceed, a
 * truncate after it waits for it, a trailing == 0 put holds back the appends after it. */
static void test_disk_snapshot_ordering(void **state)
{
    (void)state;
    struct cp_disk *d = disk_open("snaporder", 400);
    struct cp_disk_state st;
    assert_int_equal(cp_disk_load(d, &st, NULL), 0);
    append_range(d, 1, 50, 2, 1);
    size_t len = 4u << 20;
    uint8_t *data = malloc(len);
    assert_non_null(data);
    memset(data, 0x5a, len);
    struct raft_buffer buf = { data, len };
    struct raft_snapshot s1, s2;
    fill_snapshot(&s1, 40, &buf);
    fill_snapshot(&s2, 58, &buf);
    struct cp_disk_snap_put r1, r2;
    int want = appended;
    snap_done = false;
    assert_int_equal(cp_disk_snapshot_put(d, &r1, 5, &s1, snap_cb), 0);
    for (raft_index i = 51; i <= 60; i++) {
        struct raft_entry e;
        make_entry(&e, i, 1);
        assert_int_equal(cp_disk_append(d, calloc(1, sizeof(struct cp_disk_append)), &e, 1,
                                        append_cb), 0);
        want++;
    }
    /* Truncate 55.. and rewrite it with term 2: must wait for the snapshot, then for the
     * appends before it. */
    assert_int_equal(cp_disk_truncate(d, 55), 0);
    for (raft_index i = 55; i <= 58; i++) {
        struct raft_entry e;
        make_entry(&e, i, 2);
        assert_int_equal(cp_disk_append(d, calloc(1, sizeof(struct cp_disk_append)), &e, 1,
                                        append_cb), 0);
        want++;
    }
    assert_int_equal(cp_disk_last_index(d), 58);
    assert_true(run_until(&snap_done, 10000));
    uint64_t end = cp_loop_now_ms() + 5000;
    while (appended < want && cp_loop_now_ms() < end)
        cp_loop_run_once(loop, 2000);
    assert_int_equal(appended, want);
    assert_true(cp_disk_idle(d));
    cp_disk_close(d);
    d = disk_open("snaporder", 400);
    assert_int_equal(cp_disk_load(d, &st, NULL), 0);
    assert_int_equal(st.snapshot->index, 40);
    assert_true(st.start_index <= 36);
    assert_int_equal(st.start_index + st.n_entries - 1, 58);
    for (raft_index i = st.start_index; i <= 58; i++)
        check_entry(&st.entries[i - st.start_index], i, i >= 55 ? 2 : 1);
    state_free(&st);
    /* trailing 0: the appends after it wait, then start a new log at 59. */
    snap_done = false;
    want = appended;
    assert_int_equal(cp_disk_snapshot_put(d, &r2, 0, &s2, snap_cb), 0);
    struct raft_entry e;
    make_entry(&e, 59, 3);
    assert_int_equal(cp_disk_append(d, calloc(1, sizeof(struct cp_disk_append)), &e, 1,
                                    append_cb), 0);
    while (!snap_done && cp_loop_now_ms() < end + 10000) {
        cp_loop_run_once(loop, 2000);
        assert_true(snap_done || appended == want); /* not before the snapshot */
    }
    assert_true(snap_done);
    end = cp_loop_now_ms() + 5000;
    while (appended < want + 1 && cp_loop_now_ms() < end)
        cp_loop_run_once(loop, 2000);
    assert_int_equal(appended, want + 1);
    cp_disk_close(d);
    d = disk_open("snaporder", 400);
    assert_int_equal(cp_disk_load(d, &st, NULL), 0);
    assert_int_equal(st.snapshot->index, 58);
    assert_int_equal(st.start_index, 59);
    assert_int_equal(st.n_entries, 1);
    check_entry(&st.entries[0], 59, 3);
    state_free(&st);
    cp_disk_close(d);
    /* Only two snapshot files are kept. */
    char path[300], file[400];
    subdir(path, "snaporder");
    snprintf(file, sizeof(file), "%s/snap-%020d", path, 40);
    assert_int_equal(access(file, F_OK), 0);
    snprintf(file, sizeof(file), "%s/snap-%020d", path, 58);
    assert_int_equal(access(file, F_OK), 0);
    free(data);
    raft_configuration_close(&s1.configuration);
    raft_configuration_close(&s2.configuration);
}

static void test_disk_corruption(void **state)
{
    (void)state;
    struct cp_disk *d = disk_open("corrupt", 300);
    struct cp_disk_state st;
    assert_int_equal(cp_disk_load(d, &st, NULL), 0);
    append_range(d, 1, 60, 2, 1);
    cp_disk_close(d);
    /* Flip a byte inside the second record of the first (closed) segment. */
    char p[300];
    subdir(p, "corrupt/seg-00000000000000000001");
    int fd = open(p, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, 90), 1);
    b ^= 0x40;
    assert_int_equal(pwrite(fd, &b, 1, 90), 1);
    close(fd);
    d = disk_open("corrupt", 300);
    char err[256] = "";
    int rv = cp_disk_load(d, &st, err);
    assert_true(rv == -EUCLEAN || rv == -EBADMSG);
    assert_non_null(strstr(err, "seg-00000000000000000001"));
    assert_non_null(strstr(err, "offset"));
    cp_disk_close(d);
    /* Restore it, then tear the open (last) segment in the middle of its last record. */
    fd = open(p, O_RDWR);
    b ^= 0x40;
    assert_int_equal(pwrite(fd, &b, 1, 90), 1);
    close(fd);
    d = disk_open("corrupt", 300);
    assert_int_equal(cp_disk_load(d, &st, NULL), 0);
    assert_int_equal(st.n_entries, 60);
    state_free(&st);
    cp_disk_close(d);
    char last[300] = "";
    for (raft_index i = 60; i >= 1; i--) {
        char q[300];
        snprintf(q, sizeof(q), "%s/corrupt/seg-%020llu", tmpdir, i);
        if (access(q, F_OK) == 0) {
            strcpy(last, q);
            break;
        }
    }
    assert_true(last[0] != 0);
    struct stat sb;
    assert_int_equal(stat(last, &sb), 0);
    assert_int_equal(truncate(last, sb.st_size - 5), 0);
    d = disk_open("corrupt", 300);
    logged[0] = 0;
    assert_int_equal(cp_disk_load(d, &st, NULL), 0);
    assert_int_equal(st.n_entries, 58); /* the torn 2-entry record is gone */
    assert_non_null(strstr(logged, "torn tail"));
    state_free(&st);
    append_range(d, 59, 60, 2, 1); /* appends continue where the tail was cut */
    cp_disk_close(d);
    /* Zeroed tail (a preallocated or half-flushed sector). */
    fd = open(last, O_WRONLY | O_APPEND);
    uint8_t zeros[512] = { 0 };
    assert_int_equal(write(fd, zeros, sizeof(zeros)), 512);
    close(fd);
    d = disk_open("corrupt", 300);
    logged[0] = 0;
    assert_int_equal(cp_disk_load(d, &st, NULL), 0);
    assert_int_equal(st.n_entries, 60);
    assert_non_null(strstr(logged, "zeroed tail"));
    state_free(&st);
    cp_disk_close(d);
    /* A damaged header in the middle of the open segment, with intact records after it,
     * is corruption: refuse instead of dropping the records that follow. */
    fd = open(last, O_RDWR);
    assert_int_equal(pread(fd, &b, 1, 9), 1); /* first record's index field */
    b ^= 0x01;
    assert_int_equal(pwrite(fd, &b, 1, 9), 1);
    close(fd);
    d = disk_open("corrupt", 300);
    err[0] = 0;
    rv = cp_disk_load(d, &st, err);
    assert_int_equal(rv, -EUCLEAN);
    assert_non_null(strstr(err, "offset 0"));
    assert_non_null(strstr(err, last + strlen(tmpdir) + 9));
    cp_disk_close(d);
}

/* ---- net ---- */

struct net_rx {
    int raft, app;
    uint16_t last_type;
    char last[64];
    uint64_t from;
    int up, down;
};

static void rx_raft(void *arg, uint64_t from, const uint8_t *p, size_t len)
{
    struct net_rx *r = arg;
    r->raft++;
    r->from = from;
    snprintf(r->last, sizeof(r->last), "%.*s", (int)len, (const char *)p);
}

static void rx_app(void *arg, uint64_t from, uint16_t t, const uint8_t *p, size_t len)
{
    struct net_rx *r = arg;
    r->app++;
    r->from = from;
    r->last_type = t;
    snprintf(r->last, sizeof(r->last), "%.*s", (int)len, (const char *)p);
}

static void rx_up(void *arg, uint64_t id)
{
    (void)id;
    ((struct net_rx *)arg)->up++;
}

static void rx_down(void *arg, uint64_t id, int err)
{
    (void)id;
    (void)err;
    ((struct net_rx *)arg)->down++;
}

static bool closed_flag;
static void closed(void *arg)
{
    (void)arg;
    closed_flag = true;
}

/* With tls_on, net_new gives node id the TLS context tls_for[id] (certificate of node id
 * unless a test swaps them). */
static bool tls_on;
static struct cp_tls_ctx *tls_for[8];

static struct cp_net *net_new(uint64_t cluster, uint64_t id, struct net_rx *rx,
                              unsigned max_msgs)
{
    struct cp_net_cfg cfg = { .cluster_id = cluster, .self_id = id,
                              .listen_addr = "127.0.0.1:0", .max_queue_msgs = max_msgs,
                              .backoff_min_ms = 10, .backoff_max_ms = 50,
                              .tls = tls_on && id < 8 ? tls_for[id] : NULL };
    struct cp_net_cbs cbs = { .arg = rx, .raft = rx_raft, .app = rx_app, .peer_up = rx_up,
                              .peer_down = rx_down };
    struct cp_net *n;
    assert_int_equal(cp_net_create(loop, &cfg, &cbs, &n, NULL), 0);
    return n;
}

static void net_close_wait(struct cp_net *n)
{
    closed_flag = false;
    cp_net_close(n, closed, NULL);
    assert_true(run_until(&closed_flag, 2000));
}

static bool all_done;
static int sent_ok, sent_fail;
static void sent_cb(struct cp_net_send_req *req, int status)
{
    (void)req;
    if (status == 0)
        sent_ok++;
    else
        sent_fail++;
}

static void test_net_basic(void **state)
{
    (void)state;
    struct net_rx ra = { 0 }, rb = { 0 };
    struct cp_net *a = net_new(7, 1, &ra, 0), *b = net_new(7, 2, &rb, 0);
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", cp_net_port(b));
    assert_int_equal(cp_net_add_peer(a, 2, addr), 0);
    assert_int_equal(cp_net_add_peer(a, 1, addr), -EINVAL); /* self */
    all_done = false;
    while (!cp_net_connected(a, 2) && !all_done) {
        cp_loop_run_once(loop, 2000);
        all_done = ra.up > 0;
    }
    assert_int_equal(ra.up, 1);
    struct iovec iov[2] = { { "hello ", 6 }, { "raft", 4 } };
    struct cp_net_send_req sr[100];
    sent_ok = 0;
    for (int i = 0; i < 100; i++) {
        sr[i].cb = sent_cb;
        assert_int_equal(cp_net_send(a, 2, i == 99 ? CP_NET_APP : CP_NET_RAFT, 9, iov, 2,
                                     &sr[i]), 0);
    }
    assert_int_equal(cp_net_send(a, 3, CP_NET_RAFT, 0, iov, 1, NULL), -ENOENT);
    assert_int_equal(cp_net_send(a, 2, 77, 0, iov, 1, NULL), -EINVAL);
    uint64_t end = cp_loop_now_ms() + 2000;
    while (rb.app == 0 && cp_loop_now_ms() < end)
        cp_loop_run_once(loop, 2000);
    assert_int_equal(rb.raft, 99);
    assert_int_equal(rb.app, 1);
    assert_int_equal(rb.last_type, 9);
    assert_int_equal(rb.from, 1);
    assert_string_equal(rb.last, "hello raft");
    assert_int_equal(sent_ok, 100);
    /* b goes away: a sees the loss (peer_down) and keeps retrying. */
    net_close_wait(b);
    end = cp_loop_now_ms() + 2000;
    while (ra.down == 0 && cp_loop_now_ms() < end)
        cp_loop_run_once(loop, 2000);
    assert_int_equal(ra.down, 1);
    net_close_wait(a);
}

static void test_net_handshake_reject(void **state)
{
    (void)state;
    struct net_rx ra = { 0 }, rb = { 0 }, rc = { 0 };
    struct cp_net *a = net_new(7, 1, &ra, 0), *b = net_new(8, 2, &rb, 0),
                  *c = net_new(7, 3, &rc, 0);
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", cp_net_port(b));
    assert_int_equal(cp_net_add_peer(a, 2, addr), 0); /* other cluster */
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", cp_net_port(c));
    assert_int_equal(cp_net_add_peer(a, 4, addr), 0); /* c is node 3, not 4 */
    run_for(200);
    assert_false(cp_net_connected(a, 2));
    assert_false(cp_net_connected(a, 4));
    assert_int_equal(ra.up, 0);
    net_close_wait(a);
    net_close_wait(b);
    net_close_wait(c);
}

static void test_net_backpressure(void **state)
{
    (void)state;
    struct net_rx ra = { 0 };
    struct cp_net *a = net_new(7, 1, &ra, 8);
    /* A plain listener that never answers the handshake: the TCP connect succeeds (the
     * kernel accepts into the backlog), so messages queue until the bound is hit. */
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_storage ss;
    socklen_t len;
    assert_int_equal(cp_net_parse_addr("127.0.0.1:0", &ss, &len), 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&ss, len), 0);
    assert_int_equal(listen(lfd, 4), 0);
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);
    getsockname(lfd, (struct sockaddr *)&sin, &sl);
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sin.sin_port));
    assert_int_equal(cp_net_add_peer(a, 2, addr), 0);
    run_for(30); /* connected, handshake pending forever: messages queue */
    struct iovec iov = { "x", 1 };
    struct cp_net_send_req sr[20];
    int ok = 0, again = 0;
    sent_ok = sent_fail = 0;
    for (int i = 0; i < 20; i++) {
        sr[i].cb = sent_cb;
        int rv = cp_net_send(a, 2, CP_NET_RAFT, 0, &iov, 1, &sr[i]);
        if (rv == 0)
            ok++;
        else if (rv == -EAGAIN)
            again++;
    }
    assert_int_equal(ok, 8);
    assert_int_equal(again, 12);
    assert_int_equal(cp_net_queued(a, 2), 8);
    close(lfd);
    net_close_wait(a);
    assert_int_equal(sent_fail, 8); /* every queued message completed, none leaked */
    assert_int_equal(sent_ok, 0);
}

/* ---- net: hostile inbound peers ---- */

static struct cp_net *net_new_cfg(const struct cp_net_cfg *over, struct net_rx *rx)
{
    struct cp_net_cfg cfg = *over;
    cfg.listen_addr = "127.0.0.1:0";
    cfg.backoff_min_ms = 10;
    cfg.backoff_max_ms = 50;
    struct cp_net_cbs cbs = { .arg = rx, .raft = rx_raft, .app = rx_app, .peer_up = rx_up,
                              .peer_down = rx_down };
    struct cp_net *n;
    assert_int_equal(cp_net_create(loop, &cfg, &cbs, &n, NULL), 0);
    return n;
}

/* A plain TCP client of net's port from source address src ("127.0.0.x"), or -1. */
static int raw_connect_from(const struct cp_net *net, const char *src)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = { .sin_family = AF_INET };
    if (src) {
        inet_pton(AF_INET, src, &sin.sin_addr);
        assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    }
    sin.sin_port = htons((uint16_t)cp_net_port(net));
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    return fd;
}

/* The server closed fd: EOF or reset, without blocking. */
static bool raw_closed(int fd)
{
    char b[64];
    ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

static struct cp_net_stats net_stats(const struct cp_net *n)
{
    struct cp_net_stats st;
    cp_net_get_stats(n, &st);
    return st;
}

/* Run the loop until net's inbound count is `want` (or 1 s passed). */
static void run_until_inbound(const struct cp_net *n, unsigned want)
{
    uint64_t end = cp_loop_now_ms() + 1000;
    while (net_stats(n).inbound != want && cp_loop_now_ms() < end)
        cp_loop_run_once(loop, 10000);
}

static void test_net_prehandshake_bound(void **state)
{
    (void)state;
    struct net_rx rb = { 0 }, ra = { 0 };
    struct cp_net_cfg cfg = { .cluster_id = 7, .self_id = 2 };
    struct cp_net *b = net_new_cfg(&cfg, &rb);
    /* a header declaring 1 MiB before any HELLO: closed on the header alone */
    int big = raw_connect_from(b, NULL);
    uint8_t h[CP_NET_HDR] = { 0 };
    uint32_t len = 1u << 20;
    rumor_be_st32(h, len);
    h[8] = CP_NET_RAFT;
    assert_int_equal(send(big, h, sizeof(h), 0), (ssize_t)sizeof(h));
    /* a HELLO-sized frame of the wrong type, and 4 KiB of junk */
    int wrong = raw_connect_from(b, NULL), junk = raw_connect_from(b, NULL);
    len = 32;
    rumor_be_st32(h, len);
    assert_int_equal(send(wrong, h, sizeof(h), 0), (ssize_t)sizeof(h));
    uint8_t j[4096];
    memset(j, 0xab, sizeof(j));
    assert_int_equal(send(junk, j, sizeof(j), 0), (ssize_t)sizeof(j));
    run_for(100);
    struct cp_net_stats st = net_stats(b);
    assert_int_equal(st.prehandshake_oversize, 2); /* 1 MiB, and 0xabababab bytes */
    assert_int_equal(st.bad_hello, 1);
    assert_int_equal(st.inbound, 0);
    assert_true(raw_closed(big));
    assert_true(raw_closed(wrong));
    assert_true(raw_closed(junk));
    close(big);
    close(wrong);
    close(junk);
    /* a real peer still gets in, and frames after the handshake may be large */
    struct cp_net *a = net_new(7, 1, &ra, 0);
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", cp_net_port(b));
    assert_int_equal(cp_net_add_peer(a, 2, addr), 0);
    uint64_t end = cp_loop_now_ms() + 2000;
    while (!cp_net_connected(a, 2) && cp_loop_now_ms() < end)
        cp_loop_run_once(loop, 10000);
    assert_true(cp_net_connected(a, 2));
    static char payload[200000];
    memset(payload, 'p', sizeof(payload));
    struct iovec iov = { payload, sizeof(payload) };
    struct cp_net_send_req sr = { .cb = sent_cb };
    sent_ok = 0;
    assert_int_equal(cp_net_send(a, 2, CP_NET_RAFT, 0, &iov, 1, &sr), 0);
    end = cp_loop_now_ms() + 2000;
    while (rb.raft == 0 && cp_loop_now_ms() < end)
        cp_loop_run_once(loop, 10000);
    assert_int_equal(rb.raft, 1);
    st = net_stats(b);
    assert_int_equal(st.inbound, 1);
    assert_int_equal(st.inbound_pending, 0);
    assert_int_equal(st.bad_frames, 0);
    net_close_wait(a);
    net_close_wait(b);
}

static void test_net_handshake_timeout(void **state)
{
    (void)state;
    struct net_rx rb = { 0 };
    struct cp_net_cfg cfg = { .cluster_id = 7, .self_id = 2, .handshake_timeout_ms = 200 };
    struct cp_net *b = net_new_cfg(&cfg, &rb);
    int idle = raw_connect_from(b, NULL), part = raw_connect_from(b, NULL);
    uint8_t h[20] = { 0 }; /* a HELLO header and 8 bytes of it, never the rest */
    rumor_be_st32(h, 32);
    h[8] = 1;
    assert_int_equal(send(part, h, sizeof(h), 0), (ssize_t)sizeof(h));
    run_for(100);
    struct cp_net_stats st = net_stats(b);
    assert_int_equal(st.inbound, 2);
    assert_int_equal(st.inbound_pending, 2);
    assert_false(raw_closed(idle));
    run_for(250);
    st = net_stats(b);
    assert_int_equal(st.handshake_timeouts, 2);
    assert_int_equal(st.inbound, 0);
    assert_int_equal(st.inbound_pending, 0);
    assert_true(raw_closed(idle));
    assert_true(raw_closed(part));
    close(idle);
    close(part);
    net_close_wait(b);
}

static void test_net_inbound_caps(void **state)
{
    (void)state;
    struct net_rx rb = { 0 }, ra = { 0 };
    struct cp_net_cfg cfg = { .cluster_id = 7, .self_id = 2, .max_inbound = 5,
                              .max_inbound_per_addr = 3 };
    struct cp_net *b = net_new_cfg(&cfg, &rb);
    int fds[8];
    for (int i = 0; i < 4; i++) /* 3 kept, the 4th from the same address closed */
        fds[i] = raw_connect_from(b, "127.0.0.1");
    run_until_inbound(b, 3);
    run_for(50);
    struct cp_net_stats st = net_stats(b);
    assert_int_equal(st.inbound, 3);
    assert_int_equal(st.refused_addr, 1);
    assert_true(raw_closed(fds[3]));
    for (int i = 4; i < 7; i++) /* another address: 2 fit under the total of 5 */
        fds[i] = raw_connect_from(b, "127.0.0.2");
    run_until_inbound(b, 5);
    run_for(50);
    st = net_stats(b);
    assert_int_equal(st.inbound, 5);
    assert_int_equal(st.refused_total, 1);
    assert_int_equal(st.accepted, 5);
    assert_true(raw_closed(fds[6]));
    assert_false(raw_closed(fds[0]));
    for (int i = 0; i < 7; i++)
        close(fds[i]);
    run_until_inbound(b, 0);
    assert_int_equal(net_stats(b).inbound, 0);
    /* slots freed: a real peer connects */
    struct cp_net *a = net_new(7, 1, &ra, 0);
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", cp_net_port(b));
    assert_int_equal(cp_net_add_peer(a, 2, addr), 0);
    uint64_t end = cp_loop_now_ms() + 2000;
    while (!cp_net_connected(a, 2) && cp_loop_now_ms() < end)
        cp_loop_run_once(loop, 10000);
    assert_true(cp_net_connected(a, 2));
    net_close_wait(a);
    net_close_wait(b);
}

/* Out of descriptors: accept fails with EMFILE. The loop must neither spin (re-arming an
 * accept that fails at once) nor leave the peers hanging, and must accept again once
 * descriptors are free. */
static void test_net_emfile(void **state)
{
    (void)state;
    struct net_rx rb = { 0 };
    struct cp_net_cfg cfg = { .cluster_id = 7, .self_id = 2 };
    struct cp_net *b = net_new_cfg(&cfg, &rb);
    run_for(10);
    int cl[4];
    for (int i = 0; i < 4; i++) /* the clients' own descriptors come first */
        cl[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    int probe = open("/dev/null", O_RDONLY);
    assert_true(probe >= 0);
    close(probe);
    low = old;
    low.rlim_cur = (rlim_t)probe + 32;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    /* io_uring takes the limit when an accept is queued: one connection gets the accept
     * in flight re-queued under the low limit */
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)cp_net_port(b)) };
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    assert_int_equal(connect(cl[0], (struct sockaddr *)&sin, sizeof(sin)), 0);
    run_until_inbound(b, 1);
    int fill[64], nfill = 0;
    while (nfill < 64 && (fill[nfill] = open("/dev/null", O_RDONLY)) >= 0)
        nfill++;
    int fill_errno = errno;
    for (int i = 1; i < 3; i++)
        connect(cl[i], (struct sockaddr *)&sin, sizeof(sin));
    /* 500 ms with waits of up to 100 ms: a spinning accept would make thousands of turns */
    unsigned turns = 0;
    uint64_t end = cp_loop_now_ms() + 500;
    while (cp_loop_now_ms() < end) {
        cp_loop_run_once(loop, 100000);
        turns++;
    }
    /* a loaded box may need longer than 500 ms to shed both (not counted as turns) */
    struct cp_net_stats st = net_stats(b);
    end = cp_loop_now_ms() + 5000;
    while (st.shed_nofd < 2 && cp_loop_now_ms() < end) {
        cp_loop_run_once(loop, 100000);
        st = net_stats(b);
    }
    bool closed1 = raw_closed(cl[1]), closed2 = raw_closed(cl[2]);
    /* descriptors free again (before any assert: later tests need them) */
    for (int i = 0; i < nfill; i++)
        close(fill[i]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    print_message("EMFILE: %u loop turns in 500 ms, accept_nofd %llu, shed %llu, backoffs %llu\n",
                  turns, (unsigned long long)st.accept_nofd, (unsigned long long)st.shed_nofd,
                  (unsigned long long)st.accept_backoffs);
    assert_true(nfill < 64); /* the table was full */
    assert_int_equal(fill_errno, EMFILE);
    assert_true(turns < 100);
    assert_true(st.accept_nofd >= 1);
    assert_int_equal(st.shed_nofd, 2); /* both clients got a close, not a hang */
    assert_true(closed1);
    assert_true(closed2);
    assert_int_equal(st.inbound, 1); /* the first one, accepted before the table filled */
    /* the next connection is accepted (within a backoff) */
    assert_int_equal(connect(cl[3], (struct sockaddr *)&sin, sizeof(sin)), 0);
    run_until_inbound(b, 2);
    st = net_stats(b);
    assert_int_equal(st.inbound, 2);
    assert_int_equal(st.accepted, 2);
    assert_false(raw_closed(cl[3]));
    for (int i = 0; i < 4; i++)
        close(cl[i]);
    net_close_wait(b);
}

/* ---- raft message codec ---- */

/* ---- net over TLS ---- */

static char certdir[300];

static struct cp_tls_ctx *tls_ctx(const char *sub, int id)
{
    char crt[400], key[400], ca[400], e[256];
    struct cp_tls_ctx *c = NULL;
    snprintf(crt, sizeof(crt), "%s/%s/node-%d.crt", certdir, sub, id);
    snprintf(key, sizeof(key), "%s/%s/node-%d.key", certdir, sub, id);
    snprintf(ca, sizeof(ca), "%s/%s/ca.crt", certdir, sub);
    int rv = cp_tls_ctx_create(crt, key, ca, &c, e);
    if (rv)
        fprintf(stderr, "%s\n", e);
    assert_int_equal(rv, 0);
    return c;
}

static void tls_certs(void)
{
    const char *mk = getenv("MAKE_CERTS");
    char cmd[1200];
    subdir(certdir, "certs");
    snprintf(cmd, sizeof(cmd), "%s %s/a 1 2 3 >/dev/null && %s %s/b 1 >/dev/null",
             mk ? mk : "deploy/make-certs.sh", certdir, mk ? mk : "deploy/make-certs.sh",
             certdir);
    assert_int_equal(system(cmd), 0);
    for (int i = 1; i <= 3; i++)
        tls_for[i] = tls_ctx("a", i);
}

static void tls_free_all(void)
{
    for (int i = 0; i < 8; i++) {
        cp_tls_ctx_free(tls_for[i]);
        tls_for[i] = NULL;
    }
    tls_on = false;
}

static void test_net_basic(void **state);
static void test_net_backpressure(void **state);

/* The plaintext tests again over TLS: same frames, same completions, same backpressure. */
static void test_net_tls_basic(void **state)
{
    tls_certs();
    tls_on = true;
    test_net_basic(state);
    test_net_backpressure(state);
    /* 2000 messages of 1..40000 bytes arrive intact and in order */
    struct net_rx ra = { 0 }, rb = { 0 };
    struct cp_net *a = net_new(7, 1, &ra, 0), *b = net_new(7, 2, &rb, 0);
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", cp_net_port(b));
    assert_int_equal(cp_net_add_peer(a, 2, addr), 0);
    uint64_t end = cp_loop_now_ms() + 3000;
    while (!cp_net_connected(a, 2) && cp_loop_now_ms() < end)
        cp_loop_run_once(loop, 2000);
    assert_true(cp_net_connected(a, 2));
    static uint8_t big[40000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 13);
    sent_ok = sent_fail = 0;
    static struct cp_net_send_req sr[2000];
    int queued = 0;
    for (int i = 0; i < 2000;) {
        struct iovec iov = { big, 1 + (size_t)(i * 7919) % sizeof(big) };
        sr[i].cb = sent_cb;
        int rv = cp_net_send(a, 2, CP_NET_APP, (uint16_t)i, &iov, 1, &sr[i]);
        if (rv == -EAGAIN) {
            cp_loop_run_once(loop, 1000);
            continue;
        }
        assert_int_equal(rv, 0);
        queued++;
        i++;
    }
    end = cp_loop_now_ms() + 5000;
    while (rb.app < 2000 && cp_loop_now_ms() < end)
        cp_loop_run_once(loop, 2000);
    assert_int_equal(rb.app, 2000);
    assert_int_equal(rb.last_type, 1999);
    assert_int_equal(rb.from, 1);
    assert_int_equal(sent_ok, 2000);
    assert_int_equal(net_stats(b).tls_handshakes, 1);
    net_close_wait(a);
    net_close_wait(b);
    tls_free_all();
}

static void test_net_tls_refused(void **state)
{
    (void)state;
    tls_certs();
    tls_on = true;
    struct net_rx ra = { 0 }, rb = { 0 }, rc = { 0 }, rd = { 0 }, re = { 0 };
    struct cp_net *b = net_new(7, 2, &rb, 0), *c = net_new(7, 3, &rc, 0);
    char addr[64];
    /* node "1" holding node 3's certificate: its HELLO names 1, its certificate 3 */
    tls_for[5] = tls_ctx("a", 3);
    tls_for[6] = tls_ctx("b", 1);
    struct cp_tls_ctx *own1 = tls_for[1];
    tls_for[1] = tls_for[5];
    struct cp_net *a = net_new(7, 1, &ra, 0);
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", cp_net_port(b));
    assert_int_equal(cp_net_add_peer(a, 2, addr), 0);
    /* node 1 of another CA */
    tls_for[1] = tls_for[6];
    struct cp_net *d = net_new(7, 1, &rd, 0);
    assert_int_equal(cp_net_add_peer(d, 2, addr), 0);
    /* no TLS at all */
    tls_on = false;
    struct cp_net *e = net_new(7, 1, &re, 0);
    assert_int_equal(cp_net_add_peer(e, 2, addr), 0);
    tls_on = true;
    /* dialling "node 4" at c, whose certificate names 3: our side refuses */
    tls_for[1] = own1;
    struct cp_net *f = net_new(7, 1, &ra, 0);
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", cp_net_port(c));
    assert_int_equal(cp_net_add_peer(f, 4, addr), 0);
    run_for(300);
    struct cp_net_stats sb = net_stats(b), sf = net_stats(f), sd = net_stats(d);
    assert_false(cp_net_connected(a, 2));
    assert_false(cp_net_connected(d, 2));
    assert_false(cp_net_connected(e, 2));
    assert_false(cp_net_connected(f, 4));
    assert_true(sb.hello_id_mismatch >= 1);
    assert_true(sd.tls_out_failed >= 1); /* d refuses b's certificate (CA a) first */
    assert_true(sb.tls_refused[CP_TLS_PROTO] >= 1); /* e's plaintext HELLO */
    assert_true(sf.tls_out_failed >= 1);
    assert_int_equal(rb.raft + rb.app + rc.raft + rc.app, 0);
    assert_int_equal(ra.up + rd.up + re.up, 0);
    net_close_wait(a);
    net_close_wait(b);
    net_close_wait(c);
    net_close_wait(d);
    net_close_wait(e);
    net_close_wait(f);
    tls_free_all();
}

static void test_raftmsg_codec(void **state)
{
    (void)state;
    struct raft_entry e[2];
    make_entry(&e[0], 5, 3);
    make_entry(&e[1], 6, 3);
    struct raft_message m = { .type = RAFT_IO_APPEND_ENTRIES };
    m.append_entries = (struct raft_append_entries){ .term = 3, .prev_log_index = 4,
                                                     .prev_log_term = 2, .leader_commit = 4,
                                                     .entries = e, .n_entries = 2 };
    struct raft_buffer buf;
    assert_int_equal(cp_raftmsg_encode(&m, &buf), 0);
    struct raft_message d;
    assert_int_equal(cp_raftmsg_decode(buf.base, buf.len, &d), 0);
    assert_int_equal(d.type, RAFT_IO_APPEND_ENTRIES);
    assert_int_equal(d.append_entries.prev_log_term, 2);
    assert_int_equal(d.append_entries.n_entries, 2);
    check_entry(&d.append_entries.entries[1], 6, 3);
    cp_raftmsg_free(&d);
    /* Every truncation and every single-byte change of the header is rejected or decodes
     * to something self-consistent; truncations never decode. */
    for (size_t l = 0; l < buf.len; l++)
        assert_int_equal(cp_raftmsg_decode(buf.base, l, &d), -EBADMSG);
    uint8_t *p = buf.base;
    p[1] = 1; /* reserved byte */
    assert_int_equal(cp_raftmsg_decode(buf.base, buf.len, &d), -EBADMSG);
    p[1] = 0;
    p[8 + 40 + 8] = 9; /* entry type 9 */
    assert_int_equal(cp_raftmsg_decode(buf.base, buf.len, &d), -EBADMSG);
    raft_free(buf.base);

    struct raft_message rv = { .type = RAFT_IO_REQUEST_VOTE };
    rv.request_vote = (struct raft_request_vote){ 9, 2, 10, 8, true, true };
    assert_int_equal(cp_raftmsg_encode(&rv, &buf), 0);
    assert_int_equal(cp_raftmsg_decode(buf.base, buf.len, &d), 0);
    assert_int_equal(d.request_vote.term, 9);
    assert_true(d.request_vote.pre_vote && d.request_vote.disrupt_leader);
    raft_free(buf.base);

    struct raft_message is = { .type = RAFT_IO_INSTALL_SNAPSHOT };
    raft_configuration_init(&is.install_snapshot.conf);
    raft_configuration_add(&is.install_snapshot.conf, 3, "10.0.0.3:7", RAFT_VOTER);
    is.install_snapshot.data = (struct raft_buffer){ "DATA", 4 };
    is.install_snapshot.last_index = 77;
    assert_int_equal(cp_raftmsg_encode(&is, &buf), 0);
    assert_int_equal(cp_raftmsg_decode(buf.base, buf.len, &d), 0);
    assert_int_equal(d.install_snapshot.last_index, 77);
    assert_string_equal(d.install_snapshot.conf.servers[0].address, "10.0.0.3:7");
    assert_memory_equal(d.install_snapshot.data.base, "DATA", 4);
    cp_raftmsg_free(&d);
    raft_free(buf.base);
    /* Random mutations of valid messages: decode either fails cleanly or yields a
     * message we can free (ASan/UBSan builds check memory safety here). */
    struct raft_message *samples[] = { &m, &rv, &is };
    srand(1234);
    raft_configuration_add(&is.install_snapshot.conf, 4, "10.0.0.4:7", RAFT_SPARE);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(cp_raftmsg_encode(samples[k], &buf), 0);
        uint8_t *q = buf.base;
        for (int it = 0; it < 5000; it++) {
            uint8_t *c = malloc(buf.len);
            memcpy(c, q, buf.len);
            int flips = 1 + rand() % 3;
            for (int f = 0; f < flips; f++)
                c[rand() % buf.len] ^= (uint8_t)(1 + rand() % 255);
            size_t l = buf.len - (size_t)(rand() % 4 == 0 ? rand() % (int)buf.len : 0);
            if (cp_raftmsg_decode(c, l, &d) == 0)
                cp_raftmsg_free(&d);
            free(c);
        }
        raft_free(buf.base);
    }
    raft_configuration_close(&is.install_snapshot.conf);
    p = NULL;
    uint8_t junk[] = { 42, 0, 0, 0, 0, 0, 0, 0 };
    assert_int_equal(cp_raftmsg_decode(junk, sizeof(junk), &d), -EBADMSG);
}

/* ---- raft_io conformance ---- */

static raft_time fake_now = 1000;
static raft_time fake_time(void *arg)
{
    (void)arg;
    return fake_now;
}

struct rio {
    struct raft_io io;
    int ticks, received;
    struct raft_message last;
    bool closed;
};

static void rio_tick(struct raft_io *io)
{
    struct rio *r = io->data;
    r->ticks++;
}

static void rio_recv(struct raft_io *io, struct raft_message *m)
{
    struct rio *r = io->data;
    r->received++;
    if (r->last.type)
        cp_raftmsg_free(&r->last);
    r->last = *m;
}

static void rio_closed(struct raft_io *io)
{
    ((struct rio *)io->data)->closed = true;
}

static void rio_new(struct rio *r, const char *name, raft_id id, const char *addr)
{
    char path[300];
    subdir(path, name);
    memset(r, 0, sizeof(*r));
    struct cp_raftio_cfg cfg = { .dir = path, .cluster_id = 5, .seed = 1, .time = fake_time };
    assert_int_equal(cp_raftio_init(&r->io, loop, &cfg), 0);
    r->io.data = r;
    assert_int_equal(r->io.init(&r->io, id, addr), 0);
}

static void rio_close(struct rio *r)
{
    r->io.close(&r->io, rio_closed);
    assert_false(r->closed);
    assert_true(run_until(&r->closed, 3000));
    if (r->last.type)
        cp_raftmsg_free(&r->last);
    cp_raftio_close(&r->io);
}

struct load {
    raft_term term;
    raft_id vote;
    struct raft_snapshot *snap;
    raft_index start;
    struct raft_entry *ents;
    size_t n;
};

static void rio_load(struct rio *r, struct load *l)
{
    assert_int_equal(r->io.load(&r->io, &l->term, &l->vote, &l->snap, &l->start, &l->ents,
                                &l->n), 0);
}

static void load_free(struct load *l)
{
    if (l->n) {
        raft_free(l->ents[0].batch);
        raft_free(l->ents);
    }
    cp_snapshot_free(l->snap);
}

static int rio_appended;
static void rio_append_cb(struct raft_io_append *req, int status)
{
    assert_int_equal(status, 0);
    rio_appended++;
    free(req);
}

static bool put_done;
static void rio_put_cb(struct raft_io_snapshot_put *req, int status)
{
    (void)req;
    assert_int_equal(status, 0);
    put_done = true;
}

static struct raft_snapshot *got_snap;
static bool get_done;
static void rio_get_cb(struct raft_io_snapshot_get *req, struct raft_snapshot *s, int status)
{
    (void)req;
    assert_int_equal(status, 0);
    got_snap = s;
    get_done = true;
}

static void test_raftio_disk(void **state)
{
    (void)state;
    struct rio r;
    struct load l;
    rio_new(&r, "rio1", 1, "127.0.0.1:0");
    rio_load(&r, &l);
    assert_int_equal(l.term, 0);
    assert_int_equal(l.n, 0);
    assert_null(l.snap);
    assert_int_equal(l.start, 1);
    assert_int_equal(r.io.time(&r.io), 1000);
    for (int i = 0; i < 100; i++) {
        int v = r.io.random(&r.io, 10, 20);
        assert_in_range(v, 10, 19);
    }
    struct raft_configuration conf;
    raft_configuration_init(&conf);
    raft_configuration_add(&conf, 1, "127.0.0.1:1", RAFT_VOTER);
    assert_int_equal(r.io.bootstrap(&r.io, &conf), 0);
    assert_int_equal(r.io.bootstrap(&r.io, &conf), RAFT_CANTBOOTSTRAP);
    assert_int_equal(r.io.set_term(&r.io, 3), 0);
    assert_int_equal(r.io.set_vote(&r.io, 1), 0);
    assert_int_equal(r.io.start(&r.io, 10, rio_tick, rio_recv), 0);
    for (raft_index i = 2; i <= 40; i++) {
        struct raft_entry e;
        make_entry(&e, i, 3);
        struct raft_io_append *req = calloc(1, sizeof(*req));
        assert_int_equal(r.io.append(&r.io, req, &e, 1, rio_append_cb), 0);
    }
    assert_int_equal(r.io.truncate(&r.io, 31), 0); /* queued behind the appends */
    bool never = false;
    run_until(&never, 60);
    assert_int_equal(rio_appended, 39);
    assert_true(r.ticks >= 2); /* the tick timer runs */
    char data[] = "fsm-state";
    struct raft_buffer buf = { data, sizeof(data) };
    struct raft_snapshot s;
    fill_snapshot(&s, 25, &buf);
    struct raft_io_snapshot_put put;
    put_done = false;
    assert_int_equal(r.io.snapshot_put(&r.io, 10, &put, &s, rio_put_cb), 0);
    assert_true(run_until(&put_done, 2000));
    struct raft_io_snapshot_get get;
    get_done = false;
    assert_int_equal(r.io.snapshot_get(&r.io, &get, rio_get_cb), 0);
    assert_false(get_done);
    assert_true(run_until(&get_done, 2000));
    assert_int_equal(got_snap->index, 25);
    assert_memory_equal(got_snap->bufs[0].base, data, sizeof(data));
    cp_snapshot_free(got_snap);
    rio_close(&r);

    rio_new(&r, "rio1", 1, "127.0.0.1:0");
    rio_load(&r, &l);
    assert_int_equal(l.term, 3);
    assert_int_equal(l.vote, 1);
    assert_non_null(l.snap);
    assert_int_equal(l.snap->index, 25);
    assert_int_equal(l.start + l.n - 1, 30);
    assert_true(l.start <= 16);
    assert_int_equal(l.ents[0].batch != NULL, 1);
    for (size_t i = 0; i < l.n; i++)
        if (l.start + i >= 2)
            check_entry(&l.ents[i], l.start + i, 3);
    load_free(&l);
    rio_close(&r);
    raft_configuration_close(&conf);
    raft_configuration_close(&s.configuration);
}

static int rio_sent, rio_send_fail;
static void rio_send_cb(struct raft_io_send *req, int status)
{
    (void)req;
    if (status == 0)
        rio_sent++;
    else
        rio_send_fail++;
}

static void test_raftio_send_recv(void **state)
{
    (void)state;
    struct rio a, b;
    struct load l;
    rio_new(&a, "ra", 1, "127.0.0.1:0");
    rio_new(&b, "rb", 2, "127.0.0.1:0");
    rio_load(&a, &l);
    rio_load(&b, &l);
    assert_int_equal(a.io.start(&a.io, 50, rio_tick, rio_recv), 0);
    assert_int_equal(b.io.start(&b.io, 50, rio_tick, rio_recv), 0);
    char baddr[64];
    snprintf(baddr, sizeof(baddr), "127.0.0.1:%u", cp_net_port(cp_raftio_net(&b.io)));
    struct raft_entry e[3];
    for (int i = 0; i < 3; i++)
        make_entry(&e[i], 10 + i, 4);
    struct raft_message m = { .type = RAFT_IO_APPEND_ENTRIES, .server_id = 2,
                              .server_address = baddr };
    m.append_entries = (struct raft_append_entries){ .term = 4, .prev_log_index = 9,
                                                     .prev_log_term = 4, .leader_commit = 8,
                                                     .entries = e, .n_entries = 3 };
    struct raft_io_send req;
    /* First send learns the address and starts connecting: it may fail (NOCONNECTION)
     * through its callback, as libraft's uv backend does; keep sending until through. */
    uint64_t end = cp_loop_now_ms() + 3000;
    while (b.received == 0 && cp_loop_now_ms() < end) {
        int before = rio_sent + rio_send_fail;
        assert_int_equal(a.io.send(&a.io, &req, &m, rio_send_cb), 0);
        while (rio_sent + rio_send_fail == before)
            cp_loop_run_once(loop, 2000);
        run_for(5);
    }
    assert_true(b.received >= 1);
    assert_int_equal(b.last.type, RAFT_IO_APPEND_ENTRIES);
    assert_int_equal(b.last.server_id, 1);
    assert_int_equal(b.last.append_entries.n_entries, 3);
    assert_int_equal(b.last.append_entries.leader_commit, 8);
    check_entry(&b.last.append_entries.entries[2], 12, 4);
    assert_non_null(b.last.append_entries.entries[0].batch);
    /* And a reply the other way. */
    char aaddr[64];
    snprintf(aaddr, sizeof(aaddr), "127.0.0.1:%u", cp_net_port(cp_raftio_net(&a.io)));
    struct raft_message res = { .type = RAFT_IO_APPEND_ENTRIES_RESULT, .server_id = 1,
                                .server_address = aaddr };
    res.append_entries_result = (struct raft_append_entries_result){ 4, 0, 12 };
    end = cp_loop_now_ms() + 3000;
    while (a.received == 0 && cp_loop_now_ms() < end) {
        int before = rio_sent + rio_send_fail;
        assert_int_equal(b.io.send(&b.io, &req, &res, rio_send_cb), 0);
        while (rio_sent + rio_send_fail == before)
            cp_loop_run_once(loop, 2000);
        run_for(5);
    }
    assert_int_equal(a.last.type, RAFT_IO_APPEND_ENTRIES_RESULT);
    assert_int_equal(a.last.append_entries_result.last_log_index, 12);
    assert_int_equal(a.last.server_id, 2);
    assert_string_equal(a.last.server_address, baddr); /* known: we sent to it */
    rio_close(&a);
    rio_close(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_loop_timers),
        cmocka_unit_test(test_loop_idle_poll),
        cmocka_unit_test(test_loop_idle_covered),
        cmocka_unit_test(test_loop_file_ops),
        cmocka_unit_test(test_disk_empty_and_bootstrap),
        cmocka_unit_test(test_disk_meta),
        cmocka_unit_test(test_disk_append_load_truncate),
        cmocka_unit_test(test_disk_group_commit),
        cmocka_unit_test(test_disk_snapshot),
        cmocka_unit_test(test_disk_snapshot_fallback),
        cmocka_unit_test(test_disk_file_modes),
        cmocka_unit_test(test_disk_snapshot_loop_serves),
        cmocka_unit_test(test_disk_snapshot_ordering),
        cmocka_unit_test(test_disk_corruption),
        cmocka_unit_test(test_net_basic),
        cmocka_unit_test(test_net_handshake_reject),
        cmocka_unit_test(test_net_backpressure),
        cmocka_unit_test(test_net_prehandshake_bound),
        cmocka_unit_test(test_net_handshake_timeout),
        cmocka_unit_test(test_net_inbound_caps),
        cmocka_unit_test(test_net_emfile),
        cmocka_unit_test(test_net_tls_basic),
        cmocka_unit_test(test_net_tls_refused),
        cmocka_unit_test(test_raftmsg_codec),
        cmocka_unit_test(test_raftio_disk),
        cmocka_unit_test(test_raftio_send_recv),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
