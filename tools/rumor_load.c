/* rumor-load: load generator for one rumor node's JSON-lines API. Sends deterministic, unique
 * events in pipelined batches, retries what the node refuses for lack of room, and (with
 * --wait-applied) measures send->applied latency from the node's ordered stream. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rumor_eventid.h"
#include "rumor_rand.h"
#include "rumor_sock.h"

/* room in one ORIGINATE message (RUMOR_MSG_ORIGINATE_DATA is 4064): keep a margin */
#define BATCH_BYTES_MAX 3900u
#define MAX_ERRS 16
/* one send request: a batch fits in BATCH_BYTES_MAX of payload, escaping at most 6x */
#define RUMOR_LOAD_REQ_MAX (6u * BATCH_BYTES_MAX + 4096u)

struct req {
	uint64_t k0;       /* first event index */
	unsigned cnt;
	uint64_t t_sent;   /* ns */
	bool answered;
	struct req *next;
};

struct seqrec { /* one of our events by sequence number */
	uint64_t seq;      /* 0 = empty slot */
	uint64_t t_sent;
	uint64_t t_applied;
	char id[33];
	uint8_t acked, applied, skipped;
};

struct conn {
	int fd;
	char *buf;
	size_t off, len, cap;  /* buf[off..len) is unread */
	bool eof;
};

static struct {
	const char *sock;
	int node;
	long events, size, batch, pipeline;
	double rate, kv, timeout;
	bool wait_applied, json;
	const char *ack;            /* "stamped" (the default), "durable" or "applied" */
	const char *acked_out, *applied_out, *lat_out;
} opt = { .events = 1000, .size = 64, .batch = 16, .pipeline = 4, .timeout = 60 };

static struct seqrec *tab;
static size_t tab_cap, tab_used;
static uint64_t tab_base;
static int origin = -1;
static char tag[32];

static struct {
	char msg[160];
	uint64_t n;
} errs[MAX_ERRS];

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t mix(uint64_t x)
{
	return rumor_splitmix64(&x);
}

/* Event k's payload: a unique "n<tag>-<k> " prefix, or a KV command for a --kv share. */
static size_t payload(uint64_t k, char *out, size_t cap)
{
	uint64_t h = mix(k ^ ((uint64_t)opt.node << 40));
	int n;

	if (opt.kv > 0 && (double)(h % 1000000) < opt.kv * 1000000.0) {
		if ((h >> 32) & 1)
			return (size_t)snprintf(out, cap, "SET k%" PRIu64 " n%s-%" PRIu64,
						(h >> 33) % 64, tag, k);
		return (size_t)snprintf(out, cap, "INCR c");
	}
	n = snprintf(out, cap, "n%s-%" PRIu64 " ", tag, k);
	size_t len = (size_t)n;
	for (; len < (size_t)opt.size && len + 1 < cap; len++)
		out[len] = (char)('a' + (mix(k * 131 + len) % 26));
	out[len] = 0;
	return len;
}

/* Our events by seq: the node gives an origin's events consecutive seqs, so a dense array
 * from tab_base (grown at either end) instead of a hash table: applied-stream lookups walk
 * it in order. Slots of seqs that are not ours stay empty (seq 0). */
static struct seqrec *rec(uint64_t seq, bool create)
{
	if (!tab_cap || seq < tab_base || seq - tab_base >= tab_cap) {
		if (!create)
			return NULL;
		uint64_t lo = !tab_cap || seq < tab_base ? (seq > 4096 ? seq - 4096 : 1) : tab_base;
		uint64_t hi = tab_cap ? tab_base + tab_cap : lo;
		size_t ncap = tab_cap ? tab_cap : 8192;
		while (lo + ncap <= seq || lo + ncap < hi)
			ncap *= 2;
		struct seqrec *nt = calloc(ncap, sizeof(*nt));
		if (!nt) {
			perror("rumor-load");
			exit(3);
		}
		if (tab_cap)
			memcpy(nt + (tab_base - lo), tab, tab_cap * sizeof(*tab));
		free(tab);
		tab = nt;
		tab_base = lo;
		tab_cap = ncap;
	}
	struct seqrec *r = &tab[seq - tab_base];
	if (!r->seq) {
		if (!create)
			return NULL;
		r->seq = seq;
		tab_used++;
	}
	return r;
}

