#!/usr/bin/env bash
# Cluster test: 3 nodes, node 2's data link drops 20% of packets (netem); events sent from
# every node; pulls fill the gaps and all nodes converge on one order and one KV state.
# usage: cluster_loss.sh SOURCE_ROOT   (env RUMOR_BUILD: build dir)
TEST=loss TEST_NS=3
. "$(dirname "$0")/cluster_lib.sh"
require_env
NODES="1 2 3"
PER=${RCT_EVENTS_PER_NODE:-3000}
up 3
leader=$(wait_leader "$NODES" 20) || fail "no leader elected"
# netem needs sch_netem; kernels without it still have tbf, whose overflow drops are loss too
if ip netns exec "$RUMOR_NS-n2" tc qdisc add dev d2 root netem loss 0% 2>/dev/null; then
	ip netns exec "$RUMOR_NS-n2" tc qdisc del dev d2 root
	$CLUSTER netem 2 loss 20% || fail "netem"
	how="netem loss 20%"
else
	tbf="tbf rate ${RCT_TBF_RATE:-5mbit} burst 6kb limit 12kb"
	$CLUSTER exec 2 tc qdisc replace dev d2 root $tbf || fail "tbf on d2"
	ip netns exec "$RUMOR_NS-hub" tc qdisc replace dev d2-h root $tbf || fail "tbf on d2-h"
	how="no netem in this kernel: tbf overflow drops both ways ($tbf)"
fi
log "leader is node $leader; node 2's data link: $how; sending $PER events from each node"
for i in $NODES; do
	load_bg "$i" --events "$PER" --size 100 --kv 0.2 --batch 8 --pipeline 2 --rate 2000 \
		--wait-applied --timeout 30 --acked-ids "$RUMOR_RUN/acked-$i"
done
rc=0
for p in "${PIDS[@]}"; do wait "$p" || rc=1; done
PIDS=()
for i in $NODES; do cat "$RUMOR_RUN/load-$i.out"; done
((rc == 0)) || log "rumor-load reported lost or unsent events: checking convergence first"
converge "$NODES" 30 || fail "nodes did not converge"
pulls=$(field 2 "d['node_stats']['pulls']")
log "node 2 pulled $pulls times; node 2 dataplane: $(field 2 "d['dataplane']")"
log "tc on node 2: $($CLUSTER exec 2 tc -s qdisc show dev d2 | grep -o 'dropped [0-9]*' | head -1) sent, $(ip netns exec "$RUMOR_NS-hub" tc -s qdisc show dev d2-h | grep -o 'dropped [0-9]*' | head -1) received"
total_pulls=0
for i in $NODES; do total_pulls=$((total_pulls + $(field "$i" "d['node_stats']['pulls']"))); done
((total_pulls > 0)) || fail "no node pulled anything: the loss did not bite"
same_digests "$NODES" || fail "digests differ"
$CHECK --same-end $(for i in $NODES; do echo --acked "$RUMOR_RUN/acked-$i"; done) \
	"$RUMOR_RUN/data" || fail "check_order found violations"
skips=$(field 1 "d['fsm']['skips']")
((skips == 0)) || fail "$skips events were skipped instead of pulled"
((rc == 0)) || fail "rumor-load reported lost or unsent events"
log "PASS: $((3 * PER)) events, identical order despite 20% loss on node 2 ($pulls pulls)"
