/* Unit tests of common/view: message codec, configuration, each strategy's local rules and a
 * small in-test message pump for HyParView and Cyclon invariants. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rumor_view.h"

static struct rumor_view *mk(enum rumor_view_strategy st, uint32_t self, uint32_t n, uint64_t seed)
{
	struct rumor_view_config c;
	struct rumor_view *v = NULL;
	rumor_view_config_defaults(&c, st, self, n, seed);
	c.period_ms = 100;
	assert_int_equal(rumor_view_create(&c, &v), 0);
	return v;
}

static void sample_msg(struct rumor_view_msg *m, uint8_t type)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->src = 7;
	m->dst = 9;
	switch (type) {
	case RUMOR_VIEW_MSG_VIEW_ASSIGN:
		m->epoch = 3;
		m->n_ids = 5;
		for (unsigned i = 0; i < 5; i++)
			m->ids[i] = 100 + i * 70000;
		break;
	case RUMOR_VIEW_MSG_FORWARD_JOIN:
		m->origin = 12;
		m->ttl = 6;
		break;
	case RUMOR_VIEW_MSG_NEIGHBOR:
		m->flags = RUMOR_VIEW_F_HIGH_PRIORITY;
		break;
	case RUMOR_VIEW_MSG_NEIGHBOR_REPLY:
		m->flags = RUMOR_VIEW_F_ACCEPT;
		break;
	case RUMOR_VIEW_MSG_SHUFFLE:
	case RUMOR_VIEW_MSG_SHUFFLE_REPLY:
		m->origin = 7;
		m->ttl = 2;
		m->flags = RUMOR_VIEW_F_AGES;
		m->n_ids = RUMOR_VIEW_MSG_MAX_IDS;
		for (unsigned i = 0; i < m->n_ids; i++) {
			m->ids[i] = 0xfffff000u + i;
			m->ages[i] = (uint8_t)(i * 3);
		}
		break;
	default:
		break;
	}
}

static void test_codec_roundtrip(void **state)
{
	(void)state;
	for (uint8_t t = 1; t < RUMOR_VIEW_MSG_TYPE_END; t++) {
		struct rumor_view_msg m, d;
		uint8_t buf[RUMOR_VIEW_MSG_MAX_BYTES + 1]; /* + 1: trailing-byte case */
		size_t len;
		sample_msg(&m, t);
		assert_int_equal(rumor_view_msg_encode(&m, buf, sizeof(buf), &len), 0);
		assert_int_equal(rumor_view_msg_decode(buf, len, &d), 0);
		assert_int_equal(d.type, m.type);
		assert_int_equal(d.flags, m.flags);
		assert_int_equal(d.ttl, m.ttl);
		assert_int_equal(d.src, m.src);
		assert_int_equal(d.dst, m.dst);
		assert_int_equal(d.origin, m.origin);
		assert_int_equal(d.epoch, m.epoch);
		assert_int_equal(d.n_ids, m.n_ids);
		assert_memory_equal(d.ids, m.ids, m.n_ids * sizeof(uint32_t));
		if (m.flags & RUMOR_VIEW_F_AGES)
			assert_memory_equal(d.ages, m.ages, m.n_ids);
		/* every truncation and one trailing byte are refused */
		for (size_t l = 0; l < len; l++)
			assert_int_equal(rumor_view_msg_decode(buf, l, &d), -EBADMSG);
		buf[len] = 0;
		assert_int_equal(rumor_view_msg_decode(buf, len + 1, &d), -EBADMSG);
		/* too small an output buffer */
		assert_int_equal(rumor_view_msg_encode(&m, buf, len - 1, &len), -ENOSPC);
	}
}

