/* API socket: accept, read lines, write queued replies; every client has at most one recv and
 * one send in flight and is freed only after both completed. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cp_api.h"
#include "cp_loop.h"
#include "cp_net.h"
#include "rumor_sock.h"

#define API_LINE_MAX (1u << 20)      /* longest request line */
#define API_SENDQ_MAX (8u << 20)     /* unsent bytes before a client counts as stuck */
#define API_ACCEPT_BACKOFF_MIN 10    /* ms: a failing accept is re-armed no sooner */
#define API_ACCEPT_BACKOFF_MAX 100

struct cp_api_client {
	struct cp_api *api;
	struct cp_api_client *next;
	int fd;
	unsigned flags;
	unsigned watches;            /* subscriptions taken (cp_api_watch_add) */
	int inflight;
	int closing;
	struct cp_loop_req rreq, sreq;
	char *rbuf;
	size_t rlen, rcap;
	char *out;                   /* bytes waiting to be sent */
	size_t out_len, out_cap;
	char *sending;               /* bytes handed to the kernel */
	size_t sending_len, sending_cap, sent;
	struct ucred cred;           /* SO_PEERCRED at accept */
	int admin;                   /* may run admin commands (cp_api_is_admin_cmd) */
};

struct cp_api {
	struct cp_loop *loop;
	struct cp_api_ops ops;
	int fd;
	struct cp_loop_req areq;
	struct cp_api_client *clients;
	unsigned n_clients;
	int closing;
	int accepting;               /* an accept is in flight */
	int reserve_fd;              /* /dev/null, given up to refuse a client at EMFILE */
	unsigned backoff_ms;
	struct cp_loop_timer accept_timer;
	struct cp_loop_req free_req;
	uint64_t refused_clients, refused_watches, accept_nofd, accept_errors;
	uint64_t refused_admin;      /* admin commands refused to non-admin clients */
	char path[108];
};

/* One API socket per process: its guard is set once, before cp_api_open. */
static struct cp_api_guard guard;

void cp_api_set_guard(const struct cp_api_guard *g)
{
	guard = *g;
}

/* Commands anyone who can open the socket may run; everything else (add, remove,
 * transfer, skip_lost, keys..., and any command added later) needs an admin. */
static const char *const client_cmds[] = { "status", "members", "view", "clock", "send",
					   "events", "kv", "watch", "snapshot" };

int cp_api_is_admin_cmd(const char *cmd)
{
	for (size_t i = 0; i < sizeof(client_cmds) / sizeof(client_cmds[0]); i++)
		if (!strcmp(cmd, client_cmds[i]))
			return 0;
	return 1;
}

/* Root, our own user (it owns the daemon anyway), or a member of api_admin_group: the
 * peer's primary group or one of its supplementary groups, as the kernel knows them at
 * connect time (SO_PEERGROUPS: no NSS lookup on the loop). */
static int peer_is_admin(int fd, const struct ucred *cr)
{
	gid_t groups[256];
	socklen_t len = sizeof(groups);

	if (cr->uid == 0 || cr->uid == geteuid())
		return 1;
	if (!guard.has_admin_group)
		return 0;
	if (cr->gid == guard.admin_group)
		return 1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return 0;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == guard.admin_group)
			return 1;
	return 0;
}

static void on_accept(struct cp_loop_req *req, int res);
static void on_recv(struct cp_loop_req *req, int res);
static void on_send(struct cp_loop_req *req, int res);

