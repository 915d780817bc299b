// Micro benchmarks for common/ and the dataplane's pure parts: vector clock merge/compare
// (sparse, dense, scalar vs SIMD), event id hashing, gossip frame encode/decode, the dedupe
// table. A thin C++ shell over the C code. (Rings between processes: bench_ring.cc.)
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <vector>

extern "C" {
#include "dp_dedupe.h"
#include "rumor_eventid.h"
#include "rumor_vc.h"
#include "rumor_wire.h"
}

namespace {

uint64_t rng_state = 0x9e3779b97f4a7c15ull;

uint64_t rnd()
{
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dull;
}

// Two clocks over the same @n nodes (spread over the id range) with random counters.
void make_pair(unsigned n, rumor_vc *a, rumor_vc *b)
{
	rumor_vc_init(a);
	rumor_vc_init(b);
	for (unsigned i = 0; i < n; i++) {
		uint16_t node = static_cast<uint16_t>(1 + i * (RUMOR_NODE_ID_MAX / n));
		rumor_vc_set(a, node, 1 + rnd() % 1000000);
		rumor_vc_set(b, node, 1 + rnd() % 1000000);
	}
}

void BM_VcMerge(benchmark::State &st)
{
	static rumor_vc a, b;
	make_pair(static_cast<unsigned>(st.range(0)), &a, &b);
	for (auto _ : st) {
		// After the first pass dst holds the max; every pass still walks all entries.
		benchmark::DoNotOptimize(rumor_vc_merge(&a, &b));
		benchmark::ClobberMemory();
	}
	st.SetItemsProcessed(st.iterations() * st.range(0));
}
BENCHMARK(BM_VcMerge)->Name("BM_VcMergeSparse")->Arg(8)->Arg(64)->Arg(256);

void BM_VcCompare(benchmark::State &st)
{
	static rumor_vc a, b;
	make_pair(static_cast<unsigned>(st.range(0)), &a, &b);
	// a <= b everywhere but the last entry: the answer (concurrent) needs the whole scan.
	for (unsigned i = 0; i < a.n; i++)
		a.ctr[i] = b.ctr[i];
	a.ctr[a.n - 1] = b.ctr[b.n - 1] + 1;
	for (auto _ : st) {
		benchmark::DoNotOptimize(rumor_vc_compare(&a, &b));
		benchmark::ClobberMemory();
	}
	st.SetItemsProcessed(st.iterations() * st.range(0));
}
BENCHMARK(BM_VcCompare)->Name("BM_VcCompareSparse")->Arg(8)->Arg(64)->Arg(256);

void BM_VcDenseMergeSparse(benchmark::State &st)
{
	static rumor_vc a, b;
	static rumor_vc_dense d;
	make_pair(static_cast<unsigned>(st.range(0)), &a, &b);
	rumor_vc_dense_init(&d);
	rumor_vc_dense_merge(&d, &a);
	for (auto _ : st) {
		benchmark::DoNotOptimize(rumor_vc_dense_merge(&d, &b));
		benchmark::ClobberMemory();
	}
	st.SetItemsProcessed(st.iterations() * st.range(0));
}
BENCHMARK(BM_VcDenseMergeSparse)->Arg(8)->Arg(64)->Arg(256);

void fill_dense(rumor_vc_dense *d)
{
	rumor_vc_dense_init(d);
	for (unsigned i = 1; i <= RUMOR_NODE_ID_MAX; i++)
		d->ctr[i] = rnd() % 1000000;
}

template <int (*Fn)(rumor_vc_dense *, const rumor_vc_dense *)>
void BM_DenseMax(benchmark::State &st)
{
	static rumor_vc_dense a, b;
	fill_dense(&a);
	fill_dense(&b);
	for (auto _ : st) {
		benchmark::DoNotOptimize(Fn(&a, &b));
		benchmark::ClobberMemory();
	}
	st.SetItemsProcessed(st.iterations() * (RUMOR_NODE_ID_MAX + 1));
	st.SetBytesProcessed(st.iterations() * static_cast<int64_t>(sizeof(a.ctr)));
}
BENCHMARK_TEMPLATE(BM_DenseMax, rumor_vc_dense_max_scalar)->Name("BM_DenseMax/scalar");
BENCHMARK_TEMPLATE(BM_DenseMax, rumor_vc_dense_max_simd)->Name("BM_DenseMax/simd");

// Clocks over a fixed set of n nodes as counter arrays: scalar loop vs AVX-512/AVX2.
template <int (*Fn)(uint64_t *, const uint64_t *, size_t)>
void BM_CtrMax(benchmark::State &st)
{
	size_t n = static_cast<size_t>(st.range(0));
	std::vector<uint64_t> a(n), b(n);
	for (size_t i = 0; i < n; i++)
		a[i] = rnd() % 1000000, b[i] = rnd() % 1000000;
	for (auto _ : st) {
		benchmark::DoNotOptimize(Fn(a.data(), b.data(), n));
		benchmark::ClobberMemory();
	}
	st.SetItemsProcessed(st.iterations() * st.range(0));
}
BENCHMARK_TEMPLATE(BM_CtrMax, rumor_vc_ctr_max_scalar)->Name("BM_VcMerge/scalar")
	->Arg(8)->Arg(64)->Arg(256);
BENCHMARK_TEMPLATE(BM_CtrMax, rumor_vc_ctr_max_simd)->Name("BM_VcMerge/simd")
	->Arg(8)->Arg(64)->Arg(256);

template <enum rumor_vc_order (*Fn)(const uint64_t *, const uint64_t *, size_t)>
void BM_CtrCompare(benchmark::State &st)
{
	size_t n = static_cast<size_t>(st.range(0));
	std::vector<uint64_t> a(n), b(n);
	for (size_t i = 0; i < n; i++)
		a[i] = b[i] = rnd() % 1000000;
	a[n - 1]++; // after, decided only by the last entry: the whole scan runs
	for (auto _ : st) {
		benchmark::DoNotOptimize(Fn(a.data(), b.data(), n));
		benchmark::ClobberMemory();
	}
	st.SetItemsProcessed(st.iterations() * st.range(0));
}
BENCHMARK_TEMPLATE(BM_CtrCompare, rumor_vc_ctr_compare_scalar)->Name("BM_VcCompare/scalar")
	->Arg(8)->Arg(64)->Arg(256);
BENCHMARK_TEMPLATE(BM_CtrCompare, rumor_vc_ctr_compare_simd)->Name("BM_VcCompare/simd")
	->Arg(8)->Arg(64)->Arg(256);

// The dataplane's per-frame dedupe table (8-way buckets, XXH3), sized as rumor-dp sizes it
// for a 65536-slot store, filled to half: inserts of new frames, lookups of known ones
// (a duplicate) and of unknown ones (a new frame's first check).
struct DedupeFixture {
	uint64_t wm[RUMOR_NODE_ID_MAX + 1] = {};
	dp_dedupe d{};
	static constexpr uint32_t kEntries = 131072;
	DedupeFixture()
	{
		dp_dedupe_init(&d, kEntries, 42, wm);
		for (uint64_t s = 1; s <= kEntries / 2; s++)
			dp_dedupe_insert(&d, static_cast<uint16_t>(1 + s % 16), s, static_cast<uint32_t>(s));
	}
	~DedupeFixture() { dp_dedupe_fini(&d); }
};

void BM_DedupeInsert(benchmark::State &st)
{
	DedupeFixture f;
	uint64_t s = DedupeFixture::kEntries;
	for (auto _ : st) {
		s++;
		benchmark::DoNotOptimize(
			dp_dedupe_insert(&f.d, static_cast<uint16_t>(1 + s % 16), s, static_cast<uint32_t>(s)));
	}
	st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_DedupeInsert);

void BM_DedupeLookup(benchmark::State &st)
{
	DedupeFixture f;
	bool hit = st.range(0) != 0;
	uint64_t i = 0;
	uint32_t v;
	for (auto _ : st) {
		uint64_t s = hit ? 1 + (i * 7919) % (DedupeFixture::kEntries / 2)
				 : DedupeFixture::kEntries + i;
		i++;
		benchmark::DoNotOptimize(dp_dedupe_lookup(&f.d, static_cast<uint16_t>(1 + s % 16), s, &v));
	}
	st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_DedupeLookup)->Arg(1)->ArgName("known")->Arg(0)->ArgName("known");

void BM_EventId(benchmark::State &st)
{
	std::vector<uint8_t> p(static_cast<size_t>(st.range(0)));
	for (auto &c : p)
		c = static_cast<uint8_t>(rnd());
	rumor_event_id id;
	uint64_t seq = 1;
	for (auto _ : st) {
		rumor_event_id_compute(7, seq++, p.data(), p.size(), &id);
		benchmark::DoNotOptimize(id);
	}
	st.SetBytesProcessed(st.iterations() * st.range(0));
}
BENCHMARK(BM_EventId)->Arg(64)->Arg(1024);

// A full 1500-MTU gossip frame of 64 B events (17 of them with a 3-entry clock).
struct Frame {
	rumor_wire_l2l4 addr{};
	rumor_wire_hdr hdr{};
	rumor_vc clock{};
	uint8_t payload[RUMOR_WIRE_MAX_EVENTS][64];
	rumor_event_id ids[RUMOR_WIRE_MAX_EVENTS];
	unsigned nev = 0;
	uint8_t body[2048];
	size_t body_len = 0;
	uint8_t frame[2048];
	size_t frame_len = 0;

