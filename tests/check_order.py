#!/usr/bin/env python3
"""Checks rumor nodes' ordered logs (data/node-ID/ordered.log) against the total-order contract:
prefix agreement, no duplicates, per-origin FIFO, happened-before, acknowledged events present.

usage: check_order.py [--acked FILE]... [--same-end] [--late-start] LOG_OR_DIR...
(--late-start: a log may start late or jump forward where its node installed a snapshot)
       check_order.py --self-test
A directory argument means every */ordered.log under it (a run dir's data/ folder works).
Exit 0 when every check passes, 1 with one line per violation otherwise, 2 on usage errors.
"""
import argparse
import bisect
import glob
import json
import os
import re
import sys
import tempfile

CLOCK_RE = re.compile(r"(\d+)\s*:\s*(\d+)")
MAX_REPORT = 30  # per kind of violation: enough to diagnose, not a flood


def parse_clock(text):
    return {int(o): int(c) for o, c in CLOCK_RE.findall(text or "")}


class Checker:
    def __init__(self):
        self.violations = []
        self.counts = {}
        self.notes = []

    def bad(self, kind, msg):
        n = self.counts.get(kind, 0) + 1
        self.counts[kind] = n
        if n <= MAX_REPORT:
            self.violations.append(f"{kind}: {msg}")
        elif n == MAX_REPORT + 1:
            self.violations.append(f"{kind}: ... (further ones counted only)")

    def load(self, path):
        """One node's log as a list of entry dicts in file order."""
        out = []
        with open(path, encoding="utf-8", errors="replace") as f:
            for ln, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    e = json.loads(line)
                    if "gap_from" in e:  # marker: a snapshot covered gap_from..gseq
                        out.append({"gseq": int(e["gseq"]), "gap_from": int(e["gap_from"])})
                        continue
                    e["gseq"] = int(e["gseq"])
                    e["origin"] = int(e["origin"])
                    e["seq"] = int(e["seq"])
                    # a skip line may cover seq..skip_through under one gseq
                    e["last"] = int(e.get("skip_through", e["seq"])) if e.get("skip") else e["seq"]
                    if e["last"] < e["seq"]:
                        raise ValueError(f"skip_through {e['last']} below seq {e['seq']}")
                except (ValueError, KeyError, TypeError) as err:
                    self.bad("unparsable", f"{path}:{ln}: {err}")
                    continue
                out.append(e)
        return out

    def check(self, logs, acked_ids=(), same_end=False, late_start=False):
        """logs: {name: [entries]}. Returns True when nothing is wrong."""
        merged = {}  # gseq -> (key, name)
        ends = {}
        for name, entries in sorted(logs.items()):
            prev = None
            for e in entries:
                g = e["gseq"]
                if "gap_from" in e:
                    f = e["gap_from"]
                    if f != (prev or 0) + 1 or g < f:
                        self.bad("contiguity", f"{name}: marker {f}..{g} after gseq {prev}")
                    self.notes.append(f"{name} marks gseqs {f}..{g} as installed by snapshot")
                    prev = g
                    continue
                if prev is None:
                    if g != 1:
                        if late_start:
                            self.notes.append(f"{name} starts at gseq {g} (snapshot)")
                        else:
                            self.bad("contiguity", f"{name}: first gseq is {g}, not 1")
                elif g > prev + 1 and late_start:
                    # a node that installed a leader snapshot mid-stream has no log lines for
                    # the range the snapshot covered; the union below must still be whole
                    self.notes.append(f"{name} jumps from gseq {prev} to {g} (snapshot)")
                elif g != prev + 1:
                    self.bad("contiguity", f"{name}: gseq {g} follows {prev}")
                prev = g
                key = (e["origin"], e["seq"], e.get("id"), bool(e.get("skip")), e["last"])
                if g in merged:
                    if merged[g][0] != key:
                        self.bad("prefix", f"gseq {g}: {merged[g][1]} has "
                                 f"{fmt(merged[g][0])} but {name} has {fmt(key)}")
                else:
                    merged[g] = (key, name, e)
            ends[name] = prev or 0
        if same_end and len(set(ends.values())) > 1:
            self.bad("convergence", "nodes end at different gseqs: " +
                     ", ".join(f"{n}={g}" for n, g in sorted(ends.items())))
        if not merged:
            self.notes.append("no events")
        order = sorted(merged)
        first = 1 if not late_start or not order else order[0]
        if order and order != list(range(first, first + len(order))):
            self.bad("contiguity", "the union of the logs has holes")

        # duplicates and per-origin FIFO (skips fill gaps, so seqs run without holes; a skip
        # line with skip_through fills seq..skip_through)
        by_origin = {}  # origin -> ([seqs present, non-skip], [gseqs])
        seen_os, seen_id = {}, {}
        last_seq = {}
        ranges = {}  # origin -> [(first, last, gseq)] of multi-seq skips, in order
        skipped_seqs = 0
        for g in order:
            (o, s, eid, skip, t), name, e = merged[g]
            if skip:
                skipped_seqs += t - s + 1
            if (o, s) in seen_os:
                self.bad("duplicate", f"(origin {o}, seq {s}) at gseq {seen_os[(o, s)]} and {g}")
            rl = ranges.get(o, [])
            i = bisect.bisect_right(rl, (s, float("inf"), 0)) - 1
            if i >= 0 and rl[i][1] >= s:
                self.bad("duplicate", f"(origin {o}, seq {s}) at gseq {g} lies in the skip "
                         f"{rl[i][0]}..{rl[i][1]} at gseq {rl[i][2]}")
            if t > s:
                p = last_seq.get(o)
                if p is not None and s <= p:
                    self.bad("duplicate", f"origin {o}: skip {s}..{t} at gseq {g} overlaps "
                             f"seqs ordered through {p}")
                ranges.setdefault(o, []).append((s, t, g))
            seen_os[(o, s)] = g
            if eid and not skip:
                if eid in seen_id:
                    self.bad("duplicate", f"id {eid} at gseq {seen_id[eid]} and {g}")
                seen_id[eid] = g
            p = last_seq.get(o)
            if p is not None:
                if s <= p:
                    self.bad("fifo", f"origin {o}: seq {s} at gseq {g} after seq {p}")
                elif s != p + 1:
                    self.bad("fifo", f"origin {o}: seqs {p + 1}..{s - 1} missing before "
                             f"gseq {g} (no skip records)")
            elif s != 1 and not late_start:
                self.bad("fifo", f"origin {o}: first ordered seq is {s} (gseq {g}), not 1")
            last_seq[o] = max(t, p or 0)
            if not skip:
                lst = by_origin.setdefault(o, ([], []))
                if not lst[0] or s > lst[0][-1]:
                    lst[0].append(s)
                    lst[1].append(g)

        # happened-before: the latest event of o that e's clock covers must precede e
        hb_checked = 0
        for g in order:
            (o, s, eid, skip, _), name, e = merged[g]
            if skip:
                continue
            clock = parse_clock(e.get("clock"))
            if e.get("clock") is None:
                self.bad("clock", f"gseq {g}: no clock")
                continue
            if clock.get(o) != s:
                self.bad("clock", f"gseq {g}: origin {o} seq {s} but its clock says "
                         f"{o}:{clock.get(o)}")
            for co, cc in clock.items():
                if co == o or cc <= 0 or co not in by_origin:
                    continue
                seqs, gseqs = by_origin[co]
                i = bisect.bisect_right(seqs, cc) - 1
                if i < 0:
                    continue
                hb_checked += 1
                if gseqs[i] >= g:
                    self.bad("causality", f"gseq {g} (origin {o} seq {s}, clock "
                             f"{e.get('clock')}) is ordered before its cause (origin {co} "
                             f"seq {seqs[i]}) at gseq {gseqs[i]}")

        missing = [i for i in acked_ids if i not in seen_id]
        for i in missing:
            self.bad("lost", f"acknowledged event {i} is not in the order")
        self.summary = (f"{len(logs)} logs, {len(order)} gseqs, "
                        f"{sum(1 for g in order if merged[g][0][3])} skips "
                        f"({skipped_seqs} seqs), "
                        f"{len(by_origin)} origins, {hb_checked} causal edges checked, "
                        f"{len(acked_ids)} acked ids ({len(missing)} missing)")
        return not self.violations


