/* cp_metrics: the Prometheus text builder and the /metrics HTTP server of rumor-cp (see
 * cp_metrics.h). The server thread only copies the text the loop published last. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cp_metrics.h"

const uint64_t cp_hist_bounds_us[CP_HIST_BUCKETS] = {
	250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2000000, 3000000, 5000000,
};

void cp_hist_observe(struct cp_hist *h, uint64_t us)
{
	unsigned i = 0;

	while (i < CP_HIST_BUCKETS && us > cp_hist_bounds_us[i])
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum_us += us;
}

/* ---------------------------------------------------------------- text builder */

static void put(struct cp_mtext *t, const char *s, size_t n)
{
	if (t->oom)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		while (cap < t->len + n + 1)
			cap *= 2;
		char *p = realloc(t->p, cap);
		if (!p) {
			t->oom = true;
			return;
		}
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static void puts_(struct cp_mtext *t, const char *s)
{
	put(t, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static void putf(struct cp_mtext *t, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(buf)) {
		put(t, buf, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (!big) {
		t->oom = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	put(t, big, (size_t)n);
	free(big);
}

void cp_mtext_reset(struct cp_mtext *t)
{
	t->len = 0;
	t->oom = false;
	if (t->p)
		t->p[0] = '\0';
}

void cp_mtext_free(struct cp_mtext *t)
{
	free(t->p);
	*t = (struct cp_mtext){ 0 };
}

/* HELP text escapes backslash and newline; label values also the double quote. */
static void put_escaped(struct cp_mtext *t, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			puts_(t, "\\\\");
		else if (*s == '\n')
			puts_(t, "\\n");
		else if (quote && *s == '"')
			puts_(t, "\\\"");
		else
			put(t, s, 1);
	}
}

void cp_mtext_family(struct cp_mtext *t, const char *name, const char *type, const char *help)
{
	putf(t, "# HELP %s ", name);
	put_escaped(t, help, false);
	putf(t, "\n# TYPE %s %s\n", name, type);
}

static void put_labels(struct cp_mtext *t, const char *lk, const char *lv, const char *le)
{
	if (!lk && !le)
		return;
	puts_(t, "{");
	if (lk) {
		putf(t, "%s=\"", lk);
		put_escaped(t, lv ? lv : "", true);
		puts_(t, "\"");
	}
	if (le)
		putf(t, "%sle=\"%s\"", lk ? "," : "", le);
	puts_(t, "}");
}

void cp_mtext_u64(struct cp_mtext *t, const char *name, const char *lk, const char *lv,
		  uint64_t v)
{
	puts_(t, name);
	put_labels(t, lk, lv, NULL);
	putf(t, " %llu\n", (unsigned long long)v);
}

void cp_mtext_f64(struct cp_mtext *t, const char *name, const char *lk, const char *lv,
		  double v)
{
	puts_(t, name);
	put_labels(t, lk, lv, NULL);
	putf(t, " %.9g\n", v);
}

void cp_mtext_hist(struct cp_mtext *t, const char *name, const char *lk, const char *lv,
		   const struct cp_hist *h)
{
	uint64_t cum = 0;
	char le[32];

	for (unsigned i = 0; i <= CP_HIST_BUCKETS; i++) {
		cum += h->bucket[i];
		if (i < CP_HIST_BUCKETS)
			snprintf(le, sizeof(le), "%g", (double)cp_hist_bounds_us[i] / 1e6);
		else
			snprintf(le, sizeof(le), "+Inf");
		putf(t, "%s_bucket", name);
		put_labels(t, lk, lv, le);
		putf(t, " %llu\n", (unsigned long long)cum);
	}
	putf(t, "%s_sum", name);
	put_labels(t, lk, lv, NULL);
	putf(t, " %.6f\n", (double)h->sum_us / 1e6);
	putf(t, "%s_count", name);
	put_labels(t, lk, lv, NULL);
	putf(t, " %llu\n", (unsigned long long)h->count);
}

/* ---------------------------------------------------------------- server */

struct cp_metrics {
	struct MHD_Daemon *mhd;
	int fd;
	pthread_mutex_t lock;
	char *text;                       /* published, under lock */
	size_t len, cap;
	uint64_t scrapes;                 /* atomic */
	struct cp_metrics_loop loop;
};

int cp_metrics_parse_addr(const char *addr, void *ss, unsigned *socklen, char *err, size_t cap)
{
	const char *colon = strrchr(addr, ':');
	char host[64], *end;
	size_t hl;

	if (!colon || colon == addr || !colon[1]) {
		snprintf(err, cap, "want host:port, got '%s'", addr);
		return -EINVAL;
	}
	hl = (size_t)(colon - addr);
	if (hl >= sizeof(host)) {
		snprintf(err, cap, "host too long in '%s'", addr);
		return -EINVAL;
	}
	memcpy(host, addr, hl);
	host[hl] = '\0';
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (errno || *end || port < 1 || port > 65535 || colon[1] == '-' || colon[1] == '+') {
		snprintf(err, cap, "bad port in '%s' (want 1..65535)", addr);
		return -EINVAL;
	}
	memset(ss, 0, sizeof(struct sockaddr_storage));
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		struct sockaddr_in6 *s6 = ss;
		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1) {
			snprintf(err, cap, "bad IPv6 address in '%s'", addr);
			return -EINVAL;
		}
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*socklen = sizeof(*s6);
		return 0;
	}
	struct sockaddr_in *s4 = ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) != 1) {
		snprintf(err, cap, "bad IPv4 address in '%s' (want a.b.c.d:port or [v6]:port)",
			 addr);
		return -EINVAL;
	}
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	*socklen = sizeof(*s4);
	return 0;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code, const char *text,
			     size_t len, bool copy)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)text,
		copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (!r) {
		if (!copy)
			free((void *)text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, code == MHD_HTTP_OK ?
				"text/plain; version=0.0.4; charset=utf-8" : "text/plain");
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct cp_metrics *m = cls;
	static const char not_found[] = "rumor-cp serves only /metrics\n";
	static const char not_yet[] = "no metrics published yet\n";
	static const char bad_method[] = "GET only\n";
	char *copy = NULL;
	size_t len = 0;

	(void)version;
	(void)upload_data;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, bad_method, sizeof(bad_method) - 1,
			     true);
	if (*upload_data_size)
		return MHD_NO; /* a GET with a body: drop the connection */
	if (strcmp(url, "/metrics"))
		return reply(conn, MHD_HTTP_NOT_FOUND, not_found, sizeof(not_found) - 1, true);
	pthread_mutex_lock(&m->lock);
	if (m->text && (copy = malloc(m->len + 1))) {
		memcpy(copy, m->text, m->len);
		len = m->len;
	}
	bool have = m->text != NULL;
	pthread_mutex_unlock(&m->lock);
	if (!have)
		return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, not_yet, sizeof(not_yet) - 1, true);
	if (!copy)
		return MHD_NO;
	__atomic_add_fetch(&m->scrapes, 1, __ATOMIC_RELAXED);
	return reply(conn, MHD_HTTP_OK, copy, len, false);
}