static int connect_socket(const char *path)
{
	return rumor_sock_connect(path);
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read what is there; 0, or -EPIPE at end of stream. */
static int conn_fill(struct conn *c)
{
	if (c->off) { /* compact once per read, not once per line */
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (c->cap - c->len < 65536) {
		size_t ncap = c->cap ? c->cap * 2 : 1 << 17;
		char *nb = realloc(c->buf, ncap);
		if (!nb)
			return -ENOMEM;
		c->buf = nb;
		c->cap = ncap;
	}
	ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	if (n == 0) {
		c->eof = true;
		return -EPIPE;
	}
	c->len += (size_t)n;
	return 0;
}

/* Next complete line (NUL-terminated in place, without its newline), or NULL. */
static char *conn_next(struct conn *c, size_t *len)
{
	char *start = c->buf + c->off;
	char *nl = c->len > c->off ? memchr(start, '\n', c->len - c->off) : NULL;
	if (!nl)
		return NULL;
	*nl = 0;
	*len = (size_t)(nl - start);
	c->off += *len + 1;
	return start;
}

static json_t *parse_line(const char *line, size_t len)
{
	json_error_t e;
	json_t *j = json_loadb(line, len, 0, &e);
	if (!j)
		fprintf(stderr, "rumor-load: bad line from node: %s\n", e.text);
	return j;
}

/* Next complete line as JSON (caller decrefs), or NULL when none is buffered. */
static json_t *conn_line(struct conn *c)
{
	char *line;
	size_t len;
	json_t *j;

	while ((line = conn_next(c, &len)))
		if ((j = parse_line(line, len)))
			return j;
	return NULL;
}

static void count_err(const char *msg)
{
	char m[160];
	int i;

	/* "batch N" style details would split the tally: keep the message as is, but bounded */
	snprintf(m, sizeof(m), "%s", msg ? msg : "(no message)");
	for (i = 0; i < MAX_ERRS && errs[i].n; i++)
		if (!strcmp(errs[i].msg, m))
			break;
	if (i == MAX_ERRS)
		i = MAX_ERRS - 1;
	if (!errs[i].n)
		strcpy(errs[i].msg, m);
	errs[i].n++;
}

static bool retryable(const char *msg)
{
	return msg && (strstr(msg, "full") || strstr(msg, "retry") ||
		       strstr(msg, "dataplane is down"));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rumor-load [-n ID | -s SOCKET] [options]\n"
		"  --events N        events to send (1000)\n"
		"  --size B          payload bytes of a log event (64)\n"
		"  --batch K         events per send request (16; split further to fit 3900 bytes)\n"
		"  --pipeline P      requests in flight (4)\n"
		"  --rate R          events/s cap, 0 = as fast as possible (0)\n"
		"  --kv F            fraction of events that are KV commands (0)\n"
		"  --ack LEVEL       what counts as acknowledged: stamped (the origin took the events,\n"
		"                    the default), durable (on a majority's disks: never skipped) or\n"
		"                    applied (ordered and applied on this node)\n"
		"  --wait-applied    watch the ordered stream; wait until every acked event is applied\n"
		"  --timeout S       give up waiting after S seconds (60)\n"
		"  --acked-ids FILE  write the ids of acknowledged events\n"
		"  --applied-ids FILE write the ids of events seen applied (needs --wait-applied)\n"
		"  --lat-out FILE    one line per applied event: ms since the start it was sent,\n"
		"                    its send->applied latency in ms (needs --wait-applied); the\n"
		"                    first line is \"# t0_ms T\", the start on CLOCK_MONOTONIC\n"
		"  --json            summary as one JSON object\n"
		"-n ID uses $RUMOR_RUN/node-ID.sock. Exit: 0 ok, 1 events lost, 2 usage,\n"
		"3 node unreachable or not every event could be sent.\n");
}

static int parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "events", 1, 0, 'e' },       { "size", 1, 0, 'b' },
		{ "batch", 1, 0, 'k' },        { "pipeline", 1, 0, 'p' },
		{ "rate", 1, 0, 'r' },         { "kv", 1, 0, 'v' },
		{ "wait-applied", 0, 0, 'w' }, { "timeout", 1, 0, 't' },
		{ "json", 0, 0, 'j' },         { "acked-ids", 1, 0, 'A' },
		{ "applied-ids", 1, 0, 'P' },  { "ack", 1, 0, 'a' },
		{ "lat-out", 1, 0, 'L' },
		{ "help", 0, 0, 'h' },
		{ 0, 0, 0, 0 }
	};
	static char path[512];
	int c;

	opt.node = -1;
	while ((c = getopt_long(argc, argv, "n:s:h", lo, NULL)) != -1) {
		switch (c) {
		case 'n': opt.node = atoi(optarg); break;
		case 's': opt.sock = optarg; break;
		case 'e': opt.events = atol(optarg); break;
		case 'b': opt.size = atol(optarg); break;
		case 'k': opt.batch = atol(optarg); break;
		case 'p': opt.pipeline = atol(optarg); break;
		case 'r': opt.rate = atof(optarg); break;
		case 'v': opt.kv = atof(optarg); break;
		case 'w': opt.wait_applied = true; break;
		case 't': opt.timeout = atof(optarg); break;
		case 'j': opt.json = true; break;
		case 'A': opt.acked_out = optarg; break;
		case 'P': opt.applied_out = optarg; break;
		case 'L': opt.lat_out = optarg; break;
		case 'a': opt.ack = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind != argc || (opt.node < 0 && !opt.sock) || opt.events < 0 || opt.size < 1 ||
	    opt.size > 3000 || opt.batch < 1 || opt.pipeline < 1 || opt.kv < 0 || opt.kv > 1 ||
	    opt.rate < 0 || (opt.ack && strcmp(opt.ack, "stamped") && strcmp(opt.ack, "durable") &&
			     strcmp(opt.ack, "applied"))) {
		usage(stderr);
		return -EINVAL;
	}
	if (!opt.ack)
		opt.ack = "stamped";
	if (!opt.sock) {
		const char *run = getenv("RUMOR_RUN");
		snprintf(path, sizeof(path), "%s/node-%d.sock", run ? run : "/run/rumor-cluster",
			 opt.node);
		opt.sock = path;
	}
	return 0;
}

