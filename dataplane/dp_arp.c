/* ARP for rumor-dp peers (dp_arp.h): table, request/reply codec, retry/refresh policy.
 * Pure C: time is the caller's, frames leave through ops.send. */
#include "dp_arp.h"

#include <errno.h>
#include <string.h>

#include "rumor_be.h"
#include "rumor_msg.h"

/* offsets in an Ethernet + ARP (IPv4) frame */
#define A_ETYPE 12
#define A_HTYPE 14
#define A_PTYPE 16
#define A_HLEN 18
#define A_PLEN 19
#define A_OP 20
#define A_SHA 22
#define A_SPA 28
#define A_THA 32
#define A_TPA 38

#define OP_REQUEST 1
#define OP_REPLY 2

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static void recompute_due(struct dp_arp *a)
{
	uint64_t due = UINT64_MAX;

	for (unsigned i = 0; i < a->n; i++)
		if (a->e[i].state != DP_ARP_STATIC && a->e[i].next < due)
			due = a->e[i].next;
	a->due = due;
}

void dp_arp_init(struct dp_arp *a, uint32_t my_ip, const uint8_t my_mac[6], uint64_t retry,
		 uint64_t refresh, const struct dp_arp_ops *ops, uint64_t *ctr)
{
	memset(a, 0, sizeof(*a));
	a->my_ip = my_ip;
	memcpy(a->my_mac, my_mac, 6);
	a->retry = retry ? retry : 1;
	a->refresh = refresh ? refresh : 1;
	a->ops = *ops;
	a->ctr = ctr;
	a->due = UINT64_MAX;
}

int dp_arp_add(struct dp_arp *a, uint16_t id, uint32_t ip, const uint8_t *mac)
{
	struct dp_arp_entry *e;

	for (unsigned i = 0; i < a->n; i++)
		if (a->e[i].id == id || a->e[i].ip == ip)
			return -EEXIST;
	if (a->n == DP_ARP_MAX)
		return -ENOSPC;
	e = &a->e[a->n++];
	memset(e, 0, sizeof(*e));
	e->id = id;
	e->ip = ip;
	if (mac != NULL) {
		e->state = DP_ARP_STATIC;
		memcpy(e->mac, mac, 6);
	} else {
		e->state = DP_ARP_UNRESOLVED;
		e->next = 0;
		a->unresolved++;
		a->due = 0;
	}
	return 0;
}

const struct dp_arp_entry *dp_arp_find(const struct dp_arp *a, uint32_t ip)
{
	for (unsigned i = 0; i < a->n; i++)
		if (a->e[i].ip == ip)
			return &a->e[i];
	return NULL;
}

static void put_arp(const struct dp_arp *a, uint8_t *out, const uint8_t *eth_dst, uint16_t op,
		    const uint8_t *tha, uint32_t tpa)
{
	memset(out, 0, DP_ARP_FRAME_LEN);
	memcpy(out, eth_dst, 6);
	memcpy(out + 6, a->my_mac, 6);
	rumor_be_st16(out + A_ETYPE, 0x0806);
	rumor_be_st16(out + A_HTYPE, 1);
	rumor_be_st16(out + A_PTYPE, 0x0800);
	out[A_HLEN] = 6;
	out[A_PLEN] = 4;
	rumor_be_st16(out + A_OP, op);
	memcpy(out + A_SHA, a->my_mac, 6);
	rumor_be_st32(out + A_SPA, a->my_ip);
	if (tha != NULL)
		memcpy(out + A_THA, tha, 6);
	rumor_be_st32(out + A_TPA, tpa);
}

void dp_arp_put_request(const struct dp_arp *a, uint32_t tip, uint8_t *out)
{
	put_arp(a, out, bcast, OP_REQUEST, NULL, tip);
}

static void send_request(struct dp_arp *a, struct dp_arp_entry *e, uint64_t now)
{
	uint8_t f[DP_ARP_FRAME_LEN];

	dp_arp_put_request(a, e->ip, f);
	if (e->tries < UINT8_MAX)
		e->tries++;
	e->next = now + a->retry;
	a->ctr[RUMOR_DP_ARP_REQ_TX]++;
	a->ops.send(a->ops.ctx, f, sizeof(f));
}

static void learn(struct dp_arp *a, struct dp_arp_entry *e, const uint8_t *mac, uint64_t now)
{
	bool changed = e->state != DP_ARP_RESOLVED || memcmp(e->mac, mac, 6) != 0;

	if (e->state == DP_ARP_UNRESOLVED)
		a->unresolved--;
	e->state = DP_ARP_RESOLVED;
	memcpy(e->mac, mac, 6);
	e->tries = 0;
	e->confirmed = now;
	e->next = now + a->refresh;
	if (changed) {
		a->ctr[RUMOR_DP_ARP_RESOLVED]++;
		a->ops.update(a->ops.ctx, e->id, e->mac);
	}
}

