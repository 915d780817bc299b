#!/usr/bin/python3
"""bench/cluster/ack_latency: one client sending sequentially (each request waits for its reply)
on a local 3-node cluster, per acknowledgment level: p50/p99 of the reply time, and the payload
log's group commit (appends, fdatasyncs, records per fdatasync) from every node's status.
Several builds run in one invocation, alternating, so old and new share the machine's state.
Usage: ack_latency.py --build NAME=DIR[:SRC] [--build ...] [--levels stamped,durable,applied]
                      [--count N] [--rounds R] [--nodes 3] [--out FILE.json]   (root)
SRC is the source tree whose deploy/cluster.sh starts that build (default: this one)."""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster_bench as cb  # noqa: E402


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else None


def run_level(level, count, node):
    api = cb.Api(node, timeout=20.0)
    lat = []
    errors = 0
    try:
        for i in range(count):
            req = {"cmd": "send", "data": "SET lat-%s-%d %d" % (level, i, i), "ids": False}
            if level == "applied":
                req["wait"] = True  # every build knows this spelling
            elif level != "stamped":
                req["ack"] = level
            t0 = time.perf_counter()
            r = api.call(req)
            dt = time.perf_counter() - t0
            if r.get("ok"):
                lat.append(dt * 1e6)
            else:
                errors += 1
    finally:
        api.close()
    return lat, errors


def plog_stats(n):
    out = []
    for i in range(1, n + 1):
        a = cb.Api(i)
        try:
            out.append(a.call({"cmd": "status"}).get("payload_log"))
        finally:
            a.close()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", action="append", required=True)
    ap.add_argument("--levels", default="stamped,durable,applied")
    ap.add_argument("--count", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--out")
    a = ap.parse_args()
    builds = []
    for b in a.build:
        name, path = b.split("=", 1)
        src = cb.TOP
        if ":" in path:
            path, src = path.split(":", 1)
        builds.append((name, os.path.abspath(path), os.path.abspath(src)))
    res = {b[0]: {lv: [] for lv in a.levels.split(",")} for b in builds}
    errs = {b[0]: {lv: 0 for lv in a.levels.split(",")} for b in builds}
    plog = {}
    for rnd in range(a.rounds):
        for name, path, src in builds:
            cb.TOP = src  # that tree's deploy/cluster.sh starts this build (cb.Cluster uses TOP)
            c = cb.Cluster(path, a.nodes)
            try:
                c.up()
                time.sleep(1.0)  # the nodes learn their seq floor
                for lv in a.levels.split(","):
                    lat, e = run_level(lv, a.count, 1 + rnd % a.nodes)
                    res[name][lv] += lat
                    errs[name][lv] += e
                    cb.log("%s round %d %-8s p50 %7.0f us  p99 %7.0f us  (%d ok, %d errors)" % (
                        name, rnd, lv, pct(lat, 0.5) or -1, pct(lat, 0.99) or -1, len(lat), e))
                try:
                    plog.setdefault(name, []).append(plog_stats(a.nodes))
                except Exception as ex:  # an old build has no payload log
                    plog.setdefault(name, []).append(str(ex))
            finally:
                c.stop()
    print("\nbuild     level     n      p50_us   p99_us  errors")
    summary = {}
    for name in res:
        for lv, lat in res[name].items():
            p50, p99 = pct(lat, 0.5), pct(lat, 0.99)
            summary.setdefault(name, {})[lv] = {"n": len(lat), "p50_us": p50, "p99_us": p99,
                                                "errors": errs[name][lv]}
            print("%-9s %-9s %-6d %8s %8s  %d" % (name, lv, len(lat),
                                                 "%.0f" % p50 if p50 else "-",
                                                 "%.0f" % p99 if p99 else "-", errs[name][lv]))
    for name, runs in plog.items():
        for r in runs:
            if isinstance(r, list):
                for i, s in enumerate(r, 1):
                    if s:
                        print("%s node %d payload log: %d appends, %d fdatasyncs, <= %d records "
                              "per fdatasync" % (name, i, s["appends"], s["fsyncs"],
                                                 s["fsync_records_max"]))
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"summary": summary, "payload_log": plog, "count": a.count,
                       "rounds": a.rounds, "nodes": a.nodes}, f, indent=1)


if __name__ == "__main__":
    main()
