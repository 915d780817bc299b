/* cp_net: outbound connections carry our messages, inbound ones the peers' (one
 * direction each, as libraft's uv transport does): no duplicate-connection races. With TLS
 * the same frames travel inside a cp_tls session whose ciphertext this file moves. */
#include "rumor_be.h"
#include "cp_net.h"
#include "rumor_crc32c.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T_HELLO 1
#define T_ACK 2
#define HELLO_MAGIC 0x52554d52u /* "RUMR" */
#define HELLO_LEN 32
#define MAX_IOV 64
#define PRE_MAX (CP_NET_HDR + HELLO_LEN) /* all an inbound peer may send before its HELLO */
#define CONN_BUF 65536                   /* receive buffer once handshaken */
#define ACCEPT_BACKOFF_MIN 10            /* ms */
#define ACCEPT_BACKOFF_MAX 100
#define TLS_IN 16640                     /* ciphertext recv: one full TLS record and a bit */
#define TLS_BATCH (256u << 10)           /* plaintext encrypted per outbound send at most */
#define TLS_REC 16384                    /* small frames are joined into records this big */

struct frame {
    struct frame *next;
    size_t len, sent;
    struct cp_net_send_req *req;
    uint8_t data[];
};

enum { P_IDLE, P_CONNECTING, P_HANDSHAKE, P_UP, P_CLOSING, P_WAIT };

struct peer {
    struct cp_net *net;
    struct peer *next;
    uint64_t id;
    char addr[128], new_addr[128];
    struct sockaddr_storage ss;
    socklen_t sslen;
    int state, fd, ops;
    bool was_up, writing;
    unsigned backoff;
    struct frame *qhead, *qtail;
    size_t qbytes;
    unsigned qmsgs;
    struct iovec iov[MAX_IOV];
    struct cp_loop_req creq, wreq, rreq;
    uint8_t hello[CP_NET_HDR + HELLO_LEN];
    uint8_t rbuf[CP_NET_HDR + HELLO_LEN];
    size_t rhave;
    int fail_err;
    struct cp_loop_timer timer;
    /* TLS: session, ciphertext in, ciphertext being sent; the first `enc` queued frames are
     * in obuf and complete once all of it is sent */
    struct cp_tls *tls;
    uint8_t *pin, *obuf, *stage;
    size_t olen, osent, ocap;
    unsigned enc;
    uint64_t tls_fails;  /* in a row, for sparse logging */
};

struct conn {
    struct cp_net *net;
    struct conn *next, *prev;
    int fd, ops;
    bool up, dead;
    uint64_t from;
    uint32_t raddr;    /* remote IPv4 address (network order), for the per-address cap */
    uint64_t t0_ms;    /* accepted at (handshake timeout) */
    uint8_t *buf;
    size_t have, cap;
    struct cp_loop_req rreq, sreq;
    uint8_t ack[CP_NET_HDR + HELLO_LEN];
    struct cp_tls *tls;  /* TLS: session, ciphertext in, ciphertext being sent */
    uint8_t *cin, *obuf;
    size_t olen, osent, ocap;
    bool osending, tls_fed;
};

struct cp_net {
    struct cp_loop *loop;
    struct cp_net_cfg cfg;
    struct cp_net_cbs cbs;
    int lfd;
    unsigned port;
    bool accepting, closing;
    struct cp_loop_req areq;
    struct peer *peers;
    struct conn *conns;
    int reserve_fd;                 /* /dev/null, given up to shed a connection at EMFILE */
    unsigned accept_backoff, accept_aborts;
    struct cp_loop_timer accept_timer, hs_timer;
    struct cp_net_stats st;
    void (*close_cb)(void *);
    void *close_arg;
    struct cp_loop_req close_req;
};


/* crc covers type/flags/app_type and the payload, which must already be in place. */
static void frame_header(uint8_t *h, uint32_t len, uint8_t type, uint16_t app_type)
{
    rumor_be_st32(h, len);
    h[8] = type;
    h[9] = 0;
    rumor_be_st16(h + 10, app_type);
    uint32_t crc = rumor_crc32c(0, h + 8, 4);
    rumor_be_st32(h + 4, rumor_crc32c(crc, h + CP_NET_HDR, len));
}

static void hello_encode(uint8_t *b, uint8_t type, uint64_t cluster, uint64_t from,
                         uint64_t to)
{
    uint8_t *p = b + CP_NET_HDR;
    rumor_be_st32(p, HELLO_MAGIC);
    rumor_be_st32(p + 4, 1);
    rumor_be_st64(p + 8, cluster);
    rumor_be_st64(p + 16, from);
    rumor_be_st64(p + 24, to);
    frame_header(b, HELLO_LEN, type, 0);
}

int cp_net_parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[128];
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr || (size_t)(colon - addr) >= sizeof(host))
        return -EINVAL;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end != 0 || end == colon + 1 || port < 0 || port > 65535)
        return -EINVAL;
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    memset(ss, 0, sizeof(*ss));
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
        struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res;
        if (getaddrinfo(host, NULL, &hints, &res) != 0)
            return -EINVAL;
        sin->sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
        freeaddrinfo(res);
    }
    *len = sizeof(*sin);
    return 0;
}

static void maybe_finish(struct cp_net *net);

/* Hostile peers can make a reason repeat thousands of times a second: log the 1st, 2nd,
 * 4th, 8th... occurrence (counters have the rest). n is the count after this one. */
static bool log_due(uint64_t n)
{
    return (n & (n - 1)) == 0;
}

static const char *conn_addr(const struct conn *c, char *buf)
{
    struct in_addr a = { .s_addr = c->raddr };
    return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN) ? buf : "?";
}

/* ---- inbound ---- */

static void conn_recv_cb(struct cp_loop_req *req, int res);

static void conn_kill(struct conn *c)
{
    if (!c->dead) {
        c->dead = true;
        shutdown(c->fd, SHUT_RDWR);
    }
    if (c->ops > 0)
        return;
    close(c->fd);
    c->net->st.inbound--;
    if (!c->up)
        c->net->st.inbound_pending--;
    if (c->prev)
        c->prev->next = c->next;
    else
        c->net->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    struct cp_net *net = c->net;
    cp_tls_free(c->tls);
    free(c->cin);
    free(c->obuf);
    free(c->buf);
    free(c);
    maybe_finish(net);
}

