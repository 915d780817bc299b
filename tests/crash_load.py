#!/usr/bin/env python3
"""Load for the crash tests: `send --wait` from several nodes at once over their API sockets,
one line per acknowledgment (node id gseq seq) in an append-only file, and (with --kill) SIGKILL
of every given pid in one go right after the Nth acknowledgment, while requests are in flight.

usage: crash_load.py --run DIR --nodes "1 2 3" --acks N --out FILE [--kill "PID..."]
                     [--tag T] [--pipeline P] [--kv F] [--timeout S] [--seed N]
       crash_load.py --run DIR --nodes "1 2 3" --leader [--timeout S]   (prints the leader)
       crash_load.py --run DIR --nodes "1 2 3" --settle G --data DIR [--timeout S]
Without --kill it sends exactly N events and waits for all of them (the idle control runs).
--settle waits until every node applied one gseq >= G, waits for no payload and logged it.
Exit: 0 ok, 1 no progress within --timeout (prints what is missing), 2 usage, 3 unreachable.
"""
import argparse
import json
import os
import random
import selectors
import signal
import socket
import sys
import time


class Node:
    def __init__(self, nid, path):
        self.id = nid
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.sock.setblocking(False)
        self.rbuf = b""
        self.inflight = {}  # tag -> data
        self.retry = []     # data refused for lack of room: sent again later
        self.k = 0          # events made so far


