/* Writes the fuzz seed corpus (valid frames, clocks and configs) into corpus/<target>/.
 * Built only with -Dfuzz=true: `ninja -C <build> common/fuzz/fuzz_gen_corpus` then
 * `<build>/common/fuzz/fuzz_gen_corpus common/fuzz/corpus`. The output is committed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rumor_be.h"
#include "rumor_wire.h"

#define CLUSTER 0xC0FFEEu

static const char *outdir;

static void put(const char *target, const char *name, const void *buf, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	if (mkdir(path, 0755) && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* A frame of @nev events of @evlen bytes each; returns its length. */
static int frame(uint8_t *out, size_t cap, uint8_t type, uint16_t nev, size_t evlen,
		 uint16_t clock_extra)
{
	static const struct rumor_wire_l2l4 a = {
		.dst_mac = { 2, 0, 0, 0, 0, 2 }, .src_mac = { 2, 0, 0, 0, 0, 1 },
		.src_ip = 0x0a000001, .dst_ip = 0x0a000002,
		.src_port = 40000, .dst_port = RUMOR_WIRE_PORT,
	};
	struct rumor_wire_hdr h = {
		.type = type, .rounds_left = 3, .cluster_id = CLUSTER, .origin = 2, .sender = 1,
		.first_seq = 100, .event_count = nev,
	};
	uint8_t body[2048], payload[1500];
	struct rumor_wire_body b;
	struct rumor_vc c;

	rumor_vc_init(&c);
	if (type != RUMOR_WIRE_PULL_REQ) {
		rumor_vc_set(&c, 2, h.first_seq + nev - 1);
		for (uint16_t i = 0; i < clock_extra; i++)
			rumor_vc_set(&c, (uint16_t)(10 + 7 * i), 1 + i);
	}
	h.clock_count = c.n;
	if (rumor_wire_body_start(&b, body, sizeof(body), &c))
		return -1;
	if (type != RUMOR_WIRE_PULL_REQ) {
		for (uint16_t i = 0; i < nev; i++) {
			struct rumor_event_id id;

			for (size_t k = 0; k < evlen; k++)
				payload[k] = (uint8_t)('a' + (k + i) % 26);
			rumor_event_id_compute(h.origin, h.first_seq + i, payload, evlen, &id);
			if (rumor_wire_body_add(&b, &id, payload, evlen))
				return -1;
		}
	}
	return rumor_wire_encode(out, cap, &a, &h, body, b.len);
}

int main(int argc, char **argv)
{
	static const struct { const char *name; uint8_t type; uint16_t nev; size_t evlen;
			      uint16_t extra; } frames[] = {
		{ "gossip_1x64", RUMOR_WIRE_GOSSIP, 1, 64, 2 },
		{ "gossip_17x64", RUMOR_WIRE_GOSSIP, 17, 64, 3 },
		{ "gossip_5x0", RUMOR_WIRE_GOSSIP, 5, 0, 0 },
		{ "gossip_1x1300", RUMOR_WIRE_GOSSIP, 1, 1300, 8 },
		{ "pull_req", RUMOR_WIRE_PULL_REQ, 4, 0, 0 },
		{ "pull_resp_3x20", RUMOR_WIRE_PULL_RESP, 3, 20, 1 },
	};
	uint8_t buf[2048];

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
		int n = frame(buf, sizeof(buf), frames[i].type, frames[i].nev, frames[i].evlen,
			      frames[i].extra);

		if (n < 0) {
			fprintf(stderr, "frame %s failed\n", frames[i].name);
			return 1;
		}
		put("fuzz_wire", frames[i].name, buf, (size_t)n);
		/* The rumor part alone, for the decode_rumor path. */
		char name[64];

		snprintf(name, sizeof(name), "rumor_only_%s", frames[i].name);
		put("fuzz_wire", name, buf + RUMOR_WIRE_L2L4_LEN, (size_t)n - RUMOR_WIRE_L2L4_LEN);
	}

	/* Clocks: u16 count then entries. */
	{
		struct rumor_vc c;
		uint8_t out[2 + RUMOR_VC_MAX_ENTRIES * RUMOR_VC_WIRE_ENTRY];
		static const uint16_t sizes[] = { 0, 1, 3, 16 };
		char name[32];

		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			rumor_vc_init(&c);
			for (uint16_t i = 0; i < sizes[s]; i++)
				rumor_vc_set(&c, (uint16_t)(1 + i * 61 % 1000), 1 + (uint64_t)i * 999);
			rumor_be_st16(out, c.n);
			int n = rumor_vc_encode(&c, out + 2, sizeof(out) - 2);

			snprintf(name, sizeof(name), "clock_%u", sizes[s]);
			put("fuzz_vc", name, out, 2 + (size_t)n);
		}
	}

	/* Configs. */
	{
		static const char full[] =
			"[cluster]\nid = 4242\nname = fuzz\n\n"
			"[node.1]\nmac = 02:00:00:00:00:01\nip = 10.0.0.1\ncontrol = 127.0.0.1:7101\n"
			"[node.2]\nmac = 02:00:00:00:00:02\nip = 10.0.0.2\ncontrol = h2:7102\n"
			"voter = false\n\n"
			"[gossip]\nfanout = 2\nrounds = 5\nport = 7946\nmtu = 1500\nflush_us = 200\n"
			"view = cyclon\nview_size = 4\nview_refresh_ms = 1000\n\n"
			"[raft]\nelection_timeout_ms = 900\nheartbeat_ms = 90\n"
			"snapshot_threshold = 100\nsnapshot_trailing = 10\nbatch_max_events = 64\n"
			"batch_max_us = 100\ngap_timeout_ms = 1000\n\n"
			"[storage]\ndir = /tmp/x\napi_socket = /tmp/x/%n.sock\n\n"
			"[dataplane]\nstore_slots = 1024\nstore_peer_cap = 256\n";
		static const char minimal[] =
			"[cluster]\nid=1\n[node.7]\nmac=02:00:00:00:00:07\nip=1.2.3.4\ncontrol=a:1\n";
		static const char bad[] = "; comment\n[gossip]\nfanout = x\n[node.1]\nmac = zz\n";

		put("fuzz_config", "full.conf", full, sizeof(full) - 1);
		put("fuzz_config", "minimal.conf", minimal, sizeof(minimal) - 1);
		put("fuzz_config", "bad.conf", bad, sizeof(bad) - 1);
	}
	return 0;
}
