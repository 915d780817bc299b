#!/usr/bin/env bash
# [auth] encrypt (issue 14): 3 nodes; one event with a fresh random value sent on node 1 while
# every node's data bridge port is captured. encrypt = false: the value's bytes are on the
# wire (so the capture can see them). encrypt = true: they are not, yet every node applies the
# event (the dataplanes decrypt into their stores, rumor-cp reads plaintext); then node 3
# restarts configured without encrypt: it counts and drops the encrypted frames (auth_enc_unexpected),
# never takes them. usage: cluster_encrypt.sh SOURCE_ROOT (env RUMOR_BUILD)
TEST=cluster_encrypt TEST_NS=17
. "$(dirname "$0")/cluster_lib.sh"
require_env
command -v dumpcap >/dev/null || skip "dumpcap (tshark) not installed"
NODES="1 2 3"
HUB=$RUMOR_NS-hub
OUT=$(mktemp -d /tmp/rct-encrypt-XXXXXX)
cleanup_extra() { rm -rf "$OUT"; }

has_key() { # NODE KEY VALUE: the node's KV holds KEY = VALUE
	"$CTL" -n "$1" --json --timeout 3000 kv "$2" 2>/dev/null | grep -q "$3"
}

# case MODE: bring the cluster up with encrypt = MODE, send the secret, capture; prints how
# many captured frames carry the secret
case_run() {
	local mode=$1 secret key i n end
	secret="s3cr3t-$mode-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"
	key="enc-$mode"
	if [[ $mode == true ]]; then
		export RUMOR_STORAGE_EXTRA='[auth]\nencrypt = true'
	else
		unset RUMOR_STORAGE_EXTRA
	fi
	up 3
	[[ $mode != true ]] || grep -q '^encrypt = true' "$RUMOR_RUN/rumor.conf" ||
		fail "config has no encrypt = true"
	wait_leader "$NODES" 20 >/dev/null || fail "no leader elected (encrypt $mode)"
	for i in $NODES; do
		"$CTL" -n "$i" --timeout 5000 send "SET warm-$i 1" --wait >/dev/null ||
			fail "warm-up send on node $i (encrypt $mode)"
	done
	ip netns exec "$HUB" dumpcap -q -i d1-h -i d2-h -i d3-h -f "udp port 7946" \
		-w "$OUT/$mode.pcap" 2>"$OUT/dumpcap-$mode.err" &
	PIDS+=($!)
	local cap=$!
	sleep 1.5
	"$CTL" -n 1 --timeout 5000 send "SET $key $secret" --wait >/dev/null ||
		fail "send of the secret (encrypt $mode)"
	end=$(($(date +%s) + 15))
	for i in $NODES; do
		until has_key "$i" "$key" "$secret"; do
			(($(date +%s) < end)) || fail "node $i never applied $key (encrypt $mode)"
			sleep 0.3
		done
	done
	sleep 1
	kill -INT "$cap" 2>/dev/null || true
	wait "$cap" 2>/dev/null || true
	[[ -s $OUT/$mode.pcap ]] || fail "no capture (encrypt $mode): $(cat "$OUT/dumpcap-$mode.err")"
	n=$(grep -c -a -F "$secret" "$OUT/$mode.pcap" || true)
	FRAMES=$(capinfos -c -M "$OUT/$mode.pcap" 2>/dev/null | awk '/packets/ {print $NF}')
	log "encrypt = $mode: ${FRAMES:-?} gossip frames captured, $n with the value's bytes"
	echo "$n" >"$OUT/$mode.count"
}

case_run false
off=$(cat "$OUT/false.count")
((off > 0)) || fail "encrypt = false: the value never showed on the wire (capture broken?)"

case_run true
on=$(cat "$OUT/true.count")
((on == 0)) || fail "encrypt = true: the value's bytes are on the wire ($on frames)"

# a receiver configured differently: node 3 without encrypt counts and drops what 1 and 2 send
before=$(field 3 "d['dataplane']['drops_by_reason']['auth_enc_unexpected']")
$CLUSTER kill 3 >/dev/null
sed -i '/^encrypt = true$/d' "$RUMOR_RUN/rumor.conf"
$CLUSTER restart 3 >/dev/null
end=$(($(date +%s) + 20))
until [[ $(field 3 "d['role']") != "?" ]]; do
	(($(date +%s) < end)) || fail "node 3 did not come back without encrypt"
	sleep 0.5
done
for k in 1 2 3 4 5; do
	"$CTL" -n 1 --timeout 5000 send "SET mixed-$k 1" --wait >/dev/null || fail "send on node 1"
done
end=$(($(date +%s) + 10))
while :; do
	nk=$(field 3 "d['dataplane']['drops_by_reason']['auth_enc_unexpected']")
	[[ $nk != "?" ]] && ((nk > 0)) && break
	(($(date +%s) < end)) || fail "node 3 (no encrypt) counted no drop of encrypted frames ($nk)"
	sleep 0.5
done
new3=$(field 3 "d['dataplane']['frames_new']")
log "node 3 without encrypt: auth_enc_unexpected $before -> $nk (after its restart), frames taken $new3"
[[ $new3 == 0 || $new3 == "?" ]] ||
	fail "node 3 without encrypt took $new3 frames from encrypting nodes"
log "PASS: value on the wire with encrypt off ($off frames), never with it on"
