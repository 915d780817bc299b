#!/usr/bin/env python3
"""Tests rumor-load against a fake node API (no cluster): the fake refuses every third send
with "event store full" (sometimes before earlier requests are answered), answers the others
out of order (echoing the request tag, as rumor-cp does), and streams the accepted events as
ordered (spaced JSON: rumor-load's fast scanner must fall back to a full parse). rumor-load must retry every refusal,
never duplicate or lose an event, and report all of them applied.

usage: fake_node.py RUMOR_LOAD_BINARY
"""
import ctypes
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading


class H128(ctypes.Structure):
    _fields_ = [("low64", ctypes.c_uint64), ("high64", ctypes.c_uint64)]


try:
    XXH = ctypes.CDLL("libxxhash.so.0")
except OSError:
    print("SKIP: libxxhash.so.0 not loadable")
    sys.exit(77)
XXH.XXH3_128bits.restype = H128
XXH.XXH3_128bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]

ORIGIN = 7


def event_id(origin, seq, payload):
    buf = origin.to_bytes(2, "little") + seq.to_bytes(8, "little") + payload
    h = XXH.XXH3_128bits(buf, len(buf))
    return f"{h.high64:016x}{h.low64:016x}"


class Fake:
    def __init__(self):
        self.seq = 0
        self.gseq = 0
        self.accepted = []      # payloads in acceptance order
        self.refused = 0
        self.watchers = []
        self.streamed = set()
        self.lock = threading.Lock()
        self.rng = random.Random(1)

    def serve(self, conn):
        pending = []  # OK replies held back to answer out of order
        nreq = 0
        buf = b""
        conn.settimeout(0.05)

        def release(keep):
            while len(pending) > keep:
                rep, evs = pending.pop(self.rng.randrange(len(pending)))
                self.reply(conn, rep)
                self.order(evs)

        while True:
            try:
                chunk = conn.recv(65536)
            except socket.timeout:
                release(0)  # a real node answers every request eventually
                continue
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                req = json.loads(line)
                cmd = req.get("cmd")
                if cmd == "status":
                    self.reply(conn, {"ok": True, "node": ORIGIN})
                elif cmd == "watch":
                    with self.lock:  # registered before the answer: nothing slips by
                        self.watchers.append(conn)
                        self.reply(conn, {"ok": True, "watching": "ordered"})
                elif cmd == "send":
                    nreq += 1
                    if nreq % 3 == 0:
                        # refused ahead of the answers still held back, like a full queue
                        self.refused += 1
                        if os.environ.get("FAKE_DEBUG"):
                            print("refuse", req["batch"][0][:16], file=sys.stderr)
                        err = {"ok": False, "error": "dataplane refused the events: "
                               "No space left on device (event store full, retry later)"}
                        if "tag" in req:
                            err["tag"] = req["tag"]
                        self.reply(conn, err)
                    else:
                        rep, evs = self.accept(req["batch"])
                        # like rumor-cp: echo the tag; "ids": false gives a count instead
                        if "tag" in req:
                            rep["tag"] = req["tag"]
                        if req.get("ids") is False:
                            rep["count"] = len(rep.pop("ids"))
                        pending.append((rep, evs))
                    release(self.rng.randint(0, 2))

    def accept(self, batch):
        with self.lock:
            if os.environ.get("FAKE_DEBUG"):
                print("accept", batch[0][:16], len(batch), file=sys.stderr)
            first = self.seq + 1
            ids, evs = [], []
            for i, d in enumerate(batch):
                p = d.encode()
                self.seq += 1
                self.accepted.append(d)
                ids.append(event_id(ORIGIN, first + i, p))
                evs.append((first + i, ids[-1], d))
        return {"ok": True, "origin": ORIGIN, "first_seq": first, "ids": ids}, evs

    def order(self, evs):
        with self.lock:
            for seq, eid, d in evs:
                self.gseq += 1
                self.streamed.add(eid)
                for w in self.watchers:
                    self.reply(w, {"stream": "ordered", "event": {
                        "gseq": self.gseq, "origin": ORIGIN, "seq": seq, "id": eid, "data": d}})

    @staticmethod
    def reply(conn, obj):
        conn.sendall((json.dumps(obj) + "\n").encode())


def main():
    binary = sys.argv[1]
    events = 600
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "node-7.sock")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(4)
        fake = Fake()

        def accept_loop():
            while True:
                try:
                    c, _ = srv.accept()
                except OSError:
                    return
                threading.Thread(target=fake.serve, args=(c,), daemon=True).start()

        threading.Thread(target=accept_loop, daemon=True).start()
        acked = os.path.join(tmp, "acked")
        r = subprocess.run([binary, "-s", path, "--events", str(events), "--batch", "7",
                            "--pipeline", "4", "--kv", "0.3", "--wait-applied", "--timeout", "10",
                            "--acked-ids", acked, "--json"],
                           capture_output=True, text=True, timeout=60)
        srv.close()
        print(r.stdout.strip(), r.stderr.strip())
        ok = True
        if r.returncode != 0:
            print(f"FAIL: rumor-load exited {r.returncode}")
            ok = False
        summary = json.loads(r.stdout.strip().splitlines()[-1]) if r.stdout.strip() else {}
        uniq = {d for d in fake.accepted if not d.startswith("INCR")}
        logs = [d for d in fake.accepted if not d.startswith("INCR")]
        if len(fake.accepted) != events:
            print(f"FAIL: the node accepted {len(fake.accepted)} events for {events} sent")
            ok = False
        if len(uniq) != len(logs):
            from collections import Counter
            dup = [d for d, c in Counter(logs).items() if c > 1]
            print(f"FAIL: {len(dup)} events accepted twice (a retry duplicated them), e.g. {dup[:3]}")
            ok = False
        if fake.refused == 0:
            print("FAIL: the fake never refused: the retry path was not exercised")
            ok = False
        for key, want in (("acked", events), ("applied", events), ("lost", 0)):
            if summary.get(key) != want:
                print(f"FAIL: summary {key} = {summary.get(key)}, expected {want}")
                ok = False
        with open(acked) as f:
            ids = [ln.strip() for ln in f]
        n = len(ids)
        missing = [i for i in ids if i not in fake.streamed]
        if missing:
            print(f"note: {len(missing)} acked ids were never streamed by the fake itself")
        if n != events:
            print(f"FAIL: {n} acked ids written, expected {events}")
            ok = False
        print(f"fake node: {len(fake.accepted)} accepted, {fake.refused} refused requests: "
              f"{'ok' if ok else 'FAILED'}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
