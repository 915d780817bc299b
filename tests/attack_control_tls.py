#!/usr/bin/env python3
"""Control-port attacker for tests/attack_control_tls.sh: speaks cp_net (TLS 1.3 + HELLO frames)
to a rumor-cp control port; each mode prints one JSON line saying what the server did.
  attack_control_tls.py HOST PORT CLUSTER TO MODE FROM VICTIM [CERT KEY]
HOST:PORT is node TO (the leader). modes: plain (HELLO as FROM without TLS), nocert (TLS without
a certificate, HELLO as FROM), cert (TLS with CERT/KEY, HELLO as FROM), report (TLS with FROM's
own CERT/KEY, HELLO as FROM, then reports naming reporter VICTIM, view assignments and repair
requests, none of which FROM, not the leader, may send)."""
import json
import os
import socket
import ssl
import struct
import sys
import time

_T = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    _T.append(c)


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = _T[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def frame(ftype, payload, app=0):
    tail = struct.pack(">BBH", ftype, 0, app)
    return struct.pack(">II", len(payload), crc32c(tail + payload)) + tail + payload


def hello(cluster, frm, to):
    return frame(1, struct.pack(">IIQQQ", 0x52554D52, 1, cluster, frm, to))


def report(origin, reporter, seq):
    # cp_report (big endian): origin, reporter, count, first_seq, n_ts, n_hc, ids
    return struct.pack(">HHHQHH", origin, reporter, 1, seq, 0, 0) + os.urandom(16)


def view_assign(src, dst):
    # rumor_view_msg v1: version, type 1 (VIEW_ASSIGN), flags, ttl, n_ids, src, dst, origin, epoch
    return struct.pack(">BBBBHIIII", 1, 1, 0, 0, 1, src, dst, 0, 1 << 30) + struct.pack(">I", src)


def repair(origin, to):
    # cp_repair (big endian): origin, n_to, first_seq, last_seq, to[]
    return struct.pack(">HHQQH", origin, 1, 1, 1, to)


def recv_some(s, timeout=3.0):
    """What the server does next: 'closed' (EOF/reset/alert) or the bytes it sent."""
    s.settimeout(timeout)
    try:
        b = s.recv(4096)
        return "closed" if not b else b
    except socket.timeout:
        return "timeout"
    except (ssl.SSLError, OSError) as e:
        return "closed:" + type(e).__name__ + ":" + str(e)[:80]


def tls_wrap(raw, cert=None, key=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the attacker does not care who the server is
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx.wrap_socket(raw, do_handshake_on_connect=False)


def main():
    host, port, cluster, to, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    frm, victim = int(sys.argv[6]), int(sys.argv[7])
    cert = sys.argv[8] if len(sys.argv) > 8 else None
    key = sys.argv[9] if len(sys.argv) > 9 else None
    out = {"mode": mode}
    raw = socket.create_connection((host, port), timeout=5)
    if mode == "plain":
        raw.sendall(hello(cluster, frm, to))
        r = recv_some(raw)
        out["refused"] = isinstance(r, str) and r.startswith("closed")
        out["server"] = r if isinstance(r, str) else "sent %d bytes" % len(r)
        print(json.dumps(out))
        return
    s = tls_wrap(raw, cert if mode != "nocert" else None, key if mode != "nocert" else None)
    try:
        s.do_handshake()
        out["handshake"] = "done"  # TLS 1.3: the server judges our certificate after this
    except (ssl.SSLError, OSError) as e:
        out["handshake"] = "failed: " + str(e)[:100]
        out["refused"] = True
        print(json.dumps(out))
        return
    try:
        s.sendall(hello(cluster, frm, to))
    except (ssl.SSLError, OSError) as e:
        out["refused"] = True
        out["server"] = "closed on send: " + str(e)[:80]
        print(json.dumps(out))
        return
    r = recv_some(s)
    acked = isinstance(r, bytes) and len(r) >= 12 and r[8] == 2
    out["acked"] = acked
    if mode != "report":
        out["refused"] = not acked
        out["server"] = r if isinstance(r, str) else "sent %d bytes (type %d)" % (len(r), r[8])
        print(json.dumps(out))
        return
    if not acked:
        out["error"] = "node %d's own HELLO was not acknowledged: %r" % (frm, r)
        print(json.dumps(out))
        sys.exit(1)
    n = int(os.environ.get("RCT_FORGED", "20"))
    for i in range(n):
        s.sendall(frame(4, report(victim, victim, 1000000 + i), app=1))  # REPORTS as VICTIM
        s.sendall(frame(4, view_assign(frm, to), app=2))  # VIEW assignment from a non-leader
        s.sendall(frame(4, repair(victim, frm), app=5))    # REPAIR from a non-leader
    time.sleep(0.5)
    r = recv_some(s, 0.5)
    out["sent_each"] = n
    out["link_after"] = "open" if r == "timeout" else str(r)[:60]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
