#!/usr/bin/env bash
# The whole test suite, as README.md documents it: prepares the host (packages, hugepages),
# builds rumor plainly and with ASan+UBSan, runs every meson test suite in both, then the
# bounded libFuzzer runs with clang. Exit status is non-zero if anything failed.
# Usage (root): bash tests/run-all.sh [--quick | --long]
#   --quick: plain build only, no fuzz
#   --long:  the long modes as well: 30 rounds of each whole-cluster crash and power-loss test
#            (10 by default), 3000 simulator seeds (1000), 10x the fuzz executions
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
quick=0
long=()
fuzz_long=()
case ${1:-} in
--quick) quick=1 ;;
--long)
	long=(-Dcrash_rounds=30 -Dsim_seeds=3000)
	fuzz_long=(-Dfuzz_runs=10000000)
	;;
"") ;;
*) echo "usage: $0 [--quick | --long]" >&2; exit 2 ;;
esac

stage() { printf '\n=== %s (%s)\n' "$1" "$(date +%T)"; }

stage "host setup"
bash deploy/setup-host.sh

jobs=$(nproc)
out=${RUMOR_TEST_OUT:-$top/build-test}
failed=()

run_build() { # name, extra meson args...
	local dir=$out/$1; shift
	stage "configure $(basename "$dir") $*"
	if [[ ! -f $dir/build.ninja ]]; then
		meson setup "$dir" "$top" "$@" >/dev/null
	else # a build dir of an earlier run: its options as asked now (--long or not)
		meson configure "$dir" "$@" >/dev/null
	fi
	stage "build $(basename "$dir")"
	ninja -C "$dir" -j "$jobs"
}

failed_logs=()
run_tests() { # dir, label, meson test args...
	local dir=$out/$1 label=$2; shift 2
	stage "test $label"
	if ! meson test -C "$dir" --print-errorlogs --num-processes "$jobs" "$@"; then
		failed+=("$label")
		failed_logs+=("$dir/meson-logs/testlog.json")
	fi
}

# The failing tests by name, each with the end of its output, so the last screen of a CI
# log says what broke without scrolling back through the whole run.
report_failures() { # testlog.json...
	python3 - "$@" <<'PY'
import json, sys
for path in sys.argv[1:]:
    for line in open(path):
        t = json.loads(line)
        if t["result"] in ("OK", "EXPECTEDFAIL", "SKIP"):
            continue
        print(f"--- {t['name']}: {t['result']} after {t['duration']:.0f} s")
        out = (t.get("stdout") or "") + (t.get("stderr") or "")
        for l in out.splitlines()[-25:]:
            print("    " + l)
PY
}

run_build plain --buildtype=debugoptimized -Dcrash_rounds=10 -Dsim_seeds=1000 ${long[@]+"${long[@]}"}
run_tests plain "plain: all suites" --no-suite fuzz

if ((!quick)); then
	# ASan+UBSan run the same unit suites; the multi-process suites run DPDK primaries and
	# secondaries, where ASan's shadow memory collides with DPDK's fixed hugepage mapping.
	# the simulator: 100 seeds here (ASan is ~5x slower), 1000 in the plain stage
	run_build asan --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false -Dsim_seeds=100
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		run_tests asan "asan+ubsan: unit suites" --no-suite fuzz --no-suite cluster

	CC=clang CXX=clang++ run_build fuzz --buildtype=debugoptimized -Dfuzz=true -Ddataplane=disabled \
		-Dbench=false -Dtests=disabled -Dfuzz_runs=1000000 ${fuzz_long[@]+"${fuzz_long[@]}"}
	run_tests fuzz "fuzz: bounded libFuzzer runs" --suite fuzz
fi

stage "summary"
if ((${#failed[@]})); then
	report_failures "${failed_logs[@]}" || true
	echo "FAILED: ${failed[*]}"
	exit 1
fi
echo "all test stages passed"
