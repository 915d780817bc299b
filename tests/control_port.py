#!/usr/bin/env python3
"""Hostile clients of rumor-cp's sockets for tests/control_port.sh; each mode prints one JSON line.

  idle HOST PORT N HOLD_S [SRC]   open N TCP connections, send nothing, hold them HOLD_S
                                  seconds; report how many connected and how many the server
                                  had closed at 1 s, 5 s and at the end
  oversize HOST PORT N BYTES [SRC] N connections that each send, before any handshake, a frame
                                  header declaring 256 MiB and then up to BYTES bytes of it,
                                  held 3 s; report bytes the server took before closing
  api SOCK N                      N extra API clients (held open), then 17 watch requests on
                                  one more connection; report refusals and replies
"""
import json
import os
import select
import socket
import struct
import sys
import time


def closed_by_server(s):
    try:
        return s.recv(4096, socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def idle(host, port, n, hold, src=None):
    socks, pending = [], {}
    t0 = time.time()
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if src:
            s.bind((src, 0))
        s.setblocking(False)
        try:
            s.connect((host, port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            continue
        pending[s.fileno()] = s
    # wait for the connects (SYNs the backlog dropped are retried by the kernel)
    ep = select.epoll()
    for fd in pending:
        ep.register(fd, select.EPOLLOUT)
    end = time.time() + 15
    while pending and time.time() < end:
        for fd, _ in ep.poll(0.5):
            s = pending.pop(fd)
            ep.unregister(fd)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                socks.append(s)
            else:
                s.close()
    for s in pending.values():
        s.close()
    connected = len(socks)
    t_conn = time.time() - t0
    out = {"asked": n, "connected": connected, "connect_s": round(t_conn, 2)}
    marks = [(1, "closed_by_1s"), (5, "closed_by_5s")]
    start = time.time()
    while time.time() - start < hold:
        el = time.time() - start
        while marks and el >= marks[0][0]:
            out[marks.pop(0)[1]] = sum(closed_by_server(s) for s in socks)
        time.sleep(0.1)
    for _, k in marks:
        out[k] = sum(closed_by_server(s) for s in socks)
    out["closed_at_end"] = sum(closed_by_server(s) for s in socks)
    out["still_open_at_end"] = connected - out["closed_at_end"]
    for s in socks:
        s.close()
    print(json.dumps(out), flush=True)


def oversize(host, port, n, nbytes, src=None):
    hdr = struct.pack(">IIBBH", 256 << 20, 0, 3, 0, 0)  # RAFT frame of 256 MiB, before HELLO
    chunk = b"\xab" * 65536
    took, closed, refused, held = 0, 0, 0, []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if src:
            s.bind((src, 0))
        s.settimeout(2)
        try:
            s.connect((host, port))
        except OSError:
            refused += 1
            s.close()
            continue
        sent = 0
        try:
            s.sendall(hdr)
            while sent < nbytes:
                sent += s.send(chunk[:min(len(chunk), nbytes - sent)])
        except (socket.timeout, OSError):
            closed += 1  # the server closed (reset) or stopped reading
        took += sent
        held.append(s)
    # held open: a server that buffers what it was sent keeps it in memory meanwhile
    time.sleep(3)
    for s in held:
        s.close()
    print(json.dumps({"connections": n, "bytes_sent": took, "closed_early": closed,
                      "connect_failed": refused}), flush=True)


def api(path, n):
    held, refused, other = [], 0, 0
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
        except OSError:
            refused += 1
            s.close()
            continue
        held.append(s)
    time.sleep(0.5)
    for s in held:
        s.setblocking(False)
        try:
            d = s.recv(4096)
        except BlockingIOError:
            continue
        except OSError:
            refused += 1
            continue
        if b"too many API clients" in d:
            refused += 1
        elif d:
            other += 1
    open_now = len(held) - refused
    for s in held:
        s.close()
    time.sleep(0.3)
    # watches on one connection
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    f = s.makefile("rwb")
    ok, err, msg = 0, 0, ""
    for _ in range(17):
        f.write(b'{"cmd":"watch"}\n')
        f.flush()
        s.settimeout(3)
        while True:  # skip the stream's event lines: the reply says watching, or an error
            r = json.loads(f.readline() or b'{"ok": false, "error": "closed"}')
            if "watching" in r or "error" in r:
                break
        if r.get("ok"):
            ok += 1
        else:
            err += 1
            msg = r.get("error", "")
    s.close()
    mode = oct(os.stat(path).st_mode & 0o777)
    print(json.dumps({"clients_asked": n, "refused": refused, "unexpected_replies": other,
                      "held_open": open_now, "watch_ok": ok, "watch_refused": err,
                      "watch_error": msg, "socket_mode": mode}), flush=True)


def main():
    mode = sys.argv[1]
    if mode == "idle":
        idle(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]),
             sys.argv[6] if len(sys.argv) > 6 else None)
    elif mode == "oversize":
        oversize(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]),
                 sys.argv[6] if len(sys.argv) > 6 else None)
    elif mode == "api":
        api(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