def fmt(key):
    o, s, eid, skip, t = key
    what = (f"skip through {t}" if t > s else "skip") if skip else "id " + str(eid)
    return f"(origin {o}, seq {s}, {what})"


def find_logs(args):
    paths = []
    for a in args:
        if os.path.isdir(a):
            paths += sorted(glob.glob(os.path.join(a, "**", "ordered.log"), recursive=True))
        else:
            paths.append(a)
    return paths


def run(paths, acked_files, same_end, late_start, out=sys.stdout):
    c = Checker()
    logs = {}
    for p in paths:
        name = os.path.basename(os.path.dirname(os.path.abspath(p))) or p
        if name in logs:
            name = p
        logs[name] = c.load(p)
    acked = []
    for f in acked_files:
        with open(f) as fh:
            acked += [ln.strip() for ln in fh if ln.strip()]
    ok = c.check(logs, acked, same_end, late_start) and not c.violations
    for n in c.notes:
        print(f"check_order: note: {n}", file=out)
    for v in c.violations:
        print(f"check_order: VIOLATION {v}", file=out)
    print(f"check_order: {'OK' if ok else 'FAILED'}: {c.summary}", file=out)
    return ok, c


def self_test():
    def ev(g, o, s, clock, data=None):
        cid = f"{o:04x}{s:012x}" + "0" * 16
        return {"gseq": g, "origin": o, "seq": s, "id": cid,
                "clock": "{" + ", ".join(f"{k}:{v}" for k, v in sorted(clock.items())) + "}",
                "data": data or f"n{o}-{s}"}

    def skip(g, o, s, through=None):
        e = {"gseq": g, "origin": o, "seq": s, "skip": True}
        if through is not None:
            e["skip_through"] = through
        return e

    good = [ev(1, 1, 1, {1: 1}), ev(2, 2, 1, {2: 1}), ev(3, 2, 2, {1: 1, 2: 2}),
            skip(4, 1, 2), ev(5, 1, 3, {1: 3, 2: 2}), ev(6, 3, 1, {1: 3, 3: 1})]

    def marker(g, f):
        return {"gseq": g, "gap_from": f, "note": "installed by snapshot"}

    def swapped(log, i, j):
        log = [dict(e) for e in log]
        log[i]["gseq"], log[j]["gseq"] = log[j]["gseq"], log[i]["gseq"]
        log.sort(key=lambda e: e["gseq"])
        return log

    cases = {
        "good": ({"a": good, "b": good[:4]}, None),
        "swapped FIFO": ({"a": swapped(good, 1, 2)}, "fifo"),
        "causality": ({"a": swapped(good, 4, 5)}, "causality"),
        "duplicate": ({"a": good + [ev(7, 2, 2, {1: 1, 2: 2})]}, "duplicate"),
        "prefix disagreement": ({"a": good, "b": good[:2] + [ev(3, 3, 1, {3: 1})]}, "prefix"),
        "hole": ({"a": good[:3] + good[4:]}, "contiguity"),
        "gap without skip": ({"a": [ev(1, 1, 1, {1: 1}), ev(2, 1, 3, {1: 3})]}, "fifo"),
        "lost acked": ({"a": good}, "lost"),
        "different ends": ({"a": good, "b": good[:3]}, "convergence"),
        "snapshot marker": ({"a": good, "b": good[:1] + [marker(4, 2)] + good[4:]}, None),
        "marker over a hole": ({"a": good[:1] + [marker(4, 3)] + good[4:]}, "contiguity"),
        # a restarted origin: 2..4096 given up on in one line
        "skip range": ({"a": [ev(1, 1, 1, {1: 1}), skip(2, 1, 2, 4096),
                              ev(3, 2, 1, {1: 4096, 2: 1}), ev(4, 1, 4097, {1: 4097, 2: 1})],
                        "b": [ev(1, 1, 1, {1: 1}), skip(2, 1, 2, 4096)]}, None),
        "skip range over an ordered seq": ({"a": [ev(1, 1, 1, {1: 1}), ev(2, 1, 2, {1: 2}),
                                                  skip(3, 1, 2, 9)]}, "duplicate"),
        "event inside a skip range": ({"a": [ev(1, 1, 1, {1: 1}), skip(2, 1, 2, 9),
                                             ev(3, 1, 5, {1: 5})]}, "duplicate"),
        "skip ranges disagree": ({"a": [ev(1, 1, 1, {1: 1}), skip(2, 1, 2, 9)],
                                  "b": [ev(1, 1, 1, {1: 1}), skip(2, 1, 2, 8)]}, "prefix"),
        "gap after a skip range": ({"a": [skip(1, 1, 1, 9), ev(2, 1, 11, {1: 11})]}, "fifo"),
    }
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, (logs, expect) in cases.items():
            paths = []
            for node, entries in logs.items():
                d = os.path.join(tmp, name.replace(" ", "_"), node)
                os.makedirs(d)
                p = os.path.join(d, "ordered.log")
                with open(p, "w") as f:
                    for e in entries:
                        f.write(json.dumps(e) + "\n")
                paths.append(p)
            acked = []
            if expect == "lost":
                a = os.path.join(tmp, "acked")
                with open(a, "w") as f:
                    f.write(good[0]["id"] + "\n" + "ff" * 16 + "\n")
                acked = [a]
            sink = open(os.devnull, "w")
            ok, c = run(paths, acked, expect == "convergence", False, out=sink)
            sink.close()
            if expect is None:
                passed = ok
            else:
                passed = not ok and expect in c.counts
            print(f"self-test {name}: {'ok' if passed else 'WRONG'} "
                  f"(expected {expect or 'pass'}, found {sorted(c.counts) or 'nothing'})")
            failures += not passed
    print(f"check_order self-test: {len(cases) - failures}/{len(cases)} passed")
    return 0 if failures == 0 else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("logs", nargs="*", help="ordered.log files or directories holding them")
    ap.add_argument("--acked", action="append", default=[],
                    help="file of event ids (one per line) that must be in the order")
    ap.add_argument("--same-end", action="store_true", help="every log must end at one gseq")
    ap.add_argument("--late-start", action="store_true",
                    help="a log may start after gseq 1 (a node that caught up by snapshot)")
    ap.add_argument("--self-test", action="store_true", help="run against planted bad logs")
    a = ap.parse_args()
    if a.self_test:
        return self_test()
    paths = find_logs(a.logs)
    if not paths:
        print("check_order: no ordered.log given or found", file=sys.stderr)
        return 2
    ok, _ = run(paths, a.acked, a.same_end, a.late_start)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
