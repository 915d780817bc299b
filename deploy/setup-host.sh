#!/usr/bin/env bash
# Prepares a Debian 12 host for rumor (as root): installs the Debian packages the build, tests
# and demo need, reserves 2 MiB hugepages and mounts hugetlbfs. Idempotent; says what it changes.
# Usage: deploy/setup-host.sh [--hugepages N]   (default 1024 pages = 2 GiB)
set -euo pipefail

pages=1024
while (($#)); do
	case "$1" in
	--hugepages) pages=$2; shift 2 ;;
	*) echo "setup-host: unknown argument $1" >&2; exit 2 ;;
	esac
done

if ((EUID != 0)); then
	echo "setup-host: run as root (installs packages, reserves hugepages)" >&2
	exit 1
fi

packages=(
	build-essential pkg-config meson ninja-build clang libclang-rt-14-dev
	dpdk dpdk-dev libdpdk-dev liburing-dev libxxhash-dev libcmocka-dev libbenchmark-dev
	libraft-dev libinih-dev libjansson-dev
	iproute2 iputils-ping procps psmisc python3 python3-matplotlib
	fuse3 python3-pyfuse3
	libmicrohttpd-dev prometheus curl   # rumor-cp's /metrics; promtool and curl for tests/metrics.sh
	python3-jsonschema   # tests/rumorctl_schema.py (a built-in checker stands in without it)
	tshark   # tests/dissector.sh; its debconf question (capture as non-root?) takes the default "no" under DEBIAN_FRONTEND=noninteractive
	devscripts debhelper lintian debootstrap ansible   # tests/package.sh (.deb build, lintian, Debian 12 root), tests/ansible*.sh
	libssl-dev openssl   # control-link TLS 1.3 (controlplane/io/cp_tls.c); deploy/make-certs.sh
	libipsec-mb-dev   # gossip frame MACs, AES-256-GMAC (common/rumor_auth.c)
)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "setup-host: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
else
	echo "setup-host: all ${#packages[@]} packages present"
fi

nr=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
have=$(cat "$nr")
if ((have < pages)); then
	echo "$pages" >"$nr"
	have=$(cat "$nr")
	echo "setup-host: reserved 2 MiB hugepages: now $have (asked $pages) in $nr"
	if ((have < pages / 2)); then
		echo "setup-host: could only reserve $have hugepages; DPDK tests need at least $((pages / 2))" >&2
		exit 1
	fi
else
	echo "setup-host: $have hugepages of 2 MiB already reserved"
fi
if ! grep -qs ' /dev/hugepages hugetlbfs ' /proc/mounts; then
	mkdir -p /dev/hugepages
	mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages
	echo "setup-host: mounted hugetlbfs on /dev/hugepages"
fi
