// Per-frame cost of authenticating gossip: rumor_auth's hop seal/verify and body tag
// (intel-ipsec-mb AES-256-GMAC), beside the alternatives it was chosen against, each over the
// same bytes: OpenSSL 3 AES-256-GCM with AAD only (GMAC, key schedule kept, IV reset per
// frame), OpenSSL 3 EVP_MAC CMAC-AES-256, and intel-ipsec-mb's GMAC one-shot.
// Run: <build>/bench/micro/bench_auth --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>

#include <intel-ipsec-mb.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

extern "C" {
#include "rumor_auth.h"
#include "rumor_be.h"
#include "rumor_wire.h"
}

namespace {

const uint8_t kKey[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
			   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
// hop tag input: fixed header + sealed part of the auth header
constexpr size_t kHop = RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_SEALED;

struct Frame {
	alignas(64) uint8_t b[RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_LEN + 1500];
};

rumor_auth *auth()
{
	static rumor_auth *a = [] {
		rumor_auth *x = rumor_auth_new();
		rumor_auth_set_key(x, 1, kKey);
		rumor_auth_use(x, 1);
		return x;
	}();
	return a;
}

void fill(Frame &f)
{
	rumor_wire_hdr h{};
	h.type = RUMOR_WIRE_GOSSIP;
	h.flags = RUMOR_WIRE_F_AUTH;
	h.cluster_id = 7001;
	h.origin = 2;
	h.sender = 2;
	h.first_seq = 1;
	h.event_count = 1;
	h.clock_count = 3;
	memset(f.b, 0x5a, sizeof(f.b));
	rumor_wire_put_hdr(f.b, &h);
	f.b[RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_KEY] = 1;
}

// The hop seal a relay does per fan-out copy (fresh counter each time).
void BM_rumor_hop_seal(benchmark::State &st)
{
	Frame f;
	uint64_t c = 1;

	fill(f);
	for (auto _ : st) {
		rumor_be_st64(f.b + RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_CTR, c++);
		rumor_auth_hop_seal(auth(), f.b);
		benchmark::DoNotOptimize(f.b[RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_HOPTAG]);
	}
	st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_rumor_hop_seal);

void BM_rumor_hop_verify(benchmark::State &st)
{
	Frame f;

	fill(f);
	rumor_auth_hop_seal(auth(), f.b);
	for (auto _ : st)
		benchmark::DoNotOptimize(rumor_auth_hop_verify(auth(), f.b));
	st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_rumor_hop_verify);

// Body tag over a body of range(0) bytes: the origin's seal, and each receiver's first-sight
// verify (the same computation). 50 B is the 64 B pktrate frame's body.
void BM_rumor_body_tag(benchmark::State &st)
{
	Frame f;
	uint8_t tag[16];
	uint64_t n = 1;

	fill(f);
	for (auto _ : st) {
		rumor_auth_body_tag(auth(), 1, n++, f.b, f.b + RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_LEN,
				    (size_t)st.range(0), tag);
		benchmark::DoNotOptimize(tag[0]);
	}
	st.SetItemsProcessed(st.iterations());
	st.SetBytesProcessed(st.iterations() * st.range(0));
}
BENCHMARK(BM_rumor_body_tag)->Arg(50)->Arg(1024)->Arg(1400);

// ---- alternatives over the same input sizes

void BM_ipsecmb_gmac_oneshot_gcm(benchmark::State &st)
{
	// GMAC as AES-GCM with no plaintext: one call instead of init/update/finalize
	IMB_MGR *m = alloc_mb_mgr(0);
	init_mb_mgr_auto(m, nullptr);
	alignas(64) static gcm_key_data kd;
	gcm_context_data ctx;
	IMB_AES256_GCM_PRE(m, kKey, &kd);
	Frame f;
	uint8_t iv[12] = { 0 }, tag[16];
	size_t len = (size_t)st.range(0);

	fill(f);
	for (auto _ : st) {
		iv[11]++;
		IMB_AES256_GCM_ENC(m, &kd, &ctx, nullptr, nullptr, 0, iv, f.b, len, tag, 16);
		benchmark::DoNotOptimize(tag[0]);
	}
	st.SetItemsProcessed(st.iterations());
	free_mb_mgr(m);
}
BENCHMARK(BM_ipsecmb_gmac_oneshot_gcm)->Arg(kHop)->Arg(82)->Arg(1432);

void BM_openssl_gcm_aad(benchmark::State &st)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	Frame f;
	uint8_t iv[12] = { 0 }, tag[16];
	int outl;
	int len = (int)st.range(0);

	fill(f);
	EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), nullptr, kKey, iv);
	for (auto _ : st) {
		iv[11]++;
		EVP_EncryptInit_ex(c, nullptr, nullptr, nullptr, iv); // key schedule kept
		EVP_EncryptUpdate(c, nullptr, &outl, f.b, len);
		EVP_EncryptFinal_ex(c, nullptr, &outl);
		EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag);
		benchmark::DoNotOptimize(tag[0]);
	}
	st.SetItemsProcessed(st.iterations());
	EVP_CIPHER_CTX_free(c);
}
BENCHMARK(BM_openssl_gcm_aad)->Arg(kHop)->Arg(82)->Arg(1432);

void BM_openssl_cmac(benchmark::State &st)
{
	EVP_MAC *mac = EVP_MAC_fetch(nullptr, "CMAC", nullptr);
	EVP_MAC_CTX *tmpl = EVP_MAC_CTX_new(mac);
	char cipher[] = "AES-256-CBC";
	OSSL_PARAM p[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0),
			   OSSL_PARAM_construct_end() };
	Frame f;
	uint8_t tag[16];
	size_t outl;
	size_t len = (size_t)st.range(0);

	fill(f);
	EVP_MAC_init(tmpl, kKey, sizeof(kKey), p);
	for (auto _ : st) {
		// a copy of the keyed context per frame: CMAC has no cheaper reset in 3.0
		EVP_MAC_CTX *c = EVP_MAC_CTX_dup(tmpl);
		EVP_MAC_update(c, f.b, len);
		EVP_MAC_final(c, tag, &outl, sizeof(tag));
		EVP_MAC_CTX_free(c);
		benchmark::DoNotOptimize(tag[0]);
	}
	st.SetItemsProcessed(st.iterations());
	EVP_MAC_CTX_free(tmpl);
	EVP_MAC_free(mac);
}
BENCHMARK(BM_openssl_cmac)->Arg(kHop)->Arg(82)->Arg(1432);

} // namespace

BENCHMARK_MAIN();
