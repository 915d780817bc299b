/* Operator and client API: a Unix stream socket speaking JSON lines (one request object per
 * line in, one or more reply objects per line out), served on the controlplane's io_uring
 * loop. This module only moves lines; what a request means is the owner's (cp_node). */
#ifndef CP_API_H
#define CP_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct cp_loop;
struct cp_net;
struct cp_api;
struct cp_api_client;

struct cp_api_ops {
	void *arg;
	/* One parsed request. Answer with cp_api_reply(), now or later (send --wait, watch). */
	void (*request)(void *arg, struct cp_api_client *c, json_t *req);
	/* Optional, tried first on every line (@len bytes, no newline): 1 when it answered the
	 * line itself, 0 to have it parsed and given to request. The admin guard runs only on
	 * request's path: this may take client commands only (cp_api_is_admin_cmd 0). */
	int (*line)(void *arg, struct cp_api_client *c, const char *line, size_t len);
	/* The client is gone: forget every reference to it (pending waits, watches). */
	void (*closed)(void *arg, struct cp_api_client *c);
};

/* Who may use the socket: it is created mode 0660, owned by our user and (if set) group;
 * SO_PEERCRED decides admin commands: root, our own uid, or members of admin_group (primary
 * or supplementary group of the connecting process). Set before cp_api_open. */
struct cp_api_guard {
	bool has_group, has_admin_group;
	gid_t group;          /* api_group: the socket file's group */
	gid_t admin_group;    /* api_admin_group */
};
void cp_api_set_guard(const struct cp_api_guard *g);
/* 1 for commands that need an admin: all but status, members, view, clock, send, events,
 * kv, watch, snapshot (so a command added later is admin until listed there). */
int cp_api_is_admin_cmd(const char *cmd);

/* Listen on @path (a stale socket file is replaced). Returns 0, -ENAMETOOLONG, or the -errno
 * of socket/bind/listen. */
int cp_api_open(struct cp_loop *loop, const char *path, const struct cp_api_ops *ops,
		struct cp_api **out);

/* Stop listening, drop every client, unlink the socket file. */
void cp_api_close(struct cp_api *api);

/* Queue @reply (reference stolen) as one line to @c. Returns 0, or -ENOBUFS when the
 * client's queue is over its bound (a watcher that does not read: it is disconnected). */
int cp_api_reply(struct cp_api_client *c, json_t *reply);

/* Queue one ready-made JSON line (@len bytes, no newline) to @c: same bounds and result. */
int cp_api_reply_line(struct cp_api_client *c, const char *line, size_t len);

/* Reply {"ok":false,"error":msg}. */
int cp_api_error(struct cp_api_client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Owner's per-client word (e.g. watch flags); 0 when new. */
unsigned *cp_api_client_flags(struct cp_api_client *c);

/* Connected clients, for status. */
unsigned cp_api_clients(const struct cp_api *api);

/* Limits: a client beyond CP_API_MAX_CLIENTS gets one error line and is closed; a client
 * holds at most CP_API_MAX_WATCHES watch subscriptions. Both are counted. */
#define CP_API_MAX_CLIENTS 256
#define CP_API_MAX_WATCHES 16
#define CP_API_STR_(x) #x
#define CP_API_STR(x) CP_API_STR_(x)

/* Take one watch subscription for @c: 0, or -EMFILE after replying the error to @c. */
int cp_api_watch_add(struct cp_api_client *c);

/* Status object {"api": {...}, "net": {...}} of the API's and the control port's limits and
 * refusal counters (@net may be NULL: no "net"). */
json_t *cp_api_limits_json(const struct cp_api *api, const struct cp_net *net);
/* {"insecure": bool, "refused": {per TLS reason, hello_id_mismatch}, "refused_msgs": {...},
 * "handshakes", "outbound_failed"}: the control links' authentication (also in limits). */
json_t *cp_api_tls_json(const struct cp_net *net);

#endif