static int send_json(int fd, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	size_t len = strlen(s);
	s = realloc(s, len + 2);
	s[len++] = '\n';
	int rc = write_all(fd, s, len);
	free(s);
	return rc;
}

/* Append @n bytes of @s as a JSON string (quoted, escaped) to @out; returns the new length,
 * or @cap + 1 when it does not fit. */
static size_t put_json_str(char *out, size_t len, size_t cap, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	if (len + 2 + 6 * n > cap)
		return cap + 1;
	out[len++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			out[len++] = '\\';
			out[len++] = (char)c;
		} else if (c < 0x20) {
			memcpy(out + len, "\\u00", 4);
			out[len + 4] = hex[c >> 4];
			out[len + 5] = hex[c & 15];
			len += 6;
		} else {
			out[len++] = (char)c;
		}
	}
	out[len++] = '"';
	return len;
}

/* One send request for @r's events, formatted directly: the load generator must cost the node
 * under test as little CPU as it can (jansson objects for every event did not). */
static int send_request(int fd, const struct req *r, char *pl, size_t plcap)
{
	static char buf[RUMOR_LOAD_REQ_MAX];
	/* the request id makes a retry of this batch (after a refusal or a lost answer) return
	 * the first outcome instead of making its events twice */
	size_t len = (size_t)snprintf(buf, sizeof(buf), "{\"cmd\":\"send\",\"ack\":\"%s\","
				      "\"ids\":false,\"tag\":%" PRIu64 ",\"request_id\":\"load-%d-%d-%"
				      PRIu64 "\",\"batch\":[", opt.ack, r->k0, opt.node, (int)getpid(), r->k0);

	for (unsigned i = 0; i < r->cnt; i++) {
		size_t n = payload(r->k0 + i, pl, plcap);
		if (i)
			buf[len++] = ',';
		len = put_json_str(buf, len, sizeof(buf) - 3, pl, n);
		if (len > sizeof(buf) - 3)
			return -EMSGSIZE;
	}
	memcpy(buf + len, "]}\n", 3);
	return write_all(fd, buf, len + 3);
}

/* One request/answer on a fresh connection (status at start). */
static json_t *ask(int fd, struct conn *c, const char *cmd)
{
	json_t *r = json_pack("{s:s}", "cmd", cmd), *a;
	int rc = send_json(fd, r);
	json_decref(r);
	if (rc < 0)
		return NULL;
	while (!(a = conn_line(c)))
		if (conn_fill(c) < 0)
			return NULL;
	return a;
}

