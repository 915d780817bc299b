/* Gossip frame authentication: keyring, AES-256-GMAC body/hop tags through intel-ipsec-mb's
 * direct GMAC API (AES-NI/VAES + PCLMULQDQ kernels, picked by bench/micro/bench_auth), and
 * the RFC 6479-style anti-replay window. */
#include "rumor_auth.h"
#include "rumor_be.h"
#include "rumor_wire.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <intel-ipsec-mb.h>

struct rumor_auth {
	IMB_MGR *mgr;
	uint8_t use;
	struct gcm_key_data *key[256];   /* NULL: no such key id */
};

static const char *const reason_names[RUMOR_AUTH_NREASONS] = {
	"auth_no_key", "auth_bad_tag", "auth_replay", "auth_old_epoch", "auth_bad_body",
};

const char *rumor_auth_reason_name(int reason)
{
	return reason >= 1 && reason <= RUMOR_AUTH_NREASONS ? reason_names[reason - 1] : NULL;
}

struct rumor_auth *rumor_auth_new(void)
{
	struct rumor_auth *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->mgr = alloc_mb_mgr(0);
	if (a->mgr == NULL) {
		free(a);
		return NULL;
	}
	init_mb_mgr_auto(a->mgr, NULL);
	/* without AES-NI the library falls back to a slow emulation: refuse instead */
	if (imb_get_errno(a->mgr) != 0 || !(a->mgr->features & IMB_FEATURE_AESNI) ||
	    !(a->mgr->features & IMB_FEATURE_PCLMULQDQ)) {
		rumor_auth_free(a);
		return NULL;
	}
	return a;
}

void rumor_auth_free(struct rumor_auth *a)
{
	if (a == NULL)
		return;
	for (unsigned i = 0; i < 256; i++) {
		if (a->key[i] != NULL) {
			/* key material must not outlive us in freed memory */
			memset(a->key[i], 0, sizeof(*a->key[i]));
			free(a->key[i]);
		}
	}
	if (a->mgr != NULL)
		free_mb_mgr(a->mgr);
	free(a);
}

int rumor_auth_set_key(struct rumor_auth *a, uint8_t id, const uint8_t key[RUMOR_AUTH_KEY_LEN])
{
	struct gcm_key_data *kd;

	if (id == 0)
		return -EINVAL;
	if (a->key[id] != NULL)
		return -EEXIST;
	kd = aligned_alloc(64, (sizeof(*kd) + 63) & ~(size_t)63);
	if (kd == NULL)
		return -ENOMEM;
	IMB_AES256_GCM_PRE(a->mgr, key, kd);
	a->key[id] = kd;
	return 0;
}

int rumor_auth_copy_key(struct rumor_auth *dst, const struct rumor_auth *src, uint8_t id)
{
	struct gcm_key_data *kd;

	if (id == 0)
		return -EINVAL;
	if (src->key[id] == NULL)
		return -ENOKEY;
	if (dst->key[id] != NULL)
		return -EEXIST;
	kd = aligned_alloc(64, (sizeof(*kd) + 63) & ~(size_t)63);
	if (kd == NULL)
		return -ENOMEM;
	memcpy(kd, src->key[id], sizeof(*kd));
	dst->key[id] = kd;
	return 0;
}

bool rumor_auth_has_key(const struct rumor_auth *a, uint8_t id)
{
	return id != 0 && a->key[id] != NULL;
}

int rumor_auth_use(struct rumor_auth *a, uint8_t id)
{
	if (!rumor_auth_has_key(a, id))
		return -ENOKEY;
	a->use = id;
	return 0;
}

