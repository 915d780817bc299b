#!/usr/bin/env bash
# Cluster test: 5 nodes under load from every node; the leader and one follower are cut off
# from the other three (deploy/cluster.sh partition: separate bridges, data and control).
# The majority elects a leader and keeps ordering (within the gap timeout, 5 s, plus a few
# seconds); the minority orders nothing. After the heal every node converges on one order and
# KV state.
# Loaders take `durable` acks: every event any loader saw acknowledged durable is in the order
# as itself (none lost, none skipped). Skips are allowed only of events never acknowledged
# durable, and only of the two minority origins: the events they stamped just before the cut
# that the majority's side holds but whose origin it cannot hear (only the origin names its
# events, issue 14; the old leader's confirmation died with its term), which every later clock
# on the majority's side names. A `stamped` ack promises nothing across a lost origin link
# (controlplane/README.md, "Acknowledgment levels").
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
	load_bg "$i" --ack durable --events "$PER" --size 60 --kv 0.2 --batch 8 --pipeline 2 --rate "$RATE" \
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
t0=$(date +%s)
# events the minority stamped just before the cut wait out the gap timeout (5 s) on this side
for _ in $(seq 30); do
	sleep 0.5
	j1=$(field "$newl" "d['applied_gseq']")
	[[ $j1 =~ ^[0-9]+$ ]] && ((j1 > j0)) && break
done
sleep 2
j1=$(field "$newl" "d['applied_gseq']")
m1=$(field "$leader" "d['applied_gseq']")
log "over $(($(date +%s) - t0)) s: minority applied $m0 -> $m1, majority applied $j0 -> $j1"
[[ $j1 =~ ^[0-9]+$ ]] && ((j1 > j0)) || fail "the majority stopped ordering"
((m1 == m0)) || fail "the minority kept applying while cut off ($m0 -> $m1)"
$CLUSTER heal >/dev/null || fail "heal"
log "healed"
wait_loads "$ALL"
converge "$ALL" 60 || fail "nodes did not converge"
same_digests "$ALL" || fail "digests differ"
$CHECK --same-end $(for i in $ALL; do echo --acked "$RUMOR_RUN/acked-$i"; done) \
	"$RUMOR_RUN/data" || fail "check_order found violations"
skips=$(field "$newl" "d['fsm']['skips']")
# skips: only of the minority origins (their last events before the cut); none was acked
# durable (check_order --acked above), no loader lost a durable-acked event
bad=$(python3 - "$RUMOR_RUN/data/node-$newl/ordered.log" $minority <<'PY'
import json, sys
minority = {int(x) for x in sys.argv[2:]}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("skip") and r["origin"] not in minority:
        print(line.strip())
PY
)
[[ -z $bad ]] || fail "a majority origin's seqs were skipped: $bad"
for i in $ALL; do
	grep -q ' lost 0$' "$RUMOR_RUN/load-$i.out" || fail "the loader on node $i lost durable-acked events"
done
log "$skips skip records (minority origins' events never acked durable)"
log "PASS: partition ${minority// /,} | ${majority// /,} and heal: $CONVERGED_GSEQ gseqs, all agree"
