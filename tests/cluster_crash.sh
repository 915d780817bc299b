#!/usr/bin/env bash
# Cluster test: whole-cluster crash. Per round every node is loaded with `send --wait` at once,
# and right after an acknowledgment (requests still in flight) every rumor-dp and rumor-cp of
# every node gets SIGKILL in the same instant; then all restart. Every acknowledged event must
# survive: a leader soon, a fresh `send --wait` from each node within 10 s, every acked event
# applied on every node at the gseq its ack named, one order and KV state everywhere.
# usage: cluster_crash.sh [SOURCE_ROOT] [NODES] [ROUNDS]   (defaults: the script's tree, 3, 30)
# env: RUMOR_BUILD (build dir), RCT_CRASH_MODE=ack (kill right after an ack, the test) or idle
# (kill once the load is done and every node applied it: the control run, passes without a
# durable payload store), RCT_SEED (random seed), RCT_FIRST_ORDER_MS (bound, default 10000).
# cluster_powerloss.sh sources this with hooks: crash_setup, crash_cut ROUND (after the kill,
# before the restart), crash_desc ROUND; and TEST/TEST_NS/CRASH_WHAT/RUMOR_DATA set.
if [[ -n ${1:-} && -d $1 ]]; then CRASH_SRC=$1; shift; else CRASH_SRC=$(dirname "$0")/..; fi
NODES=${1:-${RCT_CRASH_NODES:-3}}
ROUNDS=${2:-${RCT_CRASH_ROUNDS:-30}}
TEST=${TEST:-crash} TEST_NS=${TEST_NS:-7}
. "$(dirname "$0")/cluster_lib.sh" "$CRASH_SRC"
require_env
MODE=${RCT_CRASH_MODE:-ack}
# a restarted dataplane skips the rest of its seq reservation block (dp_seqstate): the leader
# skips that gap after gap_timeout_ms (default 5 s), which is not what this test is about
export RUMOR_RAFT_EXTRA=${RUMOR_RAFT_EXTRA:-'gap_timeout_ms = 1000'}
FIRST_ORDER_MS=${RCT_FIRST_ORDER_MS:-10000}
SEED=${RCT_SEED:-$$}
RANDOM=$SEED
LOADER="python3 $SRC/tests/crash_load.py"
[[ $MODE == ack || $MODE == idle ]] || fail "RCT_CRASH_MODE must be ack or idle"
declare -F crash_setup >/dev/null || crash_setup() { :; }
declare -F crash_cut >/dev/null || crash_cut() { :; }
declare -F crash_desc >/dev/null || crash_desc() { echo "SIGKILL of every process"; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# check_acked ROUND FILE...: every acknowledged "node id gseq seq" line is in every node's
# ordered.log with that id at that gseq (a node whose log jumps over the gseq, as after a
# snapshot install, is excused if another node has it). Prints the lost ones; 1 if any.
check_acked() {
	local round=$1; shift
	python3 - "$round" "${RUMOR_DATA:-$RUMOR_RUN/data}" "$NODES" "$@" <<'EOF'
import json, sys
round_, data, nodes, files = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
acked = []
for f in files:
    with open(f) as fh:
        for ln in fh:
            p = ln.split()
            if len(p) == 4:
                acked.append((int(p[0]), p[1], int(p[2])))
logs = {}
for n in range(1, nodes + 1):
    m = {}
    try:
        with open(f"{data}/node-{n}/ordered.log", errors="replace") as fh:
            for ln in fh:
                # most lines are skips of restart seq gaps: only the gseq of those, cheaply
                i = ln.find('"skip"')
                try:
                    if ln.startswith('{"gseq":') and i > 0:
                        m[int(ln[8:ln.index(",")])] = "(a skip)"
                        continue
                    e = json.loads(ln)
                    m[int(e["gseq"])] = e.get("id")
                except (ValueError, KeyError, TypeError):
                    pass
    except OSError:
        pass
    logs[n] = m
bad = []
for origin, eid, g in acked:
    have = [n for n, m in logs.items() if m.get(g) == eid]
    wrong, lost = [], []
    for n, m in logs.items():
        if m.get(g) == eid:
            continue
        if g in m:
            wrong.append(f"node {n} has {m[g]} there")
        elif not (have and m and max(m) > g):
            lost.append(f"{n} (log ends at {max(m) if m else 0})")
    if wrong or lost:
        bad.append(f"id {eid} (acked by node {origin} at gseq {g}): " +
                   "; ".join(wrong + (["missing on node " + ", ".join(lost)] if lost else [])))
for b in bad[:20]:
    print(f"round {round_}: LOST {b}")
if len(bad) > 20:
    print(f"round {round_}: ... {len(bad) - 20} more")
print(f"round {round_}: {len(bad)} of {len(acked)} acknowledged events lost")
sys.exit(1 if bad else 0)
EOF
}

# status_line: one compact status of every node (for failure messages)
status_line() {
	local i s=""
	for i in $ALL; do
		s+="node $i: $(field "$i" "'%s applied_gseq %s waiting_payload %s leader %s' % (d['role'], d['applied_gseq'], d['waiting_payload'], d['leader'])"); "
	done
	echo "$s"
}

# round_fail ROUND WHAT: name the round, show the status and what acknowledged events are lost
round_fail() {
	log "round $1: $2"
	log "status: $(status_line)"
	local lost
	lost=$(check_acked "$1" "$RUMOR_RUN"/acked-*) || true
	echo "$lost"
	fail "round $1 ($(crash_desc "$1")): $2; $(tail -n 1 <<<"$lost" | sed 's/^round [0-9]*: //')$(grep -o 'LOST id [0-9a-f]*' <<<"$lost" | head -n 8 | sed 's/^LOST id /, /' | tr -d '\n' | sed 's/^, /: /')"
}

# settle MAXG TIMEOUT: every node applied the same gseq >= MAXG, waits for no payload, and
# its ordered.log ends there (SETTLED: that gseq)
settle() {
	SETTLED=$($LOADER --run "$RUMOR_RUN" --nodes "$ALL" --settle "$1" \
		--data "${RUMOR_DATA:-$RUMOR_RUN/data}" --timeout "$2")
}

# wait_dead PID...: every one is gone or a zombie (its files closed: nothing more reaches the
# disk from it, and a restarted dataplane finds its hugepages free)
wait_dead() {
	local p st end=$(($(date +%s) + 10))
	for p in "$@"; do
		while [[ -e /proc/$p ]]; do
			st=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null || echo X)
			[[ $st == Z || $st == X ]] && break
			(($(date +%s) < end)) || fail "process $p still alive 10 s after SIGKILL"
			sleep 0.01
		done
	done
}