static void test_codec_rejects(void **state)
{
	(void)state;
	struct rumor_view_msg m, d;
	uint8_t buf[RUMOR_VIEW_MSG_MAX_BYTES], bad[RUMOR_VIEW_MSG_MAX_BYTES];
	size_t len;
	sample_msg(&m, RUMOR_VIEW_MSG_VIEW_ASSIGN);
	assert_int_equal(rumor_view_msg_encode(&m, buf, sizeof(buf), &len), 0);

	memcpy(bad, buf, len);
	bad[0] = 2; /* version */
	assert_int_equal(rumor_view_msg_decode(bad, len, &d), -EBADMSG);
	memcpy(bad, buf, len);
	bad[1] = 0; /* type */
	assert_int_equal(rumor_view_msg_decode(bad, len, &d), -EBADMSG);
	bad[1] = RUMOR_VIEW_MSG_TYPE_END;
	assert_int_equal(rumor_view_msg_decode(bad, len, &d), -EBADMSG);
	memcpy(bad, buf, len);
	bad[2] = 0x80; /* unknown flag */
	assert_int_equal(rumor_view_msg_decode(bad, len, &d), -EBADMSG);
	memcpy(bad, buf, len);
	bad[2] = RUMOR_VIEW_F_ACCEPT; /* known flag, wrong type */
	assert_int_equal(rumor_view_msg_decode(bad, len, &d), -EBADMSG);
	memcpy(bad, buf, len);
	bad[5] = 6; /* n_ids larger than the bytes */
	assert_int_equal(rumor_view_msg_decode(bad, len, &d), -EBADMSG);
	memcpy(bad, buf, len);
	memset(bad + 22, 0, 4); /* id 0 */
	assert_int_equal(rumor_view_msg_decode(bad, len, &d), -EBADMSG);
	memcpy(bad, buf, len);
	memcpy(bad + 26, bad + 22, 4); /* duplicate id */
	assert_int_equal(rumor_view_msg_decode(bad, len, &d), -EBADMSG);
	memcpy(bad, buf, len);
	memset(bad + 6, 0, 4); /* src 0 */
	assert_int_equal(rumor_view_msg_decode(bad, len, &d), -EBADMSG);
	memcpy(bad, buf, len);
	memset(bad + 18, 0, 4); /* epoch 0 */
	assert_int_equal(rumor_view_msg_decode(bad, len, &d), -EBADMSG);

	sample_msg(&m, RUMOR_VIEW_MSG_NEIGHBOR);
	m.n_ids = 1; /* NEIGHBOR carries no ids */
	m.ids[0] = 4;
	assert_int_equal(rumor_view_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
	sample_msg(&m, RUMOR_VIEW_MSG_FORWARD_JOIN);
	m.origin = 0;
	assert_int_equal(rumor_view_msg_validate(&m), -EINVAL);
	sample_msg(&m, RUMOR_VIEW_MSG_SHUFFLE);
	m.n_ids = RUMOR_VIEW_MSG_MAX_IDS + 1;
	assert_int_equal(rumor_view_msg_validate(&m), -EINVAL);

	/* random bytes: either refused, or a message that re-encodes to the same bytes */
	uint64_t x = 12345;
	for (int it = 0; it < 20000; it++) {
		size_t l = 22 + (size_t)(it % 40);
		for (size_t i = 0; i < l; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			bad[i] = (uint8_t)(x >> 56);
		}
		bad[0] = 1;
		bad[1] = (uint8_t)(1 + it % 9);
		bad[4] = 0;
		bad[5] = (uint8_t)(it % 5);
		int rc = rumor_view_msg_decode(bad, l, &d);
		if (rc == 0) {
			uint8_t re[RUMOR_VIEW_MSG_MAX_BYTES];
			size_t rl;
			assert_int_equal(rumor_view_msg_encode(&d, re, sizeof(re), &rl), 0);
			assert_int_equal(rl, l);
			assert_memory_equal(re, bad, l);
		} else {
			assert_int_equal(rc, -EBADMSG);
		}
	}
}

static void test_config(void **state)
{
	(void)state;
	struct rumor_view_config c;
	struct rumor_view *v;
	rumor_view_config_defaults(&c, RUMOR_VIEW_HYPARVIEW, 1, 10000, 0);
	assert_int_equal(c.active_size, 5);   /* log10(10^4) + 1 */
	assert_int_equal(c.passive_size, 30); /* k = 6 */
	assert_int_equal(c.arwl, 6);
	assert_int_equal(c.prwl, 3);
	assert_int_equal(c.ka, 3);
	assert_int_equal(c.kp, 4);
	rumor_view_config_defaults(&c, RUMOR_VIEW_CYCLON, 1, 10000, 0);
	assert_int_equal(c.active_size, 20);
	assert_int_equal(c.shuffle_len, 5);

	rumor_view_config_defaults(&c, RUMOR_VIEW_HYPARVIEW, 0, 100, 0);
	assert_int_equal(rumor_view_create(&c, &v), -EINVAL);
	rumor_view_config_defaults(&c, RUMOR_VIEW_HYPARVIEW, 1, 100, 0);
	c.active_size = RUMOR_VIEW_MSG_MAX_IDS + 1;
	assert_int_equal(rumor_view_create(&c, &v), -EINVAL);
	rumor_view_config_defaults(&c, RUMOR_VIEW_HYPARVIEW, 1, 100, 0);
	c.strategy = (enum rumor_view_strategy)77;
	assert_int_equal(rumor_view_create(&c, &v), -EINVAL);

	enum rumor_view_strategy s;
	assert_int_equal(rumor_view_strategy_parse("cyclon", &s), 0);
	assert_int_equal(s, RUMOR_VIEW_CYCLON);
	assert_int_equal(rumor_view_strategy_parse("nope", &s), -EINVAL);
}

static void assert_clean(const struct rumor_view *v, size_t bound)
{
	size_t n;
	const uint32_t *a = rumor_view_active(v, &n);
	uint32_t self = rumor_view_get_config(v)->self;
	assert_true(n <= bound);
	for (size_t i = 0; i < n; i++) {
		assert_int_not_equal(a[i], self);
		assert_int_not_equal(a[i], 0);
		for (size_t j = 0; j < i; j++)
			assert_int_not_equal(a[i], a[j]);
	}
	const uint32_t *p = rumor_view_passive(v, &n);
	for (size_t i = 0; i < n; i++) {
		assert_int_not_equal(p[i], self);
		assert_false(rumor_view_has_active(v, p[i]));
		for (size_t j = 0; j < i; j++)
			assert_int_not_equal(p[i], p[j]);
	}
}

static void test_static_and_pick(void **state)
{
	(void)state;
	struct rumor_view *v = mk(RUMOR_VIEW_STATIC, 3, 10, 1);
	uint32_t ids[] = {1, 2, 3, 4, 5, 5, 6, 7, 8, 9, 10, 0};
	assert_int_equal(rumor_view_join(v, ids, 12, 0), 0);
	size_t n;
	rumor_view_active(v, &n);
	assert_int_equal(n, 9);
	assert_clean(v, 9);
	uint32_t out[9];
	size_t k;
	int hist[11] = {0};
	for (int it = 0; it < 2000; it++) {
		assert_int_equal(rumor_view_pick(v, 4, 5, out, &k), 0);
		assert_int_equal(k, 4);
		for (size_t i = 0; i < k; i++) {
			assert_int_not_equal(out[i], 5);
			assert_int_not_equal(out[i], 3);
			hist[out[i]]++;
			for (size_t j = 0; j < i; j++)
				assert_int_not_equal(out[i], out[j]);
		}
	}
	/* roughly uniform over the 8 allowed peers: 1000 each expected */
	for (int id = 1; id <= 10; id++)
		if (id != 3 && id != 5)
			assert_true(hist[id] > 800 && hist[id] < 1200);
	assert_int_equal(rumor_view_pick(v, 20, 0, out, &k), 0);
	assert_int_equal(k, 9);
	assert_int_equal(rumor_view_on_peer_down(v, 4, 0), 0);
	assert_false(rumor_view_has_active(v, 4));
	struct rumor_view_msg m;
	sample_msg(&m, RUMOR_VIEW_MSG_JOIN);
	m.dst = 3;
	assert_int_equal(rumor_view_on_message(v, &m, 0), -EINVAL);
	assert_int_equal(rumor_view_outbox_pop(v, &m), -EAGAIN);
	rumor_view_destroy(v);
}

static void test_pick_deterministic(void **state)
{
	(void)state;
	struct rumor_view *a = mk(RUMOR_VIEW_STATIC, 1, 50, 99), *b = mk(RUMOR_VIEW_STATIC, 1, 50, 99);
	struct rumor_view *c = mk(RUMOR_VIEW_STATIC, 1, 50, 100);
	uint32_t ids[50];
	for (uint32_t i = 0; i < 50; i++)
		ids[i] = i + 1;
	rumor_view_join(a, ids, 50, 0);
	rumor_view_join(b, ids, 50, 0);
	rumor_view_join(c, ids, 50, 0);
	int differ = 0;
	for (int it = 0; it < 100; it++) {
		uint32_t x[5], y[5], z[5];
		size_t kx, ky, kz;
		rumor_view_pick(a, 5, 0, x, &kx);
		rumor_view_pick(b, 5, 0, y, &ky);
		rumor_view_pick(c, 5, 0, z, &kz);
		assert_int_equal(kx, ky);
		assert_memory_equal(x, y, sizeof(x));
		differ |= memcmp(x, z, sizeof(x)) != 0;
	}
	assert_true(differ);
	rumor_view_destroy(a);
	rumor_view_destroy(b);
	rumor_view_destroy(c);
}

static void test_leader_node(void **state)
{
	(void)state;
	struct rumor_view *v = mk(RUMOR_VIEW_LEADER, 5, 100, 1);
	uint32_t contacts[] = {1, 2, 5};
	assert_int_equal(rumor_view_join(v, contacts, 3, 0), 0);
	assert_clean(v, 2);
	uint32_t ids[] = {5, 10, 11, 12};
	struct rumor_view_msg m;
	assert_int_equal(rumor_view_leader_assign_msg(1, 5, 2, ids, 4, &m), 0);
	assert_int_equal(rumor_view_on_message(v, &m, 0), 0);
	size_t n;
	const uint32_t *a = rumor_view_active(v, &n);
	assert_int_equal(n, 3); /* self dropped */
	assert_clean(v, 3);
	assert_int_equal(a[0], 10);
	/* an older epoch does not overwrite */
	uint32_t old[] = {20, 21};
	assert_int_equal(rumor_view_leader_assign_msg(1, 5, 1, old, 2, &m), 0);
	assert_int_equal(rumor_view_on_message(v, &m, 0), 0);
	assert_true(rumor_view_has_active(v, 10));
	assert_false(rumor_view_has_active(v, 20));
	/* misaddressed */
	assert_int_equal(rumor_view_leader_assign_msg(1, 6, 9, old, 2, &m), 0);
	assert_int_equal(rumor_view_on_message(v, &m, 0), -EINVAL);
	assert_int_equal(rumor_view_on_peer_down(v, 11, 0), 0);
	assert_false(rumor_view_has_active(v, 11));
	rumor_view_destroy(v);
}

static void test_leader_samples(void **state)
{
	(void)state;
	enum { N = 1000, K = 4 };
	uint32_t *mem = malloc(N * sizeof(*mem)), *ids = malloc(N * K * sizeof(*ids));
	uint32_t *ids2 = malloc(N * K * sizeof(*ids));
	uint16_t counts[N], counts2[N];
	int *indeg = calloc(N + 1, sizeof(int));
	for (uint32_t i = 0; i < N; i++)
		mem[i] = 2 * i + 1; /* arbitrary ids */
	assert_int_equal(rumor_view_leader_samples(mem, N, K, 7, ids, counts), 0);
	for (uint32_t i = 0; i < N; i++) {
		assert_true(counts[i] >= K - 1 && counts[i] <= K);
		for (unsigned j = 0; j < counts[i]; j++) {
			uint32_t x = ids[i * K + j];
			assert_int_not_equal(x, mem[i]);
			assert_int_equal(x % 2, 1);
			indeg[(x - 1) / 2]++;
			for (unsigned l = 0; l < j; l++)
				assert_int_not_equal(ids[i * K + l], x);
		}
	}
	for (uint32_t i = 0; i < N; i++)
		assert_true(indeg[i] >= 1 && indeg[i] <= K);
	assert_int_equal(rumor_view_leader_samples(mem, N, K, 7, ids2, counts2), 0);
	assert_memory_equal(ids, ids2, N * K * sizeof(*ids)); /* same seed, same views */
	assert_memory_equal(counts, counts2, sizeof(counts));
	/* small membership: everybody gets everybody else */
	assert_int_equal(rumor_view_leader_samples(mem, 4, K, 7, ids, counts), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(counts[i], 3);
	assert_int_equal(rumor_view_leader_samples(mem, 0, K, 7, ids, counts), -EINVAL);
	assert_int_equal(rumor_view_leader_samples(mem, N, 0, 7, ids, counts), -EINVAL);
	free(mem);
	free(ids);
	free(ids2);
	free(indeg);
}

/* Tiny in-memory pump: NODES views, FIFO delivery, dead nodes reported to the sender. */
enum { NODES = 40 };
static struct rumor_view *net[NODES + 1];
static int dead[NODES + 1];

static void pump(uint64_t now)
{
	static struct rumor_view_msg q[100000];
	size_t h = 0, t = 0;
	for (int loops = 0; loops < 10000; loops++) {
		for (int i = 1; i <= NODES; i++)
			while (net[i] && t < 100000 && rumor_view_outbox_pop(net[i], &q[t]) == 0)
				t++;
		if (h == t)
			return;
		while (h < t) {
			struct rumor_view_msg *m = &q[h++];
			uint8_t buf[RUMOR_VIEW_MSG_MAX_BYTES];
			size_t len;
			struct rumor_view_msg d;
			assert_int_equal(rumor_view_msg_encode(m, buf, sizeof(buf), &len), 0);
			assert_int_equal(rumor_view_msg_decode(buf, len, &d), 0);
			if (dead[d.dst])
				assert_int_equal(rumor_view_on_peer_down(net[d.src], d.dst, now), 0);
			else
				assert_int_equal(rumor_view_on_message(net[d.dst], &d, now), 0);
		}
		h = t = 0;
	}
	fail_msg("message storm");
}

static void build(enum rumor_view_strategy st, uint64_t seed)
{
	memset(dead, 0, sizeof(dead));
	for (uint32_t i = 1; i <= NODES; i++) {
		struct rumor_view_config c;
		rumor_view_config_defaults(&c, st, i, NODES, seed);
		c.period_ms = 100;
		if (st == RUMOR_VIEW_CYCLON) {
			c.active_size = 8;
			c.shuffle_len = 3;
		}
		assert_int_equal(rumor_view_create(&c, &net[i]), 0);
		if (i > 1) {
			uint32_t contact = 1 + (i * 7919) % (i - 1);
			assert_int_equal(rumor_view_join(net[i], &contact, 1, 0), 0);
			pump(0);
		}
	}
	for (uint64_t now = 100; now <= 3000; now += 100) {
		for (int i = 1; i <= NODES; i++)
			assert_int_equal(rumor_view_tick(net[i], now), 0);
		pump(now);
	}
}

static void teardown_net(void)
{
	for (int i = 1; i <= NODES; i++) {
		rumor_view_destroy(net[i]);
		net[i] = NULL;
	}
}

static void test_hyparview_small(void **state)
{
	(void)state;
	build(RUMOR_VIEW_HYPARVIEW, 5);
	unsigned bound = rumor_view_get_config(net[1])->active_size;
	size_t total = 0;
	for (uint32_t i = 1; i <= NODES; i++) {
		assert_clean(net[i], bound);
		size_t n;
		const uint32_t *a = rumor_view_active(net[i], &n);
		total += n;
		assert_true(n >= 1);
		for (size_t j = 0; j < n; j++)
			assert_true(rumor_view_has_active(net[a[j]], i)); /* symmetric */
		struct rumor_view_stats st;
		rumor_view_get_stats(net[i], &st);
		assert_int_equal(st.msgs_rejected, 0);
		assert_true(st.shuffles >= 20);
	}
	assert_true(total >= NODES * (bound - 1)); /* views nearly full */
	/* failure-driven repair: kill node 1's neighbours' peer and report it */
	size_t n;
	const uint32_t *a = rumor_view_active(net[2], &n);
	uint32_t victim = a[0];
	dead[victim] = 1;
	for (uint32_t i = 1; i <= NODES; i++)
		if (!dead[i] && rumor_view_has_active(net[i], victim))
			assert_int_equal(rumor_view_on_peer_down(net[i], victim, 3000), 0);
	pump(3000);
	for (uint64_t now = 3100; now <= 3500; now += 100) {
		for (uint32_t i = 1; i <= NODES; i++)
			if (!dead[i])
				assert_int_equal(rumor_view_tick(net[i], now), 0);
		pump(now);
	}
	for (uint32_t i = 1; i <= NODES; i++)
		if (!dead[i])
			assert_false(rumor_view_has_active(net[i], victim));
	rumor_view_active(net[2], &n);
	assert_true(n >= bound - 1);
	teardown_net();
}

static void test_cyclon_small(void **state)
{
	(void)state;
	build(RUMOR_VIEW_CYCLON, 6);
	int indeg[NODES + 1] = {0};
	for (uint32_t i = 1; i <= NODES; i++) {
		assert_clean(net[i], 8);
		size_t n;
		const uint32_t *a = rumor_view_active(net[i], &n);
		assert_true(n >= 6);
		for (size_t j = 0; j < n; j++)
			indeg[a[j]]++;
	}
	for (uint32_t i = 1; i <= NODES; i++)
		assert_true(indeg[i] >= 1);
	teardown_net();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec_roundtrip),
		cmocka_unit_test(test_codec_rejects),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_static_and_pick),
		cmocka_unit_test(test_pick_deterministic),
		cmocka_unit_test(test_leader_node),
		cmocka_unit_test(test_leader_samples),
		cmocka_unit_test(test_hyparview_small),
		cmocka_unit_test(test_cyclon_small),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
