#!/usr/bin/python3
"""bench/run_all.py: runs every rumor benchmark from a release build and gathers the figures into
one folder: results.json (each figure with its conditions), summary.txt, PNG plots.
Normally started by bench/run.sh (which prepares the host and builds first).
Usage: run_all.py --build BUILD --out DIR [--quick] [--stages micro,order,raftio,pktrate,cluster]
       run_all.py --build BUILD --out DIR --reparse   (figures again from DIR/raw, no run)"""
import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
STAGES = ["micro", "order", "raftio", "pktrate", "cluster"]


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    hp = "/sys/kernel/mm/hugepages/hugepages-2048kB/"
    def rd(p):
        try:
            return int(open(hp + p).read())
        except OSError:
            return 0
    try:
        rev = subprocess.run(["git", "-C", TOP, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
    except OSError:
        rev = ""
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) // 1024
    return {"nproc": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
            "mem_mib": mem, "hugepages_2m_total": rd("nr_hugepages"),
            "hugepages_2m_free_at_start": rd("free_hugepages"),
            "loadavg_at_start": open("/proc/loadavg").read().split()[:3],
            "git": rev, "shared": "machine shared with other jobs: absolute figures are noisy"}


class Suite:
    def __init__(self, a):
        self.a = a
        self.build = os.path.abspath(a.build)
        self.out = os.path.abspath(a.out)
        self.raw_dir = os.path.join(self.out, "raw")
        os.makedirs(self.raw_dir, exist_ok=True)
        self.m = machine()
        self.mshort = "%d x %s" % (self.m["nproc"], self.m["cpu_model"])
        self.figures = []
        self.stages = {}

    def fig(self, stage, name, value, unit, better, kind="absolute", **cond):
        """kind "ratio": two things measured side by side in the same run (compare.py checks
        these by default); "absolute": raw speed on a shared machine (checked with --all)."""
        if value is None:
            return
        c = {"machine": self.mshort, "cores": self.m["nproc"]}
        c.update({k: v for k, v in cond.items() if v is not None})
        key = "/".join([stage, name] + ["%s=%s" % (k, cond[k]) for k in sorted(cond)
                                        if cond[k] is not None and k not in ("hugepages",
                                                                             "pmd", "note")])
        self.figures.append({"id": key, "stage": stage, "name": name,
                             "value": round(float(value), 6), "unit": unit, "better": better,
                             "kind": kind, "conditions": c})

    def old_stage(self, stage, key):
        """A stage note from the results.json being re-parsed (--reparse)."""
        try:
            old = json.load(open(os.path.join(self.out, "results.json")))
            return old["stages"][stage].get(key, "?")
        except (OSError, ValueError, KeyError):
            return "?"

    def run(self, cmd, timeout, **kw):
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)

    # ------------------------------------------------------------------ stages
    def gbench(self, stage, exe):
        path = os.path.join(self.build, exe)
        if not os.access(path, os.X_OK) and not self.a.reparse:
            raise RuntimeError("%s not built (libbenchmark-dev missing?)" % path)
        raw = os.path.join(self.raw_dir, stage + ".json")
        if self.a.reparse:
            return json.load(open(raw))
        mt = "0.05" if self.a.quick else "0.3"
        r = self.run(["nice", "-n", "0", path, "--benchmark_format=json",
                      "--benchmark_min_time=" + mt], 1800)
        if r.returncode:
            raise RuntimeError("%s exited %d: %s" % (exe, r.returncode, r.stderr[-500:]))
        open(raw, "w").write(r.stdout)
        return json.loads(r.stdout)

    def stage_micro(self):
        j = self.gbench("micro", "bench/micro/bench_micro")
        by = {}
        for b in j["benchmarks"]:
            if b.get("run_type") != "iteration":
                continue
            by[b["name"]] = b
            self.fig("micro", b["name"], b["cpu_time"], b["time_unit"], "lower",
                     pmd=None, hugepages="no")
            if "items_per_second" in b:
                self.fig("micro", b["name"] + ":items_per_s", b["items_per_second"], "1/s",
                         "higher")
        s, v = by.get("BM_DenseMax/scalar"), by.get("BM_DenseMax/simd")
        if s and v:
            self.fig("micro", "dense_max_simd_speedup", s["cpu_time"] / v["cpu_time"], "x",
                     "higher", "ratio", clock="dense (every node id)")
        d0 = by.get("BM_WireDecode/verify_ids:0")
        for name, b in by.items():
            if name.startswith("BM_WireDecode/verify_ids:") and b is not d0 and d0:
                self.fig("micro", "wire_decode_verify_ids_cost", b["cpu_time"] / d0["cpu_time"],
                         "x", "lower", "ratio")
        for op in ("Merge", "Compare"):
            for n in (8, 64, 256):
                sc, sd = by.get("BM_Vc%s/scalar/%d" % (op, n)), by.get("BM_Vc%s/simd/%d" % (op, n))
                if sc and sd:
                    self.fig("micro", "vc_%s_simd_speedup" % op.lower(),
                             sc["cpu_time"] / sd["cpu_time"], "x", "higher", "ratio",
                             entries=n, clock="counter array")
        ring = self.stage_ring()
        for b in ring:
            by[b["name"]] = b
        missing = [w for w, pre in (("dedupe table insert/lookup", "BM_Dedupe"),
                                    ("ring bulk enqueue/dequeue between processes",
                                     "BM_RingCrossProcess"),
                                    ("vector clock merge/compare scalar vs SIMD at 8/64/256",
                                     "BM_VcMerge/scalar"))
                   if not any(n.startswith(pre) for n in by)]
        return {"benchmarks": len(by), "missing_in_bench_micro": missing}

    def stage_ring(self):
        """bench_ring: rte_ring between a primary and a secondary DPDK process."""
        try:
            j = self.gbench("ring", "bench/micro/bench_ring")
        except (RuntimeError, OSError, ValueError) as e:
            print("bench: ring part skipped: %s" % e, flush=True)
            return []
        rows = [b for b in j["benchmarks"] if b.get("run_type") == "iteration"]
        by = {b["name"]: b for b in rows}
        for b in rows:
            self.fig("micro", b["name"] + ":items_per_s", b.get("items_per_second"), "1/s",
                     "higher", hugepages="2 MiB", processes=2 if "Cross" in b["name"] else 1)
        for burst in (1, 8, 32, 128):
            x = by.get("BM_RingCrossProcess/burst:%d/real_time" % burst)
            l = by.get("BM_RingSameThread/burst:%d/real_time" % burst)
            if x and l:
                self.fig("micro", "ring_cross_process_vs_same_thread",
                         x["items_per_second"] / l["items_per_second"], "x", "higher", "ratio",
                         burst=burst)
        return rows

    def stage_order(self):
        j = self.gbench("order", "bench/order/bench_order")
        by = {}
        for b in j["benchmarks"]:
            if b.get("run_type") != "iteration":
                continue
            by[b["name"]] = b
            self.fig("order", b["name"], b["cpu_time"], b["time_unit"], "lower")
            if "items_per_second" in b:
                self.fig("order", b["name"] + ":items_per_s", b["items_per_second"], "1/s",
                         "higher")
        c, h = by.get("BM_OrderThroughput"), by.get("BM_OrderThroughputHot")
        if c and h:
            self.fig("order", "hot_vs_cold_speedup", c["cpu_time"] / h["cpu_time"], "x",
                     "higher", "ratio")
        return {"benchmarks": len(by)}

    def stage_raftio(self):
        exe = os.path.join(self.build, "bench/raftio/bench-raftio")
        raw = os.path.join(self.raw_dir, "raftio.json")
        if self.a.reparse:
            return self.parse_raftio(json.load(open(raw)), self.old_stage("raftio", "disk"))
        if not os.access(exe, os.X_OK):
            raise RuntimeError("%s not built" % exe)
        d = tempfile.mkdtemp(prefix="rumor-bench-raftio-", dir="/var/tmp")
        serial, conc = ("300", "4000") if self.a.quick else ("1000", "20000")
        try:
            fs = (self.run(["df", "--output=fstype", d], 10).stdout.split() or ["?"])[-1]
            r = self.run([exe, "--dir", d, "--serial", serial, "--concurrent", conc,
                          "--json", raw], 1800)
        finally:
            shutil.rmtree(d, ignore_errors=True)
        if r.returncode:
            raise RuntimeError("bench-raftio exited %d: %s" % (r.returncode,
                                                              (r.stdout + r.stderr)[-500:]))
        print(r.stdout.rstrip())
        return self.parse_raftio(json.load(open(raw)), fs)

    def parse_raftio(self, j, fs):
        for row in j["results"]:
            cond = dict(mode=row["mode"], outstanding=row["outstanding"],
                        entry_bytes=j["entry_size"], disk=fs)
            self.fig("raftio", "ops_per_s", row["ops_per_s"], "1/s", "higher", **cond)
            self.fig("raftio", "p50_us", row["p50_us"], "us", "lower", **cond)
            self.fig("raftio", "p99_us", row["p99_us"], "us", "lower", **cond)
            if row["mode"] != j["results"][0]["mode"]:
                self.fig("raftio", "ops_vs_plain_fsync", row["ratio_vs_plain"], "x", "higher",
                         "ratio", **cond)
        return {"disk": fs, "rows": len(j["results"])}

    def stage_pktrate(self):
        script = os.path.join(HERE, "pktrate/run_pktrate.py")
        out = os.path.join(self.raw_dir, "pktrate")
        help_ = self.run([sys.executable, script, "--help"], 30).stdout
        cmd = [sys.executable, script, "--build", self.build, "--out", out]
        if self.a.quick:
            # newer run_pktrate.py has --quick; older versions only know --seconds
            cmd += ["--quick"] if "--quick" in help_ else ["--seconds", "1"]
        if not self.a.reparse:
            r = self.run(cmd, 1800)
            print(r.stdout.rstrip())
            if r.returncode:
                raise RuntimeError("run_pktrate.py exited %d: %s" % (
                    r.returncode, (r.stdout + r.stderr)[-800:]))
        j = json.load(open(os.path.join(out, "pktrate.json")))
        hp = j.get("hugepages", "2 MiB")
        for row in j["rows"]:
            cond = dict(payload=row["size"], fanout=row["fanout"],
                        pmd=j.get("vdev", "net_null"), hugepages=hp,
                        frame_bytes=row.get("rumor_frame_bytes"))
            self.fig("pktrate", "rumor_over_testpmd", row["ratio"], "x", "higher", "ratio",
                     **cond)
            if row.get("ratio_cpu") is not None:
                # per CPU-second of each forwarding thread: the steadiest on a shared box
                self.fig("pktrate", "rumor_over_testpmd_per_cpu", row["ratio_cpu"], "x",
                         "higher", "ratio", **cond)
            if row.get("ratio_copy") is not None:
                self.fig("pktrate", "rumor_over_testpmd_copy", row["ratio_copy"], "x",
                         "higher", "ratio", **cond)
            self.fig("pktrate", "rumor_tx_pps", row["rumor_tx_pps"], "pkt/s", "higher", **cond)
            self.fig("pktrate", "testpmd_tx_pps", row["testpmd_tx_pps"], "pkt/s", "higher",
                     **cond)
        if "originate_64B_events_per_s" in j:
            self.fig("pktrate", "originate_events_per_s", j["originate_64B_events_per_s"],
                     "1/s", "higher", payload="64B", fanout=1, pmd=j.get("vdev", "net_null"),
                     hugepages=hp)
        png = os.path.join(out, "pktrate.png")
        if os.path.exists(png) and not self.a.reparse:
            shutil.copy(png, os.path.join(self.out, "pktrate.png"))
        return {"rows": len(j["rows"]), "quick_flag": "--quick" in help_}

    def stage_cluster(self):
        script = os.path.join(HERE, "cluster/cluster_bench.py")
        out = os.path.join(self.raw_dir, "cluster")
        cmd = [sys.executable, script, "--build", self.build, "--out", out]
        if self.a.quick:
            cmd.append("--quick")
        for c in self.a.compare:
            cmd += ["--compare", c]
        cmd += self.a.cluster_args.split()
        if not self.a.reparse:
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True)
            for line in p.stdout:
                print("    " + line.rstrip(), flush=True)
            if p.wait():
                raise RuntimeError("cluster_bench.py exited %d" % p.returncode)
        j = json.load(open(os.path.join(out, "cluster.json")))
        cc = j["conditions"]
        for r in j["throughput"]:
            if "error" in r:
                continue
            cond = dict(nodes=r["nodes"], payload="%dB" % r["payload_bytes"],
                        fanout=cc["fanout"], pmd="af_packet", hugepages=cc["hugepages"],
                        batch=r["batch"], pipeline=r["pipeline"])
            # headline: every event applied / the slowest loader's time; the sum of the
            # per-node rates (each loader's own span) is kept beside it
            self.fig("cluster", "ordered_events_per_s",
                     r.get("ordered_events_per_s_cluster") or r["ordered_events_per_s"], "1/s",
                     "higher", **cond)
            self.fig("cluster", "ordered_events_per_s_sum_of_nodes", r["ordered_events_per_s"],
                     "1/s", "higher", **cond)
            if r.get("trial_rates"):
                self.fig("cluster", "ordered_events_per_s_best_trial", max(r["trial_rates"]),
                         "1/s", "higher", trials=len(r["trial_rates"]), **cond)
            self.fig("cluster", "latency_p50_us", r["latency_p50_us_median"], "us", "lower",
                     **cond)
            self.fig("cluster", "latency_p99_us", r["latency_p99_us_max"], "us", "lower",
                     **cond)
            # events acked but never applied within the timeout, and load generators that
            # lost their node (rumor-cp gone): a rate is only meaningful next to these
            self.fig("cluster", "events_lost", r.get("lost", 0), "events", "lower", **cond)
            self.fig("cluster", "load_nodes_failed", len(r.get("load_errors", [])), "nodes",
                     "lower", **cond)
        # the latency goal beside its floor, every build of the same run (kind ratio: the
        # multiple of the floor measured in the same round survives a noisy box)
        for name, r in (j.get("latency") or {}).items():
            cond = dict(nodes=r["nodes"], payload="%dB" % r["payload_bytes"], pmd="af_packet",
                        build=None if name == "this" else name)
            for key, unit, kind in (("seq_p50_us", "us", "absolute"),
                                    ("seq_p99_us", "us", "absolute"),
                                    ("follower_p50_us", "us", "absolute"),
                                    ("leader_p50_us", "us", "absolute"),
                                    ("fdatasync_p50_us", "us", "absolute"),
                                    ("fdatasync_p99_us", "us", "absolute"),
                                    ("rtt_p50_us", "us", "absolute"),
                                    ("rtt_p99_us", "us", "absolute"),
                                    ("floor_us", "us", "absolute"),
                                    ("seq_p50_over_floor", "x", "ratio"),
                                    ("throughput", "1/s", "absolute")):
                v = r.get(key)
                if not v:
                    continue
                self.fig("cluster", "latency_" + key if not key.startswith("seq") else key,
                         v["median"], unit, "higher" if key == "throughput" else "lower",
                         kind=kind, runs=v["runs"], **cond)
                self.fig("cluster", (key if key.startswith("seq") else "latency_" + key)
                         + "_spread", v["max"] - v["min"], unit, "lower", runs=v["runs"],
                         note="max - min over the rounds: %s .. %s" % (v["min"], v["max"]),
                         **cond)
        # latency under load (issue 15): p50/p99 per offered fraction of the measured maximum
        lc = j.get("load_curve") or {}
        if lc.get("points"):
            cond = dict(nodes=lc["nodes"], payload="%dB" % lc["payload_bytes"], pmd="af_packet")
            self.fig("cluster", "load_curve_max_ordered_events_per_s",
                     lc["max_ordered_events_per_s"], "1/s", "higher", **cond)
            for pt in lc["points"]:
                for key in ("p50_us", "p99_us"):
                    if pt.get(key) is not None:
                        self.fig("cluster", "load_curve_" + key, pt[key], "us", "lower",
                                 offered_pct=round(100 * pt["fraction"]), **cond)
            if lc.get("p99_us_at_half") is not None:
                self.fig("cluster", "load_curve_p99_us_at_half", lc["p99_us_at_half"], "us",
                         "lower", note="goal <= 20000", **cond)
            png = os.path.join(out, "load_curve.png")
            if os.path.exists(png) and not self.a.reparse:
                shutil.copy(png, os.path.join(self.out, "load_curve.png"))
        for r in j["spread"]:
            if "error" in r:
                continue
            cond = dict(nodes=r["nodes"], payload="%dB" % r["payload_bytes"],
                        fanout=r.get("fanout", cc["fanout"]), rounds=r.get("rounds"),
                        pmd="af_packet", hugepages=cc["hugepages"])
            self.fig("cluster", "one_event_all_stores_ms", r["store_all_ms_median"], "ms",
                     "lower", **cond)
            self.fig("cluster", "one_event_ordered_everywhere_ms", r["ordered_all_ms_median"],
                     "ms", "lower", **cond)
            # medians above skip trials that never completed within 10 s: say how many did
            runs = r.get("runs", [])
            self.fig("cluster", "trials_in_all_stores", sum(1 for x in runs
                                                            if x["store_all_ms"] is not None),
                     "of %d" % len(runs), "higher", **cond)
            self.fig("cluster", "trials_ordered_everywhere",
                     sum(1 for x in runs if x["ordered_all_ms"] is not None),
                     "of %d" % len(runs), "higher", **cond)
        png = os.path.join(out, "cluster.png")
        if os.path.exists(png) and not self.a.reparse:
            shutil.copy(png, os.path.join(self.out, "cluster.png"))
        errs = [r for r in j["throughput"] + j["spread"] if "error" in r]
        return {"throughput_runs": len(j["throughput"]), "spread_runs": len(j["spread"]),
                "errors": [r["error"][:300] for r in errs],
                "missing": j.get("throughput_missing")}


