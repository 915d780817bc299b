#!/usr/bin/env bash
# Guarded API socket: one node whose --node-config sets api_group and api_admin_group. The socket
# is mode 0660 with that group; a user outside it cannot connect; a member of api_group that is
# not an admin can run status, members and send but gets "permission denied" for add, remove,
# transfer, skip-lost and keys list/install/use/remove (counted in limits.api.refused_admin); a member of api_admin_group gets
# past the guard (whatever the command itself answers); root too.
# usage: api_guard.sh SOURCE_ROOT   (env RUMOR_BUILD: build dir)
TEST=api_guard TEST_NS=${TEST_NS:-16}
. "$(dirname "$0")/cluster_lib.sh"
require_env
command -v setpriv >/dev/null || skip "no setpriv"
G=rumortest-api GA=rumortest-adm U=rumortest UA=rumortest-admin UO=rumortest-out
for g in $G $GA; do getent group $g >/dev/null || groupadd -r $g; done
getent passwd $U >/dev/null || useradd -r -M -s /usr/sbin/nologin -G $G $U
getent passwd $UA >/dev/null || useradd -r -M -s /usr/sbin/nologin -G $G,$GA $UA
getent passwd $UO >/dev/null || useradd -r -M -s /usr/sbin/nologin $UO
export RUMOR_NODE_EXTRA="api_group = $G\napi_admin_group = $GA"
up 1
wait_leader "1" 20 >/dev/null || fail "no leader"
chmod 0755 "$RUMOR_RUN" # the run dir itself must be reachable by the test users
sock=$RUMOR_RUN/node-1.sock
as() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --init-groups env RUMOR_RUN="$RUMOR_RUN" "$CTL" -n 1 --timeout 3000 "$@" 2>&1; }
bad=0
perm=$(stat -c '%a %G' "$sock")
log "socket $sock: mode and group $perm"
[[ $perm == "660 $G" ]] || { log "FAIL: want 660 $G"; bad=1; }
out=$(as $UO status) && { log "FAIL: $UO (not in $G) got a status: $out"; bad=1; } ||
	log "$UO (no group): $(echo "$out" | head -1)"
out=$(as $U --json status) || { log "FAIL: $U status: $out"; bad=1; }
[[ $out == *'"ok":true'* || $out == *'"ok": true'* ]] || { log "FAIL: $U status not ok: ${out:0:200}"; bad=1; }
log "$U status: ok (${#out} bytes)"
out=$(as $U send "SET guard 1" --wait) || { log "FAIL: $U send: $out"; bad=1; }
out=$(as $U members) || { log "FAIL: $U members: $out"; bad=1; }
for cmd in "add 9" "remove 9" "transfer 1" "skip-lost 1 1" "keys list" "keys install 9 --generate" \
	"keys use 9" "keys remove 9"; do
	out=$(as $U $cmd) && { log "FAIL: $U '$cmd' succeeded: $out"; bad=1; continue; }
	[[ $out == *"permission denied"* ]] || { log "FAIL: $U '$cmd': no permission error: $out"; bad=1; }
	log "$U $cmd: $(echo "$out" | head -1)"
done
for who in $UA root; do
	if [[ $who == root ]]; then out=$("$CTL" -n 1 --timeout 3000 transfer 1 2>&1) || true; else out=$(as $who transfer 1) || true; fi
	[[ $out != *"permission denied"* ]] || { log "FAIL: $who transfer refused by the guard: $out"; bad=1; }
	log "$who transfer 1 (past the guard): $(echo "$out" | head -1)"
done
ra=$(field 1 "d['limits']['api']['refused_admin']")
log "limits.api.refused_admin = $ra"
((ra == 8)) || { log "FAIL: refused_admin $ra, want 8"; bad=1; }
# the gossip keyring is an admin's (issue 14): root lists it, with fingerprints only
out=$("$CTL" -n 1 --timeout 3000 keys list 2>&1) || { log "FAIL: root keys list: $out"; bad=1; }
log "root keys list: $(echo "$out" | head -1)"
out=$(as $UA keys list) || { log "FAIL: $UA keys list: $out"; bad=1; }
((bad == 0)) || fail "see above"
log "PASS: socket 0660 $G; non-admin refused add/remove/transfer/skip-lost/keys, status/send/members allowed; admin and root pass"
