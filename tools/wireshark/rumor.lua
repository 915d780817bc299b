-- Wireshark/tshark dissector for rumor: gossip frames on the data network (UDP 7946, the
-- common/rumor_wire.h codec) and the rumor-cp control protocol (TCP 7100, controlplane/io/cp_net.c).
-- Load: tshark -X lua_script:tools/wireshark/rumor.lua ...  (README.md beside this file)
--
-- The checks mirror rumor_wire_decode_rumor(): a frame the dataplane would drop gets an expert
-- note naming the reason, so a capture shows why a node counted a drop. Event ids and the auth
-- header's GMAC tags are shown but not recomputed (no XXH3 or AES in Lua, no keyring), and an
-- encrypted body (flags 0x40, [auth] encrypt) is shown as ciphertext, not parsed. A TLS
-- control link is handed to Wireshark's TLS dissector (decrypted with tls.keylog_file).

local RUMOR_MAGIC = 0x52554d52 -- "RUMR", the gossip header and the control HELLO alike
local HDR_LEN = 28             -- RUMOR_WIRE_HDR_LEN
local EV_HDR_LEN = 18          -- 16-byte id + u16 length
local VC_ENTRY = 10            -- u16 node + u64 counter
local NODE_ID_MAX = 1023       -- RUMOR_NODE_ID_MAX
local VC_MAX = 256             -- RUMOR_VC_MAX_ENTRIES
local MAX_EVENTS = 128         -- RUMOR_WIRE_MAX_EVENTS
local AUTH_LEN = 52            -- RUMOR_WIRE_AUTH_LEN: after the fixed header when flags & 0x80

-------------------------------------------------------------------------------------------
-- Gossip (data network)
-------------------------------------------------------------------------------------------
local gossip = Proto("rumor", "rumor gossip")

local frame_types = { [1] = "GOSSIP", [2] = "PULL_REQ", [3] = "PULL_RESP" }

local gf = {
	magic = ProtoField.uint32("rumor.magic", "Magic", base.HEX),
	version = ProtoField.uint8("rumor.version", "Version"),
	type = ProtoField.uint8("rumor.type", "Type", base.DEC, frame_types),
	flags = ProtoField.uint8("rumor.flags", "Flags", base.HEX),
	flag_auth = ProtoField.bool("rumor.flags.auth", "Auth header (F_AUTH)", 8, nil, 0x80),
	flag_enc = ProtoField.bool("rumor.flags.enc", "Encrypted body (F_ENC)", 8, nil, 0x40),
	rounds = ProtoField.uint8("rumor.rounds_left", "Rounds left"),
	cluster = ProtoField.uint32("rumor.cluster_id", "Cluster id"),
	origin = ProtoField.uint16("rumor.origin", "Origin"),
	sender = ProtoField.uint16("rumor.sender", "Sender (this hop)"),
	first_seq = ProtoField.uint64("rumor.first_seq", "First seq"),
	last_seq = ProtoField.uint64("rumor.last_seq", "Last seq"),
	event_count = ProtoField.uint16("rumor.event_count", "Event count"),
	clock_count = ProtoField.uint16("rumor.clock_count", "Clock entries"),
	auth = ProtoField.none("rumor.auth", "Auth header"),
	auth_key = ProtoField.uint8("rumor.auth.key_id", "Key id"),
	auth_alg = ProtoField.uint8("rumor.auth.alg", "Algorithm", base.DEC, { [1] = "AES-256-GMAC" }),
	auth_dst = ProtoField.uint16("rumor.auth.dst", "Addressee node"),
	auth_ctr = ProtoField.uint64("rumor.auth.counter", "Sender counter"),
	-- the counter is the sender's wall clock in 64 ns units (rumor_auth.h)
	auth_time = ProtoField.absolute_time("rumor.auth.time", "Counter as the sender's clock",
		base.UTC),
	auth_nonce = ProtoField.uint64("rumor.auth.nonce", "Body nonce"),
	auth_bodytag = ProtoField.bytes("rumor.auth.body_tag", "Body tag"),
	auth_hoptag = ProtoField.bytes("rumor.auth.hop_tag", "Hop tag"),
	-- [auth] encrypt: the body (clock and events) is AES-256-GCM ciphertext, its GCM tag in
	-- the body tag's place; without the key the dissector shows only its length
	enc_body = ProtoField.bytes("rumor.enc.body", "Encrypted body"),
	enc_len = ProtoField.uint16("rumor.enc.len", "Ciphertext length"),
	clock = ProtoField.string("rumor.clock", "Timestamp"),
	clock_node = ProtoField.uint16("rumor.clock.node", "Node"),
	clock_ctr = ProtoField.uint64("rumor.clock.counter", "Counter"),
	event = ProtoField.none("rumor.event", "Event"),
	ev_seq = ProtoField.uint64("rumor.event.seq", "Seq"),
	ev_id = ProtoField.string("rumor.event.id", "Id"),
	ev_idb = ProtoField.bytes("rumor.event.id_bytes", "Id bytes"),
	ev_len = ProtoField.uint16("rumor.event.len", "Length"),
	ev_payload = ProtoField.bytes("rumor.event.payload", "Payload"),
	ev_data = ProtoField.string("rumor.event.data", "Data"),
	ev_clock = ProtoField.string("rumor.event.clock", "Event timestamp"),
}
gossip.fields = gf

