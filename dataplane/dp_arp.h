/* ARP for rumor-dp peers (issue 18): a table of the configured peers (static MACs from the
 * config, dynamic ones resolved here), the request/reply codec and the retry / refresh policy.
 * Pure C with the time injected (any monotonic unit, rumor-dp passes TSC ticks); frames go out
 * through a callback, so the unit tests need no DPDK.
 *
 * Policy (why: a host on the segment must not steal a peer's traffic):
 * - a static entry never changes; a claim of its IP with another MAC is counted
 *   (arp_static_conflict) and ignored;
 * - a dynamic entry is learned from a reply to a request we sent, or, while it is still
 *   unresolved, from that peer's request for our IP (both sides resolve in one exchange);
 * - a resolved dynamic entry changes only through a reply to a request we sent (its refresh
 *   or a re-check): gratuitous ARP, unsolicited replies and requests naming another MAC are
 *   counted (arp_unsolicited) and only start a re-check; the first reply to a request wins;
 * - refresh: every `refresh` a resolved dynamic entry is asked again (the MAC stays in use);
 *   after DP_ARP_TRIES unanswered requests it is dropped (arp_expired) and gossip to the peer
 *   is dropped until it answers. Unresolved entries are asked every `retry`. */
#ifndef DP_ARP_H
#define DP_ARP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DP_ARP_MAX 64         /* entries: RUMOR_CONFIG_MAX_NODES */
#define DP_ARP_LEN 42         /* Ethernet + ARP for IPv4 */
#define DP_ARP_FRAME_LEN 60   /* what we send: padded to the Ethernet minimum (no FCS) */
#define DP_ARP_TRIES 3        /* unanswered refresh requests before a MAC is dropped */

enum dp_arp_state {
	DP_ARP_STATIC = 1,        /* MAC from the config */
	DP_ARP_UNRESOLVED = 2,    /* no MAC: asked every retry */
	DP_ARP_RESOLVED = 3,      /* MAC learned; tries > 0 while a refresh / re-check runs */
};

struct dp_arp_entry {
	uint32_t ip;              /* host order */
	uint16_t id;              /* the peer's node id (what update() names) */
	uint8_t state;
	uint8_t tries;            /* requests sent without an answer */
	uint8_t mac[6];
	uint64_t confirmed;       /* time of the last accepted answer */
	uint64_t next;            /* time of the next request (0: now) */
};

struct dp_arp_ops {
	/* send @len bytes (an Ethernet frame); may drop it (no mbuf, link down) */
	void (*send)(void *ctx, const uint8_t *frame, size_t len);
	/* peer @id's MAC is @mac now (NULL: unresolved) */
	void (*update)(void *ctx, uint16_t id, const uint8_t *mac);
	void *ctx;
};

struct dp_arp {
	uint32_t my_ip;
	uint8_t my_mac[6];
	uint64_t retry, refresh;  /* time units of the caller */
	struct dp_arp_ops ops;
	uint64_t *ctr;            /* [RUMOR_DP_NIC_N] (rumor_msg.h), by enum rumor_dp_nic */
	uint32_t unresolved;      /* entries without a MAC */
	uint64_t due;             /* earliest entry's next (UINT64_MAX: none dynamic) */
	unsigned n;
	struct dp_arp_entry e[DP_ARP_MAX];
};

/* @ctr: RUMOR_DP_NIC_N counters (zeroed by the caller). @retry > 0, @refresh > 0. */
void dp_arp_init(struct dp_arp *a, uint32_t my_ip, const uint8_t my_mac[6], uint64_t retry,
		 uint64_t refresh, const struct dp_arp_ops *ops, uint64_t *ctr);

/* Add peer @id at @ip with @mac (static) or NULL (resolved by ARP, first request at the next
 * dp_arp_tick). Returns 0, -ENOSPC (table full) or -EEXIST (id or IP already there). */
int dp_arp_add(struct dp_arp *a, uint16_t id, uint32_t ip, const uint8_t *mac);

/* The entry of @ip, or NULL. */
const struct dp_arp_entry *dp_arp_find(const struct dp_arp *a, uint32_t ip);

/* An ARP frame (@len bytes from the Ethernet header) received at @now: answers requests for
 * our IP, learns by the policy above. Returns 0, or -EBADMSG when malformed (counted
 * arp_malformed; the caller counts the drop). Never keeps @frame. */
int dp_arp_input(struct dp_arp *a, const uint8_t *frame, size_t len, uint64_t now);

/* Requests due at @now (first requests, retries, refreshes, expiry). Returns the number of
 * requests sent. Cheap when nothing is due: the caller may call it every loop pass. */
unsigned dp_arp_tick(struct dp_arp *a, uint64_t now);

/* Earliest time dp_arp_tick has something to do (UINT64_MAX: nothing, all static). */
uint64_t dp_arp_next(const struct dp_arp *a);

/* Write a request for @tip (host order) from us into @out (DP_ARP_FRAME_LEN bytes). */
void dp_arp_put_request(const struct dp_arp *a, uint32_t tip, uint8_t *out);

#endif
