/* Cluster config: INI via libinih into struct rumor_config, with strict value checks and
 * "FILE:LINE: [section] key: what" errors. */
#include "rumor_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "rumor_vc.h"
#include "rumor_wire.h"

/* A config file is small; anything larger is certainly not one. */
#define CONFIG_FILE_MAX (1u << 20)

enum sect {
	S_NONE = 0,
	S_CLUSTER,
	S_NODE,
	S_GOSSIP,
	S_RAFT,
	S_STORAGE,
	S_DATAPLANE,
	S_AUTH,
	S_UNKNOWN,
};

/* Per-node parse state kept apart from struct rumor_node_conf (which is public). */
struct node_state {
	int line;                 /* line of the [node.N] header */
	unsigned seen;            /* bitmask of keys set */
};

enum { NK_MAC = 1, NK_IP = 2, NK_CTL = 4, NK_VOTER = 8 };

struct parse_ctx {
	struct rumor_config *cfg;
	const char *name;
	char *err;
	size_t errlen;
	int failed;
	int fail_line;
	int rc;

	/* The reader counts lines: the packaged inih is built without INI_HANDLER_LINENO. */
	const char *pos;
	int lines_done;           /* newlines consumed */
	int cur_line;             /* line the chunk being parsed starts on */

	int cluster_line;         /* line of the [cluster] header, 0 if none */
	int cluster_id_set;
	int peer_cap_set;
	int peer_cap_line;
	int window_set;
	int window_line;
	int heartbeat_line;
	int auth_line;            /* line of the last [auth] key, for the consistency checks */
	int encrypt_line;         /* line of [auth] encrypt */
	struct node_state nodes[RUMOR_CONFIG_MAX_NODES];
	/* Keys seen in the current non-node section, to reject duplicates. */
	char seen_keys[32][32];
	unsigned n_seen;
};

static void fail(struct parse_ctx *c, int line, const char *section, const char *key,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void fail(struct parse_ctx *c, int line, const char *section, const char *key,
		 const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->failed)
		return;
	c->failed = 1;
	c->fail_line = line;
	c->rc = -EINVAL;
	if (!c->err || !c->errlen)
		return;
	if (section && key)
		n = snprintf(c->err, c->errlen, "%s:%d: [%s] %s: ", c->name, line, section, key);
	else if (section)
		n = snprintf(c->err, c->errlen, "%s:%d: [%s]: ", c->name, line, section);
	else
		n = snprintf(c->err, c->errlen, "%s:%d: ", c->name, line);
	if (n < 0 || (size_t)n >= c->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

void rumor_config_defaults(struct rumor_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->cluster_name, sizeof(cfg->cluster_name), "rumor");
	cfg->gossip.fanout = 3;
	cfg->gossip.rounds = 4;
	cfg->gossip.port = RUMOR_WIRE_PORT;
	cfg->gossip.mtu = RUMOR_WIRE_MTU_DEFAULT;
	cfg->gossip.flush_us = 200;
	cfg->gossip.view = RUMOR_VIEW_STATIC;
	cfg->gossip.view_size = 8;
	cfg->gossip.view_refresh_ms = 5000;
	cfg->raft.election_timeout_ms = 1000;
	cfg->raft.heartbeat_ms = 100;
	cfg->raft.snapshot_threshold = 1024;
	cfg->raft.snapshot_trailing = 256;
	cfg->raft.batch_max_events = 4096;
	cfg->raft.batch_max_us = 2000;
	cfg->raft.gap_timeout_ms = 5000;
	snprintf(cfg->storage.dir, sizeof(cfg->storage.dir), "/var/lib/rumor");
	snprintf(cfg->storage.api_socket, sizeof(cfg->storage.api_socket),
		 "/run/rumor/node-%%n.sock");
	cfg->storage.min_free_mb = 256;
	cfg->dataplane.store_slots = 65536;
	cfg->dataplane.store_peer_cap = 65536 / 4;
	cfg->dataplane.origin_window = 65536 / 8;
	cfg->dataplane.clock_window = 1000000;
	cfg->dataplane.workers = 1;
	cfg->dataplane.arp_retry_ms = 1000;
	cfg->dataplane.arp_refresh_s = 60;
}

/* [node.N] -> N, or -1 when the name is not a valid node section. */
static int node_section_id(const char *s)
{
	char *end;
	unsigned long v;

	if (strncmp(s, "node.", 5) != 0)
		return -1;
	s += 5;
	if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < 1 || v > RUMOR_NODE_ID_MAX)
		return -1;
	return (int)v;
}

