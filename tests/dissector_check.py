#!/usr/bin/env python3
"""Compare what tools/wireshark/rumor.lua dissected from a capture (tshark -T json -e ...) with
`rumorctl events --json` for the same events (tests/dissector.sh). Exit 0 when they agree."""
import argparse
import json
import re
import sys

# The TCP dissector's own notes about the capture, not about rumorcp: a capture that starts
# mid-stream sees ACKs of segments sent before it, and a loaded box retransmits. rumorcp's
# own expert items (rumorcp.bad, rumorcp.bad_crc) never match these.
TCP_CAPTURE_NOTES = ("ACKed segment that wasn't captured", "Previous segment(s) not captured",
                     "This frame is a (suspected) retransmission",
                     "This frame is a (suspected) spurious retransmission",
                     "This frame is a (suspected) fast retransmission",
                     "This frame is a (suspected) out-of-order segment",
                     "Duplicate ACK", "TCP window", "Connection reset (RST)",
                     "Connection finish (FIN)", "Connection establish")


def tcp_capture_artifact(message):
    return message.startswith(TCP_CAPTURE_NOTES)


def layers(path):
    with open(path) as f:
        text = f.read().strip()
    return [p["_source"]["layers"] for p in (json.loads(text) if text else [])]


def one(L, k, default=None):
    v = L.get(k)
    if v is None:
        return default
    if len(v) != 1:
        raise ValueError(f"{k}: expected one value, got {v}")
    return v[0]


def many(L, k):
    return L.get(k, [])


