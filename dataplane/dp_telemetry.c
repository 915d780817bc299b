/* rte_telemetry commands /rumor/stats, /rumor/view, /rumor/clock, /rumor/store so that
 * dpdk-telemetry.py shows a node's state. Reads are racy snapshots by design. */
#include <ctype.h>
#include <stdio.h>

#include <rte_telemetry.h>

#include "dp_node.h"

static struct dp_node *tel_node;

#define U64(d, name, v) rte_tel_data_add_dict_u64(d, name, v)

static int tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	static struct rumor_dp_stats tot; /* telemetry commands run one at a time */
	const struct rumor_dp_stats *s = &tot;

	dp_node_stats_total(tel_node, &tot); /* every worker's counters */
	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	U64(d, "node_id", s->node_id);
	U64(d, "rx_pkts", s->rx_pkts);
	U64(d, "rx_bytes", s->rx_bytes);
	U64(d, "tx_pkts", s->tx_pkts);
	U64(d, "tx_bytes", s->tx_bytes);
	U64(d, "tx_full", s->tx_full);
	U64(d, "rx_frames_new", s->rx_frames_new);
	U64(d, "rx_frames_dup", s->rx_frames_dup);
	U64(d, "rx_frames_late", s->rx_frames_late);
	U64(d, "rx_events_new", s->rx_events_new);
	U64(d, "originated_events", s->originated_events);
	U64(d, "originated_frames", s->originated_frames);
	U64(d, "originate_refused", s->originate_refused);
	U64(d, "fanout_frames", s->fanout_frames);
	U64(d, "store_used", s->store_used);
	U64(d, "store_cap", s->store_cap);
	U64(d, "store_full", s->store_full);
	U64(d, "ring_full_dp2cp", s->ring_full_dp2cp);
	U64(d, "pull_sent", s->pull_sent);
	U64(d, "pull_served", s->pull_served);
	U64(d, "repair_sent", s->repair_sent);
	U64(d, "seq_floor_raised", s->seq_floor_raised);
	U64(d, "acks_queued", s->acks_queued);
	U64(d, "pull_failed", s->pull_failed);
	U64(d, "arp_rx", s->arp_rx);
	U64(d, "arp_tx", s->arp_tx);
	U64(d, "link_up", s->link_up);
	U64(d, "arp_unresolved", s->arp_unresolved);
	U64(d, "arp_held", s->nic[RUMOR_DP_ARP_HELD]);
	U64(d, "arp_released", s->nic[RUMOR_DP_ARP_RELEASED]);
	for (unsigned i = 0; i < RUMOR_DP_DROP_REASONS; i++) {
		const char *name = dp_drop_name(i);
		char key[64];

		if (name == NULL || s->drops[i] == 0)
			continue;
		snprintf(key, sizeof(key), "drop_%s", name);
		/* telemetry names allow only [A-Za-z0-9_/-] */
		for (char *k = key; *k; k++)
			if (!isalnum((unsigned char)*k) && *k != '_')
				*k = '_';
		U64(d, key, s->drops[i]);
	}
	/* timestamp rule drops: always listed, so scripts see zero as well */
	for (int i = 1; i <= RUMOR_TS_NREASONS; i++) {
		char key[64];

		snprintf(key, sizeof(key), "drop_%s", rumor_tsrule_name(i));
		U64(d, key, s->ts_drops[i - 1]);
	}
	/* budget refusals (per origin, link source, requester): always listed as well */
	for (int i = 1; i <= RUMOR_DP_BUDGET_NREASONS; i++) {
		char key[64];

		snprintf(key, sizeof(key), "drop_%s", rumor_dp_budget_name(i));
		U64(d, key, s->budget_drops[i - 1]);
	}
	U64(d, "expire_asked", s->expire_asked);
	U64(d, "aged_out", s->aged_out);
	U64(d, "stranger_used", s->stranger_used);
	U64(d, "members", s->members_n);
	U64(d, "members_from_cp", s->members_from_cp);
	U64(d, "members_updates", s->members_updates);
	U64(d, "peers_added", s->peers_added);
	U64(d, "peers_refused", s->peers_refused);
	return 0;
}

static int tel_view(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	rte_tel_data_start_array(d, RTE_TEL_INT_VAL);
	for (unsigned i = 0; i < tel_node->nview; i++)
		rte_tel_data_add_array_int(d, tel_node->view[i]);
	return 0;
}

static int tel_clock(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	/* Walk the dense clock directly: the sparse cache belongs to the lcore. */
	for (unsigned id = 1; id <= RUMOR_NODE_ID_MAX; id++) {
		uint64_t c = tel_node->clock.ctr[id];
		char key[16];

		if (c == 0)
			continue;
		snprintf(key, sizeof(key), "%u", id);
		U64(d, key, c);
	}
	return 0;
}

static int tel_store(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct dp_store *s = &tel_node->store;
	unsigned free_slots = dp_store_free_count(s);

	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	U64(d, "slots", s->nslots);
	U64(d, "used", s->nslots - free_slots);
	U64(d, "free", free_slots);
	U64(d, "slot_size", s->slot_size);
	U64(d, "peer_cap", s->peer_cap);
	U64(d, "source_cap", s->src_cap);
	U64(d, "stranger_cap", s->stranger_cap);
	U64(d, "repair_cap", s->repair_cap);
	U64(d, "stranger_used", s->src_used[DP_SRC_STRANGER]);
	U64(d, "age_s", tel_node->age == UINT64_MAX ? 0 : tel_node->age / tel_node->tsc_hz);
	U64(d, "dedupe_evictions", tel_node->dedupe.evictions);
	if (tel_node->seq.dirfd >= 0) {
		U64(d, "origin_seq_reserved", tel_node->seq.reserved);
		U64(d, "origin_seq_persists", tel_node->seq.persists);
	}
	return 0;
}

int dp_telemetry_register(struct dp_node *n)
{
	int rc = 0;

	tel_node = n;
	rc |= rte_telemetry_register_cmd("/rumor/stats", tel_stats, "rumor-dp counters");
	rc |= rte_telemetry_register_cmd("/rumor/view", tel_view, "fan-out targets");
	rc |= rte_telemetry_register_cmd("/rumor/clock", tel_clock, "local vector clock");
	rc |= rte_telemetry_register_cmd("/rumor/store", tel_store, "event store occupancy");
	rc |= dp_link_telemetry_register(n);
	return rc ? -EINVAL : 0;
}
