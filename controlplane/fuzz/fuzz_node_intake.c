/* Stateful fuzzing of one node's intake under hostile input: the real dataplane receive path
 * (dp_node on a net_ring port, in-process EAL) feeds the leader's real ordering (cp_order
 * through cp_report_ingest, repairs as rumor-cp asks for them) beside two honest simulated
 * members. An input is a sequence of steps: crafted or raw gossip frames from a member, a
 * removed member or a stranger, raw report records from a member, time passing. After every
 * input a legitimate event originated at node 1 must be ordered, as itself, within a bounded
 * simulated time: never skipped, and when rejected (an explicit answer: forged frames can put
 * its clock into a cycle) one of the client's next three tries must be ordered. The world
 * lives on across inputs (a node under a stream of attacks) and is rebuilt every RESET_EVERY
 * inputs, after checking that no store slot stays taken once everything is ordered or aged
 * out. On a failure the inputs since the last rebuild are written to
 * fuzz_node_intake.history; RUMOR_FUZZ_REPLAY=<that file> replays them exactly. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "cp_batch.h"
#include "cp_order.h"
#include "cp_report.h"
#include "dp_node.h"
#include "rumor_be.h"
#include "rumor_config.h"
#include "rumor_msg.h"
#include "rumor_wire.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CLUSTER 77u
#define SELF 1u
#define NMEMBERS 3u        /* nodes 1..3 vote; node 4 is configured but not a member */
#define SLOTS 128u
#define STRANGER 5u        /* a sender with no configured MAC + IP */
#define CHECK_BOUND_US (20u * 1000000u)
#define RESET_EVERY 256u
#define HISTORY_MAX (RESET_EVERY * 2048u)

static struct rumor_config cfg;
static struct rte_mempool *pkt_pool;
static struct rte_ring *rx_ring, *tx_ring;
static uint16_t port;

/* One world: node 1's dataplane, the leader's order, the harness's view of both. */
static struct dp_node dp;
static struct cp_order *order;
static struct cp_batch batch;
static uint64_t now;                  /* microseconds: dp's tsc_hz is 1e6 */
static struct rumor_vc ts_scratch;
static struct {
	bool held;
	uint16_t origin;
	uint64_t first, last;
} slot_of[SLOTS];
/* what the honest members 2 and 3 hold (for repairs they are asked to serve) */
#define HONEST_MAX 512u
static struct cp_report honest[HONEST_MAX];
static unsigned honest_n, honest_next;
static uint64_t last_repair, last_members;
static unsigned inputs_since_reset;
static uint8_t history[HISTORY_MAX];
static size_t history_len;
static struct {
	uint64_t req;
	int status;                       /* 1 while waiting for its ack */
	uint64_t seq;
	bool ordered;                     /* cut as an event with its id */
	unsigned rejected;                /* in this check */
} legit;

static void fail(const char *why) __attribute__((noreturn));

/* ---------------------------------------------------------------- input reader */

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static uint64_t u64(struct in *in)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)u8(in) << (8 * i);
	return v;
}

/* Node ids an attacker would try: members, the removed member, ourselves, nobody, too big. */
static uint16_t node_id(struct in *in)
{
	static const uint16_t pick[] = { 1, 2, 3, 4, 2, 3, 500, 1023, 1024, 0, 7, 65535 };
	uint8_t b = u8(in);
	return b < 200 ? pick[b % (sizeof(pick) / sizeof(pick[0]))] : (uint16_t)(b - 199);
}

/* Counters and seqs: small, near what is current, just ahead, far ahead, the extremes. */
static uint64_t counter(struct in *in, uint16_t node)
{
	uint64_t cur = node >= 1 && node <= RUMOR_NODE_ID_MAX ?
			       cp_order_ordered_through(order, node) : 0;
	switch (u8(in) % 8) {
	case 0: return 1 + u8(in);
	case 1: return cur + 1;
	case 2: return cur + 1 + u8(in);
	case 3: return cur + ((uint64_t)1 << 21);
	case 4: return UINT64_MAX;
	case 5: return UINT64_MAX - u8(in);
	case 6: return cur;
	default: return u64(in);
	}
}

