/* Crash test: a child appends to cp_disk under load, takes 1-3 MiB snapshots now and then
 * (trailing > 0, and every fourth with trailing == 0) and reports each index and snapshot
 * once durable; the parent kills it -9 at random moments (>= 100 times) and checks after
 * every restart that log and snapshot load, with nothing reported as persisted missing or
 * altered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cp_disk.h"
#include "cp_loop.h"

#define KILLS 110
#define OUTSTANDING 64
#define SNAP_EVERY 1500 /* entries */
/* Reports on the pipe: an entry index, or a snapshot index with one of these tags. */
#define TAG_SNAP_START (1ull << 62)
#define TAG_SNAP_DONE (1ull << 63)

static char dir[256];
static int report_fd;
static uint64_t next_index;
static unsigned outstanding;
static uint64_t durable_max, snap_last, snap_count;
static bool snap_busy;
static struct raft_snapshot snap;
static struct cp_disk_snap_put snap_req;
static struct raft_buffer snap_buf;

static size_t snap_len(uint64_t index) { return (1u << 20) + (size_t)(index % 9) * (256u << 10); }

static void snap_fill(uint8_t *b, uint64_t index)
{
    size_t len = snap_len(index);
    for (size_t k = 0; k < len; k += 8) {
        uint64_t v = index * 0x9E3779B97F4A7C15ull + k;
        memcpy(b + k, &v, 8);
    }
}

static void report(uint64_t v)
{
    if (write(report_fd, &v, 8) != 8)
        _exit(4);
}

static size_t entry_len(uint64_t i) { return 8 + i % 57; }

static void fill(uint8_t *b, uint64_t i)
{
    memcpy(b, &i, 8);
    memset(b + 8, (int)(i & 0xff), entry_len(i) - 8);
}

static void child_cb(struct cp_disk_append *req, int status)
{
    if (status != 0)
        _exit(3);
    uint64_t last = req->data ? (uint64_t)(uintptr_t)req->data : 0;
    report(last);
    if (last > durable_max)
        durable_max = last;
    free(req);
    outstanding--;
}

static void child_submit(struct cp_disk *d)
{
    while (outstanding < OUTSTANDING) {
        unsigned n = 1 + (unsigned)(next_index % 4);
        struct raft_entry e[4];
        uint8_t bufs[4][64];
        for (unsigned k = 0; k < n; k++) {
            fill(bufs[k], next_index + k);
            e[k] = (struct raft_entry){ .term = 1, .type = RAFT_COMMAND,
                                        .buf = { bufs[k], entry_len(next_index + k) } };
        }
        struct cp_disk_append *req = calloc(1, sizeof(*req));
        req->data = (void *)(uintptr_t)(next_index + n - 1);
        if (cp_disk_append(d, req, e, n, child_cb) != 0)
            _exit(5);
        next_index += n;
        outstanding++;
    }
}

static void child_snap_cb(struct cp_disk_snap_put *req, int status)
{
    (void)req;
    if (status != 0)
        _exit(7);
    report(TAG_SNAP_DONE | snap.index);
    snap_last = snap.index;
    raft_configuration_close(&snap.configuration);
    free(snap_buf.base);
    snap_busy = false;
}

/* Snapshot at the last durable index, keeping 100 entries; every fourth one as if
 * installed from a leader (trailing 0) at the last queued index: the log restarts after
 * it, and nothing reported durable is lost since it covers everything queued. */
static void child_snapshot(struct cp_disk *d)
{
    if (snap_busy || durable_max < snap_last + SNAP_EVERY)
        return;
    bool install = ++snap_count % 4 == 0;
    uint64_t index = install ? next_index - 1 : durable_max;
    snap_buf.len = snap_len(index);
    snap_buf.base = malloc(snap_buf.len);
    if (snap_buf.base == NULL)
        _exit(8);
    snap_fill(snap_buf.base, index);
    memset(&snap, 0, sizeof(snap));
    snap.index = index;
    snap.term = 1;
    raft_configuration_init(&snap.configuration);
    raft_configuration_add(&snap.configuration, 1, "127.0.0.1:9001", RAFT_VOTER);
    snap.configuration_index = 1;
    snap.bufs = &snap_buf;
    snap.n_bufs = 1;
    snap_busy = true;
    report(TAG_SNAP_START | index);
    if (cp_disk_snapshot_put(d, &snap_req, install ? 0 : 100, &snap, child_snap_cb) != 0)
        _exit(9);
}

static void child(void)
{
    struct cp_loop *loop;
    if (cp_loop_create(256, &loop) != 0)
        _exit(77);
    struct cp_disk_cfg cfg = { .segment_size = 256 * 1024 };
    struct cp_disk *d;
    struct cp_disk_state st;
    char err[256];
    if (cp_disk_open(loop, dir, &cfg, &d, err) != 0 || cp_disk_load(d, &st, err) != 0) {
        fprintf(stderr, "child: %s\n", err);
        _exit(6);
    }
    next_index = st.start_index + st.n_entries;
    durable_max = next_index - 1;
    snap_last = st.snapshot ? st.snapshot->index : 0;
    if (st.n_entries) {
        raft_free(st.entries[0].batch);
        raft_free(st.entries);
    }
    cp_snapshot_free(st.snapshot);
    for (;;) {
        child_submit(d);
        child_snapshot(d);
        cp_loop_run_once(loop, 100000);
    }
}

/* Load the directory and return the last index, checking every entry's content and the
 * snapshot's; *snap_index receives the snapshot's index (0: none). */
