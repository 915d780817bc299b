/* cp_leader: this node while it leads: the ordering service fed by reports, batches
 * proposed to Raft, commits and durability announced, repairs of minority-held runs, the
 * voter set kept in sync with Raft's configuration. */
#ifndef CP_LEADER_H
#define CP_LEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cp_batch.h"
#include "cp_report.h"
#include "rumor_config.h"

struct cp_node;

/* Followers announce_commit tracks; more (nodes added at run time) learn it from the next
 * message. */
#define CP_LEAD_LATE_MAX RUMOR_CONFIG_MAX_NODES

struct cp_leader {
	bool leading;
	unsigned applies_inflight;
	struct cp_batch batch;
	uint64_t *durable_sent;           /* announced per origin */
	uint64_t leading_since_ms;
	uint64_t last_repair_ms;          /* minority-held runs looked for */
	bool commit_unannounced;          /* applied a batch followers may not know of */
	uint64_t late_commit;             /* the commit announce_commit last announced */
	unsigned n_late;
	uint64_t late[CP_LEAD_LATE_MAX];  /* followers that had not stored it then */
	uint64_t caught_up_term;          /* a batch of this term applied: the order knows what is
					     committed */
	bool cut_when_idle;               /* group commit: cut at once with nothing in flight
					     (rumor-cp sets it; rumor-sim with SIM_GROUP_CUT=1) */
};

void cp_leader_check(struct cp_node *n);
void cp_leader_propose(struct cp_node *n);
void cp_leader_announce_durable(struct cp_node *n);
/* An idle commit told again to followers that have stored it since it was announced. */
void cp_leader_announce_late(struct cp_node *n);
/* Proposals and announcements due after this loop iteration's I/O (the loop hook). */
void cp_leader_after_io(struct cp_node *n);
void cp_leader_ingest_report(struct cp_node *n, const struct cp_report *r);
void cp_leader_on_reports(struct cp_node *n, uint64_t from, const uint8_t *p, size_t len);
void cp_leader_on_seq_query(struct cp_node *n, uint64_t from);
void cp_leader_tick_slow(struct cp_node *n, uint64_t now_ms);
int cp_leader_init(struct cp_node *n);
void cp_leader_free(struct cp_node *n);

#endif
