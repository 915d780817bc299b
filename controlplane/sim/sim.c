/* rumor-sim: a deterministic simulation of whole rumor nodes. N nodes run the real node
 * code (cp_node.c core, cp_holder, cp_leader, cp_recovery, cp_subs, cp_fsm, cp_order,
 * cp_members) on libraft's raft_fixture (in-memory Raft I/O and clock); this file is their
 * environment (controlplane/cp_env.h) in place of rumor-cp's cp_node_io.c: an in-memory
 * dataplane per node (stamping, dedupe, store, gossip with loss, duplication, reordering
 * and partitions, pulls), a control network, simulated disks for the payload log
 * (sim_plog.c: unsynced writes lost at a crash, EIO on sync, rotten records), clients that
 * send with ack "durable" or "applied", and faults: partitions, crashes and restarts of any
 * node or of all at once (Raft restarts from what the fixture stored), wipes of a node's whole
 * disk. After every step a checker verifies that every Raft index committed anywhere holds one
 * term, prefix agreement, FIFO and causal order of every node's applied events, and that no
 * acknowledged event is skipped;
 * at the end, with faults healed, that every acknowledged event is applied everywhere, the
 * KV state equals a replay of the order, and a new event from each node is ordered within a
 * bound (liveness).
 *
 * Usage: rumor-sim [--seeds N] [--seed S (the first)] [--plant NAME] [--expect-fail] [--long]
 *                  [--partition] [--idle] [-v]
 * A failing seed prints the one command that replays it. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <raft.h>
#include <raft/fixture.h>

#include "cp_api.h"
#include "cp_kv.h"
#include "cp_leader.h"
#include "cp_metrics.h"
#include "cp_node_int.h"
#include "cp_order.h"
#include "cp_plant.h"
#include "cp_plog.h"
#include "cp_view.h"
#include "rumor_rand.h"
#include "sim.h"

enum cp_plant cp_planted;

#define SIM_MAX 5
#define SIM_SLOTS 1024
#define SIM_FANOUT 2
#define SIM_ROUNDS 3
#define SIM_MAX_CLIENTS 4096
#define SIM_SETTLE_MS 15000
#define SIM_LIVE_MS 120000

/* ---------------------------------------------------------------- model state */

struct sim_slot {
	bool used;
	uint8_t *buf;
	uint32_t len;
	uint16_t origin, count;
	uint64_t first_seq;
};

struct sim_node;

struct sim_dp {                       /* one node's dataplane */
	struct sim_slot slot[SIM_SLOTS];
	uint64_t *seen;                   /* open-addressed set of origin << 48 | seq */
	uint32_t seen_cap, seen_n;
	uint64_t ordered_through[SIM_MAX + 1]; /* dedupe watermark (from RELEASE) */
	struct rumor_vc clock;
	uint64_t next_seq, floor;
	struct rumor_msg **q;             /* dp -> cp ring */
	unsigned qh, qn, qcap;
};

struct sim_node {
	struct sim *s;
	unsigned idx;                     /* fixture index; node id idx + 1 */
	uint16_t id;
	bool up;
	uint64_t down_until_ms;
	struct cp_node *n;
	struct cp_plog *plog;
	struct sim_dp dp;
	uint64_t rng;
	uint64_t last_tick_ms, last_slow_ms;
	uint64_t checked;                 /* gseqs checked */
	uint64_t through[SIM_MAX + 1];    /* applied per origin, as checked */
	uint64_t disk_due_ms;
	uint64_t refused;
	uint64_t seen_commit;             /* raft commit index at the last check */
	raft_index io_base, io_install;   /* see io_truncate */
	size_t raft_synced;               /* stored entries on the platter (CP_PLANT_RAFT_FSYNC) */
	uint64_t writeback_ms;            /* the page cache writes them back then */
	bool wipe;                        /* the restart finds an empty disk */
	unsigned raft_recv;               /* Raft messages delivered to it, as at its crash */
	int (*io_truncate)(struct raft_io *io, raft_index index);
	int (*io_snapshot_put)(struct raft_io *io, unsigned trailing,
			       struct raft_io_snapshot_put *req, const struct raft_snapshot *snap,
			       raft_io_snapshot_put_cb cb);
	int (*io_load)(struct raft_io *io, raft_term *term, raft_id *vote,
		       struct raft_snapshot **snap, raft_index *start, struct raft_entry *entries[],
		       size_t *n);
};

enum ev_kind { EV_GOSSIP, EV_APP };

struct sim_ev {
	uint64_t due_ms, order;
	uint8_t kind;
	uint8_t rounds;
	uint16_t type;
	unsigned from, to;                /* fixture indexes */
	uint8_t *p;
	size_t len;
	bool pulled;
};

struct sim_sent {                     /* an originated event, as the dataplane stamped it */
	uint16_t origin;
	uint64_t seq;
	struct rumor_event_id id;
	struct rumor_vc ts;
	char payload[40];
	uint16_t len;
};

struct sim_client {                   /* one request: its pointer is the cp_api_client */
	struct sim *s;
	unsigned node;
	uint8_t ack;
	bool acked, failed;
	uint64_t seq;                     /* from the reply */
	char idhex[33];
	char error[96];
	char payload[40];
	uint16_t len;
	uint64_t sent_ms, ack_ms;
	bool liveness;                    /* sent after healing: must be ordered in time */
};

struct sim_ref {                      /* the agreed order, gseq - 1 */
	uint8_t kind;
	uint16_t origin;
	uint64_t seq, seq_last;
	struct rumor_event_id id;
};

struct sim {
	struct raft_fixture f;
	unsigned part_phase, part_a, part_b; /* --partition: its phase, the minority's indexes */
	uint64_t part_ms, part_ctr, part_gseq;
	uint64_t idle_next_ms, idle_commit[SIM_MAX], idle_sent, idle_lag_max;
	uint64_t idle_entries0;           /* the leader's log length when --idle's sends began */
	unsigned idle_leader;             /* 1-based, 0: not chosen yet */
	struct sim_node node[SIM_MAX];
	unsigned nn;
	uint64_t seed, rng, step, order;
	bool conn[SIM_MAX][SIM_MAX];
	uint64_t app_due[SIM_MAX][SIM_MAX]; /* the last APP message's arrival, per link */
	struct sim_ev *ev;
	size_t nev, evcap;
	struct sim_sent *sent;
	size_t nsent, sentcap;
	struct sim_client *cl;
	size_t ncl;
	struct sim_ref *ref;
	size_t nref, refcap;
	unsigned loss_pct, dup_pct, eio_pct;
	bool healed;
	bool failed, safety;              /* a safety property broke (not only liveness) */
	unsigned raft_stopped;            /* libraft shut this node's server down (1-based) */
	uint64_t old_term_commits;        /* libraft 0.15 commits of an older term's entry */
	raft_term *cterm;                 /* [raft index]: the term committed there (0: none yet) */
	uint8_t *bycount;                 /* ... by libraft 0.15's doing (SIM_BY_*) */
	uint64_t echo_commits;            /* commits on a follower's echoed last index */
	size_t ccap;
	unsigned wiped;                   /* a wiped node not caught up yet (1-based) */
	uint64_t wipe_gseq;               /* ... until it applied through this */
	uint64_t stats_wipes, stats_raft_lost;
	char why[512];
	uint64_t stats_crashes, stats_allcrash, stats_parts, stats_acked, stats_eio, stats_rot;
	uint64_t stats_skips, stats_pulls, stats_restarts;
};

static int g_verbose;
static bool g_cut_crash;              /* SIM_CUT_CRASH: the old crash (Raft only cut off) */
static bool g_partition;              /* --partition: the scenario below, no random faults */
static bool g_idle;                   /* --idle: one event at a time, apply lag bounded */
static struct sim *g_sim;             /* the run in progress (the fixture's I/O wrappers) */
static uint64_t g_old_term_commits; /* over every seed run */
static uint64_t g_echo_commits;     /* ... and commits on an echoed last index */

enum { SIM_BY_COUNT = 1, SIM_BY_ECHO = 2 }; /* sim->bycount: which libraft 0.15 bug */

static void fail(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	if (s->failed)
		return;
	s->failed = true;
	s->safety = strncmp(fmt, "liveness", 8) != 0 && !strstr(fmt, "applied through gseq");
	va_start(ap, fmt);
	int k = snprintf(s->why, sizeof(s->why), "[t=%" PRIu64 " ms step %" PRIu64 "] ",
			 sim_now_ms(s), s->step);
	vsnprintf(s->why + k, sizeof(s->why) - (size_t)k, fmt, ap);
	va_end(ap);
}

static uint64_t rnd(struct sim *s)
{
	return rumor_splitmix64(&s->rng);
}

static unsigned below(struct sim *s, unsigned n)
{
	return n ? (unsigned)(rnd(s) % n) : 0;
}

uint64_t sim_now_ms(const struct sim *s)
{
	return s->f.time;
}

unsigned sim_disk_latency_ms(struct sim *s, unsigned node)
{
	(void)node;
	/* mostly a fast device; now and then a slow sync (a busy disk, a journal commit) */
	return below(s, 10) ? 1 + below(s, 4) : 20 + below(s, 80);
}

bool sim_disk_fails(struct sim *s, unsigned node)
{
	(void)node;
	if (s->healed || below(s, 1000) >= s->eio_pct * 10)
		return false;
	s->stats_eio++;
	return true;
}

void sim_disk_schedule(struct sim *s, unsigned node, uint64_t due_ms)
{
	s->node[node].disk_due_ms = due_ms;
}

/* ---------------------------------------------------------------- events */

static void ev_push(struct sim *s, const struct sim_ev *e)
{
	if (s->nev == s->evcap) {
		s->evcap = s->evcap ? s->evcap * 2 : 1024;
		s->ev = realloc(s->ev, s->evcap * sizeof(*s->ev));
	}
	s->ev[s->nev] = *e;
	s->ev[s->nev].order = ++s->order;
	s->nev++;
}

/* The earliest due event (ties: first pushed), removed; false when none is due by @now. */
static bool ev_pop(struct sim *s, uint64_t now, struct sim_ev *out)
{
	size_t best = SIZE_MAX;

	for (size_t i = 0; i < s->nev; i++)
		if (s->ev[i].due_ms <= now &&
		    (best == SIZE_MAX || s->ev[i].due_ms < s->ev[best].due_ms ||
		     (s->ev[i].due_ms == s->ev[best].due_ms && s->ev[i].order < s->ev[best].order)))
			best = i;
	if (best == SIZE_MAX)
		return false;
	*out = s->ev[best];
	s->ev[best] = s->ev[--s->nev];
	return true;
}

/* ---------------------------------------------------------------- the dataplane model */

static bool seen_has(const struct sim_dp *d, uint64_t k)
{
	if (!d->seen_cap)
		return false;
	for (uint32_t i = (uint32_t)(rumor_splitmix64(&(uint64_t){ k }) & (d->seen_cap - 1));;
	     i = (i + 1) & (d->seen_cap - 1)) {
		if (d->seen[i] == 0)
			return false;
		if (d->seen[i] == k)
			return true;
	}
}

static void seen_add(struct sim_dp *d, uint64_t k)
{
	if ((d->seen_n + 1) * 2 > d->seen_cap) {
		uint64_t *old = d->seen;
		uint32_t oc = d->seen_cap;
		d->seen_cap = oc ? oc * 2 : 1024;
		d->seen = calloc(d->seen_cap, sizeof(uint64_t));
		d->seen_n = 0;
		for (uint32_t i = 0; i < oc; i++)
			if (old[i])
				seen_add(d, old[i]);
		free(old);
	}
	uint32_t i = (uint32_t)(rumor_splitmix64(&(uint64_t){ k }) & (d->seen_cap - 1));
	while (d->seen[i] && d->seen[i] != k)
		i = (i + 1) & (d->seen_cap - 1);
	if (!d->seen[i]) {
		d->seen[i] = k;
		d->seen_n++;
	}
}

static bool dp_seen(const struct sim_dp *d, uint16_t origin, uint64_t seq)
{
	return seq <= d->ordered_through[origin] || seen_has(d, (uint64_t)origin << 48 | seq);
}

static void dp_to_cp(struct sim_node *sn, struct rumor_msg *m)
{
	struct sim_dp *d = &sn->dp;

	if (d->qn == d->qcap) {
		unsigned cap = d->qcap ? d->qcap * 2 : 256;
		struct rumor_msg **q = malloc(cap * sizeof(*q));
		for (unsigned i = 0; i < d->qn; i++)
			q[i] = d->q[(d->qh + i) % d->qcap];
		free(d->q);
		d->q = q;
		d->qh = 0;
		d->qcap = cap;
	}
	d->q[(d->qh + d->qn++) % d->qcap] = m;
}

