/* libFuzzer target: rumor_vc_decode on arbitrary bytes; whatever decodes must re-encode to
 * exactly the bytes it came from. Input: u16 count (big-endian) then the entries. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rumor_be.h"
#include "rumor_vc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rumor_vc vc, back;
	static uint8_t out[RUMOR_VC_MAX_ENTRIES * RUMOR_VC_WIRE_ENTRY];
	uint16_t count;
	int n;

	if (size < 2)
		return 0;
	count = rumor_be_ld16(data);
	n = rumor_vc_decode(&vc, count, data + 2, size - 2);
	if (n < 0)
		return 0;
	if ((size_t)n != (size_t)count * RUMOR_VC_WIRE_ENTRY || (size_t)n > size - 2)
		abort();
	if (rumor_vc_encode(&vc, out, sizeof(out)) != n || memcmp(out, data + 2, (size_t)n))
		abort();
	if (rumor_vc_decode(&back, count, out, (size_t)n) != n ||
	    rumor_vc_compare(&vc, &back) != RUMOR_VC_EQUAL)
		abort();
	/* Merging a clock into itself changes nothing; leq must agree with compare. */
	back = vc;
	if (rumor_vc_merge(&back, &vc) || rumor_vc_compare(&back, &vc) != RUMOR_VC_EQUAL ||
	    !rumor_vc_leq(&vc, &back))
		abort();
	return 0;
}
