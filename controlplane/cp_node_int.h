/* cp_node_int: the node's private state, shared by the modules that make up one node (see
 * controlplane/README.md): each owns one part of struct cp_node and one job. Only the node's
 * own modules and its commands (cp_cmd, cp_members, cp_view, cp_metrics_node, cp_local_setup)
 * include this; everything else uses cp_node.h. */
#ifndef CP_NODE_INT_H
#define CP_NODE_INT_H

#include <raft.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cp_batch.h"
#include "cp_fetch.h"
#include "cp_gcfloor.h"
#include "cp_held.h"
#include "cp_jsonl.h"
#include "cp_olog.h"
#include "cp_report.h"
#include "cp_reqids.h"
#include "dp_client.h"
#include "rumor_config.h"
#include "rumor_wire.h"

#include "cp_env.h"
#include "cp_fsm.h"
#include "cp_loop.h"
#include "cp_net.h"
#include "cp_repair.h"
#include "cp_node.h"

struct cp_api;
struct cp_fsm;
struct cp_order;
struct cp_plog;
struct cp_view;
struct cp_tls_ctx;

#define LOG(n, fmt, ...) \
	fprintf(stderr, "rumor-cp[%u] " fmt "\n", (unsigned)(n)->self, ##__VA_ARGS__)

/* A recently applied event with its timestamp, for `events` and `watch`. */
struct cp_recent {
	uint64_t gseq;
	uint16_t origin;
	uint64_t seq;
	struct rumor_event_id id;
	char clock[256];
};
#define CP_RECENT 1024

struct cp_node_stats {
	uint64_t frames, events_new, events_known, frames_bad, held_full, frames_dup_announce;
	uint64_t reports_sent, report_bytes, reports_local, reports_refused, report_backpressure;
	uint64_t rereports;
	uint64_t batches_proposed, batch_events, apply_failed;
	uint64_t commits_reannounced;     /* idle commits told again to a follower that stored late */
	uint64_t pulls, pulls_failed, releases, release_ring_full;
	uint64_t originated, originate_refused, send_retries;
	uint64_t log_write_errors;
	uint64_t plog_refused;            /* frames not made durable (disk error): never reported */
	uint64_t plog_reads, plog_read_errors;
	uint64_t fetches_sent, fetch_served;
	uint64_t repairs_asked, repair_frames;  /* leader: runs asked for; holder: frames resent */
	uint64_t rereport_passes;         /* complete re-report passes told to the leader */
	uint64_t voter_sync_errors;        /* a configuration the order refused */
	uint64_t prefetches;              /* committed events asked from peers before the apply */
};

#include "cp_holder.h"
#include "cp_leader.h"
#include "cp_recovery.h"
#include "cp_subs.h"

struct cp_node {
	struct rumor_config cfg;
	const struct rumor_node_conf *me;
	uint16_t self;
	bool join;                        /* new node: never bootstrap, the leader adds it */
	char dir[RUMOR_CONFIG_PATH_MAX + 16];
	char api_path[RUMOR_CONFIG_PATH_MAX];

	struct cp_env env;                /* the world: dataplane, peers, time, randomness */
	uint64_t rng;                     /* rumor-cp's env.random state */
	uint64_t incarnation;             /* bumped each time the leader state is set up */
	struct cp_loop *loop;
	struct dp_client dp;
	/* Bytes of events one ORIGINATE holds: the dataplane's message objects (rumor_msg.h
	 * rumor_msg_originate_cap; more than RUMOR_MSG_ORIGINATE_DATA with jumbo frames), and
	 * the buffer send requests are packed into. */
	size_t orig_cap;
	uint8_t *sendbuf;
	/* Entries our dataplane's clock can hold now: the ids of the config, the Raft
	 * configuration and every origin the order has seen (cp_node_tick_slow). A send's event
	 * must fit a frame with a clock of that many entries. */
	unsigned clock_entries_max;
	bool dp_alive;
	struct cp_net *net;               /* control transport (created here, lent to raft_io) */
	struct cp_fsm *fsm;
	struct cp_order *order;
	struct raft *raft;               /* &raft_mem in rumor-cp; the fixture's in the simulator */
	struct raft raft_mem;
	struct raft_io io;
	struct cp_api *api;
	struct cp_tls_ctx *tls;           /* control-link TLS (cp_local.c); NULL: insecure */
	const char *local_path;           /* --node-config */
	struct cp_loop_timer *tick, *slow;
	struct cp_view *view;             /* partial view (cp_view.c), NULL when not running */
	raft_id leader;                   /* as Raft said at the last tick */

	struct cp_forge forge;            /* issue 14: forged copies we held, by hop sender */
	struct cp_holder hold;
	struct cp_recovery rec;
	struct cp_subs subs;
	struct cp_leader lead;

	/* the apply (cp_node.c) */
	struct rumor_wire_frame *aframe;  /* the frame of the event being applied ... */
	uint32_t aframe_slot;             /* ... and its slot (UINT32_MAX: none) */
	struct rumor_vc *ts;              /* scratch */
	struct rumor_vc *ats;             /* timestamp of the applied events of aframe */
	uint64_t *applied_through;        /* [RUMOR_NODE_ID_MAX + 1] */
	struct cp_recent *recent;         /* ring of CP_RECENT */
	struct cp_jsonl line;             /* scratch for per-event JSON lines */
	struct cp_olog olog;              /* ordered.log: the operator's export */
	struct cp_plog *plog;             /* payload log: what this node holds, on disk */
	struct raft_fsm fsm_hooks;        /* cp_fsm's raft_fsm with our snapshot hook */
	uint64_t *snap_applied[2];        /* applied_through at the last two snapshots */
	struct cp_gcfloor gcfloor;        /* what lagging members still fetch from our payload log */
	uint64_t *gc_covered;             /* [RUMOR_NODE_ID_MAX + 1] scratch of the GC hook */
	uint8_t *gcfloor_msg;             /* [CP_GCFLOOR_MSG_MAX] our APPLIED message */
	uint64_t gcfloor_sent_ms;
	bool members_sent;                /* cp_members: the last MEMBERS sent to the dataplane */
	uint64_t members_hash, members_ms;
	/* Members added at run time (rumorctl add): cfg.nodes[cfg_start_n..] were read from the
	 * config file later (cp_node_io.c learn_data_peers) and go to the dataplane as PEERs. */
	uint16_t cfg_start_n, peers_sent_n;
	uint64_t peers_sent_ms, peers_read_ms, peers_warn_ms;
	bool disk_low;                    /* free space below [storage] min_free_mb */
	uint64_t disk_free_mb;

	struct cp_node_stats st;
	struct cp_metrics *metrics;       /* /metrics server (rumor_cp.c), NULL: off */
	uint64_t started_ms;
	volatile int stop;
};

/* cp_node.c: the node's core, driven by its environment (rumor-cp: cp_node_io.c). */
int cp_node_init_core(struct cp_node *n);        /* after cfg, self, env, raft are set */
int cp_node_fsm_reload(struct cp_node *n);       /* rebuild the state machine from itself */
void cp_node_on_app(void *arg, uint64_t from, uint16_t type, const uint8_t *p, size_t len);
unsigned cp_node_poll_dataplane(struct cp_node *n); /* records taken */
void cp_node_tick(struct cp_node *n);             /* every 1 ms */
void cp_node_tick_slow(struct cp_node *n);        /* every 100 ms */

/* The environment, as the modules use it. */
static inline uint64_t cp_now_us(const struct cp_node *n)
{
	return n->env.now_us(n->env.arg);
}
static inline uint64_t cp_now_ms(const struct cp_node *n)
{
	return cp_now_us(n) / 1000;
}
static inline int cp_dp_alloc(struct cp_node *n, uint16_t type, struct rumor_msg **m)
{
	return n->env.dp_alloc(n->env.arg, type, m);
}
/* Send or free: a message the ring did not take is gone. */
static inline int cp_dp_send(struct cp_node *n, struct rumor_msg *m)
{
	int rc = n->env.dp_send(n->env.arg, m);
	if (rc < 0)
		n->env.dp_free(n->env.arg, m);
	return rc;
}
static inline int cp_peer_send(struct cp_node *n, uint64_t to, uint16_t type,
			       const struct iovec *iov, unsigned cnt)
{
	return n->env.peer_send(n->env.arg, to, type, iov, cnt);
}
static inline void cp_refused(struct cp_node *n, int reason, uint64_t from)
{
	n->env.refused(n->env.arg, reason, from);
}

#endif
