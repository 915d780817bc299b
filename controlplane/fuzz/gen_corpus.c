/* Writes the seed corpus of controlplane/fuzz/ into corpus/<target>/ using the real encoders.
 * Built only with -Dfuzz=true: `ninja -C <build> controlplane/fuzz/cp_fuzz_gen_corpus`, then
 * `<build>/controlplane/fuzz/cp_fuzz_gen_corpus controlplane/fuzz/corpus`. Output is committed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cp_batch.h"
#include "cp_disk.h"
#include "cp_fetch.h"
#include "cp_fsm.h"
#include "cp_kv.h"
#include "cp_raftio.h"
#include "cp_report.h"

static const char *outdir;

static void put(const char *target, const char *name, const void *buf, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	if (mkdir(path, 0755) && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	f = fopen(path, "wb");
	if (!f || (len && fwrite(buf, 1, len, f) != len) || fclose(f)) {
		perror(path);
		exit(1);
	}
}

static void must(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "gen_corpus: %s failed\n", what);
		exit(1);
	}
}

static void id_of(uint16_t origin, uint64_t seq, struct rumor_event_id *id)
{
	id->hi = 0x1000000000000000ull | origin;
	id->lo = seq * 0x9e3779b97f4a7c15ull;
}

static void gen_report(void)
{
	static struct cp_report r;
	static uint8_t buf[8192];
	const uint16_t counts[] = { 1, 3, RUMOR_WIRE_MAX_EVENTS };

	for (unsigned k = 0; k < 3; k++) {
		char name[32];
		memset(&r, 0, sizeof(r));
		r.origin = 2;
		r.reporter = 5;
		r.count = counts[k];
		r.first_seq = 17;
		for (uint16_t i = 0; i < r.count; i++)
			id_of(2, 17 + i, &r.id[i]);
		rumor_vc_init(&r.timestamp);
		rumor_vc_init(&r.holder_clock);
		for (uint16_t n = 1; n <= k * 2 + 1; n++) {
			must(rumor_vc_set(&r.timestamp, n, 10u * n) == 0, "vc_set");
			must(rumor_vc_set(&r.holder_clock, (uint16_t)(n * 3), 7u * n) == 0, "vc_set");
		}
		int n = cp_report_encode(&r, buf, sizeof(buf));
		must(n > 0, "report_encode");
		snprintf(name, sizeof(name), "report_%u", (unsigned)r.count);
		put("fuzz_cp_report", name, buf, (size_t)n);
	}
}

static void gen_batch(void)
{
	struct cp_batch b;
	static uint8_t buf[4096];
	struct rumor_event_id id;

	must(cp_batch_init(&b, 0) == 0, "batch_init");
	put("fuzz_cp_batch", "empty", buf, (size_t)cp_batch_encode(&b, buf, sizeof(buf)));
	for (uint16_t i = 1; i <= 4; i++) {
		id_of(i, i, &id);
		must(cp_batch_add_event(&b, i, i, &id) == 0, "add_event");
	}
	must(cp_batch_add_skip(&b, 3, 9) == 0, "add_skip");
	put("fuzz_cp_batch", "mixed", buf, (size_t)cp_batch_encode(&b, buf, sizeof(buf)));
	/* skip ranges (wire kind 4): a restart's reservation gap and a 2^21 jump */
	cp_batch_clear(&b);
	must(cp_batch_add_skip_range(&b, 2, 101, 4096) == 0, "add_skip_range");
	id_of(2, 4097, &id);
	must(cp_batch_add_event(&b, 2, 4097, &id) == 0, "add_event");
	must(cp_batch_add_skip_range(&b, 5, 1, (1ull << 21) + 1) == 0, "add_skip_range");
	must(cp_batch_add_skip(&b, 6, 1) == 0, "add_skip");
	put("fuzz_cp_batch", "ranges", buf, (size_t)cp_batch_encode(&b, buf, sizeof(buf)));
	cp_batch_free(&b);
}

