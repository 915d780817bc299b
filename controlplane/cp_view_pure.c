/* Pure parts of cp_view: view normalisation and change detection, send-error routing, leader
 * epochs and assignment plans, APP payload checks. No I/O (tested in tests/test_cp_view.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cp_view.h"

static int cmp_u16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

size_t cp_view_set_from(const uint32_t *ids, size_t n, uint16_t self, struct cp_view_set *out)
{
	size_t dropped = 0;
	uint16_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (ids[i] == 0 || ids[i] == self || ids[i] > RUMOR_NODE_ID_MAX ||
		    k == RUMOR_VC_MAX_ENTRIES) {
			dropped++;
			continue;
		}
		out->id[k++] = (uint16_t)ids[i];
	}
	qsort(out->id, k, sizeof(out->id[0]), cmp_u16);
	uint16_t w = 0;
	for (uint16_t i = 0; i < k; i++) {
		if (w && out->id[w - 1] == out->id[i]) {
			dropped++;
			continue;
		}
		out->id[w++] = out->id[i];
	}
	out->n = w;
	return dropped;
}

bool cp_view_set_equal(const struct cp_view_set *a, const struct cp_view_set *b)
{
	return a->n == b->n && !memcmp(a->id, b->id, a->n * sizeof(a->id[0]));
}

enum cp_view_send_outcome cp_view_send_outcome(int rc)
{
	if (rc == 0)
		return CP_VIEW_SENT;
	if (rc == -ENOTCONN || rc == -ENOENT)
		return CP_VIEW_LOST_DOWN;
	return CP_VIEW_LOST;
}

uint32_t cp_view_leader_epoch(uint64_t term, uint32_t counter)
{
	uint32_t t = term > 0xfffu ? 0xfffu : (uint32_t)term;
	uint32_t c = counter > 0xfffffu ? 0xfffffu : counter;
	uint32_t e = t << 20 | c;
	return e ? e : 1;
}

int cp_view_leader_plan(const uint32_t *members, size_t n, unsigned size, uint64_t seed,
			uint32_t leader, uint32_t epoch, struct rumor_view_msg *out)
{
	if (n == 0 || size == 0 || size > RUMOR_VIEW_MSG_MAX_IDS || leader == 0 || epoch == 0)
		return -EINVAL;
	uint32_t *ids = malloc(n * size * sizeof(*ids));
	uint16_t *counts = malloc(n * sizeof(*counts));
	int rc = -ENOMEM;

	if (ids && counts)
		rc = rumor_view_leader_samples(members, n, size, seed, ids, counts);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = rumor_view_leader_assign_msg(leader, members[i], epoch, ids + i * size,
						  counts[i], &out[i]);
	free(ids);
	free(counts);
	return rc;
}

int cp_view_decode_app(const uint8_t *p, size_t len, uint64_t from, uint16_t self,
		       struct rumor_view_msg *out)
{
	if (rumor_view_msg_decode(p, len, out) != 0)
		return -EBADMSG;
	if (out->src != from || out->dst != self)
		return -EPERM;
	return 0;
}

size_t cp_view_sorted_ids(const uint32_t *ids, size_t n, uint32_t *out)
{
	size_t k = 0, w = 0;

	for (size_t i = 0; i < n; i++)
		if (ids[i])
			out[k++] = ids[i];
	qsort(out, k, sizeof(*out), cmp_u32);
	for (size_t i = 0; i < k; i++)
		if (!w || out[w - 1] != out[i])
			out[w++] = out[i];
	return w;
}
