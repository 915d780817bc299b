// The controlplane's held-event table (cp_held) under the apply path's access pattern: frames of
// 32 events from a few origins added as they arrive and, a backlog later, every event looked up
// and retired in seq order. Table sized as rumor-cp sizes it for deploy/cluster.sh's store.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

extern "C" {
#include "cp_held.h"
}

namespace {

void BM_held_apply_churn(benchmark::State &st)
{
	const uint32_t n_slots = 16384, per_frame = 32, origins = 3;
	const uint32_t backlog = static_cast<uint32_t>(st.range(0)); // frames held at once
	cp_held h;
	if (cp_held_init(&h, n_slots * 24u + 4096u, n_slots) != 0) {
		st.SkipWithError("cp_held_init");
		return;
	}
	std::vector<cp_held_event> ev(per_frame);
	std::vector<uint64_t> next_seq(origins + 1, 1);
	struct inflight { uint32_t slot; uint16_t origin; uint64_t first; };
	std::vector<inflight> ring(backlog);
	uint64_t added = 0, retired = 0;
	uint32_t head = 0;

	auto add = [&](uint32_t slot, uint16_t origin) {
		inflight f{ slot, origin, next_seq[origin] };
		next_seq[origin] += per_frame;
		cp_held_add_frame(&h, slot, origin, f.first, per_frame, ev.data());
		return f;
	};
	for (uint32_t i = 0; i < backlog; i++)
		ring[i] = add(i, static_cast<uint16_t>(1 + i % origins));
	for (auto _ : st) {
		inflight &f = ring[head];
		uint32_t rel = 0;
		for (uint32_t k = 0; k < per_frame; k++) {
			const cp_held_event *e = cp_held_get(&h, f.origin, f.first + k);
			benchmark::DoNotOptimize(e);
			if (e)
				cp_held_done_at(&h, e, &rel);
		}
		retired += per_frame;
		f = add(f.slot, f.origin);
		added += per_frame;
		head = (head + 1) % backlog;
	}
	st.SetItemsProcessed(static_cast<int64_t>(retired));
	st.counters["held_events"] = h.count;
	cp_held_fini(&h);
}
BENCHMARK(BM_held_apply_churn)->Arg(64)->Arg(2048)->Arg(12000);

} // namespace

BENCHMARK_MAIN();
