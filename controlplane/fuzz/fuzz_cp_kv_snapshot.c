/* libFuzzer target: cp_kv_snapshot_read (the KV part of an installed Raft snapshot). Keys
 * must be strictly sorted, so accepted input re-serialises to exactly the consumed bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cp_kv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cp_kv *kv;

	if (!kv && cp_kv_create(&kv))
		abort();
	long k = cp_kv_snapshot_read(kv, data, size);
	if (k < 0) {
		if (cp_kv_count(kv) != 0) /* documented: left empty on error */
			abort();
		return 0;
	}
	if ((size_t)k > size || cp_kv_snapshot_size(kv) != (size_t)k)
		abort();
	uint8_t *out = malloc((size_t)k);
	if (!out || cp_kv_snapshot_write(kv, out, (size_t)k) != k || memcmp(out, data, (size_t)k))
		abort();
	free(out);
	return 0;
}
