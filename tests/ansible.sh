#!/usr/bin/env bash
# deploy/ansible for real on this machine (suite 'package'): 3 local "hosts", each a network
# namespace (data veth for DPDK af_packet, control veth with an IP, both on bridges in a hub
# namespace) with its own Debian 12 root; Ansible reaches each over ssh, its ProxyCommand running
# `sshd -i` inside the host's namespace and chroot. site.yml installs the .deb and starts the
# nodes (rumor_init = direct: no systemd in a chroot), the cluster orders events from every
# node, then rolling-upgrade.yml installs a newer .deb host by host under load from every node,
# and every acknowledged event must be in every node's ordered log (tests/check_order.py).
# Usage (root): bash tests/ansible.sh [SOURCE_ROOT]   (77: skipped)
# Env: RUMOR_DEBS=DIR reuses built .debs; RUMOR_TEST_CACHE (/var/cache/rumor-test);
#      RUMOR_NS (namespace prefix, default rans); RUMOR_ANSIBLE_KEEP=1 keeps the work dir.
set -euo pipefail
src=$(cd "${1:-$(dirname "$0")/..}" && pwd)
if [[ -z ${RUMOR_LOCKED:-} ]]; then # one cluster run at a time; daemons must not inherit the lock
	RUMOR_LOCKED=1 exec flock -o /tmp/rumor-cluster.lock "$0" "$@"
fi
cache=${RUMOR_TEST_CACHE:-/var/cache/rumor-test}
pfx=${RUMOR_NS:-rans}
hub=$pfx-hub
nodes=(1 2 3)
t0=$(date +%s)
say() { printf '[ansible %4ds] %s\n' $(($(date +%s) - t0)) "$*"; }
fail() { say "FAIL: $*"; exit 1; }

((EUID == 0)) || { echo "ansible: needs root (namespaces, chroots); skipped"; exit 77; }
for tool in ansible-playbook dpkg-buildpackage debootstrap ssh ssh-keygen ip python3; do
	command -v "$tool" >/dev/null || { echo "ansible: $tool missing (deploy/setup-host.sh); skipped"; exit 77; }
done
[[ -s $cache/bookworm-minbase-root.tar.gz ]] ||
	bash "$src/tests/package.sh" "$src" >/dev/null || fail "tests/package.sh (it makes the cached Debian 12 root)"

work=$(mktemp -d "${TMPDIR:-/tmp}/rumor-ansible.XXXXXX")
loaders=()
cleanup() {
	local n m
	for p in "${loaders[@]}"; do kill "$p" 2>/dev/null || true; done
	for n in "${nodes[@]}"; do
		ip netns pids "$pfx-h$n" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
	done
	sleep 0.3
	for m in $(findmnt -rn -o TARGET | grep "^$work/" | sort -r); do umount -l "$m" 2>/dev/null || true; done
	for n in "${nodes[@]}"; do ip netns del "$pfx-h$n" 2>/dev/null || true; done
	ip netns del "$hub" 2>/dev/null || true
	rm -rf /dev/hugepages/rumor-[123]map_* 2>/dev/null || true
	if [[ ${RUMOR_ANSIBLE_KEEP:-0} == 1 ]]; then say "kept $work"; else rm -rf --one-file-system "$work"; fi
}
trap cleanup EXIT

# 1. The packages: the tree's, and an "upgrade" (the same files, debian revision +1).
if [[ -n ${RUMOR_DEBS:-} ]]; then
	cp "$RUMOR_DEBS"/rumor_*.deb "$work/"
else
	tb=$(date +%s)
	upstream=$(sed -n '1s/^rumor (\([^-)]*\).*/\1/p' "$src/debian/changelog")
	mkdir -p "$work/rumor-$upstream"
	(cd "$src" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done |
		tar --null -T - -cf -) | tar -xf - -C "$work/rumor-$upstream"
	(cd "$work/rumor-$upstream" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -b -us -uc) \
		>"$work/build.log" 2>&1 || { tail -30 "$work/build.log"; fail dpkg-buildpackage; }
	say "dpkg-buildpackage: $(($(date +%s) - tb)) s"
