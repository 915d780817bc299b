#!/usr/bin/env bash
# Cluster test (issue 18): 3 nodes whose dataplanes run 2 workers each ([dataplane] workers = 2,
# an af_packet queue pair per worker, deploy/cluster.sh RUMOR_WORKERS=2). Every node sends
# events concurrently; every node's dataplane takes its peers' events off the wire (frames_new)
# and every node applies all of them in one order that check_order.py accepts, equal digests.
# Gossip is authenticated (cluster.sh's keyring; RUMOR_GOSSIP_INSECURE=1 runs it without): every
# node's dataplane counts frames accepted under key 1 and no auth drops from its peers.
# usage: cluster_workers.sh SOURCE_ROOT   (env RUMOR_BUILD: build dir)
TEST=workers TEST_NS=30
export RUMOR_WORKERS=2
. "$(dirname "$0")/cluster_lib.sh"
require_env
NODES="1 2 3"
PER=${RCT_EVENTS_PER_NODE:-2000}
up 3
for i in $NODES; do
	grep -q "rumor-dp: node $i .* 2 workers" "$RUMOR_RUN/log/dp-$i.log" ||
		fail "rumor-dp of node $i does not run 2 workers: $(tail -3 "$RUMOR_RUN/log/dp-$i.log")"
done
leader=$(wait_leader "$NODES" 20) || fail "no leader elected"
log "leader is node $leader; 2 workers per dataplane; sending $PER events from each node"
ordered_load "$NODES" "$PER"
# gossip, not the control link's fetch, carried the peers' events: each node takes 2 * PER
# foreign events, at most a frame's worth (under 24 of 64 B) per new frame
for i in $NODES; do
	new=$(field "$i" "d['dataplane']['frames_new']")
	((new >= 2 * PER / 24)) || fail "node $i took only $new new gossip frames for $((2 * PER)) foreign events"
	log "node $i: $new new gossip frames, drops $(field "$i" "d['dataplane']['drops']")"
done
# authenticated: frames accepted by key on every node (both workers' counts, summed), none
# refused (a worker checking a replay window another one moved would refuse good frames)
if [[ ${RUMOR_GOSSIP_INSECURE:-0} != 1 && ${RUMOR_INSECURE:-0} != 1 ]]; then
	for i in $NODES; do
		keys=$("$CTL" -n "$i" --json --timeout 5000 keys list 2>/dev/null)
		read -r acc refused <<<"$(python3 -c "import json,sys
d = json.loads(sys.argv[1])['dataplane']
print(d['rx_by_key'].get('1', 0), d['refused'])" "$keys" 2>/dev/null || echo "? ?")"
		st=$(dp_tel "$i" /rumor/stats 2>/dev/null || echo '{}')
		adrops=$(python3 -c "import json,sys; d=json.loads(sys.argv[1])
print(' '.join(f'{k[5:]}={v}' for k, v in d.items() if k.startswith('drop_auth')) or 'none')" "$st")
		log "node $i: $acc frames accepted under key 1, auth drops: $adrops; keyrings refused $refused"
		[[ $acc =~ ^[0-9]+$ ]] && ((acc >= 2 * PER / 24)) ||
			fail "node $i accepted only $acc authenticated frames: $keys"
		# (a frame in flight when a peer started may be older than it: auth_old_epoch)
		if [[ $adrops =~ auth_(replay|bad_tag|bad_body|no_key) ]]; then
			fail "node $i refused good frames: $adrops"
		fi
	done
fi
log "PASS: $((3 * PER)) events ordered identically on 3 nodes of 2 dataplane workers each"
