/* Gossip simulation engine over common/view: N view objects exchanging view messages in
 * memory (rounds of simulated time, deterministic in a seed), failures, churn, push gossip.
 * Shared by the gossipsim tool and the tests. */
#ifndef GOSSIPSIM_SIM_H
#define GOSSIPSIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rumor_view.h"

#define GSIM_MAX_ROUNDS 256

struct gsim_config {
	enum rumor_view_strategy strategy;
	uint32_t n_nodes;            /* ids 1..n_nodes */
	uint16_t active_size;        /* 0: view defaults for n_nodes */
	uint16_t passive_size;
	uint16_t shuffle_len;
	uint32_t round_ms;           /* simulated time per round = view period (default 1000) */
	uint32_t leader_refresh;     /* leader: reassign every this many rounds (default 10) */
	uint64_t seed;
	bool wire;                   /* encode + decode every delivered message */
};

struct gsim_gossip {
	uint32_t alive;
	uint32_t reached;            /* alive nodes that got the rumour, source included */
	uint32_t rounds;             /* rounds until nobody forwarded any more */
	uint32_t rounds_to_all;      /* first round with every alive node reached, 0: never */
	uint64_t messages;           /* gossip sends, including those to dead nodes */
	double coverage[GSIM_MAX_ROUNDS + 1]; /* reached/alive after round r (r = 0: source) */
};

struct gsim_check {
	uint32_t alive;
	uint32_t min_active, max_active;
	double avg_active;
	uint32_t self_refs, dup_refs, dead_refs; /* entries pointing at self / twice / dead */
	uint32_t asymmetric;         /* a->b active without b->a */
	uint32_t zero_in;            /* alive nodes nobody alive points at */
	bool connected;              /* strongly connected over alive nodes' active views */
};

struct gsim;

/* Create the simulation (all nodes alive, not joined). Returns 0, -EINVAL, -ENOMEM. */
int gsim_create(const struct gsim_config *cfg, struct gsim **out);
void gsim_destroy(struct gsim *s);

/* Every node joins through a random earlier node (node 1 first), messages delivered after
 * each join as in the HyParView paper's experiments; the leader assigns views at the end.
 * Returns 0 or a negative errno. */
int gsim_bootstrap(struct gsim *s);

/* Run @rounds protocol rounds: time advances by round_ms, every alive node ticks, messages
 * are delivered until none are left (a send to a dead node reports it down to the sender).
 * Returns 0 or a negative errno. */
int gsim_run(struct gsim *s, unsigned rounds);

/* Kill round(@frac * alive) random alive nodes at once (not @keep, 0: none). Nobody is told:
 * see gsim_detect. Returns the number killed (>= 0) or a negative errno. */
long gsim_kill(struct gsim *s, double frac, uint32_t keep);

/* Failure detector fires: every alive node learns which of its active peers are dead
 * (connection loss), and the leader sees the membership change. Returns 0 or -errno. */
int gsim_detect(struct gsim *s);

/* Churn step: kill @frac of alive nodes, restart as many dead nodes as fresh joiners, detect.
 * Returns 0 or -errno. */
int gsim_churn(struct gsim *s, double frac);

/* Push gossip from @source (alive) over the current active views, frozen during the
 * broadcast: a node that first hears the rumour in round r sends to @fanout peers (excluding
 * whoever it heard it from) in round r + 1, at most @max_rounds rounds. Returns 0 or -errno. */
int gsim_gossip(struct gsim *s, uint32_t source, unsigned fanout, unsigned max_rounds,
		struct gsim_gossip *out);

/* Same, and with @repair a send to a dead peer fails like a TCP connect: the sender reports
 * it to its view (rumor_view_on_peer_down), view messages are delivered at once, and the
 * sender tries a replacement peer (at most @fanout replacements per node). The views change. */
int gsim_gossip_ex(struct gsim *s, uint32_t source, unsigned fanout, unsigned max_rounds,
		   bool repair, struct gsim_gossip *out);

/* Overlay invariants and connectivity over alive nodes. */
void gsim_check(struct gsim *s, struct gsim_check *out);

/* A random alive node (deterministic). */
uint32_t gsim_random_alive(struct gsim *s);
bool gsim_alive(const struct gsim *s, uint32_t id);
struct rumor_view *gsim_view(struct gsim *s, uint32_t id);
/* Messages delivered so far, and messages the views refused (must stay 0). */
uint64_t gsim_delivered(const struct gsim *s);
uint64_t gsim_refused(const struct gsim *s);

#endif
