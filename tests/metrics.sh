#!/usr/bin/env bash
# Cluster test of rumor-cp's Prometheus /metrics: 3 nodes serve it on their control IPs
# (cluster.sh RUMOR_METRICS=1: metrics_listen in each node config); every scrape passes
# `promtool check metrics` with no error and no lint warning; after more sends the applied index
# and the commit latency histograms of the ack levels used grow, the term is equal on every node
# and one node says it leads; idle connections to the server never stall the event loop; a bad
# or taken address stops start-up.
# usage: metrics.sh SOURCE_ROOT   (env RUMOR_BUILD: build dir)
TEST=metrics TEST_NS=${TEST_NS:-18}
. "$(dirname "$0")/cluster_lib.sh"
require_env
command -v promtool >/dev/null || fail "promtool missing (deploy/setup-host.sh installs prometheus)"
command -v curl >/dev/null || fail "curl missing (deploy/setup-host.sh installs it)"
export RUMOR_METRICS=1
NODES="1 2 3"
PORT=9464
ctl_ip() { echo "10.78.0.$1"; } # as deploy/cluster.sh

# scrape NODE FILE: GET /metrics from inside the node's namespace
scrape() {
	$CLUSTER exec "$1" curl -sS --fail --max-time 5 "http://$(ctl_ip "$1"):$PORT/metrics" >"$2" ||
		fail "scrape of node $1 failed"
}

# mval FILE SERIES: the value of one series (name with its labels, as printed), "?" if absent
mval() {
	awk -v k="$2" '$1 == k { print $2; found = 1 } END { if (!found) print "?" }' "$1"
}

# promcheck FILE: promtool must accept it with nothing to say
promcheck() {
	local out rc=0
	out=$(promtool check metrics <"$1" 2>&1) || rc=$?
	((rc == 0)) && [[ -z $out ]] || { log "promtool on $1 (rc $rc): $out"; return 1; }
}

# a promtool that accepts anything would prove nothing: it must refuse broken texts
promtool_selftest() {
	local f=$RUMOR_RUN/bad.prom
	printf '# HELP rumor_x_total x\n# TYPE rumor_x_total counter\nrumor_x_total 1\n' >"$f"
	promcheck "$f" || fail "promtool refuses a valid text"
	printf '# HELP rumor_x x\n# TYPE rumor_x counter\nrumor_x 1\n' >"$f"
	! promcheck "$f" >/dev/null || fail "promtool accepted a counter without _total"
	printf '# TYPE rumor_x_total counter\nrumor_x_total 1\n' >"$f"
	! promcheck "$f" >/dev/null || fail "promtool accepted a family without HELP"
	printf 'rumor_x{a="1" 1\n' >"$f"
	! promcheck "$f" >/dev/null || fail "promtool accepted a malformed line"
}

up 3
leader=$(wait_leader "$NODES" 20) || fail "no leader elected"
log "leader is node $leader"
promtool_selftest

# the first publish comes with the first slow tick (100 ms): wait for a 200 on every node
for i in $NODES; do
	for _ in $(seq 50); do
		$CLUSTER exec "$i" curl -s --max-time 2 -o /dev/null -w '%{http_code}' \
			"http://$(ctl_ip "$i"):$PORT/metrics" 2>/dev/null | grep -q 200 && break
		sleep 0.2
	done
done
for i in $NODES; do
	scrape "$i" "$RUMOR_RUN/m0-$i.prom"
	promcheck "$RUMOR_RUN/m0-$i.prom" || fail "node $i: promtool check metrics failed"
done
log "node 1 serves $(grep -vc '^#' "$RUMOR_RUN/m0-1.prom") samples in $(grep -c '^# TYPE' "$RUMOR_RUN/m0-1.prom") families; promtool: no problems on 3 nodes"
code=$($CLUSTER exec 1 curl -s -o /dev/null -w '%{http_code}' "http://$(ctl_ip 1):$PORT/nope")
[[ $code == 404 ]] || fail "GET /nope answered $code, want 404"
code=$($CLUSTER exec 1 curl -s -o /dev/null -w '%{http_code}' -X POST "http://$(ctl_ip 1):$PORT/metrics")
[[ $code == 405 ]] || fail "POST /metrics answered $code, want 405"

