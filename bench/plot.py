#!/usr/bin/python3
"""bench/plot.py: PNG plots from a bench/run_all.py results.json (micro, order, raftio and the
side-by-side ratios; pktrate.png and cluster.png come from their own stages).
Usage: plot.py RESULTS.json [--out DIR]   (needs python3-matplotlib)"""
import argparse
import json
import os
import sys

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    sys.exit("plot.py: python3-matplotlib missing (deploy/setup-host.sh installs it)")


def title(res, what):
    m = res["machine"]
    return "%s - %d cores %s (%s run)" % (what, m["nproc"], m["cpu_model"][:40], res["mode"])


def barh(path, res, figs, what, xlabel, log=False):
    if not figs:
        return False
    fig, ax = plt.subplots(figsize=(11, 0.3 * len(figs) + 1.5))
    labels = []
    for f in figs:
        c = f["conditions"]
        extra = " ".join("%s=%s" % (k, c[k]) for k in sorted(c)
                         if k not in ("machine", "cores", "hugepages", "pmd", "disk"))
        labels.append((f["name"].replace(":items_per_s", "") + " " + extra)[:90])
    ax.barh(range(len(figs)), [f["value"] for f in figs], color="tab:blue")
    ax.set_yticks(range(len(figs)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_title(title(res, what), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    res = json.load(open(a.results))
    out = a.out or os.path.dirname(os.path.abspath(a.results))
    figs = res["figures"]
    made = []
    rate = [f for f in figs if f["stage"] == "micro" and f["name"].endswith(":items_per_s")]
    if barh(os.path.join(out, "micro.png"), res, rate, "micro (items/s, cpu time)",
            "items per second (log)", log=True):
        made.append("micro.png")
    rate = [f for f in figs if f["stage"] == "order" and f["name"].endswith(":items_per_s")]
    if barh(os.path.join(out, "order.png"), res, rate, "order (items/s, cpu time)",
            "items per second (log)", log=True):
        made.append("order.png")
    rows = [f for f in figs if f["stage"] == "raftio" and f["name"] == "ops_per_s"]
    if barh(os.path.join(out, "raftio.png"), res, rows, "raftio appends with fsync",
            "ops/s (log)", log=True):
        made.append("raftio.png")
    ratios = [f for f in figs if f["kind"] == "ratio"]
    if barh(os.path.join(out, "ratios.png"), res, ratios,
            "side-by-side ratios (what compare.py checks)", "ratio (x, log)", log=True):
        made.append("ratios.png")
    print("plot.py: wrote %s in %s" % (", ".join(made) or "nothing", out))


if __name__ == "__main__":
    main()
