/* librumor: request/reply over the node's JSON-lines API socket, reply parsing into C structs,
 * and the watch stream loop. See rumor.h for the contract. */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "rumor.h"
#include "rumor_sock.h"

#define LINE_MAX_BYTES (16u << 20) /* a reply line longer than this is not from a node */

struct rumor_client {
	int fd;
	int timeout_ms;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *buf;          /* received bytes not yet consumed */
	size_t len, cap;
	char err[256];
};

static int fail(struct rumor_client *c, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct rumor_client *c, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return rc;
}

static int open_socket(const char *path, int *fd_out)
{
	int fd = rumor_sock_connect(path);

	if (fd < 0)
		return fd;
	*fd_out = fd;
	return 0;
}

int rumor_client_connect(const char *path, struct rumor_client **out)
{
	struct rumor_client *c;
	int rc;

	if (!path || !out)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (strlen(path) >= sizeof(c->path)) {
		free(c);
		return -ENAMETOOLONG;
	}
	strcpy(c->path, path);
	c->timeout_ms = 10000;
	rc = open_socket(path, &c->fd);
	if (rc) {
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int rumor_client_adopt(int fd, struct rumor_client **out)
{
	struct rumor_client *c;

	if (fd < 0 || !out)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = fd;
	c->timeout_ms = 10000;
	*out = c;
	return 0;
}

void rumor_client_close(struct rumor_client *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c->buf);
	free(c);
}

void rumor_client_set_timeout(struct rumor_client *c, int timeout_ms)
{
	c->timeout_ms = timeout_ms;
}

const char *rumor_client_error(const struct rumor_client *c)
{
	return c->err;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int send_line(struct rumor_client *c, json_t *req)
{
	char *line = json_dumps(req, JSON_COMPACT);
	size_t len, off = 0;
	int rc = 0;

	json_decref(req);
	if (!line)
		return -ENOMEM;
	len = strlen(line);
	line[len] = '\n'; /* replaces the NUL: the buffer is not used as a string below */
	len++;
	while (off < len) {
		ssize_t n = send(c->fd, line + off, len - off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = errno == EPIPE ? -ECONNRESET : -errno;
			break;
		}
		off += (size_t)n;
	}
	free(line);
	return rc;
}

/* Next line as a JSON object in *out. @deadline: absolute ms, or < 0 for none. */
static int read_obj(struct rumor_client *c, int64_t deadline, json_t **out)
{
	for (;;) {
		char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
		if (nl) {
			json_error_t jerr;
			size_t n = (size_t)(nl - c->buf);
			json_t *o = json_loadb(c->buf, n, 0, &jerr);
			c->len -= n + 1;
			memmove(c->buf, nl + 1, c->len);
			if (!o)
				return fail(c, -EPROTO, "bad reply line: %s", jerr.text);
			if (!json_is_object(o)) {
				json_decref(o);
				return fail(c, -EPROTO, "bad reply line: not a JSON object");
			}
			*out = o;
			return 0;
		}
		if (c->len == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 4096;
			char *b;
			if (cap > LINE_MAX_BYTES)
				return fail(c, -EPROTO, "reply line over %u bytes", LINE_MAX_BYTES);
			b = realloc(c->buf, cap);
			if (!b)
				return -ENOMEM;
			c->buf = b;
			c->cap = cap;
		}
		int wait = -1;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();
			if (left <= 0)
				return fail(c, -ETIMEDOUT, "no reply within %d ms", c->timeout_ms);
			wait = left > 1000000 ? 1000000 : (int)left;
		}
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int pr = poll(&p, 1, wait);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pr == 0)
			continue; /* the deadline check above decides */
		ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n == 0)
			return fail(c, -ECONNRESET, "the node closed the connection");
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		c->len += (size_t)n;
	}
}

/* One reply to a request: stream lines (a watch on this connection) are skipped, and
 * {"ok":false} becomes -EREMOTEIO with the node's text. */
