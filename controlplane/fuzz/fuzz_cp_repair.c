/* libFuzzer target: cp_repair_decode (leader -> holder repair requests). Whatever decodes
 * must re-encode to exactly the input (the codec is canonical). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cp_repair.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cp_repair r;
	uint8_t out[256];

	if (cp_repair_decode(data, size, &r) != 0)
		return 0;
	int n = cp_repair_encode(&r, out, sizeof(out));
	if (n < 0 || (size_t)n != size || memcmp(out, data, size))
		abort();
	return 0;
}