/* ---------------------------------------------------------------- the node's surroundings */

static void to_dp(const struct rumor_msg *m)
{
	void *obj;
	if (rte_mempool_get(dp.msg_pool, &obj) != 0)
		fail("the message pool ran dry (the harness leaks messages)");
	memcpy(obj, m, sizeof(*m));
	if (rte_ring_enqueue(dp.cp2dp, obj) != 0)
		rte_mempool_put(dp.msg_pool, obj);
}

static void send_members(void)
{
	static struct rumor_msg m;
	memset(&m, 0, sizeof(m));
	m.type = RUMOR_MSG_MEMBERS;
	for (uint16_t i = 1; i <= NMEMBERS; i++)
		m.u.members.node[m.u.members.n++] = i;
	for (uint16_t i = 1; i <= 4; i++) {
		uint64_t t = cp_order_ordered_through(order, i);
		if (!t)
			continue;
		m.u.members.reached_node[m.u.members.nreached] = i;
		m.u.members.reached_seq[m.u.members.nreached++] = t;
	}
	to_dp(&m);
}

/* What rumor-cp does with a record from its dataplane: report every event of the frame. */
static void intake(const struct rumor_msg_new_frame *nf)
{
	static struct rumor_wire_frame fr;
	static struct cp_report r;

	if (nf->slot >= SLOTS)
		fail("a NEW_FRAME names a slot outside the store");
	if (rumor_wire_decode_rumor(nf->frame, nf->frame_len, CLUSTER, 0, &fr) != 0)
		fail("the dataplane stored a frame that does not decode");
	slot_of[nf->slot].held = true;
	slot_of[nf->slot].origin = nf->origin;
	slot_of[nf->slot].first = nf->first_seq;
	slot_of[nf->slot].last = nf->first_seq + nf->count - 1;
	cp_report_from_frame(&r, &fr, 0, SELF, &nf->holder_clock);
	cp_report_ingest(order, &r, &ts_scratch, now);
}

static void drain_dp(void)
{
	void *msgs[64];
	unsigned n;

	while ((n = rte_ring_dequeue_burst(dp.dp2cp, msgs, 64, NULL)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			struct rumor_msg *m = msgs[i];
			switch (m->type) {
			case RUMOR_MSG_NEW_FRAME:
				intake(&m->u.new_frame);
				break;
			case RUMOR_MSG_ORIGINATE_ACK:
				if (m->u.originate_ack.req_id == legit.req) {
					legit.status = m->u.originate_ack.status;
					legit.seq = m->u.originate_ack.first_seq;
				}
				break;
			case RUMOR_MSG_EXPIRE: {
				/* rumor-cp releases an expired frame once its payload log has it:
				 * here every frame is durable at once */
				struct rumor_msg rel = { .type = RUMOR_MSG_RELEASE };
				rel.u.release = m->u.release;
				if (rel.u.release.slot < SLOTS)
					slot_of[rel.u.release.slot].held = false;
				to_dp(&rel);
				break;
			}
			default:
				break;
			}
		}
		rte_mempool_put_bulk(dp.msg_pool, msgs, n);
	}
}

/* The honest members 2 and 3 hold what node 1 sends them and report it. */
static void members_receive(void)
{
	static uint8_t buf[10000];
	static struct rumor_wire_frame fr;
	static struct cp_report r;
	struct rte_mbuf *out[64];
	unsigned n;

	while ((n = rte_ring_dequeue_burst(tx_ring, (void **)out, 64, NULL)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			if (out[i]->pkt_len > sizeof(buf))
				continue;
			const uint8_t *p = rte_pktmbuf_read(out[i], 0, out[i]->pkt_len, buf);
			uint16_t to = p && out[i]->pkt_len >= 6 ? p[5] : 0; /* 02:00:00:00:00:<id> */
			if (!p || (to != 2 && to != 3) ||
			    rumor_wire_decode(p, out[i]->pkt_len, CLUSTER, RUMOR_WIRE_PORT, 0, &fr) != 0 ||
			    fr.hdr.type == RUMOR_WIRE_PULL_REQ)
				continue;
			cp_report_from_frame(&r, &fr, 0, to, &fr.clock);
			cp_report_ingest(order, &r, &ts_scratch, now);
			honest[honest_next] = r;
			honest_next = (honest_next + 1) % HONEST_MAX;
			if (honest_n < HONEST_MAX)
				honest_n++;
		}
		rte_pktmbuf_free_bulk(out, n);
	}
}

