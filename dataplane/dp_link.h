/* Real-NIC glue of rumor-dp (issue 18): link state (LSC callback where the PMD has one, else
 * polled), the ARP hook (dp_arp.h) in RX and TX, and the port's MTU / RX buffer size. Kept out
 * of dp_node.c so that its hooks there stay a few lines. */
#ifndef DP_LINK_H
#define DP_LINK_H

#include <stdbool.h>
#include <stdint.h>

struct dp_node;
struct dp_node_params;
struct rte_eth_conf;
struct rte_eth_dev_info;
struct rte_mbuf;

/* Link status read this often, LSC or not: a PMD's LSC flag is not a promise of callbacks
 * (net_tap sets RTE_ETH_DEV_INTR_LSC, and its netlink handler updates the status without ever
 * calling the application's callback), and a read every 100 ms costs nothing. */
#define DP_LINK_POLL_MS 100

struct dp_link {
	bool lsc;                    /* our LSC callback is registered */
	volatile uint32_t lsc_seen;  /* set by the interrupt thread, taken by the lcore */
	bool up;                     /* TX is dropped (link_down) while false */
	uint64_t next_poll;          /* TSC */
	uint64_t period;
	int kfd;                     /* >= 0: socket for SIOCGIFFLAGS of ifindex (a PMD over a
				      * kernel interface, no LSC: net_af_packet) */
	unsigned ifindex;
};

/* RX mbuf size (headroom included) for frames of IP MTU @mtu. */
uint32_t dp_link_rx_buf_size(unsigned mtu);

/* Port configuration before rte_eth_dev_configure: MTU and LSC interrupt. Returns 0 or
 * -EINVAL (the PMD's MTU range does not take [gossip] mtu; message in params err). */
int dp_link_port_conf(struct dp_node *n, const struct dp_node_params *p,
		      const struct rte_eth_dev_info *info, struct rte_eth_conf *conf);

/* After the peers' templates exist (and the port is set up): our MAC from the port when the
 * config says mac = arp, ARP table, LSC callback, first link status. Returns 0 or -errno. */
int dp_link_init(struct dp_node *n, const struct dp_node_params *p);
void dp_link_fini(struct dp_node *n);

/* Once per loop pass: link changes, ARP requests due. Returns work done. */
unsigned dp_link_poll(struct dp_node *n, uint64_t now);

/* An ARP frame received (takes @m): answered / learned, or counted and dropped. */
void dp_link_arp_in(struct dp_node *n, struct rte_mbuf *m, uint64_t now);

/* Register /rumor/link for @n (dp_telemetry_register calls it). */
int dp_link_telemetry_register(struct dp_node *n);

#endif
