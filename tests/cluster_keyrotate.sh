#!/usr/bin/env bash
# Gossip key rotation under load (issue 14): 3 nodes booted with cluster.sh's keyring file (key
# 1); every node sends (rumor-load at a fixed rate plus a `send --wait` loop) while the leader
# commits install 2 -> use 2 -> remove 1 (the use through a follower: rumorctl follows the
# leader pointer; the third node's rumor-cp stopped during install and use, so that it lags:
# its dataplane refuses key 2 frames until it applies them), then install 3 -> use 3 -> remove 2 back to back (a follower may lag behind
# the leader's switch: its drops must be made good by pull/repair/fetch). Pass: every acknowledged event is applied on every node in one order with
# equal order/KV digests (check_order.py --acked); each step reaches every dataplane; after the
# switch frames verify under key 2 only (stats by key id) and a capture of node 1's link holds
# key 2 frames only (key 3 after rotation 2); then frames sealed with the removed keys 1 (the
# file's keyring) and 2 (rumor-craft) are all refused as auth_no_key while the same frames
# sealed with key 3 pass the MAC;
# refused operations answer why (use of a missing key, remove of the key in use); node 3
# restarted from a snapshot comes back with key 3 although its file has key 1 only.
# usage: cluster_keyrotate.sh SOURCE_ROOT (env RUMOR_BUILD, RUMOR_KEYROT_EVENTS, _RATE)
TEST=cluster_keyrotate TEST_NS=17
. "$(dirname "$0")/cluster_lib.sh"
require_env
NODES="1 2 3"
CRAFT=${RUMOR_CRAFT:-$RUMOR_BUILD/tools/rumor-craft}
[[ -x $CRAFT ]] || fail "missing $CRAFT (build first)"
command -v dumpcap >/dev/null || skip "dumpcap (tshark) not installed"
PER=${RUMOR_KEYROT_EVENTS:-27000}
RATE=${RUMOR_KEYROT_RATE:-300}
ATK=$RUMOR_NS-atk
HUB=$RUMOR_NS-hub
up 3
trap 'rc=$?; set +e; ip netns del "$ATK" 2>/dev/null; (exit $rc); cleanup' EXIT
grep -q '^keyring = ' "$RUMOR_RUN/rumor.conf" || fail "cluster.sh wrote no [auth] keyring"
leader=$(wait_leader "$NODES" 20) || fail "no leader elected"
follower=$(for i in $NODES; do ((i != leader)) && echo "$i"; done | head -1)
lag=$(for i in $NODES; do ((i != leader && i != follower)) && echo "$i"; done; true)
UP=$(for i in $NODES; do ((i != lag)) && echo "$i"; done | tr '\n' ' '; true)
ip netns add "$ATK"
ip link add atk0 netns "$ATK" type veth peer name atk0-h netns "$HUB"
ip -n "$ATK" link set atk0 address 02:52:00:00:00:ee up
ip -n "$HUB" link set atk0-h master brdata up
bad=0
log "leader is node $leader; $PER events per node at $RATE/s plus send --wait loops"

