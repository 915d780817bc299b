/* One rumor-dp node: port, pools, event store, dedupe, clock, view, shared rings, and the
 * poll function that runs one pass of the packet + cp2dp loop. One struct per worker lcore
 * (issue 18, [dataplane] workers): everything in it is touched only by the lcore calling
 * dp_node_poll on it (plus TX completion, which only frees store slots through their
 * refcount); workers share the store memzone (with its slots' body seals, aslot), pools
 * and peers, nothing else (each has its own dp2cp ring, keyring, counters and replay
 * windows). */
#ifndef DP_NODE_H
#define DP_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "dp_arp.h"
#include "dp_dedupe.h"
#include "dp_hold.h"
#include "dp_link.h"
#include "dp_seqstate.h"
#include "dp_store.h"
#include "rumor_auth.h"
#include "rumor_config.h"
#include "rumor_msg.h"
#include "rumor_tsrule.h"
#include "rumor_wire.h"

/* Dataplane-local drop reasons, after the codec's RUMOR_WIRE_ERR_COUNT indices. */
enum dp_drop {
	DP_DROP_NOT_MINE = 24,   /* IPv4/UDP rumor frame addressed to another IP */
	DP_DROP_SEGS = 25,       /* multi-segment RX mbuf */
	DP_DROP_NOMBUF = 26,     /* no header mbuf for a fan-out / pull copy */
	DP_DROP_STORE = 27,      /* new frame not stored: store full (caps: budget_drops) */
	DP_DROP_PEER = 28,       /* reply to a node missing from the config */
	DP_DROP_ORIGIN = 29,     /* our own origin id in a frame we do not know */
	/* frame authentication (rumor_auth.h), with a keyring only */
	DP_DROP_AUTH_NO_KEY = 21,    /* no auth header, or a key id we do not hold */
	DP_DROP_AUTH_BAD_TAG = 22,   /* hop tag wrong, or addressed to another node */
	DP_DROP_AUTH_REPLAY = 23,    /* sender's counter seen, too old, 0 or 2^64-1 */
	DP_DROP_AUTH_OLD_EPOCH = 30, /* counter from before this dataplane started */
	DP_DROP_AUTH_BAD_BODY = 31,  /* body tag wrong: clock or events changed */
	/* [auth] encrypt disagrees (checked before the codec could read a body) */
	DP_DROP_AUTH_ENC_UNEXPECTED = 32, /* F_ENC frame, and we do not encrypt (or a PULL_REQ) */
	DP_DROP_AUTH_ENC_MISSING = 33,    /* plaintext body, and we encrypt */
	/* workers (issue 18): a frame for another worker found its steering ring full */
	DP_DROP_STEER = 39,
	/* real NICs (issue 18, dp_arp.h / dp_link.h) */
	DP_DROP_ARP_UNRESOLVED = 34, /* to a peer whose MAC ARP has not resolved (yet), and the
				      * hold (dp_hold.h) did not take it: DP_HOLD_PEERS others */
	DP_DROP_LINK_DOWN = 35,      /* TX while the port's link is down (held frames too) */
	DP_DROP_ARP_BAD = 36,        /* malformed ARP frame (never reaches the gossip parser) */
	DP_DROP_ARP_HOLD_FULL = 37,  /* oldest held frame, pushed out by a newer one */
	DP_DROP_ARP_HOLD_AGED = 38,  /* held longer than DP_ARP_TRIES x arp_retry_ms */
};

/* Name of a drops[] index (codec reasons and dp_drop), NULL when unused. */
const char *dp_drop_name(unsigned idx);

#define DP_BURST 32
#define DP_MSG_STASH 32
#define DP_FANOUT_MAX 64   /* most peers one frame goes to at once (config fanout max) */
/* Bodies up to this many bytes are copied into each copy's header mbuf instead of attached
 * from the store slot (one 64 B event with a few clock entries: ~50-110 B). */
#define DP_COPY_BODY_MAX 128
#define DP_PULL_MAX 64
#define DP_PULL_TRIES 3
#define DP_TXBUF 512
#define DP_WORKERS_MAX 8   /* [dataplane] workers */

