#!/usr/bin/env bash
# Hostile clients of rumor-cp's sockets: 3 nodes under `send --wait` load from every node while
# an attacker namespace on the hub's control bridge opens 2,000 idle TCP connections to the
# leader's control port (held 8 s) and, on other connections, sends frame headers declaring
# 256 MiB before any handshake, followed by 2 MiB of body each. After the load: 300 extra API
# clients on one node and 17 watch subscriptions on one connection.
# Pass: every send succeeds with p99 < 1 s; the leader's descriptor count stays within 64 of
# its baseline and its RSS grows < 32 MiB; no idle connection is still open on the server after
# 5 s; status "limits" counts the refusals, handshake timeouts and oversize frames; API clients
# beyond 256 and the 17th watch are refused with an error; the API socket is mode 0660; all
# nodes converge to one order digest.
# usage: control_port.sh SOURCE_ROOT   (env RUMOR_BUILD: build dir)
TEST=control_port TEST_NS=${TEST_NS:-14}
. "$(dirname "$0")/cluster_lib.sh"
require_env
NODES="1 2 3"
IDLE_N=${RCT_IDLE_N:-2000}
OVER_N=${RCT_OVER_N:-32}
ATK=$RUMOR_NS-catk
PY="python3 $SRC/tests/control_port.py"
up 3
trap 'rc=$?; set +e; ip netns del "$ATK" 2>/dev/null; (exit $rc); cleanup' EXIT
leader=$(wait_leader "$NODES" 20) || fail "no leader elected"
ip netns add "$ATK"
ip -n "$ATK" link set lo up
ip link add catk0 netns "$ATK" type veth peer name catk0-h netns "$RUMOR_NS-hub"
ip -n "$ATK" addr add 10.78.0.200/24 dev catk0
ip -n "$ATK" addr add 10.78.0.201/24 dev catk0 # the oversize frames' own address
ip -n "$ATK" link set catk0 up
ip -n "$RUMOR_NS-hub" link set catk0-h master brctl up
cpid=$(cat "$RUMOR_RUN/cp-$leader.pid")
[[ $(cat /proc/$cpid/comm) == rumor-cp ]] || fail "pid $cpid of node $leader is $(cat /proc/$cpid/comm)"
target=10.78.0.$leader
log "leader is node $leader (rumor-cp pid $cpid); attacker namespace $ATK at 10.78.0.200/.201 on brctl"

fds() { ls /proc/$cpid/fd 2>/dev/null | wc -l; }
rss_kb() { awk '/^VmRSS/ {print $2}' /proc/$cpid/status 2>/dev/null || echo 0; }

client() { send_loop "$1" cport; } # NODE (cluster_lib.sh)

for i in $NODES; do
	"$CTL" -n "$i" --timeout 5000 send "SET cport-warmup-$i 1" --wait >/dev/null ||
		fail "warm-up send on node $i failed before any attack"
done
fd0=$(fds) rss0=$(rss_kb)
log "baseline: node $leader has $fd0 descriptors, RSS $((rss0 / 1024)) MiB"
rm -f "$RUMOR_RUN/stop"
for i in $NODES; do client "$i" & PIDS+=($!); done
# descriptor and memory samples every 0.5 s while the attack runs
(
	while [[ ! -e $RUMOR_RUN/stop ]]; do
		echo "$(fds) $(rss_kb)" >>"$RUMOR_RUN/samples"
		sleep 0.5
	done
) & PIDS+=($!)
sleep 2
log "attack: $IDLE_N idle connections to $target:7100 (held 8 s), $OVER_N oversize pre-handshake frames"
ip netns exec "$ATK" $PY idle "$target" 7100 "$IDLE_N" 8 >"$RUMOR_RUN/idle.out" 2>&1 &
idle_pid=$!
sleep 1
ip netns exec "$ATK" $PY oversize "$target" 7100 "$OVER_N" $((2 << 20)) 10.78.0.201 >"$RUMOR_RUN/over.out" 2>&1 ||
	fail "oversize attacker: $(cat "$RUMOR_RUN/over.out")"
fd_mid=$(fds)
wait "$idle_pid" || fail "idle attacker: $(cat "$RUMOR_RUN/idle.out")"
log "idle attacker: $(cat "$RUMOR_RUN/idle.out")"
log "oversize attacker: $(cat "$RUMOR_RUN/over.out")"
sleep 3 # sends after the attack must work as well
touch "$RUMOR_RUN/stop"
for p in "${PIDS[@]}"; do wait "$p" || true; done
PIDS=()

