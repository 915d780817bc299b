# Shared by the dataplane tests on two namespaces (sourced; the test sets P, WORK, PIDS and
# PROBE): the namespaces and their cleanup, the probe of node 1 (namespace $P-a) or node 2
# ($P-b), its counters, the start-up wait, and traffic both ways. A failed check prints why and
# sets fail=1.
cleanup() {
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	sleep 0.5
	for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
	ip netns del "$P-a" 2>/dev/null
	ip netns del "$P-b" 2>/dev/null
	for i in a b; do rm -rf "/var/run/dpdk/$P-$i"; rm -f /dev/hugepages/$P-${i}map_*; done
	if [ "${KEEP:-0}" = 1 ]; then echo "logs kept in $WORK"; else rm -rf "$WORK"; fi
}
pair_up() { # both namespaces with lo up, or SKIP; 160 free hugepages, or FAIL
	trap cleanup EXIT INT TERM
	if ! ip netns add "$P-a" 2>"$WORK/netns.err"; then
		echo "SKIP: network namespaces unavailable: $(cat "$WORK/netns.err")"
		exit 77
	fi
	local free
	free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
	if [ "${free:-0}" -lt 160 ]; then
		echo "FAIL: need 160 free 2 MiB hugepages, have ${free:-0}"
		exit 1
	fi
	ip netns add "$P-b"
	for ns in "$P-a" "$P-b"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 || true
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 || true
		ip -n "$ns" link set lo up
	done
}
PROBE_EAL="--lcores 0@(0-1) --proc-type=secondary --no-pci --log-level=*:error"
ns_of() { [ "$1" = 1 ] && echo "$P-a" || echo "$P-b"; }
probe() { # node args...
	local ns
	ns=$(ns_of "$1")
	shift
	timeout 30 ip netns exec "$ns" "$PROBE" $PROBE_EAL --file-prefix "$ns" -- "$@"
}
stat() { # node key
	probe "$1" --quiet | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}
drop() { # node index
	probe "$1" --quiet | sed -n 's/.*"drops":\[\([0-9,]*\)\].*/\1/p' | cut -d, -f$(($2 + 1))
}
wait_stat() { # node key want [tries]
	local v
	for t in $(seq 1 "${4:-50}"); do
		v=$(stat "$1" "$2")
		[ "${v:-0}" -ge "$3" ] && return 0
		sleep 0.1
	done
	echo "FAIL: node $1 $2 = ${v:-?}, want >= $3"
	probe "$1" --quiet
	return 1
}
wait_ready() { # nodes...: each rumor-dp's log ($WORK/dpN.log) says ready within 20 s
	for i in "$@"; do
		for t in $(seq 1 200); do
			grep -q ready "$WORK/dp$i.log" && break
			sleep 0.1
		done
		if ! grep -q ready "$WORK/dp$i.log"; then
			echo "FAIL: rumor-dp $i did not start:"
			cat "$WORK/dp$i.log"
			exit 1
		fi
	done
}
both_ways() { # count size what: each node originates count events of size; all reach the other
	local ev1 ev2
	ev1=$(stat 1 rx_events_new)
	ev2=$(stat 2 rx_events_new)
	probe 1 --originate "$1" --size "$2" --wait-ms 50 --quiet >/dev/null
	probe 2 --originate "$1" --size "$2" --wait-ms 50 --quiet >/dev/null
	wait_stat 2 rx_events_new $((ev2 + $1)) || fail=1
	wait_stat 1 rx_events_new $((ev1 + $1)) || fail=1
	echo "$3: node 2 got $(( $(stat 2 rx_events_new) - ev2 ))/$1 of node 1's events," \
		"node 1 got $(( $(stat 1 rx_events_new) - ev1 ))/$1 of node 2's"
}
wait_link() { # want(0/1) what: node 1's link_up becomes want; prints how long it took (not
	# judged: each stat is a probe process of its own, tens of ms, and a loaded box stretches
	# it)
	local t0 t1
	t0=$(date +%s%N)
	for t in $(seq 1 40); do [ "$(stat 1 link_up)" = "$1" ] && break; sleep 0.05; done
	t1=$(date +%s%N)
	echo "node 1 link_up=$(stat 1 link_up) $(( (t1 - t0) / 1000000 )) ms after $2"
}
down_up() { # dev size: node 1's interface dev (in $P-a) down, then up: node 1 shows it, what
	# it originates meanwhile (events of size) is counted as link_down and reaches nobody,
	# and traffic flows both ways again after it
	local ev2 ld ld2
	ip -n "$P-a" link set dev "$1" down
	wait_link 0 "ip link set $1 down"
	if [ "$(stat 1 link_up)" != 0 ] || [ "$(stat 1 link_down_events)" != 1 ]; then
		echo "FAIL: node 1 does not show its link down"
		probe 1 --quiet
		fail=1
	fi
	ev2=$(stat 2 rx_events_new)
	ld=$(drop 1 35)
	probe 1 --originate 3 --size "$2" --wait-ms 200 --quiet >/dev/null
	ld2=$(drop 1 35)
	echo "link down: node 1 link_down_events=$(stat 1 link_down_events), drop link_down" \
		"$ld -> $ld2"
	if [ "${ld2:-0}" -le "${ld:-0}" ]; then
		echo "FAIL: gossip while the link is down was not counted as link_down"
		fail=1
	fi
	sleep 0.3
	if [ "$(stat 2 rx_events_new)" != "$ev2" ]; then
		echo "FAIL: node 2 got events while node 1's link was down"
		fail=1
	fi
	ip -n "$P-a" link set dev "$1" up
	wait_link 1 "ip link set $1 up"
	if [ "$(stat 1 link_up)" != 1 ] || [ "$(stat 1 link_up_events)" != 1 ]; then
		echo "FAIL: node 1 does not show its link up again"
		probe 1 --quiet
		fail=1
	fi
	both_ways 20 "$2" "link up again"
}
