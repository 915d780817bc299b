/* cp_sendscan: one pass over a send request line, strings decoded straight into their place
 * (events into the packed buffer). Every branch that is not plainly jansson's result returns
 * 0 and leaves the line to jansson. */
#include <string.h>

#include "cp_jsonl.h"
#include "cp_sendscan.h"
#include "cp_swar.h"
#include "rumor_msg.h"

/* the first special byte of a word is its lowest set bit */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "little-endian words");

enum { K_CMD, K_DATA, K_BATCH, K_ACK, K_WAIT, K_IDS, K_TAG, K_RID };

struct scan {
	const char *p, *e;
};

/* JSON's whitespace, as jansson skips it */
static inline void ws(struct scan *s)
{
	while (s->p < s->e && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static inline int hex4(const char *p, unsigned *v)
{
	unsigned r = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];
		r <<= 4;
		if (c >= '0' && c <= '9')
			r |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			r |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			r |= (unsigned)(c - 'A' + 10);
		else
			return 0;
	}
	*v = r;
	return 1;
}

/* A raw run of string bytes: jansson refuses the whole input when one is not UTF-8. */
static inline int run_ok(const char *a, const char *b, uint64_t hi)
{
	return !(hi & CP_SWAR_HIGH) || cp_jsonl_utf8_valid((const uint8_t *)a, (size_t)(b - a));
}

/* The string at s->p (its opening quote) decoded into @out (at most @cap bytes): 1 and
 * *@len, s->p past the closing quote; 0 for anything jansson would refuse or we do not
 * decode, or a string over @cap. */
static int str(struct scan *s, uint8_t *out, size_t cap, size_t *len)
{
	const char *p = s->p + 1, *e = s->e, *run = p;
	size_t o = 0;
	uint64_t hi = 0;

	if (s->p >= e || *s->p != '"')
		return 0;
	for (;;) {
		if (e - p >= 8 && cap - o >= 8) {
			/* eight bytes at a time: the bytes past the first special one are copied
			 * too, and overwritten or left unused */
			uint64_t w = cp_swar_load8(p), m = cp_swar_json_special8(w);
			memcpy(out + o, p, 8);
			hi |= w;
			if (!m) {
				o += 8;
				p += 8;
				continue;
			}
			size_t k = (size_t)__builtin_ctzll(m) >> 3;
			o += k;
			p += k;
		} else {
			if (p >= e)
				return 0; /* unterminated */
			unsigned char c = (unsigned char)*p;
			if (c >= 0x20 && c != '"' && c != '\\') {
				if (o == cap)
					return 0;
				out[o++] = c;
				hi |= c;
				p++;
				continue;
			}
		}
		/* *p is a quote, a backslash or a control character */
		if (!run_ok(run, p, hi))
			return 0;
		hi = 0;
		if (*p == '"') {
			s->p = p + 1;
			*len = o;
			return 1;
		}
		if (*p != '\\' || e - p < 2)
			return 0; /* a control character, or a cut escape */
		char c = p[1], d;
		switch (c) {
		case '"': d = '"'; break;
		case '\\': d = '\\'; break;
		case '/': d = '/'; break;
		case 'b': d = '\b'; break;
		case 'f': d = '\f'; break;
		case 'n': d = '\n'; break;
		case 'r': d = '\r'; break;
		case 't': d = '\t'; break;
		case 'u': d = 0; break;
		default: return 0;
		}
		if (c != 'u') {
			if (o == cap)
				return 0;
			out[o++] = (uint8_t)d;
			p += 2;
			run = p;
			continue;
		}
		unsigned u, lo;
		if (e - p < 6 || !hex4(p + 2, &u) || u == 0)
			return 0; /* \u0000: jansson refuses it without JSON_ALLOW_NUL */
		p += 6;
		if (u >= 0xdc00 && u <= 0xdfff)
			return 0; /* a lone low surrogate */
		if (u >= 0xd800 && u <= 0xdbff) {
			if (e - p < 6 || p[0] != '\\' || p[1] != 'u' || !hex4(p + 2, &lo) ||
			    lo < 0xdc00 || lo > 0xdfff)
				return 0;
			u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
			p += 6;
		}
		size_t k = u < 0x80 ? 1 : u < 0x800 ? 2 : u < 0x10000 ? 3 : 4;
		if (cap - o < k)
			return 0;
		switch (k) {
		case 1:
			out[o] = (uint8_t)u;
			break;
		case 2:
			out[o] = (uint8_t)(0xc0 | u >> 6);
			out[o + 1] = (uint8_t)(0x80 | (u & 0x3f));
			break;
		case 3:
			out[o] = (uint8_t)(0xe0 | u >> 12);
			out[o + 1] = (uint8_t)(0x80 | ((u >> 6) & 0x3f));
			out[o + 2] = (uint8_t)(0x80 | (u & 0x3f));
			break;
		default:
			out[o] = (uint8_t)(0xf0 | u >> 18);
			out[o + 1] = (uint8_t)(0x80 | ((u >> 12) & 0x3f));
			out[o + 2] = (uint8_t)(0x80 | ((u >> 6) & 0x3f));
			out[o + 3] = (uint8_t)(0x80 | (u & 0x3f));
			break;
		}
		o += k;
		run = p;
	}
}

