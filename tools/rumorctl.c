/* rumorctl: the operator CLI. Sends one JSON-lines request to a node's rumor-cp API socket and
 * prints the answer readably (or raw JSON with --json); `cluster` and `check` ask every member.
 * Exit codes are for scripts: see usage() (and docs/rumorctl.md). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rumorctl.h"

#ifndef RUMOR_VERSION
#define RUMOR_VERSION "unknown"
#endif

enum {
	EXIT_OK = RCTL_EXIT_OK,
	EXIT_REFUSED = RCTL_EXIT_REFUSED,
	EXIT_USAGE = RCTL_EXIT_USAGE,
	EXIT_UNREACHABLE = RCTL_EXIT_UNREACHABLE,
	EXIT_TIMEOUT = RCTL_EXIT_TIMEOUT,
};

struct ctl {
	int fd;
	int json;
	int verbose;
	int timeout_ms;
	char buf[1 << 16];
	size_t len;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rumorctl [-n NODE | -s SOCKET] [--json] [--verbose] [--timeout MS] COMMAND [ARGS]\n"
		"       rumorctl [--endpoints S1,S2,... | --run DIR | --config FILE] cluster|check [OPTS]\n"
		"commands:\n"
		"  status                      role, term, leader, commit/applied index, dataplane, disk\n"
		"                              (--verbose: every internal counter; --json: the raw reply)\n"
		"  cluster                     every member in one table: role, term, commit/applied index\n"
		"                              and lag behind the leader, dataplane, drops, store, disk;\n"
		"                              unreachable members are rows marked DOWN\n"
		"  check                       one line and an exit code for monitoring (below)\n"
		"  members                     cluster members with roles\n"
		"  view                        this node's partial view (gossip fan-out targets)\n"
		"  clock                       this node's vector clock (leader: also the global one)\n"
		"  send DATA [--wait] [--ack L] gossip DATA; --wait (= --ack applied) returns its global\n"
		"                              sequence; --ack durable returns once a majority has it\n"
		"                              on disk; --ack stamped (default) once the node took it\n"
		"  watch [--gossip] [--count N] ordered stream (and raw gossip with clocks)\n"
		"  events [--from G] [--count N] range of the ordered log\n"
		"  kv [KEY]                    key-value state (or one key)\n"
		"  snapshot                    snapshot and digest info\n"
		"  skip-lost ORIGIN SEQ        (leader) the committed event status shows under\n"
		"                              waiting_for has no payload on any live node: commit it\n"
		"                              as lost so the order goes on (logged, visible)\n"
		"  transfer ID                 hand leadership to node ID\n"
		"  keys list                   gossip keyring: replicated keys (fingerprints only), the\n"
		"                              key sealing frames, this node's dataplane (admin)\n"
		"  keys install ID HEX|--generate | keys use ID | keys remove ID\n"
		"                              replicated through Raft (admin; sent to the leader):\n"
		"                              rotate with install K2, use K2, remove K1\n"
		"  add ID [--standby] | remove ID   membership changes (leader)\n"
		"options:\n"
		"  -n NODE          the node's API socket by the pattern: $RUMOR_RUN/node-NODE.sock\n"
		"                   (RUMOR_RUN defaults to /run/rumor-cluster), or the config's api_socket\n"
		"  -s SOCKET        the API socket path itself (also $RUMOR_SOCKET)\n"
		"  --run DIR        run dir of deploy/cluster.sh (instead of $RUMOR_RUN)\n"
		"  --config FILE    take api_socket (%%n = node id) and the members from a node config\n"
		"  --endpoints A,B  cluster/check: exactly these API sockets (default: ask one node\n"
		"                   for the members and find the others' sockets by the pattern)\n"
		"  --timeout MS     per request (default 10000; cluster/check: 2000 per node, all\n"
		"                   nodes asked at once)\n"
		"  --json           machine-readable output (schemas: docs/rumorctl.md)\n"
		"  --verbose, -v    status: the raw internals too\n"
		"  --version        print the version\n"
		"cluster/check options:\n"
		"  --max-lag N        degraded when a member's applied raft index trails the leader's\n"
		"                     commit index by more than N entries (default 100)\n"
		"  --max-gseq-lag N   ... or its applied events trail the leader's by more (default 10000)\n"
		"  --window MS        sample drops twice MS apart: rumor frames dropped meanwhile mean\n"
		"                     degraded (check: 1000, cluster: 0 = one sample)\n"
		"exit codes of check and cluster (monitoring):\n"
		"  0 healthy   every member up, a leader, no lag over the limits, no drops rising\n"
		"  1 degraded  a member down, lagging, dataplane dead, disk refusing, or drops rising\n"
		"  2 no quorum fewer than a majority of voters reachable, or no leader\n"
		"  3 unknown   no member could be reached (or bad arguments or config)\n"
		"exit codes of the other commands:\n"
		"  0 ok, 1 the node refused or failed the request, 2 usage, 3 node unreachable,\n"
		"  4 no answer within --timeout\n");
}

static int connect_socket(const char *path, int timeout_ms)
{
	int fd = rctl_connect(path, timeout_ms);

	if (fd == -ENAMETOOLONG)
		fprintf(stderr, "rumorctl: socket path too long: %s\n", path);
	else if (fd < 0)
		fprintf(stderr, "rumorctl: cannot reach node at %s: %s\n", path, rctl_errstr(fd));
	return fd;
}

static int send_request(struct ctl *c, json_t *req)
{
	char *line = json_dumps(req, JSON_COMPACT);
	size_t len = strlen(line), off = 0;
	int rc = 0;

	line = realloc(line, len + 2);
	line[len++] = '\n';
	while (off < len) {
		ssize_t n = write(c->fd, line + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		off += (size_t)n;
	}
	free(line);
	return rc;
}

/* Next JSON line from the node. Returns 1 with *out set, 0 at EOF, -ETIMEDOUT, or -errno. */
static int read_reply(struct ctl *c, json_t **out, int timeout_ms)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			json_error_t jerr;
			size_t line = (size_t)(nl - c->buf);
			*out = json_loadb(c->buf, line, 0, &jerr);
			memmove(c->buf, nl + 1, c->len - line - 1);
			c->len -= line + 1;
			if (!*out) {
				fprintf(stderr, "rumorctl: bad reply from node: %s\n", jerr.text);
				return -EPROTO;
			}
			return 1;
		}
		if (c->len == sizeof(c->buf))
			return -EMSGSIZE;
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int pr = poll(&p, 1, timeout_ms);
		if (pr == 0)
			return -ETIMEDOUT;
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c->len += (size_t)n;
	}
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "-";
}

