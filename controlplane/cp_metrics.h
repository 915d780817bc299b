/* cp_metrics: Prometheus /metrics for rumor-cp. A text builder (families with HELP/TYPE,
 * labelled samples, latency histograms) and an HTTP server (libmicrohttpd, its own thread)
 * that serves the last text the event loop published: a scrape never waits on the loop. */
#ifndef CP_METRICS_H
#define CP_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Commit latency buckets, upper bounds in microseconds (0.25 ms .. 5 s, then +Inf). */
#define CP_HIST_BUCKETS 15
extern const uint64_t cp_hist_bounds_us[CP_HIST_BUCKETS];

struct cp_hist {
	uint64_t bucket[CP_HIST_BUCKETS + 1]; /* per bucket, not cumulative; last is +Inf */
	uint64_t count;
	uint64_t sum_us;
};

/* Count one observation of @us microseconds. */
void cp_hist_observe(struct cp_hist *h, uint64_t us);

/* A growing text buffer in the exposition format. Out of memory sticks (oom) and the text
 * is then not published. */
struct cp_mtext {
	char *p;
	size_t len, cap;
	bool oom;
};

void cp_mtext_reset(struct cp_mtext *t);
void cp_mtext_free(struct cp_mtext *t);

/* Start a family: "# HELP name help" and "# TYPE name type" (type: counter, gauge,
 * histogram). Counters' names end in _total (the caller's job; the test checks it). */
void cp_mtext_family(struct cp_mtext *t, const char *name, const char *type, const char *help);

/* One sample "name{lk="lv"} v" (@lk NULL: no label). The label value is escaped. */
void cp_mtext_u64(struct cp_mtext *t, const char *name, const char *lk, const char *lv,
		  uint64_t v);
void cp_mtext_f64(struct cp_mtext *t, const char *name, const char *lk, const char *lv,
		  double v);

/* One histogram's samples (name_bucket{lk="lv",le=...} cumulative, name_sum in seconds,
 * name_count); the family line comes from cp_mtext_family(..., "histogram", ...). */
void cp_mtext_hist(struct cp_mtext *t, const char *name, const char *lk, const char *lv,
		   const struct cp_hist *h);

/* Commit acknowledgment levels, as enum cp_ack (cp_node.h). */
#define CP_METRICS_LEVELS 3

struct cp_metrics;

/* Parse "host:port" (IPv4, or [IPv6]:port). Returns 0 or -EINVAL with what is wrong in @err. */
int cp_metrics_parse_addr(const char *addr, void *sockaddr_storage, unsigned *socklen,
			  char *err, size_t cap);

/* Listen on @addr and serve GET /metrics from a thread of libmicrohttpd's. Until the first
 * cp_metrics_publish() a scrape gets 503. Returns 0, -EINVAL (bad address, message in @err),
 * or the bind/listen errno (-EADDRINUSE, -EADDRNOTAVAIL, ...), -ENOMEM, -EIO (libmicrohttpd
 * did not start). */
int cp_metrics_open(const char *addr, struct cp_metrics **out, char *err, size_t cap);

/* Stop the server and free everything (NULL is fine). */
void cp_metrics_close(struct cp_metrics *m);

/* Replace the served text by @t's (the buffers are swapped: @t gets the old one back, to be
 * reset and reused). Only the pointer swap happens under the lock. Not published when
 * @t->oom. */
void cp_metrics_publish(struct cp_metrics *m, struct cp_mtext *t);

/* The loop's side: histograms of commit latency per level and the loop's render buffer.
 * Touched only by the loop thread. */
struct cp_metrics_loop {
	struct cp_hist lat[CP_METRICS_LEVELS];
	struct cp_mtext text;
	uint64_t last_publish_ms;
	uint64_t scrapes_seen;
};
struct cp_metrics_loop *cp_metrics_loop_of(struct cp_metrics *m);

/* A request at ack @level that started at @t0_us was answered now (NULL @m: metrics off). */
void cp_metrics_observe(struct cp_metrics *m, unsigned level, uint64_t t0_us, uint64_t now_us);

/* Scrapes served so far (read by the loop for rumor_metrics_scrapes_total). */
uint64_t cp_metrics_scrapes(struct cp_metrics *m);

/* cp_metrics_node.c: render the node's numbers (the status command's data plus the
 * histograms) and publish, at most every 500 ms. Called from the node's slow tick. */
struct cp_node;
void cp_metrics_node_tick(struct cp_node *n, uint64_t now_ms);
void cp_metrics_node_render(struct cp_node *n, struct cp_mtext *t);

#endif
