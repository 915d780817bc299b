/* cp-raft-demo: one Raft node with a counter FSM over cp_raftio, for the cluster tests.
 * Usage: cp-raft-demo --id N --dir D --peers 1=127.0.0.1:7101,2=...,3=... [--cluster C] */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_raftio.h"

struct demo {
    struct raft raft;
    struct raft_io io;
    struct raft_fsm fsm;
    struct cp_loop *loop;
    uint64_t counter;
    int role;
    raft_id leader;
    unsigned pending;
    struct cp_loop_timer apply_timer, report_timer;
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    struct demo *d = fsm->data;
    if (buf->len != 8)
        return RAFT_MALFORMED;
    d->counter++;
    *result = NULL;
    return 0;
}

static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n)
{
    struct demo *d = fsm->data;
    *bufs = raft_malloc(sizeof(**bufs));
    if (*bufs == NULL)
        return RAFT_NOMEM;
    (*bufs)[0].base = raft_malloc(8);
    if ((*bufs)[0].base == NULL)
        return RAFT_NOMEM;
    memcpy((*bufs)[0].base, &d->counter, 8);
    (*bufs)[0].len = 8;
    *n = 1;
    return 0;
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    struct demo *d = fsm->data;
    if (buf->len != 8)
        return RAFT_MALFORMED;
    memcpy(&d->counter, buf->base, 8);
    raft_free(buf->base);
    return 0;
}

static void apply_cb(struct raft_apply *req, int status, void *result)
{
    (void)status;
    (void)result;
    struct demo *d = req->data;
    d->pending--;
    free(req);
}

static void apply_tick(struct cp_loop_timer *t)
{
    struct demo *d = t->data;
    if (raft_state(&d->raft) != RAFT_LEADER || d->pending >= 4)
        return;
    struct raft_apply *req = calloc(1, sizeof(*req));
    struct raft_buffer buf = { raft_malloc(8), 8 };
    if (req == NULL || buf.base == NULL) {
        free(req);
        raft_free(buf.base);
        return;
    }
    uint64_t v = d->counter;
    memcpy(buf.base, &v, 8);
    req->data = d;
    if (raft_apply(&d->raft, req, &buf, 1, apply_cb) != 0) {
        raft_free(buf.base);
        free(req);
        return;
    }
    d->pending++;
}

static const char *role_name(int r)
{
    switch (r) {
    case RAFT_FOLLOWER: return "follower";
    case RAFT_CANDIDATE: return "candidate";
    case RAFT_LEADER: return "leader";
    default: return "unavailable";
    }
}

static void report_tick(struct cp_loop_timer *t)
{
    struct demo *d = t->data;
    printf("applied=%llu counter=%llu term=%llu\n",
           (unsigned long long)raft_last_applied(&d->raft),
           (unsigned long long)d->counter, (unsigned long long)d->raft.current_term);
}

static void closed_cb(struct raft *r)
{
    struct demo *d = r->data;
    cp_loop_stop(d->loop);
}

static void hook(void *arg)
{
    struct demo *d = arg;
    if (stop_flag == 1) {
        stop_flag = 2;
        cp_loop_timer_stop(&d->apply_timer);
        cp_loop_timer_stop(&d->report_timer);
        raft_close(&d->raft, closed_cb);
        return;
    }
    if (stop_flag)
        return;
    int role = raft_state(&d->raft);
    raft_id leader;
    const char *addr;
    raft_leader(&d->raft, &leader, &addr);
    if (role != d->role || leader != d->leader) {
        d->role = role;
        d->leader = leader;
        printf("role=%s term=%llu leader=%llu\n", role_name(role),
               (unsigned long long)d->raft.current_term, (unsigned long long)leader);
    }
}

int main(int argc, char **argv)
{
    unsigned long long id = 0, cluster = 42;
    const char *dir = NULL, *peers = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--id") == 0)
            id = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--dir") == 0)
            dir = argv[i + 1];
        else if (strcmp(argv[i], "--peers") == 0)
            peers = argv[i + 1];
        else if (strcmp(argv[i], "--cluster") == 0)
            cluster = strtoull(argv[i + 1], NULL, 10);
    }
    if (id == 0 || dir == NULL || peers == NULL) {
        fprintf(stderr, "usage: %s --id N --dir D --peers 1=host:port,2=... [--cluster C]\n",
                argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    static struct demo d;
    struct raft_configuration conf;
    raft_configuration_init(&conf);
    char self_addr[128] = "";
    char *list = strdup(peers);
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        char *eq = strchr(tok, '=');
        if (eq == NULL) {
            fprintf(stderr, "bad peer '%s'\n", tok);
            return 2;
        }
        *eq = 0;
        unsigned long long pid = strtoull(tok, NULL, 10);
        raft_configuration_add(&conf, pid, eq + 1, RAFT_VOTER);
        if (pid == id)
            snprintf(self_addr, sizeof(self_addr), "%s", eq + 1);
    }
    free(list);
    if (self_addr[0] == 0) {
        fprintf(stderr, "own id %llu not in --peers\n", id);
        return 2;
    }
    int rv = cp_loop_create(512, &d.loop);
    if (rv) {
        fprintf(stderr, "io_uring: %s\n", strerror(-rv));
        return 77;
    }
    struct cp_raftio_cfg cfg = { .dir = dir, .cluster_id = cluster, .seed = id * 7919 };
    cp_raftio_init(&d.io, d.loop, &cfg);
    d.fsm = (struct raft_fsm){ .version = 1, .data = &d, .apply = fsm_apply,
                               .snapshot = fsm_snapshot, .restore = fsm_restore };
    d.raft.data = &d;
    rv = raft_init(&d.raft, &d.io, &d.fsm, id, self_addr);
    if (rv) {
        fprintf(stderr, "raft_init: %s (%s)\n", raft_strerror(rv), d.io.errmsg);
        return 1;
    }
    d.raft.data = &d;
    raft_set_election_timeout(&d.raft, 600);
    raft_set_heartbeat_timeout(&d.raft, 60);
    raft_set_snapshot_threshold(&d.raft, 256);
    raft_set_snapshot_trailing(&d.raft, 64);
    rv = raft_bootstrap(&d.raft, &conf);
    if (rv == 0)
        printf("bootstrapped %u voters\n", conf.n);
    else if (rv != RAFT_CANTBOOTSTRAP) {
        fprintf(stderr, "bootstrap: %s\n", raft_errmsg(&d.raft));
        return 1;
    }
    rv = raft_start(&d.raft);
    if (rv) {
        fprintf(stderr, "raft_start: %s: %s\n", raft_strerror(rv), raft_errmsg(&d.raft));
        return 1;
    }
    for (unsigned i = 0; i < conf.n; i++)
        cp_raftio_add_peer(&d.io, conf.servers[i].id, conf.servers[i].address);
    raft_configuration_close(&conf);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    d.role = -1;
    d.apply_timer.data = &d;
    d.report_timer.data = &d;
    cp_loop_timer_start(d.loop, &d.apply_timer, 10, 10, apply_tick);
    cp_loop_timer_start(d.loop, &d.report_timer, 200, 200, report_tick);
    cp_loop_set_hook(d.loop, hook, &d);
    cp_loop_run(d.loop);
    printf("stopped applied=%llu counter=%llu\n",
           (unsigned long long)raft_last_applied(&d.raft), (unsigned long long)d.counter);
    cp_raftio_close(&d.io);
    for (int i = 0; i < 3; i++)
        cp_loop_run_once(d.loop, 1000);
    cp_loop_destroy(d.loop);
    return 0;
}