/* Hop counter lanes (rumor_auth.h: the counter is part of the hop tag's IV, with the key id
 * and the sender's node id): worker w of a node seals with counters w << 56 | its wall clock
 * counter, so two workers of one node never stamp the same IV, each keeping its own strictly
 * rising counter (no shared state on the fast path) and no wire change. The clock part is
 * ~2^54.6 now (64 ns units since 1970) and stays below 2^56 until ~2116. Worker 0 is lane 0:
 * a single worker's counters are what they always were. A receiver keeps a replay window per
 * (sender, lane) and refuses counters of lanes >= DP_WORKERS_MAX (bits 59..63 set). */
#define DP_AUTH_LANE_SHIFT 56
#define DP_AUTH_CLOCK_MASK ((1ull << DP_AUTH_LANE_SHIFT) - 1)

struct dp_node_params {
	struct rumor_config *cfg;   /* rumor-dp appends members added at run time (RUMOR_MSG_PEER) */
	uint16_t node_id;
	uint16_t port_id;
	uint32_t store_slots;       /* 0: cfg->dataplane.store_slots */
	uint32_t msg_pool_size;     /* 0: RUMOR_MSG_POOL_SIZE */
	uint32_t rx_mbufs;          /* 0: 4095 */
	uint16_t rx_desc, tx_desc;  /* 0: 1024 */
	uint32_t pull_timeout_us;   /* 0: 20000 */
	uint64_t seed;              /* peer picking */
	uint64_t tsc_hz;            /* 0: rte_get_tsc_hz() (tests may pass a fake clock) */
	bool no_port_setup;         /* the caller configured and started the port */
	const char *state_dir;      /* NULL: origin seqs not persisted (start at 1 each run) */
	uint64_t seq_block;         /* 0: DP_SEQSTATE_BLOCK */
	/* budgets (0: defaults, see dp_store_set_caps and below) */
	uint32_t source_cap;        /* slots one member link source may hold */
	uint32_t stranger_cap;      /* slots all strangers (no configured MAC + IP) may hold:
				     * 0 (none) unless set */
	uint32_t repair_cap;        /* unasked PULL_RESP slots past the origin cap, per origin */
	uint32_t pull_rate;         /* PULL_REQ answers per second per requester: 2000 */
	uint32_t pull_burst;        /* token bucket depth: 256 */
	uint64_t age_us;            /* ask the cp to release frames held unordered longer:
				     * 30 s; UINT64_MAX: never */
	uint16_t workers;           /* worker lcores, one RX + TX queue each; 0: cfg (1) */
	char *err;                  /* optional: why init failed (state file problems) */
	size_t errlen;
};

struct dp_pull {
	uint16_t used;
	uint16_t origin;
	uint16_t count;
	uint16_t tries;
	uint16_t tried[DP_PULL_TRIES];
	uint64_t first_seq;
	uint64_t deadline;
};

struct dp_open_frame {
	bool open;
	uint32_t slot;
	uint64_t first_seq;
	uint64_t deadline;
	size_t clock_len;
	struct rumor_wire_body body;
};

/* Per-peer Ethernet + IPv4 + UDP header, built once from the config: a send copies it and
 * patches only the two lengths and the IP checksum (from csum_base). A DP_PEER_ARP peer's
 * template has its addresses but no MAC: frames built from it are held (dp_hold.h) and get
 * both MACs from the template once it is valid. Worker 0 rewrites a resolved peer's template
 * while the other workers copy it (an ARP update changes its MAC): readers copy again when
 * @seq moved, so no frame leaves with a MAC made of both. */
#define DP_PEER_ARP 2                  /* dp_peer.valid: configured, MAC not resolved (yet) */
struct dp_peer {
	uint8_t l2l4[RUMOR_WIRE_L2L4_LEN]; /* lengths and IP checksum zero */
	uint8_t valid;                     /* 1: usable; DP_PEER_ARP: waits for ARP */
	uint32_t csum_base;                /* ones-complement sum of the template's IP words */
	uint32_t ip;                       /* the peer's IP (host order): link source check */
	uint32_t seq;                      /* odd while worker 0 rewrites the template */
};

/* What a relay resends of the origin's seal with a stored frame (per store slot), in wire
 * form so that a copy takes it with plain copies and the receiver keeps it the same way: the
 * auth header's key id and alg, and its nonce and body tag (addressee and counter between
 * them are each copy's own). 32 bytes: the array stays as small as the store's slots allow. */
