/* A net_ring ethdev over two fresh rte_rings for the in-process dataplane tests: the test
 * enqueues frames on *rx (what the port receives) and dequeues what the node sent from *tx. */
#ifndef DP_TEST_PORT_H
#define DP_TEST_PORT_H

#include <stdio.h>

#include <rte_eth_ring.h>
#include <rte_ring.h>

/* Ring and port names are @prefix plus a counter (names are global in the EAL). The port
 * id, or a negative value if a ring or the port could not be made. */
static inline int dp_test_ring_port(const char *prefix, struct rte_ring **rx, struct rte_ring **tx)
{
	static unsigned seq;
	char name[32];

	snprintf(name, sizeof(name), "%sr%u", prefix, seq);
	*rx = rte_ring_create(name, 1024, 0, 0);
	snprintf(name, sizeof(name), "%st%u", prefix, seq);
	*tx = rte_ring_create(name, 1024, 0, 0);
	if (!*rx || !*tx)
		return -1;
	snprintf(name, sizeof(name), "%sring%u", prefix, seq++);
	return rte_eth_from_rings(name, rx, 1, tx, 1, 0);
}

#endif
