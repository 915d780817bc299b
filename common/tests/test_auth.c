/* rumor_auth: GMAC known answers (the GCM spec's vector, and OpenSSL's AES-256-GCM over the
 * same bytes), body/hop tags against every single-bit change, the anti-replay window's edges,
 * the keyring parser and the [auth] config section. */
#include <errno.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "rumor_auth.h"
#include "rumor_be.h"
#include "rumor_config.h"
#include "rumor_wire.h"
#include "test_util.h"

/* counters as test values: some base and an offset */
#define CTR(e, n) ((uint64_t)(e) << 32 | (n))

static const char *const ring_text =
	"# test keyring\n"
	"1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
	"\n"
	"7 FFEEDDCCBBAA99887766554433221100ffeeddccbbaa99887766554433221100  # spare\n";

static struct rumor_auth *mk(void)
{
	struct rumor_auth *a = rumor_auth_new();
	char err[128];

	assert_non_null(a);
	assert_int_equal(rumor_auth_keyring_parse(a, ring_text, "ring", err, sizeof(err)), 2);
	assert_int_equal(rumor_auth_use(a, 1), 0);
	return a;
}

/* GMAC = AES-GCM with no plaintext: what OpenSSL computes over the same AAD. */
static void ossl_gmac(const uint8_t key[32], const uint8_t iv[12], const uint8_t *aad,
		      size_t len, uint8_t tag[16])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int outl;

	assert_non_null(c);
	assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv), 1);
	if (len)
		assert_int_equal(EVP_EncryptUpdate(c, NULL, &outl, aad, (int)len), 1);
	assert_int_equal(EVP_EncryptFinal_ex(c, NULL, &outl), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag), 1);
	EVP_CIPHER_CTX_free(c);
}

static void auth_gmac_kat(void **state)
{
	/* "The Galois/Counter Mode of Operation", test case 13: K = 0^256, IV = 0^96, no data */
	static const uint8_t t13[16] = { 0x53, 0x0f, 0x8a, 0xfb, 0xc7, 0x45, 0x36, 0xb9,
					 0xa9, 0x63, 0xb4, 0xf1, 0xc4, 0xcb, 0x73, 0x8b };
	uint8_t zero[32] = { 0 }, iv[12] = { 0 }, tag[16], want[16], key[32], aad[1500];
	struct rumor_auth *a = rumor_auth_new();
	struct test_rng r;

	(void)state;
	assert_non_null(a);
	assert_int_equal(rumor_auth_set_key(a, 3, zero), 0);
	assert_int_equal(rumor_auth_gmac(a, 3, iv, NULL, 0, tag), 0);
	assert_memory_equal(tag, t13, 16);
	rumor_auth_free(a);

	test_rng_seed(&r, 14);
	for (int it = 0; it < 200; it++) {
		size_t len = (size_t)test_rng_below(&r, sizeof(aad) + 1);

		for (unsigned i = 0; i < 32; i++)
			key[i] = (uint8_t)test_rng_next(&r);
		for (unsigned i = 0; i < 12; i++)
			iv[i] = (uint8_t)test_rng_next(&r);
		for (size_t i = 0; i < len; i++)
			aad[i] = (uint8_t)test_rng_next(&r);
		a = rumor_auth_new();
		assert_int_equal(rumor_auth_set_key(a, 9, key), 0);
		assert_int_equal(rumor_auth_gmac(a, 9, iv, aad, len, tag), 0);
		ossl_gmac(key, iv, aad, len, want);
		assert_memory_equal(tag, want, 16);
		rumor_auth_free(a);
	}
}

/* A rumor header + auth header + body, as an origin seals it. */
struct frame {
	uint8_t b[RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_LEN + 200];
	size_t body_len;
};

static void mk_frame(struct rumor_auth *a, struct frame *f, uint64_t ctr, uint16_t dst)
{
	struct rumor_wire_hdr h = { .type = RUMOR_WIRE_GOSSIP, .flags = RUMOR_WIRE_F_AUTH,
				    .rounds_left = 3, .cluster_id = 7001, .origin = 2,
				    .sender = 2, .first_seq = 41, .event_count = 1,
				    .clock_count = 1 };
	uint8_t *ah = f->b + RUMOR_WIRE_HDR_LEN, *body = ah + RUMOR_WIRE_AUTH_LEN;

	memset(f, 0, sizeof(*f));
	f->body_len = 200;
	rumor_wire_put_hdr(f->b, &h);
	for (unsigned i = 0; i < f->body_len; i++)
		body[i] = (uint8_t)(i * 7);
	ah[RUMOR_WIRE_AUTH_KEY] = 1;
	ah[RUMOR_WIRE_AUTH_ALG] = RUMOR_AUTH_ALG_GMAC256;
	rumor_be_st16(ah + RUMOR_WIRE_AUTH_DST, dst);
	rumor_be_st64(ah + RUMOR_WIRE_AUTH_CTR, ctr);
	rumor_be_st64(ah + RUMOR_WIRE_AUTH_NONCE, 5);
	assert_int_equal(rumor_auth_body_tag(a, 1, 5, f->b, body, f->body_len,
					     ah + RUMOR_WIRE_AUTH_BODYTAG), 0);
	assert_int_equal(rumor_auth_hop_seal(a, f->b), 0);
}

