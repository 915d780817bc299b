/* Messages between the planes. Each message is one fixed-size object from a shared mempool
 * in hugepage memory; rte_rings carry pointers to them (DPDK multi-process style), so both
 * planes read them in place. dp2cp: rumor-dp -> rumor-cp; cp2dp: the other way.
 * Names of the shared objects are fixed; per-node separation comes from EAL --file-prefix. */
#ifndef RUMOR_MSG_H
#define RUMOR_MSG_H

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rumor_be.h"
#include "rumor_eventid.h"
#include "rumor_tsrule.h"
#include "rumor_vc.h"

#define RUMOR_SHM_DP2CP_RING "rumor_dp2cp"
/* [dataplane] workers > 1: worker w > 0 reports into its own SPSC ring "rumor_dp2cp<w>"
 * (no producer shares a ring: no CAS per record); rumor-cp drains them all */
#define RUMOR_SHM_DP2CP_RING_FMT "rumor_dp2cp%u"
#define RUMOR_DP2CP_RINGS_MAX 8
#define RUMOR_SHM_CP2DP_RING "rumor_cp2dp"
#define RUMOR_SHM_MSG_POOL "rumor_msg_pool"
#define RUMOR_SHM_STATS_MZ "rumor_dp_stats"
#define RUMOR_SHM_STORE_POOL "rumor_store_pool"

#define RUMOR_MSG_SIZE 4096u          /* object size in RUMOR_SHM_MSG_POOL */
#define RUMOR_MSG_RING_SIZE 4096u     /* entries in each ring (power of two) */
#define RUMOR_MSG_POOL_SIZE (3u * RUMOR_MSG_RING_SIZE)

enum rumor_msg_type {
	/* dp -> cp */
	RUMOR_MSG_NEW_FRAME = 1,     /* a frame held for the first time (received or originated) */
	RUMOR_MSG_ORIGINATE_ACK = 2, /* outcome of one ORIGINATE */
	RUMOR_MSG_PULL_FAILED = 3,   /* gave up pulling a range */
	RUMOR_MSG_EXPIRE = 4,        /* u.release: a frame held unordered past the dataplane's
					age bound; the cp releases it once it no longer needs the
					slot (its payload log has the events), else keeps it */
	/* cp -> dp */
	RUMOR_MSG_ORIGINATE = 64,    /* client bytes to stamp and gossip */
	RUMOR_MSG_VIEW = 65,         /* new partial view (fan-out targets) */
	RUMOR_MSG_RELEASE = 66,      /* ordered and applied: free the stored frame */
	RUMOR_MSG_PULL = 67,         /* fetch a missing range from peers */
	RUMOR_MSG_RESYNC = 68,       /* cp (re)attached: send NEW_FRAME for every held frame */
	RUMOR_MSG_SEND_TO = 69,      /* repair: send a held frame to these peers */
	RUMOR_MSG_MEMBERS = 70,      /* Raft configuration + ordered-through seqs (tsrule) */
	RUMOR_MSG_SEQ_FLOOR = 71,    /* the cluster has seen our seqs through this: stamp above */
	RUMOR_MSG_KEYRING = 72,      /* the replicated gossip keyring (issue 14) */
	RUMOR_MSG_PEER = 73,         /* a member added at run time: its data address */
};

/* A stored frame: the rumor part (fixed header + body, see rumor_wire.h) lives in the event
 * store in shared memory at @frame until the cp releases @slot. */
struct rumor_msg_new_frame {
	uint16_t origin;
	uint16_t from;               /* the neighbour it came from, 0 when originated here */
	uint16_t count;              /* events in the frame */
	uint16_t flags;              /* RUMOR_NEW_FRAME_* */
	uint32_t slot;               /* event store slot, for RELEASE */
	uint32_t frame_len;
	uint64_t first_seq;
	const uint8_t *frame;        /* valid in both processes (same hugepage mapping) */
	struct rumor_vc holder_clock;/* this node's clock right after merging the frame */
};
#define RUMOR_NEW_FRAME_PULLED 0x1
#define RUMOR_NEW_FRAME_RESYNC 0x2

