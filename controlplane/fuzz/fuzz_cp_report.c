/* libFuzzer target: cp_report_decode (holder -> leader report records). Whatever decodes
 * must re-encode to exactly the bytes it consumed (the codec is canonical). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cp_report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cp_report r;
	static uint8_t out[65536];
	int rc = cp_report_decode(data, size, &r);

	if (rc < 0)
		return 0;
	if ((size_t)rc > size || cp_report_size(&r) != (size_t)rc)
		abort();
	int n = cp_report_encode(&r, out, sizeof(out));
	if (n != rc || memcmp(out, data, (size_t)rc))
		abort();
	return 0;
}
