/* dp_client: attach to rumor-dp's shared objects from a DPDK secondary process. */
#include "dp_client.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_memzone.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "dp_wake.h"

int dp_client_attach(struct dp_client *c)
{
	const struct rte_memzone *mz;

	memset(c, 0, sizeof(*c));
	c->dp_efd = c->cp_efd = -1;
	c->dp2cp = rte_ring_lookup(RUMOR_SHM_DP2CP_RING);
	c->cp2dp = rte_ring_lookup(RUMOR_SHM_CP2DP_RING);
	c->pool = rte_mempool_lookup(RUMOR_SHM_MSG_POOL);
	mz = rte_memzone_lookup(RUMOR_SHM_STATS_MZ);
	if (c->dp2cp == NULL || c->cp2dp == NULL || c->pool == NULL || mz == NULL)
		return -ENOENT;
	c->stats = mz->addr;
	c->msg_size = c->pool->elt_size;
	/* workers 1.. of a multi-worker rumor-dp: it creates their rings before worker 0's,
	 * so they all exist once the lookup above found that one */
	c->dp2cp_w[0] = c->dp2cp;
	c->n_dp2cp = 1;
	for (unsigned w = 1; w < RUMOR_DP2CP_RINGS_MAX; w++) {
		char name[RTE_RING_NAMESIZE];
		struct rte_ring *r;

		snprintf(name, sizeof(name), RUMOR_SHM_DP2CP_RING_FMT, w);
		if ((r = rte_ring_lookup(name)) == NULL)
			break;
		c->dp2cp_w[c->n_dp2cp++] = r;
	}
	return 0;
}

static int take_fd(int pidfd, int fd)
{
	int r = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	return r < 0 ? -errno : r;
}

int dp_client_attach_wake(struct dp_client *c)
{
	const struct rte_memzone *mz = rte_memzone_lookup(DP_WAKE_MZ);
	struct dp_wake *w;
	int pidfd, dfd, cfd;

	if (mz == NULL)
		return -ENOENT;
	w = mz->addr;
	if ((pidfd = (int)syscall(SYS_pidfd_open, w->pid, 0)) < 0)
		return -errno;
	dfd = take_fd(pidfd, w->dp_efd);
	cfd = take_fd(pidfd, w->cp_efd);
	close(pidfd);
	if (dfd < 0 || cfd < 0) {
		if (dfd >= 0)
			close(dfd);
		if (cfd >= 0)
			close(cfd);
		return dfd < 0 ? dfd : cfd;
	}
	c->dp_efd = dfd;
	c->cp_efd = cfd;
	c->wake = w;
	return 0;
}

void dp_client_detach_wake(struct dp_client *c)
{
	if (c->dp_efd >= 0)
		close(c->dp_efd);
	if (c->cp_efd >= 0)
		close(c->cp_efd);
	c->dp_efd = c->cp_efd = -1;
	c->wake = NULL;
}

int dp_client_wake_fd(const struct dp_client *c)
{
	return c->wake ? c->cp_efd : -1;
}

bool dp_client_idle(struct dp_client *c)
{
	if (c->wake == NULL)
		return true;
	atomic_store(&c->wake->cp_sleeping, 1); /* seq_cst: before the look at the rings */
	if (dp_client_pending(c) == 0)
		return true;
	atomic_store_explicit(&c->wake->cp_sleeping, 0, memory_order_relaxed);
	return false;
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
	if (rte_ring_mp_enqueue(c->cp2dp, msg) != 0)
		return -ENOBUFS;
	if (c->wake) {
		/* the enqueue before the look at the flag: rumor-dp looks at the ring after
		 * setting it, so it either sees the message or we see the flag */
		atomic_thread_fence(memory_order_seq_cst);
		if (atomic_load_explicit(&c->wake->dp_sleeping, memory_order_relaxed) &&
		    atomic_exchange(&c->wake->dp_sleeping, 0)) {
			uint64_t one = 1;
			if (write(c->dp_efd, &one, sizeof(one)) < 0) {
				/* the counter is full (it cannot be): rumor-dp wakes on its timeout */
			}
		}
	}
	return 0;
}

unsigned dp_client_recv_burst(struct dp_client *c, struct rumor_msg **msgs, unsigned max)
{
	unsigned got = 0, nr = c->n_dp2cp ? c->n_dp2cp : 1;

	if (nr == 1)
		return rte_ring_sc_dequeue_burst(c->dp2cp, (void **)msgs, max, NULL);
	/* a fair share of @max from each ring in turn, then whatever is left from any */
	for (unsigned k = 0; k < nr && got < max; k++) {
		unsigned w = (c->next_dp2cp + k) % nr, share = (max - got + nr - 1 - k) / (nr - k);

		got += rte_ring_sc_dequeue_burst(c->dp2cp_w[w], (void **)msgs + got, share, NULL);
	}
	for (unsigned k = 0; k < nr && got < max; k++)
		got += rte_ring_sc_dequeue_burst(c->dp2cp_w[(c->next_dp2cp + k) % nr],
						 (void **)msgs + got, max - got, NULL);
	c->next_dp2cp = (c->next_dp2cp + 1) % nr;
	return got;
}

unsigned dp_client_pending(const struct dp_client *c)
{
	unsigned n = 0, nr = c->n_dp2cp ? c->n_dp2cp : 1;

	if (nr == 1)
		return rte_ring_count(c->dp2cp);
	for (unsigned w = 0; w < nr; w++)
		n += rte_ring_count(c->dp2cp_w[w]);
	return n;
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
