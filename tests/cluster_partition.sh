#!/usr/bin/env bash
# Cluster test: 5 nodes under load from every node; the leader and one follower are cut off
# from the other three (deploy/cluster.sh partition: separate bridges, data and control).
# The majority elects a leader and keeps ordering; the minority orders nothing. After the
# heal every node converges on one order and KV state, with every event any loader saw
# acknowledged in it, those sent into the minority side included (repaired, not skipped).
# usage: cluster_partition.sh SOURCE_ROOT   (env RUMOR_BUILD: build dir)
TEST=partition TEST_NS=4
. "$(dirname "$0")/cluster_lib.sh"
require_env
RATE=${RCT_RATE:-300}   # events/s per node
PER=${RCT_EVENTS_PER_NODE:-4500}
ALL="1 2 3 4 5"
hugepages 5
up 5
leader=$(wait_leader "$ALL" 20) || fail "no leader elected"
buddy=$(( leader % 5 + 1 ))
minority="$leader $buddy"
majority=$(for i in $ALL; do [[ " $minority " == *" $i "* ]] || echo "$i"; done | tr '\n' ' ')
log "leader $leader; minority side: $minority; majority side: $majority; $RATE events/s per node"
for i in $ALL; do
	load_bg "$i" --events "$PER" --size 60 --kv 0.2 --batch 8 --pipeline 2 --rate "$RATE" \
		--wait-applied --timeout 60 --acked-ids "$RUMOR_RUN/acked-$i"
done
sleep 3
$CLUSTER partition "${minority// /,}/${majority% }" || fail "partition"
majority=${majority% }
log "partitioned: ${minority// /,} | ${majority// /,}"
newl=$(wait_leader "$majority" 30) || fail "the majority elected no leader"
log "majority leader: node $newl"
sleep 2
m0=$(field "$leader" "d['applied_gseq']")
j0=$(field "$newl" "d['applied_gseq']")
sleep 4
m1=$(field "$leader" "d['applied_gseq']")
j1=$(field "$newl" "d['applied_gseq']")
log "over 4 s: minority applied $m0 -> $m1, majority applied $j0 -> $j1"
((j1 > j0)) || fail "the majority stopped ordering"
((m1 == m0)) || fail "the minority kept applying while cut off ($m0 -> $m1)"
$CLUSTER heal >/dev/null || fail "heal"
log "healed"
wait_loads "$ALL"
converge "$ALL" 60 || fail "nodes did not converge"
same_digests "$ALL" || fail "digests differ"
$CHECK --same-end $(for i in $ALL; do echo --acked "$RUMOR_RUN/acked-$i"; done) \
	"$RUMOR_RUN/data" || fail "check_order found violations"
skips=$(field "$newl" "d['fsm']['skips']")
((skips == 0)) || fail "$skips events were skipped"
((LOAD_RC == 0)) || fail "a loader reported lost or unsent events"
log "PASS: partition ${minority// /,} | ${majority// /,} and heal: $CONVERGED_GSEQ gseqs, all agree"
