/* gossipsim: push gossip over the partial views of common/view (the same code rumor-cp
 * runs), for 1,000 to 100,000 simulated nodes; prints a table and writes JSON for plot.py. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

#define MAX_FAILS 16
#define MAX_STRATS 4

struct opts {
	uint32_t nodes;
	unsigned fanout, max_rounds, warmup, repair, churn_rounds, sources;
	double churn;
	double fails[MAX_FAILS];
	unsigned n_fails;
	enum rumor_view_strategy strats[MAX_STRATS];
	unsigned n_strats;
	uint64_t seed;
	bool wire;
	const char *json;
};

struct fail_res {
	double frac;
	long killed;
	struct gsim_gossip before, during, after;
	int reconnect;   /* repair rounds until strongly connected again, -1: not within bound */
};

struct strat_res {
	enum rumor_view_strategy s;
	struct gsim_check chk;
	struct gsim_gossip steady, churned;
	struct gsim_check churn_chk;
	double warm_s;
	uint64_t view_msgs;
	struct fail_res fails[MAX_FAILS];
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: gossipsim [--nodes N] [--fanout F (default ceil(ln N))] [--rounds M] [--warmup W]\n"
		"  [--strategies leader,hyparview,cyclon,static] [--fail 0.1,0.2,...]\n"
		"  [--repair R] [--churn FRAC] [--churn-rounds K] [--seed S] [--no-wire]\n"
		"  [--sources K (gossip runs averaged, default 5)] [--json FILE]\n");
}

static int die(const char *what, int rc)
{
	fprintf(stderr, "gossipsim: %s: %s\n", what, strerror(-rc));
	return 1;
}

static int warm(const struct opts *o, enum rumor_view_strategy st, uint64_t seed, struct gsim **out)
{
	struct gsim_config c = {
		.strategy = st, .n_nodes = o->nodes, .seed = seed, .wire = o->wire,
	};
	int rc = gsim_create(&c, out);
	if (rc == 0)
		rc = gsim_bootstrap(*out);
	if (rc == 0)
		rc = gsim_run(*out, o->warmup);
	return rc;
}

/* Push gossip from @k random alive sources (the first is @first if non-zero); coverage and
 * counts are averaged, rounds_to_all is the worst case (0 if any source missed somebody). */
static int multi_gossip(struct gsim *s, unsigned k, uint32_t first, const struct opts *o,
			bool repair, struct gsim_gossip *out)
{
	struct gsim_gossip g;
	double reached = 0, messages = 0;
	memset(out, 0, sizeof(*out));
	bool all = true;
	for (unsigned i = 0; i < k; i++) {
		uint32_t src = (i == 0 && first) ? first : gsim_random_alive(s);
		int rc = gsim_gossip_ex(s, src, o->fanout, o->max_rounds, repair, &g);
		if (rc)
			return rc;
		for (unsigned r = 0; r <= GSIM_MAX_ROUNDS; r++)
			out->coverage[r] += g.coverage[r] / k;
		reached += g.reached;
		messages += (double)g.messages;
		if (g.rounds > out->rounds)
			out->rounds = g.rounds;
		if (g.rounds_to_all == 0)
			all = false;
		else if (g.rounds_to_all > out->rounds_to_all)
			out->rounds_to_all = g.rounds_to_all;
		out->alive = g.alive;
	}
	if (!all)
		out->rounds_to_all = 0;
	out->reached = (uint32_t)lround(reached / k);
	out->messages = (uint64_t)llround(messages / k);
	return 0;
}

static double max_cov(const struct gsim_gossip *g)
{
	return (double)g->reached / g->alive;
}

static double redundancy(const struct gsim_gossip *g)
{
	return g->reached > 1 ? (double)g->messages / (g->reached - 1) : 0.0;
}

static void json_cov(FILE *f, const struct gsim_gossip *g)
{
	fprintf(f, "{\"alive\": %u, \"reached\": %u, \"rounds\": %u, \"rounds_to_all\": %u, "
		   "\"messages\": %llu, \"coverage\": [",
		g->alive, g->reached, g->rounds, g->rounds_to_all, (unsigned long long)g->messages);
	for (unsigned r = 0; r <= g->rounds; r++)
		fprintf(f, "%s%.6f", r ? ", " : "", g->coverage[r]);
	fprintf(f, "]}");
}

static int parse_list(const char *arg, struct opts *o, bool fails)
{
	char *dup = strdup(arg), *save = NULL;
	if (!dup)
		return -ENOMEM;
	if (fails)
		o->n_fails = 0;
	else
		o->n_strats = 0;
	for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (fails) {
			double x = atof(t);
			if (o->n_fails == MAX_FAILS || x <= 0 || x >= 1)
				goto bad;
			o->fails[o->n_fails++] = x;
		} else {
			if (o->n_strats == MAX_STRATS ||
			    rumor_view_strategy_parse(t, &o->strats[o->n_strats]) != 0)
				goto bad;
			o->n_strats++;
		}
	}
	free(dup);
	return 0;
bad:
	free(dup);
	return -EINVAL;
}

