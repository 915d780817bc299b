#!/usr/bin/env python3
"""Every control-link TCP segment with payload in a capture is TLS, or is explained by the
capture itself: part of a TLS record tshark reassembled in a later frame, a retransmission, or
the tail of a record already in flight when the capture started (a connection whose SYN the
capture missed, before its first record header in that direction: tshark cannot see those
bytes as TLS). Anything else is a segment in clear, and fails; so does a capture without TLS.

usage: dissector_tls_segments.py PCAP PORT [tshark args...]   (e.g. -X lua_script:rumor.lua)
       dissector_tls_segments.py --fixture DIR   writes joined.pcap (passes) and clear.pcap
                                                 (fails): the checker's own test
"""
import os
import struct
import subprocess
import sys

FIELDS = ["frame.number", "tcp.stream", "ip.src", "tcp.srcport", "tcp.flags.syn", "tcp.len",
          "frame.protocols", "tcp.reassembled_in", "tcp.analysis.retransmission",
          "tcp.analysis.spurious_retransmission"]


def check(pcap, port, extra):
    cmd = ["tshark", "-n", "-r", pcap, *extra, "-Y", f"tcp.port == {port}", "-T", "fields",
           "-E", "separator=\t", "-E", "occurrence=f"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rows = [dict(zip(FIELDS, line.split("\t"))) for line in out.splitlines() if line]
    syn_seen = {r["tcp.stream"] for r in rows if r["tcp.flags.syn"] in ("1", "True")}
    tls_seen = set()  # directions (stream, src, port) with a TLS record dissected so far
    counts = {"tls": 0, "reassembled": 0, "retransmission": 0, "joined": 0}
    clear = []
    for r in rows:
        if int(r["tcp.len"] or 0) == 0:
            continue
        direction = (r["tcp.stream"], r["ip.src"], r["tcp.srcport"])
        if ":tls" in r["frame.protocols"]:
            tls_seen.add(direction)
            counts["tls"] += 1
        elif r["tcp.reassembled_in"]:
            counts["reassembled"] += 1
        elif r["tcp.analysis.retransmission"] or r["tcp.analysis.spurious_retransmission"]:
            counts["retransmission"] += 1
        elif r["tcp.stream"] not in syn_seen and direction not in tls_seen:
            counts["joined"] += 1
        else:
            clear.append(r["frame.number"])
    summary = ", ".join(f"{v} {k}" for k, v in counts.items())
    if clear:
        print(f"{len(clear)} control segments not TLS (frames {' '.join(clear[:20])}); "
              f"the others: {summary}")
        return 1
    if counts["tls"] == 0:
        print("no TLS record on the control links")
        return 1
    print(f"control segments with payload: {summary}")
    return 0


def fixture(d):
    def csum(b):
        if len(b) % 2:
            b += b"\0"
        s = sum(struct.unpack(f"!{len(b) // 2}H", b))
        s = (s >> 16) + (s & 0xFFFF)
        s += s >> 16
        return ~s & 0xFFFF

    def frame(src, dst, sp, dp, seq, ack, flags, payload):
        tcp = struct.pack("!HHIIBBHHH", sp, dp, seq, ack, 5 << 4, flags, 65535, 0, 0)
        ph = struct.pack("!4s4sBBH", bytes(src), bytes(dst), 0, 6, len(tcp) + len(payload))
        tcp = tcp[:16] + struct.pack("!H", csum(ph + tcp + payload)) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 1, 0, 64, 6, 0,
                         bytes(src), bytes(dst))
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + tcp + payload

    def record(n):
        return b"\x17\x03\x03" + struct.pack("!H", n) + os.urandom(n)

    a, b, c = [10, 0, 0, 1], [10, 0, 0, 2], [10, 0, 0, 3]
    for name, last in (("joined", record(40)), ("clear", b"HELLO node 2, in clear" * 2)):
        frames = [
            # an established link: the capture starts inside a record, then a whole one
            frame(a, b, 40000, 7100, 1000, 1, 0x18, os.urandom(100)),
            frame(a, b, 40000, 7100, 1100, 1, 0x18, record(32)),
            # a link dialled during the capture
            frame(c, b, 40001, 7100, 5000, 0, 0x02, b""),
            frame(b, c, 7100, 40001, 9000, 5001, 0x12, b""),
            frame(c, b, 40001, 7100, 5001, 9001, 0x10, b""),
            frame(c, b, 40001, 7100, 5001, 9001, 0x18, last),
        ]
        with open(os.path.join(d, f"{name}.pcap"), "wb") as out:
            out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for i, f in enumerate(frames):
                out.write(struct.pack("<IIII", 1700000000 + i, 0, len(f), len(f)) + f)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--fixture":
        fixture(sys.argv[2])
        sys.exit(0)
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    sys.exit(check(sys.argv[1], sys.argv[2], sys.argv[3:]))