static int check_all(struct rumor_auth *a, const struct frame *f)
{
	const uint8_t *ah = f->b + RUMOR_WIRE_HDR_LEN;
	int rc = rumor_auth_hop_verify(a, f->b);

	if (rc)
		return rc;
	return rumor_auth_body_verify(a, ah[RUMOR_WIRE_AUTH_KEY],
				      rumor_be_ld64(ah + RUMOR_WIRE_AUTH_NONCE), f->b,
				      ah + RUMOR_WIRE_AUTH_LEN, f->body_len,
				      ah + RUMOR_WIRE_AUTH_BODYTAG);
}

static void auth_every_bit_flip(void **state)
{
	struct rumor_auth *a = mk();
	struct frame f, g;
	size_t n;

	(void)state;
	mk_frame(a, &f, CTR(1000, 1), 3);
	assert_int_equal(check_all(a, &f), RUMOR_AUTH_OK);
	n = RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_LEN + f.body_len;
	for (size_t i = 0; i < n * 8; i++) {
		int rc;

		g = f;
		g.b[i / 8] ^= (uint8_t)(1u << (i % 8));
		rc = check_all(a, &g);
		if (i / 8 >= RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_LEN)
			assert_int_equal(rc, RUMOR_AUTH_BAD_BODY);
		else if (i / 8 == RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_KEY && g.b[i / 8] != 7)
			assert_int_equal(rc, RUMOR_AUTH_NO_KEY); /* only ids 1 and 7 exist */
		else
			assert_int_equal(rc, RUMOR_AUTH_BAD_TAG);
	}
	rumor_auth_free(a);
}

static void auth_relay_resign(void **state)
{
	/* A relay patches rounds, sender and type and re-seals only the hop: the origin's body
	 * tag stays valid, and the old hop tag does not cover the patched header. */
	struct rumor_auth *a = mk();
	struct frame f, g;

	(void)state;
	mk_frame(a, &f, CTR(1000, 1), 3);
	g = f;
	rumor_wire_patch_hop(g.b, 2, 3);
	g.b[5] = RUMOR_WIRE_PULL_RESP;
	assert_int_equal(check_all(a, &g), RUMOR_AUTH_BAD_TAG);
	rumor_be_st64(g.b + RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_CTR, CTR(1000, 9));
	assert_int_equal(rumor_auth_hop_seal(a, g.b), 0);
	assert_int_equal(check_all(a, &g), RUMOR_AUTH_OK);
	/* another key id with the same tags: unknown key, then a wrong tag under key 7 */
	g.b[RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_KEY] = 4;
	assert_int_equal(check_all(a, &g), RUMOR_AUTH_NO_KEY);
	g.b[RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_KEY] = 7;
	assert_int_equal(check_all(a, &g), RUMOR_AUTH_BAD_TAG);
	rumor_auth_free(a);
}

/* A clone (a dataplane worker's keyring) has the keys and the key in use, seals what the
 * original verifies and lives on after the original is freed. */
static void auth_clone(void **state)
{
	struct rumor_auth *a = mk(), *b;
	struct frame f;

	(void)state;
	rumor_auth_use(a, 7);
	b = rumor_auth_clone(a);
	assert_non_null(b);
	assert_int_equal(rumor_auth_current(b), 7);
	assert_true(rumor_auth_has_key(b, 1) && rumor_auth_has_key(b, 7));
	assert_false(rumor_auth_has_key(b, 2));
	mk_frame(b, &f, CTR(1000, 1), 7);
	assert_int_equal(check_all(a, &f), RUMOR_AUTH_OK);
	rumor_auth_free(a);
	assert_int_equal(check_all(b, &f), RUMOR_AUTH_OK);
	rumor_auth_free(b);
}

static void auth_window_in_order_and_reordered(void **state)
{
	static struct rumor_auth_window w;
	uint64_t base = CTR(1000, 0);

	(void)state;
	rumor_auth_window_init(&w, base);
	for (uint64_t c = base + 1; c <= base + 20000; c++) {
		assert_int_equal(rumor_auth_window_check(&w, c), RUMOR_AUTH_OK);
		rumor_auth_window_accept(&w, c);
		assert_int_equal(rumor_auth_window_check(&w, c), RUMOR_AUTH_REPLAY);
	}
	/* reordered inside the window: every other one skipped, then delivered late */
	base += 30000;
	for (uint64_t c = base; c < base + 8192; c += 2)
		rumor_auth_window_accept(&w, c);
	for (uint64_t c = base + 1; c < base + 8192; c += 2) {
		assert_int_equal(rumor_auth_window_check(&w, c), RUMOR_AUTH_OK);
		rumor_auth_window_accept(&w, c);
	}
	for (uint64_t c = base; c < base + 8192; c++)
		assert_int_equal(rumor_auth_window_check(&w, c), RUMOR_AUTH_REPLAY);
}

