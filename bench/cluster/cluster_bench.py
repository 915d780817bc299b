#!/usr/bin/python3
"""bench/cluster: end-to-end figures on a local deploy/cluster.sh cluster (network namespaces,
af_packet data links): ordered events/s and send->applied latency with rumor-load on every node
at once, and the time one event takes to reach every node (gossip) and be ordered everywhere.
Usage: cluster_bench.py --build BUILD [--out DIR] [--quick] [--nodes 3,5] [--sizes 64,1024]
                        [--spread 4,8,16] [--trials K]   (root; writes cluster.json, cluster.png)"""
import argparse
import json
import math
import os
import selectors
import signal
import socket
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NS = os.environ.get("RUMOR_NS", "rbn")
RUN = os.environ.get("RUMOR_RUN", "/tmp/rbn")
DP_MB = 96  # what deploy/cluster.sh gives each rumor-dp (-m 96)


def log(msg):
    print("cluster: " + msg, flush=True)


class Api:
    """One JSON-lines connection to a node's rumor-cp API socket."""

    def __init__(self, node, timeout=5.0):
        self.node = node
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(os.path.join(RUN, "node-%d.sock" % node))
        self.buf = b""

    def send(self, obj):
        self.s.sendall((json.dumps(obj) + "\n").encode())

    def lines(self):
        """Lines already readable (non-blocking after a select said so)."""
        data = self.s.recv(1 << 20)
        if not data:
            raise EOFError("node %d closed its API socket" % self.node)
        self.buf += data
        out = []
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            out.append(json.loads(line))
        return out

    def call(self, obj):
        self.send(obj)
        while True:
            while b"\n" not in self.buf:
                data = self.s.recv(1 << 20)
                if not data:
                    raise EOFError("node %d closed its API socket" % self.node)
                self.buf += data
            line, self.buf = self.buf.split(b"\n", 1)
            r = json.loads(line)
            if "stream" not in r:
                return r

    def close(self):
        self.s.close()