static void on_applied(uint64_t seq, bool skip, uint64_t t, uint64_t *applied,
		       uint64_t *skipped)
{
	struct seqrec *r = rec(seq, true);
	if (r->applied || r->skipped)
		return;
	if (skip) {
		r->skipped = 1;
		if (r->acked)
			(*skipped)++;
		return;
	}
	r->applied = 1;
	r->t_applied = t;
	if (r->acked)
		(*applied)++;
}

/* The node writes ordered-stream lines as {"stream":"ordered","event":{"gseq":G,"origin":O,
 * "seq":S,...}: read those three fields without a JSON parse (the load generator must not
 * be what limits the measurement). 0, or -1 for any other shape (parse it in full). */
static int scan_ordered(const char *l, uint64_t *orig, uint64_t *seq, bool *skip,
			uint64_t *through)
{
	static const char head[] = "{\"stream\":\"ordered\",\"event\":{\"gseq\":";
	char *end;

	if (strncmp(l, head, sizeof(head) - 1))
		return -1;
	l += sizeof(head) - 1;
	strtoull(l, &end, 10);
	if (end == l || strncmp(end, ",\"origin\":", 10))
		return -1;
	l = end + 10;
	*orig = strtoull(l, &end, 10);
	if (end == l || strncmp(end, ",\"seq\":", 7))
		return -1;
	l = end + 7;
	*seq = strtoull(l, &end, 10);
	if (end == l)
		return -1;
	static const char sk[] = ",\"skip\":true", th[] = ",\"skip_through\":";
	*skip = !strncmp(end, sk, sizeof(sk) - 1);
	*through = *seq;
	if (*skip && !strncmp(end + sizeof(sk) - 1, th, sizeof(th) - 1))
		*through = strtoull(end + sizeof(sk) - 1 + sizeof(th) - 1, NULL, 10);
	return 0;
}

/* A skip of seqs @seq..@through: only the seqs this run knows (sent) are looked at. */
static void on_skipped(uint64_t seq, uint64_t through, uint64_t t, uint64_t *applied,
		       uint64_t *skipped)
{
	if (through <= seq) {
		on_applied(seq, true, t, applied, skipped);
		return;
	}
	if (seq < tab_base)
		seq = tab_base;
	for (uint64_t q = seq; q <= through && q - tab_base < tab_cap; q++)
		if (rec(q, false))
			on_applied(q, true, t, applied, skipped);
}

/* An ordered-stream line from the watch connection. */
static void on_watch(const char *line, size_t len, uint64_t t, uint64_t *applied,
		     uint64_t *skipped)
{
	uint64_t o, seq, through;
	bool skip;

	if (scan_ordered(line, &o, &seq, &skip, &through) == 0) {
		if (o == (uint64_t)origin && skip)
			on_skipped(seq, through, t, applied, skipped);
		else if (o == (uint64_t)origin)
			on_applied(seq, skip, t, applied, skipped);
		return;
	}
	json_t *j = parse_line(line, len);
	json_t *ev = json_object_get(j, "event");
	if (ev && !strcmp(json_string_value(json_object_get(j, "stream")) ?: "", "ordered") &&
	    json_integer_value(json_object_get(ev, "origin")) == origin)
	{
		uint64_t s = (uint64_t)json_integer_value(json_object_get(ev, "seq"));
		json_t *th = json_object_get(ev, "skip_through");
		if (json_is_true(json_object_get(ev, "skip")))
			on_skipped(s, th ? (uint64_t)json_integer_value(th) : s, t, applied, skipped);
		else
			on_applied(s, false, t, applied, skipped);
	}
	json_decref(j);
}

