/* cp_raftio: raft_io on io_uring. Requests raft makes are wrapped in small structs that
 * translate our -errno completions into RAFT_* codes; callbacks never run synchronously. */
#include "rumor_be.h"
#include "cp_raftio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct addr_ent {
    struct addr_ent *next;
    raft_id id;
    char addr[128]; /* stable storage: raft may keep the pointer we hand it */
};

struct impl {
    struct raft_io *io;
    struct cp_loop *loop;
    struct cp_raftio_cfg cfg;
    char *dir;
    struct cp_disk *disk;
    struct cp_net *net;
    raft_id id;
    raft_term term;
    raft_id vote;
    raft_io_tick_cb tick;
    raft_io_recv_cb recv;
    struct cp_loop_timer timer;
    uint64_t rng;
    struct addr_ent *addrs;
    raft_io_close_cb close_cb;
    struct cp_loop_req close_req;
    bool closing, net_closed;
};

static struct impl *IMPL(struct raft_io *io) { return io->impl; }


static int map_err(int rv)
{
    switch (rv) {
    case 0: return 0;
    case -ENOMEM: return RAFT_NOMEM;
    case -EUCLEAN:
    case -EBADMSG: return RAFT_CORRUPT;
    case -ECANCELED:
    case -ESHUTDOWN: return RAFT_CANCELED;
    case -ENOTCONN:
    case -EAGAIN:
    case -ECONNREFUSED: return RAFT_NOCONNECTION;
    case -ENOSPC: return RAFT_NOSPACE;
    case -EINVAL: return RAFT_INVALID;
    case -ENOENT: return RAFT_NOTFOUND;
    case -EEXIST: return RAFT_CANTBOOTSTRAP;
    default: return RAFT_IOERR;
    }
}

/* ---- message codec ---- */

#define MSG_HDR 8
#define ENT_HDR 16

static size_t fixed_len(unsigned type)
{
    switch (type) {
    case RAFT_IO_REQUEST_VOTE: return MSG_HDR + 40;
    case RAFT_IO_REQUEST_VOTE_RESULT: return MSG_HDR + 24;
    case RAFT_IO_APPEND_ENTRIES: return MSG_HDR + 40;
    case RAFT_IO_APPEND_ENTRIES_RESULT: return MSG_HDR + 24;
    case RAFT_IO_INSTALL_SNAPSHOT: return MSG_HDR + 48;
    case RAFT_IO_TIMEOUT_NOW: return MSG_HDR + 24;
    default: return 0;
    }
}