fi
old=$(ls "$work"/rumor_*.deb | head -1)
v1=$(dpkg-deb -f "$old" Version)
v2=${v1%-*}-$((${v1##*-} + 1))
mkdir -p "$work/repack"
dpkg-deb -R "$old" "$work/repack/x"
sed -i "s/^Version: .*/Version: $v2/" "$work/repack/x/DEBIAN/control"
new=$work/new/rumor_${v2}_amd64.deb
mkdir -p "$work/new"
dpkg-deb -b --root-owner-group "$work/repack/x" "$new" >/dev/null
say "packages: $(basename "$old") ($v1), upgrade $(basename "$new") ($v2)"

# 2. A host image: the cached Debian 12 root plus sshd, python3 (Ansible's modules), sudo, the
# package's dependencies and DPDK's af_packet driver (the hosts have no route to a mirror, and
# no apt lists: the role's apt finds everything installed). Cached, keyed by the dependencies.
img=$cache/bookworm-ansible-host.tar.gz
deps=$(dpkg-deb -f "$old" Depends | tr ',' '\n' | sed 's/[(|].*//; s/ //g' | grep -v '^$' | tr '\n' ' ')
extra="openssh-server python3 python3-apt sudo iproute2 procps librte-net-af-packet23"
stamp=$(echo "$extra $deps" | md5sum | cut -c1-12)
tmpl=$work/template
mkdir -p "$tmpl"
if [[ ! -s $img || $(cat "$img.deps" 2>/dev/null) != "$stamp" ]]; then
	ti=$(date +%s)
	tar -C "$tmpl" -xzf "$cache/bookworm-minbase-root.tar.gz"
	rm -f "$tmpl"/etc/apt/sources.list "$tmpl"/etc/apt/sources.list.d/*
	[[ -f /etc/apt/sources.list ]] && cp /etc/apt/sources.list "$tmpl/etc/apt/"
	for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[[ -f $f ]] && cp "$f" "$tmpl/etc/apt/sources.list.d/"
	done
	apt-config dump | grep -E '^Acquire::(Check-Valid-Until|Check-Date|https?::Proxy) ' \
		>"$tmpl/etc/apt/apt.conf.d/50rumor-test" || true
	printf '#!/bin/sh\nexit 101\n' >"$tmpl/usr/sbin/policy-rc.d"; chmod +x "$tmpl/usr/sbin/policy-rc.d"
	mkdir -p "$cache/apt-archives/partial" "$cache/apt-lists/partial"
	mount -t proc proc "$tmpl/proc"
	mount --bind "$cache/apt-archives" "$tmpl/var/cache/apt/archives"
	mount --bind "$cache/apt-lists" "$tmpl/var/lib/apt/lists"
	# shellcheck disable=SC2086
	chroot "$tmpl" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive sh -c \
		"apt-get update -q && apt-get install -y -q --no-install-recommends $extra $deps && ssh-keygen -A" \
		>"$work/image.log" 2>&1 || { umount "$tmpl/proc" "$tmpl/var/cache/apt/archives" "$tmpl/var/lib/apt/lists"; tail -20 "$work/image.log"; fail "host image"; }
	umount "$tmpl/proc" "$tmpl/var/cache/apt/archives" "$tmpl/var/lib/apt/lists"
	tar -C "$tmpl" -czf "$img.tmp" . && mv "$img.tmp" "$img" && echo "$stamp" >"$img.deps"
	say "host image made in $(($(date +%s) - ti)) s: $img"
	rm -rf --one-file-system "$tmpl"; mkdir -p "$tmpl"
fi

# 3. The hosts: namespace + root + ssh key. Addresses exist only inside these namespaces.
ssh-keygen -q -t ed25519 -N '' -f "$work/id" >/dev/null
ip netns add "$hub"
ip -n "$hub" link set lo up
for br in brdata brctl; do
	ip -n "$hub" link add "$br" type bridge
	ip -n "$hub" link set "$br" type bridge stp_state 0 forward_delay 0
	ip -n "$hub" link set "$br" up
done
for n in "${nodes[@]}"; do
	ns=$pfx-h$n root=$work/h$n
	mkdir -p "$root"
	tar -C "$root" -xzf "$img"
	mkdir -p "$root/root/.ssh" "$root/run/sshd"
	cp "$work/id.pub" "$root/root/.ssh/authorized_keys"
	chmod 700 "$root/root/.ssh"
	mount -t proc proc "$root/proc"
	mount --rbind /sys "$root/sys"
	mount --rbind /dev "$root/dev"
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	ip link add "d$n" netns "$ns" type veth peer name "d$n-h" netns "$hub"
	ip -n "$ns" link set "d$n" address "02:52:00:00:01:0$n" up
	ip -n "$hub" link set "d$n-h" master brdata up
	ip link add "c$n" netns "$ns" type veth peer name "c$n-h" netns "$hub"
	ip -n "$ns" addr add "10.79.0.$n/24" dev "c$n"
	ip -n "$ns" link set "c$n" up
	ip -n "$hub" link set "c$n-h" master brctl up
done
cat >"$work/inventory.yml" <<EOF
all:
  children:
    rumor:
      vars:
        ansible_user: root
        ansible_ssh_private_key_file: $work/id
        rumor_deb: $old
        rumor_tls_dir: $work/tls
        rumor_make_certs: $src/deploy/make-certs.sh
        rumor_init: direct
        rumor_hugepages: 0
        rumor_dp_lcores: "0@(0-$(($(nproc) - 1)))"
        rumor_cp_lcores: "0@(0-$(($(nproc) - 1)))"
        rumor_dp_eal_extra: "-m 96 --log-level=lib.eal:warning"
        rumor_cluster_id: 7002
        rumor_cluster_name: ansible-test
        rumor_gossip: {fanout: 2, rounds: 3}
        rumor_dataplane: {store_slots: 16384}
        rumor_join_timeout: 60
      hosts:
EOF
for n in "${nodes[@]}"; do
	cat >>"$work/inventory.yml" <<EOF
        h$n:
          ansible_host: h$n
          ansible_ssh_common_args: >-
            -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
            -o ProxyCommand="ip netns exec $pfx-h$n chroot $work/h$n /usr/sbin/sshd -i -o LogLevel=ERROR"
          rumor_node_id: $n
          rumor_dp_vdev: "net_af_packet0,iface=d$n"
          rumor_mac: "02:52:00:00:01:0$n"
          rumor_ip: 10.79.1.$n
          rumor_control: "10.79.0.$n:7100"
EOF
done
say "3 hosts: namespaces $pfx-h1..3, roots $work/h1..3, inventory $work/inventory.yml"

export ANSIBLE_CONFIG=$src/deploy/ansible/ansible.cfg ANSIBLE_SSH_CONTROL_PATH_DIR=$work/cp
export ANSIBLE_LOCAL_TEMP=$work/ansible-tmp ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0
play() { # playbook, extra args...
	local pb=$1; shift
	(cd "$src/deploy/ansible" && ansible-playbook -i "$work/inventory.yml" "$pb" "$@") \
		>"$work/$pb.log" 2>&1 && return 0
	grep -E '^(TASK|fatal|failed|FAILED|ERROR|.*UNREACHABLE)|"msg"' "$work/$pb.log" | tail -30
	return 1
}
in_host() { local n=$1; shift; ip netns exec "$pfx-h$n" chroot "$work/h$n" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
status_of() { in_host "$1" rumorctl -s "/run/rumor/node-$1.sock" --json --timeout 2000 status; }

# 4. site.yml: the rollout.
ts=$(date +%s)
play site.yml || fail "site.yml"
grep -E '^PLAY RECAP' -A4 "$work/site.yml.log"
grep -o '"msg": "node [0-9]*: [^"]*"' "$work/site.yml.log" || true
say "site.yml: $(($(date +%s) - ts)) s"
leaders=$(for n in "${nodes[@]}"; do status_of "$n" | python3 -c 'import json,sys; print(json.load(sys.stdin)["leader"])'; done | sort -u)
[[ $(wc -w <<<"$leaders") == 1 && $leaders != 0 ]] || fail "nodes disagree on the leader: $leaders"
for n in "${nodes[@]}"; do # the role's keyring and TLS files are in use
	a=$(status_of "$n" | python3 -c 'import json,sys; print(json.load(sys.stdin)["dataplane"].get("gossip_auth", "on"))')
	[[ $a == on ]] || fail "node $n: gossip_auth $a"
	grep -q '^tls_cert = /etc/rumor/tls/' "$work/h$n/etc/rumor/node-$n.conf" || fail "node $n: no TLS in node-$n.conf"
done

# 5. The cluster orders events from every node.
for n in "${nodes[@]}"; do
	in_host "$n" rumor-load -s "/run/rumor/node-$n.sock" --events 300 --wait-applied --timeout 60 \
		--acked-ids "/tmp/acked-site-$n" --json >"$work/load-site-$n.json" 2>&1 ||
		{ cat "$work/load-site-$n.json"; fail "rumor-load on node $n after site.yml"; }
done
say "after site.yml: 3 x 300 events sent and applied; $(status_of 1 | python3 -c 'import json,sys; d=json.load(sys.stdin); print("leader", d["leader"], "term", d["term"], "applied_gseq", d["applied_gseq"])')"

# 6. Rolling upgrade under load from every node: each loader sends batches until told to stop
# (a batch to a node being restarted fails; what it acknowledged is kept).
touch "$work/loading"
for n in "${nodes[@]}"; do
	(
		k=0
		while [[ -e $work/loading ]]; do
			k=$((k + 1))
			in_host "$n" rumor-load -s "/run/rumor/node-$n.sock" --events 200 --rate 400 --timeout 20 --ack durable \
				--acked-ids "/tmp/acked-up-$k" >>"$work/load-up-$n.log" 2>&1 || sleep 0.5
		done
	) &
	loaders+=($!)
done
sleep 2
tu=$(date +%s)
play rolling-upgrade.yml -e "rumor_deb=$new" || fail "rolling-upgrade.yml"
grep -E '^PLAY RECAP' -A4 "$work/rolling-upgrade.yml.log"
say "rolling-upgrade.yml (serial 1, under load): $(($(date +%s) - tu)) s"
sleep 2
rm -f "$work/loading"
for p in "${loaders[@]}"; do wait "$p" || true; done
loaders=()
grep -o '"msg": "node [0-9]*: [^"]*"' "$work/rolling-upgrade.yml.log" || true
for n in "${nodes[@]}"; do
	got=$(in_host "$n" dpkg-query -W -f '${Version}' rumor)
	[[ $got == "$v2" ]] || fail "node $n runs package $got, want $v2"
	starts=$(grep -c "rumor-dp: .*ready" "$work/h$n/var/log/rumor/dp-$n.log")
	((starts == 2)) || fail "node $n's rumor-dp started $starts times, want 2 (site.yml, one restart)"
done

# 7. Every acknowledged event is in every node's ordered log, in one order.
acked=()
for n in "${nodes[@]}"; do
	for f in "$work/h$n"/tmp/acked-*; do [[ -s $f ]] && acked+=(--acked "$f"); done
done
nacked=$(cat "$work"/h*/tmp/acked-* | wc -l)
for i in $(seq 60); do
	g=$(for n in "${nodes[@]}"; do status_of "$n" | python3 -c 'import json,sys; print(json.load(sys.stdin)["applied_gseq"])'; done | sort -u)
	[[ $(wc -w <<<"$g") == 1 ]] && break
	sleep 1
done
[[ $(wc -w <<<"$g") == 1 ]] || fail "nodes did not converge: applied_gseq $g"
python3 "$src/tests/check_order.py" --same-end --late-start "${acked[@]}" \
	"$work"/h*/var/lib/rumor/node-*/ordered.log || fail "check_order: acknowledged events lost or order broken"
say "PASS: site.yml + rolling upgrade $v1 -> $v2 under load; $nacked acknowledged events, all ordered on every node (applied_gseq $g)"