local ge = {
	bad = ProtoExpert.new("rumor.bad", "Frame the dataplane drops", expert.group.MALFORMED,
			      expert.severity.ERROR),
	pull = ProtoExpert.new("rumor.pull", "Pull request", expert.group.SEQUENCE,
			       expert.severity.NOTE),
	noauth = ProtoExpert.new("rumor.noauth", "Frame without auth header", expert.group.SECURITY,
				 expert.severity.WARN),
}
gossip.experts = ge

gossip.prefs.port = Pref.uint("UDP port", 7946, "The [gossip] port of rumor.conf")
gossip.prefs.cluster = Pref.uint("Cluster id", 0,
				 "Flag frames of another cluster (0: accept any; rumor.conf [cluster] id)")

local function hex(tvbr)
	return tvbr:bytes():tohex():lower()
end

-- "{1:3, 2:7}" as rumor_vc_format() writes it (rumorctl's clock_text)
local function vc_text(nodes, ctrs)
	local parts = {}
	for i = 1, #nodes do
		parts[i] = nodes[i] .. ":" .. tostring(ctrs[i])
	end
	return "{" .. table.concat(parts, ", ") .. "}"
end

local function printable(tvbr)
	local s = tvbr:raw()
	if s:find("[^\32-\126\t\r\n]") then
		return nil
	end
	return s
end

-- Decode the rumor part (the UDP payload). Returns bytes used, or 0 when it is not rumor.
local function dissect_gossip(tvb, pinfo, tree)
	local len = tvb:len()
	if len < 4 or tvb(0, 4):uint() ~= RUMOR_MAGIC then
		return 0
	end
	pinfo.cols.protocol = "RUMOR"
	local t = tree:add(gossip, tvb(), "rumor gossip")
	local function bad(item, why)
		item:add_proto_expert_info(ge.bad, why)
		pinfo.cols.info:append(" [drop: " .. why .. "]")
	end
	t:add(gf.magic, tvb(0, 4))
	if len < HDR_LEN then
		bad(t, "truncated")
		return len
	end
	local ver = t:add(gf.version, tvb(4, 1))
	local ftype = tvb(5, 1):uint()
	local ti = t:add(gf.type, tvb(5, 1))
	local fl = t:add(gf.flags, tvb(6, 1))
	fl:add(gf.flag_auth, tvb(6, 1))
	fl:add(gf.flag_enc, tvb(6, 1))
	local enc = bit.band(tvb(6, 1):uint(), 0x40) ~= 0 -- RUMOR_WIRE_F_ENC
	t:add(gf.rounds, tvb(7, 1))
	local ci = t:add(gf.cluster, tvb(8, 4))
	local origin = tvb(12, 2):uint()
	local sender = tvb(14, 2):uint()
	local oi = t:add(gf.origin, tvb(12, 2))
	local si = t:add(gf.sender, tvb(14, 2))
	local first = tvb(16, 8):uint64()
	local fi = t:add(gf.first_seq, tvb(16, 8))
	local nev = tvb(24, 2):uint()
	local nclk = tvb(26, 2):uint()
	local ei = t:add(gf.event_count, tvb(24, 2))
	local cki = t:add(gf.clock_count, tvb(26, 2))
	local last = first + (nev > 0 and nev - 1 or 0)
	t:add(gf.last_seq, tvb(16, 8), last):set_generated()

	local tname = frame_types[ftype] or ("type " .. ftype)
	pinfo.cols.info = string.format("%s origin %d seq %s", tname, origin, tostring(first))
	if nev > 1 then
		pinfo.cols.info:append("-" .. tostring(last))
	end
	pinfo.cols.info:append(string.format(" (%d event%s) sender %d rounds %d", nev,
					     nev == 1 and "" or "s", sender, tvb(7, 1):uint()))
	t:append_text(string.format(", %s, origin %d, seq %s, %d event(s)", tname, origin,
				    tostring(first), nev))

	if tvb(4, 1):uint() ~= 1 then
		bad(ver, "bad version")
		return len
	end
	if not frame_types[ftype] then
		bad(ti, "unknown frame type")
		return len
	end
	if gossip.prefs.cluster ~= 0 and tvb(8, 4):uint() ~= gossip.prefs.cluster then
		bad(ci, "other cluster")
	end
	if origin < 1 or origin > NODE_ID_MAX then bad(oi, "bad node id") end
	if sender < 1 or sender > NODE_ID_MAX then bad(si, "bad node id") end
	if first == UInt64(0) then bad(fi, "bad sequence") end
	if nclk > VC_MAX then
		bad(cki, "clock count over bound")
		return len
	end

	-- the auth header (flags 0x80): per hop like the fixed header; the tags are GMACs this
	-- dissector shows but cannot check (no AES in Lua, and no keyring)
	local off = HDR_LEN
	if tvb(6, 1):uint() >= 0x80 then -- RUMOR_WIRE_F_AUTH, the flags' top bit
		if len - off < AUTH_LEN then
			bad(t, "truncated")
			return len
		end
		local at = t:add(gf.auth, tvb(off, AUTH_LEN))
		at:add(gf.auth_key, tvb(off, 1))
		at:add(gf.auth_alg, tvb(off + 1, 1))
		at:add(gf.auth_dst, tvb(off + 2, 2))
		at:add(gf.auth_ctr, tvb(off + 4, 8))
		do
			local ns = tvb(off + 4, 8):uint64() * 64
			local sec = ns / 1000000000
			at:add(gf.auth_time, tvb(off + 4, 8),
				NSTime.new(sec:tonumber(), (ns - sec * 1000000000):tonumber())):set_generated()
		end
		at:add(gf.auth_nonce, tvb(off + 12, 8))
		local bt = at:add(gf.auth_bodytag, tvb(off + 20, 16))
		if enc then bt:append_text(" (the body's GCM tag)") end
		at:add(gf.auth_hoptag, tvb(off + 36, 16))
		at:set_text(string.format("Auth header: key %d, to node %d, counter %s", tvb(off, 1):uint(),
			tvb(off + 2, 2):uint(), tostring(tvb(off + 4, 8):uint64())))
		off = off + AUTH_LEN
	else
		t:add_proto_expert_info(ge.noauth, "no auth header: a node with a keyring refuses it (auth_no_key)")
	end

	if enc then
		-- a node takes ciphertext only sealed (auth header) and never in a PULL_REQ; one
		-- configured without encrypt drops it, one with it opens it (dp_node.c enc_open)
		if tvb(6, 1):uint() < 0x80 then
			bad(fl, "encrypted body without auth header")
			return len
		end
		if ftype == 2 then
			bad(fl, "encrypted pull request (auth_enc_unexpected)")
			return len
		end
		local blen = len - off
		local eb = t:add(gf.enc_body, tvb(off, blen))
		eb:set_text(string.format("Encrypted body: %d bytes (AES-256-GCM: timestamp and events)",
					  blen))
		t:add(gf.enc_len, tvb(off, blen), blen):set_generated()
		pinfo.cols.info:append(string.format(" [encrypted body, %d bytes]", blen))
		return len
	end

	if ftype == 2 then
		t:add_proto_expert_info(ge.pull, "asks " .. sender .. "'s peer for these seqs")
		if nclk ~= 0 then bad(cki, "clock count over bound") end
		if nev == 0 or nev > MAX_EVENTS or len ~= off then bad(ei, "event count mismatch") end
		return len
	end

	-- the timestamp shared by the frame's events
	local body0 = off
	if len - off < nclk * VC_ENTRY then
		bad(cki, "truncated")
		return len
	end
	local nodes, ctrs = {}, {}
	local ct = t:add(tvb(off, nclk * VC_ENTRY), "Timestamp")
	local prev, origin_ctr, clock_ok = 0, nil, true
	for i = 1, nclk do
		local n = tvb(off, 2):uint()
		local c = tvb(off + 2, 8):uint64()
		local e = ct:add(tvb(off, VC_ENTRY), string.format("%d:%s", n, tostring(c)))
		e:add(gf.clock_node, tvb(off, 2))
		e:add(gf.clock_ctr, tvb(off + 2, 8))
		if n < 1 or n > NODE_ID_MAX or c == UInt64(0) or n <= prev then
			clock_ok = false
			e:add_proto_expert_info(ge.bad, "malformed clock")
		end
		if n == origin then origin_ctr = c end
		prev = n
		nodes[i], ctrs[i] = n, c
		off = off + VC_ENTRY
	end
	local text = vc_text(nodes, ctrs)
	ct:set_text("Timestamp: " .. text)
	-- the string value itself is the text (for -T fields / -T json)
	t:add(gf.clock, tvb(body0, nclk * VC_ENTRY), text):set_generated()
	if not clock_ok then
		bad(ct, "malformed clock")
	elseif origin_ctr == nil or origin_ctr ~= last then
		bad(ct, "clock origin entry mismatch")
	end
	pinfo.cols.info:append(" " .. text)
	if nev == 0 or nev > MAX_EVENTS then
		bad(ei, "event count mismatch")
		return len
	end

	-- the events: seqs first..last; each one's own timestamp is the frame's with the origin
	-- entry at its seq (what rumor-cp reports as clock_text when it applies the event)
	local oidx
	for i = 1, #nodes do
		if nodes[i] == origin then oidx = i end
	end
	for i = 0, nev - 1 do
		if len - off < EV_HDR_LEN then
			bad(ei, "event count mismatch")
			return len
		end
		local elen = tvb(off + 16, 2):uint()
		if len - off - EV_HDR_LEN < elen then
			local et = t:add(gf.event, tvb(off, len - off))
			bad(et, "event length past frame")
			return len
		end
		local seq = first + i
		local et = t:add(gf.event, tvb(off, EV_HDR_LEN + elen))
		et:set_text(string.format("Event seq %s, id %s, %d bytes", tostring(seq),
					  hex(tvb(off, 16)), elen))
		et:add(gf.ev_seq, tvb(off, EV_HDR_LEN + elen), seq):set_generated()
		et:add(gf.ev_id, tvb(off, 16), hex(tvb(off, 16)))
		et:add(gf.ev_idb, tvb(off, 16))
		et:add(gf.ev_len, tvb(off + 16, 2))
		if oidx then
			local c2 = {}
			for k = 1, #ctrs do c2[k] = ctrs[k] end
			c2[oidx] = seq
			et:add(gf.ev_clock, tvb(body0, nclk * VC_ENTRY), vc_text(nodes, c2)):set_generated()
		end
		if elen > 0 then
			local pr = tvb(off + EV_HDR_LEN, elen)
			et:add(gf.ev_payload, pr)
			local s = printable(pr)
			if s then
				et:add(gf.ev_data, pr, s)
				et:append_text(": " .. (elen > 60 and s:sub(1, 57) .. "..." or s))
			end
		end
		off = off + EV_HDR_LEN + elen
	end
	if off ~= len then
		bad(ei, "event count mismatch")
	end
	return len
end

function gossip.dissector(tvb, pinfo, tree)
	return dissect_gossip(tvb, pinfo, tree)
end

-- another port in rumor.conf still decodes: a UDP payload that starts with the magic and a
-- known version and type is ours
local function gossip_heur(tvb, pinfo, tree)
	if tvb:len() < HDR_LEN or tvb(0, 4):uint() ~= RUMOR_MAGIC or tvb(4, 1):uint() ~= 1 or
	    not frame_types[tvb(5, 1):uint()] then
		return false
	end
	dissect_gossip(tvb, pinfo, tree)
	return true
end

-------------------------------------------------------------------------------------------
-- Control protocol (rumor-cp to rumor-cp over TCP): cp_net frames; inside them Raft
-- messages (cp_raftio codec) and the application messages of controlplane/cp_appmsg.h. Every
-- field of a control frame is big-endian; a Raft entry's body (a cp_batch) is little-endian,
-- as in the Raft log on disk (docs/ARCHITECTURE.md, "Wire and disk formats").
-------------------------------------------------------------------------------------------
local cp = Proto("rumorcp", "rumor control")

local CP_HDR = 12
local cp_types = { [1] = "HELLO", [2] = "HELLO_ACK", [3] = "RAFT", [4] = "APP" }
local app_types = {
	[1] = "REPORTS", [2] = "VIEW", [3] = "FETCH_REQ", [4] = "FETCH_RESP", [5] = "REPAIR",
	[6] = "DURABLE", [7] = "SEQ_QUERY", [8] = "SEQ_REPLY",
}
local raft_types = {
	[1] = "APPEND_ENTRIES", [2] = "APPEND_ENTRIES_RESULT", [3] = "REQUEST_VOTE",
	[4] = "REQUEST_VOTE_RESULT", [5] = "INSTALL_SNAPSHOT", [6] = "TIMEOUT_NOW",
}
local entry_types = { [1] = "COMMAND", [2] = "BARRIER", [3] = "CHANGE" }
-- cp_batch record kinds (controlplane/core/cp_batch.h; 4 is a skip range on the wire)
local batch_kinds = { [1] = "EVENT", [2] = "SKIP", [3] = "REJECT", [4] = "SKIP_RANGE" }

local cf = {
	len = ProtoField.uint32("rumorcp.len", "Payload length"),
	crc = ProtoField.uint32("rumorcp.crc", "CRC32C", base.HEX),
	crc_ok = ProtoField.bool("rumorcp.crc_ok", "CRC32C correct"),
	type = ProtoField.uint8("rumorcp.type", "Type", base.DEC, cp_types),
	flags = ProtoField.uint8("rumorcp.flags", "Flags", base.HEX),
	app = ProtoField.uint16("rumorcp.app_type", "App type", base.DEC, app_types),
	payload = ProtoField.bytes("rumorcp.payload", "Payload"),
	h_magic = ProtoField.uint32("rumorcp.hello.magic", "Magic", base.HEX),
	h_ver = ProtoField.uint32("rumorcp.hello.version", "Version"),
	h_cluster = ProtoField.uint64("rumorcp.hello.cluster_id", "Cluster id"),
	h_from = ProtoField.uint64("rumorcp.hello.from", "From node"),
	h_to = ProtoField.uint64("rumorcp.hello.to", "To node"),
	r_type = ProtoField.uint8("rumorcp.raft.type", "Raft message", base.DEC, raft_types),
	r_term = ProtoField.uint64("rumorcp.raft.term", "Term"),
	r_cand = ProtoField.uint64("rumorcp.raft.candidate", "Candidate"),
	r_lli = ProtoField.uint64("rumorcp.raft.last_log_index", "Last log index"),
	r_llt = ProtoField.uint64("rumorcp.raft.last_log_term", "Last log term"),
	r_vflags = ProtoField.uint64("rumorcp.raft.vote_flags", "Flags (1 disrupt leader, 2 pre-vote)"),
	r_granted = ProtoField.uint64("rumorcp.raft.granted", "Vote granted"),
	r_prevote = ProtoField.uint64("rumorcp.raft.pre_vote", "Pre-vote"),
	r_pli = ProtoField.uint64("rumorcp.raft.prev_log_index", "Prev log index"),
	r_plt = ProtoField.uint64("rumorcp.raft.prev_log_term", "Prev log term"),
	r_commit = ProtoField.uint64("rumorcp.raft.leader_commit", "Leader commit"),
	r_nent = ProtoField.uint64("rumorcp.raft.n_entries", "Entries"),
	r_rejected = ProtoField.uint64("rumorcp.raft.rejected", "Rejected (0: accepted)"),
	r_eterm = ProtoField.uint64("rumorcp.raft.entry.term", "Entry term"),
	r_etype = ProtoField.uint16("rumorcp.raft.entry.type", "Entry type", base.DEC, entry_types),
	r_elen = ProtoField.uint32("rumorcp.raft.entry.len", "Entry length"),
	r_edata = ProtoField.bytes("rumorcp.raft.entry.data", "Entry data"),
	r_sidx = ProtoField.uint64("rumorcp.raft.snap_index", "Snapshot last index"),
	r_sterm = ProtoField.uint64("rumorcp.raft.snap_term", "Snapshot last term"),
	r_cidx = ProtoField.uint64("rumorcp.raft.conf_index", "Configuration index"),
	r_clen = ProtoField.uint64("rumorcp.raft.conf_len", "Configuration length"),
	r_dlen = ProtoField.uint64("rumorcp.raft.data_len", "Snapshot data length"),
	b_count = ProtoField.uint32("rumorcp.batch.count", "Batch records"),
	b_kind = ProtoField.uint8("rumorcp.batch.kind", "Kind", base.DEC, batch_kinds),
	b_reason = ProtoField.uint8("rumorcp.batch.reason", "Reject reason", base.DEC,
				    { [1] = "impossible timestamp", [2] = "lost" }),
	b_origin = ProtoField.uint16("rumorcp.batch.origin", "Origin"),
	b_seq = ProtoField.uint64("rumorcp.batch.seq", "Seq"),
	b_last = ProtoField.uint64("rumorcp.batch.seq_last", "Last skipped seq"),
	b_id = ProtoField.string("rumorcp.batch.id", "Event id"),
	-- one line per record for scripts: "raft_index:position:kind:origin:seq:id_or_last"
	b_rec = ProtoField.string("rumorcp.batch.record", "Record summary"),
	r_eidx = ProtoField.uint64("rumorcp.raft.entry.index", "Entry index"),
	rep = ProtoField.none("rumorcp.report", "Report"),
	rep_origin = ProtoField.uint16("rumorcp.report.origin", "Origin"),
	rep_reporter = ProtoField.uint16("rumorcp.report.reporter", "Reporter"),
	rep_count = ProtoField.uint16("rumorcp.report.count", "Event count"),
	rep_first = ProtoField.uint64("rumorcp.report.first_seq", "First seq"),
	rep_id = ProtoField.string("rumorcp.report.id", "Event id"),
	rep_ts = ProtoField.string("rumorcp.report.timestamp", "Timestamp"),
	rep_hc = ProtoField.string("rumorcp.report.holder_clock", "Holder clock"),
	dur_origin = ProtoField.uint16("rumorcp.durable.origin", "Origin"),
	dur_through = ProtoField.uint64("rumorcp.durable.through", "Durable through seq"),
	seq_seen = ProtoField.uint64("rumorcp.seq_reply.seen", "Highest seq seen"),
}
cp.fields = cf

local ce = {
	badcrc = ProtoExpert.new("rumorcp.bad_crc", "CRC32C mismatch", expert.group.CHECKSUM,
				 expert.severity.ERROR),
	bad = ProtoExpert.new("rumorcp.bad", "Malformed control message", expert.group.MALFORMED,
			      expert.severity.ERROR),
}
cp.experts = ce

cp.prefs.port = Pref.uint("TCP port", 7100, "The port of the nodes' control addresses")
cp.prefs.check_crc = Pref.bool("Check CRC32C", true, "Recompute every frame's CRC32C")

-- CRC32C (Castagnoli, reflected 0x82F63B78) as cp_crc32c() computes it: init ~0, final ~.
-- Lua 5.2 (Wireshark <= 4.2) has bit32; 5.3+ has native operators (loaded as text so that
-- 5.2 still parses this file).
local crc_update
if bit32 then
	local band, bxor, rshift = bit32.band, bit32.bxor, bit32.rshift
	local tab = {}
	for i = 0, 255 do
		local c = i
		for _ = 1, 8 do
			c = band(c, 1) ~= 0 and bxor(rshift(c, 1), 0x82F63B78) or rshift(c, 1)
		end
		tab[i] = c
	end
	crc_update = function(crc, s)
		crc = bxor(crc, 0xffffffff)
		for i = 1, #s do
			crc = bxor(tab[band(bxor(crc, s:byte(i)), 0xff)], rshift(crc, 8))
		end
		return bxor(crc, 0xffffffff)
	end
else
	crc_update = load([[
		local tab = {}
		for i = 0, 255 do
			local c = i
			for _ = 1, 8 do
				if c & 1 ~= 0 then c = (c >> 1) ~ 0x82F63B78 else c = c >> 1 end
			end
			tab[i] = c
		end
		return function(crc, s)
			crc = crc ~ 0xffffffff
			for i = 1, #s do
				crc = tab[(crc ~ s:byte(i)) & 0xff] ~ (crc >> 8)
			end
			return crc ~ 0xffffffff
		end]])()
end

local function be64(tvbr) return tvbr:uint64() end

-- A COMMAND entry rumor-cp appends: one committed order batch (cp_batch, little-endian), the
-- events in apply order (global sequence numbers are assigned by counting, not carried).
local BATCH_MAGIC = 0x54414252 -- "RBAT"
local function batch_body(tvb, t, index)
	local len = tvb:len()
	if len < 16 or tvb(0, 4):le_uint() ~= BATCH_MAGIC then
		return false
	end
	local n = tvb(8, 4):le_uint()
	t:add_le(cf.b_count, tvb(8, 4))
	if 16 + n * 28 ~= len then
		t:add_proto_expert_info(ce.bad, "batch record count disagrees with its length")
		n = math.floor((len - 16) / 28)
	end
	local off = 16
	for pos = 1, n do
		local kind = tvb(off, 1):uint()
		local r = t:add(tvb(off, 28), "Record")
		r:add(cf.b_kind, tvb(off, 1))
		if kind == 3 then r:add(cf.b_reason, tvb(off + 1, 1)) end
		r:add_le(cf.b_origin, tvb(off + 2, 2))
		r:add_le(cf.b_seq, tvb(off + 4, 8))
		local what, key = "", ""
		if kind == 4 then
			r:add_le(cf.b_last, tvb(off + 12, 8))
			key = tostring(tvb(off + 12, 8):le_uint64())
			what = "through " .. key
		elseif kind ~= 2 then
			-- the id is two little-endian u64 (hi, lo); its text is hi then lo in hex
			local id = tvb(off + 12, 8):le_uint64():tohex(16) .. tvb(off + 20, 8):le_uint64():tohex(16)
			r:add(cf.b_id, tvb(off + 12, 16), id)
			what, key = id, id
		end
		r:add(cf.b_rec, tvb(off, 28), string.format("%s:%d:%d:%d:%s:%s", tostring(index), pos,
			kind, tvb(off + 2, 2):le_uint(), tostring(tvb(off + 4, 8):le_uint64()), key)):set_generated()
		r:set_text(string.format("%s origin %d seq %s %s", batch_kinds[kind] or ("kind " .. kind),
			tvb(off + 2, 2):le_uint(), tostring(tvb(off + 4, 8):le_uint64()), what))
		off = off + 28
	end
	return true
end

local function raft_body(tvb, pinfo, t)
	local len = tvb:len()
	if len < 8 then
		t:add_proto_expert_info(ce.bad, "raft message shorter than its 8-byte header")
		return
	end
	local rt = tvb(0, 1):uint()
	t:add(cf.r_type, tvb(0, 1))
	local name = raft_types[rt] or ("raft type " .. rt)
	pinfo.cols.info:append(" " .. name)
	local f = 8
	local need = ({ [1] = 40, [2] = 24, [3] = 40, [4] = 24, [5] = 48, [6] = 24 })[rt]
	if not need or len < f + need then
		t:add_proto_expert_info(ce.bad, "unknown raft type or short message")
		return
	end
	t:add(cf.r_term, tvb(f, 8))
	local term = tostring(be64(tvb(f, 8)))
	if rt == 3 then
		t:add(cf.r_cand, tvb(f + 8, 8))
		t:add(cf.r_lli, tvb(f + 16, 8))
		t:add(cf.r_llt, tvb(f + 24, 8))
		t:add(cf.r_vflags, tvb(f + 32, 8))
		pinfo.cols.info:append(" term " .. term .. " candidate " .. tostring(be64(tvb(f + 8, 8))))
	elseif rt == 4 then
		t:add(cf.r_granted, tvb(f + 8, 8))
		t:add(cf.r_prevote, tvb(f + 16, 8))
		pinfo.cols.info:append(" term " .. term .. " granted " .. tostring(be64(tvb(f + 8, 8))))
	elseif rt == 1 then
		t:add(cf.r_pli, tvb(f + 8, 8))
		t:add(cf.r_plt, tvb(f + 16, 8))
		t:add(cf.r_commit, tvb(f + 24, 8))
		t:add(cf.r_nent, tvb(f + 32, 8))
		local n64 = be64(tvb(f + 32, 8))
		pinfo.cols.info:append(string.format(" term %s prev %s commit %s entries %s", term,
			tostring(be64(tvb(f + 8, 8))), tostring(be64(tvb(f + 24, 8))), tostring(n64)))
		local h = f + 40
		if n64 > UInt64((len - h) / 16) then
			t:add_proto_expert_info(ce.bad, "entry headers run past the message")
			return
		end
		local n = n64:tonumber()
		local d = h + n * 16
		if d > len then
			t:add_proto_expert_info(ce.bad, "entry headers run past the message")
			return
		end
		local index = be64(tvb(f + 8, 8))
		for _ = 1, n do
			local elen = tvb(h + 12, 4):uint()
			index = index + 1
			local et = t:add(tvb(h, 16), "Entry")
			et:add(cf.r_eidx, tvb(h, 16), index):set_generated()
			et:add(cf.r_eterm, tvb(h, 8))
			et:add(cf.r_etype, tvb(h + 8, 2))
			et:add(cf.r_elen, tvb(h + 12, 4))
			if d + elen > len then
				et:add_proto_expert_info(ce.bad, "entry data runs past the message")
				return
			end
			if elen > 0 then
				local dt = et:add(cf.r_edata, tvb(d, elen))
				if tvb(h + 8, 2):uint() == 1 then batch_body(tvb(d, elen):tvb(), dt, index) end
			end
			et:set_text(string.format("Entry %s, term %s, %s, %d bytes", tostring(index),
				tostring(be64(tvb(h, 8))),
				entry_types[tvb(h + 8, 2):uint()] or "?", elen))
			h = h + 16
			d = d + elen
		end
	elseif rt == 2 then
		t:add(cf.r_rejected, tvb(f + 8, 8))
		t:add(cf.r_lli, tvb(f + 16, 8))
		pinfo.cols.info:append(" term " .. term .. " last " .. tostring(be64(tvb(f + 16, 8))))
	elseif rt == 5 then
		t:add(cf.r_sidx, tvb(f + 8, 8))
		t:add(cf.r_sterm, tvb(f + 16, 8))
		t:add(cf.r_cidx, tvb(f + 24, 8))
		t:add(cf.r_clen, tvb(f + 32, 8))
		t:add(cf.r_dlen, tvb(f + 40, 8))
	elseif rt == 6 then
		t:add(cf.r_lli, tvb(f + 8, 8))
		t:add(cf.r_llt, tvb(f + 16, 8))
	end
end

local function clock_at(tvb, off, n)
	local nodes, ctrs = {}, {}
	for i = 1, n do
		nodes[i] = tvb(off + (i - 1) * VC_ENTRY, 2):uint()
		ctrs[i] = tvb(off + (i - 1) * VC_ENTRY + 2, 8):uint64()
	end
	return vc_text(nodes, ctrs)
end

-- CP_APP_REPORTS: concatenated cp_report records (big-endian, cp_report.c)
local function reports_body(tvb, pinfo, t)
	local off, len, nrec = 0, tvb:len(), 0
	while off < len do
		if len - off < 18 then
			t:add_proto_expert_info(ce.bad, "report record truncated")
			return
		end
		local count = tvb(off + 4, 2):uint()
		local nts, nhc = tvb(off + 14, 2):uint(), tvb(off + 16, 2):uint()
		local rlen = 18 + 16 * count + VC_ENTRY * (nts + nhc)
		if len - off < rlen then
			t:add_proto_expert_info(ce.bad, "report record truncated")
			return
		end
		local rt = t:add(cf.rep, tvb(off, rlen))
		rt:add(cf.rep_origin, tvb(off, 2))
		rt:add(cf.rep_reporter, tvb(off + 2, 2))
		rt:add(cf.rep_count, tvb(off + 4, 2))
		rt:add(cf.rep_first, tvb(off + 6, 8))
		local p = off + 18
		for _ = 1, count do
			rt:add(cf.rep_id, tvb(p, 16), hex(tvb(p, 16)))
			p = p + 16
		end
		if nts > 0 then rt:add(cf.rep_ts, tvb(p, nts * VC_ENTRY), clock_at(tvb, p, nts)) end
		p = p + nts * VC_ENTRY
		if nhc > 0 then rt:add(cf.rep_hc, tvb(p, nhc * VC_ENTRY), clock_at(tvb, p, nhc)) end
		rt:set_text(string.format("Report: node %d holds origin %d seq %s (+%d)",
			tvb(off + 2, 2):uint(), tvb(off, 2):uint(), tostring(tvb(off + 6, 8):uint64()),
			count - 1))
		off = off + rlen
		nrec = nrec + 1
	end
	pinfo.cols.info:append(string.format(" (%d record%s)", nrec, nrec == 1 and "" or "s"))
end

local cp_plausible -- below, with the stream-level checks

local function dissect_cp_pdu(tvb, pinfo, tree)
	pinfo.cols.protocol = "RUMOR-CP"
	if tvb:len() < CP_HDR then
		tree:add(cp, tvb()):add_proto_expert_info(ce.bad, "frame header truncated")
		return tvb:len()
	end
	if not cp_plausible(tvb, 0) then
		tree:add(cp, tvb()):add_proto_expert_info(ce.bad, "not a cp_net frame header (bad type, flags or length)")
		return tvb:len()
	end
	local plen = tvb(0, 4):uint()
	local ftype = tvb(8, 1):uint()
	local app = tvb(10, 2):uint()
	-- a PDU cut short (snap length, or TCP reassembly off): decode what is there
	if tvb:len() < CP_HDR + plen then
		local t = tree:add(cp, tvb())
		t:add(cf.len, tvb(0, 4))
		t:add(cf.type, tvb(8, 1))
		t:add(cf.app, tvb(10, 2))
		t:add_proto_expert_info(ce.bad, string.format("frame truncated: %d of %d payload bytes",
							      tvb:len() - CP_HDR, plen))
		pinfo.cols.info = "CP " .. (cp_types[ftype] or ("type " .. ftype)) .. " (truncated)"
		return tvb:len()
	end
	local t = tree:add(cp, tvb(0, CP_HDR + plen))
	t:add(cf.len, tvb(0, 4))
	local crci = t:add(cf.crc, tvb(4, 4))
	t:add(cf.type, tvb(8, 1))
	t:add(cf.flags, tvb(9, 1))
	t:add(cf.app, tvb(10, 2))
	local name = cp_types[ftype] or ("type " .. ftype)
	if ftype == 4 then name = app_types[app] or ("APP " .. app) end
	t:append_text(", " .. name .. ", " .. plen .. " bytes")
	-- several frames share a segment: one Info entry each
	local info = tostring(pinfo.cols.info)
	if info:find("^CP ") then
		pinfo.cols.info:append(" | " .. name)
	else
		pinfo.cols.info = "CP " .. name
	end
	if cp.prefs.check_crc then
		local crc = crc_update(0, tvb(8, 4):raw())
		-- cp_crc32c(crc, ...) chains like zlib's crc32: the header's 4 bytes, then the payload
		if plen > 0 then crc = crc_update(crc, tvb(CP_HDR, plen):raw()) end
		local ok = crc == tvb(4, 4):uint()
		t:add(cf.crc_ok, tvb(4, 4), ok):set_generated()
		if not ok then crci:add_proto_expert_info(ce.badcrc) end
	end
	local body = plen > 0 and tvb(CP_HDR, plen):tvb() or nil
	if ftype == 1 or ftype == 2 then
		if plen < 32 then
			t:add_proto_expert_info(ce.bad, "hello shorter than 32 bytes")
		else
			t:add(cf.h_magic, body(0, 4))
			t:add(cf.h_ver, body(4, 4))
			t:add(cf.h_cluster, body(8, 8))
			t:add(cf.h_from, body(16, 8))
			t:add(cf.h_to, body(24, 8))
			pinfo.cols.info:append(string.format(" %s -> %s", tostring(body(16, 8):uint64()),
							     tostring(body(24, 8):uint64())))
		end
	elseif ftype == 3 and body then
		raft_body(body, pinfo, t)
	elseif ftype == 4 and body then
		if app == 1 then
			reports_body(body, pinfo, t)
		elseif app == 6 and plen >= 10 then
			t:add(cf.dur_origin, body(0, 2))
			t:add(cf.dur_through, body(2, 8))
			pinfo.cols.info:append(string.format(" origin %d through %s", body(0, 2):uint(),
							     tostring(body(2, 8):uint64())))
		elseif app == 8 and plen >= 8 then
			t:add(cf.seq_seen, body(0, 8))
		else
			t:add(cf.payload, body())
		end
	end
	return CP_HDR + plen
end

-- A header that cannot be cp_net's (a garbled stream) takes the rest of the segment: never a
-- length past what tcp_dissect_pdus can represent.
local function cp_pdu_len(tvb, pinfo, off)
	local rest = tvb:len() - off
	if rest < CP_HDR or not cp_plausible(tvb, off) then
		return math.max(rest, 1)
	end
	return CP_HDR + tvb(off, 4):uint()
end

-- A capture that starts inside a stream sees a segment beginning mid-frame: a header whose
-- type or flags cannot be ours is not taken for one (the segment is left undecoded).
function cp_plausible(tvb, off)
	local t, fl = tvb(off + 8, 1):uint(), tvb(off + 9, 1):uint()
	return cp_types[t] ~= nil and fl == 0 and tvb(off, 4):uint() <= 256 * 1024 * 1024
end

-- With control-link TLS (the default unless insecure = true) the stream is TLS 1.3 from the
-- first byte: a TLS record header (content type 20..23, version 3.1..3.4) goes to Wireshark's
-- own TLS dissector, which shows the handshake and certificates and, given the session keys
-- (tls.keylog_file), hands the decrypted cp_net frames back to this dissector (tls.port).
local tls_handle = Dissector.get("tls")
local function looks_tls(tvb)
	if tvb:len() < 5 then return false end
	local ct, major, minor = tvb(0, 1):uint(), tvb(1, 1):uint(), tvb(2, 1):uint()
	return ct >= 20 and ct <= 23 and major == 3 and minor >= 1 and minor <= 4
end

local in_tls = false -- the TLS dissector is calling us back with decrypted bytes

function cp.dissector(tvb, pinfo, tree)
	if not in_tls and tls_handle and looks_tls(tvb) then
		in_tls = true
		local ok, r = pcall(function() return tls_handle:call(tvb, pinfo, tree) end)
		in_tls = false
		if not ok then error(r) end
		return r
	end
	if tvb:len() >= CP_HDR and not cp_plausible(tvb, 0) then
		return 0
	end
	if tvb:len() < CP_HDR and pinfo.can_desegment == 0 then
		-- a piece of a stream that will not be reassembled (TCP reassembly off)
		return dissect_cp_pdu(tvb, pinfo, tree)
	end
	dissect_tcp_pdus(tvb, tree, CP_HDR, cp_pdu_len, dissect_cp_pdu)
	return tvb:len()
end

-------------------------------------------------------------------------------------------
-- Registration (ports from the preferences; rumor.conf's defaults)
-------------------------------------------------------------------------------------------
local udp_table = DissectorTable.get("udp.port")
local tcp_table = DissectorTable.get("tcp.port")
local tls_table = DissectorTable.get("tls.port")
local cur_udp, cur_tcp = gossip.prefs.port, cp.prefs.port
udp_table:add(cur_udp, gossip)
tcp_table:add(cur_tcp, cp)
if tls_table then tls_table:add(cur_tcp, cp) end
gossip:register_heuristic("udp", gossip_heur)

function gossip.prefs_changed()
	if gossip.prefs.port ~= cur_udp then
		udp_table:remove(cur_udp, gossip)
		cur_udp = gossip.prefs.port
		udp_table:add(cur_udp, gossip)
	end
end

function cp.prefs_changed()
	if cp.prefs.port ~= cur_tcp then
		tcp_table:remove(cur_tcp, cp)
		if tls_table then tls_table:remove(cur_tcp, cp) end
		cur_tcp = cp.prefs.port
		tcp_table:add(cur_tcp, cp)
		if tls_table then tls_table:add(cur_tcp, cp) end
	end
end
