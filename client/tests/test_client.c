/* librumor tests: a fake node (thread on a Unix socket in a temp dir) answers with canned
 * replies shaped like controlplane/cp_cmd.c's, and the tests check the client's parsing,
 * request contents and error paths. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "rumor.h"

#define ID_A "0123456789abcdef0123456789abcdef"
#define ID_B "fedcba9876543210fedcba9876543210"

#define STATUS_LEADER \
	"{\"ok\":true,\"node\":1,\"role\":\"leader\",\"term\":3,\"leader\":1," \
	"\"commit_index\":42,\"last_applied\":42,\"applied_gseq\":17," \
	"\"order_digest\":\"00112233aabbccdd\",\"waiting_payload\":0,\"held_events\":2," \
	"\"uptime_s\":9,\"dataplane\":{\"state\":\"alive\",\"rx_pkts\":10,\"tx_pkts\":11," \
	"\"frames_new\":3,\"frames_dup\":1,\"drops\":0,\"store_used\":5,\"store_cap\":4096}," \
	"\"node_stats\":{\"frames\":4},\"fsm\":{\"batches\":2}}\n"
#define STATUS_FOLLOWER(leader) \
	"{\"ok\":true,\"node\":1,\"role\":\"follower\",\"term\":3,\"leader\":" #leader "," \
	"\"commit_index\":42,\"last_applied\":42,\"applied_gseq\":17," \
	"\"order_digest\":\"00112233aabbccdd\",\"waiting_payload\":0,\"held_events\":0," \
	"\"uptime_s\":9,\"dataplane\":{\"state\":\"DEAD\"}}\n"
#define MEMBERS_12 \
	"{\"ok\":true,\"members\":[{\"id\":1,\"role\":\"leader\",\"voter\":true," \
	"\"control\":\"10.0.0.1:7001\",\"state\":\"self\"},{\"id\":2,\"role\":\"voter\"," \
	"\"voter\":true,\"control\":\"10.0.0.2:7001\",\"state\":\"connected\"}]}\n"

struct step {
	const char *cmd;   /* expected "cmd" of the request */
	const char *reply; /* lines to write ("!" first: close after writing them);
			    * NULL: close the connection instead */
};

struct fake {
	char dir[64], path[128];
	int lfd;
	pthread_t th;
	const struct step *steps;
	size_t n;
	char req[8][1024]; /* requests received */
	size_t nreq;
	int mismatch;      /* a request's cmd differed from the script */
};

static int read_line(int fd, char *buf, size_t cap)
{
	size_t len = 0;

	while (len + 1 < cap) {
		char ch;
		ssize_t n = recv(fd, &ch, 1, 0);
		if (n <= 0)
			return -1;
		if (ch == '\n')
			break;
		buf[len++] = ch;
	}
	buf[len] = 0;
	return 0;
}

static void *serve(void *arg)
{
	struct fake *f = arg;
	int fd = accept(f->lfd, NULL, NULL), hold = 1;
	char line[1024];

	if (fd < 0)
		return NULL;
	for (size_t i = 0; i < f->n; i++) {
		if (read_line(fd, line, sizeof(line))) {
			hold = 0;
			break;
		}
		if (f->nreq < 8)
			strcpy(f->req[f->nreq++], line);
		json_t *o = json_loads(line, 0, NULL);
		const char *cmd = json_string_value(json_object_get(o, "cmd"));
		if (!cmd || strcmp(cmd, f->steps[i].cmd))
			f->mismatch = 1;
		json_decref(o);
		const char *r = f->steps[i].reply;
		int close_after = r && r[0] == '!';
		if (close_after)
			r++;
		if (!r || write(fd, r, strlen(r)) != (ssize_t)strlen(r) || close_after) {
			hold = 0;
			break;
		}
	}
	/* hold the connection until the client is done (an unscripted request ends it) */
	while (hold && read_line(fd, line, sizeof(line)) == 0)
		;
	close(fd);
	return NULL;
}

