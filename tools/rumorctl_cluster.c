/* `rumorctl cluster` (every member in one table) and `rumorctl check` (one line and an exit
 * code for monitoring). Members come from one reachable node's membership; their API sockets
 * from --endpoints or the socket pattern (config api_socket / $RUMOR_RUN/node-%n.sock). */
#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rumor_config.h"
#include "rumorctl.h"

#define MAX_ROWS 64

struct row {
	unsigned id;          /* 0: an endpoint that never said who it is */
	char path[256];
	int err;              /* probe error; 0 with status set */
	int probed;           /* 0: a member no endpoint covers */
	json_t *status;       /* the node's status reply (owned) */
	json_t *members;      /* its membership list (owned) */
	int member;           /* listed in the membership used */
	int voter;
	char seen[16];        /* the membership's state for it: self, connected, unreachable */
	long long bad_rise;   /* rumor-frame drops during the window, -1 not sampled */
	long long lag, gseq_lag; /* -1 unknown */
};

struct opts {
	long long max_lag, max_gseq_lag;
	int window_ms;
};

struct view {
	struct row rows[MAX_ROWS];
	size_t n;
	json_t *membership;   /* borrowed from one row */
	unsigned leader;      /* a reachable node that says it leads, highest term */
	long long term;
	unsigned voters, voters_up, up, members;
	int code;
	char reason[512];
	json_t *problems;
	const char *pattern;
};

static long long num(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "-";
}

static struct row *row_by_id(struct view *v, unsigned id)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->rows[i].id == id)
			return &v->rows[i];
	return NULL;
}

static struct row *add_row(struct view *v, unsigned id, const char *path)
{
	if (v->n == MAX_ROWS)
		return NULL;
	struct row *r = &v->rows[v->n++];
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->bad_rise = r->lag = r->gseq_lag = -1;
	snprintf(r->path, sizeof(r->path), "%s", path ? path : "");
	return r;
}

/* The node id the socket pattern gives @path, or 0. */
static unsigned id_of_path(const char *pattern, const char *path)
{
	const char *pc = strstr(pattern, "%n");
	size_t pre, suf, len = strlen(path);

	if (!pc)
		return 0;
	pre = (size_t)(pc - pattern);
	suf = strlen(pc + 2);
	if (len <= pre + suf || strncmp(path, pattern, pre) || strcmp(path + len - suf, pc + 2))
		return 0;
	unsigned id = 0;
	for (size_t i = pre; i < len - suf; i++) {
		if (path[i] < '0' || path[i] > '9' || id > 100000)
			return 0;
		id = id * 10 + (unsigned)(path[i] - '0');
	}
	return id;
}

static void path_of_id(const char *pattern, unsigned id, char *out, size_t cap)
{
	if (rumor_config_expand(pattern, (uint16_t)id, out, cap) < 0)
		snprintf(out, cap, "?");
}

/* Ask the rows in @idx for status (and members when @with_members) all at once. */
static void probe_rows(struct view *v, struct row **rows, size_t n, int with_members,
		       int timeout_ms)
{
	struct rctl_probe *p = calloc(n ? n : 1, sizeof(*p));

	if (!p)
		return;
	for (size_t i = 0; i < n; i++) {
		snprintf(p[i].path, sizeof(p[i].path), "%s", rows[i]->path);
		p[i].req[p[i].nreq++] = json_pack("{s:s}", "cmd", "status");
		if (with_members)
			p[i].req[p[i].nreq++] = json_pack("{s:s}", "cmd", "members");
	}
	rctl_probe_run(p, n, timeout_ms);
	for (size_t i = 0; i < n; i++) {
		struct row *r = rows[i];
		r->probed = 1;
		r->err = p[i].err;
		if (!r->err && !json_is_true(json_object_get(p[i].rep[0], "ok")))
			r->err = -EPROTO;
		if (!r->err) {
			json_decref(r->status);
			r->status = json_incref(p[i].rep[0]);
			/* who answered, whatever the path suggested */
			if (num(r->status, "node") > 0)
				r->id = (unsigned)num(r->status, "node");
			if (with_members && json_is_true(json_object_get(p[i].rep[1], "ok"))) {
				json_decref(r->members);
				r->members = json_incref(json_object_get(p[i].rep[1], "members"));
			}
		}
		rctl_probe_free(&p[i]);
	}
	free(p);
	(void)v;
}

