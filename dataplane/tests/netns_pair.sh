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