static uint64_t verify(char *err, uint64_t *snap_index)
{
    struct cp_loop *loop;
    assert_int_equal(cp_loop_create(8, &loop), 0);
    struct cp_disk_cfg cfg = { .segment_size = 256 * 1024, .log = NULL };
    struct cp_disk *d;
    struct cp_disk_state st;
    assert_int_equal(cp_disk_open(loop, dir, &cfg, &d, err), 0);
    int rv = cp_disk_load(d, &st, err);
    if (rv != 0)
        fail_msg("load failed after kill: %s", err);
    *snap_index = 0;
    if (st.snapshot) {
        struct raft_snapshot *s = st.snapshot;
        *snap_index = s->index;
        assert_int_equal(s->term, 1);
        assert_int_equal(s->configuration.n, 1);
        assert_int_equal(s->n_bufs, 1);
        assert_int_equal(s->bufs[0].len, snap_len(s->index));
        uint8_t *want = malloc(snap_len(s->index));
        snap_fill(want, s->index);
        assert_memory_equal(s->bufs[0].base, want, snap_len(s->index));
        free(want);
        assert_true(st.start_index <= s->index + 1);
        cp_snapshot_free(s);
    } else {
        assert_int_equal(st.start_index, 1);
    }
    for (size_t k = 0; k < st.n_entries; k++) {
        uint64_t i = st.start_index + k;
        uint8_t want[64];
        fill(want, i);
        assert_int_equal(st.entries[k].buf.len, entry_len(i));
        assert_memory_equal(st.entries[k].buf.base, want, entry_len(i));
    }
    uint64_t last = st.start_index + st.n_entries - 1;
    if (last < *snap_index)
        last = *snap_index;
    if (st.n_entries) {
        raft_free(st.entries[0].batch);
        raft_free(st.entries);
    }
    cp_disk_close(d);
    cp_loop_destroy(loop);
    return last;
}

struct round {
    uint64_t max;           /* highest entry index reported durable */
    uint64_t snap_done;     /* highest snapshot reported durable */
    unsigned started, done; /* snapshot puts started / completed */
};

static void take(struct round *r, uint64_t v)
{
    if (v & TAG_SNAP_DONE) {
        v &= ~TAG_SNAP_DONE;
        r->done++;
        if (v > r->snap_done)
            r->snap_done = v;
    } else if (v & TAG_SNAP_START) {
        r->started++;
    } else if (v > r->max) {
        r->max = v;
    }
}

static void test_crash_kill9(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/cp-io-crash-XXXXXX");
    assert_non_null(mkdtemp(dir));
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    uint64_t reported_max = 0, total_loaded = 0, snap_reported = 0, snap_loaded = 0;
    unsigned with_progress = 0, during_snap = 0, snaps_done = 0;
    char err[256];
    for (int round = 0; round < KILLS; round++) {
        int pfd[2];
        assert_int_equal(pipe(pfd), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(pfd[0]);
            report_fd = pfd[1];
            child();
        }
        close(pfd[1]);
        /* Most rounds: wait for the first durable report (startup includes recovery and
         * fsyncs, slow on a shared disk), then kill 0-30 ms into the append stream. Every
         * fifth round kills blindly 0-30 ms after start, during recovery. */
        bool blind = round % 5 == 4;
        unsigned delay = blind ? (unsigned)(rand() % 30) : (unsigned)(rand() % 30);
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        struct round rd = { 0 };
        if (!blind) {
            struct pollfd p = { .fd = pfd[0], .events = POLLIN };
            if (poll(&p, 1, 5000) > 0) {
                uint64_t v;
                if (read(pfd[0], &v, 8) == 8)
                    take(&rd, v);
            }
            clock_gettime(CLOCK_MONOTONIC, &t0);
        }
        for (;;) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            long el = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
            if (el >= (long)delay)
                break;
            struct pollfd p = { .fd = pfd[0], .events = POLLIN };
            if (poll(&p, 1, (int)(delay - (unsigned)el)) > 0) {
                uint64_t v[64];
                ssize_t r = read(pfd[0], v, sizeof(v));
                for (ssize_t k = 0; k + 8 <= r; k += 8)
                    take(&rd, v[k / 8]);
                if (r == 0)
                    break;
            }
        }
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
            close(pfd[0]);
            skip();
        }
        assert_true(WIFSIGNALED(status)); /* the child never exits by itself */
        /* Whatever it reported before dying is still in the pipe. */
        uint64_t v[64];
        ssize_t r;
        while ((r = read(pfd[0], v, sizeof(v))) > 0)
            for (ssize_t k = 0; k + 8 <= r; k += 8)
                take(&rd, v[k / 8]);
        close(pfd[0]);
        uint64_t round_max = rd.max;
        if (round_max > reported_max)
            reported_max = round_max;
        if (rd.snap_done > snap_reported)
            snap_reported = rd.snap_done;
        snaps_done += rd.done;
        if (rd.started > rd.done)
            during_snap++; /* killed while a snapshot put was in progress */
        uint64_t last = verify(err, &snap_loaded);
        if (last < reported_max)
            fail_msg("round %d: entry %llu was reported durable but the log ends at %llu",
                     round, (unsigned long long)reported_max, (unsigned long long)last);
        if (snap_loaded < snap_reported)
            fail_msg("round %d: snapshot %llu was reported durable but load found %llu",
                     round, (unsigned long long)snap_reported, (unsigned long long)snap_loaded);
        if (round_max > 0)
            with_progress++;
        total_loaded = last;
    }
    fprintf(stderr, "crash: %d kills, %u with progress, %u during a snapshot put, %u "
            "snapshots completed, log ends at %llu, max reported %llu, snapshot %llu\n",
            KILLS, with_progress, during_snap, snaps_done, (unsigned long long)total_loaded,
            (unsigned long long)reported_max, (unsigned long long)snap_loaded);
    assert_true(with_progress >= KILLS / 2);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash_kill9),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
