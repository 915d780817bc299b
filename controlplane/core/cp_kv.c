/* cp_kv: open-addressing hash (linear probing, backward-shift delete) of owned strings. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "cp_kv.h"
#include "rumor_be.h"

struct ent {
	char *key; /* NULL = empty slot; key and value share one allocation */
	char *val;
	uint32_t klen;
	uint32_t vlen;
	uint64_t h;
};

struct cp_kv {
	struct ent *t;
	size_t cap; /* power of two */
	size_t n;
};

int cp_kv_create(struct cp_kv **out)
{
	struct cp_kv *kv = calloc(1, sizeof(*kv));
	if (!kv)
		return -ENOMEM;
	kv->cap = 64;
	kv->t = calloc(kv->cap, sizeof(*kv->t));
	if (!kv->t) {
		free(kv);
		return -ENOMEM;
	}
	*out = kv;
	return 0;
}

void cp_kv_clear(struct cp_kv *kv)
{
	for (size_t i = 0; i < kv->cap; i++)
		free(kv->t[i].key);
	memset(kv->t, 0, kv->cap * sizeof(*kv->t));
	kv->n = 0;
}

void cp_kv_destroy(struct cp_kv *kv)
{
	if (!kv)
		return;
	cp_kv_clear(kv);
	free(kv->t);
	free(kv);
}

size_t cp_kv_count(const struct cp_kv *kv) { return kv->n; }

static int key_ok(const char *k, size_t klen)
{
	if (klen == 0)
		return -EINVAL;
	if (klen > CP_KV_KEY_MAX)
		return -E2BIG;
	for (size_t i = 0; i < klen; i++)
		if ((unsigned char)k[i] <= 0x20 || k[i] == 0x7f)
			return -EINVAL;
	return 0;
}

static size_t find(const struct cp_kv *kv, const char *k, size_t klen, uint64_t h)
{
	size_t m = kv->cap - 1;
	for (size_t i = h & m;; i = (i + 1) & m) {
		const struct ent *e = &kv->t[i];
		if (!e->key || (e->h == h && e->klen == klen && !memcmp(e->key, k, klen)))
			return i;
	}
}