static void auth_window_edges(void **state)
{
	static struct rumor_auth_window w;
	uint64_t top = CTR(1000, 50000);

	(void)state;
	rumor_auth_window_init(&w, CTR(1000, 0));
	assert_int_equal(rumor_auth_window_check(&w, CTR(999, 7)),
			 RUMOR_AUTH_OLD_EPOCH);
	rumor_auth_window_accept(&w, top);
	/* the window is at least 8,192: exactly its size back is the oldest accepted */
	assert_true(RUMOR_AUTH_WINDOW >= 8192);
	assert_int_equal(rumor_auth_window_check(&w, top - RUMOR_AUTH_WINDOW + 1), RUMOR_AUTH_OK);
	assert_int_equal(rumor_auth_window_check(&w, top - RUMOR_AUTH_WINDOW), RUMOR_AUTH_REPLAY);
	assert_int_equal(rumor_auth_window_check(&w, top - 8192), RUMOR_AUTH_OK);
	assert_int_equal(rumor_auth_window_check(&w, top), RUMOR_AUTH_REPLAY); /* duplicate */
	rumor_auth_window_accept(&w, top - 100);
	assert_int_equal(rumor_auth_window_check(&w, top - 100), RUMOR_AUTH_REPLAY);
	/* far ahead: the window moves, everything below it is now too old, nothing stale is
	 * left set in the reused words */
	rumor_auth_window_accept(&w, top + 1000000);
	assert_int_equal(rumor_auth_window_check(&w, top), RUMOR_AUTH_REPLAY);
	assert_int_equal(rumor_auth_window_check(&w, top - 100), RUMOR_AUTH_REPLAY);
	for (uint64_t c = top + 1000000 - RUMOR_AUTH_WINDOW + 1; c < top + 1000000; c++)
		assert_int_equal(rumor_auth_window_check(&w, c), RUMOR_AUTH_OK);
	/* a move of less than the ring clears only the words passed */
	rumor_auth_window_accept(&w, top + 1000000 - 64);
	rumor_auth_window_accept(&w, top + 1000000 + 130);
	assert_int_equal(rumor_auth_window_check(&w, top + 1000000 - 64), RUMOR_AUTH_REPLAY);
	assert_int_equal(rumor_auth_window_check(&w, top + 1000000 + 64), RUMOR_AUTH_OK);
	/* 0 and the 2^64 wrap are refused; one below is fine once */
	assert_int_equal(rumor_auth_window_check(&w, 0), RUMOR_AUTH_REPLAY);
	assert_int_equal(rumor_auth_window_check(&w, UINT64_MAX), RUMOR_AUTH_REPLAY);
	assert_int_equal(rumor_auth_window_check(&w, UINT64_MAX - 1), RUMOR_AUTH_OK);
	rumor_auth_window_accept(&w, UINT64_MAX - 1);
	assert_int_equal(rumor_auth_window_check(&w, UINT64_MAX - 1), RUMOR_AUTH_REPLAY);
	assert_int_equal(rumor_auth_window_check(&w, UINT64_MAX), RUMOR_AUTH_REPLAY);
	assert_int_equal(rumor_auth_window_check(&w, top + 1000000 + 130), RUMOR_AUTH_REPLAY);
}

static void auth_window_random_vs_model(void **state)
{
	/* against a plain set of every counter seen; w2 goes through the relay's one-pass
	 * rumor_auth_window_take (with jumps over whole words and the ring now and then) */
	static struct rumor_auth_window w, w2;
	static uint8_t seen[1 << 20];
	struct test_rng r;
	uint64_t top = 0;

	(void)state;
	test_rng_seed(&r, 6479);
	rumor_auth_window_init(&w, 1);
	rumor_auth_window_init(&w2, 1);
	assert_int_equal(rumor_auth_window_take(&w2, 0), RUMOR_AUTH_REPLAY);
	assert_int_equal(rumor_auth_window_take(&w2, UINT64_MAX), RUMOR_AUTH_REPLAY);
	for (int it = 0; it < 400000; it++) {
		uint64_t c = 1 + (top > 9000 ? top - 9000 : 0) + test_rng_below(&r, 9500);
		int want, got;

		if (c >= sizeof(seen))
			break;
		want = seen[c] || (top >= RUMOR_AUTH_WINDOW && c <= top - RUMOR_AUTH_WINDOW)
			       ? RUMOR_AUTH_REPLAY
			       : RUMOR_AUTH_OK;
		got = rumor_auth_window_check(&w, c);
		assert_int_equal(got, want);
		assert_int_equal(rumor_auth_window_take(&w2, c), want);
		assert_int_equal(rumor_auth_window_take(&w2, c), RUMOR_AUTH_REPLAY);
		if (got == RUMOR_AUTH_OK) {
			rumor_auth_window_accept(&w, c);
			seen[c] = 1;
			if (c > top)
				top = c;
		}
	}
	assert_int_equal(memcmp(&w, &w2, sizeof(w)), 0);
	/* a floor, and jumps of a word, of several and past the whole ring */
	rumor_auth_window_init(&w2, 5000);
	assert_int_equal(rumor_auth_window_take(&w2, 4999), RUMOR_AUTH_OLD_EPOCH);
	for (uint64_t c = 5000; c < 5000 + 3 * RUMOR_AUTH_WINDOW; c += 1 + c % 97) {
		assert_int_equal(rumor_auth_window_take(&w2, c), RUMOR_AUTH_OK);
		assert_int_equal(rumor_auth_window_check(&w2, c), RUMOR_AUTH_REPLAY);
		assert_int_equal(rumor_auth_window_check(&w2, c + 64), RUMOR_AUTH_OK);
		assert_int_equal(rumor_auth_window_check(&w2, c + 1), RUMOR_AUTH_OK);
	}
	top = w2.top + 5 * RUMOR_AUTH_WINDOW;
	assert_int_equal(rumor_auth_window_take(&w2, top), RUMOR_AUTH_OK);
	assert_int_equal(rumor_auth_window_take(&w2, top - 1), RUMOR_AUTH_OK);
	assert_int_equal(rumor_auth_window_take(&w2, top - RUMOR_AUTH_WINDOW + 1), RUMOR_AUTH_OK);
	assert_int_equal(rumor_auth_window_take(&w2, top - RUMOR_AUTH_WINDOW), RUMOR_AUTH_REPLAY);
	assert_int_equal(rumor_auth_window_take(&w2, top - 1), RUMOR_AUTH_REPLAY);
}