static int read_reply(struct rumor_client *c, json_t **out)
{
	int64_t deadline = c->timeout_ms > 0 ? now_ms() + c->timeout_ms : -1;

	for (;;) {
		json_t *o;
		int rc = read_obj(c, deadline, &o);
		if (rc)
			return rc;
		if (json_object_get(o, "stream")) {
			json_decref(o);
			continue;
		}
		json_t *ok = json_object_get(o, "ok");
		if (!json_is_boolean(ok)) {
			json_decref(o);
			return fail(c, -EPROTO, "reply without \"ok\"");
		}
		if (json_is_false(ok)) {
			const char *e = json_string_value(json_object_get(o, "error"));
			fail(c, -EREMOTEIO, "%s", e ? e : "(no error text)");
			json_decref(o);
			return -EREMOTEIO;
		}
		*out = o;
		return 0;
	}
}

static int request(struct rumor_client *c, json_t *req, json_t **reply)
{
	int rc;

	c->err[0] = 0;
	if (!req)
		return -ENOMEM;
	rc = send_line(c, req);
	if (rc)
		return rc;
	return read_reply(c, reply);
}

/* Typed field access: 0 or -EPROTO naming the field. */
static int get_u64(struct rumor_client *c, json_t *o, const char *key, uint64_t *v)
{
	json_t *j = json_object_get(o, key);

	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return fail(c, -EPROTO, "reply field \"%s\" missing or not a count", key);
	*v = (uint64_t)json_integer_value(j);
	return 0;
}

static int get_node(struct rumor_client *c, json_t *o, const char *key, uint16_t *v)
{
	uint64_t x = 0;
	int rc = get_u64(c, o, key, &x);

	if (rc)
		return rc;
	if (x == 0 || x > RUMOR_NODE_ID_MAX)
		return fail(c, -EPROTO, "reply field \"%s\" is not a node id", key);
	*v = (uint16_t)x;
	return 0;
}

static int get_str(struct rumor_client *c, json_t *o, const char *key, char *dst, size_t cap)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (!s || strlen(s) >= cap)
		return fail(c, -EPROTO, "reply field \"%s\" missing or too long", key);
	strcpy(dst, s);
	return 0;
}

static int get_id(struct rumor_client *c, json_t *o, const char *key, char id[33])
{
	int rc = get_str(c, o, key, id, 33);

	if (!rc && strlen(id) != 32)
		return fail(c, -EPROTO, "reply field \"%s\" is not an event id", key);
	return rc;
}

int rumor_status(struct rumor_client *c, struct rumor_status *st)
{
	json_t *r;
	int rc = request(c, json_pack("{s:s}", "cmd", "status"), &r);

	if (rc)
		return rc;
	memset(st, 0, sizeof(*st));
	const char *dp = json_string_value(json_object_get(json_object_get(r, "dataplane"),
							   "state"));
	if ((rc = get_node(c, r, "node", &st->node)) ||
	    (rc = get_str(c, r, "role", st->role, sizeof(st->role))) ||
	    (rc = get_u64(c, r, "term", &st->term)) ||
	    (rc = get_u64(c, r, "leader", &st->leader)) ||
	    (rc = get_u64(c, r, "commit_index", &st->commit_index)) ||
	    (rc = get_u64(c, r, "applied_gseq", &st->applied_gseq)) ||
	    (rc = get_str(c, r, "order_digest", st->order_digest, sizeof(st->order_digest))) ||
	    (rc = get_u64(c, r, "held_events", &st->held_events)))
		goto out;
	st->dataplane_alive = dp && !strcmp(dp, "alive");
out:
	json_decref(r);
	return rc;
}

/* Path of node @id's socket next to ours (".../node-<self>.sock"), or -ENOENT. */
static int sibling_path(const struct rumor_client *c, uint16_t self, uint64_t id, char *out,
			size_t cap)
{
	char want[32];
	const char *base = strrchr(c->path, '/');
	size_t dir;

	base = base ? base + 1 : c->path;
	dir = (size_t)(base - c->path);
	snprintf(want, sizeof(want), "node-%u.sock", self);
	if (strcmp(base, want))
		return -ENOENT;
	if ((size_t)snprintf(out, cap, "%.*snode-%llu.sock", (int)dir, c->path,
			     (unsigned long long)id) >= cap)
		return -ENAMETOOLONG;
	return 0;
}

