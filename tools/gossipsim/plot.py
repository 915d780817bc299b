#!/usr/bin/python3
"""Plots for gossipsim's JSON: coverage per round per strategy (with push-gossip theory
beside it) and reliability vs simultaneous failure fraction.
usage: /usr/bin/python3 plot.py RESULT.json OUTDIR"""
import json
import math
import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def theory_push(n, rounds):
    """Mean field of classic push gossip, fanout 1, informed nodes push every round:
    reaches everybody after about log2(N) + ln(N) rounds (Pittel 1987)."""
    x, out = 1.0 / n, [1.0 / n]
    for _ in range(rounds):
        x = 1 - (1 - x) * math.exp(-x)
        out.append(x)
    return out


def theory_infect_die(n, fanout, rounds):
    """Mean field of what the simulator runs: a node forwards once, to `fanout` peers."""
    x, new, out = 1.0 / n, 1.0 / n, [1.0 / n]
    for _ in range(rounds):
        got = (1 - x) * (1 - math.exp(-fanout * new))
        x, new = x + got, got
        out.append(x)
    return out


def coverage_axes(ax, res, strategies):
    n, f = res["nodes"], res["fanout"]
    t = res["theory_rounds"]
    horizon = int(math.ceil(t)) + 4
    for s in strategies:
        cov = s["steady"]["coverage"]
        ax.plot(range(len(cov)), [100 * c for c in cov], marker="o", ms=3,
                label=f'{s["name"]} (fanout {f}, view {s["avg_active"]:.1f})')
    ax.plot(range(horizon + 1), [100 * c for c in theory_push(n, horizon)], "k--", lw=1,
            label="push theory, fanout 1")
    ax.plot(range(horizon + 1), [100 * c for c in theory_infect_die(n, f, horizon)], "k:",
            lw=1, label=f"infect-and-die mean field, fanout {f}")
    ax.axvline(t, color="grey", lw=1)
    ax.text(t, 50, f" log2 N + ln N = {t:.1f}", color="grey", fontsize=8)
    ax.set_xlabel("gossip round")
    ax.set_ylabel("nodes reached (%)")
    ax.set_ylim(0, 101)
    ax.set_xlim(0, horizon)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1]) as fh:
        res = json.load(fh)
    out = sys.argv[2]
    os.makedirs(out, exist_ok=True)
    n = res["nodes"]
    made = []

    for s in res["strategies"]:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        coverage_axes(ax, res, [s])
        ax.set_title(f'{s["name"]}: push gossip coverage, N = {n}')
        p = os.path.join(out, f'coverage_{s["name"]}_{n}.png')
        fig.tight_layout()
        fig.savefig(p, dpi=110)
        plt.close(fig)
        made.append(p)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    coverage_axes(ax, res, res["strategies"])
    ax.set_title(f"push gossip coverage per round, N = {n}")
    p = os.path.join(out, f"coverage_all_{n}.png")
    fig.tight_layout()
    fig.savefig(p, dpi=110)
    plt.close(fig)
    made.append(p)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for s in res["strategies"]:
        fr = [100 * x["fraction"] for x in s["failures"]]
        before = [100 * x["before"]["reached"] / x["before"]["alive"] for x in s["failures"]]
        after = [100 * x["after"]["reached"] / x["after"]["alive"] for x in s["failures"]]
        line, = ax.plot(fr, after, marker="o", label=f'{s["name"]} after repair')
        ax.plot(fr, before, marker="x", ls="--", color=line.get_color(),
                label=f'{s["name"]} right after, views frozen')
        if all("during" in x for x in s["failures"]):
            during = [100 * x["during"]["reached"] / x["during"]["alive"]
                      for x in s["failures"]]
            ax.plot(fr, during, marker="^", ls=":", color=line.get_color(),
                    label=f'{s["name"]} right after, failed sends repaired')
    ax.set_xlabel("nodes failed simultaneously (%)")
    ax.set_ylabel("survivors reached (%)")
    ax.set_ylim(0, 101)
    ax.grid(alpha=0.3)
    ax.set_title(f'reliability vs failures, N = {n}, fanout {res["fanout"]}, '
                 f'repair {res["repair"]} rounds')
    ax.legend(fontsize=7, loc="lower left")
    p = os.path.join(out, f"reliability_{n}.png")
    fig.tight_layout()
    fig.savefig(p, dpi=110)
    plt.close(fig)
    made.append(p)
    for p in made:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