int main(int argc, char **argv)
{
	struct conn sc = { 0 }, wc = { .fd = -1 };
	struct req *inflight = NULL, **inflight_tail = &inflight, *retry = NULL;
	uint64_t next_k = 0, sent = 0, acked = 0, refused = 0, applied = 0, skipped = 0;
	uint64_t requests = 0, retries = 0, unmatched = 0;
	unsigned n_inflight = 0, err_round = 0, nonretry_round = 0;
	uint64_t backoff_ns = 0, resume_at = 0, t0, t_last_ack = 0, t_last_applied = 0, deadline;
	bool down = false;
	char pl[4096];
	int rc;

	if (parse_args(argc, argv) < 0)
		return 2;
	sc.fd = connect_socket(opt.sock);
	if (sc.fd < 0) {
		fprintf(stderr, "rumor-load: cannot reach node at %s: %s\n", opt.sock,
			strerror(-sc.fd));
		return 3;
	}
	json_t *st = ask(sc.fd, &sc, "status");
	if (!st || !json_is_true(json_object_get(st, "ok"))) {
		fprintf(stderr, "rumor-load: status request failed\n");
		return 3;
	}
	origin = (int)json_integer_value(json_object_get(st, "node"));
	json_decref(st);
	if (opt.node < 0)
		opt.node = origin;
	snprintf(tag, sizeof(tag), "%d", opt.node);
	if (opt.wait_applied) {
		wc.fd = connect_socket(opt.sock);
		/* only our own events: the node filters, we do not parse the others' */
		json_t *w = NULL, *q = json_pack("{s:s, s:i}", "cmd", "watch", "origin", origin);
		if (wc.fd >= 0 && send_json(wc.fd, q) == 0)
			while (!(w = conn_line(&wc)))
				if (conn_fill(&wc) < 0)
					break;
		json_decref(q);
		if (!w || !json_is_true(json_object_get(w, "ok"))) {
			fprintf(stderr, "rumor-load: watch request failed\n");
			return 3;
		}
		json_decref(w);
	}

	t0 = now_ns();
	deadline = 0;
	for (;;) {
		uint64_t t = now_ns();
		bool sending_done = next_k >= (uint64_t)opt.events && !retry && !n_inflight;
		if (sending_done || down) {
			if (!deadline)
				deadline = t + (uint64_t)(opt.timeout * 1e9);
			if (!opt.wait_applied || wc.eof || applied + skipped >= acked || t >= deadline)
				break;
		} else if (t - t0 > (uint64_t)(opt.timeout * 1e9) * 4) {
			fprintf(stderr, "rumor-load: sending took over 4x --timeout: giving up\n");
			down = true;
			continue;
		}
		/* issue requests while the window, the rate and any backoff allow */
		while (!down && !err_round && n_inflight < (unsigned)opt.pipeline && t >= resume_at &&
		       (retry || next_k < (uint64_t)opt.events)) {
			struct req *r;
			if (retry) {
				r = retry;
				retry = r->next;
			} else {
				if (opt.rate > 0 && (double)next_k >= opt.rate * (double)(t - t0) / 1e9)
					break;
				r = calloc(1, sizeof(*r));
				r->k0 = next_k;
				size_t bytes = 0;
				while (r->cnt < (unsigned)opt.batch && next_k < (uint64_t)opt.events) {
					size_t len = payload(next_k, pl, sizeof(pl));
					if (r->cnt && bytes + 2 + len > BATCH_BYTES_MAX)
						break;
					bytes += 2 + len;
					r->cnt++;
					next_k++;
				}
				sent += r->cnt;
			}
			/* the tag matches the reply to the request; ids we compute ourselves */
			r->t_sent = now_ns();
			r->answered = false;
			r->next = NULL;
			rc = send_request(sc.fd, r, pl, sizeof(pl));
			if (rc < 0) {
				fprintf(stderr, "rumor-load: send failed: %s\n", strerror(-rc));
				free(r);
				down = true;
				break;
			}
			*inflight_tail = r;
			inflight_tail = &r->next;
			n_inflight++;
			requests++;
		}

		struct pollfd pf[2] = { { .fd = down ? -1 : sc.fd, .events = POLLIN },
					{ .fd = wc.fd >= 0 && !wc.eof ? wc.fd : -1, .events = POLLIN } };
		int wait_ms = 100;
		if (resume_at > t && !n_inflight)
			wait_ms = (int)((resume_at - t) / 1000000) + 1;
		else if (opt.rate > 0 && !n_inflight)
			wait_ms = 1;
		if (poll(pf, 2, wait_ms) < 0 && errno != EINTR)
			break;
		t = now_ns();
		if (pf[1].revents) {
			if (conn_fill(&wc) < 0)
				fprintf(stderr, "rumor-load: watch stream closed by the node\n");
			char *line;
			size_t len;
			while ((line = conn_next(&wc, &len))) {
				uint64_t before = applied;
				on_watch(line, len, t, &applied, &skipped);
				if (applied != before)
					t_last_applied = t;
			}
		}
		if (pf[0].revents) {
			if (conn_fill(&sc) < 0) {
				fprintf(stderr, "rumor-load: node closed the API connection\n");
				down = true;
			}
			json_t *j;
			while ((j = conn_line(&sc))) {
				if (!json_is_true(json_object_get(j, "ok"))) {
					const char *m = json_string_value(json_object_get(j, "error"));
					count_err(m);
					err_round++;
					if (!retryable(m))
						nonretry_round++;
					json_decref(j);
					continue;
				}
				json_t *tag = json_object_get(j, "tag");
				/* a stamped reply has first_seq and count; durable and applied ones
				 * (and retries) may carry only the last seq */
				const json_t *fsj = json_object_get(j, "first_seq");
				const json_t *cntj = json_object_get(j, "count");
				struct req *m = NULL;
				for (struct req *r = inflight; r && !m; r = r->next)
					if (!r->answered && json_is_integer(tag) &&
					    r->k0 == (uint64_t)json_integer_value(tag) &&
					    (!cntj || r->cnt == json_integer_value(cntj)))
						m = r;
				if (!m) {
					unmatched++;
					json_decref(j);
					continue;
				}
				uint64_t fs = fsj ? (uint64_t)json_integer_value(fsj)
						  : (uint64_t)json_integer_value(json_object_get(j, "seq")) -
						    m->cnt + 1;
				m->answered = true;
				for (unsigned i = 0; i < m->cnt; i++) {
					struct seqrec *s = rec(fs + i, true);
					s->acked = 1;
					s->t_sent = m->t_sent;
					if (opt.acked_out || opt.applied_out) {
						struct rumor_event_id id;
						size_t len = payload(m->k0 + i, pl, sizeof(pl));
						rumor_event_id_compute((uint16_t)origin, fs + i, pl, len,
								       &id);
						rumor_event_id_hex(&id, s->id);
					}
					if (s->applied)
						applied++;
					if (s->skipped)
						skipped++;
				}
				acked += m->cnt;
				t_last_ack = t;
				backoff_ns = 0;
				json_decref(j);
			}
			/* drop answered requests from the front; unanswered ones stay in order */
			for (struct req **pp = &inflight; *pp;) {
				if ((*pp)->answered) {
					struct req *r = *pp;
					*pp = r->next;
					free(r);
					n_inflight--;
				} else {
					pp = &(*pp)->next;
				}
			}
			inflight_tail = &inflight;
			while (*inflight_tail)
				inflight_tail = &(*inflight_tail)->next;
			/* after an error, the failed requests are those left once every reply is in */
			if (err_round && n_inflight <= err_round) {
				struct req *r = inflight;
				inflight = NULL;
				inflight_tail = &inflight;
				n_inflight = 0;
				while (r) {
					struct req *nx = r->next;
					if (nonretry_round) {
						refused += r->cnt;
						free(r);
					} else {
						r->next = retry;
						retry = r;
						retries++;
					}
					r = nx;
				}
				if (!nonretry_round) {
					backoff_ns = backoff_ns ? backoff_ns * 2 : 1000000;
					if (backoff_ns > 200000000)
						backoff_ns = 200000000;
					resume_at = t + backoff_ns;
				}
				err_round = nonretry_round = 0;
			}
		}
	}
	uint64_t t_end = now_ns();
	/* anything still queued was never acknowledged */
	for (struct req *r = retry, *nx; r; r = nx) {
		nx = r->next;
		refused += r->cnt;
		free(r);
	}
	uint64_t never_sent = (uint64_t)opt.events - next_k;
	for (struct req *r = inflight; r; r = r->next)
		never_sent += r->cnt;

	/* latencies of our acked events that were applied */
	uint64_t *lat = malloc((acked + 1) * sizeof(*lat)), nl = 0, lost = 0;
	FILE *fa = opt.acked_out ? fopen(opt.acked_out, "w") : NULL;
	FILE *fp = opt.applied_out ? fopen(opt.applied_out, "w") : NULL;
	FILE *fl = opt.lat_out ? fopen(opt.lat_out, "w") : NULL;
	if (fl) /* the start on CLOCK_MONOTONIC: to line the series up with other logs */
		fprintf(fl, "# t0_ms %.3f\n", (double)t0 / 1e6);
	for (size_t i = 0; i < tab_cap; i++) {
		struct seqrec *s = &tab[i];
		if (!s->seq || !s->acked)
			continue;
		if (fa)
			fprintf(fa, "%s\n", s->id);
		if (s->applied) {
			if (fp)
				fprintf(fp, "%s\n", s->id);
			lat[nl++] = s->t_applied > s->t_sent ? s->t_applied - s->t_sent : 0;
			if (fl)
				fprintf(fl, "%.3f %.3f\n", (double)(s->t_sent - t0) / 1e6,
					(double)lat[nl - 1] / 1e6);
		} else if (opt.wait_applied) {
			lost++;
		}
	}
	if (fa)
		fclose(fa);
	if (fp)
		fclose(fp);
	if (fl)
		fclose(fl);
	qsort(lat, nl, sizeof(*lat), cmp_u64);
#define PCT(p) (nl ? (double)lat[(size_t)((double)(nl - 1) * (p))] / 1e6 : 0.0)
	double el = (double)(t_end - t0) / 1e9;
	double send_el = (double)((t_last_ack ? t_last_ack : t_end) - t0) / 1e9;
	double app_el = (double)((t_last_applied ? t_last_applied : t_end) - t0) / 1e9;
	double sps = send_el > 0 ? (double)acked / send_el : 0;
	double aps = app_el > 0 && opt.wait_applied ? (double)nl / app_el : 0;
	if (opt.json) {
		json_t *e = json_object();
		for (int i = 0; i < MAX_ERRS && errs[i].n; i++)
			json_object_set_new(e, errs[i].msg, json_integer((json_int_t)errs[i].n));
		json_t *o = json_pack("{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:f, s:f, s:f}",
				      "origin", origin, "events", (json_int_t)opt.events, "sent",
				      (json_int_t)sent, "acked", (json_int_t)acked, "refused",
				      (json_int_t)refused, "never_sent", (json_int_t)never_sent,
				      "requests", (json_int_t)requests, "retries",
				      (json_int_t)retries, "unmatched_replies",
				      (json_int_t)unmatched, "errors", e, "elapsed_s", el,
				      "sent_per_s", sps, "applied_per_s", aps);
		if (opt.wait_applied) {
			json_object_set_new(o, "applied", json_integer((json_int_t)nl));
			json_object_set_new(o, "skipped", json_integer((json_int_t)skipped));
			json_object_set_new(o, "lost", json_integer((json_int_t)lost));
			json_object_set_new(o, "latency_ms",
					    json_pack("{s:f, s:f, s:f, s:f}", "p50", PCT(0.5), "p90",
						      PCT(0.9), "p99", PCT(0.99), "max",
						      nl ? (double)lat[nl - 1] / 1e6 : 0.0));
		}
		char *s = json_dumps(o, JSON_COMPACT);
		printf("%s\n", s);
		free(s);
		json_decref(o);
	} else {
		printf("rumor-load node %d: sent %" PRIu64 " acked %" PRIu64 " refused %" PRIu64
		       " never_sent %" PRIu64 " (requests %" PRIu64 ", retried %" PRIu64 ")\n",
		       origin, sent, acked, refused, never_sent, requests, retries);
		for (int i = 0; i < MAX_ERRS && errs[i].n; i++)
			printf("  error x%" PRIu64 ": %s\n", errs[i].n, errs[i].msg);
		printf("  elapsed %.3f s, sent %.0f events/s", el, sps);
		if (opt.wait_applied)
			printf(", applied %" PRIu64 " (%.0f events/s), skipped %" PRIu64 ", lost %" PRIu64
			       "\n  send->applied latency ms: p50 %.2f p90 %.2f p99 %.2f max %.2f\n",
			       nl, aps, skipped, lost, PCT(0.5), PCT(0.9), PCT(0.99),
			       nl ? (double)lat[nl - 1] / 1e6 : 0.0);
		else
			printf("\n");
	}
	free(lat);
	free(tab);
	free(sc.buf);
	free(wc.buf);
	close(sc.fd);
	if (wc.fd >= 0)
		close(wc.fd);
	for (struct req *r = inflight, *nx; r; r = nx) {
		nx = r->next;
		free(r);
	}
	if (lost)
		return 1;
	if (acked < (uint64_t)opt.events)
		return 3;
	return 0;
}
