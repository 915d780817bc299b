#!/usr/bin/env bash
# A member forges another origin's events (issue 14): every member holds the gossip key, so
# node 3 (a member) seals, from its own namespace, in its own name, frames claiming origin 2
# with 2's next SPAN seqs and "SET pwned" (rumor-craft --kinds member), sent to node 1 before
# node 2 stamps those seqs (node 2's client is idle meanwhile); node 1 stores the forgeries
# and drops 2's real frames as duplicates. Then node 2's client sends SPAN real events with
# --wait. Twice: with node 3's dataplane holding 2's real frames (a real majority at once),
# then with the data link between 2 and 3 cut on the hub bridge, where the leader must tell
# node 1 that its copies are wrong and node 1 fetches and reports the real ones. Pass: every
# real send is answered ok at the seq forged for it, no `pwned` key on any node, every node's
# ordered.log has the real ids at those seqs (no skip), one order and KV digest, node 1's
# forged-copy counter names node 3 (the hop sender) for each seq, and node 1 fixed copies.
# usage: attack_member_forge.sh SOURCE_ROOT (env RUMOR_BUILD, RUMOR_FORGE_SPAN)
TEST=attack_member_forge TEST_NS=27
. "$(dirname "$0")/cluster_lib.sh"
require_env
NODES="1 2 3"
CRAFT=${RUMOR_CRAFT:-$RUMOR_BUILD/tools/rumor-craft}
[[ -x $CRAFT ]] || fail "missing $CRAFT (build first)"
SPAN=${RUMOR_FORGE_SPAN:-8}
up 3
grep -q '^keyring = ' "$RUMOR_RUN/rumor.conf" || fail "cluster.sh wrote no [auth] keyring"
leader=$(wait_leader "$NODES" 20) || fail "no leader elected"
log "leader is node $leader"
for i in $NODES; do
	"$CTL" -n "$i" --timeout 5000 send "SET forge-warmup-$i 1" --wait >/dev/null ||
		fail "warm-up send on node $i failed before any attack"
done
bad=0
declare -A REAL=([0]=none) # seq -> real id (0: a placeholder, set -u)
FORGED="" # every forged seq
# phase NAME: node 3 forges origin 2's next SPAN seqs to node 1, then node 2 sends them
phase() {
	local next2 out seq id j
	next2=$(($("$CTL" -n 2 --json --timeout 5000 send "SET forge-probe-$1 1" --wait |
		python3 -c "import json,sys; print(json.load(sys.stdin)['seq'])") + 1))
	FORGED+=" $(seq -s ' ' "$next2" $((next2 + SPAN - 1)))"
	log "$1: origin 2's next seq is $next2; node 3 forges $next2..$((next2 + SPAN - 1)) to node 1"
	# node 3, a member with the keyring, from its own namespace and data interface: each
	# forged seq twice (a duplicate is dropped), well before node 2 stamps it
	ip netns exec "$RUMOR_NS-n3" "$CRAFT" --config "$RUMOR_RUN/rumor.conf" --iface d3 \
		--kinds member --as 3 --next "2:$next2" --span "$SPAN" --count $((2 * SPAN)) \
		--pps 200 >"$RUMOR_RUN/craft-$1.out" 2>&1 ||
		fail "rumor-craft: $(cat "$RUMOR_RUN/craft-$1.out")"
	log "$1: $(cat "$RUMOR_RUN/craft-$1.out")"
	sleep 1
	log "$1: node 1 holds $(field 1 "d['held_events']") events"
	# node 2's real events, one frame each
	for j in $(seq "$SPAN"); do
		out=$("$CTL" -n 2 --json --timeout 10000 send "SET real-$1-$j $j" --wait 2>&1) || {
			log "$1: real send $j failed: $(echo "$out" | tr '\n' ' ' | cut -c1-200)"
			bad=1
			continue
		}
		read -r seq id <<<"$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(d['seq'], d['id'])" "$out")"
		((seq == next2 + j - 1)) || { log "$1: real send $j got seq $seq, not $((next2 + j - 1))"; bad=1; }
		REAL[$seq]=$id
	done
	log "$1: node 2's real events answered ok: $((${#REAL[@]} - 1)) so far"
	log "$1: node 1 forged copies: $(field 1 "d.get('forged')")"
}
# 1: node 3's own copies are real (its dataplane got 2's frames): a majority at once, node 1
# finds its forged copies at the apply (checked against the committed id) and fetches
phase plain
# 2: node 3 gets none of node 2's data frames (hub ports isolated), so the real event's only
# other holder can be node 1: the leader tells it (CP_APP_WRONG_ID), it fetches the right
# payload from node 2 over the control link and reports it
HUB=$RUMOR_NS-hub
# bridge port isolation: isolated ports do not talk to each other, both still talk to node 1
for p in d2-h d3-h; do ip netns exec "$HUB" bridge link set dev "$p" isolated on; done
phase cut
for p in d2-h d3-h; do ip netns exec "$HUB" bridge link set dev "$p" isolated off; done
notices=$(field 1 "d['forged']['notices']")
fixed=$(field 1 "d['forged']['fixed']")
log "node 1 was told $notices times and fixed $fixed copies"
[[ $fixed =~ ^[0-9]+$ ]] && ((fixed >= 1)) || { log "node 1 fixed no copy after the leader's notice"; bad=1; }
converge "$NODES" 30 || fail "nodes did not converge"
same_digests "$NODES" || bad=1
for i in $NODES; do
	kv=$("$CTL" -n "$i" --json --timeout 5000 kv pwned 2>/dev/null || true)
	if ! python3 -c "import json,sys; d=json.loads(sys.argv[1] or '{}'); sys.exit(1 if d.get('ok') and 'pwned' in d.get('kv', {}) else 0)" "$kv"; then
		log "node $i: the forged event was applied: $kv"
		bad=1
	fi
	# ordered.log at the forged seqs: the real ids, events (no skip), nothing else
	python3 - "$RUMOR_RUN/data/node-$i/ordered.log" "$FORGED" \
		"$(for s in "${!REAL[@]}"; do echo "$s=${REAL[$s]}"; done | tr '\n' ' ')" <<'PY' ||
