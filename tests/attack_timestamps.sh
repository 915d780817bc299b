#!/usr/bin/env bash
# Attack test (issue 13): 3 nodes; an attacker namespace on the hub's data bridge sends crafted
# gossip frames (tools/rumor_craft.c, the project's own codec) for ~20 s whose timestamps name
# the impossible: node 500, the receiver's own counter far ahead, 70 entries, huge and
# UINT64_MAX counters of real nodes, origin seqs at the top of the range and wrapping, origin
# 3's next seqs naming node 500. Meanwhile a client on every node runs `send --wait` in a loop.
# Pass: every send succeeds during and after the attack with p99 < 1 s, every node counts
# drops for each timestamp reason sent, all nodes end with one order digest.
# usage: attack_timestamps.sh SOURCE_ROOT   (env RUMOR_BUILD: build dir, RUMOR_CRAFT: tool)
TEST=attack_ts TEST_NS=13
. "$(dirname "$0")/cluster_lib.sh"
require_env
NODES="1 2 3"
CRAFT=${RUMOR_CRAFT:-$RUMOR_BUILD/tools/rumor-craft}
[[ -x $CRAFT ]] || fail "missing $CRAFT (build first)"
ATTACK_S=${RCT_ATTACK_S:-20}
ATK=$RUMOR_NS-atk
up 3
# the attacker's namespace goes with the cluster, whatever way the script ends (set +e: a
# failing run must still reach cleanup)
trap 'rc=$?; set +e; ip netns del "$ATK" 2>/dev/null; (exit $rc); cleanup' EXIT
leader=$(wait_leader "$NODES" 20) || fail "no leader elected"
ip netns add "$ATK"
ip link add atk0 netns "$ATK" type veth peer name atk0-h netns "$RUMOR_NS-hub"
ip -n "$ATK" link set atk0 address 02:52:00:00:00:ee up
ip -n "$RUMOR_NS-hub" link set atk0-h master brdata up
log "leader is node $leader; attacker namespace $ATK on $RUMOR_NS-hub/brdata"

client() { send_loop "$1" atk-client; } # NODE (cluster_lib.sh)

for i in $NODES; do
	"$CTL" -n "$i" --timeout 5000 send "SET atk-warmup-$i 1" --wait >/dev/null ||
		fail "warm-up send on node $i failed before any attack"
done
next3=$(( $("$CTL" -n 3 --json --timeout 5000 send "SET atk-probe 1" --wait |
	python3 -c "import json,sys; print(json.load(sys.stdin)['seq'])") + 1 ))
log "cluster answers; origin 3's next seq is $next3"
rm -f "$RUMOR_RUN/stop"
for i in $NODES; do client "$i" & PIDS+=($!); done
sleep 3
log "attacking for $ATTACK_S s"
ip netns exec "$ATK" "$CRAFT" --config "$RUMOR_RUN/rumor.conf" --iface atk0 \
	--src-mac 02:52:00:00:00:ee --src-ip 10.77.0.200 --duration "$ATTACK_S" --pps 600 \
	--next "3:$next3" >"$RUMOR_RUN/craft.out" 2>&1 || fail "rumor-craft: $(cat "$RUMOR_RUN/craft.out")"
log "$(cat "$RUMOR_RUN/craft.out")"
sleep 5 # sends after the attack must work as well
touch "$RUMOR_RUN/stop"
for p in "${PIDS[@]}"; do wait "$p" || true; done
PIDS=()

# latency and failures per node
bad=0
for i in $NODES; do
	read -r n nfail p50 p99 <<<"$(send_stats "$i")"
	log "node $i: $n sends --wait, $nfail failed, p50 ${p50} ms, p99 ${p99} ms"
	if ((nfail > 0)); then
		log "node $i: first failures: $(head -3 "$RUMOR_RUN/fail-$i" | tr '\n' '|')"
		bad=1
	fi
	((n > 0 && p99 < 1000)) || bad=1
done

# drop counters per reason, from each dataplane's telemetry
tel() { # node: /rumor/stats as one JSON object
	python3 - "/var/run/dpdk/$RUMOR_NS-n$1/dpdk_telemetry.v2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.recv(4096)
s.send(b"/rumor/stats")
print(json.dumps(json.loads(s.recv(65536).decode())["/rumor/stats"]))
PY
}
WANT="drop_ts_nonmember drop_ts_own_ahead drop_ts_entries drop_ts_window drop_ts_seq_window"
for i in $NODES; do
	st=$(tel "$i") || { log "node $i: no telemetry"; bad=1; continue; }
	log "node $i drops: $(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(' '.join(f'{k[5:]}={v}' for k, v in d.items() if k.startswith('drop_')), 'members', d.get('members', '-'), 'members_from_cp', d.get('members_from_cp', '-'))" "$st")"
	for k in $WANT drop_bad_sequence; do
		v=$(python3 -c "import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], 0))" "$st" "${k//bad_sequence/bad_sequence}")
		((v > 0)) || { log "node $i: $k is $v"; bad=1; }
	done
done

converge "$NODES" 30 || fail "nodes did not converge after the attack"
same_digests "$NODES" || fail "digests differ"
((bad == 0)) || fail "sends failed or were slow under the attack, or drops were not counted"
log "PASS: every send --wait succeeded during and after the attack; drops counted per reason"
