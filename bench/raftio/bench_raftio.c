/* bench-raftio: append commit latency (p50/p99) and throughput of cp_disk and cp_raftio
 * (group commit at 1 and 64 outstanding) against pwrite+fdatasync; prints a table + JSON.
 * Usage: bench-raftio [--dir D] [--size BYTES] [--serial N] [--concurrent N] [--json F] */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cp_disk.h"
#include "cp_loop.h"
#include "cp_raftio.h"

struct result {
    const char *name;
    unsigned outstanding;
    size_t ops;
    double p50_us, p99_us, ops_per_s;
    uint64_t flushes;
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void summarize(struct result *r, uint64_t *lat, size_t n, uint64_t elapsed_us)
{
    qsort(lat, n, sizeof(*lat), cmp_u64);
    r->ops = n;
    r->p50_us = (double)lat[n / 2];
    r->p99_us = (double)lat[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
    r->ops_per_s = (double)n * 1e6 / (double)(elapsed_us ? elapsed_us : 1);
}

static void plain(const char *dir, size_t size, size_t n, struct result *r)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/plain", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        perror(path);
        exit(1);
    }
    char *buf = calloc(1, size);
    uint64_t *lat = calloc(n, sizeof(*lat));
    uint64_t t0 = cp_loop_now_us();
    for (size_t i = 0; i < n; i++) {
        uint64_t s = cp_loop_now_us();
        if (pwrite(fd, buf, size, (off_t)(i * size)) != (ssize_t)size || fdatasync(fd) != 0) {
            perror("pwrite/fdatasync");
            exit(1);
        }
        lat[i] = cp_loop_now_us() - s;
    }
    r->name = "pwrite+fdatasync";
    r->outstanding = 1;
    r->flushes = n;
    summarize(r, lat, n, cp_loop_now_us() - t0);
    close(fd);
    unlink(path);
    free(buf);
    free(lat);
}

/* ---- cp_disk and raft_io appends ---- */

struct req {
    struct cp_disk_append d;
    struct raft_io_append a;
    uint64_t start;
};

static struct cp_loop *loop;
static uint64_t *lat;
static size_t done_n, submitted, target;
static unsigned inflight;

static void disk_cb(struct cp_disk_append *d, int status)
{
    struct req *q = d->data;
    if (status != 0)
        abort();
    lat[done_n++] = cp_loop_now_us() - q->start;
    inflight--;
    free(q);
}

static void rio_cb(struct raft_io_append *a, int status)
{
    struct req *q = a->data;
    if (status != 0)
        abort();
    lat[done_n++] = cp_loop_now_us() - q->start;
    inflight--;
    free(q);
}

