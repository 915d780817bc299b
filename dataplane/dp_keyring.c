/* dp_keyring: RUMOR_MSG_KEYRING, the replicated gossip keyring (issue 14) swapped into a
 * running rumor-dp; the stats it publishes (key in use, keys accepted, frames by key id). */
#include <string.h>
#include <time.h>

#include "dp_node.h"

void dp_keyring_publish(struct dp_node *n)
{
	struct rumor_dp_stats *st = n->stats;

	memset(st->auth_keys, 0, sizeof(st->auth_keys));
	st->auth_use = 0;
	if (n->auth == NULL)
		return;
	for (unsigned i = 1; i < 256; i++)
		if (rumor_auth_has_key(n->auth, (uint8_t)i))
			st->auth_keys[i >> 3] |= (uint8_t)(1u << (i & 7));
	st->auth_use = n->auth_key;
}

static int bit(const uint8_t *map, unsigned id)
{
	return map[id >> 3] >> (id & 7) & 1;
}

/* The keyring of @k combined with the bootstrap (file) keyring @boot as cp_fsm.h says:
 * its keys, plus the file's keys of ids it neither installs nor removed. NULL when a key
 * cannot be set or the key to use is missing. */
static struct rumor_auth *build(const struct rumor_msg_keyring *k, const struct rumor_auth *boot,
				uint8_t *use)
{
	struct rumor_auth *a = rumor_auth_new();
	uint8_t mine[32] = { 0 };

	if (a == NULL)
		return NULL;
	for (unsigned i = 0; i < k->n && i < RUMOR_MSG_KEYRING_MAX; i++) {
		if (rumor_auth_set_key(a, k->keys[i].id, k->keys[i].key) != 0)
			goto fail;
		mine[k->keys[i].id >> 3] |= (uint8_t)(1u << (k->keys[i].id & 7));
	}
	for (unsigned i = 1; i < 256; i++)
		if (!bit(mine, i) && !bit(k->removed, i) && rumor_auth_has_key(boot, (uint8_t)i) &&
		    rumor_auth_copy_key(a, boot, (uint8_t)i) != 0)
			goto fail;
	*use = k->use ? k->use : rumor_auth_current(boot);
	if (rumor_auth_use(a, *use) != 0)
		goto fail;
	return a;
fail:
	rumor_auth_free(a);
	return NULL;
}

/* Each forwarding lcore (worker) has its own keyring (workers_init clones worker 0's), and
 * handles cp2dp messages between its RX bursts (dp_node_poll; workers > 0 get a copy of a
 * KEYRING from worker 0 through their ctl ring), when no frame is being verified or sealed:
 * that is a quiescent point for every reader of n->auth, all of them on this lcore, so a
 * plain pointer swap and an immediate free are safe, and the fast path takes no lock and no
 * extra load (no rte_rcu_qsbr: no keyring is read by another lcore). Workers swap a little
 * apart: a frame one seals with the new key may meet another that has not swapped yet, as
 * between nodes (a rotation installs a key before a later entry puts it in use). The published
 * keyring_gen is the lowest of the workers' (dp_node_stats_total), so rumor-cp sends the
 * KEYRING again until every worker took it. Frames sealed before the swap are already in
 * the TX buffer with their tags. */
void dp_keyring_set(struct dp_node *n, struct rumor_msg_keyring *k)
{
	struct rumor_dp_stats *st = n->stats;
	struct rumor_auth *a, *boot;
	uint8_t use = 0;

	if (n->auth == NULL || k->gen <= st->keyring_gen) {
		/* insecure (no keyring configured: not turned on from here), or one we have */
		if (n->auth == NULL)
			st->keyring_refused++;
		goto wipe;
	}
	boot = n->auth_boot ? n->auth_boot : n->auth;
	a = build(k, boot, &use);
	if (a == NULL) {
		st->keyring_refused++;
		goto wipe;
	}
	if (n->auth_boot == NULL)
		n->auth_boot = n->auth; /* the file's keyring: kept to combine later ones with */
	else
		rumor_auth_free(n->auth);
	n->auth = a;
	n->pads.next = RUMOR_AUTH_PADS_MAX; /* pads of the old keyring are not used after the swap */
	n->auth_key = use;
	st->keyring_gen = k->gen;
	st->keyring_updates++;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	st->keyring_swap_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	dp_keyring_publish(n);
wipe:
	/* the message object goes back to a pool in shared hugepages */
	memset(k->keys, 0, sizeof(k->keys));
}

void dp_keyring_fini(struct dp_node *n)
{
	rumor_auth_free(n->auth_boot);
	n->auth_boot = NULL;
}