static enum sect section_kind(const char *s)
{
	if (!strcmp(s, "cluster"))
		return S_CLUSTER;
	if (!strncmp(s, "node.", 5))
		return node_section_id(s) > 0 ? S_NODE : S_UNKNOWN;
	if (!strcmp(s, "gossip"))
		return S_GOSSIP;
	if (!strcmp(s, "raft"))
		return S_RAFT;
	if (!strcmp(s, "storage"))
		return S_STORAGE;
	if (!strcmp(s, "dataplane"))
		return S_DATAPLANE;
	if (!strcmp(s, "auth"))
		return S_AUTH;
	return S_UNKNOWN;
}

static struct rumor_node_conf *find_node(struct parse_ctx *c, int id, struct node_state **st)
{
	for (unsigned i = 0; i < c->cfg->n_nodes; i++) {
		if (c->cfg->nodes[i].id == id) {
			if (st)
				*st = &c->nodes[i];
			return &c->cfg->nodes[i];
		}
	}
	return NULL;
}

/* A section header line: validated here because inih only reports sections with keys. */
static void on_section(struct parse_ctx *c, const char *name)
{
	enum sect k = section_kind(name);

	c->n_seen = 0;
	if (k == S_UNKNOWN) {
		if (!strncmp(name, "node.", 5))
			fail(c, c->cur_line, name, NULL, "bad node id (want 1..%u)",
			     RUMOR_NODE_ID_MAX);
		else
			fail(c, c->cur_line, name, NULL, "unknown section");
		return;
	}
	if (k == S_CLUSTER && !c->cluster_line)
		c->cluster_line = c->cur_line;
	if (k == S_NODE) {
		int id = node_section_id(name);
		struct rumor_node_conf *n;

		if (find_node(c, id, NULL)) {
			fail(c, c->cur_line, name, NULL, "duplicate node");
			return;
		}
		if (c->cfg->n_nodes >= RUMOR_CONFIG_MAX_NODES) {
			fail(c, c->cur_line, name, NULL, "too many nodes (most %d)",
			     RUMOR_CONFIG_MAX_NODES);
			return;
		}
		n = &c->cfg->nodes[c->cfg->n_nodes];
		memset(n, 0, sizeof(*n));
		n->id = (uint16_t)id;
		n->voter = true;
		c->nodes[c->cfg->n_nodes].line = c->cur_line;
		c->nodes[c->cfg->n_nodes].seen = 0;
		c->cfg->n_nodes++;
	}
}

/* ini_reader over a NUL-terminated string that counts lines and sees section headers. */
static char *reader(char *str, int num, void *stream)
{
	struct parse_ctx *c = stream;
	const char *p = c->pos;
	int n = 0;

	if (c->failed || !*p)
		return NULL;
	while (n < num - 1 && p[n]) {
		if (p[n++] == '\n')
			break;
	}
	c->cur_line = c->lines_done + 1;
	/* inih would split an over-long line into two "lines" and number them apart; refuse
	 * it instead, so that inih's line numbers and ours always agree. */
	if (n == num - 1 && p[n] && p[n - 1] != '\n' && !(p[n] == '\n' && p[n - 1] == '\r')) {
		fail(c, c->cur_line, NULL, NULL, "line too long (most %d bytes)", num - 2);
		return NULL;
	}
	memcpy(str, p, (size_t)n);
	str[n] = '\0';
	c->pos = p + n;
	if (n && str[n - 1] == '\n')
		c->lines_done++;

	{
		const char *s = str;
		const char *e;

		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		if (*s == '[' && (e = strchr(s + 1, ']')) != NULL) {
			char name[64];
			size_t len = (size_t)(e - s - 1);

			if (len >= sizeof(name))
				len = sizeof(name) - 1;
			memcpy(name, s + 1, len);
			name[len] = '\0';
			on_section(c, name);
		}
	}
	return str;
}

