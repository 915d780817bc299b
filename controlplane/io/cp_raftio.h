/* cp_raftio: libraft 0.15 `struct raft_io` (version 2) over cp_loop + cp_net + cp_disk,
 * and the codec for Raft messages carried in cp_net RAFT frames (big-endian, as the frame;
 * the entries' bodies are opaque bytes, little-endian cp_batch records as in the Raft log). */
#ifndef CP_RAFTIO_H
#define CP_RAFTIO_H

#include <raft.h>
#include <stdbool.h>
#include <stdint.h>

#include "cp_disk.h"
#include "cp_loop.h"
#include "cp_net.h"

struct cp_raftio_cfg {
    const char *dir;          /* data directory (created if missing) */
    uint64_t cluster_id;      /* must match on every peer */
    uint64_t seed;            /* PRNG seed for io->random (mixed with the node id) */
    size_t segment_size;      /* 0: 8 MiB */
    bool rwf_dsync;           /* see cp_disk_cfg */
    /* Clock for io->time in ms; NULL uses cp_loop_now_ms. Tests drive time with it. */
    raft_time (*time)(void *arg);
    void *time_arg;
    /* APP frames and peer up/down go here (the .raft member is ignored). */
    struct cp_net_cbs app;
    /* Transport limits (0: cp_net defaults). */
    size_t max_queue_bytes;
    unsigned max_queue_msgs;
    /* Control-link TLS (cp_net_cfg.tls; NULL: plaintext). */
    struct cp_tls_ctx *tls;
    /* The owner's transport: created (with cp_raftio_net_raft as its .raft callback and the
     * raft_io as that callback's arg) and closed by the owner, after raft's close callback.
     * NULL: raft_io creates its own at io->init from the fields above and closes it. */
    struct cp_net *net;
};

/* Fill io (version 2) with our implementation. No I/O happens until raft calls
 * io->init. cfg is copied (dir too). Errors: -ENOMEM. */
int cp_raftio_init(struct raft_io *io, struct cp_loop *loop, const struct cp_raftio_cfg *cfg);
/* Free what cp_raftio_init allocated; only after raft's close callback ran (or if raft
 * never started). */
void cp_raftio_close(struct raft_io *io);
/* Tell the transport where node id listens ("host:port"). Addresses are also learnt from
 * raft's own sends. Errors: -EINVAL, -ENOMEM, -ENOTCONN (io->init not called yet). */
int cp_raftio_add_peer(struct raft_io *io, raft_id id, const char *addr);
/* cp_net_cbs.raft for an owner's transport (cfg.net): @arg is the struct raft_io. */
void cp_raftio_net_raft(void *arg, uint64_t from, const uint8_t *p, size_t len);
/* The transport, for APP messages of the owner; NULL before io->init. */
struct cp_net *cp_raftio_net(struct raft_io *io);
/* Run raft's tick callback now (after io->start; nothing before or while closing). Only
 * from outside raft's own callbacks, as the loop's timer calls it. */
void cp_raftio_tick_now(struct raft_io *io);
/* The disk, for stats; NULL before io->init. */
struct cp_disk *cp_raftio_disk(struct raft_io *io);

/* Encode msg into a raft_malloc'd buffer (entries' and snapshot data copied).
 * Errors: -ENOMEM, -EINVAL (unknown type). */
int cp_raftmsg_encode(const struct raft_message *msg, struct raft_buffer *out);
/* Decode strictly (exact length, known type and entry types, sane counts). On success
 * entries/snapshot data are raft_malloc'd and owned by the receiver, as raft expects from
 * recv_cb; server_id/server_address are left for the caller. Errors: -EBADMSG, -ENOMEM. */
int cp_raftmsg_decode(const uint8_t *p, size_t len, struct raft_message *msg);
/* Release what decode allocated, for messages not handed to raft. */
void cp_raftmsg_free(struct raft_message *msg);

#endif
