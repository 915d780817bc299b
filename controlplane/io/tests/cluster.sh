#!/bin/bash
# Three cp-raft-demo processes on loopback: elect a leader, replicate, survive kill -9 of
# the leader (new leader, applies continue), restart the killed node and see it catch up.
set -u
DEMO=${1:?usage: cluster.sh path/to/cp-raft-demo}
WORK=$(mktemp -d /tmp/cp-raft-cluster-XXXXXX)
declare -A PID
cleanup() { # graceful stop (exercises raft_close over cp_raftio), then force
    for i in 1 2 3; do [ -n "${PID[$i]:-}" ] && kill -TERM "${PID[$i]}" 2>/dev/null; done
    for _ in $(seq 30); do
        alive=0
        for i in 1 2 3; do [ -n "${PID[$i]:-}" ] && kill -0 "${PID[$i]}" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for i in 1 2 3; do [ -n "${PID[$i]:-}" ] && kill -9 "${PID[$i]}" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for i in 1 2 3; do echo "--- node $i"; tail -5 "$WORK/log$i"; done; exit 1; }

BASE=$((20000 + RANDOM % 40000))
PEERS="1=127.0.0.1:$BASE,2=127.0.0.1:$((BASE + 1)),3=127.0.0.1:$((BASE + 2))"
start() { "$DEMO" --id "$1" --dir "$WORK/d$1" --peers "$PEERS" >> "$WORK/log$1" 2>&1 & PID[$1]=$!; }
leader_of() { # the node whose last role line says leader (among live ones)
    for i in "$@"; do
        if grep '^role=' "$WORK/log$i" | tail -1 | grep -q 'role=leader'; then echo "$i"; return; fi
    done
}
applied() { grep '^applied=' "$WORK/log$1" | tail -1 | sed 's/applied=\([0-9]*\).*/\1/'; }
wait_for() { # wait_for seconds command...
    local t=$1; shift
    for _ in $(seq $((t * 10))); do "$@" && return 0; sleep 0.1; done
    return 1
}
has_leader() { [ -n "$(leader_of "$@")" ]; }
applied_over() { local a; a=$(applied "$1"); [ -n "$a" ] && [ "$a" -gt "$2" ]; }

for i in 1 2 3; do start $i; done
wait_for 15 has_leader 1 2 3 || fail "no leader elected"
L=$(leader_of 1 2 3)
echo "leader: $L"
for i in 1 2 3; do wait_for 15 applied_over $i 100 || fail "node $i did not apply 100 entries"; done

kill -9 "${PID[$L]}"; wait "${PID[$L]}" 2>/dev/null; PID[$L]=
REST=$(for i in 1 2 3; do [ "$i" != "$L" ] && echo $i; done | tr '\n' ' ')
BEFORE=$(applied $(echo $REST | cut -d' ' -f1))
echo "killed leader $L at applied=$BEFORE; survivors: $REST"
wait_for 15 has_leader $REST || fail "no new leader among $REST"
L2=$(leader_of $REST)
echo "new leader: $L2"
for i in $REST; do wait_for 15 applied_over $i $((BEFORE + 100)) || fail "node $i: applies did not continue"; done

TARGET=$(applied "$L2")
echo "restarting $L (target applied > $TARGET)"
start "$L"
wait_for 20 applied_over "$L" "$TARGET" || fail "restarted node $L did not catch up past $TARGET"
echo "node $L caught up: applied=$(applied "$L")"
grep -h "torn tail\|FATAL\|ERROR" "$WORK"/log* && echo "(notes above)"
for i in 1 2 3; do kill -TERM "${PID[$i]}"; done
for i in 1 2 3; do wait "${PID[$i]}" || fail "node $i did not stop cleanly (status $?)"; PID[$i]=; done
grep -h '^stopped' "$WORK"/log*
echo "PASS"