int main(int argc, char **argv)
{
	struct opts o = {
		.nodes = 10000, .fanout = 0, .max_rounds = 64, .warmup = 20, .repair = 10,
		.churn = 0.01, .churn_rounds = 10, .sources = 5, .seed = 42, .wire = true,
		.fails = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}, .n_fails = 8,
		.strats = {RUMOR_VIEW_LEADER, RUMOR_VIEW_HYPARVIEW, RUMOR_VIEW_CYCLON}, .n_strats = 3,
	};
	static const struct option lo[] = {
		{"nodes", 1, 0, 'n'}, {"fanout", 1, 0, 'f'}, {"rounds", 1, 0, 'm'},
		{"warmup", 1, 0, 'w'}, {"strategies", 1, 0, 's'}, {"fail", 1, 0, 'x'},
		{"repair", 1, 0, 'r'}, {"churn", 1, 0, 'c'}, {"churn-rounds", 1, 0, 'k'},
		{"seed", 1, 0, 'S'}, {"no-wire", 0, 0, 'W'}, {"json", 1, 0, 'j'},
		{"sources", 1, 0, 'g'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0},
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "n:f:m:w:s:x:r:c:k:S:Wj:g:h", lo, NULL)) != -1) {
		switch (ch) {
		case 'n': o.nodes = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'f': o.fanout = (unsigned)atoi(optarg); break;
		case 'm': o.max_rounds = (unsigned)atoi(optarg); break;
		case 'w': o.warmup = (unsigned)atoi(optarg); break;
		case 's': if (parse_list(optarg, &o, false)) { usage(); return 2; } break;
		case 'x': if (parse_list(optarg, &o, true)) { usage(); return 2; } break;
		case 'r': o.repair = (unsigned)atoi(optarg); break;
		case 'c': o.churn = atof(optarg); break;
		case 'k': o.churn_rounds = (unsigned)atoi(optarg); break;
		case 'S': o.seed = strtoull(optarg, NULL, 0); break;
		case 'W': o.wire = false; break;
		case 'j': o.json = optarg; break;
		case 'g': o.sources = (unsigned)atoi(optarg); break;
		default: usage(); return ch == 'h' ? 0 : 2;
		}
	}
	if (o.fanout == 0) /* Kermarrec et al.: fanout ln(N) + c reaches everybody w.h.p. */
		o.fanout = (unsigned)ceil(log((double)o.nodes));
	if (o.nodes < 2 || o.fanout < 1 || o.fanout > RUMOR_VIEW_MSG_MAX_IDS ||
	    o.max_rounds < 1 || o.sources < 1 || o.max_rounds > GSIM_MAX_ROUNDS) {
		usage();
		return 2;
	}

	static struct strat_res res[MAX_STRATS];
	double theory = log2(o.nodes) + log(o.nodes);
	printf("gossipsim: N=%u fanout=%u sources=%u warmup=%u rounds repair<=%u rounds seed=%llu "
	       "wire=%s\n", o.nodes, o.fanout, o.sources, o.warmup, o.repair, (unsigned long long)o.seed,
	       o.wire ? "yes" : "no");
	printf("push-gossip theory (fanout 1): log2(N)+ln(N) = %.1f rounds\n\n", theory);
	printf("%-10s %6s %5s %4s %7s %9s %8s %9s %8s %8s\n", "strategy", "avgdeg", "conn",
	       "asym", "rounds", "coverage", "msg/node", "viewmsgs", "churn", "warm_s");

	for (unsigned si = 0; si < o.n_strats; si++) {
		struct strat_res *sr = &res[si];
		struct gsim *s;
		sr->s = o.strats[si];
		double t0 = now_s();
		int rc = warm(&o, sr->s, o.seed, &s);
		if (rc)
			return die("warm-up", rc);
		sr->warm_s = now_s() - t0;
		sr->view_msgs = gsim_delivered(s);
		gsim_check(s, &sr->chk);
		rc = multi_gossip(s, o.sources, 0, &o, false, &sr->steady);
		for (unsigned k = 0; rc == 0 && k < o.churn_rounds; k++) {
			rc = gsim_churn(s, o.churn);
			if (rc == 0)
				rc = gsim_run(s, 1);
		}
		if (rc)
			return die("churn", rc);
		gsim_check(s, &sr->churn_chk);
		rc = multi_gossip(s, o.sources, 0, &o, false, &sr->churned);
		if (rc)
			return die("gossip", rc);
		gsim_destroy(s);
		char rounds[16];
		if (sr->steady.rounds_to_all)
			snprintf(rounds, sizeof(rounds), "%u", sr->steady.rounds_to_all);
		else
			snprintf(rounds, sizeof(rounds), "-(%u)", sr->steady.rounds);
		printf("%-10s %6.2f %5s %4u %7s %8.4f%% %8.2f %9llu %7.3f%% %8.2f\n",
		       rumor_view_strategy_name(sr->s), sr->chk.avg_active,
		       sr->chk.connected ? "yes" : "NO", sr->chk.asymmetric, rounds,
		       100 * max_cov(&sr->steady), redundancy(&sr->steady),
		       (unsigned long long)sr->view_msgs, 100 * max_cov(&sr->churned), sr->warm_s);
		fflush(stdout);

		for (unsigned fi = 0; fi < o.n_fails; fi++) {
			struct fail_res *fr = &sr->fails[fi];
			fr->frac = o.fails[fi];
			rc = warm(&o, sr->s, o.seed + 1000 * (fi + 1), &s);
			uint32_t src = gsim_random_alive(s);
			fr->killed = gsim_kill(s, fr->frac, src);
			if (rc == 0)
				rc = multi_gossip(s, o.sources, src, &o, false, &fr->before);
			if (rc == 0) {
				/* the same crash again, this time with send failures detected */
				struct gsim *s2;
				rc = warm(&o, sr->s, o.seed + 1000 * (fi + 1), &s2);
				if (rc == 0) {
					uint32_t src2 = gsim_random_alive(s2);
					gsim_kill(s2, fr->frac, src2);
					rc = multi_gossip(s2, o.sources, src2, &o, true, &fr->during);
					gsim_destroy(s2);
				}
			}
			if (rc == 0)
				rc = gsim_detect(s);
			fr->reconnect = -1;
			struct gsim_check c;
			gsim_check(s, &c);
			if (c.connected)
				fr->reconnect = 0;
			for (unsigned r = 1; rc == 0 && r <= o.repair; r++) {
				rc = gsim_run(s, 1);
				if (fr->reconnect < 0) {
					gsim_check(s, &c);
					if (c.connected)
						fr->reconnect = (int)r;
				}
			}
			if (rc == 0)
				rc = multi_gossip(s, o.sources, src, &o, false, &fr->after);
			if (rc)
				return die("failure run", rc);
			gsim_destroy(s);
		}
	}

	printf("\nreliability after simultaneous failures (fraction of survivors reached;\n"
	       "before = right after the crash, views frozen; during = right after the crash, a failed\n"
	       "send reports the peer down and goes to a replacement (TCP-style);\n"
	       "after = after detection + %u repair rounds;\n"
	       "reconn = repair rounds until the survivors' overlay is strongly connected)\n",
	       o.repair);
	printf("%-6s", "fail");
	for (unsigned si = 0; si < o.n_strats; si++)
		printf(" | %-9s %8s %8s %8s %6s", rumor_view_strategy_name(res[si].s), "before",
		       "during", "after", "reconn");
	printf("\n");
	for (unsigned fi = 0; fi < o.n_fails; fi++) {
		printf("%4.0f%% ", 100 * o.fails[fi]);
		for (unsigned si = 0; si < o.n_strats; si++) {
			const struct fail_res *fr = &res[si].fails[fi];
			printf(" | %-9s %7.3f%% %7.3f%% %7.3f%% %6d", "", 100 * max_cov(&fr->before),
			       100 * max_cov(&fr->during), 100 * max_cov(&fr->after), fr->reconnect);
		}
		printf("\n");
	}

	if (o.json) {
		FILE *f = fopen(o.json, "w");
		if (!f)
			return die(o.json, -errno);
		fprintf(f, "{\"nodes\": %u, \"fanout\": %u, \"sources\": %u, \"warmup\": %u, \"repair\": %u, "
			   "\"seed\": %llu, \"churn\": %g, \"churn_rounds\": %u, "
			   "\"theory_rounds\": %.4f,\n \"strategies\": [\n",
			o.nodes, o.fanout, o.sources, o.warmup, o.repair, (unsigned long long)o.seed, o.churn,
			o.churn_rounds, theory);
		for (unsigned si = 0; si < o.n_strats; si++) {
			const struct strat_res *sr = &res[si];
			fprintf(f, "  {\"name\": \"%s\", \"avg_active\": %.3f, \"connected\": %s, "
				   "\"asymmetric\": %u, \"view_msgs\": %llu, \"warm_s\": %.3f,\n"
				   "   \"steady\": ",
				rumor_view_strategy_name(sr->s), sr->chk.avg_active,
				sr->chk.connected ? "true" : "false", sr->chk.asymmetric,
				(unsigned long long)sr->view_msgs, sr->warm_s);
			json_cov(f, &sr->steady);
			fprintf(f, ",\n   \"churn\": ");
			json_cov(f, &sr->churned);
			fprintf(f, ",\n   \"failures\": [\n");
			for (unsigned fi = 0; fi < o.n_fails; fi++) {
				const struct fail_res *fr = &sr->fails[fi];
				fprintf(f, "    {\"fraction\": %.3f, \"killed\": %ld, "
					   "\"reconnect_rounds\": %d,\n     \"before\": ",
					fr->frac, fr->killed, fr->reconnect);
				json_cov(f, &fr->before);
				fprintf(f, ",\n     \"during\": ");
				json_cov(f, &fr->during);
				fprintf(f, ",\n     \"after\": ");
				json_cov(f, &fr->after);
				fprintf(f, "}%s\n", fi + 1 < o.n_fails ? "," : "");
			}
			fprintf(f, "   ]}%s\n", si + 1 < o.n_strats ? "," : "");
		}
		fprintf(f, " ]}\n");
		if (fclose(f) != 0)
			return die(o.json, -errno);
	}
	return 0;
}
