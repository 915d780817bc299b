/* cp_env: everything the node's modules (holder, leader, recovery, subscriptions) need from
 * the world, as a small versioned table of functions. rumor-cp fills it over its dataplane
 * rings, control transport and io_uring loop (cp_node.c); a simulator fills it in memory.
 * Nothing in those modules calls dp_client, cp_net or the loop's clock directly. */
#ifndef CP_ENV_H
#define CP_ENV_H

#include <stdint.h>
#include <sys/uio.h>

#include "rumor_msg.h"

#define CP_ENV_VERSION 1

struct cp_env {
	unsigned version;             /* CP_ENV_VERSION: cp_node_start refuses another */
	void *arg;
	/* A message for the dataplane: taken from the shared pool (-ENOBUFS: empty) ... */
	int (*dp_alloc)(void *arg, uint16_t type, struct rumor_msg **out);
	/* ... and queued on its ring: 0, or -ENOBUFS with @m still the caller's */
	int (*dp_send)(void *arg, struct rumor_msg *m);
	void (*dp_free)(void *arg, struct rumor_msg *m);
	/* The dataplane's records for us (NEW_FRAME, ORIGINATE_ACK, ...): up to @max, each
	 * given back with dp_free */
	unsigned (*dp_recv)(void *arg, struct rumor_msg **msgs, unsigned max);
	/* An APP message to a peer's controlplane (cp_app_type): 0, -EAGAIN (backpressure),
	 * another -errno (not connected, unknown peer: dropped) */
	int (*peer_send)(void *arg, uint64_t to, uint16_t type, const struct iovec *iov,
			 unsigned n);
	/* An authenticated peer sent what its identity does not allow (cp_net_refusal). */
	void (*refused)(void *arg, int reason, uint64_t from);
	uint64_t (*now_us)(void *arg); /* monotonic */
	uint64_t (*random)(void *arg);
	/* Optional (NULL: nothing): the leader sends every follower an empty AppendEntries now,
	 * carrying its commit index (cp_leader.c, announce_commit) */
	void (*raft_heartbeat)(void *arg);
};

#endif
