// A send request line as tools/rumor_load.c writes it (16 events of 64 B, ack, ids, tag,
// request_id) read the two ways rumor-cp can: jansson's path (json_loadb, the options,
// cp_sendreq_pack, json_decref) and cp_sendscan. ns per line. A thin C++ shell over the C code.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

extern "C" {
#include "cp_sendreq.h"
#include "cp_sendscan.h"
}

namespace {

std::string load_line(unsigned events, unsigned size)
{
	std::string l = "{\"cmd\":\"send\",\"ack\":\"durable\",\"ids\":false,\"tag\":48001,"
			"\"request_id\":\"load-1-4242-48001\",\"batch\":[";
	uint64_t x = 88172645463325252ull;
	for (unsigned i = 0; i < events; i++) {
		std::string ev = "nbench-" + std::to_string(48001 + i) + " ";
		while (ev.size() < size) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			ev += static_cast<char>('a' + x % 26);
		}
		l += (i ? ",\"" : "\"") + ev + "\"";
	}
	return l + "]}";
}

void BM_SendJansson(benchmark::State &st)
{
	std::string l = load_line(static_cast<unsigned>(st.range(0)), static_cast<unsigned>(st.range(1)));
	static uint8_t buf[4064]; // RUMOR_MSG_ORIGINATE_DATA (rumor_msg.h is C only)
	char err[160];
	size_t len = 0;
	uint16_t count = 0;
	for (auto _ : st) {
		json_t *req = json_loadb(l.data(), l.size(), 0, nullptr);
		struct cp_sendreq_opts o;
		cp_sendreq_opts_json(req, &o);
		if (cp_sendreq_pack(req, 1400, 1500, buf, sizeof(buf), &len, &count, err, sizeof(err)))
			st.SkipWithError("refused");
		benchmark::DoNotOptimize(o);
		benchmark::DoNotOptimize(buf[len - 1]);
		json_decref(req);
	}
	st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
	st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * l.size()));
}

void BM_SendScan(benchmark::State &st)
{
	std::string l = load_line(static_cast<unsigned>(st.range(0)), static_cast<unsigned>(st.range(1)));
	static uint8_t buf[4064]; // RUMOR_MSG_ORIGINATE_DATA (rumor_msg.h is C only)
	struct cp_sendscan s;
	for (auto _ : st) {
		if (!cp_sendscan(l.data(), l.size(), 1400, buf, sizeof(buf), &s))
			st.SkipWithError("not taken");
		benchmark::DoNotOptimize(s);
		benchmark::DoNotOptimize(buf[s.len - 1]);
	}
	st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
	st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * l.size()));
}

BENCHMARK(BM_SendJansson)->Args({16, 64})->Args({1, 64});
BENCHMARK(BM_SendScan)->Args({16, 64})->Args({1, 64});

} // namespace

BENCHMARK_MAIN();