keys() { "$CTL" -n "$1" --json --timeout 5000 keys list 2>/dev/null; } # NODE
kf() { keys "$1" | python3 -c "import json,sys; d=json.load(sys.stdin); print($2)" 2>/dev/null || echo "?"; }
ms() { echo $(($(date +%s%N) / 1000000)); }
# wait_dp PYEXPR TIMEOUT_S [NODES]: until PYEXPR (d = keys list reply) is True on every node;
# prints ms
wait_dp() {
	local t0 end i ok
	t0=$(ms) end=$(($(date +%s) + $2))
	while (($(date +%s) < end)); do
		ok=1
		for i in ${3:-$NODES}; do [[ $(kf "$i" "$1") == True ]] || { ok=0; break; }; done
		((ok)) && { echo $(($(ms) - t0)); return 0; }
		sleep 0.05
	done
	return 1
}
# swap_ms T0_MS [NODES]: the latest dataplane swap (stats) after T0, in ms after it
swap_ms() {
	local m=0 i t
	for i in ${2:-$NODES}; do
		t=$(kf "$i" "d['dataplane']['swapped_unix_ms']")
		((t - $1 > m)) && m=$((t - $1))
	done
	echo "$m"
}
rx() { # [KEY]: "k1 kKEY" frames verified under key 1 and KEY (2), summed over the nodes
	local a=0 b=0 i x y k=${1:-2}
	for i in $NODES; do
		read -r x y <<<"$(kf "$i" "d['dataplane']['rx_by_key'].get('1', 0), d['dataplane']['rx_by_key'].get('$k', 0)" | tr -d '(),')"
		a=$((a + x)) b=$((b + y))
	done
	echo "$a $b"
}
nokey() { # auth_no_key drops summed over the nodes (dataplane telemetry: also while a
	local s=0 i v # node's rumor-cp is stopped)
	for i in $NODES; do
		v=$(dp_tel "$i" /rumor/stats | python3 -c "import json,sys; print(json.load(sys.stdin).get('drop_auth_no_key', 0))")
		s=$((s + v))
	done
	echo "$s"
}
# acknowledged --wait sends: the reply's event id into acked-wait-NODE
ack_loop() {
	local i=$1 j=0 out rc
	while [[ ! -e $RUMOR_RUN/stop ]]; do
		j=$((j + 1))
		out=$("$CTL" -n "$i" --json --timeout 30000 send "SET rot-$i-$j $j" --wait 2>&1) && rc=0 || rc=$?
		if ((rc == 0)); then
			python3 -c "import json,sys; print(json.loads(sys.argv[1])['id'])" "$out" >>"$RUMOR_RUN/acked-wait-$i"
		else
			echo "send $j rc $rc: ${out:0:200}" >>"$RUMOR_RUN/fail-$i"
		fi
		sleep 0.02
	done
}

[[ $(kf 1 "d['replicated']['gen'] == 0 and d['dataplane']['use'] == 1") == True ]] ||
	fail "before any keys command: want generation 0, sealing with the file's key 1: $(keys 1)"
for i in $NODES; do
	# durable acks: an acknowledged event is on a majority's disks and is never skipped (a
	# stamped one in flight when node $lag's rumor-cp stops is skipped at the gap timeout:
	# only its origin may confirm its id, issue 14)
	load_bg "$i" --ack durable --events "$PER" --rate "$RATE" --size 100 --kv 0.3 --batch 4 --pipeline 2 \
		--wait-applied --timeout 60 --acked-ids "$RUMOR_RUN/acked-load-$i"
done
LOADERS=("${PIDS[@]}")
declare -A AL
for i in $NODES; do ack_loop "$i" & AL[$i]=$!; PIDS+=($!); done
# gossip that waits for no ack: the loaders and --wait loops above pause while the order waits
# out node $lag's unconfirmed events (seconds), and the lag must still see key 2 frames
pulse_loop() {
	while [[ ! -e $RUMOR_RUN/stop ]]; do
		"$CTL" -n "$1" --timeout 5000 send "pulse $1" >/dev/null 2>&1 || true
		sleep 0.02
	done
}
for i in $NODES; do [[ $i == "$lag" ]] || { pulse_loop "$i" & AL[p$i]=$!; }; done
sleep 3

K2=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
nk0=$(nokey)
# refused before it can be: use of a key nobody installed
out=$("$CTL" -n "$leader" keys use 2 2>&1) && { log "FAIL: use 2 before install: $out"; bad=1; } ||
	log "use 2 before install refused: $out"
# node $lag lags: its rumor-cp stopped, so it applies neither install nor use while the others
# switch to key 2; its dataplane keeps forwarding with key 1 only and drops their key 2 frames
kill -STOP "$(cat "$RUMOR_RUN/cp-$lag.pid")"
log "node $lag's rumor-cp stopped (SIGSTOP): its dataplane forwards on, with key 1 only"
t0=$(ms)
out=$("$CTL" -n "$leader" keys install 2 "$K2" 2>&1) || fail "keys install 2: $out"
t_cmd=$(($(ms) - t0))
t_all=$(wait_dp "2 in d['dataplane']['keys'] and 1 in d['dataplane']['keys'] and d['dataplane']['use'] == 1" 10 "$UP") ||
	fail "install 2 did not reach the dataplanes of $UP: $(for i in $UP; do keys "$i"; done)"
