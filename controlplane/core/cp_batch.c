/* cp_batch: encoder/decoder for the order batch Raft entry (layout in cp_batch.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cp_batch.h"
#include "rumor_be.h"
#include "rumor_vc.h"


int cp_batch_init(struct cp_batch *b, uint32_t cap)
{
	b->n = 0;
	b->cap = cap;
	b->recs = NULL;
	if (cap) {
		b->recs = malloc((size_t)cap * sizeof(*b->recs));
		if (!b->recs)
			return -ENOMEM;
	}
	return 0;
}

void cp_batch_free(struct cp_batch *b)
{
	free(b->recs);
	b->recs = NULL;
	b->n = b->cap = 0;
}

static int reserve(struct cp_batch *b, uint32_t want)
{
	if (want <= b->cap)
		return 0;
	if (want > CP_BATCH_MAX_RECORDS)
		return -E2BIG;
	uint32_t cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap *= 2;
	struct cp_batch_rec *r = realloc(b->recs, (size_t)cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	b->recs = r;
	b->cap = cap;
	return 0;
}

static int add(struct cp_batch *b, uint8_t kind, uint16_t origin, uint64_t seq,
	       const struct rumor_event_id *id)
{
	if (origin == 0 || origin > RUMOR_NODE_ID_MAX || seq == 0)
		return -EINVAL;
	int rc = reserve(b, b->n + 1);
	if (rc)
		return rc;
	struct cp_batch_rec *r = &b->recs[b->n++];
	r->kind = kind;
	r->reason = 0;
	r->origin = origin;
	r->seq = seq;
	r->seq_last = seq;
	if (id)
		r->id = *id;
	else
		r->id.hi = r->id.lo = 0;
	return 0;
}

int cp_batch_add_event(struct cp_batch *b, uint16_t origin, uint64_t seq,
		       const struct rumor_event_id *id)
{
	return add(b, CP_BATCH_EVENT, origin, seq, id);
}

int cp_batch_add_skip(struct cp_batch *b, uint16_t origin, uint64_t seq)
{
	return add(b, CP_BATCH_SKIP, origin, seq, NULL);
}

int cp_batch_add_skip_range(struct cp_batch *b, uint16_t origin, uint64_t seq, uint64_t last)
{
	if (last < seq)
		return -EINVAL;
	int rc = add(b, CP_BATCH_SKIP, origin, seq, NULL);
	if (rc == 0)
		b->recs[b->n - 1].seq_last = last;
	return rc;
}

int cp_batch_add_reject(struct cp_batch *b, uint16_t origin, uint64_t seq,
			const struct rumor_event_id *id, unsigned reason)
{
	if ((reason != CP_BATCH_REASON_IMPOSSIBLE_TS && reason != CP_BATCH_REASON_LOST) || !id)
		return -EINVAL;
	int rc = add(b, CP_BATCH_REJECT, origin, seq, id);
	if (rc == 0)
		b->recs[b->n - 1].reason = (uint8_t)reason;
	return rc;
}

const char *cp_batch_reason_text(unsigned reason)
{
	return reason == CP_BATCH_REASON_IMPOSSIBLE_TS ? "impossible timestamp" :
	       reason == CP_BATCH_REASON_LOST ? "payload lost (operator skip)" : "?";
}

size_t cp_batch_encoded_size(const struct cp_batch *b)
{
	return CP_BATCH_HDR_SIZE + (size_t)b->n * CP_BATCH_REC_SIZE;
}

long cp_batch_encode(const struct cp_batch *b, void *buf, size_t cap)
{
	size_t need = cp_batch_encoded_size(b);
	if (cap < need)
		return -ENOBUFS;
	uint8_t *p = buf;
	memset(p, 0, CP_BATCH_HDR_SIZE);
	rumor_le_st32(p, CP_BATCH_MAGIC);
	p[4] = CP_BATCH_VERSION;
	rumor_le_st32(p + 8, b->n);
	p += CP_BATCH_HDR_SIZE;
	for (uint32_t i = 0; i < b->n; i++, p += CP_BATCH_REC_SIZE) {
		const struct cp_batch_rec *r = &b->recs[i];
		int range = r->kind == CP_BATCH_SKIP && r->seq_last > r->seq;
		p[0] = range ? CP_BATCH_WIRE_SKIP_RANGE : r->kind;
		p[1] = r->kind == CP_BATCH_REJECT ? r->reason : 0;
		rumor_le_st16(p + 2, r->origin);
		rumor_le_st64(p + 4, r->seq);
		rumor_le_st64(p + 12, range ? r->seq_last : r->id.hi);
		rumor_le_st64(p + 20, range ? 0 : r->id.lo);
	}
	return (long)need;
}

int cp_batch_decode(const void *buf, size_t len, struct cp_batch *b)
{
	const uint8_t *p = buf;
	b->n = 0;
	if (len < CP_BATCH_HDR_SIZE)
		return -EMSGSIZE;
	if (rumor_le_ld32(p) != CP_BATCH_MAGIC || p[4] != CP_BATCH_VERSION || p[5] != 0 ||
	    rumor_le_ld16(p + 6) != 0 || rumor_le_ld32(p + 12) != 0)
		return -EPROTO;
	uint32_t count = rumor_le_ld32(p + 8);
	if (count > CP_BATCH_MAX_RECORDS)
		return -E2BIG;
	if (len != CP_BATCH_HDR_SIZE + (size_t)count * CP_BATCH_REC_SIZE)
		return -EMSGSIZE;
	int rc = reserve(b, count);
	if (rc)
		return rc;
	p += CP_BATCH_HDR_SIZE;
	for (uint32_t i = 0; i < count; i++, p += CP_BATCH_REC_SIZE) {
		struct cp_batch_rec *r = &b->recs[i];
		r->kind = p[0];
		r->reason = p[1];
		r->origin = rumor_le_ld16(p + 2);
		r->seq = rumor_le_ld64(p + 4);
		r->id.hi = rumor_le_ld64(p + 12);
		r->id.lo = rumor_le_ld64(p + 20);
		r->seq_last = r->seq;
		if (r->kind == CP_BATCH_WIRE_SKIP_RANGE) {
			if (r->id.hi <= r->seq || r->id.lo || r->reason) {
				b->n = 0;
				return -EINVAL;
			}
			r->kind = CP_BATCH_SKIP;
			r->seq_last = r->id.hi;
			r->id.hi = 0;
		}
		int bad = r->origin == 0 || r->origin > RUMOR_NODE_ID_MAX || r->seq == 0 ||
			  (r->kind != CP_BATCH_EVENT && r->kind != CP_BATCH_SKIP &&
			   r->kind != CP_BATCH_REJECT) ||
			  (r->kind == CP_BATCH_SKIP && (r->id.hi | r->id.lo)) ||
			  (r->kind == CP_BATCH_REJECT ? r->reason != CP_BATCH_REASON_IMPOSSIBLE_TS &&
							r->reason != CP_BATCH_REASON_LOST
						      : r->reason != 0);
		if (bad) {
			b->n = 0;
			return -EINVAL;
		}
	}
	b->n = count;
	return 0;
}

/* ---------------------------------------------------------------- keyring entries */