/* A minority-held run: its holder sends it to the voters missing it, as rumor-cp's repair
 * does (node 1 through its dataplane's SEND_TO, an honest member by its report). */
static void on_repair(void *arg, const struct cp_order_repair *run)
{
	(void)arg;
	if (run->holder == SELF) {
		for (unsigned s = 0; s < SLOTS; s++) {
			if (!slot_of[s].held || slot_of[s].origin != run->origin ||
			    slot_of[s].last < run->first_seq || slot_of[s].first > run->last_seq)
				continue;
			struct rumor_msg m = { .type = RUMOR_MSG_SEND_TO };
			m.u.send_to.slot = s;
			m.u.send_to.origin = run->origin;
			m.u.send_to.first_seq = slot_of[s].first;
			for (unsigned i = 0; i < run->nmissing && i < RUMOR_VC_MAX_ENTRIES; i++)
				m.u.send_to.peer[m.u.send_to.n++] = run->missing[i];
			to_dp(&m);
		}
		return;
	}
	for (unsigned i = 0; i < honest_n; i++) {
		struct cp_report r = honest[i];
		if (r.origin != run->origin || r.first_seq + r.count - 1 < run->first_seq ||
		    r.first_seq > run->last_seq)
			continue;
		for (unsigned k = 0; k < run->nmissing; k++) {
			if (run->missing[k] != 2 && run->missing[k] != 3)
				continue;
			r.reporter = run->missing[k];
			cp_report_ingest(order, &r, &ts_scratch, now);
		}
	}
}

/* The leader cuts, the batch commits at once, node 1 applies and releases its slots. */
static void lead(void)
{
	if (now - last_repair >= 100000) {
		last_repair = now;
		cp_order_repairs(order, now, 100000, 1000000, 4096, on_repair, NULL);
	}
	if (cp_order_cut(order, now, 0, &batch) <= 0)
		return;
	cp_order_committed(order, &batch);
	for (uint32_t i = 0; legit.status == 0 && legit.seq && i < batch.n; i++) {
		const struct cp_batch_rec *r = &batch.recs[i];
		if (r->origin != SELF || r->seq > legit.seq || r->seq_last < legit.seq)
			continue;
		if (r->kind != CP_BATCH_EVENT) {
			const struct rumor_vc *c = dp_node_clock(&dp);
			fprintf(stderr, "fuzz_node_intake: %s record, reason %u (%s); node 1's clock:",
				r->kind == CP_BATCH_SKIP ? "skip" : "reject", r->reason,
				cp_batch_reason_text(r->reason));
			for (unsigned k = 0; k < c->n; k++)
				fprintf(stderr, " %u:%llu", c->node[k], (unsigned long long)c->ctr[k]);
			fprintf(stderr, "\n");
		}
		if (r->kind == CP_BATCH_SKIP)
			fail("the legitimate event was skipped (lost without a word)");
		if (r->kind == CP_BATCH_REJECT) {
			/* An explicit answer the client sees ("rejected: impossible timestamp"),
			 * possible when forged frames put its clock into a cycle: the client
			 * sends again, and that event must be ordered. */
			if (++legit.rejected > 3)
				fail("legitimate events were rejected again and again");
			legit.status = -EAGAIN;
			continue;
		}
		struct rumor_event_id id;
		rumor_event_id_compute(SELF, legit.seq, "legit", 5, &id);
		if (!rumor_event_id_equal(&id, &r->id))
			fail("the legitimate event's seq was ordered with another id");
		legit.ordered = true;
	}
	for (unsigned s = 0; s < SLOTS; s++) {
		if (!slot_of[s].held)
			continue;
		uint64_t through = cp_order_ordered_through(order, slot_of[s].origin);
		if (through < slot_of[s].last)
			continue;
		struct rumor_msg rel = { .type = RUMOR_MSG_RELEASE };
		rel.u.release.slot = s;
		rel.u.release.origin = slot_of[s].origin;
		rel.u.release.first_seq = slot_of[s].first;
		rel.u.release.ordered_through = through;
		slot_of[s].held = false;
		to_dp(&rel);
	}
	if (now - last_members >= 100000) { /* rumor-cp sends it on changes and periodically */
		last_members = now;
		send_members();
	}
}