/* A string of at most @cap - 1 bytes into @out, NUL-terminated (no NUL inside: \u0000 is
 * refused). */
static int cstr(struct scan *s, char *out, size_t cap, size_t *len)
{
	if (!str(s, (uint8_t *)out, cap - 1, len))
		return 0;
	out[*len] = '\0';
	return 1;
}

/* An integer jansson reads as one (no fraction or exponent: those are reals), of at most
 * 18 digits (no overflow of json_int_t); the value must end at a delimiter. */
static int integer(struct scan *s, int64_t *v)
{
	const char *p = s->p;
	bool neg = p < s->e && *p == '-';
	uint64_t r = 0;
	int digits = 0;

	p += neg;
	if (p >= s->e || *p < '0' || *p > '9')
		return 0;
	if (*p == '0') {
		p++;
	} else {
		while (p < s->e && *p >= '0' && *p <= '9') {
			if (++digits > 18)
				return 0;
			r = r * 10 + (uint64_t)(*p++ - '0');
		}
	}
	if (p < s->e && (*p == '.' || *p == 'e' || *p == 'E' || (*p >= '0' && *p <= '9')))
		return 0;
	*v = neg ? -(int64_t)r : (int64_t)r;
	s->p = p;
	return 1;
}

/* true, false or null: 1, 0 or -1 in *@v */
static int literal(struct scan *s, int *v)
{
	size_t left = (size_t)(s->e - s->p);

	if (left >= 4 && !memcmp(s->p, "true", 4))
		*v = 1, s->p += 4;
	else if (left >= 5 && !memcmp(s->p, "false", 5))
		*v = 0, s->p += 5;
	else if (left >= 4 && !memcmp(s->p, "null", 4))
		*v = -1, s->p += 4;
	else
		return 0;
	/* "truex" is one bad token to jansson: the next byte must end the value */
	return s->p == s->e || !((*s->p >= 'a' && *s->p <= 'z') || (*s->p >= 'A' && *s->p <= 'Z'));
}

static int key(const char *k, size_t n)
{
	static const struct { const char *name; size_t len; } keys[] = {
		[K_CMD] = { "cmd", 3 }, [K_DATA] = { "data", 4 }, [K_BATCH] = { "batch", 5 },
		[K_ACK] = { "ack", 3 }, [K_WAIT] = { "wait", 4 }, [K_IDS] = { "ids", 3 },
		[K_TAG] = { "tag", 3 }, [K_RID] = { "request_id", 10 },
	};

	for (int i = 0; i < (int)(sizeof(keys) / sizeof(keys[0])); i++)
		if (n == keys[i].len && !memcmp(k, keys[i].name, n))
			return i;
	return -1;
}