/* Decimal unsigned in [lo, hi]: no sign, no spaces, no trailing garbage. */
static int parse_uint(struct parse_ctx *c, const char *sec, const char *key, const char *v,
		      unsigned long lo, unsigned long hi, unsigned long *out)
{
	char *end;
	unsigned long x;

	if (*v < '0' || *v > '9') {
		fail(c, c->cur_line, sec, key, "not a number: '%s'", v);
		return -1;
	}
	errno = 0;
	x = strtoul(v, &end, 10);
	if (*end) {
		fail(c, c->cur_line, sec, key, "not a number: '%s'", v);
		return -1;
	}
	if (errno == ERANGE || x < lo || x > hi) {
		fail(c, c->cur_line, sec, key, "'%s' out of range %lu..%lu", v, lo, hi);
		return -1;
	}
	*out = x;
	return 0;
}

static int parse_str(struct parse_ctx *c, const char *sec, const char *key, const char *v,
		     char *dst, size_t cap)
{
	size_t len = strlen(v);

	if (len == 0) {
		fail(c, c->cur_line, sec, key, "empty");
		return -1;
	}
	if (len >= cap) {
		fail(c, c->cur_line, sec, key, "too long (most %zu bytes)", cap - 1);
		return -1;
	}
	memcpy(dst, v, len + 1);
	return 0;
}

static int parse_mac(const char *v, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		int hi, lo;

		hi = v[0];
		lo = hi ? v[1] : 0;
		if (!hi || !lo)
			return -1;
#define HEXV(ch) ((ch) >= '0' && (ch) <= '9' ? (ch) - '0' : \
		  (ch) >= 'a' && (ch) <= 'f' ? (ch) - 'a' + 10 : \
		  (ch) >= 'A' && (ch) <= 'F' ? (ch) - 'A' + 10 : -1)
		hi = HEXV(hi);
		lo = HEXV(lo);
#undef HEXV
		if (hi < 0 || lo < 0)
			return -1;
		mac[i] = (uint8_t)(hi << 4 | lo);
		v += 2;
		if (i < 5 && *v++ != ':')
			return -1;
	}
	return *v ? -1 : 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0")) {
		*out = false;
		return 0;
	}
	return -1;
}