static void run_appends(const char *dir, const char *sub, bool via_raftio, size_t size,
                        size_t n, unsigned outstanding, struct result *r)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    struct cp_disk *disk = NULL;
    struct raft_io io;
    if (via_raftio) {
        struct cp_raftio_cfg cfg = { .dir = path, .cluster_id = 1, .seed = 1,
                                     .segment_size = 64u << 20 };
        cp_raftio_init(&io, loop, &cfg);
        if (io.init(&io, 1, "127.0.0.1:0") != 0) {
            fprintf(stderr, "raft_io init: %s\n", io.errmsg);
            exit(1);
        }
        raft_term t;
        raft_id v;
        struct raft_snapshot *s;
        raft_index si;
        struct raft_entry *e;
        size_t ne;
        if (io.load(&io, &t, &v, &s, &si, &e, &ne) != 0 || ne != 0) {
            fprintf(stderr, "raft_io load failed or dir not empty: %s\n", io.errmsg);
            exit(1);
        }
        disk = cp_raftio_disk(&io);
    } else {
        struct cp_disk_cfg cfg = { .segment_size = 64u << 20 };
        char err[256];
        struct cp_disk_state st;
        if (cp_disk_open(loop, path, &cfg, &disk, err) != 0 ||
            cp_disk_load(disk, &st, err) != 0) {
            fprintf(stderr, "%s\n", err);
            exit(1);
        }
    }
    char *payload = calloc(1, size);
    struct raft_entry e = { .term = 1, .type = RAFT_COMMAND, .buf = { payload, size } };
    lat = calloc(n, sizeof(*lat));
    done_n = submitted = 0;
    target = n;
    inflight = 0;
    uint64_t f0 = cp_disk_flushes(disk);
    uint64_t t0 = cp_loop_now_us();
    while (done_n < n) {
        while (inflight < outstanding && submitted < n) {
            struct req *q = calloc(1, sizeof(*q));
            q->start = cp_loop_now_us();
            q->d.data = q;
            q->a.data = q;
            int rv = via_raftio ? io.append(&io, &q->a, &e, 1, rio_cb)
                                : cp_disk_append(disk, &q->d, &e, 1, disk_cb);
            if (rv != 0) {
                fprintf(stderr, "append failed: %d\n", rv);
                exit(1);
            }
            inflight++;
            submitted++;
        }
        cp_loop_run_once(loop, 100000);
    }
    uint64_t el = cp_loop_now_us() - t0;
    r->flushes = cp_disk_flushes(disk) - f0;
    r->name = via_raftio ? "raft_io append" : "cp_disk append";
    r->outstanding = outstanding;
    summarize(r, lat, n, el);
    free(lat);
    free(payload);
    if (via_raftio) {
        io.close(&io, NULL); /* a NULL close callback is allowed by cp_raftio */
        for (int i = 0; i < 200; i++)
            cp_loop_run_once(loop, 1000);
        cp_raftio_close(&io);
    } else {
        cp_disk_close(disk);
    }
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", path);
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *json = "bench-raftio.json";
    size_t size = 256, serial = 1000, conc = 20000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--dir"))
            dir = argv[i + 1];
        else if (!strcmp(argv[i], "--size"))
            size = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--serial"))
            serial = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--concurrent"))
            conc = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--json"))
            json = argv[i + 1];
    }
    char tmp[] = "/var/tmp/rumor-bench-raftio-XXXXXX";
    if (dir == NULL) {
        if (mkdtemp(tmp) == NULL) {
            perror("mkdtemp");
            return 1;
        }
        dir = tmp;
    }
    if (cp_loop_create(1024, &loop) != 0) {
        fprintf(stderr, "io_uring unavailable\n");
        return 77;
    }
    struct result r[6];
    plain(dir, size, serial, &r[0]);
    run_appends(dir, "d1", false, size, serial, 1, &r[1]);
    run_appends(dir, "d64", false, size, conc, 64, &r[2]);
    run_appends(dir, "r1", true, size, serial, 1, &r[3]);
    run_appends(dir, "r64", true, size, conc, 64, &r[4]);
    int nr = 5;
    printf("entry size %zu B, dir %s (same disk for every row)\n", size, dir);
    printf("%-18s %5s %8s %10s %10s %12s %9s %14s\n", "mode", "outst", "ops", "p50_us",
           "p99_us", "ops/s", "fsyncs", "ops/s vs plain");
    for (int i = 0; i < nr; i++)
        printf("%-18s %5u %8zu %10.0f %10.0f %12.0f %9llu %13.2fx\n", r[i].name,
               r[i].outstanding, r[i].ops, r[i].p50_us, r[i].p99_us, r[i].ops_per_s,
               (unsigned long long)r[i].flushes, r[i].ops_per_s / r[0].ops_per_s);
    FILE *f = fopen(json, "w");
    if (f) {
        fprintf(f, "{\n  \"entry_size\": %zu,\n  \"dir\": \"%s\",\n  \"results\": [\n", size, dir);
        for (int i = 0; i < nr; i++)
            fprintf(f, "    {\"mode\": \"%s\", \"outstanding\": %u, \"ops\": %zu, "
                       "\"p50_us\": %.0f, \"p99_us\": %.0f, \"ops_per_s\": %.1f, "
                       "\"fsyncs\": %llu, \"ratio_vs_plain\": %.3f}%s\n",
                    r[i].name, r[i].outstanding, r[i].ops, r[i].p50_us, r[i].p99_us,
                    r[i].ops_per_s, (unsigned long long)r[i].flushes,
                    r[i].ops_per_s / r[0].ops_per_s, i + 1 < nr ? "," : "");
        fprintf(f, "  ]\n}\n");
        fclose(f);
        printf("JSON written to %s\n", json);
    }
    if (dir == tmp)
        rmdir(tmp);
    cp_loop_destroy(loop);
    return 0;
}
