#!/usr/bin/python3
"""pktrate: dpdk-testpmd io-forward vs rumor-dp (rumor-pktrate driver) on net_null vdevs,
same run, 2 MiB hugepages, one forwarding lcore each. Writes JSON and a PNG.
Usage: run_pktrate.py --build BUILD_DIR [--seconds S] [--out DIR]"""
import argparse
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
# 22 B -> 120 B frame for the small case and report it).
SIZES = [("64B", 64, 22), ("1KiB", 1024, 958)]
PREFIX = "rumor-dp-bench-%d" % os.getpid()


def eal(vdevs, lcores):
    args = ["-l", lcores, "--no-pci", "-m", "256", "--file-prefix", PREFIX,
            "--log-level=*:error"]
    for v in vdevs:
        args += ["--vdev", v]
    return args


def testpmd(size, seconds, copy=0):
    v = "size=%d,copy=%d" % (size, copy)
    cmd = ["dpdk-testpmd"] + eal(["net_null0," + v, "net_null1," + v],
                                 "0,1") + ["--", "-i", "--forward-mode=io", "--nb-cores=1"]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    def send(s):
        p.stdin.write(s + "\n")
        p.stdin.flush()
    time.sleep(2)
    send("start")
    time.sleep(1)
    send("show port stats all")
    time.sleep(seconds)
    send("show port stats all")
    send("stop")
    send("quit")
    out, _ = p.communicate(timeout=60)
    # the last "show port stats" block: Tx-pps of both ports (throughput since last show)
    tx = [int(x) for x in re.findall(r"Tx-pps:\s+(\d+)", out)]
    if len(tx) < 4:
        sys.exit("testpmd output not understood:\n" + out[-3000:])
    return sum(tx[-2:])


def rumor(build, fanout, evlen, seconds, originate=False):
    cmd = [os.path.join(build, "bench/pktrate/rumor-pktrate")] + eal(["net_null0"], "1") + \
        ["--", "--fanout", str(fanout), "--event-bytes", str(evlen), "--seconds", str(seconds)]
    if originate:
        cmd.append("--originate")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    for line in out.splitlines():
        if line.startswith("{"):
            return json.loads(line)
    sys.exit("rumor-pktrate output not understood:\n" + out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--out", default=".")
    a = ap.parse_args()
    rows = []
    for name, size, evlen in SIZES:
        base = testpmd(size, a.seconds)
        # net_null copy=1 writes the packet bytes on RX and reads them on TX, as rumor's
        # driver writes each frame into its RX mbuf: a baseline that touches the data
        base_copy = testpmd(size, a.seconds, copy=1)
        for f in FANOUTS:
            r = rumor(a.build, f, evlen, a.seconds)
            rows.append({"size": name, "fanout": f, "testpmd_tx_pps": base,
                         "testpmd_copy_tx_pps": base_copy,
                         "ratio_copy": round(r["tx_pps"] / base_copy, 4) if base_copy else None,
                         "rumor_tx_pps": round(r["tx_pps"]), "rumor_rx_fps": round(r["rx_fps"]),
                         "rumor_frame_bytes": r["frame_bytes"],
                         "ratio": round(r["tx_pps"] / base, 4) if base else None})
    ev = rumor(a.build, 1, 64, a.seconds, originate=True)
    res = {"hugepages": "2 MiB hugepages (-m 256)", "vdev": "net_null",
           "cores": "1 forwarding lcore each (machine shared: 2 cores)",
           "rows": rows, "originate_64B_events_per_s": round(ev["events_per_s"]),
           "originate_tx_pps": round(ev["tx_pps"])}
    print("pktrate: net_null vdevs, 2 MiB hugepages, 1 forwarding lcore each")
    print("%-5s %6s %13s %13s %13s %13s %7s %7s" % (
        "size", "fanout", "testpmd tx/s", "tpmd-copy/s", "rumor tx/s", "rumor rx/s", "ratio",
        "r/copy"))
    for r in rows:
        print("%-5s %6d %13d %13d %13d %13d %7.3f %7.3f" % (
            r["size"], r["fanout"], r["testpmd_tx_pps"], r["testpmd_copy_tx_pps"],
            r["rumor_tx_pps"], r["rumor_rx_fps"], r["ratio"], r["ratio_copy"]))
    print("originate: %d events/s of 64 B packed into full frames (fanout 1, %d frames/s)"
          % (res["originate_64B_events_per_s"], res["originate_tx_pps"]))
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "pktrate.json"), "w") as f:
        json.dump(res, f, indent=1)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 4))
        for name, _, _ in SIZES:
            rs = [r for r in rows if r["size"] == name]
            ax.plot([r["fanout"] for r in rs], [r["rumor_tx_pps"] / 1e6 for r in rs], "o-",
                    label="rumor-dp %s" % name)
            ax.axhline(rs[0]["testpmd_tx_pps"] / 1e6, ls="--", lw=1,
                       color=ax.lines[-1].get_color(), label="testpmd io %s" % name)
        ax.set_xlabel("fanout")
        ax.set_ylabel("transmitted Mpkt/s (1 lcore)")
        ax.set_xticks(FANOUTS)
        ax.set_title("rumor-dp vs testpmd io-forward, net_null, 2 MiB hugepages")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(a.out, "pktrate.png"), dpi=100)
    except ImportError:
        print("matplotlib missing: no PNG")


if __name__ == "__main__":
    main()