static void client_free_if_idle(struct cp_api_client *c)
{
	struct cp_api *api = c->api;

	if (!c->closing || c->inflight)
		return;
	for (struct cp_api_client **p = &api->clients; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	api->n_clients--;
	free(c->rbuf);
	free(c->out);
	free(c->sending);
	free(c);
}

static void client_close(struct cp_api_client *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	if (c->api->ops.closed)
		c->api->ops.closed(c->api->ops.arg, c);
	/* shutdown makes the pending recv complete; close waits for the callbacks */
	shutdown(c->fd, SHUT_RDWR);
	if (c->inflight)
		cp_loop_cancel(c->api->loop, &c->rreq);
	close(c->fd);
	c->fd = -1;
	client_free_if_idle(c);
}

static void arm_recv(struct cp_api_client *c)
{
	if (c->rcap - c->rlen < 4096) {
		size_t cap = c->rcap ? c->rcap * 2 : 8192;
		if (cap > API_LINE_MAX + 4096) {
			cp_api_error(c, "request line longer than %u bytes", API_LINE_MAX);
			client_close(c);
			return;
		}
		char *b = realloc(c->rbuf, cap);
		if (!b) {
			client_close(c);
			return;
		}
		c->rbuf = b;
		c->rcap = cap;
	}
	c->rreq.data = c;
	if (cp_loop_recv(c->api->loop, &c->rreq, c->fd, c->rbuf + c->rlen,
			 (unsigned)(c->rcap - c->rlen), on_recv) == 0)
		c->inflight++;
	else
		client_close(c);
}

static void handle_lines(struct cp_api_client *c)
{
	char *start = c->rbuf, *nl;

	while (!c->closing && (nl = memchr(start, '\n', c->rlen - (size_t)(start - c->rbuf)))) {
		json_error_t jerr;
		const char *line = start;
		start = nl + 1;
		if (c->api->ops.line && c->api->ops.line(c->api->ops.arg, c, line, (size_t)(nl - line)))
			continue; /* a fast path took it (send requests, without jansson) */
		json_t *req = json_loadb(line, (size_t)(nl - line), 0, &jerr);
		if (!req || !json_is_object(req)) {
			cp_api_error(c, "bad request: %s", req ? "not a JSON object" : jerr.text);
			json_decref(req);
			continue;
		}
		const char *cmd = json_string_value(json_object_get(req, "cmd"));
		if (cmd && !c->admin && cp_api_is_admin_cmd(cmd)) {
			c->api->refused_admin++;
			if (guard.has_admin_group)
				cp_api_error(c, "permission denied: '%s' is an admin command: it needs "
					     "root or membership of group %u (api_admin_group); you are "
					     "uid %u", cmd, (unsigned)guard.admin_group,
					     (unsigned)c->cred.uid);
			else
				cp_api_error(c, "permission denied: '%s' is an admin command: it needs "
					     "root (no api_admin_group configured); you are uid %u", cmd,
					     (unsigned)c->cred.uid);
			json_decref(req);
			continue;
		}
		c->api->ops.request(c->api->ops.arg, c, req);
		json_decref(req);
	}
	c->rlen -= (size_t)(start - c->rbuf);
	memmove(c->rbuf, start, c->rlen);
}

/* Completion callbacks keep the completed request's reference on the client until they
 * return, so a close from inside (a reply overflowing, a bad line) never frees it under us. */
static void on_recv(struct cp_loop_req *req, int res)
{
	struct cp_api_client *c = req->data;

	if (!c->closing && res > 0) {
		c->rlen += (size_t)res;
		handle_lines(c);
		if (!c->closing)
			arm_recv(c);
	} else {
		client_close(c);
	}
	c->inflight--;
	client_free_if_idle(c);
}

static void flush(struct cp_api_client *c)
{
	if (c->closing || c->sending_len || !c->out_len)
		return;
	/* swap buffers: what is queued becomes what is sent */
	char *b = c->sending;
	size_t cap = c->sending_cap;
	c->sending = c->out;
	c->sending_cap = c->out_cap;
	c->sending_len = c->out_len;
	c->sent = 0;
	c->out = b;
	c->out_cap = cap;
	c->out_len = 0;
	c->sreq.data = c;
	if (cp_loop_send(c->api->loop, &c->sreq, c->fd, c->sending, (unsigned)c->sending_len,
			 on_send) == 0)
		c->inflight++;
	else
		client_close(c);
}

static void on_send(struct cp_loop_req *req, int res)
{
	struct cp_api_client *c = req->data;

	if (!c->closing && res > 0) {
		c->sent += (size_t)res;
		if (c->sent < c->sending_len) {
			if (cp_loop_send(c->api->loop, &c->sreq, c->fd, c->sending + c->sent,
					 (unsigned)(c->sending_len - c->sent), on_send) == 0)
				c->inflight++;
			else
				client_close(c);
		} else {
			c->sending_len = 0;
			flush(c);
		}
	} else {
		client_close(c);
	}
	c->inflight--;
	client_free_if_idle(c);
}

int cp_api_reply_line(struct cp_api_client *c, const char *line, size_t len)
{
	if (c->closing)
		return 0;
	if (c->out_len + len + 1 > API_SENDQ_MAX) {
		client_close(c);
		return -ENOBUFS;
	}
	if (c->out_len + len + 1 > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		while (cap < c->out_len + len + 1)
			cap *= 2;
		char *b = realloc(c->out, cap);
		if (!b) {
			client_close(c);
			return -ENOMEM;
		}
		c->out = b;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, line, len);
	c->out[c->out_len + len] = '\n';
	c->out_len += len + 1;
	flush(c);
	return 0;
}

int cp_api_reply(struct cp_api_client *c, json_t *reply)
{
	char *line;
	int rc;

	if (c->closing) {
		json_decref(reply);
		return 0;
	}
	line = json_dumps(reply, JSON_COMPACT);
	json_decref(reply);
	if (!line)
		return -ENOMEM;
	rc = cp_api_reply_line(c, line, strlen(line));
	free(line);
	return rc;
}

int cp_api_error(struct cp_api_client *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cp_api_reply(c, json_pack("{s:b, s:s}", "ok", 0, "error", msg));
}

unsigned *cp_api_client_flags(struct cp_api_client *c)
{
	return &c->flags;
}

unsigned cp_api_clients(const struct cp_api *api)
{
	return api->n_clients;
}

static void api_free_cb(struct cp_loop_req *req, int res)
{
	struct cp_api *api = req->data;

	(void)res;
	/* clients still finishing their cancelled operations point at api */
	if (api->accepting || !cp_loop_timer_idle(&api->accept_timer) || api->clients) {
		cp_loop_defer(api->loop, &api->free_req, 0, api_free_cb); /* wait a turn */
		return;
	}
	if (api->reserve_fd >= 0)
		close(api->reserve_fd);
	free(api);
}

static void accept_timer_cb(struct cp_loop_timer *t);

static void arm_accept(struct cp_api *api)
{
	api->areq.data = api;
	api->accepting = cp_loop_accept(api->loop, &api->areq, api->fd, on_accept) == 0;
	if (!api->accepting) {
		fprintf(stderr, "rumor-cp: api: cannot queue accept, retrying\n");
		api->accept_timer.data = api;
		cp_loop_timer_start(api->loop, &api->accept_timer, API_ACCEPT_BACKOFF_MIN, 0,
				    accept_timer_cb);
	}
}

static void accept_timer_cb(struct cp_loop_timer *t)
{
	struct cp_api *api = t->data;

	if (!api->closing && !api->accepting)
		arm_accept(api);
}

/* A failed accept is re-armed after 10..100 ms: a persistent error (no descriptors) would
 * otherwise complete at once, forever, and spin the loop. */
static void accept_backoff(struct cp_api *api)
{
	api->backoff_ms = api->backoff_ms ? api->backoff_ms * 2 : API_ACCEPT_BACKOFF_MIN;
	if (api->backoff_ms > API_ACCEPT_BACKOFF_MAX)
		api->backoff_ms = API_ACCEPT_BACKOFF_MAX;
	api->accept_timer.data = api;
	cp_loop_timer_start(api->loop, &api->accept_timer, api->backoff_ms, 0, accept_timer_cb);
}

/* Refuse a client in one line it can read, then close. The reply is tiny and the socket
 * buffer empty, so a non-blocking send is enough. */
static void refuse(int fd, const char *msg)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "{\"ok\":false,\"error\":\"%s\"}\n", msg);

	if (send(fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		/* nothing to do: the close says enough */
	}
	close(fd);
}

