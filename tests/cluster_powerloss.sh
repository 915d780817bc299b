#!/usr/bin/env bash
# Cluster test: whole-cluster power loss. cluster_crash.sh's rounds (load with `send --wait`
# from every node, SIGKILL of every process right after an acknowledgment, restart, every
# acknowledged event applied everywhere at its gseq) with every node's disk (Raft log,
# snapshots, ordered.log, the dataplane's state dir) on tests/lazyfs/lazyfs.py: after the kill
# lazyfs drops every write not yet synced (SIGUSR1), then the nodes restart. Odd rounds are
# torn cuts (--torn: a random prefix of each file's oldest unsynced write survives), even
# rounds plain ones. API sockets, logs and pid files stay off the FUSE mount.
# usage: cluster_powerloss.sh [SOURCE_ROOT] [NODES] [ROUNDS]   (defaults: the tree, 3, 30)
# env: as cluster_crash.sh (RCT_CRASH_MODE=idle: cut once every node applied the load; unlike
# the crash test this still fails without durable payloads: applied is not synced).
TEST=power TEST_NS=8 CRASH_WHAT="power cut (odd rounds torn)"
LAZYFS_PY=/usr/bin/python3 # Debian's: the one with pyfuse3

# torn ROUND: 1 when the cut of ROUND is torn
torn() { (($1 % 2)); }

crash_desc() { if torn "$1"; then echo "power cut (torn)"; else echo "power cut"; fi; }

# lazyfs_start ROUND: mount for the cut that ends ROUND
lazyfs_start() {
	local args=(--source "$FS/src" --mount "$FS/mnt" --seed "$((SEED + $1))" --log "$FS/lazyfs.log")
	torn "$1" && args+=(--torn)
	$LAZYFS_PY "$SRC/tests/lazyfs/lazyfs.py" "${args[@]}" 2>>"$FS/lazyfs.log" &
	LAZYFS_PID=$!
	for _ in $(seq 100); do
		grep -qs " $FS/mnt fuse.lazyfs " /proc/mounts && return 0
		kill -0 "$LAZYFS_PID" 2>/dev/null || fail "lazyfs exited: $(tail -n 3 "$FS/lazyfs.log")"
		sleep 0.1
	done
	fail "lazyfs not mounted on $FS/mnt after 10 s"
}

lazyfs_stop() {
	[[ -n ${LAZYFS_PID:-} ]] || return 0
	kill -TERM "$LAZYFS_PID" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$LAZYFS_PID" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$LAZYFS_PID" 2>/dev/null; then
		kill -KILL "$LAZYFS_PID" 2>/dev/null || true
		wait "$LAZYFS_PID" 2>/dev/null || true
	fi
	grep -qs " $FS/mnt fuse" /proc/mounts && { fusermount3 -u "$FS/mnt" 2>/dev/null || umount -l "$FS/mnt" || true; }
	LAZYFS_PID=""
}

crash_setup() {
	[[ -c /dev/fuse ]] || skip "no /dev/fuse"
	$LAZYFS_PY -c 'import pyfuse3, trio' 2>/dev/null || skip "$LAZYFS_PY lacks pyfuse3/trio (apt-get install python3-pyfuse3)"
	[[ -f $SRC/tests/lazyfs/lazyfs.py ]] || skip "no tests/lazyfs/lazyfs.py"
	FS=$RUMOR_RUN-fs # beside the run dir: up() empties that one
	export RUMOR_DATA=$FS/mnt/data
	trap cleanup EXIT
	rm -rf "$FS"
	mkdir -p "$FS/src" "$FS/mnt"
	lazyfs_start 1
	log "lazyfs on $FS/mnt (source $FS/src, pid $LAZYFS_PID): node data dirs in $RUMOR_DATA"
}

# after the SIGKILL of every node process: the power goes, then lazyfs comes back for the
# next round (torn or not)
crash_cut() {
	local cuts
	cuts=$(grep -c ' cut ' "$FS/lazyfs.log" || true)
	kill -USR1 "$LAZYFS_PID"
	for _ in $(seq 100); do
		(($(grep -c ' cut ' "$FS/lazyfs.log" || true) > cuts)) && break
		sleep 0.05
	done
	(($(grep -c ' cut ' "$FS/lazyfs.log" || true) > cuts)) || fail "round $1: lazyfs did not report the cut"
	CUT_LINE=$(grep ' cut ' "$FS/lazyfs.log" | tail -n 1 | sed 's/^.* cut /cut /')
	log "round $1: $(crash_desc "$1"): ${CUT_LINE:0:160}"
	lazyfs_stop
	lazyfs_start $(($1 + 1))
}

cleanup_extra() {
	lazyfs_stop
	if (($1 == 0)); then
		rm -rf "$FS"
	else
		echo "== $FS/lazyfs.log (last lines)" >&2
		tail -n 5 "$FS/lazyfs.log" >&2 || true
		echo "lazyfs source (the disk after the last cut) kept: $FS/src" >&2
	fi
}

. "$(dirname "$0")/cluster_crash.sh"
