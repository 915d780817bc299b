/* `rumorctl status` for people: aligned "key: value" lines in human units. The node's raw
 * internals (order_origins, stuck_oldest, counters) only with --verbose; --json is the reply. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumorctl.h"

#define KEYW 18

static long long num(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "-";
}

static void line(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(const char *key, const char *fmt, ...)
{
	char k[64];
	va_list ap;

	snprintf(k, sizeof(k), "%s:", key);
	printf("%-*s ", KEYW - 1, k);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Reasons a healthy data link sees all the time: not rumor's own traffic (ARP, IPv6, IGMP
 * whose router-alert IP option is a "bad IPv4 header" here, other UDP). */
static int benign_reason(const char *why)
{
	return !strcmp(why, "not IPv4") || !strcmp(why, "bad IPv4 header") ||
	       !strcmp(why, "not UDP") || !strcmp(why, "wrong UDP port");
}

long long rctl_bad_drops(json_t *st)
{
	json_t *dp = json_object_get(st, "dataplane"), *v;
	const char *k;
	long long bad = 0;

	json_object_foreach(json_object_get(dp, "drops_by_reason"), k, v)
		if (!benign_reason(k))
			bad += json_integer_value(v);
	json_object_foreach(json_object_get(dp, "ts_drops"), k, v)
		bad += json_integer_value(v);
	return bad;
}

/* "a 3, b 1" for the non-zero members of @o, or "none". */
static const char *nonzero_list(char *buf, size_t cap, json_t *o)
{
	const char *k;
	json_t *v;
	size_t off = 0;

	buf[0] = 0;
	json_object_foreach(o, k, v) {
		if (!json_integer_value(v) || off >= cap)
			continue;
		off += (size_t)snprintf(buf + off, cap - off, "%s%s %lld", off ? ", " : "", k,
					json_integer_value(v));
	}
	if (!buf[0])
		snprintf(buf, cap, "none");
	return buf;
}

static void flatten(const char *prefix, json_t *v, int width, const char *indent)
{
	char key[256];
	const char *k;
	json_t *c;
	size_t i;

	if (json_is_object(v) && json_object_size(v)) {
		json_object_foreach(v, k, c) {
			snprintf(key, sizeof(key), "%s%s%s", prefix, prefix[0] ? "." : "", k);
			flatten(key, c, width, indent);
		}
		return;
	}
	if (json_is_array(v) && json_array_size(v) && json_is_object(json_array_get(v, 0))) {
		json_array_foreach(v, i, c) {
			snprintf(key, sizeof(key), "%s[%zu]", prefix, i);
			flatten(key, c, width, indent);
		}
		return;
	}
	char *s = json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	snprintf(key, sizeof(key), "%s:", prefix);
	printf("%s%-*s %s\n", indent, width - 1, key, s ? s : json_string_value(v));
	free(s);
}

static const char *const known[] = {
	"ok", "node", "role", "term", "leader", "commit_index", "last_applied", "applied_gseq",
	"order_digest", "waiting_payload", "held_events", "limits", "uptime_s", "dataplane",
	"node_stats", "waiting_for", "disk", "ring_backlog", "payload_log", "fsm", "order",
	"stuck_events", "applies_inflight", "next_cut_us", "stuck_oldest", "order_origins",
	"forged", NULL
};

static const char *const known_dp[] = {
	"state", "rx_pkts", "tx_pkts", "frames_new", "frames_dup", "drops", "store_used",
	"store_cap", "drops_by_reason", "ts_drops", "members", "acks_queued", NULL
};

static int in_list(const char *const *list, const char *k)
{
	for (int i = 0; list[i]; i++)
		if (!strcmp(list[i], k))
			return 1;
	return 0;
}

static int is_known(const char *k)
{
	return in_list(known, k);
}

