#!/usr/bin/env python3
"""attack_auth.sh's bookkeeping: per-node drop counters from `rumorctl --json status`
(dataplane.drops_by_reason, auth_* included) and their change against what rumor-craft says it
sent, reason by reason.

  attack_auth.py snap CTL "1 2 3" OUT.json
  attack_auth.py check BEFORE.json AFTER.json CRAFT.out [--nodes "1"] [--total]

check: every kind rumor-craft reports maps to a drop reason (noauth, badkey -> auth_no_key,
badtag -> auth_bad_tag, replay -> auth_replay, replay after the receiver restarted ->
auth_old_epoch with --restart); the counters summed over --nodes must have grown by exactly
what was sent. --total (tampered frames, one bit flipped anywhere in the UDP payload): the sum
of every rumor drop reason must have grown by what was sent (which reason depends on the bit).
"""
import json
import re
import subprocess
import sys

KIND_REASON = {"noauth": "auth_no_key", "badkey": "auth_no_key", "badtag": "auth_bad_tag",
               "replay": "auth_replay"}
# kernel IGMP/MLD on the data links (IP options): not a rumor frame, not the attacker's
NOISE = {"bad IPv4 header"}


def snap(ctl, nodes, out):
    res = {}
    for n in nodes.split():
        r = subprocess.run([ctl, "-n", n, "--json", "--timeout", "5000", "status"],
                           capture_output=True, text=True, timeout=20)
        d = json.loads(r.stdout)
        dp = d["dataplane"]
        res[n] = {"drops": dp["drops_by_reason"], "frames_new": dp["frames_new"],
                  "gossip_auth": dp.get("gossip_auth", "?")}
    json.dump(res, open(out, "w"))


def sent_of(path):
    txt = open(path).read()
    m = re.search(r"rumor-craft: sent(.*) failed=(\d+)", txt)
    if not m:
        sys.exit(f"no rumor-craft summary in {path}: {txt[-300:]}")
    kinds = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))}
    return kinds, int(m.group(2))


def check(before, after, craft, nodes=None, total=False, restart=False):
    a, b = json.load(open(before)), json.load(open(after))
    nodes = nodes.split() if nodes else sorted(a)
    kinds, failed = sent_of(craft)
    delta = {}
    for n in nodes:
        for k, v in b[n]["drops"].items():
            d = v - a[n]["drops"].get(k, 0)
            if d:
                delta[k] = delta.get(k, 0) + d
    ok = True
    sent = sum(kinds.values())
    if total:
        got = sum(v for k, v in delta.items() if k not in NOISE)
        print(f"  sent {kinds} (failed {failed}); dropped {got}: {delta}")
        ok = got == sent
    else:
        want = {}
        for k, v in kinds.items():
            r = "auth_old_epoch" if restart and k == "replay" else KIND_REASON[k]
            want[r] = want.get(r, 0) + v
        print(f"  sent {kinds} (failed {failed}); counted {delta}")
        for r, v in want.items():
            if delta.get(r, 0) != v:
                print(f"  {r}: counted {delta.get(r, 0)}, sent {v}")
                ok = False
        other = {k: v for k, v in delta.items() if k not in want and k not in NOISE}
        if other:
            print(f"  other drops meanwhile: {other}")
    print(f"  nodes {' '.join(nodes)}: {'OK' if ok else 'MISMATCH'}")
    return ok


def main():
    if len(sys.argv) >= 5 and sys.argv[1] == "snap":
        snap(sys.argv[2], sys.argv[3], sys.argv[4])
        return 0
    if len(sys.argv) >= 5 and sys.argv[1] == "check":
        args = sys.argv[5:]
        nodes = args[args.index("--nodes") + 1] if "--nodes" in args else None
        return 0 if check(sys.argv[2], sys.argv[3], sys.argv[4], nodes, "--total" in args,
                          "--restart" in args) else 1
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