/* Room for more plaintext in c->buf; false: out of memory. */
static bool conn_room(struct conn *c)
{
    if (c->up && c->cap < CONN_BUF) {
        uint8_t *p = realloc(c->buf, CONN_BUF);
        if (p == NULL)
            return false;
        c->buf = p;
        c->cap = CONN_BUF;
    }
    if (c->have == c->cap) { /* only once handshaken: before, cap is exactly PRE_MAX */
        size_t need = c->cap * 2;
        if (c->have >= CP_NET_HDR) {
            size_t want = CP_NET_HDR + (size_t)rumor_be_ld32(c->buf);
            if (want > need)
                need = want;
        }
        uint8_t *p = realloc(c->buf, need);
        if (p == NULL)
            return false;
        c->buf = p;
        c->cap = need;
    }
    return true;
}

static void conn_arm(struct conn *c)
{
    int rv;
    c->rreq.data = c;
    if (c->tls)
        rv = cp_loop_recv(c->net->loop, &c->rreq, c->fd, c->cin, TLS_IN, conn_recv_cb);
    else if (!conn_room(c))
        rv = -ENOMEM;
    else
        rv = cp_loop_recv(c->net->loop, &c->rreq, c->fd, c->buf + c->have,
                          (unsigned)(c->cap - c->have), conn_recv_cb);
    if (rv == 0)
        c->ops++;
    else
        conn_kill(c);
}

static void conn_out_cb(struct cp_loop_req *req, int res);

/* Send what the session produced (handshake, ACK): one send in flight at a time.
 * False: the connection must die. */
static bool conn_out(struct conn *c)
{
    if (c->osending || c->dead)
        return true;
    size_t pend = cp_tls_pending(c->tls);
    if (pend == 0)
        return true;
    if (pend > c->ocap) {
        uint8_t *b = realloc(c->obuf, pend);
        if (b == NULL)
            return false;
        c->obuf = b;
        c->ocap = pend;
    }
    c->olen = cp_tls_take(c->tls, c->obuf, pend);
    c->osent = 0;
    c->sreq.data = c;
    if (cp_loop_send(c->net->loop, &c->sreq, c->fd, c->obuf, (unsigned)c->olen,
                     conn_out_cb) != 0)
        return false;
    c->ops++;
    c->osending = true;
    return true;
}

static void conn_out_cb(struct cp_loop_req *req, int res)
{
    struct conn *c = req->data;
    c->ops--;
    c->osending = false;
    if (res <= 0 || c->dead) {
        conn_kill(c);
        return;
    }
    c->osent += (size_t)res;
    if (c->osent < c->olen) {
        if (cp_loop_send(c->net->loop, &c->sreq, c->fd, c->obuf + c->osent,
                         (unsigned)(c->olen - c->osent), conn_out_cb) != 0) {
            conn_kill(c);
            return;
        }
        c->ops++;
        c->osending = true;
        return;
    }
    if (!conn_out(c))
        conn_kill(c);
}

static void conn_ack_cb(struct cp_loop_req *req, int res)
{
    struct conn *c = req->data;
    c->ops--;
    if (res != (int)sizeof(c->ack) || c->dead)
        conn_kill(c);
}

/* Returns false when the connection must die. */
static bool conn_frame(struct conn *c, const uint8_t *h, const uint8_t *p, uint32_t len)
{
    struct cp_net *net = c->net;
    uint8_t type = h[8];
    if (!c->up) {
        char ab[INET_ADDRSTRLEN];
        if (type != T_HELLO || len != HELLO_LEN || rumor_be_ld32(p) != HELLO_MAGIC ||
            rumor_be_ld32(p + 4) != 1) {
            if (log_due(++net->st.bad_hello))
                fprintf(stderr, "cp_net: rejected inbound connection from %s: bad hello "
                        "(%llu so far)\n", conn_addr(c, ab),
                        (unsigned long long)net->st.bad_hello);
            return false;
        }
        if (rumor_be_ld64(p + 8) != net->cfg.cluster_id) {
            if (log_due(++net->st.bad_hello))
                fprintf(stderr, "cp_net: rejected node %llu: cluster id %llu != ours %llu\n",
                        (unsigned long long)rumor_be_ld64(p + 16), (unsigned long long)rumor_be_ld64(p + 8),
                        (unsigned long long)net->cfg.cluster_id);
            return false;
        }
        if (rumor_be_ld64(p + 24) != net->cfg.self_id || rumor_be_ld64(p + 16) == 0 ||
            rumor_be_ld64(p + 16) == net->cfg.self_id) {
            if (log_due(++net->st.bad_hello))
                fprintf(stderr, "cp_net: rejected node %llu: it expected node %llu, we are "
                        "%llu\n", (unsigned long long)rumor_be_ld64(p + 16),
                        (unsigned long long)rumor_be_ld64(p + 24),
                        (unsigned long long)net->cfg.self_id);
            return false;
        }
        if (c->tls && rumor_be_ld64(p + 16) != cp_tls_peer_id(c->tls)) {
            /* the one check that makes the certificate's id the sender of everything on
             * this connection */
            if (log_due(++net->st.hello_id_mismatch))
                fprintf(stderr, "cp_net: rejected inbound connection from %s: HELLO claims node "
                        "%llu, its certificate names node %llu (%llu so far)\n",
                        conn_addr(c, ab), (unsigned long long)rumor_be_ld64(p + 16),
                        (unsigned long long)cp_tls_peer_id(c->tls),
                        (unsigned long long)net->st.hello_id_mismatch);
            return false;
        }
        c->up = true;
        net->st.inbound_pending--;
        c->from = rumor_be_ld64(p + 16);
        hello_encode(c->ack, T_ACK, net->cfg.cluster_id, net->cfg.self_id, c->from);
        if (c->tls)
            return cp_tls_write(c->tls, c->ack, sizeof(c->ack)) == 0; /* sent by the caller */
        c->sreq.data = c;
        if (cp_loop_send(net->loop, &c->sreq, c->fd, c->ack, sizeof(c->ack), conn_ack_cb) != 0)
            return false;
        c->ops++;
        return true;
    }
    if (type == CP_NET_RAFT) {
        if (net->cbs.raft)
            net->cbs.raft(net->cbs.arg, c->from, p, len);
    } else if (type == CP_NET_APP) {
        if (net->cbs.app)
            net->cbs.app(net->cbs.arg, c->from, rumor_be_ld16(h + 10), p, len);
    } else {
        fprintf(stderr, "cp_net: node %llu sent unknown frame type %u\n",
                (unsigned long long)c->from, type);
        net->st.bad_frames++;
        return false;
    }
    return true;
}