static int add_one(struct rumor_client *c, uint16_t id, bool voter)
{
	json_t *r;
	int rc = request(c, json_pack("{s:s, s:i, s:b}", "cmd", "add", "id", (int)id, "voter",
				      voter), &r);

	if (rc)
		return rc;
	const char *done = json_string_value(json_object_get(r, "done"));
	if (!done || strcmp(done, "add"))
		rc = fail(c, -EPROTO, "add reply without \"done\":\"add\"");
	json_decref(r);
	return rc;
}

/* A client on the leader: @c itself, a new connection in *tmp, or an error. */
static int leader_client(struct rumor_client *c, struct rumor_client **use,
			 struct rumor_client **tmp)
{
	struct rumor_status st;
	char path[sizeof(c->path)];
	int rc = rumor_status(c, &st);

	*tmp = NULL;
	*use = c;
	if (rc)
		return rc;
	if (!strcmp(st.role, "leader"))
		return 0;
	if (st.leader == 0)
		return fail(c, -EAGAIN, "node %u knows no leader (election in progress?)", st.node);
	if (sibling_path(c, st.node, st.leader, path, sizeof(path)) ||
	    rumor_client_connect(path, tmp))
		return fail(c, -EHOSTUNREACH, "node %u is not the leader and node %llu's socket "
			    "cannot be reached", st.node, (unsigned long long)st.leader);
	(*tmp)->timeout_ms = c->timeout_ms;
	*use = *tmp;
	return 0;
}

static int add_ids(struct rumor_client *c, const uint16_t *ids, size_t n, bool voter,
		   const uint64_t *skip, size_t nskip)
{
	struct rumor_client *use, *tmp;
	int rc = leader_client(c, &use, &tmp);

	for (size_t i = 0; !rc && i < n; i++) {
		size_t k = 0;
		while (k < nskip && skip[k] != ids[i])
			k++;
		if (k == nskip)
			rc = add_one(use, ids[i], voter);
	}
	if (tmp) {
		if (rc)
			memcpy(c->err, tmp->err, sizeof(c->err));
		rumor_client_close(tmp);
	}
	return rc;
}

int rumor_add_peers(struct rumor_client *c, const uint16_t *ids, size_t n, bool voter)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == 0 || ids[i] > RUMOR_NODE_ID_MAX)
			return -EINVAL;
	return add_ids(c, ids, n, voter, NULL, 0);
}

int rumor_join(struct rumor_client *c, const uint16_t *ids, size_t n)
{
	uint64_t members[RUMOR_NODE_ID_MAX];
	size_t nm = 0, i;
	json_t *r, *v;
	int rc;

	for (i = 0; i < n; i++)
		if (ids[i] == 0 || ids[i] > RUMOR_NODE_ID_MAX)
			return -EINVAL;
	rc = request(c, json_pack("{s:s}", "cmd", "members"), &r);
	if (rc)
		return rc;
	json_t *arr = json_object_get(r, "members");
	if (!json_is_array(arr))
		rc = fail(c, -EPROTO, "members reply without \"members\"");
	json_array_foreach(arr, i, v) {
		if (rc || nm == RUMOR_NODE_ID_MAX)
			break;
		rc = get_u64(c, v, "id", &members[nm++]);
	}
	json_decref(r);
	if (rc)
		return rc;
	return add_ids(c, ids, n, true, members, nm);
}

