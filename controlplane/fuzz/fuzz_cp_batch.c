/* libFuzzer target: cp_batch_decode (committed order batches read back from the Raft log).
 * The decoder is strict, so anything it accepts must re-encode byte for byte. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cp_batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cp_batch b;
	static int inited;
	static uint8_t out[1 << 16];

	if (!inited) {
		if (cp_batch_init(&b, 0))
			abort();
		inited = 1;
	}
	int rc = cp_batch_decode(data, size, &b);
	if (rc < 0) {
		if (b.n != 0) /* documented: a failed decode leaves the batch empty */
			abort();
		return 0;
	}
	if (cp_batch_encoded_size(&b) != size || size > sizeof(out))
		abort();
	if (cp_batch_encode(&b, out, sizeof(out)) != (long)size || memcmp(out, data, size))
		abort();
	return 0;
}