int cp_raftmsg_encode(const struct raft_message *m, struct raft_buffer *out)
{
    size_t len = fixed_len(m->type);
    if (len == 0)
        return -EINVAL;
    struct raft_buffer conf = { NULL, 0 };
    if (m->type == RAFT_IO_APPEND_ENTRIES) {
        const struct raft_append_entries *a = &m->append_entries;
        for (unsigned i = 0; i < a->n_entries; i++)
            len += ENT_HDR + a->entries[i].buf.len;
    } else if (m->type == RAFT_IO_INSTALL_SNAPSHOT) {
        if (cp_conf_encode(&m->install_snapshot.conf, &conf) != 0)
            return -ENOMEM;
        len += conf.len + m->install_snapshot.data.len;
    }
    uint8_t *b = raft_malloc(len);
    if (b == NULL) {
        raft_free(conf.base);
        return -ENOMEM;
    }
    memset(b, 0, MSG_HDR);
    b[0] = (uint8_t)m->type;
    uint8_t *f = b + MSG_HDR;
    switch (m->type) {
    case RAFT_IO_REQUEST_VOTE: {
        const struct raft_request_vote *r = &m->request_vote;
        rumor_be_st64(f, r->term);
        rumor_be_st64(f + 8, r->candidate_id);
        rumor_be_st64(f + 16, r->last_log_index);
        rumor_be_st64(f + 24, r->last_log_term);
        rumor_be_st64(f + 32, (r->disrupt_leader ? 1u : 0u) | (r->pre_vote ? 2u : 0u));
        break;
    }
    case RAFT_IO_REQUEST_VOTE_RESULT: {
        const struct raft_request_vote_result *r = &m->request_vote_result;
        rumor_be_st64(f, r->term);
        rumor_be_st64(f + 8, r->vote_granted ? 1 : 0);
        rumor_be_st64(f + 16, (uint64_t)r->pre_vote);
        break;
    }
    case RAFT_IO_APPEND_ENTRIES: {
        const struct raft_append_entries *a = &m->append_entries;
        rumor_be_st64(f, a->term);
        rumor_be_st64(f + 8, a->prev_log_index);
        rumor_be_st64(f + 16, a->prev_log_term);
        rumor_be_st64(f + 24, a->leader_commit);
        rumor_be_st64(f + 32, a->n_entries);
        uint8_t *h = f + 40;
        uint8_t *d = h + (size_t)a->n_entries * ENT_HDR;
        for (unsigned i = 0; i < a->n_entries; i++, h += ENT_HDR) {
            const struct raft_entry *e = &a->entries[i];
            rumor_be_st64(h, e->term);
            rumor_be_st16(h + 8, e->type);
            rumor_be_st16(h + 10, 0);
            rumor_be_st32(h + 12, (uint32_t)e->buf.len);
            if (e->buf.len)
                memcpy(d, e->buf.base, e->buf.len);
            d += e->buf.len;
        }
        break;
    }
    case RAFT_IO_APPEND_ENTRIES_RESULT: {
        const struct raft_append_entries_result *r = &m->append_entries_result;
        rumor_be_st64(f, r->term);
        rumor_be_st64(f + 8, r->rejected);
        rumor_be_st64(f + 16, r->last_log_index);
        break;
    }
    case RAFT_IO_INSTALL_SNAPSHOT: {
        const struct raft_install_snapshot *s = &m->install_snapshot;
        rumor_be_st64(f, s->term);
        rumor_be_st64(f + 8, s->last_index);
        rumor_be_st64(f + 16, s->last_term);
        rumor_be_st64(f + 24, s->conf_index);
        rumor_be_st64(f + 32, conf.len);
        rumor_be_st64(f + 40, s->data.len);
        memcpy(f + 48, conf.base, conf.len);
        if (s->data.len)
            memcpy(f + 48 + conf.len, s->data.base, s->data.len);
        raft_free(conf.base);
        break;
    }
    case RAFT_IO_TIMEOUT_NOW: {
        const struct raft_timeout_now *t = &m->timeout_now;
        rumor_be_st64(f, t->term);
        rumor_be_st64(f + 8, t->last_log_index);
        rumor_be_st64(f + 16, t->last_log_term);
        break;
    }
    }
    out->base = b;
    out->len = len;
    return 0;
}

