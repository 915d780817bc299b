/* libFuzzer target: the gossip frame decoders. Whole Ethernet frames through
 * rumor_wire_decode (with and without id verification), and the same bytes as a bare rumor
 * part through rumor_wire_decode_rumor. Anything that decodes must re-encode byte for byte. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rumor_be.h"
#include "rumor_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Rebuild the rumor part (header + clock + events) from a decoded frame and compare. */
static void check_reencode(const struct rumor_wire_frame *fr, const uint8_t *rumor, size_t len)
{
	static uint8_t buf[65536];
	struct rumor_wire_body b;
	/* The auth header is opaque to the codec (the keyring checks it): it is located, and
	 * copied back as it was. */
	size_t head = RUMOR_WIRE_HDR_LEN + (fr->auth ? RUMOR_WIRE_AUTH_LEN : 0);

	if ((fr->auth != NULL) != !!(fr->hdr.flags & RUMOR_WIRE_F_AUTH))
		abort();
	rumor_wire_put_hdr(buf, &fr->hdr);
	if (fr->auth) {
		if (fr->auth != rumor + RUMOR_WIRE_HDR_LEN)
			abort();
		memcpy(buf + RUMOR_WIRE_HDR_LEN, fr->auth, RUMOR_WIRE_AUTH_LEN);
	}
	if (fr->hdr.type == RUMOR_WIRE_PULL_REQ) {
		if (len != head)
			abort();
	} else {
		if (rumor_wire_body_start(&b, buf + head, sizeof(buf) - head, &fr->clock))
			abort();
		for (unsigned i = 0; i < fr->hdr.event_count; i++) {
			const struct rumor_wire_event *ev = &fr->ev[i];

			if (ev->payload < rumor || ev->payload + ev->len > rumor + len)
				abort();
			if (rumor_wire_body_add(&b, &ev->id, ev->payload, ev->len))
				abort();
		}
		if (head + b.len != len || b.events != fr->hdr.event_count)
			abort();
	}
	if (memcmp(buf, rumor, len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rumor_wire_frame fr;
	uint32_t cluster;
	int rc, rcv;

	/* Take the cluster id from where the frame carries it, so the fuzzer is not stopped
	 * by ECLUSTER; the mismatch case is covered by the unit tests. */
	cluster = size >= RUMOR_WIRE_L2L4_LEN + 12 ? rumor_be_ld32(data + RUMOR_WIRE_L2L4_LEN + 8) : 0;
	rc = rumor_wire_decode(data, size, cluster, RUMOR_WIRE_PORT, 0, &fr);
	if (rc != 0 && rumor_wire_err_index(rc) < 0)
		abort();
	rcv = rumor_wire_decode(data, size, cluster, RUMOR_WIRE_PORT, RUMOR_WIRE_DEC_VERIFY_IDS,
				&fr);
	if (rcv != 0 && rumor_wire_err_index(rcv) < 0)
		abort();
	/* Verification only adds a last check: same verdict, or EID where plain decode passed. */
	if (rc != 0 && rcv != rc)
		abort();
	if (rc == 0 && rcv != 0 && rcv != RUMOR_WIRE_EID)
		abort();
	if (rc == 0) {
		size_t udp_len = rumor_be_ld16(data + RUMOR_WIRE_ETH_LEN + RUMOR_WIRE_IP_LEN + 4);

		rc = rumor_wire_decode(data, size, cluster, RUMOR_WIRE_PORT, 0, &fr);
		check_reencode(&fr, data + RUMOR_WIRE_L2L4_LEN, udp_len - RUMOR_WIRE_UDP_LEN);
	}

	cluster = size >= 12 ? rumor_be_ld32(data + 8) : 0;
	rc = rumor_wire_decode_rumor(data, size, cluster, 0, &fr);
	if (rc != 0 && rumor_wire_err_index(rc) < 0)
		abort();
	if (rc == 0) {
		check_reencode(&fr, data, size);
		rcv = rumor_wire_decode_rumor(data, size, cluster, RUMOR_WIRE_DEC_VERIFY_IDS, &fr);
		if (rcv != 0 && rcv != RUMOR_WIRE_EID)
			abort();
	}
	return 0;
}
