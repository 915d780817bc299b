#!/usr/bin/env bash
# End-to-end check of cp_view (root): for each strategy start a 5-node cluster with
# view_size 3, show every node's view, send events from every node, check that all nodes
# applied the same order (order_digest) and check_order.py agrees, kill one node and show the
# repaired views. Usage: cp_view_e2e.sh [BUILD_DIR] [STRATEGY...]  (default: all three).
# Exit 0 when every strategy passed.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/build-cpview}" && pwd); shift || true
strategies=("$@"); ((${#strategies[@]})) || strategies=(hyparview leader cyclon)
export RUMOR_NS=${RUMOR_NS:-rcv} RUMOR_RUN=${RUMOR_RUN:-/tmp/rcv} RUMOR_BUILD=$build
ctl=$build/tools/rumorctl
N=5 PER=${RUMOR_E2E_EVENTS:-30}
# fan out to the whole view (3): with fanout 2 an event can miss a node whose only in-neighbour
# did not pick it, and once every holder applied and released it the node cannot pull it
export RUMOR_FANOUT=${RUMOR_FANOUT:-3}
fail=0

cleanup() { bash "$top/deploy/cluster.sh" stop >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM

jget() { # node command python-expression-on-r
	"$ctl" -n "$1" --json "$2" 2>/dev/null |
		python3 -c "import json,sys; r=json.load(sys.stdin); print($3)" 2>/dev/null || true
}

show_views() {
	for id in "$@"; do
		printf 'node %s: %s\n' "$id" "$(jget "$id" view \
			"'active', r['peers'], 'passive', r.get('passive'), 'cache', r.get('cache'), 'epoch', r.get('epoch'), 'dp', r['dataplane'], 'sent', r['stats']['sent'], 'lost', r['stats']['lost']+r['stats']['lost_peer_down']")"
	done
}

wait_leader() {
	for _ in $(seq 100); do
		for id in "$@"; do
			[[ $(jget "$id" status "r['role']") == leader ]] && { echo "$id"; return 0; }
		done
		sleep 0.2
	done
	return 1
}

check_same_order() { # ids... : wait until every node applied everything, compare digests
	local want=$1 id g d digests last="" x
	shift
	for _ in $(seq 150); do
		digests=() ; last="" ; local done=1
		for id in "$@"; do
			g=$(jget "$id" status "r['applied_gseq']")
			d=$(jget "$id" status "r['order_digest']")
			digests+=("$id:$g:$d")
			# gseq counts skips too (a restarted origin jumps its seq range): want is a minimum
			[[ -n $g && $g -ge $want && ( -z $last || $g == "$last" ) ]] || done=0
			last=$g
		done
		if ((done)); then
			last=""
			for x in "${digests[@]}"; do
				d=${x##*:}
				[[ -z $last || $d == "$last" ]] || { echo "DIGESTS DIFFER: ${digests[*]}"; return 1; }
				last=$d
			done
			echo "all nodes applied through gseq $g (>= $want), order_digest $last"
			return 0
		fi
		sleep 0.2
	done
	echo "TIMEOUT waiting for $want applied events: ${digests[*]}"
	return 1
}

send_all() { # ids...
	local id pids=()
	for id in "$@"; do
		(for i in $(seq "$PER"); do
			"$ctl" -n "$id" send "v-$id-$i" >/dev/null 2>&1 || "$ctl" -n "$id" send "v-$id-$i" >/dev/null 2>&1
		done
		"$ctl" -n "$id" --timeout 20000 send "v-$id-last" --wait >/dev/null) &
		pids+=($!)
	done
	local rc=0
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	return $rc
}

for s in "${strategies[@]}"; do
	echo "=================== strategy $s"
	cleanup
	rm -rf "$RUMOR_RUN"
	RUMOR_CONF_EXTRA="view = $s\nview_size = 3" bash "$top/deploy/cluster.sh" up $N || { fail=1; continue; }
	leader=$(wait_leader $(seq $N)) || { echo "no leader"; fail=1; continue; }
	echo "leader: node $leader"
	sleep "${RUMOR_E2E_SETTLE:-7}"   # joins, one shuffle / assignment period
	show_views $(seq $N)
	"$ctl" -n 1 view
	send_all $(seq $N) || { echo "send failed"; fail=1; }
	check_same_order $((N * (PER + 1))) $(seq $N) || fail=1
	python3 "$top/tests/check_order.py" --same-end "$RUMOR_RUN/data" | tail -3 || fail=1

	# failure repair: kill a non-leader node, let the views repair, send again
	victim=$(( leader == N ? N - 1 : N ))
	echo "-- kill node $victim"
	bash "$top/deploy/cluster.sh" kill "$victim"
	live=(); for id in $(seq $N); do [[ $id == "$victim" ]] || live+=("$id"); done
	sleep "${RUMOR_E2E_SETTLE:-7}"
	show_views "${live[@]}"
	for id in "${live[@]}"; do
		if [[ $s != static && $(jget "$id" view "$victim in r['peers']") == True ]]; then
			echo "node $id still has dead node $victim in its active view"; fail=1
		fi
	done
	send_all "${live[@]}" || { echo "send after kill failed"; fail=1; }
	check_same_order $((N * (PER + 1) + (N - 1) * (PER + 1))) "${live[@]}" || fail=1

	# the node comes back: it must rejoin (own view not empty, somebody fans out to it)
	echo "-- restart node $victim"
	bash "$top/deploy/cluster.sh" restart "$victim" >/dev/null || { echo "restart failed"; fail=1; }
	sleep "${RUMOR_E2E_SETTLE:-7}"
	show_views $(seq $N)
	[[ $(jget "$victim" view "len(r['peers']) > 0") == True ]] || { echo "node $victim has an empty view"; fail=1; }
	seen=0
	for id in "${live[@]}"; do
		[[ $(jget "$id" view "$victim in r['peers']") == True ]] && seen=1
	done
	((seen)) || { echo "no node has node $victim in its active view"; fail=1; }
	before=$(jget "${live[0]}" status "r['applied_gseq']")
	send_all $(seq $N) || { echo "send after restart failed"; fail=1; }
	check_same_order $((before + N * (PER + 1))) $(seq $N) || fail=1
	python3 "$top/tests/check_order.py" "$RUMOR_RUN/data" | tail -1 || fail=1
	grep -h "view:" "$RUMOR_RUN"/log/cp-*.log | head -24
done
((fail)) && echo "FAILED" || echo "PASSED"
exit $fail