static int node_key(struct parse_ctx *c, const char *sec, const char *key, const char *v)
{
	struct node_state *st = NULL;
	struct rumor_node_conf *n = find_node(c, node_section_id(sec), &st);
	unsigned bit;

	if (!n) {
		/* Only when the header itself was rejected; that error already stands. */
		fail(c, c->cur_line, sec, key, "no such node");
		return 0;
	}
	if (!strcmp(key, "mac"))
		bit = NK_MAC;
	else if (!strcmp(key, "ip"))
		bit = NK_IP;
	else if (!strcmp(key, "control"))
		bit = NK_CTL;
	else if (!strcmp(key, "voter"))
		bit = NK_VOTER;
	else {
		fail(c, c->cur_line, sec, key, "unknown key");
		return 0;
	}
	if (st->seen & bit) {
		fail(c, c->cur_line, sec, key, "duplicate key");
		return 0;
	}
	st->seen |= bit;

	if (bit == NK_MAC) {
		/* "arp": the dataplane resolves it (dataplane/dp_arp.h); a MAC given wins */
		if (!strcmp(v, "arp"))
			n->mac_arp = true;
		else if (parse_mac(v, n->mac))
			fail(c, c->cur_line, sec, key,
			     "bad MAC '%s' (want aa:bb:cc:dd:ee:ff or arp)", v);
	} else if (bit == NK_IP) {
		struct in_addr a;

		if (inet_pton(AF_INET, v, &a) != 1)
			fail(c, c->cur_line, sec, key, "bad IPv4 address '%s'", v);
		else
			n->ip = ntohl(a.s_addr);
	} else if (bit == NK_CTL) {
		const char *colon = strrchr(v, ':');
		unsigned long port;
		size_t hl;

		if (!colon || colon == v) {
			fail(c, c->cur_line, sec, key, "want host:port, got '%s'", v);
			return 0;
		}
		hl = (size_t)(colon - v);
		if (hl >= sizeof(n->ctl_host)) {
			fail(c, c->cur_line, sec, key, "host too long (most %zu bytes)",
			     sizeof(n->ctl_host) - 1);
			return 0;
		}
		if (parse_uint(c, sec, key, colon + 1, 1, 65535, &port))
			return 0;
		memcpy(n->ctl_host, v, hl);
		n->ctl_host[hl] = '\0';
		n->ctl_port = (uint16_t)port;
	} else {
		if (parse_bool(v, &n->voter))
			fail(c, c->cur_line, sec, key, "want true or false, got '%s'", v);
	}
	return !c->failed;
}

struct num_key {
	enum sect sect;
	const char *key;
	unsigned long lo, hi;
	size_t off;
	unsigned size;           /* 1, 2 or 4 bytes */
};

#define NK(s, k, lo, hi, field) { s, k, lo, hi, offsetof(struct rumor_config, field), \
				  sizeof(((struct rumor_config *)0)->field) }

static const struct num_key num_keys[] = {
	NK(S_CLUSTER, "id", 1, UINT32_MAX, cluster_id),
	NK(S_GOSSIP, "fanout", 1, 64, gossip.fanout),
	NK(S_GOSSIP, "rounds", 1, 64, gossip.rounds),
	NK(S_GOSSIP, "port", 1, 65535, gossip.port),
	/* 576: the least every IPv4 host takes; 9000: jumbo frames (rumor-dp sizes its RX
	 * buffers and the port's MTU by it) */
	NK(S_GOSSIP, "mtu", 576, 9000, gossip.mtu),
	NK(S_GOSSIP, "flush_us", 1, 10000000, gossip.flush_us),
	NK(S_GOSSIP, "view_size", 1, RUMOR_VC_MAX_ENTRIES - 1, gossip.view_size),
	NK(S_GOSSIP, "view_refresh_ms", 1, 86400000, gossip.view_refresh_ms),
	NK(S_RAFT, "election_timeout_ms", 10, 600000, raft.election_timeout_ms),
	NK(S_RAFT, "heartbeat_ms", 1, 600000, raft.heartbeat_ms),
	NK(S_RAFT, "snapshot_threshold", 1, UINT32_MAX, raft.snapshot_threshold),
	NK(S_RAFT, "snapshot_trailing", 0, UINT32_MAX, raft.snapshot_trailing),
	NK(S_RAFT, "batch_max_events", 1, 1u << 24, raft.batch_max_events),
	NK(S_RAFT, "batch_max_us", 1, 10000000, raft.batch_max_us),
	NK(S_RAFT, "gap_timeout_ms", 1, 3600000, raft.gap_timeout_ms),
	NK(S_STORAGE, "min_free_mb", 0, 1u << 24, storage.min_free_mb),
	NK(S_AUTH, "use", 1, 255, auth.use),
	NK(S_DATAPLANE, "store_slots", 1, 1u << 24, dataplane.store_slots),
	NK(S_DATAPLANE, "store_peer_cap", 1, 1u << 24, dataplane.store_peer_cap),
	NK(S_DATAPLANE, "origin_window", 1, 1u << 24, dataplane.origin_window),
	/* Below a few thousand honest origins running ahead of the order would be dropped. */
	NK(S_DATAPLANE, "clock_window", 1024, UINT32_MAX, dataplane.clock_window),
	NK(S_DATAPLANE, "workers", 1, 8, dataplane.workers),
	NK(S_DATAPLANE, "arp_retry_ms", 10, 60000, dataplane.arp_retry_ms),
	NK(S_DATAPLANE, "arp_refresh_s", 1, 86400, dataplane.arp_refresh_s),
};

