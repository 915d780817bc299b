#!/usr/bin/env bash
# The main job, in one command (root, Debian 12): prepare the host, build, start a local
# cluster on network namespaces, send events from every node at once (log lines and KV
# commands), and show what an operator looks at. The cluster stays up afterwards.
# Usage: bash deploy/demo.sh [NODES]   (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
nodes=${1:-3}
export RUMOR_RUN=${RUMOR_RUN:-/run/rumor-cluster}
export RUMOR_BUILD=${RUMOR_BUILD:-$top/build}
ctl=$RUMOR_BUILD/tools/rumorctl

# field NODE COMMAND KEY: one value from rumorctl's JSON answer ("" when the node is down)
field() {
	"$ctl" -n "$1" --json "$2" 2>/dev/null |
		sed -n "s/.*\"$3\":\"\{0,1\}\([0-9a-z]*\).*/\1/p" || true
}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "host setup (packages, hugepages)"
bash deploy/setup-host.sh

step "build (release) into $RUMOR_BUILD"
[[ -f $RUMOR_BUILD/build.ninja ]] ||
	meson setup "$RUMOR_BUILD" --buildtype=release -Dbench=false -Dtests=disabled >/dev/null
ninja -C "$RUMOR_BUILD" dataplane/rumor-dp controlplane/rumor-cp tools/rumorctl | tail -1

step "start a $nodes-node cluster (namespaces rumor-n1..$nodes, bridges in rumor-hub)"
bash deploy/cluster.sh stop >/dev/null 2>&1 || true
# a fresh cluster every time: the previous demo's Raft logs, snapshots and ordered logs go
rm -rf "$RUMOR_RUN/data" "$RUMOR_RUN/log"
bash deploy/cluster.sh up "$nodes"

step "wait for a Raft leader"
leader=0
for _ in $(seq 100); do
	for id in $(seq "$nodes"); do
		[[ $(field "$id" status role) == leader ]] && leader=$id
	done
	((leader)) && break
	sleep 0.2
done
((leader)) || { echo "no leader after 20 s; logs in $RUMOR_RUN/log"; tail -5 "$RUMOR_RUN"/log/*; exit 1; }
echo "leader: node $leader"
"$ctl" -n "$leader" members

step "send events from every node at once (log lines + SET/INCR commands)"
per=${RUMOR_DEMO_EVENTS:-40}
for id in $(seq "$nodes"); do
	(
		for k in $(seq "$per"); do
			case $((k % 4)) in
			0) "$ctl" -n "$id" send "SET color-$id shade-$k" >/dev/null ;;
			1) "$ctl" -n "$id" send "INCR total" >/dev/null ;;
			*) "$ctl" -n "$id" send "log: node $id says hello #$k" >/dev/null ;;
			esac
		done
		"$ctl" -n "$id" send --wait "SET last-from-$id done" >/dev/null
	) &
done
wait
expected=$(( nodes * (per + 1) ))
echo "sent $expected events ($per + 1 per node)"

step "wait until every node applied all $expected events"
for _ in $(seq 150); do
	done_all=1
	for id in $(seq "$nodes"); do
		g=$(field "$id" status applied_gseq)
		((${g:-0} >= expected)) || done_all=0
	done
	((done_all)) && break
	sleep 0.2
done

step "each node: role, applied events, order digest, partial view"
printf '%-5s %-9s %-8s %-18s %-10s %s\n' NODE ROLE APPLIED ORDER-DIGEST KV-DIGEST VIEW
for id in $(seq "$nodes"); do
	printf '%-5s %-9s %-8s %-18s %-10s %s\n' "$id" "$(field "$id" status role)" \
		"$(field "$id" status applied_gseq)" "$(field "$id" status order_digest)" \
		"$(field "$id" kv digest | cut -c1-8)" "$("$ctl" -n "$id" view 2>/dev/null || echo down)"
done
digests=$(for id in $(seq "$nodes"); do field "$id" status order_digest; done | sort -u | wc -l)
if ((digests == 1)); then
	echo "=> all $nodes nodes applied the same order (one digest)"
else
	echo "=> nodes DISAGREE ($digests different digests): see $RUMOR_RUN/log"
fi

step "key-value state (node 1)"
"$ctl" -n 1 kv

step "the last ordered events on node $nodes, with their timestamps (vector clocks)"
"$ctl" -n "$nodes" events --count 8

step "the leader's merged global vector clock"
"$ctl" -n "$leader" clock

cat <<EOT

The cluster is still running. Try:
  RUMOR_RUN=$RUMOR_RUN $ctl -n 2 send "SET hello world" --wait
  RUMOR_RUN=$RUMOR_RUN $ctl -n 1 watch --gossip      # live ordered + gossip stream
  RUMOR_RUN=$RUMOR_RUN $ctl -n 1 status
  bash deploy/cluster.sh kill 2; bash deploy/cluster.sh restart 2
Stop and clean up everything:  bash deploy/cluster.sh stop
Logs: $RUMOR_RUN/log   Ordered logs: $RUMOR_RUN/data/node-*/ordered.log
EOT
((digests == 1))