static void step(uint64_t advance_us)
{
	now += advance_us;
	dp_node_poll(&dp, now);
	drain_dp();
	members_receive();
	lead();
	if (rte_ring_count(dp.cp2dp)) {
		dp_node_poll(&dp, now);
		drain_dp();
	}
}

/* ---------------------------------------------------------------- hostile steps */

static void l2l4_from(uint16_t sender, struct rumor_wire_l2l4 *a)
{
	const struct rumor_node_conf *me = rumor_config_node(&cfg, SELF);
	const struct rumor_node_conf *from = sender <= 4 ? rumor_config_node(&cfg, sender) : NULL;
	static const uint8_t stranger_mac[6] = { 0x02, 0, 0, 0, 0x66, 0x66 };

	memset(a, 0, sizeof(*a));
	memcpy(a->dst_mac, me->mac, 6);
	memcpy(a->src_mac, from ? from->mac : stranger_mac, 6);
	a->src_ip = from ? from->ip : 0x0a090063u;
	a->dst_ip = me->ip;
	a->src_port = a->dst_port = RUMOR_WIRE_PORT;
}

static void inject(const uint8_t *frame, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pkt_pool);
	if (!m)
		fail("the packet pool ran dry (mbufs leak)");
	char *p = len <= UINT16_MAX ? rte_pktmbuf_append(m, (uint16_t)len) : NULL;
	if (!p) {
		rte_pktmbuf_free(m);
		return;
	}
	memcpy(p, frame, len);
	if (rte_ring_enqueue(rx_ring, m) != 0)
		rte_pktmbuf_free(m);
	if (rte_ring_count(rx_ring) >= 32)
		step(10); /* a burst's worth: the node takes them as it would off the wire */
}

/* A well-formed frame with hostile content: any origin, sender, seqs and timestamp. */
static void crafted_frame(struct in *in)
{
	static uint8_t body[9000], buf[9200];
	uint8_t payload[64];
	struct rumor_wire_body b;
	struct rumor_wire_l2l4 a;
	struct rumor_wire_hdr h;
	struct rumor_vc ts;
	uint8_t sel = u8(in);
	uint16_t link = (uint16_t)(2 + sel % 4); /* 2, 3, 4 (removed) or STRANGER */

	memset(&h, 0, sizeof(h));
	h.type = (uint8_t)(1 + (sel >> 2) % 3);
	h.cluster_id = CLUSTER;
	h.origin = node_id(in);
	h.sender = (sel & 0x80) ? node_id(in) : link;
	h.rounds_left = u8(in) % 4;
	h.first_seq = counter(in, h.origin);
	unsigned nev = 1 + u8(in) % 4, nts = u8(in) % 8;
	if (nts == 7)
		nts = 60 + u8(in) % 100; /* past what the leader stores per event */
	rumor_vc_init(&ts);
	for (unsigned i = 0; i < nts; i++) {
		uint16_t node = node_id(in);
		if (node >= 1 && node <= RUMOR_NODE_ID_MAX)
			rumor_vc_set(&ts, node, counter(in, node) | 1);
	}
	if (h.origin >= 1 && h.origin <= RUMOR_NODE_ID_MAX && h.first_seq &&
	    h.first_seq <= UINT64_MAX - nev)
		rumor_vc_set(&ts, h.origin, h.first_seq + nev - 1);
	if (rumor_wire_body_start(&b, body, sizeof(body), &ts) != 0)
		return;
	for (unsigned i = 0; i < nev; i++) {
		struct rumor_event_id id;
		unsigned len = 1 + u8(in) % sizeof(payload);
		memset(payload, (int)u8(in), len);
		rumor_event_id_compute(h.origin, h.first_seq + i, payload, len, &id);
		if (u8(in) == 0xff)
			id.lo ^= 1; /* an id that does not match its payload */
		if (rumor_wire_body_add(&b, &id, payload, len) != 0)
			break;
	}
	h.event_count = (uint16_t)(h.type == RUMOR_WIRE_PULL_REQ ? 1 + u8(in) % 64 : nev);
	h.clock_count = h.type == RUMOR_WIRE_PULL_REQ ? 0 : ts.n;
	l2l4_from(link, &a);
	int len = rumor_wire_encode(buf, sizeof(buf), &a, &h, body,
				    h.type == RUMOR_WIRE_PULL_REQ ? 0 : b.len);
	if (len > 0)
		inject(buf, (size_t)len);
}

