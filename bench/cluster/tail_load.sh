#!/usr/bin/env bash
# bench/cluster/tail_load.sh: the tail of send->applied latency at a steady offered load, on a
# fresh 3-node cluster: every node runs `rumor-load --rate RATE --lat-out` for SECONDS; prints
# p50/p99/p99.9/max over all events of all nodes, the same for the events applied after the
# first second (the start's transient left out), and the 100 ms windows whose worst event
# exceeded 20 ms (a stall on every node at once shows as one window in all three files).
# usage (root): tail_load.sh BUILD [RATE per node, 13000] [SECONDS, 12]
#   BUILD: a build dir with dataplane/, controlplane/, tools/; the cluster is started by the
#   deploy/cluster.sh of this tree (SRC=TREE for another, e.g. an old commit's worktree).
#   Alternate two builds run by run to compare them on the same machine state.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: tail_load.sh BUILD [RATE] [SECONDS]}" && pwd)
rate=${2:-13000} secs=${3:-12}
src=${SRC:-$here/../..}
export RUMOR_NS=${RUMOR_NS:-rtl} RUMOR_RUN=${RUMOR_RUN:-/run/rumor-tl} RUMOR_BUILD=$build
out=$(mktemp -d /tmp/tail-load.XXXXXX)
ctl() { "$build/tools/rumorctl" --json -s "$RUMOR_RUN/node-$1.sock" "${@:2}"; }
stop() { bash "$src/deploy/cluster.sh" stop >/dev/null 2>&1; }
trap 'stop; rm -rf "$out"' EXIT

stop
rm -rf "$RUMOR_RUN"
bash "$src/deploy/cluster.sh" up 3 >"$out/up.log" 2>&1 || { tail "$out/up.log" >&2; exit 1; }
for _ in $(seq 60); do
	leaders=$(for i in 1 2 3; do ctl "$i" status 2>/dev/null | grep -o '"leader": *[1-9]'; done |
		sort -u | wc -l)
	[ "$leaders" = 1 ] && [ -n "$(ctl 1 status 2>/dev/null | grep -o '"leader": *[1-9]')" ] && break
	sleep 0.5
done
for i in 1 2 3; do
	"$build/tools/rumor-load" -n "$i" --events $((rate * secs)) --size 64 --rate "$rate" \
		--wait-applied --json --timeout 60 --lat-out "$out/lat-$i.txt" >"$out/load-$i.json" 2>&1 &
done
wait
python3 - "$out" <<'PY'
import glob, json, sys
lat, pts, lost = [], [], 0
for f in sorted(glob.glob(sys.argv[1] + '/lat-*.txt')):
    t0 = 0.0
    for line in open(f):
        if line.startswith('#'):
            t0 = float(line.split()[2])  # "# t0_ms T": the loader's start (CLOCK_MONOTONIC)
            continue
        t, d = map(float, line.split())
        lat.append(d)
        pts.append((t0 + t + d, d))
for f in sorted(glob.glob(sys.argv[1] + '/load-*.json')):
    try:
        lost += json.load(open(f)).get('lost', 0)
    except ValueError:
        print('loader output not JSON:', f, open(f).read()[:200], file=sys.stderr)
        sys.exit(1)
if not lat:
    sys.exit('no event applied')
lat.sort()
n = len(lat)
p = lambda q: lat[min(n - 1, int(q * n))]
print('events %d lost %d p50 %.2f p99 %.2f p999 %.2f max %.1f ms' %
      (n, lost, p(.5), p(.99), p(.999), lat[-1]))
tmin = min(a for a, _ in pts)
# the first second holds the start's transient (connections, first segments, warm-up)
steady = sorted(d for a, d in pts if a - tmin >= 1000)
if steady:
    m = len(steady)
    q = lambda x: steady[min(m - 1, int(x * m))]
    print('after 1 s: events %d p50 %.2f p99 %.2f p999 %.2f max %.1f ms' %
          (m, q(.5), q(.99), q(.999), steady[-1]))
win = {}
for a, d in pts:
    k = int((a - tmin) // 100)
    win[k] = max(win.get(k, 0), d)
print('windows over 20 ms:', ' '.join('%.1fs:%.0f' % (k / 10, v)
                                      for k, v in sorted(win.items()) if v > 20) or 'none')
sys.exit(1 if lost else 0)
PY