int rumor_current_view(struct rumor_client *c, char *buf, size_t cap)
{
	json_t *r, *v;
	size_t i, off;
	uint64_t fanout = 0, rounds = 0;
	char strategy[32];
	int rc = request(c, json_pack("{s:s}", "cmd", "view"), &r);

	if (rc)
		return rc;
	json_t *peers = json_object_get(r, "peers");
	if ((rc = get_str(c, r, "strategy", strategy, sizeof(strategy))) ||
	    (rc = get_u64(c, r, "fanout", &fanout)) || (rc = get_u64(c, r, "rounds", &rounds)))
		goto out;
	if (!json_is_array(peers)) {
		rc = fail(c, -EPROTO, "view reply without \"peers\"");
		goto out;
	}
	/* off counts what was needed, as snprintf does, so truncation is detected once */
	off = (size_t)snprintf(buf, cap, "%s fanout=%llu rounds=%llu peers=[", strategy,
			       (unsigned long long)fanout, (unsigned long long)rounds);
	json_array_foreach(peers, i, v) {
		if (!json_is_integer(v)) {
			rc = fail(c, -EPROTO, "view peer is not a node id");
			goto out;
		}
		off += (size_t)snprintf(off < cap ? buf + off : NULL, off < cap ? cap - off : 0,
					"%s%lld", i ? " " : "", (long long)json_integer_value(v));
	}
	off += (size_t)snprintf(off < cap ? buf + off : NULL, off < cap ? cap - off : 0, "]");
	if (off >= cap)
		rc = -ENOBUFS;
out:
	json_decref(r);
	return rc;
}

int rumor_send(struct rumor_client *c, const void *data, size_t len, bool wait,
	       struct rumor_send_result *res)
{
	return rumor_send_ack(c, data, len, wait ? RUMOR_ACK_APPLIED : RUMOR_ACK_STAMPED, res);
}

int rumor_send_ack(struct rumor_client *c, const void *data, size_t len, enum rumor_ack ack,
		   struct rumor_send_result *res)
{
	struct rumor_send_req req = { .data = data, .len = len, .ack = ack };
	return rumor_send_req(c, &req, res);
}

int rumor_send_req(struct rumor_client *c, const struct rumor_send_req *q,
		   struct rumor_send_result *res)
{
	static const char *names[] = { "stamped", "durable", "applied" };
	struct rumor_send_result tmp;
	enum rumor_ack ack = q->ack;
	json_t *s, *r, *o;
	int rc;

	if ((unsigned)ack > RUMOR_ACK_APPLIED)
		return -EINVAL;
	if (q->request_id && (!q->request_id[0] || strlen(q->request_id) > 64))
		return -EINVAL;
	if (!(s = json_stringn(q->data, q->len)))
		return -EINVAL; /* not UTF-8 (or NUL inside): JSON strings cannot carry it */
	o = json_pack("{s:s, s:o, s:s}", "cmd", "send", "data", s, "ack", names[ack]);
	if (q->request_id)
		json_object_set_new(o, "request_id", json_string(q->request_id));
	rc = request(c, o, &r);
	if (rc)
		return rc;
	if (!res)
		res = &tmp;
	memset(res, 0, sizeof(*res));
	if (ack == RUMOR_ACK_DURABLE) {
		if (!(rc = get_id(c, r, "id", res->id)) &&
		    !(rc = get_node(c, r, "origin", &res->origin)))
			rc = get_u64(c, r, "seq", &res->seq);
	} else if (ack == RUMOR_ACK_APPLIED) {
		if (!(rc = get_id(c, r, "id", res->id)) &&
		    !(rc = get_node(c, r, "origin", &res->origin)) &&
		    !(rc = get_u64(c, r, "seq", &res->seq)))
			rc = get_u64(c, r, "gseq", &res->gseq);
	} else {
		json_t *ids = json_object_get(r, "ids");
		if (!(rc = get_node(c, r, "origin", &res->origin)) &&
		    !(rc = get_u64(c, r, "first_seq", &res->seq))) {
			if (!json_is_array(ids) || json_array_size(ids) != 1 ||
			    !json_is_string(json_array_get(ids, 0)) ||
			    strlen(json_string_value(json_array_get(ids, 0))) != 32)
				rc = fail(c, -EPROTO, "send reply without one event id");
			else
				strcpy(res->id, json_string_value(json_array_get(ids, 0)));
		}
	}
	json_decref(r);
	return rc;
}

