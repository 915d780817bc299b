#!/usr/bin/env bash
# bench/run.sh: the whole rumor benchmark suite in one command: prepares the host (through
# deploy/setup-host.sh only), builds release, runs micro, order, raftio, pktrate and cluster
# benchmarks, writes DIR/results.json, DIR/summary.txt and DIR/*.png, prints the summary.
#   bash bench/run.sh [--quick] [--out DIR] [--build DIR] [--stages a,b] [--no-setup]
#                     [--compare NAME=DIR[:SRC]] [--cluster-args "ARGS"]
# Default DIR: results/run-<UTC time>; default build dir: build-bench. Root (hugepages, netns).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
quick=() out="" build=$top/build-bench stages=() setup=1 extra=()
while (($#)); do
	case "$1" in
	--quick) quick=(--quick); shift ;;
	--out) out=$2; shift 2 ;;
	--build) build=$2; shift 2 ;;
	--stages) stages=(--stages "$2"); shift 2 ;;
	--no-setup) setup=0; shift ;;
	--compare) extra+=(--compare "$2"); shift 2 ;;
	--cluster-args) extra+=(--cluster-args "$2"); shift 2 ;;
	-h | --help) sed -n '2,7p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
out=${out:-$top/results/run-$(date -u +%Y%m%dT%H%M%SZ)}
((EUID == 0)) || { echo "run.sh: run as root (hugepages, network namespaces)" >&2; exit 1; }

step() { echo "[run.sh] $(date -u +%T) $*"; }

if ((setup)); then
	step "host: deploy/setup-host.sh"
	bash "$top/deploy/setup-host.sh"
fi

step "build: release in $build"
if [[ ! -f $build/build.ninja ]]; then
	meson setup "$build" "$top" --buildtype=release >/dev/null
elif [[ $(meson introspect "$build" --buildoptions | /usr/bin/python3 -c \
	'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="buildtype"][0])') != release ]]; then
	meson configure "$build" -Dbuildtype=release >/dev/null
fi
# build everything; if some unrelated target is broken, fall back to the ones the suite needs
if ! nice -n 10 ninja -C "$build" >"$build/bench-build.log" 2>&1; then
	step "build: full build failed (see $build/bench-build.log), building the suite's targets only"
	for t in bench/micro/bench_micro bench/order/bench_order bench/raftio/bench-raftio \
		bench/pktrate/rumor-pktrate dataplane/rumor-dp controlplane/rumor-cp tools/rumorctl \
		tools/rumor-load; do
		nice -n 10 ninja -C "$build" "$t" >>"$build/bench-build.log" 2>&1 ||
			step "build: $t not built (stage using it will fail or skip)"
	done
fi

mkdir -p "$out"
step "run: results into $out"
exec /usr/bin/python3 "$top/bench/run_all.py" --build "$build" --out "$out" \
	${quick[@]+"${quick[@]}"} ${stages[@]+"${stages[@]}"} ${extra[@]+"${extra[@]}"}