def summary(res):
    lines = ["rumor benchmark suite (%s mode), %s" % (res["mode"], res["finished"]),
             "machine: %(nproc)d cores, %(cpu_model)s, kernel %(kernel)s, %(mem_mib)d MiB, "
             "2 MiB hugepages %(hugepages_2m_total)d (free %(hugepages_2m_free_at_start)d), "
             "load %(loadavg_at_start)s, git %(git)s" % res["machine"],
             "kind: ratio = measured side by side in one run (compare.py default); "
             "abs = raw figure on a shared box", ""]
    fmt = "%-8s %-36s %-58s %12s %-6s %s"
    lines.append(fmt % ("stage", "figure", "conditions", "value", "unit", "kind"))
    for f in res["figures"]:
        if f["stage"] in ("micro", "order") and f["kind"] != "ratio" and \
                not f["name"].endswith(":items_per_s"):
            continue  # times and rates say the same: keep the table short, rates in the JSON
        c = f["conditions"]
        cs = " ".join("%s=%s" % (k, c[k]) for k in sorted(c)
                      if k not in ("machine", "cores", "hugepages", "pmd", "disk"))
        v = f["value"]
        vs = ("%d" % v) if v == int(v) else ("%.3f" % v) if abs(v) < 100 else ("%.0f" % v)
        lines.append(fmt % (f["stage"], f["name"].replace(":items_per_s", " /s")[:36], cs[:58],
                            vs, f["unit"], "ratio" if f["kind"] == "ratio" else "abs"))
    lines.append("")
    for name, st in res["stages"].items():
        lines.append("stage %-8s %-6s %5.0f s  %s" % (
            name, st["status"], st["seconds"],
            json.dumps({k: v for k, v in st.items() if k not in ("status", "seconds")})[:300]))
    tp = [f for f in res["figures"] if f["name"] == "ordered_events_per_s" and
          f["conditions"].get("nodes") == 3]
    if tp:
        best = max(f["value"] for f in tp)
        lines.append("target: >= 200000 ordered events/s on 3 nodes: best measured %.0f (%s)"
                     % (best, "met" if best >= 200000 else "NOT met"))
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--stages", default=",".join(STAGES))
    ap.add_argument("--compare", action="append", default=[], metavar="NAME=DIR[:SRC]",
                    help="cluster stage: another build run beside this one (latency rounds)")
    ap.add_argument("--cluster-args", default="",
                    help="more arguments for bench/cluster/cluster_bench.py")
    ap.add_argument("--reparse", action="store_true",
                    help="rebuild results.json/summary/plots from DIR/raw without running")
    a = ap.parse_args()
    s = Suite(a)
    todo = [x for x in a.stages.split(",") if x]
    for x in todo:
        if x not in STAGES:
            sys.exit("unknown stage %s (have %s)" % (x, ",".join(STAGES)))
    prev = None
    if a.reparse:
        prev = json.load(open(os.path.join(s.out, "results.json")))
        s.m = prev["machine"]
        s.mshort = "%d x %s" % (s.m["nproc"], s.m["cpu_model"])
        a.quick = prev["mode"] == "quick"
    res = {"format": 1, "mode": "quick" if a.quick else "full",
           "started": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
           "machine": s.m, "build": s.build, "stages": {}, "figures": s.figures}
    for i, name in enumerate(todo, 1):
        print("[%d/%d] %s: running ..." % (i, len(todo), name), flush=True)
        t0 = time.monotonic()
        try:
            info = getattr(s, "stage_" + name)()
            st = dict(status="ok", **info)
        except Exception as e:  # noqa: one broken stage must not lose the others' figures
            st = {"status": "failed", "error": ("%s: %s" % (type(e).__name__, e))[:1000]}
        st["seconds"] = round(time.monotonic() - t0, 1)
        if prev and name in prev["stages"]:
            st["seconds"] = prev["stages"][name]["seconds"]
        res["stages"][name] = st
        print("[%d/%d] %s: %s in %.0f s%s" % (i, len(todo), name, st["status"], st["seconds"],
                                             "" if st["status"] == "ok" else
                                             ": " + st["error"][:300]), flush=True)
    res["finished"] = prev["finished"] if prev else \
        datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    if prev:
        res["started"] = prev["started"]
    with open(os.path.join(s.out, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    text = summary(res)
    with open(os.path.join(s.out, "summary.txt"), "w") as f:
        f.write(text)
    r = subprocess.run([sys.executable, os.path.join(HERE, "plot.py"),
                        os.path.join(s.out, "results.json"), "--out", s.out])
    if r.returncode:
        print("plot.py failed (exit %d)" % r.returncode)
    print()
    print(text, end="")
    print("results in %s (results.json, summary.txt, *.png, raw/)" % s.out)
    return 0 if all(st["status"] == "ok" for st in res["stages"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
