/* rumor_crc32c: the one CRC32C (Castagnoli) of every format: Raft log records, metadata,
 * snapshots, transport frames, the payload log, the dataplane's state file. SSE4.2 when the
 * CPU has it, a table otherwise. */
#ifndef RUMOR_CRC32C_H
#define RUMOR_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extend crc (0 for a fresh checksum) over len bytes at p and return the new value.
 * Chaining is allowed: rumor_crc32c(rumor_crc32c(0, a, n), b, m) == crc of a||b. Never fails. */
uint32_t rumor_crc32c(uint32_t crc, const void *p, size_t len);

#endif