int cp_raftmsg_decode(const uint8_t *p, size_t len, struct raft_message *m)
{
    memset(m, 0, sizeof(*m));
    if (len < MSG_HDR)
        return -EBADMSG;
    for (int i = 1; i < MSG_HDR; i++)
        if (p[i] != 0)
            return -EBADMSG;
    unsigned type = p[0];
    size_t fl = fixed_len(type);
    if (fl == 0 || len < fl)
        return -EBADMSG;
    const uint8_t *f = p + MSG_HDR;
    m->type = (unsigned short)type;
    switch (type) {
    case RAFT_IO_REQUEST_VOTE: {
        uint64_t flags = rumor_be_ld64(f + 32);
        if (len != fl || flags > 3)
            return -EBADMSG;
        m->request_vote.term = rumor_be_ld64(f);
        m->request_vote.candidate_id = rumor_be_ld64(f + 8);
        m->request_vote.last_log_index = rumor_be_ld64(f + 16);
        m->request_vote.last_log_term = rumor_be_ld64(f + 24);
        m->request_vote.disrupt_leader = flags & 1;
        m->request_vote.pre_vote = (flags & 2) != 0;
        return 0;
    }
    case RAFT_IO_REQUEST_VOTE_RESULT: {
        uint64_t g = rumor_be_ld64(f + 8), pv = rumor_be_ld64(f + 16);
        if (len != fl || g > 1 || pv > raft_tribool_false)
            return -EBADMSG;
        m->request_vote_result.term = rumor_be_ld64(f);
        m->request_vote_result.vote_granted = g == 1;
        m->request_vote_result.pre_vote = (raft_tribool)pv;
        return 0;
    }
    case RAFT_IO_APPEND_ENTRIES_RESULT:
        if (len != fl)
            return -EBADMSG;
        m->append_entries_result.term = rumor_be_ld64(f);
        m->append_entries_result.rejected = rumor_be_ld64(f + 8);
        m->append_entries_result.last_log_index = rumor_be_ld64(f + 16);
        return 0;
    case RAFT_IO_TIMEOUT_NOW:
        if (len != fl)
            return -EBADMSG;
        m->timeout_now.term = rumor_be_ld64(f);
        m->timeout_now.last_log_index = rumor_be_ld64(f + 8);
        m->timeout_now.last_log_term = rumor_be_ld64(f + 16);
        return 0;
    case RAFT_IO_APPEND_ENTRIES: {
        struct raft_append_entries *a = &m->append_entries;
        uint64_t n = rumor_be_ld64(f + 32);
        size_t rest = len - fl;
        if (n > rest / ENT_HDR)
            return -EBADMSG;
        const uint8_t *h = f + 40;
        uint64_t total = 0;
        for (uint64_t i = 0; i < n; i++) {
            uint16_t t = rumor_be_ld16(h + i * ENT_HDR + 8);
            if (t < RAFT_COMMAND || t > RAFT_CHANGE || rumor_be_ld16(h + i * ENT_HDR + 10) != 0)
                return -EBADMSG;
            total += rumor_be_ld32(h + i * ENT_HDR + 12);
        }
        if (n * ENT_HDR + total != rest)
            return -EBADMSG;
        a->term = rumor_be_ld64(f);
        a->prev_log_index = rumor_be_ld64(f + 8);
        a->prev_log_term = rumor_be_ld64(f + 16);
        a->leader_commit = rumor_be_ld64(f + 24);
        a->n_entries = (unsigned)n;
        if (n == 0)
            return 0;
        a->entries = raft_malloc(n * sizeof(*a->entries));
        uint8_t *batch = raft_malloc(total ? total : 1);
        if (a->entries == NULL || batch == NULL) {
            raft_free(a->entries);
            raft_free(batch);
            a->entries = NULL;
            return -ENOMEM;
        }
        memcpy(batch, h + n * ENT_HDR, total);
        uint64_t off = 0;
        for (uint64_t i = 0; i < n; i++) {
            struct raft_entry *e = &a->entries[i];
            e->term = rumor_be_ld64(h + i * ENT_HDR);
            e->type = rumor_be_ld16(h + i * ENT_HDR + 8);
            e->buf.len = rumor_be_ld32(h + i * ENT_HDR + 12);
            e->buf.base = batch + off;
            e->batch = batch;
            off += e->buf.len;
        }
        return 0;
    }
    case RAFT_IO_INSTALL_SNAPSHOT: {
        struct raft_install_snapshot *s = &m->install_snapshot;
        uint64_t cl = rumor_be_ld64(f + 32), dl = rumor_be_ld64(f + 40);
        if (cl > len - fl || dl != len - fl - cl)
            return -EBADMSG;
        raft_configuration_init(&s->conf);
        int rv = cp_conf_decode(f + 48, cl, &s->conf);
        if (rv)
            return rv;
        s->data.base = raft_malloc(dl ? dl : 1);
        if (s->data.base == NULL) {
            raft_configuration_close(&s->conf);
            return -ENOMEM;
        }
        memcpy(s->data.base, f + 48 + cl, dl);
        s->data.len = dl;
        s->term = rumor_be_ld64(f);
        s->last_index = rumor_be_ld64(f + 8);
        s->last_term = rumor_be_ld64(f + 16);
        s->conf_index = rumor_be_ld64(f + 24);
        return 0;
    }
    }
    return -EBADMSG;
}

void cp_raftmsg_free(struct raft_message *m)
{
    if (m->type == RAFT_IO_APPEND_ENTRIES && m->append_entries.n_entries) {
        raft_free(m->append_entries.entries[0].batch);
        raft_free(m->append_entries.entries);
    } else if (m->type == RAFT_IO_INSTALL_SNAPSHOT) {
        raft_configuration_close(&m->install_snapshot.conf);
        raft_free(m->install_snapshot.data.base);
    }
    memset(m, 0, sizeof(*m));
}

/* ---- addresses ---- */

