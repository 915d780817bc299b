/* cp_members: RUMOR_MSG_MEMBERS for the dataplane's timestamp rule, and reject records shown
 * to operators and clients (see cp_members.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cp_batch.h"
#include "cp_members.h"
#include "cp_node_int.h"

uint64_t cp_members_build(const struct raft_configuration *conf, const uint64_t *wm,
			  struct rumor_msg_members *out)
{
	uint64_t h = 0xcbf29ce484222325ull;

	out->n = 0;
	out->nreached = 0;
	for (unsigned i = 0; i < conf->n && out->n < RUMOR_VC_MAX_ENTRIES; i++) {
		raft_id id = conf->servers[i].id;

		if (id == 0 || id > RUMOR_NODE_ID_MAX)
			continue;
		out->node[out->n++] = (uint16_t)id;
		h = (h ^ (id << 8 | (unsigned)conf->servers[i].role)) * 0x100000001b3ull;
	}
	for (unsigned o = 1; o <= RUMOR_NODE_ID_MAX && out->nreached < RUMOR_VC_MAX_ENTRIES; o++)
		if (wm[o]) {
			out->reached_node[out->nreached] = (uint16_t)o;
			out->reached_seq[out->nreached++] = wm[o];
		}
	return h;
}

void cp_members_tick(struct cp_node *n, uint64_t now_ms)
{
	struct rumor_msg_members mm;
	struct rumor_msg *m;
	uint64_t h;

	if (n->raft->configuration.n == 0)
		return; /* not bootstrapped yet: the dataplane keeps the config file's nodes */
	h = cp_members_build(&n->raft->configuration, cp_fsm_watermarks(n->fsm), &mm);
	if (n->members_sent && h == n->members_hash &&
	    now_ms - n->members_ms < CP_MEMBERS_PERIOD_MS)
		return;
	if (cp_dp_alloc(n, RUMOR_MSG_MEMBERS, &m) < 0)
		return; /* ring or pool full: next tick */
	m->u.members = mm;
	if (cp_dp_send(n, m) < 0)
		return;
	n->members_sent = true;
	n->members_hash = h;
	n->members_ms = now_ms;
}

void cp_members_send_peers(struct cp_node *n, uint64_t now_ms)
{
	struct rumor_msg *m;

	if (n->cfg.n_nodes <= n->cfg_start_n ||
	    (n->peers_sent_n == n->cfg.n_nodes && now_ms - n->peers_sent_ms < CP_PEERS_PERIOD_MS))
		return;
	for (unsigned i = n->cfg_start_n; i < n->cfg.n_nodes; i++) {
		const struct rumor_node_conf *c = &n->cfg.nodes[i];

		if (cp_dp_alloc(n, RUMOR_MSG_PEER, &m) < 0)
			return; /* ring or pool full: next tick */
		m->u.peer = (struct rumor_msg_peer){ .id = c->id, .ip = c->ip,
						     .mac_arp = c->mac_arp };
		memcpy(m->u.peer.mac, c->mac, 6);
		if (cp_dp_send(n, m) < 0)
			return;
	}
	n->peers_sent_n = n->cfg.n_nodes;
	n->peers_sent_ms = now_ms;
}

void cp_members_reject_jsonl(struct cp_jsonl *l, const struct cp_fsm_entry *e, const char *hex)
{
	const char *why = cp_batch_reason_text(e->reason);

	cp_jsonl_raw(l, "{\"gseq\":", 8);
	cp_jsonl_u64(l, e->gseq);
	cp_jsonl_raw(l, ",\"origin\":", 10);
	cp_jsonl_u64(l, e->origin);
	cp_jsonl_raw(l, ",\"seq\":", 7);
	cp_jsonl_u64(l, e->seq);
	cp_jsonl_raw(l, ",\"id\":", 6);
	cp_jsonl_str(l, hex, strlen(hex));
	cp_jsonl_raw(l, ",\"rejected\":", 12);
	cp_jsonl_str(l, why, strlen(why));
	cp_jsonl_raw(l, "}", 1);
}

void cp_members_reject_msg(char *buf, size_t cap, uint16_t self, const struct cp_fsm_entry *e)
{
	snprintf(buf, cap, "rejected: %s (event %u:%" PRIu64 ")", cp_batch_reason_text(e->reason),
		 (unsigned)self, e->seq);
}
