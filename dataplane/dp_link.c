/* Real-NIC glue of rumor-dp (dp_link.h): link state, the ARP hook, the port's MTU. */
#include "dp_link.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_telemetry.h>

#include "dp_node.h"

uint32_t dp_link_rx_buf_size(unsigned mtu)
{
	/* Ethernet header, one VLAN tag and the FCS some PMDs leave in the buffer */
	uint32_t frame = mtu + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN + RTE_ETHER_CRC_LEN;

	if (frame < RTE_MBUF_DEFAULT_DATAROOM)
		frame = RTE_MBUF_DEFAULT_DATAROOM;
	/* whole KiB: net_af_packet wants the data room to hold its framesz less the tpacket
	 * header, so framesz=9216 (a KiB multiple, 9014-byte frames fit) goes with MTU 9000 */
	return RTE_PKTMBUF_HEADROOM + RTE_ALIGN_CEIL(frame, 1024);
}

int dp_link_port_conf(struct dp_node *n, const struct dp_node_params *p,
		      const struct rte_eth_dev_info *info, struct rte_eth_conf *conf)
{
	unsigned mtu = n->cfg->gossip.mtu;

	if (mtu < info->min_mtu || mtu > info->max_mtu) {
		if (p->err != NULL)
			snprintf(p->err, p->errlen,
				 "[gossip] mtu = %u: port %u (%s) takes %u..%u", mtu, n->port,
				 info->driver_name, info->min_mtu, info->max_mtu);
		return -EINVAL;
	}
	if (mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN <= info->max_rx_pktlen)
		conf->rxmode.mtu = mtu;
	else if (mtu > RTE_ETHER_MTU)
		/* net_af_packet: max_mtu follows its framesz, max_rx_pktlen stays 1518 and
		 * ethdev refuses the MTU; the kernel interface's MTU is what counts there */
		fprintf(stderr,
			"rumor-dp: port %u (%s): max frame %u < MTU %u + 18: the port keeps its "
			"MTU, set the interface's (e.g. ip link set dev IF mtu %u)\n",
			n->port, info->driver_name, info->max_rx_pktlen, mtu, mtu);
	if (*info->dev_flags & RTE_ETH_DEV_INTR_LSC)
		conf->intr_conf.lsc = 1;
	return 0;
}

static int lsc_cb(uint16_t port, enum rte_eth_event_type type, void *arg, void *ret)
{
	struct dp_link *l = arg;

	(void)port;
	(void)type;
	(void)ret;
	/* interrupt thread: only a flag, the lcore reads the status */
	__atomic_store_n(&l->lsc_seen, 1, __ATOMIC_RELEASE);
	return 0;
}

/* dp_arp ops: frames out on TX queue 0 at once (rare; not through the TX buffer) */
static void arp_send(void *ctx, const uint8_t *frame, size_t len)
{
	struct dp_node *n = ctx;
	struct rte_mbuf *m;
	uint8_t *p;

	if (!n->link.up) {
		n->stats->drops[DP_DROP_LINK_DOWN]++;
		return;
	}
	m = rte_pktmbuf_alloc(n->hdr_pool);
	if (m == NULL || (p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len)) == NULL) {
		rte_pktmbuf_free(m);
		n->stats->drops[DP_DROP_NOMBUF]++;
		return;
	}
	memcpy(p, frame, len);
	if (rte_eth_tx_burst(n->port, 0, &m, 1) != 1) {
		rte_pktmbuf_free(m);
		n->stats->tx_full++;
		return;
	}
	n->stats->arp_tx++;
	n->stats->tx_pkts++;
	n->stats->tx_bytes += len;
}

static void arp_update(void *ctx, uint16_t id, const uint8_t *mac)
{
	struct dp_node *n = ctx;

	dp_node_peer_mac(n, id, mac);
	n->stats->arp_unresolved = n->arp.unresolved;
}

/* A PMD over a kernel interface (net_af_packet: its link status stays "up" from start to
 * stop): the interface's own state, IFF_UP and IFF_RUNNING (carrier). 1 up, 0 down, -1 none. */