int cp_entry_kind(const void *buf, size_t len)
{
	if (len < 4)
		return CP_ENTRY_UNKNOWN;
	uint32_t m = rumor_le_ld32(buf);
	return m == CP_BATCH_MAGIC ? CP_ENTRY_BATCH : m == CP_KEYOP_MAGIC ? CP_ENTRY_KEYOP
									: CP_ENTRY_UNKNOWN;
}

static int keyop_valid(const struct cp_keyop *k)
{
	uint8_t any = 0;

	for (unsigned i = 0; i < CP_KEYOP_KEY_LEN; i++)
		any |= k->key[i];
	if (k->id == 0)
		return 0;
	if (k->op == CP_KEYOP_INSTALL)
		return 1;
	return (k->op == CP_KEYOP_USE || k->op == CP_KEYOP_REMOVE) && !any;
}

long cp_keyop_encode(const struct cp_keyop *k, void *buf, size_t cap)
{
	uint8_t *p = buf;

	if (!keyop_valid(k))
		return -EINVAL;
	if (cap < CP_KEYOP_SIZE)
		return -ENOBUFS;
	rumor_le_st32(p, CP_KEYOP_MAGIC);
	p[4] = CP_KEYOP_VERSION;
	p[5] = k->op;
	p[6] = k->id;
	p[7] = 0;
	memcpy(p + 8, k->key, CP_KEYOP_KEY_LEN);
	return CP_KEYOP_SIZE;
}

int cp_keyop_decode(const void *buf, size_t len, struct cp_keyop *k)
{
	const uint8_t *p = buf;

	if (len != CP_KEYOP_SIZE)
		return -EMSGSIZE;
	if (rumor_le_ld32(p) != CP_KEYOP_MAGIC || p[4] != CP_KEYOP_VERSION || p[7] != 0)
		return -EPROTO;
	k->op = p[5];
	k->id = p[6];
	memcpy(k->key, p + 8, CP_KEYOP_KEY_LEN);
	if (!keyop_valid(k)) {
		memset(k, 0, sizeof(*k));
		return -EINVAL;
	}
	return 0;
}
