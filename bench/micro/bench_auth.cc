// Per-frame cost of authenticating gossip: rumor_auth's hop seal/verify and body tag (its own
// AES-NI + VPCLMULQDQ GMAC kernel; "portable": intel-ipsec-mb's AES-256-GMAC, what it used
// before and still uses without AVX-512), the relay's batched calls (hop checks of a 32-frame
// burst, body check, seals from pads), beside the alternatives it was chosen against, each
// over the same bytes: OpenSSL 3 AES-256-GCM with AAD only (GMAC, key schedule kept, IV reset
// per frame), OpenSSL 3 EVP_MAC CMAC-AES-256, and intel-ipsec-mb's GMAC one-shot.
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

rumor_auth *portable()
{
	static rumor_auth *a = [] {
		rumor_auth *x = rumor_auth_new();
		rumor_auth_set_key(x, 1, kKey);
		rumor_auth_use(x, 1);
		rumor_auth_set_portable(x, true);
		return x;
	}();
	return a;
}

rumor_auth *pick(benchmark::State &st)
{
	return st.range(0) ? portable() : auth();
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

// The hop seal a relay does per fan-out copy (fresh counter each time). Arg 1: portable.
void BM_rumor_hop_seal(benchmark::State &st)
{
	Frame f;
	uint64_t c = 1;

	fill(f);
	for (auto _ : st) {
		rumor_be_st64(f.b + RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_CTR, c++);
		rumor_auth_hop_seal(pick(st), f.b);
		benchmark::DoNotOptimize(f.b[RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_HOPTAG]);
	}
	st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_rumor_hop_seal)->Arg(0)->Arg(1);

void BM_rumor_hop_verify(benchmark::State &st)
{
	Frame f;

	fill(f);
	rumor_auth_hop_seal(pick(st), f.b);
	for (auto _ : st)
		benchmark::DoNotOptimize(rumor_auth_hop_verify(pick(st), f.b));
	st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_rumor_hop_verify)->Arg(0)->Arg(1);

// What the dataplane does per RX burst of 32 and per TX flush: hop checks at once (with the
// body tag's AES block), seals from pads (8 counters' AES blocks at a time); items = frames.
void BM_rumor_hop_check_burst(benchmark::State &st)
{
	static Frame f[32];
	const uint8_t *r[32];
	rumor_auth_rx rx[32];
	int rc[32];

	for (unsigned i = 0; i < 32; i++) {
		fill(f[i]);
		rumor_be_st64(f[i].b + RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_CTR, i + 1);
		rumor_auth_hop_seal(auth(), f[i].b);
		r[i] = f[i].b;
	}
	for (auto _ : st) {
		rumor_auth_hop_check_burst(pick(st), r, 32, rx, rc);
		benchmark::DoNotOptimize(rc[31]);
	}
	st.SetItemsProcessed(st.iterations() * 32);
}
BENCHMARK(BM_rumor_hop_check_burst)->Arg(0)->Arg(1);

// A TX flush of 32 seals, its pads made range(1) at a time: 8 (the fill before c7eeae3) or
// 32, the whole burst in one pass (rumor_auth_pads_fill_n), as the dataplane does since.
void BM_rumor_hop_seal_pads(benchmark::State &st)
{
	static Frame f[32];
	uint8_t *r[32];
	rumor_auth_pads pads;
	uint64_t c = 1;
	const unsigned per_fill = static_cast<unsigned>(st.range(1));

	for (unsigned i = 0; i < 32; i++) {
		fill(f[i]);
		r[i] = f[i].b;
	}
	for (auto _ : st) {
		for (unsigned i = 0; i < 32; i += per_fill) {
			rumor_auth_pads_fill_n(pick(st), &pads, 1, 2, c, per_fill);
			c += per_fill;
			rumor_auth_hop_seal_pads(pick(st), r + i, per_fill, &pads);
		}
		benchmark::DoNotOptimize(f[31].b[RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_HOPTAG]);
	}
	st.SetItemsProcessed(st.iterations() * 32);
}
BENCHMARK(BM_rumor_hop_seal_pads)->ArgNames({"portable", "per_fill"})
	->Args({0, 8})->Args({1, 8})->Args({0, 32})->Args({1, 32});

// A new frame's body check after its hop check (the AES block already made). Args: body
// bytes, portable.
void BM_rumor_body_check(benchmark::State &st)
{
	Frame f;
	rumor_auth_rx rx;
	uint8_t *ah = f.b + RUMOR_WIRE_HDR_LEN, *body = ah + RUMOR_WIRE_AUTH_LEN;
	size_t len = (size_t)st.range(1);
	rumor_auth *a = pick(st);

	fill(f);
	rumor_be_st64(ah + RUMOR_WIRE_AUTH_NONCE, 9);
	rumor_auth_body_tag(a, 1, 9, f.b, body, len, ah + RUMOR_WIRE_AUTH_BODYTAG);
	rumor_auth_hop_seal(a, f.b);
	rumor_auth_hop_check(a, f.b, &rx);
	for (auto _ : st)
		benchmark::DoNotOptimize(rumor_auth_body_check(a, &rx, f.b, body, len));
	st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_rumor_body_check)->Args({0, 50})->Args({1, 50})->Args({0, 1024})->Args({1, 1024});

// Body tag over a body of range(1) bytes: the origin's seal (and the portable receivers'
// first-sight verify, the same computation). 50 B is the 64 B pktrate frame's body.
void BM_rumor_body_tag(benchmark::State &st)
{
	Frame f;
	uint8_t tag[16];
	uint64_t n = 1;

	fill(f);
	for (auto _ : st) {
		rumor_auth_body_tag(pick(st), 1, n++, f.b,
				    f.b + RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_LEN,
				    (size_t)st.range(1), tag);
		benchmark::DoNotOptimize(tag[0]);
	}
	st.SetItemsProcessed(st.iterations());
	st.SetBytesProcessed(st.iterations() * st.range(1));
}
BENCHMARK(BM_rumor_body_tag)->Args({0, 50})->Args({1, 50})->Args({0, 1024})->Args({1, 1024})
	->Args({0, 1400});

// Confidentiality ([auth] encrypt, issue 14): the origin's AES-256-GCM of a body of range(0)
// bytes (once per frame), and a holder's verify + decrypt (once per new frame), against the
// GMAC body tag / check they replace.
void BM_rumor_body_encrypt(benchmark::State &st)
{
	Frame f;
	uint8_t tag[16], out[1500];
	uint64_t n = 1;
	size_t len = (size_t)st.range(0);

	fill(f);
	for (auto _ : st) {
		rumor_auth_body_seal_enc(auth(), 1, n++, f.b, f.b + RUMOR_WIRE_HDR_LEN +
				RUMOR_WIRE_AUTH_LEN, out, len, tag);
		benchmark::DoNotOptimize(tag[0]);
	}
	st.SetItemsProcessed(st.iterations());
	st.SetBytesProcessed(st.iterations() * st.range(0));
}
BENCHMARK(BM_rumor_body_encrypt)->Arg(50)->Arg(1024)->Arg(1400);

void BM_rumor_body_open(benchmark::State &st)
{
	Frame f;
	uint8_t tag[16], ct[1500], out[1500];
	size_t len = (size_t)st.range(0);

	fill(f);
	rumor_auth_body_seal_enc(auth(), 1, 5, f.b, f.b + RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_LEN,
				 ct, len, tag);
	for (auto _ : st)
		benchmark::DoNotOptimize(rumor_auth_body_open(auth(), 1, 5, f.b, ct, out, len, tag));
	st.SetItemsProcessed(st.iterations());
	st.SetBytesProcessed(st.iterations() * st.range(0));
}
BENCHMARK(BM_rumor_body_open)->Arg(50)->Arg(1024)->Arg(1400);

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
