#!/usr/bin/env python3
"""Checks rumorctl --json output against tests/schemas/NAME.json (tests/rumorctl_schema.sh).

Usage: rumorctl_schema.py SCHEMA_DIR NAME FILE [--expect-fail] [--builtin]
       rumorctl_schema.py --fake RUMORCTL SCHEMA_DIR
FILE holds one JSON document or JSON lines (watch); every document must fit the schema (with
--expect-fail: at least one must not, to show the check is not vacuous). --fake runs
`rumorctl check/cluster` against fake nodes (Unix sockets answering status and members, no
root): healthy, hung, lagging, drops rising, dataplane dead, no leader, no quorum. Uses
python3-jsonschema when installed, else the small checker below (the schema subset the files
use: type, const, enum, pattern, minimum, minItems, properties, required,
additionalProperties, patternProperties, items).
"""
import json
import os
import re
import sys


def _type_ok(v, t):
    if isinstance(t, list):
        return any(_type_ok(v, x) for x in t)
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    kinds = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}
    return t in kinds and isinstance(v, kinds[t])


def small_check(v, s, path="$"):
    """Errors of @v against schema @s, as a list of strings."""
    errs = []
    if "type" in s and not _type_ok(v, s["type"]):
        return ["%s: %r is not of type %s" % (path, v, s["type"])]
    if "const" in s and (v != s["const"] or type(v) is not type(s["const"])):
        errs.append("%s: %r is not %r" % (path, v, s["const"]))
    if "enum" in s and v not in s["enum"]:
        errs.append("%s: %r is not one of %r" % (path, v, s["enum"]))
    if isinstance(v, str) and "pattern" in s and not re.search(s["pattern"], v):
        errs.append("%s: %r does not match %s" % (path, v, s["pattern"]))
    if _type_ok(v, "number") and "minimum" in s and v < s["minimum"]:
        errs.append("%s: %r below %r" % (path, v, s["minimum"]))
    if isinstance(v, list):
        if len(v) < s.get("minItems", 0):
            errs.append("%s: fewer than %d items" % (path, s["minItems"]))
        if "items" in s:
            for i, x in enumerate(v):
                errs += small_check(x, s["items"], "%s[%d]" % (path, i))
    if isinstance(v, dict):
        props = s.get("properties", {})
        for k in s.get("required", []):
            if k not in v:
                errs.append("%s: %r is a required property" % (path, k))
        for k, x in v.items():
            sub = "%s.%s" % (path, k)
            if k in props:
                errs += small_check(x, props[k], sub)
                continue
            pats = [p for p in s.get("patternProperties", {}) if re.search(p, k)]
            for p in pats:
                errs += small_check(x, s["patternProperties"][p], sub)
            if pats:
                continue
            extra = s.get("additionalProperties", True)
            if extra is False:
                errs.append("%s: additional property %r" % (path, k))
            elif isinstance(extra, dict):
                errs += small_check(x, extra, sub)
    return errs


def validator(schema):
    try:
        import jsonschema
    except ImportError:
        return "built-in checker", lambda doc: small_check(doc, schema)
    cls = jsonschema.validators.validator_for(schema)
    v = cls(schema)
    return "jsonschema %s" % cls.__name__, lambda doc: [
        "%s: %s" % ("$" + "".join("[%r]" % p for p in e.absolute_path), e.message)
        for e in v.iter_errors(doc)]


# ---------------------------------------------------------------- fake nodes (--fake)

def fake_status(node, role, leader, commit=40, applied=40, gseq=20, dp="alive", bad=0,
                digest="0123456789abcdef"):
    return {"ok": True, "node": node, "role": role, "term": 3, "leader": leader,
            "commit_index": commit, "last_applied": applied, "applied_gseq": gseq,
            "order_digest": digest, "waiting_payload": 0, "held_events": 0,
            "limits": {"api": {"clients": 1}, "net": {"inbound": 2}}, "uptime_s": 3725,
            "dataplane": {"state": dp, "rx_pkts": 10, "tx_pkts": 10, "frames_new": 5,
                          "frames_dup": 5, "drops": 9 + bad, "store_used": 10, "store_cap": 100,
                          "drops_by_reason": {"not IPv4": 9, "event id mismatch": bad},
                          "ts_drops": {"ts_window": 0}, "members": 3, "acks_queued": 0},
            "node_stats": {}, "disk": {"free_mb": 2048, "min_free_mb": 256, "refusing": False},
            "ring_backlog": {}, "payload_log": {}, "fsm": {}}


class FakeNode:
    """One API socket. behave: 'ok', 'hang' (accept, never answer) or 'gone' (no socket)."""

    def __init__(self, d, node, ids, **kw):
        import socket as so
        import threading
        self.node, self.ids, self.kw, self.calls = node, ids, kw, 0
        self.behave = kw.pop("behave", "ok")
        self.path = "%s/node-%d.sock" % (d, node)
        if self.behave == "gone":
            return
        self.s = so.socket(so.AF_UNIX, so.SOCK_STREAM)
        self.s.bind(self.path)
        self.s.listen(16)
        threading.Thread(target=self.serve, daemon=True).start()

    def reply(self, req):
        kw = dict(self.kw)
        self.calls += 1
        if kw.pop("bad_rising", False):
            kw["bad"] = self.calls  # every status shows more bad drops
        if req.get("cmd") == "status":
            return fake_status(self.node, **kw)
        if req.get("cmd") == "members":
            leader = kw.get("leader", 0)
            return {"ok": True, "members": [
                {"id": i, "role": "leader" if i == leader else "voter", "voter": True,
                 "control": "10.0.0.%d:7100" % i, "state": "self" if i == self.node else
                 "connected"} for i in self.ids]}
        return {"ok": False, "error": "unknown command"}

    def serve(self):
        import threading
        while True:
            c, _ = self.s.accept()
            threading.Thread(target=self.client, args=(c,), daemon=True).start()

    def client(self, c):
        buf = b""
        while True:
            data = c.recv(4096)
            if not data:
                return
            if self.behave == "hang":
                continue
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                c.sendall(json.dumps(self.reply(json.loads(line))).encode() + b"\n")