/* Client events to originate: @count events packed as (u16 len little-endian, bytes); packed
 * and walked only through rumor_msg_originate_put/_add/_next below. */
#define RUMOR_MSG_ORIGINATE_DATA (RUMOR_MSG_SIZE - 32u)
struct rumor_msg_originate {
	uint64_t req_id;
	uint16_t count;
	uint16_t data_len;
	uint8_t data[RUMOR_MSG_ORIGINATE_DATA];
};

struct rumor_msg_originate_ack {
	uint64_t req_id;
	int32_t status;              /* 0, -ENOSPC store full, -EMSGSIZE event too large,
					-EINVAL malformed request */
	uint16_t count;
	uint16_t origin;
	uint64_t first_seq;          /* the events got first_seq .. first_seq+count-1 */
};

struct rumor_msg_view {
	uint16_t n;
	uint16_t node[RUMOR_VC_MAX_ENTRIES];
};

struct rumor_msg_release {
	uint32_t slot;
	uint16_t origin;
	uint64_t first_seq;          /* sanity check against the slot's frame */
	uint64_t ordered_through;    /* origin's events through this seq are ordered: the
					dedupe watermark may move up to it */
};

struct rumor_msg_pull {
	uint16_t origin;
	uint16_t hint;               /* a node known to hold it, 0 for any peer */
	uint16_t count;
	uint64_t first_seq;
};

struct rumor_msg_send_to {
	uint32_t slot;
	uint16_t origin;             /* sanity check against the slot's frame, with first_seq */
	uint16_t n;
	uint64_t first_seq;
	uint16_t peer[RUMOR_VC_MAX_ENTRIES];
};

/* What incoming timestamps are checked against (rumor_tsrule.h): the ids of the Raft
 * configuration (all roles) and, per node with anything ordered, its committed-through seq
 * (members and former members alike). Sent on configuration changes and periodically. */
struct rumor_msg_members {
	uint16_t n;                  /* members */
	uint16_t nreached;           /* (reached_node, reached_seq) pairs */
	uint16_t node[RUMOR_VC_MAX_ENTRIES];
	uint16_t reached_node[RUMOR_VC_MAX_ENTRIES];
	uint64_t reached_seq[RUMOR_VC_MAX_ENTRIES];
};

/* A node whose seq reservation was lost (wiped state dir) must not stamp a seq the cluster
 * already saw from it: rumor-cp learns the highest one from the leader and its own logs. */
struct rumor_msg_seq_floor {
	uint64_t floor;
};

/* A member of the Raft configuration that rumor-dp's config file did not name when it started
 * (rumorctl add): its [node.ID] data address, from the config file as rumor-cp reads it now.
 * rumor-dp adds it as a peer (template, ARP entry, static view) and takes its frames as a
 * member's; a known id changes nothing. rumor-cp sends it when it learns the member and
 * again every second (CP_PEERS_PERIOD_MS), for a restarted rumor-dp. */
struct rumor_msg_peer {
	uint16_t id;
	uint8_t mac[6];
	uint8_t mac_arp;             /* 1: mac = arp (resolved by ARP) */
	uint32_t ip;                 /* host order */
};

/* The replicated keyring as rumor-cp's state machine holds it (cp_fsm.h struct
 * cp_fsm_keyring: how it combines with the [auth] keyring file). Sent on every accepted
 * keyring entry and again while the dataplane's stats show an older @gen; the dataplane
 * takes a @gen above the one it has, then wipes the key bytes of the message object
 * (the pool is shared hugepage memory). 16 keys: 3 + 32 + 16 * 33 + 8 = 571 bytes. */
#define RUMOR_MSG_KEYRING_MAX 16
struct rumor_msg_keyring {
	uint64_t gen;
	uint8_t use;                 /* 0: the file's use */
	uint8_t n;
	uint8_t removed[32];         /* bitmap by key id */
	struct {
		uint8_t id;
		uint8_t key[32];
	} keys[RUMOR_MSG_KEYRING_MAX];
};

