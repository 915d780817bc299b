/* Gossip frame authentication: AES-256-GMAC (intel-ipsec-mb) body and hop tags, the static
 * keyring, and the per-sender anti-replay window. Pure C, no DPDK; see ARCHITECTURE.md "Frame
 * authentication" for the auth header this seals (rumor_wire.h RUMOR_WIRE_AUTH_*). */
#ifndef RUMOR_AUTH_H
#define RUMOR_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RUMOR_AUTH_KEY_LEN 32          /* AES-256 */
#define RUMOR_AUTH_TAG_LEN 16
#define RUMOR_AUTH_ALG_GMAC256 1       /* the auth header's alg byte */

/* Why a frame was refused (0 = accepted). */
enum rumor_auth_reason {
	RUMOR_AUTH_OK = 0,
	RUMOR_AUTH_NO_KEY = 1,     /* no auth header, or a key id not in our keyring */
	RUMOR_AUTH_BAD_TAG = 2,    /* hop tag wrong (header, auth header or addressee changed) */
	RUMOR_AUTH_REPLAY = 3,     /* counter seen, older than the window, 0 or 2^64-1 */
	RUMOR_AUTH_OLD_EPOCH = 4,  /* counter from an epoch before this receiver started */
	RUMOR_AUTH_BAD_BODY = 5,   /* body tag wrong (clock or events changed) */
};
#define RUMOR_AUTH_NREASONS 5

/* "auth_no_key", ... for reason 1..RUMOR_AUTH_NREASONS, NULL otherwise. */
const char *rumor_auth_reason_name(int reason);

/* Keys: up to 255 (ids 1..255; 0 is "no key"). One is used for sealing. */
struct rumor_auth;

/* Returns NULL on allocation failure or when the CPU lacks AES-NI/PCLMULQDQ. */
struct rumor_auth *rumor_auth_new(void);
void rumor_auth_free(struct rumor_auth *a);
/* Returns 0, -EINVAL (id 0), -EEXIST (id already set). */
int rumor_auth_set_key(struct rumor_auth *a, uint8_t id, const uint8_t key[RUMOR_AUTH_KEY_LEN]);
bool rumor_auth_has_key(const struct rumor_auth *a, uint8_t id);
/* Seal with key @id from now on. Returns 0 or -ENOKEY. */
int rumor_auth_use(struct rumor_auth *a, uint8_t id);
uint8_t rumor_auth_current(const struct rumor_auth *a);   /* 0: none chosen */
/* Key @id of @src into @dst as well (the expanded key is copied; the raw key is not kept
 * anywhere): the dataplane builds a new keyring from its bootstrap one this way (issue 14).
 * Returns 0, -ENOKEY (@src lacks it), -EEXIST, -EINVAL (id 0), -ENOMEM. */
int rumor_auth_copy_key(struct rumor_auth *dst, const struct rumor_auth *src, uint8_t id);

/* A keyring of its own with @src's keys, key in use and kernel choice (rumor_auth_set_portable),
 * and its own intel-ipsec-mb manager: each dataplane worker lcore seals and verifies with its
 * own copy and swaps it alone (dp_keyring.c). NULL on allocation failure. */
struct rumor_auth *rumor_auth_clone(const struct rumor_auth *src);

/* Keyring text: one key a line, "<id 1..255> <64 hex digits>", '#' comments and blank lines.
 * Returns the number of keys, or -EINVAL with "NAME:LINE: what" in @err (-ENOENT/-EACCES
 * and the like for a file that cannot be read). */
int rumor_auth_keyring_parse(struct rumor_auth *a, const char *text, const char *name,
			     char *err, size_t errlen);
int rumor_auth_keyring_load(struct rumor_auth *a, const char *path, char *err, size_t errlen);

/* Body tag, computed once by the origin: GMAC under key @key_id with IV ('B', key id, origin,
 * @nonce) over the header's immutable fields (cluster, origin, first_seq, counts: what relays
 * never patch) and the body. @hdr is the 28-byte fixed header. @nonce must never repeat for
 * (key, origin): the origin passes a fresh value of its hop counter.
 * Returns 0 or RUMOR_AUTH_NO_KEY. */
int rumor_auth_body_tag(const struct rumor_auth *a, uint8_t key_id, uint64_t nonce,
			const uint8_t *hdr, const uint8_t *body, size_t body_len,
			uint8_t tag[RUMOR_AUTH_TAG_LEN]);
/* Returns 0, RUMOR_AUTH_NO_KEY or RUMOR_AUTH_BAD_BODY (constant-time compare). */
int rumor_auth_body_verify(const struct rumor_auth *a, uint8_t key_id, uint64_t nonce,
			   const uint8_t *hdr, const uint8_t *body, size_t body_len,
			   const uint8_t tag[RUMOR_AUTH_TAG_LEN]);

