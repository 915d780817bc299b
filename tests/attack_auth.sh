#!/usr/bin/env bash
# Authenticated gossip (issue 14): 3 nodes with cluster.sh's keyring; from an attacker
# namespace on the data bridge, without the key, at least 1,000,000 frames: forged (issue 14's
# frame, origin 3's next seqs saying SET pwned, with no auth header / an unknown key id / key 1
# and a tag we cannot compute), replayed (real frames captured on node 1's data link, sent again:
# counters seen, or behind the window), tampered (those frames with one bit of the UDP payload
# flipped) and replayed to node 1 after it restarted. Meanwhile `send --wait` runs on every
# node. Pass: every frame counted by reason in status (sum over nodes == what rumor-craft sent,
# per reason; tampered: the sum of all reasons), no `pwned` key anywhere, one order and KV
# digest, every send --wait answered (node 1's while it was down excepted), telemetry has the
# counters. usage: attack_auth.sh SOURCE_ROOT (env RUMOR_BUILD, RUMOR_AUTH_PPS, RUMOR_AUTH_N)
TEST=attack_auth TEST_NS=16
. "$(dirname "$0")/cluster_lib.sh"
require_env
NODES="1 2 3"
CRAFT=${RUMOR_CRAFT:-$RUMOR_BUILD/tools/rumor-craft}
[[ -x $CRAFT ]] || fail "missing $CRAFT (build first)"
command -v dumpcap >/dev/null || skip "dumpcap (tshark) not installed"
PPS=${RUMOR_AUTH_PPS:-25000}
N=${RUMOR_AUTH_N:-1000000}
N_FORGED=$((N * 45 / 100)) N_REPLAY=$((N * 30 / 100)) N_TAMPER=$((N * 15 / 100))
N_RESTART=$((N - N * 45 / 100 - N * 30 / 100 - N * 15 / 100))
PY="python3 $SRC/tests/attack_auth.py"
ATK=$RUMOR_NS-atk
HUB=$RUMOR_NS-hub
up 3
trap 'rc=$?; set +e; ip netns del "$ATK" 2>/dev/null; (exit $rc); cleanup' EXIT
grep -q '^keyring = ' "$RUMOR_RUN/rumor.conf" || fail "cluster.sh wrote no [auth] keyring"
leader=$(wait_leader "$NODES" 20) || fail "no leader elected"
ip netns add "$ATK"
ip link add atk0 netns "$ATK" type veth peer name atk0-h netns "$HUB"
ip -n "$ATK" link set atk0 address 02:52:00:00:00:ee up
ip -n "$HUB" link set atk0-h master brdata up
log "leader is node $leader; attacker $ATK on $HUB/brdata; $N frames at $PPS/s"

client() { send_loop "$1" auth "$RUMOR_RUN/stop-$1"; } # NODE (cluster_lib.sh)
tel() { dp_tel "$@"; } # NODE CMD (cluster_lib.sh)

probe3() { # origin 3's next seq
	echo $(($("$CTL" -n 3 --json --timeout 5000 send "SET auth-probe 1" --wait |
		python3 -c "import json,sys; print(json.load(sys.stdin)['seq'])") + 1))
}
for i in $NODES; do
	"$CTL" -n "$i" --timeout 5000 send "SET auth-warmup-$i 1" --wait >/dev/null ||
		fail "warm-up send on node $i failed before any attack"
done
log "status says gossip_auth = $(field 1 "d['dataplane'].get('gossip_auth')")"
rm -f "$RUMOR_RUN"/stop-*
declare -A CLI
for i in $NODES; do client "$i" & CLI[$i]=$!; PIDS+=($!); done

# real frames from and to node 1, captured on its bridge port while the clients run
ip netns exec "$HUB" dumpcap -q -P -i d1-h -f "udp port 7946" -a duration:4 \
	-w "$RUMOR_RUN/cap.pcap" 2>"$RUMOR_RUN/dumpcap.err" || fail "dumpcap: $(cat "$RUMOR_RUN/dumpcap.err")"
CR=(ip netns exec "$ATK" "$CRAFT" --config "$RUMOR_RUN/rumor.conf" --iface atk0
	--src-mac 02:52:00:00:00:ee --src-ip 10.77.0.200 --duration 600 --pps "$PPS")
bad=0
phase() { # NAME BEFORE AFTER CRAFT_OUT CHECK_ARGS...: log and check one phase's counters
	local name=$1; shift
	log "$name: $(grep -h 'rumor-craft:' "$3" | tr '\n' ' ')"
	$PY check "$@" || { bad=1; log "$name: counters do not match what was sent"; }
}

# issue 14's frame: origin 3's next seqs before node 3 itself uses them (its client waits),
# from node 3's MAC and IP (past the link-source budgets); without the MAC nodes 1 and 2 took
# them, ordered `pwned` and dropped 3's real events
touch "$RUMOR_RUN/stop-3"
wait "${CLI[3]}" || true
next3=$(probe3)
log "origin 3's next seq is $next3"
$PY snap "$CTL" "$NODES" "$RUMOR_RUN/s0.json"
"${CR[@]}" --kinds noauth,badkey,badtag --next "3:$next3" --count "$N_FORGED" --spoof \
	>"$RUMOR_RUN/craft-forged.out" 2>&1 || fail "rumor-craft: $(cat "$RUMOR_RUN/craft-forged.out")"