struct rumor_msg {
	uint16_t type;
	uint16_t reserved;
	uint32_t reserved2;
	union {
		struct rumor_msg_new_frame new_frame;
		struct rumor_msg_originate originate;
		struct rumor_msg_originate_ack originate_ack;
		struct rumor_msg_view view;
		struct rumor_msg_release release;
		struct rumor_msg_pull pull;
		struct rumor_msg_pull pull_failed;
		struct rumor_msg_send_to send_to;
		struct rumor_msg_members members;
		struct rumor_msg_seq_floor seq_floor;
		struct rumor_msg_keyring keyring;
		struct rumor_msg_peer peer;
	} u;
};

static_assert(sizeof(struct rumor_msg) <= RUMOR_MSG_SIZE, "message object too small");

/* Jumbo frames (issue 18): an event of up to ~9 KiB fits one frame at MTU 9000 and not the
 * RUMOR_MSG_ORIGINATE_DATA of a RUMOR_MSG_SIZE object. rumor-dp then makes the pool's objects
 * larger (rumor_msg_size_for_event), and an ORIGINATE's events run on past the declared array
 * to the object's end: rumor_msg_originate_cap(the pool's object size) bytes. Writes past the
 * array go through rumor_msg_originate_data (the address from the object, not the member,
 * so no compiler or _FORTIFY_SOURCE check holds them to the array's size). */
#define RUMOR_MSG_ORIGINATE_OFF offsetof(struct rumor_msg, u.originate.data)
static inline uint8_t *rumor_msg_originate_data(struct rumor_msg *msg)
{
	return (uint8_t *)msg + RUMOR_MSG_ORIGINATE_OFF;
}
/* The array grows by what the object has over RUMOR_MSG_SIZE: RUMOR_MSG_ORIGINATE_DATA in a
 * default object, as before. */
static inline size_t rumor_msg_originate_cap(size_t obj_size)
{
	return obj_size - (RUMOR_MSG_SIZE - RUMOR_MSG_ORIGINATE_DATA);
}
/* Object size for ORIGINATEs holding one event of @max_event bytes (at least RUMOR_MSG_SIZE,
 * whole cache lines). */
static inline size_t rumor_msg_size_for_event(size_t max_event)
{
	size_t need = (RUMOR_MSG_SIZE - RUMOR_MSG_ORIGINATE_DATA + 2 + max_event + 63) &
		      ~(size_t)63;

	return need > RUMOR_MSG_SIZE ? need : RUMOR_MSG_SIZE;
}

/* Append one event (u16 little-endian length, bytes) to packed events at @data + *@off,
 * @cap bytes in all; *@off moves past it. Returns 0 or -EMSGSIZE when it does not fit. The
 * API's send requests are packed with it too, then copied into an ORIGINATE. */
static inline int rumor_msg_originate_put(uint8_t *data, size_t cap, size_t *off,
					  const void *payload, uint16_t len)
{
	if (*off > cap || cap - *off < 2u + len)
		return -EMSGSIZE;
	rumor_le_st16(data + *off, len);
	if (len)
		memcpy(data + *off + 2, payload, len);
	*off += 2u + len;
	return 0;
}

/* Append one event to an ORIGINATE message of a @obj_size-byte object (count and data_len
 * follow). Returns 0 or -EMSGSIZE when the message has no room for it. */
static inline int rumor_msg_originate_add_in(struct rumor_msg *msg, size_t obj_size,
					     const void *payload, uint16_t len)
{
	struct rumor_msg_originate *o = &msg->u.originate;
	size_t off = o->data_len;
	int rc = rumor_msg_originate_put(rumor_msg_originate_data(msg),
					 rumor_msg_originate_cap(obj_size), &off, payload, len);

	if (rc == 0) {
		o->data_len = (uint16_t)off;
		o->count++;
	}
	return rc;
}

/* The same in a RUMOR_MSG_SIZE object (a struct rumor_msg of its own, or the default pool's). */
static inline int rumor_msg_originate_add(struct rumor_msg *msg, const void *payload,
					  uint16_t len)
{
	return rumor_msg_originate_add_in(msg, RUMOR_MSG_SIZE, payload, len);
}

/* The next packed event at @data + *@off (@data_len bytes in all): *@payload, *@len, and
 * *@off moves past it. Returns 1 for an event, 0 at the end (*@off == @data_len), -EINVAL
 * when what is left is not a whole event (its length or bytes cut short). */
