#!/usr/bin/env bash
# Cluster test: the nodes' disk fills up under load. Below [storage] min_free_mb every node
# refuses new events with a clear ENOSPC error; everything it acknowledged is still ordered
# on every node; once space is freed the nodes accept events again. (Before: nothing stopped
# intake until a write failed, and the Raft log aborts the process on a failed write.)
# usage: cluster_diskfull.sh SOURCE_ROOT   (env RUMOR_BUILD: build dir)
TEST=diskfull TEST_NS=8
. "$(dirname "$0")/cluster_lib.sh"
require_env
MIN_FREE=24
# a small disk of their own for the nodes' data dirs (outside RUMOR_RUN, which up() wipes)
export RUMOR_STORAGE_EXTRA="min_free_mb = $MIN_FREE"
export RUMOR_DATA=/tmp/rct-diskfull-data-$$
mkdir -p "$RUMOR_DATA"
mount -t tmpfs -o size=64m rct-diskfull "$RUMOR_DATA" || skip "cannot mount a tmpfs"
cleanup_extra() { umount "$RUMOR_DATA" 2>/dev/null || true; rmdir "$RUMOR_DATA" 2>/dev/null || true; }
up 3
leader=$(wait_leader "1 2 3" 20) || fail "no leader elected"
free_mb() { df -m --output=avail "$RUMOR_DATA" | tail -1 | tr -d ' '; }
# leave about 24 MiB above the threshold: each node zero-fills a 4 MiB payload-log segment
# before its first record (12 MiB at once), the rest holds a few thousand events; the load
# below needs far more
filler=$RUMOR_DATA/filler
dd if=/dev/zero of="$filler" bs=1M count=$(($(free_mb) - MIN_FREE - 24)) status=none
log "leader $leader; $(free_mb) MiB free on the nodes' disk, threshold $MIN_FREE MiB"

# the loaders retry refusals ("retry later") until they give up (4 x --timeout of sending)
for i in 1 2 3; do
	load_bg "$i" --events 30000 --size 900 --batch 8 --pipeline 2 --rate 3000 --timeout 8 \
		--acked-ids "$RUMOR_RUN/acked-$i"
done
wait_loads "1 2 3" || true
log "after the load: $(free_mb) MiB free"
for i in 1 2 3; do
	refusing=$(field "$i" "d['disk']['refusing']")
	[[ $refusing == True ]] || fail "node $i does not refuse below the threshold (disk: $(field "$i" "d['disk']"))"
done
out=$("$CTL" -n 1 --timeout 5000 send "one more" 2>&1) && fail "a send was accepted with the disk full: $out"
[[ $out == *"no space left"* ]] || fail "the refusal does not say why: $out"
log "refused as it should: $out"
acked=$(cat "$RUMOR_RUN"/acked-* | wc -l)
((acked > 1000)) || fail "only $acked events acknowledged before the disk filled"
converge "1 2 3" 60 || fail "the acknowledged events were not all ordered"
same_digests "1 2 3" || fail "digests differ"
cat "$RUMOR_RUN"/acked-* >"$RUMOR_RUN/acked"
$CHECK --acked "$RUMOR_RUN/acked" "$RUMOR_DATA" || fail "order check (acknowledged events lost?)"
log "$acked acknowledged events all ordered on every node"

rm -f "$filler"
sleep 1
out=$("$CTL" -n 2 --json --timeout 15000 send "SET after-free 1" --wait 2>&1) || fail "no send after space was freed: $out"
log "space freed ($(free_mb) MiB): accepted again: $out"
log "PASS"