/* One event at *@off of @buf: packed as rumor_msg_originate_put would, and only when
 * cp_sendreq_pack would take it (at most @max_event bytes, room in the message). */
static int event(struct scan *s, uint8_t *buf, size_t cap, size_t *off, size_t max_event)
{
	size_t n, lim;

	if (*off > cap || cap - *off < 2)
		return 0;
	lim = cap - *off - 2;
	if (lim > max_event)
		lim = max_event;
	if (lim > UINT16_MAX)
		lim = UINT16_MAX;
	if (!str(s, buf + *off + 2, lim, &n))
		return 0;
	buf[*off] = (uint8_t)n;
	buf[*off + 1] = (uint8_t)(n >> 8);
	*off += 2 + n;
	return 1;
}

int cp_sendscan(const char *line, size_t n, size_t max_event, uint8_t *buf, size_t cap,
		struct cp_sendscan *r)
{
	struct scan s = { line, line + n };
	unsigned seen = 0;
	size_t off = 0, len;
	unsigned count = 0;
	char cmd[8], k[16];

	r->opt = (struct cp_sendreq_opts){ .ids = true };
	ws(&s);
	if (s.p >= s.e || *s.p != '{')
		return 0;
	s.p++;
	for (;;) {
		ws(&s);
		if (!cstr(&s, k, sizeof(k), &len))
			return 0; /* also "{}" and a trailing comma */
		int id = key(k, len);
		if (id < 0 || (seen & 1u << id))
			return 0; /* unknown or twice (jansson keeps the last) */
		seen |= 1u << id;
		ws(&s);
		if (s.p >= s.e || *s.p != ':')
			return 0;
		s.p++;
		ws(&s);
		int lit;
		switch (id) {
		case K_CMD:
			if (!cstr(&s, cmd, sizeof(cmd), &len) || len != 4 || memcmp(cmd, "send", 4))
				return 0;
			break;
		case K_DATA:
			if ((seen & 1u << K_BATCH) || !event(&s, buf, cap, &off, max_event))
				return 0;
			count = 1;
			break;
		case K_BATCH:
			/* "batch" wins over "data" in cp_sendreq_pack: leave both to it */
			if ((seen & 1u << K_DATA) || s.p >= s.e || *s.p != '[')
				return 0;
			s.p++;
			ws(&s);
			for (;;) {
				if (!event(&s, buf, cap, &off, max_event))
					return 0; /* also "[]": nothing to send */
				count++;
				ws(&s);
				if (s.p < s.e && *s.p == ',') {
					s.p++;
					ws(&s);
					continue;
				}
				if (s.p < s.e && *s.p == ']') {
					s.p++;
					break;
				}
				return 0;
			}
			break;
		case K_ACK:
			if (!cstr(&s, r->ack, sizeof(r->ack), &len))
				return 0;
			r->opt.ack = r->ack;
			break;
		case K_WAIT:
			if (!literal(&s, &lit))
				return 0;
			r->opt.wait = lit == 1;
			break;
		case K_IDS:
			if (!literal(&s, &lit))
				return 0;
			r->opt.ids = lit != 0;
			break;
		case K_TAG:
			if (!integer(&s, &r->opt.tag))
				return 0;
			r->opt.has_tag = true;
			break;
		case K_RID:
			if (!cstr(&s, r->reqid, sizeof(r->reqid), &len))
				return 0;
			r->opt.reqid = r->reqid;
			break;
		}
		ws(&s);
		if (s.p < s.e && *s.p == ',') {
			s.p++;
			continue;
		}
		if (s.p < s.e && *s.p == '}') {
			s.p++;
			break;
		}
		return 0;
	}
	ws(&s);
	if (s.p != s.e || !(seen & 1u << K_CMD) || !count)
		return 0;
	r->len = off;
	r->count = (uint16_t)count;
	return 1;
}
