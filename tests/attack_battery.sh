#!/usr/bin/env bash
# Attack battery (issue 13): 3 nodes; an attacker namespace on the hub's data bridge runs three
# rumor-craft streams at once for RUMOR_ATTACK_SECS (default 60) s: poisoned timestamps (node
# 500, the receiver's own id, 70 entries, huge and UINT64_MAX counters, seqs at the top and
# wrapping, origin 3's next seqs naming node 500), a flood of forged (non-member) origins, a seq
# jump of 2^21, members' seqs ahead of the order with clean timestamps; PULL_REQ and unasked PULL_RESP floods in members' names; truncated and random
# frames as fast as the sender can (RUMOR_ATTACK_FAST_PPS, 0 = unpaced). Meanwhile a client on
# every node runs `send --wait` in a loop. Pass: every send succeeds, p50/p99 printed, p99 < 1 s
# per node; each node's rumor-dp / rumor-cp RSS and store use printed at start, middle and end
# and bounded (RSS growth < RUMOR_ATTACK_RSS_MB, store use <= stranger cap + 512); no PULL_REQ
# from the attacker answered; drops counted per reason; one order digest at the end.
# RUMOR_ATTACK_AGEOUT=1 adds the age-out end to end (see there; ~55 s, not in CI).
# usage: attack_battery.sh SOURCE_ROOT   (env RUMOR_BUILD: build dir, RUMOR_CRAFT: tool)
TEST=attack_battery TEST_NS=14
. "$(dirname "$0")/cluster_lib.sh"
require_env
NODES="1 2 3"
CRAFT=${RUMOR_CRAFT:-$RUMOR_BUILD/tools/rumor-craft}
[[ -x $CRAFT ]] || fail "missing $CRAFT (build first)"
SECS=${RUMOR_ATTACK_SECS:-60}
FAST_PPS=${RUMOR_ATTACK_FAST_PPS:-0}
RSS_MB=${RUMOR_ATTACK_RSS_MB:-64}
ATK=$RUMOR_NS-atk
up 3
trap 'rc=$?; set +e; ip netns del "$ATK" 2>/dev/null; (exit $rc); cleanup' EXIT
leader=$(wait_leader "$NODES" 20) || fail "no leader elected"
ip netns add "$ATK"
ip link add atk0 netns "$ATK" type veth peer name atk0-h netns "$RUMOR_NS-hub"
ip -n "$ATK" link set atk0 address 02:52:00:00:00:ee up
ip -n "$RUMOR_NS-hub" link set atk0-h master brdata up
log "leader is node $leader; attacker namespace $ATK on $RUMOR_NS-hub/brdata; $SECS s"

client() { send_loop "$1" atkb; } # NODE (cluster_lib.sh)

tel() { dp_tel "$@"; } # NODE CMD (cluster_lib.sh)
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$(cat "$RUMOR_RUN/$1.pid")/status" 2>/dev/null || echo -1; }

sample() { # LABEL: per node RSS, store use, held events; appended to $RUMOR_RUN/samples
	local i st held
	for i in $NODES; do
		st=$(tel "$i" /rumor/stats) || st='{}'
		held=$(field "$i" "d['held_events']" 2>/dev/null || echo -1)
		[[ $held =~ ^-?[0-9]+$ ]] || held=-1
		python3 - "$1" "$i" "$(rss_kb "dp-$i")" "$(rss_kb "cp-$i")" "$held" "$st" <<'PY' | tee -a "$RUMOR_RUN/samples"
import json, sys
label, node, dp, cp, held, st = sys.argv[1:7]
d = json.loads(st)
print(label, node, dp, cp, d.get('store_used', -1), d.get('stranger_used', -1), held,
      d.get('pull_served', -1))
PY
	done
}

for i in $NODES; do
	"$CTL" -n "$i" --timeout 5000 send "SET atkb-warmup-$i 1" --wait >/dev/null ||
		fail "warm-up send on node $i failed before any attack"
done
next3=$(($("$CTL" -n 3 --json --timeout 5000 send "SET atkb-probe 1" --wait |
	python3 -c "import json,sys; print(json.load(sys.stdin)['seq'])") + 1))
log "cluster answers; origin 3's next seq is $next3"
log "columns: when node dp_rss_kb cp_rss_kb store_used stranger_used held_events pull_served"
sample start
rm -f "$RUMOR_RUN/stop"
for i in $NODES; do client "$i" & PIDS+=($!); done
sleep 2
CR=(ip netns exec "$ATK" "$CRAFT" --config "$RUMOR_RUN/rumor.conf" --iface atk0
	--src-mac 02:52:00:00:00:ee --src-ip 10.77.0.200 --duration "$SECS" --next "3:$next3")
"${CR[@]}" --pps 1000 --kinds unknown,next500,own,many,huge,max,seqmax,wrap,forged,jump,ahead \
	>"$RUMOR_RUN/craft-ts.out" 2>&1 & CPIDS=($!)
"${CR[@]}" --pps 2000 --kinds pullreq,pullresp >"$RUMOR_RUN/craft-pull.out" 2>&1 & CPIDS+=($!)
"${CR[@]}" --pps "$FAST_PPS" --kinds trunc,random >"$RUMOR_RUN/craft-fast.out" 2>&1 & CPIDS+=($!)
sleep $((SECS / 2))
sample middle
for p in "${CPIDS[@]}"; do wait "$p" || fail "rumor-craft failed: $(cat "$RUMOR_RUN"/craft-*.out)"; done
for f in "$RUMOR_RUN"/craft-*.out; do log "$(cat "$f")"; done
sleep 5 # sends after the attack must work as well
touch "$RUMOR_RUN/stop"
for p in "${PIDS[@]}"; do wait "$p" || true; done
PIDS=()
sample end

