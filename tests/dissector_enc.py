#!/usr/bin/env python3
"""tools/wireshark/rumor.lua on crafted frames, no cluster needed (issue 14, [auth] encrypt):
a pcap of sealed gossip frames whose body is ciphertext (flags 0x80 | 0x40), one plaintext
sealed frame beside them, an encrypted PULL_REQ and an F_ENC frame without auth header; tshark
dissects them and this checks that an encrypted body is shown as ciphertext of the right
length (no timestamp, no events, no drop note), the plaintext one as events, and the two
impossible ones with a drop note. Exit 0 on agreement, 77 without tshark.
usage: dissector_enc.py SOURCE_ROOT [LUA]  (tests/dissector.sh runs it as its "offline" phase)"""
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

F_AUTH, F_ENC = 0x80, 0x40


def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def frame(src, dst, rumor):
    udp = struct.pack("!HHHH", 7946, 7946, 8 + len(rumor), 0) + rumor
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                               bytes([10, 0, 0, src]), bytes([10, 0, 0, dst])))
    ip[10:12] = struct.pack("!H", csum(bytes(ip)))
    eth = bytes([2, 0, 0, 0, 0, dst, 2, 0, 0, 0, 0, src]) + b"\x08\x00"
    return eth + bytes(ip) + udp


def hdr(ftype, flags, origin, sender, seq, nev, nclk):
    return struct.pack("!IBBBBIHHQHH", 0x52554d52, 1, ftype, flags, 2, 7001, origin, sender, seq,
                       nev, nclk)


def auth(dst, ctr, nonce, rng):
    return struct.pack("!BBHQQ", 1, 1, dst, ctr, nonce) + rng.randbytes(32)


def body(origin, seq, payload):
    # clock {origin: seq}, one event: id (not checked by the dissector), length, payload
    return struct.pack("!HQ", origin, seq) + bytes(16) + struct.pack("!H", len(payload)) + payload


def flat(tree, out=None):
    """Every "field": value of a tshark -T json tree, by field name, in order."""
    out = {} if out is None else out
    if isinstance(tree, dict):
        for k, v in tree.items():
            if isinstance(v, str):
                out.setdefault(k, []).append(v)
            else:
                flat(v, out)
    elif isinstance(tree, list):
        for v in tree:
            if isinstance(v, str):
                continue
            flat(v, out)
    return out


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "."
    lua = sys.argv[2] if len(sys.argv) > 2 else os.path.join(src, "tools/wireshark/rumor.lua")
    if shutil.which("tshark") is None:
        print("SKIP: tshark not installed")
        return 77
    rng = random.Random(14)
    ctr = 27_000_000_000_000_000
    frames, want = [], []
    for k in range(6):   # encrypted GOSSIP / PULL_RESP: bodies of several lengths
        ftype = 1 if k % 2 == 0 else 3
        ct = rng.randbytes(38 + 13 * k)
        frames.append(frame(2, 1, hdr(ftype, F_AUTH | F_ENC, 2, 2, 10 + k, 1, 1) +
                            auth(1, ctr + k, 100 + k, rng) + ct))
        want.append(("enc", len(ct)))
    pt = b"SET plain 1"
    frames.append(frame(3, 1, hdr(1, F_AUTH, 3, 3, 5, 1, 1) + auth(1, ctr + 9, 9, rng) +
                        body(3, 5, pt)))
    want.append(("plain", pt.decode()))
    frames.append(frame(2, 1, hdr(2, F_AUTH | F_ENC, 2, 2, 3, 1, 0) + auth(1, ctr + 10, 0, rng)))
    want.append(("drop", "encrypted pull request"))
    frames.append(frame(2, 1, hdr(1, F_ENC, 2, 2, 4, 1, 1) + rng.randbytes(60)))
    want.append(("drop", "encrypted body without auth header"))

    with tempfile.TemporaryDirectory() as tmp:
        pcap = os.path.join(tmp, "enc.pcap")
        with open(pcap, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
            for i, fr in enumerate(frames):
                f.write(struct.pack("<IIII", 1_700_000_000 + i, 0, len(fr), len(fr)) + fr)
        # the whole tree (no -e: a dissector without the encrypted-body fields is then
        # judged by what it shows, not refused by tshark)
        r = subprocess.run(["tshark", "-n", "-r", pcap, "-X", "lua_script:" + lua, "-Y", "rumor",
                            "-T", "json"], capture_output=True, text=True)
    if r.returncode != 0:
        print("tshark failed:", r.stderr[-2000:])
        return 1
    got = [flat(p["_source"]["layers"]) for p in json.loads(r.stdout or "[]")]
    errors = []
    if len(got) != len(want):
        errors.append(f"{len(got)} rumor frames dissected, {len(want)} written")
    for L, (kind, val) in zip(got, want):
        fn = L.get("frame.number", ["?"])[0]
        notes = L.get("_ws.expert.message", [])
        drops = [m for m in notes if "drop" in m or "mismatch" in m or "malformed" in m.lower()
                 or "truncated" in m or "past frame" in m]
        events = L.get("rumor.event.seq", []) + L.get("rumor.clock", [])
        if kind == "enc":
            if L.get("rumor.enc.len") != [str(val)]:
                errors.append(f"frame {fn}: ciphertext length {L.get('rumor.enc.len')}, want {val}")
            if L.get("rumor.flags.enc") not in (["1"], ["True"], ["true"]):
                errors.append(f"frame {fn}: F_ENC not shown ({L.get('rumor.flags.enc')})")
            if events:
                errors.append(f"frame {fn}: ciphertext dissected as timestamp/events {events}")
            if drops:
                errors.append(f"frame {fn}: a well-formed encrypted frame got notes {drops}")
            if len(L.get("rumor.auth.key_id", [])) != 1:
                errors.append(f"frame {fn}: auth header not shown")
        elif kind == "plain":
            if L.get("rumor.event.data") != [val] or drops or L.get("rumor.enc.len"):
                errors.append(f"frame {fn}: plaintext frame dissected as {L}")
        else:
            if not any(val in m for m in notes) or events:
                errors.append(f"frame {fn}: want a note {val!r}, got {notes}, events {events}")
    for e in errors:
        print("MISMATCH:", e)
    print(f"dissector_enc: {len(got)} frames, {len(errors)} mismatches")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