int dp_arp_input(struct dp_arp *a, const uint8_t *f, size_t len, uint64_t now)
{
	struct dp_arp_entry *e = NULL;
	const uint8_t *sha;
	uint32_t sip, tip;
	uint16_t op;
	bool for_us;

	if (len < DP_ARP_LEN || rumor_be_ld16(f + A_ETYPE) != 0x0806 ||
	    rumor_be_ld16(f + A_HTYPE) != 1 || rumor_be_ld16(f + A_PTYPE) != 0x0800 ||
	    f[A_HLEN] != 6 || f[A_PLEN] != 4)
		goto bad;
	op = rumor_be_ld16(f + A_OP);
	sha = f + A_SHA;
	/* a sender hardware address is a unicast MAC */
	if ((op != OP_REQUEST && op != OP_REPLY) || (sha[0] & 1) ||
	    !(sha[0] | sha[1] | sha[2] | sha[3] | sha[4] | sha[5]))
		goto bad;
	sip = rumor_be_ld32(f + A_SPA);
	tip = rumor_be_ld32(f + A_TPA);
	if (sip == a->my_ip && memcmp(sha, a->my_mac, 6) != 0) {
		a->ctr[RUMOR_DP_ARP_IP_CONFLICT]++;
		return 0;
	}
	for (unsigned i = 0; sip != 0 && i < a->n; i++)
		if (a->e[i].ip == sip)
			e = &a->e[i];
	for_us = tip == a->my_ip && tip != sip;
	if (op == OP_REQUEST && for_us) {
		uint8_t r[DP_ARP_FRAME_LEN];

		a->ctr[RUMOR_DP_ARP_REQ_RX]++;
		put_arp(a, r, sha, OP_REPLY, sha, sip);
		a->ctr[RUMOR_DP_ARP_REPLY_TX]++;
		a->ops.send(a->ops.ctx, r, sizeof(r));
	}
	if (e == NULL) {
		if (!(op == OP_REQUEST && for_us))
			a->ctr[RUMOR_DP_ARP_FOREIGN]++;
		return 0;
	}
	if (e->state == DP_ARP_STATIC) {
		if (memcmp(e->mac, sha, 6) != 0)
			a->ctr[RUMOR_DP_ARP_STATIC_CONFLICT]++;
		return 0;
	}
	/* solicited: a reply to us while one of our requests for it is unanswered */
	if (op == OP_REPLY && for_us && memcmp(f + A_THA, a->my_mac, 6) == 0 && e->tries > 0) {
		a->ctr[RUMOR_DP_ARP_REPLY_RX]++;
		learn(a, e, sha, now);
		recompute_due(a);
		return 0;
	}
	if (e->state == DP_ARP_UNRESOLVED && op == OP_REQUEST && for_us) {
		learn(a, e, sha, now); /* it asked for us: the exchange resolves both sides */
		recompute_due(a);
		return 0;
	}
	if (e->state == DP_ARP_RESOLVED && memcmp(e->mac, sha, 6) == 0)
		return 0; /* same MAC: nothing to learn, nothing stolen */
	a->ctr[RUMOR_DP_ARP_UNSOLICITED]++;
	if (e->state == DP_ARP_RESOLVED && e->tries == 0) {
		/* someone claims another MAC for a peer: ask (the answer to that decides) */
		e->next = now;
		if (now < a->due)
			a->due = now;
	}
	return 0;
bad:
	a->ctr[RUMOR_DP_ARP_MALFORMED]++;
	return -EBADMSG;
}

unsigned dp_arp_tick(struct dp_arp *a, uint64_t now)
{
	unsigned sent = 0;

	if (now < a->due)
		return 0;
	for (unsigned i = 0; i < a->n; i++) {
		struct dp_arp_entry *e = &a->e[i];

		if (e->state == DP_ARP_STATIC || now < e->next)
			continue;
		if (e->state == DP_ARP_RESOLVED && e->tries >= DP_ARP_TRIES) {
			e->state = DP_ARP_UNRESOLVED;
			e->tries = 0;
			a->unresolved++;
			a->ctr[RUMOR_DP_ARP_EXPIRED]++;
			a->ops.update(a->ops.ctx, e->id, NULL);
		}
		send_request(a, e, now);
		sent++;
	}
	recompute_due(a);
	return sent;
}

uint64_t dp_arp_next(const struct dp_arp *a)
{
	return a->due;
}