class Cluster:
    def __init__(self, build, n, gossip=None):
        self.build, self.n = build, n
        self.env = dict(os.environ, RUMOR_NS=NS, RUMOR_RUN=RUN, RUMOR_BUILD=build)
        if gossip:
            self.env["RUMOR_FANOUT"], self.env["RUMOR_ROUNDS"] = (str(x) for x in gossip)
        self.script = os.path.join(TOP, "deploy/cluster.sh")
        self.note = None

    def sh(self, *args, check=True, timeout=300):
        return subprocess.run(["bash", self.script] + list(args), env=self.env, check=check,
                              capture_output=True, text=True, timeout=timeout)

    def up(self):
        self.stop()
        subprocess.run(["rm", "-rf", RUN])
        # cluster.sh (set -o pipefail) stops at `cat LOG | wc -l` when a log does not exist yet
        os.makedirs(os.path.join(RUN, "log"), exist_ok=True)
        for i in range(1, self.n + 1):
            for p in ("dp", "cp"):
                open(os.path.join(RUN, "log", "%s-%d.log" % (p, i)), "a").close()
        free = int(open("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages").read())
        need = self.n * DP_MB // 2 + 16
        force = int(os.environ.get("RUMOR_BENCH_DP_MB", 0))  # e.g. 24 to fit 16 nodes
        if free < need or force:
            # the machine is shared: other users hold hugepages. Run a private copy of
            # cluster.sh giving each rumor-dp less memory rather than failing.
            mb = force or max(24, (free - 16) * 2 // self.n // 2 * 2)
            self.note = "rumor-dp -m %d instead of -m %d (only %d free 2 MiB pages)" % (
                mb, DP_MB, free)
            log(self.note)
            src = open(os.path.join(TOP, "deploy/cluster.sh")).read()
            os.makedirs(RUN, exist_ok=True)
            self.script = os.path.join(RUN, "..", "rbn-cluster.sh")
            self.script = os.path.abspath(self.script)
            with open(self.script, "w") as f:
                f.write(src.replace('top=$(cd "$(dirname "$0")/.." && pwd)',
                                    'top=%s' % TOP).replace("-m 96", "-m %d" % mb))
        r = self.sh("up", str(self.n), check=False, timeout=600)
        if r.returncode:
            raise RuntimeError("cluster.sh up %d failed: %s" % (self.n, (r.stdout + r.stderr)[-800:]))
        self.wait_leader()

    def wait_leader(self, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            try:
                leaders = set()
                for i in range(1, self.n + 1):
                    a = Api(i)
                    st = a.call({"cmd": "status"})
                    a.close()
                    leaders.add(st.get("leader") or 0)
                if len(leaders) == 1 and 0 not in leaders:
                    return
            except (OSError, EOFError, ValueError):
                pass
            time.sleep(0.3)
        raise RuntimeError("no common leader on %d nodes after %d s" % (self.n, timeout))

    def stop(self):
        self.sh("stop", check=False)
        if self.script != os.path.join(TOP, "deploy/cluster.sh"):
            os.unlink(self.script)
            self.script = os.path.join(TOP, "deploy/cluster.sh")


def load_bin(build):
    return os.path.join(build, "tools/rumor-load")


def throughput(build, n, size, events, batch, pipeline, timeout, rate=0):
    """rumor-load on every node at once (@rate: events/s cap of each, 0: as fast as it can);
    returns the summed figures and each node's JSON."""
    env = dict(os.environ, RUMOR_RUN=RUN)
    procs = []
    t0 = time.monotonic()
    for i in range(1, n + 1):
        cmd = [load_bin(build), "-n", str(i), "--events", str(events), "--size", str(size),
               "--batch", str(batch), "--pipeline", str(pipeline), "--wait-applied", "--json", "--timeout", str(timeout)]
        if rate:
            cmd += ["--rate", "%.0f" % rate]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    outs = []
    for p in procs:
        try:
            outs.append(p.communicate(timeout=timeout + 120))
        except subprocess.TimeoutExpired:
            p.kill()
            outs.append(p.communicate())
    per, bad = [], []
    for i, (p, (out, err)) in enumerate(zip(procs, outs), 1):
        js = [l for l in out.splitlines() if l.startswith("{")]
        # exit 1 = some events lost: still a measurement, reported as "lost"
        if p.returncode not in (0, 1) or not js:
            bad.append("rumor-load -n %d exited %d: %s" % (i, p.returncode,
                                                          (out + err)[-300:].strip()))
        if js:
            per.append(json.loads(js[-1]))
    if bad and not per:
        raise RuntimeError("; ".join(bad))
    wall = time.monotonic() - t0
    applied = sum(r.get("applied", 0) for r in per)
    lat = [r.get("latency_ms", {}) for r in per]
    p50 = [x["p50"] * 1e3 for x in lat if "p50" in x]
    p99 = [x["p99"] * 1e3 for x in lat if "p99" in x]
    return {"nodes": n, "payload_bytes": size, "events_per_node": events, "batch": batch,
            "pipeline": pipeline, "load_nodes": n,
            # each rumor-load sees its own events applied: the sum is the cluster's rate
            "ordered_events_per_s": round(sum(r.get("applied_per_s", 0) for r in per)),
            "sent_events_per_s": round(sum(r.get("sent_per_s", 0) for r in per)),
            "ordered_events_per_s_wall": round(applied / wall) if wall else None,
            # every event applied on its origin / the slowest loader's send->last-applied time
            "ordered_events_per_s_cluster": round(applied / max(r.get("elapsed_s", 0)
                                                                for r in per))
            if per and max(r.get("elapsed_s", 0) for r in per) > 0 else None,
            "applied": applied, "lost": sum(r.get("lost", 0) for r in per),
            "skipped": sum(r.get("skipped", 0) for r in per),
            "latency_p50_us_median": round(median(p50), 1) if p50 else None,
            "latency_p50_us_max": round(max(p50), 1) if p50 else None,
            "latency_p99_us_max": round(max(p99), 1) if p99 else None,
            "load_errors": bad, "per_node": per}


# ---------------------------------------------------------------- latency under load

def trial_rate(run):
    return run.get("ordered_events_per_s_cluster") or 0


def median_trial(runs):
    """The run of median rate: a noisy shared box makes single runs unreliable."""
    return sorted(runs, key=trial_rate)[len(runs) // 2]


def load_curve(build, n, size, fractions, seconds, batch, pipeline, timeout, trials):
    """Issue 15: send->applied latency against offered load on one cluster. First the maximum
    (@trials unpaced throughput runs, median), then every node offers @fractions of it (each
    node 1/n of the cluster's rate, rumor-load --rate) for about @seconds; per point the
    offered and ordered rates and p50 (median of the nodes) / p99 (worst node)."""
    runs = [throughput(build, n, size, 100000, batch, pipeline, timeout) for _ in range(trials)]
    mx = trial_rate(median_trial(runs))
    log("  load curve, %d nodes, %d B: maximum %d ordered events/s (median of %s)"
        % (n, size, mx, [trial_rate(x) for x in runs]))
    points = []
    for f in fractions:
        per_node = f * mx / n
        events = max(1000, int(per_node * seconds))
        r = throughput(build, n, size, events, batch, pipeline, timeout, rate=per_node)
        pt = {"fraction": f, "offered_events_per_s": round(per_node * n),
              "ordered_events_per_s": r.get("ordered_events_per_s_cluster"),
              "p50_us": r["latency_p50_us_median"], "p99_us": r["latency_p99_us_max"],
              "lost": r["lost"], "load_errors": r["load_errors"]}
        log("  offered %3.0f %% (%d/s): ordered %s/s, p50 %s us, p99 %s us, lost %d"
            % (100 * f, pt["offered_events_per_s"], pt["ordered_events_per_s"], pt["p50_us"],
               pt["p99_us"], pt["lost"]))
        points.append(pt)
    half = min(points, key=lambda p: abs(p["fraction"] - 0.5)) if points else None
    return {"nodes": n, "payload_bytes": size, "seconds_per_point": seconds,
            "max_ordered_events_per_s": mx, "max_trial_rates": [trial_rate(x) for x in runs],
            "points": points,
            # the goal: at half of the maximum load, p99 <= 20 ms
            "p99_us_at_half": half["p99_us"] if half else None,
            "p99_at_half_goal_us": 20000}


def plot_load_curve(lc, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    pts = [p for p in lc["points"] if p["p50_us"] is not None]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    x = [100 * p["fraction"] for p in pts]
    ax.plot(x, [p["p50_us"] / 1e3 for p in pts], "o-", label="p50 (median of nodes)")
    ax.plot(x, [p["p99_us"] / 1e3 for p in pts], "s--", label="p99 (worst node)")
    ax.axhline(lc["p99_at_half_goal_us"] / 1e3, ls=":", color="grey",
               label="goal: p99 <= 20 ms at 50 %")
    ax.set_yscale("log")
    ax.set_xlabel("offered load, %% of the measured maximum (%d ordered events/s)"
                  % lc["max_ordered_events_per_s"])
    ax.set_ylabel("send -> applied latency (ms)")
    ax.set_title("latency under load: %d nodes, %d B events, all nodes sending, %d cores"
                 % (lc["nodes"], lc["payload_bytes"], os.cpu_count()), fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


# ---------------------------------------------------------------- latency at the floor

def pctl(xs, p):
    xs = sorted(x for x in xs if x is not None)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else None


def floor_fdatasync(count):
    """pwrite 256 B + fdatasync into a preallocated file on the data dir's disk (what the
    payload log's group commit pays at least once per event): microseconds each."""
    d = os.path.join(RUN, "data")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "floor-fdatasync")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    lat = []
    try:
        os.posix_fallocate(fd, 0, count * 4096)
        os.fsync(fd)
        buf = b"f" * 256
        for i in range(count):
            t0 = time.perf_counter()
            os.pwrite(fd, buf, i * 4096)
            os.fdatasync(fd)
            lat.append((time.perf_counter() - t0) * 1e6)
    finally:
        os.close(fd)
        os.unlink(path)
    return lat


ECHO = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1); print("ready", flush=True)
c, _ = s.accept(); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
while True:
    d = c.recv(64)
    if not d:
        break
    c.sendall(d)
"""

PING = """
import socket, sys, time, json
c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
lat = []
for i in range(int(sys.argv[3])):
    t0 = time.perf_counter(); c.sendall(b"p" * 64); got = 0
    while got < 64:
        got += len(c.recv(64 - got))
    lat.append((time.perf_counter() - t0) * 1e6)
print(json.dumps(lat))
"""


def floor_rtt(count, a=1, b=2):
    """TCP round trip of 64 B between two nodes' namespaces over the control network (the
    path reports, Raft and DURABLE take), from Python like the latency client: microseconds."""
    ns = lambda i: "%s-n%d" % (NS, i)
    ip = "10.78.0.%d" % b
    srv = subprocess.Popen(["ip", "netns", "exec", ns(b), sys.executable, "-c", ECHO, ip, "7999"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        srv.stdout.readline()
        r = subprocess.run(["ip", "netns", "exec", ns(a), sys.executable, "-c", PING, ip, "7999",
                            str(count)], capture_output=True, text=True, timeout=60)
        return json.loads(r.stdout) if r.returncode == 0 else []
    finally:
        srv.kill()
        srv.wait()


def seq_latency(node, count, wait=True):
    """One client, `send --wait` one after another on @node: microseconds each."""
    api = Api(node, timeout=20.0)
    lat, errors = [], 0
    try:
        for i in range(count):
            req = {"cmd": "send", "data": "SET seq-%d %d" % (i, i), "ids": False}
            if wait:
                req["wait"] = True
            t0 = time.perf_counter()
            r = api.call(req)
            dt = (time.perf_counter() - t0) * 1e6
            if r.get("ok"):
                lat.append(dt)
            else:
                errors += 1
    finally:
        api.close()
    return lat, errors


def leader_of(n):
    a = Api(1)
    try:
        return a.call({"cmd": "status"}).get("leader")
    finally:
        a.close()


def latency_rounds(builds, n, rounds, count, size, events, batch, pipeline, timeout, out):
    """The latency goal with its floor, builds alternating round by round on fresh clusters
    (old and new share the machine's state): per round and build, the floor (fdatasync on the
    data dir's disk, TCP round trip between two namespaces), one client's sequential
    `send --wait` on a follower and on the leader, then one throughput run (rumor-load on
    every node). Returns per build the medians and spreads over the rounds."""
    global TOP
    per = {name: [] for name, _, _ in builds}
    for rnd in range(rounds):
        for name, path, src in builds:
            TOP = src  # that tree's deploy/cluster.sh starts that build
            c = Cluster(path, n)
            row = {"round": rnd}
            try:
                c.up()
                time.sleep(1.0)  # seq floors known, first batches applied
                fs = floor_fdatasync(count)
                rtt = floor_rtt(count)
                row["fdatasync_us"] = {"p50": pctl(fs, .5), "p99": pctl(fs, .99)}
                row["rtt_us"] = {"p50": pctl(rtt, .5), "p99": pctl(rtt, .99)}
                row["floor_us"] = row["fdatasync_us"]["p50"] + 2 * row["rtt_us"]["p50"] \
                    if fs and rtt else None
                leader = leader_of(n)
                follower = 1 if leader != 1 else 2
                lat_all = []
                for role, node in (("follower", follower), ("leader", leader)):
                    lat, err = seq_latency(node, count)
                    lat_all += lat
                    row[role] = {"node": node, "p50": pctl(lat, .5), "p99": pctl(lat, .99),
                                 "errors": err}
                row["seq_p50_us"] = pctl(lat_all, .5)
                row["seq_p99_us"] = pctl(lat_all, .99)
                if row["floor_us"]:
                    row["seq_p50_over_floor"] = row["seq_p50_us"] / row["floor_us"]
                if events:
                    tp = throughput(path, n, size, events, batch, pipeline, timeout)
                    row["throughput"] = tp.get("ordered_events_per_s_cluster")
                    row["throughput_lost"] = tp["lost"]
                log("%s round %d: floor %.0f us (fdatasync p50 %.0f, rtt p50 %.0f), send --wait "
                    "p50 %.0f p99 %.0f us (%.1fx floor; follower p50 %.0f, leader p50 %.0f), "
                    "%s ordered events/s" % (
                        name, rnd, row["floor_us"] or -1, row["fdatasync_us"]["p50"] or -1,
                        row["rtt_us"]["p50"] or -1, row["seq_p50_us"] or -1,
                        row["seq_p99_us"] or -1, row.get("seq_p50_over_floor", -1),
                        row["follower"]["p50"] or -1, row["leader"]["p50"] or -1,
                        row.get("throughput")))
            except (RuntimeError, OSError, EOFError, ValueError,
                    subprocess.TimeoutExpired) as e:
                log("%s round %d failed: %s" % (name, rnd, e))
                row["error"] = str(e)[:600]
            finally:
                c.stop()
            per[name].append(row)
    res = {}
    for name, rows in per.items():
        ok = [r for r in rows if "error" not in r]
        def agg(key, sub=None):
            xs = [r[key][sub] if sub else r.get(key) for r in ok
                  if (r.get(key) if not sub else r.get(key, {}).get(sub)) is not None]
            return {"median": median(xs), "min": min(xs), "max": max(xs), "runs": len(xs)} \
                if xs else None
        res[name] = {"nodes": n, "count": count, "rounds": len(ok),
                     "seq_p50_us": agg("seq_p50_us"), "seq_p99_us": agg("seq_p99_us"),
                     "follower_p50_us": agg("follower", "p50"),
                     "leader_p50_us": agg("leader", "p50"),
                     "fdatasync_p50_us": agg("fdatasync_us", "p50"),
                     "fdatasync_p99_us": agg("fdatasync_us", "p99"),
                     "rtt_p50_us": agg("rtt_us", "p50"), "rtt_p99_us": agg("rtt_us", "p99"),
                     "floor_us": agg("floor_us"), "seq_p50_over_floor": agg("seq_p50_over_floor"),
                     "throughput": agg("throughput"), "payload_bytes": size,
                     "lost": sum(r.get("throughput_lost", 0) for r in ok), "runs": rows}
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
    return res


def spread_once(n, tag, timeout=10.0):
    """Send one event on node 1 with a gossip watcher on every node; seconds until each node's
    controlplane saw it arrive (gossip) and applied it (ordered)."""
    apis = [Api(i) for i in range(1, n + 1)]
    try:
        for a in apis:
            r = a.call({"cmd": "watch", "gossip": True})
            if not r.get("ok"):
                raise RuntimeError("watch refused on node %d: %s" % (a.node, r))
        sel = selectors.DefaultSelector()
        for a in apis:
            a.s.setblocking(False)
            sel.register(a.s, selectors.EVENT_READ, a)
        seen = {"gossip": {}, "ordered": {}}
        sender = Api(1)
        t0 = time.monotonic()
        sender.send({"cmd": "send", "data": tag})
        end = t0 + timeout
        while time.monotonic() < end and len(seen["ordered"]) < n:
            for key, _ in sel.select(timeout=0.05):
                a = key.data
                now = time.monotonic()
                for m in a.lines():
                    ev = m.get("event") or {}
                    if ev.get("data") == tag and m.get("stream") in seen:
                        seen[m["stream"]].setdefault(a.node, now - t0)
        sender.close()
        # the origin gets no gossip copy of its own event: it holds it from the send on
        store = dict(seen["gossip"])
        store.setdefault(1, 0.0)
        return {"reached": len(store), "ordered": len(seen["ordered"]),
                "store_all_ms": max(store.values()) * 1e3 if len(store) == n else None,
                "ordered_all_ms": max(seen["ordered"].values()) * 1e3
                if len(seen["ordered"]) == n else None,
                "store_ms": {str(k): round(v * 1e3, 3) for k, v in sorted(store.items())}}
    finally:
        for a in apis:
            a.close()


def spread_gossip(n):
    """(fanout, rounds) for the dissemination runs. Each node forwards once (dedupe), so with
    fanout f a fraction p = 1 - exp(-f p) of the nodes is reached (f = 2: 80%, the throughput
    runs' setting, which leaves the rest to pulls); reaching all n takes f about ln n + 2
    (the classic ln n + c of epidemic broadcast), and rounds enough for f^r >= n."""
    f = min(n - 1, int(math.ceil(math.log(n))) + 2)
    r = 2
    while f ** r < n:
        r += 1
    return f, r + 1


def spread_tag(n, t):
    """The dissemination event's payload: unique per run, one fixed length (figure ids name
    the payload size, so it must not vary with the pid)."""
    return "spread-%02d-%02d-%07d" % (n, t, os.getpid() % 10000000)


def rnd(x):
    return None if x is None else round(x, 3)


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    return xs[len(xs) // 2] if xs else None


def plot(res, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(13, 4))
    tp = [r for r in res["throughput"] if "error" not in r]
    for size in sorted({r["payload_bytes"] for r in tp}):
        rs = sorted([r for r in tp if r["payload_bytes"] == size], key=lambda r: r["nodes"])
        a1.plot([r["nodes"] for r in rs],
                [r.get("ordered_events_per_s_cluster") or r["ordered_events_per_s"] for r in rs],
                "o-", label="%d B" % size)
        a2.plot([r["nodes"] for r in rs], [r["latency_p50_us_median"] or 0 for r in rs], "o-",
                label="p50 %d B" % size)
        a2.plot([r["nodes"] for r in rs], [r["latency_p99_us_max"] or 0 for r in rs], "s--",
                label="p99 %d B" % size)
    a1.axhline(200000, ls=":", color="grey", label="target 200k")
    a1.set_xlabel("nodes")
    a1.set_ylabel("ordered events/s (all nodes sending)")
    a1.legend(fontsize=8)
    a2.set_xlabel("nodes")
    a2.set_ylabel("send -> applied latency (us)")
    a2.set_yscale("log")
    a2.legend(fontsize=8)
    sp = [r for r in res["spread"] if r.get("store_all_ms_median") is not None]
    a3.plot([r["nodes"] for r in sp], [r["store_all_ms_median"] for r in sp], "o-",
            label="in every event store")
    a3.plot([r["nodes"] for r in sp], [r["ordered_all_ms_median"] or 0 for r in sp], "s--",
            label="ordered everywhere")
    a3.set_xlabel("nodes")
    a3.set_ylabel("ms after send (median)")
    a3.legend(fontsize=8)
    fig.suptitle("rumor cluster on network namespaces (af_packet), %d cores shared"
                 % os.cpu_count())
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    # a SIGTERM (timeout, Ctrl-C of the parent) must still run the finally: cluster.sh stop
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--out", default=".")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--nodes", default="3,5")
    ap.add_argument("--sizes", default="64,1024")
    ap.add_argument("--spread", default="4,8,16")
    ap.add_argument("--trials", type=int, default=0)
    ap.add_argument("--events", type=int, default=0, help="events per node per load run")
    # events per send request and requests in flight per node: batching is how clients reach
    # throughput (one ORIGINATE carries up to ~4000 bytes of events)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--pipeline", type=int, default=4)
    ap.add_argument("--load-timeout", type=int, default=0)
    ap.add_argument("--tp-trials", type=int, default=0,
                    help="load runs per cluster size and payload (median kept; 3, quick 1)")
    ap.add_argument("--no-load", action="store_true", help="skip the rumor-load part")
    ap.add_argument("--latency-rounds", type=int, default=-1,
                    help="rounds of floor + sequential send --wait + one throughput run on "
                    "3 nodes (default 5, quick 2; 0 skips)")
    ap.add_argument("--latency-count", type=int, default=0, help="sends per role and round")
    ap.add_argument("--load-curve", default=None, metavar="FRACTIONS",
                    help="offered loads of the latency-under-load curve on 3 nodes, 64 B, as "
                    "fractions of the measured maximum (default 0.1,0.2,..,1.0; quick "
                    "0.25,0.5,1.0; 'none' skips)")
    ap.add_argument("--compare", action="append", default=[], metavar="NAME=DIR[:SRC]",
                    help="another build (SRC: the tree whose deploy/cluster.sh starts it) "
                    "alternating with --build in the latency rounds")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    def events_for(size):
        # long enough that start-up and the last batch's latency do not dominate
        return a.events or (3000 if a.quick else (100000 if size <= 256 else 20000))
    a.load_timeout = a.load_timeout or (30 if a.quick else 90)
    trials = a.trials or (3 if a.quick else 10)
    a.tp_trials = a.tp_trials or (1 if a.quick else 3)
    res = {"conditions": {"transport": "af_packet on veth pairs through a bridge, one network "
                          "namespace per node (deploy/cluster.sh)", "hugepages": "2 MiB",
                          "fanout": int(os.environ.get("RUMOR_FANOUT", 2)),
                          "rounds": int(os.environ.get("RUMOR_ROUNDS", 3)),
                          "cores": os.cpu_count(), "batch": a.batch, "pipeline": a.pipeline,
                          "lcore": "lcore 0 of every rumor-dp and rumor-cp floats over all cores (cluster.sh default; RUMOR_PIN=1 pins)"},
           "throughput": [], "spread": []}
    os.makedirs(a.out, exist_ok=True)
    have_load = os.access(load_bin(build), os.X_OK) and not a.no_load
    if not have_load:
        res["throughput_missing"] = ("--no-load" if a.no_load else "no %s" % load_bin(build)) + \
            ": load stage skipped"
        log(res["throughput_missing"])
    sizes = [int(x) for x in a.sizes.split(",") if x]
    # a fresh cluster for every load run: one failing run must not poison the next
    todo = [("tp", int(n), sz) for n in a.nodes.split(",") if n and have_load for sz in sizes] + \
           [("spread", int(n), None) for n in a.spread.split(",") if n]
    if a.latency_rounds < 0:
        a.latency_rounds = 2 if a.quick else 5
    if a.latency_rounds:
        builds = [("this", build, TOP)]
        for x in a.compare:
            name, path = x.split("=", 1)
            src = TOP
            if ":" in path:
                path, src = path.split(":", 1)
            builds.append((name, os.path.abspath(path), os.path.abspath(src)))
        top0 = TOP
        res["latency"] = latency_rounds(
            builds, 3, a.latency_rounds, a.latency_count or (100 if a.quick else 300), 64,
            events_for(64) if have_load else 0, a.batch, a.pipeline, a.load_timeout,
            os.path.join(a.out, "latency.json"))
        globals()["TOP"] = top0
    if a.load_curve is None:
        a.load_curve = "0.25,0.5,1.0" if a.quick else ",".join("%.1f" % (i / 10)
                                                               for i in range(1, 11))
    if have_load and a.load_curve != "none":
        c = Cluster(build, 3)
        try:
            log("3 nodes up for the latency-under-load curve ...")
            c.up()
            res["load_curve"] = load_curve(
                build, 3, 64, [float(x) for x in a.load_curve.split(",") if x],
                2 if a.quick else 5, a.batch, a.pipeline, a.load_timeout, a.tp_trials)
            try:
                plot_load_curve(res["load_curve"], os.path.join(a.out, "load_curve.png"))
            except ImportError:
                log("matplotlib missing: no load_curve.png")
        except (RuntimeError, OSError, EOFError, ValueError, subprocess.TimeoutExpired) as e:
            log("load curve failed: %s" % e)
            res["load_curve"] = {"error": str(e)[:600]}
        finally:
            c.stop()
    for kind, n, size in todo:
        # one event must be able to reach every store by gossip alone: see spread_gossip
        gossip = spread_gossip(n) if kind == "spread" else None
        c = Cluster(build, n, gossip)
        try:
            log("%d nodes up ..." % n)
            c.up()
            if kind == "tp":
                events = events_for(size)
                log("%d nodes: rumor-load on each node, %d events of %d B, batch %d, "
                    "pipeline %d" % (n, events, size, a.batch, a.pipeline))
                # runs of a second or two are noisy on a shared 2-core box: repeat on the
                # same cluster and keep the median run (every run's rate is kept too)
                runs = [throughput(build, n, size, events, a.batch, a.pipeline, a.load_timeout)
                        for _ in range(a.tp_trials)]
                r = median_trial(runs)
                r["trials"] = len(runs)
                r["trial_rates"] = [trial_rate(x) for x in runs]
                r["lost"] = sum(x["lost"] for x in runs)
                r["load_errors"] = [e for x in runs for e in x["load_errors"]]
                if c.note:
                    r["note"] = c.note
                log("  %s ordered events/s cluster-wide, median of %s (sum of per-node rates %d, "
                    "sent %d/s), p50 %s us, p99 %s us, lost %d" % (
                    r["ordered_events_per_s_cluster"], r["trial_rates"], r["ordered_events_per_s"],
                    r["sent_events_per_s"],
                    r["latency_p50_us_median"], r["latency_p99_us_max"], r["lost"]))
                res["throughput"].append(r)
                if r["lost"] or r["load_errors"] or (r["latency_p99_us_max"] or 0) > 5e6:
                    # keep the evidence of a bad run: the cluster's logs go away at stop
                    keep = os.path.join(a.out, "logs", "%dn-%dB" % (n, size))
                    subprocess.run(["rm", "-rf", keep])
                    os.makedirs(os.path.dirname(keep), exist_ok=True)
                    subprocess.run(["cp", "-r", os.path.join(RUN, "log"), keep])
                    log("  kept this run's cluster logs in %s" % keep)
            else:
                runs = []
                for t in range(trials):
                    runs.append(spread_once(n, spread_tag(n, t)))
                    time.sleep(0.2)
                r = {"nodes": n, "payload_bytes": len(spread_tag(n, 0)),
                     "trials": trials, "fanout": gossip[0], "rounds": gossip[1],
                     "store_all_ms_median": rnd(median(x["store_all_ms"] for x in runs)),
                     "store_all_ms_max": rnd(max((x["store_all_ms"] for x in runs
                                                  if x["store_all_ms"] is not None),
                                                 default=None)),
                     "ordered_all_ms_median": rnd(median(x["ordered_all_ms"] for x in runs)),
                     "incomplete": sum(1 for x in runs if x["store_all_ms"] is None),
                     "runs": runs}
                if c.note:
                    r["note"] = c.note
                log("  one event in all %d event stores: median %s ms, ordered everywhere %s ms"
                    % (n, r["store_all_ms_median"], r["ordered_all_ms_median"]))
                res["spread"].append(r)
        except (RuntimeError, OSError, EOFError, ValueError, subprocess.TimeoutExpired) as e:
            log("%d nodes failed: %s" % (n, e))
            err = {"nodes": n, "error": str(e)[:600]}
            if size:
                err["payload_bytes"] = size
            res["spread" if kind == "spread" else "throughput"].append(err)
        finally:
            c.stop()
    with open(os.path.join(a.out, "cluster.json"), "w") as f:
        json.dump(res, f, indent=1)
    try:
        plot(res, os.path.join(a.out, "cluster.png"))
    except ImportError:
        log("matplotlib missing: no PNG")
    return 0


if __name__ == "__main__":
    sys.exit(main())
