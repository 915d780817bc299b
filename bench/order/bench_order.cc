// bench_order: throughput of the ordering core (reports -> cut batches -> committed), the
// cost of sorting a ready set into a batch, and the fsm apply rate. Thin C++ over the C code.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <vector>

extern "C" {
#include <raft/fixture.h>

#include "cp_batch.h"
#include "cp_fsm.h"
#include "cp_order.h"
}

namespace {

constexpr unsigned kOrigins = 64; // 64-entry clocks

// Rounds of events: in round r every origin o emits seq r with timestamp {o: r, others:
// r-1}: events of one round are concurrent, rounds form causal chains.
struct Workload {
	std::vector<rumor_vc> ts;
	std::vector<rumor_event_id> ids;
	std::vector<uint16_t> origin;
	std::vector<uint64_t> seq;
	explicit Workload(unsigned events)
	{
		ts.resize(events);
		ids.resize(events);
		origin.resize(events);
		seq.resize(events);
		for (unsigned i = 0; i < events; i++) {
			uint64_t r = i / kOrigins + 1;
			uint16_t o = (uint16_t)(i % kOrigins + 1);
			rumor_vc *v = &ts[i];
			v->n = 0;
			for (unsigned n = 1; n <= kOrigins; n++) {
				uint64_t c = n == o ? r : r - 1;
				if (c) {
					v->node[v->n] = (uint16_t)n;
					v->ctr[v->n++] = c;
				}
			}
			origin[i] = o;
			seq[i] = r;
			ids[i].hi = ((uint64_t)o << 48) ^ r;
			ids[i].lo = r * 0x9e3779b97f4a7c15ull + o;
		}
	}
};

cp_order *make_order(uint32_t max_pending, uint32_t batch_max)
{
	cp_order_config cfg;
	cp_order_config_default(&cfg);
	cfg.max_pending = max_pending;
	cfg.batch_max_events = batch_max;
	cp_order *o = nullptr;
	if (cp_order_create(&cfg, &o))
		abort();
	static const uint16_t voters[] = {1, 2, 3};
	cp_order_set_voters(o, voters, 3);
	return o;
}

// The origin's own report names the id (issue 14: before it, holders' reports count for
// nothing), then voters 1..3 other than the origin until a majority of 3 holds it: 2
// reports for origins 1..3, 3 for the others.
void report_event(cp_order *o, struct cp_order_report &r, uint64_t now)
{
	r.reporter = r.origin;
	cp_order_report(o, &r, now);
	unsigned held = r.origin <= 3;
	for (uint16_t rep = 1; rep <= 3 && held < 2; rep++) {
		if (rep == r.origin)
			continue;
		r.reporter = rep;
		cp_order_report(o, &r, now);
		held++;
	}
}

void report_both(cp_order *o, const Workload &w, unsigned i, uint64_t now)
{
	struct cp_order_report r{};
	r.id = w.ids[i];
	r.seq = w.seq[i];
	r.ts = &w.ts[i];
	r.origin = w.origin[i];
	report_event(o, r, now);
}

// Events/s from reports (2-3 per event, see report_event; 64-entry timestamps) to committed batches of 4096.
void BM_OrderThroughput(benchmark::State &state)
{
	const unsigned events = 1u << 16;
	static Workload w(events);
	cp_batch b;
	cp_batch_init(&b, 4096);
	uint64_t ordered = 0;
	cp_order *o = make_order(events, 4096);
	for (auto _ : state) {
		state.PauseTiming();
		cp_order_reset(o); // warm arena, as in a long-running leader
		state.ResumeTiming();
		uint64_t now = 0;
		for (unsigned i = 0; i < events; i++) {
			report_both(o, w, i, now);
			if ((i & 4095) == 4095) {
				now += 1000;
				int k = cp_order_cut(o, now, 0, &b);
				ordered += (uint64_t)(k > 0 ? k : 0);
				cp_order_committed(o, &b);
			}
		}
		int k;
		while ((k = cp_order_cut(o, now, 1, &b)) > 0) {
			ordered += (uint64_t)k;
			cp_order_committed(o, &b);
		}
	}
	cp_order_destroy(o);
	state.SetItemsProcessed((int64_t)ordered);
	state.counters["ordered_per_iter"] = (double)ordered / (double)state.iterations();
	cp_batch_free(&b);
}
BENCHMARK(BM_OrderThroughput)->Unit(benchmark::kMillisecond);

// Same stream, but each report's clock is built in place (one shared rumor_vc per round,
// own entry bumped per origin): clocks are cache-hot as when they come off a ring, instead
// of 170 MB of pre-built clocks read from DRAM as above. @reversed: the origins of a round
// report from the highest id down, so that each event becomes ready after a concurrent one
// with a larger key (same sum, higher origin): the cut's shortcuts for events that become
// ready in key order (controlplane/core/README.md) apply to a round's first event only,
// the heap and the availability checks run for the others.
void order_throughput_hot(benchmark::State &state, bool reversed)
{
	const unsigned events = 1u << 16;
	cp_batch b;
	cp_batch_init(&b, 4096);
	uint64_t ordered = 0;
	rumor_vc ts;
	cp_order *o = make_order(events, 4096);
	for (auto _ : state) {
		state.PauseTiming();
		cp_order_reset(o); // warm arena, as in a long-running leader
		state.ResumeTiming();
		uint64_t now = 0;
		struct cp_order_report r{};
		r.ts = &ts;
		for (unsigned i = 0; i < events; i++) {
			uint64_t round = i / kOrigins + 1;
			unsigned oi = reversed ? kOrigins - 1 - i % kOrigins : i % kOrigins;
			if (i % kOrigins == 0) {
				ts.n = 0;
				for (unsigned n = 1; n <= kOrigins; n++) {
					ts.node[ts.n] = (uint16_t)n;
					ts.ctr[ts.n++] = round - 1;
				}
				if (round == 1) { // zero entries are not stored
					ts.n = 1;
				}
			}
			if (round == 1) {
				ts.node[0] = (uint16_t)(oi + 1);
				ts.ctr[0] = 1;
			} else {
				ts.ctr[oi] = round;
			}
			r.origin = (uint16_t)(oi + 1);
			r.seq = round;
			r.id.hi = ((uint64_t)r.origin << 48) ^ round;
			r.id.lo = round * 0x9e3779b97f4a7c15ull + r.origin;
			report_event(o, r, now);
			if (round > 1)
				ts.ctr[oi] = round - 1;
			if ((i & 4095) == 4095) {
				now += 1000;
				int k = cp_order_cut(o, now, 0, &b);
				ordered += (uint64_t)(k > 0 ? k : 0);
				cp_order_committed(o, &b);
			}
		}
		int k;
		while ((k = cp_order_cut(o, now, 1, &b)) > 0) {
			ordered += (uint64_t)k;
			cp_order_committed(o, &b);
		}
	}
	cp_order_destroy(o);
	state.SetItemsProcessed((int64_t)ordered);
	state.counters["ordered_per_iter"] = (double)ordered / (double)state.iterations();
	cp_batch_free(&b);
}
void BM_OrderThroughputHot(benchmark::State &state)
{
	order_throughput_hot(state, false);
}
BENCHMARK(BM_OrderThroughputHot)->Unit(benchmark::kMillisecond);

void BM_OrderThroughputHotReversed(benchmark::State &state)
{
	order_throughput_hot(state, true);
}
BENCHMARK(BM_OrderThroughputHotReversed)->Unit(benchmark::kMillisecond);

// Cost of one cut over N ready events (the deterministic k-way merge with availability checks).
void BM_SortCut(benchmark::State &state)
{
	const unsigned n = (unsigned)state.range(0);
	Workload w(n);
	cp_batch b;
	cp_batch_init(&b, n);
	for (auto _ : state) {
		state.PauseTiming();
		cp_order *o = make_order(n, n);
		for (unsigned i = 0; i < n; i++)
			report_both(o, w, i, 0);
		state.ResumeTiming();
		int k = cp_order_cut(o, 0, 1, &b);
		benchmark::DoNotOptimize(k);
		if (k != (int)n)
			state.SkipWithError("not all events cut");
		state.PauseTiming();
		cp_order_destroy(o);
		state.ResumeTiming();
	}
	state.SetItemsProcessed((int64_t)state.iterations() * n);
}
BENCHMARK(BM_SortCut)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMicrosecond);

