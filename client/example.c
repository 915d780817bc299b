/* rumor-client-example: the original Go example with librumor. Joins peers, gossips one
 * event and prints every received packet with its vector clock (and the agreed order).
 * usage: rumor-client-example SOCKET [PEER_ID...]   e.g. $RUMOR_RUN/node-1.sock 2 3 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumor.h"

static int on_gossip(void *arg, const struct rumor_gossip_event *ev)
{
	char clock[256];

	(void)arg;
	rumor_vc_format(&ev->clock, clock, sizeof(clock));
	printf("data - %.*s\n", (int)ev->len, ev->data);
	printf("event clock for this packet - %s\n", clock);
	fflush(stdout);
	return 0;
}

static int on_ordered(void *arg, const struct rumor_ordered_event *ev)
{
	(void)arg;
	if (ev->skip)
		printf("ordered #%llu - event %u:%llu skipped\n", (unsigned long long)ev->gseq,
		       ev->origin, (unsigned long long)ev->seq);
	else
		printf("ordered #%llu - %.*s %s\n", (unsigned long long)ev->gseq, (int)ev->len,
		       ev->data, ev->clock_text);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	struct rumor_client *g, *receive;
	struct rumor_send_result res;
	uint16_t peers[64];
	size_t n = 0;
	char view[512];
	int rc;

	if (argc < 2) {
		fprintf(stderr, "usage: %s SOCKET [PEER_ID...]\n", argv[0]);
		return 2;
	}
	for (int i = 2; i < argc && n < 64; i++)
		peers[n++] = (uint16_t)strtoul(argv[i], NULL, 10);
	if ((rc = rumor_client_connect(argv[1], &g)) ||
	    (rc = rumor_client_connect(argv[1], &receive))) {
		fprintf(stderr, "connect %s: %s\n", argv[1], strerror(-rc));
		return 1;
	}
	if (n && (rc = rumor_join(g, peers, n)))
		fprintf(stderr, "join: %s %s\n", strerror(-rc), rumor_client_error(g));
	if (rumor_current_view(g, view, sizeof(view)) == 0)
		printf("view - %s\n", view);
	if ((rc = rumor_send(g, "some data", 9, false, &res)))
		fprintf(stderr, "send: %s %s\n", strerror(-rc), rumor_client_error(g));
	else
		printf("sent %s as %u:%llu\n", res.id, res.origin, (unsigned long long)res.seq);
	rc = rumor_receive(receive, on_gossip, on_ordered, NULL);
	fprintf(stderr, "receive: %s %s\n", strerror(-rc), rumor_client_error(receive));
	rumor_client_close(receive);
	rumor_client_close(g);
	return rc ? 1 : 0;
}
