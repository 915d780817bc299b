#!/usr/bin/env bash
# The Wireshark dissector (tools/wireshark/rumor.lua) against a live 3-node cluster: dumpcap on
# the hub's data and control bridges while 24 events are sent with rumorctl from every node (one
# at a time and in bursts) and one API batch of 5 (one frame with several events), then tshark with the Lua script dissects the
# capture and tests/dissector_check.py compares every dissected gossip frame (origin, seqs, event
# count, clock entries, ids, payloads, per-event timestamps), every control-plane report record
# and the order batches inside the captured Raft entries (in index order: the global order) with
# what `rumorctl events --json` says about the same events.
# usage: dissector.sh SOURCE_ROOT   (env RUMOR_BUILD: build dir; RUMOR_DISSECTOR_LUA: another
# script to test, e.g. a deliberately broken copy, which must make this test fail)
TEST=dissector TEST_NS=${TEST_NS:-17}
. "$(dirname "$0")/cluster_lib.sh"
require_env
command -v tshark >/dev/null && command -v dumpcap >/dev/null ||
	skip "tshark/dumpcap not installed (deploy/setup-host.sh installs tshark)"
LUA=${RUMOR_DISSECTOR_LUA:-$SRC/tools/wireshark/rumor.lua}
[[ -r $LUA ]] || fail "no dissector at $LUA"
NODES="1 2 3"
HUB=$RUMOR_NS-hub
PCAP=$RUMOR_RUN/capture.pcapng
up 3
leader=$(wait_leader "$NODES" 20) || fail "no leader elected"
log "leader is node $leader"

# dumpcap runs in the hub namespace, where both bridges are (promiscuous: the bridge device
# then sees every frame it forwards between the nodes' ports)
ip netns exec "$HUB" dumpcap -q -i brdata -i brctl -a duration:60 -w "$PCAP" \
	>"$RUMOR_RUN/dumpcap.out" 2>&1 &
cap_pid=$!
PIDS+=("$cap_pid")
for _ in $(seq 50); do
	grep -q "Capturing on" "$RUMOR_RUN/dumpcap.out" 2>/dev/null && break
	kill -0 "$cap_pid" 2>/dev/null || fail "dumpcap exited: $(cat "$RUMOR_RUN/dumpcap.out")"
	sleep 0.1
done
grep -q "Capturing on" "$RUMOR_RUN/dumpcap.out" || fail "dumpcap did not start: $(cat "$RUMOR_RUN/dumpcap.out")"
sleep 0.5

# 24 events: 2 one at a time per node (--wait), then a burst of 6 per node sent at once
n=0
for i in $NODES; do
	for j in 1 2; do
		"$CTL" -n "$i" --timeout 5000 send "SET ws-$i-$j v$j" --wait >/dev/null ||
			fail "send $j on node $i"
		n=$((n + 1))
	done
done
bp=()
for i in $NODES; do
	for j in 3 4 5 6 7 8; do
		"$CTL" -n "$i" --timeout 5000 send "SET ws-$i-$j v$j" --ack durable >/dev/null &
		bp+=($!)
		n=$((n + 1))
	done
done
for p in "${bp[@]}"; do wait "$p" || fail "a burst send failed"; done
# and one API batch of 5 (rumorctl sends one event per request): the origin packs a batch into
# one frame, so at least one frame carries several events whatever the timing
python3 - "$RUMOR_RUN/node-2.sock" <<'PY' || fail "batch send on node 2"
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
req = {"cmd": "send", "batch": [f"SET ws-2-b{k} b{k}" for k in range(5)], "ack": "durable"}
s.sendall((json.dumps(req) + "\n").encode())
r = json.loads(s.makefile().readline())
sys.exit(0 if r.get("ok") else f"batch refused: {r}")
PY
n=$((n + 5))
log "sent $n events"
converge "$NODES" 30 || fail "nodes did not converge"
sleep 0.5 # the last reports and fan-out copies are on the wire
kill -INT "$cap_pid" 2>/dev/null || true
wait "$cap_pid" || true
PIDS=()
[[ -s $PCAP ]] || fail "empty capture: $(cat "$RUMOR_RUN/dumpcap.out")"

"$CTL" -n 1 --json --timeout 5000 events --from 1 --count 10000 >"$RUMOR_RUN/events.json" ||
	fail "rumorctl events"
tsh() { tshark -n -r "$PCAP" -X lua_script:"$LUA" "$@" 2>"$RUMOR_RUN/tshark.err"; }
tsh -Y rumor -T json -e frame.number -e rumor.type -e rumor.origin -e rumor.sender \
	-e rumor.first_seq -e rumor.last_seq -e rumor.event_count -e rumor.clock_count -e rumor.clock \
	-e rumor.clock.node -e rumor.clock.counter -e rumor.event.seq -e rumor.event.id \
	-e rumor.event.len -e rumor.event.data -e rumor.event.clock -e _ws.expert.message \
	>"$RUMOR_RUN/gossip.json" || fail "tshark (gossip): $(cat "$RUMOR_RUN/tshark.err")"
tsh -Y rumorcp -T json -e frame.number -e rumorcp.type -e rumorcp.app_type -e rumorcp.crc_ok \
	-e rumorcp.report.origin -e rumorcp.report.reporter -e rumorcp.report.first_seq \
	-e rumorcp.report.count -e rumorcp.report.id -e rumorcp.raft.type -e rumorcp.batch.record \
	-e _ws.expert.message \
	>"$RUMOR_RUN/cp.json" || fail "tshark (control): $(cat "$RUMOR_RUN/tshark.err")"
log "capture: $(tsh -q -z io,phs 2>/dev/null | grep -E '^ *(eth|udp|rumor|tcp|rumorcp) ' | tr -s ' ' | tr '\n' ';')"
tsh -Y "rumor.event_count > 1 or rumorcp.app_type == 1" | head -n 4 >"$RUMOR_RUN/sample.txt" || true
sed 's/^/    /' "$RUMOR_RUN/sample.txt"
python3 "$SRC/tests/dissector_check.py" --events "$RUMOR_RUN/events.json" \
	--gossip "$RUMOR_RUN/gossip.json" --control "$RUMOR_RUN/cp.json" --prefix "SET ws-" \
	--expect "$n" --min-multi 1 || fail "dissected capture disagrees with rumorctl events (capture kept in $PCAP)"
log "PASS"