	Frame()
	{
		addr.src_ip = 0x0a000001;
		addr.dst_ip = 0x0a000002;
		addr.src_port = 40000;
		addr.dst_port = RUMOR_WIRE_PORT;
		const size_t cap = rumor_wire_body_max(RUMOR_WIRE_MTU_DEFAULT);
		const size_t clock_len = 3 * RUMOR_VC_WIRE_ENTRY;
		nev = static_cast<unsigned>((cap - clock_len) / rumor_wire_event_size(64));
		rumor_vc_init(&clock);
		rumor_vc_set(&clock, 1, 5);
		rumor_vc_set(&clock, 2, 100 + nev - 1);
		rumor_vc_set(&clock, 9, 3);
		hdr.type = RUMOR_WIRE_GOSSIP;
		hdr.rounds_left = 4;
		hdr.cluster_id = 42;
		hdr.origin = 2;
		hdr.sender = 2;
		hdr.first_seq = 100;
		hdr.event_count = static_cast<uint16_t>(nev);
		hdr.clock_count = clock.n;
		for (unsigned i = 0; i < nev; i++) {
			for (auto &c : payload[i])
				c = static_cast<uint8_t>(rnd());
			rumor_event_id_compute(hdr.origin, hdr.first_seq + i, payload[i], 64, &ids[i]);
		}
		body_len = build();
		int n = rumor_wire_encode(frame, sizeof(frame), &addr, &hdr, body, body_len);
		frame_len = n > 0 ? static_cast<size_t>(n) : 0;
	}