# what must be there (the contract's list), on every node
for i in $NODES; do
	f=$RUMOR_RUN/m0-$i.prom
	for fam in rumor_raft_term rumor_raft_commit_index rumor_raft_applied_index rumor_raft_role \
		rumor_dp_drops_total rumor_cp_drops_total rumor_commit_latency_seconds \
		rumor_dp_store_used_frames rumor_dp_store_capacity_frames rumor_ring_depth \
		rumor_plog_appends_total rumor_plog_fsyncs_total rumor_dp_rx_packets_total; do
		grep -q "^# TYPE $fam " "$f" || fail "node $i: no family $fam"
	done
	[[ $(mval "$f" rumor_node_id) == "$i" ]] || fail "node $i: rumor_node_id $(mval "$f" rumor_node_id)"
	[[ $(mval "$f" rumor_dp_up) == 1 ]] || fail "node $i: rumor_dp_up is not 1"
done

# two clients hold idle connections to node 1's server meanwhile: the loop must not notice
for k in 1 2; do
	ip netns exec "$RUMOR_NS-n1" bash -c "exec 3<>/dev/tcp/$(ctl_ip 1)/$PORT; exec sleep 60" \
		>/dev/null 2>&1 &
	PIDS+=($!)
done
sleep 0.5

# sends at each ack level from every node
SENDS=5
for i in $NODES; do
	for k in $(seq $SENDS); do
		timeout 10 "$CTL" -n "$i" send "metrics-$i-$k" --wait >/dev/null ||
			fail "node $i: send --wait $k failed"
		timeout 10 "$CTL" -n "$i" send "metrics-d-$i-$k" --ack durable >/dev/null ||
			fail "node $i: send --ack durable $k failed"
		timeout 10 "$CTL" -n "$i" send "metrics-s-$i-$k" --ack stamped >/dev/null ||
			fail "node $i: send --ack stamped $k failed"
	done
done
log "sent $((3 * SENDS)) events per node (applied, durable, stamped)"
converge "$NODES" 30 || fail "nodes did not converge"
sleep 1.2 # two publish periods (500 ms)
for i in $NODES; do
	scrape "$i" "$RUMOR_RUN/m1-$i.prom"
	promcheck "$RUMOR_RUN/m1-$i.prom" || fail "node $i: promtool check metrics failed after sends"
done

terms=""
leaders=0
for i in $NODES; do
	a=$RUMOR_RUN/m0-$i.prom b=$RUMOR_RUN/m1-$i.prom
	ai0=$(mval "$a" rumor_raft_applied_index) ai1=$(mval "$b" rumor_raft_applied_index)
	((ai1 > ai0)) || fail "node $i: applied index did not grow ($ai0 -> $ai1)"
	g1=$(mval "$b" rumor_applied_gseq)
	((g1 == CONVERGED_GSEQ)) || fail "node $i: rumor_applied_gseq $g1, status says $CONVERGED_GSEQ"
	for lvl in applied durable stamped; do
		c0=$(mval "$a" "rumor_commit_latency_seconds_count{level=\"$lvl\"}")
		c1=$(mval "$b" "rumor_commit_latency_seconds_count{level=\"$lvl\"}")
		inf=$(mval "$b" "rumor_commit_latency_seconds_bucket{level=\"$lvl\",le=\"+Inf\"}")
		((c1 - c0 >= SENDS)) || fail "node $i: $lvl latency count $c0 -> $c1 (sent $SENDS)"
		((inf == c1)) || fail "node $i: $lvl +Inf bucket $inf != count $c1"
		s=$(mval "$b" "rumor_commit_latency_seconds_sum{level=\"$lvl\"}")
		python3 -c "import sys; sys.exit(not (0 < float('$s') < 10 * $c1))" ||
			fail "node $i: $lvl latency sum $s for $c1 sends"
	done
	t=$(mval "$b" rumor_raft_term)
	st=$(field "$i" "d['term']")
	[[ $t == "$st" ]] || fail "node $i: rumor_raft_term $t but status term $st"
	terms+="$t "
	[[ $(mval "$b" 'rumor_raft_role{role="leader"}') == 1 ]] && leaders=$((leaders + 1))
	[[ $(mval "$b" rumor_raft_leader_id) == "$leader" ]] ||
		fail "node $i: rumor_raft_leader_id $(mval "$b" rumor_raft_leader_id), leader is $leader"
	log "node $i: applied index $ai0 -> $ai1, latency counts (applied durable stamped)" \
		"$(for l in applied durable stamped; do mval "$b" "rumor_commit_latency_seconds_count{level=\"$l\"}"; done | tr '\n' ' ')" \
		"applied p50 bucket <= $(awk -F'"' -v want="$(mval "$b" 'rumor_commit_latency_seconds_count{level="applied"}')" \
			'/^rumor_commit_latency_seconds_bucket\{level="applied"/ { split($0, v, " "); if (v[2] * 2 >= want) { print $4 "s"; exit } }' "$b")"