static struct addr_ent *addr_find(struct impl *im, raft_id id)
{
    for (struct addr_ent *a = im->addrs; a; a = a->next)
        if (a->id == id)
            return a;
    return NULL;
}

static int addr_learn(struct impl *im, raft_id id, const char *addr)
{
    if (addr == NULL || addr[0] == 0 || strlen(addr) >= 128)
        return addr_find(im, id) ? 0 : -EINVAL;
    struct addr_ent *a = addr_find(im, id);
    if (a == NULL) {
        a = calloc(1, sizeof(*a));
        if (a == NULL)
            return -ENOMEM;
        a->id = id;
        a->next = im->addrs;
        im->addrs = a;
    } else if (strcmp(a->addr, addr) == 0) {
        return 0;
    }
    snprintf(a->addr, sizeof(a->addr), "%s", addr);
    return cp_net_add_peer(im->net, id, addr);
}

int cp_raftio_add_peer(struct raft_io *io, raft_id id, const char *addr)
{
    struct impl *im = IMPL(io);
    if (im->net == NULL)
        return -ENOTCONN;
    if (id == im->id)
        return 0;
    return addr_learn(im, id, addr);
}

struct cp_net *cp_raftio_net(struct raft_io *io)
{
    return IMPL(io)->net;
}

struct cp_disk *cp_raftio_disk(struct raft_io *io)
{
    return IMPL(io)->disk;
}

/* ---- raft_io methods ---- */

static void net_raft_cb(void *arg, uint64_t from, const uint8_t *p, size_t len)
{
    struct impl *im = arg;
    if (im == NULL)
        return; /* an owner's transport delivering before raft_io was set up */
    if (im->recv == NULL || im->closing)
        return;
    struct raft_message m;
    int rv = cp_raftmsg_decode(p, len, &m);
    if (rv != 0) {
        fprintf(stderr, "cp_raftio: dropping malformed raft message from node %llu (%zu bytes)\n",
                (unsigned long long)from, len);
        return;
    }
    if (m.type == RAFT_IO_REQUEST_VOTE && m.request_vote.candidate_id != from) {
        /* the vote would go to the id inside, not to the authenticated sender */
        cp_net_count_refused(im->net, CP_NET_REFUSED_RAFT, from);
        cp_raftmsg_free(&m);
        return;
    }
    struct addr_ent *a = addr_find(im, from);
    m.server_id = from;
    m.server_address = a ? a->addr : "";
    im->recv(im->io, &m); /* raft owns entries / snapshot data from here on */
}

static void net_app_cb(void *arg, uint64_t from, uint16_t t, const uint8_t *p, size_t len)
{
    struct impl *im = arg;
    if (im->cfg.app.app)
        im->cfg.app.app(im->cfg.app.arg, from, t, p, len);
}

static void net_up_cb(void *arg, uint64_t id)
{
    struct impl *im = arg;
    if (im->cfg.app.peer_up)
        im->cfg.app.peer_up(im->cfg.app.arg, id);
}

static void net_down_cb(void *arg, uint64_t id, int err)
{
    struct impl *im = arg;
    if (im->cfg.app.peer_down)
        im->cfg.app.peer_down(im->cfg.app.arg, id, err);
}

void cp_raftio_net_raft(void *arg, uint64_t from, const uint8_t *p, size_t len)
{
    struct raft_io *io = arg;
    net_raft_cb(io ? io->impl : NULL, from, p, len);
}

static int io_init(struct raft_io *io, raft_id id, const char *address)
{
    struct impl *im = IMPL(io);
    struct cp_disk_cfg dc = { .segment_size = im->cfg.segment_size,
                              .rwf_dsync = im->cfg.rwf_dsync };
    int rv = cp_disk_open(im->loop, im->dir, &dc, &im->disk, io->errmsg);
    if (rv)
        return map_err(rv);
    struct cp_net_cfg nc = { .cluster_id = im->cfg.cluster_id, .self_id = id,
                             .listen_addr = address,
                             .max_queue_bytes = im->cfg.max_queue_bytes,
                             .max_queue_msgs = im->cfg.max_queue_msgs,
                             .tls = im->cfg.tls };
    struct cp_net_cbs cbs = { .arg = im, .raft = net_raft_cb, .app = net_app_cb,
                              .peer_up = net_up_cb, .peer_down = net_down_cb };
    if (im->cfg.net) {
        im->net = im->cfg.net; /* the owner's: its callbacks are the owner's too */
        rv = 0;
    } else {
        rv = cp_net_create(im->loop, &nc, &cbs, &im->net, io->errmsg);
    }
    if (rv) {
        cp_disk_close(im->disk);
        im->disk = NULL;
        return rv == -EADDRINUSE ? RAFT_IOERR : map_err(rv);
    }
    im->id = id;
    im->rng = im->cfg.seed ^ (id * 0x9E3779B97F4A7C15ull) ^ 0x2545F4914F6CDD1Dull;
    if (im->rng == 0)
        im->rng = 1;
    return 0;
}

