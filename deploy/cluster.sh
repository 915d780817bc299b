#!/usr/bin/env bash
# Local rumor cluster on network namespaces (root). Each node gets its own namespace with two
# veths: a data one (rumor-dp drives it through DPDK's af_packet PMD; the kernel keeps no address
# on it) and a control one (kernel TCP for rumor-cp's Raft and reports). The peers of both sit on
# two bridges inside one hub namespace, so nothing touches the host's own network.
#
#   cluster.sh up [N]            create N nodes (default 3), write the config, start everything
#   cluster.sh stop              stop all processes and delete everything it created
#   cluster.sh status            processes and namespaces
#   cluster.sh kill ID           kill -9 both processes of node ID
#   cluster.sh killall           kill -9 every process of every node in one kill (a crash)
#   cluster.sh restart ID        (re)start node ID's processes
#   cluster.sh add ID            create and start a new node (it joins as a follower)
#   cluster.sh partition A,B/C,D cut every link between the groups (data and control); more
#                                groups with more slashes, unnamed nodes join the first
#   cluster.sh heal              remove all partitions and tc rules
#   cluster.sh netem ID ARGS...  tc netem on node ID's data link, e.g. `netem 2 loss 20%`
#   cluster.sh exec ID CMD...    run CMD inside node ID's namespace
# Environment: RUMOR_DP_MEM (MiB of hugepages per rumor-dp, default 96), RUMOR_DP_RING (frames in
# each af_packet ring, default 4096: the PMD's 512 overflow when a loaded host deschedules
# rumor-dp for 20 ms at 25,000 frames/s, and the kernel drops uncounted), RUMOR_NS (namespace
# prefix, default rumor), RUMOR_RUN (run dir, default /run/rumor-cluster), RUMOR_BUILD (build dir,
# default ./build), RUMOR_CONF_EXTRA (lines appended to the generated [gossip] section),
# RUMOR_RAFT_EXTRA (lines appended to the [raft] section, e.g. snapshot_threshold = 64),
# RUMOR_PIN=1 (pin node i to core (i-1) mod nproc instead of letting lcore 0 float),
# RUMOR_STORAGE_EXTRA (lines appended to the [storage] section, e.g. min_free_mb = 32),
# RUMOR_DATA (the nodes' data dirs, default $RUMOR_RUN/data: e.g. on a power-loss file system).
# RUMOR_METRICS=1: each rumor-cp serves Prometheus /metrics on its control IP, port 9464
# (metrics_listen in its --node-config).
# Control links are TLS: certificates from deploy/make-certs.sh in $RUMOR_RUN/tls, each node's
# --node-config in $RUMOR_RUN/node-N.conf; RUMOR_INSECURE=1 writes insecure = true instead;
# RUMOR_NODE_EXTRA: lines appended to every node's --node-config (e.g. api_group = rumor).
# Gossip frames: [auth] keyring = $RUMOR_RUN/gossip.keys (RUMOR_GOSSIP_INSECURE=1: none).
# RUMOR_WORKERS=N (1..8): [dataplane] workers = N, N floating EAL lcores and an af_packet queue
# pair each for rumor-dp (gossip authenticated as with one worker, unless insecure as above).
# RUMOR_MTU=M (576..9000): [gossip] mtu = M, the data veths' MTU, and af_packet frames that
# hold one; above 4000 also 256 MiB of hugepages per rumor-dp unless RUMOR_DP_MEM says (its
# message pool's objects hold an event of that MTU: 106 MiB at 9000).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
run=${RUMOR_RUN:-/run/rumor-cluster}
build=${RUMOR_BUILD:-$top/build}
pfx=${RUMOR_NS:-rumor}   # namespace prefix: tests use their own so a demo can keep running
hub=$pfx-hub
workers=${RUMOR_WORKERS:-1}
[[ $workers =~ ^[1-8]$ ]] || { echo "cluster.sh: RUMOR_WORKERS=$workers: want 1..8" >&2; exit 2; }
conf=$run/rumor.conf
data=${RUMOR_DATA:-$run/data}