static long long num(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static void print_clock(json_t *clock)
{
	const char *k;
	json_t *v;
	int first = 1;

	printf("{");
	json_object_foreach(clock, k, v) {
		printf("%s%s:%lld", first ? "" : ", ", k, json_integer_value(v));
		first = 0;
	}
	printf("}");
}

static void print_event(json_t *e)
{
	json_t *clock = json_object_get(e, "clock");
	if (json_object_get(e, "gseq"))
		printf("%8lld  ", num(e, "gseq"));
	printf("%u:%-6lld %.12s  ", (unsigned)num(e, "origin"), num(e, "seq"), str(e, "id"));
	if (json_object_get(e, "skip")) {
		if (json_object_get(e, "skip_through"))
			printf("(skipped through %lld: never reached anyone)\n", num(e, "skip_through"));
		else
			printf("(skipped: never reached anyone)\n");
		return;
	}
	if (clock) {
		print_clock(clock);
		printf("  ");
	} else if (json_object_get(e, "clock_text")) {
		printf("%-16s  ", str(e, "clock_text"));
	}
	printf("%s\n", str(e, "data"));
}

/* Human rendering of a successful reply; unknown shapes fall back to JSON. */
static void print_human(const char *cmd, json_t *r, int verbose)
{
	const char *k;
	json_t *v;
	size_t i;

	if (!strcmp(cmd, "status")) {
		rctl_print_status(r, verbose);
		return;
	}
	if (!strcmp(cmd, "members")) {
		printf("%-5s %-9s %-8s %-22s %s\n", "ID", "ROLE", "VOTER", "CONTROL", "STATE");
		json_array_foreach(json_object_get(r, "members"), i, v)
			printf("%-5lld %-9s %-8s %-22s %s\n", num(v, "id"), str(v, "role"),
			       json_is_true(json_object_get(v, "voter")) ? "voter" : "standby",
			       str(v, "control"), str(v, "state"));
		return;
	}
	if (!strcmp(cmd, "events") || !strcmp(cmd, "watch")) {
		json_array_foreach(json_object_get(r, "events"), i, v)
			print_event(v);
		return;
	}
	if (!strcmp(cmd, "view")) {
		printf("strategy %s, peers:", str(r, "strategy"));
		json_array_foreach(json_object_get(r, "peers"), i, v)
			printf(" %lld", json_integer_value(v));
		printf("\n");
		return;
	}
	if (!strcmp(cmd, "clock")) {
		json_object_foreach(r, k, v) {
			if (!json_is_object(v))
				continue;
			printf("%-8s ", k);
			print_clock(v);
			printf("\n");
		}
		return;
	}
	if (!strcmp(cmd, "keys")) {
		rctl_print_keys(r);
		return;
	}
	if (!strcmp(cmd, "kv")) {
		json_object_foreach(json_object_get(r, "kv"), k, v)
			printf("%s = %s\n", k, json_string_value(v));
		return;
	}
	json_object_foreach(r, k, v) {
		if (!strcmp(k, "ok"))
			continue;
		char *s = json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		printf("%-16s %s\n", k, s ? s : json_string_value(v));
		free(s);
	}
}

static int finish(struct ctl *c, const char *cmd, json_t *r)
{
	int ok = json_is_true(json_object_get(r, "ok"));

	if (c->json) {
		char *s = json_dumps(r, JSON_COMPACT);
		printf("%s\n", s);
		free(s);
	} else if (ok) {
		print_human(cmd, r, c->verbose);
	}
	if (!ok)
		fprintf(stderr, "rumorctl: %s: %s\n", cmd, str(r, "error"));
	json_decref(r);
	return ok ? EXIT_OK : EXIT_REFUSED;
}

static int watch(struct ctl *c, long count)
{
	json_t *r;
	long seen = 0;
	int rc;

	while (count <= 0 || seen < count) {
		rc = read_reply(c, &r, -1);
		if (rc <= 0) {
			if (rc < 0)
				fprintf(stderr, "rumorctl: watch: %s\n", strerror(-rc));
			return rc == 0 ? EXIT_OK : EXIT_UNREACHABLE;
		}
		if (json_object_get(r, "ok") && !json_is_true(json_object_get(r, "ok")))
			return finish(c, "watch", r);
		json_t *e = json_object_get(r, "event");
		if (e) {
			if (c->json) {
				char *s = json_dumps(e, JSON_COMPACT);
				printf("%s\n", s);
				free(s);
			} else {
				printf("%-8s ", str(r, "stream"));
				print_event(e);
			}
			fflush(stdout);
			seen++;
		}
		json_decref(r);
	}
	return EXIT_OK;
}

static int run(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "run", required_argument, NULL, 'R' },
		{ "config", required_argument, NULL, 'C' },
		{ "endpoints", required_argument, NULL, 'E' },
		{ 0 }
	};
	struct rctl_global g = { .timeout_ms = 0 };
	char sock[256] = "";
	int wait = 0, gossip = 0, standby = 0, generate = 0, opt, rc, timeout_set = 0;
	const char *ack = NULL, *node = NULL;
	long count = 0, from = 0;

	g.run = getenv("RUMOR_RUN") ? getenv("RUMOR_RUN") : "/run/rumor-cluster";
	c->timeout_ms = 10000;
	if (getenv("RUMOR_SOCKET"))
		snprintf(sock, sizeof(sock), "%s", getenv("RUMOR_SOCKET"));
	while ((opt = getopt_long(argc, argv, "+n:s:jt:hv", opts, NULL)) != -1) {
		switch (opt) {
		case 'n': node = optarg; break;
		case 's': snprintf(sock, sizeof(sock), "%s", optarg); break;
		case 'j': c->json = 1; break;
		case 't': c->timeout_ms = atoi(optarg); timeout_set = 1; break;
		case 'v': c->verbose = 1; break;
		case 'R': g.run = optarg; break;
		case 'C': g.config = optarg; break;
		case 'E': g.endpoints = optarg; break;
		case 'V': printf("rumorctl %s\n", RUMOR_VERSION); return EXIT_OK;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	int health_cmd = optind < argc && (!strcmp(argv[optind], "cluster") ||
					   !strcmp(argv[optind], "check"));
	/* where API sockets are: the config's api_socket, else deploy/cluster.sh's run dir */
	snprintf(g.pattern, sizeof(g.pattern), "%s/node-%%n.sock", g.run);
	if (g.config && rctl_config_pattern(g.config, g.pattern, sizeof(g.pattern)) < 0)
		return health_cmd ? RCTL_HEALTH_UNREACHABLE : EXIT_USAGE;
	if (node) {
		char *end;
		long id = strtol(node, &end, 10);
		if (*end || id <= 0 || id > 65535 ||
		    rctl_expand(g.pattern, (unsigned)id, sock, sizeof(sock)) < 0) {
			fprintf(stderr, "rumorctl: -n takes a node id, not \"%s\"\n", node);
			return health_cmd ? RCTL_HEALTH_UNREACHABLE : EXIT_USAGE;
		}
	}
	if (health_cmd) {
		g.json = c->json;
		g.verbose = c->verbose;
		g.timeout_ms = timeout_set ? c->timeout_ms : 2000;
		snprintf(g.seed, sizeof(g.seed), "%s", sock);
		return rctl_cluster(&g, argc - optind - 1, argv + optind + 1,
				    !strcmp(argv[optind], "check"));
	}
	if (optind >= argc || !sock[0]) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[optind++];
	/* command arguments: positionals and options may mix */
	const char *pos[3] = { NULL, NULL, NULL };
	int npos = 0;
	for (int i = optind; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--wait"))
			wait = 1;
		else if (!strcmp(a, "--ack") && i + 1 < argc)
			ack = argv[++i];
		else if (!strcmp(a, "--gossip"))
			gossip = 1;
		else if (!strcmp(a, "--standby"))
			standby = 1;
		else if (!strcmp(a, "--generate"))
			generate = 1;
		else if (!strcmp(a, "--json"))
			c->json = 1;
		else if (!strcmp(a, "--verbose") || !strcmp(a, "-v"))
			c->verbose = 1;
		else if ((!strcmp(a, "--count") || !strcmp(a, "--from")) && i + 1 < argc)
			*(a[2] == 'c' ? &count : &from) = atol(argv[++i]);
		else if (a[0] != '-' && npos < (strcmp(cmd, "keys") ? 2 : 3))
			pos[npos++] = a;
		else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}

	json_t *req = json_object();
	json_object_set_new(req, "cmd", json_string(cmd));
	if (!strcmp(cmd, "send")) {
		if (!pos[0]) {
			usage(stderr);
			return EXIT_USAGE;
		}
		json_object_set_new(req, "data", json_string(pos[0]));
		json_object_set_new(req, "wait", json_boolean(wait));
		if (ack)
			json_object_set_new(req, "ack", json_string(ack));
	} else if (!strcmp(cmd, "watch")) {
		json_object_set_new(req, "gossip", json_boolean(gossip));
	} else if (!strcmp(cmd, "events")) {
		json_object_set_new(req, "from", json_integer(from));
		json_object_set_new(req, "count", json_integer(count ? count : 20));
	} else if (!strcmp(cmd, "kv") && pos[0]) {
		json_object_set_new(req, "key", json_string(pos[0]));
	} else if (!strcmp(cmd, "skip-lost")) {
		if (!pos[0] || !pos[1]) {
			usage(stderr);
			return EXIT_USAGE;
		}
		json_object_set_new(req, "cmd", json_string("skip_lost"));
		json_object_set_new(req, "origin", json_integer(atol(pos[0])));
		json_object_set_new(req, "seq", json_integer(atoll(pos[1])));
	} else if (!strcmp(cmd, "transfer") || !strcmp(cmd, "add") || !strcmp(cmd, "remove")) {
		if (!pos[0]) {
			usage(stderr);
			return EXIT_USAGE;
		}
		json_object_set_new(req, "id", json_integer(atol(pos[0])));
		json_object_set_new(req, "voter", json_boolean(!standby));
	} else if (!strcmp(cmd, "keys")) {
		if (rctl_keys_request(req, pos, npos, generate) < 0) {
			json_decref(req);
			usage(stderr);
			return EXIT_USAGE;
		}
	}

	int redirected = 0;
again:
	c->fd = connect_socket(sock, c->timeout_ms);
	rc = c->fd < 0 ? c->fd : send_request(c, req);
	if (rc < 0) {
		json_decref(req);
		if (c->fd >= 0)
			fprintf(stderr, "rumorctl: %s: %s\n", cmd, strerror(-rc));
		return EXIT_UNREACHABLE;
	}
	if (!strcmp(cmd, "watch"))
		return watch(c, count);

	json_t *r;
	rc = read_reply(c, &r, c->timeout_ms);
	if (rc == -ETIMEDOUT) {
		fprintf(stderr, "rumorctl: %s: no answer within %d ms\n", cmd, c->timeout_ms);
		return EXIT_TIMEOUT;
	}
	if (rc <= 0) {
		json_decref(req);
		fprintf(stderr, "rumorctl: %s: connection closed by node\n", cmd);
		return EXIT_UNREACHABLE;
	}
	/* keys changes go to the leader: follow the node's pointer once (by the -n pattern) */
	long long leader = json_integer_value(json_object_get(r, "leader"));
	if (!strcmp(cmd, "keys") && !redirected && node && !json_is_true(json_object_get(r, "ok")) &&
	    leader > 0 && rctl_expand(g.pattern, (unsigned)leader, sock, sizeof(sock)) == 0) {
		json_decref(r);
		close(c->fd);
		c->fd = -1;
		c->len = 0;
		redirected = 1;
		goto again;
	}
	json_decref(req);
	return finish(c, cmd, r);
}

int main(int argc, char **argv)
{
	struct ctl *c = calloc(1, sizeof(*c));

	if (!c)
		return EXIT_UNREACHABLE;
	c->fd = -1;
	int rc = run(c, argc, argv);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	return rc;
}
