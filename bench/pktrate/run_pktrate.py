#!/usr/bin/python3
"""pktrate: dpdk-testpmd io-forward vs rumor-dp (rumor-pktrate driver) on net_null vdevs,
same run, 2 MiB hugepages (or --no-huge when too few are free), one forwarding lcore each.
Writes pktrate.json and pktrate.png into --out. Besides wall-clock rates it reports rates per
CPU second of the forwarding thread (rumor: CLOCK_THREAD_CPUTIME_ID; testpmd: /proc CPU time
over the measured window), which stay comparable on a shared, overloaded machine.
Usage: run_pktrate.py --build BUILD_DIR [--quick] [--seconds S] [--out DIR]
       [--workers 1,2] [--runs R] [--base OLD_BUILD]
--workers: rumor-pktrate --workers N runs per point (issue 18; N > 1 on lcores 0..N-1, the
whole of a 2-core box), under "workers_rows"; "rows" stay the one-worker figures. --runs R:
every point R times (medians and min..max); --base: an older build's one worker in the same
loop, alternating with ours (under "base_rows")."""
import argparse
import statistics
import json
import os
import re
import subprocess
import sys
import time

FANOUTS = [1, 2, 4, 8]
# frame sizes on the wire: testpmd's net_null size= and rumor frames of one event whose
# payload makes the Ethernet frame that long (64 B is below rumor's minimum frame: 42 B
# L2-L4 + 28 B rumor header + 10 B clock + 18 B event header = 98 B; we use 1 event of
# 22 B -> 120 B frame for the small case and report it). Name, frame bytes, event bytes,
# [gossip] mtu: the 8 KiB events travel in jumbo frames (MTU 9000).
SIZES = [("64B", 64, 22, 1500), ("1KiB", 1024, 926, 1500), ("8KiB", 8192, 8094, 9000)]
# -m for jumbo points: rumor-pktrate's RX mbufs, store and frames of 9 KiB each
JUMBO_MEM_MB = 768
PREFIX = "rumor-dp-bench-%d" % os.getpid()
MEM_MB = 256
NO_HUGE = False


def free_hugepages_mb():
    try:
        with open("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages") as f:
            return int(f.read()) * 2
    except OSError:
        return 0


def eal(vdevs, lcores, mem=None):
    # without hugepages testpmd's mbuf pools need more room (4 KiB page granularity)
    mem = mem or MEM_MB
    args = ["-l", lcores, "--no-pci", "-m", str(2 * mem if NO_HUGE else mem),
            "--file-prefix", PREFIX, "--log-level=*:error"]
    if NO_HUGE:
        args.append("--no-huge")
    for v in vdevs:
        args += ["--vdev", v]
    return args


def testpmd(size, seconds, copy=0, mode="io"):
    """io: moves mbuf pointers; macswap with copy=1 (net_null writes every packet on RX and
    reads it on TX, macswap writes its header): a baseline that touches the data as rumor must.
    Jumbo sizes get mbufs that hold them (net_null copies size bytes whatever the mbuf)."""
    v = "size=%d,copy=%d" % (size, copy)
    jumbo = size > 2048
    mbufs = ["--total-num-mbufs=4096", "--mbuf-size=%d" % (size + 256)] if jumbo else \
        ["--total-num-mbufs=16384"]
    cmd = ["dpdk-testpmd"] + eal(["net_null0," + v, "net_null1," + v], "0,1",
                                 JUMBO_MEM_MB if jumbo else None) + \
        ["--", "-i", "--forward-mode=" + mode, "--nb-cores=1"] + mbufs
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    def send(s):
        try:
            p.stdin.write(s + "\n")
            p.stdin.flush()
        except BrokenPipeError:
            pass  # testpmd exited (e.g. no memory): reported from its output below
    time.sleep(min(2, max(1, seconds)))
    send("start")
    time.sleep(min(1, seconds))
    send("show port stats all")
    c0, t0 = proc_cpu(p.pid), time.monotonic()
    time.sleep(seconds)
    send("show port stats all")
    c1, t1 = proc_cpu(p.pid), time.monotonic()
    send("stop")
    send("quit")
    out, _ = p.communicate(timeout=60)
    # the last "show port stats" block: Tx-pps of both ports (throughput since last show)
    tx = [int(x) for x in re.findall(r"Tx-pps:\s+(\d+)", out)]
    if len(tx) < 4:
        if "memory" in out.lower() or "mbuf pool" in out.lower():
            raise MemoryError(out[-300:])
        sys.exit("testpmd output not understood:\n" + out[-3000:])
    pps = sum(tx[-2:])
    # CPU share of the process over the window (its forwarding lcore spins; the rest idles)
    share = (c1 - c0) / (t1 - t0) if t1 > t0 and c1 > c0 else 1.0
    return pps, pps / min(share, 1.0) if share > 0 else pps