static int seen_before(struct parse_ctx *c, const char *key)
{
	for (unsigned i = 0; i < c->n_seen; i++)
		if (!strcmp(c->seen_keys[i], key))
			return 1;
	if (c->n_seen < sizeof(c->seen_keys) / sizeof(c->seen_keys[0]) &&
	    strlen(key) < sizeof(c->seen_keys[0]))
		snprintf(c->seen_keys[c->n_seen++], sizeof(c->seen_keys[0]), "%s", key);
	return 0;
}

static int handler(void *user, const char *sec, const char *key, const char *v)
{
	struct parse_ctx *c = user;
	struct rumor_config *cfg = c->cfg;
	enum sect k = section_kind(sec);

	if (c->failed)
		return 0;
	if (k == S_NONE || !*sec) {
		fail(c, c->cur_line, NULL, NULL, "%s: key outside any section", key);
		return 0;
	}
	if (k == S_UNKNOWN) {
		fail(c, c->cur_line, sec, NULL, "unknown section");
		return 0;
	}
	if (k == S_NODE)
		return node_key(c, sec, key, v);
	if (seen_before(c, key)) {
		fail(c, c->cur_line, sec, key, "duplicate key");
		return 0;
	}

	for (size_t i = 0; i < sizeof(num_keys) / sizeof(num_keys[0]); i++) {
		const struct num_key *nk = &num_keys[i];
		unsigned long x;
		uint8_t *dst = (uint8_t *)cfg + nk->off;

		if (nk->sect != k || strcmp(nk->key, key))
			continue;
		if (parse_uint(c, sec, key, v, nk->lo, nk->hi, &x))
			return 0;
		if (nk->size == 1) {
			uint8_t y = (uint8_t)x;

			memcpy(dst, &y, 1);
		} else if (nk->size == 2) {
			uint16_t y = (uint16_t)x;

			memcpy(dst, &y, 2);
		} else {
			uint32_t y = (uint32_t)x;

			memcpy(dst, &y, 4);
		}
		if (k == S_CLUSTER)
			c->cluster_id_set = 1;
		if (!strcmp(key, "store_peer_cap")) {
			c->peer_cap_set = 1;
			c->peer_cap_line = c->cur_line;
		}
		if (!strcmp(key, "origin_window")) {
			c->window_set = 1;
			c->window_line = c->cur_line;
		}
		if (!strcmp(key, "heartbeat_ms"))
			c->heartbeat_line = c->cur_line;
		if (k == S_AUTH)
			c->auth_line = c->cur_line;
		return 1;
	}

	/* [auth]: the gossip keyring (rumor_auth.h reads the file at rumor-dp start-up), or
	 * insecure = true, parsed as the node config's TLS insecure is */
	if (k == S_AUTH && !strcmp(key, "keyring")) {
		c->auth_line = c->cur_line;
		return !parse_str(c, sec, key, v, cfg->auth.keyring, sizeof(cfg->auth.keyring));
	}
	if (k == S_AUTH && !strcmp(key, "insecure")) {
		c->auth_line = c->cur_line;
		if (parse_bool(v, &cfg->auth.insecure) == 0)
			return 1;
		fail(c, c->cur_line, sec, key, "want true or false");
		return 0;
	}
	if (k == S_AUTH && !strcmp(key, "encrypt")) {
		c->encrypt_line = c->cur_line;
		if (parse_bool(v, &cfg->auth.encrypt) == 0)
			return 1;
		fail(c, c->cur_line, sec, key, "want true or false");
		return 0;
	}

	if (k == S_CLUSTER && !strcmp(key, "name"))
		return !parse_str(c, sec, key, v, cfg->cluster_name, sizeof(cfg->cluster_name));
	if (k == S_STORAGE && !strcmp(key, "dir"))
		return !parse_str(c, sec, key, v, cfg->storage.dir, sizeof(cfg->storage.dir));
	if (k == S_STORAGE && !strcmp(key, "api_socket"))
		return !parse_str(c, sec, key, v, cfg->storage.api_socket,
				  sizeof(cfg->storage.api_socket));
	if (k == S_GOSSIP && !strcmp(key, "view")) {
		static const char *const names[] = { "static", "leader", "hyparview", "cyclon" };

		for (unsigned i = 0; i < 4; i++) {
			if (!strcmp(v, names[i])) {
				cfg->gossip.view = (enum rumor_view_strategy)i;
				return 1;
			}
		}
		fail(c, c->cur_line, sec, key,
		     "unknown strategy '%s' (static, leader, hyparview, cyclon)", v);
		return 0;
	}
	fail(c, c->cur_line, sec, key, "unknown key");
	return 0;
}

