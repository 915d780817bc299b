#!/usr/bin/env bash
# The Wireshark dissector (tools/wireshark/rumor.lua) against live 3-node clusters: dumpcap on
# the hub's data and control bridges while events are sent with rumorctl from every node (one at
# a time and in bursts) plus one API batch of 5 (one frame with several events); then tshark with
# the Lua script dissects the capture and tests/dissector_check.py compares every dissected
# gossip frame (origin, seqs, event count, clock entries, ids, payloads, per-event timestamps)
# with what `rumorctl events --json` says about the same events.
# Crafted encrypted frames first (offline: tests/dissector_enc.py), then three clusters:
#   tls       as deployed: control links mutual TLS 1.3, gossip frames sealed. Gossip checked,
#             and every frame's auth header (addressee = IP destination, counters unique per
#             sender); on the control bridge the handshakes of a node restarted at the end are
#             TLS 1.3 and no cp_net frame travels in clear
#   encrypt   as deployed plus [auth] encrypt = true: every gossip body is shown as ciphertext
#             of its length (never as events), the plaintext headers name every event sent
#   insecure  RUMOR_INSECURE=1 (plaintext control links, no auth header): gossip checked again,
#             and the control protocol: every report record's ids, CRC32C of every frame, and
#             the order batches in the captured Raft entries (in index order: the global order)
# usage: dissector.sh SOURCE_ROOT   (env RUMOR_BUILD: build dir; RUMOR_DISSECTOR_LUA: another
# script to test, e.g. a deliberately broken copy, which must make this test fail;
# RUMOR_DISSECTOR_PHASES: "offline tls encrypt insecure" by default)
TEST=dissector TEST_NS=${TEST_NS:-17}
. "$(dirname "$0")/cluster_lib.sh"
require_env
command -v tshark >/dev/null && command -v dumpcap >/dev/null ||
	skip "tshark/dumpcap not installed (deploy/setup-host.sh installs tshark)"
LUA=${RUMOR_DISSECTOR_LUA:-$SRC/tools/wireshark/rumor.lua}
[[ -r $LUA ]] || fail "no dissector at $LUA"
NODES="1 2 3"
HUB=$RUMOR_NS-hub

# capture_start: dumpcap in the hub namespace, where both bridges are (promiscuous: the bridge
# device then sees every frame it forwards between the nodes' ports)
capture_start() {
	PCAP=$RUMOR_RUN/capture.pcapng
	ip netns exec "$HUB" dumpcap -q -i brdata -i brctl -a duration:60 -w "$PCAP" \
		>"$RUMOR_RUN/dumpcap.out" 2>&1 &
	cap_pid=$!
	PIDS+=("$cap_pid")
	for _ in $(seq 50); do
		grep -q "Capturing on" "$RUMOR_RUN/dumpcap.out" 2>/dev/null && break
		kill -0 "$cap_pid" 2>/dev/null || fail "dumpcap exited: $(cat "$RUMOR_RUN/dumpcap.out")"
		sleep 0.1
	done
	grep -q "Capturing on" "$RUMOR_RUN/dumpcap.out" ||
		fail "dumpcap did not start: $(cat "$RUMOR_RUN/dumpcap.out")"
	sleep 0.5
}

capture_stop() {
	sleep 0.5 # the last reports and fan-out copies are on the wire
	kill -INT "$cap_pid" 2>/dev/null || true
	wait "$cap_pid" || true
	PIDS=()
	[[ -s $PCAP ]] || fail "empty capture: $(cat "$RUMOR_RUN/dumpcap.out")"
}

# send_events PER_NODE_BURST: 2 one at a time per node (--wait), a burst of PER_NODE_BURST per
# node sent at once, and one API batch of 5 on node 2 (rumorctl sends one event per request;
# the origin packs a batch into one frame, so a frame carries several events whatever the
# timing). Sets n to the number sent.
send_events() {
	local i j p bp=()
	n=0
	for i in $NODES; do
		for j in 1 2; do
			"$CTL" -n "$i" --timeout 5000 send "SET ws-$i-$j v$j" --wait >/dev/null ||
				fail "send $j on node $i"
			n=$((n + 1))
		done
	done
	for i in $NODES; do
		for ((j = 3; j < 3 + $1; j++)); do
			"$CTL" -n "$i" --timeout 5000 send "SET ws-$i-$j v$j" --ack durable >/dev/null &
			bp+=($!)
			n=$((n + 1))
		done
	done
	for p in "${bp[@]}"; do wait "$p" || fail "a burst send failed"; done
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
}

tsh() { tshark -n -r "$PCAP" -X lua_script:"$LUA" "$@" 2>"$RUMOR_RUN/tshark.err"; }

