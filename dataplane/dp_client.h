/* Secondary-process client of rumor-dp: attach to its rings, message pool and stats by the
 * fixed names of rumor_msg.h (same EAL --file-prefix, --proc-type=secondary), exchange
 * messages, and tell whether the dataplane is alive. Used by rumor-cp and rumor-dp-probe. */
#ifndef DP_CLIENT_H
#define DP_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "rumor_msg.h"

struct rte_ring;
struct rte_mempool;

struct dp_client {
	struct rte_ring *dp2cp;     /* worker 0's (every record of a one-worker rumor-dp) */
	struct rte_ring *dp2cp_w[RUMOR_DP2CP_RINGS_MAX]; /* every worker's, [0] = dp2cp */
	unsigned n_dp2cp;
	unsigned next_dp2cp;        /* where the next receive starts: no worker waits behind one */
	struct rte_ring *cp2dp;
	struct rte_mempool *pool;
	size_t msg_size;            /* its objects' size: rumor_msg_originate_cap(msg_size) */
	const struct rumor_dp_stats *stats;
	struct dp_wake *wake; /* NULL: no wake-ups (dp_client_attach_wake not called, old rumor-dp) */
	int dp_efd, cp_efd;   /* our copies of rumor-dp's eventfds, -1 without */
};

/* Look up the shared objects (call after rte_eal_init). Returns 0, or -ENOENT when rumor-dp
 * has not created them (not running, or another --file-prefix). */
int dp_client_attach(struct dp_client *c);

/* Wake-ups both ways (dataplane/dp_wake.h): dp_client_send wakes a sleeping rumor-dp, and
 * rumor-dp makes dp_client_wake_fd() readable when it queues work for a client that said
 * dp_client_idle(). Returns 0, or -ENOENT (a rumor-dp without wake-ups: the caller polls),
 * or the -errno of pidfd_open/pidfd_getfd. */
int dp_client_attach_wake(struct dp_client *c);
/* Close our copies of rumor-dp's eventfds (no more wake-ups either way); idempotent. */
void dp_client_detach_wake(struct dp_client *c);
/* The eventfd rumor-dp writes after dp2cp work for an idle client (-1 without wake-ups). */
int dp_client_wake_fd(const struct dp_client *c);
/* Done with dp2cp for now: ask rumor-dp for a wake-up at its next record. false when dp2cp
 * already holds work (poll again instead of waiting). */
bool dp_client_idle(struct dp_client *c);

/* Take a zeroed message of @type from the shared pool. Returns 0 or -ENOBUFS. */
int dp_client_msg_alloc(struct dp_client *c, uint16_t type, struct rumor_msg **out);

/* Give a message back to the pool (after reading a dp2cp message, or an unsent one). */
void dp_client_msg_free(struct dp_client *c, struct rumor_msg *msg);
void dp_client_msg_free_bulk(struct dp_client *c, struct rumor_msg **msgs, unsigned n);

/* Queue @msg to the dataplane; on success the dataplane owns it. Returns 0 or -ENOBUFS
 * (ring full: the caller still owns @msg). */
int dp_client_send(struct dp_client *c, struct rumor_msg *msg);

/* Up to @max dp2cp messages into @msgs, from every worker's ring (each ring's in order;
 * the workers' records interleave as they did in one shared ring); returns how many. The
 * caller frees them. */
unsigned dp_client_recv_burst(struct dp_client *c, struct rumor_msg **msgs, unsigned max);

/* Messages waiting in the dp2cp rings. */
unsigned dp_client_pending(const struct dp_client *c);

/* Dataplane statistics (live, written by rumor-dp). */
const struct rumor_dp_stats *dp_client_stats(const struct dp_client *c);

/* true when rumor-dp's heartbeat is younger than @max_age_ms and its pid exists. */
bool dp_client_alive(const struct dp_client *c, unsigned max_age_ms);

#endif