log "install 2: $out; committed in $t_cmd ms, swapped in by the last dataplane of $UP $(swap_ms "$t0" "$UP") ms after the command (seen by polling after $t_all ms)"
[[ $out != *"$K2"* && $(keys 1) != *"$K2"* ]] || { log "FAIL: key material printed"; bad=1; }
t0=$(ms)
out=$("$CTL" -n "$follower" keys use 2 2>&1) || fail "keys use 2 (asked at follower $follower): $out"
t_cmd=$(($(ms) - t0))
t_all=$(wait_dp "d['dataplane']['use'] == 2" 10 "$UP") || fail "use 2 did not reach the dataplanes of $UP"
log "use 2 (asked at node $follower): $out; committed in $t_cmd ms, last dataplane of $UP sealing with 2 $(swap_ms "$t0" "$UP") ms after the command"
sleep 2
nk_lag=$(($(nokey) - nk0))
t0=$(ms)
kill -CONT "$(cat "$RUMOR_RUN/cp-$lag.pid")"
t_all=$(wait_dp "d['dataplane']['use'] == 2 and d['dataplane']['gen'] == 2" 20) ||
	fail "node $lag did not catch up with the keyring"
log "node $lag's rumor-cp continued: its dataplane sealing with 2 $(swap_ms "$t0" "$lag") ms later; meanwhile $nk_lag honest frames under key 2 were refused as auth_no_key (by node $lag)"
((nk_lag > 0)) || { log "FAIL: the lagging node refused nothing: the test did not make one lag"; bad=1; }
out=$("$CTL" -n "$leader" keys remove 2 2>&1) && { log "FAIL: remove of the key in use: $out"; bad=1; } ||
	log "remove 2 (in use) refused: $out"
sleep 1
read -r a1 b1 <<<"$(rx)"
sleep 2
read -r a2 b2 <<<"$(rx)"
log "frames verified in 2 s after the switch: key 1 $((a2 - a1)), key 2 $((b2 - b1))"
((a2 - a1 == 0 && b2 - b1 > 0)) || { log "FAIL: frames still verified under key 1 or none under key 2"; bad=1; }
t0=$(ms)
out=$("$CTL" -n "$leader" keys remove 1 2>&1) || fail "keys remove 1: $out"
t_cmd=$(($(ms) - t0))
# 60 s: the node that lagged may still be catching up with the Raft log
t_all=$(wait_dp "d['dataplane']['keys'] == [2] and d['replicated']['removed'] == [1]" 60) ||
	fail "remove 1 did not reach every dataplane"
log "remove 1: $out; committed in $t_cmd ms, gone from the last dataplane $(swap_ms "$t0") ms after the command"

# what node 1 sends and receives on its link now: key 2 only
ip netns exec "$HUB" dumpcap -q -P -i d1-h -f "udp port 7946" -a duration:2 \
	-w "$RUMOR_RUN/cap.pcap" 2>"$RUMOR_RUN/dumpcap.err" || fail "dumpcap: $(cat "$RUMOR_RUN/dumpcap.err")"
cat >"$RUMOR_RUN/bykey.py" <<'PY'
import struct, sys, collections
d = open(sys.argv[1], 'rb').read()
off, keys = 24, collections.Counter()
while off + 16 <= len(d):
    incl = struct.unpack_from('<I', d, off + 8)[0]
    f = d[off + 16:off + 16 + incl]
    off += 16 + incl
    r = f[42:]
    if len(r) >= 29 and r[:4] == b'RUMR':
        keys['auth%d' % r[28] if r[6] & 0x80 else 'noauth'] += 1
print(' '.join('%s=%d' % kv for kv in sorted(keys.items())))
PY
bykey=$(python3 "$RUMOR_RUN/bykey.py" "$RUMOR_RUN/cap.pcap")
log "captured on node 1's link after the removal: $bykey"
[[ $bykey =~ ^auth2=[0-9]+$ ]] || { log "FAIL: frames with another key id (or none) on the wire"; bad=1; }

log "honest frames refused as auth_no_key during rotation 1 (install 2 .. remove 1): $(($(nokey) - nk0)), $nk_lag of them while node $lag lagged"