# dissect_gossip: the rumor frames as JSON, a protocol summary and a few sample lines
dissect_gossip() {
	tsh -Y rumor -T json -e frame.number -e rumor.type -e rumor.origin -e rumor.sender \
		-e rumor.first_seq -e rumor.last_seq -e rumor.event_count -e rumor.clock_count \
		-e rumor.clock -e rumor.clock.node -e rumor.clock.counter -e rumor.event.seq \
		-e rumor.event.id -e rumor.event.len -e rumor.event.data -e rumor.event.clock \
		-e ip.src -e ip.dst -e rumor.auth.key_id -e rumor.auth.dst -e rumor.auth.counter \
		-e _ws.expert.message >"$RUMOR_RUN/gossip.json" ||
		fail "tshark (gossip): $(cat "$RUMOR_RUN/tshark.err")"
	log "capture: $(tsh -q -z io,phs 2>/dev/null | grep -E '^ *(eth|udp|rumor|tcp|tls|rumorcp) ' | tr -s ' ' | tr '\n' ';')"
	tsh -Y "rumor.event_count > 1" | head -n 3 | sed 's/^/    /' || true
}

run_tls() {
	unset RUMOR_INSECURE
	# a rumor-cp that honours RUMOR_TLS_KEYLOG writes its session secrets there: then the
	# restarted node's sessions are decrypted and their cp_net frames checked too
	export RUMOR_TLS_KEYLOG=$RUMOR_RUN/tls-keylog.txt
	up 3
	leader=$(wait_leader "$NODES" 20) || fail "no leader elected"
	log "tls: leader is node $leader"
	capture_start
	send_events 6
	log "tls: sent $n events"
	converge "$NODES" 30 || fail "nodes did not converge"
	# then node 3's control links are dialled again in both directions: their TLS handshakes
	# are on the wire (after the events: a restarted origin resumes above a reserved seq block)
	$CLUSTER restart 3 >"$RUMOR_RUN/restart.out" 2>&1 || fail "restart 3: $(cat "$RUMOR_RUN/restart.out")"
	wait_leader "$NODES" 20 >/dev/null || fail "no leader after restarting node 3"
	sleep 1
	capture_stop
	"$CTL" -n 1 --json --timeout 5000 events --from 1 --count 10000 >"$RUMOR_RUN/events.json" ||
		fail "rumorctl events"
	dissect_gossip
	python3 "$SRC/tests/dissector_check.py" --events "$RUMOR_RUN/events.json" \
		--gossip "$RUMOR_RUN/gossip.json" --prefix "SET ws-" --expect "$n" --min-multi 1 --auth ||
		fail "tls: dissected gossip disagrees with rumorctl events (capture kept in $PCAP)"
	local hello13 clear segs
	hello13=$(tsh -Y 'tcp.port == 7100 and tls.handshake.type == 2 and tls.handshake.extensions.supported_version == 0x0304' | wc -l)
	clear=$(tsh -Y 'rumorcp' | wc -l)
	# a link's first segments in the capture may be the tail of a record sent before it began
	segs=$(python3 "$SRC/tests/dissector_tls_segments.py" "$PCAP" 7100 -X lua_script:"$LUA") ||
		fail "tls: $segs (capture kept in $PCAP)"
	log "tls: control bridge: $segs; $hello13 TLS 1.3 ServerHellos, $clear cp_net frames in clear"
	((hello13 >= 2)) || fail "tls: no TLS 1.3 handshake on the control bridge after restarting node 3"
	((clear == 0)) || fail "tls: $clear cp_net frames in clear on a TLS control network"
	if [[ -s $RUMOR_TLS_KEYLOG ]]; then
		# HELLO and HELLO_ACK of node 3's four new links, inside TLS: "type from to crc_ok"
		tsh -o tls.keylog_file:"$RUMOR_TLS_KEYLOG" -Y 'rumorcp.type <= 2' -T fields -E occurrence=a \
			-E aggregator=' ' -e rumorcp.type -e rumorcp.hello.from -e rumorcp.hello.to \
			-e rumorcp.crc_ok >"$RUMOR_RUN/hellos.txt" || fail "tshark (decrypt)"
		local dec bad
		dec=$(tsh -o tls.keylog_file:"$RUMOR_TLS_KEYLOG" -Y 'rumorcp.raft.type' | wc -l)
		bad=$(tsh -o tls.keylog_file:"$RUMOR_TLS_KEYLOG" -Y 'rumorcp.crc_ok == 0 or _ws.expert.severity == error' | wc -l)
		log "tls: decrypted with the key log: $(wc -l <"$RUMOR_RUN/hellos.txt") segments with HELLOs ($(tr '\n' ';' <"$RUMOR_RUN/hellos.txt")), $dec with raft messages, $bad with errors"
		python3 - "$RUMOR_RUN/hellos.txt" <<'PY' || fail "tls: decrypted HELLOs are not node 3's links"
import sys
links = set()
for line in open(sys.argv[1]):
    f = line.split("\t")
    types, frm, to, ok = (x.split() for x in f)
    for t, a, b, c in zip(types, frm, to, ok):
        if c not in ("1", "True"):
            sys.exit(f"CRC32C wrong in a decrypted HELLO: {line!r}")
        links.add((int(t), int(a), int(b)))
want = {(1, 3, 1), (1, 3, 2), (1, 1, 3), (1, 2, 3), (2, 1, 3), (2, 2, 3), (2, 3, 1), (2, 3, 2)}
sys.exit(0 if want <= links else f"HELLO/ACK (type, from, to) seen {sorted(links)}, want {sorted(want)}")
PY
		((dec > 0 && bad == 0)) || fail "tls: decrypted control frames: $dec raft, $bad with errors"
	else
		log "tls: no key log written (this rumor-cp ignores RUMOR_TLS_KEYLOG): decryption not checked"
	fi
	unset RUMOR_TLS_KEYLOG
	$CLUSTER stop >/dev/null 2>&1 || true
}

