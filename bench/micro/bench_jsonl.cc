// ordered.log / stream lines (cp_jsonl): one event line with a 64 B or 1 KiB text payload, as
// rumor-cp writes it for every applied event. A thin C++ shell over the C code.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>

extern "C" {
#include "cp_jsonl.h"
}

namespace {

void BM_JsonlEvent(benchmark::State &st)
{
	std::string payload;
	while (payload.size() < static_cast<size_t>(st.range(0)))
		payload += "SET key-" + std::to_string(payload.size()) + " value ";
	payload.resize(static_cast<size_t>(st.range(0)));
	const char id[] = "5f0c2a7d9e41b3c8a6f2d4e0b1c3a5e7";
	const char clock[] = "{1:48211, 2:47993, 3:48100}";
	cp_jsonl b = {};
	for (auto _ : st) {
		cp_jsonl_reset(&b);
		cp_jsonl_event(&b, 123456789, 2, 48001, id, "clock", clock, false, payload.data(),
			       payload.size());
		benchmark::DoNotOptimize(b.p);
	}
	st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
	st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * payload.size()));
	cp_jsonl_free(&b);
}
BENCHMARK(BM_JsonlEvent)->Arg(64)->Arg(1024);

} // namespace

BENCHMARK_MAIN();
