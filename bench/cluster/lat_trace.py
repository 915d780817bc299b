#!/usr/bin/python3
"""bench/cluster/lat_trace: where one sequential `send --wait` spends its time on a local
cluster. A watcher (gossip + ordered streams) on every node, then COUNT sends one after another
on one node; per event: when each node's controlplane got the frame from its dataplane, when
each node applied it, when the reply came (all from the sender's clock, microseconds).
Usage: lat_trace.py --build DIR [--src TREE] [--nodes 3] [--count 200] [--origin 1|leader|follower]
                    [--perf SECONDS]   (root; prints medians; --perf records `perf record -a -g`)"""
import argparse
import os
import selectors
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster_bench as cb  # noqa: E402


def pct(xs, p):
    xs = sorted(x for x in xs if x is not None)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else None


def trace(n, origin, count, tag):
    apis = [cb.Api(i) for i in range(1, n + 1)]
    for a in apis:
        r = a.call({"cmd": "watch", "gossip": True})
        if not r.get("ok"):
            raise RuntimeError("watch refused on node %d" % a.node)
        a.s.setblocking(False)
    sel = selectors.DefaultSelector()
    for a in apis:
        sel.register(a.s, selectors.EVENT_READ, a)
    sender = cb.Api(origin, timeout=10)
    sender.s.setblocking(False)
    sel.register(sender.s, selectors.EVENT_READ, sender)
    rows = []
    for i in range(count):
        data = "SET %s-%d %d" % (tag, i, i)
        seen = {"gossip": {}, "ordered": {}}
        t0 = time.perf_counter()
        sender.send({"cmd": "send", "data": data, "wait": True, "ids": False})
        reply = None
        while reply is None or len(seen["ordered"]) < n:
            if time.perf_counter() - t0 > 10:
                break
            for key, _ in sel.select(timeout=0.5):
                a = key.data
                now = time.perf_counter()
                for m in a.lines():
                    if a is sender:
                        if "stream" not in m:
                            reply = now - t0
                        continue
                    ev = m.get("event") or {}
                    if ev.get("data") == data and m.get("stream") in seen:
                        seen[m["stream"]].setdefault(a.node, now - t0)
        rows.append({"reply": reply, "gossip": seen["gossip"], "ordered": seen["ordered"]})
    for a in apis + [sender]:
        a.close()
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--src", default=cb.TOP)
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--origin", default="follower")
    ap.add_argument("--perf", type=float, default=0)
    ap.add_argument("--perf-out", default="/tmp/lat_trace.perf.data")
    a = ap.parse_args()
    cb.TOP = os.path.abspath(a.src)
    c = cb.Cluster(os.path.abspath(a.build), a.nodes)
    try:
        c.up()
        time.sleep(1.0)
        st = cb.Api(1).call({"cmd": "status"})
        leader = st.get("leader")
        if a.origin == "leader":
            origin = leader
        elif a.origin == "follower":
            origin = 1 if leader != 1 else 2
        else:
            origin = int(a.origin)
        perf = None
        if a.perf:
            perf = subprocess.Popen(["perf", "record", "-a", "-g", "-o", a.perf_out, "--",
                                     "sleep", str(a.perf)], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
        rows = trace(a.nodes, origin, a.count, "tr%d" % os.getpid())
        if perf:
            perf.wait()
    finally:
        c.stop()
    us = lambda x: "%7.0f" % (x * 1e6) if x is not None else "      -"
    print("origin node %s, leader node %s, %d sends" % (origin, leader, len(rows)))
    print("%-34s %8s %8s" % ("step (time after the send)", "p50_us", "p99_us"))
    print("%-34s %s %s" % ("reply (applied on the origin)", us(pct([r["reply"] for r in rows], .5)),
                           us(pct([r["reply"] for r in rows], .99))))
    for i in range(1, a.nodes + 1):
        if i != origin:
            g = [r["gossip"].get(i) for r in rows]
            print("%-34s %s %s" % ("frame at node %d's controlplane" % i, us(pct(g, .5)),
                                   us(pct(g, .99))))
    for i in range(1, a.nodes + 1):
        o = [r["ordered"].get(i) for r in rows]
        print("%-34s %s %s" % ("applied on node %d%s" % (i, " (leader)" if i == leader else ""),
                               us(pct(o, .5)), us(pct(o, .99))))


if __name__ == "__main__":
    main()