rm -f "$RUMOR_RUN/stop-3"
client 3 & PIDS+=($!)
sleep 1
$PY snap "$CTL" "$NODES" "$RUMOR_RUN/s1.json"
phase forged "$RUMOR_RUN/s0.json" "$RUMOR_RUN/s1.json" "$RUMOR_RUN/craft-forged.out"

"${CR[@]}" --replay "$RUMOR_RUN/cap.pcap" --count "$N_REPLAY" \
	>"$RUMOR_RUN/craft-replay.out" 2>&1 || fail "rumor-craft: $(cat "$RUMOR_RUN/craft-replay.out")"
sleep 1
$PY snap "$CTL" "$NODES" "$RUMOR_RUN/s2.json"
phase replayed "$RUMOR_RUN/s1.json" "$RUMOR_RUN/s2.json" "$RUMOR_RUN/craft-replay.out"

"${CR[@]}" --replay "$RUMOR_RUN/cap.pcap" --flip --count "$N_TAMPER" \
	>"$RUMOR_RUN/craft-tamper.out" 2>&1 || fail "rumor-craft: $(cat "$RUMOR_RUN/craft-tamper.out")"
sleep 1
$PY snap "$CTL" "$NODES" "$RUMOR_RUN/s3.json"
phase tampered "$RUMOR_RUN/s2.json" "$RUMOR_RUN/s3.json" "$RUMOR_RUN/craft-tamper.out" --total

# the receiver restarts: what was captured before must stay refused
touch "$RUMOR_RUN/stop-1"
wait "${CLI[1]}" || true
# a clean stop (SIGTERM: the dataplane checkpoints its seqs) so the restart leaves no seq gap
# whose skip (gap timeout) would hold the other nodes' sends meanwhile
for p in dp cp; do kill -TERM "$(cat "$RUMOR_RUN/$p-1.pid")" 2>/dev/null || true; done
for _ in $(seq 100); do
	kill -0 "$(cat "$RUMOR_RUN/dp-1.pid")" 2>/dev/null || kill -0 "$(cat "$RUMOR_RUN/cp-1.pid")" 2>/dev/null || break
	sleep 0.1
done
$CLUSTER restart 1 >/dev/null 2>&1 || fail "restart of node 1"
for _ in $(seq 60); do
	[[ $(field 1 "d['dataplane']['state']") == alive ]] && break
	sleep 0.5
done
"$CTL" -n 1 --timeout 10000 send "SET auth-after-restart 1" --wait >/dev/null ||
	fail "node 1 does not take sends after its restart"
rm -f "$RUMOR_RUN/stop-1"
client 1 & PIDS+=($!)
$PY snap "$CTL" 1 "$RUMOR_RUN/s4.json"
"${CR[@]}" --replay "$RUMOR_RUN/cap.pcap" --replay-dst 1 --count "$N_RESTART" \
	>"$RUMOR_RUN/craft-restart.out" 2>&1 || fail "rumor-craft: $(cat "$RUMOR_RUN/craft-restart.out")"
sleep 1
$PY snap "$CTL" 1 "$RUMOR_RUN/s5.json"
phase "replayed after node 1 restarted" "$RUMOR_RUN/s4.json" "$RUMOR_RUN/s5.json" \
	"$RUMOR_RUN/craft-restart.out" --nodes 1 --restart

sleep 2 # sends after the attack must work as well
for i in $NODES; do touch "$RUMOR_RUN/stop-$i"; done
for p in "${PIDS[@]}"; do wait "$p" || true; done
PIDS=()
total=0
for f in "$RUMOR_RUN"/craft-*.out; do
	total=$((total + $(python3 -c "import re,sys; print(sum(int(v) for v in re.findall(r'=(\d+)', re.search(r'sent(.*) failed', open(sys.argv[1]).read()).group(1))))" "$f")))
done
log "attacker frames sent in all: $total"
((total >= N)) || { log "only $total frames sent"; bad=1; }

for i in $NODES; do
	read -r n nfail p50 p99 <<<"$(send_stats "$i")"
	log "node $i: $n sends --wait, $nfail failed, p50 ${p50} ms, p99 ${p99} ms"
	if ((nfail > 0 || n == 0)); then
		log "node $i: first failures: $(head -3 "$RUMOR_RUN/fail-$i" 2>/dev/null | tr '\n' '|')"
		bad=1
	fi
	kv=$("$CTL" -n "$i" --json --timeout 5000 kv pwned 2>/dev/null || true)
	if ! python3 -c "import json,sys; d=json.loads(sys.argv[1] or '{}'); sys.exit(1 if d.get('ok') and 'pwned' in d.get('kv', {}) else 0)" "$kv"; then
		log "node $i: the forged event was applied: $kv"
		bad=1
	fi
	st=$(tel "$i" /rumor/stats) || { log "node $i: no telemetry"; bad=1; continue; }
	log "node $i telemetry: $(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(' '.join(f'{k[5:]}={v}' for k, v in d.items() if k.startswith('drop_auth')))" "$st")"
done
converge "$NODES" 30 || fail "nodes did not converge after the attack"
same_digests "$NODES" || fail "digests differ"
((bad == 0)) || fail "an attacker frame was taken or not counted, or a send failed"
log "PASS: $total frames without the key refused and counted by reason"
