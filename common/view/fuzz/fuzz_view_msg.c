/* libFuzzer target: view messages from the network. Each input is a sequence of
 * [length u8][bytes] records; every record goes through rumor_view_msg_decode (anything that
 * decodes must re-encode byte for byte) and, readdressed to node 1, into one view of each
 * strategy. Views must stay clean (bounded, no self, no duplicates) and only ever emit
 * messages that encode. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rumor_view.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_view(struct rumor_view *v)
{
	size_t n, p;
	const uint32_t *a = rumor_view_active(v, &n);
	const uint32_t *q = rumor_view_passive(v, &p);
	if (n > RUMOR_VIEW_MSG_MAX_IDS || p > RUMOR_VIEW_MAX_PASSIVE)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (a[i] == 1 || a[i] == 0)
			abort();
		for (size_t j = 0; j < i; j++)
			if (a[i] == a[j])
				abort();
	}
	for (size_t i = 0; i < p; i++) {
		if (q[i] == 1 || q[i] == 0 || rumor_view_has_active(v, q[i]))
			abort();
		for (size_t j = 0; j < i; j++)
			if (q[i] == q[j])
				abort();
	}
	struct rumor_view_msg m;
	uint8_t buf[RUMOR_VIEW_MSG_MAX_BYTES];
	size_t len;
	while (rumor_view_outbox_pop(v, &m) == 0)
		if (m.src != 1 || rumor_view_msg_encode(&m, buf, sizeof(buf), &len) != 0)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum rumor_view_strategy all[] = {RUMOR_VIEW_STATIC, RUMOR_VIEW_LEADER,
						       RUMOR_VIEW_HYPARVIEW, RUMOR_VIEW_CYCLON};
	struct rumor_view *v[4];
	uint32_t contacts[] = {2, 3, 4};
	for (int i = 0; i < 4; i++) {
		struct rumor_view_config c;
		rumor_view_config_defaults(&c, all[i], 1, 1000, 7);
		c.period_ms = 10;
		if (rumor_view_create(&c, &v[i]) != 0)
			abort();
		rumor_view_join(v[i], contacts, 3, 0);
		check_view(v[i]);
	}
	uint64_t now = 0;
	size_t off = 0;
	while (off < size) {
		size_t len = data[off++];
		if (len > size - off)
			len = size - off;
		struct rumor_view_msg m;
		if (rumor_view_msg_decode(data + off, len, &m) == 0) {
			uint8_t re[RUMOR_VIEW_MSG_MAX_BYTES];
			size_t rl;
			if (rumor_view_msg_encode(&m, re, sizeof(re), &rl) != 0 || rl != len ||
			    memcmp(re, data + off, len) != 0)
				abort();
			m.dst = 1;
			for (int i = 0; i < 4; i++) {
				rumor_view_on_message(v[i], &m, now);
				check_view(v[i]);
				if (m.src != 1) {
					rumor_view_on_peer_down(v[i], m.src, now);
					check_view(v[i]);
				}
			}
		}
		now += 7;
		for (int i = 0; i < 4; i++) {
			rumor_view_tick(v[i], now);
			check_view(v[i]);
		}
		off += len;
	}
	for (int i = 0; i < 4; i++)
		rumor_view_destroy(v[i]);
	return 0;
}
