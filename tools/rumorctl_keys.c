/* rumorctl keys: the request of `keys list|install|use|remove` and the readable list (key
 * material never printed: the node sends fingerprints only). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumorctl.h"

int rctl_keys_request(json_t *req, const char *const *pos, int npos, int generate)
{
	const char *sub = npos > 0 ? pos[0] : NULL;
	char *end;
	long id;

	if (!sub)
		return -1;
	if (!strcmp(sub, "list")) {
		json_object_set_new(req, "cmd", json_string("keys_list"));
		return npos == 1 && !generate ? 0 : -1;
	}
	if (strcmp(sub, "install") && strcmp(sub, "use") && strcmp(sub, "remove"))
		return -1;
	if (npos < 2)
		return -1;
	id = strtol(pos[1], &end, 10);
	if (*end || id < 1 || id > 255) {
		fprintf(stderr, "rumorctl: keys %s: the key id is 1..255, not \"%s\"\n", sub, pos[1]);
		return -1;
	}
	char cmd[32];
	snprintf(cmd, sizeof(cmd), "keys_%s", sub);
	json_object_set_new(req, "cmd", json_string(cmd));
	json_object_set_new(req, "id", json_integer(id));
	if (!strcmp(sub, "install")) {
		if ((npos == 3) == !!generate) {
			fprintf(stderr, "rumorctl: keys install ID wants 64 hex digits or --generate\n");
			return -1;
		}
		if (generate)
			json_object_set_new(req, "generate", json_true());
		else
			json_object_set_new(req, "key", json_string(pos[2]));
		return 0;
	}
	return npos == 2 && !generate ? 0 : -1;
}

static void ids(json_t *a)
{
	size_t i;
	json_t *v;

	if (json_array_size(a) == 0)
		printf(" none");
	json_array_foreach(a, i, v)
		printf(" %lld", json_integer_value(v));
	printf("\n");
}

void rctl_print_keys(json_t *r)
{
	json_t *rep = json_object_get(r, "replicated"), *dp = json_object_get(r, "dataplane");
	json_t *v, *rx;
	const char *k;
	size_t i;

	if (!rep) { /* install/use/remove */
		printf("committed: %s %lld", json_string_value(json_object_get(r, "op")),
		       json_integer_value(json_object_get(r, "id")));
		const char *fp = json_string_value(json_object_get(r, "fingerprint"));
		if (fp && fp[0])
			printf(", fingerprint %s", fp);
		printf(" (keyring generation %lld, %lld ms)\n",
		       json_integer_value(json_object_get(r, "gen")),
		       json_integer_value(json_object_get(r, "ms")));
		return;
	}
	printf("replicated keyring: generation %lld%s\n",
	       json_integer_value(json_object_get(rep, "gen")),
	       json_integer_value(json_object_get(rep, "gen")) ? "" :
	       " (no keys command yet: the [auth] keyring file alone)");
	printf("%-4s %-12s %s\n", "ID", "FINGERPRINT", "USE");
	json_array_foreach(json_object_get(rep, "keys"), i, v)
		printf("%-4lld %-12s %s\n", json_integer_value(json_object_get(v, "id")),
		       json_string_value(json_object_get(v, "fingerprint")),
		       json_is_true(json_object_get(v, "use")) ? "sealing" : "");
	printf("removed:");
	ids(json_object_get(rep, "removed"));
	printf("node %lld dataplane: generation %lld, seals with %lld, accepts:",
	       json_integer_value(json_object_get(r, "node")),
	       json_integer_value(json_object_get(dp, "gen")),
	       json_integer_value(json_object_get(dp, "use")));
	ids(json_object_get(dp, "keys"));
	printf("frames verified by key:");
	rx = json_object_get(dp, "rx_by_key");
	if (json_object_size(rx) == 0)
		printf(" none");
	json_object_foreach(rx, k, v)
		printf(" %s:%lld", k, json_integer_value(v));
	printf("\n");
}
