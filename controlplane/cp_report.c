/* Report record codec: u16 origin, u16 reporter, u16 count, u64 first_seq, u16 n_ts, u16 n_hc,
 * count ids, timestamp entries, holder clock entries (big-endian, as the gossip wire). */
#include <errno.h>
#include <string.h>

#include "rumor_be.h"
#include "cp_report.h"
#include "cp_order.h"

#define REPORT_FIXED 18u

size_t cp_report_size(const struct cp_report *r)
{
	return REPORT_FIXED + 16u * r->count + rumor_vc_wire_size(&r->timestamp) +
	       rumor_vc_wire_size(&r->holder_clock);
}

int cp_report_encode(const struct cp_report *r, uint8_t *buf, size_t cap)
{
	size_t need = cp_report_size(r), off = REPORT_FIXED;
	int n;

	if (r->count == 0 || r->count > RUMOR_WIRE_MAX_EVENTS)
		return -EINVAL;
	if (need > cap)
		return -ENOBUFS;
	rumor_be_st16(buf, r->origin);
	rumor_be_st16(buf + 2, r->reporter);
	rumor_be_st16(buf + 4, r->count);
	rumor_be_st64(buf + 6, r->first_seq);
	rumor_be_st16(buf + 14, r->timestamp.n);
	rumor_be_st16(buf + 16, r->holder_clock.n);
	for (uint16_t i = 0; i < r->count; i++, off += 16)
		rumor_event_id_store(&r->id[i], buf + off);
	n = rumor_vc_encode(&r->timestamp, buf + off, cap - off);
	if (n < 0)
		return n;
	off += (size_t)n;
	n = rumor_vc_encode(&r->holder_clock, buf + off, cap - off);
	if (n < 0)
		return n;
	return (int)(off + (size_t)n);
}

int cp_report_decode(const uint8_t *buf, size_t len, struct cp_report *r)
{
	size_t off = REPORT_FIXED;
	uint16_t n_ts, n_hc;
	int n;

	if (len < REPORT_FIXED)
		return -EMSGSIZE;
	r->origin = rumor_be_ld16(buf);
	r->reporter = rumor_be_ld16(buf + 2);
	r->count = rumor_be_ld16(buf + 4);
	r->first_seq = rumor_be_ld64(buf + 6);
	n_ts = rumor_be_ld16(buf + 14);
	n_hc = rumor_be_ld16(buf + 16);
	if (r->origin == 0 || r->origin > RUMOR_NODE_ID_MAX || r->reporter == 0 ||
	    r->reporter > RUMOR_NODE_ID_MAX || r->count == 0 || r->count > RUMOR_WIRE_MAX_EVENTS ||
	    r->first_seq == 0 || r->first_seq > UINT64_MAX - r->count)
		return -EINVAL;
	if (len - off < 16u * r->count)
		return -EMSGSIZE;
	for (uint16_t i = 0; i < r->count; i++, off += 16)
		rumor_event_id_load(buf + off, &r->id[i]);
	n = rumor_vc_decode(&r->timestamp, n_ts, buf + off, len - off);
	if (n < 0)
		return n;
	off += (size_t)n;
	n = rumor_vc_decode(&r->holder_clock, n_hc, buf + off, len - off);
	if (n < 0)
		return n;
	return (int)(off + (size_t)n);
}

unsigned cp_report_ingest(struct cp_order *o, const struct cp_report *r, struct rumor_vc *ts,
			  uint64_t now_us)
{
	unsigned refused = 0;

	cp_order_merge_clock(o, &r->holder_clock);
	*ts = r->timestamp;
	for (uint16_t i = 0; i < r->count; i++) {
		uint64_t seq = r->first_seq + i;
		rumor_vc_set(ts, r->origin, seq);
		struct cp_order_report or = {
			.id = r->id[i], .seq = seq, .ts = ts, .origin = r->origin,
			.reporter = r->reporter,
		};
		if (cp_order_report(o, &or, now_us) < 0)
			refused++;
	}
	return refused;
}

void cp_report_from_frame(struct cp_report *r, const struct rumor_wire_frame *f, uint16_t skip,
			  uint16_t reporter, const struct rumor_vc *holder_clock)
{
	r->origin = f->hdr.origin;
	r->reporter = reporter;
	r->count = (uint16_t)(f->hdr.event_count - skip);
	r->first_seq = f->hdr.first_seq + skip;
	for (uint16_t i = 0; i < r->count; i++)
		r->id[i] = f->ev[skip + i].id;
	r->timestamp = f->clock;
	r->holder_clock = *holder_clock;
}

uint16_t cp_report_frame_sender(const uint8_t *rumor, size_t len)
{
	/* magic(4) version(1) type(1) flags(1) rounds(1) cluster(4) origin(2) sender(2) */
	return len >= 16 ? rumor_be_ld16(rumor + 14) : 0;
}

void cp_forge_init(struct cp_forge *f)
{
	memset(f, 0, sizeof(*f));
}

static uint64_t forge_key(uint16_t origin, uint64_t seq)
{
	return (uint64_t)origin << 48 | (seq & ((1ull << 48) - 1));
}

int cp_forge_note(struct cp_forge *f, uint16_t origin, uint64_t seq, uint16_t sender)
{
	uint64_t k = forge_key(origin, seq), h = (k * 0x9E3779B97F4A7C15ull) >> 52;

	if (f->seen[h % CP_FORGE_SEEN] == k)
		return 0;
	f->seen[h % CP_FORGE_SEEN] = k;
	f->total++;
	f->by_sender[sender <= RUMOR_NODE_ID_MAX ? sender : 0]++;
	return 1;
}

int cp_forge_want(struct cp_forge *f, uint16_t origin, uint64_t seq,
		  const struct rumor_event_id *id, const struct rumor_vc *ts, uint64_t now_ms)
{
	struct cp_forge_fix *slot = NULL;

	if (!origin || origin > RUMOR_NODE_ID_MAX || !seq)
		return -EINVAL;
	for (unsigned i = 0; i < CP_FORGE_FIX; i++) {
		struct cp_forge_fix *x = &f->fix[i];
		if (x->origin == origin && x->seq == seq) {
			slot = x;
			break;
		}
		if (!slot || (slot->origin && (!x->origin || x->asked_ms < slot->asked_ms)))
			slot = x;
	}
	slot->origin = origin;
	slot->seq = seq;
	slot->id = *id;
	slot->ts = *ts;
	slot->asked_ms = now_ms;
	return 0;
}

unsigned cp_forge_poll(struct cp_forge *f, const struct cp_forge_io *io, uint16_t self,
		       const struct rumor_vc *holder_clock, struct cp_report *scratch)
{
	unsigned made = 0;

	for (unsigned i = 0; i < CP_FORGE_FIX; i++) {
		struct cp_forge_fix *x = &f->fix[i];

		if (!x->origin || io->have(io->arg, x->origin, x->seq, &x->id) != 1)
			continue;
		scratch->origin = x->origin;
		scratch->reporter = self;
		scratch->count = 1;
		scratch->first_seq = x->seq;
		scratch->id[0] = x->id;
		scratch->timestamp = x->ts;
		scratch->holder_clock = *holder_clock;
		x->origin = 0;
		f->fixed++;
		made++;
		io->report(io->arg, scratch);
	}
	return made;
}

void cp_forge_applied(struct cp_forge *f, const uint64_t *applied)
{
	for (unsigned i = 0; i < CP_FORGE_FIX; i++)
		if (f->fix[i].origin && f->fix[i].seq <= applied[f->fix[i].origin])
			f->fix[i].origin = 0;
}