bad=0
# latency and failures per node
for i in $NODES; do
	read -r n nfail p50 p99 <<<"$(send_stats "$i")"
	log "node $i: $n sends --wait, $nfail failed, p50 ${p50} ms, p99 ${p99} ms"
	if ((nfail > 0)); then
		log "node $i: first failures: $(head -3 "$RUMOR_RUN/fail-$i" | tr '\n' '|')"
		bad=1
	fi
	((n > 0 && p99 < 1000)) || bad=1
done

# descriptors and memory of the attacked rumor-cp
kill -0 "$cpid" 2>/dev/null || fail "rumor-cp of node $leader died under the attack: $(tail -3 "$RUMOR_RUN/log/cp-$leader.log")"
read -r fdmax rssmax <<<"$(awk 'BEGIN {f = 0; r = 0} {if ($1 > f) f = $1; if ($2 > r) r = $2} END {print f, r}' "$RUMOR_RUN/samples")"
log "node $leader descriptors: baseline $fd0, max $fdmax during the attack, $fd_mid after the oversize frames, $(fds) now"
log "node $leader RSS: baseline $((rss0 / 1024)) MiB, max $((rssmax / 1024)) MiB, now $(($(rss_kb) / 1024)) MiB"
((fdmax <= fd0 + 64)) || { log "FAIL: descriptors grew by $((fdmax - fd0)) (bound 64)"; bad=1; }
((rssmax - rss0 < 32 * 1024)) || { log "FAIL: RSS grew by $(((rssmax - rss0) / 1024)) MiB (bound 32)"; bad=1; }
open5=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['connected'] - d['closed_by_5s'])" "$RUMOR_RUN/idle.out")
conn=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['connected'])" "$RUMOR_RUN/idle.out")
((conn > IDLE_N / 2)) || { log "FAIL: only $conn of $IDLE_N idle connections connected"; bad=1; }
((open5 == 0)) || { log "FAIL: $open5 idle connections still open on the server after 5 s"; bad=1; }

# the node's counters
lim=$(field "$leader" "json.dumps(d.get('limits'))")
log "node $leader limits: $lim"
python3 - "$lim" "$OVER_N" "$conn" <<'PY' || bad=1
import json, sys
d = json.loads(sys.argv[1])
over, conn = int(sys.argv[2]), int(sys.argv[3])
if not d or "net" not in d:
    sys.exit("FAIL: no limits.net in status")
n = d["net"]
ok = True
for k, want in (("refused_addr", conn - n["max_inbound_per_addr"] - 8),
                ("handshake_timeouts", 1), ("prehandshake_oversize", over // 2)):
    if n.get(k, 0) < want:
        print(f"FAIL: limits.net.{k} = {n.get(k)} < {want}")
        ok = False
sys.exit(0 if ok else 1)
PY

# API limits, after the load (held clients would refuse the load's own rumorctl)
ip netns exec "$RUMOR_NS-n$leader" $PY api "$RUMOR_RUN/node-$leader.sock" 300 >"$RUMOR_RUN/api.out" 2>&1 ||
	fail "api attacker: $(cat "$RUMOR_RUN/api.out")"
log "api attacker: $(cat "$RUMOR_RUN/api.out")"
python3 - "$RUMOR_RUN/api.out" <<'PY' || bad=1
import json, sys
d = json.load(open(sys.argv[1]))
ok = True
if d["refused"] < 300 - 256:
    print(f"FAIL: {d['refused']} of 300 API clients refused (want >= 44)"); ok = False
if d["watch_ok"] != 16 or d["watch_refused"] != 1:
    print(f"FAIL: watches ok {d['watch_ok']} refused {d['watch_refused']} (want 16 and 1)"); ok = False
if d["socket_mode"] != "0o660":
    print(f"FAIL: API socket mode {d['socket_mode']} (want 0o660)"); ok = False
sys.exit(0 if ok else 1)
PY
log "node $leader limits.api: $(field "$leader" "json.dumps(d.get('limits', {}).get('api'))")"
"$CTL" -n "$leader" --timeout 5000 send "SET cport-after-api 1" --wait >/dev/null ||
	{ log "FAIL: a send after the API clients left failed"; bad=1; }

converge "$NODES" 30 || fail "nodes did not converge after the attack"
same_digests "$NODES" || fail "digests differ"
((bad == 0)) || fail "see FAIL lines above"
log "PASS: sends kept succeeding; descriptors, memory and handshakes bounded; refusals counted"
