/* Strategy "static": every other configured node is a member (small clusters, tests). */
#include <errno.h>

#include "view_impl.h"

static int st_join(struct rumor_view *v, uint64_t now_ms)
{
	(void)v;
	(void)now_ms;
	return 0;
}

static int st_tick(struct rumor_view *v, uint64_t now_ms)
{
	(void)v;
	(void)now_ms;
	return 0;
}

static int st_on_message(struct rumor_view *v, const struct rumor_view_msg *m, uint64_t now_ms)
{
	(void)v;
	(void)m;
	(void)now_ms;
	return -EINVAL; /* static views exchange no messages */
}

static int st_on_peer_down(struct rumor_view *v, uint32_t id, uint64_t now_ms)
{
	(void)now_ms;
	long i = view_find(v->active, v->n_active, id);
	if (i >= 0)
		view_remove_active_at(v, (size_t)i);
	return 0;
}

const struct view_ops view_static_ops = {
	.name = "static",
	.join = st_join,
	.tick = st_tick,
	.on_message = st_on_message,
	.on_peer_down = st_on_peer_down,
};
