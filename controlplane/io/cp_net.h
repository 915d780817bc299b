/* cp_net: TCP transport between rumor-cp peers over cp_loop: handshake with cluster and
 * node ids, CRC32C-checked length-prefixed frames, coalesced writes, bounded queues; with a
 * cp_tls context every connection is mutually authenticated TLS 1.3 and the id a peer's
 * certificate names is the sender of everything it sends. */
#ifndef CP_NET_H
#define CP_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "cp_loop.h"
#include "cp_tls.h"

struct cp_net;

/* Frame types carried after the handshake. */
enum { CP_NET_RAFT = 3, CP_NET_APP = 4 };

/* Frame layout (big-endian, like everything in a control frame): u32 payload length,
 * u32 CRC32C over the 4 bytes that follow it and the payload, u8 type, u8 flags (0),
 * u16 app type, payload. */
#define CP_NET_HDR 12

struct cp_net_cfg {
    uint64_t cluster_id;
    uint64_t self_id;              /* > 0 */
    const char *listen_addr;       /* "host:port" (port 0: any), NULL: no listener */
    size_t max_queue_bytes;        /* per peer (0: 64 MiB); one oversize frame may pass
                                      when the queue is empty */
    unsigned max_queue_msgs;       /* per peer (0: 4096) */
    uint32_t max_frame;            /* largest accepted payload (0: 256 MiB) */
    unsigned backoff_min_ms;       /* reconnect backoff (0: 50) */
    unsigned backoff_max_ms;       /* (0: 2000) */
    unsigned dead_after_ms;        /* a connection whose data or keepalives go unanswered
                                      this long, or a connect unanswered, fails and is
                                      redialled (TCP_USER_TIMEOUT + keepalive; 0: 3000) */
    /* Inbound limits: anyone who can reach the port can open connections, so what one
     * costs before its HELLO is bounded (CP_NET_HDR + 32 bytes buffered, then closed). */
    unsigned handshake_timeout_ms; /* HELLO not complete by then: closed (0: 2000) */
    unsigned max_inbound;          /* open inbound connections in total (0: 256) */
    unsigned max_inbound_per_addr; /* from one remote address (0: 8) */
    /* Control-link TLS (not owned; must outlive net). NULL: plaintext, no authentication
     * (insecure = true): anyone reaching the port can claim any node id. With it, a HELLO
     * must claim the id the peer's certificate names, and a dialled peer's certificate must
     * name the id we dialled. */
    struct cp_tls_ctx *tls;
};

/* Messages an authenticated peer sent that the owner refused (cp_net_count_refused). */
enum cp_net_refusal {
    CP_NET_REFUSED_REPORTER, /* a report naming another reporter than its sender */
    CP_NET_REFUSED_VIEW,     /* a view assignment from a node that is not the leader */
    CP_NET_REFUSED_REPAIR,   /* a repair request from a node that is not the leader */
    CP_NET_REFUSED_RAFT,     /* a Raft message whose content names another sender */
    CP_NET_REFUSED_COUNT
};

/* Counters of the inbound side (closes are counted once, by their first reason). */
struct cp_net_stats {
    unsigned inbound;              /* open now (handshaken or not) */
    unsigned inbound_pending;      /* open now, HELLO not complete */
    uint64_t accepted;             /* connections accepted and kept */
    uint64_t refused_total;        /* closed at accept: max_inbound open */
    uint64_t refused_addr;         /* closed at accept: max_inbound_per_addr open */
    uint64_t handshake_timeouts;   /* closed: no HELLO within handshake_timeout_ms */
    uint64_t prehandshake_oversize; /* closed: a frame before HELLO declared > its size */
    uint64_t bad_hello;            /* closed: wrong type, magic, cluster or node id */
    uint64_t bad_frames;           /* handshaken, closed: over max_frame, bad CRC/flags/type */
    uint64_t accept_nofd;          /* accepts that failed with EMFILE/ENFILE */
    uint64_t shed_nofd;            /* connections accepted on the reserve fd and closed */
    uint64_t accept_errors;        /* other accept failures */
    uint64_t accept_backoffs;      /* accept re-arms delayed (10..100 ms) after a failure */
    /* TLS (inbound): handshakes refused per reason (index enum cp_tls_fail; [0] unused),
     * and HELLOs claiming another id than the certificate's */
    uint64_t tls_refused[CP_TLS_FAIL_COUNT];
    uint64_t hello_id_mismatch;
    uint64_t tls_handshakes;       /* inbound TLS handshakes completed */
    uint64_t tls_out_failed;       /* outbound handshakes that failed (any reason) */
    uint64_t refused_msgs[CP_NET_REFUSED_COUNT];
};

