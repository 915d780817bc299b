/* cp_keys: keyring commands -> Raft entries, applied keyrings -> the dataplane (cp_keys.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <xxhash.h>

#include "cp_api.h"
#include "cp_fsm.h"
#include "cp_keys.h"
#include "cp_loop.h"
#include "cp_node_int.h"

#undef LOG
#define LOG(n, fmt, ...) \
	fprintf(stderr, "rumor-cp[%u] keys: " fmt "\n", (unsigned)(n)->self, ##__VA_ARGS__)

#define RESEND_MS 1000

struct keys_pend {
	struct raft_apply req;        /* first: libraft hands it back */
	struct keys_pend *next;
	struct cp_api_client *client; /* NULL once it left */
	struct cp_node *node;
	uint8_t op, id;
	char fp[9];
	long long t0_ms;
};

static struct keys_pend *pending; /* one rumor-cp per process */
static uint64_t last_sent_gen, last_sent_ms;

void cp_keys_fingerprint(const uint8_t key[32], char out[9])
{
	/* a 32-bit digest of a 256-bit random key tells nothing about the key, and is enough
	 * to see that two nodes or a file and the cluster hold the same one */
	static const char dom[] = "rumor gossip key fingerprint";
	uint64_t h = XXH3_64bits_withSeed(key, 32, XXH3_64bits(dom, sizeof(dom) - 1));
	snprintf(out, 9, "%08" PRIx32, (uint32_t)(h >> 32));
}

static int send_keyring(struct cp_node *n, const struct cp_fsm_keyring *kr)
{
	struct rumor_msg *m;
	struct rumor_msg_keyring *k;

	if (cp_dp_alloc(n, RUMOR_MSG_KEYRING, &m) < 0)
		return -ENOBUFS;
	k = &m->u.keyring;
	k->gen = kr->gen;
	k->use = kr->use;
	k->n = kr->n;
	memcpy(k->removed, kr->removed, sizeof(k->removed));
	for (unsigned i = 0; i < kr->n && i < RUMOR_MSG_KEYRING_MAX; i++) {
		k->keys[i].id = kr->keys[i].id;
		memcpy(k->keys[i].key, kr->keys[i].key, 32);
	}
	if (n->env.dp_send(n->env.arg, m) < 0) {
		memset(k->keys, 0, sizeof(k->keys));
		n->env.dp_free(n->env.arg, m);
		return -ENOBUFS;
	}
	last_sent_gen = kr->gen;
	last_sent_ms = cp_loop_now_ms();
	return 0;
}

static void on_keyring(void *data, const struct cp_fsm_keyring *kr)
{
	struct cp_node *n = data;

	LOG(n, "keyring generation %" PRIu64 ": %u keys, use %u", kr->gen, kr->n, kr->use);
	if (send_keyring(n, kr) < 0)
		LOG(n, "cp2dp full: the keyring goes at the next tick");
}

void cp_keys_start(struct cp_node *n)
{
	cp_fsm_set_keyring_cb(n->fsm, on_keyring, n);
	/* the Raft log and the snapshots carry the keys in clear: nobody else may read them
	 * (cp_disk, the payload log and ordered.log create their files 0600; the closed directory
	 * covers anything else) */
	if (chmod(n->dir, 0700) < 0)
		LOG(n, "chmod 0700 %s: %s", n->dir, strerror(errno));
	if (cp_fsm_keyring(n->fsm)->gen)
		send_keyring(n, cp_fsm_keyring(n->fsm));
}

void cp_keys_tick(struct cp_node *n, uint64_t now_ms)
{
	const struct cp_fsm_keyring *kr = cp_fsm_keyring(n->fsm);
	const struct rumor_dp_stats *ds = dp_client_stats(&n->dp);

	if (kr->gen == 0 || ds == NULL || ds->keyring_gen == kr->gen)
		return;
	if (last_sent_gen == kr->gen && now_ms - last_sent_ms < RESEND_MS)
		return;
	send_keyring(n, kr);
}

static json_t *id_list(const uint8_t *bitmap)
{
	json_t *a = json_array();

	for (unsigned i = 1; i < 256; i++)
		if (bitmap[i >> 3] >> (i & 7) & 1)
			json_array_append_new(a, json_integer(i));
	return a;
}

