/* libFuzzer target: cp_batch_decode (committed order batches read back from the Raft log).
 * The decoder is strict, so anything it accepts must re-encode byte for byte (skip ranges
 * included: a range of one seq is not valid wire kind 4). */
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
	for (uint32_t i = 0; i < b.n; i++) /* only a skip covers more than its seq */
		if (b.recs[i].seq_last < b.recs[i].seq ||
		    (b.recs[i].kind != CP_BATCH_SKIP && b.recs[i].seq_last != b.recs[i].seq) ||
		    (b.recs[i].kind == CP_BATCH_SKIP && (b.recs[i].id.hi | b.recs[i].id.lo)))
			abort();
	if (cp_batch_encode(&b, out, sizeof(out)) != (long)size || memcmp(out, data, size))
		abort();
	return 0;
}