// Same cut when every event is a pure causal chain of one origin (no concurrency).
void BM_SortCutChain(benchmark::State &state)
{
	const unsigned n = (unsigned)state.range(0);
	cp_batch b;
	cp_batch_init(&b, n);
	rumor_vc ts;
	for (auto _ : state) {
		state.PauseTiming();
		cp_order *o = make_order(n, n);
		struct cp_order_report r{};
		r.ts = &ts;
		r.origin = 1;
		for (unsigned i = 1; i <= n; i++) {
			ts.n = 1;
			ts.node[0] = 1;
			ts.ctr[0] = i;
			r.seq = i;
			r.id.lo = i;
			for (uint16_t rep = 1; rep <= 2; rep++) {
				r.reporter = rep;
				cp_order_report(o, &r, 0);
			}
		}
		state.ResumeTiming();
		int k = cp_order_cut(o, 0, 1, &b);
		benchmark::DoNotOptimize(k);
		state.PauseTiming();
		cp_order_destroy(o);
		state.ResumeTiming();
	}
	state.SetItemsProcessed((int64_t)state.iterations() * n);
}
BENCHMARK(BM_SortCutChain)->Arg(1000)->Arg(100000)->Unit(benchmark::kMicrosecond);

const char kPayload[] = "SET key value";

