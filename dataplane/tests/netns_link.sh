#!/bin/bash
# Real-NIC behaviour on veth (issue 18), two rumor-dp (af_packet PMD) in two namespaces on a
# veth pair with MTU 9000: node 1 has mac = arp (node 2 resolves it by ARP, node 1 takes its
# port's MAC), node 3 is a member without a process whose frames dp-jumbo-send writes.
# 1. jumbo: an 8 KiB event of node 3 sent to node 2 is stored there and relayed over the
#    veth to node 1 (rumor-dp to rumor-dp at MTU 9000);
#    An 8 KiB event originated by node 1 (an ORIGINATE message, the API's path) reaches node 2;
# 2. link down/up: `ip link set dev a0 down` on node 1's side: its link shows down, what it
#    originates then is counted as link_down and reaches nobody; after `up` its link shows up
#    again and every event originated after that reaches node 2 (and node 2's reach node 1).
# Usage: netns_link.sh RUMOR_DP RUMOR_DP_PROBE DP_JUMBO_SEND
set -u
DP=$1
PROBE=$2
SEND=$3
P=${RUMOR_NS:-rdl}$$
WORK=$(mktemp -d /tmp/$P.XXXX)
PIDS=()
MTU=9000
# af_packet: a tpacket frame must hold the whole Ethernet frame plus its header
AFP="framesz=9216,blocksz=36864,framecnt=256"

. "$(dirname "$0")/netns_pair.sh"
pair_up
set -e
ip -n "$P-a" link add a0 type veth peer name b0 netns "$P-b"
ip -n "$P-a" link set a0 address 02:00:00:00:02:01 mtu $MTU up
ip -n "$P-b" link set b0 address 02:00:00:00:02:02 mtu $MTU up
CFG=$WORK/rumor.conf
cat >"$CFG" <<CONF
[cluster]
id = 4243
[gossip]
fanout = 2
rounds = 3
flush_us = 100
mtu = $MTU
[dataplane]
store_slots = 512
arp_retry_ms = 100
[auth]
insecure = true
[node.1]
mac = arp
ip = 10.78.0.1
control = 127.0.0.1:7201
[node.2]
mac = 02:00:00:00:02:02
ip = 10.78.0.2
control = 127.0.0.1:7202
[node.3]
mac = 02:00:00:00:02:03
ip = 10.78.0.3
control = 127.0.0.1:7203
CONF
set +e
EAL_COMMON="--lcores 0@(0-1) -m 80 --no-pci --log-level=*:warning"
start() { # node ns iface
	ip netns exec "$2" "$DP" $EAL_COMMON --file-prefix "$2" \
		--vdev=net_af_packet0,iface=$3,$AFP -- --config "$CFG" --node "$1" \
		--msg-pool 1024 >"$WORK/dp$1.log" 2>&1 &
	PIDS+=($!)
}
start 1 "$P-a" a0
start 2 "$P-b" b0
wait_ready 1 2
fail=0
# --- ARP: node 2 learns node 1's MAC (the one the port has)
wait_stat 2 arp_resolved 1 || exit 1
echo "node 2 resolved node 1 by ARP: $(probe 2 --quiet | grep -o '"arp_req_tx":[0-9]*,"arp_reply_rx":[0-9]*,"arp_resolved":[0-9]*')"
echo "node 1 answered: $(probe 1 --quiet | grep -o '"arp_req_rx":[0-9]*,"arp_reply_tx":[0-9]*')"

# --- jumbo: an 8 KiB event of node 3 to node 2, relayed by node 2 to node 1 over the veth
ip netns exec "$P-a" "$SEND" "$CFG" a0 3 2 02:00:00:00:02:02 1 8192 || exit 1
# node 1's NEW_FRAME record of it (the probe prints what it drains): its frame length
len=
for t in $(seq 1 50); do
	probe 1 --wait-ms 100 >"$WORK/jumbo1.log" 2>&1
	len=$(sed -n 's/.*"new_frame":{"origin":3,"first_seq":1,.*"from":2,.*"len":\([0-9]*\).*/\1/p' "$WORK/jumbo1.log")
	[ -n "$len" ] && break
done
echo "8 KiB event: node 2 stored $(stat 2 rx_events_new) event(s); node 1 got it from node 2" \
	"as a ${len:-?}-byte rumor frame (one frame, one event; at MTU 1500 it cannot travel)"
if [ -z "$len" ] || [ "$len" -lt 8192 ]; then
	echo "FAIL: node 1 did not get the 8 KiB event relayed by node 2"
	cat "$WORK/jumbo1.log"
	fail=1
fi

# ... and 100 more back to back (seqs 2..101): every one stored by node 2 and relayed to node 1
ip netns exec "$P-a" "$SEND" "$CFG" a0 3 2 02:00:00:00:02:02 2 8192 100 || exit 1
wait_stat 2 rx_events_new 101 || fail=1
wait_stat 1 rx_events_new 101 || fail=1
echo "100 more 8 KiB events: node 2 stored $(stat 2 rx_events_new), node 1 got" \
	"$(stat 1 rx_events_new) relayed (drops node 1: $(probe 1 --quiet | sed -n 's/.*"drops":\[\([0-9,]*\)\].*/\1/p'))"

# --- an 8 KiB event originated through an ORIGINATE message (what rumor-cp sends for the
# API's send): the message pool's objects hold it at MTU 9000
ev2=$(stat 2 rx_events_new)
if ! probe 1 --originate 1 --size 8192 --wait-ms 50 --quiet >"$WORK/orig8k.log" 2>&1; then
	echo "FAIL: node 1 cannot originate an 8 KiB event:"
	cat "$WORK/orig8k.log"
	fail=1
fi
wait_stat 2 rx_events_new $((ev2 + 1)) || fail=1
echo "8 KiB event originated by node 1: node 2 has $(( $(stat 2 rx_events_new) - ev2 )) new," \
	"node 1 refused $(stat 1 originate_refused)"

# --- link down/up on node 1's side
ev2=$(stat 2 rx_events_new)
probe 1 --originate 3 --size 1000 --wait-ms 50 --quiet >/dev/null
wait_stat 2 rx_events_new $((ev2 + 3)) || fail=1
echo "link up: node 1 originated 3, node 2 has $(stat 2 rx_events_new) new events"
down_up a0 1000
echo "node 1: $(probe 1 --quiet)"
echo "node 2: $(probe 2 --quiet)"
if [ "$fail" = 0 ]; then
	echo "PASS: ARP, 8 KiB event at MTU $MTU, link down/up"
fi
exit $fail