static void auth_keyring_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "", "ring:0: no keys" },
		{ "# only\n\n", "ring:0: no keys" },
		{ "1 00\n", "ring:1: key 1: want 64 hex digits" },
		{ "\n\n0 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
		  "ring:3: key id must be 1..255" },
		{ "256 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
		  "ring:1: key id must be 1..255" },
		{ "1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
		  "1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
		  "ring:2: key id 1 given twice" },
		{ "2 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fff\n",
		  "ring:1: key 2: trailing text" },
		{ "2 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g\n",
		  "ring:1: key 2: want 64 hex digits" },
		{ "x 00\n", "ring:1: want" },
	};
	char err[160];

	(void)state;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rumor_auth *a = rumor_auth_new();

		err[0] = 0;
		assert_int_equal(rumor_auth_keyring_parse(a, bad[i].text, "ring", err, sizeof(err)),
				 -EINVAL);
		if (strncmp(err, bad[i].want, strlen(bad[i].want)) != 0)
			fail_msg("case %u: got '%s', want '%s...'", i, err, bad[i].want);
		rumor_auth_free(a);
	}
	{
		struct rumor_auth *a = rumor_auth_new();

		assert_int_equal(rumor_auth_keyring_load(a, "/nonexistent/keys", err, sizeof(err)),
				 -ENOENT);
		assert_int_equal(rumor_auth_use(a, 1), -ENOKEY);
		rumor_auth_free(a);
	}
	assert_string_equal(rumor_auth_reason_name(RUMOR_AUTH_REPLAY), "auth_replay");
	assert_null(rumor_auth_reason_name(0));
	assert_null(rumor_auth_reason_name(RUMOR_AUTH_NREASONS + 1));
}