	size_t build()
	{
		rumor_wire_body b;
		rumor_wire_body_start(&b, body, rumor_wire_body_max(RUMOR_WIRE_MTU_DEFAULT), &clock);
		for (unsigned i = 0; i < nev; i++)
			rumor_wire_body_add(&b, &ids[i], payload[i], 64);
		return b.len;
	}
};

void BM_WireEncode(benchmark::State &st)
{
	static Frame f;
	for (auto _ : st) {
		size_t len = f.build();
		int n = rumor_wire_encode(f.frame, sizeof(f.frame), &f.addr, &f.hdr, f.body, len);
		benchmark::DoNotOptimize(n);
		benchmark::ClobberMemory();
	}
	st.SetItemsProcessed(st.iterations() * f.nev);
	st.SetBytesProcessed(st.iterations() * static_cast<int64_t>(f.frame_len));
	st.counters["events_per_frame"] = f.nev;
	st.counters["frame_bytes"] = static_cast<double>(f.frame_len);
}
BENCHMARK(BM_WireEncode);

void BM_WireDecode(benchmark::State &st)
{
	static Frame f;
	static rumor_wire_frame out;
	const unsigned flags = static_cast<unsigned>(st.range(0));
	if (rumor_wire_decode(f.frame, f.frame_len, 42, RUMOR_WIRE_PORT, flags, &out) != 0) {
		st.SkipWithError("frame does not decode");
		return;
	}
	for (auto _ : st) {
		int rc = rumor_wire_decode(f.frame, f.frame_len, 42, RUMOR_WIRE_PORT, flags, &out);
		benchmark::DoNotOptimize(rc);
		benchmark::ClobberMemory();
	}
	st.SetItemsProcessed(st.iterations() * f.nev);
	st.SetBytesProcessed(st.iterations() * static_cast<int64_t>(f.frame_len));
}
BENCHMARK(BM_WireDecode)->Arg(0)->ArgName("verify_ids");
BENCHMARK(BM_WireDecode)->Arg(RUMOR_WIRE_DEC_VERIFY_IDS)->ArgName("verify_ids");

} // namespace

BENCHMARK_MAIN();