/* Seeds when no --endpoints: the -n/-s node, else the config's nodes, else every socket the
 * pattern matches in the run dir. */
static void seed_rows(struct view *v, const struct rctl_global *g, const struct rumor_config *cfg,
		      int glob_only)
{
	char path[256];

	if (g->seed[0] && !glob_only) {
		add_row(v, id_of_path(g->pattern, g->seed), g->seed);
		return;
	}
	if (cfg && !glob_only) {
		for (unsigned i = 0; i < cfg->n_nodes; i++) {
			path_of_id(g->pattern, cfg->nodes[i].id, path, sizeof(path));
			add_row(v, cfg->nodes[i].id, path);
		}
		return;
	}
	char pat[300];
	const char *pc = strstr(g->pattern, "%n");
	glob_t gl;
	if (!pc)
		return;
	snprintf(pat, sizeof(pat), "%.*s*%s", (int)(pc - g->pattern), g->pattern, pc + 2);
	if (glob(pat, 0, NULL, &gl) != 0)
		return;
	for (size_t i = 0; i < gl.gl_pathc; i++) {
		unsigned id = id_of_path(g->pattern, gl.gl_pathv[i]);
		int known = 0;
		for (size_t j = 0; j < v->n; j++)
			known |= !strcmp(v->rows[j].path, gl.gl_pathv[i]);
		if (id && !known && !row_by_id(v, id))
			add_row(v, id, gl.gl_pathv[i]);
	}
	globfree(&gl);
}

/* The membership to trust: the leader's (highest term), else any reachable node's. */
static void pick_membership(struct view *v)
{
	long long best = -1;
	int best_leader = 0;

	for (size_t i = 0; i < v->n; i++) {
		struct row *r = &v->rows[i];
		if (!r->status)
			continue;
		int leads = !strcmp(str(r->status, "role"), "leader");
		long long t = num(r->status, "term");
		if (leads && (!v->leader || t > v->term)) {
			v->leader = r->id;
			v->term = t;
		}
		if (!r->members)
			continue;
		if ((leads && !best_leader) || (leads == best_leader && t > best)) {
			v->membership = r->members;
			best = t;
			best_leader = leads;
		}
	}
	if (!v->leader) {
		for (size_t i = 0; i < v->n; i++)
			if (v->rows[i].status && num(v->rows[i].status, "term") > v->term)
				v->term = num(v->rows[i].status, "term");
	}
}

static void apply_membership(struct view *v, const struct rctl_global *g, int explicit)
{
	size_t i;
	json_t *m;
	char path[256];

	if (!v->membership)
		return;
	json_array_foreach(v->membership, i, m) {
		unsigned id = (unsigned)num(m, "id");
		struct row *r = row_by_id(v, id);
		if (!r) {
			/* an endpoint that never answered may be this member: the pattern says */
			for (size_t j = 0; j < v->n && !r; j++)
				if (!v->rows[j].id && id_of_path(g->pattern, v->rows[j].path) == id)
					r = &v->rows[j], r->id = id;
		}
		if (!r) {
			path_of_id(g->pattern, id, path, sizeof(path));
			r = add_row(v, id, explicit ? "" : path);
			if (!r)
				continue;
		}
		r->member = 1;
		r->voter = json_is_true(json_object_get(m, "voter"));
		snprintf(r->seen, sizeof(r->seen), "%s", str(m, "state"));
	}
}

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	unsigned ix = x->id ? x->id : 1u << 30, iy = y->id ? y->id : 1u << 30;

	return ix < iy ? -1 : ix > iy;
}

static void problem(struct view *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct view *v, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_array_append_new(v->problems, json_string(msg));
}

