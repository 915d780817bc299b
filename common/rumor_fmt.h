/* Decimal formatting for the per-event hot paths (timestamps, JSON lines), where snprintf's
 * format parsing costs more than the digits. */
#ifndef RUMOR_FMT_H
#define RUMOR_FMT_H

#include <stddef.h>
#include <stdint.h>

/* Write @v in decimal at @out (no NUL). Returns the digit count (1..20). */
static inline size_t rumor_fmt_u64(char out[20], uint64_t v)
{
	char tmp[20];
	size_t i = sizeof(tmp), n;

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	n = sizeof(tmp) - i;
	for (size_t k = 0; k < n; k++)
		out[k] = tmp[i + k];
	return n;
}

#endif
