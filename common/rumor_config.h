/* Cluster configuration: one INI file (parsed with libinih) describes every node, gossip,
 * Raft and storage settings. Errors name the file, line and key. See deploy/rumor.conf.example. */
#ifndef RUMOR_CONFIG_H
#define RUMOR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RUMOR_CONFIG_MAX_NODES 64
#define RUMOR_CONFIG_PATH_MAX 256

enum rumor_view_strategy {
	RUMOR_VIEW_STATIC = 0,    /* every other node (small clusters, tests) */
	RUMOR_VIEW_LEADER,
	RUMOR_VIEW_HYPARVIEW,
	RUMOR_VIEW_CYCLON,
};

struct rumor_node_conf {
	uint16_t id;              /* 1..RUMOR_NODE_ID_MAX, [node.<id>] */
	uint8_t mac[6];           /* data interface MAC (zero with mac_arp) */
	bool mac_arp;             /* mac = arp: resolved by ARP (dataplane/dp_arp.h) */
	uint32_t ip;              /* data interface IPv4, host byte order */
	char ctl_host[64];        /* control address (Raft, reports, API peers) */
	uint16_t ctl_port;
	bool voter;               /* Raft voter, else standby */
};

struct rumor_config {
	char path[RUMOR_CONFIG_PATH_MAX];
	uint32_t cluster_id;      /* [cluster] id: frames of other clusters are dropped */
	char cluster_name[32];

	/* sorted by id as parsed; members added at run time are appended after them (rumor-dp's
	 * add_peer, rumor-cp's learn_data_peers) */
	uint16_t n_nodes;
	struct rumor_node_conf nodes[RUMOR_CONFIG_MAX_NODES];

	struct {
		uint8_t fanout;           /* peers per hop (default 3) */
		uint8_t rounds;           /* hops an event travels (default 4) */
		uint16_t port;            /* UDP port (default RUMOR_WIRE_PORT) */
		uint16_t mtu;             /* IP MTU (default 1500) */
		uint32_t flush_us;        /* origin frame time bound (default 200) */
		enum rumor_view_strategy view;
		uint16_t view_size;       /* active view size (default 8) */
		uint32_t view_refresh_ms; /* leader sample / shuffle period (default 5000) */
	} gossip;

	struct {
		uint32_t election_timeout_ms; /* default 1000 */
		uint32_t heartbeat_ms;        /* default 100 */
		uint32_t snapshot_threshold;  /* entries between snapshots (default 1024) */
		uint32_t snapshot_trailing;   /* entries kept after a snapshot (default 256) */
		uint32_t batch_max_events;    /* order batch cut by size (default 4096) */
		uint32_t batch_max_us;        /* ... or by time (default 2000) */
		uint32_t gap_timeout_ms;      /* wait before committing a skip (default 5000) */
	} raft;

	struct {
		char dir[RUMOR_CONFIG_PATH_MAX];    /* base; a node uses <dir>/node-<id> */
		char api_socket[RUMOR_CONFIG_PATH_MAX]; /* "%n" replaced by the node id */
		uint32_t min_free_mb;     /* new events are refused (ENOSPC) below this much free
					     space in the data dir (default 256): what was
					     accepted still has room to be ordered */
	} storage;

	struct {
		uint32_t store_slots;     /* event store frames (default 65536) */
		uint32_t store_peer_cap;  /* most slots frames from one origin may hold
					     (default store_slots / max(4, nodes + 1)) */
		uint32_t origin_window;   /* most own frames held unreleased: new events beyond
					     it are refused, the sender retries (default
					     store_peer_cap / 2) */
		uint32_t clock_window;    /* a frame's timestamp may name at most this many
					     seqs of a node beyond what the order has reached
					     for it; further is dropped (default 1000000) */
		uint32_t workers;         /* rumor-dp worker lcores, one RX + TX queue pair
					     each (default 1; > 1 needs no [auth] keyring) */
		uint32_t arp_retry_ms;    /* ARP request interval for a peer with mac = arp
					     and no answer yet (default 1000) */
		uint32_t arp_refresh_s;   /* a resolved peer is asked again after this; 3
					     unanswered requests drop its MAC (default 60) */
	} dataplane;

	struct {
		char keyring[RUMOR_CONFIG_PATH_MAX]; /* "<id> <64 hex>" lines (rumor_auth.h); empty:
						       frames unauthenticated (needs insecure) */
		uint8_t use;              /* key id sealing our frames (0: the file's lowest) */
		bool insecure;            /* no keyring on purpose: rumor-dp starts without one */
		bool encrypt;             /* frame bodies AES-256-GCM encrypted (needs keyring) */
	} auth;
};

/* Fill @cfg with defaults (no nodes). */
void rumor_config_defaults(struct rumor_config *cfg);

/* Parse @path. Returns 0, or -EINVAL (bad value / unknown section or key / duplicate or
 * missing node fields), -ENOENT / -EACCES (cannot open), with a message
 * "FILE:LINE: [section] key: what is wrong" in @err. */
int rumor_config_load(const char *path, struct rumor_config *cfg, char *err, size_t errlen);

/* Same, from a string (@name stands for the file name in messages). */
int rumor_config_parse(const char *text, const char *name, struct rumor_config *cfg,
		       char *err, size_t errlen);

/* The node with @id, or NULL. */
const struct rumor_node_conf *rumor_config_node(const struct rumor_config *cfg, uint16_t id);

/* Replace "%n" in @tmpl by @node into @out. Returns 0 or -ENAMETOOLONG. */
int rumor_config_expand(const char *tmpl, uint16_t node, char *out, size_t cap);

/* Number of voters. */
unsigned rumor_config_voters(const struct rumor_config *cfg);

#endif
