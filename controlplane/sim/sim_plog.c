/* sim_plog: the payload log's API (io/cp_plog.h) over a simulated disk, for the whole-node
 * simulator. Records are buffered, then "written" by a sync that completes later in
 * simulated time; a crash loses what no completed sync covered (a torn last write is the
 * same loss at this granularity), a sync may fail with EIO, a record may rot on disk (its
 * read fails the CRC check, -EUCLEAN). Planted bug CP_PLANT_SKIP_FSYNC: a sync reports
 * records durable without persisting them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cp_plant.h"
#include "cp_plog.h"
#include "sim.h"

struct rec {
	uint16_t origin, count;
	uint32_t len;
	uint64_t first_seq, ticket;
	bool persisted;       /* on the simulated platter: survives a crash */
	bool rotten;          /* a bit flipped: reads fail */
	bool gone;            /* deleted by gc or lost at a crash */
	uint8_t *data;
};

struct cp_plog {
	struct cp_plog_cfg cfg;
	struct sim *sim;
	unsigned node;
	struct rec *r;
	size_t n, cap;
	uint32_t per_origin[CP_PLOG_ORIGIN_MAX + 1]; /* records of each origin (fast misses) */
	uint64_t next_ticket, durable, syncing; /* syncing: ticket a sync in flight covers */
	uint64_t sync_due_ms;
	int error;
	struct cp_plog_stats st;
};

static void recount(struct cp_plog *pl)
{
	memset(pl->per_origin, 0, sizeof(pl->per_origin));
	for (size_t i = 0; i < pl->n; i++)
		pl->per_origin[pl->r[i].origin]++;
}

static struct rec *find(const struct cp_plog *pl, uint16_t origin, uint64_t seq)
{
	if (origin > CP_PLOG_ORIGIN_MAX || !pl->per_origin[origin])
		return NULL;
	/* the first record holding a seq keeps it: search oldest first */
	for (size_t i = 0; i < pl->n; i++) {
		struct rec *r = &pl->r[i];
		if (!r->gone && r->origin == origin && seq >= r->first_seq &&
		    seq < r->first_seq + r->count)
			return r;
	}
	return NULL;
}

int sim_plog_open(struct sim *s, unsigned node, const struct cp_plog_cfg *cfg,
		  struct cp_plog **out)
{
	struct cp_plog *pl = calloc(1, sizeof(*pl));

	if (!pl)
		return -ENOMEM;
	pl->cfg = *cfg;
	pl->sim = s;
	pl->node = node;
	*out = pl;
	return 0;
}

void sim_plog_rebind(struct cp_plog *pl, const struct cp_plog_cfg *cfg)
{
	pl->cfg = *cfg;
}

void sim_plog_free(struct cp_plog *pl)
{
	if (!pl)
		return;
	for (size_t i = 0; i < pl->n; i++)
		free(pl->r[i].data);
	free(pl->r);
	free(pl);
}

/* The process died: what no completed sync persisted is gone. */
void sim_plog_crash(struct cp_plog *pl)
{
	size_t k = 0;

	for (size_t i = 0; i < pl->n; i++) {
		if (pl->r[i].persisted && !pl->r[i].gone)
			pl->r[k++] = pl->r[i];
		else
			free(pl->r[i].data);
	}
	pl->n = k;
	recount(pl);
	pl->syncing = 0;
	pl->error = 0;
	pl->durable = pl->next_ticket; /* every surviving record is durable after a reload */
	pl->st.buffered_bytes = 0;
}

/* A bit flips in one persisted record (a "closed segment"): its reads fail from now on. */
void sim_plog_rot(struct cp_plog *pl, uint64_t pick)
{
	if (!pl->n)
		return;
	struct rec *r = &pl->r[pick % pl->n];
	if (r->persisted && r->ticket < pl->durable)
		r->rotten = true;
}