# [auth] encrypt = true (issue 14): every gossip body on the wire is AES-256-GCM ciphertext;
# the dissector must show it as such (length, no timestamp or events, no drop note), while the
# plaintext fixed header still names every event sent
run_encrypt() {
	unset RUMOR_INSECURE
	export RUMOR_STORAGE_EXTRA='[auth]\nencrypt = true'
	up 3
	grep -q '^encrypt = true' "$RUMOR_RUN/rumor.conf" || fail "encrypt: config has no encrypt = true"
	leader=$(wait_leader "$NODES" 20) || fail "no leader elected"
	log "encrypt: leader is node $leader"
	capture_start
	send_events 4
	log "encrypt: sent $n events"
	converge "$NODES" 30 || fail "nodes did not converge"
	capture_stop
	"$CTL" -n 1 --json --timeout 5000 events --from 1 --count 10000 >"$RUMOR_RUN/events.json" ||
		fail "rumorctl events"
	tsh -Y rumor -T json -e frame.number -e rumor.type -e rumor.origin -e rumor.sender \
		-e rumor.first_seq -e rumor.event_count -e rumor.flags.enc -e rumor.enc.len \
		-e rumor.event.seq -e rumor.clock -e udp.length -e ip.src -e ip.dst \
		-e rumor.auth.key_id -e rumor.auth.dst -e rumor.auth.counter \
		-e _ws.expert.message >"$RUMOR_RUN/gossip-enc.json" ||
		fail "tshark (encrypt): $(cat "$RUMOR_RUN/tshark.err")"
	tsh -Y "rumor.flags.enc == 1" | head -n 2 | sed 's/^/    /' || true
	python3 "$SRC/tests/dissector_check.py" --events "$RUMOR_RUN/events.json" \
		--gossip "$RUMOR_RUN/gossip-enc.json" --prefix "SET ws-" --expect "$n" --auth \
		--encrypted || fail "encrypt: dissected capture disagrees (capture kept in $PCAP)"
	unset RUMOR_STORAGE_EXTRA
	$CLUSTER stop >/dev/null 2>&1 || true
}

# crafted frames, no cluster: encrypted bodies and the impossible F_ENC cases
run_offline() {
	python3 "$SRC/tests/dissector_enc.py" "$SRC" "$LUA" || fail "offline: crafted encrypted frames"
	# the TLS phase's segment check: passes a capture that joined a link mid-record, fails one
	# with a segment in clear
	mkdir -p "$RUMOR_RUN" && python3 "$SRC/tests/dissector_tls_segments.py" --fixture "$RUMOR_RUN" ||
		fail "offline: fixture"
	python3 "$SRC/tests/dissector_tls_segments.py" "$RUMOR_RUN/joined.pcap" 7100 >/dev/null ||
		fail "offline: a capture joined mid-record is refused"
	! python3 "$SRC/tests/dissector_tls_segments.py" "$RUMOR_RUN/clear.pcap" 7100 >/dev/null ||
		fail "offline: a segment in clear passes the TLS segment check"
}

run_insecure() {
	export RUMOR_INSECURE=1
	up 3
	leader=$(wait_leader "$NODES" 20) || fail "no leader elected"
	log "insecure: leader is node $leader"
	capture_start
	send_events 4
	log "insecure: sent $n events"
	converge "$NODES" 30 || fail "nodes did not converge"
	capture_stop
	"$CTL" -n 1 --json --timeout 5000 events --from 1 --count 10000 >"$RUMOR_RUN/events.json" ||
		fail "rumorctl events"
	dissect_gossip
	tsh -Y rumorcp -T json -e frame.number -e rumorcp.type -e rumorcp.app_type -e rumorcp.crc_ok \
		-e rumorcp.report.origin -e rumorcp.report.reporter -e rumorcp.report.first_seq \
		-e rumorcp.report.count -e rumorcp.report.id -e rumorcp.raft.type \
		-e rumorcp.batch.record -e _ws.expert.message >"$RUMOR_RUN/cp.json" ||
		fail "tshark (control): $(cat "$RUMOR_RUN/tshark.err")"
	python3 "$SRC/tests/dissector_check.py" --events "$RUMOR_RUN/events.json" \
		--gossip "$RUMOR_RUN/gossip.json" --control "$RUMOR_RUN/cp.json" --prefix "SET ws-" \
		--expect "$n" --min-multi 1 ||
		fail "insecure: dissected capture disagrees with rumorctl events (capture kept in $PCAP)"
	unset RUMOR_INSECURE
	$CLUSTER stop >/dev/null 2>&1 || true
}

for phase in ${RUMOR_DISSECTOR_PHASES:-offline tls encrypt insecure}; do
	"run_$phase"
done
log "PASS"
