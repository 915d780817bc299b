#!/bin/bash
# Link state on a PMD that claims LSC interrupts (issue 18): net_tap sets RTE_ETH_DEV_INTR_LSC
# but never calls the application's callback (DPDK 22.11: its netlink handler only updates the
# status), so rumor-dp must still read the link every DP_LINK_POLL_MS (before, it polled such
# ports once a second). Node 1 is rumor-dp on net_tap in namespace A, its tap bridged to a veth;
# node 2 is rumor-dp on af_packet in namespace B at the veth's other end.
# 1. traffic both ways over the tap;
# 2. `ip link set dev rtap1 down` on the kernel side: node 1 shows its link down (the time it
#    took is printed), what it originates then is counted as link_down and reaches nobody;
# 3. `up`: link up again, and every event originated after that arrives both ways.
# link_lsc counts callbacks and stays 0 on net_tap; no PMD on this box raises one.
# Usage: netns_tap_link.sh RUMOR_DP RUMOR_DP_PROBE
set -u
DP=$1
PROBE=$2
P=${RUMOR_NS:-rdt}$$
WORK=$(mktemp -d /tmp/$P.XXXX)
PIDS=()

. "$(dirname "$0")/netns_pair.sh"
pair_up
if [ ! -c /dev/net/tun ]; then
	echo "SKIP: no /dev/net/tun (net_tap needs it)"
	exit 77
fi
set -e
ip -n "$P-a" link add a0 type veth peer name b0 netns "$P-b"
ip -n "$P-a" link add br0 type bridge
ip -n "$P-a" link set a0 master br0 up
ip -n "$P-a" link set br0 up
ip -n "$P-b" link set b0 address 02:00:00:00:03:02 up
CFG=$WORK/rumor.conf
cat >"$CFG" <<CONF
[cluster]
id = 4244
[gossip]
fanout = 1
rounds = 2
flush_us = 100
[dataplane]
store_slots = 512
[auth]
insecure = true
[node.1]
mac = 02:00:00:00:03:01
ip = 10.79.0.1
control = 127.0.0.1:7301
[node.2]
mac = 02:00:00:00:03:02
ip = 10.79.0.2
control = 127.0.0.1:7302
CONF
set +e
EAL_COMMON="--lcores 0@(0-1) -m 80 --no-pci --log-level=*:warning"
start() { # node ns vdev
	ip netns exec "$2" "$DP" $EAL_COMMON --file-prefix "$2" --vdev="$3" -- --config "$CFG" \
		--node "$1" --msg-pool 1024 >"$WORK/dp$1.log" 2>&1 &
	PIDS+=($!)
}
start 1 "$P-a" net_tap0,iface=rtap1,mac=02:00:00:00:03:01
start 2 "$P-b" net_af_packet0,iface=b0
wait_ready 1 2
# The tap exists once node 1's port started: into the bridge with the veth. Its kernel side
# gets a MAC of its own: with the port's, the bridge would keep frames for 02:..:03:01 as its
# own local address instead of forwarding them to the tap.
if ! ip -n "$P-a" link set rtap1 address 02:00:00:00:03:11 ||
   ! ip -n "$P-a" link set rtap1 master br0 up; then
	echo "FAIL: node 1's tap rtap1 is not there"
	ip -n "$P-a" link
	exit 1
fi
for t in $(seq 1 50); do
	bridge -n "$P-a" link show dev rtap1 | grep -q "state forwarding" && break
	sleep 0.1
done
fail=0
# A just-plugged bridge port can lose the first frames (not what is under test): node 2 sends
# one event at a time until node 1 has one.
for t in $(seq 1 20); do
	probe 2 --originate 1 --size 200 --wait-ms 50 --quiet >/dev/null
	sleep 0.1
	[ "$(stat 1 rx_events_new)" -gt 0 ] 2>/dev/null && break
done
echo "node 1 had node 2's first event after $t one-event frame(s)"
# --- up: traffic both ways
both_ways 5 200 "link up"

# --- down and up on the tap's kernel side
down_up rtap1 200
echo "node 1: $(probe 1 --quiet)"
if [ "$fail" = 0 ]; then
	echo "PASS: net_tap link down/up seen and gossip resumed"
fi
exit $fail