struct dp_auth_slot {
	uint8_t ka[2];                                 /* RUMOR_WIRE_AUTH_KEY, _ALG */
	uint8_t nt[8 + RUMOR_AUTH_TAG_LEN];            /* RUMOR_WIRE_AUTH_NONCE.._HOPTAG */
} __attribute__((aligned(32)));

/* PULL_REQ answers per requester: tokens scaled by DP_TOKEN_ONE, refilled from @last. */
#define DP_TOKEN_ONE 1024u
struct dp_bucket {
	uint64_t tokens;
	uint64_t last;
};

/* Slots the age-out looks at per poll pass (a full store is walked in nslots / this). */
#define DP_AGE_SCAN 256

/* Acks waiting for room in dp2cp; cp2dp is not read while more than half are queued, so
 * ORIGINATEs (and their acks) wait in their ring instead. */
#define DP_ACKQ 8192u

struct dp_node {
	/* hot state first */
	struct rumor_dp_stats *stats;
	uint16_t self;
	uint16_t port;
	uint32_t cluster_id;
	uint16_t udp_port;
	uint32_t my_ip;
	uint8_t my_mac[6];
	uint64_t rng;
	uint64_t tsc_hz;
	struct rte_ring *dp2cp;
	struct rte_ring *cp2dp;
	struct rte_mempool *msg_pool;
	uint32_t msg_size;           /* its objects' size (rumor_msg_size_for_event) */
	unsigned nstash;                    /* messages taken in bulk: the pool has no cache */
	void *stash[DP_MSG_STASH];
	struct rte_mempool *rx_pool;
	struct rte_mempool *hdr_pool;
	struct dp_store store;
	struct dp_dedupe dedupe;
	struct dp_seqstate seq;             /* our origin seqs are stamped <= seq.reserved */
	struct dp_peer *peers;              /* [RUMOR_NODE_ID_MAX + 1] */

	uint16_t nview;
	uint16_t view[RUMOR_VC_MAX_ENTRIES];
	bool view_from_cp;

	/* pending NEW_FRAME reports (slot indices), FIFO */
	uint32_t *pend;
	uint32_t pend_mask, pend_head, pend_tail;
	/* ORIGINATE_ACKs the ring or pool did not take, FIFO: every origination is answered */
	struct rumor_msg_originate_ack ackq[DP_ACKQ];
	uint32_t ackq_head, ackq_tail;

	uint16_t ntx;
	struct rte_mbuf *txbuf[DP_TXBUF];

	struct dp_open_frame of;
	struct dp_pull pulls[DP_PULL_MAX];
	uint64_t pull_timeout;