import json, sys
path, forged, real = sys.argv[1], [int(x) for x in sys.argv[2].split()], sys.argv[3]
real = dict((int(k), v) for k, v in (p.split('=') for p in real.split()))
got, bad = {}, []
for line in open(path):
    d = json.loads(line)
    if d.get('origin') != 2 or 'seq' not in d:
        continue
    for s in range(d['seq'], d.get('skip_through', d['seq']) + 1):
        got[s] = d
for s in forged:
    d = got.get(s)
    if d is None:
        bad.append(f"{s}: not in ordered.log")
    elif d.get('skip') or d.get('rejected'):
        bad.append(f"{s}: {d}")
    elif 'pwned' in d.get('data', ''):
        bad.append(f"{s}: the forged event: {d}")
    elif s not in real or d['id'] != real[s]:
        bad.append(f"{s}: id {d['id']} is not the real {real.get(s)}")
print(f"{path}: origin 2's forged seqs {forged[0]}..{forged[-1]}: " +
      ('; '.join(bad[:4]) + f" ({len(bad)} bad)" if bad else f"the real events, all {len(forged)}"))
sys.exit(1 if bad else 0)
PY
		bad=1
done
for i in $NODES; do
	log "node $i forged copies: $(field "$i" "d.get('forged')")"
done
log "leader order: $(field "$(leader_of 1)" "{k: d.get('order', {}).get(k) for k in ('forged_reports', 'replaced')}")"
byn3=$(field 1 "d['forged']['by_sender'].get('3', 0)")
others=$(field 1 "sorted(k for k in d['forged']['by_sender'] if k != '3')")
if [[ ! $byn3 =~ ^[0-9]+$ ]] || ((byn3 < 2 * SPAN)) || [[ $others != "[]" ]]; then
	log "node 1 does not count $((2 * SPAN)) forged copies from node 3 (by sender 3: $byn3, others: $others)"
	bad=1
fi
((bad == 0)) || fail "a forged event was ordered, a real one was not, or the forger was not counted"
log "PASS: $((2 * SPAN)) forged events of origin 2 never ordered, the real ones ordered on all nodes, node 3 counted $byn3 times"
