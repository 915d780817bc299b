#!/usr/bin/env bash
# Cluster test (issue 18): 3 nodes whose dataplanes run 2 workers each ([dataplane] workers = 2,
# an af_packet queue pair per worker, deploy/cluster.sh RUMOR_WORKERS=2). Every node sends
# events concurrently; every node's dataplane takes its peers' events off the wire (frames_new)
# and every node applies all of them in one order that check_order.py accepts, equal digests.
# usage: cluster_workers.sh SOURCE_ROOT   (env RUMOR_BUILD: build dir)
TEST=workers TEST_NS=30
export RUMOR_WORKERS=2 RUMOR_GOSSIP_INSECURE=1 # several workers do not authenticate yet
. "$(dirname "$0")/cluster_lib.sh"
require_env
NODES="1 2 3"
PER=${RCT_EVENTS_PER_NODE:-2000}
up 3
for i in $NODES; do
	grep -q "rumor-dp: node $i .* 2 workers" "$RUMOR_RUN/log/dp-$i.log" ||
		fail "rumor-dp of node $i does not run 2 workers: $(tail -3 "$RUMOR_RUN/log/dp-$i.log")"
done
leader=$(wait_leader "$NODES" 20) || fail "no leader elected"
log "leader is node $leader; 2 workers per dataplane; sending $PER events from each node"
ordered_load "$NODES" "$PER"
# gossip, not the control link's fetch, carried the peers' events: each node takes 2 * PER
# foreign events, at most a frame's worth (under 24 of 64 B) per new frame
for i in $NODES; do
	new=$(field "$i" "d['dataplane']['frames_new']")
	((new >= 2 * PER / 24)) || fail "node $i took only $new new gossip frames for $((2 * PER)) foreign events"
	log "node $i: $new new gossip frames, drops $(field "$i" "d['dataplane']['drops']")"
done
log "PASS: $((3 * PER)) events ordered identically on 3 nodes of 2 dataplane workers each"