done
[[ $(echo $terms | tr ' ' '\n' | sort -u | wc -l) == 1 ]] || fail "terms differ: $terms"
((leaders == 1)) || fail "$leaders nodes say rumor_raft_role{role=\"leader\"} 1"
[[ $(mval "$RUMOR_RUN/m1-$leader.prom" rumor_order_batches_total) != "?" ]] ||
	fail "the leader shows no rumor_order_batches_total"
[[ -n ${METRICS_SAMPLE:-} ]] && cp "$RUMOR_RUN/m1-$leader.prom" "$METRICS_SAMPLE" # for docs
s1=$(mval "$RUMOR_RUN/m1-1.prom" rumor_metrics_scrapes_total)
((s1 >= 1)) || fail "node 1: rumor_metrics_scrapes_total $s1"

# a taken or bad address stops start-up with the reason (exit 2, before anything starts)
ns1=$RUMOR_NS-n1
for bad in "$(ctl_ip 1):$PORT" "$(ctl_ip 1):notaport" "nohost"; do
	rc=0
	out=$(timeout 30 ip netns exec "$ns1" "$RUMOR_BUILD/controlplane/rumor-cp" --proc-type=secondary \
		--no-pci --file-prefix "$ns1" --log-level=lib.eal:error -- --config "$RUMOR_RUN/rumor.conf" \
		--node 1 --node-config "$RUMOR_RUN/node-1.conf" --metrics "$bad" 2>&1) || rc=$?
	((rc == 2)) && [[ $out == *"--metrics: "* ]] ||
		fail "rumor-cp --metrics $bad: rc $rc, output: $out"
	log "--metrics $bad: $(grep -- '--metrics: ' <<<"$out")"
done
# the same through the node config's metrics_listen: the error names the file and line
for bad in "$(ctl_ip 1):$PORT" "$(ctl_ip 1):99999" "[::1:80"; do
	lc=$RUMOR_RUN/bad-node.conf
	grep -v '^metrics_listen' "$RUMOR_RUN/node-1.conf" >"$lc"
	echo "metrics_listen = $bad" >>"$lc"
	line=$(grep -n '^metrics_listen' "$lc" | cut -d: -f1)
	rc=0
	out=$(timeout 30 ip netns exec "$ns1" "$RUMOR_BUILD/controlplane/rumor-cp" --proc-type=secondary \
		--no-pci --file-prefix "$ns1" --log-level=lib.eal:error -- --config "$RUMOR_RUN/rumor.conf" \
		--node 1 --node-config "$lc" 2>&1) || rc=$?
	((rc == 2)) && [[ $out == *"$lc:$line: metrics_listen: "* ]] ||
		fail "metrics_listen = $bad: rc $rc, output: $out"
	log "metrics_listen = $bad: $(grep -- 'metrics_listen: ' <<<"$out")"
done
kill -0 "$(cat "$RUMOR_RUN/cp-1.pid")" 2>/dev/null || fail "rumor-cp of node 1 died"
scrape 1 "$RUMOR_RUN/m2-1.prom"
promcheck "$RUMOR_RUN/m2-1.prom" || fail "node 1: promtool after the start-up checks"
log "PASS: /metrics on 3 nodes passes promtool; applied index, latency histograms grow; term $terms"