max_gseq() { cat "$@" 2>/dev/null | awk 'BEGIN {m = 0} NF == 4 && $3 > m {m = $3} END {print m}'; }
count_acks() { cat "$@" 2>/dev/null | awk 'NF == 4' | wc -l; }

crash_setup
up "$NODES"
ALL=$(seq -s ' ' "$NODES")
leader=$(wait_leader "$ALL" 20) || fail "no leader elected"
log "$NODES nodes, $ROUNDS rounds, mode $MODE, seed $SEED; leader is node $leader"

worst_first=0
for round in $(seq "$ROUNDS"); do
	t_round=$(now_ms)
	k=$((RANDOM % 271 + 30)) # acknowledgments (all nodes together) before the kill
	pids=$(cat "$RUMOR_RUN"/dp-*.pid "$RUMOR_RUN"/cp-*.pid | tr '\n' ' ')
	((${#pids} > 0)) || fail "round $round: no pid files"
	out=$RUMOR_RUN/acked-$round
	if [[ $MODE == ack ]]; then
		$LOADER --run "$RUMOR_RUN" --nodes "$ALL" --acks "$k" --out "$out" --kill "$pids" \
			--tag "r$round" --seed "$SEED$round" --timeout 15 >"$RUMOR_RUN/load-$round.out" 2>&1 ||
			round_fail "$round" "load before the kill failed: $(cat "$RUMOR_RUN/load-$round.out")"
		rm -f "$RUMOR_RUN"/dp-*.pid "$RUMOR_RUN"/cp-*.pid
	else
		$LOADER --run "$RUMOR_RUN" --nodes "$ALL" --acks "$k" --out "$out" \
			--tag "r$round" --seed "$SEED$round" --timeout 15 >"$RUMOR_RUN/load-$round.out" 2>&1 ||
			round_fail "$round" "load failed: $(cat "$RUMOR_RUN/load-$round.out")"
		settle "$(max_gseq "$out")" 20 || round_fail "$round" "no convergence before the kill"
		$CLUSTER killall
	fi
	wait_dead $pids
	crash_cut "$round"
	t_restart=$(now_ms)
	rpids=()
	for i in $ALL; do
		$CLUSTER restart "$i" >>"$RUMOR_RUN/cluster-up.out" 2>&1 &
		rpids+=($!)
	done
	for p in "${rpids[@]}"; do wait "$p" || round_fail "$round" "a node did not restart: $(tail -n 3 "$RUMOR_RUN/cluster-up.out")"; done
	t_up=$(now_ms)
	leader=$($LOADER --run "$RUMOR_RUN" --nodes "$ALL" --leader --timeout 10) || round_fail "$round" "no leader within 10 s of the restart"
	t_leader=$(now_ms)
	# a fresh send --wait from every node: the cluster orders again
	ppids=()
	for i in $ALL; do
		(
			rc=0
			"$CTL" -n "$i" --json --timeout "$FIRST_ORDER_MS" send "probe-r$round-n$i" --wait \
				>"$RUMOR_RUN/probe-$round-$i.json" 2>"$RUMOR_RUN/probe-$round-$i.err" || rc=$?
			echo "$rc $(now_ms)" >"$RUMOR_RUN/probe-$round-$i.t"
			exit "$rc"
		) &
		ppids+=($!)
	done
	prc=0
	for p in "${ppids[@]}"; do wait "$p" || prc=1; done
	first=0 slow=""
	for i in $ALL; do
		read -r rc t <"$RUMOR_RUN/probe-$round-$i.t"
		((rc == 0)) || slow+=" node $i ($(cat "$RUMOR_RUN/probe-$round-$i.err"))"
		((t - t_restart > first)) && first=$((t - t_restart))
		python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($i, d['id'], d['gseq'], d['seq'])" \
			"$RUMOR_RUN/probe-$round-$i.json" >>"$RUMOR_RUN/acked-$round-probes" 2>/dev/null || true
	done
	((prc == 0)) || round_fail "$round" "send --wait failed after the restart on$slow"
	((first > worst_first)) && worst_first=$first
	((first <= FIRST_ORDER_MS)) || round_fail "$round" "first order $first ms after the restart (bound $FIRST_ORDER_MS)"
	settle "$(max_gseq "$RUMOR_RUN"/acked-*)" 20 || round_fail "$round" "nodes did not converge on every acknowledged event"
	check_acked "$round" "$RUMOR_RUN"/acked-* >/dev/null || round_fail "$round" "acknowledged events lost"
	log "round $round: $(count_acks "$out") acked before the kill ($(count_acks "$RUMOR_RUN"/acked-*) so far), restart $((t_up - t_restart)) ms, leader +$((t_leader - t_up)) ms, restart-to-first-order $first ms, all at gseq $SETTLED, round $(($(now_ms) - t_round)) ms"
done

same_digests "$ALL" || fail "digests differ after $ROUNDS rounds"
cut -d' ' -f2 "$RUMOR_RUN"/acked-* >"$RUMOR_RUN/acked-ids"
$CHECK --same-end --late-start --acked "$RUMOR_RUN/acked-ids" "${RUMOR_DATA:-$RUMOR_RUN/data}" ||
	fail "check_order found violations after $ROUNDS rounds"
log "PASS: $ROUNDS rounds of ${CRASH_WHAT:-SIGKILL of every process} on $NODES nodes ($MODE): $(count_acks "$RUMOR_RUN"/acked-*) acknowledged events all applied at their gseq on every node, worst restart-to-first-order $worst_first ms"
