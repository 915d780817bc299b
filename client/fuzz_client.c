/* libFuzzer target: librumor's reply and stream parsing (bytes a node, or whatever listens on
 * the socket path, sends to the client). Byte 0 picks the call, the rest is what the "node"
 * sent before closing its side. Outputs must stay NUL-terminated and within their bounds. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rumor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s, size_t cap)
{
	if (!memchr(s, 0, cap))
		abort();
}

static int on_gossip(void *arg, const struct rumor_gossip_event *ev)
{
	(void)arg;
	check_str(ev->id, sizeof(ev->id));
	if (strlen(ev->id) != 32 || ev->origin == 0 || ev->clock.n > RUMOR_VC_MAX_ENTRIES)
		abort();
	for (uint16_t i = 1; i < ev->clock.n; i++)
		if (ev->clock.node[i - 1] >= ev->clock.node[i])
			abort();
	return ev->len == 1 && ev->data[0] == 'q'; /* exercise the stop path */
}

static int on_ordered(void *arg, const struct rumor_ordered_event *ev)
{
	(void)arg;
	if (!ev->clock_text || (ev->skip && ev->data) || (!ev->skip && !ev->data))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rumor_client *c;
	struct rumor_status st;
	struct rumor_send_result res;
	char view[64];
	const uint16_t ids[] = { 2, 3 };
	int sv[2];

	if (size < 1 || size > 60000)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	/* the whole reply is queued before the call: the socket buffer holds 60000 bytes */
	if (size > 1 && write(sv[1], data + 1, size - 1) != (ssize_t)(size - 1))
		abort();
	shutdown(sv[1], SHUT_WR);
	if (rumor_client_adopt(sv[0], &c))
		abort();
	rumor_client_set_timeout(c, 1000);
	switch (data[0] % 7) {
	case 0:
		if (rumor_status(c, &st) == 0) {
			check_str(st.role, sizeof(st.role));
			check_str(st.order_digest, sizeof(st.order_digest));
		}
		break;
	case 1: {
		int rc = rumor_current_view(c, view, sizeof(view));
		if (rc == 0 || rc == -ENOBUFS)
			check_str(view, sizeof(view));
		break;
	}
	case 2:
	case 3:
		if (rumor_send(c, "x", 1, data[0] % 7 == 3, &res) == 0)
			check_str(res.id, sizeof(res.id));
		break;
	case 4:
		rumor_receive(c, on_gossip, on_ordered, NULL);
		break;
	case 5:
		rumor_join(c, ids, 2);
		break;
	case 6:
		rumor_add_peers(c, ids, 2, true);
		break;
	}
	check_str(rumor_client_error(c), 256);
	rumor_client_close(c);
	close(sv[1]);
	return 0;
}
