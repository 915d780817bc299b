#!/usr/bin/env bash
# Cluster test: 3 nodes, the data links of nodes 2 and 3 drop packets (netem 20%, or tbf
# overflow where the kernel has no netem); events sent from every node. A frame both lossy nodes
# missed is held by a minority: the leader has a holder send it on (repair) instead of skipping
# it; applies pull what is still missing. All nodes converge on one order and one KV state.
# usage: cluster_loss.sh SOURCE_ROOT   (env RUMOR_BUILD: build dir)
TEST=loss TEST_NS=3
. "$(dirname "$0")/cluster_lib.sh"
require_env
NODES="1 2 3"
PER=${RCT_EVENTS_PER_NODE:-3000}
up 3
leader=$(wait_leader "$NODES" 20) || fail "no leader elected"
LOSSY=${RCT_LOSSY:-2 3}
# netem needs sch_netem; kernels without it still have tbf, whose overflow drops are loss too
if ip netns exec "$RUMOR_NS-n2" tc qdisc add dev d2 root netem loss 0% 2>/dev/null; then
	ip netns exec "$RUMOR_NS-n2" tc qdisc del dev d2 root
	for i in $LOSSY; do $CLUSTER netem "$i" loss 20% || fail "netem on $i"; done
	how="netem loss 20%"
else
	tbf="tbf rate ${RCT_TBF_RATE:-5mbit} burst 6kb limit 12kb"
	for i in $LOSSY; do
		$CLUSTER exec "$i" tc qdisc replace dev "d$i" root $tbf || fail "tbf on d$i"
		ip netns exec "$RUMOR_NS-hub" tc qdisc replace dev "d$i-h" root $tbf ||
			fail "tbf on d$i-h"
	done
	how="no netem in this kernel: tbf overflow drops both ways ($tbf)"
fi
log "leader is node $leader; data links of nodes $LOSSY: $how; sending $PER events from each node"
for i in $NODES; do
	load_bg "$i" --events "$PER" --size 100 --kv 0.2 --batch 8 --pipeline 2 --rate 2000 \
		--wait-applied --timeout 30 --acked-ids "$RUMOR_RUN/acked-$i"
done
wait_loads "$NODES"
converge "$NODES" 30 || fail "nodes did not converge"
for i in $LOSSY; do
	log "node $i: pulls $(field "$i" "d['node_stats']['pulls']"), dataplane $(field "$i" "d['dataplane']");" \
		"tc dropped $($CLUSTER exec "$i" tc -s qdisc show dev "d$i" | grep -o 'dropped [0-9]*' | head -1) sent," \
		"$(ip netns exec "$RUMOR_NS-hub" tc -s qdisc show dev "d$i-h" | grep -o 'dropped [0-9]*' | head -1) received"
done
total_pulls=0
for i in $NODES; do total_pulls=$((total_pulls + $(field "$i" "d['node_stats']['pulls']"))); done
total_repairs=0
for i in $NODES; do
	total_repairs=$((total_repairs + $(field "$i" "d['node_stats']['repairs_asked']")))
done
log "pulls $total_pulls, repair runs asked by leaders $total_repairs"
((total_pulls + total_repairs > 0)) || fail "no pull and no repair: the loss did not bite"
same_digests "$NODES" || fail "digests differ"
$CHECK --same-end $(for i in $NODES; do echo --acked "$RUMOR_RUN/acked-$i"; done) \
	"$RUMOR_RUN/data" || fail "check_order found violations"
skips=$(field 1 "d['fsm']['skips']")
((skips == 0)) || fail "$skips events were skipped instead of pulled"
((LOAD_RC == 0)) || fail "rumor-load reported lost or unsent events"
log "PASS: $((3 * PER)) events, identical order despite loss on nodes $LOSSY ($total_pulls pulls, $total_repairs repairs)"