/* Handle the complete frames in c->buf. False: the connection must die. */
static bool conn_parse(struct conn *c)
{
    size_t off = 0;
    while (c->have - off >= CP_NET_HDR) {
        const uint8_t *h = c->buf + off;
        uint32_t len = rumor_be_ld32(h);
        struct cp_net *net = c->net;
        char ab[INET_ADDRSTRLEN];
        /* Before the handshake only a HELLO fits: judged on its header, before any byte of
         * a declared payload is buffered. */
        if (!c->up && len > HELLO_LEN) {
            if (log_due(++net->st.prehandshake_oversize))
                fprintf(stderr, "cp_net: closed inbound connection from %s: %u-byte frame "
                        "before the handshake (%llu so far)\n", conn_addr(c, ab), len,
                        (unsigned long long)net->st.prehandshake_oversize);
            return false;
        }
        if (!c->up && (len != HELLO_LEN || h[8] != T_HELLO || h[9] != 0)) {
            if (log_due(++net->st.bad_hello))
                fprintf(stderr, "cp_net: rejected inbound connection from %s: frame type %u "
                        "before the handshake (%llu so far)\n", conn_addr(c, ab), h[8],
                        (unsigned long long)net->st.bad_hello);
            return false;
        }
        if (len > net->cfg.max_frame || h[9] != 0) {
            fprintf(stderr, "cp_net: frame too large or bad flags from node %llu\n",
                    (unsigned long long)c->from);
            net->st.bad_frames++;
            return false;
        }
        if (c->have - off < CP_NET_HDR + (size_t)len)
            break;
        uint32_t crc = rumor_crc32c(rumor_crc32c(0, h + 8, 4), h + CP_NET_HDR, len);
        if (crc != rumor_be_ld32(h + 4)) {
            if (c->up) {
                net->st.bad_frames++;
                fprintf(stderr, "cp_net: frame checksum mismatch from node %llu\n",
                        (unsigned long long)c->from);
            } else if (log_due(++net->st.bad_hello)) {
                fprintf(stderr, "cp_net: rejected inbound connection from %s: hello checksum "
                        "mismatch (%llu so far)\n", conn_addr(c, ab),
                        (unsigned long long)net->st.bad_hello);
            }
            return false;
        }
        if (!conn_frame(c, h, h + CP_NET_HDR, len)) {
            return false;
        }
        off += CP_NET_HDR + len;
        if (c->dead)
            break;
    }
    if (c->dead)
        return false;
    if (off > 0) {
        memmove(c->buf, c->buf + off, c->have - off);
        c->have -= off;
    }
    return true;
}

static void conn_tls_refused(struct conn *c)
{
    struct cp_net *net = c->net;
    enum cp_tls_fail f = cp_tls_failure(c->tls);
    char ab[INET_ADDRSTRLEN];
    if (log_due(++net->st.tls_refused[f]))
        fprintf(stderr, "cp_net: refused TLS from %s: %s: %s (%llu so far)\n", conn_addr(c, ab),
                cp_tls_fail_name(f), cp_tls_error(c->tls),
                (unsigned long long)net->st.tls_refused[f]);
}

/* Ciphertext arrived: handshake, then decrypt and handle frames, then send what the session
 * has to say (its handshake flight, our ACK). */
static void conn_tls_in(struct conn *c, size_t n)
{
    /* A TLS connection starts with a handshake record (0x16). Anything else that reads as
     * our plaintext frame header is judged as before the handshake in plaintext (oversize
     * counted as such), so an insecure peer or a raw attacker is named in the counters. */
    if (!c->tls_fed && c->cin[0] != 0x16 && n >= 4 && rumor_be_ld32(c->cin) > HELLO_LEN) {
        char ab[INET_ADDRSTRLEN];
        if (log_due(++c->net->st.prehandshake_oversize))
            fprintf(stderr, "cp_net: closed inbound connection from %s: not TLS, a %u-byte "
                    "frame before the handshake (%llu so far)\n", conn_addr(c, ab),
                    rumor_be_ld32(c->cin), (unsigned long long)c->net->st.prehandshake_oversize);
        conn_kill(c);
        return;
    }
    c->tls_fed = true;
    if (cp_tls_feed(c->tls, c->cin, n) != 0) {
        conn_kill(c);
        return;
    }
    if (!cp_tls_done(c->tls)) {
        int rv = cp_tls_handshake(c->tls);
        if (rv == -EPROTO) {
            conn_tls_refused(c);
            conn_kill(c);
            return;
        }
        if (!conn_out(c)) {
            conn_kill(c);
            return;
        }
        if (rv == -EAGAIN) {
            conn_arm(c);
            return;
        }
        c->net->st.tls_handshakes++;
    }
    for (;;) {
        if (!conn_room(c)) {
            conn_kill(c);
            return;
        }
        long r = cp_tls_read(c->tls, c->buf + c->have, c->cap - c->have);
        if (r < 0) {
            if (r == -EPROTO) {
                c->net->st.bad_frames++;
                fprintf(stderr, "cp_net: TLS record from node %llu: %s\n",
                        (unsigned long long)c->from, cp_tls_error(c->tls));
            }
            conn_kill(c);
            return;
        }
        if (r == 0)
            break;
        c->have += (size_t)r;
        if (!conn_parse(c)) {
            conn_kill(c);
            return;
        }
    }
    if (!conn_out(c)) {
        conn_kill(c);
        return;
    }
    conn_arm(c);
}

static void conn_recv_cb(struct cp_loop_req *req, int res)
{
    struct conn *c = req->data;
    c->ops--;
    if (res <= 0 || c->dead || c->net->closing) {
        conn_kill(c);
        return;
    }
    if (c->tls) {
        conn_tls_in(c, (size_t)res);
        return;
    }
    c->have += (size_t)res;
    if (!conn_parse(c)) {
        conn_kill(c);
        return;
    }
    conn_arm(c);
}

static void accept_cb(struct cp_loop_req *req, int res);

/* Without this a peer behind a partition looks alive for minutes: SYNs and data are
 * retransmitted with exponential backoff (up to ~2 min for a connect, ~15 for data), so a
 * healed link waits for the next retransmission. Bound both, and probe idle links. */