static struct rumor_msg *msg_new(uint16_t type)
{
	struct rumor_msg *m = calloc(1, sizeof(*m));
	m->type = type;
	return m;
}

static void announce(struct sim_node *sn, uint32_t slot, uint16_t flags)
{
	struct sim_slot *sl = &sn->dp.slot[slot];
	struct rumor_msg *m = msg_new(RUMOR_MSG_NEW_FRAME);

	m->u.new_frame = (struct rumor_msg_new_frame){
		.origin = sl->origin, .count = sl->count, .flags = flags, .slot = slot,
		.frame_len = sl->len, .first_seq = sl->first_seq, .frame = sl->buf,
		.holder_clock = sn->dp.clock };
	dp_to_cp(sn, m);
}

static void gossip_send(struct sim *s, unsigned from, unsigned to, const uint8_t *p, size_t len,
			uint8_t rounds, bool pulled)
{
	if (from == to || !s->conn[from][to])
		return;
	if (!s->healed && below(s, 100) < s->loss_pct)
		return;
	unsigned copies = (!s->healed && below(s, 100) < s->dup_pct) ? 2 : 1;
	for (unsigned c = 0; c < copies; c++) {
		struct sim_ev e = { .due_ms = sim_now_ms(s) + below(s, 6), .kind = EV_GOSSIP,
				    .rounds = rounds, .from = from, .to = to, .len = len,
				    .p = malloc(len), .pulled = pulled };
		memcpy(e.p, p, len);
		ev_push(s, &e);
	}
}

static void fan_out(struct sim *s, unsigned from, const uint8_t *p, size_t len, uint8_t rounds)
{
	if (!rounds)
		return;
	for (unsigned k = 0; k < SIM_FANOUT; k++) {
		unsigned to = below(s, s->nn);
		gossip_send(s, from, to, p, len, rounds - 1, false);
	}
}

static int store(struct sim_node *sn, const uint8_t *p, size_t len, const struct rumor_wire_hdr *h)
{
	for (uint32_t i = 0; i < SIM_SLOTS; i++) {
		struct sim_slot *sl = &sn->dp.slot[i];
		if (sl->used)
			continue;
		*sl = (struct sim_slot){ .used = true, .buf = malloc(len), .len = (uint32_t)len,
					 .origin = h->origin, .count = h->event_count,
					 .first_seq = h->first_seq };
		memcpy(sl->buf, p, len);
		return (int)i;
	}
	return -ENOSPC;
}

static void dp_receive(struct sim *s, struct sim_node *sn, const struct sim_ev *e)
{
	static struct rumor_wire_frame f;
	bool fresh = false;

	if (rumor_wire_decode_rumor(e->p, e->len, 1, RUMOR_WIRE_DEC_VERIFY_IDS, &f) != 0)
		return;
	for (uint16_t i = 0; i < f.hdr.event_count; i++)
		fresh |= !dp_seen(&sn->dp, f.hdr.origin, f.hdr.first_seq + i);
	if (!fresh)
		return;
	int slot = store(sn, e->p, e->len, &f.hdr);
	if (slot < 0)
		return; /* store full: the order's pull or a repair brings it later */
	for (uint16_t i = 0; i < f.hdr.event_count; i++)
		seen_add(&sn->dp, (uint64_t)f.hdr.origin << 48 | (f.hdr.first_seq + i));
	rumor_vc_merge(&sn->dp.clock, &f.clock);
	announce(sn, (uint32_t)slot, e->pulled ? RUMOR_NEW_FRAME_PULLED : 0);
	fan_out(s, sn->idx, e->p, e->len, e->rounds);
}

static void dp_originate(struct sim *s, struct sim_node *sn, const struct rumor_msg_originate *o)
{
	static uint8_t buf[65536];
	struct rumor_msg *ack = msg_new(RUMOR_MSG_ORIGINATE_ACK);
	struct rumor_wire_body b;
	struct rumor_wire_hdr h = { .type = RUMOR_WIRE_GOSSIP, .rounds_left = SIM_ROUNDS,
				    .cluster_id = 1, .origin = sn->id, .sender = sn->id };
	struct sim_dp *d = &sn->dp;
	size_t off = 0;

	ack->u.originate_ack.req_id = o->req_id;
	ack->u.originate_ack.origin = sn->id;
	if (d->next_seq < d->floor)
		d->next_seq = d->floor;
	h.first_seq = d->next_seq + 1;
	h.event_count = o->count;
	struct rumor_vc ts = d->clock;
	rumor_vc_set(&ts, sn->id, h.first_seq + o->count - 1);
	h.clock_count = ts.n;
	rumor_wire_body_start(&b, buf + RUMOR_WIRE_HDR_LEN, sizeof(buf) - RUMOR_WIRE_HDR_LEN, &ts);
	for (uint16_t i = 0; i < o->count; i++) {
		uint16_t len = (uint16_t)(o->data[off] | o->data[off + 1] << 8);
		const uint8_t *p = o->data + off + 2;
		struct rumor_event_id id;
		rumor_event_id_compute(sn->id, h.first_seq + i, p, len, &id);
		rumor_wire_body_add(&b, &id, p, len);
		if (s->nsent == s->sentcap) {
			s->sentcap = s->sentcap ? s->sentcap * 2 : 1024;
			s->sent = realloc(s->sent, s->sentcap * sizeof(*s->sent));
		}
		struct sim_sent *se = &s->sent[s->nsent++];
		*se = (struct sim_sent){ .origin = sn->id, .seq = h.first_seq + i, .id = id,
					 .ts = ts, .len = len };
		rumor_vc_set(&se->ts, sn->id, h.first_seq + i);
		memcpy(se->payload, p, len < sizeof(se->payload) ? len : sizeof(se->payload));
		off += 2u + len;
	}
	rumor_wire_put_hdr(buf, &h);
	size_t len = RUMOR_WIRE_HDR_LEN + b.len;
	int slot = store(sn, buf, len, &h);
	if (slot < 0) {
		s->nsent -= o->count;
		ack->u.originate_ack.status = -ENOSPC;
		dp_to_cp(sn, ack);
		return;
	}
	d->next_seq = h.first_seq + o->count - 1;
	d->clock = ts;
	for (uint16_t i = 0; i < o->count; i++)
		seen_add(d, (uint64_t)sn->id << 48 | (h.first_seq + i));
	ack->u.originate_ack.first_seq = h.first_seq;
	ack->u.originate_ack.count = o->count;
	announce(sn, (uint32_t)slot, 0);
	dp_to_cp(sn, ack);
	fan_out(s, sn->idx, buf, len, SIM_ROUNDS + 1);
}

static const struct sim_slot *dp_find(const struct sim_node *sn, uint16_t origin, uint64_t seq)
{
	for (uint32_t i = 0; i < SIM_SLOTS; i++) {
		const struct sim_slot *sl = &sn->dp.slot[i];
		if (sl->used && sl->origin == origin && seq >= sl->first_seq &&
		    seq < sl->first_seq + sl->count)
			return sl;
	}
	return NULL;
}

/* A PULL: the first peer (in a random order) that stores the frame sends it. */
static void dp_pull(struct sim *s, struct sim_node *sn, const struct rumor_msg_pull *p)
{
	unsigned start = below(s, s->nn);

	s->stats_pulls++;
	for (unsigned k = 0; k < s->nn; k++) {
		struct sim_node *peer = &s->node[(start + k) % s->nn];
		const struct sim_slot *sl;
		if (peer == sn || !peer->up || !s->conn[sn->idx][peer->idx] ||
		    !(sl = dp_find(peer, p->origin, p->first_seq)))
			continue;
		gossip_send(s, peer->idx, sn->idx, sl->buf, sl->len, 0, true);
		return;
	}
	struct rumor_msg *m = msg_new(RUMOR_MSG_PULL_FAILED);
	m->u.pull_failed = *p;
	dp_to_cp(sn, m);
}

static void dp_release(struct sim_node *sn, const struct rumor_msg_release *r)
{
	struct sim_slot *sl;

	if (r->slot >= SIM_SLOTS)
		return;
	if (r->ordered_through > sn->dp.ordered_through[r->origin])
		sn->dp.ordered_through[r->origin] = r->ordered_through;
	sl = &sn->dp.slot[r->slot];
	if (!sl->used || sl->origin != r->origin || sl->first_seq != r->first_seq)
		return;
	free(sl->buf);
	*sl = (struct sim_slot){ 0 };
}

static void dp_handle(struct sim *s, struct sim_node *sn, struct rumor_msg *m)
{
	switch (m->type) {
	case RUMOR_MSG_ORIGINATE:
		dp_originate(s, sn, &m->u.originate);
		break;
	case RUMOR_MSG_RELEASE:
		dp_release(sn, &m->u.release);
		break;
	case RUMOR_MSG_PULL:
		dp_pull(s, sn, &m->u.pull);
		break;
	case RUMOR_MSG_RESYNC:
		for (uint32_t i = 0; i < SIM_SLOTS; i++)
			if (sn->dp.slot[i].used)
				announce(sn, i, RUMOR_NEW_FRAME_RESYNC);
		break;
	case RUMOR_MSG_SEND_TO: {
		const struct rumor_msg_send_to *t = &m->u.send_to;
		const struct sim_slot *sl = t->slot < SIM_SLOTS ? &sn->dp.slot[t->slot] : NULL;
		if (!sl || !sl->used || sl->origin != t->origin || sl->first_seq != t->first_seq)
			break;
		for (unsigned i = 0; i < t->n; i++)
			if (t->peer[i] >= 1 && t->peer[i] <= s->nn)
				gossip_send(s, sn->idx, t->peer[i] - 1u, sl->buf, sl->len, 0, true);
		break;
	}
	case RUMOR_MSG_SEQ_FLOOR:
		if (m->u.seq_floor.floor > sn->dp.floor)
			sn->dp.floor = m->u.seq_floor.floor;
		break;
	default: /* MEMBERS, VIEW: the model has neither a timestamp rule nor views */
		break;
	}
	free(m);
}

/* ---------------------------------------------------------------- the environment */

static int env_dp_alloc(void *arg, uint16_t type, struct rumor_msg **out)
{
	(void)arg;
	*out = msg_new(type);
	return 0;
}

static int env_dp_send(void *arg, struct rumor_msg *m)
{
	struct sim_node *sn = arg;

	if (!sn->up) {
		free(m); /* a dead node's dataplane takes nothing */
		return 0;
	}
	dp_handle(sn->s, sn, m);
	return 0;
}

static void env_dp_free(void *arg, struct rumor_msg *m)
{
	(void)arg;
	free(m);
}

static unsigned env_dp_recv(void *arg, struct rumor_msg **msgs, unsigned max)
{
	struct sim_dp *d = &((struct sim_node *)arg)->dp;
	unsigned k = 0;

	while (k < max && d->qn) {
		msgs[k++] = d->q[d->qh];
		d->qh = (d->qh + 1) % d->qcap;
		d->qn--;
	}
	return k;
}

