/* dp_client: attach to rumor-dp's shared objects from a DPDK secondary process. */
#include "dp_client.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_memzone.h>
#include <rte_mempool.h>
#include <rte_ring.h>

int dp_client_attach(struct dp_client *c)
{
	const struct rte_memzone *mz;

	memset(c, 0, sizeof(*c));
	c->dp2cp = rte_ring_lookup(RUMOR_SHM_DP2CP_RING);
	c->cp2dp = rte_ring_lookup(RUMOR_SHM_CP2DP_RING);
	c->pool = rte_mempool_lookup(RUMOR_SHM_MSG_POOL);
	mz = rte_memzone_lookup(RUMOR_SHM_STATS_MZ);
	if (c->dp2cp == NULL || c->cp2dp == NULL || c->pool == NULL || mz == NULL)
		return -ENOENT;
	c->stats = mz->addr;
	return 0;
}

int dp_client_msg_alloc(struct dp_client *c, uint16_t type, struct rumor_msg **out)
{
	void *obj;

	if (rte_mempool_get(c->pool, &obj) != 0)
		return -ENOBUFS;
	memset(obj, 0, sizeof(struct rumor_msg));
	((struct rumor_msg *)obj)->type = type;
	*out = obj;
	return 0;
}

void dp_client_msg_free(struct dp_client *c, struct rumor_msg *msg)
{
	rte_mempool_put(c->pool, msg);
}

void dp_client_msg_free_bulk(struct dp_client *c, struct rumor_msg **msgs, unsigned n)
{
	rte_mempool_put_bulk(c->pool, (void **)msgs, n);
}

int dp_client_send(struct dp_client *c, struct rumor_msg *msg)
{
	return rte_ring_mp_enqueue(c->cp2dp, msg) == 0 ? 0 : -ENOBUFS;
}

unsigned dp_client_recv_burst(struct dp_client *c, struct rumor_msg **msgs, unsigned max)
{
	return rte_ring_sc_dequeue_burst(c->dp2cp, (void **)msgs, max, NULL);
}

const struct rumor_dp_stats *dp_client_stats(const struct dp_client *c)
{
	return c->stats;
}

bool dp_client_alive(const struct dp_client *c, unsigned max_age_ms)
{
	uint64_t now = rte_rdtsc(), hb = c->stats->heartbeat_tsc, hz = c->stats->tsc_hz;

	if (c->stats->pid <= 0 || (kill(c->stats->pid, 0) != 0 && errno == ESRCH))
		return false;
	if (hz == 0 || hb > now)
		return hb != 0;
	return (now - hb) * 1000 / hz <= max_age_ms;
}