static int parse_clock(struct rumor_client *c, json_t *o, struct rumor_vc *vc)
{
	const char *k;
	json_t *v;

	rumor_vc_init(vc);
	if (!json_is_object(o))
		return fail(c, -EPROTO, "gossip event without \"clock\"");
	json_object_foreach(o, k, v) {
		char *end;
		unsigned long node = strtoul(k, &end, 10);
		if (*end || end == k || !json_is_integer(v) || json_integer_value(v) <= 0 ||
		    node == 0 || node > RUMOR_NODE_ID_MAX ||
		    rumor_vc_set(vc, (uint16_t)node, (uint64_t)json_integer_value(v)))
			return fail(c, -EPROTO, "bad clock entry \"%s\"", k);
	}
	return 0;
}

static int on_line(struct rumor_client *c, json_t *o,
		   int (*on_gossip)(void *arg, const struct rumor_gossip_event *ev),
		   int (*on_ordered)(void *arg, const struct rumor_ordered_event *ev), void *arg)
{
	const char *stream = json_string_value(json_object_get(o, "stream"));
	json_t *e = json_object_get(o, "event"), *d;
	int rc;

	if (!stream || !json_is_object(e)) {
		/* a late reply or refusal on this connection */
		if (json_is_false(json_object_get(o, "ok"))) {
			const char *t = json_string_value(json_object_get(o, "error"));
			return fail(c, -EREMOTEIO, "%s", t ? t : "(no error text)");
		}
		return 0;
	}
	d = json_object_get(e, "data");
	if (!strcmp(stream, "gossip")) {
		struct rumor_gossip_event g;
		memset(&g, 0, sizeof(g));
		if ((rc = get_node(c, e, "origin", &g.origin)) || (rc = get_u64(c, e, "seq", &g.seq)) ||
		    (rc = get_id(c, e, "id", g.id)) ||
		    (rc = parse_clock(c, json_object_get(e, "clock"), &g.clock)))
			return rc;
		if (!json_is_string(d))
			return fail(c, -EPROTO, "gossip event without \"data\"");
		g.data = json_string_value(d);
		g.len = json_string_length(d);
		return on_gossip ? on_gossip(arg, &g) : 0;
	}
	if (!strcmp(stream, "ordered")) {
		struct rumor_ordered_event ev;
		memset(&ev, 0, sizeof(ev));
		if ((rc = get_u64(c, e, "gseq", &ev.gseq)) ||
		    (rc = get_node(c, e, "origin", &ev.origin)) ||
		    (rc = get_u64(c, e, "seq", &ev.seq)) || (rc = get_id(c, e, "id", ev.id)))
			return rc;
		ev.skip = json_is_true(json_object_get(e, "skip"));
		if (!ev.skip) {
			if (!json_is_string(d))
				return fail(c, -EPROTO, "ordered event without \"data\"");
			ev.data = json_string_value(d);
			ev.len = json_string_length(d);
		}
		ev.clock_text = json_string_value(json_object_get(e, "clock_text"));
		if (!ev.clock_text)
			ev.clock_text = "";
		return on_ordered ? on_ordered(arg, &ev) : 0;
	}
	return 0; /* a stream this client does not know: newer node */
}

int rumor_receive(struct rumor_client *c,
		  int (*on_gossip)(void *arg, const struct rumor_gossip_event *ev),
		  int (*on_ordered)(void *arg, const struct rumor_ordered_event *ev), void *arg)
{
	json_t *r;
	int rc = request(c, json_pack("{s:s, s:b}", "cmd", "watch", "gossip", on_gossip != NULL),
			 &r);

	if (rc)
		return rc;
	if (!json_is_string(json_object_get(r, "watching"))) {
		json_decref(r);
		return fail(c, -EPROTO, "watch reply without \"watching\"");
	}
	json_decref(r);
	for (;;) {
		json_t *o;
		if ((rc = read_obj(c, -1, &o)))
			return rc;
		rc = on_line(c, o, on_gossip, on_ordered, arg);
		json_decref(o);
		if (rc)
			return rc > 0 ? 0 : rc;
	}
}