static void cmd_list(struct cp_node *n, struct cp_api_client *c)
{
	const struct cp_fsm_keyring *kr = cp_fsm_keyring(n->fsm);
	const struct rumor_dp_stats *ds = dp_client_stats(&n->dp);
	json_t *keys = json_array(), *rx = json_object();
	char fp[9], id[8];

	for (unsigned i = 0; i < kr->n; i++) {
		cp_keys_fingerprint(kr->keys[i].key, fp);
		json_array_append_new(keys, json_pack("{s:i, s:s, s:b}", "id", kr->keys[i].id,
						      "fingerprint", fp, "use",
						      kr->keys[i].id == kr->use));
	}
	for (unsigned i = 1; i < 256; i++)
		if (ds->auth_rx_by_key[i]) {
			snprintf(id, sizeof(id), "%u", i);
			json_object_set_new(rx, id, json_integer((json_int_t)ds->auth_rx_by_key[i]));
		}
	json_t *r = json_pack("{s:b, s:i, s:{s:I, s:i, s:o, s:o}, s:{s:I, s:i, s:o, s:o, s:I, s:I, "
			      "s:I}, s:s}",
			      "ok", 1, "node", n->self,
			      "replicated", "gen", (json_int_t)kr->gen, "use", kr->use, "keys", keys,
			      "removed", id_list(kr->removed),
			      "dataplane", "gen", (json_int_t)ds->keyring_gen, "use", ds->auth_use,
			      "keys", id_list(ds->auth_keys), "rx_by_key", rx,
			      "updates", (json_int_t)ds->keyring_updates,
			      "refused", (json_int_t)ds->keyring_refused,
			      "swapped_unix_ms", (json_int_t)(ds->keyring_swap_ns / 1000000),
			      "bootstrap", n->cfg.auth.keyring[0] ? n->cfg.auth.keyring : "");
	cp_api_reply(c, r);
}

static const char *op_name(unsigned op)
{
	return op == CP_KEYOP_INSTALL ? "install" : op == CP_KEYOP_USE ? "use" : "remove";
}

static void why(char *buf, size_t cap, const struct cp_fsm_keyring *kr, unsigned op,
		unsigned id, int rc)
{
	switch (rc) {
	case -EEXIST:
		snprintf(buf, cap, "key %u is installed already (remove it first)", id);
		break;
	case -ENOSPC:
		snprintf(buf, cap, "%u keys installed: remove one first", CP_FSM_KEYS_MAX);
		break;
	case -ENOKEY:
		snprintf(buf, cap, "key %u is not installed (keys install %u first)", id, id);
		break;
	case -EBUSY:
		if (kr->use == 0)
			snprintf(buf, cap, "no `keys use` committed yet: the keyring file's key "
				 "seals frames (install and use another key first)");
		else
			snprintf(buf, cap, "key %u is in use (use another key first)", id);
		break;
	case -ENOENT:
		snprintf(buf, cap, "key %u was removed already", id);
		break;
	default:
		snprintf(buf, cap, "%s %u: %s", op_name(op), id, strerror(-rc));
	}
}

static void on_applied(struct raft_apply *req, int status, void *result)
{
	struct keys_pend *p = (struct keys_pend *)req, **pp;
	struct cp_node *n = p->node;
	int rc = status != 0 ? -EIO : result ? *(const int *)result : -EPROTO;
	char msg[200];

	for (pp = &pending; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	if (rc == 0)
		LOG(n, "committed: %s %u%s%s (%lld ms)", op_name(p->op), p->id,
		    p->fp[0] ? ", fingerprint " : "", p->fp, cp_loop_now_ms() - p->t0_ms);
	if (p->client) {
		if (rc == 0)
			cp_api_reply(p->client,
				     json_pack("{s:b, s:s, s:i, s:s, s:I, s:I}", "ok", 1, "op",
					       op_name(p->op), "id", p->id, "fingerprint", p->fp,
					       "gen", (json_int_t)cp_fsm_keyring(n->fsm)->gen,
					       "ms", (json_int_t)(cp_loop_now_ms() - p->t0_ms)));
		else if (status != 0)
			cp_api_error(p->client, "keys %s: outcome unknown (%s: leadership lost; "
				     "a new leader may still commit it): see keys list",
				     op_name(p->op), raft_strerror(status));
		else {
			why(msg, sizeof(msg), cp_fsm_keyring(n->fsm), p->op, p->id, rc);
			cp_api_error(p->client, "keys %s: refused at apply: %s", op_name(p->op), msg);
		}
	}
	free(p);
}

static int hex_key(const char *s, uint8_t key[32])
{
	if (!s || strlen(s) != 64)
		return -EINVAL;
	for (unsigned i = 0; i < 32; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdefABCDEF", s[2 * i]) ||
		    !strchr("0123456789abcdefABCDEF", s[2 * i + 1]))
			return -EINVAL;
		key[i] = (uint8_t)v;
	}
	return 0;
}