static int env_peer_send(void *arg, uint64_t to, uint16_t type, const struct iovec *iov,
			 unsigned cnt)
{
	struct sim_node *sn = arg;
	struct sim *s = sn->s;
	size_t len = 0, off = 0;

	if (!sn->up || to < 1 || to > s->nn || !s->conn[sn->idx][to - 1])
		return -ENOTCONN;
	for (unsigned i = 0; i < cnt; i++)
		len += iov[i].iov_len;
	/* a TCP connection: in order on each link (the REPORTED_ALL marker follows the reports) */
	uint64_t due = sim_now_ms(s) + 1 + below(s, 3);
	if (due < s->app_due[sn->idx][to - 1])
		due = s->app_due[sn->idx][to - 1];
	s->app_due[sn->idx][to - 1] = due;
	struct sim_ev e = { .due_ms = due, .kind = EV_APP,
			    .type = type, .from = sn->idx, .to = (unsigned)to - 1, .len = len,
			    .p = malloc(len ? len : 1) };
	for (unsigned i = 0; i < cnt; i++) {
		memcpy(e.p + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	ev_push(s, &e);
	return 0;
}

static void env_refused(void *arg, int reason, uint64_t from)
{
	(void)reason;
	(void)from;
	((struct sim_node *)arg)->refused++;
}

static uint64_t env_now_us(void *arg)
{
	return sim_now_ms(((struct sim_node *)arg)->s) * 1000u;
}

static uint64_t env_random(void *arg)
{
	return rumor_splitmix64(&((struct sim_node *)arg)->rng);
}

/* ---------------------------------------------------------------- what rumor-cp links */

static void fail(struct sim *s, const char *fmt, ...);

/* A durable or applied ack: the event is on a majority's payload-log platters, as the ack
 * says (a node whose watermark passed it counts too: gc may have deleted its record). Checked
 * at the ack, not later at a loss: a durable ack means committed, so a loss shows only
 * when every copy of a committed payload is gone. */
static void check_acked_on_disks(const struct sim_client *cl)
{
	struct sim *s = cl->s;
	uint16_t origin = s->node[cl->node].id;
	unsigned on = 0;

	for (unsigned i = 0; i < s->nn; i++)
		on += sim_plog_persisted(s->node[i].plog, origin, cl->seq) ||
		      cp_fsm_watermarks(s->node[i].n->fsm)[origin] >= cl->seq;
	if (on < s->nn / 2 + 1)
		fail(s, "event %u:%" PRIu64 " acknowledged %s is on %u payload-log disks only",
		     origin, cl->seq, cl->ack == CP_ACK_DURABLE ? "durable" : "applied", on);
}

/* The API: a reply to a simulated client's request. */
int cp_api_reply(struct cp_api_client *c, json_t *reply)
{
	struct sim_client *cl = (struct sim_client *)c;
	json_t *ok = json_object_get(reply, "ok");

	if (ok && json_is_true(ok) && json_object_get(reply, "seq")) {
		const char *hex = json_string_value(json_object_get(reply, "id"));
		cl->acked = true;
		cl->ack_ms = sim_now_ms(cl->s);
		cl->seq = (uint64_t)json_integer_value(json_object_get(reply, "seq"));
		if (hex)
			snprintf(cl->idhex, sizeof(cl->idhex), "%s", hex);
		check_acked_on_disks(cl);
	} else if (ok && !json_is_true(ok)) {
		const char *e = json_string_value(json_object_get(reply, "error"));
		cl->failed = true;
		snprintf(cl->error, sizeof(cl->error), "%s", e ? e : "?");
	}
	json_decref(reply);
	return 0;
}

/* Lines: the replies to sends (cp_subs writes them without jansson) read as cp_api_reply's;
 * the sim has no watchers, whose stream lines would be ignored here. */
int cp_api_reply_line(struct cp_api_client *c, const char *line, size_t len)
{
	json_t *r = json_loadb(line, len, 0, NULL);

	if (!r)
		abort(); /* the node wrote a line that is not JSON */
	if (json_object_get(r, "stream")) {
		json_decref(r);
		return 0;
	}
	return cp_api_reply(c, r);
}

void cp_view_on_app(struct cp_node *n, uint64_t from, const uint8_t *p, size_t len)
{
	(void)n;
	(void)from;
	(void)p;
	(void)len;
}

void cp_metrics_observe(struct cp_metrics *m, unsigned level, uint64_t t0_us, uint64_t now_us)
{
	(void)m;
	(void)level;
	(void)t0_us;
	(void)now_us;
}

/* ordered.log is the operator's export: the simulated node has none (fd -1). */
int cp_olog_append(struct cp_olog *l, uint64_t gseq, const char *line, size_t len)
{
	(void)l;
	(void)gseq;
	(void)line;
	(void)len;
	return 0;
}

int cp_olog_flush(struct cp_olog *l)
{
	(void)l;
	return 0;
}

int cp_olog_sync(struct cp_olog *l)
{
	(void)l;
	return 0;
}

int cp_olog_mark(struct cp_olog *l, uint64_t through)
{
	(void)l;
	(void)through;
	return 0;
}

/* ---------------------------------------------------------------- nodes */

static const char *config_text(unsigned nn)
{
	static char txt[4096];
	int k = snprintf(txt, sizeof(txt),
			 "[cluster]\nid = 1\n[raft]\nbatch_max_events = 64\nbatch_max_us = 3000\n"
			 "gap_timeout_ms = 1500\n[dataplane]\nstore_slots = %u\n[auth]\n"
			 "insecure = true\n", SIM_SLOTS);
	for (unsigned i = 1; i <= nn; i++)
		k += snprintf(txt + k, sizeof(txt) - (size_t)k,
			      "[node.%u]\nmac = 02:00:00:00:00:%02x\nip = 10.0.0.%u\n"
			      "control = 10.0.1.%u:7100\n", i, i, i, i);
	return txt;
}

static void node_plog_cfg(struct sim_node *sn, struct cp_plog_cfg *pc)
{
	*pc = (struct cp_plog_cfg){ .buffer_max = CP_PLOG_BUFFER_MAX,
				    .durable = cp_holder_on_plog_durable, .owner_starts_writes = true,
				    .arg = sn->n };
}

/* The fixture's stored log (fixture.c, v0.15.0 and upstream's HEAD alike) assumes its
 * entries begin at index 1: ioMethodTruncate (fixture.c:600-635) keeps index - 1 of them. But
 * an installed snapshot (snapshot_put with trailing 0) empties it (fixture.c:264-266), and
 * the entries appended after begin at the snapshot's index + 1; a later truncate (a follower's
 * log conflict) then copies index - 1 entries out of a shorter array (a heap overflow, seen
 * under ASan at seed 637) and sets a count past its end. The wrappers translate the index. */
static struct sim_node *io_node(struct raft_io *io)
{
	for (unsigned i = 0; i < g_sim->nn; i++)
		if (&g_sim->f.servers[i].io == io)
			return &g_sim->node[i];
	abort();
}

static int io_truncate(struct raft_io *io, raft_index index)
{
	struct sim_node *sn = io_node(io);

	if (index == 1 && sn->io_install) { /* the install's own: the log starts after it */
		sn->io_base = sn->io_install;
		sn->io_install = 0;
		return sn->io_truncate(io, 1);
	}
	if (index <= sn->io_base) {
		fail(g_sim, "node %u: raft truncates its log at %" PRIu64 ", below its installed "
		     "snapshot %" PRIu64, sn->id, (uint64_t)index, (uint64_t)sn->io_base);
		return RAFT_IOERR;
	}
	return sn->io_truncate(io, index - sn->io_base);
}

static int io_snapshot_put(struct raft_io *io, unsigned trailing, struct raft_io_snapshot_put *req,
			   const struct raft_snapshot *snap, raft_io_snapshot_put_cb cb)
{
	struct sim_node *sn = io_node(io);

	if (trailing == 0)
		sn->io_install = snap->index;
	return sn->io_snapshot_put(io, trailing, req, snap, cb);
}

/* And its load (fixture.c:448-487) says the entries start after the snapshot, also when a
 * local snapshot left them all in place (trailing > 0): where they start is io_base + 1. */
static int io_load(struct raft_io *io, raft_term *term, raft_id *vote, struct raft_snapshot **snap,
		   raft_index *start, struct raft_entry *entries[], size_t *n)
{
	struct sim_node *sn = io_node(io);
	int rc = sn->io_load(io, term, vote, snap, start, entries, n);

	if (rc == 0)
		*start = sn->io_base + 1;
	return rc;
}

static void env_raft_heartbeat(void *arg);

static void node_create(struct sim *s, unsigned i)
{
	struct sim_node *sn = &s->node[i];
	struct cp_node *n = calloc(1, sizeof(*n));
	char err[256];
	struct cp_plog_cfg pc;

	sn->s = s;
	sn->idx = i;
	sn->id = (uint16_t)(i + 1);
	sn->up = true;
	sn->rng = s->seed * 31 + i;
	rumor_vc_init(&sn->dp.clock);
	sn->n = n;
	if (rumor_config_parse(config_text(s->nn), "sim.conf", &n->cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "rumor-sim: config: %s\n", err);
		exit(2);
	}
	n->self = sn->id;
	n->me = rumor_config_node(&n->cfg, n->self);
	n->env = (struct cp_env){ .version = CP_ENV_VERSION, .arg = sn,
				  .dp_alloc = env_dp_alloc, .dp_send = env_dp_send,
				  .dp_free = env_dp_free, .dp_recv = env_dp_recv,
				  .peer_send = env_peer_send, .refused = env_refused,
				  .now_us = env_now_us, .random = env_random,
				  .raft_heartbeat = env_raft_heartbeat };
	n->olog.fd = -1;
	n->dp_alive = true;
	/* SIM_GROUP_CUT=1: rumor-cp's group-commit cut (cp_leader_after_io after each loop
	 * pass); by default the cut on the 1 ms tick (controlplane/README.md, "One copy left") */
	n->lead.cut_when_idle = getenv("SIM_GROUP_CUT") != NULL;
	if (cp_node_init_core(n) < 0) {
		fprintf(stderr, "rumor-sim: node %u: init failed\n", sn->id);
		exit(2);
	}
	node_plog_cfg(sn, &pc);
	sim_plog_open(s, i, &pc, &sn->plog);
	n->plog = sn->plog;
	if (raft_fixture_grow(&s->f, &n->fsm_hooks) != 0) {
		fprintf(stderr, "rumor-sim: raft_fixture_grow failed\n");
		exit(2);
	}
	n->raft = raft_fixture_get(&s->f, i);
	struct raft_io *io = &s->f.servers[i].io;
	sn->io_truncate = io->truncate;
	sn->io_snapshot_put = io->snapshot_put;
	sn->io_load = io->load;
	io->load = io_load;
	io->truncate = io_truncate;
	io->snapshot_put = io_snapshot_put;
	raft_set_snapshot_threshold(n->raft, getenv("SIM_SNAP") ? (unsigned)atoi(getenv("SIM_SNAP")) : 64);
	raft_set_snapshot_trailing(n->raft, 32);
}

/* Raft messages the fixture has delivered to server @i (types 1-5; fixture.c's n_recv has
 * no slot for TIMEOUT_NOW, 6) */
static unsigned raft_recvd(struct sim *s, unsigned i)
{
	unsigned n = 0;

	for (int t = RAFT_IO_APPEND_ENTRIES; t <= RAFT_IO_INSTALL_SNAPSHOT; t++)
		n += raft_fixture_n_recv(&s->f, i, t);
	return n;
}

static void set_conn(struct sim *s, unsigned a, unsigned b, bool up)
{
	if (a == b || s->conn[a][b] == up)
		return;
	/* a crashed node's links come back only with it (node_restart): the fixture delivers
	 * to a server that is not alive, so a link healed meanwhile let the dead server append
	 * and acknowledge entries that its wipe then took (seed 229) */
	if (up && (!s->node[a].up || !s->node[b].up))
		return;
	s->conn[a][b] = s->conn[b][a] = up;
	if (up) {
		raft_fixture_reconnect(&s->f, a, b);
		raft_fixture_reconnect(&s->f, b, a);
	} else {
		raft_fixture_disconnect(&s->f, a, b);
		raft_fixture_disconnect(&s->f, b, a);
	}
}

/* fixture.c's private per-server I/O state (libraft 0.15.0, the version linked): its
 * leading fields, to see what it stores and which requests are in flight. run() checks the
 * layout against the fixture before the first step. */
struct fixture_io {
	struct raft_io *io;
	unsigned index;
	raft_time *time;
	raft_time next_tick;
	raft_term term;
	raft_id voted_for;
	struct raft_snapshot *snapshot;
	struct raft_entry *entries;
	size_t n;
	raft_id id;
	const char *address;
	unsigned tick_interval;
	raft_io_tick_cb tick_cb;
	raft_io_recv_cb recv_cb;
	void *requests[2];                /* libraft's queue */
};

struct fixture_req {                  /* fixture.c's REQUEST header */
	int type;                         /* 3: a message in flight to a peer */
	raft_time completion_time;
	void *queue[2];
};

static struct fixture_io *fio(struct sim *s, unsigned i)
{
	return s->f.servers[i].io.impl;
}

/* rumor-cp's env_raft_heartbeat on the fixture: one libraft tick with heartbeat_timeout 0
 * sends an empty AppendEntries to every follower now. */
static void env_raft_heartbeat(void *arg)
{
	struct sim_node *sn = arg;
	struct raft *r = sn->n->raft;
	struct fixture_io *io = fio(sn->s, sn->idx);
	unsigned hb = r->heartbeat_timeout;

	if (r->state != RAFT_LEADER || !io->tick_cb)
		return;
	r->heartbeat_timeout = 0;
	io->tick_cb(io->io);
	r->heartbeat_timeout = hb;
}

/* A request of server @i's that calls back into its Raft instance is still in flight (a
 * disk write, a send, snapshot work): a restart waits for it, as a process's exit waits for
 * nothing but the fixture cannot cancel one. */
static bool raft_busy(struct sim *s, unsigned i)
{
	void **h = fio(s, i)->requests;

	for (void **q = h[0]; q != h; q = q[0]) {
		const struct fixture_req *r =
			(const void *)((const char *)q - offsetof(struct fixture_req, queue));
		if (r->type != 3)
			return true;
	}
	return false;
}

/* Server @i's Raft restarts from what its disk holds (fixture.c's stored term, vote,
 * snapshot and entries), as rumor-cp's raft_start does after a crash: a new instance, the
 * state machine empty until the snapshot's restore and the replay of the log. */
/* The Raft log's disk. A completed append is synced (the fixture's callback), unless
 * CP_PLANT_RAFT_FSYNC skipped the sync: then the entries reach the platter only when the page
 * cache writes them back (every 1-5 s), and a crash loses those appended since. */
static void raft_disk_step(struct sim *s)
{
	for (unsigned i = 0; i < s->nn; i++) {
		struct sim_node *sn = &s->node[i];
		size_t n = fio(s, i)->n;
		if (!CP_PLANTED(CP_PLANT_RAFT_FSYNC)) {
			sn->raft_synced = n;
		} else if (sim_now_ms(s) >= sn->writeback_ms) {
			sn->raft_synced = n;
			sn->writeback_ms = sim_now_ms(s) + 1000 + below(s, 4000);
		} else if (sn->raft_synced > n) {
			sn->raft_synced = n; /* truncated */
		}
	}
}

static void snapshot_free(struct raft_snapshot *snap)
{
	raft_configuration_close(&snap->configuration);
	for (unsigned i = 0; i < snap->n_bufs; i++)
		raft_free(snap->bufs[i].base);
	raft_free(snap->bufs);
	raft_free(snap);
}

static void raft_restart(struct sim *s, struct sim_node *sn)
{
	struct raft_fixture_server *fs = &s->f.servers[sn->idx];
	struct raft *r = &fs->raft;
	struct cp_node *n = sn->n;
	unsigned et = r->election_timeout, ht = r->heartbeat_timeout,
		 ist = r->install_snapshot_timeout, thr = r->snapshot.threshold,
		 trl = r->snapshot.trailing;
	struct raft_tracer *tr = r->tracer;
	struct cp_fsm_config fcfg;
	struct cp_fsm *empty;
	void *buf;
	size_t len;

	raft_close(r, NULL);
	struct fixture_io *io = fio(s, sn->idx);
	if (sn->wipe) { /* the whole disk: term, vote, snapshot, entries */
		sn->io_truncate(&fs->io, 1);
		if (io->snapshot)
			snapshot_free(io->snapshot);
		io->snapshot = NULL;
		io->term = 0;
		io->voted_for = 0;
		sn->io_base = sn->io_install = 0;
		sn->raft_synced = 0;
	} else if (io->n > sn->raft_synced) { /* what no sync covered (the planted bug) */
		s->stats_raft_lost += io->n - sn->raft_synced;
		sn->io_truncate(&fs->io, sn->raft_synced + 1);
	}
	/* an empty state machine: raft_start restores the snapshot into it and replays the rest */
	cp_fsm_config_default(&fcfg);
	struct cp_payload_provider none = { .get = cp_recovery_get };
	if (cp_fsm_create(&fcfg, &none, &empty) < 0 ||
	    cp_fsm_snapshot_save(empty, &buf, &len) < 0 ||
	    cp_fsm_snapshot_load(n->fsm, buf, len) < 0 || cp_node_fsm_reload(n) < 0) {
		fail(s, "node %u: restart: out of memory", sn->id);
		return;
	}
	free(buf);
	cp_fsm_destroy(empty);
	memset(n->applied_through, 0, (RUMOR_NODE_ID_MAX + 1) * sizeof(uint64_t));
	memset(n->snap_applied[0], 0, (RUMOR_NODE_ID_MAX + 1) * sizeof(uint64_t));
	memset(n->snap_applied[1], 0, (RUMOR_NODE_ID_MAX + 1) * sizeof(uint64_t));
	if (raft_init(r, &fs->io, &n->fsm_hooks, fs->id, fs->address) != 0) {
		fail(s, "node %u: raft_init at restart failed", sn->id);
		return;
	}
	raft_set_election_timeout(r, et);
	raft_set_heartbeat_timeout(r, ht);
	raft_set_install_snapshot_timeout(r, ist);
	raft_set_snapshot_threshold(r, thr);
	raft_set_snapshot_trailing(r, trl);
	r->tracer = tr;
	if (sn->wipe) { /* rumor-cp with an empty data dir bootstraps (cp_node_io.c) */
		struct raft_configuration conf;
		raft_fixture_configuration(&s->f, s->nn, &conf);
		int rc = raft_bootstrap(r, &conf);
		raft_configuration_close(&conf);
		if (rc != 0) {
			fail(s, "node %u: bootstrap after its wipe: %s", sn->id, raft_strerror(rc));
			return;
		}
		sn->wipe = false;
	}
	if (raft_start(r) != 0) {
		fail(s, "node %u: raft_start at restart: %s", sn->id, raft_errmsg(r));
		return;
	}
	if (g_verbose)
		fprintf(stderr, "[t=%" PRIu64 " ms] node %u: Raft restarts at term %" PRIu64
			", %" PRIu64 " entries, snapshot %" PRIu64 "\n", sim_now_ms(s), sn->id,
			(uint64_t)r->current_term, (uint64_t)raft_last_index(r),
			(uint64_t)r->log.snapshot.last_index);
	sn->seen_commit = 0;
	sn->checked = 0; /* the checker reads its applied entries again, from its snapshot */
	memset(sn->through, 0, sizeof(sn->through));
	s->stats_restarts++;
}

/* The node's processes die: the dataplane's store and rings, rumor-cp's memory, and what
 * the payload log had not synced. Its Raft server is cut off and stops ticking; the writes
 * it had in flight complete (a disk finishes them), and node_restart starts a new instance
 * from what the fixture stored (raft_restart). SIM_CUT_CRASH: the server keeps running with
 * its memory, and the state machine reloads from its own snapshot (the old model). */
static void node_crash(struct sim *s, struct sim_node *sn)
{
	struct cp_node *n = sn->n;
	struct sim_dp *d = &sn->dp;

	if (!sn->up)
		return;
	sn->up = false;
	s->stats_crashes++;
	sn->raft_recv = raft_recvd(s, sn->idx);
	/* cut off, not raft_fixture_kill: revive would reconnect it to every peer */
	for (unsigned j = 0; j < s->nn; j++)
		if (j != sn->idx && s->conn[sn->idx][j])
			set_conn(s, sn->idx, j, false);
	if (!g_cut_crash)
		s->f.servers[sn->idx].alive = false; /* no ticks: its writes in flight complete */
	for (uint32_t i = 0; i < SIM_SLOTS; i++)
		free(d->slot[i].buf);
	memset(d->slot, 0, sizeof(d->slot));
	while (d->qn) {
		free(d->q[d->qh]);
		d->qh = (d->qh + 1) % d->qcap;
		d->qn--;
	}
	free(d->seen);
	d->seen = NULL;
	d->seen_cap = d->seen_n = 0;
	/* the dataplane's seq reservation is on disk (dp_seqstate): next_seq survives */
	rumor_vc_init(&d->clock);
	rumor_vc_set(&d->clock, sn->id, d->next_seq);
	for (unsigned c = 0; c < s->ncl; c++)
		if (s->cl[c].node == sn->idx && !s->cl[c].acked)
			s->cl[c].failed = true; /* its connection went with the process */
	/* rumor-cp's memory is gone; what Raft still completes for the dead server (a disk
	 * write in flight) meets empty state, as the replay after the restart would */
	cp_holder_free(n);
	cp_recovery_free(n);
	cp_subs_free(n);
	cp_leader_free(n);
	cp_order_reset(n->order);
	n->leader = 0;
	n->aframe_slot = UINT32_MAX;
	n->members_sent = false;
	cp_gcfloor_fini(&n->gcfloor); /* members' watermarks were in memory */
	n->gcfloor_sent_ms = 0;
	sim_plog_crash(sn->plog);
	if (cp_holder_init(n) < 0 || cp_recovery_init(n) < 0 || cp_subs_init(n) < 0 ||
	    cp_leader_init(n) < 0)
		fail(s, "node %u: restart: out of memory", sn->id);
	n->lead.cut_when_idle = getenv("SIM_GROUP_CUT") != NULL; /* cp_leader_free cleared it */
}

/* The node loses its whole disk too (tests/cluster_wipe.sh): Raft's term, vote, log and
 * snapshot, the payload log and the dataplane's seq reservation. It restarts as rumor-cp does
 * on an empty data dir: it bootstraps the configured cluster and learns the seq floor from
 * the leader before its dataplane stamps (cp_subs). One wipe at a time, and the next only
 * after the wiped node applied what the cluster had applied when it was wiped: a majority of
 * disks always holds what the cluster acknowledged. */
static void node_wipe(struct sim *s, struct sim_node *sn)
{
	struct cp_plog_cfg pc;
	uint64_t last = 0;

	node_crash(s, sn);
	s->stats_wipes++;
	if (g_verbose)
		fprintf(stderr, "[t=%" PRIu64 " ms] node %u wiped\n", sim_now_ms(s), sn->id);
	for (unsigned i = 0; i < s->nn; i++)
		if (cp_fsm_last_gseq(s->node[i].n->fsm) > last)
			last = cp_fsm_last_gseq(s->node[i].n->fsm);
	s->wiped = sn->idx + 1;
	s->wipe_gseq = last;
	sn->wipe = true;
	sim_plog_free(sn->plog);
	node_plog_cfg(sn, &pc);
	sim_plog_open(s, sn->idx, &pc, &sn->plog);
	sn->n->plog = sn->plog;
	sn->disk_due_ms = 0;
	sn->dp.next_seq = sn->dp.floor = 0;
	rumor_vc_init(&sn->dp.clock);
	memset(sn->dp.ordered_through, 0, sizeof(sn->dp.ordered_through));
}

/* A wipe of @x takes no copy that the cluster still needs from a majority of disks: every
 * Raft entry some node took as committed is stored on a majority of the other nodes, and
 * every payload record on @x's disk is readable (synced, not rotten) on a majority of the
 * others' (a restart without a snapshot replays the Raft log from its start, and needs every
 * payload again). Wiping one disk of a bare majority is the loss of a majority's copy, which
 * no majority-quorum design survives. */
static raft_term log_term(const struct raft *r, raft_index i);

static bool wipe_keeps_majority(struct sim *s, unsigned x)
{
	unsigned maj = s->nn / 2 + 1, have = 0, best = 0;
	uint64_t c = 0, first;
	uint16_t origin, count;

	for (unsigned i = 0; i < s->nn; i++)
		if (s->node[i].n->raft->commit_index > c) {
			c = s->node[i].n->raft->commit_index;
			best = i;
		}
	raft_term t = log_term(s->node[best].n->raft, c);
	for (unsigned j = 0; j < s->nn; j++)
		if (j != x && (!c || log_term(s->node[j].n->raft, c) == t))
			have++;
	if (have < maj)
		return false;
	for (size_t i = 0; sim_plog_record(s->node[x].plog, i, &origin, &first, &count); i++)
		for (uint64_t q = first; q < first + count; q++) {
			unsigned held = 0, covered = 0;
			for (unsigned j = 0; j < s->nn; j++) {
				if (j == x)
					continue;
				held += sim_plog_readable(s->node[j].plog, origin, q);
				/* in both its snapshots: no restart of j replays it (and x installs
				 * a snapshot that covers it) */
				covered += s->node[j].n->snap_applied[0][origin] >= q;
			}
			if (held < maj && covered < s->nn - 1)
				return false;
		}
	return true;
}

/* A bit flip in a closed file takes one copy: never the last readable one of an event that
 * a restart may replay (two flips in the two copies of a bare majority lose the event, which
 * no replication survives). */
static bool rot_keeps_a_copy(struct sim *s, unsigned x, uint64_t pick)
{
	size_t n = sim_plog_count(s->node[x].plog);
	uint64_t first;
	uint16_t origin, count;

	if (!n || !sim_plog_record(s->node[x].plog, pick % n, &origin, &first, &count))
		return true;
	for (uint64_t q = first; q < first + count; q++) {
		unsigned held = 0, covered = 0;
		for (unsigned j = 0; j < s->nn; j++) {
			covered += s->node[j].n->snap_applied[0][origin] >= q;
			held += j != x && sim_plog_readable(s->node[j].plog, origin, q);
		}
		if (!held && covered < s->nn)
			return false;
	}
	return true;
}

static void node_restart(struct sim *s, struct sim_node *sn)
{
	struct cp_node *n = sn->n;

	if (sn->up)
		return;
	if (g_cut_crash) {
		if (cp_node_fsm_reload(n) < 0)
			fail(s, "node %u: the state machine did not reload from its snapshot", sn->id);
	} else {
		if (raft_busy(s, sn->idx))
			return; /* asked again next step */
		raft_restart(s, sn);
		s->f.servers[sn->idx].alive = true;
	}
	sn->up = true;
	for (unsigned j = 0; j < s->nn; j++)
		if (j != sn->idx && s->node[j].up)
			set_conn(s, sn->idx, j, true);
	struct rumor_msg *m = msg_new(RUMOR_MSG_RESYNC);
	dp_handle(s, sn, m);
	cp_fsm_drain(n->fsm);
}

/* ---------------------------------------------------------------- clients */

static void client_send(struct sim *s, unsigned i, bool liveness)
{
	struct sim_node *sn = &s->node[i];
	uint8_t data[64];

	if (!sn->up || s->ncl == SIM_MAX_CLIENTS)
		return;
	struct sim_client *cl = &s->cl[s->ncl];
	*cl = (struct sim_client){ .s = s, .node = i, .ack = below(s, 2) ? CP_ACK_DURABLE : CP_ACK_APPLIED,
				   .sent_ms = sim_now_ms(s), .liveness = liveness };
	cl->len = (uint16_t)snprintf(cl->payload, sizeof(cl->payload), "SET k%u v%" PRIu64,
				     below(s, 8), s->ncl);
	data[0] = (uint8_t)cl->len;
	data[1] = 0;
	memcpy(data + 2, cl->payload, cl->len);
	struct cp_send_opts opt = { .ack = cl->ack };
	int rc = cp_node_originate(sn->n, (struct cp_api_client *)cl, &opt, data,
				   (uint16_t)(cl->len + 2), 1);
	if (rc == 0)
		s->ncl++;
}

/* ---------------------------------------------------------------- the checker */

/* The event sent as (origin, seq) with @id (a wiped origin may have stamped a seq twice). */
static const struct sim_sent *sent_find(const struct sim *s, uint16_t origin, uint64_t seq,
					const struct rumor_event_id *id)
{
	for (size_t i = s->nsent; i-- > 0;)
		if (s->sent[i].origin == origin && s->sent[i].seq == seq &&
		    rumor_event_id_equal(&s->sent[i].id, id))
			return &s->sent[i];
	return NULL;
}

static bool live_acked(const struct sim *s, unsigned i)
{
	for (size_t c = 0; c < s->ncl; c++)
		if (s->cl[c].liveness && s->cl[c].node == i && s->cl[c].acked)
			return true;
	return false;
}

/* Node @i has a liveness event acknowledged, or one still pending. */
static bool live_ok(const struct sim *s, unsigned i)
{
	for (size_t c = 0; c < s->ncl; c++)
		if (s->cl[c].liveness && s->cl[c].node == i && !s->cl[c].failed)
			return true;
	return false;
}

/* An acknowledged event that a skip or a reject covers was lost. */
static void check_not_acked(struct sim *s, uint16_t origin, uint64_t seq, uint64_t last,
			    const char *what, unsigned node)
{
	for (size_t c = 0; c < s->ncl; c++) {
		const struct sim_client *cl = &s->cl[c];
		if (cl->acked && s->node[cl->node].id == origin && cl->seq >= seq && cl->seq <= last) {
			char where[128] = "";
			int k = 0;
			for (unsigned i = 0; i < s->nn; i++)
				k += snprintf(where + k, sizeof(where) - (size_t)k, " n%u:%s%s%s%s", i + 1,
					      !cp_plog_has(s->node[i].plog, origin, cl->seq) ? "-" :
					      sim_plog_readable(s->node[i].plog, origin, cl->seq) ? "log" :
					      "log(unreadable)",
					      dp_find(&s->node[i], origin, cl->seq) ? "+store" : "",
					      s->node[i].up ? "" : "(down)",
					      s->node[i].n->lead.leading ? "(leader)" : "");
			fail(s, "node %u: acknowledged event %u:%" PRIu64 " (ack %s at %" PRIu64
			     " ms) was %s; held:%s", node, origin, cl->seq,
			     cl->ack == CP_ACK_DURABLE ? "durable" : "applied", cl->ack_ms, what, where);
		}
	}
}

static void check_node(struct sim *s, struct sim_node *sn)
{
	uint64_t last = cp_fsm_last_gseq(sn->n->fsm);

	for (uint64_t g = sn->checked + 1; g <= last && !s->failed; g++) {
		struct cp_fsm_entry e;
		if (cp_fsm_log_get(sn->n->fsm, g, &e) != 0) {
			/* installed a snapshot past it: the leader's snapshot carries the state */
			sn->checked = g;
			for (unsigned o = 1; o <= s->nn; o++)
				sn->through[o] = cp_fsm_watermark(sn->n->fsm, (uint16_t)o);
			continue;
		}
		if (g > s->nref) {
			if (s->nref == s->refcap) {
				s->refcap = s->refcap ? s->refcap * 2 : 1024;
				s->ref = realloc(s->ref, s->refcap * sizeof(*s->ref));
			}
			s->ref[s->nref++] = (struct sim_ref){ e.kind, e.origin, e.seq, e.seq_last, e.id };
		}
		const struct sim_ref *r = &s->ref[g - 1];
		if (r->kind != e.kind || r->origin != e.origin || r->seq != e.seq ||
		    r->seq_last != e.seq_last || !rumor_event_id_equal(&r->id, &e.id)) {
			fail(s, "node %u gseq %" PRIu64 ": %u:%" PRIu64 " kind %u, others applied "
			     "%u:%" PRIu64 " kind %u (prefix agreement)", sn->id, g, e.origin, e.seq,
			     e.kind, r->origin, r->seq, r->kind);
			return;
		}
		if (e.origin < 1 || e.origin > s->nn) {
			fail(s, "node %u gseq %" PRIu64 ": origin %u", sn->id, g, e.origin);
			return;
		}
		if (e.seq != sn->through[e.origin] + 1) {
			fail(s, "node %u gseq %" PRIu64 ": %u:%" PRIu64 " after %u:%" PRIu64 " (FIFO)",
			     sn->id, g, e.origin, e.seq, e.origin, sn->through[e.origin]);
			return;
		}
		if (e.kind == CP_BATCH_EVENT) {
			const struct sim_sent *se = sent_find(s, e.origin, e.seq, &e.id);
			if (!se || !rumor_event_id_equal(&se->id, &e.id)) {
				fail(s, "node %u gseq %" PRIu64 ": %u:%" PRIu64 " was never sent with "
				     "that id", sn->id, g, e.origin, e.seq);
				return;
			}
			for (uint16_t k = 0; k < se->ts.n; k++) {
				uint16_t o = se->ts.node[k];
				if (o != e.origin && o <= s->nn && sn->through[o] < se->ts.ctr[k]) {
					fail(s, "node %u gseq %" PRIu64 ": %u:%" PRIu64 " before its "
					     "causal predecessor %u:%" PRIu64 " (applied through %"
					     PRIu64 ")", sn->id, g, e.origin, e.seq, o, se->ts.ctr[k],
					     sn->through[o]);
					return;
				}
			}
		} else {
			char what[64];
			snprintf(what, sizeof(what), "%s (%u:%" PRIu64 "..%" PRIu64 ", gseq %" PRIu64 ")",
				 e.kind == CP_BATCH_SKIP ? "skipped" : "rejected", e.origin, e.seq,
				 e.seq_last, g);
			check_not_acked(s, e.origin, e.seq, e.seq_last, what, sn->id);
			if (e.kind == CP_BATCH_SKIP && sn->idx == 0)
				s->stats_skips++;
		}
		sn->through[e.origin] = e.seq_last;
		sn->checked = g;
	}
}

/* Heal everything, then: every node applies the same order, every acknowledged event is
 * in it as itself, KV state equals a replay, and new events are ordered in time. */
static void check_end(struct sim *s)
{
	struct cp_kv *kv;
	uint64_t last = 0;

	for (unsigned i = 0; i < s->nn; i++)
		if (cp_fsm_last_gseq(s->node[i].n->fsm) > last)
			last = cp_fsm_last_gseq(s->node[i].n->fsm);
	for (unsigned i = 0; i < s->nn && g_verbose; i++)
		fprintf(stderr, "node %u: applied through gseq %" PRIu64 ", waiting for %u:%" PRIu64
			", %zu queued, its payload log: %s\n", i + 1,
			cp_fsm_last_gseq(s->node[i].n->fsm), s->node[i].n->rec.want_origin,
			s->node[i].n->rec.want_seq, (size_t)cp_fsm_queue_len(s->node[i].n->fsm),
			!cp_plog_has(s->node[i].plog, s->node[i].n->rec.want_origin,
				     s->node[i].n->rec.want_seq) ? "-" :
			sim_plog_readable(s->node[i].plog, s->node[i].n->rec.want_origin,
					  s->node[i].n->rec.want_seq) ? "readable" : "unreadable");
	for (unsigned i = 0; i < s->nn && !s->failed; i++) {
		struct sim_node *sn = &s->node[i];
		if (cp_fsm_last_gseq(sn->n->fsm) != last && g_verbose)
			for (unsigned j = 0; j < s->nn; j++) {
				const struct cp_node *m = s->node[j].n;
				fprintf(stderr, "node %u: fetches sent %" PRIu64 " served %" PRIu64
					" plog reads %" PRIu64 " errors %" PRIu64 " pulls %" PRIu64
					" failed %" PRIu64 " fetch rejected %" PRIu64 " resp %" PRIu64 "\n",
					j + 1, m->st.fetches_sent, m->st.fetch_served, m->st.plog_reads,
					m->st.plog_read_errors, m->st.pulls, m->st.pulls_failed,
					m->rec.fetch.rejected, m->rec.fetch.responses);
			}
		if (cp_fsm_last_gseq(sn->n->fsm) != last)
			fail(s, "node %u applied through gseq %" PRIu64 ", others %" PRIu64
			     " (waiting for %u:%" PRIu64 ", %" PRIu64 " queued; raft: state %d term %"
			     PRIu64 " applied %" PRIu64 " commit %" PRIu64 " last %" PRIu64 ")", sn->id,
			     cp_fsm_last_gseq(sn->n->fsm), last, sn->n->rec.want_origin,
			     sn->n->rec.want_seq, cp_fsm_queue_len(sn->n->fsm), raft_state(sn->n->raft),
			     (uint64_t)sn->n->raft->current_term, (uint64_t)raft_last_applied(sn->n->raft),
			     (uint64_t)sn->n->raft->commit_index, (uint64_t)raft_last_index(sn->n->raft));
	}
	for (size_t c = 0; c < s->ncl && !s->failed; c++) {
		const struct sim_client *cl = &s->cl[c];
		uint16_t o = s->node[cl->node].id;
		if (cl->liveness && !cl->acked && !(cl->failed && live_acked(s, cl->node))) {
			const struct cp_node *n = s->node[cl->node].n;
			unsigned no = 0, nw = 0, nd = 0;
			for (const struct cp_orig *x = n->subs.origs; x; x = x->next)
				no++;
			for (const struct cp_waiter *x = n->subs.waiters; x; x = x->next)
				nw++;
			for (const struct cp_waiter *x = n->subs.dwaiters; x; x = x->next)
				nd++;
			for (unsigned i = 0; i < s->nn; i++) {
				struct cp_order_origin_info oi;
				const struct cp_node *m = s->node[i].n;
				uint64_t k = n->subs.waiters ? n->subs.waiters->seq :
					     n->subs.dwaiters ? n->subs.dwaiters->seq : 0;
				struct cp_order_stats ost;
				cp_order_get_stats(m->order, &ost);
				fprintf(stderr, "node %u: passes sent %" PRIu64 ", skips deferred %" PRIu64
					", pass_broken %d, leader %u\n", i + 1, m->st.rereport_passes,
					ost.skips_deferred, m->hold.pass_broken, (unsigned)m->leader);
				for (uint16_t q = 1; q <= s->nn; q++)
				if (m->lead.leading && cp_order_origin_info(m->order, q, &oi) == 0)
					fprintf(stderr, "leader %u, origin %u: ordered %" PRIu64 " ready %"
						PRIu64 " durable %" PRIu64 " max %" PRIu64 " held %u wait %u:%"
						PRIu64 " gap %d (%" PRIu64 " ms) head %d holders %u caught_up %d inflight %u\n", i + 1, q,
						oi.ordered, oi.ready_through, oi.durable_through, oi.max_seq,
						oi.held, oi.wait_node, oi.wait_ctr, oi.gap, oi.gap_age_us / 1000,
						oi.head_state, oi.head_holders,
						m->lead.caught_up_term == m->raft->current_term,
						m->lead.applies_inflight);
				fprintf(stderr, "node %u: %u:%" PRIu64 " %s%s\n", i + 1, o, k,
					cp_plog_has(s->node[i].plog, o, k) ? "log" : "-",
					dp_find(&s->node[i], o, k) ? "+store" : "");
			}
			fail(s, "liveness: event %zu sent by node %u after healing (ack %s) was not "
			     "acknowledged within %u ms (%s; floor %s, %u parked, %u stamping, %u "
			     "waiting applied, %u durable; durable (%" PRIu64 ", %" PRIu64 "], applied "
			     "%" PRIu64 ")", c, o, cl->ack == CP_ACK_DURABLE ? "durable" : "applied",
			     SIM_LIVE_MS, cl->failed ? cl->error : "pending",
			     n->subs.seq_floor_known ? "known" : "unknown", n->subs.parked_n, no, nw, nd,
			     n->subs.durable_floor, n->subs.durable_through, n->applied_through[o]);
		}
		if (!cl->acked)
			continue;
		bool found = false;
		for (size_t g = 0; g < s->nref && !found; g++) {
			char hex[33];
			rumor_event_id_hex(&s->ref[g].id, hex);
			found = s->ref[g].kind == CP_BATCH_EVENT && s->ref[g].origin == o &&
				s->ref[g].seq == cl->seq && !strcmp(hex, cl->idhex);
		}
		if (!found)
			fail(s, "acknowledged event %u:%" PRIu64 " (ack %s) is not in the order", o,
			     cl->seq, cl->ack == CP_ACK_DURABLE ? "durable" : "applied");
	}
	if (s->failed || cp_kv_create(&kv) < 0)
		return;
	for (size_t g = 0; g < s->nref; g++) {
		const struct sim_sent *se;
		if (s->ref[g].kind == CP_BATCH_EVENT &&
		    (se = sent_find(s, s->ref[g].origin, s->ref[g].seq, &s->ref[g].id)))
			cp_kv_exec(kv, se->payload, se->len);
	}
	uint64_t want = cp_kv_digest(kv);
	cp_kv_destroy(kv);
	for (unsigned i = 0; i < s->nn && !s->failed; i++)
		if (cp_kv_digest(cp_fsm_kv(s->node[i].n->fsm)) != want)
			fail(s, "node %u: KV state differs from a replay of the order", i + 1);
}

/* ---------------------------------------------------------------- the run */

static void deliver(struct sim *s, const struct sim_ev *e)
{
	struct sim_node *to = &s->node[e->to];

	if (!to->up || !s->conn[e->from][e->to] || !s->node[e->from].up)
		return;
	if (e->kind == EV_GOSSIP)
		dp_receive(s, to, e);
	else
		cp_node_on_app(to->n, e->from + 1u, e->type, e->p, e->len);
}

static void run_nodes(struct sim *s)
{
	uint64_t now = sim_now_ms(s);
	struct sim_ev e;

	while (ev_pop(s, now, &e)) {
		deliver(s, &e);
		free(e.p);
	}
	for (unsigned i = 0; i < s->nn; i++) {
		struct sim_node *sn = &s->node[i];
		if (!sn->up)
			continue;
		if (sn->disk_due_ms && now >= sn->disk_due_ms) {
			sn->disk_due_ms = 0;
			sim_plog_complete(sn->plog, now);
		}
		while (cp_node_poll_dataplane(sn->n))
			;
		if (sn->n->lead.cut_when_idle)
			cp_leader_after_io(sn->n);
		if (now != sn->last_tick_ms) {
			sn->last_tick_ms = now;
			cp_node_tick(sn->n);
		}
		if (now - sn->last_slow_ms >= 100) {
			sn->last_slow_ms = now;
			cp_node_tick_slow(sn->n);
		}
	}
}

static void faults(struct sim *s)
{
	unsigned r = below(s, 1000);

	if (s->wiped && s->node[s->wiped - 1].up &&
	    cp_fsm_last_gseq(s->node[s->wiped - 1].n->fsm) >= s->wipe_gseq)
		s->wiped = 0; /* caught up: the next wipe may come */
	if (r < 3 && !getenv("SIM_NO_CRASH")) { /* a node crashes */
		struct sim_node *sn = &s->node[below(s, s->nn)];
		node_crash(s, sn);
		sn->down_until_ms = sim_now_ms(s) + 200 + below(s, 3000);
	} else if (r < 4 && !getenv("SIM_NO_CRASH")) { /* power cut: every node at once */
		s->stats_allcrash++;
		for (unsigned i = 0; i < s->nn; i++) {
			node_crash(s, &s->node[i]);
			s->node[i].down_until_ms = sim_now_ms(s) + 100 + below(s, 1000);
		}
	} else if (r < 8 && !getenv("SIM_NO_CUT")) { /* a node is cut off, or one link fails */
		s->stats_parts++;
		unsigned a = below(s, s->nn), b = below(s, s->nn);
		if (below(s, 2))
			for (unsigned j = 0; j < s->nn; j++)
				set_conn(s, a, j, false);
		else
			set_conn(s, a, b, false);
	} else if (r < 14) { /* a link heals */
		unsigned a = below(s, s->nn), b = below(s, s->nn);
		set_conn(s, a, b, true);
	} else if (r < 15 && below(s, 8) == 0 && !getenv("SIM_NO_ROT")) {
		unsigned x = below(s, s->nn);
		uint64_t pick = rnd(s);
		if (rot_keeps_a_copy(s, x, pick)) {
			s->stats_rot++;
			sim_plog_rot(s->node[x].plog, pick);
		}
	} else if (r < 19 && !s->wiped && !g_cut_crash && !getenv("SIM_NO_WIPE")) {
		/* a node loses its disk, when that leaves a majority's copy of everything */
		struct sim_node *sn = &s->node[below(s, s->nn)];
		if (wipe_keeps_majority(s, sn->idx)) {
			node_wipe(s, sn);
			sn->down_until_ms = sim_now_ms(s) + 200 + below(s, 3000);
		}
	}
	for (unsigned i = 0; i < s->nn; i++)
		if (!s->node[i].up && sim_now_ms(s) >= s->node[i].down_until_ms)
			node_restart(s, &s->node[i]);
}

static uint64_t majority_gseq(const struct sim *s)
{
	uint64_t g = 0;

	for (unsigned i = 0; i < s->nn; i++)
		if (i != s->part_a && i != s->part_b && cp_fsm_last_gseq(s->node[i].n->fsm) > g)
			g = cp_fsm_last_gseq(s->node[i].n->fsm);
	return g;
}

/* --partition (cluster_partition.sh's case, 5 nodes): the leader and one follower stamp an
 * event each, and as soon as a node of the other three holds the leader's, those two are cut
 * off from the three (Raft and APP links; gossip follows the APP links). The three must
 * elect a leader and order their own events, whose clocks name the minority's last seqs, well
 * within the partition: the minority origins' unvouched events are skipped at the gap timeout
 * (1.5 s here), never waited for. After 12 s the links heal. */
static void partition_step(struct sim *s)
{
	uint64_t now = sim_now_ms(s);
	struct sim_node *a = &s->node[s->part_a];

	switch (s->part_phase) {
	case 0: /* a leader that has ordered something */
		if (now < 2000)
			return;
		for (unsigned i = 0; i < s->nn; i++)
			if (s->node[i].n->lead.leading && cp_fsm_last_gseq(s->node[i].n->fsm) > 0) {
				s->part_a = i;
				s->part_b = (i + 1) % s->nn;
				a = &s->node[i];
				s->part_ctr = rumor_vc_get(&a->dp.clock, a->id);
				client_send(s, s->part_a, false);
				client_send(s, s->part_b, false);
				s->part_phase = 1;
				s->part_ms = now;
				return;
			}
		return;
	case 1: { /* cut once the majority's side holds the leader's new event (or 50 ms on) */
		uint64_t mine = rumor_vc_get(&a->dp.clock, a->id);
		bool there = false;
		for (unsigned i = 0; i < s->nn; i++)
			if (i != s->part_a && i != s->part_b && mine > s->part_ctr &&
			    rumor_vc_get(&s->node[i].dp.clock, a->id) >= mine)
				there = true;
		if (!there && now - s->part_ms < 50)
			return;
		for (unsigned i = 0; i < s->nn; i++)
			if (i != s->part_a && i != s->part_b) {
				set_conn(s, s->part_a, i, false);
				set_conn(s, s->part_b, i, false);
			}
		s->stats_parts++;
		s->part_phase = 2;
		s->part_ms = now;
		if (g_verbose)
			fprintf(stderr, "partition at %" PRIu64 " ms: nodes %u,%u | the rest (%s)\n",
				now, a->id, s->node[s->part_b].id, there ? "held there" : "timed out");
		return;
	}
	case 2: /* 2.5 s to elect and re-report; then 9.5 s to order something new */
		if (now - s->part_ms >= 2500 && !s->part_gseq)
			s->part_gseq = majority_gseq(s) + 1;
		if (now - s->part_ms < 12000)
			return;
		if (majority_gseq(s) < s->part_gseq)
			fail(s, "the majority's side ordered nothing from %" PRIu64 " to %" PRIu64
			     " ms of a partition (applied gseq %" PRIu64 ")", s->part_ms + 2500, now,
			     s->part_gseq - 1);
		for (unsigned i = 0; i < s->nn; i++)
			for (unsigned j = 0; j < s->nn; j++)
				set_conn(s, i, j, true);
		s->part_phase = 3;
		return;
	default:
		return;
	}
}

/* --idle (3 nodes, no faults, no loss): one event at a time, every IDLE_PERIOD_MS, from each
 * node in turn, once a leader is known; one follower then stores Raft entries slowly. Each
 * follower must learn each commit within IDLE_LAG_MS of the leader: the leader announces an
 * idle commit at once, and again to a follower that had not stored it then, as soon as it has
 * (cp_leader_announce_late). Without that second announcement the slow follower learns it
 * only at libraft's next heartbeat (100 ms here). An idle commit adds one Raft entry, the
 * batch (a barrier entry after each, as before, cost every node an fdatasync). Commit
 * indexes, not applies: a follower's apply may also wait for a payload it pulls. */
#define IDLE_PERIOD_MS 250
#define IDLE_FAST_DISK_MS 2
#define IDLE_SLOW_DISK_MS 30
#define IDLE_LAG_MS (IDLE_SLOW_DISK_MS + 4 * 2 + 10)  /* its store, two trips, slack */
#define IDLE_EVENTS 40
#define IDLE_INDEX_MAX 4096

static uint64_t g_idle_commit_at[IDLE_INDEX_MAX + 1]; /* when the leader committed, by index */

static void idle_step(struct sim *s)
{
	uint64_t now = sim_now_ms(s);

	if (!s->idle_leader) {
		if (now < 1500)
			return;
		for (unsigned i = 0; i < s->nn; i++)
			if (raft_state(s->node[i].n->raft) == RAFT_LEADER)
				s->idle_leader = i + 1;
		if (!s->idle_leader)
			return;
		unsigned slow = s->idle_leader % s->nn; /* a follower (0-based: the leader's next) */
		for (unsigned i = 0; i < s->nn; i++) {
			raft_fixture_set_disk_latency(&s->f, i, i == slow ? IDLE_SLOW_DISK_MS :
						      IDLE_FAST_DISK_MS);
			s->idle_commit[i] = s->node[i].n->raft->commit_index;
		}
		s->idle_entries0 = raft_last_index(s->node[s->idle_leader - 1].n->raft);
		s->idle_next_ms = now + IDLE_PERIOD_MS;
		memset(g_idle_commit_at, 0, sizeof(g_idle_commit_at));
		return;
	}
	unsigned li = s->idle_leader - 1;
	struct cp_node *ln = s->node[li].n;
	if (raft_state(ln->raft) != RAFT_LEADER) {
		fail(s, "--idle: node %u lost the lead without a fault", s->idle_leader);
		return;
	}
	for (uint64_t k = s->idle_commit[li] + 1; k <= ln->raft->commit_index; k++)
		if (k <= IDLE_INDEX_MAX)
			g_idle_commit_at[k] = now;
	s->idle_commit[li] = ln->raft->commit_index;
	for (unsigned i = 0; i < s->nn && !s->failed; i++) {
		uint64_t c = s->node[i].n->raft->commit_index;
		for (uint64_t k = s->idle_commit[i] + 1; i != li && k <= c; k++) {
			if (k > IDLE_INDEX_MAX || !g_idle_commit_at[k])
				continue; /* committed before the scenario began */
			uint64_t lag = now - g_idle_commit_at[k];
			if (lag > s->idle_lag_max)
				s->idle_lag_max = lag;
			if (lag > IDLE_LAG_MS) {
				fail(s, "liveness: --idle: node %u learned commit %" PRIu64 " %" PRIu64
				     " ms after the leader (bound %u ms; its disk takes %u ms)", i + 1,
				     k, lag, IDLE_LAG_MS, i == s->idle_leader % s->nn ?
				     IDLE_SLOW_DISK_MS : IDLE_FAST_DISK_MS);
				break;
			}
		}
		s->idle_commit[i] = c;
	}
	if (s->idle_sent < IDLE_EVENTS && now >= s->idle_next_ms) {
		client_send(s, (unsigned)(s->idle_sent % s->nn), false);
		s->idle_sent++;
		s->idle_next_ms = now + IDLE_PERIOD_MS;
	}
	if (s->idle_sent == IDLE_EVENTS && now >= s->idle_next_ms && !s->failed) {
		uint64_t entries = raft_last_index(ln->raft) - s->idle_entries0;
		if (entries > IDLE_EVENTS)
			fail(s, "--idle: %" PRIu64 " Raft entries for %u events sent one at a time",
			     entries, IDLE_EVENTS);
		if (g_verbose)
			fprintf(stderr, "--idle: %" PRIu64 " Raft entries for %u events, commits "
				"learned at most %" PRIu64 " ms after the leader, %" PRIu64
				" re-announcements\n", entries, IDLE_EVENTS, s->idle_lag_max,
				ln->st.commits_reannounced);
		s->idle_sent++; /* checked once */
	}
}

static void heal(struct sim *s)
{
	s->healed = true;
	for (unsigned a = 0; a < s->nn; a++)
		node_restart(s, &s->node[a]);
	for (unsigned a = 0; a < s->nn; a++)
		for (unsigned b = 0; b < s->nn; b++)
			if (s->node[a].up && s->node[b].up)
				set_conn(s, a, b, true);
}

/* SIM_TRACE=origin:seq prints each change of where that event is. */
static void trace(struct sim *s)
{
	static char last[512];
	static unsigned to;
	static uint64_t ts;
	char now[512];
	int k = 0;

	if (!to) {
		const char *t = getenv("SIM_TRACE");
		if (!t || sscanf(t, "%u:%" SCNu64, &to, &ts) != 2)
			return;
	}
	for (unsigned i = 0; i < s->nn; i++) {
		const struct cp_node *n = s->node[i].n;
		struct cp_order_origin_info oi = { 0 };
		bool info = n->lead.leading && cp_order_origin_info(n->order, (uint16_t)to, &oi) == 0;
		k += snprintf(now + k, sizeof(now) - (size_t)k, " n%u(rr %" PRIu64 " ref %" PRIu64
			      " app %" PRIu64 "):%s%s%s%s%s", i + 1, n->st.rereports,
			      n->st.reports_refused, n->applied_through[to],
			      s->node[i].up ? "" : "DOWN,",
			      cp_plog_has(s->node[i].plog, (uint16_t)to, ts) ? "log," : "",
			      dp_find(&s->node[i], (uint16_t)to, ts) ? "store," : "",
			      cp_held_get(&n->hold.held, (uint16_t)to, ts) ? "held," : "",
			      n->lead.leading ? "L" : "");
		if (info)
			k += snprintf(now + k, sizeof(now) - (size_t)k, "[ord %" PRIu64 " rdy %" PRIu64
				      " dur %" PRIu64 " max %" PRIu64 "]", oi.ordered, oi.ready_through,
				      oi.durable_through, oi.max_seq);
	}
	if (strcmp(now, last)) {
		fprintf(stderr, "TRACE %u:%" PRIu64 " t=%" PRIu64 ":%s\n", to, ts, sim_now_ms(s), now);
		strcpy(last, now);
	}
}

/* The term of entry @i in @r's in-memory log (libraft's logTermOf, log.c, which is not
 * exported), 0 if the log does not have it. */
static raft_term log_term(const struct raft *r, raft_index i)
{
	const struct raft_log *l = &r->log;
	size_t n = l->front <= l->back ? l->back - l->front : l->size - l->front + l->back;

	if (i == l->snapshot.last_index && i)
		return l->snapshot.last_term;
	if (i <= l->offset || i > l->offset + n)
		return 0;
	return l->entries[(l->front + (size_t)(i - 1 - l->offset)) % l->size].term;
}

/* Servers whose log holds @t at index @k (or compacted it: a snapshot covers only what it
 * applied). */
static unsigned holders(struct sim *s, raft_index k, raft_term t)
{
	unsigned h = 0;

	for (unsigned j = 0; j < s->nn; j++) {
		const struct raft *rj = s->node[j].n->raft;
		raft_term tj = log_term(rj, k);
		h += tj == t || (!tj && k <= rj->log.snapshot.last_index);
	}
	return h;
}

/* libraft 0.15's second way to commit what no majority holds. A follower answers every
 * AppendEntries it accepts with its whole log's last index (recv_append_entries.c:121,
 * `result->last_log_index = r->last_stored`), not prev_log_index + n_entries; the leader
 * clamps that only to its own last index (replication.c:701-704) and takes it as the
 * follower's match index. A follower whose log goes on past the matching prefix with an
 * older leader's entries (a heartbeat at prev 20 answered "22") is then counted for the
 * leader's next entries, which it does not hold (seed 172 with SIM_GROUP_CUT=1). The
 * evidence: leader @r committed index @k of term @t that fewer than a majority hold, and
 * enough followers make up the majority with a match index of at least @k while their log
 * holds another term at @k and reaches that match index. Returns the first such follower
 * (0: no evidence) and its match index in @match. */
static unsigned echoed_match(struct sim *s, const struct raft *r, raft_index k, raft_term t,
			     raft_index *match)
{
	unsigned maj = s->nn / 2 + 1, have = holders(s, k, t), first = 0;

	for (unsigned i = 0; i < r->configuration.n && have < maj; i++) {
		raft_id id = r->configuration.servers[i].id;
		if (id == r->id || id < 1 || id > s->nn)
			continue;
		struct raft *rf = s->node[id - 1].n->raft;
		raft_index m = r->leader_state.progress[i].match_index;
		raft_term tf = log_term(rf, k);
		if (m >= k && tf && tf != t && raft_last_index(rf) >= m) {
			have++;
			if (!first) {
				first = (unsigned)id;
				*match = m;
			}
		}
	}
	return have >= maj ? first : 0;
}

/* libraft 0.15's replicationQuorum (replication.c:1623-1656) commits the leader's last
 * stored index once a majority stores it, whatever that entry's term. Raft (§5.4.2, Figure
 * 8) forbids committing an older term's entry by counting replicas: another server with a
 * newer-term entry at that index can still be elected and overwrite it, and libraft then
 * shuts down the server that applied it ("conflicting terms ... (commit index N)",
 * replication.c:951, or "new index conflicts with committed entry", :990). Upstream fixed
 * it in 524f735 ("Don't commit entries from old terms by counting", v0.17.1). Seen here: a
 * leader's commit index moving onto an entry whose term is older than the leader's. */
static void watch_commits(struct sim *s)
{
	for (unsigned i = 0; i < s->nn && !s->failed && !s->raft_stopped; i++) {
		struct sim_node *sn = &s->node[i];
		struct raft *r = sn->n->raft;
		uint64_t c = r->commit_index;
		uint8_t counted = 0;
		if (c <= sn->seen_commit) {
			sn->seen_commit = c; /* a restart starts again from its snapshot */
			continue;
		}
		if (raft_state(r) == RAFT_LEADER) {
			raft_term t = log_term(r, c);
			if (t && t < r->current_term) {
				counted = SIM_BY_COUNT;
				s->old_term_commits++;
				if (g_verbose)
					fprintf(stderr, "[t=%" PRIu64 " ms] leader %u of term %" PRIu64
						" committed index %" PRIu64 " of term %" PRIu64
						" by counting replicas\n", sim_now_ms(s), sn->id,
						(uint64_t)r->current_term, c, (uint64_t)t);
			}
		}
		/* Raft's own safety: an index committed anywhere holds one term everywhere */
		if (c >= s->ccap) {
			size_t cap = s->ccap ? s->ccap : 1024;
			while (cap <= c)
				cap *= 2;
			s->cterm = realloc(s->cterm, cap * sizeof(*s->cterm));
			s->bycount = realloc(s->bycount, cap * sizeof(*s->bycount));
			memset(s->cterm + s->ccap, 0, (cap - s->ccap) * sizeof(*s->cterm));
			memset(s->bycount + s->ccap, 0, (cap - s->ccap) * sizeof(*s->bycount));
			s->ccap = cap;
		}
		for (uint64_t k = sn->seen_commit + 1; k <= c; k++) {
			raft_term t = log_term(r, k);
			if (!t)
				continue; /* compacted into its snapshot */
			if (!s->cterm[k]) {
				s->cterm[k] = t;
				s->bycount[k] = counted;
				unsigned f;
				raft_index m = 0;
				if (raft_state(r) == RAFT_LEADER && !counted &&
				    holders(s, k, t) < s->nn / 2 + 1 &&
				    (f = echoed_match(s, r, k, t, &m))) {
					s->bycount[k] = SIM_BY_ECHO;
					s->echo_commits++;
					if (g_verbose)
						fprintf(stderr, "[t=%" PRIu64 " ms] leader %u of term %" PRIu64
							" committed index %" PRIu64 " that %u of %u servers "
							"hold: node %u's match index %" PRIu64 " is its "
							"echoed last index, its entry there is of term %"
							PRIu64 "\n", sim_now_ms(s), sn->id,
							(uint64_t)r->current_term, k, holders(s, k, t),
							s->nn, f, (uint64_t)m,
							(uint64_t)log_term(s->node[f - 1].n->raft, k));
				}
			} else if (s->cterm[k] != t && s->bycount[k]) {
				/* libraft 0.15's old-term commit, overwritten by a newer leader: what a
				 * server that restarted since (its commit index is not on disk) applies
				 * instead of shutting down */
				s->raft_stopped = i + 1;
				snprintf(s->why, sizeof(s->why), "[t=%" PRIu64 " ms] node %u committed "
					 "index %" PRIu64 " of term %" PRIu64 ", which another node "
					 "committed with term %" PRIu64 " %s", sim_now_ms(s), sn->id, k,
					 (uint64_t)t, (uint64_t)s->cterm[k],
					 s->bycount[k] == SIM_BY_COUNT ?
					 "by counting replicas (libraft 0.15's replicationQuorum, fixed "
					 "upstream in 524f735)" :
					 "on a follower's echoed last index (libraft 0.15's AppendEntries "
					 "result, recv_append_entries.c:121)");
				break;
			} else if (s->cterm[k] != t) {
				fail(s, "node %u committed Raft index %" PRIu64 " of term %" PRIu64
				     ", another node committed term %" PRIu64 " there", sn->id, k,
				     (uint64_t)t, (uint64_t)s->cterm[k]);
				break;
			}
		}
		sn->seen_commit = c;
	}
}

static void check_all(struct sim *s)
{
	trace(s);
	/* a crashed node's Raft hears nothing until it restarts: what it took in would be
	 * acknowledged by a process that is gone (and by a disk that its wipe takes) */
	for (unsigned i = 0; i < s->nn && !s->failed; i++)
		if (!s->node[i].up && raft_recvd(s, i) != s->node[i].raft_recv)
			fail(s, "node %u is down but its Raft server received %u message(s)",
			     i + 1, raft_recvd(s, i) - s->node[i].raft_recv);
	watch_commits(s);
	for (unsigned i = 0; i < s->nn && !s->failed && !s->raft_stopped; i++)
		if (raft_state(s->node[i].n->raft) == RAFT_UNAVAILABLE &&
		    s->node[i].n->raft->current_term) {
			/* libraft shut a server down. Explained only by its old-term commit (see
			 * watch_commits): then the seed ends here, counted apart; without one it
			 * is a failure of ours. */
			if (!s->old_term_commits && !s->echo_commits) {
				fail(s, "libraft stopped node %u without an old-term commit before it",
				     i + 1);
				break;
			}
			s->raft_stopped = i + 1;
			snprintf(s->why, sizeof(s->why), "[t=%" PRIu64 " ms] libraft stopped node %u "
				 "after %" PRIu64 " old-term commit(s) (libraft 0.15's "
				 "replicationQuorum, fixed upstream in 524f735) and %" PRIu64 " on an "
				 "echoed last index", sim_now_ms(s), i + 1, s->old_term_commits,
				 s->echo_commits);
		}
	/* after libraft's old-term overwrite (watch_commits) the nodes' applies differ by its
	 * doing: the seed ends there, counted apart, not judged by what follows in this step */
	for (unsigned i = 0; i < s->nn && !s->failed && !s->raft_stopped; i++)
		check_node(s, &s->node[i]);
}

static bool quiet(struct sim *s)
{
	uint64_t last = cp_fsm_last_gseq(s->node[0].n->fsm);

	for (size_t c = 0; c < s->ncl; c++)
		if (s->cl[c].liveness && !s->cl[c].acked && !s->cl[c].failed)
			return false;
	for (unsigned i = 1; i < s->nn; i++)
		if (cp_fsm_last_gseq(s->node[i].n->fsm) != last)
			return false;
	/* and every acknowledged event is ordered (a durable one may still be on its way) */
	for (size_t c = 0; c < s->ncl; c++) {
		const struct sim_client *cl = &s->cl[c];
		if (!cl->acked)
			continue;
		bool found = false;
		for (size_t g = s->nref; g-- > 0 && !found;)
			found = s->ref[g].origin == s->node[cl->node].id && s->ref[g].seq == cl->seq;
		if (!found)
			return false;
	}
	return true;
}

static void raft_trace_emit(struct raft_tracer *t, const char *file, int line,
			    const char *message)
{
	(void)t;
	fprintf(stderr, "RAFT %s:%d %s\n", file, line, message);
}

static int run(uint64_t seed, bool lng, char *why, size_t cap, uint64_t *events)
{
	struct sim *s = calloc(1, sizeof(*s));
	uint64_t steps = lng ? 20000 : 3000;

	g_sim = s;
	s->seed = seed;
	s->rng = seed * 0x9e3779b97f4a7c15ull + 7;
	s->nn = 3 + 2 * below(s, 2);
	if (g_partition)
		s->nn = 5;
	s->loss_pct = below(s, 25);
	s->dup_pct = below(s, 10);
	s->eio_pct = below(s, 3);
	if (g_idle) {
		s->nn = 3;
		s->loss_pct = s->dup_pct = s->eio_pct = 0;
	}
	s->cl = calloc(SIM_MAX_CLIENTS, sizeof(*s->cl));
	if (raft_fixture_initialize(&s->f) != 0)
		return -1;
	for (unsigned a = 0; a < s->nn; a++)
		for (unsigned b = 0; b < s->nn; b++)
			s->conn[a][b] = true;
	for (unsigned i = 0; i < s->nn; i++)
		node_create(s, i);
	struct raft_configuration conf;
	raft_fixture_configuration(&s->f, s->nn, &conf);
	raft_fixture_bootstrap(&s->f, &conf);
	raft_configuration_close(&conf);
	raft_fixture_start(&s->f);
	for (unsigned i = 0; i < s->nn; i++)
		if (fio(s, i)->io != &s->f.servers[i].io || fio(s, i)->index != i) {
			fprintf(stderr, "rumor-sim: the fixture's I/O layout is not libraft 0.15.0's\n");
			exit(2);
		}
	for (unsigned i = 0; i < s->nn; i++)
		raft_fixture_set_network_latency(&s->f, i, 2);
	if (getenv("SIM_RAFT_TRACE")) { /* libraft's own tracer, one server */
		unsigned t = (unsigned)atoi(getenv("SIM_RAFT_TRACE"));
		if (t >= 1 && t <= s->nn) {
			s->f.servers[t - 1].tracer.enabled = true;
			s->f.servers[t - 1].tracer.emit = raft_trace_emit;
		}
	}

	for (s->step = 1; s->step <= steps && !s->failed && !s->raft_stopped; s->step++) {
		raft_fixture_step(&s->f);
		raft_disk_step(s);
		run_nodes(s);
		if (g_partition)
			partition_step(s);
		else if (g_idle)
			idle_step(s);
		else
			faults(s);
		if (!g_idle && below(s, 4) == 0)
			client_send(s, below(s, s->nn), false);
		check_all(s);
	}
	if (s->raft_stopped)
		goto done;
	/* heal, let everything settle, then every node sends one more event */
	heal(s);
	uint64_t t0 = sim_now_ms(s), last_live = 0;
	bool sent_live = false;
	while (!s->failed && !s->raft_stopped && sim_now_ms(s) - t0 < SIM_SETTLE_MS + SIM_LIVE_MS) {
		raft_fixture_step(&s->f);
		raft_disk_step(s);
		for (unsigned i = 0; i < s->nn; i++)
			node_restart(s, &s->node[i]); /* one whose restart waited for its disk */
		run_nodes(s);
		check_all(s);
		if (sim_now_ms(s) - t0 >= 2000 && sim_now_ms(s) - last_live >= 2000) {
			/* one event per node, sent again while refused (a full store pushes back) */
			for (unsigned i = 0; i < s->nn; i++)
				if (!live_ok(s, i))
					client_send(s, i, true);
			sent_live = true;
			last_live = sim_now_ms(s);
		}
		if (sent_live && sim_now_ms(s) - t0 >= 2000 + SIM_LIVE_MS)
			break; /* the liveness bound */
		if (sent_live && quiet(s))
			break;
	}
	if (g_verbose)
		fprintf(stderr, "settled from %" PRIu64 " to %" PRIu64 " ms\n", t0, sim_now_ms(s));
	if (!s->failed && !s->raft_stopped)
		check_end(s);
done:
	*events = s->nsent;
	g_old_term_commits += s->old_term_commits;
	g_echo_commits += s->echo_commits;
	if (g_verbose)
		fprintf(stderr, "seed %" PRIu64 ": %u nodes, loss %u%%, dup %u%%, eio %u%%: %zu "
			"sent, %zu requests, gseq %zu, %" PRIu64 " crashes (%" PRIu64 " of all), %"
			PRIu64 " cuts, %" PRIu64 " EIO, %" PRIu64 " skips, %" PRIu64 " pulls, %" PRIu64
			" Raft restarts, %" PRIu64 " wipes, %" PRIu64 " Raft entries lost%s%s\n",
			seed, s->nn, s->loss_pct, s->dup_pct, s->eio_pct, s->nsent, s->ncl, s->nref,
			s->stats_crashes, s->stats_allcrash, s->stats_parts, s->stats_eio,
			s->stats_skips, s->stats_pulls, s->stats_restarts, s->stats_wipes,
			s->stats_raft_lost, s->failed ? ": FAIL " : "",
			s->failed ? s->why : "");
	int failed = s->failed ? (s->safety ? 2 : 1) : s->raft_stopped ? 3 : 0;
	if (failed)
		snprintf(why, cap, "%s", s->why);
	/* tear down: Raft first (its close runs the nodes' callbacks) */
	raft_fixture_close(&s->f);
	for (unsigned i = 0; i < s->nn; i++) {
		struct sim_node *sn = &s->node[i];
		struct sim_dp *d = &sn->dp;
		for (uint32_t k = 0; k < SIM_SLOTS; k++)
			free(d->slot[k].buf);
		while (d->qn) {
			free(d->q[d->qh]);
			d->qh = (d->qh + 1) % d->qcap;
			d->qn--;
		}
		free(d->seen);
		cp_holder_free(sn->n);
		cp_recovery_free(sn->n);
		cp_subs_free(sn->n);
		cp_leader_free(sn->n);
		cp_fsm_destroy(sn->n->fsm);
		cp_order_destroy(sn->n->order);
		free(sn->n->aframe);
		free(sn->n->sendbuf);
		free(sn->n->ts);
		free(sn->n->ats);
		free(sn->n->applied_through);
		free(sn->n->recent);
		free(sn->n->snap_applied[0]);
		free(sn->n->snap_applied[1]);
		free(sn->n->gc_covered);
		free(sn->n->gcfloor_msg);
		cp_gcfloor_fini(&sn->n->gcfloor);
		cp_jsonl_free(&sn->n->line);
		free(sn->n);
		sim_plog_free(sn->plog);
		free(sn->dp.q);
	}
	for (size_t i = 0; i < s->nev; i++)
		free(s->ev[i].p);
	free(s->ev);
	free(s->sent);
	free(s->cl);
	free(s->ref);
	free(s->cterm);
	free(s->bycount);
	free(s);
	return failed;
}

static const char *plant_names[CP_PLANT_COUNT] = {
	"none", "early-report", "report-twice", "skip-fsync", "causal", "raft-fsync",
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seeds", required_argument, NULL, 'n' }, { "seed", required_argument, NULL, 's' },
		{ "plant", required_argument, NULL, 'p' }, { "expect-fail", no_argument, NULL, 'x' },
		{ "long", no_argument, NULL, 'l' }, { "verbose", no_argument, NULL, 'v' },
		{ "partition", no_argument, NULL, 'P' }, { "idle", no_argument, NULL, 'I' },
		{ 0 }
	};
	uint64_t first = 1, nseeds = 1000, events = 0;
	bool expect_fail = false, lng = false, one = false, many = false;
	int opt;

	while ((opt = getopt_long(argc, argv, "n:s:p:xlvPI", opts, NULL)) != -1) {
		switch (opt) {
		case 'n': nseeds = strtoull(optarg, NULL, 10); many = true; break;
		case 's': first = strtoull(optarg, NULL, 10); one = true; break;
		case 'p':
			for (unsigned i = 0; i < CP_PLANT_COUNT; i++)
				if (!strcmp(optarg, plant_names[i]))
					cp_planted = (enum cp_plant)i;
			if (!cp_planted && strcmp(optarg, "none")) {
				fprintf(stderr, "rumor-sim: unknown plant %s\n", optarg);
				return 2;
			}
			break;
		case 'x': expect_fail = true; break;
		case 'l': lng = true; break;
		case 'v': g_verbose = 1; break;
		case 'P': g_partition = true; break;
		case 'I': g_idle = true; break;
		default:
			fprintf(stderr, "usage: rumor-sim [--seeds N] [--seed S] [--plant NAME] "
				"[--expect-fail] [--long] [--partition] [--idle] [-v]\n");
			return 2;
		}
	}
	g_cut_crash = getenv("SIM_CUT_CRASH") != NULL;
	if (one && !many)
		nseeds = 1; /* --seed S alone replays one seed; with --seeds N, N seeds from S */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t failed = 0, total_events = 0, raft_stops = 0;
	for (uint64_t seed = first; seed < first + nseeds; seed++) {
		char why[512] = "";
		int rc = run(seed, lng, why, sizeof(why), &events);
		total_events += events;
		if (rc < 0) {
			fprintf(stderr, "rumor-sim: seed %" PRIu64 ": fixture setup failed\n", seed);
			return 2;
		}
		if (rc == 3) { /* libraft stopped a server: reported, not ours to judge */
			raft_stops++;
			printf("seed %" PRIu64 " ended early: %s\n  replay: %s --seed %" PRIu64 " -v\n",
			       seed, why, argv[0], seed);
			continue;
		}
		if (rc && expect_fail && rc != 2)
			rc = 0; /* a planted bug is caught by a safety check, not by slowness */
		if (rc) {
			failed++;
			if (!expect_fail || failed == 1)
				printf("seed %" PRIu64 " FAILED: %s\n  replay: %s --seed %" PRIu64
				       "%s%s%s -v\n", seed, why, argv[0], seed,
				       cp_planted ? " --plant " : "",
				       cp_planted ? plant_names[cp_planted] : "", lng ? " --long" : "");
			if (expect_fail)
				break; /* caught: one seed is enough */
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("rumor-sim: %" PRIu64 " seed(s) from %" PRIu64 ", %" PRIu64 " events, %" PRIu64
	       " failed, %" PRIu64 " ended early by libraft (%" PRIu64 " old-term commits, %" PRIu64
	       " on an echoed last index in all), %.1f s%s%s\n", nseeds, first, total_events,
	       failed, raft_stops, g_old_term_commits, g_echo_commits,
	       secs, cp_planted ? ", planted " : "",
	       cp_planted ? plant_names[cp_planted] : "");
	if (expect_fail)
		return failed ? 0 : 1;
	return failed ? 1 : 0;
}