static void gen_raftmsg(void)
{
	struct raft_message m;
	struct raft_buffer out;
	struct raft_entry ents[3];
	static char cmd1[] = "SET a 1", cmd2[] = "xyz";

	memset(&m, 0, sizeof(m));
	m.type = RAFT_IO_REQUEST_VOTE;
	m.request_vote = (struct raft_request_vote){ .term = 3, .candidate_id = 2,
		.last_log_index = 10, .last_log_term = 2, .disrupt_leader = 1, .pre_vote = 1 };
	must(cp_raftmsg_encode(&m, &out) == 0, "rv");
	put("fuzz_cp_raftmsg", "request_vote", out.base, out.len);
	raft_free(out.base);

	memset(&m, 0, sizeof(m));
	m.type = RAFT_IO_REQUEST_VOTE_RESULT;
	m.request_vote_result = (struct raft_request_vote_result){ .term = 3, .vote_granted = 1,
		.pre_vote = raft_tribool_true };
	must(cp_raftmsg_encode(&m, &out) == 0, "rvr");
	put("fuzz_cp_raftmsg", "request_vote_result", out.base, out.len);
	raft_free(out.base);

	memset(&m, 0, sizeof(m));
	m.type = RAFT_IO_APPEND_ENTRIES_RESULT;
	m.append_entries_result = (struct raft_append_entries_result){ .term = 4, .rejected = 0,
		.last_log_index = 12 };
	must(cp_raftmsg_encode(&m, &out) == 0, "aer");
	put("fuzz_cp_raftmsg", "append_entries_result", out.base, out.len);
	raft_free(out.base);

	memset(&m, 0, sizeof(m));
	m.type = RAFT_IO_TIMEOUT_NOW;
	m.timeout_now = (struct raft_timeout_now){ .term = 5, .last_log_index = 9,
		.last_log_term = 4 };
	must(cp_raftmsg_encode(&m, &out) == 0, "tn");
	put("fuzz_cp_raftmsg", "timeout_now", out.base, out.len);
	raft_free(out.base);

	memset(&m, 0, sizeof(m));
	m.type = RAFT_IO_APPEND_ENTRIES;
	m.append_entries.term = 5;
	m.append_entries.prev_log_index = 7;
	m.append_entries.prev_log_term = 4;
	m.append_entries.leader_commit = 6;
	must(cp_raftmsg_encode(&m, &out) == 0, "ae0");
	put("fuzz_cp_raftmsg", "append_entries_heartbeat", out.base, out.len);
	raft_free(out.base);
	memset(ents, 0, sizeof(ents));
	ents[0] = (struct raft_entry){ .term = 5, .type = RAFT_COMMAND,
		.buf = { cmd1, sizeof(cmd1) - 1 } };
	ents[1] = (struct raft_entry){ .term = 5, .type = RAFT_BARRIER, .buf = { cmd2, 3 } };
	ents[2] = (struct raft_entry){ .term = 5, .type = RAFT_COMMAND, .buf = { NULL, 0 } };
	m.append_entries.entries = ents;
	m.append_entries.n_entries = 3;
	must(cp_raftmsg_encode(&m, &out) == 0, "ae3");
	put("fuzz_cp_raftmsg", "append_entries_3", out.base, out.len);
	raft_free(out.base);

	memset(&m, 0, sizeof(m));
	m.type = RAFT_IO_INSTALL_SNAPSHOT;
	m.install_snapshot.term = 6;
	m.install_snapshot.last_index = 100;
	m.install_snapshot.last_term = 5;
	m.install_snapshot.conf_index = 90;
	raft_configuration_init(&m.install_snapshot.conf);
	must(raft_configuration_add(&m.install_snapshot.conf, 1, "10.0.0.1:7000", RAFT_VOTER) == 0,
	     "conf_add");
	must(raft_configuration_add(&m.install_snapshot.conf, 2, "10.0.0.2:7000", RAFT_STANDBY) == 0,
	     "conf_add");
	m.install_snapshot.data.base = cmd1;
	m.install_snapshot.data.len = sizeof(cmd1) - 1;
	must(cp_raftmsg_encode(&m, &out) == 0, "is");
	put("fuzz_cp_raftmsg", "install_snapshot", out.base, out.len);
	raft_free(out.base);
	raft_configuration_close(&m.install_snapshot.conf);
}