ns() { echo "$pfx-n$1"; }
mac() { printf '02:52:00:00:00:%02x' "$1"; }
data_ip() { echo "10.77.0.$1"; }
ctl_ip() { echo "10.78.0.$1"; }

die() { echo "cluster: $*" >&2; exit 1; }
need_root() { ((EUID == 0)) || die "run as root (network namespaces, hugepages)"; }

nodes() { # ids of nodes that exist
	ip netns list 2>/dev/null | sed -n "s/^$pfx-n\([0-9]\+\).*/\1/p" | sort -n
}

make_hub() {
	ip netns list | grep -qw "$hub" && return 0
	ip netns add "$hub"
	ip -n "$hub" link set lo up
	for br in brdata brctl; do
		ip -n "$hub" link add "$br" type bridge
		ip -n "$hub" link set "$br" type bridge stp_state 0 forward_delay 0
		ip -n "$hub" link set "$br" up
	done
}

make_node() { # id
	local id=$1 n; n=$(ns "$1")
	ip netns list | grep -qw "$n" && return 0
	ip netns add "$n"
	ip -n "$n" link set lo up
	ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	# data link: MAC fixed to the config's, no kernel address
	ip link add "d$id" netns "$n" type veth peer name "d$id-h" netns "$hub"
	if [[ -n ${RUMOR_MTU:-} ]]; then
		ip -n "$n" link set "d$id" mtu "$RUMOR_MTU"
		ip -n "$hub" link set "d$id-h" mtu "$RUMOR_MTU"
	fi
	ip -n "$n" link set "d$id" address "$(mac "$id")" up
	ip -n "$hub" link set "d$id-h" master brdata up
	# control link: kernel TCP
	ip link add "c$id" netns "$n" type veth peer name "c$id-h" netns "$hub"
	ip -n "$n" addr add "$(ctl_ip "$id")/24" dev "c$id"
	ip -n "$n" link set "c$id" up
	ip -n "$hub" link set "c$id-h" master brctl up
}

# Gossip frames are authenticated with a keyring made once per run dir (kept across restarts
# and added nodes); RUMOR_INSECURE=1 or RUMOR_GOSSIP_INSECURE=1: insecure = true instead.
auth_section() {
	echo "[auth]"
	if [[ ${RUMOR_INSECURE:-0} == 1 || ${RUMOR_GOSSIP_INSECURE:-0} == 1 ]]; then
		echo "insecure = true"
		return
	fi
	if [[ ! -s $run/gossip.keys ]]; then
		(umask 077; printf '# gossip keyring: <key id> <32 bytes hex>\n1 %s\n' \
			"$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" >"$run/gossip.keys")
	fi
	echo "keyring = $run/gossip.keys"; echo "use = 1"
}

write_config() { # ids...
	mkdir -p "$run"
	{
		echo "# generated by deploy/cluster.sh $(date -u +%FT%TZ)"
		echo "[cluster]"; echo "id = 7001"; echo "name = local"
		echo "[gossip]"; echo "fanout = ${RUMOR_FANOUT:-2}"; echo "rounds = ${RUMOR_ROUNDS:-3}"
		[[ -n ${RUMOR_MTU:-} ]] && echo "mtu = $RUMOR_MTU"
		[[ -n ${RUMOR_CONF_EXTRA:-} ]] && printf '%b\n' "$RUMOR_CONF_EXTRA"
		echo "[raft]"; echo "election_timeout_ms = 1000"; echo "heartbeat_ms = 100"
		[[ -n ${RUMOR_RAFT_EXTRA:-} ]] && printf '%b\n' "$RUMOR_RAFT_EXTRA"
		echo "[storage]"; echo "dir = $data"; echo "api_socket = $run/node-%n.sock"
		[[ -n ${RUMOR_STORAGE_EXTRA:-} ]] && printf '%b\n' "$RUMOR_STORAGE_EXTRA"
		echo "[dataplane]"; echo "store_slots = 16384"; echo "workers = $workers"
		auth_section
		for id in "$@"; do
			echo "[node.$id]"
			echo "mac = $(mac "$id")"; echo "ip = $(data_ip "$id")"
			echo "control = $(ctl_ip "$id"):7100"
			if ((id <= ${RUMOR_VOTERS:-5})); then echo "voter = true"; else echo "voter = false"; fi
		done
	} >"$conf"
}

