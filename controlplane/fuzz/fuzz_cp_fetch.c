/* libFuzzer target: the FETCH codec (cp_fetch.c). The input is a response (records with a
 * payload and a binary clock) taken into a cp_fetch; every record kept must come back as
 * the same payload and clock, re-encoded byte for byte. Its first 12 bytes are also tried as
 * a request, which must re-encode to itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cp_fetch.h"
#include "rumor_be.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rumor_vc ts;
static uint8_t out[CP_FETCH_RESP_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint16_t origin, count;
	uint64_t seq;

	if (size >= CP_FETCH_REQ_LEN &&
	    cp_fetch_req_decode(data, CP_FETCH_REQ_LEN, &origin, &seq, &count) == 0) {
		uint8_t req[CP_FETCH_REQ_LEN];
		cp_fetch_req_encode(req, origin, seq, count);
		if (memcmp(req, data, sizeof(req)))
			abort();
	}

	struct cp_fetch f;
	cp_fetch_init(&f);
	int taken = cp_fetch_resp_take(&f, data, size);
	if (taken > 0) {
		/* the response is well formed: walk its records again and check what was kept */
		size_t off = 0;
		while (off < size) {
			struct rumor_event_id id, check;
			uint16_t o = rumor_be_ld16(data + off);
			uint64_t s = rumor_be_ld64(data + off + 2);
			uint32_t dlen = rumor_be_ld32(data + off + 26);
			uint16_t cn = rumor_be_ld16(data + off + 30 + dlen);
			size_t rec = 30u + dlen + 2u + (size_t)cn * RUMOR_VC_WIRE_ENTRY;
			rumor_event_id_load(data + off + 10, &id);
			rumor_event_id_compute(o, s, data + off + 30, dlen, &check);
			uint8_t *p;
			size_t len;
			/* a record refused for its id says nothing about a later one kept for it */
			if (rumor_event_id_equal(&id, &check) &&
			    cp_fetch_get(&f, o, s, &id, &p, &len) == 0) {
				if (len != dlen || memcmp(p, data + off + 30, len) ||
				    cp_fetch_clock_vc(&f, o, s, &ts) != 0 || ts.n != cn)
					abort();
				free(p);
				int w = cp_fetch_resp_add(out, sizeof(out), o, s, &id, data + off + 30,
							  dlen, cn ? &ts : NULL);
				if (w < 0 || (size_t)w != rec || memcmp(out, data + off, rec))
					abort();
				char text[4096];
				if (cp_fetch_clock(&f, o, s, text, sizeof(text)) != 0)
					abort();
				cp_fetch_done(&f, o, s); /* a later record of the same event is not kept */
			}
			off += rec;
		}
	}
	cp_fetch_fini(&f);
	return 0;
}