/* Confidentiality (issue 14, the dataplane does not use it yet): AES-256-GCM of the body
 * with IV ('E', key id, origin, @nonce) and the body tag's header fields as AAD. The GCM tag
 * takes the body tag's place in the auth header, so the origin encrypts once and relays
 * forward ciphertext and tag unchanged (hop tags as ever). A nonce is used for a GMAC body
 * tag or for an encrypted body, never both (the 'B' / 'E' domains keep them apart anyway).
 * @out may be @body / @ct (in place); the ciphertext is as long as the body. Open verifies
 * and decrypts: RUMOR_AUTH_BAD_BODY leaves zeros in @out, never a forged plaintext.
 * Return 0, RUMOR_AUTH_NO_KEY or (open) RUMOR_AUTH_BAD_BODY. */
int rumor_auth_body_seal_enc(const struct rumor_auth *a, uint8_t key_id, uint64_t nonce,
			     const uint8_t *hdr, const uint8_t *body, uint8_t *out, size_t len,
			     uint8_t tag[RUMOR_AUTH_TAG_LEN]);
int rumor_auth_body_open(const struct rumor_auth *a, uint8_t key_id, uint64_t nonce,
			 const uint8_t *hdr, const uint8_t *ct, uint8_t *out, size_t len,
			 const uint8_t tag[RUMOR_AUTH_TAG_LEN]);

/* Hop tag over the fixed header as sent and the auth header up to the hop tag
 * (RUMOR_WIRE_HDR_LEN + RUMOR_WIRE_AUTH_SEALED bytes at @rumor), IV ('H', key id, sender,
 * counter) taken from those bytes. Seal writes the tag into the auth header. */
int rumor_auth_hop_seal(const struct rumor_auth *a, uint8_t *rumor);
/* Returns 0, RUMOR_AUTH_NO_KEY or RUMOR_AUTH_BAD_TAG. */
int rumor_auth_hop_verify(const struct rumor_auth *a, const uint8_t *rumor);

/* The relay's fast path (same tags as above, less work per frame):
 * - rumor_auth_hop_check: rumor_auth_hop_verify, and in the same AES pass the key stream
 *   block of the body tag's IV (key id and nonce from the auth header) into @rx, so a new
 *   frame's rumor_auth_body_check is only the GHASH and a duplicate pays nothing more. The
 *   body check trusts @rx only for the frame it was filled from (same @rumor).
 * - a sender's next RUMOR_AUTH_PADS hop counters get their key stream blocks in one pass
 *   (rumor_auth_pads_fill: counters ctr0.., sender @node, key @key_id; rumor_auth_pads_fill_n:
 *   the next @count, rounded up to a multiple of 8, at most RUMOR_AUTH_PADS_MAX); each
 *   rumor_auth_hop_seal_pad writes the next unused counter into the auth header and seals
 *   with its pad, once: -EINVAL when the pads are used up or belong to another key or
 *   sender (the header's key id and sender field). Returns 0 or RUMOR_AUTH_NO_KEY. */
struct rumor_auth_rx {
	uint8_t ks[RUMOR_AUTH_TAG_LEN];
	uint8_t key;        /* 0: no passed hop check */
};
int rumor_auth_hop_check(const struct rumor_auth *a, const uint8_t *rumor,
			 struct rumor_auth_rx *rx);
/* @rumor: fixed header then the auth header (as received); body apart. Returns 0,
 * RUMOR_AUTH_NO_KEY or RUMOR_AUTH_BAD_BODY. */
int rumor_auth_body_check(const struct rumor_auth *a, const struct rumor_auth_rx *rx,
			  const uint8_t *rumor, const uint8_t *body, size_t body_len);
#define RUMOR_AUTH_PADS 8
#define RUMOR_AUTH_PADS_MAX 32
struct rumor_auth_pads {
	uint64_t ctr0;
	uint16_t node;
	uint8_t key, next;  /* next >= n: used up (RUMOR_AUTH_PADS_MAX: always) */
	uint8_t n;          /* pads made by the last fill */
	uint8_t ks[RUMOR_AUTH_PADS_MAX][RUMOR_AUTH_TAG_LEN];
};
/* rumor_auth_hop_check for @n frames at once (independent frames keep the AES and
 * carry-less multipliers busy): rumor[i] NULL = not a candidate (rc[i] RUMOR_AUTH_NO_KEY). */
#define RUMOR_AUTH_BURST 32
void rumor_auth_hop_check_burst(const struct rumor_auth *a, const uint8_t *const *rumor,
				unsigned n, struct rumor_auth_rx *rx, int *rc);
/* rumor_auth_hop_seal_pad for rumor[0..n) in order while the pads last and match; returns
 * how many were sealed (the caller refills and goes on with the rest). */
unsigned rumor_auth_hop_seal_pads(const struct rumor_auth *a, uint8_t *const *rumor, unsigned n,
				  struct rumor_auth_pads *p);
int rumor_auth_pads_fill(const struct rumor_auth *a, struct rumor_auth_pads *p, uint8_t key_id,
			 uint16_t node, uint64_t ctr0);
