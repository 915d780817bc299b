/* cp_member: membership helpers between libraft's configuration and the ordering service
 * (which nodes' holdings count: voters only; standbys follow the order without voting). */
#ifndef CP_MEMBER_H
#define CP_MEMBER_H

#include <raft.h>
#include <stdint.h>

#include "cp_order.h"

/* Collect the voter ids of @conf into @ids (capacity @cap). Returns the count, or -ENOSPC
 * when more than @cap voters, -EINVAL for an id over RUMOR_NODE_ID_MAX. */
int cp_member_voters(const struct raft_configuration *conf, uint16_t *ids, unsigned cap);

/* cp_order_set_voters() from the configuration @r currently uses. Returns as
 * cp_member_voters() / cp_order_set_voters(). */
int cp_member_sync_order(struct raft *r, struct cp_order *o);

/* Count servers of @conf with @role (RAFT_VOTER, RAFT_STANDBY, RAFT_SPARE). */
unsigned cp_member_count(const struct raft_configuration *conf, int role);

#endif