int get_payload(void *, uint16_t, uint64_t, const rumor_event_id *, const void **p, size_t *len)
{
	*p = kPayload;
	*len = sizeof(kPayload) - 1;
	return 0;
}

// fsm apply: decode a 4096-event batch, dedupe, execute the KV command, log and digest.
void BM_FsmApply(benchmark::State &state)
{
	cp_payload_provider pp{};
	pp.get = get_payload;
	cp_fsm_config cfg;
	cp_fsm_config_default(&cfg);
	cp_fsm *f = nullptr;
	if (cp_fsm_create(&cfg, &pp, &f))
		abort();
	cp_batch b;
	cp_batch_init(&b, 4096);
	std::vector<uint8_t> buf(CP_BATCH_HDR_SIZE + 4096 * CP_BATCH_REC_SIZE);
	uint64_t seq = 0;
	for (auto _ : state) {
		state.PauseTiming();
		cp_batch_clear(&b);
		for (unsigned i = 0; i < 4096; i++) {
			uint16_t o = (uint16_t)(i % kOrigins + 1);
			rumor_event_id id{seq, i};
			cp_batch_add_event(&b, o, seq + 1, &id);
			if (o == kOrigins)
				seq++;
		}
		long len = cp_batch_encode(&b, buf.data(), buf.size());
		state.ResumeTiming();
		cp_fsm_apply_buf(f, buf.data(), (size_t)len);
	}
	state.SetItemsProcessed((int64_t)state.iterations() * 4096);
	cp_batch_free(&b);
	cp_fsm_destroy(f);
}
BENCHMARK(BM_FsmApply)->Unit(benchmark::kMicrosecond);

void on_commit(void *data, const cp_batch *b)
{
	cp_order_committed(static_cast<cp_order *>(data), b);
}

void apply_done(struct raft_apply *req, int, void *)
{
	delete req;
}