static void tune_socket(const struct cp_net *net, int fd)
{
    unsigned tmo = net->cfg.dead_after_ms;
    int one = 1, idle = 1, cnt = 3, intvl = tmo >= 6000 ? (int)(tmo / 3000) : 1;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &tmo, sizeof(tmo));
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

static void hs_sweep_cb(struct cp_loop_timer *t);

/* Next handshake deadline among pending connections: the sweep runs only while some wait. */
static void hs_schedule(struct cp_net *net)
{
    if (net->st.inbound_pending == 0 || net->closing || net->hs_timer.active)
        return;
    uint64_t now = cp_loop_now_ms(), next = UINT64_MAX;
    for (struct conn *c = net->conns; c; c = c->next)
        if (!c->up && !c->dead && c->t0_ms + net->cfg.handshake_timeout_ms < next)
            next = c->t0_ms + net->cfg.handshake_timeout_ms;
    if (next == UINT64_MAX)
        return;
    net->hs_timer.data = net;
    cp_loop_timer_start(net->loop, &net->hs_timer, next > now ? next - now + 1 : 1, 0,
                        hs_sweep_cb);
}

static void hs_sweep_cb(struct cp_loop_timer *t)
{
    struct cp_net *net = t->data;
    if (net->closing)
        return;
    uint64_t now = cp_loop_now_ms(), n = 0;
    char ab[INET_ADDRSTRLEN] = "?";
    for (struct conn *c = net->conns, *next; c; c = next) {
        next = c->next; /* conn_kill may free c, never another */
        if (!c->up && !c->dead && now >= c->t0_ms + net->cfg.handshake_timeout_ms) {
            n++;
            conn_addr(c, ab);
            conn_kill(c);
        }
    }
    if (n > 0) {
        uint64_t before = net->st.handshake_timeouts;
        net->st.handshake_timeouts += n;
        /* log when the count crosses a power of two */
        if (before == 0 || (before ^ net->st.handshake_timeouts) > before)
            fprintf(stderr, "cp_net: closed %llu inbound connection(s) (last from %s) without "
                    "a handshake after %u ms (%llu so far)\n", (unsigned long long)n, ab,
                    net->cfg.handshake_timeout_ms,
                    (unsigned long long)net->st.handshake_timeouts);
    }
    hs_schedule(net);
}

static void accept_timer_cb(struct cp_loop_timer *t);

static void arm_accept(struct cp_net *net)
{
    net->areq.data = net;
    net->accepting = cp_loop_accept(net->loop, &net->areq, net->lfd, accept_cb) == 0;
    if (!net->accepting) { /* submission queue full: try again shortly */
        net->accept_timer.data = net;
        cp_loop_timer_start(net->loop, &net->accept_timer, ACCEPT_BACKOFF_MIN, 0,
                            accept_timer_cb);
    }
}

static void accept_timer_cb(struct cp_loop_timer *t)
{
    struct cp_net *net = t->data;
    if (!net->closing && !net->accepting)
        arm_accept(net);
}

/* A failing accept must not be re-armed at once: a persistent error (no descriptors, no
 * memory) would complete again immediately and spin the loop. */
static void accept_backoff(struct cp_net *net)
{
    net->accept_backoff = net->accept_backoff ? net->accept_backoff * 2 : ACCEPT_BACKOFF_MIN;
    if (net->accept_backoff > ACCEPT_BACKOFF_MAX)
        net->accept_backoff = ACCEPT_BACKOFF_MAX;
    net->st.accept_backoffs++;
    net->accept_timer.data = net;
    cp_loop_timer_start(net->loop, &net->accept_timer, net->accept_backoff, 0,
                        accept_timer_cb);
}

/* Out of descriptors: the pending connections would stay in the backlog (and make every
 * accept fail again). Give up the reserve descriptor, accept and close what waits (the
 * peers see a close, not a hang), take the reserve back. */
static void shed_backlog(struct cp_net *net)
{
    if (net->reserve_fd >= 0) {
        close(net->reserve_fd);
        net->reserve_fd = -1;
    }
    int fl = fcntl(net->lfd, F_GETFL);
    if (fl >= 0 && fcntl(net->lfd, F_SETFL, fl | O_NONBLOCK) == 0) {
        for (int i = 0; i < 64; i++) {
            int fd = accept4(net->lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd < 0)
                break;
            close(fd);
            net->st.shed_nofd++;
        }
        fcntl(net->lfd, F_SETFL, fl);
    }
    net->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Per-address and total caps; returns false (connection to close) when over either. */
static bool accept_admit(struct cp_net *net, struct conn *c)
{
    char ab[INET_ADDRSTRLEN];
    if (net->st.inbound >= net->cfg.max_inbound) {
        if (log_due(++net->st.refused_total))
            fprintf(stderr, "cp_net: refused inbound connection from %s: %u open (max_inbound; "
                    "%llu refused so far)\n", conn_addr(c, ab), net->st.inbound,
                    (unsigned long long)net->st.refused_total);
        return false;
    }
    unsigned same = 0;
    for (struct conn *o = net->conns; o; o = o->next)
        same += o->raddr == c->raddr;
    if (same >= net->cfg.max_inbound_per_addr) {
        if (log_due(++net->st.refused_addr))
            fprintf(stderr, "cp_net: refused inbound connection from %s: %u open from it "
                    "(max_inbound_per_addr; %llu refused so far)\n", conn_addr(c, ab), same,
                    (unsigned long long)net->st.refused_addr);
        return false;
    }
    return true;
}

static void accept_cb(struct cp_loop_req *req, int res)
{
    struct cp_net *net = req->data;
    net->accepting = false;
    if (net->closing) {
        if (res >= 0)
            close(res);
        maybe_finish(net);
        return;
    }
    if (res < 0) {
        if (res == -EMFILE || res == -ENFILE) {
            if (log_due(++net->st.accept_nofd))
                fprintf(stderr, "cp_net: accept: %s (%llu so far): shedding the backlog\n",
                        strerror(-res), (unsigned long long)net->st.accept_nofd);
            shed_backlog(net);
            accept_backoff(net);
        } else if ((res == -ECONNABORTED || res == -EINTR) && ++net->accept_aborts < 8) {
            arm_accept(net); /* about one connection, not the listener */
        } else {
            if (log_due(++net->st.accept_errors))
                fprintf(stderr, "cp_net: accept: %s (%llu so far)\n", strerror(-res),
                        (unsigned long long)net->st.accept_errors);
            accept_backoff(net);
        }
        return;
    }
    net->accept_backoff = 0;
    net->accept_aborts = 0;
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);
    struct conn tmp = { .raddr = 0 };
    if (getpeername(res, (struct sockaddr *)&sin, &sl) == 0 && sin.sin_family == AF_INET)
        tmp.raddr = sin.sin_addr.s_addr;
    if (!accept_admit(net, &tmp)) {
        close(res);
        arm_accept(net);
        return;
    }
    tune_socket(net, res);
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL || (c->buf = malloc(PRE_MAX)) == NULL ||
        (net->cfg.tls && ((c->cin = malloc(TLS_IN)) == NULL ||
                          cp_tls_new(net->cfg.tls, true, 0, &c->tls) != 0))) {
        if (c) {
            free(c->buf);
            free(c->cin);
        }
        free(c);
        close(res);
    } else {
        c->net = net;
        c->fd = res;
        c->cap = PRE_MAX;
        c->raddr = tmp.raddr;
        c->t0_ms = cp_loop_now_ms();
        c->next = net->conns;
        if (net->conns)
            net->conns->prev = c;
        net->conns = c;
        net->st.inbound++;
        net->st.inbound_pending++;
        net->st.accepted++;
        conn_arm(c);
        hs_schedule(net);
    }
    arm_accept(net);
}