def proc_cpu(pid):
    """CPU seconds (user + system) of all threads of @pid."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rumor(build, fanout, evlen, seconds, originate=False, auth=False, encrypt=False, workers=0,
          mtu=1500):
    lcores = "1" if workers <= 1 else ",".join(str(i) for i in range(workers))
    mem = JUMBO_MEM_MB if mtu > 1500 else None
    cmd = [os.path.join(build, "bench/pktrate/rumor-pktrate")] + \
        eal(["net_null0"], lcores, mem) + \
        ["--", "--fanout", str(fanout), "--event-bytes", str(evlen), "--seconds", str(seconds)]
    if mtu != 1500:
        cmd += ["--mtu", str(mtu)]
    if workers:
        cmd += ["--workers", str(workers)]
    if originate:
        cmd.append("--originate")
    if encrypt:
        cmd.append("--encrypt")
    elif auth:
        cmd.append("--auth")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        if "memory" in (r.stdout + r.stderr).lower():
            raise MemoryError(r.stderr[-300:])
        sys.exit("rumor-pktrate failed (%d):\n%s" % (r.returncode, (r.stdout + r.stderr)[-2000:]))
    out = r.stdout
    for line in out.splitlines():
        if line.startswith("{"):
            return json.loads(line)
    sys.exit("rumor-pktrate output not understood:\n" + out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", help="meson build dir holding bench/pktrate/rumor-pktrate")
    ap.add_argument("--seconds", type=float, default=None,
                    help="measured seconds per point (default 3, --quick 1)")
    ap.add_argument("--quick", action="store_true", help="about 1 s per point (~30 s in all)")
    ap.add_argument("--out", default=".")
    ap.add_argument("--plot-only", metavar="JSON", help=argparse.SUPPRESS)
    ap.add_argument("--auth-only", action="store_true",
                    help="only the frame authentication on/off comparison")
    ap.add_argument("--auth-base", metavar="BUILD",
                    help="also measure this (older) build's auth off/on, alternating with --build")
    ap.add_argument("--auth-runs", type=int, default=3, help="runs per point of the auth comparison")
    ap.add_argument("--workers", default="1,2",
                    help="worker counts measured per point (issue 18), e.g. 1,2")
    ap.add_argument("--fanouts", default=None, help="fanouts measured (default 1,2,4,8)")
    ap.add_argument("--sizes", default=None, help="sizes measured (default 64B,1KiB,8KiB)")
    ap.add_argument("--runs", type=int, default=1, help="runs per point (medians, min..max)")
    ap.add_argument("--base", metavar="BUILD",
                    help="also measure this (older) build's one worker, alternating with --build")
    ap.add_argument("--no-auth", action="store_true", help="skip the auth on/off comparison")
    ap.add_argument("--encrypt-only", action="store_true",
                    help="only the cost of [auth] encrypt: off / auth / auth + encrypt, 64 B and 1 KiB")
    a = ap.parse_args()
    global NO_HUGE, MEM_MB
    if a.plot_only:
        with open(a.plot_only) as f:
            os.makedirs(a.out, exist_ok=True)
            plot(json.load(f), a.out, a.plot_only)
        return
    if not a.build:
        ap.error("--build is required")
    global FANOUTS, SIZES
    if a.fanouts:
        FANOUTS = [int(x) for x in a.fanouts.split(",")]
    if a.sizes:
        SIZES = [s for s in SIZES if s[0] in a.sizes.split(",")]
    if a.seconds is None:
        a.seconds = 1.0 if a.quick else 3.0
    # 256 MB for testpmd or rumor-pktrate, one at a time; other users share the hugepages
    if free_hugepages_mb() < MEM_MB + 32:
        NO_HUGE = True
    try:
        res = measure(a)
    except (MemoryError, subprocess.CalledProcessError):
        if NO_HUGE:
            raise
        # other users took the hugepages meanwhile: measure everything again without
        print("hugepages ran out during the run: measuring again with --no-huge")
        NO_HUGE = True
        res = measure(a)
    report(res, a.out)


def auth_onoff(a, runs=None):
    """Relay rate with frame authentication off and on (issue 14: at most 15 % lower at
    fanout 1, 64 B events): `runs` runs each, alternating, medians and spread (min..max) of
    the per-CPU-second rate. With --auth-base the older build's off/on runs alternate with
    ours in the same loop (its figures under "base")."""
    runs = runs or a.auth_runs
    builds = [("new", a.build)] + ([("base", a.auth_base)] if a.auth_base else [])
    vals = {(b, auth): [] for b, _ in builds for auth in (False, True)}
    for _ in range(runs):
        for b, path in builds:
            for auth in (False, True):
                r = rumor(path, 1, 22, a.seconds, auth=auth)
                if r.get("drops_auth", 0) or r["tx_pkts"] != r["rx_frames"]:
                    sys.exit("rumor-pktrate --auth: %d auth drops, %d of %d frames sent"
                             % (r.get("drops_auth", 0), r["tx_pkts"], r["rx_frames"]))
                vals[(b, auth)].append(r.get("tx_per_cpu_s", r["tx_pps"]))

    def summary(b):
        off, on = vals[(b, False)], vals[(b, True)]
        mo, mn = statistics.median(off), statistics.median(on)
        return {"off_tx_per_cpu_s": [round(x) for x in off],
                "on_tx_per_cpu_s": [round(x) for x in on],
                "off_median": round(mo), "on_median": round(mn),
                "off_spread": [round(min(off)), round(max(off))],
                "on_spread": [round(min(on)), round(max(on))],
                "on_vs_off": round(mn / mo, 4) if mo else None}
    res = {"fanout": 1, "size": "64B", "runs": runs}
    res.update(summary("new"))
    if a.auth_base:
        res["base"] = summary("base")
        res["base"]["build"] = a.auth_base
    return res


def encrypt_cost(a):
    """Relay at fanout 1: no auth, auth (GMAC), auth + encrypt (AES-256-GCM bodies: each new
    frame verified and decrypted into the store, its ciphertext kept and forwarded), the
    three alternating, a.auth_runs runs each, 64 B and 1 KiB events; per-CPU-second rates."""
    res = {}
    for name, evlen in (("64B", 22), ("1KiB", 1000)):
        vals = {m: [] for m in ("off", "auth", "encrypt")}
        for _ in range(a.auth_runs):
            for m in vals:
                r = rumor(a.build, 1, evlen, a.seconds, auth=m != "off", encrypt=m == "encrypt")
                if r.get("drops_auth", 0) or r["tx_pkts"] != r["rx_frames"]:
                    sys.exit("rumor-pktrate %s: %d auth drops, %d of %d frames sent"
                             % (m, r.get("drops_auth", 0), r["tx_pkts"], r["rx_frames"]))
                vals[m].append(r.get("tx_per_cpu_s", r["tx_pps"]))
        med = {m: statistics.median(v) for m, v in vals.items()}
        res[name] = {m: {"median": round(med[m]), "spread": [round(min(v)), round(max(v))],
                         "runs": [round(x) for x in v]} for m, v in vals.items()}
        res[name]["encrypt_vs_auth"] = round(med["encrypt"] / med["auth"], 4)
        res[name]["encrypt_vs_off"] = round(med["encrypt"] / med["off"], 4)
    return res


def measure(a):
    mem = "4 KiB pages (--no-huge, too few free hugepages)" if NO_HUGE else \
        "2 MiB hugepages (-m %d)" % MEM_MB
    if a.auth_only:
        return {"memory": mem, "rows": [], "auth": auth_onoff(a)}
    if a.encrypt_only:
        return {"memory": mem, "rows": [], "encrypt": encrypt_cost(a)}
    rows, wrows, brows = [], [], []
    workers = [int(x) for x in a.workers.split(",") if x]
    med = statistics.median
    for name, size, evlen, mtu in SIZES:
        tp = [testpmd(size, a.seconds) for _ in range(max(1, a.runs))]
        base, base_cpu = med([x[0] for x in tp]), med([x[1] for x in tp])
        # net_null copy=1 writes the packet bytes on RX and reads them on TX, as rumor's
        # driver writes each frame into its RX mbuf, and macswap writes each header: a
        # baseline that touches the data
        tc = [testpmd(size, a.seconds, copy=1, mode="macswap") for _ in range(max(1, a.runs))]
        base_copy, base_copy_cpu = med([x[0] for x in tc]), med([x[1] for x in tc])
        for f in FANOUTS:
            # every build / worker count once per run, alternating: they share the
            # machine's state of the moment
            runs = {}
            for _ in range(max(1, a.runs)):
                # (a base build older than --mtu runs no jumbo points)
                for key in ([("base", 1)] if a.base and mtu == 1500 else []) + \
                        [("new", w) for w in workers]:
                    res = rumor(a.base if key[0] == "base" else a.build, f, evlen, a.seconds,
                                workers=0 if key[0] == "base" else key[1], mtu=mtu)
                    runs.setdefault(key, []).append(res)

            def summary(rs, key):
                tx = [x["tx_pps"] for x in rs]
                cpu = [x.get("tx_per_cpu_s", x["tx_pps"]) for x in rs]
                return {"size": name, "fanout": f, "workers": key[1], "build": key[0],
                        "runs": len(rs), "tx_pps": round(med(tx)),
                        "tx_pps_spread": [round(min(tx)), round(max(tx))],
                        "tx_per_cpu_s": round(med(cpu)),
                        "tx_per_cpu_s_spread": [round(min(cpu)), round(max(cpu))],
                        "cpu_seconds": [x.get("cpu_seconds") for x in rs],
                        "drops_store": sum(x.get("drops_store", 0) for x in rs),
                        "cp_waits": sum(x.get("cp_waits", 0) for x in rs),
                        "ratio_io": round(med(tx) / base, 4) if base else None,
                        "ratio_copy": round(med(tx) / base_copy, 4) if base_copy else None,
                        "ratio_copy_cpu": round(med(cpu) / base_copy_cpu, 4)
                        if base_copy_cpu else None,
                        "gbit_s": round(med(tx) * (rs[0]["frame_bytes"] + 20) * 8 / 1e9, 3)}
            for key, rs in runs.items():
                (brows if key[0] == "base" else wrows).append(summary(rs, key))
            one = runs.get(("new", 1)) or runs[("new", workers[0])]
            r = dict(one[0])
            r["tx_pps"] = med([x["tx_pps"] for x in one])
            r["rx_fps"] = med([x["rx_fps"] for x in one])
            r["tx_per_cpu_s"] = med([x.get("tx_per_cpu_s", x["tx_pps"]) for x in one])
            rcpu = r.get("tx_per_cpu_s", r["tx_pps"])
            rows.append({"size": name, "fanout": f, "testpmd_tx_pps": base,
                         "testpmd_copy_tx_pps": base_copy,
                         "testpmd_tx_per_cpu_s": round(base_cpu),
                         "testpmd_copy_tx_per_cpu_s": round(base_copy_cpu),
                         "ratio_copy": round(r["tx_pps"] / base_copy, 4) if base_copy else None,
                         "rumor_tx_pps": round(r["tx_pps"]), "rumor_rx_fps": round(r["rx_fps"]),
                         "rumor_tx_per_cpu_s": round(rcpu),
                         "rumor_frame_bytes": r["frame_bytes"], "mtu": mtu,
                         "rumor_events_per_s": round(r["rx_fps"]),
                         "rumor_gbit_s": round(r["tx_pps"] * (r["frame_bytes"] + 20) * 8 / 1e9,
                                               3),
                         "ratio": round(r["tx_pps"] / base, 4) if base else None,
                         "ratio_cpu": round(rcpu / base_cpu, 4) if base_cpu else None})
    ev = rumor(a.build, 1, 64, a.seconds, originate=True)
    res = {"memory": mem, "hugepages": "none (4 KiB pages)" if NO_HUGE else
           "2 MiB hugepages (-m %d)" % MEM_MB, "vdev": "net_null",
           "seconds_per_point": a.seconds,
           "cores": "1 forwarding lcore each (machine shared: 2 cores)",
           "testpmd_copy_mode": "macswap, net_null copy=1",
           "rows": rows, "originate_64B_events_per_s": round(ev["events_per_s"]),
           "originate_64B_events_per_cpu_s": round(ev.get("events_per_cpu_s", 0)),
           "originate_tx_pps": round(ev["tx_pps"]),
           "workers_rows": wrows, "base_rows": brows, "base_build": a.base,
           "runs": a.runs,
           "workers_cores": "workers=1: lcore 1; workers=N: lcores 0..N-1 (this 2-core box "
                            "shared with other jobs: cpu_seconds says how much each run got)"}
    if not a.no_auth:
        res["auth"] = auth_onoff(a)
    return res


def report_auth(au):
    print("frame authentication, relay fanout 1, 64 B events, %d runs each alternating, per CPU s:"
          % au["runs"])
    for name, x in [("", au)] + ([("base ", au["base"])] if "base" in au else []):
        print("  %soff: median %d (%d..%d)  on: median %d (%d..%d)  on/off %.3f"
              % (name, x["off_median"], x["off_spread"][0], x["off_spread"][1], x["on_median"],
                 x["on_spread"][0], x["on_spread"][1], x["on_vs_off"]))


def report_workers(res):
    """Base (one worker) and ours per worker count, medians (min..max), M frames/s."""
    allr = res.get("base_rows", []) + res.get("workers_rows", [])
    if not allr:
        return
    m = lambda v: "%.2f" % (v / 1e6)
    sp = lambda s: "(%s..%s)" % (m(s[0]), m(s[1]))
    print("workers (issue 18): %d runs per point, M frames/s wall and per CPU s, median (min..max)"
          % res.get("runs", 1))
    print("%-5s %3s %-5s %2s %-22s %-22s %6s %6s %6s %s" % ("size", "fo", "build", "w", "tx/s",
          "tx/cpu-s", "r/io", "r/copy", "Gbit/s", "notes"))
    for name, *_ in SIZES:
        for f in FANOUTS:
            rs = [r for r in allr if r["size"] == name and r["fanout"] == f]
            one = [r for r in rs if r["build"] == "new" and r["workers"] == 1]
            for r in rs:
                note = ""
                if r["build"] == "new" and r["workers"] > 1 and one:
                    note = "x%.2f wall, x%.2f per cpu vs 1 worker" % (
                        r["tx_pps"] / one[0]["tx_pps"], r["tx_per_cpu_s"] / one[0]["tx_per_cpu_s"])
                if r["build"] == "base" and one:
                    note = "new/base %.3f wall, %.3f per cpu" % (
                        one[0]["tx_pps"] / r["tx_pps"], one[0]["tx_per_cpu_s"] / r["tx_per_cpu_s"])
                if r["drops_store"]:
                    note += " store drops %d" % r["drops_store"]
                print("%-5s %3d %-5s %2d %-22s %-22s %6.3f %6.3f %6.2f %s" % (
                    name, f, r["build"], r["workers"], m(r["tx_pps"]) + " " + sp(r["tx_pps_spread"]),
                    m(r["tx_per_cpu_s"]) + " " + sp(r["tx_per_cpu_s_spread"]), r["ratio_io"],
                    r["ratio_copy"], r["gbit_s"], note))


def report(res, out_dir):
    rows = res["rows"]
    mem = res["memory"]
    if not rows and "encrypt" in res:
        for name, x in res["encrypt"].items():
            print("[auth] encrypt, relay fanout 1, %s events, per CPU s: " % name + "  ".join(
                "%s median %d (%d..%d)" % (m, x[m]["median"], x[m]["spread"][0], x[m]["spread"][1])
                for m in ("off", "auth", "encrypt")) +
                "  encrypt/auth %.3f encrypt/off %.3f" % (x["encrypt_vs_auth"], x["encrypt_vs_off"]))
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "pktrate_encrypt.json"), "w") as f:
            json.dump(res, f, indent=1)
        return
    if not rows:
        report_auth(res["auth"])
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "pktrate_auth.json"), "w") as f:
            json.dump(res, f, indent=1)
        return
    print("pktrate: net_null vdevs, %s, 1 forwarding lcore each" % mem)
    print("%-5s %6s %13s %13s %13s %13s %7s %7s %12s %12s %7s %8s" % (
        "size", "fanout", "testpmd tx/s", "macswap-cp/s", "rumor tx/s", "rumor ev/s", "ratio",
        "r/copy", "tpmd tx/cpu", "rumor tx/cpu", "r/cpu", "Gbit/s"))
    for r in rows:
        print("%-5s %6d %13d %13d %13d %13d %7.3f %7.3f %12d %12d %7.3f %8.2f" % (
            r["size"], r["fanout"], r["testpmd_tx_pps"], r["testpmd_copy_tx_pps"],
            r["rumor_tx_pps"], r["rumor_rx_fps"], r["ratio"], r["ratio_copy"],
            r["testpmd_tx_per_cpu_s"], r["rumor_tx_per_cpu_s"], r["ratio_cpu"],
            r.get("rumor_gbit_s", 0)))
    print("originate: %d events/s of 64 B packed into full frames (fanout 1, %d frames/s)"
          % (res["originate_64B_events_per_s"], res["originate_tx_pps"]))
    report_workers(res)
    if "auth" in res:
        report_auth(res["auth"])
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "pktrate.json"), "w") as f:
        json.dump(res, f, indent=1)
    plot(res, out_dir)


def plot(res, out, json_path=None):
    """PNG of the rows; when this interpreter has no matplotlib, retry with the system one."""
    json_path = json_path or os.path.join(out, "pktrate.json")
    try:
        import matplotlib
    except ImportError:
        sysp = "/usr/bin/python3"
        if os.path.exists(sysp) and os.path.realpath(sys.executable) != os.path.realpath(sysp):
            r = subprocess.run([sysp, os.path.abspath(__file__), "--plot-only",
                                os.path.abspath(json_path), "--out", out])
            if r.returncode == 0:
                return
        print("matplotlib missing: no PNG")
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = res["rows"]
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, *_ in SIZES:
        rs = [r for r in rows if r["size"] == name]
        if not rs:
            continue
        ax.plot([r["fanout"] for r in rs], [r["rumor_tx_pps"] / 1e6 for r in rs], "o-",
                label="rumor-dp %s" % name)
        ax.axhline(rs[0]["testpmd_tx_pps"] / 1e6, ls="--", lw=1,
                   color=ax.lines[-1].get_color(), label="testpmd io %s" % name)
    ax.set_xlabel("fanout")
    ax.set_ylabel("transmitted Mpkt/s (1 lcore)")
    ax.set_yscale("log")
    ax.set_xticks(FANOUTS)
    ax.set_title("rumor-dp vs testpmd io-forward, net_null, %s" % res.get("memory", ""),
                 fontsize=8)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "pktrate.png"), dpi=100)


if __name__ == "__main__":
    try:
        main()
    finally:
        # DPDK leaves its per-prefix runtime dir behind; hugepage files go with the process
        import shutil
        shutil.rmtree("/var/run/dpdk/" + PREFIX, ignore_errors=True)
