#!/usr/bin/python3
"""bench/compare.py: regression check between two results.json of bench/run_all.py.
Flags every figure present in both that got worse by more than the threshold (relative).
By default only "ratio" figures (two things measured side by side in one run, e.g. rumor-dp /
testpmd, cp_disk / plain fsync, SIMD / scalar) are judged, because absolute times on a shared
machine move with the neighbours' load; --all judges absolute figures too.
Usage: compare.py OLD.json NEW.json [--threshold 0.1] [--all] [--verbose]
Exit: 0 no regression, 1 at least one regression, 2 bad input."""
import argparse
import json
import sys


def load(path):
    try:
        res = json.load(open(path))
        return res, {f["id"]: f for f in res["figures"]}
    except (OSError, ValueError, KeyError) as e:
        print("compare: %s: %s" % (path, e), file=sys.stderr)
        sys.exit(2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--threshold", type=float, default=0.1,
                    help="relative change counted as a regression (default 0.1 = 10%%)")
    ap.add_argument("--all", action="store_true", help="also judge absolute figures")
    ap.add_argument("--verbose", "-v", action="store_true", help="print every compared figure")
    a = ap.parse_args()
    ores, old = load(a.old)
    nres, new = load(a.new)
    if ores["machine"].get("cpu_model") != nres["machine"].get("cpu_model") or \
            ores["machine"].get("nproc") != nres["machine"].get("nproc"):
        print("compare: warning: different machines (%s x %s vs %s x %s)" % (
            ores["machine"].get("nproc"), ores["machine"].get("cpu_model"),
            nres["machine"].get("nproc"), nres["machine"].get("cpu_model")))
    bad, checked, skipped = [], 0, 0
    fmt = "%-8s %-92s %10s %10s %8s"
    rows = []
    for key in sorted(set(old) & set(new)):
        o, n = old[key], new[key]
        if not a.all and (o["kind"] != "ratio" or n["kind"] != "ratio"):
            skipped += 1
            continue
        if not o["value"]:
            continue
        checked += 1
        change = n["value"] / o["value"] - 1
        worse = -change if o["better"] == "higher" else change
        verdict = "REGRESS" if worse > a.threshold else ("better" if worse < -a.threshold
                                                         else "same")
        if verdict == "REGRESS":
            bad.append(key)
        if a.verbose or verdict != "same":
            rows.append(fmt % (verdict, key[:92], "%.4g" % o["value"], "%.4g" % n["value"],
                               "%+.1f%%" % (change * 100)))
    if rows:
        print(fmt % ("verdict", "figure", "old", "new", "change"))
        print("\n".join(rows))
    gone = sorted(set(old) - set(new))
    if gone:
        print("compare: %d figures of OLD missing in NEW (e.g. %s)" % (len(gone), gone[0]))
    print("compare: %d figures checked (%s), threshold %.0f%%: %d regression(s)%s" % (
        checked, "all" if a.all else "ratios only; %d absolute skipped, --all to judge them"
        % skipped, a.threshold * 100, len(bad), "" if not bad else ": " + ", ".join(bad[:5])))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
