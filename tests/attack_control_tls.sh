#!/usr/bin/env bash
# Control-link authentication under attack: 3 nodes (TLS, cluster.sh default) under `send --wait`
# load from every node while an attacker namespace on the hub's control bridge connects to the
# leader's control port and says HELLO as node B (a follower) without TLS, over TLS without a
# certificate, with a certificate of another CA, and with node A's real certificate; then, over
# A's own authenticated link, sends reports naming reporter B, view assignments and repair
# requests (A is not the leader). With node 1 leading, B = 2 and A = 3: node 3's certificate
# claiming node 2. Pass: every impersonation is refused and counted by reason in
# `rumorctl status` (limits.control_tls), A's own link stays up while its forged messages are
# refused and counted, every send succeeds, all nodes converge to one order digest.
# usage: attack_control_tls.sh SOURCE_ROOT   (env RUMOR_BUILD: build dir; RCT_FORGED: messages)
TEST=attack_tls TEST_NS=${TEST_NS:-15}
. "$(dirname "$0")/cluster_lib.sh"
require_env
NODES="1 2 3"
ATK=$RUMOR_NS-tatk
PY="python3 $SRC/tests/attack_control_tls.py"
FORGED=${RCT_FORGED:-20}
export RCT_FORGED=$FORGED
up 3
trap 'rc=$?; set +e; ip netns del "$ATK" 2>/dev/null; (exit $rc); cleanup' EXIT
leader=$(wait_leader "$NODES" 20) || fail "no leader elected"
read -r B A <<<"$(for i in $NODES; do [[ $i == "$leader" ]] || echo "$i"; done | tr '\n' ' ')"
ip netns add "$ATK"
ip -n "$ATK" link set lo up
ip link add tatk0 netns "$ATK" type veth peer name tatk0-h netns "$RUMOR_NS-hub"
ip -n "$ATK" addr add 10.78.0.210/24 dev tatk0
ip -n "$ATK" link set tatk0 up
ip -n "$RUMOR_NS-hub" link set tatk0-h master brctl up
target=10.78.0.$leader
tls=$RUMOR_RUN/tls
[[ -s $tls/ca.crt && -s $tls/node-$A.crt ]] || fail "no cluster certificates in $tls"
"$SRC/deploy/make-certs.sh" "$RUMOR_RUN/evil" "$B" || fail "make-certs for the other CA"
log "leader is node $leader at $target:7100; attacker $ATK at 10.78.0.210 claims node $B, holds node $A's key"
ins=$(field "$leader" "d['limits']['control_tls']['insecure']")
[[ $ins == False ]] || fail "status limits.control_tls.insecure is '$ins', want False (TLS on)"

client() { # NODE: send --wait until $RUMOR_RUN/stop exists
	local i=$1 j=0 rc out
	while [[ ! -e $RUMOR_RUN/stop ]]; do
		j=$((j + 1))
		out=$("$CTL" -n "$i" --json --timeout 5000 send "SET tls-$i-$j $j" --wait 2>&1) && rc=0 || rc=$?
		echo "$rc" >>"$RUMOR_RUN/rc-$i"
		((rc == 0)) || echo "send $j rc $rc: $out" | cut -c1-200 >>"$RUMOR_RUN/fail-$i"
		sleep 0.05
	done
}
for i in $NODES; do
	"$CTL" -n "$i" --timeout 5000 send "SET tls-warmup-$i 1" --wait >/dev/null || fail "warm-up send on node $i"
done
rm -f "$RUMOR_RUN/stop"
for i in $NODES; do client "$i" & PIDS+=($!); done
sleep 1

atk() { ip netns exec "$ATK" $PY "$target" 7100 7001 "$leader" "$@"; }
bad=0
for round in 1 2 3; do
	for m in "plain" "nocert" "cert-evil" "cert-$A"; do
		case $m in
		plain | nocert) out=$(atk "$m" "$B" "$B") ;;
		cert-evil) out=$(atk cert "$B" "$B" "$RUMOR_RUN/evil/node-$B.crt" "$RUMOR_RUN/evil/node-$B.key") ;;
		*) out=$(atk cert "$B" "$B" "$tls/node-$A.crt" "$tls/node-$A.key") ;;
		esac
		((round == 1)) && log "HELLO as node $B, $m: $out"
		python3 -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1]).get("refused") else 1)' "$out" ||
			{ log "FAIL: not refused: $m: $out"; bad=1; }
	done
done
out=$(atk report "$A" "$B" "$tls/node-$A.crt" "$tls/node-$A.key") || fail "report attacker: $out"
log "node $A's own link, $FORGED forged reports (reporter $B) + view assignments + repair requests: $out"
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if d.get("acked") and d.get("link_after") == "open" else 1)' "$out" ||
	{ log "FAIL: node $A's authenticated link was not acknowledged or was closed: $out"; bad=1; }
sleep 2
touch "$RUMOR_RUN/stop"
for p in "${PIDS[@]}"; do wait "$p" || true; done
PIDS=()

for i in $NODES; do
	n=$(wc -l <"$RUMOR_RUN/rc-$i") nf=$(grep -cv '^0$' "$RUMOR_RUN/rc-$i" || true)
	log "node $i: $n sends --wait during the attack, $nf failed"
	((n > 0 && nf == 0)) || { log "first failures: $(head -3 "$RUMOR_RUN/fail-$i" 2>/dev/null | tr '\n' '|')"; bad=1; }
done
tl=$(field "$leader" "json.dumps(d['limits']['control_tls'])")
log "node $leader limits.control_tls: $tl"
python3 - "$tl" "$FORGED" <<'PY' || bad=1
import json, sys
d, n = json.loads(sys.argv[1]), int(sys.argv[2])
want = {("refused", "handshake"): 3, ("refused", "no_cert"): 3, ("refused", "bad_cert"): 3,
        ("refused", "hello_id_mismatch"): 3, ("refused_msgs", "reporter"): n,
        ("refused_msgs", "view_not_leader"): n, ("refused_msgs", "repair_not_leader"): n}
ok = True
for (a, b), w in want.items():
    if d[a][b] < w:
        print(f"FAIL: limits.control_tls.{a}.{b} = {d[a][b]} < {w}")
        ok = False
sys.exit(0 if ok else 1)
PY
converge "$NODES" 60 || bad=1
same_digests "$NODES" || bad=1
((bad == 0)) || fail "see above"
log "PASS: 12 impersonations refused by reason, $((3 * FORGED)) forged messages on an authenticated link refused, ordering went on"
