# Shared helpers of the cluster tests (sourced, not run): own namespace prefix and run dir,
# cleanup on every exit, status queries, convergence waits, digest and order checks.
# The sourcing script sets TEST (short name) and passes the source root as $1.
set -euo pipefail

SRC=${1:?usage: $0 SOURCE_ROOT}
SRC=$(cd "$SRC" && pwd)
export RUMOR_BUILD=${RUMOR_BUILD:-$SRC/build}
export RUMOR_NS=${RUMOR_NS:-rct${TEST_NS:-0}}
export RUMOR_RUN=${RUMOR_RUN_BASE:-/tmp}/rct-$TEST-$$
CLUSTER="bash $SRC/deploy/cluster.sh"
CTL=$RUMOR_BUILD/tools/rumorctl
LOAD=$RUMOR_BUILD/tools/rumor-load
CHECK="python3 $SRC/tests/check_order.py"
T0=$(date +%s)
PIDS=()

log() { printf '[%s +%3ds] %s\n' "$TEST" $(($(date +%s) - T0)) "$*"; }

skip() { echo "SKIP: $*"; exit 77; }

fail() {
	echo "FAIL [$TEST]: $*" >&2
	FAILED=1
	exit 1
}

cleanup() {
	local rc=$?
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	if ((rc != 0)); then
		echo "---- $TEST failed (rc $rc): log tails from $RUMOR_RUN/log" >&2
		for f in "$RUMOR_RUN"/log/*.log; do
			[[ -s $f ]] || continue
			echo "== $f (last lines, repeats folded)" >&2
			tail -n 400 "$f" | sed 's/slot [0-9]*/slot N/' | uniq -c | tail -n 10 >&2
		done
		for f in "$RUMOR_RUN"/load-*.out; do
			[[ -s $f ]] && { echo "== $f" >&2; cat "$f" >&2; }
		done
	fi
	$CLUSTER stop >/dev/null 2>&1 || true
	# a test's own teardown after the nodes are gone (e.g. unmounting their file system)
	if declare -F cleanup_extra >/dev/null; then cleanup_extra "$rc" || true; fi
	if ((rc == 0)); then rm -rf "$RUMOR_RUN"; else echo "run dir kept: $RUMOR_RUN" >&2; fi
	exit "$rc"
}

require_env() {
	((EUID == 0)) || skip "needs root (network namespaces)"
	command -v ip >/dev/null && ip netns list >/dev/null 2>&1 || skip "ip netns unavailable"
	for b in dataplane/rumor-dp controlplane/rumor-cp tools/rumorctl tools/rumor-load; do
		[[ -x $RUMOR_BUILD/$b ]] || fail "missing $RUMOR_BUILD/$b (build first)"
	done
}

# hugepages N: wait (up to 90 s) until N more rumor-dp instances fit (about 100 MB each: -m 96 of
# cluster.sh); the machine's hugepages are shared with other clusters
hugepages() {
	local need=$(($1 * 100 * 1024)) free size end=$(($(date +%s) + 90))
	while :; do
		free=$(awk '/^HugePages_Free/ {print $2}' /proc/meminfo)
		size=$(awk '/^Hugepagesize/ {print $2}' /proc/meminfo)
		((free * size >= need)) && return 0
		(($(date +%s) >= end)) && fail "only $((free * size / 1024)) MB of hugepages free, $1 nodes need $((need / 1024)) MB (used by: $(ls /dev/hugepages | sed 's/map_.*//' | sort -u | tr '\n' ' '))"
		sleep 2
	done
}