static void auth_config_section(void **state)
{
	static const char *const base = "[cluster]\nid = 1\n[node.1]\nmac = 02:00:00:00:00:01\n"
					"ip = 10.0.0.1\ncontrol = 127.0.0.1:7000\n";
	static struct rumor_config cfg;
	char text[512], err[256];

	(void)state;
	snprintf(text, sizeof(text), "%s[auth]\nkeyring = /etc/rumor/gossip.keys\nuse = 7\n", base);
	assert_int_equal(rumor_config_parse(text, "c", &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.auth.keyring, "/etc/rumor/gossip.keys");
	assert_int_equal(cfg.auth.use, 7);
	assert_false(cfg.auth.insecure);
	snprintf(text, sizeof(text), "%s[auth]\ninsecure = true\n", base);
	assert_int_equal(rumor_config_parse(text, "c", &cfg, err, sizeof(err)), 0);
	assert_true(cfg.auth.insecure);
	assert_string_equal(cfg.auth.keyring, "");
	snprintf(text, sizeof(text), "%s[auth]\nkeyring = /k\ninsecure = yes\n", base);
	assert_int_equal(rumor_config_parse(text, "c", &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "[auth] insecure"));
	snprintf(text, sizeof(text), "%s[auth]\nuse = 3\n", base);
	assert_int_equal(rumor_config_parse(text, "c", &cfg, err, sizeof(err)), -EINVAL);
	snprintf(text, sizeof(text), "%s[auth]\nuse = 0\n", base);
	assert_int_equal(rumor_config_parse(text, "c", &cfg, err, sizeof(err)), -EINVAL);
	snprintf(text, sizeof(text), "%s[auth]\ninsecure = maybe\n", base);
	assert_int_equal(rumor_config_parse(text, "c", &cfg, err, sizeof(err)), -EINVAL);
	/* encrypt: off by default, true/false, and only with a keyring (the line at fault) */
	snprintf(text, sizeof(text), "%s[auth]\nkeyring = /k\n", base);
	assert_int_equal(rumor_config_parse(text, "c", &cfg, err, sizeof(err)), 0);
	assert_false(cfg.auth.encrypt);
	snprintf(text, sizeof(text), "%s[auth]\nkeyring = /k\nencrypt = true\n", base);
	assert_int_equal(rumor_config_parse(text, "c", &cfg, err, sizeof(err)), 0);
	assert_true(cfg.auth.encrypt);
	snprintf(text, sizeof(text), "%s[auth]\nkeyring = /k\nencrypt = on\n", base);
	assert_int_equal(rumor_config_parse(text, "c", &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":9:"));
	assert_non_null(strstr(err, "[auth] encrypt"));
	snprintf(text, sizeof(text), "%s[auth]\ninsecure = true\nencrypt = true\n", base);
	assert_int_equal(rumor_config_parse(text, "c", &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":9:"));
	assert_non_null(strstr(err, "no keyring"));
}

static void auth_wire_decode_locates_header(void **state)
{
	struct rumor_auth *a = mk();
	uint8_t buf[RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_LEN + 64], body[64];
	static struct rumor_wire_frame fr;
	struct rumor_wire_body b;
	struct rumor_vc vc;
	struct rumor_event_id id;
	struct rumor_wire_hdr h = { .type = RUMOR_WIRE_GOSSIP, .flags = RUMOR_WIRE_F_AUTH,
				    .cluster_id = 5, .origin = 2, .sender = 3, .first_seq = 1,
				    .event_count = 1, .clock_count = 1 };

	(void)state;
	rumor_vc_init(&vc);
	rumor_vc_set(&vc, 2, 1);
	assert_int_equal(rumor_wire_body_start(&b, body, sizeof(body), &vc), 0);
	rumor_event_id_compute(2, 1, "hi", 2, &id);
	assert_int_equal(rumor_wire_body_add(&b, &id, "hi", 2), 0);
	rumor_wire_put_hdr(buf, &h);
	memset(buf + RUMOR_WIRE_HDR_LEN, 0xa5, RUMOR_WIRE_AUTH_LEN);
	memcpy(buf + RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_LEN, body, b.len);
	assert_int_equal(rumor_wire_decode_rumor(buf, RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_LEN +
						      b.len, 5, RUMOR_WIRE_DEC_VERIFY_IDS, &fr), 0);
	assert_ptr_equal(fr.auth, buf + RUMOR_WIRE_HDR_LEN);
	assert_int_equal(fr.body_len, b.len);
	assert_int_equal(fr.ev[0].len, 2);
	/* flag set, auth header cut short: truncated */
	assert_int_equal(rumor_wire_decode_rumor(buf, RUMOR_WIRE_HDR_LEN + 10, 5, 0, &fr),
			 RUMOR_WIRE_ETRUNC);
	/* no flag: no auth header, the old layout */
	h.flags = 0;
	rumor_wire_put_hdr(buf, &h);
	memmove(buf + RUMOR_WIRE_HDR_LEN, body, b.len);
	assert_int_equal(rumor_wire_decode_rumor(buf, RUMOR_WIRE_HDR_LEN + b.len, 5, 0, &fr), 0);
	assert_null(fr.auth);
	rumor_auth_free(a);
}

/* The fused kernel (AVX-512 VPCLMULQDQ + AES-NI) against intel-ipsec-mb and OpenSSL over the
 * same frames: body tags for every body length across its limit (13 blocks of body) and
 * past it, hop tags, the relay API (hop check + body check, pads), and its refusals. */
static void auth_fast_matches_portable(void **state)
{
	static const uint8_t key1[32] = { 0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
					  11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
					  22, 23, 24, 25, 26, 27, 28, 29, 30, 31 };
	struct rumor_auth *fa = mk(), *pa = mk();
	uint8_t b[RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_LEN + 400], *ah = b + RUMOR_WIRE_HDR_LEN,
		*body = ah + RUMOR_WIRE_AUTH_LEN, t1[16], t2[16], want[16], iv[12],
		aad[32 + 400];
	struct rumor_auth_rx rx;
	struct rumor_auth_pads pads;
	struct test_rng r;

	(void)state;
	assert_false(rumor_auth_set_portable(pa, true));
	if (!rumor_auth_set_portable(fa, false))
		print_message("no AVX-512 VPCLMULQDQ here: both sides portable\n");
	test_rng_seed(&r, 1414);
	for (size_t len = 0; len <= 400; len++) {
		uint64_t nonce = test_rng_next(&r);

		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (uint8_t)test_rng_next(&r);
		b[5] = RUMOR_WIRE_GOSSIP;
		ah[RUMOR_WIRE_AUTH_KEY] = 1;
		ah[RUMOR_WIRE_AUTH_ALG] = RUMOR_AUTH_ALG_GMAC256;
		rumor_be_st64(ah + RUMOR_WIRE_AUTH_NONCE, nonce);
		assert_int_equal(rumor_auth_body_tag(fa, 1, nonce, b, body, len, t1), 0);
		assert_int_equal(rumor_auth_body_tag(pa, 1, nonce, b, body, len, t2), 0);
		memset(aad, 0, 32);
		memcpy(aad, b + 8, 6);
		memcpy(aad + 6, b + 16, 12);
		memcpy(aad + 32, body, len);
		iv[0] = 'B';
		iv[1] = 1;
		memcpy(iv + 2, b + 12, 2);
		rumor_be_st64(iv + 4, nonce);
		ossl_gmac(key1, iv, aad, 32 + len, want);
		assert_memory_equal(t1, want, 16);
		assert_memory_equal(t2, want, 16);
		memcpy(ah + RUMOR_WIRE_AUTH_BODYTAG, want, 16);
		/* hop tag: OpenSSL over the 64 sealed bytes */
		assert_int_equal(rumor_auth_hop_seal(fa, b), 0);
		iv[0] = 'H';
		memcpy(iv + 2, b + 14, 2);
		memcpy(iv + 4, ah + RUMOR_WIRE_AUTH_CTR, 8);
		ossl_gmac(key1, iv, b, RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_SEALED, want);
		assert_memory_equal(ah + RUMOR_WIRE_AUTH_HOPTAG, want, 16);
		assert_int_equal(rumor_auth_hop_verify(pa, b), RUMOR_AUTH_OK);
		/* relay API, both kernels: accepts the frame, refuses one flipped bit anywhere */
		for (int k = 0; k < 2; k++) {
			struct rumor_auth *a = k ? pa : fa;
			size_t nb = 8 * (RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_LEN + len);
			size_t bit = (size_t)test_rng_below(&r, nb);

			assert_int_equal(rumor_auth_hop_check(a, b, &rx), RUMOR_AUTH_OK);
			assert_int_equal(rumor_auth_body_check(a, &rx, b, body, len), RUMOR_AUTH_OK);
			b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			if (bit / 8 >= RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_LEN) {
				assert_int_equal(rumor_auth_hop_check(a, b, &rx), RUMOR_AUTH_OK);
				assert_int_equal(rumor_auth_body_check(a, &rx, b, body, len),
						 RUMOR_AUTH_BAD_BODY);
			} else if (bit / 8 >= RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_BODYTAG &&
				   bit / 8 < RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_HOPTAG) {
				/* the body tag is under the hop tag too */
				assert_int_equal(rumor_auth_hop_check(a, b, &rx), RUMOR_AUTH_BAD_TAG);
			} else {
				assert_int_not_equal(rumor_auth_hop_check(a, b, &rx), RUMOR_AUTH_OK);
			}
			b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
	}
	/* a body check needs a passed hop check of a frame with the same key */
	memset(&rx, 0, sizeof(rx));
	assert_int_equal(rumor_auth_body_check(fa, &rx, b, body, 10), RUMOR_AUTH_NO_KEY);
	/* pads: 8 seals with counters ctr0.., each verifies; then refused until refilled */
	assert_int_equal(rumor_auth_pads_fill(fa, &pads, 9, 2, 77), RUMOR_AUTH_NO_KEY);
	rumor_be_st16(b + 14, 2);
	assert_int_equal(rumor_auth_pads_fill(fa, &pads, 1, 2, CTR(5, 100)), 0);
	for (unsigned i = 0; i < RUMOR_AUTH_PADS; i++) {
		b[RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_DST] ^= (uint8_t)i;
		assert_int_equal(rumor_auth_hop_seal_pad(fa, b, &pads), 0);
		assert_int_equal(rumor_be_ld64(ah + RUMOR_WIRE_AUTH_CTR), CTR(5, 100) + i);
		assert_int_equal(rumor_auth_hop_verify(pa, b), RUMOR_AUTH_OK);
		memcpy(t1, ah + RUMOR_WIRE_AUTH_HOPTAG, 16);
		assert_int_equal(rumor_auth_hop_seal(pa, b), 0);
		assert_memory_equal(t1, ah + RUMOR_WIRE_AUTH_HOPTAG, 16);
	}
	assert_int_equal(rumor_auth_hop_seal_pad(fa, b, &pads), -EINVAL);
	assert_int_equal(rumor_auth_pads_fill(fa, &pads, 1, 3, CTR(5, 200)), 0);
	assert_int_equal(rumor_auth_hop_seal_pad(fa, b, &pads), -EINVAL);   /* sender 2 */
	assert_int_equal(rumor_auth_pads_fill(fa, &pads, 7, 2, CTR(5, 200)), 0);
	assert_int_equal(rumor_auth_hop_seal_pad(fa, b, &pads), -EINVAL);   /* key 1 */
	ah[RUMOR_WIRE_AUTH_KEY] = 7;
	assert_int_equal(rumor_auth_hop_seal_pad(fa, b, &pads), 0);
	assert_int_equal(rumor_auth_hop_verify(pa, b), RUMOR_AUTH_OK);
	/* a TX burst sealed at once: in order while the pads last and match the key; each
	 * verifies (also by the burst check, which finds one changed bit) */
	{
		uint8_t fb[12][RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_LEN], *pr[12];
		const uint8_t *cr[12];
		struct rumor_auth_rx brx[12];
		int brc[12];

		for (unsigned i = 0; i < 12; i++) {
			memcpy(fb[i], b, sizeof(fb[i]));
			fb[i][RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_KEY] = i == 10 ? 7 : 1;
			fb[i][RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_DST] = (uint8_t)i;
			pr[i] = fb[i];
			cr[i] = fb[i];
		}
		for (int k = 0; k < 2; k++) {
			struct rumor_auth *a = k ? pa : fa;

			assert_int_equal(rumor_auth_pads_fill(a, &pads, 1, 2, CTR(6, 1)), 0);
			assert_int_equal(rumor_auth_hop_seal_pads(a, pr, 12, &pads), 8);
			assert_int_equal(rumor_auth_pads_fill(a, &pads, 1, 2, CTR(6, 9)), 0);
			assert_int_equal(rumor_auth_hop_seal_pads(a, pr + 8, 4, &pads), 2);
			for (unsigned i = 0; i < 10; i++) {
				assert_int_equal(rumor_be_ld64(fb[i] + RUMOR_WIRE_HDR_LEN +
							       RUMOR_WIRE_AUTH_CTR),
						 CTR(6, 1) + i);
				assert_int_equal(rumor_auth_hop_verify(pa, fb[i]), RUMOR_AUTH_OK);
			}
			fb[4][RUMOR_WIRE_HDR_LEN + 7] ^= 4;
			cr[11] = NULL;
			rumor_auth_hop_check_burst(k ? fa : pa, cr, 12, brx, brc);
			for (unsigned i = 0; i < 12; i++)
				assert_int_equal(brc[i], i == 4 || i == 10 ? RUMOR_AUTH_BAD_TAG :
							 i == 11 ? RUMOR_AUTH_NO_KEY : RUMOR_AUTH_OK);
			assert_int_equal(brx[4].key, 0);
			assert_int_equal(brx[3].key, 1);
			fb[4][RUMOR_WIRE_HDR_LEN + 7] ^= 4;
			cr[11] = fb[11];
		}
	}
	rumor_auth_free(fa);
	rumor_auth_free(pa);
}

/* AES-256-GCM bodies: OpenSSL decrypts what we seal (IV 'E', AAD the header fields), open
 * round-trips in place and apart, and refuses (zeros out) any flipped bit of ciphertext, tag,
 * header field under the AAD, nonce or key. */
static void ossl_gcm_dec(const uint8_t key[32], const uint8_t iv[12], const uint8_t *aad,
			 const uint8_t *ct, size_t len, const uint8_t tag[16], uint8_t *pt)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int outl = 0;

	assert_non_null(c);
	assert_int_equal(EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv), 1);
	assert_int_equal(EVP_DecryptUpdate(c, NULL, &outl, aad, 32), 1);
	if (len)
		assert_int_equal(EVP_DecryptUpdate(c, pt, &outl, ct, (int)len), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)tag), 1);
	assert_int_equal(EVP_DecryptFinal_ex(c, pt + outl, &outl), 1);
	EVP_CIPHER_CTX_free(c);
}