int cp_metrics_open(const char *addr, struct cp_metrics **out, char *err, size_t cap)
{
	struct sockaddr_storage ss;
	unsigned slen;
	int rc, one = 1;

	*out = NULL;
	if ((rc = cp_metrics_parse_addr(addr, &ss, &slen, err, cap)) < 0)
		return rc;
	struct cp_metrics *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	m->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (m->fd < 0 ||
	    setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(m->fd, (struct sockaddr *)&ss, slen) < 0 || listen(m->fd, 16) < 0) {
		rc = -errno;
		snprintf(err, cap, "%s: %s", addr, strerror(errno));
		goto fail;
	}
	/* The server thread must not take the loop's SIGINT/SIGTERM: it inherits this mask. */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	m->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
				  (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
				  0, NULL, NULL, on_request, m,
				  MHD_OPTION_LISTEN_SOCKET, m->fd,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)8,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)5,
				  MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!m->mhd) {
		rc = -EIO;
		snprintf(err, cap, "%s: libmicrohttpd did not start", addr);
		goto fail;
	}
	*out = m;
	return 0;
fail:
	if (m->fd >= 0)
		close(m->fd);
	pthread_mutex_destroy(&m->lock);
	free(m);
	return rc;
}

void cp_metrics_close(struct cp_metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->mhd); /* closes the listen socket we gave it too */
	pthread_mutex_destroy(&m->lock);
	free(m->text);
	cp_mtext_free(&m->loop.text);
	free(m);
}

void cp_metrics_publish(struct cp_metrics *m, struct cp_mtext *t)
{
	if (!m || t->oom || !t->p)
		return;
	pthread_mutex_lock(&m->lock);
	char *old = m->text;
	size_t old_cap = m->cap;
	m->text = t->p;
	m->len = t->len;
	m->cap = t->cap;
	pthread_mutex_unlock(&m->lock);
	t->p = old;
	t->cap = old_cap;
	cp_mtext_reset(t);
}

struct cp_metrics_loop *cp_metrics_loop_of(struct cp_metrics *m)
{
	return m ? &m->loop : NULL;
}

void cp_metrics_observe(struct cp_metrics *m, unsigned level, uint64_t t0_us, uint64_t now_us)
{
	if (!m || level >= CP_METRICS_LEVELS || !t0_us)
		return;
	cp_hist_observe(&m->loop.lat[level], now_us > t0_us ? now_us - t0_us : 0);
}

uint64_t cp_metrics_scrapes(struct cp_metrics *m)
{
	return m ? __atomic_load_n(&m->scrapes, __ATOMIC_RELAXED) : 0;
}
