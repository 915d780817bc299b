/* cp_jsonl: direct JSON formatting for per-event lines. */
#include <stdlib.h>
#include <string.h>

#include "cp_jsonl.h"
#include "cp_swar.h"
#include "rumor_fmt.h"

void cp_jsonl_free(struct cp_jsonl *b)
{
	free(b->p);
	*b = (struct cp_jsonl){ 0 };
}

static char *room(struct cp_jsonl *b, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return NULL;
		}
		b->p = p;
		b->cap = cap;
	}
	return b->p + b->len;
}

void cp_jsonl_raw(struct cp_jsonl *b, const char *s, size_t n)
{
	char *d = room(b, n);
	if (d) {
		memcpy(d, s, n);
		b->len += n;
	}
}

void cp_jsonl_u64(struct cp_jsonl *b, uint64_t v)
{
	char tmp[20];

	cp_jsonl_raw(b, tmp, rumor_fmt_u64(tmp, v));
}


int cp_jsonl_utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = p[i];
		if (c < 0x80) {
			if (n - i >= 8 && (cp_swar_load8(p + i) & CP_SWAR_HIGH) == 0)
				i += 8;
			else
				i++;
			continue;
		}
		size_t k;
		uint32_t cp, min;
		if ((c & 0xe0) == 0xc0)
			k = 1, cp = c & 0x1f, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			k = 2, cp = c & 0x0f, min = 0x800;
		else if ((c & 0xf8) == 0xf0)
			k = 3, cp = c & 0x07, min = 0x10000;
		else
			return 0;
		if (n - i <= k)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}

void cp_jsonl_str(struct cp_jsonl *b, const char *s, size_t n)
{
	static const char hexd[] = "0123456789abcdef";
	/* worst case every byte becomes \u00XX */
	char *d = room(b, n * 6 + 2);
	if (!d)
		return;
	char *o = d;
	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		if (n - i >= 8 && !cp_swar_json_special8(cp_swar_load8(s + i))) {
			memcpy(o, s + i, 8);
			o += 8;
			i += 7;
			continue;
		}
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\') {
			*o++ = (char)c;
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		case '\b': *o++ = 'b'; break;
		case '\f': *o++ = 'f'; break;
		default:
			*o++ = 'u', *o++ = '0', *o++ = '0';
			*o++ = hexd[c >> 4], *o++ = hexd[c & 15];
		}
	}
	*o++ = '"';
	b->len += (size_t)(o - d);
}

void cp_jsonl_payload(struct cp_jsonl *b, const void *p, size_t n)
{
	static const char hexd[] = "0123456789abcdef";
	const uint8_t *u = p;

	if (cp_jsonl_utf8_valid(u, n)) {
		cp_jsonl_str(b, p, n);
		return;
	}
	char *d = room(b, n * 2 + 6);
	if (!d)
		return;
	memcpy(d, "\"hex:", 5);
	for (size_t i = 0; i < n; i++) {
		d[5 + 2 * i] = hexd[u[i] >> 4];
		d[6 + 2 * i] = hexd[u[i] & 15];
	}
	d[5 + 2 * n] = '"';
	b->len += n * 2 + 6;
}

#define LIT(b, s) cp_jsonl_raw(b, s, sizeof(s) - 1)

void cp_jsonl_event(struct cp_jsonl *b, uint64_t gseq, uint16_t origin, uint64_t seq,
		    const char *id_hex, const char *clock_key, const char *clock, bool skip,
		    const void *payload, size_t len)
{
	LIT(b, "{\"gseq\":");
	cp_jsonl_u64(b, gseq);
	LIT(b, ",\"origin\":");
	cp_jsonl_u64(b, origin);
	LIT(b, ",\"seq\":");
	cp_jsonl_u64(b, seq);
	if (skip) {
		LIT(b, ",\"skip\":true}");
		return;
	}
	LIT(b, ",\"id\":");
	cp_jsonl_str(b, id_hex, strlen(id_hex));
	if (clock_key && clock) {
		LIT(b, ",\"");
		cp_jsonl_raw(b, clock_key, strlen(clock_key));
		LIT(b, "\":");
		cp_jsonl_str(b, clock, strlen(clock));
	}
	LIT(b, ",\"data\":");
	cp_jsonl_payload(b, payload, len);
	LIT(b, "}");
}

void cp_jsonl_skip(struct cp_jsonl *b, uint64_t gseq, uint16_t origin, uint64_t seq,
		   uint64_t seq_last)
{
	LIT(b, "{\"gseq\":");
	cp_jsonl_u64(b, gseq);
	LIT(b, ",\"origin\":");
	cp_jsonl_u64(b, origin);
	LIT(b, ",\"seq\":");
	cp_jsonl_u64(b, seq);
	LIT(b, ",\"skip\":true");
	if (seq_last > seq) {
		LIT(b, ",\"skip_through\":");
		cp_jsonl_u64(b, seq_last);
	}
	LIT(b, "}");
}