static const char *row_error(const struct row *r)
{
	if (!r->probed)
		return "no endpoint given for this member (not probed)";
	return rctl_errstr(r->err);
}

static void evaluate(struct view *v, const struct opts *o)
{
	struct row *lr = v->leader ? row_by_id(v, v->leader) : NULL;
	size_t i;

	v->problems = json_array();
	for (i = 0; i < v->n; i++) {
		struct row *r = &v->rows[i];
		if (!r->member)
			continue;
		v->members++;
		v->voters += r->voter;
		if (r->status) {
			v->up++;
			v->voters_up += r->voter;
		} else if (!r->probed && (!strcmp(r->seen, "connected") || !strcmp(r->seen, "self"))) {
			/* --endpoints named no socket for it: the membership's word for quorum */
			v->voters_up += r->voter;
		}
	}
	if (!v->up && !v->n) {
		v->code = RCTL_HEALTH_UNREACHABLE;
		snprintf(v->reason, sizeof(v->reason), "no API socket found (pattern %s)",
			 v->pattern);
		return;
	}
	if (!v->up) {
		v->code = RCTL_HEALTH_UNREACHABLE;
		snprintf(v->reason, sizeof(v->reason), "no member answered (%zu tried%s%s)", v->n,
			 v->n ? ", first " : "", v->n ? v->rows[0].path : "");
		return;
	}
	unsigned need = v->voters / 2 + 1;
	if (v->voters_up < need) {
		v->code = RCTL_HEALTH_NO_QUORUM;
		snprintf(v->reason, sizeof(v->reason),
			 "%u of %u voters reachable, %u needed", v->voters_up, v->voters,
			 need);
	} else if (!lr) {
		v->code = RCTL_HEALTH_NO_QUORUM;
		snprintf(v->reason, sizeof(v->reason),
			 "no leader: %u of %u voters reachable but none leads (election under way?)",
			 v->voters_up, v->voters);
	}
	for (i = 0; i < v->n; i++) {
		struct row *r = &v->rows[i];
		json_t *s = r->status, *dp = json_object_get(s, "dataplane");
		if (!r->member && s) {
			problem(v, "node %u answers but is not a member", r->id);
			continue;
		}
		if (!r->member) {
			if (r->probed)
				problem(v, "endpoint %s down: %s", r->path, row_error(r));
			continue;
		}
		if (!s && !r->probed) {
			problem(v, "member %u not probed (no endpoint given; its peers see it %s)",
				r->id, r->seen[0] ? r->seen : "?");
			continue;
		}
		if (!s) {
			problem(v, "member %u down: %s", r->id, row_error(r));
			continue;
		}
		if (lr) {
			long long l = num(lr->status, "commit_index") - num(s, "last_applied");
			long long gl = num(lr->status, "applied_gseq") - num(s, "applied_gseq");
			r->lag = l > 0 ? l : 0;
			r->gseq_lag = gl > 0 ? gl : 0;
			if (r->lag > o->max_lag)
				problem(v, "member %u lags %lld raft entries (over %lld)", r->id, r->lag,
					o->max_lag);
			if (r->gseq_lag > o->max_gseq_lag)
				problem(v, "member %u lags %lld events (over %lld)", r->id, r->gseq_lag,
					o->max_gseq_lag);
		}
		if (strcmp(str(dp, "state"), "alive"))
			problem(v, "member %u dataplane %s", r->id, str(dp, "state"));
		if (json_is_true(json_object_get(json_object_get(s, "disk"), "refusing")))
			problem(v, "member %u refuses events: disk below min_free_mb", r->id);
		if (r->bad_rise > 0)
			problem(v, "member %u dropped %lld rumor frames in %d ms", r->id, r->bad_rise,
				o->window_ms);
	}
	/* the same applied gseq must mean the same order everywhere */
	for (i = 0; i < v->n; i++) {
		json_t *a = v->rows[i].status;
		for (size_t j = i + 1; a && j < v->n; j++) {
			json_t *b = v->rows[j].status;
			if (b && num(a, "applied_gseq") == num(b, "applied_gseq") &&
			    strcmp(str(a, "order_digest"), str(b, "order_digest")))
				problem(v, "ORDER DIGESTS DIFFER at gseq %lld: node %u %s, node %u %s",
					num(a, "applied_gseq"), v->rows[i].id, str(a, "order_digest"),
					v->rows[j].id, str(b, "order_digest"));
		}
	}
	if (v->code)
		return;
	if (json_array_size(v->problems)) {
		v->code = RCTL_HEALTH_DEGRADED;
		size_t off = (size_t)snprintf(v->reason, sizeof(v->reason), "%s",
					      json_string_value(json_array_get(v->problems, 0)));
		if (json_array_size(v->problems) > 1 && off < sizeof(v->reason))
			snprintf(v->reason + off, sizeof(v->reason) - off, " (and %zu more)",
				 json_array_size(v->problems) - 1);
		return;
	}
	v->code = RCTL_HEALTH_OK;
	snprintf(v->reason, sizeof(v->reason), "%u of %u members up, leader %u", v->up,
		 v->members, v->leader);
}