/* Out of descriptors: take the reserve's slot to tell the waiting clients why they are
 * refused (instead of leaving them in the backlog), then take the reserve back. */
static void shed_backlog(struct cp_api *api)
{
	if (api->reserve_fd >= 0) {
		close(api->reserve_fd);
		api->reserve_fd = -1;
	}
	int fl = fcntl(api->fd, F_GETFL);
	if (fl >= 0 && fcntl(api->fd, F_SETFL, fl | O_NONBLOCK) == 0) {
		for (int i = 0; i < 64; i++) {
			int fd = accept4(api->fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				break;
			refuse(fd, "rumor-cp is out of file descriptors, retry later");
			api->refused_clients++;
		}
		fcntl(api->fd, F_SETFL, fl);
	}
	api->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void on_accept(struct cp_loop_req *req, int res)
{
	struct cp_api *api = req->data;
	struct cp_api_client *c;

	api->accepting = 0;
	if (api->closing) {
		if (res >= 0)
			close(res);
		api_free_cb(&api->free_req, 0);
		return;
	}
	if (res < 0) {
		if (res == -EMFILE || res == -ENFILE) {
			if (api->accept_nofd++ == 0 || (api->accept_nofd & (api->accept_nofd - 1)) == 0)
				fprintf(stderr, "rumor-cp: api: accept: %s (%llu so far)\n",
					strerror(-res), (unsigned long long)api->accept_nofd);
			shed_backlog(api);
			accept_backoff(api);
		} else if (res == -EINTR || res == -ECONNABORTED) {
			arm_accept(api);
		} else {
			if (api->accept_errors++ == 0 ||
			    (api->accept_errors & (api->accept_errors - 1)) == 0)
				fprintf(stderr, "rumor-cp: api: accept: %s (%llu so far)\n",
					strerror(-res), (unsigned long long)api->accept_errors);
			accept_backoff(api);
		}
		return;
	}
	api->backoff_ms = 0;
	if (api->n_clients >= CP_API_MAX_CLIENTS) {
		if (api->refused_clients++ == 0 ||
		    (api->refused_clients & (api->refused_clients - 1)) == 0)
			fprintf(stderr, "rumor-cp: api: refused a client: %u connected (%llu refused "
				"so far)\n", api->n_clients, (unsigned long long)api->refused_clients);
		refuse(res, "too many API clients (" CP_API_STR(CP_API_MAX_CLIENTS) "), retry later");
		arm_accept(api);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(res);
		arm_accept(api);
		return;
	}
	c->api = api;
	c->fd = res;
	socklen_t cl = sizeof(c->cred);
	if (getsockopt(res, SOL_SOCKET, SO_PEERCRED, &c->cred, &cl) < 0) {
		c->cred.uid = (uid_t)-1; /* unknown: never admin */
		c->cred.gid = (gid_t)-1;
	} else {
		c->admin = peer_is_admin(res, &c->cred);
	}
	c->next = api->clients;
	api->clients = c;
	api->n_clients++;
	arm_recv(c);
	arm_accept(api);
}

int cp_api_watch_add(struct cp_api_client *c)
{
	if (c->watches >= CP_API_MAX_WATCHES) {
		c->api->refused_watches++;
		cp_api_error(c, "watch: this connection already has %u subscriptions (the most "
			     "allowed); open another connection", c->watches);
		return -EMFILE;
	}
	c->watches++;
	return 0;
}

json_t *cp_api_tls_json(const struct cp_net *net)
{
	struct cp_net_stats st;
	json_t *r = json_object(), *ref = json_object(), *msg = json_object();

	cp_net_get_stats(net, &st);
	json_object_set_new(r, "insecure", json_boolean(!cp_net_secure(net)));
	for (int f = 1; f < CP_TLS_FAIL_COUNT; f++)
		json_object_set_new(ref, cp_tls_fail_name(f), json_integer((json_int_t)st.tls_refused[f]));
	json_object_set_new(ref, "hello_id_mismatch", json_integer((json_int_t)st.hello_id_mismatch));
	json_object_set_new(r, "refused", ref);
	for (int m = 0; m < CP_NET_REFUSED_COUNT; m++)
		json_object_set_new(msg, cp_net_refusal_name(m),
				    json_integer((json_int_t)st.refused_msgs[m]));
	json_object_set_new(r, "refused_msgs", msg);
	json_object_set_new(r, "handshakes", json_integer((json_int_t)st.tls_handshakes));
	json_object_set_new(r, "outbound_failed", json_integer((json_int_t)st.tls_out_failed));
	return r;
}

json_t *cp_api_limits_json(const struct cp_api *api, const struct cp_net *net)
{
	json_t *r = json_object();

	if (api)
		json_object_set_new(r, "api",
				    json_pack("{s:i, s:i, s:i, s:I, s:I, s:I, s:I, s:I}", "clients",
					      (int)api->n_clients, "max_clients", CP_API_MAX_CLIENTS,
					      "max_watches_per_client", CP_API_MAX_WATCHES,
					      "refused_clients", (json_int_t)api->refused_clients,
					      "refused_watches", (json_int_t)api->refused_watches,
					      "accept_nofd", (json_int_t)api->accept_nofd,
					      "accept_errors", (json_int_t)api->accept_errors,
					      "refused_admin", (json_int_t)api->refused_admin));
	if (net) {
		struct cp_net_stats st;
		const struct cp_net_cfg *cfg = cp_net_cfg_get(net);
		cp_net_get_stats(net, &st);
		json_t *o = json_pack("{s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "inbound",
				      (int)st.inbound, "inbound_pending", (int)st.inbound_pending,
				      "accepted", (json_int_t)st.accepted, "refused_total",
				      (json_int_t)st.refused_total, "refused_addr",
				      (json_int_t)st.refused_addr, "handshake_timeouts",
				      (json_int_t)st.handshake_timeouts, "prehandshake_oversize",
				      (json_int_t)st.prehandshake_oversize, "bad_hello",
				      (json_int_t)st.bad_hello, "bad_frames", (json_int_t)st.bad_frames);
		json_t *more = json_pack("{s:I, s:I, s:I, s:I, s:i, s:i, s:i}", "accept_nofd",
					 (json_int_t)st.accept_nofd, "shed_nofd",
					 (json_int_t)st.shed_nofd, "accept_errors",
					 (json_int_t)st.accept_errors, "accept_backoffs",
					 (json_int_t)st.accept_backoffs, "max_inbound",
					 (int)cfg->max_inbound, "max_inbound_per_addr",
					 (int)cfg->max_inbound_per_addr, "handshake_timeout_ms",
					 (int)cfg->handshake_timeout_ms);
		json_object_update(o, more);
		json_decref(more);
		json_object_set_new(r, "net", o);
		json_object_set_new(r, "control_tls", cp_api_tls_json(net));
	}
	return r;
}

int cp_api_open(struct cp_loop *loop, const char *path, const struct cp_api_ops *ops,
		struct cp_api **out)
{
	struct cp_api *api;
	/* created 0660 whatever the process umask (the bind creates the file): clients are the
	 * owner and its group, never everyone */
	mode_t um = umask(0117);
	int fd = rumor_sock_listen(path, 64);

	umask(um);
	if (fd < 0)
		return fd;
	if ((guard.has_group && chown(path, (uid_t)-1, guard.group) < 0) || chmod(path, 0660) < 0) {
		int err = -errno;
		close(fd);
		unlink(path);
		return err;
	}
	api = calloc(1, sizeof(*api));
	if (!api) {
		close(fd);
		return -ENOMEM;
	}
	api->loop = loop;
	api->ops = *ops;
	api->fd = fd;
	api->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	api->free_req.data = api;
	strcpy(api->path, path);
	arm_accept(api);
	*out = api;
	return 0;
}

void cp_api_close(struct cp_api *api)
{
	if (!api)
		return;
	for (struct cp_api_client *c = api->clients, *next; c; c = next) {
		next = c->next; /* client_close may free c, never another client */
		client_close(c);
	}
	api->closing = 1;
	unlink(api->path);
	cp_loop_timer_stop(&api->accept_timer);
	/* a pending accept completes with -ECANCELED and frees api; without one (backing off)
	 * api is freed once the timer is idle */
	if (api->accepting)
		cp_loop_cancel(api->loop, &api->areq);
	else
		cp_loop_defer(api->loop, &api->free_req, 0, api_free_cb);
	shutdown(api->fd, SHUT_RDWR);
	close(api->fd);
}