/* ---- outbound ---- */

static void peer_connect(struct peer *p);
static void peer_flush(struct peer *p);

static void fail_queue(struct peer *p, int status)
{
    struct frame *f = p->qhead;
    p->qhead = p->qtail = NULL;
    p->qbytes = 0;
    p->qmsgs = 0;
    while (f) {
        struct frame *next = f->next;
        if (f->req)
            f->req->cb(f->req, status);
        free(f);
        f = next;
    }
}

static void backoff_cb(struct cp_loop_timer *t)
{
    struct peer *p = t->data;
    if (p->state == P_WAIT && !p->net->closing)
        peer_connect(p);
}

/* Tear the connection down; once every operation on it returned, close the fd and
 * schedule a reconnect. */
static void peer_fail(struct peer *p, int err)
{
    struct cp_net *net = p->net;
    if (p->state != P_CLOSING) {
        if (p->fd >= 0)
            shutdown(p->fd, SHUT_RDWR);
        p->fail_err = err;
        p->state = P_CLOSING;
    }
    if (p->ops > 0)
        return;
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    p->writing = false;
    cp_tls_free(p->tls);
    p->tls = NULL;
    p->enc = 0;
    p->olen = p->osent = 0;
    fail_queue(p, net->closing ? -ECANCELED : -ENOTCONN);
    bool was_up = p->was_up;
    p->was_up = false;
    if (net->closing) {
        p->state = P_IDLE;
        maybe_finish(net);
        return;
    }
    p->state = P_WAIT;
    p->backoff = p->backoff ? p->backoff * 2 : net->cfg.backoff_min_ms;
    if (p->backoff > net->cfg.backoff_max_ms)
        p->backoff = net->cfg.backoff_max_ms;
    p->timer.data = p;
    cp_loop_timer_start(net->loop, &p->timer, p->backoff, 0, backoff_cb);
    if (was_up && net->cbs.peer_down)
        net->cbs.peer_down(net->cbs.arg, p->id, p->fail_err);
}

static void peer_recv_cb(struct cp_loop_req *req, int res);

/* p->rbuf holds the whole ACK: check it and go up. False: failed (peer_fail called). */
static bool peer_ack(struct peer *p)
{
    const uint8_t *h = p->rbuf, *b = p->rbuf + CP_NET_HDR;
    uint32_t crc = rumor_crc32c(rumor_crc32c(0, h + 8, 4), b, HELLO_LEN);
    if (rumor_be_ld32(h) != HELLO_LEN || crc != rumor_be_ld32(h + 4) || h[8] != T_ACK ||
        rumor_be_ld32(b) != HELLO_MAGIC || rumor_be_ld64(b + 8) != p->net->cfg.cluster_id ||
        rumor_be_ld64(b + 16) != p->id || rumor_be_ld64(b + 24) != p->net->cfg.self_id) {
        fprintf(stderr, "cp_net: node %llu answered with a bad handshake\n",
                (unsigned long long)p->id);
        peer_fail(p, -EPROTO);
        return false;
    }
    p->state = P_UP;
    p->was_up = true;
    p->backoff = 0;
    p->tls_fails = 0;
    p->rhave = 0;
    return true;
}

static void peer_tls_failed(struct peer *p)
{
    if (log_due(++p->tls_fails))
        fprintf(stderr, "cp_net: TLS to node %llu at %s failed: %s: %s (%llu in a row)\n",
                (unsigned long long)p->id, p->addr, cp_tls_fail_name(cp_tls_failure(p->tls)),
                cp_tls_error(p->tls), (unsigned long long)p->tls_fails);
    p->net->st.tls_out_failed++;
    peer_fail(p, -EPROTO);
}

/* Ciphertext from the acceptor: its handshake flight, then (decrypted) the ACK; anything
 * after the ACK is a protocol error, as in plaintext. */
static void peer_tls_in(struct peer *p, size_t n)
{
    if (cp_tls_feed(p->tls, p->pin, n) != 0) {
        peer_fail(p, -ENOMEM);
        return;
    }
    if (!cp_tls_done(p->tls)) {
        int rv = cp_tls_handshake(p->tls);
        if (rv == -EPROTO) {
            peer_tls_failed(p);
            return;
        }
        if (rv == 0 && cp_tls_write(p->tls, p->hello, sizeof(p->hello)) != 0) {
            peer_fail(p, -EPROTO);
            return;
        }
    }
    bool went_up = false;
    while (cp_tls_done(p->tls)) {
        uint8_t junk[1];
        long r = p->state == P_UP ? cp_tls_read(p->tls, junk, sizeof(junk))
                                  : cp_tls_read(p->tls, p->rbuf + p->rhave,
                                                sizeof(p->rbuf) - p->rhave);
        if (r == -EPROTO) { /* e.g. the acceptor's alert: it refused our certificate */
            peer_tls_failed(p);
            return;
        }
        if (r < 0) {
            peer_fail(p, (int)r);
            return;
        }
        if (r == 0)
            break;
        if (p->state == P_UP) {
            peer_fail(p, -EPROTO);
            return;
        }
        p->rhave += (size_t)r;
        if (p->rhave == sizeof(p->rbuf)) {
            if (!peer_ack(p))
                return;
            went_up = true;
        }
    }
    p->rreq.data = p;
    if (cp_loop_recv(p->net->loop, &p->rreq, p->fd, p->pin, TLS_IN, peer_recv_cb) != 0) {
        peer_fail(p, -EBUSY);
        return;
    }
    p->ops++;
    if (went_up && p->net->cbs.peer_up)
        p->net->cbs.peer_up(p->net->cbs.arg, p->id);
    peer_flush(p);
}

