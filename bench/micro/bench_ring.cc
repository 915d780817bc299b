// rte_ring bulk enqueue/dequeue between two processes, the way rumor-dp and rumor-cp talk:
// this process is the DPDK primary and the producer; it starts a copy of itself as a
// secondary process that consumes on the other lcore. Same-thread enqueue+dequeue pairs are
// measured beside it: the ratio is what crossing processes (and cores) costs.
// Needs root and hugepages (deploy/setup-host.sh). Google Benchmark flags pass through.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_memzone.h>
#include <rte_ring.h>

extern char **environ;

namespace {

constexpr unsigned kRingSize = 4096;
constexpr const char *kRing = "rumor_bench_ring";
constexpr const char *kCtl = "rumor_bench_ring_ctl";

struct Ctl {
	std::atomic<int> ready;
	std::atomic<int> stop;
	std::atomic<uint64_t> consumed;
};

rte_ring *ring_x;   // shared with the consumer process
rte_ring *ring_l;   // private, same thread
Ctl *ctl;

int eal_init(std::vector<std::string> args)
{
	std::vector<char *> argv;
	for (auto &a : args)
		argv.push_back(a.data());
	return rte_eal_init(static_cast<int>(argv.size()), argv.data());
}

int consumer(const char *prefix)
{
	if (eal_init({"bench_ring_consumer", "-l", "1", "--proc-type=secondary", "--no-pci",
		      "--file-prefix", prefix, "--log-level=lib.eal:error"}) < 0) {
		std::fprintf(stderr, "bench_ring consumer: EAL init failed\n");
		return 1;
	}
	const rte_memzone *mz = rte_memzone_lookup(kCtl);
	rte_ring *r = rte_ring_lookup(kRing);
	if (!mz || !r) {
		std::fprintf(stderr, "bench_ring consumer: no ring or control zone\n");
		return 1;
	}
	Ctl *c = static_cast<Ctl *>(mz->addr);
	void *objs[256];
	c->ready.store(1);
	while (!c->stop.load(std::memory_order_relaxed)) {
		unsigned n = rte_ring_dequeue_burst(r, objs, 256, nullptr);
		if (n)
			c->consumed.fetch_add(n, std::memory_order_relaxed);
	}
	rte_eal_cleanup();
	return 0;
}

void BM_RingCrossProcess(benchmark::State &st)
{
	unsigned burst = static_cast<unsigned>(st.range(0));
	std::vector<void *> objs(burst, reinterpret_cast<void *>(0x1000));
	uint64_t sent = 0, spins = 0;
	uint64_t before = ctl->consumed.load();
	for (auto _ : st) {
		while (rte_ring_enqueue_bulk(ring_x, objs.data(), burst, nullptr) == 0)
			spins++; // full: the consumer sets the pace
		sent += burst;
	}
	// count what crossed, not what was queued: wait for the consumer to drain
	while (ctl->consumed.load() - before < sent)
		;
	st.SetItemsProcessed(static_cast<int64_t>(sent));
	st.counters["full_spins_per_burst"] =
		benchmark::Counter(static_cast<double>(spins) / static_cast<double>(st.iterations()));
}
BENCHMARK(BM_RingCrossProcess)->Arg(1)->Arg(8)->Arg(32)->Arg(128)->ArgName("burst")
	->UseRealTime();

void BM_RingSameThread(benchmark::State &st)
{
	unsigned burst = static_cast<unsigned>(st.range(0));
	std::vector<void *> objs(burst, reinterpret_cast<void *>(0x1000)), out(burst);
	for (auto _ : st) {
		rte_ring_enqueue_bulk(ring_l, objs.data(), burst, nullptr);
		benchmark::DoNotOptimize(rte_ring_dequeue_bulk(ring_l, out.data(), burst, nullptr));
	}
	st.SetItemsProcessed(st.iterations() * st.range(0));
}
BENCHMARK(BM_RingSameThread)->Arg(1)->Arg(8)->Arg(32)->Arg(128)->ArgName("burst")
	->UseRealTime();

} // namespace

int main(int argc, char **argv)
{
	if (const char *p = std::getenv("RUMOR_BENCH_RING_CONSUMER"))
		return consumer(p);
	std::string prefix = "rumor-bench-ring-" + std::to_string(getpid());
	if (eal_init({"bench_ring", "-l", "0", "--no-pci", "--file-prefix", prefix, "-m", "64",
		      "--log-level=lib.eal:error"}) < 0) {
		std::fprintf(stderr, "bench_ring: EAL init failed (root and hugepages needed: "
				     "deploy/setup-host.sh)\n");
		return 1;
	}
	const rte_memzone *mz = rte_memzone_reserve(kCtl, sizeof(Ctl), SOCKET_ID_ANY, 0);
	ring_x = rte_ring_create(kRing, kRingSize, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	ring_l = rte_ring_create("rumor_bench_ring_l", kRingSize, SOCKET_ID_ANY,
				 RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (!mz || !ring_x || !ring_l) {
		std::fprintf(stderr, "bench_ring: cannot create the rings\n");
		return 1;
	}
	ctl = new (mz->addr) Ctl{};
	std::string env = "RUMOR_BENCH_RING_CONSUMER=" + prefix;
	char *cenv[] = {env.data(), nullptr};
	char *cargv[] = {argv[0], nullptr};
	pid_t pid;
	if (posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, cargv, cenv) != 0) {
		std::fprintf(stderr, "bench_ring: cannot start the consumer process\n");
		return 1;
	}
	for (int i = 0; i < 10000 && !ctl->ready.load(); i++)
		usleep(1000);
	if (!ctl->ready.load()) {
		std::fprintf(stderr, "bench_ring: the consumer process did not come up\n");
		kill(pid, SIGKILL);
		return 1;
	}
	benchmark::Initialize(&argc, argv);
	benchmark::RunSpecifiedBenchmarks();
	ctl->stop.store(1);
	int status = 0;
	waitpid(pid, &status, 0);
	rte_ring_free(ring_x);
	rte_ring_free(ring_l);
	rte_memzone_free(mz);
	rte_eal_cleanup();
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