static inline int rumor_msg_originate_next(const uint8_t *data, size_t data_len, size_t *off,
					   const uint8_t **payload, uint16_t *len)
{
	if (*off >= data_len)
		return *off == data_len ? 0 : -EINVAL;
	if (data_len - *off < 2)
		return -EINVAL;
	uint16_t n = rumor_le_ld16(data + *off);
	if (data_len - *off - 2 < n)
		return -EINVAL;
	*payload = data + *off + 2;
	*len = n;
	*off += 2u + n;
	return 1;
}

/* Per-source budgets of the dataplane (issue 13): frames and requests refused because one
 * origin, one link source or one requester used its share. Counted at index reason - 1. */
enum rumor_dp_budget {
	RUMOR_DP_BUDGET_ORIGIN = 1,    /* the frame's origin holds its store_peer_cap slots */
	RUMOR_DP_BUDGET_SOURCE = 2,    /* the member it came from (MAC + IP) holds its share */
	RUMOR_DP_BUDGET_STRANGER = 3,  /* from a MAC/IP of no configured node: shared small share */
	RUMOR_DP_BUDGET_NONMEMBER = 4, /* origin not in the configuration: never takes a slot */
	RUMOR_DP_BUDGET_REPAIR = 5,    /* unasked PULL_RESP past the origin cap and its repair
					  allowance */
	RUMOR_DP_BUDGET_PULL_RATE = 6, /* PULL_REQ over its requester's token bucket */
	RUMOR_DP_BUDGET_PULL_SOURCE = 7, /* PULL_REQ whose sender field is not its MAC + IP */
};
#define RUMOR_DP_BUDGET_NREASONS 7

static inline const char *rumor_dp_budget_name(int reason)
{
	static const char *const names[RUMOR_DP_BUDGET_NREASONS] = {
		"origin_cap", "source_cap", "stranger_cap", "nonmember_origin", "repair_cap",
		"pull_rate", "pull_source",
	};
	return reason >= 1 && reason <= RUMOR_DP_BUDGET_NREASONS ? names[reason - 1] : (void *)0;
}

/* ARP and link counters of the dataplane (issue 18: dataplane/dp_arp.h, dp_link.h),
 * rumor_dp_stats.nic[] by this index, names rumor_dp_nic_name(). */
enum rumor_dp_nic {
	RUMOR_DP_ARP_REQ_RX = 0,     /* requests for our IP (answered) */
	RUMOR_DP_ARP_REPLY_TX,       /* ... our replies */
	RUMOR_DP_ARP_REQ_TX,         /* requests we sent for peers without a static MAC */
	RUMOR_DP_ARP_REPLY_RX,       /* replies to our requests, taken */
	RUMOR_DP_ARP_RESOLVED,       /* a dynamic peer got (or changed) its MAC */
	RUMOR_DP_ARP_EXPIRED,        /* a dynamic peer's MAC dropped: refresh unanswered */
	RUMOR_DP_ARP_MALFORMED,      /* not Ethernet/IPv4 ARP, short, bad opcode or MAC */
	RUMOR_DP_ARP_FOREIGN,        /* about other hosts only: ignored */
	RUMOR_DP_ARP_UNSOLICITED,    /* a claim for a resolved dynamic peer we did not ask */
	RUMOR_DP_ARP_STATIC_CONFLICT, /* a claim for a static peer with another MAC: ignored */
	RUMOR_DP_ARP_IP_CONFLICT,    /* someone else claims our IP */
	RUMOR_DP_LINK_DOWN_EVENTS,   /* link transitions up -> down */
	RUMOR_DP_LINK_UP_EVENTS,     /* ... down -> up */
	RUMOR_DP_LINK_LSC,           /* LSC interrupts seen (0: the PMD has none, polled) */
	RUMOR_DP_ARP_HELD,           /* frames held for an unresolved peer (dataplane/dp_hold.h) */
	RUMOR_DP_ARP_RELEASED,       /* ... sent once it resolved (the rest: drops arp_hold_*) */
	RUMOR_DP_NIC_N
};