static void cmd_change(struct cp_node *n, struct cp_api_client *c, unsigned op, json_t *req)
{
	json_int_t id = json_integer_value(json_object_get(req, "id"));
	struct cp_keyop k = { .op = (uint8_t)op };
	char msg[200];
	int rc;

	if (!json_is_integer(json_object_get(req, "id")) || id < 1 || id > 255) {
		cp_api_error(c, "keys %s: want \"id\" 1..255", op_name(op));
		return;
	}
	k.id = (uint8_t)id;
	if (!n->lead.leading) {
		cp_api_reply(c, json_pack("{s:b, s:s, s:I}", "ok", 0, "error",
					  "keys: not the leader", "leader", (json_int_t)n->leader));
		return;
	}
	if (op == CP_KEYOP_INSTALL) {
		if (json_is_true(json_object_get(req, "generate"))) {
			if (getrandom(k.key, sizeof(k.key), 0) != (ssize_t)sizeof(k.key)) {
				cp_api_error(c, "keys install: getrandom: %s", strerror(errno));
				return;
			}
		} else if (hex_key(json_string_value(json_object_get(req, "key")), k.key) < 0) {
			cp_api_error(c, "keys install: want \"key\" of 64 hex digits or "
					"\"generate\": true");
			return;
		}
	}
	rc = cp_fsm_keyop_check(n->fsm, &k);
	if (rc) {
		why(msg, sizeof(msg), cp_fsm_keyring(n->fsm), op, k.id, rc);
		cp_api_error(c, "keys %s: %s", op_name(op), msg);
		memset(&k, 0, sizeof(k));
		return;
	}
	struct keys_pend *p = calloc(1, sizeof(*p));
	struct raft_buffer buf = { .base = raft_malloc(CP_KEYOP_SIZE), .len = CP_KEYOP_SIZE };
	if (!p || !buf.base || cp_keyop_encode(&k, buf.base, CP_KEYOP_SIZE) < 0) {
		free(p);
		raft_free(buf.base);
		memset(&k, 0, sizeof(k));
		cp_api_error(c, "keys %s: out of memory", op_name(op));
		return;
	}
	if (op == CP_KEYOP_INSTALL)
		cp_keys_fingerprint(k.key, p->fp);
	memset(&k.key, 0, sizeof(k.key));
	p->client = c;
	p->node = n;
	p->op = (uint8_t)op;
	p->id = (uint8_t)id;
	p->t0_ms = (long long)cp_loop_now_ms();
	p->req.data = p;
	rc = raft_apply(n->raft, &p->req, &buf, 1, on_applied);
	if (rc != 0) {
		memset(buf.base, 0, CP_KEYOP_SIZE);
		raft_free(buf.base);
		free(p);
		cp_api_error(c, "keys %s: raft_apply: %s", op_name(op), raft_strerror(rc));
		return;
	}
	p->next = pending;
	pending = p;
}

void cp_keys_cmd(struct cp_node *n, struct cp_api_client *c, const char *cmd, json_t *req)
{
	if (!strcmp(cmd, "keys_list"))
		cmd_list(n, c);
	else if (!strcmp(cmd, "keys_install"))
		cmd_change(n, c, CP_KEYOP_INSTALL, req);
	else if (!strcmp(cmd, "keys_use"))
		cmd_change(n, c, CP_KEYOP_USE, req);
	else if (!strcmp(cmd, "keys_remove"))
		cmd_change(n, c, CP_KEYOP_REMOVE, req);
	else
		cp_api_error(c, "unknown command \"%s\"", cmd);
}

void cp_keys_client_closed(struct cp_node *n, struct cp_api_client *c)
{
	(void)n;
	for (struct keys_pend *p = pending; p; p = p->next)
		if (p->client == c)
			p->client = NULL;
}
