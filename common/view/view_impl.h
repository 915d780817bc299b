/* Private to common/view: the view object and the per-strategy table of functions
 * (one file per strategy, as DPDK's l3fwd keeps one lookup method per file). */
#ifndef RUMOR_VIEW_IMPL_H
#define RUMOR_VIEW_IMPL_H

#include "rumor_view.h"

#define VIEW_MAX_CONTACTS 8

struct view_ops {
	const char *name;
	int (*join)(struct rumor_view *v, uint64_t now_ms);
	int (*tick)(struct rumor_view *v, uint64_t now_ms);
	int (*on_message)(struct rumor_view *v, const struct rumor_view_msg *m, uint64_t now_ms);
	int (*on_peer_down)(struct rumor_view *v, uint32_t id, uint64_t now_ms);
};

struct rumor_view {
	const struct view_ops *ops;
	struct rumor_view_config cfg;
	uint64_t rng;

	uint32_t *active;
	uint8_t *age;            /* Cyclon ages, parallel to active */
	size_t n_active, cap_active;
	uint32_t *passive;
	size_t n_passive;
	uint32_t *scratch;       /* cap_active + passive_size + 1 entries */

	uint32_t contacts[VIEW_MAX_CONTACTS];
	size_t n_contacts;

	bool started;
	uint64_t next_shuffle_ms;
	uint32_t epoch;          /* leader: last VIEW_ASSIGN applied */
	uint32_t pending;        /* hyparview: NEIGHBOR request in flight */
	uint64_t pending_since;
	unsigned attempts;       /* hyparview: repair requests since the last tick */
	uint32_t sent[RUMOR_VIEW_MSG_MAX_IDS]; /* ids offered in our last shuffle */
	size_t n_sent;

	struct rumor_view_msg *out;
	size_t out_head, out_len, out_cap;
	struct rumor_view_stats stats;
};

extern const struct view_ops view_static_ops;
extern const struct view_ops view_leader_ops;
extern const struct view_ops view_hyparview_ops;
extern const struct view_ops view_cyclon_ops;

/* Shared helpers (rumor_view.c). */
uint64_t view_rand(struct rumor_view *v);
uint32_t view_below(struct rumor_view *v, uint32_t n);  /* uniform in [0, n), n > 0 */
long view_find(const uint32_t *a, size_t n, uint32_t id);
void view_remove_at(uint32_t *a, size_t *n, size_t i);
/* A fresh message to @dst in the outbox (NULL on -ENOMEM). */
struct rumor_view_msg *view_emit(struct rumor_view *v, uint8_t type, uint32_t dst);
/* Up to @k distinct random entries of a[0..n) skipping @ex1/@ex2 into out; returns count. */
size_t view_sample(struct rumor_view *v, const uint32_t *a, size_t n, size_t k, uint32_t ex1,
		   uint32_t ex2, uint32_t *out);
void view_remove_active_at(struct rumor_view *v, size_t i);

#endif