static int kernel_link(const struct dp_node *n)
{
	struct ifreq ifr;

	if (n->link.kfd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	if (if_indextoname(n->link.ifindex, ifr.ifr_name) == NULL ||
	    ioctl(n->link.kfd, SIOCGIFFLAGS, &ifr) != 0)
		return -1;
	return (ifr.ifr_flags & (IFF_UP | IFF_RUNNING)) == (IFF_UP | IFF_RUNNING);
}

static void link_read(struct dp_node *n)
{
	struct rte_eth_link link;
	bool up;

	memset(&link, 0, sizeof(link));
	if (rte_eth_link_get_nowait(n->port, &link) != 0)
		return; /* no status: keep what we had (up at start) */
	up = link.link_status == RTE_ETH_LINK_UP && kernel_link(n) != 0;
	n->stats->link_speed = link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : link.link_speed;
	if (up != n->link.up)
		n->stats->nic[up ? RUMOR_DP_LINK_UP_EVENTS : RUMOR_DP_LINK_DOWN_EVENTS]++;
	n->link.up = up;
	n->stats->link_up = up;
}

int dp_link_init(struct dp_node *n, const struct dp_node_params *p)
{
	const struct rumor_config *cfg = n->cfg;
	const struct rumor_node_conf *me = rumor_config_node(cfg, n->self);
	struct dp_arp_ops ops = { arp_send, arp_update, n };
	uint64_t ms = n->tsc_hz / 1000;
	int rc;

	n->stats->mtu = cfg->gossip.mtu;
	if (me->mac_arp) {
		struct rte_ether_addr a;

		/* our own MAC is the port's; the peers' templates carry it as source */
		if (rte_eth_macaddr_get(n->port, &a) != 0)
			return -EIO;
		memcpy(n->my_mac, a.addr_bytes, 6);
		for (unsigned i = 0; i < cfg->n_nodes; i++)
			if (cfg->nodes[i].id != n->self && !cfg->nodes[i].mac_arp)
				dp_node_peer_mac(n, cfg->nodes[i].id, cfg->nodes[i].mac);
	}
	dp_arp_init(&n->arp, n->my_ip, n->my_mac, (uint64_t)cfg->dataplane.arp_retry_ms * ms,
		    (uint64_t)cfg->dataplane.arp_refresh_s * 1000 * ms, &ops, n->stats->nic);
	for (unsigned i = 0; i < cfg->n_nodes; i++) {
		const struct rumor_node_conf *c = &cfg->nodes[i];

		if (c->id == n->self)
			continue;
		rc = dp_arp_add(&n->arp, c->id, c->ip, c->mac_arp ? NULL : c->mac);
		if (rc != 0) {
			if (p->err != NULL)
				snprintf(p->err, p->errlen, "node %u: ip shared with another node",
					 c->id);
			return rc;
		}
		if (c->mac_arp)
			dp_node_peer_mac(n, c->id, NULL);
	}
	n->stats->arp_unresolved = n->arp.unresolved;
	n->link.up = true;
	n->stats->link_up = 1;
	n->link.period = (uint64_t)DP_LINK_POLL_MS * ms;
	n->link.kfd = -1;
	{
		struct rte_eth_dev_info info;

		if (rte_eth_dev_info_get(n->port, &info) == 0 && info.if_index != 0 &&
		    !(*info.dev_flags & RTE_ETH_DEV_INTR_LSC)) {
			n->link.ifindex = info.if_index;
			n->link.kfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		}
	}
	/* a PMD that raises LSC interrupts calls it, and the change is read at once */
	if (!p->no_port_setup && rte_eth_dev_callback_register(n->port, RTE_ETH_EVENT_INTR_LSC,
							       lsc_cb, &n->link) == 0)
		n->link.lsc = true;
	link_read(n);
	return 0;
}

void dp_link_fini(struct dp_node *n)
{
	if (n->link.lsc)
		rte_eth_dev_callback_unregister(n->port, RTE_ETH_EVENT_INTR_LSC, lsc_cb, &n->link);
	n->link.lsc = false;
	if (n->link.kfd > 0) /* 0: fini before init (zeroed node) */
		close(n->link.kfd);
	n->link.kfd = -1;
}

unsigned dp_link_poll(struct dp_node *n, uint64_t now)
{
	unsigned work = 0;

	if (now >= n->link.next_poll ||
	    __atomic_load_n(&n->link.lsc_seen, __ATOMIC_RELAXED)) {
		bool was = n->link.up;

		if (__atomic_exchange_n(&n->link.lsc_seen, 0, __ATOMIC_ACQUIRE))
			n->stats->nic[RUMOR_DP_LINK_LSC]++;
		link_read(n);
		n->link.next_poll = now + n->link.period;
		work += was != n->link.up;
	}
	/* no requests while down: they would be dropped, and nobody could answer */
	if (n->link.up && now >= dp_arp_next(&n->arp))
		work += dp_arp_tick(&n->arp, now);
	return work;
}

void dp_link_arp_in(struct dp_node *n, struct rte_mbuf *m, uint64_t now)
{
	n->stats->arp_rx++;
	if (m->nb_segs > 1 ||
	    dp_arp_input(&n->arp, rte_pktmbuf_mtod(m, const uint8_t *), m->data_len, now) != 0)
		n->stats->drops[DP_DROP_ARP_BAD]++;
	rte_pktmbuf_free(m);
}

/* /rumor/link: link state, MTU, ARP counters and each peer's entry with the frames every
 * worker holds for it (racy snapshot). */
static struct dp_node *tel_link_node;

static int tel_link(const char *cmd, const char *params, struct rte_tel_data *d)
{
	static struct rumor_dp_stats tot; /* telemetry commands run one at a time */
	struct dp_node *n = tel_link_node;
	const struct rumor_dp_stats *s = &tot;

	dp_node_stats_total(n, &tot); /* the hold counts are every worker's */

	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "link", s->link_up ? "up" : "down");
	rte_tel_data_add_dict_u64(d, "speed_mbps", s->link_speed);
	rte_tel_data_add_dict_u64(d, "mtu", s->mtu);
	rte_tel_data_add_dict_u64(d, "lsc", n->link.lsc);
	rte_tel_data_add_dict_u64(d, "arp_unresolved", s->arp_unresolved);
	for (int i = 0; i < RUMOR_DP_NIC_N; i++)
		rte_tel_data_add_dict_u64(d, rumor_dp_nic_name(i), s->nic[i]);
	rte_tel_data_add_dict_u64(d, "drop_arp_unresolved", s->drops[DP_DROP_ARP_UNRESOLVED]);
	rte_tel_data_add_dict_u64(d, "drop_link_down", s->drops[DP_DROP_LINK_DOWN]);
	rte_tel_data_add_dict_u64(d, "drop_arp_malformed", s->drops[DP_DROP_ARP_BAD]);
	rte_tel_data_add_dict_u64(d, "drop_arp_hold_full", s->drops[DP_DROP_ARP_HOLD_FULL]);
	rte_tel_data_add_dict_u64(d, "drop_arp_hold_aged", s->drops[DP_DROP_ARP_HOLD_AGED]);
	for (unsigned i = 0; i < n->arp.n && i < DP_ARP_MAX; i++) {
		const struct dp_arp_entry *e = &n->arp.e[i];
		char key[16], val[64];
		const uint8_t *m = e->mac;
		unsigned held = 0;
		int len;

		for (unsigned j = 0; j < DP_WORKERS_MAX; j++) {
			const struct dp_node *w = dp_node_worker(n, j);

			if (w != NULL)
				held += dp_hold_count(&w->hold, e->id);
		}
		snprintf(key, sizeof(key), "peer_%u", e->id);
		if (e->state == DP_ARP_UNRESOLVED)
			len = snprintf(val, sizeof(val), "unresolved");
		else
			len = snprintf(val, sizeof(val), "%s %02x:%02x:%02x:%02x:%02x:%02x",
				       e->state == DP_ARP_STATIC ? "static" : "arp", m[0], m[1],
				       m[2], m[3], m[4], m[5]);
		if (held > 0 && len > 0 && (size_t)len < sizeof(val))
			snprintf(val + len, sizeof(val) - (size_t)len, ", %u held", held);
		rte_tel_data_add_dict_string(d, key, val);
	}
	return 0;
}

int dp_link_telemetry_register(struct dp_node *n)
{
	tel_link_node = n;
	return rte_telemetry_register_cmd("/rumor/link", tel_link,
					  "link state, MTU, ARP counters and peers");
}