def fake_main(ctl, sdir):
    import subprocess
    import tempfile
    import time
    ok = {"role": "follower", "leader": 1}
    cases = [
        # name, {node: kwargs}, args, expected exit, text expected in the line
        ("healthy", {1: {"role": "leader", "leader": 1}, 2: ok, 3: ok}, [], 0, "OK"),
        ("hung node", {1: {"role": "leader", "leader": 1}, 2: ok, 3: dict(ok, behave="hang")},
         ["--timeout", "500"], 1, "member 3 down: no answer in time"),
        ("lagging", {1: {"role": "leader", "leader": 1, "commit": 300, "applied": 300},
                     2: dict(ok, applied=10), 3: dict(ok, applied=300)}, [],
         1, "member 2 lags 290 raft entries (over 100)"),
        ("lag under --max-lag", {1: {"role": "leader", "leader": 1}, 2: dict(ok, applied=10),
                                 3: ok}, ["--max-lag", "50"], 0, "OK"),
        ("event lag", {1: {"role": "leader", "leader": 1}, 2: dict(ok, gseq=5), 3: ok},
         ["--max-gseq-lag", "10"], 1, "member 2 lags 15 events"),
        ("drops rising", {1: {"role": "leader", "leader": 1}, 2: dict(ok, bad_rising=True),
                          3: ok}, ["--window", "200"], 1, "member 2 dropped"),
        ("dataplane dead", {1: {"role": "leader", "leader": 1}, 2: ok, 3: dict(ok, dp="DEAD")},
         [], 1, "member 3 dataplane DEAD"),
        ("no leader", {1: {"role": "candidate", "leader": 0}, 2: {"role": "follower",
                       "leader": 0}, 3: {"role": "follower", "leader": 0}}, [], 2, "no leader"),
        ("digests differ", {1: {"role": "leader", "leader": 1}, 2: ok,
                            3: dict(ok, digest="fedcba9876543210")}, [], 1,
         "ORDER DIGESTS DIFFER at gseq 20"),
        ("no quorum", {1: {"role": "leader", "leader": 1}, 2: dict(ok, behave="gone"),
                       3: dict(ok, behave="gone")}, [], 2, "1 of 3 voters reachable"),
        ("seed down, others found", {1: {"role": "leader", "leader": 1, "behave": "gone"},
                                     2: dict(ok, leader=0, role="candidate"),
                                     3: dict(ok, leader=0, role="candidate")},
         ["-n", "1"], 2, "no leader"),
    ]
    fails = 0
    for name, nodes, args, want, text in cases:
        with tempfile.TemporaryDirectory() as d:
            fakes = [FakeNode(d, i, sorted(nodes), **kw) for i, kw in nodes.items()]
            opts = [a for a in args if a in ("-n",)]
            glob_args = args[:2] if opts else []
            rest = args[2:] if opts else args
            env = dict(os.environ, RUMOR_RUN=d)
            t0 = time.time()
            line = subprocess.run([ctl] + glob_args + ["check"] + rest, env=env,
                                  capture_output=True, text=True, timeout=30)
            ms = (time.time() - t0) * 1000
            js = subprocess.run([ctl] + glob_args + ["--json", "cluster"] + rest, env=env,
                                capture_output=True, text=True, timeout=30)
            with open(d + "/cluster.json", "w") as f:
                f.write(js.stdout)
            with open("%s/cluster.json" % sdir) as f:
                schema = json.load(f)
            errs = small_check(json.loads(js.stdout or "null"), schema)
            good = (line.returncode == want and text in line.stdout and
                    js.returncode == want and not errs)
            fails += not good
            print("%s fake %-24s check exit %d (want %d) in %4.0f ms, cluster exit %d: %s%s" % (
                "ok  " if good else "FAIL", name, line.returncode, want, ms, js.returncode,
                line.stdout.strip() or line.stderr.strip(), "; schema: " + errs[0] if errs else ""))
            del fakes
    return 1 if fails else 0


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--fake":
        return fake_main(sys.argv[2], sys.argv[3])
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    expect_fail = "--expect-fail" in sys.argv
    builtin = "--builtin" in sys.argv
    if len(args) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    sdir, name, path = args
    with open("%s/%s.json" % (sdir, name)) as f:
        schema = json.load(f)
    how, check = ("built-in checker", lambda d: small_check(d, schema)) if builtin else \
        validator(schema)
    with open(path) as f:
        text = f.read()
    try:
        docs = [json.loads(text)]
    except ValueError:
        docs = [json.loads(line) for line in text.splitlines() if line.strip()]
    if not docs:
        print("FAIL %s: %s holds no JSON" % (name, path))
        return 1
    errs = []
    for d in docs:
        errs += check(d)
    if expect_fail:
        if errs:
            print("ok   %s (%s): a broken document is refused: %s" % (name, how, errs[0]))
            return 0
        print("FAIL %s (%s): a broken document passed" % (name, how))
        return 1
    if errs:
        print("FAIL %s (%s): %s" % (name, how, "; ".join(errs[:5])))
        return 1
    print("ok   %s (%s, %d document%s)" % (name, how, len(docs), "" if len(docs) == 1 else "s"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
