#!/usr/bin/env bash
# Self-test of tests/lazyfs/lazyfs.py: mounts it on temp dirs and checks each semantic it
# promises (unsynced data lost at a cut, synced data kept, torn writes, io_uring, metadata).
# Usage: tests/lazyfs/test_lazyfs.sh   (root; exit 0 pass, 1 fail, 77 no /dev/fuse)
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3 # Debian's: the one that has pyfuse3
if [[ ! -c /dev/fuse ]]; then
	echo "SKIP: /dev/fuse is missing (no FUSE on this machine)"
	exit 77
fi
if ! $PY -c 'import pyfuse3, trio' 2>/dev/null; then
	echo "FAIL: $PY cannot import pyfuse3/trio (apt-get install python3-pyfuse3 fuse3)"
	exit 1
fi

tmp=$(mktemp -d /tmp/lazyfs-test.XXXXXX)
pids=()
mnts=()
cleanup() {
	for m in "${mnts[@]}"; do
		grep -qs " $m fuse" /proc/mounts && fusermount3 -u "$m" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

passed=0
failed=0
check() { # check "what" command...: passes if the command succeeds
	local what=$1
	shift
	if "$@"; then
		echo "ok   $what"
		passed=$((passed + 1))
	else
		echo "FAIL $what"
		failed=$((failed + 1))
	fi
}
eq() { [[ "$1" == "$2" ]] || { echo "     got '$1', want '$2'" >&2; return 1; }; }
size() { stat -c %s "$1"; }

# start NAME [lazyfs args...]: mounts $tmp/NAME/mnt over $tmp/NAME/src; sets S, M, L, P
start() {
	local name=$1
	shift
	S=$tmp/$name/src M=$tmp/$name/mnt L=$tmp/$name/log
	mkdir -p "$S" "$M"
	$PY "$here/lazyfs.py" --source "$S" --mount "$M" --log "$L" "$@" &
	P=$!
	pids+=("$P")
	mnts+=("$M")
	for _ in $(seq 100); do
		grep -qs " $M fuse.lazyfs " /proc/mounts && return 0
		sleep 0.1
	done
	echo "FAIL: lazyfs did not mount $M"
	cat "$L" 2>/dev/null
	exit 1
}
# powercut: SIGUSR1 and wait for its log line (written once the kernel caches are invalidated)
powercut() {
	local n
	n=$(grep -c ' cut ' "$L")
	kill -USR1 "$P"
	for _ in $(seq 100); do
		(($(grep -c ' cut ' "$L") > n)) && return 0
		sleep 0.05
	done
	echo "FAIL: no cut line in $L"
	exit 1
}
lastcut() { grep ' cut ' "$L" | tail -1; }
# pyw FILE OFF DATA [fsync|dsync]: one pwrite through the mount (no O_APPEND)
pyw() {
	$PY - "$@" <<'EOF'
import os, sys
path, off, data = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
mode = sys.argv[4] if len(sys.argv) > 4 else ''
fd = os.open(path, os.O_WRONLY | os.O_CREAT | (os.O_DSYNC if mode == 'dsync' else 0), 0o644)
assert os.pwrite(fd, data, off) == len(data)
if mode == 'fsync':
    os.fsync(fd)
os.close(fd)
EOF
}

cc=$(command -v cc || command -v gcc || true)
uring=$tmp/uring_write
if [[ -n $cc ]] && $cc -O2 -Wall -Wextra -Werror -o "$uring" "$here/uring_write.c" -luring; then
	:
else
	echo "FAIL: cannot build uring_write.c (needs cc and liburing-dev)"
	exit 1
fi

# ---- instance A: plain cuts --------------------------------------------------------------
start a

printf hello >"$M/f1"
check "unsynced write visible through the mount" eq "$(cat "$M/f1")" hello
check "unsynced write not on the source" eq "$(size "$S/f1")" 0
powercut
check "unsynced write gone after a cut" eq "$(size "$M/f1"):$(cat "$M/f1")" 0:
check "cut log line counts the dropped bytes" grep -q 'files=1 dropped=5 torn_kept=0 detail=f1:5:0' <<<"$(lastcut)"

pyw "$M/f2" 0 durable fsync
powercut
check "fsynced write survives a cut" eq "$(cat "$M/f2"):$(cat "$S/f2")" durable:durable

pyw "$M/f3" 0 AAAA fsync
printf BBBB >>"$M/f3"
check "append lands at the end (merged view)" eq "$(cat "$M/f3")" AAAABBBB
powercut
check "cut keeps only the synced prefix" eq "$(cat "$M/f3")" AAAA
printf CCCC >>"$M/f3"
check "append after a cut continues from the synced size" eq "$(cat "$M/f3")" AAAACCCC
check "size after the append" eq "$(size "$M/f3")" 8

# an O_APPEND handle kept open across a cut: the kernel's idea of the size is stale
$PY - "$M/f5" "$P" "$L" <<'EOF'
import os, signal, sys, time
path, pid, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
os.write(fd, b'sync'); os.fsync(fd)
os.write(fd, b'lost-lost')
cuts = open(log).read().count(' cut ')
os.kill(pid, signal.SIGUSR1)
while open(log).read().count(' cut ') == cuts:
    time.sleep(0.02)
os.write(fd, b'+after')
os.close(fd)
EOF
check "an open O_APPEND handle appends at the synced size after a cut" eq "$(cat "$M/f5")" sync+after

pyw "$M/f4" 100 X
check "unsynced write past EOF grows the size" eq "$(size "$M/f4"):$(size "$S/f4")" 101:0
check "the hole reads as zeros" eq "$(head -c 100 "$M/f4" | tr -d '\0' | wc -c)$(tail -c 1 "$M/f4")" 0X

head -c 1048576 /dev/urandom >"$tmp/rand"
dd if="$tmp/rand" of="$M/big" bs=4k status=none
check "1 MiB of unsynced 4 KiB writes reads back whole" cmp -s "$tmp/rand" "$M/big"
powercut
check "... and is gone after a cut" eq "$(size "$M/big")" 0
dd if="$tmp/rand" of="$M/big" bs=4k conv=fsync status=none
powercut
check "1 MiB written with a final fsync survives a cut" cmp -s "$tmp/rand" "$M/big"
check "... on the source too" cmp -s "$tmp/rand" "$S/big"

# ftruncate with pending data: synced 4 KiB of a, unsynced 4 KiB of b, truncate to 6000
$PY - "$M/t" <<'EOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(fd, b'a' * 4096, 0); os.fsync(fd)
os.pwrite(fd, b'b' * 4096, 4096)
os.ftruncate(fd, 6000)
assert os.fstat(fd).st_size == 6000, os.fstat(fd).st_size
os.pwrite(fd, b'c' * 10, 7000)   # unsynced, past the new size
os.ftruncate(fd, 6500)           # drops it again
assert os.pread(fd, 8000, 0) == b'a' * 4096 + b'b' * 1904 + b'\0' * 500
os.fsync(fd)
os.close(fd)
EOF
check "ftruncate with pending writes (checks inside)" test $? -eq 0
powercut
check "truncated pending data synced as truncated" eq "$(size "$S/t"):$(tr -d '\0' <"$S/t" | tr -s ab)" 6500:ab

pyw "$M/d1" 0 dsync-handle dsync
powercut
check "write on an O_DSYNC handle survives a cut" eq "$(cat "$M/d1")" dsync-handle

check "io_uring write + linked fdatasync succeeds" "$uring" fdatasync "$M/u1" 0 uring-fdatasync
check "io_uring RWF_DSYNC write succeeds" "$uring" rwf_dsync "$M/u2" 0 uring-rwf-dsync
check "io_uring write without sync succeeds" "$uring" nosync "$M/u3" 0 uring-nosync
check "io_uring unsynced write visible before the cut" eq "$(cat "$M/u3")" uring-nosync
powercut
check "io_uring write + fdatasync survives a cut" eq "$(cat "$M/u1"):$(cat "$S/u1")" uring-fdatasync:uring-fdatasync
check "io_uring RWF_DSYNC write survives a cut" eq "$(cat "$S/u2")" uring-rwf-dsync
check "io_uring write without sync is dropped" eq "$(size "$M/u3")" 0

# metadata is durable at once
pyw "$M/r1" 0 renamed fsync
printf gone >"$M/del"
mkdir "$M/dir"
mv "$M/r1" "$M/dir/r2"
rm "$M/del"
check "rename, unlink, mkdir applied to the source at once" \
	test -f "$S/dir/r2" -a ! -e "$S/r1" -a ! -e "$S/del" -a -d "$S/dir"
powercut
check "... and survive a cut" eq "$(cat "$M/dir/r2"):$(ls "$M" | grep -c '^del$')" renamed:0
printf pending >"$M/p1"
mv "$M/p1" "$M/dir/p2"
$PY -c 'import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)' "$M/dir/p2"
powercut
check "pending data follows its file across a rename" eq "$(cat "$S/dir/p2")" pending
mv "$M/dir" "$M/dir2"
printf x >>"$M/dir2/p2"
check "files under a renamed directory still work" eq "$(cat "$M/dir2/p2"):$(cat "$S/dir2/p2")" pendingx:pending
ln -s dir2/p2 "$M/sym"
check "symlink" eq "$(readlink "$S/sym"):$(cat "$M/sym")" dir2/p2:pendingx

kill -TERM "$P"
wait "$P"
rc=$?
check "SIGTERM: lazyfs exits 0 and unmounts" eq "$rc:$(grep -c " $M fuse" /proc/mounts)" 0:0
check "a clean exit flushes pending data (like umount)" eq "$(cat "$S/dir2/p2")" pendingx

# ---- instance B: torn writes -------------------------------------------------------------
start b --torn --seed 7
head -c 65536 /dev/urandom >"$tmp/r64"
$PY -c 'import os,sys; fd=os.open(sys.argv[1], os.O_WRONLY|os.O_CREAT, 0o644); os.write(fd, open(sys.argv[2],"rb").read()); os.close(fd)' "$M/torn" "$tmp/r64"
pyw "$M/torn2" 0 SYNCED fsync
pyw "$M/torn2" 6 0123456789abcdef
powercut
line=$(lastcut)
echo "     $line"
k=$(grep -o 'torn:[0-9]*:[0-9]*' <<<"$line" | cut -d: -f3)
k2=$(grep -o 'torn2:[0-9]*:[0-9]*' <<<"$line" | cut -d: -f3)
check "torn cut reports both files" test -n "$k" -a -n "$k2"
check "torn: kept a strict prefix of the 64 KiB write (kept $k)" test "${k:-0}" -gt 0 -a "${k:-0}" -lt 65536
check "torn: source holds exactly that prefix" cmp -s <(head -c "${k:-0}" "$tmp/r64") "$S/torn"
check "torn: the mount shows the same after the cut" cmp -s "$S/torn" "$M/torn"
want2=SYNCED$(printf 0123456789abcdef | head -c "${k2:-0}")
check "torn: synced data plus a prefix of the unsynced write (kept $k2)" eq "$(cat "$M/torn2")" "$want2"
powercut
check "torn: a second cut with nothing pending changes nothing" cmp -s <(head -c "${k:-0}" "$tmp/r64") "$M/torn"

fusermount3 -u "$M"
wait "$P"
rc=$?
check "fusermount3 -u: lazyfs exits 0" eq "$rc:$(grep -c " $M fuse" /proc/mounts)" 0:0
left=0
for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && left=$((left + 1)); done
check "no lazyfs process left" eq "$left" 0

echo "$passed passed, $failed failed"
((failed == 0))