bad=0
for i in $NODES; do
	read -r n nfail p50 p99 <<<"$(send_stats "$i")"
	log "node $i: $n sends --wait, $nfail failed, p50 ${p50} ms, p99 ${p99} ms"
	if ((nfail > 0)); then
		log "node $i: first failures: $(head -3 "$RUMOR_RUN/fail-$i" | tr '\n' '|')"
		bad=1
	fi
	((n > 0 && p99 < 1000)) || { log "node $i: p99 ${p99} ms"; bad=1; }
done

# bounded: RSS growth, store use; the attacker's PULL_REQs are never answered
for i in $NODES; do
	st=$(tel "$i" /rumor/store) || st='{}'
	stranger_cap=$(python3 -c "import json,sys; print(json.loads(sys.argv[1]).get('stranger_cap', 0))" "$st")
	python3 - "$i" "$RSS_MB" "$stranger_cap" "$RUMOR_RUN/samples" <<'PY' || bad=1
import sys
node, rss_mb, scap, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rows = {r[0]: [int(x) for x in r[2:]] for r in (l.split() for l in open(path)) if r[1] == node}
s, m, e = rows['start'], rows['middle'], rows['end']
ok = True
for k, name in ((0, 'rumor-dp'), (1, 'rumor-cp')):
    grow = (max(m[k], e[k]) - s[k]) / 1024
    if grow >= rss_mb:
        print(f"node {node}: {name} RSS grew {grow:.1f} MB"); ok = False
if max(m[2], e[2]) > scap + 512:
    print(f"node {node}: store use {max(m[2], e[2])} over {scap} + 512"); ok = False
if e[5] - s[5] > 1000:
    print(f"node {node}: {e[5] - s[5]} pull answers during the attack (amplification)"); ok = False
sys.exit(0 if ok else 1)
PY
	st=$(tel "$i" /rumor/stats) || { log "node $i: no telemetry"; bad=1; continue; }
	log "node $i drops: $(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(' '.join(f'{k[5:]}={v}' for k, v in d.items() if k.startswith('drop_') and v))" "$st")"
	for k in drop_ts_nonmember drop_ts_own_ahead drop_ts_entries drop_ts_window \
		drop_ts_seq_window drop_stranger_cap drop_pull_source drop_truncated; do
		v=$(python3 -c "import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], 0))" "$st" "$k")
		((v > 0)) || { log "node $i: $k is $v"; bad=1; }
	done
done

converge "$NODES" 30 || fail "nodes did not converge after the attack"
same_digests "$NODES" || fail "digests differ"
((bad == 0)) || fail "sends failed or were slow, memory or store grew, or drops were not counted"

# RUMOR_ATTACK_AGEOUT=1 (about 55 s more, not in CI): the age-out end to end. Without a quorum
# (rumor-cp of nodes 2 and 3 stopped) node 1's next events stay held unordered past the
# dataplane's 30 s bound; each dataplane offers them back (EXPIRE) and rumor-cp releases the
# frames its payload log has; once the quorum is back every one of them is ordered from there.
if [[ ${RUMOR_ATTACK_AGEOUT:-0} == 1 ]]; then
	ag() { tel "$1" /rumor/stats | python3 -c "import json,sys; d=json.load(sys.stdin); print('store_used', d['store_used'], 'expire_asked', d['expire_asked'], 'aged_out', d['aged_out'])"; }
	kill -STOP "$(cat "$RUMOR_RUN/cp-2.pid")" "$(cat "$RUMOR_RUN/cp-3.pid")"
	for j in $(seq 20); do "$CTL" -n 1 --timeout 200 send "SET ageout-$j $j" >/dev/null 2>&1 || true; done
	log "age-out: no quorum; node 1: $(ag 1), held $(field 1 "d['held_events']")"
	sleep 40
	a1=$(ag 1) h1=$(field 1 "d['held_events']")
	log "age-out: 40 s later node 1: $a1, held $h1"
	kill -CONT "$(cat "$RUMOR_RUN/cp-2.pid")" "$(cat "$RUMOR_RUN/cp-3.pid")"
	[[ $a1 == "store_used 0 expire_asked 20 aged_out 20" && $h1 == 0 ]] ||
		fail "age-out: node 1 did not give back its 20 unordered frames"
	for i in $NODES; do
		"$CTL" -n "$i" --timeout 10000 send "SET ageout-post-$i 1" --wait >/dev/null ||
			fail "age-out: send on node $i after the quorum came back"
	done
	converge "$NODES" 60 || fail "age-out: no convergence"
	same_digests "$NODES" || fail "age-out: digests differ"
	for i in $NODES; do
		n=$(grep -c 'SET ageout-[0-9]' "${RUMOR_DATA:-$RUMOR_RUN/data}/node-$i/ordered.log" || true)
		log "age-out: node $i ordered $n of the 20, $(ag "$i")"
		((n == 20)) || fail "age-out: node $i lost events"
	done
fi
log "PASS: every send --wait succeeded for $SECS s of attack; memory and store bounded"