node_conf() { # id: write node id's --node-config (TLS files, or insecure), print its path
	local f=$run/node-$1.conf
	if [[ ${RUMOR_INSECURE:-0} == 1 ]]; then
		printf '[control]\ninsecure = true\n' >"$f"
	else
		"$top/deploy/make-certs.sh" "$run/tls" "$1" >&2
		printf '[control]\ntls_cert = %s\ntls_key = %s\ntls_ca = %s\n' "$run/tls/node-$1.crt" \
			"$run/tls/node-$1.key" "$run/tls/ca.crt" >"$f"
	fi
	[[ -n ${RUMOR_NODE_EXTRA:-} ]] && printf '%b\n' "$RUMOR_NODE_EXTRA" >>"$f"
	[[ ${RUMOR_METRICS:-0} == 1 ]] && echo "metrics_listen = $(ctl_ip "$1"):9464" >>"$f"
	echo "$f"
}

start_node() { # id [extra rumor-cp args]
	local id=$1 n lcore; n=$(ns "$id"); shift
	# More nodes than cores share them: pinning node i to core (i-1) mod nproc leaves one core
	# with more nodes than another (3 nodes on 2 cores: 2 and 1), so by default lcore 0 floats
	# over every core and the kernel balances. RUMOR_PIN=1 pins as a real deployment does.
	if [[ ${RUMOR_PIN:-0} == 1 ]]; then
		lcore=(-l $(( (id - 1) % $(nproc) )))
	else
		lcore=(--lcores "0@(0-$(( $(nproc) - 1 )))")
	fi
	# the dataplane's workers 1.. float like lcore 0 (pinned or not: a test box has 2 cores)
	local dp_lcore=("${lcore[@]}") qpairs="" w
	if ((workers > 1)); then
		dp_lcore=(--lcores "$(for ((w = 0; w < workers; w++)); do
			((w)) && printf ,; printf '%d@(0-%d)' "$w" $(($(nproc) - 1)); done)")
		qpairs=",qpairs=$workers"
	fi
	mkdir -p "$run/log" "$data" "$data/node-$id"
	local dpl=$run/log/dp-$id.log cpl=$run/log/cp-$id.log dp0 cp0
	dp0=0; cp0=0
	[[ -f $dpl ]] && dp0=$(wc -l <"$dpl")
	[[ -f $cpl ]] && cp0=$(wc -l <"$cpl")
	# jumbo: a tpacket frame holds a whole 9014-byte frame, and the message pool is larger
	local afp="" mem=${RUMOR_DP_MEM:-96}
	if [[ -n ${RUMOR_MTU:-} ]] && ((RUMOR_MTU > 1500)); then
		local fsz=$(( (RUMOR_MTU + 18 + 64 + 1023) / 1024 * 1024 ))
		afp=",framesz=$fsz,blocksz=$((4 * fsz))" # blocksz: a multiple of framesz
		((RUMOR_MTU > 4000)) && mem=${RUMOR_DP_MEM:-256}
	fi
	setsid ip netns exec "$n" "$build/dataplane/rumor-dp" "${dp_lcore[@]}" --file-prefix "$n" \
		--no-pci -m "$mem" --vdev "net_af_packet0,iface=d$id,framecnt=${RUMOR_DP_RING:-4096}$qpairs$afp" --log-level=lib.eal:warning \
		-- --config "$conf" --node "$id" --state-dir "$data/node-$id" >>"$run/log/dp-$id.log" 2>&1 &
	echo $! >"$run/dp-$id.pid"
	# the controlplane attaches to the dataplane's shared memory: wait for its rings
	for _ in $(seq 100); do
		tail -n +$((dp0 + 1)) "$dpl" 2>/dev/null | grep -q "rumor-dp: .*ready" && break
		kill -0 "$(cat "$run/dp-$id.pid")" 2>/dev/null || die "rumor-dp of node $id exited: $(tail -3 "$run/log/dp-$id.log")"
		sleep 0.1
	done
	setsid ip netns exec "$n" "$build/controlplane/rumor-cp" "${lcore[@]}" --proc-type=secondary --no-pci \
		--file-prefix "$n" --log-level=lib.eal:warning \
		-- --config "$conf" --node "$id" --node-config "$(node_conf "$id")" "$@" \
		>>"$run/log/cp-$id.log" 2>&1 &
	echo $! >"$run/cp-$id.pid"
	for _ in $(seq 100); do
		[[ -S $run/node-$id.sock ]] && tail -n +$((cp0 + 1)) "$cpl" 2>/dev/null | grep -q "rumor-cp: ready" && return 0
		kill -0 "$(cat "$run/cp-$id.pid")" 2>/dev/null || die "rumor-cp of node $id exited: $(tail -3 "$run/log/cp-$id.log")"
		sleep 0.1
	done
	die "rumor-cp of node $id not ready after 10 s: $(tail -3 "$run/log/cp-$id.log")"
}