static int grow(struct cp_kv *kv)
{
	size_t ncap = kv->cap * 2;
	struct ent *nt = calloc(ncap, sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	for (size_t i = 0; i < kv->cap; i++) {
		if (!kv->t[i].key)
			continue;
		size_t j = kv->t[i].h & (ncap - 1);
		while (nt[j].key)
			j = (j + 1) & (ncap - 1);
		nt[j] = kv->t[i];
	}
	free(kv->t);
	kv->t = nt;
	kv->cap = ncap;
	return 0;
}

int cp_kv_get(const struct cp_kv *kv, const char *key, size_t klen, const char **val,
	      size_t *vlen)
{
	size_t i = find(kv, key, klen, XXH3_64bits(key, klen));
	if (!kv->t[i].key)
		return -ENOENT;
	*val = kv->t[i].val;
	*vlen = kv->t[i].vlen;
	return 0;
}

int cp_kv_set(struct cp_kv *kv, const char *key, size_t klen, const char *val, size_t vlen)
{
	int rc = key_ok(key, klen);
	if (rc)
		return rc;
	if (vlen > CP_KV_VAL_MAX)
		return -E2BIG;
	if ((kv->n + 1) * 4 > kv->cap * 3 && (rc = grow(kv)))
		return rc;
	uint64_t h = XXH3_64bits(key, klen);
	size_t i = find(kv, key, klen, h);
	char *mem = malloc(klen + vlen + 2);
	if (!mem)
		return -ENOMEM;
	memcpy(mem, key, klen);
	mem[klen] = 0;
	memcpy(mem + klen + 1, val, vlen);
	mem[klen + 1 + vlen] = 0;
	struct ent *e = &kv->t[i];
	if (e->key)
		free(e->key);
	else
		kv->n++;
	e->key = mem;
	e->val = mem + klen + 1;
	e->klen = (uint32_t)klen;
	e->vlen = (uint32_t)vlen;
	e->h = h;
	return 0;
}

int cp_kv_del(struct cp_kv *kv, const char *key, size_t klen)
{
	size_t m = kv->cap - 1;
	size_t i = find(kv, key, klen, XXH3_64bits(key, klen));
	if (!kv->t[i].key)
		return -ENOENT;
	free(kv->t[i].key);
	kv->n--;
	/* backward-shift so probes never need tombstones */
	size_t j = i;
	for (;;) {
		kv->t[i].key = NULL;
		for (;;) {
			j = (j + 1) & m;
			if (!kv->t[j].key)
				return 0;
			size_t home = kv->t[j].h & m;
			if (((j - home) & m) >= ((j - i) & m))
				break;
		}
		kv->t[i] = kv->t[j];
		i = j;
	}
}

static int parse_i64(const char *s, size_t len, int64_t *out)
{
	if (len == 0 || len > 20)
		return -EINVAL;
	size_t i = 0;
	int neg = 0;
	if (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-';
		if (++i == len)
			return -EINVAL;
	}
	uint64_t v = 0;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
		return -ERANGE;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

int cp_kv_exec(struct cp_kv *kv, const void *payload, size_t len)
{
	const char *p = payload;
	if (len && p[len - 1] == '\n')
		len--;
	int op;
	size_t off;
	if (len >= 4 && !memcmp(p, "SET ", 4))
		op = 0, off = 4;
	else if (len >= 4 && !memcmp(p, "DEL ", 4))
		op = 1, off = 4;
	else if (len >= 5 && !memcmp(p, "INCR ", 5))
		op = 2, off = 5;
	else
		return 1;
	const char *key = p + off;
	size_t klen = 0;
	while (off + klen < len && p[off + klen] != ' ')
		klen++;
	int rc = key_ok(key, klen);
	if (rc)
		return rc;
	const char *rest = key + klen;
	size_t rlen = len - off - klen; /* includes the separating space if any */
	if (op == 0) {
		if (rlen == 0)
			return -EINVAL;
		return cp_kv_set(kv, key, klen, rest + 1, rlen - 1);
	}
	if (op == 1) {
		if (rlen)
			return -EINVAL;
		rc = cp_kv_del(kv, key, klen);
		return rc == -ENOENT ? 0 : rc;
	}
	int64_t by = 1, cur = 0;
	if (rlen && (rc = parse_i64(rest + 1, rlen - 1, &by)))
		return rc;
	const char *v;
	size_t vlen;
	if (cp_kv_get(kv, key, klen, &v, &vlen) == 0 && parse_i64(v, vlen, &cur))
		return -ERANGE;
	if (__builtin_add_overflow(cur, by, &cur))
		return -ERANGE;
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%lld", (long long)cur);
	return cp_kv_set(kv, key, klen, buf, (size_t)n);
}

static int cmp_ent(const void *a, const void *b)
{
	const struct ent *x = *(const struct ent *const *)a, *y = *(const struct ent *const *)b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, n);
	return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

static const struct ent **sorted(const struct cp_kv *kv)
{
	const struct ent **v = malloc((kv->n ? kv->n : 1) * sizeof(*v));
	if (!v)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < kv->cap; i++)
		if (kv->t[i].key)
			v[k++] = &kv->t[i];
	qsort(v, k, sizeof(*v), cmp_ent);
	return v;
}

uint64_t cp_kv_digest(const struct cp_kv *kv)
{
	const struct ent **v = sorted(kv);
	XXH3_state_t st;
	XXH3_64bits_reset(&st);
	if (!v)
		return 0;
	for (size_t i = 0; i < kv->n; i++) {
		uint8_t l[4];
		rumor_le_st32(l, v[i]->klen);
		XXH3_64bits_update(&st, l, 4);
		XXH3_64bits_update(&st, v[i]->key, v[i]->klen);
		rumor_le_st32(l, v[i]->vlen);
		XXH3_64bits_update(&st, l, 4);
		XXH3_64bits_update(&st, v[i]->val, v[i]->vlen);
	}
	free(v);
	return XXH3_64bits_digest(&st);
}

size_t cp_kv_snapshot_size(const struct cp_kv *kv)
{
	size_t s = 4;
	for (size_t i = 0; i < kv->cap; i++)
		if (kv->t[i].key)
			s += 8 + kv->t[i].klen + kv->t[i].vlen;
	return s;
}

long cp_kv_snapshot_write(const struct cp_kv *kv, void *buf, size_t cap)
{
	size_t need = cp_kv_snapshot_size(kv);
	if (cap < need)
		return -ENOBUFS;
	const struct ent **v = sorted(kv);
	if (!v)
		return -ENOMEM;
	uint8_t *p = buf;
	rumor_le_st32(p, (uint32_t)kv->n);
	p += 4;
	for (size_t i = 0; i < kv->n; i++) {
		rumor_le_st32(p, v[i]->klen);
		memcpy(p + 4, v[i]->key, v[i]->klen);
		p += 4 + v[i]->klen;
		rumor_le_st32(p, v[i]->vlen);
		memcpy(p + 4, v[i]->val, v[i]->vlen);
		p += 4 + v[i]->vlen;
	}
	free(v);
	return (long)need;
}

long cp_kv_snapshot_read(struct cp_kv *kv, const void *buf, size_t len)
{
	const uint8_t *p = buf, *end = p + len;
	cp_kv_clear(kv);
	if (len < 4)
		return -EMSGSIZE;
	uint32_t n = rumor_le_ld32(p);
	p += 4;
	const uint8_t *prev = NULL;
	uint32_t prevlen = 0;
	int rc = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (end - p < 4) { rc = -EMSGSIZE; break; }
		uint32_t kl = rumor_le_ld32(p);
		if (kl > CP_KV_KEY_MAX) { rc = -E2BIG; break; }
		if ((size_t)(end - p) < 8u + kl) { rc = -EMSGSIZE; break; }
		const uint8_t *k = p + 4;
		uint32_t vl = rumor_le_ld32(p + 4 + kl);
		if (vl > CP_KV_VAL_MAX) { rc = -E2BIG; break; }
		if ((size_t)(end - p) < 8u + kl + vl) { rc = -EMSGSIZE; break; }
		if (prev) {
			size_t m = prevlen < kl ? prevlen : kl;
			int c = memcmp(prev, k, m);
			if (c > 0 || (c == 0 && prevlen >= kl)) { rc = -EINVAL; break; }
		}
		if ((rc = cp_kv_set(kv, (const char *)k, kl, (const char *)k + kl + 4, vl)))
			break;
		prev = k;
		prevlen = kl;
		p += 8 + kl + vl;
	}
	if (rc) {
		cp_kv_clear(kv);
		return rc;
	}
	return (long)(p - (const uint8_t *)buf);
}