int64_t cp_plog_append(struct cp_plog *pl, uint16_t origin, uint64_t first_seq,
		       uint16_t count, const void *frame, uint32_t len)
{
	uint64_t held_ticket = 0;
	bool all = true;

	if (!origin || origin > CP_PLOG_ORIGIN_MAX || !first_seq || !count || !len ||
	    len > CP_PLOG_MAX_FRAME)
		return -EINVAL;
	if (pl->error)
		return pl->error;
	for (uint64_t s = first_seq; s < first_seq + count; s++) {
		struct rec *r = find(pl, origin, s);
		if (!r) {
			all = false;
			break;
		}
		if (r->ticket > pl->durable && r->ticket > held_ticket)
			held_ticket = r->ticket;
	}
	if (all) {
		pl->st.dup_appends++;
		return (int64_t)held_ticket;
	}
	if (pl->st.buffered_bytes + len > (pl->cfg.buffer_max ? pl->cfg.buffer_max : 16u << 20))
		return -ENOBUFS;
	if (pl->n == pl->cap) {
		size_t cap = pl->cap ? pl->cap * 2 : 256;
		struct rec *r = realloc(pl->r, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		pl->r = r;
		pl->cap = cap;
	}
	struct rec *r = &pl->r[pl->n];
	*r = (struct rec){ .origin = origin, .count = count, .len = len, .first_seq = first_seq,
			   .ticket = ++pl->next_ticket, .data = malloc(len) };
	if (!r->data)
		return -ENOMEM;
	memcpy(r->data, frame, len);
	pl->n++;
	pl->per_origin[origin]++;
	pl->st.appends++;
	pl->st.append_bytes += len;
	pl->st.buffered_bytes += len;
	return (int64_t)r->ticket;
}

void cp_plog_flush(struct cp_plog *pl)
{
	if (pl->syncing || pl->next_ticket == pl->durable)
		return;
	pl->syncing = pl->next_ticket;
	pl->sync_due_ms = sim_now_ms(pl->sim) + sim_disk_latency_ms(pl->sim, pl->node);
	sim_disk_schedule(pl->sim, pl->node, pl->sync_due_ms);
}

/* The simulator's disk completes the sync in flight (if it is due). */
void sim_plog_complete(struct cp_plog *pl, uint64_t now_ms)
{
	uint64_t through = pl->syncing;

	if (!through || now_ms < pl->sync_due_ms)
		return;
	pl->syncing = 0;
	if (sim_disk_fails(pl->sim, pl->node)) {
		pl->error = -EIO;
		pl->st.write_errors++;
		return;
	}
	pl->error = 0;
	for (size_t i = 0; i < pl->n; i++)
		if (pl->r[i].ticket <= through && !CP_PLANTED(CP_PLANT_SKIP_FSYNC))
			pl->r[i].persisted = true;
	pl->st.flushes++;
	if (through - pl->durable > pl->st.flush_records_max)
		pl->st.flush_records_max = through - pl->durable;
	pl->durable = through;
	pl->st.buffered_bytes = 0;
	for (size_t i = 0; i < pl->n; i++)
		if (pl->r[i].ticket > through)
			pl->st.buffered_bytes += pl->r[i].len;
	if (pl->cfg.durable)
		pl->cfg.durable(pl->cfg.arg, through);
}

uint64_t cp_plog_durable(const struct cp_plog *pl)
{
	return pl->durable;
}

int cp_plog_error(const struct cp_plog *pl)
{
	return pl->error;
}

/* The simulator's wipe bound: a record a crash keeps and a read returns. */
bool sim_plog_readable(const struct cp_plog *pl, uint16_t origin, uint64_t seq)
{
	const struct rec *r = find(pl, origin, seq);

	return r && r->persisted && !r->rotten;
}

/* The durability check: a record on the platter, read or not (rot is the rot bound's). */
bool sim_plog_persisted(const struct cp_plog *pl, uint16_t origin, uint64_t seq)
{
	const struct rec *r = find(pl, origin, seq);

	return r && r->persisted;
}

size_t sim_plog_count(const struct cp_plog *pl)
{
	return pl->n;
}

/* Record @i (in log order): false past the end; *count 0 for one deleted or lost. */
bool sim_plog_record(const struct cp_plog *pl, size_t i, uint16_t *origin, uint64_t *first_seq,
		     uint16_t *count)
{
	if (i >= pl->n)
		return false;
	*origin = pl->r[i].origin;
	*first_seq = pl->r[i].first_seq;
	*count = pl->r[i].gone ? 0 : pl->r[i].count;
	return true;
}

bool cp_plog_has(const struct cp_plog *pl, uint16_t origin, uint64_t seq)
{
	return find(pl, origin, seq) != NULL;
}

int cp_plog_read(struct cp_plog *pl, uint16_t origin, uint64_t seq, void *buf, size_t cap,
		 uint64_t *first_seq)
{
	struct rec *r = find(pl, origin, seq);

	if (!r)
		return -ENOENT;
	if (r->rotten) {
		pl->st.read_errors++;
		return -EUCLEAN;
	}
	if (cap < r->len)
		return -ENOBUFS;
	memcpy(buf, r->data, r->len);
	*first_seq = r->first_seq;
	return (int)r->len;
}

uint64_t cp_plog_max_seq(const struct cp_plog *pl, uint16_t origin)
{
	uint64_t m = 0;

	if (origin > CP_PLOG_ORIGIN_MAX || !pl->per_origin[origin])
		return 0;
	for (size_t i = 0; i < pl->n; i++) {
		const struct rec *r = &pl->r[i];
		if (!r->gone && r->origin == origin && r->first_seq + r->count - 1 > m)
			m = r->first_seq + r->count - 1;
	}
	return m;
}

uint64_t cp_plog_next_seq(const struct cp_plog *pl, uint16_t origin, uint64_t after)
{
	uint64_t best = 0;

	if (origin > CP_PLOG_ORIGIN_MAX || !pl->per_origin[origin])
		return 0;
	for (size_t i = 0; i < pl->n; i++) {
		const struct rec *r = &pl->r[i];
		if (r->gone || r->origin != origin || r->first_seq + r->count - 1 <= after)
			continue;
		uint64_t s = r->first_seq > after ? r->first_seq : after + 1;
		if (!best || s < best)
			best = s;
	}
	return best;
}

int cp_plog_gc(struct cp_plog *pl, const uint64_t *covered)
{
	size_t k = 0;
	int gone = 0;

	for (size_t i = 0; i < pl->n; i++) {
		struct rec *r = &pl->r[i];
		if (r->persisted && r->ticket <= pl->durable &&
		    r->first_seq + r->count - 1 <= covered[r->origin]) {
			free(r->data);
			gone++;
		} else {
			pl->r[k++] = *r;
		}
	}
	pl->n = k;
	recount(pl);
	pl->st.segments_deleted += gone;
	return gone ? 1 : 0;
}

void cp_plog_stats(const struct cp_plog *pl, struct cp_plog_stats *out)
{
	*out = pl->st;
}