/* Valid L2-L4 from a member, then a real header start, then raw bytes. */
static void raw_rumor(struct in *in)
{
	static uint8_t buf[2048];
	static const uint8_t start[8] = { 'R', 'U', 'M', 'R', RUMOR_WIRE_VERSION, 1, 0, 2 };
	struct rumor_wire_l2l4 a;
	uint16_t link = (uint16_t)(2 + u8(in) % 4);
	size_t n = u8(in) % 200;

	if (n > in->n)
		n = in->n;
	l2l4_from(link, &a);
	memcpy(buf + RUMOR_WIRE_L2L4_LEN, start, sizeof(start));
	rumor_be_st32(buf + RUMOR_WIRE_L2L4_LEN + 8, CLUSTER);
	memcpy(buf + RUMOR_WIRE_L2L4_LEN + 12, in->p, n);
	in->p += n;
	in->n -= n;
	rumor_wire_put_l2l4(buf, &a, 12 + n);
	inject(buf, RUMOR_WIRE_L2L4_LEN + 12 + n);
}

/* Whatever bytes, as a whole Ethernet frame. */
static void raw_frame(struct in *in)
{
	size_t n = 1 + u8(in) % 255;
	if (n > in->n)
		n = in->n;
	if (n == 0)
		return;
	inject(in->p, n);
	in->p += n;
	in->n -= n;
}

/* A member (buggy or hostile) sends the leader report records: raw bytes through the real
 * decoder, with the reporter it is authenticated as. */
static void member_reports(struct in *in)
{
	static struct cp_report r;
	uint16_t from = (uint16_t)(2 + u8(in) % 2);
	size_t n = u8(in) % 250, off = 0;

	if (n > in->n)
		n = in->n;
	while (off < n) {
		int used = cp_report_decode(in->p + off, n - off, &r);
		if (used <= 0)
			break;
		off += (size_t)used;
		if (r.reporter == from) /* rumor-cp refuses a record naming another reporter */
			cp_report_ingest(order, &r, &ts_scratch, now);
	}
	in->p += n;
	in->n -= n;
}

/* ---------------------------------------------------------------- the check */

static void originate_legit(void)
{
	static struct rumor_msg m;
	memset(&m, 0, sizeof(m));
	m.type = RUMOR_MSG_ORIGINATE;
	m.u.originate.req_id = ++legit.req;
	rumor_msg_originate_add(&m, "legit", 5);
	legit.status = 1;
	legit.seq = 0;
	legit.ordered = false;
	to_dp(&m);
}