/* Pads for counters ctr0 .. ctr0 + rumor_auth_pads_count(@count) - 1: a TX burst's seals get
 * their AES blocks in one pass, up to 8 independent 4-block chains instead of 2. */
int rumor_auth_pads_fill_n(const struct rumor_auth *a, struct rumor_auth_pads *p, uint8_t key_id,
			   uint16_t node, uint64_t ctr0, unsigned count);
/* How many pads a fill of @count makes (@count rounded up to 8, 8..RUMOR_AUTH_PADS_MAX): the
 * counters the caller reserves. */
static inline unsigned rumor_auth_pads_count(unsigned count)
{
	count = (count + 7) & ~7u;
	return count < RUMOR_AUTH_PADS ? RUMOR_AUTH_PADS
	       : count > RUMOR_AUTH_PADS_MAX ? RUMOR_AUTH_PADS_MAX : count;
}
int rumor_auth_hop_seal_pad(const struct rumor_auth *a, uint8_t *rumor, struct rumor_auth_pads *p);

/* Tests and the bench: true = use intel-ipsec-mb only (the kernel above needs AVX-512
 * VPCLMULQDQ, VAES, VBMI and AES-NI; it is on by default where the CPU has them). Returns
 * whether the fast kernel is used now. */
bool rumor_auth_set_portable(struct rumor_auth *a, bool portable);

/* Raw GMAC (for the known-answer tests and the bench): tag of @aad under key @key_id. */
int rumor_auth_gmac(const struct rumor_auth *a, uint8_t key_id, const uint8_t iv[12],
		    const uint8_t *aad, size_t len, uint8_t tag[RUMOR_AUTH_TAG_LEN]);

/* Anti-replay window per sender, RFC 6479 style: a ring of 64-bit words; moving the top
 * clears only the words it passes. Counters are accepted up to RUMOR_AUTH_WINDOW below the
 * highest accepted one, each once. @floor: counters below it are refused as an old epoch. */
#define RUMOR_AUTH_WIN_WORDS 256u
#define RUMOR_AUTH_WINDOW ((RUMOR_AUTH_WIN_WORDS - 1) * 64u) /* 16320 counters */
struct rumor_auth_window {
	uint64_t top;       /* highest accepted counter, 0: none yet */
	uint64_t floor;
	uint64_t bits[RUMOR_AUTH_WIN_WORDS];
};

void rumor_auth_window_init(struct rumor_auth_window *w, uint64_t floor);
/* Would @ctr be accepted? RUMOR_AUTH_OK, RUMOR_AUTH_REPLAY or RUMOR_AUTH_OLD_EPOCH. Does not
 * change the window: call rumor_auth_window_accept once the frame's tag is verified. */
int rumor_auth_window_check(const struct rumor_auth_window *w, uint64_t ctr);
void rumor_auth_window_accept(struct rumor_auth_window *w, uint64_t ctr);
/* rumor_auth_window_check, then rumor_auth_window_accept when it passes (the caller has
 * verified the tag): one pass for the relay, the common case (a counter above the top in the
 * same 64-counter word, or a fresh one below it) inline. Returns as the check does. */
static inline int rumor_auth_window_take(struct rumor_auth_window *w, uint64_t ctr)
{
	uint64_t *word, bit;

	if (ctr - 1 >= UINT64_MAX - 1) /* 0 or 2^64-1 */
		return RUMOR_AUTH_REPLAY;
	if (ctr < w->floor)
		return RUMOR_AUTH_OLD_EPOCH;
	word = &w->bits[(ctr >> 6) % RUMOR_AUTH_WIN_WORDS];
	bit = 1ull << (ctr & 63);
	if (ctr > w->top) {
		if (w->top == 0 || ctr >> 6 > (w->top >> 6) + 1) {
			rumor_auth_window_accept(w, ctr); /* words to clear on the way */
			return RUMOR_AUTH_OK;
		}
		/* the next word (a busy sender's usual step): it is reused, so cleared first */
		if (ctr >> 6 != w->top >> 6)
			*word = 0;
		w->top = ctr;
	} else if (w->top - ctr >= RUMOR_AUTH_WINDOW || (*word & bit)) {
		return RUMOR_AUTH_REPLAY;
	}
	*word |= bit;
	return RUMOR_AUTH_OK;
}

/* A sender's counter is its wall clock in 64 ns units (2^64 of them last 37,000 years), one
 * above the last one stamped when two frames fall into one unit (15.6 M units a second, more
 * than a 10 Gb/s port's frames: it does not run ahead of the clock). So a run never repeats
 * an earlier run's counters, and a receiver refuses everything below its own start time
 * (RUMOR_AUTH_OLD_EPOCH): frames captured before it restarted stay refused. */
#define RUMOR_AUTH_CTR_SHIFT 6
static inline uint64_t rumor_auth_ctr_of_ns(uint64_t ns)
{
	return ns >> RUMOR_AUTH_CTR_SHIFT;
}

#endif