static const char *const health_names[] = { "ok", "degraded", "no_quorum", "unreachable" };

static json_t *opt_int(json_t *s, const char *key)
{
	json_t *x = json_object_get(s, key);
	return json_is_integer(x) ? json_integer(json_integer_value(x)) : json_null();
}

static json_t *summary_json(const struct view *v)
{
	return json_pack("{s:s, s:i, s:s, s:O, s:I, s:I, s:i, s:i, s:i, s:i, s:i}", "health",
			 health_names[v->code], "code", v->code, "reason", v->reason, "problems",
			 v->problems, "leader", (json_int_t)v->leader, "term", (json_int_t)v->term,
			 "members_total", (int)v->members, "members_up", (int)v->up, "voters",
			 (int)v->voters, "voters_up", (int)v->voters_up, "quorum",
			 (int)(v->voters / 2 + 1));
}

static json_t *row_json(const struct row *r)
{
	json_t *s = r->status, *dp = json_object_get(s, "dataplane");
	json_t *disk = json_object_get(s, "disk");
	json_t *o = json_pack("{s:I, s:s, s:b, s:b, s:b}", "id", (json_int_t)r->id, "endpoint",
			      r->path, "member", r->member, "voter", r->voter, "reachable", s != NULL);

	json_object_set_new(o, "error", s ? json_null() : json_string(row_error(r)));
	json_object_set_new(o, "role", s ? json_string(str(s, "role")) : json_null());
	json_object_set_new(o, "term", opt_int(s, "term"));
	json_object_set_new(o, "leader", opt_int(s, "leader"));
	json_object_set_new(o, "commit_index", opt_int(s, "commit_index"));
	json_object_set_new(o, "last_applied", opt_int(s, "last_applied"));
	json_object_set_new(o, "lag", r->lag >= 0 ? json_integer(r->lag) : json_null());
	json_object_set_new(o, "applied_gseq", opt_int(s, "applied_gseq"));
	json_object_set_new(o, "order_digest", s ? json_string(str(s, "order_digest")) : json_null());
	json_object_set_new(o, "gseq_lag", r->gseq_lag >= 0 ? json_integer(r->gseq_lag) :
							   json_null());
	json_object_set_new(o, "dataplane", s ? json_string(str(dp, "state")) : json_null());
	json_object_set_new(o, "drops", opt_int(dp, "drops"));
	json_object_set_new(o, "bad_drops", s ? json_integer(rctl_bad_drops(s)) : json_null());
	json_object_set_new(o, "bad_drops_rise", r->bad_rise >= 0 ? json_integer(r->bad_rise) :
								  json_null());
	json_object_set_new(o, "store_used", opt_int(dp, "store_used"));
	json_object_set_new(o, "store_cap", opt_int(dp, "store_cap"));
	json_object_set_new(o, "disk_free_mb", opt_int(disk, "free_mb"));
	json_object_set_new(o, "uptime_s", opt_int(s, "uptime_s"));
	return o;
}