static void peer_recv_cb(struct cp_loop_req *req, int res)
{
    struct peer *p = req->data;
    p->ops--;
    if (p->state == P_CLOSING) {
        peer_fail(p, 0);
        return;
    }
    if (res <= 0) {
        peer_fail(p, res < 0 ? res : -ECONNRESET);
        return;
    }
    if (p->tls) {
        peer_tls_in(p, (size_t)res);
        return;
    }
    if (p->state != P_HANDSHAKE) {
        peer_fail(p, -EPROTO); /* the acceptor never sends after its ack */
        return;
    }
    p->rhave += (size_t)res;
    if (p->rhave < sizeof(p->rbuf)) {
        if (cp_loop_recv(p->net->loop, &p->rreq, p->fd, p->rbuf + p->rhave,
                         (unsigned)(sizeof(p->rbuf) - p->rhave), peer_recv_cb) == 0)
            p->ops++;
        else
            peer_fail(p, -EBUSY);
        return;
    }
    if (!peer_ack(p))
        return;
    /* Keep a read posted: its completion is how a dead peer is noticed. */
    if (cp_loop_recv(p->net->loop, &p->rreq, p->fd, p->rbuf, sizeof(p->rbuf),
                     peer_recv_cb) == 0)
        p->ops++;
    if (p->net->cbs.peer_up)
        p->net->cbs.peer_up(p->net->cbs.arg, p->id);
    peer_flush(p);
}

static void hello_sent_cb(struct cp_loop_req *req, int res)
{
    struct peer *p = req->data;
    p->ops--;
    if (p->state == P_CLOSING || res != (int)sizeof(p->hello))
        peer_fail(p, res < 0 ? res : -EPIPE);
}

static void connect_cb(struct cp_loop_req *req, int res)
{
    struct peer *p = req->data;
    p->ops--;
    if (p->state == P_CLOSING || res < 0) {
        peer_fail(p, res);
        return;
    }
    p->state = P_HANDSHAKE;
    hello_encode(p->hello, T_HELLO, p->net->cfg.cluster_id, p->net->cfg.self_id, p->id);
    p->creq.data = p;
    p->rreq.data = p;
    p->rhave = 0;
    if (p->net->cfg.tls) {
        /* the HELLO goes out inside the session once it is established (peer_tls_in) */
        if (cp_tls_new(p->net->cfg.tls, false, p->id, &p->tls) != 0) {
            peer_fail(p, -ENOMEM);
            return;
        }
        cp_tls_handshake(p->tls); /* -EAGAIN: the ClientHello is pending */
        if (cp_loop_recv(p->net->loop, &p->rreq, p->fd, p->pin, TLS_IN, peer_recv_cb) != 0) {
            peer_fail(p, -EBUSY);
            return;
        }
        p->ops++;
        peer_flush(p);
        return;
    }
    if (cp_loop_send(p->net->loop, &p->creq, p->fd, p->hello, sizeof(p->hello),
                     hello_sent_cb) == 0)
        p->ops++;
    if (cp_loop_recv(p->net->loop, &p->rreq, p->fd, p->rbuf, sizeof(p->rbuf),
                     peer_recv_cb) == 0)
        p->ops++;
    if (p->ops < 2)
        peer_fail(p, -EBUSY);
}

static void peer_connect(struct peer *p)
{
    if (p->new_addr[0]) {
        struct sockaddr_storage ss;
        socklen_t len;
        if (cp_net_parse_addr(p->new_addr, &ss, &len) == 0) {
            p->ss = ss;
            p->sslen = len;
            snprintf(p->addr, sizeof(p->addr), "%s", p->new_addr);
        }
        p->new_addr[0] = 0;
    }
    p->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (p->fd < 0) {
        p->state = P_CLOSING;
        peer_fail(p, -errno);
        return;
    }
    tune_socket(p->net, p->fd); /* before connect: bounds the SYN retries too */
    p->state = P_CONNECTING;
    p->creq.data = p;
    if (cp_loop_connect(p->net->loop, &p->creq, p->fd, (struct sockaddr *)&p->ss, p->sslen,
                        connect_cb) == 0)
        p->ops++;
    else
        peer_fail(p, -EBUSY);
}

static void pop_head(struct peer *p)
{
    struct frame *f = p->qhead;
    p->qhead = f->next;
    if (p->qhead == NULL)
        p->qtail = NULL;
    p->qbytes -= f->len;
    p->qmsgs--;
    if (f->req)
        f->req->cb(f->req, 0);
    free(f);
}

static void peer_send_cb(struct cp_loop_req *req, int res)
{
    struct peer *p = req->data;
    p->ops--;
    p->writing = false;
    if (p->state == P_CLOSING || res < 0) {
        peer_fail(p, res < 0 ? res : 0);
        return;
    }
    if (p->tls) {
        p->osent += (size_t)res;
        if (p->osent < p->olen) {
            p->wreq.data = p;
            if (cp_loop_send(p->net->loop, &p->wreq, p->fd, p->obuf + p->osent,
                             (unsigned)(p->olen - p->osent), peer_send_cb) != 0) {
                peer_fail(p, -EBUSY);
                return;
            }
            p->ops++;
            p->writing = true;
            return;
        }
        for (; p->enc > 0 && p->qhead; p->enc--)
            pop_head(p);
        p->enc = 0;
        peer_flush(p);
        return;
    }
    size_t left = (size_t)res;
    while (left > 0 && p->qhead) {
        struct frame *f = p->qhead;
        size_t rem = f->len - f->sent;
        if (left < rem) {
            f->sent += left;
            break;
        }
        left -= rem;
        p->qhead = f->next;
        if (p->qhead == NULL)
            p->qtail = NULL;
        p->qbytes -= f->len;
        p->qmsgs--;
        if (f->req)
            f->req->cb(f->req, 0);
        free(f);
    }
    peer_flush(p);
}

/* TLS: encrypt up to MAX_IOV queued frames (TLS_BATCH bytes) behind whatever the session
 * has pending (handshake, HELLO) and send it all as one buffer. */