static void gen_kv(void)
{
	struct cp_kv *kv;
	static uint8_t buf[8192];
	static const char *cmds[] = { "SET alpha 1", "SET beta two words", "INCR ctr 41",
				      "SET e ", "SET zz last" };

	must(cp_kv_create(&kv) == 0, "kv_create");
	put("fuzz_cp_kv_snapshot", "empty", buf, (size_t)cp_kv_snapshot_write(kv, buf, sizeof(buf)));
	for (unsigned i = 0; i < 5; i++)
		must(cp_kv_exec(kv, cmds[i], strlen(cmds[i])) == 0, "kv_exec");
	put("fuzz_cp_kv_snapshot", "five", buf, (size_t)cp_kv_snapshot_write(kv, buf, sizeof(buf)));
	cp_kv_destroy(kv);
}

/* Payload provider for the fsm seeds: events (origin, seq) carry "SET k<origin> <seq>"
 * unless @missing says they are not here yet. */
struct pp_state {
	uint64_t missing_from;
	char buf[64];
};

static int pp_get(void *d, uint16_t o, uint64_t s, const struct rumor_event_id *id,
		  const void **p, size_t *len)
{
	struct pp_state *st = d;
	(void)id;
	if (s >= st->missing_from)
		return -EAGAIN;
	*len = (size_t)snprintf(st->buf, sizeof(st->buf), "SET k%u %llu", o,
				(unsigned long long)s);
	*p = st->buf;
	return 0;
}

static void pp_want(void *d, uint16_t o, uint64_t s, const struct rumor_event_id *id)
{
	(void)d; (void)o; (void)s; (void)id;
}

static void gen_fsm(void)
{
	struct pp_state st = { .missing_from = 5 };
	struct cp_payload_provider pp = { .data = &st, .get = pp_get, .want = pp_want };
	struct cp_fsm_config cfg;
	struct cp_fsm *f;
	struct cp_batch b;
	struct rumor_event_id id;
	static uint8_t enc[4096];
	void *snap;
	size_t len;

	cp_fsm_config_default(&cfg);
	cfg.log_window = 16;
	must(cp_fsm_create(&cfg, &pp, &f) == 0, "fsm_create");
	must(cp_fsm_snapshot_save(f, &snap, &len) == 0, "save");
	put("fuzz_cp_fsm_snapshot", "empty", snap, len);
	free(snap);
	must(cp_batch_init(&b, 0) == 0, "batch_init");
	for (uint64_t s = 1; s <= 7; s++)
		for (uint16_t o = 1; o <= 3; o++) {
			id_of(o, s, &id);
			if (o == 2 && s == 3)
				must(cp_batch_add_skip(&b, o, s) == 0, "skip");
			else
				must(cp_batch_add_event(&b, o, s, &id) == 0, "event");
		}
	long n = cp_batch_encode(&b, enc, sizeof(enc));
	must(n > 0, "batch_encode");
	must(cp_fsm_apply_buf(f, enc, (size_t)n) == 0, "apply");
	cp_fsm_drain(f);
	must(cp_fsm_snapshot_save(f, &snap, &len) == 0, "save");
	put("fuzz_cp_fsm_snapshot", "applied_and_queued", snap, len);
	free(snap);
	st.missing_from = 100;
	cp_fsm_drain(f);
	must(cp_fsm_snapshot_save(f, &snap, &len) == 0, "save");
	put("fuzz_cp_fsm_snapshot", "applied", snap, len);
	free(snap);
	/* skip ranges in the log window and, behind a missing payload, in the queue */
	cp_batch_clear(&b);
	must(cp_batch_add_skip_range(&b, 1, 8, 4096) == 0, "skip_range");
	id_of(3, 8, &id);
	must(cp_batch_add_event(&b, 3, 8, &id) == 0, "event");
	must(cp_batch_add_skip_range(&b, 3, 9, (1ull << 21) + 9) == 0, "skip_range");
	st.missing_from = 8;
	n = cp_batch_encode(&b, enc, sizeof(enc));
	must(n > 0, "batch_encode");
	must(cp_fsm_apply_buf(f, enc, (size_t)n) == 0, "apply");
	must(cp_fsm_snapshot_save(f, &snap, &len) == 0, "save");
	put("fuzz_cp_fsm_snapshot", "skip_ranges", snap, len);
	free(snap);
	cp_batch_free(&b);
	cp_fsm_destroy(f);
}

