#!/usr/bin/env bash
# Cluster test: a node that lost its origin-seq reservation (the file deleted) and then its
# whole data dir must never stamp a seq the cluster already saw from it. Before the fix it
# stamped seq 1 again: receivers dropped the new event as a late duplicate and its client's
# `send --wait` never got a true answer. Now rumor-cp learns the highest seq seen from it
# (from the leader and its own logs) before its dataplane stamps, and every acknowledgment
# names the event the client sent.
# usage: cluster_wipe.sh SOURCE_ROOT   (env RUMOR_BUILD: build dir)
TEST=wipe TEST_NS=7
. "$(dirname "$0")/cluster_lib.sh"
require_env
up 3
leader=$(wait_leader "1 2 3" 20) || fail "no leader elected"
victim=$((leader % 3 + 1))
data=${RUMOR_DATA:-$RUMOR_RUN/data}/node-$victim
log "leader $leader, the wiped node is $victim"

# send_wait NODE DATA: prints "seq id" of an applied event, fails the test otherwise
send_wait() {
	local out
	out=$("$CTL" -n "$1" --json --timeout 15000 send "$2" --wait 2>&1) || fail "send --wait on node $1: $out"
	python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert d['ok'] and d['gseq'] > 0, d; print(d['seq'], d['id'])" "$out" ||
		fail "send --wait on node $1 answered: $out"
}

last=0
for i in $(seq 40); do
	read -r seq id < <(send_wait "$victim" "SET wipe-$i $i")
	last=$seq
	echo "$id" >>"$RUMOR_RUN/acked"
done
log "40 events from node $victim acknowledged, last seq $last"

for round in seqfile datadir; do
	$CLUSTER kill "$victim"
	if [[ $round == seqfile ]]; then
		rm -f "$data/origin-seq"
		log "node $victim killed, its origin-seq file deleted"
	else
		rm -rf "$data"
		log "node $victim killed, its whole data dir deleted"
	fi
	$CLUSTER restart "$victim" >>"$RUMOR_RUN/cluster-up.out" 2>&1 || fail "restart $victim"
	t0=$(date +%s%N)
	read -r seq id < <(send_wait "$victim" "SET after-$round 1")
	ms=$((($(date +%s%N) - t0) / 1000000))
	((seq > last)) || fail "after losing its $round node $victim stamped seq $seq again (the cluster saw $last)"
	log "after losing its $round: new event got seq $seq (> $last), applied in $ms ms"
	echo "$id" >>"$RUMOR_RUN/acked"
	last=$seq
done

converge "1 2 3" 60 || fail "no convergence"
same_digests "1 2 3" || fail "digests differ"
$CHECK --late-start --acked "$RUMOR_RUN/acked" "${RUMOR_DATA:-$RUMOR_RUN/data}" || fail "order check"
log "PASS"