static void peer_tls_flush(struct peer *p)
{
    if (p->writing || (p->state != P_UP && p->state != P_HANDSHAKE))
        return;
    p->olen = p->osent = 0;
    p->enc = 0;
    if (p->state == P_UP && p->qhead) {
        /* small frames share records (a 64-byte report would otherwise cost a record
         * header, a tag and a cipher call of its own) */
        size_t bytes = 0, sl = 0;
        int rv = 0;
        if (p->stage == NULL && (p->stage = malloc(TLS_REC)) == NULL) {
            peer_fail(p, -ENOMEM);
            return;
        }
        for (struct frame *f = p->qhead; f && p->enc < MAX_IOV && bytes < TLS_BATCH && rv == 0;
             f = f->next, p->enc++) {
            if (sl > 0 && sl + f->len > TLS_REC) {
                rv = cp_tls_write(p->tls, p->stage, sl);
                sl = 0;
            }
            if (rv == 0 && f->len >= TLS_REC) {
                rv = cp_tls_write(p->tls, f->data, f->len);
            } else if (rv == 0) {
                memcpy(p->stage + sl, f->data, f->len);
                sl += f->len;
            }
            bytes += f->len;
        }
        if (rv == 0 && sl > 0)
            rv = cp_tls_write(p->tls, p->stage, sl);
        if (rv != 0) {
            peer_fail(p, -EPROTO);
            return;
        }
    }
    size_t pend = cp_tls_pending(p->tls);
    if (pend == 0)
        return;
    if (pend > p->ocap) {
        uint8_t *b = realloc(p->obuf, pend);
        if (b == NULL) {
            peer_fail(p, -ENOMEM);
            return;
        }
        p->obuf = b;
        p->ocap = pend;
    }
    p->olen = cp_tls_take(p->tls, p->obuf, pend);
    p->wreq.data = p;
    if (cp_loop_send(p->net->loop, &p->wreq, p->fd, p->obuf, (unsigned)p->olen,
                     peer_send_cb) == 0) {
        p->ops++;
        p->writing = true;
    } else {
        peer_fail(p, -EBUSY);
    }
}

static void peer_flush(struct peer *p)
{
    if (p->tls) {
        peer_tls_flush(p);
        return;
    }
    if (p->writing || p->state != P_UP || p->qhead == NULL)
        return;
    unsigned n = 0;
    for (struct frame *f = p->qhead; f && n < MAX_IOV; f = f->next, n++) {
        p->iov[n].iov_base = f->data + f->sent;
        p->iov[n].iov_len = f->len - f->sent;
    }
    p->wreq.data = p;
    if (cp_loop_sendv(p->net->loop, &p->wreq, p->fd, p->iov, n, peer_send_cb) == 0) {
        p->ops++;
        p->writing = true;
    } else {
        peer_fail(p, -EBUSY);
    }
}

static struct peer *find_peer(const struct cp_net *net, uint64_t id)
{
    for (struct peer *p = net->peers; p; p = p->next)
        if (p->id == id)
            return p;
    return NULL;
}

int cp_net_add_peer(struct cp_net *net, uint64_t id, const char *addr)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (id == 0 || id == net->cfg.self_id || strlen(addr) >= 128 ||
        cp_net_parse_addr(addr, &ss, &len) != 0)
        return -EINVAL;
    if (net->closing)
        return -ESHUTDOWN;
    struct peer *p = find_peer(net, id);
    if (p) {
        if (strcmp(p->addr, addr) != 0)
            snprintf(p->new_addr, sizeof(p->new_addr), "%s", addr);
        return 0;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return -ENOMEM;
    if (net->cfg.tls && (p->pin = malloc(TLS_IN)) == NULL) {
        free(p);
        return -ENOMEM;
    }
    p->net = net;
    p->id = id;
    p->fd = -1;
    p->ss = ss;
    p->sslen = len;
    snprintf(p->addr, sizeof(p->addr), "%s", addr);
    p->next = net->peers;
    net->peers = p;
    peer_connect(p);
    return 0;
}

int cp_net_send(struct cp_net *net, uint64_t id, uint8_t type, uint16_t app_type,
                const struct iovec *iov, unsigned n, struct cp_net_send_req *req)
{
    if (net->closing)
        return -ESHUTDOWN;
    if (type != CP_NET_RAFT && type != CP_NET_APP)
        return -EINVAL;
    struct peer *p = find_peer(net, id);
    if (p == NULL)
        return -ENOENT;
    if (p->state == P_WAIT || p->state == P_CLOSING || p->state == P_IDLE)
        return -ENOTCONN;
    size_t len = 0;
    for (unsigned i = 0; i < n; i++)
        len += iov[i].iov_len;
    if (len > net->cfg.max_frame)
        return -EMSGSIZE;
    if (p->qhead != NULL && (p->qmsgs + 1 > net->cfg.max_queue_msgs ||
                             p->qbytes + len + CP_NET_HDR > net->cfg.max_queue_bytes))
        return -EAGAIN;
    struct frame *f = malloc(sizeof(*f) + CP_NET_HDR + len);
    if (f == NULL)
        return -ENOMEM;
    uint8_t *o = f->data + CP_NET_HDR;
    for (unsigned i = 0; i < n; i++) {
        if (iov[i].iov_len)
            memcpy(o, iov[i].iov_base, iov[i].iov_len);
        o += iov[i].iov_len;
    }
    frame_header(f->data, (uint32_t)len, type, app_type);
    f->len = CP_NET_HDR + len;
    f->sent = 0;
    f->req = req;
    f->next = NULL;
    if (p->qtail)
        p->qtail->next = f;
    else
        p->qhead = f;
    p->qtail = f;
    p->qbytes += f->len;
    p->qmsgs++;
    peer_flush(p);
    return 0;
}

bool cp_net_connected(const struct cp_net *net, uint64_t id)
{
    struct peer *p = find_peer(net, id);
    return p && p->state == P_UP;
}

unsigned cp_net_queued(const struct cp_net *net, uint64_t id)
{
    struct peer *p = find_peer(net, id);
    return p ? p->qmsgs : 0;
}

unsigned cp_net_port(const struct cp_net *net)
{
    return net->port;
}

void cp_net_get_stats(const struct cp_net *net, struct cp_net_stats *st)
{
    *st = net->st;
}

const struct cp_net_cfg *cp_net_cfg_get(const struct cp_net *net)
{
    return &net->cfg;
}

