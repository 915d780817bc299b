#!/usr/bin/env bash
# Jumbo events through the API (issue 18): 3 nodes at [gossip] mtu = 9000 (RUMOR_MTU: veths,
# af_packet frames, the message pool). An 8,000-byte event sent on node 1 with --wait is in
# every node's ordered log, carried by gossip (node 2's dataplane stores it: one frame); an
# event one frame cannot carry is refused with the limit in the error. Before, the API refused
# anything over 6,366 bytes at MTU 9000 (room kept for a 256-entry clock) and anything over
# 4,062 bytes at any MTU (one dataplane message).
# usage: cluster_jumbo.sh SOURCE_ROOT (env RUMOR_BUILD)
TEST=cluster_jumbo TEST_NS=32
. "$(dirname "$0")/cluster_lib.sh"
require_env
hugepages 8 # 256 MiB per rumor-dp at MTU 9000
export RUMOR_MTU=9000 RUMOR_DP_RING=1024
up 3
wait_leader "1 2 3" 20 >/dev/null || fail "no leader elected"
big=$(head -c 4000 /dev/urandom | od -An -tx1 | tr -d ' \n' | head -c 8000)
((${#big} == 8000)) || fail "could not make the value"
new2=$(dp_tel 2 /rumor/stats | python3 -c "import json,sys; print(json.load(sys.stdin)['rx_frames_new'])")
out=$("$CTL" -n 1 --json --timeout 10000 send "$big" --wait 2>&1) ||
	fail "send of an 8,000-byte event: $out"
gseq=$(echo "$out" | python3 -c "import json,sys; print(json.load(sys.stdin)['gseq'])")
for i in 1 2 3; do
	end=$(($(date +%s) + 15))
	until "$CTL" -n "$i" --json --timeout 3000 events --from "$gseq" --count 1 2>/dev/null |
		python3 -c "import json,sys; e=json.load(sys.stdin)['events']; sys.exit(not e or e[0]['data'] != sys.argv[1])" "$big"; do
		(($(date +%s) < end)) || fail "node $i never applied the 8,000-byte event (gseq $gseq)"
		sleep 0.3
	done
done
got2=$(( $(dp_tel 2 /rumor/stats | python3 -c "import json,sys; print(json.load(sys.stdin)['rx_frames_new'])") - new2 ))
((got2 >= 1)) || fail "node 2's dataplane received no frame of it"
log "an 8,000-byte event sent on node 1 is gseq $gseq on nodes 1-3 (node 2 took $got2 new frame(s) by gossip)"
huge=$(printf 'x%.0s' $(seq 1 9500))
out=$("$CTL" -n 1 --json --timeout 5000 send "$huge" 2>&1) && fail "a 9,500-byte event was taken: $out"
[[ $out == *"frame carries at MTU 9000"* ]] || fail "refusal without the limit: $out"
log "a 9,500-byte event refused: $(echo "$out" | tr -d '\n' | cut -c1-160)"
log "PASS: jumbo events through the API at MTU 9000"