static int cmp_node(const void *a, const void *b)
{
	const struct rumor_node_conf *x = a, *y = b;

	return (int)x->id - (int)y->id;
}

/* Whole-file checks after the last line. */
static void finish(struct parse_ctx *c)
{
	struct rumor_config *cfg = c->cfg;
	int last = c->lines_done ? c->lines_done : 1;

	for (unsigned i = 0; i < cfg->n_nodes && !c->failed; i++) {
		char sec[16];
		const char *miss = !(c->nodes[i].seen & NK_MAC) ? "mac" :
				   !(c->nodes[i].seen & NK_IP) ? "ip" :
				   !(c->nodes[i].seen & NK_CTL) ? "control" : NULL;

		snprintf(sec, sizeof(sec), "node.%u", cfg->nodes[i].id);
		if (miss)
			fail(c, c->nodes[i].line, sec, miss, "missing");
	}
	if (c->failed)
		return;
	if (!c->cluster_id_set) {
		fail(c, c->cluster_line ? c->cluster_line : last, "cluster", "id", "missing");
		return;
	}
	if (cfg->n_nodes == 0) {
		fail(c, last, "node.*", NULL, "no nodes");
		return;
	}
	if (cfg->raft.heartbeat_ms >= cfg->raft.election_timeout_ms) {
		fail(c, c->heartbeat_line ? c->heartbeat_line : last, "raft", "heartbeat_ms",
		     "must be below election_timeout_ms (%u)", cfg->raft.election_timeout_ms);
		return;
	}
	if (!c->peer_cap_set) {
		/* every other node's frames plus our own window must fit at once */
		uint32_t share = cfg->n_nodes + 1 > 4 ? cfg->n_nodes + 1 : 4;

		cfg->dataplane.store_peer_cap = cfg->dataplane.store_slots / share;
		if (!cfg->dataplane.store_peer_cap)
			cfg->dataplane.store_peer_cap = 1;
	} else if (cfg->dataplane.store_peer_cap > cfg->dataplane.store_slots) {
		fail(c, c->peer_cap_line, "dataplane", "store_peer_cap",
		     "over store_slots (%u)", cfg->dataplane.store_slots);
		return;
	}
	if (!c->window_set) {
		/* half a peer's cap: a receiver that applies later than the origin still has
		 * room for everything the origin has in flight */
		cfg->dataplane.origin_window = cfg->dataplane.store_peer_cap / 2;
		if (!cfg->dataplane.origin_window)
			cfg->dataplane.origin_window = 1;
	} else if (cfg->dataplane.origin_window > cfg->dataplane.store_peer_cap) {
		fail(c, c->window_line, "dataplane", "origin_window",
		     "over store_peer_cap (%u): receivers would drop what the origin accepted",
		     cfg->dataplane.store_peer_cap);
		return;
	}
	if (cfg->auth.insecure && cfg->auth.keyring[0]) {
		fail(c, c->auth_line, "auth", "insecure",
		     "true, but a keyring is set too (remove one)");
		return;
	}
	if (cfg->auth.encrypt && !cfg->auth.keyring[0]) {
		fail(c, c->encrypt_line, "auth", "encrypt", "true, but no keyring to encrypt with");
		return;
	}
	if (cfg->auth.use && !cfg->auth.keyring[0]) {
		fail(c, c->auth_line, "auth", "use", "no keyring to take key %u from",
		     cfg->auth.use);
		return;
	}
	qsort(cfg->nodes, cfg->n_nodes, sizeof(cfg->nodes[0]), cmp_node);
}

