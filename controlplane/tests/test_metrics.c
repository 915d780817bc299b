/* Unit tests of cp_metrics: the exposition-format text (families, labels, escaping, histogram
 * buckets), the address parser, and the server answering a real GET on loopback. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "cp_metrics.h"

static void test_counter_gauge(void **state)
{
	struct cp_mtext t = { 0 };

	(void)state;
	cp_mtext_family(&t, "rumor_x_total", "counter", "things\\counted\nhere");
	cp_mtext_u64(&t, "rumor_x_total", "reason", "bad \"q\"\\", 18446744073709551615ull);
	cp_mtext_u64(&t, "rumor_x_total", NULL, NULL, 0);
	cp_mtext_family(&t, "rumor_y", "gauge", "a gauge");
	cp_mtext_f64(&t, "rumor_y", "k", "v", 0.5);
	assert_false(t.oom);
	assert_string_equal(t.p,
			    "# HELP rumor_x_total things\\\\counted\\nhere\n"
			    "# TYPE rumor_x_total counter\n"
			    "rumor_x_total{reason=\"bad \\\"q\\\"\\\\\"} 18446744073709551615\n"
			    "rumor_x_total 0\n"
			    "# HELP rumor_y a gauge\n"
			    "# TYPE rumor_y gauge\n"
			    "rumor_y{k=\"v\"} 0.5\n");
	assert_int_equal(t.len, strlen(t.p));
	cp_mtext_reset(&t);
	assert_int_equal(t.len, 0);
	assert_string_equal(t.p, "");
	cp_mtext_free(&t);
}

static void test_histogram(void **state)
{
	struct cp_hist h = { 0 };
	struct cp_mtext t = { 0 };

	(void)state;
	cp_hist_observe(&h, 0);        /* <= 0.25 ms */
	cp_hist_observe(&h, 250);      /* on a bound: that bucket (le is inclusive) */
	cp_hist_observe(&h, 251);      /* 0.5 ms */
	cp_hist_observe(&h, 4000000);  /* 5 s */
	cp_hist_observe(&h, 9000000);  /* +Inf only */
	assert_int_equal(h.count, 5);
	assert_int_equal(h.sum_us, 13000501);
	cp_mtext_hist(&t, "rumor_lat_seconds", "level", "durable", &h);
	assert_false(t.oom);
	assert_non_null(strstr(t.p, "rumor_lat_seconds_bucket{level=\"durable\",le=\"0.00025\"} 2\n"));
	assert_non_null(strstr(t.p, "rumor_lat_seconds_bucket{level=\"durable\",le=\"0.0005\"} 3\n"));
	assert_non_null(strstr(t.p, "rumor_lat_seconds_bucket{level=\"durable\",le=\"3\"} 3\n"));
	assert_non_null(strstr(t.p, "rumor_lat_seconds_bucket{level=\"durable\",le=\"5\"} 4\n"));
	assert_non_null(strstr(t.p, "rumor_lat_seconds_bucket{level=\"durable\",le=\"+Inf\"} 5\n"));
	assert_non_null(strstr(t.p, "rumor_lat_seconds_sum{level=\"durable\"} 13.000501\n"));
	assert_non_null(strstr(t.p, "rumor_lat_seconds_count{level=\"durable\"} 5\n"));
	/* buckets are cumulative and never go down, bounds increase */
	uint64_t prev = 0;
	unsigned lines = 0;
	for (const char *p = t.p; (p = strstr(p, "_bucket{")); p++, lines++) {
		const char *v = strchr(p, '}') + 2;
		uint64_t c = strtoull(v, NULL, 10);
		assert_true(c >= prev);
		prev = c;
	}
	assert_int_equal(lines, CP_HIST_BUCKETS + 1);
	for (unsigned i = 1; i < CP_HIST_BUCKETS; i++)
		assert_true(cp_hist_bounds_us[i] > cp_hist_bounds_us[i - 1]);
	assert_int_equal(cp_hist_bounds_us[0], 250);
	assert_int_equal(cp_hist_bounds_us[CP_HIST_BUCKETS - 1], 5000000);
	cp_mtext_free(&t);
}

static void test_big_text(void **state)
{
	struct cp_mtext t = { 0 };
	char lv[600];

	(void)state;
	memset(lv, 'a', sizeof(lv) - 1);
	lv[sizeof(lv) - 1] = '\0';
	cp_mtext_family(&t, "rumor_z", "gauge", "long label values take the slow path");
	for (int i = 0; i < 100; i++)
		cp_mtext_u64(&t, "rumor_z", "l", lv, (uint64_t)i);
	assert_false(t.oom);
	assert_int_equal(t.len, strlen(t.p));
	assert_true(t.len > 100 * 600);
	cp_mtext_free(&t);
}