	struct rumor_config *cfg;           /* shared by the workers; worker 0 appends peers */
	const struct rte_memzone *stats_mz;
	bool clock_dirty;
	struct rumor_vc clock_sparse;       /* cache of the dense clock */
	struct rumor_vc_dense clock;
	uint64_t wm[RUMOR_NODE_ID_MAX + 1]; /* ordered-through watermarks */
	/* timestamp rule (rumor_tsrule.h): members from the config file until the cp sends
	 * MEMBERS; reached = max(RELEASE watermark, MEMBERS committed-through) per node */
	struct rumor_tsrule tsr;
	uint8_t member[RUMOR_NODE_ID_MAX + 1];
	uint64_t reached[RUMOR_NODE_ID_MAX + 1];
	/* budgets: PULL_REQ token buckets per requester, age-out walk */
	struct dp_bucket pullb[RUMOR_NODE_ID_MAX + 1];
	uint64_t pull_rate, pull_burst;     /* answers per second, bucket depth */
	uint64_t age;                       /* TSC; UINT64_MAX: no age-out */
	uint32_t age_cursor;
	uint64_t age_next;                  /* TSC of the next age_scan walk */
	/* frame authentication: NULL auth = insecure (no keyring configured). Every worker has
	 * its own keyring copy, counters, pads and replay windows (see DP_AUTH_LANE_SHIFT) */
	struct rumor_auth *auth;
	uint8_t auth_key;                   /* key id we seal with */
	uint64_t auth_lane;                 /* wid << DP_AUTH_LANE_SHIFT: in all our counters */
	uint64_t auth_last;                 /* last counter stamped (lane | rumor_auth_ctr_of_ns) */
	uint64_t auth_base_ctr, auth_base_tsc, auth_mult; /* wall clock from the TSC */
	uint64_t auth_now_ctr;              /* lane | that clock at this burst / loop pass */
	uint64_t auth_tick;                 /* TSC of the next resync with the wall clock */
	int auth_fd;                        /* state dir's auth-counter file (worker 0), -1: none */
	uint64_t auth_floor;                /* our start: windows refuse counters below it */
	struct dp_auth_slot *aslot;         /* [store.nslots], shared: a slot's owner writes it */
	struct rumor_auth_window *win;      /* [RUMOR_NODE_ID_MAX + 1], by sender: lane 0 */
	struct rumor_auth_window **wlane;   /* [(RUMOR_NODE_ID_MAX + 1) * (DP_WORKERS_MAX - 1)]:
					     * lanes 1.. by sender, made on a first good frame */
	const struct rumor_auth_rx *arx;    /* the frame in dp_node_rx: its hop check's state */
	struct rumor_auth_rx arx1;          /* ... when checked alone (not in a burst) */
	struct rumor_auth_pads pads;        /* our next hop counters' key stream blocks */
	/* an RX burst's hop checks, done together before its frames (dp_node_rx_burst) */
	struct rte_mbuf *pre_m[RUMOR_AUTH_BURST];
	struct rumor_auth_rx pre_rx[RUMOR_AUTH_BURST];
	int pre_rc[RUMOR_AUTH_BURST];
	unsigned pre_i, pre_n;
	uint8_t *txseal[DP_TXBUF];          /* per txbuf[] entry: hop to seal at flush, or NULL */
	/* [auth] encrypt: bodies travel as AES-256-GCM ciphertext. A slot holds the plaintext
	 * frame (what the node and rumor-cp read) at its start and the body's ciphertext (what
	 * fan-out sends, zero copy) at ct_off; encbuf is a received frame, opened, for the codec */
	bool encrypt;
	uint32_t ct_off;
	uint8_t *encbuf;
	struct rumor_auth *auth_boot;       /* the file's keyring once a KEYRING replaced it */
	struct rumor_wire_frame fr;         /* decode scratch */
	struct rumor_vc vc_tmp;
	/* workers (issue 18). Worker w polls RX and TX queue w and owns the origins o with
	 * dp_owner(o) == w (dedupe, watermarks, origin caps, its pulls, their slots' releases
	 * and TX): frames of another worker's origin go to it through an SPSC ring
	 * (steer_to[j] -> its steer_from[w]). Worker 0 is the dp_node dp_node_init filled: it
	 * alone reads cp2dp, originates and stamps, and hands each message to the worker owning
	 * its origin (RELEASE, PULL, SEND_TO) or to all (VIEW, MEMBERS, RESYNC, KEYRING) via their
	 * ctl rings. Each worker keeps its own clock (worker 0 takes the others' entries before it
	 * stamps) and its own stats (summed into the stats memzone by worker 0 every ms). */
	uint16_t wid, nworkers;
	uint16_t clock_hi;                  /* highest node id in our clock (merge reads up to it) */
	struct dp_node *w0;                 /* worker 0 (ourselves in worker 0) */
	struct dp_node *wk[DP_WORKERS_MAX]; /* worker 0: every worker, wk[0] = itself */
	struct rte_ring *steer_to[DP_WORKERS_MAX], *steer_from[DP_WORKERS_MAX];
	struct rte_ring *ctl;               /* workers > 0: messages worker 0 hands over */
	struct rumor_dp_stats *own_stats;   /* nworkers > 1: this worker's counters */
	uint64_t stats_next;                /* worker 0: TSC of the next sum into the memzone */
	/* real NICs (issue 18, dp_link.c): link state, ARP table of the peers */
	struct dp_link link;
	struct dp_arp arp;
	/* frames built for peers whose ARP is unresolved (DP_PEER_ARP), sent once their template
	 * has the MAC (dp_hold.h). Every worker its own: worker 0 alone runs ARP and writes the
	 * shared peers[], each worker sees a peer resolve in its valid (acquire) and sends what
	 * it holds before anything newer to that peer */
	struct dp_hold hold;
	uint64_t now;                       /* this loop pass's time: when a frame was held */
} __rte_cache_aligned;

