/* API socket: accept, read lines, write queued replies; every client has at most one recv and
 * one send in flight and is freed only after both completed. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cp_api.h"
#include "cp_loop.h"
#include "rumor_sock.h"

#define API_LINE_MAX (1u << 20)      /* longest request line */
#define API_SENDQ_MAX (8u << 20)     /* unsent bytes before a client counts as stuck */

struct cp_api_client {
	struct cp_api *api;
	struct cp_api_client *next;
	int fd;
	unsigned flags;
	int inflight;
	int closing;
	struct cp_loop_req rreq, sreq;
	char *rbuf;
	size_t rlen, rcap;
	char *out;                   /* bytes waiting to be sent */
	size_t out_len, out_cap;
	char *sending;               /* bytes handed to the kernel */
	size_t sending_len, sending_cap, sent;
};

struct cp_api {
	struct cp_loop *loop;
	struct cp_api_ops ops;
	int fd;
	struct cp_loop_req areq;
	struct cp_api_client *clients;
	unsigned n_clients;
	int closing;
	char path[108];
};

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
		json_t *req = json_loadb(start, (size_t)(nl - start), 0, &jerr);
		start = nl + 1;
		if (!req || !json_is_object(req)) {
			cp_api_error(c, "bad request: %s", req ? "not a JSON object" : jerr.text);
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

static void arm_accept(struct cp_api *api)
{
	api->areq.data = api;
	if (cp_loop_accept(api->loop, &api->areq, api->fd, on_accept) != 0)
		fprintf(stderr, "rumor-cp: api: cannot queue accept\n");
}

static void on_accept(struct cp_loop_req *req, int res)
{
	struct cp_api *api = req->data;
	struct cp_api_client *c;

	if (api->closing) {
		if (res >= 0)
			close(res);
		free(api);
		return;
	}
	if (res < 0) {
		if (res != -EINTR && res != -ECONNABORTED)
			fprintf(stderr, "rumor-cp: api: accept: %s\n", strerror(-res));
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
	c->next = api->clients;
	api->clients = c;
	api->n_clients++;
	arm_recv(c);
	arm_accept(api);
}

int cp_api_open(struct cp_loop *loop, const char *path, const struct cp_api_ops *ops,
		struct cp_api **out)
{
	struct cp_api *api;
	int fd = rumor_sock_listen(path, 64);

	if (fd < 0)
		return fd;
	api = calloc(1, sizeof(*api));
	if (!api) {
		close(fd);
		return -ENOMEM;
	}
	api->loop = loop;
	api->ops = *ops;
	api->fd = fd;
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
	/* the pending accept completes with -ECANCELED and frees api */
	cp_loop_cancel(api->loop, &api->areq);
	shutdown(api->fd, SHUT_RDWR);
	close(api->fd);
}