static void test_parse_addr(void **state)
{
	struct sockaddr_storage ss;
	unsigned len;
	char err[128];

	(void)state;
	assert_int_equal(cp_metrics_parse_addr("127.0.0.1:9464", &ss, &len, err, sizeof(err)), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 9464);
	assert_int_equal(cp_metrics_parse_addr("[::1]:80", &ss, &len, err, sizeof(err)), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	static const char *const bad[] = { "", "9464", ":9464", "127.0.0.1:", "127.0.0.1:0",
					   "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:9x",
					   "localhost:9464", "[::1:80", "1.2.3:80" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		err[0] = '\0';
		assert_int_equal(cp_metrics_parse_addr(bad[i], &ss, &len, err, sizeof(err)),
				 -EINVAL);
		assert_true(err[0] != '\0');
	}
}

/* A blocking HTTP/1.0 GET on loopback; returns the whole response (malloc'd). */
static char *http_get(uint16_t port, const char *path)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	char req[256], *buf = NULL;
	size_t len = 0;
	ssize_t r;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path);
	assert_int_equal(write(fd, req, (size_t)n), n);
	buf = malloc(65536);
	assert_non_null(buf);
	while ((r = read(fd, buf + len, 65535 - len)) > 0)
		len += (size_t)r;
	buf[len] = '\0';
	close(fd);
	return buf;
}

/* A port nobody listens on now (bind to 0, read it, close). */
static uint16_t free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static void test_server(void **state)
{
	struct cp_metrics *m, *m2;
	struct cp_mtext t = { 0 };
	char addr[64], err[128];
	uint16_t port = free_port();
	char *r;

	(void)state;
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	assert_int_equal(cp_metrics_open(addr, &m, err, sizeof(err)), 0);
	/* a second server on the same address: the bind error, with the address */
	assert_int_equal(cp_metrics_open(addr, &m2, err, sizeof(err)), -EADDRINUSE);
	assert_non_null(strstr(err, addr));
	assert_int_equal(cp_metrics_open("127.0.0.1:x", &m2, err, sizeof(err)), -EINVAL);

	r = http_get(port, "/metrics");
	assert_non_null(strstr(r, " 503 "));
	free(r);

	cp_mtext_family(&t, "rumor_a", "gauge", "first");
	cp_mtext_u64(&t, "rumor_a", NULL, NULL, 1);
	cp_metrics_publish(m, &t);
	assert_int_equal(t.len, 0); /* the old (empty) buffer came back */
	r = http_get(port, "/metrics");
	assert_non_null(strstr(r, " 200 "));
	assert_non_null(strstr(r, "text/plain; version=0.0.4"));
	assert_non_null(strstr(r, "\r\n\r\n# HELP rumor_a first\n# TYPE rumor_a gauge\nrumor_a 1\n"));
	free(r);

	cp_mtext_family(&t, "rumor_a", "gauge", "second");
	cp_mtext_u64(&t, "rumor_a", NULL, NULL, 2);
	cp_metrics_publish(m, &t);
	r = http_get(port, "/metrics");
	assert_non_null(strstr(r, "rumor_a 2\n"));
	assert_null(strstr(r, "rumor_a 1\n"));
	free(r);

	r = http_get(port, "/");
	assert_non_null(strstr(r, " 404 "));
	free(r);
	assert_int_equal(cp_metrics_scrapes(m), 2);

	/* the loop side: observe, per level, NULL and out-of-range are no-ops */
	cp_metrics_observe(m, 1, 1000, 1600);
	cp_metrics_observe(m, 7, 1000, 1600);
	cp_metrics_observe(NULL, 1, 1000, 1600);
	struct cp_metrics_loop *ml = cp_metrics_loop_of(m);
	assert_int_equal(ml->lat[1].count, 1);
	assert_int_equal(ml->lat[1].sum_us, 600);
	assert_int_equal(ml->lat[0].count + ml->lat[2].count, 0);

	cp_mtext_free(&t);
	cp_metrics_close(m);
	cp_metrics_close(NULL);
	/* closed: the port is free again */
	assert_int_equal(cp_metrics_open(addr, &m, err, sizeof(err)), 0);
	cp_metrics_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_gauge),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_big_text),
		cmocka_unit_test(test_parse_addr),
		cmocka_unit_test(test_server),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