/* The worker that owns origin @o's frames (our own origin: worker 0, which stamps it). */
static inline unsigned dp_owner(const struct dp_node *n, uint16_t o)
{
	return n->nworkers <= 1 || o == n->self ? 0 : o % n->nworkers;
}

/* Create pools, rings, memzones and the store, set up the port (unless
 * params->no_port_setup). Returns 0 or: -EINVAL (bad params/config, node unknown),
 * -ENOMEM, -EEXIST (shared objects already exist: another primary with this prefix),
 * -EIO (port setup failed), or dp_seqstate_open's errors for params->state_dir (-EBADMSG:
 * corrupt state file; the reason in params->err). On error everything created is freed.
 * With a state dir our origin seqs resume above the reservation of the previous run. */
int dp_node_init(struct dp_node *n, const struct dp_node_params *p);

/* Clean stop (no more origination): persist our last stamped origin seq as the reservation
 * so the next run continues right after it. Without it (a crash) the next run starts above
 * the whole reserved block and the seqs in between are never used (a gap the ordering must
 * skip). Returns 0, -EBADF without a state dir, or an I/O error. */
int dp_node_seq_checkpoint(struct dp_node *n);

/* Stop the port (if we set it up) and free everything dp_node_init created. */
void dp_node_fini(struct dp_node *n);

/* One loop pass at time @now (TSC units): RX burst, cp2dp burst, pending reports, frame
 * time bound, pull timeouts, TX flush. Returns the amount of work done (0 = idle). */
unsigned dp_node_poll(struct dp_node *n, uint64_t now);

/* Process one received packet (takes ownership of @m). Exposed for tests and bench. */
void dp_node_rx(struct dp_node *n, struct rte_mbuf *m, uint64_t now);

/* Process @nb received packets (takes ownership): prefetches their dedupe buckets first,
 * then dp_node_rx on each. What dp_node_poll does with an RX burst; exposed for the bench. */
void dp_node_rx_burst(struct dp_node *n, struct rte_mbuf **pkts, unsigned nb, uint64_t now);

/* Call on the lcore that polls worker @w (its store frees reuse slots without the ring). */
void dp_node_worker_bind(struct dp_node *w);

/* Worker @wid of @n (as dp_node_init made them; @n itself for 0), NULL when none. */
struct dp_node *dp_node_worker(struct dp_node *n, unsigned wid);

/* What a worker > 0 does besides RX: the messages worker 0 handed it and the frames other
 * workers steered to it, then TX flush. Part of dp_node_poll; exposed for the bench, which
 * feeds frames without the port's RX. Returns the work done. */
unsigned dp_node_worker_msgs(struct dp_node *w, uint64_t now);

/* Every worker's counters summed into @out (a single worker: a copy of its stats). */
void dp_node_stats_total(struct dp_node *n, struct rumor_dp_stats *out);

/* Worker 0: write the totals into the stats memzone now (also done every ms by its poll). */
void dp_node_stats_publish(struct dp_node *n);

/* Process one cp2dp message (takes ownership of @msg). Exposed for tests. On worker 0 of
 * several, a message for another worker's origin is handed to it (-> its ctl ring). */
void dp_node_cp_msg(struct dp_node *n, struct rumor_msg *msg, uint64_t now);

/* dp_keyring.c: RUMOR_MSG_KEYRING (swaps n->auth between bursts; wipes the message's
 * keys), the keyring part of the stats, and freeing the bootstrap keyring. */
void dp_keyring_set(struct dp_node *n, struct rumor_msg_keyring *k);
void dp_keyring_publish(struct dp_node *n);
void dp_keyring_fini(struct dp_node *n);

/* Peer @id's MAC is @mac now (ARP, dp_link.c): its template rebuilt; NULL: unresolved. */
void dp_node_peer_mac(struct dp_node *n, uint16_t id, const uint8_t *mac);

/* Send what is buffered for TX. */
void dp_node_tx_flush(struct dp_node *n);

/* Export the current clock (cached). */
const struct rumor_vc *dp_node_clock(struct dp_node *n);

/* Register /rumor/stats, /rumor/view, /rumor/clock, /rumor/store for @n (one node per
 * process). Returns 0 or a negative errno. */
int dp_telemetry_register(struct dp_node *n);

#endif