def clock_text(nodes, ctrs):
    return "{" + ", ".join(f"{n}:{c}" for n, c in zip(nodes, ctrs)) + "}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", required=True, help="rumorctl --json events output")
    ap.add_argument("--gossip", required=True, help="tshark -T json of the rumor frames")
    ap.add_argument("--control", help="tshark -T json of the rumorcp frames")
    ap.add_argument("--prefix", default="", help="payload prefix of the test's own events")
    ap.add_argument("--expect", type=int, default=0, help="how many such events were sent")
    ap.add_argument("--auth", action="store_true",
                    help="every frame must carry an auth header addressed to its IP destination")
    ap.add_argument("--encrypted", action="store_true",
                    help="[auth] encrypt: every GOSSIP / PULL_RESP body must be shown as "
                         "ciphertext of the UDP payload's body length, never as events; "
                         "the plaintext header must still name our events")
    ap.add_argument("--min-multi", type=int, default=0,
                    help="at least this many frames must carry several events")
    a = ap.parse_args()

    errors = []

    def err(msg):
        if len(errors) < 40:
            print("MISMATCH:", msg)
        errors.append(msg)

    ev = json.load(open(a.events))
    if not ev.get("ok"):
        print("rumorctl events failed:", ev)
        return 1
    log = {}
    for e in ev["events"]:
        if e.get("skip") or e.get("rejected"):
            continue
        log[(e["origin"], e["seq"])] = e
    ours = {k: e for k, e in log.items()
            if isinstance(e.get("data"), str) and e["data"].startswith(a.prefix)}
    if a.expect and len(ours) != a.expect:
        err(f"the ordered log holds {len(ours)} events with prefix {a.prefix!r}, "
            f"{a.expect} were sent")

    frames = layers(a.gossip)
    seen = {}            # (origin, seq) -> frames that carried it
    counts = {}          # event_count -> frames
    nclock = 0
    hop_ctrs = {}        # (sender, counter) -> frame: a sender never reuses a counter
    nauth = nenc = 0
    for L in frames:
        fn = one(L, "frame.number")
        where = f"frame {fn}"
        for m in many(L, "_ws.expert.message"):
            if "drop" in m or "mismatch" in m or "malformed" in m.lower() or "truncated" in m:
                err(f"{where}: expert says {m!r}")
        ftype = int(one(L, "rumor.type"))
        origin = int(one(L, "rumor.origin"))
        first = int(one(L, "rumor.first_seq"))
        count = int(one(L, "rumor.event_count"))
        if a.auth:
            sender = int(one(L, "rumor.sender"))
            src, dst = (int(one(L, k).split(".")[-1]) for k in ("ip.src", "ip.dst"))
            keys = many(L, "rumor.auth.key_id")
            if len(keys) != 1:
                err(f"{where}: {len(keys)} auth headers")
            else:
                nauth += 1
                adst, ctr = int(one(L, "rumor.auth.dst")), int(one(L, "rumor.auth.counter"))
                if adst != dst or sender != src:
                    err(f"{where}: auth addressee {adst} / sender {sender} but IP "
                        f"{src} -> {dst} (data IPs end in the node id)")
                if (sender, ctr) in hop_ctrs:
                    err(f"{where}: sender {sender} counter {ctr} also in frame "
                        f"{hop_ctrs[(sender, ctr)]}")
                hop_ctrs[(sender, ctr)] = fn
        if ftype == 2:   # PULL_REQ: a header only
            continue
        if a.encrypted:
            elen = many(L, "rumor.enc.len")
            want = int(one(L, "udp.length")) - 8 - 28 - 52
            if one(L, "rumor.flags.enc") not in ("1", "True", "true"):
                err(f"{where}: F_ENC not shown on a frame of an encrypting cluster")
            if elen != [str(want)]:
                err(f"{where}: ciphertext length {elen}, the UDP payload's body is {want}")
            if many(L, "rumor.event.seq") or many(L, "rumor.clock"):
                err(f"{where}: ciphertext dissected as timestamp or events")
            counts[count] = counts.get(count, 0) + 1
            for seq in range(first, first + count):   # the header is plaintext
                if (origin, seq) in log:
                    seen.setdefault((origin, seq), []).append(fn)
            nenc += 1
            continue
        nclk = int(one(L, "rumor.clock_count"))
        nodes = [int(x) for x in many(L, "rumor.clock.node")]
        ctrs = [int(x) for x in many(L, "rumor.clock.counter")]
        if len(nodes) != nclk or len(ctrs) != nclk:
            err(f"{where}: clock_count {nclk} but {len(nodes)} nodes / {len(ctrs)} counters")
        if one(L, "rumor.clock") != clock_text(nodes, ctrs):
            err(f"{where}: clock text {one(L, 'rumor.clock')!r} != entries {nodes} {ctrs}")
        nclock += nclk
        seqs = [int(x) for x in many(L, "rumor.event.seq")]
        ids = many(L, "rumor.event.id")
        datas = many(L, "rumor.event.data")
        eclocks = many(L, "rumor.event.clock")
        if seqs != list(range(first, first + count)):
            err(f"{where}: event_count {count} from seq {first} but event seqs {seqs}")
        if len(ids) != count or len(eclocks) != count:
            err(f"{where}: event_count {count} but {len(ids)} ids, {len(eclocks)} clocks")
        if int(one(L, "rumor.last_seq")) != first + count - 1:
            err(f"{where}: last_seq {one(L, 'rumor.last_seq')} for {first}+{count}")
        if origin in nodes and ctrs[nodes.index(origin)] != first + count - 1:
            err(f"{where}: clock's origin entry {ctrs[nodes.index(origin)]} != last seq")
        counts[count] = counts.get(count, 0) + 1
        for i, (seq, eid) in enumerate(zip(seqs, ids)):
            e = log.get((origin, seq))
            if e is None:
                err(f"{where}: origin {origin} seq {seq} (id {eid}) is not in the ordered log")
                continue
            seen.setdefault((origin, seq), []).append(fn)
            if eid != e["id"]:
                err(f"{where}: origin {origin} seq {seq}: id {eid} != log's {e['id']}")
            if isinstance(e.get("data"), str) and (i >= len(datas) or datas[i] != e["data"]):
                err(f"{where}: origin {origin} seq {seq}: data "
                    f"{datas[i] if i < len(datas) else None!r} != log's {e['data']!r}")
            if "clock_text" in e and i < len(eclocks) and eclocks[i] != e["clock_text"]:
                err(f"{where}: origin {origin} seq {seq}: timestamp {eclocks[i]} != log's "
                    f"{e['clock_text']}")

    missing = [k for k in ours if k not in seen]
    if missing:
        err(f"{len(missing)} of our events in no dissected frame: {sorted(missing)[:10]}")
    noclock = [k for k in ours if "clock_text" not in ours[k]]
    if noclock:
        err(f"{len(noclock)} events without clock_text in rumorctl events: {noclock[:5]}")
    checked_clock = sum(1 for k in ours if k in seen and "clock_text" in ours[k])
    if a.encrypted:
        print(f"dissector_check: {len(frames)} gossip frames, {nenc} with an encrypted body "
              f"shown as ciphertext of the right length and no events (events per frame: "
              f"{dict(sorted(counts.items()))}); {len(ours)} test events, "
              f"{len(ours) - len(missing)} named by a frame header"
              if not errors else f"dissector_check: {len(errors)} mismatches")
        return 1 if errors else 0

    nrep = nrep_ids = ncp = nraft = 0
    batch = {}           # (raft index, position) -> (kind, origin, seq, id or last)
    if a.control:
        for L in layers(a.control):
            fn = one(L, "frame.number")
            for r in many(L, "rumorcp.batch.record"):
                idx, pos, kind, o, sq, key = r.split(":")
                k, v = (int(idx), int(pos)), (int(kind), int(o), int(sq), key)
                if batch.setdefault(k, v) != v:
                    err(f"control frame {fn}: raft entry {idx} record {pos} is {v} here, "
                        f"{batch[k]} elsewhere")
            ncp += len(many(L, "rumorcp.type"))
            nraft += len(many(L, "rumorcp.raft.type"))
            for ok in many(L, "rumorcp.crc_ok"):
                if ok not in ("1", "True", "true"):
                    err(f"control frame {fn}: CRC32C check failed ({ok})")
            for m in many(L, "_ws.expert.message"):
                if not tcp_capture_artifact(m):
                    err(f"control frame {fn}: expert says {m!r}")
            origins = many(L, "rumorcp.report.origin")
            firsts = many(L, "rumorcp.report.first_seq")
            rcounts = many(L, "rumorcp.report.count")
            rids = list(many(L, "rumorcp.report.id"))
            if sum(int(c) for c in rcounts) != len(rids):
                err(f"control frame {fn}: report counts {rcounts} but {len(rids)} ids")
                continue
            for o, f, c in zip(origins, firsts, rcounts):
                o, f, c = int(o), int(f), int(c)
                nrep += 1
                for s in range(f, f + c):
                    rid = rids.pop(0)
                    e = log.get((o, s))
                    if e is None:
                        err(f"control frame {fn}: report of origin {o} seq {s} not in the log")
                    elif e["id"] != rid:
                        err(f"control frame {fn}: report origin {o} seq {s}: id {rid} != "
                            f"log's {e['id']}")
                    else:
                        nrep_ids += 1
        if nrep == 0:
            err("no report record dissected on the control bridge")
        if nraft == 0:
            err("no raft message dissected on the control bridge")
        # the committed batches in raft index order are the global order rumorctl shows
        wire = [(o, sq, key) for (_, _), (kind, o, sq, key) in sorted(batch.items())
                if kind == 1]
        applied = [(e["origin"], e["seq"], e["id"]) for e in
                   sorted(ev["events"], key=lambda e: e["gseq"])
                   if not e.get("skip") and not e.get("rejected")]
        if wire != applied:
            for g, (w, l) in enumerate(zip(wire, applied), 1):
                if w != l:
                    err(f"order: position {g} is {w} in the raft entries, {l} in the log")
                    break
            err(f"order: {len(wire)} events in the captured batches, {len(applied)} in the log")

    multi = sum(n for c, n in counts.items() if c > 1)
    if multi < a.min_multi:
        err(f"{multi} frames with several events, expected at least {a.min_multi}")
    print(f"dissector_check: {len(frames)} gossip frames (events per frame: "
          f"{dict(sorted(counts.items()))}, {multi} with several), {nclock} clock entries; "
          f"{len(ours)} test events, all {len(ours) - len(missing)} seen agree on origin, seq, "
          f"id, data; {checked_clock} per-event timestamps equal clock_text"
          + (f"; {nauth} auth headers addressed to their IP destination, counters unique per "
             f"sender" if a.auth else "")
          + (f"; control: {ncp} frames, {nraft} raft messages, {nrep} report records "
             f"({nrep_ids} ids match), {len(batch)} batch records in raft entries in the log's "
             f"order" if a.control else "")
          if not errors else f"dissector_check: {len(errors)} mismatches")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