static void close_step(struct cp_loop_req *req, int res);

static void net_closed(void *arg)
{
    struct impl *im = arg;
    im->net = NULL;
    im->net_closed = true;
    close_step(&im->close_req, 0);
}

/* Closing is a small state machine driven from the loop: wait for the in-flight flush,
 * cancel queued disk work, close the transport, then wait for the tick timer. */
static void close_step(struct cp_loop_req *req, int res)
{
    (void)res;
    struct impl *im = req->data;
    if (im->disk && cp_disk_flushing(im->disk)) {
        cp_loop_defer(im->loop, &im->close_req, 0, close_step);
        return;
    }
    if (im->disk) {
        cp_disk_close(im->disk);
        im->disk = NULL;
    }
    if (im->net && im->cfg.net) {
        im->net = NULL; /* the owner closes its transport */
        im->net_closed = true;
    }
    if (im->net) {
        if (!im->net_closed) {
            im->net_closed = true; /* set before: close may call back synchronously */
            cp_net_close(im->net, net_closed, im);
        }
        return;
    }
    if (!cp_loop_timer_idle(&im->timer)) {
        cp_loop_defer(im->loop, &im->close_req, 0, close_step);
        return;
    }
    if (im->close_cb)
        im->close_cb(im->io);
}

static void io_close(struct raft_io *io, raft_io_close_cb cb)
{
    struct impl *im = IMPL(io);
    im->closing = true;
    im->close_cb = cb;
    cp_loop_timer_stop(&im->timer);
    im->close_req.data = im;
    cp_loop_defer(im->loop, &im->close_req, 0, close_step);
}

static int io_load(struct raft_io *io, raft_term *term, raft_id *voted_for,
                   struct raft_snapshot **snapshot, raft_index *start_index,
                   struct raft_entry *entries[], size_t *n_entries)
{
    struct impl *im = IMPL(io);
    struct cp_disk_state st;
    int rv = cp_disk_load(im->disk, &st, io->errmsg);
    if (rv) {
        fprintf(stderr, "cp_raftio: load failed: %s\n", io->errmsg);
        return map_err(rv);
    }
    im->term = st.term;
    im->vote = st.voted_for;
    *term = st.term;
    *voted_for = st.voted_for;
    *snapshot = st.snapshot;
    *start_index = st.start_index;
    *entries = st.entries;
    *n_entries = st.n_entries;
    return 0;
}

static void tick_cb(struct cp_loop_timer *t)
{
    struct impl *im = t->data;
    if (im->tick && !im->closing)
        im->tick(im->io);
}

void cp_raftio_tick_now(struct raft_io *io)
{
    struct impl *im = IMPL(io);
    if (im->tick && !im->closing)
        im->tick(io);
}

static int io_start(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
                    raft_io_recv_cb recv)
{
    struct impl *im = IMPL(io);
    im->tick = tick;
    im->recv = recv;
    im->timer.data = im;
    int rv = cp_loop_timer_start(im->loop, &im->timer, msecs, msecs, tick_cb);
    return map_err(rv);
}

static int io_bootstrap(struct raft_io *io, const struct raft_configuration *conf)
{
    struct impl *im = IMPL(io);
    int rv = cp_disk_bootstrap(im->disk, conf);
    if (rv == -EEXIST) {
        snprintf(io->errmsg, RAFT_ERRMSG_BUF_SIZE, "metadata contains term 1 or more");
        return RAFT_CANTBOOTSTRAP;
    }
    return map_err(rv);
}

static int io_recover(struct raft_io *io, const struct raft_configuration *conf)
{
    (void)conf;
    snprintf(io->errmsg, RAFT_ERRMSG_BUF_SIZE, "recover is not supported by cp_raftio");
    return RAFT_INVALID;
}

