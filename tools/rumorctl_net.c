/* rumorctl's socket side: connect with a deadline and ask many nodes at once, so an
 * unreachable or hung node is a row marked down after a bounded wait, never a hang. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "rumorctl.h"

long long rctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int rctl_connect(const char *path, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long long end = rctl_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A Unix socket connects at once or fails; EAGAIN means the listener's backlog is full
	 * (a node that stopped accepting): retried until the deadline. */
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;
		if (err == EINTR)
			continue;
		if (err != EAGAIN || rctl_now_ms() >= end) {
			close(fd);
			return err == EAGAIN ? -ETIMEDOUT : -err;
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	/* back to blocking: callers poll before they read */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

const char *rctl_errstr(int err)
{
	switch (err) {
	case -ENOENT: return "no API socket (rumor-cp not running?)";
	case -ECONNREFUSED: return "connection refused (rumor-cp not running)";
	case -ETIMEDOUT: return "no answer in time";
	case -EPIPE:
	case -ECONNRESET:
	case -ENODATA: return "connection closed by node";
	case -EPROTO: return "bad reply";
	default: return strerror(-err);
	}
}

static int write_all(int fd, const char *s, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(fd, s + off, len - off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)n;
	}
	return 0;
}

static int probe_send(struct rctl_probe *p, int timeout_ms)
{
	p->fd = rctl_connect(p->path, timeout_ms);
	if (p->fd < 0)
		return p->fd;
	for (unsigned i = 0; i < p->nreq; i++) {
		char *line = json_dumps(p->req[i], JSON_COMPACT);
		int rc = line ? write_all(p->fd, line, strlen(line)) : -ENOMEM;
		if (rc == 0)
			rc = write_all(p->fd, "\n", 1);
		free(line);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Whole lines in the buffer become replies. Returns 0, or -EPROTO for a line not JSON. */
static int probe_lines(struct rctl_probe *p)
{
	char *nl;

	while (p->nrep < p->nreq && (nl = memchr(p->buf, '\n', p->len))) {
		size_t line = (size_t)(nl - p->buf);
		json_t *r = json_loadb(p->buf, line, 0, NULL);
		memmove(p->buf, nl + 1, p->len - line - 1);
		p->len -= line + 1;
		if (!r)
			return -EPROTO;
		p->rep[p->nrep++] = r;
	}
	return 0;
}

static int probe_read(struct rctl_probe *p)
{
	if (p->cap - p->len < 4096) {
		size_t cap = p->cap ? p->cap * 2 : 65536;
		if (cap > (16u << 20))
			return -EMSGSIZE;
		char *b = realloc(p->buf, cap);
		if (!b)
			return -ENOMEM;
		p->buf = b;
		p->cap = cap;
	}
	ssize_t n = read(p->fd, p->buf + p->len, p->cap - p->len);
	if (n == 0)
		return -ENODATA;
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	p->len += (size_t)n;
	return probe_lines(p);
}

static void probe_close(struct rctl_probe *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

int rctl_probe_run(struct rctl_probe *p, size_t n, int timeout_ms)
{
	long long end = rctl_now_ms() + timeout_ms;
	struct pollfd *pf = calloc(n ? n : 1, sizeof(*pf));
	size_t *idx = calloc(n ? n : 1, sizeof(*idx));
	int done = 0;

	if (!pf || !idx) {
		free(pf);
		free(idx);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		long long left = end - rctl_now_ms();
		p[i].fd = -1;
		p[i].err = probe_send(&p[i], left > 0 ? (int)left : 0);
		if (p[i].err < 0)
			probe_close(&p[i]);
	}
	for (;;) {
		nfds_t k = 0;
		for (size_t i = 0; i < n; i++) {
			if (p[i].fd < 0)
				continue;
			if (p[i].nrep == p[i].nreq) {
				probe_close(&p[i]);
				continue;
			}
			pf[k] = (struct pollfd){ .fd = p[i].fd, .events = POLLIN };
			idx[k++] = i;
		}
		long long left = end - rctl_now_ms();
		if (!k)
			break;
		if (left <= 0) {
			for (nfds_t j = 0; j < k; j++) {
				p[idx[j]].err = -ETIMEDOUT;
				probe_close(&p[idx[j]]);
			}
			break;
		}
		int pr = poll(pf, k, (int)left);
		if (pr < 0 && errno != EINTR)
			break;
		for (nfds_t j = 0; pr > 0 && j < k; j++) {
			if (!pf[j].revents)
				continue;
			int rc = probe_read(&p[idx[j]]);
			if (rc < 0) {
				p[idx[j]].err = rc;
				probe_close(&p[idx[j]]);
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		probe_close(&p[i]);
		if (!p[i].err && p[i].nrep == p[i].nreq)
			done++;
		else if (!p[i].err)
			p[i].err = -ETIMEDOUT;
	}
	free(pf);
	free(idx);
	return done;
}

void rctl_probe_free(struct rctl_probe *p)
{
	for (unsigned i = 0; i < RCTL_PROBE_REQS; i++) {
		json_decref(p->req[i]);
		json_decref(p->rep[i]);
		p->req[i] = p->rep[i] = NULL;
	}
	free(p->buf);
	p->buf = NULL;
	p->len = p->cap = 0;
	p->nreq = p->nrep = 0;
	probe_close(p);
}

const char *rctl_bytes(char *buf, size_t cap, double bytes)
{
	static const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	unsigned u = 0;

	while (bytes >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		bytes /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, cap, "%.0f B", bytes);
	else
		snprintf(buf, cap, bytes < 10 ? "%.1f %s" : "%.0f %s", bytes, unit[u]);
	return buf;
}

const char *rctl_duration(char *buf, size_t cap, long long s)
{
	if (s < 0)
		snprintf(buf, cap, "-");
	else if (s < 60)
		snprintf(buf, cap, "%llds", s);
	else if (s < 3600)
		snprintf(buf, cap, "%lldm %02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, cap, "%lldh %02lldm", s / 3600, s / 60 % 60);
	else
		snprintf(buf, cap, "%lldd %02lldh", s / 86400, s / 3600 % 24);
	return buf;
}
