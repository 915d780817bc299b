#!/usr/bin/env bash
# A node that joins an idle cluster by snapshot has an ordered.log that ends where its state
# machine is: 3 nodes with a snapshot after every applied entry and none kept after it
# (snapshot_threshold 1, snapshot_trailing 0), 20 events sent one at a time, then node 4
# added. Every event reaches node 4 inside the snapshot and no event follows it. Before,
# ordered.log's gap marker was written only before the next event's line, so node 4's stayed
# empty while its applied_gseq was 20 (cluster_join failed so once idle commits stopped
# adding a barrier entry after each). usage: cluster_join_idle.sh SOURCE_ROOT (env RUMOR_BUILD)
TEST=cluster_join_idle TEST_NS=33
. "$(dirname "$0")/cluster_lib.sh"
require_env
export RUMOR_RAFT_EXTRA='snapshot_threshold = 1\nsnapshot_trailing = 0'
hugepages 4
up 3
leader=$(wait_leader "1 2 3" 20) || fail "no leader elected"
for j in $(seq 20); do
	"$CTL" -n $(( (j % 3) + 1 )) --timeout 5000 send "SET idle-$j $j" --wait >/dev/null ||
		fail "send $j"
done
converge "1 2 3" 20 || fail "nodes 1-3 did not converge"
gs=$CONVERGED_GSEQ
log "leader is node $leader; $gs gseqs applied; adding node 4"
$CLUSTER add 4 >>"$RUMOR_RUN/cluster-up.out" 2>&1 || fail "add 4: $(tail -2 "$RUMOR_RUN/cluster-up.out")"
converge "1 2 3 4" 30 || fail "node 4's ordered.log does not end at the gseq it applied"
((CONVERGED_GSEQ == gs)) || fail "gseq moved from $gs to $CONVERGED_GSEQ with no event sent"
f=${RUMOR_DATA:-$RUMOR_RUN/data}/node-4/ordered.log
head -n 1 "$f" | grep -q '"gap_from":1,' || fail "node 4's ordered.log does not start with the marker: $(head -c 200 "$f")"
log "node 4: $(head -c 160 "$f")"
log "PASS: node 4 joined by snapshot; its ordered.log ends at gseq $gs with the snapshot's marker"