static int io_set_term(struct raft_io *io, raft_term term)
{
    struct impl *im = IMPL(io);
    int rv = cp_disk_set_meta(im->disk, term, 0);
    if (rv == 0) {
        im->term = term;
        im->vote = 0;
    }
    return map_err(rv);
}

static int io_set_vote(struct raft_io *io, raft_id server_id)
{
    struct impl *im = IMPL(io);
    int rv = cp_disk_set_meta(im->disk, im->term, server_id);
    if (rv == 0)
        im->vote = server_id;
    return map_err(rv);
}

struct send_wrap {
    struct cp_net_send_req nreq;
    struct cp_loop_req lreq;
    struct raft_io_send *req;
    raft_io_send_cb cb; /* NULL for libraft's TimeoutNow (leadership transfer), whose req may
                           be freed with the transfer before the send completes */
};

static void send_done(struct cp_net_send_req *nreq, int status)
{
    struct send_wrap *w = nreq->data;
    struct raft_io_send *req = w->req;
    raft_io_send_cb cb = w->cb;
    free(w);
    if (cb)
        cb(req, map_err(status));
}

static void send_failed(struct cp_loop_req *lreq, int status)
{
    struct send_wrap *w = lreq->data;
    struct raft_io_send *req = w->req;
    raft_io_send_cb cb = w->cb;
    free(w);
    if (cb)
        cb(req, status);
}

static int io_send(struct raft_io *io, struct raft_io_send *req,
                   const struct raft_message *msg, raft_io_send_cb cb)
{
    struct impl *im = IMPL(io);
    if (im->closing)
        return RAFT_CANCELED;
    struct send_wrap *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return RAFT_NOMEM;
    req->cb = cb;
    w->req = req;
    w->cb = cb;
    w->nreq.data = w;
    w->nreq.cb = send_done;
    w->lreq.data = w;
    addr_learn(im, msg->server_id, msg->server_address);
    struct raft_buffer buf;
    int rv = cp_raftmsg_encode(msg, &buf);
    if (rv) {
        free(w);
        return map_err(rv);
    }
    struct iovec iov = { buf.base, buf.len };
    rv = cp_net_send(im->net, msg->server_id, CP_NET_RAFT, 0, &iov, 1, &w->nreq);
    raft_free(buf.base);
    if (rv == -ENOMEM || rv == -EINVAL || rv == -EMSGSIZE) {
        free(w);
        return map_err(rv);
    }
    if (rv != 0) /* not connected / queue full: report through the callback, like uv */
        cp_loop_defer(im->loop, &w->lreq, map_err(rv), send_failed);
    return 0;
}

struct append_wrap {
    struct cp_disk_append dreq;
    struct raft_io_append *req;
};

static void append_done(struct cp_disk_append *dreq, int status)
{
    struct append_wrap *w = dreq->data;
    struct raft_io_append *req = w->req;
    free(w);
    req->cb(req, map_err(status));
}

static int io_append(struct raft_io *io, struct raft_io_append *req,
                     const struct raft_entry entries[], unsigned n, raft_io_append_cb cb)
{
    struct impl *im = IMPL(io);
    if (im->closing)
        return RAFT_CANCELED;
    struct append_wrap *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return RAFT_NOMEM;
    req->cb = cb;
    w->req = req;
    w->dreq.data = w;
    int rv = cp_disk_append(im->disk, &w->dreq, entries, n, append_done);
    if (rv) {
        free(w);
        return map_err(rv);
    }
    return 0;
}

static int io_truncate(struct raft_io *io, raft_index index)
{
    return map_err(cp_disk_truncate(IMPL(io)->disk, index));
}

struct snap_wrap {
    struct cp_disk_snap_put dreq;
    struct cp_loop_req lreq;
    struct raft_io_snapshot_put *put;
    struct raft_io_snapshot_get *get;
    struct raft_snapshot *snap;
};

static void snap_put_done(struct cp_disk_snap_put *dreq, int status)
{
    struct snap_wrap *w = dreq->data;
    struct raft_io_snapshot_put *req = w->put;
    free(w);
    req->cb(req, map_err(status));
}

