/* Tests for rumor_config: the example file, defaults, and every kind of error with the
 * line and key it must name. */
#include <errno.h>
#include <stdlib.h>

#include "test_util.h"

#include "rumor_config.h"
#include "rumor_wire.h"

#define NODES_OK \
	"[node.1]\nmac = 02:00:00:00:00:01\nip = 10.0.0.1\ncontrol = 127.0.0.1:7001\n"
#define CLUSTER_OK "[cluster]\nid = 7\n"

static struct rumor_config *new_cfg(void)
{
	struct rumor_config *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	return c;
}

/* Parse @text as "t.conf": must fail with -EINVAL and a message starting "t.conf:LINE: WHAT"
 * and containing @detail. */
static void expect_error(const char *text, int line, const char *what, const char *detail)
{
	/* On the stack: a failing assertion longjmps out, and must not leak. */
	struct rumor_config cfg_s, *cfg = &cfg_s;
	char err[256] = "";
	char want[128];

	assert_int_equal(rumor_config_parse(text, "t.conf", cfg, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "t.conf:%d: %s", line, what);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("got '%s', want prefix '%s'", err, want);
	if (detail && !strstr(err, detail))
		fail_msg("got '%s', want it to contain '%s'", err, detail);
}

static void config_example_file(void **state)
{
	struct rumor_config *cfg = new_cfg();
	const struct rumor_node_conf *n;
	char err[256] = "";
	char path[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/example.conf", RUMOR_TEST_DATA);
	if (rumor_config_load(path, cfg, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(cfg->path, path);
	assert_int_equal(cfg->cluster_id, 4242);
	assert_string_equal(cfg->cluster_name, "testcluster");
	assert_int_equal(cfg->n_nodes, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(cfg->nodes[i].id, i + 1);
	n = rumor_config_node(cfg, 2);
	assert_non_null(n);
	static const uint8_t mac2[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x02 };

	assert_memory_equal(n->mac, mac2, 6);
	assert_int_equal(n->ip, 0x0a4d0002);
	assert_string_equal(n->ctl_host, "node2.example");
	assert_int_equal(n->ctl_port, 7102);
	assert_true(n->voter);
	assert_false(rumor_config_node(cfg, 3)->voter);
	assert_true(rumor_config_node(cfg, 1)->voter);
	assert_null(rumor_config_node(cfg, 4));
	assert_int_equal(rumor_config_voters(cfg), 2);
	assert_int_equal(cfg->gossip.fanout, 2);
	assert_int_equal(cfg->gossip.rounds, 5);
	assert_int_equal(cfg->gossip.port, 17946);
	assert_int_equal(cfg->gossip.mtu, 1400);
	assert_int_equal(cfg->gossip.flush_us, 300);
	assert_int_equal(cfg->gossip.view, RUMOR_VIEW_HYPARVIEW);
	assert_int_equal(cfg->gossip.view_size, 4);
	assert_int_equal(cfg->gossip.view_refresh_ms, 2500);
	assert_int_equal(cfg->raft.election_timeout_ms, 800);
	assert_int_equal(cfg->raft.heartbeat_ms, 80);
	assert_int_equal(cfg->raft.snapshot_threshold, 2048);
	assert_int_equal(cfg->raft.snapshot_trailing, 128);
	assert_int_equal(cfg->raft.batch_max_events, 1000);
	assert_int_equal(cfg->raft.batch_max_us, 1500);
	assert_int_equal(cfg->raft.gap_timeout_ms, 3000);
	assert_string_equal(cfg->storage.dir, "/tmp/rumor-test");
	assert_string_equal(cfg->storage.api_socket, "/tmp/rumor-test/api-%n.sock");
	assert_int_equal(cfg->dataplane.store_slots, 8192);
	assert_int_equal(cfg->dataplane.store_peer_cap, 2048);
	free(cfg);
}

static void config_defaults(void **state)
{
	struct rumor_config *cfg = new_cfg();
	char err[256];

	(void)state;
	assert_int_equal(rumor_config_parse(CLUSTER_OK NODES_OK, "t.conf", cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg->cluster_id, 7);
	assert_int_equal(cfg->n_nodes, 1);
	assert_true(cfg->nodes[0].voter);
	assert_int_equal(cfg->gossip.fanout, 3);
	assert_int_equal(cfg->gossip.rounds, 4);
	assert_int_equal(cfg->gossip.port, RUMOR_WIRE_PORT);
	assert_int_equal(cfg->gossip.mtu, 1500);
	assert_int_equal(cfg->gossip.flush_us, 200);
	assert_int_equal(cfg->gossip.view, RUMOR_VIEW_STATIC);
	assert_int_equal(cfg->gossip.view_size, 8);
	assert_int_equal(cfg->gossip.view_refresh_ms, 5000);
	assert_int_equal(cfg->raft.election_timeout_ms, 1000);
	assert_int_equal(cfg->raft.heartbeat_ms, 100);
	assert_int_equal(cfg->raft.snapshot_threshold, 1024);
	assert_int_equal(cfg->raft.snapshot_trailing, 256);
	assert_int_equal(cfg->raft.batch_max_events, 4096);
	assert_int_equal(cfg->raft.batch_max_us, 2000);
	assert_int_equal(cfg->raft.gap_timeout_ms, 5000);
	assert_string_equal(cfg->storage.dir, "/var/lib/rumor");
	assert_string_equal(cfg->storage.api_socket, "/run/rumor/node-%n.sock");
	assert_int_equal(cfg->dataplane.store_slots, 65536);
	assert_int_equal(cfg->dataplane.store_peer_cap, 16384);
	assert_int_equal(cfg->dataplane.origin_window, 8192);
	assert_int_equal(cfg->dataplane.clock_window, 1000000);
	/* rumor_config_defaults alone gives the same values. */
	struct rumor_config *d = new_cfg();

	rumor_config_defaults(d);
	assert_int_equal(d->n_nodes, 0);
	assert_memory_equal(&d->gossip, &cfg->gossip, sizeof(d->gossip));
	assert_memory_equal(&d->raft, &cfg->raft, sizeof(d->raft));
	free(d);
	/* Explicit peer cap kept; slots alone scale the default cap. */
	assert_int_equal(rumor_config_parse(CLUSTER_OK NODES_OK "[dataplane]\nstore_slots = 10\n",
					    "t.conf", cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg->dataplane.store_peer_cap, 2);
	assert_int_equal(rumor_config_parse(CLUSTER_OK NODES_OK
					    "[dataplane]\nstore_peer_cap = 10\nstore_slots = 10\n",
					    "t.conf", cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg->dataplane.store_peer_cap, 10);
	assert_int_equal(cfg->dataplane.origin_window, 5);
	free(cfg);
}

static void config_nodes_sorted(void **state)
{
	struct rumor_config *cfg = new_cfg();
	char err[256];
	char text[8192];
	size_t k = 0;
	static const int ids[] = { 900, 5, 1023, 64, 1, 77 };

	(void)state;
	k += (size_t)snprintf(text + k, sizeof(text) - k, CLUSTER_OK);
	for (int i = 0; i < 6; i++)
		k += (size_t)snprintf(text + k, sizeof(text) - k,
				      "[node.%d]\nmac=02:00:00:00:00:%02x\nip=10.0.%d.%d\n"
				      "control=h%d:%d\nvoter=%s\n", ids[i], i, i, i, i, 7000 + i,
				      i % 2 ? "no" : "yes");
	if (rumor_config_parse(text, "t.conf", cfg, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(cfg->n_nodes, 6);
	for (int i = 1; i < 6; i++)
		assert_true(cfg->nodes[i - 1].id < cfg->nodes[i].id);
	assert_int_equal(cfg->nodes[0].id, 1);
	assert_int_equal(cfg->nodes[5].id, 1023);
	assert_int_equal(rumor_config_node(cfg, 900)->ctl_port, 7000);
	assert_string_equal(rumor_config_node(cfg, 64)->ctl_host, "h3");
	assert_int_equal(rumor_config_voters(cfg), 3);
	free(cfg);
}

static void config_err_unknown_section(void **state)
{
	(void)state;
	expect_error(CLUSTER_OK NODES_OK "\n[gosip]\nfanout = 3\n", 8, "[gosip]", "unknown section");
	/* Reported even when empty. */
	expect_error(CLUSTER_OK "[extra]\n" NODES_OK, 3, "[extra]", "unknown section");
	expect_error(CLUSTER_OK "[node.0]\n", 3, "[node.0]", "bad node id");
	expect_error(CLUSTER_OK "[node.1024]\n", 3, "[node.1024]", "bad node id");
	expect_error(CLUSTER_OK "[node.x]\n", 3, "[node.x]", "bad node id");
	expect_error(CLUSTER_OK "[node.01]\n", 3, "[node.01]", "bad node id");
	expect_error("id = 3\n" CLUSTER_OK NODES_OK, 1, "id", "outside any section");
}

static void config_err_unknown_key(void **state)
{
	(void)state;
	expect_error(CLUSTER_OK NODES_OK "[gossip]\nfanout = 3\nfanuot = 3\n", 9,
		     "[gossip] fanuot:", "unknown key");
	expect_error(CLUSTER_OK "[node.1]\nmac = 02:00:00:00:00:01\nport = 1\n", 5,
		     "[node.1] port:", "unknown key");
	expect_error("[cluster]\nid = 7\nsize = 3\n" NODES_OK, 3, "[cluster] size:", "unknown key");
}

static void config_err_bad_number(void **state)
{
	(void)state;
	expect_error(CLUSTER_OK NODES_OK "[gossip]\nfanout = three\n", 8, "[gossip] fanout:",
		     "not a number");
	expect_error(CLUSTER_OK NODES_OK "[gossip]\nfanout = 3x\n", 8, "[gossip] fanout:",
		     "not a number");
	expect_error(CLUSTER_OK NODES_OK "[gossip]\nfanout = -3\n", 8, "[gossip] fanout:",
		     "not a number");
	expect_error(CLUSTER_OK NODES_OK "[gossip]\nfanout = +3\n", 8, "[gossip] fanout:",
		     "not a number");
	expect_error(CLUSTER_OK NODES_OK "[gossip]\nfanout = 0\n", 8, "[gossip] fanout:",
		     "out of range");
	expect_error(CLUSTER_OK NODES_OK "[gossip]\nport = 65536\n", 8, "[gossip] port:",
		     "out of range");
	expect_error(CLUSTER_OK NODES_OK "[raft]\nheartbeat_ms = 99999999999999999999999\n", 8,
		     "[raft] heartbeat_ms:", "out of range");
	expect_error(CLUSTER_OK NODES_OK "[dataplane]\nstore_slots =\n", 8,
		     "[dataplane] store_slots:", "not a number");
	expect_error("[cluster]\nid = 4294967296\n" NODES_OK, 2, "[cluster] id:", "out of range");
	expect_error(CLUSTER_OK NODES_OK "[gossip]\nmtu = 100\n", 8, "[gossip] mtu:",
		     "out of range");
	expect_error(CLUSTER_OK NODES_OK "[gossip]\nmtu = 575\n", 8, "[gossip] mtu:",
		     "out of range");
	expect_error(CLUSTER_OK NODES_OK "[gossip]\nmtu = 9001\n", 8, "[gossip] mtu:",
		     "out of range");
	expect_error(CLUSTER_OK NODES_OK "[dataplane]\narp_retry_ms = 5\n", 8,
		     "[dataplane] arp_retry_ms:", "out of range");
	expect_error(CLUSTER_OK NODES_OK "[dataplane]\narp_refresh_s = 0\n", 8,
		     "[dataplane] arp_refresh_s:", "out of range");
	expect_error(CLUSTER_OK "[node.1]\nmac = ARP\n", 4, "[node.1] mac:", "bad MAC");
}

/* mac = arp: the dataplane resolves it; jumbo MTU and the ARP timers parse. */
static void config_arp_jumbo(void **state)
{
	struct rumor_config *cfg = new_cfg();
	char err[256] = "";

	(void)state;
	assert_int_equal(rumor_config_parse(CLUSTER_OK NODES_OK
					    "[node.2]\nmac = arp\nip = 10.0.0.2\ncontrol = h:1\n"
					    "[gossip]\nmtu = 9000\n[dataplane]\narp_retry_ms = 200\n"
					    "arp_refresh_s = 30\n",
					    "t.conf", cfg, err, sizeof(err)),
			 0);
	assert_false(rumor_config_node(cfg, 1)->mac_arp);
	assert_true(rumor_config_node(cfg, 2)->mac_arp);
	assert_int_equal(cfg->gossip.mtu, 9000);
	assert_int_equal(cfg->dataplane.arp_retry_ms, 200);
	assert_int_equal(cfg->dataplane.arp_refresh_s, 30);
	rumor_config_defaults(cfg);
	assert_int_equal(cfg->dataplane.arp_retry_ms, 1000);
	assert_int_equal(cfg->dataplane.arp_refresh_s, 60);
	assert_int_equal(cfg->gossip.mtu, 1500);
	free(cfg);
}

static void config_err_duplicate_node(void **state)
{
	(void)state;
	expect_error(CLUSTER_OK NODES_OK "\n" NODES_OK, 8, "[node.1]", "duplicate node");
}

static void config_err_duplicate_key(void **state)
{
	(void)state;
	expect_error(CLUSTER_OK NODES_OK "[raft]\nheartbeat_ms = 10\nheartbeat_ms = 20\n", 9,
		     "[raft] heartbeat_ms:", "duplicate key");
	expect_error(CLUSTER_OK NODES_OK "ip = 10.0.0.9\n", 7, "[node.1] ip:", "duplicate key");
}

static void config_err_node_missing_field(void **state)
{
	(void)state;
	expect_error(CLUSTER_OK "[node.4]\nip = 10.0.0.1\ncontrol = h:1\n", 3, "[node.4] mac:",
		     "missing");
	expect_error(CLUSTER_OK "[node.4]\nmac = 02:00:00:00:00:01\ncontrol = h:1\n", 3,
		     "[node.4] ip:", "missing");
	expect_error(CLUSTER_OK NODES_OK "\n[node.9]\nmac = 02:00:00:00:00:01\nip = 1.2.3.4\n", 8,
		     "[node.9] control:", "missing");
	expect_error(CLUSTER_OK "[node.4]\n", 3, "[node.4] mac:", "missing");
}

static void config_err_zero_nodes(void **state)
{
	(void)state;
	expect_error(CLUSTER_OK "[gossip]\nfanout = 2\n", 4, "[node.*]", "no nodes");
}

static void config_err_cluster_id_missing(void **state)
{
	(void)state;
	expect_error("[cluster]\nname = x\n" NODES_OK, 1, "[cluster] id:", "missing");
	expect_error(NODES_OK, 4, "[cluster] id:", "missing");
}

static void config_err_bad_values(void **state)
{
	(void)state;
	expect_error(CLUSTER_OK "[node.1]\nmac = 02:00:00:00:00\n", 4, "[node.1] mac:", "bad MAC");
	expect_error(CLUSTER_OK "[node.1]\nmac = 02:00:00:00:00:0g\n", 4, "[node.1] mac:", "bad MAC");
	expect_error(CLUSTER_OK "[node.1]\nmac = 02:00:00:00:00:01:\n", 4, "[node.1] mac:",
		     "bad MAC");
	expect_error(CLUSTER_OK "[node.1]\nip = 10.0.0.256\n", 4, "[node.1] ip:", "bad IPv4");
	expect_error(CLUSTER_OK "[node.1]\nip = fe80::1\n", 4, "[node.1] ip:", "bad IPv4");
	expect_error(CLUSTER_OK "[node.1]\ncontrol = localhost\n", 4, "[node.1] control:",
		     "host:port");
	expect_error(CLUSTER_OK "[node.1]\ncontrol = :80\n", 4, "[node.1] control:", "host:port");
	expect_error(CLUSTER_OK "[node.1]\ncontrol = h:0\n", 4, "[node.1] control:", "out of range");
	expect_error(CLUSTER_OK "[node.1]\ncontrol = h:http\n", 4, "[node.1] control:",
		     "not a number");
	expect_error(CLUSTER_OK "[node.1]\nvoter = maybe\n", 4, "[node.1] voter:", "true or false");
	expect_error(CLUSTER_OK NODES_OK "[gossip]\nview = ring\n", 8, "[gossip] view:",
		     "unknown strategy");
	expect_error("[cluster]\nid = 1\nname = a-very-long-cluster-name-over-31-chars\n" NODES_OK,
		     3, "[cluster] name:", "too long");
	expect_error(CLUSTER_OK NODES_OK "[storage]\ndir =\n", 8, "[storage] dir:", "empty");
}

static void config_err_cross_checks(void **state)
{
	(void)state;
	expect_error(CLUSTER_OK NODES_OK "[raft]\nheartbeat_ms = 1000\n", 8, "[raft] heartbeat_ms:",
		     "below election_timeout_ms");
	expect_error(CLUSTER_OK NODES_OK "[dataplane]\nstore_slots = 10\nstore_peer_cap = 11\n", 9,
		     "[dataplane] store_peer_cap:", "over store_slots");
	expect_error(CLUSTER_OK NODES_OK "[dataplane]\nstore_slots = 100\norigin_window = 26\n", 9,
		     "[dataplane] origin_window:", "over store_peer_cap");
	expect_error(CLUSTER_OK NODES_OK "[dataplane]\nclock_window = 100\n", 8,
		     "[dataplane] clock_window:", "out of range 1024..4294967295");
}

static void config_err_syntax(void **state)
{
	(void)state;
	expect_error(CLUSTER_OK NODES_OK "[gossip\n", 7, "", "syntax error");
	expect_error(CLUSTER_OK NODES_OK "fanout 3\n", 7, "", "syntax error");
}

static void config_line_numbers(void **state)
{
	(void)state;
	/* Comments, blank lines and CRLF endings count as lines. */
	expect_error("; c\r\n# c\r\n\r\n[cluster]\r\nid = 1\r\n\r\n[gossip]\r\nfanout = 999\r\n", 8,
		     "[gossip] fanout:", "out of range");
	/* An over-long line is refused at its own line. */
	char text[1024];

	snprintf(text, sizeof(text), "[cluster]\nname = %0300d\nid = x\n", 0);
	expect_error(text, 2, "", "line too long");
	/* A syntax error before a bad key is the one reported. */
	expect_error(CLUSTER_OK NODES_OK "junk\n[gossip]\nfanout = 0\n", 7, "", "syntax error");
}

static void config_load_errors(void **state)
{
	struct rumor_config *cfg = new_cfg();
	char err[256] = "";

	(void)state;
	assert_int_equal(rumor_config_load("/nonexistent/rumor.conf", cfg, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/rumor.conf"));
	/* A NULL or zero-length error buffer is allowed. */
	assert_int_equal(rumor_config_parse("[x]\n", "t", cfg, NULL, 0), -EINVAL);
	assert_int_equal(rumor_config_parse("[x]\n", "t", cfg, err, 0), -EINVAL);
	/* A short buffer still gets a NUL-terminated prefix. */
	char tiny[8];

	assert_int_equal(rumor_config_parse("[x]\n", "t.conf", cfg, tiny, sizeof(tiny)), -EINVAL);
	assert_int_equal(strlen(tiny), 7);
	free(cfg);
}

static void config_expand(void **state)
{
	char out[32];

	(void)state;
	assert_int_equal(rumor_config_expand("/run/rumor/node-%n.sock", 12, out, sizeof(out)), 0);
	assert_string_equal(out, "/run/rumor/node-12.sock");
	assert_int_equal(rumor_config_expand("%n/%n", 1023, out, sizeof(out)), 0);
	assert_string_equal(out, "1023/1023");
	assert_int_equal(rumor_config_expand("no template 100%", 3, out, sizeof(out)), 0);
	assert_string_equal(out, "no template 100%");
	assert_int_equal(rumor_config_expand("abc%n", 5, out, 4), -ENAMETOOLONG);
	assert_int_equal(rumor_config_expand("abc%n", 15, out, 5), -ENAMETOOLONG);
	assert_int_equal(rumor_config_expand("abc%n", 5, out, 5), 0);
	assert_string_equal(out, "abc5");
	assert_int_equal(rumor_config_expand("", 5, out, 1), 0);
	assert_string_equal(out, "");
	assert_int_equal(rumor_config_expand("a", 5, out, 1), -ENAMETOOLONG);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(config_example_file),
	cmocka_unit_test(config_defaults),
	cmocka_unit_test(config_nodes_sorted),
	cmocka_unit_test(config_err_unknown_section),
	cmocka_unit_test(config_err_unknown_key),
	cmocka_unit_test(config_err_bad_number),
	cmocka_unit_test(config_err_duplicate_node),
	cmocka_unit_test(config_err_duplicate_key),
	cmocka_unit_test(config_err_node_missing_field),
	cmocka_unit_test(config_err_zero_nodes),
	cmocka_unit_test(config_err_cluster_id_missing),
	cmocka_unit_test(config_err_bad_values),
	cmocka_unit_test(config_err_cross_checks),
	cmocka_unit_test(config_err_syntax),
	cmocka_unit_test(config_line_numbers),
	cmocka_unit_test(config_load_errors),
	cmocka_unit_test(config_expand),
	cmocka_unit_test(config_arp_jumbo),
};

TEST_MAIN("config", tests)
