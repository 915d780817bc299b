/* libFuzzer target: rumor_config_parse on a NUL-terminated copy of arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rumor_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rumor_config cfg;
	char err[256];
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (rumor_config_parse(text, "fuzz.conf", &cfg, err, sizeof(err)) == 0) {
		/* A config that parses has nodes, sorted and unique, and a cluster id. */
		if (cfg.n_nodes == 0 || cfg.n_nodes > RUMOR_CONFIG_MAX_NODES || cfg.cluster_id == 0)
			abort();
		for (unsigned i = 1; i < cfg.n_nodes; i++)
			if (cfg.nodes[i - 1].id >= cfg.nodes[i].id)
				abort();
		if (cfg.dataplane.store_peer_cap > cfg.dataplane.store_slots)
			abort();
	} else if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0') {
		abort(); /* every failure explains itself */
	}
	free(text);
	return 0;
}