# rotation 2, back to back from the leader: install 3, use 3, remove 2 without waiting, so a
# follower may still lack key 3 while the leader already seals with it; what it drops must
# come to it by pull, repair or fetch
K3=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
nk0=$(nokey)
t0=$(ms)
for step in "install 3 $K3" "use 3" "remove 2"; do
	out=$("$CTL" -n "$leader" keys $step 2>&1) || fail "keys $step: $out"
	log "keys ${step/$K3/<64 hex>}: $out"
done
t_cmds=$(($(ms) - t0))
t_all=$(wait_dp "d['dataplane']['keys'] == [3] and d['dataplane']['use'] == 3" 10) ||
	fail "rotation 2 did not reach every dataplane"
for p in "${LOADERS[@]}"; do
	kill -0 "$p" 2>/dev/null || { log "FAIL: a rumor-load ended before rotation 2 did (raise RUMOR_KEYROT_EVENTS)"; bad=1; }
done
log "rotation 2: three commands in $t_cmds ms, last dataplane on key 3 alone $(swap_ms "$t0") ms after the first"
sleep 2
log "honest frames refused as auth_no_key during rotation 2: $(($(nokey) - nk0))"
ip netns exec "$HUB" dumpcap -q -P -i d1-h -f "udp port 7946" -a duration:2 \
	-w "$RUMOR_RUN/cap3.pcap" 2>"$RUMOR_RUN/dumpcap.err" || fail "dumpcap: $(cat "$RUMOR_RUN/dumpcap.err")"
bykey=$(python3 "$RUMOR_RUN/bykey.py" "$RUMOR_RUN/cap3.pcap")
log "captured on node 1's link after rotation 2: $bykey"
[[ $bykey =~ ^auth3=[0-9]+$ ]] || { log "FAIL: frames with another key id (or none) on the wire"; bad=1; }

# frames sealed with the removed keys 1 (the file's keyring) and 2 are refused; the same with
# key 3 pass the MAC (and are dropped later, as rumor-craft's "unknown" origin)
CR=(ip netns exec "$ATK" "$CRAFT" --iface atk0 --src-mac 02:52:00:00:00:ee --src-ip 10.77.0.200
	--kinds unknown --count 3000 --pps 3000 --duration 60)
for k in 2 3; do
	sed -e "s|^keyring = .*|keyring = $RUMOR_RUN/k$k.keys|" -e "s/^use = .*/use = $k/" \
		"$RUMOR_RUN/rumor.conf" >"$RUMOR_RUN/rumor-k$k.conf"
	kk=K$k
	(umask 077; echo "$k ${!kk}" >"$RUMOR_RUN/k$k.keys")
done
for k in 1 2 3; do
	conf=$RUMOR_RUN/rumor.conf
	((k > 1)) && conf=$RUMOR_RUN/rumor-k$k.conf
	n0=$(nokey)
	read -r a1 b1 <<<"$(rx 3)"
	"${CR[@]}" --config "$conf" >"$RUMOR_RUN/craft-k$k.out" 2>&1 || fail "rumor-craft: $(cat "$RUMOR_RUN/craft-k$k.out")"
	sleep 1
	n1=$(nokey)
	read -r a2 b2 <<<"$(rx 3)"
	sent=$(sed -n 's/.*rumor-craft: sent unknown=\([0-9]*\).*/\1/p' "$RUMOR_RUN/craft-k$k.out")
	log "rumor-craft, $sent frames sealed with key $k: auth_no_key +$((n1 - n0)), verified under key 3 +$((b2 - b1))"
	if ((k < 3)); then
		((sent > 0 && n1 - n0 == sent)) || { log "FAIL: key $k frames not all refused as auth_no_key"; bad=1; }
	else
		((n1 - n0 == 0 && b2 - b1 >= sent)) || { log "FAIL: key 3 frames did not pass the MAC"; bad=1; }
	fi
done

