/* cp_local_setup: rumor-cp's start-up use of the node-local file: the API guard and the
 * control-link TLS context (or the insecure warning). */
#include <errno.h>
#include <stdio.h>

#include "cp_api.h"
#include "cp_local.h"
#include "cp_metrics.h"
#include "cp_node_int.h"
#include "cp_tls.h"

int cp_local_setup(struct cp_node *n, const char *path)
{
	struct cp_local l;
	struct cp_api_guard g = { 0 };
	char err[512];
	int rc;

	if (!path) {
		fprintf(stderr, "rumor-cp: no --node-config FILE: control links need TLS "
			"(tls_cert, tls_key, tls_ca there), or insecure = true to run without\n");
		return -EINVAL;
	}
	if ((rc = cp_local_load(path, n->self, &l, err, sizeof(err))) < 0) {
		fprintf(stderr, "rumor-cp: %s\n", err);
		return rc;
	}
	g.has_group = l.has_api_group;
	g.group = l.api_group;
	g.has_admin_group = l.has_api_admin_group;
	g.admin_group = l.api_admin_group;
	cp_api_set_guard(&g);
	/* rumor-cp's --metrics, opened before, wins over the file's address */
	if (l.metrics_listen[0] && !n->metrics &&
	    (rc = cp_metrics_open(l.metrics_listen, &n->metrics, err, sizeof(err))) < 0) {
		fprintf(stderr, "rumor-cp: %s:%d: metrics_listen: %s\n", path, l.metrics_line, err);
		return rc;
	}
	if (l.insecure) {
		fprintf(stderr, "rumor-cp: WARNING: insecure = true in %s: control links are "
			"plaintext and unauthenticated: anyone reaching the control port can speak "
			"as any node\n", path);
		return 0;
	}
	if ((rc = cp_tls_ctx_create(l.tls_cert, l.tls_key, l.tls_ca, &n->tls, err)) < 0) {
		fprintf(stderr, "rumor-cp: %s: %s\n", path, err);
		return rc;
	}
	if (cp_tls_ctx_self_id(n->tls) != n->self) {
		fprintf(stderr, "rumor-cp: %s: tls_cert %s names node %llu, we are node %u\n", path,
			l.tls_cert, (unsigned long long)cp_tls_ctx_self_id(n->tls), n->self);
		return -EINVAL;
	}
	return 0;
}
