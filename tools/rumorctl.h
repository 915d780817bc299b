/* rumorctl's parts: API socket I/O with deadlines (rumorctl_net.c), the readable status
 * (rumorctl_status.c), the cluster table and health check (rumorctl_cluster.c). */
#ifndef RUMORCTL_H
#define RUMORCTL_H

#include <jansson.h>
#include <stddef.h>

enum {
	RCTL_EXIT_OK = 0,
	RCTL_EXIT_REFUSED = 1,
	RCTL_EXIT_USAGE = 2,
	RCTL_EXIT_UNREACHABLE = 3,
	RCTL_EXIT_TIMEOUT = 4,
};

/* `check` and `cluster`: what a monitoring system reads (Nagios-style order). */
enum {
	RCTL_HEALTH_OK = 0,
	RCTL_HEALTH_DEGRADED = 1,
	RCTL_HEALTH_NO_QUORUM = 2,
	RCTL_HEALTH_UNREACHABLE = 3,
};

/* What every command shares: output form and where the nodes' API sockets are. */
struct rctl_global {
	int json;
	int verbose;
	int timeout_ms;      /* per node, for the whole exchange */
	const char *run;     /* run dir of deploy/cluster.sh (--run, $RUMOR_RUN) */
	char pattern[256];   /* API socket path with %n for the node id */
	const char *config;  /* --config FILE: pattern and members from it */
	const char *endpoints; /* --endpoints a,b,c */
	char seed[256];      /* -n / -s: the node asked first */
};

/* Millisecond monotonic clock. */
long long rctl_now_ms(void);

/* Connected API socket to @path within @timeout_ms (a full backlog is retried until then).
 * Returns the fd or -errno (-ENOENT no socket file, -ECONNREFUSED nobody listens,
 * -ETIMEDOUT, -ENAMETOOLONG). */
int rctl_connect(const char *path, int timeout_ms);

/* One JSON-lines exchange with many nodes at once: every probe sends its requests on its own
 * connection, and all answers are awaited together until one deadline, so a hung node costs
 * the timeout once, not once per node. */
#define RCTL_PROBE_REQS 2
struct rctl_probe {
	char path[256];
	int fd;
	int err;                       /* 0, or -errno of connect/read/write, -ETIMEDOUT */
	unsigned nreq, nrep;
	json_t *req[RCTL_PROBE_REQS];  /* owned; freed by rctl_probe_free */
	json_t *rep[RCTL_PROBE_REQS];  /* replies in request order */
	char *buf;
	size_t len, cap;
};

/* Sends every probe's requests and reads the replies until all came or @timeout_ms passed
 * (probes left without every reply get err -ETIMEDOUT). Returns how many probes got all. */
int rctl_probe_run(struct rctl_probe *p, size_t n, int timeout_ms);
void rctl_probe_free(struct rctl_probe *p);

/* Human forms: 1536 -> "1.5 KiB"; 3725 s -> "1h 02m"; both into @buf. */
const char *rctl_bytes(char *buf, size_t cap, double bytes);
const char *rctl_duration(char *buf, size_t cap, long long seconds);
const char *rctl_errstr(int err);

/* `status` without --json: aligned "key: value" lines; --verbose adds every raw field. */
void rctl_print_status(json_t *r, int verbose);

/* Drops that say something is wrong (frames of rumor's own wire rejected, timestamp rule
 * drops), leaving out other traffic on the data link (ARP, IPv6, IGMP, foreign UDP). */
long long rctl_bad_drops(json_t *status);

/* The API socket of node @id by @pattern ("%n" = id). Returns 0 or -ENAMETOOLONG. */
int rctl_expand(const char *pattern, unsigned id, char *out, size_t cap);

/* [storage] api_socket of the config at @path into @pattern. Returns 0 or -errno (the
 * config's own message printed). */
int rctl_config_pattern(const char *path, char *pattern, size_t cap);

/* `rumorctl cluster` and `rumorctl check`; @argv are the command's own arguments. Both
 * return an RCTL_HEALTH_* code. */
int rctl_cluster(const struct rctl_global *g, int argc, char **argv, int check);

/* `keys` (rumorctl_keys.c): fill @req from the positionals (list | install ID HEX|--generate
 * | use ID | remove ID). Returns 0, or -1 for a usage error. */
int rctl_keys_request(json_t *req, const char *const *pos, int npos, int generate);
void rctl_print_keys(json_t *r);

#endif