static void gen_fetch(void)
{
	uint8_t buf[512];
	struct rumor_event_id id;
	struct rumor_vc ts;
	int n, m;

	cp_fetch_req_encode(buf, 2, 17, 4);
	put("fuzz_cp_fetch", "request", buf, CP_FETCH_REQ_LEN);
	rumor_vc_init(&ts);
	rumor_vc_set(&ts, 1, 40);
	rumor_vc_set(&ts, 2, 17);
	rumor_vc_set(&ts, 3, 41);
	rumor_event_id_compute(2, 17, "SET k v", 7, &id);
	n = cp_fetch_resp_add(buf, sizeof(buf), 2, 17, &id, "SET k v", 7, &ts);
	must(n > 0, "fetch resp");
	put("fuzz_cp_fetch", "response_clock", buf, (size_t)n);
	rumor_event_id_compute(2, 18, "", 0, &id);
	rumor_vc_set(&ts, 2, 18);
	m = cp_fetch_resp_add(buf + n, sizeof(buf) - (size_t)n, 2, 18, &id, "", 0, &ts);
	must(m > 0, "fetch resp 2");
	put("fuzz_cp_fetch", "response_two", buf, (size_t)(n + m));
	rumor_event_id_compute(5, 1, "no clock", 8, &id);
	n = cp_fetch_resp_add(buf, sizeof(buf), 5, 1, &id, "no clock", 8, NULL);
	must(n > 0, "fetch resp 3");
	put("fuzz_cp_fetch", "response_no_clock", buf, (size_t)n);
}

static void gen_api(void)
{
	static const char *lines[][2] = {
		{ "status", "{\"cmd\":\"status\"}\n{\"cmd\":\"members\"}\n{\"cmd\":\"view\"}\n" },
		{ "send", "{\"cmd\":\"send\",\"data\":\"hello\",\"wait\":true}\n"
			  "{\"cmd\":\"send\",\"batch\":[\"a\",\"bb\",\"\"]}\n" },
		{ "events", "{\"cmd\":\"events\",\"from\":990,\"count\":50}\n"
			    "{\"cmd\":\"events\",\"from\":-1}\n" },
		{ "kv", "{\"cmd\":\"kv\",\"key\":\"alpha\"}\n{\"cmd\":\"kv\"}\n" },
		{ "change", "{\"cmd\":\"add\",\"id\":4,\"voter\":false}\n"
			    "{\"cmd\":\"remove\",\"id\":2}\n{\"cmd\":\"transfer\",\"id\":3}\n" },
		{ "watch", "{\"cmd\":\"watch\",\"gossip\":true}\n{\"cmd\":\"clock\"}\n" },
		{ "bad", "not json\n[1,2]\n{\"cmd\":5}\n{\"cmd\":\"nope\"}\n{\"x\":\"\\u00e9\"}\n" },
	};
	for (unsigned i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		put("fuzz_cp_api_request", lines[i][0], lines[i][1], strlen(lines[i][1]));
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	if (mkdir(outdir, 0755) && errno != EEXIST) {
		perror(outdir);
		return 1;
	}
	gen_report();
	gen_batch();
	gen_raftmsg();
	gen_kv();
	gen_fsm();
	gen_api();
	gen_fetch();
	return 0;
}