static void auth_body_encrypt_round_trip(void **state)
{
	static const uint8_t key1[32] = { 0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
					  11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
					  22, 23, 24, 25, 26, 27, 28, 29, 30, 31 };
	struct rumor_auth *a = mk();
	uint8_t hdr[RUMOR_WIRE_HDR_LEN], pt[1500], ct[1500], back[1500], tag[16], iv[12],
		aad[32];
	struct test_rng r;

	(void)state;
	test_rng_seed(&r, 4242);
	for (size_t len = 0; len <= 1400; len += len < 80 ? 1 : 97) {
		uint64_t nonce = test_rng_next(&r);

		for (size_t i = 0; i < sizeof(hdr); i++)
			hdr[i] = (uint8_t)test_rng_next(&r);
		for (size_t i = 0; i < len; i++)
			pt[i] = (uint8_t)test_rng_next(&r);
		assert_int_equal(rumor_auth_body_seal_enc(a, 1, nonce, hdr, pt, ct, len, tag), 0);
		if (len >= 16)
			assert_memory_not_equal(ct, pt, len);
		/* OpenSSL opens it */
		iv[0] = 'E';
		iv[1] = 1;
		memcpy(iv + 2, hdr + 12, 2);
		rumor_be_st64(iv + 4, nonce);
		memset(aad, 0, 32);
		memcpy(aad, hdr + 8, 6);
		memcpy(aad + 6, hdr + 16, 12);
		ossl_gcm_dec(key1, iv, aad, ct, len, tag, back);
		assert_memory_equal(back, pt, len);
		/* ours, apart and in place */
		memset(back, 0xee, sizeof(back));
		assert_int_equal(rumor_auth_body_open(a, 1, nonce, hdr, ct, back, len, tag), 0);
		assert_memory_equal(back, pt, len);
		memcpy(back, ct, len);
		assert_int_equal(rumor_auth_body_open(a, 1, nonce, hdr, back, back, len, tag), 0);
		assert_memory_equal(back, pt, len);
		/* tamper: one bit of ciphertext, tag, a header field under the AAD; other nonce,
		 * other key, the GMAC domain's tag */
		for (int t = 0; t < 6; t++) {
			uint8_t c2[1500], t2[16], h2[RUMOR_WIRE_HDR_LEN];
			uint64_t n2 = nonce;
			uint8_t k2 = 1;

			memcpy(c2, ct, len);
			memcpy(t2, tag, 16);
			memcpy(h2, hdr, sizeof(h2));
			if (t == 0 && len)
				c2[test_rng_below(&r, len)] ^= (uint8_t)(1u << test_rng_below(&r, 8));
			else if (t == 1)
				t2[test_rng_below(&r, 16)] ^= (uint8_t)(1u << test_rng_below(&r, 8));
			else if (t == 2)
				h2[16 + test_rng_below(&r, 12)] ^= 1;   /* first_seq, counts */
			else if (t == 3)
				n2 ^= 1;
			else if (t == 4)
				k2 = 7;
			else
				assert_int_equal(rumor_auth_body_tag(a, 1, nonce, hdr, pt, len, t2), 0);
			if (t == 0 && !len)
				continue;
			memset(back, 0xee, sizeof(back));
			assert_int_equal(rumor_auth_body_open(a, k2, n2, h2, c2, back, len, t2),
					 RUMOR_AUTH_BAD_BODY);
			for (size_t i = 0; i < len; i++)
				assert_int_equal(back[i], 0);
		}
		/* the fields relays patch (type, flags, rounds, sender) are not under it */
		{
			uint8_t h2[RUMOR_WIRE_HDR_LEN];

			memcpy(h2, hdr, sizeof(h2));
			h2[5] ^= 2;
			h2[6] ^= 0x40;
			h2[7] ^= 1;
			h2[14] ^= 1;
			memset(back, 0xee, sizeof(back));
			assert_int_equal(rumor_auth_body_open(a, 1, nonce, h2, ct, back, len, tag),
					 RUMOR_AUTH_OK);
			assert_memory_equal(back, pt, len);
		}
	}
	assert_int_equal(rumor_auth_body_seal_enc(a, 9, 1, hdr, pt, ct, 10, tag),
			 RUMOR_AUTH_NO_KEY);
	assert_int_equal(rumor_auth_body_open(a, 9, 1, hdr, ct, back, 10, tag), RUMOR_AUTH_NO_KEY);
	rumor_auth_free(a);
}

