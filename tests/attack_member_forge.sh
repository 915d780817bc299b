#!/usr/bin/env bash
# A member forges another origin's events (issue 14): every member holds the gossip key, so
# node 3 (a member) seals, from its own namespace, in its own name, frames claiming origin 2
# with 2's next SPAN seqs and "SET pwned" (rumor-craft --kinds member), sent to node 1 before
# node 2 stamps those seqs (node 2's client is idle meanwhile); node 1 stores the forgeries
# and drops 2's real frames as duplicates. Then node 2's client sends SPAN real events with
# --wait. Pass: every real send is answered ok at the seq forged for it, no `pwned` key on any
# node, every node's ordered.log has the real ids at those seqs (no skip), one order and KV
# digest, and node 1's forged-copy counter names node 3 (the hop sender) for each seq.
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
next2=$(($("$CTL" -n 2 --json --timeout 5000 send "SET forge-probe 1" --wait |
	python3 -c "import json,sys; print(json.load(sys.stdin)['seq'])") + 1))
log "origin 2's next seq is $next2; node 3 forges $next2..$((next2 + SPAN - 1)) to node 1"

# node 3, a member with the keyring, from its own namespace and data interface: each forged
# seq twice (a duplicate is dropped), well before node 2 stamps it
ip netns exec "$RUMOR_NS-n3" "$CRAFT" --config "$RUMOR_RUN/rumor.conf" --iface d3 \
	--kinds member --as 3 --next "2:$next2" --span "$SPAN" --count $((2 * SPAN)) --pps 200 \
	>"$RUMOR_RUN/craft.out" 2>&1 || fail "rumor-craft: $(cat "$RUMOR_RUN/craft.out")"
log "$(cat "$RUMOR_RUN/craft.out")"
sleep 1
log "node 1 after the forgery: frames_new $(field 1 "d['dataplane']['frames_new']"), held $(field 1 "d['held_events']")"

# node 2's real events, one frame each
bad=0
declare -A REAL=([0]=none) # seq -> real id (0: a placeholder, set -u)
for j in $(seq "$SPAN"); do
	out=$("$CTL" -n 2 --json --timeout 10000 send "SET real-2-$j $j" --wait 2>&1) || {
		log "real send $j failed: $(echo "$out" | tr '\n' ' ' | cut -c1-200)"
		bad=1
		continue
	}
	read -r seq id <<<"$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(d['seq'], d['id'])" "$out")"
	((seq == next2 + j - 1)) || { log "real send $j got seq $seq, not $((next2 + j - 1))"; bad=1; }
	REAL[$seq]=$id
done
log "node 2's real events: $((${#REAL[@]} - 1)) of $SPAN answered ok"

converge "$NODES" 30 || fail "nodes did not converge"
same_digests "$NODES" || bad=1
for i in $NODES; do
	kv=$("$CTL" -n "$i" --json --timeout 5000 kv pwned 2>/dev/null || true)
	if ! python3 -c "import json,sys; d=json.loads(sys.argv[1] or '{}'); sys.exit(1 if d.get('ok') and 'pwned' in d.get('kv', {}) else 0)" "$kv"; then
		log "node $i: the forged event was applied: $kv"
		bad=1
	fi
	# ordered.log at the forged seqs: the real ids, events (no skip), nothing else
	python3 - "$RUMOR_RUN/data/node-$i/ordered.log" "$next2" "$SPAN" \
		"$(for s in "${!REAL[@]}"; do echo "$s=${REAL[$s]}"; done | tr '\n' ' ')" <<'PY' ||
import json, sys
path, first, span, real = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
real = dict((int(k), v) for k, v in (p.split('=') for p in real.split()))
got, bad = {}, []
for line in open(path):
    d = json.loads(line)
    if d.get('origin') != 2 or 'seq' not in d:
        continue
    last = d.get('skip_through', d['seq'])
    for s in range(max(d['seq'], first), min(last, first + span - 1) + 1):
        got[s] = d
for s in range(first, first + span):
    d = got.get(s)
    if d is None:
        bad.append(f"{s}: not in ordered.log")
    elif d.get('skip') or d.get('rejected'):
        bad.append(f"{s}: {d}")
    elif s in real and not real[s].startswith(d['id'][:len(real[s])]) and not d['id'].startswith(real[s]):
        bad.append(f"{s}: id {d['id']} is not the real {real[s]}")
    elif 'pwned' in d.get('data', ''):
        bad.append(f"{s}: the forged event: {d}")
print(f"{path}: origin 2 seqs {first}..{first + span - 1}: " + ('; '.join(bad) if bad else 'the real events'))
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
if [[ ! $byn3 =~ ^[0-9]+$ ]] || ((byn3 < SPAN)) || [[ $others != "[]" ]]; then
	log "node 1 does not count $SPAN forged copies from node 3 (by sender 3: $byn3, others: $others)"
	bad=1
fi
((bad == 0)) || fail "a forged event was ordered, a real one was not, or the forger was not counted"
log "PASS: $SPAN forged events of origin 2 never ordered, the real ones ordered on all nodes, node 3 counted"