uint8_t rumor_auth_current(const struct rumor_auth *a)
{
	return a->use;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

#define KFAIL(...)                                                                         \
	do {                                                                               \
		if (err != NULL && errlen > 0) {                                           \
			int o_ = snprintf(err, errlen, "%s:%u: ", name, line);              \
			if (o_ >= 0 && (size_t)o_ < errlen)                                 \
				snprintf(err + o_, errlen - (size_t)o_, __VA_ARGS__);       \
		}                                                                          \
		memset(key, 0, sizeof(key));                                               \
		return -EINVAL;                                                            \
	} while (0)

int rumor_auth_keyring_parse(struct rumor_auth *a, const char *text, const char *name,
			     char *err, size_t errlen)
{
	const char *p = text;
	unsigned line = 0, nkeys = 0;
	uint8_t key[RUMOR_AUTH_KEY_LEN];

	while (*p) {
		const char *eol = strchr(p, '\n'), *q = p;
		unsigned long id;
		char *end;
		int rc;

		if (eol == NULL)
			eol = p + strlen(p);
		line++;
		while (q < eol && isspace((unsigned char)*q))
			q++;
		if (q == eol || *q == '#') {
			p = *eol ? eol + 1 : eol;
			continue;
		}
		if (!isdigit((unsigned char)*q))
			KFAIL("want \"<key id> <64 hex digits>\"");
		id = strtoul(q, &end, 10);
		if (id < 1 || id > 255 || end >= eol || !isspace((unsigned char)*end))
			KFAIL("key id must be 1..255 followed by the key");
		q = end;
		while (q < eol && isspace((unsigned char)*q))
			q++;
		for (unsigned i = 0; i < RUMOR_AUTH_KEY_LEN; i++) {
			int hi = q + 2 * i < eol ? hexval(q[2 * i]) : -1;
			int lo = q + 2 * i + 1 < eol ? hexval(q[2 * i + 1]) : -1;

			if (hi < 0 || lo < 0)
				KFAIL("key %lu: want 64 hex digits (32 bytes)", id);
			key[i] = (uint8_t)(hi << 4 | lo);
		}
		q += 2 * RUMOR_AUTH_KEY_LEN;
		while (q < eol && isspace((unsigned char)*q))
			q++;
		if (q != eol && *q != '#')
			KFAIL("key %lu: trailing text after the 64 hex digits", id);
		rc = rumor_auth_set_key(a, (uint8_t)id, key);
		if (rc == -EEXIST)
			KFAIL("key id %lu given twice", id);
		if (rc != 0)
			KFAIL("key %lu: %s", id, strerror(-rc));
		nkeys++;
		p = *eol ? eol + 1 : eol;
	}
	memset(key, 0, sizeof(key));
	if (nkeys == 0) {
		line = 0;
		KFAIL("no keys");
	}
	return (int)nkeys;
}

int rumor_auth_keyring_load(struct rumor_auth *a, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long sz;
	int rc;

	if (f == NULL) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 || sz > 1 << 20 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		snprintf(err, errlen, "%s: unreadable or over 1 MiB", path);
		return -EINVAL;
	}
	buf = malloc((size_t)sz + 1);
	if (buf == NULL) {
		fclose(f);
		return -ENOMEM;
	}
	if (fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
		fclose(f);
		free(buf);
		snprintf(err, errlen, "%s: read error", path);
		return -EIO;
	}
	fclose(f);
	buf[sz] = 0;
	rc = rumor_auth_keyring_parse(a, buf, path, err, errlen);
	memset(buf, 0, (size_t)sz);
	free(buf);
	return rc;
}

int rumor_auth_gmac(const struct rumor_auth *a, uint8_t key_id, const uint8_t iv[12],
		    const uint8_t *aad, size_t len, uint8_t tag[RUMOR_AUTH_TAG_LEN])
{
	const struct gcm_key_data *kd = a->key[key_id];
	struct gcm_context_data ctx;

	if (key_id == 0 || kd == NULL)
		return RUMOR_AUTH_NO_KEY;
	/* GCM with no plaintext is GMAC; the one-shot call is ~20 % cheaper than
	 * init/update/finalize for a hop's 64 bytes (bench_auth) */
	IMB_AES256_GCM_ENC(a->mgr, kd, &ctx, NULL, NULL, 0, iv, aad, len, tag, RUMOR_AUTH_TAG_LEN);
	return 0;
}

static int tag_differs(const uint8_t *x, const uint8_t *y)
{
	uint8_t d = 0;

	for (unsigned i = 0; i < RUMOR_AUTH_TAG_LEN; i++)
		d |= x[i] ^ y[i];
	return d != 0;
}

/* The IV: domain byte (body 'B' / hop 'H'), key id, a node id, a 64-bit counter. Distinct
 * domains keep a body nonce from ever meeting a hop nonce under one key. */
static void mk_iv(uint8_t iv[12], uint8_t dom, uint8_t key_id, const uint8_t node_be[2],
		  uint64_t ctr)
{
	iv[0] = dom;
	iv[1] = key_id;
	iv[2] = node_be[0];
	iv[3] = node_be[1];
	rumor_be_st64(iv + 4, ctr);
}

static int body_tag(const struct rumor_auth *a, uint8_t key_id, uint64_t nonce,
		    const uint8_t *hdr, const uint8_t *body, size_t body_len, uint8_t *tag)
{
	const struct gcm_key_data *kd = a->key[key_id];
	struct gcm_context_data ctx;
	uint8_t iv[12], buf[32 + 256] __attribute__((aligned(64))), *pre = buf;

	if (key_id == 0 || kd == NULL)
		return RUMOR_AUTH_NO_KEY;
	/* cluster (8..12), origin (12..14), then first_seq and the counts (16..28): everything
	 * but type, flags, rounds and sender, which relays patch */
	memset(pre, 0, 32);
	memcpy(pre, hdr + 8, 6);
	memcpy(pre + 6, hdr + 16, 12);
	mk_iv(iv, 'B', key_id, hdr + 12, nonce);
	if (body_len <= sizeof(buf) - 32) {
		/* small bodies: one call over a copy beats init/update/finalize (bench_auth) */
		if (body_len)
			memcpy(buf + 32, body, body_len);
		IMB_AES256_GCM_ENC(a->mgr, kd, &ctx, NULL, NULL, 0, iv, buf, 32 + body_len, tag,
				   RUMOR_AUTH_TAG_LEN);
		return 0;
	}
	IMB_AES256_GMAC_INIT(a->mgr, kd, &ctx, iv, 12);
	IMB_AES256_GMAC_UPDATE(a->mgr, kd, &ctx, pre, 32);
	if (body_len)
		IMB_AES256_GMAC_UPDATE(a->mgr, kd, &ctx, body, body_len);
	IMB_AES256_GMAC_FINALIZE(a->mgr, kd, &ctx, tag, RUMOR_AUTH_TAG_LEN);
	return 0;
}