static int io_snapshot_put(struct raft_io *io, unsigned trailing,
                           struct raft_io_snapshot_put *req,
                           const struct raft_snapshot *snapshot, raft_io_snapshot_put_cb cb)
{
    struct impl *im = IMPL(io);
    struct snap_wrap *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return RAFT_NOMEM;
    req->cb = cb;
    w->put = req;
    w->dreq.data = w;
    int rv = cp_disk_snapshot_put(im->disk, &w->dreq, trailing, snapshot, snap_put_done);
    if (rv) {
        free(w);
        return map_err(rv);
    }
    return 0;
}

static void snap_get_done(struct cp_loop_req *lreq, int status)
{
    struct snap_wrap *w = lreq->data;
    struct raft_io_snapshot_get *req = w->get;
    struct raft_snapshot *s = w->snap;
    free(w);
    req->cb(req, s, status);
}

static int io_snapshot_get(struct raft_io *io, struct raft_io_snapshot_get *req,
                           raft_io_snapshot_get_cb cb)
{
    struct impl *im = IMPL(io);
    struct snap_wrap *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return RAFT_NOMEM;
    req->cb = cb;
    w->get = req;
    w->lreq.data = w;
    int rv = cp_disk_snapshot_get(im->disk, &w->snap);
    cp_loop_defer(im->loop, &w->lreq, map_err(rv), snap_get_done);
    return 0;
}

static raft_time io_time(struct raft_io *io)
{
    struct impl *im = IMPL(io);
    return im->cfg.time ? im->cfg.time(im->cfg.time_arg) : cp_loop_now_ms();
}

static int io_random(struct raft_io *io, int min, int max)
{
    struct impl *im = IMPL(io);
    /* xorshift64*: reproducible from the seed, good enough for election jitter. */
    im->rng ^= im->rng >> 12;
    im->rng ^= im->rng << 25;
    im->rng ^= im->rng >> 27;
    uint64_t r = im->rng * 0x2545F4914F6CDD1Dull;
    if (max <= min)
        return min;
    return min + (int)(r % (uint64_t)(max - min));
}

struct work_wrap {
    struct cp_loop_req lreq;
    struct raft_io_async_work *req;
};

static void work_run(struct cp_loop_req *lreq, int res)
{
    (void)res;
    struct work_wrap *w = lreq->data;
    struct raft_io_async_work *req = w->req;
    free(w);
    int rv = req->work(req);
    req->cb(req, rv);
}

/* No threads: the work runs on the loop at the next iteration. */
static int io_async_work(struct raft_io *io, struct raft_io_async_work *req,
                         raft_io_async_work_cb cb)
{
    struct work_wrap *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return RAFT_NOMEM;
    req->cb = cb;
    w->req = req;
    w->lreq.data = w;
    cp_loop_defer(IMPL(io)->loop, &w->lreq, 0, work_run);
    return 0;
}

int cp_raftio_init(struct raft_io *io, struct cp_loop *loop, const struct cp_raftio_cfg *cfg)
{
    struct impl *im = calloc(1, sizeof(*im));
    if (im == NULL)
        return -ENOMEM;
    im->dir = strdup(cfg->dir);
    if (im->dir == NULL) {
        free(im);
        return -ENOMEM;
    }
    im->io = io;
    im->loop = loop;
    im->cfg = *cfg;
    im->cfg.dir = im->dir;
    memset(io, 0, sizeof(*io));
    io->version = 2;
    io->impl = im;
    io->init = io_init;
    io->close = io_close;
    io->load = io_load;
    io->start = io_start;
    io->bootstrap = io_bootstrap;
    io->recover = io_recover;
    io->set_term = io_set_term;
    io->set_vote = io_set_vote;
    io->send = io_send;
    io->append = io_append;
    io->truncate = io_truncate;
    io->snapshot_put = io_snapshot_put;
    io->snapshot_get = io_snapshot_get;
    io->time = io_time;
    io->random = io_random;
    io->async_work = io_async_work;
    return 0;
}

void cp_raftio_close(struct raft_io *io)
{
    struct impl *im = IMPL(io);
    if (im == NULL)
        return;
    while (im->addrs) {
        struct addr_ent *a = im->addrs;
        im->addrs = a->next;
        free(a);
    }
    free(im->dir);
    free(im);
    io->impl = NULL;
}