static void fail(const char *why)
{
	struct cp_order_stats st;
	cp_order_get_stats(order, &st);
	fprintf(stderr, "fuzz_node_intake: %s (t=%llu us, legit ack %d seq %llu, ordered through "
		"1:%llu 2:%llu 3:%llu; order pending %u ready %u skips %llu rejects %llu)\n", why,
		(unsigned long long)now, legit.status, (unsigned long long)legit.seq,
		(unsigned long long)cp_order_ordered_through(order, 1),
		(unsigned long long)cp_order_ordered_through(order, 2),
		(unsigned long long)cp_order_ordered_through(order, 3), st.pending, st.ready,
		(unsigned long long)st.skips, (unsigned long long)st.rejects);
	for (uint16_t o = 1; o <= 4; o++) {
		struct cp_order_origin_info oi;
		if (cp_order_origin_info(order, o, &oi) != 0)
			continue;
		fprintf(stderr, "  origin %u: ordered %llu ready %llu max %llu held %u waits (%u, %llu) "
			"gap %d head state %d holders %u\n", o, (unsigned long long)oi.ordered,
			(unsigned long long)oi.ready_through, (unsigned long long)oi.max_seq, oi.held,
			oi.wait_node, (unsigned long long)oi.wait_ctr, oi.gap, oi.head_state,
			oi.head_holders);
	}
	FILE *f = fopen("fuzz_node_intake.history", "wb");
	if (f) {
		fwrite(history, 1, history_len, f);
		fclose(f);
		fprintf(stderr, "fuzz_node_intake: the %u inputs since the world was built are in "
			"fuzz_node_intake.history; replay: RUMOR_FUZZ_REPLAY=fuzz_node_intake.history "
			"<this binary> <any input file>\n", inputs_since_reset);
	}
	abort();
}

static void check_legit_orderable(void)
{
	uint64_t start = now;

	legit.rejected = 0;
	originate_legit();
	while (now - start < CHECK_BOUND_US) {
		uint64_t wait = cp_order_next_deadline(order, now);
		step(wait < 500 ? 500 : wait > 100000 ? 100000 : wait);
		if (legit.status < 0) /* refused (store full) or rejected: a client retries */
			originate_legit();
		if (legit.ordered)
			return;
	}
	fail("a legitimate event was not ordered within 20 s of simulated time");
}

/* ---------------------------------------------------------------- libFuzzer */

static void world_start(void)
{
	struct dp_node_params p;
	struct cp_order_config oc;
	static const uint16_t voters[NMEMBERS] = { 1, 2, 3 };
	static char err[256];

	memset(&p, 0, sizeof(p));
	p.cfg = &cfg;
	p.node_id = SELF;
	p.port_id = port;
	p.no_port_setup = true;
	p.store_slots = SLOTS;
	p.msg_pool_size = 512;
	p.rx_mbufs = 255;
	p.tsc_hz = 1000000;
	p.seed = 42;
	p.pull_timeout_us = 1000;
	p.age_us = 2000000;
	p.err = err;
	p.errlen = sizeof(err);
	if (dp_node_init(&dp, &p) != 0) {
		fprintf(stderr, "dp_node_init: %s\n", err);
		abort();
	}
	cp_order_config_default(&oc);
	oc.max_pending = 4096;
	if (cp_order_create(&oc, &order) != 0 || cp_order_set_voters(order, voters, NMEMBERS) != 0)
		abort();
	memset(slot_of, 0, sizeof(slot_of));
	honest_n = honest_next = 0;
	last_repair = last_members = 0;
	inputs_since_reset = 0;
	history_len = 0;
	now = 1000;
	legit.status = 0;
	legit.seq = 0;
	static struct rumor_msg view;
	memset(&view, 0, sizeof(view));
	view.type = RUMOR_MSG_VIEW;
	view.u.view.n = 2;
	view.u.view.node[0] = 2;
	view.u.view.node[1] = 3;
	to_dp(&view);
	send_members();
	step(10);
}

