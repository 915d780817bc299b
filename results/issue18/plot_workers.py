#!/usr/bin/python3
"""PNG of bench/pktrate/results/pktrate_workers.json: frames per CPU second by fanout,
base (main 76bae3b, one worker) against the new build with 1 and 2 workers, medians with
their min..max as error bars, one panel per event size. Needs python3-matplotlib."""
import json
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

src, out = sys.argv[1], sys.argv[2]
d = json.load(open(src))
rows = d["base_rows"] + d["workers_rows"]
sizes = sorted({r["size"] for r in rows}, key=lambda s: (len(s), s))
fig, axes = plt.subplots(1, len(sizes), figsize=(5 * len(sizes), 4), squeeze=False)
for ax, size in zip(axes[0], sizes):
    for label, pick in (("base w1", lambda r: r["build"] == "base"),
                        ("new w1", lambda r: r["build"] == "new" and r["workers"] == 1),
                        ("new w2", lambda r: r["build"] == "new" and r["workers"] == 2)):
        sel = sorted((r for r in rows if r["size"] == size and pick(r)), key=lambda r: r["fanout"])
        if not sel:
            continue
        x = [r["fanout"] for r in sel]
        y = [r["tx_per_cpu_s"] / 1e6 for r in sel]
        lo = [y[i] - r["tx_per_cpu_s_spread"][0] / 1e6 for i, r in enumerate(sel)]
        hi = [r["tx_per_cpu_s_spread"][1] / 1e6 - y[i] for i, r in enumerate(sel)]
        ax.errorbar(x, y, yerr=[lo, hi], marker="o", capsize=3, label=label)
    ax.set_title(f"rumor-dp relay, {size} events")
    ax.set_xlabel("fanout")
    ax.set_ylabel("M frames sent per CPU second")
    ax.set_xscale("log", base=2)
    ax.grid(True, alpha=0.3)
    ax.legend()
fig.tight_layout()
fig.savefig(out, dpi=110)
print(out)