# up N: start a fresh cluster of N nodes in our namespace prefix
up() {
	local n=$1 i
	hugepages "$n"
	$CLUSTER stop >/dev/null 2>&1 || true # leftovers of a crashed earlier run with our prefix
	rm -rf "$RUMOR_RUN"
	mkdir -p "$RUMOR_RUN/log"
	# cluster.sh counts existing log lines with set -o pipefail: a missing log file aborts it
	for i in $(seq 16); do touch "$RUMOR_RUN/log/dp-$i.log" "$RUMOR_RUN/log/cp-$i.log"; done
	trap cleanup EXIT
	# other clusters share the hugepages: a dataplane that found none free is retried
	for i in 1 2 3; do
		$CLUSTER up "$n" >"$RUMOR_RUN/cluster-up.out" 2>&1 && break
		grep -q "Cannot init memory" "$RUMOR_RUN"/log/dp-*.log && ((i < 3)) ||
			{ cat "$RUMOR_RUN/cluster-up.out"; fail "cluster up $n"; }
		log "a dataplane found no free hugepages: retrying"
		$CLUSTER stop >/dev/null 2>&1 || true
		for f in "$RUMOR_RUN"/log/*.log; do : >"$f"; done
		sleep 10
		hugepages "$n"
	done
	log "cluster of $n up (ns $RUMOR_NS, run $RUMOR_RUN)"
}

# field NODE PYEXPR: one value of `rumorctl --json status` (d is the status object)
field() {
	"$CTL" -n "$1" --json --timeout 3000 status 2>/dev/null |
		python3 -c "import json,sys; d=json.load(sys.stdin); print($2)" 2>/dev/null || echo "?"
}

kv_digest() {
	"$CTL" -n "$1" --json --timeout 3000 kv 2>/dev/null |
		python3 -c "import json,sys; print(json.load(sys.stdin)['digest'])" 2>/dev/null || echo "?"
}

leader_of() { field "$1" "d['leader']"; }

# wait_leader NODES TIMEOUT: a leader among NODES that every one of them agrees on
wait_leader() {
	local nodes end=$(($(date +%s) + $2)) l first
	nodes=$(echo $1) # one line: the membership test below matches " ID "
	while (($(date +%s) < end)); do
		first=""
		for i in $nodes; do
			l=$(leader_of "$i")
			[[ -z $first ]] && first=$l
			# the leader must be one of the nodes asked (not a node just killed)
			[[ $l == "$first" && " $nodes " == *" $l "* ]] || { first=bad; break; }
		done
		[[ $first != bad && -n $first ]] && { echo "$first"; return 0; }
		sleep 0.3
	done
	return 1
}

# log_last NODE: last gseq in the node's ordered.log
log_last() {
	local f=${RUMOR_DATA:-$RUMOR_RUN/data}/node-$1/ordered.log
	[[ -s $f ]] || { echo 0; return; }
	tail -n 1 "$f" | python3 -c "import json,sys; print(json.loads(sys.stdin.read())['gseq'])" 2>/dev/null || echo 0
}

# converge NODES TIMEOUT: every node reports the same applied_gseq, unchanged over two polls,
# with nothing waiting for payload, and its ordered.log written up to it
converge() {
	local nodes=$1 end=$(($(date +%s) + $2)) same=0 prev="" cur gs ok i a w
	while (($(date +%s) < end)); do
		cur="" gs="" ok=1
		for i in $nodes; do
			read -r a w <<<"$(field "$i" "d['applied_gseq'], d['waiting_payload']" | tr -d '(),')"
			cur+="$i:$a/$w "
			[[ $a =~ ^[0-9]+$ && $w == 0 ]] || ok=0
			[[ -z $gs ]] && gs=$a
			[[ $a == "$gs" ]] || ok=0
		done
		if ((ok)) && [[ $cur == "$prev" ]]; then
			same=$((same + 1))
		else
			same=0
		fi
		if ((same >= 1)); then
			w=1
			for i in $nodes; do [[ $(log_last "$i") == "$gs" ]] || w=0; done
			if ((w)); then
				log "converged at gseq $gs on nodes $nodes"
				CONVERGED_GSEQ=$gs
				return 0
			fi
		fi
		prev=$cur
		sleep 1
	done
	log "no convergence within $2 s: applied/waiting $cur"
	for i in $nodes; do
		log "node $i ordered.log ends at $(log_last "$i"); status: $(field "$i" "{k: d.get(k) for k in ('role', 'leader', 'term', 'commit_index', 'last_applied', 'applied_gseq', 'waiting_payload', 'held_events', 'node_stats', 'fsm', 'order')}")"
	done
	return 1
}

# same_digests NODES: order and kv digests identical on every node
same_digests() {
	local od kd i ods="" kds=""
	for i in $1; do
		od=$(field "$i" "d['order_digest']")
		kd=$(kv_digest "$i")
		ods+="$od "
		kds+="$kd "
		log "node $i: applied_gseq $(field "$i" "d['applied_gseq']") order_digest $od kv_digest $kd pulls $(field "$i" "d['node_stats']['pulls']") skips $(field "$i" "d['fsm']['skips']")"
	done
	[[ $(echo "$ods" | tr ' ' '\n' | grep -v '^$' | sort -u | wc -l) == 1 ]] || { log "order digests differ: $ods"; return 1; }
	[[ $(echo "$kds" | tr ' ' '\n' | grep -v '^$' | sort -u | wc -l) == 1 ]] || { log "kv digests differ: $kds"; return 1; }
	[[ $ods != *"?"* && $kds != *"?"* ]] || { log "a node did not answer"; return 1; }
}

# load NODE OUTFILE ARGS...: rumor-load in the background (pid appended to PIDS)
load_bg() {
	local node=$1; shift
	"$LOAD" -n "$node" "$@" >"$RUMOR_RUN/load-$node.out" 2>&1 &
	PIDS+=($!)
}

# wait_loads NODES: wait for the background loaders and print their reports. LOAD_RC=1 when
# one reported lost or unsent events (callers check it after convergence: the convergence
# diagnostics say more).
wait_loads() {
	local p i
	LOAD_RC=0
	for p in "${PIDS[@]}"; do wait "$p" || LOAD_RC=1; done
	PIDS=()
	for i in $1; do cat "$RUMOR_RUN/load-$i.out"; done
	((LOAD_RC == 0)) || log "rumor-load reported lost or unsent events: checking convergence first"
}

# ordered_load NODES PER: PER events (64 B, a fifth KV commands) from every node at once, each
# acknowledged once applied; fails unless all converge on every event in one order that
# check_order.py accepts, with every acknowledged id and equal digests, and nothing lost.
ordered_load() {
	local nodes=$1 per=$2 i n; n=$(echo $nodes | wc -w)
	for i in $nodes; do
		load_bg "$i" --events "$per" --size 64 --kv 0.2 --batch 16 --pipeline 4 --wait-applied \
			--timeout 45 --acked-ids "$RUMOR_RUN/acked-$i"
	done
	wait_loads "$nodes"
	converge "$nodes" 60 || fail "nodes did not converge"
	((CONVERGED_GSEQ >= n * per)) || fail "only $CONVERGED_GSEQ gseqs for $((n * per)) events"
	same_digests "$nodes" || fail "digests differ"
	$CHECK --same-end $(for i in $nodes; do echo --acked "$RUMOR_RUN/acked-$i"; done) \
		"$RUMOR_RUN/data" || fail "check_order found violations"
	((LOAD_RC == 0)) || fail "rumor-load reported lost or unsent events"
}

# send_loop NODE TAG [STOPFILE]: `send --wait` until STOPFILE (default $RUMOR_RUN/stop) exists;
# one line per send "node rc ms" in $RUMOR_RUN/lat-NODE, failures in $RUMOR_RUN/fail-NODE.
send_loop() {
	local i=$1 tag=$2 stop=${3:-$RUMOR_RUN/stop} j=0 t0 t1 rc out
	while [[ ! -e $stop ]]; do
		j=$((j + 1))
		t0=$(date +%s%N)
		out=$("$CTL" -n "$i" --json --timeout 5000 send "SET $tag-$i-$j $j" --wait 2>&1) &&
			rc=0 || rc=$?
		t1=$(date +%s%N)
		((rc == 0)) || { echo "send $j rc $rc: $out" | tr '\n' ' ' | cut -c1-200; echo; } >>"$RUMOR_RUN/fail-$i"
		echo "$i $rc $(((t1 - t0) / 1000000))" >>"$RUMOR_RUN/lat-$i"
		sleep 0.05
	done
}

# send_stats NODE: "sends failed p50_ms p99_ms" of send_loop's lines for NODE
send_stats() {
	python3 - "$RUMOR_RUN/lat-$1" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
ms = sorted(int(r[2]) for r in rows)
fail = sum(1 for r in rows if r[1] != '0')
q = lambda p: ms[min(len(ms) - 1, int(p * len(ms)))] if ms else -1
print(len(rows), fail, q(0.50), q(0.99))
PY
}

# dp_tel NODE CMD: one rte_telemetry command's object of NODE's rumor-dp, as JSON
dp_tel() {
	python3 - "/var/run/dpdk/$RUMOR_NS-n$1/dpdk_telemetry.v2" "$2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.recv(4096)
s.send(sys.argv[2].encode())
print(json.dumps(json.loads(s.recv(65536).decode())[sys.argv[2]]))
PY
}