/* rumor_auth_pads_fill_n: the TX burst's pads in one pass. For each count the pads made
 * (rounded up to 8, at most 32) seal counters ctr0.. in order, each tag the same as the
 * portable (intel-ipsec-mb) seal and verified by it, then refused until refilled; the
 * dataplane's "none" mark (next = RUMOR_AUTH_PADS_MAX) leaves nothing usable after a fill
 * of 32 either. rumor_auth_window_take, which now steps into the next word inline, agrees
 * with check + accept on a busy sender's counters (steps of 1..70 across word edges). */
static void auth_pads_fill_n(void **state)
{
	static const unsigned counts[] = { 0, 1, 8, 9, 16, 17, 24, 25, 31, 32, 33, 200 };
	struct rumor_auth *fa = mk(), *pa = mk();
	uint8_t b[RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_LEN], *ah = b + RUMOR_WIRE_HDR_LEN;
	uint8_t fb[40][RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_LEN], *pr[40], t[16];
	struct rumor_auth_pads pads;
	static struct rumor_auth_window w1, w2;
	struct test_rng r;

	(void)state;
	assert_false(rumor_auth_set_portable(pa, true));
	rumor_auth_set_portable(fa, false);
	test_rng_seed(&r, 77);
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)test_rng_next(&r);
	b[5] = RUMOR_WIRE_GOSSIP;
	rumor_be_st16(b + 14, 3);
	ah[RUMOR_WIRE_AUTH_KEY] = 1;
	ah[RUMOR_WIRE_AUTH_ALG] = RUMOR_AUTH_ALG_GMAC256;
	for (unsigned c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		unsigned want = counts[c] <= 8 ? 8 : counts[c] >= 32 ? 32 : (counts[c] + 7) & ~7u;
		uint64_t ctr0 = CTR(9, 1000 * c + 1);

		assert_int_equal(rumor_auth_pads_count(counts[c]), want);
		for (int k = 0; k < 2; k++) {
			struct rumor_auth *a = k ? pa : fa;

			assert_int_equal(rumor_auth_pads_fill_n(a, &pads, 1, 3, ctr0, counts[c]), 0);
			assert_int_equal(pads.n, want);
			/* one by one for the fast side, the burst call for the portable one */
			for (unsigned i = 0; i < 40; i++) {
				memcpy(fb[i], b, sizeof(b));
				fb[i][RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_DST] = (uint8_t)i;
				pr[i] = fb[i];
			}
			if (k == 0) {
				for (unsigned i = 0; i < want; i++)
					assert_int_equal(rumor_auth_hop_seal_pad(a, fb[i], &pads), 0);
				assert_int_equal(rumor_auth_hop_seal_pad(a, fb[want], &pads), -EINVAL);
			} else {
				assert_int_equal(rumor_auth_hop_seal_pads(a, pr, 40, &pads), want);
			}
			assert_int_equal(rumor_auth_hop_seal_pads(a, pr + want, 1, &pads), 0);
			for (unsigned i = 0; i < want; i++) {
				uint8_t *fah = fb[i] + RUMOR_WIRE_HDR_LEN;

				assert_int_equal(rumor_be_ld64(fah + RUMOR_WIRE_AUTH_CTR), ctr0 + i);
				assert_int_equal(rumor_auth_hop_verify(pa, fb[i]), RUMOR_AUTH_OK);
				assert_int_equal(rumor_auth_hop_verify(fa, fb[i]), RUMOR_AUTH_OK);
				memcpy(t, fah + RUMOR_WIRE_AUTH_HOPTAG, 16);
				assert_int_equal(rumor_auth_hop_seal(pa, fb[i]), 0);
				assert_memory_equal(t, fah + RUMOR_WIRE_AUTH_HOPTAG, 16);
			}
		}
	}
	/* no key: nothing usable */
	assert_int_equal(rumor_auth_pads_fill_n(fa, &pads, 9, 3, 5, 32), RUMOR_AUTH_NO_KEY);
	assert_int_equal(rumor_auth_hop_seal_pad(fa, b, &pads), -EINVAL);
	assert_int_equal(rumor_auth_pads_fill_n(fa, &pads, 1, 3, CTR(9, 50000), 32), 0);
	pads.next = RUMOR_AUTH_PADS_MAX; /* what dp_keyring / dp_node set for "none" */
	assert_int_equal(rumor_auth_hop_seal_pad(fa, b, &pads), -EINVAL);
	assert_int_equal(rumor_auth_hop_seal_pads(fa, pr, 1, &pads), 0);
	/* window_take against check + accept */
	rumor_auth_window_init(&w1, CTR(9, 0));
	rumor_auth_window_init(&w2, CTR(9, 0));
	{
		uint64_t c = CTR(9, 10);

		for (unsigned i = 0; i < 20000; i++) {
			uint64_t x = c;
			int want;

			/* mostly rising by 1..70, sometimes a replay or an older counter */
			if (test_rng_next(&r) % 8 == 0)
				x = c - test_rng_next(&r) % 300;
			else
				c += 1 + test_rng_next(&r) % 70, x = c;
			want = rumor_auth_window_check(&w2, x);
			if (want == RUMOR_AUTH_OK)
				rumor_auth_window_accept(&w2, x);
			assert_int_equal(rumor_auth_window_take(&w1, x), want);
			assert_true(w1.top == w2.top);
			assert_memory_equal(w1.bits, w2.bits, sizeof(w1.bits));
		}
	}
	rumor_auth_free(fa);
	rumor_auth_free(pa);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(auth_gmac_kat),
	cmocka_unit_test(auth_fast_matches_portable),
	cmocka_unit_test(auth_body_encrypt_round_trip),
	cmocka_unit_test(auth_every_bit_flip),
	cmocka_unit_test(auth_relay_resign),
	cmocka_unit_test(auth_clone),
	cmocka_unit_test(auth_window_in_order_and_reordered),
	cmocka_unit_test(auth_window_edges),
	cmocka_unit_test(auth_window_random_vs_model),
	cmocka_unit_test(auth_keyring_errors),
	cmocka_unit_test(auth_config_section),
	cmocka_unit_test(auth_wire_decode_locates_header),
	cmocka_unit_test(auth_pads_fill_n),
};

TEST_MAIN("auth", tests)