#define NCOL 15
static const char *const heads[NCOL] = { "ID", "STATE", "ROLE", "TERM", "COMMIT", "APPLIED",
					 "LAG", "GSEQ", "GSEQ-LAG", "DATAPLANE", "DROPS", "BAD",
					 "STORE", "DISK-FREE", "UPTIME" };

static void row_cells(const struct view *v, const struct row *r, char cell[NCOL][48])
{
	json_t *s = r->status, *dp = json_object_get(s, "dataplane");
	char b[48];

	for (int i = 0; i < NCOL; i++)
		snprintf(cell[i], 48, "-");
	if (r->id)
		snprintf(cell[0], 48, "%u", r->id);
	else
		snprintf(cell[0], 48, "?");
	snprintf(cell[1], 48, "%s", s ? (r->member ? "up" : "up/non-member") :
				   (r->probed ? "DOWN" : "unprobed"));
	if (s)
		snprintf(cell[2], 48, "%s", str(s, "role"));
	else if (r->member)
		snprintf(cell[2], 48, "(%s)", r->voter ? "voter" : "standby");
	if (!s)
		return;
	if (!r->voter && r->member && strcmp(str(s, "role"), "leader"))
		snprintf(cell[2], 48, "%s/standby", str(s, "role"));
	snprintf(cell[3], 48, "%lld", num(s, "term"));
	snprintf(cell[4], 48, "%lld", num(s, "commit_index"));
	snprintf(cell[5], 48, "%lld", num(s, "last_applied"));
	if (r->lag >= 0)
		snprintf(cell[6], 48, "%lld", r->lag);
	snprintf(cell[7], 48, "%lld", num(s, "applied_gseq"));
	if (r->gseq_lag >= 0)
		snprintf(cell[8], 48, "%lld", r->gseq_lag);
	snprintf(cell[9], 48, "%s", str(dp, "state"));
	snprintf(cell[10], 48, "%lld", num(dp, "drops"));
	if (r->bad_rise > 0)
		snprintf(cell[11], 48, "%lld (+%lld)", rctl_bad_drops(s), r->bad_rise);
	else
		snprintf(cell[11], 48, "%lld", rctl_bad_drops(s));
	long long used = num(dp, "store_used"), cap = num(dp, "store_cap");
	snprintf(cell[12], 48, "%lld/%lld %.0f%%", used, cap,
		 cap ? 100.0 * (double)used / (double)cap : 0.0);
	snprintf(cell[13], 48, "%s",
		 rctl_bytes(b, sizeof(b), (double)num(json_object_get(s, "disk"), "free_mb") *
						  1048576));
	snprintf(cell[14], 48, "%s", rctl_duration(b, sizeof(b), num(s, "uptime_s")));
	(void)v;
}

static void print_table(const struct view *v)
{
	static char cells[MAX_ROWS][NCOL][48];
	size_t w[NCOL];

	for (int c = 0; c < NCOL; c++)
		w[c] = strlen(heads[c]);
	for (size_t i = 0; i < v->n; i++) {
		row_cells(v, &v->rows[i], cells[i]);
		for (int c = 0; c < NCOL; c++)
			if (strlen(cells[i][c]) > w[c])
				w[c] = strlen(cells[i][c]);
	}
	for (int c = 0; c < NCOL; c++)
		printf("%-*s  ", (int)w[c], heads[c]);
	printf("ENDPOINT\n");
	for (size_t i = 0; i < v->n; i++) {
		const struct row *r = &v->rows[i];
		for (int c = 0; c < NCOL; c++)
			printf("%-*s  ", (int)w[c], cells[i][c]);
		if (r->status)
			printf("%s\n", r->path);
		else
			printf("%s%s%s\n", r->path, r->path[0] ? ": " : "", row_error(r));
	}
	printf("\nmembers %u (%u voters), %u up; ", v->members, v->voters, v->up);
	if (v->leader)
		printf("leader %u, term %lld; ", v->leader, v->term);
	else
		printf("no leader (highest term %lld); ", v->term);
	printf("quorum %u of %u voters: %s\n", v->voters / 2 + 1, v->voters,
	       v->voters_up >= v->voters / 2 + 1 ? "reachable" : "NOT reachable");
	printf("health: %s: %s\n", health_names[v->code], v->reason);
	/* a degraded reason already names the first problem */
	size_t np = json_array_size(v->problems);
	for (size_t i = 0; (v->code >= RCTL_HEALTH_NO_QUORUM || np > 1) && i < np; i++)
		printf("  - %s\n", json_string_value(json_array_get(v->problems, i)));
}