/* Listen on <dir>/<name> (dir NULL: a new temp dir) and serve @steps to one client. */
static void fake_start(struct fake *f, const char *dir, const char *name,
		       const struct step *steps, size_t n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(f, 0, sizeof(*f));
	if (dir) {
		strcpy(f->dir, dir);
	} else {
		strcpy(f->dir, "/tmp/rumor-client-test.XXXXXX");
		assert_non_null(mkdtemp(f->dir));
	}
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
	strcpy(sa.sun_path, f->path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	f->steps = steps;
	f->n = n;
	assert_int_equal(pthread_create(&f->th, NULL, serve, f), 0);
}

/* Wait for the server (the client must be closed first) and remove its socket. */
static void fake_stop(struct fake *f, int rmdir_too)
{
	pthread_join(f->th, NULL);
	close(f->lfd);
	unlink(f->path);
	if (rmdir_too)
		rmdir(f->dir);
	assert_false(f->mismatch);
}

static struct rumor_client *connect_to(struct fake *f)
{
	struct rumor_client *c = NULL;

	assert_int_equal(rumor_client_connect(f->path, &c), 0);
	rumor_client_set_timeout(c, 5000);
	return c;
}

/* The request @i as JSON (caller decrefs). */
static json_t *req(struct fake *f, size_t i)
{
	assert_true(i < f->nreq);
	json_t *o = json_loads(f->req[i], 0, NULL);
	assert_non_null(o);
	return o;
}

static void test_connect_missing(void **state)
{
	struct rumor_client *c = NULL;
	(void)state;
	assert_int_equal(rumor_client_connect("/nonexistent-dir-rumor/node-1.sock", &c), -ENOENT);
	assert_null(c);
}

static void test_status(void **state)
{
	static const struct step s[] = { { "status", STATUS_LEADER } };
	struct fake f;
	struct rumor_status st;
	(void)state;

	fake_start(&f, NULL, "node-1.sock", s, 1);
	struct rumor_client *c = connect_to(&f);
	assert_int_equal(rumor_status(c, &st), 0);
	assert_int_equal(st.node, 1);
	assert_string_equal(st.role, "leader");
	assert_int_equal(st.term, 3);
	assert_int_equal(st.leader, 1);
	assert_int_equal(st.commit_index, 42);
	assert_int_equal(st.applied_gseq, 17);
	assert_string_equal(st.order_digest, "00112233aabbccdd");
	assert_int_equal(st.held_events, 2);
	assert_true(st.dataplane_alive);
	assert_string_equal(rumor_client_error(c), "");
	rumor_client_close(c);
	fake_stop(&f, 1);
}

static void test_bad_replies(void **state)
{
	static const struct step s[] = {
		{ "status", "{\"ok\":true,\"node\":1,\"role\":\"leader\"}\n" }, /* fields missing */
		{ "status", "this is not json\n" },
		{ "status", "[1,2,3]\n" },
		{ "status", "{\"node\":1}\n" },                                 /* no "ok" */
		{ "view", "{\"ok\":false,\"error\":\"view: something broke\"}\n" },
	};
	struct fake f;
	struct rumor_status st;
	char buf[64];
	(void)state;

	fake_start(&f, NULL, "node-1.sock", s, 5);
	struct rumor_client *c = connect_to(&f);
	assert_int_equal(rumor_status(c, &st), -EPROTO);
	assert_non_null(strstr(rumor_client_error(c), "\"term\""));
	assert_int_equal(rumor_status(c, &st), -EPROTO);
	assert_non_null(strstr(rumor_client_error(c), "bad reply line"));
	assert_int_equal(rumor_status(c, &st), -EPROTO);
	assert_non_null(strstr(rumor_client_error(c), "not a JSON object"));
	assert_int_equal(rumor_status(c, &st), -EPROTO);
	assert_int_equal(rumor_current_view(c, buf, sizeof(buf)), -EREMOTEIO);
	assert_string_equal(rumor_client_error(c), "view: something broke");
	rumor_client_close(c);
	fake_stop(&f, 1);
}

static void test_send(void **state)
{
	static const struct step s[] = {
		{ "send", "{\"ok\":true,\"origin\":1,\"first_seq\":5,\"ids\":[\"" ID_A "\"]}\n" },
		/* a stream line before the reply (a watch on this connection) is skipped */
		{ "send", "{\"stream\":\"ordered\",\"event\":{\"gseq\":1}}\n"
			  "{\"ok\":true,\"id\":\"" ID_B "\",\"origin\":1,\"seq\":6,\"gseq\":17}\n" },
		{ "send", "{\"ok\":false,\"error\":\"send: dataplane is down\"}\n" },
		{ "send", "{\"ok\":true,\"origin\":1,\"first_seq\":7,\"ids\":[]}\n" },
		{ "send", "{\"ok\":true,\"ack\":\"durable\",\"id\":\"" ID_B "\",\"origin\":1,"
			  "\"first_seq\":8,\"seq\":8}\n" },
		{ "send", "{\"ok\":true,\"id\":\"" ID_B "\",\"origin\":1,\"seq\":6,\"gseq\":17,"
			  "\"retry\":true}\n" },
	};
	struct fake f;
	struct rumor_send_result r;
	(void)state;

	fake_start(&f, NULL, "node-1.sock", s, 6);
	struct rumor_client *c = connect_to(&f);
	assert_int_equal(rumor_send(c, "some data", 9, false, &r), 0);
	assert_string_equal(r.id, ID_A);
	assert_int_equal(r.origin, 1);
	assert_int_equal(r.seq, 5);
	assert_int_equal(r.gseq, 0);
	assert_int_equal(rumor_send(c, "more", 4, true, &r), 0);
	assert_string_equal(r.id, ID_B);
	assert_int_equal(r.seq, 6);
	assert_int_equal(r.gseq, 17);
	assert_int_equal(rumor_send(c, "x", 1, false, NULL), -EREMOTEIO);
	assert_string_equal(rumor_client_error(c), "send: dataplane is down");
	assert_int_equal(rumor_send(c, "y", 1, false, &r), -EPROTO);
	/* not UTF-8: refused before anything is sent */
	assert_int_equal(rumor_send(c, "\xff\xfe", 2, false, &r), -EINVAL);
	assert_int_equal(rumor_send_ack(c, "z", 1, RUMOR_ACK_DURABLE, &r), 0);
	assert_string_equal(r.id, ID_B);
	assert_int_equal(r.seq, 8);
	assert_int_equal(r.gseq, 0);
	assert_int_equal(rumor_send_ack(c, "z", 1, (enum rumor_ack)7, &r), -EINVAL);
	struct rumor_send_req q = { .data = "more", .len = 4, .ack = RUMOR_ACK_APPLIED,
				    .request_id = "retry-1" };
	assert_int_equal(rumor_send_req(c, &q, &r), 0);
	assert_int_equal(r.gseq, 17);
	q.request_id = "";
	assert_int_equal(rumor_send_req(c, &q, &r), -EINVAL);
	rumor_client_close(c);
	fake_stop(&f, 1);

	json_t *o = req(&f, 0);
	assert_string_equal(json_string_value(json_object_get(o, "data")), "some data");
	assert_string_equal(json_string_value(json_object_get(o, "ack")), "stamped");
	json_decref(o);
	o = req(&f, 1);
	assert_string_equal(json_string_value(json_object_get(o, "data")), "more");
	assert_string_equal(json_string_value(json_object_get(o, "ack")), "applied");
	json_decref(o);
	o = req(&f, 4);
	assert_string_equal(json_string_value(json_object_get(o, "ack")), "durable");
	json_decref(o);
	o = req(&f, 5);
	assert_string_equal(json_string_value(json_object_get(o, "request_id")), "retry-1");
	json_decref(o);
	assert_int_equal(f.nreq, 6);
}

static void test_view(void **state)
{
	static const char *v = "{\"ok\":true,\"strategy\":\"static\",\"fanout\":3,\"rounds\":4,"
			       "\"peers\":[2,3,4]}\n";
	const struct step s[] = { { "view", v }, { "view", v },
				  { "view", "{\"ok\":true,\"strategy\":\"static\",\"fanout\":3}\n" } };
	struct fake f;
	char buf[128], small[12];
	(void)state;

	fake_start(&f, NULL, "node-1.sock", s, 3);
	struct rumor_client *c = connect_to(&f);
	assert_int_equal(rumor_current_view(c, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "static fanout=3 rounds=4 peers=[2 3 4]");
	assert_int_equal(rumor_current_view(c, small, sizeof(small)), -ENOBUFS);
	assert_string_equal(small, "static fano");
	assert_int_equal(rumor_current_view(c, buf, sizeof(buf)), -EPROTO);
	rumor_client_close(c);
	fake_stop(&f, 1);
}

static void test_join_on_leader(void **state)
{
	static const struct step s[] = {
		{ "members", MEMBERS_12 },
		{ "status", STATUS_LEADER },
		{ "add", "{\"ok\":true,\"done\":\"add\",\"id\":3}\n" },
	};
	const uint16_t ids[] = { 2, 3 };
	struct fake f;
	(void)state;

	fake_start(&f, NULL, "node-1.sock", s, 3);
	struct rumor_client *c = connect_to(&f);
	assert_int_equal(rumor_join(c, ids, 2), 0);
	rumor_client_close(c);
	fake_stop(&f, 1);
	assert_int_equal(f.nreq, 3); /* node 2 is a member already: only 3 was added */
	json_t *o = req(&f, 2);
	assert_int_equal(json_integer_value(json_object_get(o, "id")), 3);
	assert_true(json_is_true(json_object_get(o, "voter")));
	json_decref(o);
}

static void test_add_redirects_to_leader(void **state)
{
	static const struct step s1[] = { { "status", STATUS_FOLLOWER(2) } };
	static const struct step s2[] = {
		{ "add", "{\"ok\":true,\"done\":\"add\",\"id\":4}\n" },
		{ "add", "{\"ok\":false,\"error\":\"add: node 5 is not in /etc/rumor.conf\"}\n" },
	};
	const uint16_t ids[] = { 4, 5 };
	struct fake f1, f2;
	(void)state;

	fake_start(&f1, NULL, "node-1.sock", s1, 1);
	fake_start(&f2, f1.dir, "node-2.sock", s2, 2);
	struct rumor_client *c = connect_to(&f1);
	assert_int_equal(rumor_add_peers(c, ids, 2, false), -EREMOTEIO);
	assert_string_equal(rumor_client_error(c), "add: node 5 is not in /etc/rumor.conf");
	rumor_client_close(c);
	fake_stop(&f2, 0);
	fake_stop(&f1, 1);
	assert_int_equal(f2.nreq, 2);
	json_t *o = req(&f2, 0);
	assert_int_equal(json_integer_value(json_object_get(o, "id")), 4);
	assert_true(json_is_false(json_object_get(o, "voter")));
	json_decref(o);
}

static void test_add_without_leader(void **state)
{
	static const struct step s[] = { { "status", STATUS_FOLLOWER(0) },
					 { "status", STATUS_FOLLOWER(7) } };
	const uint16_t ids[] = { 4 };
	struct fake f;
	(void)state;

	fake_start(&f, NULL, "node-1.sock", s, 2);
	struct rumor_client *c = connect_to(&f);
	assert_int_equal(rumor_add_peers(c, ids, 1, true), -EAGAIN);
	/* leader 7 has no socket next to ours */
	assert_int_equal(rumor_add_peers(c, ids, 1, true), -EHOSTUNREACH);
	assert_non_null(strstr(rumor_client_error(c), "node 7"));
	const uint16_t bad[] = { 0 };
	assert_int_equal(rumor_add_peers(c, bad, 1, true), -EINVAL);
	rumor_client_close(c);
	fake_stop(&f, 1);
}

struct seen {
	int gossip, ordered, skips, stop_after;
	struct rumor_vc clock;
	char data[64], clock_text[64];
	uint64_t last_gseq;
};

static int on_gossip(void *arg, const struct rumor_gossip_event *ev)
{
	struct seen *s = arg;
	s->gossip++;
	s->clock = ev->clock;
	snprintf(s->data, sizeof(s->data), "%.*s", (int)ev->len, ev->data);
	assert_int_equal(ev->origin, 2);
	assert_string_equal(ev->id, ID_A);
	return s->gossip + s->ordered == s->stop_after;
}

static int on_ordered(void *arg, const struct rumor_ordered_event *ev)
{
	struct seen *s = arg;
	s->ordered++;
	s->last_gseq = ev->gseq;
	if (ev->skip) {
		s->skips++;
		assert_null(ev->data);
	} else {
		snprintf(s->clock_text, sizeof(s->clock_text), "%s", ev->clock_text);
	}
	return s->gossip + s->ordered == s->stop_after;
}

#define GOSSIP_EV \
	"{\"stream\":\"gossip\",\"event\":{\"origin\":2,\"seq\":7,\"id\":\"" ID_A "\"," \
	"\"clock\":{\"2\":7,\"1\":3},\"data\":\"hello\"}}\n"
#define ORDERED_EV \
	"{\"stream\":\"ordered\",\"event\":{\"gseq\":18,\"origin\":2,\"seq\":7,\"id\":\"" ID_A \
	"\",\"data\":\"hello\",\"clock_text\":\"{1:3, 2:7}\"}}\n"
#define SKIP_EV \
	"{\"stream\":\"ordered\",\"event\":{\"gseq\":19,\"origin\":3,\"seq\":1,\"id\":\"" \
	"00000000000000000000000000000000\",\"skip\":true}}\n"

static void test_receive(void **state)
{
	static const struct step s[] = {
		{ "watch", "{\"ok\":true,\"watching\":\"ordered+gossip\"}\n" GOSSIP_EV
			   "{\"stream\":\"future\",\"event\":{}}\n" ORDERED_EV SKIP_EV ORDERED_EV },
	};
	struct fake f;
	struct seen seen = { .stop_after = 3 };
	(void)state;

	fake_start(&f, NULL, "node-1.sock", s, 1);
	struct rumor_client *c = connect_to(&f);
	assert_int_equal(rumor_receive(c, on_gossip, on_ordered, &seen), 0);
	assert_int_equal(seen.gossip, 1);
	assert_int_equal(seen.ordered, 2);
	assert_int_equal(seen.skips, 1);
	assert_int_equal(seen.last_gseq, 19);
	assert_string_equal(seen.data, "hello");
	assert_string_equal(seen.clock_text, "{1:3, 2:7}");
	assert_int_equal(seen.clock.n, 2);
	assert_int_equal(rumor_vc_get(&seen.clock, 1), 3);
	assert_int_equal(rumor_vc_get(&seen.clock, 2), 7);
	rumor_client_close(c);
	fake_stop(&f, 1);
	json_t *o = req(&f, 0);
	assert_true(json_is_true(json_object_get(o, "gossip")));
	json_decref(o);
}

static int receive_once(const struct step *s, struct seen *seen, char *err, size_t cap)
{
	struct fake f;

	fake_start(&f, NULL, "node-1.sock", s, 1);
	struct rumor_client *c = connect_to(&f);
	int rc = rumor_receive(c, on_gossip, on_ordered, seen);
	snprintf(err, cap, "%s", rumor_client_error(c));
	rumor_client_close(c);
	fake_stop(&f, 1);
	return rc;
}

static void test_receive_errors(void **state)
{
	static const struct step closes[] = {
		{ "watch", "!{\"ok\":true,\"watching\":\"ordered\"}\n" ORDERED_EV },
	};
	static const struct step bad_clock[] = {
		{ "watch", "{\"ok\":true,\"watching\":\"ordered+gossip\"}\n"
			   "{\"stream\":\"gossip\",\"event\":{\"origin\":2,\"seq\":7,\"id\":\"" ID_A
			   "\",\"clock\":{\"2\":0},\"data\":\"x\"}}\n" },
	};
	static const struct step no_reply[] = { { "watch", NULL } };
	static const struct step refused[] = {
		{ "watch", "{\"ok\":false,\"error\":\"unknown command \\\"watch\\\"\"}\n" },
	};
	struct seen seen = { .stop_after = 100 };
	char err[256];
	(void)state;

	assert_int_equal(receive_once(closes, &seen, err, sizeof(err)), -ECONNRESET);
	assert_int_equal(seen.ordered, 1); /* the event before the close was delivered */
	assert_int_equal(receive_once(bad_clock, &seen, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "clock"));
	assert_int_equal(seen.gossip, 0);
	assert_int_equal(receive_once(no_reply, &seen, err, sizeof(err)), -ECONNRESET);
	assert_int_equal(receive_once(refused, &seen, err, sizeof(err)), -EREMOTEIO);
	assert_string_equal(err, "unknown command \"watch\"");
}

static void test_timeout(void **state)
{
	static const struct step s[] = { { "status", "" } };
	struct fake f;
	struct rumor_status st;
	(void)state;

	fake_start(&f, NULL, "node-1.sock", s, 1);
	struct rumor_client *c = connect_to(&f);
	rumor_client_set_timeout(c, 100);
	assert_int_equal(rumor_status(c, &st), -ETIMEDOUT);
	rumor_client_close(c);
	fake_stop(&f, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_missing),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_bad_replies),
		cmocka_unit_test(test_send),
		cmocka_unit_test(test_view),
		cmocka_unit_test(test_join_on_leader),
		cmocka_unit_test(test_add_redirects_to_leader),
		cmocka_unit_test(test_add_without_leader),
		cmocka_unit_test(test_receive),
		cmocka_unit_test(test_receive_errors),
		cmocka_unit_test(test_timeout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
