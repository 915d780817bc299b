#!/usr/bin/env bash
# A member added at run time takes full part in gossip: 3 nodes up, node 4 added
# (`cluster.sh add 4`: its [node.4] written to the config file, rumor-dp and rumor-cp started
# with --join, `rumorctl add 4` on the leader), then 300 events from each of the four nodes,
# each acknowledged once applied. Every event, node 4's included, must be ordered on all four
# nodes with nothing lost; nodes 1-3's dataplanes must have taken node 4 as a peer (its frames a
# member's, node 4 in their fan-out view) and node 4 must have received the others' frames by
# gossip. Before, nodes 1-3 dropped node 4's frames as a stranger's: its `send --wait` never
# returned. usage: cluster_add.sh SOURCE_ROOT (env RUMOR_BUILD)
TEST=cluster_add TEST_NS=31
. "$(dirname "$0")/cluster_lib.sh"
require_env
hugepages 4
up 3
leader=$(wait_leader "1 2 3" 20) || fail "no leader elected"
log "leader is node $leader; adding node 4"
$CLUSTER add 4 >>"$RUMOR_RUN/cluster-up.out" 2>&1 || fail "add 4: $(tail -2 "$RUMOR_RUN/cluster-up.out")"
# node 4 applies what the cluster committed before it came
end=$(($(date +%s) + 30))
until [[ $(field 4 "d['role']" 2>/dev/null) == follower ]]; do
	(($(date +%s) < end)) || fail "node 4 never became a follower"
	sleep 0.3
done
stat_of() { # NODE KEY: a /rumor/stats counter of NODE's rumor-dp
	dp_tel "$1" /rumor/stats | python3 -c "import json,sys; print(json.load(sys.stdin).get('$2', 0))"
}
end=$(($(date +%s) + 10))
for i in 1 2 3; do
	until [[ $(stat_of "$i" peers_added) == 1 ]]; do
		(($(date +%s) < end)) || fail "node $i's dataplane never took node 4 as a peer"
		sleep 0.3
	done
done
new4=$(stat_of 4 rx_frames_new)
ordered_load "1 2 3 4" 300
got4=$(( $(stat_of 4 rx_frames_new) - new4 ))
for i in 1 2 3; do
	view=$(dp_tel "$i" /rumor/view)
	[[ $view == *4* ]] || fail "node $i's fan-out view $view lacks node 4"
	log "node $i: peers_added $(stat_of "$i" peers_added), view $view," \
		"stranger drops $(stat_of "$i" drop_stranger_cap)"
done
((got4 > 0)) || fail "node 4 got no frame by gossip during the load"
log "node 4 received $got4 new frames by gossip during the load"
log "PASS: node 4 added at run time: its events and the others' ordered everywhere, $CONVERGED_GSEQ gseqs"