kill_node() { # id [signal]
	local id=$1 sig=${2:-KILL} f
	for f in "$run/cp-$id.pid" "$run/dp-$id.pid"; do
		[[ -f $f ]] || continue
		kill -"$sig" "$(cat "$f")" 2>/dev/null || true
		rm -f "$f"
	done
}

# every rumor-dp and rumor-cp of every node gets SIGKILL from one kill(1): none outlives another
kill_all() {
	local f pids=()
	for f in "$run"/dp-*.pid "$run"/cp-*.pid; do [[ -f $f ]] && pids+=("$(cat "$f")"); done
	((${#pids[@]})) && kill -KILL "${pids[@]}" 2>/dev/null || true
	rm -f "$run"/dp-*.pid "$run"/cp-*.pid
}

cmd_up() {
	local count=${1:-3} id
	((count >= 1 && count <= 16)) || die "node count must be 1..16"
	[[ -x $build/dataplane/rumor-dp && -x $build/controlplane/rumor-cp ]] ||
		die "no binaries in $build (build first: meson setup build && ninja -C build)"
	make_hub
	for id in $(seq "$count"); do make_node "$id"; done
	write_config $(seq "$count")
	for id in $(seq "$count"); do start_node "$id"; done
	echo "cluster: $count nodes up; config $conf; logs $run/log"
}

cmd_stop() {
	local id
	for f in "$run"/*.pid; do [[ -f $f ]] && { kill -TERM "$(cat "$f")" 2>/dev/null || true; }; done
	sleep 0.5
	for id in $(nodes); do
		kill_node "$id" KILL
		# whatever else still runs in the namespace (a pid file lost to an earlier crash)
		ip netns pids "$(ns "$id")" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
	done
	rm -f "$run"/node-*.sock
	for id in $(nodes); do ip netns del "$(ns "$id")" 2>/dev/null || true; done
	ip netns del "$hub" 2>/dev/null || true
	# DPDK leaves per-prefix runtime dirs and hugepage files behind after kill -9
	rm -rf /var/run/dpdk/"$pfx"-n* /dev/hugepages/"$pfx"-n*
	echo "cluster: stopped"
}

cmd_status() {
	local id p
	for id in $(nodes); do
		for p in dp cp; do
			if [[ -f $run/$p-$id.pid ]] && kill -0 "$(cat "$run/$p-$id.pid")" 2>/dev/null; then
				printf 'node %-3s %s running (pid %s)\n' "$id" "$p" "$(cat "$run/$p-$id.pid")"
			else
				printf 'node %-3s %s down\n' "$id" "$p"
			fi
		done
	done
}

# A partition moves the hub-side ports of every group after the first onto bridges of its own
# (brdata2/brctl2, brdata3/brctl3, ...): no frame or segment crosses between groups, and it
# needs nothing from tc (this machine's kernel has neither flower nor sch_netem). Nodes not
# named stay with the first group.
cmd_partition() {
	local spec=$1 g=1 grp id
	[[ $spec == */* ]] || die "partition A,B/C,D[/E...]"
	cmd_heal >/dev/null
	IFS=/ read -ra groups <<<"$spec"
	for grp in "${groups[@]}"; do
		for id in ${grp//,/ }; do
			ip netns list | grep -qw "$(ns "$id")" || die "no node $id"
		done
		if ((g > 1)); then
			for br in "brdata$g" "brctl$g"; do
				ip -n "$hub" link add "$br" type bridge
				ip -n "$hub" link set "$br" type bridge stp_state 0 forward_delay 0
				ip -n "$hub" link set "$br" up
			done
			for id in ${grp//,/ }; do
				ip -n "$hub" link set "d$id-h" master "brdata$g"
				ip -n "$hub" link set "c$id-h" master "brctl$g"
			done
		fi
		g=$((g + 1))
	done
	echo "cluster: partitioned ${spec//\// | }"
}

cmd_heal() {
	local id br
	for id in $(nodes); do
		ip -n "$hub" link set "d$id-h" master brdata 2>/dev/null || true
		ip -n "$hub" link set "c$id-h" master brctl 2>/dev/null || true
		for dev in "d$id-h" "c$id-h"; do
			ip netns exec "$hub" tc qdisc del dev "$dev" root 2>/dev/null || true
		done
		ip netns exec "$(ns "$id")" tc qdisc del dev "d$id" root 2>/dev/null || true
	done
	for br in $(ip -n "$hub" -o link show type bridge 2>/dev/null | sed -n 's/^[0-9]*: \(br\(data\|ctl\)[0-9]\+\)[:@].*/\1/p'); do
		ip -n "$hub" link del "$br"
	done
	echo "cluster: healed"
}

cmd_netem() { # id args...
	local id=$1; shift
	if ! ip netns exec "$(ns "$id")" tc qdisc replace dev "d$id" root netem "$@" 2>/dev/null; then
		die "tc netem failed on node $id: this kernel may lack sch_netem (tests/cluster_loss.sh drops by tbf overflow instead)"
	fi
}

need_root
verb=${1:-}; shift || true
case "$verb" in
up) cmd_up "$@" ;;
stop) cmd_stop ;;
status) cmd_status ;;
kill) kill_node "${1:?node id}" KILL ;;
killall) kill_all ;;
restart) kill_node "${1:?node id}" KILL; sleep 0.3; start_node "$1" ;;
add) # a new node starts empty (--join: no bootstrap), then the leader adds it
	make_node "${1:?node id}"
	write_config $(nodes)
	start_node "$1" --join
	ctl=$build/tools/rumorctl
	for _ in $(seq 50); do
		for id in $(nodes); do
			[[ $id == "$1" ]] && continue
			if RUMOR_RUN=$run "$ctl" -n "$id" add "$1" ${RUMOR_ADD_ROLE:-} >/dev/null 2>&1; then
				echo "cluster: node $1 added through node $id"; exit 0
			fi
		done
		sleep 0.2
	done
	die "no leader accepted node $1" ;;
partition) cmd_partition "${1:?A,B/C,D}" ;;
heal) cmd_heal ;;
netem) cmd_netem "${1:?node id}" "${@:2}" ;;
exec) id=${1:?node id}; shift; ip netns exec "$(ns "$id")" "$@" ;;
*) sed -n '2,24p' "$0"; exit 2 ;;
esac