int rumor_auth_body_tag(const struct rumor_auth *a, uint8_t key_id, uint64_t nonce,
			const uint8_t *hdr, const uint8_t *body, size_t body_len,
			uint8_t tag[RUMOR_AUTH_TAG_LEN])
{
	return body_tag(a, key_id, nonce, hdr, body, body_len, tag);
}

int rumor_auth_body_verify(const struct rumor_auth *a, uint8_t key_id, uint64_t nonce,
			   const uint8_t *hdr, const uint8_t *body, size_t body_len,
			   const uint8_t tag[RUMOR_AUTH_TAG_LEN])
{
	uint8_t t[RUMOR_AUTH_TAG_LEN];
	int rc = body_tag(a, key_id, nonce, hdr, body, body_len, t);

	if (rc != 0)
		return rc;
	return tag_differs(t, tag) ? RUMOR_AUTH_BAD_BODY : RUMOR_AUTH_OK;
}

static int hop_tag(const struct rumor_auth *a, const uint8_t *rumor, uint8_t *tag)
{
	const uint8_t *ah = rumor + RUMOR_WIRE_HDR_LEN;
	uint8_t key_id = ah[RUMOR_WIRE_AUTH_KEY];
	uint8_t iv[12];

	if (key_id == 0 || a->key[key_id] == NULL)
		return RUMOR_AUTH_NO_KEY;
	mk_iv(iv, 'H', key_id, rumor + 14, rumor_be_ld64(ah + RUMOR_WIRE_AUTH_CTR));
	return rumor_auth_gmac(a, key_id, iv, rumor, RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_SEALED,
			       tag);
}

int rumor_auth_hop_seal(const struct rumor_auth *a, uint8_t *rumor)
{
	return hop_tag(a, rumor, rumor + RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_HOPTAG);
}

int rumor_auth_hop_verify(const struct rumor_auth *a, const uint8_t *rumor)
{
	uint8_t t[RUMOR_AUTH_TAG_LEN];
	int rc = hop_tag(a, rumor, t);

	if (rc != 0)
		return rc;
	return tag_differs(t, rumor + RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_HOPTAG)
		       ? RUMOR_AUTH_BAD_TAG
		       : RUMOR_AUTH_OK;
}

/* ---------------------------------------------------------------- anti-replay window */

void rumor_auth_window_init(struct rumor_auth_window *w, uint64_t floor)
{
	memset(w, 0, sizeof(*w));
	w->floor = floor;
}

int rumor_auth_window_check(const struct rumor_auth_window *w, uint64_t ctr)
{
	/* 0 is never sent; 2^64-1 would leave nothing above it: a sender there must stop, and
	 * a frame claiming it is refused rather than jamming the window at the top */
	if (ctr == 0 || ctr == UINT64_MAX)
		return RUMOR_AUTH_REPLAY;
	if (ctr < w->floor)
		return RUMOR_AUTH_OLD_EPOCH;
	if (ctr > w->top)
		return RUMOR_AUTH_OK;
	if (w->top - ctr >= RUMOR_AUTH_WINDOW)
		return RUMOR_AUTH_REPLAY;
	if (w->bits[(ctr >> 6) % RUMOR_AUTH_WIN_WORDS] >> (ctr & 63) & 1)
		return RUMOR_AUTH_REPLAY;
	return RUMOR_AUTH_OK;
}

void rumor_auth_window_accept(struct rumor_auth_window *w, uint64_t ctr)
{
	if (ctr > w->top) {
		uint64_t cur = w->top >> 6, nw = ctr >> 6, steps = nw - cur;

		/* words the top passes are reused for the new counters: clear them (all of
		 * them at most once when it jumps further than the ring) */
		if (w->top == 0 || steps > RUMOR_AUTH_WIN_WORDS)
			steps = RUMOR_AUTH_WIN_WORDS;
		for (uint64_t i = 1; i <= steps; i++)
			w->bits[(cur + i) % RUMOR_AUTH_WIN_WORDS] = 0;
		w->top = ctr;
	}
	w->bits[(ctr >> 6) % RUMOR_AUTH_WIN_WORDS] |= 1ull << (ctr & 63);
}
