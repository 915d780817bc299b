/* rumorctl: the operator CLI. Sends one JSON-lines request to a node's rumor-cp API socket and
 * prints the answer as a table (or raw JSON with --json). Exit codes are for scripts:
 * 0 ok, 1 the node refused or failed the request, 2 usage, 3 node unreachable, 4 timeout. */
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

#include "rumor_sock.h"

enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3, EXIT_TIMEOUT = 4 };

struct ctl {
	int fd;
	int json;
	int timeout_ms;
	char buf[1 << 16];
	size_t len;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rumorctl [-n NODE | -s SOCKET] [--json] [--timeout MS] COMMAND [ARGS]\n"
		"commands:\n"
		"  status                      role, term, leader, commit/applied index, dataplane\n"
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
		"  add ID [--standby] | remove ID   membership changes (leader)\n"
		"-n NODE uses $RUMOR_RUN/node-NODE.sock (RUMOR_RUN defaults to /run/rumor-cluster).\n");
}

static int connect_socket(const char *path)
{
	int fd = rumor_sock_connect(path);

	if (fd == -ENAMETOOLONG)
		fprintf(stderr, "rumorctl: socket path too long: %s\n", path);
	else if (fd < 0)
		fprintf(stderr, "rumorctl: cannot reach node at %s: %s%s\n", path, strerror(-fd),
			fd == -ENOENT ? " (is rumor-cp running?)" : "");
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
static void print_human(const char *cmd, json_t *r)
{
	const char *k;
	json_t *v;
	size_t i;

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
		print_human(cmd, r);
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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct ctl *c = calloc(1, sizeof(*c));
	char sock[256] = "";
	int wait = 0, gossip = 0, standby = 0, opt, rc;
	const char *ack = NULL;
	long count = 0, from = 0;
	const char *run = getenv("RUMOR_RUN") ? getenv("RUMOR_RUN") : "/run/rumor-cluster";

	c->timeout_ms = 10000;
	if (getenv("RUMOR_SOCKET"))
		snprintf(sock, sizeof(sock), "%s", getenv("RUMOR_SOCKET"));
	while ((opt = getopt_long(argc, argv, "+n:s:jt:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'n': snprintf(sock, sizeof(sock), "%s/node-%s.sock", run, optarg); break;
		case 's': snprintf(sock, sizeof(sock), "%s", optarg); break;
		case 'j': c->json = 1; break;
		case 't': c->timeout_ms = atoi(optarg); break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc || !sock[0]) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[optind++];
	/* command arguments: positionals and options may mix */
	const char *pos[2] = { NULL, NULL };
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
		else if (!strcmp(a, "--json"))
			c->json = 1;
		else if ((!strcmp(a, "--count") || !strcmp(a, "--from")) && i + 1 < argc)
			*(a[2] == 'c' ? &count : &from) = atol(argv[++i]);
		else if (a[0] != '-' && npos < 2)
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
	}

	c->fd = connect_socket(sock);
	if (c->fd < 0)
		return EXIT_UNREACHABLE;
	if ((rc = send_request(c, req)) < 0) {
		fprintf(stderr, "rumorctl: %s: %s\n", cmd, strerror(-rc));
		return EXIT_UNREACHABLE;
	}
	json_decref(req);
	if (!strcmp(cmd, "watch"))
		return watch(c, count);

	json_t *r;
	rc = read_reply(c, &r, c->timeout_ms);
	if (rc == -ETIMEDOUT) {
		fprintf(stderr, "rumorctl: %s: no answer within %d ms\n", cmd, c->timeout_ms);
		return EXIT_TIMEOUT;
	}
	if (rc <= 0) {
		fprintf(stderr, "rumorctl: %s: connection closed by node\n", cmd);
		return EXIT_UNREACHABLE;
	}
	return finish(c, cmd, r);
}