void rctl_print_status(json_t *r, int verbose)
{
	json_t *dp = json_object_get(r, "dataplane"), *disk = json_object_get(r, "disk");
	json_t *pl = json_object_get(r, "payload_log"), *fsm = json_object_get(r, "fsm");
	json_t *ord = json_object_get(r, "order"), *wf = json_object_get(r, "waiting_for");
	json_t *fg = json_object_get(r, "forged");
	json_t *api = json_object_get(json_object_get(r, "limits"), "api");
	json_t *net = json_object_get(json_object_get(r, "limits"), "net");
	char a[64], b[64], list[512];
	const char *k;
	json_t *v;

	line("node", "%lld", num(r, "node"));
	line("role", "%s", str(r, "role"));
	line("term", "%lld", num(r, "term"));
	if (num(r, "leader"))
		line("leader", "%lld%s", num(r, "leader"),
		     num(r, "leader") == num(r, "node") ? " (this node)" : "");
	else
		line("leader", "none known");
	line("commit index", "%lld", num(r, "commit_index"));
	line("applied index", "%lld", num(r, "last_applied"));
	line("applied gseq", "%lld", num(r, "applied_gseq"));
	line("order digest", "%s", str(r, "order_digest"));
	line("waiting payload", "%lld", num(r, "waiting_payload"));
	line("held events", "%lld", num(r, "held_events"));
	if (wf)
		line("waiting for", "origin %lld seq %lld (id %.12s) for %.1f s", num(wf, "origin"),
		     num(wf, "seq"), str(wf, "id"), (double)num(wf, "for_ms") / 1000);
	line("uptime", "%s", rctl_duration(a, sizeof(a), num(r, "uptime_s")));
	if (dp) {
		line("dataplane", "%s, %lld members, %lld acks queued", str(dp, "state"),
		     num(dp, "members"), num(dp, "acks_queued"));
		line("packets", "%lld rx, %lld tx", num(dp, "rx_pkts"), num(dp, "tx_pkts"));
		line("frames", "%lld new, %lld duplicate", num(dp, "frames_new"),
		     num(dp, "frames_dup"));
		line("drops", "%lld (%lld of rumor frames); %s", num(dp, "drops"),
		     rctl_bad_drops(r), nonzero_list(list, sizeof(list),
						      json_object_get(dp, "drops_by_reason")));
		line("timestamp drops", "%s",
		     nonzero_list(list, sizeof(list), json_object_get(dp, "ts_drops")));
		long long used = num(dp, "store_used"), cap = num(dp, "store_cap");
		line("store", "%lld of %lld slots (%.1f%%)", used, cap,
		     cap ? 100.0 * (double)used / (double)cap : 0.0);
		/* dataplane fields this rumorctl does not know yet (e.g. gossip_auth) */
		json_object_foreach(dp, k, v) {
			char key[96];
			if (in_list(known_dp, k))
				continue;
			snprintf(key, sizeof(key), "dataplane.%s", k);
			flatten(key, v, KEYW, "");
		}
	}
	if (disk)
		line("disk", "%s free, refuses events below %s%s",
		     rctl_bytes(a, sizeof(a), (double)num(disk, "free_mb") * 1048576),
		     rctl_bytes(b, sizeof(b), (double)num(disk, "min_free_mb") * 1048576),
		     json_is_true(json_object_get(disk, "refusing")) ? ": REFUSING now" : "");
	if (pl) {
		long long seg = num(pl, "segments");
		line("payload log", "%s in %lld segment%s, %lld appends, %lld fsyncs, %lld write errors%s",
		     rctl_bytes(a, sizeof(a), (double)num(pl, "bytes")), seg, seg == 1 ? "" : "s",
		     num(pl, "appends"), num(pl, "fsyncs"), num(pl, "write_errors"),
		     num(pl, "error") ? " (failing)" : "");
	}
	if (fsm)
		line("applied events", "%lld (%lld batches, %lld kv commands, %lld skips, %lld lost, "
		     "%lld rejected, %lld duplicates)", num(fsm, "applied"), num(fsm, "batches"),
		     num(fsm, "kv_cmds"), num(fsm, "skips"), num(fsm, "lost"), num(fsm, "rejects"),
		     num(fsm, "dups"));
	if (fg) /* issue 14: a member forging another origin's events is named by sender */
		line("forged copies", "%lld held (by hop sender: %s), %lld notices, %lld fixed",
		     num(fg, "copies"), nonzero_list(list, sizeof(list),
						     json_object_get(fg, "by_sender")),
		     num(fg, "notices"), num(fg, "fixed"));
	if (ord) {
		line("ordering", "%lld batches, %lld events cut, %lld skips, %lld refused, "
		     "%lld pending, %lld ready", num(ord, "batches"), num(ord, "events_cut"),
		     num(ord, "skips"), num(ord, "refused"), num(ord, "pending"), num(ord, "ready"));
		if (num(ord, "forged_reports") || num(ord, "replaced"))
			line("forged reports", "%lld (not the origin's id), %lld replaced by the "
			     "origin's report", num(ord, "forged_reports"), num(ord, "replaced"));
		line("stuck events", "%lld (over 2 s)", num(r, "stuck_events"));
	}
	if (api)
		line("api clients", "%lld of %lld, %lld refused", num(api, "clients"),
		     num(api, "max_clients"), num(api, "refused_clients"));
	if (net)
		line("control port", "%lld inbound, %lld refused, %lld handshake timeouts",
		     num(net, "inbound"), num(net, "refused_total"), num(net, "handshake_timeouts"));
	/* fields this rumorctl does not know yet (a newer rumor-cp): shown, not hidden */
	json_object_foreach(r, k, v)
		if (!is_known(k))
			flatten(k, v, KEYW, "");
	if (!verbose)
		return;
	printf("internals:\n");
	json_object_foreach(r, k, v)
		if (strcmp(k, "ok") && is_known(k))
			flatten(k, v, 44, "  ");
}