touch "$RUMOR_RUN/stop"
for p in "${AL[@]}"; do wait "$p" || true; done
PIDS=("${LOADERS[@]}")
wait_loads "$NODES"
converge "$NODES" 60 || fail "nodes did not converge after the rotation"
same_digests "$NODES" || fail "digests differ"
acked=()
nack=0
for i in $NODES; do
	for f in "$RUMOR_RUN/acked-load-$i" "$RUMOR_RUN/acked-wait-$i"; do
		[[ -s $f ]] && { acked+=(--acked "$f"); nack=$((nack + $(wc -l <"$f"))); }
	done
	nf=$( [[ -s $RUMOR_RUN/fail-$i ]] && wc -l <"$RUMOR_RUN/fail-$i" || echo 0)
	log "node $i: rumor-load acked $(wc -l <"$RUMOR_RUN/acked-load-$i"), send --wait acked $(wc -l <"$RUMOR_RUN/acked-wait-$i"), failed $nf"
	((nf == 0)) || { log "node $i: first failures: $(head -3 "$RUMOR_RUN/fail-$i" | tr '\n' '|')"; bad=1; }
done
out=$($CHECK --same-end "${acked[@]}" "$RUMOR_RUN/data" 2>&1) || { echo "$out"; fail "order check"; }
log "check_order: $out"
# the Raft log and snapshots hold the keys: the data dirs are closed to others
perm=$(stat -c %a "$RUMOR_RUN"/data/node-* | sort -u | tr '\n' ' ')
[[ $perm == "700 " ]] || { log "FAIL: data dir modes $perm (want 700)"; bad=1; }
# no acknowledged event lost anywhere; refusals only where a rumor-cp was stopped, and only
# as skipped (the client was told, nothing was acknowledged)
for i in $NODES; do
	f=$RUMOR_RUN/load-$i.out
	grep -q ' lost 0$' "$f" || { log "FAIL: node $i's rumor-load lost acknowledged events"; bad=1; }
	refused=$(sed -n 's/.* refused \([0-9]*\) .*/\1/p' "$f" | head -1)
	grep -q ' never_sent 0 ' "$f" || { log "FAIL: node $i's rumor-load did not send every event"; bad=1; }
	other=$(grep -E '^  error x' "$f" | grep -v 'skipped' || true)
	if [[ $i == "$lag" ]]; then
		[[ -z $other ]] || { log "FAIL: node $i's rumor-load refused for another reason: $other"; bad=1; }
		((refused == 0)) || log "node $i: $refused events skipped while its rumor-cp was stopped (refused to the client, never acknowledged)"
	else
		((refused == 0)) || { log "FAIL: node $i's rumor-load had $refused events refused"; bad=1; }
	fi
done

# a node restored from its snapshot gets the replicated keyring although its file says key 1
"$CTL" -n 3 --timeout 10000 snapshot >/dev/null || fail "snapshot on node 3"
for p in dp cp; do kill -TERM "$(cat "$RUMOR_RUN/$p-3.pid")" 2>/dev/null || true; done
for _ in $(seq 100); do
	kill -0 "$(cat "$RUMOR_RUN/dp-3.pid")" 2>/dev/null || kill -0 "$(cat "$RUMOR_RUN/cp-3.pid")" 2>/dev/null || break
	sleep 0.1
done
t0=$(ms)
$CLUSTER restart 3 >/dev/null 2>&1 || fail "restart of node 3"
for _ in $(seq 100); do
	[[ $(kf 3 "d['dataplane']['use'] == 3 and d['dataplane']['keys'] == [3]") == True ]] && break
	sleep 0.2
done
[[ $(kf 3 "d['dataplane']['use'] == 3 and d['dataplane']['keys'] == [3]") == True ]] ||
	{ log "FAIL: restarted node 3: $(keys 3)"; bad=1; }
log "node 3 restarted: after $(($(ms) - t0)) ms replicated/dataplane generations $(kf 3 "d['replicated']['gen'], d['dataplane']['gen']") (6, 6: sealing with key 3)"
out=$("$CTL" -n 3 --json --timeout 10000 send "SET after-restart 1" --wait 2>&1) ||
	{ log "FAIL: node 3 send after restart: $out"; bad=1; }
converge "$NODES" 30 || fail "no convergence after node 3's restart"
same_digests "$NODES" || fail "digests differ after node 3's restart"
((bad == 0)) || fail "see above"
log "PASS: install/use/remove under load, $nack acknowledged events, 0 lost; key 1 refused after removal"