static void world_stop(void)
{
	struct rte_mbuf *m[64];
	unsigned n;

	while ((n = rte_ring_dequeue_burst(rx_ring, (void **)m, 64, NULL)) > 0)
		rte_pktmbuf_free_bulk(m, n);
	drain_dp();
	while ((n = rte_ring_dequeue_burst(tx_ring, (void **)m, 64, NULL)) > 0)
		rte_pktmbuf_free_bulk(m, n);
	dp_node_fini(&dp);
	cp_order_destroy(order);
	order = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char prefix[64];
	char *eal[] = { (*argv)[0], "--no-huge", "-m", "256", "--no-pci", "-l", "0",
			"--file-prefix", prefix, "--log-level", "*:error", NULL };
	char text[2048], err[256];
	int off;

	(void)argc;
	snprintf(prefix, sizeof(prefix), "rumor-fuzz-intake-%d", (int)getpid());
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0) {
		fprintf(stderr, "fuzz_node_intake: EAL init failed\n");
		exit(1);
	}
	off = snprintf(text, sizeof(text),
		       "[cluster]\nid = %u\n[gossip]\nfanout = 2\nrounds = 3\nflush_us = 100\n"
		       "[dataplane]\nstore_slots = %u\n[auth]\ninsecure = true\n", CLUSTER, SLOTS);
	for (unsigned i = 1; i <= 4; i++)
		off += snprintf(text + off, sizeof(text) - (size_t)off,
				"[node.%u]\nmac = 02:00:00:00:00:%02x\nip = 10.9.0.%u\n"
				"control = 127.0.0.1:%u\n", i, i, i, 7000 + i);
	if (rumor_config_parse(text, "fuzz", &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_node_intake: config: %s\n", err);
		exit(1);
	}
	pkt_pool = rte_pktmbuf_pool_create("fuzz_pkts", 2047, 0, 0, 10000, 0);
	rx_ring = rte_ring_create("fuzz_rx", 1024, 0, 0);
	tx_ring = rte_ring_create("fuzz_tx", 1024, 0, 0);
	int pid = rte_eth_from_rings("fuzz_ring", &rx_ring, 1, &tx_ring, 1, 0);
	if (!pkt_pool || !rx_ring || !tx_ring || pid < 0) {
		fprintf(stderr, "fuzz_node_intake: rings/port\n");
		exit(1);
	}
	port = (uint16_t)pid;
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup(port, 0, 256, 0, NULL, pkt_pool) != 0 ||
	    rte_eth_tx_queue_setup(port, 0, 256, 0, NULL) != 0 || rte_eth_dev_start(port) != 0) {
		fprintf(stderr, "fuzz_node_intake: port setup\n");
		exit(1);
	}
	if (cp_batch_init(&batch, 1u << 16) != 0)
		exit(1);
	return 0;
}

static bool world_up;

static void world_check_and_stop(void)
{
	/* with everything ordered or aged out, no slot stays taken */
	for (unsigned i = 0; i < 400 && dp_store_free_count(&dp.store) < SLOTS; i++)
		step(10000);
	if (dp_store_free_count(&dp.store) < SLOTS)
		fail("store slots still taken 4 s after the last event was ordered");
	world_stop();
	world_up = false;
}

static void run_input(const uint8_t *data, size_t size)
{
	struct in in = { data, size };

	if (!world_up) {
		world_start();
		world_up = true;
	}
	/* kept for the replay: a length, then the bytes */
	if (history_len + 4 + size <= sizeof(history)) {
		rumor_le_st32(history + history_len, (uint32_t)size);
		history_len += 4;
		memcpy(history + history_len, data, size);
		history_len += size;
	}
	inputs_since_reset++;
	for (unsigned steps = 0; in.n && steps < 64; steps++) {
		switch (u8(&in) % 8) {
		case 0: case 1: case 2: crafted_frame(&in); break;
		case 3: raw_rumor(&in); break;
		case 4: raw_frame(&in); break;
		case 5: member_reports(&in); break;
		case 6: step(1000u * (1 + u8(&in))); break; /* up to 256 ms */
		default: originate_legit(); step(10); break;
		}
	}
	step(10);
	check_legit_orderable();
	if (inputs_since_reset >= RESET_EVERY)
		world_check_and_stop();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool replayed;
	const char *replay = getenv("RUMOR_FUZZ_REPLAY");

	if (replay && !replayed) {
		replayed = true;
		FILE *f = fopen(replay, "rb");
		static uint8_t buf[HISTORY_MAX];
		size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0, off = 0;
		unsigned k = 0;
		if (f)
			fclose(f);
		while (off + 4 <= n) {
			size_t len = rumor_le_ld32(buf + off);
			off += 4;
			if (len > n - off)
				break;
			run_input(buf + off, len);
			off += len;
			k++;
		}
		fprintf(stderr, "fuzz_node_intake: replayed %u inputs of %s without a failure\n", k,
			replay);
		fflush(stderr);
		_exit(0); /* libFuzzer treats exit() inside an input as a crash */
	}
	run_input(data, size);
	return 0;
}