int rumor_config_parse(const char *text, const char *name, struct rumor_config *cfg,
		       char *err, size_t errlen)
{
	struct parse_ctx *c;
	int rc;

	if (!text || !cfg)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (err && errlen)
		err[0] = '\0';
	rumor_config_defaults(cfg);
	snprintf(cfg->path, sizeof(cfg->path), "%s", name ? name : "<string>");
	c->cfg = cfg;
	c->name = name ? name : "<string>";
	c->err = err;
	c->errlen = errlen;
	c->pos = text;

	rc = ini_parse_stream(reader, c, handler, c);
	/* inih goes on after a syntax error and returns the first bad line; a later key's
	 * error must not hide it. */
	if (rc > 0 && c->failed && rc < c->fail_line)
		c->failed = 0;
	if (rc > 0 && !c->failed)
		fail(c, rc, NULL, NULL, "syntax error (want [section] or key = value)");
	else if (rc < 0 && !c->failed)
		fail(c, c->cur_line, NULL, NULL, "parser failed (%d)", rc);
	if (!c->failed)
		finish(c);
	rc = c->failed ? c->rc : 0;
	free(c);
	return rc;
}

int rumor_config_load(const char *path, struct rumor_config *cfg, char *err, size_t errlen)
{
	FILE *f;
	char *text;
	size_t n;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	f = fopen(path, "r");
	if (!f) {
		rc = -errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(-rc));
		return rc;
	}
	text = malloc(CONFIG_FILE_MAX + 1);
	if (!text) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(text, 1, CONFIG_FILE_MAX + 1, f);
	rc = ferror(f) ? -EIO : 0;
	fclose(f);
	if (!rc && n > CONFIG_FILE_MAX)
		rc = -EFBIG;
	if (rc) {
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-rc));
		free(text);
		return rc;
	}
	text[n] = '\0';
	rc = rumor_config_parse(text, path, cfg, err, errlen);
	free(text);
	return rc;
}

const struct rumor_node_conf *rumor_config_node(const struct rumor_config *cfg, uint16_t id)
{
	for (unsigned i = 0; i < cfg->n_nodes; i++)
		if (cfg->nodes[i].id == id)
			return &cfg->nodes[i];
	return NULL;
}

int rumor_config_expand(const char *tmpl, uint16_t node, char *out, size_t cap)
{
	size_t k = 0;

	for (const char *p = tmpl; *p; p++) {
		if (p[0] == '%' && p[1] == 'n') {
			char num[8];
			int w = snprintf(num, sizeof(num), "%u", node);

			if (k + (size_t)w >= cap)
				return -ENAMETOOLONG;
			memcpy(out + k, num, (size_t)w);
			k += (size_t)w;
			p++;
			continue;
		}
		if (k + 1 >= cap)
			return -ENAMETOOLONG;
		out[k++] = *p;
	}
	if (k >= cap)
		return -ENAMETOOLONG;
	out[k] = '\0';
	return 0;
}

unsigned rumor_config_voters(const struct rumor_config *cfg)
{
	unsigned v = 0;

	for (unsigned i = 0; i < cfg->n_nodes; i++)
		v += cfg->nodes[i].voter;
	return v;
}
