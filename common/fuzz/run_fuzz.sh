#!/bin/sh
# Runs one libFuzzer target for a bounded number of executions on a temporary copy of its
# seed corpus (the repo is never written), then prints the execution count.
# usage: run_fuzz.sh TARGET CORPUS_DIR RUNS [libFuzzer options...]
set -eu
target=$1
corpus=$2
runs=$3
shift 3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rumor-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir "$tmp/corpus" "$tmp/artifacts"
cp "$corpus"/* "$tmp/corpus/"
start=$(date +%s)
rc=0
"$target" -runs="$runs" -seed=1 -print_final_stats=1 -artifact_prefix="$tmp/artifacts/" \
	"$@" "$tmp/corpus" >"$tmp/log" 2>&1 || rc=$?
end=$(date +%s)
if [ "$rc" -ne 0 ]; then
	tail -n 60 "$tmp/log"
	for a in "$tmp"/artifacts/*; do
		[ -e "$a" ] && { echo "crash input (hex):"; od -An -tx1 "$a" | head -n 40; }
	done
	echo "$(basename "$target"): FAILED (exit $rc) after $((end - start)) s"
	exit 1
fi
grep -E '^(Done [0-9]+ runs|stat::number_of_executed_units|INFO: Seed)' "$tmp/log" || true
execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$tmp/log")
echo "$(basename "$target"): ${execs:-?} executions, no finding, $((end - start)) s"
[ "${execs:-0}" -ge "$runs" ] || { echo "fewer executions than asked"; exit 1; }