static void cluster_usage(FILE *f, int check)
{
	fprintf(f, "usage: rumorctl [-n NODE | -s SOCKET | --endpoints A,B,...] [--run DIR] "
		   "[--config FILE] [--json] [--timeout MS]\n"
		   "       %s [--max-lag N] [--max-gseq-lag N] [--window MS]\n"
		   "(rumorctl --help explains them and the exit codes)\n",
		check ? "check" : "cluster");
}

int rctl_cluster(const struct rctl_global *g0, int argc, char **argv, int check)
{
	struct rctl_global g = *g0;
	struct opts o = { .max_lag = 100, .max_gseq_lag = 10000, .window_ms = check ? 1000 : 0 };
	struct rumor_config *cfg = NULL;
	struct view *v = calloc(1, sizeof(*v));
	struct row *todo[MAX_ROWS];
	size_t nt = 0, i;
	int timeout = g.timeout_ms > 0 ? g.timeout_ms : 2000;

	if (!v)
		return RCTL_HEALTH_UNREACHABLE;
	v->pattern = g0->pattern;
	for (int ai = 0; ai < argc; ai++) {
		const char *a = argv[ai], *val = ai + 1 < argc ? argv[ai + 1] : NULL;
		if (!strcmp(a, "--json"))
			g.json = 1;
		else if (!strcmp(a, "--verbose") || !strcmp(a, "-v"))
			g.verbose = 1;
		else if (val && !strcmp(a, "--max-lag"))
			o.max_lag = atoll(val), ai++;
		else if (val && !strcmp(a, "--max-gseq-lag"))
			o.max_gseq_lag = atoll(val), ai++;
		else if (val && !strcmp(a, "--window"))
			o.window_ms = atoi(val), ai++;
		else if (val && !strcmp(a, "--endpoints"))
			g.endpoints = val, ai++;
		else if (val && !strcmp(a, "--timeout"))
			timeout = atoi(val), ai++;
		else {
			cluster_usage(stderr, check);
			free(v);
			return RCTL_HEALTH_UNREACHABLE;
		}
	}
	if (g.config) {
		char err[512];
		cfg = malloc(sizeof(*cfg));
		if (!cfg || rumor_config_load(g.config, cfg, err, sizeof(err)) < 0) {
			fprintf(stderr, "rumorctl: %s\n", cfg ? err : "out of memory");
			free(cfg);
			free(v);
			return RCTL_HEALTH_UNREACHABLE;
		}
	}

	/* round 1: the endpoints, or the seeds */
	if (g.endpoints) {
		char *list = strdup(g.endpoints), *save = NULL;
		for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
			if (*t)
				add_row(v, id_of_path(g.pattern, t), t);
		free(list);
	} else {
		seed_rows(v, &g, cfg, 0);
	}
	for (i = 0; i < v->n; i++)
		todo[nt++] = &v->rows[i];
	probe_rows(v, todo, nt, 1, timeout);
	pick_membership(v);
	if (!v->membership && !g.endpoints && !cfg && g.seed[0]) {
		/* the -n/-s node told nothing: every other socket the pattern matches */
		size_t first = v->n;
		seed_rows(v, &g, NULL, 1);
		nt = 0;
		for (i = first; i < v->n; i++)
			todo[nt++] = &v->rows[i];
		probe_rows(v, todo, nt, 1, timeout);
		pick_membership(v);
	}
	/* round 2 (discovery): members the seeds did not cover, at the pattern's path */
	size_t before = v->n;
	apply_membership(v, &g, g.endpoints != NULL);
	if (!g.endpoints) {
		nt = 0;
		for (i = before; i < v->n; i++)
			todo[nt++] = &v->rows[i];
		/* a seed that never answered is tried again only if it is a member */
		if (nt) {
			probe_rows(v, todo, nt, 0, timeout);
			if (!v->leader)
				pick_membership(v);
		}
		/* stale sockets of nodes that are not members: not rows */
		if (v->membership) {
			size_t k = 0;
			for (i = 0; i < v->n; i++) {
				if (!v->rows[i].member && !v->rows[i].status) {
					json_decref(v->rows[i].members);
					continue;
				}
				v->rows[k++] = v->rows[i];
			}
			v->n = k;
		}
	}
	if (!v->membership) {
		/* nobody told the membership: the config names it, else every row counts */
		for (i = 0; i < v->n; i++) {
			struct row *r = &v->rows[i];
			const struct rumor_node_conf *nc =
				cfg ? rumor_config_node(cfg, (uint16_t)r->id) : NULL;
			r->member = cfg ? nc != NULL : 1;
			r->voter = cfg ? nc && nc->voter : 1;
		}
	}
	/* drops rising: a second status after the window, same nodes */
	if (o.window_ms > 0 && v->membership) {
		long long bad0[MAX_ROWS];
		struct timespec ts = { o.window_ms / 1000, (long)(o.window_ms % 1000) * 1000000 };
		nt = 0;
		for (i = 0; i < v->n; i++)
			if (v->rows[i].status) {
				bad0[nt] = rctl_bad_drops(v->rows[i].status);
				todo[nt++] = &v->rows[i];
			}
		nanosleep(&ts, NULL);
		probe_rows(v, todo, nt, 0, timeout);
		for (i = 0; i < nt; i++) {
			if (todo[i]->err) { /* went down meanwhile */
				json_decref(todo[i]->status);
				todo[i]->status = NULL;
				continue;
			}
			long long d = rctl_bad_drops(todo[i]->status) - bad0[i];
			todo[i]->bad_rise = d > 0 ? d : 0;
		}
		if (v->leader && !row_by_id(v, v->leader)->status)
			v->leader = 0;
	}
	qsort(v->rows, v->n, sizeof(v->rows[0]), cmp_row);
	evaluate(v, &o);

	json_t *out = summary_json(v);
	if (!check) {
		json_t *arr = json_array();
		for (i = 0; i < v->n; i++)
			json_array_append_new(arr, row_json(&v->rows[i]));
		json_object_set_new(out, "members", arr);
	}
	if (g.json) {
		char *s = json_dumps(out, JSON_COMPACT);
		printf("%s\n", s);
		free(s);
	} else if (check) {
		static const char *const word[] = { "OK", "DEGRADED", "NO QUORUM", "UNREACHABLE" };
		printf("%s: %s\n", word[v->code], v->reason);
	} else {
		print_table(v);
	}
	json_decref(out);
	int code = v->code;
	for (i = 0; i < v->n; i++) {
		json_decref(v->rows[i].status);
		json_decref(v->rows[i].members);
	}
	json_decref(v->problems);
	free(cfg);
	free(v);
	return code;
}

int rctl_expand(const char *pattern, unsigned id, char *out, size_t cap)
{
	return rumor_config_expand(pattern, (uint16_t)id, out, cap);
}

int rctl_config_pattern(const char *path, char *pattern, size_t cap)
{
	struct rumor_config *cfg = malloc(sizeof(*cfg));
	char err[512];
	int rc;

	if (!cfg)
		return -ENOMEM;
	rc = rumor_config_load(path, cfg, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "rumorctl: %s\n", err);
	else
		snprintf(pattern, cap, "%s", cfg->storage.api_socket);
	free(cfg);
	return rc;
}
