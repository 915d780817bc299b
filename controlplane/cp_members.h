/* cp_members: what this node's dataplane checks incoming timestamps against (RUMOR_MSG_MEMBERS:
 * the Raft configuration and the order's committed-through seqs), and how a rejected event
 * is shown (ordered.log, watch stream, the waiting client). */
#ifndef CP_MEMBERS_H
#define CP_MEMBERS_H

#include <raft.h>
#include <stddef.h>
#include <stdint.h>

#include "cp_fsm.h"
#include "cp_jsonl.h"
#include "rumor_msg.h"

struct cp_node;

/* Period of MEMBERS without a configuration change (the reached seqs move on). */
#define CP_MEMBERS_PERIOD_MS 100

/* Fill @out from @conf (every server, any role) and the fsm watermarks @wm (dense,
 * RUMOR_NODE_ID_MAX + 1; every nonzero one, members or not, up to RUMOR_VC_MAX_ENTRIES).
 * Returns a hash of the configuration's ids and roles (a change means: send now). */
uint64_t cp_members_build(const struct raft_configuration *conf, const uint64_t *wm,
			  struct rumor_msg_members *out);

/* Called from the 1 ms tick: sends MEMBERS to the dataplane when the configuration changed
 * or CP_MEMBERS_PERIOD_MS passed. One node per process (state is static). */
void cp_members_tick(struct cp_node *n, uint64_t now_ms);

/* Each member added at run time (cfg.nodes[cfg_start_n..]) as a RUMOR_MSG_PEER, when one was
 * added since the last time or CP_PEERS_PERIOD_MS passed (a restarted dataplane learns them
 * again; a known one changes nothing there). From the tick, after MEMBERS. */
#define CP_PEERS_PERIOD_MS 1000
void cp_members_send_peers(struct cp_node *n, uint64_t now_ms);

/* The JSON line of a reject record: {"gseq","origin","seq","id","rejected": reason}. */
void cp_members_reject_jsonl(struct cp_jsonl *l, const struct cp_fsm_entry *e, const char *hex);

/* The waiting client's error text for a rejected event of ours. */
void cp_members_reject_msg(char *buf, size_t cap, uint16_t self, const struct cp_fsm_entry *e);

#endif