// End to end in one process: reports -> leader's cp_order -> raft_apply on a 3-voter
// raft_fixture (in-memory I/O, simulated latency) -> cp_fsm applied on all three nodes.
// Wall-clock events/s of our code plus libraft's, batches of range(0) events.
void BM_FixtureCluster(benchmark::State &state)
{
	const unsigned per_batch = (unsigned)state.range(0);
	raft_fixture f;
	memset(&f, 0, sizeof(f)); // raft_fixture_initialize does not reset the server count
	if (raft_fixture_initialize(&f))
		abort();
	cp_payload_provider pp{};
	pp.get = get_payload;
	cp_order *orders[3];
	cp_fsm *fsms[3];
	for (unsigned i = 0; i < 3; i++) {
		orders[i] = make_order(1u << 16, per_batch);
		pp.data = orders[i];
		pp.committed = on_commit;
		cp_fsm_config cfg;
		cp_fsm_config_default(&cfg);
		if (cp_fsm_create(&cfg, &pp, &fsms[i]) || raft_fixture_grow(&f, cp_fsm_raft(fsms[i])))
			abort();
	}
	raft_configuration conf;
	if (raft_fixture_configuration(&f, 3, &conf) || raft_fixture_bootstrap(&f, &conf))
		abort();
	raft_configuration_close(&conf);
	for (unsigned i = 0; i < 3; i++) { // keep the in-memory logs short, as in production
		raft_set_snapshot_threshold(raft_fixture_get(&f, i), 64);
		raft_set_snapshot_trailing(raft_fixture_get(&f, i), 32);
	}
	raft_fixture_start(&f);
	raft_fixture_elect(&f, 0);
	raft *leader = raft_fixture_get(&f, 0);
	cp_order *o = orders[0];
	cp_batch b;
	cp_batch_init(&b, per_batch);
	rumor_vc ts;
	uint64_t round = 0, total = 0;
	for (auto _ : state) {
		// per_batch events in rounds of kOrigins concurrent events, rounds causally chained
		for (unsigned i = 0; i < per_batch; i++) {
			unsigned oi = (unsigned)(total % kOrigins);
			if (oi == 0) {
				round++;
				ts.n = 0;
				for (unsigned n = 1; n <= kOrigins && round > 1; n++) {
					ts.node[ts.n] = (uint16_t)n;
					ts.ctr[ts.n++] = round - 1;
				}
			}
			rumor_vc one;
			const rumor_vc *use = &ts;
			if (round == 1) {
				one.n = 1;
				one.node[0] = (uint16_t)(oi + 1);
				one.ctr[0] = 1;
				use = &one;
			} else {
				ts.ctr[oi] = round;
			}
			struct cp_order_report r{};
			r.ts = use;
			r.origin = (uint16_t)(oi + 1);
			r.seq = round;
			r.id.hi = ((uint64_t)r.origin << 48) ^ round;
			r.id.lo = round;
			report_event(o, r, 0);
			if (round > 1)
				ts.ctr[oi] = round - 1;
			total++;
		}
		int k = cp_order_cut(o, 0, 1, &b);
		if (k <= 0) {
			state.SkipWithError("nothing cut");
			break;
		}
		size_t len = cp_batch_encoded_size(&b);
		raft_buffer buf{raft_malloc(len), len};
		cp_batch_encode(&b, buf.base, len);
		struct raft_apply *req = new struct raft_apply;
		if (raft_apply(leader, req, &buf, 1, apply_done)) {
			state.SkipWithError("raft_apply failed");
			break;
		}
		if (!raft_fixture_step_until_applied(&f, 3, raft_last_index(leader), 10000)) {
			state.SkipWithError("not applied");
			break;
		}
	}
	state.SetItemsProcessed((int64_t)cp_fsm_last_gseq(fsms[2]));
	state.counters["sim_ms"] = (double)raft_fixture_time(&f);
	raft_fixture_close(&f);
	for (unsigned i = 0; i < 3; i++) {
		cp_fsm_destroy(fsms[i]);
		cp_order_destroy(orders[i]);
	}
	cp_batch_free(&b);
}
BENCHMARK(BM_FixtureCluster)->Arg(1024)->Arg(4096)->Unit(benchmark::kMicrosecond);

} // namespace

BENCHMARK_MAIN();
