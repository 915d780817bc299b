/* Test model and order checker (see model.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "rumor_rand.h"

uint64_t m_rand(uint64_t *s)
{
	return rumor_splitmix64(s);
}

void m_init(struct model *m, unsigned nodes, uint64_t seed)
{
	memset(m, 0, sizeof(*m));
	m->rng = seed;
	m->nodes = nodes;
	m->nkeys = 8;
}

void m_free(struct model *m)
{
	free(m->ev);
	m->ev = NULL;
	for (unsigned i = 0; i <= M_MAX_NODES; i++)
		free(m->by_seq[i]);
}

unsigned m_create(struct model *m, uint16_t origin)
{
	if (m->nev == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 256;
		m->ev = realloc(m->ev, m->cap * sizeof(*m->ev));
		if (!m->ev)
			abort();
	}
	struct m_event *e = &m->ev[m->nev];
	memset(e, 0, sizeof(*e));
	e->origin = origin;
	e->seq = ++m->clock[origin][origin];
	for (unsigned n = 1; n <= m->nodes; n++)
		if (m->clock[origin][n]) {
			e->ts_node[e->ts_n] = (uint16_t)n;
			e->ts_ctr[e->ts_n++] = m->clock[origin][n];
		}
	unsigned k = m_below(&m->rng, m->nkeys);
	switch (m_below(&m->rng, 4)) {
	case 0: e->len = (uint32_t)snprintf(e->payload, sizeof(e->payload), "SET k%u v%u.%llu", k, origin, (unsigned long long)e->seq); break;
	case 1: e->len = (uint32_t)snprintf(e->payload, sizeof(e->payload), "INCR c%u %u", k, origin); break;
	case 2: e->len = (uint32_t)snprintf(e->payload, sizeof(e->payload), "DEL k%u", k); break;
	default: e->len = (uint32_t)snprintf(e->payload, sizeof(e->payload), "note %u/%llu", origin, (unsigned long long)e->seq); break;
	}
	rumor_event_id_compute(origin, e->seq, e->payload, e->len, &e->id);
	e->held = 1u << origin;
	if (e->seq > m->by_cap[origin]) {
		m->by_cap[origin] = m->by_cap[origin] ? m->by_cap[origin] * 2 : 64;
		m->by_seq[origin] = realloc(m->by_seq[origin], m->by_cap[origin] * sizeof(unsigned));
		if (!m->by_seq[origin])
			abort();
	}
	m->by_seq[origin][e->seq - 1] = m->nev;
	return m->nev++;
}

int m_deliver(struct model *m, unsigned i, uint16_t to)
{
	struct m_event *e = &m->ev[i];
	if (e->held & (1u << to))
		return 0;
	e->held |= 1u << to;
	for (unsigned k = 0; k < e->ts_n; k++)
		if (m->clock[to][e->ts_node[k]] < e->ts_ctr[k])
			m->clock[to][e->ts_node[k]] = e->ts_ctr[k];
	return 1;
}

void m_gossip(struct model *m)
{
	if (!m->nev)
		return;
	/* bias toward recent events, as gossip rounds do */
	unsigned span = m->nev < 64 ? m->nev : 64;
	unsigned i = m->nev - 1 - m_below(&m->rng, span);
	uint16_t to = (uint16_t)(1 + m_below(&m->rng, m->nodes));
	m_deliver(m, i, to);
}

void m_ts(const struct m_event *e, struct rumor_vc *out)
{
	/* entries are already sorted by node and nonzero: fill the clock directly */
	out->n = e->ts_n;
	memcpy(out->node, e->ts_node, e->ts_n * sizeof(out->node[0]));
	memcpy(out->ctr, e->ts_ctr, e->ts_n * sizeof(out->ctr[0]));
}

int m_find(const struct model *m, uint16_t origin, uint64_t seq)
{
	if (origin == 0 || origin > M_MAX_NODES || seq == 0 || seq > m->clock[origin][origin])
		return -1;
	return (int)m->by_seq[origin][seq - 1];
}

void m_check_init(struct m_check *c)
{
	memset(c, 0, sizeof(*c));
}

int m_check_event(struct m_check *c, const struct model *m, uint16_t origin, uint64_t seq,
		  const struct rumor_event_id *id)
{
	int i = m_find(m, origin, seq);
	if (i < 0 || !rumor_event_id_equal(&m->ev[i].id, id)) {
		snprintf(c->why, sizeof(c->why), "applied %u:%llu never created", origin,
			 (unsigned long long)seq);
		return -1;
	}
	const struct m_event *e = &m->ev[i];
	if (!e->reported) {
		snprintf(c->why, sizeof(c->why), "applied %u:%llu never reported", origin,
			 (unsigned long long)seq);
		return -1;
	}
	if (c->through[origin] != seq - 1) {
		snprintf(c->why, sizeof(c->why), "FIFO/dup: %u:%llu after %u:%llu", origin,
			 (unsigned long long)seq, origin, (unsigned long long)c->through[origin]);
		return -1;
	}
	for (unsigned k = 0; k < e->ts_n; k++) {
		uint16_t n = e->ts_node[k];
		if (n != origin && c->through[n] < e->ts_ctr[k]) {
			snprintf(c->why, sizeof(c->why),
				 "happened-before: %u:%llu applied before its cause %u:%llu", origin,
				 (unsigned long long)seq, n, (unsigned long long)e->ts_ctr[k]);
			return -1;
		}
	}
	c->through[origin] = seq;
	return 0;
}

int m_check_skip(struct m_check *c, uint16_t origin, uint64_t seq)
{
	return m_check_skip_range(c, origin, seq, seq);
}

int m_check_skip_range(struct m_check *c, uint16_t origin, uint64_t seq, uint64_t last)
{
	if (c->through[origin] != seq - 1 || last < seq) {
		snprintf(c->why, sizeof(c->why), "skip %u:%llu..%llu out of FIFO order (through %llu)",
			 origin, (unsigned long long)seq, (unsigned long long)last,
			 (unsigned long long)c->through[origin]);
		return -1;
	}
	c->through[origin] = last;
	return 0;
}