bool cp_net_secure(const struct cp_net *net)
{
    return net->cfg.tls != NULL;
}

static const char *const refusal_names[CP_NET_REFUSED_COUNT] = {
    [CP_NET_REFUSED_REPORTER] = "reporter", [CP_NET_REFUSED_VIEW] = "view_not_leader",
    [CP_NET_REFUSED_REPAIR] = "repair_not_leader", [CP_NET_REFUSED_RAFT] = "raft_sender",
};

const char *cp_net_refusal_name(enum cp_net_refusal what)
{
    return (unsigned)what < CP_NET_REFUSED_COUNT ? refusal_names[what] : "?";
}

void cp_net_count_refused(struct cp_net *net, enum cp_net_refusal what, uint64_t from)
{
    if ((unsigned)what >= CP_NET_REFUSED_COUNT)
        return;
    uint64_t n = ++net->st.refused_msgs[what];
    if (log_due(n))
        fprintf(stderr, "cp_net: refused a message from node %llu: %s (%llu so far)\n",
                (unsigned long long)from, refusal_names[what], (unsigned long long)n);
}

int cp_net_create(struct cp_loop *loop, const struct cp_net_cfg *cfg,
                  const struct cp_net_cbs *cbs, struct cp_net **out, char *errmsg)
{
    if (cfg->self_id == 0) {
        if (errmsg)
            snprintf(errmsg, 256, "node id 0 is invalid");
        return -EINVAL;
    }
    struct cp_net *net = calloc(1, sizeof(*net));
    if (net == NULL)
        return -ENOMEM;
    net->loop = loop;
    net->cfg = *cfg;
    if (cbs)
        net->cbs = *cbs;
    if (!net->cfg.max_queue_bytes)
        net->cfg.max_queue_bytes = 64u << 20;
    if (!net->cfg.max_queue_msgs)
        net->cfg.max_queue_msgs = 4096;
    if (!net->cfg.max_frame)
        net->cfg.max_frame = 256u << 20;
    if (!net->cfg.backoff_min_ms)
        net->cfg.backoff_min_ms = 50;
    if (!net->cfg.backoff_max_ms)
        net->cfg.backoff_max_ms = 2000;
    if (!net->cfg.dead_after_ms)
        net->cfg.dead_after_ms = 3000;
    if (!net->cfg.handshake_timeout_ms)
        net->cfg.handshake_timeout_ms = 2000;
    if (!net->cfg.max_inbound)
        net->cfg.max_inbound = 256;
    if (!net->cfg.max_inbound_per_addr)
        net->cfg.max_inbound_per_addr = 8;
    net->cfg.listen_addr = NULL;
    net->lfd = -1;
    net->reserve_fd = -1;
    if (cfg->listen_addr) {
        struct sockaddr_storage ss;
        socklen_t len;
        int rv = cp_net_parse_addr(cfg->listen_addr, &ss, &len);
        if (rv) {
            if (errmsg)
                snprintf(errmsg, 256, "bad listen address '%s'", cfg->listen_addr);
            free(net);
            return rv;
        }
        net->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(net->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        /* A deep backlog: a connection flood lands in the queue, where accept_admit sheds it
         * at once; with a shallow one the kernel drops the handshakes' last ACKs under load,
         * and those connections look open to their peer until SYN-ACK retries get through. */
        if (net->lfd < 0 || bind(net->lfd, (struct sockaddr *)&ss, len) != 0 ||
            listen(net->lfd, 4096) != 0) {
            rv = -errno;
            if (errmsg)
                snprintf(errmsg, 256, "listen on %s: %s", cfg->listen_addr, strerror(-rv));
            if (net->lfd >= 0)
                close(net->lfd);
            free(net);
            return rv;
        }
        struct sockaddr_in sin;
        socklen_t sl = sizeof(sin);
        getsockname(net->lfd, (struct sockaddr *)&sin, &sl);
        net->port = ntohs(sin.sin_port);
        net->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        arm_accept(net);
    }
    *out = net;
    return 0;
}

static void finish_cb(struct cp_loop_req *req, int res)
{
    (void)res;
    struct cp_net *net = req->data;
    for (struct peer *p = net->peers; p; p = p->next)
        if (!cp_loop_timer_idle(&p->timer)) {
            cp_loop_defer(net->loop, &net->close_req, 0, finish_cb); /* wait a turn */
            return;
        }
    if (!cp_loop_timer_idle(&net->accept_timer) || !cp_loop_timer_idle(&net->hs_timer)) {
        cp_loop_defer(net->loop, &net->close_req, 0, finish_cb);
        return;
    }
    while (net->peers) {
        struct peer *p = net->peers;
        net->peers = p->next;
        cp_tls_free(p->tls);
        free(p->pin);
        free(p->obuf);
        free(p->stage);
        free(p);
    }
    if (net->lfd >= 0)
        close(net->lfd);
    if (net->reserve_fd >= 0)
        close(net->reserve_fd);
    void (*cb)(void *) = net->close_cb;
    void *arg = net->close_arg;
    free(net);
    if (cb)
        cb(arg);
}

static void maybe_finish(struct cp_net *net)
{
    if (!net->closing || net->accepting || net->conns)
        return;
    for (struct peer *p = net->peers; p; p = p->next)
        if (p->ops > 0 || p->state == P_CLOSING)
            return;
    if (net->close_req.data == net)
        return; /* already scheduled */
    net->close_req.data = net;
    cp_loop_defer(net->loop, &net->close_req, 0, finish_cb);
}

void cp_net_close(struct cp_net *net, void (*cb)(void *arg), void *arg)
{
    net->closing = true;
    net->close_cb = cb;
    net->close_arg = arg;
    cp_loop_timer_stop(&net->accept_timer);
    cp_loop_timer_stop(&net->hs_timer);
    if (net->accepting) {
        shutdown(net->lfd, SHUT_RDWR);
        cp_loop_cancel(net->loop, &net->areq);
    }
    for (struct peer *p = net->peers; p; p = p->next) {
        cp_loop_timer_stop(&p->timer);
        if (p->state == P_WAIT || p->state == P_IDLE) {
            p->state = P_IDLE;
            fail_queue(p, -ECANCELED);
        } else {
            peer_fail(p, -ECANCELED);
        }
    }
    for (struct conn *c = net->conns, *next; c; c = next) {
        next = c->next;
        conn_kill(c);
    }
    maybe_finish(net);
}