/* Callbacks; payload pointers are valid only during the call. Any may be NULL. */
struct cp_net_cbs {
    void *arg;
    void (*raft)(void *arg, uint64_t from, const uint8_t *p, size_t len);
    void (*app)(void *arg, uint64_t from, uint16_t app_type, const uint8_t *p, size_t len);
    /* Outbound connection to id finished its handshake. */
    void (*peer_up)(void *arg, uint64_t id);
    /* An established outbound connection to id was lost (err: -errno or -ECONNRESET). */
    void (*peer_down)(void *arg, uint64_t id, int err);
};

/* Completion of one queued message: status 0 once written to the socket, -ENOTCONN if the
 * connection died first, -ECANCELED on close. */
struct cp_net_send_req;
typedef void (*cp_net_send_cb)(struct cp_net_send_req *req, int status);
struct cp_net_send_req {
    void *data;
    cp_net_send_cb cb;
};

/* Create and start listening. Errors: -EINVAL (bad cfg or address), -ENOMEM, -errno of
 * socket/bind/listen (e.g. -EADDRINUSE). errmsg (256 bytes, may be NULL) says why. */
int cp_net_create(struct cp_loop *loop, const struct cp_net_cfg *cfg,
                  const struct cp_net_cbs *cbs, struct cp_net **out, char *errmsg);
/* Bound listening port (useful with port 0), or 0. */
unsigned cp_net_port(const struct cp_net *net);

/* Declare peer id at "host:port" and start connecting to it. Re-adding with another
 * address replaces it on the next reconnect. Errors: -EINVAL (id 0, self, bad address),
 * -ENOMEM. */
int cp_net_add_peer(struct cp_net *net, uint64_t id, const char *addr);

/* Queue one message (payload = concatenation of iov, copied) for peer id.
 * Errors: -ENOENT unknown peer, -ENOTCONN peer is backing off after a failure,
 * -EAGAIN queue full (backpressure: retry later), -EMSGSIZE over max_frame,
 * -EINVAL bad type, -ENOMEM, -ESHUTDOWN closing. On error req's callback never runs. */
int cp_net_send(struct cp_net *net, uint64_t id, uint8_t type, uint16_t app_type,
                const struct iovec *iov, unsigned n, struct cp_net_send_req *req);

/* True when the outbound connection to id is established. */
bool cp_net_connected(const struct cp_net *net, uint64_t id);
/* Messages currently queued for id (0 if unknown). */
unsigned cp_net_queued(const struct cp_net *net, uint64_t id);

/* The owner refused a message of an authenticated peer `from` (counted, logged sparsely). */
void cp_net_count_refused(struct cp_net *net, enum cp_net_refusal what, uint64_t from);
const char *cp_net_refusal_name(enum cp_net_refusal what);
/* True when links are TLS-authenticated (cfg.tls set). */
bool cp_net_secure(const struct cp_net *net);

/* Inbound counters; the effective limits (defaults applied) via cp_net_cfg_get. */
void cp_net_get_stats(const struct cp_net *net, struct cp_net_stats *st);
const struct cp_net_cfg *cp_net_cfg_get(const struct cp_net *net);

/* Close everything; queued messages complete with -ECANCELED; cb(arg) runs from the loop
 * once no operation is in flight, after which net is freed. */
void cp_net_close(struct cp_net *net, void (*cb)(void *arg), void *arg);

/* Parse "host:port" (IPv4 literal or name). 0 or -EINVAL. */
int cp_net_parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *len);

#endif
