#!/usr/bin/env bash
# Cluster test: 5 nodes, 20,000 events (log lines and KV commands) sent concurrently from all
# of them; every node applies all, in one order that check_order.py accepts, with equal digests.
# Meanwhile a client of node 1 subscribes three times and never reads: it is cut off, nothing breaks.
# usage: cluster_5nodes.sh SOURCE_ROOT   (env RUMOR_BUILD: build dir)
TEST=5nodes TEST_NS=1
. "$(dirname "$0")/cluster_lib.sh"
require_env
NODES="1 2 3 4 5"
PER=${RCT_EVENTS_PER_NODE:-4000}
up 5
leader=$(wait_leader "$NODES" 20) || fail "no leader elected"
log "leader is node $leader; sending $PER events from each node"
# a client of node 1 that subscribes three times and never reads: the node must cut it off, and
# nothing else may notice (it once read a freed watcher while doing so)
timeout 120 python3 "$SRC/tests/stuck_watcher.py" "$RUMOR_RUN/node-1.sock" 60 \
	>"$RUMOR_RUN/stuck.out" 2>&1 &
stuck=$!
for _ in $(seq 50); do grep -q subscribed "$RUMOR_RUN/stuck.out" 2>/dev/null && break; sleep 0.1; done
grep -q subscribed "$RUMOR_RUN/stuck.out" || fail "the stuck watcher did not subscribe: $(cat "$RUMOR_RUN/stuck.out")"
ordered_load "$NODES" "$PER"
kill -0 "$(cat "$RUMOR_RUN/cp-1.pid")" 2>/dev/null || fail "rumor-cp of node 1 died"
wait "$stuck" || fail "node 1 never cut off the client that did not read: $(cat "$RUMOR_RUN/stuck.out")"
log "$(cat "$RUMOR_RUN/stuck.out")"
log "PASS: $((5 * PER)) events ordered identically on 5 nodes"

