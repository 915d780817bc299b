/* cp_crc32c: CRC32C (Castagnoli) used to checksum log records, metadata, snapshots
 * and transport frames. SSE4.2 when the CPU has it, a table otherwise. */
#ifndef CP_CRC32C_H
#define CP_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extend crc (0 for a fresh checksum) over len bytes at p and return the new value.
 * Chaining is allowed: cp_crc32c(cp_crc32c(0, a, n), b, m) == crc of a||b. Never fails. */
uint32_t cp_crc32c(uint32_t crc, const void *p, size_t len);

#endif