static inline const char *rumor_dp_nic_name(int i)
{
	static const char *const names[RUMOR_DP_NIC_N] = {
		"arp_req_rx", "arp_reply_tx", "arp_req_tx", "arp_reply_rx", "arp_resolved",
		"arp_expired", "arp_malformed", "arp_foreign", "arp_unsolicited",
		"arp_static_conflict", "arp_ip_conflict", "link_down_events", "link_up_events",
		"link_lsc", "arp_held", "arp_released",
	};
	return i >= 0 && i < RUMOR_DP_NIC_N ? names[i] : (void *)0;
}

/* Dataplane statistics, in memzone RUMOR_SHM_STATS_MZ; written by rumor-dp only. */
/* dataplane/dp_node.h enum dp_drop: 0..39 are named, grow this to add more */
#define RUMOR_DP_DROP_REASONS 40
struct rumor_dp_stats {
	volatile uint64_t heartbeat_tsc;     /* rte_rdtsc() at the last main-loop pass */
	uint64_t tsc_hz;
	int32_t pid;
	uint16_t node_id;
	uint16_t port_id;
	uint64_t rx_pkts, rx_bytes, tx_pkts, tx_bytes, tx_full;
	uint64_t rx_frames_new, rx_frames_dup, rx_frames_late;
	uint64_t rx_events_new;
	uint64_t drops[RUMOR_DP_DROP_REASONS];   /* indexed by rumor_wire_err_index() */
	uint64_t originated_events, originated_frames, originate_refused;
	uint64_t fanout_frames;
	uint64_t store_used, store_cap, store_full;
	uint64_t ring_full_dp2cp;
	uint64_t pull_sent, pull_served, pull_failed;
	uint64_t arp_rx, arp_tx;
	uint64_t repair_sent;                /* frames sent on a SEND_TO (leader's repair) */
	uint64_t seq_floor_raised;           /* SEQ_FLOOR moved our next seq up (lost reservation) */
	uint64_t acks_queued;                /* ORIGINATE_ACKs that waited for room in dp2cp */
	/* frames dropped by the timestamp rule, indexed by rumor_ts_reason - 1 */
	uint64_t ts_drops[RUMOR_TS_NREASONS];
	uint64_t members_updates;            /* MEMBERS messages applied */
	uint32_t members_n;                  /* members the rule uses now */
	uint32_t members_from_cp;            /* 0: still the config file's node list */
	uint32_t peers_added;                /* members added at run time (RUMOR_MSG_PEER) */
	uint32_t peers_refused;              /* ... refused: config full, IP of another node */
	/* budget refusals, indexed by rumor_dp_budget - 1 */
	uint64_t budget_drops[RUMOR_DP_BUDGET_NREASONS];
	uint64_t expire_asked;               /* EXPIRE sent: frames held past the age bound */
	uint64_t aged_out;                   /* released by the cp after an EXPIRE */
	uint64_t stranger_used;              /* slots held by frames from strangers */
	/* gossip keyring (issue 14; dataplane/dp_keyring.c) */
	uint64_t keyring_gen;                /* replicated keyring generation in use, 0: file */
	uint64_t keyring_updates;            /* KEYRING messages swapped in */
	uint64_t keyring_refused;            /* KEYRING messages refused (see dp_keyring.c) */
	uint64_t keyring_swap_ns;            /* CLOCK_REALTIME of the last swap, 0: none */
	uint8_t auth_use;                    /* key id we seal with now */
	uint8_t auth_keys[32];               /* bitmap of the key ids we accept now */
	uint64_t auth_rx_by_key[256];        /* frames whose hop tag verified, by key id */
	/* real NICs (issue 18): ARP and link state, by rumor_dp_nic */
	uint64_t nic[RUMOR_DP_NIC_N];
	uint32_t link_up;                    /* 1: the port's link is up now */
	uint32_t link_speed;                 /* Mbit/s the PMD reports (0: unknown) */
	uint32_t arp_unresolved;             /* peers without a MAC now (gossip to them held) */
	uint32_t mtu;                        /* IP MTU of the port ([gossip] mtu) */
};

#endif