def status(run, nid):
    """One node's status object, or None when it does not answer."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(os.path.join(run, f"node-{nid}.sock"))
            s.sendall(b'{"cmd":"status"}\n')
            buf = b""
            while b"\n" not in buf:
                chunk = s.recv(1 << 16)
                if not chunk:
                    return None
                buf += chunk
        return json.loads(buf.split(b"\n", 1)[0])
    except (OSError, ValueError):
        return None


def log_last(data, nid):
    try:
        with open(os.path.join(data, f"node-{nid}", "ordered.log"), "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 65536))
            lines = f.read().splitlines()
        return int(json.loads(lines[-1])["gseq"]) if lines else 0
    except (OSError, ValueError, KeyError, IndexError):
        return 0


def poll(a):
    """--leader: every node names one leader that is among them; --settle G: every node
    applied the same gseq >= G, waits for no payload, and its ordered.log ends there."""
    nodes = [int(n) for n in a.nodes.split()]
    end = time.monotonic() + a.timeout
    while True:
        st = {n: status(a.run, n) for n in nodes}
        if a.leader:
            ls = {d.get("leader") if d else None for d in st.values()}
            if len(ls) == 1 and ls.pop() in nodes:
                print(st[nodes[0]]["leader"])
                return 0
        else:
            ap = {n: (d.get("applied_gseq"), d.get("waiting_payload")) if d else None
                  for n, d in st.items()}
            gs = {v[0] for v in ap.values() if v}
            if (None not in ap.values() and len(gs) == 1 and
                    all(w == 0 for _, w in ap.values())):
                g = gs.pop()
                if g >= a.settle and all(log_last(a.data, n) == g for n in nodes):
                    print(g)
                    return 0
        if time.monotonic() >= end:
            return 1
        time.sleep(0.1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--nodes", required=True)
    ap.add_argument("--leader", action="store_true", help="wait for one agreed leader")
    ap.add_argument("--settle", type=int, default=None, help="wait until all applied this")
    ap.add_argument("--data", help="the nodes' data dirs (--settle)")
    ap.add_argument("--acks", type=int)
    ap.add_argument("--out")
    ap.add_argument("--kill", default="")
    ap.add_argument("--tag", default="x")
    ap.add_argument("--pipeline", type=int, default=4)
    ap.add_argument("--kv", type=float, default=0.2)
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()
    if a.leader or a.settle is not None:
        return poll(a)
    if a.acks is None or not a.out:
        ap.error("--acks and --out are required for load")
    rnd = random.Random(a.seed)
    pids = [int(p) for p in a.kill.split()]
    out = os.open(a.out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    sel = selectors.DefaultSelector()
    nodes = []
    for nid in a.nodes.split():
        try:
            n = Node(int(nid), os.path.join(a.run, f"node-{nid}.sock"))
        except OSError as e:
            print(f"crash_load: node {nid} unreachable: {e}", file=sys.stderr)
            return 3
        sel.register(n.sock, selectors.EVENT_READ, n)
        nodes.append(n)

    tag = 0
    sent = acked = 0
    killed_at = None
    errors = {}

    def payload(n):
        n.k += 1
        h = rnd.random()
        if h < a.kv / 2:
            return "INCR c"
        if h < a.kv:
            return f"SET k{rnd.randrange(64)} {a.tag}-{n.id}-{n.k}"
        pad = "".join(rnd.choice("abcdefghij") for _ in range(rnd.randrange(8, 120)))
        return f"{a.tag}-{n.id}-{n.k} {pad}"

    def fill(n):
        nonlocal tag, sent
        while len(n.inflight) < a.pipeline and (pids or sent < a.acks):
            data = n.retry.pop(0) if n.retry else None
            if data is None:
                if not pids and sent >= a.acks:
                    break
                data = payload(n)
                sent += 1
            tag += 1
            n.inflight[tag] = data
            line = json.dumps({"cmd": "send", "data": data, "wait": True, "tag": tag}) + "\n"
            n.sock.setblocking(True)
            n.sock.sendall(line.encode())
            n.sock.setblocking(False)

    def handle(n, r):
        nonlocal acked
        t = r.get("tag")
        data = n.inflight.pop(t, None)
        if r.get("ok") and "gseq" in r:
            os.write(out, f"{n.id} {r['id']} {r['gseq']} {r['seq']}\n".encode())
            acked += 1
            return
        err = str(r.get("error"))
        errors[err] = errors.get(err, 0) + 1
        # refused for lack of room: never originated, so the same data again is not a duplicate
        if data is not None and ("retry" in err or "full" in err):
            n.retry.append(data)

    def read(n):
        try:
            chunk = n.sock.recv(1 << 16)
        except BlockingIOError:
            return True
        except OSError:
            chunk = b""
        if not chunk:
            return False
        n.rbuf += chunk
        while b"\n" in n.rbuf:
            line, n.rbuf = n.rbuf.split(b"\n", 1)
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if "stream" not in r:
                handle(n, r)
        return True

    for n in nodes:
        fill(n)
    last_progress = time.monotonic()
    while True:
        if pids and acked >= a.acks:
            for p in pids:  # back to back: no node outlives another by more than microseconds
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            killed_at = acked
            break
        if not pids and acked >= a.acks:
            break
        ev = sel.select(timeout=0.5)
        before = acked
        for key, _ in ev:
            n = key.data
            if not read(n):
                print(f"crash_load: node {n.id} closed the connection", file=sys.stderr)
                return 3
            fill(n)
        if acked != before:
            last_progress = time.monotonic()
        elif time.monotonic() - last_progress > a.timeout:
            missing = sum(len(n.inflight) for n in nodes)
            print(f"crash_load: no acknowledgment for {a.timeout:.0f} s: {acked} acked, "
                  f"{missing} in flight, errors {errors}", file=sys.stderr)
            return 1
    late = 0
    if killed_at is not None:
        # acknowledgments already in our socket buffers were sent before the kill: they count
        for n in nodes:
            n.sock.setblocking(True)
            n.sock.settimeout(0.5)
            while True:
                try:
                    before = acked
                    if not read(n):
                        break
                    late += acked - before
                except (socket.timeout, OSError):
                    break
    print(f"crash_load: {acked} acked ({late} read after the kill), "
          f"{sum(len(n.inflight) for n in nodes)} in flight at the end, errors {errors or 'none'}"
          + (f", SIGKILL to {len(pids)} processes after ack {killed_at}" if pids else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
