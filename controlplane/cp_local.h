/* cp_local: rumor-cp's node-local settings file (--node-config): what differs per node and
 * must not sit in the cluster config every node shares: control-link TLS files, the API
 * socket's groups. */
#ifndef CP_LOCAL_H
#define CP_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define CP_LOCAL_PATH_MAX 256

struct cp_local {
	char tls_cert[CP_LOCAL_PATH_MAX];   /* PEM: this node's certificate (chain) */
	char tls_key[CP_LOCAL_PATH_MAX];    /* PEM: its private key */
	char tls_ca[CP_LOCAL_PATH_MAX];     /* PEM bundle: the cluster CA(s) peers must chain to */
	bool insecure;                      /* no TLS: plaintext, unauthenticated control links */
	bool has_api_group, has_api_admin_group;
	gid_t api_group;                    /* group owning the API socket (mode 0660) */
	gid_t api_admin_group;              /* members may run admin commands */
	char metrics_listen[72];            /* Prometheus /metrics "host:port" ("": off) */
	int metrics_line;                   /* its line, for start-up errors */
};

/* Parse @path ("%n" in values is replaced by @node). Keys (section [control] or none):
 * tls_cert, tls_key, tls_ca (all three), insecure = true|false, api_group, api_admin_group
 * (group name or number), metrics_listen = HOST:PORT (an address literal: rumor-cp serves
 * Prometheus GET /metrics there, docs/metrics.md). Either the three tls_* keys or insecure = true must be given.
 * Returns 0, or -EINVAL / -ENOENT / -EACCES with "FILE:LINE: key: what" in @err. */
int cp_local_load(const char *path, unsigned node, struct cp_local *out, char *err,
		  size_t errlen);

/* rumor-cp start-up: load @path for node n->self, install the API guard, create n->tls (or
 * warn that the node runs insecure). Prints the error; returns 0 or -errno. */
struct cp_node;
int cp_local_setup(struct cp_node *n, const char *path);

#endif
